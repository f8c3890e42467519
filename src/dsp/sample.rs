use realfft::num_traits::Float;
use realfft::FftNum;

/// A floating-point sample type the engine processes: `f32` or `f64`.
pub trait Sample: FftNum + Float + Default + Send + Sync + 'static {
    /// Converts from `f64`, rounding to nearest.
    fn of_f64(v: f64) -> Self;
    /// Converts to `f64` exactly.
    fn as_f64(self) -> f64;
}

impl Sample for f32 {
    #[inline]
    fn of_f64(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Sample for f64 {
    #[inline]
    fn of_f64(v: f64) -> Self {
        v
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self
    }
}

/// True when every value is finite. Branch-free per block so it vectorizes; real-time safe.
pub fn all_finite<T: Sample>(values: &[T]) -> bool {
    values
        .chunks(256)
        .all(|block| block.iter().fold(true, |ok, v| ok & v.is_finite()))
}
