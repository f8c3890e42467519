//! `tonecore_auralis_eq_config` and the host's adaptive overlap-add EQ over a whole buffer
//! (`tonecore_auralis_eq_process_*`).

use super::functions::{channels_of, even_fft_size, finite};
use crate::auralis::adaptive::{Analysis, ContentProfile, EnergyLevel, Genre};
use crate::auralis::parallel::{eq_process_buffer, AdaptiveEqConfig};
use crate::cache::CachedSample;
use crate::ffi::bands::gains_from;
use crate::ffi::{disjoint, guard, out_param, slice_in, slice_out, tonecore_status, Failure};
use std::mem::size_of;

/// The critical bands of the adaptive EQ (and the length of its gain state).
const BANDS: usize = 25;

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
    let size = config.cast::<usize>().read_unaligned();
    if size < EQ_CONFIG_MIN_SIZE {
        return Err(Failure::detail(
            tonecore_status::StructSize,
            "config->struct_size is too small; call tonecore_auralis_eq_config_init first",
        ));
    }
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
    let analysis = code(
        c.analysis,
        &[
            (TONECORE_AURALIS_ANALYSIS_CURRENT, Analysis::Current),
            (
                TONECORE_AURALIS_ANALYSIS_PRE_3428_4101,
                Analysis::Pre3428And4101,
            ),
        ],
        "analysis must be TONECORE_AURALIS_ANALYSIS_CURRENT or _PRE_3428_4101",
    )?;
    let genre = code(
        c.profile_genre,
        &[
            (TONECORE_AURALIS_GENRE_OTHER, Genre::Other),
            (TONECORE_AURALIS_GENRE_CLASSICAL, Genre::Classical),
            (TONECORE_AURALIS_GENRE_ROCK, Genre::Rock),
            (TONECORE_AURALIS_GENRE_ELECTRONIC, Genre::Electronic),
            (TONECORE_AURALIS_GENRE_METAL, Genre::Metal),
            (TONECORE_AURALIS_GENRE_JAZZ, Genre::Jazz),
        ],
        "profile_genre must be one of TONECORE_AURALIS_GENRE_*",
    )?;
    let energy_level = code(
        c.profile_energy_level,
        &[
            (TONECORE_AURALIS_ENERGY_MEDIUM, EnergyLevel::Medium),
            (TONECORE_AURALIS_ENERGY_LOW, EnergyLevel::Low),
            (TONECORE_AURALIS_ENERGY_HIGH, EnergyLevel::High),
        ],
        "profile_energy_level must be one of TONECORE_AURALIS_ENERGY_*",
    )?;
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

/// The value `table` pairs with the C code `value`, or `INVALID_ARGUMENT` with `what`.
fn code<E: Copy>(value: u32, table: &[(u32, E)], what: &'static str) -> Result<E, Failure> {
    table
        .iter()
        .find(|(c, _)| *c == value)
        .map(|&(_, e)| e)
        .ok_or_else(|| Failure::detail(tonecore_status::InvalidArgument, what))
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
