//! Matching a track to a reference: the [`PipelineConfig`] that moves its tonal balance,
//! loudness and peak to the reference's ([`match_config`]), and the offline match of a whole
//! track with its report ([`match_track`]).
//!
//! The config is an ordinary pipeline: the EQ on the profile grid
//! ([`GRID`]'s layout, smooth curve) with the
//! [`match_gains`] gains, the level stage in integrated mode at the target (the reference's
//! integrated loudness unless one is given), and the true-peak limiter at the ceiling. So it
//! runs unchanged streaming, chunked, in an engine stream and through the C ABI. Its FFT size is
//! the smallest power of two from 4096 whose bins are at most 3 Hz apart (16384 at 44.1/48 kHz),
//! so the sixth-octave detail of the gains is resolved down to about 50 Hz.
//!
//! The offline match profiles the track, normalises it through that config
//! ([`normalize_on`]: the loudness lands within 0.1 LU, the true peak under the ceiling) and
//! profiles the result for the report.

use super::chunked::{RenderConfig, Watch};
use super::normalize::{normalize_on, NormalizeReport};
use crate::cache::CachedSample;
use crate::dsp::bands::CurveMode;
use crate::dsp::level::{LevelMode, LevelSettings};
use crate::dsp::limiter::LimiterSettings;
use crate::pipeline::{EqSettings, PipelineConfig};
use crate::spectral::matching::{
    balance_difference, match_gains, match_gains_in, rms_db, MatchGains, TrackBins,
};
use crate::spectral::profile::{analysis_size, band_bins, profile_parts, Profile, GRID};
use crate::spectral::MatchSettings;
use crate::workers::Workers;
use crate::{ConfigError, Error};

/// Widest bin spacing of a match's EQ, Hz.
const MAX_EQ_BIN_HZ: f64 = 3.0;

/// The FFT size of a match's EQ at `sample_rate` (see the module documentation).
pub fn match_fft_size(sample_rate: u32) -> usize {
    ((sample_rate as f64 / MAX_EQ_BIN_HZ).ceil() as usize)
        .next_power_of_two()
        .clamp(4096, crate::limits::MAX_FFT_SIZE)
}

/// The loudness a match aims at: the given target, else the reference's, else the track's own
/// (a silent reference: the level stays), else −23 LUFS (both silent: nothing to level).
pub fn match_target(track: &Profile, reference: &Profile, settings: &MatchSettings) -> f64 {
    settings
        .target_lufs
        .or(reference.integrated_lufs)
        .or(track.integrated_lufs)
        .unwrap_or(-23.0)
        .clamp(-70.0, 0.0)
}

/// The pipeline that matches `track` to `reference` at `sample_rate`, and the gains it holds.
///
/// # Errors
/// The settings' [`MatchSettings::validate`] errors; [`ConfigError::InvalidSampleRate`].
pub fn match_config(
    track: &Profile,
    reference: &Profile,
    settings: &MatchSettings,
    sample_rate: u32,
) -> Result<(PipelineConfig, MatchGains), ConfigError> {
    if !(crate::limits::MIN_SAMPLE_RATE..=crate::limits::MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(ConfigError::InvalidSampleRate);
    }
    let gains = match_gains(track, reference, settings)?;
    Ok((
        config_with(&gains, track, reference, settings, sample_rate),
        gains,
    ))
}

/// The pipeline of a match with `gains`.
fn config_with(
    gains: &MatchGains,
    track: &Profile,
    reference: &Profile,
    settings: &MatchSettings,
    sample_rate: u32,
) -> PipelineConfig {
    PipelineConfig {
        eq: Some(EqSettings {
            gains_db: gains.gains_db.clone(),
            layout: GRID.layout(),
            mode: CurveMode::Smooth,
        }),
        level: Some(LevelSettings {
            mode: LevelMode::Integrated,
            target_lufs: match_target(track, reference, settings),
            ..LevelSettings::default()
        }),
        limiter: Some(LimiterSettings {
            ceiling_db: settings.ceiling_dbtp,
            ..LimiterSettings::default()
        }),
        fft_size: match_fft_size(sample_rate),
        ..PipelineConfig::default()
    }
}

/// The pipeline for live matching to `reference` at `sample_rate`
/// ([`Pipeline::enable_live_match`](crate::pipeline::Pipeline::enable_live_match)): the EQ on the
/// profile grid, flat until the running profile warms up; the momentary leveller at the target
/// (the reference's loudness unless given; a live input's whole-track loudness is unknown); the
/// true-peak limiter at the ceiling; the match's FFT size.
///
/// # Errors
/// The settings' [`MatchSettings::validate`] errors; [`ConfigError::InvalidSampleRate`].
pub fn live_match_config(
    reference: &Profile,
    settings: &MatchSettings,
    sample_rate: u32,
) -> Result<PipelineConfig, ConfigError> {
    let (mut config, _) = match_config(reference, reference, settings, sample_rate)?;
    if let Some(eq) = &mut config.eq {
        eq.gains_db.fill(0.0);
    }
    if let Some(level) = &mut config.level {
        level.mode = LevelMode::Momentary;
    }
    Ok(config)
}

/// What an offline match did.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchReport {
    /// The track's profile.
    pub track: Profile,
    /// The output's profile.
    pub output: Profile,
    /// The gains, the bands used and the outcome.
    pub gains: MatchGains,
    /// Per band, track − reference over the bands within the clamp, mean removed, dB.
    pub before_db: Vec<Option<f64>>,
    /// Per band, output − reference over the same bands, mean removed, dB.
    pub after_db: Vec<Option<f64>>,
    /// RMS of `before_db`, dB.
    pub residual_before_db: f64,
    /// RMS of `after_db`, dB: the tonal-balance error left.
    pub residual_after_db: f64,
    /// The loudness normalisation (target, loudness and true peak before and after).
    pub loudness: NormalizeReport,
}

/// Matches planar `input` (`channels × frames` at `sample_rate`) to `reference` into
/// `output[.. input.len()]` (see the module documentation), on `render.threads`.
///
/// Channels: the profiles hold each signal's mean power over its channels, so a track and a
/// reference of any channel counts and sample rates match (the EQ applies to every channel of
/// the track; loudness is measured per BS.1770 on the track's own channels).
///
/// # Errors
/// Invalid settings, channel count, sample rate or thread count; input not a whole number of
/// frames, non-finite samples (or beyond ±2^20), output too small; cancellation. The output is
/// unspecified after an error.
#[allow(clippy::too_many_arguments)]
pub fn match_track<T: CachedSample>(
    input: &[T],
    channels: usize,
    sample_rate: u32,
    reference: &Profile,
    settings: &MatchSettings,
    render: &RenderConfig,
    output: &mut [T],
    watch: Watch<'_>,
) -> Result<MatchReport, Error> {
    settings.validate()?;
    if !(crate::limits::MIN_SAMPLE_RATE..=crate::limits::MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(ConfigError::InvalidSampleRate.into());
    }
    let workers = Workers::from_count(render.threads)?;
    // The true peaks before and after come from the normalisation's own measurements.
    let (mut track, bins) = profile_parts(input, channels, sample_rate, &workers, false)?;
    let n = analysis_size(sample_rate);
    let track_bins = TrackBins {
        power: &bins,
        bin_hz: sample_rate as f64 / n as f64,
        bands: band_bins(sample_rate, n),
    };
    let gains = match_gains_in(&track, reference, settings, Some(&track_bins))?;
    let config = config_with(&gains, &track, reference, settings, sample_rate);
    let target = match_target(&track, reference, settings);
    let loudness = normalize_on(
        input,
        channels,
        sample_rate,
        target,
        &config,
        render,
        output,
        watch,
        &workers,
    )?;
    let (mut out, _) = profile_parts(
        &output[..input.len()],
        channels,
        sample_rate,
        &workers,
        false,
    )?;
    let finite = |v: f64| v.is_finite().then_some(v);
    track.true_peak_dbtp = finite(loudness.input_true_peak_db);
    out.true_peak_dbtp = finite(loudness.output_true_peak_db);
    let before_db = balance_difference(&track, reference, &gains.within_clamp);
    let after_db = balance_difference(&out, reference, &gains.within_clamp);
    Ok(MatchReport {
        residual_before_db: rms_db(&before_db),
        residual_after_db: rms_db(&after_db),
        track,
        output: out,
        gains,
        before_db,
        after_db,
        loudness,
    })
}
