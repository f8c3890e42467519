//! tonecore_limiter through the C ABI: an arbitrary config, then an arbitrary sequence of process
//! calls (planar/interleaved, f32/f64, any length, any samples, short or overlapping buffers),
//! ceiling changes, stats, reset and the final free.
//!
//! Checked: no call panics; a refused call writes nothing; an accepted process writes only finite
//! samples, none above the highest ceiling set so far; the stats count every accepted frame.
#![no_main]

#[path = "common.rs"]
mod common;

use common::*;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use std::ptr::null_mut;
use tonecore::ffi::*;

#[derive(Arbitrary, Debug)]
struct Config {
    rate: Rate,
    channels: u8,
    f64_format: bool,
    ceiling: Num,
    lookahead: Num,
    release: Num,
    struct_size_short: bool,
    true_peak: bool,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Process {
        frames: u16,
        fill: Fill,
        interleaved: bool,
        as_f64: bool,
        out_short: bool,
    },
    ProcessHugeLength,
    ProcessOverlapping {
        frames: u8,
    },
    SetCeiling(Num),
    Stats {
        short: bool,
    },
    Reset,
    Latency,
}

#[derive(Arbitrary, Debug)]
struct Input {
    config: Config,
    ops: Vec<Op>,
}

fn check_output(y: impl Iterator<Item = f64>, limit: f64, tolerance: f64) {
    for v in y {
        assert!(v.is_finite(), "non-finite output");
        assert!(
            v.abs() <= limit * (1.0 + tolerance),
            "{v} above ceiling {limit}"
        );
    }
}

fuzz_target!(|input: Input| {
    let c = &input.config;
    let mut cfg = unsafe { std::mem::zeroed::<tonecore_limiter_config>() };
    assert_eq!(
        unsafe { tonecore_limiter_config_init(&mut cfg) },
        tonecore_status::Ok
    );
    cfg.sample_rate = c.rate.hz();
    cfg.channels = channels(c.channels) as u32;
    cfg.sample_format = i32::from(c.f64_format);
    cfg.ceiling_db = c.ceiling.or(cfg.ceiling_db);
    cfg.lookahead_ms = c.lookahead.or(cfg.lookahead_ms);
    cfg.release_ms = c.release.or(cfg.release_ms);
    cfg.true_peak = u32::from(c.true_peak);
    if c.struct_size_short {
        cfg.struct_size = 16;
    }
    let mut lim: *mut tonecore_limiter = null_mut();
    if !accepted(
        unsafe { tonecore_limiter_new(&cfg, &mut lim) },
        "limiter_new",
    ) {
        assert!(
            lim.is_null(),
            "a refused limiter_new wrote its out-parameter"
        );
        return;
    }
    let ch = cfg.channels as usize;
    let mut limit = 10f64.powf(cfg.ceiling_db / 20.0);
    let mut frames_done = 0u64;

    for op in input.ops.iter().take(64) {
        match op {
            Op::Process {
                frames,
                fill,
                interleaved,
                as_f64,
                out_short,
            } => {
                let n = usize::from(*frames % 2049) * ch;
                let out_len = if *out_short { n.saturating_sub(1) } else { n };
                let ok = if *as_f64 {
                    let x = fill.make_f64(n);
                    let mut y = sentinel_f64(out_len);
                    let f = if *interleaved {
                        tonecore_limiter_process_interleaved_f64
                    } else {
                        tonecore_limiter_process_f64
                    };
                    let st = unsafe { f(lim, x.as_ptr(), n, y.as_mut_ptr(), out_len) };
                    let ok = accepted(st, "process_f64");
                    if ok {
                        check_output(y.iter().copied(), limit, 1e-9);
                    } else {
                        assert!(untouched_f64(&y), "refused process_f64 ({st:?}) wrote");
                    }
                    ok
                } else {
                    let x = fill.make(n);
                    let mut y = sentinel_f32(out_len);
                    let f = if *interleaved {
                        tonecore_limiter_process_interleaved_f32
                    } else {
                        tonecore_limiter_process_f32
                    };
                    let st = unsafe { f(lim, x.as_ptr(), n, y.as_mut_ptr(), out_len) };
                    let ok = accepted(st, "process_f32");
                    if ok {
                        check_output(y.iter().map(|&v| f64::from(v)), limit, 1e-6);
                    } else {
                        assert!(untouched_f32(&y), "refused process_f32 ({st:?}) wrote");
                    }
                    ok
                };
                if ok {
                    frames_done += (n / ch) as u64;
                }
            }
            Op::ProcessHugeLength => {
                let x = [0.0f32; 4];
                let mut y = sentinel_f32(4);
                let st = unsafe {
                    tonecore_limiter_process_f32(
                        lim,
                        x.as_ptr(),
                        huge_len::<f32>(),
                        y.as_mut_ptr(),
                        4,
                    )
                };
                assert!(!accepted(st, "process huge") && untouched_f32(&y));
            }
            Op::ProcessOverlapping { frames } => {
                let n = usize::from(*frames) * ch;
                let mut buf = sentinel_f32(2 * n + 1);
                let ptr = buf.as_mut_ptr();
                let st = unsafe { tonecore_limiter_process_f32(lim, ptr, n, ptr.add(n / 2), n) };
                if n > 0 {
                    assert_ne!(st, tonecore_status::Ok);
                    assert!(untouched_f32(&buf));
                }
            }
            Op::SetCeiling(db) => {
                let db = db.or(-1.0);
                if accepted(
                    unsafe { tonecore_limiter_set_ceiling_db(lim, db) },
                    "set_ceiling",
                ) {
                    // Frames already in the lookahead are clamped to the new ceiling.
                    limit = 10f64.powf(db / 20.0);
                }
            }
            Op::Stats { short } => {
                let mut s = unsafe { std::mem::zeroed::<tonecore_limiter_stats>() };
                s.struct_size = if *short {
                    8
                } else {
                    std::mem::size_of::<tonecore_limiter_stats>()
                };
                if accepted(unsafe { tonecore_limiter_get_stats(lim, &mut s) }, "stats") {
                    assert_eq!(s.frames, frames_done);
                    assert!(s.gain_db <= 0.0 && s.max_reduction_db <= s.gain_db + 1e-9);
                } else {
                    assert!(*short);
                }
            }
            Op::Reset => {
                assert!(accepted(unsafe { tonecore_limiter_reset(lim) }, "reset"));
                frames_done = 0;
            }
            Op::Latency => {
                let mut l = 0usize;
                assert!(accepted(
                    unsafe { tonecore_limiter_latency(lim, &mut l) },
                    "latency"
                ));
                assert!(l >= 1);
            }
        }
    }
    unsafe { tonecore_limiter_free(lim) };
});
