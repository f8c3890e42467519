//! Streaming FFT convolution (overlap-save) of planar or interleaved blocks of any size, with a
//! crossfade between the outputs of the old and the new kernel when the kernel changes.
//!
//! Every `hop = fft_size − kernel_len + 1` input samples per channel, the last `fft_size` input
//! samples are transformed, multiplied by the kernel spectrum and transformed back; the last
//! `hop` samples of the result are exact linear convolution (no time aliasing). They are emitted
//! during the next `hop` samples, so the latency is `hop + (kernel_len − 1) / 2` for a
//! linear-phase kernel. Block sizes never change the output.
//!
//! After construction nothing here allocates, locks or frees: kernels come in and go out by value.

use super::{Complex, Sample};
use realfft::{ComplexToReal, RealToComplex};
use std::sync::Arc;

/// A kernel prepared for the convolver: its spectrum at `fft_size` (`fft_size/2 + 1` bins,
/// already scaled by `1/fft_size`) and the band gains it was designed for.
#[derive(Clone, Debug)]
pub struct KernelSpectrum<T> {
    /// The scaled kernel spectrum.
    pub spectrum: Vec<Complex<T>>,
    /// The band gains in dB the kernel realises.
    pub gains_db: Vec<f64>,
}

pub use super::Layout;

/// The overlap-save engine for `channels` channels.
pub struct Convolver<T: Sample> {
    channels: usize,
    fft_size: usize,
    hop: usize,
    kernel_len: usize,
    forward: Arc<dyn RealToComplex<T>>,
    inverse: Arc<dyn ComplexToReal<T>>,
    /// Per channel: the last `fft_size` input samples (the newest `fill` of the current hop).
    history: Vec<T>,
    /// Per channel: `hop` output samples, emitted while the next hop fills.
    pending: Vec<T>,
    fill: usize,
    time: Vec<T>,
    time_old: Vec<T>,
    spectrum: Vec<Complex<T>>,
    spectrum_old: Vec<Complex<T>>,
    scratch: Vec<Complex<T>>,
    kernels: KernelSlots<T>,
    nonfinite: u64,
    /// Optional per-bin weights: each block's `Σ |S_k|²·weight_k` per channel is kept in
    /// `block_energy` (the level matcher's K-weighted mean square).
    energy_weights: Vec<f64>,
    block_energy: Vec<f64>,
    blocks: u64,
}

impl<T: Sample> Convolver<T> {
    /// A convolver running `kernel` (whose taps are `kernel_len` long) at the plans' FFT size,
    /// crossfading over `ramp_len` samples on kernel changes (0 = switch at once).
    /// Allocates everything it will use.
    ///
    /// # Panics
    /// When the plans' sizes differ, `kernel_len` exceeds the FFT size, or the spectrum has the
    /// wrong length — all fixed by the caller's construction, never by audio input.
    pub fn new(
        channels: usize,
        forward: Arc<dyn RealToComplex<T>>,
        inverse: Arc<dyn ComplexToReal<T>>,
        kernel_len: usize,
        kernel: KernelSpectrum<T>,
        ramp_len: usize,
    ) -> Self {
        let fft_size = forward.len();
        assert_eq!(inverse.len(), fft_size);
        assert!(kernel_len >= 1 && kernel_len <= fft_size);
        assert_eq!(kernel.spectrum.len(), fft_size / 2 + 1);
        let hop = fft_size - kernel_len + 1;
        let zero = Complex::new(T::zero(), T::zero());
        let scratch = forward.get_scratch_len().max(inverse.get_scratch_len());
        Self {
            channels,
            fft_size,
            hop,
            kernel_len,
            forward,
            inverse,
            history: vec![T::zero(); channels * fft_size],
            pending: vec![T::zero(); channels * hop],
            fill: 0,
            time: vec![T::zero(); fft_size],
            time_old: vec![T::zero(); fft_size],
            spectrum: vec![zero; fft_size / 2 + 1],
            spectrum_old: vec![zero; fft_size / 2 + 1],
            scratch: vec![zero; scratch],
            kernels: KernelSlots::new(kernel, ramp_len),
            nonfinite: 0,
            energy_weights: Vec::new(),
            block_energy: vec![0.0; channels],
            blocks: 0,
        }
    }

    /// Makes every block also compute, per channel, `Σ_k |S_k|²·weights[k]` of the filtered
    /// block's spectrum (`S = Y/N`): by Parseval the weighted mean square of the `N`-sample
    /// block when the weights hold the one-sided factors (1 at DC and Nyquist, 2 between).
    /// Allocates (call at construction).
    pub fn set_energy_weights(&mut self, weights: &[f64]) {
        self.energy_weights = weights.to_vec();
    }

    /// Per-channel energies of the last block (see [`set_energy_weights`](Self::set_energy_weights)).
    pub fn block_energy(&self) -> &[f64] {
        &self.block_energy
    }

    /// Blocks computed since construction.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Input frames still needed to complete the current block.
    pub fn frames_to_block(&self) -> usize {
        self.hop - self.fill
    }

    /// Samples of delay from input to output for a linear-phase kernel:
    /// `hop + (kernel_len − 1) / 2`.
    pub fn latency(&self) -> usize {
        self.hop + (self.kernel_len - 1) / 2
    }

    /// Output samples produced per FFT pair.
    pub fn hop(&self) -> usize {
        self.hop
    }

    /// Channels processed.
    pub fn channels(&self) -> usize {
        self.channels
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

    /// Switches to `kernel`: crossfading from the current one when `ramp` is set and a ramp
    /// length was configured (and no crossfade is already running), at once otherwise. Kernels
    /// no longer used wait in [`take_retired`](Self::take_retired). Real-time safe.
    ///
    /// # Errors
    /// Gives `kernel` back when its spectrum length is wrong or the retired slots are full.
    pub fn set_kernel(
        &mut self,
        kernel: KernelSpectrum<T>,
        ramp: bool,
    ) -> Result<(), KernelSpectrum<T>> {
        if kernel.spectrum.len() != self.spectrum.len() {
            return Err(kernel);
        }
        self.kernels.replace(kernel, ramp).map(|_| ())
    }

    /// A kernel that is no longer used, to be dropped off the audio thread. Real-time safe.
    pub fn take_retired(&mut self) -> Option<KernelSpectrum<T>> {
        self.kernels.take_retired()
    }

    /// Puts a kernel that could not be handed on back in the retired slots.
    pub fn keep_retired(&mut self, kernel: KernelSpectrum<T>) {
        self.kernels.keep_retired(kernel);
    }

    /// Clears the signal state (history and pending output) and ends any crossfade on the new
    /// kernel. Real-time safe.
    pub fn reset(&mut self) {
        self.history.fill(T::zero());
        self.pending.fill(T::zero());
        self.fill = 0;
        self.kernels.finish_ramp();
    }

    /// Filters `frames` frames of `channels` channels from `input` to `output` (both laid out as
    /// `layout`, `channels × frames` samples). Non-finite input samples are replaced by zero and
    /// counted. Real-time safe.
    ///
    /// # Panics
    /// When a buffer is shorter than `channels × frames` (callers check first).
    pub fn process(&mut self, input: &[T], output: &mut [T], frames: usize, layout: Layout) {
        self.process_span(input, output, frames, layout, 0, frames);
    }

    /// [`process`](Self::process) for frames `start .. start + len` of `frames`-frame buffers
    /// only, so a caller can stop exactly at block boundaries. Real-time safe.
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
        let (n, hop, channels) = (self.fft_size, self.hop, self.channels);
        assert!(input.len() >= channels * frames && output.len() >= channels * frames);
        assert!(start + len <= frames);
        let mut pos = start;
        let end = start + len;
        while pos < end {
            let take = (end - pos).min(hop - self.fill);
            for c in 0..channels {
                let history = &mut self.history[c * n + n - hop + self.fill..][..take];
                let pending = &self.pending[c * hop + self.fill..][..take];
                match layout {
                    Layout::Planar => {
                        history.copy_from_slice(&input[c * frames + pos..][..take]);
                        output[c * frames + pos..][..take].copy_from_slice(pending);
                    }
                    Layout::Interleaved => {
                        for (i, (h, &p)) in history.iter_mut().zip(pending).enumerate() {
                            let at = (pos + i) * channels + c;
                            *h = input[at];
                            output[at] = p;
                        }
                    }
                }
                self.nonfinite += super::sanitize(history);
            }
            self.fill += take;
            pos += take;
            if self.fill == hop {
                self.compute_block();
                self.fill = 0;
            }
        }
    }

    /// Offline overlap-save of one whole channel with the current kernel: `out[i] =
    /// Σ_m h[m]·x[first + i + D − m]` for the kernel's `2D + 1` taps (linear phase: the output is
    /// aligned with the input, no latency), `x` read as zero outside its bounds and non-finite
    /// samples as zero (counted). Each block transforms its `fft_size` input samples straight
    /// from `x` — no history ring, no warm-up — and runs the streaming path's transform step
    /// (`transform_time`). Allocates nothing; the streaming state is untouched.
    ///
    /// # Panics
    /// When the convolver was built for more than one channel or with an even `kernel_len`
    /// (fixed by the caller's construction).
    pub fn filter_offline(&mut self, x: &[T], first: usize, out: &mut [T]) {
        assert!(self.channels == 1 && self.kernel_len % 2 == 1);
        let (n, hop) = (self.fft_size, self.hop);
        let delay = (self.kernel_len - 1) / 2;
        // One scan of everything the blocks read; frames are only sanitised when it fails.
        let reads = first.saturating_sub(delay).min(x.len())
            ..(first + out.len().div_ceil(hop) * hop + n).min(x.len());
        let clean = super::all_in_range(&x[reads]);
        for (b, out) in out.chunks_mut(hop).enumerate() {
            // The block whose last `hop` results are y[first + b·hop ..] reads from here on.
            let start = (first + b * hop) as isize - delay as isize;
            let lo = start.clamp(0, x.len() as isize) as usize;
            let hi = (start + n as isize).clamp(0, x.len() as isize) as usize;
            let at = (lo as isize - start) as usize;
            self.time[..at].fill(T::zero());
            self.time[at..at + (hi - lo)].copy_from_slice(&x[lo..hi]);
            self.time[at + (hi - lo)..].fill(T::zero());
            if !clean {
                self.nonfinite += super::sanitize(&mut self.time);
            }
            self.transform_time(None);
            let take = out.len();
            out.copy_from_slice(&self.time[n - hop..][..take]);
        }
    }

    /// The overlap-save step of both paths: `time` (one frame) becomes its linear convolution
    /// with the current kernel (valid in its last `hop` samples); during a kernel change
    /// `time_old` receives the same frame through the previous kernel; with `channel` the
    /// block's weighted energy is recorded for it.
    fn transform_time(&mut self, channel: Option<usize>) {
        let r = self.forward.process_with_scratch(
            &mut self.time,
            &mut self.spectrum,
            &mut self.scratch,
        );
        debug_assert!(r.is_ok());
        if let Some(previous) = self.kernels.previous() {
            for (o, (s, k)) in self
                .spectrum_old
                .iter_mut()
                .zip(self.spectrum.iter().zip(&previous.spectrum))
            {
                *o = *s * *k;
            }
            inverse_into(
                &*self.inverse,
                &mut self.spectrum_old,
                &mut self.time_old,
                &mut self.scratch,
            );
        }
        for (s, k) in self
            .spectrum
            .iter_mut()
            .zip(&self.kernels.current().spectrum)
        {
            *s = *s * *k;
        }
        if let Some(c) = channel.filter(|_| !self.energy_weights.is_empty()) {
            let e: f64 = self
                .spectrum
                .iter()
                .zip(&self.energy_weights)
                .map(|(s, w)| s.norm_sqr().as_f64() * w)
                .sum();
            self.block_energy[c] = e;
        }
        inverse_into(
            &*self.inverse,
            &mut self.spectrum,
            &mut self.time,
            &mut self.scratch,
        );
    }

    fn compute_block(&mut self) {
        let (n, hop) = (self.fft_size, self.hop);
        for c in 0..self.channels {
            let history = &mut self.history[c * n..(c + 1) * n];
            self.time.copy_from_slice(history);
            history.copy_within(hop.., 0);
            self.transform_time(Some(c));
            let out = &mut self.pending[c * hop..(c + 1) * hop];
            let new = &self.time[n - hop..];
            self.kernels.mix(out, new, &self.time_old[n - hop..]);
        }
        self.blocks += 1;
        self.kernels.advance(hop);
    }
}

/// The kernel a convolver runs, the one it crossfades from, and those it let go: the
/// click-free kernel change both engines share. Real-time safe: kernels move by value.
pub(crate) struct KernelSlots<T> {
    current: KernelSpectrum<T>,
    previous: Option<KernelSpectrum<T>>,
    retired: [Option<KernelSpectrum<T>>; 2],
    ramp_len: usize,
    ramp_pos: usize,
}

impl<T: Sample> KernelSlots<T> {
    pub(crate) fn new(kernel: KernelSpectrum<T>, ramp_len: usize) -> Self {
        Self {
            current: kernel,
            previous: None,
            retired: [None, None],
            ramp_len,
            ramp_pos: 0,
        }
    }

    pub(crate) fn current(&self) -> &KernelSpectrum<T> {
        &self.current
    }

    pub(crate) fn previous(&self) -> Option<&KernelSpectrum<T>> {
        self.previous.as_ref()
    }

    pub(crate) fn is_ramping(&self) -> bool {
        self.previous.is_some()
    }

    /// Makes `kernel` current: crossfading (`Ok(true)`) when `ramp` is set, a ramp length was
    /// configured and none runs, at once (`Ok(false)`) otherwise.
    ///
    /// # Errors
    /// Gives `kernel` back when the retired slots have no room for what it replaces.
    pub(crate) fn replace(
        &mut self,
        kernel: KernelSpectrum<T>,
        ramp: bool,
    ) -> Result<bool, KernelSpectrum<T>> {
        let free = self.retired.iter().filter(|r| r.is_none()).count();
        let needed = usize::from(self.previous.is_some()) + 1;
        if free < needed {
            return Err(kernel);
        }
        if ramp && self.ramp_len > 0 && self.previous.is_none() {
            self.previous = Some(std::mem::replace(&mut self.current, kernel));
            self.ramp_pos = 0;
            Ok(true)
        } else {
            self.finish_ramp();
            let old = std::mem::replace(&mut self.current, kernel);
            self.stash(old);
            Ok(false)
        }
    }

    pub(crate) fn take_retired(&mut self) -> Option<KernelSpectrum<T>> {
        self.retired.iter_mut().find_map(Option::take)
    }

    pub(crate) fn keep_retired(&mut self, kernel: KernelSpectrum<T>) {
        self.stash(kernel);
    }

    fn stash(&mut self, kernel: KernelSpectrum<T>) {
        if let Some(slot) = self.retired.iter_mut().find(|r| r.is_none()) {
            *slot = Some(kernel);
        } else {
            // Unreachable by construction (replace checks room first); keep the newest.
            debug_assert!(false, "retired slots full");
            self.retired[0] = Some(kernel);
        }
    }

    /// Ends a crossfade on the current kernel.
    pub(crate) fn finish_ramp(&mut self) {
        if let Some(old) = self.previous.take() {
            self.stash(old);
        }
        self.ramp_pos = 0;
    }

    /// Writes the next `out.len()` output samples: `new` alone, or during a crossfade the
    /// linear fade from `old` to `new` at the ramp's position.
    pub(crate) fn mix(&self, out: &mut [T], new: &[T], old: &[T]) {
        if self.previous.is_none() {
            out.copy_from_slice(&new[..out.len()]);
            return;
        }
        let ramp_len = self.ramp_len.max(1);
        let scale = T::one() / T::of_f64(ramp_len as f64);
        for (i, (o, (&y_new, &y_old))) in out.iter_mut().zip(new.iter().zip(old)).enumerate() {
            let step = (self.ramp_pos + i + 1).min(ramp_len);
            let a = T::of_f64(step as f64) * scale;
            *o = y_old + a * (y_new - y_old);
        }
    }

    /// Moves the crossfade on by `frames` (after every channel's [`mix`](Self::mix)).
    pub(crate) fn advance(&mut self, frames: usize) {
        if self.previous.is_some() {
            self.ramp_pos += frames;
            if self.ramp_pos >= self.ramp_len.max(1) {
                self.finish_ramp();
            }
        }
    }
}

fn inverse_into<T: Sample>(
    inverse: &dyn ComplexToReal<T>,
    spectrum: &mut [Complex<T>],
    time: &mut [T],
    scratch: &mut [Complex<T>],
) {
    // The product of two real signals' spectra has zero imaginary DC/Nyquist up to rounding;
    // clear it so the inverse never rejects the input.
    let last = spectrum.len() - 1;
    spectrum[0].im = T::zero();
    spectrum[last].im = T::zero();
    let r = inverse.process_with_scratch(spectrum, time, scratch);
    debug_assert!(r.is_ok());
}
