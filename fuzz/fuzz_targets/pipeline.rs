//! tonecore_pipeline + tonecore_params through the C ABI: an arbitrary config, then an arbitrary
//! sequence of process (planar/interleaved, f32/f64, any length, any samples, short or overlapping
//! buffers), parameter changes, stats, reset, extra params handles and frees.
//!
//! Checked: no call panics; a refused process writes nothing; an accepted one writes only finite
//! samples, and while the limiter is enabled and never bypassed, none above the ceiling in
//! force.
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
    ramp_ms: Num,
    f64_format: bool,
    eq: bool,
    layout: i8,
    mode: i8,
    edges: Option<Vec<f64>>,
    gains: Option<Vec<f64>>,
    level: bool,
    target: Num,
    attack: Num,
    release: Num,
    boost: Num,
    cut: Num,
    gate: Num,
    window: Num,
    limiter: bool,
    ceiling: Num,
    lookahead: Num,
    limiter_release: Num,
    struct_size_short: bool,
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
    SetEqGains(Vec<f64>),
    SetTarget(Num),
    SetCeiling(Num),
    SetBypass(i32, u32),
    SetReference {
        frames: u16,
        channels: u8,
        fill: Fill,
        as_f64: bool,
    },
    Stats {
        short: bool,
    },
    Reset,
    Latency,
    NewParams,
    FreeParams(u8),
    FreePipeline,
}

#[derive(Arbitrary, Debug)]
struct Input {
    config: Config,
    ops: Vec<Op>,
}

fn build_config(c: &Config) -> tonecore_pipeline_config {
    let mut cfg = unsafe { std::mem::zeroed::<tonecore_pipeline_config>() };
    assert_eq!(
        unsafe { tonecore_pipeline_config_init(&mut cfg) },
        tonecore_status::Ok
    );
    cfg.sample_rate = c.rate.hz();
    cfg.channels = channels(c.channels) as u32;
    cfg.max_block = usize::from(c.max_block % 4097);
    cfg.fft_size = usize::from(c.fft_size % 8193);
    cfg.sample_format = i32::from(c.f64_format);
    cfg.eq_enabled = u32::from(c.eq);
    cfg.layout = i32::from(c.layout % 5);
    cfg.mode = i32::from(c.mode % 3);
    cfg.level_enabled = u32::from(c.level);
    cfg.limiter_enabled = u32::from(c.limiter);
    cfg.target_lufs = c.target.or(cfg.target_lufs);
    cfg.ceiling_db = c.ceiling.or(cfg.ceiling_db);
    cfg.ramp_ms = c.ramp_ms.or(cfg.ramp_ms);
    cfg.attack_ms = c.attack.or(cfg.attack_ms);
    cfg.release_ms = c.release.or(cfg.release_ms);
    cfg.max_boost_db = c.boost.or(cfg.max_boost_db);
    cfg.max_cut_db = c.cut.or(cfg.max_cut_db);
    cfg.gate_lufs = c.gate.or(cfg.gate_lufs);
    cfg.window_ms = c.window.or(cfg.window_ms);
    cfg.lookahead_ms = c.lookahead.or(cfg.lookahead_ms);
    cfg.limiter_release_ms = c.limiter_release.or(cfg.limiter_release_ms);
    if c.struct_size_short {
        cfg.struct_size = 16;
    }
    cfg
}

fuzz_target!(|input: Input| {
    let c = &input.config;
    let mut cfg = build_config(c);
    if let Some(e) = &c.edges {
        cfg.edges = e.as_ptr();
        cfg.edges_len = e.len();
    }
    if let Some(g) = &c.gains {
        cfg.eq_gains_db = g.as_ptr();
        cfg.eq_gains_len = g.len();
    }
    let mut p: *mut tonecore_pipeline = null_mut();
    if !accepted(
        unsafe { tonecore_pipeline_new(&cfg, &mut p) },
        "pipeline_new",
    ) {
        assert!(
            p.is_null(),
            "a refused pipeline_new wrote its out-parameter"
        );
        return;
    }
    let ch = cfg.channels as usize;
    let mut params: Vec<*mut tonecore_params> = Vec::new();
    let mut h = null_mut();
    assert!(accepted(
        unsafe { tonecore_pipeline_params(p, &mut h) },
        "params"
    ));
    params.push(h);
    // The limiter guarantee holds while it is enabled and never bypassed.
    let mut limit = if c.limiter {
        Some(10f64.powf(cfg.ceiling_db / 20.0))
    } else {
        None
    };
    let mut alive = true;

    for op in input.ops.iter().take(64) {
        let handle = params.first().copied().unwrap_or(null_mut());
        match op {
            Op::Process {
                frames,
                fill,
                interleaved,
                as_f64,
                out_short,
            } if alive => {
                let n = usize::from(*frames % 1025) * ch.max(1);
                let out_len = if *out_short { n.saturating_sub(1) } else { n };
                let st;
                if *as_f64 {
                    let x = fill.make_f64(n);
                    let mut y = sentinel_f64(out_len);
                    st = unsafe {
                        if *interleaved {
                            tonecore_pipeline_process_interleaved_f64(
                                p,
                                x.as_ptr(),
                                n,
                                y.as_mut_ptr(),
                                out_len,
                            )
                        } else {
                            tonecore_pipeline_process_f64(p, x.as_ptr(), n, y.as_mut_ptr(), out_len)
                        }
                    };
                    if accepted(st, "process_f64") {
                        assert!(y.iter().all(|v| v.is_finite()), "non-finite output");
                        if let Some(l) = limit {
                            let peak = y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                            assert!(peak <= l * (1.0 + 1e-9), "peak {peak} above ceiling {l}");
                        }
                    } else {
                        assert!(untouched_f64(&y), "refused process_f64 ({st:?}) wrote");
                    }
                } else {
                    let x = fill.make(n);
                    let mut y = sentinel_f32(out_len);
                    st = unsafe {
                        if *interleaved {
                            tonecore_pipeline_process_interleaved_f32(
                                p,
                                x.as_ptr(),
                                n,
                                y.as_mut_ptr(),
                                out_len,
                            )
                        } else {
                            tonecore_pipeline_process_f32(p, x.as_ptr(), n, y.as_mut_ptr(), out_len)
                        }
                    };
                    if accepted(st, "process_f32") {
                        assert!(y.iter().all(|v| v.is_finite()), "non-finite output");
                        if let Some(l) = limit {
                            let peak = y.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
                            assert!(peak <= l * (1.0 + 1e-6), "peak {peak} above ceiling {l}");
                        }
                    } else {
                        assert!(untouched_f32(&y), "refused process_f32 ({st:?}) wrote");
                    }
                }
            }
            Op::ProcessHugeLength if alive => {
                let x = [0.0f32; 4];
                let mut y = sentinel_f32(4);
                let st = unsafe {
                    tonecore_pipeline_process_f32(
                        p,
                        x.as_ptr(),
                        huge_len::<f32>(),
                        y.as_mut_ptr(),
                        4,
                    )
                };
                assert!(!accepted(st, "process huge") && untouched_f32(&y));
            }
            Op::ProcessOverlapping { frames } if alive => {
                let n = usize::from(*frames) * ch.max(1);
                let mut buf = sentinel_f32(2 * n + 1);
                let ptr = buf.as_mut_ptr();
                let st = unsafe { tonecore_pipeline_process_f32(p, ptr, n, ptr.add(n / 2), n) };
                if n > 0 {
                    assert_eq!(st, tonecore_status::BuffersOverlap);
                    assert!(untouched_f32(&buf));
                }
            }
            Op::SetEqGains(g) => {
                let _ = accepted(
                    unsafe { tonecore_params_set_eq_gains(handle, g.as_ptr(), g.len()) },
                    "set_eq_gains",
                );
            }
            Op::SetTarget(t) => {
                let _ = accepted(
                    unsafe { tonecore_params_set_level_target(handle, t.or(-14.0)) },
                    "set_level_target",
                );
            }
            Op::SetCeiling(db) => {
                let db = db.or(-1.0);
                if accepted(
                    unsafe { tonecore_params_set_ceiling_db(handle, db) },
                    "set_ceiling",
                ) {
                    // Frames already inside the lookahead are clamped to the new ceiling too.
                    limit = limit.map(|_| 10f64.powf(db / 20.0));
                }
            }
            Op::SetBypass(stage, on) => {
                let st = unsafe { tonecore_params_set_bypass(handle, *stage, *on) };
                if accepted(st, "set_bypass") && *stage == 2 && *on != 0 {
                    limit = None;
                }
            }
            Op::SetReference {
                frames,
                channels: rc,
                fill,
                as_f64,
            } => {
                let rch = channels(*rc);
                let n = usize::from(*frames % 8192) * rch.max(1);
                let mut lufs = -999.0;
                let st = if *as_f64 {
                    let x = fill.make_f64(n);
                    unsafe {
                        tonecore_params_set_level_reference_f64(
                            handle,
                            x.as_ptr(),
                            n,
                            rch,
                            &mut lufs,
                        )
                    }
                } else {
                    let x = fill.make(n);
                    unsafe {
                        tonecore_params_set_level_reference_f32(
                            handle,
                            x.as_ptr(),
                            n,
                            rch,
                            &mut lufs,
                        )
                    }
                };
                if accepted(st, "set_level_reference") {
                    assert!((-70.0..=0.0).contains(&lufs), "reference loudness {lufs}");
                } else {
                    assert_eq!(lufs, -999.0);
                }
            }
            Op::Stats { short } => {
                let mut s = unsafe { std::mem::zeroed::<tonecore_pipeline_stats>() };
                s.struct_size = if *short {
                    8
                } else {
                    std::mem::size_of::<tonecore_pipeline_stats>()
                };
                if accepted(unsafe { tonecore_params_stats(handle, &mut s) }, "stats") {
                    assert!(s.eq_bands <= 64);
                }
            }
            Op::Reset if alive => {
                let _ = accepted(unsafe { tonecore_pipeline_reset(p) }, "reset");
            }
            Op::Latency if alive => {
                let mut l = 0usize;
                assert!(accepted(
                    unsafe { tonecore_pipeline_latency(p, &mut l) },
                    "latency"
                ));
            }
            Op::NewParams if alive && params.len() < 8 => {
                let mut h = null_mut();
                assert!(accepted(
                    unsafe { tonecore_pipeline_params(p, &mut h) },
                    "params"
                ));
                params.push(h);
            }
            Op::FreeParams(i) if !params.is_empty() => {
                let h = params.remove(usize::from(*i) % params.len());
                unsafe { tonecore_params_free(h) };
            }
            Op::FreePipeline if alive => {
                unsafe { tonecore_pipeline_free(p) };
                alive = false;
            }
            _ => {}
        }
    }
    if alive {
        unsafe { tonecore_pipeline_free(p) };
    }
    for h in params {
        unsafe { tonecore_params_free(h) };
    }
});
