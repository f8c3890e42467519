//! Reference matching (`tonecore match`, and `--match REF` in process, analyze and batch): the
//! reference (an audio file, profiled, or a profile JSON document), the settings, the chain they
//! stand for, the `match` command itself and the lines the summaries print.
//!
//! The library does the work ([`tonecore::match_track`]): it profiles the track, derives EQ
//! gains on the sixth-octave profile grid that move its long-term spectrum to the reference's,
//! normalises the integrated loudness to the reference's (or `--target`) and limits true peaks to
//! the ceiling; the job around it (decode, optional resampling, writing, dither and the integer
//! clamp to the ceiling, temporary files) is `process`'s ([`job::process_file`]).

use crate::chain::Chain;
use crate::decode::{self, Track};
use crate::error::{io_reason, shown, Result};
use crate::fail;
use crate::job::{self, duration, lufs, Report, Settings};
use crate::output::{self, PendingFile};
use crate::progress::{self, FileProgress};
use crate::say;
use crate::{label, same_file, MatchArgs};
use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;
use tonecore::dsp::{all_in_range, sanitize};
use tonecore::pipeline::PipelineConfig;
use tonecore::spectral::profile::{GRID, MAX_JSON_BYTES, PROFILE_VERSION};
use tonecore::{match_config, MatchOutcome, MatchReport, MatchSettings, Profile, ProfileError};

/// The text after `tonecore match --help`.
pub const HELP: &str = "\
How it matches: both signals are profiled (long-term spectrum on 61 sixth-octave bands from
19.7 Hz to 20.2 kHz, each relative to the signal's own power, so level does not count; BS.1770
integrated loudness and true peak). The EQ gains are the reference minus the track per band,
smoothed (--smoothing), kept level-neutral, scaled (--strength) and clamped (--max-gain); bands
absent from either (noise floor, above 0.95 of either Nyquist frequency) are not matched. Then
one static gain takes the output to the reference's integrated loudness (or --target) within
0.1 LU and a true-peak limiter keeps it under --ceiling. A silent reference derives no EQ and
keeps the track's loudness (unless --target is given); the summary says so.

The summary: the tonal residual (RMS of output minus reference over the bands within the clamp,
their mean removed) before and after, loudness of input, output (measured on what was written)
and reference, true peak of the output, time taken.

A profile for REF: `tonecore analyze reference.flac --profile reference.json`.
`tonecore process IN OUT --match REF` does the same as `tonecore match IN REF OUT`, with
process's summary; `tonecore batch IN_DIR OUT_DIR --match REF` matches every file to one
reference, profiled once.";

/// The reference a track is matched to.
#[derive(Clone, Debug)]
pub struct Reference {
    /// Its profile.
    pub profile: Profile,
    /// Its file name, for the summaries.
    pub name: String,
    /// What it is, e.g. `WAV, 2 ch, 48000 Hz, 0:05.0` or `profile of 2 ch, 48000 Hz, 0:05.0`.
    pub source: String,
}

/// What `--match` / `tonecore match` asked for.
#[derive(Clone, Debug)]
pub struct Matching {
    /// The reference.
    pub reference: Reference,
    /// Strength, clamp, smoothing, target and ceiling.
    pub settings: MatchSettings,
}

/// `true` for a `.json` name (any case), or a file whose first non-blank byte is `{` (no audio
/// format starts so): the reference is a profile document, not audio.
pub fn is_profile_path(path: &Path) -> bool {
    let json = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let mut head = Vec::with_capacity(64);
    let opens_brace = path.is_file()
        && std::fs::File::open(path).is_ok_and(|f| f.take(64).read_to_end(&mut head).is_ok())
        && head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    json || opens_brace
}

/// The profile of planar `samples`; non-finite samples and samples beyond ±2^20 count as
/// silence (as the render treats them). `name` is the file, for messages.
///
/// # Errors
/// The library refused the stream (channels, rate).
pub fn profile_of(
    samples: &[f32],
    channels: usize,
    rate: u32,
    threads: usize,
    name: &str,
) -> Result<Profile> {
    let clean;
    let samples = if all_in_range(samples) {
        samples
    } else {
        let mut copy = samples.to_vec();
        sanitize(&mut copy);
        clean = copy;
        &clean[..]
    };
    tonecore::profile(samples, channels, rate, threads)
        .map_err(|e| fail!("cannot profile {name}: {e}"))
}

/// Reads a profile document written by `tonecore analyze --profile` (or the library's
/// `Profile::to_json`).
///
/// # Errors
/// Missing or unreadable file; not a profile (malformed, another format or grid, values out of
/// range, too long); a newer version than this tonecore reads.
pub fn read_profile(path: &Path) -> Result<Profile> {
    let name = shown(path);
    if path.is_dir() {
        return Err(fail!("the reference {name} is a folder, not a profile"));
    }
    let file =
        std::fs::File::open(path).map_err(|e| fail!("cannot open {name}: {}", io_reason(&e)))?;
    let mut bytes = Vec::new();
    file.take(MAX_JSON_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail!("cannot read {name}: {}", io_reason(&e)))?;
    let not_profile = |why: &str| fail!("the reference {name} is not a tonecore profile: {why}");
    if bytes.len() > MAX_JSON_BYTES {
        return Err(not_profile(&format!("longer than {MAX_JSON_BYTES} bytes")));
    }
    let text = String::from_utf8(bytes).map_err(|_| not_profile("not UTF-8 text"))?;
    Profile::from_json(&text).map_err(|e| match e {
        ProfileError::Version(v) => fail!(
            "the reference {name} is a version {v} profile; this tonecore reads versions up to {PROFILE_VERSION} (write it again with this version's `tonecore analyze --profile`)"
        ),
        ProfileError::Invalid(detail) => not_profile(&detail),
        ProfileError::TooLarge => not_profile(&format!("longer than {MAX_JSON_BYTES} bytes")),
    })
}

/// Loads the reference: a `.json` profile document, or an audio file (any format, rate and
/// channel count tonecore reads) whose profile is measured on `threads` (0 = all cores).
///
/// # Errors
/// See [`read_profile`]; the audio file's decoding errors.
pub fn load_reference(path: &Path, threads: usize) -> Result<Reference> {
    let name = label(path);
    if is_profile_path(path) {
        let profile = read_profile(path)?;
        let source = format!(
            "profile of {} ch, {} Hz, {}",
            profile.channels,
            profile.sample_rate,
            duration(profile.frames as f64 / profile.sample_rate as f64)
        );
        return Ok(Reference {
            profile,
            name,
            source,
        });
    }
    let source = decode::open(path)?;
    let format = source.format;
    let track: Track = source.read_all(&|_| {})?;
    if let Some(w) = &track.warning {
        progress::warn(w);
    }
    let profile = profile_of(
        &track.samples,
        track.channels,
        track.rate,
        threads,
        &shown(path),
    )?;
    Ok(Reference {
        profile,
        name,
        source: format!(
            "{format}, {} ch, {} Hz, {}",
            track.channels,
            track.rate,
            duration(track.seconds())
        ),
    })
}

impl Matching {
    /// The pipeline a match runs at `rate`, with flat gains (the gains depend on the track; the
    /// EQ's FFT size, the level stage and the limiter do not): for checking the chunking.
    pub fn config_at(
        &self,
        rate: u32,
    ) -> std::result::Result<PipelineConfig, tonecore::ConfigError> {
        let p = &self.reference.profile;
        match_config(p, p, &self.settings, rate).map(|(config, _)| config)
    }

    /// The chain as the summaries describe it (EQ gains flat until a track is matched).
    pub fn chain(&self) -> Chain {
        let s = &self.settings;
        let name = &self.reference.name;
        let config = self.config_at(48_000).unwrap_or_default();
        let eq = if self.reference.profile.is_silent() {
            "no EQ (silent reference)".to_string()
        } else if s.strength == 0.0 {
            "no EQ (--strength 0)".to_string()
        } else if s.strength < 1.0 {
            format!("EQ {:.0} % of the way to {name}", 100.0 * s.strength)
        } else {
            format!("EQ as {name}")
        };
        let level = match (s.target_lufs, self.reference.profile.integrated_lufs) {
            (Some(t), _) => format!("level {t:.1} LUFS"),
            (None, Some(l)) => format!("level {:.1} LUFS (as {name})", l.clamp(-70.0, 0.0)),
            (None, None) => "level kept (silent reference)".to_string(),
        };
        Chain {
            config,
            layout: GRID.layout(),
            gains: vec![0.0; GRID.bands()],
            description: format!("{eq} > {level} > limiter {:.1} dBTP", s.ceiling_dbtp),
        }
    }
}

/// Bands the residual is taken over (used by the match and within the clamp).
fn within(r: &MatchReport) -> usize {
    r.gains.within_clamp.iter().filter(|&&b| b).count()
}

/// What the match did to the tonal balance, one line (without a label).
pub fn tonal_text(r: &MatchReport) -> String {
    let g = &r.gains;
    match g.outcome {
        MatchOutcome::Matched => {
            let used = g.used.iter().filter(|&&b| b).count();
            let (lo, hi) = g
                .gains_db
                .iter()
                .zip(&g.used)
                .filter(|(_, &u)| u)
                .fold((f64::MAX, f64::MIN), |(lo, hi), (&v, _)| {
                    (lo.min(v), hi.max(v))
                });
            let beyond = used - within(r);
            format!(
                "{:.2} -> {:.2} dB RMS from the reference over {} bands{} (EQ {:+.1} to {:+.1} dB)",
                r.residual_before_db,
                r.residual_after_db,
                within(r),
                if beyond > 0 {
                    format!(", {beyond} more beyond the clamp left out")
                } else {
                    String::new()
                },
                lo,
                hi
            )
        }
        MatchOutcome::SilentReference => {
            "the reference is silent: no EQ derived (tonal balance unchanged)".to_string()
        }
        MatchOutcome::SilentTrack => {
            "the track is silent: no EQ derived (tonal balance unchanged)".to_string()
        }
        MatchOutcome::NoCommonBands => {
            "no band is present in both the track and the reference: no EQ derived".to_string()
        }
    }
}

/// [`tonal_text`] in a few words (a plot's subtitle, a batch table's cell is shorter still).
pub fn short_tonal_text(r: &MatchReport) -> String {
    match r.gains.outcome {
        MatchOutcome::Matched => format!(
            "tonal residual {:.2} -> {:.2} dB RMS over {} bands",
            r.residual_before_db,
            r.residual_after_db,
            within(r)
        ),
        MatchOutcome::SilentReference => "silent reference: no EQ derived".to_string(),
        MatchOutcome::SilentTrack => "silent track: no EQ derived".to_string(),
        MatchOutcome::NoCommonBands => "no common band: no EQ derived".to_string(),
    }
}

/// The batch table's cell: `5.4>0.2` (residual before and after, dB) or why there is no EQ.
pub fn tonal_cell(r: &MatchReport) -> String {
    match r.gains.outcome {
        MatchOutcome::Matched => format!("{:.1}>{:.1}", r.residual_before_db, r.residual_after_db),
        MatchOutcome::SilentReference => "no EQ".to_string(),
        MatchOutcome::SilentTrack => "silent".to_string(),
        MatchOutcome::NoCommonBands => "no band".to_string(),
    }
}

/// The `match` command: IN matched to REF into OUT (see the module documentation).
///
/// # Errors
/// Anything that stops it, as one line; nothing is left at OUT (or the plot's name) then.
pub fn run(a: MatchArgs) -> Result<ExitCode> {
    for (what, other) in [("input", &a.input), ("reference", &a.reference)] {
        if same_file(other, &a.output) {
            return Err(fail!(
                "the output {} is the {what}; choose another name",
                shown(&a.output)
            ));
        }
    }
    if let Some(plot) = &a.plot {
        if plot == &a.output || same_file(plot, &a.output) {
            return Err(fail!(
                "--plot {} is the output; choose another name",
                shown(plot)
            ));
        }
        for (what, other) in [("input", &a.input), ("reference", &a.reference)] {
            if same_file(other, plot) {
                return Err(fail!(
                    "--plot {} is the {what}; choose another name",
                    shown(plot)
                ));
            }
        }
    }
    // FLAC with --bits 32 is a bad command line (exit 2), refused before anything is read.
    if let Err(e) = output::Container::of(&a.output).check(a.out.bits) {
        eprintln!("error: {e} (see tonecore --help)");
        return Ok(ExitCode::from(2));
    }
    // Name a missing input before the reference is read.
    decode::open(&a.input)?;
    let threads = a.render.threads.map_or(0, |t| t as usize);
    let matching = Matching {
        reference: load_reference(&a.reference, threads)?,
        settings: a.tuning.settings(a.target, a.ceiling),
    };
    let settings = Settings {
        chain: matching.chain(),
        chunk_seconds: a.render.chunk_seconds,
        threads,
        bits: a.out.bits,
        dither: a
            .out
            .dither
            .unwrap_or_else(|| output::Dither::default_for(a.out.bits)),
        out_rate: a.out.out_rate,
        matching: Some(matching),
    };
    let pending_plot = match &a.plot {
        Some(p) => Some(PendingFile::create(p)?),
        None => None,
    };
    let bar = FileProgress::new(&label(&a.input), a.quiet);
    let report = job::process_file(&a.input, &a.output, &settings, &bar);
    bar.finish();
    let report = report?;
    let matching = settings.matching.as_ref().expect("set above");
    print_summary(&a.input, &a.output, &settings, &report);
    if let (Some(path), Some(pending)) = (&a.plot, pending_plot) {
        plot(&a, &report, matching, pending)?;
        say!("plot:      wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Draws the match PNG: profiles of track, output and reference over the grid, and the EQ.
fn plot(
    a: &MatchArgs,
    report: &Report,
    matching: &Matching,
    pending: (PendingFile, std::fs::File),
) -> Result<()> {
    let m = report.matched.as_deref().expect("a match report");
    let rate = report.out_rate;
    let freqs = crate::analysis::display_frequencies(rate, 480);
    let eq = crate::analysis::eq_response_db(
        &GRID.layout(),
        &m.gains.gains_db,
        rate,
        &freqs,
        tonecore::render::matching::match_fft_size(rate),
    )?;
    let r = &matching.reference;
    let loud = |l: Option<f64>, p: Option<f64>| {
        format!(
            "{} LUFS, {} dBTP",
            lufs(l.unwrap_or(f64::NEG_INFINITY)),
            lufs(p.unwrap_or(f64::NEG_INFINITY))
        )
    };
    let centers = GRID.centers();
    let marks = centers
        .iter()
        .zip(&m.gains.gains_db)
        .zip(&m.gains.used)
        .filter(|(_, &u)| u)
        .map(|((&f, &g), _)| (f, g))
        .collect();
    crate::plot::write_match_png(
        pending,
        rate,
        &crate::plot::MatchPlotData {
            title: format!(
                "{} matched to {}  ({} ch, {} Hz)",
                label(&a.input),
                r.name,
                report.channels,
                rate
            ),
            subtitle: short_tonal_text(m),
            centers: &centers,
            track_db: &m.track.spectrum_db,
            output_db: &m.output.spectrum_db,
            reference_db: &r.profile.spectrum_db,
            legend: [
                format!(
                    "track     {}",
                    loud(
                        Some(report.before.integrated),
                        Some(report.before.true_peak)
                    )
                ),
                format!(
                    "output    {}",
                    loud(Some(report.after.integrated), Some(report.after.true_peak))
                ),
                format!(
                    "reference {}",
                    loud(r.profile.integrated_lufs, r.profile.true_peak_dbtp)
                ),
            ],
            freqs: &freqs,
            eq_db: &eq,
            bands: marks,
        },
    )
}

/// The summary `tonecore match` prints.
pub fn print_summary(input: &Path, output: &Path, settings: &Settings, r: &Report) {
    let matching = settings.matching.as_ref().expect("a match");
    let m = r.matched.as_deref().expect("a match report");
    let reference = &matching.reference;
    let secs = r.seconds();
    say!(
        "{}: {}, {} ch, {} Hz, {}",
        input.display(),
        r.format,
        r.channels,
        r.rate,
        duration(secs)
    );
    say!("reference: {}: {}", reference.name, reference.source);
    say!("chain:     {}", settings.chain.description);
    say!("tonal:     {}", tonal_text(m));
    let level = &m.loudness;
    say!(
        "loudness:  {} -> {} LUFS, reference {} LUFS (target {:.1} LUFS: {})",
        lufs(r.before.integrated),
        lufs(r.after.integrated),
        lufs(
            reference
                .profile
                .integrated_lufs
                .unwrap_or(f64::NEG_INFINITY)
        ),
        level.target_lufs,
        level.outcome.describe()
    );
    say!(
        "peak:      {} dBTP (ceiling {:.1} dBTP; input {} dBTP, limiter max {:.1} dB)",
        lufs(r.after.true_peak),
        matching.settings.ceiling_dbtp,
        lufs(r.before.true_peak),
        level.limiter_max_reduction_db
    );
    say!(
        "time:      {:.2} s (decode {:.2} s, match {:.2} s): {:.0}x real time",
        r.total_secs,
        r.decode_secs,
        r.render_secs,
        secs / r.total_secs.max(1e-9)
    );
    say!(
        "wrote:     {} ({}, {} Hz, {} ch, {})",
        output.display(),
        r.bits.describe(),
        r.out_rate,
        r.channels,
        duration(r.out_frames as f64 / r.out_rate as f64)
    );
}
