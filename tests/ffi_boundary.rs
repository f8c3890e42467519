//! The C ABI called from Rust through raw pointers, as a C host calls it: NULL and dangling-free
//! handling, out-parameters written only on success, struct_size reads, overlap checks, object
//! lifetimes (new/free, a params handle outliving its pipeline), panics turned into statuses,
//! and one object raced by two threads.
//!
//! Small sizes on purpose: this file is also the Miri lane's test set (`make test-miri`), where
//! the interpreter checks every pointer dereference, aliasing rule and data race of the FFI
//! layer's unsafe code (run under plain `cargo test` too).

use std::ffi::CStr;
use std::ptr::{null, null_mut};
use tonecore::ffi::*;

const OK: tonecore_status = tonecore_status::Ok;

fn last_error() -> String {
    unsafe { CStr::from_ptr(tonecore_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn window_fill_checks_pointers_and_writes_the_closed_form() {
    unsafe {
        assert_eq!(
            tonecore_window_fill_f64(0, null_mut(), 4),
            tonecore_status::NullPointer
        );
        assert!(!last_error().is_empty());
        let mut empty: [f64; 0] = [];
        assert_eq!(tonecore_window_fill_f64(0, empty.as_mut_ptr(), 0), OK);
        assert_eq!(last_error(), "");
        let mut w = [7.0f64; 8];
        assert_eq!(
            tonecore_window_fill_f64(99, w.as_mut_ptr(), 8),
            tonecore_status::UnknownWindow
        );
        assert_eq!(w, [7.0; 8], "a refused call wrote");
        assert_eq!(tonecore_window_fill_f64(0, w.as_mut_ptr(), 8), OK);
        for (i, v) in w.iter().enumerate() {
            let want = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / 8.0).cos();
            assert!((v - want).abs() < 1e-15, "{i}: {v} vs {want}");
        }
        let mut f = [0.0f32; 5];
        assert_eq!(tonecore_window_fill_f32(1, f.as_mut_ptr(), 5), OK);
        assert_eq!(f[2], 1.0);
    }
}

#[test]
fn status_strings_are_static_and_nul_terminated() {
    for code in [-1, 0, 1, 5, 21, 99, 100, 101, 102, 200, 202, 1000] {
        let s = unsafe { CStr::from_ptr(tonecore_status_str(code)) };
        assert!(!s.to_bytes().is_empty());
    }
    let v = unsafe { CStr::from_ptr(tonecore_version_string()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn a_panic_becomes_a_status_with_detail() {
    assert_eq!(tonecore_debug_panic(), tonecore_status::Panic);
    assert!(
        last_error().contains("tonecore_debug_panic"),
        "{}",
        last_error()
    );
}

unsafe fn small_stft(format: tonecore_sample_format) -> *mut tonecore_stft {
    let mut c = std::mem::zeroed::<tonecore_stft_config>();
    assert_eq!(tonecore_stft_config_init(&mut c), OK);
    c.fft_size = 16;
    c.hop = 4;
    c.threads = 1;
    c.sample_format = format as i32;
    let mut s = null_mut();
    assert_eq!(tonecore_stft_new(&c, &mut s), OK);
    assert!(!s.is_null());
    s
}

#[test]
fn stft_round_trip_and_refusals() {
    unsafe {
        let s = small_stft(tonecore_sample_format::F64);
        let mut bins = 0usize;
        assert_eq!(tonecore_stft_bins(s, &mut bins), OK);
        assert_eq!(bins, 9);
        let x: Vec<f64> = (0..48).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
        let mut frames = usize::MAX;
        assert_eq!(tonecore_stft_frame_count(s, x.len(), &mut frames), OK);
        assert_eq!(frames, 1 + (48 - 16) / 4);
        let mut spec = vec![tonecore_complex_f64::default(); frames * bins];
        let mut got = usize::MAX;
        assert_eq!(
            tonecore_stft_forward_f64(
                s,
                x.as_ptr(),
                48,
                1,
                spec.as_mut_ptr(),
                spec.len(),
                &mut got
            ),
            OK
        );
        assert_eq!(got, frames);
        let mut len = 0usize;
        assert_eq!(tonecore_stft_signal_len(s, frames, &mut len), OK);
        let mut y = vec![0.0f64; len];
        let mut written = 0usize;
        assert_eq!(
            tonecore_stft_inverse_f64(
                s,
                spec.as_ptr(),
                spec.len(),
                1,
                y.as_mut_ptr(),
                len,
                &mut written
            ),
            OK
        );
        assert_eq!(written, 48);
        for i in 16..32 {
            assert!((y[i] - x[i]).abs() < 1e-9, "{i}: {} vs {}", y[i], x[i]);
        }

        // Refusals leave the out-parameters alone.
        let mut keep = 12345usize;
        assert_eq!(
            tonecore_stft_forward_f64(s, null(), 48, 1, spec.as_mut_ptr(), spec.len(), &mut keep),
            tonecore_status::NullPointer
        );
        assert_eq!(
            tonecore_stft_forward_f64(s, x.as_ptr(), 48, 1, spec.as_mut_ptr(), 3, &mut keep),
            tonecore_status::BufferTooSmall
        );
        // The output overlapping the input (same bytes seen as complex values).
        let mut both = vec![0.0f64; 200];
        let p = both.as_mut_ptr();
        assert_eq!(
            tonecore_stft_forward_f64(s, p, 48, 1, p.cast(), 100, &mut keep),
            tonecore_status::BuffersOverlap
        );
        let xf = [0.0f32; 48];
        let mut specf = vec![tonecore_complex_f32::default(); frames * bins];
        assert_eq!(
            tonecore_stft_forward_f32(
                s,
                xf.as_ptr(),
                48,
                1,
                specf.as_mut_ptr(),
                specf.len(),
                &mut keep
            ),
            tonecore_status::WrongFormat
        );
        assert_eq!(keep, 12345);
        assert_eq!(
            tonecore_stft_bins(null(), &mut keep),
            tonecore_status::NullPointer
        );
        tonecore_stft_free(s);
        tonecore_stft_free(null_mut());
    }
}

#[test]
fn config_struct_size_and_custom_window_are_read_through_raw_pointers() {
    unsafe {
        let mut c = std::mem::zeroed::<tonecore_stft_config>();
        assert_eq!(tonecore_stft_config_init(&mut c), OK);
        c.fft_size = 16;
        c.hop = 8;
        c.threads = 1;
        let window = [1.0f64; 16];
        c.custom_window = window.as_ptr();
        c.custom_window_len = 16;
        let mut s = null_mut();
        assert_eq!(tonecore_stft_new(&c, &mut s), OK);
        tonecore_stft_free(s);

        let mut marker = 0u8;
        let sentinel = (&mut marker as *mut u8).cast::<tonecore_stft>();
        let mut keep = sentinel;
        c.custom_window_len = 15;
        assert_eq!(
            tonecore_stft_new(&c, &mut keep),
            tonecore_status::InvalidLength
        );
        c.struct_size = 8;
        assert_eq!(
            tonecore_stft_new(&c, &mut keep),
            tonecore_status::StructSize
        );
        assert_eq!(
            tonecore_stft_new(null(), &mut keep),
            tonecore_status::NullPointer
        );
        assert_eq!(keep, sentinel);
        assert_eq!(
            tonecore_stft_config_init(null_mut()),
            tonecore_status::NullPointer
        );
    }
}

#[test]
fn limiter_processes_and_refuses_through_raw_pointers() {
    unsafe {
        let mut c = std::mem::zeroed::<tonecore_limiter_config>();
        assert_eq!(tonecore_limiter_config_init(&mut c), OK);
        c.sample_rate = 8000;
        c.lookahead_ms = 1.0;
        c.ceiling_db = -6.0;
        c.true_peak = 0;
        let mut short = c;
        short.struct_size = 8;
        let mut lim = null_mut();
        assert_eq!(
            tonecore_limiter_new(&short, &mut lim),
            tonecore_status::StructSize
        );
        assert!(lim.is_null());
        assert_eq!(tonecore_limiter_new(&c, &mut lim), OK);
        let mut latency = 0usize;
        assert_eq!(tonecore_limiter_latency(lim, &mut latency), OK);
        assert_eq!(latency, 8);
        let x = [1.5f32; 64];
        let mut y = [9.0f32; 64];
        assert_eq!(
            tonecore_limiter_process_f32(lim, x.as_ptr(), 64, y.as_mut_ptr(), 64),
            OK
        );
        assert_eq!(
            tonecore_limiter_process_interleaved_f32(lim, x.as_ptr(), 64, y.as_mut_ptr(), 64),
            OK
        );
        assert!(y.iter().all(|v| v.abs() <= 0.502));
        let p = y.as_mut_ptr();
        assert_eq!(
            tonecore_limiter_process_f32(lim, p, 16, p.add(8), 16),
            tonecore_status::BuffersOverlap
        );
        let d = [0.0f64; 2];
        let mut e = [0.0f64; 2];
        assert_eq!(
            tonecore_limiter_process_f64(lim, d.as_ptr(), 2, e.as_mut_ptr(), 2),
            tonecore_status::WrongFormat
        );
        assert_eq!(
            tonecore_limiter_set_ceiling_db(lim, 3.0),
            tonecore_status::InvalidCeiling
        );
        let mut s = std::mem::zeroed::<tonecore_limiter_stats>();
        s.struct_size = std::mem::size_of::<tonecore_limiter_stats>();
        assert_eq!(tonecore_limiter_get_stats(lim, &mut s), OK);
        assert_eq!(s.frames, 64);
        assert!(s.max_reduction_db < -9.0);
        assert_eq!(tonecore_limiter_reset(lim), OK);
        tonecore_limiter_free(lim);
        tonecore_limiter_free(null_mut());
    }
}

#[test]
fn equalizer_processes_blocks_and_refuses_bad_ones() {
    unsafe {
        let mut c = std::mem::zeroed::<tonecore_equalizer_config>();
        assert_eq!(tonecore_equalizer_config_init(&mut c), OK);
        c.channels = 2;
        c.fft_size = 64;
        c.max_block = 16;
        c.sample_rate = 8000;
        c.layout = tonecore_layout::Octave as i32;
        let mut eq = null_mut();
        assert_eq!(tonecore_equalizer_new(&c, &mut eq), OK);
        let mut bands = 0usize;
        assert_eq!(tonecore_equalizer_bands(eq, &mut bands), OK);
        assert_eq!(bands, 10);
        let gains = vec![3.0f64; bands];
        assert_eq!(tonecore_equalizer_set_gains(eq, gains.as_ptr(), bands), OK);
        let mut back = vec![0.0f64; bands];
        assert_eq!(tonecore_equalizer_gains(eq, back.as_mut_ptr(), bands), OK);
        assert_eq!(back, gains);
        let x = [0.25f32; 32];
        let mut y = [9.0f32; 32];
        for _ in 0..4 {
            assert_eq!(
                tonecore_equalizer_process_f32(eq, x.as_ptr(), 32, y.as_mut_ptr(), 32),
                OK
            );
            assert_eq!(
                tonecore_equalizer_process_interleaved_f32(eq, x.as_ptr(), 32, y.as_mut_ptr(), 32),
                OK
            );
        }
        let mut z = [9.0f32; 34];
        assert_eq!(
            tonecore_equalizer_process_f32(eq, x.as_ptr(), 31, z.as_mut_ptr(), 31),
            tonecore_status::InvalidChannels
        );
        assert_eq!(
            tonecore_equalizer_process_f32(eq, z.as_ptr(), 34, y.as_mut_ptr(), 32),
            tonecore_status::BlockTooLarge
        );
        let p = z.as_mut_ptr();
        assert_eq!(
            tonecore_equalizer_process_f32(eq, p, 16, p.add(8), 16),
            tonecore_status::BuffersOverlap
        );
        assert_eq!(
            tonecore_equalizer_set_gains(eq, gains.as_ptr(), 3),
            tonecore_status::GainCount
        );
        let mut count = 7u64;
        assert_eq!(tonecore_equalizer_nonfinite_count(eq, &mut count), OK);
        assert_eq!(count, 0);
        assert_eq!(tonecore_equalizer_reset(eq), OK);
        tonecore_equalizer_free(eq);
    }
}

#[test]
fn params_handle_outlives_its_pipeline() {
    unsafe {
        let mut c = std::mem::zeroed::<tonecore_pipeline_config>();
        assert_eq!(tonecore_pipeline_config_init(&mut c), OK);
        c.channels = 1;
        c.sample_rate = 8000;
        c.fft_size = 64;
        c.max_block = 32;
        c.eq_enabled = 1;
        c.limiter_enabled = 1;
        let mut p = null_mut();
        assert_eq!(tonecore_pipeline_new(&c, &mut p), OK);
        let mut params = null_mut();
        assert_eq!(tonecore_pipeline_params(p, &mut params), OK);
        let x: Vec<f32> = (0..32)
            .map(|i| if i % 2 == 0 { 2.0 } else { -2.0 })
            .collect();
        let mut y = vec![0.0f32; 32];
        for _ in 0..6 {
            assert_eq!(
                tonecore_pipeline_process_f32(p, x.as_ptr(), 32, y.as_mut_ptr(), 32),
                OK
            );
        }
        assert_eq!(tonecore_params_set_ceiling_db(params, -6.0), OK);
        assert_eq!(tonecore_params_set_bypass(params, 1, 1), OK);
        let mut stats = std::mem::zeroed::<tonecore_pipeline_stats>();
        stats.struct_size = std::mem::size_of::<tonecore_pipeline_stats>();
        assert_eq!(tonecore_params_stats(params, &mut stats), OK);
        assert_eq!(stats.frames, 6 * 32);
        stats.struct_size = 4;
        assert_eq!(
            tonecore_params_stats(params, &mut stats),
            tonecore_status::StructSize
        );

        tonecore_pipeline_free(p);
        // Setters still succeed (and affect nothing); stats keep the last snapshot.
        assert_eq!(tonecore_params_set_level_target(params, -20.0), OK);
        stats.struct_size = std::mem::size_of::<tonecore_pipeline_stats>();
        assert_eq!(tonecore_params_stats(params, &mut stats), OK);
        assert_eq!(stats.frames, 6 * 32);
        tonecore_params_free(params);
        tonecore_params_free(null_mut());
        tonecore_pipeline_free(null_mut());
    }
}

#[test]
fn crossfade_concat_through_raw_pointers() {
    unsafe {
        let a = [1.0f64; 6];
        let b = [0.0f64; 6];
        let mut out = [5.0f64; 12];
        let mut frames = 0usize;
        assert_eq!(
            tonecore_crossfade_concat_f64(
                a.as_ptr(),
                6,
                b.as_ptr(),
                6,
                1,
                3,
                2,
                out.as_mut_ptr(),
                12,
                &mut frames
            ),
            OK
        );
        assert_eq!(frames, 9);
        assert_eq!(&out[..4], &[1.0, 1.0, 1.0, 1.0]);
        assert_eq!(out[4], 0.5);
        assert_eq!(
            tonecore_crossfade_concat_f64(
                a.as_ptr(),
                6,
                b.as_ptr(),
                6,
                1,
                3,
                2,
                out.as_mut_ptr(),
                8,
                &mut frames
            ),
            tonecore_status::BufferTooSmall
        );
    }
}

#[test]
fn loudness_meter_lifecycle() {
    unsafe {
        let mut m = null_mut();
        assert_eq!(
            tonecore_loudness_meter_new(0, 8000, &mut m),
            tonecore_status::InvalidChannels
        );
        assert!(m.is_null());
        assert_eq!(tonecore_loudness_meter_new(1, 8000, &mut m), OK);
        let x = vec![0.1f32; 800];
        assert_eq!(tonecore_loudness_meter_add_f32(m, x.as_ptr(), x.len()), OK);
        let bad = [f32::NAN; 4];
        assert_eq!(
            tonecore_loudness_meter_add_f32(m, bad.as_ptr(), 4),
            tonecore_status::NonFinite
        );
        let mut r = tonecore_loudness_report::default();
        assert_eq!(tonecore_loudness_meter_report(m, &mut r), OK);
        assert_eq!(tonecore_loudness_meter_reset(m), OK);
        tonecore_loudness_meter_free(m);
        tonecore_loudness_meter_free(null_mut());
    }
}

/// Two threads race on one single-threaded object: every call either succeeds or is refused
/// with CONCURRENT_USE; never anything else (and, under Miri, never a data race).
#[test]
fn one_stft_raced_by_two_threads() {
    struct Shared(*mut tonecore_stft);
    // SAFETY: the object is documented as callable from any thread (one call at a time, others
    // refused with CONCURRENT_USE); that refusal is what this test checks.
    unsafe impl Sync for Shared {}
    impl Shared {
        fn get(&self) -> *mut tonecore_stft {
            self.0
        }
    }
    let s = Shared(unsafe { small_stft(tonecore_sample_format::F32) });
    let rounds = if cfg!(miri) { 3 } else { 200 };
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let x = [0.5f32; 32];
                let mut spec = [tonecore_complex_f32::default(); 5 * 9];
                for _ in 0..rounds {
                    let mut frames = 0usize;
                    let st = unsafe {
                        tonecore_stft_forward_f32(
                            s.get(),
                            x.as_ptr(),
                            32,
                            1,
                            spec.as_mut_ptr(),
                            spec.len(),
                            &mut frames,
                        )
                    };
                    assert!(
                        st == OK || st == tonecore_status::ConcurrentUse,
                        "unexpected {st:?}"
                    );
                    if st == OK {
                        assert_eq!(frames, 5);
                    }
                }
            });
        }
    });
    unsafe { tonecore_stft_free(s.get()) };
}
