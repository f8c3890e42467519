//! Loudness per ITU-R BS.1770-4 / EBU R128 (momentary, short-term, integrated, loudness range,
//! true peak), all from one pass of tonecore's own K-weighting: each channel is filtered in f64
//! (two channels per loop, so their recurrences overlap) and the weighted energy of every
//! 100 ms step is kept. The rest is arithmetic on those steps: momentary (4 steps) and
//! short-term (30 steps) windows, the gated integrated loudness (400 ms blocks every 100 ms,
//! −70 LUFS absolute and −10 LU relative gates) and the loudness range (EBU Tech 3342: 3 s
//! windows every second, −20 LU relative gate, 10th to 95th percentile). Step length, block
//! placement, gates and percentiles follow libebur128 (and its Rust port, the `ebur128` crate,
//! which the tests use as the reference), so the values agree to rounding. The crate itself is
//! not used: its per-sample filter and gating cost about three times as much, which was most of
//! `tonecore process`'s time. True peak comes from tonecore's own 4× polyphase oversampler
//! ([`super::truepeak`], shared with the limiter), which skips blocks that cannot raise the peak.
//!
//! Channel weighting follows libebur128's default map: 1 channel is one front channel (not
//! dual-mono: a mono file reads 3 LU lower than the same signal on both stereo channels);
//! 2 = L R; 3 = L R C; 4 = L R Ls Rs; 5 = L R C Ls Rs; 6 = L R C LFE Ls Rs (LFE not counted);
//! further channels are not counted (BS.1770 defines no weight for them).

use super::truepeak::TruePeakMeter;
use super::Sample;
use crate::{ConfigError, ProcessError};
use multiversion::{multiversion, target::target_cfg_f};

pub use crate::limits::{MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};

/// What a full measurement reports. Loudness in LUFS, range in LU, true peak in dBTP;
/// `-inf` where the signal is too short or too quiet for a value (below the absolute gate).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoudnessReport {
    /// Gated integrated loudness (LUFS).
    pub integrated: f64,
    /// Largest momentary loudness (400 ms windows every 100 ms), LUFS.
    pub momentary_max: f64,
    /// Largest short-term loudness (3 s windows every 100 ms), LUFS.
    pub short_term_max: f64,
    /// Loudness range (EBU Tech 3342), LU.
    pub range: f64,
    /// Largest true peak over all channels (4× oversampled, BS.1770-4 Annex 2), dBTP.
    pub true_peak: f64,
}

/// A streaming loudness meter. Feed planar blocks of any size with [`add`](Self::add); read
/// [`report`](Self::report) at any time. Not for the audio thread (it keeps every 100 ms step's
/// energy, 80 bytes a second, in a growing vector).
pub struct LoudnessMeter {
    steps: StepEnergies,
    /// `None` when [`measure`] takes the true peak on other threads.
    true_peak: Option<PeakMeter>,
    channels: usize,
    sample_rate: u32,
    momentary_max: f64,
    short_term_max: f64,
}

/// The true-peak meter of a [`LoudnessMeter`], in the precision of the first samples added
/// (`f32` runs twice the lanes of `f64`); later samples of the other type are converted.
enum PeakMeter {
    Unset(usize),
    Single(Box<TruePeakMeter<f32>>, Vec<f32>),
    Double(Box<TruePeakMeter<f64>>, Vec<f64>),
}

impl PeakMeter {
    fn add<T: Sample>(&mut self, c: usize, plane: &[T]) {
        if let Self::Unset(channels) = *self {
            *self = if std::mem::size_of::<T>() == 4 {
                Self::Single(Box::new(TruePeakMeter::new(channels)), Vec::new())
            } else {
                Self::Double(Box::new(TruePeakMeter::new(channels)), Vec::new())
            };
        }
        for part in plane.chunks(TP_CHUNK) {
            match self {
                Self::Single(tp, scratch) => {
                    scratch.clear();
                    scratch.extend(part.iter().map(|v| v.as_f64() as f32));
                    tp.add(c, scratch);
                }
                Self::Double(tp, scratch) => {
                    scratch.clear();
                    scratch.extend(part.iter().map(|v| v.as_f64()));
                    tp.add(c, scratch);
                }
                Self::Unset(_) => {}
            }
        }
    }

    fn peak(&self) -> f64 {
        let peaks = match self {
            Self::Single(tp, _) => tp.peaks(),
            Self::Double(tp, _) => tp.peaks(),
            Self::Unset(_) => &[],
        };
        peaks.iter().fold(0.0f64, |m, &p| m.max(p))
    }
}

/// Samples converted to f64 at a time for the true-peak meter.
const TP_CHUNK: usize = 1 << 12;

/// 100 ms steps in a short-term (3 s) window.
const SHORT_TERM_STEPS: usize = 30;
/// 100 ms steps in a momentary (400 ms) window, the gating block.
const MOMENTARY_STEPS: usize = 4;
/// 100 ms steps between two short-term windows of the loudness range (1 s).
const RANGE_HOP_STEPS: usize = 10;
/// The absolute gate (−70 LUFS) as an energy: `10^((−70 + 0.691) / 10)`.
const ABSOLUTE_GATE: f64 = 1.172_465_304_582_298e-7;

fn energy_to_lufs(energy: f64) -> f64 {
    if energy > 0.0 {
        -0.691 + 10.0 * energy.log10()
    } else {
        f64::NEG_INFINITY
    }
}

/// The K-weighted energy of each 100 ms step of a planar stream: `Σ_c w_c Σ_t k_c(t)²` over the
/// step's `(rate + 5) / 10` frames.
pub(crate) struct StepEnergies {
    filters: Vec<KWeighting>,
    /// Channel weights (BS.1770; 0 for channels not counted).
    weights: Vec<f64>,
    /// Frames per step.
    step: usize,
    /// Frames of the current step so far, and their weighted energy.
    pending: usize,
    energy: f64,
    /// Every completed step's energy.
    done: Vec<f64>,
}

impl StepEnergies {
    /// Steps for `channels` (1–[`MAX_CHANNELS`]) at `sample_rate` (checked by the caller).
    pub(crate) fn new(channels: usize, sample_rate: u32) -> Self {
        Self {
            filters: vec![KWeighting::new(sample_rate); channels],
            weights: (0..channels).map(|c| channel_weight(channels, c)).collect(),
            step: ((sample_rate as usize + 5) / 10).max(1),
            pending: 0,
            energy: 0.0,
            done: Vec::new(),
        }
    }

    /// Adds planar `input` (`channels × frames`, finite, checked by the caller); calls `on_step`
    /// with the steps so far each time one ends.
    pub(crate) fn add<T: Sample>(&mut self, input: &[T], on_step: impl FnMut(&[f64])) {
        let frames = input.len() / self.filters.len();
        let planes: Vec<&[T]> = input.chunks_exact(frames.max(1)).collect();
        self.add_planes(&planes, on_step);
    }

    /// As [`add`](Self::add), one slice per channel (equal lengths).
    pub(crate) fn add_planes<T: Sample>(
        &mut self,
        planes: &[&[T]],
        mut on_step: impl FnMut(&[f64]),
    ) {
        let channels = self.filters.len();
        let frames = planes.first().map_or(0, |p| p.len());
        let mut pos = 0;
        while pos < frames {
            let take = (self.step - self.pending).min(frames - pos);
            let plane = |c: usize| &planes[c][pos..pos + take];
            let mut c = 0;
            while c < channels {
                if self.weights[c] == 0.0 {
                    c += 1;
                    continue;
                }
                // The next counted channel shares the loop, so the two recurrences overlap.
                match (c + 1..channels).find(|&d| self.weights[d] != 0.0) {
                    Some(d) => {
                        let (head, tail) = self.filters.split_at_mut(d);
                        let (e0, e1) =
                            KWeighting::energy_pair(&mut head[c], &mut tail[0], plane(c), plane(d));
                        self.energy += self.weights[c] * e0 + self.weights[d] * e1;
                        c = d + 1;
                    }
                    None => {
                        self.energy += self.weights[c] * self.filters[c].energy(plane(c));
                        c = channels;
                    }
                }
            }
            pos += take;
            self.pending += take;
            if self.pending == self.step {
                self.done.push(std::mem::take(&mut self.energy));
                self.pending = 0;
                on_step(&self.done);
            }
        }
    }

    /// The mean-square energy of the `n` steps ending before step `end`; steps before the first
    /// count as silence.
    fn window(&self, end: usize, n: usize) -> f64 {
        let sum: f64 = self.done[end.saturating_sub(n)..end].iter().sum();
        sum / (n * self.step) as f64
    }

    /// The gated integrated loudness, LUFS (`-inf` below the gates or before 400 ms).
    pub(crate) fn integrated(&self) -> f64 {
        let blocks = (MOMENTARY_STEPS..=self.done.len())
            .map(|end| self.window(end, MOMENTARY_STEPS))
            .filter(|&e| e >= ABSOLUTE_GATE);
        let mean = |it: &mut dyn Iterator<Item = f64>| {
            let (n, sum) = it.fold((0usize, 0.0), |(n, s), e| (n + 1, s + e));
            (n > 0).then(|| sum / n as f64)
        };
        let Some(ungated) = mean(&mut blocks.clone()) else {
            return f64::NEG_INFINITY;
        };
        let relative = ungated * 0.1;
        mean(&mut blocks.filter(|&e| e >= relative)).map_or(f64::NEG_INFINITY, energy_to_lufs)
    }

    /// The loudness range, LU (0 when no window passes the gates).
    fn range(&self) -> f64 {
        let mut windows: Vec<f64> = (SHORT_TERM_STEPS..=self.done.len())
            .step_by(RANGE_HOP_STEPS)
            .map(|end| self.window(end, SHORT_TERM_STEPS))
            .filter(|&e| e >= ABSOLUTE_GATE)
            .collect();
        if windows.is_empty() {
            return 0.0;
        }
        windows.sort_by(f64::total_cmp);
        let relative = windows.iter().sum::<f64>() / windows.len() as f64 * 0.01;
        let gated = &windows[windows.partition_point(|&e| e < relative)..];
        let Some(last) = gated.len().checked_sub(1) else {
            return 0.0;
        };
        let at = |p: f64| gated[(last as f64 * p + 0.5) as usize];
        energy_to_lufs(at(0.95)) - energy_to_lufs(at(0.10))
    }

    fn reset(&mut self) {
        for f in &mut self.filters {
            f.reset();
        }
        self.pending = 0;
        self.energy = 0.0;
        self.done.clear();
    }
}

/// The BS.1770 K-weighting (a high shelf, then the RLB high-pass) designed for any sample rate
/// by the bilinear transform from its analogue prototype (the published parameters below, the
/// ones libebur128 and the `ebur128` crate use; at 48 kHz they give the standard's
/// coefficients), run in f64 (transposed direct form II).
#[derive(Clone, Copy, Debug)]
pub(crate) struct KWeighting {
    shelf: [f64; 5],
    high_pass: [f64; 5],
    state: [f64; 4],
}

impl KWeighting {
    pub(crate) fn new(sample_rate: u32) -> Self {
        let rate = f64::from(sample_rate);
        let (f0, gain_db, q) = (
            1_681.974_450_955_533,
            3.999_843_853_973_347,
            0.707_175_236_955_419_6,
        );
        let k = (std::f64::consts::PI * f0 / rate).tan();
        let vh = 10f64.powf(gain_db / 20.0);
        let vb = vh.powf(0.499_666_774_154_541_6);
        let a0 = 1.0 + k / q + k * k;
        let shelf = [
            (vh + vb * k / q + k * k) / a0,
            2.0 * (k * k - vh) / a0,
            (vh - vb * k / q + k * k) / a0,
            2.0 * (k * k - 1.0) / a0,
            (1.0 - k / q + k * k) / a0,
        ];
        let (f0, q) = (38.135_470_876_024_44, 0.500_327_037_323_877_3);
        let k = (std::f64::consts::PI * f0 / rate).tan();
        let a0 = 1.0 + k / q + k * k;
        let high_pass = [
            1.0,
            -2.0,
            1.0,
            2.0 * (k * k - 1.0) / a0,
            (1.0 - k / q + k * k) / a0,
        ];
        Self {
            shelf,
            high_pass,
            state: [0.0; 4],
        }
    }

    /// Clears the filter state.
    pub(crate) fn reset(&mut self) {
        self.state = [0.0; 4];
    }

    /// Filters `x` and returns the sum of the squared output.
    pub(crate) fn energy<T: Sample>(&mut self, x: &[T]) -> f64 {
        k_energy(self, x)
    }

    /// [`energy`](Self::energy) of two channels in one loop (`x.len() == y.len()`): each
    /// sample's recurrence waits on the previous one, so two independent ones run in the
    /// time of one.
    fn energy_pair<T: Sample>(p: &mut Self, q: &mut Self, x: &[T], y: &[T]) -> (f64, f64) {
        k_energy_pair(p, q, x, y)
    }
}

/// `a·b + c`, fused into one rounding when `fused` (which shortens each sample's chain of
/// dependent operations from three roundings to two).
#[inline(always)]
fn fma(a: f64, b: f64, c: f64, fused: bool) -> f64 {
    if fused {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// One sample through one channel's filter: returns the output, updates the state.
#[inline(always)]
fn k_sample(f: &KWeighting, s: &mut [f64; 4], v: f64, fused: bool) -> f64 {
    let [b0, b1, b2, a1, a2] = f.shelf;
    let [c0, c1, c2, d1, d2] = f.high_pass;
    let u = fma(b0, v, s[0], fused);
    s[0] = fma(-a1, u, fma(b1, v, s[1], fused), fused);
    s[1] = fma(-a2, u, b2 * v, fused);
    let w = fma(c0, u, s[2], fused);
    s[2] = fma(-d1, w, fma(c1, u, s[3], fused), fused);
    s[3] = fma(-d2, w, c2 * u, fused);
    w
}

// The filter loops, compiled again with fused multiply-add and chosen at run time.

#[multiversion(targets("x86_64+avx2+fma"))]
fn k_energy<T: Sample>(f: &mut KWeighting, x: &[T]) -> f64 {
    let fused = target_cfg_f!(target_feature = "fma");
    let mut s = f.state;
    let mut sum = 0.0;
    for v in x {
        let w = k_sample(f, &mut s, v.as_f64(), fused);
        sum = fma(w, w, sum, fused);
    }
    f.state = s;
    sum
}

#[multiversion(targets("x86_64+avx2+fma"))]
fn k_energy_pair<T: Sample>(
    p: &mut KWeighting,
    q: &mut KWeighting,
    x: &[T],
    y: &[T],
) -> (f64, f64) {
    let fused = target_cfg_f!(target_feature = "fma");
    let (mut s, mut r) = (p.state, q.state);
    let (mut sum, mut sum2) = (0.0, 0.0);
    for (v, z) in x.iter().zip(y) {
        let w = k_sample(p, &mut s, v.as_f64(), fused);
        let w2 = k_sample(q, &mut r, z.as_f64(), fused);
        sum = fma(w, w, sum, fused);
        sum2 = fma(w2, w2, sum2, fused);
    }
    p.state = s;
    q.state = r;
    (sum, sum2)
}

/// The BS.1770 weight of channel `c` of `channels` in libebur128's default map.
fn channel_weight(channels: usize, c: usize) -> f64 {
    // Surround channels weigh 1.41; the fourth of six is the LFE (not counted); beyond six none.
    const SIX: [f64; 6] = [1.0, 1.0, 1.0, 0.0, 1.41, 1.41];
    match channels {
        4 => [1.0, 1.0, 1.41, 1.41][c],
        5 => [1.0, 1.0, 1.0, 1.41, 1.41][c],
        _ => SIX.get(c).copied().unwrap_or(0.0),
    }
}

fn to_db(linear: f64) -> f64 {
    if linear > 0.0 {
        20.0 * linear.log10()
    } else {
        f64::NEG_INFINITY
    }
}

impl LoudnessMeter {
    /// A meter for `channels` planar channels at `sample_rate` Hz measuring everything
    /// ([`LoudnessReport`]).
    ///
    /// # Errors
    /// [`ConfigError::InvalidChannels`] for 0 or more than [`MAX_CHANNELS`];
    /// [`ConfigError::InvalidSampleRate`] outside [`MIN_SAMPLE_RATE`]–[`MAX_SAMPLE_RATE`]
    /// (8 kHz–2.8224 MHz).
    pub fn new(channels: usize, sample_rate: u32) -> Result<Self, ConfigError> {
        check_format(channels, sample_rate)?;
        Ok(Self {
            steps: StepEnergies::new(channels, sample_rate),
            true_peak: Some(PeakMeter::Unset(channels)),
            channels,
            sample_rate,
            momentary_max: f64::NEG_INFINITY,
            short_term_max: f64::NEG_INFINITY,
        })
    }

    /// Channels measured.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Adds planar samples (`channels × frames`, `frames = input.len() / channels`).
    ///
    /// # Errors
    /// Input not a whole number of frames; non-finite samples or samples beyond ±2^20
    /// ([`MAX_INPUT_MAGNITUDE`](super::MAX_INPUT_MAGNITUDE), where the f64 energies would
    /// overflow into NaN loudness) — refused, nothing is added.
    pub fn add<T: Sample>(&mut self, input: &[T]) -> Result<(), ProcessError> {
        if input.len() % self.channels != 0 {
            return Err(ProcessError::InputShape);
        }
        if !super::all_in_range(input) {
            return Err(ProcessError::NonFinite);
        }
        if let Some(tp) = &mut self.true_peak {
            let frames = input.len() / self.channels;
            for (c, plane) in input.chunks_exact(frames.max(1)).enumerate() {
                tp.add(c, plane);
            }
        }
        let step = self.steps.step;
        let (momentary_max, short_term_max) = (&mut self.momentary_max, &mut self.short_term_max);
        self.steps.add(input, |done| {
            // Windows reaching before the start count silence there, as libebur128's do.
            let window = |n: usize| {
                let sum: f64 = done[done.len().saturating_sub(n)..].iter().sum();
                energy_to_lufs(sum / (n * step) as f64)
            };
            *momentary_max = momentary_max.max(window(MOMENTARY_STEPS));
            *short_term_max = short_term_max.max(window(SHORT_TERM_STEPS));
        });
        Ok(())
    }

    /// The measurement so far.
    pub fn report(&self) -> LoudnessReport {
        let true_peak = self.true_peak.as_ref().map_or(0.0, PeakMeter::peak);
        LoudnessReport {
            integrated: self.steps.integrated(),
            momentary_max: self.momentary_max,
            short_term_max: self.short_term_max,
            range: self.steps.range(),
            true_peak: to_db(true_peak),
        }
    }

    /// The momentary loudness (the last four completed 100 ms steps) in LUFS.
    pub fn momentary(&self) -> f64 {
        let done = self.steps.done.len();
        if done == 0 {
            return f64::NEG_INFINITY;
        }
        energy_to_lufs(self.steps.window(done, MOMENTARY_STEPS))
    }

    /// Forgets everything measured.
    pub fn reset(&mut self) {
        self.steps.reset();
        if let Some(tp) = &mut self.true_peak {
            *tp = PeakMeter::Unset(self.channels);
        }
        self.momentary_max = f64::NEG_INFINITY;
        self.short_term_max = f64::NEG_INFINITY;
    }
}

/// Checks a meter's channel count and sample rate.
fn check_format(channels: usize, sample_rate: u32) -> Result<(), ConfigError> {
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(ConfigError::InvalidChannels);
    }
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(ConfigError::InvalidSampleRate);
    }
    Ok(())
}

/// Measures a whole planar buffer (`channels × len`) at `sample_rate`. The true peak of each
/// channel is taken in the input's own precision on rayon's threads, beside the loudness.
///
/// # Errors
/// As [`LoudnessMeter::new`] and [`LoudnessMeter::add`].
pub fn measure<T: Sample>(
    input: &[T],
    channels: usize,
    sample_rate: u32,
) -> Result<LoudnessReport, crate::Error> {
    use rayon::prelude::*;
    let mut meter = LoudnessMeter::new(channels, sample_rate)?;
    if input.len() % channels != 0 {
        return Err(ProcessError::InputShape.into());
    }
    if !super::all_in_range(input) {
        return Err(ProcessError::NonFinite.into());
    }
    meter.true_peak = None;
    let frames = input.len() / channels;
    let (added, peak) = rayon::join(
        || meter.add(input),
        || {
            input
                .par_chunks(frames.max(1))
                .map(TruePeakMeter::<T>::whole)
                .reduce(|| 0.0, f64::max)
        },
    );
    added?;
    Ok(LoudnessReport {
        true_peak: to_db(peak),
        ..meter.report()
    })
}

/// [`measure`] without the true peak (`true_peak` is NaN): integrated loudness, range and the
/// momentary and short-term maxima, at the cost of the K-weighting alone.
///
/// # Errors
/// As [`measure`].
pub fn measure_without_peak<T: Sample>(
    input: &[T],
    channels: usize,
    sample_rate: u32,
) -> Result<LoudnessReport, crate::Error> {
    let mut meter = LoudnessMeter::new(channels, sample_rate)?;
    meter.true_peak = None;
    meter.add(input)?;
    Ok(LoudnessReport {
        true_peak: f64::NAN,
        ..meter.report()
    })
}

/// Only the gated integrated loudness (LUFS) of a whole planar buffer: skips the 4×
/// oversampled true peak, which costs most of a full measurement.
///
/// # Errors
/// As [`measure`].
pub fn integrated<T: Sample>(
    input: &[T],
    channels: usize,
    sample_rate: u32,
) -> Result<f64, crate::Error> {
    check_format(channels, sample_rate)?;
    if input.len() % channels != 0 {
        return Err(ProcessError::InputShape.into());
    }
    if !super::all_in_range(input) {
        return Err(ProcessError::NonFinite.into());
    }
    let mut steps = StepEnergies::new(channels, sample_rate);
    steps.add(input, |_| {});
    Ok(steps.integrated())
}
