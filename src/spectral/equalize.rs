//! Offline equalization of whole buffers, in parallel over channels and fixed-length segments.
//!
//! The output is the streaming [`Equalizer`](crate::pipeline::Equalizer)'s output with its
//! latency removed: `y[n] = Σ h[m]·x[n + D − m]` for the designed linear-phase kernel `h` of
//! `2D + 1` taps, with the input read as zero outside the buffer, so `y` has the input's length.
//! Each segment runs the streaming convolver's transform step on frames read straight from the
//! input ([`Convolver::filter_offline`]: no history ring, no warm-up), which makes segments
//! independent: the result does not depend on the thread count (segment boundaries are fixed)
//! and equals the streaming path up to FFT rounding.

use crate::cache::CachedSample;
use crate::dsp::bands::{BandLayout, CurveMode};
use crate::dsp::convolver::{Convolver, KernelSpectrum};
use crate::dsp::fir::FirDesigner;
use crate::dsp::Complex;
use crate::workers::Workers;
use crate::{ConfigError, Error, ProcessError};
use rayon::prelude::*;
use std::sync::{Mutex, PoisonError};

/// Output samples per segment (per channel): fixed, so results are identical for any thread count.
pub const SEGMENT_LEN: usize = 1 << 18;

/// Settings for [`equalize`].
#[derive(Clone, Debug, PartialEq)]
pub struct EqualizeConfig {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// The bands the gains refer to.
    pub layout: BandLayout,
    /// How gains become a per-bin curve.
    pub mode: CurveMode,
    /// FFT size of the overlap-save engine (kernel `fft_size/2 + 1` taps). Default 4096.
    pub fft_size: usize,
    /// `0` = all cores, `1` = the caller's thread, `n` = a shared pool of `n` threads.
    pub threads: usize,
}

impl EqualizeConfig {
    /// Critical bands, smooth curve, 4096-point FFT, all cores.
    pub fn new(sample_rate: u32) -> Self {
        Self {
            sample_rate,
            layout: BandLayout::critical(),
            mode: CurveMode::Smooth,
            fft_size: 4096,
            threads: 0,
        }
    }
}

/// Equalizes planar `input` (`channels × len`) with `gains_db` into `output[.. input.len()]`.
/// `progress(done, total)` is called after each finished segment, from the worker that finished
/// it, one call at a time, with `done` strictly increasing up to `total`.
/// Non-finite input samples are treated as zero.
///
/// # Errors
/// Invalid configuration or gains ([`Error::Config`]); zero channels, input not a multiple of
/// `channels`, output too small ([`Error::Process`]). Nothing is written on error.
pub fn equalize<T: CachedSample>(
    input: &[T],
    channels: usize,
    output: &mut [T],
    gains_db: &[f64],
    config: &EqualizeConfig,
    progress: Option<&(dyn Fn(usize, usize) + Sync)>,
) -> Result<(), Error> {
    if channels == 0 {
        return Err(ProcessError::NoChannels.into());
    }
    if input.len() % channels != 0 {
        return Err(ProcessError::InputShape.into());
    }
    if output.len() < input.len() {
        return Err(ProcessError::OutputTooSmall.into());
    }
    let n = config.fft_size;
    crate::spectral::StftConfig::new(n).validate()?;
    if config.sample_rate == 0 {
        return Err(ConfigError::InvalidSampleRate.into());
    }
    let workers = Workers::from_count(config.threads)?;
    let f64_cache = f64::cache();
    let mut designer = FirDesigner::new(
        config.layout.clone(),
        config.sample_rate,
        n,
        config.mode,
        f64_cache.inverse_plan(n),
        f64_cache.forward_plan(n),
    )
    .map_err(ConfigError::from)?;
    let fir = designer.design(gains_db).map_err(ConfigError::from)?;
    let mut spectrum = vec![Complex::new(T::zero(), T::zero()); n / 2 + 1];
    designer.spectrum_of(&fir, &mut spectrum);
    let kernel = KernelSpectrum {
        spectrum,
        gains_db: fir.gains_db.clone(),
    };
    let len = input.len() / channels;
    if len == 0 {
        return Ok(());
    }
    let segments = len.div_ceil(SEGMENT_LEN);
    let total = channels * segments;
    let done = Mutex::new(0usize);
    let forward = T::cache().forward_plan(n);
    let inverse = T::cache().inverse_plan(n);
    let run_segment = |index: usize, out: &mut [T]| {
        let (channel, segment) = (index / segments, index % segments);
        let x = &input[channel * len..(channel + 1) * len];
        let a = segment * SEGMENT_LEN;
        let mut conv = Convolver::new(
            1,
            forward.clone(),
            inverse.clone(),
            fir.taps.len(),
            kernel.clone(),
            0,
        );
        conv.filter_offline(x, a, out);
        if let Some(report) = progress {
            // Serialised so `done` arrives strictly increasing, one call at a time.
            let mut done = done.lock().unwrap_or_else(PoisonError::into_inner);
            *done += 1;
            report(*done, total);
        }
    };
    // Output pieces in (channel, segment) order: segment lengths are SEGMENT_LEN except the last
    // of each channel.
    let mut pieces: Vec<&mut [T]> = Vec::with_capacity(total);
    for channel_out in output[..input.len()].chunks_mut(len) {
        pieces.extend(channel_out.chunks_mut(SEGMENT_LEN));
    }
    if let Workers::Caller = workers {
        for (i, piece) in pieces.into_iter().enumerate() {
            run_segment(i, piece);
        }
    } else {
        workers.install(|| {
            pieces
                .into_par_iter()
                .enumerate()
                .for_each(|(i, piece)| run_segment(i, piece));
        });
    }
    Ok(())
}
