//! Sizes, counts, rates and lengths at their limits through the C ABI: the fuzz twin of the
//! generated C sweep (ffi-tests/gen_size_sweep.py). Each call takes fuzzer-chosen sizes that are
//! often extremes (0, 1, the documented maximum and one above it, 2^40, `u32::MAX`,
//! `usize::MAX`, the first length beyond the address space) and calls the function with
//! otherwise valid arguments.
//!
//! Lengths of buffers the library reads or fills are never a lie it could act on: a claimed
//! length is either backed by a real buffer of that many elements or lies beyond the address
//! space (which must be refused before anything is touched).
//!
//! Checked: no call panics (or poisons), aborts or hangs; a refused call writes nothing
//! (sentinel-filled outputs and out-parameters); a length beyond the address space is refused.
#![no_main]

#[path = "common.rs"]
mod common;

use common::*;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use std::ptr::{null, null_mut};
use tonecore::ffi::*;

/// Largest real buffer a claimed length may ask for (elements).
const REAL_MAX: u64 = 1 << 16;

/// A size: usually an extreme, sometimes anything.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Size {
    Small(u16),
    Extreme(u8),
    Pow2(u8),
    Raw(u64),
}

const EXTREMES: [u64; 16] = [
    0,
    1,
    2,
    15,
    16,
    64,
    65,
    1 << 24,
    (1 << 24) + 1,
    (1 << 24) + 2,
    1 << 40,
    u32::MAX as u64,
    u32::MAX as u64 + 1,
    u64::MAX - 1,
    u64::MAX,
    2_822_401,
];

impl Size {
    fn get(self) -> u64 {
        match self {
            Size::Small(v) => u64::from(v),
            Size::Extreme(i) => EXTREMES[usize::from(i) % EXTREMES.len()],
            Size::Pow2(p) => 1u64 << (p % 64),
            Size::Raw(v) => v,
        }
    }
    fn usize(self) -> usize {
        usize::try_from(self.get()).unwrap_or(usize::MAX)
    }
    fn u32(self) -> u32 {
        u32::try_from(self.get()).unwrap_or(u32::MAX)
    }
    /// An FFT size: extremes and invalid values at any size, valid ones up to 2^16 (a valid
    /// 2^24-point plan costs seconds: the C sweep's SWEEP_FULL run covers it).
    fn fft(self) -> usize {
        let v = self.usize();
        if v > 1 << 16 && v <= 1 << 24 && v % 2 == 0 {
            1 << 16
        } else {
            v
        }
    }
    /// A thread count: pools of up to 8 threads or invalid counts (a valid pool of 1024 threads
    /// per execution would starve the fuzzer).
    fn threads(self) -> u32 {
        let v = self.u32();
        if v > 8 && v <= 1024 {
            8
        } else {
            v
        }
    }
}

/// A claimed buffer length: a real buffer of that many elements (up to REAL_MAX), or a length
/// beyond the address space for elements of `elem` bytes, which must be refused.
#[derive(Debug, Clone, Copy)]
struct Claim {
    len: usize,
    real: usize,
    unaddressable: bool,
}

fn claim(s: Size, elem: usize) -> Claim {
    let v = s.get();
    let beyond = (isize::MAX as u64) / elem as u64;
    if v > beyond {
        Claim {
            len: usize::try_from(v).unwrap_or(usize::MAX),
            real: 1,
            unaddressable: true,
        }
    } else if v > REAL_MAX {
        // Addressable but too big to back: the first length beyond the address space instead.
        Claim {
            len: huge_len_of(elem),
            real: 1,
            unaddressable: true,
        }
    } else {
        Claim {
            len: v as usize,
            real: v as usize,
            unaddressable: false,
        }
    }
}

fn huge_len_of(elem: usize) -> usize {
    isize::MAX as usize / elem + 1
}

fn sentinel_u32(n: usize) -> Vec<u32> {
    vec![0xa5a5_a5a5; n]
}

/// A finite number, sometimes an extreme one.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Float {
    Extreme(u8),
    Raw(f64),
}

impl Float {
    fn get(self) -> f64 {
        match self {
            Float::Extreme(i) => [
                0.0,
                -1.0,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                1e300,
                -1e300,
                f64::MIN_POSITIVE,
            ][usize::from(i) % 8],
            Float::Raw(v) => v,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Call {
    Window { kind: u8, len: Size, as_f64: bool },
    BandMap { layout: u8, rate: Size, fft: Size, cap: Size },
    GainCurve { layout: u8, gains: Size, rate: Size, fft: Size, cap: Size },
    LayoutEdges { layout: u8, edges_cap: Size, centers_cap: Size },
    Stft { fft: Size, hop: Size, threads: Size, window_len: Size, signal: Size, frames: Size,
           input: Size, channels: Size, out: Size },
    Equalizer { rate: Size, channels: Size, max_block: Size, fft: Size, ramp: Float,
                gains_len: Size, input: Size },
    Pipeline { rate: Size, channels: Size, max_block: Size, fft: Size, ramp: Float,
               eq_gains_len: Size, input: Size, out: Size },
    Limiter { rate: Size, channels: Size, ceiling: Float, lookahead: Float, release: Float,
              input: Size },
    Loudness { input: Size, channels: Size, rate: Size },
    Meter { channels: Size, rate: Size },
    FrameCount { input: Size, fft: Size, hop: Size },
    AuralisGainCurve { gains: Size, map: Size, curve: Size },
    AuralisEqFrame { frame: Size, channels: Size, gains: Size, map: Size, fft: Size, out: Size },
    Crossfade { a: Size, b: Size, channels: Size, overlap: Size, out: Size, auralis: bool },
    /// A 2^40 (or other huge but addressable) input length over a small buffer where the call
    /// must refuse before reading: above max_block (equalizer, pipeline) or needing more output
    /// than output_len (limiter, STFT).
    HugeInput { which: u8, len: Size },
}

#[derive(Arbitrary, Debug)]
struct Input {
    calls: Vec<Call>,
}

fuzz_target!(|input: Input| {
    for call in input.calls.iter().take(6) {
        unsafe { one(call) };
    }
});

/// A refusal is fine, a panic is not; a claimed length beyond the address space must be refused.
fn check(st: tonecore_status, what: &str, lies: &[Claim]) -> bool {
    let ok = accepted(st, what);
    if ok {
        assert!(
            !lies.iter().any(|c| c.unaddressable),
            "{what} accepted a length beyond the address space: {lies:?}"
        );
    }
    ok
}

fn layout(l: u8) -> i32 {
    i32::from(l % 3) // CRITICAL, OCTAVE, THIRD_OCTAVE (CUSTOM edges are the oneshot target's)
}

unsafe fn one(call: &Call) {
    match *call {
        Call::Window { kind, len, as_f64 } => {
            let kind = i32::from(kind % 6);
            if as_f64 {
                let c = claim(len, 8);
                let mut w = sentinel_f64(c.real);
                if !check(tonecore_window_fill_f64(kind, w.as_mut_ptr(), c.len), "window", &[c]) {
                    assert!(untouched_f64(&w));
                }
            } else {
                let c = claim(len, 4);
                let mut w = sentinel_f32(c.real);
                if !check(tonecore_window_fill_f32(kind, w.as_mut_ptr(), c.len), "window", &[c]) {
                    assert!(untouched_f32(&w));
                }
            }
        }
        Call::BandMap { layout: l, rate, fft, cap } => {
            // Any fft_size here: BUFFER_TOO_SMALL is checked before anything is allocated.
            let c = claim(cap, 4);
            let mut m = sentinel_u32(c.real);
            let st = tonecore_band_map(layout(l), null(), 0, rate.u32(), fft.usize(),
                                       m.as_mut_ptr(), c.len);
            if !check(st, "band_map", &[c]) {
                assert!(m.iter().all(|&v| v == 0xa5a5_a5a5));
            }
        }
        Call::GainCurve { layout: l, gains, rate, fft, cap } => {
            let g = claim(gains, 8);
            let gv = vec![1.5f64; g.real];
            let c = claim(cap, 8);
            let mut out = sentinel_f64(c.real);
            let st = tonecore_gain_curve(layout(l), null(), 0, gv.as_ptr(), g.len, rate.u32(),
                                         fft.usize(), 0, out.as_mut_ptr(), c.len);
            if !check(st, "gain_curve", &[g, c]) {
                assert!(untouched_f64(&out));
            }
        }
        Call::LayoutEdges { layout: l, edges_cap, centers_cap } => {
            let e = claim(edges_cap, 8);
            let c = claim(centers_cap, 8);
            let mut ev = sentinel_f64(e.real);
            let mut cv = sentinel_f64(c.real);
            let st = tonecore_layout_edges(layout(l), null(), 0, ev.as_mut_ptr(), e.len,
                                           cv.as_mut_ptr(), c.len);
            if !check(st, "layout_edges", &[e, c]) {
                assert!(untouched_f64(&ev) && untouched_f64(&cv));
            }
        }
        Call::Stft { fft, hop, threads, window_len, signal, frames, input, channels, out } => {
            let mut cfg = std::mem::zeroed::<tonecore_stft_config>();
            assert_eq!(tonecore_stft_config_init(&mut cfg), tonecore_status::Ok);
            cfg.fft_size = fft.fft();
            cfg.hop = hop.usize();
            cfg.threads = threads.threads();
            cfg.custom_window_len = window_len.usize(); // custom_window stays NULL
            let mut stft = null_mut();
            if !check(tonecore_stft_new(&cfg, &mut stft), "stft_new", &[]) {
                assert!(stft.is_null());
                return;
            }
            let mut n = usize::MAX;
            if !check(tonecore_stft_frame_count(stft, signal.usize(), &mut n), "frame_count", &[]) {
                assert_eq!(n, usize::MAX);
            }
            let mut n = usize::MAX;
            if !check(tonecore_stft_signal_len(stft, frames.usize(), &mut n), "signal_len", &[]) {
                assert_eq!(n, usize::MAX);
            }
            let i = claim(input, 4);
            let x = vec![0.25f32; i.real];
            let o = claim(out, 8);
            let mut y = vec![tonecore_complex_f32 { re: f32::from_bits(0x7fa5_a5a5), im: 0.0 }; o.real];
            let mut frames_out = usize::MAX;
            let st = tonecore_stft_forward_f32(stft, x.as_ptr(), i.len, channels.usize(),
                                               y.as_mut_ptr(), o.len, &mut frames_out);
            if !check(st, "stft_forward", &[i, o]) {
                assert_eq!(frames_out, usize::MAX);
                assert!(y.iter().all(|v| v.re.to_bits() == 0x7fa5_a5a5));
            }
            tonecore_stft_free(stft);
        }
        Call::Equalizer { rate, channels, max_block, fft, ramp, gains_len, input } => {
            let mut cfg = std::mem::zeroed::<tonecore_equalizer_config>();
            assert_eq!(tonecore_equalizer_config_init(&mut cfg), tonecore_status::Ok);
            cfg.sample_rate = rate.u32();
            cfg.channels = channels.u32();
            cfg.max_block = max_block.usize().min(1 << 24);
            cfg.fft_size = fft.fft();
            cfg.ramp_ms = ramp.get();
            let g = claim(gains_len, 8);
            let gv = vec![0.0f64; g.real];
            cfg.gains_db = gv.as_ptr();
            cfg.gains_len = g.len;
            let mut eq = null_mut();
            if !check(tonecore_equalizer_new(&cfg, &mut eq), "equalizer_new", &[g]) {
                assert!(eq.is_null());
                return;
            }
            let i = claim(input, 4);
            let x = vec![0.1f32; i.real];
            let mut y = sentinel_f32(i.real);
            let st = tonecore_equalizer_process_f32(eq, x.as_ptr(), i.len, y.as_mut_ptr(), i.len);
            if !check(st, "equalizer_process", &[i]) {
                assert!(untouched_f32(&y));
            }
            tonecore_equalizer_free(eq);
        }
        Call::Pipeline { rate, channels, max_block, fft, ramp, eq_gains_len, input, out } => {
            let mut cfg = std::mem::zeroed::<tonecore_pipeline_config>();
            assert_eq!(tonecore_pipeline_config_init(&mut cfg), tonecore_status::Ok);
            cfg.sample_rate = rate.u32();
            cfg.channels = channels.u32();
            // Valid blocks up to 2^16 (a valid 2^24-frame block allocates ~1 GB per pipeline).
            let mb = max_block.usize();
            cfg.max_block = if mb > 1 << 16 && mb <= 1 << 24 { 1 << 16 } else { mb };
            cfg.fft_size = fft.fft();
            cfg.ramp_ms = ramp.get();
            cfg.eq_enabled = 1;
            cfg.level_enabled = 1;
            cfg.limiter_enabled = 1;
            let g = claim(eq_gains_len, 8);
            let gv = vec![0.0f64; g.real];
            cfg.eq_gains_db = gv.as_ptr();
            cfg.eq_gains_len = g.len;
            let mut p = null_mut();
            if !check(tonecore_pipeline_new(&cfg, &mut p), "pipeline_new", &[g]) {
                assert!(p.is_null());
                return;
            }
            let i = claim(input, 4);
            let x = vec![0.1f32; i.real];
            let o = claim(out, 4);
            let mut y = sentinel_f32(o.real);
            let st = tonecore_pipeline_process_f32(p, x.as_ptr(), i.len, y.as_mut_ptr(), o.len);
            if !check(st, "pipeline_process", &[i, o]) {
                assert!(untouched_f32(&y));
            }
            tonecore_pipeline_free(p);
        }
        Call::Limiter { rate, channels, ceiling, lookahead, release, input } => {
            let mut cfg = std::mem::zeroed::<tonecore_limiter_config>();
            assert_eq!(tonecore_limiter_config_init(&mut cfg), tonecore_status::Ok);
            cfg.sample_rate = rate.u32();
            cfg.channels = channels.u32();
            cfg.ceiling_db = ceiling.get();
            cfg.lookahead_ms = lookahead.get();
            cfg.release_ms = release.get();
            let mut l = null_mut();
            if !check(tonecore_limiter_new(&cfg, &mut l), "limiter_new", &[]) {
                assert!(l.is_null());
                return;
            }
            let i = claim(input, 8);
            let x = vec![0.1f64; i.real];
            let mut y = sentinel_f64(i.real);
            let st = tonecore_limiter_process_f64(l, x.as_ptr(), i.len, y.as_mut_ptr(), i.len);
            if !check(st, "limiter_process", &[i]) {
                assert!(untouched_f64(&y));
            }
            tonecore_limiter_free(l);
        }
        Call::Loudness { input, channels, rate } => {
            let i = claim(input, 4);
            let x = vec![0.1f32; i.real];
            let mut lufs = f64::from_bits(0x7ff5_a5a5_a5a5_a5a5);
            let st = tonecore_loudness_integrated_f32(x.as_ptr(), i.len, channels.usize(),
                                                      rate.u32(), &mut lufs);
            if !check(st, "loudness_integrated", &[i]) {
                assert_eq!(lufs.to_bits(), 0x7ff5_a5a5_a5a5_a5a5);
            }
        }
        Call::Meter { channels, rate } => {
            let mut m = null_mut();
            if check(tonecore_loudness_meter_new(channels.usize(), rate.u32(), &mut m), "meter", &[]) {
                tonecore_loudness_meter_free(m);
            } else {
                assert!(m.is_null());
            }
        }
        Call::FrameCount { input, fft, hop } => {
            let mut n = usize::MAX;
            let st = tonecore_auralis_frame_count(input.usize(), fft.usize(), hop.usize(), &mut n);
            if !check(st, "auralis_frame_count", &[]) {
                assert_eq!(n, usize::MAX);
            }
        }
        Call::AuralisGainCurve { gains, map, curve } => {
            let g = claim(gains, 8);
            let gv = vec![1.0f64; g.real];
            let m = claim(map, 8);
            let mv: Vec<i64> = (0..m.real as i64).map(|k| k % 25).collect();
            let c = claim(curve, 8);
            let mut out = sentinel_f64(c.real);
            let st = tonecore_auralis_gain_curve(gv.as_ptr(), g.len, mv.as_ptr(), m.len,
                                                 out.as_mut_ptr(), c.len);
            if !check(st, "auralis_gain_curve", &[g, m, c]) {
                assert!(untouched_f64(&out));
            }
        }
        Call::AuralisEqFrame { frame, channels, gains, map, fft, out } => {
            let f = claim(frame, 4);
            let x = vec![0.1f32; f.real];
            let g = claim(gains, 8);
            let gv = vec![1.0f64; g.real];
            let m = claim(map, 8);
            let mv: Vec<i64> = (0..m.real as i64).map(|k| k % 25).collect();
            let o = claim(out, 4);
            let mut y = sentinel_f32(o.real);
            let st = tonecore_auralis_apply_eq_frame_f32(x.as_ptr(), f.len, channels.usize(),
                                                         gv.as_ptr(), g.len, mv.as_ptr(), m.len,
                                                         fft.fft(), y.as_mut_ptr(), o.len);
            if !check(st, "auralis_apply_eq_frame", &[f, g, m, o]) {
                assert!(untouched_f32(&y));
            }
        }
        Call::HugeInput { which, len } => {
            // The claimed length lies: at least 2^24·64 + 1 elements, never backed.
            let n = len.usize().max((1 << 30) + 1);
            let x = vec![0.1f32; 64];
            let mut y = sentinel_f32(64);
            let st = match which % 4 {
                0 => {
                    let mut cfg = std::mem::zeroed::<tonecore_equalizer_config>();
                    tonecore_equalizer_config_init(&mut cfg);
                    cfg.fft_size = 256;
                    let mut eq = null_mut();
                    assert_eq!(tonecore_equalizer_new(&cfg, &mut eq), tonecore_status::Ok);
                    let st = tonecore_equalizer_process_f32(eq, x.as_ptr(), n, y.as_mut_ptr(), n);
                    tonecore_equalizer_free(eq);
                    st
                }
                1 => {
                    let mut cfg = std::mem::zeroed::<tonecore_pipeline_config>();
                    tonecore_pipeline_config_init(&mut cfg);
                    cfg.fft_size = 256;
                    let mut p = null_mut();
                    assert_eq!(tonecore_pipeline_new(&cfg, &mut p), tonecore_status::Ok);
                    let st = tonecore_pipeline_process_f32(p, x.as_ptr(), n, y.as_mut_ptr(), n);
                    tonecore_pipeline_free(p);
                    st
                }
                2 => {
                    let mut cfg = std::mem::zeroed::<tonecore_limiter_config>();
                    tonecore_limiter_config_init(&mut cfg);
                    let mut l = null_mut();
                    assert_eq!(tonecore_limiter_new(&cfg, &mut l), tonecore_status::Ok);
                    let st = tonecore_limiter_process_f32(l, x.as_ptr(), n, y.as_mut_ptr(), 64);
                    tonecore_limiter_free(l);
                    st
                }
                _ => {
                    let mut cfg = std::mem::zeroed::<tonecore_stft_config>();
                    tonecore_stft_config_init(&mut cfg);
                    cfg.fft_size = 256;
                    cfg.hop = 64;
                    cfg.threads = 1;
                    let mut s = null_mut();
                    assert_eq!(tonecore_stft_new(&cfg, &mut s), tonecore_status::Ok);
                    let mut z = vec![tonecore_complex_f32 { re: 0.0, im: 0.0 }; 8];
                    let mut f = usize::MAX;
                    let st = tonecore_stft_forward_f32(s, x.as_ptr(), n, 1, z.as_mut_ptr(), 8,
                                                       &mut f);
                    tonecore_stft_free(s);
                    assert_eq!(f, usize::MAX);
                    st
                }
            };
            assert!(!accepted(st, "huge input"), "a huge input length was accepted");
            assert!(untouched_f32(&y));
        }
        Call::Crossfade { a, b, channels, overlap, out, auralis } => {
            let ca = claim(a, 4);
            let cb = claim(b, 4);
            let co = claim(out, 4);
            let av = vec![0.5f32; ca.real];
            let bv = vec![-0.5f32; cb.real];
            let mut y = sentinel_f32(co.real);
            let mut n = usize::MAX;
            let st = if auralis {
                tonecore_auralis_crossfade_concat_f32(av.as_ptr(), ca.len, bv.as_ptr(), cb.len,
                                                      channels.usize(), overlap.usize(),
                                                      y.as_mut_ptr(), co.len, &mut n)
            } else {
                tonecore_crossfade_concat_f32(av.as_ptr(), ca.len, bv.as_ptr(), cb.len,
                                              channels.usize(), overlap.usize(), 0,
                                              y.as_mut_ptr(), co.len, &mut n)
            };
            if !check(st, "crossfade_concat", &[ca, cb, co]) {
                assert_eq!(n, usize::MAX);
                assert!(untouched_f32(&y));
            }
        }
    }
}
