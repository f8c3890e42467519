//! Whole-buffer loops of the Auralis compatibility layer, run in parallel on the kernels beside
//! them ([`frame_eq`](super::frame_eq), [`adaptive`](super::adaptive)): the host's windowed full
//! FFT and STFT, and its adaptive weighted-overlap-add EQ. Results do not depend on the thread count (every frame is
//! computed the same way wherever it runs).
//!
//! Framing follows the host: frames of `N` samples at `0, hop, 2·hop, …` that fit in the signal
//! (`start + N ≤ len`), or, for a signal shorter than one frame, one frame of the signal
//! zero-padded to `N`. All arithmetic is `f64` (float32 input is promoted, as numpy promotes it
//! when multiplying by a float64 window), and spectra are `Complex<f64>`.
//!
//! Non-finite samples are not refused: they propagate into the frames that contain them, as
//! they do through numpy.

use crate::auralis::adaptive::{
    load_mono, step_gains, wola_segment, AdaptiveBands, Analysis, ContentProfile,
};
use crate::auralis::frame_eq::{linear_gains, step_curve, FrameEq};
use crate::cache::CachedSample;
use crate::dsp::{Complex, Sample, WindowKind};
use crate::workers::Workers;
use crate::{ConfigError, Error, ProcessError};
use rayon::prelude::*;
use std::sync::Arc;

pub use crate::limits::MAX_FFT_SIZE;

/// Frames computed per batch by [`stft_bins_major`] before they are written out (so each output
/// row receives a run of adjacent values at once).
const BATCH: usize = 32;

/// Frames of the host's windowed FFT of `len` samples: `1 + (len − N) / hop` when the signal
/// holds a frame, else 1 (the zero-padded signal).
pub fn frame_count(len: usize, fft_size: usize, hop: usize) -> usize {
    if len < fft_size {
        1
    } else {
        1 + (len - fft_size) / hop.max(1)
    }
}

fn check_fft(fft_size: usize, hop: usize) -> Result<(), ConfigError> {
    if fft_size < 2 {
        return Err(ConfigError::FftSizeTooSmall);
    }
    if fft_size > MAX_FFT_SIZE {
        return Err(ConfigError::FftSizeTooLarge);
    }
    if hop == 0 {
        return Err(ConfigError::InvalidHop);
    }
    Ok(())
}

/// The analysis window: the caller's (`N` values) or the cached symmetric Hann window.
fn window_for(fft_size: usize, window: Option<&[f64]>) -> Result<Arc<[f64]>, ConfigError> {
    match window {
        Some(w) if w.len() != fft_size => Err(ConfigError::WindowLength),
        Some(w) => Ok(Arc::from(w)),
        None => Ok(f64::cache().window(WindowKind::HannSym, fft_size)),
    }
}

/// Working memory of one worker: the time frame and the FFT scratch.
struct Scratch {
    time: Vec<f64>,
    fft: Vec<Complex<f64>>,
}

impl Scratch {
    fn new(n: usize, scratch_len: usize) -> Self {
        Self {
            time: vec![0.0; n],
            fft: vec![Complex::new(0.0, 0.0); scratch_len],
        }
    }
}

/// Fills `time` with `signal[start .. start + N] · window` (zero past the end) in `f64`.
fn load_frame<T: Sample>(signal: &[T], start: usize, window: &[f64], time: &mut [f64]) {
    let inside = signal.len().saturating_sub(start).min(time.len());
    let (head, pad) = time.split_at_mut(inside);
    for ((t, &x), &w) in head
        .iter_mut()
        .zip(&signal[start.min(signal.len())..])
        .zip(window)
    {
        *t = x.as_f64() * w;
    }
    pad.fill(0.0);
}

/// The host's `parallel_windowed_fft`: the full complex spectrum (`N` bins, bin `N − j` the
/// conjugate of bin `j`) of every windowed frame, written frame after frame to `out`
/// (`frames × N`). `window` defaults to the symmetric Hann window (`numpy.hanning(N)`).
/// Returns the frame count ([`frame_count`]).
///
/// # Errors
/// `fft_size` outside `2..=2^24`, `hop` 0, a window of the wrong length, a bad thread count;
/// `out` too small. Nothing is written on error.
pub fn windowed_fft<T: Sample>(
    signal: &[T],
    fft_size: usize,
    hop: usize,
    window: Option<&[f64]>,
    threads: usize,
    out: &mut [Complex<f64>],
) -> Result<usize, Error> {
    check_fft(fft_size, hop)?;
    let window = window_for(fft_size, window)?;
    let frames = frame_count(signal.len(), fft_size, hop);
    let needed = frames
        .checked_mul(fft_size)
        .ok_or(ProcessError::SizeOverflow)?;
    if out.len() < needed {
        return Err(ProcessError::OutputTooSmall.into());
    }
    let workers = Workers::from_count(threads)?;
    let plan = f64::cache().forward_plan(fft_size);
    let bins = fft_size / 2 + 1;
    let frame = |k: usize, s: &mut Scratch, out: &mut [Complex<f64>]| {
        load_frame(signal, k * hop, &window, &mut s.time);
        let r = plan.process_with_scratch(&mut s.time, &mut out[..bins], &mut s.fft);
        debug_assert!(r.is_ok());
        for j in bins..fft_size {
            out[j] = out[fft_size - j].conj();
        }
    };
    let init = || Scratch::new(fft_size, plan.get_scratch_len());
    let out = &mut out[..needed];
    if let Workers::Caller = workers {
        let mut s = init();
        for (k, o) in out.chunks_exact_mut(fft_size).enumerate() {
            frame(k, &mut s, o);
        }
    } else {
        workers.install(|| {
            out.par_chunks_exact_mut(fft_size)
                .enumerate()
                .for_each_init(init, |s, (k, o)| frame(k, s, o));
        });
    }
    Ok(frames)
}

/// The host's `parallel_stft`: bins `0..=N/2` of every windowed frame, laid out bins-major
/// (`out[b·frames + k]`, shape `(N/2 + 1, frames)` row-major, as `numpy.column_stack` builds
/// it). Returns the frame count.
///
/// # Errors
/// As [`windowed_fft`].
pub fn stft_bins_major<T: Sample>(
    signal: &[T],
    fft_size: usize,
    hop: usize,
    window: Option<&[f64]>,
    threads: usize,
    out: &mut [Complex<f64>],
) -> Result<usize, Error> {
    check_fft(fft_size, hop)?;
    let window = window_for(fft_size, window)?;
    let frames = frame_count(signal.len(), fft_size, hop);
    let bins = fft_size / 2 + 1;
    let needed = frames.checked_mul(bins).ok_or(ProcessError::SizeOverflow)?;
    if out.len() < needed {
        return Err(ProcessError::OutputTooSmall.into());
    }
    let workers = Workers::from_count(threads)?;
    let plan = f64::cache().forward_plan(fft_size);
    // Each task owns a run of frames: one column range of every output row.
    let tasks = (workers.count() * 4).min(frames).max(1);
    let run = frames.div_ceil(tasks);
    let tasks = frames.div_ceil(run);
    let mut parts: Vec<Vec<&mut [Complex<f64>]>> =
        (0..tasks).map(|_| Vec::with_capacity(bins)).collect();
    for row in out[..needed].chunks_exact_mut(frames) {
        let mut rest = row;
        for part in parts.iter_mut() {
            let (cols, tail) = rest.split_at_mut(run.min(rest.len()));
            part.push(cols);
            rest = tail;
        }
    }
    let task = |t: usize, mut rows: Vec<&mut [Complex<f64>]>| {
        let mut s = Scratch::new(fft_size, plan.get_scratch_len());
        let mut batch = vec![Complex::new(0.0, 0.0); BATCH * bins];
        let first = t * run;
        let count = rows[0].len();
        let mut done = 0;
        while done < count {
            let g = BATCH.min(count - done);
            for (j, spec) in batch.chunks_exact_mut(bins).take(g).enumerate() {
                load_frame(signal, (first + done + j) * hop, &window, &mut s.time);
                let r = plan.process_with_scratch(&mut s.time, spec, &mut s.fft);
                debug_assert!(r.is_ok());
            }
            // Blocked transpose: 4 bins (one cache line of the batch) at a time, so the block
            // being written (4 rows × g values) and read (g lines) both stay in L1.
            for (block, block_rows) in rows.chunks_mut(4).enumerate() {
                let b0 = block * 4;
                for (j, spec) in batch.chunks_exact(bins).take(g).enumerate() {
                    for (row, &v) in block_rows.iter_mut().zip(&spec[b0..]) {
                        row[done + j] = v;
                    }
                }
            }
            done += g;
        }
    };
    if let Workers::Caller = workers {
        for (t, rows) in parts.into_iter().enumerate() {
            task(t, rows);
        }
    } else {
        workers.install(|| {
            parts
                .into_par_iter()
                .enumerate()
                .for_each(|(t, rows)| task(t, rows));
        });
    }
    Ok(frames)
}

/// Settings of [`eq_process_buffer`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaptiveEqConfig {
    /// Sample rate in Hz (> 0).
    pub sample_rate: u32,
    /// Frame length `N` (even, `2..=2^24`); the hop is `N/2`. Host default 4096.
    pub fft_size: usize,
    /// Gain smoothing per frame (`current += (g − current)·speed`). Host default 0.8.
    pub adaptation_speed: f64,
    /// First edge of the 25 critical bands, Hz (`0 ≤ f < 100`; default 20).
    pub first_edge_hz: f64,
    /// `0` = all cores, `1` = the caller's thread, `n` = a shared pool of `n` threads.
    pub threads: usize,
    /// The host version of the analysis (default: the host today).
    pub analysis: Analysis,
    /// The host's content profile, applied to every frame's gains; `None` as a host without
    /// one (or with an empty one).
    pub content_profile: Option<ContentProfile>,
}

impl Default for AdaptiveEqConfig {
    fn default() -> Self {
        Self {
            sample_rate: 44_100,
            fft_size: 4096,
            adaptation_speed: 0.8,
            first_edge_hz: 20.0,
            threads: 0,
            analysis: Analysis::Current,
            content_profile: None,
        }
    }
}

/// The host's adaptive overlap-add EQ over a whole interleaved buffer (`len × channels`):
/// frames at `k·N/2` for every `k·N/2 < len`, each analysed, its gains stepped from `gains`
/// (the adaptive state, one value per band, updated in place to the last frame's gains),
/// equalized unwindowed and overlap-added with the symmetric Hann window (see
/// [`adaptive`](super::adaptive)). `output` receives `len × channels`
/// samples. An empty input writes nothing and leaves `gains` alone.
///
/// The analysis of all frames and the EQ of all frames run in parallel; only the 25-value gain
/// recursion is sequential.
///
/// # Errors
/// Invalid `fft_size`, sample rate, first edge or thread count, `gains` not 25 values; zero
/// channels, input not a whole number of frames, output too small. Nothing is written (and
/// `gains` is unchanged) on error.
pub fn eq_process_buffer<T: Sample>(
    input: &[T],
    channels: usize,
    target: &[f64],
    gains: &mut [f64],
    config: &AdaptiveEqConfig,
    output: &mut [T],
) -> Result<(), Error> {
    let n = config.fft_size;
    if n < 2 {
        return Err(ConfigError::FftSizeTooSmall.into());
    }
    if n > MAX_FFT_SIZE {
        return Err(ConfigError::FftSizeTooLarge.into());
    }
    if n % 2 != 0 {
        return Err(ConfigError::FftSizeOdd.into());
    }
    let bands = AdaptiveBands::critical(config.first_edge_hz, config.sample_rate, n)?;
    if gains.len() != bands.bands() {
        return Err(ConfigError::GainCount.into());
    }
    if channels == 0 {
        return Err(ProcessError::NoChannels.into());
    }
    if input.len() % channels != 0 {
        return Err(ProcessError::InputShape.into());
    }
    if output.len() < input.len() {
        return Err(ProcessError::OutputTooSmall.into());
    }
    let workers = Workers::from_count(config.threads)?;
    let len = input.len() / channels;
    let hop = n / 2;
    let frames = len.div_ceil(hop);
    if frames == 0 {
        return Ok(());
    }
    let nb = bands.bands();
    let bins = n / 2 + 1;
    let window = f64::cache().window(WindowKind::HannSym, n);
    let divisor = config.analysis.divisor(&window);
    let offset_db = config.analysis.energy_offset_db();
    let forward = f64::cache().forward_plan(n);
    let inverse = f64::cache().inverse_plan(n);

    // 1. Analysis of every frame (parallel): energies then thresholds, 2·bands per frame.
    let mut analysis = vec![0.0; frames * 2 * nb];
    let analyse = |k: usize, s: &mut (Scratch, Vec<Complex<f64>>), out: &mut [f64]| {
        let (scratch, spectrum) = s;
        load_mono(
            input,
            channels,
            k * hop,
            &window,
            divisor,
            &mut scratch.time,
        );
        let r = forward.process_with_scratch(&mut scratch.time, spectrum, &mut scratch.fft);
        debug_assert!(r.is_ok());
        let (e, t) = out.split_at_mut(nb);
        bands.analyze(spectrum, offset_db, e, t);
    };
    let init = || {
        (
            Scratch::new(n, forward.get_scratch_len()),
            vec![Complex::new(0.0, 0.0); bins],
        )
    };
    if let Workers::Caller = workers {
        let mut s = init();
        for (k, o) in analysis.chunks_exact_mut(2 * nb).enumerate() {
            analyse(k, &mut s, o);
        }
    } else {
        workers.install(|| {
            analysis
                .par_chunks_exact_mut(2 * nb)
                .enumerate()
                .for_each_init(init, |s, (k, o)| analyse(k, s, o));
        });
    }

    // 2. The gain recursion (sequential, bands values per frame).
    let mut frame_gains = vec![0.0; frames * nb];
    let mut current = gains.to_vec();
    for (a, g) in analysis
        .chunks_exact(2 * nb)
        .zip(frame_gains.chunks_exact_mut(nb))
    {
        let (e, t) = a.split_at(nb);
        step_gains(
            target,
            e,
            t,
            &bands,
            config.content_profile.as_ref(),
            config.adaptation_speed,
            &mut current,
        );
        g.copy_from_slice(&current);
    }

    // 3. EQ and overlap-add (parallel over runs of hop-long output segments; a run recomputes
    //    the frame before its first segment).
    let tasks = match workers {
        Workers::Caller => 1,
        _ => (workers.count() * 4).min(frames),
    };
    let run = frames.div_ceil(tasks);
    let ch = channels;
    let render = |t: usize, out: &mut [T]| {
        let mut eq =
            FrameEq::new(forward.clone(), inverse.clone()).expect("plans of one even size");
        let mut linear = vec![0.0; nb];
        let mut curve = vec![0.0; bins];
        let mut prev = vec![0.0; n * ch];
        let mut cur = vec![0.0; n * ch];
        let mut frame = |k: usize, y: &mut [f64]| {
            linear_gains(&frame_gains[k * nb..(k + 1) * nb], &mut linear);
            step_curve(&linear, bands.band_map(), &mut curve);
            for c in 0..ch {
                let start = (k * hop).min(len);
                let v = eq.apply_channel(
                    |time| {
                        let inside = (len - start).min(n);
                        let (head, pad) = time.split_at_mut(inside);
                        for (t, row) in head.iter_mut().zip(input[start * ch..].chunks_exact(ch)) {
                            *t = row[c].as_f64();
                        }
                        pad.fill(0.0);
                    },
                    &curve,
                );
                for (row, &v) in y.chunks_exact_mut(ch).zip(v) {
                    row[c] = v;
                }
            }
        };
        let s0 = t * run;
        if s0 > 0 {
            frame(s0 - 1, &mut prev);
        }
        for (j, seg) in out.chunks_mut(hop * ch).enumerate() {
            let s = s0 + j;
            frame(s, &mut cur);
            let p = if s > 0 { Some(&prev[..]) } else { None };
            wola_segment(p, &cur, &window, hop, ch, seg);
            std::mem::swap(&mut prev, &mut cur);
        }
    };
    let out = &mut output[..input.len()];
    if let Workers::Caller = workers {
        render(0, out);
    } else {
        workers.install(|| {
            out.par_chunks_mut(run * hop * ch)
                .enumerate()
                .for_each(|(t, o)| render(t, o));
        });
    }
    gains.copy_from_slice(&current);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_counts_follow_the_host() {
        assert_eq!(frame_count(10, 16, 8), 1);
        assert_eq!(frame_count(16, 16, 8), 1);
        assert_eq!(frame_count(40, 16, 8), 4);
        assert_eq!(frame_count(40, 16, 100), 1);
    }

    #[test]
    fn thread_counts_give_identical_results() {
        let x: Vec<f64> = (0..20_000)
            .map(|i| ((i * 7919) % 1000) as f64 / 500.0 - 1.0)
            .collect();
        let mut a = vec![0.0; x.len()];
        let mut b = vec![0.0; x.len()];
        let mut ga = [0.0; 25];
        let mut gb = [0.0; 25];
        let target: Vec<f64> = (0..25).map(|i| (i as f64 - 12.0) * 0.5).collect();
        let mut cfg = AdaptiveEqConfig {
            fft_size: 1024,
            threads: 1,
            ..Default::default()
        };
        eq_process_buffer(&x, 2, &target, &mut ga, &cfg, &mut a).unwrap();
        cfg.threads = 3;
        eq_process_buffer(&x, 2, &target, &mut gb, &cfg, &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(ga, gb);
        let mut s1 = vec![Complex::new(0.0, 0.0); 513 * 38];
        let mut s2 = s1.clone();
        assert_eq!(
            stft_bins_major(&x, 1024, 512, None, 1, &mut s1).unwrap(),
            38
        );
        stft_bins_major(&x, 1024, 512, None, 3, &mut s2).unwrap();
        assert_eq!(s1, s2);
    }

    #[test]
    fn a_content_profile_shifts_every_frame_and_thread_counts_agree() {
        use crate::auralis::adaptive::{EnergyLevel, Genre};
        let x: Vec<f64> = (0..9000)
            .map(|i| ((i * 31) % 200) as f64 / 100.0 - 1.0)
            .collect();
        let mut y1 = vec![0.0; x.len()];
        let mut y2 = vec![0.0; x.len()];
        let profile = ContentProfile {
            genre: Genre::Other,
            energy_level: EnergyLevel::Low,
            spectral_centroid: 1000.0,
        };
        let mut cfg = AdaptiveEqConfig {
            fft_size: 512,
            adaptation_speed: 1.0,
            threads: 1,
            content_profile: Some(profile),
            ..Default::default()
        };
        let (mut g1, mut g2) = ([0.0; 25], [0.0; 25]);
        eq_process_buffer(&x, 1, &[], &mut g1, &cfg, &mut y1).unwrap();
        // A zero target: every band gets +0.5 (low energy), +1 more above 2 kHz (dark).
        let bands = AdaptiveBands::critical(20.0, 44_100, 512).unwrap();
        for (g, &c) in g1.iter().zip(bands.centers()) {
            assert_eq!(*g, if c > 2000.0 { 1.5 } else { 0.5 });
        }
        cfg.threads = 2;
        eq_process_buffer(&x, 1, &[], &mut g2, &cfg, &mut y2).unwrap();
        assert_eq!(y1, y2);
        assert_eq!(g1, g2);
        // The analysis version moves the masking decision, not a zero target's gains.
        cfg.analysis = Analysis::Pre3428And4101;
        let mut g3 = [0.0; 25];
        eq_process_buffer(&x, 1, &[], &mut g3, &cfg, &mut y2).unwrap();
        assert_eq!(g3, g1);
    }

    #[test]
    fn refusals_leave_the_state_alone() {
        let x = [0.5f32; 64];
        let mut y = [9.0f32; 64];
        let mut g = [1.0; 25];
        let bad = |f: &dyn Fn(&mut AdaptiveEqConfig)| {
            let mut c = AdaptiveEqConfig {
                fft_size: 32,
                ..Default::default()
            };
            f(&mut c);
            c
        };
        for (cfg, want) in [
            (
                bad(&|c| c.fft_size = 33),
                Error::from(ConfigError::FftSizeOdd),
            ),
            (
                bad(&|c| c.sample_rate = 0),
                ConfigError::InvalidSampleRate.into(),
            ),
            (
                bad(&|c| c.first_edge_hz = 100.0),
                ConfigError::InvalidBands.into(),
            ),
        ] {
            assert_eq!(
                eq_process_buffer(&x, 2, &[], &mut g, &cfg, &mut y),
                Err(want)
            );
        }
        let cfg = bad(&|_| {});
        assert_eq!(
            eq_process_buffer(&x, 3, &[], &mut g, &cfg, &mut y),
            Err(ProcessError::InputShape.into())
        );
        assert_eq!(
            eq_process_buffer(&x, 2, &[], &mut g[..24], &cfg, &mut y),
            Err(ConfigError::GainCount.into())
        );
        assert_eq!(y, [9.0; 64]);
        assert_eq!(g, [1.0; 25]);
    }
}
