//! Auralis compatibility: kernels that reproduce the numerics of the Auralis player's numpy hot
//! paths, formula for formula, so the host can replace them without its numbers moving, and the
//! whole-buffer loops built on them. The C functions over these are `tonecore_auralis_*`
//! (`src/ffi/auralis/`), and the Python `tonecore.compat.auralis` module calls those.
//!
//! Everything here computes in `f64` whatever the sample type (the host's numpy code promotes
//! to float64 at the same places) and rounds once on output. The kernel modules are
//! single-threaded, like all of [`dsp`](crate::dsp) they build on; only [`parallel`] runs
//! frames in parallel (on `workers`, with plans and windows from the
//! [`cache`](crate::cache)).
//!
//! - [`frame_eq`]: the circular frame EQ (unwindowed full FFT, step gain curve, real part of the
//!   inverse) and its per-bin curve.
//! - [`adaptive`]: the adaptive EQ's per-frame analysis (band energies, masking thresholds) and
//!   gain stepping, the pieces of the weighted overlap-add loop.
//! - [`level`]: the real-time gain smoother, level matcher ([`RealtimeLevelMatcher`], the host's
//!   class name; not the engine's [`dsp::level::LevelMatcher`](crate::dsp::level::LevelMatcher))
//!   and linear safety limit.
//! - [`seam`]: the chunk crossfades (sin²/cos² over `numpy.linspace(0, π/2, L)`).
//! - [`parallel`]: the host's windowed full FFT and bins-major STFT, and its adaptive
//!   weighted-overlap-add EQ over a whole buffer, frames in parallel.
//!
//! Non-finite values propagate as they do through the host's numpy code (documented per item);
//! nothing here refuses them.
//!
//! [`RealtimeLevelMatcher`]: level::RealtimeLevelMatcher

pub mod adaptive;
pub mod frame_eq;
pub mod level;
pub mod parallel;
pub mod seam;
