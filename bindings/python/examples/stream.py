#!/usr/bin/env python3
"""Live processing in an audio callback, the way sounddevice/PortAudio hosts work.

Two parts:
1. Playback: a ``PlaybackStream`` renders a track through the pipeline ahead of the listener;
   the audio callback only copies rendered frames (``read`` never blocks) and a control
   thread seeks while it plays.
2. Live input: a ``Pipeline`` processes each input block inside the callback while a UI
   thread changes the EQ gains (``PipelineParams`` work from any thread, wait-free). Live input
   is heard as it is played, so the pipeline runs in the low-latency mode
   (``PipelineConfig(low_latency=True)``: a minimum-phase EQ partitioned at the block): its
   latency is one block plus the limiter's lookahead instead of about 70 ms.
   With ``--match REFERENCE`` the live pipeline is matched to a reference instead: the
   reference (an audio file read with soundfile, or ``demo`` for a built-in noise tilted
   -2 dB/octave) is profiled once, the pipeline is built from ``tonecore.live_match_config``
   and ``Pipeline.live_match`` makes it keep a running profile of its input; a control thread
   calls ``params.update_match()`` every 0.5 s, which moves the EQ towards the match (slew
   limited, after a warm-up), and prints where the match stands. The input blocks then arrive
   at the real-time rate, as from a device.

With ``--device`` and the ``sounddevice`` package installed the playback goes to the default
output device; otherwise a simulated device calls the callback at the block rate.

Usage: python3 bindings/python/examples/stream.py [--seconds 6] [--block 256] [--device]
                                                  [--match REFERENCE]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import threading
import time
from pathlib import Path

import numpy as np

import tonecore

SR = 44100


def simulated_device(callback, block: int, seconds: float, realtime: bool = False) -> None:
    """Calls ``callback(outdata, frames, time, status)`` like an output stream would."""
    out = np.zeros((block, 2), np.float32)
    for _ in range(int(seconds * SR / block)):
        callback(out, block, None, None)
        if realtime:
            time.sleep(block / SR)


def playback(seconds: float, block: int, device: bool) -> None:
    t = np.arange(int(seconds * SR)) / SR
    track = np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 330 * t)]) * 0.2
    config = tonecore.PipelineConfig(eq_gains=np.linspace(2, -2, 25), limiter=-1.0)
    with tonecore.PlaybackStream(track.astype(np.float32), SR, config,
                                 chunk_seconds=2.0) as stream:
        time.sleep(0.2)  # let the worker render the first chunk ahead

        def callback(outdata, frames, time_info, status):
            stream.read(frames, out=outdata)  # interleaved (frames, 2) float32, never blocks

        seeker = threading.Timer(seconds / 4, stream.seek, args=(seconds / 2,))
        seeker.start()
        if device:
            import sounddevice as sd

            with sd.OutputStream(samplerate=SR, channels=2, dtype="float32",
                                 blocksize=block, callback=callback):
                time.sleep(seconds * 0.75)
        else:
            simulated_device(callback, block, seconds * 0.75, realtime=False)
        seeker.join()
        stats = stream.stats()
    print(f"playback: {stats['frames_read']} frames read, {stats['underrun_frames']} of them "
          f"silence (not rendered yet), {stats['seeks']} seek, {stats['chunks_rendered']} chunks "
          f"rendered")


def live(seconds: float, block: int) -> None:
    rng = np.random.default_rng(1)
    # Live input has no end to measure: the momentary leveller rides its loudness.
    config = tonecore.PipelineConfig(eq_gains=np.zeros(25),
                                     level={"target_lufs": -20.0, "mode": "momentary"},
                                     limiter=-1.0, low_latency=True)
    with tonecore.Pipeline(SR, 2, config, max_block=block) as pipeline:
        params = pipeline.params
        stop = threading.Event()

        def ui_thread():
            gain = 0.0
            while not stop.wait(0.01):
                gain = (gain + 1.0) % 7.0
                params.set_eq_gains(np.full(25, gain - 3.0))  # crossfades on the audio side

        ui = threading.Thread(target=ui_thread)
        ui.start()
        out = np.empty((2, block), np.float32)
        worst = 0.0
        for _ in range(int(seconds * SR / block)):
            mic = (rng.standard_normal((2, block)) * 0.05).astype(np.float32)  # "input"
            t0 = time.perf_counter()
            pipeline.process(mic, out=out)
            worst = max(worst, time.perf_counter() - t0)
        stop.set()
        ui.join()
        stats = params.stats()
    print(f"live: {stats['frames']} frames through EQ -> level -> limiter, latency "
          f"{pipeline.latency} frames ({pipeline.latency / SR * 1e3:.1f} ms, low-latency mode), "
          f"worst block {worst * 1e6:.0f} us of its "
          f"{block / SR * 1e6:.0f} us period, level gain {stats['level_gain_db']:+.1f} dB")


def load_reference(spec: str) -> tonecore.Profile:
    """The profile of ``--match``'s reference: an audio file, or ``demo``."""
    if spec == "demo":
        # 8 s of stereo noise tilted -2 dB/octave around 1 kHz (brighter low end than white).
        frames = 8 * SR
        spec_ = np.fft.rfft(np.random.default_rng(7).uniform(-1, 1, (2, frames)), axis=1)
        f = np.maximum(np.fft.rfftfreq(frames, 1 / SR), 1.0)
        x = np.fft.irfft(spec_ * 10 ** (-2.0 * np.log2(f / 1000) / 20), frames, axis=1)
        x *= 0.1 / np.sqrt(np.mean(x * x))
        return tonecore.profile(x.astype(np.float32), SR)
    path = Path(spec)
    if not path.is_file():
        sys.exit(f"stream.py: reference file not found: {path}")
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises its own error types
        sys.exit(f"stream.py: cannot read {path}: {e}")
    return tonecore.profile(np.ascontiguousarray(data.T), rate)  # any rate, any channels


def balance_error(x: np.ndarray, reference: tonecore.Profile) -> float:
    """RMS difference (dB, mean removed) between the long-term spectrum of planar ``x`` and
    the reference's over 100 Hz - 10 kHz."""
    with tonecore.profile(np.ascontiguousarray(x), SR) as p:
        d = p.spectrum_db - reference.spectrum_db
    band = (reference.centers >= 100) & (reference.centers <= 10000) & np.isfinite(d)
    d = d[band] - d[band].mean()
    return float(np.sqrt(np.mean(d * d)))


def live_match(seconds: float, block: int, reference: tonecore.Profile) -> None:
    rng = np.random.default_rng(1)
    # A flat EQ on the profile grid, the momentary leveller at the reference's loudness and the
    # true-peak limiter at -1 dBTP.
    config = dataclasses.replace(tonecore.live_match_config(reference, SR), low_latency=True)
    frames = int(seconds * SR / block) * block
    recorded_in = np.empty((2, frames), np.float32)  # kept to measure the balance at the end
    recorded_out = np.empty((2, frames), np.float32)
    y = np.empty((2, block), np.float32)
    with tonecore.Pipeline(SR, 2, config, max_block=block) as pipeline:
        # Faster than the defaults (10 s average, 1 dB/s, 3 s warm-up) so a short demo settles.
        pipeline.live_match(reference, time_constant_s=4.0, max_slew_db_per_s=3.0, warmup_s=1.0)
        params = pipeline.params
        stop = threading.Event()
        updates = []

        def control_thread():
            while not stop.wait(0.5):  # a host's timer: any thread, every 0.25-1 s
                state = params.update_match()
                updates.append(state)
                g = state["gains_db"]
                print(f"  {state['analysed_s']:4.1f} s analysed: "
                      f"{'active' if state['active'] else 'warming up'}, EQ "
                      f"{g.min():+5.1f} .. {g.max():+5.1f} dB, furthest from its target "
                      f"{np.abs(state['target_db'] - g).max():4.1f} dB", flush=True)

        control = threading.Thread(target=control_thread)
        control.start()
        start = time.perf_counter()
        try:
            for k in range(frames // block):
                # input blocks arrive at the device's rate
                time.sleep(max(0.0, start + k * block / SR - time.perf_counter()))
                x = (rng.standard_normal((2, block)) * 0.05).astype(np.float32)  # white "input"
                pipeline.process(x, out=y)
                recorded_in[:, k * block:(k + 1) * block] = x
                recorded_out[:, k * block:(k + 1) * block] = y
        finally:
            stop.set()
            control.join()
        state = params.update_match()
    tail = min(frames, 2 * SR)
    before = balance_error(recorded_in[:, -tail:], reference)
    after = balance_error(recorded_out[:, -tail:], reference)
    print(f"live match: {frames} frames, {len(updates)} updates, "
          f"{'active' if state['active'] else 'not active'}, outcome {state['outcome']}; "
          f"balance off the reference by {before:.1f} dB RMS at the input, {after:.1f} dB at "
          f"the output (last {tail / SR:.0f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--device", action="store_true", help="play through sounddevice")
    ap.add_argument("--match", metavar="REFERENCE",
                    help="live-match the input to this audio file ('demo': a built-in one)")
    args = ap.parse_args()
    reference = load_reference(args.match) if args.match else None
    playback(args.seconds, args.block, args.device)
    if reference is None:
        live(args.seconds, args.block)
    else:
        with reference:
            live_match(args.seconds, args.block, reference)


if __name__ == "__main__":
    main()
