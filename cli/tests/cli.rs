//! Runs the built `tonecore` binary on generated files and checks what it writes and says.
//!
//! References are independent of the code under test: test signals are sines whose level is
//! known in closed form (EBU Tech 3341: a stereo 1 kHz sine at X dBFS reads X LUFS), outputs
//! are read back with hound and measured here (RMS, Goertzel), FLAC/MP3/Ogg inputs come from the
//! real encoders (`tests/fixtures/make-fixtures.sh`).

use std::f64::consts::PI;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_tonecore");

/// A scratch folder, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("tonecore-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Every name in the folder (hidden files included), sorted.
    fn names(&self) -> Vec<String> {
        names(&self.0)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run tonecore")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Writes a 16-bit WAV holding a `freq` Hz sine with peak `dbfs` on every channel.
fn write_sine(path: &Path, rate: u32, channels: u16, seconds: f64, freq: f64, dbfs: f64) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let amp = 10f64.powf(dbfs / 20.0);
    for i in 0..(rate as f64 * seconds) as usize {
        let v = amp * (2.0 * PI * freq * i as f64 / rate as f64).sin();
        for _ in 0..channels {
            w.write_sample((v * 32768.0).round() as i16).unwrap();
        }
    }
    w.finalize().unwrap();
}

/// Reads a WAV into per-channel f64 samples (integers scaled by 2^(bits-1)).
fn read_wav(path: &Path) -> (hound::WavSpec, Vec<Vec<f64>>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let c = spec.channels as usize;
    let flat: Vec<f64> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| s.unwrap() as f64).collect(),
        hound::SampleFormat::Int => {
            let scale = (1u64 << (spec.bits_per_sample - 1)) as f64;
            r.samples::<i32>()
                .map(|s| s.unwrap() as f64 / scale)
                .collect()
        }
    };
    let chans = (0..c)
        .map(|k| flat.iter().skip(k).step_by(c).cloned().collect())
        .collect();
    (spec, chans)
}

/// The peak level (dBFS) of a sine from its RMS: 20·log10(rms·√2).
fn sine_level_db(x: &[f64]) -> f64 {
    let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    10.0 * (2.0 * ms).log10()
}

/// Amplitude of the `freq` Hz component of `x` (Goertzel / single-bin DFT).
fn amplitude_at(x: &[f64], rate: f64, freq: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (i, v) in x.iter().enumerate() {
        let a = 2.0 * PI * freq * i as f64 / rate;
        re += v * a.cos();
        im -= v * a.sin();
    }
    2.0 * (re * re + im * im).sqrt() / x.len() as f64
}

/// The first number after `label` at the start of a line of the report.
fn reported(out: &str, label: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no line {label} in:\n{out}"));
    line[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no number in {line}"))
}

/// A failed run: non-zero status `code`, exactly one line on stderr, starting `error:` and
/// containing `needle`, nothing on stdout.
fn assert_error(o: &Output, code: i32, needle: &str) {
    let err = stderr(o);
    eprintln!("checking {needle:?}");
    assert_eq!(o.status.code(), Some(code), "status; stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line expected: {err:?}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "{needle:?} not in {err:?}");
    assert!(stdout(o).is_empty(), "stdout: {}", stdout(o));
}

#[test]
fn help_of_the_command_and_every_subcommand() {
    let dir = Scratch::new("help");
    for args in [
        vec!["--help"],
        vec!["-h"],
        vec!["help"],
        vec!["process", "--help"],
        vec!["analyze", "--help"],
        vec!["batch", "--help"],
        vec!["demo", "--help"],
        vec!["match", "--help"],
        vec!["process", "-h"],
    ] {
        let o = run_in(&dir.0, &args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let text = stdout(&o);
        assert!(text.contains("Usage: tonecore"), "{args:?}: {text}");
    }
    let top = stdout(&run_in(&dir.0, &["--help"]));
    for sub in ["process", "analyze", "batch", "demo", "match"] {
        assert!(top.contains(sub), "{top}");
    }
    // The presets are documented with their gains in the help of the commands that take them.
    for sub in ["process", "analyze", "batch"] {
        let text = stdout(&run_in(&dir.0, &[sub, "--help"]));
        for preset in [
            "flat",
            "warm",
            "bright",
            "vocal-presence",
            "bass-boost",
            "loudness",
        ] {
            assert!(text.contains(preset), "{sub}: {preset}");
        }
        assert!(
            text.contains("[+3 +3 +2.5 +2 +1.5 +1 +0.5 0"),
            "warm gains in {sub}"
        );
        assert!(text.contains("ISO 226"), "{sub}");
    }
    let v = run_in(&dir.0, &["--version"]);
    assert!(stdout(&v).starts_with("tonecore "), "{}", stdout(&v));
    // Nothing was written by asking for help.
    assert!(dir.names().is_empty());
}

#[test]
fn process_wav_keeps_length_format_and_level_through_a_flat_chain() {
    let dir = Scratch::new("flat");
    let input = dir.join("in.wav");
    write_sine(&input, 44_100, 2, 3.0, 1000.0, -23.0);
    let o = run_in(
        &dir.0,
        &["process", "in.wav", "out.wav", "--bits", "16", "-q"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.starts_with("in.wav: WAV, 2 ch, 44100 Hz, 0:03.0"),
        "{text}"
    );
    // EBU Tech 3341 case 1: a stereo 1 kHz sine at -23 dBFS reads -23.0 LUFS.
    assert!((reported(&text, "input") + 23.0).abs() < 0.1, "{text}");
    assert!((reported(&text, "output") + 23.0).abs() < 0.1, "{text}");
    let (spec, out) = read_wav(&dir.join("out.wav"));
    assert_eq!(
        (
            spec.channels,
            spec.sample_rate,
            spec.bits_per_sample,
            spec.sample_format
        ),
        (2, 44_100, 16, hound::SampleFormat::Int)
    );
    let (_, inp) = read_wav(&input);
    assert_eq!(out[0].len(), 3 * 44_100);
    // Flat EQ, no level matching, peaks far below the ceiling: the output is the input (the
    // chain's latency removed), within the rounding of a 16-bit round trip.
    for c in 0..2 {
        let worst = inp[c]
            .iter()
            .zip(&out[c])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst <= 2.0 / 32768.0, "channel {c}: {worst}");
    }
    assert_eq!(dir.names(), ["in.wav", "out.wav"]);
}

#[test]
fn process_applies_the_eq_the_level_target_and_the_bit_depth() {
    let dir = Scratch::new("eq");
    write_sine(&dir.join("in.wav"), 44_100, 2, 3.0, 1000.0, -30.0);
    // +6 dB in the critical band around 1 kHz (920–1080 Hz), 24-bit output.
    let o = run_in(
        &dir.0,
        &[
            "process", "in.wav", "eq.wav", "--eq", "1k=+6", "--bits", "24", "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (spec, out) = read_wav(&dir.join("eq.wav"));
    assert_eq!(
        (spec.bits_per_sample, spec.sample_format),
        (24, hound::SampleFormat::Int)
    );
    let steady = &out[0][44_100..2 * 44_100];
    let level = sine_level_db(steady);
    assert!((level - (-24.0)).abs() < 0.3, "{level}");

    // Level matching: a -10 dBFS sine (-10 LUFS) led to -20 LUFS; the cut follows the 300 ms
    // attack, so the last second sits at the target. 32-bit float output.
    write_sine(&dir.join("loud.wav"), 48_000, 2, 6.0, 1000.0, -10.0);
    let o = run_in(
        &dir.0,
        &[
            "process",
            "loud.wav",
            "lev.wav",
            "--target-lufs",
            "-20",
            "--bits",
            "32",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (spec, out) = read_wav(&dir.join("lev.wav"));
    assert_eq!(
        (spec.bits_per_sample, spec.sample_format, spec.sample_rate),
        (32, hound::SampleFormat::Float, 48_000)
    );
    assert_eq!(out[1].len(), 6 * 48_000);
    let last = sine_level_db(&out[1][5 * 48_000..]);
    assert!((last + 20.0).abs() < 0.5, "{last}");
    assert!(stdout(&o).contains("level -20.0 LUFS"), "{}", stdout(&o));
}

#[test]
fn phase_minimum_removes_the_pre_ringing_of_an_eq_boost() {
    // A click at 1 s through +12 dB at 100 Hz: the linear-phase kernel rings before it (its
    // symmetric half), the minimum-phase one starts at the click. 32-bit float out, no dither.
    let dir = Scratch::new("phase");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(dir.join("click.wav"), spec).unwrap();
    for i in 0..96_000 {
        w.write_sample(if i == 48_000 { 0.25f32 } else { 0.0 })
            .unwrap();
    }
    w.finalize().unwrap();
    let mut before = Vec::new();
    for phase in ["linear", "minimum"] {
        let out = format!("{phase}.wav");
        let o = run_in(
            &dir.0,
            &[
                "process",
                "click.wav",
                &out,
                "--eq",
                "100=+12",
                "--phase",
                phase,
                "--bits",
                "32",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        if phase == "minimum" {
            assert!(stdout(&o).contains("minimum-phase EQ"), "{}", stdout(&o));
        }
        let (_, y) = read_wav(&dir.join(&out));
        assert_eq!(y[0].len(), 96_000);
        // The 20 ms before the click; the click itself is there at its time in both.
        before.push(
            y[0][47_040..48_000]
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs())),
        );
        assert!(y[0][48_000].abs() > 0.01, "{phase}: {}", y[0][48_000]);
    }
    assert!(before[0] > 1e-3, "linear phase rings before: {}", before[0]);
    assert!(
        before[1] < 1e-7,
        "minimum phase rings before: {}",
        before[1]
    );
}

#[test]
fn match_takes_the_target_from_a_reference_file() {
    let dir = Scratch::new("match");
    write_sine(&dir.join("ref.wav"), 44_100, 2, 2.0, 1000.0, -26.0);
    write_sine(&dir.join("in.wav"), 44_100, 2, 6.0, 1000.0, -12.0);
    let o = run_in(
        &dir.0,
        &["process", "in.wav", "out.wav", "--match", "ref.wav", "-q"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("level -26.0 LUFS (as ref.wav)"),
        "{}",
        stdout(&o)
    );
    let (_, out) = read_wav(&dir.join("out.wav"));
    let last = sine_level_db(&out[0][5 * 44_100..]);
    assert!((last + 26.0).abs() < 0.5, "{last}");
}

#[test]
fn out_rate_resamples_with_the_pitch_and_level_kept() {
    let dir = Scratch::new("rate");
    write_sine(&dir.join("in.wav"), 44_100, 1, 2.0, 1000.0, -12.0);
    let o = run_in(
        &dir.0,
        &["process", "in.wav", "out.wav", "--out-rate", "48000", "-q"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (spec, out) = read_wav(&dir.join("out.wav"));
    assert_eq!((spec.sample_rate, spec.channels), (48_000, 1));
    assert_eq!(out[0].len(), 96_000);
    let mid = &out[0][24_000..72_000];
    // Still a 1 kHz tone at -12 dBFS (a mislabelled rate would put it at 918.75 Hz).
    let a = amplitude_at(mid, 48_000.0, 1000.0);
    assert!((20.0 * a.log10() + 12.0).abs() < 0.2, "{a}");
    assert!(amplitude_at(mid, 48_000.0, 918.75) < 0.01 * a);
}

#[test]
fn a_resampled_output_keeps_the_true_peak_ceiling() {
    // 96 kHz input: an 8 kHz tone plus a 24 kHz one phased to lower its peaks, written at
    // 44.1 kHz and pushed to 0 LUFS. Resampling removes the 30 kHz tone, which raises the
    // peaks by about 1.2 dB; the limiter runs at the written rate, after the resampler, so the
    // file's true peak (the `ebur128` crate's meter) stays under -1 dBTP.
    let dir = Scratch::new("rate-ceiling");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 96_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(dir.join("in.wav"), spec).unwrap();
    for i in 0..3 * 96_000 {
        let t = f64::from(i) / 96_000.0;
        let v = 0.5 * ((2.0 * PI * 8_000.0 * t).sin() + (2.0 * PI * 24_000.0 * t).sin() / 6.0);
        let v = (v * 32768.0).round() as i16;
        w.write_sample(v).unwrap();
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
    let o = run_in(
        &dir.0,
        &[
            "process",
            "in.wav",
            "out.wav",
            "--out-rate",
            "44100",
            "--target-lufs",
            "0",
            "--ceiling-db",
            "-6",
            "--bits",
            "32",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (spec, out) = read_wav(&dir.join("out.wav"));
    assert_eq!(spec.sample_rate, 44_100);
    let mut meter = ebur128::EbuR128::new(2, 44_100, ebur128::Mode::TRUE_PEAK).unwrap();
    meter
        .add_frames_planar_f64(&[&out[0][..], &out[1][..]])
        .unwrap();
    let tp = (0..2)
        .map(|c| meter.true_peak(c).unwrap())
        .fold(0.0f64, f64::max);
    assert!(
        20.0 * tp.log10() <= -6.0 + 1e-6,
        "true peak {}",
        20.0 * tp.log10()
    );
}

#[test]
fn flac_mp3_and_ogg_vorbis_inputs_decode_to_the_encoded_signal() {
    let dir = Scratch::new("formats");
    for (file, format, lufs_tol) in [
        ("tone.flac", "FLAC", 0.05),
        ("tone.mp3", "MP3", 0.6),
        ("tone.ogg", "Ogg Vorbis", 0.6),
    ] {
        let out = dir.join(&format!("{file}.wav"));
        let o = run_in(
            &dir.0,
            &[
                "process",
                fixture(file).to_str().unwrap(),
                out.to_str().unwrap(),
                "-q",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{file}: {}", stderr(&o));
        let text = stdout(&o);
        assert!(
            text.contains(&format!(": {format}, 2 ch, 44100 Hz, 0:01.0")),
            "{file}: {text}"
        );
        // The fixtures hold a stereo 1 kHz sine at -20 dBFS: -20 LUFS (lossy codecs: close).
        assert!(
            (reported(&text, "input") + 20.0).abs() < lufs_tol,
            "{file}: {text}"
        );
        let (spec, chans) = read_wav(&out);
        assert_eq!((spec.channels, spec.sample_rate), (2, 44_100));
        // Gapless decoding: exactly the encoded 44 100 frames.
        assert_eq!(chans[0].len(), 44_100, "{file}");
        let a = amplitude_at(&chans[1][11_025..33_075], 44_100.0, 1000.0);
        assert!((20.0 * a.log10() + 20.0).abs() < 0.5, "{file}: {a}");
    }
}

#[test]
fn analyze_reports_loudness_and_band_energy_and_plots() {
    let dir = Scratch::new("analyze");
    write_sine(&dir.join("in.wav"), 44_100, 2, 3.0, 1000.0, -23.0);
    let o = run_in(
        &dir.0,
        &[
            "analyze",
            "in.wav",
            "--plot",
            "plot.png",
            "--eq-preset",
            "bright",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!((reported(&text, "input") + 23.0).abs() < 0.1, "{text}");
    // Energy per band: the sine's band (920-1080 Hz) is the loudest, at 0 dB.
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("997 Hz"))
        .unwrap_or_else(|| panic!("{text}"));
    let cols: Vec<f64> = row
        .split_whitespace()
        .skip(2)
        .map(|t| t.parse().unwrap())
        .collect();
    assert_eq!(cols[0], 0.0, "{row}");
    assert!(text.contains("wrote plot.png"), "{text}");
    let png = std::fs::read(dir.join("plot.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width and height.
    assert_eq!(&png[16..24], &[0, 0, 4, 176, 0, 0, 3, 52]);
    assert_eq!(dir.names(), ["in.wav", "plot.png"]);
}

#[test]
fn batch_processes_a_folder_and_reports_a_broken_file_without_stopping() {
    let dir = Scratch::new("batch");
    let inp = dir.join("in");
    std::fs::create_dir(&inp).unwrap();
    for (i, name) in ["a.wav", "b.wav", "c.wav"].iter().enumerate() {
        write_sine(&inp.join(name), 44_100, 2, 1.0 + i as f64, 500.0, -18.0);
    }
    std::fs::copy(fixture("tone.flac"), inp.join("d.flac")).unwrap();
    // A WAV header followed by garbage, and a file that is not audio at all (skipped).
    std::fs::write(
        inp.join("broken.wav"),
        b"RIFF\x24\x00\x00\x00WAVEjunkjunkjunk",
    )
    .unwrap();
    std::fs::write(inp.join("notes.txt"), b"not audio").unwrap();
    let o = run_in(&dir.0, &["batch", "in", "out", "--jobs", "2", "-q"]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}\n{}", stderr(&o));
    let failed: Vec<&str> = text.lines().filter(|l| l.contains("FAILED")).collect();
    assert_eq!(failed.len(), 1, "{text}");
    assert!(failed[0].starts_with("broken.wav"), "{text}");
    assert!(failed[0].contains("not a readable WAV file"), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.contains("  ok  ")).count(),
        4,
        "{text}"
    );
    assert!(text.contains("4 of 5 files written"), "{text}");
    // Complete outputs only: no temporary file, nothing for the broken input.
    assert_eq!(
        names(&dir.join("out")),
        ["a.wav", "b.wav", "c.wav", "d.wav"]
    );
    for (name, frames) in [("a.wav", 44_100), ("c.wav", 3 * 44_100), ("d.wav", 44_100)] {
        let (spec, chans) = read_wav(&dir.join("out").join(name));
        assert_eq!((spec.sample_rate, spec.bits_per_sample), (44_100, 24));
        assert_eq!(chans[0].len(), frames, "{name}");
    }
    // All good: status 0.
    std::fs::remove_file(inp.join("broken.wav")).unwrap();
    let o = run_in(&dir.0, &["batch", "in", "out2", "--jobs", "1", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("4 of 4 files written"));
}

#[test]
fn demo_writes_its_files_and_runs_without_arguments() {
    let dir = Scratch::new("demo");
    let o = run_in(&dir.0, &["demo", "--out-dir", "d", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(
        names(&dir.join("d")),
        [
            "tonecore-demo-in.wav",
            "tonecore-demo-out.wav",
            "tonecore-demo.png"
        ]
    );
    for name in ["tonecore-demo-in.wav", "tonecore-demo-out.wav"] {
        let (spec, chans) = read_wav(&dir.join("d").join(name));
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (2, 44_100, 24)
        );
        assert_eq!(chans[0].len(), 30 * 44_100);
    }
    // The chain normalises to -14 LUFS under a -1 dBTP true-peak ceiling: independently, the
    // output's sample peak is under the ceiling, and it is louder than the input.
    let (_, inp) = read_wav(&dir.join("d/tonecore-demo-in.wav"));
    let (_, out) = read_wav(&dir.join("d/tonecore-demo-out.wav"));
    let peak = |x: &[Vec<f64>]| x.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(20.0 * peak(&out).log10() <= -1.0 + 0.01);
    let rms = |x: &[Vec<f64>]| {
        let n = x.iter().map(|c| c.len()).sum::<usize>() as f64;
        (x.iter().flatten().map(|v| v * v).sum::<f64>() / n).sqrt()
    };
    assert!(rms(&out) > 1.5 * rms(&inp));
    let after = reported(&text, "output");
    assert!((after + 14.0).abs() <= 0.1, "{text}");
    assert!(text.contains("chain:   EQ warm > level -14.0 LUFS > limiter -1.0 dBTP"));
    assert!(text.contains("target reached"), "{text}");
    let png = std::fs::read(dir.join("d/tonecore-demo.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // No arguments: the demo, into the current folder.
    let bare = Scratch::new("demo-bare");
    let o = Command::new(BIN)
        .current_dir(&bare.0)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("tonecore demo:"));
    assert_eq!(
        bare.names(),
        [
            "tonecore-demo-in.wav",
            "tonecore-demo-out.wav",
            "tonecore-demo.png"
        ]
    );
}

#[test]
fn errors_are_one_line_with_a_nonzero_status_and_write_nothing() {
    let dir = Scratch::new("errors");
    write_sine(&dir.join("in.wav"), 44_100, 2, 2.0, 1000.0, -20.0);
    std::fs::write(
        dir.join("song.aiff"),
        b"FORM\x00\x00\x10\x00AIFFCOMM\x00\x00\x00\x12",
    )
    .unwrap();
    std::fs::write(
        dir.join("broken.wav"),
        b"RIFF\x24\x00\x00\x00WAVEjunkjunkjunk",
    )
    .unwrap();
    std::fs::write(dir.join("text.mp3"), b"hello, this is not audio").unwrap();
    std::fs::write(dir.join("afile"), b"x").unwrap();
    let before = dir.names();
    let p = |args: &[&str]| run_in(&dir.0, args);

    assert_error(
        &p(&["process", "missing.wav", "out.wav"]),
        1,
        "cannot open 'missing.wav': No such file or directory",
    );
    assert_error(
        &p(&["process", "song.aiff", "out.wav"]),
        1,
        "'song.aiff': AIFF is not supported (tonecore reads WAV, FLAC, MP3 and Ogg Vorbis)",
    );
    assert_error(
        &p(&["process", "broken.wav", "out.wav"]),
        1,
        "'broken.wav' is not a readable WAV file",
    );
    assert_error(
        &p(&["process", "text.mp3", "out.wav"]),
        1,
        "unknown or unsupported format",
    );
    assert_error(
        &p(&["analyze", "missing.flac"]),
        1,
        "cannot open 'missing.flac'",
    );
    assert_error(
        &p(&["process", "in.wav", "no/such/dir/out.wav"]),
        1,
        "the output folder 'no/such/dir' does not exist",
    );
    assert_error(
        &p(&["process", "in.wav", "afile/out.wav"]),
        1,
        "'afile' is not a folder",
    );
    assert_error(&p(&["process", "in.wav", "in.wav"]), 1, "is the input");
    assert_error(
        &p(&["process", "in.wav", "out.wav", "--eq", "1k=+40"]),
        1,
        "--eq 1k=+40: gain +40 dB is outside the EQ's range of -24 to +24 dB",
    );
    assert_error(
        &p(&["process", "in.wav", "out.wav", "--eq", "30k=+3"]),
        1,
        "--eq 30k=+3: unknown band",
    );
    assert_error(
        &p(&["process", "in.wav", "out.wav", "--eq", "bass"]),
        1,
        "expected BAND=DB",
    );
    assert_error(
        &p(&["process", "in.wav", "out.wav", "--target-lufs", "-80"]),
        2,
        "target -80 LUFS is outside -70 to 0 LUFS",
    );
    assert_error(
        &p(&["process", "in.wav", "out.wav", "--target-lufs", "loud"]),
        2,
        "'loud' is not a number",
    );
    assert_error(
        &p(&["process", "in.wav", "out.wav", "--ceiling-db", "3"]),
        2,
        "outside -60 to 0 dBFS",
    );
    assert_error(
        &p(&[
            "process",
            "in.wav",
            "out.wav",
            "--eq-preset",
            "warm",
            "--eq",
            "1k=1",
        ]),
        2,
        "cannot be used with",
    );
    assert_error(
        &p(&["process", "in.wav", "out.wav", "--eq-preset", "shiny"]),
        2,
        "invalid value 'shiny'",
    );
    assert_error(
        &p(&[
            "process",
            "in.wav",
            "out.wav",
            "--eq-preset",
            "warm",
            "--layout",
            "octave",
        ]),
        1,
        "critical-band gains",
    );
    assert_error(
        &p(&["process", "in.wav", "out.wav", "--eq-preset", "warm", "--chunk-seconds", "0.06"]),
        1,
        "--chunk-seconds 0.06: a chunk must be longer than the chain's settle time plus the crossfade (0.",
    );
    assert_error(
        &p(&["process", "in.wav", "out.wav", "--match", "missing.wav"]),
        1,
        "cannot open 'missing.wav'",
    );
    assert_error(&p(&["process", "in.wav"]), 2, "required");
    assert_error(&p(&["frobnicate"]), 2, "unrecognized subcommand");
    assert_error(
        &p(&["batch", "nodir", "out"]),
        1,
        "the input folder 'nodir' does not exist",
    );
    assert_error(
        &p(&["batch", ".", "."]),
        1,
        "the output folder is the input folder",
    );
    assert_error(
        &p(&["analyze", "in.wav", "--plot", "no/dir/p.png"]),
        1,
        "the output folder 'no/dir' does not exist",
    );
    // Nothing was written by any of them: no output, no temporary file.
    assert_eq!(dir.names(), before);

    // A folder that cannot be written (only checkable when not running as root).
    let ro = dir.join("ro");
    std::fs::create_dir(&ro).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(ro.join("probe"), b"").is_err() {
        assert_error(
            &p(&["process", "in.wav", "ro/out.wav"]),
            1,
            "cannot write to the output folder 'ro': Permission denied",
        );
    } else {
        std::fs::remove_file(ro.join("probe")).unwrap();
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(names(&ro).is_empty());
}

#[test]
fn ctrl_c_leaves_either_a_complete_file_or_nothing() {
    let dir = Scratch::new("sigint");
    write_sine(&dir.join("in.wav"), 44_100, 2, 120.0, 440.0, -20.0);
    let child = Command::new(BIN)
        .args(["process", "in.wav", "out.wav", "--threads", "1", "-q"])
        .current_dir(&dir.0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let o = child.wait_with_output().unwrap();
    match o.status.code() {
        // Interrupted: one line, nothing left behind.
        Some(130) => {
            assert_eq!(
                stderr(&o),
                "error: interrupted (no partial output was left)\n"
            );
            assert_eq!(dir.names(), ["in.wav"]);
        }
        // Finished before the signal arrived: a complete file.
        Some(0) => {
            let (_, chans) = read_wav(&dir.join("out.wav"));
            assert_eq!(chans[0].len(), 120 * 44_100);
            assert_eq!(dir.names(), ["in.wav", "out.wav"]);
        }
        other => panic!("status {other:?}: {}", stderr(&o)),
    }
}

#[test]
fn ctrl_c_stops_a_batch_with_only_complete_files_left() {
    let dir = Scratch::new("sigint-batch");
    let inp = dir.join("in");
    std::fs::create_dir(&inp).unwrap();
    write_sine(&inp.join("a.wav"), 44_100, 2, 20.0, 440.0, -20.0);
    for name in ["b.wav", "c.wav", "d.wav", "e.wav", "f.wav"] {
        std::fs::copy(inp.join("a.wav"), inp.join(name)).unwrap();
    }
    let child = Command::new(BIN)
        .args(["batch", "in", "out", "--jobs", "2", "-q"])
        .current_dir(&dir.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let o = child.wait_with_output().unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 130)),
        "{:?}: {}",
        o.status,
        stderr(&o)
    );
    // Whatever was stopped: every file left is a complete output, no temporary file remains.
    for name in names(&dir.join("out")) {
        assert!(name.ends_with(".wav") && !name.starts_with('.'), "{name}");
        let (_, chans) = read_wav(&dir.join("out").join(&name));
        assert_eq!(chans[0].len(), 20 * 44_100, "{name}");
    }
    if o.status.code() == Some(130) {
        assert_eq!(
            stderr(&o),
            "error: interrupted (no partial output was left)\n"
        );
        assert!(
            stdout(&o).contains("(interrupted, nothing written)"),
            "{}",
            stdout(&o)
        );
    }
}

#[test]
fn non_finite_and_absurd_samples_in_a_float_wav_are_treated_as_silence() {
    let dir = Scratch::new("nan");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 44_100,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(dir.join("in.wav"), spec).unwrap();
    for i in 0..44_100 {
        let v = if i % 1000 == 0 {
            f32::NAN
        } else if i % 1000 == 500 {
            f32::INFINITY
        } else if i % 1000 == 250 {
            1e30
        } else {
            0.1 * (2.0 * PI * 1000.0 * i as f64 / 44_100.0).sin() as f32
        };
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
    let o = run_in(&dir.0, &["analyze", "in.wav", "--plot", "p.png", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_in(
        &dir.0,
        &["process", "in.wav", "out.wav", "--bits", "32", "-q"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (_, out) = read_wav(&dir.join("out.wav"));
    assert_eq!(out[0].len(), 44_100);
    assert!(out[0].iter().all(|v| v.is_finite() && v.abs() <= 0.11));
}

/// −1 dBFS as a linear amplitude.
fn ceiling_minus_1() -> f64 {
    10f64.powf(-1.0 / 20.0)
}

/// Writes a 16-bit WAV holding a full-scale (±32767) `freq` Hz square wave on every channel.
fn write_square(path: &Path, rate: u32, channels: u16, seconds: f64, freq: f64) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..(rate as f64 * seconds) as usize {
        let v: i16 = if (i as f64 * freq / rate as f64).fract() < 0.5 {
            32767
        } else {
            -32767
        };
        for _ in 0..channels {
            w.write_sample(v).unwrap();
        }
    }
    w.finalize().unwrap();
}

/// Writes a 32-bit float WAV holding a `freq` Hz sine with peak `dbfs` (may be above 0 dBFS).
fn write_float_sine(path: &Path, rate: u32, seconds: f64, freq: f64, dbfs: f64) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let amp = 10f64.powf(dbfs / 20.0);
    for i in 0..(rate as f64 * seconds) as usize {
        let v = (amp * (2.0 * PI * freq * i as f64 / rate as f64).sin()) as f32;
        w.write_sample(v).unwrap();
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
}

/// The integers of an integer WAV (interleaved) and its bit depth.
fn wav_ints(path: &Path) -> (u16, Vec<i32>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    assert_eq!(spec.sample_format, hound::SampleFormat::Int);
    let ints = r.samples::<i32>().map(|s| s.unwrap()).collect();
    (spec.bits_per_sample, ints)
}

/// The integers of a FLAC file (interleaved) and its bit depth, decoded by symphonia with the
/// STREAMINFO MD5 checked.
fn flac_ints(path: &Path) -> (u16, Vec<i32>) {
    use symphonia::core::audio::{AudioBufferRef, Signal};
    use symphonia::core::codecs::DecoderOptions;
    use symphonia::core::errors::Error;
    use symphonia::core::io::MediaSourceStream;
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..4], b"fLaC", "{} is not FLAC", path.display());
    let mss = MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes)), Default::default());
    let mut format = symphonia::default::get_probe()
        .format(
            &Default::default(),
            mss,
            &Default::default(),
            &Default::default(),
        )
        .unwrap()
        .format;
    let params = format.default_track().unwrap().codec_params.clone();
    let bits = params.bits_per_sample.unwrap();
    let channels = params.channels.unwrap().count();
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions { verify: true })
        .unwrap();
    let mut ints = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => panic!("{e}"),
        };
        let AudioBufferRef::S32(buf) = decoder.decode(&packet).unwrap() else {
            panic!("FLAC decodes to i32");
        };
        for i in 0..buf.frames() {
            for c in 0..channels {
                ints.push(buf.chan(c)[i] >> (32 - bits));
            }
        }
    }
    assert_eq!(
        decoder.finalize().verify_ok,
        Some(true),
        "MD5 of {}",
        path.display()
    );
    (bits as u16, ints)
}

/// The largest |sample| of integers of `bits`, as a decoder reads it (int / 2^(bits-1)).
fn int_peak(bits: u16, ints: &[i32]) -> f64 {
    let top = ints.iter().map(|v| v.unsigned_abs()).max().unwrap();
    top as f64 / (1u64 << (bits - 1)) as f64
}

#[test]
fn integer_outputs_never_exceed_the_ceiling_after_quantisation() {
    let dir = Scratch::new("ceiling");
    write_square(&dir.join("square.wav"), 44_100, 2, 2.0, 1000.0);
    write_float_sine(&dir.join("hot.wav"), 48_000, 2.0, 997.0, 12.0);
    let c = ceiling_minus_1();
    for input in ["square.wav", "hot.wav"] {
        for (out, bits, extra) in [
            ("o16.wav", "16", None),
            ("o16n.wav", "16", Some("none")),
            ("o24.wav", "24", None),
            ("o24t.wav", "24", Some("tpdf")),
            ("o16.flac", "16", None),
            ("o24.FLAC", "24", None),
        ] {
            let mut args = vec![
                "process",
                input,
                out,
                "--bits",
                bits,
                "--ceiling-db",
                "-1",
                "-q",
            ];
            if let Some(d) = extra {
                args.extend(["--dither", d]);
            }
            let o = run_in(&dir.0, &args);
            assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
            let path = dir.join(out);
            let (b, ints) = if out.to_lowercase().ends_with(".flac") {
                flac_ints(&path)
            } else {
                wav_ints(&path)
            };
            assert_eq!(b.to_string(), bits, "{out}");
            let peak = int_peak(b, &ints);
            assert!(peak <= c, "{input} -> {out}: peak {peak} above {c}");
            // Loud enough that the limiter, not the input's level, keeps it under the ceiling
            // (a sample-peak limiter puts these inputs on the ceiling itself, where plain
            // rounding went 1 LSB over; a true-peak one leaves the samples lower).
            assert!(peak > c / 2.0, "{input} -> {out}: peak {peak}");
        }
        // 32-bit float: clamped to the ceiling as an f32 rounded towards zero.
        let o = run_in(
            &dir.0,
            &[
                "process",
                input,
                "f.wav",
                "--bits",
                "32",
                "--ceiling-db",
                "-1",
                "-q",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let (_, chans) = read_wav(&dir.join("f.wav"));
        let peak = chans.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(peak <= c && peak > c / 2.0, "{input}: float peak {peak}");
    }
    // A lower ceiling: -6 dBFS.
    let o = run_in(
        &dir.0,
        &[
            "process",
            "square.wav",
            "six.flac",
            "--bits",
            "16",
            "--ceiling-db",
            "-6",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (b, ints) = flac_ints(&dir.join("six.flac"));
    let six = 10f64.powf(-6.0 / 20.0);
    let peak = int_peak(b, &ints);
    assert!(peak <= six && peak > six / 2.0, "{peak}");
}

#[test]
fn flac_output_holds_the_integers_a_wav_would_and_reads_back() {
    let dir = Scratch::new("flac-out");
    write_sine(&dir.join("in.wav"), 44_100, 2, 3.0, 440.0, -6.0);
    let run = |out: &str, bits: &str| {
        let o = run_in(
            &dir.0,
            &[
                "process", "in.wav", out, "--bits", bits, "--dither", "none", "--eq", "1k=+3",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{out}: {}", stderr(&o));
        stdout(&o)
    };
    for bits in ["16", "24"] {
        let wav = format!("o{bits}.wav");
        let flac = format!("o{bits}.flac");
        run(&wav, bits);
        let text = run(&flac, bits);
        assert!(
            text.contains(&format!(
                "wrote:   {flac} ({bits}-bit PCM, 44100 Hz, 2 ch, 0:03.0)"
            )),
            "{text}"
        );
        let (wb, w) = wav_ints(&dir.join(&wav));
        let (fb, f) = flac_ints(&dir.join(&flac));
        assert_eq!((wb, fb), (bits.parse().unwrap(), bits.parse().unwrap()));
        assert_eq!(f.len(), 2 * 3 * 44_100);
        assert!(
            w == f,
            "{bits}-bit: the FLAC's integers differ from the WAV's"
        );
        // The command reads its own FLAC back; the loudness it reports for the written file
        // while writing is that of the file's contents.
        let a = run_in(&dir.0, &["analyze", &flac, "-q"]);
        assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
        let analysed = stdout(&a);
        assert!(analysed.starts_with(&format!("{flac}: FLAC, 2 ch, 44100 Hz, 0:03.0")));
        let written = reported(&text, "output");
        let read_back = reported(&analysed, "input");
        assert!(
            (written - read_back).abs() <= 0.1,
            "{written} vs {read_back}"
        );
    }
}

#[test]
fn bits_32_with_a_flac_output_is_refused_and_writes_nothing() {
    let dir = Scratch::new("flac32");
    write_sine(&dir.join("in.wav"), 44_100, 2, 1.0, 1000.0, -20.0);
    let before = dir.names();
    for out in ["x.flac", "X.Flac"] {
        let o = run_in(&dir.0, &["process", "in.wav", out, "--bits", "32"]);
        assert_error(&o, 2, "--bits 32: FLAC holds 16- or 24-bit integers only");
    }
    assert_eq!(dir.names(), before);
    // --dither takes tpdf or none only.
    let o = run_in(&dir.0, &["process", "in.wav", "o.wav", "--dither", "rpdf"]);
    assert_error(&o, 2, "rpdf");
    assert_eq!(dir.names(), before);
}

#[test]
fn dither_is_on_by_default_for_16_bit_only_and_reproducible() {
    let dir = Scratch::new("dither");
    write_sine(&dir.join("in.wav"), 44_100, 2, 2.0, 1000.0, -30.0);
    // The dither is seeded by the output's file name: same name in other folders, same seed.
    let out = |folder: &str, args: &[&str]| {
        std::fs::create_dir_all(dir.join(folder)).unwrap();
        let path = format!("{folder}/out.wav");
        let mut all = vec!["process", "in.wav", &path, "-q"];
        all.extend(args);
        let o = run_in(&dir.0, &all);
        assert_eq!(o.status.code(), Some(0), "{all:?}: {}", stderr(&o));
        std::fs::read(dir.join(&path)).unwrap()
    };
    let default16 = out("d16", &["--bits", "16"]);
    let tpdf16 = out("t16", &["--bits", "16", "--dither", "tpdf"]);
    let none16 = out("n16", &["--bits", "16", "--dither", "none"]);
    assert!(
        default16 == tpdf16,
        "16-bit: the default is TPDF, reproducibly"
    );
    assert!(default16 != none16, "16-bit: --dither none changes nothing");
    let default24 = out("d24", &["--bits", "24"]);
    let none24 = out("n24", &["--bits", "24", "--dither", "none"]);
    let tpdf24 = out("t24", &["--bits", "24", "--dither", "tpdf"]);
    assert!(default24 == none24, "24-bit: the default is no dither");
    assert!(default24 != tpdf24, "24-bit: --dither tpdf changes nothing");
    // Dithered 16-bit stays within 1.5 LSB of the undithered rounding's input (<= 1 LSB from it).
    let (_, d) = wav_ints(&dir.join("d16/out.wav"));
    let (_, n) = wav_ints(&dir.join("n16/out.wav"));
    assert!(d.iter().zip(&n).all(|(a, b)| (a - b).abs() <= 2));
    let differing = d.iter().zip(&n).filter(|(a, b)| a != b).count();
    assert!(differing > d.len() / 10, "{differing} of {}", d.len());

    // batch takes --dither too.
    std::fs::create_dir_all(dir.join("in")).unwrap();
    std::fs::copy(dir.join("in.wav"), dir.join("in/a.wav")).unwrap();
    for (folder, d) in [("b1", "none"), ("b2", "tpdf")] {
        let o = run_in(
            &dir.0,
            &["batch", "in", folder, "--bits", "16", "--dither", d, "-q"],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let b1 = std::fs::read(dir.join("b1/a.wav")).unwrap();
    let b2 = std::fs::read(dir.join("b2/a.wav")).unwrap();
    assert!(b1 != b2);
}

// --- hostile inputs and outputs (issue 16) -----------------------------------------------------

/// A 16-bit WAV written byte by byte: `extensible` uses a WAVE_FORMAT_EXTENSIBLE format chunk;
/// `data_len`/`riff_len` override the lengths the header declares; `body_frames` of a 440 Hz
/// sine at -20 dBFS follow.
fn wav_by_hand(
    rate: u32,
    channels: u16,
    extensible: bool,
    body_frames: usize,
    data_len: Option<u32>,
    riff_len: Option<u32>,
) -> Vec<u8> {
    let align = 2 * channels;
    let mut fmt = Vec::new();
    fmt.extend(if extensible { 0xFFFEu16 } else { 1 }.to_le_bytes());
    fmt.extend(channels.to_le_bytes());
    fmt.extend(rate.to_le_bytes());
    fmt.extend(rate.wrapping_mul(u32::from(align)).to_le_bytes());
    fmt.extend(align.to_le_bytes());
    fmt.extend(16u16.to_le_bytes());
    if extensible {
        fmt.extend(22u16.to_le_bytes()); // extension size
        fmt.extend(16u16.to_le_bytes()); // valid bits
        fmt.extend(3u32.to_le_bytes()); // channel mask: front left and right
                                        // KSDATAFORMAT_SUBTYPE_PCM
        fmt.extend([
            1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71,
        ]);
    }
    let mut body = Vec::new();
    for i in 0..body_frames {
        let v = (3277.0 * (2.0 * PI * 440.0 * i as f64 / 44_100.0).sin()).round() as i16;
        for _ in 0..channels {
            body.extend(v.to_le_bytes());
        }
    }
    let mut chunks = b"fmt ".to_vec();
    chunks.extend((fmt.len() as u32).to_le_bytes());
    chunks.extend(fmt);
    chunks.extend(b"data");
    chunks.extend(data_len.unwrap_or(body.len() as u32).to_le_bytes());
    chunks.extend(body);
    let mut v = b"RIFF".to_vec();
    v.extend(riff_len.unwrap_or(4 + chunks.len() as u32).to_le_bytes());
    v.extend(b"WAVE");
    v.extend(chunks);
    v
}

/// `run_in` with RUST_BACKTRACE=1, so any panic text would show on stderr.
fn run_loud(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run tonecore")
}

#[test]
fn bad_stream_parameters_are_refused_in_one_line_by_process_analyze_and_match() {
    let dir = Scratch::new("hostile-headers");
    write_sine(&dir.join("in.wav"), 44_100, 2, 1.0, 1000.0, -20.0);
    let files = [
        ("zero.wav", wav_by_hand(0, 2, false, 4410, None, None)),
        ("zero-ext.wav", wav_by_hand(0, 2, true, 4410, None, None)),
        (
            "no-channels.wav",
            wav_by_hand(44_100, 0, false, 0, Some(0), None),
        ),
        (
            "absurd.wav",
            wav_by_hand(4_000_000_000, 2, false, 4410, None, None),
        ),
        ("slow.wav", wav_by_hand(100, 1, false, 4410, None, None)),
    ];
    for (name, bytes) in &files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    // A first format chunk at 0 Hz, then a good one: the check here sees the good one, and
    // symphonia panics on the first; the panic becomes the error, with no panic text.
    let good = wav_by_hand(44_100, 2, false, 4410, None, None);
    let mut two = good[..12].to_vec();
    two.extend(&wav_by_hand(0, 2, false, 0, None, None)[12..36]);
    two.extend(&good[12..]);
    let riff = (two.len() - 8) as u32;
    two[4..8].copy_from_slice(&riff.to_le_bytes());
    std::fs::write(dir.join("two-fmt.wav"), two).unwrap();
    let before = dir.names();
    let cases = [
        (
            "zero.wav",
            "cannot read 'zero.wav': it declares 0 Hz; tonecore reads 8000 to 2822400 Hz",
        ),
        (
            "zero-ext.wav",
            "cannot read 'zero-ext.wav': it declares 0 Hz",
        ),
        (
            "no-channels.wav",
            "cannot read 'no-channels.wav': it declares 0 channels; tonecore processes 1 to 64",
        ),
        (
            "absurd.wav",
            "cannot read 'absurd.wav': it declares 4000000000 Hz",
        ),
        ("slow.wav", "cannot read 'slow.wav': it declares 100 Hz"),
        (
            "two-fmt.wav",
            "cannot read 'two-fmt.wav': the decoder failed on damaged data (TimeBase cannot have 0",
        ),
    ];
    for (name, message) in cases {
        let p = |args: &[&str]| run_loud(&dir.0, args);
        assert_error(&p(&["process", name, "out.wav"]), 1, message);
        assert_error(&p(&["analyze", name]), 1, message);
        assert_error(
            &p(&["process", "in.wav", "out.wav", "--match", name]),
            1,
            message,
        );
    }
    assert_eq!(dir.names(), before);
}

#[test]
fn one_bad_file_does_not_sink_a_batch() {
    let dir = Scratch::new("hostile-batch");
    let inp = dir.join("in");
    std::fs::create_dir(&inp).unwrap();
    for name in ["a.wav", "b.wav", "c.wav", "d.wav"] {
        write_sine(&inp.join(name), 44_100, 2, 1.0, 500.0, -18.0);
    }
    std::fs::write(
        inp.join("c0.wav"),
        wav_by_hand(0, 2, true, 4410, None, None),
    )
    .unwrap();
    let o = run_loud(&dir.0, &["batch", "in", "out", "--jobs", "1", "-q"]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}\n{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    let failed: Vec<&str> = text.lines().filter(|l| l.contains("FAILED")).collect();
    assert_eq!(failed.len(), 1, "{text}");
    assert!(
        failed[0].starts_with("c0.wav") && failed[0].contains("it declares 0 Hz"),
        "{text}"
    );
    assert!(text.contains("4 of 5 files written"), "{text}");
    assert_eq!(
        names(&dir.join("out")),
        ["a.wav", "b.wav", "c.wav", "d.wav"]
    );
    for name in ["a.wav", "b.wav", "c.wav", "d.wav"] {
        let (_, chans) = read_wav(&dir.join("out").join(name));
        assert_eq!(chans[0].len(), 44_100, "{name}");
    }
}

#[test]
fn a_file_ending_before_its_header_says_is_processed_with_a_warning() {
    let dir = Scratch::new("hostile-short");
    // Mono, 10 hours declared (RIFF and data lengths agree), 1 s present.
    let declared = 10 * 3600 * 44_100 * 2u32;
    std::fs::write(
        dir.join("long.wav"),
        wav_by_hand(
            44_100,
            1,
            false,
            44_100,
            Some(declared),
            Some(declared + 36),
        ),
    )
    .unwrap();
    // Lengths of 0xFFFFFFFF: a streaming writer's "unknown", no warning.
    std::fs::write(
        dir.join("stream.wav"),
        wav_by_hand(44_100, 2, false, 44_100, Some(u32::MAX), Some(u32::MAX)),
    )
    .unwrap();
    // FLAC and MP3 (its Info tag counts the frames) cut short.
    for ext in ["flac", "mp3"] {
        let bytes = std::fs::read(fixture(&format!("tone.{ext}"))).unwrap();
        std::fs::write(dir.join(&format!("cut.{ext}")), &bytes[..bytes.len() / 2]).unwrap();
    }
    let o = run_in(&dir.0, &["process", "long.wav", "long-out.wav", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "warning: 'long.wav' ends early: its header announces 1587600000 frames (36000.0 s) \
         but it holds 44100 (1.0 s); processing what is there\n"
    );
    let (_, chans) = read_wav(&dir.join("long-out.wav"));
    assert_eq!(chans[0].len(), 44_100);
    // analyze says it too.
    let o = run_in(&dir.0, &["analyze", "long.wav", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).starts_with("warning: 'long.wav' ends early"));

    let o = run_in(&dir.0, &["process", "stream.wav", "stream-out.wav", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let (_, chans) = read_wav(&dir.join("stream-out.wav"));
    assert_eq!(chans[0].len(), 44_100);

    for ext in ["flac", "mp3"] {
        let input = format!("cut.{ext}");
        let output = format!("cut-{ext}.wav");
        let o = run_in(&dir.0, &["process", &input, &output, "-q"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!(
                "warning: '{input}' ends early: its header announces 44100 frames (1.0 s) but it holds "
            )),
            "{err}"
        );
        let (_, chans) = read_wav(&dir.join(&output));
        assert!(chans[0].len() > 4096 && chans[0].len() < 44_100, "{ext}");
    }
    // Complete files: no warning.
    for ext in ["flac", "mp3", "ogg"] {
        let input = fixture(&format!("tone.{ext}"));
        let o = run_in(
            &dir.0,
            &["process", input.to_str().unwrap(), "whole.wav", "-q"],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(stderr(&o), "", "{ext}");
    }
}

#[test]
fn sigterm_and_sighup_leave_no_partial_output() {
    for signal in ["TERM", "HUP"] {
        let dir = Scratch::new(&format!("sig{signal}"));
        write_sine(&dir.join("in.wav"), 44_100, 2, 120.0, 440.0, -20.0);
        let child = Command::new(BIN)
            .args(["process", "in.wav", "out.wav", "--threads", "1", "-q"])
            .current_dir(&dir.0)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Signalled once the job has its temporary file (the handler is installed by then).
        let t0 = std::time::Instant::now();
        while !dir.names().iter().any(|n| n.ends_with(".part")) {
            assert!(t0.elapsed().as_secs() < 20, "no temporary file appeared");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status();
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(130), "{signal}: {}", stderr(&o));
        assert_eq!(
            stderr(&o),
            "error: interrupted (no partial output was left)\n"
        );
        assert_eq!(dir.names(), ["in.wav"], "{signal}");
    }
}

#[test]
fn devices_fifos_and_links_to_them_are_never_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = Scratch::new("hostile-outputs");
    write_sine(&dir.join("in.wav"), 44_100, 2, 1.0, 1000.0, -20.0);
    let status = Command::new("mkfifo")
        .arg(dir.join("fifo.wav"))
        .status()
        .unwrap();
    assert!(status.success());
    std::os::unix::fs::symlink("/dev/null", dir.join("null.wav")).unwrap();
    std::os::unix::fs::symlink("nowhere.wav", dir.join("dangling.wav")).unwrap();
    let before = dir.names();
    let p = |args: &[&str]| run_in(&dir.0, args);
    let fifo = "the output 'fifo.wav' is a FIFO, not a regular file; tonecore writes only regular files and never replaces a device, FIFO or socket";
    assert_error(&p(&["process", "in.wav", "fifo.wav"]), 1, fifo);
    assert_error(&p(&["analyze", "in.wav", "--plot", "fifo.wav"]), 1, fifo);
    assert_error(
        &p(&["process", "in.wav", "/dev/null"]),
        1,
        "the output '/dev/null' is a character device, not a regular file",
    );
    assert_error(
        &p(&["process", "in.wav", "null.wav"]),
        1,
        "the output 'null.wav' is a character device",
    );
    assert_error(
        &p(&["process", "in.wav", "dangling.wav"]),
        1,
        "the output 'dangling.wav' is a symbolic link to nothing",
    );
    assert_eq!(dir.names(), before);
    let fifo_type = std::fs::symlink_metadata(dir.join("fifo.wav"))
        .unwrap()
        .file_type();
    assert!(fifo_type.is_fifo());
    let null = std::fs::metadata("/dev/null").unwrap().file_type();
    assert!(null.is_char_device());

    // In a batch, the file whose output name is a FIFO fails; the others are written.
    let inp = dir.join("in");
    let out = dir.join("out");
    std::fs::create_dir_all(&inp).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    for name in ["a.wav", "b.wav"] {
        std::fs::copy(dir.join("in.wav"), inp.join(name)).unwrap();
    }
    assert!(Command::new("mkfifo")
        .arg(out.join("a.wav"))
        .status()
        .unwrap()
        .success());
    let o = p(&["batch", "in", "out", "-q"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("a.wav  FAILED  the output 'out/a.wav' is a FIFO"),
        "{}",
        stdout(&o)
    );
    assert!(std::fs::symlink_metadata(out.join("a.wav"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(read_wav(&out.join("b.wav")).1[0].len(), 44_100);

    // A link to a regular file is written through: the link stays, its target is the output.
    std::fs::write(dir.join("target.wav"), b"old").unwrap();
    std::os::unix::fs::symlink("target.wav", dir.join("link.wav")).unwrap();
    let o = p(&["process", "in.wav", "link.wav", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(dir.join("link.wav"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(read_wav(&dir.join("target.wav")).1[0].len(), 44_100);
    // A link to the input is the input.
    std::os::unix::fs::symlink("in.wav", dir.join("in-link.wav")).unwrap();
    assert_error(&p(&["process", "in.wav", "in-link.wav"]), 1, "is the input");
    // The help says so.
    let help = stdout(&p(&["process", "--help"]));
    assert!(help.contains("such as /dev/null is refused"), "{help}");
}

// Reference matching: `tonecore match`, `--match` in process and batch, `analyze --profile`.
// Loudness and true peak of what was written are measured here with the `ebur128` crate; the
// profiles written are read back with the library's own reader.

/// Writes a 16-bit WAV of deterministic white noise (the same on every channel, shifted by a
/// channel-dependent seed) with RMS `rms`, plus `bass` times a copy low-passed at 300 Hz (one
/// pole): `bass = 2` lifts everything below 300 Hz by up to 9.5 dB, a tilt a match must undo.
fn write_noise(
    path: &Path,
    rate: u32,
    channels: u16,
    seconds: f64,
    rms: f64,
    bass: f64,
    seed: u64,
) {
    let frames = (rate as f64 * seconds) as usize;
    let alpha = 1.0 - (-2.0 * PI * 300.0 / rate as f64).exp();
    let planes: Vec<Vec<f64>> = (0..channels)
        .map(|c| {
            let mut state = (seed + 1) * 0x9E37_79B9_7F4A_7C15 + c as u64;
            let mut low = 0.0;
            let x: Vec<f64> = (0..frames)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let white = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
                    low += alpha * (white - low);
                    white + bass * low
                })
                .collect();
            let now = (x.iter().map(|v| v * v).sum::<f64>() / frames as f64).sqrt();
            x.into_iter().map(|v| v * rms / now).collect()
        })
        .collect();
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..frames {
        for plane in &planes {
            let v = (plane[i] * 32768.0).round().clamp(-32768.0, 32767.0);
            w.write_sample(v as i16).unwrap();
        }
    }
    w.finalize().unwrap();
}

/// Integrated loudness (LUFS) and true peak (dBTP, max over channels) of a WAV file, by the
/// `ebur128` crate.
fn ebu_measure(path: &Path) -> (f64, f64) {
    let (spec, chans) = read_wav(path);
    let mode = ebur128::Mode::I | ebur128::Mode::TRUE_PEAK;
    let mut meter = ebur128::EbuR128::new(spec.channels.into(), spec.sample_rate, mode).unwrap();
    let planes: Vec<&[f64]> = chans.iter().map(|c| &c[..]).collect();
    meter.add_frames_planar_f64(&planes).unwrap();
    let tp = (0..u32::from(spec.channels))
        .map(|c| meter.true_peak(c).unwrap())
        .fold(0.0f64, f64::max);
    (meter.loudness_global().unwrap(), 20.0 * tp.log10())
}

/// The line of `out` starting with `label`.
fn line<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no line {label} in:\n{out}"))
}

/// The numbers in `text` (signed decimals), in order.
fn numbers(text: &str) -> Vec<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// A bass-heavy quiet stereo track at 44.1 kHz and a flat, loud stereo reference at 48 kHz:
/// the track's peaks would be well over -1 dBTP at the reference's loudness, so the limiter
/// works.
fn match_pair(dir: &Scratch) {
    write_noise(&dir.join("track.wav"), 44_100, 2, 3.0, 0.03, 2.0, 1);
    write_noise(&dir.join("ref.wav"), 48_000, 2, 3.0, 0.25, 0.0, 2);
}

#[test]
fn match_lands_on_the_reference_loudness_under_the_ceiling_in_float_and_16_bit() {
    let dir = Scratch::new("match-cmd");
    match_pair(&dir);
    let (ref_lufs, _) = ebu_measure(&dir.join("ref.wav"));
    for (out, bits) in [("out32.wav", "32"), ("out16.wav", "16")] {
        let mut args = vec![
            "match",
            "track.wav",
            "ref.wav",
            out,
            "--bits",
            bits,
            "--ceiling",
            "-2",
            "-q",
        ];
        if bits == "32" {
            args.extend(["--plot", "match.png"]);
        }
        let o = run_in(&dir.0, &args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let text = stdout(&o);
        let (lufs, tp) = ebu_measure(&dir.join(out));
        eprintln!("{out}: {lufs:.3} LUFS (reference {ref_lufs:.3}), {tp:.2} dBTP; {text}");
        assert!(
            (lufs - ref_lufs).abs() <= 0.1,
            "{out}: {lufs} LUFS, reference {ref_lufs}\n{text}"
        );
        assert!(tp <= -2.0, "{out}: true peak {tp} dBTP\n{text}");
        // The limiter had work to do (the summary says how much).
        let limited = numbers(line(&text, "peak:"))[3];
        assert!(limited < -0.3, "{out}: {tp} dBTP\n{text}");
        // The summary: residual before -> after, loudness before/after/reference, peak, time.
        let tonal = numbers(line(&text, "tonal:"));
        assert!(tonal[0] > 2.0 && tonal[1] < 0.5, "{text}");
        let loud = numbers(line(&text, "loudness:"));
        assert!((loud[1] - lufs).abs() < 0.05, "{text}");
        assert!((loud[2] - ref_lufs).abs() < 0.05, "{text}");
        assert!(
            line(&text, "loudness:").contains("target reached"),
            "{text}"
        );
        let peak = numbers(line(&text, "peak:"));
        // The summary's peak is the library's meter on what was written; on this broadband
        // noise it reads high and ebur128's 4x-oversampled meter low (-2.1 and -2.63 dBTP, a
        // 16x windowed-sinc interpolation -2.52).
        assert!(
            peak[0] <= -2.0 && peak[0] - tp > -0.05 && peak[0] - tp < 1.2,
            "{tp}: {peak:?} {text}"
        );
        assert!(line(&text, "time:").contains(" s "), "{text}");
        let (spec, chans) = read_wav(&dir.join(out));
        assert_eq!(spec.bits_per_sample.to_string(), bits);
        assert_eq!((spec.sample_rate, chans.len()), (44_100, 2));
        assert_eq!(chans[0].len(), 3 * 44_100);
    }
    let png = std::fs::read(dir.join("match.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[16..24], &[0, 0, 4, 176, 0, 0, 3, 52]);
    assert_eq!(
        dir.names(),
        [
            "match.png",
            "out16.wav",
            "out32.wav",
            "ref.wav",
            "track.wav"
        ]
    );
}

#[test]
fn match_takes_a_profile_and_refuses_corrupt_and_newer_ones_writing_nothing() {
    let dir = Scratch::new("match-json");
    match_pair(&dir);
    let (ref_lufs, _) = ebu_measure(&dir.join("ref.wav"));
    let o = run_in(
        &dir.0,
        &["analyze", "ref.wav", "--profile", "ref.json", "-q"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json = std::fs::read_to_string(dir.join("ref.json")).unwrap();
    let o = run_in(&dir.0, &["match", "track.wav", "ref.json", "out.wav", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (lufs, tp) = ebu_measure(&dir.join("out.wav"));
    assert!((lufs - ref_lufs).abs() <= 0.1, "{lufs} vs {ref_lufs}");
    assert!(tp <= -1.0, "{tp}");
    assert!(stdout(&o).contains("reference: ref.json: profile of 2 ch, 48000 Hz, 0:03.0"));
    // A document under another name is still recognised (no audio format starts with '{').
    std::fs::copy(dir.join("ref.json"), dir.join("ref.profile")).unwrap();
    let o = run_in(
        &dir.0,
        &["match", "track.wav", "ref.profile", "o2.wav", "-q"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(dir.join("o2.wav")).unwrap(),
        std::fs::read(dir.join("out.wav")).unwrap()
    );

    // Refused documents: one line, status 1, no output and no temporary file; an existing
    // output stays as it was.
    std::fs::write(dir.join("corrupt.json"), &json[..json.len() / 2]).unwrap();
    std::fs::write(
        dir.join("v2.json"),
        json.replace("\"version\":1", "\"version\":2"),
    )
    .unwrap();
    std::fs::write(
        dir.join("other.json"),
        "{\"format\":\"something\",\"version\":1}",
    )
    .unwrap();
    std::fs::write(dir.join("kept.wav"), b"a file of the user's").unwrap();
    let before = dir.names();
    for out in ["new.wav", "kept.wav"] {
        for (reference, message) in [
            ("corrupt.json", "the reference 'corrupt.json' is not a tonecore profile: EOF while parsing"),
            ("v2.json", "the reference 'v2.json' is a version 2 profile; this tonecore reads versions up to 1"),
            ("other.json", "the reference 'other.json' is not a tonecore profile: \"format\" must be \"tonecore-profile\""),
            ("missing.json", "cannot open 'missing.json': No such file or directory"),
        ] {
            let o = run_in(&dir.0, &["match", "track.wav", reference, out]);
            assert_error(&o, 1, message);
            let o = run_in(&dir.0, &["process", "track.wav", out, "--match", reference]);
            assert_error(&o, 1, message);
        }
    }
    assert_eq!(dir.names(), before);
    assert_eq!(
        std::fs::read(dir.join("kept.wav")).unwrap(),
        b"a file of the user's"
    );
}

#[test]
fn match_outputs_follow_process_rules_for_existing_files() {
    use std::os::unix::fs::FileTypeExt;
    let dir = Scratch::new("match-outputs");
    match_pair(&dir);
    assert!(Command::new("mkfifo")
        .arg(dir.join("fifo.wav"))
        .status()
        .unwrap()
        .success());
    let before = dir.names();
    let p = |args: &[&str]| run_in(&dir.0, args);
    let fifo = "the output 'fifo.wav' is a FIFO, not a regular file; tonecore writes only regular files and never replaces a device, FIFO or socket";
    assert_error(&p(&["match", "track.wav", "ref.wav", "fifo.wav"]), 1, fifo);
    assert_error(
        &p(&[
            "match",
            "track.wav",
            "ref.wav",
            "out.wav",
            "--plot",
            "fifo.wav",
        ]),
        1,
        fifo,
    );
    assert_error(
        &p(&["analyze", "track.wav", "--profile", "fifo.wav"]),
        1,
        fifo,
    );
    assert_error(
        &p(&["match", "track.wav", "ref.wav", "track.wav"]),
        1,
        "is the input",
    );
    assert_error(
        &p(&["match", "track.wav", "ref.wav", "ref.wav"]),
        1,
        "is the reference",
    );
    assert_error(
        &p(&["process", "track.wav", "ref.wav", "--match", "ref.wav"]),
        1,
        "is the --match reference",
    );
    assert_error(
        &p(&["match", "track.wav", "ref.wav", "out.flac", "--bits", "32"]),
        2,
        "FLAC holds 16- or 24-bit integers only",
    );
    assert_error(
        &p(&[
            "match",
            "track.wav",
            "ref.wav",
            "out.wav",
            "--strength",
            "2",
        ]),
        2,
        "strength 2 is outside 0 to 1",
    );
    assert_error(
        &p(&["match", "missing.wav", "ref.wav", "out.wav"]),
        1,
        "cannot open 'missing.wav'",
    );
    assert_eq!(dir.names(), before);
    assert!(std::fs::symlink_metadata(dir.join("fifo.wav"))
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn a_silent_reference_derives_no_eq_and_keeps_the_level() {
    let dir = Scratch::new("match-silent");
    match_pair(&dir);
    write_sine(&dir.join("silent.wav"), 48_000, 2, 2.0, 1000.0, -200.0);
    let o = run_in(
        &dir.0,
        &["match", "track.wav", "silent.wav", "out.wav", "-q"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        line(&text, "tonal:").contains("the reference is silent: no EQ derived"),
        "{text}"
    );
    let (before, _) = ebu_measure(&dir.join("track.wav"));
    let (after, tp) = ebu_measure(&dir.join("out.wav"));
    assert!((after - before).abs() < 0.1, "{before} -> {after}");
    assert!(tp <= -1.0);
}

#[test]
fn analyze_profile_writes_json_the_library_reads() {
    let dir = Scratch::new("analyze-profile");
    write_noise(&dir.join("in.wav"), 44_100, 2, 2.0, 0.1, 2.0, 3);
    let o = run_in(&dir.0, &["analyze", "in.wav", "--profile", "in.json", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("wrote in.json"), "{}", stdout(&o));
    let text = std::fs::read_to_string(dir.join("in.json")).unwrap();
    let profile = tonecore::Profile::from_json(&text).unwrap();
    assert_eq!(
        (profile.sample_rate, profile.channels, profile.frames),
        (44_100, 2, 88_200)
    );
    assert_eq!(profile.spectrum_db.len(), 61);
    assert!(profile.present_bands() >= 55, "{}", profile.present_bands());
    let (lufs, tp) = ebu_measure(&dir.join("in.wav"));
    assert!((profile.integrated_lufs.unwrap() - lufs).abs() < 0.05);
    // The library's true-peak meter reads broadband noise high, ebur128's 4x one low: -9.31 and
    // -10.24 dBTP here, a 16x windowed-sinc interpolation -10.03.
    let peak = profile.true_peak_dbtp.unwrap();
    assert!(peak - tp > -0.05 && peak - tp < 1.2, "{peak} vs {tp}");
    // The bass lift shows: the profile holds densities, so white noise reads the same in
    // every band and the lift is the filter's: |1 + 2·H(f)|² of the one-pole low-pass H,
    // averaged (in dB) over the bands centred at 60-150 Hz against those at 3-6 kHz.
    let alpha = 1.0 - (-2.0 * PI * 300.0 / 44_100.0).exp();
    let lift_db = |f: f64| {
        let w = 2.0 * PI * f / 44_100.0;
        // H = alpha / (1 - (1 - alpha)·e^(-jw))
        let (re, im) = (1.0 - (1.0 - alpha) * w.cos(), (1.0 - alpha) * w.sin());
        let d = re * re + im * im;
        let (hr, hi) = (alpha * re / d, -alpha * im / d);
        10.0 * ((1.0 + 2.0 * hr).powi(2) + (2.0 * hi).powi(2)).log10()
    };
    let centers = tonecore::spectral::profile::GRID.centers();
    let mean = |lo: f64, hi: f64, value: &dyn Fn(usize) -> f64| {
        let bands: Vec<usize> = (0..centers.len())
            .filter(|&k| (lo..=hi).contains(&centers[k]))
            .collect();
        bands.iter().map(|&k| value(k)).sum::<f64>() / bands.len() as f64
    };
    let measured = mean(60.0, 150.0, &|k| profile.spectrum_db[k].unwrap())
        - mean(3000.0, 6000.0, &|k| profile.spectrum_db[k].unwrap());
    let expected = mean(60.0, 150.0, &|k| lift_db(centers[k]))
        - mean(3000.0, 6000.0, &|k| lift_db(centers[k]));
    assert!(
        (measured - expected).abs() < 1.0,
        "{measured} vs {expected}"
    );
    // Written like every output: an existing regular file is replaced once the new one is
    // complete, the input is never the output.
    assert_error(
        &run_in(&dir.0, &["analyze", "in.wav", "--profile", "in.wav"]),
        1,
        "'in.wav' is the input",
    );
    assert_eq!(dir.names(), ["in.json", "in.wav"]);
}

#[test]
fn process_and_batch_match_a_reference() {
    let dir = Scratch::new("process-match");
    match_pair(&dir);
    let (ref_lufs, _) = ebu_measure(&dir.join("ref.wav"));
    let o = run_in(
        &dir.0,
        &[
            "process",
            "track.wav",
            "out.wav",
            "--match",
            "ref.wav",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        line(&text, "chain:").contains("EQ as ref.wav > level"),
        "{text}"
    );
    let tonal = numbers(line(&text, "match:"));
    assert!(tonal[0] > 2.0 && tonal[1] < 0.5, "{text}");
    let (lufs, tp) = ebu_measure(&dir.join("out.wav"));
    assert!((lufs - ref_lufs).abs() <= 0.1 && tp <= -1.0, "{lufs} {tp}");

    // An explicit target overrides the reference's loudness; the ceiling is --ceiling-db.
    let o = run_in(
        &dir.0,
        &[
            "process",
            "track.wav",
            "t.wav",
            "--match",
            "ref.wav",
            "--target-lufs",
            "-30",
            "--ceiling-db",
            "-3",
            "--bits",
            "16",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (lufs, tp) = ebu_measure(&dir.join("t.wav"));
    assert!((lufs + 30.0).abs() <= 0.1 && tp <= -3.0, "{lufs} {tp}");

    // The EQ options and a sample-peak limiter do not combine with a match; the tuning needs it.
    for (args, code, message) in [
        (
            &["--match", "ref.wav", "--eq", "1k=+3"][..],
            2,
            "cannot be used with",
        ),
        (
            &["--match", "ref.wav", "--eq-preset", "warm"][..],
            2,
            "cannot be used with",
        ),
        (
            &["--match", "ref.wav", "--sample-peak"][..],
            2,
            "cannot be used with",
        ),
        (
            &["--strength", "0.5"][..],
            1,
            "--strength tunes a match; give the reference with --match REF",
        ),
    ] {
        let mut all = vec!["process", "track.wav", "x.wav"];
        all.extend(args);
        assert_error(&run_in(&dir.0, &all), code, message);
    }

    // batch: one reference (profiled once), every file matched to it: a stereo 44.1 kHz file
    // and a mono 48 kHz one, taken to an explicit target (mono noise at the reference's
    // -6 LUFS would need more than the ceiling allows).
    let inp = dir.join("in");
    std::fs::create_dir(&inp).unwrap();
    write_noise(&inp.join("a.wav"), 44_100, 2, 2.0, 0.03, 2.0, 4);
    write_noise(&inp.join("b.wav"), 48_000, 1, 2.0, 0.1, 0.5, 5);
    let o = run_in(
        &dir.0,
        &[
            "batch",
            "in",
            "out",
            "--match",
            "ref.wav",
            "--target-lufs",
            "-18",
            "--jobs",
            "2",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        line(&text, "reference: ref.wav").contains("48000 Hz"),
        "{text}"
    );
    assert!(line(&text, "file ").contains("tonal dB"), "{text}");
    for name in ["a.wav", "b.wav"] {
        let (lufs, tp) = ebu_measure(&dir.join("out").join(name));
        assert!(
            (lufs + 18.0).abs() <= 0.1 && tp <= -1.0,
            "{name}: {lufs} {tp}"
        );
        let row = numbers(line(&text, name));
        // length, in LUFS, out LUFS, peak, residual before, residual after, time
        assert!(row[5] > 0.5 && row[6] < 0.7 * row[5], "{text}");
    }
    assert!(!dir.join("x.wav").exists());
}
