//! The main job, end to end, on a built-in track (or a WAV file given as argument):
//! analyse it (loudness, spectral peaks, per-band energy), run it through the pipeline
//! (a "warm" EQ preset → level matching to −14 LUFS → limiter at −1 dBFS) in 256-frame blocks as
//! an audio callback would, and report what changed and how fast.
//!
//! `cargo run --release --example demo [IN.wav [OUT.wav]]`
//! Without arguments it synthesises a 30 s track (bass, chords, a noise floor, a quiet intro and a
//! loud chorus) and writes `tonecore-demo-out.wav` to the current directory.

use std::f64::consts::PI;
use std::time::Instant;
use tonecore::dsp::bands::BandLayout;
use tonecore::dsp::level::LevelSettings;
use tonecore::dsp::limiter::LimiterSettings;
use tonecore::dsp::loudness::measure;
use tonecore::pipeline::{EqSettings, Pipeline, PipelineConfig};
use tonecore::spectral::{band_energies, BandEnergyConfig, Stft, StftConfig};

const RATE: u32 = 44_100;

/// Warm: a little more low end, a softer top (dB per critical band, 20 Hz … 20 kHz).
const WARM: [f64; 25] = [
    3.0, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, -0.5, -0.5, -1.0, -1.0, -1.5, -1.5,
    -2.0, -2.0, -2.5, -2.5, -3.0, -3.0, -3.0,
];

fn builtin_track() -> (Vec<f32>, usize) {
    let n = RATE as usize * 30;
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f64 / (1u64 << 23) as f64 - 1.0
    };
    let chords = [[220.0, 277.18, 329.63], [196.0, 246.94, 293.66]];
    let mut left = Vec::with_capacity(n);
    let mut right = Vec::with_capacity(n);
    for i in 0..n {
        let t = i as f64 / RATE as f64;
        let chord = &chords[(t / 2.0) as usize % 2];
        let loud = if t < 10.0 { 0.25 } else { 1.0 }; // quiet intro, loud chorus
        let beat = (t * 2.0).fract();
        let kick = (-beat * 30.0).exp() * (2.0 * PI * 55.0 * beat).sin();
        let bass = 0.3 * (2.0 * PI * chord[0] / 4.0 * t).sin();
        let pad: f64 = chord.iter().map(|f| 0.08 * (2.0 * PI * f * t).sin()).sum();
        let hat = if (t * 4.0).fract() < 0.02 {
            0.05 * noise()
        } else {
            0.0
        };
        let floor = 0.002 * noise();
        let v = loud * (0.5 * kick + bass + pad + hat) + floor;
        left.push((v * 0.6) as f32);
        right.push((v * 0.55 + 0.05 * pad) as f32);
    }
    left.extend(right);
    (left, 2)
}

fn read_wav(path: &str) -> Result<(Vec<f32>, usize, u32), String> {
    let mut reader = hound::WavReader::open(path).map_err(|e| format!("{path}: {e}"))?;
    let spec = reader.spec();
    let channels = spec.channels as usize;
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().map(|s| s.unwrap_or(0.0)).collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.unwrap_or(0) as f32 * scale)
                .collect()
        }
    };
    let frames = interleaved.len() / channels;
    let mut planar = vec![0.0f32; frames * channels];
    for (i, v) in interleaved.iter().enumerate() {
        planar[(i % channels) * frames + i / channels] = *v;
    }
    Ok((planar, channels, spec.sample_rate))
}

fn write_wav(path: &str, planar: &[f32], channels: usize, rate: u32) -> Result<(), String> {
    let spec = hound::WavSpec {
        channels: channels as u16,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(|e| format!("{path}: {e}"))?;
    let frames = planar.len() / channels;
    for i in 0..frames {
        for c in 0..channels {
            w.write_sample(planar[c * frames + i])
                .map_err(|e| e.to_string())?;
        }
    }
    w.finalize().map_err(|e| e.to_string())
}

fn report(label: &str, x: &[f32], channels: usize, rate: u32) {
    let r = measure(x, channels, rate).expect("finite audio");
    println!(
        "{label:>7}: integrated {:6.1} LUFS, short-term max {:6.1} LUFS, range {:4.1} LU, true peak {:5.1} dBTP",
        r.integrated, r.short_term_max, r.range, r.true_peak
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (x, channels, rate, name) = match args.first() {
        Some(path) => match read_wav(path) {
            Ok((x, c, r)) => (x, c, r, path.clone()),
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        },
        None => {
            let (x, c) = builtin_track();
            (x, c, RATE, "built-in 30 s track".to_string())
        }
    };
    let out_path = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "tonecore-demo-out.wav".into());
    let frames = x.len() / channels;
    println!(
        "{name}: {channels} ch, {rate} Hz, {:.1} s",
        frames as f64 / rate as f64
    );

    // Analysis: spectral peaks from the parallel STFT, energy per critical band.
    let cfg = StftConfig {
        hop: 1024,
        ..StftConfig::new(8192)
    };
    let mut stft = Stft::<f32>::new(cfg).expect("valid config");
    let mut spec = vec![Default::default(); stft.output_len(channels, frames).unwrap()];
    let t = Instant::now();
    let nframes = stft.process(&x, channels, &mut spec).expect("finite audio");
    let stft_time = t.elapsed().as_secs_f64();
    let bins = cfg.bins();
    let mut power = vec![0.0f64; bins];
    for frame in spec.chunks_exact(bins) {
        for (p, c) in power.iter_mut().zip(frame) {
            *p += c.norm_sqr() as f64;
        }
    }
    let db = |p: f64| 10.0 * p.max(1e-30).log10();
    let mut peaks: Vec<usize> = (1..bins - 1)
        .filter(|&k| power[k] > power[k - 1] && power[k] >= power[k + 1])
        .collect();
    peaks.sort_by(|a, b| power[*b].total_cmp(&power[*a]));
    if let Some(&first) = peaks.first() {
        let top = db(power[first]);
        print!("strongest spectral peaks:");
        for &k in peaks.iter().take(5) {
            let (a, b, c) = (db(power[k - 1]), db(power[k]), db(power[k + 1]));
            let offset = 0.5 * (a - c) / (a - 2.0 * b + c);
            print!(
                " {:.1} Hz ({:+.1} dB)",
                (k as f64 + offset) * rate as f64 / 8192.0,
                b - top
            );
        }
        println!();
    }
    println!(
        "STFT: {nframes} frames x {channels} ch of 8192 points in {:.1} ms",
        stft_time * 1e3
    );
    let layout = BandLayout::critical();
    let energy_cfg = BandEnergyConfig {
        sample_rate: rate,
        layout: layout.clone(),
        fft_size: 4096,
        hop: 2048,
        threads: 0,
    };
    let mut energies = vec![0.0; (1 + frames.saturating_sub(4096) / 2048) * 25];
    if let Ok(n) = band_energies(&x, channels, &energy_cfg, &mut energies) {
        let mean: Vec<f64> = (0..25)
            .map(|b| (0..n).map(|k| energies[k * 25 + b]).sum::<f64>() / n.max(1) as f64)
            .collect();
        let loudest = mean.iter().cloned().fold(f64::MIN, f64::max);
        let shown: Vec<String> = layout
            .centers()
            .iter()
            .zip(&mean)
            .step_by(4)
            .map(|(c, e)| format!("{c:.0} Hz {:+.0}", e - loudest))
            .collect();
        println!("band energy (dB re. loudest band): {}", shown.join(", "));
    }

    // Processing, as an audio callback would do it: 256-frame blocks.
    let config = PipelineConfig {
        eq: Some(EqSettings::critical(WARM.to_vec())),
        level: Some(LevelSettings {
            target_lufs: -14.0,
            ..LevelSettings::default()
        }),
        limiter: Some(LimiterSettings {
            ceiling_db: -1.0,
            ..LimiterSettings::default()
        }),
        ..PipelineConfig::default()
    };
    let block = 256;
    let mut pipeline =
        Pipeline::<f32>::new(rate, channels, block, &config).expect("valid pipeline");
    let latency = pipeline.latency_frames();
    let total = frames + latency;
    let mut y = vec![0.0f32; channels * frames];
    let mut inb = vec![0.0f32; channels * block];
    let mut outb = vec![0.0f32; channels * block];
    let t = Instant::now();
    let mut worst = 0.0f64;
    let mut pos = 0;
    while pos < total {
        let n = block.min(total - pos);
        for c in 0..channels {
            for i in 0..n {
                let src = pos + i;
                inb[c * n + i] = if src < frames {
                    x[c * frames + src]
                } else {
                    0.0
                };
            }
        }
        let call = Instant::now();
        pipeline
            .process(&inb[..channels * n], &mut outb[..channels * n])
            .expect("valid block");
        worst = worst.max(call.elapsed().as_secs_f64());
        for c in 0..channels {
            for i in 0..n {
                // Drop the latency so the output lines up with the input.
                if let Some(dst) = (pos + i).checked_sub(latency).filter(|&d| d < frames) {
                    y[c * frames + dst] = outb[c * n + i];
                }
            }
        }
        pos += n;
    }
    let elapsed = t.elapsed().as_secs_f64();
    let stats = pipeline.params().stats();
    println!(
        "pipeline (warm EQ -> -14 LUFS -> -1 dBFS limiter): {:.0}x real time, worst 256-frame block {:.0} us \
         ({:.1}% of its {:.1} ms period), latency {latency} frames, limiter max reduction {:.1} dB",
        frames as f64 / rate as f64 / elapsed,
        worst * 1e6,
        100.0 * worst / (block as f64 / rate as f64),
        block as f64 / rate as f64 * 1e3,
        stats.limiter_max_reduction_db
    );
    report("before", &x, channels, rate);
    report("after", &y, channels, rate);
    match write_wav(&out_path, &y, channels, rate) {
        Ok(()) => println!("wrote {out_path}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
