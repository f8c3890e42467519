"""Runs the example C host on generated WAV files and checks what it wrote.

    python3 check_host.py path/to/host

Three runs, each at 4x real time (about 2 s each):
  1. 8 s of quiet stereo 16-bit 44.1 kHz material (about -21 LUFS) with a target of -16 LUFS:
     the level matcher has to boost it;
  2. 8 s of hot mono 32-bit float 48 kHz material (peaks at +6 dBFS, about -12 LUFS) with a
     target of -16 LUFS: the level matcher cuts and the limiter has to catch the transients;
  3. the second case again with --low-latency (64-frame blocks, minimum-phase partitioned EQ)
     at real-time speed (x1: a minimum-phase design takes a few ms on the control thread, tens
     of ms under TSan, more than its 25 ms period at x4): the host must report a latency of
     64 + 72 + 32 = 168 frames.
For each: the output has the input's format, channels, rate and length; no sample is above the
-1 dBFS ceiling (exactly for float; within half a 16-bit step for PCM, the rounding of the
file); the integrated loudness of the second half, measured by pyloudnorm (an independent
BS.1770 meter), is within 1 LU of the target (the control thread moves the target by +-0.5 LU
every 100 ms); the host reports no audio or control errors and about 10 parameter changes per
second. Ends with one `N passed, N failed` line.
"""

import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import pyloudnorm
import scipy.io.wavfile as wavfile

CEILING_DB = -1.0
TARGET = -16.0
SPEED = 4.0
SECONDS = 8.0

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {what}")


def material(sr, channels, seconds, level, seed):
    """A music-like test signal: a bass line, a melody, noise, a slow envelope, transients."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    bass = np.sin(2 * np.pi * 55 * (1 + (np.floor(t * 2) % 4) / 4) * t)
    melody = 0.5 * np.sin(2 * np.pi * 440 * (1 + (np.floor(t * 4) % 5) / 5) * t + 1.0)
    noise = 0.15 * rng.standard_normal(t.size)
    x = (bass + melody + noise) * (0.8 + 0.2 * np.sin(2 * np.pi * 0.5 * t))
    clicks = np.zeros_like(t)
    clicks[:: sr // 3] = 3.0  # sharp transients for the limiter, three per second
    x = x + clicks
    x = x / np.max(np.abs(x)) * level
    out = np.stack([np.roll(x, 37 * c) for c in range(channels)], axis=1)
    return out


def run_case(host, tmp, name, sr, channels, pcm16, level, extra=(), speed=SPEED):
    x = material(sr, channels, SECONDS, level, seed=len(name))
    src = os.path.join(tmp, f"{name}-in.wav")
    dst = os.path.join(tmp, f"{name}-out.wav")
    if pcm16:
        wavfile.write(src, sr, np.round(x * 32767).astype(np.int16))
        x = np.round(x * 32767) / 32768.0
    else:
        wavfile.write(src, sr, x.astype(np.float32))
        x = x.astype(np.float32).astype(np.float64)
    meter = pyloudnorm.Meter(sr)
    print(f"== {name}: {channels} ch, {sr} Hz, {'16-bit' if pcm16 else 'float'}, "
          f"input {meter.integrated_loudness(x):.1f} LUFS, peak {20 * np.log10(np.max(np.abs(x))):+.1f} dBFS")
    proc = subprocess.run(
        [host, src, dst, "--target", str(TARGET), "--ceiling", str(CEILING_DB), "--speed", str(speed),
         *extra],
        capture_output=True, text=True, timeout=120)
    print(proc.stdout, end="")
    if proc.stderr:
        print(proc.stderr, end="")
    check(proc.returncode == 0, f"{name}: host exit code {proc.returncode}")
    if proc.returncode != 0 or not os.path.exists(dst):
        return None
    out_sr, y = wavfile.read(dst)
    check(out_sr == sr, f"{name}: sample rate {out_sr}")
    check(y.dtype == (np.int16 if pcm16 else np.float32), f"{name}: sample type {y.dtype}")
    y = y.reshape(len(y), -1)
    check(y.shape == x.shape, f"{name}: output shape {y.shape}, input {x.shape}")
    y = y / 32768.0 if pcm16 else y.astype(np.float64)
    ceiling = 10 ** (CEILING_DB / 20)
    slack = 0.5 / 32768.0 if pcm16 else 0.0
    peak = float(np.max(np.abs(y)))
    check(peak <= np.float32(ceiling) + slack, f"{name}: peak {peak:.6f} above the ceiling {ceiling:.6f}")
    check(np.all(np.isfinite(y)), f"{name}: non-finite output")
    late = meter.integrated_loudness(y[len(y) // 2:])
    print(f"   pyloudnorm: second half {late:.2f} LUFS (target {TARGET}), whole "
          f"{meter.integrated_loudness(y):.2f} LUFS, peak {20 * np.log10(peak):+.2f} dBFS")
    check(abs(late - TARGET) <= 1.0, f"{name}: second-half loudness {late:.2f} LUFS, target {TARGET}")
    m = re.search(r"(\d+) errors\n", proc.stdout)
    check(m is not None and m.group(1) == "0", f"{name}: audio thread errors")
    m = re.search(r"control thread: (\d+) parameter changes, (\d+) errors", proc.stdout)
    changes = int(m.group(1)) if m else 0
    # 10 per second of audio; the last may be cut short by the end of the file, and an audio
    # thread slowed below its pace (TSan, a loaded machine) sees a few more.
    want = SECONDS * 10
    check(m is not None and m.group(2) == "0" and 0.8 * want <= changes <= 1.1 * want + 2,
          f"{name}: {changes} control changes, want about {want:.0f}")
    check("stats: frames" in proc.stdout, f"{name}: no statistics printed")
    return proc.stdout


def main():
    host = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        run_case(host, tmp, "quiet-stereo-pcm16", 44100, 2, True, 10 ** (-6 / 20))
        run_case(host, tmp, "hot-mono-float", 48000, 1, False, 10 ** (6 / 20))
        out = run_case(host, tmp, "hot-mono-float-low-latency", 48000, 1, False, 10 ** (6 / 20),
                       ("--low-latency",), speed=1.0)
        check(out is not None and "64-frame blocks, latency 168 frames" in out,
              "low latency: the host does not report 168 frames at 64-frame blocks")
        # Refusals: a missing file and a non-WAV file fail cleanly.
        bad = os.path.join(tmp, "bad.wav")
        with open(bad, "wb") as f:
            f.write(b"not a wav file at all")
        for args in ([os.path.join(tmp, "missing.wav"), os.path.join(tmp, "o.wav")], [bad, os.path.join(tmp, "o.wav")]):
            proc = subprocess.run([host, *args], capture_output=True, text=True, timeout=30)
            check(proc.returncode == 1 and proc.stderr.strip() != "", f"refusal of {args[0]}: exit {proc.returncode}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
