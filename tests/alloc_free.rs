//! The single-threaded STFT and ISTFT never allocate once built (allocation guard).

use assert_no_alloc::{assert_no_alloc, AllocDisabler};
use tonecore::dsp::Complex;
use tonecore::spectral::{Istft, Stft, StftConfig};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

#[test]
fn stft_and_istft_process_without_allocating() {
    // Power of two, odd multiple of two, and twice a prime.
    for n in [1024usize, 1030, 2 * 1021] {
        let cfg = StftConfig {
            hop: n / 4,
            threads: 1,
            ..StftConfig::new(n)
        };
        let mut stft = Stft::<f32>::new(cfg).unwrap();
        let mut istft = Istft::<f32>::new(cfg).unwrap();
        let x: Vec<f32> = (0..2 * 8 * n)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
            .collect();
        let mut spec = vec![Complex::new(0.0f32, 0.0); stft.output_len(2, 8 * n).unwrap()];
        let frames = cfg.frame_count(8 * n);
        let mut y = vec![0.0f32; istft.output_len(2, frames).unwrap()];
        assert_no_alloc(|| {
            let f = stft.process(&x, 2, &mut spec).unwrap();
            assert_eq!(f, frames);
            istft.process(&spec, 2, &mut y).unwrap();
        });
        assert!((y[n * 2] - x[n * 2]).abs() < 1e-4);
    }
}

#[test]
fn equalizer_audio_path_never_allocates() {
    use tonecore::pipeline::{Equalizer, EqualizerConfig, Processor};
    for (fft_size, block) in [(4096usize, 256usize), (4094, 127), (2 * 1021, 1031)] {
        let mut eq = Equalizer::<f32>::new(EqualizerConfig {
            fft_size,
            ..EqualizerConfig::new(44_100, 2, block)
        })
        .unwrap();
        let control = eq.control();
        let x: Vec<f32> = (0..2 * block)
            .map(|i| ((i * 31) % 17) as f32 / 17.0 - 0.5)
            .collect();
        let mut y = vec![0.0f32; 2 * block];
        for round in 0..30 {
            // Design happens on this (control) thread, outside the guard.
            if round % 3 == 0 {
                let g = if round % 2 == 0 { 6.0 } else { -6.0 };
                control.set_gains(&[g; 25]).unwrap();
            }
            assert_no_alloc(|| {
                for _ in 0..20 {
                    eq.process(&x, &mut y).unwrap();
                    eq.process_interleaved(&x, &mut y).unwrap();
                }
                if round == 10 {
                    eq.reset();
                }
            });
        }
        assert!(y.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn equalizer_c_entry_points_never_allocate_on_the_audio_path() {
    use std::ptr;
    use tonecore::ffi::*;
    unsafe {
        let mut cfg = std::mem::zeroed::<tonecore_equalizer_config>();
        assert_eq!(
            tonecore_equalizer_config_init(&mut cfg),
            tonecore_status::Ok
        );
        cfg.max_block = 509;
        let mut eq = ptr::null_mut();
        assert_eq!(tonecore_equalizer_new(&cfg, &mut eq), tonecore_status::Ok);
        let x = vec![0.25f32; 2 * 509];
        let mut y = vec![0.0f32; 2 * 509];
        for round in 0..12 {
            let gains = [round as f64 - 6.0; 25];
            assert_eq!(
                tonecore_equalizer_set_gains(eq, gains.as_ptr(), 25),
                tonecore_status::Ok
            );
            assert_no_alloc(|| {
                for _ in 0..10 {
                    let s = tonecore_equalizer_process_f32(
                        eq,
                        x.as_ptr(),
                        x.len(),
                        y.as_mut_ptr(),
                        y.len(),
                    );
                    assert_eq!(s, tonecore_status::Ok);
                    let s = tonecore_equalizer_process_interleaved_f32(
                        eq,
                        x.as_ptr(),
                        x.len(),
                        y.as_mut_ptr(),
                        y.len(),
                    );
                    assert_eq!(s, tonecore_status::Ok);
                }
                // A refused audio-path call allocates nothing either (no detail message).
                let s = tonecore_equalizer_process_f32(eq, x.as_ptr(), x.len(), y.as_mut_ptr(), 3);
                assert_eq!(s, tonecore_status::BufferTooSmall);
                let mut n = 0u64;
                assert_eq!(
                    tonecore_equalizer_nonfinite_count(eq, &mut n),
                    tonecore_status::Ok
                );
                assert_eq!(tonecore_equalizer_reset(eq), tonecore_status::Ok);
            });
        }
        tonecore_equalizer_free(eq);
    }
}

#[test]
fn pipeline_audio_path_never_allocates() {
    use tonecore::dsp::level::LevelSettings;
    use tonecore::dsp::limiter::LimiterSettings;
    use tonecore::pipeline::{EqSettings, Pipeline, PipelineConfig, Processor, Stage};
    for block in [256usize, 127, 1031] {
        let cfg = PipelineConfig {
            eq: Some(EqSettings::critical(vec![3.0; 25])),
            level: Some(LevelSettings::default()),
            limiter: Some(LimiterSettings::default()),
            ..PipelineConfig::default()
        };
        let mut p = Pipeline::<f32>::new(44_100, 2, block, &cfg).unwrap();
        let params = p.params();
        let x: Vec<f32> = (0..2 * block)
            .map(|i| ((i * 31) % 17) as f32 / 8.0 - 1.0)
            .collect();
        let mut y = vec![0.0f32; 2 * block];
        for round in 0..40 {
            // Control-side changes happen outside the guard.
            params.set_eq_gains(&[(round % 5) as f64; 25]).unwrap();
            params.set_level_target(-20.0 - (round % 4) as f64).unwrap();
            params.set_ceiling_db(-1.0 - (round % 2) as f64).unwrap();
            params.set_bypass(Stage::Limiter, round % 3 == 0);
            params.set_bypass(Stage::Level, round % 4 == 0);
            assert_no_alloc(|| {
                for _ in 0..10 {
                    p.process(&x, &mut y).unwrap();
                    p.process_interleaved(&x, &mut y).unwrap();
                }
                if round == 20 {
                    p.reset();
                }
            });
        }
        assert!(y.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn live_matched_pipeline_audio_path_never_allocates() {
    use tonecore::pipeline::{LiveMatchSettings, Pipeline, Processor};
    use tonecore::{live_match_config, profile, MatchSettings};
    let rate = 48_000;
    let reference: Vec<f64> = (0..2 * rate as usize)
        .map(|i| ((i * 7919) % 1013) as f64 / 1013.0 - 0.5)
        .collect();
    let reference = profile(&reference, 2, rate, 1).unwrap();
    let cfg = live_match_config(&reference, &MatchSettings::default(), rate).unwrap();
    let settings = LiveMatchSettings {
        warmup_s: 0.5,
        ..LiveMatchSettings::default()
    };
    for block in [64usize, 1031] {
        let mut p = Pipeline::<f32>::new(rate, 2, block, &cfg).unwrap();
        p.enable_live_match(&reference, &settings).unwrap();
        let params = p.params();
        let x: Vec<f32> = (0..2 * block)
            .map(|i| ((i * 31) % 17) as f32 / 8.0 - 1.0)
            .collect();
        let mut y = vec![0.0f32; 2 * block];
        let mut active = false;
        for round in 0..60 {
            // The control side (kernel design) runs outside the guard.
            active |= params.update_match().unwrap().active;
            assert_no_alloc(|| {
                for _ in 0..(4096 / block).max(1) {
                    p.process(&x, &mut y).unwrap();
                    p.process_interleaved(&x, &mut y).unwrap();
                }
                if round == 50 {
                    p.reset();
                }
            });
        }
        assert!(active, "block {block}: the live match never became active");
        assert!(y.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn low_latency_equalizer_and_pipeline_never_allocate() {
    // Minimum phase on the partitioned engine, through gain changes (crossfades between two
    // kernels' partitions), resets, both layouts, and the momentary leveller's K-weighting.
    use tonecore::dsp::level::{LevelMode, LevelSettings};
    use tonecore::dsp::limiter::LimiterSettings;
    use tonecore::pipeline::{
        EqSettings, Equalizer, EqualizerConfig, Pipeline, PipelineConfig, Processor,
    };
    for block in [1usize, 64, 1000] {
        let mut eq =
            Equalizer::<f32>::new(EqualizerConfig::new(48_000, 2, block).low_latency()).unwrap();
        let cfg = PipelineConfig {
            eq: Some(EqSettings::critical(vec![3.0; 25])),
            level: Some(LevelSettings {
                mode: LevelMode::Momentary,
                ..LevelSettings::default()
            }),
            limiter: Some(LimiterSettings::default()),
            ..PipelineConfig::default()
        }
        .low_latency(block);
        let mut p = Pipeline::<f32>::new(48_000, 2, block, &cfg).unwrap();
        let (control, params) = (eq.control(), p.params());
        let x: Vec<f32> = (0..2 * block)
            .map(|i| ((i * 31) % 17) as f32 / 8.0 - 1.0)
            .collect();
        let mut y = vec![0.0f32; 2 * block];
        let calls = (4096 / block).max(4);
        for round in 0..12 {
            let gains = [(round % 5) as f64 * 3.0 - 6.0; 25];
            control.set_gains(&gains).unwrap();
            params.set_eq_gains(&gains).unwrap();
            assert_no_alloc(|| {
                for _ in 0..calls {
                    eq.process(&x, &mut y).unwrap();
                    eq.process_interleaved(&x, &mut y).unwrap();
                    p.process(&x, &mut y).unwrap();
                    p.process_interleaved(&x, &mut y).unwrap();
                }
                if round == 6 {
                    eq.reset();
                    p.reset();
                }
            });
        }
        assert!(y.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn standalone_limiter_never_allocates() {
    use tonecore::dsp::limiter::LimiterSettings;
    use tonecore::pipeline::{PeakLimiter, Processor};
    let mut lim = PeakLimiter::<f32>::new(44_100, 2, &LimiterSettings::default()).unwrap();
    // Loud, quiet (the pure-delay fast path) and corrupt blocks.
    let loud: Vec<f32> = (0..512)
        .map(|i| ((i * 31) % 17) as f32 / 4.0 - 2.0)
        .collect();
    let quiet: Vec<f32> = loud.iter().map(|v| v * 0.1).collect();
    let mut corrupt = loud.clone();
    corrupt[3] = f32::NAN;
    let mut y = vec![0.0f32; 512];
    assert_no_alloc(|| {
        for round in 0..50 {
            lim.process(&loud, &mut y).unwrap();
            lim.process_interleaved(&quiet, &mut y).unwrap();
            lim.process(&quiet, &mut y).unwrap();
            lim.process(&corrupt, &mut y).unwrap();
            lim.process_in_place(&mut y).unwrap();
            lim.set_ceiling_db(-1.0 - (round % 3) as f64).unwrap();
            assert!(lim.process(&loud, &mut y[..10]).is_err());
            if round == 25 {
                lim.reset();
            }
        }
    });
    assert!(y.iter().all(|v| v.is_finite()));
}

#[test]
fn playback_reads_never_allocate_even_across_seeks() {
    use std::sync::Arc;
    use tonecore::pipeline::PipelineConfig;
    use tonecore::render::playback::open;
    use tonecore::render::{PlaybackConfig, RenderConfig};
    let x: Arc<[f32]> = (0..2 * 44_100 * 3)
        .map(|i| ((i * 13) % 101) as f32 / 101.0 - 0.5)
        .collect();
    let config = PlaybackConfig {
        render: RenderConfig {
            chunk_seconds: 0.5,
            ..RenderConfig::default()
        },
        ..PlaybackConfig::default()
    };
    let (mut reader, control) = open(x, 2, 44_100, PipelineConfig::default(), config).unwrap();
    let mut out = vec![0.0f32; 2 * 256];
    for round in 0..200 {
        if round % 40 == 20 {
            control.seek(0.1 * (round / 40) as f64).unwrap();
        }
        assert_no_alloc(|| {
            reader.read(&mut out);
        });
        std::thread::sleep(std::time::Duration::from_micros(300));
    }
    assert!(control.stats().frames_read >= 200 * 256);
}

#[test]
fn engine_reads_by_id_never_allocate_including_refusals() {
    use std::sync::Arc;
    use tonecore::engine::{Engine, EngineConfig, EngineError, StreamId, StreamOptions};
    use tonecore::pipeline::PipelineConfig;
    use tonecore::render::{PlaybackConfig, RenderConfig};
    let engine = Engine::new(EngineConfig {
        max_streams: 2,
        worker_threads: 1,
        ..EngineConfig::default()
    })
    .unwrap();
    let x: Arc<[f32]> = (0..2 * 44_100 * 3)
        .map(|i| ((i * 13) % 101) as f32 / 101.0 - 0.5)
        .collect();
    let options = StreamOptions {
        playback: PlaybackConfig {
            render: RenderConfig {
                chunk_seconds: 0.5,
                ..RenderConfig::default()
            },
            ..PlaybackConfig::default()
        },
        ..StreamOptions::default()
    };
    let id = engine
        .open_stream(1, x, 2, 44_100, &PipelineConfig::default(), &options)
        .unwrap();
    let mut out = vec![0.0f32; 2 * 256];
    let mut wrong = vec![0.0f64; 2 * 256];
    for round in 0..200 {
        if round % 40 == 20 {
            engine.seek(id, 0.1 * (round / 40) as f64).unwrap();
        }
        engine.set_paused(id, round % 50 == 49).unwrap();
        assert_no_alloc(|| {
            engine.read(id, &mut out).unwrap();
            assert_eq!(engine.read(id, &mut wrong), Err(EngineError::WrongFormat));
            assert_eq!(
                engine.read(StreamId(id.0 ^ 1), &mut out),
                Err(EngineError::StaleId)
            );
            assert!(engine.read(id, &mut out[..3]).is_err());
        });
        std::thread::sleep(std::time::Duration::from_micros(300));
    }
    assert!(engine.stream_stats(id).unwrap().0.frames_read >= 100 * 256);
}
