"""Private: the lifetime of native objects, and the one per-block call path.

:class:`_Handle` owns one native object pointer and frees it exactly once, never under a running
call; :class:`_NativeObject` is the base of every class holding one (``close``, context
manager, finalizer, pickling refusal); :class:`_AudioObject` adds the per-block
``process`` path that :class:`tonecore.Equalizer`, :class:`tonecore.Pipeline` and
:class:`tonecore.Limiter` share.
"""

from __future__ import annotations

import ctypes
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
    """Owns one native object pointer and frees it exactly once.

    Calls register themselves (``acquire``/``release``) so that :meth:`close` from another
    thread never frees the object under a running call: the free is then deferred to the end of
    the last running call. Concurrent *calls* are not serialised here: the library detects them
    on single-threaded objects and refuses the second with ``CONCURRENT_USE``.

    ``free_name`` is the ``tonecore_*_free`` function (looked up at free time) and
    ``type_name`` the Python class name used in the :class:`ClosedError` message. ``address``
    is the pointer as an int, for the functions bound with :func:`_native.function`; it is only
    valid between a successful ``acquire`` and its ``release``, as the pointer is.
    """

    __slots__ = ("_ptr", "address", "_lock", "_active", "_closing", "_free_name", "_type_name")

    def __init__(self, ptr: Any, free_name: str = "tonecore_stft_free",
                 type_name: str = "Stft") -> None:
        self._ptr = ptr
        self.address: int = ctypes.cast(ptr, c_void_p).value or 0
        self._lock = threading.Lock()
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

    # acquire/release take the lock explicitly rather than with `with`: they run around every
    # per-block call, and the context-manager protocol costs as much as the rest of them.

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

    def _free(self, ptr: Any) -> None:
        getattr(_native.lib, self._free_name)(ptr)

    def release(self) -> None:
        """Ends a registered call; the last call out after a close() frees the object."""
        lock = self._lock
        lock.acquire()
        self._active -= 1
        ptr = None
        if self._closing and not self._active:
            ptr, self._ptr = self._ptr, None
        lock.release()
        if ptr is not None:
            self._free(ptr)

    def close(self) -> None:
        with self._lock:
            self._closing = True
            if self._active or self._ptr is None:
                return
            ptr, self._ptr = self._ptr, None
        self._free(ptr)


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
_OUT_TYPES = (type(None), np.ndarray)
_empty = np.empty
_char_from_buffer: Any = ctypes.c_char.from_buffer  # (numpy arrays are buffers)
_addressof = ctypes.addressof


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
    _misaligned: int
    _kind: str
    _block_fns: Tuple[Any, Any]
    _block_names: Tuple[str, str]

    def _bind_blocks(self, prefix: str, kind: str) -> None:
        """Binds the planar and interleaved process functions of ``self._dtype`` once;
        ``kind`` names the object in error messages."""
        suffix = "f32" if self._dtype == np.float32 else "f64"
        names = (f"{prefix}_process_{suffix}", f"{prefix}_process_interleaved_{suffix}")
        self._kind = kind
        self._misaligned = self._dtype.alignment - 1  # address bits that must be 0
        self._block_names = names
        self._block_fns = (_block_function(names[0]), _block_function(names[1]))

    def _process_block(
        self, x: Any, out: Any, interleaved: bool, copy: bool
    ) -> npt.NDArray[Any]:
        """Validates an audio block and runs the native process function on it.

        ``x`` is ``(channels, frames)`` (``(frames, channels)`` when ``interleaved``) or 1-D for
        mono; ``out`` gets the result (allocated when None) and is returned. Audio-path statuses
        map to exceptions with their static descriptions.

        The common case (a writeable ndarray of exactly this object's dtype, C-contiguous,
        aligned, not empty, with this object's channels; ``out`` None or likewise exact and not
        overlapping ``x``) is recognised with a few attribute reads and ctypes' buffer export,
        which yields the addresses; everything else, including every error, goes through the
        full checks of :func:`input_array`/:func:`out_array`, so both ways accept and refuse
        exactly the same arguments.
        """
        dt = self._dtype
        side = 1 if interleaved else 0
        handle = self._handle
        xa = oa = 0
        if type(x) is _ndarray and (x.dtype is dt or x.dtype == dt) and type(out) in _OUT_TYPES:
            shape = x.shape
            channels = self._channels
            if shape[side] == channels if len(shape) == 2 else len(shape) == 1 == channels:
                # ctypes hands out the address of a non-empty, writeable, C-contiguous buffer
                # only: anything else raises here and takes the full checks.
                try:
                    xa = _addressof(_char_from_buffer(x))
                    if out is None:
                        out = _empty(shape, dt)
                        oa = _addressof(_char_from_buffer(out))
                    elif (out.dtype is dt or out.dtype == dt) and out.shape == shape:
                        oa = _addressof(_char_from_buffer(out))
                except (TypeError, ValueError, BufferError):
                    oa = 0
                if oa:
                    nbytes = x.nbytes
                    if (xa | oa) & self._misaligned or (xa < oa + nbytes and oa < xa + nbytes):
                        oa = 0  # misaligned, or overlapping bounds: the full checks decide
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
        handle.acquire()
        try:
            n = x.size
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
