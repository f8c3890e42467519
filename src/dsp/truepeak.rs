//! True peak per ITU-R BS.1770-4 Annex 2: the signal is oversampled 4× by a polyphase
//! interpolator and the largest magnitude of the interpolated points (and of the samples) is the
//! true peak. One implementation serves the loudness meter ([`TruePeakMeter`]) and the limiter's
//! detector ([`PeakDetector`]).
//!
//! The interpolator is a 127-tap Kaiser-windowed sinc (β = 5, cutoff at the input's Nyquist
//! frequency) split into 4 phases. Phase 0 is the sample itself exactly (the sinc is zero at every
//! other multiple of 4); phases 1–3 have 32 taps each, so a point between samples `m` and `m + 1`
//! uses samples `m − 15 ..= m + 16`. The response is flat within ±0.02 dB up to 0.45·fs (where the
//! 49-tap filter of the reference implementation has already fallen off), so the oversampled
//! points follow the band-limited signal closely; between the points a sine at 0.45·fs can still
//! read up to 0.55 dB low (BS.1770's own figure for 4×), which the limiter's detector closes by
//! refining every candidate peak with the parabola through it and its neighbours.
//!
//! Everything is computed phase by phase over contiguous samples (`y[q] += h[j]·x[q + j]`), a
//! loop the compiler vectorizes for `f32` and `f64`. Real-time safe after construction.

use super::Sample;
use multiversion::{multiversion, target::target_cfg_f};

/// Oversampling factor.
pub const FACTOR: usize = 4;
/// Taps of each interpolating phase.
pub const TAPS: usize = 32;
/// Samples the interpolation reaches ahead of the point's left sample (`m + 16` for a point
/// between `m` and `m + 1`): the detector's own latency.
pub const REACH: usize = TAPS / 2;
/// Samples of history a block of points needs before its first point's left sample.
pub const HISTORY: usize = TAPS - 1;

/// Frames processed per inner block (the size of the scratch buffers).
const BLOCK: usize = 256;

/// Taps of each phase of the compatibility interpolator.
const COMPAT_TAPS: usize = 12;

/// The polyphase interpolator's coefficients.
#[derive(Clone)]
pub struct Oversampler<T: Sample> {
    phases: [[T; TAPS]; FACTOR - 1],
    /// The 48-tap Hann-windowed sinc most BS.1770 meters use (libebur128 and the `ebur128`
    /// crate): it reads some signals higher than the band-limited waveform (a +0.075 dB passband
    /// bump, images near Nyquist), so the limiter's detector takes the larger of both readings.
    compat: [[T; COMPAT_TAPS]; FACTOR - 1],
    bound: f64,
}

fn bessel_i0(x: f64) -> f64 {
    // Power series; converges fast for the arguments of a Kaiser window (β ≤ 20).
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > 1e-17 * sum {
        term *= (x / (2.0 * k)) * (x / (2.0 * k));
        sum += term;
        k += 1.0;
    }
    sum
}

impl<T: Sample> Default for Oversampler<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Sample> Oversampler<T> {
    /// Designs the interpolator (control path).
    pub fn new() -> Self {
        const BETA: f64 = 5.0;
        let half = (FACTOR * TAPS / 2 - 1) as f64; // 63: taps at n = −63 ..= 63
        let coeff = |n: i64| -> f64 {
            let t = n as f64 / FACTOR as f64;
            let sinc = if n == 0 {
                1.0
            } else {
                (std::f64::consts::PI * t).sin() / (std::f64::consts::PI * t)
            };
            let r = n as f64 / half;
            let w = bessel_i0(BETA * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(BETA);
            sinc * w
        };
        let mut phases = [[T::zero(); TAPS]; FACTOR - 1];
        let mut bound = 1.0f64;
        for (p, phase) in phases.iter_mut().enumerate() {
            // Point at m + (p + 1)/4 = Σ_j h[4·(15 − j) + p + 1] · x[m − 15 + j].
            let taps: Vec<f64> = (0..TAPS)
                .map(|j| coeff(4 * (15 - j as i64) + p as i64 + 1))
                .collect();
            // Normalise each phase to unit DC gain (the windowed sinc is off by ~1e-4).
            let dc: f64 = taps.iter().sum();
            for (h, &v) in phase.iter_mut().zip(&taps) {
                *h = T::of_f64(v / dc);
            }
            bound = bound.max(taps.iter().map(|v| (v / dc).abs()).sum());
        }
        // The compatibility filter: c[j] = w(j)·sinc((j − 24)/4), w the 48-point Hann window;
        // its point at m + o/4 is Σ_k c[4k + o]·x[m + 6 − k], k = 0..12.
        let mut compat = [[T::zero(); COMPAT_TAPS]; FACTOR - 1];
        for (o, phase) in compat.iter_mut().enumerate() {
            let o = o + 1;
            for (k, h) in phase.iter_mut().enumerate() {
                let j = (4 * k + o) as f64;
                let w = 0.5 * (1.0 - (2.0 * std::f64::consts::PI * j / 48.0).cos());
                let m = (j - 24.0) * std::f64::consts::PI / 4.0;
                *h = T::of_f64(w * m.sin() / m);
            }
            bound = bound.max(phase.iter().map(|h| h.as_f64().abs()).sum());
        }
        Self {
            phases,
            compat,
            bound,
        }
    }

    /// As [`interpolate`](Self::interpolate) with the compatibility filter (the 48-tap design of
    /// the reference meters).
    pub fn interpolate_compat(&self, x: &[T], y: [&mut [T]; FACTOR - 1]) {
        for (h, out) in self.compat.iter().zip(y) {
            compat_phase(h, x, out);
        }
    }

    /// `max_p Σ_j |h_p[j]|` over both interpolators: no interpolated point exceeds this times
    /// the largest sample magnitude within its 32-sample support.
    pub fn bound(&self) -> f64 {
        self.bound
    }

    /// The three interpolated points between `x[q + 15]` and `x[q + 16]` for every
    /// `q < y[0].len()` (`x.len() ≥ y[0].len() + 31`), phase by phase into `y`.
    pub fn interpolate(&self, x: &[T], y: [&mut [T]; FACTOR - 1]) {
        for (h, out) in self.phases.iter().zip(y) {
            phase(h, x, out);
        }
    }

    /// One point: phase `p` (1–3) between `x[15]` and `x[16]` of a 32-sample window.
    fn point(&self, x: &[T], p: usize) -> T {
        self.phases[p - 1]
            .iter()
            .zip(x)
            .fold(T::zero(), |s, (&c, &v)| s + c * v)
    }
}

// The inner loops, compiled again for AVX2 with fused multiply-add (and plain AVX) and chosen at
// run time (the baseline x86-64 target has SSE2 only). Outputs are computed a register block
// at a time over all taps in the same order on every path; with FMA each product is added
// unrounded, so readings may differ from other machines in the last bit.

/// Outputs per register block of [`phase`] and [`compat_phase`].
const LANES: usize = 16;

/// `out[q] = Σ_j h[j]·x[q + j]` for a filter of `N` taps starting at `x[first]`, taps in
/// ascending or (`reversed`) descending order of `x`.
#[inline(always)]
fn fir<T: Sample, const N: usize>(
    h: &[T; N],
    x: &[T],
    out: &mut [T],
    first: usize,
    reversed: bool,
    fused: bool,
) {
    let n = out.len();
    let mut q = 0;
    while q + LANES <= n {
        let mut acc = [T::zero(); LANES];
        for (k, &c) in h.iter().enumerate() {
            let at = q + if reversed { first - k } else { first + k };
            for (a, &v) in acc.iter_mut().zip(&x[at..at + LANES]) {
                *a = mac(*a, c, v, fused);
            }
        }
        out[q..q + LANES].copy_from_slice(&acc);
        q += LANES;
    }
    for (i, o) in out.iter_mut().enumerate().skip(q) {
        let mut acc = T::zero();
        for (k, &c) in h.iter().enumerate() {
            acc = mac(
                acc,
                c,
                x[i + if reversed { first - k } else { first + k }],
                fused,
            );
        }
        *o = acc;
    }
}

/// `acc + c·v`, fused into one rounding when `fused`.
#[inline(always)]
fn mac<T: Sample>(acc: T, c: T, v: T, fused: bool) -> T {
    if fused {
        c.mul_add(v, acc)
    } else {
        acc + c * v
    }
}

/// One phase: `out[q] = Σ_j h[j]·x[q + j]`.
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
fn phase<T: Sample>(h: &[T; TAPS], x: &[T], out: &mut [T]) {
    fir(h, x, out, 0, false, target_cfg_f!(target_feature = "fma"));
}

/// One phase of the compatibility filter: `out[q] = Σ_k h[k]·x[q + 21 − k]` (the sample
/// `m + 6 − k` for the point after `m = q + 15`).
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
fn compat_phase<T: Sample>(h: &[T; COMPAT_TAPS], x: &[T], out: &mut [T]) {
    fir(h, x, out, 21, true, target_cfg_f!(target_feature = "fma"));
}

#[multiversion(targets("x86_64+avx2", "x86_64+avx"))]
fn max_abs<T: Sample>(x: &[T]) -> f64 {
    x.iter().fold(T::zero(), |m, v| m.max(v.abs())).as_f64()
}

/// A streaming true-peak measurement (BS.1770-4 Annex 2, 4×) of `channels` channels: the largest
/// magnitude of the samples and the oversampled points. Blocks whose samples cannot produce a
/// point above the peak found so far are skipped (an exact bound, [`Oversampler::bound`]), so
/// music costs a fraction of a full interpolation. Not real-time: it keeps its history in
/// vectors sized by the first block.
pub struct TruePeakMeter<T: Sample> {
    os: Oversampler<T>,
    /// Per channel: the last [`HISTORY`] samples followed by room for a block.
    buf: Vec<Vec<T>>,
    scratch: [Vec<T>; FACTOR - 1],
    peaks: Vec<f64>,
    /// Per channel, samples seen (up to [`HISTORY`]): points whose support reaches before the
    /// first sample are not evaluated, as none past the last are.
    seen: Vec<usize>,
}

impl<T: Sample> TruePeakMeter<T> {
    /// A meter for `channels` channels.
    pub fn new(channels: usize) -> Self {
        Self {
            os: Oversampler::new(),
            buf: vec![vec![T::zero(); HISTORY]; channels],
            scratch: std::array::from_fn(|_| vec![T::zero(); BLOCK]),
            peaks: vec![0.0; channels],
            seen: vec![0; channels],
        }
    }

    /// Adds the samples of `channel` (any length; each channel's stream continues where its last
    /// call ended).
    pub fn add(&mut self, channel: usize, samples: &[T]) {
        for block in samples.chunks(BLOCK * 16) {
            let buf = &mut self.buf[channel];
            buf.truncate(HISTORY);
            buf.extend_from_slice(block);
            let peak = &mut self.peaks[channel];
            *peak = peak.max(max_abs(block));
            let fresh = HISTORY - self.seen[channel];
            self.seen[channel] = (self.seen[channel] + block.len()).min(HISTORY);
            for start in (0..block.len()).step_by(BLOCK) {
                let n = BLOCK.min(block.len() - start);
                let skip = fresh.saturating_sub(start).min(n);
                let window = &buf[start + skip..start + n + HISTORY];
                Self::scan(&self.os, &mut self.scratch, window, n - skip, peak);
            }
            buf.copy_within(block.len().., 0);
            buf.truncate(HISTORY);
        }
    }

    /// Points of `n` positions of `window` (`n + 31` samples) into `peak`, unless the bound
    /// shows none can exceed it.
    fn scan(
        os: &Oversampler<T>,
        scratch: &mut [Vec<T>; 3],
        window: &[T],
        n: usize,
        peak: &mut f64,
    ) {
        if n == 0 || max_abs(window) * os.bound() <= *peak {
            return;
        }
        let [a, b, c] = scratch;
        os.interpolate(window, [&mut a[..n], &mut b[..n], &mut c[..n]]);
        for y in [&a[..n], &b[..n], &c[..n]] {
            *peak = peak.max(max_abs(y));
        }
    }

    /// Measures a whole channel at once: the samples' peak is found first, so every block whose
    /// samples cannot produce a point above it is skipped from the start (the streaming
    /// [`add`](Self::add) only learns the peak as it goes). Exact: the same result as `add`.
    pub fn whole(samples: &[T]) -> f64 {
        let mut meter = Self::new(1);
        meter.peaks[0] = max_abs(samples);
        meter.add(0, samples);
        meter.peaks[0]
    }

    /// The true peak of each channel so far (linear). Points whose interpolation would reach
    /// past the last sample added are not evaluated yet (as in the reference implementation).
    pub fn peaks(&self) -> &[f64] {
        &self.peaks
    }

    /// Forgets everything measured.
    pub fn reset(&mut self) {
        for b in &mut self.buf {
            b.clear();
            b.resize(HISTORY, T::zero());
        }
        self.peaks.fill(0.0);
        self.seen.fill(0);
    }
}

/// The limiter's true-peak detector: for each input frame it reports the peak of the frame
/// [`REACH`] frames earlier — the largest magnitude of that sample, the three points after it,
/// the parabolas through each candidate point and its neighbours (which close the gap between
/// oversampled points), and the three points of the reference meters' 48-tap interpolator (so
/// those meters never read more than the detector). Real-time safe after construction.
pub struct PeakDetector<T: Sample> {
    os: Oversampler<T>,
    channels: usize,
    /// Per channel `HISTORY + BLOCK` samples: the history, then the block being processed.
    buf: Vec<T>,
    /// Per channel, the last point (phase 3) of the previous frame, for the parabola at a sample.
    prev: Vec<T>,
    points: [Vec<T>; FACTOR - 1],
    compat: [Vec<T>; FACTOR - 1],
    /// Frames since a sample above the quiet threshold entered, counting down from
    /// `HISTORY + 1`: while non-zero, points still pending may exceed the ceiling.
    loud: usize,
}

/// Frames a [`PeakDetector`] takes per call.
pub const DETECTOR_BLOCK: usize = BLOCK;

/// The magnitude of the vertex of the parabola through `(−1, a)`, `(0, b)`, `(1, c)` when `b` is
/// the extreme of the three, else `|b|` (capped at 1.2·|b|: a flatter parabola than that is not
/// a peak of a band-limited signal sampled at 4×). Branch-free (both values are computed and
/// one is chosen), so a loop of it vectorizes.
#[inline(always)]
fn refine<T: Sample>(a: T, b: T, c: T) -> T {
    let mb = b.abs();
    let d = b + b - a - c;
    let vertex = (b + (c - a) * (c - a) / (T::of_f64(8.0) * d)).abs();
    let cap = T::of_f64(1.2) * mb;
    // A NaN vertex (d = 0) is never chosen: d·b > 0 fails first.
    if mb >= a.abs() && mb >= c.abs() && d * b > T::zero() {
        if vertex < cap {
            vertex
        } else {
            cap
        }
    } else {
        mb
    }
}

/// The larger of two values with one comparison (the inputs here are never NaN), which
/// vectorizes to one instruction where `max` needs NaN handling.
#[inline(always)]
fn larger<T: Sample>(a: T, b: T) -> T {
    if a > b {
        a
    } else {
        b
    }
}

/// A point's magnitude, refined by [`refine`] when above `refine_above`.
#[inline(always)]
fn point_peak<T: Sample>(a: T, b: T, c: T, refine_above: T) -> T {
    let v = b.abs();
    let r = refine(a, b, c);
    if v > refine_above {
        r
    } else {
        v
    }
}

/// Each frame's peak of one channel, folded into `peaks` (`n = peaks.len()` frames): the
/// largest of its sample `x[q + 15]` and its three points `p` (each refined by the parabola
/// through its neighbours in time: `before`, the last point of the previous frame, comes first)
/// and of the compatibility points `compat`.
#[multiversion(targets("x86_64+avx2+fma", "x86_64+avx"))]
fn frame_peaks<T: Sample>(
    x: &[T],
    p: [&[T]; 3],
    compat: [&[T]; 3],
    before: T,
    refine_above: f64,
    peaks: &mut [f64],
) {
    let n = peaks.len();
    let [p1, p2, p3] = p;
    let [c1, c2, c3] = compat;
    let (s, next) = (&x[15..15 + n], &x[16..16 + n]);
    // In `T`, rounded down, so that no point above the threshold escapes refinement.
    let refine_above = {
        let t = T::of_f64(refine_above);
        if t.as_f64() > refine_above {
            T::of_f64(refine_above * (1.0 - 1e-6))
        } else {
            t
        }
    };
    peaks[0] = peaks[0].max(frame_peak(
        before,
        s[0],
        [p1[0], p2[0], p3[0]],
        next[0],
        [c1[0], c2[0], c3[0]],
        refine_above,
    ));
    for q in 1..n {
        let v = frame_peak(
            p3[q - 1],
            s[q],
            [p1[q], p2[q], p3[q]],
            next[q],
            [c1[q], c2[q], c3[q]],
            refine_above,
        );
        peaks[q] = larger(peaks[q], v);
    }
}

/// One frame of [`frame_peaks`].
#[inline(always)]
fn frame_peak<T: Sample>(
    before: T,
    s: T,
    p: [T; 3],
    next: T,
    compat: [T; 3],
    refine_above: T,
) -> f64 {
    let [p1, p2, p3] = p;
    let m = larger(
        larger(
            point_peak(before, s, p1, refine_above),
            point_peak(s, p1, p2, refine_above),
        ),
        larger(
            point_peak(p1, p2, p3, refine_above),
            point_peak(p2, p3, next, refine_above),
        ),
    );
    let c = larger(larger(compat[0].abs(), compat[1].abs()), compat[2].abs());
    larger(m, c).as_f64()
}

impl<T: Sample> PeakDetector<T> {
    /// A detector for `channels` channels; allocates its buffers.
    pub fn new(channels: usize) -> Self {
        Self {
            os: Oversampler::new(),
            channels,
            buf: vec![T::zero(); channels * (HISTORY + BLOCK)],
            prev: vec![T::zero(); channels],
            points: std::array::from_fn(|_| vec![T::zero(); BLOCK]),
            compat: std::array::from_fn(|_| vec![T::zero(); BLOCK]),
            loud: 0,
        }
    }

    /// See [`Oversampler::bound`].
    pub fn bound(&self) -> f64 {
        self.os.bound()
    }

    /// True while frames that may hold a peak above `quiet` (the threshold given to
    /// [`push`](Self::push) or [`skip`](Self::skip)) still wait for their points.
    pub fn pending(&self) -> bool {
        self.loud > 0
    }

    /// Clears the history.
    pub fn reset(&mut self) {
        self.buf.fill(T::zero());
        self.prev.fill(T::zero());
        self.loud = 0;
    }

    fn load(&mut self, read: &impl Fn(usize, usize) -> T, n: usize, quiet: T) {
        let stride = HISTORY + BLOCK;
        let mut loud = false;
        for c in 0..self.channels {
            let row = &mut self.buf[c * stride..c * stride + HISTORY + n];
            for (i, v) in row[HISTORY..].iter_mut().enumerate() {
                *v = read(c, i);
                loud |= v.abs() > quiet;
            }
        }
        self.loud = if loud {
            HISTORY + 1
        } else {
            self.loud.saturating_sub(n)
        };
    }

    fn shift(&mut self, n: usize) {
        let stride = HISTORY + BLOCK;
        for c in 0..self.channels {
            self.buf
                .copy_within(c * stride + n..c * stride + n + HISTORY, c * stride);
        }
    }

    /// Takes `n ≤ DETECTOR_BLOCK` frames (`read(c, i)`) and writes into `peaks[i]` the peak (max
    /// over channels) of the frame `REACH` frames before frame `i`. `quiet` is a sample level
    /// below which no point can exceed the ceiling (`ceiling / bound`). Only points above
    /// `refine_above` are refined by their parabola (a refined point is at most 1.2 times the
    /// point, so below `target / 1.2` refining cannot change whether a peak exceeds `target`).
    pub fn push(
        &mut self,
        read: impl Fn(usize, usize) -> T,
        n: usize,
        quiet: T,
        refine_above: f64,
        peaks: &mut [f64],
    ) {
        self.load(&read, n, quiet);
        let stride = HISTORY + BLOCK;
        let peaks = &mut peaks[..n];
        peaks.fill(0.0);
        for c in 0..self.channels {
            let x = &self.buf[c * stride..c * stride + HISTORY + n];
            let [p1, p2, p3] = &mut self.points;
            let (p1, p2, p3) = (&mut p1[..n], &mut p2[..n], &mut p3[..n]);
            self.os.interpolate(x, [&mut *p1, &mut *p2, &mut *p3]);
            let (p1, p2, p3) = (&*p1, &*p2, &*p3);
            let [c1, c2, c3] = &mut self.compat;
            let (c1, c2, c3) = (&mut c1[..n], &mut c2[..n], &mut c3[..n]);
            self.os
                .interpolate_compat(x, [&mut *c1, &mut *c2, &mut *c3]);
            let (c1, c2, c3) = (&*c1, &*c2, &*c3);
            frame_peaks(
                x,
                [p1, p2, p3],
                [c1, c2, c3],
                self.prev[c],
                refine_above,
                peaks,
            );
            self.prev[c] = p3[n - 1];
        }
        self.shift(n);
    }

    /// As [`push`](Self::push) for frames known to need no points (every sample at or below
    /// `quiet` and nothing [`pending`](Self::pending)): keeps the history only.
    pub fn skip(&mut self, read: impl Fn(usize, usize) -> T, n: usize, quiet: T) {
        self.load(&read, n, quiet);
        let stride = HISTORY + BLOCK;
        for c in 0..self.channels {
            // The last frame's phase-3 point, for the parabola at the next block's first sample.
            let x = &self.buf[c * stride + n - 1..c * stride + n - 1 + TAPS];
            self.prev[c] = self.os.point(x, 3);
        }
        self.shift(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_zero_is_the_sample_and_the_phases_interpolate_a_slow_sine() {
        let os = Oversampler::<f64>::new();
        let f = 0.05; // cycles per sample
        let x: Vec<f64> = (0..200)
            .map(|i| (2.0 * std::f64::consts::PI * f * i as f64).sin())
            .collect();
        let n = 200 - HISTORY;
        let (mut a, mut b, mut c) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        os.interpolate(&x, [&mut a, &mut b, &mut c]);
        for q in 0..n {
            let m = (q + 15) as f64;
            for (p, y) in [&a, &b, &c].iter().enumerate() {
                let t = m + (p + 1) as f64 / 4.0;
                let want = (2.0 * std::f64::consts::PI * f * t).sin();
                assert!((y[q] - want).abs() < 1e-3, "{q} {p} {} {want}", y[q]);
            }
        }
        // The L1 norm of a 32-tap sinc interpolator grows like (2/π)·ln(taps).
        assert!(os.bound() > 2.0 && os.bound() < 3.0, "{}", os.bound());
    }

    #[test]
    fn the_meter_finds_the_peak_between_samples() {
        // fs/4 at 45° phase: samples at ±0.7071, true peak 1.
        // A 1000-sample fade-in: an abrupt start rings (a real intersample overshoot).
        let x: Vec<f32> = (0..4800)
            .map(|i| {
                let fade = (i as f64 / 1000.0).min(1.0);
                let phase = std::f64::consts::FRAC_PI_2 * i as f64 + std::f64::consts::FRAC_PI_4;
                (fade * phase.sin()) as f32
            })
            .collect();
        let mut m = TruePeakMeter::<f32>::new(1);
        for block in x.chunks(333) {
            m.add(0, block);
        }
        let p = m.peaks()[0];
        assert!((20.0 * p.log10()).abs() < 0.05, "{p}");
    }
}
