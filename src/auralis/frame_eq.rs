//! The host's frame EQ: a rectangular (unwindowed) FFT of the whole frame, every bin multiplied
//! by a step gain curve, and the real part of the inverse.
//!
//! The host multiplies bins `0..=N/2` of the full complex spectrum by `curve` and bin `N − k` by
//! `curve[k]` (`k = 1..N/2−1`), so the spectrum stays Hermitian and the real part of its inverse
//! is exactly the inverse real FFT of `rfft(x)·curve`; that is what [`FrameEq`] computes. The
//! filtering is circular: the frame wraps around (no overlap-save), exactly as the host does it.

use crate::dsp::spectrum::FrameBuffers;
use crate::dsp::Sample;
use crate::ConfigError;
use realfft::{ComplexToReal, RealToComplex};
use std::sync::Arc;

/// `out[b] = 10^(gains_db[b] / 20)`, as numpy evaluates `10 ** (gains / 20)`. Real-time safe.
///
/// # Panics
/// When `out` is shorter than `gains_db`.
pub fn linear_gains(gains_db: &[f64], out: &mut [f64]) {
    for (o, &g) in out[..gains_db.len()].iter_mut().zip(gains_db) {
        *o = 10f64.powf(g / 20.0);
    }
}

/// The host's step curve: `out[k] = linear[m]` for `m = band_map[k]` when `0 ≤ m < linear.len()`,
/// else `1.0` (bins whose band has no gain are left alone). Real-time safe.
///
/// # Panics
/// When `out` is shorter than `band_map`.
pub fn step_curve(linear: &[f64], band_map: &[i64], out: &mut [f64]) {
    for (o, &m) in out[..band_map.len()].iter_mut().zip(band_map) {
        *o = usize::try_from(m)
            .ok()
            .and_then(|m| linear.get(m).copied())
            .unwrap_or(1.0);
    }
}

/// The frame EQ for one FFT size: plans and working buffers, reused for every frame.
pub struct FrameEq {
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
    buffers: FrameBuffers<f64>,
    inv_n: f64,
}

impl FrameEq {
    /// Builds the EQ on a forward and an inverse plan of the same even length (at least 2).
    ///
    /// # Errors
    /// [`ConfigError::FftSizeOdd`] for an odd or zero length, [`ConfigError::WindowLength`] when
    /// the two plans differ in length.
    pub fn new(
        forward: Arc<dyn RealToComplex<f64>>,
        inverse: Arc<dyn ComplexToReal<f64>>,
    ) -> Result<Self, ConfigError> {
        let n = forward.len();
        if n < 2 || n % 2 != 0 {
            return Err(ConfigError::FftSizeOdd);
        }
        if inverse.len() != n {
            return Err(ConfigError::WindowLength);
        }
        let scratch = forward.get_scratch_len().max(inverse.get_scratch_len());
        Ok(Self {
            forward,
            inverse,
            buffers: FrameBuffers::new(n, scratch),
            inv_n: 1.0 / n as f64,
        })
    }

    /// The FFT size `N`.
    pub fn fft_size(&self) -> usize {
        self.buffers.time.len()
    }

    /// Equalizes one channel: `load` fills the `N`-sample frame (zero-padding included), the
    /// result (`N` samples) is returned. Real-time safe.
    ///
    /// # Panics
    /// When `curve` has fewer than `N/2 + 1` values.
    pub fn apply_channel(&mut self, load: impl FnOnce(&mut [f64]), curve: &[f64]) -> &[f64] {
        let FrameBuffers {
            time,
            spectrum,
            scratch,
        } = &mut self.buffers;
        load(time);
        // Lengths are fixed at construction, so the transforms cannot fail.
        let r = self.forward.process_with_scratch(time, spectrum, scratch);
        debug_assert!(r.is_ok());
        // The inverse's 1/N goes into the gains: one pass over the bins instead of one over
        // the samples (equal to scaling afterwards up to an ulp).
        let bins = spectrum.len();
        let inv_n = self.inv_n;
        for (s, &g) in spectrum.iter_mut().zip(&curve[..bins]) {
            *s *= g * inv_n;
        }
        // A real frame's DC and Nyquist bins are real; keep them exactly so for the inverse.
        let last = spectrum.len() - 1;
        spectrum[0].im = 0.0;
        spectrum[last].im = 0.0;
        let r = self.inverse.process_with_scratch(spectrum, time, scratch);
        debug_assert!(r.is_ok());
        time
    }

    /// Equalizes every channel of the interleaved `frame` (`frames × channels`,
    /// `frames ≤ N`, zero-padded to `N`) with the per-bin `curve` into `out` (the first
    /// `frame.len()` values: the result sliced back to the frame's length). Real-time safe.
    ///
    /// # Panics
    /// When `channels` is 0, `frame` is not a whole number of frames or longer than `N`
    /// frames, `curve` is shorter than `N/2 + 1` or `out` shorter than `frame` (callers check).
    pub fn apply<T: Sample>(&mut self, frame: &[T], channels: usize, curve: &[f64], out: &mut [T]) {
        let frames = frame.len() / channels;
        assert!(frame.len() == frames * channels && frames <= self.fft_size());
        for c in 0..channels {
            let y = self.apply_channel(
                |time| {
                    let (head, pad) = time.split_at_mut(frames);
                    for (t, row) in head.iter_mut().zip(frame.chunks_exact(channels)) {
                        *t = row[c].as_f64();
                    }
                    pad.fill(0.0);
                },
                curve,
            );
            for (row, &v) in out.chunks_exact_mut(channels).zip(&y[..frames]) {
                row[c] = T::of_f64(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use realfft::RealFftPlanner;

    fn eq(n: usize) -> FrameEq {
        let mut p = RealFftPlanner::<f64>::new();
        FrameEq::new(p.plan_fft_forward(n), p.plan_fft_inverse(n)).unwrap()
    }

    #[test]
    fn step_curve_leaves_bins_of_bands_without_gain_at_one() {
        let mut lin = [0.0; 2];
        linear_gains(&[20.0, -20.0], &mut lin);
        assert_eq!(lin, [10.0, 0.1]);
        let mut curve = [0.0; 5];
        step_curve(&lin, &[0, 1, 2, -1, 1], &mut curve);
        assert_eq!(curve, [10.0, 0.1, 1.0, 1.0, 0.1]);
    }

    #[test]
    fn a_flat_curve_returns_the_frame_and_a_gain_scales_it() {
        let mut e = eq(16);
        let x: Vec<f64> = (0..10).map(|i| (i as f64 * 0.7).sin()).collect();
        let mut y = vec![0.0; 10];
        e.apply(&x, 2, &[1.0; 9], &mut y);
        for (a, b) in x.iter().zip(&y) {
            assert!((a - b).abs() < 1e-15);
        }
        e.apply(&x, 1, &[2.0; 9], &mut y);
        for (a, b) in x.iter().zip(&y) {
            assert!((2.0 * a - b).abs() < 1e-14);
        }
    }

    #[test]
    fn filtering_is_circular() {
        // Removing everything but DC leaves the frame's mean over N (zero padding included)
        // in every sample, the tail of the padding too.
        let mut e = eq(8);
        let mut curve = [0.0; 5];
        curve[0] = 1.0;
        let y = e
            .apply_channel(
                |t| {
                    t.fill(0.0);
                    t[0] = 8.0;
                },
                &curve,
            )
            .to_vec();
        for v in y {
            assert!((v - 1.0).abs() < 1e-15);
        }
    }

    #[test]
    fn odd_or_mismatched_plans_are_refused() {
        let mut p = RealFftPlanner::<f64>::new();
        assert_eq!(
            FrameEq::new(p.plan_fft_forward(7), p.plan_fft_inverse(7)).err(),
            Some(ConfigError::FftSizeOdd)
        );
        assert_eq!(
            FrameEq::new(p.plan_fft_forward(8), p.plan_fft_inverse(16)).err(),
            Some(ConfigError::WindowLength)
        );
    }
}
