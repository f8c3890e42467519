"""Real parallelism: native calls release the GIL, so two Python threads equalizing different
buffers finish in clearly less than twice one thread's time.

This is the one timed test of the suite (the issue asks for it): the ratio is measured in the
same run, repetitions take the best ratio, and the bound (1.8x, where serialised threads give
2x and this machine gives ~1.0-1.1x) leaves room for a noisy shared machine. When the bound is
missed while the load average exceeds the core count (other processes hold the cores), the
test is skipped rather than failed. The precise number comes from
``python3 benches/python_threads.py``.
"""

from __future__ import annotations

import os
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


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_two_threads_equalize_in_parallel():
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
    load = os.getloadavg()[0]
    if best >= 1.8 and load > (os.cpu_count() or 1):
        # Other processes hold the cores: no free core to run in parallel on, so the ratio
        # says nothing about the GIL (on a quiet machine this fails instead).
        pytest.skip(f"machine busy (1-min load {load:.1f}); best ratio {best:.2f}")
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
