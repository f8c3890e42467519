//! Rendering long tracks: chunk-parallel offline rendering through a pipeline with crossfaded
//! seams, integrated-loudness normalisation, and the wait-free tail handoff between chunk
//! workers and the thread that emits them.

pub mod chunked;
pub mod matching;
pub mod normalize;
pub mod playback;
pub mod tail;

pub use chunked::{render_chunked, render_chunked_on, ChunkPlan, ChunkStore, RenderConfig, Watch};
pub use matching::{live_match_config, match_config, match_track, MatchReport};
pub use normalize::{normalize, normalize_on, NormalizeOutcome, NormalizeReport};
pub use playback::{PlaybackConfig, PlaybackControl, PlaybackReader, PlaybackStats};
pub use tail::{tail_buffer, TailConsumer, TailProducer, TailWriter};
