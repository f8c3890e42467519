//! The lookahead limiter: no output sample — and, in true-peak mode, no point of the output's
//! 4× oversampled waveform as BS.1770-4 Annex 2 measures it — exceeds the ceiling.
//!
//! For each frame the detector gives a peak `p` (max over channels: the sample magnitude, or in
//! true-peak mode the [`PeakDetector`]'s oversampled and refined peak) and a required gain
//! `r = min(1, ceiling / p)`. A sliding minimum of `r` over `L + 2D + 1` frames (`L` = lookahead,
//! `D` = the detector's spread, the half-width of the interpolator's support; 0 for sample peaks)
//! is averaged over its last `L + 1` values and applied to the frame leaving a delay line of
//! `L + D + R` frames (`R` = how far the detector reads ahead). Every term of that average covers
//! the frames `q − D ..= q + D` around the leaving frame `q`, so each frame that contributes to an
//! interpolated peak is scaled by at most that peak's required gain; the attack is a smooth ramp
//! exactly `L` frames long. Rising gain follows a one-pole release. A final clamp to ±ceiling
//! catches floating-point rounding of samples. While every frame stays below what can reach the
//! ceiling the gain is exactly 1 and the output is the input delayed by the latency, bit for bit.
//!
//! One implementation serves the standalone limiter stage and the pipeline; a bypass crossfades
//! between the limited and the delayed signal. Real-time safe after construction.

use super::truepeak::{PeakDetector, DETECTOR_BLOCK, REACH};
use super::Layout;
use super::Sample;
use crate::ConfigError;

/// Limiter settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LimiterSettings {
    /// Ceiling in dBFS (true peak, dBTP, when `true_peak`), −60…0.
    pub ceiling_db: f64,
    /// Lookahead (= attack) in ms, 0 < lookahead ≤ 100. Default 1.5: the shortest for which the
    /// true-peak guarantee is tested (the detector reaches a further
    /// [`TRUE_PEAK_EXTRA_FRAMES`] ahead).
    pub lookahead_ms: f64,
    /// Release time constant in ms, 0 < release ≤ 10000. Default 100.
    pub release_ms: f64,
    /// Detect true peaks (4× oversampled, BS.1770-4 Annex 2) rather than sample peaks; adds
    /// [`TRUE_PEAK_EXTRA_FRAMES`] frames of latency. Default true; [`Self::sample_peak`] gives
    /// the sample-peak limiter (lookahead 5 ms).
    pub true_peak: bool,
}

/// Headroom the true-peak detector keeps below the ceiling, dB: the largest passband gain of the
/// 48-tap interpolator most meters use (libebur128's and the `ebur128` crate's, +0.075 dB near
/// 0.33·fs), so that such a meter never reads the output above the ceiling.
pub const TRUE_PEAK_MARGIN_DB: f64 = 0.08;

/// Latency a true-peak detector adds to the lookahead, frames (at any sample rate): how far it
/// reads ahead plus the half-width of the frames it protects.
pub const TRUE_PEAK_EXTRA_FRAMES: usize = 2 * REACH;

impl Default for LimiterSettings {
    fn default() -> Self {
        Self {
            ceiling_db: -1.0,
            lookahead_ms: 1.5,
            release_ms: 100.0,
            true_peak: true,
        }
    }
}

impl LimiterSettings {
    /// A sample-peak limiter (−1 dBFS, 5 ms lookahead, 100 ms release): what the limiter was
    /// before true-peak detection, for hosts that want its lower latency and cost.
    pub fn sample_peak() -> Self {
        Self {
            lookahead_ms: 5.0,
            true_peak: false,
            ..Self::default()
        }
    }

    /// Checks the ranges.
    ///
    /// # Errors
    /// [`ConfigError::InvalidCeiling`] or [`ConfigError::InvalidTime`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_ceiling(self.ceiling_db)?;
        if !(self.lookahead_ms.is_finite() && self.lookahead_ms > 0.0 && self.lookahead_ms <= 100.0)
        {
            return Err(ConfigError::InvalidTime);
        }
        if !(self.release_ms.is_finite() && self.release_ms > 0.0 && self.release_ms <= 10_000.0) {
            return Err(ConfigError::InvalidTime);
        }
        Ok(())
    }
}

/// The lookahead of `settings` at `sample_rate`, frames (at least 1).
fn lookahead_frames(settings: &LimiterSettings, sample_rate: u32) -> usize {
    ((settings.lookahead_ms * 1e-3 * sample_rate as f64).round() as usize).max(1)
}

/// The latency of a limiter with `settings` at `sample_rate`, frames: what
/// [`Limiter::latency`] reports once it is made.
pub fn latency_frames(settings: &LimiterSettings, sample_rate: u32) -> usize {
    lookahead_frames(settings, sample_rate)
        + if settings.true_peak {
            TRUE_PEAK_EXTRA_FRAMES
        } else {
            0
        }
}

/// Checks a ceiling in dBFS: finite and within −60…0.
///
/// # Errors
/// [`ConfigError::InvalidCeiling`].
pub fn check_ceiling(ceiling_db: f64) -> Result<(), ConfigError> {
    if (-60.0..=0.0).contains(&ceiling_db) {
        Ok(())
    } else {
        Err(ConfigError::InvalidCeiling)
    }
}

/// `ceiling` in `T`, rounded towards zero (an `f32` nearest to the ceiling may lie above it).
fn clamp_value<T: Sample>(ceiling: f64) -> T {
    let c = T::of_f64(ceiling);
    if c.as_f64() <= ceiling {
        c
    } else {
        T::of_f64(ceiling * (1.0 - f64::from(f32::EPSILON)))
    }
}

/// Gains within this distance of 1 after a release snap to exactly 1 (−0.0000087 dB), so the
/// limiter is bit-transparent again once the signal is back below the ceiling.
const SNAP: f64 = 1e-6;

/// Frames handled per inner step (the detector's block).
const STEP: usize = DETECTOR_BLOCK;

/// Gain statistics of a limiter since construction or the last [`Limiter::take_stats`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GainStats {
    /// Frames processed.
    pub frames: u64,
    /// Frames whose gain was below 1.
    pub limited_frames: u64,
    /// Smallest gain applied (linear, 1 when none).
    pub min_gain: f64,
    /// Sum of the gain in dB over the limited frames (≤ 0).
    pub reduction_db_sum: f64,
}

impl Default for GainStats {
    fn default() -> Self {
        Self {
            frames: 0,
            limited_frames: 0,
            min_gain: 1.0,
            reduction_db_sum: 0.0,
        }
    }
}

impl GainStats {
    /// Adds `other` (a later span) to these statistics.
    pub fn merge(&mut self, other: &GainStats) {
        self.frames += other.frames;
        self.limited_frames += other.limited_frames;
        self.min_gain = self.min_gain.min(other.min_gain);
        self.reduction_db_sum += other.reduction_db_sum;
    }

    /// The largest gain reduction, dB (≤ 0).
    pub fn max_reduction_db(&self) -> f64 {
        20.0 * self.min_gain.log10()
    }

    /// The gain reduction averaged over all frames, dB (≤ 0).
    pub fn mean_reduction_db(&self) -> f64 {
        if self.frames == 0 {
            0.0
        } else {
            self.reduction_db_sum / self.frames as f64
        }
    }
}

/// The limiter state for `channels` channels.
pub struct Limiter<T: Sample> {
    channels: usize,
    /// Frames in the delay line: `lookahead + spread + reach` (spread: frames on each side of a
    /// peak that share its gain; reach: how far the detector reads ahead; both 0 for sample
    /// peaks).
    delay_len: usize,
    /// `channels × delay_len` delayed input; slot `delay_pos` holds the oldest frame.
    delay: Vec<T>,
    delay_pos: usize,
    /// Sliding-minimum deque over required gains: (frame index, gain), a ring of `window`.
    deque_index: Vec<u64>,
    deque_gain: Vec<f64>,
    /// The last `lookahead + 1` sliding minima.
    minima: Vec<f64>,
    /// The gain computer's scalars.
    curve: Curve,
    ceiling: f64,
    /// The peak the detector aims at: the ceiling, less [`TRUE_PEAK_MARGIN_DB`] in true-peak
    /// mode.
    target: f64,
    /// The ceiling in `T`, rounded towards zero so the clamp never lets a sample above it.
    clamp: T,
    /// Samples at or below this cannot make a peak above the ceiling (the fast-path test).
    quiet: T,
    /// True-peak geometry and target (the detector, or peaks the caller gives).
    true_peak: bool,
    detector: Option<PeakDetector<T>>,
    /// Per-frame peaks, gains and bypass mixes of the current step.
    peaks: Vec<f64>,
    gains: Vec<T>,
    wets: Vec<T>,
    /// Crossfade between delayed (0) and limited (1) output, and its step per frame.
    mix: f64,
    mix_step: f64,
    /// Frames still to pass through the clamp after a lowered ceiling left delayed samples above
    /// it (the pure-delay fast path must not let them out unclamped).
    unclamped: usize,
}

impl<T: Sample> Limiter<T> {
    /// A limiter at `sample_rate` Hz whose bypass crossfades over `ramp_frames`. Allocates
    /// everything it will use.
    ///
    /// # Errors
    /// Invalid settings or channel count.
    pub fn new(
        channels: usize,
        sample_rate: u32,
        settings: &LimiterSettings,
        ramp_frames: usize,
    ) -> Result<Self, ConfigError> {
        settings.validate()?;
        if channels == 0 {
            return Err(ConfigError::InvalidChannels);
        }
        let lookahead = lookahead_frames(settings, sample_rate);
        let (spread, reach, detector) = if settings.true_peak {
            (REACH, REACH, Some(PeakDetector::new(channels)))
        } else {
            (0, 0, None)
        };
        let window = lookahead + 2 * spread + 1;
        let delay_len = lookahead + spread + reach;
        let mut limiter = Self {
            channels,
            delay_len,
            delay: vec![T::zero(); channels * delay_len],
            delay_pos: 0,
            deque_index: vec![0; window],
            deque_gain: vec![1.0; window],
            minima: vec![1.0; lookahead + 1],
            curve: Curve {
                window,
                span: lookahead + 1,
                inverse_span: 1.0 / (lookahead + 1) as f64,
                deque_head: 0,
                deque_len: 0,
                minima_pos: 0,
                minima_sum: (lookahead + 1) as f64,
                minima_below_one: 0,
                frame: 0,
                gain: 1.0,
                release: (-1.0 / (settings.release_ms * 1e-3 * sample_rate as f64)).exp(),
                stats: GainStats::default(),
                gain_product: 1.0,
            },
            ceiling: 1.0,
            target: 1.0,
            clamp: T::one(),
            quiet: T::one(),
            true_peak: settings.true_peak,
            detector,
            peaks: vec![0.0; STEP],
            gains: vec![T::one(); STEP],
            wets: vec![T::one(); STEP],
            mix: 1.0,
            mix_step: 1.0 / ramp_frames.max(1) as f64,
            unclamped: 0,
        };
        limiter.set_ceiling_db(settings.ceiling_db);
        Ok(limiter)
    }

    /// A true-peak limiter (whatever `settings.true_peak` says) without a detector of its own:
    /// its peaks come from [`peak_envelope`] through
    /// [`process_span_with_peaks`](Self::process_span_with_peaks). For a whole signal limited
    /// at several gains (normalisation) the oversampling is then paid once instead of once per
    /// gain, and the output is the detecting limiter's. Allocates.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_given_peaks(
        channels: usize,
        sample_rate: u32,
        settings: &LimiterSettings,
        ramp_frames: usize,
    ) -> Result<Self, ConfigError> {
        let settings = LimiterSettings {
            true_peak: true,
            ..*settings
        };
        let mut limiter = Self::new(channels, sample_rate, &settings, ramp_frames)?;
        limiter.detector = None;
        limiter.set_ceiling_db(settings.ceiling_db);
        Ok(limiter)
    }

    /// Delay from input to output in frames: the lookahead, plus
    /// [`TRUE_PEAK_EXTRA_FRAMES`] in true-peak mode.
    pub fn latency(&self) -> usize {
        self.delay_len
    }

    /// Changes the ceiling (dBFS, checked by the caller) for frames entering from now on; frames
    /// already in the delay line are clamped to it as they leave. Real-time safe (one pass over
    /// the delay line).
    pub fn set_ceiling_db(&mut self, ceiling_db: f64) {
        self.ceiling = 10f64.powf(ceiling_db / 20.0);
        self.clamp = clamp_value(self.ceiling);
        (self.target, self.quiet) = match (&self.detector, self.true_peak) {
            (Some(d), _) => {
                let target = self.ceiling * 10f64.powf(-TRUE_PEAK_MARGIN_DB / 20.0);
                // A refined point is at most 1.2 times the largest oversampled point.
                (target, clamp_value(target / (1.2 * d.bound())))
            }
            // Peaks given by the caller: the quiet test is not used.
            (None, true) => (
                self.ceiling * 10f64.powf(-TRUE_PEAK_MARGIN_DB / 20.0),
                T::zero(),
            ),
            (None, false) => (self.ceiling, self.clamp),
        };
        let threshold = self.clamp;
        if self.delay.iter().any(|v| v.abs() > threshold) {
            self.unclamped = self.delay_len;
        }
    }

    /// The gain statistics since the last call; restarts them.
    pub fn take_stats(&mut self) -> GainStats {
        self.curve.fold_gain_product();
        std::mem::take(&mut self.curve.stats)
    }

    /// The gain applied to the last frame (linear).
    pub fn gain(&self) -> f64 {
        self.curve.gain
    }

    /// Ends a bypass crossfade at once: fully limited, or fully bypassed.
    pub fn settle_mix(&mut self, bypassed: bool) {
        self.mix = if bypassed { 0.0 } else { 1.0 };
    }

    /// Clears the delay line, the detector and the gain state (not the statistics). Real-time
    /// safe.
    pub fn reset(&mut self) {
        self.delay.fill(T::zero());
        self.delay_pos = 0;
        self.minima.fill(1.0);
        let curve = &mut self.curve;
        curve.deque_len = 0;
        curve.minima_sum = self.minima.len() as f64;
        curve.minima_below_one = 0;
        curve.gain = 1.0;
        self.unclamped = 0;
        if let Some(d) = &mut self.detector {
            d.reset();
        }
    }

    /// True when the limiter is at rest: unity gain, no reduction pending in its window and no
    /// detector point pending, so a block whose samples stay quiet passes as a pure delay.
    fn at_rest(&self) -> bool {
        self.curve.gain == 1.0
            && self.curve.minima_below_one == 0
            && self.unclamped == 0
            && !self.detector.as_ref().is_some_and(|d| d.pending())
    }

    /// The ceiling as a linear amplitude.
    pub fn ceiling(&self) -> f64 {
        self.ceiling
    }

    /// Limits a block of finite samples in place: `channels × frames` planar or interleaved
    /// (`x.len()` a multiple of the channel count, checked by the caller). Real-time safe.
    pub fn process_block(&mut self, x: &mut [T], layout: Layout) {
        let frames = x.len() / self.channels;
        self.process_span(x, frames, layout, 0, frames, false);
    }

    /// Limits frames `pos .. pos + take` of `x` (`channels × frames`, planar or interleaved) in
    /// place; `bypassed` crossfades towards (or stays at) the delayed input. The result does not
    /// depend on how a signal is split into spans. Real-time safe.
    pub fn process_span(
        &mut self,
        x: &mut [T],
        frames: usize,
        layout: Layout,
        pos: usize,
        take: usize,
        bypassed: bool,
    ) {
        let mut done = 0;
        while done < take {
            let n = (take - done).min(STEP);
            self.step(x, frames, layout, pos + done, n, bypassed, None);
            done += n;
        }
    }

    /// As [`process_span`](Self::process_span) (planar, not bypassed) for a limiter made by
    /// [`with_given_peaks`](Self::with_given_peaks): `peaks[i] · scale` is the detector's
    /// reading at frame `pos + i` (`peaks.len() ≥ take`), as [`peak_envelope`] gives it for the
    /// signal `x / scale`. Real-time safe.
    pub fn process_span_with_peaks(
        &mut self,
        x: &mut [T],
        frames: usize,
        pos: usize,
        take: usize,
        peaks: &[f32],
        scale: f64,
    ) {
        let mut done = 0;
        while done < take {
            let n = (take - done).min(STEP);
            let given = (&peaks[done..done + n], scale);
            self.step(x, frames, Layout::Planar, pos + done, n, false, Some(given));
            done += n;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        x: &mut [T],
        frames: usize,
        layout: Layout,
        pos: usize,
        n: usize,
        bypassed: bool,
        given: Option<(&[f32], f64)>,
    ) {
        let channels = self.channels;
        let at = |c: usize, i: usize| match layout {
            Layout::Planar => c * frames + pos + i,
            Layout::Interleaved => (pos + i) * channels + c,
        };
        let quiet = self.quiet;
        let loud = match (given, layout) {
            (Some((peaks, scale)), _) => {
                let highest = peaks.iter().fold(0.0f32, |m, &p| m.max(p));
                f64::from(highest) * scale > self.target
            }
            (None, Layout::Planar) => (0..channels).any(|c| {
                x[c * frames + pos..c * frames + pos + n]
                    .iter()
                    .fold(false, |o, v| o | (v.abs() > quiet))
            }),
            (None, Layout::Interleaved) => x[pos * channels..(pos + n) * channels]
                .iter()
                .fold(false, |o, v| o | (v.abs() > quiet)),
        };
        let steady = self.mix == if bypassed { 0.0 } else { 1.0 };
        if steady && !loud && self.at_rest() {
            self.delay_quiet(x, frames, layout, pos, n);
            return;
        }
        // Each frame's peak (true-peak mode: of the frame `reach` frames earlier).
        match (&mut self.detector, given) {
            (_, Some((peaks, scale))) => {
                for (p, &g) in self.peaks[..n].iter_mut().zip(peaks) {
                    *p = f64::from(g) * scale;
                }
            }
            (Some(d), None) => d.push(
                |c, i| x[at(c, i)],
                n,
                quiet,
                self.target / 1.2,
                &mut self.peaks,
            ),
            (None, None) => {
                for (i, p) in self.peaks[..n].iter_mut().enumerate() {
                    *p = (0..channels).fold(0.0f64, |m, c| m.max(x[at(c, i)].abs().as_f64()));
                }
            }
        }
        // Each frame's gain and bypass mix, then the frames leave the delay line and take them.
        // The gain computer's scalars live in registers for the loop.
        let mut ramping = false;
        let (mut curve, mut mix, target) = (self.curve, self.mix, self.target);
        let (index, queue, minima) = (
            &mut self.deque_index,
            &mut self.deque_gain,
            &mut self.minima,
        );
        // The required gains first (a loop that vectorizes), in place of the peaks.
        for p in &mut self.peaks[..n] {
            *p = if *p > target { target / *p } else { 1.0 };
        }
        let required = &self.peaks[..n];
        if steady && !bypassed {
            for (g, &r) in self.gains[..n].iter_mut().zip(required) {
                *g = T::of_f64(curve.next(r, index, queue, minima));
            }
        } else {
            for (i, &r) in required.iter().enumerate() {
                self.gains[i] = T::of_f64(curve.next(r, index, queue, minima));
                mix = if bypassed {
                    (mix - self.mix_step).max(0.0)
                } else {
                    (mix + self.mix_step).min(1.0)
                };
                self.wets[i] = T::of_f64(mix);
                ramping |= mix != 1.0;
            }
        }
        (self.curve, self.mix) = (curve, mix);
        self.swap_delay(x, frames, layout, pos, n);
        self.unclamped = self.unclamped.saturating_sub(n);
        let ceiling = self.clamp;
        // `dry · 1` is `dry`: frames at unity gain pass unchanged, as the fast path passes them.
        let limit = |dry: T, g: T| (dry * g).max(-ceiling).min(ceiling);
        let (gains, wets) = (&self.gains[..n], &self.wets[..n]);
        let apply = |dry: T, i: usize| {
            let limited = limit(dry, gains[i]);
            if !ramping || wets[i] == T::one() {
                limited
            } else {
                dry + (limited - dry) * wets[i]
            }
        };
        match layout {
            Layout::Planar => {
                for c in 0..channels {
                    let row = &mut x[c * frames + pos..c * frames + pos + n];
                    if ramping {
                        for (i, v) in row.iter_mut().enumerate() {
                            *v = apply(*v, i);
                        }
                    } else {
                        for (v, &g) in row.iter_mut().zip(gains) {
                            *v = limit(*v, g);
                        }
                    }
                }
            }
            Layout::Interleaved => {
                for (i, f) in x[pos * channels..(pos + n) * channels]
                    .chunks_exact_mut(channels)
                    .enumerate()
                {
                    for v in f {
                        *v = apply(*v, i);
                    }
                }
            }
        }
    }

    /// Passes frames `pos .. pos + n` through the delay line: each takes the place of the frame
    /// `delay_len` frames older, which it leaves in `x`.
    fn swap_delay(&mut self, x: &mut [T], frames: usize, layout: Layout, pos: usize, n: usize) {
        let (channels, l) = (self.channels, self.delay_len);
        for c in 0..channels {
            let ring = &mut self.delay[c * l..(c + 1) * l];
            let mut slot = self.delay_pos;
            match layout {
                Layout::Planar => {
                    let row = &mut x[c * frames + pos..c * frames + pos + n];
                    let mut done = 0;
                    while done < n {
                        // Swapping with the ring slot written `l` frames earlier delays by `l`.
                        let k = (n - done).min(l - slot);
                        row[done..done + k].swap_with_slice(&mut ring[slot..slot + k]);
                        done += k;
                        slot = if slot + k == l { 0 } else { slot + k };
                    }
                }
                Layout::Interleaved => {
                    for i in 0..n {
                        std::mem::swap(&mut x[(pos + i) * channels + c], &mut ring[slot]);
                        slot = if slot + 1 == l { 0 } else { slot + 1 };
                    }
                }
            }
        }
        self.delay_pos = (self.delay_pos + n) % l;
    }

    /// The pure-delay path for `n` quiet frames while at rest: the output is the input delayed
    /// by the latency, bit for bit, and the state ends as the frame-by-frame path leaves it.
    fn delay_quiet(&mut self, x: &mut [T], frames: usize, layout: Layout, pos: usize, n: usize) {
        let channels = self.channels;
        if let Some(d) = &mut self.detector {
            let at = |c: usize, i: usize| match layout {
                Layout::Planar => c * frames + pos + i,
                Layout::Interleaved => (pos + i) * channels + c,
            };
            d.skip(|c, i| x[at(c, i)], n, self.quiet);
        }
        self.swap_delay(x, frames, layout, pos, n);
        // Every required gain was 1: the sliding minimum is the newest frame, at 1.
        let curve = &mut self.curve;
        curve.frame += n as u64;
        curve.stats.frames += n as u64;
        curve.deque_head = 0;
        curve.deque_len = 1;
        self.deque_index[0] = curve.frame - 1;
        self.deque_gain[0] = 1.0;
    }
}

/// The scalars of a limiter's gain computer: the deque's head and length (its ring is the
/// limiter's), the running average of the sliding minima, the gain and the statistics. Copied
/// into locals for a step so that they stay in registers.
#[derive(Clone, Copy, Debug)]
struct Curve {
    /// Frames of the sliding minimum, and of its average (`lookahead + 1`).
    window: usize,
    span: usize,
    inverse_span: f64,
    deque_head: usize,
    deque_len: usize,
    minima_pos: usize,
    /// Sum of the last `span` minima, and how many are below 1.
    minima_sum: f64,
    minima_below_one: usize,
    frame: u64,
    gain: f64,
    release: f64,
    stats: GainStats,
    /// Product of the gains of limited frames not yet folded into `stats.reduction_db_sum`
    /// (one multiplication per frame instead of a logarithm; folded before it can underflow).
    gain_product: f64,
}

impl Curve {
    /// The gain for the frame leaving the delay line, given the newest frame's required gain;
    /// `index`/`queue` hold the deque (a ring of `window`), `minima` the last `span` minima.
    #[inline]
    fn next(
        &mut self,
        required: f64,
        index: &mut [u64],
        queue: &mut [f64],
        minima: &mut [f64],
    ) -> f64 {
        let (window, span) = (self.window, self.span);
        let wrap = |i: usize, n: usize| if i >= n { i - n } else { i };
        let t = self.frame;
        // Evict the frame that left the window first, so the ring never holds more than
        // `window` (one frame enters per call and indices rise, so at most one leaves).
        if self.deque_len > 0 && index[self.deque_head] + (window as u64) <= t {
            self.deque_head = wrap(self.deque_head + 1, window);
            self.deque_len -= 1;
        }
        while self.deque_len > 0 {
            let back = wrap(self.deque_head + self.deque_len - 1, window);
            if queue[back] >= required {
                self.deque_len -= 1;
            } else {
                break;
            }
        }
        let back = wrap(self.deque_head + self.deque_len, window);
        index[back] = t;
        queue[back] = required;
        self.deque_len += 1;
        let minimum = queue[self.deque_head];
        // Its average over the last lookahead + 1 frames.
        let old = std::mem::replace(&mut minima[self.minima_pos], minimum);
        self.minima_pos = wrap(self.minima_pos + 1, span);
        self.minima_below_one =
            self.minima_below_one + usize::from(minimum < 1.0) - usize::from(old < 1.0);
        let average = if self.minima_below_one == 0 {
            self.minima_sum = span as f64;
            1.0
        } else {
            self.minima_sum += minimum - old;
            (self.minima_sum * self.inverse_span).min(1.0)
        };
        self.gain = if average <= self.gain {
            average
        } else {
            let g = average + (self.gain - average) * self.release;
            if average == 1.0 && 1.0 - g < SNAP {
                1.0
            } else {
                g
            }
        };
        self.frame += 1;
        self.stats.frames += 1;
        if self.gain < 1.0 {
            self.stats.limited_frames += 1;
            self.stats.min_gain = self.stats.min_gain.min(self.gain);
            self.gain_product *= self.gain;
            if self.gain_product < 1e-250 {
                self.fold_gain_product();
            }
        }
        self.gain
    }

    fn fold_gain_product(&mut self) {
        self.stats.reduction_db_sum += 20.0 * self.gain_product.log10();
        self.gain_product = 1.0;
    }
}

/// Frames per task of [`peak_envelope`].
const ENVELOPE_CHUNK: usize = 1 << 16;
/// Frames a task of [`peak_envelope`] reads before its first frame, so that its detector holds
/// the history a single detector would (a multiple of the detector's block, above its support).
const ENVELOPE_WARM_UP: usize = 2 * DETECTOR_BLOCK;

/// Writes the true-peak detector's reading at each frame `0..envelope.len()` of planar `x`
/// (`channels × frames`, silence after its end) — what a true-peak [`Limiter`] fed `x`
/// computes, frame for frame, for [`Limiter::process_span_with_peaks`] — rounded up to `f32`.
/// Points at or below `refine_above` skip their parabola refinement, so the envelope serves
/// every scale `s` with `s · 1.2 · refine_above` at or below the limiter's target (0 serves any
/// scale). Runs on rayon's threads in independent stretches (each one's detector first reads
/// the frames before it, so the result does not depend on the split). Allocates nothing.
pub fn peak_envelope<T: Sample>(x: &[T], channels: usize, envelope: &mut [f32], refine_above: f64) {
    use rayon::prelude::*;
    let frames = x.len() / channels.max(1);
    envelope
        .par_chunks_mut(ENVELOPE_CHUNK)
        .enumerate()
        .for_each(|(k, out)| {
            let start = k * ENVELOPE_CHUNK;
            let mut detector = PeakDetector::<T>::new(channels);
            let mut peaks = [0.0f64; DETECTOR_BLOCK];
            let read = |at: usize| {
                move |c: usize, i: usize| {
                    let f = at + i;
                    if f < frames {
                        x[c * frames + f]
                    } else {
                        T::zero()
                    }
                }
            };
            let mut at = start.saturating_sub(ENVELOPE_WARM_UP);
            while at < start {
                let n = (start - at).min(DETECTOR_BLOCK);
                detector.push(read(at), n, T::zero(), refine_above, &mut peaks);
                at += n;
            }
            for block in out.chunks_mut(DETECTOR_BLOCK) {
                let n = block.len();
                detector.push(read(at), n, T::zero(), refine_above, &mut peaks);
                for (e, &p) in block.iter_mut().zip(&peaks[..n]) {
                    *e = f32_at_least(p);
                }
                at += n;
            }
        });
}

/// The smallest `f32` at or above `v` (finite, ≥ 0).
fn f32_at_least(v: f64) -> f32 {
    let f = v as f32;
    if f64::from(f) < v {
        f32::from_bits(f.to_bits() + 1)
    } else {
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lim: &mut Limiter<f64>, x: &[f64]) -> Vec<f64> {
        let mut y = x.to_vec();
        lim.process_block(&mut y, Layout::Planar);
        y
    }

    #[test]
    fn a_lowered_ceiling_clamps_delayed_frames_even_on_the_fast_path() {
        // Found by fuzzing: a sample under the old ceiling waits in the delay line, the ceiling
        // drops below it, and a silent block (at rest, nothing over) took the pure-delay path.
        for settings in [LimiterSettings::sample_peak(), LimiterSettings::default()] {
            let settings = LimiterSettings {
                ceiling_db: 0.0,
                ..settings
            };
            let mut lim = Limiter::<f32>::new(1, 8000, &settings, 1).unwrap();
            let mut first = [-0.984f32];
            lim.process_block(&mut first, Layout::Planar);
            assert_eq!(first, [0.0]);
            lim.set_ceiling_db(-1.0);
            let mut block = vec![0.0f32; 16_000];
            lim.process_block(&mut block, Layout::Planar);
            let ceiling = 10f64.powf(-1.0 / 20.0);
            assert!(block.iter().all(|v| f64::from(v.abs()) <= ceiling));
            if !settings.true_peak {
                assert_eq!(
                    f64::from(block[lim.latency() - 1]),
                    -f64::from(clamp_value::<f32>(ceiling))
                );
            }
            // Once the delay line has drained through the clamp, the fast path is back.
            assert!(lim.at_rest());
        }
    }

    #[test]
    fn the_f32_clamp_never_rounds_above_the_ceiling() {
        for db in [-0.1, -20.0, -1.0, -6.0, -0.01, -59.9] {
            let c = 10f64.powf(db / 20.0);
            let t: f32 = clamp_value(c);
            assert!(f64::from(t) <= c && f64::from(t) > c * (1.0 - 3e-7), "{db}");
        }
    }

    #[test]
    fn rising_required_gains_keep_the_window_minimum() {
        // Peaks falling frame after frame make the required gain rise monotonically, which fills
        // the deque; the minimum must still be the oldest frame of the window.
        let settings = LimiterSettings {
            lookahead_ms: 1.0,
            ..LimiterSettings::sample_peak()
        };
        let mut lim = Limiter::<f64>::new(1, 8000, &settings, 1).unwrap();
        let x: Vec<f64> = (0..400).map(|i| 4.0 - i as f64 * 0.009).collect();
        let y = run(&mut lim, &x);
        let ceiling = 10f64.powf(-1.0 / 20.0);
        assert!(y.iter().all(|v| v.abs() <= ceiling));
    }

    #[test]
    fn any_block_split_gives_the_same_output() {
        for settings in [LimiterSettings::sample_peak(), LimiterSettings::default()] {
            let x: Vec<f64> = (0..20_000)
                .map(|i| {
                    let t = i as f64;
                    let env = if (5000..12_000).contains(&i) {
                        3.0
                    } else {
                        0.3
                    };
                    env * (t * 0.01).sin() + if i == 15_000 { 4.0 } else { 0.0 }
                })
                .collect();
            let mut a = Limiter::<f64>::new(1, 48_000, &settings, 1).unwrap();
            let whole = run(&mut a, &x);
            for size in [1, 7, 97, 256, 1000] {
                let mut b = Limiter::<f64>::new(1, 48_000, &settings, 1).unwrap();
                let mut y = x.clone();
                for block in y.chunks_mut(size) {
                    b.process_block(block, Layout::Planar);
                }
                let first = whole.iter().zip(&y).position(|(a, b)| a != b);
                assert!(
                    first.is_none(),
                    "{settings:?} block {size}: first difference at {first:?}"
                );
            }
        }
    }

    #[test]
    fn nothing_above_the_ceiling_and_transparent_below() {
        for settings in [LimiterSettings::sample_peak(), LimiterSettings::default()] {
            let ceiling = 10f64.powf(-1.0 / 20.0);
            let mut lim = Limiter::<f64>::new(1, 48_000, &settings, 1).unwrap();
            let l = lim.latency();
            // Quiet, then a +24 dB burst with single-sample spikes, then quiet again.
            let mut x: Vec<f64> = (0..144_000)
                .map(|i| 0.3 * (i as f64 * 0.05).sin())
                .collect();
            for v in &mut x[10_000..20_000] {
                *v *= 16.0;
            }
            x[30_000] = 20.0;
            x[30_001] = -20.0;
            let y = run(&mut lim, &x);
            assert!(
                y.iter().all(|v| v.abs() <= ceiling),
                "max {}",
                y.iter().fold(0.0f64, |m, v| m.max(v.abs()))
            );
            // Before the burst reaches the lookahead window the output is the delayed input.
            for i in l..10_000 - l {
                assert_eq!(y[i], x[i - l]);
            }
            // Long after the last spike (release time constant 100 ms) it is exact again.
            for i in 120_000..144_000 {
                assert_eq!(y[i], x[i - l]);
            }
            let stats = lim.take_stats();
            assert_eq!(stats.frames, 144_000);
            assert!(stats.max_reduction_db() < -20.0 && stats.mean_reduction_db() < 0.0);
        }
    }

    #[test]
    fn the_bypass_crossfades_to_the_delayed_input() {
        let mut lim = Limiter::<f64>::new(1, 48_000, &LimiterSettings::default(), 100).unwrap();
        let l = lim.latency();
        let x: Vec<f64> = (0..4000).map(|i| 2.0 * (i as f64 * 0.03).sin()).collect();
        let mut y = x.clone();
        lim.process_span(&mut y, 4000, Layout::Planar, 0, 4000, true);
        // After the 100-frame ramp the output is the delayed input.
        for i in 200..4000 {
            assert_eq!(y[i], x[i - l]);
        }
    }

    /// Stereo planar test music: noise bursts, a sine near fs/4 at 45°, single-sample spikes.
    fn loud_signal(frames: usize) -> Vec<f32> {
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut x = vec![0.0f32; 2 * frames];
        for c in 0..2 {
            for i in 0..frames {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let noise = (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                let burst = if (i / 3000) % 3 == 0 { 1.6 } else { 0.2 };
                let tone = (std::f32::consts::FRAC_PI_2 * i as f32 + 0.785).sin();
                x[c * frames + i] = burst * noise + 0.5 * tone;
            }
            x[c * frames + frames / 3] = 1.9;
        }
        x
    }

    #[test]
    fn given_peaks_limit_as_the_detecting_limiter_does() {
        // The envelope of x scaled by g stands for the detector reading g·x: the outputs agree
        // to the rounding of g·x (the envelope is rounded up, so never lower).
        let frames = 150_000;
        let x = loud_signal(frames);
        let settings = LimiterSettings::default();
        let lat = latency_frames(&settings, 44_100);
        let mut envelope = vec![0.0; frames + lat];
        peak_envelope(&x, 2, &mut envelope, 0.0);
        for g in [0.3f32, 1.0, 2.7] {
            let mut a: Vec<f32> = x.iter().map(|v| v * g).collect();
            let mut b = a.clone();
            let mut detecting = Limiter::<f32>::new(2, 44_100, &settings, 1).unwrap();
            assert_eq!(detecting.latency(), lat);
            detecting.process_block(&mut a, Layout::Planar);
            let mut given = Limiter::<f32>::with_given_peaks(2, 44_100, &settings, 1).unwrap();
            given.process_span_with_peaks(&mut b, frames, 0, 70_001, &envelope, f64::from(g));
            given.process_span_with_peaks(
                &mut b,
                frames,
                70_001,
                frames - 70_001,
                &envelope[70_001..],
                f64::from(g),
            );
            let worst = a
                .iter()
                .zip(&b)
                .fold(0.0f32, |m, (p, q)| m.max((p - q).abs()));
            assert!(worst <= 2e-6, "gain {g}: differs by {worst}");
            assert_eq!(detecting.take_stats().frames, given.take_stats().frames);
        }
    }

    #[test]
    fn the_envelope_does_not_depend_on_its_split() {
        let frames = 3 * ENVELOPE_CHUNK + 999;
        let x = loud_signal(frames);
        let len = frames + 100;
        let mut envelope = vec![0.0; len];
        peak_envelope(&x, 2, &mut envelope, 0.0);
        let mut detector = PeakDetector::<f32>::new(2);
        let mut peaks = [0.0f64; DETECTOR_BLOCK];
        let mut at = 0;
        while at < len {
            let n = (len - at).min(DETECTOR_BLOCK);
            let read = |c: usize, i: usize| {
                if at + i < frames {
                    x[c * frames + at + i]
                } else {
                    0.0
                }
            };
            detector.push(read, n, 0.0, 0.0, &mut peaks);
            for i in 0..n {
                assert_eq!(envelope[at + i], f32_at_least(peaks[i]), "frame {}", at + i);
                assert!(f64::from(envelope[at + i]) >= peaks[i]);
            }
            at += n;
        }
    }
}
