//! Offline chunk-parallel rendering.
//!
//! A track of `T` frames is cut into cores of `C` frames. Chunk `k` is rendered by its own fresh
//! pipeline, primed with `P` frames of context before its core (zeros before the track start),
//! and run `X` frames past its core (the crossfade tail) plus the pipeline latency, which is then
//! removed. Consecutive chunks overlap by `X` frames at each seam, where the outgoing chunk's tail
//! fades out and the incoming chunk's head fades in (equal-gain by default, so identical material
//! joins exactly). The output has exactly `T` frames; every input frame lands once.
//!
//! For a linear time-invariant pipeline (EQ only) with `P` at least the EQ's settle time, both
//! sides of a seam are the same signal and chunking is invisible. Chunks are independent, so the
//! result is bit-identical for any thread count and completion order.

use crate::cache::CachedSample;
use crate::dsp::crossfade::FadeCurve;
use crate::pipeline::{Pipeline, PipelineConfig, Processor};
use crate::workers::Workers;
use crate::{ConfigError, Error, ProcessError};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Frames fed to a chunk's pipeline per call.
const BLOCK: usize = 4096;

/// How to cut and join.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RenderConfig {
    /// Core length of a chunk, seconds (> 0). Default 15.
    pub chunk_seconds: f64,
    /// Context rendered before each core and discarded, seconds (≥ 0); `None` = what the
    /// pipeline needs to settle ([`Pipeline::settle_frames`]).
    pub context_seconds: Option<f64>,
    /// Crossfade length at each seam, seconds (≥ 0). Default 0.05.
    pub crossfade_seconds: f64,
    /// Crossfade shape. Default equal-gain.
    pub curve: FadeCurve,
    /// `0` = all cores, `1` = the caller's thread, `n` = a shared pool of `n` threads.
    pub threads: usize,
}

impl Default for RenderConfig {
    fn default() -> Self {
        Self {
            chunk_seconds: 15.0,
            context_seconds: None,
            crossfade_seconds: 0.05,
            curve: FadeCurve::EqualGain,
            threads: 0,
        }
    }
}

/// Chunk geometry in frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkPlan {
    /// Track length.
    pub total: usize,
    /// Core length.
    pub chunk: usize,
    /// Context before each core.
    pub context: usize,
    /// Crossfade at each seam.
    pub crossfade: usize,
    /// The pipeline's latency (trimmed from each chunk's rendered output).
    pub latency: usize,
}

impl ChunkPlan {
    /// Number of chunks (0 for an empty track).
    pub fn chunks(&self) -> usize {
        self.total.div_ceil(self.chunk)
    }

    /// The core `[start, end)` of chunk `k`.
    pub fn core(&self, k: usize) -> (usize, usize) {
        (k * self.chunk, ((k + 1) * self.chunk).min(self.total))
    }

    /// The crossfade length of the seam at the start of chunk `k` (0 for the first chunk; never
    /// longer than that chunk's core).
    pub fn seam(&self, k: usize) -> usize {
        if k == 0 || k >= self.chunks() {
            return 0;
        }
        let (a, b) = self.core(k);
        self.crossfade.min(b - a)
    }

    /// Frames a pipeline processes for chunk `k` with `latency`: context, core, tail, latency.
    pub fn work(&self, k: usize, latency: usize) -> usize {
        let (a, b) = self.core(k);
        self.context + (b - a) + self.seam(k + 1) + latency
    }
}

/// Rendered chunks kept between renders of the same track with the same settings (the engine's
/// shared chunk cache implements it), so a seek, a second listener or a re-render reuses them.
///
/// A stored chunk is the chunk's whole unfaded output, planar: for each channel, its core
/// followed by the tail that overlaps the next chunk. Implementations must be safe to call from
/// many threads at once and must only ever return complete chunks.
pub trait ChunkStore<T>: Send + Sync {
    /// The stored output of chunk `k`, if present.
    fn get(&self, k: usize) -> Option<Arc<[T]>>;
    /// Offers the finished output of chunk `k` for storage (the store may decline).
    fn put(&self, k: usize, rendered: Arc<[T]>);
}

/// One chunk's rendering: a fresh pipeline primed with the chunk's context, run through its core
/// and the tail that overlaps the next chunk, with the pipeline latency removed.
pub(crate) struct ChunkJob<'a, T: CachedSample> {
    pub input: &'a [T],
    pub channels: usize,
    pub sample_rate: u32,
    pub pipeline: &'a PipelineConfig,
    pub plan: &'a ChunkPlan,
    pub latency: usize,
    /// Where finished chunks are looked up before rendering and kept after.
    pub store: Option<&'a dyn ChunkStore<T>>,
}

impl<T: CachedSample> ChunkJob<'_, T> {
    /// As [`render`](Self::render), but through the job's [`ChunkStore`] when it has one: a
    /// stored chunk is emitted without rendering; a rendered one is stored whole (never when
    /// cancelled). Without a store this is `render`.
    pub fn render_stored(
        &self,
        k: usize,
        cancelled: &dyn Fn() -> bool,
        mut emit: impl FnMut(usize, usize, &[T]),
    ) -> Result<(), Error> {
        let Some(store) = self.store else {
            return self.render(k, cancelled, emit);
        };
        let (a, b) = self.plan.core(k);
        let n = b - a + self.plan.seam(k + 1);
        let whole = match store.get(k) {
            Some(whole) if whole.len() == n * self.channels => whole,
            _ => {
                let mut whole = vec![T::zero(); n * self.channels];
                self.render(k, cancelled, |local, c, run| {
                    let end = (local + run.len()).min(n);
                    if local < end {
                        whole[c * n + local..c * n + end].copy_from_slice(&run[..end - local]);
                    }
                })?;
                let whole: Arc<[T]> = Arc::from(whole);
                store.put(k, whole.clone());
                whole
            }
        };
        for (c, run) in whole.chunks_exact(n.max(1)).enumerate().take(self.channels) {
            emit(0, c, run);
        }
        Ok(())
    }

    /// Renders chunk `k`, handing its output (core and tail, unfaded) to
    /// `emit(first_frame_from_core_start, channel, samples)` in contiguous runs, channel by
    /// channel. Asks `cancelled()` between blocks.
    pub fn render(
        &self,
        k: usize,
        cancelled: &dyn Fn() -> bool,
        mut emit: impl FnMut(usize, usize, &[T]),
    ) -> Result<(), Error> {
        if cancelled() {
            return Err(ProcessError::Cancelled.into());
        }
        let channels = self.channels;
        let total = self.input.len() / channels;
        let mut p = Pipeline::<T>::new(self.sample_rate, channels, BLOCK, self.pipeline)?;
        let (a, _) = self.plan.core(k);
        let start = a as isize - self.plan.context as isize;
        let work = self.plan.work(k, self.latency);
        let skip = self.plan.context + self.latency;
        let mut inb = vec![T::zero(); channels * BLOCK];
        let mut outb = vec![T::zero(); channels * BLOCK];
        let mut pos = 0;
        while pos < work {
            if cancelled() {
                return Err(ProcessError::Cancelled.into());
            }
            let n = BLOCK.min(work - pos);
            // Input frames [s, s + n) of the track, zeros outside it.
            let s = start + pos as isize;
            let lo = (-s).clamp(0, n as isize) as usize;
            let hi = (total as isize - s).clamp(lo as isize, n as isize) as usize;
            for c in 0..channels {
                let block = &mut inb[c * n..(c + 1) * n];
                block[..lo].fill(T::zero());
                if hi > lo {
                    let from = c * total + (s + lo as isize) as usize;
                    block[lo..hi].copy_from_slice(&self.input[from..from + hi - lo]);
                }
                block[hi..].fill(T::zero());
            }
            p.process(&inb[..channels * n], &mut outb[..channels * n])?;
            if pos + n > skip {
                let first = skip.saturating_sub(pos);
                for c in 0..channels {
                    emit(pos + first - skip, c, &outb[c * n + first..(c + 1) * n]);
                }
            }
            pos += n;
        }
        Ok(())
    }
}

/// The shape checks of the whole-track entry points: at least one channel, `input_len` a whole
/// number of frames, an output at least as long.
///
/// # Errors
/// [`ProcessError::NoChannels`], [`ProcessError::InputShape`], [`ProcessError::OutputTooSmall`].
pub(crate) fn check_buffers(
    input_len: usize,
    channels: usize,
    output_len: usize,
) -> Result<(), ProcessError> {
    if channels == 0 {
        return Err(ProcessError::NoChannels);
    }
    if input_len % channels != 0 {
        return Err(ProcessError::InputShape);
    }
    if output_len < input_len {
        return Err(ProcessError::OutputTooSmall);
    }
    Ok(())
}

fn seconds_to_frames(seconds: f64, sample_rate: u32) -> Result<usize, ConfigError> {
    if !(0.0..=86_400.0).contains(&seconds) {
        return Err(ConfigError::InvalidChunk);
    }
    Ok((seconds * sample_rate as f64).round() as usize)
}

/// Checks everything the settings alone decide, without building anything: the pipeline's
/// ranges ([`PipelineConfig::validate`]) and the chunk geometry in frames — chunk, crossfade and
/// the given context (`None`: the pipeline's settle time, checked by [`plan`]).
///
/// # Errors
/// [`ConfigError::InvalidSampleRate`], [`ConfigError::InvalidChunk`], the pipeline's errors.
pub(crate) fn check_settings(
    sample_rate: u32,
    channels: usize,
    pipeline: &PipelineConfig,
    config: &RenderConfig,
) -> Result<(usize, usize, Option<usize>), ConfigError> {
    if sample_rate == 0 {
        return Err(ConfigError::InvalidSampleRate);
    }
    let chunk = seconds_to_frames(config.chunk_seconds, sample_rate)?;
    let crossfade = seconds_to_frames(config.crossfade_seconds, sample_rate)?;
    let context = config
        .context_seconds
        .map(|s| seconds_to_frames(s, sample_rate))
        .transpose()?;
    pipeline.validate(sample_rate, channels, BLOCK)?;
    if chunk == 0 || chunk <= context.unwrap_or(0) + crossfade {
        return Err(ConfigError::InvalidChunk);
    }
    Ok((chunk, crossfade, context))
}

/// Works out the chunk geometry for a track of `total` frames. Builds the pipeline once (which
/// checks its settings) for its latency and, when no context is given, its settle time.
///
/// # Errors
/// [`ConfigError::InvalidChunk`] for non-finite or negative durations, a zero chunk, or a chunk
/// not longer than context + crossfade; errors of [`Pipeline::new`].
pub fn plan<T: CachedSample>(
    total: usize,
    channels: usize,
    sample_rate: u32,
    pipeline: &PipelineConfig,
    config: &RenderConfig,
) -> Result<ChunkPlan, ConfigError> {
    let (chunk, crossfade, context) = check_settings(sample_rate, channels, pipeline, config)?;
    let probe = Pipeline::<T>::new(sample_rate, channels, BLOCK, pipeline)?;
    let context = context.unwrap_or_else(|| probe.settle_frames());
    if chunk == 0 || chunk <= context + crossfade {
        return Err(ConfigError::InvalidChunk);
    }
    Ok(ChunkPlan {
        total,
        chunk,
        context,
        crossfade,
        latency: probe.latency_frames(),
    })
}

/// Progress reporting and cancellation for a long-running render.
#[derive(Clone, Copy, Default)]
pub struct Watch<'a> {
    /// Called as `progress(done, total)` after each finished chunk, one call at a time, `done`
    /// strictly increasing.
    pub progress: Option<&'a (dyn Fn(usize, usize) + Sync)>,
    /// Set it (from any thread) to stop the render promptly.
    pub cancel: Option<&'a AtomicBool>,
}

/// The level settings of `pipeline` when its level stage runs in
/// [`LevelMode::Integrated`](crate::dsp::level::LevelMode::Integrated) (enabled, not bypassed).
pub fn integrated_level(pipeline: &PipelineConfig) -> Option<crate::dsp::level::LevelSettings> {
    pipeline.level.filter(|l| {
        l.mode == crate::dsp::level::LevelMode::Integrated
            && !pipeline.start_bypassed[crate::pipeline::Stage::Level as usize]
    })
}

/// Renders planar `input` (`channels × T`) through fresh pipelines built from `pipeline`, chunk
/// by chunk in parallel, into `output[.. input.len()]`. With a level stage in
/// [`LevelMode::Integrated`](crate::dsp::level::LevelMode::Integrated) (the default) the track is
/// normalised instead ([`normalize_on`](super::normalize::normalize_on)): EQ chunk-parallel,
/// one static gain to the target, the limiter in one pass — the output lands within 0.1 LU of
/// the target with no seams (the report is dropped; call `normalize` for it). Cancelling through `watch` makes the
/// call return [`ProcessError::Cancelled`] promptly (checked between 4096-frame blocks), with
/// its workers joined and no further progress reported. An empty track renders nothing.
///
/// # Errors
/// Invalid configuration ([`Error::Config`]); zero channels, input not a multiple of `channels`,
/// output too small, or cancellation ([`Error::Process`]).
pub fn render_chunked<T: CachedSample>(
    input: &[T],
    channels: usize,
    sample_rate: u32,
    pipeline: &PipelineConfig,
    config: &RenderConfig,
    output: &mut [T],
    watch: Watch<'_>,
) -> Result<(), Error> {
    let workers = Workers::from_count(config.threads)?;
    render_chunked_on(
        input,
        channels,
        sample_rate,
        pipeline,
        config,
        output,
        watch,
        &workers,
        None,
    )
}

/// [`render_chunked`] on the given `workers` (`config.threads` is ignored), looking chunks up in
/// `store` before rendering them and storing the ones it renders.
///
/// # Errors
/// As [`render_chunked`].
#[allow(clippy::too_many_arguments)]
pub fn render_chunked_on<T: CachedSample>(
    input: &[T],
    channels: usize,
    sample_rate: u32,
    pipeline: &PipelineConfig,
    config: &RenderConfig,
    output: &mut [T],
    watch: Watch<'_>,
    workers: &Workers,
    store: Option<&dyn ChunkStore<T>>,
) -> Result<(), Error> {
    let Watch { progress, cancel } = watch;
    check_buffers(input.len(), channels, output.len())?;
    let total = input.len() / channels;
    // Also fails fast on pipeline errors before any work starts.
    let plan = plan::<T>(total, channels, sample_rate, pipeline, config)?;
    if let Some(level) = integrated_level(pipeline) {
        // The whole track is here: one static gain from its integrated loudness, then the
        // limiter in one pass (seam-free).
        super::normalize::normalize_on(
            input,
            channels,
            sample_rate,
            level.target_lufs,
            pipeline,
            config,
            output,
            watch,
            workers,
        )?;
        return Ok(());
    }
    let latency = plan.latency;
    let chunks = plan.chunks();
    if chunks == 0 {
        return Ok(());
    }
    let cancelled = || cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    let done = Mutex::new(0usize);
    let curve = config.curve;

    // Output pieces per chunk: for every channel, the chunk's core.
    let mut pieces: Vec<Vec<&mut [T]>> =
        (0..chunks).map(|_| Vec::with_capacity(channels)).collect();
    for channel_out in output[..input.len()].chunks_mut(total) {
        for (k, piece) in channel_out.chunks_mut(plan.chunk).enumerate() {
            pieces[k].push(piece);
        }
    }

    // Renders chunk k into its core (head faded in) and returns its faded-out tail.
    let render = |k: usize, cores: &mut Vec<&mut [T]>| -> Result<Vec<T>, Error> {
        let (a, b) = plan.core(k);
        let (head, tail_len) = (plan.seam(k), plan.seam(k + 1));
        let mut tail = vec![T::zero(); channels * tail_len];
        let job = ChunkJob {
            input,
            channels,
            sample_rate,
            pipeline,
            plan: &plan,
            latency,
            store,
        };
        let core_len = b - a;
        job.render_stored(k, &cancelled, |local, c, run| {
            // Core part, with the head fading in over the seam.
            let core_end = (local + run.len()).min(core_len);
            if local < core_end {
                let dst = &mut cores[c][local..core_end];
                dst.copy_from_slice(&run[..core_end - local]);
                for (i, v) in dst.iter_mut().enumerate().take(head.saturating_sub(local)) {
                    *v = *v * T::of_f64(curve.gains(local + i, head).0);
                }
            }
            // Tail part, faded out, kept for the next chunk's head.
            let t0 = local.max(core_len) - core_len;
            let skip = core_len.saturating_sub(local);
            for (i, &y) in run.iter().skip(skip).enumerate() {
                let t = t0 + i;
                if t >= tail_len {
                    break;
                }
                tail[c * tail_len + t] = y * T::of_f64(curve.gains(t, tail_len).1);
            }
        })?;
        if let Some(report) = progress {
            if !cancelled() {
                let mut done = done.lock().unwrap_or_else(PoisonError::into_inner);
                *done += 1;
                report(*done, chunks);
            }
        }
        Ok(tail)
    };
    let tails: Vec<Result<Vec<T>, Error>> = if let Workers::Caller = workers {
        pieces
            .iter_mut()
            .enumerate()
            .map(|(k, cores)| render(k, cores))
            .collect()
    } else {
        workers.install(|| {
            pieces
                .par_iter_mut()
                .enumerate()
                .map(|(k, cores)| render(k, cores))
                .collect()
        })
    };
    drop(pieces);
    let tails = tails.into_iter().collect::<Result<Vec<_>, _>>()?;
    if cancelled() {
        return Err(ProcessError::Cancelled.into());
    }
    // Join: add each chunk's faded-out tail onto the next chunk's faded-in head.
    for (k, tail) in tails.iter().enumerate().take(chunks - 1) {
        let len = plan.seam(k + 1);
        let (a, _) = plan.core(k + 1);
        for c in 0..channels {
            for (o, &t) in output[c * total + a..c * total + a + len]
                .iter_mut()
                .zip(&tail[c * len..(c + 1) * len])
            {
                *o = *o + t;
            }
        }
    }
    Ok(())
}
