//! The stateless C functions with arbitrary arguments: windows, band layouts, bin maps, gain
//! curves, band energies, loudness, crossfades, offline equalize and chunked render, status
//! strings.
//!
//! Checked: no call panics; a refused call writes nothing (outputs and out-parameters keep their
//! sentinels); accepted analysis results are finite where the contract says so.
#![no_main]

#[path = "common.rs"]
mod common;

use common::*;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use std::ffi::CStr;
use std::ptr::{null, null_mut};
use tonecore::ffi::*;

#[derive(Arbitrary, Debug)]
struct Layout {
    kind: i8,
    edges: Vec<f64>,
    null_edges: bool,
}

impl Layout {
    fn kind(&self) -> i32 {
        i32::from(self.kind % 5)
    }
    fn ptr(&self) -> *const f64 {
        if self.null_edges {
            null()
        } else {
            self.edges.as_ptr()
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Call {
    Window {
        kind: i32,
        len: u16,
        as_f64: bool,
    },
    LayoutBands(Layout),
    LayoutEdges {
        layout: Layout,
        edges_len: u8,
        centers_len: u8,
        centers: bool,
    },
    BandMap {
        layout: Layout,
        rate: Rate,
        fft: u16,
        len: u16,
    },
    GainCurve {
        layout: Layout,
        gains: Vec<f64>,
        rate: Rate,
        fft: u16,
        mode: i8,
        len: u16,
    },
    BandEnergies {
        layout: Layout,
        rate: Rate,
        fft: u16,
        hop: u16,
        threads: u8,
        fill: Fill,
        len: u16,
        channels: u8,
        out_len: u16,
        as_f64: bool,
    },
    Loudness {
        fill: Fill,
        frames: u16,
        channels: u8,
        rate: Rate,
        as_f64: bool,
        integrated_only: bool,
    },
    Crossfade {
        a: Fill,
        a_len: u16,
        b: Fill,
        b_len: u16,
        channels: u8,
        overlap: u16,
        curve: i32,
        out_short: u8,
        as_f64: bool,
    },
    Equalize {
        layout: Layout,
        gains: Vec<f64>,
        rate: Rate,
        fft: u16,
        mode: i8,
        fill: Fill,
        frames: u16,
        channels: u8,
        out_short: bool,
        as_f64: bool,
    },
    Render {
        rate: u8,
        channels: u8,
        eq: bool,
        level: bool,
        limiter: bool,
        chunk: Num,
        context: Num,
        crossfade: Num,
        curve: i8,
        fill: Fill,
        frames: u16,
        out_short: bool,
        cancel_after: u8,
    },
    StatusStr(i32),
}

#[derive(Arbitrary, Debug)]
struct Input {
    calls: Vec<Call>,
}

unsafe extern "C" fn cancel_after(user: *mut std::ffi::c_void, done: usize, _total: usize) -> i32 {
    i32::from(done >= *(user as *const usize))
}

fuzz_target!(|input: Input| {
    for call in input.calls.iter().take(8) {
        one(call);
    }
});

fn one(call: &Call) {
    unsafe {
        match call {
            Call::Window { kind, len, as_f64 } => {
                let n = usize::from(*len % 4097);
                if *as_f64 {
                    let mut w = sentinel_f64(n);
                    if accepted(
                        tonecore_window_fill_f64(*kind, w.as_mut_ptr(), n),
                        "window_f64",
                    ) {
                        assert!(w.iter().all(|v| v.is_finite()));
                    } else {
                        assert!(untouched_f64(&w));
                    }
                } else {
                    let mut w = sentinel_f32(n);
                    if !accepted(
                        tonecore_window_fill_f32(*kind, w.as_mut_ptr(), n),
                        "window_f32",
                    ) {
                        assert!(untouched_f32(&w));
                    }
                }
            }
            Call::LayoutBands(l) => {
                let mut b = usize::MAX;
                if !accepted(
                    tonecore_layout_bands(l.kind(), l.ptr(), l.edges.len(), &mut b),
                    "layout_bands",
                ) {
                    assert_eq!(b, usize::MAX);
                }
            }
            Call::LayoutEdges {
                layout: l,
                edges_len,
                centers_len,
                centers,
            } => {
                let mut e = sentinel_f64(usize::from(*edges_len));
                let mut c = sentinel_f64(usize::from(*centers_len));
                let cp = if *centers { c.as_mut_ptr() } else { null_mut() };
                let st = tonecore_layout_edges(
                    l.kind(),
                    l.ptr(),
                    l.edges.len(),
                    e.as_mut_ptr(),
                    e.len(),
                    cp,
                    c.len(),
                );
                if !accepted(st, "layout_edges") {
                    assert!(untouched_f64(&e) && untouched_f64(&c));
                }
            }
            Call::BandMap {
                layout: l,
                rate,
                fft,
                len,
            } => {
                let mut m = vec![u32::MAX; usize::from(*len % 4200)];
                let st = tonecore_band_map(
                    l.kind(),
                    l.ptr(),
                    l.edges.len(),
                    rate.hz(),
                    usize::from(*fft % 8193),
                    m.as_mut_ptr(),
                    m.len(),
                );
                if !accepted(st, "band_map") {
                    assert!(m.iter().all(|&v| v == u32::MAX));
                }
            }
            Call::GainCurve {
                layout: l,
                gains,
                rate,
                fft,
                mode,
                len,
            } => {
                let mut c = sentinel_f64(usize::from(*len % 4200));
                let st = tonecore_gain_curve(
                    l.kind(),
                    l.ptr(),
                    l.edges.len(),
                    gains.as_ptr(),
                    gains.len(),
                    rate.hz(),
                    usize::from(*fft % 8193),
                    i32::from(*mode % 3),
                    c.as_mut_ptr(),
                    c.len(),
                );
                if accepted(st, "gain_curve") {
                    let bins = usize::from(*fft % 8193) / 2 + 1;
                    assert!(c[..bins].iter().all(|v| v.is_finite() && *v > 0.0));
                } else {
                    assert!(untouched_f64(&c));
                }
            }
            Call::BandEnergies {
                layout: l,
                rate,
                fft,
                hop,
                threads,
                fill,
                len,
                channels: chn,
                out_len,
                as_f64,
            } => {
                let n = usize::from(*len % 8193);
                let mut out = sentinel_f64(usize::from(*out_len));
                let mut frames = usize::MAX;
                let args = (
                    l.kind(),
                    l.ptr(),
                    l.edges.len(),
                    rate.hz(),
                    usize::from(*fft % 4097),
                    usize::from(*hop % 4097),
                    u32::from(*threads % 3),
                );
                let st = if *as_f64 {
                    let x = fill.make_f64(n);
                    tonecore_band_energies_f64(
                        args.0,
                        args.1,
                        args.2,
                        args.3,
                        args.4,
                        args.5,
                        args.6,
                        x.as_ptr(),
                        n,
                        channels(*chn),
                        out.as_mut_ptr(),
                        out.len(),
                        &mut frames,
                    )
                } else {
                    let x = fill.make(n);
                    tonecore_band_energies_f32(
                        args.0,
                        args.1,
                        args.2,
                        args.3,
                        args.4,
                        args.5,
                        args.6,
                        x.as_ptr(),
                        n,
                        channels(*chn),
                        out.as_mut_ptr(),
                        out.len(),
                        &mut frames,
                    )
                };
                if !accepted(st, "band_energies") {
                    assert!(untouched_f64(&out) && frames == usize::MAX);
                }
            }
            Call::Loudness {
                fill,
                frames,
                channels: chn,
                rate,
                as_f64,
                integrated_only,
            } => {
                let ch = channels(*chn);
                let n = usize::from(*frames) * ch;
                let sr = rate.hz();
                let mut report = tonecore_loudness_report {
                    integrated: 1.5,
                    momentary_max: 1.5,
                    short_term_max: 1.5,
                    range: 1.5,
                    true_peak: 1.5,
                };
                let mut lufs = 1.5;
                let st = match (*as_f64, *integrated_only) {
                    (false, false) => {
                        tonecore_loudness_measure_f32(fill.make(n).as_ptr(), n, ch, sr, &mut report)
                    }
                    (true, false) => tonecore_loudness_measure_f64(
                        fill.make_f64(n).as_ptr(),
                        n,
                        ch,
                        sr,
                        &mut report,
                    ),
                    (false, true) => tonecore_loudness_integrated_f32(
                        fill.make(n).as_ptr(),
                        n,
                        ch,
                        sr,
                        &mut lufs,
                    ),
                    (true, true) => tonecore_loudness_integrated_f64(
                        fill.make_f64(n).as_ptr(),
                        n,
                        ch,
                        sr,
                        &mut lufs,
                    ),
                };
                if accepted(st, "loudness") {
                    assert!(
                        !report.integrated.is_nan() && !lufs.is_nan() && !report.range.is_nan()
                    );
                } else {
                    assert!(report.integrated == 1.5 && report.true_peak == 1.5 && lufs == 1.5);
                }
            }
            Call::Crossfade {
                a,
                a_len,
                b,
                b_len,
                channels: chn,
                overlap,
                curve,
                out_short,
                as_f64,
            } => {
                let ch = channels(*chn).max(1);
                let (la, lb) = (
                    usize::from(*a_len % 2048) * ch,
                    usize::from(*b_len % 2048) * ch,
                );
                let ov = usize::from(*overlap);
                let frames = la / ch + lb / ch - ov.min(la / ch).min(lb / ch);
                let out_len = (frames * ch).saturating_sub(usize::from(*out_short % 2));
                let mut got = usize::MAX;
                let (st, untouched) = if *as_f64 {
                    let mut y = sentinel_f64(out_len);
                    let st = tonecore_crossfade_concat_f64(
                        a.make_f64(la).as_ptr(),
                        la,
                        b.make_f64(lb).as_ptr(),
                        lb,
                        ch,
                        ov,
                        *curve,
                        y.as_mut_ptr(),
                        out_len,
                        &mut got,
                    );
                    (st, untouched_f64(&y))
                } else {
                    let mut y = sentinel_f32(out_len);
                    let st = tonecore_crossfade_concat_f32(
                        a.make(la).as_ptr(),
                        la,
                        b.make(lb).as_ptr(),
                        lb,
                        ch,
                        ov,
                        *curve,
                        y.as_mut_ptr(),
                        out_len,
                        &mut got,
                    );
                    (st, untouched_f32(&y))
                };
                if accepted(st, "crossfade") {
                    assert_eq!(got, frames);
                } else {
                    assert!(untouched && got == usize::MAX);
                }
            }
            Call::Equalize {
                layout: l,
                gains,
                rate,
                fft,
                mode,
                fill,
                frames,
                channels: chn,
                out_short,
                as_f64,
            } => {
                let mut c = std::mem::zeroed::<tonecore_equalize_config>();
                assert!(accepted(
                    tonecore_equalize_config_init(&mut c),
                    "equalize_config_init"
                ));
                c.sample_rate = rate.hz();
                c.threads = 1;
                c.fft_size = usize::from(*fft % 4097);
                c.layout = l.kind();
                c.mode = i32::from(*mode % 3);
                c.edges = l.ptr();
                c.edges_len = l.edges.len();
                let ch = channels(*chn);
                let n = usize::from(*frames % 8193) * ch;
                let out_len = n.saturating_sub(usize::from(*out_short));
                let (st, untouched, finite) = if *as_f64 {
                    let mut y = sentinel_f64(out_len);
                    let st = tonecore_equalize_f64(
                        &c,
                        gains.as_ptr(),
                        gains.len(),
                        fill.make_f64(n).as_ptr(),
                        n,
                        ch,
                        y.as_mut_ptr(),
                        out_len,
                        None,
                        null_mut(),
                    );
                    (st, untouched_f64(&y), y.iter().all(|v| v.is_finite()))
                } else {
                    let mut y = sentinel_f32(out_len);
                    let st = tonecore_equalize_f32(
                        &c,
                        gains.as_ptr(),
                        gains.len(),
                        fill.make(n).as_ptr(),
                        n,
                        ch,
                        y.as_mut_ptr(),
                        out_len,
                        None,
                        null_mut(),
                    );
                    (st, untouched_f32(&y), y.iter().all(|v| v.is_finite()))
                };
                if accepted(st, "equalize") {
                    assert!(finite, "equalize wrote non-finite samples");
                } else {
                    assert!(untouched, "refused equalize ({st:?}) wrote");
                }
            }
            Call::Render {
                rate,
                channels: chn,
                eq,
                level,
                limiter,
                chunk,
                context,
                crossfade,
                curve,
                fill,
                frames,
                out_short,
                cancel_after: after,
            } => {
                let mut pc = std::mem::zeroed::<tonecore_pipeline_config>();
                assert!(accepted(
                    tonecore_pipeline_config_init(&mut pc),
                    "pipeline_config_init"
                ));
                pc.sample_rate = [0, 100, 1000, 8000][usize::from(*rate) % 4];
                pc.channels = channels(*chn) as u32;
                pc.fft_size = 256;
                pc.eq_enabled = u32::from(*eq);
                pc.level_enabled = u32::from(*level);
                pc.limiter_enabled = u32::from(*limiter);
                let mut rc = std::mem::zeroed::<tonecore_render_config>();
                assert!(accepted(
                    tonecore_render_config_init(&mut rc),
                    "render_config_init"
                ));
                rc.chunk_seconds = chunk.or(rc.chunk_seconds);
                rc.context_seconds = context_seconds(*context, rc.context_seconds);
                rc.crossfade_seconds = crossfade.or(rc.crossfade_seconds);
                rc.curve = i32::from(*curve % 4);
                rc.threads = 1;
                let ch = pc.channels as usize;
                let n = usize::from(*frames % 16001) * ch;
                let out_len = n.saturating_sub(usize::from(*out_short));
                let mut y = sentinel_f32(out_len);
                let mut limit = usize::from(*after);
                let progress: tonecore_render_progress_fn = if *after < 200 {
                    Some(cancel_after)
                } else {
                    None
                };
                let st = tonecore_render_chunked_f32(
                    &pc,
                    &rc,
                    fill.make(n).as_ptr(),
                    n,
                    y.as_mut_ptr(),
                    out_len,
                    progress,
                    (&mut limit as *mut usize).cast(),
                );
                if accepted(st, "render_chunked") {
                    assert!(
                        y.iter().all(|v| v.is_finite()),
                        "render wrote non-finite samples"
                    );
                } else if st != tonecore_status::Cancelled {
                    assert!(untouched_f32(&y), "refused render ({st:?}) wrote");
                }
            }
            Call::StatusStr(code) => {
                let s = CStr::from_ptr(tonecore_status_str(*code));
                assert!(!s.to_bytes().is_empty());
            }
        }
    }
}
