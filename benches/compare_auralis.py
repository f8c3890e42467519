#!/usr/bin/env python3
"""tonecore.compat.auralis against the Auralis player's numpy hot paths, on the same input.

The "host" columns run the host's algorithms as the host writes them (numpy/scipy.fft frame
loops, boolean band masks, a reused ThreadPoolExecutor for the parallel FFT), transcribed here;
the tonecore columns run the drop-in replacements. Every time is the best of several runs;
ratios come from the same run. Usage (after ``pip install ./bindings/python``):

    python3 benches/compare_auralis.py [--per-block]

The per-block rows (512-frame blocks: the smoother, the level matcher, the safety limit) time
1000 calls per run, host and tonecore runs interleaved, best of ROUNDS (default 15; set
``TONECORE_BENCH_ROUNDS``). The first output line gives the load average before and after.
"""

from __future__ import annotations

import os
import sys

# numpy's bundled OpenBLAS keeps worker threads polling after start-up; none of the code timed
# here uses BLAS, and on a 2-core machine the pollers take the core tonecore's second worker
# needs. One BLAS thread for both sides.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.fft

from tonecore.compat import auralis as A

SR = 44100
RNG = np.random.default_rng(1)
ROUNDS = int(os.environ.get("TONECORE_BENCH_ROUNDS", "15"))
#: ``--per-block``: only the per-block real-time rows (a quick run).
PER_BLOCK_ONLY = "--per-block" in sys.argv[1:]
EDGES = np.array([
    20.0, 100.0, 200.0, 300.0, 400.0, 510.0, 630.0, 770.0, 920.0, 1080.0, 1270.0, 1480.0,
    1720.0, 2000.0, 2320.0, 2700.0, 3150.0, 3700.0, 4400.0, 5300.0, 6400.0, 7700.0, 9500.0,
    12000.0, 15500.0, 20000.0,
])


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def loop(fn, calls):
    """`fn` called `calls` times, each result dropped at once (as a host's frame loop does)."""

    def run():
        for _ in range(calls):
            fn()

    return run


def duel(host_fn, tc_fns, rounds):
    """Alternates the host and the tonecore runs for `rounds` rounds (so both see the same
    machine load) and returns the best time of each."""
    host = float("inf")
    tcs = [float("inf")] * len(tc_fns)
    for _ in range(rounds):
        host = min(host, best(host_fn, 1))
        for i, fn in enumerate(tc_fns):
            tcs[i] = min(tcs[i], best(fn, 1))
    return host, tcs


# -- the host's code paths, transcribed ------------------------------------------------------------


def host_band_map(sr, n):
    freqs = np.linspace(0, sr // 2, n // 2 + 1)
    return np.clip(np.searchsorted(EDGES, freqs, side="right") - 1, 0, 24)


def host_eq_mono(x, gains, bm, n):
    spectrum = scipy.fft.fft(x[:n])
    bins = n // 2 + 1
    curve = np.ones(bins)
    lin = 10 ** (gains / 20)
    for i, g in enumerate(lin):
        curve[bm == i] = g
    spectrum[:bins] *= curve
    spectrum[bins:] *= curve[1:-1][::-1]
    return np.real(scipy.fft.ifft(spectrum))[: len(x)].astype(x.dtype, copy=False)


def host_apply_eq(chunk, gains, bm, n):
    if chunk.ndim == 1:
        return host_eq_mono(chunk, gains, bm, n)
    return np.column_stack([host_eq_mono(chunk[:, c], gains, bm, n) for c in range(chunk.shape[1])])


def host_weight(c):
    if 1000 <= c <= 4000:
        return 1.0
    if 300 <= c <= 8000:
        return 0.8
    if 100 <= c <= 300 or 8000 <= c <= 16000:
        return 0.6
    return 0.3


class HostAdaptiveEq:
    def __init__(self, sr, n, speed):
        self.sr, self.n, self.speed = sr, n, speed
        self.bm = host_band_map(sr, n)
        self.weights = [host_weight(np.sqrt(EDGES[i] * EDGES[i + 1])) for i in range(25)]
        self.current = np.zeros(25)

    def analyze(self, chunk):
        # The host today (its changes #3428 and #4101): the windowed frame divided by the
        # window's mean, no dB offset.
        mono = np.mean(chunk, axis=1) if chunk.ndim == 2 else chunk
        window = np.hanning(self.n)
        spectrum = scipy.fft.fft(mono[: self.n] * window / np.mean(window))
        mag = np.abs(spectrum[: self.n // 2 + 1])
        mag_db = 20 * np.log10(mag + 1e-10)
        energies = np.zeros(25)
        for i in range(25):
            mask = self.bm == i
            if np.any(mask):
                energies[i] = np.mean(mag_db[mask])
        thresholds = np.full(25, -60.0)
        for i in range(25):
            start = max(0, int(EDGES[i] * len(mag) * 2 / self.sr))
            end = min(len(mag), int(EDGES[i + 1] * len(mag) * 2 / self.sr))
            if end > start:
                thresholds[i] = max(20 * np.log10(np.max(mag[start:end]) + 1e-10) - 20, -80.0)
        return energies, thresholds

    def gains(self, e, t, target):
        e = np.where(np.isfinite(e), e, 0.0)
        t = np.where(np.isfinite(t), t, 0.0)
        g = np.zeros(25)
        for i in range(25):
            v = target[i] if i < len(target) else 0.0
            if e[i] < t[i]:
                v *= 0.5
            g[i] = np.clip(v * self.weights[i], -12.0, 12.0)
        out = np.zeros(25)
        for i in range(25):
            out[i] = self.current[i] + (g[i] - self.current[i]) * self.speed
        self.current = out.copy()
        return out

    def process(self, audio, target):
        n, hop = self.n, self.n // 2
        out = np.zeros_like(audio)
        wnorm = np.zeros(len(audio))
        w = np.hanning(n)
        for i in range(0, len(audio), hop):
            end = min(i + n, len(audio))
            chunk = audio[i:end]
            if len(chunk) < n:
                padded = np.zeros((n,) + chunk.shape[1:], dtype=chunk.dtype)
                padded[: len(chunk)] = chunk
                chunk = padded
            e, t = self.analyze(chunk)
            y = host_apply_eq(chunk, self.gains(e, t, target), self.bm, n)
            valid = end - i
            out[i:end] += y[:valid] * w[:valid, np.newaxis]
            wnorm[i:end] += w[:valid]
        return out / np.maximum(wnorm, 1e-8)[:, np.newaxis]


class HostParallelFFT:
    def __init__(self):
        self.pool = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1))
        self.window = np.hanning(4096)
        self.window.setflags(write=False)

    @staticmethod
    def _chunk(chunk, window, n):
        return np.fft.fft(chunk * window, n)

    def windowed_fft(self, audio, n=4096, hop=None):
        hop = n // 2 if hop is None else hop
        window = self.window if n == 4096 else np.hanning(n)
        chunks = [(audio[i : i + n].copy(), window, n) for i in range(0, len(audio) - n + 1, hop)]
        return list(self.pool.map(self._chunk, *zip(*chunks)))

    def stft(self, audio, n=4096, hop=None):
        return np.column_stack([f[: n // 2 + 1] for f in self.windowed_fft(audio, n, hop)])


def host_crossfade(chunk1, chunk2, overlap):
    actual = min(overlap, len(chunk1), len(chunk2))
    t = np.linspace(0.0, np.pi / 2, actual)
    fo, fi = np.cos(t) ** 2, np.sin(t) ** 2
    if chunk1.ndim == 2:
        fo, fi = fo[:, None], fi[:, None]
    mixed = chunk1[-actual:] * fo + chunk2[:actual] * fi
    return np.concatenate([chunk1[:-actual], mixed, chunk2[actual:]], axis=0)


class HostSmoother:
    def __init__(self, attack, release):
        self.attack, self.release, self.current, self.target = attack, release, 1.0, 1.0

    def set_target(self, t):
        self.target = max(0.0, min(10.0, t))

    def process(self, n):
        if abs(self.current - self.target) < 1e-6:
            return np.full(n, self.current, dtype=np.float32)
        a = self.attack if self.target > self.current else self.release
        g = self.target + (self.current - self.target) * (1.0 - a) ** np.arange(1, n + 1, dtype=np.float64)
        self.current = float(g[-1])
        return g.astype(np.float32)


class HostLevelMatcher:
    def __init__(self, reference):
        self.reference_rms = np.sqrt(np.mean(reference ** 2))
        self.current_target_rms = 0.0
        self.smoother = HostSmoother(0.02, 0.005)

    def process(self, audio):
        current = np.sqrt(np.mean(audio ** 2))
        self.current_target_rms += (self.reference_rms - self.current_target_rms) * 0.01
        self.smoother.set_target(self.current_target_rms / current)
        processed = audio * self.smoother.process(len(audio))[:, np.newaxis]
        m = np.max(np.abs(processed))
        if m > 0.95:
            processed *= 0.95 / m
        return processed


# -- the comparisons -------------------------------------------------------------------------------


def main():
    load_before = os.getloadavg()
    rows = []

    def row(name, host_s, tc_s, note=""):
        rows.append((name, host_s, tc_s, host_s / tc_s, note))

    if not PER_BLOCK_ONLY:
        # Frame EQ: one 4096-sample stereo frame, 200 calls.
        bm = A.band_map(SR, 4096)
        gains = RNG.uniform(-6, 6, 25)
        frame = RNG.uniform(-1, 1, (4096, 2))
        assert np.max(np.abs(A.apply_eq_frame(frame, gains, bm, 4096) - host_apply_eq(frame, gains, bm, 4096))) < 1e-12
        calls = 200
        h, (t,) = duel(
            loop(lambda: host_apply_eq(frame, gains, bm, 4096), calls),
            [loop(lambda: A.apply_eq_frame(frame, gains, bm, 4096), calls)],
            10,
        )
        h, t = h / calls, t / calls
        row("apply_eq_frame (4096 x 2, per frame)", h, t, "target >= 5x")

        # Adaptive overlap-add EQ: 30 s stereo, N 4096.
        audio = RNG.uniform(-0.5, 0.5, (30 * SR, 2))
        target = RNG.uniform(-6, 6, 25)
        want = HostAdaptiveEq(SR, 4096, 0.8).process(audio, target)
        got = A.eq_process_buffer(audio, target)
        assert np.max(np.abs(got - want)) < 1e-9
        h, (t, t1) = duel(
            lambda: HostAdaptiveEq(SR, 4096, 0.8).process(audio, target),
            [lambda: A.eq_process_buffer(audio, target),
             lambda: A.eq_process_buffer(audio, target, threads=1)],
            6,
        )
        row("eq_process_buffer (30 s stereo, N 4096)", h, t,
            f"target >= 20x; host {30 / h:.0f}x real time, tonecore {30 / t:.0f}x "
            f"({30 / t1:.0f}x on 1 thread: {h / t1:.1f}x)")

        # Parallel STFT: 60 s mono, N 4096, hop 2048.
        mono = RNG.uniform(-1, 1, 60 * SR)
        host_fft = HostParallelFFT()
        proc = A.ParallelFFTProcessor()
        one = A.ParallelFFTProcessor(A.ParallelConfig(enable_parallel=False))
        ref = host_fft.stft(mono)
        got = proc.parallel_stft(mono)
        assert np.max(np.abs(got - ref)) / np.max(np.abs(ref)) < 1e-12
        h, (t, t1) = duel(
            lambda: host_fft.stft(mono),
            [lambda: proc.parallel_stft(mono), lambda: one.parallel_stft(mono)],
            10,
        )
        row("parallel_stft (60 s mono, N 4096)", h, t,
            f"target >= 20x; 1 thread {t1 * 1e3:.1f} ms ({h / t1:.1f}x)")
        h, (t,) = duel(lambda: host_fft.windowed_fft(mono), [lambda: proc.parallel_windowed_fft(mono)], 8)
        row("parallel_windowed_fft (60 s mono, full spectra)", h, t)

        # Chunk crossfade: two 15 s stereo chunks, 5 s overlap.
        c1 = RNG.uniform(-1, 1, (15 * SR, 2))
        c2 = RNG.uniform(-1, 1, (15 * SR, 2))
        h, (t,) = duel(lambda: host_crossfade(c1, c2, 5 * SR), [lambda: A.crossfade_concat(c1, c2, 5 * SR)], 10)
        row("crossfade_concat (15 s + 15 s stereo, 5 s overlap)", h, t)

    # Real-time level path: 1000 blocks of 512 stereo float32 samples.
    reference = RNG.uniform(-0.5, 0.5, (10 * SR, 2)).astype(np.float32)
    blocks = [RNG.uniform(-0.2, 0.2, (512, 2)).astype(np.float32) for _ in range(1000)]

    def host_level():
        m = HostLevelMatcher(reference)
        for b in blocks:
            m.process(b)

    def tc_level():
        m = A.LevelMatcher()
        m.set_reference_audio(reference)
        for b in blocks:
            m.process(b)

    h, (t,) = duel(host_level, [tc_level], ROUNDS)
    h, t = h / len(blocks), t / len(blocks)
    row("LevelMatcher.process (512 x 2 float32, per block)", h, t)
    hs, ts = HostSmoother(0.01, 0.001), A.GainSmoother()

    def host_smooth():
        for i in range(1000):
            hs.set_target(1.0 + (i % 7))
            hs.process(512)

    def tc_smooth():
        for i in range(1000):
            ts.set_target(1.0 + (i % 7))
            ts.process(512)

    h, (t,) = duel(host_smooth, [tc_smooth], ROUNDS)
    h, t = h / 1000, t / 1000
    row("GainSmoother set_target + process(512)", h, t)
    block = RNG.uniform(-2, 2, (512, 2)).astype(np.float32)

    def host_limit():
        for _ in range(1000):
            m = np.max(np.abs(block))
            if m > 0.95:
                block * block.dtype.type(0.95 / m)

    h, (t,) = duel(host_limit, [loop(lambda: A.realtime_safety_limit(block), 1000)], ROUNDS)
    h, t = h / 1000, t / 1000
    row("realtime_safety_limit (512 x 2 float32)", h, t)

    load_after = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores; numpy {np.__version__}, scipy {scipy.__version__}; "
          f"1-min load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
          f"per-block rows best of {ROUNDS} interleaved rounds of 1000 calls")
    print("| hot path | host (numpy) | tonecore | speedup | notes |")
    print("|---|---|---|---|---|")
    for name, hs_, ts_, ratio, note in rows:
        fmt = lambda s: f"{s * 1e3:.3f} ms" if s < 1 else f"{s:.3f} s"
        print(f"| {name} | {fmt(hs_)} | {fmt(ts_)} | {ratio:.1f}x | {note} |")


if __name__ == "__main__":
    main()
