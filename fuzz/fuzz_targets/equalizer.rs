//! tonecore_equalizer through the C ABI: an arbitrary config, then arbitrary process calls
//! (planar/interleaved, f32/f64, any length and samples, short, overlapping or huge buffers),
//! gain changes, gain reads with any buffer length, reset, counters.
//!
//! Checked: no call panics; refused calls write nothing; accepted process calls write finite
//! samples only; the non-finite counter counts exactly the non-finite samples fed in.
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
    max_block: u16,
    fft_size: u16,
    layout: i8,
    mode: i8,
    edges: Option<Vec<f64>>,
    ramp_ms: Num,
    f64_format: bool,
    gains: Option<Vec<f64>>,
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
    SetGains(Vec<f64>),
    Gains {
        len: u8,
    },
    Reset,
    Counters,
}

#[derive(Arbitrary, Debug)]
struct Input {
    config: Config,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| {
    let c = &input.config;
    let mut cfg = unsafe { std::mem::zeroed::<tonecore_equalizer_config>() };
    assert_eq!(
        unsafe { tonecore_equalizer_config_init(&mut cfg) },
        tonecore_status::Ok
    );
    cfg.sample_rate = c.rate.hz();
    cfg.channels = channels(c.channels) as u32;
    cfg.max_block = usize::from(c.max_block % 4097);
    cfg.fft_size = usize::from(c.fft_size % 8193);
    cfg.layout = i32::from(c.layout % 5);
    cfg.mode = i32::from(c.mode % 3);
    if let Some(e) = &c.edges {
        cfg.edges = e.as_ptr();
        cfg.edges_len = e.len();
    }
    cfg.ramp_ms = c.ramp_ms.or(cfg.ramp_ms);
    cfg.sample_format = i32::from(c.f64_format);
    if let Some(g) = &c.gains {
        cfg.gains_db = g.as_ptr();
        cfg.gains_len = g.len();
    }
    let mut eq = null_mut();
    if !accepted(
        unsafe { tonecore_equalizer_new(&cfg, &mut eq) },
        "equalizer_new",
    ) {
        assert!(eq.is_null());
        return;
    }
    let ch = cfg.channels as usize;
    let mut bands = 0usize;
    assert!(accepted(
        unsafe { tonecore_equalizer_bands(eq, &mut bands) },
        "bands"
    ));
    let mut nonfinite_fed = 0u64;

    for op in input.ops.iter().take(64) {
        match op {
            Op::Process {
                frames,
                fill,
                interleaved,
                as_f64,
                out_short,
            } => {
                let n = usize::from(*frames % 1025) * ch;
                let out_len = if *out_short { n.saturating_sub(1) } else { n };
                if *as_f64 {
                    let x = fill.make_f64(n);
                    let mut y = sentinel_f64(out_len);
                    let st = unsafe {
                        if *interleaved {
                            tonecore_equalizer_process_interleaved_f64(
                                eq,
                                x.as_ptr(),
                                n,
                                y.as_mut_ptr(),
                                out_len,
                            )
                        } else {
                            tonecore_equalizer_process_f64(
                                eq,
                                x.as_ptr(),
                                n,
                                y.as_mut_ptr(),
                                out_len,
                            )
                        }
                    };
                    if accepted(st, "process_f64") {
                        assert!(y.iter().all(|v| v.is_finite()), "non-finite output");
                        nonfinite_fed +=
                            x.iter().filter(|v| v.is_nan() || v.abs() > 1_048_576.0).count() as u64;
                    } else {
                        assert!(untouched_f64(&y), "refused process_f64 ({st:?}) wrote");
                    }
                } else {
                    let x = fill.make(n);
                    let mut y = sentinel_f32(out_len);
                    let st = unsafe {
                        if *interleaved {
                            tonecore_equalizer_process_interleaved_f32(
                                eq,
                                x.as_ptr(),
                                n,
                                y.as_mut_ptr(),
                                out_len,
                            )
                        } else {
                            tonecore_equalizer_process_f32(
                                eq,
                                x.as_ptr(),
                                n,
                                y.as_mut_ptr(),
                                out_len,
                            )
                        }
                    };
                    if accepted(st, "process_f32") {
                        assert!(y.iter().all(|v| v.is_finite()), "non-finite output");
                        nonfinite_fed +=
                            x.iter().filter(|v| v.is_nan() || v.abs() > 1_048_576.0).count() as u64;
                    } else {
                        assert!(untouched_f32(&y), "refused process_f32 ({st:?}) wrote");
                    }
                }
            }
            Op::ProcessHugeLength => {
                let x = [0.0f64; 4];
                let mut y = sentinel_f64(4);
                let st = unsafe {
                    tonecore_equalizer_process_f64(
                        eq,
                        x.as_ptr(),
                        4,
                        y.as_mut_ptr(),
                        huge_len::<f64>(),
                    )
                };
                assert!(!accepted(st, "process huge") && untouched_f64(&y));
            }
            Op::ProcessOverlapping { frames } => {
                let n = usize::from(*frames) * ch;
                let mut buf = sentinel_f32(2 * n + 1);
                let ptr = buf.as_mut_ptr();
                let st = unsafe { tonecore_equalizer_process_f32(eq, ptr.add(n / 2), n, ptr, n) };
                if n > 0 {
                    assert_eq!(st, tonecore_status::BuffersOverlap);
                    assert!(untouched_f32(&buf));
                }
            }
            Op::SetGains(g) => {
                let before = {
                    let mut b = vec![0.0; bands];
                    unsafe { tonecore_equalizer_gains(eq, b.as_mut_ptr(), bands) };
                    b
                };
                if accepted(
                    unsafe { tonecore_equalizer_set_gains(eq, g.as_ptr(), g.len()) },
                    "set_gains",
                ) {
                    let mut after = vec![0.0; bands];
                    assert!(accepted(
                        unsafe { tonecore_equalizer_gains(eq, after.as_mut_ptr(), bands) },
                        "gains"
                    ));
                    for (a, want) in after.iter().zip(g) {
                        assert_eq!(*a, want.clamp(-24.0, 24.0), "gain read back");
                    }
                } else {
                    let mut after = vec![0.0; bands];
                    unsafe { tonecore_equalizer_gains(eq, after.as_mut_ptr(), bands) };
                    assert_eq!(before, after, "a refused set_gains changed the gains");
                }
            }
            Op::Gains { len } => {
                let mut out = sentinel_f64(usize::from(*len));
                let st = unsafe { tonecore_equalizer_gains(eq, out.as_mut_ptr(), out.len()) };
                if !accepted(st, "gains") {
                    assert!(untouched_f64(&out));
                    assert!(out.len() < bands);
                }
            }
            Op::Reset => {
                assert!(accepted(unsafe { tonecore_equalizer_reset(eq) }, "reset"));
            }
            Op::Counters => {
                let mut n = u64::MAX;
                assert!(accepted(
                    unsafe { tonecore_equalizer_nonfinite_count(eq, &mut n) },
                    "nonfinite_count"
                ));
                assert_eq!(n, nonfinite_fed, "non-finite count");
                let mut l = 0usize;
                assert!(accepted(
                    unsafe { tonecore_equalizer_latency(eq, &mut l) },
                    "latency"
                ));
            }
        }
    }
    unsafe { tonecore_equalizer_free(eq) };
});
