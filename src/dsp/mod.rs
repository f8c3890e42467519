//! Single-threaded DSP building blocks. Nothing here spawns threads, takes locks or knows FFI.

pub use crate::limits::MAX_FFT_SIZE;

/// Where a block's samples live (every multichannel stage takes either).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Channel `c`, frame `i` at `c·frames + i`.
    Planar,
    /// Channel `c`, frame `i` at `i·channels + c`.
    Interleaved,
}

pub mod bands;
pub mod convolver;
pub mod crossfade;
pub mod fir;
pub mod level;
pub mod limiter;
pub mod loudness;
pub mod minphase;
pub mod partitioned;
mod sample;
pub mod spectrum;
pub mod truepeak;
pub mod window;

pub use sample::{all_finite, all_in_range, sanitize, Sample, MAX_INPUT_MAGNITUDE};
pub use window::WindowKind;

/// Complex sample type used for spectra (`#[repr(C)]`, layout `{re, im}`).
pub use realfft::num_complex::Complex;
