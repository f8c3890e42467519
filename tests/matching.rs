//! Reference matching against independent measures: the output's long-term spectrum from a
//! plain Blackman-windowed FFT average (not the profile code), loudness and true peak from the
//! `ebur128` crate.

use realfft::RealFftPlanner;
use tonecore::spectral::matching::MatchOutcome;
use tonecore::spectral::profile::{GRID, PROFILE_BANDS};
use tonecore::{match_track, profile, MatchSettings, Profile, RenderConfig, Watch};

/// Deterministic white noise in ±1.
fn noise(len: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// Noise of `len` (a power of two) frames shaped in one FFT by `shape_db(f)`, with a slow
/// amplitude envelope (so loudness gating and the limiter have something to do), scaled to
/// `rms`.
fn shaped(len: usize, rate: u32, seed: u64, rms: f64, shape_db: impl Fn(f64) -> f64) -> Vec<f64> {
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(len);
    let inv = planner.plan_fft_inverse(len);
    let mut x = noise(len, seed);
    let mut spec = fwd.make_output_vec();
    fwd.process(&mut x, &mut spec).unwrap();
    for (k, s) in spec.iter_mut().enumerate() {
        let f = k as f64 * rate as f64 / len as f64;
        *s *= 10f64.powf(shape_db(f.max(1.0)) / 20.0);
    }
    spec[0].im = 0.0;
    spec[len / 2].im = 0.0;
    inv.process(&mut spec, &mut x).unwrap();
    for (i, v) in x.iter_mut().enumerate() {
        let t = i as f64 / rate as f64;
        *v *= 1.0 + 0.5 * (2.0 * std::f64::consts::PI * 0.7 * t).sin();
    }
    let now = (x.iter().map(|v| v * v).sum::<f64>() / len as f64).sqrt();
    x.iter().map(|v| v * rms / now).collect()
}

fn stereo(left: Vec<f64>, right: Vec<f64>) -> Vec<f64> {
    left.into_iter().chain(right).collect()
}

/// Band densities (dB) of planar `x`, measured independently: the mean of the channels,
/// Blackman window, 65536-point frames, hop a quarter, mean power over frames, mean over each
/// band's bins.
fn independent_bands(x: &[f64], channels: usize, rate: u32) -> Vec<Option<f64>> {
    let n = 65536;
    let len = x.len() / channels;
    let fwd = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let w: Vec<f64> = (0..n)
        .map(|i| {
            let a = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
            0.42 - 0.5 * a.cos() + 0.08 * (2.0 * a).cos()
        })
        .collect();
    let mut power = vec![0.0; n / 2 + 1];
    let mut frame = vec![0.0; n];
    let mut spec = fwd.make_output_vec();
    let mono: Vec<f64> = (0..len)
        .map(|i| (0..channels).map(|c| x[c * len + i]).sum::<f64>() / channels as f64)
        .collect();
    {
        let plane = &mono;
        let mut start = 0;
        while start + n <= len {
            for i in 0..n {
                frame[i] = plane[start + i] * w[i];
            }
            fwd.process(&mut frame, &mut spec).unwrap();
            for (p, s) in power.iter_mut().zip(&spec) {
                *p += s.norm_sqr();
            }
            start += n / 4;
        }
    }
    let bin = rate as f64 / n as f64;
    GRID.edges()
        .windows(2)
        .map(|e| {
            if e[1] > 0.45 * rate as f64 {
                return None;
            }
            let bins: Vec<f64> = (0..power.len())
                .filter(|&k| (e[0]..e[1]).contains(&(k as f64 * bin)))
                .map(|k| power[k])
                .collect();
            (!bins.is_empty())
                .then(|| 10.0 * (bins.iter().sum::<f64>() / bins.len() as f64).log10())
        })
        .collect()
}

/// RMS of `a − b` over `bands` where both are present, mean removed.
fn residual(a: &[Option<f64>], b: &[Option<f64>], bands: &[bool]) -> (f64, usize) {
    let d: Vec<f64> = (0..PROFILE_BANDS)
        .filter(|&i| bands[i])
        .filter_map(|i| Some(a[i]? - b[i]?))
        .collect();
    let mean = d.iter().sum::<f64>() / d.len() as f64;
    let rms = (d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d.len() as f64).sqrt();
    (rms, d.len())
}

fn loudness(x: &[f64], channels: usize, rate: u32) -> (f64, f64) {
    let mode = ebur128::Mode::I | ebur128::Mode::TRUE_PEAK;
    let mut meter = ebur128::EbuR128::new(channels as u32, rate, mode).unwrap();
    let planes: Vec<&[f64]> = x.chunks_exact(x.len() / channels).collect();
    meter.add_frames_planar_f64(&planes).unwrap();
    let peak = (0..channels as u32)
        .map(|c| meter.true_peak(c).unwrap())
        .fold(0.0, f64::max);
    (meter.loudness_global().unwrap(), 20.0 * peak.log10())
}

/// A dark, quiet track and a bright, loud reference with a bass bump.
fn pair(rate: u32) -> (Vec<f64>, Vec<f64>) {
    let len = 1 << 20;
    let dark = |f: f64| -4.5 * (f / 1000.0).log2() - 6.0 * (f / 8000.0).max(1.0).log2();
    let bright = |f: f64| {
        -2.0 * (f / 1000.0).log2() + 6.0 * (-((f / 80.0).log2().powi(2)) / 0.5).exp()
            - 12.0 * (f / 30.0).min(1.0).log2().abs()
    };
    let track = stereo(
        shaped(len, rate, 1, 0.05, dark),
        shaped(len, rate, 2, 0.05, dark),
    );
    let reference = stereo(
        shaped(len, rate, 3, 0.2, bright),
        shaped(len, rate, 4, 0.2, bright),
    );
    (track, reference)
}

#[test]
fn a_match_lands_on_the_references_balance_loudness_and_peak() {
    for rate in [44_100u32, 96_000] {
        let (track, reference) = pair(rate);
        let reference_profile = profile(&reference, 2, rate, 0).unwrap();
        let mut out = vec![0.0; track.len()];
        let report = match_track(
            &track,
            2,
            rate,
            &reference_profile,
            &MatchSettings::default(),
            &RenderConfig::default(),
            &mut out,
            Watch::default(),
        )
        .unwrap();
        assert_eq!(report.gains.outcome, MatchOutcome::Matched);
        let bands = &report.gains.within_clamp;
        let reference_bands = independent_bands(&reference, 2, rate);
        let (before, _) = residual(&independent_bands(&track, 2, rate), &reference_bands, bands);
        let (after, used) = residual(&independent_bands(&out, 2, rate), &reference_bands, bands);
        assert!(used >= 45, "{rate}: {used} bands compared");
        assert!(before > 4.0, "{rate}: the pair differs ({before:.2} dB)");
        assert!(
            after < 1.0,
            "{rate}: residual {after:.2} dB (before {before:.2})"
        );
        assert!(
            (report.residual_after_db - after).abs() < 0.5,
            "{rate}: own residual {:.2} vs independent {after:.2}",
            report.residual_after_db
        );
        let (ref_lufs, _) = loudness(&reference, 2, rate);
        let (out_lufs, out_peak) = loudness(&out, 2, rate);
        assert!(
            (out_lufs - ref_lufs).abs() < 0.1,
            "{rate}: {out_lufs} vs {ref_lufs}"
        );
        assert!(out_peak <= -1.0, "{rate}: true peak {out_peak}");
        eprintln!(
            "{rate}: residual {before:.2} -> {after:.2} dB over {used} bands, \
             {out_lufs:.2} LUFS (reference {ref_lufs:.2}), {out_peak:.2} dBTP"
        );
    }
}

#[test]
fn profiles_are_rate_independent_and_match_across_rates_and_channels() {
    // The same shaped noise at 48 and 96 kHz (band-limited below 20 kHz) reads the same.
    let shape = |f: f64| -3.0 * (f / 1000.0).log2() - if f > 19_000.0 { 120.0 } else { 0.0 };
    let a = profile(&shaped(1 << 19, 48_000, 9, 0.1, shape), 1, 48_000, 0).unwrap();
    let b = profile(&shaped(1 << 20, 96_000, 9, 0.1, shape), 1, 96_000, 0).unwrap();
    let both: Vec<bool> = (0..PROFILE_BANDS)
        .map(|i| a.spectrum_db[i].is_some() && b.spectrum_db[i].is_some() && i > 6)
        .collect();
    let (diff, used) = residual(&a.spectrum_db, &b.spectrum_db, &both);
    assert!(diff < 0.6 && used > 40, "{diff} over {used}");
    // A 5.1 track matched to a stereo reference at another rate.
    let rate = 48_000;
    let (_, reference) = pair(44_100);
    let reference_profile = profile(&reference, 2, 44_100, 0).unwrap();
    let track: Vec<f64> = (0..6)
        .flat_map(|c| shaped(1 << 19, rate, 20 + c, 0.03, |f| -4.0 * (f / 1000.0).log2()))
        .collect();
    let mut out = vec![0.0; track.len()];
    let report = match_track(
        &track,
        6,
        rate,
        &reference_profile,
        &MatchSettings::default(),
        &RenderConfig::default(),
        &mut out,
        Watch::default(),
    )
    .unwrap();
    let reference_bands = independent_bands(&reference, 2, 44_100);
    let (after, used) = residual(
        &independent_bands(&out, 6, rate),
        &reference_bands,
        &report.gains.within_clamp,
    );
    assert!(after < 1.0 && used >= 45, "5.1: {after:.2} dB over {used}");
    assert!(report.output.true_peak_dbtp.unwrap() <= -1.0);
}

#[test]
fn silent_references_and_tracks_derive_no_eq() {
    let rate = 48_000;
    let (track, _) = pair(rate);
    let silent = vec![0.0; 2 * rate as usize];
    let silent_profile = profile(&silent, 2, rate, 1).unwrap();
    assert!(silent_profile.is_silent());
    let mut out = vec![0.0; track.len()];
    let report = match_track(
        &track,
        2,
        rate,
        &silent_profile,
        &MatchSettings::default(),
        &RenderConfig::default(),
        &mut out,
        Watch::default(),
    )
    .unwrap();
    assert_eq!(report.gains.outcome, MatchOutcome::SilentReference);
    assert!(report.gains.gains_db.iter().all(|&g| g == 0.0));
    // Dither-level noise is silent too: no EQ from a noise floor.
    let floor: Vec<f64> = noise(2 * rate as usize, 5)
        .iter()
        .map(|v| v * 1e-5)
        .collect();
    let floor_profile = profile(&floor, 1, rate, 1).unwrap();
    assert!(floor_profile.is_silent());
    let reference = Profile::from_json(&profile(&track, 2, rate, 0).unwrap().to_json()).unwrap();
    let mut out = vec![0.0; floor.len()];
    let report = match_track(
        &floor,
        1,
        rate,
        &reference,
        &MatchSettings::default(),
        &RenderConfig::default(),
        &mut out,
        Watch::default(),
    )
    .unwrap();
    assert_eq!(report.gains.outcome, MatchOutcome::SilentTrack);
}

#[test]
fn a_live_match_converges_on_the_references_balance() {
    use tonecore::pipeline::{LiveMatchSettings, Pipeline, Processor};
    use tonecore::{live_match_config, Layout};
    let rate = 48_000u32;
    let (_, reference) = pair(rate);
    let reference_profile = profile(&reference, 2, rate, 0).unwrap();
    // 40 s of the dark track (two different noise draws, so nothing repeats).
    let len = 1 << 20;
    let dark = |f: f64| -4.5 * (f / 1000.0).log2() - 6.0 * (f / 8000.0).max(1.0).log2();
    let left: Vec<f64> = [
        shaped(len, rate, 31, 0.05, dark),
        shaped(len, rate, 32, 0.05, dark),
    ]
    .concat();
    let right: Vec<f64> = [
        shaped(len, rate, 33, 0.05, dark),
        shaped(len, rate, 34, 0.05, dark),
    ]
    .concat();
    let frames = left.len();
    let settings = MatchSettings::default();
    let cfg = live_match_config(&reference_profile, &settings, rate).unwrap();
    let block = 512;
    let mut p = Pipeline::<f64>::new(rate, 2, block, &cfg).unwrap();
    p.enable_live_match(&reference_profile, &LiveMatchSettings::default())
        .unwrap();
    let params = p.params();
    let mut out = vec![0.0; 2 * frames];
    let mut x = vec![0.0; 2 * block];
    let mut y = vec![0.0; 2 * block];
    let mut largest_step = 0.0f64;
    let mut last = vec![0.0; PROFILE_BANDS];
    for (k, start) in (0..frames).step_by(block).enumerate() {
        let n = block.min(frames - start);
        x[..n].copy_from_slice(&left[start..start + n]);
        x[n..2 * n].copy_from_slice(&right[start..start + n]);
        p.process_layout(&x[..2 * n], &mut y[..2 * n], Layout::Planar)
            .unwrap();
        out[start..start + n].copy_from_slice(&y[..n]);
        out[frames + start..frames + start + n].copy_from_slice(&y[n..2 * n]);
        if k % 47 == 0 {
            // About every half second.
            let state = params.update_match().unwrap();
            for (a, b) in state.gains_db.iter().zip(&last) {
                largest_step = largest_step.max((a - b).abs());
            }
            last = state.gains_db;
        }
    }
    // Smooth: no update moved a band by more than 1 dB/s over ~0.5 s.
    assert!(largest_step <= 0.55, "largest step {largest_step} dB");
    // The last 15 s (after the warm-up and the slew) land on the reference's balance.
    let tail = 15 * rate as usize;
    let latency = p.latency_frames();
    let cut = |v: &[f64]| -> Vec<f64> {
        (0..2)
            .flat_map(|c| {
                v[c * frames + frames - tail - latency..c * frames + frames - latency].to_vec()
            })
            .collect()
    };
    let settled = independent_bands(&cut(&out), 2, rate);
    let reference_bands = independent_bands(&reference, 2, rate);
    let track_bands = independent_bands(&[left, right].concat(), 2, rate);
    // The bands the live analysis resolves (8192-point frames: from about 60 Hz) whose needed
    // correction (measured here, mean removed) is inside the ±12 dB clamp with a margin.
    let resolved: Vec<bool> = GRID.centers().iter().map(|&f| f > 60.0).collect();
    let needed: Vec<Option<f64>> = (0..PROFILE_BANDS)
        .map(|i| Some(reference_bands[i]? - track_bands[i]?).filter(|_| resolved[i]))
        .collect();
    let mean = needed.iter().flatten().sum::<f64>() / needed.iter().flatten().count() as f64;
    let bands: Vec<bool> = needed
        .iter()
        .map(|d| d.is_some_and(|d| (d - mean).abs() <= 10.0))
        .collect();
    let (before, _) = residual(&track_bands, &reference_bands, &bands);
    let (after, used) = residual(&settled, &reference_bands, &bands);
    eprintln!("live: residual {before:.2} -> {after:.2} dB over {used} bands");
    assert!(
        before > 4.0 && after < 1.0,
        "live residual {before:.2} -> {after:.2}"
    );
}

#[test]
fn an_engine_stream_plays_the_match_and_lands_on_the_reference() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    use tonecore::{match_config, Engine, EngineConfig, StreamOptions};
    let rate = 44_100u32;
    let (track, reference) = pair(rate);
    let reference_profile = profile(&reference, 2, rate, 0).unwrap();
    let track_profile = profile(&track, 2, rate, 0).unwrap();
    let (config, gains) = match_config(
        &track_profile,
        &reference_profile,
        &MatchSettings::default(),
        rate,
    )
    .unwrap();
    let engine = Engine::new(EngineConfig::default()).unwrap();
    let frames = track.len() / 2;
    let id = engine
        .open_stream(
            1,
            Arc::<[f64]>::from(track.clone()),
            2,
            rate,
            &config,
            &StreamOptions::default(),
        )
        .unwrap();
    let mut interleaved = Vec::with_capacity(track.len());
    let mut buf = vec![0.0; 1024];
    let deadline = Instant::now() + Duration::from_secs(120);
    while interleaved.len() < track.len() {
        let want = 512.min(frames - interleaved.len() / 2);
        let n = engine.read(id, &mut buf[..want * 2]).unwrap();
        interleaved.extend_from_slice(&buf[..n * 2]);
        if n < want {
            assert!(Instant::now() < deadline, "stream stalled");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let out: Vec<f64> = (0..2)
        .flat_map(|c| (0..frames).map(move |i| (c, i)))
        .map(|(c, i)| interleaved[2 * i + c])
        .collect();
    let reference_bands = independent_bands(&reference, 2, rate);
    let (after, used) = residual(
        &independent_bands(&out, 2, rate),
        &reference_bands,
        &gains.within_clamp,
    );
    let (ref_lufs, _) = loudness(&reference, 2, rate);
    let (out_lufs, out_peak) = loudness(&out, 2, rate);
    eprintln!(
        "engine stream: residual {after:.2} dB over {used}, {out_lufs:.2} LUFS, {out_peak:.2} dBTP"
    );
    assert!(
        after < 1.0 && used >= 45,
        "engine stream residual {after:.2}"
    );
    assert!(
        (out_lufs - ref_lufs).abs() < 0.1,
        "{out_lufs} vs {ref_lufs}"
    );
    assert!(out_peak <= -1.0, "true peak {out_peak}");
}
