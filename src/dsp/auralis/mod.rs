//! Kernels that reproduce the numerics of the Auralis player's numpy hot paths, formula for
//! formula, so the host can replace them without its numbers moving.
//!
//! Everything here computes in `f64` whatever the sample type (the host's numpy code promotes
//! to float64 at the same places) and rounds once on output. Single-threaded, like all of
//! [`dsp`](crate::dsp); the parallel whole-buffer loops built on these kernels live in
//! [`spectral::auralis`](crate::spectral::auralis).
//!
//! - [`frame_eq`]: the circular frame EQ (unwindowed full FFT, step gain curve, real part of the
//!   inverse) and its per-bin curve.
//! - [`adaptive`]: the adaptive EQ's per-frame analysis (band energies, masking thresholds) and
//!   gain stepping, the pieces of the weighted overlap-add loop.
//! - [`level`]: the real-time gain smoother, level matcher and linear safety limit.
//! - [`seam`]: the chunk crossfades (sin²/cos² over `numpy.linspace(0, π/2, L)`).
//!
//! Non-finite values propagate as they do through the host's numpy code (documented per item);
//! nothing here refuses them.

pub mod adaptive;
pub mod frame_eq;
pub mod level;
pub mod seam;
