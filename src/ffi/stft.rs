use super::format::{
    format_from, tonecore_sample_format, Family, FormatAccess, FormatSample, PerFormat,
};
use super::window::window_kind;
use super::{
    disjoint, free_object, guard, object_ref, out_param, slice_in, slice_out, tonecore_status,
    Failure, Guarded,
};
use crate::cache::CachedSample;
use crate::dsp::Complex;
use crate::spectral::{Istft, Stft, StftConfig};
use crate::ConfigError;
use std::mem::{offset_of, size_of};

/// A single-precision complex value, layout-compatible with C99 `float _Complex`, C++
/// `std::complex<float>` and numpy `complex64`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct tonecore_complex_f32 {
    /// Real part.
    pub re: f32,
    /// Imaginary part.
    pub im: f32,
}

/// A double-precision complex value, layout-compatible with C99 `double _Complex`, C++
/// `std::complex<double>` and numpy `complex128`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct tonecore_complex_f64 {
    /// Real part.
    pub re: f64,
    /// Imaginary part.
    pub im: f64,
}

/// How a `tonecore_stft` frames and transforms signals. Fill it with
/// `tonecore_stft_config_init` and change the fields you need.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_stft_config {
    /// `sizeof(tonecore_stft_config)` as the caller compiled it (set by `_init`).
    pub struct_size: usize,
    /// Frame length: even, 16 ≤ fft_size ≤ 2^24 (any even size, not only powers of two).
    /// Default 4096.
    pub fft_size: usize,
    /// Frame advance, 1 ≤ hop ≤ fft_size. Default fft_size / 4.
    pub hop: usize,
    /// A `TONECORE_WINDOW_*` value; ignored when `custom_window` is set. Default HANN.
    pub window: i32,
    /// A `TONECORE_SAMPLE_FORMAT_*` value: which of the `_f32` / `_f64` calls the object takes.
    /// Default F32.
    pub sample_format: i32,
    /// Non-zero: zero-pad fft_size/2 on both sides and centre frame k on sample k·hop
    /// (frames = 1 + len / hop). Zero (default): frame k covers [k·hop, k·hop + fft_size) and
    /// exists only when it fits (frames = 1 + (len − fft_size) / hop, or 0).
    pub center: u32,
    /// 0 (default) = all cores, 1 = the calling thread only (no allocation per call),
    /// n = a shared pool of n threads (n ≤ 1024).
    pub threads: u32,
    /// Optional caller window of exactly fft_size finite values (copied at `_new`), or NULL.
    pub custom_window: *const f64,
    /// Length of `custom_window`.
    pub custom_window_len: usize,
}

/// The oldest `struct_size` this library accepts for `tonecore_stft_config`.
const STFT_CONFIG_MIN_SIZE: usize =
    offset_of!(tonecore_stft_config, custom_window_len) + size_of::<usize>();

impl Default for tonecore_stft_config {
    fn default() -> Self {
        let base = StftConfig::default();
        Self {
            struct_size: size_of::<Self>(),
            fft_size: base.fft_size,
            hop: base.hop,
            window: 0,
            sample_format: tonecore_sample_format::F32 as i32,
            center: 0,
            threads: 0,
            custom_window: std::ptr::null(),
            custom_window_len: 0,
        }
    }
}

struct Transforms<T: CachedSample> {
    forward: Stft<T>,
    inverse: Result<Istft<T>, ConfigError>,
}

impl<T: CachedSample> Transforms<T> {
    fn new(config: StftConfig, custom: Option<&[f64]>) -> Result<Self, ConfigError> {
        let custom: Option<Vec<T>> = custom.map(|w| w.iter().map(|&v| T::of_f64(v)).collect());
        match custom.as_deref() {
            Some(w) => Ok(Self {
                forward: Stft::with_window(config, w)?,
                inverse: Istft::with_window(config, w),
            }),
            None => Ok(Self {
                forward: Stft::new(config)?,
                inverse: Istft::new(config),
            }),
        }
    }
}

struct TransformsFamily;

impl Family for TransformsFamily {
    type Of<T: CachedSample> = Transforms<T>;
}

/// A short-time Fourier transform object: FFT plans, window and working buffers for one
/// configuration, with forward (`_forward_*`) and inverse (`_inverse_*`) transforms.
///
/// Single-threaded object: calls on one object from two threads at once return
/// `TONECORE_STATUS_CONCURRENT_USE` for the second. Distinct objects are independent.
pub struct tonecore_stft {
    config: StftConfig,
    state: Guarded<PerFormat<TransformsFamily>>,
}

fn with_format<T: FormatSample, R>(
    stft: &tonecore_stft,
    body: impl FnOnce(&mut Transforms<T>) -> Result<R, Failure>,
) -> Result<R, Failure> {
    stft.state.with(|any| body(any.of::<T>()?))
}

/// Fills `config_out` with the defaults (fft_size 4096, hop 1024, periodic Hann, f32,
/// not centred, all cores, no custom window) and the current `struct_size`.
///
/// Returns `NULL_POINTER` for a NULL `config_out`. Thread class: any-thread.
///
/// `config_out` is borrowed for the call only.
///
/// # Safety
/// `config_out` must point to a writable `tonecore_stft_config`.
#[no_mangle]
pub unsafe extern "C" fn tonecore_stft_config_init(
    config_out: *mut tonecore_stft_config,
) -> tonecore_status {
    guard(|| {
        out_param(config_out)?.write(tonecore_stft_config::default());
        Ok(())
    })
}

/// Creates an STFT object for `config` and stores it in `*stft_out` (written only on success).
/// Free it with `tonecore_stft_free`. The config (and a custom window) is copied.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_FFT_SIZE`, `INVALID_HOP`, `UNKNOWN_WINDOW`,
/// `INVALID_ARGUMENT` (sample format, threads), `INVALID_LENGTH` / `NON_FINITE` (custom window),
/// `THREAD_POOL`. A window that cannot be inverted at this hop is accepted; only the inverse
/// calls then return `NOT_INVERTIBLE`.
///
/// Thread class: control-thread (allocates; plans and windows come from the shared caches).
///
/// # Safety
/// `config` must point to a readable config of at least `config->struct_size` bytes whose
/// `custom_window`, if not NULL, points to `custom_window_len` readable doubles; `stft_out` must
/// be writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_stft_new(
    config: *const tonecore_stft_config,
    stft_out: *mut *mut tonecore_stft,
) -> tonecore_status {
    guard(|| {
        let out = out_param(stft_out)?;
        let config_ptr = config;
        if config_ptr.is_null() {
            return Err(tonecore_status::NullPointer.into());
        }
        let size = config_ptr.cast::<usize>().read_unaligned();
        if size < STFT_CONFIG_MIN_SIZE {
            return Err(Failure::detail(
                tonecore_status::StructSize,
                "config->struct_size is too small; call tonecore_stft_config_init first",
            ));
        }
        let c = config_ptr.read();
        let stft_config = StftConfig {
            fft_size: c.fft_size,
            hop: c.hop,
            // The kind is ignored (not validated) when a custom window is given.
            window: if c.custom_window.is_null() {
                window_kind(c.window)?
            } else {
                crate::dsp::WindowKind::Hann
            },
            center: c.center != 0,
            threads: c.threads as usize,
        };
        let custom = if c.custom_window.is_null() {
            None
        } else {
            Some(slice_in(c.custom_window, c.custom_window_len)?)
        };
        let format = format_from(c.sample_format)?;
        let state = match format {
            tonecore_sample_format::F32 => PerFormat::F32(Transforms::new(stft_config, custom)?),
            tonecore_sample_format::F64 => PerFormat::F64(Transforms::new(stft_config, custom)?),
        };
        let stft = Box::new(tonecore_stft {
            config: stft_config,
            state: Guarded::new(state),
        });
        out.write(Box::into_raw(stft));
        Ok(())
    })
}

/// Frees an STFT object. NULL is a no-op. The pointer must not be used afterwards.
///
/// Thread class: control-thread; no other call on this object may be running.
///
/// # Safety
/// `stft` must be NULL or a pointer from `tonecore_stft_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn tonecore_stft_free(stft: *mut tonecore_stft) {
    free_object(stft);
}

/// Writes the number of bins per frame (`fft_size / 2 + 1`) to `*bins_out`.
///
/// Returns `NULL_POINTER`. Thread class: any-thread (reads immutable configuration).
///
/// `stft` and `bins_out` are borrowed for the call only.
///
/// # Safety
/// `stft` must be a live object; `bins_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_stft_bins(
    stft: *const tonecore_stft,
    bins_out: *mut usize,
) -> tonecore_status {
    guard(|| {
        let stft = object_ref(stft)?;
        out_param(bins_out)?.write(stft.config.bins());
        Ok(())
    })
}

/// Writes the number of frames per channel for a signal of `signal_len` samples per channel.
///
/// Returns `NULL_POINTER`. Thread class: any-thread.
///
/// `stft` and `frames_out` are borrowed for the call only.
///
/// # Safety
/// `stft` must be a live object; `frames_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_stft_frame_count(
    stft: *const tonecore_stft,
    signal_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    guard(|| {
        let stft = object_ref(stft)?;
        out_param(frames_out)?.write(stft.config.frame_count(signal_len));
        Ok(())
    })
}

/// Writes the samples per channel that the inverse transform of `frames` frames produces:
/// `(frames − 1)·hop + fft_size`, minus the leading `fft_size / 2` of padding when centred (a centred
/// signal of `len` samples gives at least `len` back; trim to `len`); 0 for 0 frames.
///
/// Returns `NULL_POINTER`, `INVALID_LENGTH` (overflow). Thread class: any-thread.
///
/// `stft` and `len_out` are borrowed for the call only.
///
/// # Safety
/// `stft` must be a live object; `len_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_stft_signal_len(
    stft: *const tonecore_stft,
    frames: usize,
    len_out: *mut usize,
) -> tonecore_status {
    guard(|| {
        let stft = object_ref(stft)?;
        let cfg = &stft.config;
        let ok = frames == 0
            || (frames - 1)
                .checked_mul(cfg.hop)
                .and_then(|n| n.checked_add(cfg.fft_size))
                .is_some();
        if !ok {
            return Err(tonecore_status::InvalidLength.into());
        }
        out_param(len_out)?.write(cfg.signal_len(frames));
        Ok(())
    })
}

unsafe fn forward<T: FormatSample>(
    stft: *mut tonecore_stft,
    input: *const T,
    input_len: usize,
    channels: usize,
    output: *mut T::Complex,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    guard(|| {
        let stft = object_ref(stft)?;
        let frames_out = out_param(frames_out)?;
        let input_slice = slice_in(input, input_len)?;
        let output_slice = slice_out(output.cast::<Complex<T>>(), output_len)?;
        disjoint(input, input_len, output, output_len)?;
        let frames = with_format::<T, _>(stft, |t| {
            Ok(t.forward.process(input_slice, channels, output_slice)?)
        })?;
        frames_out.write(frames);
        Ok(())
    })
}

unsafe fn inverse<T: FormatSample>(
    stft: *mut tonecore_stft,
    spectrum: *const T::Complex,
    spectrum_len: usize,
    channels: usize,
    output: *mut T,
    output_len: usize,
    len_out: *mut usize,
) -> tonecore_status {
    guard(|| {
        let stft = object_ref(stft)?;
        let len_out = out_param(len_out)?;
        let spectrum_slice = slice_in(spectrum.cast::<Complex<T>>(), spectrum_len)?;
        let output_slice = slice_out(output, output_len)?;
        disjoint(spectrum, spectrum_len, output, output_len)?;
        let len = with_format::<T, _>(stft, |t| {
            let inverse = t.inverse.as_mut().map_err(|e| Failure::from(*e))?;
            Ok(inverse.process(spectrum_slice, channels, output_slice)?)
        })?;
        len_out.write(len);
        Ok(())
    })
}

/// Forward STFT of planar float input (`channels` rows of `input_len / channels` samples) into
/// `output`, laid out (channel, frame, bin) with `bins = fft_size/2 + 1` complex values per
/// frame; `*frames_out` receives the frames per channel. Bins equal
/// `numpy.fft.rfft(x[s:s+N] * w)` (unscaled). Input shorter than one frame succeeds with 0
/// frames and writes nothing else.
///
/// `output_len` is in complex values and must be at least channels·frames·bins.
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (0 channels), `INVALID_LENGTH` (input not a
/// multiple of channels, or sizes beyond the address space), `BUFFER_TOO_SMALL`,
/// `NON_FINITE` (NaN/Inf input is refused, not guessed at), `BUFFERS_OVERLAP`, `WRONG_FORMAT`,
/// `CONCURRENT_USE`, `POISONED`, `PANIC`. On error nothing is written.
///
/// Thread class: control-thread / worker (runs on the configured threads; with threads = 1 it
/// does not allocate). Buffers are borrowed for the call only.
///
/// # Safety
/// `input` must point to `input_len` readable floats, `output` to `output_len` writable complex
/// values, `frames_out` must be writable, and `stft` a live object.
#[no_mangle]
pub unsafe extern "C" fn tonecore_stft_forward_f32(
    stft: *mut tonecore_stft,
    input: *const f32,
    input_len: usize,
    channels: usize,
    output: *mut tonecore_complex_f32,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    forward::<f32>(
        stft, input, input_len, channels, output, output_len, frames_out,
    )
}

/// Double-precision [`tonecore_stft_forward_f32`]: `input` holds doubles and `output`
/// `tonecore_complex_f64` values; the object must have been created with
/// `TONECORE_SAMPLE_FORMAT_F64` (else `WRONG_FORMAT`).
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT`, `INVALID_LENGTH`, `BUFFER_TOO_SMALL`,
/// `NON_FINITE`, `BUFFERS_OVERLAP`, `WRONG_FORMAT`, `CONCURRENT_USE`, `POISONED`, `PANIC`; on
/// error nothing is written. `input`, `output` and `frames_out` are borrowed for the call only.
///
/// Thread class: control-thread / worker (with threads = 1 it does not allocate).
///
/// # Safety
/// As for `tonecore_stft_forward_f32`, with doubles: `input` valid for `input_len` doubles,
/// `output` for `output_len` complex values, `frames_out` writable, `stft` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_stft_forward_f64(
    stft: *mut tonecore_stft,
    input: *const f64,
    input_len: usize,
    channels: usize,
    output: *mut tonecore_complex_f64,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    forward::<f64>(
        stft, input, input_len, channels, output, output_len, frames_out,
    )
}

/// Inverse STFT by weighted overlap-add of `spectrum` (channel, frame, bin; `spectrum_len`
/// complex values, a whole number of channels·bins) into planar `output`; `*len_out` receives
/// the samples per channel (`tonecore_stft_signal_len`). Reconstructs the forward transform's
/// input wherever the window's overlap-added square exceeds 1e-10 (all but the first and last
/// few samples of an uncentred signal); samples below that are 0.
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT`, `INVALID_LENGTH`, `BUFFER_TOO_SMALL`,
/// `NON_FINITE`, `NOT_INVERTIBLE`, `BUFFERS_OVERLAP`, `WRONG_FORMAT`, `CONCURRENT_USE`,
/// `POISONED`, `PANIC`. On error nothing is written.
///
/// Thread class: control-thread / worker (with threads = 1 it does not allocate). Buffers are
/// borrowed for the call only.
///
/// # Safety
/// `spectrum` must point to `spectrum_len` readable complex values, `output` to `output_len`
/// writable floats, `len_out` must be writable, and `stft` a live object.
#[no_mangle]
pub unsafe extern "C" fn tonecore_stft_inverse_f32(
    stft: *mut tonecore_stft,
    spectrum: *const tonecore_complex_f32,
    spectrum_len: usize,
    channels: usize,
    output: *mut f32,
    output_len: usize,
    len_out: *mut usize,
) -> tonecore_status {
    inverse::<f32>(
        stft,
        spectrum,
        spectrum_len,
        channels,
        output,
        output_len,
        len_out,
    )
}

/// Double-precision [`tonecore_stft_inverse_f32`]: `spectrum` holds `tonecore_complex_f64`
/// values and `output` doubles; the object must have been created with
/// `TONECORE_SAMPLE_FORMAT_F64` (else `WRONG_FORMAT`).
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT`, `INVALID_LENGTH`, `BUFFER_TOO_SMALL`,
/// `NON_FINITE`, `NOT_INVERTIBLE`, `BUFFERS_OVERLAP`, `WRONG_FORMAT`, `CONCURRENT_USE`,
/// `POISONED`, `PANIC`; on error nothing is written. `spectrum`, `output` and `len_out` are
/// borrowed for the call only.
///
/// Thread class: control-thread / worker (with threads = 1 it does not allocate).
///
/// # Safety
/// As for `tonecore_stft_inverse_f32`, with doubles: `spectrum` valid for `spectrum_len` complex
/// values, `output` for `output_len` doubles, `len_out` writable, `stft` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_stft_inverse_f64(
    stft: *mut tonecore_stft,
    spectrum: *const tonecore_complex_f64,
    spectrum_len: usize,
    channels: usize,
    output: *mut f64,
    output_len: usize,
    len_out: *mut usize,
) -> tonecore_status {
    inverse::<f64>(
        stft,
        spectrum,
        spectrum_len,
        channels,
        output,
        output_len,
        len_out,
    )
}
