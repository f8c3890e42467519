//! The full chain against the EQ alone, at 256-frame stereo blocks, on 10 s of noise; and the
//! loudness meter on 180 s of stereo (integrated only, and the full measurement with loudness
//! range and true peak).
//!
//! Run: `cargo bench --bench pipeline`.

mod common;

use common::noise;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use tonecore::dsp::level::LevelSettings;
use tonecore::dsp::limiter::LimiterSettings;
use tonecore::dsp::loudness::{integrated, measure};
use tonecore::pipeline::{
    EqSettings, Equalizer, EqualizerConfig, Pipeline, PipelineConfig, Processor,
};

const RATE: usize = 44_100;

fn gains() -> Vec<f64> {
    (0..25).map(|b| ((b * 7) % 13) as f64 - 6.0).collect()
}

fn blocks(x: &[f32], frames: usize, block: usize, mut f: impl FnMut(&[f32], &mut [f32])) {
    let mut inb = vec![0.0f32; 2 * block];
    let mut outb = vec![0.0f32; 2 * block];
    let mut pos = 0;
    while pos + block <= frames {
        inb[..block].copy_from_slice(&x[pos..pos + block]);
        inb[block..].copy_from_slice(&x[frames + pos..frames + pos + block]);
        f(&inb, &mut outb);
        pos += block;
    }
    black_box(&outb);
}

fn bench_chain(c: &mut Criterion) {
    let frames = 10 * RATE;
    let block = 256;
    let x = noise(2 * frames, 9, 0.5);
    let mut group = c.benchmark_group("chain_10s_stereo_block256");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Elements((2 * frames) as u64));
    let mut eq = Equalizer::<f32>::new(EqualizerConfig {
        gains_db: Some(gains()),
        ..EqualizerConfig::new(RATE as u32, 2, block)
    })
    .unwrap();
    group.bench_function(BenchmarkId::new("eq_alone", block), |b| {
        b.iter(|| blocks(&x, frames, block, |i, o| eq.process(i, o).unwrap()))
    });
    let cfg = PipelineConfig {
        eq: Some(EqSettings::critical(gains())),
        level: Some(LevelSettings::default()),
        limiter: Some(LimiterSettings::default()),
        ..PipelineConfig::default()
    };
    let mut p = Pipeline::<f32>::new(RATE as u32, 2, block, &cfg).unwrap();
    group.bench_function(BenchmarkId::new("eq_level_limiter", block), |b| {
        b.iter(|| blocks(&x, frames, block, |i, o| p.process(i, o).unwrap()))
    });
    group.finish();
}

fn bench_loudness(c: &mut Criterion) {
    let frames = 180 * RATE;
    let x: Vec<f64> = noise(2 * frames, 5, 0.5)
        .into_iter()
        .map(f64::from)
        .collect();
    let mut group = c.benchmark_group("loudness_180s_stereo");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements((2 * frames) as u64));
    group.bench_function("integrated", |b| {
        b.iter(|| integrated(black_box(&x), 2, RATE as u32).unwrap())
    });
    group.bench_function("full_with_lra_and_true_peak", |b| {
        b.iter(|| measure(black_box(&x), 2, RATE as u32).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_chain, bench_loudness);
criterion_main!(benches);
