"""The shared engine: keyed playback streams under an engine-wide cap, background render jobs,
event callbacks, a shared chunk cache and consistent statistics (``tonecore_engine_*`` in the
C ABI).

:class:`Engine` owns one native ``tonecore_engine``. Every method may be called from any Python
thread at once (ctypes releases the GIL during native calls, so they really run in parallel).
Streams and jobs are named natively by 64-bit generation-checked ids; :class:`Stream` and
:class:`Job` wrap one id each. An id that went stale (closed, replaced, taken, released) raises
:class:`tonecore.StaleHandle`, never touches another object.

Lifetime: calls register themselves with the engine's in-flight counter, so :meth:`Engine.close`
(or the finalizer) frees the native engine only after every call in progress has returned;
calls started after ``close`` raise :class:`tonecore.ClosedError`.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
import weakref
from ctypes import byref, c_int32, c_size_t, c_uint64, c_void_p, sizeof
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Tuple,
    TypeVar,
    Union,
)

import numpy as np
import numpy.typing as npt

from . import _native
from ._checks import F32, U32_MAX, input_array, out_array, real_arg, sample_rate_arg, size_arg
from ._config import (
    DEFAULT_FADE_CURVE,
    RENDER_DEFAULTS,
    PipelineConfig,
    _c_pipeline_config,
    _config_arg,
)
from ._errors import AlreadyRunning, ClosedError, ConcurrentUse, Timeout
from ._render import _TrackInfo, _c_render_config, _stream_normalization

__all__ = [
    "EVENT_KINDS",
    "JOB_STATES",
    "Engine",
    "EngineEvent",
    "Job",
    "JobProgress",
    "Stream",
]

_U64_MAX = 2**64 - 1

#: Event kind names accepted by :meth:`Engine.subscribe` (``events=``) and found in
#: :attr:`EngineEvent.kind`.
EVENT_KINDS: Tuple[str, ...] = ("stream_opened", "stream_closed", "job_progress", "job_finished")

_EVENT_BITS: Dict[str, int] = {
    "stream_opened": _native.EVENT_KIND_STREAM_OPENED,
    "stream_closed": _native.EVENT_KIND_STREAM_CLOSED,
    "job_progress": _native.EVENT_KIND_JOB_PROGRESS,
    "job_finished": _native.EVENT_KIND_JOB_FINISHED,
}
_EVENT_NAMES: Dict[int, str] = {bit: name for name, bit in _EVENT_BITS.items()}

#: Job state names (:attr:`Job.state`, :attr:`JobProgress.state`).
JOB_STATES: Tuple[str, ...] = ("running", "done", "cancelled", "failed")

_JOB_STATE_NAMES: Dict[int, str] = {
    _native.JOB_STATE_RUNNING: "running",
    _native.JOB_STATE_DONE: "done",
    _native.JOB_STATE_CANCELLED: "cancelled",
    _native.JOB_STATE_FAILED: "failed",
}

#: ``tonecore_engine_stats`` fields in header order, without ``struct_size``.
_STATS_FIELDS: Tuple[str, ...] = tuple(
    str(f[0]) for f in _native.EngineStats._fields_ if f[0] != "struct_size")

#: Longest single native wait of :meth:`Job.wait` / :meth:`Job.result`, so that a closing
#: engine is noticed promptly.
_WAIT_SLICE = 0.1

#: How long a lookup waits for a sibling thread to register the Python object of an id the
#: library has just issued (the thread that got the id registers it right after the call).
_REGISTRATION_WAIT = 10.0

_T = TypeVar("_T")
FloatArray = npt.NDArray[np.floating[Any]]
PipelineArg = Union[PipelineConfig, Mapping[str, Any], None]
EventsArg = Union[str, Iterable[str], None]


class EngineEvent(NamedTuple):
    """One engine event, as passed to a :meth:`Engine.subscribe` callback.

    Attributes
    ----------
    seq : int
        Emission number, strictly increasing over the engine's life (from 1).
    kind : str
        ``"stream_opened"``, ``"stream_closed"``, ``"job_progress"`` or ``"job_finished"``.
    id : int
        The stream's or job's id (:attr:`Stream.id`, :attr:`Job.id`).
    key : int
        The stream's key, or the job's key (0 for a job without one).
    replaced : bool
        ``stream_closed`` only: True when a new stream for the same key replaced it.
    done, total : int
        ``job_progress`` only: chunks finished and chunks in all.
    job_state : str or None
        ``job_finished`` only: ``"done"``, ``"cancelled"`` or ``"failed"``.
    job_status : int
        ``job_finished`` only: the ``tonecore_status`` the job ended with (0 when done).
    """

    seq: int
    kind: str
    id: int
    key: int
    replaced: bool
    done: int
    total: int
    job_state: Optional[str]
    job_status: int


class JobProgress(NamedTuple):
    """A job's progress (:attr:`Job.progress`).

    Attributes
    ----------
    done, total : int
        Chunks finished and chunks in all (``total`` is 0 until the job planned its work).
    state : str
        ``"running"``, ``"done"``, ``"cancelled"`` or ``"failed"``.
    status : int
        For ``"cancelled"`` and ``"failed"``: the ``tonecore_status`` the job ended with
        (102 when cancelled); otherwise 0.
    """

    done: int
    total: int
    state: str
    status: int

    @property
    def fraction(self) -> float:
        """``done / total`` (0.0 while ``total`` is 0)."""
        return self.done / self.total if self.total else 0.0


# -- argument helpers ---------------------------------------------------------------------


def _u64_arg(value: Any, name: str, minimum: int = 0) -> int:
    v = size_arg(value, name, _U64_MAX)
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def _optional_id_arg(value: Any, name: str) -> int:
    """None -> 0 (none); else an integer in 1 ..= 2**64 - 1 (0 is reserved for "none")."""
    if value is None:
        return 0
    v = size_arg(value, name, _U64_MAX)
    if v == 0:
        raise ValueError(f"{name} must be >= 1 (0 means none; pass None)")
    return v


def _timeout_arg(timeout: Any, name: str = "timeout") -> float:
    """None -> 0.0; else a real number >= 0 (NaN goes to the library, which refuses it)."""
    if timeout is None:
        return 0.0
    t = real_arg(timeout, name)
    if t < 0.0:
        raise ValueError(f"{name} must be >= 0 seconds (or None), got {t!r}")
    return t


def _wait_arg(timeout: Any) -> Optional[float]:
    """None -> None (no limit); else finite seconds >= 0."""
    if timeout is None:
        return None
    t = real_arg(timeout, "timeout")
    if math.isnan(t) or t < 0.0:
        raise ValueError(f"timeout must be >= 0 seconds (or None for no limit), got {t!r}")
    return t


def _events_mask(events: EventsArg) -> int:
    if events is None:
        return _native.EVENTS_ALL
    names: Iterable[Any] = (events,) if isinstance(events, str) else events
    mask = 0
    try:
        items = list(names)
    except TypeError:
        raise TypeError(
            f"events must be None, an event name or an iterable of names, "
            f"not {type(events).__name__}"
        ) from None
    for name in items:
        if not isinstance(name, str):
            raise TypeError(f"event names are str, not {type(name).__name__}")
        try:
            mask |= _EVENT_BITS[name]
        except KeyError:
            known = ", ".join(repr(k) for k in EVENT_KINDS)
            raise ValueError(f"unknown event kind {name!r}; expected some of {known}") from None
    if mask == 0:
        raise ValueError("events selects no event kind (pass None for all)")
    return mask


def _track_arg(audio: Any) -> Tuple[FloatArray, int]:
    audio = input_array(audio, "audio", (np.dtype(np.float32), np.dtype(np.float64)), (1, 2))
    return audio, (1 if audio.ndim == 1 else int(audio.shape[0]))


# -- the shared core ----------------------------------------------------------------------


class _Subscription:
    """One subscriber: the Python callback and the ctypes thunk the library calls.

    The thunk stays referenced (in ``_Core.subs``) until ``tonecore_engine_unsubscribe``
    returned, or the native engine was freed.
    """

    __slots__ = ("callback", "mask", "thunk", "core", "warned", "__weakref__")

    def __init__(self, core: "_Core", callback: Callable[[EngineEvent], Any], mask: int) -> None:
        self.core = core
        self.callback = callback
        self.mask = mask
        self.warned = False
        self.thunk = _native.EVENT_FN(self._call)

    def _call(self, _user_data: Any, event_p: Any) -> int:
        # Runs on the engine's dispatcher thread. Never let anything escape into the library.
        core = self.core
        core.dispatcher_ident = threading.get_ident()
        if core.graveyard:
            # Subscriptions ended from inside earlier callbacks: those calls have returned
            # (the dispatcher runs one call at a time), so their thunks can go now.
            core.graveyard.clear()
        try:
            e = event_p.contents
            kind = _EVENT_NAMES.get(int(e.kind), str(int(e.kind)))
            finished = kind == "job_finished"
            event = EngineEvent(
                seq=int(e.seq),
                kind=kind,
                id=int(e.id),
                key=int(e.key),
                replaced=bool(e.replaced),
                done=int(e.done),
                total=int(e.total),
                job_state=_JOB_STATE_NAMES.get(int(e.job_state)) if finished else None,
                job_status=int(e.job_status),
            )
            self.callback(event)
            return 0
        except BaseException as exc:  # noqa: BLE001 - contained, counted in callback_errors
            if not self.warned and not isinstance(exc, ClosedError):
                self.warned = True
                try:
                    warnings.warn(
                        f"a tonecore.Engine event callback ({self.callback!r}) raised "
                        f"{type(exc).__name__}: {exc}; the failure is counted in "
                        f"stats()['callback_errors'] (further failures of this subscription "
                        f"are counted silently)",
                        RuntimeWarning,
                        stacklevel=1,
                    )
                except BaseException:  # noqa: BLE001 - e.g. warnings turned into errors
                    pass
            return 1


class _Core:
    """Owns the native engine pointer and everything shared by Engine, Stream and Job.

    ``enter``/``exit`` count the native calls in flight; ``close`` marks the core closing (new
    calls raise ClosedError), waits for the count to reach 0 and only then frees the engine.
    The condition's lock is re-entrant because finalizers (which call ``enter``) may run from
    the garbage collector while this thread holds it.
    """

    def __init__(self, ptr: Any) -> None:
        self.ptr = ptr
        self.cv = threading.Condition(threading.RLock())
        self.active = 0
        self.closing = False
        self.freed = False
        self.subs: Dict[int, _Subscription] = {}
        self.graveyard: List[_Subscription] = []
        self.dispatcher_ident: Optional[int] = None
        self.streams: "weakref.WeakValueDictionary[int, Stream]" = weakref.WeakValueDictionary()
        self.jobs: "weakref.WeakValueDictionary[int, Job]" = weakref.WeakValueDictionary()

    # -- in-flight accounting

    def enter(self) -> Any:
        with self.cv:
            if self.closing:
                raise ClosedError(
                    "this tonecore.Engine is closed", None, "the engine is closed"
                )
            self.active += 1
            return self.ptr

    def exit(self) -> None:
        with self.cv:
            self.active -= 1
            if self.closing and self.active == 0:
                self.cv.notify_all()

    def call(self, name: str, *args: Any) -> int:
        """``lib.<name>(engine, *args)`` inside enter/exit; returns the status."""
        ptr = self.enter()
        try:
            return int(getattr(_native.lib, name)(ptr, *args))
        finally:
            self.exit()

    def check(self, name: str, *args: Any) -> None:
        ptr = self.enter()
        try:
            status = getattr(_native.lib, name)(ptr, *args)
            if status != _native.STATUS_OK:
                _native.raise_for_status(status, name)
        finally:
            self.exit()

    # -- registries of Python objects by native id

    def register(self, table: "weakref.WeakValueDictionary[int, Any]", ident: int,
                 obj: Any) -> None:
        with self.cv:
            table[ident] = obj
            self.cv.notify_all()

    def lookup(self, table: "weakref.WeakValueDictionary[int, Any]", ident: int,
               alive: Callable[[], bool]) -> Any:
        """The registered object for ``ident``; waits (bounded) while the id is live natively
        but its object not registered yet. None when the id is not live."""
        deadline: Optional[float] = None
        while True:
            with self.cv:
                obj = table.get(ident)
                if obj is not None:
                    return obj
            if not alive():
                return None
            now = time.monotonic()
            if deadline is None:
                deadline = now + _REGISTRATION_WAIT
            elif now > deadline:
                return None
            with self.cv:
                if table.get(ident) is None:
                    self.cv.wait(0.01)

    # -- closing

    def on_dispatcher(self) -> bool:
        return self.dispatcher_ident is not None and threading.get_ident() == self.dispatcher_ident

    def close(self) -> None:
        if self.on_dispatcher():
            raise ConcurrentUse(
                "tonecore.Engine.close() cannot run inside one of its event callbacks (it "
                "waits for the callback's own thread)",
                None,
                "close from an event callback",
            )
        with self.cv:
            if self.closing:
                while not self.freed:
                    self.cv.wait()
                return
            self.closing = True
        # Wait for calls in flight. Closing the live streams frees the cap's slots, so an
        # open_stream waiting for one returns promptly; Job waits run in short slices.
        while True:
            with self.cv:
                if self.active == 0:
                    break
                ids = list(self.streams.keys())
            for ident in ids:
                _native.lib.tonecore_engine_stream_close(self.ptr, ident)
            with self.cv:
                if self.active == 0:
                    break
                self.cv.wait(0.05)
        ptr, self.ptr = self.ptr, None
        try:
            if ptr is not None:
                # Joins every engine thread; events already queued are still delivered to the
                # subscribed callbacks (their thunks are kept until after this returns).
                _native.lib.tonecore_engine_free(ptr)
        finally:
            with self.cv:
                self.freed = True
                self.subs.clear()
                self.graveyard.clear()
                self.cv.notify_all()

    def finalize(self) -> None:
        """The Engine's finalizer: close, but never on the dispatcher thread (where the free
        would wait for itself); there it is handed to a short-lived thread."""
        if self.closing:
            return
        if self.on_dispatcher():
            threading.Thread(target=self.close, name="tonecore-engine-close").start()
        else:
            self.close()

    # -- quiet clean-ups for finalizers

    def close_stream_quiet(self, ident: int) -> None:
        try:
            self.call("tonecore_engine_stream_close", ident)
        except ClosedError:
            pass

    def release_job_quiet(self, ident: int) -> None:
        try:
            self.call("tonecore_engine_job_release", ident)
        except ClosedError:
            pass


# -- the engine ---------------------------------------------------------------------------


class Engine:
    """One shared engine for a whole host: keyed playback streams under an engine-wide cap,
    background render jobs, event callbacks, a shared chunk cache and consistent statistics.

    Meant to be created once per process and shared by every thread; every method may be
    called from any thread at once. Holds a native ``tonecore_engine`` with its own threads
    (a job pool of ``worker_threads``, one event dispatcher, and one render worker per open
    stream). Use it as a context manager or call :meth:`close`; a finalizer closes it if you
    forget. After :meth:`close`, every method raises :class:`tonecore.ClosedError`.

    Parameters
    ----------
    Every parameter left at None takes the library's default (``tonecore_engine_config_init``,
    the same as Rust's ``EngineConfig::default()``).

    max_streams : int, optional
        Live streams allowed at once across all keys, 1–4096. Default 16.
    worker_threads : int or None, optional
        Threads of the job pool (<= 1024); None (default) or 0: one per core.
    cache_bytes : int, optional
        Byte budget of the shared chunk cache (0 disables caching). Default 256 MiB.
    max_jobs : int, optional
        Jobs held at once (running, or finished and not yet taken or released), 1–65536.
        Default 256.

    Raises
    ------
    tonecore.InvalidArgument
        ``max_streams`` or ``max_jobs`` out of range, too many ``worker_threads`` (status 2).
    tonecore.Error
        The engine's threads could not be started (status 202).
    TypeError, ValueError
        Arguments that are not non-negative integers.

    Notes
    -----
    Streams (:meth:`open_stream`): at most one per *key* (an integer naming the listener,
    e.g. a connection id); opening a key again replaces its stream atomically, and the old
    :class:`Stream` raises :class:`tonecore.StaleHandle` from then on. At most ``max_streams``
    live at once: at the cap, ``open_stream`` raises :class:`tonecore.Busy` at once
    (``timeout=None``) or waits up to ``timeout`` seconds for a slot.

    Jobs (:meth:`submit_render`): offline chunked renders on the pool. While a job with a
    ``key`` runs, another submission with that key starts nothing and raises
    :class:`tonecore.AlreadyRunning`, whose ``.job`` is the running :class:`Job` (and
    ``.existing_id`` its id).

    Keep the :class:`Stream` and :class:`Job` objects you want: dropping the last reference
    to one closes the stream / releases (cancels) the job, like :meth:`Stream.close` and
    :meth:`Job.release`.

    Examples
    --------
    >>> with tonecore.Engine(max_streams=4) as engine:
    ...     stream = engine.open_stream(client_id, track, 48000, cfg)
    ...     block = stream.read(256)                    # (256, channels), interleaved
    ...     job = engine.submit_render(track, 48000, cfg, key=7)
    ...     y = job.result()                            # planar, like track
    ...     engine.stats()["streams_open"]
    1
    """

    def __init__(
        self,
        max_streams: Optional[int] = None,
        worker_threads: Optional[int] = None,
        cache_bytes: Optional[int] = None,
        max_jobs: Optional[int] = None,
    ) -> None:
        self._core: Optional[_Core] = None
        c = _native.config_init(_native.EngineConfig)
        # None keeps the library's default from tonecore_engine_config_init.
        if max_streams is not None:
            c.max_streams = size_arg(max_streams, "max_streams", U32_MAX)
        if worker_threads is not None:
            c.worker_threads = size_arg(worker_threads, "worker_threads", U32_MAX)
        if cache_bytes is not None:
            c.cache_bytes = size_arg(cache_bytes, "cache_bytes", _U64_MAX)
        if max_jobs is not None:
            c.max_jobs = size_arg(max_jobs, "max_jobs", U32_MAX)
        ptr = _native.ENGINE_P()
        _native.check(_native.lib.tonecore_engine_new(byref(c), byref(ptr)),
                      "tonecore_engine_new")
        core = _Core(ptr)
        self._core = core
        self._max_streams = int(c.max_streams)
        self._max_jobs = int(c.max_jobs)
        self._cache_bytes = int(c.cache_bytes)
        # The finalizer holds the core, never `self`.
        self._finalizer = weakref.finalize(self, core.finalize)

    # -- lifetime -----------------------------------------------------------------------

    def close(self) -> None:
        """Close every stream, cancel every job, stop and join the engine's threads and free
        it. Idempotent.

        Waits for engine calls in progress on other threads to return first (closing the
        streams frees the slots an ``open_stream`` may be waiting for, and job waits notice
        the close within 0.1 s); calls started afterwards raise :class:`tonecore.ClosedError`.
        Events already emitted are still delivered to the subscribed callbacks during the
        close. Streams and jobs of this engine raise :class:`tonecore.ClosedError` afterwards.

        Raises
        ------
        tonecore.ConcurrentUse
            Called from one of this engine's event callbacks (it would wait for itself).
        """
        if self._core is None:
            return
        if self._core.on_dispatcher():
            self._core.close()  # raises ConcurrentUse
        self._finalizer.detach()
        self._core.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` started (or if construction failed)."""
        return self._core is None or self._core.closing

    def __enter__(self) -> "Engine":
        if self.closed:
            raise self._closed_error()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> Any:
        raise TypeError("tonecore.Engine holds a native object and cannot be pickled")

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return (
            f"<tonecore.Engine max_streams={self._max_streams if self._core else '?'} "
            f"max_jobs={self._max_jobs if self._core else '?'}{state}>"
        )

    def _closed_error(self) -> ClosedError:
        return ClosedError("this tonecore.Engine is closed", None, "the engine is closed")

    def _c(self) -> _Core:
        if self._core is None:
            raise self._closed_error()
        return self._core

    # -- settings -----------------------------------------------------------------------

    @property
    def max_streams(self) -> int:
        """The stream cap."""
        return self._max_streams

    @property
    def max_jobs(self) -> int:
        """The most jobs held at once."""
        return self._max_jobs

    @property
    def cache_capacity(self) -> int:
        """The chunk cache's byte budget."""
        return self._cache_bytes

    # -- streams ------------------------------------------------------------------------

    def open_stream(
        self,
        key: int,
        audio: FloatArray,
        sample_rate: int,
        pipeline: PipelineArg = None,
        *,
        chunk_seconds: float = RENDER_DEFAULTS.chunk_seconds,
        context_seconds: Optional[float] = None,
        crossfade_seconds: float = RENDER_DEFAULTS.crossfade_seconds,
        lookahead_chunks: int = RENDER_DEFAULTS.lookahead_chunks,
        seek_fade_ms: float = RENDER_DEFAULTS.seek_fade_ms,
        curve: str = DEFAULT_FADE_CURVE,
        content_id: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> "Stream":
        """Open a playback stream of ``audio`` through ``pipeline`` for the host's ``key``.

        The track is copied, rendered chunk by chunk ahead of the listener by a native worker
        (through the engine's shared chunk cache) and handed out by :meth:`Stream.read`.
        Read sequentially from the start, a stream produces exactly what
        :func:`tonecore.render_chunked` produces with the same settings.

        If ``key`` already has a stream, that stream is replaced atomically: its id is stale
        from this instant (its :class:`Stream` raises :class:`tonecore.StaleHandle`) and its
        worker has stopped when this returns. Replacing never needs a free slot.

        Parameters
        ----------
        key : int
            The host's key for this listener, 0 to 2**64 - 1.
        audio : numpy.ndarray
            The track, float32 or float64 (the stream's dtype; never converted), C-contiguous:
            ``(frames,)`` (mono) or planar ``(channels, frames)`` with 1–64 channels.
        sample_rate : int
            Sample rate in Hz (> 0).
        pipeline : PipelineConfig or dict, optional
            The stages (see :class:`tonecore.PipelineConfig`). None (default): every stage
            bypassed, so the stream plays the track unchanged.
        chunk_seconds, context_seconds, crossfade_seconds, curve : optional
            Chunk geometry and seam crossfade, as for :func:`tonecore.render_chunked`.
        lookahead_chunks : int, optional
            Chunks rendered ahead of the listener (>= 1). Default 2.
        seek_fade_ms : float, optional
            Fade-out and fade-in around a seek in ms, 0–1000. Default 5.
        content_id : int, optional
            Your id of the track's content (e.g. a file hash), 1 to 2**64 - 1, for the chunk
            cache. None (default): the samples are hashed (about 10 GB/s).
        timeout : float, optional
            At the cap: None or 0 (default) raises :class:`tonecore.Busy` at once; a number
            of seconds waits up to that long for a slot, then raises Busy.

        Returns
        -------
        Stream

        Raises
        ------
        tonecore.Busy
            ``max_streams`` streams are live (after ``timeout``); nothing was opened.
        tonecore.OutOfMemory
            The track's copy could not be reserved (status 201); nothing was opened.
        tonecore.InvalidArgument
            Invalid geometry (status 21), ``lookahead_chunks`` 0, ``seek_fade_ms`` out of range
            or ``timeout`` NaN/huge (status 19), sample rate 0 (13), 0 or more than 64
            channels (14), the pipeline settings' errors.
        tonecore.ClosedError
            The engine is closed.
        TypeError, ValueError
            Wrong types, dtype, dimensions or layout of ``audio``; negative ``key`` or
            ``timeout``; ``content_id`` 0.
        """
        core = self._c()
        key = _u64_arg(key, "key")
        audio, channels = _track_arg(audio)
        sr = sample_rate_arg(sample_rate)
        cfg = _config_arg(pipeline)
        cid = _optional_id_arg(content_id, "content_id")
        wait = _timeout_arg(timeout)
        render = _c_render_config(chunk_seconds, context_seconds, crossfade_seconds, curve,
                                  lookahead_chunks=lookahead_chunks, seek_fade_ms=seek_fade_ms)
        pipe, _layout, keepalive = _c_pipeline_config(cfg, sr, channels, audio.dtype)
        ct = _native.sample_ctype(audio.dtype)
        name = ("tonecore_engine_open_stream_f32" if audio.dtype == F32
                else "tonecore_engine_open_stream_f64")
        ident = c_uint64()
        ptr = core.enter()
        try:
            status = getattr(_native.lib, name)(
                ptr, key, byref(pipe), byref(render),
                _native.pointer_to(audio, ct), audio.size, cid, wait, byref(ident),
            )
            if status != _native.STATUS_OK:
                _native.raise_for_status(status, name)
            stream = Stream(self, int(ident.value), key, audio, sr, cfg)
            core.register(core.streams, stream.id, stream)
        finally:
            core.exit()
        del keepalive
        return stream

    def stream_for_key(self, key: int) -> Optional["Stream"]:
        """The live :class:`Stream` of ``key`` (the same object :meth:`open_stream` returned),
        or None when the key has no stream.

        Raises
        ------
        tonecore.ClosedError
            The engine is closed.
        """
        core = self._c()
        key = _u64_arg(key, "key")
        ident = c_uint64()
        status = core.call("tonecore_engine_stream_for_key", key, byref(ident))
        if status == _native.STATUS_STALE_ID:
            return None
        _native.check(status, "tonecore_engine_stream_for_key")
        sid = int(ident.value)
        stream: Optional[Stream] = core.lookup(core.streams, sid, lambda: self._stream_live(sid))
        return stream

    def _stream_live(self, sid: int) -> bool:
        s = _native.PlaybackStats()
        return self._c().call("tonecore_engine_stream_get_stats", sid, byref(s),
                              None) == _native.STATUS_OK

    # -- jobs ---------------------------------------------------------------------------

    def submit_render(
        self,
        audio: FloatArray,
        sample_rate: int,
        pipeline: PipelineArg = None,
        *,
        key: Optional[int] = None,
        chunk_seconds: float = RENDER_DEFAULTS.chunk_seconds,
        context_seconds: Optional[float] = None,
        crossfade_seconds: float = RENDER_DEFAULTS.crossfade_seconds,
        curve: str = DEFAULT_FADE_CURVE,
        content_id: Optional[int] = None,
    ) -> "Job":
        """Start an offline chunked render of ``audio`` through ``pipeline`` on the engine's
        job pool and return its :class:`Job` at once.

        The result equals :func:`tonecore.render_chunked` with the same settings; chunks
        already in the shared cache (same content, settings and chunk) are reused.

        Parameters
        ----------
        audio : numpy.ndarray
            float32 or float64, C-contiguous, ``(frames,)`` or planar ``(channels, frames)``;
            copied. The result has its shape and dtype.
        sample_rate : int
            Sample rate in Hz (> 0).
        pipeline : PipelineConfig or dict, optional
            The stages; None (default): every stage bypassed.
        key : int, optional
            A job key, 1 to 2**64 - 1. While a job with this key runs, another submission with
            it starts nothing and raises :class:`tonecore.AlreadyRunning` carrying ``.job``
            (the running :class:`Job`, the very object its submitter got) and
            ``.existing_id``. None (default): no key.
        chunk_seconds, context_seconds, crossfade_seconds, curve : optional
            Chunk geometry and seams, as for :func:`tonecore.render_chunked`.
        content_id : int, optional
            As for :meth:`open_stream`.

        Returns
        -------
        Job
            Keep it: dropping the last reference releases (cancels) the job.

        Raises
        ------
        tonecore.AlreadyRunning
            A job with ``key`` is running; ``.job`` is it.
        tonecore.Busy
            ``max_jobs`` jobs are held (take or release some).
        tonecore.OutOfMemory
            The input's copy could not be reserved (status 201); nothing was started.
        tonecore.InvalidArgument
            Invalid geometry, sample rate, channels or pipeline settings.
        tonecore.ClosedError
            The engine is closed.
        TypeError, ValueError
            Wrong types, dtype, dimensions or layout; ``key`` or ``content_id`` 0.
        """
        core = self._c()
        audio, channels = _track_arg(audio)
        sr = sample_rate_arg(sample_rate)
        cfg = _config_arg(pipeline)
        jkey = _optional_id_arg(key, "key")
        cid = _optional_id_arg(content_id, "content_id")
        render = _c_render_config(chunk_seconds, context_seconds, crossfade_seconds, curve)
        pipe, _layout, keepalive = _c_pipeline_config(cfg, sr, channels, audio.dtype)
        ct = _native.sample_ctype(audio.dtype)
        name = ("tonecore_engine_submit_render_f32" if audio.dtype == F32
                else "tonecore_engine_submit_render_f64")
        while True:
            ident = c_uint64()
            ptr = core.enter()
            try:
                status = getattr(_native.lib, name)(
                    ptr, byref(pipe), byref(render), _native.pointer_to(audio, ct), audio.size,
                    jkey, cid, byref(ident),
                )
                if status == _native.STATUS_OK:
                    job = Job(self, int(ident.value), key, audio.shape, audio.dtype)
                    core.register(core.jobs, job.id, job)
                    del keepalive
                    return job
                if status != _native.STATUS_ALREADY_RUNNING:
                    _native.raise_for_status(status, name)
                detail = _native.last_error_message() or _native.status_str(status)
            finally:
                core.exit()
            jid = int(ident.value)
            running: Optional[Job] = core.lookup(core.jobs, jid, lambda: self._job_live(jid))
            if running is None and not self._job_live(jid):
                continue  # it ended and was released meanwhile: the key is free, submit again
            exc = AlreadyRunning(
                f"{name} failed: {detail} (job {jid} is running; status {status}: "
                f"{_native.status_str(status)})",
                status,
                detail,
                existing_id=jid,
            )
            # The running job (None only if its submitter never got to register it).
            setattr(exc, "job", running)
            raise exc

    def _job_live(self, jid: int) -> bool:
        p = _native.JobProgress()
        return self._c().call("tonecore_engine_job_progress", jid,
                              byref(p)) == _native.STATUS_OK

    # -- events -------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[EngineEvent], Any], events: EventsArg = None) -> int:
        """Call ``callback(event)`` for every event of the selected kinds emitted from now on.

        ``event`` is an :class:`EngineEvent` (a named tuple). The callback runs on the
        engine's dispatcher thread (never an audio thread), one call at a time, exactly once
        per event and subscription, in emission order. Its return value is ignored. An
        exception it raises is contained: it is counted in ``stats()["callback_errors"]``
        and the first one per subscription is reported as a :class:`RuntimeWarning`; it
        never reaches the engine or the thread that caused the event. A callback may call any
        engine method except :meth:`close` and :meth:`flush_events` (those raise
        :class:`tonecore.ConcurrentUse` there); it may unsubscribe itself.

        Parameters
        ----------
        callback : callable
            ``callback(event: EngineEvent) -> Any``.
        events : str, iterable of str, or None, optional
            Kinds to receive: names from :data:`tonecore.EVENT_KINDS` (``"stream_opened"``,
            ``"stream_closed"``, ``"job_progress"``, ``"job_finished"``), one name, or None
            (default) for all.

        Returns
        -------
        int
            The subscription's token for :meth:`unsubscribe`.

        Raises
        ------
        TypeError
            ``callback`` not callable (None included); event names not str.
        ValueError
            Unknown event names, or none selected.
        tonecore.ClosedError
            The engine is closed.
        """
        core = self._c()
        if not callable(callback):
            raise TypeError(f"callback must be callable, not {type(callback).__name__}")
        mask = _events_mask(events)
        sub = _Subscription(core, callback, mask)
        token = c_uint64()
        core.check("tonecore_engine_subscribe", mask, sub.thunk, None, byref(token))
        with core.cv:
            core.subs[int(token.value)] = sub
        return int(token.value)

    def unsubscribe(self, token: int) -> None:
        """End a subscription. When this returns, its callback is not running and will never
        be called again (called from inside that callback, it returns at once and the
        current call is the last).

        Raises
        ------
        tonecore.StaleHandle
            Unknown or already removed token (or another engine's).
        tonecore.ClosedError
            The engine is closed.
        TypeError, ValueError
            ``token`` not a non-negative integer.
        """
        core = self._c()
        token = _u64_arg(token, "token")
        core.check("tonecore_engine_unsubscribe", token)
        with core.cv:
            sub = core.subs.pop(token, None)
            if sub is not None and core.on_dispatcher():
                # Possibly the running callback's own thunk: keep it until that call returned.
                core.graveyard.append(sub)
        del sub

    def flush_events(self) -> None:
        """Wait until every event emitted before this call has been delivered to the
        callbacks.

        Raises
        ------
        tonecore.ConcurrentUse
            Called from an event callback (status 100).
        tonecore.ClosedError
            The engine is closed.
        """
        self._c().check("tonecore_engine_flush_events")

    # -- stats and cache ----------------------------------------------------------------

    def stats(self) -> Dict[str, int]:
        """One consistent snapshot of the engine's counters.

        Related fields come from the same instant: ``streams_open`` never exceeds
        ``max_streams`` and equals the number of stream ids valid at that instant, and
        ``streams_open == streams_opened - streams_replaced - streams_closed``;
        ``jobs_submitted == jobs_running + jobs_done + jobs_cancelled + jobs_failed``;
        ``cache_bytes <= cache_capacity``.

        Returns
        -------
        dict
            All ints: ``max_streams``, ``streams_open``, ``streams_peak``, ``streams_opened``,
            ``streams_replaced``, ``streams_closed``, ``busy_refusals``, ``underrun_frames``,
            ``jobs_submitted``, ``jobs_running``, ``jobs_done``, ``jobs_cancelled``,
            ``jobs_failed``, ``jobs_held``, ``frames_rendered``, ``chunks_rendered``,
            ``cache_hits``, ``cache_misses``, ``cache_evictions``, ``cache_entries``,
            ``cache_bytes``, ``cache_capacity``, ``subscriptions``, ``events_emitted``,
            ``callbacks_invoked``, ``callback_errors`` (see ``tonecore_engine_stats`` in the
            header).

        Raises
        ------
        tonecore.ClosedError
            The engine is closed.
        """
        s = _native.EngineStats()
        s.struct_size = sizeof(_native.EngineStats)
        self._c().check("tonecore_engine_get_stats", byref(s))
        return {name: int(getattr(s, name)) for name in _STATS_FIELDS}

    def clear_cache(self) -> None:
        """Drop every chunk of the shared cache (counters are kept).

        Raises
        ------
        tonecore.ClosedError
            The engine is closed.
        """
        self._c().check("tonecore_engine_clear_cache")


# -- streams ------------------------------------------------------------------------------


class Stream(_TrackInfo):
    """A keyed playback stream of an :class:`Engine` (from :meth:`Engine.open_stream`).

    Wraps the stream's 64-bit id (:attr:`id`). Once the stream is replaced (another
    ``open_stream`` with the same key) or closed elsewhere, its id is stale and every method
    except :meth:`close` raises :class:`tonecore.StaleHandle`; after :meth:`close` on this
    object or :meth:`Engine.close`, they raise :class:`tonecore.ClosedError`.

    Threads: :meth:`read` belongs to one (audio) thread at a time (a second thread reading
    the same stream at the same moment gets :class:`tonecore.ConcurrentUse`); every other
    method works from any thread, also while another thread is inside :meth:`read`.

    A context manager (closing on exit); dropping the last reference closes the stream too.
    """

    def __init__(self, engine: Engine, ident: int, key: int, audio: FloatArray,
                 sample_rate: int, config: PipelineConfig) -> None:
        self._engine = engine
        self._core: _Core = engine._c()
        self._id = ident
        self._key = key
        self._channels = 1 if audio.ndim == 1 else int(audio.shape[0])
        self._frames = int(audio.shape[-1])
        self._mono = audio.ndim == 1
        self._dtype = np.dtype(audio.dtype)
        self._sample_rate = sample_rate
        self._config = config
        self._closed = False
        self._last_read_frames = 0
        self._read_name = ("tonecore_engine_stream_read_f32" if self._dtype == F32
                           else "tonecore_engine_stream_read_f64")
        # read() is an audio-thread call: bound once, buffers as addresses (see _native.function).
        self._read_fn = _native.function(self._read_name, c_void_p, c_uint64, c_void_p, c_size_t,
                                         c_void_p)
        self._finalizer = weakref.finalize(self, self._core.close_stream_quiet, ident)

    # -- identity and properties

    @property
    def id(self) -> int:
        """The stream's 64-bit id (engine tag, slot, generation)."""
        return self._id

    @property
    def key(self) -> int:
        """The key it was opened for."""
        return self._key

    @property
    def engine(self) -> Engine:
        """The engine it belongs to."""
        return self._engine

    @property
    def last_read_frames(self) -> int:
        """How many frames of the last :meth:`read` (on this object) came from the track: the
        first ``last_read_frames`` frames of its result; the rest was silence (paused, not
        rendered yet, or past the end)."""
        return self._last_read_frames

    @property
    def closed(self) -> bool:
        """True after :meth:`close` on this object or :meth:`Engine.close`."""
        return self._closed or self._core.closing

    @property
    def alive(self) -> bool:
        """True while the id is valid: not closed, replaced or shut down."""
        if self.closed:
            return False
        s = _native.PlaybackStats()
        try:
            return self._core.call("tonecore_engine_stream_get_stats", self._id, byref(s),
                                   None) == _native.STATUS_OK
        except ClosedError:
            return False

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return (
            f"<tonecore.Stream id={self._id:#x} key={self._key} channels={self._channels} "
            f"frames={self._frames} dtype=numpy.{self._dtype.name}{state}>"
        )

    def __enter__(self) -> "Stream":
        if self.closed:
            raise self._closed_error()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> Any:
        raise TypeError("tonecore.Stream is bound to a live engine and cannot be pickled")

    def _closed_error(self) -> ClosedError:
        what = "engine" if self._core.closing else "stream"
        return ClosedError(f"this tonecore.Stream's {what} is closed", None,
                           f"the {what} is closed")

    def _enter(self) -> Any:
        if self._closed:
            raise self._closed_error()
        return self._core.enter()

    def _check(self, name: str, *args: Any) -> None:
        ptr = self._enter()
        try:
            status = getattr(_native.lib, name)(ptr, self._id, *args)
            if status != _native.STATUS_OK:
                self._raise(status, name, False)
        finally:
            self._core.exit()

    def _raise(self, status: int, name: str, audio_path: bool) -> None:
        if status == _native.STATUS_STALE_ID and self._core.closing:
            # The engine's close closed this stream under a call in flight.
            raise self._closed_error()
        _native.raise_for_status(status, name, audio_path=audio_path)

    # -- audio

    def read(self, frames: int, out: Optional[FloatArray] = None) -> FloatArray:
        """The next ``frames`` frames, interleaved. Never blocks.

        The first :attr:`last_read_frames` frames come from the track; the rest is silence
        (paused, data not rendered yet, or past the end of the track).

        Parameters
        ----------
        frames : int
            Frames to produce (>= 0).
        out : numpy.ndarray, optional
            Destination of exactly the result's shape and the stream's dtype, C-contiguous,
            writeable; written in place and returned.

        Returns
        -------
        numpy.ndarray
            The stream's dtype; ``(frames,)`` when the track was 1-D, else
            ``(frames, channels)`` (interleaved: one row per frame).

        Raises
        ------
        tonecore.StaleHandle
            The stream was replaced or closed elsewhere (status 104).
        tonecore.ConcurrentUse
            Another thread is inside :meth:`read` of this stream (status 100).
        tonecore.ClosedError
            Closed (this object, or the engine).
        TypeError, ValueError
            ``frames`` not a non-negative integer; ``out`` of another dtype or shape.
        """
        frames = size_arg(frames, "frames")
        shape = (frames,) if self._mono else (frames, self._channels)
        if out is None:
            out = np.empty(shape, dtype=self._dtype)
        else:
            out_array(out, self._dtype, shape)
        self._last_read_frames = self._read(out)
        return out

    def read_into(self, out: FloatArray) -> int:
        """Fill ``out`` with the next frames and return how many came from the track (the
        rest of ``out`` is silence). Never blocks, allocates nothing; the count is returned
        rather than stored, so it is exact even when several threads share this object.

        Parameters
        ----------
        out : numpy.ndarray
            The stream's dtype, C-contiguous, writeable: ``(frames, channels)``
            (``(frames,)`` for a 1-D track); any number of frames.

        Raises
        ------
        As for :meth:`read`.
        """
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a numpy.ndarray, not {type(out).__name__}")
        shape = out.shape if self._mono else (out.shape[0] if out.ndim else 0, self._channels)
        if out.ndim != (1 if self._mono else 2):
            want = "(frames,)" if self._mono else f"(frames, {self._channels})"
            raise ValueError(f"out must have shape {want}, not {out.shape}")
        out_array(out, self._dtype, shape)
        return self._read(out)

    def _read(self, out: FloatArray) -> int:
        n = c_size_t()
        ptr = self._enter()
        try:
            status = self._read_fn(ptr, self._id, _native.address(out), out.size, byref(n))
            if status != _native.STATUS_OK:
                self._raise(status, self._read_name, True)
        finally:
            self._core.exit()
        return int(n.value)

    # -- control

    def seek(self, seconds: float) -> None:
        """Move playback to ``seconds`` (sample-accurate; faded out and in over
        ``seek_fade_ms``). Any thread, wait-free. See :meth:`tonecore.PlaybackStream.seek`.

        Raises
        ------
        tonecore.InvalidArgument
            NaN, infinite, negative or past the end (status 19).
        tonecore.StaleHandle, tonecore.ClosedError
            As for :meth:`read`.
        """
        self._check("tonecore_engine_stream_seek", real_arg(seconds, "seconds"))

    def pause(self) -> None:
        """Pause: :meth:`read` outputs silence without advancing. Any thread, wait-free.

        Raises
        ------
        tonecore.StaleHandle, tonecore.ClosedError
            As for :meth:`read`.
        """
        self._check("tonecore_engine_stream_set_paused", 1)

    def resume(self) -> None:
        """Resume after :meth:`pause`. Any thread, wait-free.

        Raises
        ------
        tonecore.StaleHandle, tonecore.ClosedError
            As for :meth:`read`.
        """
        self._check("tonecore_engine_stream_set_paused", 0)

    @property
    def paused(self) -> bool:
        """Whether the stream is paused (settable: ``stream.paused = True``)."""
        return bool(self.stats()["paused"])

    @paused.setter
    def paused(self, value: bool) -> None:
        self._check("tonecore_engine_stream_set_paused", 1 if value else 0)

    def stats(self) -> Dict[str, int]:
        """The stream's counters. Any thread, wait-free.

        Returns
        -------
        dict
            ``frames_read``, ``underrun_frames``, ``seeks``, ``chunks_rendered``,
            ``position`` (as :meth:`tonecore.PlaybackStream.stats`) and ``paused`` (0 or 1).

        Raises
        ------
        tonecore.StaleHandle, tonecore.ClosedError
            As for :meth:`read`.
        """
        s = _native.PlaybackStats()
        paused = c_int32()
        self._check("tonecore_engine_stream_get_stats", byref(s), byref(paused))
        return {
            "frames_read": int(s.frames_read),
            "underrun_frames": int(s.underrun_frames),
            "seeks": int(s.seeks),
            "chunks_rendered": int(s.chunks_rendered),
            "position": int(s.position),
            "paused": int(paused.value),
        }

    def normalization(self) -> Optional[Dict[str, Any]]:
        """What normalising the track at open did (level stage in ``"integrated"`` mode, the
        default), as :meth:`tonecore.PlaybackStream.normalization`; None otherwise. The engine
        measures a track once per content and settings: reopening it reuses the result. Any
        thread, wait-free.

        Raises
        ------
        tonecore.StaleHandle, tonecore.ClosedError
            As for :meth:`read`.
        """
        return _stream_normalization(
            lambda report, flag: self._check("tonecore_engine_stream_get_normalization",
                                             report, flag))

    def close(self) -> bool:
        """Close the stream: its id turns stale, its slot is free for the next open, and its
        worker has stopped when this returns. Never raises for a stream that is already gone.

        Returns
        -------
        bool
            True if this call closed the stream; False if it was already closed, replaced,
            or its engine closed (a stale id can never close its key's newer stream).
        """
        if self._closed:
            return False
        self._closed = True
        self._finalizer.detach()
        try:
            status = self._core.call("tonecore_engine_stream_close", self._id)
        except ClosedError:
            return False
        if status == _native.STATUS_STALE_ID:
            return False
        _native.check(status, "tonecore_engine_stream_close")
        return True


# -- jobs ---------------------------------------------------------------------------------


class Job:
    """A background render of an :class:`Engine` (from :meth:`Engine.submit_render`).

    Wraps the job's 64-bit id (:attr:`id`). The job is held by the engine (and counts toward
    ``max_jobs``) until :meth:`result` takes its output or :meth:`release` discards it; after
    that the id is stale and :attr:`progress`, :meth:`cancel` and :meth:`wait` raise
    :class:`tonecore.StaleHandle` (:meth:`result` keeps returning the taken array).

    A context manager (releasing on exit unless the result was taken); dropping the last
    reference releases it too (cancelling it if it still runs).
    """

    def __init__(self, engine: Engine, ident: int, key: Optional[int],
                 shape: Tuple[int, ...], dtype: np.dtype) -> None:
        self._engine = engine
        self._core: _Core = engine._c()
        self._id = ident
        self._key = key
        self._shape = tuple(int(n) for n in shape)
        self._dtype = np.dtype(dtype)
        self._lock = threading.Lock()
        self._result: Optional[FloatArray] = None
        self._gone = False
        self._finalizer = weakref.finalize(self, self._core.release_job_quiet, ident)

    @property
    def id(self) -> int:
        """The job's 64-bit id."""
        return self._id

    @property
    def key(self) -> Optional[int]:
        """Its job key, or None."""
        return self._key

    @property
    def shape(self) -> Tuple[int, ...]:
        """The result's shape (the input's)."""
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        """The result's dtype (the input's)."""
        return self._dtype

    @property
    def engine(self) -> Engine:
        """The engine it runs on."""
        return self._engine

    def __repr__(self) -> str:
        return f"<tonecore.Job id={self._id:#x} key={self._key} shape={self._shape}>"

    def __enter__(self) -> "Job":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __reduce__(self) -> Any:
        raise TypeError("tonecore.Job is bound to a live engine and cannot be pickled")

    def _forget(self) -> None:
        """The native job is gone (taken or released): nothing to release at collection."""
        self._gone = True
        self._finalizer.detach()

    @property
    def progress(self) -> JobProgress:
        """Chunks done and in all, the state and its status (:class:`JobProgress`).

        Raises
        ------
        tonecore.StaleHandle
            Taken or released (status 104).
        tonecore.ClosedError
            The engine is closed.
        """
        p = _native.JobProgress()
        self._core.check("tonecore_engine_job_progress", self._id, byref(p))
        return _progress(p)

    @property
    def state(self) -> str:
        """``"running"``, ``"done"``, ``"cancelled"`` or ``"failed"`` (as :attr:`progress`)."""
        return self.progress.state

    def cancel(self) -> None:
        """Ask the job to stop; it ends ``"cancelled"`` within one 4096-frame block per
        worker. Returns at once; cancelling a finished job changes nothing.

        Raises
        ------
        tonecore.StaleHandle
            Taken or released.
        tonecore.ClosedError
            The engine is closed.
        """
        self._core.check("tonecore_engine_job_cancel", self._id)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait until the job ends (done, cancelled or failed).

        Parameters
        ----------
        timeout : float or None, optional
            Seconds to wait at most; None (default): no limit; 0: just check.

        Returns
        -------
        bool
            True if the job has ended, False if the timeout ran out first.

        Raises
        ------
        tonecore.StaleHandle
            Taken or released.
        tonecore.ClosedError
            The engine is (or gets) closed.
        """
        limit = _wait_arg(timeout)
        deadline = None if limit is None else time.monotonic() + limit
        while True:
            left = _WAIT_SLICE if deadline is None else min(
                _WAIT_SLICE, max(0.0, deadline - time.monotonic()))
            status = self._core.call("tonecore_engine_job_wait", self._id, left, None)
            if status == _native.STATUS_OK:
                return True
            if status != _native.STATUS_TIMEOUT:
                _native.raise_for_status(status, "tonecore_engine_job_wait")
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def result(self, timeout: Optional[float] = None,
               out: Optional[FloatArray] = None) -> FloatArray:
        """Wait for the job, then take its output (the input's shape and dtype).

        Taking removes the job from the engine (its id turns stale); the array is kept by this
        object, so calling :meth:`result` again returns it.

        Parameters
        ----------
        timeout : float or None, optional
            Seconds to wait at most; None (default): no limit.
        out : numpy.ndarray, optional
            Destination of exactly the input's shape and dtype, C-contiguous; written in
            place and returned.

        Returns
        -------
        numpy.ndarray

        Raises
        ------
        tonecore.Timeout
            The job was still running when ``timeout`` ran out (it keeps running).
        tonecore.Cancelled
            The job was cancelled (it is removed).
        tonecore.Error
            The job failed: the exception of its status (it is removed).
        tonecore.StaleHandle
            Released (or taken through another id).
        tonecore.ClosedError
            The engine is closed.
        """
        if self._result is not None and out is None:
            return self._result
        if out is not None:
            out_array(out, self._dtype, self._shape)
        if not self.wait(timeout):
            raise Timeout(
                f"tonecore.Job.result: the job was still running after {timeout} s",
                _native.STATUS_TIMEOUT,
                "the wait timed out",
            )
        with self._lock:
            if self._result is not None:
                if out is None:
                    return self._result
                out[...] = self._result
                return out
            dst = np.empty(self._shape, dtype=self._dtype) if out is None else out
            name = ("tonecore_engine_job_take_result_f32" if self._dtype == F32
                    else "tonecore_engine_job_take_result_f64")
            ptr = self._core.enter()
            try:
                status = getattr(_native.lib, name)(
                    ptr, self._id, _native.pointer_to(dst, _native.sample_ctype(self._dtype)),
                    dst.size)
                if status not in (_native.STATUS_OK, _native.STATUS_STALE_ID,
                                  _native.STATUS_NOT_FINISHED,
                                  _native.STATUS_BUFFER_TOO_SMALL,
                                  _native.STATUS_WRONG_FORMAT):
                    self._forget()  # it ended cancelled or failed and was removed
                if status != _native.STATUS_OK:
                    _native.raise_for_status(status, name)
            finally:
                self._core.exit()
            self._forget()
            self._result = dst
            return dst

    def release(self) -> bool:
        """Forget the job: cancel it if it runs, remove it and discard its result.

        Returns
        -------
        bool
            True if this call removed it; False if it was already taken or released, or the
            engine is closed.
        """
        if self._gone:
            return False
        self._forget()
        try:
            status = self._core.call("tonecore_engine_job_release", self._id)
        except ClosedError:
            return False
        if status == _native.STATUS_STALE_ID:
            return False
        _native.check(status, "tonecore_engine_job_release")
        return True


def _progress(p: Any) -> JobProgress:
    return JobProgress(
        done=int(p.done),
        total=int(p.total),
        state=_JOB_STATE_NAMES.get(int(p.state), str(int(p.state))),
        status=int(p.status),
    )


for _cls in (Engine, Stream, Job, EngineEvent, JobProgress):
    _cls.__module__ = "tonecore"
del _cls
