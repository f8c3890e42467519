//! The lookahead peak limiter as a stage of its own, for hosts that want only the limiter (the
//! [`Pipeline`](super::Pipeline) always runs its EQ and level matcher as well).
//!
//! A thin owner of [`dsp::limiter::Limiter`](crate::dsp::limiter::Limiter) (the same core the
//! pipeline runs; true-peak detection by default): it checks block shapes, replaces corrupt input (non-finite, or beyond ±2^20) by zero and counts it, and keeps
//! the statistics. Any block length, no `max_block`: the limiter works in place on the output.

use super::stage::{check_block, Processor};
use crate::dsp::limiter::{check_ceiling, GainStats, Limiter, LimiterSettings};
use crate::dsp::Layout;
use crate::dsp::{sanitize, Sample};
use crate::limits::{MAX_CHANNELS, MAX_SAMPLE_RATE};
use crate::{ConfigError, ProcessError};

/// Counters of a [`PeakLimiter`] since construction or the last [`reset`](PeakLimiter::reset).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LimiterStats {
    /// Frames processed.
    pub frames: u64,
    /// Non-finite (or beyond ±2^20) input samples replaced by zero.
    pub nonfinite: u64,
    /// Gain applied to the last frame, dB (≤ 0).
    pub gain_db: f64,
    /// Largest gain reduction applied, dB (≤ 0).
    pub max_reduction_db: f64,
}

/// A streaming lookahead limiter for `channels` channels of `T`: no output sample (in true-peak
/// mode, no 4× oversampled point) exceeds the ceiling; below it the output is the input delayed by [`latency_frames`](Self::latency_frames),
/// bit for bit. Output does not depend on how the signal is split into blocks.
pub struct PeakLimiter<T: Sample> {
    limiter: Limiter<T>,
    channels: usize,
    stats: LimiterStats,
    gains: GainStats,
}

impl<T: Sample> PeakLimiter<T> {
    /// A limiter for `channels` channels at `sample_rate` Hz (1–2 822 400): the argument order
    /// of every stage's constructor (`Pipeline::new`, `EqualizerConfig::new`). Allocates its delay line (lookahead frames
    /// per channel); control path.
    ///
    /// # Errors
    /// [`ConfigError::InvalidSampleRate`], [`ConfigError::InvalidChannels`] (0 or above 64),
    /// [`ConfigError::InvalidCeiling`], [`ConfigError::InvalidTime`].
    pub fn new(
        sample_rate: u32,
        channels: usize,
        settings: &LimiterSettings,
    ) -> Result<Self, ConfigError> {
        if !(1..=MAX_SAMPLE_RATE).contains(&sample_rate) {
            return Err(ConfigError::InvalidSampleRate);
        }
        if !(1..=MAX_CHANNELS).contains(&channels) {
            return Err(ConfigError::InvalidChannels);
        }
        Ok(Self {
            limiter: Limiter::new(channels, sample_rate, settings, 1)?,
            channels,
            stats: LimiterStats {
                frames: 0,
                nonfinite: 0,
                gain_db: 0.0,
                max_reduction_db: 0.0,
            },
            gains: GainStats::default(),
        })
    }

    /// Limits planar `x` in place.
    ///
    /// # Errors
    /// [`ProcessError::InputShape`]; nothing is processed then.
    pub fn process_in_place(&mut self, x: &mut [T]) -> Result<(), ProcessError> {
        if x.len() % self.channels != 0 {
            return Err(ProcessError::InputShape);
        }
        self.limit(x, Layout::Planar);
        Ok(())
    }

    /// Changes the ceiling (dBFS, −60…0) for frames entering from now on; frames already in the
    /// lookahead are clamped to the new ceiling. Real-time safe.
    ///
    /// # Errors
    /// [`ConfigError::InvalidCeiling`]; nothing changes then.
    pub fn set_ceiling_db(&mut self, ceiling_db: f64) -> Result<(), ConfigError> {
        check_ceiling(ceiling_db)?;
        self.limiter.set_ceiling_db(ceiling_db);
        Ok(())
    }

    /// The counters since construction or the last reset.
    pub fn stats(&self) -> LimiterStats {
        self.stats
    }

    /// The gain statistics (reduction per frame) since construction or the last reset.
    pub fn gain_stats(&self) -> GainStats {
        self.gains
    }

    fn limit(&mut self, x: &mut [T], layout: Layout) {
        self.stats.nonfinite += sanitize(x);
        self.limiter.process_block(x, layout);
        self.stats.frames += (x.len() / self.channels) as u64;
        self.stats.gain_db = 20.0 * self.limiter.gain().log10();
        let gains = self.limiter.take_stats();
        self.stats.max_reduction_db = self.stats.max_reduction_db.min(gains.max_reduction_db());
        self.gains.merge(&gains);
    }
}

impl<T: Sample> Processor<T> for PeakLimiter<T> {
    fn channels(&self) -> usize {
        self.channels
    }

    /// Any length: the limiter has no block limit.
    fn max_block(&self) -> usize {
        usize::MAX
    }

    /// The lookahead (at least 1 frame).
    fn latency_frames(&self) -> usize {
        self.limiter.latency()
    }

    fn process_layout(
        &mut self,
        input: &[T],
        output: &mut [T],
        layout: Layout,
    ) -> Result<(), ProcessError> {
        check_block(self.channels, usize::MAX, input.len(), output.len())?;
        let output = &mut output[..input.len()];
        output.copy_from_slice(input);
        self.limit(output, layout);
        Ok(())
    }

    /// Clears the delay line, the gain state and the counters; keeps the ceiling.
    fn reset(&mut self) {
        self.limiter.reset();
        self.limiter.take_stats();
        self.gains = GainStats::default();
        self.stats = LimiterStats {
            frames: 0,
            nonfinite: 0,
            gain_db: 0.0,
            max_reduction_db: 0.0,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(ceiling_db: f64) -> LimiterSettings {
        LimiterSettings {
            ceiling_db,
            ..LimiterSettings::default()
        }
    }

    #[test]
    fn refuses_bad_shapes_and_settings_without_changing_state() {
        assert_eq!(
            PeakLimiter::<f32>::new(44_100, 0, &settings(-1.0)).err(),
            Some(ConfigError::InvalidChannels)
        );
        assert_eq!(
            PeakLimiter::<f32>::new(0, 2, &settings(-1.0)).err(),
            Some(ConfigError::InvalidSampleRate)
        );
        assert_eq!(
            PeakLimiter::<f32>::new(44_100, 2, &settings(1.0)).err(),
            Some(ConfigError::InvalidCeiling)
        );
        let mut lim = PeakLimiter::<f64>::new(44_100, 2, &settings(-6.0)).unwrap();
        let mut out = [7.0; 4];
        assert_eq!(
            lim.process(&[1.0; 3], &mut out),
            Err(ProcessError::InputShape)
        );
        assert_eq!(
            lim.process(&[1.0; 6], &mut out),
            Err(ProcessError::OutputTooSmall)
        );
        assert_eq!(out, [7.0; 4]);
        assert_eq!(
            lim.set_ceiling_db(f64::NAN),
            Err(ConfigError::InvalidCeiling)
        );
        assert_eq!(lim.stats().frames, 0);
    }

    #[test]
    fn corrupt_samples_become_silence_and_are_counted() {
        let mut lim = PeakLimiter::<f32>::new(1000, 1, &settings(-1.0)).unwrap();
        let x = [f32::NAN, f32::INFINITY, 0.5, 2e6];
        let mut y = [0.0; 4];
        lim.process(&x, &mut y).unwrap();
        assert_eq!(lim.stats().nonfinite, 3);
        assert!(y.iter().all(|v| v.is_finite()));
    }
}
