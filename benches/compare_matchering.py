#!/usr/bin/env python3
"""Reference matching: tonecore.match against Matchering, measured here with numpy/scipy/pyloudnorm.

"Make this track sound like that reference": each tool gets a track and a reference and returns
the matched track. Every output is measured by this script, never by the tools' own reports:
tonal balance on a 1/6-octave grid (scipy Welch), integrated loudness (pyloudnorm), true peak
(scipy resample_poly), wall time.

Usage:
    python3 benches/compare_matchering.py [--seconds 30] [--repeat 3] [--json PATH]
    python3 benches/compare_matchering.py --quick                 # 10 s signals, one round
    python3 benches/compare_matchering.py --tools matchering      # or --tools tonecore
    python3 benches/compare_matchering.py --track A.wav --reference B.wav   # adds a file pair
    python3 benches/compare_matchering.py --quick --tools tonecore --json-only   # the pytest
    python3 benches/compare_matchering.py --self-test   # checks the measurements alone

Needs numpy and scipy. Optional: the tonecore package with ``tonecore.profile`` and
``tonecore.match`` (``pip install ./bindings/python``; without them the tonecore rows say
"unavailable" and why), ``matchering`` (``pip install matchering``, 2.0.6 tested; without it
its rows say "not installed"), ``soundfile`` (Matchering's WAV files, ``--track``/``--reference``)
and ``pyloudnorm`` (the loudness columns; "-" without it). Always exits 0 once the arguments are
valid (``--self-test`` exits 1 when a check fails).

The tools:
- ``tonecore``: ``ref = tonecore.profile(r, sr_r)`` then ``y, report = tonecore.match(x, sr,
  ref)`` on planar float32 arrays in memory (defaults: strength 1, the reference's loudness,
  ceiling -1 dBTP). Wall time = profile + match (best of ``--repeat``); the match call alone
  and the profile alone are reported too (each its own best).
- ``matchering``: ``matchering.process(target=track.wav, reference=ref.wav,
  results=[matchering.pcm24(out.wav)])`` on temporary float32 WAV files written by soundfile.
  Its wall time is the whole call: reading both files, resampling when they are not 44.1 kHz,
  analysis, FIR EQ, level matching, its limiter, writing the 24-bit result. Writing its input
  files and reading its output back are not timed. Its output is read back and measured.
  Runs of both tools are interleaved: each round runs every tool once (the order reversed
  every other round); each time is the best of ``--repeat`` rounds, outputs are from the last.

What Matchering 2.0.6 does with other rates and channel counts (read in its source:
``matchering/checker.py``, ``core.py``, ``defaults.py``; confirmed at run time from its log
messages and exceptions, which go to the notes and the JSON):
- Any sample rate other than its internal 44.1 kHz (``Config.internal_sample_rate``): both
  files are resampled to 44.1 kHz with ``resampy.resample`` (kaiser_best filter) and the result
  is written at 44.1 kHz (it logs "The TARGET audio was resampled"). So at 48 and 96 kHz it
  runs, but not at the input's rate: those rows are marked "resampled" and measured at 44.1 kHz
  (only bands up to 0.45 x 44.1 kHz are compared), and their times include the resampling.
  (A ``Config(internal_sample_rate=48000)`` exists but Matchering itself says that rates other
  than 44.1 kHz "have not been tested properly"; not used here.)
- Mono is duplicated to stereo; more than 2 channels is refused: ``ModuleError`` "The number
  of channels exceeded in the TARGET file" (code 4004) after loading the file. The 5.1 rows are
  marked "refused" with that message (the call is made once, not timed).
- Lengths from 4096 samples (at 44.1 kHz) to 15 minutes; a target equal to the reference is
  refused.

Corpus (synthesised here, deterministic seeds, ``--seconds`` long, default 30): music-like
mixes (a melody of harmonic notes with attack/decay envelopes and vibrato, sustained chords,
a bass line, a pitch-swept kick, noise snare and hats, a little decorrelated room noise), then
a zero-phase EQ curve (FFT domain: dB/octave tilt around 1 kHz, smooth shelves, bells) and a
level (RMS over all channels; a soft clip to -0.3 dBFS if the peak would exceed it). 5.1 is
L R C LFE Ls Rs (C: lead, bass, drums; LFE: bass and kick below 120 Hz; surrounds: pads,
hats, room). Pairs:
- ``dark_to_bright``: a dark mellow mix (-2.5 dB/oct) to a different, brighter mix (+1.5
  dB/oct, +4 dB below 120 Hz), the reference 8 dB louder.
- ``bright_to_bassy``: a bright thin mix (+2 dB/oct, -6 dB below 150 Hz) to a bass-heavy,
  darker mix (+8 dB below 120 Hz, -6 dB above 4 kHz), the reference 8 dB quieter.
- ``same_music_eq``: the same music on both sides, the reference through a known EQ (+6 dB
  below 100 Hz, -5 dB bell at 3 kHz one octave wide, +4 dB above 10 kHz) and 5 dB louder: the
  ideal match is known, a residual near 0 dB is reachable.
- ``files`` (``--track A --reference B``): read with soundfile at their own rates and
  channels; each tool gets them as they are (Matchering the files themselves).
Configurations: 44.1 kHz stereo, 48 kHz stereo, 96 kHz stereo, 48 kHz 5.1 (``--configs``).

Measurements (independent of both tools):
1. Spectral residual on a 1/6-octave grid: centres 1000 * 2**(k/6) Hz, k = -34..26 (19.7 Hz -
   20.2 kHz), edges 1000 * 2**((k +- 0.5)/6). Long-term spectrum = mono downmix (mean of the
   channels), ``scipy.signal.welch`` (Hann, nperseg = the power of two >= sr/1.5 so that bins
   are <= 1.5 Hz apart, 50 % overlap, density); per band the mean PSD of the bins in [lo, hi),
   in dB. A band is left out when it has no bin, when its upper edge is above 0.45 x the rate
   of either signal, or when it is more than 80 dB below that signal's strongest band. Residual
   of A against B = RMS over the bands kept of (A_dB - B_dB) minus its mean over those bands
   (a constant offset is level, not tonal balance). "before" is track vs reference, "after"
   output vs reference. "clamp" columns: only the bands where the correction needed (ref_dB -
   track_dB, mean removed the same way) is within +-12 dB, mean removed again over those bands.
2. Integrated loudness: pyloudnorm ``Meter(sr).integrated_loudness`` (BS.1770-4); for 6
   channels the LFE (4th, L R C LFE Ls Rs) is dropped and pyloudnorm's L R C Ls Rs weights
   apply. Loudness error = output - reference LUFS (tonecore matches the reference's loudness
   by default; Matchering matches the RMS of the loudest pieces: reported as is).
3. True peak: max |x| over the channels of ``scipy.signal.resample_poly(x, 4, 1, axis=-1)``,
   dBTP.
4. Wall time and the ratio Matchering / tonecore (profile + match); above 1 means tonecore is
   faster. The JSON also has every round's wall time (``wall_all_s``) and the best process CPU
   time (``cpu_s``, all threads: above the wall time when a tool uses more than one core). The
   load average is printed at the start and the end: on a busy machine times are not
   comparable.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import scipy
import scipy.signal

# -- the 1/6-octave grid ---------------------------------------------------------------------

GRID_K = np.arange(-34, 27)
CENTRES = 1000.0 * 2.0 ** (GRID_K / 6)
LOWER = 1000.0 * 2.0 ** ((GRID_K - 0.5) / 6)
UPPER = 1000.0 * 2.0 ** ((GRID_K + 0.5) / 6)
NYQUIST_FRACTION = 0.45
FLOOR_DB = 80.0
CLAMP_DB = 12.0
TOOLS = ("tonecore", "matchering")
MATCHERING_RATE = 44100


# -- measurement (independent of the tools) --------------------------------------------------


def welch_nperseg(sr: float) -> int:
    """The smallest power of two >= sr / 1.5: Welch bins at most 1.5 Hz apart."""
    return 1 << max(0, math.ceil(math.log2(sr / 1.5)))


@dataclass
class BandSpectrum:
    """Long-term spectrum on the 1/6-octave grid: dB per band (mean PSD of its bins) and which
    bands may be compared (a bin in the band, below 0.45 x sr, within 80 dB of the strongest)."""

    db: np.ndarray
    valid: np.ndarray
    sr: float


def band_spectrum(x: np.ndarray, sr: float) -> BandSpectrum:
    mono = np.atleast_2d(np.asarray(x, dtype=np.float64)).mean(axis=0)
    nps = welch_nperseg(sr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "nperseg = N is greater than input length": shrunk
        f, p = scipy.signal.welch(mono, fs=sr, window="hann", nperseg=nps, noverlap=nps // 2,
                                  scaling="density")
    lo = np.searchsorted(f, LOWER, side="left")  # first bin with f >= lower edge
    hi = np.searchsorted(f, UPPER, side="left")  # first bin with f >= upper edge
    db = np.full(len(GRID_K), -np.inf)
    has_bin = hi > lo
    for i in np.flatnonzero(has_bin):
        m = float(np.mean(p[lo[i]:hi[i]]))
        if m > 0:
            db[i] = 10.0 * math.log10(m)
    valid = has_bin & (UPPER <= NYQUIST_FRACTION * sr) & np.isfinite(db)
    if valid.any():
        strongest = float(np.max(db[has_bin & np.isfinite(db)]))
        valid &= db >= strongest - FLOOR_DB
    return BandSpectrum(db, valid, sr)


def band_difference(a: BandSpectrum, b: BandSpectrum,
                    mask: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """(A_dB - B_dB with its mean over the compared bands removed, NaN elsewhere; the mask of
    compared bands: valid in both, and in ``mask`` if given)."""
    ok = a.valid & b.valid
    if mask is not None:
        ok &= mask
    d = np.full(len(GRID_K), np.nan)
    if ok.any():
        raw = a.db[ok] - b.db[ok]
        d[ok] = raw - raw.mean()
    return d, ok


def residual_db(a: BandSpectrum, b: BandSpectrum, mask: Optional[np.ndarray] = None) -> float:
    """RMS over the compared bands of the mean-removed dB difference (NaN if no band)."""
    d, ok = band_difference(a, b, mask)
    return float(np.sqrt(np.mean(d[ok] ** 2))) if ok.any() else math.nan


def clamp_mask(track: BandSpectrum, ref: BandSpectrum, limit: float = CLAMP_DB) -> np.ndarray:
    """Bands where the correction needed, ref_dB - track_dB (mean removed), is within +-limit."""
    need, ok = band_difference(ref, track)
    inside = np.zeros(len(GRID_K), dtype=bool)
    inside[ok] = np.abs(need[ok]) <= limit
    return inside


def true_peak_dbtp(x: np.ndarray) -> float:
    peak = 0.0
    for ch in np.atleast_2d(x):  # a channel at a time: 4x of 30 s at 96 kHz is 92 MB each
        up = scipy.signal.resample_poly(np.asarray(ch, dtype=np.float64), 4, 1, axis=-1)
        peak = max(peak, float(np.max(np.abs(up))))
    return _db(peak)


class Loudness:
    """pyloudnorm's integrated loudness, or None (with ``why``) when it cannot measure."""

    def __init__(self) -> None:
        try:
            import pyloudnorm
        except ImportError:
            self.pyloudnorm = None
            self.why = "pyloudnorm not installed (pip install pyloudnorm)"
        else:
            self.pyloudnorm = pyloudnorm
            self.why = ""
        self.meters: Dict[float, Any] = {}

    def __call__(self, x: np.ndarray, sr: float) -> Optional[float]:
        if self.pyloudnorm is None:
            return None
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[0] == 6:  # L R C LFE Ls Rs: BS.1770 leaves the LFE out
            x = x[[0, 1, 2, 4, 5]]
        elif x.shape[0] > 5:
            return None  # pyloudnorm weighs up to 5 channels
        if sr not in self.meters:
            self.meters[sr] = self.pyloudnorm.Meter(int(sr))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(self.meters[sr].integrated_loudness(x.T))


# -- corpus ------------------------------------------------------------------------------------


def _db(v: float) -> float:
    return 20.0 * math.log10(v) if v > 0 else -math.inf


STYLES: Dict[str, Dict[str, Any]] = {
    # mellow: piano-like decaying notes, soft harmonics, quiet hats
    "piano": dict(bpm=96, root=220.0, scale=(0, 2, 3, 5, 7, 8, 10), harmonics=10, rolloff=1.4,
                  decay=0.45, pad_harm=8, pad_rolloff=1.5, bass=0.55, melody=0.35, pad=0.22,
                  kick=0.55, snare=0.2, hats=0.05),
    # synth: saw-like sustained notes, bright, busy hats
    "synth": dict(bpm=124, root=196.0, scale=(0, 2, 4, 7, 9), harmonics=14, rolloff=1.1,
                  decay=1.2, pad_harm=10, pad_rolloff=1.2, bass=0.45, melody=0.22, pad=0.16,
                  kick=0.65, snare=0.25, hats=0.07),
}


def _notes(n: int, sr: float, onsets: np.ndarray, durs: np.ndarray, freqs: np.ndarray,
           amps: np.ndarray, harmonics: int, rolloff: float, attack: float, decay: float,
           rng: np.random.Generator) -> np.ndarray:
    """Harmonic notes with vibrato, attack/decay envelopes and a 60 ms release."""
    y = np.zeros(n)
    for on, dur, f, a in zip(onsets, durs, freqs, amps):
        i0 = int(on * sr)
        if i0 >= n:
            break
        length = min(n - i0, int((dur + 0.3) * sr))
        t = np.arange(length) / sr
        rate, depth = rng.uniform(4.5, 6.5), rng.uniform(0.001, 0.004)
        inst = f * (1.0 + depth * np.sin(2 * np.pi * rate * t + rng.uniform(0, 6.28)))
        phase = 2 * np.pi * np.cumsum(inst) / sr + rng.uniform(0, 6.28)
        env = (1.0 - np.exp(-t / attack)) * np.exp(-t / decay)
        env *= np.where(t > dur, np.exp(-np.maximum(t - dur, 0.0) / 0.06), 1.0)
        k_max = max(1, min(harmonics, int(NYQUIST_FRACTION * sr / (f * 1.01))))
        tone = np.zeros(length)
        for k in range(1, k_max + 1):
            tone += np.sin(k * phase) / k ** rolloff
        y[i0:i0 + length] += a * env * tone
    return y


def _stems(n: int, sr: float, seed: int, style: str) -> Dict[str, np.ndarray]:
    """Mono stems of a music-like mix: melody, pad (two decorrelated voicings), bass, kick,
    snare, hats; deterministic for (n, sr, seed, style)."""
    s = STYLES[style]
    rng = np.random.default_rng(seed)
    dur = n / sr
    beat = 60.0 / s["bpm"]
    bar = 4 * beat
    scale = np.array(s["scale"])

    def pitch(step: np.ndarray, base: float) -> np.ndarray:
        octave, idx = np.divmod(step, len(scale))
        return base * 2.0 ** (octave + scale[idx] / 12.0)

    # melody: eighths and quarters wandering over two octaves
    lengths = rng.choice([0.5, 0.5, 1.0, 1.0, 1.5], size=int(dur / (0.5 * beat)) + 8) * beat
    onsets = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    steps = np.clip(np.cumsum(rng.integers(-2, 3, size=len(onsets))) + 7, 0, 2 * len(scale))
    melody = _notes(n, sr, onsets, lengths * 0.9, pitch(steps, s["root"]),
                    rng.uniform(0.6, 1.0, len(onsets)), s["harmonics"], s["rolloff"], 0.008,
                    s["decay"], rng)
    # chords: one per bar, three notes, slow attack
    bars = int(dur / bar) + 1
    degrees = rng.choice([0, 3, 4, 5], size=bars)
    pads = []
    for voicing in range(2):
        on, du, fr, am = [], [], [], []
        for b_i, d in enumerate(degrees):
            for j, st in enumerate((0, 2, 4)):
                on.append(b_i * bar + 0.01 * j)
                du.append(bar * 0.95)
                fr.append(pitch(np.array([d + st + voicing * 7]), s["root"] / 2)[0])
                am.append(0.5)
        pads.append(_notes(n, sr, np.array(on), np.array(du), np.array(fr), np.array(am),
                           s["pad_harm"], s["pad_rolloff"], 0.15, 3.0, rng))
    # bass: eighths on the chord root
    eighths = int(dur / (beat / 2)) + 1
    b_on = np.arange(eighths) * beat / 2
    b_fr = pitch(degrees[np.minimum((b_on // bar).astype(int), bars - 1)], s["root"] / 4)
    b_fr = b_fr * np.where(rng.random(eighths) < 0.2, 2.0, 1.0)  # octave jumps
    bass = _notes(n, sr, b_on, np.full(eighths, beat / 2 * 0.8), b_fr,
                  rng.uniform(0.7, 1.0, eighths), 6, 1.3, 0.004, 0.35, rng)
    # drums: envelope trains over filtered noise
    t = np.arange(n) / sr
    pos = t % beat
    beat_no = (t // beat).astype(np.int64)
    kick = np.sin(2 * np.pi * (45.0 * pos + 75.0 * 0.03 * (1 - np.exp(-pos / 0.03)))) \
        * np.exp(-pos / 0.14)
    bp = scipy.signal.butter(2, [180.0, min(8000.0, 0.4 * sr)], "bandpass", fs=sr, output="sos")
    snare = (scipy.signal.sosfilt(bp, rng.standard_normal(n)) * 2.0
             + 0.4 * np.sin(2 * np.pi * 190.0 * pos)) * np.exp(-pos / 0.09) * (beat_no % 2 == 1)
    hp = scipy.signal.butter(4, 6000.0, "highpass", fs=sr, output="sos")
    hpos = t % (beat / 2)
    hats = scipy.signal.sosfilt(hp, rng.standard_normal(n)) * 3.0 * np.exp(-hpos / 0.035) \
        * rng.uniform(0.5, 1.0, int(n / (sr * beat / 2)) + 2)[(t // (beat / 2)).astype(int)]
    return {"melody": melody * s["melody"], "pad_a": pads[0] * s["pad"],
            "pad_b": pads[1] * s["pad"], "bass": bass * s["bass"], "kick": kick * s["kick"],
            "snare": snare * s["snare"], "hats": hats * s["hats"],
            "room": rng.standard_normal((6, n)) * 2e-3}


def _mix(stems: Dict[str, np.ndarray], layout: str, sr: float) -> np.ndarray:
    m, pa, pb, b, k, s, h, room = (stems[x] for x in ("melody", "pad_a", "pad_b", "bass",
                                                      "kick", "snare", "hats", "room"))
    if layout == "stereo":
        left = 0.8 * m + pa + 0.4 * pb + b + k + 0.9 * s + 1.2 * h + room[0]
        right = 0.6 * m + 0.4 * pa + pb + b + k + 1.0 * s + 0.8 * h + room[1]
        return np.stack([left, right])
    # 5.1: L R C LFE Ls Rs
    lp = scipy.signal.butter(4, 120.0, "lowpass", fs=sr, output="sos")
    lfe = scipy.signal.sosfilt(lp, b + k)
    return np.stack([
        0.3 * m + pa + 0.2 * pb + 0.5 * b + 0.5 * k + 0.5 * s + 0.8 * h + room[0],
        0.2 * m + 0.2 * pa + pb + 0.5 * b + 0.5 * k + 0.5 * s + 0.6 * h + room[1],
        0.9 * m + 0.6 * b + 0.6 * k + 0.6 * s + room[2],
        0.7 * lfe + room[3],
        0.5 * pa + 0.6 * h + 3 * room[4],
        0.5 * pb + 0.5 * h + 3 * room[5],
    ])


def eq_curve_db(f: np.ndarray, eq: Dict[str, Any]) -> np.ndarray:
    """The synthetic EQ in dB at frequencies ``f``: ``tilt`` dB/octave around 1 kHz (held
    beyond 20 Hz - 20 kHz), ``low_shelf``/``high_shelf`` (gain dB, corner Hz; second-order
    smooth transitions), ``bells`` [(gain dB, centre Hz, width in octaves)]."""
    f = np.maximum(np.asarray(f, dtype=np.float64), 1.0)
    g = np.zeros_like(f)
    if eq.get("tilt"):
        g += eq["tilt"] * np.clip(np.log2(f / 1000.0), math.log2(0.02), math.log2(20.0))
    if eq.get("low_shelf"):
        gain, fc = eq["low_shelf"]
        g += gain / (1.0 + (f / fc) ** 2)
    if eq.get("high_shelf"):
        gain, fc = eq["high_shelf"]
        g += gain * (f / fc) ** 2 / (1.0 + (f / fc) ** 2)
    for gain, fc, width in eq.get("bells", ()):
        g += gain * np.exp(-0.5 * (np.log2(f / fc) / (width / 2)) ** 2)
    return g


def apply_eq(x: np.ndarray, sr: float, eq: Dict[str, Any]) -> np.ndarray:
    if not eq:
        return x
    spec = np.fft.rfft(x, axis=-1)
    f = np.fft.rfftfreq(x.shape[-1], 1.0 / sr)
    spec *= 10.0 ** (eq_curve_db(f, eq) / 20.0)
    return np.fft.irfft(spec, x.shape[-1], axis=-1)


def set_level(x: np.ndarray, level: float) -> np.ndarray:
    """Scale so that -0.691 + 10 log10(sum over channels of G * mean square) = ``level`` (an
    unweighted, ungated BS.1770-like level; G = 1, or 1 1 1 0 1.41 1.41 for 5.1); then a soft
    clip (tanh) to -0.3 dBFS where the peak would exceed it."""
    g = np.array([1.0, 1.0, 1.0, 0.0, 1.41, 1.41]) if x.shape[0] == 6 else np.ones(x.shape[0])
    power = float(np.sum(g * np.mean(x * x, axis=-1)))
    x = x * 10 ** ((level - (-0.691 + 10 * math.log10(power))) / 20)
    c = 10 ** (-0.3 / 20)
    if np.max(np.abs(x)) > c:
        x = c * np.tanh(x / c)
    return x


PAIRS: Dict[str, Dict[str, Dict[str, Any]]] = {
    "dark_to_bright": {
        "track": dict(seed=101, style="piano", eq=dict(tilt=-1.0), level=-23.0),
        "reference": dict(seed=202, style="synth", eq=dict(tilt=1.0, low_shelf=(4.0, 120.0)),
                          level=-15.0),
    },
    "bright_to_bassy": {
        "track": dict(seed=303, style="synth", eq=dict(tilt=1.0, low_shelf=(-6.0, 150.0)),
                      level=-14.0),
        "reference": dict(seed=404, style="piano",
                          eq=dict(low_shelf=(8.0, 120.0), high_shelf=(-6.0, 4000.0)),
                          level=-22.0),
    },
    "same_music_eq": {
        "track": dict(seed=505, style="piano", eq={}, level=-20.0),
        "reference": dict(seed=505, style="piano",
                          eq=dict(low_shelf=(6.0, 100.0), bells=[(-5.0, 3000.0, 1.0)],
                                  high_shelf=(4.0, 10000.0)), level=-15.0),
    },
}

#: name -> (sample rate, layout, channels)
CONFIGS: Dict[str, Tuple[int, str, int]] = {
    "44.1k-stereo": (44100, "stereo", 2),
    "48k-stereo": (48000, "stereo", 2),
    "96k-stereo": (96000, "stereo", 2),
    "48k-5.1": (48000, "5.1", 6),
}

_STEM_CACHE: Dict[Tuple[int, int, int, str], Dict[str, np.ndarray]] = {}


def synth(spec: Dict[str, Any], n: int, sr: int, layout: str) -> np.ndarray:
    key = (n, sr, spec["seed"], spec["style"])
    if key not in _STEM_CACHE:
        _STEM_CACHE.clear()  # a pair shares stems at most between its two sides
        _STEM_CACHE[key] = _stems(n, sr, spec["seed"], spec["style"])
    x = _mix(_STEM_CACHE[key], layout, sr)
    x = apply_eq(x, sr, spec["eq"])
    return np.ascontiguousarray(set_level(x, spec["level"]), dtype=np.float32)


# -- the tools -----------------------------------------------------------------------------------


@dataclass
class Case:
    pair: str
    config: str
    x: np.ndarray  # planar float32
    sr: int
    r: np.ndarray
    sr_r: int
    x_wav: Optional[Path] = None  # for Matchering
    r_wav: Optional[Path] = None


def version_of(dist: str) -> Optional[str]:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def tonecore_api() -> Tuple[Any, str]:
    """(the tonecore module, "") when it has profile and match, else (None, why)."""
    try:
        import tonecore
    except ImportError as e:
        return None, f"import tonecore failed ({e}): pip install ./bindings/python"
    missing = [name for name in ("profile", "match") if not hasattr(tonecore, name)]
    if missing:
        where = getattr(tonecore, "__file__", "?")
        return None, (f"tonecore {getattr(tonecore, '__version__', '?')} ({where}) has no "
                      + " and no ".join(f"tonecore.{m}" for m in missing)
                      + ": this build predates reference matching; install one that has it "
                      "(pip install ./bindings/python)")
    return tonecore, ""


class TonecoreRunner:
    def __init__(self, tc: Any) -> None:
        self.tc = tc
        self.reset()

    def reset(self) -> None:
        self.best = {"wall": math.inf, "profile": math.inf, "match": math.inf, "cpu": math.inf}
        self.times: List[float] = []
        self.result: Any = None

    def once(self, case: Case) -> None:
        c0 = time.process_time()
        t0 = time.perf_counter()
        ref = self.tc.profile(case.r, case.sr_r)
        t1 = time.perf_counter()
        y, report = self.tc.match(case.x, case.sr, ref)
        t2 = time.perf_counter()
        c1 = time.process_time()
        for k, v in (("wall", t2 - t0), ("profile", t1 - t0), ("match", t2 - t1),
                     ("cpu", c1 - c0)):
            self.best[k] = min(self.best[k], v)
        self.times.append(t2 - t0)
        self.result = (np.asarray(y), report)


class MatcheringRunner:
    def __init__(self, mg: Any, tmp: Path) -> None:
        self.mg = mg
        self.tmp = tmp
        self.reset()

    def reset(self) -> None:
        self.best = math.inf
        self.best_cpu = math.inf
        self.times: List[float] = []
        self.messages: List[str] = []
        self.out: Optional[Path] = None

    def once(self, case: Case) -> None:
        assert case.x_wav is not None and case.r_wav is not None
        out = self.tmp / f"mg_{case.pair}_{case.config}.wav"
        messages: List[str] = []
        self.mg.log(warning_handler=lambda m: messages.append(f"warning: {m}"),
                    info_handler=lambda m: messages.append(f"info: {m}"))
        c0 = time.process_time()
        t0 = time.perf_counter()
        self.mg.process(target=str(case.x_wav), reference=str(case.r_wav),
                        results=[self.mg.pcm24(str(out))])
        t1 = time.perf_counter()
        self.best = min(self.best, t1 - t0)
        self.best_cpu = min(self.best_cpu, time.process_time() - c0)
        self.times.append(t1 - t0)
        self.messages, self.out = messages, out


def read_audio(path: Path) -> Tuple[np.ndarray, int]:
    import soundfile

    data, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.T), int(sr)


def write_audio(path: Path, x: np.ndarray, sr: int) -> None:
    import soundfile

    soundfile.write(str(path), np.ascontiguousarray(np.atleast_2d(x).T), sr, subtype="FLOAT")


def warm_up_resampy() -> None:
    """Matchering resamples with resampy, whose numba kernel compiles on its first call: done
    once before any timing so that no timed call pays for the compilation."""
    try:
        import resampy
    except ImportError:
        return
    resampy.resample(np.zeros((4800, 2)), 48000, 44100, axis=0)


def bad_output(y: np.ndarray, case: Case, sr_out: Optional[int] = None) -> str:
    """Why an output cannot be measured ("" when it can): not planar (channels, frames) with
    the track's channel count, empty, or with non-finite samples."""
    if not isinstance(y, np.ndarray) or y.ndim not in (1, 2):
        return f"output is not a 1-D or 2-D array: {type(y).__name__} {getattr(y, 'shape', '')}"
    y2 = np.atleast_2d(y)
    if y2.shape[0] != case.x.shape[0] and not (sr_out is not None and y2.shape[0] == 2):
        return f"output shape {y.shape}, track {case.x.shape} (planar expected)"
    if y2.shape[-1] == 0:
        return "empty output"
    finite = np.isfinite(y2)
    if not finite.all():
        return f"output has {int(y2.size - finite.sum())} non-finite samples"
    return ""


# -- measuring a row ---------------------------------------------------------------------------


class Meter:
    def __init__(self) -> None:
        self.loudness = Loudness()

    def signal(self, x: np.ndarray, sr: float) -> Dict[str, Any]:
        return {"spectrum": band_spectrum(x, sr), "lufs": self.loudness(x, sr),
                "true_peak_dbtp": true_peak_dbtp(x), "sr": sr,
                "channels": int(np.atleast_2d(x).shape[0]), "frames": int(x.shape[-1])}


def curve(values: np.ndarray) -> List[Optional[float]]:
    return [None if not np.isfinite(v) else round(float(v), 3) for v in values]


def compare(out: Dict[str, Any], track: Dict[str, Any], ref: Dict[str, Any]) -> Dict[str, Any]:
    inside = clamp_mask(track["spectrum"], ref["spectrum"])
    d_after, ok_after = band_difference(out["spectrum"], ref["spectrum"])
    lufs_err = (out["lufs"] - ref["lufs"]
                if out["lufs"] is not None and ref["lufs"] is not None else None)
    return {
        "residual_before_db": residual_db(track["spectrum"], ref["spectrum"]),
        "residual_after_db": residual_db(out["spectrum"], ref["spectrum"]),
        "residual_before_clamp_db": residual_db(track["spectrum"], ref["spectrum"], inside),
        "residual_after_clamp_db": residual_db(out["spectrum"], ref["spectrum"], inside),
        "bands_compared": int(ok_after.sum()),
        "bands_inside_clamp": int((inside & ok_after).sum()),
        "out_lufs": out["lufs"], "ref_lufs": ref["lufs"], "track_lufs": track["lufs"],
        "loudness_error_lu": lufs_err,
        "true_peak_dbtp": out["true_peak_dbtp"],
        "output_rate": out["sr"], "output_channels": out["channels"],
        "output_frames": out["frames"],
        "out_minus_ref_db": curve(d_after),
    }


# -- output ------------------------------------------------------------------------------------


def fmt(v: Optional[float], spec: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if math.isinf(v):
        return str(v)
    return format(v, spec)


def jsonable(v: Any) -> Any:
    """Strict-JSON copy: numpy scalars and arrays as Python values, non-finite floats as the
    strings "inf", "-inf", "nan"."""
    if isinstance(v, np.ndarray):
        return jsonable(v.tolist())
    if isinstance(v, np.generic):
        return jsonable(v.item())
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if v is None or isinstance(v, (bool, int, str)):
        return v
    return str(v)


def markdown_table(rows: List[Dict[str, Any]]) -> str:
    head = ("| pair | rate | ch | tool | residual dB before→after | inside ±12 dB clamp "
            "before→after | out LUFS | out−ref LU | true peak dBTP | wall s | "
            "Matchering/tonecore | notes |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        rate = f"{r['sample_rate'] / 1000:g} kHz" if r.get("sample_rate") else "-"
        cells = [r["pair"], rate, str(r.get("channels", "-")), r["tool"]]
        if r["status"] in ("ok", "resampled"):
            cells += [f"{fmt(r['residual_before_db'], '.2f')} → "
                      f"{fmt(r['residual_after_db'], '.2f')}",
                      f"{fmt(r['residual_before_clamp_db'], '.2f')} → "
                      f"{fmt(r['residual_after_clamp_db'], '.2f')}",
                      fmt(r["out_lufs"], ".2f"), fmt(r["loudness_error_lu"], "+.2f"),
                      fmt(r["true_peak_dbtp"], ".2f"), fmt(r["wall_s"], ".3f"),
                      fmt(r.get("ratio_matchering_over_tonecore"), ".2f")]
            notes = r.get("note", "")
        else:
            cells += ["-"] * 7
            notes = f"{r['status']}: {r['why']}"
        cells.append(notes.replace("|", "/"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- self-test of the measurements -------------------------------------------------------------


def rbj_shelf(kind: str, gain_db: float, f0: float, sr: float) -> Tuple[np.ndarray, np.ndarray]:
    """RBJ cookbook shelf (slope 1) as (b, a)."""
    a_ = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * f0 / sr
    cw, alpha = math.cos(w0), math.sin(w0) / 2 * math.sqrt(2)
    sq = 2 * math.sqrt(a_) * alpha
    if kind == "high":
        b = [a_ * ((a_ + 1) + (a_ - 1) * cw + sq), -2 * a_ * ((a_ - 1) + (a_ + 1) * cw),
             a_ * ((a_ + 1) + (a_ - 1) * cw - sq)]
        a = [(a_ + 1) - (a_ - 1) * cw + sq, 2 * ((a_ - 1) - (a_ + 1) * cw),
             (a_ + 1) - (a_ - 1) * cw - sq]
    else:
        b = [a_ * ((a_ + 1) - (a_ - 1) * cw + sq), 2 * a_ * ((a_ - 1) - (a_ + 1) * cw),
             a_ * ((a_ + 1) - (a_ - 1) * cw - sq)]
        a = [(a_ + 1) + (a_ - 1) * cw + sq, -2 * ((a_ - 1) + (a_ + 1) * cw),
             (a_ + 1) + (a_ - 1) * cw - sq]
    return np.array(b) / a[0], np.array(a) / a[0]


def expected_band_db(b: np.ndarray, a: np.ndarray, sr: float) -> np.ndarray:
    """Per band, 10 log10 of the mean of |H|^2 over the band's Welch bins: what a filter does to
    the band PSD of white noise."""
    nps = welch_nperseg(sr)
    f = np.fft.rfftfreq(nps, 1.0 / sr)
    _, h = scipy.signal.freqz(b, a, worN=f, fs=sr)
    out = np.full(len(GRID_K), np.nan)
    lo = np.searchsorted(f, LOWER, side="left")
    hi = np.searchsorted(f, UPPER, side="left")
    for i in range(len(GRID_K)):
        if hi[i] > lo[i]:
            out[i] = 10 * math.log10(float(np.mean(np.abs(h[lo[i]:hi[i]]) ** 2)))
    return out


def self_test(seconds: float) -> int:
    sr = 44100
    n = int(seconds * sr)
    rng = np.random.default_rng(7)
    noise = rng.standard_normal((2, n)) * 0.1
    checks: List[Tuple[str, bool, str]] = []
    spec = band_spectrum(noise, sr)
    r = residual_db(spec, spec)
    checks.append(("signal against itself", r == 0.0, f"residual {r:.3g} dB"))
    r = residual_db(band_spectrum(noise * 10 ** (-10 / 20), sr), spec)
    checks.append(("signal against itself at -10 dB (level is not tonal balance)", r < 1e-9,
                   f"residual {r:.3g} dB"))
    kept = int(spec.valid.sum())
    want = int(np.sum(UPPER <= NYQUIST_FRACTION * sr))
    checks.append((f"bands compared at {sr} Hz", kept == want,
                   f"{kept} (every band with upper edge <= {NYQUIST_FRACTION * sr:g} Hz: {want})"))
    for kind, f0 in (("high", 2000.0), ("low", 200.0)):
        b, a = rbj_shelf(kind, 6.0, f0, sr)
        shelved = scipy.signal.lfilter(b, a, noise, axis=-1)
        d, ok = band_difference(band_spectrum(shelved, sr), spec)
        want_curve = expected_band_db(b, a, sr)
        w = want_curve[ok] - np.mean(want_curve[ok])
        dev = float(np.max(np.abs(d[ok] - w)))
        span = float(want_curve[ok][-1] - want_curve[ok][0]) * (1 if kind == "high" else -1)
        got_span = float(d[ok][-1] - d[ok][0]) * (1 if kind == "high" else -1)
        r = residual_db(band_spectrum(shelved, sr), spec)
        r_want = float(np.sqrt(np.mean(w ** 2)))
        checks.append((f"white noise vs +6 dB RBJ {kind} shelf at {f0:g} Hz: band curve",
                       dev < 0.1, f"max |measured - |H|^2 band mean| {dev:.3f} dB over {ok.sum()} "
                       f"bands"))
        checks.append((f"  ... shelf height (last band - first band)", abs(got_span - 6.0) < 0.1,
                       f"{got_span:.2f} dB (filter: {span:.2f} dB)"))
        checks.append((f"  ... residual equals the shelf's own mean-removed RMS",
                       abs(r - r_want) < 0.05, f"{r:.3f} dB vs {r_want:.3f} dB"))
    # the same white density at another rate: variance scales with the rate
    sr2 = 96000
    noise2 = np.random.default_rng(8).standard_normal((2, int(seconds * sr2))) * 0.1 \
        * math.sqrt(sr2 / sr)
    spec2 = band_spectrum(noise2, sr2)
    r = residual_db(spec2, spec)
    _, ok = band_difference(spec2, spec)
    offset = float(np.mean(spec2.db[ok] - spec.db[ok]))
    # two independent estimates: the bands of one or two bins (below ~40 Hz) scatter by
    # ~4.3/sqrt(Welch segments) dB each, so the bound follows the length
    bound = 1.8 / math.sqrt(seconds)
    checks.append(("white noise at 96 kHz vs independent white noise at 44.1 kHz, same density",
                   r < bound and abs(offset) < 0.1,
                   f"residual {r:.3f} dB (bound {bound:.2f}) over {ok.sum()} bands (up to 0.45 x "
                   f"44.1 kHz), mean offset {offset:+.3f} dB"))
    # the clamp mask: a +20 dB bell at 100 Hz
    bell = apply_eq(noise, sr, dict(bells=[(20.0, 100.0, 1.0)]))
    inside = clamp_mask(spec, band_spectrum(bell, sr))
    need = eq_curve_db(CENTRES, dict(bells=[(20.0, 100.0, 1.0)]))
    need = need - np.mean(need[spec.valid])
    clear_out = spec.valid & (np.abs(need) > CLAMP_DB + 1)
    clear_in = spec.valid & (np.abs(need) < CLAMP_DB - 1)
    good = not inside[clear_out].any() and inside[clear_in].all()
    checks.append(("clamp mask: +20 dB bell at 100 Hz", good,
                   f"{int((spec.valid & ~inside).sum())} bands outside +-12 dB, at "
                   f"{', '.join(f'{c:.0f}' for c in CENTRES[spec.valid & ~inside])} Hz"))
    # true peak: a 0 dBFS sine at sr/4 sampled 45 degrees off its peaks, faded in and out over
    # 0.1 s (an abrupt start rings through the interpolation filter: +0.1 dB)
    t = np.arange(sr) / sr
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.1)
    sine = np.sin(2 * np.pi * sr / 4 * t + np.pi / 4) * np.sin(0.5 * np.pi * fade) ** 2
    tp = true_peak_dbtp(sine[None, :])
    checks.append(("true peak of a 0 dBFS sine at sr/4 (samples at -3.01 dBFS)",
                   abs(tp) < 0.05, f"{tp:+.3f} dBTP, sample peak "
                   f"{_db(float(np.max(np.abs(sine)))):.2f} dBFS"))
    loud = Loudness()
    if loud.pyloudnorm is not None:
        tone = np.sin(2 * np.pi * 997 * t) * 10 ** (-20 / 20)
        stereo = loud(np.stack([tone, tone]), sr)
        six = loud(np.stack([tone, tone, np.zeros_like(tone), tone, np.zeros_like(tone),
                             np.zeros_like(tone)]), sr)
        checks.append(("loudness: a 5.1 signal's LFE is not counted", stereo is not None
                       and six is not None and abs(stereo - six) < 1e-9,
                       f"stereo {stereo:.3f} LUFS, same L R plus an LFE {six:.3f} LUFS"))
    failed = 0
    for name, ok_, detail in checks:
        print(f"{'ok  ' if ok_ else 'FAIL'} {name}: {detail}")
        failed += not ok_
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


# -- main ----------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=30.0, help="signal length (default 30)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="interleaved rounds, best time kept (default 3)")
    ap.add_argument("--quick", action="store_true", help="10 s signals, one round")
    ap.add_argument("--tools", default=",".join(TOOLS),
                    help="comma-separated subset of: tonecore, matchering (default both)")
    ap.add_argument("--pairs", help="comma-separated subset of: " + ", ".join(PAIRS))
    ap.add_argument("--configs", help="comma-separated subset of: " + ", ".join(CONFIGS))
    ap.add_argument("--track", metavar="PATH", help="a track file (with --reference)")
    ap.add_argument("--reference", metavar="PATH", help="a reference file (with --track)")
    ap.add_argument("--json", metavar="PATH", help="also write the JSON document to PATH")
    ap.add_argument("--json-only", action="store_true",
                    help="print only the JSON line (no table)")
    ap.add_argument("--self-test", action="store_true",
                    help="check the measurement functions on known cases and exit")
    args = ap.parse_args()
    if args.self_test:
        return self_test(10.0 if args.quick else 30.0)
    if args.quick:
        args.seconds, args.repeat = 10.0, 1
    if args.repeat < 1 or args.seconds <= 0:
        ap.error("--repeat must be >= 1 and --seconds > 0")
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    for t in tools:
        if t not in TOOLS:
            ap.error(f"unknown tool {t!r} (tonecore, matchering)")
    pairs = args.pairs.split(",") if args.pairs else list(PAIRS)
    for p in pairs:
        if p not in PAIRS:
            ap.error(f"unknown pair {p!r}")
    configs = args.configs.split(",") if args.configs else list(CONFIGS)
    for c in configs:
        if c not in CONFIGS:
            ap.error(f"unknown configuration {c!r}")
    if bool(args.track) != bool(args.reference):
        ap.error("--track and --reference go together")
    if args.track and version_of("soundfile") is None:
        ap.error("--track/--reference need soundfile (pip install soundfile)")

    quiet = args.json_only

    def say(*a: Any, **k: Any) -> None:
        if not quiet:
            print(*a, **k, flush=True)

    # -- what can run
    unavailable: Dict[str, str] = {}
    tc, why = tonecore_api() if "tonecore" in tools else (None, "")
    if "tonecore" in tools and tc is None:
        unavailable["tonecore"] = why
        print(f"tonecore rows unavailable: {why}", file=sys.stderr)
    mg: Any = None
    if "matchering" in tools:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # its limiter imports scipy.ndimage.filters
                import matchering

            mg = matchering
        except ImportError as e:
            unavailable["matchering"] = f"pip install matchering ({e})"
        else:
            if version_of("soundfile") is None:
                unavailable["matchering"] = "soundfile not installed (pip install soundfile)"
                mg = None

    short_why = {t: (w if t == "matchering" or w.startswith("import tonecore failed")
                     else "no tonecore.profile/tonecore.match in this build (see stderr)")
                 for t, w in unavailable.items()}
    meter = Meter()
    load0 = os.getloadavg()
    env: Dict[str, Any] = {
        "python": platform.python_version(), "platform": platform.platform(),
        "cpus": os.cpu_count(), "numpy": np.__version__, "scipy": scipy.__version__,
        "tonecore": version_of("tonecore"),
        "tonecore_file": getattr(sys.modules.get("tonecore"), "__file__", None),
        "tonecore_match": tc is not None,
        "matchering": version_of("matchering") if mg is not None else None,
        "resampy": version_of("resampy"), "soundfile": version_of("soundfile"),
        "pyloudnorm": version_of("pyloudnorm"),
        "thread_env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                      "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")},
        "load_start": load0,
    }
    say(f"tonecore {env['tonecore']} ({'with' if tc is not None else 'WITHOUT'} match); "
        f"matchering {env['matchering'] or '-'}; pyloudnorm {env['pyloudnorm'] or '-'}; "
        f"soundfile {env['soundfile'] or '-'}; numpy {np.__version__}; scipy {scipy.__version__}; "
        f"Python {env['python']}; {env['cpus']} cores")
    say(f"load average at the start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    say(f"{args.seconds:g} s signals; best of {args.repeat} interleaved round(s); tools: "
        + ", ".join(f"{t} ({'unavailable' if t in unavailable else 'run'})" for t in tools))
    say("tonecore time: profile(reference) + match(track) in memory; Matchering time: the whole "
        "matchering.process call, file to file (reads two float32 WAVs, resamples if not "
        "44.1 kHz, writes a 24-bit WAV)")
    if meter.loudness.pyloudnorm is None:
        say(f"loudness columns empty: {meter.loudness.why}")

    cases: List[Tuple[str, str, Callable[..., Case]]] = []
    for pair in pairs:
        for cname in configs:
            sr, layout, _ = CONFIGS[cname]

            def make(pair: str = pair, cname: str = cname, sr: int = sr,
                     layout: str = layout) -> Case:
                n = int(round(args.seconds * sr))
                return Case(pair, cname, synth(PAIRS[pair]["track"], n, sr, layout), sr,
                            synth(PAIRS[pair]["reference"], n, sr, layout), sr)
            cases.append((pair, cname, make))
    if args.track:
        def make_files() -> Case:
            x, sr = read_audio(Path(args.track))
            r, sr_r = read_audio(Path(args.reference))
            c = Case("files", f"{sr / 1000:g}k-{x.shape[0]}ch", x, sr, r, sr_r)
            c.x_wav, c.r_wav = Path(args.track), Path(args.reference)
            return c
        cases.append(("files", "files", make_files))

    rows: List[Dict[str, Any]] = []
    inputs: Dict[str, Any] = {}
    resampy_warm = False
    with tempfile.TemporaryDirectory(prefix="compare_matchering_") as tmpdir:
        tmp = Path(tmpdir)
        tc_run = TonecoreRunner(tc) if tc is not None else None
        mg_run = MatcheringRunner(mg, tmp) if mg is not None else None
        for pair, cname, make in cases:
            try:
                case = make()
            except Exception as e:  # an unreadable --track/--reference file
                why = f"inputs: {type(e).__name__}: {e}"
                say(f"\n{pair}/{cname}: {why}")
                rows.extend({"pair": pair, "config": cname, "tool": t, "status": "error",
                             "why": why} for t in tools)
                continue
            tr = meter.signal(case.x, case.sr)
            rf = meter.signal(case.r, case.sr_r)
            inside = clamp_mask(tr["spectrum"], rf["spectrum"])
            key = f"{case.pair}/{case.config}"
            def described(m: Dict[str, Any]) -> Dict[str, Any]:
                return {k: v for k, v in m.items() if k != "spectrum"} | {
                    "band_db": curve(m["spectrum"].db),
                    "bands_valid": int(m["spectrum"].valid.sum())}
            inputs[key] = {
                "track": described(tr),
                "reference": described(rf),
                "correction_needed_db": curve(band_difference(rf["spectrum"], tr["spectrum"])[0]),
                "bands_inside_clamp": int(inside.sum()),
                "residual_before_db": residual_db(tr["spectrum"], rf["spectrum"]),
                "residual_before_clamp_db": residual_db(tr["spectrum"], rf["spectrum"], inside),
            }
            say(f"\n{key}: track {case.x.shape[0]} ch at {case.sr} Hz, {fmt(tr['lufs'], '.2f')} "
                f"LUFS, {fmt(tr['true_peak_dbtp'], '.2f')} dBTP; reference {case.r.shape[0]} ch "
                f"at {case.sr_r} Hz, {fmt(rf['lufs'], '.2f')} LUFS, "
                f"{fmt(rf['true_peak_dbtp'], '.2f')} dBTP; residual before "
                f"{inputs[key]['residual_before_db']:.2f} dB "
                f"({inputs[key]['residual_before_clamp_db']:.2f} dB over the {int(inside.sum())} "
                "bands inside the ±12 dB clamp)")

            base = {"pair": case.pair, "config": case.config, "sample_rate": case.sr,
                    "reference_rate": case.sr_r, "channels": int(case.x.shape[0])}
            # which tools run on this case, and how
            runners: List[Tuple[str, Callable[[Case], None]]] = []
            row_of: Dict[str, Dict[str, Any]] = {}
            for tool in tools:
                row = dict(base, tool=tool)
                row_of[tool] = row
                if tool in unavailable:
                    row.update(status="not installed" if tool == "matchering" else "unavailable",
                               why=short_why[tool])
                elif tool == "tonecore":
                    assert tc_run is not None
                    tc_run.reset()
                    runners.append((tool, tc_run.once))
                else:
                    assert mg_run is not None
                    mg_run.reset()
                    if case.x_wav is None:
                        case.x_wav = tmp / f"track_{pair}_{cname}.wav"
                        case.r_wav = tmp / f"ref_{pair}_{cname}.wav"
                        write_audio(case.x_wav, case.x, case.sr)
                        write_audio(case.r_wav, case.r, case.sr_r)
                    if max(case.x.shape[0], case.r.shape[0]) > 2:
                        # refused while loading: shown by calling it once, untimed
                        try:
                            mg_run.once(case)
                        except Exception as e:  # matchering.log.ModuleError
                            row.update(status="refused", why=f"Matchering: {e}")
                        else:
                            row.update(status="error", why="expected a refusal of "
                                       f"{case.x.shape[0]} channels, it ran")
                        continue
                    if MATCHERING_RATE not in (case.sr, case.sr_r) or case.sr != case.sr_r:
                        if not resampy_warm:
                            warm_up_resampy()
                            resampy_warm = True
                    runners.append((tool, mg_run.once))
            failed: Dict[str, str] = {}
            for rnd in range(args.repeat):
                order = runners if rnd % 2 == 0 else runners[::-1]
                for tool, fn in order:
                    if tool in failed:
                        continue
                    try:
                        fn(case)
                    except Exception as e:
                        failed[tool] = f"{type(e).__name__}: {e}"
            # measure the outputs of the last round
            for tool, _ in runners:
                row = row_of[tool]
                if tool in failed:
                    row.update(status="error", why=failed[tool])
                    continue
                if tool == "tonecore":
                    assert tc_run is not None
                    y, report = tc_run.result
                    bad = bad_output(y, case)
                    if bad:
                        row.update(status="error", why=bad, wall_s=tc_run.best["wall"])
                        continue
                    out = meter.signal(y, case.sr)
                    row.update(status="ok", wall_s=tc_run.best["wall"],
                               profile_s=tc_run.best["profile"], match_s=tc_run.best["match"],
                               cpu_s=tc_run.best["cpu"], wall_all_s=tc_run.times,
                               note=f"match alone {tc_run.best['match']:.3f} s",
                               report=report if isinstance(report, dict) else str(report),
                               **compare(out, tr, rf))
                else:
                    assert mg_run is not None and mg_run.out is not None
                    y, sr_out = read_audio(mg_run.out)
                    mg_run.out.unlink()
                    bad = bad_output(y, case, sr_out)
                    if bad:
                        row.update(status="error", why=bad, wall_s=mg_run.best)
                        continue
                    out = meter.signal(y, sr_out)
                    resampled = sr_out != case.sr
                    note = (f"resampled to {sr_out / 1000:g} kHz by Matchering (resampy), output "
                            f"at {sr_out / 1000:g} kHz, time includes it" if resampled
                            else "file to file, 24-bit output")
                    if not resampled and any("REFERENCE audio was resampled" in m
                                             for m in mg_run.messages):
                        note += f"; the reference resampled to {sr_out / 1000:g} kHz"
                    if case.x.shape[0] == 1:
                        note += "; mono duplicated to stereo"
                    row.update(status="resampled" if resampled else "ok",
                               wall_s=mg_run.best, cpu_s=mg_run.best_cpu,
                               wall_all_s=mg_run.times, note=note,
                               matchering_log=mg_run.messages, **compare(out, tr, rf))
            tcr, mgr = row_of.get("tonecore"), row_of.get("matchering")
            if (tcr and mgr and tcr["status"] == "ok" and mgr["status"] in ("ok", "resampled")):
                mgr["ratio_matchering_over_tonecore"] = mgr["wall_s"] / tcr["wall_s"]
            for tool in tools:
                r = row_of[tool]
                rows.append(r)
                if r["status"] in ("ok", "resampled"):
                    say(f"  {tool:<10} residual {r['residual_before_db']:.2f} → "
                        f"{r['residual_after_db']:.2f} dB (clamp "
                        f"{r['residual_before_clamp_db']:.2f} → "
                        f"{r['residual_after_clamp_db']:.2f}), {fmt(r['out_lufs'], '.2f')} LUFS "
                        f"({fmt(r['loudness_error_lu'], '+.2f')} LU vs reference), "
                        f"{r['true_peak_dbtp']:.2f} dBTP, {r['wall_s']:.3f} s"
                        + (f", ×{r['ratio_matchering_over_tonecore']:.2f} tonecore's time"
                           if r.get("ratio_matchering_over_tonecore") else "")
                        + (f"; {r['note']}" if r.get("note") else ""))
                else:
                    say(f"  {tool:<10} {r['status']}: {r['why']}")

    load1 = os.getloadavg()
    env["load_end"] = load1
    ratios = [r["ratio_matchering_over_tonecore"] for r in rows
              if r.get("ratio_matchering_over_tonecore") and r["status"] == "ok"]
    summary: Dict[str, Any] = {}
    for tool in tools:
        done = [r for r in rows if r["tool"] == tool and r["status"] in ("ok", "resampled")]
        if done:
            summary[tool] = {
                "rows": len(done),
                "mean_residual_after_db": float(np.mean([r["residual_after_db"] for r in done])),
                "mean_residual_after_clamp_db":
                    float(np.mean([r["residual_after_clamp_db"] for r in done])),
                "max_abs_loudness_error_lu": max((abs(r["loudness_error_lu"]) for r in done
                                                  if r["loudness_error_lu"] is not None),
                                                 default=None),
                "max_true_peak_dbtp": max(r["true_peak_dbtp"] for r in done),
                "total_wall_s": sum(r["wall_s"] for r in done),
            }
    if ratios:
        summary["ratio_matchering_over_tonecore_same_rate"] = {
            "geomean": math.exp(sum(map(math.log, ratios)) / len(ratios)),
            "min": min(ratios), "max": max(ratios), "rows": len(ratios)}

    say("\n" + markdown_table(rows))
    say("\nresidual: RMS (dB) over the 1/6-octave bands of output − reference after removing the "
        "mean (before: track − reference); Matchering/tonecore: Matchering's whole call (file to "
        "file) over tonecore's profile + match (in memory); above 1: tonecore faster.")
    if "ratio_matchering_over_tonecore_same_rate" in summary:
        s = summary["ratio_matchering_over_tonecore_same_rate"]
        say(f"Matchering/tonecore where Matchering ran at the input's rate: geometric mean "
            f"{s['geomean']:.2f} "
            f"({s['min']:.2f} – {s['max']:.2f}, {s['rows']} rows)")
    say(f"load average at the end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")

    doc = {
        "script": "benches/compare_matchering.py",
        "settings": {"seconds": args.seconds, "repeat": args.repeat, "tools": tools,
                     "pairs": pairs, "configs": configs, "track": args.track,
                     "reference": args.reference, "clamp_db": CLAMP_DB, "floor_db": FLOOR_DB,
                     "nyquist_fraction": NYQUIST_FRACTION},
        "band_centres_hz": [round(float(c), 2) for c in CENTRES],
        "environment": env,
        "unavailable": unavailable,
        "inputs": inputs,
        "rows": rows,
        "summary": summary,
    }
    line = json.dumps(jsonable(doc), separators=(",", ":"), allow_nan=False)
    print(line, flush=True)
    if args.json:
        Path(args.json).write_text(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
