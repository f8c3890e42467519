//! `tonecore`: process, analyse and batch-master music files with the tonecore engine, from a
//! terminal. With no arguments it runs the built-in demo.
//!
//! Errors are one line on stderr with a non-zero exit status (2 for a bad command line, 1 for
//! anything else, 130 for Ctrl-C, SIGTERM or SIGHUP); outputs are written under temporary names
//! and renamed when complete, so a failure leaves nothing partial behind. An existing output
//! that is not a regular file (a device, FIFO or socket) is refused, never replaced.

mod analysis;
mod batch;
mod chain;
mod declared;
mod decode;
mod demo;
mod error;
mod job;
mod matching;
mod output;
mod plot;
mod progress;

use crate::chain::{EqPhase, Layout, Preset, Target};
use crate::error::{install_ctrlc, install_panic_hook, shown, CliError, Result};
use crate::job::{lufs, Settings};
use crate::output::{Bits, Dither};
use crate::progress::FileProgress;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tonecore::dsp::loudness::LoudnessReport;

#[derive(Parser)]
#[command(
    name = "tonecore",
    version,
    about = "Process, analyse and batch-master music files with the tonecore engine \
             (EQ -> integrated-loudness normalisation -> true-peak limiter)",
    after_help = "With no command, tonecore runs `tonecore demo`. \
                  Reads WAV, FLAC, MP3 and Ogg Vorbis; writes WAV and FLAC. \
                  Outputs are written under a hidden temporary name and renamed when complete \
                  (Ctrl-C, SIGTERM or SIGHUP leave nothing partial); they must be regular files: \
                  an existing device, FIFO or socket (e.g. /dev/null) is refused, never replaced."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Process one file: decode, EQ -> level -> limiter, write a WAV or FLAC, print a before/after summary
    Process(ProcessArgs),
    /// Match a file's tonal balance, loudness and peak to a reference file or profile
    Match(MatchArgs),
    /// Measure a file (loudness, energy per band) and plot its spectrum before/after the chain
    Analyze(AnalyzeArgs),
    /// Process every audio file in a folder, several at a time
    Batch(BatchArgs),
    /// Synthesise a 30 s track, process it, write the files and a plot (runs with no arguments)
    Demo(DemoArgs),
}

/// The processing chain, shared by process, analyze and batch.
#[derive(Args, Clone, Debug)]
struct ChainArgs {
    /// Set one band's gain: BAND is any frequency inside the band (Hz, or k for kHz), DB from
    /// -24 to +24. Repeat the option or separate specs with commas: --eq 100=+3,1k=-2
    #[arg(
        long = "eq",
        value_name = "BAND=DB",
        value_delimiter = ',',
        conflicts_with_all = ["eq_preset", "match_ref"]
    )]
    eq: Vec<String>,
    /// A named set of critical-band gains (listed below)
    #[arg(long, value_name = "NAME", conflicts_with = "match_ref")]
    eq_preset: Option<Preset>,
    /// The bands --eq refers to
    #[arg(
        long,
        value_enum,
        default_value = "critical",
        conflicts_with = "match_ref"
    )]
    layout: Layout,
    /// The EQ's phase: linear (no phase distortion) or minimum (the same band gains without
    /// pre-ringing before transients, as an analogue EQ; also with --match)
    #[arg(long, value_enum, default_value = "linear")]
    phase: EqPhase,
    /// Normalise the output to this integrated loudness, LUFS (-70 to 0): one static gain,
    /// corrected for what the limiter takes, lands within 0.1 LU under the ceiling (or the
    /// summary says why not). With --match it replaces the reference's loudness
    #[arg(
        long,
        value_name = "LUFS",
        allow_negative_numbers = true,
        value_parser = parse_target
    )]
    target_lufs: Option<f64>,
    /// Match this reference: an audio file or a profile written by `analyze --profile` (.json).
    /// Its tonal balance (an EQ on 61 sixth-octave bands, replacing --eq and --eq-preset), its
    /// integrated loudness (unless --target-lufs is given) and a true-peak limiter at
    /// --ceiling-db; as `tonecore match`
    #[arg(long = "match", value_name = "REF")]
    match_ref: Option<PathBuf>,
    #[command(flatten)]
    tuning: MatchTuning,
    /// Limiter ceiling: true peak, dBTP (-60 to 0), or sample peak with --sample-peak
    #[arg(
        long,
        value_name = "DB",
        default_value_t = -1.0,
        allow_negative_numbers = true,
        value_parser = parse_ceiling
    )]
    ceiling_db: f64,
    /// Limit sample peaks only (the ceiling in dBFS; inter-sample peaks may exceed it)
    #[arg(long, conflicts_with = "match_ref")]
    sample_peak: bool,
    #[command(flatten)]
    render: RenderArgs,
}

/// How the renderer runs, shared by every command that renders.
#[derive(Args, Clone, Copy, Debug)]
struct RenderArgs {
    /// Length of the chunks rendered in parallel, seconds
    #[arg(long, value_name = "S", default_value_t = 15.0, value_parser = parse_chunk)]
    chunk_seconds: f64,
    /// Render threads per file [default: all cores; in batch, cores / jobs]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1024))]
    threads: Option<u32>,
}

/// How closely a match follows the reference's tonal balance (`match`, and `--match` in
/// process, analyze and batch).
#[derive(Args, Clone, Copy, Debug)]
struct MatchTuning {
    /// How much of the tonal difference the match EQ applies: 0 (none; loudness and peak only)
    /// to 1 (all) [default: 1]
    #[arg(long, value_name = "0-1", value_parser = parse_strength)]
    strength: Option<f64>,
    /// Largest boost or cut of the match EQ per band, dB (0 to 24) [default: 12]
    #[arg(long, value_name = "DB", value_parser = parse_max_gain)]
    max_gain: Option<f64>,
    /// Smoothing of the tonal difference across bands, octaves (0 to 2, e.g. 0.5 or 1/3;
    /// 0 = none) [default: 1/6]
    #[arg(long, value_name = "OCT", value_parser = parse_smoothing)]
    smoothing: Option<f64>,
}

impl MatchTuning {
    /// The library's settings with these options, `target` (None: the reference's loudness)
    /// and the true-peak `ceiling`.
    fn settings(&self, target: Option<f64>, ceiling: f64) -> tonecore::MatchSettings {
        let d = tonecore::MatchSettings::default();
        tonecore::MatchSettings {
            strength: self.strength.unwrap_or(d.strength),
            max_gain_db: self.max_gain.unwrap_or(d.max_gain_db),
            smoothing_octaves: self.smoothing.unwrap_or(d.smoothing_octaves),
            target_lufs: target,
            ceiling_dbtp: ceiling,
        }
    }

    /// The first option given, for "needs --match".
    fn given(&self) -> Option<&'static str> {
        [
            (self.strength.is_some(), "--strength"),
            (self.max_gain.is_some(), "--max-gain"),
            (self.smoothing.is_some(), "--smoothing"),
        ]
        .into_iter()
        .find_map(|(set, name)| set.then_some(name))
    }
}

/// The output file.
#[derive(Args, Clone, Copy, Debug)]
struct OutputArgs {
    /// Sample format: 16- or 24-bit integer, or 32-bit float (WAV only)
    #[arg(long, value_enum, default_value = "24")]
    bits: Bits,
    /// Dither before rounding to integers: tpdf (triangular, ±1 LSB) or none
    /// [default: tpdf for --bits 16, none otherwise]
    #[arg(long, value_enum, value_name = "KIND")]
    dither: Option<Dither>,
    /// Resample the output to this rate, Hz [default: the input's rate]
    #[arg(long, value_name = "HZ", value_parser = parse_rate)]
    out_rate: Option<u32>,
}

#[derive(Args, Debug)]
struct ProcessArgs {
    /// Input file (WAV, FLAC, MP3, Ogg Vorbis)
    input: PathBuf,
    /// Output file: FLAC if it ends in .flac, WAV otherwise. A regular file (an existing
    /// device, FIFO or socket such as /dev/null is refused; a link to a file is written through)
    output: PathBuf,
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    out: OutputArgs,
    /// No progress bar
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct MatchArgs {
    /// Input file (WAV, FLAC, MP3, Ogg Vorbis)
    input: PathBuf,
    /// Reference: an audio file (any rate and channel count; its profile is measured) or a
    /// profile written by `tonecore analyze --profile` (a .json name)
    reference: PathBuf,
    /// Output file: FLAC if it ends in .flac, WAV otherwise (as for process)
    output: PathBuf,
    #[command(flatten)]
    tuning: MatchTuning,
    /// Integrated loudness of the output, LUFS (-70 to 0) [default: the reference's]
    #[arg(
        long,
        alias = "target-lufs",
        value_name = "LUFS",
        allow_negative_numbers = true,
        value_parser = parse_target
    )]
    target: Option<f64>,
    /// True-peak ceiling of the limiter, dBTP (-60 to 0)
    #[arg(
        long,
        alias = "ceiling-db",
        value_name = "DBTP",
        default_value_t = -1.0,
        allow_negative_numbers = true,
        value_parser = parse_ceiling
    )]
    ceiling: f64,
    /// Write a PNG: the long-term spectrum of track, output and reference on the 61 bands, and
    /// the match EQ
    #[arg(long, value_name = "PNG")]
    plot: Option<PathBuf>,
    #[command(flatten)]
    render: RenderArgs,
    #[command(flatten)]
    out: OutputArgs,
    /// No progress bar
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct AnalyzeArgs {
    /// Input file (WAV, FLAC, MP3, Ogg Vorbis)
    input: PathBuf,
    /// Write a PNG: average spectrum before/after the chain, and the EQ response
    #[arg(long, value_name = "PNG")]
    plot: Option<PathBuf>,
    /// Write the input's profile (long-term spectrum on 61 sixth-octave bands, loudness, true
    /// peak) as JSON: a reference for `match` and `--match`
    #[arg(long, value_name = "JSON")]
    profile: Option<PathBuf>,
    #[command(flatten)]
    chain: ChainArgs,
    /// No progress bar
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct BatchArgs {
    /// Folder of input files (.wav .flac .mp3 .ogg .oga; not searched recursively)
    in_dir: PathBuf,
    /// Folder for the WAV outputs (created if missing), one NAME.wav per input
    out_dir: PathBuf,
    #[command(flatten)]
    chain: ChainArgs,
    #[command(flatten)]
    out: OutputArgs,
    /// Files processed at the same time [default: the number of cores]
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    jobs: Option<u32>,
    /// No progress bars
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// Where to write tonecore-demo-in.wav, tonecore-demo-out.wav and tonecore-demo.png
    /// (created if missing)
    #[arg(long, value_name = "DIR", default_value = ".")]
    out_dir: PathBuf,
    /// No progress bar
    #[arg(short, long)]
    quiet: bool,
}

fn parse_number(s: &str) -> std::result::Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("'{s}' is not a number"))
}

fn parse_target(s: &str) -> std::result::Result<f64, String> {
    let v = parse_number(s)?;
    if (-70.0..=0.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("target {v} LUFS is outside -70 to 0 LUFS"))
    }
}

fn parse_ceiling(s: &str) -> std::result::Result<f64, String> {
    let v = parse_number(s)?;
    if (-60.0..=0.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("ceiling {v} dBFS is outside -60 to 0 dBFS"))
    }
}

fn parse_strength(s: &str) -> std::result::Result<f64, String> {
    let v = parse_number(s)?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("strength {v} is outside 0 to 1"))
    }
}

fn parse_max_gain(s: &str) -> std::result::Result<f64, String> {
    let v = parse_number(s)?;
    if (0.0..=24.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} dB is outside 0 to 24 dB"))
    }
}

/// Octaves: a number or a fraction such as `1/3`.
fn parse_smoothing(s: &str) -> std::result::Result<f64, String> {
    let v = match s.split_once('/') {
        Some((a, b)) => {
            let (a, b) = (parse_number(a)?, parse_number(b)?);
            if b == 0.0 {
                return Err(format!("'{s}' divides by zero"));
            }
            a / b
        }
        None => parse_number(s)?,
    };
    if (0.0..=2.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} octaves is outside 0 to 2"))
    }
}

fn parse_chunk(s: &str) -> std::result::Result<f64, String> {
    let v = parse_number(s)?;
    if v > 0.0 && v <= 3600.0 {
        Ok(v)
    } else {
        Err(format!("{v} s is outside 0 to 3600 s"))
    }
}

fn parse_rate(s: &str) -> std::result::Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(v) if (8_000..=384_000).contains(&v) => Ok(v),
        Ok(v) => Err(format!("{v} Hz is outside 8000 to 384000 Hz")),
        Err(_) => Err(format!("'{s}' is not a sample rate in Hz")),
    }
}

/// Number of cores.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn settings(args: &ChainArgs, out: Option<OutputArgs>, threads: usize) -> Result<Settings> {
    let matching = match &args.match_ref {
        Some(reference) => Some(matching::Matching {
            reference: matching::load_reference(reference, 0)?,
            settings: args.tuning.settings(args.target_lufs, args.ceiling_db),
        }),
        None => {
            if let Some(option) = args.tuning.given() {
                return Err(fail!(
                    "{option} tunes a match; give the reference with --match REF"
                ));
            }
            None
        }
    };
    let mut chain = match &matching {
        Some(m) => m.chain(),
        None => chain::build(
            &args.eq,
            args.eq_preset,
            args.layout,
            &args.target_lufs.map_or(Target::None, Target::Lufs),
            args.ceiling_db,
            !args.sample_peak,
        )?,
    };
    if args.phase == EqPhase::Minimum {
        chain.config.phase = args.phase.phase();
        if chain.config.eq.is_some() {
            chain.description = chain.description.replacen("EQ", "minimum-phase EQ", 1);
        }
    }
    let bits = out.map_or(Bits::Int24, |o| o.bits);
    Ok(Settings {
        chain,
        chunk_seconds: args.render.chunk_seconds,
        threads: args.render.threads.map_or(threads, |t| t as usize),
        bits,
        dither: out
            .and_then(|o| o.dither)
            .unwrap_or_else(|| Dither::default_for(bits)),
        out_rate: out.and_then(|o| o.out_rate),
        matching,
    })
}

/// Whether two paths name the same existing file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

pub fn label(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    )
}

fn process(a: ProcessArgs) -> Result<ExitCode> {
    if same_file(&a.input, &a.output) {
        return Err(fail!(
            "the output {} is the input; choose another name",
            shown(&a.output)
        ));
    }
    if a.chain
        .match_ref
        .as_ref()
        .is_some_and(|r| same_file(r, &a.output))
    {
        return Err(fail!(
            "the output {} is the --match reference; choose another name",
            shown(&a.output)
        ));
    }
    // FLAC with --bits 32 is a bad command line (exit 2), refused before anything is read.
    if let Err(e) = output::Container::of(&a.output).check(a.out.bits) {
        eprintln!("error: {e} (see tonecore --help)");
        return Ok(ExitCode::from(2));
    }
    // Name a missing input before anything else.
    decode::open(&a.input)?;
    let settings = settings(&a.chain, Some(a.out), 0)?;
    let bar = FileProgress::new(&label(&a.input), a.quiet);
    let report = job::process_file(&a.input, &a.output, &settings, &bar);
    bar.finish();
    job::print_report(&a.input, &a.output, &settings.chain, &report?);
    Ok(ExitCode::SUCCESS)
}

fn analyze(a: AnalyzeArgs) -> Result<ExitCode> {
    for written in [&a.plot, &a.profile].into_iter().flatten() {
        if same_file(&a.input, written) {
            return Err(fail!(
                "{} is the input; choose another name",
                shown(written)
            ));
        }
    }
    if let (Some(plot), Some(profile)) = (&a.plot, &a.profile) {
        if plot == profile || same_file(plot, profile) {
            return Err(fail!(
                "--plot and --profile name the same file {}; choose two names",
                shown(plot)
            ));
        }
    }
    let source = decode::open(&a.input)?;
    let settings = settings(&a.chain, None, 0)?;
    if source.rate > 0 && source.channels > 0 {
        settings.check(source.channels, source.rate)?;
    }
    let pending = match &a.plot {
        Some(p) => Some(output::PendingFile::create(p)?),
        None => None,
    };
    let pending_profile = match &a.profile {
        Some(p) => Some(output::PendingFile::create(p)?),
        None => None,
    };
    let bar = FileProgress::new(&label(&a.input), a.quiet);
    bar.stage(0, "decode");
    let hint = source.frames_hint.unwrap_or(0);
    let format = source.format;
    let track = source.read_all(&|f| bar.within(0, f as f64 / hint as f64));
    let track = track?;
    if let Some(w) = &track.warning {
        bar.warn(w);
    }
    settings.check(track.channels, track.rate)?;
    bar.stage(1, "render");
    let mut out = vec![0.0f32; track.samples.len()];
    let before = job::render(&track, &settings, &mut out, &|d, t| {
        bar.within(1, d as f64 / t as f64)
    });
    bar.stage(2, "measure");
    let after = before.and_then(|b| Ok((b, job::measure(&out, track.channels, track.rate)?)));
    // The input's profile: the match measured it already.
    let profile = after.and_then(|after| {
        let profile = match (&pending_profile, &after.0 .1) {
            (None, _) => None,
            (Some(_), Some(m)) => Some(m.track.clone()),
            (Some(_), None) => Some(matching::profile_of(
                &track.samples,
                track.channels,
                track.rate,
                settings.threads,
                &shown(&a.input),
            )?),
        };
        Ok((after, profile))
    });
    bar.finish();
    let (((before, matched), after), profile) = profile?;
    let (channels, rate) = (track.channels, track.rate);
    say!(
        "{}: {format}, {channels} ch, {rate} Hz, {}",
        a.input.display(),
        job::duration(track.seconds())
    );
    // With --match the EQ is the match's, on the profile grid.
    let chain = match &matched {
        Some(m) => chain::Chain {
            gains: m.gains.gains_db.clone(),
            ..settings.chain.clone()
        },
        None => settings.chain.clone(),
    };
    say!("chain:   {}", chain.description);
    job::print_loudness(&before, &after);
    if let Some(m) = &matched {
        say!("match:   {}", matching::tonal_text(m));
    }
    analysis_tables(
        &track.samples,
        &out,
        channels,
        rate,
        &a.chain.layout.bands(),
    )?;
    if let (Some(path), Some(pending)) = (&a.plot, pending) {
        let fft = match &matched {
            Some(_) => tonecore::render::matching::match_fft_size(rate),
            None => analysis::EQ_FFT,
        };
        plot_pair(
            &track.samples,
            &out,
            channels,
            rate,
            &chain,
            fft,
            pending,
            format!("{}  ({format}, {channels} ch, {rate} Hz)", label(&a.input)),
            legends(&before, &after),
        )?;
        say!("wrote {}", path.display());
    }
    if let (Some(path), Some((pending, file)), Some(profile)) =
        (&a.profile, pending_profile, profile)
    {
        output::write_text(pending, file, &(profile.to_json() + "\n"))?;
        say!(
            "profile: {} of {} bands, {} LUFS, {} dBTP; wrote {}",
            profile.present_bands(),
            profile.spectrum_db.len(),
            job::lufs(profile.integrated_lufs.unwrap_or(f64::NEG_INFINITY)),
            job::lufs(profile.true_peak_dbtp.unwrap_or(f64::NEG_INFINITY)),
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints energy per band of input and output (dB re. the input's loudest band).
fn analysis_tables(
    input: &[f32],
    output: &[f32],
    channels: usize,
    rate: u32,
    layout: &tonecore::BandLayout,
) -> Result<()> {
    let (Some(before), Some(after)) = (
        analysis::band_energy(input, channels, rate, layout)?,
        analysis::band_energy(output, channels, rate, layout)?,
    ) else {
        say!("band energy: the track is shorter than one 4096-sample frame");
        return Ok(());
    };
    let top = before.iter().cloned().fold(f64::MIN, f64::max);
    say!("energy per band, dB re. the input's loudest band:");
    say!(
        "{:>9} {:>7} {:>7} {:>7}",
        "band",
        "input",
        "output",
        "change"
    );
    for ((c, b), a) in layout.centers().iter().zip(&before).zip(&after) {
        say!(
            "{:>9} {:>7.1} {:>7.1} {:>+7.1}",
            chain::hz(*c),
            b - top,
            a - top,
            a - b
        );
    }
    Ok(())
}

/// Legend labels with the integrated loudness and true peak of input and output.
fn legends(before: &LoudnessReport, after: &LoudnessReport) -> [String; 2] {
    let l = |name: &str, r: &LoudnessReport| {
        format!(
            "{name} {} LUFS, {} dBTP",
            lufs(r.integrated),
            lufs(r.true_peak)
        )
    };
    [l("input ", before), l("output", after)]
}

/// Draws the spectrum of `input` and `output` and the EQ response (`chain`'s gains, designed
/// at `fft` points) into the pending PNG.
#[allow(clippy::too_many_arguments)]
fn plot_pair(
    input: &[f32],
    output: &[f32],
    channels: usize,
    rate: u32,
    chain: &chain::Chain,
    fft: usize,
    pending: (output::PendingFile, std::fs::File),
    title: String,
    legend: [String; 2],
) -> Result<()> {
    let freqs = analysis::display_frequencies(rate, 480);
    let before = analysis::smooth_db(
        &analysis::average_spectrum(input, channels)?,
        rate,
        &freqs,
        1.0 / 6.0,
    );
    let after = analysis::smooth_db(
        &analysis::average_spectrum(output, channels)?,
        rate,
        &freqs,
        1.0 / 6.0,
    );
    let eq = analysis::eq_response_db(&chain.layout, &chain.gains, rate, &freqs, fft)?;
    let bands = chain
        .layout
        .centers()
        .into_iter()
        .zip(chain.gains.iter().cloned())
        .collect();
    plot::write_png(
        pending,
        rate,
        &plot::PlotData {
            title,
            subtitle: chain.description.clone(),
            legend,
            freqs: &freqs,
            before_db: &before,
            after_db: &after,
            eq_db: &eq,
            bands,
        },
    )
}

/// Prints a clap error as one line (help and version print as usual).
fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let text = e.render().to_string();
            let line = text
                .lines()
                .find(|l| l.starts_with("error:"))
                .unwrap_or("error: invalid command line");
            eprintln!("{line} (see tonecore --help)");
            ExitCode::from(2)
        }
    }
}

fn command() -> clap::Command {
    let presets = chain::presets_help();
    Cli::command()
        .mut_subcommand("process", |c| c.after_help(presets.clone()))
        .mut_subcommand("analyze", |c| c.after_help(presets.clone()))
        .mut_subcommand("batch", |c| c.after_help(presets.clone()))
        .mut_subcommand("match", |c| c.after_help(matching::HELP))
        .mut_subcommand("demo", |c| {
            c.after_help(
                "The demo track: 30 s of stereo 44.1 kHz music-like signal (bass, chords, kick, \
                 snare, hi-hats, a noise floor; a quiet 10 s intro, then a loud chorus), processed \
                 with the warm preset -> level -14 LUFS -> limiter -1 dBFS, written as 24-bit WAV.",
            )
        })
}

fn main() -> ExitCode {
    let matches = match command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return clap_error(e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => return clap_error(e),
    };
    install_ctrlc();
    install_panic_hook();
    let result = match cli.command {
        None => demo::run(Path::new("."), false),
        Some(Command::Demo(a)) => demo::run(&a.out_dir, a.quiet),
        Some(Command::Process(a)) => process(a),
        Some(Command::Match(a)) => matching::run(a),
        Some(Command::Analyze(a)) => analyze(a),
        Some(Command::Batch(a)) => batch::run(a),
    };
    // After SIGHUP the terminal may be gone: a failed write must not panic.
    let mut err = std::io::stderr();
    match result {
        Ok(code) => code,
        Err(CliError::Interrupted) => {
            let _ = writeln!(err, "error: interrupted (no partial output was left)");
            ExitCode::from(130)
        }
        Err(CliError::Message(m)) => {
            let _ = writeln!(err, "error: {m}");
            ExitCode::FAILURE
        }
    }
}
