#!/usr/bin/env python3
"""Master one audio file: warm EQ -> level matcher at -14 LUFS -> limiter at -1 dBFS.

Usage:
    python3 bindings/python/examples/process_file.py IN.wav OUT.flac [--progress]
    python3 bindings/python/examples/process_file.py     # makes a 20 s demo track in a temp dir

Reads and writes through soundfile (WAV, FLAC, AIFF, OGG, ...), renders chunk-parallel on all
cores, writes atomically (Ctrl-C leaves no partial file) and prints loudness before and after.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

import tonecore


def demo_track(path: Path, seconds: float = 20.0, sr: int = 44100) -> None:
    """A quiet chord with a little noise, stereo."""
    t = np.arange(int(seconds * sr)) / sr
    chord = sum(np.sin(2 * np.pi * f * t) for f in (110.0, 220.0, 277.2, 329.6)) / 8
    noise = np.random.default_rng(0).normal(0, 0.01, (2, t.size))
    sf.write(str(path), (0.3 * chord + noise).T, sr, subtype="PCM_24")


def lufs(path: Path) -> float:
    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return tonecore.integrated_loudness(x.T, sr, copy=True)  # (frames, ch) -> planar copy


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", nargs="?")
    ap.add_argument("output", nargs="?")
    ap.add_argument("--progress", action="store_true", help="show a tqdm progress bar")
    args = ap.parse_args()
    if (args.input is None) != (args.output is None):
        ap.error("give both IN and OUT, or neither for the demo track")
    if args.input is None:
        folder = Path(tempfile.mkdtemp(prefix="tonecore-example-"))
        src, dst = folder / "demo.wav", folder / "demo-mastered.flac"
        demo_track(src)
    else:
        src, dst = Path(args.input), Path(args.output)

    warm = np.interp(np.arange(25), [0, 6, 14, 24], [3.0, 1.0, -1.0, 2.0])  # dB per band
    config = tonecore.PipelineConfig(
        eq_gains=warm,
        level=tonecore.LevelConfig(target_lufs=-14.0),
        limiter=tonecore.LimiterConfig(ceiling_db=-1.0),
    )
    try:
        result = tonecore.process_file(src, dst, config, progress=True if args.progress else None)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; no output written", file=sys.stderr)
        return 130
    print(f"{result.in_path}: {result.channels} ch, {result.sample_rate} Hz, "
          f"{result.duration:.1f} s, {result.input_subtype}")
    print(f"wrote {result.out_path} ({result.format} {result.subtype}) in {result.elapsed:.2f} s, "
          f"{result.clipped_samples} samples clipped")
    print(f"loudness: {lufs(src):.1f} LUFS -> {lufs(dst):.1f} LUFS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
