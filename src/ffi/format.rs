//! Objects made for one sample format, and the dispatch from typed C calls (`_f32` / `_f64`) to
//! them.

use super::{tonecore_status, Failure};

/// Sample formats of objects that process audio.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tonecore_sample_format {
    /// 32-bit float samples (`float`, `tonecore_complex_f32`).
    F32 = 0,
    /// 64-bit float samples (`double`, `tonecore_complex_f64`).
    F64 = 1,
}

/// Reads a `TONECORE_SAMPLE_FORMAT_*` value.
pub(crate) fn format_from(format: i32) -> Result<tonecore_sample_format, Failure> {
    match format {
        f if f == tonecore_sample_format::F32 as i32 => Ok(tonecore_sample_format::F32),
        f if f == tonecore_sample_format::F64 as i32 => Ok(tonecore_sample_format::F64),
        _ => Err(Failure::detail(
            tonecore_status::InvalidArgument,
            "sample_format is not a TONECORE_SAMPLE_FORMAT_* value",
        )),
    }
}

use crate::typed::TypedSample;
pub(crate) use crate::typed::{Family, PerSample as PerFormat};

/// Typed access to a [`PerFormat`] object from a typed C call, `WRONG_FORMAT` on a mismatch.
pub(crate) trait FormatAccess<F: Family> {
    /// The object for sample type `T`, or `WRONG_FORMAT`.
    fn of<T: FormatSample>(&mut self) -> Result<&mut F::Of<T>, Failure>;
    /// Shared access to the object for sample type `T`, or `WRONG_FORMAT`.
    fn of_ref<T: FormatSample>(&self) -> Result<&F::Of<T>, Failure>;
}

impl<F: Family> FormatAccess<F> for PerFormat<F> {
    fn of<T: FormatSample>(&mut self) -> Result<&mut F::Of<T>, Failure> {
        self.get_mut::<T>().ok_or_else(wrong_format)
    }

    fn of_ref<T: FormatSample>(&self) -> Result<&F::Of<T>, Failure> {
        self.get::<T>().ok_or_else(wrong_format)
    }
}

fn wrong_format() -> Failure {
    Failure::detail(
        tonecore_status::WrongFormat,
        "the object was created for the other sample format",
    )
}

/// Applies the same expression to whichever object a [`PerFormat`] holds.
macro_rules! either {
    ($value:expr, $x:ident => $body:expr) => {
        match $value {
            $crate::ffi::format::PerFormat::F32($x) => $body,
            $crate::ffi::format::PerFormat::F64($x) => $body,
        }
    };
}
pub(crate) use either;

/// A sample type, with the C complex type of its precision.
pub(crate) trait FormatSample: TypedSample {
    /// The C complex type of this precision.
    type Complex: Copy;
}

impl FormatSample for f32 {
    type Complex = super::tonecore_complex_f32;
}

impl FormatSample for f64 {
    type Complex = super::tonecore_complex_f64;
}
