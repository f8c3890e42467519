"""tonecore.aio: the asyncio API over the engine.

Every test runs its loop in asyncio debug mode, which raises when a loop object is touched
from a foreign thread (the engine's dispatcher must only use call_soon_threadsafe) and
reports callbacks that hold the loop.
"""

import asyncio
import threading
import time

import numpy as np
import pytest

import tonecore
from tonecore import aio

SR = 48000


def run(coro):
    return asyncio.run(coro, debug=True)


def track(seconds=2.0, channels=2, seed=0):
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((channels, int(seconds * SR)))).astype(np.float32)


def gains(db):
    return np.full(tonecore.BandLayout.critical().bands, db)


# -- streams --------------------------------------------------------------------------------


def test_stream_reads_the_track_and_async_with_closes_it():
    x = track(1.0)

    async def main():
        async with aio.AsyncEngine(max_streams=2) as engine:
            async with await engine.open_stream(1, x, SR, chunk_seconds=0.25) as stream:
                assert engine.stats()["streams_open"] == 1
                got = []
                out = np.empty((4800, 2), np.float32)
                deadline = time.monotonic() + 10
                while sum(len(g) for g in got) < x.shape[1] and time.monotonic() < deadline:
                    n = stream.read_into(out)
                    got.append(out[:n].copy())
                    if n < len(out):
                        await asyncio.sleep(0.005)
            assert stream.closed
            assert engine.stats()["streams_open"] == 0
            return np.concatenate(got)

    y = run(main())
    # The bypassed pipeline plays the track unchanged (an independent reference: the input;
    # the chunk seams' crossfades round in the last bit).
    np.testing.assert_allclose(y[: x.shape[1]].T, x, rtol=0, atol=1e-6)


def test_busy_at_once_and_after_the_timeout_without_blocking_the_loop():
    x = track(0.5)

    async def main():
        async with aio.AsyncEngine(max_streams=1) as engine:
            first = await engine.open_stream(1, x, SR)
            with pytest.raises(tonecore.Busy):
                await engine.open_stream(2, x, SR)
            async with aio.LoopLagProbe() as probe:
                t = time.monotonic()
                with pytest.raises(tonecore.Busy):
                    await engine.open_stream(2, x, SR, timeout=0.4)
                waited = time.monotonic() - t
            assert 0.38 <= waited < 2.0
            assert probe.max_ms < 100, probe.max_ms
            assert engine.stats()["streams_open"] == 1 and first.alive
            # Replacing the key's own stream never needs a slot.
            again = await engine.open_stream(1, x, SR)
            assert again.alive and not first.alive
            await again.aclose()

    run(main())


def test_a_waiting_open_is_woken_by_the_close_that_frees_a_slot(monkeypatch):
    x = track(0.5)
    monkeypatch.setattr(aio, "_BUSY_POLL", 30.0)  # only the close's event can wake it in time

    async def main():
        async with aio.AsyncEngine(max_streams=1) as engine:
            first = await engine.open_stream(1, x, SR)
            closed_at = []

            async def close_later():
                await asyncio.sleep(0.3)
                closed_at.append(time.monotonic())
                await first.aclose()

            closer = asyncio.create_task(close_later())
            second = await engine.open_stream(2, x, SR, timeout=20.0)
            opened_at = time.monotonic()
            await closer
            assert second.alive
            assert opened_at - closed_at[0] < 4.0  # woken by the event, not the 30 s poll
            await second.aclose()

    run(main())


def test_each_freed_slot_wakes_one_waiting_open():
    # Eight opens wait at a cap of 1; the stream is passed on eight times. Waking every waiter
    # per close would cost 7 + 6 + ... + 1 = 28 more Busy attempts; one waiter per close costs
    # none (a few at most from the 1 s poll on a slow machine).
    x = track(0.3)

    async def main():
        async with aio.AsyncEngine(max_streams=1) as engine:
            held = await engine.open_stream(0, x, SR)
            order = []

            async def waiter(key):
                s = await engine.open_stream(key, x, SR, timeout=30.0)
                order.append(key)
                await asyncio.sleep(0.02)
                await s.aclose()

            tasks = []
            for key in range(1, 9):
                tasks.append(asyncio.create_task(waiter(key)))
                await asyncio.sleep(0.02)  # queued in this order
            await asyncio.sleep(0.2)
            before = engine.stats()["busy_refusals"]
            assert before == 8
            await held.aclose()
            await asyncio.wait_for(asyncio.gather(*tasks), 20)
            extra = engine.stats()["busy_refusals"] - before
            assert extra <= 4, extra
            assert order == list(range(1, 9))  # oldest first

    run(main())


def test_cancelling_a_waiting_open_leaves_nothing_open():
    x = track(0.5)

    async def main():
        async with aio.AsyncEngine(max_streams=1) as engine:
            first = await engine.open_stream(1, x, SR)
            task = asyncio.create_task(engine.open_stream(2, x, SR, timeout=30.0))
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await first.aclose()
            await asyncio.sleep(0.1)
            stats = engine.stats()
            assert stats["streams_open"] == 0 and engine.engine.stream_for_key(2) is None

    run(main())


def test_cancelled_opens_in_flight_are_closed_and_never_replace_a_later_open():
    x = track(3.0)

    async def main():
        async with aio.AsyncEngine(max_streams=8) as engine:
            for round_ in range(20):
                key = 100 + round_
                tasks = [asyncio.create_task(engine.open_stream(key, x, SR)) for _ in range(4)]
                await asyncio.sleep(0.001 * (round_ % 5))
                for t in tasks[:3]:
                    t.cancel()
                last = await tasks[3]
                await asyncio.gather(*tasks[:3], return_exceptions=True)
                await asyncio.sleep(0.02)  # the abandoned opens' clean-ups run on the pool
                # The last call's stream is the key's stream, whatever the cancelled ones did.
                assert last.alive
                assert engine.engine.stream_for_key(key).id == last.id
                await last.aclose()
            deadline = time.monotonic() + 5
            while engine.stats()["streams_open"] and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert engine.stats()["streams_open"] == 0

    run(main())


def test_opens_of_one_key_take_effect_in_call_order():
    x = track(1.0)

    async def main():
        async with aio.AsyncEngine(max_streams=4, control_threads=4) as engine:
            streams = await asyncio.gather(*(engine.open_stream(9, x, SR) for _ in range(12)))
            alive = [s.alive for s in streams]
            assert alive == [False] * 11 + [True]
            await streams[-1].aclose()

    run(main())


def test_task_cancellation_inside_async_with_closes_the_stream():
    x = track(1.0)

    async def main():
        async with aio.AsyncEngine(max_streams=2) as engine:
            entered = asyncio.Event()

            async def listener():
                async with await engine.open_stream(5, x, SR):
                    entered.set()
                    await asyncio.sleep(60)

            task = asyncio.create_task(listener())
            await entered.wait()
            assert engine.stats()["streams_open"] == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert engine.stats()["streams_open"] == 0

    run(main())


def test_bad_arguments_raise_and_change_nothing():
    x = track(0.2)

    async def main():
        async with aio.AsyncEngine(max_streams=1) as engine:
            for bad in (-1.0, float("nan"), float("inf")):
                with pytest.raises(ValueError):
                    await engine.open_stream(1, x, SR, timeout=bad)
            with pytest.raises(TypeError):
                await engine.open_stream(1, x.astype(np.int16), SR)
            with pytest.raises(tonecore.InvalidArgument):
                await engine.open_stream(1, x, 0)
            with pytest.raises(ValueError):
                engine.events("no_such_event")
            with pytest.raises(ValueError):
                engine.events(maxsize=0)
            assert engine.stats()["streams_open"] == 0
            assert engine.stats()["streams_opened"] == 0

    run(main())
    with pytest.raises(ValueError):
        aio.AsyncEngine(control_threads=0)
    with pytest.raises(ValueError):
        aio.AsyncEngine(tonecore.Engine(), max_streams=3)


def test_one_loop_only_and_closed_afterwards():
    async def first(engine):
        await engine.__aenter__()

    engine = aio.AsyncEngine(max_streams=1)
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(first(engine))
        with pytest.raises(RuntimeError):
            run(engine.open_stream(1, track(0.1), SR))
        loop.run_until_complete(engine.aclose())
        assert engine.closed and engine.engine.closed
        with pytest.raises(tonecore.ClosedError):
            loop.run_until_complete(engine.open_stream(1, track(0.1), SR))
    finally:
        loop.close()


def test_a_shared_engine_is_not_closed():
    with tonecore.Engine(max_streams=2) as shared:
        async def main():
            async with aio.AsyncEngine(shared) as engine:
                s = await engine.open_stream(1, track(0.2), SR)
                await s.aclose()

        run(main())
        assert not shared.closed
        assert shared.stats()["streams_opened"] == 1


def test_aclose_ends_pending_waits():
    x = track(0.5)

    async def main():
        engine = aio.AsyncEngine(max_streams=1)
        await engine.__aenter__()
        held = await engine.open_stream(1, x, SR)
        events = engine.events()
        waiting = asyncio.create_task(engine.open_stream(2, x, SR, timeout=30.0))
        listing = asyncio.create_task(_collect(events))
        await asyncio.sleep(0.1)
        await engine.aclose()
        with pytest.raises(tonecore.ClosedError):
            await asyncio.wait_for(waiting, 5)
        assert held.closed
        got = await asyncio.wait_for(listing, 5)
        # The close's events still reach the loop before the iteration ends (the stream's
        # "opened" may come first: it was emitted just before events() was called).
        assert ("stream_closed", held.id) in [(e.kind, e.id) for e in got]

    run(main())


async def _collect(events):
    return [e async for e in events]


# -- jobs and events --------------------------------------------------------------------------


def test_job_result_and_progress_on_the_loop():
    x = track(6.0)
    cfg = tonecore.PipelineConfig(eq_gains=gains(3.0))

    async def main():
        async with aio.AsyncEngine(max_streams=1) as engine:
            job = await engine.submit_render(x, SR, cfg, chunk_seconds=0.5)
            seen = [p async for p in job.progress()]
            y = await job.result()
            bypass = await (await engine.submit_render(x, SR, None)).result(timeout=30)
            return seen, y, bypass

    seen, y, bypass = run(main())
    assert seen[-1].state == "done" and seen[-1].done == seen[-1].total > 1
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    np.testing.assert_allclose(bypass, x, rtol=0, atol=1e-6)
    # +3 dB flat: the output is the input scaled by 10**(3/20) (an independent reference),
    # level and limiter bypassed.
    np.testing.assert_allclose(y, x * 10 ** (3 / 20), atol=2e-5)


def test_cancelling_result_cancels_the_job_and_async_with_releases_it():
    x = track(60.0)
    cfg = tonecore.PipelineConfig(eq_gains=gains(1.0))

    async def main():
        async with aio.AsyncEngine(max_streams=1, worker_threads=1) as engine:
            job = await engine.submit_render(x, SR, cfg, chunk_seconds=0.25)
            task = asyncio.create_task(job.result())
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await job.wait(timeout=10)
            assert job.state == "cancelled"
            with pytest.raises(tonecore.Cancelled):
                await job.result()
            with pytest.raises(tonecore.Timeout):
                async with await engine.submit_render(x, SR, cfg, chunk_seconds=0.25) as j2:
                    await j2.result(timeout=0.01)
            await asyncio.sleep(0.05)
            stats = engine.stats()
            assert stats["jobs_held"] == 0 and stats["jobs_running"] == 0

    run(main())


def test_events_arrive_on_the_loop_in_order():
    x = track(0.5)

    async def main():
        loop_thread = threading.get_ident()
        async with aio.AsyncEngine(max_streams=4) as engine:
            async with engine.events(("stream_opened", "stream_closed")) as events:
                a = await engine.open_stream(3, x, SR)
                b = await engine.open_stream(3, x, SR)  # replaces a
                await b.aclose()
                got = []
                async for e in events:
                    assert threading.get_ident() == loop_thread
                    got.append(e)
                    if len(got) == 4:
                        break
            assert [(e.kind, e.id, e.replaced) for e in got] == [
                ("stream_opened", a.id, False),
                ("stream_closed", a.id, True),
                ("stream_opened", b.id, False),
                ("stream_closed", b.id, False),
            ]
            assert [e.seq for e in got] == sorted(e.seq for e in got)

    run(main())


def test_a_slow_event_consumer_drops_the_oldest_not_memory():
    x = track(0.2)

    async def main():
        async with aio.AsyncEngine(max_streams=2) as engine:
            events = engine.events("stream_opened", maxsize=3)
            for _ in range(8):
                await engine.open_stream(1, x, SR)
            engine.engine.flush_events()  # the dispatcher has handed everything over
            await asyncio.sleep(0.05)
            events.close()
            got = [e async for e in events]
            assert len(got) == 3 and events.dropped == 5
            assert [e.seq for e in got] == sorted(e.seq for e in got)

    run(main())


# -- the loop-lag probe -------------------------------------------------------------------------


def test_the_probe_sees_a_blocking_call_on_the_loop():
    # The thread API's bounded wait, called on the loop: the probe must see it.
    x = track(0.2)

    async def main():
        with tonecore.Engine(max_streams=1) as engine:
            held = engine.open_stream(1, x, SR)
            async with aio.LoopLagProbe() as probe:
                await asyncio.sleep(0.02)
                with pytest.raises(tonecore.Busy):
                    engine.open_stream(2, x, SR, timeout=0.3)
                await asyncio.sleep(0.02)
            held.close()
            return probe.max_ms

    assert run(main()) >= 250


def test_nothing_on_the_aio_api_blocks_the_loop():
    # A busy mix: long tracks opened and replaced (a copy and a worker join each), Busy waits,
    # cancelled opens, jobs taking large results, progress and events, while a probe measures
    # how late the loop wakes.
    x = track(30.0)
    cfg = tonecore.PipelineConfig(eq_gains=gains(2.0))

    async def main():
        async with aio.AsyncEngine(max_streams=4, control_threads=4) as engine:
            events = engine.events()
            drain = asyncio.create_task(_collect(events))
            async with aio.LoopLagProbe() as probe:
                async def listener(key):
                    out = np.empty((2048, 2), np.float32)
                    for _ in range(6):
                        try:
                            s = await engine.open_stream(key, x, SR, cfg, timeout=0.2,
                                                         chunk_seconds=1.0)
                        except tonecore.Busy:
                            continue
                        s.seek(float(key % 20))
                        for _ in range(10):
                            s.read_into(out)
                            await asyncio.sleep(0.002)
                        await s.aclose()

                async def renders():
                    for _ in range(3):
                        job = await engine.submit_render(x, SR, cfg, chunk_seconds=2.0)
                        async for _p in job.progress():
                            pass
                        await job.result()

                async def canceller():
                    for i in range(10):
                        t = asyncio.create_task(engine.open_stream(50 + i, x, SR, timeout=1.0))
                        await asyncio.sleep(0.01)
                        t.cancel()
                        await asyncio.gather(t, return_exceptions=True)

                await asyncio.gather(*(listener(k) for k in range(8)), renders(), canceller())
            events.close()
            await drain
            return probe

    # Not in debug mode: its checks and slow-callback accounting cost loop time themselves
    # (the other tests run in it).
    probe = asyncio.run(main())
    assert len(probe.lags_ms) > 50
    # A block's worth of work: under 20 ms at the 99th percentile, no stall of 100 ms.
    assert probe.percentile(99) < 20, probe.percentile(99)
    assert probe.max_ms < 100, probe.max_ms
