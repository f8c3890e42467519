//! Live matching: a [`Pipeline`](super::Pipeline) whose EQ follows the running profile of its
//! own input towards a reference profile — the real-time counterpart of
//! [`match_track`](crate::render::matching::match_track), for input whose end is unknown.
//!
//! **Audio side** (inside `process`; no allocation, no lock): Hann-windowed frames
//! of [`ANALYSIS_FRAME_SECONDS`] (the next power of two: 8192 frames at 44.1/48 kHz), hop half a
//! frame, the bin powers of the channels' mean (the downmix, as in a profile) averaged into the
//! grid's bands and exponentially averaged
//! with the time constant `time_constant_s` (default 10 s: a long-term spectrum, not the current
//! note). Frames quieter than −70 dBFS (mean square) are skipped, so a pause leaves the profile
//! as it was. After each frame the band sums are published through a wait-free triple buffer.
//!
//! **Control side** ([`PipelineParams::update_match`](super::PipelineParams::update_match),
//! called by the host every 0.25–1 s from any control thread): the newest band sums become a
//! running [`Profile`]; once `warmup_s` seconds of non-silent input have been averaged (default
//! 3 s) the gains [`match_gains`] derives move towards their target by at most
//! `max_slew_db_per_s` per second of analysed audio (default 1 dB/s), so the balance settles in
//! seconds without pumping; each change is one EQ kernel update, crossfaded on the audio side
//! over the pipeline's ramp like any gain change (click-free).
//!
//! Enabling also sets the level stage's target to the reference's integrated loudness (or the
//! given target) and the limiter's ceiling to the match's.

use crate::cache::CachedSample;
use crate::dsp::spectrum::{analyze_frame, FrameBuffers};
use crate::dsp::{Layout, WindowKind};
use crate::handoff::{triple_buffer, TripleReader, TripleWriter};
use crate::spectral::matching::{match_gains, MatchOutcome, MatchSettings};
use crate::spectral::profile::{band_bins, relative_db, Profile, PROFILE_BANDS, SILENT_LUFS};
use crate::ConfigError;
use realfft::RealToComplex;
use std::sync::Arc;

/// Analysis frame length of live matching, seconds (rounded up to a power of two in frames).
pub const ANALYSIS_FRAME_SECONDS: f64 = 0.17;

/// Frames quieter than this mean square (−70 dBFS) are not averaged.
const GATE_MEAN_SQUARE: f64 = 1e-7;

/// Published words: the band sums, the total power, the averaged (non-silent) seconds and the
/// analysed seconds.
type Snapshot = [f64; PROFILE_BANDS + 3];
const TOTAL: usize = PROFILE_BANDS;
const AVERAGED: usize = PROFILE_BANDS + 1;
const ANALYSED: usize = PROFILE_BANDS + 2;

/// How a pipeline matches live (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveMatchSettings {
    /// The match itself: strength, clamp, smoothing, loudness target, ceiling.
    pub matching: MatchSettings,
    /// Time constant of the running spectrum, seconds (1–120). Default 10.
    pub time_constant_s: f64,
    /// Largest gain change per band per second of audio, dB (0.01–24). Default 1.
    pub max_slew_db_per_s: f64,
    /// Non-silent input averaged before the first gains, seconds (0–60). Default 3.
    pub warmup_s: f64,
}

impl Default for LiveMatchSettings {
    fn default() -> Self {
        Self {
            matching: MatchSettings::default(),
            time_constant_s: 10.0,
            max_slew_db_per_s: 1.0,
            warmup_s: 3.0,
        }
    }
}

impl LiveMatchSettings {
    /// Checks every range.
    ///
    /// # Errors
    /// [`ConfigError::InvalidMatch`] for the live fields; the match's own errors.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.matching.validate()?;
        let within = |v: f64, lo: f64, hi: f64| v.is_finite() && (lo..=hi).contains(&v);
        if !within(self.time_constant_s, 1.0, 120.0)
            || !within(self.max_slew_db_per_s, 0.01, 24.0)
            || !within(self.warmup_s, 0.0, 60.0)
        {
            return Err(ConfigError::InvalidMatch);
        }
        Ok(())
    }
}

/// Where a live match stands ([`PipelineParams::update_match`](super::PipelineParams::update_match)).
#[derive(Clone, Debug, PartialEq)]
pub struct LiveMatchState {
    /// Input analysed so far, seconds.
    pub analysed_s: f64,
    /// Non-silent input in the running average (weighted by its decay), seconds.
    pub averaged_s: f64,
    /// `true` once the warm-up is over and gains follow the match.
    pub active: bool,
    /// The gains now set, dB per grid band.
    pub gains_db: Vec<f64>,
    /// The gains the match aims at now (the set gains move towards them), dB.
    pub target_db: Vec<f64>,
    /// The match's outcome for the running profile (silent input: `SilentTrack`).
    pub outcome: MatchOutcome,
}

/// The audio side: frames, FFTs and running band sums. Real-time safe after construction.
pub(crate) struct Analyzer<T: CachedSample> {
    n: usize,
    hop: usize,
    channels: usize,
    /// `channels × n` frame history, planar.
    ring: Vec<T>,
    /// The frame's downmix (mean of the channels).
    mix: Vec<T>,
    filled: usize,
    window: Arc<[T]>,
    plan: Arc<dyn RealToComplex<T>>,
    buffers: FrameBuffers<T>,
    bands: Vec<Option<(usize, usize)>>,
    decay: f64,
    hop_s: f64,
    sums: Snapshot,
    frame: Snapshot,
    writer: TripleWriter<Snapshot>,
}

impl<T: CachedSample> Analyzer<T> {
    /// Pushes a block (`frames` frames of `channels`, `layout`). Real-time safe.
    pub(crate) fn push(&mut self, input: &[T], frames: usize, layout: Layout) {
        let mut pos = 0;
        while pos < frames {
            let take = (self.n - self.filled).min(frames - pos);
            for c in 0..self.channels {
                let row = &mut self.ring[c * self.n + self.filled..c * self.n + self.filled + take];
                match layout {
                    Layout::Planar => {
                        row.copy_from_slice(&input[c * frames + pos..c * frames + pos + take])
                    }
                    Layout::Interleaved => {
                        for (i, r) in row.iter_mut().enumerate() {
                            *r = input[(pos + i) * self.channels + c];
                        }
                    }
                }
            }
            self.filled += take;
            pos += take;
            if self.filled == self.n {
                self.analyse();
                for c in 0..self.channels {
                    self.ring
                        .copy_within(c * self.n + self.hop..(c + 1) * self.n, c * self.n);
                }
                self.filled = self.n - self.hop;
            }
        }
    }

    /// Clears the frame history and the running average (a new stream).
    pub(crate) fn reset(&mut self) {
        self.filled = 0;
        self.sums = [0.0; PROFILE_BANDS + 3];
        self.publish();
    }

    fn analyse(&mut self) {
        let n = self.n;
        let mean_square = self
            .ring
            .iter()
            .map(|v| v.as_f64() * v.as_f64())
            .sum::<f64>()
            / (n * self.channels) as f64;
        self.sums[ANALYSED] += self.hop_s;
        if mean_square >= GATE_MEAN_SQUARE {
            self.frame.fill(0.0);
            let scale = T::one() / T::of_f64(self.channels as f64);
            for (i, m) in self.mix.iter_mut().enumerate() {
                let sum = (0..self.channels).fold(T::zero(), |s, c| s + self.ring[c * n + i]);
                *m = sum * scale;
            }
            let mut spectrum = std::mem::take(&mut self.buffers.spectrum);
            analyze_frame(
                &*self.plan,
                &self.window,
                &self.mix,
                0,
                &mut self.buffers,
                &mut spectrum,
            );
            for (b, range) in self.bands.iter().enumerate() {
                if let Some((first, end)) = *range {
                    let sum: f64 = spectrum[first..end]
                        .iter()
                        .map(|s| s.norm_sqr().as_f64())
                        .sum();
                    self.frame[b] = sum / (end - first) as f64;
                }
            }
            self.frame[TOTAL] = spectrum.iter().map(|s| s.norm_sqr().as_f64()).sum::<f64>();
            self.buffers.spectrum = spectrum;
            for (s, f) in self.sums[..=TOTAL].iter_mut().zip(&self.frame[..=TOTAL]) {
                *s = *s * self.decay + f;
            }
            self.sums[AVERAGED] = self.sums[AVERAGED] * self.decay + self.hop_s;
        }
        self.publish();
    }

    fn publish(&mut self) {
        let sums = self.sums;
        self.writer.with_back(|slot| *slot = sums);
        self.writer.publish();
    }
}

/// The control side: the reference, the settings and the gains set so far.
pub(crate) struct LiveMatch {
    reference: Profile,
    settings: LiveMatchSettings,
    reader: TripleReader<Snapshot>,
    sample_rate: u32,
    channels: usize,
    bin_hz: f64,
    /// Bands the analysis frames resolve.
    present: Vec<bool>,
    gains_db: Vec<f64>,
    last_analysed_s: f64,
}

/// Builds both sides for `channels` at `sample_rate`. Control path (allocates).
///
/// # Errors
/// The settings' [`LiveMatchSettings::validate`] errors.
pub(crate) fn live_match<T: CachedSample>(
    reference: &Profile,
    settings: &LiveMatchSettings,
    sample_rate: u32,
    channels: usize,
) -> Result<(Analyzer<T>, LiveMatch), ConfigError> {
    settings.validate()?;
    let n = ((ANALYSIS_FRAME_SECONDS * sample_rate as f64).ceil() as usize)
        .next_power_of_two()
        .max(256);
    let hop = n / 2;
    let plan = T::cache().forward_plan(n);
    let scratch = plan.get_scratch_len();
    let (writer, reader) = triple_buffer([0.0; PROFILE_BANDS + 3]);
    let hop_s = hop as f64 / sample_rate as f64;
    let analyzer = Analyzer {
        n,
        hop,
        channels,
        ring: vec![T::zero(); channels * n],
        mix: vec![T::zero(); n],
        filled: 0,
        window: T::cache().window(WindowKind::Hann, n),
        plan,
        buffers: FrameBuffers::new(n, scratch),
        bands: band_bins(sample_rate, n),
        decay: (-hop_s / settings.time_constant_s).exp(),
        hop_s,
        sums: [0.0; PROFILE_BANDS + 3],
        frame: [0.0; PROFILE_BANDS + 3],
        writer,
    };
    let control = LiveMatch {
        reference: reference.clone(),
        settings: *settings,
        reader,
        sample_rate,
        channels,
        bin_hz: sample_rate as f64 / n as f64,
        present: analyzer.bands.iter().map(Option::is_some).collect(),
        gains_db: vec![0.0; PROFILE_BANDS],
        last_analysed_s: 0.0,
    };
    Ok((analyzer, control))
}

impl LiveMatch {
    /// The gains to set now, and the state. Control path.
    pub(crate) fn update(&mut self) -> Result<LiveMatchState, ConfigError> {
        self.reader.update();
        let sums = self.reader.with_front(|s| *s);
        let averaged_s = sums[AVERAGED];
        let analysed_s = sums[ANALYSED];
        let running = self.running_profile(&sums);
        let target = match_gains(&running, &self.reference, &self.settings.matching)?;
        let active = averaged_s > 0.0
            && averaged_s >= self.settings.warmup_s
            && target.outcome == MatchOutcome::Matched;
        if analysed_s < self.last_analysed_s {
            // The pipeline was reset: start again from flat.
            self.gains_db.fill(0.0);
            self.last_analysed_s = 0.0;
        }
        let step = self.settings.max_slew_db_per_s * (analysed_s - self.last_analysed_s);
        self.last_analysed_s = analysed_s;
        if active {
            for (g, t) in self.gains_db.iter_mut().zip(&target.gains_db) {
                *g += (t - *g).clamp(-step, step);
            }
        }
        Ok(LiveMatchState {
            analysed_s,
            averaged_s,
            active,
            gains_db: self.gains_db.clone(),
            target_db: target.gains_db,
            outcome: target.outcome,
        })
    }

    fn running_profile(&self, sums: &Snapshot) -> Profile {
        let silent = sums[AVERAGED] <= 0.0;
        let bands: Vec<Option<f64>> = sums[..PROFILE_BANDS]
            .iter()
            .zip(&self.present)
            .map(|(&s, &present)| present.then_some(s))
            .collect();
        Profile {
            sample_rate: self.sample_rate,
            channels: self.channels,
            frames: (sums[ANALYSED] * self.sample_rate as f64) as u64,
            integrated_lufs: (!silent).then_some(SILENT_LUFS),
            loudness_range_lu: 0.0,
            true_peak_dbtp: None,
            spectrum_db: relative_db(&bands, sums[TOTAL] * self.bin_hz, silent),
            side_mid_db: None,
        }
    }
}
