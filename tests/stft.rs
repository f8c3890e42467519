//! The STFT and ISTFT against an independent naive DFT and by round trip.

mod common;

use common::{hann, naive_rdft, noise, rel_err};
use tonecore::dsp::{Complex, WindowKind};
use tonecore::spectral::{istft, stft, Istft, Stft, StftConfig};
use tonecore::{ConfigError, ProcessError};

fn config(fft_size: usize, hop: usize, threads: usize) -> StftConfig {
    StftConfig {
        hop,
        threads,
        ..StftConfig::new(fft_size)
    }
}

fn check_against_naive(n: usize, hop: usize, center: bool) {
    let len = 5 * n + 37;
    let x = noise(len, n as u64);
    let cfg = StftConfig {
        center,
        ..config(n, hop, 1)
    };
    let (spec, frames) = stft(&x, 1, cfg).unwrap();
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let (spec32, frames32) = stft(&x32, 1, cfg).unwrap();
    assert_eq!(frames, cfg.frame_count(len));
    assert_eq!(frames32, frames);
    let bins = n / 2 + 1;
    let w = hann(n);
    let pad = if center { n / 2 } else { 0 };
    for k in [0, 1, frames / 2, frames - 1] {
        let frame: Vec<f64> = (0..n)
            .map(|i| {
                let idx = (k * hop + i) as isize - pad as isize;
                if idx < 0 || idx >= len as isize {
                    0.0
                } else {
                    x[idx as usize] * w[i]
                }
            })
            .collect();
        let reference = naive_rdft(&frame);
        let got = &spec[k * bins..(k + 1) * bins];
        let e = rel_err(got, &reference);
        assert!(e < 1e-12, "f64 n={n} hop={hop} frame {k}: rel err {e}");
        let got32: Vec<Complex<f64>> = spec32[k * bins..(k + 1) * bins]
            .iter()
            .map(|c| Complex::new(c.re as f64, c.im as f64))
            .collect();
        let e32 = rel_err(&got32, &reference);
        assert!(e32 < 1e-5, "f32 n={n} hop={hop} frame {k}: rel err {e32}");
    }
}

#[test]
fn matches_naive_dft_for_power_of_two_and_other_even_sizes() {
    for (n, hop) in [
        (16, 4),
        (64, 16),
        (2062, 515),
        (4094, 1024),
        (4096, 1024),
        (30, 7),
    ] {
        check_against_naive(n, hop, false);
    }
}

#[test]
fn centred_framing_zero_pads_half_a_frame() {
    for (n, hop) in [(64, 16), (2062, 1031)] {
        check_against_naive(n, hop, true);
    }
    let cfg = StftConfig {
        center: true,
        ..config(64, 16, 1)
    };
    assert_eq!(cfg.frame_count(0), 0);
    assert_eq!(cfg.frame_count(1), 1);
    assert_eq!(cfg.frame_count(160), 11);
}

#[test]
fn threads_do_not_change_the_result_and_channels_are_planar() {
    let n = 1024;
    let len = 44_100;
    let mut x = noise(len, 1);
    x.extend(noise(len, 2));
    let (one, frames) = stft(&x, 2, config(n, 256, 1)).unwrap();
    for threads in [0, 2, 3] {
        let (many, f) = stft(&x, 2, config(n, 256, threads)).unwrap();
        assert_eq!(f, frames);
        assert_eq!(one, many, "threads={threads}");
    }
    // Channel 1 of the stereo transform equals the mono transform of channel 1.
    let (right, _) = stft(&x[len..], 1, config(n, 256, 1)).unwrap();
    assert_eq!(&one[one.len() / 2..], &right[..]);
}

fn round_trip_error<T: tonecore::cache::CachedSample>(
    n: usize,
    hop: usize,
    window: WindowKind,
    center: bool,
    threads: usize,
) -> f64 {
    let len = 20 * n + 11;
    let x: Vec<T> = noise(2 * len, 9).into_iter().map(T::of_f64).collect();
    let cfg = StftConfig {
        window,
        center,
        ..config(n, hop, threads)
    };
    let (spec, _) = stft(&x, 2, cfg).unwrap();
    let y = istft(&spec, 2, cfg).unwrap();
    let out_len = y.len() / 2;
    let mut worst = 0.0f64;
    for c in 0..2 {
        for i in n..out_len.min(len) - n {
            let e = (y[c * out_len + i].as_f64() - x[c * len + i].as_f64()).abs();
            worst = worst.max(e);
        }
    }
    worst
}

#[test]
fn istft_reconstructs_away_from_the_edges() {
    for (n, hop, window) in [
        (1024, 512, WindowKind::Hann),
        (1024, 256, WindowKind::Hann),
        (1024, 512, WindowKind::SqrtHann),
        (2062, 1031, WindowKind::Hann),
    ] {
        for (center, threads) in [(false, 1), (true, 1), (false, 0), (true, 3)] {
            let e64 = round_trip_error::<f64>(n, hop, window, center, threads);
            assert!(
                e64 < 1e-12,
                "f64 {n}/{hop} {window:?} center={center}: {e64}"
            );
            let e32 = round_trip_error::<f32>(n, hop, window, center, threads);
            assert!(
                e32 < 1e-6,
                "f32 {n}/{hop} {window:?} center={center}: {e32}"
            );
        }
    }
}

#[test]
fn bad_configs_are_refused() {
    let bad = |fft_size, hop| Stft::<f32>::new(config(fft_size, hop, 1)).err();
    assert_eq!(bad(0, 1), Some(ConfigError::FftSizeTooSmall));
    assert_eq!(bad(14, 1), Some(ConfigError::FftSizeTooSmall));
    assert_eq!(bad(1025, 4), Some(ConfigError::FftSizeOdd));
    assert_eq!(bad(1 << 25, 4), Some(ConfigError::FftSizeTooLarge));
    assert_eq!(bad(64, 0), Some(ConfigError::InvalidHop));
    assert_eq!(bad(64, 65), Some(ConfigError::InvalidHop));
    assert_eq!(
        Stft::<f32>::new(config(64, 16, 5000)).err(),
        Some(ConfigError::TooManyThreads)
    );
    assert_eq!(
        Stft::<f32>::with_window(config(64, 16, 1), &[1.0; 63]).err(),
        Some(ConfigError::WindowLength)
    );
    let mut w = vec![1.0f32; 64];
    w[3] = f32::NAN;
    assert_eq!(
        Stft::<f32>::with_window(config(64, 16, 1), &w).err(),
        Some(ConfigError::NonFiniteWindow)
    );
    // Periodic Hann at hop = N has a zero overlap-add at every frame start.
    assert_eq!(
        Istft::<f64>::new(config(64, 64, 1)).err(),
        Some(ConfigError::WindowNotInvertible)
    );
    assert!(Stft::<f64>::new(config(64, 64, 1)).is_ok());
}

#[test]
fn bad_calls_write_nothing() {
    for threads in [1, 0] {
        let mut s = Stft::<f32>::new(config(64, 16, threads)).unwrap();
        let sentinel = Complex::new(7.0f32, -7.0);
        let x = vec![0.25f32; 2 * 300];
        let need = s.output_len(2, 300).unwrap();
        let mut out = vec![sentinel; need];
        let mut call = |input: &[f32], channels: usize, out_len: usize| {
            let r = s.process(input, channels, &mut out[..out_len]);
            assert!(out.iter().all(|&v| v == sentinel));
            r
        };
        assert_eq!(call(&x, 0, need), Err(ProcessError::NoChannels));
        assert_eq!(call(&x[..599], 2, need), Err(ProcessError::InputShape));
        assert_eq!(call(&x, 2, need - 1), Err(ProcessError::OutputTooSmall));
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut y = x.clone();
            y[451] = bad;
            assert_eq!(call(&y, 2, need), Err(ProcessError::NonFinite));
        }
        // Shorter than one frame: no frames, nothing written, not an error.
        assert_eq!(call(&x[..126], 2, need), Ok(0));
        assert_eq!(call(&[], 1, need), Ok(0));
    }
    let mut inv = Istft::<f64>::new(config(64, 16, 1)).unwrap();
    let mut spec = vec![Complex::new(0.0, 0.0); 33 * 4];
    let mut out = vec![3.0f64; 112];
    assert_eq!(
        inv.process(&spec, 1, &mut out[..111]),
        Err(ProcessError::OutputTooSmall)
    );
    assert_eq!(
        inv.process(&spec[..100], 1, &mut out),
        Err(ProcessError::InputShape)
    );
    spec[5].im = f64::NAN;
    assert_eq!(
        inv.process(&spec, 1, &mut out),
        Err(ProcessError::NonFinite)
    );
    assert!(out.iter().all(|&v| v == 3.0));
}
