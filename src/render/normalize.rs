//! Integrated-loudness normalisation of a whole signal: the offline path behind
//! [`LevelMode::Integrated`](crate::dsp::level::LevelMode::Integrated).
//!
//! 1. The EQ alone is rendered chunk-parallel (linear and time-invariant, so chunking is
//!    invisible) into the output buffer; its integrated loudness (BS.1770, gated) is what
//!    reaches the gain stage.
//! 2. The true-peak detector's envelope of that signal is computed once, on the render threads
//!    ([`peak_envelope`]); the detector is linear, so each pass scales it by its gain.
//! 3. One static gain `target − loudness` is applied and the true-peak limiter runs over the whole
//!    signal in one pass (no seams), measuring the result block by block.
//! 4. When the limiter took loudness off, the gain is corrected (a first step that assumes
//!    0.5 LU per dB, then secant steps, interpolating once the target is bracketed) and step 3
//!    repeats, until the result is within [`AIM_LU`] of the target (at most [`MAX_PASSES`]
//!    passes; music typically needs three). Each pass costs one run of the limiter's gain
//!    computer and one K-weighting of the result. With an EQ the passes only measure, and one
//!    more pass at the chosen gain writes the output over the EQ'd signal.
//!
//! What happened is reported ([`NormalizeReport`]), including when the target was not reached
//! and why: nothing silently does something else than asked.

use super::chunked::{render_chunked_on, RenderConfig, Watch};
use crate::cache::CachedSample;
use crate::dsp::limiter::{
    peak_envelope, GainStats, Limiter, LimiterSettings, TRUE_PEAK_MARGIN_DB,
};
use crate::dsp::loudness::{integrated, measure, LoudnessReport, StepEnergies};
use crate::dsp::truepeak::TruePeakMeter;
use crate::dsp::Layout;
use crate::pipeline::PipelineConfig;
use crate::workers::Workers;
use crate::{Error, ProcessError};
use std::sync::atomic::Ordering;

/// How close a pass must land to the target to stop, LU (the promise is ±0.1 LU; the margin
/// covers meters that read a few hundredths differently, such as pyloudnorm's 0.045 LU low).
pub const AIM_LU: f64 = 0.03;
/// The tolerance reported as reached, LU.
pub const TOLERANCE_LU: f64 = 0.1;
/// Most limiter passes.
pub const MAX_PASSES: u32 = 6;
/// Largest static gain applied, dB (a boost beyond it is noise, not music; reported).
pub const MAX_GAIN_DB: f64 = 60.0;
/// Most gain added beyond `target − loudness` to make up what the limiter takes, dB (a quiet,
/// dynamic track pushed to −9 LUFS under −1 dBTP needs about 12).
pub const MAX_PUSH_DB: f64 = 24.0;

/// How a normalisation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormalizeOutcome {
    /// The output is within [`TOLERANCE_LU`] of the target, under the ceiling.
    Reached = 0,
    /// The signal is silent (below BS.1770's −70 LUFS absolute gate, or too short for one
    /// 400 ms block): no gain was applied.
    Silent = 1,
    /// Reaching the target needs more than ±[`MAX_GAIN_DB`]; that gain was applied.
    GainLimit = 2,
    /// The limiter cannot give the target under this ceiling: [`MAX_PASSES`] passes, or a gain
    /// [`MAX_PUSH_DB`] above the static one, ended further than [`TOLERANCE_LU`] away (the
    /// closest pass is kept).
    NotReached = 3,
}

impl NormalizeOutcome {
    /// One line on what happened.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Reached => "target reached",
            Self::Silent => "silent input: no gain applied",
            Self::GainLimit => "the gain needed exceeds 60 dB: stopped at the limit",
            Self::NotReached => "the ceiling does not allow the target: the closest pass is kept",
        }
    }
}

/// What a normalisation did. Loudness in LUFS, peaks in dBTP, gains in dB; `-inf` for silence.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormalizeReport {
    /// The target asked for.
    pub target_lufs: f64,
    /// The limiter's ceiling (dBTP, or dBFS for a sample-peak limiter); `None` without limiter.
    pub ceiling_db: Option<f64>,
    /// Integrated loudness of the input.
    pub input_lufs: f64,
    /// True peak of the input.
    pub input_true_peak_db: f64,
    /// The input's full measurement (the two values above come from it), so a caller that
    /// reports the input need not measure it again.
    pub input_loudness: LoudnessReport,
    /// Integrated loudness after the EQ, before the gain (what the gain was computed from).
    pub eq_lufs: f64,
    /// The static gain applied.
    pub gain_db: f64,
    /// Integrated loudness of the output.
    pub output_lufs: f64,
    /// True peak of the output.
    pub output_true_peak_db: f64,
    /// The limiter's largest gain reduction (≤ 0).
    pub limiter_max_reduction_db: f64,
    /// The limiter's gain reduction averaged over the whole signal (≤ 0).
    pub limiter_mean_reduction_db: f64,
    /// Share of frames the limiter turned down, 0–1.
    pub limited_fraction: f64,
    /// Limiter passes run.
    pub passes: u32,
    /// How it ended.
    pub outcome: NormalizeOutcome,
}

fn db(linear: f64) -> f64 {
    if linear > 0.0 {
        20.0 * linear.log10()
    } else {
        f64::NEG_INFINITY
    }
}

/// The true peak of planar `x` (max over channels), dB.
fn true_peak_db<T: CachedSample>(x: &[T], channels: usize) -> f64 {
    let frames = x.len() / channels.max(1);
    let mut meter = TruePeakMeter::<T>::new(channels);
    for c in 0..channels {
        meter.add(c, &x[c * frames..(c + 1) * frames]);
    }
    db(meter.peaks().iter().fold(0.0f64, |m, &p| m.max(p)))
}

/// Frames per limiter block of a pass.
const PASS_BLOCK: usize = 1 << 15;

/// The limiter of the passes: its settings and, in true-peak mode, the detector's envelope of
/// the signal before the gain (computed once; each pass scales it).
struct PassLimiter<'a> {
    settings: &'a LimiterSettings,
    envelope: Option<Vec<f32>>,
}

/// One pass: `limiter(gain · y)`, the limiter's latency removed, written to `output` when
/// `store`. `y` is `None` when the signal is in `output` itself (an EQ rendered there): a pass
/// that stores then overwrites it as it goes, each block read before the frames it writes,
/// which lag by the latency. Returns the gain statistics and the integrated loudness of the
/// result (measured block by block).
#[allow(clippy::too_many_arguments)]
fn limit_pass<T: CachedSample>(
    y: Option<&[T]>,
    channels: usize,
    sample_rate: u32,
    gain_db: f64,
    limiter: Option<&PassLimiter<'_>>,
    output: &mut [T],
    store: bool,
    cancelled: &dyn Fn() -> bool,
) -> Result<(GainStats, f64), Error> {
    let frames = output.len() / channels;
    let linear = 10f64.powf(gain_db / 20.0);
    let g = T::of_f64(linear);
    let mut loudness = StepEnergies::new(channels, sample_rate);
    let Some(pass) = limiter else {
        if store {
            match y {
                Some(y) => output.iter_mut().zip(y).for_each(|(o, &v)| *o = v * g),
                None => output.iter_mut().for_each(|o| *o = *o * g),
            }
            loudness.add(output, |_| {});
        } else {
            // Measured a block at a time, nothing written.
            let signal = y.unwrap_or(output);
            let mut block = Vec::new();
            for pos in (0..frames).step_by(PASS_BLOCK) {
                let n = PASS_BLOCK.min(frames - pos);
                block.clear();
                for c in 0..channels {
                    block.extend(
                        signal[c * frames + pos..c * frames + pos + n]
                            .iter()
                            .map(|&v| v * g),
                    );
                }
                loudness.add(&block, |_| {});
            }
        }
        return Ok((GainStats::default(), loudness.integrated()));
    };
    let mut lim = match pass.envelope {
        Some(_) => Limiter::<T>::with_given_peaks(channels, sample_rate, pass.settings, 1)?,
        None => Limiter::<T>::new(channels, sample_rate, pass.settings, 1)?,
    };
    // The envelope is of `y`; the limiter sees `g · y`, rounded: read its peaks a hair high.
    let scale = g.as_f64() * (1.0 + 1e-6);
    let lat = lim.latency();
    let total = frames + lat;
    let mut block = vec![T::zero(); channels * PASS_BLOCK.min(total)];
    let mut pos = 0;
    while pos < total {
        if cancelled() {
            return Err(ProcessError::Cancelled.into());
        }
        let n = PASS_BLOCK.min(total - pos);
        let b = &mut block[..channels * n];
        for c in 0..channels {
            let row = &mut b[c * n..(c + 1) * n];
            let have = frames.saturating_sub(pos).min(n);
            let source = &y.unwrap_or(output)[c * frames + pos..c * frames + pos + have];
            for (d, &v) in row[..have].iter_mut().zip(source) {
                *d = v * g;
            }
            row[have..].fill(T::zero());
        }
        match &pass.envelope {
            Some(e) => lim.process_span_with_peaks(b, n, 0, n, &e[pos..], scale),
            None => lim.process_block(b, Layout::Planar),
        }
        // Block frame i is output frame pos + i − lat.
        let skip = lat.saturating_sub(pos).min(n);
        let first = pos + skip - lat;
        let count = n - skip;
        if store {
            for c in 0..channels {
                output[c * frames + first..c * frames + first + count]
                    .copy_from_slice(&b[c * n + skip..c * n + skip + count]);
            }
        }
        let planes: Vec<&[T]> = (0..channels)
            .map(|c| &b[c * n + skip..c * n + skip + count])
            .collect();
        loudness.add_planes(&planes, |_| {});
        pos += n;
    }
    Ok((lim.take_stats(), loudness.integrated()))
}

/// A pass of the search: (gain, output loudness).
type Pass = (f64, f64);

/// Ends the search on the closest pass `(gain, loudness)`: reports `NotReached` when it is
/// outside [`TOLERANCE_LU`], and returns its gain when the output holds another pass (render it
/// again), `None` when the output is that pass.
fn settle_on_best(
    best: (f64, f64),
    gain: f64,
    target_lufs: f64,
    report: &mut NormalizeReport,
) -> Option<f64> {
    if (target_lufs - best.1).abs() > TOLERANCE_LU {
        report.outcome = NormalizeOutcome::NotReached;
    }
    (best.0 != gain).then_some(best.0)
}

/// Normalises planar `input` (`channels × frames`) into `output[.. input.len()]`: the EQ of
/// `pipeline` (if any), one static gain to `target_lufs`, then `pipeline`'s limiter (if any; its
/// ceiling is kept under). The level settings of `pipeline` are ignored (the target is given).
/// The EQ renders on `workers`; the limiter passes on the caller's thread.
///
/// # Errors
/// [`ConfigError::InvalidTarget`](crate::ConfigError::InvalidTarget); invalid pipeline settings, sample rate (the meter needs
/// 8 kHz–2.8224 MHz) or channel count; input not a whole number of frames, non-finite samples
/// ([`ProcessError::NonFinite`]: the measurement refuses them), output too small; cancellation.
/// The output is unspecified after an error.
#[allow(clippy::too_many_arguments)]
pub fn normalize_on<T: CachedSample>(
    input: &[T],
    channels: usize,
    sample_rate: u32,
    target_lufs: f64,
    pipeline: &PipelineConfig,
    render: &RenderConfig,
    output: &mut [T],
    watch: Watch<'_>,
    workers: &Workers,
) -> Result<NormalizeReport, Error> {
    crate::dsp::level::check_target(target_lufs)?;
    super::chunked::check_buffers(input.len(), channels, output.len())?;
    // Every setting is checked, also those a flat EQ would never use.
    super::chunked::check_settings(sample_rate, channels, pipeline, render)?;
    let output = &mut output[..input.len()];
    let frames = input.len() / channels;
    let cancel = watch.cancel;
    let cancelled = || cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    let limiter = pipeline
        .limiter
        .filter(|_| !pipeline.start_bypassed[crate::pipeline::Stage::Limiter as usize]);
    if let Some(l) = &limiter {
        l.validate()?;
    }
    let input_loudness = workers.install(|| measure(input, channels, sample_rate))?;
    let (input_lufs, input_true_peak_db) = (input_loudness.integrated, input_loudness.true_peak);
    // The EQ alone (flat or bypassed: the input itself).
    let eq_active = pipeline
        .eq
        .as_ref()
        .is_some_and(|e| e.gains_db.iter().any(|&g| g != 0.0))
        && !pipeline.start_bypassed[crate::pipeline::Stage::Eq as usize];
    // With an EQ, its output goes to `output` (no third track-sized buffer): the passes read
    // it there without storing, and one last pass at the chosen gain overwrites it.
    if eq_active {
        let eq_only = PipelineConfig {
            level: None,
            limiter: None,
            ..pipeline.clone()
        };
        render_chunked_on(
            input,
            channels,
            sample_rate,
            &eq_only,
            render,
            output,
            watch,
            workers,
            None,
        )?;
    }
    let y: Option<&[T]> = (!eq_active).then_some(input);
    let eq_lufs = if eq_active {
        integrated(&*output, channels, sample_rate)?
    } else {
        input_lufs
    };
    let mut report = NormalizeReport {
        target_lufs,
        ceiling_db: limiter.map(|l| l.ceiling_db),
        input_lufs,
        input_true_peak_db,
        input_loudness,
        eq_lufs,
        gain_db: 0.0,
        output_lufs: eq_lufs,
        output_true_peak_db: f64::NEG_INFINITY,
        limiter_max_reduction_db: 0.0,
        limiter_mean_reduction_db: 0.0,
        limited_fraction: 0.0,
        passes: 0,
        outcome: NormalizeOutcome::Reached,
    };
    let mut gain = if eq_lufs.is_finite() {
        target_lufs - eq_lufs
    } else {
        report.outcome = NormalizeOutcome::Silent;
        0.0
    };
    if gain.abs() > MAX_GAIN_DB {
        gain = gain.clamp(-MAX_GAIN_DB, MAX_GAIN_DB);
        report.outcome = NormalizeOutcome::GainLimit;
    }
    let initial = gain;
    // Pushing more than MAX_PUSH_DB into the limiter beyond the static gain only trades
    // distortion for loudness the ceiling does not allow: the search stops there.
    let cap = (initial + MAX_PUSH_DB).min(MAX_GAIN_DB);
    let pass = match limiter.as_ref() {
        None => None,
        Some(settings) => Some(PassLimiter {
            settings,
            // True peak: the detector's envelope of `y`, once, refined wherever a gain up to the
            // cap can bring a point to the target.
            envelope: match settings.true_peak {
                true => {
                    let target_db = settings.ceiling_db - TRUE_PEAK_MARGIN_DB - cap - 0.01;
                    let len = frames + crate::dsp::limiter::latency_frames(settings, sample_rate);
                    let mut envelope = crate::memory::try_filled(0.0f32, len)?;
                    let signal: &[T] = y.unwrap_or(output);
                    workers.install(|| {
                        let refine_above = 10f64.powf(target_db / 20.0) / 1.2;
                        peak_envelope(signal, channels, &mut envelope, refine_above);
                    });
                    Some(envelope)
                }
                false => None,
            },
        }),
    };
    // The previous pass, the closest below and above the target, and the best so far.
    let mut previous: Option<Pass> = None;
    let (mut below, mut above): (Option<Pass>, Option<Pass>) = (None, None);
    let mut best: Option<Pass> = None;
    loop {
        let (stats, lufs) = limit_pass(
            y,
            channels,
            sample_rate,
            gain,
            pass.as_ref(),
            output,
            y.is_some(),
            &cancelled,
        )?;
        report.passes += 1;
        report.gain_db = gain;
        report.output_lufs = lufs;
        report.limiter_max_reduction_db = stats.max_reduction_db();
        report.limiter_mean_reduction_db = stats.mean_reduction_db();
        report.limited_fraction = if stats.frames > 0 {
            stats.limited_frames as f64 / stats.frames as f64
        } else {
            0.0
        };
        if report.outcome != NormalizeOutcome::Reached || !lufs.is_finite() {
            break;
        }
        let error = target_lufs - lufs;
        if !best.is_some_and(|(_, b)| (target_lufs - b).abs() <= error.abs()) {
            best = Some((gain, lufs));
        }
        if error.abs() <= AIM_LU {
            break;
        }
        if report.passes >= MAX_PASSES {
            match settle_on_best(best.unwrap_or((gain, lufs)), gain, target_lufs, &mut report) {
                Some(g) => {
                    gain = g;
                    continue;
                }
                None => break,
            }
        }
        // The closest passes below and above the target.
        if lufs < target_lufs && !below.is_some_and(|(_, l)| l >= lufs) {
            below = Some((gain, lufs));
        }
        if lufs > target_lufs && !above.is_some_and(|(_, l)| l <= lufs) {
            above = Some((gain, lufs));
        }
        let next = match (below, above) {
            // Bracketed: interpolate between the two.
            (Some((g0, l0)), Some((g1, l1))) => g0 + (target_lufs - l0) * (g1 - g0) / (l1 - l0),
            _ => {
                // The loudness rises at most dB for dB with the gain (the limiter only takes
                // away): a secant step on the last two passes, its slope kept within (0.05, 1].
                // The first step guesses: a shortfall of more than half a LU means the limiter
                // works hard, where a dB of gain has given 0.4–0.55 LU on music (measured), so
                // 0.5; less, 1. Overshooting costs nothing: the next step interpolates.
                let slope = match previous {
                    Some((g0, l0)) if (gain - g0).abs() > 1e-9 => {
                        ((lufs - l0) / (gain - g0)).clamp(0.05, 1.0)
                    }
                    _ if error > 0.5 => 0.5,
                    _ => 1.0,
                };
                gain + error / slope
            }
        }
        .min(cap);
        previous = Some((gain, lufs));
        if next <= gain && error > 0.0 {
            match settle_on_best(best.unwrap_or((gain, lufs)), gain, target_lufs, &mut report) {
                Some(g) => {
                    gain = g;
                    continue;
                }
                None => break,
            }
        }
        gain = next;
    }
    if y.is_none() {
        // The EQ'd signal is in `output`: the pass at the reported gain, stored this time (it
        // repeats the measured pass exactly).
        limit_pass(
            None,
            channels,
            sample_rate,
            report.gain_db,
            pass.as_ref(),
            output,
            true,
            &cancelled,
        )?;
    }
    report.output_true_peak_db = true_peak_db(output, channels);
    Ok(report)
}

/// [`normalize_on`] with the render threads of `render.threads` (0 = all cores).
///
/// # Errors
/// As [`normalize_on`]; an invalid thread count.
#[allow(clippy::too_many_arguments)]
pub fn normalize<T: CachedSample>(
    input: &[T],
    channels: usize,
    sample_rate: u32,
    target_lufs: f64,
    pipeline: &PipelineConfig,
    render: &RenderConfig,
    output: &mut [T],
    watch: Watch<'_>,
) -> Result<NormalizeReport, Error> {
    let workers = Workers::from_count(render.threads)?;
    normalize_on(
        input,
        channels,
        sample_rate,
        target_lufs,
        pipeline,
        render,
        output,
        watch,
        &workers,
    )
}

/// `pipeline` with its level stage's `track_gain_db` set to `gain_db` (a level stage in
/// [`LevelMode::Integrated`](crate::dsp::level::LevelMode::Integrated) plays at it); unchanged
/// without a level stage.
pub fn with_track_gain(pipeline: &PipelineConfig, gain_db: f64) -> PipelineConfig {
    let mut resolved = pipeline.clone();
    if let Some(level) = &mut resolved.level {
        level.track_gain_db = gain_db;
    }
    resolved
}

/// Normalises planar `track` to `target_lufs` through `pipeline` ([`normalize_on`] into a
/// scratch buffer, on `workers`) for its report: the static gain a stream of `track` plays at.
/// Control path: allocates two track-sized buffers for the duration of the call.
///
/// # Errors
/// As [`normalize_on`].
pub fn measure_track_gain<T: CachedSample>(
    track: &[T],
    channels: usize,
    sample_rate: u32,
    target_lufs: f64,
    pipeline: &PipelineConfig,
    render: &RenderConfig,
    workers: &Workers,
) -> Result<NormalizeReport, Error> {
    let mut scratch = crate::memory::try_filled(T::zero(), track.len())?;
    normalize_on(
        track,
        channels,
        sample_rate,
        target_lufs,
        pipeline,
        render,
        &mut scratch,
        Watch::default(),
        workers,
    )
}

/// Sets the track gain of `pipeline`'s level stage when it runs in
/// [`LevelMode::Integrated`](crate::dsp::level::LevelMode::Integrated) ([`measure_track_gain`]
/// to the stage's `target_lufs`, then [`with_track_gain`]), so that a chunked render or a
/// stream of `track` through the returned settings lands on the target like `normalize` does.
/// Other pipelines come back unchanged, with no report.
///
/// # Errors
/// As [`normalize_on`].
pub fn resolve_track_gain<T: CachedSample>(
    track: &[T],
    channels: usize,
    sample_rate: u32,
    pipeline: &PipelineConfig,
    render: &RenderConfig,
    workers: &Workers,
) -> Result<(PipelineConfig, Option<NormalizeReport>), Error> {
    let Some(level) = super::chunked::integrated_level(pipeline) else {
        return Ok((pipeline.clone(), None));
    };
    let report = measure_track_gain(
        track,
        channels,
        sample_rate,
        level.target_lufs,
        pipeline,
        render,
        workers,
    )?;
    Ok((with_track_gain(pipeline, report.gain_db), Some(report)))
}
