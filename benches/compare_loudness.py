#!/usr/bin/env python3
"""Integrated loudness of 180 s of stereo 44.1 kHz audio: tonecore against pyloudnorm, one run.

Usage: python3 benches/compare_loudness.py [--seconds 180] [--repeat 3]
Prints best-of-N times: pyloudnorm's Meter.integrated_loudness, tonecore.loudness (the full
measurement: integrated, momentary/short-term maxima, loudness range and true peak), and the
ratio, plus the two integrated values (they must agree within 0.1 LU).
"""
import argparse
import time

import numpy as np
import pyloudnorm

import tonecore


def best_of(fn, repeat):
    best, value = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sr = 44_100
    n = int(args.seconds * sr)
    rng = np.random.default_rng(2)
    t = np.arange(n) / sr
    envelope = 0.3 + 0.7 * (0.5 + 0.5 * np.sin(2 * np.pi * t / 20.0))
    mono = envelope * (0.3 * np.sin(2 * np.pi * 110 * t) + 0.1 * rng.standard_normal(n))
    x = np.stack([mono, 0.9 * mono + 0.02 * rng.standard_normal(n)])
    meter = pyloudnorm.Meter(sr)
    frames_channels = np.ascontiguousarray(x.T)
    t_pyln, v_pyln = best_of(lambda: meter.integrated_loudness(frames_channels), args.repeat)
    t_full, v_full = best_of(lambda: tonecore.loudness(x, sr), args.repeat)
    print(f"input: 2 ch x {n} samples float64 ({args.seconds:g} s)")
    print(f"pyloudnorm integrated            {t_pyln:7.3f} s   {v_pyln:7.2f} LUFS")
    print(f"tonecore full (I, M, S, LRA, TP) {t_full:7.3f} s   {v_full['integrated']:7.2f} LUFS"
          f"   {t_pyln / t_full:5.1f}x faster")
    if hasattr(tonecore, "integrated_loudness"):
        t_int, v_int = best_of(lambda: tonecore.integrated_loudness(x, sr), args.repeat)
        print(f"tonecore integrated only         {t_int:7.3f} s   {v_int:7.2f} LUFS"
              f"   {t_pyln / t_int:5.1f}x faster")


if __name__ == "__main__":
    main()
