//! Shared helpers for the integration tests: a deterministic noise source and a naive f64 DFT as
//! the independent reference.
#![allow(dead_code)]

use tonecore::dsp::Complex;

/// Deterministic white noise in [-1, 1) (xorshift64*), independent of any crate.
pub fn noise(len: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            let r = s.wrapping_mul(0x2545_F491_4F6C_DD1D);
            (r >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

/// Naive O(N²) real DFT of `frame` in f64, bins 0..=N/2.
pub fn naive_rdft(frame: &[f64]) -> Vec<Complex<f64>> {
    let n = frame.len();
    (0..=n / 2)
        .map(|k| {
            let mut acc = Complex::new(0.0, 0.0);
            for (i, &x) in frame.iter().enumerate() {
                // Reduce the phase index modulo n first: keeps the argument small and exact.
                let phase = -2.0 * std::f64::consts::PI * ((k * i) % n) as f64 / n as f64;
                acc += Complex::new(x * phase.cos(), x * phase.sin());
            }
            acc
        })
        .collect()
}

/// Periodic Hann computed independently of the library.
pub fn hann(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos())
        .collect()
}

/// max |a − b| / max |b|.
pub fn rel_err(a: &[Complex<f64>], b: &[Complex<f64>]) -> f64 {
    let num = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).norm())
        .fold(0.0, f64::max);
    let den = b.iter().map(|y| y.norm()).fold(0.0, f64::max);
    num / den
}
