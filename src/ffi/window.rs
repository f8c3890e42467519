use super::{guard, slice_out, tonecore_status, Failure};
use crate::dsp::WindowKind;

/// Window kinds (values of the `int32_t kind` arguments).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tonecore_window {
    /// Periodic Hann (the default; as `scipy.signal.get_window("hann", n)`).
    Hann = 0,
    /// Symmetric Hann, bit-identical to `numpy.hanning(n)` in double precision.
    HannSym = 1,
    /// Periodic Hamming.
    Hamming = 2,
    /// Periodic Blackman.
    Blackman = 3,
    /// Square root of the periodic Hann window.
    SqrtHann = 4,
}

pub(crate) fn window_kind(kind: i32) -> Result<WindowKind, Failure> {
    WindowKind::from_index(kind).ok_or_else(|| {
        Failure::detail(
            tonecore_status::UnknownWindow,
            "window kind is not a TONECORE_WINDOW_* value",
        )
    })
}

/// Writes the window `kind` (a `TONECORE_WINDOW_*` value) of length `output_len` into `output`.
///
/// A length of 0 writes nothing and succeeds. Returns `NULL_POINTER` for a NULL `output`,
/// `UNKNOWN_WINDOW` for an unknown kind, `INVALID_LENGTH` for a length beyond the address space;
/// on error nothing is written. `output` is borrowed for the call only.
///
/// Thread class: any-thread; does not allocate.
///
/// # Safety
/// `output` must point to `output_len` writable floats.
#[no_mangle]
pub unsafe extern "C" fn tonecore_window_fill_f32(
    kind: i32,
    output: *mut f32,
    output_len: usize,
) -> tonecore_status {
    guard(|| {
        let kind = window_kind(kind)?;
        kind.fill(slice_out(output, output_len)?);
        Ok(())
    })
}

/// Double-precision [`tonecore_window_fill_f32`]. `TONECORE_WINDOW_HANN_SYM` is bit-identical to
/// `numpy.hanning(output_len)`.
///
/// Returns `NULL_POINTER`, `UNKNOWN_WINDOW`, `INVALID_LENGTH`; on error nothing is written.
/// `output` is borrowed for the call only.
///
/// Thread class: any-thread; does not allocate.
///
/// # Safety
/// `output` must point to `output_len` writable doubles.
#[no_mangle]
pub unsafe extern "C" fn tonecore_window_fill_f64(
    kind: i32,
    output: *mut f64,
    output_len: usize,
) -> tonecore_status {
    guard(|| {
        let kind = window_kind(kind)?;
        kind.fill(slice_out(output, output_len)?);
        Ok(())
    })
}
