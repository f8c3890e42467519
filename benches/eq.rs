//! The EQ against its floor.
//!
//! - `stream/*`: the streaming equalizer on 10 s of stereo 44.1 kHz noise in 256- and
//!   4096-frame blocks, against a bare realfft forward+inverse loop at the same FFT size and hop
//!   over the same samples (the least any FFT-domain filter must do).
//! - `offline/*`: `equalize` of 180 s of stereo with 25 critical-band gains, 1 thread vs all,
//!   against a bare realfft overlap-save loop (frame copy, forward, kernel product, inverse,
//!   hop copy) over the same samples on one thread.
//!
//! Run: `cargo bench --bench eq`.

mod common;

use common::{noise, overlap_save_floor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use realfft::RealFftPlanner;
use std::hint::black_box;
use std::time::Duration;
use tonecore::dsp::fir::FirDesigner;
use tonecore::dsp::Complex;
use tonecore::pipeline::{Equalizer, EqualizerConfig, Processor};
use tonecore::spectral::{equalize, EqualizeConfig};

const RATE: usize = 44_100;

fn gains() -> Vec<f64> {
    (0..25).map(|b| ((b * 7) % 13) as f64 - 6.0).collect()
}

fn bench_stream(c: &mut Criterion) {
    let n = 4096;
    let hop = n - FirDesigner::kernel_len(n) + 1;
    let frames = 10 * RATE;
    let x = noise(2 * frames, 7, 1.0);
    let mut group = c.benchmark_group("eq_stream_10s_stereo");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Elements((2 * frames) as u64));

    let mut planner = RealFftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let mut time = vec![0.0f32; n];
    let mut spec = vec![Complex::new(0.0f32, 0.0); n / 2 + 1];
    let mut scratch =
        vec![Complex::new(0.0f32, 0.0); fwd.get_scratch_len().max(inv.get_scratch_len())];
    let mut sink = vec![0.0f32; 2 * frames];
    group.bench_function(
        BenchmarkId::new("floor_fft_pair", format!("N{n}_hop{hop}")),
        |b| {
            b.iter(|| {
                for ch in 0..2 {
                    let signal = &x[ch * frames..(ch + 1) * frames];
                    let mut pos = 0;
                    while pos + n <= frames {
                        time.copy_from_slice(&signal[pos..pos + n]);
                        fwd.process_with_scratch(&mut time, &mut spec, &mut scratch)
                            .unwrap();
                        spec[0].im = 0.0;
                        spec[n / 2].im = 0.0;
                        inv.process_with_scratch(&mut spec, &mut time, &mut scratch)
                            .unwrap();
                        sink[ch * frames + pos..ch * frames + pos + hop]
                            .copy_from_slice(&time[n - hop..]);
                        pos += hop;
                    }
                }
                black_box(&sink);
            })
        },
    );
    for block in [256usize, 4096] {
        let mut eq = Equalizer::<f32>::new(EqualizerConfig {
            gains_db: Some(gains()),
            ..EqualizerConfig::new(RATE as u32, 2, block)
        })
        .unwrap();
        let mut inb = vec![0.0f32; 2 * block];
        let mut outb = vec![0.0f32; 2 * block];
        group.bench_function(
            BenchmarkId::new("equalizer", format!("block{block}")),
            |b| {
                b.iter(|| {
                    let mut pos = 0;
                    while pos + block <= frames {
                        inb[..block].copy_from_slice(&x[pos..pos + block]);
                        inb[block..].copy_from_slice(&x[frames + pos..frames + pos + block]);
                        eq.process(&inb, &mut outb).unwrap();
                        pos += block;
                    }
                    black_box(&outb);
                })
            },
        );
    }
    group.finish();
}

fn bench_offline(c: &mut Criterion) {
    let frames = 180 * RATE;
    let x = noise(2 * frames, 3, 1.0);
    let mut y = vec![0.0f32; 2 * frames];
    let mut group = c.benchmark_group("eq_offline_180s_stereo");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements((2 * frames) as u64));
    // The floor: a bare realfft overlap-save loop over the same data, one thread.
    let mut floor_out = vec![0.0f32; 2 * frames];
    let mut floor = overlap_save_floor(&x, &mut floor_out, 2, 4096);
    group.bench_function("floor_overlap_save_1_thread", |b| b.iter(&mut floor));
    for (name, threads) in [("1_thread", 1usize), ("all_threads", 0)] {
        let cfg = EqualizeConfig {
            threads,
            ..EqualizeConfig::new(RATE as u32)
        };
        group.bench_function(name, |b| {
            b.iter(|| equalize(black_box(&x), 2, &mut y, &gains(), &cfg, None).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_stream, bench_offline);
criterion_main!(benches);
