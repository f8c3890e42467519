//! Inputs shared by the benchmarks.
#![allow(dead_code)]

use realfft::RealFftPlanner;
use tonecore::dsp::fir::FirDesigner;
use tonecore::dsp::level::LevelSettings;
use tonecore::dsp::limiter::LimiterSettings;
use tonecore::dsp::Complex;
use tonecore::pipeline::{EqSettings, PipelineConfig};

/// `len` samples of xorshift white noise in ±`amplitude`, reproducible from `seed`.
pub fn noise(len: usize, seed: u64, amplitude: f32) -> Vec<f32> {
    let mut s = seed | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 23) as f32 - 1.0) * amplitude
        })
        .collect()
}

/// EQ (25 critical bands, ±6 dB) → level matcher → limiter, default settings otherwise.
pub fn full_chain() -> PipelineConfig {
    PipelineConfig {
        eq: Some(EqSettings::critical(
            (0..25).map(|b| ((b * 7) % 13) as f64 - 6.0).collect(),
        )),
        level: Some(LevelSettings::default()),
        limiter: Some(LimiterSettings::default()),
        ..PipelineConfig::default()
    }
}

/// The floor of offline EQ: a bare realfft overlap-save loop over planar `x` (`channels` rows)
/// into `y` at FFT size `n` with the EQ's hop — frame copy, forward, kernel product, inverse,
/// hop copy — on one thread. Returns a closure that runs it once.
pub fn overlap_save_floor<'a>(
    x: &'a [f32],
    y: &'a mut [f32],
    channels: usize,
    n: usize,
) -> impl FnMut() + 'a {
    let frames = x.len() / channels;
    let hop = n - FirDesigner::kernel_len(n) + 1;
    let mut planner = RealFftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let kernel: Vec<Complex<f32>> = (0..=n / 2)
        .map(|k| Complex::new(1.0 / n as f32, k as f32 * 1e-6))
        .collect();
    let mut time = vec![0.0f32; n];
    let mut spec = vec![Complex::new(0.0f32, 0.0); n / 2 + 1];
    let mut scratch =
        vec![Complex::new(0.0f32, 0.0); fwd.get_scratch_len().max(inv.get_scratch_len())];
    move || {
        for ch in 0..channels {
            let signal = &x[ch * frames..(ch + 1) * frames];
            let out = &mut y[ch * frames..(ch + 1) * frames];
            let mut pos = 0;
            while pos + n <= frames {
                time.copy_from_slice(&signal[pos..pos + n]);
                fwd.process_with_scratch(&mut time, &mut spec, &mut scratch)
                    .unwrap();
                for (s, k) in spec.iter_mut().zip(&kernel) {
                    *s *= *k;
                }
                spec[0].im = 0.0;
                spec[n / 2].im = 0.0;
                inv.process_with_scratch(&mut spec, &mut time, &mut scratch)
                    .unwrap();
                out[pos..pos + hop].copy_from_slice(&time[n - hop..]);
                pos += hop;
            }
        }
    }
}

/// Prints the mean, p99, p99.9 and maximum of per-call `times` (seconds) and the p99.9 and
/// maximum as a share of the block `period` (seconds): an audio callback is judged by its worst
/// case.
pub fn report_block_times(label: &str, mut times: Vec<f64>, period: f64) {
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "{label}: mean {:.1} us, p99 {:.1} us, p99.9 {:.1} us, max {:.1} us; \
         p99.9 = {:.2}% and max = {:.2}% of the {:.2} ms block period",
        mean * 1e6,
        pct(0.99) * 1e6,
        pct(0.999) * 1e6,
        times[times.len() - 1] * 1e6,
        100.0 * pct(0.999) / period,
        100.0 * times[times.len() - 1] / period,
        period * 1e3
    );
}
