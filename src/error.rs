//! Error types shared by every layer: construction errors and processing errors are separate.

use std::fmt;

/// Why an object could not be built from its configuration.
///
/// Returned by constructors (`new`). Never produced on the audio path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConfigError {
    /// `fft_size` is below the minimum of 16.
    FftSizeTooSmall,
    /// `fft_size` is odd; real FFTs here need an even size.
    FftSizeOdd,
    /// `fft_size` is above the maximum (2^24).
    FftSizeTooLarge,
    /// `fft_size` is odd, too small or above 2^24 for a band grid or filter design (which of
    /// these is not known: the band layer reports them as one).
    InvalidFftSize,
    /// `hop` is 0 or larger than `fft_size`.
    InvalidHop,
    /// A caller-supplied window does not have `fft_size` values.
    WindowLength,
    /// A caller-supplied window holds NaN or infinity.
    NonFiniteWindow,
    /// The window kind is not one of the known kinds.
    UnknownWindow,
    /// The window's squares overlap-add to zero somewhere, so it cannot be inverted at this hop.
    WindowNotInvertible,
    /// The requested thread count is above the supported maximum.
    TooManyThreads,
    /// Building a worker thread pool failed.
    ThreadPool,
    /// The sample rate is zero or out of range.
    InvalidSampleRate,
    /// The channel count is zero or above 64.
    InvalidChannels,
    /// The maximum block size is zero or above 2^24.
    InvalidBlockSize,
    /// The ramp time is negative, NaN or above 10 s.
    InvalidRamp,
    /// A band layout is invalid (fewer than two edges, not ascending, negative or non-finite).
    InvalidBands,
    /// The number of gains differs from the number of bands.
    GainCount,
    /// A gain is NaN or infinite.
    NonFiniteGain,
    /// A ceiling is NaN, infinite, above 0 dBFS or below −60 dBFS.
    InvalidCeiling,
    /// A time constant (attack, release, lookahead, window) is not finite and positive, or out of
    /// its range.
    InvalidTime,
    /// A loudness target is NaN, infinite or outside −70…0 LUFS.
    InvalidTarget,
    /// A level (boost, cut or gate) is NaN, infinite or out of range.
    InvalidLevel,
    /// A chunk duration is not finite and positive, or shorter than context plus crossfade.
    InvalidChunk,
    /// Engine limits out of range (`max_streams` 1–4096, `max_jobs` 1–65536).
    InvalidEngine,
    /// Match settings out of range (strength 0–1, largest gain 0–24 dB, smoothing 0–2 octaves).
    InvalidMatch,
    /// A profile document is malformed, of another format or grid, or holds values out of range.
    InvalidProfile,
    /// A profile document is of a newer version than this library reads.
    ProfileVersion,
    /// An equalizer partition is not 0 (overlap-save) or a power of two from 8 to 65536.
    InvalidPartition,
}

impl ConfigError {
    /// A static, human-readable description.
    pub const fn message(self) -> &'static str {
        match self {
            Self::FftSizeTooSmall => "fft_size must be at least 16",
            Self::FftSizeOdd => "fft_size must be even",
            Self::FftSizeTooLarge => "fft_size must be at most 16777216",
            Self::InvalidFftSize => {
                "fft_size must be even, at least 2 (16 for a filter design) and at most 16777216"
            }
            Self::InvalidHop => "hop must satisfy 1 <= hop <= fft_size",
            Self::WindowLength => "a custom window must have exactly fft_size values",
            Self::NonFiniteWindow => "a custom window must hold finite values only",
            Self::UnknownWindow => "unknown window kind",
            Self::WindowNotInvertible => {
                "the window's squares sum to zero at some sample for this hop; it cannot be inverted"
            }
            Self::TooManyThreads => "threads must be at most 1024",
            Self::ThreadPool => "could not start the worker thread pool",
            Self::InvalidSampleRate => "the sample rate is zero or outside the supported range",
            Self::InvalidChannels => "channel count must be between 1 and 64",
            Self::InvalidBlockSize => "max_block must be between 1 and 16777216 frames",
            Self::InvalidRamp => "ramp time must be finite, between 0 and 10000 ms",
            Self::InvalidBands => "band edges must be finite, non-negative, strictly ascending, at least two",
            Self::GainCount => "the number of gains must equal the number of bands",
            Self::NonFiniteGain => "gains must be finite",
            Self::InvalidCeiling => "ceiling must be finite, between -60 and 0 dBFS",
            Self::InvalidTime => "time constants must be finite, positive and within range",
            Self::InvalidTarget => "loudness target must be finite, between -70 and 0 LUFS",
            Self::InvalidLevel => "boost, cut and gate levels must be finite and within range",
            Self::InvalidChunk => {
                "chunk, context and crossfade durations must be finite, non-negative, and the chunk longer than context + crossfade"
            }
            Self::InvalidEngine => "max_streams must be 1-4096 and max_jobs 1-65536",
            Self::InvalidMatch => {
                "strength must be 0-1, max_gain_db 0-24 and smoothing_octaves 0-2"
            }
            Self::InvalidProfile => {
                "not a tonecore profile (malformed, another format or grid, or out of range)"
            }
            Self::ProfileVersion => "the profile is of a newer version than this library reads",
            Self::InvalidPartition => {
                "partition must be 0 (overlap-save) or a power of two from 8 to 65536"
            }
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ConfigError {}

/// Why a processing call was refused. A refused call writes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProcessError {
    /// The channel count is zero.
    NoChannels,
    /// The input length is not a multiple of the channel count (or of the frame size).
    InputShape,
    /// The output buffer is smaller than the call needs.
    OutputTooSmall,
    /// The input holds NaN or infinity (analysis functions reject it rather than guess); the
    /// forward transforms, band analysis and the loudness meter also reject samples beyond ±2^20
    /// (`dsp::MAX_INPUT_MAGNITUDE`, +120 dBFS), where their sums could overflow.
    NonFinite,
    /// A size computed from the arguments overflows the address space.
    SizeOverflow,
    /// The block is longer than the object's `max_block`.
    BlockTooLarge,
    /// The work was cancelled before it finished.
    Cancelled,
    /// The work panicked inside the library (a bug); it produced nothing.
    Panicked,
    /// A buffer sized by the caller's data (a track's copy, a render's output) could not be
    /// reserved; nothing was done.
    OutOfMemory,
}

impl ProcessError {
    /// A static, human-readable description.
    pub const fn message(self) -> &'static str {
        match self {
            Self::NoChannels => "channel count must be at least 1",
            Self::InputShape => "input length is not a whole number of channels/frames",
            Self::OutputTooSmall => "output buffer is too small",
            Self::NonFinite => {
                "input holds NaN or infinite values (or, for analysis and loudness, values beyond +-2^20)"
            }
            Self::SizeOverflow => "requested size overflows",
            Self::BlockTooLarge => "block is longer than max_block",
            Self::Cancelled => "cancelled",
            Self::Panicked => "the work panicked inside tonecore",
            Self::OutOfMemory => "a buffer sized by the input could not be reserved (out of memory)",
        }
    }
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ProcessError {}

/// Either kind of error, for convenience functions that build and process in one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// Building failed.
    Config(ConfigError),
    /// Processing was refused.
    Process(ProcessError),
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

impl From<ProcessError> for Error {
    fn from(e: ProcessError) -> Self {
        Self::Process(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => e.fmt(f),
            Self::Process(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}
