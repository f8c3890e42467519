//! The pieces of the host's adaptive weighted-overlap-add EQ loop, one frame at a time.
//!
//! Per frame of `N` samples at `k·N/2` (zero-padded past the end of the signal):
//!
//! 1. **Analysis** of the mono downmix `m` (the channel mean, in the sample type, as
//!    `numpy.mean(axis=1)`): `X = fft(m · hann(N) / d)` with the symmetric Hann window
//!    (`numpy.hanning`), magnitudes `|X_k|` for `k = 0..=N/2`. [`Analysis`] picks the host
//!    version: today (`Current`, host changes #3428 and #4101) `d = mean(hann(N))` and no
//!    offset; before them (`Pre3428And4101`) `d = 1` and `+6.02 dB` on the band energies only.
//!    - band energy = mean over the band's bins of `20·log10(|X_k| + 1e-10)` (+ the offset),
//!      `0` for a band without bins;
//!    - masking threshold = `max(20·log10(peak + 1e-10) − 20, −80)` with `peak` the largest
//!      magnitude over the bins `int(f_lo·(N/2+1)·2/sr) .. int(f_hi·(N/2+1)·2/sr)` (clipped to the
//!      spectrum), `−60` when that range is empty;
//!    - non-finite energies and thresholds read as `0` (the host's guard).
//! 2. **Gains** ([`step_gains`]): `g = target[b]` (0 past the target's end), halved when the band
//!    energy is below its threshold, times the band's perceptual weight, clipped to ±12 dB; then
//!    the host's content adaptation ([`ContentProfile`], unclipped); then
//!    `current += (g − current)·speed`.
//! 3. **EQ** of the unwindowed frame with the current gains ([`FrameEq`](super::frame_eq::FrameEq)).
//! 4. **Overlap-add** ([`wola_segment`]): `out += y·hann(N)`, `wnorm += hann(N)`, and finally
//!    `out /= max(wnorm, 1e-8)`.

use crate::dsp::bands::BandLayout;
use crate::dsp::{Complex, Sample};
use crate::ConfigError;

/// Added to the band energies in dB by the host's analysis before #3428 (the Hann window's
/// coherent-gain compensation, #2518).
pub const COHERENT_GAIN_DB: f64 = 6.02;

/// Which version of the host's adaptive-EQ analysis to reproduce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Analysis {
    /// The host today (changes #3428 and #4101): the windowed frame divided by the window's
    /// mean, no dB offset; band energies and masking peaks both see the scaled spectrum.
    #[default]
    Current,
    /// The host before #3428 and #4101: the raw windowed frame, `+6.02 dB` on the band energies
    /// only (the masking peaks are unscaled).
    Pre3428And4101,
}

impl Analysis {
    /// The divisor of the windowed frame for an `n`-sample symmetric Hann `window`.
    pub fn divisor(self, window: &[f64]) -> f64 {
        match self {
            Analysis::Current => window.iter().sum::<f64>() / window.len() as f64,
            Analysis::Pre3428And4101 => 1.0,
        }
    }

    /// The offset added to the band energies, dB.
    pub fn energy_offset_db(self) -> f64 {
        match self {
            Analysis::Current => 0.0,
            Analysis::Pre3428And4101 => COHERENT_GAIN_DB,
        }
    }
}

/// The genre of a host content profile, as the host's `apply_content_adaptation` tells them
/// apart (any other genre changes nothing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Genre {
    /// No genre, or one the host does not adapt to.
    #[default]
    Other,
    /// `"classical"`: gains × 0.7, +0.5 dB for band centres in 4–8 kHz.
    Classical,
    /// `"rock"`: +1.0 dB in 100–200 Hz, else +0.8 dB in 2–4 kHz.
    Rock,
    /// `"electronic"`: +1.5 dB in 50–120 Hz, else +1.0 dB in 8–16 kHz.
    Electronic,
    /// `"metal"`: +1.5 dB in 60–150 Hz, else −0.5 dB in 400–1000 Hz, else +1.2 dB in 4–8 kHz.
    Metal,
    /// `"jazz"`: × 0.8 in 500–3000 Hz, else +0.5 dB in 6–12 kHz.
    Jazz,
}

/// The energy level of a host content profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EnergyLevel {
    /// `"medium"` (the host's default) or any other value: no change.
    #[default]
    Medium,
    /// `"low"`: +0.5 dB on every band.
    Low,
    /// `"high"`: every gain × 0.8.
    High,
}

/// The keys of the host's content profile that its adaptive EQ reads (`genre`, `energy_level`,
/// `spectral_centroid`), applied per frame after the clip as the host's
/// `apply_content_adaptation`: genre, then energy level, then spectral balance (centroid
/// below 1500 Hz: +1.0 dB for band centres above 2 kHz; above 4000 Hz: −0.5 dB above 4 kHz).
/// Band ranges are inclusive and use the centre `sqrt(low·high)`. The default changes nothing
/// (as a host profile that has none of these keys).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ContentProfile {
    /// The profile's genre.
    pub genre: Genre,
    /// The profile's energy level.
    pub energy_level: EnergyLevel,
    /// The profile's spectral centroid in Hz (host default 2000; NaN changes nothing).
    pub spectral_centroid: f64,
}

impl Default for ContentProfile {
    fn default() -> Self {
        Self {
            genre: Genre::Other,
            energy_level: EnergyLevel::Medium,
            spectral_centroid: 2000.0,
        }
    }
}

impl ContentProfile {
    /// The adapted gain of a band with centre `c` Hz, from the clipped gain `g`. Real-time safe.
    pub fn adapt(&self, c: f64, mut g: f64) -> f64 {
        let within = |lo: f64, hi: f64| lo <= c && c <= hi;
        match self.genre {
            Genre::Other => {}
            Genre::Classical => {
                g *= 0.7;
                if within(4000.0, 8000.0) {
                    g += 0.5;
                }
            }
            Genre::Rock => {
                if within(100.0, 200.0) {
                    g += 1.0;
                } else if within(2000.0, 4000.0) {
                    g += 0.8;
                }
            }
            Genre::Electronic => {
                if within(50.0, 120.0) {
                    g += 1.5;
                } else if within(8000.0, 16000.0) {
                    g += 1.0;
                }
            }
            Genre::Metal => {
                if within(60.0, 150.0) {
                    g += 1.5;
                } else if within(400.0, 1000.0) {
                    g -= 0.5;
                } else if within(4000.0, 8000.0) {
                    g += 1.2;
                }
            }
            Genre::Jazz => {
                if within(500.0, 3000.0) {
                    g *= 0.8;
                } else if within(6000.0, 12000.0) {
                    g += 0.5;
                }
            }
        }
        match self.energy_level {
            EnergyLevel::Medium => {}
            EnergyLevel::Low => g += 0.5,
            EnergyLevel::High => g *= 0.8,
        }
        let sc = self.spectral_centroid;
        if sc < 1500.0 {
            if c > 2000.0 {
                g += 1.0;
            }
        } else if sc > 4000.0 && c > 4000.0 {
            g -= 0.5;
        }
        g
    }
}
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
    centers: Vec<f64>,
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
        let centers: Vec<f64> = edges.windows(2).map(|e| (e[0] * e[1]).sqrt()).collect();
        let weights = centers.iter().map(|&c| perceptual_weight(c)).collect();
        Ok(Self {
            band_map,
            ranges,
            masking,
            weights,
            centers,
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

    /// The centre `sqrt(low·high)` of every band, Hz.
    pub fn centers(&self) -> &[f64] {
        &self.centers
    }

    /// Band energies and masking thresholds (dB, `bands()` each) of one frame's spectrum
    /// (`N/2 + 1` bins of the Hann-windowed mono frame), `energy_offset_db` added to the energies
    /// ([`Analysis::energy_offset_db`]). Real-time safe.
    ///
    /// # Panics
    /// When `spectrum` has fewer bins than the map or an output is shorter than `bands()`.
    pub fn analyze(
        &self,
        spectrum: &[Complex<f64>],
        energy_offset_db: f64,
        energies: &mut [f64],
        thresholds: &mut [f64],
    ) {
        let bands = self.bands();
        let (energies, thresholds) = (&mut energies[..bands], &mut thresholds[..bands]);
        for (e, &(start, end)) in energies.iter_mut().zip(&self.ranges) {
            *e = if end == start {
                0.0
            } else {
                20.0 * sum_log10_magnitudes(&spectrum[start..end]) / (end - start) as f64
                    + energy_offset_db
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
/// target's end), halved when `energies[b] < thresholds[b]`, times the band's weight, clipped to
/// ±[`MAX_GAIN_DB`], adapted by `profile` when there is one ([`ContentProfile::adapt`] with the
/// band's centre); then `current[b] += (g − current[b])·speed`. NaN targets propagate.
/// Real-time safe.
///
/// # Panics
/// When `energies` or `thresholds` are shorter than `current`, or `current` is longer than
/// `bands.bands()`.
pub fn step_gains(
    target: &[f64],
    energies: &[f64],
    thresholds: &[f64],
    bands: &AdaptiveBands,
    profile: Option<&ContentProfile>,
    speed: f64,
    current: &mut [f64],
) {
    for (b, cur) in current.iter_mut().enumerate() {
        let mut g = target.get(b).copied().unwrap_or(0.0);
        if energies[b] < thresholds[b] {
            g *= 0.5;
        }
        let mut g = (g * bands.weights[b]).clamp(-MAX_GAIN_DB, MAX_GAIN_DB);
        if let Some(p) = profile {
            g = p.adapt(bands.centers[b], g);
        }
        *cur += (g - *cur) * speed;
    }
}

/// Fills `out` (`N` values) with the Hann-windowed mono downmix of the interleaved `input`
/// (`len × channels`) starting at frame `start`, zero past the end: the channel mean computed in
/// the sample type as numpy does (`x0 + (x1 + … )`, divided by the channel count; a single
/// channel is taken as is), times `window[i]` in `f64`, divided by `divisor`
/// ([`Analysis::divisor`]). Real-time safe.
pub fn load_mono<T: Sample>(
    input: &[T],
    channels: usize,
    start: usize,
    window: &[f64],
    divisor: f64,
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
        *o = m.as_f64() * w / divisor;
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
        let bands = AdaptiveBands {
            band_map: vec![0, 1, 2],
            ranges: vec![(0, 1), (1, 2), (2, 3)],
            masking: vec![(0, 1), (1, 2), (2, 3)],
            weights: vec![1.0, 0.6, 1.0],
            centers: vec![150.0, 3000.0, 5000.0],
        };
        let (e, t) = ([-50.0, 0.0, 0.0], [-40.0, -40.0, 0.0]);
        let mut cur = [0.0, 1.0, 0.0];
        step_gains(&[10.0, 30.0], &e, &t, &bands, None, 0.5, &mut cur);
        // band 0: 10 halved (energy below threshold) = 5 → 2.5; band 1: 30·0.6 = 18 → 12
        // → 1 + (12 − 1)/2; band 2: no target → 0.
        assert_eq!(cur, [2.5, 6.5, 0.0]);
        // A profile is applied after the clip: rock (+1 at 100–200 Hz, +0.8 at 2–4 kHz), low
        // energy (+0.5), dark (+1 above 2 kHz).
        let rock = ContentProfile {
            genre: Genre::Rock,
            energy_level: EnergyLevel::Low,
            spectral_centroid: 1000.0,
        };
        let mut cur = [0.0; 3];
        step_gains(&[10.0, 30.0], &e, &t, &bands, Some(&rock), 1.0, &mut cur);
        assert_eq!(cur, [5.0 + 1.0 + 0.5, 12.0 + 0.8 + 0.5 + 1.0, 0.5 + 1.0]);
        let mut cur = [0.0; 3];
        step_gains(
            &[10.0, 30.0],
            &e,
            &t,
            &bands,
            Some(&ContentProfile::default()),
            1.0,
            &mut cur,
        );
        assert_eq!(cur, [5.0, 12.0, 0.0]);
    }

    #[test]
    fn profiles_follow_the_host_rules() {
        let p = |genre, energy_level, spectral_centroid| ContentProfile {
            genre,
            energy_level,
            spectral_centroid,
        };
        let classical = p(Genre::Classical, EnergyLevel::High, 5000.0);
        // (2·0.7 + 0.5)·0.8 − 0.5 at 5 kHz; 2·0.7·0.8 at 1 kHz.
        assert_eq!(classical.adapt(5000.0, 2.0), (2.0 * 0.7 + 0.5) * 0.8 - 0.5);
        assert_eq!(classical.adapt(1000.0, 2.0), 2.0 * 0.7 * 0.8);
        let metal = p(Genre::Metal, EnergyLevel::Medium, f64::NAN);
        assert_eq!(metal.adapt(100.0, 0.0), 1.5);
        assert_eq!(metal.adapt(1000.0, 0.0), -0.5);
        assert_eq!(metal.adapt(8000.0, 0.0), 1.2);
        let jazz = p(Genre::Jazz, EnergyLevel::Medium, 2000.0);
        assert_eq!(jazz.adapt(500.0, 1.0), 0.8);
        assert_eq!(jazz.adapt(12000.0, 1.0), 1.5);
        let electronic = p(Genre::Electronic, EnergyLevel::Medium, 2000.0);
        assert_eq!(electronic.adapt(120.0, 0.0), 1.5);
        assert_eq!(electronic.adapt(16000.0, 0.0), 1.0);
        assert_eq!(electronic.adapt(20000.0, 0.0), 0.0);
    }

    #[test]
    fn current_analysis_divides_by_the_window_mean() {
        let w = [0.0, 0.5, 1.0, 0.5];
        assert_eq!(Analysis::Current.divisor(&w), 0.5);
        assert_eq!(Analysis::Pre3428And4101.divisor(&w), 1.0);
        assert_eq!(Analysis::Current.energy_offset_db(), 0.0);
        assert_eq!(Analysis::Pre3428And4101.energy_offset_db(), 6.02);
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
        load_mono(&x, 2, 1, &[1.0, 0.5, 2.0], 1.0, &mut out);
        assert_eq!(out, [6.0, 0.0, 0.0]);
        load_mono(&x, 2, 0, &[1.0, 0.5, 2.0], 0.5, &mut out);
        assert_eq!(out, [4.0, 6.0, 0.0]);
    }
}
