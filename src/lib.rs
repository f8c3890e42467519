//! tonecore — a real-time audio DSP engine behind a C ABI.
//!
//! Layers (imports only point down; see the README's architecture section):
//!
//! - [`dsp`]: single-threaded building blocks — sample trait, windows, one-frame FFT kernels.
//!   Knows nothing of threads, caches or FFI.
//! - [`cache`]: the process-wide window and FFT-plan caches shared by every thread. Lookups hand
//!   out immutable `Arc` data while the lock is held; each entry is built exactly once.
//! - [`spectral`]: the parallel STFT / ISTFT (rayon) over `dsp` and `cache`.
//! - `ffi` (feature-independent, always built): the only place with `extern "C"`; the C header
//!   `include/tonecore.h` is generated from it.
//!
//! Errors are small `Copy` enums with static messages ([`ConfigError`] for construction,
//! [`ProcessError`] for processing).

pub mod cache;
pub mod dsp;
pub mod engine;
mod error;
pub mod ffi;
pub mod handoff;
pub mod limits;
mod memory;
pub mod pipeline;
pub mod render;
pub mod spectral;
mod sync;
pub mod typed;
pub mod workers;

pub use error::{ConfigError, Error, ProcessError};

/// The crate version, as in `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The C ABI version. Bumped on every incompatible change of the C ABI; it is also the SONAME
/// suffix of the shared library (`libtonecore.so.<ABI>`).
pub const ABI_VERSION: u32 = 1;
