//! The free `tonecore_auralis_*` functions (no C type of their own: gain curve, frame EQ,
//! frame count, windowed FFT and STFT, crossfade, seam, safety limit) and the checks the C type
//! modules share.

use crate::auralis::frame_eq::{linear_gains, step_curve, FrameEq};
use crate::auralis::level::safety_limit;
use crate::auralis::parallel::{frame_count, stft_bins_major, windowed_fft, MAX_FFT_SIZE};
use crate::auralis::seam::{crossfade_concat_into, seam_into};
use crate::cache::CachedSample;
use crate::dsp::{Complex, Sample};
use crate::ffi::stft::tonecore_complex_f64;
use crate::ffi::{
    disjoint, guard, guard_rt, out_param, slice_in, slice_out, tonecore_status, Failure,
};
use crate::limits::MAX_CHANNELS;
use std::cell::RefCell;
use SpectraLayout::{BinsMajor, FrameMajor};

thread_local! {
    /// The frame EQ (plans, buffers) and curve of the last FFT size used on this thread, so
    /// repeated `apply_eq_frame` calls allocate nothing and take no cache lock.
    static FRAME_EQ: RefCell<Option<(FrameEq, Vec<f64>)>> = const { RefCell::new(None) };
}

/// The frames in an interleaved buffer of `len` values, or `INVALID_CHANNELS` (0, above
/// [`MAX_CHANNELS`], or not dividing `len`: an empty buffer with 2^60 channels would otherwise
/// loop over every channel).
pub(super) fn channels_of(len: usize, channels: usize) -> Result<usize, Failure> {
    if !(1..=MAX_CHANNELS).contains(&channels) || len % channels != 0 {
        return Err(Failure::detail(
            tonecore_status::InvalidChannels,
            "channels must be 1 to 64 and divide the buffer length",
        ));
    }
    Ok(len / channels)
}

/// `INVALID_FFT_SIZE` unless `fft_size` is even, from 2 to [`MAX_FFT_SIZE`].
pub(super) fn even_fft_size(fft_size: usize) -> Result<(), Failure> {
    if fft_size < 2 || fft_size % 2 != 0 || fft_size > MAX_FFT_SIZE {
        return Err(Failure::detail(
            tonecore_status::InvalidFftSize,
            "fft_size must be even, between 2 and 16777216",
        ));
    }
    Ok(())
}

/// `value`, or `INVALID_ARGUMENT` with `what` when it is not finite.
pub(super) fn finite(value: f64, what: &'static str) -> Result<f64, Failure> {
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

/// What [`spectra`] writes: every frame's full spectrum, frame after frame (the host's
/// `parallel_windowed_fft`), or bins `0..=fft_size/2` bins-major (its `parallel_stft`).
#[derive(Clone, Copy)]
enum SpectraLayout {
    FrameMajor,
    BinsMajor,
}

unsafe fn spectra<T: Sample>(
    layout: SpectraLayout,
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
        let frames = match layout {
            FrameMajor => windowed_fft(x, fft_size, hop, w, threads as usize, y)?,
            BinsMajor => stft_bins_major(x, fft_size, hop, w, threads as usize, y)?,
        };
        frames_out.write(frames);
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
        FrameMajor, input, input_len, fft_size, hop, window, window_len, threads, output,
        output_len, frames_out,
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
        FrameMajor, input, input_len, fft_size, hop, window, window_len, threads, output,
        output_len, frames_out,
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
        BinsMajor, input, input_len, fft_size, hop, window, window_len, threads, output,
        output_len, frames_out,
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
        BinsMajor, input, input_len, fft_size, hop, window, window_len, threads, output,
        output_len, frames_out,
    )
}

/// An input buffer and its frame count.
type Frames<'a, T> = (&'a [T], usize);

/// Both inputs of a join with their frame counts, and the output.
type TwoInputs<'a, T> = (Frames<'a, T>, Frames<'a, T>, &'a mut [T]);

/// The checks the two-input joins (`crossfade_concat`, `seam`) share, in this order: the
/// inputs' and `output`'s pointers and lengths, each input against `output`, whole frames in
/// both inputs. Returns both inputs with their frame counts, and `output`. Audio-safe.
///
/// # Safety
/// As [`slice_in`] and [`slice_out`].
unsafe fn two_inputs<'a, T>(
    a: *const T,
    a_len: usize,
    b: *const T,
    b_len: usize,
    channels: usize,
    output: *mut T,
    output_len: usize,
) -> Result<TwoInputs<'a, T>, Failure> {
    let (xa, xb) = (slice_in(a, a_len)?, slice_in(b, b_len)?);
    let y = slice_out(output, output_len)?;
    disjoint(a, a_len, output, output_len)?;
    disjoint(b, b_len, output, output_len)?;
    let (la, lb) = (channels_of(a_len, channels)?, channels_of(b_len, channels)?);
    Ok(((xa, la), (xb, lb), y))
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
        let ((xa, la), (xb, lb), y) = two_inputs(a, a_len, b, b_len, channels, output, output_len)?;
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
        let ((xt, lt), (xc, lc), y) = two_inputs(
            tail, tail_len, chunk, chunk_len, channels, output, output_len,
        )?;
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
