//! Uniformly partitioned overlap-save convolution (a frequency-domain delay line): a kernel of
//! `L` taps split into `K = ⌈L/P⌉` partitions of `P` taps; each input segment of `P` samples is
//! transformed once (a `2P`-point FFT of the last two segments) and multiplied with every
//! partition's spectrum against the matching past segment's. Per `P` samples and channel that is
//! one `2P`-point FFT pair and `K·(P + 1)` complex multiply-adds (run on split real/imaginary
//! arrays, so they vectorize), and the latency is one partition, `P` frames, whatever the host's
//! block size: segments fall at the same samples however the input is sliced, so the output is
//! identical for any slicing.
//!
//! Kernel changes are crossfaded like the overlap-save engine's ([`super::convolver`]): during a
//! ramp each segment is accumulated against both kernels' partitions (the delay line does not
//! depend on the kernel) and the two outputs faded sample by sample.
//!
//! Why uniform: with `P` equal to the host block (64 frames at 48 kHz) and the equalizer's
//! 2049-tap kernels, `K = 33`; the delay line's multiply-adds then cost about as much as the
//! FFTs, and every block does the same work, so the worst block is the mean block (a
//! non-uniform scheme saves multiply-adds but runs its long partitions' FFTs in some blocks
//! only, which is what a real-time callback is judged by).
//!
//! Real-time safe after construction: `process_span` never allocates, locks or frees.

use super::convolver::{KernelSlots, KernelSpectrum};
use super::loudness::KWeighting;
use super::{Complex, Layout, Sample};
use multiversion::{multiversion, target::target_cfg_f};
use realfft::{ComplexToReal, RealToComplex};
use std::sync::Arc;

/// Partitions of `partition` taps a kernel of `kernel_len` taps needs.
pub fn partitions(kernel_len: usize, partition: usize) -> usize {
    kernel_len.div_ceil(partition).max(1)
}

/// The kernel layout [`PartitionedConvolver`] runs: for each of the
/// [`partitions`]`(taps.len(), partition)` partitions, the `2·partition`-point spectrum
/// (`partition + 1` bins) of its taps zero-padded, scaled by `1 / (2·partition)`. `forward`
/// must be a `2·partition`-point plan. Control path: allocates.
///
/// # Panics
/// When `forward` is not a `2·partition`-point plan (fixed by the caller's construction).
pub fn partition_spectra<T: Sample>(
    taps: &[f64],
    partition: usize,
    forward: &dyn RealToComplex<T>,
) -> Vec<Complex<T>> {
    let p = partition;
    assert_eq!(forward.len(), 2 * p);
    let bins = p + 1;
    let zero = Complex::new(T::zero(), T::zero());
    let mut time = vec![T::zero(); 2 * p];
    let mut spectrum = vec![zero; bins];
    let mut scratch = vec![zero; forward.get_scratch_len()];
    let mut out = vec![zero; partitions(taps.len(), p) * bins];
    let scale = 1.0 / (2 * p) as f64;
    for (part, chunk) in taps.chunks(p).enumerate() {
        time.fill(T::zero());
        for (t, &h) in time.iter_mut().zip(chunk) {
            *t = T::of_f64(h * scale);
        }
        let r = forward.process_with_scratch(&mut time, &mut spectrum, &mut scratch);
        debug_assert!(r.is_ok());
        out[part * bins..(part + 1) * bins].copy_from_slice(&spectrum);
    }
    out
}

/// A uniformly partitioned convolver for `channels` channels.
pub struct PartitionedConvolver<T: Sample> {
    channels: usize,
    partition: usize,
    partitions: usize,
    /// The active kernel's partition spectra split into real and imaginary parts (`K × (P+1)`),
    /// in slot `active`; the crossfade's previous kernel in the other slot.
    kernel_re: [Vec<T>; 2],
    kernel_im: [Vec<T>; 2],
    /// Leading partitions of each slot that hold a non-zero coefficient (the rest are skipped).
    used: [usize; 2],
    active: usize,
    kernels: KernelSlots<T>,
    /// Per channel: the last two input segments (`2P`, the older first; the newest `fill`
    /// samples of the current one).
    input: Vec<T>,
    /// Per channel: spectra of the last `K` input windows, a ring of `K × (P + 1)` bins.
    history_re: Vec<T>,
    history_im: Vec<T>,
    /// Per channel: the last segment's output (`P`), played while the next segment fills.
    output: Vec<T>,
    /// Ring position of the newest spectrum (the ring runs backwards: the one before is at
    /// `head + 1`).
    head: usize,
    fill: usize,
    blocks: u64,
    forward: Arc<dyn RealToComplex<T>>,
    inverse: Arc<dyn ComplexToReal<T>>,
    time: Vec<T>,
    time_old: Vec<T>,
    spectrum: Vec<Complex<T>>,
    sum_re: Vec<T>,
    sum_im: Vec<T>,
    scratch: Vec<Complex<T>>,
    nonfinite: u64,
    /// With [`set_k_weighting`](Self::set_k_weighting): per-channel BS.1770 K-weighting of the
    /// output, and each segment's K-weighted mean square.
    k_weighting: Vec<KWeighting>,
    block_energy: Vec<f64>,
}

impl<T: Sample> PartitionedConvolver<T> {
    /// A convolver running `kernel` (the [`partition_spectra`] of `kernel_len` taps) in
    /// partitions of `partition` frames (a power of two ≥ 8) for `channels` channels, with
    /// `2·partition`-point FFT plans (the caller's, e.g. from the shared cache), crossfading over
    /// `ramp_len` samples on kernel changes (0 = switch at once). Control path: allocates
    /// everything it will use.
    ///
    /// # Panics
    /// On zero channels or taps, a partition that is not a power of two ≥ 8, plans of another
    /// size, or a kernel of another layout (the callers construct these).
    pub fn new(
        channels: usize,
        partition: usize,
        forward: Arc<dyn RealToComplex<T>>,
        inverse: Arc<dyn ComplexToReal<T>>,
        kernel_len: usize,
        kernel: KernelSpectrum<T>,
        ramp_len: usize,
    ) -> Self {
        assert!(channels > 0 && kernel_len > 0);
        assert!(partition >= 8 && partition.is_power_of_two());
        assert!(forward.len() == 2 * partition && inverse.len() == 2 * partition);
        let p = partition;
        let bins = p + 1;
        let k = partitions(kernel_len, p);
        assert_eq!(kernel.spectrum.len(), k * bins);
        let zero = Complex::new(T::zero(), T::zero());
        let scratch = forward.get_scratch_len().max(inverse.get_scratch_len());
        let mut conv = Self {
            channels,
            partition: p,
            partitions: k,
            kernel_re: [vec![T::zero(); k * bins], vec![T::zero(); k * bins]],
            kernel_im: [vec![T::zero(); k * bins], vec![T::zero(); k * bins]],
            used: [k, k],
            active: 0,
            kernels: KernelSlots::new(kernel, ramp_len),
            input: vec![T::zero(); channels * 2 * p],
            history_re: vec![T::zero(); channels * k * bins],
            history_im: vec![T::zero(); channels * k * bins],
            output: vec![T::zero(); channels * p],
            head: 0,
            fill: 0,
            blocks: 0,
            forward,
            inverse,
            time: vec![T::zero(); 2 * p],
            time_old: vec![T::zero(); 2 * p],
            spectrum: vec![zero; bins],
            sum_re: vec![T::zero(); bins],
            sum_im: vec![T::zero(); bins],
            scratch: vec![zero; scratch],
            nonfinite: 0,
            k_weighting: Vec::new(),
            block_energy: vec![0.0; channels],
        };
        conv.load_active();
        conv
    }

    /// Makes every segment also record, per channel, the BS.1770 K-weighted mean square of its
    /// output (filters designed for `sample_rate`), for the level matcher. Allocates (call at
    /// construction).
    pub fn set_k_weighting(&mut self, sample_rate: u32) {
        self.k_weighting = vec![KWeighting::new(sample_rate); self.channels];
    }

    /// Per-channel K-weighted mean squares of the last segment's output (see
    /// [`set_k_weighting`](Self::set_k_weighting)).
    pub fn block_energy(&self) -> &[f64] {
        &self.block_energy
    }

    /// The latency in frames: one partition.
    pub fn latency(&self) -> usize {
        self.partition
    }

    /// The partition (frames per segment).
    pub fn hop(&self) -> usize {
        self.partition
    }

    /// Segments computed since construction.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Input frames still needed to complete the current segment.
    pub fn frames_to_block(&self) -> usize {
        self.partition - self.fill
    }

    /// The kernel in use (the new one during a crossfade).
    pub fn kernel(&self) -> &KernelSpectrum<T> {
        self.kernels.current()
    }

    /// True while the outputs of an old and a new kernel are being crossfaded.
    pub fn is_ramping(&self) -> bool {
        self.kernels.is_ramping()
    }

    /// Non-finite (or beyond ±2^20) input samples replaced by zero so far.
    pub fn nonfinite_count(&self) -> u64 {
        self.nonfinite
    }

    /// Switches to `kernel` (a [`partition_spectra`] of the same layout), crossfading as
    /// [`Convolver::set_kernel`](super::convolver::Convolver::set_kernel) does. Real-time safe.
    ///
    /// # Errors
    /// Gives `kernel` back when its layout is wrong or the retired slots are full.
    pub fn set_kernel(
        &mut self,
        kernel: KernelSpectrum<T>,
        ramp: bool,
    ) -> Result<(), KernelSpectrum<T>> {
        if kernel.spectrum.len() != self.kernel_re[0].len() {
            return Err(kernel);
        }
        if self.kernels.replace(kernel, ramp)? {
            // The previous kernel's spectra stay in the other slot for the crossfade.
            self.active = 1 - self.active;
        }
        self.load_active();
        Ok(())
    }

    /// A kernel that is no longer used, to be dropped off the audio thread. Real-time safe.
    pub fn take_retired(&mut self) -> Option<KernelSpectrum<T>> {
        self.kernels.take_retired()
    }

    /// Puts a kernel that could not be handed on back in the retired slots.
    pub fn keep_retired(&mut self, kernel: KernelSpectrum<T>) {
        self.kernels.keep_retired(kernel);
    }

    fn load_active(&mut self) {
        let (re, im) = (
            &mut self.kernel_re[self.active],
            &mut self.kernel_im[self.active],
        );
        for ((r, i), s) in re
            .iter_mut()
            .zip(im.iter_mut())
            .zip(&self.kernels.current().spectrum)
        {
            *r = s.re;
            *i = s.im;
        }
        let bins = self.partition + 1;
        let zero = Complex::new(T::zero(), T::zero());
        self.used[self.active] = self
            .kernels
            .current()
            .spectrum
            .chunks(bins)
            .rposition(|part| part.iter().any(|&s| s != zero))
            .map_or(1, |last| last + 1);
    }

    /// Clears all signal state and ends any crossfade on the new kernel. Real-time safe.
    pub fn reset(&mut self) {
        self.input.fill(T::zero());
        self.history_re.fill(T::zero());
        self.history_im.fill(T::zero());
        self.output.fill(T::zero());
        self.k_weighting.iter_mut().for_each(KWeighting::reset);
        self.fill = 0;
        self.head = 0;
        self.kernels.finish_ramp();
    }

    /// Convolves frames `start .. start + len` of `frames`-frame buffers laid out as `layout`
    /// (`channels × frames` samples each). Non-finite input samples are replaced by zero and
    /// counted. Real-time safe.
    ///
    /// # Panics
    /// When the span lies outside the buffers (callers check first).
    pub fn process_span(
        &mut self,
        input: &[T],
        output: &mut [T],
        frames: usize,
        layout: Layout,
        start: usize,
        len: usize,
    ) {
        let (p, channels) = (self.partition, self.channels);
        assert!(input.len() >= channels * frames && output.len() >= channels * frames);
        assert!(start + len <= frames);
        let mut pos = start;
        let end = start + len;
        while pos < end {
            let take = (end - pos).min(p - self.fill);
            for c in 0..channels {
                let segment = &mut self.input[c * 2 * p + p + self.fill..][..take];
                let pending = &self.output[c * p + self.fill..][..take];
                match layout {
                    Layout::Planar => {
                        segment.copy_from_slice(&input[c * frames + pos..][..take]);
                        output[c * frames + pos..][..take].copy_from_slice(pending);
                    }
                    Layout::Interleaved => {
                        for (i, (x, &y)) in segment.iter_mut().zip(pending).enumerate() {
                            let at = (pos + i) * channels + c;
                            *x = input[at];
                            output[at] = y;
                        }
                    }
                }
                self.nonfinite += super::sanitize(segment);
            }
            self.fill += take;
            pos += take;
            if self.fill == p {
                self.segment();
                self.fill = 0;
            }
        }
    }

    /// Planar [`process_span`](Self::process_span) of whole buffers (`channels × frames`).
    ///
    /// # Panics
    /// When `input` and `output` differ in length or are not a whole number of channels.
    pub fn process(&mut self, input: &[T], output: &mut [T]) {
        assert!(input.len() == output.len() && input.len() % self.channels == 0);
        let frames = input.len() / self.channels;
        self.process_span(input, output, frames, Layout::Planar, 0, frames);
    }

    /// One full segment: transform, multiply-accumulate over the delay line, inverse, fade.
    fn segment(&mut self) {
        let p = self.partition;
        let bins = p + 1;
        let k = self.partitions;
        self.head = (self.head + k - 1) % k;
        for c in 0..self.channels {
            let input = &mut self.input[c * 2 * p..(c + 1) * 2 * p];
            self.time.copy_from_slice(input);
            input.copy_within(p.., 0);
            let r = self.forward.process_with_scratch(
                &mut self.time,
                &mut self.spectrum,
                &mut self.scratch,
            );
            debug_assert!(r.is_ok());
            let ring = c * k * bins;
            let at = ring + self.head * bins;
            for ((r, i), s) in self.history_re[at..at + bins]
                .iter_mut()
                .zip(&mut self.history_im[at..at + bins])
                .zip(&self.spectrum)
            {
                *r = s.re;
                *i = s.im;
            }
            self.accumulate(ring, self.active);
            inverse_sum(self, false);
            if self.kernels.is_ramping() {
                self.accumulate(ring, 1 - self.active);
                inverse_sum(self, true);
            }
            let out = &mut self.output[c * p..(c + 1) * p];
            self.kernels.mix(out, &self.time[p..], &self.time_old[p..]);
            if let Some(kw) = self.k_weighting.get_mut(c) {
                self.block_energy[c] = kw.energy(out) / p as f64;
            }
        }
        self.blocks += 1;
        self.kernels.advance(p);
    }

    /// `sum = Σ_j X[head − j]·H_slot[j]` over the delay line of the channel whose ring starts
    /// at `ring`, for the slot's used partitions. The ring runs backwards in time from `head`,
    /// so partition `j` meets slot `head + j` (mod K): two contiguous runs aligned with the
    /// kernel's partitions.
    fn accumulate(&mut self, ring: usize, slot: usize) {
        let bins = self.partition + 1;
        let k = self.partitions;
        let parts = self.used[slot];
        let first = parts.min(k - self.head);
        let (x_re, x_im) = (&self.history_re, &self.history_im);
        let (h_re, h_im) = (&self.kernel_re[slot], &self.kernel_im[slot]);
        self.sum_re.fill(T::zero());
        self.sum_im.fill(T::zero());
        // (ring slots, kernel partitions) of the two runs.
        for (slots, kernel) in [
            (self.head..self.head + first, 0..first),
            (0..parts - first, first..parts),
        ] {
            let x = ring + slots.start * bins..ring + slots.end * bins;
            let h = kernel.start * bins..kernel.end * bins;
            multiply_add(
                &mut self.sum_re,
                &mut self.sum_im,
                [&x_re[x.clone()], &x_im[x], &h_re[h.clone()], &h_im[h]],
            );
        }
    }
}

/// The inverse FFT of `sum` into `time` (or `time_old`).
fn inverse_sum<T: Sample>(conv: &mut PartitionedConvolver<T>, old: bool) {
    let last = conv.partition;
    for ((s, &r), &i) in conv.spectrum.iter_mut().zip(&conv.sum_re).zip(&conv.sum_im) {
        *s = Complex::new(r, i);
    }
    // The product of real signals' spectra has zero imaginary DC/Nyquist up to rounding.
    conv.spectrum[0].im = T::zero();
    conv.spectrum[last].im = T::zero();
    let time = if old {
        &mut conv.time_old
    } else {
        &mut conv.time
    };
    let r = conv
        .inverse
        .process_with_scratch(&mut conv.spectrum, time, &mut conv.scratch);
    debug_assert!(r.is_ok());
}

/// `sum += Σ_j x_j·h_j` for the partitions `j` laid end to end in `[x_re, x_im, h_re, h_im]`
/// (split complex arrays, `sum.len()` bins per partition). Sixteen bins at a time are kept in
/// registers across all partitions, so each product costs its loads and multiply-adds only
/// (AVX2 with fused multiply-adds when the machine has them).
#[multiversion(targets("x86_64+avx2+fma"))]
fn multiply_add<T: Sample>(
    sum_re: &mut [T],
    sum_im: &mut [T],
    [x_re, x_im, h_re, h_im]: [&[T]; 4],
) {
    const W: usize = 16;
    let fused = target_cfg_f!(target_feature = "fma");
    let bins = sum_re.len();
    let parts = x_re.len() / bins;
    debug_assert!(x_im.len() == parts * bins && h_re.len() == parts * bins);
    debug_assert!(h_im.len() == parts * bins && sum_im.len() == bins);
    // One partition's four slices at a time (each exactly `bins` long).
    let partitions = || {
        x_re.chunks_exact(bins)
            .zip(x_im.chunks_exact(bins))
            .zip(h_re.chunks_exact(bins).zip(h_im.chunks_exact(bins)))
    };
    let mut i = 0;
    while i + W <= bins {
        let (mut acc_re, mut acc_im) = ([T::zero(); W], [T::zero(); W]);
        for ((a, b), (c, d)) in partitions() {
            let (a, b, c, d) = (&a[i..i + W], &b[i..i + W], &c[i..i + W], &d[i..i + W]);
            for l in 0..W {
                // The products first, so each accumulator waits on one add per partition.
                acc_re[l] = acc_re[l] + fma(a[l], c[l], -(b[l] * d[l]), fused);
                acc_im[l] = acc_im[l] + fma(a[l], d[l], b[l] * c[l], fused);
            }
        }
        for l in 0..W {
            sum_re[i + l] = sum_re[i + l] + acc_re[l];
            sum_im[i + l] = sum_im[i + l] + acc_im[l];
        }
        i += W;
    }
    for i in i..bins {
        let (mut re, mut im) = (T::zero(), T::zero());
        for ((a, b), (c, d)) in partitions() {
            re = re + (a[i] * c[i] - b[i] * d[i]);
            im = im + (a[i] * d[i] + b[i] * c[i]);
        }
        sum_re[i] = sum_re[i] + re;
        sum_im[i] = sum_im[i] + im;
    }
}

/// `a·b + c`, fused into one instruction when `fused` (the caller's target has FMA; never a
/// slow software fma).
#[inline(always)]
fn fma<T: Sample>(a: T, b: T, c: T, fused: bool) -> T {
    if fused {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use realfft::RealFftPlanner;

    fn convolver<T: Sample>(kernel: &[f64], p: usize, channels: usize) -> PartitionedConvolver<T> {
        ramped::<T>(kernel, p, channels, 0)
    }

    fn spectra<T: Sample>(kernel: &[f64], p: usize) -> KernelSpectrum<T> {
        let forward = RealFftPlanner::<T>::new().plan_fft_forward(2 * p);
        KernelSpectrum {
            spectrum: partition_spectra(kernel, p, &*forward),
            gains_db: Vec::new(),
        }
    }

    fn ramped<T: Sample>(
        kernel: &[f64],
        p: usize,
        channels: usize,
        ramp: usize,
    ) -> PartitionedConvolver<T> {
        let mut planner = RealFftPlanner::<T>::new();
        let (f, i) = (
            planner.plan_fft_forward(2 * p),
            planner.plan_fft_inverse(2 * p),
        );
        PartitionedConvolver::new(channels, p, f, i, kernel.len(), spectra(kernel, p), ramp)
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
    fn zero_tail_partitions_are_skipped_without_changing_the_output() {
        // A trimmed kernel: 300 taps in a 1000-tap layout (K = 16, 5 used), through a change to
        // a full one and back; each equals a direct convolution once its ramp is over.
        let short = signal(300, 41);
        let mut padded = short.clone();
        padded.resize(1000, 0.0);
        let full = signal(1000, 42);
        let x = signal(6000, 43);
        let mut conv = convolver::<f64>(&padded, 64, 1);
        assert_eq!(conv.used, [5, 16]);
        let mut y = vec![0.0; 6000];
        conv.process(&x[..2048], &mut y[..2048]);
        conv.set_kernel(spectra(&full, 64), false).unwrap();
        assert_eq!(conv.used[conv.active], 16);
        conv.process(&x[2048..4096], &mut y[2048..4096]);
        conv.set_kernel(spectra(&padded, 64), false).unwrap();
        conv.process(&x[4096..], &mut y[4096..]);
        let want_short = direct(&x, &short, 64);
        let want_full = direct(&x, &full, 64);
        for n in (0..2048 + 64).chain(4096 + 64..6000) {
            assert!((y[n] - want_short[n]).abs() < 1e-12, "frame {n}");
        }
        for n in 2048 + 64..4096 + 64 {
            assert!((y[n] - want_full[n]).abs() < 1e-12, "frame {n}");
        }
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

    #[test]
    fn kernel_change_fades_linearly_from_the_old_to_the_new_output() {
        let (a, b) = (signal(200, 21), signal(200, 22));
        let x = signal(2000, 23);
        let run = |k: &[f64]| {
            let mut y = vec![0.0; 2000];
            convolver::<f64>(k, 32, 1).process(&x, &mut y);
            y
        };
        let (ya, yb) = (run(&a), run(&b));
        let ramp = 100;
        let mut conv = ramped::<f64>(&a, 32, 1, ramp);
        let mut y = vec![0.0; 2000];
        // Change after 640 frames (a segment boundary): segments from then on fade.
        conv.process(&x[..640], &mut y[..640]);
        conv.set_kernel(spectra(&b, 32), true).unwrap();
        assert!(conv.is_ramping());
        conv.process(&x[640..], &mut y[640..]);
        assert!(!conv.is_ramping());
        // The segment computed at 640 plays from 640 + P (the latency).
        let first = 640 + 32;
        for n in 0..2000 {
            let t = if n < first {
                0.0
            } else {
                ((n - first + 1) as f64 / ramp as f64).min(1.0)
            };
            let want = ya[n] + t * (yb[n] - ya[n]);
            assert!((y[n] - want).abs() < 1e-12, "frame {n}: {} vs {want}", y[n]);
        }
        // The replaced kernel waits to be dropped off the audio thread.
        assert!(conv.take_retired().is_some());
    }

    #[test]
    fn interleaved_equals_planar_and_corrupt_input_is_zeroed_and_counted() {
        let kernel = signal(100, 31);
        let len = 300;
        let mut x = [signal(len, 32), signal(len, 33)].concat();
        x[10] = f64::NAN;
        x[len + 20] = f64::INFINITY;
        let mut planar = vec![0.0; 2 * len];
        let mut conv = convolver::<f64>(&kernel, 16, 2);
        conv.process(&x, &mut planar);
        assert_eq!(conv.nonfinite_count(), 2);
        let interleaved: Vec<f64> = (0..2 * len).map(|i| x[(i % 2) * len + i / 2]).collect();
        let mut y = vec![0.0; 2 * len];
        let mut conv = convolver::<f64>(&kernel, 16, 2);
        conv.process_span(&interleaved, &mut y, len, Layout::Interleaved, 0, len);
        assert!(y.iter().all(|v| v.is_finite()));
        for i in 0..2 * len {
            assert_eq!(y[i], planar[(i % 2) * len + i / 2]);
        }
    }

    #[test]
    fn segment_energy_is_the_k_weighted_mean_square() {
        // A 997 Hz sine through a unit impulse: the K-weighted mean square is ½·|H_K(997 Hz)|²
        // by the filter's analytic response (evaluated independently in `level`).
        let rate = 48_000;
        let mut conv = convolver::<f64>(&[1.0], 64, 1);
        conv.set_k_weighting(rate);
        let f = 997.0;
        let x: Vec<f64> = (0..48_000)
            .map(|n| (2.0 * std::f64::consts::PI * f * n as f64 / rate as f64).sin())
            .collect();
        let mut y = vec![0.0; x.len()];
        conv.process(&x, &mut y);
        let want = 0.5 * crate::dsp::level::k_weighting_power(f, rate);
        let got = conv.block_energy()[0];
        assert!((got / want - 1.0).abs() < 0.02, "{got} vs {want}");
    }
}
