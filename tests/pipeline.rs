//! The EQ → level → limiter chain: transparency, level matching against ebur128, block-size
//! invariance, the ceiling under adversarial input, gating, thread-safe params and stats.

mod common;

use common::noise;
use std::f64::consts::PI;
use tonecore::dsp::level::{LevelMode, LevelSettings};
use tonecore::dsp::limiter::LimiterSettings;
use tonecore::dsp::loudness::{measure, LoudnessMeter};
use tonecore::pipeline::{EqSettings, Pipeline, PipelineConfig, Processor, Stage};
use tonecore::ConfigError;

const SR: u32 = 44_100;

fn run(p: &mut Pipeline<f64>, x: &[f64], channels: usize, block: usize) -> Vec<f64> {
    let len = x.len() / channels;
    let mut y = vec![0.0; x.len()];
    let mut inb = vec![0.0; block * channels];
    let mut outb = vec![0.0; block * channels];
    let mut pos = 0;
    while pos < len {
        let n = block.min(len - pos);
        for c in 0..channels {
            inb[c * n..(c + 1) * n].copy_from_slice(&x[c * len + pos..c * len + pos + n]);
        }
        p.process(&inb[..n * channels], &mut outb[..n * channels])
            .unwrap();
        for c in 0..channels {
            y[c * len + pos..c * len + pos + n].copy_from_slice(&outb[c * n..(c + 1) * n]);
        }
        pos += n;
    }
    y
}

/// Stereo noise whose level changes every `seconds`: `levels` in dB re. full-scale noise.
fn stepped_noise(levels: &[f64], seconds: f64, seed: u64) -> Vec<f64> {
    let seg = (seconds * SR as f64) as usize;
    let len = seg * levels.len();
    let raw = noise(2 * len, seed);
    let mut x = raw.clone();
    for c in 0..2 {
        for (i, v) in x[c * len..(c + 1) * len].iter_mut().enumerate() {
            *v *= 10f64.powf(levels[i / seg] / 20.0) * 0.5;
        }
    }
    x
}

/// The momentary leveller (the level stage a streaming pipeline runs on live input).
fn level(target: f64) -> LevelSettings {
    LevelSettings {
        mode: LevelMode::Momentary,
        target_lufs: target,
        ..LevelSettings::default()
    }
}

#[test]
fn all_bypassed_is_a_pure_delay() {
    let x = noise(2 * 50_000, 1);
    let mut p = Pipeline::<f64>::new(SR, 2, 1024, &PipelineConfig::default()).unwrap();
    let lat = p.latency_frames();
    // The EQ (hop + half the kernel), 1.5 ms of lookahead, the true-peak detector.
    assert_eq!(lat, 3072 + 66 + 32);
    let y = run(&mut p, &x, 2, 1000);
    for c in 0..2 {
        for i in lat..50_000 {
            assert!((y[c * 50_000 + i] - x[c * 50_000 + i - lat]).abs() < 1e-12);
        }
    }
}

/// Planar copy of frames `a..b` of a planar stereo buffer of `len` frames.
fn span(x: &[f64], len: usize, a: usize, b: usize) -> Vec<f64> {
    let mut out = x[a..b].to_vec();
    out.extend_from_slice(&x[len + a..len + b]);
    out
}

#[test]
fn matcher_loudness_tracks_ebur128_momentary_within_half_an_lu() {
    let levels = [-20.0, -6.0, -30.0, -12.0];
    let x = stepped_noise(&levels, 4.0, 2);
    let len = x.len() / 2;
    let gains: Vec<f64> = (0..25).map(|b| 2.0 * ((b % 5) as f64 - 2.0)).collect();
    let cfg = PipelineConfig {
        eq: Some(EqSettings::critical(gains.clone())),
        level: Some(level(-23.0)),
        ..PipelineConfig::default()
    };
    let mut p = Pipeline::<f64>::new(SR, 2, 4410, &cfg).unwrap();
    let params = p.params();
    // The same EQ alone gives the signal the matcher measures.
    let mut eq = tonecore::pipeline::Equalizer::<f64>::new(tonecore::pipeline::EqualizerConfig {
        gains_db: Some(gains),
        ..tonecore::pipeline::EqualizerConfig::new(SR, 2, len)
    })
    .unwrap();
    let mut eq_out = vec![0.0; x.len()];
    eq.process(&x, &mut eq_out).unwrap();
    let seg = 4 * SR as usize;
    let mut checked = 0;
    let mut pos = 0;
    let block = 4410;
    let mut out = vec![0.0; 2 * block];
    while pos < len {
        let input = span(&x, len, pos, pos + block);
        p.process(&input, &mut out).unwrap();
        pos += block;
        if pos % seg == seg * 7 / 8 / block * block {
            let est = params.stats().loudness_lufs;
            let window = span(&eq_out, len, pos - SR as usize * 2 / 5, pos);
            let mut meter = LoudnessMeter::new(2, SR).unwrap();
            meter.add(&window).unwrap();
            let reference = meter.momentary();
            assert!(
                (est - reference).abs() <= 0.5,
                "at {pos}: matcher {est:.2} LUFS vs ebur128 momentary {reference:.2}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 4);
}

#[test]
fn level_follows_the_target_and_blocks_do_not_matter() {
    let x = stepped_noise(&[-24.0, -10.0], 10.0, 3);
    let len = x.len() / 2;
    let cfg = PipelineConfig {
        level: Some(LevelSettings {
            attack_ms: 200.0,
            release_ms: 1000.0,
            ..level(-18.0)
        }),
        ..PipelineConfig::default()
    };
    let mut outputs = Vec::new();
    for block in [64usize, 256, 1024, 4410] {
        let mut p = Pipeline::<f64>::new(SR, 2, 4410, &cfg).unwrap();
        outputs.push(run(&mut p, &x, 2, block));
    }
    for o in &outputs[1..] {
        let worst = o
            .iter()
            .zip(&outputs[0])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst <= 1e-5, "block-size dependence {worst}");
    }
    // The last 4 s of each segment sit at the target.
    let y = &outputs[0];
    let seg = 10 * SR as usize;
    for k in 0..2 {
        let tail = span(y, len, (k + 1) * seg - 4 * SR as usize, (k + 1) * seg);
        let lufs = measure(&tail, 2, SR).unwrap().integrated;
        assert!((lufs + 18.0).abs() <= 0.5, "segment {k}: {lufs:.2} LUFS");
    }
}

#[test]
fn silence_is_never_boosted_and_the_start_is_not_ducked() {
    let cfg = PipelineConfig {
        level: Some(level(-10.0)),
        ..PipelineConfig::default()
    };
    let mut p = Pipeline::<f64>::new(SR, 2, 1024, &cfg).unwrap();
    let params = p.params();
    let silent = vec![0.0; 2 * 5 * SR as usize];
    let y = run(&mut p, &silent, 2, 1024);
    assert!(y.iter().all(|&v| v == 0.0));
    assert_eq!(params.stats().level_gain_db, 0.0);
    // A loud start (above the target): during the first 400 ms nothing changes.
    let mut p = Pipeline::<f64>::new(
        SR,
        2,
        1024,
        &PipelineConfig {
            level: Some(level(-30.0)),
            ..cfg
        },
    )
    .unwrap();
    let params = p.params();
    let loud = stepped_noise(&[0.0], 0.3, 4);
    run(&mut p, &loud, 2, 1024);
    assert_eq!(params.stats().level_gain_db, 0.0);
}

fn square(len: usize, period: usize, amplitude: f64) -> Vec<f64> {
    (0..len)
        .map(|i| {
            if (i / (period / 2)) % 2 == 0 {
                amplitude
            } else {
                -amplitude
            }
        })
        .collect()
}

#[test]
fn nothing_exceeds_the_ceiling_under_adversarial_input() {
    let n = 3 * SR as usize;
    let mut signals = vec![square(n, 100, 1.0), square(n, 2, 1.0), noise(n, 5)];
    let mut spikes = vec![0.0; n];
    for i in (0..n).step_by(997) {
        spikes[i] = if i % 2 == 0 { 1.0 } else { -1.0 };
    }
    signals.push(spikes);
    for ceiling_db in [-1.0, -6.0, -0.1] {
        let ceiling = 10f64.powf(ceiling_db / 20.0);
        for sig in &signals {
            let mut stereo = sig.clone();
            stereo.extend(sig.iter().map(|v| -v));
            // +24 dB of EQ boost and a level matcher asking for +12 dB.
            let cfg = PipelineConfig {
                eq: Some(EqSettings::critical(vec![24.0; 25])),
                level: Some(level(0.0)),
                limiter: Some(LimiterSettings {
                    ceiling_db,
                    ..LimiterSettings::default()
                }),
                ..PipelineConfig::default()
            };
            let mut p = Pipeline::<f64>::new(SR, 2, 512, &cfg).unwrap();
            let y = run(&mut p, &stereo, 2, 512);
            let peak = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(peak <= ceiling, "ceiling {ceiling_db} dB: peak {peak}");
            assert!(p.params().stats().limiter_max_reduction_db < -1.0);
        }
    }
}

#[test]
fn bypass_toggles_and_ceiling_changes_from_another_thread_do_not_click() {
    let n = 6 * SR as usize;
    let sine: Vec<f64> = (0..n)
        .map(|i| 0.9 * (2.0 * PI * 220.0 * i as f64 / SR as f64).sin())
        .collect();
    let mut x = sine.clone();
    x.extend_from_slice(&sine);
    let cfg = PipelineConfig {
        limiter: Some(LimiterSettings {
            ceiling_db: -6.0,
            ..LimiterSettings::default()
        }),
        ..PipelineConfig::default()
    };
    let mut p = Pipeline::<f64>::new(SR, 2, 256, &cfg).unwrap();
    let params = p.params();
    let steady = 0.9 * 2.0 * (PI * 220.0 / SR as f64).sin();
    let mut y = Vec::with_capacity(n);
    let mut out = vec![0.0; 512];
    for (b, pos) in (0..n).step_by(256).enumerate() {
        let m = 256.min(n - pos);
        if b % 200 == 100 {
            let on = (b / 200) % 2 == 0;
            params.set_bypass(Stage::Limiter, on);
            params.set_bypass(Stage::Level, !on);
        }
        let input = span(&x, n, pos, pos + m);
        p.process(&input, &mut out[..2 * m]).unwrap();
        y.extend_from_slice(&out[..m]);
    }
    let max_step = y
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f64::max);
    assert!(
        max_step <= steady * 1.01,
        "step {max_step} vs steady {steady}"
    );
}

#[test]
fn params_and_stats_from_other_threads() {
    let cfg = PipelineConfig {
        eq: Some(EqSettings::critical(vec![0.0; 25])),
        level: Some(level(-20.0)),
        limiter: Some(LimiterSettings::default()),
        ..PipelineConfig::default()
    };
    let mut p = Pipeline::<f32>::new(SR, 2, 512, &cfg).unwrap();
    let params = p.params();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let setter = params.clone();
        let stop = &stop;
        s.spawn(move || {
            for i in 0..50 {
                setter.set_eq_gains(&[(i % 7) as f64 - 3.0; 25]).unwrap();
                setter.set_level_target(-30.0 + (i % 10) as f64).unwrap();
                setter.set_ceiling_db(-1.0 - (i % 3) as f64).unwrap();
                setter.set_bypass(Stage::Level, i % 2 == 0);
            }
            setter.set_eq_gains(&[2.0; 25]).unwrap();
            stop.store(true, std::sync::atomic::Ordering::Release);
        });
        let reader = params.clone();
        s.spawn(move || {
            let mut last = 0;
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                let st = reader.stats();
                assert!(
                    st.frames >= last && st.frames % 512 == 0,
                    "frames {}",
                    st.frames
                );
                assert!(st.eq_gains_db.len() == 25);
                // One kernel's gains: all equal (every set uses one value for all bands).
                assert!(
                    st.eq_gains_db.iter().all(|&g| g == st.eq_gains_db[0]),
                    "torn gains"
                );
                last = st.frames;
            }
        });
        let x = vec![0.1f32; 1024];
        let mut y = vec![0.0f32; 1024];
        while !stop.load(std::sync::atomic::Ordering::Acquire) {
            p.process(&x, &mut y).unwrap();
        }
        for _ in 0..20 {
            p.process(&x, &mut y).unwrap();
        }
    });
    assert_eq!(params.stats().eq_gains_db, vec![2.0; 25]);
}

#[test]
fn bad_parameters_are_refused() {
    let params = Pipeline::<f32>::new(SR, 2, 256, &PipelineConfig::default())
        .unwrap()
        .params();
    for t in [f64::NAN, f64::INFINITY, 1.0, -71.0] {
        assert_eq!(params.set_level_target(t), Err(ConfigError::InvalidTarget));
    }
    for c in [f64::NAN, 0.5, -61.0, f64::NEG_INFINITY] {
        assert_eq!(params.set_ceiling_db(c), Err(ConfigError::InvalidCeiling));
    }
    assert_eq!(params.ceiling_db(), -1.0);
    assert!(params.set_eq_gains(&[0.0; 3]).is_err());
    let bad = |level: LevelSettings| {
        Pipeline::<f32>::new(
            SR,
            2,
            256,
            &PipelineConfig {
                level: Some(level),
                ..PipelineConfig::default()
            },
        )
        .err()
    };
    assert_eq!(
        bad(LevelSettings {
            attack_ms: 0.0,
            ..LevelSettings::default()
        }),
        Some(ConfigError::InvalidTime)
    );
    assert_eq!(
        bad(LevelSettings {
            release_ms: -5.0,
            ..LevelSettings::default()
        }),
        Some(ConfigError::InvalidTime)
    );
    assert_eq!(
        bad(LevelSettings {
            target_lufs: f64::NAN,
            ..LevelSettings::default()
        }),
        Some(ConfigError::InvalidTarget)
    );
    let lim = |l: LimiterSettings| {
        Pipeline::<f32>::new(
            SR,
            2,
            256,
            &PipelineConfig {
                limiter: Some(l),
                ..PipelineConfig::default()
            },
        )
        .err()
    };
    assert_eq!(
        lim(LimiterSettings {
            ceiling_db: 0.1,
            ..LimiterSettings::default()
        }),
        Some(ConfigError::InvalidCeiling)
    );
    assert_eq!(
        lim(LimiterSettings {
            lookahead_ms: 0.0,
            ..LimiterSettings::default()
        }),
        Some(ConfigError::InvalidTime)
    );
    // A silent reference has no loudness to match.
    assert!(params
        .set_level_reference(&[0.0f32; 2 * 48_000], 2)
        .is_err());
    let tone: Vec<f32> = (0..2 * 10 * SR as usize)
        .map(|i| (0.1 * (2.0 * PI * 1000.0 * i as f64 / SR as f64).sin()) as f32)
        .collect();
    let lufs = params.set_level_reference(&tone, 2).unwrap();
    assert!((lufs - params.level_target()).abs() < 1e-12 && lufs < -10.0);
}
