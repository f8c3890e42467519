//! The pieces of the host's adaptive weighted-overlap-add EQ loop, one frame at a time.
//!
//! Per frame of `N` samples at `k·N/2` (zero-padded past the end of the signal):
//!
//! 1. **Analysis** of the mono downmix `m` (the channel mean, in the sample type, as
//!    `numpy.mean(axis=1)`): `X = fft(m · hann(N))` with the symmetric Hann window
//!    (`numpy.hanning`), magnitudes `|X_k|` for `k = 0..=N/2`.
//!    - band energy = mean over the band's bins of `20·log10(|X_k| + 1e-10) + 6.02` (the Hann
//!      coherent-gain compensation), `0` for a band without bins;
//!    - masking threshold = `max(20·log10(peak + 1e-10) − 20, −80)` with `peak` the largest
//!      magnitude over the bins `int(f_lo·(N/2+1)·2/sr) .. int(f_hi·(N/2+1)·2/sr)` (clipped to the
//!      spectrum), `−60` when that range is empty;
//!    - non-finite energies and thresholds read as `0` (the host's guard).
//! 2. **Gains** ([`step_gains`]): `g = target[b]` (0 past the target's end), halved when the band
//!    energy is below its threshold, times the band's perceptual weight, clipped to ±12 dB; then
//!    `current += (g − current)·speed`.
//! 3. **EQ** of the unwindowed frame with the current gains ([`FrameEq`](super::frame_eq::FrameEq)).
//! 4. **Overlap-add** ([`wola_segment`]): `out += y·hann(N)`, `wnorm += hann(N)`, and finally
//!    `out /= max(wnorm, 1e-8)`.

use crate::dsp::bands::BandLayout;
use crate::dsp::{Complex, Sample};
use crate::ConfigError;

/// Added to the analysis magnitudes in dB: the Hann window's coherent-gain compensation.
pub const COHERENT_GAIN_DB: f64 = 6.02;
/// Floor of the overlap-add normaliser (`out /= max(wnorm, WOLA_EPS)`).
pub const WOLA_EPS: f64 = 1e-8;
/// Gains are clipped to ±this many dB before smoothing.
pub const MAX_GAIN_DB: f64 = 12.0;

/// The host's perceptual weight of a band centre: 1.0 in 1–4 kHz, else 0.8 in 300 Hz–8 kHz,
/// else 0.6 in 100–300 Hz or 8–16 kHz, else 0.3 (bounds inclusive).
pub fn perceptual_weight(center_hz: f64) -> f64 {
    let c = center_hz;
    if (1000.0..=4000.0).contains(&c) {
        1.0
    } else if (300.0..=8000.0).contains(&c) {
        0.8
    } else if (100.0..=300.0).contains(&c) || (8000.0..=16000.0).contains(&c) {
        0.6
    } else {
        0.3
    }
}

/// `|s|` as `sqrt(re² + im²)`: within an ulp of numpy's `hypot`, and several times cheaper.
fn magnitude(s: &Complex<f64>) -> f64 {
    s.norm_sqr().sqrt()
}

/// `Σ log10(|s| + 1e-10)` over a band's bins, as the log of their product: each value is split
/// exactly into mantissa and binary exponent, the mantissas multiplied (renormalized every 512
/// values, so nothing overflows) and the exponents summed, and one `log10` taken at the end.
/// Equal to the sum of logs up to rounding (~1e-15 relative); NaN when any value is not finite.
fn sum_log10_magnitudes(spectrum: &[Complex<f64>]) -> f64 {
    const MANTISSA: u64 = (1 << 52) - 1;
    const ONE: u64 = 0x3ff << 52;
    // Four independent products (no serial multiply chain); each holds at most 128 mantissas
    // in [1, 2) per run of 512 values, so stays below 2^128.
    let (mut product, mut exponent, mut bad) = (1.0f64, 0i64, false);
    for run in spectrum.chunks(512) {
        let mut p = [1.0f64; 4];
        let mut e = 0i64;
        let mut lanes = run.chunks_exact(4);
        for quad in &mut lanes {
            for (pk, s) in p.iter_mut().zip(quad) {
                let v = magnitude(s) + 1e-10;
                bad |= !v.is_finite();
                let bits = v.to_bits();
                e += ((bits >> 52) & 0x7ff) as i64;
                *pk *= f64::from_bits((bits & MANTISSA) | ONE);
            }
        }
        for s in lanes.remainder() {
            let v = magnitude(s) + 1e-10;
            bad |= !v.is_finite();
            let bits = v.to_bits();
            e += ((bits >> 52) & 0x7ff) as i64;
            p[0] *= f64::from_bits((bits & MANTISSA) | ONE);
        }
        exponent += e - 1023 * run.len() as i64;
        for pk in p {
            let bits = (product * pk).to_bits();
            exponent += ((bits >> 52) & 0x7ff) as i64 - 1023;
            product = f64::from_bits((bits & MANTISSA) | ONE);
        }
    }
    if bad {
        f64::NAN
    } else {
        product.log10() + exponent as f64 * std::f64::consts::LOG10_2
    }
}

/// `max` with Python's rule (`max(a, b)` is `a` unless `b > a`), so a NaN `a` stays NaN.
fn py_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// The band geometry of the adaptive EQ for one `(sample_rate, fft_size)`: the bin → band map,
/// bins per band, the masking bin ranges and the perceptual weights.
#[derive(Clone, Debug, PartialEq)]
pub struct AdaptiveBands {
    band_map: Vec<i64>,
    /// The bins of each band, `start..end` (the map is non-decreasing, so bands are runs).
    ranges: Vec<(usize, usize)>,
    masking: Vec<(usize, usize)>,
    weights: Vec<f64>,
}

impl AdaptiveBands {
    /// The host's 25 critical bands with the first edge at `first_edge_hz` (0 ≤ f < 100).
    ///
    /// # Errors
    /// [`ConfigError::InvalidBands`] for a first edge outside `[0, 100)`; as [`AdaptiveBands::new`].
    pub fn critical(
        first_edge_hz: f64,
        sample_rate: u32,
        fft_size: usize,
    ) -> Result<Self, ConfigError> {
        if !(0.0..100.0).contains(&first_edge_hz) {
            return Err(ConfigError::InvalidBands);
        }
        Self::new(
            &BandLayout::critical_from(first_edge_hz),
            sample_rate,
            fft_size,
        )
    }

    /// The geometry for any band layout (centres `sqrt(low·high)` for the weights).
    ///
    /// # Errors
    /// [`ConfigError::InvalidSampleRate`] for 0, [`ConfigError::FftSizeOdd`] for an odd or tiny
    /// size.
    pub fn new(
        layout: &BandLayout,
        sample_rate: u32,
        fft_size: usize,
    ) -> Result<Self, ConfigError> {
        let band_map: Vec<i64> = layout
            .bin_map(sample_rate, fft_size)?
            .into_iter()
            .map(i64::from)
            .collect();
        let bins = band_map.len();
        let mut ranges = vec![(0usize, 0usize); layout.bands()];
        let mut start = 0;
        for (b, range) in ranges.iter_mut().enumerate() {
            let end = start
                + band_map[start..]
                    .iter()
                    .take_while(|&&m| m == b as i64)
                    .count();
            *range = (start, end);
            start = end;
        }
        debug_assert_eq!(start, bins, "the bin map is non-decreasing");
        let sr = sample_rate as f64;
        let bin_of = |f: f64| (f * bins as f64 * 2.0 / sr) as usize;
        let edges = layout.edges();
        let masking = edges
            .windows(2)
            .map(|e| (bin_of(e[0]), bin_of(e[1]).min(bins)))
            .collect();
        let weights = edges
            .windows(2)
            .map(|e| perceptual_weight((e[0] * e[1]).sqrt()))
            .collect();
        Ok(Self {
            band_map,
            ranges,
            masking,
            weights,
        })
    }

    /// Number of bands.
    pub fn bands(&self) -> usize {
        self.ranges.len()
    }

    /// Band index of every bin `0..=N/2`.
    pub fn band_map(&self) -> &[i64] {
        &self.band_map
    }

    /// The perceptual weight of every band.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Band energies and masking thresholds (dB, `bands()` each) of one frame's spectrum
    /// (`N/2 + 1` bins of the Hann-windowed mono frame). Real-time safe.
    ///
    /// # Panics
    /// When `spectrum` has fewer bins than the map or an output is shorter than `bands()`.
    pub fn analyze(&self, spectrum: &[Complex<f64>], energies: &mut [f64], thresholds: &mut [f64]) {
        let bands = self.bands();
        let (energies, thresholds) = (&mut energies[..bands], &mut thresholds[..bands]);
        for (e, &(start, end)) in energies.iter_mut().zip(&self.ranges) {
            *e = if end == start {
                0.0
            } else {
                20.0 * sum_log10_magnitudes(&spectrum[start..end]) / (end - start) as f64
                    + COHERENT_GAIN_DB
            };
            if !e.is_finite() {
                *e = 0.0;
            }
        }
        for (t, &(start, end)) in thresholds.iter_mut().zip(&self.masking) {
            *t = if end > start {
                // numpy's max propagates NaN; the largest squared magnitude has the largest
                // magnitude, so one square root per band suffices.
                let (mut peak, mut nan) = (f64::NEG_INFINITY, false);
                for s in &spectrum[start..end] {
                    let v = s.norm_sqr();
                    nan |= v.is_nan();
                    peak = peak.max(v);
                }
                let peak = if nan { f64::NAN } else { peak };
                let peak = peak.sqrt();
                py_max(20.0 * (peak + 1e-10).log10() - 20.0, -80.0)
            } else {
                -60.0
            };
            if !t.is_finite() {
                *t = 0.0;
            }
        }
    }
}

/// One gain update of the host's adaptive state: for every band `b`, `g = target[b]` (0 past the
/// target's end), halved when `energies[b] < thresholds[b]`, times `weights[b]`, clipped to
/// ±[`MAX_GAIN_DB`]; then `current[b] += (g − current[b])·speed`. NaN targets propagate.
/// Real-time safe.
///
/// # Panics
/// When `energies`, `thresholds` or `weights` are shorter than `current`.
pub fn step_gains(
    target: &[f64],
    energies: &[f64],
    thresholds: &[f64],
    weights: &[f64],
    speed: f64,
    current: &mut [f64],
) {
    for (b, cur) in current.iter_mut().enumerate() {
        let mut g = target.get(b).copied().unwrap_or(0.0);
        if energies[b] < thresholds[b] {
            g *= 0.5;
        }
        let g = (g * weights[b]).clamp(-MAX_GAIN_DB, MAX_GAIN_DB);
        *cur += (g - *cur) * speed;
    }
}

/// Fills `out` (`N` values) with the Hann-windowed mono downmix of the interleaved `input`
/// (`len × channels`) starting at frame `start`, zero past the end: the channel mean computed in
/// the sample type as numpy does (`x0 + (x1 + … )`, divided by the channel count; a single
/// channel is taken as is), times `window[i]` in `f64`. Real-time safe.
pub fn load_mono<T: Sample>(
    input: &[T],
    channels: usize,
    start: usize,
    window: &[f64],
    out: &mut [f64],
) {
    let len = input.len() / channels;
    let count = T::of_f64(channels as f64);
    let inside = len.saturating_sub(start).min(out.len());
    let (head, pad) = out.split_at_mut(inside);
    let rows = input[start.min(len) * channels..].chunks_exact(channels);
    for ((o, &w), row) in head.iter_mut().zip(window).zip(rows) {
        let m = match row {
            [x] => *x,
            // x0 + (0 + x1) is x0 + x1; halving is exact.
            [a, b] => (*a + *b) * T::of_f64(0.5),
            _ => {
                let rest = row[1..].iter().fold(T::zero(), |a, &v| a + v);
                (row[0] + rest) / count
            }
        };
        *o = m.as_f64() * w;
    }
    pad.fill(0.0);
}

/// One hop-long output segment of the overlap-add: sample `i` of channel `c` is
/// `(prev[(hop+i)·ch + c]·w[hop+i] + cur[i·ch + c]·w[i]) / max(w[hop+i] + w[i], WOLA_EPS)`, the
/// `prev` terms only when there is a previous frame (not for the first segment). `prev` and
/// `cur` are interleaved equalized frames (`N × channels`); `out` holds `seg_len × channels`
/// samples (`seg_len ≤ hop`). Real-time safe.
///
/// # Panics
/// When the buffers are shorter than stated.
pub fn wola_segment<T: Sample>(
    prev: Option<&[f64]>,
    cur: &[f64],
    window: &[f64],
    hop: usize,
    channels: usize,
    out: &mut [T],
) {
    let rows = out.chunks_exact_mut(channels);
    for (i, (row, &w)) in rows.zip(window).enumerate() {
        let y = &cur[i * channels..(i + 1) * channels];
        match prev {
            Some(p) => {
                let wp = window[hop + i];
                let norm = f64::max(wp + w, WOLA_EPS);
                let q = &p[(hop + i) * channels..(hop + i + 1) * channels];
                for ((o, &a), &b) in row.iter_mut().zip(q).zip(y) {
                    *o = T::of_f64((a * wp + b * w) / norm);
                }
            }
            None => {
                let norm = f64::max(w, WOLA_EPS);
                for (o, &b) in row.iter_mut().zip(y) {
                    *o = T::of_f64((b * w) / norm);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_follow_the_host_rule_with_inclusive_bounds() {
        let w = |c| perceptual_weight(c);
        assert_eq!(
            [
                w(1000.0),
                w(4000.0),
                w(300.0),
                w(8000.0),
                w(100.0),
                w(16000.0),
                w(99.0),
                w(0.0)
            ],
            [1.0, 1.0, 0.8, 0.8, 0.6, 0.6, 0.3, 0.3]
        );
        let b = AdaptiveBands::critical(20.0, 44_100, 4096).unwrap();
        assert_eq!(b.bands(), 25);
        // 1080–1270 Hz (centre 1171 Hz) is in the 1–4 kHz range; 20–100 Hz is not.
        assert_eq!(b.weights()[9], 1.0);
        assert_eq!(b.weights()[0], 0.3);
        assert!(AdaptiveBands::critical(100.0, 44_100, 4096).is_err());
    }

    #[test]
    fn log_of_the_product_is_the_sum_of_logs() {
        for len in [1usize, 3, 4, 511, 512, 513, 1500] {
            let spec: Vec<Complex<f64>> = (0..len)
                .map(|i| {
                    let x = i as f64;
                    Complex::new(
                        (x * 0.37).sin() * 10f64.powf((x % 17.0) - 8.0),
                        (x * 0.11).cos(),
                    )
                })
                .collect();
            let naive: f64 = spec.iter().map(|s| (s.norm() + 1e-10).log10()).sum();
            let got = sum_log10_magnitudes(&spec);
            assert!(
                (got - naive).abs() <= 1e-12 * naive.abs().max(1.0),
                "{len}: {got} {naive}"
            );
        }
        let mut spec = vec![Complex::new(1.0, 0.0); 10];
        spec[7].im = f64::NAN;
        assert!(sum_log10_magnitudes(&spec).is_nan());
        spec[7].im = f64::INFINITY;
        assert!(sum_log10_magnitudes(&spec).is_nan());
    }

    #[test]
    fn masking_ranges_use_the_host_bin_formula() {
        let b = AdaptiveBands::critical(0.0, 44_100, 4096).unwrap();
        // int(100 · 2049 · 2 / 44100) = 9; int(200 · 4098 / 44100) = 18.
        assert_eq!(b.masking[1], (9, 18));
        assert_eq!(b.masking[0], (0, 9));
    }

    #[test]
    fn gains_halve_below_masking_weight_clip_and_smooth() {
        let mut cur = [0.0, 1.0, 0.0];
        step_gains(
            &[10.0, 30.0],
            &[-50.0, 0.0, 0.0],
            &[-40.0, -40.0, 0.0],
            &[1.0, 0.6, 1.0],
            0.5,
            &mut cur,
        );
        // band 0: 10 halved (energy below threshold) = 5 → 2.5; band 1: 30·0.6 = 18 → 12
        // → 1 + (12 − 1)/2; band 2: no target → 0.
        assert_eq!(cur, [2.5, 6.5, 0.0]);
    }

    #[test]
    fn wola_of_identical_frames_gives_the_frame_back() {
        let n = 8;
        let w: Vec<f64> = (0..n)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos())
            .collect();
        let frame: Vec<f64> = (0..n).map(|i| i as f64 + 1.0).collect();
        let shifted: Vec<f64> = (0..n).map(|i| (i + 4) as f64 + 1.0).collect();
        let mut out = [0.0f64; 4];
        wola_segment(Some(&frame), &shifted, &w, 4, 1, &mut out);
        for (i, o) in out.iter().enumerate() {
            assert!((o - (i + 5) as f64).abs() < 1e-12);
        }
        wola_segment(None, &frame, &w, 4, 1, &mut out);
        assert_eq!(out[0], 0.0); // the window is 0 there: 0 / eps
        assert!((out[1] - 2.0).abs() < 1e-12);
    }

    #[test]
    fn mono_is_the_channel_mean_times_the_window_zero_past_the_end() {
        let x = [1.0f32, 3.0, 5.0, 7.0];
        let mut out = [9.0; 3];
        load_mono(&x, 2, 1, &[1.0, 0.5, 2.0], &mut out);
        assert_eq!(out, [6.0, 0.0, 0.0]);
    }
}
