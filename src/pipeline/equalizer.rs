//! The streaming equalizer: band gains become a linear-phase FIR kernel (designed on the control
//! thread), applied by overlap-save on the audio thread, with a crossfade between the old and
//! the new kernel's outputs whenever the gains change.

use super::stage::{check_block, Processor};
use crate::cache::CachedSample;
use crate::dsp::bands::{BandError, BandLayout, CurveMode};
use crate::dsp::convolver::{Convolver, KernelSpectrum};
use crate::dsp::fir::FirDesigner;
use crate::dsp::Complex;
use crate::dsp::Layout;
use crate::handoff::{mailbox, Receiver, Sender};
use crate::limits::{MAX_FFT_SIZE, MIN_FFT_SIZE};
use crate::{ConfigError, ProcessError};
use std::sync::{Arc, Mutex, PoisonError};

pub use crate::limits::MAX_SAMPLE_RATE;

/// Default crossfade time on a gain change, in milliseconds.
pub const DEFAULT_RAMP_MS: f64 = 20.0;

/// How to build an [`Equalizer`].
#[derive(Clone, Debug, PartialEq)]
pub struct EqualizerConfig {
    /// Sample rate in Hz (1–[`MAX_SAMPLE_RATE`]).
    pub sample_rate: u32,
    /// Channel count (≥ 1).
    pub channels: usize,
    /// Largest block `process` accepts, in frames (≥ 1).
    pub max_block: usize,
    /// FFT size of the overlap-save engine; the kernel has `fft_size/2 + 1` taps (rounded down to
    /// odd). Even, 16 ≤ fft_size ≤ 2^24. Default 4096.
    pub fft_size: usize,
    /// The bands the gains refer to.
    pub layout: BandLayout,
    /// How gains become a per-bin curve.
    pub mode: CurveMode,
    /// Crossfade time on gain changes in ms (0 = switch at once; ≤ 10 s).
    pub ramp_ms: f64,
    /// Initial gains in dB (`None` = all 0 dB).
    pub gains_db: Option<Vec<f64>>,
}

impl EqualizerConfig {
    /// Critical bands, smooth curve, 4096-point FFT, 20 ms ramp, flat gains.
    pub fn new(sample_rate: u32, channels: usize, max_block: usize) -> Self {
        Self {
            sample_rate,
            channels,
            max_block,
            fft_size: 4096,
            layout: BandLayout::critical(),
            mode: CurveMode::Smooth,
            ramp_ms: DEFAULT_RAMP_MS,
            gains_db: None,
        }
    }

    /// Checks every range that costs nothing to check (not the gains: designing checks them).
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.sample_rate == 0 || self.sample_rate > MAX_SAMPLE_RATE {
            return Err(ConfigError::InvalidSampleRate);
        }
        if self.channels == 0 || self.channels > crate::limits::MAX_CHANNELS {
            return Err(ConfigError::InvalidChannels);
        }
        if self.max_block == 0 || self.max_block > crate::limits::MAX_BLOCK {
            return Err(ConfigError::InvalidBlockSize);
        }
        if self.fft_size < MIN_FFT_SIZE {
            return Err(ConfigError::FftSizeTooSmall);
        }
        if self.fft_size > MAX_FFT_SIZE {
            return Err(ConfigError::FftSizeTooLarge);
        }
        if self.fft_size % 2 != 0 {
            return Err(ConfigError::FftSizeOdd);
        }
        if !(self.ramp_ms.is_finite() && (0.0..=10_000.0).contains(&self.ramp_ms)) {
            return Err(ConfigError::InvalidRamp);
        }
        Ok(())
    }
}

struct ControlState<T: CachedSample> {
    designer: FirDesigner,
    sender: Sender<KernelSpectrum<T>>,
    gains_db: Vec<f64>,
    centre_error_db: f64,
    /// While bypassed the audio side runs a flat kernel (a pure delay); gains set meanwhile are
    /// kept and sent when the bypass ends.
    bypassed: bool,
}

/// Changes an equalizer's gains from any thread: `Send + Sync + Clone`. The kernel is designed
/// on the calling thread; the audio thread only receives it (wait-free) and crossfades to it.
pub struct EqControl<T: CachedSample> {
    state: Arc<Mutex<ControlState<T>>>,
    bands: usize,
}

impl<T: CachedSample> Clone for EqControl<T> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            bands: self.bands,
        }
    }
}

impl<T: CachedSample> EqControl<T> {
    /// The equalizer's band layout.
    pub fn layout(&self) -> BandLayout {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.designer.layout().clone()
    }

    /// Designs the kernel for `gains_db` (one per band, clamped to ±24 dB) and sends it to the
    /// audio thread, which crossfades to it over the configured ramp. Control path: allocates,
    /// runs FFTs, and serialises with other control threads on a lock the audio thread never
    /// takes. Kernels the audio thread has let go are dropped here.
    ///
    /// # Errors
    /// Wrong gain count or non-finite gains; nothing changes then.
    pub fn set_gains(&self, gains_db: &[f64]) -> Result<(), BandError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let clamped = state.designer.layout().clamp_gains(gains_db)?;
        if !state.bypassed {
            let (error, kernel) = design_spectrum(&mut state.designer, &clamped)?;
            state.centre_error_db = error;
            state.sender.send(kernel);
        }
        state.gains_db = clamped;
        Ok(())
    }

    /// Bypasses the EQ (`true`: the audio side crossfades to a flat kernel, a pure delay, so the
    /// latency stays the same) or ends the bypass (crossfades back to the current gains).
    /// Control path, like [`set_gains`](Self::set_gains).
    pub fn set_bypass(&self, bypassed: bool) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.bypassed == bypassed {
            return;
        }
        state.bypassed = bypassed;
        let gains = if bypassed {
            vec![0.0; self.bands]
        } else {
            state.gains_db.clone()
        };
        if let Ok((error, kernel)) = design_spectrum(&mut state.designer, &gains) {
            state.centre_error_db = error;
            state.sender.send(kernel);
        }
    }

    /// Whether the EQ is bypassed.
    pub fn bypassed(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .bypassed
    }

    /// The gains most recently set (clamped), in dB.
    pub fn gains_db(&self) -> Vec<f64> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .gains_db
            .clone()
    }

    /// The largest error of the current design at the band centres, in dB.
    pub fn centre_error_db(&self) -> f64 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .centre_error_db
    }

    /// Number of bands.
    pub fn bands(&self) -> usize {
        self.bands
    }
}

fn design_spectrum<T: CachedSample>(
    designer: &mut FirDesigner,
    gains_db: &[f64],
) -> Result<(f64, KernelSpectrum<T>), BandError> {
    let kernel = designer.design(gains_db)?;
    let mut spectrum = vec![Complex::new(T::zero(), T::zero()); designer.fft_size() / 2 + 1];
    designer.spectrum_of(&kernel, &mut spectrum);
    Ok((
        kernel.centre_error_db,
        KernelSpectrum {
            spectrum,
            gains_db: kernel.gains_db,
        },
    ))
}

/// A streaming equalizer for `channels` channels of `T` samples.
///
/// `process`, `process_interleaved` and `reset` are real-time safe: no allocation, no lock, no
/// free (checked by an allocation-guard test). Gains change through [`EqControl`].
pub struct Equalizer<T: CachedSample> {
    convolver: Convolver<T>,
    receiver: Receiver<KernelSpectrum<T>>,
    control: EqControl<T>,
    channels: usize,
    max_block: usize,
    frames: u64,
}

impl<T: CachedSample> Equalizer<T> {
    /// Builds an equalizer: plans from the shared cache, the initial kernel designed here.
    ///
    /// # Errors
    /// Invalid sizes, sample rate, channel count, ramp, or initial gains.
    pub fn new(config: EqualizerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let n = config.fft_size;
        let cache = f64::cache();
        let mut designer = FirDesigner::new(
            config.layout.clone(),
            config.sample_rate,
            n,
            config.mode,
            cache.inverse_plan(n),
            cache.forward_plan(n),
        )
        .map_err(ConfigError::from)?;
        let bands = config.layout.bands();
        let gains = config.gains_db.clone().unwrap_or_else(|| vec![0.0; bands]);
        let (error, kernel) = design_spectrum::<T>(&mut designer, &gains)?;
        let (sender, receiver) = mailbox();
        let state = ControlState {
            designer,
            sender,
            gains_db: kernel.gains_db.clone(),
            centre_error_db: error,
            bypassed: false,
        };
        let ramp_len = (config.ramp_ms * 1e-3 * config.sample_rate as f64).round() as usize;
        let convolver = Convolver::new(
            config.channels,
            T::cache().forward_plan(n),
            T::cache().inverse_plan(n),
            FirDesigner::kernel_len(n),
            kernel,
            ramp_len,
        );
        Ok(Self {
            convolver,
            receiver,
            control: EqControl {
                state: Arc::new(Mutex::new(state)),
                bands,
            },
            channels: config.channels,
            max_block: config.max_block,
            frames: 0,
        })
    }

    /// A handle that changes this equalizer's gains from any thread.
    pub fn control(&self) -> EqControl<T> {
        self.control.clone()
    }

    /// Shorthand for `self.control().set_gains(gains_db)` (control path, allocates).
    ///
    /// # Errors
    /// As [`EqControl::set_gains`].
    pub fn set_gains(&self, gains_db: &[f64]) -> Result<(), BandError> {
        self.control.set_gains(gains_db)
    }

    /// Frames processed since construction.
    pub fn frames_processed(&self) -> u64 {
        self.frames
    }

    /// Non-finite (or beyond ±2^20) input samples replaced by zero since construction.
    pub fn nonfinite_count(&self) -> u64 {
        self.convolver.nonfinite_count()
    }

    /// The band gains (dB) of the kernel the audio path runs now.
    pub fn active_gains_db(&self) -> &[f64] {
        &self.convolver.kernel().gains_db
    }

    /// The overlap-save engine, for stages that run the EQ inside a longer chain.
    pub(crate) fn convolver_mut(&mut self) -> &mut Convolver<T> {
        &mut self.convolver
    }

    /// Takes a newly designed kernel if one waits (start of a processing call).
    pub(crate) fn begin_call(&mut self) {
        self.take_new_kernel(true);
    }

    /// Hands kernels the engine let go back to the control side (end of a processing call).
    pub(crate) fn end_call(&mut self, frames: usize) {
        self.hand_back_retired();
        self.frames += frames as u64;
    }

    fn take_new_kernel(&mut self, ramp: bool) {
        if ramp && self.convolver.is_ramping() {
            return;
        }
        if let Some(kernel) = self.receiver.receive() {
            if let Err(kernel) = self.convolver.set_kernel(kernel, ramp) {
                // Cannot happen with matching sizes; hand it back rather than drop it here.
                let _ = self.receiver.retire(kernel);
            }
        }
    }

    fn hand_back_retired(&mut self) {
        while let Some(old) = self.convolver.take_retired() {
            if let Err(old) = self.receiver.retire(old) {
                self.convolver.keep_retired(old);
                break;
            }
        }
    }
}

impl<T: CachedSample> Processor<T> for Equalizer<T> {
    fn channels(&self) -> usize {
        self.channels
    }

    fn max_block(&self) -> usize {
        self.max_block
    }

    /// `hop + (taps − 1) / 2` frames.
    fn latency_frames(&self) -> usize {
        self.convolver.latency()
    }

    fn process_layout(
        &mut self,
        input: &[T],
        output: &mut [T],
        layout: Layout,
    ) -> Result<(), ProcessError> {
        let frames = check_block(self.channels, self.max_block, input.len(), output.len())?;
        self.take_new_kernel(true);
        self.convolver.process(input, output, frames, layout);
        self.hand_back_retired();
        self.frames += frames as u64;
        Ok(())
    }

    /// Clears the signal state; keeps the gains, and applies the newest ones at once (no ramp).
    fn reset(&mut self) {
        self.convolver.reset();
        self.take_new_kernel(false);
        self.hand_back_retired();
    }
}
