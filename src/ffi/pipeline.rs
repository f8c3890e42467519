use super::bands::{gains_from, layout_from, mode_from};
use super::format::{
    either, format_from, tonecore_sample_format, Family, FormatAccess, FormatSample, PerFormat,
};
use super::stage::{self, AudioStage, StageFamily, StageObject};
use super::{
    free_object, guard, object_ref, out_param, sized_in, slice_in, tonecore_status, Failure,
};
use crate::cache::CachedSample;
use crate::dsp::level::{LevelMode, LevelSettings};
use crate::dsp::limiter::LimiterSettings;
use crate::dsp::Layout;
use crate::pipeline::{
    EqSettings, Pipeline, PipelineConfig, PipelineParams, Processor, Stage, MAX_STAT_BANDS,
};
use std::mem::{offset_of, size_of};

/// Stages of a pipeline (values of the `int32_t stage` arguments).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tonecore_stage {
    /// The equalizer.
    Eq = 0,
    /// The loudness-aware level matcher.
    Level = 1,
    /// The lookahead limiter.
    Limiter = 2,
}

/// How a `tonecore_pipeline` (EQ → level matcher → limiter) is built. Fill it with
/// `tonecore_pipeline_config_init`. A stage whose `*_enabled` is 0 starts bypassed (its settings
/// still apply when it is enabled later with `tonecore_params_set_bypass`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_pipeline_config {
    /// `sizeof(tonecore_pipeline_config)` as the caller compiled it (set by `_init`).
    pub struct_size: usize,
    /// Sample rate in Hz (1–2822400). Default 44100.
    pub sample_rate: u32,
    /// Channel count, 1–64. Default 2.
    pub channels: u32,
    /// Largest block `_process_*` accepts, frames (1–2^24). Default 4096.
    pub max_block: usize,
    /// EQ FFT size (even, 16–2^24). Default 4096.
    pub fft_size: usize,
    /// Crossfade time of gain changes and bypass toggles, ms (0–10000). Default 20.
    pub ramp_ms: f64,
    /// A `TONECORE_SAMPLE_FORMAT_*` value. Default F32.
    pub sample_format: i32,
    /// Non-zero: the EQ starts enabled. Default 0 (flat, bypassed).
    pub eq_enabled: u32,
    /// A `TONECORE_LAYOUT_*` value. Default CRITICAL.
    pub layout: i32,
    /// A `TONECORE_CURVE_MODE_*` value. Default SMOOTH.
    pub mode: i32,
    /// `CUSTOM` layouts only: ascending band edges in Hz (copied).
    pub edges: *const f64,
    /// Length of `edges`.
    pub edges_len: usize,
    /// Initial EQ gains in dB, one per band (copied), or NULL for 0 dB.
    pub eq_gains_db: *const f64,
    /// Length of `eq_gains_db`.
    pub eq_gains_len: usize,
    /// Non-zero: the level matcher starts enabled. Default 0.
    pub level_enabled: u32,
    /// Target loudness, LUFS (−70…0). Default −14.
    pub target_lufs: f64,
    /// Gain-lowering time constant, ms (0 < t ≤ 60000). Default 300.
    pub attack_ms: f64,
    /// Gain-raising time constant, ms (0 < t ≤ 60000). Default 3000.
    pub release_ms: f64,
    /// Largest boost, dB (0–40). Default 12.
    pub max_boost_db: f64,
    /// Largest cut, dB (0–80). Default 24.
    pub max_cut_db: f64,
    /// Below this loudness the gain is never raised, LUFS (−100…0). Default −50.
    pub gate_lufs: f64,
    /// Loudness window, ms (50–10000). Default 400 (momentary).
    pub window_ms: f64,
    /// Non-zero: the limiter starts enabled. Default 0.
    pub limiter_enabled: u32,
    /// Limiter ceiling, dBTP (dBFS without `limiter_true_peak`), −60…0. Default −1.
    pub ceiling_db: f64,
    /// Limiter lookahead (= attack), ms (0 < t ≤ 100). Default 1.5.
    pub lookahead_ms: f64,
    /// Limiter release time constant, ms (0 < t ≤ 10000). Default 100.
    pub limiter_release_ms: f64,
    /// Non-zero: the limiter detects true peaks (4× oversampled; the ceiling is in dBTP; 32
    /// more frames of latency); 0: sample peaks. Default 1. (Fields from here on were added in
    /// 0.2; a caller built against an older header gets their defaults.)
    pub limiter_true_peak: u32,
    /// A `TONECORE_LEVEL_MODE_*` value. INTEGRATED: one static gain, `track_gain_db`, which the
    /// chunked renderer, `tonecore_normalize_*`, the engine's render jobs and the playback
    /// streams set from the whole track's integrated loudness so the output lands on
    /// `target_lufs` within 0.1 LU (the default); MOMENTARY: the leveller (`attack_ms` …
    /// `window_ms`), for live input whose end is unknown.
    pub level_mode: i32,
    /// INTEGRATED mode: the static gain a pipeline applies, dB (−80…+60). Default 0.
    pub track_gain_db: f64,
    /// A `TONECORE_PHASE_*` value: the EQ kernel's phase. Default LINEAR. (Fields from here on
    /// were added in 0.3.)
    pub phase: i32,
    /// The EQ engine: 0 overlap-save at `fft_size` (latency about fft_size/2; the default), or
    /// the partition of the partitioned engine, a power of two 8–65536 (latency one partition,
    /// plus (taps − 1)/2 for a linear phase). The low-latency mode is `phase = MINIMUM`,
    /// `partition = tonecore_low_latency_partition(max_block)`.
    pub partition: usize,
}

/// How the level stage sets its gain (`tonecore_pipeline_config.level_mode`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum tonecore_level_mode {
    /// One static gain from the whole track's integrated loudness.
    Integrated = 0,
    /// The momentary-loudness leveller, for live input whose end is unknown.
    Momentary = 1,
}

/// The level mode with C value `mode`.
pub(crate) fn level_mode_from(mode: i32) -> Result<LevelMode, Failure> {
    match mode {
        0 => Ok(LevelMode::Integrated),
        1 => Ok(LevelMode::Momentary),
        _ => Err(Failure::detail(
            tonecore_status::InvalidArgument,
            "level_mode is not a TONECORE_LEVEL_MODE_* value",
        )),
    }
}

/// The config's sizes in earlier releases: 0.1 (up to `limiter_release_ms`), 0.2 (up to
/// `track_gain_db`).
const PIPELINE_CONFIG_SIZES: [usize; 2] = [
    offset_of!(tonecore_pipeline_config, limiter_release_ms) + size_of::<f64>(),
    offset_of!(tonecore_pipeline_config, track_gain_db) + size_of::<f64>(),
];

impl Default for tonecore_pipeline_config {
    fn default() -> Self {
        let level = LevelSettings::default();
        let limiter = LimiterSettings::default();
        Self {
            struct_size: size_of::<Self>(),
            sample_rate: 44_100,
            channels: 2,
            max_block: 4096,
            fft_size: 4096,
            ramp_ms: crate::pipeline::equalizer::DEFAULT_RAMP_MS,
            sample_format: tonecore_sample_format::F32 as i32,
            eq_enabled: 0,
            layout: super::tonecore_layout::Critical as i32,
            mode: super::tonecore_curve_mode::Smooth as i32,
            edges: std::ptr::null(),
            edges_len: 0,
            eq_gains_db: std::ptr::null(),
            eq_gains_len: 0,
            level_enabled: 0,
            target_lufs: level.target_lufs,
            attack_ms: level.attack_ms,
            release_ms: level.release_ms,
            max_boost_db: level.max_boost_db,
            max_cut_db: level.max_cut_db,
            gate_lufs: level.gate_lufs,
            window_ms: level.window_ms,
            limiter_enabled: 0,
            ceiling_db: limiter.ceiling_db,
            lookahead_ms: limiter.lookahead_ms,
            limiter_release_ms: limiter.release_ms,
            limiter_true_peak: u32::from(limiter.true_peak),
            level_mode: match level.mode {
                LevelMode::Integrated => tonecore_level_mode::Integrated,
                LevelMode::Momentary => tonecore_level_mode::Momentary,
            } as i32,
            track_gain_db: level.track_gain_db,
            phase: super::tonecore_phase::Linear as i32,
            partition: 0,
        }
    }
}

/// A consistent snapshot of a pipeline's counters, all from the end of one `_process_*` call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct tonecore_pipeline_stats {
    /// Set by the caller to `sizeof(tonecore_pipeline_stats)`; only that many bytes are written.
    pub struct_size: usize,
    /// Frames processed since creation.
    pub frames: u64,
    /// Non-finite (or beyond ±2^20) input samples replaced by zero.
    pub nonfinite: u64,
    /// Largest limiter gain reduction since creation, dB (≤ 0).
    pub limiter_max_reduction_db: f64,
    /// Limiter gain on the last frame, dB.
    pub limiter_gain_db: f64,
    /// Level-matcher gain on the last frame, dB.
    pub level_gain_db: f64,
    /// Level matcher's momentary loudness estimate of the EQ output, LUFS.
    pub loudness_lufs: f64,
    /// Non-zero when the EQ is bypassed.
    pub eq_bypassed: u32,
    /// Non-zero when the level matcher is bypassed.
    pub level_bypassed: u32,
    /// Non-zero when the limiter is bypassed.
    pub limiter_bypassed: u32,
    /// Number of valid entries in `eq_gains_db`.
    pub eq_bands: u32,
    /// Band gains (dB) of the EQ kernel in use (first `eq_bands` entries).
    pub eq_gains_db: [f64; 64],
}

const _: () = assert!(MAX_STAT_BANDS == 64);
const STATS_MIN_SIZE: usize = size_of::<tonecore_pipeline_stats>();

pub(crate) struct PipelineFamily;

impl StageFamily for PipelineFamily {
    fn stage<T: CachedSample>(object: &mut Self::Of<T>) -> &mut impl Processor<T> {
        object
    }
}

impl Family for PipelineFamily {
    type Of<T: CachedSample> = Pipeline<T>;
}

struct ParamsFamily;

impl Family for ParamsFamily {
    type Of<T: CachedSample> = PipelineParams<T>;
}

type AnyParams = PerFormat<ParamsFamily>;

fn clone_params(params: &AnyParams) -> AnyParams {
    match params {
        PerFormat::F32(p) => PerFormat::F32(p.clone()),
        PerFormat::F64(p) => PerFormat::F64(p.clone()),
    }
}

/// An EQ → loudness-aware level matcher → lookahead limiter chain (see `tonecore_pipeline_config`).
/// Its output does not depend on block sizes; its latency (`_latency`) is constant whatever is
/// bypassed. `_process_*` and `_reset` are single-threaded, audio-safe; parameters change through
/// a `tonecore_params` handle from any thread.
pub struct tonecore_pipeline {
    params: AnyParams,
    stage: AudioStage<PipelineFamily>,
}

impl StageObject for tonecore_pipeline {
    type Family = PipelineFamily;
    fn stage(&self) -> &AudioStage<PipelineFamily> {
        &self.stage
    }
}

/// A handle that changes a pipeline's parameters and reads its statistics from any thread, any
/// number of threads at once. Get it with `tonecore_pipeline_params`; free it with
/// `tonecore_params_free` (independently of the pipeline: after the pipeline is freed, setters
/// still succeed but affect nothing, and stats keep the last snapshot).
pub struct tonecore_params {
    inner: AnyParams,
}

/// Reads and checks a C pipeline config: the raw struct, its sample format and the Rust config.
///
/// # Safety
/// `config` NULL or readable for `config->struct_size` bytes with valid pointers.
pub(crate) unsafe fn read_config(
    config: *const tonecore_pipeline_config,
) -> Result<
    (
        tonecore_pipeline_config,
        tonecore_sample_format,
        PipelineConfig,
    ),
    Failure,
> {
    let c = sized_in(
        config,
        &PIPELINE_CONFIG_SIZES,
        "config->struct_size is too small; call tonecore_pipeline_config_init first",
    )?;
    let format = format_from(c.sample_format)?;
    let layout = layout_from(c.layout, c.edges, c.edges_len)?;
    let gains = if c.eq_gains_db.is_null() {
        vec![0.0; layout.bands()]
    } else {
        gains_from(c.eq_gains_db, c.eq_gains_len, layout.bands())?
    };
    let eq = EqSettings {
        gains_db: gains,
        layout,
        mode: mode_from(c.mode)?,
    };
    let level = LevelSettings {
        mode: level_mode_from(c.level_mode)?,
        track_gain_db: c.track_gain_db,
        target_lufs: c.target_lufs,
        attack_ms: c.attack_ms,
        release_ms: c.release_ms,
        max_boost_db: c.max_boost_db,
        max_cut_db: c.max_cut_db,
        gate_lufs: c.gate_lufs,
        window_ms: c.window_ms,
    };
    let limiter = LimiterSettings {
        ceiling_db: c.ceiling_db,
        lookahead_ms: c.lookahead_ms,
        release_ms: c.limiter_release_ms,
        true_peak: c.limiter_true_peak != 0,
    };
    // Disabled stages keep their settings: they apply when the stage is enabled later.
    let config = PipelineConfig {
        eq: Some(eq),
        level: Some(level),
        limiter: Some(limiter),
        fft_size: c.fft_size,
        ramp_ms: c.ramp_ms,
        start_bypassed: [
            c.eq_enabled == 0,
            c.level_enabled == 0,
            c.limiter_enabled == 0,
        ],
        phase: super::equalizer::phase_from(c.phase)?,
        partition: c.partition,
    };
    // Every consumer (pipeline, renderers, normaliser, playback, engine) refuses the same
    // settings, before any of them builds anything.
    config.validate(c.sample_rate, c.channels as usize, c.max_block)?;
    Ok((c, format, config))
}

/// Fills `config_out` with the defaults (44100 Hz, 2 channels, max_block 4096, fft_size 4096,
/// 20 ms ramps, f32; every stage bypassed with its default settings: critical-band flat EQ,
/// −14 LUFS target with 300/3000 ms attack/release, −1 dBFS ceiling with 5 ms lookahead and
/// 100 ms release) and the current `struct_size`.
///
/// Returns `NULL_POINTER`. Thread class: any-thread.
///
/// `config_out` is borrowed for the call only.
///
/// # Safety
/// `config_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_pipeline_config_init(
    config_out: *mut tonecore_pipeline_config,
) -> tonecore_status {
    guard(|| {
        out_param(config_out)?.write(tonecore_pipeline_config::default());
        Ok(())
    })
}

fn build<T: CachedSample>(
    c: &tonecore_pipeline_config,
    config: &PipelineConfig,
) -> Result<(Pipeline<T>, PipelineParams<T>), Failure> {
    let p = Pipeline::<T>::new(c.sample_rate, c.channels as usize, c.max_block, config)?;
    let params = p.params();
    Ok((p, params))
}

/// Creates a pipeline in `*pipeline_out` (written only on success); the caller owns it and frees
/// it with `tonecore_pipeline_free`. The config and the arrays it points to are copied.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_SAMPLE_RATE`, `INVALID_CHANNELS`,
/// `INVALID_ARGUMENT`, `INVALID_FFT_SIZE`, `INVALID_PARTITION`, `INVALID_BANDS`, `GAIN_COUNT`,
/// `NON_FINITE`, `INVALID_TARGET` (target, boost, cut or gate out of range), `INVALID_TIME`,
/// `INVALID_CEILING`. Thread class: control-thread (allocates).
///
/// # Safety
/// `config` readable for `config->struct_size` bytes with valid pointers; `pipeline_out`
/// writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_pipeline_new(
    config: *const tonecore_pipeline_config,
    pipeline_out: *mut *mut tonecore_pipeline,
) -> tonecore_status {
    guard(|| {
        let out = out_param(pipeline_out)?;
        let (c, format, config) = read_config(config)?;
        let (audio, params) = match format {
            tonecore_sample_format::F32 => {
                let (p, params) = build::<f32>(&c, &config)?;
                (PerFormat::F32(p), PerFormat::F32(params))
            }
            tonecore_sample_format::F64 => {
                let (p, params) = build::<f64>(&c, &config)?;
                (PerFormat::F64(p), PerFormat::F64(params))
            }
        };
        let pipeline = Box::new(tonecore_pipeline {
            params,
            stage: AudioStage::new(audio),
        });
        out.write(Box::into_raw(pipeline));
        Ok(())
    })
}

/// Frees a pipeline; NULL is a no-op. `tonecore_params` handles stay valid (and inert): each is
/// freed on its own with `tonecore_params_free`.
///
/// Thread class: control-thread (frees); no other call on this pipeline may be running or follow.
///
/// # Safety
/// `pipeline` NULL or live; no call on it may be running or follow.
#[no_mangle]
pub unsafe extern "C" fn tonecore_pipeline_free(pipeline: *mut tonecore_pipeline) {
    free_object(pipeline);
}

/// Writes the pipeline's constant latency in frames (EQ + limiter lookahead) to `*frames_out`.
///
/// Returns `NULL_POINTER`. Thread class: any-thread, audio-safe.
///
/// `pipeline` and `frames_out` are borrowed for the call only.
///
/// # Safety
/// `pipeline` live; `frames_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_pipeline_latency(
    pipeline: *const tonecore_pipeline,
    frames_out: *mut usize,
) -> tonecore_status {
    stage::latency(pipeline, frames_out)
}

/// Clears all signal state; keeps parameters and applies them at once (no ramps).
///
/// Returns `NULL_POINTER`, `CONCURRENT_USE`, `POISONED`, `PANIC`. Thread class: audio-safe.
///
/// `pipeline` is borrowed for the call only.
///
/// # Safety
/// `pipeline` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_pipeline_reset(
    pipeline: *mut tonecore_pipeline,
) -> tonecore_status {
    stage::reset(pipeline)
}

/// Creates a parameter handle for `pipeline` in `*params_out` (written only on success); the
/// caller owns it and frees it with `tonecore_params_free`, before or after the pipeline.
///
/// Returns `NULL_POINTER`. Thread class: any-thread (allocates a small handle).
///
/// # Safety
/// `pipeline` live; `params_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_pipeline_params(
    pipeline: *const tonecore_pipeline,
    params_out: *mut *mut tonecore_params,
) -> tonecore_status {
    guard(|| {
        let p = object_ref(pipeline)?;
        let out = out_param(params_out)?;
        out.write(Box::into_raw(Box::new(tonecore_params {
            inner: clone_params(&p.params),
        })));
        Ok(())
    })
}

/// Processes one planar block (`channels` rows of `input_len / channels` frames, up to
/// `max_block`) into `output` (`output_len ≥ input_len`). Non-finite samples (and finite ones
/// beyond ±2^20, +120 dBFS) are replaced by zero and counted; the output never exceeds the
/// ceiling while the limiter is enabled.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `BLOCK_TOO_LARGE`, `BUFFER_TOO_SMALL`,
/// `BUFFERS_OVERLAP`, `WRONG_FORMAT`, `CONCURRENT_USE`, `POISONED`, `PANIC`; nothing is written on
/// error and no detail message is set. `input` and `output` are borrowed for the call only.
/// Thread class: audio-safe (no allocation, lock or free).
///
/// # Safety
/// `input`/`output` valid for their lengths, not overlapping; `pipeline` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_pipeline_process_f32(
    pipeline: *mut tonecore_pipeline,
    input: *const f32,
    input_len: usize,
    output: *mut f32,
    output_len: usize,
) -> tonecore_status {
    stage::process(
        pipeline,
        input,
        input_len,
        output,
        output_len,
        Layout::Planar,
    )
}

/// Double-precision [`tonecore_pipeline_process_f32`]; the pipeline must have been created with
/// `TONECORE_SAMPLE_FORMAT_F64`.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `BLOCK_TOO_LARGE`, `BUFFER_TOO_SMALL`,
/// `BUFFERS_OVERLAP`, `WRONG_FORMAT`, `CONCURRENT_USE`, `POISONED`, `PANIC`; nothing is written on
/// error and no detail message is set. `input` and `output` are borrowed for the call only.
/// Thread class: audio-safe (no allocation, lock or free).
///
/// # Safety
/// As for `tonecore_pipeline_process_f32`, with doubles: `input`/`output` valid for their
/// lengths, not overlapping; `pipeline` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_pipeline_process_f64(
    pipeline: *mut tonecore_pipeline,
    input: *const f64,
    input_len: usize,
    output: *mut f64,
    output_len: usize,
) -> tonecore_status {
    stage::process(
        pipeline,
        input,
        input_len,
        output,
        output_len,
        Layout::Planar,
    )
}

/// [`tonecore_pipeline_process_f32`] for interleaved frames (`c0 c1 … c0 c1 …`).
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `BLOCK_TOO_LARGE`, `BUFFER_TOO_SMALL`,
/// `BUFFERS_OVERLAP`, `WRONG_FORMAT`, `CONCURRENT_USE`, `POISONED`, `PANIC`; nothing is written on
/// error and no detail message is set. `input` and `output` are borrowed for the call only.
/// Thread class: audio-safe (no allocation, lock or free).
///
/// # Safety
/// As for `tonecore_pipeline_process_f32`: `input`/`output` valid for their lengths, not
/// overlapping; `pipeline` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_pipeline_process_interleaved_f32(
    pipeline: *mut tonecore_pipeline,
    input: *const f32,
    input_len: usize,
    output: *mut f32,
    output_len: usize,
) -> tonecore_status {
    stage::process(
        pipeline,
        input,
        input_len,
        output,
        output_len,
        Layout::Interleaved,
    )
}

/// [`tonecore_pipeline_process_f64`] for interleaved frames.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `BLOCK_TOO_LARGE`, `BUFFER_TOO_SMALL`,
/// `BUFFERS_OVERLAP`, `WRONG_FORMAT`, `CONCURRENT_USE`, `POISONED`, `PANIC`; nothing is written on
/// error and no detail message is set. `input` and `output` are borrowed for the call only.
/// Thread class: audio-safe (no allocation, lock or free).
///
/// # Safety
/// As for `tonecore_pipeline_process_f64`: `input`/`output` valid for their lengths, not
/// overlapping; `pipeline` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_pipeline_process_interleaved_f64(
    pipeline: *mut tonecore_pipeline,
    input: *const f64,
    input_len: usize,
    output: *mut f64,
    output_len: usize,
) -> tonecore_status {
    stage::process(
        pipeline,
        input,
        input_len,
        output,
        output_len,
        Layout::Interleaved,
    )
}

/// Frees a parameter handle; NULL is a no-op. The pipeline is not affected.
///
/// Thread class: control-thread (frees); no other call on this handle may be running or follow.
///
/// # Safety
/// `params` NULL or live; no call on it may be running or follow.
#[no_mangle]
pub unsafe extern "C" fn tonecore_params_free(params: *mut tonecore_params) {
    free_object(params);
}

/// Sets the EQ band gains (dB, one per band, clamped to ±24 dB); the kernel is designed on the
/// calling thread and crossfaded in on the audio side.
///
/// Returns `NULL_POINTER`, `GAIN_COUNT`, `NON_FINITE`; on error the gains stay as they were.
/// `gains_db` is copied. Thread class: any-thread (control path).
///
/// # Safety
/// `gains_db` readable for `gains_len`; `params` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_params_set_eq_gains(
    params: *const tonecore_params,
    gains_db: *const f64,
    gains_len: usize,
) -> tonecore_status {
    guard(|| {
        let p = object_ref(params)?;
        let gains = slice_in(gains_db, gains_len)?;
        either!(&p.inner, p => p.set_eq_gains(gains)?);
        Ok(())
    })
}

/// Matches the pipeline live to `reference` (copied): from now on its `_process_*` calls keep
/// a running sixth-octave profile of the input (allocation-free), and
/// `tonecore_params_update_match` moves the EQ towards the match of it. Also sets the level
/// target (the reference's integrated loudness unless `config->target_lufs` is given) and the
/// limiter ceiling. The pipeline's EQ must be on `TONECORE_LAYOUT_SIXTH_OCTAVE`
/// (`tonecore_match_live_pipeline_config` fills such a config). `config` may be NULL (the
/// defaults of `tonecore_live_match_config_init`). Enabling again replaces the reference.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_ARGUMENT` (settings out of range, or the EQ
/// not on the sixth-octave grid), `INVALID_TARGET`, `INVALID_CEILING`, `CONCURRENT_USE` (a
/// `_process_*` call is running), `POISONED`. Thread class: control-thread (allocates); never
/// concurrently with `_process_*` on this pipeline.
///
/// `pipeline`, `reference` and `config` are borrowed for the call only.
///
/// # Safety
/// `pipeline` and `reference` live; `config` NULL or readable for its `struct_size`.
#[no_mangle]
pub unsafe extern "C" fn tonecore_pipeline_live_match(
    pipeline: *mut tonecore_pipeline,
    reference: *const super::matching::tonecore_profile,
    config: *const super::matching::tonecore_live_match_config,
) -> tonecore_status {
    guard(|| {
        let p = object_ref(pipeline)?;
        let reference = &object_ref(reference)?.profile;
        let settings = super::matching::read_live_match(config)?;
        p.stage.audio().with(|a| {
            either!(a, p => p.enable_live_match(reference, &settings)?);
            Ok(())
        })
    })
}

/// Moves the EQ of a live-matched pipeline (`tonecore_pipeline_live_match`) one step towards
/// the match of its running profile and writes where the match stands to `*state_out` (may be
/// NULL; its `struct_size` set). Call it every 0.25–1 s from a control thread: each step is
/// limited by the audio analysed since the last call (`max_slew_db_per_s`), not by how often
/// it is called; each change is crossfaded on the audio side like any gain change.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`, `INVALID_ARGUMENT` (live matching not enabled).
/// Thread class: any-thread (control path: designs a kernel when the gains move).
///
/// `params` and `state_out` are borrowed for the call only.
///
/// # Safety
/// `params` live; `state_out` NULL or writable for its `struct_size`.
#[no_mangle]
pub unsafe extern "C" fn tonecore_params_update_match(
    params: *const tonecore_params,
    state_out: *mut super::matching::tonecore_live_match_state,
) -> tonecore_status {
    guard(|| {
        use super::matching::tonecore_live_match_state as State;
        let p = object_ref(params)?;
        if !state_out.is_null() && state_out.cast::<usize>().read_unaligned() < size_of::<State>() {
            return Err(Failure::detail(
                tonecore_status::StructSize,
                "state_out->struct_size must be sizeof(tonecore_live_match_state)",
            ));
        }
        let state = either!(&p.inner, p => p.update_match()?);
        if !state_out.is_null() {
            state_out.write(State::of(&state));
        }
        Ok(())
    })
}

/// Sets the level target in LUFS (−70…0).
///
/// Returns `NULL_POINTER`, `INVALID_TARGET`. Thread class: any-thread, wait-free.
///
/// # Safety
/// `params` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_params_set_level_target(
    params: *const tonecore_params,
    target_lufs: f64,
) -> tonecore_status {
    guard(|| {
        let p = object_ref(params)?;
        either!(&p.inner, p => p.set_level_target(target_lufs)?);
        Ok(())
    })
}

unsafe fn reference_ffi<T: FormatSample>(
    params: *const tonecore_params,
    reference: *const T,
    reference_len: usize,
    channels: usize,
    lufs_out: *mut f64,
) -> tonecore_status {
    guard(|| {
        let p = object_ref(params)?;
        let out = out_param(lufs_out)?;
        let x = slice_in(reference, reference_len)?;
        let lufs = p.inner.of_ref::<T>()?.set_level_reference(x, channels)?;
        out.write(lufs);
        Ok(())
    })
}

/// Measures a planar reference (`channels` rows, the pipeline's sample rate) and makes its
/// integrated loudness the level target; `*lufs_out` receives it. `reference` is borrowed for the
/// call only.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `INVALID_LENGTH`, `NON_FINITE`, `INVALID_TARGET`
/// (silent or too short a reference, or outside −70…0 LUFS), `INVALID_SAMPLE_RATE` (the
/// pipeline's rate is outside the loudness meter's 8000–2822400 Hz), `WRONG_FORMAT`.
/// Thread class: any-thread (control path).
///
/// # Safety
/// `reference` readable for `reference_len`; `params` live; `lufs_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_params_set_level_reference_f32(
    params: *const tonecore_params,
    reference: *const f32,
    reference_len: usize,
    channels: usize,
    lufs_out: *mut f64,
) -> tonecore_status {
    reference_ffi(params, reference, reference_len, channels, lufs_out)
}

/// Double-precision [`tonecore_params_set_level_reference_f32`]: `reference` holds doubles; the
/// pipeline must have been created with `TONECORE_SAMPLE_FORMAT_F64`. `reference` is borrowed for
/// the call only.
///
/// Returns `NULL_POINTER`, `INVALID_CHANNELS`, `INVALID_LENGTH`, `NON_FINITE`, `INVALID_TARGET`,
/// `INVALID_SAMPLE_RATE`, `WRONG_FORMAT`. Thread class: any-thread (control path).
///
/// # Safety
/// As for `tonecore_params_set_level_reference_f32`, with doubles: `reference` readable for
/// `reference_len`; `params` live; `lufs_out` writable.
#[no_mangle]
pub unsafe extern "C" fn tonecore_params_set_level_reference_f64(
    params: *const tonecore_params,
    reference: *const f64,
    reference_len: usize,
    channels: usize,
    lufs_out: *mut f64,
) -> tonecore_status {
    reference_ffi(params, reference, reference_len, channels, lufs_out)
}

/// Sets the limiter ceiling in dBFS (−60…0).
///
/// Returns `NULL_POINTER`, `INVALID_CEILING`. Thread class: any-thread, wait-free.
///
/// # Safety
/// `params` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_params_set_ceiling_db(
    params: *const tonecore_params,
    ceiling_db: f64,
) -> tonecore_status {
    guard(|| {
        let p = object_ref(params)?;
        either!(&p.inner, p => p.set_ceiling_db(ceiling_db)?);
        Ok(())
    })
}

/// Bypasses (`bypassed` ≠ 0) or enables a stage (`TONECORE_STAGE_*`); crossfaded over the ramp.
///
/// Returns `NULL_POINTER`, `INVALID_ARGUMENT` (unknown stage). Thread class: any-thread
/// (wait-free for LEVEL and LIMITER; EQ designs a kernel).
///
/// # Safety
/// `params` live.
#[no_mangle]
pub unsafe extern "C" fn tonecore_params_set_bypass(
    params: *const tonecore_params,
    stage: i32,
    bypassed: u32,
) -> tonecore_status {
    guard(|| {
        let p = object_ref(params)?;
        let stage = Stage::from_index(stage).ok_or_else(|| {
            Failure::detail(
                tonecore_status::InvalidArgument,
                "stage is not a TONECORE_STAGE_* value",
            )
        })?;
        either!(&p.inner, p => p.set_bypass(stage, bypassed != 0));
        Ok(())
    })
}

/// Writes one consistent statistics snapshot to `*stats_out`. The caller sets
/// `stats_out->struct_size = sizeof(tonecore_pipeline_stats)` first.
///
/// Returns `NULL_POINTER`, `STRUCT_SIZE`. Thread class: any-thread, lock-free.
///
/// # Safety
/// `params` live; `stats_out` writable for `stats_out->struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn tonecore_params_stats(
    params: *const tonecore_params,
    stats_out: *mut tonecore_pipeline_stats,
) -> tonecore_status {
    guard(|| {
        let p = object_ref(params)?;
        let out = out_param(stats_out)?;
        if out.cast::<usize>().read_unaligned() < STATS_MIN_SIZE {
            return Err(tonecore_status::StructSize.into());
        }
        let s = either!(&p.inner, p => p.stats());
        let mut gains = [0.0; 64];
        gains[..s.eq_gains_db.len()].copy_from_slice(&s.eq_gains_db);
        out.write(tonecore_pipeline_stats {
            struct_size: STATS_MIN_SIZE,
            frames: s.frames,
            nonfinite: s.nonfinite,
            limiter_max_reduction_db: s.limiter_max_reduction_db,
            limiter_gain_db: s.limiter_gain_db,
            level_gain_db: s.level_gain_db,
            loudness_lufs: s.loudness_lufs,
            eq_bypassed: s.bypassed[0] as u32,
            level_bypassed: s.bypassed[1] as u32,
            limiter_bypassed: s.bypassed[2] as u32,
            eq_bands: s.eq_gains_db.len() as u32,
            eq_gains_db: gains,
        });
        Ok(())
    })
}
