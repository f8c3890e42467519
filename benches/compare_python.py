#!/usr/bin/env python3
"""tonecore against scipy, pedalboard and pyloudnorm: one input, one run, ratios.

Usage:
    python3 benches/compare_python.py [--seconds 180] [--repeat 5] [--calls 20000] [--rounds 7]
    python3 benches/compare_python.py --quick      # smoke run: 5 s of input, one repetition

Needs the installed package (``pip install ./bindings/python``), numpy and scipy; pedalboard,
pyloudnorm and a C compiler (``$CC`` or ``cc``) are optional — a row whose package is missing
prints ``skipped: ...``.

Every row uses the same input: ``--seconds`` of a music-like stereo 44.1 kHz float32 signal
(bass line, chords, kick, snare, hi-hats, a noise floor, louder and quieter sections; peaks
above 0 dBFS so the limiters work), planar ``(2, n)`` and C-contiguous. Times are the best of
``--repeat`` wall-clock runs; "ratio" is the other library's time divided by tonecore's, so
above 1 means tonecore is faster. tonecore runs on 1 thread and, where it has ``threads=``,
on all cores.

Rows:
1. ``scipy.signal.stft`` against ``tonecore.Stft.forward`` (N 2048/hop 512 and 4096/1024, Hann,
   the same frames: ``boundary=None, padded=False``; checked equal after scipy's scaling).
2. ``scipy.signal.sosfilt`` with a 25-section sos (RBJ peaking biquads at the critical-band
   centres, Q = centre / width, float64 coefficients; one call over both channels) against
   ``tonecore.equalize`` with the same 25 gains.
3. The FFT EQ of numpy hosts: ``scipy.signal.stft`` (N 4096, 50 %) -> per-bin gains ->
   ``scipy.signal.istft``, against ``tonecore.equalize``.
4. pedalboard, 25 chained ``PeakFilter``s (the same centres, Q and gains), against
   ``tonecore.equalize``.
5. pedalboard ``Limiter`` (threshold -1 dB, release 100 ms) against ``tonecore.Limiter``
   (ceiling -1 dBFS, 5 ms lookahead, release 100 ms; its output is checked to stay under the
   ceiling).
6. pyloudnorm ``Meter.integrated_loudness`` against ``tonecore.integrated_loudness`` and
   ``tonecore.loudness`` (the full measurement); the integrated values must agree within
   0.1 LU or the script exits with status 1.
7. The per-call cost of a 256-frame stereo float32 ``Pipeline.process`` (EQ -> level ->
   limiter, ``out=`` preallocated) from Python against the same call from C
   (``benches/pipeline_call_cost.c``, compiled here with ``cc`` against ``include/tonecore.h``
   and run on the library file the Python package loaded): ``--rounds`` rounds of ``--calls``
   calls after a warm-up, median per call; the difference is what Python costs in all
   (interpreter, ctypes, binding).
8. The binding's own overhead on that call: ``Pipeline.process(block, out=out)`` against a bare
   ctypes call of the same C function (``tonecore_pipeline_process_f32`` as ``_native``
   declares it) with prepared arguments (handle and buffer pointers made once), on the same
   pipeline, block and ``out``. ``--rounds`` rounds of ``--calls`` calls of each after a
   warm-up, interleaved in bursts of 50 calls (Python, bare, bare, Python, ...), so a change of
   machine load hits both alike; per call: the median over rounds of the paired difference, and
   best Python minus best bare, in wall time and in the thread's CPU time (which leaves out the
   time the thread waited for a core: on a shared machine the steadier of the two). Target: at
   most 1.5 µs.

``--per-call`` runs only rows 7 and 8 (on 3 s of the input; no other library needed).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from ctypes import c_float
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

import numpy as np
import scipy
import scipy.signal

import tonecore
from tonecore import _native

SR = 44_100
REPO = Path(__file__).resolve().parents[1]
BLOCK = 256
#: The EQ gains of every EQ row and of the pipeline (dB per critical band): a gentle smile.
GAINS = np.interp(np.arange(25), [0, 4, 12, 20, 24], [4.0, 1.5, -2.0, 1.0, 3.0])


def music(seconds: float, sr: int = SR) -> np.ndarray:
    """A deterministic music-like stereo signal, planar (2, n) float32, peaks ~ +2 dBFS."""
    n = int(seconds * sr)
    t = np.arange(n) / sr
    rng = np.random.default_rng(7)
    beat = 0.5  # 120 bpm
    pos = t % beat
    bar = (t // (4 * beat)).astype(np.int64)

    def tone(freqs: np.ndarray, harmonics: int) -> np.ndarray:
        phase = 2 * np.pi * np.cumsum(freqs) / sr
        return sum(np.sin(k * phase) / k for k in range(1, harmonics + 1))

    roots = np.array([55.0, 55.0 * 2 ** (5 / 12), 55.0 * 2 ** (7 / 12), 55.0 * 2 ** (3 / 12)])
    root = roots[bar % 4]
    bass = 0.35 * tone(root, 3) * np.exp(-(t % (2 * beat)) / 0.6)
    chords = sum(tone(root * 4 * 2 ** (s / 12), 5) for s in (0, 4, 7)) * 0.06
    kick = 0.6 * np.sin(2 * np.pi * (45 * pos + 60 * 0.03 * (1 - np.exp(-pos / 0.03)))) \
        * np.exp(-pos / 0.12)
    beat_no = (t // beat).astype(np.int64)
    snare = 0.25 * rng.standard_normal(n) * np.exp(-pos / 0.08) * (beat_no % 2 == 1)
    hats_noise = np.diff(rng.standard_normal(n + 1))
    hats = 0.05 * hats_noise * np.exp(-(t % (beat / 2)) / 0.03)
    # sections: a quiet intro, verses and louder choruses
    section = np.interp(t, [0, 15, 16, 60, 61, 90, 91, 150, 151, seconds + 1],
                        [0.25, 0.25, 0.7, 0.7, 1.0, 1.0, 0.6, 0.6, 1.0, 1.0])
    left = section * (bass + kick + snare + 1.2 * chords + 0.7 * hats)
    right = section * (bass + kick + snare + 0.8 * chords + 1.3 * hats)
    x = np.stack([left, right]) + rng.normal(0, 1e-3, (2, n))
    x *= 1.26 / np.max(np.abs(x))  # +2 dBFS peak
    return np.ascontiguousarray(x, dtype=np.float32)


def best_of(fn: Callable[[], Any], repeat: int) -> Tuple[float, Any]:
    """(best wall time in s over ``repeat`` runs, the last run's result)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def peaking_sos(centers: np.ndarray, q: np.ndarray, gains_db: np.ndarray, sr: int) -> np.ndarray:
    """RBJ audio-EQ-cookbook peaking biquads as a (sections, 6) float64 sos array."""
    a = 10 ** (gains_db / 40)
    w0 = 2 * np.pi * centers / sr
    alpha = np.sin(w0) / (2 * q)
    cos = np.cos(w0)
    b = np.stack([1 + alpha * a, -2 * cos, 1 - alpha * a], axis=1)
    den = np.stack([1 + alpha / a, -2 * cos, 1 - alpha / a], axis=1)
    return np.concatenate([b / den[:, :1], den / den[:, :1]], axis=1)


class Table:
    """The result rows: each printed as one line when measured, all as a markdown table at the
    end."""

    HEADER = ["row", "other", "other s", "tonecore", "tonecore 1 thread s", "ratio",
              "tonecore all threads s", "ratio"]

    def __init__(self) -> None:
        self.rows: List[List[str]] = []

    def add(self, key: str, other: str, t_other: float, ours: str, t_one: float,
            t_all: Optional[float]) -> None:
        line = (f"{key}: {other} {t_other:.3f} s; tonecore {ours} {t_one:.3f} s on 1 thread "
                f"({t_other / t_one:.1f}×)")
        row = [key, other, f"{t_other:.3f}", ours, f"{t_one:.3f}", f"{t_other / t_one:.1f}×"]
        if t_all is None:
            row += ["—", "—"]
        else:
            line += f", {t_all:.3f} s on all cores ({t_other / t_all:.1f}×)"
            row += [f"{t_all:.3f}", f"{t_other / t_all:.1f}×"]
        self.rows.append(row)
        print(line, flush=True)

    def skip(self, key: str, why: str) -> None:
        self.rows.append([key, f"skipped: {why}"] + [""] * (len(self.HEADER) - 2))
        print(f"{key}: skipped: {why}", flush=True)

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.HEADER) + " |", "|" + "---|" * len(self.HEADER)]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)


def stft_rows(x: np.ndarray, repeat: int, table: Table) -> None:
    for n, hop in ((2048, 512), (4096, 1024)):
        frames = 1 + (x.shape[1] - n) // hop
        out = np.empty((2, frames, n // 2 + 1), np.complex64)
        t_sc, (_, _, z) = best_of(lambda: scipy.signal.stft(
            x, nperseg=n, noverlap=n - hop, window="hann", boundary=None, padded=False,
            axis=-1), repeat)
        with tonecore.Stft(n, hop=hop, threads=1, dtype=np.float32) as one, \
                tonecore.Stft(n, hop=hop, dtype=np.float32) as every:
            t_one, _ = best_of(lambda: one.forward(x, out=out), repeat)
            t_all, _ = best_of(lambda: every.forward(x, out=out), repeat)
        # Same framing: scipy's frames are tonecore's divided by sum(window) (its scaling).
        scale = scipy.signal.get_window("hann", n).sum()
        ours = out[:, :8, :].transpose(0, 2, 1) / scale
        err = np.max(np.abs(z[..., :8] - ours)) / np.max(np.abs(z[..., :8]))
        if z.shape[-1] != frames or err > 1e-4:
            raise SystemExit(f"stft {n}/{hop}: frames differ from scipy's ({z.shape[-1]} vs "
                             f"{frames} frames, relative error {err:.2e})")
        del z
        table.add(f"stft {n}/{hop}", "scipy.signal.stft", t_sc, "Stft.forward", t_one, t_all)


def eq_rows(x: np.ndarray, repeat: int, table: Table) -> None:
    layout = tonecore.BandLayout.critical()
    centers, edges = layout.centers, layout.edges
    q = centers / (edges[1:] - edges[:-1])
    out = np.empty_like(x)
    t_one, _ = best_of(lambda: tonecore.equalize(x, SR, GAINS, threads=1, out=out), repeat)
    t_all, _ = best_of(lambda: tonecore.equalize(x, SR, GAINS, out=out), repeat)

    sos = peaking_sos(centers, q, GAINS, SR)
    t_sos, _ = best_of(lambda: scipy.signal.sosfilt(sos, x, axis=-1), repeat)
    table.add("sosfilt 25-band cascade", "scipy.signal.sosfilt, 25 sections (f64)", t_sos,
              "equalize", t_one, t_all)

    n = 4096
    curve = tonecore.gain_curve(GAINS, layout, SR, n, mode="step").astype(np.float32)

    def scipy_fft_eq() -> np.ndarray:
        _, _, z = scipy.signal.stft(x, fs=SR, nperseg=n, window="hann")
        z *= curve[:, None]
        return scipy.signal.istft(z, fs=SR, nperseg=n, window="hann")[1]

    t_fft, _ = best_of(scipy_fft_eq, repeat)
    table.add("stft EQ", "scipy stft → gains → istft (N 4096, 50 %)", t_fft, "equalize", t_one,
              t_all)

    try:
        import pedalboard
    except ImportError:
        table.skip("pedalboard 25 PeakFilter", "pedalboard is not installed")
        return
    board = pedalboard.Pedalboard([
        pedalboard.PeakFilter(cutoff_frequency_hz=float(c), gain_db=float(g), q=float(qq))
        for c, g, qq in zip(centers, GAINS, q)])
    t_pb, _ = best_of(lambda: board(x, SR), repeat)
    table.add("pedalboard 25 PeakFilter", "pedalboard, 25 × PeakFilter", t_pb, "equalize", t_one,
              t_all)


def limiter_row(x: np.ndarray, repeat: int, table: Table) -> None:
    key = "limiter"
    try:
        import pedalboard
    except ImportError:
        table.skip(key, "pedalboard is not installed")
        return
    if not hasattr(tonecore, "Limiter"):
        table.skip(key, "this tonecore has no Limiter")
        return
    board = pedalboard.Pedalboard([pedalboard.Limiter(threshold_db=-1.0, release_ms=100.0)])
    t_pb, _ = best_of(lambda: board(x, SR), repeat)
    config = tonecore.LimiterConfig(ceiling_db=-1.0, release_ms=100.0)
    out = np.empty_like(x)
    with tonecore.Limiter(SR, 2, config, dtype=np.float32) as limiter:

        def run() -> np.ndarray:
            limiter.reset()
            return limiter.process(x, out=out)

        t_tc, y = best_of(run, repeat)
    peak = float(np.max(np.abs(y)))
    if peak > 10 ** (-1.0 / 20):
        raise SystemExit(f"limiter: tonecore output peaks at {20 * np.log10(peak):+.2f} dBFS, "
                         f"above its -1 dBFS ceiling")
    table.add(key, "pedalboard Limiter", t_pb, "Limiter.process", t_tc, None)


def loudness_rows(x: np.ndarray, repeat: int, table: Table) -> None:
    try:
        import pyloudnorm
    except ImportError:
        table.skip("integrated loudness", "pyloudnorm is not installed")
        table.skip("full loudness", "pyloudnorm is not installed")
        return
    meter = pyloudnorm.Meter(SR)
    frames_channels = np.ascontiguousarray(x.T)  # pyloudnorm's layout, made outside the timing
    t_pyln, v_pyln = best_of(lambda: meter.integrated_loudness(frames_channels), repeat)
    t_int, v_int = best_of(lambda: tonecore.integrated_loudness(x, SR), repeat)
    t_full, v_full = best_of(lambda: tonecore.loudness(x, SR), repeat)
    print(f"integrated loudness values: pyloudnorm {v_pyln:.3f} LUFS, tonecore {v_int:.3f} LUFS "
          f"(integrated_loudness), {v_full['integrated']:.3f} LUFS (loudness)", flush=True)
    for v in (v_int, v_full["integrated"]):
        if not abs(v - v_pyln) < 0.1:
            raise SystemExit(f"integrated loudness differs by {abs(v - v_pyln):.3f} LU "
                             f"(pyloudnorm {v_pyln:.3f}, tonecore {v:.3f}): more than 0.1 LU")
    table.add("integrated loudness", "pyloudnorm integrated_loudness", t_pyln,
              "integrated_loudness", t_int, None)
    table.add("full loudness", "pyloudnorm integrated_loudness", t_pyln,
              "loudness (I, M, S, LRA, TP)", t_full, None)


def overhead_row(block: np.ndarray, calls: int, rounds: int) -> str:
    """The binding's overhead on a 256-frame stereo float32 ``Pipeline.process`` over a bare
    ctypes call of the same C function with prepared arguments, as one report line."""
    out = np.empty_like(block)
    config = tonecore.PipelineConfig(eq_gains=GAINS, level=tonecore.LevelConfig(-14.0),
                                     limiter=tonecore.LimiterConfig(ceiling_db=-1.0))
    # per round: [Python wall, bare wall, Python thread CPU, bare thread CPU], µs per call
    results: List[List[float]] = []
    with tonecore.Pipeline(SR, 2, config, max_block=BLOCK, dtype=np.float32) as pipeline:
        process = pipeline.process
        fn = _native.lib.tonecore_pipeline_process_f32
        handle = pipeline._handle
        assert handle is not None
        ptr = handle.acquire()  # registered as a running call until the end: close() waits
        try:
            xp, op = _native.pointer_to(block, c_float), _native.pointer_to(out, c_float)
            n = block.size
            bursts = max(1, calls // 50)

            def run_round() -> List[float]:
                """One round: ``calls`` calls of each, in alternating bursts of 50 (the order
                flips every burst), so load changes during the round hit both alike. Wall time
                and the thread's CPU time (which leaves out time the thread was not running)."""
                t = [0.0, 0.0, 0.0, 0.0]
                wall, cpu = time.perf_counter, time.thread_time
                for burst in range(bursts):
                    for which in ((1, 0) if burst % 2 else (0, 1)):
                        if which == 0:
                            w0, c0 = wall(), cpu()
                            for _ in range(50):
                                process(block, out=out)
                        else:
                            w0, c0 = wall(), cpu()
                            for _ in range(50):
                                fn(ptr, xp, n, op, n)
                        t[which] += wall() - w0
                        t[2 + which] += cpu() - c0
                return [v / (bursts * 50) * 1e6 for v in t]

            for _ in range(2000):  # warm-up
                process(block, out=out)
                fn(ptr, xp, n, op, n)
            for _ in range(rounds):
                results.append(run_round())
        finally:
            handle.release()

    def summary(py: List[float], bare: List[float]) -> str:
        diff = statistics.median(p - b for p, b in zip(py, bare))
        return (f"Pipeline.process {statistics.median(py):.2f} µs/call (best {min(py):.2f}), "
                f"bare ctypes {statistics.median(bare):.2f} µs/call (best {min(bare):.2f}), "
                f"overhead {diff:.2f} µs/call median, {min(py) - min(bare):.2f} µs/call best")

    wall_py, wall_bare, cpu_py, cpu_bare = (list(col) for col in zip(*results))
    return (f"{summary(wall_py, wall_bare)} (target <= 1.5 µs; {rounds} rounds of {calls} calls "
            f"each, interleaved in bursts of 50); thread CPU time: {summary(cpu_py, cpu_bare)}")


def call_cost_row(x: np.ndarray, calls: int, rounds: int) -> str:
    """Per-call cost of Pipeline.process from Python and from C, as one report line."""
    block = np.ascontiguousarray(x[:, SR * 2:SR * 2 + BLOCK])  # 2 s in: the music has started
    out = np.empty_like(block)
    config = tonecore.PipelineConfig(eq_gains=GAINS, level=tonecore.LevelConfig(-14.0),
                                     limiter=tonecore.LimiterConfig(ceiling_db=-1.0))
    per_call = []
    with tonecore.Pipeline(SR, 2, config, max_block=BLOCK, dtype=np.float32) as pipeline:
        process = pipeline.process
        for _ in range(2000):
            process(block, out=out)
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(calls):
                process(block, out=out)
            per_call.append((time.perf_counter() - t0) / calls * 1e6)
    py_us = statistics.median(per_call)

    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    source, header = REPO / "benches" / "pipeline_call_cost.c", REPO / "include" / "tonecore.h"
    if cc is None:
        return f"Python {py_us:.2f} µs/call; native skipped: no C compiler (cc)"
    if not source.is_file() or not header.is_file():
        return f"Python {py_us:.2f} µs/call; native skipped: {source} or {header} not found"
    with tempfile.TemporaryDirectory(prefix="tonecore-callcost-") as tmp:
        exe, block_file = Path(tmp) / "pipeline_call_cost", Path(tmp) / "block.f32"
        block.astype("=f4").tofile(block_file)  # planar: channel 0's 256 samples, then 1's
        r = subprocess.run([cc, "-O2", "-std=c11", "-Wall", "-I", str(header.parent),
                            str(source), "-o", str(exe), "-ldl"], capture_output=True, text=True)
        if r.returncode != 0:
            return f"Python {py_us:.2f} µs/call; native skipped: {cc} failed: {r.stderr.strip()}"
        r = subprocess.run([str(exe), str(_native.LIBRARY_PATH), str(block_file), str(calls),
                            str(rounds), *(repr(float(g)) for g in GAINS)],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise SystemExit(f"pipeline_call_cost failed: {r.stderr.strip()}")
    native_us = float(r.stdout.split("median_ns")[1]) / 1000
    return (f"Python {py_us:.2f} µs/call, native {native_us:.2f} µs/call, overhead "
            f"{py_us - native_us:.2f} µs/call (target < 10 µs; median of {rounds} rounds of "
            f"{calls} calls)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=180.0, help="input length (default 180)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per timing, best kept")
    ap.add_argument("--calls", type=int, default=20000, help="Pipeline.process calls per round")
    ap.add_argument("--rounds", type=int, default=7, help="rounds of --calls (median kept)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 5 s input, 1 repetition, 2 x 500 calls")
    ap.add_argument("--per-call", action="store_true",
                    help="only the per-call rows 7 and 8 (Pipeline.process against C and "
                         "against a bare ctypes call)")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.repeat, args.calls, args.rounds = 5.0, 1, 500, 2
    if args.seconds < 1 or args.repeat < 1 or args.calls < 1 or args.rounds < 1:
        ap.error("--seconds must be >= 1; --repeat, --calls and --rounds >= 1")
    if args.per_call:
        load = os.getloadavg()
        print(f"tonecore {tonecore.__version__} ({_native.LIBRARY_PATH}); numpy {np.__version__}; "
              f"Python {platform.python_version()}; {os.cpu_count()} cores; load average "
              f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        x = music(3.0)
        print(f"pipeline call: {call_cost_row(x, args.calls, args.rounds)}")
        block = np.ascontiguousarray(x[:, SR * 2:SR * 2 + BLOCK])
        print(f"binding overhead: {overhead_row(block, args.calls, args.rounds)}")
        load = os.getloadavg()
        print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        return 0

    versions = [f"numpy {np.__version__}", f"scipy {scipy.__version__}"]
    for name in ("pedalboard", "pyloudnorm"):
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} missing")
    load = os.getloadavg()
    print(f"tonecore {tonecore.__version__} ({_native.LIBRARY_PATH}); {', '.join(versions)}; "
          f"Python {platform.python_version()}; {os.cpu_count()} cores; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    x = music(args.seconds)
    print(f"input: 2 ch x {x.shape[1]} samples float32 ({args.seconds:g} s at {SR} Hz, "
          f"music-like, peak {20 * np.log10(np.max(np.abs(x))):+.1f} dBFS); best of "
          f"{args.repeat}; ratio = other time / tonecore time")
    table = Table()
    stft_rows(x, args.repeat, table)
    eq_rows(x, args.repeat, table)
    limiter_row(x, args.repeat, table)
    loudness_rows(x, args.repeat, table)
    line = call_cost_row(x, args.calls, args.rounds)
    print(f"pipeline call: {line}")
    block = np.ascontiguousarray(x[:, SR * 2:SR * 2 + BLOCK])
    print(f"binding overhead: {overhead_row(block, args.calls, args.rounds)}")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("\n" + table.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
