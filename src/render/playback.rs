//! A prefetching playback stream with seek.
//!
//! A worker thread renders the track chunk by chunk ahead of the listener (at most
//! `lookahead_chunks` chunks, so memory stays bounded whatever the track length) into packets
//! from a preallocated pool, and hands them to the audio side through a wait-free SPSC ring
//! (rtrb). Each chunk's crossfade tail goes through the [`TailBuffer`](super::tail) and is
//! committed only after the chunk's packet was accepted by the ring; the audio side takes the
//! tail when it starts the next chunk and crossfades its head. Finished packets go back to the
//! worker through a second ring, so the audio side never allocates or frees.
//!
//! [`PlaybackReader::read`] (the audio side) never blocks: on underrun it outputs silence, counts
//! it and resumes when data arrives. [`PlaybackControl::seek`] bumps a generation: the audio side
//! fades the old position out over `seek_fade_ms`, drops everything of the old generation (its
//! packets and tails), and fades the new position in; the worker restarts at the chunk holding
//! the target with that chunk's usual context, so after a seek the output equals the sequential
//! render at that position (LTI pipelines, away from the fades).

use super::chunked::{plan, ChunkJob, ChunkPlan, ChunkStore, RenderConfig};
use super::normalize::{resolve_track_gain, NormalizeReport};
use super::tail::{tail_buffer, TailConsumer, TailProducer};
use crate::cache::CachedSample;
use crate::pipeline::PipelineConfig;
use crate::workers::Workers;
use crate::{ConfigError, Error};
use rtrb::{Consumer, Producer, RingBuffer};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Largest `lookahead_chunks`: each chunk of lookahead is a packet allocated at open.
pub const MAX_LOOKAHEAD_CHUNKS: usize = 1024;

/// Playback settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlaybackConfig {
    /// Chunking (chunk, context, crossfade, curve). One worker renders; `threads` is used only
    /// by the measurement at open in integrated mode (0 = all cores).
    pub render: RenderConfig,
    /// Chunks rendered ahead of the listener (1–[`MAX_LOOKAHEAD_CHUNKS`]). Default 2.
    pub lookahead_chunks: usize,
    /// Fade-out / fade-in time around a seek, ms (0–1000). Default 5.
    pub seek_fade_ms: f64,
}

impl Default for PlaybackConfig {
    fn default() -> Self {
        Self {
            render: RenderConfig::default(),
            lookahead_chunks: 2,
            seek_fade_ms: 5.0,
        }
    }
}

/// Counters of a stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlaybackStats {
    /// Frames handed to the listener (silence included).
    pub frames_read: u64,
    /// Frames of silence output because no rendered data was ready.
    pub underrun_frames: u64,
    /// Seeks requested.
    pub seeks: u64,
    /// Chunks rendered by the worker.
    pub chunks_rendered: u64,
    /// Track position (frame) of the next frame the listener will get.
    pub position: u64,
}

struct Shared {
    generation: AtomicU32,
    seek_frame: AtomicU64,
    stop: AtomicBool,
    frames_read: AtomicU64,
    underruns: AtomicU64,
    seeks: AtomicU64,
    chunks: AtomicU64,
    position: AtomicU64,
}

struct Packet<T> {
    generation: u32,
    chunk: u32,
    /// Track frame of the packet's first frame.
    start: usize,
    /// Frames in `samples` (interleaved).
    frames: usize,
    /// Frames from the chunk's core start to the packet's first frame (after a seek).
    offset: usize,
    samples: Vec<T>,
}

/// The listener's side: `Send`, used by one (audio) thread.
pub struct PlaybackReader<T: CachedSample> {
    shared: Arc<Shared>,
    full: Consumer<Packet<T>>,
    free: Producer<Packet<T>>,
    tails: TailConsumer<T>,
    current: Option<Packet<T>>,
    read_pos: usize,
    /// The tail for the current packet's head, interleaved, and its length in frames.
    tail: Vec<T>,
    tail_frames: usize,
    channels: usize,
    crossfade: usize,
    curve: crate::dsp::crossfade::FadeCurve,
    generation: u32,
    /// Frames of a seek fade (0 = no fade).
    fade_len: usize,
    /// The output gain is `fade_pos / fade_len`: it falls to 0 while a seek is pending (then the
    /// new position starts) and rises back; a seek during a fade-in fades out from there.
    fade_pos: usize,
    /// Whether any frame was delivered yet: a seek before the first one has nothing heard to
    /// fade out, so it starts the new position at once.
    delivered_any: bool,
}

/// The controlling side: `Send + Sync`; seeks, reads statistics, stops the worker.
pub struct PlaybackControl {
    shared: Arc<Shared>,
    total: usize,
    sample_rate: u32,
    worker: Option<JoinHandle<()>>,
    normalization: Option<NormalizeReport>,
}

/// Opens a stream over planar `track` (`channels × len`) rendered through `pipeline`. Returns
/// the reader for the audio thread and the control handle; dropping the control stops and joins
/// the worker.
///
/// With a level stage in [`LevelMode::Integrated`](crate::dsp::level::LevelMode::Integrated)
/// (the default) the whole track is normalised first, before this returns
/// ([`resolve_track_gain`], on `config.render.threads`): the stream plays at that static gain
/// under the limiter and lands on the target like [`normalize`](super::normalize::normalize);
/// [`PlaybackControl::normalization`] reports it. That costs about as much as rendering the
/// track once (see the README's figures); the momentary leveller needs no measurement.
///
/// # Errors
/// Invalid geometry or pipeline settings, or zero channels / a track that is not a whole number
/// of frames; in integrated mode, what [`resolve_track_gain`] refuses (non-finite samples, a
/// sample rate the meter does not take).
pub fn open<T: CachedSample>(
    track: Arc<[T]>,
    channels: usize,
    sample_rate: u32,
    pipeline: PipelineConfig,
    config: PlaybackConfig,
) -> Result<(PlaybackReader<T>, PlaybackControl), Error> {
    open_with_store(track, channels, sample_rate, pipeline, config, None)
}

/// [`open`], with the worker looking chunks up in `store` before rendering them and storing the
/// ones it renders (so streams of the same track and settings share their work).
///
/// # Errors
/// As [`open`].
pub fn open_with_store<T: CachedSample>(
    track: Arc<[T]>,
    channels: usize,
    sample_rate: u32,
    pipeline: PipelineConfig,
    config: PlaybackConfig,
    store: Option<Arc<dyn ChunkStore<T>>>,
) -> Result<(PlaybackReader<T>, PlaybackControl), Error> {
    check_config(&config)?;
    let workers = Workers::from_count(config.render.threads)?;
    let (pipeline, report) = resolve_track_gain(
        &track,
        channels,
        sample_rate,
        &pipeline,
        &config.render,
        &workers,
    )?;
    open_resolved(
        track,
        channels,
        sample_rate,
        pipeline,
        config,
        store,
        report,
    )
}

fn check_config(config: &PlaybackConfig) -> Result<(), ConfigError> {
    if !(0.0..=1000.0).contains(&config.seek_fade_ms)
        || !(1..=MAX_LOOKAHEAD_CHUNKS).contains(&config.lookahead_chunks)
    {
        return Err(ConfigError::InvalidTime);
    }
    Ok(())
}

/// [`open_with_store`] for a pipeline whose track gain was already resolved (by the engine,
/// which keys its cache by the resolved settings); `normalization` is what resolving reported.
pub(crate) fn open_resolved<T: CachedSample>(
    track: Arc<[T]>,
    channels: usize,
    sample_rate: u32,
    pipeline: PipelineConfig,
    config: PlaybackConfig,
    store: Option<Arc<dyn ChunkStore<T>>>,
    normalization: Option<NormalizeReport>,
) -> Result<(PlaybackReader<T>, PlaybackControl), Error> {
    if channels == 0 || track.len() % channels != 0 {
        return Err(ConfigError::InvalidChannels.into());
    }
    check_config(&config)?;
    let total = track.len() / channels;
    let plan = plan::<T>(total, channels, sample_rate, &pipeline, &config.render)?;
    // A packet holds at most one chunk's core and a tail at most one seam, and neither is ever
    // longer than the track: size them by the track, not by the (possibly huge) durations asked
    // for, so a long chunk_seconds on a short track cannot exhaust memory.
    let packet_frames = plan.chunk.min(total);
    let tail_frames = plan.crossfade.min(total);
    let latency = plan.latency;
    let slots = config.lookahead_chunks + 1;
    let (mut free_tx, free_rx) = RingBuffer::<Packet<T>>::new(slots + 1);
    let (full_tx, full_rx) = RingBuffer::<Packet<T>>::new(slots + 1);
    for _ in 0..slots {
        let packet = Packet {
            generation: 0,
            chunk: 0,
            start: 0,
            frames: 0,
            offset: 0,
            samples: Vec::with_capacity(packet_frames * channels),
        };
        if free_tx.push(packet).is_err() {
            unreachable!("the free ring holds every packet");
        }
    }
    let (tail_tx, tail_rx) = tail_buffer::<T>(slots + 1, tail_frames * channels);
    let shared = Arc::new(Shared {
        generation: AtomicU32::new(0),
        seek_frame: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        frames_read: AtomicU64::new(0),
        underruns: AtomicU64::new(0),
        seeks: AtomicU64::new(0),
        chunks: AtomicU64::new(0),
        position: AtomicU64::new(0),
    });
    let worker = {
        let shared = shared.clone();
        let mut worker = Worker {
            shared: shared.clone(),
            track,
            channels,
            sample_rate,
            pipeline,
            plan,
            latency,
            free: free_rx,
            full: full_tx,
            tails: tail_tx,
            spare: None,
            store,
            idle_period: idle_period(plan.chunk, sample_rate),
        };
        std::thread::Builder::new()
            .name("tonecore-playback".into())
            .spawn(move || worker.run())
            .map_err(|_| ConfigError::ThreadPool)?
    };
    let fade_len = (config.seek_fade_ms * 1e-3 * sample_rate as f64).round() as usize;
    let reader = PlaybackReader {
        shared: shared.clone(),
        full: full_rx,
        free: free_tx,
        tails: tail_rx,
        current: None,
        read_pos: 0,
        tail: vec![T::zero(); tail_frames * channels],
        tail_frames: 0,
        channels,
        crossfade: plan.crossfade,
        curve: config.render.curve,
        generation: 0,
        fade_len,
        fade_pos: fade_len,
        delivered_any: false,
    };
    let control = PlaybackControl {
        shared,
        total,
        sample_rate,
        worker: Some(worker),
        normalization,
    };
    Ok((reader, control))
}

/// The worker's longest idle wait: an eighth of a chunk, within 0.5–20 ms.
fn idle_period(chunk_frames: usize, sample_rate: u32) -> Duration {
    let eighth = chunk_frames as f64 / sample_rate.max(1) as f64 / 8.0;
    Duration::from_secs_f64(eighth.clamp(0.0005, 0.020))
}

struct Worker<T: CachedSample> {
    shared: Arc<Shared>,
    track: Arc<[T]>,
    channels: usize,
    sample_rate: u32,
    pipeline: PipelineConfig,
    plan: ChunkPlan,
    latency: usize,
    free: Consumer<Packet<T>>,
    full: Producer<Packet<T>>,
    tails: TailProducer<T>,
    /// A packet the worker holds back (its chunk was superseded by a seek); used next.
    spare: Option<Packet<T>>,
    store: Option<Arc<dyn ChunkStore<T>>>,
    idle_period: Duration,
}

impl<T: CachedSample> Worker<T> {
    /// Waits for the reader to free a packet or tail, or for a seek or stop (which unpark the
    /// worker at once). The reader is real-time and never wakes anyone, so a freed packet is
    /// seen after at most `idle_period`: an eighth of a chunk (at least 0.5 ms, at most 20 ms),
    /// well inside the lookahead the reader still holds. Parking rather than polling keeps
    /// hundreds of idle streams from costing a core in wake-ups.
    fn idle(&self) {
        std::thread::park_timeout(self.idle_period);
    }

    fn stopped_or_moved(&self, generation: u32) -> bool {
        self.shared.stop.load(Ordering::Acquire)
            || self.shared.generation.load(Ordering::Acquire) != generation
    }

    fn run(&mut self) {
        let mut generation = u32::MAX;
        let (mut chunk, mut offset) = (0usize, 0usize);
        let channels = self.channels;
        let mut tail = vec![T::zero(); self.plan.crossfade.min(self.plan.total) * channels];
        while !self.shared.stop.load(Ordering::Acquire) {
            let g = self.shared.generation.load(Ordering::Acquire);
            if g != generation {
                generation = g;
                let target = self.shared.seek_frame.load(Ordering::Acquire) as usize;
                chunk = target / self.plan.chunk;
                offset = target % self.plan.chunk;
            }
            if chunk >= self.plan.chunks() {
                self.idle();
                continue;
            }
            let Some(mut packet) = self.spare.take().or_else(|| self.free.pop().ok()) else {
                self.idle();
                continue;
            };
            let (a, b) = self.plan.core(chunk);
            let frames = b - a - offset;
            let tail_len = self.plan.seam(chunk + 1);
            packet.samples.clear();
            packet.samples.resize(frames * channels, T::zero());
            let job = ChunkJob {
                input: &self.track,
                channels,
                sample_rate: self.sample_rate,
                pipeline: &self.pipeline,
                plan: &self.plan,
                latency: self.latency,
                store: self.store.as_deref(),
            };
            let shared = &self.shared;
            let moved = || {
                shared.stop.load(Ordering::Acquire)
                    || shared.generation.load(Ordering::Acquire) != generation
            };
            let samples = &mut packet.samples;
            let rendered = job.render_stored(chunk, &moved, |local, c, run| {
                for (i, &y) in run.iter().enumerate() {
                    let at = local + i;
                    if at < b - a {
                        if at >= offset {
                            samples[(at - offset) * channels + c] = y;
                        }
                    } else if at - (b - a) < tail_len {
                        tail[(at - (b - a)) * channels + c] = y;
                    } else {
                        break;
                    }
                }
            });
            if rendered.is_err() || self.stopped_or_moved(generation) {
                self.spare = Some(packet);
                continue;
            }
            packet.generation = generation;
            packet.chunk = chunk as u32;
            packet.start = a + offset;
            packet.frames = frames;
            packet.offset = offset;
            if !self.deliver(packet, generation) {
                continue;
            }
            self.shared.chunks.fetch_add(1, Ordering::Relaxed);
            // The tail is committed only now that its chunk was accepted by the ring.
            while tail_len > 0 && !self.stopped_or_moved(generation) {
                if let Some(mut w) = self.tails.reserve(generation, chunk as u32) {
                    w.write(&tail[..tail_len * channels]);
                    w.commit();
                    break;
                }
                self.idle();
            }
            chunk += 1;
            offset = 0;
        }
    }

    /// Pushes `packet` to the listener, waiting for room while the stream stays at
    /// `generation`. Returns whether it was delivered (otherwise the worker keeps it).
    fn deliver(&mut self, mut packet: Packet<T>, generation: u32) -> bool {
        loop {
            match self.full.push(packet) {
                Ok(()) => return true,
                Err(rtrb::PushError::Full(p)) => packet = p,
            }
            if self.stopped_or_moved(generation) {
                self.spare = Some(packet);
                return false;
            }
            self.idle();
        }
    }
}

impl<T: CachedSample> PlaybackReader<T> {
    /// Channels of the interleaved output.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Fills interleaved `out` (`channels × frames`) with the next frames and returns how many
    /// came from the track. Never blocks: once no rendered data is ready, the rest of `out` is
    /// silence (counted as underrun frames; playback resumes with the next call that finds
    /// data). Real-time safe (no allocation, lock or free; a bounded number of ring operations).
    pub fn read(&mut self, out: &mut [T]) -> usize {
        let channels = self.channels;
        let frames = out.len() / channels;
        let mut underruns = 0u64;
        let mut delivered = 0;
        let wanted = self.shared.generation.load(Ordering::Acquire);
        for frame in out.chunks_exact_mut(channels).take(frames) {
            // A seek: once the old position has faded out (or has nothing left to fade), start
            // the new one.
            if wanted != self.generation
                && (self.fade_pos == 0 || !self.delivered_any || !self.old_data_left())
            {
                self.switch_generation(wanted);
            }
            if underruns > 0 || !self.ensure_packet() {
                frame.fill(T::zero());
                underruns += 1;
                continue;
            }
            delivered += 1;
            self.delivered_any = true;
            let Some(packet) = self.current.as_ref() else {
                continue;
            };
            let pos = self.read_pos;
            let src = &packet.samples[pos * channels..(pos + 1) * channels];
            let core_pos = packet.offset + pos;
            let head =
                (core_pos < self.tail_frames).then(|| self.curve.gains(core_pos, self.tail_frames));
            if wanted != self.generation {
                self.fade_pos = self.fade_pos.saturating_sub(1);
            } else if self.fade_pos < self.fade_len {
                self.fade_pos += 1;
            }
            let full = self.fade_pos == self.fade_len;
            let g = T::of_f64(self.fade_pos as f64 / self.fade_len.max(1) as f64);
            for (c, o) in frame.iter_mut().enumerate() {
                let mut v = src[c];
                if let Some((fade_in, fade_out)) = head {
                    v = v * T::of_f64(fade_in)
                        + self.tail[core_pos * channels + c] * T::of_f64(fade_out);
                }
                *o = if full { v } else { v * g };
            }
            self.read_pos += 1;
            self.shared
                .position
                .store((packet.start + self.read_pos) as u64, Ordering::Relaxed);
        }
        self.shared
            .frames_read
            .fetch_add(frames as u64, Ordering::Relaxed);
        if underruns > 0 {
            self.shared
                .underruns
                .fetch_add(underruns, Ordering::Relaxed);
        }
        delivered
    }

    fn switch_generation(&mut self, wanted: u32) {
        self.generation = wanted;
        if let Some(old) = self.current.take() {
            self.recycle(old);
        }
        // The new position fades in from silence.
        self.fade_pos = 0;
        self.tail_frames = 0;
    }

    /// Whether frames of the playing generation are still available (without consuming the
    /// ring: packets of a newer generation stay queued).
    fn old_data_left(&self) -> bool {
        if let Some(p) = &self.current {
            if self.read_pos < p.frames {
                return true;
            }
        }
        matches!(self.full.peek(), Ok(p) if p.generation == self.generation)
    }

    fn recycle(&mut self, packet: Packet<T>) {
        // The free ring holds every packet there is, so it always has room.
        let _ = self.free.push(packet);
    }

    /// Makes sure a packet of the current generation with frames left is current.
    fn ensure_packet(&mut self) -> bool {
        loop {
            if let Some(p) = &self.current {
                if self.read_pos < p.frames {
                    return true;
                }
            }
            if let Some(done) = self.current.take() {
                self.recycle(done);
            }
            let Ok(next) = self.full.pop() else {
                return false;
            };
            if next.generation != self.generation {
                self.recycle(next);
                continue;
            }
            // Crossfade this chunk's head with the previous chunk's tail when it is there (not
            // after a seek into the middle of a chunk, and not for the first chunk).
            self.tail_frames = 0;
            if next.chunk > 0 && next.offset < self.crossfade {
                if let Some(n) = self
                    .tails
                    .take(next.generation, next.chunk - 1, &mut self.tail)
                {
                    self.tail_frames = n / self.channels;
                }
            }
            self.read_pos = 0;
            self.current = Some(next);
        }
    }
}

impl PlaybackControl {
    /// Moves playback to `seconds` (sample-accurate); the change is faded out and in. Control
    /// path, wait-free (it stores the target and unparks the worker, never waits).
    ///
    /// # Errors
    /// [`ConfigError::InvalidTime`] for NaN, negative or past-the-end positions.
    pub fn seek(&self, seconds: f64) -> Result<(), ConfigError> {
        let frame = seconds * self.sample_rate as f64;
        if !frame.is_finite() || frame < 0.0 || frame.round() as usize > self.total {
            return Err(ConfigError::InvalidTime);
        }
        self.shared
            .seek_frame
            .store(frame.round() as u64, Ordering::Release);
        self.shared.generation.fetch_add(1, Ordering::AcqRel);
        self.shared.seeks.fetch_add(1, Ordering::Relaxed);
        if let Some(worker) = &self.worker {
            worker.thread().unpark(); // render the new position now, not after an idle period
        }
        Ok(())
    }

    /// The stream's counters.
    pub fn stats(&self) -> PlaybackStats {
        PlaybackStats {
            frames_read: self.shared.frames_read.load(Ordering::Relaxed),
            underrun_frames: self.shared.underruns.load(Ordering::Relaxed),
            seeks: self.shared.seeks.load(Ordering::Relaxed),
            chunks_rendered: self.shared.chunks.load(Ordering::Relaxed),
            position: self.shared.position.load(Ordering::Relaxed),
        }
    }

    /// Track length in frames.
    pub fn len_frames(&self) -> usize {
        self.total
    }

    /// What normalising the track at open did (the level stage in integrated mode), or `None`.
    pub fn normalization(&self) -> Option<&NormalizeReport> {
        self.normalization.as_ref()
    }

    /// Stops the worker and joins it (also done on drop).
    pub fn close(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(worker) = self.worker.take() {
            worker.thread().unpark();
            let _ = worker.join();
        }
    }
}

impl Drop for PlaybackControl {
    fn drop(&mut self) {
        self.close();
    }
}
