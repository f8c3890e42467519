//! One file through the engine: decode → chunk-parallel render (EQ → level → limiter), or a
//! match to a reference ([`tonecore::match_track`]) → WAV or FLAC, with the loudness of the
//! input (measured while rendering) and of what is written (measured while writing).

use crate::chain::Chain;
use crate::decode::{self, Track};
use crate::error::{cancel_flag, check_cancel, shown, CliError, Result};
use crate::fail;
use crate::matching::Matching;
use crate::output::{
    resample, resampled_len, write_audio, Bits, Dither, PendingFile, WriteOptions,
};
use crate::progress::FileProgress;
use crate::say;
use std::borrow::Cow;
use std::path::Path;
use std::sync::mpsc::sync_channel;
use std::time::Instant;
use tonecore::dsp::loudness::{LoudnessMeter, LoudnessReport};
use tonecore::dsp::{all_in_range, sanitize};
use tonecore::pipeline::Pipeline;
use tonecore::pipeline::PipelineConfig;
use tonecore::render::chunked::integrated_level;
use tonecore::render::{normalize, render_chunked, NormalizeReport, RenderConfig, Watch};
use tonecore::{match_track, ConfigError, Error, MatchReport, ProcessError};

/// How to process files.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The chain.
    pub chain: Chain,
    /// Chunk core length of the renderer, seconds.
    pub chunk_seconds: f64,
    /// Render threads (0 = all cores).
    pub threads: usize,
    /// Output sample format.
    pub bits: Bits,
    /// Dither before rounding to integers.
    pub dither: Dither,
    /// Output sample rate (None = the input's).
    pub out_rate: Option<u32>,
    /// Match each track to a reference instead of rendering `chain` (whose description and
    /// ceiling then describe the match).
    pub matching: Option<Matching>,
}

impl Settings {
    /// The renderer's configuration.
    pub fn render_config(&self) -> RenderConfig {
        RenderConfig {
            chunk_seconds: self.chunk_seconds,
            threads: self.threads,
            ..RenderConfig::default()
        }
    }

    /// Checks that the chain and chunking work for a track of `channels` at `rate`.
    ///
    /// # Errors
    /// A chunk too short for the chain's settle time; any other configuration error.
    pub fn check(&self, channels: usize, rate: u32) -> Result<()> {
        let config = &self.config_at(rate)?;
        let render = self.render_config();
        match tonecore::render::chunked::plan::<f32>(0, channels, rate, config, &render) {
            Ok(_) => Ok(()),
            Err(ConfigError::InvalidChunk) => {
                let settle = Pipeline::<f32>::new(rate, channels, 4096, config)
                    .map(|p| p.settle_frames() as f64 / rate as f64)
                    .unwrap_or(0.0);
                Err(fail!(
                    "--chunk-seconds {}: a chunk must be longer than the chain's settle time plus the crossfade ({:.2} s here)",
                    self.chunk_seconds,
                    settle + render.crossfade_seconds
                ))
            }
            Err(e) => Err(fail!("cannot set up the chain: {e}")),
        }
    }

    /// The pipeline rendered at `rate`: the chain's, or a match's (its EQ's FFT size follows
    /// the rate; its gains follow the track and are flat here).
    ///
    /// # Errors
    /// The match's settings or the rate are refused.
    pub fn config_at(&self, rate: u32) -> Result<PipelineConfig> {
        match &self.matching {
            Some(m) => m
                .config_at(rate)
                .map_err(|e| fail!("cannot set up the match: {e}")),
            None => Ok(self.chain.config.clone()),
        }
    }
}

/// `samples` with non-finite values and values beyond ±2^20 replaced by silence (as the render
/// treats them; a match measures its input first, and the profile refuses them).
fn in_range(samples: &[f32]) -> Cow<'_, [f32]> {
    if all_in_range(samples) {
        Cow::Borrowed(samples)
    } else {
        let mut copy = samples.to_vec();
        sanitize(&mut copy);
        Cow::Owned(copy)
    }
}

/// What processing one file did.
#[derive(Clone, Debug)]
pub struct Report {
    /// Input format name.
    pub format: &'static str,
    /// Channels.
    pub channels: usize,
    /// Input sample rate.
    pub rate: u32,
    /// Input frames.
    pub frames: usize,
    /// Loudness of the input.
    pub before: LoudnessReport,
    /// Loudness of what was written.
    pub after: LoudnessReport,
    /// Output sample rate.
    pub out_rate: u32,
    /// Output frames.
    pub out_frames: u64,
    /// Output format.
    pub bits: Bits,
    /// What the loudness normalisation did (with a level target in integrated mode, or a match).
    pub level: Option<NormalizeReport>,
    /// What the match did (with [`Settings::matching`]).
    pub matched: Option<Box<MatchReport>>,
    /// Seconds spent decoding.
    pub decode_secs: f64,
    /// Seconds spent rendering (while the input's loudness is being measured).
    pub render_secs: f64,
    /// Seconds for the whole job.
    pub total_secs: f64,
}

impl Report {
    /// Input duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / self.rate as f64
    }
}

/// Frames per block fed to a loudness meter.
const METER_BLOCK: usize = 1 << 16;

/// Measures planar `samples` (`channels × frames`) in blocks (non-finite samples count as 0, as
/// the pipeline treats them); stops on Ctrl-C.
///
/// # Errors
/// Invalid channel count or rate; Ctrl-C.
pub fn measure(samples: &[f32], channels: usize, rate: u32) -> Result<LoudnessReport> {
    let mut meter =
        LoudnessMeter::new(channels, rate).map_err(|e| fail!("cannot measure loudness: {e}"))?;
    let frames = samples.len() / channels;
    let mut block = Vec::with_capacity(channels * METER_BLOCK.min(frames));
    let mut pos = 0;
    while pos < frames {
        check_cancel()?;
        let n = METER_BLOCK.min(frames - pos);
        block.clear();
        for c in 0..channels {
            let src = &samples[c * frames + pos..c * frames + pos + n];
            block.extend(src.iter().map(|&x| if x.is_finite() { x } else { 0.0 }));
        }
        meter
            .add(&block)
            .map_err(|e| fail!("cannot measure loudness: {e}"))?;
        pos += n;
    }
    Ok(meter.report())
}

/// Renders planar `track` through `settings`' chain (or matches it to `settings`' reference)
/// into `out` (same length), measuring the input meanwhile. Returns the input's loudness and
/// what the match did.
///
/// # Errors
/// Configuration errors; Ctrl-C.
pub fn render(
    track: &Track,
    settings: &Settings,
    out: &mut [f32],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(LoudnessReport, Option<Box<MatchReport>>)> {
    let watch = Watch {
        progress: Some(progress),
        cancel: Some(cancel_flag()),
    };
    if let Some(m) = &settings.matching {
        let input = in_range(&track.samples);
        let report = match_track(
            &input,
            track.channels,
            track.rate,
            &m.reference.profile,
            &m.settings,
            &settings.render_config(),
            out,
            watch,
        )
        .map_err(render_error)?;
        return Ok((report.loudness.input_loudness, Some(Box::new(report))));
    }
    let (before, rendered) = std::thread::scope(|s| {
        let meter = s.spawn(|| measure(&track.samples, track.channels, track.rate));
        let rendered = render_chunked(
            &track.samples,
            track.channels,
            track.rate,
            &settings.chain.config,
            &settings.render_config(),
            out,
            watch,
        );
        let before = meter
            .join()
            .unwrap_or_else(|_| Err(fail!("the loudness meter failed")));
        (before, rendered)
    });
    rendered.map_err(render_error)?;
    Ok((before?, None))
}

fn render_error(e: Error) -> CliError {
    match e {
        Error::Process(ProcessError::Cancelled) => CliError::Interrupted,
        e => fail!("cannot render: {e}"),
    }
}

/// Writes `out` as WAV while measuring the loudness of what is written (on another thread).
#[allow(clippy::too_many_arguments)]
fn write_measured(
    file: std::fs::File,
    name: &str,
    out: &[f32],
    channels: usize,
    rate: u32,
    settings: &Settings,
    out_rate: u32,
    progress: &FileProgress,
) -> Result<(u64, LoudnessReport)> {
    let (tx, rx) = sync_channel::<Vec<f32>>(8);
    std::thread::scope(|s| {
        let meter = s.spawn(move || -> Result<LoudnessReport> {
            let mut m = LoudnessMeter::new(channels, out_rate)
                .map_err(|e| fail!("cannot measure loudness: {e}"))?;
            for block in rx {
                m.add(&block)
                    .map_err(|e| fail!("cannot measure loudness: {e}"))?;
            }
            Ok(m.report())
        });
        let written = write_audio(
            file,
            name,
            out,
            channels,
            rate,
            &WriteOptions::for_job(settings, out_rate, name),
            &|f| progress.within(2, f),
            &mut |b| {
                let _ = tx.send(b.to_vec());
            },
        );
        drop(tx);
        let after = meter
            .join()
            .unwrap_or_else(|_| Err(fail!("the loudness meter failed")));
        Ok((written?, after?))
    })
}

/// Processes `input` into the WAV file `output` (written under a temporary name, renamed when
/// complete).
///
/// # Errors
/// Anything that stops the job, as one line; nothing is left at `output` then.
pub fn process_file(
    input: &Path,
    output: &Path,
    settings: &Settings,
    progress: &FileProgress,
) -> Result<Report> {
    let t0 = Instant::now();
    let source = decode::open(input)?;
    if source.rate > 0 && source.channels > 0 {
        settings.check(source.channels, source.rate)?;
    }
    let (pending, file) = PendingFile::create(output)?;
    progress.stage(0, "decode");
    let hint = source.frames_hint.unwrap_or(0);
    let format = source.format;
    let mut track = source.read_all(&|f| progress.within(0, f as f64 / hint as f64))?;
    if let Some(w) = &track.warning {
        progress.warn(w);
    }
    if settings.matching.is_some() {
        // The match profiles its input, which must be finite (the render zeroes such samples).
        sanitize(&mut track.samples);
    }
    settings.check(track.channels, track.rate)?;
    let decode_secs = t0.elapsed().as_secs_f64();
    let (channels, rate, frames) = (track.channels, track.rate, track.frames());
    let out_rate = settings.out_rate.unwrap_or(rate);
    // Resampled before the chain, so the limiter works at the rate written and its true-peak
    // ceiling holds in the file.
    let resampled = if out_rate != rate {
        settings.check(channels, out_rate)?;
        Some(resample(&track.samples, channels, rate, out_rate)?)
    } else {
        None
    };
    let samples: &[f32] = resampled.as_deref().unwrap_or(&track.samples);

    progress.stage(1, "render");
    let t1 = Instant::now();
    // Zero pages from the system: resident only as the renderer writes them.
    let mut out = vec![0.0f32; samples.len()];
    let name = shown(output);
    let track = &track;
    let (before, written, render_secs, level, matched) = std::thread::scope(|s| {
        let config = &settings.chain.config;
        let level_target = integrated_level(config);
        // The input's loudness is only needed for the summary: it is measured while the track
        // is rendered and written, so the measurement overlaps both. The normalisation (and a
        // match) measures the track it is given anyway: when that is the input, its report is
        // used.
        let normalized = level_target.is_some() || settings.matching.is_some();
        let meter_in = (!normalized || resampled.is_some())
            .then(|| s.spawn(|| measure(&track.samples, channels, rate)));
        let watch = Watch {
            progress: Some(&|d, t| progress.within(1, d as f64 / t as f64)),
            cancel: Some(cancel_flag()),
        };
        let mut matched = None;
        let rendered = match (&settings.matching, level_target) {
            (Some(m), _) => match_track(
                samples,
                channels,
                out_rate,
                &m.reference.profile,
                &m.settings,
                &settings.render_config(),
                &mut out,
                watch,
            )
            .map(|report| {
                let level = report.loudness;
                matched = Some(Box::new(report));
                Some(level)
            }),
            (None, Some(level)) => normalize(
                samples,
                channels,
                out_rate,
                level.target_lufs,
                config,
                &settings.render_config(),
                &mut out,
                watch,
            )
            .map(Some),
            (None, None) => render_chunked(
                samples,
                channels,
                out_rate,
                config,
                &settings.render_config(),
                &mut out,
                watch,
            )
            .map(|()| None),
        }
        .map_err(render_error);
        let render_secs = t1.elapsed().as_secs_f64();
        let mut level = None;
        let written = rendered.and_then(|report| {
            level = report;
            progress.stage(2, "write");
            write_measured(
                file, &name, &out, channels, out_rate, settings, out_rate, progress,
            )
        });
        let before = match (meter_in, &level) {
            (Some(meter), _) => meter
                .join()
                .unwrap_or_else(|_| Err(fail!("the loudness meter failed"))),
            (None, Some(report)) => Ok(report.input_loudness),
            (None, None) => Err(fail!("the loudness meter failed")),
        };
        (before, written, render_secs, level, matched)
    });
    let (written, after) = written?;
    let before = before?;
    debug_assert_eq!(written as usize, resampled_len(frames, rate, out_rate));
    pending.commit()?;
    Ok(Report {
        format,
        channels,
        rate,
        frames,
        before,
        after,
        out_rate,
        out_frames: written,
        bits: settings.bits,
        level,
        matched,
        decode_secs,
        render_secs,
        total_secs: t0.elapsed().as_secs_f64(),
    })
}

/// A loudness value for a table: `-14.2` or `-inf`.
pub fn lufs(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.1}")
    } else {
        "-inf".into()
    }
}

/// A duration as `m:ss.s`.
pub fn duration(seconds: f64) -> String {
    let m = (seconds / 60.0).floor();
    format!("{}:{:04.1}", m as u64, seconds - 60.0 * m)
}

/// The loudness table of input and output.
pub fn print_loudness(before: &LoudnessReport, after: &LoudnessReport) {
    say!(
        "{:8} {:>10}  {:>9}  {:>14}  {:>13}  {:>7}",
        "",
        "integrated",
        "true peak",
        "short-term max",
        "momentary max",
        "range"
    );
    for (label, l) in [("input", before), ("output", after)] {
        say!(
            "{label:8} {:>5} LUFS  {:>4} dBTP  {:>9} LUFS  {:>8} LUFS  {:>4} LU",
            lufs(l.integrated),
            lufs(l.true_peak),
            lufs(l.short_term_max),
            lufs(l.momentary_max),
            lufs(l.range)
        );
    }
}

/// The per-file summary `process` and `demo` print.
pub fn print_report(input: &Path, output: &Path, chain: &Chain, r: &Report) {
    let secs = r.seconds();
    say!(
        "{}: {}, {} ch, {} Hz, {}",
        input.display(),
        r.format,
        r.channels,
        r.rate,
        duration(secs)
    );
    say!("chain:   {}", chain.description);
    print_loudness(&r.before, &r.after);
    let mut gain = r.after.integrated - r.before.integrated;
    if gain.abs() < 0.05 {
        gain = 0.0; // no "-0.0"
    }
    if gain.is_finite() {
        say!("gain:    {gain:+.1} dB (integrated loudness, output - input)");
    }
    if let Some(m) = &r.matched {
        say!("match:   {}", crate::matching::tonal_text(m));
    }
    if let Some(n) = &r.level {
        say!(
            "level:   {:+.2} dB static gain ({} LUFS after the EQ), limiter max {:.1} dB, mean {:.2} dB on {:.1} % of frames, {} pass{}: {}",
            n.gain_db,
            lufs(n.eq_lufs),
            n.limiter_max_reduction_db,
            n.limiter_mean_reduction_db,
            100.0 * n.limited_fraction,
            n.passes,
            if n.passes == 1 { "" } else { "es" },
            n.outcome.describe()
        );
    }
    say!(
        "speed:   decode {:.2} s, render {:.2} s ({:.0}x real time), whole job {:.2} s ({:.0}x real time)",
        r.decode_secs,
        r.render_secs,
        secs / r.render_secs.max(1e-9),
        r.total_secs,
        secs / r.total_secs.max(1e-9)
    );
    say!(
        "wrote:   {} ({}, {} Hz, {} ch, {})",
        output.display(),
        r.bits.describe(),
        r.out_rate,
        r.channels,
        duration(r.out_frames as f64 / r.out_rate as f64)
    );
}
