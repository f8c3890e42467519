//! `tonecore demo` (and `tonecore` with no arguments): a built-in track through the whole job.

use crate::chain::{self, Layout, Preset, Target};
use crate::decode;
use crate::error::{io_reason, shown, Result};
use crate::fail;
use crate::job::{self, Settings};
use crate::output::{write_wav, Bits, PendingFile};
use crate::progress::FileProgress;
use crate::say;
use std::f64::consts::PI;
use std::path::Path;
use std::process::ExitCode;

/// Sample rate of the demo track.
pub const RATE: u32 = 44_100;
/// Length of the demo track, seconds.
pub const SECONDS: usize = 30;
/// Where the loud part starts, seconds.
const CHORUS_AT: f64 = 10.0;

/// A 30 s stereo music-like track, planar: bass, chords, kick, snare and hi-hats at 120 BPM over
/// an Am–F–C–G progression, a noise floor, a quiet 10 s intro (pads, hats, soft bass) and a loud
/// chorus (everything, 12 dB louder).
pub fn synth() -> Vec<f32> {
    let n = RATE as usize * SECONDS;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f64 / (1u64 << 23) as f64 - 1.0
    };
    // Bar chords (pad triads) and bass roots, two seconds per bar.
    let chords: [[f64; 3]; 4] = [
        [220.00, 261.63, 329.63], // Am
        [174.61, 220.00, 261.63], // F
        [261.63, 329.63, 392.00], // C
        [196.00, 246.94, 293.66], // G
    ];
    let roots = [55.00, 43.65, 65.41, 49.00];
    let mut out = vec![0.0f32; 2 * n];
    let mut prev_hat_noise = 0.0;
    let mut bass_phase = 0.0f64;
    for i in 0..n {
        let t = i as f64 / RATE as f64;
        let bar = (t / 2.0) as usize % 4;
        let beat_t = t % 0.5; // time since the beat
        let beat = (t / 0.5) as usize % 4; // beat in the bar
        let eighth_t = t % 0.25;
        // The chorus fades in over the last 0.5 s of the intro.
        let chorus = ((t - (CHORUS_AT - 0.5)) / 0.5).clamp(0.0, 1.0);
        let (intro_gain, full) = (0.25 + 0.75 * chorus, chorus);

        // Pads: saw-like tones (8 harmonics falling as 1/k), a slow swell per bar.
        let swell = 0.7 + 0.3 * (PI * (t % 2.0) / 2.0).sin();
        let pad: f64 = chords[bar]
            .iter()
            .map(|f| {
                (1..=8)
                    .map(|k| (2.0 * PI * f * k as f64 * t).sin() / k as f64)
                    .sum::<f64>()
            })
            .sum::<f64>()
            * 0.045
            * swell;
        let root = roots[bar] * 2.0;
        bass_phase += 2.0 * PI * root / RATE as f64;
        let pluck = (-eighth_t * 6.0).exp();
        let bass = 0.32 * pluck * (bass_phase.sin() + 0.35 * (2.0 * bass_phase).sin());
        // Kick: a falling sine on every beat.
        let kf = 45.0 + 75.0 * (-beat_t * 30.0).exp();
        let kick = 0.55 * (-beat_t * 9.0).exp() * (2.0 * PI * kf * beat_t).sin();
        // Snare on beats 2 and 4: a noise burst and a 190 Hz body.
        let nz = noise();
        let snare = if beat % 2 == 1 {
            (-beat_t * 18.0).exp() * (0.25 * nz + 0.2 * (2.0 * PI * 190.0 * beat_t).sin())
        } else {
            0.0
        };
        // Hi-hat on every eighth: differenced (high-passed) noise.
        let hn = noise();
        let hat = 0.16 * (-eighth_t * 45.0).exp() * (hn - prev_hat_noise);
        prev_hat_noise = hn;
        let floor = 0.0015 * noise();

        let centre = intro_gain * bass + full * (kick + snare);
        let l = 0.45 * (centre + intro_gain * pad * 1.1 + 0.6 * hat) + floor;
        let r = 0.45 * (centre + intro_gain * pad * 0.9 + 1.0 * hat) + floor;
        out[i] = l as f32;
        out[n + i] = r as f32;
    }
    out
}

/// Synthesises the track, writes it, processes it with the warm preset → −14 LUFS → −1 dBFS
/// limiter, prints the report and writes the plot.
///
/// # Errors
/// The folder cannot be created or written; Ctrl-C.
pub fn run(out_dir: &Path, quiet: bool) -> Result<ExitCode> {
    if !out_dir.exists() {
        std::fs::create_dir_all(out_dir).map_err(|e| {
            fail!(
                "cannot create the output folder {}: {}",
                shown(out_dir),
                io_reason(&e)
            )
        })?;
    }
    // Bare names for the current folder (no "./" in the report).
    let here = out_dir == Path::new(".");
    let at = |name: &str| {
        if here {
            Path::new(name).to_path_buf()
        } else {
            out_dir.join(name)
        }
    };
    let in_path = at("tonecore-demo-in.wav");
    let out_path = at("tonecore-demo-out.wav");
    let png_path = at("tonecore-demo.png");
    let png = PendingFile::create(&png_path)?;

    say!(
        "tonecore demo: a built-in {SECONDS} s stereo track at {RATE} Hz (bass, chords, drums, a \
         noise floor; a quiet intro, a loud chorus from {CHORUS_AT:.0} s)"
    );
    let samples = synth();
    let (pending, file) = PendingFile::create(&in_path)?;
    write_wav(
        file,
        &shown(&in_path),
        &samples,
        2,
        RATE,
        Bits::Int24,
        RATE,
        &|_| {},
        &mut |_| {},
    )?;
    pending.commit()?;

    let chain = chain::build(
        &[],
        Some(Preset::Warm),
        Layout::Critical,
        &Target::Lufs(-14.0),
        -1.0,
        true,
    )?;
    let settings = Settings {
        chain,
        chunk_seconds: 15.0,
        threads: 0,
        bits: Bits::Int24,
        dither: crate::output::Dither::default_for(Bits::Int24),
        out_rate: None,
        matching: None,
    };
    let bar = FileProgress::new("demo", quiet);
    let report = job::process_file(&in_path, &out_path, &settings, &bar);
    bar.finish();
    let report = report?;
    job::print_report(&in_path, &out_path, &settings.chain, &report);

    // What was written, read back, against what went in.
    let written = decode::open(&out_path)?.read_all(&|_| {})?;
    crate::analysis_tables(&samples, &written.samples, 2, RATE, &settings.chain.layout)?;
    crate::plot_pair(
        &samples,
        &written.samples,
        2,
        RATE,
        &settings.chain,
        crate::analysis::EQ_FFT,
        png,
        format!("tonecore demo: built-in {SECONDS} s track, stereo, {RATE} Hz"),
        crate::legends(&report.before, &report.after),
    )?;
    say!(
        "wrote {}, {} and {}",
        in_path.display(),
        out_path.display(),
        png_path.display()
    );
    Ok(ExitCode::SUCCESS)
}
