#!/usr/bin/env python3
"""Loudness normalisation under a true-peak ceiling: tonecore against ffmpeg and pyloudnorm.

"Bring this track to T LUFS under -1 dBTP", for six synthetic tracks and three targets; every
output is measured here, independently of tonecore, and the script fails when tonecore misses.

Usage:
    python3 benches/compare_mastering.py [--seconds 60] [--repeat 3] [--json PATH]
    python3 benches/compare_mastering.py --quick      # smoke run: 5 s signals, one repetition
    python3 benches/compare_mastering.py --signals sweep,square --targets -14 --cli PATH

Needs numpy, scipy and the installed package (``pip install ./bindings/python``; it bundles
``libtonecore``, ``TONECORE_LIBRARY`` loads another build). Optional, each row whose tool is
missing prints ``skipped: ...``: the ``tonecore`` command (``cargo build --release -p
tonecore-cli`` -> ``target/release/tonecore``; ``--cli PATH`` or ``$TONECORE_CLI`` to use another),
``ffmpeg`` (``apt-get install ffmpeg``), ``pyloudnorm`` and ``pedalboard`` (``pip install
pyloudnorm pedalboard``). pyloudnorm is also the meter: without it nothing can be measured and the
script stops.

Corpus (synthesised here, deterministic seeds, 44.1 kHz stereo float32, planar ``(2, n)``,
``--seconds`` long, default 60):
- ``quiet_music``: music-like (bass, chords, kick, snare, hats) with wide dynamics: sections from
  -40 to 0 dB relative, peaks at -20 dBFS.
- ``loud_music``: a denser mix, tanh-saturated and hard-clipped at -0.1 dBFS sample peak (a
  "clipped-ish" loud master whose true peak is above 0 dBTP).
- ``speech``: syllables of noise through three vowel formant resonators (plus some sibilant
  bursts), words and pauses of up to 1.2 s, the same in both channels over a -70 dBFS floor;
  peaks at -6 dBFS.
- ``sweep``: logarithmic sine sweep 20 Hz - 20 kHz over the whole length, -6 dBFS, 10 ms fades.
  Above ~18 kHz every 4x meter (and resample_poly's filter) sees it attenuated.
- ``square``: a naive (not band-limited, aliased) 997 Hz square wave, +-0.944 (-0.5 dBFS sample
  peak); its reconstructed waveform overshoots the samples, the adversarial case for true peak.
- ``pink_noise``: independent pink noise per channel (1/f power, 20 Hz - Nyquist), -20 dBFS RMS.
Targets: -23, -14 and -9 LUFS (``--targets``), ceiling -1 dBTP.

Rows per (signal, target):
1. ``tonecore``: ``tonecore.normalize(x, 44100, target_lufs=T, ceiling_dbtp=-1.0)`` on the
   in-memory array: integrated loudness -> one static gain -> the 4x true-peak limiter over the
   whole track, gain corrected and limiter re-run until within 0.03 LU (up to 6 passes). The time
   is the call alone (measuring, all passes, allocating the output). Its report (outcome, passes,
   its own output loudness) goes to the notes and the JSON.
2. ``tonecore-cli``: ``tonecore process in.wav out.wav --target-lufs T --ceiling-db -1 --bits 32
   -q``, file to file on a float32 WAV: no ``--eq``/``--eq-preset``, so the EQ stage is
   bypassed and it is the same plain normalisation as row 1 (its ``level:`` line goes to the
   notes). The time is the whole process: start-up, decode, normalise, the before/after loudness
   summary it always prints, writing the float WAV.
3. ``ffmpeg``: ``loudnorm`` two-pass linear mode, file to file: pass 1 ``-af
   loudnorm=I=T:TP=-1:LRA=50:print_format=json -f null -`` measures; pass 2 gives it
   ``measured_I/TP/LRA/thresh``, ``offset`` and ``linear=true`` and writes ``-ar 44100 -c:a
   pcm_f32le`` (loudnorm works at 192 kHz). LRA=50 (its maximum) so the loudness-range
   condition of linear mode does not force a fallback; ffmpeg still falls back to its dynamic
   mode (a gain rider with its own limiter) when the static gain would put the measured true
   peak over TP, or when the measured LRA is 0 (steady signals): the notes give pass 2's
   ``normalization_type``. Pass 2 refuses a measured loudness above 0 LUFS (its
   ``measured_I`` range), so an input louder than that is an error row. The time is both
   processes (two decodes, the 192 kHz resampling, the write).
4. ``pyloudnorm+pedalboard``: ``Meter.integrated_loudness``, ``pyloudnorm.normalize.loudness``
   (static gain), then ``pedalboard.Limiter(threshold_db=-1, release_ms=100)``: JUCE's
   limiter, two compressors in series without lookahead or oversampling, and no correction
   pass. It also applies make-up gain (+4.75 dB to a signal below its threshold with
   threshold_db=-1, measured with pedalboard 0.9.26), so this row lands about +4.75 LU over the
   target wherever the limiter is idle: it is the plain recipe, not tuned. The time is all
   three steps in memory.

Measured for every output (never by tonecore): integrated loudness by pyloudnorm's BS.1770-4
``Meter`` (K-weighting, 400 ms blocks, gated) and its error against the target in LU, plus a
second reading, "exact", by this script's own gated meter with K-weighting designed as libebur128
does (the analog prototype of BS.1770's 48 kHz filters, bilinear at 44.1 kHz); true peak
as the largest absolute sample over the channels of ``scipy.signal.resample_poly(x, k, 1,
axis=-1)`` (its default Kaiser-windowed design) at k = 4 and 16, in dBTP; ``*`` marks a value
over the ceiling. The reference (errors, exit status) is pyloudnorm, which reads ~0.04 LU
below BS.1770-exact meters (a 0 dBFS 997 Hz sine in one channel: pyloudnorm 0.2.0 -3.05 LUFS,
the standard -3.01, at 44.1 and 48 kHz alike); the "exact" column shows that offset, and the
tools' own readings are kept in the JSON as ``tool_lufs``. Times are the best of ``--repeat``
wall-clock runs; the outputs of the last run are measured. Ratios are the other tool's time
over tonecore's, so above 1 means tonecore is faster: ffmpeg/tonecore compares a file-to-file
tool with an in-memory call, ffmpeg/tonecore-cli is file to file on both sides.

Exit status 1 when a tonecore case (row 1 or 2) misses its target by more than 0.1 LU, has a
16x true peak above -0.9 dBTP (ceiling + 0.1 dB) or a 4x true peak above -1.0 dBTP. The load
average is printed at the start and the end: timings on a busy machine are not comparable.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import scipy
import scipy.io.wavfile
import scipy.signal

SR = 44_100
CEILING = -1.0
TARGETS = (-23.0, -14.0, -9.0)
REPO = Path(__file__).resolve().parents[1]
#: Tolerances of the tonecore rows (exit status 1 beyond them).
MAX_ERROR_LU = 0.1
MAX_TP16_OVER = 0.1
FFMPEG_LRA = 50.0
TOOLS = ("tonecore", "tonecore-cli", "ffmpeg", "pyloudnorm+pedalboard")
TONECORE_TOOLS = ("tonecore", "tonecore-cli")


# -- corpus --------------------------------------------------------------------------------


def _db(x: float) -> float:
    return 20 * math.log10(x) if x > 0 else -math.inf


def _peak_to(x: np.ndarray, peak_dbfs: float) -> np.ndarray:
    return np.asarray(x * (10 ** (peak_dbfs / 20) / np.max(np.abs(x))))


def _tone(freqs: np.ndarray, harmonics: int, sr: int) -> np.ndarray:
    phase = 2 * np.pi * np.cumsum(freqs) / sr
    return np.asarray(np.sum([np.sin(k * phase) / k for k in range(1, harmonics + 1)], axis=0))


def _music(n: int, sr: int, seed: int, dense: bool) -> np.ndarray:
    """Music-like stereo float64 (2, n): bass, chords, kick, snare, hats, sections."""
    t = np.arange(n) / sr
    rng = np.random.default_rng(seed)
    beat = 0.46 if dense else 0.5
    pos = t % beat
    bar = (t // (4 * beat)).astype(np.int64)
    roots = np.array([55.0, 55.0 * 2 ** (5 / 12), 55.0 * 2 ** (7 / 12), 55.0 * 2 ** (3 / 12)])
    root = roots[bar % 4]
    bass = 0.35 * _tone(root, 4 if dense else 3, sr) * np.exp(-(t % (2 * beat)) / 0.6)
    # chords struck every bar and decaying (piano-like) or sustained (dense pad)
    decay = np.exp(-(t % (4 * beat)) / 0.9) if not dense else 0.6 + 0.4 * np.exp(-pos / 0.3)
    chords = sum(_tone(root * 4 * 2 ** (s / 12), 6 if dense else 5, sr)
                 for s in (0, 4, 7, 10 if dense else 12)) * 0.06 * decay
    kick = 0.6 * np.sin(2 * np.pi * (45 * pos + 60 * 0.03 * (1 - np.exp(-pos / 0.03)))) \
        * np.exp(-pos / 0.12)
    beat_no = (t // beat).astype(np.int64)
    snare = 0.25 * rng.standard_normal(n) * np.exp(-pos / 0.08) * (beat_no % 2 == 1)
    hats = 0.05 * np.diff(rng.standard_normal(n + 1)) * np.exp(-(t % (beat / 2)) / 0.03)
    if dense:
        hats *= 2.0
        level_db = np.interp(t / (n / sr), [0, 0.1, 0.12, 0.45, 0.47, 1.0],
                             [-6, -6, -2, -2, 0, 0])
    else:
        # intro, verse, chorus, breakdown, last chorus, fade-out
        level_db = np.interp(t / (n / sr),
                             [0, 0.15, 0.17, 0.40, 0.42, 0.60, 0.62, 0.75, 0.77, 0.95, 1.0],
                             [-26, -26, -12, -12, 0, 0, -30, -30, 0, 0, -40])
        # the intro and the breakdown are chords only
        quiet = level_db < -20
        kick = np.where(quiet, 0.0, kick)
        snare = np.where(quiet, 0.0, snare)
    section = 10 ** (level_db / 20)
    left = section * (bass + kick + snare + 1.2 * chords + 0.7 * hats)
    right = section * (bass + kick + snare + 0.8 * chords + 1.3 * hats)
    return np.stack([left, right]) + rng.normal(0, 1e-4, (2, n))


def quiet_music(n: int, sr: int) -> np.ndarray:
    return _peak_to(_music(n, sr, 11, dense=False), -20.0)


def loud_music(n: int, sr: int) -> np.ndarray:
    x = _music(n, sr, 12, dense=True)
    x = np.tanh(2.5 * x / np.max(np.abs(x))) / np.tanh(2.5)  # saturate
    clip = 10 ** (-0.1 / 20)
    return np.asarray(np.clip(1.15 * x, -clip, clip))  # and hard-clip at -0.1 dBFS


_VOWELS = np.array([(730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (570, 840, 2410),
                    (300, 870, 2240), (660, 1720, 2410), (490, 1350, 1690), (440, 1020, 2240)],
                   dtype=float)


def speech(n: int, sr: int) -> np.ndarray:
    """Bursts of formant-filtered noise: syllables in words, words in phrases, pauses."""
    rng = np.random.default_rng(13)
    y = np.zeros(n)
    hp_b, hp_a = scipy.signal.butter(4, 4000, "highpass", fs=sr)
    pos = int(0.3 * sr)
    while pos < n:
        for _word in range(rng.integers(2, 7)):  # a phrase
            for _syl in range(rng.integers(1, 4)):  # a word
                length = int(rng.uniform(0.10, 0.28) * sr)
                noise = rng.standard_normal(length + 2048)
                seg = np.zeros(length + 2048)
                for f, g, bw in zip(_VOWELS[rng.integers(len(_VOWELS))] * rng.uniform(0.9, 1.15),
                                    (1.0, 0.5, 0.25), (90.0, 110.0, 160.0)):
                    b, a = scipy.signal.iirpeak(f, f / bw, fs=sr)
                    seg += g * scipy.signal.lfilter(b, a, noise)
                seg = seg[2048:]  # past the resonators' start-up
                env = np.sin(np.pi * np.arange(length) / length) ** 0.7
                seg *= env * 10 ** (rng.uniform(-8, 0) / 20)
                if rng.random() < 0.25:  # a sibilant before the vowel
                    s_len = int(0.08 * sr)
                    sib = scipy.signal.lfilter(hp_b, hp_a, rng.standard_normal(s_len))
                    sib *= np.hanning(s_len) * 0.5 * np.max(np.abs(seg)) / np.max(np.abs(sib))
                    seg = np.concatenate([sib, seg])
                end = min(n, pos + len(seg))
                y[pos:end] += seg[:end - pos]
                pos += len(seg)
                if pos >= n:
                    break
            pos += int(rng.uniform(0.03, 0.15) * sr)  # between words
            if pos >= n:
                break
        pos += int(rng.uniform(0.4, 1.2) * sr)  # between phrases
    y = _peak_to(y, -6.0)
    return np.stack([y, y]) + rng.normal(0, 10 ** (-70 / 20), (2, n))


def sweep(n: int, sr: int) -> np.ndarray:
    f0, f1 = 20.0, 20_000.0
    dur = n / sr
    t = np.arange(n) / sr
    k = math.log(f1 / f0)
    y = np.sin(2 * np.pi * f0 * dur / k * (np.exp(t / dur * k) - 1))
    fade = int(0.01 * sr)
    ramp = np.sin(0.5 * np.pi * np.arange(fade) / fade) ** 2
    y[:fade] *= ramp
    y[-fade:] *= ramp[::-1]
    y *= 10 ** (-6 / 20)
    return np.stack([y, y])


def square(n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    y = 10 ** (-0.5 / 20) * np.sign(np.sin(2 * np.pi * 997.0 * t + 0.1))
    return np.stack([y, y])


def pink_noise(n: int, sr: int) -> np.ndarray:
    rng = np.random.default_rng(16)
    spec = rng.standard_normal((2, n // 2 + 1)) + 1j * rng.standard_normal((2, n // 2 + 1))
    f = np.fft.rfftfreq(n, 1 / sr)
    shape = np.zeros_like(f)
    shape[f >= 20] = 1 / np.sqrt(f[f >= 20])
    y = np.fft.irfft(spec * shape, n, axis=-1)
    return np.asarray(y * (10 ** (-20 / 20) / np.sqrt(np.mean(y ** 2))))


SIGNALS: Dict[str, Callable[[int, int], np.ndarray]] = {
    "quiet_music": quiet_music,
    "loud_music": loud_music,
    "speech": speech,
    "sweep": sweep,
    "square": square,
    "pink_noise": pink_noise,
}


# -- measurement (independent of tonecore) -------------------------------------------------


def k_weighting_sos(sr: int) -> np.ndarray:
    """BS.1770 K-weighting as libebur128 designs it: the analog prototype of the standard's
    48 kHz pre-filter and RLB high-pass, bilinear-transformed at ``sr`` ((2, 6) sos)."""
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sr)
    vh = 10 ** (gain_db / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
             1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sr)
    a0 = 1 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, highpass])


def bs1770_integrated(x: np.ndarray, sr: int) -> float:
    """Gated integrated loudness (BS.1770-4: 400 ms blocks every 100 ms, -70 LUFS absolute and
    -10 LU relative gates, channel weights 1) with :func:`k_weighting_sos`; a second reading,
    independent of tonecore and of pyloudnorm's filter design."""
    y = scipy.signal.sosfilt(k_weighting_sos(sr), np.atleast_2d(np.asarray(x, np.float64)),
                             axis=-1)
    block, hop = int(round(0.4 * sr)), int(round(0.1 * sr))
    if y.shape[-1] < block:
        return -math.inf
    csum = np.concatenate([np.zeros((y.shape[0], 1)), np.cumsum(y * y, axis=-1)], axis=-1)
    starts = np.arange((y.shape[-1] - block) // hop + 1) * hop
    z = ((csum[:, starts + block] - csum[:, starts]) / block).sum(axis=0)
    with np.errstate(divide="ignore"):
        lk = -0.691 + 10 * np.log10(z)
    above = z[lk > -70]
    if above.size == 0:
        return -math.inf
    relative = -0.691 + 10 * math.log10(float(above.mean())) - 10
    gated = z[(lk > -70) & (lk > relative)]
    return -0.691 + 10 * math.log10(float(gated.mean()))


class Measure:
    """pyloudnorm integrated loudness (the reference), :func:`bs1770_integrated` (a second
    reading) and resample_poly true peaks."""

    def __init__(self, sr: int) -> None:
        import pyloudnorm

        self.meter = pyloudnorm.Meter(sr)

    def lufs(self, x: np.ndarray) -> float:
        return float(self.meter.integrated_loudness(np.asarray(x, dtype=np.float64).T))

    @staticmethod
    def true_peak(x: np.ndarray, k: int) -> float:
        peak = 0.0
        for ch in np.atleast_2d(x):  # one channel at a time: 16x of 60 s is 340 MB per channel
            up = scipy.signal.resample_poly(ch.astype(np.float64), k, 1, axis=-1)
            peak = max(peak, float(np.max(np.abs(up))))
        return _db(peak)

    def all(self, x: np.ndarray) -> Dict[str, float]:
        return {"lufs": self.lufs(x), "lufs_exact": bs1770_integrated(x, SR),
                "tp4": self.true_peak(x, 4), "tp16": self.true_peak(x, 16),
                "sample_peak": _db(float(np.max(np.abs(x))))}


# -- helpers ---------------------------------------------------------------------------------


def best_of(fn: Callable[[], Any], repeat: int) -> Tuple[float, Any]:
    """(best wall time in s over ``repeat`` runs, the last run's result)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def write_wav(path: Path, x: np.ndarray, sr: int) -> None:
    scipy.io.wavfile.write(str(path), sr, np.ascontiguousarray(x.T, dtype=np.float32))


def read_wav(path: Path) -> Tuple[int, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.io.wavfile.WavFileWarning)
        sr, data = scipy.io.wavfile.read(str(path))
    if data.dtype != np.float32:
        raise RuntimeError(f"{path.name}: expected float32 samples, got {data.dtype}")
    return sr, np.ascontiguousarray(np.atleast_2d(data.T))


def version_of(dist: str) -> Optional[str]:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def find_cli(arg: Optional[str]) -> Optional[Path]:
    for cand in (arg, os.environ.get("TONECORE_CLI"), str(REPO / "target" / "release" / "tonecore"),
                 shutil.which("tonecore")):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return Path(cand)
    return None


def last_json(text: str) -> Dict[str, Any]:
    found = re.findall(r"\{[^{}]*\}", text)
    if not found:
        raise RuntimeError("no JSON block in ffmpeg's output:\n" + text[-2000:])
    parsed: Dict[str, Any] = json.loads(found[-1])
    return parsed


def fmt_num(v: Optional[float], spec: str) -> str:
    if v is None:
        return "-"
    if math.isinf(v) or math.isnan(v):
        return str(v)
    return format(v, spec)


def finite(v: Any) -> Any:
    """``v`` with every non-finite float as the string "inf", "-inf" or "nan" (strict JSON)."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [finite(x) for x in v]
    return v


def geomean(values: List[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


# -- the tools -------------------------------------------------------------------------------


class Case:
    """One (signal, target): the input array and its float32 WAV file."""

    def __init__(self, name: str, x: np.ndarray, wav: Path, target: float) -> None:
        self.name, self.x, self.wav, self.target = name, x, wav, target


Runner = Callable[[Case, int, Path], Tuple[float, np.ndarray, str, Dict[str, Any]]]


def run_tonecore(case: Case, repeat: int, tmp: Path) -> Tuple[float, np.ndarray, str,
                                                                Dict[str, Any]]:
    import tonecore

    secs, (y, report) = best_of(
        lambda: tonecore.normalize(case.x, SR, target_lufs=case.target, ceiling_dbtp=CEILING),
        repeat)
    note = f"{report['outcome']}, {report['passes']} pass{'es' if report['passes'] != 1 else ''}"
    if report["limiter_max_reduction_db"] != 0:  # reported as a negative gain
        note += f", limiter max {abs(report['limiter_max_reduction_db']):.1f} dB"
    return secs, y, note, {"tool_lufs": report["output_lufs"],
                           "tool_true_peak_dbtp": report["output_true_peak_dbtp"],
                           "report": report}


def make_run_cli(cli: Path) -> Runner:
    def run(case: Case, repeat: int, tmp: Path) -> Tuple[float, np.ndarray, str, Dict[str, Any]]:
        out = tmp / f"cli_{case.name}.wav"
        cmd = [str(cli), "process", str(case.wav), str(out), "--target-lufs", f"{case.target:g}",
               "--ceiling-db", f"{CEILING:g}", "--bits", "32", "-q"]

        def once() -> subprocess.CompletedProcess:  # type: ignore[type-arg]
            return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  check=True)

        secs, proc = best_of(once, repeat)
        text = proc.stdout + proc.stderr
        level = re.search(r"^level:\s*(.*)$", text, re.M)
        m = re.search(r"(\d+) pass(?:es)?: (.+)$", level.group(1)) if level else None
        note = f"{m.group(2)}, {m.group(1)} pass{'es' if m.group(1) != '1' else ''}" if m else ""
        out_i = re.search(r"^output\s+(-?[\d.]+|-inf) LUFS\s+(-?[\d.]+|-inf) dBTP", text, re.M)
        _, y = read_wav(out)
        out.unlink()
        return secs, y, note, {
            "command": " ".join(cmd[1:]),
            "level_line": level.group(1) if level else None,
            "tool_lufs": float(out_i.group(1)) if out_i else None,
            "tool_true_peak_dbtp": float(out_i.group(2)) if out_i else None,
        }
    return run


def run_ffmpeg(case: Case, repeat: int, tmp: Path) -> Tuple[float, np.ndarray, str,
                                                              Dict[str, Any]]:
    out = tmp / f"ffmpeg_{case.name}.wav"
    base = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(case.wav)]
    common = f"loudnorm=I={case.target:g}:TP={CEILING:g}:LRA={FFMPEG_LRA:g}"

    def once() -> Tuple[Dict[str, Any], Dict[str, Any]]:
        p1 = subprocess.run(base + ["-af", common + ":print_format=json", "-f", "null", "-"],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, check=True)
        m = last_json(p1.stderr)
        if float(m["input_i"]) > 0:
            raise RuntimeError(f"pass 1 measured I={m['input_i']} LUFS, above the 0 LUFS maximum "
                               "of loudnorm's measured_I: pass 2 refuses it")
        second = (f"{common}:measured_I={m['input_i']}:measured_TP={m['input_tp']}"
                  f":measured_LRA={m['input_lra']}:measured_thresh={m['input_thresh']}"
                  f":offset={m['target_offset']}:linear=true:print_format=json")
        p2 = subprocess.run(["ffmpeg", "-y"] + base[1:] + ["-af", second, "-ar", str(SR),
                                                         "-c:a", "pcm_f32le", str(out)],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, check=True)
        return m, last_json(p2.stderr)

    secs, (first, second) = best_of(once, repeat)
    _, y = read_wav(out)
    out.unlink()
    kind = second.get("normalization_type", "?")
    note = kind if kind == "linear" else f"{kind} (fell back)"
    return secs, y, note, {"normalization_type": kind, "pass1": first, "pass2": second,
                           "tool_lufs": float(second["output_i"]),
                           "tool_true_peak_dbtp": float(second["output_tp"])}


def run_pyln_pedalboard(case: Case, repeat: int, tmp: Path) -> Tuple[float, np.ndarray, str,
                                                                       Dict[str, Any]]:
    import pedalboard
    import pyloudnorm

    meter = pyloudnorm.Meter(SR)

    def once() -> Tuple[np.ndarray, float]:
        loud = meter.integrated_loudness(case.x.T)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Possible clipped samples in output."
            y = pyloudnorm.normalize.loudness(case.x.T, loud, case.target)
        lim = pedalboard.Limiter(threshold_db=CEILING, release_ms=100.0)
        return lim(np.ascontiguousarray(y.T, dtype=np.float32), SR), loud

    secs, (y, loud) = best_of(once, repeat)
    return secs, y, f"gain {case.target - loud:+.1f} dB", {"gain_db": case.target - loud}


# -- main -------------------------------------------------------------------------------------


def print_table(target: float, rows: List[Dict[str, Any]]) -> None:
    print(f"\nTarget {target:g} LUFS, ceiling {CEILING:g} dBTP "
          "(error: pyloudnorm - target; exact: K-weighting as libebur128; * = over the ceiling)")
    print(f"{'signal':<12} {'tool':<22} {'LUFS err':>8} {'(exact)':>8} {'TP4 dB':>8} "
          f"{'TP16 dB':>8} {'time s':>8}  notes")
    last = None
    for r in rows:
        sig = r["signal"] if r["signal"] != last else ""
        last = r["signal"]
        if r["status"] != "ok":
            print(f"{sig:<12} {r['tool']:<22} {r['status']}: {r['why']}")
            continue
        tp4 = fmt_num(r["tp4"], ".2f") + ("*" if r["over4"] else " ")
        tp16 = fmt_num(r["tp16"], ".2f") + ("*" if r["over16"] else " ")
        print(f"{sig:<12} {r['tool']:<22} {fmt_num(r['error_lu'], '+.2f'):>8} "
              f"{fmt_num(r['error_exact_lu'], '+.2f'):>8} {tp4:>8} {tp16:>8} "
              f"{r['time_s']:>8.3f}  {r['note']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="signal length (default 60)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per timing, best kept (default 3)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 5 s signals, one repetition")
    ap.add_argument("--json", metavar="PATH", help="write every number to this JSON file")
    ap.add_argument("--signals", help="comma-separated subset of: " + ", ".join(SIGNALS))
    ap.add_argument("--targets", help="comma-separated targets in LUFS (default -23,-14,-9)")
    ap.add_argument("--cli", metavar="PATH", help="the tonecore command (default: $TONECORE_CLI, "
                    "target/release/tonecore, then the PATH)")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.repeat = 5.0, 1
    names = args.signals.split(",") if args.signals else list(SIGNALS)
    for name in names:
        if name not in SIGNALS:
            ap.error(f"unknown signal {name!r}")
    targets = [float(t) for t in args.targets.split(",")] if args.targets else list(TARGETS)

    try:
        import tonecore
        from tonecore import _native
    except ImportError as e:
        print(f"import tonecore failed ({e}): pip install ./bindings/python", file=sys.stderr)
        return 2
    try:
        measure = Measure(SR)
    except ImportError:
        print("pyloudnorm is the meter of every row: pip install pyloudnorm", file=sys.stderr)
        return 2

    runners: Dict[str, Runner] = {"tonecore": run_tonecore}
    skipped: Dict[str, str] = {}
    cli = find_cli(args.cli)
    if cli is None:
        skipped["tonecore-cli"] = ("tonecore command not found (cargo build --release "
                                   "-p tonecore-cli, or --cli PATH)")
    else:
        runners["tonecore-cli"] = make_run_cli(cli)
    ffmpeg_version = None
    if shutil.which("ffmpeg") is None:
        skipped["ffmpeg"] = "ffmpeg not installed"
    else:
        runners["ffmpeg"] = run_ffmpeg
        ffmpeg_version = subprocess.run(["ffmpeg", "-version"], capture_output=True,
                                        text=True).stdout.split("\n")[0]
    missing = [m for m in ("pyloudnorm", "pedalboard") if version_of(m) is None]
    if missing:
        skipped["pyloudnorm+pedalboard"] = " and ".join(missing) + " not installed"
    else:
        runners["pyloudnorm+pedalboard"] = run_pyln_pedalboard

    load0 = os.getloadavg()
    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "tonecore": tonecore.__version__,
        "tonecore_library": str(_native.LIBRARY_PATH),
        "tonecore_cli": str(cli) if cli else None,
        "tonecore_cli_mtime": (time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(cli.stat().st_mtime))
                               if cli else None),
        "ffmpeg": ffmpeg_version,
        "pyloudnorm": version_of("pyloudnorm"),
        "pedalboard": version_of("pedalboard"),
        "load_start": load0,
    }
    print(f"tonecore {env['tonecore']} ({env['tonecore_library']}); command: "
          f"{env['tonecore_cli'] or '-'}" + (f" (built {env['tonecore_cli_mtime']} UTC)" if cli
                                             else ""))
    print(f"{ffmpeg_version or 'ffmpeg: -'}; pyloudnorm {env['pyloudnorm']}; pedalboard "
          f"{env['pedalboard']}; numpy {np.__version__}; scipy {scipy.__version__}; "
          f"Python {env['python']}; {env['cpus']} cores")
    print(f"load average at the start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    print(f"{args.seconds:g} s signals, 44.1 kHz stereo float32; best of {args.repeat}; "
          f"meter: pyloudnorm (BS.1770-4), true peak: resample_poly 4x / 16x")

    n = int(round(args.seconds * SR))
    rows: List[Dict[str, Any]] = []
    corpus: Dict[str, Dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="compare_mastering_") as tmpdir:
        tmp = Path(tmpdir)
        print(f"\n{'input':<12} {'LUFS':>7} {'(exact)':>7} {'peak dBFS':>9} {'TP4 dB':>7} "
              f"{'TP16 dB':>7}")
        inputs: Dict[str, Tuple[np.ndarray, Path]] = {}
        for name in names:
            x = np.ascontiguousarray(SIGNALS[name](n, SR), dtype=np.float32)
            wav = tmp / f"in_{name}.wav"
            write_wav(wav, x, SR)
            inputs[name] = (x, wav)
            corpus[name] = measure.all(x)
            c = corpus[name]
            print(f"{name:<12} {c['lufs']:7.2f} {c['lufs_exact']:7.2f} {c['sample_peak']:9.2f} "
                  f"{c['tp4']:7.2f} {c['tp16']:7.2f}", flush=True)

        for target in targets:
            block: List[Dict[str, Any]] = []
            for name in names:
                x, wav = inputs[name]
                case = Case(name, x, wav, target)
                for tool in TOOLS:
                    row: Dict[str, Any] = {"signal": name, "target": target, "tool": tool}
                    if tool in skipped:
                        row.update(status="skipped", why=skipped[tool])
                        block.append(row)
                        continue
                    try:
                        secs, y, note, extra = runners[tool](case, args.repeat, tmp)
                    except (subprocess.CalledProcessError, RuntimeError, OSError) as e:
                        lines = str(getattr(e, "stderr", None) or e).strip().splitlines()
                        errs = [ln for ln in lines if "rror" in ln] or lines or [repr(e)]
                        row.update(status="error", why=errs[0])
                        block.append(row)
                        continue
                    except Exception as e:  # a tonecore error is a result too
                        row.update(status="error", why=f"{type(e).__name__}: {e}")
                        block.append(row)
                        continue
                    m = measure.all(y)
                    row.update(status="ok", time_s=secs, note=note, lufs=m["lufs"],
                               error_lu=m["lufs"] - target,
                               lufs_exact=m["lufs_exact"], error_exact_lu=m["lufs_exact"] - target,
                               tp4=m["tp4"], tp16=m["tp16"],
                               sample_peak=m["sample_peak"], over4=m["tp4"] > CEILING,
                               over16=m["tp16"] > CEILING, frames=int(y.shape[-1]), **extra)
                    block.append(row)
            print_table(target, block)
            rows.extend(block)

    load1 = os.getloadavg()
    env["load_end"] = load1

    # -- summary --------------------------------------------------------------------------
    ok = [r for r in rows if r["status"] == "ok"]
    failures: List[str] = []
    for r in rows:
        if r["tool"] not in TONECORE_TOOLS:
            continue
        what = f"{r['tool']} {r['signal']} at {r['target']:g} LUFS"
        if r["status"] == "error":
            failures.append(f"{what}: {r['why']}")
            continue
        if r["status"] != "ok":
            continue
        why = []
        if not abs(r["error_lu"]) <= MAX_ERROR_LU:
            why.append(f"error {r['error_lu']:+.3f} LU")
        if not r["tp16"] <= CEILING + MAX_TP16_OVER:
            why.append(f"TP16 {r['tp16']:.3f} dBTP")
        if not r["tp4"] <= CEILING:
            why.append(f"TP4 {r['tp4']:.3f} dBTP")
        if why:
            failures.append(f"{what}: " + ", ".join(why) + f" ({r['note']})")

    print("\nPer tool (all signals and targets):")
    print(f"{'tool':<22} {'max |err| LU':>12} {'max TP4':>8} {'max TP16':>8} {'over ceil':>9} "
          f"{'total time s':>12}")
    summary: Dict[str, Any] = {"tools": {}}
    for tool in TOOLS:
        rs = [r for r in ok if r["tool"] == tool]
        if not rs:
            print(f"{tool:<22} {'skipped: ' + skipped.get(tool, 'no result')}")
            continue
        s = {"max_abs_error_lu": max(abs(r["error_lu"]) for r in rs),
             "max_abs_error_exact_lu": max(abs(r["error_exact_lu"]) for r in rs),
             "max_tp4": max(r["tp4"] for r in rs), "max_tp16": max(r["tp16"] for r in rs),
             "over_ceiling": sum(1 for r in rs if r["over4"] or r["over16"]),
             "cases": len(rs), "total_time_s": sum(r["time_s"] for r in rs)}
        summary["tools"][tool] = s
        print(f"{tool:<22} {s['max_abs_error_lu']:12.3f} {s['max_tp4']:8.2f} {s['max_tp16']:8.2f} "
              f"{s['over_ceiling']:>4}/{s['cases']:<4} {s['total_time_s']:12.2f}")

    def ratios(other: str, ref: str) -> Optional[Dict[str, float]]:
        times = {(r["signal"], r["target"]): r["time_s"] for r in ok if r["tool"] == ref}
        rs = [r["time_s"] / times[(r["signal"], r["target"])] for r in ok
              if r["tool"] == other and (r["signal"], r["target"]) in times]
        if not rs:
            return None
        return {"geomean": geomean(rs), "min": min(rs), "max": max(rs), "cases": len(rs)}

    summary["ratios"] = {}
    print("\nTime ratios (other / tonecore; above 1: tonecore faster):")
    for other, ref in (("ffmpeg", "tonecore"), ("ffmpeg", "tonecore-cli"),
                       ("pyloudnorm+pedalboard", "tonecore")):
        rt = ratios(other, ref)
        key = f"{other}/{ref}"
        summary["ratios"][key] = rt
        if rt is None:
            print(f"  {key}: -")
        else:
            print(f"  {key}: geometric mean {rt['geomean']:.2f}, min {rt['min']:.2f}, "
                  f"max {rt['max']:.2f} ({rt['cases']} cases)")
    ff = [r for r in ok if r["tool"] == "ffmpeg"]
    if ff:
        fell = [f"{r['signal']}@{r['target']:g}" for r in ff
                if r.get("normalization_type") != "linear"]
        summary["ffmpeg_dynamic"] = fell
        print(f"ffmpeg fell back to dynamic mode in {len(fell)}/{len(ff)} cases"
              + (": " + ", ".join(fell) if fell else ""))
    tc = [r for r in ok if r["tool"] == "tonecore" and r.get("tool_lufs") is not None
          and math.isfinite(r["tool_lufs"]) and math.isfinite(r["lufs"])]
    if tc:
        diffs = [r["lufs"] - r["tool_lufs"] for r in tc]
        exact = [r["lufs_exact"] - r["tool_lufs"] for r in tc]
        summary["pyloudnorm_minus_tonecore_meter_lu"] = {"mean": float(np.mean(diffs)),
                                                          "min": min(diffs), "max": max(diffs)}
        summary["exact_minus_tonecore_meter_lu"] = {"mean": float(np.mean(exact)),
                                                     "min": min(exact), "max": max(exact)}
        print(f"meters on tonecore's outputs, minus tonecore's own reading: pyloudnorm mean "
              f"{np.mean(diffs):+.3f} LU ({min(diffs):+.3f} .. {max(diffs):+.3f}), exact "
              f"K-weighting mean {np.mean(exact):+.3f} LU ({min(exact):+.3f} .. "
              f"{max(exact):+.3f})")
    t1 = summary["tools"].get("tonecore")
    if t1:
        print(f"tonecore: max |error| {t1['max_abs_error_lu']:.3f} LU (exact K-weighting: "
              f"{t1['max_abs_error_exact_lu']:.3f} LU), max TP16 "
              f"{t1['max_tp16']:.2f} dBTP, max TP4 {t1['max_tp4']:.2f} dBTP")
    print(f"load average at the end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    if failures:
        print(f"\nFAIL: {len(failures)} tonecore case(s) out of tolerance (|error| <= "
              f"{MAX_ERROR_LU} LU, TP16 <= {CEILING + MAX_TP16_OVER:g} dBTP, TP4 <= "
              f"{CEILING:g} dBTP):")
        for f in failures:
            print(f"  {f}")
    else:
        print("\nOK: every tonecore case within tolerance")

    if args.json:
        doc = {"settings": {"seconds": args.seconds, "repeat": args.repeat, "sample_rate": SR,
                            "ceiling_dbtp": CEILING, "targets": targets, "signals": names,
                            "ffmpeg_lra": FFMPEG_LRA},
               "environment": env, "corpus": corpus, "rows": rows, "summary": summary,
               "failures": failures}
        Path(args.json).write_text(json.dumps(finite(doc), indent=1, default=str) + "\n")
        print(f"wrote {args.json}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
