#!/usr/bin/env python3
"""STFT of 180 s of stereo 44.1 kHz noise: tonecore against scipy.signal.stft, same input, one run.

Usage: python3 benches/compare_scipy.py [--seconds 180] [--repeat 5]
Needs the installed package (`pip install ./bindings/python`) and scipy.
Prints the best-of-N time of each and the ratio; scipy frames the same samples
(boundary=None, padded=False, hop = nperseg - noverlap).
"""
import argparse
import time

import numpy as np
import scipy.signal

import tonecore


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
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rate = 44_100
    x = np.random.default_rng(0).uniform(-1, 1, (2, int(args.seconds * rate))).astype(np.float32)
    print(f"input: {x.shape[0]} ch x {x.shape[1]} samples float32 ({args.seconds:g} s at {rate} Hz)")
    print(f"{'N/hop':>10} {'scipy s':>9} {'tc 1t s':>9} {'tc all s':>9} {'1t x':>7} {'all x':>7}")
    for n, hop in ((2048, 512), (4096, 1024)):
        out = np.empty((2, 1 + (x.shape[1] - n) // hop, n // 2 + 1), np.complex64)
        t_scipy = best_of(lambda: scipy.signal.stft(
            x, nperseg=n, noverlap=n - hop, window="hann", boundary=None, padded=False,
            axis=-1), args.repeat)
        with tonecore.Stft(n, hop=hop, threads=1, dtype=np.float32) as one, \
                tonecore.Stft(n, hop=hop, dtype=np.float32) as all_cores:
            t_one = best_of(lambda: one.forward(x, out=out), args.repeat)
            t_all = best_of(lambda: all_cores.forward(x, out=out), args.repeat)
        print(f"{n:>5}/{hop:<4} {t_scipy:9.3f} {t_one:9.3f} {t_all:9.3f} "
              f"{t_scipy / t_one:7.1f} {t_scipy / t_all:7.1f}")


if __name__ == "__main__":
    main()
