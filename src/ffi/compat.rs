//! `tonecore_auralis_*`: exact native replacements for the numpy hot paths of the Auralis
//! player (see `crate::auralis`), for the Python `tonecore.compat.auralis`
//! module and for any host that wants the same numbers from C.
//!
//! Audio buffers here are interleaved (`frames × channels`, the host's `(samples, channels)`
//! arrays); a mono buffer has `channels = 1`. Arithmetic is in double precision whatever the
//! sample type; results are rounded once to the output type. Unlike the rest of the C ABI these
//! functions do not refuse NaN/Inf samples: they propagate as they do through the host's numpy
//! code (documented per function).

use super::bands::gains_from;
use super::stft::tonecore_complex_f64;
use super::{disjoint, guard, guard_rt, out_param, slice_in, slice_out, tonecore_status, Failure};
use crate::auralis::adaptive::{Analysis, ContentProfile, EnergyLevel, Genre};
use crate::auralis::frame_eq::{linear_gains, step_curve, FrameEq};
use crate::auralis::level::{safety_limit, GainSmoother, RealtimeLevelMatcher};
use crate::auralis::parallel::{
    eq_process_buffer, frame_count, stft_bins_major, windowed_fft, AdaptiveEqConfig, MAX_FFT_SIZE,
};
use crate::auralis::seam::{crossfade_concat_into, seam_into};
use crate::cache::CachedSample;
use crate::dsp::{Complex, Sample};
use std::cell::RefCell;
use std::mem::size_of;

thread_local! {
    /// The frame EQ (plans, buffers) and curve of the last FFT size used on this thread, so
    /// repeated `apply_eq_frame` calls allocate nothing and take no cache lock.
    static FRAME_EQ: RefCell<Option<(FrameEq, Vec<f64>)>> = const { RefCell::new(None) };
}

/// The critical bands of the adaptive EQ (and the length of its gain state).
const BANDS: usize = 25;

fn channels_of(len: usize, channels: usize) -> Result<usize, Failure> {
    if channels == 0 || len % channels != 0 {
        return Err(Failure::detail(
            tonecore_status::InvalidChannels,
            "channels must be at least 1 and divide the buffer length",
        ));
    }
    Ok(len / channels)
}

fn even_fft_size(fft_size: usize) -> Result<(), Failure> {
    if fft_size < 2 || fft_size % 2 != 0 || fft_size > MAX_FFT_SIZE {
        return Err(Failure::detail(
            tonecore_status::InvalidFftSize,
            "fft_size must be even, between 2 and 16777216",
        ));
    }
    Ok(())
}

fn finite(value: f64, what: &'static str) -> Result<f64, Failure> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Failure::detail(tonecore_status::InvalidArgument, what))
    }
}

/// Writes the host's step gain curve: `curve_out[k] = 10^(gains_db[m]/20)` for
/// `m = band_map[k]` when `0 ≤ m < gains_len`, else `1.0` (bins of bands without a gain), for
/// `k < map_len`. NaN gains give NaN bins, as numpy does.
///
/// Returns `NULL_POINTER`, `BUFFER_TOO_SMALL` (`curve_len < map_len`), `BUFFERS_OVERLAP`;
/// nothing is written on error.
///
/// Thread class: any-thread (allocates `gains_len` values).
///
/// `gains_db`, `band_map` and `curve_out` are borrowed for the call only.
///
/// # Safety
/// `gains_db`, `band_map` and `curve_out` valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_gain_curve(
    gains_db: *const f64,
    gains_len: usize,
    band_map: *const i64,
    map_len: usize,
    curve_out: *mut f64,
    curve_len: usize,
) -> tonecore_status {
    guard(|| {
        let gains = slice_in(gains_db, gains_len)?;
        let map = slice_in(band_map, map_len)?;
        let out = slice_out(curve_out, curve_len)?;
        disjoint(gains_db, gains_len, curve_out, curve_len)?;
        disjoint(band_map, map_len, curve_out, curve_len)?;
        if out.len() < map.len() {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        let mut linear = vec![0.0; gains.len()];
        linear_gains(gains, &mut linear);
        step_curve(&linear, map, out);
        Ok(())
    })
}

unsafe fn apply_eq_frame<T: CachedSample>(
    frame: *const T,
    frame_len: usize,
    channels: usize,
    gains_db: *const f64,
    gains_len: usize,
    band_map: *const i64,
    map_len: usize,
    fft_size: usize,
    output: *mut T,
    output_len: usize,
) -> tonecore_status {
    guard(|| {
        let x = slice_in(frame, frame_len)?;
        let gains = slice_in(gains_db, gains_len)?;
        let map = slice_in(band_map, map_len)?;
        let y = slice_out(output, output_len)?;
        disjoint(frame, frame_len, output, output_len)?;
        disjoint(gains_db, gains_len, output, output_len)?;
        disjoint(band_map, map_len, output, output_len)?;
        let frames = channels_of(frame_len, channels)?;
        even_fft_size(fft_size)?;
        if frames > fft_size {
            return Err(Failure::detail(
                tonecore_status::InvalidLength,
                format!("the frame ({frames} samples per channel) exceeds fft_size ({fft_size})"),
            ));
        }
        if map.len() != fft_size / 2 + 1 {
            return Err(Failure::detail(
                tonecore_status::InvalidLength,
                format!(
                    "band_map has {} values; fft_size {fft_size} needs fft_size/2 + 1 = {}",
                    map.len(),
                    fft_size / 2 + 1
                ),
            ));
        }
        if y.len() < x.len() {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        let mut linear = vec![0.0; gains.len()];
        linear_gains(gains, &mut linear);
        FRAME_EQ.with(|cell| -> Result<(), Failure> {
            let mut slot = cell.borrow_mut();
            if !matches!(&*slot, Some((eq, _)) if eq.fft_size() == fft_size) {
                let eq = FrameEq::new(
                    f64::cache().forward_plan(fft_size),
                    f64::cache().inverse_plan(fft_size),
                )?;
                *slot = Some((eq, vec![0.0; fft_size / 2 + 1]));
            }
            let (eq, curve) = slot.as_mut().expect("filled above");
            step_curve(&linear, map, curve);
            eq.apply(x, channels, curve, y);
            Ok(())
        })?;
        Ok(())
    })
}

/// The host's frame EQ: each channel of the interleaved `frame` (`frames × channels`,
/// `frames ≤ fft_size`) is zero-padded to `fft_size`, transformed by an unwindowed FFT, every bin
/// `k ≤ fft_size/2` (and its mirror) multiplied by the step curve of `gains_db` over `band_map`
/// (`fft_size/2 + 1` band indices; see `tonecore_auralis_gain_curve`), inverted, and the real
/// part sliced back to `frames` samples into `output` — circular filtering, exactly as the host
/// does it. NaN/Inf samples make their channel's output non-finite, as in the host.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `INVALID_FFT_SIZE` (odd, below 2 or above 2^24),
/// `INVALID_LENGTH` (the frame exceeds fft_size; band_map not fft_size/2 + 1 values),
/// `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`; nothing is written on error.
///
/// Thread class: any-thread (allocates `gains_len` values; the frame buffers and plans are
/// kept per thread for the last `fft_size`, built on the first call with a new size).
///
/// `frame`, `gains_db`, `band_map` and `output` are borrowed for the call only.
///
/// # Safety
/// Every pointer valid for its length; `output` overlapping no input.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_apply_eq_frame_f32(
    frame: *const f32,
    frame_len: usize,
    channels: usize,
    gains_db: *const f64,
    gains_len: usize,
    band_map: *const i64,
    map_len: usize,
    fft_size: usize,
    output: *mut f32,
    output_len: usize,
) -> tonecore_status {
    apply_eq_frame(
        frame, frame_len, channels, gains_db, gains_len, band_map, map_len, fft_size, output,
        output_len,
    )
}

/// Double-precision [`tonecore_auralis_apply_eq_frame_f32`].
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `INVALID_FFT_SIZE` (odd, below 2 or above 2^24),
/// `INVALID_LENGTH` (the frame exceeds fft_size; band_map not fft_size/2 + 1 values),
/// `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`; nothing is written on error.
///
/// Thread class: any-thread (allocates `gains_len` values; the frame buffers and plans are
/// kept per thread for the last `fft_size`, built on the first call with a new size).
///
/// `frame`, `gains_db`, `band_map` and `output` are borrowed for the call only.
///
/// # Safety
/// With doubles: Every pointer valid for its length; `output` overlapping no input.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_apply_eq_frame_f64(
    frame: *const f64,
    frame_len: usize,
    channels: usize,
    gains_db: *const f64,
    gains_len: usize,
    band_map: *const i64,
    map_len: usize,
    fft_size: usize,
    output: *mut f64,
    output_len: usize,
) -> tonecore_status {
    apply_eq_frame(
        frame, frame_len, channels, gains_db, gains_len, band_map, map_len, fft_size, output,
        output_len,
    )
}

/// Settings of `tonecore_auralis_eq_process_*`. Fill it with `tonecore_auralis_eq_config_init`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_auralis_eq_config {
    /// `sizeof(tonecore_auralis_eq_config)` as the caller compiled it (set by `_init`).
    pub struct_size: usize,
    /// Sample rate in Hz (> 0). Default 44100.
    pub sample_rate: u32,
    /// 0 (default) = all cores, 1 = the calling thread, n = a shared pool of n threads.
    pub threads: u32,
    /// Frame length N (even, 2 ≤ N ≤ 2^24); the hop is N/2. Default 4096.
    pub fft_size: usize,
    /// Gain smoothing per frame, `current += (g − current)·speed` (finite). Default 0.8.
    pub adaptation_speed: f64,
    /// First edge of the 25 critical bands in Hz (0 ≤ f < 100). Default 20.
    pub first_edge_hz: f64,
    /// The host version of the analysis: `TONECORE_AURALIS_ANALYSIS_CURRENT` (0, default: the
    /// windowed frame divided by the window's mean, host changes #3428 and #4101) or
    /// `TONECORE_AURALIS_ANALYSIS_PRE_3428_4101` (1: the raw windowed frame, +6.02 dB on the
    /// band energies). Fields from here on are read only when `struct_size` covers them; a
    /// struct from before they existed reads as the defaults.
    pub analysis: u32,
    /// Non-zero to apply the host's content profile (the three `profile_*` fields) to every
    /// frame's gains, as a host that passes a non-empty `content_profile`. Default 0.
    pub has_profile: u32,
    /// The profile's `genre`: `TONECORE_AURALIS_GENRE_*` (0 = any genre the host does not adapt
    /// to).
    pub profile_genre: u32,
    /// The profile's `energy_level`: `TONECORE_AURALIS_ENERGY_*` (0 = medium or any other).
    pub profile_energy_level: u32,
    /// The profile's `spectral_centroid` in Hz (host default 2000; NaN changes nothing).
    pub profile_spectral_centroid: f64,
}

/// `tonecore_auralis_eq_config.analysis`: the host's analysis today (#3428, #4101).
pub const TONECORE_AURALIS_ANALYSIS_CURRENT: u32 = 0;
/// `tonecore_auralis_eq_config.analysis`: the host's analysis before #3428 and #4101.
pub const TONECORE_AURALIS_ANALYSIS_PRE_3428_4101: u32 = 1;
/// `profile_genre`: a genre the host does not adapt to (or none).
pub const TONECORE_AURALIS_GENRE_OTHER: u32 = 0;
/// `profile_genre`: `"classical"`.
pub const TONECORE_AURALIS_GENRE_CLASSICAL: u32 = 1;
/// `profile_genre`: `"rock"`.
pub const TONECORE_AURALIS_GENRE_ROCK: u32 = 2;
/// `profile_genre`: `"electronic"`.
pub const TONECORE_AURALIS_GENRE_ELECTRONIC: u32 = 3;
/// `profile_genre`: `"metal"`.
pub const TONECORE_AURALIS_GENRE_METAL: u32 = 4;
/// `profile_genre`: `"jazz"`.
pub const TONECORE_AURALIS_GENRE_JAZZ: u32 = 5;
/// `profile_energy_level`: `"medium"` or any value the host does not adapt to.
pub const TONECORE_AURALIS_ENERGY_MEDIUM: u32 = 0;
/// `profile_energy_level`: `"low"`.
pub const TONECORE_AURALIS_ENERGY_LOW: u32 = 1;
/// `profile_energy_level`: `"high"`.
pub const TONECORE_AURALIS_ENERGY_HIGH: u32 = 2;

/// The size of the config before `analysis` and the profile fields were added.
const EQ_CONFIG_MIN_SIZE: usize = std::mem::offset_of!(tonecore_auralis_eq_config, analysis);

impl Default for tonecore_auralis_eq_config {
    fn default() -> Self {
        let d = AdaptiveEqConfig::default();
        Self {
            struct_size: size_of::<Self>(),
            sample_rate: d.sample_rate,
            threads: d.threads as u32,
            fft_size: d.fft_size,
            adaptation_speed: d.adaptation_speed,
            first_edge_hz: d.first_edge_hz,
            analysis: TONECORE_AURALIS_ANALYSIS_CURRENT,
            has_profile: 0,
            profile_genre: TONECORE_AURALIS_GENRE_OTHER,
            profile_energy_level: TONECORE_AURALIS_ENERGY_MEDIUM,
            profile_spectral_centroid: 2000.0,
        }
    }
}

/// Fills `config_out` with the defaults (44100 Hz, N 4096, speed 0.8, first edge 20 Hz, all
/// cores, the host's current analysis, no content profile) and the current `struct_size`.
///
/// Returns `NULL_POINTER`. Thread class: any-thread.
///
/// `config_out` is borrowed for the call only.
///
/// # Safety
/// `config_out` must point to a writable `tonecore_auralis_eq_config`.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_eq_config_init(
    config_out: *mut tonecore_auralis_eq_config,
) -> tonecore_status {
    guard(|| {
        out_param(config_out)?.write(tonecore_auralis_eq_config::default());
        Ok(())
    })
}

unsafe fn read_eq_config(
    config: *const tonecore_auralis_eq_config,
) -> Result<AdaptiveEqConfig, Failure> {
    if config.is_null() {
        return Err(tonecore_status::NullPointer.into());
    }
    if config.cast::<usize>().read_unaligned() < EQ_CONFIG_MIN_SIZE {
        return Err(Failure::detail(
            tonecore_status::StructSize,
            "config->struct_size is too small; call tonecore_auralis_eq_config_init first",
        ));
    }
    let size = config.cast::<usize>().read_unaligned();
    let c = if size >= size_of::<tonecore_auralis_eq_config>() {
        config.read_unaligned()
    } else {
        // An older caller's struct: the fields it has, the defaults for the rest.
        let mut c = tonecore_auralis_eq_config::default();
        std::ptr::copy_nonoverlapping(
            config.cast::<u8>(),
            std::ptr::addr_of_mut!(c).cast::<u8>(),
            EQ_CONFIG_MIN_SIZE,
        );
        c
    };
    if c.sample_rate == 0 {
        return Err(tonecore_status::InvalidSampleRate.into());
    }
    even_fft_size(c.fft_size)?;
    let speed = finite(c.adaptation_speed, "adaptation_speed must be finite")?;
    if !(0.0..100.0).contains(&c.first_edge_hz) {
        return Err(Failure::detail(
            tonecore_status::InvalidArgument,
            "first_edge_hz must be in [0, 100)",
        ));
    }
    let analysis = match c.analysis {
        TONECORE_AURALIS_ANALYSIS_CURRENT => Analysis::Current,
        TONECORE_AURALIS_ANALYSIS_PRE_3428_4101 => Analysis::Pre3428And4101,
        _ => {
            return Err(Failure::detail(
                tonecore_status::InvalidArgument,
                "analysis must be TONECORE_AURALIS_ANALYSIS_CURRENT or _PRE_3428_4101",
            ))
        }
    };
    let genre = match c.profile_genre {
        TONECORE_AURALIS_GENRE_OTHER => Genre::Other,
        TONECORE_AURALIS_GENRE_CLASSICAL => Genre::Classical,
        TONECORE_AURALIS_GENRE_ROCK => Genre::Rock,
        TONECORE_AURALIS_GENRE_ELECTRONIC => Genre::Electronic,
        TONECORE_AURALIS_GENRE_METAL => Genre::Metal,
        TONECORE_AURALIS_GENRE_JAZZ => Genre::Jazz,
        _ => {
            return Err(Failure::detail(
                tonecore_status::InvalidArgument,
                "profile_genre must be one of TONECORE_AURALIS_GENRE_*",
            ))
        }
    };
    let energy_level = match c.profile_energy_level {
        TONECORE_AURALIS_ENERGY_MEDIUM => EnergyLevel::Medium,
        TONECORE_AURALIS_ENERGY_LOW => EnergyLevel::Low,
        TONECORE_AURALIS_ENERGY_HIGH => EnergyLevel::High,
        _ => {
            return Err(Failure::detail(
                tonecore_status::InvalidArgument,
                "profile_energy_level must be one of TONECORE_AURALIS_ENERGY_*",
            ))
        }
    };
    Ok(AdaptiveEqConfig {
        sample_rate: c.sample_rate,
        fft_size: c.fft_size,
        adaptation_speed: speed,
        first_edge_hz: c.first_edge_hz,
        threads: c.threads as usize,
        analysis,
        content_profile: (c.has_profile != 0).then_some(ContentProfile {
            genre,
            energy_level,
            spectral_centroid: c.profile_spectral_centroid,
        }),
    })
}

unsafe fn eq_process<T: CachedSample>(
    config: *const tonecore_auralis_eq_config,
    input: *const T,
    input_len: usize,
    channels: usize,
    target: *const f64,
    target_len: usize,
    gains_in: *const f64,
    gains_len: usize,
    output: *mut T,
    output_len: usize,
    gains_out: *mut f64,
    gains_out_len: usize,
) -> tonecore_status {
    guard(|| {
        let cfg = read_eq_config(config)?;
        let x = slice_in(input, input_len)?;
        let target = slice_in(target, target_len)?;
        // Read (and drop the borrow of) the state first: gains_out may be gains_in.
        let mut gains = gains_from(gains_in, gains_len, BANDS)?;
        let y = slice_out(output, output_len)?;
        disjoint(input, input_len, output, output_len)?;
        disjoint(target.as_ptr(), target.len(), output, output_len)?;
        disjoint(gains_in, gains_len, output, output_len)?;
        if gains_out.is_null() {
            return Err(tonecore_status::NullPointer.into());
        }
        disjoint(gains_out, gains_out_len, output, output_len)?;
        disjoint(gains_out, gains_out_len, input, input_len)?;
        disjoint(gains_out, gains_out_len, target.as_ptr(), target.len())?;
        channels_of(input_len, channels)?;
        if y.len() < x.len() || gains_out_len < BANDS {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        eq_process_buffer(x, channels, target, &mut gains, &cfg, y)?;
        slice_out(gains_out, gains_out_len)?[..BANDS].copy_from_slice(&gains);
        Ok(())
    })
}

/// The host's adaptive weighted-overlap-add EQ over a whole interleaved buffer (`input_len /
/// channels` frames): frames of N samples at `k·N/2` for every `k·N/2 < frames`, zero-padded;
/// each frame's mono downmix is analysed through a symmetric Hann window (today divided by the
/// window's mean; before host changes #3428/#4101 unscaled with +6.02 dB on the band energies:
/// `config->analysis`; masking thresholds `max(20·log10(peak) − 20, −80)`), the 25 gains are
/// stepped from `gains_in` (the host's `AdaptiveEqState`: `g = target[b]` (0 past
/// `target_len`), halved below the masking threshold, times the band's perceptual weight,
/// clipped to ±12 dB, adapted by the content profile when `config->has_profile`,
/// `current += (g − current)·speed`), the unwindowed frame is equalized with
/// them (`tonecore_auralis_apply_eq_frame_*`) and overlap-added as `out += y·hann(N)`,
/// `wnorm += hann(N)`, `out /= max(wnorm, 1e-8)`. The 25 gains after the last frame go to
/// `gains_out` (which may be `gains_in`). With a zero target and zero state the output equals
/// the input except sample 0 (where the window sum is 0). Frames are analysed and equalized in
/// parallel; the result does not depend on the thread count. NaN samples make the frames that
/// hold them non-finite in the output, and their analysis reads as 0 dB (the host's guard); NaN
/// targets propagate into the gains.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_SAMPLE_RATE`, `INVALID_FFT_SIZE`,
/// `INVALID_ARGUMENT` (speed not finite, first edge, threads, analysis, genre or energy level
/// code), `INVALID_CHANNELS`, `GAIN_COUNT`
/// (`gains_len` ≠ 25), `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`, `THREAD_POOL`; nothing is written
/// on error.
///
/// Thread class: control-thread / worker (allocates; runs on the configured threads).
///
/// `config`, `input`, `target`, `gains_in`, `output` and `gains_out` are borrowed for the call
/// only.
///
/// # Safety
/// `config` readable for `config->struct_size` bytes; every buffer valid for its length.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_eq_process_f32(
    config: *const tonecore_auralis_eq_config,
    input: *const f32,
    input_len: usize,
    channels: usize,
    target: *const f64,
    target_len: usize,
    gains_in: *const f64,
    gains_len: usize,
    output: *mut f32,
    output_len: usize,
    gains_out: *mut f64,
    gains_out_len: usize,
) -> tonecore_status {
    eq_process(
        config,
        input,
        input_len,
        channels,
        target,
        target_len,
        gains_in,
        gains_len,
        output,
        output_len,
        gains_out,
        gains_out_len,
    )
}

/// Double-precision [`tonecore_auralis_eq_process_f32`].
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_SAMPLE_RATE`, `INVALID_FFT_SIZE`,
/// `INVALID_ARGUMENT` (speed not finite, first edge, threads, analysis, genre or energy level
/// code), `INVALID_CHANNELS`, `GAIN_COUNT`
/// (`gains_len` ≠ 25), `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`, `THREAD_POOL`; nothing is written
/// on error.
///
/// Thread class: control-thread / worker (allocates; runs on the configured threads).
///
/// `config`, `input`, `target`, `gains_in`, `output` and `gains_out` are borrowed for the call
/// only.
///
/// # Safety
/// With doubles: `config` readable for `config->struct_size` bytes; every buffer valid for its
/// length.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_eq_process_f64(
    config: *const tonecore_auralis_eq_config,
    input: *const f64,
    input_len: usize,
    channels: usize,
    target: *const f64,
    target_len: usize,
    gains_in: *const f64,
    gains_len: usize,
    output: *mut f64,
    output_len: usize,
    gains_out: *mut f64,
    gains_out_len: usize,
) -> tonecore_status {
    eq_process(
        config,
        input,
        input_len,
        channels,
        target,
        target_len,
        gains_in,
        gains_len,
        output,
        output_len,
        gains_out,
        gains_out_len,
    )
}

/// Writes the number of frames the host's windowed FFT takes from `input_len` samples:
/// `1 + (input_len − fft_size) / hop` when `input_len ≥ fft_size`, else 1 (one zero-padded
/// frame).
///
/// Returns `NULL_POINTER`, `INVALID_HOP` (0). Thread class: any-thread, audio-safe.
///
/// `frames_out` is borrowed for the call only.
///
/// # Safety
/// `frames_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_frame_count(
    input_len: usize,
    fft_size: usize,
    hop: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    guard_rt(|| {
        let out = out_param(frames_out)?;
        if hop == 0 {
            return Err(tonecore_status::InvalidHop.into());
        }
        out.write(frame_count(input_len, fft_size, hop));
        Ok(())
    })
}

type SpectraFn<T> = fn(
    &[T],
    usize,
    usize,
    Option<&[f64]>,
    usize,
    &mut [Complex<f64>],
) -> Result<usize, crate::Error>;

unsafe fn spectra<T: Sample>(
    run: SpectraFn<T>,
    input: *const T,
    input_len: usize,
    fft_size: usize,
    hop: usize,
    window: *const f64,
    window_len: usize,
    threads: u32,
    output: *mut tonecore_complex_f64,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    guard(|| {
        let frames_out = out_param(frames_out)?;
        let x = slice_in(input, input_len)?;
        let w = if window.is_null() {
            None
        } else {
            Some(slice_in(window, window_len)?)
        };
        let y = slice_out(output.cast::<Complex<f64>>(), output_len)?;
        disjoint(input, input_len, output, output_len)?;
        if !window.is_null() {
            disjoint(window, window_len, output, output_len)?;
        }
        if !(2..=MAX_FFT_SIZE).contains(&fft_size) {
            return Err(Failure::detail(
                tonecore_status::InvalidFftSize,
                "fft_size must be between 2 and 16777216",
            ));
        }
        if hop == 0 {
            return Err(tonecore_status::InvalidHop.into());
        }
        if w.is_some_and(|w| w.len() != fft_size) {
            return Err(Failure::detail(
                tonecore_status::InvalidLength,
                "the window must have exactly fft_size values",
            ));
        }
        frames_out.write(run(x, fft_size, hop, w, threads as usize, y)?);
        Ok(())
    })
}

/// The host's `parallel_windowed_fft`: the full complex spectrum (`fft_size` bins; bin
/// `fft_size − j` is the conjugate of bin `j`) of every frame `input[k·hop .. k·hop + fft_size]`
/// times `window` (NULL: the symmetric Hann window, `numpy.hanning(fft_size)`), written frame
/// after frame to `output` (`frames × fft_size` values, `frames` from
/// `tonecore_auralis_frame_count`; a signal shorter than one frame gives one zero-padded frame);
/// `*frames_out` receives the frame count. Float input is promoted to double (the spectra are
/// always double, as numpy computes them after multiplying by a float64 window). Any
/// `fft_size` from 2 (odd too) and any `hop ≥ 1`. NaN/Inf samples make the spectra of the frames
/// holding them non-finite. Frames are computed in parallel.
///
/// Returns `NULL_POINTER`, `INVALID_FFT_SIZE`, `INVALID_HOP`, `INVALID_LENGTH` (window length),
/// `INVALID_ARGUMENT` (threads), `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`, `THREAD_POOL`; nothing is
/// written on error.
///
/// Thread class: control-thread / worker (allocates per worker; plans and the window come from
/// the shared caches).
///
/// `input`, `window`, `output` and `frames_out` are borrowed for the call only.
///
/// # Safety
/// `input`, a non-NULL `window` and `output` valid for their lengths; `frames_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_windowed_fft_f32(
    input: *const f32,
    input_len: usize,
    fft_size: usize,
    hop: usize,
    window: *const f64,
    window_len: usize,
    threads: u32,
    output: *mut tonecore_complex_f64,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    spectra(
        windowed_fft::<f32>,
        input,
        input_len,
        fft_size,
        hop,
        window,
        window_len,
        threads,
        output,
        output_len,
        frames_out,
    )
}

/// Double-precision input for [`tonecore_auralis_windowed_fft_f32`] (the same frames and output).
///
/// Returns `NULL_POINTER`, `INVALID_FFT_SIZE`, `INVALID_HOP`, `INVALID_LENGTH` (window length),
/// `INVALID_ARGUMENT` (threads), `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`, `THREAD_POOL`; nothing is
/// written on error.
///
/// Thread class: control-thread / worker (allocates per worker; plans and the window come from
/// the shared caches).
///
/// `input`, `window`, `output` and `frames_out` are borrowed for the call only.
///
/// # Safety
/// As for `tonecore_auralis_windowed_fft_f32`, with double input.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_windowed_fft_f64(
    input: *const f64,
    input_len: usize,
    fft_size: usize,
    hop: usize,
    window: *const f64,
    window_len: usize,
    threads: u32,
    output: *mut tonecore_complex_f64,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    spectra(
        windowed_fft::<f64>,
        input,
        input_len,
        fft_size,
        hop,
        window,
        window_len,
        threads,
        output,
        output_len,
        frames_out,
    )
}

/// The host's `parallel_stft`: bins `0..=fft_size/2` of the same frames as
/// `tonecore_auralis_windowed_fft_f32`, laid out bins-major — `output[b·frames + k]`, the
/// row-major `(fft_size/2 + 1, frames)` matrix `numpy.column_stack` builds — in
/// `(fft_size/2 + 1) × frames` values; `*frames_out` receives the frame count.
///
/// Returns `NULL_POINTER`, `INVALID_FFT_SIZE`, `INVALID_HOP`, `INVALID_LENGTH` (window length),
/// `INVALID_ARGUMENT` (threads), `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`, `THREAD_POOL`; nothing is
/// written on error.
///
/// Thread class: control-thread / worker (allocates per worker; plans and the window come from
/// the shared caches).
///
/// `input`, `window`, `output` and `frames_out` are borrowed for the call only.
///
/// # Safety
/// As for `tonecore_auralis_windowed_fft_f32`.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_stft_f32(
    input: *const f32,
    input_len: usize,
    fft_size: usize,
    hop: usize,
    window: *const f64,
    window_len: usize,
    threads: u32,
    output: *mut tonecore_complex_f64,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    spectra(
        stft_bins_major::<f32>,
        input,
        input_len,
        fft_size,
        hop,
        window,
        window_len,
        threads,
        output,
        output_len,
        frames_out,
    )
}

/// Double-precision input for [`tonecore_auralis_stft_f32`] (the same frames and output).
///
/// Returns `NULL_POINTER`, `INVALID_FFT_SIZE`, `INVALID_HOP`, `INVALID_LENGTH` (window length),
/// `INVALID_ARGUMENT` (threads), `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`, `THREAD_POOL`; nothing is
/// written on error.
///
/// Thread class: control-thread / worker (allocates per worker; plans and the window come from
/// the shared caches).
///
/// `input`, `window`, `output` and `frames_out` are borrowed for the call only.
///
/// # Safety
/// As for `tonecore_auralis_stft_f32`, with double input.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_stft_f64(
    input: *const f64,
    input_len: usize,
    fft_size: usize,
    hop: usize,
    window: *const f64,
    window_len: usize,
    threads: u32,
    output: *mut tonecore_complex_f64,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    spectra(
        stft_bins_major::<f64>,
        input,
        input_len,
        fft_size,
        hop,
        window,
        window_len,
        threads,
        output,
        output_len,
        frames_out,
    )
}

unsafe fn crossfade<T: Sample>(
    a: *const T,
    a_len: usize,
    b: *const T,
    b_len: usize,
    channels: usize,
    overlap: usize,
    output: *mut T,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    guard_rt(|| {
        let frames_out = out_param(frames_out)?;
        let (xa, xb) = (slice_in(a, a_len)?, slice_in(b, b_len)?);
        let y = slice_out(output, output_len)?;
        disjoint(a, a_len, output, output_len)?;
        disjoint(b, b_len, output, output_len)?;
        let la = channels_of(a_len, channels)?;
        let lb = channels_of(b_len, channels)?;
        let n = la + lb - overlap.min(la).min(lb);
        if y.len() < n * channels {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        frames_out.write(crossfade_concat_into(xa, xb, channels, overlap, y));
        Ok(())
    })
}

/// The host's `crossfade_concat(a, b, overlap)` on interleaved buffers: with
/// `L = min(overlap, frames_a, frames_b)`, the last L frames of `a` times `cos²t` plus the first
/// L of `b` times `sin²t`, `t = numpy.linspace(0, π/2, L)` (both ends), mixed in double; `a`
/// before and `b` after copied; L = 0 concatenates. `output` receives
/// `frames_a + frames_b − L` frames (`*frames_out`).
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`; nothing is
/// written on error. Thread class: any-thread, audio-safe.
///
/// # Safety
/// Buffers valid for their lengths; `output` overlapping neither input.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_crossfade_concat_f32(
    a: *const f32,
    a_len: usize,
    b: *const f32,
    b_len: usize,
    channels: usize,
    overlap: usize,
    output: *mut f32,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    crossfade(
        a, a_len, b, b_len, channels, overlap, output, output_len, frames_out,
    )
}

/// Double-precision [`tonecore_auralis_crossfade_concat_f32`].
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`; nothing is
/// written on error. Thread class: any-thread, audio-safe.
///
/// `a`, `b`, `output` and `frames_out` are borrowed for the call only.
///
/// # Safety
/// With doubles: Buffers valid for their lengths; `output` overlapping neither input.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_crossfade_concat_f64(
    a: *const f64,
    a_len: usize,
    b: *const f64,
    b_len: usize,
    channels: usize,
    overlap: usize,
    output: *mut f64,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    crossfade(
        a, a_len, b, b_len, channels, overlap, output, output_len, frames_out,
    )
}

unsafe fn seam<T: Sample>(
    tail: *const T,
    tail_len: usize,
    chunk: *const T,
    chunk_len: usize,
    channels: usize,
    end_frames: usize,
    output: *mut T,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    guard_rt(|| {
        let frames_out = out_param(frames_out)?;
        let (xt, xc) = (slice_in(tail, tail_len)?, slice_in(chunk, chunk_len)?);
        let y = slice_out(output, output_len)?;
        disjoint(tail, tail_len, output, output_len)?;
        disjoint(chunk, chunk_len, output, output_len)?;
        let lt = channels_of(tail_len, channels)?;
        let lc = channels_of(chunk_len, channels)?;
        if end_frames > lc || end_frames < lt.min(lc) {
            return Err(tonecore_status::InvalidLength.into());
        }
        if y.len() < end_frames * channels {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        frames_out.write(seam_into(xt, xc, channels, end_frames, y));
        Ok(())
    })
}

/// One seam of the host's chunk crossfader, on interleaved buffers: with
/// `L = min(frames_tail, frames_chunk)`, `output` receives `tail·cos²t + chunk_head·sin²t` over L
/// frames (`t = numpy.linspace(0, π/2, L)`, mixed in double) followed by `chunk[L .. end_frames]`:
/// `end_frames` frames in all (`*frames_out`). An empty tail copies `chunk[.. end_frames]`.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `INVALID_LENGTH` (`end_frames` beyond the chunk or
/// below L), `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`; nothing is written on error.
/// Thread class: any-thread, audio-safe.
///
/// `tail`, `chunk`, `output` and `frames_out` are borrowed for the call only.
///
/// # Safety
/// Buffers valid for their lengths; `output` overlapping neither input.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_seam_f32(
    tail: *const f32,
    tail_len: usize,
    chunk: *const f32,
    chunk_len: usize,
    channels: usize,
    end_frames: usize,
    output: *mut f32,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    seam(
        tail, tail_len, chunk, chunk_len, channels, end_frames, output, output_len, frames_out,
    )
}

/// Double-precision [`tonecore_auralis_seam_f32`].
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `INVALID_LENGTH` (`end_frames` beyond the chunk or
/// below L), `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`; nothing is written on error.
/// Thread class: any-thread, audio-safe.
///
/// `tail`, `chunk`, `output` and `frames_out` are borrowed for the call only.
///
/// # Safety
/// With doubles: Buffers valid for their lengths; `output` overlapping neither input.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_seam_f64(
    tail: *const f64,
    tail_len: usize,
    chunk: *const f64,
    chunk_len: usize,
    channels: usize,
    end_frames: usize,
    output: *mut f64,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    seam(
        tail, tail_len, chunk, chunk_len, channels, end_frames, output, output_len, frames_out,
    )
}

/// The host's attack/release gain smoother, as plain data the caller owns (and serialises).
/// Initialise it with `tonecore_auralis_smoother_init`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct tonecore_auralis_smoother {
    /// Smoothing factor when the gain rises (finite).
    pub attack_alpha: f64,
    /// Smoothing factor when the gain falls (finite).
    pub release_alpha: f64,
    /// The gain reached so far (starts at 1).
    pub current_gain: f64,
    /// The gain the ramp heads for (starts at 1).
    pub target_gain: f64,
}

impl From<tonecore_auralis_smoother> for GainSmoother {
    fn from(s: tonecore_auralis_smoother) -> Self {
        Self {
            attack_alpha: s.attack_alpha,
            release_alpha: s.release_alpha,
            current_gain: s.current_gain,
            target_gain: s.target_gain,
        }
    }
}

impl From<GainSmoother> for tonecore_auralis_smoother {
    fn from(s: GainSmoother) -> Self {
        Self {
            attack_alpha: s.attack_alpha,
            release_alpha: s.release_alpha,
            current_gain: s.current_gain,
            target_gain: s.target_gain,
        }
    }
}

unsafe fn read_smoother(s: *const tonecore_auralis_smoother) -> Result<GainSmoother, Failure> {
    let s = out_param(s.cast_mut())?.read_unaligned();
    finite(s.attack_alpha, "attack_alpha must be finite")?;
    finite(s.release_alpha, "release_alpha must be finite")?;
    Ok(s.into())
}

/// Initialises `*smoother_out` at unity gain (current = target = 1) with the two smoothing
/// factors (host defaults 0.01 and 0.001).
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (a factor not finite). Thread class: any-thread.
///
/// `smoother_out` is borrowed for the call only.
///
/// # Safety
/// `smoother_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_smoother_init(
    attack_alpha: f64,
    release_alpha: f64,
    smoother_out: *mut tonecore_auralis_smoother,
) -> tonecore_status {
    guard(|| {
        let out = out_param(smoother_out)?;
        finite(attack_alpha, "attack_alpha must be finite")?;
        finite(release_alpha, "release_alpha must be finite")?;
        out.write(GainSmoother::new(attack_alpha, release_alpha).into());
        Ok(())
    })
}

/// Sets the smoother's target with the host's clamp `max(0, min(10, target))` (Python's
/// `min`/`max`: NaN becomes 10).
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (a factor in the struct not finite).
/// Thread class: any-thread, audio-safe (the caller serialises access to the struct).
///
/// `smoother` is borrowed for the call only.
///
/// # Safety
/// `smoother` must point to a readable and writable struct.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_smoother_set_target(
    smoother: *mut tonecore_auralis_smoother,
    target: f64,
) -> tonecore_status {
    guard_rt(|| {
        let mut s = read_smoother(smoother)?;
        s.set_target(target);
        smoother.write_unaligned(s.into());
        Ok(())
    })
}

/// Writes the smoother's ramp for `output_len` samples — `g[j] = T + (c − T)·(1 − α)^(j+1)`
/// computed in double (α = attack when `T > c`, else release), stored as float — and advances
/// `current_gain` to `g[output_len − 1]`; a constant `c` (and no change) when `|c − T| < 1e-6`;
/// nothing for a length of 0.
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (a factor not finite); nothing is written on
/// error. Thread class: any-thread, audio-safe (the caller serialises access to the struct).
///
/// `smoother` and `output` are borrowed for the call only.
///
/// # Safety
/// `smoother` readable and writable; `output` valid for `output_len` floats.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_smoother_process(
    smoother: *mut tonecore_auralis_smoother,
    output: *mut f32,
    output_len: usize,
) -> tonecore_status {
    guard_rt(|| {
        let mut s = read_smoother(smoother)?;
        let y = slice_out(output, output_len)?;
        disjoint(smoother, 1, output, output_len)?;
        s.process(y);
        smoother.write_unaligned(s.into());
        Ok(())
    })
}

/// The host's real-time RMS level matcher, as plain data the caller owns (and serialises).
/// Initialise it with `tonecore_auralis_level_matcher_init`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct tonecore_auralis_level_matcher {
    /// Non-zero when matching is applied (set by `_set_reference_*`; the caller may clear it).
    pub enabled: u32,
    /// Non-zero once a reference is set.
    pub has_reference: u32,
    /// RMS of the reference audio (meaningful when `has_reference`).
    pub reference_rms: f64,
    /// Smoothing of the target RMS per block (finite; default 0.01).
    pub target_rms_alpha: f64,
    /// The smoothed target RMS (starts at 0).
    pub current_target_rms: f64,
    /// Post-gain peak normalisation level (finite; default 0.95).
    pub peak: f64,
    /// The gain smoother (default attack 0.02, release 0.005).
    pub smoother: tonecore_auralis_smoother,
}

impl From<RealtimeLevelMatcher> for tonecore_auralis_level_matcher {
    fn from(m: RealtimeLevelMatcher) -> Self {
        Self {
            enabled: m.enabled.into(),
            has_reference: m.reference_rms.is_some().into(),
            reference_rms: m.reference_rms.unwrap_or(0.0),
            target_rms_alpha: m.target_rms_alpha,
            current_target_rms: m.current_target_rms,
            peak: m.peak,
            smoother: m.smoother.into(),
        }
    }
}

unsafe fn read_matcher(
    m: *const tonecore_auralis_level_matcher,
) -> Result<RealtimeLevelMatcher, Failure> {
    let m = out_param(m.cast_mut())?.read_unaligned();
    finite(m.target_rms_alpha, "target_rms_alpha must be finite")?;
    finite(m.peak, "peak must be finite")?;
    let smoother = read_smoother(&m.smoother)?;
    Ok(RealtimeLevelMatcher {
        enabled: m.enabled != 0,
        reference_rms: (m.has_reference != 0).then_some(m.reference_rms),
        target_rms_alpha: m.target_rms_alpha,
        current_target_rms: m.current_target_rms,
        peak: m.peak,
        smoother,
    })
}

/// Initialises `*matcher_out` as the host constructs it: disabled, no reference, target RMS
/// smoothing 0.01, peak 0.95, smoother attack 0.02 / release 0.005 at unity gain.
///
/// Returns `NULL_POINTER`. Thread class: any-thread.
///
/// `matcher_out` is borrowed for the call only.
///
/// # Safety
/// `matcher_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_level_matcher_init(
    matcher_out: *mut tonecore_auralis_level_matcher,
) -> tonecore_status {
    guard(|| {
        out_param(matcher_out)?.write(RealtimeLevelMatcher::default().into());
        Ok(())
    })
}

unsafe fn set_reference<T: Sample>(
    matcher: *mut tonecore_auralis_level_matcher,
    reference: *const T,
    reference_len: usize,
) -> tonecore_status {
    guard_rt(|| {
        let mut m = read_matcher(matcher)?;
        m.set_reference(slice_in(reference, reference_len)?);
        matcher.write_unaligned(m.into());
        Ok(())
    })
}

/// Sets the matcher's reference RMS, `sqrt(mean(x²))` over all `reference_len` values
/// (accumulated in double; NaN for an empty reference, as numpy's mean of nothing), and enables
/// it.
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (a factor or the peak in the struct not finite);
/// the struct is unchanged on error. Thread class: any-thread, audio-safe.
///
/// `matcher` and `reference` are borrowed for the call only.
///
/// # Safety
/// `matcher` readable and writable; `reference` valid for `reference_len` floats.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_level_matcher_set_reference_f32(
    matcher: *mut tonecore_auralis_level_matcher,
    reference: *const f32,
    reference_len: usize,
) -> tonecore_status {
    set_reference(matcher, reference, reference_len)
}

/// Double-precision [`tonecore_auralis_level_matcher_set_reference_f32`].
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (a factor or the peak in the struct not finite);
/// the struct is unchanged on error. Thread class: any-thread, audio-safe.
///
/// `matcher` and `reference` are borrowed for the call only.
///
/// # Safety
/// With doubles: `matcher` readable and writable; `reference` valid for `reference_len` floats.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_level_matcher_set_reference_f64(
    matcher: *mut tonecore_auralis_level_matcher,
    reference: *const f64,
    reference_len: usize,
) -> tonecore_status {
    set_reference(matcher, reference, reference_len)
}

unsafe fn match_level<T: Sample>(
    matcher: *mut tonecore_auralis_level_matcher,
    input: *const T,
    input_len: usize,
    channels: usize,
    output: *mut T,
    output_len: usize,
    applied_out: *mut u32,
) -> tonecore_status {
    guard_rt(|| {
        let applied_out = out_param(applied_out)?;
        let mut m = read_matcher(matcher)?;
        let x = slice_in(input, input_len)?;
        let y = slice_out(output, output_len)?;
        disjoint(input, input_len, output, output_len)?;
        disjoint(matcher, 1, output, output_len)?;
        channels_of(input_len, channels)?;
        if y.len() < x.len() {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        let applied = m.process(x, channels, y);
        if !applied {
            y[..x.len()].copy_from_slice(x);
        }
        matcher.write_unaligned(m.into());
        applied_out.write(applied.into());
        Ok(())
    })
}

/// Runs one interleaved block through the host's level matcher. When enabled with a non-zero
/// reference and the block's RMS over all channels is not 0 (and the block not empty):
/// `current_target_rms += (reference_rms − current_target_rms)·target_rms_alpha`, the smoother's
/// target becomes `current_target_rms / rms` (clamped to [0, 10]), every frame is multiplied by
/// the smoother's float ramp (one gain per frame), and when the peak of the result exceeds
/// `peak` (compared in the sample type) it is scaled by `peak / max` linearly; `*applied_out`
/// is 1. Otherwise `output` is a copy of `input`, the struct is unchanged and `*applied_out` is
/// 0. NaN samples propagate (the smoother's target then becomes 10, as in the host).
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (struct factors not finite), `INVALID_CHANNELS`,
/// `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`; nothing is written on error.
/// Thread class: any-thread, audio-safe (the caller serialises access to the struct).
///
/// `matcher`, `input`, `output` and `applied_out` are borrowed for the call only.
///
/// # Safety
/// `matcher` readable and writable; buffers valid for their lengths; `applied_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_level_matcher_process_f32(
    matcher: *mut tonecore_auralis_level_matcher,
    input: *const f32,
    input_len: usize,
    channels: usize,
    output: *mut f32,
    output_len: usize,
    applied_out: *mut u32,
) -> tonecore_status {
    match_level(
        matcher,
        input,
        input_len,
        channels,
        output,
        output_len,
        applied_out,
    )
}

/// Double-precision [`tonecore_auralis_level_matcher_process_f32`] (the ramp is still float, as
/// in the host, so the gains applied to double samples are float-rounded).
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (struct factors not finite), `INVALID_CHANNELS`,
/// `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`; nothing is written on error.
/// Thread class: any-thread, audio-safe (the caller serialises access to the struct).
///
/// `matcher`, `input`, `output` and `applied_out` are borrowed for the call only.
///
/// # Safety
/// With doubles: `matcher` readable and writable; buffers valid for their lengths; `applied_out`
/// writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_level_matcher_process_f64(
    matcher: *mut tonecore_auralis_level_matcher,
    input: *const f64,
    input_len: usize,
    channels: usize,
    output: *mut f64,
    output_len: usize,
    applied_out: *mut u32,
) -> tonecore_status {
    match_level(
        matcher,
        input,
        input_len,
        channels,
        output,
        output_len,
        applied_out,
    )
}

unsafe fn limit<T: Sample>(
    input: *const T,
    input_len: usize,
    target_peak: f64,
    output: *mut T,
    output_len: usize,
) -> tonecore_status {
    guard_rt(|| {
        let x = slice_in(input, input_len)?;
        let y = slice_out(output, output_len)?;
        disjoint(input, input_len, output, output_len)?;
        finite(target_peak, "target_peak must be finite")?;
        if y.len() < x.len() {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        safety_limit(x, target_peak, y);
        Ok(())
    })
}

/// The host's final real-time safety stage: `output = input` unless `max|input| > target_peak`
/// (compared in the sample type), then `output = input·(target_peak / max|input|)` — linear, the
/// factor computed in the sample type. A NaN anywhere leaves the block unscaled (numpy's max is
/// then NaN).
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (target_peak not finite), `BUFFER_TOO_SMALL`,
/// `BUFFERS_OVERLAP`; nothing is written on error. Thread class: any-thread, audio-safe.
///
/// `input` and `output` are borrowed for the call only.
///
/// # Safety
/// Buffers valid for their lengths and not overlapping.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_safety_limit_f32(
    input: *const f32,
    input_len: usize,
    target_peak: f64,
    output: *mut f32,
    output_len: usize,
) -> tonecore_status {
    limit(input, input_len, target_peak, output, output_len)
}

/// Double-precision [`tonecore_auralis_safety_limit_f32`].
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (target_peak not finite), `BUFFER_TOO_SMALL`,
/// `BUFFERS_OVERLAP`; nothing is written on error. Thread class: any-thread, audio-safe.
///
/// `input` and `output` are borrowed for the call only.
///
/// # Safety
/// With doubles: Buffers valid for their lengths and not overlapping.
#[no_mangle]
pub unsafe extern "C" fn tonecore_auralis_safety_limit_f64(
    input: *const f64,
    input_len: usize,
    target_peak: f64,
    output: *mut f64,
    output_len: usize,
) -> tonecore_status {
    limit(input, input_len, target_peak, output, output_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eq_config_reads_the_profile_and_an_older_shorter_struct() {
        let c = tonecore_auralis_eq_config {
            has_profile: 1,
            profile_genre: TONECORE_AURALIS_GENRE_METAL,
            profile_energy_level: TONECORE_AURALIS_ENERGY_HIGH,
            profile_spectral_centroid: 4500.0,
            analysis: TONECORE_AURALIS_ANALYSIS_PRE_3428_4101,
            ..Default::default()
        };
        let cfg = unsafe { read_eq_config(&c) }.unwrap();
        assert_eq!(cfg.analysis, Analysis::Pre3428And4101);
        assert_eq!(
            cfg.content_profile,
            Some(ContentProfile {
                genre: Genre::Metal,
                energy_level: EnergyLevel::High,
                spectral_centroid: 4500.0,
            })
        );
        // A caller's struct that ends before `analysis`: only its own bytes are read.
        let mut old = [0u8; EQ_CONFIG_MIN_SIZE];
        let src = tonecore_auralis_eq_config {
            struct_size: EQ_CONFIG_MIN_SIZE,
            fft_size: 1024,
            ..Default::default()
        };
        unsafe {
            std::ptr::copy_nonoverlapping(
                std::ptr::addr_of!(src).cast::<u8>(),
                old.as_mut_ptr(),
                EQ_CONFIG_MIN_SIZE,
            );
        }
        let cfg = unsafe { read_eq_config(old.as_ptr().cast()) }.unwrap();
        assert_eq!(cfg.fft_size, 1024);
        assert_eq!(cfg.analysis, Analysis::Current);
        assert_eq!(cfg.content_profile, None);
        for bad in [
            tonecore_auralis_eq_config {
                analysis: 2,
                ..Default::default()
            },
            tonecore_auralis_eq_config {
                profile_genre: 6,
                ..Default::default()
            },
            tonecore_auralis_eq_config {
                profile_energy_level: 3,
                ..Default::default()
            },
        ] {
            assert!(unsafe { read_eq_config(&bad) }.is_err());
        }
    }
}
