//! tonecore_stft through the C ABI: arbitrary configs (sizes, hops, windows, custom windows,
//! centring, threads, formats) and arbitrary forward/inverse calls with any lengths, channel
//! counts and samples, plus the sizing queries with any argument.
//!
//! Checked: no call panics; refused calls write neither outputs nor out-parameters; the sizing
//! queries agree with what forward/inverse report.
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
    fft_size: u16,
    hop: u16,
    window: i8,
    f64_format: bool,
    center: bool,
    threads: u8,
    custom: Option<Vec<f64>>,
    short_custom: bool,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Forward {
        len: u16,
        channels: u8,
        fill: Fill,
        out_short: u8,
        as_f64: bool,
    },
    Inverse {
        frames: u8,
        channels: u8,
        data: Vec<f32>,
        out_short: u8,
        as_f64: bool,
    },
    FrameCount(usize),
    SignalLen(usize),
}

#[derive(Arbitrary, Debug)]
struct Input {
    config: Config,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| {
    let c = &input.config;
    let mut cfg = unsafe { std::mem::zeroed::<tonecore_stft_config>() };
    assert_eq!(
        unsafe { tonecore_stft_config_init(&mut cfg) },
        tonecore_status::Ok
    );
    cfg.fft_size = usize::from(c.fft_size % 4097);
    cfg.hop = usize::from(c.hop % 4097);
    cfg.window = i32::from(c.window % 7);
    cfg.sample_format = i32::from(c.f64_format);
    cfg.center = u32::from(c.center);
    cfg.threads = u32::from(c.threads % 4);
    if let Some(w) = &c.custom {
        // A custom window of the right length built from the fuzzer's values.
        let mut win: Vec<f64> = (0..cfg.fft_size)
            .map(|i| w.get(i % w.len().max(1)).copied().unwrap_or(1.0))
            .collect();
        if c.short_custom {
            win.pop();
        }
        cfg.custom_window = win.as_ptr();
        cfg.custom_window_len = win.len();
        run(&cfg, &input.ops);
    } else {
        run(&cfg, &input.ops);
    }
});

fn run(cfg: &tonecore_stft_config, ops: &[Op]) {
    let mut s = null_mut();
    if !accepted(unsafe { tonecore_stft_new(cfg, &mut s) }, "stft_new") {
        assert!(s.is_null());
        return;
    }
    let mut bins = 0usize;
    assert!(accepted(
        unsafe { tonecore_stft_bins(s, &mut bins) },
        "bins"
    ));
    assert_eq!(bins, cfg.fft_size / 2 + 1);
    let f64_format = cfg.sample_format == 1;
    for op in ops.iter().take(16) {
        match op {
            Op::Forward {
                len,
                channels: chn,
                fill,
                out_short,
                as_f64,
            } => {
                let ch = usize::from(*chn % 5);
                let n = usize::from(*len % 8193);
                let mut frames = 0usize;
                assert!(accepted(
                    unsafe { tonecore_stft_frame_count(s, n / ch.max(1), &mut frames) },
                    "frame_count"
                ));
                let need = ch * frames * bins;
                let out_len = need.saturating_sub(usize::from(*out_short % 3));
                let mut got = usize::MAX;
                let (st, untouched) = if *as_f64 {
                    let x = fill.make_f64(n);
                    let mut y = vec![tonecore_complex_f64 { re: 7.0, im: 7.0 }; out_len];
                    let st = unsafe {
                        tonecore_stft_forward_f64(
                            s,
                            x.as_ptr(),
                            n,
                            ch,
                            y.as_mut_ptr(),
                            out_len,
                            &mut got,
                        )
                    };
                    (st, y.iter().all(|v| v.re == 7.0 && v.im == 7.0))
                } else {
                    let x = fill.make(n);
                    let mut y = vec![tonecore_complex_f32 { re: 7.0, im: 7.0 }; out_len];
                    let st = unsafe {
                        tonecore_stft_forward_f32(
                            s,
                            x.as_ptr(),
                            n,
                            ch,
                            y.as_mut_ptr(),
                            out_len,
                            &mut got,
                        )
                    };
                    (st, y.iter().all(|v| v.re == 7.0 && v.im == 7.0))
                };
                if accepted(st, "forward") {
                    assert_eq!(got, frames, "frames reported by forward vs frame_count");
                    assert_eq!(*as_f64, f64_format);
                    assert!(out_len >= need);
                } else {
                    assert_eq!(got, usize::MAX, "refused forward wrote frames_out");
                    assert!(untouched, "refused forward ({st:?}) wrote its output");
                }
            }
            Op::Inverse {
                frames,
                channels: chn,
                data,
                out_short,
                as_f64,
            } => {
                let ch = usize::from(*chn % 4);
                let len = ch * usize::from(*frames % 16) * bins;
                let mut want = 0usize;
                assert!(accepted(
                    unsafe { tonecore_stft_signal_len(s, usize::from(*frames % 16), &mut want) },
                    "signal_len"
                ));
                let out_len = (ch * want).saturating_sub(usize::from(*out_short % 3));
                let mut got = usize::MAX;
                let value = |i: usize| data.get(i % data.len().max(1)).copied().unwrap_or(0.5);
                let (st, untouched) = if *as_f64 {
                    let spec: Vec<tonecore_complex_f64> = (0..len)
                        .map(|i| tonecore_complex_f64 {
                            re: value(2 * i).into(),
                            im: value(2 * i + 1).into(),
                        })
                        .collect();
                    let mut y = sentinel_f64(out_len);
                    let st = unsafe {
                        tonecore_stft_inverse_f64(
                            s,
                            spec.as_ptr(),
                            len,
                            ch,
                            y.as_mut_ptr(),
                            out_len,
                            &mut got,
                        )
                    };
                    (st, untouched_f64(&y))
                } else {
                    let spec: Vec<tonecore_complex_f32> = (0..len)
                        .map(|i| tonecore_complex_f32 {
                            re: value(2 * i),
                            im: value(2 * i + 1),
                        })
                        .collect();
                    let mut y = sentinel_f32(out_len);
                    let st = unsafe {
                        tonecore_stft_inverse_f32(
                            s,
                            spec.as_ptr(),
                            len,
                            ch,
                            y.as_mut_ptr(),
                            out_len,
                            &mut got,
                        )
                    };
                    (st, untouched_f32(&y))
                };
                if accepted(st, "inverse") {
                    assert_eq!(got, want, "samples reported by inverse vs signal_len");
                } else {
                    assert_eq!(got, usize::MAX, "refused inverse wrote len_out");
                    assert!(untouched, "refused inverse ({st:?}) wrote its output");
                }
            }
            Op::FrameCount(n) => {
                let mut f = 0usize;
                assert!(accepted(
                    unsafe { tonecore_stft_frame_count(s, *n, &mut f) },
                    "frame_count"
                ));
            }
            Op::SignalLen(n) => {
                let mut l = 12345usize;
                if !accepted(
                    unsafe { tonecore_stft_signal_len(s, *n, &mut l) },
                    "signal_len",
                ) {
                    assert_eq!(l, 12345);
                }
            }
        }
    }
    unsafe { tonecore_stft_free(s) };
}
