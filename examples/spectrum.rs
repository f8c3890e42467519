//! The main job for now: analyse a track's spectrum with the parallel STFT.
//!
//! `cargo run --release --example spectrum [FILE.wav]` — with no file, a built-in 30 s test
//! track (a chord over a bass line with a noise floor) is synthesised. Prints the strongest
//! spectral peaks, the STFT time on one thread and on all cores, and the ISTFT round-trip error.

use std::f64::consts::PI;
use std::time::Instant;
use tonecore::spectral::{Istft, Stft, StftConfig};

fn builtin_track(rate: usize, seconds: usize) -> Vec<f32> {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f64 / (1u64 << 23) as f64 - 1.0
    };
    // A major chord (A3, C#4, E4) over a 55 Hz bass, with a -50 dB noise floor.
    let tones = [(55.0, 0.4), (220.0, 0.2), (277.18, 0.15), (329.63, 0.15)];
    (0..rate * seconds)
        .map(|i| {
            let t = i as f64 / rate as f64;
            let tone: f64 = tones
                .iter()
                .map(|&(f, a)| a * (2.0 * PI * f * t).sin())
                .sum();
            (tone + 0.003 * noise()) as f32
        })
        .collect()
}

fn read_wav(path: &str) -> Result<(Vec<f32>, usize, usize), String> {
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
    Ok((planar, channels, spec.sample_rate as usize))
}

fn main() {
    let arg = std::env::args().nth(1);
    let (signal, channels, rate, name) = match arg.as_deref() {
        Some(path) => match read_wav(path) {
            Ok((x, c, r)) => (x, c, r, path.to_string()),
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        },
        None => (
            builtin_track(44_100, 30),
            1,
            44_100,
            "built-in 30 s test track".into(),
        ),
    };
    let len = signal.len() / channels;
    let n = 4096;
    let cfg = StftConfig {
        hop: 1024,
        ..StftConfig::new(n)
    };
    println!(
        "{name}: {channels} ch, {rate} Hz, {:.1} s; STFT N={n} hop={}",
        len as f64 / rate as f64,
        cfg.hop
    );
    let mut out = vec![Default::default(); channels * cfg.frame_count(len) * cfg.bins()];
    let mut timings = Vec::new();
    for threads in [1usize, 0] {
        let mut stft = Stft::<f32>::new(StftConfig { threads, ..cfg }).expect("valid config");
        let start = Instant::now();
        stft.process(&signal, channels, &mut out)
            .expect("finite input");
        timings.push(start.elapsed().as_secs_f64());
    }
    let frames = cfg.frame_count(len);
    let bins = cfg.bins();
    let mut mean = vec![0.0f64; bins];
    for frame in out.chunks_exact(bins) {
        for (m, c) in mean.iter_mut().zip(frame) {
            *m += c.norm_sqr() as f64;
        }
    }
    let power: Vec<f64> = mean
        .iter()
        .map(|p| p / (channels * frames) as f64)
        .collect();
    let peak_db = |p: f64| 10.0 * (p.max(1e-30)).log10();
    let mut peaks: Vec<(usize, f64)> = (1..bins - 1)
        .filter(|&k| power[k] > power[k - 1] && power[k] >= power[k + 1])
        .map(|k| (k, power[k]))
        .collect();
    peaks.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top = peaks.first().map_or(1.0, |p| p.1);
    println!("strongest spectral peaks (relative to the strongest):");
    for &(k, p) in peaks.iter().take(6) {
        // Parabolic interpolation of the log power around the peak bin.
        let (a, b, c) = (peak_db(power[k - 1]), peak_db(p), peak_db(power[k + 1]));
        let denom = a - 2.0 * b + c;
        let offset = if denom.abs() > 1e-12 {
            0.5 * (a - c) / denom
        } else {
            0.0
        };
        println!(
            "  {:8.1} Hz  {:6.1} dB",
            (k as f64 + offset) * rate as f64 / n as f64,
            b - peak_db(top)
        );
    }
    println!(
        "STFT: {frames} frames x {channels} ch; 1 thread {:.1} ms, all cores {:.1} ms ({:.2}x), {:.0}x real time",
        timings[0] * 1e3,
        timings[1] * 1e3,
        timings[0] / timings[1],
        len as f64 / rate as f64 / timings[1]
    );
    let mut istft = Istft::<f32>::new(cfg).expect("invertible");
    let mut back = vec![0.0f32; istft.output_len(channels, frames).unwrap()];
    istft
        .process(&out, channels, &mut back)
        .expect("finite spectrum");
    let inner = cfg.signal_len(frames);
    let worst = (0..channels)
        .flat_map(|c| (n..inner.saturating_sub(n)).map(move |i| (c, i)))
        .map(|(c, i)| (back[c * inner + i] - signal[c * len + i]).abs())
        .fold(0.0f32, f32::max);
    println!("ISTFT round trip: max error {worst:.2e} away from the edges");
}
