#!/usr/bin/env python3
"""25-band EQ of 180 s of stereo 44.1 kHz audio: tonecore against scipy and pedalboard, one run.

Usage: python3 benches/compare_eq.py [--seconds 180] [--repeat 3]

- tonecore: ``tonecore.equalize`` (exact linear-phase FIR by FFT overlap-save), 1 thread and all.
- scipy: the hosts' FFT EQ — ``scipy.signal.stft`` (N=4096, 50 % overlap) → per-bin step gains
  → ``scipy.signal.istft``.
- pedalboard: 25 chained ``PeakFilter``s at the critical-band centres (Q = centre / width).
Prints best-of-N wall times and the ratios to tonecore on one thread.
"""
import argparse
import time

import numpy as np
import scipy.signal

import tonecore

try:
    import pedalboard
except ImportError:  # optional
    pedalboard = None


def best_of(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sr, n = 44_100, 4096
    rng = np.random.default_rng(1)
    x = rng.uniform(-0.5, 0.5, (2, int(args.seconds * sr))).astype(np.float32)
    gains = rng.uniform(-6, 6, 25)
    layout = tonecore.BandLayout.critical()
    out = np.empty_like(x)
    rows = []
    t1 = best_of(lambda: tonecore.equalize(x, sr, gains, threads=1, out=out), args.repeat)
    rows.append(("tonecore equalize, 1 thread", t1))
    rows.append(("tonecore equalize, all threads",
                 best_of(lambda: tonecore.equalize(x, sr, gains, out=out), args.repeat)))

    curve = tonecore.gain_curve(gains, layout, sr, n, mode="step").astype(np.float32)

    def scipy_eq():
        _, _, z = scipy.signal.stft(x, fs=sr, nperseg=n, window="hann")
        z *= curve[:, None]
        return scipy.signal.istft(z, fs=sr, nperseg=n, window="hann")[1]

    rows.append(("scipy stft -> gains -> istft", best_of(scipy_eq, args.repeat)))
    if pedalboard is not None:
        centers, edges = layout.centers, layout.edges
        board = pedalboard.Pedalboard([
            pedalboard.PeakFilter(cutoff_frequency_hz=float(c), gain_db=float(g),
                                  q=float(c / (hi - lo)))
            for c, g, lo, hi in zip(centers, gains, edges[:-1], edges[1:])])
        rows.append(("pedalboard 25 x PeakFilter", best_of(lambda: board(x, sr), args.repeat)))
    print(f"input: 2 ch x {x.shape[1]} samples float32 ({args.seconds:g} s), 25 critical bands")
    for name, t in rows:
        print(f"{name:34s} {t:8.3f} s   {t / t1:6.2f}x tonecore-1-thread time"
              f"   {args.seconds / t:8.0f}x real time")


if __name__ == "__main__":
    main()
