//! The engine: keyed streams with generation-checked ids, the cap, jobs, events, the shared
//! chunk cache and stats — functional checks, then the race stress tests of the issue with
//! their invariants. `TONECORE_STRESS_ROUNDS=<n>` multiplies the stress rounds (default 1).

mod common;

use common::noise;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};
use tonecore::engine::{
    Engine, EngineConfig, EngineError, EventKind, JobId, JobOptions, JobState, StreamId,
    StreamOptions, Token, ALL_EVENTS,
};
use tonecore::pipeline::{EqSettings, PipelineConfig};
use tonecore::render::{render_chunked, PlaybackConfig, RenderConfig, Watch};
use tonecore::{Error, ProcessError};

const SR: u32 = 44_100;

fn rounds() -> usize {
    std::env::var("TONECORE_STRESS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

fn eq() -> PipelineConfig {
    PipelineConfig {
        eq: Some(EqSettings::critical(
            (0..25).map(|b| (b % 5) as f64 - 2.0).collect(),
        )),
        ..PipelineConfig::default()
    }
}

fn render_config(chunk_seconds: f64) -> RenderConfig {
    // Tiny chunks (for open/close storms) get no context and a short crossfade.
    let tiny = chunk_seconds < 0.5;
    RenderConfig {
        chunk_seconds,
        context_seconds: tiny.then_some(0.0),
        crossfade_seconds: if tiny { chunk_seconds / 10.0 } else { 0.02 },
        ..RenderConfig::default()
    }
}

fn stream_options(chunk_seconds: f64) -> StreamOptions {
    StreamOptions {
        playback: PlaybackConfig {
            render: render_config(chunk_seconds),
            ..PlaybackConfig::default()
        },
        ..StreamOptions::default()
    }
}

fn engine(max_streams: usize) -> Engine {
    Engine::new(EngineConfig {
        max_streams,
        worker_threads: 2,
        cache_bytes: 64 << 20,
        max_jobs: 256,
    })
    .unwrap()
}

/// Reads `frames` frames of a stream, waiting out underruns.
fn read_all(e: &Engine, id: StreamId, frames: usize) -> Vec<f64> {
    let mut got = Vec::with_capacity(frames * 2);
    let mut buf = vec![0.0; 512];
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < frames * 2 {
        let want = 256.min(frames - got.len() / 2);
        let n = e.read(id, &mut buf[..want * 2]).unwrap();
        got.extend_from_slice(&buf[..n * 2]);
        if n < want {
            assert!(Instant::now() < deadline, "stream stalled");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    got
}

fn planar_to_interleaved(x: &[f64]) -> Vec<f64> {
    let n = x.len() / 2;
    (0..n).flat_map(|i| [x[i], x[n + i]]).collect()
}

fn offline(x: &[f64], pipeline: &PipelineConfig, render: &RenderConfig) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    render_chunked(x, 2, SR, pipeline, render, &mut y, Watch::default()).unwrap();
    y
}

#[test]
fn a_stream_plays_the_offline_render_and_its_ids_are_checked() {
    let e = engine(4);
    let total = 3 * SR as usize + 123;
    let x = noise(2 * total, 3);
    let pipeline = eq();
    let options = stream_options(1.0);
    let id = e
        .open_stream(7, Arc::from(x.clone()), 2, SR, &pipeline, &options)
        .unwrap();
    assert_eq!(e.stream_for_key(7), Some(id));
    let reference = planar_to_interleaved(&offline(&x, &pipeline, &options.playback.render));
    let y = read_all(&e, id, total);
    let worst = y
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(
        worst < 1e-9,
        "stream differs from the offline render by {worst}"
    );

    // Pause: silence, position kept.
    let (before, paused) = e.stream_stats(id).unwrap();
    assert!(!paused);
    e.set_paused(id, true).unwrap();
    let mut buf = vec![1.0; 64];
    assert_eq!(e.read(id, &mut buf).unwrap(), 0);
    assert!(buf.iter().all(|&v| v == 0.0));
    assert_eq!(e.stream_stats(id).unwrap().0.position, before.position);
    assert!(e.stream_stats(id).unwrap().1);
    e.set_paused(id, false).unwrap();

    // Wrong sample type, odd length, bad seek.
    let mut f = vec![0f32; 64];
    assert_eq!(e.read(id, &mut f), Err(EngineError::WrongFormat));
    assert!(matches!(
        e.read(id, &mut buf[..3]),
        Err(EngineError::Failed(Error::Process(
            ProcessError::InputShape
        )))
    ));
    assert!(e.seek(id, f64::NAN).is_err());
    assert!(e.seek(id, 1e9).is_err());
    e.seek(id, 1.0).unwrap();

    // Foreign, made-up and closed ids are stale, never anything else.
    let other = engine(1);
    assert_eq!(other.read(id, &mut buf), Err(EngineError::StaleId));
    assert_eq!(other.close_stream(id), Err(EngineError::StaleId));
    assert_eq!(e.read(StreamId(0), &mut buf), Err(EngineError::StaleId));
    assert_eq!(
        e.read(StreamId(u64::MAX), &mut buf),
        Err(EngineError::StaleId)
    );
    e.close_stream(id).unwrap();
    assert_eq!(e.close_stream(id), Err(EngineError::StaleId));
    assert_eq!(e.read(id, &mut buf), Err(EngineError::StaleId));
    assert_eq!(e.seek(id, 0.0), Err(EngineError::StaleId));
    assert_eq!(e.set_paused(id, true), Err(EngineError::StaleId));
    assert_eq!(e.stream_for_key(7), None);
    let s = e.stats();
    assert_eq!(
        (s.streams_open, s.streams_opened, s.streams_closed),
        (0, 1, 1)
    );
}

#[test]
fn bad_engine_and_stream_settings_are_refused() {
    for config in [
        EngineConfig {
            max_streams: 0,
            ..EngineConfig::default()
        },
        EngineConfig {
            max_streams: 5000,
            ..EngineConfig::default()
        },
        EngineConfig {
            max_jobs: 0,
            ..EngineConfig::default()
        },
        EngineConfig {
            worker_threads: 100_000,
            ..EngineConfig::default()
        },
    ] {
        assert!(Engine::new(config).is_err(), "{config:?}");
    }
    let e = engine(2);
    let x: Arc<[f64]> = Arc::from(noise(2 * 1000, 1));
    let bad = [
        e.open_stream(1, x.clone(), 0, SR, &eq(), &stream_options(1.0)),
        e.open_stream(1, x.clone(), 3, SR, &eq(), &stream_options(1.0)),
        e.open_stream(1, x.clone(), 2, 0, &eq(), &stream_options(1.0)),
        e.open_stream(1, x.clone(), 2, SR, &eq(), &stream_options(f64::NAN)),
    ];
    for r in bad {
        assert!(matches!(r, Err(EngineError::Failed(_))), "{r:?}");
    }
    assert_eq!(e.stats().streams_open, 0);
    assert_eq!(e.stats().streams_opened, 0);
}

#[test]
fn opening_a_key_again_replaces_its_stream() {
    let e = engine(2);
    let x: Arc<[f64]> = Arc::from(noise(2 * SR as usize, 1));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    e.subscribe(ALL_EVENTS, move |ev| log.lock().unwrap().push(*ev));
    let a = e
        .open_stream(
            1,
            x.clone(),
            2,
            SR,
            &PipelineConfig::default(),
            &stream_options(0.5),
        )
        .unwrap();
    let b = e
        .open_stream(
            1,
            x.clone(),
            2,
            SR,
            &PipelineConfig::default(),
            &stream_options(0.5),
        )
        .unwrap();
    assert_ne!(a, b);
    let mut buf = vec![0.0; 64];
    assert_eq!(e.read(a, &mut buf), Err(EngineError::StaleId));
    assert!(e.read(b, &mut buf).is_ok());
    assert_eq!(e.close_stream(a), Err(EngineError::StaleId)); // the old id cannot close b
    assert_eq!(e.stream_for_key(1), Some(b));
    assert_eq!(e.stats().streams_open, 1);
    e.flush_events().unwrap();
    let seen = seen.lock().unwrap().clone();
    let kinds: Vec<_> = seen
        .iter()
        .map(|ev| (ev.kind, ev.id, ev.replaced))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (EventKind::StreamOpened, a.0, false),
            (EventKind::StreamClosed, a.0, true),
            (EventKind::StreamOpened, b.0, false),
        ]
    );
    let s = e.stats();
    assert_eq!((s.streams_opened, s.streams_replaced), (2, 1));
}

#[test]
fn the_cap_refuses_at_once_or_waits_for_a_slot() {
    let e = Arc::new(engine(2));
    let x: Arc<[f64]> = Arc::from(noise(2 * SR as usize, 1));
    let p = PipelineConfig::default();
    let o = stream_options(0.5);
    let a = e.open_stream(1, x.clone(), 2, SR, &p, &o).unwrap();
    let _b = e.open_stream(2, x.clone(), 2, SR, &p, &o).unwrap();
    assert_eq!(
        e.open_stream(3, x.clone(), 2, SR, &p, &o),
        Err(EngineError::Busy)
    );
    // Replacing an existing key at the cap works.
    let a2 = e.open_stream(1, x.clone(), 2, SR, &p, &o).unwrap();
    assert_eq!(e.read(a, &mut [0.0; 2]), Err(EngineError::StaleId));
    // A short timeout expires.
    let waiting = StreamOptions {
        timeout: Some(Duration::from_millis(30)),
        ..o
    };
    assert_eq!(
        e.open_stream(3, x.clone(), 2, SR, &p, &waiting),
        Err(EngineError::Busy)
    );
    // A long one is served by a close on another thread.
    let closer = {
        let e = e.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            e.close_stream(a2).unwrap();
        })
    };
    let patient = StreamOptions {
        timeout: Some(Duration::from_secs(30)),
        ..o
    };
    let c = e.open_stream(3, x.clone(), 2, SR, &p, &patient).unwrap();
    closer.join().unwrap();
    assert!(e.read(c, &mut [0.0; 2]).is_ok());
    let s = e.stats();
    assert_eq!((s.streams_open, s.busy_refusals, s.streams_peak), (2, 2, 2));
}

#[test]
fn a_job_renders_like_render_chunked_and_reports_progress() {
    let e = engine(1);
    let total = 4 * SR as usize + 77;
    let x = noise(2 * total, 9);
    let pipeline = eq();
    let options = JobOptions {
        render: render_config(1.0),
        ..JobOptions::default()
    };
    let progress = Arc::new(Mutex::new(Vec::new()));
    let log = progress.clone();
    e.subscribe(
        EventKind::JobProgress as u32 | EventKind::JobFinished as u32,
        move |ev| {
            log.lock()
                .unwrap()
                .push((ev.kind, ev.done, ev.total, ev.outcome))
        },
    );
    let id = e
        .submit_render(Arc::from(x.clone()), 2, SR, &pipeline, &options)
        .unwrap();
    assert_eq!(e.wait_job(id, None), Ok(JobState::Done));
    let p = e.job_progress(id).unwrap();
    assert_eq!((p.done, p.total, p.state), (5, 5, JobState::Done));
    assert_eq!(e.take_result::<f32>(id), Err(EngineError::WrongFormat));
    let y = e.take_result::<f64>(id).unwrap();
    assert_eq!(
        y,
        offline(&x, &pipeline, &options.render),
        "not bit-identical"
    );
    assert_eq!(e.take_result::<f64>(id), Err(EngineError::StaleId));
    e.flush_events().unwrap();
    let progress = progress.lock().unwrap().clone();
    let done: Vec<u64> = progress
        .iter()
        .filter(|p| p.0 == EventKind::JobProgress)
        .map(|p| p.1)
        .collect();
    assert_eq!(done, vec![1, 2, 3, 4, 5]);
    assert_eq!(
        progress.last().map(|p| (p.0, p.3)),
        Some((EventKind::JobFinished, Some(JobState::Done)))
    );

    // The same input again is served from the chunk cache, bit-identically.
    let before = e.stats();
    let id = e
        .submit_render(Arc::from(x.clone()), 2, SR, &pipeline, &options)
        .unwrap();
    e.wait_job(id, None).unwrap();
    assert_eq!(e.take_result::<f64>(id).unwrap(), y);
    let after = e.stats();
    assert_eq!(after.cache.hits - before.cache.hits, 5);
    assert_eq!(after.chunks_rendered, before.chunks_rendered);
    assert_eq!(
        (after.jobs_submitted, after.jobs_done, after.jobs_held),
        (2, 2, 0)
    );
}

#[test]
fn jobs_cancel_promptly_and_bad_job_calls_are_refused() {
    let e = engine(1);
    let x: Arc<[f64]> = Arc::from(noise(2 * 60 * SR as usize, 2));
    let options = JobOptions {
        render: render_config(2.0),
        key: Some(5),
        ..JobOptions::default()
    };
    let id = e.submit_render(x.clone(), 2, SR, &eq(), &options).unwrap();
    assert_eq!(
        e.submit_render(x.clone(), 2, SR, &eq(), &options),
        Err(EngineError::AlreadyRunning(id))
    );
    assert_eq!(e.take_result::<f64>(id), Err(EngineError::NotFinished));
    e.cancel_job(id).unwrap();
    let t = Instant::now();
    assert_eq!(
        e.wait_job(id, Some(Duration::from_secs(30))),
        Ok(JobState::Cancelled)
    );
    eprintln!("cancel took {:?}", t.elapsed());
    assert!(matches!(
        e.take_result::<f64>(id),
        Err(EngineError::Failed(Error::Process(ProcessError::Cancelled)))
    ));
    assert_eq!(e.job_progress(id), Err(EngineError::StaleId));
    assert_eq!(e.cancel_job(id), Err(EngineError::StaleId));
    assert_eq!(e.wait_job(JobId(12345), None), Err(EngineError::StaleId));
    // Invalid input is refused before anything starts.
    assert!(matches!(
        e.submit_render(x.clone(), 0, SR, &eq(), &options),
        Err(EngineError::Failed(_))
    ));
    // A timeout on a long job, then release.
    let id = e.submit_render(x.clone(), 2, SR, &eq(), &options).unwrap();
    assert_eq!(
        e.wait_job(id, Some(Duration::from_millis(1))),
        Err(EngineError::Timeout)
    );
    e.release_job(id).unwrap();
    assert_eq!(e.release_job(id), Err(EngineError::StaleId));
    let s = e.stats();
    assert_eq!(s.jobs_submitted, 2);
}

#[test]
fn callbacks_are_contained_counted_and_can_unsubscribe_themselves() {
    let e = Arc::new(engine(4));
    let x: Arc<[f64]> = Arc::from(noise(2 * 1000, 1));
    e.subscribe(ALL_EVENTS, |_| panic!("a host callback panics"));
    let calls = Arc::new(AtomicUsize::new(0));
    let token = Arc::new(Mutex::new(None::<Token>));
    let (c, t, weak) = (calls.clone(), token.clone(), Arc::downgrade(&e));
    let own = e.subscribe(ALL_EVENTS, move |_| {
        c.fetch_add(1, Ordering::SeqCst);
        if let (Some(e), Some(tok)) = (weak.upgrade(), *t.lock().unwrap()) {
            assert_eq!(e.flush_events(), Err(EngineError::InUse));
            e.unsubscribe(tok).unwrap();
        }
    });
    *token.lock().unwrap() = Some(own);
    for key in 0..3 {
        e.open_stream(
            key,
            x.clone(),
            2,
            SR,
            &PipelineConfig::default(),
            &stream_options(0.01),
        )
        .unwrap();
    }
    e.flush_events().unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "called after unsubscribing itself"
    );
    assert_eq!(e.unsubscribe(own), Err(EngineError::StaleId));
    assert_eq!(e.unsubscribe(Token(0)), Err(EngineError::StaleId));
    let s = e.stats();
    assert_eq!(s.callback_errors, 3);
    assert_eq!(s.callbacks_invoked, 4);
    assert_eq!(s.subscriptions, 1);
}

#[test]
fn a_second_listener_and_seeks_reuse_cached_chunks() {
    let e = engine(4);
    let total = 4 * SR as usize;
    let x: Arc<[f64]> = Arc::from(noise(2 * total, 4));
    let o = stream_options(1.0);
    let a = e.open_stream(1, x.clone(), 2, SR, &eq(), &o).unwrap();
    let first = read_all(&e, a, total);
    let rendered = e.stats().chunks_rendered;
    assert_eq!(rendered, 4);
    let b = e.open_stream(2, x.clone(), 2, SR, &eq(), &o).unwrap();
    let second = read_all(&e, b, total);
    assert_eq!(first, second);
    e.seek(b, 0.5).unwrap();
    let _ = read_all(&e, b, SR as usize);
    let s = e.stats();
    assert_eq!(
        s.chunks_rendered, rendered,
        "the second listener rendered again"
    );
    assert!(s.cache.hits >= 5, "{:?}", s.cache);
}

// ---------------------------------------------------------------------------------------------
// Race stress tests.

#[test]
fn replace_storm_leaves_exactly_one_controllable_stream() {
    let e = Arc::new(engine(4));
    let x: Arc<[f64]> = Arc::from(noise(2 * 4410, 1));
    let per_thread = 250 * rounds();
    let issued = Arc::new(Mutex::new(Vec::new()));
    let barrier = Arc::new(Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (e, x, issued, barrier) = (e.clone(), x.clone(), issued.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let mut mine = Vec::with_capacity(per_thread);
                for i in 0..per_thread {
                    let id = e
                        .open_stream(
                            42,
                            x.clone(),
                            2,
                            SR,
                            &PipelineConfig::default(),
                            &stream_options(0.05),
                        )
                        .unwrap();
                    mine.push(id);
                    // Control it right away; it may already be replaced (then: stale, nothing else).
                    match e.set_paused(id, true) {
                        Ok(()) | Err(EngineError::StaleId) => {}
                        Err(other) => panic!("{other:?}"),
                    }
                    if i % 7 == 0 {
                        match e.close_stream(id) {
                            Ok(()) | Err(EngineError::StaleId) => {}
                            Err(other) => panic!("{other:?}"),
                        }
                    }
                    let s = e.stats();
                    assert!(s.streams_open <= 1, "two streams for one key: {s:?}");
                }
                issued.lock().unwrap().extend(mine);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let issued = issued.lock().unwrap().clone();
    assert_eq!(issued.len(), 16 * per_thread);
    assert_eq!(
        issued.iter().collect::<HashSet<_>>().len(),
        issued.len(),
        "an id was issued twice"
    );
    // Exactly one (or, if the very last action was a close, zero) live stream for the key; open
    // one more to make the end state deterministic.
    let last = e
        .open_stream(
            42,
            x.clone(),
            2,
            SR,
            &PipelineConfig::default(),
            &stream_options(0.05),
        )
        .unwrap();
    let s = e.stats();
    assert_eq!(s.streams_open, 1);
    assert_eq!(e.stream_for_key(42), Some(last));
    let mut buf = vec![0.0; 64];
    for id in &issued {
        assert_eq!(e.read(*id, &mut buf), Err(EngineError::StaleId));
    }
    e.set_paused(last, true).unwrap();
    assert_eq!(e.read(last, &mut buf), Ok(0));
    e.set_paused(last, false).unwrap();
    e.seek(last, 0.0).unwrap();
    e.close_stream(last).unwrap();
    assert_eq!(e.stats().streams_open, 0);
}

#[test]
fn cap_storm_never_exceeds_max_streams_and_frees_every_slot() {
    let e = Arc::new(engine(10));
    let x: Arc<[f64]> = Arc::from(noise(2 * 4410, 1));
    let live = Arc::new(AtomicUsize::new(0));
    let worst = Arc::new(AtomicUsize::new(0));
    let busy = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(64));
    let threads: Vec<_> = (0..64u64)
        .map(|t| {
            let (e, x, live, worst, busy, barrier) = (
                e.clone(),
                x.clone(),
                live.clone(),
                worst.clone(),
                busy.clone(),
                barrier.clone(),
            );
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..(10 * rounds() as u64) {
                    let key = t * 1000 + i;
                    match e.open_stream(
                        key,
                        x.clone(),
                        2,
                        SR,
                        &PipelineConfig::default(),
                        &stream_options(0.05),
                    ) {
                        Ok(id) => {
                            let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                            worst.fetch_max(now, Ordering::SeqCst);
                            let s = e.stats();
                            assert!(s.streams_open <= 10, "{s:?}");
                            e.read(id, &mut [0.0; 2]).unwrap();
                            live.fetch_sub(1, Ordering::SeqCst);
                            e.close_stream(id).unwrap();
                        }
                        Err(EngineError::Busy) => {
                            busy.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(other) => panic!("{other:?}"),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(worst.load(Ordering::SeqCst) <= 10);
    let s = e.stats();
    assert_eq!(s.streams_open, 0);
    assert!(s.streams_peak <= 10 && s.streams_peak >= 1);
    assert_eq!(s.busy_refusals, busy.load(Ordering::SeqCst) as u64);
    assert_eq!(s.streams_opened + s.busy_refusals, 640 * rounds() as u64);
    // Every slot is free again: ten distinct keys open at once.
    let ids: Vec<_> = (0..10)
        .map(|k| {
            e.open_stream(
                k,
                x.clone(),
                2,
                SR,
                &PipelineConfig::default(),
                &stream_options(0.05),
            )
            .unwrap()
        })
        .collect();
    assert_eq!(
        e.open_stream(
            99,
            x.clone(),
            2,
            SR,
            &PipelineConfig::default(),
            &stream_options(0.05)
        ),
        Err(EngineError::Busy)
    );
    for id in ids {
        e.close_stream(id).unwrap();
    }
}

#[test]
fn start_race_starts_exactly_one_job_per_key() {
    let e = Arc::new(engine(1));
    // Long enough (60 s with an EQ) to outlive the storm; the content id skips hashing.
    let x: Arc<[f64]> = Arc::from(noise(2 * 60 * SR as usize, 5));
    let options = JobOptions {
        render: render_config(5.0),
        key: Some(77),
        content_id: Some(1),
    };
    let barrier = Arc::new(Barrier::new(100));
    let results: Vec<Result<JobId, EngineError>> = (0..100)
        .map(|_| {
            let (e, x, barrier) = (e.clone(), x.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                e.submit_render(x, 2, SR, &eq(), &options)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let started: Vec<JobId> = results.iter().filter_map(|r| r.ok()).collect();
    assert_eq!(started.len(), 1, "{results:?}");
    for r in &results {
        assert!(
            r.is_ok() || *r == Err(EngineError::AlreadyRunning(started[0])),
            "{r:?}"
        );
    }
    assert_eq!(e.stats().jobs_submitted, 1);
    e.cancel_job(started[0]).unwrap();
    assert_eq!(e.wait_job(started[0], None), Ok(JobState::Cancelled));
    // With the first one over, the key is free again.
    let again = e.submit_render(x, 2, SR, &eq(), &options).unwrap();
    e.release_job(again).unwrap();
}

#[test]
fn callback_race_no_call_after_unsubscribe_no_double_calls_exact_counts() {
    let e = Arc::new(engine(8));
    let x: Arc<[f64]> = Arc::from(noise(2 * 441, 1));
    // A permanent subscriber counts every event once.
    let permanent = Arc::new(Mutex::new(Vec::<u64>::new()));
    let log = permanent.clone();
    let emitted_before = e.stats().events_emitted;
    e.subscribe(ALL_EVENTS, move |ev| log.lock().unwrap().push(ev.seq));
    let stop = Arc::new(AtomicBool::new(false));
    let violations = Arc::new(AtomicU64::new(0));
    let emitters: Vec<_> = (0..3u64)
        .map(|t| {
            let (e, x, stop) = (e.clone(), x.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let key = t * 1_000_000 + (i % 2);
                    if let Ok(id) = e.open_stream(
                        key,
                        x.clone(),
                        2,
                        SR,
                        &PipelineConfig::default(),
                        &stream_options(0.005),
                    ) {
                        let _ = e.close_stream(id);
                    }
                    i += 1;
                }
            })
        })
        .collect();
    let churners: Vec<_> = (0..3)
        .map(|_| {
            let (e, violations) = (e.clone(), violations.clone());
            std::thread::spawn(move || {
                // Churn until enough events were emitted during the churn to mean something.
                let mut i = 0;
                while i < 150 * rounds() || e.stats().events_emitted - emitted_before < 400 {
                    i += 1;
                    let gone = Arc::new(AtomicBool::new(false));
                    let last = Arc::new(AtomicU64::new(0));
                    let (g, l, v) = (gone.clone(), last.clone(), violations.clone());
                    let token = e.subscribe(ALL_EVENTS, move |ev| {
                        if g.load(Ordering::SeqCst) {
                            v.fetch_add(1, Ordering::SeqCst); // called after unsubscribe returned
                        }
                        if l.swap(ev.seq, Ordering::SeqCst) >= ev.seq {
                            v.fetch_add(1, Ordering::SeqCst); // a repeat or out of order
                        }
                        std::thread::yield_now();
                    });
                    std::thread::sleep(Duration::from_micros(200));
                    e.unsubscribe(token).unwrap();
                    gone.store(true, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in churners {
        t.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for t in emitters {
        t.join().unwrap();
    }
    e.flush_events().unwrap();
    assert_eq!(violations.load(Ordering::SeqCst), 0);
    let seen = permanent.lock().unwrap().clone();
    let emitted = e.stats().events_emitted - emitted_before;
    assert!(emitted >= 400, "too few events to mean anything: {emitted}");
    assert_eq!(
        seen.len() as u64,
        emitted,
        "the permanent subscriber missed or repeated events"
    );
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(e.stats().subscriptions, 1);
}

#[test]
fn stats_snapshots_stay_consistent_under_load() {
    let e = Arc::new(engine(3));
    let x: Arc<[f64]> = Arc::from(noise(2 * SR as usize, 6));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4u64)
        .map(|t| {
            let (e, x, stop) = (e.clone(), x.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(id) = e.open_stream(
                        t * 10 + i % 3,
                        x.clone(),
                        2,
                        SR,
                        &eq(),
                        &stream_options(0.25),
                    ) {
                        let _ = e.read(id, &mut [0.0; 512]);
                        if i % 2 == 0 {
                            let _ = e.close_stream(id);
                        }
                    }
                    if i % 5 == 0 {
                        let options = JobOptions {
                            render: render_config(0.25),
                            key: Some(t),
                            ..JobOptions::default()
                        };
                        if let Ok(job) = e.submit_render(x.clone(), 2, SR, &eq(), &options) {
                            if i % 2 == 0 {
                                let _ = e.cancel_job(job);
                            }
                            let _ = e.wait_job(job, None);
                            let _ = e.take_result::<f64>(job);
                        }
                    }
                    i += 1;
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_millis(1500 * rounds() as u64);
    let mut prev = e.stats();
    let mut snapshots = 0;
    while Instant::now() < deadline {
        let s = e.stats();
        assert!(s.streams_open <= s.max_streams, "{s:?}");
        assert!(s.streams_peak <= s.max_streams);
        assert_eq!(
            s.streams_open,
            s.streams_opened - s.streams_replaced - s.streams_closed,
            "open streams do not add up: {s:?}"
        );
        assert!(s.jobs_running <= s.jobs_held);
        assert_eq!(
            s.jobs_submitted,
            s.jobs_running + s.jobs_done + s.jobs_cancelled + s.jobs_failed,
            "jobs do not add up: {s:?}"
        );
        assert!(s.cache.bytes <= s.cache.capacity);
        for (a, b) in [
            (prev.streams_opened, s.streams_opened),
            (prev.jobs_submitted, s.jobs_submitted),
            (prev.cache.hits, s.cache.hits),
            (prev.frames_rendered, s.frames_rendered),
            (prev.events_emitted, s.events_emitted),
            (prev.underrun_frames, s.underrun_frames),
        ] {
            assert!(a <= b, "a counter went backwards: {prev:?} -> {s:?}");
        }
        prev = s;
        snapshots += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    assert!(snapshots > 10);
    let s = e.stats();
    assert_eq!(s.jobs_running, 0);
    assert_eq!(s.jobs_failed, 0, "{s:?}");
}

#[test]
fn a_jobs_finished_event_is_emitted_before_its_waiters_wake() {
    // A host that waits for a job and then flushes the events must see the job's JobFinished
    // event: it is emitted before the job's state turns final, not after.
    let e = engine(1);
    let x: Arc<[f64]> = Arc::from(noise(2 * 4410, 8));
    let finished = Arc::new(Mutex::new(Vec::new()));
    let log = finished.clone();
    e.subscribe(EventKind::JobFinished as u32, move |ev| {
        log.lock().unwrap().push(ev.id)
    });
    let options = JobOptions {
        render: render_config(0.05),
        ..JobOptions::default()
    };
    for round in 0..200 {
        let id = e
            .submit_render(x.clone(), 2, SR, &PipelineConfig::default(), &options)
            .unwrap();
        if round % 2 == 1 {
            e.cancel_job(id).unwrap();
        }
        e.wait_job(id, None).unwrap();
        e.flush_events().unwrap();
        assert_eq!(
            finished.lock().unwrap().last(),
            Some(&id.0),
            "round {round}: the job had ended but its JobFinished event was not emitted yet"
        );
        e.release_job(id).unwrap();
    }
}

#[test]
fn a_keys_events_follow_its_streams_lifecycle_under_a_replace_storm() {
    // Each stream's StreamOpened comes before its StreamClosed, so a host that tracks a key's
    // live stream by replaying the events ends with the stream that is really live. (Events of
    // a replacement emitted after the registry lock was released could overtake each other:
    // B replacing Y reported "Y closed" before A, which had opened Y, reported "Y opened".)
    let e = Arc::new(engine(4));
    let x: Arc<[f64]> = Arc::from(noise(2 * 441, 1));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    e.subscribe(
        EventKind::StreamOpened as u32 | EventKind::StreamClosed as u32,
        move |ev| log.lock().unwrap().push((ev.kind, ev.id)),
    );
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (e, x, barrier) = (e.clone(), x.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..100 * rounds() {
                    let id = e
                        .open_stream(
                            9,
                            x.clone(),
                            2,
                            SR,
                            &PipelineConfig::default(),
                            &stream_options(0.005),
                        )
                        .unwrap();
                    if i % 5 == 0 {
                        let _ = e.close_stream(id);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let last = e
        .open_stream(
            9,
            x.clone(),
            2,
            SR,
            &PipelineConfig::default(),
            &stream_options(0.005),
        )
        .unwrap();
    e.flush_events().unwrap();
    let seen = seen.lock().unwrap().clone();
    let mut opened = HashSet::new();
    let mut closed_first = 0;
    let mut live = None;
    for (kind, id) in &seen {
        match kind {
            EventKind::StreamOpened => {
                assert!(opened.insert(*id), "{id:x} opened twice");
                live = Some(*id);
            }
            _ => {
                if !opened.contains(id) {
                    closed_first += 1;
                }
                if live == Some(*id) {
                    live = None;
                }
            }
        }
    }
    assert_eq!(closed_first, 0, "streams reported closed before opened");
    assert_eq!(
        live,
        Some(last.0),
        "replaying the events gives the wrong live stream"
    );
    assert_eq!(seen.len() as u64, 2 * e.stats().streams_opened - 1);
}

#[test]
fn a_released_job_holds_its_place_until_it_stops() {
    let e = Engine::new(EngineConfig {
        max_streams: 1,
        worker_threads: 1,
        cache_bytes: 0,
        max_jobs: 1,
    })
    .unwrap();
    let x: Arc<[f64]> = Arc::from(noise(2 * 60 * SR as usize, 8));
    let options = JobOptions {
        render: render_config(1.0),
        ..JobOptions::default()
    };
    let id = e.submit_render(x.clone(), 2, SR, &eq(), &options).unwrap();
    e.release_job(id).unwrap();
    // Still stopping: it counts against max_jobs, and running never exceeds held.
    let s = e.stats();
    assert!(s.jobs_running <= s.jobs_held, "{s:?}");
    match e.submit_render(x.clone(), 2, SR, &eq(), &options) {
        Err(EngineError::Busy) => {}
        // Only once the released job has stopped may another take its place.
        Ok(other) => {
            assert_eq!(e.stats().jobs_held, 1);
            e.release_job(other).unwrap();
        }
        Err(other) => panic!("{other:?}"),
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while e.stats().jobs_running > 0 {
        assert!(Instant::now() < deadline, "the released job never stopped");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(e.stats().jobs_held, 0);
    let again = e.submit_render(x, 2, SR, &eq(), &options).unwrap();
    e.release_job(again).unwrap();
}
