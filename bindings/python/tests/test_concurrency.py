"""Threads racing on one Stft: every call succeeds with the right result or raises
ConcurrentUse having written nothing. ctypes releases the GIL during native calls, so the
threads really run inside the library at the same time."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import tonecore

N, HOP, LEN = 1024, 256, 44100 // 2
SENTINEL = 7.0 - 3.0j


def _hammer(shared, jobs, seconds_max=10.0, min_conflicts=5, min_calls=200):
    """Run each job(shared) in its own thread until enough conflicts and calls were seen."""
    stats = {"ok": 0, "conflict": 0, "wrong": [], "other": []}
    lock = threading.Lock()
    stop = threading.Event()
    start = threading.Barrier(len(jobs))

    def worker(job):
        start.wait()
        while not stop.is_set():
            try:
                outcome = job(shared)
            except BaseException as e:  # noqa: BLE001 - recorded and re-raised by the test
                with lock:
                    stats["other"].append(repr(e))
                stop.set()
                return
            with lock:
                if outcome is True:
                    stats["ok"] += 1
                elif outcome == "conflict":
                    stats["conflict"] += 1
                else:
                    stats["wrong"].append(outcome)
                    stop.set()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    deadline = time.monotonic() + seconds_max
    while time.monotonic() < deadline and not stop.is_set():
        with lock:
            if stats["conflict"] >= min_conflicts and stats["ok"] >= min_calls:
                break
        time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    return stats


@pytest.fixture(scope="module")
def signal_and_reference():
    import scipy.signal

    x = np.random.default_rng(11).uniform(-1, 1, LEN)
    w = scipy.signal.get_window("hann", N)
    frames = 1 + (LEN - N) // HOP
    ref = np.stack([np.fft.rfft(x[k * HOP: k * HOP + N] * w) for k in range(frames)])
    return x, ref


def _forward_job(x, ref):
    out = np.empty_like(ref)

    def job(s):
        out.fill(SENTINEL)
        try:
            r = s.forward(x, out=out)
        except tonecore.ConcurrentUse as e:
            assert e.status == 100 and e.detail
            return "conflict" if np.all(out == SENTINEL) else "refused call wrote its output"
        if r is not out:
            return "result is not out"
        err = np.max(np.abs(out - ref)) / np.max(np.abs(ref))
        return True if err <= 1e-12 else f"wrong forward result, rel err {err}"

    return job


def _inverse_job(spec, x):
    out = np.empty((spec.shape[0] - 1) * HOP + N)

    def job(s):
        out.fill(SENTINEL.real)
        try:
            s.inverse(spec, out=out)
        except tonecore.ConcurrentUse:
            return "conflict" if np.all(out == SENTINEL.real) else "refused call wrote its output"
        err = np.max(np.abs(out[N:-N] - x[N:out.size - N]))
        return True if err <= 1e-12 else f"wrong inverse result, abs err {err}"

    return job


@pytest.mark.parametrize("threads", [1, 2])
def test_two_threads_share_one_forward_object(signal_and_reference, threads):
    x, ref = signal_and_reference
    with tonecore.Stft(N, hop=HOP, dtype=np.float64, threads=threads) as s:
        stats = _hammer(s, [_forward_job(x, ref), _forward_job(x, ref)])
        # the object is still fine afterwards
        assert np.max(np.abs(s.forward(x) - ref)) / np.max(np.abs(ref)) <= 1e-12
    assert not stats["other"], stats["other"]
    assert not stats["wrong"], stats["wrong"]
    assert stats["ok"] > 0
    assert stats["conflict"] > 0, "the threads never overlapped inside the library"


def test_forward_and_inverse_race_on_one_object(signal_and_reference):
    x, ref = signal_and_reference
    spec = np.ascontiguousarray(ref)  # numpy's reference spectrum, inverted by tonecore
    with tonecore.Stft(N, hop=HOP, dtype=np.float64, threads=1) as s:
        stats = _hammer(s, [_forward_job(x, ref), _inverse_job(spec, x)])
    assert not stats["other"], stats["other"]
    assert not stats["wrong"], stats["wrong"]
    assert stats["ok"] > 0 and stats["conflict"] > 0


def test_separate_objects_never_conflict(signal_and_reference):
    x, ref = signal_and_reference
    errors = []

    def run():
        try:
            with tonecore.Stft(N, hop=HOP, dtype=np.float64, threads=1) as s:
                for _ in range(100):
                    got = s.forward(x)
                    assert np.max(np.abs(got - ref)) / np.max(np.abs(ref)) <= 1e-12
        except BaseException as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_close_while_another_thread_is_calling(signal_and_reference):
    """close() never frees the object under a running call; later calls raise ClosedError."""
    x, ref = signal_and_reference
    for _ in range(20):
        s = tonecore.Stft(N, hop=HOP, dtype=np.float64, threads=1)
        outcomes = []
        started = threading.Event()

        def run():
            started.set()
            while True:
                try:
                    got = s.forward(x)
                except tonecore.ClosedError:
                    outcomes.append("closed")
                    return
                except BaseException as e:  # noqa: BLE001
                    outcomes.append(repr(e))
                    return
                if np.max(np.abs(got - ref)) / np.max(np.abs(ref)) > 1e-12:
                    outcomes.append("wrong")
                    return

        t = threading.Thread(target=run)
        t.start()
        started.wait()
        time.sleep(0.002)
        s.close()
        t.join(10)
        assert not t.is_alive()
        assert outcomes == ["closed"], outcomes
