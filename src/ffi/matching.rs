//! Reference profiles and matching: `tonecore_profile_*`, `tonecore_match_*`.

use super::format::FormatSample;
use super::pipeline::tonecore_pipeline_config;
use super::render::{
    read_render, tonecore_normalize_report, tonecore_render_config, tonecore_render_progress_fn,
    with_watch,
};
use super::{
    free_object, guard, object_ref, out_param, sized_in, slice_in, slice_out, tonecore_status,
    Failure,
};
use crate::dsp::level::LevelMode;
use crate::pipeline::{LiveMatchSettings, LiveMatchState};
use crate::render::matching::{live_match_config, match_config, match_track};
use crate::render::RenderConfig;
use crate::spectral::profile::{profile, Profile, ProfileError, PROFILE_BANDS};
use crate::spectral::{MatchOutcome, MatchSettings};
use std::ffi::{c_char, c_void};
use std::mem::size_of;

/// Bands of a profile (the sixth-octave grid, `TONECORE_LAYOUT_SIXTH_OCTAVE`).
pub const TONECORE_PROFILE_BANDS: usize = 61;
const _: () = assert!(TONECORE_PROFILE_BANDS == PROFILE_BANDS);

/// A reference profile: a signal's long-term spectrum on the sixth-octave grid, its loudness,
/// loudness range and true peak. Immutable: any thread may read it at once; free it once with
/// `tonecore_profile_free`.
pub struct tonecore_profile {
    pub(crate) profile: Profile,
}

/// A profile's scalar measurements. Set `struct_size = sizeof(tonecore_profile_info)`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct tonecore_profile_info {
    /// Set by the caller to `sizeof(tonecore_profile_info)`.
    pub struct_size: usize,
    /// Sample rate of the signal measured, Hz.
    pub sample_rate: u32,
    /// Channels of the signal measured.
    pub channels: u32,
    /// Frames measured.
    pub frames: u64,
    /// Integrated loudness, LUFS; `-INFINITY` when silent.
    pub integrated_lufs: f64,
    /// Loudness range, LU.
    pub loudness_range_lu: f64,
    /// True peak, dBTP; `-INFINITY` for digital silence.
    pub true_peak_dbtp: f64,
    /// Bands present (not absent: above the noise floor and below the Nyquist limit).
    pub present_bands: u32,
    /// Non-zero when the signal was silent (no spectrum).
    pub silent: u32,
    /// Non-zero when the profile holds a side/mid balance (stereo).
    pub has_side_mid: u32,
}

/// How to match. Initialise with `tonecore_match_config_init`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_match_config {
    /// `sizeof(tonecore_match_config)` as the caller compiled it (set by `_init`).
    pub struct_size: usize,
    /// 0 (no EQ) … 1 (the whole difference). Default 1.
    pub strength: f64,
    /// Largest boost or cut per band, dB (0–24). Default 12.
    pub max_gain_db: f64,
    /// Smoothing of the difference across bands, octaves (0–2). Default 1/6.
    pub smoothing_octaves: f64,
    /// Loudness target, LUFS (−70…0); NAN = the reference's integrated loudness. Default NAN.
    pub target_lufs: f64,
    /// True-peak ceiling, dBTP (−60…0). Default −1.
    pub ceiling_dbtp: f64,
}

impl Default for tonecore_match_config {
    fn default() -> Self {
        let d = MatchSettings::default();
        Self {
            struct_size: size_of::<Self>(),
            strength: d.strength,
            max_gain_db: d.max_gain_db,
            smoothing_octaves: d.smoothing_octaves,
            target_lufs: f64::NAN,
            ceiling_dbtp: d.ceiling_dbtp,
        }
    }
}

/// How a pipeline matches live (`tonecore_pipeline_live_match`). Initialise with
/// `tonecore_live_match_config_init`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_live_match_config {
    /// `sizeof(tonecore_live_match_config)` as the caller compiled it (set by `_init`).
    pub struct_size: usize,
    /// 0 (no EQ) … 1 (the whole difference). Default 1.
    pub strength: f64,
    /// Largest boost or cut per band, dB (0–24). Default 12.
    pub max_gain_db: f64,
    /// Smoothing of the difference across bands, octaves (0–2). Default 1/6.
    pub smoothing_octaves: f64,
    /// Level target, LUFS (−70…0); NAN = the reference's integrated loudness. Default NAN.
    pub target_lufs: f64,
    /// Limiter ceiling, dBTP (−60…0). Default −1.
    pub ceiling_dbtp: f64,
    /// Time constant of the running spectrum, s (1–120). Default 10.
    pub time_constant_s: f64,
    /// Largest gain change per band per second of audio, dB (0.01–24). Default 1.
    pub max_slew_db_per_s: f64,
    /// Non-silent input averaged before the first gains, s (0–60). Default 3.
    pub warmup_s: f64,
}

impl Default for tonecore_live_match_config {
    fn default() -> Self {
        let m = tonecore_match_config::default();
        let d = LiveMatchSettings::default();
        Self {
            struct_size: size_of::<Self>(),
            strength: m.strength,
            max_gain_db: m.max_gain_db,
            smoothing_octaves: m.smoothing_octaves,
            target_lufs: m.target_lufs,
            ceiling_dbtp: m.ceiling_dbtp,
            time_constant_s: d.time_constant_s,
            max_slew_db_per_s: d.max_slew_db_per_s,
            warmup_s: d.warmup_s,
        }
    }
}

/// Reads a live match config (NULL: the defaults) and checks it.
///
/// # Safety
/// `config` NULL or readable for its `struct_size`.
pub(crate) unsafe fn read_live_match(
    config: *const tonecore_live_match_config,
) -> Result<LiveMatchSettings, Failure> {
    let c = if config.is_null() {
        tonecore_live_match_config::default()
    } else {
        sized_in(
            config,
            &[],
            "config->struct_size is too small; call tonecore_live_match_config_init first",
        )?
    };
    let settings = LiveMatchSettings {
        matching: match_settings(
            c.strength,
            c.max_gain_db,
            c.smoothing_octaves,
            c.target_lufs,
            c.ceiling_dbtp,
        ),
        time_constant_s: c.time_constant_s,
        max_slew_db_per_s: c.max_slew_db_per_s,
        warmup_s: c.warmup_s,
    };
    settings.validate()?;
    Ok(settings)
}

/// Where a live match stands (`tonecore_params_update_match`). Set `struct_size`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_live_match_state {
    /// Set by the caller to `sizeof(tonecore_live_match_state)`.
    pub struct_size: usize,
    /// Input analysed so far, seconds.
    pub analysed_s: f64,
    /// Non-silent input in the running average (decay-weighted), seconds.
    pub averaged_s: f64,
    /// Non-zero once the warm-up is over and the gains follow the match.
    pub active: u32,
    /// A `TONECORE_MATCH_OUTCOME_*` value for the running profile.
    pub outcome: i32,
    /// The gains now set, dB.
    pub gains_db: [f64; TONECORE_PROFILE_BANDS],
    /// The gains the match aims at now, dB.
    pub target_db: [f64; TONECORE_PROFILE_BANDS],
}

impl tonecore_live_match_state {
    pub(crate) fn of(s: &LiveMatchState) -> Self {
        let all = |v: &[f64]| bands_of(&v.iter().map(|&g| Some(g)).collect::<Vec<_>>());
        Self {
            struct_size: size_of::<Self>(),
            analysed_s: s.analysed_s,
            averaged_s: s.averaged_s,
            active: u32::from(s.active),
            outcome: outcome_code(s.outcome),
            gains_db: all(&s.gains_db),
            target_db: all(&s.target_db),
        }
    }
}

/// Writes the default live match config (the match's defaults; 10 s time constant, 1 dB/s
/// slew, 3 s warm-up) to `*config_out`, `struct_size` set.
///
/// Returns `NULL_POINTER`. Thread class: any-thread.
///
/// `config_out` is borrowed for the call only.
///
/// # Safety
/// `config_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_live_match_config_init(
    config_out: *mut tonecore_live_match_config,
) -> tonecore_status {
    guard(|| {
        out_param(config_out)?.write(tonecore_live_match_config::default());
        Ok(())
    })
}

/// Fills an initialised pipeline config (its `sample_rate`, `channels`, `max_block` and
/// `sample_format` are the caller's) for live matching to `reference`: the EQ enabled on
/// `TONECORE_LAYOUT_SIXTH_OCTAVE`, flat (`eq_gains_db` NULL), the momentary leveller at the
/// target, the true-peak limiter at the ceiling, the match's `fft_size`. Create the pipeline
/// from it, then call `tonecore_pipeline_live_match`. `match_config_in` may be NULL. Nothing is
/// written on error.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_ARGUMENT`, `INVALID_TARGET`,
/// `INVALID_CEILING`, `INVALID_SAMPLE_RATE`. Thread class: any-thread.
///
/// All pointers are borrowed for the call only.
///
/// # Safety
/// `reference` live; `match_config_in` NULL or readable for its `struct_size`;
/// `pipeline_inout` readable and writable for its `struct_size`.
#[no_mangle]
pub unsafe extern "C" fn tonecore_match_live_pipeline_config(
    reference: *const tonecore_profile,
    match_config_in: *const tonecore_match_config,
    pipeline_inout: *mut tonecore_pipeline_config,
) -> tonecore_status {
    guard(|| {
        let reference = &object_ref(reference)?.profile;
        let settings = read_match(match_config_in)?;
        let mut c = read_pipeline_inout(pipeline_inout)?;
        let config = live_match_config(reference, &settings, c.sample_rate)?;
        let level = config.level.expect("a live match has a level stage");
        fill_pipeline(&mut c, &config, std::ptr::null(), level.mode);
        pipeline_inout.write(c);
        Ok(())
    })
}

/// Why a match's gains are what they are (values of `tonecore_match_report.outcome`).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tonecore_match_outcome {
    /// The gains move the track's balance to the reference's.
    Matched = 0,
    /// The reference is silent: no EQ derived (flat gains).
    SilentReference = 1,
    /// The track is silent: no EQ derived.
    SilentTrack = 2,
    /// No band is present in both: no EQ derived.
    NoCommonBands = 3,
}

/// What `tonecore_match_*` did. Per-band arrays are on the sixth-octave grid; NAN marks a band
/// not compared (absent in a profile, or needing more than the clamp). Set `struct_size`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_match_report {
    /// Set by the caller to `sizeof(tonecore_match_report)`.
    pub struct_size: usize,
    /// A `TONECORE_MATCH_OUTCOME_*` value.
    pub outcome: i32,
    /// Bands compared (present in both profiles, correction within the clamp).
    pub compared_bands: u32,
    /// RMS of `before_db`: the balance difference before, dB.
    pub residual_before_db: f64,
    /// RMS of `after_db`: the balance difference left, dB.
    pub residual_after_db: f64,
    /// The EQ gains applied, dB.
    pub gains_db: [f64; TONECORE_PROFILE_BANDS],
    /// Track − reference per band (mean over the compared bands removed), dB.
    pub before_db: [f64; TONECORE_PROFILE_BANDS],
    /// Output − reference per band (mean removed), dB.
    pub after_db: [f64; TONECORE_PROFILE_BANDS],
    /// The loudness normalisation (target, loudness and true peak before and after).
    pub loudness: tonecore_normalize_report,
}

fn outcome_code(o: MatchOutcome) -> i32 {
    (match o {
        MatchOutcome::Matched => tonecore_match_outcome::Matched,
        MatchOutcome::SilentReference => tonecore_match_outcome::SilentReference,
        MatchOutcome::SilentTrack => tonecore_match_outcome::SilentTrack,
        MatchOutcome::NoCommonBands => tonecore_match_outcome::NoCommonBands,
    }) as i32
}

fn bands_of(values: &[Option<f64>]) -> [f64; TONECORE_PROFILE_BANDS] {
    let mut out = [f64::NAN; TONECORE_PROFILE_BANDS];
    for (o, v) in out.iter_mut().zip(values) {
        *o = v.unwrap_or(f64::NAN);
    }
    out
}

impl From<ProfileError> for Failure {
    fn from(e: ProfileError) -> Self {
        Failure::detail(crate::ConfigError::from(e.clone()).into(), e.to_string())
    }
}

/// Reads a match config (NULL: the defaults).
///
/// # Safety
/// `config` NULL or readable for its `struct_size`.
unsafe fn read_match(config: *const tonecore_match_config) -> Result<MatchSettings, Failure> {
    let c = if config.is_null() {
        tonecore_match_config::default()
    } else {
        sized_in(
            config,
            &[],
            "config->struct_size is too small; call tonecore_match_config_init first",
        )?
    };
    let settings = match_settings(
        c.strength,
        c.max_gain_db,
        c.smoothing_octaves,
        c.target_lufs,
        c.ceiling_dbtp,
    );
    settings.validate()?;
    Ok(settings)
}

/// The match settings of a C config's fields (a NAN target: the reference's loudness).
fn match_settings(
    strength: f64,
    max_gain_db: f64,
    smoothing_octaves: f64,
    target_lufs: f64,
    ceiling_dbtp: f64,
) -> MatchSettings {
    MatchSettings {
        strength,
        max_gain_db,
        smoothing_octaves,
        target_lufs: (!target_lufs.is_nan()).then_some(target_lufs),
        ceiling_dbtp,
    }
}

/// Writes the default match config (strength 1, ±12 dB, 1/6-octave smoothing, the reference's
/// loudness, −1 dBTP) to `*config_out`, `struct_size` set.
///
/// Returns `NULL_POINTER`. Thread class: any-thread.
///
/// `config_out` is borrowed for the call only.
///
/// # Safety
/// `config_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_match_config_init(
    config_out: *mut tonecore_match_config,
) -> tonecore_status {
    guard(|| {
        out_param(config_out)?.write(tonecore_match_config::default());
        Ok(())
    })
}

unsafe fn compute_ffi<T: FormatSample>(
    input: *const T,
    input_len: usize,
    channels: u32,
    sample_rate: u32,
    threads: u32,
    profile_out: *mut *mut tonecore_profile,
) -> tonecore_status {
    guard(|| {
        let out = out_param(profile_out)?;
        let x = slice_in(input, input_len)?;
        let p = profile(x, channels as usize, sample_rate, threads as usize)?;
        out.write(Box::into_raw(Box::new(tonecore_profile { profile: p })));
        Ok(())
    })
}

/// Measures the profile of a planar signal (`channels` rows of `input_len / channels` frames at
/// `sample_rate`) into `*profile_out` (written only on success; free it with
/// `tonecore_profile_free`). `threads`: 0 = all cores, 1 = the calling thread, n = a shared
/// pool of n.
///
/// Returns `NULL_POINTER`, `INVALID_LENGTH`, `INVALID_CHANNELS` (0 or above 64),
/// `INVALID_SAMPLE_RATE` (8 kHz–2.8224 MHz), `INVALID_ARGUMENT` (threads above 1024, input not
/// a whole number of frames), `NON_FINITE` (NaN, infinity or beyond ±2^20), `THREAD_POOL`.
/// Thread class: control-thread / worker (allocates; runs on the worker threads).
///
/// `input` is borrowed for the call only.
///
/// # Safety
/// `input` readable for `input_len` floats; `profile_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_profile_compute_f32(
    input: *const f32,
    input_len: usize,
    channels: u32,
    sample_rate: u32,
    threads: u32,
    profile_out: *mut *mut tonecore_profile,
) -> tonecore_status {
    compute_ffi(
        input,
        input_len,
        channels,
        sample_rate,
        threads,
        profile_out,
    )
}

/// Double-precision [`tonecore_profile_compute_f32`]; the profile in `*profile_out` is freed
/// with `tonecore_profile_free`.
///
/// Returns `NULL_POINTER`, `INVALID_LENGTH`, `INVALID_CHANNELS`, `INVALID_SAMPLE_RATE`,
/// `INVALID_ARGUMENT`, `NON_FINITE`, `THREAD_POOL`. Thread class: control-thread / worker.
///
/// `input` is borrowed for the call only.
///
/// # Safety
/// `input` readable for `input_len` doubles; `profile_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_profile_compute_f64(
    input: *const f64,
    input_len: usize,
    channels: u32,
    sample_rate: u32,
    threads: u32,
    profile_out: *mut *mut tonecore_profile,
) -> tonecore_status {
    compute_ffi(
        input,
        input_len,
        channels,
        sample_rate,
        threads,
        profile_out,
    )
}

/// Frees a profile; NULL is a no-op.
///
/// Thread class: any-thread; no other call on this profile may be running or follow.
///
/// # Safety
/// `profile` NULL or live; no call on it may be running or follow.
#[no_mangle]
pub unsafe extern "C" fn tonecore_profile_free(profile: *mut tonecore_profile) {
    free_object(profile);
}

/// Writes the profile as a versioned JSON document (UTF-8, NUL-terminated) to `buffer`.
/// `*len_out` (may be NULL) receives the document's length without the NUL in every case that
/// gets that far, so a call with `capacity` 0 (and `buffer` NULL) asks for the size; the
/// document is under 4 KiB.
///
/// Returns `NULL_POINTER` (`profile`, or `buffer` with a non-zero capacity), `BUFFER_TOO_SMALL`
/// (`capacity` < length + 1: nothing is written to `buffer`). Thread class: any-thread.
///
/// All pointers are borrowed for the call only.
///
/// # Safety
/// `profile` live; `buffer` writable for `capacity` bytes; `len_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_profile_to_json(
    profile: *const tonecore_profile,
    buffer: *mut c_char,
    capacity: usize,
    len_out: *mut usize,
) -> tonecore_status {
    guard(|| {
        let json = object_ref(profile)?.profile.to_json();
        if !len_out.is_null() {
            len_out.write(json.len());
        }
        if capacity < json.len() + 1 {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        let out = slice_out(buffer.cast::<u8>(), capacity)?;
        out[..json.len()].copy_from_slice(json.as_bytes());
        out[json.len()] = 0;
        Ok(())
    })
}

/// Reads a profile document (`len` bytes of UTF-8; a trailing NUL is allowed) into
/// `*profile_out` (written only on success; free it with `tonecore_profile_free`).
///
/// Returns `NULL_POINTER`, `INVALID_PROFILE` (malformed, not UTF-8, another format or grid,
/// values out of range, over 1 MiB; `tonecore_last_error` says which), `PROFILE_VERSION` (a
/// newer version than this library reads). Thread class: any-thread.
///
/// `json` is borrowed for the call only.
///
/// # Safety
/// `json` readable for `len` bytes; `profile_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_profile_from_json(
    json: *const c_char,
    len: usize,
    profile_out: *mut *mut tonecore_profile,
) -> tonecore_status {
    guard(|| {
        let out = out_param(profile_out)?;
        let bytes = slice_in(json.cast::<u8>(), len)?;
        let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
        let text = std::str::from_utf8(bytes).map_err(|_| {
            Failure::detail(tonecore_status::InvalidProfile, "the document is not UTF-8")
        })?;
        let p = Profile::from_json(text)?;
        out.write(Box::into_raw(Box::new(tonecore_profile { profile: p })));
        Ok(())
    })
}

/// Writes a profile's measurements to `*info_out` (its `struct_size` set by the caller).
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`. Thread class: any-thread.
///
/// Both pointers are borrowed for the call only.
///
/// # Safety
/// `profile` live; `info_out` writable for its `struct_size`.
#[no_mangle]
pub unsafe extern "C" fn tonecore_profile_get_info(
    profile: *const tonecore_profile,
    info_out: *mut tonecore_profile_info,
) -> tonecore_status {
    guard(|| {
        let p = &object_ref(profile)?.profile;
        let out = out_param(info_out)?;
        if out.cast::<usize>().read_unaligned() < size_of::<tonecore_profile_info>() {
            return Err(Failure::detail(
                tonecore_status::StructSize,
                "info_out->struct_size must be sizeof(tonecore_profile_info)",
            ));
        }
        out.write(tonecore_profile_info {
            struct_size: size_of::<tonecore_profile_info>(),
            sample_rate: p.sample_rate,
            channels: p.channels as u32,
            frames: p.frames,
            integrated_lufs: p.integrated_lufs.unwrap_or(f64::NEG_INFINITY),
            loudness_range_lu: p.loudness_range_lu,
            true_peak_dbtp: p.true_peak_dbtp.unwrap_or(f64::NEG_INFINITY),
            present_bands: p.present_bands() as u32,
            silent: u32::from(p.is_silent()),
            has_side_mid: u32::from(p.side_mid_db.is_some()),
        });
        Ok(())
    })
}

/// Copies a profile's spectrum (dB re 1/Hz of the signal's power, NAN for absent bands) to
/// `spectrum_out` and, when `side_mid_out` is not NULL, its side/mid balance (dB; NAN for
/// absent bands and for profiles without one) — each `TONECORE_PROFILE_BANDS` values.
///
/// Returns `NULL_POINTER`, `BUFFER_TOO_SMALL` (a length below `TONECORE_PROFILE_BANDS`).
/// Thread class: any-thread.
///
/// All pointers are borrowed for the call only.
///
/// # Safety
/// `profile` live; `spectrum_out` writable for `spectrum_len` doubles, a non-NULL
/// `side_mid_out` for `side_mid_len`.
#[no_mangle]
pub unsafe extern "C" fn tonecore_profile_spectrum(
    profile: *const tonecore_profile,
    spectrum_out: *mut f64,
    spectrum_len: usize,
    side_mid_out: *mut f64,
    side_mid_len: usize,
) -> tonecore_status {
    guard(|| {
        let p = &object_ref(profile)?.profile;
        let spectrum = slice_out(spectrum_out, spectrum_len)?;
        let side = if side_mid_out.is_null() {
            None
        } else {
            Some(slice_out(side_mid_out, side_mid_len)?)
        };
        if spectrum.len() < PROFILE_BANDS || side.as_ref().is_some_and(|s| s.len() < PROFILE_BANDS)
        {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        spectrum[..PROFILE_BANDS].copy_from_slice(&bands_of(&p.spectrum_db));
        if let Some(side) = side {
            let values = p
                .side_mid_db
                .clone()
                .unwrap_or_else(|| vec![None; PROFILE_BANDS]);
            side[..PROFILE_BANDS].copy_from_slice(&bands_of(&values));
        }
        Ok(())
    })
}

/// Fills an initialised pipeline config (`tonecore_pipeline_config_init`; its `sample_rate`,
/// `channels`, `max_block` and `sample_format` are the caller's) with the match of `track` to
/// `reference`: the EQ enabled on `TONECORE_LAYOUT_SIXTH_OCTAVE`, smooth, its gains written to
/// `gains_out` (`TONECORE_PROFILE_BANDS` values) and `eq_gains_db` pointing there (so
/// `gains_out` must outlive the config's use); `fft_size` the match's (16384 at 44.1/48 kHz);
/// the level stage enabled, integrated, at the target; the true-peak limiter enabled at the
/// ceiling. `match_config_in` may be NULL (the defaults). `*outcome_out` (may be NULL) receives a
/// `TONECORE_MATCH_OUTCOME_*` value. Nothing is written on error.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `BUFFER_TOO_SMALL`, `INVALID_ARGUMENT` (strength,
/// max gain or smoothing out of range), `INVALID_TARGET`, `INVALID_CEILING`,
/// `INVALID_SAMPLE_RATE`. Thread class: any-thread.
///
/// All pointers are borrowed for the call only (`gains_out` is then referenced by the config).
///
/// # Safety
/// Profiles live; `match_config_in` NULL or readable for its `struct_size`; `pipeline_inout`
/// readable and writable for its `struct_size`; `gains_out` writable for `gains_len` doubles;
/// `outcome_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_match_pipeline_config(
    track: *const tonecore_profile,
    reference: *const tonecore_profile,
    match_config_in: *const tonecore_match_config,
    pipeline_inout: *mut tonecore_pipeline_config,
    gains_out: *mut f64,
    gains_len: usize,
    outcome_out: *mut i32,
) -> tonecore_status {
    guard(|| {
        let track = &object_ref(track)?.profile;
        let reference = &object_ref(reference)?.profile;
        let settings = read_match(match_config_in)?;
        let mut c = read_pipeline_inout(pipeline_inout)?;
        let gains = slice_out(gains_out, gains_len)?;
        if gains.len() < PROFILE_BANDS {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        let (config, matched) = match_config(track, reference, &settings, c.sample_rate)?;
        gains[..PROFILE_BANDS].copy_from_slice(&matched.gains_db);
        fill_pipeline(&mut c, &config, gains.as_ptr(), LevelMode::Integrated);
        pipeline_inout.write(c);
        if !outcome_out.is_null() {
            outcome_out.write(outcome_code(matched.outcome));
        }
        Ok(())
    })
}

/// Reads a whole, current pipeline config for a function that fills it.
///
/// # Safety
/// `pipeline_inout` NULL or readable for its `struct_size`.
unsafe fn read_pipeline_inout(
    pipeline_inout: *mut tonecore_pipeline_config,
) -> Result<tonecore_pipeline_config, Failure> {
    let c: tonecore_pipeline_config = sized_in(
        pipeline_inout,
        &[],
        "pipeline->struct_size is too small; call tonecore_pipeline_config_init first",
    )?;
    if c.struct_size < size_of::<tonecore_pipeline_config>() {
        return Err(Failure::detail(
            tonecore_status::StructSize,
            "pipeline->struct_size must be sizeof(tonecore_pipeline_config)",
        ));
    }
    Ok(c)
}

/// Writes a match's stages into a C pipeline config; the EQ gains are `gains` (NULL: flat).
fn fill_pipeline(
    c: &mut tonecore_pipeline_config,
    config: &crate::pipeline::PipelineConfig,
    gains: *const f64,
    mode: LevelMode,
) {
    let level = config.level.expect("a match has a level stage");
    let limiter = config.limiter.expect("a match has a limiter");
    c.eq_enabled = 1;
    c.layout = super::bands::tonecore_layout::SixthOctave as i32;
    c.mode = super::bands::tonecore_curve_mode::Smooth as i32;
    c.edges = std::ptr::null();
    c.edges_len = 0;
    c.eq_gains_db = gains;
    c.eq_gains_len = if gains.is_null() { 0 } else { PROFILE_BANDS };
    c.fft_size = config.fft_size;
    c.level_enabled = 1;
    c.level_mode = match mode {
        LevelMode::Integrated => super::pipeline::tonecore_level_mode::Integrated,
        LevelMode::Momentary => super::pipeline::tonecore_level_mode::Momentary,
    } as i32;
    c.target_lufs = level.target_lufs;
    c.track_gain_db = 0.0;
    c.limiter_enabled = 1;
    c.ceiling_db = limiter.ceiling_db;
    c.lookahead_ms = limiter.lookahead_ms;
    c.limiter_release_ms = limiter.release_ms;
    c.limiter_true_peak = 1;
}

#[allow(clippy::too_many_arguments)]
unsafe fn match_ffi<T: FormatSample>(
    input: *const T,
    input_len: usize,
    output: *mut T,
    output_len: usize,
    channels: u32,
    sample_rate: u32,
    reference: *const tonecore_profile,
    match_config_in: *const tonecore_match_config,
    render: *const tonecore_render_config,
    report_out: *mut tonecore_match_report,
    progress: tonecore_render_progress_fn,
    user_data: *mut c_void,
) -> tonecore_status {
    guard(|| {
        if !report_out.is_null()
            && report_out.cast::<usize>().read_unaligned() < size_of::<tonecore_match_report>()
        {
            return Err(Failure::detail(
                tonecore_status::StructSize,
                "report_out->struct_size must be sizeof(tonecore_match_report)",
            ));
        }
        let reference = &object_ref(reference)?.profile;
        let settings = read_match(match_config_in)?;
        let render = if render.is_null() {
            RenderConfig::default()
        } else {
            read_render(render)?.render
        };
        let x = slice_in(input, input_len)?;
        let y = slice_out(output, output_len)?;
        super::disjoint(input, input_len, output, output_len)?;
        let channels = channels as usize;
        if channels == 0 || channels > crate::limits::MAX_CHANNELS {
            return Err(tonecore_status::InvalidChannels.into());
        }
        if input_len % channels != 0 {
            return Err(tonecore_status::InvalidLength.into());
        }
        let report = with_watch(progress, user_data, |watch| {
            match_track(
                x,
                channels,
                sample_rate,
                reference,
                &settings,
                &render,
                y,
                watch,
            )
        })?;
        if !report_out.is_null() {
            let compared = report.gains.within_clamp.iter().filter(|&&b| b).count();
            let gains = report
                .gains
                .gains_db
                .iter()
                .map(|&g| Some(g))
                .collect::<Vec<_>>();
            report_out.write(tonecore_match_report {
                struct_size: size_of::<tonecore_match_report>(),
                outcome: outcome_code(report.gains.outcome),
                compared_bands: compared as u32,
                residual_before_db: report.residual_before_db,
                residual_after_db: report.residual_after_db,
                gains_db: bands_of(&gains),
                before_db: bands_of(&report.before_db),
                after_db: bands_of(&report.after_db),
                loudness: tonecore_normalize_report::of(&report.loudness),
            });
        }
        Ok(())
    })
}

/// Matches a whole planar track `input` (`channels` rows of `input_len / channels` frames at
/// `sample_rate`) to `reference` into `output` (`output_len ≥ input_len`; same length, latency
/// removed): its tonal balance (EQ on the sixth-octave grid), its loudness (the reference's
/// integrated loudness, or `match_config->target_lufs`; within 0.1 LU) and the true-peak
/// ceiling. The reference may have any sample rate and channel count (profiles hold the mean
/// power over channels on a rate-independent grid). A silent reference or track derives no EQ
/// (`report_out->outcome` says so), which is still `OK`. `match_config` and `render` may be
/// NULL (the defaults); `*report_out` (may be NULL; its `struct_size` set) receives the report;
/// `progress` as for `tonecore_render_chunked_f32`.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_LENGTH`, `INVALID_CHANNELS`,
/// `INVALID_SAMPLE_RATE`, `INVALID_ARGUMENT`, `INVALID_TARGET`, `INVALID_CEILING`,
/// `INVALID_CHUNK`, `NON_FINITE`, `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`, `CANCELLED`,
/// `THREAD_POOL`, `OUT_OF_MEMORY`; the output is unspecified after an error. Thread class:
/// control-thread / worker.
///
/// Every pointer is borrowed for the call only; `user_data` is passed to `progress` untouched.
///
/// # Safety
/// Buffers valid for their lengths and not overlapping; `reference` live; configs NULL or
/// readable for their `struct_size`; `report_out` NULL or writable for its `struct_size`;
/// `progress` callable from other threads with `user_data` until this returns.
#[no_mangle]
pub unsafe extern "C" fn tonecore_match_f32(
    input: *const f32,
    input_len: usize,
    output: *mut f32,
    output_len: usize,
    channels: u32,
    sample_rate: u32,
    reference: *const tonecore_profile,
    match_config: *const tonecore_match_config,
    render: *const tonecore_render_config,
    report_out: *mut tonecore_match_report,
    progress: tonecore_render_progress_fn,
    user_data: *mut c_void,
) -> tonecore_status {
    match_ffi(
        input,
        input_len,
        output,
        output_len,
        channels,
        sample_rate,
        reference,
        match_config,
        render,
        report_out,
        progress,
        user_data,
    )
}

/// Double-precision [`tonecore_match_f32`]: `input` and `output` hold doubles; `reference`,
/// `match_config` (may be NULL), `render` (may be NULL) and `report_out` as there.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_LENGTH`, `INVALID_CHANNELS`,
/// `INVALID_SAMPLE_RATE`, `INVALID_ARGUMENT`, `INVALID_TARGET`, `INVALID_CEILING`,
/// `INVALID_CHUNK`, `NON_FINITE`, `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`, `CANCELLED`,
/// `THREAD_POOL`, `OUT_OF_MEMORY`. Thread class: control-thread / worker.
///
/// Every pointer is borrowed for the call only; `user_data` is passed to `progress` untouched.
///
/// # Safety
/// As for `tonecore_match_f32`, with doubles.
#[no_mangle]
pub unsafe extern "C" fn tonecore_match_f64(
    input: *const f64,
    input_len: usize,
    output: *mut f64,
    output_len: usize,
    channels: u32,
    sample_rate: u32,
    reference: *const tonecore_profile,
    match_config: *const tonecore_match_config,
    render: *const tonecore_render_config,
    report_out: *mut tonecore_match_report,
    progress: tonecore_render_progress_fn,
    user_data: *mut c_void,
) -> tonecore_status {
    match_ffi(
        input,
        input_len,
        output,
        output_len,
        channels,
        sample_rate,
        reference,
        match_config,
        render,
        report_out,
        progress,
        user_data,
    )
}
