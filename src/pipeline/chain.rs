//! The processing chain: EQ → loudness-aware level matcher → lookahead limiter, in one
//! real-time-safe object whose output does not depend on how the host slices its blocks.
//!
//! All three stages always run, so the latency is constant (`EQ hop + kernel delay + limiter
//! lookahead`) whatever is bypassed: a bypassed EQ crossfades to a flat kernel (a pure delay), a
//! bypassed level matcher ramps its gain to unity, a bypassed limiter crossfades to its delayed
//! input — each over the configured ramp. The level stage applies either a static track gain
//! ([`LevelMode::Integrated`], the default: set from the whole track's integrated loudness by the
//! renderers and streams, which see the whole signal) or the momentary leveller
//! ([`LevelMode::Momentary`], which takes its loudness from the EQ's own spectra, see
//! [`crate::dsp::level`]); the limiter (true-peak by default) sees the level-matched signal.
//!
//! Parameters change from any thread through [`PipelineParams`]: EQ gains through the
//! equalizer's wait-free kernel mailbox, scalars through atomics read once per `process` call.
//! Statistics are published once per call through a sequence lock, so [`PipelineParams::stats`]
//! always returns one consistent snapshot.

use super::equalizer::{low_latency_partition, EqControl, Equalizer, EqualizerConfig, Phase};
use super::live_match::{live_match, Analyzer, LiveMatch, LiveMatchSettings, LiveMatchState};
use super::stage::{check_block, Processor};
use crate::cache::CachedSample;
use crate::dsp::bands::{BandLayout, CurveMode};
use crate::dsp::level::{check_target, LevelMatcher, LevelMode, LevelSettings};
use crate::dsp::limiter::{check_ceiling, Limiter, LimiterSettings};
use crate::dsp::loudness::LoudnessMeter;
use crate::dsp::Layout;
use crate::handoff::SeqLock;
use crate::{ConfigError, Error, ProcessError};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// EQ settings of a pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct EqSettings {
    /// Band gains in dB (one per band).
    pub gains_db: Vec<f64>,
    /// The bands.
    pub layout: BandLayout,
    /// Curve mode.
    pub mode: CurveMode,
}

impl EqSettings {
    /// Critical bands, smooth curve, with `gains_db`.
    pub fn critical(gains_db: Vec<f64>) -> Self {
        Self {
            gains_db,
            layout: BandLayout::critical(),
            mode: CurveMode::Smooth,
        }
    }
}

/// A pipeline as plain data. A stage that is `None` starts bypassed (with default settings, so it
/// can be enabled later with [`PipelineParams::set_bypass`]).
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineConfig {
    /// The equalizer (`None`: flat and bypassed).
    pub eq: Option<EqSettings>,
    /// The level stage (`None`: bypassed, target −14 LUFS). In [`LevelMode::Integrated`] a
    /// `Pipeline` applies `track_gain_db`; the offline renderers, `normalize` and the engine's
    /// streams measure the track and set it so the output lands on `target_lufs`.
    pub level: Option<LevelSettings>,
    /// The limiter (`None`: bypassed, ceiling −1 dBFS).
    pub limiter: Option<LimiterSettings>,
    /// FFT size of the EQ engine (even, 16–2^24; default 4096).
    pub fft_size: usize,
    /// Crossfade time of gain changes and bypass toggles, ms (0–10000; default 20).
    pub ramp_ms: f64,
    /// Stages (indexed by [`Stage`]) that start bypassed although their settings are given; they
    /// can be enabled later with [`PipelineParams::set_bypass`]. Default none.
    pub start_bypassed: [bool; 3],
    /// The EQ kernel's phase. Default linear.
    pub phase: Phase,
    /// The EQ engine: 0 overlap-save at `fft_size` (default), otherwise the partition of the
    /// partitioned engine (a power of two 8…65536; see [`EqualizerConfig::partition`]).
    pub partition: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            eq: None,
            level: None,
            limiter: None,
            fft_size: 4096,
            ramp_ms: super::equalizer::DEFAULT_RAMP_MS,
            start_bypassed: [false; 3],
            phase: Phase::Linear,
            partition: 0,
        }
    }
}

impl PipelineConfig {
    /// The low-latency mode for a host whose blocks are at most `max_block` frames: a
    /// minimum-phase EQ partitioned at [`low_latency_partition`] of `max_block`. With the
    /// default limiter (true peak, 1.5 ms lookahead) the chain's latency at 64-frame blocks and
    /// 48 kHz is 64 + 72 + 32 = 168 frames (3.5 ms); [`Processor::latency_frames`] reports it.
    pub fn low_latency(mut self, max_block: usize) -> Self {
        self.phase = Phase::Minimum;
        self.partition = low_latency_partition(max_block);
        self
    }

    /// Checks what [`Pipeline::new`] would refuse for this stream format, without building
    /// anything (no FFT plan, no kernel design): every range, the EQ's gain count and finiteness,
    /// the level and limiter settings. The offline renderers and the normaliser run it before any
    /// expensive work, so a bad setting is refused at once and the same way by every entry point.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn validate(
        &self,
        sample_rate: u32,
        channels: usize,
        max_block: usize,
    ) -> Result<(), ConfigError> {
        let eq = self.eq.as_ref();
        EqualizerConfig {
            sample_rate,
            channels,
            max_block,
            fft_size: self.fft_size,
            layout: eq.map_or_else(BandLayout::critical, |e| e.layout.clone()),
            mode: CurveMode::Smooth,
            ramp_ms: self.ramp_ms,
            gains_db: None,
            phase: self.phase,
            partition: self.partition,
        }
        .validate()?;
        if let Some(eq) = eq {
            if eq.gains_db.len() != eq.layout.bands() {
                return Err(ConfigError::GainCount);
            }
            if !eq.gains_db.iter().all(|g| g.is_finite()) {
                return Err(ConfigError::NonFiniteGain);
            }
        }
        self.level.unwrap_or_default().validate()?;
        self.limiter.unwrap_or_default().validate()
    }
}

/// A stage of the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The equalizer.
    Eq = 0,
    /// The level matcher.
    Level = 1,
    /// The limiter.
    Limiter = 2,
}

impl Stage {
    /// The stage with C enum value `index`.
    pub fn from_index(index: i32) -> Option<Self> {
        match index {
            0 => Some(Self::Eq),
            1 => Some(Self::Level),
            2 => Some(Self::Limiter),
            _ => None,
        }
    }
}

pub use crate::limits::MAX_CHANNELS;

/// Most EQ bands a statistics snapshot carries.
pub const MAX_STAT_BANDS: usize = 64;
const STAT_WORDS: usize = 8 + MAX_STAT_BANDS;

/// One consistent snapshot of a pipeline's counters, all from the end of the same `process` call.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineStats {
    /// Frames processed since construction.
    pub frames: u64,
    /// Non-finite (or beyond ±2^20) input samples replaced by zero.
    pub nonfinite: u64,
    /// Largest gain reduction the limiter applied since construction, dB (≤ 0).
    pub limiter_max_reduction_db: f64,
    /// The limiter's gain on the last frame, dB.
    pub limiter_gain_db: f64,
    /// The level matcher's gain on the last frame, dB (0 while bypassed, after the ramp).
    pub level_gain_db: f64,
    /// The level matcher's momentary loudness estimate of the EQ output, LUFS.
    pub loudness_lufs: f64,
    /// Bypass flags as the audio side last applied them: EQ, level, limiter.
    pub bypassed: [bool; 3],
    /// The band gains (dB) of the EQ kernel in use (the new one during a crossfade); zeros while
    /// bypassed. Empty before the first `process` call.
    pub eq_gains_db: Vec<f64>,
}

struct Shared {
    level_target: AtomicU64,
    ceiling_db: AtomicU64,
    bypass: [AtomicBool; 3],
    stats: SeqLock<STAT_WORDS>,
    sample_rate: u32,
}

/// Changes a pipeline's parameters from any number of threads while audio runs, and reads its
/// statistics. `Send + Sync + Clone`. The audio thread never waits for it.
pub struct PipelineParams<T: CachedSample> {
    shared: Arc<Shared>,
    eq: EqControl<T>,
    live: Arc<Mutex<Option<LiveMatch>>>,
}

impl<T: CachedSample> Clone for PipelineParams<T> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            eq: self.eq.clone(),
            live: self.live.clone(),
        }
    }
}

impl<T: CachedSample> PipelineParams<T> {
    /// Sets the EQ band gains (designs the kernel on this thread; crossfaded on the audio side).
    ///
    /// # Errors
    /// Wrong count or non-finite gains; nothing changes then.
    pub fn set_eq_gains(&self, gains_db: &[f64]) -> Result<(), ConfigError> {
        self.eq.set_gains(gains_db).map_err(ConfigError::from)
    }

    /// The EQ gains most recently set (dB).
    pub fn eq_gains(&self) -> Vec<f64> {
        self.eq.gains_db()
    }

    /// Sets the level matcher's target loudness in LUFS (−70…0). Wait-free. Moves the gain of the
    /// momentary leveller; in [`LevelMode::Integrated`] the static track gain stays (it is set
    /// by measuring the whole track, which a streaming `Pipeline` never sees).
    ///
    /// # Errors
    /// [`ConfigError::InvalidTarget`].
    pub fn set_level_target(&self, lufs: f64) -> Result<(), ConfigError> {
        check_target(lufs)?;
        self.shared
            .level_target
            .store(lufs.to_bits(), Ordering::Release);
        Ok(())
    }

    /// The current level target in LUFS.
    pub fn level_target(&self) -> f64 {
        f64::from_bits(self.shared.level_target.load(Ordering::Acquire))
    }

    /// Measures `reference` (planar, `channels`, at the pipeline's sample rate) and makes its
    /// integrated loudness the level target. Returns that loudness. Control path.
    ///
    /// # Errors
    /// Invalid channel count or samples; [`ConfigError::InvalidTarget`] when the reference is
    /// silent or too short for a gated loudness, or outside −70…0 LUFS.
    pub fn set_level_reference(&self, reference: &[T], channels: usize) -> Result<f64, Error> {
        let mut meter = LoudnessMeter::new(channels, self.shared.sample_rate)?;
        meter.add(reference)?;
        let lufs = meter.report().integrated;
        self.set_level_target(lufs)?;
        Ok(lufs)
    }

    /// Sets the limiter ceiling in dBFS (−60…0). Wait-free; applies to frames entering the
    /// limiter from the next `process` call (frames already inside its lookahead are clamped).
    ///
    /// # Errors
    /// [`ConfigError::InvalidCeiling`].
    pub fn set_ceiling_db(&self, ceiling_db: f64) -> Result<(), ConfigError> {
        check_ceiling(ceiling_db)?;
        self.shared
            .ceiling_db
            .store(ceiling_db.to_bits(), Ordering::Release);
        Ok(())
    }

    /// The current ceiling in dBFS.
    pub fn ceiling_db(&self) -> f64 {
        f64::from_bits(self.shared.ceiling_db.load(Ordering::Acquire))
    }

    /// Bypasses a stage or ends its bypass; the change is crossfaded over the ramp time.
    /// Wait-free for the level matcher and limiter; for the EQ it designs a kernel (control path).
    pub fn set_bypass(&self, stage: Stage, bypassed: bool) {
        if stage == Stage::Eq {
            self.eq.set_bypass(bypassed);
        }
        self.shared.bypass[stage as usize].store(bypassed, Ordering::Release);
    }

    /// Whether a stage is (set to be) bypassed.
    pub fn bypassed(&self, stage: Stage) -> bool {
        self.shared.bypass[stage as usize].load(Ordering::Acquire)
    }

    /// Moves the EQ of a live-matched pipeline ([`Pipeline::enable_live_match`]) one step
    /// towards the match of its running profile and returns where the match stands. Call it
    /// every 0.25–1 s from a control thread; the step is limited by the elapsed audio, not by
    /// how often it is called. Control path: designs a kernel when the gains move.
    ///
    /// # Errors
    /// [`ConfigError::InvalidMatch`] when live matching is not enabled.
    pub fn update_match(&self) -> Result<LiveMatchState, ConfigError> {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        let live = live.as_mut().ok_or(ConfigError::InvalidMatch)?;
        let state = live.update()?;
        if state.gains_db != self.eq.gains_db() {
            self.set_eq_gains(&state.gains_db)?;
        }
        Ok(state)
    }

    /// One consistent snapshot of the statistics. Lock-free; any thread.
    pub fn stats(&self) -> PipelineStats {
        let w = self.shared.stats.read();
        let f = |i: usize| f64::from_bits(w[i]);
        let bands = (w[7] as usize).min(MAX_STAT_BANDS);
        PipelineStats {
            frames: w[0],
            nonfinite: w[1],
            limiter_max_reduction_db: f(2),
            limiter_gain_db: f(3),
            level_gain_db: f(4),
            loudness_lufs: f(5),
            bypassed: [w[6] & 1 != 0, w[6] & 2 != 0, w[6] & 4 != 0],
            eq_gains_db: (0..bands).map(|b| f(8 + b)).collect(),
        }
    }
}

/// A linear crossfade position between a stage's dry (0) and processed (1) output.
struct Mix {
    value: f64,
    step: f64,
}

impl Mix {
    fn new(bypassed: bool, ramp_frames: usize) -> Self {
        Self {
            value: if bypassed { 0.0 } else { 1.0 },
            step: 1.0 / ramp_frames.max(1) as f64,
        }
    }

    #[inline]
    fn next(&mut self, bypassed: bool) -> f64 {
        self.value = if bypassed {
            (self.value - self.step).max(0.0)
        } else {
            (self.value + self.step).min(1.0)
        };
        self.value
    }

    fn settle(&mut self, bypassed: bool) {
        self.value = if bypassed { 0.0 } else { 1.0 };
    }
}

/// The EQ → level → limiter chain for `channels` channels of `T`.
///
/// `process`, `process_interleaved` and `reset` are real-time safe (allocation-guard tested).
pub struct Pipeline<T: CachedSample> {
    eq: Equalizer<T>,
    level: LevelMatcher,
    limiter: Limiter<T>,
    params: PipelineParams<T>,
    level_mix: Mix,
    /// [`LevelMode::Integrated`]: the static track gain (linear); `None` for the leveller.
    static_gain: Option<f64>,
    target: f64,
    ceiling: f64,
    limiter_max_reduction_db: f64,
    channels: usize,
    max_block: usize,
    settle: usize,
    /// Per-frame level gains of the current span (`max_block` long).
    gains: Vec<T>,
    stat_words: [u64; STAT_WORDS],
    /// The running-profile analysis of live matching.
    live: Option<Analyzer<T>>,
}

impl<T: CachedSample> Pipeline<T> {
    /// Builds the chain; allocates everything it will use.
    ///
    /// # Errors
    /// Invalid sample rate, channels, block size, FFT size, ramp, or stage settings.
    pub fn new(
        sample_rate: u32,
        channels: usize,
        max_block: usize,
        config: &PipelineConfig,
    ) -> Result<Self, ConfigError> {
        let eq_settings = config
            .eq
            .clone()
            .unwrap_or_else(|| EqSettings::critical(vec![0.0; 25]));
        let eq = Equalizer::<T>::new(EqualizerConfig {
            sample_rate,
            channels,
            max_block,
            fft_size: config.fft_size,
            layout: eq_settings.layout.clone(),
            mode: eq_settings.mode,
            ramp_ms: config.ramp_ms,
            gains_db: Some(eq_settings.gains_db.clone()),
            phase: config.phase,
            partition: config.partition,
        })?;
        let level_settings = config.level.unwrap_or_default();
        let limiter_settings = config.limiter.unwrap_or_default();
        let mut eq = eq;
        let hop = eq.engine_mut().hop();
        let level = LevelMatcher::new(level_settings, sample_rate, channels, config.fft_size, hop)?;
        eq.engine_mut().measure_loudness(&level, sample_rate);
        let ramp_frames = (config.ramp_ms * 1e-3 * sample_rate as f64).round() as usize;
        let mut limiter = Limiter::new(channels, sample_rate, &limiter_settings, ramp_frames)?;
        let control = eq.control();
        let bypassed = [
            config.eq.is_none() || config.start_bypassed[Stage::Eq as usize],
            config.level.is_none() || config.start_bypassed[Stage::Level as usize],
            config.limiter.is_none() || config.start_bypassed[Stage::Limiter as usize],
        ];
        if bypassed[Stage::Eq as usize] {
            control.set_bypass(true);
        }
        let shared = Arc::new(Shared {
            level_target: AtomicU64::new(level_settings.target_lufs.to_bits()),
            ceiling_db: AtomicU64::new(limiter_settings.ceiling_db.to_bits()),
            bypass: bypassed.map(AtomicBool::new),
            stats: SeqLock::default(),
            sample_rate,
        });
        limiter.settle_mix(bypassed[Stage::Limiter as usize]);
        let ms = |t: f64| (t * 1e-3 * sample_rate as f64).ceil() as usize;
        let settle = crate::dsp::fir::FirDesigner::kernel_len(config.fft_size)
            + limiter.latency()
            + config
                .level
                .filter(|l| {
                    l.mode == LevelMode::Momentary && !config.start_bypassed[Stage::Level as usize]
                })
                .map_or(0, |l| ms(l.window_ms) + 3 * ms(l.attack_ms));
        let mut pipeline = Self {
            eq,
            level,
            limiter,
            params: PipelineParams {
                shared,
                eq: control,
                live: Arc::new(Mutex::new(None)),
            },
            level_mix: Mix::new(bypassed[Stage::Level as usize], ramp_frames),
            static_gain: (level_settings.mode == LevelMode::Integrated)
                .then(|| 10f64.powf(level_settings.track_gain_db / 20.0)),
            target: level_settings.target_lufs,
            ceiling: limiter_settings.ceiling_db,
            limiter_max_reduction_db: 0.0,
            channels,
            max_block,
            settle,
            gains: vec![T::zero(); max_block],
            stat_words: [0; STAT_WORDS],
            live: None,
        };
        // Start on the configured kernel (flat when the EQ is bypassed), without a ramp.
        pipeline.eq.reset();
        pipeline.publish_stats();
        Ok(pipeline)
    }

    /// A handle that changes parameters and reads statistics from any thread.
    pub fn params(&self) -> PipelineParams<T> {
        self.params.clone()
    }

    /// Matches this pipeline live to `reference` (see [`super::live_match`]): from now on
    /// `process` keeps a running profile of the input, and
    /// [`PipelineParams::update_match`] moves the EQ towards the match of it. Also sets the level
    /// target to the match's (the reference's integrated loudness unless the settings give one)
    /// and the limiter's ceiling. Enabling again replaces the reference and starts from flat.
    /// Control path (allocates); needs `&mut`, so never concurrent with `process`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidMatch`] for settings out of range or an EQ not on the profile grid
    /// ([`BandLayout::sixth_octave`]; [`crate::render::matching::live_match_config`] builds
    /// such a pipeline); the match settings' other errors.
    pub fn enable_live_match(
        &mut self,
        reference: &crate::spectral::Profile,
        settings: &LiveMatchSettings,
    ) -> Result<(), ConfigError> {
        if self.params.eq.layout() != BandLayout::sixth_octave() {
            return Err(ConfigError::InvalidMatch);
        }
        let sample_rate = self.params.shared.sample_rate;
        let (analyzer, control) = live_match::<T>(reference, settings, sample_rate, self.channels)?;
        let m = &settings.matching;
        if let Some(target) = m.target_lufs.or(reference.integrated_lufs) {
            self.params.set_level_target(target.clamp(-70.0, 0.0))?;
        }
        self.params.set_ceiling_db(m.ceiling_dbtp)?;
        self.params
            .set_eq_gains(&[0.0; crate::spectral::profile::PROFILE_BANDS])?;
        *self
            .params
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(control);
        self.live = Some(analyzer);
        Ok(())
    }

    /// How much preceding input (frames) a fresh chain needs before its output matches a chain
    /// that has run all along: the EQ kernel length plus the limiter lookahead, plus — when the
    /// level matcher is enabled — its loudness window and three attack time constants (95 % of a
    /// gain cut; a boost, which follows the slower release, may still be settling). The chunked
    /// renderer primes each chunk with this much context by default.
    pub fn settle_frames(&self) -> usize {
        self.settle
    }

    fn apply_params(&mut self) {
        let shared = &self.params.shared;
        let target = f64::from_bits(shared.level_target.load(Ordering::Acquire));
        if target != self.target {
            self.target = target;
            self.level.set_target(target);
        }
        let ceiling = f64::from_bits(shared.ceiling_db.load(Ordering::Acquire));
        if ceiling != self.ceiling {
            self.ceiling = ceiling;
            self.limiter.set_ceiling_db(ceiling);
        }
    }

    /// Applies the level gain and the limiter to frames `pos .. pos + take` of `output`, in place.
    #[allow(clippy::too_many_arguments)]
    fn level_and_limit(
        &mut self,
        output: &mut [T],
        frames: usize,
        layout: Layout,
        pos: usize,
        take: usize,
        bypass_level: bool,
        bypass_limiter: bool,
    ) {
        let channels = self.channels;
        let at = |c: usize, i: usize| match layout {
            Layout::Planar => c * frames + pos + i,
            Layout::Interleaved => (pos + i) * channels + c,
        };
        // Level: per-frame gains (a serial one-pole), then one multiply pass per channel. Skipped
        // while the matcher is bypassed and its ramp has finished.
        let level_idle = bypass_level && self.level_mix.value == 0.0;
        let level_steady = !bypass_level && self.level_mix.value == 1.0;
        if level_steady {
            match self.static_gain {
                Some(g) => self.gains[..take].fill(T::of_f64(g)),
                None => self.level.fill_gains(&mut self.gains[..take]),
            }
        } else if !level_idle {
            for g in &mut self.gains[..take] {
                let matched = self.static_gain.unwrap_or_else(|| self.level.next_gain());
                let mix = self.level_mix.next(bypass_level);
                *g = T::of_f64(1.0 + mix * (matched - 1.0));
            }
        } else {
            // The matcher still measures; keep its gain state moving in step (closed form).
            self.level.advance(take);
        }
        if !level_idle {
            for c in 0..channels {
                match layout {
                    Layout::Planar => {
                        let x = &mut output[c * frames + pos..c * frames + pos + take];
                        for (v, &g) in x.iter_mut().zip(&self.gains[..take]) {
                            *v = *v * g;
                        }
                    }
                    Layout::Interleaved => {
                        for (i, &g) in self.gains[..take].iter().enumerate() {
                            let v = &mut output[at(c, i)];
                            *v = *v * g;
                        }
                    }
                }
            }
        }
        self.limiter
            .process_span(output, frames, layout, pos, take, bypass_limiter);
    }

    fn publish_stats(&mut self) {
        let reduction = self.limiter.take_stats().max_reduction_db();
        self.limiter_max_reduction_db = self.limiter_max_reduction_db.min(reduction);
        let shared = &self.params.shared;
        let w = &mut self.stat_words;
        w[0] = self.eq.frames_processed();
        w[1] = self.eq.nonfinite_count();
        w[2] = self.limiter_max_reduction_db.to_bits();
        w[3] = (20.0 * self.limiter.gain().log10()).to_bits();
        let matched = self.static_gain.unwrap_or_else(|| self.level.gain());
        let level_gain = 1.0 + self.level_mix.value * (matched - 1.0);
        w[4] = (20.0 * level_gain.log10()).to_bits();
        w[5] = self.level.loudness().to_bits();
        w[6] = (0..3)
            .map(|s| u64::from(shared.bypass[s].load(Ordering::Relaxed)) << s)
            .sum();
        let gains = self.eq.active_gains_db();
        let bands = gains.len().min(MAX_STAT_BANDS);
        w[7] = bands as u64;
        for (slot, g) in w[8..8 + bands].iter_mut().zip(gains) {
            *slot = g.to_bits();
        }
        shared.stats.write(w);
    }
}

impl<T: CachedSample> Processor<T> for Pipeline<T> {
    fn channels(&self) -> usize {
        self.channels
    }

    fn max_block(&self) -> usize {
        self.max_block
    }

    /// The EQ's latency plus the limiter's lookahead.
    fn latency_frames(&self) -> usize {
        self.eq.latency_frames() + self.limiter.latency()
    }

    fn process_layout(
        &mut self,
        input: &[T],
        output: &mut [T],
        layout: Layout,
    ) -> Result<(), ProcessError> {
        let frames = check_block(self.channels, self.max_block, input.len(), output.len())?;
        self.apply_params();
        if let Some(live) = &mut self.live {
            live.push(input, frames, layout);
        }
        let bypass_level = self.params.shared.bypass[Stage::Level as usize].load(Ordering::Acquire);
        let bypass_limiter =
            self.params.shared.bypass[Stage::Limiter as usize].load(Ordering::Acquire);
        self.eq.begin_call();
        let mut pos = 0;
        while pos < frames {
            let conv = self.eq.engine_mut();
            let take = (frames - pos).min(conv.frames_to_block());
            let blocks = conv.blocks();
            conv.process_span(input, output, frames, layout, pos, take);
            let block_done = conv.blocks() != blocks;
            self.level_and_limit(
                output,
                frames,
                layout,
                pos,
                take,
                bypass_level,
                bypass_limiter,
            );
            if block_done {
                let energies = self.eq.engine_mut().block_energy();
                self.level.push_hop(energies);
            }
            pos += take;
        }
        self.eq.end_call(frames);
        self.publish_stats();
        Ok(())
    }

    /// Clears all signal state (EQ history, loudness measurement, limiter delay line); keeps the
    /// parameters and applies them at once, without ramps.
    fn reset(&mut self) {
        self.eq.reset();
        self.level.reset();
        self.limiter.reset();
        if let Some(live) = &mut self.live {
            live.reset();
        }
        self.apply_params();
        let shared = &self.params.shared;
        self.level_mix
            .settle(shared.bypass[Stage::Level as usize].load(Ordering::Acquire));
        self.limiter
            .settle_mix(shared.bypass[Stage::Limiter as usize].load(Ordering::Acquire));
    }
}
