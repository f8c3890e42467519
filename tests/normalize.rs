//! Integrated-loudness normalisation: the chunked renderer with a level target lands within
//! 0.1 LU (measured by the `ebur128` crate directly), its short-term loudness follows a single
//! streaming pass at the reported gain within 0.5 LU in every 3 s window (no dips at the seams
//! of its 15 s chunks), and the report tells the truth about silence and unreachable targets.

mod common;

use ebur128::{EbuR128, Mode};
use std::f64::consts::PI;
use tonecore::dsp::level::{LevelMode, LevelSettings};
use tonecore::dsp::limiter::LimiterSettings;
use tonecore::pipeline::{EqSettings, Pipeline, PipelineConfig, Processor};
use tonecore::render::{normalize, render_chunked, NormalizeOutcome, RenderConfig, Watch};

const SR: u32 = 44_100;

/// 40 s of music-like stereo: quiet first third, loud rest, a bass line, a chord and noise.
fn track(seconds: usize) -> Vec<f32> {
    let n = seconds * SR as usize;
    (0..2)
        .flat_map(|c| {
            let nz = common::noise(n, 9 + c as u64);
            (0..n).map(move |i| {
                let t = i as f64 / f64::from(SR);
                let env = if t < seconds as f64 / 3.0 { 0.15 } else { 0.9 };
                let v = 0.5 * (2.0 * PI * (55.0 + c as f64) * t).sin()
                    + 0.3 * (2.0 * PI * 330.0 * t).sin() * (2.0 * PI * 1.5 * t).sin().abs()
                    + 0.15 * nz[i];
                (env * v) as f32
            })
        })
        .collect()
}

fn integrated(x: &[f32]) -> f64 {
    let frames = x.len() / 2;
    let mut m = EbuR128::new(2, SR, Mode::I).unwrap();
    m.add_frames_planar_f32(&[&x[..frames], &x[frames..]])
        .unwrap();
    m.loudness_global().unwrap()
}

/// True peak by the `ebur128` crate's meter, dBTP.
fn true_peak_db(x: &[f32]) -> f64 {
    let frames = x.len() / 2;
    let mut m = EbuR128::new(2, SR, Mode::TRUE_PEAK).unwrap();
    m.add_frames_planar_f32(&[&x[..frames], &x[frames..]])
        .unwrap();
    let peak = (0..2)
        .map(|c| m.true_peak(c).unwrap())
        .fold(0.0f64, f64::max);
    20.0 * peak.log10()
}

/// Short-term loudness every 0.5 s (3 s windows).
fn short_term(x: &[f32]) -> Vec<f64> {
    let frames = x.len() / 2;
    let mut m = EbuR128::new(2, SR, Mode::S).unwrap();
    let step = SR as usize / 2;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + step <= frames {
        m.add_frames_planar_f32(&[&x[pos..pos + step], &x[frames + pos..frames + pos + step]])
            .unwrap();
        pos += step;
        if pos >= 3 * SR as usize {
            out.push(m.loudness_shortterm().unwrap());
        }
    }
    out
}

fn config(target: f64) -> PipelineConfig {
    let mut gains = vec![0.0; 25];
    gains[0] = 4.0;
    gains[20] = -3.0;
    PipelineConfig {
        eq: Some(EqSettings::critical(gains)),
        level: Some(LevelSettings {
            mode: LevelMode::Integrated,
            target_lufs: target,
            ..LevelSettings::default()
        }),
        limiter: Some(LimiterSettings::default()),
        ..PipelineConfig::default()
    }
}

/// `x` through one streaming pipeline of `cfg` at the static track gain `gain_db`, latency
/// removed: the reference a chunked render or a stream must follow.
fn single_pass(x: &[f32], cfg: &PipelineConfig, gain_db: f64) -> Vec<f32> {
    let frames = x.len() / 2;
    let single_cfg = PipelineConfig {
        level: Some(LevelSettings {
            track_gain_db: gain_db,
            ..cfg.level.unwrap()
        }),
        ..cfg.clone()
    };
    let mut p = Pipeline::<f32>::new(SR, 2, 4096, &single_cfg).unwrap();
    let lat = p.latency_frames();
    let total = frames + lat;
    let mut single = vec![0.0f32; x.len()];
    let mut pos = 0;
    while pos < total {
        let n = 4096.min(total - pos);
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
                if pos + i >= lat {
                    single[c * frames + pos + i - lat] = outb[c * n + i];
                }
            }
        }
        pos += n;
    }
    single
}

/// The largest short-term (3 s) loudness difference between two signals, LU.
fn worst_short_term_difference(a: &[f32], b: &[f32]) -> f64 {
    short_term(a)
        .iter()
        .zip(&short_term(b))
        .map(|(p, q)| (p - q).abs())
        .fold(0.0f64, f64::max)
}

/// Reads a whole stream (interleaved, in 512-frame blocks) back to planar, waiting out
/// underruns.
fn read_stream(frames: usize, mut read: impl FnMut(&mut [f32]) -> usize) -> Vec<f32> {
    let mut planar = vec![0.0f32; 2 * frames];
    let mut block = vec![0.0f32; 2 * 512];
    let mut pos = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while pos < frames {
        assert!(
            std::time::Instant::now() < deadline,
            "the stream stalled at {pos}"
        );
        let got = read(&mut block);
        if got == 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
            continue;
        }
        // Frames after an underrun inside a block are silence: keep only the delivered run.
        for i in 0..got.min(frames - pos) {
            planar[pos + i] = block[2 * i];
            planar[frames + pos + i] = block[2 * i + 1];
        }
        pos += got;
    }
    planar
}

#[test]
fn chunked_renders_land_on_the_target_with_no_dips_at_the_seams() {
    let x = track(40);
    for target in [-23.0, -14.0, -9.0] {
        let cfg = config(target);
        let mut y = vec![0.0f32; x.len()];
        render_chunked(
            &x,
            2,
            SR,
            &cfg,
            &RenderConfig::default(),
            &mut y,
            Watch::default(),
        )
        .unwrap();
        let got = integrated(&y);
        assert!((got - target).abs() <= 0.1, "{target}: {got}");
        // The same track through one streaming pipeline at the reported static gain.
        let mut z = vec![0.0f32; x.len()];
        let report = normalize(
            &x,
            2,
            SR,
            target,
            &cfg,
            &RenderConfig::default(),
            &mut z,
            Watch::default(),
        )
        .unwrap();
        assert_eq!(report.outcome, NormalizeOutcome::Reached);
        assert_eq!(y, z, "render_chunked is normalize");
        let single = single_pass(&x, &cfg, report.gain_db);
        let worst = worst_short_term_difference(&y, &single);
        assert!(worst <= 0.5, "{target}: short-term differs by {worst} LU");
    }
}

/// Settings a flat EQ never uses are still checked, as `Pipeline::new` and the chunked renderer
/// check them, and the output is left untouched.
#[test]
fn every_setting_is_checked_even_with_a_flat_eq() {
    use tonecore::{ConfigError, Error};
    let x = track(2);
    let flat = PipelineConfig {
        eq: Some(EqSettings::critical(vec![0.0; 25])),
        ..config(-14.0)
    };
    let run = |pipeline: &PipelineConfig, render: &RenderConfig| {
        let mut y = vec![7.0f32; x.len()];
        let r = normalize(&x, 2, SR, -14.0, pipeline, render, &mut y, Watch::default());
        assert!(y.iter().all(|&v| v == 7.0), "output written on a refusal");
        r.err()
    };
    let render = RenderConfig::default();
    for (bad, want) in [
        (
            PipelineConfig {
                fft_size: 4097,
                ..flat.clone()
            },
            ConfigError::FftSizeOdd,
        ),
        (
            PipelineConfig {
                ramp_ms: f64::NAN,
                ..flat.clone()
            },
            ConfigError::InvalidRamp,
        ),
        (
            PipelineConfig {
                eq: Some(EqSettings::critical(vec![0.0; 24])),
                ..flat.clone()
            },
            ConfigError::GainCount,
        ),
    ] {
        assert_eq!(run(&bad, &render), Some(Error::Config(want)));
    }
    for chunk in [f64::NAN, -1.0, 0.0] {
        let render = RenderConfig {
            chunk_seconds: chunk,
            ..RenderConfig::default()
        };
        assert_eq!(
            run(&flat, &render),
            Some(Error::Config(ConfigError::InvalidChunk)),
            "chunk {chunk}"
        );
    }
}

#[test]
fn silence_and_unreachable_targets_are_reported() {
    let silent = vec![0.0f32; 2 * SR as usize];
    let mut y = vec![1.0f32; silent.len()];
    let r = normalize(
        &silent,
        2,
        SR,
        -14.0,
        &config(-14.0),
        &RenderConfig::default(),
        &mut y,
        Watch::default(),
    )
    .unwrap();
    assert_eq!(r.outcome, NormalizeOutcome::Silent);
    assert!(y.iter().all(|&v| v == 0.0));
    // Full-scale noise to 0 LUFS under a -6 dBTP ceiling: impossible.
    let noise: Vec<f32> = common::noise(2 * 3 * SR as usize, 5)
        .iter()
        .map(|&v| v as f32)
        .collect();
    let cfg = PipelineConfig {
        limiter: Some(LimiterSettings {
            ceiling_db: -6.0,
            ..LimiterSettings::default()
        }),
        ..config(0.0)
    };
    let mut y = vec![0.0f32; noise.len()];
    let r = normalize(
        &noise,
        2,
        SR,
        0.0,
        &cfg,
        &RenderConfig::default(),
        &mut y,
        Watch::default(),
    )
    .unwrap();
    assert_eq!(r.outcome, NormalizeOutcome::NotReached, "{r:?}");
    assert!(r.output_lufs < -0.1 && r.output_true_peak_db <= -6.0);
}

#[test]
fn streams_normalise_the_track_at_open_and_land_on_the_target() {
    use std::sync::Arc;
    use tonecore::engine::{Engine, EngineConfig, StreamOptions};
    use tonecore::render::playback::open;
    use tonecore::render::PlaybackConfig;
    let x = track(40);
    let frames = x.len() / 2;
    let track: Arc<[f32]> = x.clone().into();
    for target in [-23.0, -9.0] {
        let cfg = config(target);
        let (mut reader, control) =
            open(track.clone(), 2, SR, cfg.clone(), PlaybackConfig::default()).unwrap();
        let report = *control.normalization().expect("integrated mode normalises");
        assert_eq!(report.outcome, NormalizeOutcome::Reached);
        assert!((report.output_lufs - target).abs() <= 0.1, "{report:?}");
        let y = read_stream(frames, |b| reader.read(b));
        let got = integrated(&y);
        assert!((got - target).abs() <= 0.1, "playback {target}: {got}");
        let tp = true_peak_db(&y);
        assert!(tp <= -1.0 + 0.01, "playback {target}: true peak {tp}");
        let worst = worst_short_term_difference(&y, &single_pass(&x, &cfg, report.gain_db));
        assert!(
            worst <= 0.5,
            "playback {target}: short-term differs by {worst} LU"
        );
        drop(control);

        // The engine's streams: the same gain, measured once per track and settings.
        let engine = Engine::new(EngineConfig::default()).unwrap();
        let options = StreamOptions::default();
        let id = engine
            .open_stream(1, track.clone(), 2, SR, &cfg, &options)
            .unwrap();
        let seen = engine.stream_normalization(id).unwrap().unwrap();
        assert_eq!(seen.gain_db, report.gain_db);
        let y = read_stream(frames, |b| engine.read(id, b).unwrap());
        let got = integrated(&y);
        assert!((got - target).abs() <= 0.1, "engine {target}: {got}");
        let again = engine
            .open_stream(2, track.clone(), 2, SR, &cfg, &options)
            .unwrap();
        assert_eq!(engine.stream_normalization(again).unwrap(), Some(seen));
        // The momentary leveller measures nothing.
        let live = PipelineConfig {
            level: Some(LevelSettings {
                mode: LevelMode::Momentary,
                ..cfg.level.unwrap()
            }),
            ..cfg.clone()
        };
        let id = engine
            .open_stream(3, track.clone(), 2, SR, &live, &options)
            .unwrap();
        assert_eq!(engine.stream_normalization(id).unwrap(), None);
    }
}
