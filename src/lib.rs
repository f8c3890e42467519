//! tonecore — a real-time audio DSP engine behind a C ABI.
//!
//! Layers, top down (imports only point down; `tests/layers.rs` enforces it, and the README's
//! architecture section describes each):
//!
//! - `ffi`: the only place with `extern "C"`; `include/tonecore.h` is generated from it.
//! - [`engine`]: the shared engine — keyed streams, jobs, events, the chunk cache.
//! - [`render`]: long tracks — chunk-parallel render, the playback stream, normalisation.
//! - [`pipeline`]: real-time stages with wait-free parameters (equalizer, pipeline, limiter).
//! - [`auralis`]: Auralis compatibility, the numerics of the Auralis player's numpy hot paths
//!   (frame and adaptive EQ, windowed FFT/STFT, gain smoother, level matcher, seams) for the
//!   `tonecore_auralis_*` C functions.
//! - [`spectral`] and `typed`: parallel whole-buffer work (STFT, offline EQ, band energies);
//!   f32/f64 objects in non-generic containers.
//! - [`cache`]: the process-wide window and FFT-plan caches and the byte-bounded LRU.
//! - [`dsp`]: single-threaded building blocks; knows nothing of threads, caches or FFI.
//! - `handoff`, `workers`, `memory`: the wait-free mailbox and seqlock; where parallel work
//!   runs; fallible reservation of caller-sized buffers.
//! - `error`, `sync`, [`limits`]: the error types, std-or-loom atomics, every checked limit.
//!
//! Errors are small `Copy` enums with static messages ([`ConfigError`] for construction,
//! [`ProcessError`] for processing).

pub mod auralis;
pub mod cache;
pub mod dsp;
pub mod engine;
mod error;
pub mod ffi;
pub(crate) mod handoff;
pub mod limits;
mod memory;
pub mod pipeline;
pub mod render;
pub mod spectral;
mod sync;
pub(crate) mod typed;
pub(crate) mod workers;

pub use error::{ConfigError, Error, ProcessError};

// The public API at the crate root, the paths the README's Rust examples use. The layer modules
// stay public for the less common items; the internals (handoff, workers, typed containers,
// engine slots) are crate-private.
pub use cache::CachedSample;
pub use dsp::bands::{BandLayout, CurveMode};
pub use dsp::level::{LevelMode, LevelSettings};
pub use dsp::limiter::LimiterSettings;
pub use dsp::loudness::{LoudnessMeter, LoudnessReport};
pub use dsp::{Complex, Layout, Sample, WindowKind};
pub use engine::{Engine, EngineConfig, EngineError, JobOptions, StreamId, StreamOptions};
pub use pipeline::{
    EqSettings, Equalizer, EqualizerConfig, LiveMatchSettings, LiveMatchState, PeakLimiter,
    Pipeline, PipelineConfig, PipelineParams, Processor, Stage,
};
pub use render::{
    live_match_config, match_config, match_track, normalize, render_chunked, MatchReport,
    NormalizeReport, PlaybackConfig, RenderConfig, Watch,
};
pub use spectral::{
    band_energies, equalize, match_gains, profile, BandEnergyConfig, EqualizeConfig, Istft,
    MatchGains, MatchOutcome, MatchSettings, Profile, ProfileError, Stft, StftConfig,
};

/// The crate version, as in `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The C ABI version. Bumped on every incompatible change of the C ABI; it is also the SONAME
/// suffix of the shared library (`libtonecore.so.<ABI>`).
pub const ABI_VERSION: u32 = 1;

#[cfg(all(test, loom))]
mod loom_tests;
