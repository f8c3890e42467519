//! Uniformly partitioned overlap-save convolution (a frequency-domain delay line): a long
//! kernel split into `K` partitions of `P` taps, each input segment of `P` samples transformed
//! once (a `2P`-point FFT of the last two segments) and multiplied with every partition's
//! spectrum against the matching past segment's. The cost per sample is one `2P`-point FFT pair
//! per `P` samples plus `K` complex multiply-adds per bin, and the latency is one partition, `P`
//! frames, whatever the host's block size: the output is identical for any block slicing
//! (the segments fall at the same samples).
//!
//! Real-time safe after construction: `process` never allocates, locks or frees.

use super::{Complex, Sample};
use realfft::{ComplexToReal, RealToComplex};
use std::sync::Arc;

/// One channel's delay line and buffers.
struct Channel<T> {
    /// The last two input segments (`2P` samples, the older first).
    input: Vec<T>,
    /// Spectra of the last `K` input windows, a ring of `K × (P + 1)` bins.
    history: Vec<Complex<T>>,
    /// Output of the last processed segment (`P` samples), played back while the next fills.
    output: Vec<T>,
}

/// A uniformly partitioned convolver for `channels` planar channels.
pub struct PartitionedConvolver<T: Sample> {
    partition: usize,
    partitions: usize,
    /// Spectra of the kernel's partitions, `K × (P + 1)` bins, scaled by `1 / 2P`.
    kernel: Vec<Complex<T>>,
    channels: Vec<Channel<T>>,
    /// Position of the newest spectrum in every channel's ring.
    head: usize,
    /// Samples of the current segment received so far.
    fill: usize,
    forward: Arc<dyn RealToComplex<T>>,
    inverse: Arc<dyn ComplexToReal<T>>,
    time: Vec<T>,
    spectrum: Vec<Complex<T>>,
    sum: Vec<Complex<T>>,
    scratch: Vec<Complex<T>>,
}

impl<T: Sample> PartitionedConvolver<T> {
    /// A convolver of `kernel` (any length ≥ 1) in partitions of `partition` frames (a power
    /// of two ≥ 8) for `channels` channels, with `2·partition`-point FFT plans (the caller's,
    /// e.g. from the shared cache). Control path: allocates.
    ///
    /// # Panics
    /// On an empty kernel, a partition that is not a power of two ≥ 8, plans of another size,
    /// or zero channels (the callers check these).
    pub fn new(
        kernel: &[f64],
        partition: usize,
        channels: usize,
        forward: Arc<dyn RealToComplex<T>>,
        inverse: Arc<dyn ComplexToReal<T>>,
    ) -> Self {
        assert!(!kernel.is_empty() && channels > 0);
        assert!(partition >= 8 && partition.is_power_of_two());
        assert!(forward.len() == 2 * partition && inverse.len() == 2 * partition);
        let p = partition;
        let bins = p + 1;
        let k = kernel.len().div_ceil(p);
        let scratch_len = forward.get_scratch_len().max(inverse.get_scratch_len());
        let zero = Complex::new(T::zero(), T::zero());
        let mut time = vec![T::zero(); 2 * p];
        let mut spectrum = vec![zero; bins];
        let mut scratch = vec![zero; scratch_len];
        let mut spectra = vec![zero; k * bins];
        let scale = 1.0 / (2 * p) as f64;
        for (part, taps) in kernel.chunks(p).enumerate() {
            time.fill(T::zero());
            for (t, &h) in time.iter_mut().zip(taps) {
                *t = T::of_f64(h * scale);
            }
            let r = forward.process_with_scratch(&mut time, &mut spectrum, &mut scratch);
            debug_assert!(r.is_ok());
            spectra[part * bins..(part + 1) * bins].copy_from_slice(&spectrum);
        }
        Self {
            partition: p,
            partitions: k,
            kernel: spectra,
            channels: (0..channels)
                .map(|_| Channel {
                    input: vec![T::zero(); 2 * p],
                    history: vec![zero; k * bins],
                    output: vec![T::zero(); p],
                })
                .collect(),
            head: 0,
            fill: 0,
            forward,
            inverse,
            time,
            spectrum,
            sum: vec![zero; bins],
            scratch,
        }
    }

    /// The latency in frames: one partition.
    pub fn latency(&self) -> usize {
        self.partition
    }

    /// Convolves planar `input` (`channels × frames`) into `output` (same shape), any `frames`.
    /// Real-time safe.
    ///
    /// # Panics
    /// When `input` and `output` differ in length or are not a whole number of channels.
    pub fn process(&mut self, input: &[T], output: &mut [T]) {
        let channels = self.channels.len();
        assert!(input.len() == output.len() && input.len() % channels == 0);
        let frames = input.len() / channels;
        let p = self.partition;
        let mut pos = 0;
        while pos < frames {
            let take = (p - self.fill).min(frames - pos);
            for (c, ch) in self.channels.iter_mut().enumerate() {
                let x = &input[c * frames + pos..c * frames + pos + take];
                let y = &mut output[c * frames + pos..c * frames + pos + take];
                y.copy_from_slice(&ch.output[self.fill..self.fill + take]);
                ch.input[p + self.fill..p + self.fill + take].copy_from_slice(x);
            }
            self.fill += take;
            pos += take;
            if self.fill == p {
                self.segment();
                self.fill = 0;
            }
        }
    }

    /// Clears all signal state.
    pub fn reset(&mut self) {
        let zero = Complex::new(T::zero(), T::zero());
        for ch in &mut self.channels {
            ch.input.fill(T::zero());
            ch.history.fill(zero);
            ch.output.fill(T::zero());
        }
        self.fill = 0;
        self.head = 0;
    }

    /// One full segment: transform, multiply-accumulate over the delay line, inverse.
    fn segment(&mut self) {
        let p = self.partition;
        let bins = p + 1;
        let k = self.partitions;
        self.head = (self.head + 1) % k;
        for ch in &mut self.channels {
            self.time.copy_from_slice(&ch.input);
            let r = self.forward.process_with_scratch(
                &mut self.time,
                &mut self.spectrum,
                &mut self.scratch,
            );
            debug_assert!(r.is_ok());
            ch.history[self.head * bins..(self.head + 1) * bins].copy_from_slice(&self.spectrum);
            self.sum.fill(Complex::new(T::zero(), T::zero()));
            for part in 0..k {
                let slot = (self.head + k - part) % k;
                let x = &ch.history[slot * bins..(slot + 1) * bins];
                let h = &self.kernel[part * bins..(part + 1) * bins];
                for ((s, a), b) in self.sum.iter_mut().zip(x).zip(h) {
                    *s = *s + *a * *b;
                }
            }
            self.sum[0].im = T::zero();
            self.sum[p].im = T::zero();
            let r =
                self.inverse
                    .process_with_scratch(&mut self.sum, &mut self.time, &mut self.scratch);
            debug_assert!(r.is_ok());
            // Overlap-save: the second half is the valid linear convolution of this segment.
            ch.output.copy_from_slice(&self.time[p..]);
            ch.input.copy_within(p.., 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use realfft::RealFftPlanner;

    fn convolver<T: Sample>(kernel: &[f64], p: usize, channels: usize) -> PartitionedConvolver<T> {
        let mut planner = RealFftPlanner::<T>::new();
        let (f, i) = (
            planner.plan_fft_forward(2 * p),
            planner.plan_fft_inverse(2 * p),
        );
        PartitionedConvolver::new(kernel, p, channels, f, i)
    }

    fn signal(len: usize, seed: u64) -> Vec<f64> {
        let mut s = seed | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect()
    }

    /// `y[n] = Σ h[m]·x[n − m]`, delayed by `delay`: a direct f64 convolution.
    fn direct(x: &[f64], h: &[f64], delay: usize) -> Vec<f64> {
        (0..x.len())
            .map(|n| {
                let Some(n) = n.checked_sub(delay) else {
                    return 0.0;
                };
                (0..h.len().min(n + 1)).map(|m| h[m] * x[n - m]).sum()
            })
            .collect()
    }

    #[test]
    fn equals_direct_convolution_delayed_one_partition_for_any_block_size() {
        let kernel = signal(1000, 3);
        let len = 5000;
        let x: Vec<f64> = [signal(len, 5), signal(len, 6)].concat();
        let want: Vec<f64> = [
            direct(&x[..len], &kernel, 64),
            direct(&x[len..], &kernel, 64),
        ]
        .concat();
        let mut first: Option<Vec<f64>> = None;
        for block in [1usize, 7, 64, 256, 1000] {
            let mut conv = convolver::<f64>(&kernel, 64, 2);
            assert_eq!(conv.latency(), 64);
            let mut y = vec![0.0; 2 * len];
            let (mut xb, mut yb) = (vec![0.0; 2 * block], vec![0.0; 2 * block]);
            for start in (0..len).step_by(block) {
                let n = block.min(len - start);
                xb[..n].copy_from_slice(&x[start..start + n]);
                xb[n..2 * n].copy_from_slice(&x[len + start..len + start + n]);
                conv.process(&xb[..2 * n], &mut yb[..2 * n]);
                y[start..start + n].copy_from_slice(&yb[..n]);
                y[len + start..len + start + n].copy_from_slice(&yb[n..2 * n]);
            }
            let err = y
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(err < 1e-12, "block {block}: error {err:e}");
            match &first {
                None => first = Some(y),
                Some(f) => assert!(f == &y, "block {block}: output depends on the block size"),
            }
        }
        // f32 agrees to its precision.
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let mut y32 = vec![0.0f32; 2 * len];
        convolver::<f32>(&kernel, 64, 2).process(&x32, &mut y32);
        let err = y32
            .iter()
            .zip(&want)
            .map(|(&a, b)| (a as f64 - b).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-4, "f32 error {err:e}");
    }

    #[test]
    fn reset_forgets_the_past() {
        let kernel = signal(300, 9);
        let x = signal(700, 11);
        let mut a = convolver::<f64>(&kernel, 32, 1);
        let mut y1 = vec![0.0; 700];
        a.process(&x, &mut y1);
        a.reset();
        let mut y2 = vec![0.0; 700];
        a.process(&x, &mut y2);
        assert_eq!(y1, y2);
    }
}
