//! Chunked rendering: exact seams, LTI invisibility, continuity with adaptive stages, thread
//! independence, progress and cancellation; the tail buffer under a seek-heavy stress.

mod common;

use common::noise;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tonecore::dsp::level::LevelSettings;
use tonecore::pipeline::{EqSettings, Pipeline, PipelineConfig, Processor};
use tonecore::render::chunked::plan;
use tonecore::render::{render_chunked, tail_buffer, RenderConfig, Watch};
use tonecore::{ConfigError, Error, ProcessError};

const SR: u32 = 44_100;

fn cfg(chunk: f64, context: Option<f64>, crossfade: f64, threads: usize) -> RenderConfig {
    RenderConfig {
        chunk_seconds: chunk,
        context_seconds: context,
        crossfade_seconds: crossfade,
        threads,
        ..RenderConfig::default()
    }
}

fn render(x: &[f64], channels: usize, p: &PipelineConfig, r: &RenderConfig) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    render_chunked(x, channels, SR, p, r, &mut y, Watch::default()).unwrap();
    y
}

#[test]
fn an_index_ramp_through_a_bypassed_pipeline_comes_back_sample_for_sample() {
    let total = 5 * SR as usize + 1234;
    let mut x: Vec<f64> = (0..total).map(|i| i as f64).collect();
    x.extend((0..total).map(|i| -(i as f64)));
    for r in [
        cfg(1.0, Some(0.2), 0.05, 0),
        cfg(0.3, Some(0.0), 0.1, 1),
        cfg(10.0, None, 0.05, 2),
    ] {
        let y = render(&x, 2, &PipelineConfig::default(), &r);
        assert_eq!(y.len(), x.len());
        for (i, (a, b)) in y.iter().zip(&x).enumerate() {
            assert!(
                (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                "frame {i}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn chunking_is_invisible_for_an_lti_pipeline() {
    let total = 7 * SR as usize + 77;
    let x = noise(2 * total, 3);
    let p = PipelineConfig {
        eq: Some(EqSettings::critical(
            (0..25).map(|b| (b % 7) as f64 - 3.0).collect(),
        )),
        ..PipelineConfig::default()
    };
    // Single pass: one pipeline over the whole track, latency removed.
    let mut single = Pipeline::<f64>::new(SR, 2, total + 10_000, &p).unwrap();
    let lat = single.latency_frames();
    let mut padded = vec![0.0; 2 * (total + lat)];
    for c in 0..2 {
        padded[c * (total + lat)..c * (total + lat) + total]
            .copy_from_slice(&x[c * total..(c + 1) * total]);
    }
    let mut out = vec![0.0; padded.len()];
    single.process(&padded, &mut out).unwrap();
    let y = render(&x, 2, &p, &cfg(1.5, None, 0.05, 0));
    let mut worst = 0.0f64;
    for c in 0..2 {
        for i in 0..total {
            worst = worst.max((y[c * total + i] - out[c * (total + lat) + i + lat]).abs());
        }
    }
    assert!(worst <= 1e-6, "chunked vs single pass: {worst}");
}

#[test]
fn adaptive_seams_are_continuous_and_threads_do_not_matter() {
    let seconds = 8;
    let total = seconds * SR as usize;
    // A slowly swelling tone: the level matcher keeps adapting across every seam.
    let mono: Vec<f64> = (0..total)
        .map(|i| {
            let t = i as f64 / SR as f64;
            (0.05 + 0.4 * t / seconds as f64) * (2.0 * std::f64::consts::PI * 220.0 * t).sin()
        })
        .collect();
    let mut x = mono.clone();
    x.extend_from_slice(&mono);
    let p = PipelineConfig {
        level: Some(LevelSettings {
            target_lufs: -20.0,
            attack_ms: 100.0,
            release_ms: 400.0,
            ..LevelSettings::default()
        }),
        ..PipelineConfig::default()
    };
    let chunk = 1.0;
    let y1 = render(&x, 2, &p, &cfg(chunk, None, 0.05, 1));
    for threads in [2usize, 8] {
        let y = render(&x, 2, &p, &cfg(chunk, None, 0.05, threads));
        assert!(y == y1, "threads {threads}: not bit-identical");
    }
    let c = (chunk * SR as f64) as usize;
    let step = |a: usize, b: usize| {
        y1[a..b]
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f64::max)
    };
    for k in 1..seconds {
        let seam = k * c;
        let at_seam = step(seam - 2205, seam + 2205 + 1);
        let inside = step(seam - c + 1000, seam - 3000).max(step(seam + 3000, seam + c - 1000));
        assert!(
            at_seam <= inside * 1.001,
            "seam {k}: step {at_seam} vs inside {inside}"
        );
    }
}

#[test]
fn progress_counts_chunks_and_cancel_stops() {
    let total = 4 * SR as usize;
    let x = noise(total, 9);
    let mut y = vec![0.0; total];
    let calls = AtomicUsize::new(0);
    let last = AtomicUsize::new(0);
    let progress = |done: usize, of: usize| {
        assert_eq!(of, 8);
        assert_eq!(done, last.load(Ordering::SeqCst) + 1);
        last.store(done, Ordering::SeqCst);
        calls.fetch_add(1, Ordering::SeqCst);
    };
    render_chunked(
        &x,
        1,
        SR,
        &PipelineConfig::default(),
        &cfg(0.5, None, 0.05, 2),
        &mut y,
        Watch {
            progress: Some(&progress),
            cancel: None,
        },
    )
    .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 8);
    let cancel = AtomicBool::new(true);
    let calls = AtomicUsize::new(0);
    let progress = |_: usize, _: usize| {
        calls.fetch_add(1, Ordering::SeqCst);
    };
    let r = render_chunked(
        &x,
        1,
        SR,
        &PipelineConfig::default(),
        &cfg(0.5, None, 0.05, 2),
        &mut y,
        Watch {
            progress: Some(&progress),
            cancel: Some(&cancel),
        },
    );
    assert_eq!(r, Err(Error::Process(ProcessError::Cancelled)));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn bad_geometry_and_edge_cases() {
    let p = PipelineConfig::default();
    let bad = |r: RenderConfig| plan::<f32>(1000, 1, SR, &p, &r).err();
    assert_eq!(bad(cfg(0.0, None, 0.0, 1)), Some(ConfigError::InvalidChunk));
    assert_eq!(
        bad(cfg(f64::NAN, None, 0.0, 1)),
        Some(ConfigError::InvalidChunk)
    );
    assert_eq!(
        bad(cfg(1.0, Some(-1.0), 0.0, 1)),
        Some(ConfigError::InvalidChunk)
    );
    assert_eq!(
        bad(cfg(1.0, Some(0.9), 0.2, 1)),
        Some(ConfigError::InvalidChunk)
    );
    assert_eq!(
        bad(cfg(1.0, None, f64::INFINITY, 1)),
        Some(ConfigError::InvalidChunk)
    );
    // Empty track: nothing to do. Shorter than one chunk: one chunk, exact length.
    let mut empty: Vec<f32> = vec![];
    render_chunked::<f32>(
        &[],
        2,
        SR,
        &p,
        &RenderConfig::default(),
        &mut empty,
        Watch::default(),
    )
    .unwrap();
    let x: Vec<f64> = (0..300).map(|i| i as f64).collect();
    let y = render(&x, 1, &p, &RenderConfig::default());
    for (a, b) in y.iter().zip(&x) {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0));
    }
    let mut small = vec![0.0; 299];
    assert_eq!(
        render_chunked(
            &x,
            1,
            SR,
            &p,
            &RenderConfig::default(),
            &mut small,
            Watch::default(),
        ),
        Err(Error::Process(ProcessError::OutputTooSmall))
    );
}

#[test]
fn tail_buffer_stress_with_seeks() {
    // Producer publishes tails (generation, chunk) whose samples encode their tag; the consumer
    // takes them in order and seeks at random. Every taken tail must be whole and the one asked
    // for; none twice. TONECORE_STRESS_ROUNDS raises the count for soak runs.
    let rounds: u32 = std::env::var("TONECORE_STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let (producer, consumer) = tail_buffer::<f64>(4, 64);
    let generation = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let position = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let producer_thread = {
        let (generation, position, stop) = (generation.clone(), position.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut published = 0u64;
            let (mut gen, mut chunk) = (0u32, 0u32);
            while !stop.load(Ordering::Acquire) {
                let g = generation.load(Ordering::Acquire);
                if g != gen {
                    gen = g;
                    chunk = position.load(Ordering::Acquire);
                }
                if let Some(mut w) = producer.reserve(gen, chunk) {
                    let len = 1 + (chunk as usize * 7) % 64;
                    let tag = f64::from(gen) * 1e6 + f64::from(chunk);
                    let samples: Vec<f64> = (0..len).map(|i| tag + i as f64 * 1e-3).collect();
                    w.write(&samples);
                    w.commit();
                    published += 1;
                    chunk += 1;
                } else {
                    std::thread::yield_now();
                }
            }
            published
        })
    };
    let mut out = [0.0f64; 64];
    let (mut gen, mut chunk) = (0u32, 0u32);
    let mut taken = 0u64;
    let mut seed = 12345u64;
    let mut seen = std::collections::HashSet::new();
    while taken < u64::from(rounds) {
        if let Some(n) = consumer.take(gen, chunk, &mut out) {
            let tag = f64::from(gen) * 1e6 + f64::from(chunk);
            assert_eq!(
                n,
                1 + (chunk as usize * 7) % 64,
                "length of ({gen}, {chunk})"
            );
            for (i, v) in out[..n].iter().enumerate() {
                assert_eq!(
                    *v,
                    tag + i as f64 * 1e-3,
                    "torn or foreign tail at ({gen}, {chunk})"
                );
            }
            assert!(seen.insert((gen, chunk)), "({gen}, {chunk}) taken twice");
            taken += 1;
            chunk += 1;
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            if seed % 1000 == 0 {
                // Seek: a new generation at a random chunk.
                gen += 1;
                chunk = (seed >> 20) as u32 % 1000;
                position.store(chunk, Ordering::Release);
                generation.store(gen, Ordering::Release);
            }
        } else {
            std::hint::spin_loop();
        }
    }
    stop.store(true, Ordering::Release);
    let published = producer_thread.join().unwrap();
    assert!(published >= taken);
}
