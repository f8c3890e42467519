//! The engine: one shared object per process that owns the streams, jobs, caches, workers and
//! callbacks of a whole host, and makes the classic host races impossible by construction.
//!
//! - **Keyed streams** ([`Engine::open_stream`]): at most one live playback stream per host key;
//!   opening a key again replaces its stream atomically (one registry lock), and every id of the
//!   old stream is stale from that instant because stream slots are generation-checked
//!   (`slot`). The audio thread reads by id without locks ([`Engine::read`]).
//! - **An engine-wide cap** of `max_streams` live streams, enforced in the same registry lock:
//!   at the cap an open fails with [`EngineError::Busy`] or waits up to its timeout for a slot.
//! - **Jobs** ([`Engine::submit_render`]): offline chunked renders on the engine's worker pool,
//!   with progress, cancellation, waiting and results; one running job per job key.
//! - **Events** ([`Engine::subscribe`]): delivered on the engine's dispatcher thread, never on
//!   the audio thread; unsubscribe is synchronous (see [`events`]).
//! - **A shared chunk cache** (bytes-bounded LRU) used by every stream and job, keyed by content,
//!   settings and chunk index, so seeks, A/B toggles and second listeners reuse rendered chunks.
//! - **Stats** ([`Engine::stats`]): one consistent snapshot taken under the locks that change
//!   the counted state.
//!
//! Dropping the engine cancels and joins everything it started: streams' workers, jobs, the
//! worker pool and the dispatcher.
//!
//! Ids are 64-bit: the engine's tag (16 bits, so another engine's ids are refused), then for
//! streams the slot index (16 bits) and generation (32 bits), for jobs and tokens a serial
//! number. Id 0 is never valid.

pub mod events;
mod jobs;
pub(crate) mod slot;
pub(crate) mod store;

pub use events::{Event, EventKind, ALL_EVENTS};
pub use jobs::{JobOptions, JobProgress, JobState};

use crate::cache::bytes::ByteLruStats;
use crate::pipeline::PipelineConfig;
use crate::render::chunked::{integrated_level, plan};
use crate::render::normalize::{measure_track_gain, with_track_gain, NormalizeReport};
use crate::render::playback::open_resolved;
use crate::render::{PlaybackConfig, PlaybackControl, PlaybackReader, PlaybackStats};
use crate::typed::{Family, PerSample, TypedSample};
use crate::workers::Workers;
use crate::{ConfigError, Error, ProcessError};
use events::EventHub;
use jobs::JobTable;
use slot::{Slot, SlotError};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use store::{content_hash, settings_hash, ChunkCache, TrackStore};

pub use crate::limits::{MAX_JOBS, MAX_STREAMS};

/// Engine settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    /// Live streams allowed at once across all keys (1–4096). Default 16.
    pub max_streams: usize,
    /// Threads of the engine's job pool; 0 = one per core. Default 0.
    pub worker_threads: usize,
    /// Byte budget of the shared chunk cache (0 = no caching). Default 256 MiB.
    pub cache_bytes: usize,
    /// Jobs held at once (running, or finished and not yet taken or released), 1–65536.
    /// Default 256.
    pub max_jobs: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_streams: 16,
            worker_threads: 0,
            cache_bytes: 256 << 20,
            max_jobs: 256,
        }
    }
}

/// A stream's id: engine tag, slot index and generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u64);

/// A job's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

/// A subscription's token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub u64);

/// Why an engine call was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineError {
    /// `max_streams` streams (or `max_jobs` jobs) are live; nothing was opened.
    Busy,
    /// The id or token is unknown here: closed, replaced, taken, released, from another
    /// engine, or never issued.
    StaleId,
    /// A job with the same key is running; this is its id. Nothing new was started.
    AlreadyRunning(JobId),
    /// The wait (for a job, or for a stream slot) ran out.
    Timeout,
    /// The job has not finished yet.
    NotFinished,
    /// The stream is being read on another thread (one audio reader per stream), or the call
    /// was made from an event callback where it would wait for itself.
    InUse,
    /// The call's sample type differs from the stream's or job's.
    WrongFormat,
    /// The engine is shutting down.
    ShutDown,
    /// Invalid settings or input, or the job's own failure (cancellation included).
    Failed(Error),
}

impl EngineError {
    /// A static description.
    pub fn message(&self) -> &'static str {
        match self {
            Self::Busy => "the engine is at its stream (or job) limit",
            Self::StaleId => "the id is stale: closed, replaced, taken or from another engine",
            Self::AlreadyRunning(_) => "a job with this key is already running",
            Self::Timeout => "the wait timed out",
            Self::NotFinished => "the job has not finished",
            Self::InUse => "the stream is in use on another thread (or called from a callback)",
            Self::WrongFormat => "the sample type differs from the stream's or job's",
            Self::ShutDown => "the engine is shutting down",
            Self::Failed(e) => match e {
                Error::Config(e) => e.message(),
                Error::Process(e) => e.message(),
            },
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for EngineError {}

impl From<Error> for EngineError {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

impl From<ConfigError> for EngineError {
    fn from(e: ConfigError) -> Self {
        Self::Failed(e.into())
    }
}

impl From<ProcessError> for EngineError {
    fn from(e: ProcessError) -> Self {
        Self::Failed(e.into())
    }
}

/// Per-stream settings of [`Engine::open_stream`].
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct StreamOptions {
    /// Chunking, lookahead and seek fades.
    pub playback: PlaybackConfig,
    /// The host's id of the track's content (e.g. a file hash) for the chunk cache; `None`
    /// hashes the samples (about 10 GB/s).
    pub content_id: Option<u64>,
    /// At the cap: `None` or zero fails at once with [`EngineError::Busy`]; otherwise wait up to
    /// this long for a slot.
    pub timeout: Option<Duration>,
}

/// A consistent snapshot of an engine's counters ([`Engine::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// The cap.
    pub max_streams: u64,
    /// Live streams = ids valid at the snapshot's instant (≤ `max_streams`).
    pub streams_open: u64,
    /// Most streams live at once so far.
    pub streams_peak: u64,
    /// Streams opened (replacements included).
    pub streams_opened: u64,
    /// Streams ended by a replacement.
    pub streams_replaced: u64,
    /// Streams closed by `close_stream` or shutdown.
    pub streams_closed: u64,
    /// Opens refused (or timed out) at the cap.
    pub busy_refusals: u64,
    /// Silence frames output because data was not ready, over all streams ever opened.
    pub underrun_frames: u64,
    /// Jobs submitted (started).
    pub jobs_submitted: u64,
    /// Jobs running now.
    pub jobs_running: u64,
    /// Jobs finished successfully.
    pub jobs_done: u64,
    /// Jobs that ended cancelled.
    pub jobs_cancelled: u64,
    /// Jobs that ended with an error.
    pub jobs_failed: u64,
    /// Jobs held (running, or finished and not yet taken or released).
    pub jobs_held: u64,
    /// Core frames rendered by streams and jobs (not served from the cache).
    pub frames_rendered: u64,
    /// Chunks rendered by streams and jobs (not served from the cache).
    pub chunks_rendered: u64,
    /// The chunk cache's counters.
    pub cache: ByteLruStats,
    /// Live subscriptions.
    pub subscriptions: u64,
    /// Events emitted.
    pub events_emitted: u64,
    /// Callback invocations.
    pub callbacks_invoked: u64,
    /// Callbacks that panicked or reported failure.
    pub callback_errors: u64,
}

struct ReaderFamily;

impl Family for ReaderFamily {
    type Of<T: crate::cache::CachedSample> = PlaybackReader<T>;
}

/// The audio side of a stream slot.
struct StreamAudio {
    reader: PerSample<ReaderFamily>,
    paused: Arc<AtomicBool>,
    channels: usize,
}

/// The control side of a stream slot.
struct StreamControl {
    control: PlaybackControl,
    paused: Arc<AtomicBool>,
    key: u64,
}

struct Registry {
    keys: HashMap<u64, StreamId>,
    free: Vec<usize>,
    peak: u64,
    opened: u64,
    replaced: u64,
    closed: u64,
    busy: u64,
    /// Underruns of streams that are gone.
    past_underruns: u64,
    shut: bool,
}

pub(crate) struct Core {
    tag: u64,
    config: EngineConfig,
    slots: Box<[Slot<StreamAudio, StreamControl>]>,
    registry: Mutex<Registry>,
    slot_freed: Condvar,
    jobs: Mutex<JobTable>,
    jobs_idle: Condvar,
    cache: Arc<ChunkCache>,
    pool: Mutex<Option<Arc<rayon::ThreadPool>>>,
    pool_alive: Arc<(Mutex<usize>, Condvar)>,
    events: Arc<EventHub>,
    /// Set once shutdown starts: new jobs are refused.
    shut: AtomicBool,
    frames_rendered: Arc<AtomicU64>,
    chunks_rendered: Arc<AtomicU64>,
    /// Track normalisations of streams in integrated mode, by (content, settings) hash, so that
    /// reopening a track (a reconnect, another listener) does not measure it again. Bounded by
    /// [`REMEMBERED_NORMALIZATIONS`] (cleared when full).
    normalizations: Mutex<HashMap<(u64, u64), NormalizeReport>>,
}

/// Most remembered stream normalisations (a report is about 100 bytes).
const REMEMBERED_NORMALIZATIONS: usize = 4096;

/// The engine. `Send + Sync`: share one (e.g. in an `Arc`) between all host threads.
pub struct Engine {
    core: Arc<Core>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn next_tag() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    loop {
        let t = NEXT.fetch_add(1, Ordering::Relaxed).wrapping_add(1) & 0xffff;
        if t != 0 {
            return t << 48;
        }
    }
}

impl Engine {
    /// Starts an engine: its worker pool (`worker_threads`), event dispatcher thread, chunk
    /// cache and `max_streams` stream slots.
    ///
    /// # Errors
    /// [`ConfigError::InvalidEngine`] (`max_streams` outside 1–4096, `max_jobs` outside
    /// 1–65536), [`ConfigError::TooManyThreads`], [`ConfigError::ThreadPool`].
    pub fn new(config: EngineConfig) -> Result<Self, ConfigError> {
        if !(1..=MAX_STREAMS).contains(&config.max_streams)
            || !(1..=MAX_JOBS).contains(&config.max_jobs)
        {
            return Err(ConfigError::InvalidEngine);
        }
        if config.worker_threads > crate::workers::MAX_THREADS {
            return Err(ConfigError::TooManyThreads);
        }
        let tag = next_tag();
        let threads = match config.worker_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let pool_alive = Arc::new((Mutex::new(0usize), Condvar::new()));
        let (on_start, on_exit) = (pool_alive.clone(), pool_alive.clone());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("tonecore-engine-{i}"))
            .start_handler(move |_| *lock(&on_start.0) += 1)
            .exit_handler(move |_| {
                *lock(&on_exit.0) -= 1;
                on_exit.1.notify_all();
            })
            .build()
            .map_err(|_| ConfigError::ThreadPool)?;
        let events = EventHub::start(tag)?;
        let slots = (0..config.max_streams).map(|_| Slot::new()).collect();
        let core = Core {
            tag,
            config,
            slots,
            registry: Mutex::new(Registry {
                keys: HashMap::new(),
                free: (0..config.max_streams).rev().collect(),
                peak: 0,
                opened: 0,
                replaced: 0,
                closed: 0,
                busy: 0,
                past_underruns: 0,
                shut: false,
            }),
            slot_freed: Condvar::new(),
            jobs: Mutex::new(JobTable::default()),
            jobs_idle: Condvar::new(),
            cache: Arc::new(ChunkCache::new(config.cache_bytes)),
            pool: Mutex::new(Some(Arc::new(pool))),
            pool_alive,
            events,
            shut: AtomicBool::new(false),
            frames_rendered: Arc::new(AtomicU64::new(0)),
            chunks_rendered: Arc::new(AtomicU64::new(0)),
            normalizations: Mutex::new(HashMap::new()),
        };
        Ok(Self {
            core: Arc::new(core),
        })
    }

    /// The settings the engine was made with.
    pub fn config(&self) -> EngineConfig {
        self.core.config
    }

    fn slot_of(
        &self,
        id: StreamId,
    ) -> Result<(&Slot<StreamAudio, StreamControl>, u32), EngineError> {
        let (tag, index, generation) =
            (id.0 & !((1 << 48) - 1), (id.0 >> 32) & 0xffff, id.0 as u32);
        if tag != self.core.tag {
            return Err(EngineError::StaleId);
        }
        let slot = self
            .core
            .slots
            .get(index as usize)
            .ok_or(EngineError::StaleId)?;
        Ok((slot, generation))
    }

    fn stream_id(&self, index: usize, generation: u32) -> StreamId {
        StreamId(self.core.tag | ((index as u64) << 32) | generation as u64)
    }

    fn store_for<T: TypedSample>(
        &self,
        track: &[T],
        content_id: Option<u64>,
        channels: usize,
        sample_rate: u32,
        pipeline: &PipelineConfig,
        render: &crate::render::RenderConfig,
    ) -> Result<TrackStore, EngineError> {
        let plan = track_plan(track, channels, sample_rate, pipeline, render)?;
        Ok(TrackStore {
            cache: self.core.cache.clone(),
            content: content_id.unwrap_or_else(|| content_hash(track)),
            settings: settings_hash::<T>(pipeline, &plan, channels, sample_rate),
            plan,
            frames: self.core.frames_rendered.clone(),
            chunks: self.core.chunks_rendered.clone(),
        })
    }

    /// [`resolve_track_gain`](crate::render::normalize::resolve_track_gain) on the engine's
    /// pool, remembered by content and settings.
    fn resolve_track_gain<T: TypedSample>(
        &self,
        track: &[T],
        content: u64,
        channels: usize,
        sample_rate: u32,
        pipeline: &PipelineConfig,
        render: &crate::render::RenderConfig,
    ) -> Result<(PipelineConfig, Option<NormalizeReport>), EngineError> {
        let Some(level) = integrated_level(pipeline) else {
            return Ok((pipeline.clone(), None));
        };
        let plan = track_plan(track, channels, sample_rate, pipeline, render)?;
        let key = (
            content,
            settings_hash::<T>(pipeline, &plan, channels, sample_rate),
        );
        let known = lock(&self.core.normalizations).get(&key).copied();
        let report = match known {
            Some(r) => r,
            None => {
                let pool = self.core.pool().ok_or(EngineError::ShutDown)?;
                let report = measure_track_gain(
                    track,
                    channels,
                    sample_rate,
                    level.target_lufs,
                    pipeline,
                    render,
                    &Workers::Pool(pool),
                )?;
                let mut known = lock(&self.core.normalizations);
                if known.len() >= REMEMBERED_NORMALIZATIONS {
                    known.clear();
                }
                known.insert(key, report);
                report
            }
        };
        Ok((with_track_gain(pipeline, report.gain_db), Some(report)))
    }

    /// What normalising the stream's track at open did (its level stage in integrated mode), or
    /// `None`. Any thread; wait-free.
    ///
    /// # Errors
    /// [`EngineError::StaleId`].
    pub fn stream_normalization(
        &self,
        id: StreamId,
    ) -> Result<Option<NormalizeReport>, EngineError> {
        let (slot, generation) = self.slot_of(id)?;
        slot.with_shared(generation, |c| c.control.normalization().copied())
            .map_err(slot_error)
    }

    /// Opens a playback stream of planar `track` (`channels × frames`) through `pipeline` for
    /// the host's `key`, replacing the key's current stream if it has one (the old stream's ids
    /// turn stale at once; its worker is stopped and joined before this returns). At the cap,
    /// fails with `Busy` or waits up to `options.timeout`. The stream renders through the
    /// engine's chunk cache. With a level stage in integrated mode (the default) the track is
    /// first normalised on the engine's pool (see [`playback::open`](crate::render::playback::open))
    /// unless the same track and settings were before; [`Self::stream_normalization`] reports
    /// it. Control path: allocates, starts a worker thread, may block on the registry lock and
    /// (with a timeout) on the cap.
    ///
    /// # Errors
    /// [`EngineError::Busy`] at the cap (after the timeout), [`EngineError::ShutDown`], or
    /// [`EngineError::Failed`] for invalid settings (as `playback::open`).
    #[allow(clippy::too_many_arguments)]
    pub fn open_stream<T: TypedSample>(
        &self,
        key: u64,
        track: Arc<[T]>,
        channels: usize,
        sample_rate: u32,
        pipeline: &PipelineConfig,
        options: &StreamOptions,
    ) -> Result<StreamId, EngineError> {
        let core = &self.core;
        let waits = options.timeout.is_some_and(|t| !t.is_zero());
        {
            let mut r = lock(&core.registry);
            if r.shut {
                return Err(EngineError::ShutDown);
            }
            if !waits && r.free.is_empty() && !r.keys.contains_key(&key) {
                r.busy += 1;
                return Err(EngineError::Busy);
            }
        }
        let content = options.content_id.unwrap_or_else(|| content_hash(&track));
        let (pipeline, normalization) = self.resolve_track_gain(
            &track,
            content,
            channels,
            sample_rate,
            pipeline,
            &options.playback.render,
        )?;
        let store = self.store_for(
            &track,
            Some(content),
            channels,
            sample_rate,
            &pipeline,
            &options.playback.render,
        )?;
        let store: Arc<dyn crate::render::ChunkStore<T>> = Arc::new(store);
        let (reader, control) = open_resolved(
            track,
            channels,
            sample_rate,
            pipeline,
            options.playback,
            Some(store),
            normalization,
        )?;
        let paused = Arc::new(AtomicBool::new(false));
        let mut new = Some((
            StreamAudio {
                reader: PerSample::new::<T>(reader),
                paused: paused.clone(),
                channels,
            },
            StreamControl {
                control,
                paused,
                key,
            },
        ));
        let deadline = options.timeout.map(|t| Instant::now() + t);
        let mut r = lock(&core.registry);
        let (id, old) = loop {
            if r.shut {
                drop(r);
                return Err(EngineError::ShutDown);
            }
            if let Some(&old_id) = r.keys.get(&key) {
                let (slot, generation) = self.slot_of(old_id)?;
                match slot.retire(generation, new.take()) {
                    Ok((audio, control, next)) => {
                        let index = ((old_id.0 >> 32) & 0xffff) as usize;
                        let id = self.stream_id(index, next);
                        r.keys.insert(key, id);
                        r.replaced += 1;
                        r.opened += 1;
                        r.past_underruns += control.control.stats().underrun_frames;
                        break (id, Some((old_id, audio, control)));
                    }
                    Err((_, back)) => {
                        // Unreachable while the registry is consistent; recover by forgetting
                        // the key.
                        new = back;
                        r.keys.remove(&key);
                        continue;
                    }
                }
            }
            if let Some(index) = r.free.pop() {
                let (audio, control) = new.take().expect("the new stream is still here");
                match core.slots[index].install(audio, control) {
                    Ok(generation) => {
                        let id = self.stream_id(index, generation);
                        r.keys.insert(key, id);
                        r.opened += 1;
                        r.peak = r.peak.max(r.keys.len() as u64);
                        break (id, None);
                    }
                    Err(_) => unreachable!("a free-listed slot is free"),
                }
            }
            let now = Instant::now();
            match deadline {
                Some(d) if now < d => {
                    r = core
                        .slot_freed
                        .wait_timeout(r, d - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                _ => {
                    r.busy += 1;
                    drop(r);
                    return Err(EngineError::Busy);
                }
            }
        };
        // Emitted under the registry lock, so the events of one key are numbered in the order
        // its streams changed: a stream is always reported opened before it is reported closed
        // (a replacement racing with this one cannot report this new stream closed first).
        if let Some((old_id, _, _)) = &old {
            let mut e = Event::new(EventKind::StreamClosed, old_id.0, key);
            e.replaced = true;
            core.events.emit(e);
        }
        core.events
            .emit(Event::new(EventKind::StreamOpened, id.0, key));
        drop(r);
        if let Some((_, audio, control)) = old {
            drop(audio);
            drop(control); // stops and joins the old worker
        }
        Ok(id)
    }

    /// The live stream of `key`, if any.
    pub fn stream_for_key(&self, key: u64) -> Option<StreamId> {
        lock(&self.core.registry).keys.get(&key).copied()
    }

    /// Fills interleaved `out` with the stream's next frames (silence while paused, on underrun
    /// or past the end) and returns how many came from the track. Real-time safe: no lock,
    /// allocation or free; never blocks.
    ///
    /// # Errors
    /// [`EngineError::StaleId`], [`EngineError::InUse`] (another thread is reading this
    /// stream), [`EngineError::WrongFormat`], `Failed(Process(InputShape))` when `out` is not a
    /// whole number of frames.
    pub fn read<T: TypedSample>(&self, id: StreamId, out: &mut [T]) -> Result<usize, EngineError> {
        let (slot, generation) = self.slot_of(id)?;
        slot.with_audio(generation, |a| {
            if out.len() % a.channels != 0 {
                return Err(EngineError::Failed(ProcessError::InputShape.into()));
            }
            let reader = a.reader.get_mut::<T>().ok_or(EngineError::WrongFormat)?;
            if a.paused.load(Ordering::Relaxed) {
                out.fill(T::zero());
                return Ok(0);
            }
            Ok(reader.read(out))
        })
        .map_err(slot_error)?
    }

    /// Moves the stream to `seconds` (see `PlaybackControl::seek`). Any thread, wait-free.
    ///
    /// # Errors
    /// [`EngineError::StaleId`]; `Failed(Config(InvalidTime))` for a bad position.
    pub fn seek(&self, id: StreamId, seconds: f64) -> Result<(), EngineError> {
        let (slot, generation) = self.slot_of(id)?;
        slot.with_shared(generation, |c| c.control.seek(seconds))
            .map_err(slot_error)?
            .map_err(EngineError::from)
    }

    /// Pauses (the reader outputs silence without advancing) or resumes the stream. Any thread,
    /// wait-free.
    ///
    /// # Errors
    /// [`EngineError::StaleId`].
    pub fn set_paused(&self, id: StreamId, paused: bool) -> Result<(), EngineError> {
        let (slot, generation) = self.slot_of(id)?;
        slot.with_shared(generation, |c| c.paused.store(paused, Ordering::Relaxed))
            .map_err(slot_error)
    }

    /// The stream's counters and whether it is paused. Any thread, wait-free.
    ///
    /// # Errors
    /// [`EngineError::StaleId`].
    pub fn stream_stats(&self, id: StreamId) -> Result<(PlaybackStats, bool), EngineError> {
        let (slot, generation) = self.slot_of(id)?;
        slot.with_shared(generation, |c| {
            (c.control.stats(), c.paused.load(Ordering::Relaxed))
        })
        .map_err(slot_error)
    }

    /// Closes the stream: its ids turn stale at once, its slot is free for the next open, and
    /// its worker is stopped and joined before this returns. Control path.
    ///
    /// # Errors
    /// [`EngineError::StaleId`] (already closed, replaced, or not this engine's).
    pub fn close_stream(&self, id: StreamId) -> Result<(), EngineError> {
        let (slot, generation) = self.slot_of(id)?;
        let core = &self.core;
        let mut r = lock(&core.registry);
        let (audio, control, _) = slot
            .retire(generation, None)
            .map_err(|(e, _)| slot_error(e))?;
        if r.keys.get(&control.key) == Some(&id) {
            r.keys.remove(&control.key);
        }
        r.free.push(((id.0 >> 32) & 0xffff) as usize);
        r.closed += 1;
        r.past_underruns += control.control.stats().underrun_frames;
        // Under the registry lock: see `open_stream`.
        core.events
            .emit(Event::new(EventKind::StreamClosed, id.0, control.key));
        drop(r);
        core.slot_freed.notify_one();
        drop(audio);
        drop(control);
        Ok(())
    }

    /// Subscribes `callback` to the events whose [`EventKind`] bits are in `mask`. It runs on
    /// the engine's dispatcher thread (never an audio thread), one call at a time, once per
    /// event emitted after this returns; a panic inside it is caught and counted.
    pub fn subscribe(&self, mask: u32, callback: impl Fn(&Event) + Send + Sync + 'static) -> Token {
        self.subscribe_checked(
            mask,
            Box::new(move |e| {
                callback(e);
                true
            }),
        )
    }

    /// [`subscribe`](Self::subscribe) with a callback that reports failure by returning
    /// `false` (counted in `callback_errors`).
    pub fn subscribe_checked(&self, mask: u32, callback: events::Callback) -> Token {
        Token(self.core.events.subscribe(mask, callback))
    }

    /// Ends a subscription. When this returns, its callback is not running and never runs
    /// again (from inside the callback itself it returns at once).
    ///
    /// # Errors
    /// [`EngineError::StaleId`] for an unknown or already removed token.
    pub fn unsubscribe(&self, token: Token) -> Result<(), EngineError> {
        if token.0 & !((1 << 48) - 1) != self.core.tag {
            return Err(EngineError::StaleId);
        }
        self.core.events.unsubscribe(token.0)
    }

    /// Waits until every event emitted before this call has been delivered.
    ///
    /// # Errors
    /// [`EngineError::InUse`] from inside a callback.
    pub fn flush_events(&self) -> Result<(), EngineError> {
        self.core.events.flush()
    }

    /// A consistent snapshot of the counters: stream fields are read under the registry lock
    /// (so `streams_open` is exactly the number of valid stream ids at that instant), job fields
    /// under the job lock, cache fields under the cache lock, in that fixed order.
    pub fn stats(&self) -> EngineStats {
        let core = &self.core;
        let r = lock(&core.registry);
        let live_underruns: u64 = r
            .keys
            .values()
            .filter_map(|&id| {
                let (slot, generation) = self.slot_of(id).ok()?;
                slot.with_shared(generation, |c| c.control.stats().underrun_frames)
                    .ok()
            })
            .sum();
        let j = lock(&core.jobs);
        let mut s = EngineStats {
            max_streams: core.config.max_streams as u64,
            streams_open: r.keys.len() as u64,
            streams_peak: r.peak,
            streams_opened: r.opened,
            streams_replaced: r.replaced,
            streams_closed: r.closed,
            busy_refusals: r.busy,
            underrun_frames: r.past_underruns + live_underruns,
            cache: core.cache.stats(),
            subscriptions: core.events.subscriptions() as u64,
            events_emitted: core.events.emitted(),
            callbacks_invoked: core.events.invoked.load(Ordering::Relaxed),
            callback_errors: core.events.errors.load(Ordering::Relaxed),
            frames_rendered: core.frames_rendered.load(Ordering::Relaxed),
            chunks_rendered: core.chunks_rendered.load(Ordering::Relaxed),
            ..EngineStats::default()
        };
        j.fill_stats(&mut s);
        s
    }

    /// Drops every cached chunk.
    pub fn clear_cache(&self) {
        self.core.cache.clear();
    }

    /// Threads the engine's job pool runs on.
    pub fn worker_threads(&self) -> usize {
        lock(&self.core.pool)
            .as_ref()
            .map_or(0, |p| p.current_num_threads())
    }

    fn shutdown(&self) {
        let core = &self.core;
        // Streams: refuse new opens, then close every live one.
        let ids: Vec<StreamId> = {
            let mut r = lock(&core.registry);
            r.shut = true;
            r.keys.values().copied().collect()
        };
        core.slot_freed.notify_all();
        for id in ids {
            let _ = self.close_stream(id);
        }
        // Jobs: refuse new ones, cancel all, wait for the running ones.
        core.shut.store(true, Ordering::SeqCst);
        jobs::shutdown(core);
        // The pool: drop it and wait for its threads to exit.
        drop(lock(&core.pool).take());
        let (alive, exited) = &*core.pool_alive;
        let mut n = lock(alive);
        while *n > 0 {
            n = exited.wait(n).unwrap_or_else(PoisonError::into_inner);
        }
        drop(n);
        core.events.stop();
    }
}

impl Drop for Engine {
    /// Cancels and joins everything the engine started: stream workers, jobs, the pool, the
    /// dispatcher (after delivering the events already queued).
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn slot_error(e: SlotError) -> EngineError {
    match e {
        SlotError::Stale => EngineError::StaleId,
        SlotError::InUse => EngineError::InUse,
    }
}

impl Core {
    fn pool(&self) -> Option<Arc<rayon::ThreadPool>> {
        lock(&self.pool).clone()
    }
}

/// The chunk plan of planar `track` (`channels × frames`) through `pipeline`.
fn track_plan<T: TypedSample>(
    track: &[T],
    channels: usize,
    sample_rate: u32,
    pipeline: &PipelineConfig,
    render: &crate::render::RenderConfig,
) -> Result<crate::render::ChunkPlan, EngineError> {
    if channels == 0 || track.len() % channels != 0 {
        return Err(ConfigError::InvalidChannels.into());
    }
    Ok(plan::<T>(
        track.len() / channels,
        channels,
        sample_rate,
        pipeline,
        render,
    )?)
}

/// Where a job's chunks run: inside the engine pool, rayon's parallel iterators use that pool.
fn in_pool() -> Workers {
    Workers::Global
}
