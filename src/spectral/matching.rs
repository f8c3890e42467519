//! Tonal matching: the EQ gains on the profile grid that move one [`Profile`]'s long-term
//! spectrum to another's.
//!
//! 1. **Bands used**: those present in both profiles (above both noise floors, below both
//!    Nyquist limits). A silent track or reference uses none: the gains stay flat and the
//!    outcome says why ([`MatchOutcome`]).
//! 2. **Difference** `d = reference − track` per band, smoothed across bands by a Gaussian whose
//!    full width at half maximum is `smoothing_octaves` (default 1/6 octave, one grid band:
//!    neighbours weigh 6 %; 0 = none), over the used bands only.
//! 3. **Centred**: the mean of `d` over the used bands is taken off: a constant is level, which
//!    the loudness stage sets; the clamp then holds the bands whose difference from that mean
//!    is within it, the bands the residual is measured over.
//! 4. **Strength and clamp**: `strength · d`, clamped to ±`max_gain_db` (default 12 dB): the
//!    response each band should get.
//! 5. **Band means**: the equalizer's curve passes through each gain at the band centre and is
//!    linear in dB over log frequency between centres
//!    ([`CurveMode::Smooth`](crate::dsp::bands::CurveMode::Smooth)); a band's power
//!    changes by the curve's mean power over the band (weighted by the track's own bin powers
//!    when the track's signal is at hand, as in an offline match; else uniform in Hz), not its
//!    centre value. Four fixed-point steps move each centre gain by what its band's mean
//!    still lacks, within the clamp.
//! 6. Bands not used hold the nearest used band's gain, so the curve is flat outside them.
//!
//! Thread class: any thread; pure computation on a few hundred values.

use super::profile::{Profile, GRID, PROFILE_BANDS};
use crate::dsp::bands::Nodes;
use crate::ConfigError;

/// How to match (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatchSettings {
    /// 0 (no EQ) … 1 (the whole difference). Default 1.
    pub strength: f64,
    /// Largest boost or cut per band, dB (0–24). Default 12.
    pub max_gain_db: f64,
    /// Smoothing of the difference across bands, octaves (0–2; 0 = none). Default 1/6 (the
    /// grid step: neighbours weigh 6 %).
    pub smoothing_octaves: f64,
    /// Loudness target, LUFS (−70…0); `None` = the reference's integrated loudness. Default None.
    pub target_lufs: Option<f64>,
    /// True-peak ceiling of the limiter, dBTP (−60…0). Default −1.
    pub ceiling_dbtp: f64,
}

impl Default for MatchSettings {
    fn default() -> Self {
        Self {
            strength: 1.0,
            max_gain_db: 12.0,
            smoothing_octaves: 1.0 / 6.0,
            target_lufs: None,
            ceiling_dbtp: -1.0,
        }
    }
}

impl MatchSettings {
    /// Checks every range.
    ///
    /// # Errors
    /// [`ConfigError::InvalidMatch`]; [`ConfigError::InvalidTarget`] for the target,
    /// [`ConfigError::InvalidCeiling`] for the ceiling.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let within = |v: f64, lo: f64, hi: f64| v.is_finite() && (lo..=hi).contains(&v);
        if !within(self.strength, 0.0, 1.0)
            || !within(self.max_gain_db, 0.0, 24.0)
            || !within(self.smoothing_octaves, 0.0, 2.0)
        {
            return Err(ConfigError::InvalidMatch);
        }
        if let Some(t) = self.target_lufs {
            crate::dsp::level::check_target(t)?;
        }
        if !within(self.ceiling_dbtp, -60.0, 0.0) {
            return Err(ConfigError::InvalidCeiling);
        }
        Ok(())
    }
}

/// Why the gains are what they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOutcome {
    /// The gains move the track's balance to the reference's.
    Matched = 0,
    /// The reference is silent: no balance to match, the gains are flat.
    SilentReference = 1,
    /// The track is silent: nothing to match, the gains are flat.
    SilentTrack = 2,
    /// No band is present in both profiles (e.g. disjoint bandwidths): the gains are flat.
    NoCommonBands = 3,
}

impl MatchOutcome {
    /// One line on what happened.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Matched => "matched",
            Self::SilentReference => "the reference is silent: no EQ derived",
            Self::SilentTrack => "the track is silent: no EQ derived",
            Self::NoCommonBands => "no band is present in both: no EQ derived",
        }
    }
}

/// The result of [`match_gains`].
#[derive(Clone, Debug, PartialEq)]
pub struct MatchGains {
    /// EQ gains per grid band, dB (for [`GRID`]'s layout, smooth curve).
    pub gains_db: Vec<f64>,
    /// Bands the match used (present in both profiles).
    pub used: Vec<bool>,
    /// Bands whose needed correction (`reference − track`, mean removed, unsmoothed) is within
    /// the clamp: where the accuracy promise holds.
    pub within_clamp: Vec<bool>,
    /// What happened.
    pub outcome: MatchOutcome,
}

/// EQ gains that move `track`'s tonal balance to `reference`'s (see the module documentation).
///
/// # Errors
/// The settings' [`MatchSettings::validate`] errors.
pub fn match_gains(
    track: &Profile,
    reference: &Profile,
    settings: &MatchSettings,
) -> Result<MatchGains, ConfigError> {
    match_gains_in(track, reference, settings, None)
}

/// The track's long-term power per analysis bin: with it, a band's response is the curve
/// averaged with the band's own bin powers as weights (a strong note near a band edge counts
/// as much as it weighs), not uniformly.
pub(crate) struct TrackBins<'a> {
    /// Power per bin, `0..=N/2`.
    pub(crate) power: &'a [f64],
    /// Bin spacing, Hz.
    pub(crate) bin_hz: f64,
    /// Each band's bins.
    pub(crate) bands: Vec<Option<(usize, usize)>>,
}

impl TrackBins<'_> {
    fn band_mean_db(&self, nodes: &Nodes, band: usize) -> f64 {
        let Some((first, end)) = self.bands[band] else {
            return 0.0;
        };
        let (mut moved, mut kept) = (0.0, 0.0);
        for k in first..end {
            let p = self.power[k];
            moved += p * 10f64.powf(nodes.at(k as f64 * self.bin_hz) / 10.0);
            kept += p;
        }
        if kept > 0.0 {
            10.0 * (moved / kept).log10()
        } else {
            0.0
        }
    }
}

/// [`match_gains`], with the track's bin powers when known.
pub(crate) fn match_gains_in(
    track: &Profile,
    reference: &Profile,
    settings: &MatchSettings,
    bins: Option<&TrackBins<'_>>,
) -> Result<MatchGains, ConfigError> {
    settings.validate()?;
    let used: Vec<bool> = track
        .spectrum_db
        .iter()
        .zip(&reference.spectrum_db)
        .map(|(t, r)| t.is_some() && r.is_some())
        .collect();
    let outcome = if reference.is_silent() {
        MatchOutcome::SilentReference
    } else if track.is_silent() {
        MatchOutcome::SilentTrack
    } else if !used.contains(&true) {
        MatchOutcome::NoCommonBands
    } else {
        MatchOutcome::Matched
    };
    if outcome != MatchOutcome::Matched {
        return Ok(MatchGains {
            gains_db: vec![0.0; PROFILE_BANDS],
            used: vec![false; PROFILE_BANDS],
            within_clamp: vec![false; PROFILE_BANDS],
            outcome,
        });
    }
    let level = |p: &Profile, b: usize| p.spectrum_db[b].unwrap_or(0.0);
    let raw: Vec<f64> = (0..PROFILE_BANDS)
        .map(|b| level(reference, b) - level(track, b))
        .collect();
    // The mean over the used bands: a constant is level (the loudness stage sets it), so the
    // gains centre on it and the clamp holds the same bands the residual is measured over.
    let mean = |d: &[f64]| {
        let used_values = (0..PROFILE_BANDS).filter(|&b| used[b]).map(|b| d[b]);
        used_values.clone().sum::<f64>() / used_values.count() as f64
    };
    let raw_offset = mean(&raw);
    let within_clamp = (0..PROFILE_BANDS)
        .map(|b| used[b] && (raw[b] - raw_offset).abs() <= settings.max_gain_db)
        .collect();
    let mut wanted = smooth(
        &raw,
        &used,
        settings.smoothing_octaves * GRID.bands_per_octave as f64,
    );
    let offset = mean(&wanted);
    let limit = settings.max_gain_db;
    for w in &mut wanted {
        *w = (settings.strength * (*w - offset)).clamp(-limit, limit);
    }
    let mut gains = wanted.clone();
    hold_unused(&mut gains, &used);
    let centers = GRID.centers();
    let edges = GRID.edges();
    let mut nodes = Nodes::new(&centers, &gains);
    for _ in 0..4 {
        for b in (0..PROFILE_BANDS).filter(|&b| used[b]) {
            let mean = match bins {
                Some(bins) => bins.band_mean_db(&nodes, b),
                None => band_mean_db(&nodes, edges[b], edges[b + 1]),
            };
            gains[b] = (gains[b] + wanted[b] - mean).clamp(-limit, limit);
        }
        hold_unused(&mut gains, &used);
        nodes.values_mut().copy_from_slice(&gains);
    }
    Ok(MatchGains {
        gains_db: gains,
        used,
        within_clamp,
        outcome,
    })
}

/// The per-band difference `a − b` over `bands`, with its mean over those bands removed (a
/// constant is level, not balance); `None` for the other bands.
pub fn balance_difference(a: &Profile, b: &Profile, bands: &[bool]) -> Vec<Option<f64>> {
    let diff: Vec<Option<f64>> = (0..PROFILE_BANDS)
        .map(|i| {
            bands[i]
                .then(|| Some(a.spectrum_db[i]? - b.spectrum_db[i]?))
                .flatten()
        })
        .collect();
    let present: Vec<f64> = diff.iter().flatten().copied().collect();
    if present.is_empty() {
        return diff;
    }
    let mean = present.iter().sum::<f64>() / present.len() as f64;
    diff.into_iter().map(|d| d.map(|d| d - mean)).collect()
}

/// Root mean square of the present values of a [`balance_difference`] (0 when none).
pub fn rms_db(diff: &[Option<f64>]) -> f64 {
    let present: Vec<f64> = diff.iter().flatten().copied().collect();
    if present.is_empty() {
        return 0.0;
    }
    (present.iter().map(|d| d * d).sum::<f64>() / present.len() as f64).sqrt()
}

/// Gaussian smoothing over the used bands (FWHM `width` bands; below one band: none).
fn smooth(values: &[f64], used: &[bool], width: f64) -> Vec<f64> {
    if width < 1.0 {
        return values.to_vec();
    }
    let sigma = width / (8.0 * std::f64::consts::LN_2).sqrt();
    let reach = (3.0 * sigma).ceil() as isize;
    (0..values.len())
        .map(|b| {
            let (mut sum, mut weight) = (0.0, 0.0);
            for j in (b as isize - reach)..=(b as isize + reach) {
                let Some(j) = usize::try_from(j)
                    .ok()
                    .filter(|&j| j < values.len() && used[j])
                else {
                    continue;
                };
                let w = (-0.5 * ((j as f64 - b as f64) / sigma).powi(2)).exp();
                sum += w * values[j];
                weight += w;
            }
            if weight > 0.0 {
                sum / weight
            } else {
                values[b]
            }
        })
        .collect()
}

/// Unused bands take the nearest used band's value (the lower one on a tie).
fn hold_unused(values: &mut [f64], used: &[bool]) {
    let marks: Vec<usize> = (0..values.len()).filter(|&b| used[b]).collect();
    if marks.is_empty() {
        values.fill(0.0);
        return;
    }
    for b in 0..values.len() {
        if !used[b] {
            let at = marks.partition_point(|&m| m < b);
            let nearest = match (at.checked_sub(1).map(|i| marks[i]), marks.get(at)) {
                (Some(lo), Some(&hi)) => {
                    if b - lo <= hi - b {
                        lo
                    } else {
                        hi
                    }
                }
                (Some(lo), None) => lo,
                (None, Some(&hi)) => hi,
                (None, None) => unreachable!("marks is not empty"),
            };
            values[b] = values[nearest];
        }
    }
}

/// The curve's mean power gain over `[lo, hi)` Hz (uniform in Hz), dB.
fn band_mean_db(nodes: &Nodes, lo: f64, hi: f64) -> f64 {
    const POINTS: usize = 32;
    let step = (hi - lo) / POINTS as f64;
    let mean = (0..POINTS)
        .map(|i| 10f64.powf(nodes.at(lo + (i as f64 + 0.5) * step) / 10.0))
        .sum::<f64>()
        / POINTS as f64;
    10.0 * mean.log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shaped(levels: impl Fn(f64) -> f64) -> Profile {
        Profile {
            sample_rate: 48_000,
            channels: 2,
            frames: 48_000,
            integrated_lufs: Some(-20.0),
            loudness_range_lu: 0.0,
            true_peak_dbtp: Some(-3.0),
            spectrum_db: GRID
                .centers()
                .into_iter()
                .map(|f| Some(levels(f)))
                .collect(),
            side_mid_db: None,
        }
    }

    #[test]
    fn a_tilt_is_matched_centred_and_clamped() {
        let track = shaped(|f| -50.0 - 3.0 * (f / 1000.0).log2());
        let reference = shaped(|f| -40.0 - 1.0 * (f / 1000.0).log2());
        let g = match_gains(&track, &reference, &MatchSettings::default()).unwrap();
        assert_eq!(g.outcome, MatchOutcome::Matched);
        // The needed correction rises 2 dB per octave; the gains follow it up to the clamp.
        let slope = g.gains_db[40] - g.gains_db[34];
        assert!((slope - 2.0).abs() < 0.05, "slope {slope}");
        assert!(g.gains_db.iter().all(|v| v.abs() <= 12.0));
        let zero = MatchSettings {
            strength: 0.0,
            ..Default::default()
        };
        let flat = match_gains(&track, &reference, &zero).unwrap();
        assert!(flat.gains_db.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn silence_and_bad_settings() {
        let track = shaped(|_| -40.0);
        let mut silent = track.clone();
        silent.spectrum_db = vec![None; PROFILE_BANDS];
        let g = match_gains(&track, &silent, &MatchSettings::default()).unwrap();
        assert_eq!(g.outcome, MatchOutcome::SilentReference);
        assert!(g.gains_db.iter().all(|&v| v == 0.0));
        let g = match_gains(&silent, &track, &MatchSettings::default()).unwrap();
        assert_eq!(g.outcome, MatchOutcome::SilentTrack);
        for bad in [
            MatchSettings {
                strength: 1.5,
                ..Default::default()
            },
            MatchSettings {
                max_gain_db: f64::NAN,
                ..Default::default()
            },
            MatchSettings {
                smoothing_octaves: -1.0,
                ..Default::default()
            },
        ] {
            assert_eq!(
                match_gains(&track, &track, &bad),
                Err(ConfigError::InvalidMatch)
            );
        }
    }
}
