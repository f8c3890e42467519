use super::bands::layout_from;
use super::{guard, out_param, slice_in, slice_out, tonecore_status};
use crate::cache::CachedSample;
use crate::spectral::{band_energies, BandEnergyConfig};

unsafe fn energies<T: CachedSample>(
    layout: i32,
    edges: *const f64,
    edges_len: usize,
    sample_rate: u32,
    fft_size: usize,
    hop: usize,
    threads: u32,
    input: *const T,
    input_len: usize,
    channels: usize,
    output: *mut f64,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    guard(|| {
        let l = layout_from(layout, edges, edges_len)?;
        let frames_out = out_param(frames_out)?;
        let x = slice_in(input, input_len)?;
        let y = slice_out(output, output_len)?;
        let config = BandEnergyConfig {
            sample_rate,
            layout: l,
            fft_size,
            hop,
            threads: threads as usize,
        };
        let frames = band_energies(x, channels, &config, y)?;
        frames_out.write(frames);
        Ok(())
    })
}

/// Per-band energies in dB of every frame (at k·hop, fft_size samples, uncentred) of planar
/// input (`channels` rows, downmixed to their mean): the mean over each band's bins of
/// `20·log10(|X_k| / cg + 1e-10)`, with `X = rfft(frame · w)`, `w` the symmetric Hann window
/// (`numpy.hanning`) and `cg = mean(w)`. Bands with no bin read −200 dB. `output` receives
/// frames × bands values (row per frame); `*frames_out` the frame count (0 when the input is
/// shorter than one frame). Frames are computed in parallel.
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT`, `INVALID_BANDS`, `INVALID_SAMPLE_RATE`,
/// `INVALID_FFT_SIZE`, `INVALID_HOP`, `INVALID_LENGTH`, `BUFFER_TOO_SMALL`, `NON_FINITE`
/// (NaN/Inf input is refused); nothing is written on error. `edges`, `input`, `output` and
/// `frames_out` are borrowed for the call only.
///
/// Thread class: control-thread / worker.
///
/// # Safety
/// All pointers valid for their lengths (custom `edges` only read for `CUSTOM`).
#[no_mangle]
pub unsafe extern "C" fn tonecore_band_energies_f32(
    layout: i32,
    edges: *const f64,
    edges_len: usize,
    sample_rate: u32,
    fft_size: usize,
    hop: usize,
    threads: u32,
    input: *const f32,
    input_len: usize,
    channels: usize,
    output: *mut f64,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    energies(
        layout,
        edges,
        edges_len,
        sample_rate,
        fft_size,
        hop,
        threads,
        input,
        input_len,
        channels,
        output,
        output_len,
        frames_out,
    )
}

/// Double-precision [`tonecore_band_energies_f32`]: `input` holds doubles (`output` is `double`
/// for both).
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT`, `INVALID_BANDS`, `INVALID_SAMPLE_RATE`,
/// `INVALID_FFT_SIZE`, `INVALID_HOP`, `INVALID_LENGTH`, `BUFFER_TOO_SMALL`, `NON_FINITE`; nothing
/// is written on error. `edges`, `input`, `output` and `frames_out` are borrowed for the call
/// only.
///
/// Thread class: control-thread / worker.
///
/// # Safety
/// As for `tonecore_band_energies_f32`: `input` valid for `input_len` doubles, `output` for
/// `output_len`, `frames_out` writable, custom `edges` for `edges_len`.
#[no_mangle]
pub unsafe extern "C" fn tonecore_band_energies_f64(
    layout: i32,
    edges: *const f64,
    edges_len: usize,
    sample_rate: u32,
    fft_size: usize,
    hop: usize,
    threads: u32,
    input: *const f64,
    input_len: usize,
    channels: usize,
    output: *mut f64,
    output_len: usize,
    frames_out: *mut usize,
) -> tonecore_status {
    energies(
        layout,
        edges,
        edges_len,
        sample_rate,
        fft_size,
        hop,
        threads,
        input,
        input_len,
        channels,
        output,
        output_len,
        frames_out,
    )
}
