//! `tonecore_auralis_*`: exact native replacements for the numpy hot paths of the Auralis
//! player (see [`crate::auralis`]), for the Python `tonecore.compat.auralis` module and for any
//! host that wants the same numbers from C.
//!
//! Audio buffers here are interleaved (`frames × channels`, the host's `(samples, channels)`
//! arrays); a mono buffer has `channels = 1`. Arithmetic is in double precision whatever the
//! sample type; results are rounded once to the output type. Unlike the rest of the C ABI these
//! functions do not refuse NaN/Inf samples: they propagate as they do through the host's numpy
//! code (documented per function).
//!
//! One module per C type — [`eq_config`] (`tonecore_auralis_eq_config` and the adaptive EQ),
//! [`smoother`] (`tonecore_auralis_smoother`), [`level_matcher`]
//! (`tonecore_auralis_level_matcher`) — and [`functions`] for the free functions and the
//! helpers the others share. Each f32/f64 pair of C functions is written out by hand (cbindgen
//! reads the source, not macro output) and its body is one call into a generic helper.

mod eq_config;
mod functions;
mod level_matcher;
mod smoother;

pub use eq_config::*;
pub use functions::*;
pub use level_matcher::*;
pub use smoother::*;
