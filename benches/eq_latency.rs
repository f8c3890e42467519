//! Worst-case time of one 256-frame stereo `Equalizer::process` and `Pipeline::process`
//! (EQ → level → limiter) call over 100 000 calls, as a fraction of the 5.8 ms block period at
//! 44.1 kHz; also with a parameter change every 100 calls.
//!
//! Run: `cargo bench --bench eq_latency` (prints percentiles; not a criterion bench: criterion
//! reports means, and an audio callback is judged by its worst case).

mod common;

use std::time::Instant;
use tonecore::dsp::level::LevelSettings;
use tonecore::dsp::limiter::LimiterSettings;
use tonecore::pipeline::{
    EqSettings, Equalizer, EqualizerConfig, Pipeline, PipelineConfig, Processor,
};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let block = 256;
    let calls = 100_000;
    let period = block as f64 / 44_100.0;
    let x: Vec<f32> = (0..2 * block)
        .map(|i| ((i * 7919) % 2000) as f32 / 1000.0 - 1.0)
        .collect();
    let mut y = vec![0.0f32; 2 * block];
    for changes in [false, true] {
        let suffix = if changes {
            " (gain change every 100 calls)"
        } else {
            ""
        };
        let mut eq = Equalizer::<f32>::new(EqualizerConfig::new(44_100, 2, block)).unwrap();
        let control = eq.control();
        let mut times = Vec::with_capacity(calls);
        for i in 0..calls {
            if changes && i % 100 == 0 {
                // Designed here, on the "control" side, between audio calls.
                let g = if (i / 100) % 2 == 0 { 6.0 } else { -6.0 };
                control.set_gains(&[g; 25]).unwrap();
            }
            let t = Instant::now();
            eq.process(&x, &mut y).unwrap();
            times.push(t.elapsed().as_secs_f64());
        }
        common::report_block_times(
            &format!("eq 256-frame stereo process{suffix}"),
            times,
            period,
        );

        let config = PipelineConfig {
            eq: Some(EqSettings::critical(vec![2.0; 25])),
            level: Some(LevelSettings::default()),
            limiter: Some(LimiterSettings::default()),
            ..PipelineConfig::default()
        };
        let mut pipeline = Pipeline::<f32>::new(44_100, 2, block, &config).unwrap();
        let params = pipeline.params();
        let mut times = Vec::with_capacity(calls);
        for i in 0..calls {
            if changes && i % 100 == 0 {
                let g = if (i / 100) % 2 == 0 { 6.0 } else { -6.0 };
                params.set_eq_gains(&[g; 25]).unwrap();
                params.set_level_target(-14.0 - g).unwrap();
            }
            let t = Instant::now();
            pipeline.process(&x, &mut y).unwrap();
            times.push(t.elapsed().as_secs_f64());
        }
        common::report_block_times(
            &format!("pipeline 256-frame stereo process{suffix}"),
            times,
            period,
        );
    }
}
