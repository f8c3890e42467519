//! Minimum-phase kernels with the magnitude of a linear-phase design (the cepstral method).
//!
//! The linear-phase designer ([`FirDesigner`](super::fir::FirDesigner)) already hits every
//! resolvable band centre within 0.01 dB; its kernel's magnitude is what a minimum-phase kernel
//! must keep. A kernel of `L` taps has a minimum-phase counterpart of the same length and the
//! same magnitude (the spectral factor with every zero inside the unit circle); it is computed
//! homomorphically on a grid `M` (a power of two, 16× the kernel's, so the cepstrum's aliasing
//! is negligible):
//!
//! 1. `|H[k]|` of the zero-padded linear-phase taps (floored at −200 dB);
//! 2. the real cepstrum `c = IFFT(ln|H|)`;
//! 3. folded onto positive quefrencies: `c[0]`, `2·c[n]` for `0 < n < M/2`, `c[M/2]`, zeros;
//! 4. `H_min = exp(FFT(folded))`, `h = IFFT(H_min)`, the first `L` samples kept.
//!
//! The energy `h` has past `L` is reported ([`MinPhaseKernel::tail_db`]); for the equalizer's
//! designs it is far below −100 dB. Control path: allocates and runs FFTs of `M` points.

use super::fir::FirKernel;
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealToComplex};

/// Cepstral grid size as a multiple of the kernel length (rounded up to a power of two).
pub const OVERSAMPLE: usize = 16;

/// A minimum-phase kernel and how closely it came out.
#[derive(Clone, Debug)]
pub struct MinPhaseKernel {
    /// `L` causal taps (as many as the linear-phase kernel's).
    pub taps: Vec<f64>,
    /// Energy the minimum-phase response has past `L` taps (truncated away), relative to its
    /// total, dB.
    pub tail_db: f64,
}

impl MinPhaseKernel {
    /// Drops the taps past the shortest length whose dropped energy is below `below_db`
    /// (relative to the total; at least one tap stays) and adds it to [`tail_db`](Self::tail_db).
    /// A minimum-phase response decays, so a smooth curve's kernel ends well before its design
    /// length and the convolution skips the rest.
    pub fn trim(&mut self, below_db: f64) {
        let total: f64 = self.taps.iter().map(|v| v * v).sum();
        let limit = total * 10f64.powf(below_db / 10.0);
        let mut tail = 0.0;
        let mut len = self.taps.len();
        while len > 1 && tail + self.taps[len - 1].powi(2) < limit {
            tail += self.taps[len - 1].powi(2);
            len -= 1;
        }
        self.taps.truncate(len);
        let before = 10f64.powf(self.tail_db / 10.0) * total;
        self.tail_db = 10.0 * ((before + tail).max(1e-300) / total.max(1e-300)).log10();
    }
}

/// The cepstral grid for a kernel of `len` taps: `len × OVERSAMPLE` rounded up to a power of
/// two (the size of the plans [`minimum_phase`] takes).
pub fn grid_size(len: usize) -> usize {
    (len * OVERSAMPLE).next_power_of_two()
}

/// The minimum-phase kernel with the magnitude of `kernel` (see the module documentation), with
/// f64 plans of [`grid_size`]`(kernel.taps.len())` points (the caller's, e.g. from the shared
/// cache, so a gain change plans nothing).
///
/// # Panics
/// When the plans have another size (fixed by the caller's construction).
pub fn minimum_phase(
    kernel: &FirKernel,
    forward: &dyn RealToComplex<f64>,
    inverse: &dyn ComplexToReal<f64>,
) -> MinPhaseKernel {
    let len = kernel.taps.len();
    let m = grid_size(len);
    assert!(forward.len() == m && inverse.len() == m);
    let mut time = vec![0.0; m];
    time[..len].copy_from_slice(&kernel.taps);
    let mut spectrum = forward.make_output_vec();
    forward
        .process(&mut time, &mut spectrum)
        .expect("lengths match the plan");
    // ln|H| as a real, even spectrum.
    let floor = 1e-10f64;
    for s in spectrum.iter_mut() {
        *s = Complex::new(s.norm().max(floor).ln(), 0.0);
    }
    inverse
        .process(&mut spectrum, &mut time)
        .expect("lengths match the plan");
    let scale = 1.0 / m as f64;
    // Fold the cepstrum onto positive quefrencies.
    for (n, c) in time.iter_mut().enumerate() {
        *c *= scale
            * match n {
                0 => 1.0,
                n if n < m / 2 => 2.0,
                n if n == m / 2 => 1.0,
                _ => 0.0,
            };
    }
    forward
        .process(&mut time, &mut spectrum)
        .expect("lengths match the plan");
    for s in spectrum.iter_mut() {
        *s = Complex::from_polar(s.re.exp(), s.im);
    }
    // The imaginary parts of DC and Nyquist are zero for a real cepstrum's transform up to
    // rounding; the inverse ignores them.
    let last = spectrum.len() - 1;
    spectrum[0].im = 0.0;
    spectrum[last].im = 0.0;
    inverse
        .process(&mut spectrum, &mut time)
        .expect("lengths match the plan");
    let h: Vec<f64> = time.iter().map(|v| v * scale).collect();
    let total: f64 = h.iter().map(|v| v * v).sum();
    let tail: f64 = h[len..].iter().map(|v| v * v).sum();
    MinPhaseKernel {
        taps: h[..len].to_vec(),
        tail_db: 10.0 * (tail.max(1e-300) / total).log10(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::bands::{BandLayout, CurveMode};
    use crate::dsp::fir::FirDesigner;
    use realfft::RealFftPlanner;

    /// `|Σ h[n]·e^{−jωn}|` in dB: a direct f64 DTFT, independent of the FFT path.
    fn magnitude_db(h: &[f64], sample_rate: u32, f: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * f / sample_rate as f64;
        let (mut re, mut im) = (0.0, 0.0);
        for (n, v) in h.iter().enumerate() {
            re += v * (w * n as f64).cos();
            im -= v * (w * n as f64).sin();
        }
        10.0 * (re * re + im * im).log10()
    }

    fn design(layout: BandLayout, gains: &[f64], rate: u32, fft: usize) -> (FirKernel, Vec<bool>) {
        let mut planner = RealFftPlanner::<f64>::new();
        let mut d = FirDesigner::new(
            layout,
            rate,
            fft,
            CurveMode::Smooth,
            planner.plan_fft_inverse(fft),
            planner.plan_fft_forward(fft),
        )
        .unwrap();
        let k = d.design(gains).unwrap();
        (k, d.resolvable_bands().to_vec())
    }

    #[test]
    fn keeps_the_band_gains_and_front_loads_the_energy() {
        let rate = 48_000;
        for (layout, fft) in [(BandLayout::critical(), 4096), (BandLayout::octave(), 1024)] {
            let bands = layout.bands();
            let centers = layout.centers();
            let gains: Vec<f64> = (0..bands)
                .map(|b| if b % 2 == 0 { 6.0 } else { -9.0 } + b as f64 * 0.3)
                .collect();
            let (linear, resolvable) = design(layout, &gains, rate, fft);
            let m = grid_size(linear.taps.len());
            let mut planner = RealFftPlanner::<f64>::new();
            let min = minimum_phase(
                &linear,
                &*planner.plan_fft_forward(m),
                &*planner.plan_fft_inverse(m),
            );
            assert_eq!(min.taps.len(), linear.taps.len());
            assert!(min.tail_db < -100.0, "tail {} dB", min.tail_db);
            for b in (0..bands).filter(|&b| resolvable[b]) {
                let got = magnitude_db(&min.taps, rate, centers[b]);
                assert!(
                    (got - gains[b]).abs() <= 0.1,
                    "fft {fft} band {b}: {got:.3} dB vs {:.3}",
                    gains[b]
                );
            }
            // The same magnitude everywhere (to the 0.01 dB of the transform), …
            for k in 1..200 {
                let f = k as f64 * rate as f64 / 2.0 / 200.0;
                let (a, l) = (
                    magnitude_db(&min.taps, rate, f),
                    magnitude_db(&linear.taps, rate, f),
                );
                assert!((a - l).abs() < 0.01 || l < -60.0, "{f} Hz: {a} vs {l}");
            }
            // … and the energy arrives first: the partial energy of a minimum-phase filter is at
            // least that of any filter with the same magnitude, here the linear-phase one.
            let partial = |h: &[f64], n: usize| h[..n].iter().map(|v| v * v).sum::<f64>();
            let total = partial(&linear.taps, linear.taps.len());
            for n in [1, 8, 64, linear.delay()] {
                assert!(
                    partial(&min.taps, n) >= partial(&linear.taps, n) - 1e-9 * total,
                    "fft {fft}, first {n} taps"
                );
            }
            let half = partial(&min.taps, 64) / total;
            assert!(
                half > 0.5,
                "fft {fft}: only {half} of the energy in 64 taps"
            );
        }
    }
}
