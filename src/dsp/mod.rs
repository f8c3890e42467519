//! Single-threaded DSP building blocks. Nothing here spawns threads, takes locks or knows FFI.

/// Largest FFT size anything in tonecore accepts (2^24): every size a caller passes is checked
/// against it before anything is allocated.
pub const MAX_FFT_SIZE: usize = 1 << 24;

pub mod auralis;
pub mod bands;
pub mod convolver;
pub mod crossfade;
pub mod fir;
pub mod level;
pub mod limiter;
pub mod loudness;
mod sample;
pub mod spectrum;
pub mod truepeak;
pub mod window;

pub use sample::{all_finite, all_in_range, sanitize, Sample, MAX_INPUT_MAGNITUDE};
pub use window::WindowKind;

/// Complex sample type used for spectra (`#[repr(C)]`, layout `{re, im}`).
pub use realfft::num_complex::Complex;
