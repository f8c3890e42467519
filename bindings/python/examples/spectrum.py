#!/usr/bin/env python3
"""Spectrum analysis of a track: average spectrum, spectrogram and critical-band levels in a PNG.

Usage:
    python3 bindings/python/examples/spectrum.py [IN.wav] [--png OUT.png] [--fft-size 4096]
                                                  [--hop 1024] [--peaks 5]

Without IN it analyses a built-in 10 s stereo test signal (five tones of known frequency and
level over a low noise floor; the highest tone starts halfway). Files are read with soundfile
(WAV, FLAC, AIFF, OGG, ...). The figure (1200 x 800 px, matplotlib's Agg renderer, no display
needed) is written to ``--png`` (default: ``<input name>-spectrum.png`` in the current folder).

- Long-term average spectrum: the power of every ``tonecore.Stft`` frame (Hann window) averaged
  over frames and channels, in dBFS of a sine's peak amplitude (a full-scale sine reads 0 dB).
  The transform runs in groups of frames through one ``Stft`` object and one reused ``out=``
  buffer, so a long file never needs its whole spectrogram in memory.
- Spectrogram: the same frames, averaged per group (at most 600 columns), in dB.
- Critical bands: ``tonecore.band_energies`` (25 bands, mono downmix) averaged over frames.

Prints the strongest spectral peaks (frequency refined by parabolic interpolation, level) and
the PNG path.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import tonecore

#: The built-in signal: (frequency in Hz, amplitude in dBFS, start time in s). Frequencies sit
#: between FFT bins on purpose (44100 / 4096 = 10.77 Hz per bin).
DEMO_TONES = ((110.0, -12.0, 0.0), (440.0, -18.0, 0.0), (1234.5, -20.0, 0.0),
              (3150.0, -24.0, 0.0), (6300.0, -27.0, 5.0))
DEMO_SECONDS = 10.0
DEMO_RATE = 44100
MAX_COLUMNS = 600
PEAK_GUARD_BINS = 6  # a peak is the largest value within +-6 bins (Hann sidelobes stay below)


def demo_signal(seconds: float = DEMO_SECONDS, sr: int = DEMO_RATE) -> np.ndarray:
    """Planar (2, n) float32: the DEMO_TONES in both channels plus independent -70 dBFS noise."""
    t = np.arange(int(seconds * sr)) / sr
    mono = np.zeros_like(t)
    for freq, dbfs, start in DEMO_TONES:
        mono += 10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t) * (t >= start)
    noise = np.random.default_rng(0).normal(0.0, 10 ** (-70 / 20), (2, t.size))
    return (mono + noise).astype(np.float32)


def spectra(x: np.ndarray, fft_size: int, hop: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(average power per bin, spectrogram power (columns, bins), frames per column) of planar
    float32 ``x``."""
    channels, n = x.shape
    frames = 1 + (n - fft_size) // hop
    group = math.ceil(frames / MAX_COLUMNS)  # frames per spectrogram column
    bins = fft_size // 2 + 1
    columns = []
    total = np.zeros(bins)
    buf = np.empty((channels, group, bins), np.complex64)
    with tonecore.Stft(fft_size, hop=hop, window="hann", dtype=np.float32) as stft:
        for first in range(0, frames, group):
            count = min(group, frames - first)
            # the samples of frames first .. first+count-1, as a C-contiguous planar block
            seg = np.ascontiguousarray(x[:, first * hop:(first + count - 1) * hop + fft_size])
            out = buf if count == group else None
            spec = stft.forward(seg, out=out)
            power = spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2
            total += power.sum(axis=(0, 1))
            columns.append(power.mean(axis=(0, 1)))
    return total / (frames * channels), np.array(columns), group


def strongest_peaks(level_db: np.ndarray, sr: int, fft_size: int,
                    count: int) -> list[tuple[float, float]]:
    """The ``count`` largest local maxima of ``level_db`` (per bin) as (Hz, dB), refined by a
    parabola through each peak bin and its two neighbours."""
    g = PEAK_GUARD_BINS
    padded = np.pad(level_db, g, constant_values=-np.inf)
    local_max = np.lib.stride_tricks.sliding_window_view(padded, 2 * g + 1).max(axis=1)
    candidates = np.flatnonzero(level_db >= local_max)
    candidates = candidates[(candidates > 0) & (candidates < level_db.size - 1)]
    peaks = []
    for k in candidates[np.argsort(level_db[candidates])[::-1][:count]]:
        a, b, c = level_db[k - 1], level_db[k], level_db[k + 1]
        denom = a - 2 * b + c
        p = 0.5 * (a - c) / denom if denom != 0 else 0.0
        peaks.append(((k + p) * sr / fft_size, b - 0.25 * (a - c) * p))
    return peaks


def plot(path: Path, title: str, sr: int, fft_size: int, hop: int, ltas_db: np.ndarray,
         sgram_db: np.ndarray, group: int, peaks: list[tuple[float, float]],
         bands_db: np.ndarray) -> None:
    freqs = np.arange(ltas_db.size) * sr / fft_size
    fig = Figure(figsize=(12, 8), dpi=100)
    ax1, ax2, ax3 = fig.subplots(3, 1, gridspec_kw={"height_ratios": [1, 1.3, 0.9]})
    fig.suptitle(title)
    fmin = max(20.0, freqs[1])

    ax1.semilogx(freqs[1:], ltas_db[1:], lw=0.8)
    for f, db in peaks:
        ax1.plot(f, db, "v", color="C3")
        ax1.annotate(f"{f:.0f} Hz", (f, db), textcoords="offset points", xytext=(4, 4),
                     fontsize=8)
    ax1.set_xlim(fmin, sr / 2)
    ax1.set_ylim(max(ltas_db.max() - 100, ltas_db[1:].min() - 5), ltas_db.max() + 10)
    ax1.set_ylabel("dBFS")
    ax1.set_title(f"long-term average spectrum (N {fft_size}, hop {hop}, Hann)", fontsize=10)
    ax1.grid(True, which="both", alpha=0.3)

    times = (np.arange(sgram_db.shape[0]) * group * hop + fft_size / 2) / sr
    top = sgram_db.max()
    mesh = ax2.pcolormesh(times, freqs[1:], sgram_db[:, 1:].T, shading="nearest",
                          vmin=top - 90, vmax=top, cmap="magma", rasterized=True)
    ax2.set_yscale("log")
    ax2.set_ylim(fmin, sr / 2)
    ax2.set_ylabel("Hz")
    ax2.set_xlabel("s")
    ax2.set_title("spectrogram", fontsize=10)
    fig.colorbar(mesh, ax=ax2, label="dBFS", pad=0.01)

    centers = tonecore.BandLayout.critical().centers
    ax3.bar(np.arange(centers.size), bands_db - bands_db.min() + 1,
            bottom=bands_db.min() - 1, color="C2")
    ax3.set_xticks(np.arange(centers.size))
    ax3.set_xticklabels([f"{c:.0f}" if c < 1000 else f"{c / 1000:.1f}k" for c in centers],
                        fontsize=7)
    ax3.set_xlabel("critical band centre (Hz)")
    ax3.set_ylabel("dBFS")
    ax3.set_title("critical bands: mean bin level (tonecore.band_energies)", fontsize=10)
    fig.subplots_adjust(left=0.07, right=0.97, top=0.92, bottom=0.07, hspace=0.55)
    fig.savefig(str(path))  # the figure's 12 x 8 in at 100 dpi: 1200 x 800 px


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", nargs="?", help="audio file (default: the built-in test signal)")
    ap.add_argument("--png", help="output image (default: <input name>-spectrum.png here)")
    ap.add_argument("--fft-size", type=int, default=4096)
    ap.add_argument("--hop", type=int, default=1024)
    ap.add_argument("--peaks", type=int, default=5, help="how many peaks to print")
    args = ap.parse_args()

    if args.input is None:
        x, sr, name = demo_signal(), DEMO_RATE, "demo"
        title = "built-in test signal: " + ", ".join(f"{f:g} Hz" for f, _, _ in DEMO_TONES)
    else:
        import soundfile as sf

        src = Path(args.input)
        if not src.is_file():
            print(f"error: input file not found: {src}", file=sys.stderr)
            return 1
        try:
            data, sr = sf.read(str(src), dtype="float32", always_2d=True)
        except Exception as e:  # soundfile raises its own error types for unreadable files
            print(f"error: cannot read {src}: {e}", file=sys.stderr)
            return 1
        x = np.ascontiguousarray(data.T)  # (frames, channels) -> planar (channels, frames)
        name, title = src.stem, f"{src.name}: {x.shape[0]} ch, {sr} Hz, {x.shape[1] / sr:.1f} s"
    png = Path(args.png) if args.png else Path(f"{name}-spectrum.png")

    n, hop = args.fft_size, args.hop
    if x.shape[1] < n:
        print(f"error: {x.shape[1]} frames is shorter than one FFT frame ({n})", file=sys.stderr)
        return 1
    if not np.all(np.isfinite(x)):
        print("error: the input contains NaN or Inf samples", file=sys.stderr)
        return 1

    try:
        # dB relative to a full-scale sine: a sine of amplitude A peaks at A * sum(window) / 2.
        sine_ref = tonecore.window("hann", n).sum() / 2
        avg_power, sgram_power, group = spectra(x, n, hop)
        # band_energies reads a bin holding a sine of amplitude A as 20*log10(A * n / 2) dB
        bands_db = tonecore.band_energies(x, sr, fft_size=n, hop=hop).mean(axis=0) \
            - 20 * np.log10(n / 2)
    except tonecore.Error as e:  # e.g. an odd --fft-size or a --hop larger than it
        print(f"error: {e}", file=sys.stderr)
        return 1
    ltas_db = 10 * np.log10(avg_power + 1e-30) - 20 * np.log10(sine_ref)
    sgram_db = 10 * np.log10(sgram_power + 1e-30) - 20 * np.log10(sine_ref)
    peaks = strongest_peaks(ltas_db, sr, n, args.peaks)

    plot(png, title, sr, n, hop, ltas_db, sgram_db, group, peaks, bands_db)
    print(f"{name}: {x.shape[0]} ch, {sr} Hz, {x.shape[1] / sr:.1f} s; "
          f"bin width {sr / n:.2f} Hz")
    print("strongest peaks:")
    for f, db in peaks:
        print(f"  {f:9.1f} Hz  {db:6.1f} dBFS")
    loudest = int(np.argmax(bands_db))
    print(f"loudest critical band: {loudest} "
          f"({tonecore.BandLayout.critical().centers[loudest]:.0f} Hz)")
    print(f"wrote {png.resolve()} (1200 x 800 px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
