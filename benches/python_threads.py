#!/usr/bin/env python3
"""Python threads running tonecore in parallel: wall time of N threads each processing its own
buffer, divided by one thread processing one buffer (1.0 = perfect scaling on N free cores,
N = fully serialised, e.g. by a held GIL). One run, best of --repeat for each figure.

Usage: python3 benches/python_threads.py [--seconds 60] [--repeat 5] [--threads 2]

Workloads, each on stereo 44.1 kHz float32 noise, one buffer and one object per thread:
- ``equalize(threads=1)``: one long native call per thread (25 critical bands);
- ``Equalizer.process`` in 4096-frame blocks: a Python loop with one native call per block;
- ``Equalizer.process`` in 256-frame blocks: the same with real-time sized blocks, where the
  Python-side cost of each call (argument checks, ctypes) runs under the GIL;
- ``Pipeline.process`` in 256-frame blocks (EQ -> level -> limiter).
For ``equalize`` it also runs the same work in N separate processes (no shared GIL): that
ratio is what the machine allows at that moment (other load, shared memory bandwidth), the
ceiling the threads are measured against. Also prints the per-call time of a 256-frame
``Pipeline.process`` from Python.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import numpy as np

import tonecore

SR = 44_100
GAINS = np.linspace(-6, 6, 25)


def wall(jobs) -> float:
    barrier = threading.Barrier(len(jobs) + 1)
    ends = []

    def run(job):
        barrier.wait()
        job()
        ends.append(time.perf_counter())

    threads = [threading.Thread(target=run, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return max(ends) - start


CHILD = textwrap.dedent(
    """
    import os, sys, time, numpy as np, tonecore
    seconds, seed, go = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    x = np.random.default_rng(seed).uniform(-0.5, 0.5, (2, int(seconds * 44100)))
    x = x.astype(np.float32); out = np.empty_like(x); gains = np.linspace(-6, 6, 25)
    tonecore.equalize(x, 44100, gains, threads=1, out=out)
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.0005)
    t = time.perf_counter()
    tonecore.equalize(x, 44100, gains, threads=1, out=out)
    print(time.perf_counter() - t, flush=True)
    """
)


def processes_wall(n: int, seconds: float, folder: str, tag: str) -> float:
    """Wall time of n processes each equalizing its own buffer, started together."""
    go = os.path.join(folder, f"go-{tag}")
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(seconds), str(i), go],
                              stdout=subprocess.PIPE, text=True) for i in range(n)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    open(go, "w").close()
    return max(float(p.communicate()[0]) for p in procs)


_BLOCKS: dict = {}


def blocks_job(make, x, block):
    """Process x block by block; the blocks are cut (C-contiguous) once, outside the timing."""
    key = (id(x), block)
    if key not in _BLOCKS:
        nb = x.shape[1] // block
        _BLOCKS[key] = np.ascontiguousarray(
            x[:, :nb * block].reshape(x.shape[0], nb, block).transpose(1, 0, 2))
    blocks = _BLOCKS[key]

    def job():
        with make() as obj:
            out = np.empty(blocks.shape[1:], np.float32)
            for b in blocks:
                obj.process(b, out=out)
    return job


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    n = args.threads
    frames = int(args.seconds * SR)
    rng = np.random.default_rng(0)
    xs = [rng.uniform(-0.5, 0.5, (2, frames)).astype(np.float32) for _ in range(n)]
    outs = [np.empty_like(x) for x in xs]
    cfg = tonecore.PipelineConfig(eq_gains=GAINS, level=tonecore.LevelConfig(), limiter=-1.0)

    def eq_obj(block):
        return lambda: tonecore.Equalizer(SR, 2, gains_db=GAINS, max_block=block)

    def pipe_obj(block):
        return lambda: tonecore.Pipeline(SR, 2, cfg, max_block=block)

    workloads = {
        "equalize(threads=1), whole buffer": lambda i: (
            lambda: tonecore.equalize(xs[i], SR, GAINS, threads=1, out=outs[i])),
        "Equalizer.process, 4096-frame blocks": lambda i: blocks_job(eq_obj(4096), xs[i], 4096),
        "Equalizer.process, 256-frame blocks": lambda i: blocks_job(eq_obj(256), xs[i], 256),
        "Pipeline.process, 256-frame blocks": lambda i: blocks_job(pipe_obj(256), xs[i], 256),
    }
    print(f"{os.cpu_count()} cores, {n} threads, {args.seconds:g} s stereo per thread, "
          f"best of {args.repeat}")
    print(f"{'workload':40s} {'1 thread':>10s} {f'{n} threads':>10s} {'ratio':>7s}")
    for name, make in workloads.items():
        make(0)()  # warm-up
        best = None
        for _ in range(args.repeat):
            one = wall([make(0)])
            many = wall([make(i) for i in range(n)])
            if best is None or many / one < best[2]:
                best = (one, many, many / one)
        one, many, ratio = best
        print(f"{name:40s} {one:9.3f}s {many:9.3f}s {ratio:6.2f}x")

    with tempfile.TemporaryDirectory() as folder:
        best = None
        for rep in range(args.repeat):
            one = processes_wall(1, args.seconds, folder, f"{rep}-1")
            many = processes_wall(n, args.seconds, folder, f"{rep}-n")
            if best is None or many / one < best[2]:
                best = (one, many, many / one)
        one, many, ratio = best
        print(f"{'equalize, separate processes (ceiling)':40s} {one:9.3f}s {many:9.3f}s "
              f"{ratio:6.2f}x")

    # per-call cost of a 256-frame Pipeline.process from Python (one thread)
    block = np.ascontiguousarray(xs[0][:, :256])
    out = np.empty_like(block)
    with tonecore.Pipeline(SR, 2, cfg, max_block=256) as p:
        calls = 20_000
        best_call = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            for _ in range(calls):
                p.process(block, out=out)
            best_call = min(best_call, (time.perf_counter() - t0) / calls)
    print(f"Pipeline.process, one 256-frame stereo block from Python: {best_call * 1e6:.1f} us "
          f"per call")


if __name__ == "__main__":
    main()
