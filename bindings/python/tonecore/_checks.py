"""Private: argument checks done in Python before any native call."""

from __future__ import annotations

import operator
from typing import Any, Optional, Tuple

import numpy as np
import numpy.typing as npt

F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)
C64 = np.dtype(np.complex64)
C128 = np.dtype(np.complex128)

#: real sample dtype -> complex spectrum dtype
COMPLEX_OF = {F32: C64, F64: C128}
#: complex spectrum dtype -> real sample dtype
REAL_OF = {C64: F32, C128: F64}

SIZE_MAX = 2 ** (8 * np.dtype(np.uintp).itemsize) - 1


def real_dtype(dtype: npt.DTypeLike) -> np.dtype:
    """``numpy.dtype(dtype)`` if it is native float32 or float64, else TypeError."""
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"dtype must be numpy.float32 or numpy.float64, not {dtype!r}") from e
    if dt != F32 and dt != F64:
        raise TypeError(f"dtype must be numpy.float32 or numpy.float64, not {dt}")
    return dt


def size_arg(value: Any, name: str, maximum: int = SIZE_MAX) -> int:
    """An integer argument in ``0 ..= maximum`` (TypeError if not an integer, else ValueError)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not bool")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {v}")
    if v > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {v}")
    return v


def _layout(arr: np.ndarray, name: str) -> None:
    if not arr.flags.c_contiguous:
        raise ValueError(
            f"{name} must be C-contiguous (tonecore does not copy silently); "
            f"pass numpy.ascontiguousarray({name})"
        )
    if not arr.flags.aligned:
        raise ValueError(f"{name} is not aligned for its dtype; pass a copy")


def input_array(
    arr: Any, name: str, dtypes: Tuple[np.dtype, ...], ndims: Tuple[int, ...]
) -> np.ndarray:
    """Check an input array: ndarray, one of ``dtypes`` exactly, ``ndim`` in ``ndims``,
    C-contiguous and aligned. Never converts or copies."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, not {type(arr).__name__}")
    if arr.dtype not in dtypes:
        want = " or ".join(str(d) for d in dtypes)
        raise TypeError(f"{name} must have dtype {want}, not {arr.dtype} (no implicit conversion)")
    if arr.ndim not in ndims:
        want = " or ".join(str(d) for d in ndims)
        raise ValueError(f"{name} must be {want}-dimensional, got shape {arr.shape}")
    _layout(arr, name)
    return arr


def out_array(
    out: Any,
    dtype: np.dtype,
    shape: Optional[Tuple[int, ...]] = None,
    source: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Check an ``out=`` array: ndarray of exactly ``dtype`` (TypeError), exactly ``shape``,
    C-contiguous, aligned, writeable and not sharing memory with ``source`` (ValueError)."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, not {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"out must have dtype {dtype}, not {out.dtype}")
    if shape is not None and out.shape != shape:
        raise ValueError(f"out must have shape {shape}, not {out.shape}")
    _layout(out, "out")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    if source is not None and out.size and source.size and np.may_share_memory(out, source):
        raise ValueError("out must not share memory with the input")
    return out




def process_audio_block(owner: Any, kind: str, x: Any, out: Any, interleaved: bool) -> Any:
    """Validates an audio block for a streaming object and runs its native process function.

    ``owner`` provides ``_dtype``, ``_channels``, ``_ct``, ``_process_fns`` (planar,
    interleaved) and ``_acquire``/``_release``; ``kind`` names it in error messages. ``x`` is
    ``(channels, frames)`` (``(frames, channels)`` when ``interleaved``) or 1-D for mono; ``out``
    gets the result (allocated when None) and is returned. Audio-path statuses map to exceptions
    with their static descriptions.
    """
    from . import _native

    x = input_array(x, "x", (owner._dtype,), (1, 2))
    layout = "(frames, channels)" if interleaved else "(channels, frames)"
    if x.ndim == 1:
        if owner._channels != 1:
            raise ValueError(
                f"x is 1-D, which is mono, but this {kind} has {owner._channels} channels;"
                f" pass shape {layout}"
            )
    elif x.shape[1 if interleaved else 0] != owner._channels:
        raise ValueError(
            f"x has shape {x.shape}; this {kind} needs {layout} with channels={owner._channels}"
        )
    if out is None:
        out = np.empty(x.shape, dtype=owner._dtype)
    else:
        out_array(out, owner._dtype, x.shape, x)
    fn = owner._process_fns[1 if interleaved else 0]
    ptr = owner._acquire()
    try:
        if x.size == 0:
            return out
        status = fn(
            ptr,
            _native.pointer_to(x, owner._ct), x.size,
            _native.pointer_to(out, owner._ct), out.size,
        )
        if status != _native.STATUS_OK:
            _native.raise_for_status(status, fn.__name__, audio_path=True)
    finally:
        owner._release()
    return out
