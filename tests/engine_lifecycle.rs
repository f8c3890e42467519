//! Thread and memory accounting of the engine, alone in its own test binary so the process's
//! thread count is not disturbed by other tests: a disconnect storm (open/close 10 000 times)
//! leaks no thread, slot, cache budget or memory, and dropping the engine (with streams and a
//! job still running) joins every thread it started.

mod common;

use common::noise;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonecore::engine::{Engine, EngineConfig, JobOptions, StreamOptions};
use tonecore::pipeline::{EqSettings, PipelineConfig};
use tonecore::render::{PlaybackConfig, RenderConfig};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

fn resident_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Polls until the thread count is `want` (threads being joined may take a moment to leave
/// /proc after their join returned).
fn settle_threads(want: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = threads();
        if now == want || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn disconnect_storm_and_shutdown_leak_nothing() {
    if threads() == 0 {
        eprintln!("no /proc/self/task here; skipping the thread accounting");
        return;
    }
    let rounds: usize = std::env::var("TONECORE_STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let baseline = threads();
    let engine = Arc::new(
        Engine::new(EngineConfig {
            max_streams: 8,
            worker_threads: 2,
            cache_bytes: 1 << 20,
            max_jobs: 16,
        })
        .unwrap(),
    );
    // The engine's own threads: two pool workers and the event dispatcher.
    let with_engine = settle_threads(baseline + 3);
    assert_eq!(with_engine, baseline + 3);
    let x: Arc<[f64]> = Arc::from(noise(2 * 2205, 1));
    let options = StreamOptions {
        playback: PlaybackConfig {
            render: RenderConfig {
                chunk_seconds: 0.01,
                context_seconds: Some(0.0),
                crossfade_seconds: 0.001,
                ..RenderConfig::default()
            },
            ..PlaybackConfig::default()
        },
        ..StreamOptions::default()
    };
    let storm = |n: usize| {
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let (engine, x) = (&engine, &x);
                s.spawn(move || {
                    for i in 0..n / 4 {
                        let id = engine
                            .open_stream(
                                t * 100 + (i % 2) as u64,
                                x.clone(),
                                2,
                                44_100,
                                &PipelineConfig::default(),
                                &options,
                            )
                            .unwrap();
                        let _ = engine.read(id, &mut [0.0; 64]);
                        engine.close_stream(id).unwrap();
                    }
                });
            }
        });
    };
    storm(2000); // warm up the allocator
    let rss_before = resident_kb();
    storm(10_000 * rounds);
    let rss_after = resident_kb();
    let s = engine.stats();
    assert_eq!(s.streams_open, 0);
    assert_eq!(s.streams_opened, (12_000 * rounds) as u64);
    assert!(s.cache.bytes <= 1 << 20);
    assert_eq!(
        settle_threads(with_engine),
        with_engine,
        "stream workers leaked"
    );
    let growth = rss_after.saturating_sub(rss_before);
    eprintln!("disconnect storm: RSS {rss_before} kB -> {rss_after} kB");
    assert!(
        growth < 8 * 1024,
        "resident memory grew by {growth} kB over the storm"
    );
    // Every slot is free: max_streams distinct keys open again.
    let ids: Vec<_> = (0..8)
        .map(|k| {
            engine
                .open_stream(
                    1000 + k,
                    x.clone(),
                    2,
                    44_100,
                    &PipelineConfig::default(),
                    &options,
                )
                .unwrap()
        })
        .collect();
    assert_eq!(s.max_streams, ids.len() as u64);

    // Drop with streams live and a long job running: everything is cancelled and joined.
    let long: Arc<[f64]> = Arc::from(noise(2 * 60 * 44_100, 2));
    let eq = PipelineConfig {
        eq: Some(EqSettings::critical(vec![1.0; 25])),
        ..PipelineConfig::default()
    };
    let job = engine
        .submit_render(long, 2, 44_100, &eq, &JobOptions::default())
        .unwrap();
    let t = Instant::now();
    drop(Arc::try_unwrap(engine).ok().expect("the only reference"));
    eprintln!(
        "engine drop with 8 streams and a running job ({job:?}) took {:?}",
        t.elapsed()
    );
    assert_eq!(
        settle_threads(baseline),
        baseline,
        "the engine left threads behind"
    );
}
