"""Private: the lifetime of native objects, and the one per-block call path.

:class:`_Handle` owns one native object pointer and frees it exactly once, never under a running
call; :class:`_NativeObject` is the base of every class holding one (``close``, context
manager, finalizer, pickling refusal); :class:`_AudioObject` adds the per-block
``process`` path that :class:`tonecore.Equalizer`, :class:`tonecore.Pipeline` and
:class:`tonecore.Limiter` share.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import weakref
from ctypes import c_size_t, c_void_p
from typing import Any, Optional, Tuple, TypeVar

import numpy as np
import numpy.typing as npt

from . import _native
from ._checks import input_array, out_array
from ._errors import ClosedError

_T = TypeVar("_T")


class _Handle:
    """Owns one native object pointer and frees it exactly once, never under a running call.

    A call is either *registered* (``acquire``/``release``: a count under ``_lock``) or holds
    the *fast slot* (``_busy``, a lock taken with a non-blocking ``acquire(False)`` for the
    duration of one per-block call; see :meth:`_AudioObject._process_block`): one lock
    operation each way instead of two lock round trips, the cheapest safe bracket available
    from Python. A second per-block call finding the slot taken registers instead (it is not
    serialised: the library refuses it with ``CONCURRENT_USE`` if the object is
    single-threaded). :meth:`close` from another thread marks the handle closing; the object is
    freed as soon as no call is registered and the fast slot is free, by whichever of
    ``close``, the last ``release`` and the fast call's end (:meth:`reap`) sees that first, so
    a close never frees the object under a running call and never waits for one.

    ``free_name`` is the ``tonecore_*_free`` function (looked up at free time) and
    ``type_name`` the Python class name used in the :class:`ClosedError` message. ``address``
    is the pointer as an int, for the functions bound with :func:`_native.function`; like the
    pointer it is only valid inside a registered call or while holding the fast slot.
    """

    __slots__ = ("_ptr", "address", "_lock", "_busy", "_active", "_closing", "_free_name",
                 "_type_name")

    def __init__(self, ptr: Any, free_name: str = "tonecore_stft_free",
                 type_name: str = "Stft") -> None:
        self._ptr = ptr
        self.address: int = ctypes.cast(ptr, c_void_p).value or 0
        self._lock = threading.Lock()
        self._busy = threading.Lock()
        self._active = 0
        self._closing = False
        self._free_name = free_name
        self._type_name = type_name

    @property
    def closed(self) -> bool:
        return self._closing

    def closed_error(self) -> ClosedError:
        return ClosedError(
            f"this tonecore.{self._type_name} is closed; create a new one",
            None,
            "the object is closed",
        )

    # The lock is taken explicitly rather than with `with`: these run around every per-block
    # call, and the context-manager protocol costs as much as the rest of them.

    def acquire(self) -> Any:
        """Registers a call and returns the pointer (ClosedError once closed)."""
        lock = self._lock
        lock.acquire()
        closing = self._closing
        if closing:
            lock.release()
            raise self.closed_error()
        self._active += 1
        lock.release()
        return self._ptr  # stays valid until the matching release()

    def release(self) -> None:
        """Ends a registered call; frees the object if it is closing and now idle."""
        lock = self._lock
        lock.acquire()
        self._active -= 1
        ptr = self._take() if self._closing else None
        lock.release()
        if ptr is not None:
            self._free(ptr)

    def reap(self) -> None:
        """After a fast-slot call found the handle closing: frees the object if now idle."""
        lock = self._lock
        lock.acquire()
        ptr = self._take()
        lock.release()
        if ptr is not None:
            self._free(ptr)

    def close(self) -> None:
        lock = self._lock
        lock.acquire()
        self._closing = True
        ptr = self._take()
        lock.release()
        if ptr is not None:
            self._free(ptr)

    def _take(self) -> Any:
        """With ``_lock`` held and the handle closing: the pointer, taken for freeing, if no
        call is registered and the fast slot is free; else None (the last call out frees)."""
        if self._ptr is None or self._active or not self._busy.acquire(False):
            return None
        ptr, self._ptr = self._ptr, None
        self._busy.release()  # a later fast call takes it, sees the handle closing and refuses
        return ptr

    def _free(self, ptr: Any) -> None:
        getattr(_native.lib, self._free_name)(ptr)


class _NativeObject:
    """Lifetime shared by the classes that hold one native object in ``self._handle`` (a
    :class:`_Handle`) with a ``weakref.finalize`` backstop in ``self._finalizer``: ``close``,
    ``closed``, the context manager, the pickling refusal and guarded access."""

    _handle: Optional[_Handle] = None

    def close(self) -> None:
        """Free the native object. Idempotent.

        If another thread is inside a call on this object, the memory is freed when that call
        returns; new calls raise :class:`tonecore.ClosedError` at once.
        """
        if self._handle is not None:
            self._finalizer()

    @property
    def closed(self) -> bool:
        """True after :meth:`close` (or if construction failed)."""
        return self._handle is None or self._handle.closed

    def _closed_error(self) -> ClosedError:
        name = type(self).__name__
        return ClosedError(f"this tonecore.{name} is closed", None, "the object is closed")

    def __enter__(self: _T) -> _T:
        if self.closed:  # type: ignore[attr-defined]
            raise self._closed_error()  # type: ignore[attr-defined]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> Any:
        raise TypeError(
            f"tonecore.{type(self).__name__} holds a native object and cannot be pickled"
        )

    def _adopt(self, ptr: Any, free_name: str) -> None:
        """Takes ownership of a freshly created native object: ``free_name`` frees it on
        :meth:`close` or, as a backstop, when ``self`` is collected (the finalizer holds the
        handle, never ``self``)."""
        handle = _Handle(ptr, free_name, type(self).__name__)
        self._handle = handle
        self._finalizer = weakref.finalize(self, handle.close)

    def _acquire(self) -> Any:
        if self._handle is None:
            raise self._closed_error()
        return self._handle.acquire()

    def _enter(self) -> _Handle:
        """:meth:`_acquire`, returning the handle (its ``address`` is the object's)."""
        handle = self._handle
        if handle is None:
            raise self._closed_error()
        handle.acquire()
        return handle

    def _release(self) -> None:
        self._handle.release()  # type: ignore[union-attr]


_ndarray = np.ndarray
_empty = np.empty
_id = id
_read_size_t = c_size_t.from_address


def _probe_data_offset() -> int:
    """The offset of an ndarray's data pointer inside the ndarray object, or 0 if it cannot be
    confirmed.

    NumPy's C struct of an ndarray (``PyArrayObject_fields``) starts with the object header and
    the data pointer (``PyArray_DATA`` is an inline function reading that field, compiled into
    every NumPy extension, so the layout is part of NumPy's ABI). Reading it through ctypes
    takes a fraction of the time of any public way (``ctypes.c_char.from_buffer`` costs about a
    microsecond per array after a native call has cooled the caches, ``__array_interface__``
    more). The offset is searched inside the object and accepted only if it gives
    ``__array_interface__``'s address for every one of several arrays (owning, views with
    offsets and strides, read-only, 0-d, empty, float32/float64); on other interpreters (where
    ``id`` is no address) or if no offset fits, 0: the per-block path then takes the full
    checks and public addresses every time, as correct and slower.
    """
    if sys.implementation.name != "cpython":
        return 0
    step = ctypes.sizeof(c_void_p)
    base = np.arange(64, dtype=np.float64)
    frozen = base[5:].copy()
    frozen.flags.writeable = False
    samples = [base, base[3:], base[1::2], base.reshape(8, 8)[2], frozen, np.ones((), np.float32),
               np.zeros((3, 5), np.float32)[1:], np.empty(0)]
    assert all(type(a) is np.ndarray for a in samples)
    for offset in range(step, np.ndarray.__basicsize__ - step + 1, step):
        if all(_read_size_t(_id(a) + offset).value == a.__array_interface__["data"][0]
               for a in samples):
            return offset
    return 0


#: See :func:`_probe_data_offset` (0: not available).
_DATA_OFFSET = _probe_data_offset()


def _block_function(name: str) -> Any:
    """A per-block entry point ``(obj, x, x_len, out, out_len)``, pointers as ``c_void_p``."""
    return _native.function(name, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t)


class _AudioObject(_NativeObject):
    """A streaming object that processes blocks of samples through
    ``<prefix>_process_{f32,f64}`` and ``<prefix>_process_interleaved_{f32,f64}``
    (``tonecore_status fn(obj *, const T *x, size_t x_len, T *out, size_t out_len)``).

    The subclass's constructor sets ``_dtype`` and ``_channels`` and calls
    :meth:`_bind_blocks`; its ``process`` returns :meth:`_process_block`.
    """

    _dtype: "np.dtype[Any]"
    _channels: int
    _kind: str
    _block_fns: Tuple[Any, Any]
    _block_names: Tuple[str, str]

    def _bind_blocks(self, prefix: str, kind: str) -> None:
        """Binds the planar and interleaved process functions of ``self._dtype`` once;
        ``kind`` names the object in error messages."""
        suffix = "f32" if self._dtype == np.float32 else "f64"
        names = (f"{prefix}_process_{suffix}", f"{prefix}_process_interleaved_{suffix}")
        self._kind = kind
        self._block_names = names
        self._block_fns = (_block_function(names[0]), _block_function(names[1]))

    def _process_block(
        self, x: Any, out: Any, interleaved: bool, copy: bool
    ) -> npt.NDArray[Any]:
        """Validates an audio block and runs the native process function on it.

        ``x`` is ``(channels, frames)`` (``(frames, channels)`` when ``interleaved``) or 1-D for
        mono; ``out`` gets the result (allocated when None) and is returned. Audio-path statuses
        map to exceptions with their static descriptions.

        The common case (an ndarray of exactly this object's dtype, C-contiguous, aligned, not
        empty, with this object's channels; ``out`` None or likewise exact, writeable and not
        overlapping ``x``) is recognised with a few attribute reads, and the addresses are read
        from the arrays (see :func:`_probe_data_offset`); everything else, including every
        error, goes through the full checks of :func:`input_array`/:func:`out_array`, so both
        ways accept and refuse exactly the same arguments.
        """
        dt = self._dtype
        side = 1 if interleaved else 0
        handle = self._handle
        xa = oa = 0
        if type(x) is _ndarray and (x.dtype is dt or x.dtype == dt) and _DATA_OFFSET:
            shape = x.shape
            channels = self._channels
            if shape[side] == channels if len(shape) == 2 else len(shape) == 1 == channels:
                xf = x.flags
                if xf.c_contiguous and xf.aligned and x.size:
                    if out is None:
                        out = _empty(shape, dt)
                        oa = _read_size_t(_id(out) + _DATA_OFFSET).value
                    elif (type(out) is _ndarray and (out.dtype is dt or out.dtype == dt)
                          and out.shape == shape):
                        of = out.flags
                        if of.c_contiguous and of.aligned and of.writeable:
                            oa = _read_size_t(_id(out) + _DATA_OFFSET).value
                    if oa:
                        xa = _read_size_t(_id(x) + _DATA_OFFSET).value
                        nbytes = x.nbytes
                        if xa < oa + nbytes and oa < xa + nbytes:
                            oa = 0  # overlapping bounds: the full checks decide
        if not oa:
            x, out = self._checked_block(x, out, side, copy)
            if not x.size:
                self._acquire()
                self._release()
                return out  # type: ignore[no-any-return]
            xa = _native.address(x)
            oa = _native.address(out)
        if handle is None:  # construction failed
            raise self._closed_error()
        n = x.size
        busy = handle._busy
        if busy.acquire(False):  # the fast slot (see _Handle)
            closing = handle._closing
            if closing:
                busy.release()
                handle.reap()
                raise handle.closed_error()
            try:
                status = self._block_fns[side](handle.address, xa, n, oa, n)
            finally:
                busy.release()
                if handle._closing:  # close() ran meanwhile and left the free to us
                    handle.reap()
        else:  # another call holds the slot: register (the library refuses the overlap)
            handle.acquire()
            try:
                status = self._block_fns[side](handle.address, xa, n, oa, n)
            finally:
                handle.release()
        if status:
            _native.raise_for_status(status, self._block_names[side], audio_path=True)
        return out  # type: ignore[no-any-return]

    def _checked_block(
        self, x: Any, out: Any, side: int, copy: bool
    ) -> Tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """The full checks of a block and its ``out`` (TypeError/ValueError naming the fix);
        returns ``(x, out)``, ``out`` allocated when None."""
        dt = self._dtype
        x = input_array(x, "x", (dt,), (1, 2), copy)
        layout = "(frames, channels)" if side else "(channels, frames)"
        if x.ndim == 1:
            if self._channels != 1:
                raise ValueError(
                    f"x is 1-D, which is mono, but this {self._kind} has {self._channels} "
                    f"channels; pass shape {layout}"
                )
        elif x.shape[side] != self._channels:
            raise ValueError(
                f"x has shape {x.shape}; this {self._kind} needs {layout} with "
                f"channels={self._channels}"
            )
        if out is None:
            return x, np.empty(x.shape, dtype=dt)
        return x, out_array(out, dt, x.shape, x)
