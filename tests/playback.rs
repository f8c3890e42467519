//! The playback stream: sequential reads equal the offline chunked render, a seek lands
//! sample-accurately with the sequential render's content, bad seeks are refused.

mod common;

use common::noise;
use std::sync::Arc;
use tonecore::pipeline::{EqSettings, PipelineConfig};
use tonecore::render::playback::open;
use tonecore::render::{render_chunked, PlaybackConfig, RenderConfig, Watch};

const SR: u32 = 44_100;

fn config() -> (PipelineConfig, PlaybackConfig) {
    let pipeline = PipelineConfig {
        eq: Some(EqSettings::critical(
            (0..25).map(|b| (b % 5) as f64 - 2.0).collect(),
        )),
        ..PipelineConfig::default()
    };
    let playback = PlaybackConfig {
        render: RenderConfig {
            chunk_seconds: 1.0,
            crossfade_seconds: 0.05,
            ..RenderConfig::default()
        },
        lookahead_chunks: 2,
        seek_fade_ms: 5.0,
    };
    (pipeline, playback)
}

/// Reads `frames` track frames (interleaved), waiting out underruns.
fn read_frames(
    reader: &mut tonecore::render::PlaybackReader<f64>,
    frames: usize,
    block: usize,
) -> Vec<f64> {
    let ch = reader.channels();
    let mut got = Vec::with_capacity(frames * ch);
    let mut buf = vec![0.0; block * ch];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while got.len() < frames * ch {
        let want = block.min(frames - got.len() / ch);
        let n = reader.read(&mut buf[..want * ch]);
        got.extend_from_slice(&buf[..n * ch]);
        if n < want {
            assert!(std::time::Instant::now() < deadline, "stream stalled");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    got
}

fn offline(x: &[f64], pipeline: &PipelineConfig, playback: &PlaybackConfig) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    render_chunked(
        x,
        2,
        SR,
        pipeline,
        &playback.render,
        &mut y,
        Watch::default(),
    )
    .unwrap();
    y
}

#[test]
fn sequential_playback_equals_the_offline_render() {
    let total = 5 * SR as usize + 999;
    let x = noise(2 * total, 1);
    let (pipeline, playback) = config();
    let reference = offline(&x, &pipeline, &playback);
    let (mut reader, mut control) = open(Arc::from(x.clone()), 2, SR, pipeline, playback).unwrap();
    let y = read_frames(&mut reader, total, 256);
    let mut worst = 0.0f64;
    for i in 0..total {
        for c in 0..2 {
            worst = worst.max((y[i * 2 + c] - reference[c * total + i]).abs());
        }
    }
    assert!(worst <= 1e-9, "stream vs offline render: {worst}");
    let stats = control.stats();
    assert_eq!(stats.position, total as u64);
    assert_eq!(stats.chunks_rendered, 6);
    // Past the end: silence, counted as underrun.
    let mut tail = [1.0; 20];
    assert_eq!(reader.read(&mut tail), 0);
    assert!(tail.iter().all(|&v| v == 0.0));
    control.close();
}

#[test]
fn a_seek_lands_on_the_sequential_render() {
    let total = 6 * SR as usize;
    let x = noise(2 * total, 2);
    let (pipeline, playback) = config();
    let reference = offline(&x, &pipeline, &playback);
    let (mut reader, control) = open(Arc::from(x), 2, SR, pipeline, playback).unwrap();
    let _ = read_frames(&mut reader, 3000, 256);
    let target = 3 * SR as usize + 12_345; // the middle of chunk 3
    control.seek(target as f64 / SR as f64).unwrap();
    let fade = (5e-3 * SR as f64).round() as usize;
    let y = read_frames(&mut reader, 20_000 + fade * 2 + 1, 128);
    // `fade` frames of the old position fade out, then the new position starts at `target`; its
    // first `fade` frames fade in, after which the output is the sequential render.
    let new_frames = y.len() / 2 - fade;
    let mut worst = 0.0f64;
    for i in fade..new_frames {
        for c in 0..2 {
            worst = worst.max((y[(fade + i) * 2 + c] - reference[c * total + target + i]).abs());
        }
    }
    assert!(worst <= 1e-6, "after seek: {worst}");
    assert_eq!(control.stats().seeks, 1);
}

#[test]
fn a_seek_before_the_first_read_plays_nothing_of_the_old_position() {
    // A host that opens a stream and seeks at once (resuming a track) must not hear the track's
    // first milliseconds fading out: nothing was heard, so nothing needs a fade-out.
    let total = 4 * SR as usize;
    let x = noise(2 * total, 2);
    let (pipeline, playback) = config();
    let reference = offline(&x, &pipeline, &playback);
    let (mut reader, control) = open(Arc::from(x), 2, SR, pipeline, playback).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50)); // chunk 0 is rendered meanwhile
    let target = 2 * SR as usize + 777;
    control.seek(target as f64 / SR as f64).unwrap();
    let fade = (5e-3 * SR as f64).round() as usize;
    let y = read_frames(&mut reader, 4000, 256);
    // The new position fades in over `fade` frames from the first frame on, then equals the
    // sequential render at `target`.
    let mut worst = 0.0f64;
    for i in fade..4000 {
        for c in 0..2 {
            worst = worst.max((y[i * 2 + c] - reference[c * total + target + i]).abs());
        }
    }
    assert!(worst <= 1e-6, "after seek: {worst}");
    assert_eq!(control.stats().position, (target + 4000) as u64);
}

#[test]
fn bad_seeks_are_refused_and_short_tracks_play() {
    let (pipeline, playback) = config();
    let x: Vec<f64> = (0..2 * 1000).map(|i| (i % 7) as f64 * 0.01).collect();
    let (mut reader, control) = open(Arc::from(x), 2, SR, pipeline.clone(), playback).unwrap();
    for bad in [f64::NAN, -1.0, 1.0, f64::INFINITY] {
        assert!(control.seek(bad).is_err(), "{bad}");
    }
    let y = read_frames(&mut reader, 1000, 300);
    assert_eq!(y.len(), 2000);
    let empty: Vec<f64> = Vec::new();
    let (mut reader, control) = open(Arc::from(empty), 2, SR, pipeline, playback).unwrap();
    let mut out = [1.0; 64];
    assert_eq!(reader.read(&mut out), 0);
    assert!(out.iter().all(|&v| v == 0.0));
    assert_eq!(control.stats().underrun_frames, 32);
    assert!(open(
        Arc::from(vec![0.0; 3]),
        2,
        SR,
        PipelineConfig::default(),
        PlaybackConfig::default()
    )
    .is_err());
}

#[test]
fn a_reader_thread_and_a_seeking_thread() {
    let total = 4 * SR as usize;
    let x = noise(2 * total, 5);
    let (pipeline, playback) = config();
    let (mut reader, control) = open(Arc::from(x), 2, SR, pipeline, playback).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut buf = vec![0.0; 2 * 256];
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                reader.read(&mut buf);
                assert!(buf.iter().all(|v| v.is_finite()));
            }
        });
        for i in 0..50 {
            control.seek((i % 7) as f64 * 0.5).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(3));
        }
        stop.store(true, std::sync::atomic::Ordering::Release);
    });
    assert_eq!(control.stats().seeks, 50);
}

#[test]
fn seeks_take_effect_whatever_the_read_size_and_timing() {
    let (pipeline, mut playback) = config();
    playback.render.chunk_seconds = 0.25;
    playback.render.context_seconds = Some(0.1);
    let total = SR as usize / 2;
    let x: Vec<f64> = (0..2 * total)
        .map(|i| ((i % total) as f64 / total as f64) - 0.5)
        .collect();
    // Old data ends inside the fade: read until 100 frames are left, then seek.
    let (mut reader, control) =
        open(Arc::from(x.clone()), 2, SR, pipeline.clone(), playback).unwrap();
    let _ = read_frames(&mut reader, total - 100, 250);
    control.seek(0.1).unwrap();
    let y = read_frames(&mut reader, 2000, 64);
    assert!(
        y.iter().any(|&v| v != 0.0),
        "the new position never started"
    );
    assert!(control.stats().position > (0.1 * SR as f64) as u64);
    // Reads whose size divides the fade length (221 = 13 x 17).
    let (mut reader, control) =
        open(Arc::from(x.clone()), 2, SR, pipeline.clone(), playback).unwrap();
    let _ = read_frames(&mut reader, 1000, 17);
    control.seek(0.3).unwrap();
    let _ = read_frames(&mut reader, 2000, 17);
    let pos = control.stats().position;
    assert!(
        pos > (0.3 * SR as f64) as u64 && pos < (0.3 * SR as f64) as u64 + 2000,
        "position {pos}"
    );
    // A seek during the fade-in of the previous one fades out from where it got to: no jump.
    let (mut reader, control) = open(Arc::from(x), 2, SR, pipeline, playback).unwrap();
    let mut y = read_frames(&mut reader, 1000, 100);
    control.seek(0.2).unwrap();
    y.extend(read_frames(&mut reader, 221 + 100, 1));
    control.seek(0.05).unwrap();
    y.extend(read_frames(&mut reader, 1000, 1));
    let step = y
        .windows(4)
        .map(|w| (w[2] - w[0]).abs())
        .fold(0.0, f64::max);
    assert!(step < 0.05, "a jump of {step} around the seeks");
}
