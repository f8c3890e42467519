"""asyncio-native access to a :class:`tonecore.Engine`, for hosts built on an event loop.

:class:`AsyncEngine` wraps one engine for one running loop. Nothing on it blocks the loop for
longer than a block's worth of work:

* calls that can wait or copy a whole track (opening, closing and replacing streams,
  submitting jobs, taking results, closing the engine) run on a small thread pool and are
  awaited; the library releases the GIL inside them;
* waits (a slot under the stream cap, a job's end, the next event) are awaitables woken by
  the engine's events, which the engine's dispatcher thread hands to the loop with
  ``call_soon_threadsafe`` and nothing else: no callback ever touches a loop object from a
  foreign thread;
* the audio path (:meth:`AsyncStream.read_into`, ``seek``, ``pause``, ``stats``) is wait-free
  in the library and is called directly.

Cancellation is safe: a cancelled :meth:`AsyncEngine.open_stream` never leaves a stream open
(and never replaces a stream that a later open of the same key produced: the opens of one key
run in the order they were called); a cancelled :meth:`AsyncJob.result` cancels the job;
``async with`` closes streams and releases jobs on the way out, also on cancellation.

:class:`LoopLagProbe` measures how late the loop wakes up, the figure that proves the above.

Examples
--------
>>> async def serve(track, sr):
...     async with tonecore.aio.AsyncEngine(max_streams=64) as engine:
...         async with await engine.open_stream(7, track, sr, cfg, timeout=2.0) as stream:
...             block = np.empty((4800, 2), np.float32)
...             n = stream.read_into(block)      # wait-free: fine on the loop
...         job = await engine.submit_render(track, sr, cfg)
...         async for p in job.progress():
...             print(f"{p.fraction:.0%}")
...         y = await job.result()
"""

from __future__ import annotations

import asyncio
import math
import threading
import weakref
from concurrent.futures import Future as ConcurrentFuture
from concurrent.futures import ThreadPoolExecutor
from collections import deque
from typing import Any, AsyncIterator, Callable, Deque, Dict, List, Optional, Set, TypeVar

import numpy as np

from . import _native
from ._checks import real_arg, size_arg
from ._engine import (
    Engine,
    EngineEvent,
    EventsArg,
    FloatArray,
    Job,
    JobProgress,
    PipelineArg,
    Stream,
    _events_mask,
    _EVENT_BITS,
    _u64_arg,
)
from ._errors import Busy, ClosedError, Timeout

__all__ = ["AsyncEngine", "AsyncJob", "AsyncStream", "EventStream", "LoopLagProbe"]

_T = TypeVar("_T")

#: A Busy wait retries at least this often even without a ``stream_closed`` event.
_BUSY_POLL = 1.0


def _retrieve(fut: "asyncio.Future[Any]") -> None:
    """Marks an abandoned future's outcome as seen (no "exception never retrieved" log)."""
    if not fut.cancelled():
        fut.exception()


async def _shielded(fut: "asyncio.Future[_T]") -> _T:
    """Awaits ``fut`` so that cancelling the awaiting task does not cancel it; its outcome is
    then retrieved quietly."""
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        fut.add_done_callback(_retrieve)
        raise


def _wait(timeout: Any) -> Optional[float]:
    """None -> None (no limit); else finite seconds >= 0."""
    if timeout is None:
        return None
    t = real_arg(timeout, "timeout")
    if not math.isfinite(t) or t < 0.0:
        raise ValueError(f"timeout must be finite seconds >= 0 (or None), got {t!r}")
    return t


class _KeyTurns:
    """Runs the opens of one key in the order they were issued, across pool threads.

    ``issue`` (loop thread) hands out a number; ``turn`` (pool thread) waits until every
    earlier number of that key has finished. A pool is FIFO, so an earlier number is always
    running or done when a later one waits: no deadlock.
    """

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._keys: Dict[int, List[int]] = {}  # key -> [next number, number being served]

    def issue(self, key: int) -> int:
        with self._cv:
            entry = self._keys.setdefault(key, [0, 0])
            entry[0] += 1
            return entry[0] - 1

    def wait(self, key: int, number: int) -> None:
        with self._cv:
            while self._keys[key][1] != number:
                self._cv.wait()

    def done(self, key: int) -> None:
        with self._cv:
            entry = self._keys[key]
            entry[1] += 1
            if entry[1] == entry[0]:
                del self._keys[key]
            self._cv.notify_all()


class AsyncEngine:
    """An :class:`tonecore.Engine` for one asyncio event loop.

    Parameters
    ----------
    engine : Engine, optional
        An engine to use (shared with threads of the host; not closed by :meth:`aclose`).
        None (default): a new engine from the keyword arguments, owned and closed by this
        object.
    max_streams, worker_threads, cache_bytes, max_jobs : optional
        As for :class:`tonecore.Engine` (only without ``engine``).
    control_threads : int, optional
        Threads of the pool that runs the blocking control calls (default 4, 1–64).

    The object binds to the running loop at its first ``await`` (or ``async with``) and may be
    used from that loop only (another loop gets RuntimeError). Its methods that are not
    coroutines are wait-free or bounded and may be called on the loop. Use it as
    ``async with`` or call :meth:`aclose`.

    Raises
    ------
    As :class:`tonecore.Engine`; ValueError for ``control_threads`` out of range or engine
    keyword arguments given together with ``engine``.
    """

    def __init__(
        self,
        engine: Optional[Engine] = None,
        *,
        max_streams: Optional[int] = None,
        worker_threads: Optional[int] = None,
        cache_bytes: Optional[int] = None,
        max_jobs: Optional[int] = None,
        control_threads: int = 4,
    ) -> None:
        threads = size_arg(control_threads, "control_threads", 64)
        if threads < 1:
            raise ValueError("control_threads must be 1-64")
        given = (max_streams, worker_threads, cache_bytes, max_jobs)
        if engine is not None:
            if not isinstance(engine, Engine):
                raise TypeError(f"engine must be a tonecore.Engine, not {type(engine).__name__}")
            if any(v is not None for v in given):
                raise ValueError("pass either engine or the engine's settings, not both")
            self._engine, self._owns = engine, False
        else:
            self._engine = Engine(max_streams, worker_threads, cache_bytes, max_jobs)
            self._owns = True
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="tonecore-aio")
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._token: Optional[int] = None
        self._closed = False
        self._turns = _KeyTurns()
        # Loop-thread state, filled by _dispatch.
        # Opens waiting for a slot, oldest first; each freed slot wakes one.
        self._slot_waiters: Deque["asyncio.Future[None]"] = deque()
        self._job_waiters: Dict[int, Set[Callable[[EngineEvent], None]]] = {}
        self._event_streams: "weakref.WeakSet[EventStream]" = weakref.WeakSet()

    # -- binding to the loop and events --------------------------------------------------

    def _bind(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._closed:
            raise ClosedError("this tonecore.aio.AsyncEngine is closed", None,
                              "the engine is closed")
        if self._loop is None:
            self._loop = loop
            self._token = self._engine.subscribe(self._from_dispatcher)
        elif self._loop is not loop:
            raise RuntimeError("a tonecore.aio.AsyncEngine is bound to the event loop it was "
                               "first awaited on")
        return loop

    def _from_dispatcher(self, event: EngineEvent) -> None:
        # The engine's dispatcher thread: hand the event to the loop, touch nothing else.
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._dispatch, event)
        except RuntimeError:
            pass  # the loop is closed: nobody is waiting any more

    def _dispatch(self, event: EngineEvent) -> None:
        # The loop thread.
        if event.kind == "stream_closed" and not event.replaced:
            self._wake_one()
        elif event.kind in ("job_progress", "job_finished"):
            for notify in list(self._job_waiters.get(event.id, ())):
                notify(event)
        for events in list(self._event_streams):
            events._offer(event)

    def _wake_one(self) -> None:
        """Wakes the oldest waiting open: one freed slot, one attempt (waking every waiter
        made each close cost an attempt per waiter)."""
        while self._slot_waiters:
            fut = self._slot_waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def _watch_job(self, jid: int, notify: Callable[[EngineEvent], None]) -> Callable[[], None]:
        self._job_waiters.setdefault(jid, set()).add(notify)

        def unwatch() -> None:
            watchers = self._job_waiters.get(jid)
            if watchers is not None:
                watchers.discard(notify)
                if not watchers:
                    del self._job_waiters[jid]

        return unwatch

    async def _run(self, fn: Callable[[], _T]) -> _T:
        """``fn()`` on the pool; the loop only awaits it. Cancelling the await does not stop
        ``fn`` (callers that must undo its effect use :meth:`_run_owned`)."""
        loop = self._bind()
        return await asyncio.wrap_future(self._pool.submit(fn), loop=loop)

    async def _run_owned(self, fn: Callable[[threading.Event], _T],
                         undo: Callable[[Any], Any]) -> _T:
        """``fn(abandoned)`` on the pool; if the awaiting task is cancelled, ``abandoned`` is
        set (``fn`` may skip its work) and whatever ``fn`` still returns goes to ``undo`` on
        the pool."""
        loop = self._bind()
        abandoned = threading.Event()
        cf: ConcurrentFuture[_T] = self._pool.submit(fn, abandoned)
        inner = asyncio.wrap_future(cf, loop=loop)
        try:
            return await asyncio.shield(inner)
        except asyncio.CancelledError:
            abandoned.set()
            inner.add_done_callback(_retrieve)

            def cleanup(done: ConcurrentFuture[_T]) -> None:
                if not done.cancelled() and done.exception() is None:
                    result = done.result()
                    if result is not None:
                        try:
                            self._pool.submit(undo, result)
                        except RuntimeError:  # the pool is shut down: undo here
                            undo(result)

            cf.add_done_callback(cleanup)
            raise

    # -- lifetime ----------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The wrapped :class:`tonecore.Engine` (its blocking methods must not run on the
        loop)."""
        return self._engine

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` started."""
        return self._closed

    async def __aenter__(self) -> "AsyncEngine":
        self._bind()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Unsubscribe, close the engine if this object created it (every stream closed, every
        job cancelled, its threads joined) and stop the pool. Idempotent.

        Pending waits (a slot, a job's end, events) end with :class:`tonecore.ClosedError`.
        """
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        token, self._token = self._token, None

        def shut() -> None:
            if self._owns:
                # The stream_closed events of the close still reach the loop (before the
                # event streams end).
                self._engine.close()
            elif token is not None:
                try:
                    self._engine.unsubscribe(token)
                except Exception:  # noqa: BLE001 - the engine was closed by its owner
                    pass

        try:
            await _shielded(asyncio.wrap_future(self._pool.submit(shut), loop=loop))
        finally:
            self._pool.shutdown(wait=False)
            for fut in self._slot_waiters:
                if not fut.done():
                    fut.set_exception(self._closed_error())
            self._slot_waiters.clear()
            for events in list(self._event_streams):
                events._end()
            for watchers in list(self._job_waiters.values()):
                for notify in list(watchers):
                    notify(EngineEvent(0, "closed", 0, 0, False, 0, 0, None, 0))

    def _closed_error(self) -> ClosedError:
        return ClosedError("this tonecore.aio.AsyncEngine is closed", None, "the engine is closed")

    # -- state -----------------------------------------------------------------------------

    def stats(self) -> Dict[str, int]:
        """:meth:`tonecore.Engine.stats` (a short lock in the library; fine on the loop)."""
        return self._engine.stats()

    @property
    def max_streams(self) -> int:
        """The stream cap."""
        return self._engine.max_streams

    # -- streams ---------------------------------------------------------------------------

    async def open_stream(
        self,
        key: int,
        audio: FloatArray,
        sample_rate: int,
        pipeline: PipelineArg = None,
        *,
        timeout: Optional[float] = None,
        **options: Any,
    ) -> "AsyncStream":
        """Open (or replace) ``key``'s stream, as :meth:`tonecore.Engine.open_stream`.

        At the cap, waits up to ``timeout`` seconds for a slot without blocking the loop (the
        wait is woken by the engine's ``stream_closed`` events), then raises
        :class:`tonecore.Busy`; None or 0: Busy at once. Opens of one key take effect in the
        order they were called, so the latest call's stream is the key's stream.

        Cancellation: the open is abandoned; a stream it still produced is closed (a stale id
        cannot close the key's newer stream).

        Parameters
        ----------
        key, audio, sample_rate, pipeline
            As for :meth:`tonecore.Engine.open_stream`.
        timeout : float, optional
            Seconds to wait for a slot at the cap.
        **options
            ``chunk_seconds``, ``context_seconds``, ``crossfade_seconds``, ``lookahead_chunks``,
            ``seek_fade_ms``, ``curve``, ``content_id``: as for
            :meth:`tonecore.Engine.open_stream`.

        Returns
        -------
        AsyncStream

        Raises
        ------
        tonecore.Busy
            No slot within ``timeout``; nothing was opened.
        tonecore.ClosedError
            The engine is closed.
        As :meth:`tonecore.Engine.open_stream` for invalid arguments.
        """
        loop = self._bind()
        key = _u64_arg(key, "key")
        wait = _wait(timeout) or None
        if "timeout" in options:
            raise TypeError("timeout is a keyword of AsyncEngine.open_stream itself")
        deadline = None if wait is None else loop.time() + wait
        engine = self._engine
        while True:
            # Queued before the attempt, so a close between a Busy and the wait is not missed.
            slot_freed: "asyncio.Future[None]" = loop.create_future()
            self._slot_waiters.append(slot_freed)
            number = self._turns.issue(key)
            retrying = False

            def attempt(abandoned: threading.Event, number: int = number) -> Optional[Stream]:
                self._turns.wait(key, number)
                try:
                    if abandoned.is_set():
                        return None
                    stream = engine.open_stream(key, audio, sample_rate, pipeline, **options)
                    if abandoned.is_set():
                        stream.close()
                        return None
                    return stream
                finally:
                    self._turns.done(key)

            try:
                stream = await self._run_owned(attempt, Stream.close)
            except Busy:
                left = None if deadline is None else deadline - loop.time()
                if left is None or left <= 0:
                    raise
                try:
                    await asyncio.wait_for(asyncio.shield(slot_freed), min(left, _BUSY_POLL))
                except asyncio.TimeoutError:
                    pass
                retrying = True
                continue
            finally:
                if not slot_freed.done():
                    self._slot_waiters.remove(slot_freed)
                elif not retrying and slot_freed.exception() is None:
                    # Woken but not going to use it (opened anyway, cancelled, or out of
                    # time): the freed slot is someone else's.
                    self._wake_one()
            assert stream is not None
            return AsyncStream(self, stream)

    def stream_for_key(self, key: int) -> Optional["AsyncStream"]:
        """The live stream of ``key`` (opened here or through the wrapped engine), or None.
        Bounded: it waits only while a concurrent open registers the stream it just made."""
        stream = self._engine.stream_for_key(key)
        return None if stream is None else AsyncStream(self, stream)

    # -- jobs ------------------------------------------------------------------------------

    async def submit_render(
        self,
        audio: FloatArray,
        sample_rate: int,
        pipeline: PipelineArg = None,
        **options: Any,
    ) -> "AsyncJob":
        """Start a background render, as :meth:`tonecore.Engine.submit_render` (which copies
        the input, hence on the pool).

        Cancellation: a job it still started is released (cancelled).

        Raises
        ------
        As :meth:`tonecore.Engine.submit_render`.
        """
        self._bind()
        engine = self._engine

        def submit(abandoned: threading.Event) -> Optional[Job]:
            if abandoned.is_set():
                return None
            return engine.submit_render(audio, sample_rate, pipeline, **options)

        job = await self._run_owned(submit, Job.release)
        assert job is not None
        return AsyncJob(self, job)

    # -- events ----------------------------------------------------------------------------

    def events(self, events: EventsArg = None, *, maxsize: int = 1024) -> "EventStream":
        """An async iterator over the engine's events of the selected kinds from now on,
        delivered on the loop in emission order.

        Parameters
        ----------
        events : str, iterable of str, or None
            As for :meth:`tonecore.Engine.subscribe`.
        maxsize : int, optional
            Events held for a slow consumer (1–2**20, default 1024). Beyond it the oldest are
            dropped and counted in :attr:`EventStream.dropped` (``seq`` shows the gap).

        Raises
        ------
        TypeError, ValueError
            As for :meth:`tonecore.Engine.subscribe`; ``maxsize`` out of range.
        tonecore.ClosedError
            The engine is closed.
        RuntimeError
            No running loop, or another loop than the bound one.
        """
        self._bind()
        mask = _events_mask(events)
        size = size_arg(maxsize, "maxsize", 1 << 20)
        if size < 1:
            raise ValueError("maxsize must be >= 1")
        stream = EventStream(self, mask, size)
        self._event_streams.add(stream)
        return stream


class AsyncStream:
    """A playback stream of an :class:`AsyncEngine` (from :meth:`AsyncEngine.open_stream`).

    The audio and control calls are the wait-free ones of :class:`tonecore.Stream` and are
    made directly on the loop; only :meth:`aclose` (which joins the stream's worker) goes to
    the pool. ``async with`` closes it on the way out, also when the task is cancelled.
    """

    __slots__ = ("_aengine", "_stream")

    def __init__(self, aengine: AsyncEngine, stream: Stream) -> None:
        self._aengine = aengine
        self._stream = stream

    @property
    def stream(self) -> Stream:
        """The wrapped :class:`tonecore.Stream`."""
        return self._stream

    @property
    def id(self) -> int:
        """The stream's 64-bit id."""
        return self._stream.id

    @property
    def key(self) -> int:
        """The key it was opened for."""
        return self._stream.key

    @property
    def channels(self) -> int:
        """Channels of the track."""
        return self._stream.channels

    @property
    def frames(self) -> int:
        """Frames of the track."""
        return self._stream.frames

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz."""
        return self._stream.sample_rate

    @property
    def dtype(self) -> np.dtype:
        """The sample dtype."""
        return self._stream.dtype

    @property
    def alive(self) -> bool:
        """True while the id is valid (not closed or replaced)."""
        return self._stream.alive

    @property
    def closed(self) -> bool:
        """True after :meth:`aclose` (or the engine's close)."""
        return self._stream.closed

    def __repr__(self) -> str:
        return f"<tonecore.aio.AsyncStream of {self._stream!r}>"

    def read_into(self, out: FloatArray) -> int:
        """:meth:`tonecore.Stream.read_into`: fills ``out``, returns the frames that came from
        the track (a shortfall is silence and did not advance the position). Wait-free."""
        return self._stream.read_into(out)

    def read(self, frames: int, out: Optional[FloatArray] = None) -> FloatArray:
        """:meth:`tonecore.Stream.read`. Wait-free."""
        return self._stream.read(frames, out)

    def seek(self, seconds: float) -> None:
        """:meth:`tonecore.Stream.seek`. Wait-free."""
        self._stream.seek(seconds)

    def pause(self) -> None:
        """:meth:`tonecore.Stream.pause`. Wait-free."""
        self._stream.pause()

    def resume(self) -> None:
        """:meth:`tonecore.Stream.resume`. Wait-free."""
        self._stream.resume()

    def stats(self) -> Dict[str, int]:
        """:meth:`tonecore.Stream.stats`. Wait-free."""
        return self._stream.stats()

    def normalization(self) -> Optional[Dict[str, Any]]:
        """:meth:`tonecore.Stream.normalization`. Wait-free."""
        return self._stream.normalization()

    async def aclose(self) -> bool:
        """Close the stream on the pool (its worker is joined there). Completes even when the
        awaiting task is cancelled meanwhile. Never raises for a stream already gone.

        Returns
        -------
        bool
            As :meth:`tonecore.Stream.close`: False when it was already closed or replaced.
        """
        if self._stream.closed:
            return False
        aengine = self._aengine
        try:
            cf = aengine._pool.submit(self._stream.close)
        except RuntimeError:  # the pool is shut down with the engine
            return self._stream.close()
        return await _shielded(asyncio.wrap_future(cf))

    async def __aenter__(self) -> "AsyncStream":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncJob:
    """A background render of an :class:`AsyncEngine` (from :meth:`AsyncEngine.submit_render`).

    ``await job.result()`` waits without blocking the loop (woken by the job's
    ``job_finished`` event) and takes the output on the pool; ``async for p in
    job.progress()`` follows it. ``async with`` releases (cancels) it on the way out unless
    the result was taken.
    """

    __slots__ = ("_aengine", "_job")

    def __init__(self, aengine: AsyncEngine, job: Job) -> None:
        self._aengine = aengine
        self._job = job

    @property
    def job(self) -> Job:
        """The wrapped :class:`tonecore.Job`."""
        return self._job

    @property
    def id(self) -> int:
        """The job's 64-bit id."""
        return self._job.id

    def __repr__(self) -> str:
        return f"<tonecore.aio.AsyncJob of {self._job!r}>"

    def cancel(self) -> None:
        """:meth:`tonecore.Job.cancel` (returns at once)."""
        self._job.cancel()

    @property
    def state(self) -> str:
        """:attr:`tonecore.Job.state`."""
        return self._job.state

    async def _until_ended(self, timeout: Optional[float]) -> bool:
        """Waits for the job's end; False on timeout."""
        loop = self._aengine._bind()
        ended: "asyncio.Future[None]" = loop.create_future()

        def notify(event: EngineEvent) -> None:
            if event.kind in ("job_finished", "closed") and not ended.done():
                ended.set_result(None)

        unwatch = self._aengine._watch_job(self._job.id, notify)
        try:
            # Checked after watching: an end between the two is seen either way.
            if self._job.progress.state != "running":
                return True
            try:
                await asyncio.wait_for(ended, timeout)
            except asyncio.TimeoutError:
                return False
            if self._aengine.closed:
                raise self._aengine._closed_error()
            return True
        finally:
            unwatch()

    async def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait until the job ends; True if it has, False when ``timeout`` ran out.

        Raises
        ------
        tonecore.StaleHandle
            Taken or released.
        tonecore.ClosedError
            The engine is (or gets) closed.
        """
        return await self._until_ended(_wait(timeout))

    async def result(self, timeout: Optional[float] = None) -> FloatArray:
        """Wait for the job, then take its output (on the pool).

        Cancelling the awaiting task cancels the job (the task gets CancelledError).

        Raises
        ------
        tonecore.Timeout
            Still running after ``timeout`` (it keeps running).
        tonecore.Cancelled, tonecore.Error, tonecore.StaleHandle, tonecore.ClosedError
            As :meth:`tonecore.Job.result`.
        """
        limit = _wait(timeout)
        try:
            if not await self._until_ended(limit):
                raise Timeout(
                    f"tonecore.aio.AsyncJob.result: the job was still running after {timeout} s",
                    _native.STATUS_TIMEOUT,
                    "the wait timed out",
                )
        except asyncio.CancelledError:
            try:
                self._job.cancel()
            except Exception:  # noqa: BLE001 - already gone
                pass
            raise
        job = self._job
        return await self._aengine._run(lambda: job.result(0))

    async def progress(self) -> AsyncIterator[JobProgress]:
        """Yields the job's progress now and after every change, ending with its final state
        (``done``, ``cancelled`` or ``failed``). A slow consumer sees the latest progress (the
        steps in between are merged), never a backlog.

        Raises
        ------
        tonecore.StaleHandle
            Taken or released.
        """
        self._aengine._bind()
        changed = asyncio.Event()

        def notify(_event: EngineEvent) -> None:
            changed.set()

        unwatch = self._aengine._watch_job(self._job.id, notify)
        try:
            last: Optional[JobProgress] = None
            while True:
                changed.clear()
                p = self._job.progress
                if p != last:
                    last = p
                    yield p
                if p.state != "running":
                    return
                if self._aengine.closed:
                    raise self._aengine._closed_error()
                await changed.wait()
        finally:
            unwatch()

    async def release(self) -> bool:
        """:meth:`tonecore.Job.release` (cancels it if it runs)."""
        return self._job.release()

    async def __aenter__(self) -> "AsyncJob":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._job.release()


class EventStream:
    """Engine events for one consumer on the loop (from :meth:`AsyncEngine.events`): an async
    iterator, and an ``async with`` / :meth:`close` lifetime. Iteration ends when it is closed
    or the engine is closed."""

    def __init__(self, aengine: AsyncEngine, mask: int, maxsize: int) -> None:
        self._aengine = aengine
        self._mask = mask
        self._queue: Deque[EngineEvent] = deque(maxlen=maxsize)
        self._ready = asyncio.Event()
        self._ended = False
        #: Events dropped because the consumer fell ``maxsize`` events behind.
        self.dropped = 0

    def _offer(self, event: EngineEvent) -> None:
        if self._ended or not (_EVENT_BITS.get(event.kind, 0) & self._mask):
            return
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(event)
        self._ready.set()

    def _end(self) -> None:
        self._ended = True
        self._ready.set()

    def close(self) -> None:
        """Stop receiving; the iteration ends after the events already held."""
        self._end()
        self._aengine._event_streams.discard(self)

    def __aiter__(self) -> "EventStream":
        return self

    async def __anext__(self) -> EngineEvent:
        while not self._queue:
            if self._ended:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    async def __aenter__(self) -> "EventStream":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class LoopLagProbe:
    """Measures how late the running loop wakes a task that sleeps ``interval`` seconds: the
    time any callback on the loop held it up. ``async with LoopLagProbe() as probe:`` runs it;
    :meth:`percentile` and :attr:`max_ms` read the lags in ms of the last ``keep`` wake-ups
    (so a probe may run for the life of a server).

    Parameters
    ----------
    interval : float, optional
        Sleep between wake-ups in seconds (default 0.005).
    keep : int, optional
        Wake-ups kept (default 100 000: about 8 minutes at 5 ms).
    """

    def __init__(self, interval: float = 0.005, keep: int = 100_000) -> None:
        self._interval = real_arg(interval, "interval")
        if not 0.0 < self._interval <= 10.0:
            raise ValueError("interval must be in (0, 10] seconds")
        size = size_arg(keep, "keep", 1 << 24)
        if size < 1:
            raise ValueError("keep must be >= 1")
        #: The lags kept, in ms, oldest first.
        self.lags_ms: Deque[float] = deque(maxlen=size)
        self._task: Optional["asyncio.Task[None]"] = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self._interval)
            self.lags_ms.append(max(0.0, (loop.time() - start - self._interval) * 1e3))

    def start(self) -> None:
        """Start probing on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop probing."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    def reset(self) -> None:
        """Forget the lags measured so far."""
        self.lags_ms.clear()

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile (0–100) of the lags in ms (0.0 before any wake-up)."""
        if not self.lags_ms:
            return 0.0
        return float(np.percentile(np.asarray(self.lags_ms), p))

    @property
    def max_ms(self) -> float:
        """The largest lag in ms (0.0 before any wake-up)."""
        return max(self.lags_ms, default=0.0)

    async def __aenter__(self) -> "LoopLagProbe":
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
