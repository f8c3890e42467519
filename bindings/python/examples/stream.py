#!/usr/bin/env python3
"""Live processing in an audio callback, the way sounddevice/PortAudio hosts work.

Two parts:
1. Playback: a ``PlaybackStream`` renders a track through the pipeline ahead of the listener;
   the audio callback only copies rendered frames (``read`` never blocks) and a control
   thread seeks while it plays.
2. Live input: a ``Pipeline`` processes each input block inside the callback while a UI
   thread changes the EQ gains (``PipelineParams`` work from any thread, wait-free).

With ``--device`` and the ``sounddevice`` package installed the playback goes to the default
output device; otherwise a simulated device calls the callback at the block rate.

Usage: python3 bindings/python/examples/stream.py [--seconds 6] [--block 256] [--device]
"""

from __future__ import annotations

import argparse
import threading
import time

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
                                     limiter=-1.0)
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
          f"{pipeline.latency} frames, worst block {worst * 1e6:.0f} us of its "
          f"{block / SR * 1e6:.0f} us period, level gain {stats['level_gain_db']:+.1f} dB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--device", action="store_true", help="play through sounddevice")
    args = ap.parse_args()
    playback(args.seconds, args.block, args.device)
    live(args.seconds, args.block)


if __name__ == "__main__":
    main()
