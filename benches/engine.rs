//! The engine, measured in one run (prints a report; whole-system timings with threads, so not
//! criterion).
//!
//! Run: `cargo bench --bench engine` (about a minute). Reports:
//! - throughput of 1, 4 and 10 concurrent playback streams (distinct tracks, EQ → level →
//!   limiter), each read in 256-frame blocks by its own thread as fast as data arrives: total
//!   real-time factor (seconds of audio delivered per wall second, summed over streams) and the
//!   share of reads that underran;
//! - a seek-heavy listener (a seek to a random position every 3 s of listening, 60 seeks
//!   through a 3-minute track): chunk-cache hit rate, chunks rendered and wall time, with the
//!   cache versus without (`cache_bytes = 0`);
//! - the cost of one `stats()` call with 10 live streams, and of delivering one event to 0, 1
//!   and 8 subscribers (job-progress events of a job over cached chunks).

mod common;

use common::{full_chain, noise};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonecore::engine::{Engine, EngineConfig, JobOptions, StreamId, StreamOptions, ALL_EVENTS};
use tonecore::pipeline::PipelineConfig;
use tonecore::render::{PlaybackConfig, RenderConfig};

const RATE: usize = 44_100;

fn engine(max_streams: usize, cache_bytes: usize) -> Engine {
    Engine::new(EngineConfig {
        max_streams,
        worker_threads: 0,
        cache_bytes,
        max_jobs: 256,
    })
    .unwrap()
}

fn options(chunk_seconds: f64) -> StreamOptions {
    StreamOptions {
        playback: PlaybackConfig {
            render: RenderConfig {
                chunk_seconds,
                ..RenderConfig::default()
            },
            ..PlaybackConfig::default()
        },
        ..StreamOptions::default()
    }
}

/// Reads `frames` frames of the stream in 256-frame blocks as fast as data arrives; returns
/// (reads, reads that got less than asked).
fn drain(e: &Engine, id: StreamId, frames: usize) -> (u64, u64) {
    let mut out = vec![0.0f32; 2 * 256];
    let (mut got, mut reads, mut short) = (0, 0u64, 0u64);
    while got < frames {
        let n = e.read(id, &mut out).unwrap();
        reads += 1;
        if n < 256 {
            short += 1;
            std::thread::sleep(Duration::from_micros(200));
        }
        got += n;
    }
    (reads, short)
}

fn throughput() {
    println!("concurrent streams (EQ -> level -> limiter, distinct 60 s tracks, 256-frame reads):");
    let seconds = 60;
    for streams in [1usize, 4, 10] {
        let e = engine(streams, 0);
        let tracks: Vec<Arc<[f32]>> = (0..streams)
            .map(|k| Arc::from(noise(2 * seconds * RATE, k as u64 + 1, 0.3)))
            .collect();
        let ids: Vec<StreamId> = tracks
            .iter()
            .enumerate()
            .map(|(k, t)| {
                e.open_stream(
                    k as u64,
                    t.clone(),
                    2,
                    RATE as u32,
                    &full_chain(),
                    &options(5.0),
                )
                .unwrap()
            })
            .collect();
        let t = Instant::now();
        let results: Vec<(u64, u64)> = std::thread::scope(|s| {
            let handles: Vec<_> = ids
                .iter()
                .map(|&id| {
                    let e = &e;
                    s.spawn(move || drain(e, id, seconds * RATE))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let wall = t.elapsed().as_secs_f64();
        let (reads, short): (u64, u64) = results.iter().fold((0, 0), |a, r| (a.0 + r.0, a.1 + r.1));
        println!(
            "  {streams:>2} streams: {:>6.1}x real time in total ({:>5.1}x per stream), {wall:.2} s wall, {:.1}% of reads waited for data",
            (streams * seconds) as f64 / wall,
            seconds as f64 / wall,
            100.0 * short as f64 / reads as f64
        );
    }
}

fn seek_heavy(cache_bytes: usize) -> (f64, u64, u64, u64) {
    let e = engine(1, cache_bytes);
    let track: Arc<[f32]> = Arc::from(noise(2 * 180 * RATE, 7, 0.3));
    let id = e
        .open_stream(1, track, 2, RATE as u32, &full_chain(), &options(15.0))
        .unwrap();
    let mut s = 12345u64;
    let t = Instant::now();
    for _ in 0..60 {
        // Listen for 3 s, then jump somewhere (A/B comparisons, scrubbing).
        drain(&e, id, 3 * RATE);
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let target = (s % 170) as f64;
        e.seek(id, target).unwrap();
    }
    let wall = t.elapsed().as_secs_f64();
    let st = e.stats();
    (wall, st.cache.hits, st.cache.misses, st.chunks_rendered)
}

fn cache() {
    println!("seek-heavy listener (60 seeks, 3 s of listening each, 3-minute track, 15 s chunks):");
    let (w0, _, _, r0) = seek_heavy(0);
    let (w1, hits, misses, r1) = seek_heavy(256 << 20);
    println!(
        "  no cache:   {w0:.2} s wall, {r0} chunks rendered\n  with cache: {w1:.2} s wall, {r1} chunks rendered, hit rate {:.0}% ({hits} hits / {misses} misses)\n  speedup {:.1}x wall, {:.1}x fewer chunks rendered",
        100.0 * hits as f64 / (hits + misses) as f64,
        w0 / w1,
        r0 as f64 / r1 as f64
    );
}

fn per_call(mut f: impl FnMut(), n: usize) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / n as f64);
    }
    best
}

fn overheads() {
    let e = engine(10, 64 << 20);
    let track: Arc<[f32]> = Arc::from(noise(2 * 10 * RATE, 3, 0.3));
    for k in 0..10 {
        e.open_stream(
            k,
            track.clone(),
            2,
            RATE as u32,
            &PipelineConfig::default(),
            &options(1.0),
        )
        .unwrap();
    }
    let stats = per_call(
        || {
            std::hint::black_box(e.stats());
        },
        20_000,
    );
    println!(
        "stats() with 10 live streams: {:.2} us per call",
        stats * 1e6
    );

    // Event delivery: a job over cached chunks emits one progress event per chunk.
    let x: Arc<[f32]> = Arc::from(noise(2 * 100 * RATE, 4, 0.3));
    let opts = JobOptions {
        render: RenderConfig {
            chunk_seconds: 0.1,
            context_seconds: Some(0.0),
            crossfade_seconds: 0.0,
            ..RenderConfig::default()
        },
        content_id: Some(99),
        ..JobOptions::default()
    };
    let run = |e: &Engine| {
        let id = e
            .submit_render(x.clone(), 2, RATE as u32, &PipelineConfig::default(), &opts)
            .unwrap();
        e.wait_job(id, None).unwrap();
        e.take_result::<f32>(id).unwrap();
        e.flush_events().unwrap();
    };
    run(&e); // fill the cache
    let calls = Arc::new(AtomicU64::new(0));
    for subscribers in [0usize, 1, 8] {
        let tokens: Vec<_> = (0..subscribers)
            .map(|_| {
                let c = calls.clone();
                e.subscribe(ALL_EVENTS, move |_| {
                    c.fetch_add(1, Ordering::Relaxed);
                })
            })
            .collect();
        let before = e.stats().events_emitted;
        let t = Instant::now();
        run(&e);
        let wall = t.elapsed().as_secs_f64();
        let events = e.stats().events_emitted - before;
        println!(
            "  job of {events} events (cached chunks) with {subscribers} subscribers: {:.2} ms ({:.2} us per event)",
            wall * 1e3,
            wall * 1e6 / events as f64
        );
        for t in tokens {
            e.unsubscribe(t).unwrap();
        }
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    throughput();
    cache();
    overheads();
}
