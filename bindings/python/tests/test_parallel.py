"""Real parallelism: native calls release the GIL, so two Python threads equalizing different
buffers finish in clearly less than twice one thread's time.

This is the one timed test of the suite (the issue asks for it): the ratio is measured in the
same run, repetitions take the best ratio, and the bound (1.8x, where serialised threads give
2x and a quiet 2-core machine ~1.0-1.1x) leaves room for noise. When the bound is missed, the
same work runs in two separate processes (no shared GIL): if they cannot run in parallel
either (>= 1.6x), other processes hold the cores and the test is skipped, otherwise it fails.
The precise numbers come from ``python3 benches/python_threads.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import tonecore

SR = 44100
SECONDS = 30
GAINS = np.linspace(-6, 6, 25)


def equalize_one(x, out):
    tonecore.equalize(x, SR, GAINS, threads=1, out=out)


def run_threads(jobs) -> float:
    """Wall time from a common start until every job finished."""
    barrier = threading.Barrier(len(jobs) + 1)
    done = []

    def worker(job):
        barrier.wait()
        job()
        done.append(time.perf_counter())

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return max(done) - start


CHILD = textwrap.dedent(
    """
    import os, sys, time, numpy as np, tonecore
    seconds, seed, go = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    x = np.random.default_rng(seed).uniform(-0.5, 0.5, (2, seconds * 44100)).astype(np.float32)
    out = np.empty_like(x); gains = np.linspace(-6, 6, 25)
    tonecore.equalize(x, 44100, gains, threads=1, out=out)
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.001)
    t = time.perf_counter()
    tonecore.equalize(x, 44100, gains, threads=1, out=out)
    print(time.perf_counter() - t, flush=True)
    """
)


def process_ratio(tmp_path) -> float:
    """The same work in separate processes (no shared GIL): what this machine allows now."""
    best = float("inf")
    for rep in range(3):
        times = []
        for n in (1, 2):
            go = tmp_path / f"go-{rep}-{n}"
            procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(SECONDS), str(i), str(go)],
                                      stdout=subprocess.PIPE, text=True) for i in range(n)]
            for p in procs:
                assert p.stdout.readline().strip() == "ready"
            go.touch()
            times.append(max(float(p.communicate(timeout=120)[0]) for p in procs))
        best = min(best, times[1] / times[0])
    return best


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_two_threads_equalize_in_parallel(tmp_path):
    rng = np.random.default_rng(5)
    xs = [rng.uniform(-0.5, 0.5, (2, SECONDS * SR)).astype(np.float32) for _ in range(2)]
    outs = [np.empty_like(x) for x in xs]
    equalize_one(xs[0], outs[0])  # warm-up (plans, kernels)

    ratios = []
    for _ in range(5):
        one = run_threads([lambda: equalize_one(xs[0], outs[0])])
        two = run_threads([lambda: equalize_one(xs[0], outs[0]),
                           lambda: equalize_one(xs[1], outs[1])])
        ratios.append(two / one)
        if min(ratios) < 1.4:
            break
    best = min(ratios)
    if best >= 1.8:
        # Missed: is it the GIL, or does the machine not give us two cores right now? Two
        # processes (no shared GIL) doing the same work tell.
        machine = process_ratio(tmp_path)
        if machine >= 1.6:
            pytest.skip(f"no second free core: 2 processes take {machine:.2f}x one, "
                        f"2 threads {best:.2f}x")
    assert best < 1.8, f"2 threads took {best:.2f}x one thread's time (all: {ratios})"

    # and they computed the right thing: equal to the single-threaded results
    for x, out in zip(xs, outs):
        np.testing.assert_array_equal(out, tonecore.equalize(x, SR, GAINS, threads=1))


def test_native_calls_let_other_python_threads_run():
    # While one thread is inside a long native call, the main thread keeps executing Python.
    x = np.random.default_rng(6).uniform(-0.5, 0.5, (2, 60 * SR)).astype(np.float32)
    started, finished = threading.Event(), threading.Event()

    def work():
        started.set()
        tonecore.equalize(x, SR, GAINS, threads=1)
        finished.set()

    t = threading.Thread(target=work)
    t.start()
    started.wait()
    ticks = 0
    while not finished.is_set():
        ticks += 1
    t.join()
    assert ticks > 1000  # a held GIL would allow only a switch-interval's worth of ticks
