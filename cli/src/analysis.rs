//! What `analyze` and `demo` report beyond loudness: the long-term average spectrum (from the
//! library's parallel STFT), energy per band (the library's band energies) and the EQ's designed
//! response (the library's FIR designer).

use crate::error::{check_cancel, Result};
use crate::fail;
use tonecore::cache::CachedSample;
use tonecore::dsp::bands::{BandLayout, CurveMode};
use tonecore::dsp::fir::FirDesigner;
use tonecore::dsp::{Complex, WindowKind};
use tonecore::spectral::{band_energies, BandEnergyConfig, Stft, StftConfig};

/// FFT size of the average spectrum.
pub const SPECTRUM_FFT: usize = 8192;
/// Frames per STFT call (bounds the spectrum buffer whatever the track length).
const SEGMENT_FRAMES: usize = 32;

/// Long-term average power per bin (`SPECTRUM_FFT/2 + 1` values), mean over frames and
/// channels, scaled so that a full-scale sine reads 1 (0 dB) at its bin: Hann frames of
/// `SPECTRUM_FFT` samples, 50 % overlap. A track shorter than one frame is zero-padded.
///
/// # Errors
/// Ctrl-C.
pub fn average_spectrum(samples: &[f32], channels: usize) -> Result<Vec<f64>> {
    let n = SPECTRUM_FFT;
    let hop = n / 2;
    let config = StftConfig {
        hop,
        window: WindowKind::Hann,
        threads: 0,
        ..StftConfig::new(n)
    };
    let mut stft = Stft::<f32>::new(config).map_err(|e| fail!("spectrum: {e}"))?;
    let window_sum: f64 = stft.window().iter().map(|&w| w as f64).sum();
    let bins = config.bins();
    let frames = samples.len() / channels;
    let seg = (SEGMENT_FRAMES - 1) * hop + n;
    let mut scratch = vec![0.0f32; channels * seg];
    let mut spec = vec![Complex::new(0.0f32, 0.0); channels * SEGMENT_FRAMES * bins];
    let mut power = vec![0.0f64; bins];
    let mut count = 0usize;
    let mut start = 0usize;
    loop {
        check_cancel()?;
        let len = seg.min(frames.saturating_sub(start)).max(n);
        for c in 0..channels {
            let dst = &mut scratch[c * len..(c + 1) * len];
            let avail = len.min(frames.saturating_sub(start));
            let src = &samples[c * frames + start..c * frames + start + avail];
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = if s.is_finite() { s } else { 0.0 };
            }
            dst[avail..].fill(0.0);
        }
        let got = stft
            .process(&scratch[..channels * len], channels, &mut spec)
            .map_err(|e| fail!("spectrum: {e}"))?;
        for frame in spec[..channels * got * bins].chunks_exact(bins) {
            for (p, x) in power.iter_mut().zip(frame) {
                *p += x.norm_sqr() as f64;
            }
        }
        count += channels * got;
        start += got * hop;
        if got < SEGMENT_FRAMES || start + n > frames {
            break;
        }
    }
    let scale = 4.0 / (window_sum * window_sum) / count.max(1) as f64;
    power.iter_mut().for_each(|p| *p *= scale);
    Ok(power)
}

/// Log-spaced display frequencies from 20 Hz to `min(20 kHz, Nyquist)`.
pub fn display_frequencies(rate: u32, points: usize) -> Vec<f64> {
    let hi = (rate as f64 / 2.0).min(20_000.0);
    let (a, b) = (20f64.ln(), hi.ln());
    (0..points)
        .map(|i| (a + (b - a) * i as f64 / (points - 1) as f64).exp())
        .collect()
}

/// The spectrum in dB at `freqs`, each the mean power over a band `width_octaves` wide around
/// it (at least the nearest bin).
pub fn smooth_db(power: &[f64], rate: u32, freqs: &[f64], width_octaves: f64) -> Vec<f64> {
    let bin_hz = rate as f64 / SPECTRUM_FFT as f64;
    let last = power.len() - 1;
    let half = 2f64.powf(width_octaves / 2.0);
    freqs
        .iter()
        .map(|&f| {
            let lo = ((f / half / bin_hz).ceil() as usize).min(last);
            let hi = ((f * half / bin_hz).floor() as usize).min(last);
            let mean = if hi > lo {
                power[lo..=hi].iter().sum::<f64>() / (hi - lo + 1) as f64
            } else {
                // Narrower than two bins: interpolate between the neighbouring bins.
                let x = (f / bin_hz).min(last as f64);
                let k = (x.floor() as usize).min(last - 1);
                let w = x - k as f64;
                power[k] * (1.0 - w) + power[k + 1] * w
            };
            10.0 * mean.max(1e-20).log10()
        })
        .collect()
}

/// Mean energy per band in dB (power mean over 4096-sample frames of the library's band
/// energies). `None` when the track is shorter than one frame.
///
/// # Errors
/// Invalid layout for this rate.
pub fn band_energy(
    samples: &[f32],
    channels: usize,
    rate: u32,
    layout: &BandLayout,
) -> Result<Option<Vec<f64>>> {
    let config = BandEnergyConfig {
        sample_rate: rate,
        layout: layout.clone(),
        fft_size: 4096,
        hop: 2048,
        threads: 0,
    };
    let frames = samples.len() / channels;
    if frames < config.fft_size {
        return Ok(None);
    }
    let count = 1 + (frames - config.fft_size) / config.hop;
    let bands = layout.bands();
    let mut out = vec![0.0; count * bands];
    let got = band_energies(samples, channels, &config, &mut out)
        .map_err(|e| fail!("band energy: {e}"))?;
    let mean = (0..bands)
        .map(|b| {
            let p: f64 = (0..got)
                .map(|k| 10f64.powf(out[k * bands + b] / 10.0))
                .sum();
            10.0 * (p / got.max(1) as f64).max(1e-30).log10()
        })
        .collect();
    Ok(Some(mean))
}

/// FFT size of the pipeline's EQ by default.
pub const EQ_FFT: usize = 4096;

/// The designed EQ kernel's response in dB at `freqs` for `gains` on `layout`, designed at `n`
/// points as the pipeline designs it ([`EQ_FFT`] by default; a match uses a larger size).
///
/// # Errors
/// Invalid layout or gains for this rate.
pub fn eq_response_db(
    layout: &BandLayout,
    gains: &[f64],
    rate: u32,
    freqs: &[f64],
    n: usize,
) -> Result<Vec<f64>> {
    let cache = f64::cache();
    let mut designer = FirDesigner::new(
        layout.clone(),
        rate,
        n,
        CurveMode::Smooth,
        cache.inverse_plan(n),
        cache.forward_plan(n),
    )
    .map_err(|e| fail!("EQ design: {e}"))?;
    let kernel = designer
        .design(gains)
        .map_err(|e| fail!("EQ design: {e}"))?;
    Ok(freqs
        .iter()
        .map(|&f| {
            20.0 * FirDesigner::response_at(&kernel, rate, f)
                .abs()
                .max(1e-6)
                .log10()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    #[test]
    fn a_full_scale_sine_reads_0_db_at_its_frequency() {
        let rate = 48_000;
        let f = 1000.0;
        let frames = rate as usize * 2;
        let x: Vec<f32> = (0..2 * frames)
            .map(|i| (2.0 * PI * f * (i % frames) as f64 / rate as f64).sin() as f32)
            .collect();
        let p = average_spectrum(&x, 2).unwrap();
        let k = (f * SPECTRUM_FFT as f64 / rate as f64).round() as usize;
        let db = 10.0 * p[k].log10();
        // 1 kHz at 48 kHz / 8192 is 170.67 bins: between bins the Hann window loses up to
        // 1.42 dB (scalloping); the bin nearest the sine reads within that of 0 dB.
        assert!((-1.5..=0.05).contains(&db), "{db}");
        let far = 10.0 * p[k + 50].max(1e-30).log10();
        assert!(far < -60.0, "{far}");
    }

    #[test]
    fn a_flat_eq_has_a_flat_response_and_a_boost_shows_at_its_centre() {
        let layout = BandLayout::critical();
        let freqs = [100.0, 1000.0, 10_000.0];
        let flat = eq_response_db(&layout, &[0.0; 25], 44_100, &freqs, EQ_FFT).unwrap();
        assert!(flat.iter().all(|d| d.abs() < 0.01), "{flat:?}");
        let mut g = [0.0; 25];
        g[8] = 6.0;
        let c = layout.centers()[8];
        let r = eq_response_db(&layout, &g, 44_100, &[c], EQ_FFT).unwrap();
        assert!((r[0] - 6.0).abs() < 0.1, "{r:?}");
    }
}
