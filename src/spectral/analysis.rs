//! Per-band energy of frames, for hosts that drive adaptive gains themselves.
//!
//! For a frame of `N` samples (a mono downmix: the mean of the channels), the spectrum
//! `X = rfft(frame · w)` with the symmetric Hann window `w` (`numpy.hanning(N)`) is compensated
//! for the window's coherent gain `cg = mean(w)`; the band energy is the mean over the band's
//! bins of `20·log10(|X_k| / cg + 1e-10)` dB. Bands without a bin report −200 dB.

use crate::cache::CachedSample;
use crate::dsp::bands::BandLayout;
use crate::dsp::spectrum::{analyze_frame, FrameBuffers};
use crate::dsp::{all_in_range, Complex, WindowKind};
use crate::spectral::StftConfig;
use crate::workers::Workers;
use crate::{ConfigError, Error, ProcessError};
use rayon::prelude::*;

/// The value reported for a band that holds no bin, in dB.
pub const EMPTY_BAND_DB: f64 = -200.0;

/// Accumulates band means from one frame's spectrum.
struct BandAccumulator {
    bin_band: Vec<u32>,
    counts: Vec<u32>,
    inv_cg: f64,
}

impl BandAccumulator {
    fn new(
        layout: &BandLayout,
        sample_rate: u32,
        fft_size: usize,
        window_sum: f64,
    ) -> Result<Self, ConfigError> {
        let bin_band = layout
            .bin_map(sample_rate, fft_size)
            .map_err(ConfigError::from)?;
        let mut counts = vec![0u32; layout.bands()];
        for &b in &bin_band {
            counts[b as usize] += 1;
        }
        Ok(Self {
            bin_band,
            counts,
            inv_cg: fft_size as f64 / window_sum,
        })
    }

    fn bands<T: CachedSample>(&self, spectrum: &[Complex<T>], out: &mut [f64]) {
        out.fill(0.0);
        for (s, &b) in spectrum.iter().zip(&self.bin_band) {
            let mag = s.norm().as_f64() * self.inv_cg;
            out[b as usize] += 20.0 * (mag + 1e-10).log10();
        }
        for (o, &c) in out.iter_mut().zip(&self.counts) {
            *o = if c == 0 { EMPTY_BAND_DB } else { *o / c as f64 };
        }
    }
}

/// Settings of [`band_energies`].
#[derive(Clone, Debug, PartialEq)]
pub struct BandEnergyConfig {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// The bands to report.
    pub layout: BandLayout,
    /// Frame length (even, 16–2^24).
    pub fft_size: usize,
    /// Frame advance (1 ≤ hop ≤ fft_size).
    pub hop: usize,
    /// `0` = all cores, `1` = the caller's thread, `n` = a shared pool of `n` threads.
    pub threads: usize,
}

/// Band energies in dB of every frame of planar `input` (`channels × len`, downmixed to mono),
/// frames at `k·hop` of `fft_size` samples (uncentred framing, as the STFT), computed in
/// parallel; `output` receives `frames × bands` values. Returns the frame count.
///
/// # Errors
/// Invalid sizes, sample rate or thread count; zero channels, input not a multiple of
/// `channels`, output too small, non-finite input. Nothing is written on error.
pub fn band_energies<T: CachedSample>(
    input: &[T],
    channels: usize,
    config: &BandEnergyConfig,
    output: &mut [f64],
) -> Result<usize, Error> {
    let BandEnergyConfig {
        sample_rate,
        ref layout,
        fft_size,
        hop,
        threads,
    } = *config;
    let cfg = StftConfig {
        hop,
        window: WindowKind::HannSym,
        threads,
        ..StftConfig::new(fft_size)
    };
    cfg.validate()?;
    if sample_rate == 0 {
        return Err(ConfigError::InvalidSampleRate.into());
    }
    if channels == 0 {
        return Err(ProcessError::NoChannels.into());
    }
    if input.len() % channels != 0 {
        return Err(ProcessError::InputShape.into());
    }
    let len = input.len() / channels;
    let frames = cfg.frame_count(len);
    let bands = layout.bands();
    if output.len() < frames * bands {
        return Err(ProcessError::OutputTooSmall.into());
    }
    if !all_in_range(input) {
        return Err(ProcessError::NonFinite.into());
    }
    let workers = Workers::from_count(threads)?;
    let window = T::cache().window(WindowKind::HannSym, fft_size);
    let plan = T::cache().forward_plan(fft_size);
    let acc = BandAccumulator::new(
        layout,
        sample_rate,
        fft_size,
        window.iter().map(|w| w.as_f64()).sum(),
    )?;
    let scale = T::one() / T::of_f64(channels as f64);
    let frame_bands =
        |k: usize, buffers: &mut FrameBuffers<T>, mono: &mut Vec<T>, out: &mut [f64]| {
            let start = k * hop;
            for (i, m) in mono.iter_mut().enumerate() {
                let mut sum = T::zero();
                for c in 0..channels {
                    sum = sum + input[c * len + start + i];
                }
                *m = sum * scale;
            }
            let mut spectrum = std::mem::take(&mut buffers.spectrum);
            analyze_frame(&*plan, &window, mono, 0, buffers, &mut spectrum);
            acc.bands(&spectrum, out);
            buffers.spectrum = spectrum;
        };
    let scratch = plan.get_scratch_len();
    let init = || {
        (
            FrameBuffers::<T>::new(fft_size, scratch),
            vec![T::zero(); fft_size],
        )
    };
    let out = &mut output[..frames * bands];
    if let Workers::Caller = workers {
        let (mut buffers, mut mono) = init();
        for (k, o) in out.chunks_exact_mut(bands).enumerate() {
            frame_bands(k, &mut buffers, &mut mono, o);
        }
    } else {
        workers.install(|| {
            out.par_chunks_exact_mut(bands)
                .enumerate()
                .for_each_init(init, |(buffers, mono), (k, o)| {
                    frame_bands(k, buffers, mono, o)
                });
        });
    }
    Ok(frames)
}
