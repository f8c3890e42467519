//! The host's chunk crossfades: equal-gain fades `sin²t` in and `cos²t` out with
//! `t = numpy.linspace(0, π/2, L)` (both ends included), mixed in `f64`.
//!
//! Buffers are interleaved (`frames × channels`, the host's `(samples, channels)` arrays).

use crate::dsp::Sample;
use std::f64::consts::FRAC_PI_2;

/// `numpy.linspace(0, π/2, len)[i]`: `i·((π/2)/(len−1))`, the last value exactly `π/2`, and
/// `[0]` for `len = 1`.
pub fn fade_phase(i: usize, len: usize) -> f64 {
    if len <= 1 {
        0.0
    } else if i + 1 == len {
        FRAC_PI_2
    } else {
        i as f64 * (FRAC_PI_2 / (len - 1) as f64)
    }
}

/// `(fade_out, fade_in) = (cos²t, sin²t)` at step `i` of an `len`-step fade.
pub fn fade_gains(i: usize, len: usize) -> (f64, f64) {
    let t = fade_phase(i, len);
    let (s, c) = (t.sin(), t.cos());
    (c * c, s * s)
}

/// Writes `out[..frames·channels]` with `a_tail·fade_out + b_head·fade_in` over the first
/// `frames` frames of `a_tail` and `b_head` (an `frames`-step fade).
fn mix<T: Sample>(a_tail: &[T], b_head: &[T], channels: usize, frames: usize, out: &mut [T]) {
    for j in 0..frames {
        let (fo, fi) = fade_gains(j, frames);
        for c in 0..channels {
            let k = j * channels + c;
            out[k] = T::of_f64(a_tail[k].as_f64() * fo + b_head[k].as_f64() * fi);
        }
    }
}

/// The host's `crossfade_concat(a, b, overlap)`: `L = min(overlap, len_a, len_b)` frames of `a`'s
/// end fade out while `b`'s start fades in; `a` before and `b` after are copied; `L = 0`
/// concatenates. Writes `len_a + len_b − L` frames to `out` and returns that count.
/// Real-time safe.
///
/// # Panics
/// When `channels` is 0, `a`/`b` are not whole numbers of frames, or `out` is too short.
pub fn crossfade_concat_into<T: Sample>(
    a: &[T],
    b: &[T],
    channels: usize,
    overlap: usize,
    out: &mut [T],
) -> usize {
    let (la, lb) = (a.len() / channels, b.len() / channels);
    assert!(la * channels == a.len() && lb * channels == b.len());
    let l = overlap.min(la).min(lb);
    let n = la + lb - l;
    let out = &mut out[..n * channels];
    let keep = (la - l) * channels;
    out[..keep].copy_from_slice(&a[..keep]);
    mix(&a[keep..], b, channels, l, &mut out[keep..la * channels]);
    out[la * channels..].copy_from_slice(&b[l * channels..]);
    n
}

/// One seam of the host's chunk crossfader: the staged `tail` fades out over
/// `L = min(len_tail, len_chunk)` frames while `chunk`'s head fades in, then `chunk[L..end]`
/// follows: `end` frames in all, written to `out`; returns `end`. Real-time safe.
///
/// # Panics
/// When `channels` is 0, the buffers are not whole numbers of frames, `end` exceeds the chunk
/// or is below `L`, or `out` is too short.
pub fn seam_into<T: Sample>(
    tail: &[T],
    chunk: &[T],
    channels: usize,
    end: usize,
    out: &mut [T],
) -> usize {
    let (lt, lc) = (tail.len() / channels, chunk.len() / channels);
    assert!(lt * channels == tail.len() && lc * channels == chunk.len());
    let l = lt.min(lc);
    assert!(l <= end && end <= lc);
    let out = &mut out[..end * channels];
    mix(tail, chunk, channels, l, &mut out[..l * channels]);
    out[l * channels..].copy_from_slice(&chunk[l * channels..end * channels]);
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_is_numpy_linspace() {
        assert_eq!(fade_phase(0, 1), 0.0);
        assert_eq!(fade_phase(4, 5), FRAC_PI_2);
        assert_eq!(fade_phase(1, 5), FRAC_PI_2 / 4.0);
        let (fo, fi) = fade_gains(0, 7);
        assert_eq!((fo, fi), (1.0, 0.0));
    }

    #[test]
    fn identical_material_joins_and_lengths_add_up() {
        let a: Vec<f64> = (0..20).map(|i| i as f64).collect(); // 10 frames, 2 channels
        let b: Vec<f64> = (12..32).map(|i| i as f64).collect(); // frames 6.. of the same ramp
        let mut out = vec![0.0; 40];
        let n = crossfade_concat_into(&a, &b, 2, 4, &mut out);
        assert_eq!(n, 16);
        for (i, v) in out[..32].iter().enumerate() {
            assert!((v - i as f64).abs() < 1e-12, "{i} {v}");
        }
        assert_eq!(crossfade_concat_into(&a, &b, 2, 0, &mut out), 20);
        let n = seam_into(&a[16..], &b[4..], 2, 6, &mut out);
        assert_eq!(n, 6);
        for (i, v) in out[..12].iter().enumerate() {
            assert!((v - (i + 16) as f64).abs() < 1e-12, "{i} {v}");
        }
    }
}
