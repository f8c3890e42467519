//! The standalone peak limiter against a naive f64 model of its documented algorithm: required
//! gain per frame (channels linked), minimum over the last `L + 1` frames, averaged over `L + 1`
//! frames, one-pole release on rising gain, applied to the frame leaving an `L`-frame delay.

use tonecore::dsp::limiter::LimiterSettings;
use tonecore::pipeline::{PeakLimiter, Processor};
use tonecore::ProcessError;

const SR: u32 = 48_000;

/// Direct O(frames · L) evaluation of the limiter's definition on planar `x`.
fn reference(x: &[Vec<f64>], settings: &LimiterSettings) -> Vec<Vec<f64>> {
    let frames = x[0].len();
    let l = ((settings.lookahead_ms * 1e-3 * f64::from(SR)).round() as usize).max(1);
    let ceiling = 10f64.powf(settings.ceiling_db / 20.0);
    let release = (-1.0 / (settings.release_ms * 1e-3 * f64::from(SR))).exp();
    let required: Vec<f64> = (0..frames)
        .map(|t| {
            let peak = x.iter().map(|ch| ch[t].abs()).fold(0.0, f64::max);
            if peak > ceiling {
                ceiling / peak
            } else {
                1.0
            }
        })
        .collect();
    // Frames before the start count as silence (required gain 1).
    let req = |t: isize| if t < 0 { 1.0 } else { required[t as usize] };
    let minimum = |t: isize| -> f64 { (t - l as isize..=t).map(req).fold(f64::INFINITY, f64::min) };
    let mut gain = 1.0f64;
    let mut y = vec![vec![0.0; frames]; x.len()];
    for t in 0..frames as isize {
        let average = ((t - l as isize..=t).map(minimum).sum::<f64>() / (l + 1) as f64).min(1.0);
        gain = if average <= gain {
            average
        } else {
            let g = average + (gain - average) * release;
            if average == 1.0 && 1.0 - g < 1e-6 {
                1.0
            } else {
                g
            }
        };
        let src = t - l as isize;
        for (c, ch) in x.iter().enumerate() {
            let delayed = if src < 0 { 0.0 } else { ch[src as usize] };
            y[c][t as usize] = (delayed * gain).clamp(-ceiling, ceiling);
        }
    }
    y
}

/// Bursts well above the ceiling on a quiet bed, different per channel.
fn test_signal(frames: usize) -> Vec<Vec<f64>> {
    (0..2)
        .map(|c| {
            (0..frames)
                .map(|i| {
                    let t = i as f64 / f64::from(SR);
                    let burst = if (i / 700) % 3 == c { 2.5 } else { 0.3 };
                    burst * (2.0 * std::f64::consts::PI * (200.0 + 150.0 * c as f64) * t).sin()
                })
                .collect()
        })
        .collect()
}

fn planar(x: &[Vec<f64>]) -> Vec<f64> {
    x.concat()
}

#[test]
fn matches_the_naive_definition_and_never_exceeds_the_ceiling() {
    let settings = LimiterSettings {
        ceiling_db: -3.0,
        lookahead_ms: 1.0,
        release_ms: 20.0,
        true_peak: false,
    };
    let x = test_signal(6000);
    let want = reference(&x, &settings);
    let mut lim = PeakLimiter::<f64>::new(SR, 2, &settings).unwrap();
    assert_eq!(lim.latency_frames(), 48);
    let input = planar(&x);
    let mut y = vec![0.0; input.len()];
    lim.process(&input, &mut y).unwrap();
    let ceiling = 10f64.powf(-3.0 / 20.0);
    let mut worst = 0.0f64;
    for c in 0..2 {
        for t in 0..6000 {
            let got = y[c * 6000 + t];
            assert!(got.abs() <= ceiling, "frame {t} ch {c}: {got}");
            worst = worst.max((got - want[c][t]).abs());
        }
    }
    assert!(
        worst < 1e-9,
        "largest deviation from the definition {worst}"
    );
    let stats = lim.stats();
    assert_eq!(stats.frames, 6000);
    // The deepest reduction the reference applied: 2.5 peaks to the −3 dB ceiling.
    assert!((stats.max_reduction_db - (-3.0 - 20.0 * 2.5f64.log10())).abs() < 0.2);
}

#[test]
fn below_the_ceiling_the_output_is_the_input_delayed_bit_for_bit() {
    // Sample peaks up to the ceiling; in true-peak mode samples whose 4× interpolation cannot
    // reach it (a quarter of full scale: the interpolator's L1 norm is about 2.5).
    for (true_peak, scale) in [(false, 0.89f32), (true, 0.25)] {
        below_the_ceiling(true_peak, scale);
    }
}

fn below_the_ceiling(true_peak: bool, scale: f32) {
    let settings = LimiterSettings {
        true_peak,
        ..LimiterSettings::default()
    };
    let mut lim = PeakLimiter::<f32>::new(SR, 2, &settings).unwrap();
    let l = lim.latency_frames();
    let frames = 4000;
    let x: Vec<f32> = (0..2 * frames)
        .map(|i| ((i * 7919 % 2000) as f32 / 1000.0 - 1.0) * scale)
        .collect();
    let mut y = vec![0.0f32; x.len()];
    lim.process(&x, &mut y).unwrap();
    for c in 0..2 {
        assert!(y[c * frames..c * frames + l].iter().all(|&v| v == 0.0));
        assert_eq!(
            &y[c * frames + l..(c + 1) * frames],
            &x[c * frames..(c + 1) * frames - l]
        );
    }
    assert_eq!(lim.stats().max_reduction_db, 0.0);
}

#[test]
fn block_size_and_layout_do_not_change_the_output() {
    for true_peak in [false, true] {
        block_invariance(LimiterSettings {
            ceiling_db: -6.0,
            lookahead_ms: 2.0,
            release_ms: 50.0,
            true_peak,
        });
    }
}

fn block_invariance(settings: LimiterSettings) {
    let x = test_signal(5000);
    let whole = {
        let mut lim = PeakLimiter::<f32>::new(SR, 2, &settings).unwrap();
        let input: Vec<f32> = planar(&x).iter().map(|&v| v as f32).collect();
        let mut y = vec![0.0f32; input.len()];
        lim.process(&input, &mut y).unwrap();
        y
    };
    for block in [1usize, 7, 256, 1000] {
        let mut lim = PeakLimiter::<f32>::new(SR, 2, &settings).unwrap();
        let mut got = vec![0.0f32; 2 * 5000];
        for start in (0..5000).step_by(block) {
            let end = (start + block).min(5000);
            let n = end - start;
            // Interleaved on odd blocks, planar in place on even ones.
            if (start / block) % 2 == 1 {
                let input: Vec<f32> = (start..end)
                    .flat_map(|t| [x[0][t] as f32, x[1][t] as f32])
                    .collect();
                let mut out = vec![0.0f32; 2 * n];
                lim.process_interleaved(&input, &mut out).unwrap();
                for i in 0..n {
                    got[start + i] = out[2 * i];
                    got[5000 + start + i] = out[2 * i + 1];
                }
            } else {
                let mut buf: Vec<f32> = x
                    .iter()
                    .flat_map(|ch| ch[start..end].iter().map(|&v| v as f32))
                    .collect();
                lim.process_in_place(&mut buf).unwrap();
                got[start..end].copy_from_slice(&buf[..n]);
                got[5000 + start..5000 + end].copy_from_slice(&buf[n..]);
            }
        }
        assert_eq!(got, whole, "block {block}");
    }
}

#[test]
fn reset_and_ceiling_changes() {
    // Sample peaks: the steady state sits exactly on the ceiling.
    let mut lim = PeakLimiter::<f64>::new(SR, 1, &LimiterSettings::sample_peak()).unwrap();
    let mut y = vec![0.0; 2000];
    lim.process(&vec![0.9; 2000], &mut y).unwrap();
    assert!(lim.stats().max_reduction_db < -0.08);
    lim.set_ceiling_db(-12.0).unwrap();
    lim.process(&vec![0.9; 2000], &mut y).unwrap();
    let ceiling = 10f64.powf(-12.0 / 20.0);
    assert!(y.iter().all(|v| v.abs() <= ceiling));
    assert!((y[1999] - ceiling).abs() < 1e-9);
    lim.reset();
    assert_eq!(lim.stats().frames, 0);
    assert_eq!(lim.stats().max_reduction_db, 0.0);
    // The ceiling survives a reset.
    lim.process(&vec![0.9; 2000], &mut y).unwrap();
    assert!(y.iter().all(|v| v.abs() <= ceiling));
    assert_eq!(
        lim.process(&[0.0; 3], &mut [0.0; 2]),
        Err(ProcessError::OutputTooSmall)
    );
}
