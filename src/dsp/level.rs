//! Loudness-aware level matching.
//!
//! The matcher follows the momentary loudness of the signal it sees, measured per FFT hop from
//! the spectrum the equalizer already computes: by Parseval, the K-weighted mean square of an
//! `N`-sample block is `Σ_k w_k·|Y_k|²·|H_K(f_k)|²` (`w_k` = 1 at DC and Nyquist, 2 between),
//! with `H_K` the BS.1770 K-weighting response evaluated at each bin. The channel-weighted mean
//! squares of the hops in the last `window_ms` (400 ms: momentary) give the loudness
//! `−0.691 + 10·log10(z)`. This replaces a second K-weighting filter over every sample (which
//! would cost more than the whole EQ) with `N/2` multiply-adds per hop and channel.
//!
//! The wanted gain is `target − loudness` dB, clamped to `[−max_cut, +max_boost]`. Below the gate
//! (`gate_lufs`) or before a full window has been measured the matcher never raises its gain
//! (no boosting of silence, no ducking at the start). The applied gain moves towards the wanted
//! gain per sample with separate attack (going down) and release (going up) time constants.
//! All of it runs in the equalizer's hop timeline, so the output does not depend on host block
//! sizes. Real-time safe after construction.

use super::Complex;
use crate::ConfigError;
use std::f64::consts::PI;

/// How the level stage sets its gain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LevelMode {
    /// One static gain for the whole track, from its integrated loudness (ReplayGain's track
    /// mode, EBU R128 normalisation): whoever holds the whole signal measures it and sets
    /// [`LevelSettings::track_gain_db`] — the chunked renderer, `normalize`, the engine's render
    /// jobs and the playback streams do. The default.
    #[default]
    Integrated,
    /// The momentary-loudness leveller (a gain riding the last `window_ms` of loudness, with
    /// attack and release), for live input whose end is unknown.
    Momentary,
}

/// Level-stage settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelSettings {
    /// How the gain is set. Default [`LevelMode::Integrated`].
    pub mode: LevelMode,
    /// [`LevelMode::Integrated`]: the static gain applied, dB (−80…+60), normally set by the
    /// measurement of the whole track (the renderers overwrite it). Default 0.
    pub track_gain_db: f64,
    /// Target loudness in LUFS (−70…0).
    pub target_lufs: f64,
    /// [`LevelMode::Momentary`]: time constant for lowering the gain, ms (0 < attack ≤ 60000).
    pub attack_ms: f64,
    /// Momentary: time constant for raising the gain, ms (0 < release ≤ 60000).
    pub release_ms: f64,
    /// Momentary: largest boost in dB (0…40).
    pub max_boost_db: f64,
    /// Momentary: largest cut in dB (0…80).
    pub max_cut_db: f64,
    /// Momentary: below this loudness (LUFS, −100…0) the gain is never raised.
    pub gate_lufs: f64,
    /// Momentary: loudness window in ms (400: momentary loudness; 50…10000).
    pub window_ms: f64,
}

impl Default for LevelSettings {
    fn default() -> Self {
        Self {
            mode: LevelMode::Integrated,
            track_gain_db: 0.0,
            target_lufs: -14.0,
            attack_ms: 300.0,
            release_ms: 3000.0,
            max_boost_db: 12.0,
            max_cut_db: 24.0,
            gate_lufs: -50.0,
            window_ms: 400.0,
        }
    }
}

/// Checks a loudness target in LUFS.
///
/// # Errors
/// [`ConfigError::InvalidTarget`] when NaN, infinite or outside −70…0.
pub fn check_target(lufs: f64) -> Result<(), ConfigError> {
    if lufs.is_finite() && (-70.0..=0.0).contains(&lufs) {
        Ok(())
    } else {
        Err(ConfigError::InvalidTarget)
    }
}

impl LevelSettings {
    /// Checks every range.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_target(self.target_lufs)?;
        if !(self.track_gain_db.is_finite() && (-80.0..=60.0).contains(&self.track_gain_db)) {
            return Err(ConfigError::InvalidLevel);
        }
        let time_ok = |t: f64, max: f64| t.is_finite() && t > 0.0 && t <= max;
        let window_ok = (50.0..=10_000.0).contains(&self.window_ms);
        if !(time_ok(self.attack_ms, 60_000.0) && time_ok(self.release_ms, 60_000.0) && window_ok) {
            return Err(ConfigError::InvalidTime);
        }
        let in_range = |v: f64, lo: f64, hi: f64| v.is_finite() && (lo..=hi).contains(&v);
        if !in_range(self.max_boost_db, 0.0, 40.0)
            || !in_range(self.max_cut_db, 0.0, 80.0)
            || !in_range(self.gate_lufs, -100.0, 0.0)
        {
            return Err(ConfigError::InvalidLevel);
        }
        Ok(())
    }
}

/// `|H_K(f)|²` of the BS.1770 K-weighting (pre-filter shelf × RLB high-pass) at `sample_rate`,
/// with the filter coefficients derived for that rate as libebur128 does.
pub fn k_weighting_power(f: f64, sample_rate: u32) -> f64 {
    let rate = sample_rate as f64;
    // High shelf.
    let (f0, g, q) = (1681.974450955533, 3.999843853973347, 0.7071752369554196);
    let k = (PI * f0 / rate).tan();
    let vh = 10f64.powf(g / 20.0);
    let vb = vh.powf(0.4996667741545416);
    let a0 = 1.0 + k / q + k * k;
    let pb = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
    ];
    let pa = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0];
    // RLB high-pass.
    let (f0, q) = (38.13547087602444, 0.5003270373238773);
    let k = (PI * f0 / rate).tan();
    let d = 1.0 + k / q + k * k;
    let rb = [1.0, -2.0, 1.0];
    let ra = [1.0, 2.0 * (k * k - 1.0) / d, (1.0 - k / q + k * k) / d];
    let w = 2.0 * PI * f / rate;
    let z1 = Complex::new(w.cos(), -w.sin());
    let z2 = z1 * z1;
    let eval = |c: [f64; 3]| Complex::new(c[0], 0.0) + z1 * c[1] + z2 * c[2];
    let h = eval(pb) / eval(pa) * eval(rb) / eval(ra);
    h.norm_sqr()
}

/// BS.1770 channel weight for channel `c` of `channels` (the same map as the loudness meter).
pub fn channel_weight(c: usize, channels: usize) -> f64 {
    match (channels, c) {
        (_, 0) | (_, 1) => 1.0,
        (3, 2) | (5, 2) => 1.0,
        (4, 2) | (4, 3) => 1.41,
        (5, 3) | (5, 4) => 1.41,
        (6.., 2) => 1.0,
        (6.., 3) => 0.0,
        (6.., 4) | (6.., 5) => 1.41,
        _ => 0.0,
    }
}

/// The level matcher's state.
pub struct LevelMatcher {
    settings: LevelSettings,
    /// Per-bin `w_k·|H_K|²` for the spectra it is fed.
    bin_weights: Vec<f64>,
    channel_weights: Vec<f64>,
    /// Channel-weighted mean squares of the last hops (ring), their sum and fill.
    hops: Vec<f64>,
    hop_pos: usize,
    hop_fill: usize,
    hop_sum: f64,
    loudness: f64,
    wanted: f64,
    gain: f64,
    attack: f64,
    release: f64,
}

impl LevelMatcher {
    /// A matcher fed with `fft_size`-point spectra every `hop` samples at `sample_rate`.
    /// Allocates everything it will use.
    ///
    /// # Errors
    /// Invalid settings.
    pub fn new(
        settings: LevelSettings,
        sample_rate: u32,
        channels: usize,
        fft_size: usize,
        hop: usize,
    ) -> Result<Self, ConfigError> {
        settings.validate()?;
        let bins = fft_size / 2 + 1;
        let bin_weights = (0..bins)
            .map(|k| {
                let f = k as f64 * sample_rate as f64 / fft_size as f64;
                let w = if k == 0 || k == bins - 1 { 1.0 } else { 2.0 };
                w * k_weighting_power(f, sample_rate)
            })
            .collect();
        let window_hops =
            ((settings.window_ms * 1e-3 * sample_rate as f64 / hop as f64).round() as usize).max(1);
        let per_sample = |ms: f64| (-1.0 / (ms * 1e-3 * sample_rate as f64)).exp();
        Ok(Self {
            settings,
            bin_weights,
            channel_weights: (0..channels).map(|c| channel_weight(c, channels)).collect(),
            hops: vec![0.0; window_hops],
            hop_pos: 0,
            hop_fill: 0,
            hop_sum: 0.0,
            loudness: f64::NEG_INFINITY,
            wanted: 1.0,
            gain: 1.0,
            attack: per_sample(settings.attack_ms),
            release: per_sample(settings.release_ms),
        })
    }

    /// The per-bin weights `w_k·|H_K(f_k)|²` whose dot product with a hop's `|Y_k|²` (true DFT
    /// of an `N`-sample block, divided by `N`) is the block's K-weighted mean square.
    pub fn bin_weights(&self) -> &[f64] {
        &self.bin_weights
    }

    /// Closes a hop given each channel's K-weighted mean square (see
    /// [`bin_weights`](Self::bin_weights)): updates the loudness estimate and the wanted gain.
    /// Real-time safe.
    pub fn push_hop(&mut self, channel_mean_squares: &[f64]) {
        let z: f64 = channel_mean_squares
            .iter()
            .zip(&self.channel_weights)
            .map(|(e, w)| e * w)
            .sum();
        let old = std::mem::replace(&mut self.hops[self.hop_pos], z);
        self.hop_pos = (self.hop_pos + 1) % self.hops.len();
        self.hop_fill = (self.hop_fill + 1).min(self.hops.len());
        self.hop_sum += z - old;
        if self.hop_pos == 0 {
            // Recompute exactly once per window so rounding never accumulates.
            self.hop_sum = self.hops.iter().sum();
        }
        let mean = (self.hop_sum / self.hops.len() as f64).max(0.0);
        self.loudness = if mean > 0.0 {
            -0.691 + 10.0 * mean.log10()
        } else {
            f64::NEG_INFINITY
        };
        self.update_wanted();
    }

    fn update_wanted(&mut self) {
        let s = &self.settings;
        let measurable = self.hop_fill == self.hops.len() && self.loudness >= s.gate_lufs;
        if measurable {
            let db = (s.target_lufs - self.loudness).clamp(-s.max_cut_db, s.max_boost_db);
            self.wanted = 10f64.powf(db / 20.0);
        }
        // Otherwise hold: no boosting of silence, no reaction before a full window.
    }

    /// Sets the target loudness (LUFS, checked by the caller). Real-time safe.
    pub fn set_target(&mut self, lufs: f64) {
        if self.settings.target_lufs != lufs {
            self.settings.target_lufs = lufs;
            if self.loudness.is_finite() {
                self.update_wanted();
            }
        }
    }

    /// The next sample's gain (linear), moving towards the wanted gain. Real-time safe.
    #[inline]
    pub fn next_gain(&mut self) -> f64 {
        let coeff = if self.wanted < self.gain {
            self.attack
        } else {
            self.release
        };
        self.gain = self.wanted + (self.gain - self.wanted) * coeff;
        self.gain
    }

    /// Writes the gains of the next `out.len()` samples (what as many calls of
    /// [`next_gain`](Self::next_gain) return, up to rounding): `wanted + (g − wanted)·c^(i+1)`
    /// by a running product, or a constant once the gain has converged. Real-time safe.
    pub fn fill_gains<T: super::Sample>(&mut self, out: &mut [T]) {
        let diff = self.gain - self.wanted;
        if diff.abs() <= 1e-12 * self.wanted.abs() {
            self.gain = self.wanted;
            out.fill(T::of_f64(self.wanted));
            return;
        }
        let coeff = if self.wanted < self.gain {
            self.attack
        } else {
            self.release
        };
        let mut p = 1.0;
        for g in out.iter_mut() {
            p *= coeff;
            *g = T::of_f64(self.wanted + diff * p);
        }
        self.gain = self.wanted + diff * p;
    }

    /// Advances the gain by `frames` samples at once (what `frames` calls of
    /// [`next_gain`](Self::next_gain) do, up to rounding: the wanted gain is fixed within a hop).
    pub fn advance(&mut self, frames: usize) {
        let coeff = if self.wanted < self.gain {
            self.attack
        } else {
            self.release
        };
        self.gain = self.wanted + (self.gain - self.wanted) * coeff.powi(frames as i32);
    }

    /// The current gain (linear).
    pub fn gain(&self) -> f64 {
        self.gain
    }

    /// The current momentary loudness estimate (LUFS).
    pub fn loudness(&self) -> f64 {
        self.loudness
    }

    /// Forgets the measurement and returns to unity gain. Real-time safe.
    pub fn reset(&mut self) {
        self.hops.fill(0.0);
        self.hop_pos = 0;
        self.hop_fill = 0;
        self.hop_sum = 0.0;
        self.loudness = f64::NEG_INFINITY;
        self.wanted = 1.0;
        self.gain = 1.0;
    }
}
