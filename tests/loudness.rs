//! Loudness against the EBU Tech 3341 / 3342 test signals we can synthesise.

use std::f64::consts::PI;
use tonecore::dsp::loudness::{integrated, measure, LoudnessMeter};
use tonecore::ProcessError;

/// Stereo 1 kHz sine, `segments` of (dBFS per channel, seconds), planar.
fn sine_segments(sr: u32, segments: &[(f64, f64)]) -> Vec<f64> {
    let mut mono = Vec::new();
    for &(db, seconds) in segments {
        let a = 10f64.powf(db / 20.0);
        let n = (seconds * sr as f64).round() as usize;
        let start = mono.len();
        mono.extend((0..n).map(|i| a * (2.0 * PI * 1000.0 * (start + i) as f64 / sr as f64).sin()));
    }
    let mut stereo = mono.clone();
    stereo.extend_from_slice(&mono);
    stereo
}

/// Planar `channels × frames` at `sr`: `sample(channel, seconds, noise)` with `noise` uniform in
/// ±0.5 from a xorshift generator seeded with `seed`.
fn planar_signal(
    channels: usize,
    frames: usize,
    sr: u32,
    mut seed: u64,
    sample: impl Fn(usize, f64, f64) -> f64,
) -> Vec<f64> {
    let mut x = vec![0.0f64; channels * frames];
    for c in 0..channels {
        for i in 0..frames {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let noise = (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            x[c * frames + i] = sample(c, i as f64 / sr as f64, noise);
        }
    }
    x
}

#[test]
fn tech_3341_cases_1_to_5() {
    let sr = 48_000;
    let cases: [(&[(f64, f64)], f64); 5] = [
        (&[(-23.0, 20.0)], -23.0),
        (&[(-33.0, 20.0)], -33.0),
        (&[(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)], -23.0),
        (
            &[
                (-72.0, 10.0),
                (-36.0, 10.0),
                (-23.0, 60.0),
                (-36.0, 10.0),
                (-72.0, 10.0),
            ],
            -23.0,
        ),
        (&[(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)], -23.0),
    ];
    for (i, (segments, want)) in cases.iter().enumerate() {
        let x = sine_segments(sr, segments);
        let r = measure(&x, 2, sr).unwrap();
        assert!((integrated(&x, 2, sr).unwrap() - r.integrated).abs() < 1e-9);
        assert!(
            (r.integrated - want).abs() <= 0.1,
            "case {}: I = {}",
            i + 1,
            r.integrated
        );
        if i < 2 {
            assert!(
                (r.momentary_max - want).abs() <= 0.1,
                "case {}: M = {}",
                i + 1,
                r.momentary_max
            );
            assert!(
                (r.short_term_max - want).abs() <= 0.1,
                "case {}: S = {}",
                i + 1,
                r.short_term_max
            );
        }
    }
}

#[test]
fn tech_3342_loudness_range() {
    let sr = 48_000;
    for (segments, want) in [
        (&[(-20.0, 20.0), (-30.0, 20.0)][..], 10.0),
        (&[(-20.0, 20.0), (-15.0, 20.0)][..], 5.0),
        (&[(-40.0, 20.0), (-20.0, 20.0)][..], 20.0),
    ] {
        let x = sine_segments(sr, segments);
        let r = measure(&x, 2, sr).unwrap();
        assert!((r.range - want).abs() <= 1.0, "LRA {} vs {want}", r.range);
    }
}

#[test]
fn true_peak_sees_inter_sample_peaks() {
    // fs/4 sine at 45°: every sample is at A/√2, the true peak is A (−6 dBTP here).
    let sr = 48_000;
    let a = 10f64.powf(-6.0 / 20.0);
    let mono: Vec<f64> = (0..sr as usize * 2)
        .map(|i| a * (PI / 2.0 * i as f64 + PI / 4.0).sin())
        .collect();
    let sample_peak = mono.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!((20.0 * sample_peak.log10() + 9.01).abs() < 0.01);
    let r = measure(&mono, 1, sr).unwrap();
    assert!(
        r.true_peak > -6.4 && r.true_peak < -5.8,
        "true peak {}",
        r.true_peak
    );
}

#[test]
fn mono_is_one_front_channel_and_blocks_do_not_matter() {
    let sr = 44_100;
    let x = sine_segments(sr, &[(-23.0, 10.0)]);
    let mono = &x[..x.len() / 2];
    let r = measure(mono, 1, sr).unwrap();
    assert!(
        (r.integrated + 26.01).abs() <= 0.1,
        "mono I = {}",
        r.integrated
    );
    let whole = measure(&x, 2, sr).unwrap();
    let mut meter = LoudnessMeter::new(2, sr).unwrap();
    let len = x.len() / 2;
    let mut pos = 0;
    for block in [1usize, 37, 4410, 100_000].iter().cycle() {
        if pos >= len {
            break;
        }
        let n = (*block).min(len - pos);
        let mut planar = x[pos..pos + n].to_vec();
        planar.extend_from_slice(&x[len + pos..len + pos + n]);
        meter.add(&planar).unwrap();
        pos += n;
    }
    let r = meter.report();
    assert!((r.integrated - whole.integrated).abs() < 1e-9);
    assert!((r.momentary_max - whole.momentary_max).abs() < 1e-9);
}

#[test]
fn bad_input_is_refused() {
    assert!(LoudnessMeter::new(0, 48_000).is_err());
    assert!(LoudnessMeter::new(65, 48_000).is_err());
    assert!(LoudnessMeter::new(2, 0).is_err());
    let mut m = LoudnessMeter::new(2, 48_000).unwrap();
    assert_eq!(m.add(&[0.0f32; 3]), Err(ProcessError::InputShape));
    assert_eq!(m.add(&[0.0, f64::NAN]), Err(ProcessError::NonFinite));
    let silent = m.report();
    assert_eq!(silent.integrated, f64::NEG_INFINITY);
}

#[test]
fn momentary_and_short_term_maxima_match_the_ebur128_crate_every_100_ms() {
    // A signal whose loudness moves (bursts of noise and tones), at two rates and two layouts;
    // the reference asks the crate for its momentary and short-term loudness after every
    // 100 ms, as the meter did before it kept its own windows.
    for (sr, channels) in [(44_100u32, 2usize), (48_000, 6), (22_050, 1)] {
        let frames = 9 * sr as usize + 1234;
        let x = planar_signal(
            channels,
            frames,
            sr,
            0x2545_f491_4f6c_dd1d,
            |c, t, noise| {
                let env = if (t * 1.3).fract() < 0.4 { 0.8 } else { 0.05 };
                env * (0.5 * noise + 0.3 * (2.0 * PI * (200.0 + 90.0 * c as f64) * t).sin())
            },
        );
        let r = measure(&x, channels, sr).unwrap();
        let mut crate_meter =
            ebur128::EbuR128::new(channels as u32, sr, ebur128::Mode::M | ebur128::Mode::S)
                .unwrap();
        let step = (sr as usize + 5) / 10;
        let (mut m_max, mut s_max) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        let mut pos = 0;
        while pos + step <= frames {
            let planes: Vec<&[f64]> = (0..channels)
                .map(|c| &x[c * frames + pos..c * frames + pos + step])
                .collect();
            crate_meter.add_frames_planar_f64(&planes).unwrap();
            m_max = m_max.max(crate_meter.loudness_momentary().unwrap());
            s_max = s_max.max(crate_meter.loudness_shortterm().unwrap());
            pos += step;
        }
        assert!(
            (r.momentary_max - m_max).abs() < 1e-6,
            "{sr} {channels}: M {} vs {m_max}",
            r.momentary_max
        );
        assert!(
            (r.short_term_max - s_max).abs() < 1e-6,
            "{sr} {channels}: S {} vs {s_max}",
            r.short_term_max
        );
    }
}

#[test]
fn integrated_loudness_and_range_match_the_ebur128_crate() {
    // Loudness that moves over 60 dB (sections below the absolute gate, sections the relative
    // gates drop), in every default layout and at rates whose 100 ms is not a whole number of
    // frames, fed in blocks of odd sizes; the crate is fed the whole signal at once.
    for (sr, channels) in [
        (44_100u32, 2usize),
        (48_000, 1),
        (48_000, 3),
        (32_000, 4),
        (96_000, 5),
        (48_000, 6),
        (44_100, 8),
        (11_025, 2),
        (8_000, 1),
    ] {
        let frames = 41 * sr as usize + 777;
        let x = planar_signal(
            channels,
            frames,
            sr,
            0x9e37_79b9_7f4a_7c15,
            |c, t, noise| {
                // −80 … −8 dB in 2.3 s sections.
                let db = -80.0 + 72.0 * (((t / 2.3).floor() * 0.618_034).fract());
                let tone = (2.0 * PI * (150.0 + 400.0 * c as f64) * t).sin();
                10f64.powf(db / 20.0) * (noise + 0.5 * tone)
            },
        );
        let mut crate_meter =
            ebur128::EbuR128::new(channels as u32, sr, ebur128::Mode::I | ebur128::Mode::LRA)
                .unwrap();
        let planes: Vec<&[f64]> = x.chunks(frames).collect();
        crate_meter.add_frames_planar_f64(&planes).unwrap();
        let want_i = crate_meter.loudness_global().unwrap();
        let want_lra = crate_meter.loudness_range().unwrap();
        let mut meter = LoudnessMeter::new(channels, sr).unwrap();
        let mut pos = 0;
        for block in [4410usize, 1, 65_536, 333].iter().cycle() {
            if pos >= frames {
                break;
            }
            let n = (*block).min(frames - pos);
            let planar: Vec<f64> = (0..channels)
                .flat_map(|c| x[c * frames + pos..c * frames + pos + n].iter().copied())
                .collect();
            meter.add(&planar).unwrap();
            pos += n;
        }
        let r = meter.report();
        let whole = integrated(&x, channels, sr).unwrap();
        assert!(
            want_i.is_finite() && want_lra > 5.0,
            "{sr} {channels}: {want_i} {want_lra}"
        );
        assert!(
            (r.integrated - want_i).abs() < 1e-6 && (whole - want_i).abs() < 1e-6,
            "{sr} {channels}: I {} / {whole} vs {want_i}",
            r.integrated
        );
        assert!(
            (r.range - want_lra).abs() < 1e-6,
            "{sr} {channels}: LRA {} vs {want_lra}",
            r.range
        );
    }
}
