//! Inputs shared by the benchmarks.
#![allow(dead_code)]

use tonecore::dsp::level::LevelSettings;
use tonecore::dsp::limiter::LimiterSettings;
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
