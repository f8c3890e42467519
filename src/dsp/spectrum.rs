//! One-frame spectral kernels: windowed forward FFT of a frame, inverse FFT with synthesis window,
//! and the weighted overlap-add normaliser. Single-threaded; no allocation after construction.

use super::{Complex, Sample};
use realfft::{ComplexToReal, RealToComplex};

/// Per-thread working memory for one frame of size `n`: the time-domain frame, a spectrum buffer
/// and the FFT scratch. Allocated once, reused for every frame.
#[derive(Clone, Debug)]
pub struct FrameBuffers<T> {
    /// Time-domain frame, `n` samples.
    pub time: Vec<T>,
    /// Spectrum, `n/2 + 1` bins.
    pub spectrum: Vec<Complex<T>>,
    /// FFT scratch, large enough for both directions of the plans it was sized for.
    pub scratch: Vec<Complex<T>>,
}

impl<T: Sample> FrameBuffers<T> {
    /// Allocates buffers for frames of `n` samples and FFT scratch of `scratch_len`.
    pub fn new(n: usize, scratch_len: usize) -> Self {
        Self {
            time: vec![T::zero(); n],
            spectrum: vec![Complex::new(T::zero(), T::zero()); n / 2 + 1],
            scratch: vec![Complex::new(T::zero(), T::zero()); scratch_len],
        }
    }
}

/// Copies `signal[start .. start + n]` times `window` into `frame`, reading zeros outside the
/// signal (`start` may be negative or run past the end).
#[inline]
pub fn load_windowed<T: Sample>(signal: &[T], start: isize, window: &[T], frame: &mut [T]) {
    let n = frame.len() as isize;
    let len = signal.len() as isize;
    if start >= 0 && start + n <= len {
        let s = start as usize;
        for ((f, &x), &w) in frame.iter_mut().zip(&signal[s..s + n as usize]).zip(window) {
            *f = x * w;
        }
        return;
    }
    for (i, (f, &w)) in frame.iter_mut().zip(window).enumerate() {
        let idx = start + i as isize;
        *f = if idx >= 0 && idx < len {
            signal[idx as usize] * w
        } else {
            T::zero()
        };
    }
}

/// Windowed forward FFT of one frame of `signal` starting at `start` into `out` (`n/2+1` bins),
/// matching `numpy.fft.rfft(x[start:start+n] * window)`. Real-time safe.
pub fn analyze_frame<T: Sample>(
    fft: &dyn RealToComplex<T>,
    window: &[T],
    signal: &[T],
    start: isize,
    buffers: &mut FrameBuffers<T>,
    out: &mut [Complex<T>],
) {
    load_windowed(signal, start, window, &mut buffers.time);
    // Lengths are fixed at construction, so the FFT cannot fail.
    let result = fft.process_with_scratch(&mut buffers.time, out, &mut buffers.scratch);
    debug_assert!(result.is_ok());
}

/// Inverse FFT of one frame's spectrum, multiplied by `window / n`, left in `buffers.time`.
///
/// The imaginary parts of the DC and Nyquist bins are ignored, as `numpy.fft.irfft` does.
/// Real-time safe.
pub fn synthesize_frame<T: Sample>(
    ifft: &dyn ComplexToReal<T>,
    window: &[T],
    spectrum: &[Complex<T>],
    buffers: &mut FrameBuffers<T>,
) {
    buffers.spectrum.copy_from_slice(spectrum);
    let last = buffers.spectrum.len() - 1;
    buffers.spectrum[0].im = T::zero();
    buffers.spectrum[last].im = T::zero();
    let result = ifft.process_with_scratch(
        &mut buffers.spectrum,
        &mut buffers.time,
        &mut buffers.scratch,
    );
    debug_assert!(result.is_ok());
    let scale = T::one() / T::of_f64(buffers.time.len() as f64);
    for (t, &w) in buffers.time.iter_mut().zip(window) {
        *t = *t * w * scale;
    }
}

/// The weighted overlap-add normaliser `Σ_k w²[p − k·hop]` over the frames that cover sample `p`
/// of the (padded) signal, for `frames` frames of size `n` at `hop`.
///
/// In the interior (every covering frame exists) the sum is periodic in `hop` and read from a
/// table; near the ends it is summed explicitly.
#[derive(Clone, Debug)]
pub struct OverlapNorm<T> {
    window_sq: Vec<T>,
    period: Vec<T>,
    hop: usize,
}

impl<T: Sample> OverlapNorm<T> {
    /// Precomputes the periodic table for `window` at `hop` (`1 ≤ hop ≤ window.len()`).
    pub fn new(window: &[T], hop: usize) -> Self {
        let window_sq: Vec<T> = window.iter().map(|&w| w * w).collect();
        let period = (0..hop)
            .map(|r| {
                window_sq
                    .iter()
                    .skip(r)
                    .step_by(hop)
                    .fold(T::zero(), |a, &v| a + v)
            })
            .collect();
        Self {
            window_sq,
            period,
            hop,
        }
    }

    /// The smallest value of the periodic (interior) normaliser; zero means not invertible.
    pub fn interior_min(&self) -> T {
        self.period.iter().fold(T::infinity(), |a, &v| a.min(v))
    }

    /// The normaliser at padded position `p` for a signal of `frames` frames.
    #[inline]
    pub fn at(&self, p: usize, frames: usize) -> T {
        let n = self.window_sq.len();
        let hop = self.hop;
        if p + 1 >= n && p < frames * hop {
            return self.period[p % hop];
        }
        // Frames k with k*hop <= p < k*hop + n and 0 <= k < frames.
        let first = if p + 1 > n {
            (p + 1 - n).div_ceil(hop)
        } else {
            0
        };
        let last = (p / hop).min(frames.saturating_sub(1));
        let mut sum = T::zero();
        let mut k = first;
        while k <= last && k < frames {
            sum = sum + self.window_sq[p - k * hop];
            k += 1;
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::WindowKind;

    #[test]
    fn overlap_norm_matches_brute_force() {
        for (n, hop, frames) in [
            (16usize, 4usize, 7usize),
            (16, 16, 3),
            (18, 5, 9),
            (16, 1, 4),
        ] {
            let w = WindowKind::Hann.generate::<f64>(n);
            let norm = OverlapNorm::new(&w, hop);
            let total = (frames - 1) * hop + n;
            let mut brute = vec![0.0; total];
            for k in 0..frames {
                for i in 0..n {
                    brute[k * hop + i] += w[i] * w[i];
                }
            }
            for (p, b) in brute.iter().enumerate() {
                assert!((norm.at(p, frames) - b).abs() < 1e-12, "n{n} hop{hop} p{p}");
            }
        }
    }

    #[test]
    fn load_windowed_zero_pads_outside() {
        let signal = [1.0f64, 2.0, 3.0];
        let window = [1.0f64; 4];
        let mut frame = [9.0f64; 4];
        load_windowed(&signal, -2, &window, &mut frame);
        assert_eq!(frame, [0.0, 0.0, 1.0, 2.0]);
        load_windowed(&signal, 1, &window, &mut frame);
        assert_eq!(frame, [2.0, 3.0, 0.0, 0.0]);
    }
}
