//! Objects made for one sample format, and the dispatch from typed C calls (`_f32` / `_f64`) to
//! them.

use super::{tonecore_status, Failure};
use crate::cache::CachedSample;

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

/// A kind of object that exists for each sample type (`Of<f32>`, `Of<f64>`).
pub(crate) trait Family {
    type Of<T: CachedSample>;
}

/// One object of a family, made for f32 or for f64.
pub(crate) enum PerFormat<F: Family> {
    F32(F::Of<f32>),
    F64(F::Of<f64>),
}

impl<F: Family> PerFormat<F> {
    /// The object for sample type `T`, or `WRONG_FORMAT`.
    pub(crate) fn get<T: FormatSample>(&mut self) -> Result<&mut F::Of<T>, Failure> {
        T::pick(self).ok_or_else(wrong_format)
    }

    /// Shared access to the object for sample type `T`, or `WRONG_FORMAT`.
    pub(crate) fn get_ref<T: FormatSample>(&self) -> Result<&F::Of<T>, Failure> {
        T::pick_ref(self).ok_or_else(wrong_format)
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
pub(crate) trait FormatSample: CachedSample {
    /// The C complex type of this precision.
    type Complex: Copy;
    /// The object for this sample type, if that is what `objects` holds.
    fn pick<F: Family>(objects: &mut PerFormat<F>) -> Option<&mut F::Of<Self>>;
    /// Shared form of [`pick`](Self::pick).
    fn pick_ref<F: Family>(objects: &PerFormat<F>) -> Option<&F::Of<Self>>;
}

impl FormatSample for f32 {
    type Complex = super::tonecore_complex_f32;
    fn pick<F: Family>(objects: &mut PerFormat<F>) -> Option<&mut F::Of<f32>> {
        match objects {
            PerFormat::F32(x) => Some(x),
            PerFormat::F64(_) => None,
        }
    }
    fn pick_ref<F: Family>(objects: &PerFormat<F>) -> Option<&F::Of<f32>> {
        match objects {
            PerFormat::F32(x) => Some(x),
            PerFormat::F64(_) => None,
        }
    }
}

impl FormatSample for f64 {
    type Complex = super::tonecore_complex_f64;
    fn pick<F: Family>(objects: &mut PerFormat<F>) -> Option<&mut F::Of<f64>> {
        match objects {
            PerFormat::F64(x) => Some(x),
            PerFormat::F32(_) => None,
        }
    }
    fn pick_ref<F: Family>(objects: &PerFormat<F>) -> Option<&F::Of<f64>> {
        match objects {
            PerFormat::F64(x) => Some(x),
            PerFormat::F32(_) => None,
        }
    }
}
