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

pub use crate::limits::MAX_INPUT_MAGNITUDE;

/// True when every value is finite and within ±[`MAX_INPUT_MAGNITUDE`] (NaN fails). Branch-free
/// per block so it vectorizes; real-time safe.
pub fn all_in_range<T: Sample>(values: &[T]) -> bool {
    let limit = T::of_f64(MAX_INPUT_MAGNITUDE);
    values
        .chunks(256)
        .all(|block| block.iter().fold(true, |ok, v| ok & (v.abs() <= limit)))
}

/// Replaces non-finite values and values beyond ±[`MAX_INPUT_MAGNITUDE`] by zero (corrupt data
/// that would overflow the f32 FFT into NaN output); returns how many there were. Vectorized
/// check first; real-time safe.
pub fn sanitize<T: Sample>(values: &mut [T]) -> u64 {
    if all_in_range(values) {
        return 0;
    }
    let limit = T::of_f64(MAX_INPUT_MAGNITUDE);
    let mut count = 0;
    for v in values.iter_mut().filter(|v| v.is_nan() || v.abs() > limit) {
        *v = T::zero();
        count += 1;
    }
    count
}

/// True when every value is finite. Branch-free per block so it vectorizes; real-time safe.
pub fn all_finite<T: Sample>(values: &[T]) -> bool {
    values
        .chunks(256)
        .all(|block| block.iter().fold(true, |ok, v| ok & v.is_finite()))
}
