use super::bands::{gains_from, layout_from, mode_from};
use super::format::{either, format_from, tonecore_sample_format, Family, PerFormat};
use super::stage::{self, AudioStage, StageFamily, StageObject};
use super::{
    disjoint, free_object, guard, guard_rt, object_ref, out_param, sized_in, slice_in, slice_out,
    tonecore_status, Failure,
};
use crate::cache::CachedSample;
use crate::dsp::Layout;
use crate::pipeline::equalizer::DEFAULT_RAMP_MS;
use crate::pipeline::{
    low_latency_partition, EqControl, Equalizer, EqualizerConfig, Phase, Processor,
};
use crate::spectral::{equalize, EqualizeConfig};
use std::ffi::c_void;
use std::mem::{offset_of, size_of};

/// How a `tonecore_equalizer` is built. Fill it with `tonecore_equalizer_config_init`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_equalizer_config {
    /// `sizeof(tonecore_equalizer_config)` as the caller compiled it (set by `_init`).
    pub struct_size: usize,
    /// Sample rate in Hz (1–2822400). Default 44100.
    pub sample_rate: u32,
    /// Channel count, 1–64. Default 2.
    pub channels: u32,
    /// Largest block `_process_*` accepts, in frames (1 ≤ max_block ≤ 2^24). Default 4096.
    pub max_block: usize,
    /// FFT size of the overlap-save engine: even, 16–2^24; the kernel has fft_size/2 + 1 taps
    /// (rounded down to odd) and the latency is fft_size − taps + 1 + (taps − 1)/2 frames.
    /// Default 4096 (latency 3072).
    pub fft_size: usize,
    /// A `TONECORE_LAYOUT_*` value. Default CRITICAL.
    pub layout: i32,
    /// A `TONECORE_CURVE_MODE_*` value. Default SMOOTH.
    pub mode: i32,
    /// `CUSTOM` layouts only: ascending band edges in Hz (copied at `_new`).
    pub edges: *const f64,
    /// Length of `edges`.
    pub edges_len: usize,
    /// Crossfade time on gain changes in ms, 0–10000 (0 switches at once). Default 20.
    pub ramp_ms: f64,
    /// A `TONECORE_SAMPLE_FORMAT_*` value: which `_process_*` calls the object takes. Default F32.
    pub sample_format: i32,
    /// Initial gains in dB, one per band (copied), or NULL for all 0 dB.
    pub gains_db: *const f64,
    /// Length of `gains_db`.
    pub gains_len: usize,
    /// A `TONECORE_PHASE_*` value. Default LINEAR. (Fields from here on were added in 0.3.)
    pub phase: i32,
    /// 0: overlap-save at `fft_size` (the default). Otherwise the partitioned engine's
    /// partition, a power of two 8–65536 (at most `max_block` for a latency of at most one
    /// block); the latency is then one partition, plus (taps − 1)/2 for a linear phase.
    pub partition: usize,
}

/// The config's size in the first release (up to `gains_len`).
const EQUALIZER_CONFIG_MIN_SIZE: usize =
    offset_of!(tonecore_equalizer_config, gains_len) + size_of::<usize>();

/// The phase response of an equalizer's kernel (`phase` in the equalizer and pipeline
/// configs).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tonecore_phase {
    /// Symmetric kernel: no phase distortion, every frequency delayed by (taps − 1)/2.
    Linear = 0,
    /// Minimum phase with the same magnitude: no delay beyond the engine's, no pre-ringing.
    Minimum = 1,
}

/// The phase with C value `phase`.
pub(crate) fn phase_from(phase: i32) -> Result<Phase, Failure> {
    Phase::from_index(phase).ok_or_else(|| {
        Failure::detail(
            tonecore_status::InvalidArgument,
            "phase is not a TONECORE_PHASE_* value",
        )
    })
}

/// The low-latency partition for a host whose blocks are at most `max_block` frames: the
/// largest power of two ≤ `max_block`, within 8–65536. Set it as `partition` with `phase =
/// TONECORE_PHASE_MINIMUM` for an equalizer whose latency is one block.
///
/// Cannot fail. Thread class: any-thread, audio-safe.
#[no_mangle]
pub extern "C" fn tonecore_low_latency_partition(max_block: usize) -> usize {
    low_latency_partition(max_block)
}

impl Default for tonecore_equalizer_config {
    fn default() -> Self {
        Self {
            struct_size: size_of::<Self>(),
            sample_rate: 44_100,
            channels: 2,
            max_block: 4096,
            fft_size: 4096,
            layout: super::tonecore_layout::Critical as i32,
            mode: super::tonecore_curve_mode::Smooth as i32,
            edges: std::ptr::null(),
            edges_len: 0,
            ramp_ms: DEFAULT_RAMP_MS,
            sample_format: tonecore_sample_format::F32 as i32,
            gains_db: std::ptr::null(),
            gains_len: 0,
            phase: tonecore_phase::Linear as i32,
            partition: 0,
        }
    }
}

pub(crate) struct EqualizerFamily;

impl Family for EqualizerFamily {
    type Of<T: CachedSample> = Equalizer<T>;
}

impl StageFamily for EqualizerFamily {
    fn stage<T: CachedSample>(object: &mut Equalizer<T>) -> &mut impl Processor<T> {
        object
    }
}

struct ControlFamily;

impl Family for ControlFamily {
    type Of<T: CachedSample> = EqControl<T>;
}

/// A streaming equalizer: band gains applied as an exact FIR filter — linear phase by default,
/// minimum phase with `phase = TONECORE_PHASE_MINIMUM` — by FFT overlap-save (default) or by
/// partitioned convolution (`partition`, latency one partition), with a crossfade (`ramp_ms`)
/// whenever the gains change.
///
/// `_process_*`, `_reset` and `_nonfinite_count` are single-threaded (the audio thread):
/// concurrent calls on one object return `TONECORE_STATUS_CONCURRENT_USE`. `_set_gains`,
/// `_gains`, `_latency` and `_bands` may be called from any thread at any time, also while
/// audio is processed.
pub struct tonecore_equalizer {
    bands: usize,
    control: PerFormat<ControlFamily>,
    stage: AudioStage<EqualizerFamily>,
}

impl StageObject for tonecore_equalizer {
    type Family = EqualizerFamily;
    fn stage(&self) -> &AudioStage<EqualizerFamily> {
        &self.stage
    }
}

/// Fills `config_out` with the defaults (44100 Hz, 2 channels, max_block 4096, fft_size 4096,
/// critical bands, smooth curve, 20 ms ramp, f32, flat gains) and the current `struct_size`.
///
/// Returns `NULL_POINTER`. Thread class: any-thread.
///
/// `config_out` is borrowed for the call only.
///
/// # Safety
/// `config_out` must point to a writable config.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalizer_config_init(
    config_out: *mut tonecore_equalizer_config,
) -> tonecore_status {
    guard(|| {
        out_param(config_out)?.write(tonecore_equalizer_config::default());
        Ok(())
    })
}

fn build<T: CachedSample>(
    config: EqualizerConfig,
) -> Result<(Equalizer<T>, EqControl<T>), Failure> {
    let eq = Equalizer::<T>::new(config)?;
    let control = eq.control();
    Ok((eq, control))
}

/// Creates an equalizer and stores it in `*equalizer_out` (written only on success). The
/// initial kernel is designed here. The caller owns the equalizer and frees it with
/// `tonecore_equalizer_free`; `config` and the arrays it points to are copied.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_SAMPLE_RATE`, `INVALID_CHANNELS`,
/// `INVALID_ARGUMENT` (max_block, ramp, layout, mode, phase, sample format), `INVALID_FFT_SIZE`,
/// `INVALID_PARTITION`, `INVALID_BANDS`, `GAIN_COUNT`, `NON_FINITE` (gains).
///
/// Thread class: control-thread (allocates).
///
/// # Safety
/// `config` must point to a config of at least `config->struct_size` bytes whose pointers are
/// NULL or valid for their lengths; `equalizer_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalizer_new(
    config: *const tonecore_equalizer_config,
    equalizer_out: *mut *mut tonecore_equalizer,
) -> tonecore_status {
    guard(|| {
        let out = out_param(equalizer_out)?;
        let c = sized_in(
            config,
            &[EQUALIZER_CONFIG_MIN_SIZE],
            "config->struct_size is too small; call tonecore_equalizer_config_init first",
        )?;
        let format = format_from(c.sample_format)?;
        let layout = layout_from(c.layout, c.edges, c.edges_len)?;
        let gains = if c.gains_db.is_null() {
            None
        } else {
            Some(gains_from(c.gains_db, c.gains_len, layout.bands())?)
        };
        let rust = EqualizerConfig {
            sample_rate: c.sample_rate,
            channels: c.channels as usize,
            max_block: c.max_block,
            fft_size: c.fft_size,
            layout,
            mode: mode_from(c.mode)?,
            ramp_ms: c.ramp_ms,
            gains_db: gains,
            phase: phase_from(c.phase)?,
            partition: c.partition,
        };
        let bands = rust.layout.bands();
        let (audio, control) = match format {
            tonecore_sample_format::F32 => {
                let (eq, control) = build::<f32>(rust)?;
                (PerFormat::F32(eq), PerFormat::F32(control))
            }
            tonecore_sample_format::F64 => {
                let (eq, control) = build::<f64>(rust)?;
                (PerFormat::F64(eq), PerFormat::F64(control))
            }
        };
        let eq = Box::new(tonecore_equalizer {
            bands,
            control,
            stage: AudioStage::new(audio),
        });
        out.write(Box::into_raw(eq));
        Ok(())
    })
}

/// Frees an equalizer. NULL is a no-op.
///
/// Thread class: control-thread; no other call on this object may be running or follow.
///
/// # Safety
/// `equalizer` must be NULL or a live pointer from `tonecore_equalizer_new`.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalizer_free(equalizer: *mut tonecore_equalizer) {
    free_object(equalizer);
}

/// Sets the band gains in dB (one per band, clamped to ±24 dB). The new kernel is designed on
/// the calling thread and handed to the audio thread without blocking it; the audio output
/// crossfades to it over `ramp_ms`. Returns when the kernel has been handed over.
///
/// Returns `NULL_POINTER`, `GAIN_COUNT`, `NON_FINITE`; on error the gains stay as they were.
/// Thread class: any-thread (control path: allocates; calls from several threads serialise on a
/// lock the audio thread never takes).
///
/// `gains_db` is copied; `equalizer` is borrowed for the call only.
///
/// # Safety
/// `gains_db` must point to `gains_len` readable doubles; `equalizer` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalizer_set_gains(
    equalizer: *const tonecore_equalizer,
    gains_db: *const f64,
    gains_len: usize,
) -> tonecore_status {
    guard(|| {
        let eq = object_ref(equalizer)?;
        let gains = slice_in(gains_db, gains_len)?;
        either!(&eq.control, c => c.set_gains(gains)?);
        Ok(())
    })
}

/// Writes the gains most recently set (clamped, dB) to `gains_out` (`bands` values).
///
/// Returns `NULL_POINTER`, `BUFFER_TOO_SMALL`. Thread class: any-thread.
///
/// `equalizer` and `gains_out` are borrowed for the call only.
///
/// # Safety
/// `gains_out` must point to `gains_len` writable doubles; `equalizer` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalizer_gains(
    equalizer: *const tonecore_equalizer,
    gains_out: *mut f64,
    gains_len: usize,
) -> tonecore_status {
    guard(|| {
        let eq = object_ref(equalizer)?;
        let out = slice_out(gains_out, gains_len)?;
        let gains = either!(&eq.control, c => c.gains_db());
        if out.len() < gains.len() {
            return Err(tonecore_status::BufferTooSmall.into());
        }
        out[..gains.len()].copy_from_slice(&gains);
        Ok(())
    })
}

/// Writes the input-to-output delay in frames to `*frames_out`: the engine's (overlap-save:
/// fft_size − taps + 1; partitioned: one partition) plus (taps − 1)/2 for a linear phase. An
/// impulse's response starts there (minimum phase) or peaks there (linear phase).
///
/// Returns `NULL_POINTER`. Thread class: any-thread, audio-safe.
///
/// `equalizer` and `frames_out` are borrowed for the call only.
///
/// # Safety
/// `equalizer` live; `frames_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalizer_latency(
    equalizer: *const tonecore_equalizer,
    frames_out: *mut usize,
) -> tonecore_status {
    stage::latency(equalizer, frames_out)
}

/// Writes the number of bands to `*bands_out`.
///
/// Returns `NULL_POINTER`. Thread class: any-thread, audio-safe.
///
/// `equalizer` and `bands_out` are borrowed for the call only.
///
/// # Safety
/// `equalizer` live; `bands_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalizer_bands(
    equalizer: *const tonecore_equalizer,
    bands_out: *mut usize,
) -> tonecore_status {
    guard_rt(|| {
        let eq = object_ref(equalizer)?;
        out_param(bands_out)?.write(eq.bands);
        Ok(())
    })
}

/// Clears the signal state, keeps the gains and applies the newest at once (no ramp).
///
/// Returns `NULL_POINTER`, `CONCURRENT_USE`, `POISONED`, `PANIC`.
/// Thread class: audio-safe (no allocation, no lock).
///
/// `equalizer` is borrowed for the call only.
///
/// # Safety
/// `equalizer` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalizer_reset(
    equalizer: *mut tonecore_equalizer,
) -> tonecore_status {
    stage::reset(equalizer)
}

/// Writes the number of non-finite (or beyond ±2^20) input samples replaced by zero so far to
/// `*count_out`.
///
/// Returns `NULL_POINTER`, `CONCURRENT_USE` (while a `_process_*` call runs), `POISONED`.
/// Thread class: audio-safe; call it from the audio thread.
///
/// `equalizer` and `count_out` are borrowed for the call only.
///
/// # Safety
/// `equalizer` live; `count_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalizer_nonfinite_count(
    equalizer: *mut tonecore_equalizer,
    count_out: *mut u64,
) -> tonecore_status {
    guard_rt(|| {
        let eq = object_ref(equalizer)?;
        let out = out_param(count_out)?;
        let n = eq
            .stage
            .audio()
            .with(|a| Ok(either!(a, e => e.nonfinite_count())))?;
        out.write(n);
        Ok(())
    })
}

/// Filters one block of planar input (`channels` rows of `input_len / channels` frames, any
/// block size up to `max_block`) into `output` (`output_len ≥ input_len`, same layout).
/// Non-finite input samples, and finite ones beyond ±2^20 (+120 dBFS: corrupt data that would
/// overflow the f32 FFT), are replaced by zero and counted; they never reach the filter state.
/// Output is the input delayed by `_latency` frames and filtered; block sizes never change it.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS` (input_len not a multiple of channels),
/// `BLOCK_TOO_LARGE`, `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`, `WRONG_FORMAT`, `CONCURRENT_USE`,
/// `POISONED`, `PANIC`; nothing is processed or written on error. No detail message is set
/// (audio path).
///
/// Thread class: audio-safe (no allocation, no lock, no free; one thread at a time).
///
/// # Safety
/// `input` must point to `input_len` readable floats, `output` to `output_len` writable floats,
/// not overlapping; `equalizer` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalizer_process_f32(
    equalizer: *mut tonecore_equalizer,
    input: *const f32,
    input_len: usize,
    output: *mut f32,
    output_len: usize,
) -> tonecore_status {
    stage::process(
        equalizer,
        input,
        input_len,
        output,
        output_len,
        Layout::Planar,
    )
}

/// Double-precision [`tonecore_equalizer_process_f32`]; the object must have been created with
/// `TONECORE_SAMPLE_FORMAT_F64`.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `BLOCK_TOO_LARGE`, `BUFFER_TOO_SMALL`,
/// `BUFFERS_OVERLAP`, `WRONG_FORMAT`, `CONCURRENT_USE`, `POISONED`, `PANIC`; nothing is
/// processed or written on error, and no detail message is set. `input` and `output` are
/// borrowed for the call only.
///
/// Thread class: audio-safe (no allocation, no lock, no free; one thread at a time).
///
/// # Safety
/// As for `tonecore_equalizer_process_f32`, with doubles: `input` and `output` valid for their
/// lengths and not overlapping; `equalizer` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalizer_process_f64(
    equalizer: *mut tonecore_equalizer,
    input: *const f64,
    input_len: usize,
    output: *mut f64,
    output_len: usize,
) -> tonecore_status {
    stage::process(
        equalizer,
        input,
        input_len,
        output,
        output_len,
        Layout::Planar,
    )
}

/// [`tonecore_equalizer_process_f32`] for interleaved frames (`c0 c1 … c0 c1 …`).
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `BLOCK_TOO_LARGE`, `BUFFER_TOO_SMALL`,
/// `BUFFERS_OVERLAP`, `WRONG_FORMAT`, `CONCURRENT_USE`, `POISONED`, `PANIC`; nothing is
/// processed or written on error, and no detail message is set. `input` and `output` are
/// borrowed for the call only.
///
/// Thread class: audio-safe (no allocation, no lock, no free; one thread at a time).
///
/// # Safety
/// As for `tonecore_equalizer_process_f32`: `input` and `output` valid for their lengths and
/// not overlapping; `equalizer` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalizer_process_interleaved_f32(
    equalizer: *mut tonecore_equalizer,
    input: *const f32,
    input_len: usize,
    output: *mut f32,
    output_len: usize,
) -> tonecore_status {
    stage::process(
        equalizer,
        input,
        input_len,
        output,
        output_len,
        Layout::Interleaved,
    )
}

/// [`tonecore_equalizer_process_f64`] for interleaved frames.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `BLOCK_TOO_LARGE`, `BUFFER_TOO_SMALL`,
/// `BUFFERS_OVERLAP`, `WRONG_FORMAT`, `CONCURRENT_USE`, `POISONED`, `PANIC`; nothing is
/// processed or written on error, and no detail message is set. `input` and `output` are
/// borrowed for the call only.
///
/// Thread class: audio-safe (no allocation, no lock, no free; one thread at a time).
///
/// # Safety
/// As for `tonecore_equalizer_process_f64`: `input` and `output` valid for their lengths and
/// not overlapping; `equalizer` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalizer_process_interleaved_f64(
    equalizer: *mut tonecore_equalizer,
    input: *const f64,
    input_len: usize,
    output: *mut f64,
    output_len: usize,
) -> tonecore_status {
    stage::process(
        equalizer,
        input,
        input_len,
        output,
        output_len,
        Layout::Interleaved,
    )
}

/// Progress callback: `done` of `total` units finished. Called from worker threads, one call at
/// a time, with `done` strictly increasing; never from an audio thread.
pub type tonecore_progress_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, done: usize, total: usize)>;

/// Settings of `tonecore_equalize_*`. Fill it with `tonecore_equalize_config_init`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_equalize_config {
    /// `sizeof(tonecore_equalize_config)` as the caller compiled it (set by `_init`).
    pub struct_size: usize,
    /// Sample rate in Hz (> 0). Default 44100.
    pub sample_rate: u32,
    /// 0 (default) = all cores, 1 = the calling thread, n = a shared pool of n threads.
    pub threads: u32,
    /// FFT size (even, 16–2^24). Default 4096.
    pub fft_size: usize,
    /// A `TONECORE_LAYOUT_*` value. Default CRITICAL.
    pub layout: i32,
    /// A `TONECORE_CURVE_MODE_*` value. Default SMOOTH.
    pub mode: i32,
    /// `CUSTOM` layouts only: ascending band edges in Hz.
    pub edges: *const f64,
    /// Length of `edges`.
    pub edges_len: usize,
}

const EQUALIZE_CONFIG_MIN_SIZE: usize =
    offset_of!(tonecore_equalize_config, edges_len) + size_of::<usize>();

impl Default for tonecore_equalize_config {
    fn default() -> Self {
        Self {
            struct_size: size_of::<Self>(),
            sample_rate: 44_100,
            threads: 0,
            fft_size: 4096,
            layout: super::tonecore_layout::Critical as i32,
            mode: super::tonecore_curve_mode::Smooth as i32,
            edges: std::ptr::null(),
            edges_len: 0,
        }
    }
}

/// Fills `config_out` with the defaults (44100 Hz, all cores, fft_size 4096, critical bands,
/// smooth curve) and the current `struct_size`.
///
/// Returns `NULL_POINTER`. Thread class: any-thread.
///
/// `config_out` is borrowed for the call only.
///
/// # Safety
/// `config_out` must point to a writable config.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalize_config_init(
    config_out: *mut tonecore_equalize_config,
) -> tonecore_status {
    guard(|| {
        out_param(config_out)?.write(tonecore_equalize_config::default());
        Ok(())
    })
}

struct Progress {
    callback: unsafe extern "C" fn(*mut c_void, usize, usize),
    user_data: *mut c_void,
}

// SAFETY: the caller promises (documented) that the callback may be called from worker threads
// with this user_data; calls are serialised by `equalize`.
unsafe impl Sync for Progress {}

unsafe fn equalize_ffi<T: CachedSample>(
    config: *const tonecore_equalize_config,
    gains_db: *const f64,
    gains_len: usize,
    input: *const T,
    input_len: usize,
    channels: usize,
    output: *mut T,
    output_len: usize,
    progress: tonecore_progress_fn,
    user_data: *mut c_void,
) -> tonecore_status {
    guard(|| {
        if config.is_null() {
            return Err(tonecore_status::NullPointer.into());
        }
        if config.cast::<usize>().read_unaligned() < EQUALIZE_CONFIG_MIN_SIZE {
            return Err(tonecore_status::StructSize.into());
        }
        let c = config.read();
        let cfg = EqualizeConfig {
            sample_rate: c.sample_rate,
            layout: layout_from(c.layout, c.edges, c.edges_len)?,
            mode: mode_from(c.mode)?,
            fft_size: c.fft_size,
            threads: c.threads as usize,
        };
        let gains = slice_in(gains_db, gains_len)?;
        let x = slice_in(input, input_len)?;
        let y = slice_out(output, output_len)?;
        disjoint(input, input_len, output, output_len)?;
        let reporter = progress.map(|callback| Progress {
            callback,
            user_data,
        });
        let report = |done: usize, total: usize| {
            if let Some(p) = &reporter {
                // SAFETY: the caller supplied this callback for exactly this use.
                unsafe { (p.callback)(p.user_data, done, total) };
            }
        };
        let report_ref: &(dyn Fn(usize, usize) + Sync) = &report;
        let progress = reporter.as_ref().map(|_| report_ref);
        Ok(equalize(x, channels, y, gains, &cfg, progress)?)
    })
}

/// Equalizes a whole planar buffer (`channels` rows of `input_len / channels` samples) with band
/// gains `gains_db` into `output` (`output_len ≥ input_len`), in parallel over channels and
/// fixed segments. The result is the streaming equalizer's output with its latency removed
/// (same length as the input, zero-padded ends), identical for any thread count. `progress` (may
/// be NULL) is called with `user_data` after each segment. Non-finite samples (and finite ones
/// beyond ±2^20) count as zero.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_ARGUMENT`, `INVALID_SAMPLE_RATE`,
/// `INVALID_FFT_SIZE`, `INVALID_BANDS`, `GAIN_COUNT`, `NON_FINITE` (gains), `INVALID_LENGTH`,
/// `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`, `THREAD_POOL`; nothing is written on error.
///
/// Thread class: control-thread / worker (allocates; runs on the configured threads).
///
/// `config`, `gains_db`, `input` and `output` are borrowed for the call only (`config` is read
/// at the start); `user_data` is passed to `progress` untouched and never freed.
///
/// # Safety
/// `config` readable for `config->struct_size` bytes; all other pointers valid for their
/// lengths; `output` must not overlap `input`; `progress`, if not NULL, must be safe to call
/// from other threads with `user_data` until this function returns.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalize_f32(
    config: *const tonecore_equalize_config,
    gains_db: *const f64,
    gains_len: usize,
    input: *const f32,
    input_len: usize,
    channels: usize,
    output: *mut f32,
    output_len: usize,
    progress: tonecore_progress_fn,
    user_data: *mut c_void,
) -> tonecore_status {
    equalize_ffi(
        config, gains_db, gains_len, input, input_len, channels, output, output_len, progress,
        user_data,
    )
}

/// Double-precision [`tonecore_equalize_f32`]: `input` and `output` hold doubles.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_ARGUMENT`, `INVALID_SAMPLE_RATE`,
/// `INVALID_FFT_SIZE`, `INVALID_BANDS`, `GAIN_COUNT`, `NON_FINITE` (gains), `INVALID_LENGTH`,
/// `BUFFER_TOO_SMALL`, `BUFFERS_OVERLAP`, `THREAD_POOL`; nothing is written on error.
/// `config`, `gains_db`, `input` and `output` are borrowed for the call only; `user_data` is
/// passed to `progress` untouched and never freed.
///
/// Thread class: control-thread / worker (allocates; runs on the configured threads).
///
/// # Safety
/// As for `tonecore_equalize_f32`, with doubles.
#[no_mangle]
pub unsafe extern "C" fn tonecore_equalize_f64(
    config: *const tonecore_equalize_config,
    gains_db: *const f64,
    gains_len: usize,
    input: *const f64,
    input_len: usize,
    channels: usize,
    output: *mut f64,
    output_len: usize,
    progress: tonecore_progress_fn,
    user_data: *mut c_void,
) -> tonecore_status {
    equalize_ffi(
        config, gains_db, gains_len, input, input_len, channels, output, output_len, progress,
        user_data,
    )
}
