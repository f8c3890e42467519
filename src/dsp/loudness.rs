//! Loudness per ITU-R BS.1770-4 / EBU R128 (momentary, short-term, integrated, loudness range,
//! true peak): K-weighting, gating and loudness range from the `ebur128` crate; true peak from
//! tonecore's own 4× polyphase oversampler ([`super::truepeak`], shared with the limiter), which
//! skips blocks that cannot raise the peak and so costs a fraction of the crate's.
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
    true_peak: TruePeakMeter<f64>,
    channels: usize,
    sample_rate: u32,
    /// Samples per 100 ms step; momentary and short-term maxima are taken at these steps.
    step: usize,
    /// Samples fed since the last step.
    pending: usize,
    momentary_max: f64,
    short_term_max: f64,
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
        let meter = EbuR128::new(channels as u32, sample_rate, Mode::I | Mode::LRA | Mode::S)
            .map_err(|_| ConfigError::InvalidSampleRate)?;
        Ok(Self {
            meter,
            true_peak: TruePeakMeter::new(channels),
            channels,
            sample_rate,
            step: (sample_rate as usize / 10).max(1),
            pending: 0,
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
                self.true_peak.add(c, plane);
            }
            pos += take;
            self.pending += take;
            if self.pending == self.step {
                self.pending = 0;
                if let Ok(m) = self.meter.loudness_momentary() {
                    self.momentary_max = self.momentary_max.max(m);
                }
                if let Ok(s) = self.meter.loudness_shortterm() {
                    self.short_term_max = self.short_term_max.max(s);
                }
            }
        }
        Ok(())
    }

    /// The measurement so far.
    pub fn report(&self) -> LoudnessReport {
        let true_peak = self.true_peak.peaks().iter().fold(0.0f64, |m, &p| m.max(p));
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
        self.true_peak.reset();
        self.pending = 0;
        self.momentary_max = f64::NEG_INFINITY;
        self.short_term_max = f64::NEG_INFINITY;
    }
}

/// Measures a whole planar buffer (`channels × len`) at `sample_rate`.
///
/// # Errors
/// As [`LoudnessMeter::new`] and [`LoudnessMeter::add`].
pub fn measure<T: Sample>(
    input: &[T],
    channels: usize,
    sample_rate: u32,
) -> Result<LoudnessReport, crate::Error> {
    let mut meter = LoudnessMeter::new(channels, sample_rate)?;
    meter.add(input)?;
    Ok(meter.report())
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
