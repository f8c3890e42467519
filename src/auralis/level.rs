//! The host's real-time level stages: the attack/release gain smoother, the RMS level matcher
//! and the linear safety limit.
//!
//! Arithmetic follows numpy 2's promotion rules as the host code runs them: the smoother's ramp
//! is computed in `f64` and handed out as `f32`; the matcher multiplies the samples by that
//! `f32` ramp in the sample type; peak comparisons and scale factors are computed in the sample
//! type (`0.95 / max` with a float32 `max` is a float32 division). RMS values are accumulated in
//! `f64` (the host accumulates float32 input in float32, so float32 results agree to ~1e-6).

use crate::dsp::Sample;

/// Python's `max(0.0, min(10.0, x))`: `min` returns `10` unless `x < 10` (so NaN gives 10).
fn py_clamp_0_10(x: f64) -> f64 {
    let m = if x < 10.0 { x } else { 10.0 };
    if m > 0.0 {
        m
    } else {
        0.0
    }
}

/// `sqrt(mean(x²))` of all values, accumulated in `f64`; NaN for an empty slice (numpy's mean of
/// nothing). Real-time safe.
pub fn rms<T: Sample>(x: &[T]) -> f64 {
    let sum = x.iter().fold(0.0, |a, &v| {
        let v = v.as_f64();
        a + v * v
    });
    (sum / x.len() as f64).sqrt()
}

/// The largest `|x|`, NaN when any value is NaN (numpy's `max(abs(x))`); zero for an empty
/// slice. Real-time safe.
pub fn peak_abs<T: Sample>(x: &[T]) -> T {
    // Eight independent running maxima and a NaN flag: branch-free, so the loop vectorizes;
    // the result equals the serial fold (NaN as soon as any value is NaN, else the maximum).
    const LANES: usize = 8;
    let mut lanes = [T::zero(); LANES];
    let mut nan = false;
    let mut blocks = x.chunks_exact(LANES);
    for block in &mut blocks {
        for (m, &v) in lanes.iter_mut().zip(block) {
            let a = v.abs();
            nan |= a.is_nan();
            *m = if a > *m { a } else { *m };
        }
    }
    for &v in blocks.remainder() {
        let a = v.abs();
        nan |= a.is_nan();
        lanes[0] = if a > lanes[0] { a } else { lanes[0] };
    }
    if nan {
        return T::nan();
    }
    lanes
        .iter()
        .fold(T::zero(), |m, &a| if a > m { a } else { m })
}

/// The host's attack/release gain smoother: `set_target` clamps to `[0, 10]`; a ramp of `n`
/// samples is `g[j] = T + (c − T)·(1 − α)^(j+1)` (α = attack when `T > c`, else release; the
/// power exact every 8th and at the last sample, by multiplication in between), after which
/// `c = g[n−1]`; when `|c − T| < 1e-6` the ramp is constant `c` and nothing changes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GainSmoother {
    /// Smoothing factor when the gain rises.
    pub attack_alpha: f64,
    /// Smoothing factor when the gain falls.
    pub release_alpha: f64,
    /// The gain reached so far.
    pub current_gain: f64,
    /// The gain the ramp heads for.
    pub target_gain: f64,
}

impl GainSmoother {
    /// A smoother at unity gain (current = target = 1).
    pub fn new(attack_alpha: f64, release_alpha: f64) -> Self {
        Self {
            attack_alpha,
            release_alpha,
            current_gain: 1.0,
            target_gain: 1.0,
        }
    }

    /// Sets the target, clamped to `[0, 10]` with Python's `max(0, min(10, x))` (NaN → 10).
    pub fn set_target(&mut self, target: f64) {
        self.target_gain = py_clamp_0_10(target);
    }

    /// Produces a ramp of `n` gains, handing sample `j`'s gain (in `f64`) to `emit(j, g)`, and
    /// advances the current gain to the last one. Nothing happens for `n = 0`. Real-time safe.
    pub fn ramp(&mut self, n: usize, mut emit: impl FnMut(usize, f64)) {
        if n == 0 {
            return;
        }
        let (c, t) = (self.current_gain, self.target_gain);
        if (c - t).abs() < 1e-6 {
            for j in 0..n {
                emit(j, c);
            }
            return;
        }
        let alpha = if t > c {
            self.attack_alpha
        } else {
            self.release_alpha
        };
        let base = 1.0 - alpha;
        let mut last = c;
        // base^(j+1) by multiplication, re-anchored on an exact power every ANCHOR samples and
        // at the last one (which becomes the state, so the state is the closed form exactly):
        // at most ANCHOR − 1 roundings (< 4 ulp) between anchors, far below the float32 ramp's
        // resolution, for an eighth of the `powf` calls.
        const ANCHOR: usize = 8;
        let mut power = 1.0;
        for j in 0..n {
            let k = j + 1;
            power = if k % ANCHOR == 0 || k == n {
                base.powf(k as f64)
            } else {
                power * base
            };
            last = t + (c - t) * power;
            emit(j, last);
        }
        self.current_gain = last;
    }

    /// [`ramp`](Self::ramp) into `out` as `f32` (the host returns a float32 ramp).
    pub fn process(&mut self, out: &mut [f32]) {
        self.ramp(out.len(), |j, g| out[j] = g as f32);
    }
}

/// The host's real-time RMS level matcher (its `RealtimeLevelMatcher`; not the engine's
/// loudness-based [`dsp::level::LevelMatcher`](crate::dsp::level::LevelMatcher)).
///
/// Per block (when enabled, with a non-zero reference, and the block's RMS over all channels
/// not 0): `target += (reference − target)·target_rms_alpha`; the smoother's target becomes
/// `target / rms`; the block is multiplied by the smoother's float32 ramp (one gain per frame,
/// all channels); if the peak of the result exceeds `peak` it is scaled to `peak` linearly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RealtimeLevelMatcher {
    /// Matching is applied only when enabled (set by [`set_reference`](Self::set_reference)).
    pub enabled: bool,
    /// RMS of the reference audio, once set.
    pub reference_rms: Option<f64>,
    /// Smoothing of the target RMS per block (host: 0.01).
    pub target_rms_alpha: f64,
    /// The smoothed target RMS (starts at 0).
    pub current_target_rms: f64,
    /// Post-gain peak normalisation level (host: 0.95).
    pub peak: f64,
    /// The gain smoother (host: attack 0.02, release 0.005).
    pub smoother: GainSmoother,
}

impl Default for RealtimeLevelMatcher {
    fn default() -> Self {
        Self {
            enabled: false,
            reference_rms: None,
            target_rms_alpha: 0.01,
            current_target_rms: 0.0,
            peak: 0.95,
            smoother: GainSmoother::new(0.02, 0.005),
        }
    }
}

impl RealtimeLevelMatcher {
    /// Sets the reference RMS from `reference` (all values; NaN when empty) and enables
    /// matching. Real-time safe.
    pub fn set_reference<T: Sample>(&mut self, reference: &[T]) {
        self.reference_rms = Some(rms(reference));
        self.enabled = true;
    }

    /// Processes an interleaved block (`frames × channels`) into `out` (same length). Returns
    /// `false`, leaving `out` and the state untouched, when the block passes unchanged
    /// (disabled, no or zero reference, empty or silent block). Real-time safe.
    ///
    /// # Panics
    /// When `channels` is 0, `input` is not a whole number of frames or `out` is shorter.
    pub fn process<T: Sample>(&mut self, input: &[T], channels: usize, out: &mut [T]) -> bool {
        let reference = match self.reference_rms {
            Some(r) if self.enabled && r != 0.0 => r,
            _ => return false,
        };
        if input.is_empty() {
            return false;
        }
        let current = rms(input);
        if current == 0.0 {
            return false;
        }
        assert!(input.len() % channels == 0 && out.len() >= input.len());
        self.current_target_rms += (reference - self.current_target_rms) * self.target_rms_alpha;
        self.smoother.set_target(self.current_target_rms / current);
        let out = &mut out[..input.len()];
        self.smoother.ramp(input.len() / channels, |j, g| {
            let g = T::of_f64(g as f32 as f64);
            let range = j * channels..(j + 1) * channels;
            for (o, &x) in out[range.clone()].iter_mut().zip(&input[range]) {
                *o = x * g;
            }
        });
        scale_to_peak(out, self.peak);
        true
    }
}

/// Scales `x` in place so its peak is `peak` when the peak exceeds it (comparison and factor
/// `peak / max` in the sample type); NaN peaks leave it alone. Real-time safe.
fn scale_to_peak<T: Sample>(x: &mut [T], peak: f64) {
    let max = peak_abs(x);
    let limit = T::of_f64(peak);
    if max > limit {
        let scale = limit / max;
        for v in x.iter_mut() {
            *v = *v * scale;
        }
    }
}

/// The host's final safety stage: `out = x` unless `max|x| > target_peak`, then
/// `out = x·(target_peak / max|x|)` (linear, in the sample type). Real-time safe.
///
/// # Panics
/// When `out` is shorter than `input`.
pub fn safety_limit<T: Sample>(input: &[T], target_peak: f64, out: &mut [T]) {
    let out = &mut out[..input.len()];
    out.copy_from_slice(input);
    scale_to_peak(out, target_peak);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_clamp_like_python_min_max() {
        let mut s = GainSmoother::new(0.5, 0.25);
        for (t, want) in [(3.0, 3.0), (12.0, 10.0), (-1.0, 0.0), (f64::NAN, 10.0)] {
            s.set_target(t);
            assert_eq!(s.target_gain, want);
        }
    }

    #[test]
    fn ramp_is_the_closed_form_and_constant_at_target() {
        let mut s = GainSmoother::new(0.5, 0.25);
        s.set_target(3.0);
        let mut out = [0.0f32; 3];
        s.process(&mut out);
        // 3 + (1 − 3)·0.5^(j+1): 2, 2.5, 2.75 (attack: the target is above).
        assert_eq!(out, [2.0, 2.5, 2.75]);
        assert_eq!(s.current_gain, 2.75);
        s.set_target(2.7500001);
        s.process(&mut out);
        assert_eq!(out, [2.75; 3]);
        assert_eq!(s.current_gain, 2.75);
    }

    #[test]
    fn long_ramps_stay_on_the_closed_form_and_end_exactly_on_it() {
        for (c, t, n) in [(1.0, 7.0, 512usize), (6.5, 0.25, 1000), (1.0, 1.5, 13)] {
            let mut s = GainSmoother::new(0.01, 0.001);
            s.current_gain = c;
            s.set_target(t);
            let alpha: f64 = if t > c { 0.01 } else { 0.001 };
            let mut worst = 0.0f64;
            s.ramp(n, |j, g| {
                let exact = t + (c - t) * (1.0 - alpha).powf((j + 1) as f64);
                worst = worst.max((g - exact).abs() / exact.abs());
            });
            assert!(worst < 1e-15, "{worst}");
            assert_eq!(s.current_gain, t + (c - t) * (1.0 - alpha).powf(n as f64));
        }
    }

    #[test]
    fn matcher_passes_through_when_disabled_or_silent_and_limits_peaks() {
        let mut m = RealtimeLevelMatcher::default();
        let x = [0.5f64, -0.5, 0.25, 0.0];
        let mut y = [9.0; 4];
        assert!(!m.process(&x, 2, &mut y));
        assert_eq!(y, [9.0; 4]);
        m.set_reference(&[1.0f64, -1.0]);
        assert!(!m.process(&[0.0f64; 4], 2, &mut y));
        assert!(m.process(&x, 2, &mut y));
        assert!(m.current_target_rms > 0.0);
        let mut z = [0.0f32; 2];
        safety_limit(&[2.0f32, -1.0], 0.5, &mut z);
        assert_eq!(z, [0.5, -0.25]);
        safety_limit(&[0.25f32, f32::NAN], 0.1, &mut z);
        assert!(z[0] == 0.25 && z[1].is_nan());
    }
}
