//! Analysis/synthesis windows.
//!
//! All windows are computed in `f64` and rounded once to the target type. `hann_sym` follows
//! `numpy.hanning` operation by operation, so its `f64` values are bit-identical to numpy's.
//! The other kinds are *periodic* (DFT-even), as `scipy.signal.get_window` returns them by
//! default and as STFT framing wants them.

use super::Sample;
use std::f64::consts::PI;

/// The named window shapes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WindowKind {
    /// Periodic Hann, `0.5 - 0.5·cos(2πi/n)` — the default (scipy, librosa, torch).
    #[default]
    Hann,
    /// Symmetric Hann, bit-identical to `numpy.hanning(n)` in `f64`.
    HannSym,
    /// Periodic Hamming, `0.54 - 0.46·cos(2πi/n)`.
    Hamming,
    /// Periodic Blackman, `0.42 - 0.5·cos(2πi/n) + 0.08·cos(4πi/n)`.
    Blackman,
    /// Square root of the periodic Hann window (for analysis + synthesis pairs).
    SqrtHann,
}

impl WindowKind {
    /// Every kind, in C enum order.
    pub const ALL: [WindowKind; 5] = [
        Self::Hann,
        Self::HannSym,
        Self::Hamming,
        Self::Blackman,
        Self::SqrtHann,
    ];

    /// The kind's name as used by the Python package (`"hann"`, `"hann_sym"`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Hann => "hann",
            Self::HannSym => "hann_sym",
            Self::Hamming => "hamming",
            Self::Blackman => "blackman",
            Self::SqrtHann => "sqrt_hann",
        }
    }

    /// Looks a kind up by [`name`](Self::name).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Looks a kind up by its C enum value (`TONECORE_WINDOW_*`).
    pub fn from_index(index: i32) -> Option<Self> {
        usize::try_from(index)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// The window's value at index `i` of `n` (`i < n`), in `f64`.
    fn value(self, i: usize, n: usize) -> f64 {
        if n == 1 {
            return 1.0;
        }
        let periodic_phase = 2.0 * PI * i as f64 / n as f64;
        match self {
            Self::Hann => 0.5 - 0.5 * periodic_phase.cos(),
            Self::HannSym => {
                // numpy.hanning: k = arange(1-M, M, 2); 0.5 + 0.5*cos(pi*k/(M-1)), op by op.
                let k = (2 * i) as f64 + 1.0 - n as f64;
                let phase = (PI * k) / (n as f64 - 1.0);
                0.5 + 0.5 * phase.cos()
            }
            Self::Hamming => 0.54 - 0.46 * periodic_phase.cos(),
            Self::Blackman => {
                0.42 - 0.5 * periodic_phase.cos() + 0.08 * (2.0 * periodic_phase).cos()
            }
            Self::SqrtHann => (0.5 - 0.5 * periodic_phase.cos()).max(0.0).sqrt(),
        }
    }

    /// Fills `out` with this window of length `out.len()`. Does not allocate.
    pub fn fill<T: Sample>(self, out: &mut [T]) {
        let n = out.len();
        for (i, v) in out.iter_mut().enumerate() {
            *v = T::of_f64(self.value(i, n));
        }
    }

    /// Returns this window of length `n` as a new vector.
    pub fn generate<T: Sample>(self, n: usize) -> Vec<T> {
        let mut w = vec![T::zero(); n];
        self.fill(&mut w);
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_zero_and_one() {
        for kind in WindowKind::ALL {
            assert!(kind.generate::<f64>(0).is_empty());
            assert_eq!(kind.generate::<f64>(1), vec![1.0]);
        }
    }

    #[test]
    fn hann_sym_is_symmetric_with_zero_ends() {
        for n in [2usize, 3, 16, 17, 1001] {
            let w = WindowKind::HannSym.generate::<f64>(n);
            assert_eq!(w[0], 0.0);
            assert_eq!(w[n - 1], 0.0);
            for i in 0..n {
                assert!((w[i] - w[n - 1 - i]).abs() < 1e-15);
            }
        }
    }

    #[test]
    fn periodic_windows_are_dft_even() {
        // A periodic window of length n is the symmetric one of length n+1 without its last value.
        for kind in [WindowKind::Hann, WindowKind::Hamming, WindowKind::Blackman] {
            let n = 64;
            let w = kind.generate::<f64>(n);
            for i in 1..n {
                assert!((w[i] - w[n - i]).abs() < 1e-15, "{kind:?} {i}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for (i, kind) in WindowKind::ALL.into_iter().enumerate() {
            assert_eq!(WindowKind::from_name(kind.name()), Some(kind));
            assert_eq!(WindowKind::from_index(i as i32), Some(kind));
        }
        assert_eq!(WindowKind::from_index(-1), None);
        assert_eq!(WindowKind::from_index(5), None);
        assert_eq!(WindowKind::from_name("kaiser"), None);
    }
}
