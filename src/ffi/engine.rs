//! `tonecore_engine`: the shared engine (keyed streams, jobs, events, chunk cache, stats).

use super::format::tonecore_sample_format;
use super::pipeline::{read_config, tonecore_pipeline_config};
use super::render::{
    read_render, tonecore_normalize_report, tonecore_playback_stats, tonecore_render_config,
    write_normalization,
};
use super::{
    free_object, guard, guard_rt, object_ref, out_param, slice_in, slice_out, tonecore_status,
    Failure,
};
use crate::engine::{
    Engine, EngineConfig, EngineError, Event, JobId, JobOptions, JobState, StreamId, StreamOptions,
    Token,
};
use crate::memory::try_shared_copy;
use crate::render::PlaybackConfig;
use crate::typed::TypedSample;
use crate::{Error, ProcessError};
use std::ffi::c_void;
use std::mem::{offset_of, size_of};
use std::time::Duration;

/// Engine settings. Fill with `tonecore_engine_config_init`, then change fields.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_engine_config {
    /// `sizeof(tonecore_engine_config)` as the caller compiled it (set by `_init`).
    pub struct_size: usize,
    /// Live streams allowed at once across all keys (1–4096). Default 16.
    pub max_streams: u32,
    /// Threads of the job pool; 0 = one per core (default).
    pub worker_threads: u32,
    /// Byte budget of the shared chunk cache (0 = no caching). Default 256 MiB.
    pub cache_bytes: u64,
    /// Jobs held at once (running, or finished and not yet taken/released), 1–65536.
    /// Default 256.
    pub max_jobs: u32,
}

const ENGINE_CONFIG_MIN_SIZE: usize = offset_of!(tonecore_engine_config, max_jobs) + 4;

impl Default for tonecore_engine_config {
    fn default() -> Self {
        let d = EngineConfig::default();
        Self {
            struct_size: size_of::<Self>(),
            max_streams: d.max_streams as u32,
            worker_threads: d.worker_threads as u32,
            cache_bytes: d.cache_bytes as u64,
            max_jobs: d.max_jobs as u32,
        }
    }
}

/// How a job stands (`tonecore_job_progress.state`, `tonecore_event.job_state`).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tonecore_job_state {
    /// Queued or rendering.
    Running = 0,
    /// Finished; take the result with `tonecore_engine_job_take_result_*`.
    Done = 1,
    /// Cancelled; there is no result.
    Cancelled = 2,
    /// Failed; `status` tells why; there is no result.
    Failed = 3,
}

/// Event kinds, also the bits of a subscription mask (`TONECORE_EVENTS_ALL` selects all).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tonecore_event_kind {
    /// A stream was opened (`id`, `key`).
    StreamOpened = 1,
    /// A stream was closed, or replaced (`replaced` non-zero) by a new one for its key.
    StreamClosed = 2,
    /// A job finished a chunk (`done` of `total`).
    JobProgress = 4,
    /// A job ended (`job_state`, `job_status`).
    JobFinished = 8,
}

/// Subscription mask selecting every event kind.
pub const TONECORE_EVENTS_ALL: u32 = 15;

const _: () = assert!(TONECORE_EVENTS_ALL == crate::engine::ALL_EVENTS);

/// A job's progress (`tonecore_engine_job_progress`, `tonecore_engine_job_wait`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_job_progress {
    /// Chunks finished.
    pub done: u64,
    /// Chunks in all.
    pub total: u64,
    /// A `TONECORE_JOB_STATE_*` value.
    pub state: i32,
    /// For FAILED and CANCELLED: the status the job ended with; otherwise 0.
    pub status: i32,
}

/// One engine event, valid only during the callback.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_event {
    /// Emission number, strictly increasing (from 1).
    pub seq: u64,
    /// A `TONECORE_EVENT_KIND_*` value.
    pub kind: u32,
    /// Non-zero for a stream replaced by a new stream for its key.
    pub replaced: u32,
    /// The stream or job id.
    pub id: u64,
    /// The stream's key, or the job's key (0 = none).
    pub key: u64,
    /// Job progress: chunks done.
    pub done: u64,
    /// Job progress: chunks in all.
    pub total: u64,
    /// Job finished: a `TONECORE_JOB_STATE_*` value.
    pub job_state: i32,
    /// Job finished: the status it ended with (0 when done).
    pub job_status: i32,
}

/// An event callback: return 0 on success, non-zero to report a failure (counted in
/// `callback_errors`). Runs on the engine's dispatcher thread, one call at a time per
/// subscription, never on an audio thread. It may call any engine function except
/// `tonecore_engine_flush_events` and `tonecore_engine_free`.
pub type tonecore_event_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const tonecore_event) -> i32>;

/// A consistent snapshot of an engine's counters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct tonecore_engine_stats {
    /// Set by the caller to `sizeof(tonecore_engine_stats)`.
    pub struct_size: usize,
    /// The stream cap.
    pub max_streams: u64,
    /// Live streams: exactly the stream ids valid at the snapshot's instant.
    pub streams_open: u64,
    /// Most streams live at once so far.
    pub streams_peak: u64,
    /// Streams opened (replacements included).
    pub streams_opened: u64,
    /// Streams ended by a replacement.
    pub streams_replaced: u64,
    /// Streams closed.
    pub streams_closed: u64,
    /// Opens refused (or timed out) at the cap.
    pub busy_refusals: u64,
    /// Silence frames output because data was not ready, over all streams.
    pub underrun_frames: u64,
    /// Jobs started.
    pub jobs_submitted: u64,
    /// Jobs running now.
    pub jobs_running: u64,
    /// Jobs finished successfully.
    pub jobs_done: u64,
    /// Jobs ended cancelled.
    pub jobs_cancelled: u64,
    /// Jobs ended with an error.
    pub jobs_failed: u64,
    /// Jobs held (running, or finished and not taken/released).
    pub jobs_held: u64,
    /// Core frames rendered (not served from the cache).
    pub frames_rendered: u64,
    /// Chunks rendered (not served from the cache).
    pub chunks_rendered: u64,
    /// Chunk-cache lookups that hit.
    pub cache_hits: u64,
    /// Chunk-cache lookups that missed.
    pub cache_misses: u64,
    /// Chunks evicted from the cache.
    pub cache_evictions: u64,
    /// Chunks held in the cache.
    pub cache_entries: u64,
    /// Bytes held in the cache (≤ `cache_capacity`).
    pub cache_bytes: u64,
    /// The cache's byte budget.
    pub cache_capacity: u64,
    /// Live subscriptions.
    pub subscriptions: u64,
    /// Events emitted.
    pub events_emitted: u64,
    /// Callback invocations.
    pub callbacks_invoked: u64,
    /// Callbacks that reported failure (non-zero return).
    pub callback_errors: u64,
}

const STATS_MIN_SIZE: usize = size_of::<tonecore_engine_stats>();

/// The engine: one per process, shared by every host thread (all functions are safe to call
/// from any thread at once, except `tonecore_engine_free`).
pub struct tonecore_engine {
    engine: Engine,
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        let status = match e {
            EngineError::Busy => tonecore_status::Busy,
            EngineError::StaleId | EngineError::ShutDown => tonecore_status::StaleId,
            EngineError::AlreadyRunning(_) => tonecore_status::AlreadyRunning,
            EngineError::Timeout => tonecore_status::Timeout,
            EngineError::NotFinished => tonecore_status::NotFinished,
            EngineError::InUse => tonecore_status::ConcurrentUse,
            EngineError::WrongFormat => tonecore_status::WrongFormat,
            EngineError::Failed(e) => return e.into(),
        };
        Failure::detail(status, e.message())
    }
}

/// The status an [`EngineError`] maps to, without a detail message (audio path).
fn engine_status(e: EngineError) -> tonecore_status {
    match e {
        EngineError::Failed(Error::Process(ProcessError::InputShape)) => {
            tonecore_status::InvalidChannels
        }
        e => Failure::from(e).status,
    }
}

fn timeout_from(seconds: f64) -> Result<Option<Duration>, Failure> {
    if seconds.is_nan() || seconds > 1e9 {
        return Err(Failure::detail(
            tonecore_status::InvalidTime,
            "timeout_seconds must not be NaN or above 1e9",
        ));
    }
    Ok((seconds > 0.0).then(|| Duration::from_secs_f64(seconds)))
}

fn check_format<T>(format: tonecore_sample_format) -> Result<(), Failure> {
    match (format, size_of::<T>()) {
        (tonecore_sample_format::F32, 4) | (tonecore_sample_format::F64, 8) => Ok(()),
        _ => Err(Failure::detail(
            tonecore_status::WrongFormat,
            "the pipeline config's sample_format differs from the function's sample type",
        )),
    }
}

unsafe fn render_or_default(
    config: *const tonecore_render_config,
) -> Result<PlaybackConfig, Failure> {
    if config.is_null() {
        Ok(PlaybackConfig::default())
    } else {
        read_render(config)
    }
}

/// Fills `config_out` with the defaults (16 streams, one job thread per core, 256 MiB cache,
/// 256 jobs) and the current `struct_size`.
///
/// Returns `NULL_POINTER`. Thread class: any-thread.
///
/// `config_out` is borrowed for the call only.
///
/// # Safety
/// `config_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_config_init(
    config_out: *mut tonecore_engine_config,
) -> tonecore_status {
    guard(|| {
        out_param(config_out)?.write(tonecore_engine_config::default());
        Ok(())
    })
}

/// Starts an engine (its job pool, event dispatcher thread, chunk cache and stream slots) in
/// `*engine_out` (written only on success). Free it with `tonecore_engine_free`.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_ARGUMENT` (max_streams outside 1–4096,
/// max_jobs outside 1–65536, worker_threads above 1024), `THREAD_POOL`. Thread class:
/// control-thread (allocates, starts threads).
///
/// # Safety
/// `config` readable for `config->struct_size` bytes; `engine_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_new(
    config: *const tonecore_engine_config,
    engine_out: *mut *mut tonecore_engine,
) -> tonecore_status {
    guard(|| {
        let out = out_param(engine_out)?;
        if config.is_null() {
            return Err(tonecore_status::NullPointer.into());
        }
        if config.cast::<usize>().read_unaligned() < ENGINE_CONFIG_MIN_SIZE {
            return Err(tonecore_status::StructSize.into());
        }
        let c = config.read();
        let engine = Engine::new(EngineConfig {
            max_streams: c.max_streams as usize,
            worker_threads: c.worker_threads as usize,
            cache_bytes: usize::try_from(c.cache_bytes).unwrap_or(usize::MAX),
            max_jobs: c.max_jobs as usize,
        })?;
        out.write(Box::into_raw(Box::new(tonecore_engine { engine })));
        Ok(())
    })
}

/// Closes every stream, cancels every job, waits for all of them, delivers the events already
/// queued, stops the engine's threads (all joined before this returns) and frees the engine.
/// NULL is a no-op.
///
/// Thread class: control-thread (blocks until everything stopped). Not from an event callback.
///
/// # Safety
/// `engine` NULL or live; no other call on it may be running or follow (ids it issued are
/// meaningless afterwards).
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_free(engine: *mut tonecore_engine) {
    free_object(engine);
}

unsafe fn open_ffi<T: TypedSample>(
    engine: *const tonecore_engine,
    key: u64,
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    track: *const T,
    track_len: usize,
    content_id: u64,
    timeout_seconds: f64,
    stream_out: *mut u64,
) -> tonecore_status {
    guard(|| {
        let e = object_ref(engine)?;
        let out = out_param(stream_out)?;
        let (c, format, pipeline) = read_config(pipeline)?;
        check_format::<T>(format)?;
        let playback = render_or_default(config)?;
        let timeout = timeout_from(timeout_seconds)?;
        let x = slice_in(track, track_len)?;
        let channels = c.channels as usize;
        if channels == 0 || track_len % channels != 0 {
            return Err(tonecore_status::InvalidChannels.into());
        }
        let options = StreamOptions {
            playback,
            content_id: (content_id != 0).then_some(content_id),
            timeout,
        };
        let id = e.engine.open_stream(
            key,
            try_shared_copy(x)?,
            channels,
            c.sample_rate,
            &pipeline,
            &options,
        )?;
        out.write(id.0);
        Ok(())
    })
}

/// Opens a playback stream for the host's `key` over a planar track (`pipeline->channels` rows
/// of `track_len / channels` frames at `pipeline->sample_rate`, copied) rendered through the
/// pipeline in chunks (`config`: NULL = defaults) via the engine's chunk cache, and writes its
/// id to `*stream_out`. If `key` has a stream, it is replaced atomically: the old id turns stale
/// at once and the old stream's worker is joined before this returns. At the `max_streams` cap
/// this returns `BUSY` at once (`timeout_seconds` ≤ 0) or waits up to `timeout_seconds` for a
/// slot. `content_id` identifies the track for the cache (0 = hash the samples).
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `WRONG_FORMAT` (pipeline `sample_format` is not F32),
/// the pipeline config's errors, `INVALID_CHUNK`, `INVALID_TIME` (lookahead, seek fade,
/// timeout NaN), `INVALID_CHANNELS`, `BUSY`, `STALE_ID` (engine shutting down), `THREAD_POOL`,
/// `OUT_OF_MEMORY` (the track's copy could not be reserved).
/// Thread class: control-thread (allocates, starts a worker; may wait for the cap).
///
/// # Safety
/// `engine` live; configs readable (see their `_init`); `track` valid for `track_len`;
/// `stream_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_open_stream_f32(
    engine: *const tonecore_engine,
    key: u64,
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    track: *const f32,
    track_len: usize,
    content_id: u64,
    timeout_seconds: f64,
    stream_out: *mut u64,
) -> tonecore_status {
    open_ffi(
        engine,
        key,
        pipeline,
        config,
        track,
        track_len,
        content_id,
        timeout_seconds,
        stream_out,
    )
}

/// Double-precision [`tonecore_engine_open_stream_f32`] (pipeline `sample_format` F64).
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `WRONG_FORMAT` (pipeline `sample_format` is not F64),
/// the pipeline config's errors, `INVALID_CHUNK`, `INVALID_TIME` (lookahead, seek fade,
/// timeout NaN), `INVALID_CHANNELS`, `BUSY`, `STALE_ID` (engine shutting down), `THREAD_POOL`,
/// `OUT_OF_MEMORY` (the track's copy could not be reserved).
/// Thread class: control-thread (allocates, starts a worker; may wait for the cap).
///
/// `track` is copied (the caller keeps ownership and may free it on return); `engine`, `pipeline`,
/// `config` and `stream_out` are borrowed for the call only.
///
/// # Safety
/// With doubles: `engine` live; configs readable (see their `_init`); `track` valid for
/// `track_len`;
/// `stream_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_open_stream_f64(
    engine: *const tonecore_engine,
    key: u64,
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    track: *const f64,
    track_len: usize,
    content_id: u64,
    timeout_seconds: f64,
    stream_out: *mut u64,
) -> tonecore_status {
    open_ffi(
        engine,
        key,
        pipeline,
        config,
        track,
        track_len,
        content_id,
        timeout_seconds,
        stream_out,
    )
}

unsafe fn read_ffi<T: TypedSample>(
    engine: *const tonecore_engine,
    stream: u64,
    output: *mut T,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    guard_rt(|| {
        let e = object_ref(engine)?;
        let frames_out = out_param(frames_out)?;
        let y = slice_out(output, output_len)?;
        let n = e
            .engine
            .read(StreamId(stream), y)
            .map_err(|e| Failure::new(engine_status(e)))?;
        frames_out.write(n);
        Ok(())
    })
}

/// Fills interleaved `output` (`output_len / channels` frames) with the stream's next frames
/// and writes how many came from the track to `*frames_out`; the rest is silence (paused,
/// underrun, or past the end). Never blocks.
///
/// Returns `NULL_POINTER`, `STALE_ID` (closed, replaced, or another engine's id),
/// `CONCURRENT_USE` (another thread is reading this stream), `WRONG_FORMAT`,
/// `INVALID_CHANNELS` (not a whole number of frames). Thread class: audio-safe (no allocation,
/// lock or free; sets no error detail).
///
/// # Safety
/// `engine` live; `output` valid for `output_len`; `frames_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_stream_read_f32(
    engine: *const tonecore_engine,
    stream: u64,
    output: *mut f32,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    read_ffi(engine, stream, output, output_len, frames_out)
}

/// Double-precision [`tonecore_engine_stream_read_f32`].
///
/// Returns `NULL_POINTER`, `STALE_ID` (closed, replaced, or another engine's id),
/// `CONCURRENT_USE` (another thread is reading this stream), `WRONG_FORMAT`,
/// `INVALID_CHANNELS` (not a whole number of frames). Thread class: audio-safe (no allocation,
/// lock or free; sets no error detail).
///
/// `engine`, `output` and `frames_out` are borrowed for the call only.
///
/// # Safety
/// With doubles: `engine` live; `output` valid for `output_len`; `frames_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_stream_read_f64(
    engine: *const tonecore_engine,
    stream: u64,
    output: *mut f64,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    read_ffi(engine, stream, output, output_len, frames_out)
}

/// Moves the stream to `seconds` (sample-accurate, faded out and in).
///
/// Returns `NULL_POINTER`, `STALE_ID`, `INVALID_TIME` (NaN, negative, past the end). Thread
/// class: any-thread, wait-free.
///
/// # Safety
/// `engine` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_stream_seek(
    engine: *const tonecore_engine,
    stream: u64,
    seconds: f64,
) -> tonecore_status {
    guard(|| Ok(object_ref(engine)?.engine.seek(StreamId(stream), seconds)?))
}

/// Pauses (non-zero: reads output silence without advancing) or resumes the stream.
///
/// Returns `NULL_POINTER`, `STALE_ID`. Thread class: any-thread, wait-free.
///
/// # Safety
/// `engine` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_stream_set_paused(
    engine: *const tonecore_engine,
    stream: u64,
    paused: i32,
) -> tonecore_status {
    guard(|| {
        Ok(object_ref(engine)?
            .engine
            .set_paused(StreamId(stream), paused != 0)?)
    })
}

/// Writes the stream's counters to `*stats_out` and, when `paused_out` is not NULL, 1 or 0 for
/// whether it is paused.
///
/// Returns `NULL_POINTER`, `STALE_ID`. Thread class: any-thread, wait-free.
///
/// # Safety
/// `engine` live; `stats_out` writable; `paused_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_stream_get_stats(
    engine: *const tonecore_engine,
    stream: u64,
    stats_out: *mut tonecore_playback_stats,
    paused_out: *mut i32,
) -> tonecore_status {
    guard(|| {
        let e = object_ref(engine)?;
        let out = out_param(stats_out)?;
        let (s, paused) = e.engine.stream_stats(StreamId(stream))?;
        out.write(tonecore_playback_stats {
            frames_read: s.frames_read,
            underrun_frames: s.underrun_frames,
            seeks: s.seeks,
            chunks_rendered: s.chunks_rendered,
            position: s.position,
        });
        if !paused_out.is_null() {
            paused_out.write(paused as i32);
        }
        Ok(())
    })
}

/// What normalising the stream's track at open did (a level stage in
/// `TONECORE_LEVEL_MODE_INTEGRATED`, the default): sets `*normalized_out` to 1 and writes
/// `*report_out` (its `struct_size` set by the caller), or sets it to 0 and leaves the report
/// alone.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `STALE_ID`. Thread class: any-thread, wait-free.
///
/// # Safety
/// `engine` live; `report_out` and `normalized_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_stream_get_normalization(
    engine: *const tonecore_engine,
    stream: u64,
    report_out: *mut tonecore_normalize_report,
    normalized_out: *mut i32,
) -> tonecore_status {
    guard(|| {
        let e = object_ref(engine)?;
        let report = e.engine.stream_normalization(StreamId(stream))?;
        write_normalization(report.as_ref(), report_out, normalized_out)
    })
}

/// Closes the stream: its id turns stale at once, its slot is free for the next open, and its
/// worker is joined before this returns.
///
/// Returns `NULL_POINTER`, `STALE_ID` (already closed or replaced — a stale id can never close
/// its key's newer stream). Thread class: control-thread (joins a thread).
///
/// # Safety
/// `engine` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_stream_close(
    engine: *const tonecore_engine,
    stream: u64,
) -> tonecore_status {
    guard(|| Ok(object_ref(engine)?.engine.close_stream(StreamId(stream))?))
}

/// Writes the id of `key`'s live stream to `*stream_out`.
///
/// Returns `NULL_POINTER`, `STALE_ID` (the key has no stream). Thread class: any-thread
/// (takes the registry lock briefly).
///
/// `engine` and `stream_out` are borrowed for the call only.
///
/// # Safety
/// `engine` live; `stream_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_stream_for_key(
    engine: *const tonecore_engine,
    key: u64,
    stream_out: *mut u64,
) -> tonecore_status {
    guard(|| {
        let e = object_ref(engine)?;
        let out = out_param(stream_out)?;
        let id = e.engine.stream_for_key(key).ok_or(EngineError::StaleId)?;
        out.write(id.0);
        Ok(())
    })
}

unsafe fn submit_ffi<T: TypedSample>(
    engine: *const tonecore_engine,
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    input: *const T,
    input_len: usize,
    job_key: u64,
    content_id: u64,
    job_out: *mut u64,
) -> tonecore_status {
    guard(|| {
        let e = object_ref(engine)?;
        let out = out_param(job_out)?;
        let (c, format, pipeline) = read_config(pipeline)?;
        check_format::<T>(format)?;
        let render = render_or_default(config)?.render;
        // Answer a duplicate before copying the input (the engine re-checks under its lock).
        if let Some(id) = (job_key != 0)
            .then(|| e.engine.running_job(job_key))
            .flatten()
        {
            out.write(id.0);
            return Err(EngineError::AlreadyRunning(id).into());
        }
        let x = slice_in(input, input_len)?;
        let channels = c.channels as usize;
        if channels == 0 || input_len % channels != 0 {
            return Err(tonecore_status::InvalidChannels.into());
        }
        let options = JobOptions {
            render,
            key: (job_key != 0).then_some(job_key),
            content_id: (content_id != 0).then_some(content_id),
        };
        match e.engine.submit_render(
            try_shared_copy(x)?,
            channels,
            c.sample_rate,
            &pipeline,
            &options,
        ) {
            Ok(id) => {
                out.write(id.0);
                Ok(())
            }
            Err(EngineError::AlreadyRunning(id)) => {
                out.write(id.0);
                Err(EngineError::AlreadyRunning(id).into())
            }
            Err(other) => Err(other.into()),
        }
    })
}

/// Starts an offline chunked render of a planar track (`pipeline->channels` rows, copied)
/// through the pipeline on the engine's job pool and writes the job's id to `*job_out`.
/// `config` NULL = defaults (its `threads` is ignored). `job_key` (0 = none): while a job with
/// this key runs, another submission with it starts nothing, returns `ALREADY_RUNNING` and
/// writes the running job's id to `*job_out`. `content_id` as in `_open_stream_*`.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `WRONG_FORMAT`, the pipeline config's errors,
/// `INVALID_CHUNK`, `INVALID_CHANNELS`, `ALREADY_RUNNING`, `BUSY` (`max_jobs` held),
/// `STALE_ID` (shutting down), `OUT_OF_MEMORY` (the input's copy could not be reserved; a job
/// whose output cannot be reserved ends failed with it). Thread class: control-thread
/// (allocates, copies the input).
///
/// # Safety
/// `engine` live; configs readable; `input` valid for `input_len`; `job_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_submit_render_f32(
    engine: *const tonecore_engine,
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    input: *const f32,
    input_len: usize,
    job_key: u64,
    content_id: u64,
    job_out: *mut u64,
) -> tonecore_status {
    submit_ffi(
        engine, pipeline, config, input, input_len, job_key, content_id, job_out,
    )
}

/// Double-precision [`tonecore_engine_submit_render_f32`].
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `WRONG_FORMAT`, the pipeline config's errors,
/// `INVALID_CHUNK`, `INVALID_CHANNELS`, `ALREADY_RUNNING`, `BUSY` (`max_jobs` held),
/// `STALE_ID` (shutting down), `OUT_OF_MEMORY` (the input's copy could not be reserved; a job
/// whose output cannot be reserved ends failed with it). Thread class: control-thread
/// (allocates, copies the input).
///
/// `input` is copied (the caller keeps ownership and may free it on return); `engine`, `pipeline`,
/// `config` and `job_out` are borrowed for the call only.
///
/// # Safety
/// With doubles: `engine` live; configs readable; `input` valid for `input_len`; `job_out`
/// writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_submit_render_f64(
    engine: *const tonecore_engine,
    pipeline: *const tonecore_pipeline_config,
    config: *const tonecore_render_config,
    input: *const f64,
    input_len: usize,
    job_key: u64,
    content_id: u64,
    job_out: *mut u64,
) -> tonecore_status {
    submit_ffi(
        engine, pipeline, config, input, input_len, job_key, content_id, job_out,
    )
}

fn progress_of(done: u64, total: u64, state: JobState) -> tonecore_job_progress {
    let (state, status) = job_state_code(state);
    tonecore_job_progress {
        done,
        total,
        state,
        status,
    }
}

fn job_state_code(state: JobState) -> (i32, i32) {
    match state {
        JobState::Running => (tonecore_job_state::Running as i32, 0),
        JobState::Done => (tonecore_job_state::Done as i32, 0),
        JobState::Cancelled => (
            tonecore_job_state::Cancelled as i32,
            tonecore_status::Cancelled as i32,
        ),
        JobState::Failed(e) => (
            tonecore_job_state::Failed as i32,
            Failure::from(e).status as i32,
        ),
    }
}

/// Writes the job's progress and state to `*progress_out`.
///
/// Returns `NULL_POINTER`, `STALE_ID` (taken, released, or unknown). Thread class: any-thread.
///
/// `engine` and `progress_out` are borrowed for the call only.
///
/// # Safety
/// `engine` live; `progress_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_job_progress(
    engine: *const tonecore_engine,
    job: u64,
    progress_out: *mut tonecore_job_progress,
) -> tonecore_status {
    guard(|| {
        let e = object_ref(engine)?;
        let out = out_param(progress_out)?;
        let p = e.engine.job_progress(JobId(job))?;
        out.write(progress_of(p.done, p.total, p.state));
        Ok(())
    })
}

/// Asks the job to stop; it ends CANCELLED within one 4096-frame block per worker. Returns at
/// once. Cancelling a finished job changes nothing.
///
/// Returns `NULL_POINTER`, `STALE_ID`. Thread class: any-thread.
///
/// `engine` is borrowed for the call only.
///
/// # Safety
/// `engine` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_job_cancel(
    engine: *const tonecore_engine,
    job: u64,
) -> tonecore_status {
    guard(|| Ok(object_ref(engine)?.engine.cancel_job(JobId(job))?))
}

/// Waits until the job ends (`timeout_seconds` < 0: no limit; 0: just check) and writes its
/// final progress to `*progress_out` (may be NULL).
///
/// Returns `NULL_POINTER`, `STALE_ID`, `TIMEOUT` (still running), `INVALID_TIME` (NaN).
/// Thread class: control-thread (blocks). Not from an event callback for a job whose events
/// that callback must see first.
///
/// `engine` and `progress_out` are borrowed for the call only.
///
/// # Safety
/// `engine` live; `progress_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_job_wait(
    engine: *const tonecore_engine,
    job: u64,
    timeout_seconds: f64,
    progress_out: *mut tonecore_job_progress,
) -> tonecore_status {
    guard(|| {
        let e = object_ref(engine)?;
        let timeout = if timeout_seconds < 0.0 {
            None
        } else {
            Some(timeout_from(timeout_seconds)?.unwrap_or(Duration::ZERO))
        };
        e.engine.wait_job(JobId(job), timeout)?;
        if !progress_out.is_null() {
            let p = e.engine.job_progress(JobId(job))?;
            progress_out.write(progress_of(p.done, p.total, p.state));
        }
        Ok(())
    })
}

unsafe fn take_ffi<T: TypedSample>(
    engine: *const tonecore_engine,
    job: u64,
    output: *mut T,
    output_len: usize,
) -> tonecore_status {
    guard(|| {
        let e = object_ref(engine)?;
        let y = slice_out(output, output_len)?;
        e.engine.take_result_with(JobId(job), |x: &[T]| {
            if y.len() < x.len() {
                return Err(ProcessError::OutputTooSmall.into());
            }
            y[..x.len()].copy_from_slice(x);
            Ok(())
        })?;
        Ok(())
    })
}

/// Copies the finished job's planar result (the input's length) into `output` and removes the
/// job (its id turns stale). A job that ended cancelled or failed is removed and its status
/// returned (`CANCELLED`, `OUT_OF_MEMORY`, …).
///
/// Returns `NULL_POINTER`, `STALE_ID`, `NOT_FINISHED`, `BUFFER_TOO_SMALL` and `WRONG_FORMAT`
/// (nothing removed), or the job's own failure status. Thread class: control-thread.
///
/// `engine` and `output` are borrowed for the call only.
///
/// # Safety
/// `engine` live; `output` valid for `output_len`.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_job_take_result_f32(
    engine: *const tonecore_engine,
    job: u64,
    output: *mut f32,
    output_len: usize,
) -> tonecore_status {
    take_ffi(engine, job, output, output_len)
}

/// Double-precision [`tonecore_engine_job_take_result_f32`].
///
/// Returns `NULL_POINTER`, `STALE_ID`, `NOT_FINISHED`, `BUFFER_TOO_SMALL` and `WRONG_FORMAT`
/// (nothing removed), or the job's own failure status. Thread class: control-thread.
///
/// `engine` and `output` are borrowed for the call only.
///
/// # Safety
/// With doubles: `engine` live; `output` valid for `output_len`.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_job_take_result_f64(
    engine: *const tonecore_engine,
    job: u64,
    output: *mut f64,
    output_len: usize,
) -> tonecore_status {
    take_ffi(engine, job, output, output_len)
}

/// Forgets a job: cancels it if it runs and removes it (its id turns stale; its result, if
/// any, is discarded).
///
/// Returns `NULL_POINTER`, `STALE_ID`. Thread class: any-thread.
///
/// `engine` is borrowed for the call only.
///
/// # Safety
/// `engine` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_job_release(
    engine: *const tonecore_engine,
    job: u64,
) -> tonecore_status {
    guard(|| Ok(object_ref(engine)?.engine.release_job(JobId(job))?))
}

struct CCallback {
    callback: unsafe extern "C" fn(*mut c_void, *const tonecore_event) -> i32,
    user_data: *mut c_void,
}

// SAFETY: the host promises (documented) that the callback may run on the engine's dispatcher
// thread with this user_data until unsubscribe returns.
unsafe impl Send for CCallback {}
unsafe impl Sync for CCallback {}

impl CCallback {
    fn call(&self, event: &Event) -> bool {
        let event = c_event(event);
        // SAFETY: the host supplied this callback and user_data for exactly this use.
        unsafe { (self.callback)(self.user_data, &event) == 0 }
    }
}

fn c_event(e: &Event) -> tonecore_event {
    let (job_state, job_status) = e.outcome.map_or((0, 0), job_state_code);
    tonecore_event {
        seq: e.seq,
        kind: e.kind as u32,
        replaced: e.replaced as u32,
        id: e.id,
        key: e.key,
        done: e.done,
        total: e.total,
        job_state,
        job_status,
    }
}

/// Subscribes `callback(user_data, event)` to the events whose `TONECORE_EVENT_KIND_*` bits are
/// in `mask` and writes the subscription's token to `*token_out`. The callback runs on the
/// engine's dispatcher thread (never an audio thread), one call at a time, once per event
/// emitted after this returns; a non-zero return is counted in `callback_errors`.
///
/// Returns `NULL_POINTER` (engine, callback or token_out), `INVALID_ARGUMENT` (mask selects no
/// known kind). Thread class: any-thread.
///
/// # Safety
/// `engine` live; `callback` callable from the dispatcher thread with `user_data` until
/// `tonecore_engine_unsubscribe` returns (then `user_data` may be freed); `token_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_subscribe(
    engine: *const tonecore_engine,
    mask: u32,
    callback: tonecore_event_fn,
    user_data: *mut c_void,
    token_out: *mut u64,
) -> tonecore_status {
    guard(|| {
        let e = object_ref(engine)?;
        let out = out_param(token_out)?;
        let callback = callback.ok_or(tonecore_status::NullPointer)?;
        if mask & TONECORE_EVENTS_ALL == 0 {
            return Err(Failure::detail(
                tonecore_status::InvalidArgument,
                "mask selects no TONECORE_EVENT_KIND_* bit",
            ));
        }
        let c = CCallback {
            callback,
            user_data,
        };
        let token = e
            .engine
            .subscribe_checked(mask, Box::new(move |event| c.call(event)));
        out.write(token.0);
        Ok(())
    })
}

/// Ends a subscription. When this returns, its callback is not running and will never run
/// again, so `user_data` may be freed (from inside the callback itself it returns at once).
///
/// Returns `NULL_POINTER`, `STALE_ID` (unknown or already removed token). Thread class:
/// any-thread (waits for a running call of this callback).
///
/// # Safety
/// `engine` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_unsubscribe(
    engine: *const tonecore_engine,
    token: u64,
) -> tonecore_status {
    guard(|| Ok(object_ref(engine)?.engine.unsubscribe(Token(token))?))
}

/// Waits until every event emitted before this call has been delivered to the callbacks.
///
/// Returns `NULL_POINTER`, `CONCURRENT_USE` (called from a callback). Thread class:
/// control-thread (blocks).
///
/// `engine` is borrowed for the call only.
///
/// # Safety
/// `engine` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_flush_events(
    engine: *const tonecore_engine,
) -> tonecore_status {
    guard(|| Ok(object_ref(engine)?.engine.flush_events()?))
}

/// Writes one consistent snapshot of the engine's counters (stream fields from one instant of
/// the stream registry, job fields of the job table, cache fields of the cache). The caller
/// sets `stats_out->struct_size = sizeof(tonecore_engine_stats)` first.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`. Thread class: any-thread (takes the engine's locks
/// briefly; not for the audio thread).
///
/// `engine` and `stats_out` are borrowed for the call only.
///
/// # Safety
/// `engine` live; `stats_out` writable for `stats_out->struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_get_stats(
    engine: *const tonecore_engine,
    stats_out: *mut tonecore_engine_stats,
) -> tonecore_status {
    guard(|| {
        let e = object_ref(engine)?;
        let out = out_param(stats_out)?;
        if out.cast::<usize>().read_unaligned() < STATS_MIN_SIZE {
            return Err(tonecore_status::StructSize.into());
        }
        let s = e.engine.stats();
        out.write(tonecore_engine_stats {
            struct_size: STATS_MIN_SIZE,
            max_streams: s.max_streams,
            streams_open: s.streams_open,
            streams_peak: s.streams_peak,
            streams_opened: s.streams_opened,
            streams_replaced: s.streams_replaced,
            streams_closed: s.streams_closed,
            busy_refusals: s.busy_refusals,
            underrun_frames: s.underrun_frames,
            jobs_submitted: s.jobs_submitted,
            jobs_running: s.jobs_running,
            jobs_done: s.jobs_done,
            jobs_cancelled: s.jobs_cancelled,
            jobs_failed: s.jobs_failed,
            jobs_held: s.jobs_held,
            frames_rendered: s.frames_rendered,
            chunks_rendered: s.chunks_rendered,
            cache_hits: s.cache.hits,
            cache_misses: s.cache.misses,
            cache_evictions: s.cache.evictions,
            cache_entries: s.cache.entries,
            cache_bytes: s.cache.bytes,
            cache_capacity: s.cache.capacity,
            subscriptions: s.subscriptions,
            events_emitted: s.events_emitted,
            callbacks_invoked: s.callbacks_invoked,
            callback_errors: s.callback_errors,
        });
        Ok(())
    })
}

/// Drops every chunk in the engine's cache (counters are kept).
///
/// Returns `NULL_POINTER`. Thread class: any-thread.
///
/// `engine` is borrowed for the call only.
///
/// # Safety
/// `engine` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_engine_clear_cache(
    engine: *const tonecore_engine,
) -> tonecore_status {
    guard(|| {
        object_ref(engine)?.engine.clear_cache();
        Ok(())
    })
}
