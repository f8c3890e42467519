use super::format::{either, format_from, tonecore_sample_format, Family, PerFormat};
use super::stage::{self, AudioStage, StageFamily, StageObject};
use super::{
    free_object, guard, guard_rt, object_ref, out_param, sized_in, tonecore_status, Failure,
};
use crate::cache::CachedSample;
use crate::dsp::limiter::LimiterSettings;
use crate::dsp::Layout;
use crate::pipeline::{PeakLimiter, Processor};
use std::mem::{offset_of, size_of};

/// How a `tonecore_limiter` is built. Fill it with `tonecore_limiter_config_init`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_limiter_config {
    /// `sizeof(tonecore_limiter_config)` as the caller compiled it (set by `_init`).
    pub struct_size: usize,
    /// Sample rate in Hz (1–2822400). Default 44100.
    pub sample_rate: u32,
    /// Channel count, 1–64 (channels are linked: one gain for all). Default 2.
    pub channels: u32,
    /// A `TONECORE_SAMPLE_FORMAT_*` value. Default F32.
    pub sample_format: i32,
    /// Ceiling, dBFS (−60…0); dBTP when `true_peak`. Default −1.
    pub ceiling_db: f64,
    /// Lookahead (= attack), ms (0 < t ≤ 100); the latency in frames is
    /// `round(lookahead_ms · sample_rate / 1000)` (at least 1), plus
    /// `TONECORE_TRUE_PEAK_EXTRA_FRAMES` (32) when `true_peak`. Default 1.5.
    pub lookahead_ms: f64,
    /// Release time constant, ms (0 < t ≤ 10000). Default 100.
    pub release_ms: f64,
    /// Non-zero: detect true peaks (4× oversampled, BS.1770-4 Annex 2), so the output's true
    /// peak stays under the ceiling; 0: sample peaks only (inter-sample peaks can exceed the
    /// ceiling). Default 1. (Added in 0.2; a caller built against an older header gets the
    /// default.)
    pub true_peak: u32,
}

/// Frames a true-peak detector adds to a limiter's latency (at any sample rate).
pub const TONECORE_TRUE_PEAK_EXTRA_FRAMES: u32 = 32;

// The header needs a literal; it must equal the library's value.
const _: () = assert!(
    TONECORE_TRUE_PEAK_EXTRA_FRAMES as usize == crate::dsp::limiter::TRUE_PEAK_EXTRA_FRAMES
);

const CONFIG_MIN_SIZE: usize = offset_of!(tonecore_limiter_config, release_ms) + size_of::<f64>();

impl Default for tonecore_limiter_config {
    fn default() -> Self {
        let s = LimiterSettings::default();
        Self {
            struct_size: size_of::<Self>(),
            sample_rate: 44_100,
            channels: 2,
            sample_format: tonecore_sample_format::F32 as i32,
            ceiling_db: s.ceiling_db,
            lookahead_ms: s.lookahead_ms,
            release_ms: s.release_ms,
            true_peak: u32::from(s.true_peak),
        }
    }
}

/// A limiter's counters since creation or the last `tonecore_limiter_reset`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_limiter_stats {
    /// Set by the caller to `sizeof(tonecore_limiter_stats)`; only that many bytes are written.
    pub struct_size: usize,
    /// Frames processed.
    pub frames: u64,
    /// Non-finite (or beyond ±2^20) input samples replaced by zero.
    pub nonfinite: u64,
    /// Gain applied to the last frame, dB (≤ 0).
    pub gain_db: f64,
    /// Largest gain reduction applied, dB (≤ 0).
    pub max_reduction_db: f64,
}

const STATS_MIN_SIZE: usize = size_of::<tonecore_limiter_stats>();

pub(crate) struct LimiterFamily;

impl StageFamily for LimiterFamily {
    fn stage<T: CachedSample>(object: &mut Self::Of<T>) -> &mut impl Processor<T> {
        object
    }
}

impl Family for LimiterFamily {
    type Of<T: CachedSample> = PeakLimiter<T>;
}

/// A lookahead limiter on its own (the pipeline's third stage without the EQ and level
/// matcher): no output sample — with `true_peak`, no 4× oversampled point — exceeds the ceiling; below it the output is the input delayed by
/// `_latency` frames, bit for bit. Blocks of any length; the output does not depend on how the
/// signal is split into blocks. Every call but `_latency` is single-threaded (a concurrent call
/// gets `CONCURRENT_USE`), audio-safe.
pub struct tonecore_limiter {
    stage: AudioStage<LimiterFamily>,
}

impl StageObject for tonecore_limiter {
    type Family = LimiterFamily;
    fn stage(&self) -> &AudioStage<LimiterFamily> {
        &self.stage
    }
}

/// Fills `config_out` with the defaults (44100 Hz, 2 channels, f32, −1 dBFS sample-peak
/// ceiling, 5 ms lookahead, 100 ms release) and the current `struct_size`.
///
/// Returns `NULL_POINTER`. Thread class: any-thread.
///
/// `config_out` is borrowed for the call only.
///
/// # Safety
/// `config_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_limiter_config_init(
    config_out: *mut tonecore_limiter_config,
) -> tonecore_status {
    guard(|| {
        out_param(config_out)?.write(tonecore_limiter_config::default());
        Ok(())
    })
}

fn build<T: CachedSample>(c: &tonecore_limiter_config) -> Result<PeakLimiter<T>, Failure> {
    let settings = LimiterSettings {
        ceiling_db: c.ceiling_db,
        lookahead_ms: c.lookahead_ms,
        release_ms: c.release_ms,
        true_peak: c.true_peak != 0,
    };
    Ok(PeakLimiter::new(
        c.sample_rate,
        c.channels as usize,
        &settings,
    )?)
}

/// Creates a limiter in `*limiter_out` (written only on success); the caller owns it and frees it
/// with `tonecore_limiter_free`. The config is copied.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_SAMPLE_RATE`, `INVALID_CHANNELS`,
/// `INVALID_ARGUMENT` (unknown sample format), `INVALID_CEILING`, `INVALID_TIME`.
/// Thread class: control-thread (allocates).
///
/// `config` and `limiter_out` are borrowed for the call only.
///
/// # Safety
/// `config` readable for `config->struct_size` bytes; `limiter_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_limiter_new(
    config: *const tonecore_limiter_config,
    limiter_out: *mut *mut tonecore_limiter,
) -> tonecore_status {
    guard(|| {
        let out = out_param(limiter_out)?;
        let c = sized_in(
            config,
            &[CONFIG_MIN_SIZE],
            "config->struct_size is too small; call tonecore_limiter_config_init first",
        )?;
        let audio: PerFormat<LimiterFamily> = match format_from(c.sample_format)? {
            tonecore_sample_format::F32 => PerFormat::F32(build::<f32>(&c)?),
            tonecore_sample_format::F64 => PerFormat::F64(build::<f64>(&c)?),
        };
        out.write(Box::into_raw(Box::new(tonecore_limiter {
            stage: AudioStage::new(audio),
        })));
        Ok(())
    })
}

/// Frees a limiter; NULL is a no-op.
///
/// Thread class: control-thread (frees); no other call on this limiter may be running or follow.
///
/// # Safety
/// `limiter` NULL or live; no call on it may be running or follow.
#[no_mangle]
pub unsafe extern "C" fn tonecore_limiter_free(limiter: *mut tonecore_limiter) {
    free_object(limiter);
}

/// Writes the limiter's latency in frames (its lookahead) to `*frames_out`.
///
/// Returns `NULL_POINTER`. Thread class: any-thread, audio-safe.
///
/// `limiter` and `frames_out` are borrowed for the call only.
///
/// # Safety
/// `limiter` live; `frames_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_limiter_latency(
    limiter: *const tonecore_limiter,
    frames_out: *mut usize,
) -> tonecore_status {
    stage::latency(limiter, frames_out)
}

/// Limits one planar block (`channels` rows of `input_len / channels` frames, any length) into
/// `output` (`output_len ≥ input_len`). Non-finite samples (and finite ones beyond ±2^20) are
/// replaced by zero and counted.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`,
/// `WRONG_FORMAT`, `CONCURRENT_USE`, `POISONED`, `PANIC`; nothing is written on error and no
/// detail message is set. `input` and `output` are borrowed for the call only.
/// Thread class: audio-safe (no allocation, lock or free).
///
/// # Safety
/// `input`/`output` valid for their lengths, not overlapping; `limiter` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_limiter_process_f32(
    limiter: *mut tonecore_limiter,
    input: *const f32,
    input_len: usize,
    output: *mut f32,
    output_len: usize,
) -> tonecore_status {
    stage::process(
        limiter,
        input,
        input_len,
        output,
        output_len,
        Layout::Planar,
    )
}

/// Double-precision [`tonecore_limiter_process_f32`]; the limiter must have been created with
/// `TONECORE_SAMPLE_FORMAT_F64`.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`,
/// `WRONG_FORMAT`, `CONCURRENT_USE`, `POISONED`, `PANIC`; nothing is written on error and no
/// detail message is set. `input` and `output` are borrowed for the call only.
/// Thread class: audio-safe (no allocation, lock or free).
///
/// # Safety
/// As for `tonecore_limiter_process_f32`, with doubles: `input`/`output` valid for their
/// lengths, not overlapping; `limiter` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_limiter_process_f64(
    limiter: *mut tonecore_limiter,
    input: *const f64,
    input_len: usize,
    output: *mut f64,
    output_len: usize,
) -> tonecore_status {
    stage::process(
        limiter,
        input,
        input_len,
        output,
        output_len,
        Layout::Planar,
    )
}

/// [`tonecore_limiter_process_f32`] for interleaved frames (`input_len / channels` frames).
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`,
/// `WRONG_FORMAT`, `CONCURRENT_USE`, `POISONED`, `PANIC`; nothing is written on error and no
/// detail message is set. `input` and `output` are borrowed for the call only.
/// Thread class: audio-safe (no allocation, lock or free).
///
/// # Safety
/// As for `tonecore_limiter_process_f32`: `input`/`output` valid for their lengths, not
/// overlapping; `limiter` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_limiter_process_interleaved_f32(
    limiter: *mut tonecore_limiter,
    input: *const f32,
    input_len: usize,
    output: *mut f32,
    output_len: usize,
) -> tonecore_status {
    stage::process(
        limiter,
        input,
        input_len,
        output,
        output_len,
        Layout::Interleaved,
    )
}

/// [`tonecore_limiter_process_f64`] for interleaved frames (`input_len / channels` frames).
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`,
/// `WRONG_FORMAT`, `CONCURRENT_USE`, `POISONED`, `PANIC`; nothing is written on error and no
/// detail message is set. `input` and `output` are borrowed for the call only.
/// Thread class: audio-safe (no allocation, lock or free).
///
/// # Safety
/// As for `tonecore_limiter_process_f32`, with doubles: `input`/`output` valid for their
/// lengths, not overlapping; `limiter` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_limiter_process_interleaved_f64(
    limiter: *mut tonecore_limiter,
    input: *const f64,
    input_len: usize,
    output: *mut f64,
    output_len: usize,
) -> tonecore_status {
    stage::process(
        limiter,
        input,
        input_len,
        output,
        output_len,
        Layout::Interleaved,
    )
}

/// Changes the ceiling (dBFS, −60…0) for frames entering from the next call; frames already in
/// the lookahead are clamped to the new ceiling.
///
/// Returns `NULL_POINTER`, `INVALID_CEILING` (nothing changes), `CONCURRENT_USE`, `POISONED`,
/// `PANIC`. Thread class: audio-safe; not concurrently with a `_process_*` call on the same
/// limiter (serialise it with the audio thread, or rebuild).
///
/// `limiter` is borrowed for the call only.
///
/// # Safety
/// `limiter` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_limiter_set_ceiling_db(
    limiter: *mut tonecore_limiter,
    ceiling_db: f64,
) -> tonecore_status {
    guard_rt(|| {
        let l = object_ref(limiter)?;
        l.stage.audio().with(|a| {
            either!(a, l => l.set_ceiling_db(ceiling_db))?;
            Ok(())
        })
    })
}

/// Clears the delay line, gain state and counters; keeps the ceiling.
///
/// Returns `NULL_POINTER`, `CONCURRENT_USE`, `POISONED`, `PANIC`. Thread class: audio-safe.
///
/// `limiter` is borrowed for the call only.
///
/// # Safety
/// `limiter` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_limiter_reset(limiter: *mut tonecore_limiter) -> tonecore_status {
    stage::reset(limiter)
}

/// Writes the counters to `*stats_out`. The caller sets
/// `stats_out->struct_size = sizeof(tonecore_limiter_stats)` first.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `CONCURRENT_USE`, `POISONED`, `PANIC`.
/// Thread class: audio-safe; not concurrently with a `_process_*` call on the same limiter.
///
/// `limiter` and `stats_out` are borrowed for the call only.
///
/// # Safety
/// `limiter` live; `stats_out` writable for `stats_out->struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn tonecore_limiter_get_stats(
    limiter: *mut tonecore_limiter,
    stats_out: *mut tonecore_limiter_stats,
) -> tonecore_status {
    guard_rt(|| {
        let l = object_ref(limiter)?;
        let out = out_param(stats_out)?;
        if out.cast::<usize>().read_unaligned() < STATS_MIN_SIZE {
            return Err(tonecore_status::StructSize.into());
        }
        let s = l.stage.audio().with(|a| Ok(either!(a, l => l.stats())))?;
        out.write(tonecore_limiter_stats {
            struct_size: STATS_MIN_SIZE,
            frames: s.frames,
            nonfinite: s.nonfinite,
            gain_db: s.gain_db,
            max_reduction_db: s.max_reduction_db,
        });
        Ok(())
    })
}
