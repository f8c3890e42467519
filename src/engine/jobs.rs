//! Offline render jobs on the engine's worker pool.
//!
//! The job table (one lock) holds every job from submission until its result is taken or it is
//! released, and the key → running job map, so "is a job with this key running?" and "start
//! one" are a single step: concurrent submissions with one key start exactly one job.

use super::{lock, Core, Engine, EngineError, EngineStats, Event, EventKind, JobId};
use crate::cache::CachedSample;
use crate::pipeline::PipelineConfig;
use crate::render::{render_chunked_on, ChunkStore, RenderConfig, Watch};
use crate::typed::{Family, PerSample, TypedSample};
use crate::{Error, ProcessError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How a job ended, or that it has not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    /// Still rendering (or queued for a worker).
    Running,
    /// Finished; the result is ready.
    Done,
    /// Stopped by [`Engine::cancel_job`] (or shutdown); there is no result.
    Cancelled,
    /// Failed with this error; there is no result.
    Failed(Error),
}

/// A job's progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobProgress {
    /// Chunks finished.
    pub done: u64,
    /// Chunks in all (0 until the job has planned its work).
    pub total: u64,
    /// Where it stands.
    pub state: JobState,
}

/// Per-job settings of [`Engine::submit_render`].
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct JobOptions {
    /// Chunking (`threads` is ignored: jobs run on the engine's pool).
    pub render: RenderConfig,
    /// The job key: while a job with this key runs, another submission with it starts nothing
    /// and gets [`EngineError::AlreadyRunning`] with the running job's id.
    pub key: Option<u64>,
    /// Content id for the chunk cache (see [`super::StreamOptions::content_id`]).
    pub content_id: Option<u64>,
}

struct Samples;

impl Family for Samples {
    type Of<T: CachedSample> = Vec<T>;
}

struct Outcome {
    state: JobState,
    result: Option<PerSample<Samples>>,
}

pub(crate) struct Job {
    key: Option<u64>,
    cancel: AtomicBool,
    done: AtomicU64,
    total: AtomicU64,
    outcome: Mutex<Outcome>,
    finished: Condvar,
}

#[derive(Default)]
pub(crate) struct JobTable {
    jobs: HashMap<u64, Arc<Job>>,
    running_keys: HashMap<u64, u64>,
    /// Released jobs still stopping: they hold their place until they end.
    released_running: u64,
    next: u64,
    submitted: u64,
    running: u64,
    done: u64,
    cancelled: u64,
    failed: u64,
}

impl JobTable {
    /// Jobs counted against `max_jobs`: those in the table and released ones still stopping.
    fn held(&self) -> u64 {
        self.jobs.len() as u64 + self.released_running
    }

    pub fn fill_stats(&self, s: &mut EngineStats) {
        s.jobs_submitted = self.submitted;
        s.jobs_running = self.running;
        s.jobs_done = self.done;
        s.jobs_cancelled = self.cancelled;
        s.jobs_failed = self.failed;
        s.jobs_held = self.held();
    }
}

/// Cancels every job and waits until none runs (engine shutdown).
pub(crate) fn shutdown(core: &Core) {
    let mut t = lock(&core.jobs);
    for job in t.jobs.values() {
        job.cancel.store(true, Ordering::Relaxed);
    }
    while t.running > 0 {
        t = core
            .jobs_idle
            .wait(t)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

impl Engine {
    fn job(&self, id: JobId) -> Result<Arc<Job>, EngineError> {
        lock(&self.core.jobs)
            .jobs
            .get(&id.0)
            .cloned()
            .ok_or(EngineError::StaleId)
    }

    /// Starts an offline chunked render of planar `input` (`channels × frames`) through
    /// `pipeline` on the engine's pool, through the shared chunk cache, and returns its id.
    /// Progress and completion are also sent as events. Control path.
    ///
    /// # Errors
    /// [`EngineError::AlreadyRunning`] (with the running job's id) when a job with the same key
    /// runs; [`EngineError::Busy`] when `max_jobs` jobs are held; [`EngineError::ShutDown`];
    /// [`EngineError::Failed`] for invalid settings or input (checked before anything starts).
    pub fn submit_render<T: TypedSample>(
        &self,
        input: Arc<[T]>,
        channels: usize,
        sample_rate: u32,
        pipeline: &PipelineConfig,
        options: &JobOptions,
    ) -> Result<JobId, EngineError> {
        let core = self.core.clone();
        // A cheap early answer for duplicates (the decisive check is under the lock below).
        if let Some(running) = options.key.and_then(|k| self.running_job(k)) {
            return Err(EngineError::AlreadyRunning(running));
        }
        let store = self.store_for(
            &input,
            options.content_id,
            channels,
            sample_rate,
            pipeline,
            &options.render,
        )?;
        let pool = core.pool().ok_or(EngineError::ShutDown)?;
        let job = Arc::new(Job {
            key: options.key,
            cancel: AtomicBool::new(false),
            done: AtomicU64::new(0),
            total: AtomicU64::new(store.plan.chunks() as u64),
            outcome: Mutex::new(Outcome {
                state: JobState::Running,
                result: None,
            }),
            finished: Condvar::new(),
        });
        let id = {
            let mut t = lock(&core.jobs);
            if core.shut.load(Ordering::SeqCst) {
                return Err(EngineError::ShutDown);
            }
            if let Some(running) = options.key.and_then(|k| t.running_keys.get(&k)) {
                return Err(EngineError::AlreadyRunning(JobId(*running)));
            }
            if t.held() >= core.config.max_jobs as u64 {
                return Err(EngineError::Busy);
            }
            t.next += 1;
            let id = core.tag | t.next;
            t.jobs.insert(id, job.clone());
            if let Some(k) = options.key {
                t.running_keys.insert(k, id);
            }
            t.submitted += 1;
            t.running += 1;
            id
        };
        let (pipeline, render) = (pipeline.clone(), options.render);
        pool.spawn(move || {
            run(
                &core,
                id,
                &job,
                &input,
                channels,
                sample_rate,
                &pipeline,
                &render,
                store,
            );
        });
        Ok(JobId(id))
    }

    /// The running job with `key`, if any (it may finish right after this returns).
    pub fn running_job(&self, key: u64) -> Option<JobId> {
        lock(&self.core.jobs)
            .running_keys
            .get(&key)
            .copied()
            .map(JobId)
    }

    /// The job's progress and state. Any thread.
    ///
    /// # Errors
    /// [`EngineError::StaleId`].
    pub fn job_progress(&self, id: JobId) -> Result<JobProgress, EngineError> {
        let job = self.job(id)?;
        let state = lock(&job.outcome).state;
        Ok(JobProgress {
            done: job.done.load(Ordering::Relaxed),
            total: job.total.load(Ordering::Relaxed),
            state,
        })
    }

    /// Asks the job to stop; it ends `Cancelled` within one 4096-frame block per worker. Returns
    /// at once (use [`wait_job`](Self::wait_job) to wait). Cancelling a finished job changes
    /// nothing.
    ///
    /// # Errors
    /// [`EngineError::StaleId`].
    pub fn cancel_job(&self, id: JobId) -> Result<(), EngineError> {
        self.job(id)?.cancel.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Waits until the job has ended (`None` = no limit) and returns how it ended.
    ///
    /// # Errors
    /// [`EngineError::StaleId`]; [`EngineError::Timeout`] when it still runs at the timeout.
    pub fn wait_job(&self, id: JobId, timeout: Option<Duration>) -> Result<JobState, EngineError> {
        let job = self.job(id)?;
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut o = lock(&job.outcome);
        while o.state == JobState::Running {
            match deadline {
                None => o = job.finished.wait(o).unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(EngineError::Timeout);
                    }
                    o = job
                        .finished
                        .wait_timeout(o, d - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
        Ok(o.state)
    }

    /// Hands the finished job's planar result (same shape as its input) to `take`; when `take`
    /// succeeds, the job is removed (its id turns stale). A job that ended cancelled or failed is
    /// removed and its error returned.
    ///
    /// # Errors
    /// [`EngineError::StaleId`], [`EngineError::NotFinished`], [`EngineError::WrongFormat`]
    /// (nothing removed), `take`'s error (nothing removed), or the job's own
    /// `Failed(..)` (removed).
    pub fn take_result_with<T: TypedSample, R>(
        &self,
        id: JobId,
        take: impl FnOnce(&[T]) -> Result<R, EngineError>,
    ) -> Result<R, EngineError> {
        let mut t = lock(&self.core.jobs);
        let job = t.jobs.get(&id.0).cloned().ok_or(EngineError::StaleId)?;
        let o = lock(&job.outcome);
        let r = match (&o.state, &o.result) {
            (JobState::Running, _) => return Err(EngineError::NotFinished),
            (JobState::Done, Some(result)) => {
                let samples = result.get::<T>().ok_or(EngineError::WrongFormat)?;
                take(samples)?
            }
            (JobState::Done, None) => unreachable!("a done job keeps its result until taken"),
            (JobState::Cancelled, _) => {
                drop(o);
                t.jobs.remove(&id.0);
                return Err(ProcessError::Cancelled.into());
            }
            (JobState::Failed(e), _) => {
                let e = *e;
                drop(o);
                t.jobs.remove(&id.0);
                return Err(e.into());
            }
        };
        drop(o);
        t.jobs.remove(&id.0);
        Ok(r)
    }

    /// [`take_result_with`](Self::take_result_with) returning the samples.
    ///
    /// # Errors
    /// As [`take_result_with`](Self::take_result_with).
    pub fn take_result<T: TypedSample>(&self, id: JobId) -> Result<Vec<T>, EngineError> {
        self.take_result_with(id, |x: &[T]| Ok(x.to_vec()))
    }

    /// Forgets a job: cancels it if it runs and removes it (its id turns stale; a running job
    /// stops within one block and its result is discarded).
    ///
    /// # Errors
    /// [`EngineError::StaleId`].
    pub fn release_job(&self, id: JobId) -> Result<(), EngineError> {
        let mut t = lock(&self.core.jobs);
        let job = t.jobs.remove(&id.0).ok_or(EngineError::StaleId)?;
        job.cancel.store(true, Ordering::Relaxed);
        if lock(&job.outcome).state == JobState::Running {
            t.released_running += 1;
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn run<T: TypedSample>(
    core: &Core,
    id: u64,
    job: &Job,
    input: &[T],
    channels: usize,
    sample_rate: u32,
    pipeline: &PipelineConfig,
    render: &RenderConfig,
    store: super::TrackStore,
) {
    let key = job.key.unwrap_or(0);
    let report = |done: usize, total: usize| {
        job.done.store(done as u64, Ordering::Relaxed);
        job.total.store(total as u64, Ordering::Relaxed);
        let mut e = Event::new(EventKind::JobProgress, id, key);
        (e.done, e.total) = (done as u64, total as u64);
        core.events.emit(e);
    };
    let mut output = Vec::new();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        output = crate::memory::try_filled(T::zero(), input.len())?;
        render_chunked_on(
            input,
            channels,
            sample_rate,
            pipeline,
            render,
            &mut output,
            Watch {
                progress: Some(&report),
                cancel: Some(&job.cancel),
            },
            &super::in_pool(),
            Some(&store as &dyn ChunkStore<T>),
        )
    }));
    let state = match outcome {
        Ok(Ok(())) => JobState::Done,
        Ok(Err(Error::Process(ProcessError::Cancelled))) => JobState::Cancelled,
        Ok(Err(e)) => JobState::Failed(e),
        Err(_) => JobState::Failed(Error::Process(ProcessError::Panicked)),
    };
    {
        let mut t = lock(&core.jobs);
        t.running -= 1;
        if !t.jobs.contains_key(&id) {
            t.released_running -= 1;
        }
        match state {
            JobState::Done => t.done += 1,
            JobState::Cancelled => t.cancelled += 1,
            _ => t.failed += 1,
        }
        if let Some(k) = job.key {
            if t.running_keys.get(&k) == Some(&id) {
                t.running_keys.remove(&k);
            }
        }
        // Emitted before the final state is visible (to waiters, or a new job with this key),
        // so a host that waited for the job and then flushes the events has seen it. A callback
        // reacting to it reaches the job only through the job lock held here, so it sees the
        // final state.
        let mut e = Event::new(EventKind::JobFinished, id, key);
        e.outcome = Some(state);
        core.events.emit(e);
        let mut o = lock(&job.outcome);
        o.state = state;
        if state == JobState::Done {
            o.result = Some(PerSample::new::<T>(output));
        }
    }
    job.finished.notify_all();
    core.jobs_idle.notify_all();
}
