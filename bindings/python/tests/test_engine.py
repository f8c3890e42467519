"""tonecore.Engine: keyed streams that play exactly what render_chunked renders (and an EQ-less
index ramp frame for frame through pause and seek), replacement and the cap, jobs equal to
render_chunked with progress events and cancellation, contained callbacks, stats, bad input
(stale and foreign ids, double close, bad settings, None callbacks, unknown tokens, every call
after close), close while other threads are inside calls, and the race stress tests of the
engine issue run from Python threads (ctypes releases the GIL, so they run in parallel):
replace storm, cap storm, start race, disconnect storm, callback race and stats race, each
with its invariants.

``TONECORE_STRESS_ROUNDS=<n>`` multiplies the stress rounds (default 1, about 10 s in all).
"""

from __future__ import annotations

import ctypes
import gc
import os
import pickle
import re
import threading
import time
import warnings
from typing import Any, Dict, List

import numpy as np
import pytest

import tonecore
from tonecore import _native

SR = 44_100
ROUNDS = max(1, int(os.environ.get("TONECORE_STRESS_ROUNDS", "1") or "1"))
EQ = tonecore.PipelineConfig(eq_gains=(np.arange(25) % 5) - 2.0)
GEOMETRY = dict(chunk_seconds=1.0, context_seconds=0.1, crossfade_seconds=0.05)
# Tiny chunks for open/close storms: a stream's worker has little to do.
TINY = dict(chunk_seconds=0.05, context_seconds=0.0, crossfade_seconds=0.005)


def noise(shape, seed, dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype)


def read_track(stream: tonecore.Stream, frames: int, block: int = 256,
               timeout: float = 60.0) -> np.ndarray:
    """``frames`` frames that come from the track (interleaved), waiting out underruns."""
    got = []
    n = 0
    deadline = time.monotonic() + timeout
    while n < frames:
        want = min(block, frames - n)
        out = stream.read(want)
        k = stream.last_read_frames
        assert 0 <= k <= want
        assert not np.any(out[k:]), "frames after last_read_frames must be silence"
        got.append(out[:k].copy())
        n += k
        if k < want:
            assert time.monotonic() < deadline, "stream stalled"
            time.sleep(0.001)
    return np.concatenate(got)


def native_threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


def settle_threads(want: int, seconds: float = 5.0) -> int:
    """Poll the native thread count until it is ``want`` (joined threads may take a moment to
    leave /proc)."""
    deadline = time.monotonic() + seconds
    while True:
        now = native_threads()
        if now == want or time.monotonic() > deadline:
            return now
        time.sleep(0.005)


def stable_threads(quiet: float = 0.1, seconds: float = 5.0) -> int:
    """The native thread count once it has not changed for ``quiet`` seconds (threads that
    earlier tests joined may still be leaving /proc)."""
    gc.collect()
    deadline = time.monotonic() + seconds
    last, since = native_threads(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.005)
        now = native_threads()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def resident_kb() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_threads(n: int, target, *args) -> List[Any]:
    """Run ``target(i, *args)`` on ``n`` threads; re-raise the first failure; results by i."""
    results: List[Any] = [None] * n
    errors: List[BaseException] = []

    def body(i: int) -> None:
        try:
            results[i] = target(i, *args)
        except BaseException as e:  # noqa: BLE001 - re-raised below
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def engine():
    with tonecore.Engine(max_streams=4, worker_threads=2, cache_bytes=64 << 20) as e:
        yield e


def check_stats_invariants(s: Dict[str, int]) -> None:
    assert s["streams_open"] <= s["max_streams"], s
    assert s["streams_peak"] <= s["max_streams"], s
    assert s["streams_open"] == s["streams_opened"] - s["streams_replaced"] - s["streams_closed"], s
    assert s["jobs_running"] <= s["jobs_held"], s
    assert s["jobs_submitted"] == (
        s["jobs_running"] + s["jobs_done"] + s["jobs_cancelled"] + s["jobs_failed"]), s
    assert s["cache_bytes"] <= s["cache_capacity"], s


# -- streams ------------------------------------------------------------------------------


def test_a_stream_plays_what_render_chunked_renders(engine):
    x = noise((2, 3 * SR + 123), 3)
    reference = tonecore.render_chunked(x, SR, EQ, **GEOMETRY)  # tested against numpy elsewhere
    stream = engine.open_stream(7, x, SR, EQ, **GEOMETRY)
    assert (stream.key, stream.channels, stream.frames, stream.sample_rate) == (7, 2, x.shape[1], SR)
    assert stream.dtype == np.float64 and stream.duration == x.shape[1] / SR
    assert stream.config == EQ and stream.engine is engine
    assert engine.stream_for_key(7) is stream
    assert engine.stream_for_key(8) is None
    y = read_track(stream, x.shape[1], block=300)
    assert y.shape == (x.shape[1], 2)
    assert np.max(np.abs(y - reference.T)) <= 1e-9
    s = stream.stats()
    assert s["position"] == x.shape[1] and s["seeks"] == 0 and s["paused"] == 0
    assert s["frames_read"] >= x.shape[1]
    tail = stream.read(64)
    assert stream.last_read_frames == 0 and not np.any(tail)
    # out= is written in place
    buf = np.full((32, 2), 7.0)
    assert stream.read(32, out=buf) is buf and not np.any(buf)
    buf[:] = 7.0
    assert stream.read_into(buf) == 0 and not np.any(buf)
    for bad, exc in [(np.zeros((32, 3)), ValueError), (np.zeros(64), ValueError),
                     (np.zeros((32, 2), np.float32), TypeError), ([0.0] * 64, TypeError),
                     (np.zeros((2, 32)).T, ValueError)]:
        with pytest.raises(exc):
            stream.read_into(bad)
    assert stream.close() is True
    assert engine.stats()["streams_open"] == 0


def test_a_float32_mono_stream_plays_what_render_chunked_renders(engine):
    x = noise(2 * SR + 5, 4, np.float32)
    reference = tonecore.render_chunked(x, SR, EQ, **GEOMETRY)
    with engine.open_stream(1, x, SR, EQ, **GEOMETRY) as stream:
        assert stream.channels == 1 and stream.dtype == np.float32
        y = read_track(stream, x.size, block=1000)
        assert y.shape == (x.size,) and y.dtype == np.float32
        assert np.max(np.abs(y - reference)) <= 1e-6
    assert stream.closed
    with pytest.raises(tonecore.ClosedError):
        stream.read(4)


def test_an_index_ramp_comes_out_frame_for_frame_through_pause_and_seek(engine):
    # No stage enabled: the stream plays the track itself, so every output value names the
    # track frame it came from (channel 1 is the negated ramp).
    n = 2 * SR
    ramp = np.arange(n, dtype=np.float64) / n
    x = np.stack([ramp, -ramp])
    stream = engine.open_stream(3, x, SR, chunk_seconds=0.25, context_seconds=0.0,
                                crossfade_seconds=0.01)

    def frames_of(y: np.ndarray) -> np.ndarray:
        idx = np.rint(y[:, 0] * n).astype(np.int64)
        assert np.max(np.abs(y[:, 0] - idx / n)) < 1e-12
        assert np.array_equal(np.rint(-y[:, 1] * n).astype(np.int64), idx)
        return idx

    first = frames_of(read_track(stream, 10_000, block=333))
    assert np.array_equal(first, np.arange(10_000))
    # Paused: silence, the position stays; resumed: the very next frame.
    stream.pause()
    assert stream.paused
    out = stream.read(500)
    assert stream.last_read_frames == 0 and not np.any(out)
    assert stream.stats()["position"] == 10_000
    stream.paused = False
    assert not stream.paused
    assert np.array_equal(frames_of(read_track(stream, 1000)), np.arange(10_000, 11_000))
    # Seek: after the 5 ms fade-out and fade-in, the frames continue exactly at the target.
    target = 1.5
    stream.seek(target)
    fade = round(5e-3 * SR)
    y = read_track(stream, 4 * fade + 2000, block=100)
    idx = np.rint(y[:, 0] * n).astype(np.int64)
    start = round(target * SR)
    # The tail after both fades is the ramp from somewhere at or after the target, contiguous.
    tail = idx[-1500:]
    assert np.array_equal(tail, np.arange(tail[0], tail[0] + 1500))
    assert np.max(np.abs(y[-1500:, 0] - tail / n)) < 1e-12
    assert start <= tail[0] <= start + 2 * fade + 2000
    assert stream.stats()["seeks"] == 1
    stream.close()


def test_a_seek_before_the_first_read_starts_at_the_target(engine):
    # A host that opens and seeks at once (resuming a track) hears nothing of the track's start:
    # the first frame read is the target's, fading in over 5 ms, then the ramp exactly.
    n = 2 * SR
    ramp = np.arange(n, dtype=np.float64) / n
    stream = engine.open_stream(4, ramp, SR, chunk_seconds=0.25, context_seconds=0.0,
                                crossfade_seconds=0.01)
    time.sleep(0.1)  # the worker has rendered the start meanwhile
    target = round(1.25 * SR)
    stream.seek(target / SR)
    y = read_track(stream, 2000, block=256)
    fade = round(5e-3 * SR)
    # (seams round in the last bits; the old behaviour was 221 frames, 2.5e-3, behind)
    assert np.max(np.abs(y[fade:] - ramp[target + fade:target + 2000])) < 1e-12
    assert np.all(y[:fade] <= ramp[target:target + fade]) and y[fade - 1] > 0.5
    assert stream.stats()["position"] == target + 2000
    stream.close()


def test_opening_a_key_again_replaces_its_stream(engine):
    x = noise((2, SR), 1)
    seen: List[tonecore.EngineEvent] = []
    token = engine.subscribe(seen.append, events={"stream_opened", "stream_closed"})
    a = engine.open_stream(1, x, SR, chunk_seconds=0.5)
    b = engine.open_stream(1, x, SR, chunk_seconds=0.5)
    assert a.id != b.id
    with pytest.raises(tonecore.StaleHandle) as info:
        a.read(64)
    assert info.value.status == 104
    for call in (lambda: a.seek(0.0), a.pause, a.resume, a.stats):
        with pytest.raises(tonecore.StaleHandle):
            call()
    assert not a.alive and b.alive
    assert a.close() is False  # a stale id never closes the key's newer stream
    assert engine.stream_for_key(1) is b
    b.read(64)
    assert engine.stats()["streams_open"] == 1
    engine.flush_events()
    assert [(e.kind, e.id, e.key, e.replaced) for e in seen] == [
        ("stream_opened", a.id, 1, False),
        ("stream_closed", a.id, 1, True),
        ("stream_opened", b.id, 1, False),
    ]
    assert all(e.seq < f.seq for e, f in zip(seen, seen[1:]))
    engine.unsubscribe(token)
    s = engine.stats()
    assert (s["streams_opened"], s["streams_replaced"]) == (2, 1)


def test_the_cap_refuses_at_once_or_waits_for_a_slot():
    x = noise((2, SR), 1)
    with tonecore.Engine(max_streams=2, worker_threads=1) as engine:
        a = engine.open_stream(1, x, SR, chunk_seconds=0.5)
        engine.open_stream(2, x, SR, chunk_seconds=0.5)  # dropped at once: closed again
        assert engine.stream_for_key(2) is None and engine.stats()["streams_open"] == 1
        keep = engine.open_stream(2, x, SR, chunk_seconds=0.5)
        with pytest.raises(tonecore.Busy) as info:
            engine.open_stream(3, x, SR, chunk_seconds=0.5)
        assert info.value.status == 103
        with pytest.raises(tonecore.Busy):
            engine.open_stream(3, x, SR, chunk_seconds=0.5, timeout=0)
        # replacing a key at the cap needs no free slot
        a2 = engine.open_stream(1, x, SR, chunk_seconds=0.5)
        with pytest.raises(tonecore.StaleHandle):
            a.read(2)
        with pytest.raises(tonecore.Busy):
            engine.open_stream(3, x, SR, chunk_seconds=0.5, timeout=0.03)
        closer = threading.Timer(0.05, a2.close)
        closer.start()
        c = engine.open_stream(3, x, SR, chunk_seconds=0.5, timeout=30.0)
        closer.join()
        c.read(2)
        s = engine.stats()
        assert (s["streams_open"], s["busy_refusals"], s["streams_peak"]) == (2, 3, 2)
        assert s["streams_closed"] == 2  # the dropped stream and a2
        del keep


def test_two_threads_reading_one_stream_get_concurrent_use_and_nothing_breaks(engine):
    n = 3 * SR
    ramp = np.arange(n, dtype=np.float64) / n
    stream = engine.open_stream(5, ramp, SR, chunk_seconds=0.5, context_seconds=0.0)
    barrier = threading.Barrier(2)
    conflicts = [0]
    got: List[np.ndarray] = []
    lock = threading.Lock()

    def reader(t):
        barrier.wait()
        out = np.empty(1024)
        for _ in range(20_000):
            if conflicts[0] >= 5:
                return
            try:
                k = stream.read_into(out)  # the count is per call, not per object
            except tonecore.ConcurrentUse as e:
                assert e.status == 100
                with lock:
                    conflicts[0] += 1
                continue
            assert not np.any(out[k:])
            with lock:
                got.append(np.rint(out[:k] * n).astype(np.int64))

    run_threads(2, reader)
    assert conflicts[0] >= 1
    # Each read delivered a run of consecutive track frames, and no frame went out twice.
    assert all(np.array_equal(g, np.arange(g[0], g[0] + g.size)) for g in got if g.size)
    frames = np.concatenate(got) if got else np.empty(0, np.int64)
    assert frames.size > 0 and len(np.unique(frames)) == len(frames)
    assert stream.alive
    stream.read(16)


# -- jobs ---------------------------------------------------------------------------------


def test_a_job_renders_like_render_chunked_and_reports_progress(engine):
    x = noise((2, 4 * SR + 77), 9)
    reference = tonecore.render_chunked(x, SR, EQ, **GEOMETRY)
    events: List[tonecore.EngineEvent] = []
    token = engine.subscribe(events.append, events=["job_progress", "job_finished"])
    job = engine.submit_render(x, SR, EQ, **GEOMETRY)
    assert job.key is None and job.shape == x.shape and job.dtype == np.float64
    assert job.wait() is True
    p = job.progress
    assert (p.done, p.total, p.state, p.status) == (5, 5, "done", 0) and p.fraction == 1.0
    assert job.state == "done"
    y = job.result()
    assert y.shape == x.shape and y.dtype == x.dtype
    assert np.max(np.abs(y - reference)) <= 1e-12
    assert job.result() is y  # kept by the Job after taking
    with pytest.raises(tonecore.StaleHandle):
        job.progress  # taken: the id is stale
    assert job.release() is False
    engine.flush_events()
    engine.unsubscribe(token)
    assert [e.done for e in events if e.kind == "job_progress"] == [1, 2, 3, 4, 5]
    assert all(e.id == job.id and e.key == 0 for e in events)
    assert all(e.total == 5 for e in events if e.kind == "job_progress")
    last = events[-1]
    assert (last.kind, last.job_state, last.job_status) == ("job_finished", "done", 0)

    # The same input again is served from the chunk cache, equal to the first result.
    before = engine.stats()
    out = np.empty_like(x)
    with engine.submit_render(x, SR, EQ, **GEOMETRY) as again:
        assert again.result(out=out) is out
    assert np.array_equal(out, y)
    after = engine.stats()
    assert after["cache_hits"] - before["cache_hits"] == 5
    assert after["chunks_rendered"] == before["chunks_rendered"]
    assert (after["jobs_submitted"], after["jobs_done"], after["jobs_held"]) == (2, 2, 0)
    engine.clear_cache()
    assert engine.stats()["cache_entries"] == 0 and engine.stats()["cache_bytes"] == 0


def test_a_float32_job_and_cancellation_and_timeouts():
    x = noise(60 * SR, 2, np.float32)
    with tonecore.Engine(max_streams=1, worker_threads=1, cache_bytes=0) as engine:
        job = engine.submit_render(x, SR, EQ, key=5, chunk_seconds=0.5, context_seconds=0.1,
                                   content_id=11)
        assert job.key == 5
        with pytest.raises(tonecore.AlreadyRunning) as info:
            engine.submit_render(x, SR, EQ, key=5, chunk_seconds=0.5, context_seconds=0.1)
        assert info.value.status == 105
        assert info.value.existing_id == job.id and info.value.job is job
        assert job.wait(timeout=0) in (False, True)
        job.cancel()
        assert job.wait(timeout=30.0) is True
        assert job.state == "cancelled" and job.progress.status == 102
        with pytest.raises(tonecore.Cancelled):
            job.result()
        with pytest.raises(tonecore.StaleHandle):  # taking removed it
            job.cancel()
        assert job.release() is False
        # A wait that runs out, then release (which cancels).
        job = engine.submit_render(x, SR, EQ, key=5, chunk_seconds=0.5, context_seconds=0.1)
        assert job.wait(timeout=0.001) is False
        with pytest.raises(tonecore.Timeout) as t:
            job.result(timeout=0.001)
        assert isinstance(t.value, TimeoutError)
        assert job.release() is True
        assert job.release() is False
        with pytest.raises(tonecore.StaleHandle):
            job.wait()
        s = engine.stats()
        # A released job still stopping keeps its place (held) until it ends, within a block.
        assert s["jobs_submitted"] == 2 and s["jobs_held"] == s["jobs_running"] <= 1
        _wait_jobs_idle(engine)
        s = engine.stats()
        assert s["jobs_running"] == 0 and s["jobs_cancelled"] == 2 and s["jobs_held"] == 0


def _wait_jobs_idle(engine: tonecore.Engine) -> None:
    deadline = time.monotonic() + 30
    while engine.stats()["jobs_running"] and time.monotonic() < deadline:
        time.sleep(0.001)


def test_dropping_a_job_releases_it():
    x = noise(60 * SR, 2, np.float32)
    with tonecore.Engine(max_streams=1, worker_threads=1, max_jobs=2) as engine:
        engine.submit_render(x, SR, EQ, chunk_seconds=0.5, context_seconds=0.1)  # dropped
        gc.collect()
        _wait_jobs_idle(engine)  # the released job holds its place until it has stopped
        assert engine.stats()["jobs_held"] == 0
        a = engine.submit_render(x[:1000], SR)
        b = engine.submit_render(x[:1000], SR)
        with pytest.raises(tonecore.Busy):
            engine.submit_render(x[:1000], SR)
        a.result(), b.result()
        assert engine.stats()["jobs_held"] == 0


# -- callbacks ----------------------------------------------------------------------------


def test_callbacks_are_contained_counted_and_can_unsubscribe_themselves(engine):
    x = noise((2, 1000), 1)

    def bad(event):
        raise ValueError("a host callback fails")

    calls = []
    inside: Dict[str, Any] = {}
    own = [0]

    def once(event):
        calls.append(event)
        with pytest.raises(tonecore.ConcurrentUse):
            engine.flush_events()
        with pytest.raises(tonecore.ConcurrentUse):
            engine.close()
        inside["stats"] = engine.stats()  # other calls work from a callback
        engine.unsubscribe(own[0])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        engine.subscribe(bad)
        own[0] = engine.subscribe(once, events="stream_opened")
        streams = [engine.open_stream(k, x, SR, **TINY) for k in range(3)]
        engine.flush_events()
    assert len(calls) == 1, "called after unsubscribing itself"
    assert inside["stats"]["subscriptions"] == 2
    assert not engine.closed
    runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(runtime) == 1 and "ValueError" in str(runtime[0].message)
    with pytest.raises(tonecore.StaleHandle):
        engine.unsubscribe(own[0])
    s = engine.stats()
    assert s["callback_errors"] == 3  # `bad`, once per event
    assert s["callbacks_invoked"] == 4
    assert s["subscriptions"] == 1
    del streams


def test_stats_has_every_field_of_the_header(engine, repo):
    header = (repo / "include" / "tonecore.h").read_text()
    body = re.search(r"typedef struct tonecore_engine_stats \{(.*?)\} tonecore_engine_stats;",
                     header, re.S).group(1)
    fields = re.findall(r"^\s*(?:uint64_t|size_t)\s+(\w+);", body, re.M)
    assert fields[0] == "struct_size"
    s = engine.stats()
    assert list(s) == fields[1:]
    assert all(isinstance(v, int) for v in s.values())
    assert s["max_streams"] == 4 == engine.max_streams
    assert s["cache_capacity"] == 64 << 20 == engine.cache_capacity


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [
    dict(max_streams=0), dict(max_streams=5000), dict(max_jobs=0), dict(max_jobs=70_000),
    dict(worker_threads=100_000),
])
def test_bad_engine_settings_are_refused(kwargs):
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.Engine(**kwargs)
    assert info.value.status == _native.STATUS_INVALID_ARGUMENT


@pytest.mark.parametrize("kwargs,exc", [
    (dict(max_streams=-1), ValueError), (dict(max_streams=2.0), TypeError),
    (dict(max_streams=True), TypeError), (dict(cache_bytes=-5), ValueError),
    (dict(worker_threads="2"), TypeError),
])
def test_engine_argument_types(kwargs, exc):
    with pytest.raises(exc):
        tonecore.Engine(**kwargs)


def test_bad_stream_and_job_arguments_change_nothing(engine):
    x = noise((2, 1000), 1)
    bad_audio = [
        (x.astype(np.int16), TypeError), (x.astype(np.complex128), TypeError),
        (x.astype(np.float16), TypeError), (x.tolist(), TypeError),
        (x[None], ValueError), (x[:, ::2], ValueError),
    ]
    for audio, exc in bad_audio:
        with pytest.raises(exc):
            engine.open_stream(1, audio, SR)
        with pytest.raises(exc):
            engine.submit_render(audio, SR)
    for call, exc in [
        (lambda: engine.open_stream(1, np.zeros((0, 10)), SR), tonecore.InvalidArgument),
        (lambda: engine.open_stream(1, x, 0), tonecore.InvalidArgument),
        (lambda: engine.open_stream(-1, x, SR), ValueError),
        (lambda: engine.open_stream(2**64, x, SR), ValueError),
        (lambda: engine.open_stream(1, x, SR, timeout=-1.0), ValueError),
        (lambda: engine.open_stream(1, x, SR, timeout=float("nan")), tonecore.InvalidArgument),
        (lambda: engine.open_stream(1, x, SR, content_id=0), ValueError),
        (lambda: engine.open_stream(1, x, SR, chunk_seconds=float("nan")),
         tonecore.InvalidArgument),
        (lambda: engine.open_stream(1, x, SR, lookahead_chunks=0), tonecore.InvalidArgument),
        (lambda: engine.open_stream(1, x, SR, "eq"), TypeError),
        (lambda: engine.submit_render(x, SR, key=0), ValueError),
        (lambda: engine.submit_render(x, SR, key=-3), ValueError),
        (lambda: engine.submit_render(x, SR, chunk_seconds=-1.0), tonecore.InvalidArgument),
    ]:
        with pytest.raises(exc):
            call()
    s = engine.stats()
    assert s["streams_opened"] == 0 and s["jobs_submitted"] == 0 and s["busy_refusals"] == 0

    stream = engine.open_stream(1, x, SR, **TINY)
    with pytest.raises(TypeError):
        stream.read(8, out=np.zeros((8, 2), np.float32))
    with pytest.raises(ValueError):
        stream.read(8, out=np.zeros((8, 3)))
    with pytest.raises(ValueError):
        stream.read(-1)
    for t in (float("nan"), -0.5, 1e9):
        with pytest.raises(tonecore.InvalidArgument):
            stream.seek(t)
    with pytest.raises(TypeError):
        stream.seek("1.0")
    job = engine.submit_render(x, SR)
    with pytest.raises(TypeError):
        job.result(out=np.zeros(x.shape, np.float32))
    with pytest.raises(ValueError):
        job.result(out=np.zeros((2, 999)))
    with pytest.raises(ValueError):
        job.wait(timeout=-1)
    assert np.array_equal(job.result(), tonecore.render_chunked(x, SR))
    for obj in (engine, stream, job):
        with pytest.raises(TypeError):
            pickle.dumps(obj)


def test_stale_foreign_and_made_up_ids(engine):
    x = noise((2, 1000), 1)
    stream = engine.open_stream(1, x, SR, **TINY)
    with tonecore.Engine(max_streams=1, worker_threads=1) as other:
        token = other.subscribe(lambda e: None)
        # Another engine's token, and made-up ones, are stale here.
        for t in (token, 0, 12345, 2**64 - 1):
            with pytest.raises(tonecore.StaleHandle):
                engine.unsubscribe(t)
        # Another engine's stream id (through the C ABI: Python objects are bound to their
        # engine) and made-up ids touch nothing.
        ptr = other._c().ptr
        out = np.zeros(4)
        n = ctypes.c_size_t()
        for ident in (stream.id, 0, 1, 2**64 - 1):
            status = _native.lib.tonecore_engine_stream_read_f64(
                ptr, ident, _native.pointer_to(out, ctypes.c_double), 4, ctypes.byref(n))
            assert status == _native.STATUS_STALE_ID
            assert _native.lib.tonecore_engine_stream_close(ptr, ident) == _native.STATUS_STALE_ID
            assert _native.lib.tonecore_engine_job_release(ptr, ident) == _native.STATUS_STALE_ID
        other.unsubscribe(token)
        with pytest.raises(tonecore.StaleHandle):
            other.unsubscribe(token)
    assert stream.alive
    stream.read(4)
    # Double close: True, then False; never an exception.
    assert stream.close() is True and stream.close() is False
    with pytest.raises(ValueError):
        engine.unsubscribe(-1)


def test_none_and_non_callable_callbacks_and_bad_event_names(engine, no_native_calls):
    with no_native_calls():
        for cb in (None, 3, "print"):
            with pytest.raises(TypeError):
                engine.subscribe(cb)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            engine.subscribe(print, events=[])
        with pytest.raises(ValueError):
            engine.subscribe(print, events={"stream_opened", "nope"})
        with pytest.raises(TypeError):
            engine.subscribe(print, events=[1])
        with pytest.raises(TypeError):
            engine.subscribe(print, events=5)


def test_the_c_abi_refuses_a_null_callback(engine):
    token = ctypes.c_uint64(77)
    ptr = engine._c().ptr
    status = _native.lib.tonecore_engine_subscribe(ptr, _native.EVENTS_ALL, _native.EVENT_FN(),
                                                   None, ctypes.byref(token))
    assert status == _native.STATUS_NULL_POINTER and token.value == 77
    keep = _native.EVENT_FN(lambda u, e: 0)
    status = _native.lib.tonecore_engine_subscribe(ptr, 0, keep, None, ctypes.byref(token))
    assert status == _native.STATUS_INVALID_ARGUMENT and token.value == 77
    assert engine.stats()["subscriptions"] == 0


def test_every_call_after_close_raises_closed_error():
    x = noise((2, 1000), 1)
    engine = tonecore.Engine(max_streams=2, worker_threads=1)
    stream = engine.open_stream(1, x, SR, **TINY)
    job = engine.submit_render(noise(20 * SR, 1), SR, EQ, chunk_seconds=0.5,
                               context_seconds=0.1)
    token = engine.subscribe(lambda e: None)
    engine.close()
    assert engine.closed and stream.closed
    engine.close()  # idempotent
    calls = [
        lambda: engine.open_stream(2, x, SR), lambda: engine.submit_render(x, SR),
        lambda: engine.subscribe(print), lambda: engine.unsubscribe(token),
        engine.flush_events, engine.stats, engine.clear_cache,
        lambda: engine.stream_for_key(1), lambda: stream.read(4), lambda: stream.seek(0.0),
        stream.pause, stream.resume, stream.stats, lambda: stream.paused,
        lambda: job.progress, job.cancel, job.wait, job.result, lambda: engine.__enter__(),
        lambda: stream.__enter__(),
    ]
    for call in calls:
        with pytest.raises(tonecore.ClosedError):
            call()
    assert stream.close() is False and job.release() is False and not stream.alive
    # A failed construction leaves nothing to close.
    with pytest.raises(tonecore.InvalidArgument):
        tonecore.Engine(max_streams=0)


def test_close_waits_for_calls_in_flight_on_other_threads():
    x = noise((2, 4410), 1)
    long = noise(60 * SR, 3, np.float32)
    engine = tonecore.Engine(max_streams=2, worker_threads=1, cache_bytes=0)
    streams = [engine.open_stream(k, x, SR, **TINY) for k in range(2)]
    job = engine.submit_render(long, SR, EQ, chunk_seconds=0.5, context_seconds=0.1)
    stop = threading.Event()
    outcomes: Dict[str, Any] = {}
    started = threading.Barrier(5)

    def hammer(name, call):
        started.wait()
        n = 0
        try:
            while True:
                call()
                n += 1
        except tonecore.ClosedError:
            outcomes[name] = n
        except BaseException as e:  # noqa: BLE001
            outcomes[name] = e

    def waiter():
        started.wait()
        try:
            # at the cap: waits for a slot until close frees them
            engine.open_stream(9, x, SR, **TINY, timeout=60.0)
            outcomes["open"] = "opened"
        except (tonecore.ClosedError, tonecore.Busy) as e:
            outcomes["open"] = type(e).__name__

    def job_waiter():
        started.wait()
        try:
            job.wait()
            outcomes["job"] = "ended"
        except tonecore.ClosedError:
            outcomes["job"] = "closed"

    threads = [
        threading.Thread(target=hammer, args=("stats", engine.stats)),
        threading.Thread(target=hammer, args=("read", lambda: streams[0].read(64))),
        threading.Thread(target=waiter), threading.Thread(target=job_waiter),
    ]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.05)
    engine.close()
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    stop.set()
    assert isinstance(outcomes["stats"], int) and isinstance(outcomes["read"], int), outcomes
    assert outcomes["open"] in ("opened", "ClosedError", "Busy")
    assert outcomes["job"] in ("ended", "closed")


def test_an_unclosed_engine_is_freed_by_its_finalizer_even_from_its_own_callback():
    if native_threads() == 0:
        pytest.skip("no /proc/self/task here")
    x = noise((2, 1000), 1)
    baseline = stable_threads()
    # Dropped with a live stream, a held job and a subscription: the finalizer closes it.
    seen: List[tonecore.EngineEvent] = []
    engine = tonecore.Engine(max_streams=2, worker_threads=2)
    stream = engine.open_stream(1, x, SR, **TINY)
    sid = stream.id
    job = engine.submit_render(x, SR)
    engine.subscribe(seen.append)
    del engine
    assert native_threads() > baseline  # the stream and the job keep it alive
    del stream, job
    gc.collect()
    assert settle_threads(baseline) == baseline
    # events queued at the close were still delivered
    assert any(e.kind == "stream_closed" and e.id == sid for e in seen)

    # The last reference dropped inside the engine's own callback, on its dispatcher
    # thread: the close is handed to another thread instead of waiting for itself.
    holder = [tonecore.Engine(max_streams=2, worker_threads=1)]
    ready, dropped = threading.Event(), threading.Event()

    def drop(event):
        ready.wait(30)  # until the test thread holds no reference any more
        holder.clear()
        dropped.set()

    holder[0].subscribe(drop, events="stream_opened")
    holder[0].open_stream(1, x, SR, **TINY)  # dropped at once: opened and closed
    ready.set()
    assert dropped.wait(30)
    assert settle_threads(baseline, 30) == baseline


# -- race stress tests --------------------------------------------------------------------


def test_replace_storm_leaves_exactly_one_controllable_stream():
    x = noise((2, 4410), 1)
    per_thread = 100 * ROUNDS
    barrier = threading.Barrier(16)
    with tonecore.Engine(max_streams=4, worker_threads=1, cache_bytes=8 << 20) as engine:

        def storm(t):
            barrier.wait()
            mine = []
            for i in range(per_thread):
                s = engine.open_stream(42, x, SR, **TINY)
                mine.append(s)
                try:  # control it right away; it may already be replaced (then: stale)
                    s.pause()
                except tonecore.StaleHandle:
                    pass
                if i % 7 == 0:
                    s.close()  # True, or False when already replaced
                assert engine.stats()["streams_open"] <= 1
            return mine

        issued = [s for mine in run_threads(16, storm) for s in mine]
        assert len(issued) == 16 * per_thread
        assert len({s.id for s in issued}) == len(issued), "an id was issued twice"
        last = engine.open_stream(42, x, SR, **TINY)
        s = engine.stats()
        assert s["streams_open"] == 1
        check_stats_invariants(s)
        assert engine.stream_for_key(42) is last
        for old in issued:
            with pytest.raises((tonecore.StaleHandle, tonecore.ClosedError)):
                old.pause()
            assert not old.alive
        last.pause()
        out = last.read(64)
        assert last.last_read_frames == 0 and not np.any(out)
        last.resume()
        last.seek(0.0)
        assert last.close() is True
        assert engine.stats()["streams_open"] == 0


def test_cap_storm_never_exceeds_max_streams_and_frees_every_slot():
    x = noise((2, 4410), 1)
    per_thread = 5 * ROUNDS
    live = [0]
    worst = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(64)
    with tonecore.Engine(max_streams=10, worker_threads=1, cache_bytes=8 << 20) as engine:

        def storm(t):
            barrier.wait()
            busy = 0
            for i in range(per_thread):
                try:
                    s = engine.open_stream(t * 1000 + i, x, SR, **TINY)
                except tonecore.Busy:
                    busy += 1
                    continue
                with lock:
                    live[0] += 1
                    worst[0] = max(worst[0], live[0])
                assert engine.stats()["streams_open"] <= 10
                s.read(2)
                with lock:
                    live[0] -= 1
                assert s.close() is True
            return busy

        busy = sum(run_threads(64, storm))
        assert worst[0] <= 10
        s = engine.stats()
        check_stats_invariants(s)
        assert s["streams_open"] == 0
        assert 1 <= s["streams_peak"] <= 10
        assert s["busy_refusals"] == busy
        assert s["streams_opened"] + s["busy_refusals"] == 64 * per_thread
        # Every slot is free again: ten distinct keys open at once, the eleventh is Busy.
        streams = [engine.open_stream(k, x, SR, **TINY) for k in range(10)]
        with pytest.raises(tonecore.Busy):
            engine.open_stream(99, x, SR, **TINY)
        for st in streams:
            assert st.close() is True


def test_start_race_starts_exactly_one_job_per_key():
    # A 60 s track through an EQ with a large FFT in tiny chunks: every chunk builds its
    # pipeline, so the job runs for seconds while its input stays small (each submission
    # copies it); the content id skips hashing.
    sr = 16_000
    x = noise(60 * sr, 5, np.float32)
    eq = tonecore.PipelineConfig(eq_gains=(np.arange(25) % 5) - 2.0, fft_size=16384)
    kwargs = dict(key=77, content_id=1, chunk_seconds=0.05, context_seconds=0.0,
                  crossfade_seconds=0.005)
    barrier = threading.Barrier(100)
    with tonecore.Engine(max_streams=1, worker_threads=2, cache_bytes=0) as engine:

        def submit(t):
            barrier.wait()
            try:
                return engine.submit_render(x, sr, eq, **kwargs)
            except tonecore.AlreadyRunning as e:
                return e

        results = run_threads(100, submit)
        started = [r for r in results if isinstance(r, tonecore.Job)]
        refused = [r for r in results if isinstance(r, tonecore.AlreadyRunning)]
        assert len(started) == 1, results
        job = started[0]
        assert len(refused) == 99
        assert all(e.existing_id == job.id and e.job is job for e in refused)
        assert engine.stats()["jobs_submitted"] == 1
        assert job.state == "running", "the job ended before the race did (test too short)"
        job.cancel()
        assert job.wait(30.0) and job.state == "cancelled"
        # With the first one over, the key is free again.
        again = engine.submit_render(x[: sr], sr, eq, **kwargs)
        assert again.id != job.id
        assert again.release() is True
        check_stats_invariants(engine.stats())


def test_disconnect_storm_leaks_no_thread_slot_or_memory():
    if native_threads() == 0:
        pytest.skip("no /proc/self/task here")
    x = noise((2, 2205), 1)
    before_engine = stable_threads()
    py_threads = threading.active_count()
    with tonecore.Engine(max_streams=8, worker_threads=2, cache_bytes=1 << 20) as engine:
        # The engine's own threads: two pool workers and the event dispatcher.
        with_engine = settle_threads(before_engine + 3)
        assert with_engine == before_engine + 3

        def storm(n):
            def body(t):
                for i in range(n // 4):
                    s = engine.open_stream(t * 100 + i % 2, x, SR, chunk_seconds=0.01,
                                           context_seconds=0.0, crossfade_seconds=0.001)
                    s.read(64)
                    assert s.close() is True
            run_threads(4, body)

        storm(400)  # warm up the allocator
        rss_before = resident_kb()
        n = 2000 * ROUNDS
        storm(n)
        gc.collect()
        rss_after = resident_kb()
        s = engine.stats()
        assert s["streams_open"] == 0
        assert s["streams_opened"] == s["streams_closed"] == 400 + n
        assert s["cache_bytes"] <= 1 << 20
        assert threading.active_count() == py_threads
        assert settle_threads(with_engine) == with_engine, "stream workers leaked"
        assert rss_after - rss_before < 16 * 1024, (rss_before, rss_after)
        # Every slot is free: max_streams distinct keys open again.
        streams = [engine.open_stream(1000 + k, x, SR, **TINY) for k in range(8)]
        job = engine.submit_render(noise(30 * SR, 2, np.float32), SR, EQ, chunk_seconds=0.5,
                                   context_seconds=0.1)
    # Closing with streams live and a job running joins everything.
    assert settle_threads(before_engine) == before_engine, "the engine left threads behind"
    assert threading.active_count() == py_threads
    del streams, job


def test_callback_race_no_call_after_unsubscribe_no_double_calls_exact_counts():
    x = noise((2, 441), 1)
    with tonecore.Engine(max_streams=8, worker_threads=1, cache_bytes=1 << 20) as engine:
        permanent: List[int] = []
        emitted_before = engine.stats()["events_emitted"]
        engine.subscribe(lambda e: permanent.append(e.seq))
        stop = threading.Event()
        violations: List[str] = []

        def emitter(t):
            i = 0
            while not stop.is_set():
                try:
                    s = engine.open_stream(t * 1_000_000 + i % 2, x, SR, chunk_seconds=0.005,
                                           context_seconds=0.0, crossfade_seconds=0.0005)
                    s.close()
                except tonecore.Busy:
                    pass
                i += 1

        def churner(t):
            i = 0
            while i < 40 * ROUNDS or engine.stats()["events_emitted"] - emitted_before < 300:
                i += 1
                gone = threading.Event()
                last = [0]

                def cb(e, gone=gone, last=last):
                    if gone.is_set():
                        violations.append("called after unsubscribe returned")
                    if last[0] >= e.seq:
                        violations.append("repeated or out of order")
                    last[0] = e.seq

                token = engine.subscribe(cb)
                time.sleep(0.0005)
                engine.unsubscribe(token)
                gone.set()

        emitters = [threading.Thread(target=emitter, args=(t,)) for t in range(3)]
        for t in emitters:
            t.start()
        try:
            run_threads(3, churner)
        finally:
            stop.set()
            for t in emitters:
                t.join()
        engine.flush_events()
        assert violations == []
        emitted = engine.stats()["events_emitted"] - emitted_before
        assert emitted >= 300
        assert len(permanent) == emitted, "the permanent subscriber missed or repeated events"
        assert all(a < b for a, b in zip(permanent, permanent[1:]))
        s = engine.stats()
        assert s["subscriptions"] == 1
        assert s["callback_errors"] == 0


def test_stats_snapshots_stay_consistent_under_load():
    x = noise((2, SR // 2), 6)
    with tonecore.Engine(max_streams=3, worker_threads=2, cache_bytes=8 << 20) as engine:
        stop = threading.Event()

        def worker(t):
            i = 0
            while not stop.is_set():
                try:
                    s = engine.open_stream(t * 10 + i % 3, x, SR, EQ, chunk_seconds=0.25,
                                           context_seconds=0.05, crossfade_seconds=0.01)
                    s.read(512)
                    if i % 2 == 0:
                        s.close()
                except (tonecore.Busy, tonecore.StaleHandle):
                    pass
                if i % 5 == 0:
                    try:
                        job = engine.submit_render(x, SR, EQ, key=t + 1, chunk_seconds=0.25,
                                                   context_seconds=0.05,
                                                   crossfade_seconds=0.01)
                    except (tonecore.AlreadyRunning, tonecore.Busy):
                        pass
                    else:
                        if i % 2 == 0:
                            job.cancel()
                        try:
                            job.result()
                        except tonecore.Cancelled:
                            pass
                i += 1
            return i

        workers = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
        for w in workers:
            w.start()
        prev = engine.stats()
        try:
            for _ in range(400 * ROUNDS):
                s = engine.stats()
                check_stats_invariants(s)
                for name in ("streams_opened", "jobs_submitted", "cache_hits", "frames_rendered",
                             "events_emitted", "underrun_frames", "busy_refusals"):
                    assert prev[name] <= s[name], f"{name} went backwards: {prev} -> {s}"
                prev = s
                time.sleep(0.001)
        finally:
            stop.set()
            for w in workers:
                w.join()
        s = engine.stats()
        check_stats_invariants(s)
        assert s["streams_opened"] > 10 and s["jobs_submitted"] > 0
        assert s["jobs_running"] == 0 and s["jobs_failed"] == 0, s


def test_defaults_are_the_librarys():
    from ctypes import byref

    from tonecore import _native

    c = _native.EngineConfig()
    assert _native.lib.tonecore_engine_config_init(byref(c)) == 0
    with tonecore.Engine() as engine:
        assert engine.max_streams == c.max_streams == 16
        assert engine.stats()["max_streams"] == 16
