//! Chunked rendering and playback, measured in one run (prints a report; not criterion: these
//! are whole-job timings, a worst case and a memory peak).
//!
//! Run: `cargo bench --bench render` (about a minute). Reports:
//! - offline chunked render of 180 s stereo through EQ → level → limiter, 1 thread vs all, and
//!   its overhead against one single-pass pipeline on one thread, with the default context and
//!   with the hosts' 15 s chunks / 5 s context geometry;
//! - a playback stream read in 256-frame blocks (100 000 reads) while seeking every second:
//!   worst-case read time against the 5.8 ms block period;
//! - peak resident memory of a 60-minute stereo stream above the decoded input.

mod common;

use common::{full_chain, noise};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonecore::pipeline::{Pipeline, PipelineConfig, Processor};
use tonecore::render::playback::open;
use tonecore::render::{render_chunked, PlaybackConfig, RenderConfig, Watch};

const RATE: usize = 44_100;

fn best(mut f: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn vm_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let cfg = full_chain();
    // Memory of a 60-minute stream above the decoded input.
    // Built in place (a trusted-length iterator collects into the Arc without a second copy).
    let mut seed = 3u64;
    let long: Arc<[f32]> = (0..2 * 3600 * RATE)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            ((seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0) * 0.3
        })
        .collect();
    let before = vm_kb("VmRSS:");
    let (mut reader, control) =
        open(long, 2, RATE as u32, cfg.clone(), PlaybackConfig::default()).unwrap();
    let mut out = vec![0.0f32; 2 * 256];
    let mut read = 0usize;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(8) {
        read += reader.read(&mut out);
        std::thread::sleep(Duration::from_micros(200));
    }
    let peak = vm_kb("VmHWM:");
    println!(
        "60-minute stereo f32 track ({} MB decoded): peak resident {:.1} MB above the input after streaming {:.0} s \
         (chunks rendered: {})",
        2 * 3600 * RATE * 4 / 1_000_000,
        (peak.saturating_sub(before)) as f64 / 1024.0,
        read as f64 / RATE as f64,
        control.stats().chunks_rendered
    );
    drop(reader);
    drop(control);

    let frames = 180 * RATE;
    let x = noise(2 * frames, 1, 0.3);
    let mut y = vec![0.0f32; x.len()];

    // Single pass on one thread: one pipeline over the whole track in 4096-frame blocks.
    let single = best(|| {
        let mut p = Pipeline::<f32>::new(RATE as u32, 2, 4096, &cfg).unwrap();
        let mut inb = vec![0.0f32; 2 * 4096];
        let mut outb = vec![0.0f32; 2 * 4096];
        let mut pos = 0;
        while pos < frames {
            let n = 4096.min(frames - pos);
            inb[..n].copy_from_slice(&x[pos..pos + n]);
            inb[n..2 * n].copy_from_slice(&x[frames + pos..frames + pos + n]);
            p.process(&inb[..2 * n], &mut outb[..2 * n]).unwrap();
            pos += n;
        }
    });
    let render = |threads: usize, context: Option<f64>, y: &mut [f32]| {
        let r = RenderConfig {
            threads,
            context_seconds: context,
            ..RenderConfig::default()
        };
        render_chunked(&x, 2, RATE as u32, &cfg, &r, y, Watch::default()).unwrap();
    };
    let one = best(|| render(1, None, &mut y));
    let all = best(|| render(0, None, &mut y));
    let host_one = best(|| render(1, Some(5.0), &mut y));
    let eq_only = PipelineConfig {
        level: None,
        limiter: None,
        ..cfg.clone()
    };
    let eq_single = best(|| {
        let mut p = Pipeline::<f32>::new(RATE as u32, 2, 4096, &eq_only).unwrap();
        let mut inb = vec![0.0f32; 2 * 4096];
        let mut outb = vec![0.0f32; 2 * 4096];
        let mut pos = 0;
        while pos < frames {
            let n = 4096.min(frames - pos);
            inb[..n].copy_from_slice(&x[pos..pos + n]);
            inb[n..2 * n].copy_from_slice(&x[frames + pos..frames + pos + n]);
            p.process(&inb[..2 * n], &mut outb[..2 * n]).unwrap();
            pos += n;
        }
    });
    let eq_chunked = best(|| {
        let r = RenderConfig {
            threads: 1,
            ..RenderConfig::default()
        };
        render_chunked(&x, 2, RATE as u32, &eq_only, &r, &mut y, Watch::default()).unwrap();
    });
    println!(
        "offline, 180 s stereo, EQ only: single pass {:.1} ms, chunked (default context) {:.1} ms ({:+.1}%)",
        eq_single * 1e3,
        eq_chunked * 1e3,
        100.0 * (eq_chunked / eq_single - 1.0)
    );
    let settle = Pipeline::<f32>::new(RATE as u32, 2, 4096, &cfg)
        .unwrap()
        .settle_frames();
    println!("offline, 180 s stereo, EQ -> level -> limiter (15 s chunks, 50 ms crossfades):");
    println!("  single pass, 1 thread            {:7.1} ms", single * 1e3);
    println!(
        "  chunked, default context {:.2} s, 1 thread {:7.1} ms  ({:+.1}% vs single pass)",
        settle as f64 / RATE as f64,
        one * 1e3,
        100.0 * (one / single - 1.0)
    );
    println!(
        "  chunked, default context, all threads {:7.1} ms  ({:.2}x speedup)",
        all * 1e3,
        one / all
    );
    println!(
        "  chunked, hosts' 5 s context, 1 thread  {:7.1} ms  ({:+.1}% vs single pass)",
        host_one * 1e3,
        100.0 * (host_one / single - 1.0)
    );

    // Playback: worst-case read while seeking every second.
    let track: Arc<[f32]> = Arc::from(noise(2 * 300 * RATE, 2, 0.3));
    let playback = PlaybackConfig {
        render: RenderConfig {
            chunk_seconds: 5.0,
            ..RenderConfig::default()
        },
        ..PlaybackConfig::default()
    };
    let (mut reader, control) = open(track, 2, RATE as u32, cfg.clone(), playback).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut out = vec![0.0f32; 2 * 256];
    let mut times = Vec::with_capacity(100_000);
    let period = 256.0 / RATE as f64;
    let start = Instant::now();
    let mut next_seek = 1.0;
    for i in 0..100_000u64 {
        // Paced at 4x real time so the worker can keep up while seeks keep coming.
        let due = i as f64 * period / 4.0;
        while start.elapsed().as_secs_f64() < due {
            std::hint::spin_loop();
        }
        if start.elapsed().as_secs_f64() >= next_seek {
            next_seek += 1.0;
            let _ = control.seek((i % 250) as f64);
        }
        let t = Instant::now();
        reader.read(&mut out);
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let stats = control.stats();
    println!(
        "playback read, 256 frames, 100000 reads, seeking every second ({} seeks): p99.9 {:.1} us, max {:.1} us \
         ({:.2}% of the {:.1} ms period); underrun frames {} of {}",
        stats.seeks,
        times[99_900] * 1e6,
        times[99_999] * 1e6,
        100.0 * times[99_999] / period,
        period * 1e3,
        stats.underrun_frames,
        stats.frames_read
    );
    drop(reader);
    drop(control);
}
