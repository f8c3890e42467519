//! The C ABI: the only module with `extern "C"`. One submodule per C type; `include/tonecore.h`
//! is generated from these items by `build.rs` (cbindgen).
//!
//! Every exported function runs inside `guard` (or `Guarded::with`) so a panic
//! becomes `TONECORE_STATUS_PANIC` instead of unwinding into C.
#![allow(non_camel_case_types)]
// C signatures pass every buffer with its length, so they are wide by convention.
#![allow(clippy::too_many_arguments)]

mod analysis;
mod auralis;
mod bands;
mod engine;
mod equalizer;
pub(crate) mod format;
mod guard;
mod limiter;
mod loudness;
mod matching;
mod pipeline;
mod render;
mod stage;
mod status;
mod stft;
mod version;
mod window;

pub use analysis::*;
pub use auralis::*;
pub use bands::*;
pub use engine::*;
pub use equalizer::*;
pub use format::tonecore_sample_format;
pub use guard::tonecore_last_error_message;
pub use limiter::*;
pub use loudness::*;
pub use matching::*;
pub use pipeline::*;
pub use render::*;
pub use status::{tonecore_status, tonecore_status_str};
pub use stft::*;
pub use version::*;
pub use window::*;

pub(crate) use guard::{
    audio_block, disjoint, free_object, guard, guard_rt, object_ref, out_param, sized_in, slice_in,
    slice_out, Failure, Guarded,
};
