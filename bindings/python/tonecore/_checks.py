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

