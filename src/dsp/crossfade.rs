//! Crossfade curves and crossfaded joins of planar blocks.

use super::Sample;
use std::f64::consts::FRAC_PI_2;

/// The shape of a crossfade.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FadeCurve {
    /// sin² in, cos² out: the gains sum to 1, so identical inputs join exactly (what hosts use).
    #[default]
    EqualGain,
    /// sin in, cos out: the powers sum to 1 (for uncorrelated material).
    EqualPower,
    /// t in, 1 − t out.
    Linear,
}

impl FadeCurve {
    /// `(fade_in, fade_out)` gains at step `i` of an `len`-step fade whose phase runs over
    /// `linspace(0, 1, len)` with both ends included (a 1-step fade keeps the outgoing side).
    #[inline]
    pub fn gains(self, i: usize, len: usize) -> (f64, f64) {
        let t = if len <= 1 {
            0.0
        } else {
            i as f64 / (len - 1) as f64
        };
        match self {
            Self::EqualGain => {
                let s = (t * FRAC_PI_2).sin();
                let c = (t * FRAC_PI_2).cos();
                (s * s, c * c)
            }
            Self::EqualPower => ((t * FRAC_PI_2).sin(), (t * FRAC_PI_2).cos()),
            Self::Linear => (t, 1.0 - t),
        }
    }
}

/// Joins planar `a` (`channels × len_a`) and `b` (`channels × len_b`) with an `overlap`-sample
/// crossfade (`L = min(overlap, len_a, len_b)`; `L = 0` concatenates) into `out`, which must hold
/// `channels × (len_a + len_b − L)` samples. Returns the frames per channel written.
/// Real-time safe.
///
/// # Panics
/// When `out` is too small or `a`/`b` are not whole numbers of frames (callers check).
pub fn crossfade_into<T: Sample>(
    a: &[T],
    b: &[T],
    channels: usize,
    overlap: usize,
    curve: FadeCurve,
    out: &mut [T],
) -> usize {
    let (la, lb) = (a.len() / channels, b.len() / channels);
    let l = overlap.min(la).min(lb);
    let n = la + lb - l;
    assert!(out.len() >= channels * n);
    for c in 0..channels {
        let (a, b) = (&a[c * la..(c + 1) * la], &b[c * lb..(c + 1) * lb]);
        let o = &mut out[c * n..(c + 1) * n];
        o[..la - l].copy_from_slice(&a[..la - l]);
        for i in 0..l {
            let (fade_in, fade_out) = curve.gains(i, l);
            o[la - l + i] = a[la - l + i] * T::of_f64(fade_out) + b[i] * T::of_f64(fade_in);
        }
        o[la..].copy_from_slice(&b[l..]);
    }
    n
}

/// Allocating [`crossfade_into`].
pub fn crossfade_concat<T: Sample>(
    a: &[T],
    b: &[T],
    channels: usize,
    overlap: usize,
    curve: FadeCurve,
) -> Vec<T> {
    let (la, lb) = (a.len() / channels, b.len() / channels);
    let n = la + lb - overlap.min(la).min(lb);
    let mut out = vec![T::zero(); channels * n];
    crossfade_into(a, b, channels, overlap, curve, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_gain_joins_identical_material_exactly_and_lengths_add_up() {
        let a: Vec<f64> = (0..10).map(|i| i as f64).collect();
        let b: Vec<f64> = (6..16).map(|i| i as f64).collect();
        let y = crossfade_concat(&a, &b, 1, 4, FadeCurve::EqualGain);
        assert_eq!(y.len(), 16);
        for (i, v) in y.iter().enumerate() {
            assert!((v - i as f64).abs() < 1e-12);
        }
        assert_eq!(crossfade_concat(&a, &b, 1, 0, FadeCurve::Linear).len(), 20);
        assert_eq!(
            crossfade_concat(&a, &b[..2], 1, 5, FadeCurve::Linear).len(),
            10
        );
        let (i, o) = FadeCurve::EqualPower.gains(3, 7);
        assert!((i * i + o * o - 1.0).abs() < 1e-15);
    }
}
