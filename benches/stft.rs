//! STFT of 180 s of stereo 44.1 kHz noise against the floor: a bare realfft loop over the same
//! frames (window multiply + forward FFT into a preallocated buffer), one thread and all threads.
//!
//! Run: `cargo bench --bench stft`. Compare the `floor` and `tonecore_1t` rows for the
//! single-thread overhead and `tonecore_1t` / `tonecore_all` for the parallel speedup.

mod common;

use common::noise;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use realfft::RealFftPlanner;
use std::hint::black_box;
use std::time::Duration;
use tonecore::dsp::{Complex, WindowKind};
use tonecore::spectral::{Stft, StftConfig};

const RATE: usize = 44_100;
const SECONDS: usize = 180;

/// The floor: what any STFT must do at least, with nothing else.
struct Floor {
    fft: std::sync::Arc<dyn realfft::RealToComplex<f32>>,
    window: Vec<f32>,
    frame: Vec<f32>,
    scratch: Vec<Complex<f32>>,
}

impl Floor {
    fn new(n: usize) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
        let scratch = fft.make_scratch_vec();
        Self {
            fft,
            window: WindowKind::Hann.generate::<f32>(n),
            frame: vec![0.0; n],
            scratch,
        }
    }
}

fn bare_realfft(
    floor: &mut Floor,
    input: &[f32],
    channels: usize,
    hop: usize,
    out: &mut [Complex<f32>],
) {
    let Floor {
        fft,
        window,
        frame,
        scratch,
    } = floor;
    let n = frame.len();
    let len = input.len() / channels;
    let frames = 1 + (len - n) / hop;
    let bins = n / 2 + 1;
    let mut chunks = out.chunks_exact_mut(bins);
    for c in 0..channels {
        let signal = &input[c * len..(c + 1) * len];
        for k in 0..frames {
            for ((f, &x), &w) in frame
                .iter_mut()
                .zip(&signal[k * hop..k * hop + n])
                .zip(&*window)
            {
                *f = x * w;
            }
            let dst = chunks.next().unwrap();
            fft.process_with_scratch(frame, dst, scratch).unwrap();
        }
    }
}

fn bench_stft(c: &mut Criterion) {
    let channels = 2;
    let len = RATE * SECONDS;
    let input = noise(channels * len, 0x2545_F491_4F6C_DD1D, 1.0);
    let mut group = c.benchmark_group("stft_180s_stereo");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.warm_up_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements((channels * len) as u64));
    for (n, hop) in [(2048usize, 512usize), (4096, 1024)] {
        let label = format!("N{n}_hop{hop}");
        let cfg = StftConfig {
            hop,
            ..StftConfig::new(n)
        };
        let mut out = vec![Complex::new(0.0f32, 0.0); channels * cfg.frame_count(len) * cfg.bins()];
        let mut floor = Floor::new(n);
        group.bench_function(BenchmarkId::new("floor", &label), |b| {
            b.iter(|| bare_realfft(&mut floor, black_box(&input), channels, hop, &mut out))
        });
        for (name, threads) in [("tonecore_1t", 1usize), ("tonecore_all", 0)] {
            let mut stft = Stft::<f32>::new(StftConfig { threads, ..cfg }).unwrap();
            group.bench_function(BenchmarkId::new(name, &label), |b| {
                b.iter(|| stft.process(black_box(&input), channels, &mut out).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_stft);
criterion_main!(benches);
