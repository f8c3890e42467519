//! The parallel short-time Fourier transform and its inverse.
//!
//! Framing (default, `center = false`): frame `k` covers samples `k·hop .. k·hop + fft_size` and
//! exists when it fits in the signal, so `frames = 1 + (len − fft_size) / hop` for
//! `len ≥ fft_size` and 0 otherwise; bin values equal `numpy.fft.rfft(x[s:s+N] * w)`. With
//! `center = true` the signal is read as if zero-padded by `fft_size / 2` on both sides
//! (scipy's `boundary="zeros"`, librosa's `pad_mode="constant"`); frame `k` is centred on
//! sample `k·hop` and `frames = 1 + len / hop` for `len > 0`.
//!
//! Layout: input is planar `(channels, len)`; the spectrum is `(channels, frames, bins)` with
//! `bins = fft_size / 2 + 1`, row-major. Spectra are unscaled (as numpy's `rfft`).
//!
//! Non-finite input, and finite samples beyond ±2^20 (+120 dBFS, [`MAX_INPUT_MAGNITUDE`](crate::dsp::MAX_INPUT_MAGNITUDE): a
//! transform of them can overflow `f32` into infinite bins), is refused
//! ([`ProcessError::NonFinite`]) before anything is written.

pub mod analysis;
pub mod equalize;
pub mod matching;
pub mod profile;

pub use analysis::{band_energies, BandEnergyConfig};
pub use equalize::{equalize, EqualizeConfig};
pub use matching::{match_gains, MatchGains, MatchOutcome, MatchSettings};
pub use profile::{profile, Profile, ProfileError};

use crate::cache::CachedSample;
use crate::dsp::spectrum::{analyze_frame, synthesize_frame, FrameBuffers, OverlapNorm};
use crate::dsp::{all_finite, all_in_range, Complex, Sample, WindowKind};
use crate::workers::Workers;
use crate::{ConfigError, ProcessError};
use rayon::prelude::*;
use std::sync::Arc;

pub use crate::limits::{MAX_FFT_SIZE, MIN_FFT_SIZE};

/// How to frame and transform a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StftConfig {
    /// Frame length in samples: even, `16 ≤ fft_size ≤ 2^24`. Any even size, not only powers of 2.
    pub fft_size: usize,
    /// Frame advance in samples, `1 ≤ hop ≤ fft_size`.
    pub hop: usize,
    /// The analysis (and synthesis) window, unless a custom one is given.
    pub window: WindowKind,
    /// Zero-pad `fft_size / 2` on both sides and centre frames on `k·hop`.
    pub center: bool,
    /// `0` = all cores, `1` = the caller's thread only, `n` = a pool of `n` threads.
    pub threads: usize,
}

impl Default for StftConfig {
    fn default() -> Self {
        Self::new(4096)
    }
}

impl StftConfig {
    /// `fft_size` with hop `fft_size / 4`, periodic Hann, no centring, all cores.
    pub fn new(fft_size: usize) -> Self {
        Self {
            fft_size,
            hop: (fft_size / 4).max(1),
            window: WindowKind::Hann,
            center: false,
            threads: 0,
        }
    }

    /// Checks the sizes.
    ///
    /// # Errors
    /// The first [`ConfigError`] the sizes violate.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.fft_size < MIN_FFT_SIZE {
            return Err(ConfigError::FftSizeTooSmall);
        }
        if self.fft_size > MAX_FFT_SIZE {
            return Err(ConfigError::FftSizeTooLarge);
        }
        if self.fft_size % 2 != 0 {
            return Err(ConfigError::FftSizeOdd);
        }
        if self.hop == 0 || self.hop > self.fft_size {
            return Err(ConfigError::InvalidHop);
        }
        Ok(())
    }

    /// Number of bins per frame, `fft_size / 2 + 1`.
    pub fn bins(&self) -> usize {
        self.fft_size / 2 + 1
    }

    /// Number of frames for a signal of `len` samples per channel.
    pub fn frame_count(&self, len: usize) -> usize {
        if self.center {
            if len == 0 {
                0
            } else {
                1 + len / self.hop
            }
        } else if len < self.fft_size {
            0
        } else {
            1 + (len - self.fft_size) / self.hop
        }
    }

    /// Samples per channel that the inverse transform produces from `frames` frames:
    /// `(frames − 1)·hop + fft_size`, minus the leading `fft_size / 2` of padding when centred.
    /// A centred signal of `len` samples gives at least `len` back (trim to `len`).
    pub fn signal_len(&self, frames: usize) -> usize {
        if frames == 0 {
            return 0;
        }
        let padded = (frames - 1) * self.hop + self.fft_size;
        if self.center {
            padded - self.fft_size / 2
        } else {
            padded
        }
    }

    /// Start of frame `k` in signal coordinates (negative when centred near the start).
    fn frame_start(&self, k: usize) -> isize {
        let start = (k * self.hop) as isize;
        if self.center {
            start - (self.fft_size / 2) as isize
        } else {
            start
        }
    }
}

fn resolve_window<T: CachedSample>(
    config: &StftConfig,
    custom: Option<&[T]>,
) -> Result<Arc<[T]>, ConfigError> {
    config.validate()?;
    match custom {
        Some(w) if w.len() != config.fft_size => Err(ConfigError::WindowLength),
        Some(w) if !all_finite(w) => Err(ConfigError::NonFiniteWindow),
        Some(w) => Ok(Arc::from(w)),
        None => Ok(T::cache().window(config.window, config.fft_size)),
    }
}

/// Splits `total` items into at most `parts` contiguous runs; returns the run length.
fn run_len(total: usize, parts: usize) -> usize {
    total.div_ceil(parts.max(1)).max(1)
}

/// A forward STFT: plan, window and per-thread buffers, reused for every call.
///
/// `process` on one thread ([`StftConfig::threads`] = 1) never allocates.
pub struct Stft<T: CachedSample> {
    config: StftConfig,
    window: Arc<[T]>,
    plan: crate::cache::ForwardPlan<T>,
    workers: Workers,
    buffers: Vec<FrameBuffers<T>>,
}

impl<T: CachedSample> Stft<T> {
    /// Builds an STFT with the configured named window (from the shared cache).
    ///
    /// # Errors
    /// Invalid sizes or thread count.
    pub fn new(config: StftConfig) -> Result<Self, ConfigError> {
        Self::build(config, None)
    }

    /// Builds an STFT with a caller-supplied window of `fft_size` finite values.
    ///
    /// # Errors
    /// Invalid sizes, wrong window length or non-finite window values.
    pub fn with_window(config: StftConfig, window: &[T]) -> Result<Self, ConfigError> {
        Self::build(config, Some(window))
    }

    fn build(config: StftConfig, custom: Option<&[T]>) -> Result<Self, ConfigError> {
        let window = resolve_window(&config, custom)?;
        let workers = Workers::from_count(config.threads)?;
        let plan = T::cache().forward_plan(config.fft_size);
        let scratch = plan.get_scratch_len();
        let buffers = (0..workers.count())
            .map(|_| FrameBuffers::new(config.fft_size, scratch))
            .collect();
        Ok(Self {
            config,
            window,
            plan,
            workers,
            buffers,
        })
    }

    /// The configuration this STFT was built with.
    pub fn config(&self) -> &StftConfig {
        &self.config
    }

    /// The window in use.
    pub fn window(&self) -> &[T] {
        &self.window
    }

    /// Length of the output buffer `process` needs for `channels × len` input samples.
    ///
    /// # Errors
    /// [`ProcessError::SizeOverflow`] when the size does not fit in `usize`.
    pub fn output_len(&self, channels: usize, len: usize) -> Result<usize, ProcessError> {
        channels
            .checked_mul(self.config.frame_count(len))
            .and_then(|n| n.checked_mul(self.config.bins()))
            .ok_or(ProcessError::SizeOverflow)
    }

    /// Transforms planar `input` (`channels × len`, `len = input.len() / channels`) into
    /// `output[.. channels·frames·bins]`, laid out `(channel, frame, bin)`. Returns the frame
    /// count per channel. A signal shorter than one frame gives 0 frames and writes nothing.
    ///
    /// # Errors
    /// Zero channels, input not a multiple of `channels`, output too small, non-finite input.
    /// On error nothing is written.
    pub fn process(
        &mut self,
        input: &[T],
        channels: usize,
        output: &mut [Complex<T>],
    ) -> Result<usize, ProcessError> {
        if channels == 0 {
            return Err(ProcessError::NoChannels);
        }
        if input.len() % channels != 0 {
            return Err(ProcessError::InputShape);
        }
        let len = input.len() / channels;
        let frames = self.config.frame_count(len);
        let needed = self.output_len(channels, len)?;
        if output.len() < needed {
            return Err(ProcessError::OutputTooSmall);
        }
        let Self {
            config,
            window,
            plan,
            workers,
            buffers,
        } = self;
        let bins = config.bins();
        let frame_into = |index: usize, buffers: &mut FrameBuffers<T>, out: &mut [Complex<T>]| {
            let (channel, frame) = (index / frames, index % frames);
            let signal = &input[channel * len..(channel + 1) * len];
            analyze_frame(
                &**plan,
                window,
                signal,
                config.frame_start(frame),
                buffers,
                out,
            );
        };
        if let Workers::Caller = workers {
            if !all_in_range(input) {
                return Err(ProcessError::NonFinite);
            }
            for (index, out) in output[..needed].chunks_exact_mut(bins).enumerate() {
                frame_into(index, &mut buffers[0], out);
            }
            return Ok(frames);
        }
        workers.install(|| {
            if !input.par_chunks(1 << 15).all(all_in_range) {
                return Err(ProcessError::NonFinite);
            }
            let run = run_len(channels * frames, buffers.len());
            output[..needed]
                .par_chunks_mut(run * bins)
                .zip(buffers.par_iter_mut())
                .enumerate()
                .for_each(|(part, (out, buffers))| {
                    for (j, bin_out) in out.chunks_exact_mut(bins).enumerate() {
                        frame_into(part * run + j, buffers, bin_out);
                    }
                });
            Ok(frames)
        })
    }
}

/// An inverse STFT by weighted overlap-add: each frame's inverse FFT is multiplied by the
/// synthesis window, overlap-added, and divided by `Σ w²` of the frames covering each sample.
/// With the analysis window as synthesis window this reconstructs the signal wherever that sum
/// is above `1e-10` (everywhere but the first and last few samples of an uncentred signal);
/// samples below it are set to 0.
///
/// `process` on one thread never allocates.
pub struct Istft<T: CachedSample> {
    config: StftConfig,
    window: Arc<[T]>,
    plan: crate::cache::InversePlan<T>,
    norm: OverlapNorm<T>,
    workers: Workers,
    buffers: Vec<FrameBuffers<T>>,
}

impl<T: CachedSample> Istft<T> {
    /// Builds an inverse STFT with the configured named window.
    ///
    /// # Errors
    /// Invalid sizes or thread count; [`ConfigError::WindowNotInvertible`] when the window's
    /// squares overlap-add to zero somewhere at this hop (e.g. periodic Hann with `hop = fft_size`).
    pub fn new(config: StftConfig) -> Result<Self, ConfigError> {
        Self::build(config, None)
    }

    /// Builds an inverse STFT with a caller-supplied window of `fft_size` finite values.
    ///
    /// # Errors
    /// As [`Istft::new`], plus wrong window length or non-finite values.
    pub fn with_window(config: StftConfig, window: &[T]) -> Result<Self, ConfigError> {
        Self::build(config, Some(window))
    }

    fn build(config: StftConfig, custom: Option<&[T]>) -> Result<Self, ConfigError> {
        let window = resolve_window(&config, custom)?;
        let norm = OverlapNorm::new(&window, config.hop);
        if norm.interior_min().as_f64() <= 1e-10 {
            return Err(ConfigError::WindowNotInvertible);
        }
        let workers = Workers::from_count(config.threads)?;
        let plan = T::cache().inverse_plan(config.fft_size);
        let scratch = plan.get_scratch_len();
        let buffers = (0..workers.count())
            .map(|_| FrameBuffers::new(config.fft_size, scratch))
            .collect();
        Ok(Self {
            config,
            window,
            plan,
            norm,
            workers,
            buffers,
        })
    }

    /// The configuration this inverse STFT was built with.
    pub fn config(&self) -> &StftConfig {
        &self.config
    }

    /// Length of the output buffer `process` needs for `channels × frames` frames.
    ///
    /// # Errors
    /// [`ProcessError::SizeOverflow`] when the size does not fit in `usize`.
    pub fn output_len(&self, channels: usize, frames: usize) -> Result<usize, ProcessError> {
        frames
            .checked_sub(1)
            .map_or(Some(0), |f| {
                f.checked_mul(self.config.hop)
                    .and_then(|n| n.checked_add(self.config.fft_size))
                    .map(|_| self.config.signal_len(frames))
            })
            .and_then(|n| n.checked_mul(channels))
            .ok_or(ProcessError::SizeOverflow)
    }

    /// Inverts `spectrum` laid out `(channel, frame, bin)` into planar `output`
    /// (`channels × signal_len(frames)`). Returns the samples written per channel.
    ///
    /// # Errors
    /// Zero channels, spectrum not a whole number of `channels × bins` frames, output too small,
    /// non-finite spectrum values. On error nothing is written.
    pub fn process(
        &mut self,
        spectrum: &[Complex<T>],
        channels: usize,
        output: &mut [T],
    ) -> Result<usize, ProcessError> {
        if channels == 0 {
            return Err(ProcessError::NoChannels);
        }
        let bins = self.config.bins();
        let per_frame = channels
            .checked_mul(bins)
            .ok_or(ProcessError::SizeOverflow)?;
        if spectrum.len() % per_frame != 0 {
            return Err(ProcessError::InputShape);
        }
        let frames = spectrum.len() / per_frame;
        let needed = self.output_len(channels, frames)?;
        if output.len() < needed {
            return Err(ProcessError::OutputTooSmall);
        }
        let len = self.config.signal_len(frames);
        let Self {
            config,
            window,
            plan,
            norm,
            workers,
            buffers,
        } = self;
        // Writes output samples [start, start + out.len()) of one channel.
        let synth_range =
            |channel: usize, start: usize, out: &mut [T], buffers: &mut FrameBuffers<T>| {
                let n = config.fft_size;
                let hop = config.hop;
                let offset = if config.center { n / 2 } else { 0 };
                let (pa, pb) = (start + offset, start + offset + out.len());
                out.fill(T::zero());
                let first = if pa + 1 > n {
                    (pa + 1 - n).div_ceil(hop)
                } else {
                    0
                };
                let last = ((pb - 1) / hop).min(frames - 1);
                let channel_spec =
                    &spectrum[channel * frames * bins..(channel + 1) * frames * bins];
                for k in first..=last {
                    let s = k * hop;
                    synthesize_frame(
                        &**plan,
                        window,
                        &channel_spec[k * bins..(k + 1) * bins],
                        buffers,
                    );
                    let (lo, hi) = (pa.max(s), pb.min(s + n));
                    for (o, &t) in out[lo - pa..hi - pa]
                        .iter_mut()
                        .zip(&buffers.time[lo - s..hi - s])
                    {
                        *o = *o + t;
                    }
                }
                let floor = T::of_f64(1e-10);
                for (i, o) in out.iter_mut().enumerate() {
                    let d = norm.at(pa + i, frames);
                    *o = if d > floor { *o / d } else { T::zero() };
                }
            };
        // Splits output run `[begin, end)` of the flattened (channel, sample) space by channel.
        let synth_flat = |begin: usize, out: &mut [T], buffers: &mut FrameBuffers<T>| {
            let mut pos = begin;
            let mut rest = out;
            while !rest.is_empty() {
                let (channel, start) = (pos / len, pos % len);
                let take = (len - start).min(rest.len());
                let (head, tail) = rest.split_at_mut(take);
                synth_range(channel, start, head, buffers);
                pos += take;
                rest = tail;
            }
        };
        let scalars = complex_scalars(spectrum);
        if needed == 0 {
            return if all_finite(scalars) {
                Ok(0)
            } else {
                Err(ProcessError::NonFinite)
            };
        }
        if let Workers::Caller = workers {
            if !all_finite(scalars) {
                return Err(ProcessError::NonFinite);
            }
            synth_flat(0, &mut output[..needed], &mut buffers[0]);
            return Ok(len);
        }
        workers.install(|| {
            if !scalars.par_chunks(1 << 15).all(all_finite) {
                return Err(ProcessError::NonFinite);
            }
            let run = run_len(needed, buffers.len());
            output[..needed]
                .par_chunks_mut(run)
                .zip(buffers.par_iter_mut())
                .enumerate()
                .for_each(|(part, (out, buffers))| synth_flat(part * run, out, buffers));
            Ok(len)
        })
    }
}

/// Views complex values as their interleaved real and imaginary parts.
fn complex_scalars<T: Sample>(values: &[Complex<T>]) -> &[T] {
    // SAFETY: `Complex<T>` is `#[repr(C)]` with exactly two `T` fields and no padding.
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<T>(), values.len() * 2) }
}

/// Allocating convenience: the STFT of planar `input` with `channels` channels.
///
/// # Errors
/// As [`Stft::new`] and [`Stft::process`].
pub fn stft<T: CachedSample>(
    input: &[T],
    channels: usize,
    config: StftConfig,
) -> Result<(Vec<Complex<T>>, usize), crate::Error> {
    let mut stft = Stft::<T>::new(config)?;
    if channels == 0 {
        return Err(ProcessError::NoChannels.into());
    }
    let mut out = vec![
        Complex::new(T::zero(), T::zero());
        stft.output_len(channels, input.len() / channels)?
    ];
    let frames = stft.process(input, channels, &mut out)?;
    Ok((out, frames))
}

/// Allocating convenience: the inverse STFT of `(channel, frame, bin)` `spectrum`.
///
/// # Errors
/// As [`Istft::new`] and [`Istft::process`].
pub fn istft<T: CachedSample>(
    spectrum: &[Complex<T>],
    channels: usize,
    config: StftConfig,
) -> Result<Vec<T>, crate::Error> {
    let mut istft = Istft::<T>::new(config)?;
    if channels == 0 {
        return Err(ProcessError::NoChannels.into());
    }
    let frames = spectrum.len() / (channels * config.bins());
    let mut out = vec![T::zero(); istft.output_len(channels, frames)?];
    istft.process(spectrum, channels, &mut out)?;
    Ok(out)
}
