use crate::{ConfigError, ProcessError};
use std::ffi::c_char;

/// Result of every fallible C function. `TONECORE_STATUS_OK` (0) is success.
///
/// Ranges: 1–99 argument errors, 100–199 state errors, 200–299 internal errors.
/// Numbers are never reused.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tonecore_status {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullPointer = 1,
    /// An argument is out of its documented range.
    InvalidArgument = 2,
    /// A length is zero where data is required, or too large to address.
    InvalidLength = 3,
    /// An output buffer is smaller than the call needs; nothing was written.
    BufferTooSmall = 4,
    /// Input samples hold NaN or infinity and the function refuses them (the loudness functions
    /// also refuse samples beyond ±2^20).
    NonFinite = 5,
    /// The window kind is not a `TONECORE_WINDOW_*` value.
    UnknownWindow = 6,
    /// `fft_size` is odd, below 16 or above 2^24.
    InvalidFftSize = 7,
    /// `hop` is 0 or above `fft_size`.
    InvalidHop = 8,
    /// A config struct's `struct_size` is smaller than this library's first version of it.
    StructSize = 9,
    /// The call's sample format (f32/f64) differs from the one the object was made for.
    WrongFormat = 10,
    /// The window cannot be inverted at this hop (its squares overlap-add to zero somewhere).
    NotInvertible = 11,
    /// Input and output buffers overlap.
    BuffersOverlap = 12,
    /// The sample rate is zero or out of range.
    InvalidSampleRate = 13,
    /// The channel count is zero, above 64, or differs from the object's.
    InvalidChannels = 14,
    /// The block is longer than the object's `max_block`.
    BlockTooLarge = 15,
    /// Band edges are not finite, non-negative and strictly ascending (at least two).
    InvalidBands = 16,
    /// The number of gains differs from the number of bands.
    GainCount = 17,
    /// A ceiling is NaN, infinite, above 0 dBFS or below −60 dBFS.
    InvalidCeiling = 18,
    /// A time constant (attack, release, lookahead, ramp) is not finite, positive and in range.
    InvalidTime = 19,
    /// A loudness target is NaN, infinite or outside −70…0 LUFS.
    InvalidTarget = 20,
    /// Chunk, context or crossfade durations are invalid (not finite, negative, or a chunk not
    /// longer than context + crossfade).
    InvalidChunk = 21,
    /// A profile document is malformed, of another format or grid, or holds values out of range.
    InvalidProfile = 22,
    /// A profile document is of a newer version than this library reads.
    ProfileVersion = 23,
    /// An equalizer partition is not 0 (overlap-save) or a power of two from 8 to 65536.
    InvalidPartition = 24,
    /// A single-threaded object was used from two threads at once; the second call did nothing.
    ConcurrentUse = 100,
    /// An earlier call on this object panicked; the object refuses further work (free it).
    Poisoned = 101,
    /// The work was cancelled before it finished; nothing was reported as done.
    Cancelled = 102,
    /// The engine is at its `max_streams` (or `max_jobs`) limit; nothing was opened.
    Busy = 103,
    /// The id or token is not (or no longer) valid here: closed, replaced, taken, released,
    /// never issued, or issued by another engine. Nothing was touched.
    StaleId = 104,
    /// A job with the same key is running; its id was written instead of starting another.
    AlreadyRunning = 105,
    /// The wait ran out before the job ended.
    Timeout = 106,
    /// The job has not finished; there is no result yet.
    NotFinished = 107,
    /// A panic was caught inside the library; the object involved (if any) is now poisoned.
    Panic = 200,
    /// A buffer sized by the caller's data (a track's copy, a render's output, the offline
    /// limiter's envelope) could not be reserved; nothing was done and nothing was written.
    OutOfMemory = 201,
    /// The library could not start its worker threads.
    ThreadPool = 202,
}

impl tonecore_status {
    /// A static description of the status.
    pub fn message(self) -> &'static str {
        let text = Self::c_message(self as i32);
        // The table below holds ASCII literals only, each ending in one NUL.
        std::str::from_utf8(&text[..text.len() - 1]).unwrap_or("")
    }

    fn c_message(code: i32) -> &'static [u8] {
        macro_rules! table {
            ($($variant:ident => $text:literal),* $(,)?) => {
                match code {
                    $(c if c == Self::$variant as i32 => concat!($text, "\0").as_bytes(),)*
                    _ => b"unknown status\0",
                }
            };
        }
        table! {
            Ok => "ok",
            NullPointer => "a required pointer argument is NULL",
            InvalidArgument => "an argument is out of range",
            InvalidLength => "a length is zero or too large",
            BufferTooSmall => "the output buffer is too small",
            NonFinite => "the input holds NaN or infinite (or, for loudness, beyond +-2^20) values",
            UnknownWindow => "unknown window kind",
            InvalidFftSize => "fft_size must be even and between 16 and 16777216",
            InvalidHop => "hop must satisfy 1 <= hop <= fft_size",
            StructSize => "struct_size is too small for this config struct",
            WrongFormat => "the sample format does not match the object's",
            NotInvertible => "the window cannot be inverted at this hop",
            BuffersOverlap => "input and output buffers overlap",
            InvalidSampleRate => "the sample rate is zero or out of range",
            InvalidChannels => "the channel count is invalid or does not match",
            BlockTooLarge => "the block is longer than max_block",
            InvalidBands => "band edges must be finite, non-negative and strictly ascending",
            GainCount => "the number of gains differs from the number of bands",
            InvalidCeiling => "the ceiling must be finite, between -60 and 0 dBFS",
            InvalidTime => "a time constant is not finite, positive and in range",
            InvalidTarget => "the loudness target must be finite, between -70 and 0 LUFS",
            InvalidChunk => "chunk, context or crossfade durations are invalid",
            InvalidProfile => "not a tonecore profile (malformed, another format or grid, or out of range)",
            ProfileVersion => "the profile is of a newer version than this library reads",
            InvalidPartition => "partition must be 0 (overlap-save) or a power of two from 8 to 65536",
            Cancelled => "the work was cancelled",
            Busy => "the engine is at its stream (or job) limit",
            StaleId => "the id is stale: closed, replaced, taken, unknown or from another engine",
            AlreadyRunning => "a job with this key is already running",
            Timeout => "the wait timed out",
            NotFinished => "the job has not finished",
            ConcurrentUse => "the object is already in use on another thread",
            Poisoned => "the object is poisoned by an earlier panic",
            Panic => "a panic was caught inside tonecore",
            OutOfMemory => "a buffer sized by the input could not be reserved (out of memory)",
            ThreadPool => "could not start worker threads",
        }
    }
}

impl From<ConfigError> for tonecore_status {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::FftSizeTooSmall
            | ConfigError::FftSizeOdd
            | ConfigError::FftSizeTooLarge
            | ConfigError::InvalidFftSize => Self::InvalidFftSize,
            ConfigError::InvalidHop => Self::InvalidHop,
            ConfigError::WindowLength => Self::InvalidLength,
            ConfigError::NonFiniteWindow => Self::NonFinite,
            ConfigError::UnknownWindow => Self::UnknownWindow,
            ConfigError::WindowNotInvertible => Self::NotInvertible,
            ConfigError::TooManyThreads => Self::InvalidArgument,
            ConfigError::ThreadPool => Self::ThreadPool,
            ConfigError::InvalidSampleRate => Self::InvalidSampleRate,
            ConfigError::InvalidChannels => Self::InvalidChannels,
            ConfigError::InvalidBlockSize | ConfigError::InvalidRamp => Self::InvalidArgument,
            ConfigError::InvalidBands => Self::InvalidBands,
            ConfigError::GainCount => Self::GainCount,
            ConfigError::NonFiniteGain => Self::NonFinite,
            ConfigError::InvalidCeiling => Self::InvalidCeiling,
            ConfigError::InvalidTime => Self::InvalidTime,
            ConfigError::InvalidTarget | ConfigError::InvalidLevel => Self::InvalidTarget,
            ConfigError::InvalidChunk => Self::InvalidChunk,
            ConfigError::InvalidEngine | ConfigError::InvalidMatch => Self::InvalidArgument,
            ConfigError::InvalidProfile => Self::InvalidProfile,
            ConfigError::ProfileVersion => Self::ProfileVersion,
            ConfigError::InvalidPartition => Self::InvalidPartition,
        }
    }
}

impl From<ProcessError> for tonecore_status {
    fn from(e: ProcessError) -> Self {
        match e {
            ProcessError::NoChannels => Self::InvalidArgument,
            ProcessError::InputShape => Self::InvalidLength,
            ProcessError::OutputTooSmall => Self::BufferTooSmall,
            ProcessError::NonFinite => Self::NonFinite,
            ProcessError::SizeOverflow => Self::InvalidLength,
            ProcessError::BlockTooLarge => Self::BlockTooLarge,
            ProcessError::Cancelled => Self::Cancelled,
            ProcessError::Panicked => Self::Panic,
            ProcessError::OutOfMemory => Self::OutOfMemory,
        }
    }
}

/// A static, NUL-terminated description of `status` ("unknown status" for unknown codes).
/// Cannot fail. The string is static storage owned by the library: never NULL, do not free.
///
/// Thread class: audio-safe (no allocation, no locks).
#[no_mangle]
pub extern "C" fn tonecore_status_str(status: i32) -> *const c_char {
    tonecore_status::c_message(status).as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn c_strings_match_messages() {
        for status in [
            tonecore_status::Ok,
            tonecore_status::NullPointer,
            tonecore_status::InvalidArgument,
            tonecore_status::InvalidLength,
            tonecore_status::BufferTooSmall,
            tonecore_status::NonFinite,
            tonecore_status::UnknownWindow,
            tonecore_status::InvalidFftSize,
            tonecore_status::InvalidHop,
            tonecore_status::StructSize,
            tonecore_status::WrongFormat,
            tonecore_status::NotInvertible,
            tonecore_status::BuffersOverlap,
            tonecore_status::InvalidSampleRate,
            tonecore_status::InvalidChannels,
            tonecore_status::BlockTooLarge,
            tonecore_status::InvalidBands,
            tonecore_status::GainCount,
            tonecore_status::InvalidCeiling,
            tonecore_status::InvalidTime,
            tonecore_status::InvalidTarget,
            tonecore_status::InvalidChunk,
            tonecore_status::Cancelled,
            tonecore_status::Busy,
            tonecore_status::StaleId,
            tonecore_status::AlreadyRunning,
            tonecore_status::Timeout,
            tonecore_status::NotFinished,
            tonecore_status::ConcurrentUse,
            tonecore_status::Poisoned,
            tonecore_status::Panic,
            tonecore_status::OutOfMemory,
            tonecore_status::ThreadPool,
        ] {
            let c = unsafe { CStr::from_ptr(tonecore_status_str(status as i32)) };
            assert_eq!(c.to_str().unwrap(), status.message());
        }
        let c = unsafe { CStr::from_ptr(tonecore_status_str(-7)) };
        assert_eq!(c.to_str().unwrap(), "unknown status");
    }
}
