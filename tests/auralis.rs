//! The Auralis compatibility kernels against naive f64 references of the host's formulas
//! (O(N²) DFTs, the adaptive EQ loop written out plainly), independent of the library's code.

mod common;

use common::noise;
use std::f64::consts::PI;
use tonecore::auralis::adaptive::Analysis;
use tonecore::auralis::frame_eq::{linear_gains, step_curve, FrameEq};
use tonecore::auralis::level::{safety_limit, GainSmoother, RealtimeLevelMatcher};
use tonecore::auralis::parallel::{
    eq_process_buffer, frame_count, stft_bins_major, windowed_fft, AdaptiveEqConfig,
};
use tonecore::auralis::seam::{crossfade_concat_into, seam_into};
use tonecore::dsp::Complex;

type C = Complex<f64>;

/// Naive full complex DFT (inverse without the 1/N).
fn dft(x: &[C], inverse: bool) -> Vec<C> {
    let n = x.len();
    let sign = if inverse { 1.0 } else { -1.0 };
    (0..n)
        .map(|k| {
            x.iter().enumerate().fold(C::new(0.0, 0.0), |acc, (i, &v)| {
                let phase = sign * 2.0 * PI * ((k * i) % n) as f64 / n as f64;
                acc + v * C::new(phase.cos(), phase.sin())
            })
        })
        .collect()
}

fn real(x: &[f64]) -> Vec<C> {
    x.iter().map(|&v| C::new(v, 0.0)).collect()
}

/// numpy.hanning(n), written out.
fn hanning(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 + 0.5 * (PI * (2.0 * i as f64 + 1.0 - n as f64) / (n as f64 - 1.0)).cos())
        .collect()
}

/// The host's frame EQ of one channel: full DFT, bins k and N − k times curve[k], real part of
/// the inverse.
fn ref_frame_eq(x: &[f64], curve: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut spec = dft(&real(x), false);
    for k in 0..=n / 2 {
        spec[k] *= curve[k];
        if k > 0 && k < n / 2 {
            spec[n - k] *= curve[k];
        }
    }
    dft(&spec, true).iter().map(|v| v.re / n as f64).collect()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn eq(n: usize) -> FrameEq {
    let mut p = realfft::RealFftPlanner::<f64>::new();
    FrameEq::new(p.plan_fft_forward(n), p.plan_fft_inverse(n)).unwrap()
}

#[test]
fn frame_eq_is_the_circular_filter_of_the_host() {
    let n = 64;
    let map: Vec<i64> = (0..=n as i64 / 2).map(|k| (k * 7) % 9 - 1).collect();
    let gains = [3.0, -6.0, 12.0, 0.5, -24.0, 1.0];
    let mut linear = [0.0; 6];
    linear_gains(&gains, &mut linear);
    let mut curve = vec![0.0; n / 2 + 1];
    step_curve(&linear, &map, &mut curve);
    for (k, &m) in map.iter().enumerate() {
        let want = if (0..6).contains(&m) {
            10f64.powf(gains[m as usize] / 20.0)
        } else {
            1.0
        };
        assert!((curve[k] - want).abs() <= 1e-15 * want, "bin {k}");
    }
    // A stereo frame shorter than N: each channel zero-padded, filtered, sliced back.
    let frames = 50;
    let x = noise(2 * frames, 8);
    let mut y = vec![0.0; 2 * frames];
    eq(n).apply(&x, 2, &curve, &mut y);
    for c in 0..2 {
        let mut ch: Vec<f64> = (0..frames).map(|i| x[2 * i + c]).collect();
        ch.resize(n, 0.0);
        let want = ref_frame_eq(&ch, &curve);
        let got: Vec<f64> = (0..frames).map(|i| y[2 * i + c]).collect();
        assert!(max_abs_diff(&got, &want[..frames]) < 1e-12);
    }
    // float32 in and out, computed in double.
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let mut y32 = vec![0.0f32; 2 * frames];
    eq(n).apply(&x32, 2, &curve, &mut y32);
    let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (a, b) in y32.iter().zip(&y) {
        assert!((*a as f64 - b).abs() < 1e-6 * scale);
    }
}

#[test]
fn windowed_fft_and_stft_match_naive_dfts() {
    for (n, hop, len) in [
        (64usize, 32usize, 300usize),
        (63, 20, 200),
        (32, 40, 150),
        (64, 32, 40),
    ] {
        let x = noise(len, n as u64);
        let w: Vec<f64> = (0..n).map(|i| 0.3 + (i as f64 * 0.1).sin().abs()).collect();
        let frames = frame_count(len, n, hop);
        assert_eq!(frames, if len < n { 1 } else { 1 + (len - n) / hop });
        let mut full = vec![C::new(0.0, 0.0); frames * n];
        let mut st = vec![C::new(0.0, 0.0); frames * (n / 2 + 1)];
        for window in [None, Some(&w[..])] {
            let wv = window.map_or_else(|| hanning(n), <[f64]>::to_vec);
            assert_eq!(
                windowed_fft(&x, n, hop, window, 0, &mut full).unwrap(),
                frames
            );
            assert_eq!(
                stft_bins_major(&x, n, hop, window, 2, &mut st).unwrap(),
                frames
            );
            for k in 0..frames {
                let frame: Vec<f64> = (0..n)
                    .map(|i| x.get(k * hop + i).map_or(0.0, |v| v * wv[i]))
                    .collect();
                let want = dft(&real(&frame), false);
                let scale = want.iter().fold(0.0f64, |m, v| m.max(v.norm()));
                for j in 0..n {
                    assert!(
                        (full[k * n + j] - want[j]).norm() < 1e-12 * scale,
                        "{n} {k} {j}"
                    );
                }
                for b in 0..=n / 2 {
                    assert!((st[b * frames + k] - want[b]).norm() < 1e-12 * scale);
                }
            }
        }
    }
}

/// The 26 critical-band edges with the first one at `first`.
fn edges(first: f64) -> Vec<f64> {
    let mut e = vec![first];
    e.extend([
        100.0, 200.0, 300.0, 400.0, 510.0, 630.0, 770.0, 920.0, 1080.0, 1270.0, 1480.0, 1720.0,
        2000.0, 2320.0, 2700.0, 3150.0, 3700.0, 4400.0, 5300.0, 6400.0, 7700.0, 9500.0, 12000.0,
        15500.0, 20000.0,
    ]);
    e
}

/// The host's adaptive overlap-add EQ written out frame by frame with naive DFTs.
/// (Only the plain settings of `cfg` are read: sample rate, N, speed, first edge, and the
/// analysis version: today the windowed frame divided by the window's mean, before host changes
/// #3428/#4101 the raw windowed frame with +6.02 dB on the band energies.)
fn ref_adaptive(
    x: &[f64],
    ch: usize,
    target: &[f64],
    gains: &mut [f64],
    cfg: &AdaptiveEqConfig,
) -> Vec<f64> {
    let (sr, n, speed, first) = (
        cfg.sample_rate,
        cfg.fft_size,
        cfg.adaptation_speed,
        cfg.first_edge_hz,
    );
    let e = edges(first);
    let nb = 25;
    let bins = n / 2 + 1;
    let nyq = (sr / 2) as f64;
    let band_of = |k: usize| {
        let f = if k == n / 2 {
            nyq
        } else {
            k as f64 * (nyq / (n / 2) as f64)
        };
        let right = e.iter().filter(|&&v| v <= f).count();
        right.saturating_sub(1).min(nb - 1)
    };
    let weight = |c: f64| {
        if (1000.0..=4000.0).contains(&c) {
            1.0
        } else if (300.0..=8000.0).contains(&c) {
            0.8
        } else if (100.0..=300.0).contains(&c) || (8000.0..=16000.0).contains(&c) {
            0.6
        } else {
            0.3
        }
    };
    let w = hanning(n);
    let (divisor, offset) = match cfg.analysis {
        Analysis::Current => (w.iter().sum::<f64>() / n as f64, 0.0),
        Analysis::Pre3428And4101 => (1.0, 6.02),
    };
    let hop = n / 2;
    let len = x.len() / ch;
    let mut out = vec![0.0; x.len()];
    let mut wn = vec![0.0; len];
    let mut k = 0;
    while k * hop < len {
        let s = k * hop;
        let sample = |p: usize, c: usize| if p < len { x[p * ch + c] } else { 0.0 };
        let mono: Vec<f64> = (0..n)
            .map(|i| {
                let m = if ch == 1 {
                    sample(s + i, 0)
                } else {
                    (0..ch).map(|c| sample(s + i, c)).sum::<f64>() / ch as f64
                };
                m * w[i] / divisor
            })
            .collect();
        let mag: Vec<f64> = dft(&real(&mono), false)[..bins]
            .iter()
            .map(|v| v.norm())
            .collect();
        for b in 0..nb {
            let in_band: Vec<f64> = (0..bins)
                .filter(|&k| band_of(k) == b)
                .map(|k| 20.0 * (mag[k] + 1e-10).log10() + offset)
                .collect();
            let energy = if in_band.is_empty() {
                0.0
            } else {
                in_band.iter().sum::<f64>() / in_band.len() as f64
            };
            let lo = (e[b] * bins as f64 * 2.0 / sr as f64) as usize;
            let hi = ((e[b + 1] * bins as f64 * 2.0 / sr as f64) as usize).min(bins);
            let threshold = if hi > lo {
                let peak = mag[lo..hi].iter().fold(0.0f64, |m, &v| m.max(v));
                (20.0 * (peak + 1e-10).log10() - 20.0).max(-80.0)
            } else {
                -60.0
            };
            let mut g = target.get(b).copied().unwrap_or(0.0);
            if energy < threshold {
                g *= 0.5;
            }
            let g = (g * weight((e[b] * e[b + 1]).sqrt())).clamp(-12.0, 12.0);
            gains[b] += (g - gains[b]) * speed;
        }
        let curve: Vec<f64> = (0..bins)
            .map(|k| 10f64.powf(gains[band_of(k)] / 20.0))
            .collect();
        for c in 0..ch {
            let frame: Vec<f64> = (0..n).map(|i| sample(s + i, c)).collect();
            let y = ref_frame_eq(&frame, &curve);
            for i in 0..n.min(len - s) {
                out[(s + i) * ch + c] += y[i] * w[i];
            }
        }
        for i in 0..n.min(len - s) {
            wn[s + i] += w[i];
        }
        k += 1;
    }
    for (p, row) in out.chunks_exact_mut(ch).enumerate() {
        for v in row {
            *v /= wn[p].max(1e-8);
        }
    }
    out
}

#[test]
fn adaptive_eq_matches_the_loop_written_out() {
    let (n, sr) = (128usize, 44_100u32);
    let target: Vec<f64> = (0..25).map(|b| ((b * 37) % 19) as f64 - 9.0).collect();
    for (ch, len, first, speed, threads, analysis) in [
        (2usize, 1000usize, 20.0, 0.8, 0usize, Analysis::Current),
        (1, 777, 0.0, 0.3, 1, Analysis::Current),
        (3, 64, 20.0, 1.0, 2, Analysis::Current),
        (2, 1000, 20.0, 0.8, 0, Analysis::Pre3428And4101),
        (1, 777, 0.0, 0.3, 1, Analysis::Pre3428And4101),
    ] {
        let x = noise(ch * len, len as u64);
        let mut g_ref: Vec<f64> = (0..25).map(|b| b as f64 * 0.1).collect();
        let mut g = g_ref.clone();
        let cfg = AdaptiveEqConfig {
            sample_rate: sr,
            fft_size: n,
            adaptation_speed: speed,
            first_edge_hz: first,
            threads,
            analysis,
            content_profile: None,
        };
        let want = ref_adaptive(&x, ch, &target[..20], &mut g_ref, &cfg);
        let mut y = vec![0.0; x.len()];
        eq_process_buffer(&x, ch, &target[..20], &mut g, &cfg, &mut y).unwrap();
        assert!(
            max_abs_diff(&y, &want) < 1e-9,
            "{}",
            max_abs_diff(&y, &want)
        );
        assert!(max_abs_diff(&g, &g_ref) < 1e-9);
    }
}

#[test]
fn zero_target_and_state_give_the_input_back_except_sample_zero() {
    let x = noise(2 * 10_000, 3);
    let mut y = vec![0.0; x.len()];
    let mut g = [0.0; 25];
    eq_process_buffer(
        &x,
        2,
        &[0.0; 25],
        &mut g,
        &AdaptiveEqConfig::default(),
        &mut y,
    )
    .unwrap();
    assert_eq!(&y[..2], &[0.0, 0.0]);
    assert!(max_abs_diff(&y[2..], &x[2..]) < 1e-9);
    assert_eq!(g, [0.0; 25]);
}

#[test]
fn crossfades_and_seams_follow_the_linspace_formula() {
    let a = noise(2 * 40, 1);
    let b = noise(2 * 30, 2);
    for overlap in [0usize, 1, 7, 30, 100] {
        let l = overlap.min(30);
        let mut out = vec![0.0; 140];
        let frames = crossfade_concat_into(&a, &b, 2, overlap, &mut out);
        assert_eq!(frames, 70 - l);
        for j in 0..frames {
            for c in 0..2 {
                let want = if j < 40 - l {
                    a[2 * j + c]
                } else if j < 40 {
                    let i = j - (40 - l);
                    let t = if l == 1 {
                        0.0
                    } else {
                        i as f64 * (PI / 2.0) / (l - 1) as f64
                    };
                    a[2 * j + c] * t.cos().powi(2) + b[2 * i + c] * t.sin().powi(2)
                } else {
                    b[2 * (j - 40 + l) + c]
                };
                assert!((out[2 * j + c] - want).abs() < 1e-14);
            }
        }
    }
    // A seam: the tail fades out over min(tail, chunk) frames, then the body up to `end`.
    let mut out = vec![0.0; 60];
    assert_eq!(seam_into(&a[..20], &b, 2, 25, &mut out), 25);
    for j in 0..25 {
        let t = if j < 10 {
            j as f64 * (PI / 2.0) / 9.0
        } else {
            0.0
        };
        let want = if j < 10 {
            a[2 * j] * t.cos().powi(2) + b[2 * j] * t.sin().powi(2)
        } else {
            b[2 * j]
        };
        assert!((out[2 * j] - want).abs() < 1e-14);
    }
}

#[test]
fn smoother_matcher_and_limit_follow_the_host_formulas() {
    let mut s = GainSmoother::new(0.01, 0.001);
    s.set_target(4.0);
    let mut r = vec![0.0f32; 300];
    s.process(&mut r);
    for (j, &v) in r.iter().enumerate() {
        let want = 4.0 + (1.0 - 4.0) * 0.99f64.powi(j as i32 + 1);
        assert!((v as f64 - want).abs() <= 4.0 * f32::EPSILON as f64);
    }
    // The matcher: target RMS smoothing, gain = target / rms, the float ramp, then the peak.
    let mut m = RealtimeLevelMatcher::default();
    let reference = noise(5000, 9);
    m.set_reference(&reference);
    let ref_rms = (reference.iter().map(|v| v * v).sum::<f64>() / 5000.0).sqrt();
    let x: Vec<f64> = noise(2 * 256, 10).iter().map(|v| v * 0.01).collect();
    let rms = (x.iter().map(|v| v * v).sum::<f64>() / 512.0).sqrt();
    let mut y = vec![0.0; 512];
    assert!(m.process(&x, 2, &mut y));
    let t = ref_rms * 0.01;
    let gain = (t / rms).clamp(0.0, 10.0);
    let mut want: Vec<f64> = (0..512)
        .map(|i| {
            let g = gain
                + (1.0 - gain)
                    * (1.0f64 - if gain > 1.0 { 0.02 } else { 0.005 }).powf((i / 2 + 1) as f64);
            x[i] * (g as f32) as f64
        })
        .collect();
    let peak = want.iter().fold(0.0f64, |p, v| p.max(v.abs()));
    if peak > 0.95 {
        want.iter_mut().for_each(|v| *v *= 0.95 / peak);
    }
    assert!(max_abs_diff(&y, &want) < 1e-12);
    assert!((m.current_target_rms - t).abs() < 1e-15);
    let mut z = vec![0.0; 4];
    safety_limit(&[0.5, -2.0, 1.0, 0.0], 0.95, &mut z);
    assert_eq!(z, vec![0.5 * 0.475, -0.95, 0.475, 0.0]);
}
