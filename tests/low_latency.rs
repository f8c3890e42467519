//! The low-latency mode (minimum-phase EQ on the partitioned engine) against independent
//! references: an impulse's response measured by a direct f64 DTFT at every band centre, its
//! onset at exactly `latency_frames`, block-size invariance, the whole chain's latency, and the
//! momentary leveller's loudness by the `ebur128` crate.

mod common;

use ebur128::{EbuR128, Mode};
use realfft::RealFftPlanner;
use std::f64::consts::PI;
use tonecore::dsp::bands::{BandLayout, CurveMode};
use tonecore::dsp::fir::FirDesigner;
use tonecore::dsp::level::{LevelMode, LevelSettings};
use tonecore::dsp::limiter::LimiterSettings;
use tonecore::pipeline::{
    EqSettings, Equalizer, EqualizerConfig, Phase, Pipeline, PipelineConfig, Processor,
};

const RATE: u32 = 48_000;

fn gains() -> Vec<f64> {
    (0..25).map(|b| ((b * 7) % 13) as f64 - 6.0).collect()
}

/// Runs mono/stereo planar `x` (`channels × frames`) through `stage` in `block`-frame calls.
fn run<P: Processor<f64>>(stage: &mut P, x: &[f64], channels: usize, block: usize) -> Vec<f64> {
    let frames = x.len() / channels;
    let mut y = vec![0.0; x.len()];
    let (mut xb, mut yb) = (vec![0.0; channels * block], vec![0.0; channels * block]);
    let mut pos = 0;
    while pos < frames {
        let n = block.min(frames - pos);
        for c in 0..channels {
            xb[c * n..(c + 1) * n].copy_from_slice(&x[c * frames + pos..c * frames + pos + n]);
        }
        stage
            .process(&xb[..channels * n], &mut yb[..channels * n])
            .unwrap();
        for c in 0..channels {
            y[c * frames + pos..c * frames + pos + n].copy_from_slice(&yb[c * n..(c + 1) * n]);
        }
        pos += n;
    }
    y
}

/// |H(f)| in dB of the causal response `h` by a direct f64 DTFT.
fn magnitude_db(h: &[f64], f: f64) -> f64 {
    let w = 2.0 * PI * f / RATE as f64;
    let (re, im) = h.iter().enumerate().fold((0.0, 0.0), |(re, im), (n, &v)| {
        (re + v * (w * n as f64).cos(), im - v * (w * n as f64).sin())
    });
    10.0 * (re * re + im * im).log10()
}

#[test]
fn the_minimum_phase_eq_at_64_frame_blocks_keeps_every_band_and_starts_at_its_latency() {
    let config = EqualizerConfig {
        gains_db: Some(gains()),
        ..EqualizerConfig::new(RATE, 1, 64).low_latency()
    };
    assert_eq!((config.phase, config.partition), (Phase::Minimum, 64));
    let mut eq = Equalizer::<f64>::new(config).unwrap();
    let latency = eq.latency_frames();
    assert_eq!(latency, 64, "one block");
    let len = 8192;
    let mut x = vec![0.0; len];
    x[0] = 1.0;
    let y = run(&mut eq, &x, 1, 64);
    // Nothing before the latency; the response starts there.
    assert!(y[..latency].iter().all(|&v| v == 0.0));
    assert!(y[latency].abs() > 1e-3, "first tap {}", y[latency]);
    let h = &y[latency..];
    // Minimum phase: the energy arrives first (half of it within 2 ms).
    let total: f64 = h.iter().map(|v| v * v).sum();
    let early: f64 = h[..96].iter().map(|v| v * v).sum();
    assert!(early > 0.5 * total, "{early} of {total}");
    // Every resolvable band centre within 0.1 dB of its gain (the linear-phase guarantee).
    let mut planner = RealFftPlanner::<f64>::new();
    let designer = FirDesigner::new(
        BandLayout::critical(),
        RATE,
        4096,
        CurveMode::Smooth,
        planner.plan_fft_inverse(4096),
        planner.plan_fft_forward(4096),
    )
    .unwrap();
    let centres = BandLayout::critical().centers();
    let mut checked = 0;
    for (b, (&f, &ok)) in centres.iter().zip(designer.resolvable_bands()).enumerate() {
        if !ok {
            continue;
        }
        let got = magnitude_db(h, f);
        assert!(
            (got - gains()[b]).abs() < 0.1,
            "band {b} at {f:.0} Hz: {got:.3} dB, want {}",
            gains()[b]
        );
        checked += 1;
    }
    assert!(checked >= 20, "{checked} bands resolvable");
}

#[test]
fn the_partitioned_eq_output_does_not_depend_on_the_host_block() {
    // Partition 64 for blocks of up to 1000 frames; the input is noise with corrupt samples.
    let mut x: Vec<f64> = [common::noise(20_000, 1), common::noise(20_000, 2)].concat();
    x[777] = f64::NAN;
    let mut first: Option<Vec<f64>> = None;
    for block in [1usize, 7, 64, 256, 1000] {
        for phase in [Phase::Minimum, Phase::Linear] {
            let mut eq = Equalizer::<f64>::new(EqualizerConfig {
                gains_db: Some(gains()),
                phase,
                partition: 64,
                ..EqualizerConfig::new(RATE, 2, 1000)
            })
            .unwrap();
            let want_latency = if phase == Phase::Minimum {
                64
            } else {
                64 + 1024
            };
            assert_eq!(eq.latency_frames(), want_latency);
            let y = run(&mut eq, &x, 2, block);
            assert!(y.iter().all(|v| v.is_finite()));
            if phase == Phase::Minimum {
                match &first {
                    None => first = Some(y),
                    Some(f) => assert!(f == &y, "block {block} changes the output"),
                }
            }
        }
    }
}

#[test]
fn linear_phase_partitioned_and_overlap_save_agree_after_their_latencies() {
    // The same linear-phase kernel on both engines: outputs equal up to the latency difference.
    let x = common::noise(30_000, 5);
    let mut outs = Vec::new();
    for partition in [0usize, 128] {
        let mut eq = Equalizer::<f64>::new(EqualizerConfig {
            gains_db: Some(gains()),
            partition,
            ..EqualizerConfig::new(RATE, 1, 512)
        })
        .unwrap();
        let lat = eq.latency_frames();
        let y = run(&mut eq, &x, 1, 512);
        outs.push(y[lat..].to_vec());
    }
    let n = outs[0].len().min(outs[1].len());
    let err = (0..n)
        .map(|i| (outs[0][i] - outs[1][i]).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-9, "{err:e}");
}

#[test]
fn the_low_latency_chain_reports_its_latency_exactly() {
    // EQ 64 + limiter lookahead 1.5 ms (72 frames) + the true-peak detector's 32 frames.
    let config = PipelineConfig {
        eq: Some(EqSettings::critical(gains())),
        level: Some(LevelSettings::default()),
        limiter: Some(LimiterSettings::default()),
        ..PipelineConfig::default()
    }
    .low_latency(64);
    let mut p = Pipeline::<f64>::new(RATE, 2, 64, &config).unwrap();
    let latency = p.latency_frames();
    assert_eq!(latency, 64 + 72 + 32);
    // An impulse well below the ceiling: silence until the latency, the response from there.
    let len = 4096;
    let mut x = vec![0.0; 2 * len];
    x[0] = 0.05;
    x[len] = 0.05;
    let y = run(&mut p, &x, 2, 64);
    for c in 0..2 {
        let ch = &y[c * len..(c + 1) * len];
        assert!(ch[..latency].iter().all(|&v| v == 0.0), "channel {c}");
        assert!(ch[latency].abs() > 1e-4, "channel {c}: {}", ch[latency]);
    }
    // Flat gains: the minimum-phase kernel is a unit impulse, so the chain is a pure delay.
    let flat = PipelineConfig {
        eq: Some(EqSettings::critical(vec![0.0; 25])),
        ..config
    };
    let mut p = Pipeline::<f64>::new(RATE, 2, 64, &flat).unwrap();
    let y = run(&mut p, &x, 2, 64);
    assert!((y[latency] - 0.05).abs() < 1e-9, "{}", y[latency]);
    let rest: f64 = y[latency + 1..len].iter().map(|v| v.abs()).sum();
    assert!(rest < 1e-9, "{rest}");
}

#[test]
fn the_momentary_leveller_on_the_partitioned_engine_reaches_its_target() {
    // 20 s of stereo noise at about −30 LUFS, levelled to −20 LUFS; the last 10 s measured by
    // ebur128.
    let frames = 20 * RATE as usize;
    let x: Vec<f64> = [common::noise(frames, 8), common::noise(frames, 9)]
        .concat()
        .iter()
        .map(|v| 0.05 * v)
        .collect();
    let config = PipelineConfig {
        level: Some(LevelSettings {
            mode: LevelMode::Momentary,
            target_lufs: -20.0,
            ..LevelSettings::default()
        }),
        ..PipelineConfig::default()
    }
    .low_latency(64);
    let mut p = Pipeline::<f64>::new(RATE, 2, 64, &config).unwrap();
    let y = run(&mut p, &x, 2, 64);
    let mut meter = EbuR128::new(2, RATE, Mode::I).unwrap();
    let half = frames / 2;
    meter
        .add_frames_planar_f64(&[&y[half..frames], &y[frames + half..]])
        .unwrap();
    let lufs = meter.loudness_global().unwrap();
    assert!((lufs + 20.0).abs() < 0.5, "{lufs} LUFS");
}
