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
import types
import weakref
from ctypes import c_size_t, c_void_p
from typing import Any, Callable, Optional, Tuple, TypeVar, cast

import numpy as np
import numpy.typing as npt

from . import _native
from ._checks import FloatT, input_array, out_array
from ._errors import ClosedError

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])


class _Handle:
    """Owns one native object pointer and frees it exactly once, never under a running call.

    A call is either *registered* (``acquire``/``release``: a count under ``_lock``) or holds
    the *fast slot*: the one token of ``_slot``, a list used as an atomic test-and-set
    (``pop`` takes the token or raises IndexError, ``append`` puts it back; both are atomic
    with or without the GIL), held for the duration of one per-block call (see
    :meth:`_AudioObject.process`). That is one cheap operation each way instead of two
    lock round trips. A per-block call finding the slot empty registers instead: it is not
    serialised (the library refuses it with ``CONCURRENT_USE`` if the object is
    single-threaded), and after a close it raises :class:`ClosedError` there.

    :meth:`close` from another thread marks the handle closing; the object is freed as soon as
    no call is registered and the token is in the slot, by whichever of ``close``, the last
    ``release`` and the end of the fast call (:meth:`reap`) sees that first, which then keeps
    the token: so a close never frees the object under a running call and never waits for
    one. Every call starting after it raises ClosedError (a fast call checks ``_closing`` once
    it holds the token, a registered one in ``acquire``).

    ``free_name`` is the ``tonecore_*_free`` function (looked up at free time) and
    ``type_name`` the Python class name used in the :class:`ClosedError` message. ``address``
    is the pointer as an int, for the functions bound with :func:`_native.function`; like the
    pointer it is only valid inside a registered call or while holding the token.
    """

    __slots__ = ("_ptr", "address", "_lock", "_slot", "_active", "_closing", "_free_name",
                 "_type_name")

    def __init__(self, ptr: Any, free_name: str = "tonecore_stft_free",
                 type_name: str = "Stft") -> None:
        self._ptr = ptr
        self.address: int = ctypes.cast(ptr, c_void_p).value or 0
        self._lock = threading.Lock()
        self._slot = [True]
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

    # The lock is taken explicitly rather than with `with`: the context-manager protocol costs
    # as much as the rest of these.

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
        """After a fast-slot call that found the handle closing at its end: frees the object
        if it is now idle."""
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
        call is registered and the fast slot's token is free (then kept: the slot stays
        empty); else None (the last call out frees)."""
        if self._ptr is None or self._active:
            return None
        try:
            self._slot.pop()
        except IndexError:  # a fast call is running: its end reaps
            return None
        ptr, self._ptr = self._ptr, None
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

#: ``NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED`` and ``... | NPY_ARRAY_WRITEABLE``: the flags
#: an input block and an ``out`` need (NumPy's C API values; checked by the probe below).
_IN_FLAGS = 0x0001 | 0x0100
_OUT_FLAGS = _IN_FLAGS | 0x0400


def _probe_array_fields() -> Any:
    """A ctypes view of an ndarray's data pointer and flags, placed at ``id(array)`` plus
    :data:`_DATA_OFFSET`; None if that layout cannot be confirmed.

    NumPy's C struct of an ndarray (``PyArrayObject_fields``: the object header, ``data``,
    ``nd``, ``dimensions``, ``strides``, ``base``, ``descr``, ``flags``, ...) is part of NumPy's
    ABI: ``PyArray_DATA`` and ``PyArray_FLAGS`` are inline functions reading those fields,
    compiled into every NumPy extension. Reading them through ctypes costs a fraction of any
    public way (``ctypes.c_char.from_buffer`` takes about a microsecond per array after a
    native call has cooled the caches, ``.flags`` and ``__array_interface__`` build objects).
    Both offsets are searched inside the object and accepted only if, for every one of several
    arrays (owning, views with offsets and strides, Fortran-ordered, read-only, misaligned,
    0-d, empty, float32/float64), the data pointer equals ``__array_interface__``'s and the
    flags equal ``.flags.num`` with the bits of :data:`_IN_FLAGS`/:data:`_OUT_FLAGS` agreeing
    with ``.flags``. On another interpreter (where ``id`` is no address) or if anything does
    not fit, None: every block then takes the full checks and public addresses, as correct and
    slower.
    """
    if sys.implementation.name != "cpython":
        return None
    base = np.arange(64, dtype=np.float64)
    frozen = base[5:].copy()
    frozen.flags.writeable = False
    raw = np.zeros(4 * 16 + 1, np.uint8)
    misaligned = raw[1:].view(np.float32)
    samples = [base, base[3:], base[1::2], base.reshape(8, 8)[2], base.reshape(8, 8).T, frozen,
               misaligned, np.ones((), np.float32), np.zeros((3, 5), np.float32)[1:],
               np.empty(0)]
    if not all(type(a) is np.ndarray for a in samples) or misaligned.flags.aligned:
        return None

    def fits(offset: int, flags_offset: int) -> bool:
        for a in samples:
            f = a.flags
            num = ctypes.c_int.from_address(_id(a) + flags_offset).value
            if (_read_size_t(_id(a) + offset).value != a.__array_interface__["data"][0]
                    or num != f.num
                    or bool(num & 0x0001) != f.c_contiguous or bool(num & 0x0100) != f.aligned
                    or bool(num & 0x0400) != f.writeable):
                return False
        return True

    step = ctypes.sizeof(c_void_p)
    size = np.ndarray.__basicsize__
    for offset in range(step, size - step + 1, step):
        if _read_size_t(_id(base) + offset).value != base.__array_interface__["data"][0]:
            continue
        found = [f for f in range(offset + step, size - 4 + 1, 4) if fits(offset, f)]
        if len(found) != 1:
            return None

        class _ArrayFields(ctypes.Structure):
            _fields_ = [("data", c_size_t), ("_gap", ctypes.c_char * (found[0] - offset - step)),
                        ("flags", ctypes.c_int)]

        global _DATA_OFFSET
        _DATA_OFFSET = offset
        return _ArrayFields.from_address
    return None


#: Where :func:`_probe_array_fields`'s view starts in an ndarray object (0: no view).
_DATA_OFFSET = 0
#: ``_array_fields(id(a) + _DATA_OFFSET)``: ``.data`` and ``.flags`` of ndarray ``a``, or None.
_array_fields = _probe_array_fields()


def _block_function(name: str) -> Any:
    """A per-block entry point ``(obj, x, x_len, out, out_len)``, pointers as ``c_void_p``."""
    return _native.function(name, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t)


class _AudioObject(_NativeObject):
    """A streaming object that processes blocks of samples through
    ``<prefix>_process_{f32,f64}`` and ``<prefix>_process_interleaved_{f32,f64}``
    (``tonecore_status fn(obj *, const T *x, size_t x_len, T *out, size_t out_len)``).

    The subclass's constructor sets ``_dtype`` and ``_channels`` and calls
    :meth:`_bind_blocks`; the subclass's ``process`` is :meth:`process` under its own
    docstring (:func:`_process_method`).
    """

    _dtype: "np.dtype[Any]"
    _channels: int
    _itemsize: int
    _kind: str
    _block_fns: Tuple[Any, Any]
    _block_names: Tuple[str, str]

    def _bind_blocks(self, prefix: str, kind: str) -> None:
        """Binds the planar and interleaved process functions of ``self._dtype`` once;
        ``kind`` names the object in error messages."""
        suffix = "f32" if self._dtype == np.float32 else "f64"
        names = (f"{prefix}_process_{suffix}", f"{prefix}_process_interleaved_{suffix}")
        self._kind = kind
        self._itemsize = self._dtype.itemsize
        self._block_names = names
        self._block_fns = (_block_function(names[0]), _block_function(names[1]))

    def process(
        self,
        x: npt.NDArray[FloatT],
        out: Optional[npt.NDArray[FloatT]] = None,
        interleaved: bool = False,
        *,
        copy: bool = False,
    ) -> npt.NDArray[FloatT]:
        """Validates an audio block and runs the native process function on it (each subclass
        has this method under its own docstring: see :func:`_process_method`).

        ``x`` is ``(channels, frames)`` (``(frames, channels)`` when ``interleaved``) or 1-D for
        mono; ``out`` gets the result (allocated when None) and is returned. Audio-path statuses
        map to exceptions with their static descriptions.

        The common case (an ndarray of exactly this object's dtype, C-contiguous, aligned, not
        empty, with this object's channels; ``out`` None or likewise exact, writeable and not
        overlapping ``x``) is recognised with a few attribute reads, flags and addresses read
        from the arrays (see :func:`_probe_array_fields`); everything else, including every
        error, goes through the full checks of :func:`input_array`/:func:`out_array`, so both
        ways accept and refuse exactly the same arguments.
        """
        dt = self._dtype
        side = 1 if interleaved else 0
        oa = xa = 0
        if type(x) is _ndarray and (x.dtype is dt or x.dtype == dt) and _array_fields:
            shape = x.shape
            channels = self._channels
            if shape[side] == channels if len(shape) == 2 else len(shape) == 1 == channels:
                xv = _array_fields(_id(x) + _DATA_OFFSET)
                n = x.size
                if xv.flags & _IN_FLAGS == _IN_FLAGS and n:
                    if out is None:
                        out = _empty(shape, dt)
                        oa = _array_fields(_id(out) + _DATA_OFFSET).data
                    elif (type(out) is _ndarray and (out.dtype is dt or out.dtype == dt)
                          and out.shape == shape):
                        ov = _array_fields(_id(out) + _DATA_OFFSET)
                        if ov.flags & _OUT_FLAGS == _OUT_FLAGS:
                            oa = ov.data
                    if oa:
                        xa = xv.data
                        if abs(xa - oa) < n * self._itemsize:  # overlapping: full checks
                            oa = 0
        if not oa:
            x, out = self._checked_block(x, out, side, copy)
            if not x.size:
                self._acquire()
                self._release()
                return out
            xa = _native.address(x)
            oa = _native.address(out)
            n = x.size
        handle = self._handle
        if handle is None:  # construction failed
            raise self._closed_error()
        slot = handle._slot
        try:
            slot.pop()  # the fast slot's token (see _Handle)
        except IndexError:  # another call holds it, or the handle is closed: register
            handle.acquire()
            try:
                status = self._block_fns[side](handle.address, xa, n, oa, n)
            finally:
                handle.release()
        else:
            closing = handle._closing
            if closing:  # closed while a registered call still runs: refuse as acquire() does
                slot.append(True)
                handle.reap()
                raise handle.closed_error()
            try:
                status = self._block_fns[side](handle.address, xa, n, oa, n)
            finally:
                slot.append(True)
                if handle._closing:  # close() ran meanwhile and left the free to us
                    handle.reap()
        if status:
            _native.raise_for_status(status, self._block_names[side], audio_path=True)
        return out  # type: ignore[return-value]  # (set on every way here)

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


def _process_method(fn: _F, owner: str, module: str, doc: str) -> _F:
    """``fn`` (:meth:`_AudioObject.process`) for the class ``owner`` of ``module``, with that
    class's docstring: a copy of the function (same code, defaults and annotations), so every
    class documents its own ``process`` while the per-block path stays one function, called
    directly (a method wrapping it would add a Python call to every block)."""
    method = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                                fn.__closure__)
    method.__kwdefaults__ = fn.__kwdefaults__
    method.__annotations__ = dict(fn.__annotations__)
    method.__doc__ = doc
    method.__qualname__ = f"{owner}.process"
    method.__module__ = module
    return cast(_F, method)
