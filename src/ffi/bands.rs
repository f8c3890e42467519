use super::{guard, out_param, slice_in, slice_out, tonecore_status, Failure};
use crate::dsp::bands::{BandError, BandLayout, CurveMode};

/// Band layouts (values of the `int32_t layout` arguments).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tonecore_layout {
    /// The 25 critical bands hosts use: edges 20, 100, 200, 300, 400, 510, 630, 770, 920,
    /// 1080, 1270, 1480, 1720, 2000, 2320, 2700, 3150, 3700, 4400, 5300, 6400, 7700, 9500,
    /// 12000, 15500, 20000 Hz.
    Critical = 0,
    /// ISO octave bands: 10 bands centred on 1000·2^k Hz, k = −5..4.
    Octave = 1,
    /// ISO third-octave bands: 31 bands centred on 1000·2^(k/3) Hz, k = −17..13.
    ThirdOctave = 2,
    /// Caller edges (`edges`, `edges_len`): at least two, finite, ≥ 0, strictly ascending.
    Custom = 3,
    /// Sixth-octave bands, the grid of reference profiles: 61 bands centred on 1000·2^(k/6) Hz,
    /// k = −34..26.
    SixthOctave = 4,
}

/// How band gains become a per-bin curve (values of the `int32_t mode` arguments).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tonecore_curve_mode {
    /// dB interpolated over log-frequency between band centres: passes through each band's gain
    /// at its centre, no steps (the default).
    Smooth = 0,
    /// Every bin takes its band's gain.
    Step = 1,
}

impl From<BandError> for Failure {
    fn from(e: BandError) -> Self {
        let status = match e {
            BandError::TooFewEdges | BandError::InvalidEdge | BandError::NotAscending => {
                tonecore_status::InvalidBands
            }
            BandError::GainCount => tonecore_status::GainCount,
            BandError::NonFiniteGain => tonecore_status::NonFinite,
            BandError::InvalidSampleRate => tonecore_status::InvalidSampleRate,
            BandError::InvalidFftSize => tonecore_status::InvalidFftSize,
        };
        Failure::detail(status, e.message())
    }
}

/// Copies a caller's `bands` gains, refusing any other count (`GAIN_COUNT`) before a value is
/// read or anything is allocated.
///
/// # Safety
/// A non-NULL `gains` must point to `len` readable doubles.
pub(crate) unsafe fn gains_from(
    gains: *const f64,
    len: usize,
    bands: usize,
) -> Result<Vec<f64>, Failure> {
    if gains.is_null() {
        return Err(tonecore_status::NullPointer.into());
    }
    if len != bands {
        return Err(Failure::detail(
            tonecore_status::GainCount,
            format!("{len} gains given for {bands} bands"),
        ));
    }
    Ok(slice_in(gains, len)?.to_vec())
}

/// Reads a `(layout, edges, edges_len)` triple. `edges` is read only for `CUSTOM`.
///
/// # Safety
/// For `CUSTOM`, a non-NULL `edges` must point to `edges_len` readable doubles.
pub(crate) unsafe fn layout_from(
    layout: i32,
    edges: *const f64,
    edges_len: usize,
) -> Result<BandLayout, Failure> {
    match layout {
        l if l == tonecore_layout::Critical as i32 => Ok(BandLayout::critical()),
        l if l == tonecore_layout::Octave as i32 => Ok(BandLayout::octave()),
        l if l == tonecore_layout::ThirdOctave as i32 => Ok(BandLayout::third_octave()),
        l if l == tonecore_layout::SixthOctave as i32 => Ok(BandLayout::sixth_octave()),
        l if l == tonecore_layout::Custom as i32 => {
            Ok(BandLayout::from_edges(slice_in(edges, edges_len)?)?)
        }
        _ => Err(Failure::detail(
            tonecore_status::InvalidArgument,
            "layout is not a TONECORE_LAYOUT_* value",
        )),
    }
}

pub(crate) fn mode_from(mode: i32) -> Result<CurveMode, Failure> {
    match mode {
        m if m == tonecore_curve_mode::Smooth as i32 => Ok(CurveMode::Smooth),
        m if m == tonecore_curve_mode::Step as i32 => Ok(CurveMode::Step),
        _ => Err(Failure::detail(
            tonecore_status::InvalidArgument,
            "mode is not a TONECORE_CURVE_MODE_* value",
        )),
    }
}

/// Writes the number of bands of a layout to `*bands_out`.
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (unknown layout), `INVALID_BANDS` (custom edges).
/// Thread class: any-thread.
///
/// `edges` and `bands_out` are borrowed for the call only.
///
/// # Safety
/// For `CUSTOM`, `edges` must point to `edges_len` readable doubles; `bands_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_layout_bands(
    layout: i32,
    edges: *const f64,
    edges_len: usize,
    bands_out: *mut usize,
) -> tonecore_status {
    guard(|| {
        let out = out_param(bands_out)?;
        out.write(layout_from(layout, edges, edges_len)?.bands());
        Ok(())
    })
}

/// Writes a layout's `bands + 1` edges (Hz) to `edges_out` and, when `centers_out` is not NULL,
/// its `bands` centres (geometric mean of the edges) to `centers_out`.
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT`, `INVALID_BANDS`, `BUFFER_TOO_SMALL`; nothing is
/// written on error. Thread class: any-thread.
///
/// `edges`, `edges_out` and `centers_out` are borrowed for the call only.
///
/// # Safety
/// `edges_out` must point to `edges_out_len` writable doubles, a non-NULL `centers_out` to
/// `centers_out_len`; for `CUSTOM`, `edges` to `edges_len` readable doubles.
#[no_mangle]
pub unsafe extern "C" fn tonecore_layout_edges(
    layout: i32,
    edges: *const f64,
    edges_len: usize,
    edges_out: *mut f64,
    edges_out_len: usize,
    centers_out: *mut f64,
    centers_out_len: usize,
) -> tonecore_status {
    guard(|| {
        let l = layout_from(layout, edges, edges_len)?;
        let out = slice_out(edges_out, edges_out_len)?;
        if out.len() < l.edges().len() {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        let centers = if centers_out.is_null() {
            None
        } else {
            let c = slice_out(centers_out, centers_out_len)?;
            if c.len() < l.bands() {
                return Err(tonecore_status::BufferTooSmall.into());
            }
            Some(c)
        };
        out[..l.edges().len()].copy_from_slice(l.edges());
        if let Some(c) = centers {
            c[..l.bands()].copy_from_slice(&l.centers());
        }
        Ok(())
    })
}

/// Writes the band index of every bin `0..=fft_size/2` for `(sample_rate, fft_size)` to
/// `map_out` (`fft_size/2 + 1` values): bin k at `k·(sr/2)/(fft_size/2)` Hz goes to the band b
/// with `edges[b] ≤ f < edges[b+1]`, clipped to the first and last band.
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT`, `INVALID_BANDS`, `INVALID_SAMPLE_RATE`,
/// `INVALID_FFT_SIZE` (odd, < 2 or > 2^24), `BUFFER_TOO_SMALL` (checked before anything is
/// allocated). Thread class: any-thread.
///
/// `edges` and `map_out` are borrowed for the call only.
///
/// # Safety
/// `map_out` must point to `map_len` writable values; custom `edges` as above.
#[no_mangle]
pub unsafe extern "C" fn tonecore_band_map(
    layout: i32,
    edges: *const f64,
    edges_len: usize,
    sample_rate: u32,
    fft_size: usize,
    map_out: *mut u32,
    map_len: usize,
) -> tonecore_status {
    guard(|| {
        let l = layout_from(layout, edges, edges_len)?;
        let out = slice_out(map_out, map_len)?;
        if fft_size <= crate::dsp::MAX_FFT_SIZE && out.len() < fft_size / 2 + 1 {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        let map = l.bin_map(sample_rate, fft_size)?;
        if out.len() < map.len() {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        out[..map.len()].copy_from_slice(&map);
        Ok(())
    })
}

/// Writes the per-bin linear gain curve (`fft_size/2 + 1` values, `10^(dB/20)`) for band gains
/// `gains_db` (one per band, clamped to ±24 dB) in `mode` (`TONECORE_CURVE_MODE_*`).
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT`, `INVALID_BANDS`, `GAIN_COUNT`, `NON_FINITE`
/// (gains), `INVALID_SAMPLE_RATE`, `INVALID_FFT_SIZE` (odd, < 2 or > 2^24), `BUFFER_TOO_SMALL`
/// (checked before anything is allocated). Thread class: any-thread.
///
/// `edges`, `gains_db` and `curve_out` are borrowed for the call only.
///
/// # Safety
/// `gains_db` must point to `gains_len` readable doubles, `curve_out` to `curve_len` writable
/// doubles; custom `edges` as above.
#[no_mangle]
pub unsafe extern "C" fn tonecore_gain_curve(
    layout: i32,
    edges: *const f64,
    edges_len: usize,
    gains_db: *const f64,
    gains_len: usize,
    sample_rate: u32,
    fft_size: usize,
    mode: i32,
    curve_out: *mut f64,
    curve_len: usize,
) -> tonecore_status {
    guard(|| {
        let l = layout_from(layout, edges, edges_len)?;
        let mode = mode_from(mode)?;
        let gains = slice_in(gains_db, gains_len)?;
        let out = slice_out(curve_out, curve_len)?;
        if fft_size <= crate::dsp::MAX_FFT_SIZE && out.len() < fft_size / 2 + 1 {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        let curve = l.curve_linear::<f64>(gains, sample_rate, fft_size, mode)?;
        if out.len() < curve.len() {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        out[..curve.len()].copy_from_slice(&curve);
        Ok(())
    })
}
