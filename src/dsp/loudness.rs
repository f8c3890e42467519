//! Loudness per ITU-R BS.1770-4 / EBU R128 (momentary, short-term, integrated, loudness range,
//! true peak): gating (integrated loudness) and loudness range from the `ebur128` crate; the
//! momentary and short-term maxima from tonecore's own K-weighted 100 ms energies (asking the
//! crate for them every 100 ms re-sums its 3 s window each time, 30 additions per sample, which
//! was most of a full measurement); true peak from tonecore's own 4× polyphase oversampler
//! ([`super::truepeak`], shared with the limiter), which skips blocks that cannot raise the
//! peak and so costs a fraction of the crate's.
//!
//! Channel weighting follows the crate's default map: 1 channel is one front channel (not
//! dual-mono: a mono file reads 3 LU lower than the same signal on both stereo channels);
//! 2 = L R; 3 = L R C; 4 = L R Ls Rs; 5 = L R C Ls Rs; 6 = L R C LFE Ls Rs (LFE not counted);
//! further channels are not counted (BS.1770 defines no weight for them).

use super::truepeak::TruePeakMeter;
use super::Sample;
use crate::{ConfigError, ProcessError};
use ebur128::{EbuR128, Mode};

/// Most channels a meter accepts.
pub const MAX_CHANNELS: usize = 64;

/// Lowest sample rate measured, Hz. BS.1770's K-weighting shelf sits at 1.68 kHz and cannot be
/// realised below about 3.4 kHz, and ebur128 0.1.11 overruns its own buffer (a panic) below
/// 146 Hz in short-term mode and below 18 Hz in integrated mode; 8 kHz is the lowest rate in
/// use.
pub const MIN_SAMPLE_RATE: u32 = 8000;

/// Highest sample rate measured, Hz (ebur128's limit).
pub const MAX_SAMPLE_RATE: u32 = 2_822_400;

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
/// [`report`](Self::report) at any time. Not for the audio thread (ebur128 allocates as its
/// history grows).
pub struct LoudnessMeter {
    meter: EbuR128,
    /// `None` when [`measure`] takes the true peak on other threads.
    true_peak: Option<TruePeakMeter<f64>>,
    channels: usize,
    sample_rate: u32,
    /// Samples per 100 ms step; momentary and short-term maxima are taken at these steps.
    step: usize,
    /// Samples fed since the last step.
    pending: usize,
    /// K-weighting of each channel, for the momentary and short-term windows.
    k_weighting: Vec<KWeighting>,
    /// Channel weights (BS.1770; 0 for channels not counted).
    weights: Vec<f64>,
    /// Weighted K-filtered energy of the current step so far (summed over channels).
    step_energy: f64,
    /// The last [`SHORT_TERM_STEPS`] steps' energies (a ring) and how many were completed.
    history: [f64; SHORT_TERM_STEPS],
    steps: usize,
    momentary_max: f64,
    short_term_max: f64,
}

/// 100 ms steps in a short-term (3 s) window.
const SHORT_TERM_STEPS: usize = 30;
/// 100 ms steps in a momentary (400 ms) window.
const MOMENTARY_STEPS: usize = 4;

/// The BS.1770 K-weighting (a high shelf, then the RLB high-pass) designed for any sample rate
/// by the bilinear transform from its analogue prototype (the published parameters below, the
/// ones libebur128 and the `ebur128` crate use; at 48 kHz they give the standard's
/// coefficients), run in f64 (transposed direct form II).
#[derive(Clone, Copy, Debug)]
struct KWeighting {
    shelf: [f64; 5],
    high_pass: [f64; 5],
    state: [f64; 4],
}

impl KWeighting {
    fn new(sample_rate: u32) -> Self {
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

    /// Filters `x` and returns the sum of the squared output.
    fn energy(&mut self, x: &[f64]) -> f64 {
        let [b0, b1, b2, a1, a2] = self.shelf;
        let [c0, c1, c2, d1, d2] = self.high_pass;
        let [mut s1, mut s2, mut t1, mut t2] = self.state;
        let mut sum = 0.0;
        for &v in x {
            let u = b0 * v + s1;
            s1 = b1 * v - a1 * u + s2;
            s2 = b2 * v - a2 * u;
            let w = c0 * u + t1;
            t1 = c1 * u - d1 * w + t2;
            t2 = c2 * u - d2 * w;
            sum += w * w;
        }
        self.state = [s1, s2, t1, t2];
        sum
    }
}

/// The BS.1770 weight of a channel of the crate's map.
fn channel_weight(channel: ebur128::Channel) -> f64 {
    use ebur128::Channel as C;
    match channel {
        C::Unused => 0.0,
        C::LeftSurround | C::RightSurround | C::Mp060 | C::Mm060 | C::Mp090 | C::Mm090 => 1.41,
        C::DualMono => 2.0,
        _ => 1.0,
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
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(ConfigError::InvalidChannels);
        }
        if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
            return Err(ConfigError::InvalidSampleRate);
        }
        let meter = EbuR128::new(channels as u32, sample_rate, Mode::I | Mode::LRA)
            .map_err(|_| ConfigError::InvalidSampleRate)?;
        let weights = meter
            .channel_map()
            .iter()
            .map(|&c| channel_weight(c))
            .collect();
        Ok(Self {
            meter,
            true_peak: Some(TruePeakMeter::new(channels)),
            channels,
            sample_rate,
            // The crate's 100 ms (rounded), so the windows are the ones it gates.
            step: ((sample_rate as usize + 5) / 10).max(1),
            pending: 0,
            k_weighting: vec![KWeighting::new(sample_rate); channels],
            weights,
            step_energy: 0.0,
            history: [0.0; SHORT_TERM_STEPS],
            steps: 0,
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
        let frames = input.len() / self.channels;
        let mut pos = 0;
        let mut block = vec![0.0f64; self.channels * self.step.min(frames.max(1))];
        while pos < frames {
            let take = (self.step - self.pending).min(frames - pos);
            for c in 0..self.channels {
                for (i, b) in block[c * take..(c + 1) * take].iter_mut().enumerate() {
                    *b = input[c * frames + pos + i].as_f64();
                }
            }
            let planes: [&[f64]; MAX_CHANNELS] = std::array::from_fn(|c| {
                if c < self.channels {
                    &block[c * take..(c + 1) * take]
                } else {
                    &[]
                }
            });
            // Channel count and lengths are consistent by construction.
            let _ = self.meter.add_frames_planar_f64(&planes[..self.channels]);
            for (c, plane) in planes[..self.channels].iter().enumerate() {
                if let Some(tp) = &mut self.true_peak {
                    tp.add(c, plane);
                }
                let energy = self.k_weighting[c].energy(plane);
                self.step_energy += self.weights[c] * energy;
            }
            pos += take;
            self.pending += take;
            if self.pending == self.step {
                self.pending = 0;
                self.end_step();
            }
        }
        Ok(())
    }

    /// Closes a 100 ms step: the momentary and short-term loudness ending here (windows reaching
    /// before the start count silence there, as the crate's do).
    fn end_step(&mut self) {
        self.history[self.steps % SHORT_TERM_STEPS] = self.step_energy;
        self.step_energy = 0.0;
        self.steps += 1;
        let window = |n: usize| {
            let sum: f64 = (0..n.min(self.steps))
                .map(|i| self.history[(self.steps - 1 - i) % SHORT_TERM_STEPS])
                .sum();
            let power = sum / (n * self.step) as f64;
            if power > 0.0 {
                -0.691 + 10.0 * power.log10()
            } else {
                f64::NEG_INFINITY
            }
        };
        self.momentary_max = self.momentary_max.max(window(MOMENTARY_STEPS));
        self.short_term_max = self.short_term_max.max(window(SHORT_TERM_STEPS));
    }

    /// The measurement so far.
    pub fn report(&self) -> LoudnessReport {
        let true_peak = self
            .true_peak
            .as_ref()
            .map_or(0.0, |tp| tp.peaks().iter().fold(0.0f64, |m, &p| m.max(p)));
        LoudnessReport {
            integrated: self.meter.loudness_global().unwrap_or(f64::NEG_INFINITY),
            momentary_max: self.momentary_max,
            short_term_max: self.short_term_max,
            range: self.meter.loudness_range().unwrap_or(0.0),
            true_peak: to_db(true_peak),
        }
    }

    /// The current momentary (last 400 ms) loudness in LUFS.
    pub fn momentary(&self) -> f64 {
        self.meter.loudness_momentary().unwrap_or(f64::NEG_INFINITY)
    }

    /// Forgets everything measured.
    pub fn reset(&mut self) {
        self.meter.reset();
        if let Some(tp) = &mut self.true_peak {
            tp.reset();
        }
        self.pending = 0;
        for k in &mut self.k_weighting {
            k.state = [0.0; 4];
        }
        self.step_energy = 0.0;
        self.history = [0.0; SHORT_TERM_STEPS];
        self.steps = 0;
        self.momentary_max = f64::NEG_INFINITY;
        self.short_term_max = f64::NEG_INFINITY;
    }
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
                .map(|channel| {
                    let mut tp = TruePeakMeter::<T>::new(1);
                    tp.add(0, channel);
                    tp.peaks()[0]
                })
                .reduce(|| 0.0, f64::max)
        },
    );
    added?;
    Ok(LoudnessReport {
        true_peak: to_db(peak),
        ..meter.report()
    })
}

/// Only the gated integrated loudness (LUFS) of a whole planar buffer: skips the short-term
/// history, loudness range and the 4× oversampled true peak, which cost most of a full
/// measurement.
///
/// # Errors
/// As [`measure`].
pub fn integrated<T: Sample>(
    input: &[T],
    channels: usize,
    sample_rate: u32,
) -> Result<f64, crate::Error> {
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(ConfigError::InvalidChannels.into());
    }
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(ConfigError::InvalidSampleRate.into());
    }
    if input.len() % channels != 0 {
        return Err(ProcessError::InputShape.into());
    }
    if !super::all_in_range(input) {
        return Err(ProcessError::NonFinite.into());
    }
    let mut meter = EbuR128::new(channels as u32, sample_rate, Mode::I)
        .map_err(|_| ConfigError::InvalidSampleRate)?;
    let frames = input.len() / channels;
    let chunk = 1 << 16;
    let mut block = vec![0.0f64; channels * chunk.min(frames.max(1))];
    let mut pos = 0;
    while pos < frames {
        let take = chunk.min(frames - pos);
        for c in 0..channels {
            for (b, x) in block[c * take..(c + 1) * take]
                .iter_mut()
                .zip(&input[c * frames + pos..c * frames + pos + take])
            {
                *b = x.as_f64();
            }
        }
        let planes: [&[f64]; MAX_CHANNELS] = std::array::from_fn(|c| {
            if c < channels {
                &block[c * take..(c + 1) * take]
            } else {
                &[]
            }
        });
        let _ = meter.add_frames_planar_f64(&planes[..channels]);
        pos += take;
    }
    Ok(meter.loudness_global().unwrap_or(f64::NEG_INFINITY))
}
