use super::format::{tonecore_sample_format, Family, FormatAccess, FormatSample, PerFormat};
use super::pipeline::{read_config, tonecore_pipeline_config};
use super::{
    free_object, guard, guard_rt, object_ref, out_param, slice_in, slice_out, tonecore_status,
    Failure, Guarded,
};
use crate::cache::CachedSample;
use crate::dsp::crossfade::{crossfade_into, FadeCurve};
use crate::memory::try_shared_copy;
use crate::render::playback::open;
use crate::render::{
    render_chunked, PlaybackConfig, PlaybackControl, PlaybackReader, RenderConfig, Watch,
};
use std::ffi::c_void;
use std::mem::{offset_of, size_of};
use std::sync::atomic::{AtomicBool, Ordering};

/// Crossfade shapes (values of the `int32_t curve` arguments and fields).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tonecore_fade_curve {
    /// sin² in, cos² out: gains sum to 1, identical material joins exactly (the default).
    EqualGain = 0,
    /// sin in, cos out: powers sum to 1.
    EqualPower = 1,
    /// t in, 1 − t out.
    Linear = 2,
}

fn curve_from(curve: i32) -> Result<FadeCurve, Failure> {
    match curve {
        0 => Ok(FadeCurve::EqualGain),
        1 => Ok(FadeCurve::EqualPower),
        2 => Ok(FadeCurve::Linear),
        _ => Err(Failure::detail(
            tonecore_status::InvalidArgument,
            "curve is not a TONECORE_FADE_CURVE_* value",
        )),
    }
}

unsafe fn crossfade_ffi<T: FormatSample>(
    a: *const T,
    a_len: usize,
    b: *const T,
    b_len: usize,
    channels: usize,
    overlap: usize,
    curve: i32,
    output: *mut T,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    guard(|| {
        let frames_out = out_param(frames_out)?;
        let curve = curve_from(curve)?;
        let (a_s, b_s) = (slice_in(a, a_len)?, slice_in(b, b_len)?);
        let y = slice_out(output, output_len)?;
        super::disjoint(a, a_len, output, output_len)?;
        super::disjoint(b, b_len, output, output_len)?;
        if !(1..=crate::limits::MAX_CHANNELS).contains(&channels)
            || a_len % channels != 0
            || b_len % channels != 0
        {
            return Err(tonecore_status::InvalidChannels.into());
        }
        let (la, lb) = (a_len / channels, b_len / channels);
        let n = la + lb - overlap.min(la).min(lb);
        if y.len() < channels * n {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        frames_out.write(crossfade_into(a_s, b_s, channels, overlap, curve, y));
        Ok(())
    })
}

/// Joins planar `a` (`channels` rows of `a_len / channels`) and `b` with an `overlap`-frame
/// crossfade (`L = min(overlap, len_a, len_b)`, 0 concatenates; the fade phase runs over
/// `linspace(0, 1, L)` with both ends) into planar `output`; `*frames_out` receives
/// `len_a + len_b − L`.
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (curve), `INVALID_CHANNELS` (0, above 64, or a
/// length not a whole number of frames), `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`; nothing is
/// written on error. `a`, `b`, `output` and `frames_out` are
/// borrowed for the call only. Thread class: any-thread, audio-safe.
///
/// # Safety
/// Buffers valid for their lengths; `output` overlapping neither input.
#[no_mangle]
pub unsafe extern "C" fn tonecore_crossfade_concat_f32(
    a: *const f32,
    a_len: usize,
    b: *const f32,
    b_len: usize,
    channels: usize,
    overlap: usize,
    curve: i32,
    output: *mut f32,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    crossfade_ffi(
        a, a_len, b, b_len, channels, overlap, curve, output, output_len, frames_out,
    )
}

/// Double-precision [`tonecore_crossfade_concat_f32`]: `a`, `b` and `output` hold doubles.
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (curve), `INVALID_CHANNELS` (0, above 64, or a
/// length not a whole number of frames), `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`; nothing is
/// written on error. `a`, `b`, `output` and `frames_out` are
/// borrowed for the call only. Thread class: any-thread, audio-safe.
///
/// # Safety
/// As for `tonecore_crossfade_concat_f32`, with doubles.
#[no_mangle]
pub unsafe extern "C" fn tonecore_crossfade_concat_f64(
    a: *const f64,
    a_len: usize,
    b: *const f64,
    b_len: usize,
    channels: usize,
    overlap: usize,
    curve: i32,
    output: *mut f64,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    crossfade_ffi(
        a, a_len, b, b_len, channels, overlap, curve, output, output_len, frames_out,
    )
}

/// How a track is cut into chunks and joined (`tonecore_render_chunked_*`, playback streams).
/// Fill it with `tonecore_render_config_init`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_render_config {
    /// `sizeof(tonecore_render_config)` as the caller compiled it (set by `_init`).
    pub struct_size: usize,
    /// Core length of a chunk, seconds (> 0). Default 15.
    pub chunk_seconds: f64,
    /// Context rendered before each core and discarded, seconds; negative (default −1) = what
    /// the pipeline needs to settle (EQ kernel + limiter lookahead + level window + 3 attack
    /// time constants when the level matcher is enabled).
    pub context_seconds: f64,
    /// Crossfade at each seam, seconds (≥ 0). Default 0.05.
    pub crossfade_seconds: f64,
    /// A `TONECORE_FADE_CURVE_*` value. Default EQUAL_GAIN.
    pub curve: i32,
    /// Offline renders: 0 = all cores (default), 1 = the calling thread, n = a pool of n.
    pub threads: u32,
    /// Playback streams: chunks rendered ahead of the listener (1–1024). Default 2.
    pub lookahead_chunks: u32,
    /// Playback streams: fade out/in time around a seek, ms (0–1000). Default 5.
    pub seek_fade_ms: f64,
}

const RENDER_CONFIG_MIN_SIZE: usize =
    offset_of!(tonecore_render_config, seek_fade_ms) + size_of::<f64>();

impl Default for tonecore_render_config {
    fn default() -> Self {
        let r = RenderConfig::default();
        let p = PlaybackConfig::default();
        Self {
            struct_size: size_of::<Self>(),
            chunk_seconds: r.chunk_seconds,
            context_seconds: -1.0,
            crossfade_seconds: r.crossfade_seconds,
            curve: tonecore_fade_curve::EqualGain as i32,
            threads: 0,
            lookahead_chunks: p.lookahead_chunks as u32,
            seek_fade_ms: p.seek_fade_ms,
        }
    }
}

/// Fills `config_out` with the defaults (15 s chunks, the pipeline's settle time as context,
/// 50 ms equal-gain crossfades, all cores, 2 chunks of lookahead, 5 ms seek fades).
///
/// Returns `NULL_POINTER`. Thread class: any-thread.
///
/// `config_out` is borrowed for the call only.
///
/// # Safety
/// `config_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_render_config_init(
    config_out: *mut tonecore_render_config,
) -> tonecore_status {
    guard(|| {
        out_param(config_out)?.write(tonecore_render_config::default());
        Ok(())
    })
}

pub(crate) unsafe fn read_render(
    config: *const tonecore_render_config,
) -> Result<PlaybackConfig, Failure> {
    if config.is_null() {
        return Err(tonecore_status::NullPointer.into());
    }
    if config.cast::<usize>().read_unaligned() < RENDER_CONFIG_MIN_SIZE {
        return Err(tonecore_status::StructSize.into());
    }
    let c = config.read();
    Ok(PlaybackConfig {
        render: RenderConfig {
            chunk_seconds: c.chunk_seconds,
            context_seconds: if c.context_seconds < 0.0 {
                None
            } else {
                Some(c.context_seconds)
            },
            crossfade_seconds: c.crossfade_seconds,
            curve: curve_from(c.curve)?,
            threads: c.threads as usize,
        },
        lookahead_chunks: c.lookahead_chunks as usize,
        seek_fade_ms: c.seek_fade_ms,
    })
}

/// Render progress: `done` of `total` chunks finished. Return non-zero to cancel the render.
/// Called from worker threads, one call at a time; never from an audio thread.
pub type tonecore_render_progress_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, done: usize, total: usize) -> i32>;

struct Progress {
    callback: unsafe extern "C" fn(*mut c_void, usize, usize) -> i32,
    user_data: *mut c_void,
}

// SAFETY: the caller promises (documented) that the callback may be called from worker threads
// with this user_data; calls are serialised by the renderer.
unsafe impl Sync for Progress {}

/// The shared body of the offline entry points: reads the pipeline and render configs (a NULL
/// render config means the defaults), borrows the buffers, wires `progress` to a cancel flag,
/// and hands everything to `run(input, output, channels, sample_rate, pipeline, render, watch)`.
#[allow(clippy::too_many_arguments)]
unsafe fn offline_ffi<T: FormatSample, R>(
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    input: *const T,
    input_len: usize,
    output: *mut T,
    output_len: usize,
    progress: tonecore_render_progress_fn,
    user_data: *mut c_void,
    run: impl FnOnce(
        &[T],
        &mut [T],
        usize,
        u32,
        &crate::pipeline::PipelineConfig,
        &RenderConfig,
        Watch<'_>,
    ) -> Result<R, crate::Error>,
) -> Result<R, Failure> {
    let (c, format, pipeline) = read_config(pipeline)?;
    if !matches!(
        (format, std::mem::size_of::<T>()),
        (tonecore_sample_format::F32, 4) | (tonecore_sample_format::F64, 8)
    ) {
        return Err(tonecore_status::WrongFormat.into());
    }
    let render = if config.is_null() {
        RenderConfig::default()
    } else {
        read_render(config)?.render
    };
    let x = slice_in(input, input_len)?;
    let y = slice_out(output, output_len)?;
    super::disjoint(input, input_len, output, output_len)?;
    let channels = c.channels as usize;
    if channels == 0 || input_len % channels != 0 {
        return Err(tonecore_status::InvalidChannels.into());
    }
    with_watch(progress, user_data, |watch| {
        run(x, y, channels, c.sample_rate, &pipeline, &render, watch)
    })
    .map_err(Failure::from)
}

/// Runs `run` with a [`Watch`] that reports to the caller's `progress` callback (if any) and
/// cancels when it returns non-zero.
pub(crate) fn with_watch<R>(
    progress: tonecore_render_progress_fn,
    user_data: *mut c_void,
    run: impl FnOnce(Watch<'_>) -> R,
) -> R {
    let cancel = AtomicBool::new(false);
    let reporter = progress.map(|callback| Progress {
        callback,
        user_data,
    });
    let report = |done: usize, total: usize| {
        if let Some(p) = &reporter {
            // SAFETY: the caller supplied this callback for exactly this use.
            if unsafe { (p.callback)(p.user_data, done, total) } != 0 {
                cancel.store(true, Ordering::Relaxed);
            }
        }
    };
    let report_ref: &(dyn Fn(usize, usize) + Sync) = &report;
    run(Watch {
        progress: reporter.as_ref().map(|_| report_ref),
        cancel: Some(&cancel),
    })
}

#[allow(clippy::too_many_arguments)]
unsafe fn render_ffi<T: FormatSample>(
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    input: *const T,
    input_len: usize,
    output: *mut T,
    output_len: usize,
    progress: tonecore_render_progress_fn,
    user_data: *mut c_void,
) -> tonecore_status {
    guard(|| {
        if config.is_null() {
            return Err(tonecore_status::NullPointer.into());
        }
        offline_ffi(
            pipeline,
            config,
            input,
            input_len,
            output,
            output_len,
            progress,
            user_data,
            |x, y, channels, rate, pipeline, render, watch| {
                render_chunked(x, channels, rate, pipeline, render, y, watch)
            },
        )
    })
}

/// How `tonecore_normalize_*` ended (`tonecore_normalize_report.outcome`).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tonecore_normalize_outcome {
    /// The output is within 0.1 LU of the target, under the ceiling.
    Reached = 0,
    /// Silent input (below the −70 LUFS absolute gate or shorter than 400 ms): no gain applied.
    Silent = 1,
    /// The target needs more than ±60 dB of gain: stopped at that limit.
    GainLimit = 2,
    /// The ceiling does not allow the target: the closest of 6 passes is kept.
    NotReached = 3,
}

/// What `tonecore_normalize_*` did. Loudness in LUFS, peaks in dBTP (true peak, 4×), gains in
/// dB; `-INFINITY` for silence. Set `struct_size = sizeof(tonecore_normalize_report)` before the
/// call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_normalize_report {
    /// Set by the caller to `sizeof(tonecore_normalize_report)`.
    pub struct_size: usize,
    /// The target asked for.
    pub target_lufs: f64,
    /// Non-zero when a limiter ran (`pipeline->limiter_enabled`).
    pub limited: u32,
    /// Its ceiling (dBTP with `limiter_true_peak`, else dBFS); NAN without limiter.
    pub ceiling_db: f64,
    /// Integrated loudness of the input.
    pub input_lufs: f64,
    /// True peak of the input.
    pub input_true_peak_db: f64,
    /// Integrated loudness after the EQ (what the gain was computed from).
    pub eq_lufs: f64,
    /// The static gain applied.
    pub gain_db: f64,
    /// Integrated loudness of the output.
    pub output_lufs: f64,
    /// True peak of the output.
    pub output_true_peak_db: f64,
    /// The limiter's largest gain reduction (≤ 0).
    pub limiter_max_reduction_db: f64,
    /// The limiter's gain reduction averaged over all frames (≤ 0).
    pub limiter_mean_reduction_db: f64,
    /// Share of frames the limiter turned down, 0–1.
    pub limited_fraction: f64,
    /// Limiter passes run.
    pub passes: u32,
    /// A `TONECORE_NORMALIZE_OUTCOME_*` value.
    pub outcome: i32,
}

impl tonecore_normalize_report {
    pub(crate) fn of(r: &crate::render::NormalizeReport) -> Self {
        use crate::render::NormalizeOutcome as O;
        Self {
            struct_size: size_of::<Self>(),
            target_lufs: r.target_lufs,
            limited: u32::from(r.ceiling_db.is_some()),
            ceiling_db: r.ceiling_db.unwrap_or(f64::NAN),
            input_lufs: r.input_lufs,
            input_true_peak_db: r.input_true_peak_db,
            eq_lufs: r.eq_lufs,
            gain_db: r.gain_db,
            output_lufs: r.output_lufs,
            output_true_peak_db: r.output_true_peak_db,
            limiter_max_reduction_db: r.limiter_max_reduction_db,
            limiter_mean_reduction_db: r.limiter_mean_reduction_db,
            limited_fraction: r.limited_fraction,
            passes: r.passes,
            outcome: match r.outcome {
                O::Reached => tonecore_normalize_outcome::Reached,
                O::Silent => tonecore_normalize_outcome::Silent,
                O::GainLimit => tonecore_normalize_outcome::GainLimit,
                O::NotReached => tonecore_normalize_outcome::NotReached,
            } as i32,
        }
    }
}

/// Refuses a report whose `struct_size` is smaller than this library's.
///
/// # Safety
/// `report_out` non-NULL and readable for its first field.
unsafe fn check_report_size(report_out: *const tonecore_normalize_report) -> Result<(), Failure> {
    if report_out.cast::<usize>().read_unaligned() < size_of::<tonecore_normalize_report>() {
        return Err(Failure::detail(
            tonecore_status::StructSize,
            "report_out->struct_size must be sizeof(tonecore_normalize_report)",
        ));
    }
    Ok(())
}

/// Writes a stream's normalisation: `*normalized_out` = 1 and `*report_out` when the track was
/// normalised at open, else 0 (the report is left alone).
///
/// # Safety
/// Both pointers NULL (refused) or writable, `report_out` with its `struct_size` set.
pub(super) unsafe fn write_normalization(
    report: Option<&crate::render::NormalizeReport>,
    report_out: *mut tonecore_normalize_report,
    normalized_out: *mut i32,
) -> Result<(), Failure> {
    let flag = out_param(normalized_out)?;
    let out = out_param(report_out)?;
    check_report_size(out)?;
    if let Some(r) = report {
        out.write(tonecore_normalize_report::of(r));
    }
    flag.write(i32::from(report.is_some()));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
unsafe fn normalize_ffi<T: FormatSample>(
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    target_lufs: f64,
    input: *const T,
    input_len: usize,
    output: *mut T,
    output_len: usize,
    report_out: *mut tonecore_normalize_report,
    progress: tonecore_render_progress_fn,
    user_data: *mut c_void,
) -> tonecore_status {
    guard(|| {
        if !report_out.is_null() {
            check_report_size(report_out)?;
        }
        let report = offline_ffi(
            pipeline,
            config,
            input,
            input_len,
            output,
            output_len,
            progress,
            user_data,
            |x, y, channels, rate, pipeline, render, watch| {
                crate::render::normalize(x, channels, rate, target_lufs, pipeline, render, y, watch)
            },
        )?;
        if !report_out.is_null() {
            report_out.write(tonecore_normalize_report::of(&report));
        }
        Ok(())
    })
}

/// Normalises a whole planar track (`pipeline->channels` rows of `input_len / channels` frames
/// at `pipeline->sample_rate`, 8 kHz–2.8224 MHz) to `target_lufs` (−70…0) into `output`
/// (`output_len ≥ input_len`, same length as the input, latency removed): the pipeline's EQ (when
/// `eq_enabled`, rendered chunk-parallel), one static gain from the integrated loudness after the
/// EQ, then the pipeline's limiter (when `limiter_enabled`; set `limiter_true_peak` for a dBTP
/// ceiling) over the whole track in one pass; when the limiter takes loudness off, the gain is
/// corrected and the limiter runs again (up to 6 passes) until the output is within 0.03 LU.
/// The level-stage fields of `pipeline` are not used. `*report_out` (may be NULL; its
/// `struct_size` set) receives what happened — including a target that could not be reached
/// (`outcome`), which is still `OK`. `config` may be NULL (the defaults); `progress` as for
/// `tonecore_render_chunked_f32` (EQ chunks).
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `WRONG_FORMAT`, the pipeline config's errors,
/// `INVALID_TARGET`, `INVALID_SAMPLE_RATE`, `INVALID_CHUNK`, `INVALID_CHANNELS`, `NON_FINITE`
/// (non-finite input: nothing is measured), `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`, `CANCELLED`,
/// `THREAD_POOL`, `OUT_OF_MEMORY` (the limiter's per-frame envelope could not be reserved); the
/// output is unspecified after an error. Every pointer is borrowed for the
/// call only; `user_data` is passed to `progress` untouched. Thread class: control-thread /
/// worker.
///
/// # Safety
/// Configs readable (see their `_init`); buffers valid for their lengths and not overlapping;
/// `report_out` NULL or writable for its `struct_size`; `progress` callable from other threads
/// with `user_data` until this returns.
#[no_mangle]
pub unsafe extern "C" fn tonecore_normalize_f32(
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    target_lufs: f64,
    input: *const f32,
    input_len: usize,
    output: *mut f32,
    output_len: usize,
    report_out: *mut tonecore_normalize_report,
    progress: tonecore_render_progress_fn,
    user_data: *mut c_void,
) -> tonecore_status {
    normalize_ffi(
        pipeline,
        config,
        target_lufs,
        input,
        input_len,
        output,
        output_len,
        report_out,
        progress,
        user_data,
    )
}

/// Double-precision [`tonecore_normalize_f32`]: `input` and `output` hold doubles;
/// `pipeline->sample_format` must be `TONECORE_SAMPLE_FORMAT_F64` (else `WRONG_FORMAT`).
///
/// Returns as `tonecore_normalize_f32`. `pipeline`, `config` (may be NULL), `input`, `output`
/// and `report_out` (may be NULL) are borrowed for the call only; `user_data` is passed to
/// `progress` untouched and never freed. Thread class: control-thread / worker.
///
/// # Safety
/// As for `tonecore_normalize_f32`, with doubles.
#[no_mangle]
pub unsafe extern "C" fn tonecore_normalize_f64(
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    target_lufs: f64,
    input: *const f64,
    input_len: usize,
    output: *mut f64,
    output_len: usize,
    report_out: *mut tonecore_normalize_report,
    progress: tonecore_render_progress_fn,
    user_data: *mut c_void,
) -> tonecore_status {
    normalize_ffi(
        pipeline,
        config,
        target_lufs,
        input,
        input_len,
        output,
        output_len,
        report_out,
        progress,
        user_data,
    )
}

/// Renders a whole planar track (`pipeline->channels` rows of `input_len / channels` frames at
/// `pipeline->sample_rate`) through fresh pipelines chunk by chunk, in parallel, joined with
/// crossfades, into `output` (`output_len ≥ input_len`; same length as the input, latency
/// removed). Identical for any thread count; for an EQ-only pipeline identical to one pass.
/// `progress` (may be NULL) is called after each chunk; a non-zero return cancels: the call
/// then returns `CANCELLED` promptly with its workers joined (the output is incomplete).
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `WRONG_FORMAT` (pipeline sample format), the pipeline
/// config's errors, `INVALID_CHUNK`, `INVALID_CHANNELS`, `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`,
/// `CANCELLED`, `THREAD_POOL`. `pipeline`, `config`, `input` and `output` are borrowed for the
/// call only; `user_data` is passed to `progress` untouched and never freed.
/// Thread class: control-thread / worker.
///
/// # Safety
/// Configs readable (see their `_init`); buffers valid for their lengths and not overlapping;
/// `progress` callable from other threads with `user_data` until this returns.
#[no_mangle]
pub unsafe extern "C" fn tonecore_render_chunked_f32(
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    input: *const f32,
    input_len: usize,
    output: *mut f32,
    output_len: usize,
    progress: tonecore_render_progress_fn,
    user_data: *mut c_void,
) -> tonecore_status {
    render_ffi(
        pipeline, config, input, input_len, output, output_len, progress, user_data,
    )
}

/// Double-precision [`tonecore_render_chunked_f32`]: `input` and `output` hold doubles;
/// `pipeline->sample_format` must be `TONECORE_SAMPLE_FORMAT_F64` (else `WRONG_FORMAT`).
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `WRONG_FORMAT`, the pipeline config's errors,
/// `INVALID_CHUNK`, `INVALID_CHANNELS`, `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`, `CANCELLED`,
/// `THREAD_POOL`. `pipeline`, `config`, `input` and `output` are borrowed for the call only;
/// `user_data` is passed to `progress` untouched and never freed.
/// Thread class: control-thread / worker.
///
/// # Safety
/// As for `tonecore_render_chunked_f32`, with doubles.
#[no_mangle]
pub unsafe extern "C" fn tonecore_render_chunked_f64(
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    input: *const f64,
    input_len: usize,
    output: *mut f64,
    output_len: usize,
    progress: tonecore_render_progress_fn,
    user_data: *mut c_void,
) -> tonecore_status {
    render_ffi(
        pipeline, config, input, input_len, output, output_len, progress, user_data,
    )
}

/// Counters of a playback stream.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct tonecore_playback_stats {
    /// Frames handed to the listener (silence included).
    pub frames_read: u64,
    /// Frames of silence output because no rendered data was ready.
    pub underrun_frames: u64,
    /// Seeks requested.
    pub seeks: u64,
    /// Chunks rendered by the worker.
    pub chunks_rendered: u64,
    /// Track position (frame) of the next frame the listener gets.
    pub position: u64,
}

struct ReaderFamily;

impl Family for ReaderFamily {
    type Of<T: CachedSample> = PlaybackReader<T>;
}

/// A prefetching playback stream over a track (copied at open): a worker renders ahead through
/// a pipeline; `_read_*` (the audio thread) never blocks; `_seek` and `_stats` work from any
/// thread. `_free` stops and joins the worker.
pub struct tonecore_playback {
    channels: usize,
    control: PlaybackControl,
    reader: Guarded<PerFormat<ReaderFamily>>,
}

unsafe fn open_ffi<T: FormatSample>(
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    track: *const T,
    track_len: usize,
    playback_out: *mut *mut tonecore_playback,
    wrap: impl FnOnce(PlaybackReader<T>) -> PerFormat<ReaderFamily>,
) -> tonecore_status {
    guard(|| {
        let out = out_param(playback_out)?;
        let (c, format, pipeline) = read_config(pipeline)?;
        if !matches!(
            (format, std::mem::size_of::<T>()),
            (tonecore_sample_format::F32, 4) | (tonecore_sample_format::F64, 8)
        ) {
            return Err(tonecore_status::WrongFormat.into());
        }
        let playback = read_render(config)?;
        let x = slice_in(track, track_len)?;
        let channels = c.channels as usize;
        if channels == 0 || track_len % channels != 0 {
            return Err(tonecore_status::InvalidChannels.into());
        }
        let x = try_shared_copy(x)?;
        let (reader, control) = open(x, channels, c.sample_rate, pipeline, playback)?;
        out.write(Box::into_raw(Box::new(tonecore_playback {
            channels,
            control,
            reader: Guarded::new(wrap(reader)),
        })));
        Ok(())
    })
}

/// Opens a playback stream over a planar track (`pipeline->channels` rows of
/// `track_len / channels` frames, copied) rendered through the pipeline in chunks of
/// `config->chunk_seconds`, `config->lookahead_chunks` ahead, in `*playback_out` (written only
/// on success). The caller owns the stream and frees it with `tonecore_playback_free`; `pipeline`
/// and `config` are copied, `track` is copied into the stream.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `WRONG_FORMAT`, the pipeline config's errors,
/// `INVALID_CHUNK`, `INVALID_TIME` (seek fade outside 0–1000 ms, lookahead outside 1–1024),
/// `INVALID_CHANNELS`, `THREAD_POOL`, `OUT_OF_MEMORY` (the track's copy could not be reserved).
/// Thread class: control-thread (allocates, starts the worker).
///
/// # Safety
/// Configs readable; `track` valid for `track_len`; `playback_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_playback_open_f32(
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    track: *const f32,
    track_len: usize,
    playback_out: *mut *mut tonecore_playback,
) -> tonecore_status {
    open_ffi(
        pipeline,
        config,
        track,
        track_len,
        playback_out,
        PerFormat::F32,
    )
}

/// Double-precision [`tonecore_playback_open_f32`]: `track` holds doubles;
/// `pipeline->sample_format` must be `TONECORE_SAMPLE_FORMAT_F64` (else `WRONG_FORMAT`). The
/// stream in `*playback_out` is owned by the caller (free it with `tonecore_playback_free`);
/// `pipeline`, `config` and `track` are copied.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `WRONG_FORMAT`, the pipeline config's errors,
/// `INVALID_CHUNK`, `INVALID_TIME`, `INVALID_CHANNELS`, `THREAD_POOL`, `OUT_OF_MEMORY`.
/// Thread class: control-thread (allocates, starts the worker).
///
/// # Safety
/// As for `tonecore_playback_open_f32`, with doubles.
#[no_mangle]
pub unsafe extern "C" fn tonecore_playback_open_f64(
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    track: *const f64,
    track_len: usize,
    playback_out: *mut *mut tonecore_playback,
) -> tonecore_status {
    open_ffi(
        pipeline,
        config,
        track,
        track_len,
        playback_out,
        PerFormat::F64,
    )
}

/// Stops the worker, joins it and frees the stream. NULL is a no-op.
///
/// Thread class: control-thread (joins a thread, frees); no other call on this stream may be
/// running or follow.
///
/// # Safety
/// `playback` NULL or live; no call on it may be running or follow.
#[no_mangle]
pub unsafe extern "C" fn tonecore_playback_free(playback: *mut tonecore_playback) {
    free_object(playback);
}

unsafe fn read_ffi<T: FormatSample>(
    playback: *mut tonecore_playback,
    output: *mut T,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    guard_rt(|| {
        let p = object_ref(playback)?;
        let frames_out = out_param(frames_out)?;
        let y = slice_out(output, output_len)?;
        if output_len % p.channels != 0 {
            return Err(tonecore_status::InvalidChannels.into());
        }
        let n = p.reader.with(|r| Ok(r.of::<T>()?.read(y)))?;
        frames_out.write(n);
        Ok(())
    })
}

/// Fills interleaved `output` (`output_len / channels` frames) with the next frames and writes
/// how many came from the track to `*frames_out`; the rest is silence (an underrun: data not
/// rendered yet, or the end of the track). Never blocks.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS` (not a whole number of frames), `WRONG_FORMAT`,
/// `CONCURRENT_USE`, `POISONED`, `PANIC`; nothing is written on error. `output` and `frames_out`
/// are borrowed for the call only. Thread class: audio-safe (no allocation, lock or free).
///
/// # Safety
/// `output` valid for `output_len`; `playback` live; `frames_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_playback_read_f32(
    playback: *mut tonecore_playback,
    output: *mut f32,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    read_ffi(playback, output, output_len, frames_out)
}

/// Double-precision [`tonecore_playback_read_f32`]: `output` holds doubles; the stream must have
/// been opened with `tonecore_playback_open_f64`.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `WRONG_FORMAT`, `CONCURRENT_USE`, `POISONED`,
/// `PANIC`; nothing is written on error. `output` and `frames_out` are borrowed for the call
/// only. Thread class: audio-safe (no allocation, lock or free).
///
/// # Safety
/// `output` valid for `output_len` doubles; `playback` live; `frames_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_playback_read_f64(
    playback: *mut tonecore_playback,
    output: *mut f64,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    read_ffi(playback, output, output_len, frames_out)
}

/// Moves playback to `seconds` (sample-accurate). The old position fades out and the new one
/// fades in over `seek_fade_ms`; work in flight for the old position is dropped.
///
/// Returns `NULL_POINTER`, `INVALID_TIME` (NaN, negative, past the end). Thread class:
/// any-thread, wait-free.
///
/// # Safety
/// `playback` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_playback_seek(
    playback: *const tonecore_playback,
    seconds: f64,
) -> tonecore_status {
    guard(|| {
        let p = object_ref(playback)?;
        Ok(p.control.seek(seconds)?)
    })
}

/// What normalising the track at open did (a level stage in `TONECORE_LEVEL_MODE_INTEGRATED`, the
/// default): sets `*normalized_out` to 1 and writes `*report_out` (its `struct_size` set by the
/// caller), or sets it to 0 and leaves the report alone.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`. Thread class: any-thread, wait-free.
///
/// # Safety
/// `playback` live; `report_out` and `normalized_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_playback_get_normalization(
    playback: *const tonecore_playback,
    report_out: *mut tonecore_normalize_report,
    normalized_out: *mut i32,
) -> tonecore_status {
    guard(|| {
        let p = object_ref(playback)?;
        write_normalization(p.control.normalization(), report_out, normalized_out)
    })
}

/// Writes the stream's counters to `*stats_out`.
///
/// Returns `NULL_POINTER`. Thread class: any-thread, wait-free.
///
/// # Safety
/// `playback` live; `stats_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_playback_get_stats(
    playback: *const tonecore_playback,
    stats_out: *mut tonecore_playback_stats,
) -> tonecore_status {
    guard(|| {
        let p = object_ref(playback)?;
        let out = out_param(stats_out)?;
        let s = p.control.stats();
        out.write(tonecore_playback_stats {
            frames_read: s.frames_read,
            underrun_frames: s.underrun_frames,
            seeks: s.seeks,
            chunks_rendered: s.chunks_rendered,
            position: s.position,
        });
        Ok(())
    })
}
