//! Reference profiles: what matching one track to another needs, measured once and stored.
//!
//! A [`Profile`] holds a signal's long-term average spectrum on a fixed log-frequency grid
//! ([`GRID`]: sixth-octave bands centred on `1000·2^(k/6)` Hz, `k = −34..=26`, 19.7 Hz to 20.2
//! kHz), its integrated loudness, loudness range and true peak (BS.1770-4, [`measure`]), and for
//! stereo the side-to-mid balance per band.
//!
//! **The spectrum.** Frames of `N` samples (`N` the smallest power of two with bins at most
//! 1.5 Hz apart: 32768 at 44.1/48 kHz), periodic Hann window, hop `N/2` (Welch's method; `N`
//! once the signal holds 64 frames, about 48 s); a shorter signal is one zero-padded frame. The
//! power `|X_k|²` of the mean of the channels (the mono downmix — for stereo the mid, what a
//! listener's balance and most analysers and matchers see; material in opposite phase between
//! channels cancels in it) is summed over all frames. A band's value
//! is the mean power of the bins whose frequency lies in `[lo, hi)`, divided by the total power
//! of all bins times the bin spacing, in dB: a power spectral density relative to the signal's
//! own power, in dB re 1/Hz. It does not depend on the level (a gain cancels), on silence in
//! the track (silent frames add nothing to either sum), or on the sample rate (white noise at
//! rate `fs` reads `−10·log10(fs/2)` in every band, the physical density). Bands reaching above
//! 0.95 of the Nyquist frequency, bands without a bin and bands more than [`FLOOR_DB`] below the
//! strongest band are absent (`None`): noise floors and missing bandwidth are never matched.
//!
//! **Silence.** A signal whose integrated loudness is below [`SILENT_LUFS`] (or −∞) has no
//! spectrum at all ([`Profile::is_silent`]).
//!
//! **JSON.** [`Profile::to_json`] / [`Profile::from_json`]: a small versioned document
//! (`"format": "tonecore-profile"`, `"version": 1`, the grid, the measurements, the bands with
//! `null` for absent ones). A document of another format, a newer version, another grid, a
//! value out of range or more than [`MAX_JSON_BYTES`] is refused with a [`ProfileError`].
//!
//! Thread class: any thread; computing a profile allocates and runs on the given workers.

use crate::cache::CachedSample;
use crate::dsp::bands::BandLayout;
use crate::dsp::loudness::{measure, measure_without_peak};
use crate::dsp::spectrum::{analyze_frame, FrameBuffers};
use crate::dsp::{all_in_range, WindowKind};
use crate::workers::Workers;
use crate::{ConfigError, Error, ProcessError};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The profile grid: sixth-octave bands.
pub const GRID: Grid = Grid {
    bands_per_octave: 6,
    first: -34,
    last: 26,
};

/// Bands of [`GRID`].
pub const PROFILE_BANDS: usize = 61;

/// The JSON format version this library writes and the newest it reads.
pub const PROFILE_VERSION: u32 = 1;

/// The `"format"` member of a profile document.
pub const PROFILE_FORMAT: &str = "tonecore-profile";

/// Largest profile document read, bytes.
pub const MAX_JSON_BYTES: usize = 1 << 20;

/// Bands this far below the profile's strongest band (dB) are absent: a noise floor.
pub const FLOOR_DB: f64 = 70.0;

/// Below this integrated loudness (LUFS) a signal is silent: it has no spectrum.
pub const SILENT_LUFS: f64 = -70.0;

/// Widest bin spacing of the spectrum analysis, Hz.
const MAX_BIN_HZ: f64 = 1.5;

/// Fraction of the Nyquist frequency a band's upper edge may reach.
const NYQUIST_FRACTION: f64 = 0.95;

/// A log-frequency band grid: bands centred on `1000·2^(k/bands_per_octave)` Hz for
/// `k = first..=last`, edges half a step either side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    /// Bands per octave.
    pub bands_per_octave: u32,
    /// Index `k` of the first band.
    pub first: i32,
    /// Index `k` of the last band.
    pub last: i32,
}

impl Grid {
    /// Number of bands.
    pub fn bands(&self) -> usize {
        (self.last - self.first + 1) as usize
    }

    /// Band centres in Hz.
    pub fn centers(&self) -> Vec<f64> {
        (self.first..=self.last)
            .map(|k| self.at(k as f64))
            .collect()
    }

    /// Band edges in Hz (`bands() + 1` values).
    pub fn edges(&self) -> Vec<f64> {
        (self.first..=self.last + 1)
            .map(|k| self.at(k as f64 - 0.5))
            .collect()
    }

    /// The grid as a [`BandLayout`] for the equalizer (centres are the grid's centres).
    pub fn layout(&self) -> BandLayout {
        BandLayout::from_edges(&self.edges()).expect("grid edges ascend")
    }

    /// `1000·2^(k/bands_per_octave)`, computed as `BandLayout`'s fractional-octave layouts do,
    /// so the grid's layout equals [`BandLayout::sixth_octave`] exactly.
    fn at(&self, k: f64) -> f64 {
        1000.0 * 2f64.powf(k * (1.0 / self.bands_per_octave as f64))
    }
}

/// Why a profile document was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfileError {
    /// Not a profile document: malformed JSON, another format, a missing or mistyped member, a
    /// value out of range or the wrong number of bands (the detail says which).
    Invalid(String),
    /// A newer format version than this library reads.
    Version(u64),
    /// Longer than [`MAX_JSON_BYTES`].
    TooLarge,
}

impl ProfileError {
    /// The matching [`ConfigError`].
    pub fn kind(&self) -> ConfigError {
        match self {
            Self::Version(_) => ConfigError::ProfileVersion,
            _ => ConfigError::InvalidProfile,
        }
    }
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(detail) => write!(f, "not a tonecore profile: {detail}"),
            Self::Version(v) => write!(
                f,
                "profile version {v} is newer than this library reads ({PROFILE_VERSION})"
            ),
            Self::TooLarge => write!(f, "profile document longer than {MAX_JSON_BYTES} bytes"),
        }
    }
}

impl std::error::Error for ProfileError {}

impl From<ProfileError> for ConfigError {
    fn from(e: ProfileError) -> Self {
        e.kind()
    }
}

/// What matching needs of a signal (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// Sample rate of the signal measured, Hz (informational: the grid is rate-independent).
    pub sample_rate: u32,
    /// Channels of the signal measured.
    pub channels: usize,
    /// Frames measured.
    pub frames: u64,
    /// Integrated loudness, LUFS (`None`: silent, below the absolute gate).
    pub integrated_lufs: Option<f64>,
    /// Loudness range, LU.
    pub loudness_range_lu: f64,
    /// True peak, dBTP (`None`: digital silence).
    pub true_peak_dbtp: Option<f64>,
    /// Long-term spectrum per band of [`GRID`], dB re 1/Hz of the signal's power (`None`:
    /// absent band).
    pub spectrum_db: Vec<Option<f64>>,
    /// Stereo only: side power over mid power per band, dB (`None` per band where the mid is
    /// absent).
    pub side_mid_db: Option<Vec<Option<f64>>>,
}

/// The JSON document: the format, version and grid, then the profile's members.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    format: String,
    version: u64,
    grid: Grid,
    sample_rate: u32,
    channels: usize,
    frames: u64,
    integrated_lufs: Option<f64>,
    loudness_range_lu: f64,
    true_peak_dbtp: Option<f64>,
    spectrum_db: Vec<Option<f64>>,
    side_mid_db: Option<Vec<Option<f64>>>,
}

/// Only the version, read before the rest so a newer document is refused as such.
#[derive(Deserialize)]
struct Versioned {
    format: Option<String>,
    version: Option<u64>,
}

impl Profile {
    /// `true` when the signal was silent: no spectrum, nothing to match.
    pub fn is_silent(&self) -> bool {
        self.spectrum_db.iter().all(Option::is_none)
    }

    /// The bands present (not absent).
    pub fn present_bands(&self) -> usize {
        self.spectrum_db.iter().filter(|b| b.is_some()).count()
    }

    /// The versioned JSON document (compact, about 2 KB).
    pub fn to_json(&self) -> String {
        let doc = Document {
            format: PROFILE_FORMAT.to_owned(),
            version: PROFILE_VERSION as u64,
            grid: GRID,
            sample_rate: self.sample_rate,
            channels: self.channels,
            frames: self.frames,
            integrated_lufs: self.integrated_lufs,
            loudness_range_lu: self.loudness_range_lu,
            true_peak_dbtp: self.true_peak_dbtp,
            spectrum_db: self.spectrum_db.clone(),
            side_mid_db: self.side_mid_db.clone(),
        };
        // Every member serialises (no maps with non-string keys, no non-finite floats: absent
        // values are `None`).
        serde_json::to_string(&doc).expect("a profile always serialises")
    }

    /// Reads a document written by [`to_json`](Self::to_json) (this or an older version).
    ///
    /// # Errors
    /// [`ProfileError`]: malformed, another format, a newer version, another grid, values out
    /// of range, too large.
    pub fn from_json(text: &str) -> Result<Self, ProfileError> {
        if text.len() > MAX_JSON_BYTES {
            return Err(ProfileError::TooLarge);
        }
        let invalid = |e: serde_json::Error| ProfileError::Invalid(e.to_string());
        let head: Versioned = serde_json::from_str(text).map_err(invalid)?;
        if head.format.as_deref() != Some(PROFILE_FORMAT) {
            return Err(ProfileError::Invalid(format!(
                "\"format\" must be \"{PROFILE_FORMAT}\""
            )));
        }
        match head.version {
            None | Some(0) => return Err(ProfileError::Invalid("no \"version\"".into())),
            Some(v) if v > PROFILE_VERSION as u64 => return Err(ProfileError::Version(v)),
            Some(_) => {}
        }
        let doc: Document = serde_json::from_str(text).map_err(invalid)?;
        if doc.grid != GRID {
            return Err(ProfileError::Invalid(format!(
                "grid {:?} is not this library's {GRID:?}",
                doc.grid
            )));
        }
        let profile = Profile {
            sample_rate: doc.sample_rate,
            channels: doc.channels,
            frames: doc.frames,
            integrated_lufs: doc.integrated_lufs,
            loudness_range_lu: doc.loudness_range_lu,
            true_peak_dbtp: doc.true_peak_dbtp,
            spectrum_db: doc.spectrum_db,
            side_mid_db: doc.side_mid_db,
        };
        profile.check().map_err(ProfileError::Invalid)?;
        Ok(profile)
    }

    /// Checks ranges (for documents from outside).
    fn check(&self) -> Result<(), String> {
        let in_range = |v: f64, lo: f64, hi: f64| v.is_finite() && (lo..=hi).contains(&v);
        if !(crate::limits::MIN_SAMPLE_RATE..=crate::limits::MAX_SAMPLE_RATE)
            .contains(&self.sample_rate)
        {
            return Err("sample_rate out of range".into());
        }
        if !(1..=crate::limits::MAX_CHANNELS).contains(&self.channels) {
            return Err("channels must be 1-64".into());
        }
        if self.spectrum_db.len() != PROFILE_BANDS {
            return Err(format!("spectrum_db must have {PROFILE_BANDS} bands"));
        }
        let bands_ok =
            |bands: &[Option<f64>]| bands.iter().flatten().all(|&v| in_range(v, -400.0, 100.0));
        if !bands_ok(&self.spectrum_db) {
            return Err("spectrum_db values must be finite, -400..100 dB".into());
        }
        if let Some(side) = &self.side_mid_db {
            if side.len() != PROFILE_BANDS || !bands_ok(side) {
                return Err(format!(
                    "side_mid_db must have {PROFILE_BANDS} finite bands"
                ));
            }
        }
        if self
            .integrated_lufs
            .is_some_and(|v| !in_range(v, -200.0, 100.0))
            || self
                .true_peak_dbtp
                .is_some_and(|v| !in_range(v, -400.0, 200.0))
            || !in_range(self.loudness_range_lu, 0.0, 200.0)
        {
            return Err("loudness or peak out of range".into());
        }
        Ok(())
    }
}

/// The analysis frame length for `sample_rate`: the smallest power of two whose bins are at
/// most 1.5 Hz apart.
pub fn analysis_size(sample_rate: u32) -> usize {
    ((sample_rate as f64 / MAX_BIN_HZ).ceil() as usize).next_power_of_two()
}

/// Measures the [`Profile`] of planar `input` (`channels × frames`) at `sample_rate`, on
/// `threads` (`0` = all cores, `1` = the caller's thread, `n` = a shared pool of `n`).
///
/// # Errors
/// Invalid channel count (1–64), sample rate (8 kHz–2.8224 MHz) or thread count; input not a
/// whole number of frames; non-finite samples or samples beyond ±2^20.
pub fn profile<T: CachedSample>(
    input: &[T],
    channels: usize,
    sample_rate: u32,
    threads: usize,
) -> Result<Profile, Error> {
    profile_on(input, channels, sample_rate, &Workers::from_count(threads)?)
}

/// [`profile`] on given workers.
pub(crate) fn profile_on<T: CachedSample>(
    input: &[T],
    channels: usize,
    sample_rate: u32,
    workers: &Workers,
) -> Result<Profile, Error> {
    Ok(profile_parts(input, channels, sample_rate, workers, true)?.0)
}

/// [`profile_on`] and the downmix's long-term power per bin (for
/// [`TrackBins`](super::matching::TrackBins)); without `true_peak` the 4× oversampled peak is
/// skipped (most of a loudness measurement's cost) and `true_peak_dbtp` is `None`, for callers
/// that learn it elsewhere.
pub(crate) fn profile_parts<T: CachedSample>(
    input: &[T],
    channels: usize,
    sample_rate: u32,
    workers: &Workers,
    true_peak: bool,
) -> Result<(Profile, Vec<f64>), Error> {
    if channels == 0 || channels > crate::limits::MAX_CHANNELS {
        return Err(ConfigError::InvalidChannels.into());
    }
    if !(crate::limits::MIN_SAMPLE_RATE..=crate::limits::MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(ConfigError::InvalidSampleRate.into());
    }
    if input.len() % channels != 0 {
        return Err(ProcessError::InputShape.into());
    }
    if !all_in_range(input) {
        return Err(ProcessError::NonFinite.into());
    }
    let frames = input.len() / channels;
    let (loudness, spectra) = workers.install(|| {
        rayon::join(
            || {
                if true_peak {
                    measure(input, channels, sample_rate)
                } else {
                    measure_without_peak(input, channels, sample_rate)
                }
            },
            || long_term_spectra(input, channels, sample_rate, workers),
        )
    });
    let loudness = loudness?;
    let integrated = loudness.integrated;
    let silent = integrated.is_nan() || integrated < SILENT_LUFS;
    let all_power: f64 = spectra.mid.iter().sum();
    let bin_hz = sample_rate as f64 / analysis_size(sample_rate) as f64;
    let mid = band_powers(&spectra.mid, sample_rate);
    let spectrum_db = relative_db(&mid, all_power * bin_hz, silent);
    let side_mid_db = spectra.side.map(|side| {
        let side = band_powers(&side, sample_rate);
        spectrum_db
            .iter()
            .zip(mid.iter().zip(&side))
            .map(|(present, (m, s))| {
                present.and(match (m, s) {
                    (Some(m), Some(s)) if *m > 0.0 && *s > 0.0 => Some(10.0 * (s / m).log10()),
                    (Some(m), Some(_)) if *m > 0.0 => Some(-400.0),
                    _ => None,
                })
            })
            .collect()
    });
    let finite = |v: f64| v.is_finite().then_some(v);
    let profile = Profile {
        sample_rate,
        channels,
        frames: frames as u64,
        integrated_lufs: finite(integrated).filter(|_| !silent),
        loudness_range_lu: if loudness.range.is_finite() {
            loudness.range
        } else {
            0.0
        },
        true_peak_dbtp: finite(loudness.true_peak).filter(|_| true_peak),
        spectrum_db,
        side_mid_db,
    };
    Ok((profile, spectra.mid))
}

/// Summed bin powers of a whole signal: its downmix and, for stereo, its side.
struct Spectra {
    /// The mean of the channels (for stereo the mid, `(L+R)/2`).
    mid: Vec<f64>,
    /// Stereo only: the side, `(L−R)/2`.
    side: Option<Vec<f64>>,
}

/// Welch power sums (see the module documentation), frames in parallel on `workers`.
fn long_term_spectra<T: CachedSample>(
    input: &[T],
    channels: usize,
    sample_rate: u32,
    workers: &Workers,
) -> Spectra {
    let n = analysis_size(sample_rate);
    let len = input.len() / channels;
    let hop = analysis_hop(len, n);
    let frames = if len <= n {
        1
    } else {
        1 + (len - n).div_ceil(hop)
    };
    let window = T::cache().window(WindowKind::Hann, n);
    let plan = T::cache().forward_plan(n);
    let bins = n / 2 + 1;
    let planes = if channels == 2 { 2 } else { 1 };
    let plane = |c: usize| &input[c * len..(c + 1) * len];
    let scale = T::one() / T::of_f64(channels as f64);
    let frame_power = |k: usize, state: &mut (FrameBuffers<T>, Vec<T>, Vec<f64>)| {
        let (buffers, signal, acc) = state;
        let start = k * hop;
        let end = (start + n).min(len);
        for p in 0..planes {
            let source: &[T] = if channels == 1 {
                &plane(0)[start..end]
            } else {
                signal.clear();
                signal.extend((start..end).map(|i| {
                    if p == 1 {
                        (plane(0)[i] - plane(1)[i]) * scale
                    } else {
                        (0..channels).fold(T::zero(), |s, c| s + plane(c)[i]) * scale
                    }
                }));
                signal
            };
            let mut spectrum = std::mem::take(&mut buffers.spectrum);
            analyze_frame(&*plan, &window, source, 0, buffers, &mut spectrum);
            let row = &mut acc[p * bins..(p + 1) * bins];
            for (a, s) in row.iter_mut().zip(&spectrum) {
                let (re, im) = (s.re.as_f64(), s.im.as_f64());
                *a += re * re + im * im;
            }
            buffers.spectrum = spectrum;
        }
    };
    let scratch = plan.get_scratch_len();
    let init = || {
        (
            FrameBuffers::<T>::new(n, scratch),
            Vec::with_capacity(n),
            vec![0.0f64; planes * bins],
        )
    };
    let add = |mut a: Vec<f64>, b: Vec<f64>| {
        a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
        a
    };
    // Partial sums over fixed runs of frames, whose length depends on the frame count only,
    // added in order: the same signal gives the same bits on any thread count and schedule.
    let run = frames.div_ceil(PARTIAL_SUMS);
    let partial = |r: usize| {
        let mut state = init();
        (r * run..((r + 1) * run).min(frames)).for_each(|k| frame_power(k, &mut state));
        state.2
    };
    let runs = frames.div_ceil(run);
    let partials: Vec<Vec<f64>> = if let Workers::Caller = workers {
        (0..runs).map(partial).collect()
    } else {
        workers.install(|| (0..runs).into_par_iter().map(partial).collect())
    };
    let mut acc = partials
        .into_iter()
        .reduce(add)
        .unwrap_or_else(|| vec![0.0; planes * bins]);
    let side = (planes == 2).then(|| acc.split_off(bins));
    Spectra { mid: acc, side }
}

/// Most partial spectra a profile's analysis keeps at once (each `planes × (n/2 + 1)` f64).
const PARTIAL_SUMS: usize = 32;

/// The analysis hop for `len` frames: half a frame (Welch's 50 % overlap), or a whole frame
/// once the signal holds at least 64 frames, where the overlap no longer lowers the variance
/// of the sixth-octave averages noticeably and would double the cost.
fn analysis_hop(len: usize, n: usize) -> usize {
    if len >= 64 * n {
        n
    } else {
        n / 2
    }
}

/// The bins `[first, end)` of each grid band for frames of `n` samples at `sample_rate` (`None`:
/// no bin, or the band reaches above 0.95 of Nyquist).
pub(crate) fn band_bins(sample_rate: u32, n: usize) -> Vec<Option<(usize, usize)>> {
    let bin_hz = sample_rate as f64 / n as f64;
    let limit = NYQUIST_FRACTION * sample_rate as f64 / 2.0;
    GRID.edges()
        .windows(2)
        .map(|e| {
            let first = (e[0] / bin_hz).ceil() as usize;
            let end = ((e[1] / bin_hz).ceil() as usize).min(n / 2 + 1);
            (e[1] <= limit && first < end).then_some((first, end))
        })
        .collect()
}

/// Mean bin power per grid band (`None` as in [`band_bins`]).
fn band_powers(power: &[f64], sample_rate: u32) -> Vec<Option<f64>> {
    band_bins(sample_rate, (power.len() - 1) * 2)
        .into_iter()
        .map(|r| r.map(|(a, b)| power[a..b].iter().sum::<f64>() / (b - a) as f64))
        .collect()
}

/// Band powers in dB relative to `reference`, absent below the floor or when silent.
pub(crate) fn relative_db(bands: &[Option<f64>], reference: f64, silent: bool) -> Vec<Option<f64>> {
    if silent || reference.is_nan() || reference <= 0.0 {
        return vec![None; bands.len()];
    }
    let db: Vec<Option<f64>> = bands
        .iter()
        .map(|b| {
            b.filter(|&p| p > 0.0)
                .map(|p| 10.0 * (p / reference).log10())
        })
        .collect();
    let top = db
        .iter()
        .flatten()
        .fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    db.into_iter()
        .map(|v| v.filter(|&v| v >= top - FLOOR_DB))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(len: usize, seed: u64) -> Vec<f64> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn the_same_signal_gives_the_same_bits_on_any_thread_count() {
        // 70 analysis frames (more than PARTIAL_SUMS runs): one thread, two, the global pool.
        let x = noise(2 * 48_000 * 24, 5);
        let profiles: Vec<Profile> = [1usize, 2, 0, 2]
            .iter()
            .map(|&t| profile(&x, 2, 48_000, t).unwrap())
            .collect();
        for p in &profiles[1..] {
            assert_eq!(p.to_json(), profiles[0].to_json());
        }
    }

    #[test]
    fn grid_matches_its_definition() {
        assert_eq!(GRID.bands(), PROFILE_BANDS);
        let c = GRID.centers();
        assert!((c[34] - 1000.0).abs() < 1e-9);
        assert!((c[0] - 19.686).abs() < 1e-3);
        assert_eq!(GRID.layout().bands(), PROFILE_BANDS);
        assert_eq!(BandLayout::sixth_octave(), GRID.layout());
    }

    #[test]
    fn white_noise_reads_its_density_at_any_rate_and_level() {
        for (rate, gain) in [(44_100u32, 1.0), (96_000, 0.01)] {
            let x: Vec<f64> = noise(rate as usize * 4, 7)
                .iter()
                .map(|v| v * gain)
                .collect();
            let p = profile(&x, 1, rate, 1).unwrap();
            let expect = -10.0 * (rate as f64 / 2.0).log10();
            for (b, v) in p.spectrum_db.iter().enumerate().skip(20) {
                if let Some(v) = v {
                    assert!((v - expect).abs() < 1.0, "{rate} band {b}: {v} vs {expect}");
                }
            }
            let top = GRID.edges()[PROFILE_BANDS];
            assert_eq!(p.spectrum_db[60].is_some(), top <= 0.95 * rate as f64 / 2.0);
        }
    }

    #[test]
    fn silence_has_no_spectrum_and_json_round_trips() {
        let p = profile(&vec![0.0f32; 96_000], 2, 48_000, 1).unwrap();
        assert!(p.is_silent());
        assert_eq!(p.integrated_lufs, None);
        let back = Profile::from_json(&p.to_json()).unwrap();
        assert_eq!(back, p);
        let x = noise(2 * 48_000, 3);
        let q = profile(&x, 2, 48_000, 0).unwrap();
        assert!(q.side_mid_db.is_some() && !q.is_silent());
        assert_eq!(Profile::from_json(&q.to_json()).unwrap(), q);
    }

    #[test]
    fn documents_are_refused_with_reasons() {
        let q = profile(&noise(48_000, 5), 1, 48_000, 1).unwrap();
        let json = q.to_json();
        let newer = json.replace("\"version\":1", "\"version\":2");
        assert_eq!(Profile::from_json(&newer), Err(ProfileError::Version(2)));
        for bad in [
            "",
            "{",
            "[]",
            "{\"format\":\"other\",\"version\":1}",
            &json.replace("\"bands_per_octave\":6", "\"bands_per_octave\":3"),
            &json.replace("\"channels\":1", "\"channels\":0"),
            &json.replace("\"sample_rate\":48000", "\"sample_rate\":-1"),
            &json.replace(
                "\"loudness_range_lu\":",
                "\"extra\":1,\"loudness_range_lu\":",
            ),
        ] {
            assert!(
                matches!(Profile::from_json(bad), Err(ProfileError::Invalid(_))),
                "{bad}"
            );
        }
        let big = " ".repeat(MAX_JSON_BYTES + 1);
        assert_eq!(Profile::from_json(&big), Err(ProfileError::TooLarge));
    }
}
