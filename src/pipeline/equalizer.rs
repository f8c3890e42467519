//! The streaming equalizer: band gains become an FIR kernel (designed on the control thread),
//! applied on the audio thread, with a crossfade between the old and the new kernel's outputs
//! whenever the gains change.
//!
//! Two choices shape it ([`EqualizerConfig`]):
//! - **phase**: linear (a symmetric kernel; every frequency delayed by `(taps − 1)/2`) or
//!   minimum (the same magnitude by the cepstral method, [`crate::dsp::minphase`]; the energy
//!   arrives first, nothing rings before a transient, no delay beyond the engine's);
//! - **engine**: overlap-save at `fft_size` (latency `hop` ≈ `fft_size/2`, the cheapest) or,
//!   with a `partition`, uniformly partitioned convolution ([`crate::dsp::partitioned`];
//!   latency one partition whatever the host's block size).
//!
//! [`EqualizerConfig::low_latency`] picks minimum phase with a partition of the host's block:
//! at 64-frame blocks the equalizer's latency is 64 frames.

use super::stage::{check_block, Processor};
use crate::cache::CachedSample;
use crate::dsp::bands::{BandError, BandLayout, CurveMode};
use crate::dsp::convolver::{Convolver, KernelSpectrum};
use crate::dsp::fir::FirDesigner;
use crate::dsp::minphase::{grid_size, minimum_phase};
use crate::dsp::partitioned::{partition_spectra, partitions, PartitionedConvolver};
use crate::dsp::{Complex, Layout, Sample};
use crate::handoff::{mailbox, Receiver, Sender};
use crate::limits::{MAX_FFT_SIZE, MAX_PARTITION, MIN_FFT_SIZE, MIN_PARTITION};
use crate::{ConfigError, ProcessError};
use realfft::{ComplexToReal, RealToComplex};
use std::sync::{Arc, Mutex, PoisonError};

pub use crate::limits::MAX_SAMPLE_RATE;

/// Default crossfade time on a gain change, in milliseconds.
pub const DEFAULT_RAMP_MS: f64 = 20.0;

/// The phase response of the equalizer's kernel (the magnitude is the same either way).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    /// A symmetric kernel: no phase distortion, every frequency delayed by `(taps − 1)/2`
    /// frames. The default.
    #[default]
    Linear,
    /// The minimum-phase kernel of the same magnitude: no delay beyond the engine's, no
    /// pre-ringing; the phase bends near steep gain changes, as an analogue EQ's does.
    Minimum,
}

impl Phase {
    /// The phase with C enum value `index` (0 linear, 1 minimum).
    pub fn from_index(index: i32) -> Option<Self> {
        match index {
            0 => Some(Self::Linear),
            1 => Some(Self::Minimum),
            _ => None,
        }
    }
}

/// Tail energy a minimum-phase kernel may drop, relative to its total, dB (the bound on
/// the energy outside a kernel's length): the response decays, so the partitioned engine skips
/// the partitions the dropped taps leave empty. The band-centre accuracy (0.1 dB) is tested on
/// the trimmed kernels.
pub const MIN_PHASE_TRIM_DB: f64 = -100.0;

/// The partition for a host whose blocks are at most `max_block` frames: the largest power of
/// two ≤ `max_block`, within 8…65536 (below 8 frames the latency is 8 frames).
pub fn low_latency_partition(max_block: usize) -> usize {
    let p = if max_block == 0 {
        MIN_PARTITION
    } else {
        1usize << max_block.ilog2()
    };
    p.clamp(MIN_PARTITION, MAX_PARTITION)
}

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
    /// Linear or minimum phase. Default linear.
    pub phase: Phase,
    /// 0: overlap-save at `fft_size` (the default). Otherwise the partition of the partitioned
    /// engine, a power of two from 8 to 65536, at most `max_block` for a latency of at most one
    /// host block; the kernel is still designed at `fft_size`.
    pub partition: usize,
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
            phase: Phase::Linear,
            partition: 0,
        }
    }

    /// The low-latency mode: minimum phase, partitioned with [`low_latency_partition`] of
    /// `max_block` (at 64-frame blocks a latency of 64 frames).
    pub fn low_latency(mut self) -> Self {
        self.phase = Phase::Minimum;
        self.partition = low_latency_partition(self.max_block);
        self
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
        check_partition(self.partition)
    }
}

/// Checks a partition: 0 (overlap-save) or a power of two from 8 to 65536.
///
/// # Errors
/// [`ConfigError::InvalidPartition`].
pub fn check_partition(partition: usize) -> Result<(), ConfigError> {
    let partitioned =
        partition.is_power_of_two() && (MIN_PARTITION..=MAX_PARTITION).contains(&partition);
    if partition == 0 || partitioned {
        Ok(())
    } else {
        Err(ConfigError::InvalidPartition)
    }
}

/// A forward and an inverse f64 plan of one size.
type PlanPair = (Arc<dyn RealToComplex<f64>>, Arc<dyn ComplexToReal<f64>>);

/// Turns band gains into the kernel the audio side runs: the designer's linear-phase kernel,
/// made minimum-phase when asked, as an overlap-save spectrum or as partition spectra.
struct KernelDesign<T: CachedSample> {
    designer: FirDesigner,
    /// For a minimum phase: the cepstral grid's f64 plans (from the shared cache).
    min_phase: Option<PlanPair>,
    /// The partition and its `2P`-point plan, for the partitioned engine.
    partitioned: Option<(usize, Arc<dyn RealToComplex<T>>)>,
}

impl<T: CachedSample> KernelDesign<T> {
    /// The kernel for `gains_db` and the largest error at the resolvable band centres (of the
    /// linear-phase design, whose magnitude the minimum-phase kernel keeps).
    fn design(&mut self, gains_db: &[f64]) -> Result<(f64, KernelSpectrum<T>), BandError> {
        let kernel = self.designer.design(gains_db)?;
        let n = self.designer.fft_size();
        let taps = match &self.min_phase {
            None => kernel.taps,
            Some((forward, inverse)) => {
                let mut min = minimum_phase(&kernel, &**forward, &**inverse);
                min.trim(MIN_PHASE_TRIM_DB);
                min.taps
            }
        };
        let zero = Complex::new(T::zero(), T::zero());
        let spectrum = match &self.partitioned {
            None => {
                let mut spectrum = vec![zero; n / 2 + 1];
                self.designer.spectrum_of_taps(&taps, &mut spectrum);
                spectrum
            }
            Some((p, forward)) => {
                let mut spectrum = partition_spectra(&taps, *p, &**forward);
                // Trimmed partitions are zeros (the engine skips them).
                spectrum.resize(partitions(FirDesigner::kernel_len(n), *p) * (p + 1), zero);
                spectrum
            }
        };
        Ok((
            kernel.centre_error_db,
            KernelSpectrum {
                spectrum,
                gains_db: kernel.gains_db,
            },
        ))
    }
}

struct ControlState<T: CachedSample> {
    design: KernelDesign<T>,
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
        state.design.designer.layout().clone()
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
        let clamped = state.design.designer.layout().clamp_gains(gains_db)?;
        if !state.bypassed {
            let (error, kernel) = state.design.design(&clamped)?;
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
        if let Ok((error, kernel)) = state.design.design(&gains) {
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

/// The equalizer's convolution engine.
pub(crate) enum Engine<T: Sample> {
    OverlapSave(Convolver<T>),
    Partitioned(PartitionedConvolver<T>),
}

/// Runs `$body` with `$c` bound to whichever engine `$engine` holds.
macro_rules! on_engine {
    ($engine:expr, $c:ident => $body:expr) => {
        match $engine {
            Engine::OverlapSave($c) => $body,
            Engine::Partitioned($c) => $body,
        }
    };
}

impl<T: Sample> Engine<T> {
    /// Filters frames `start .. start + len` (see [`Convolver::process_span`]).
    pub(crate) fn process_span(
        &mut self,
        input: &[T],
        output: &mut [T],
        frames: usize,
        layout: Layout,
        start: usize,
        len: usize,
    ) {
        on_engine!(self, c => c.process_span(input, output, frames, layout, start, len))
    }

    /// Input frames still needed to complete the current block (hop or partition).
    pub(crate) fn frames_to_block(&self) -> usize {
        on_engine!(self, c => c.frames_to_block())
    }

    /// Blocks computed so far.
    pub(crate) fn blocks(&self) -> u64 {
        on_engine!(self, c => c.blocks())
    }

    /// Frames per block (the hop or the partition).
    pub(crate) fn hop(&self) -> usize {
        on_engine!(self, c => c.hop())
    }

    /// Per-channel K-weighted mean squares of the last block, once
    /// [`measure_loudness`](Self::measure_loudness) is on.
    pub(crate) fn block_energy(&self) -> &[f64] {
        on_engine!(self, c => c.block_energy())
    }

    /// Makes every block measure its K-weighted mean square for `level`: from the spectrum
    /// overlap-save computes anyway, or by K-weighting filters on the partitioned engine's
    /// output (whose `2P`-point spectra are too coarse for BS.1770's low end).
    pub(crate) fn measure_loudness(
        &mut self,
        level: &crate::dsp::level::LevelMatcher,
        sample_rate: u32,
    ) {
        match self {
            Engine::OverlapSave(c) => c.set_energy_weights(level.bin_weights()),
            Engine::Partitioned(c) => c.set_k_weighting(sample_rate),
        }
    }

    /// Delay from input to the kernel's first tap.
    fn delay(&self) -> usize {
        match self {
            Engine::OverlapSave(c) => c.hop(),
            Engine::Partitioned(c) => c.latency(),
        }
    }

    fn set_kernel(
        &mut self,
        kernel: KernelSpectrum<T>,
        ramp: bool,
    ) -> Result<(), KernelSpectrum<T>> {
        on_engine!(self, c => c.set_kernel(kernel, ramp))
    }

    fn take_retired(&mut self) -> Option<KernelSpectrum<T>> {
        on_engine!(self, c => c.take_retired())
    }

    fn keep_retired(&mut self, kernel: KernelSpectrum<T>) {
        on_engine!(self, c => c.keep_retired(kernel))
    }

    fn is_ramping(&self) -> bool {
        on_engine!(self, c => c.is_ramping())
    }

    fn kernel(&self) -> &KernelSpectrum<T> {
        on_engine!(self, c => c.kernel())
    }

    fn nonfinite_count(&self) -> u64 {
        on_engine!(self, c => c.nonfinite_count())
    }

    fn reset(&mut self) {
        on_engine!(self, c => c.reset())
    }
}

/// A streaming equalizer for `channels` channels of `T` samples.
///
/// `process`, `process_interleaved` and `reset` are real-time safe: no allocation, no lock, no
/// free (checked by an allocation-guard test). Gains change through [`EqControl`].
pub struct Equalizer<T: CachedSample> {
    engine: Engine<T>,
    /// `(taps − 1)/2` for a linear-phase kernel, 0 for a minimum-phase one.
    phase_delay: usize,
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
        let designer = FirDesigner::new(
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
        let p = config.partition;
        let grid = grid_size(FirDesigner::kernel_len(n));
        let mut design = KernelDesign {
            designer,
            min_phase: (config.phase == Phase::Minimum)
                .then(|| (cache.forward_plan(grid), cache.inverse_plan(grid))),
            partitioned: (p > 0).then(|| (p, T::cache().forward_plan(2 * p))),
        };
        let (error, kernel) = design.design(&gains)?;
        let (sender, receiver) = mailbox();
        let state = ControlState {
            design,
            sender,
            gains_db: kernel.gains_db.clone(),
            centre_error_db: error,
            bypassed: false,
        };
        let ramp_len = (config.ramp_ms * 1e-3 * config.sample_rate as f64).round() as usize;
        let kernel_len = FirDesigner::kernel_len(n);
        let cache = T::cache();
        let engine = if p == 0 {
            Engine::OverlapSave(Convolver::new(
                config.channels,
                cache.forward_plan(n),
                cache.inverse_plan(n),
                kernel_len,
                kernel,
                ramp_len,
            ))
        } else {
            Engine::Partitioned(PartitionedConvolver::new(
                config.channels,
                p,
                cache.forward_plan(2 * p),
                cache.inverse_plan(2 * p),
                kernel_len,
                kernel,
                ramp_len,
            ))
        };
        Ok(Self {
            engine,
            phase_delay: match config.phase {
                Phase::Linear => (kernel_len - 1) / 2,
                Phase::Minimum => 0,
            },
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
        self.engine.nonfinite_count()
    }

    /// The band gains (dB) of the kernel the audio path runs now.
    pub fn active_gains_db(&self) -> &[f64] {
        &self.engine.kernel().gains_db
    }

    /// The convolution engine, for stages that run the EQ inside a longer chain.
    pub(crate) fn engine_mut(&mut self) -> &mut Engine<T> {
        &mut self.engine
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
        if ramp && self.engine.is_ramping() {
            return;
        }
        if let Some(kernel) = self.receiver.receive() {
            if let Err(kernel) = self.engine.set_kernel(kernel, ramp) {
                // Cannot happen with matching sizes; hand it back rather than drop it here.
                let _ = self.receiver.retire(kernel);
            }
        }
    }

    fn hand_back_retired(&mut self) {
        while let Some(old) = self.engine.take_retired() {
            if let Err(old) = self.receiver.retire(old) {
                self.engine.keep_retired(old);
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

    /// The engine's delay (overlap-save: its hop; partitioned: one partition) plus, for a
    /// linear-phase kernel, `(taps − 1) / 2`: where an impulse's response starts (minimum
    /// phase) or peaks (linear phase).
    fn latency_frames(&self) -> usize {
        self.engine.delay() + self.phase_delay
    }

    fn process_layout(
        &mut self,
        input: &[T],
        output: &mut [T],
        layout: Layout,
    ) -> Result<(), ProcessError> {
        let frames = check_block(self.channels, self.max_block, input.len(), output.len())?;
        self.take_new_kernel(true);
        self.engine
            .process_span(input, output, frames, layout, 0, frames);
        self.hand_back_retired();
        self.frames += frames as u64;
        Ok(())
    }

    /// Clears the signal state; keeps the gains, and applies the newest ones at once (no ramp).
    fn reset(&mut self) {
        self.engine.reset();
        self.take_new_kernel(false);
        self.hand_back_retired();
    }
}
