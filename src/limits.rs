//! Every limit a caller's number is checked against, in one place (the lowest layer, so any
//! layer can check before it allocates). The modules that enforce a limit re-export it under
//! the name their users know.

/// Most channels anything processes or measures (equalizer, pipeline, limiter, loudness).
pub const MAX_CHANNELS: usize = 64;

/// Lowest sample rate of the loudness meter and of the offline normaliser, Hz. BS.1770's
/// K-weighting shelf sits at 1.68 kHz and cannot be realised below about 3.4 kHz; 8 kHz is the
/// lowest rate in use.
pub const MIN_SAMPLE_RATE: u32 = 8000;

/// Highest sample rate anything accepts, Hz: 64× 44.1 kHz (also libebur128's limit). Buffers
/// scale with the rate (the limiter's lookahead, the level window), so an absurd rate is refused
/// instead of exhausting memory.
pub const MAX_SAMPLE_RATE: u32 = 2_822_400;

/// Smallest FFT size.
pub const MIN_FFT_SIZE: usize = 16;

/// Largest FFT size (2^24): every size a caller passes is checked against it before anything
/// is allocated.
pub const MAX_FFT_SIZE: usize = 1 << 24;

/// Smallest partition of the low-latency (partitioned) equalizer, frames.
pub const MIN_PARTITION: usize = 8;

/// Largest partition of the low-latency (partitioned) equalizer, frames (2^16; longer
/// partitions gain nothing over the overlap-save engine).
pub const MAX_PARTITION: usize = 1 << 16;

/// Largest `max_block` of a streaming stage, in frames (2^24).
pub const MAX_BLOCK: usize = 1 << 24;

/// Largest thread count a caller may request.
pub const MAX_THREADS: usize = 1024;

/// Most streams an engine may allow at once.
pub const MAX_STREAMS: usize = 4096;

/// Most jobs an engine may hold at once.
pub const MAX_JOBS: usize = 65_536;

/// Largest sample magnitude the streaming stages filter and the analysers measure: 2^20
/// (+120 dBFS). Larger finite values are corrupt data, never audio; they would overflow an f32
/// FFT (or a loudness meter's f64 energies, from about 1e154) into infinities and NaN.
pub const MAX_INPUT_MAGNITUDE: f64 = 1_048_576.0;
