//! tonecore_playback through the C ABI: arbitrary pipeline and render configs (chunk, context,
//! crossfade, curve, lookahead, seek fade), an arbitrary track, then arbitrary reads (any length,
//! f32/f64), seeks (any time, NaN, negative, past the end), stats; the stream is freed at the end
//! (joining its worker) or early.
//!
//! Checked: no call panics; refused reads write nothing; accepted reads write finite samples and
//! never report more frames than asked for; stats stay consistent (position within the track).
#![no_main]

#[path = "common.rs"]
mod common;

use common::*;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use std::ptr::null_mut;
use tonecore::ffi::*;

#[derive(Arbitrary, Debug)]
struct Input {
    rate: u8,
    channels: u8,
    f64_format: bool,
    eq: bool,
    level: bool,
    limiter: bool,
    chunk_seconds: Num,
    context_seconds: Num,
    crossfade_seconds: Num,
    curve: i8,
    threads: u8,
    lookahead_chunks: u8,
    seek_fade_ms: Num,
    track_frames: u16,
    track: Fill,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Read {
        frames: u16,
        as_f64: bool,
        odd: bool,
    },
    Seek(Num),
    Stats,
    Yield,
}

fuzz_target!(|input: Input| {
    let mut pc = unsafe { std::mem::zeroed::<tonecore_pipeline_config>() };
    assert_eq!(
        unsafe { tonecore_pipeline_config_init(&mut pc) },
        tonecore_status::Ok
    );
    // Low rates keep the rendering work per input small.
    pc.sample_rate = [0, 1, 100, 1000, 8000, 16000][usize::from(input.rate) % 6];
    pc.channels = (channels(input.channels) as u32).min(70);
    pc.fft_size = 256;
    pc.max_block = 256;
    pc.sample_format = i32::from(input.f64_format);
    pc.eq_enabled = u32::from(input.eq);
    pc.level_enabled = u32::from(input.level);
    pc.limiter_enabled = u32::from(input.limiter);
    let mut rc = unsafe { std::mem::zeroed::<tonecore_render_config>() };
    assert_eq!(
        unsafe { tonecore_render_config_init(&mut rc) },
        tonecore_status::Ok
    );
    // Tenths of a second for the durations, so that short tracks span several chunks.
    rc.chunk_seconds = input.chunk_seconds.or(rc.chunk_seconds);
    rc.context_seconds = context_seconds(input.context_seconds, rc.context_seconds);
    rc.crossfade_seconds = input.crossfade_seconds.or(rc.crossfade_seconds);
    rc.curve = i32::from(input.curve % 4);
    rc.threads = u32::from(input.threads % 3);
    rc.lookahead_chunks = u32::from(input.lookahead_chunks % 4);
    rc.seek_fade_ms = input.seek_fade_ms.or(rc.seek_fade_ms);

    let ch = pc.channels as usize;
    let n = usize::from(input.track_frames % 16001) * ch;
    let mut pb = null_mut();
    let st = if input.f64_format {
        let x = input.track.make_f64(n);
        unsafe { tonecore_playback_open_f64(&pc, &rc, x.as_ptr(), n, &mut pb) }
    } else {
        let x = input.track.make(n);
        unsafe { tonecore_playback_open_f32(&pc, &rc, x.as_ptr(), n, &mut pb) }
    };
    if !accepted(st, "playback_open") {
        assert!(pb.is_null());
        return;
    }
    let frames_total = (n / ch.max(1)) as u64;
    for op in input.ops.iter().take(48) {
        match op {
            Op::Read {
                frames,
                as_f64,
                odd,
            } => {
                let len = usize::from(*frames % 2049) * ch + usize::from(*odd && ch > 1);
                let mut got = usize::MAX;
                if *as_f64 {
                    let mut y = sentinel_f64(len);
                    let st =
                        unsafe { tonecore_playback_read_f64(pb, y.as_mut_ptr(), len, &mut got) };
                    if accepted(st, "read_f64") {
                        assert!(got <= len / ch && y.iter().all(|v| v.is_finite()));
                    } else {
                        assert!(untouched_f64(&y) && got == usize::MAX);
                    }
                } else {
                    let mut y = sentinel_f32(len);
                    let st =
                        unsafe { tonecore_playback_read_f32(pb, y.as_mut_ptr(), len, &mut got) };
                    if accepted(st, "read_f32") {
                        assert!(got <= len / ch && y.iter().all(|v| v.is_finite()));
                    } else {
                        assert!(untouched_f32(&y) && got == usize::MAX);
                    }
                }
            }
            Op::Seek(t) => {
                let _ = accepted(unsafe { tonecore_playback_seek(pb, t.or(0.0)) }, "seek");
            }
            Op::Stats => {
                let mut s = tonecore_playback_stats::default();
                assert!(accepted(
                    unsafe { tonecore_playback_get_stats(pb, &mut s) },
                    "stats"
                ));
                assert!(
                    s.position <= frames_total,
                    "position {} past {}",
                    s.position,
                    frames_total
                );
            }
            Op::Yield => std::thread::yield_now(),
        }
    }
    unsafe { tonecore_playback_free(pb) };
});
