//! A lookahead peak limiter: no output sample ever exceeds the ceiling.
//!
//! For each input frame the required gain `r = min(1, ceiling / max_c |x_c|)` (channels linked)
//! enters a sliding minimum over the last `L + 1` frames (`L` = lookahead); the minimum is then
//! averaged over `L + 1` frames. Every term of that average covers the frame leaving the `L`-frame
//! delay line, so the gain applied to it is at most its required gain: the attack is a smooth
//! ramp exactly `L` frames long that completes as the peak leaves. Rising gain follows a one-pole
//! release. A final clamp to ±ceiling catches floating-point rounding. While every frame stays
//! at or below the ceiling the gain is exactly 1 and the output is the input delayed by `L`,
//! bit for bit.
//!
//! Sample-peak based (not oversampled): inter-sample peaks of the output can exceed the ceiling
//! (by how much is signal-dependent and not bounded here); leave headroom below a true-peak
//! target when that matters.
//!
//! Real-time safe after construction.

use super::convolver::Layout;
use super::Sample;
use crate::ConfigError;

/// Limiter settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LimiterSettings {
    /// Ceiling in dBFS, ≤ 0 and finite.
    pub ceiling_db: f64,
    /// Lookahead (= attack) in ms, 0 < lookahead ≤ 100.
    pub lookahead_ms: f64,
    /// Release time constant in ms, 0 < release ≤ 10000.
    pub release_ms: f64,
}

impl Default for LimiterSettings {
    fn default() -> Self {
        Self {
            ceiling_db: -1.0,
            lookahead_ms: 5.0,
            release_ms: 100.0,
        }
    }
}

impl LimiterSettings {
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

/// Checks a ceiling in dBFS: finite and ≤ 0.
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

/// The limiter state for `channels` channels.
pub struct Limiter<T: Sample> {
    channels: usize,
    lookahead: usize,
    /// `channels × lookahead` delayed input; slot `delay_pos` holds the frame from `lookahead`
    /// frames ago.
    delay: Vec<T>,
    delay_pos: usize,
    /// Sliding-minimum deque over required gains: (frame index, gain), ring of `lookahead + 1`.
    deque_index: Vec<u64>,
    deque_gain: Vec<f64>,
    deque_head: usize,
    deque_len: usize,
    /// The last `lookahead + 1` sliding minima, their sum and how many are below 1.
    minima: Vec<f64>,
    minima_pos: usize,
    minima_sum: f64,
    minima_below_one: usize,
    frame: u64,
    gain: f64,
    release: f64,
    ceiling: f64,
    /// The ceiling in `T`, rounded towards zero so the clamp never lets a sample above it.
    clamp: T,
    min_gain: f64,
    /// Frames still to pass through the clamp after a lowered ceiling left delayed samples above
    /// it (the pure-delay fast path must not let them out unclamped).
    unclamped: usize,
}

/// Gains within this distance of 1 after a release snap to exactly 1 (−0.0000087 dB), so the
/// limiter is bit-transparent again once the signal is back below the ceiling.
const SNAP: f64 = 1e-6;

impl<T: Sample> Limiter<T> {
    /// A limiter at `sample_rate` Hz. Allocates everything it will use.
    ///
    /// # Errors
    /// Invalid settings or channel count.
    pub fn new(
        channels: usize,
        sample_rate: u32,
        settings: &LimiterSettings,
    ) -> Result<Self, ConfigError> {
        settings.validate()?;
        if channels == 0 {
            return Err(ConfigError::InvalidChannels);
        }
        let lookahead =
            ((settings.lookahead_ms * 1e-3 * sample_rate as f64).round() as usize).max(1);
        let span = lookahead + 1;
        Ok(Self {
            channels,
            lookahead,
            delay: vec![T::zero(); channels * lookahead],
            delay_pos: 0,
            deque_index: vec![0; span],
            deque_gain: vec![1.0; span],
            deque_head: 0,
            deque_len: 0,
            minima: vec![1.0; span],
            minima_pos: 0,
            minima_sum: span as f64,
            minima_below_one: 0,
            frame: 0,
            gain: 1.0,
            release: (-1.0 / (settings.release_ms * 1e-3 * sample_rate as f64)).exp(),
            ceiling: 10f64.powf(settings.ceiling_db / 20.0),
            clamp: clamp_value(10f64.powf(settings.ceiling_db / 20.0)),
            min_gain: 1.0,
            unclamped: 0,
        })
    }

    /// Delay from input to output in frames (the lookahead).
    pub fn latency(&self) -> usize {
        self.lookahead
    }

    /// Changes the ceiling (dBFS, checked by the caller) for frames entering from now on; frames
    /// already in the delay line are clamped to it as they leave. Real-time safe (one pass over
    /// the delay line).
    pub fn set_ceiling_db(&mut self, ceiling_db: f64) {
        self.ceiling = 10f64.powf(ceiling_db / 20.0);
        self.clamp = clamp_value(self.ceiling);
        let threshold = self.clamp;
        if self.delay.iter().any(|v| v.abs() > threshold) {
            // Frames already in the delay line get clamped to the new ceiling as they leave.
            self.unclamped = self.lookahead;
        }
    }

    /// The smallest gain applied since the last call, in dB (≤ 0); restarts tracking.
    pub fn take_max_reduction_db(&mut self) -> f64 {
        let g = std::mem::replace(&mut self.min_gain, self.gain);
        20.0 * g.log10()
    }

    /// The gain applied to the last frame (linear).
    pub fn gain(&self) -> f64 {
        self.gain
    }

    /// Clears the delay line and gain state. Real-time safe.
    pub fn reset(&mut self) {
        self.delay.fill(T::zero());
        self.deque_len = 0;
        self.minima.fill(1.0);
        self.minima_sum = self.minima.len() as f64;
        self.minima_below_one = 0;
        self.gain = 1.0;
        self.min_gain = 1.0;
        self.unclamped = 0;
    }

    /// True when the limiter is at rest: unity gain and no reduction pending in its window, so a
    /// block whose peaks stay at or below the ceiling passes through as a pure delay.
    pub fn at_rest(&self) -> bool {
        self.gain == 1.0 && self.minima_below_one == 0 && self.unclamped == 0
    }

    /// The ceiling as a linear amplitude.
    pub fn ceiling(&self) -> f64 {
        self.ceiling
    }

    /// The ceiling in `T`, rounded towards zero: a sample whose magnitude is at or below it needs
    /// no limiting (the test for [`delay_channel`](Self::delay_channel)'s fast path).
    pub fn threshold(&self) -> T {
        self.clamp
    }

    /// Fast path for a block whose frames all stay at or below the ceiling while the limiter is
    /// [at rest](Self::at_rest): the output is the input delayed by the lookahead, bit for bit.
    /// Call it for every channel's contiguous samples (`x`, replaced in place by the delayed
    /// output), then [`finish_delay`](Self::finish_delay) once; the state then matches what
    /// `x.len()` calls of [`process_frame`](Self::process_frame) would leave. Real-time safe.
    pub fn delay_channel(&mut self, channel: usize, x: &mut [T]) {
        let l = self.lookahead;
        let ring = &mut self.delay[channel * l..(channel + 1) * l];
        let (mut pos, mut done) = (self.delay_pos, 0);
        while done < x.len() {
            // Swapping with the ring slot written `l` frames earlier delays by exactly `l`.
            let k = (x.len() - done).min(l - pos);
            x[done..done + k].swap_with_slice(&mut ring[pos..pos + k]);
            done += k;
            pos = if pos + k == l { 0 } else { pos + k };
        }
    }

    /// Completes a [`delay_channel`](Self::delay_channel) block of `frames` frames.
    pub fn finish_delay(&mut self, frames: usize) {
        if frames == 0 {
            return;
        }
        self.delay_pos = (self.delay_pos + frames) % self.lookahead;
        // Every required gain in the block was 1: the sliding minimum is the newest frame, at 1.
        self.frame += frames as u64;
        self.deque_head = 0;
        self.deque_len = 1;
        self.deque_index[0] = self.frame - 1;
        self.deque_gain[0] = 1.0;
    }

    /// Pushes one input frame (`read(c)` gives channel `c`; non-finite values must already be
    /// sanitised) and hands the frame leaving the delay line to `write(c, limited, delayed)`:
    /// limited, and as it entered (for bypass crossfades). Real-time safe.
    #[inline]
    pub fn process_frame(&mut self, read: impl Fn(usize) -> T, mut write: impl FnMut(usize, T, T)) {
        let span = self.lookahead + 1;
        let mut peak = 0.0f64;
        for c in 0..self.channels {
            peak = peak.max(read(c).abs().as_f64());
        }
        let required = if peak > self.ceiling {
            self.ceiling / peak
        } else {
            1.0
        };
        // Sliding minimum of the required gain over frames [t − lookahead, t] (ring indices wrap
        // by comparison: no division on the audio path).
        let wrap = |i: usize| if i >= span { i - span } else { i };
        let t = self.frame;
        // Evict frames older than the window first, so the ring never holds more than
        // `lookahead + 1` entries.
        while self.deque_len > 0 && self.deque_index[self.deque_head] + (self.lookahead as u64) < t
        {
            self.deque_head = wrap(self.deque_head + 1);
            self.deque_len -= 1;
        }
        while self.deque_len > 0 {
            let back = wrap(self.deque_head + self.deque_len - 1);
            if self.deque_gain[back] >= required {
                self.deque_len -= 1;
            } else {
                break;
            }
        }
        let back = wrap(self.deque_head + self.deque_len);
        self.deque_index[back] = t;
        self.deque_gain[back] = required;
        self.deque_len += 1;
        let minimum = self.deque_gain[self.deque_head];
        // Its average over the last lookahead + 1 frames: every term covers frame t − lookahead.
        let old = std::mem::replace(&mut self.minima[self.minima_pos], minimum);
        self.minima_pos = wrap(self.minima_pos + 1);
        self.minima_below_one =
            self.minima_below_one + usize::from(minimum < 1.0) - usize::from(old < 1.0);
        let average = if self.minima_below_one == 0 {
            self.minima_sum = span as f64;
            1.0
        } else {
            self.minima_sum += minimum - old;
            (self.minima_sum / span as f64).min(1.0)
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
        self.min_gain = self.min_gain.min(self.gain);
        self.frame += 1;
        let gain = T::of_f64(self.gain);
        let ceiling = self.clamp;
        for c in 0..self.channels {
            let slot = &mut self.delay[c * self.lookahead + self.delay_pos];
            let out = std::mem::replace(slot, read(c));
            let y = if self.gain == 1.0 { out } else { out * gain };
            write(c, y.max(-ceiling).min(ceiling), out);
        }
        self.delay_pos += 1;
        if self.delay_pos == self.lookahead {
            self.delay_pos = 0;
        }
        self.unclamped = self.unclamped.saturating_sub(1);
    }

    /// Limits a block of finite samples in place: `channels × frames` planar or interleaved
    /// (`x.len()` a multiple of the channel count, checked by the caller). A block that stays at
    /// or below the ceiling while the limiter is at rest takes the pure-delay fast path; the
    /// result is the same as frame-by-frame processing. Real-time safe.
    pub fn process_block(&mut self, x: &mut [T], layout: Layout) {
        let channels = self.channels;
        let frames = x.len() / channels;
        let threshold = self.threshold();
        let over = x
            .chunks(256)
            .any(|block| block.iter().fold(false, |o, v| o | (v.abs() > threshold)));
        if layout == Layout::Planar && !over && self.at_rest() {
            for (c, row) in x.chunks_exact_mut(frames.max(1)).enumerate() {
                self.delay_channel(c, row);
            }
            self.finish_delay(frames);
            return;
        }
        let cells = std::cell::Cell::from_mut(x).as_slice_of_cells();
        let at = |c: usize, i: usize| match layout {
            Layout::Planar => c * frames + i,
            Layout::Interleaved => i * channels + c,
        };
        for i in 0..frames {
            self.process_frame(|c| cells[at(c, i)].get(), |c, y, _| cells[at(c, i)].set(y));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lim: &mut Limiter<f64>, x: &[f64]) -> Vec<f64> {
        let mut y = vec![0.0; x.len()];
        for (i, &v) in x.iter().enumerate() {
            lim.process_frame(|_| v, |_, out, _| y[i] = out);
        }
        y
    }

    #[test]
    fn a_lowered_ceiling_clamps_delayed_frames_even_on_the_fast_path() {
        // Found by fuzzing: a sample under the old ceiling waits in the delay line, the ceiling
        // drops below it, and a silent block (at rest, nothing over) took the pure-delay path.
        let settings = LimiterSettings {
            ceiling_db: 0.0,
            ..LimiterSettings::default()
        };
        let mut lim = Limiter::<f32>::new(1, 8000, &settings).unwrap();
        let mut first = [-0.984f32];
        lim.process_block(&mut first, Layout::Planar);
        assert_eq!(first, [0.0]);
        lim.set_ceiling_db(-1.0);
        let mut block = [0.0f32; 100];
        lim.process_block(&mut block, Layout::Planar);
        let ceiling = 10f64.powf(-1.0 / 20.0);
        assert!(
            block.iter().all(|v| f64::from(v.abs()) <= ceiling),
            "{block:?}"
        );
        assert_eq!(
            f64::from(block[lim.latency() - 1]),
            -f64::from(clamp_value::<f32>(ceiling))
        );
        // Once the delay line has drained through the clamp, the fast path is back.
        assert!(lim.at_rest());
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
            ..LimiterSettings::default()
        };
        let mut lim = Limiter::<f64>::new(1, 8000, &settings).unwrap();
        let x: Vec<f64> = (0..400).map(|i| 4.0 - i as f64 * 0.009).collect();
        let y = run(&mut lim, &x);
        let ceiling = 10f64.powf(-1.0 / 20.0);
        assert!(y.iter().all(|v| v.abs() <= ceiling));
    }

    #[test]
    fn the_block_delay_equals_frame_by_frame_processing() {
        let settings = LimiterSettings::default();
        let mut a = Limiter::<f64>::new(1, 48_000, &settings).unwrap();
        let mut b = Limiter::<f64>::new(1, 48_000, &settings).unwrap();
        let x: Vec<f64> = (0..5000).map(|i| 0.5 * (i as f64 * 0.01).sin()).collect();
        let ya = run(&mut a, &x);
        let mut yb = x.clone();
        for block in yb.chunks_mut(97).chain(std::iter::empty()) {
            assert!(b.at_rest());
            b.delay_channel(0, block);
            b.finish_delay(block.len());
        }
        assert_eq!(ya, yb);
        // Both continue identically afterwards, limiting included.
        let loud: Vec<f64> = (0..3000).map(|i| 3.0 * (i as f64 * 0.02).sin()).collect();
        assert_eq!(run(&mut a, &loud), run(&mut b, &loud));
    }

    #[test]
    fn nothing_above_the_ceiling_and_transparent_below() {
        let settings = LimiterSettings::default();
        let ceiling = 10f64.powf(-1.0 / 20.0);
        let mut lim = Limiter::<f64>::new(1, 48_000, &settings).unwrap();
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
        // Before the burst reaches the lookahead window the output is the delayed input, exactly.
        for i in l..10_000 - l {
            assert_eq!(y[i], x[i - l]);
        }
        // Long after the last spike (release time constant 100 ms) it is exact again.
        for i in 120_000..144_000 {
            assert_eq!(y[i], x[i - l]);
        }
    }
}
