//! Offline `equalize` against its floor, interleaved: 180 s of stereo 44.1 kHz noise, 25
//! critical-band gains, one thread; each round times the bare realfft overlap-save loop
//! (`common::overlap_save_floor`) and `equalize` back to back, so both see the same machine
//! state. Prints the best and the median of each and their ratios.
//!
//! Run: `cargo bench --bench eq_offline_ratio` (ROUNDS=n for more than 15 rounds).

mod common;

use common::{noise, overlap_save_floor};
use std::hint::black_box;
use std::time::Instant;
use tonecore::spectral::{equalize, EqualizeConfig};

fn main() {
    let rate = 44_100usize;
    let frames = 180 * rate;
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    let x = noise(2 * frames, 3, 1.0);
    let mut y = vec![0.0f32; 2 * frames];
    let mut floor_out = vec![0.0f32; 2 * frames];
    let gains: Vec<f64> = (0..25).map(|b| ((b * 7) % 13) as f64 - 6.0).collect();
    let cfg = EqualizeConfig {
        threads: 1,
        ..EqualizeConfig::new(rate as u32)
    };
    let mut floor = overlap_save_floor(&x, &mut floor_out, 2, cfg.fft_size);
    let (mut t_floor, mut t_eq) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        floor();
        t_floor.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        equalize(black_box(&x), 2, &mut y, &gains, &cfg, None).unwrap();
        t_eq.push(t.elapsed().as_secs_f64());
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[0], v[v.len() / 2])
    };
    let (fb, fm) = stats(&mut t_floor);
    let (eb, em) = stats(&mut t_eq);
    println!("offline EQ, 180 s stereo, 1 thread, {rounds} interleaved rounds");
    println!(
        "  floor (bare overlap-save) best {:.1} ms, median {:.1} ms",
        fb * 1e3,
        fm * 1e3
    );
    println!(
        "  equalize                  best {:.1} ms, median {:.1} ms",
        eb * 1e3,
        em * 1e3
    );
    println!("  ratio best {:.3}, median {:.3}", eb / fb, em / fm);
}
