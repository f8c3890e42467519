//! Real-time stages with wait-free parameter handoff. A stage is built (allocating everything)
//! by `new`, keeps the [`Processor`] contract (`process` / `reset` without allocating, locking or
//! freeing), and takes parameter changes from any control thread through a `handoff`
//! mailbox.

pub mod chain;
pub mod equalizer;
pub mod limiter;
pub mod live_match;
pub mod stage;

pub use chain::{
    EqSettings, Pipeline, PipelineConfig, PipelineParams, PipelineStats, Stage, MAX_STAT_BANDS,
};
pub use equalizer::{
    check_partition, low_latency_partition, EqControl, Equalizer, EqualizerConfig, Phase,
    MIN_PHASE_TRIM_DB,
};
pub use limiter::{LimiterStats, PeakLimiter};
pub use live_match::{LiveMatchSettings, LiveMatchState};
pub use stage::{check_block, Processor};
