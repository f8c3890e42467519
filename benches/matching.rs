//! Profiling and matching, measured in one run (prints a report; whole-job timings, best of 5
//! interleaved rounds, not criterion).
//!
//! Run: `cargo bench --bench matching` (under a minute). Reports:
//! - a 3-minute stereo 44.1 kHz track profiled on one thread, as a fraction of its duration
//!   (target: under 1/500), and on all threads;
//! - a 30 s stereo track matched to a reference profile (profile, EQ render, loudness passes,
//!   output profile) on one thread and on all threads, as a fraction of its duration.

mod common;

use common::noise;
use std::time::Instant;
use tonecore::{match_track, profile, MatchSettings, RenderConfig, Watch};

const RATE: u32 = 44_100;

fn main() {
    let long = noise(2 * 180 * RATE as usize, 7, 0.3);
    let short = &long[..2 * 30 * RATE as usize];
    // Both channels of the short track from the long noise: planar halves of one buffer.
    let reference = profile(&noise(2 * 30 * RATE as usize, 9, 0.5), 2, RATE, 0).unwrap();
    let mut out = vec![0.0f32; short.len()];
    let one = RenderConfig {
        threads: 1,
        ..RenderConfig::default()
    };
    let all = RenderConfig::default();
    let mut best = [f64::INFINITY; 4];
    for _ in 0..5 {
        let timed = |f: &mut dyn FnMut()| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        };
        // Interleaved: every quantity once per round.
        let rounds = [
            timed(&mut || {
                profile(&long, 2, RATE, 1).unwrap();
            }),
            timed(&mut || {
                profile(&long, 2, RATE, 0).unwrap();
            }),
            timed(&mut || {
                let settings = MatchSettings::default();
                match_track(
                    short,
                    2,
                    RATE,
                    &reference,
                    &settings,
                    &one,
                    &mut out,
                    Watch::default(),
                )
                .unwrap();
            }),
            timed(&mut || {
                let settings = MatchSettings::default();
                match_track(
                    short,
                    2,
                    RATE,
                    &reference,
                    &settings,
                    &all,
                    &mut out,
                    Watch::default(),
                )
                .unwrap();
            }),
        ];
        for (b, r) in best.iter_mut().zip(rounds) {
            *b = b.min(r);
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "matching (best of 5 interleaved rounds; load average {})",
        load.trim()
    );
    println!(
        "  profile 180 s stereo, 1 thread:   {:.3} s = 1/{:.0} of its duration (target < 1/500)",
        best[0],
        180.0 / best[0]
    );
    println!(
        "  profile 180 s stereo, all cores:  {:.3} s = 1/{:.0}",
        best[1],
        180.0 / best[1]
    );
    println!(
        "  match 30 s stereo, 1 thread:      {:.3} s = 1/{:.0}",
        best[2],
        30.0 / best[2]
    );
    println!(
        "  match 30 s stereo, all cores:     {:.3} s = 1/{:.0}",
        best[3],
        30.0 / best[3]
    );
}
