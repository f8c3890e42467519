//! The true-peak limiter on an adversarial corpus, measured by two independent meters: the
//! `ebur128` crate's true peak (its own 48-tap 4× interpolator) must never exceed the ceiling, and
//! a 16× windowed-sinc upsampler written here (as scipy's `resample_poly` designs one) by at most
//! 0.1 dB. Also
//! the loudness meter's true peak against `ebur128`'s and the EBU Tech 3341 true-peak cases.

mod common;

use ebur128::{EbuR128, Mode};
use std::f64::consts::PI;
use tonecore::dsp::limiter::LimiterSettings;
use tonecore::dsp::loudness::measure;
use tonecore::pipeline::{EqSettings, PeakLimiter, Pipeline, PipelineConfig, Processor};

fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > 1e-18 * sum {
        term *= (x / (2.0 * k)).powi(2);
        sum += term;
        k += 1.0;
    }
    sum
}

/// Largest magnitude of `x` upsampled 16× by a Kaiser-windowed sinc designed as scipy's
/// `resample_poly` designs its default (β = 5, 10 input samples on each side, cutoff at the
/// input's Nyquist frequency), evaluated directly in f64 at every one of the 16 positions.
fn true_peak_16x(x: &[f64]) -> f64 {
    const UP: usize = 16;
    const HALF: i64 = 10; // input samples on each side
    let beta = 5.0;
    let i0b = bessel_i0(beta);
    let mut taps = vec![[0.0f64; 2 * HALF as usize]; UP];
    for (p, t) in taps.iter_mut().enumerate() {
        for (j, v) in t.iter_mut().enumerate() {
            // Position p/16 after sample m; tap j is sample m - HALF + 1 + j.
            let d = (HALF - 1 - j as i64) as f64 + p as f64 / UP as f64;
            let sinc = if d == 0.0 {
                1.0
            } else {
                (PI * d).sin() / (PI * d)
            };
            let r = d / HALF as f64;
            let w = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0b;
            *v = sinc * w;
        }
    }
    let n = x.len() as i64;
    let mut peak = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for m in 0..n {
        for t in taps.iter().skip(1) {
            let mut s = 0.0;
            for (j, h) in t.iter().enumerate() {
                let i = m - HALF + 1 + j as i64;
                if (0..n).contains(&i) {
                    s += h * x[i as usize];
                }
            }
            peak = peak.max(s.abs());
        }
    }
    peak
}

/// ebur128's true peak of planar `x` (max over channels, linear).
fn ebur128_true_peak(x: &[Vec<f64>], rate: u32) -> f64 {
    let mut m = EbuR128::new(x.len() as u32, rate, Mode::TRUE_PEAK).unwrap();
    let planes: Vec<&[f64]> = x.iter().map(|c| c.as_slice()).collect();
    m.add_frames_planar_f64(&planes).unwrap();
    (0..x.len() as u32)
        .map(|c| m.true_peak(c).unwrap())
        .fold(0.0, f64::max)
}

fn db(v: f64) -> f64 {
    20.0 * v.log10()
}

fn sine(frames: usize, rate: u32, f: f64, phase: f64, amp: f64) -> Vec<f64> {
    (0..frames)
        .map(|i| amp * (2.0 * PI * f * i as f64 / rate as f64 + phase).sin())
        .collect()
}

/// The corpus: (name, planar stereo signal).
fn corpus(rate: u32) -> Vec<(String, Vec<Vec<f64>>)> {
    let n = rate as usize; // 1 s
    let fs = rate as f64;
    let noise = |seed| common::noise(n, seed);
    let mut out: Vec<(String, Vec<Vec<f64>>)> = Vec::new();
    let square = |f: f64, amp: f64| -> Vec<f64> {
        (0..n)
            .map(|i| {
                if ((i as f64 * f / fs) % 1.0) < 0.5 {
                    amp
                } else {
                    -amp
                }
            })
            .collect()
    };
    out.push(("square 1 kHz 0 dBFS".into(), vec![square(1000.0, 1.0); 2]));
    out.push(("square 3.1 kHz +6 dB".into(), vec![square(3100.0, 2.0); 2]));
    for amp in [1.0, 4.0] {
        out.push((
            format!("fs/4 at 45° x{amp}"),
            vec![sine(n, rate, fs / 4.0, PI / 4.0, amp); 2],
        ));
        out.push((
            format!("0.45 fs at 45° x{amp}"),
            vec![
                sine(n, rate, 0.45 * fs, PI / 4.0, amp),
                sine(n, rate, 0.45 * fs, 0.0, amp),
            ],
        ));
        out.push((
            format!("fs/6 at 30° x{amp}"),
            vec![sine(n, rate, fs / 6.0, PI / 6.0, amp); 2],
        ));
    }
    let mut spikes = vec![vec![0.0; n]; 2];
    for k in 0..20 {
        let i = 1000 + k * 2011;
        spikes[k % 2][i] = if k % 3 == 0 { 8.0 } else { -3.0 };
        spikes[1 - k % 2][i + 1] = 2.0;
    }
    out.push(("single-sample spikes".into(), spikes));
    // A clipped master: loud noise-driven music-like signal hard-clipped at ±1.
    let clipped: Vec<Vec<f64>> = (0..2)
        .map(|c| {
            let nz = noise(10 + c);
            (0..n)
                .map(|i| {
                    let t = i as f64 / fs;
                    let v = 0.9 * (2.0 * PI * 55.0 * t).sin()
                        + 0.5 * (2.0 * PI * 440.0 * t).sin()
                        + 0.8 * nz[i];
                    v.clamp(-1.0, 1.0)
                })
                .collect()
        })
        .collect();
    out.push(("clipped master".into(), clipped));
    out.push((
        "white noise +6 dB".into(),
        vec![
            noise(3).iter().map(|v| 2.0 * v).collect(),
            noise(4).iter().map(|v| 2.0 * v).collect(),
        ],
    ));
    out
}

fn limit(x: &[Vec<f64>], rate: u32, settings: &LimiterSettings, block: usize) -> Vec<Vec<f64>> {
    let frames = x[0].len();
    let mut lim = PeakLimiter::<f64>::new(rate, x.len(), settings).unwrap();
    let lat = lim.latency_frames();
    // Flush the lookahead with silence so the whole signal comes out.
    let total = frames + lat;
    let mut planar = vec![0.0; x.len() * total];
    for (c, ch) in x.iter().enumerate() {
        planar[c * total..c * total + frames].copy_from_slice(ch);
    }
    let mut y = vec![0.0; planar.len()];
    let mut pos = 0;
    // Feed in blocks (planar per block).
    while pos < total {
        let n = block.min(total - pos);
        let mut inb = vec![0.0; x.len() * n];
        for c in 0..x.len() {
            inb[c * n..(c + 1) * n].copy_from_slice(&planar[c * total + pos..c * total + pos + n]);
        }
        let mut outb = vec![0.0; inb.len()];
        lim.process(&inb, &mut outb).unwrap();
        for c in 0..x.len() {
            y[c * total + pos..c * total + pos + n].copy_from_slice(&outb[c * n..(c + 1) * n]);
        }
        pos += n;
    }
    (0..x.len())
        .map(|c| y[c * total + lat..(c + 1) * total].to_vec())
        .collect()
}

#[test]
fn the_true_peak_limiter_keeps_every_corpus_signal_under_the_ceiling() {
    for rate in [44_100u32, 48_000] {
        for (name, x) in corpus(rate) {
            for ceiling_db in [-1.0, -0.1] {
                let settings = LimiterSettings {
                    ceiling_db,
                    ..LimiterSettings::default()
                };
                let y = limit(&x, rate, &settings, 512);
                let tp_ebu = db(ebur128_true_peak(&y, rate));
                let tp_16 = y.iter().map(|c| true_peak_16x(c)).fold(0.0, f64::max);
                assert!(
                    tp_ebu <= ceiling_db + 1e-6,
                    "{name} at {rate} Hz, ceiling {ceiling_db}: ebur128 reads {tp_ebu:.4} dBTP"
                );
                assert!(
                    db(tp_16) <= ceiling_db + 0.1,
                    "{name} at {rate} Hz, ceiling {ceiling_db}: 16x reads {:.4} dBTP",
                    db(tp_16)
                );
            }
        }
    }
}

#[test]
fn a_sample_peak_limiter_lets_intersample_peaks_through_which_true_peak_mode_stops() {
    // The reason for the mode: fs/4 at 45° has samples at 0.707 of its true peak.
    let rate = 48_000;
    let x = vec![sine(rate as usize, rate, 12_000.0, PI / 4.0, 1.2); 2];
    let sample = LimiterSettings {
        true_peak: false,
        ..LimiterSettings::default()
    };
    let y = limit(&x, rate, &sample, 256);
    assert!(db(ebur128_true_peak(&y, rate)) > 0.0);
    let y = limit(&x, rate, &LimiterSettings::default(), 256);
    let tp = db(ebur128_true_peak(&y, rate));
    assert!(tp <= -1.0 + 1e-6, "{tp}");
}

/// The true peak (dBTP by ebur128, by the 16× upsampler) of 2 s of stereo noise with two bands
/// boosted 24 dB through a pipeline built from `config` in `block`-frame blocks.
fn boosted_noise_true_peak(config: PipelineConfig, rate: u32, block: usize) -> (f64, f64) {
    let frames = 2 * rate as usize;
    let x: Vec<f32> = (0..2)
        .flat_map(|c| {
            common::noise(frames, 40 + c)
                .into_iter()
                .map(|v| (0.5 * v) as f32)
        })
        .collect();
    let mut gains = vec![0.0; 25];
    gains[3] = 24.0;
    gains[20] = 24.0;
    let config = PipelineConfig {
        eq: Some(EqSettings::critical(gains)),
        limiter: Some(LimiterSettings::default()),
        ..config
    };
    let mut p = Pipeline::<f32>::new(rate, 2, block, &config).unwrap();
    let lat = p.latency_frames();
    let total = frames + lat;
    let mut y = vec![vec![0.0f64; total]; 2];
    let mut pos = 0;
    while pos < total {
        let n = block.min(total - pos);
        let mut inb = vec![0.0f32; 2 * n];
        for c in 0..2 {
            for i in 0..n {
                if pos + i < frames {
                    inb[c * n + i] = x[c * frames + pos + i];
                }
            }
        }
        let mut outb = vec![0.0f32; 2 * n];
        p.process(&inb, &mut outb).unwrap();
        for c in 0..2 {
            for i in 0..n {
                y[c][pos + i] = f64::from(outb[c * n + i]);
            }
        }
        pos += n;
    }
    let tp16 = y.iter().map(|c| true_peak_16x(c)).fold(0.0, f64::max);
    (db(ebur128_true_peak(&y, rate)), db(tp16))
}

#[test]
fn a_24_db_eq_boost_through_the_pipeline_stays_under_the_ceiling() {
    let (tp, tp16) = boosted_noise_true_peak(PipelineConfig::default(), 44_100, 1024);
    assert!(tp <= -1.0 + 1e-6, "{tp}");
    assert!(tp16 <= -1.0 + 0.1, "{tp16}");
}

#[test]
fn the_low_latency_chain_at_64_frame_blocks_stays_under_the_ceiling() {
    // Minimum-phase partitioned EQ, true-peak limiter with its 1.5 ms lookahead.
    let config = PipelineConfig::default().low_latency(64);
    let (tp, tp16) = boosted_noise_true_peak(config, 48_000, 64);
    assert!(tp <= -1.0 + 1e-6, "{tp}");
    assert!(tp16 <= -1.0 + 0.1, "{tp16}");
}

#[test]
fn the_meter_true_peak_agrees_with_ebur128_on_music_like_signals() {
    // Music-like: tones plus noise low-passed at 0.4·fs by a 63-tap windowed sinc (music has
    // little above 18 kHz; on white noise the two interpolators differ by design, see the doc of
    // tonecore's `truepeak` module).
    let rate = 48_000;
    let n = 3 * rate as usize;
    let lp: Vec<f64> = (0..63)
        .map(|j| {
            let d = j as f64 - 31.0;
            let s = if d == 0.0 {
                0.8
            } else {
                (PI * 0.8 * d).sin() / (PI * d)
            };
            s * (0.54 - 0.46 * (2.0 * PI * j as f64 / 62.0).cos())
        })
        .collect();
    for seed in 0..4u64 {
        let white = common::noise(n + 63, 100 + seed);
        let nz: Vec<f64> = (0..n)
            .map(|i| (0..63).map(|j| lp[j] * white[i + j]).sum())
            .collect();
        let x: Vec<f64> = (0..n)
            .map(|i| {
                let t = i as f64 / rate as f64;
                0.4 * (2.0 * PI * (80.0 + 20.0 * seed as f64) * t).sin()
                    + 0.2 * (2.0 * PI * 1234.0 * t).sin() * (2.0 * PI * 2.0 * t).sin()
                    + 0.25 * nz[i]
            })
            .collect();
        let ours = measure(&x, 1, rate).unwrap().true_peak;
        let theirs = db(ebur128_true_peak(std::slice::from_ref(&x), rate));
        assert!((ours - theirs).abs() < 0.05, "{seed}: {ours} vs {theirs}");
    }
}

#[test]
fn the_meter_passes_the_ebu_tech_3341_true_peak_cases() {
    // Tech 3341 (2016) cases 15–19: 48 kHz sines whose expected true peak is given, tolerance
    // +0.2 / −0.4 dB. Case 15: 0.5 of full scale at fs/4 with a 0° phase (−6.0 dBTP); case 16:
    // fs/4, 45° (−6.0); case 17: fs/6, 60° (−6.0); case 18: fs/8, 67.5° (−6.0); case 19: 1.0 of
    // full scale at fs/4, 45° (+3.0 dBTP, samples at 0 dBFS... scaled here to the 0.5·√2 form).
    let rate = 48_000;
    let n = rate as usize;
    let cases = [
        (12_000.0, 0.0, 0.5, -6.02),
        (12_000.0, 45.0, 0.5, -6.02),
        (8_000.0, 60.0, 0.5, -6.02),
        (6_000.0, 67.5, 0.5, -6.02),
        (12_000.0, 45.0, 1.41, 2.98),
    ];
    for (f, deg, amp, want) in cases {
        let x = sine(n, rate, f, deg * PI / 180.0, amp);
        let got = measure(&x, 1, rate).unwrap().true_peak;
        assert!(
            got <= want + 0.2 && got >= want - 0.4,
            "{f} Hz {deg}°: {got} dBTP, expected {want}"
        );
    }
}
