"""Private: argument checks done in Python before any native call.

Shared by every module of the package; depends on nothing of it (no native call here).
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Any, Dict, Optional, Tuple, TypeVar

import numpy as np
import numpy.typing as npt

F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)
C64 = np.dtype(np.complex64)
C128 = np.dtype(np.complex128)

#: real sample dtype -> complex spectrum dtype
COMPLEX_OF: Dict["np.dtype[Any]", "np.dtype[Any]"] = {F32: C64, F64: C128}
#: complex spectrum dtype -> real sample dtype
REAL_OF: Dict["np.dtype[Any]", "np.dtype[Any]"] = {C64: F32, C128: F64}

# Array types of the public signatures.
#: Real samples (float32 or float64).
FloatArray = npt.NDArray[np.floating[Any]]
#: Spectra (complex64 or complex128).
ComplexArray = npt.NDArray[np.complexfloating[Any, Any]]
#: A float sample type; functions typed ``NDArray[_F] -> NDArray[_F]`` keep the input dtype.
FloatT = TypeVar("FloatT", bound=np.floating[Any])

SIZE_MAX = 2 ** (8 * np.dtype(np.uintp).itemsize) - 1
#: Largest ``uint32_t``: the bound of ``sample_rate``, ``channels``, ``threads``, ... arguments.
U32_MAX = 2**32 - 1


def real_dtype(dtype: npt.DTypeLike) -> np.dtype[Any]:
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


def threads_arg(threads: Any) -> int:
    """A ``threads=`` argument: None -> 0 (all cores), else an integer in ``0 ..= 2**32 - 1``."""
    return 0 if threads is None else size_arg(threads, "threads", U32_MAX)


def sample_rate_arg(value: Any, name: str = "sample_rate") -> int:
    """A sample rate in whole Hz: an integer, or a float with an integral value (48000.0).

    Negative or above 2**32 - 1 is a ValueError here; 0 goes to the library, which refuses it
    with ``INVALID_SAMPLE_RATE`` (status 13).
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number of Hz, not bool")
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"{name} must be a whole number of Hz, got {value!r}")
        value = int(value)
    return size_arg(value, name, U32_MAX)


def real_arg(value: Any, name: str) -> float:
    """A real number as float (TypeError otherwise); ranges are checked by the library."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, not {type(value).__name__}")
    return float(value)


def vector_arg(values: Any, name: str) -> npt.NDArray[Any]:
    """A 1-D float64 C-contiguous array from array_like parameters (not samples: converted)."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, not {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def _layout(arr: "npt.NDArray[Any]", name: str, hint: str = "") -> None:
    if not arr.flags.c_contiguous:
        raise ValueError(
            f"{name} must be C-contiguous (tonecore does not copy silently); "
            f"pass numpy.ascontiguousarray({name}){hint}"
        )
    if not arr.flags.aligned:
        raise ValueError(f"{name} is not aligned for its dtype; pass a copy{hint}")


_COPY_HINT = " or copy=True"


def _conversion_target(src: np.dtype[Any], dtypes: Tuple[np.dtype[Any], ...], name: str) -> np.dtype[Any]:
    """The accepted dtype an input of dtype ``src`` is converted to under ``copy=True``:
    the same kind at the nearest accepted precision (float16/float32 -> float32 when accepted,
    integers and booleans -> the widest accepted real dtype). Complex data is never converted
    to a real dtype (TypeError), nor objects/strings to numbers."""
    for dt in dtypes:
        if src.kind == dt.kind and src.itemsize == dt.itemsize:
            return dt  # only the byte order differs
    want_complex = dtypes[0].kind == "c"
    if src.kind == "c" and not want_complex:
        raise TypeError(f"{name} is complex ({src}); a real signal is needed")
    if src.kind not in "biufc":
        raise TypeError(f"{name} must hold numbers, not {src}")
    if src.kind in "fc" and src.itemsize <= (8 if src.kind == "c" else 4):
        small = [dt for dt in dtypes if dt.itemsize == (8 if want_complex else 4)]
        if small:
            return small[0]
    return max(dtypes, key=lambda dt: dt.itemsize)


def input_array(
    arr: Any,
    name: str,
    dtypes: Tuple[np.dtype[Any], ...],
    ndims: Tuple[int, ...],
    copy: bool = False,
) -> "npt.NDArray[Any]":
    """Check an input array: ndarray, one of ``dtypes`` exactly (native byte order),
    ``ndim`` in ``ndims``, C-contiguous and aligned.

    ``copy=False`` (the default everywhere): never converts or copies; anything else is a
    TypeError (type, dtype) or ValueError (dimensions, layout) naming the fix. ``copy=True``:
    the caller consents to one conversion when needed: array_likes, other dtypes (see
    :func:`_conversion_target`; values are cast, never rescaled) and non-contiguous arrays
    become a C-contiguous copy. A conforming array is passed through uncopied either way.
    """
    if copy:
        src = arr if isinstance(arr, np.ndarray) else np.asarray(arr)
        target = _conversion_target(src.dtype, dtypes, name)
        arr = np.ascontiguousarray(src, dtype=target)
        if not arr.flags.aligned:  # pragma: no cover - ascontiguousarray allocates aligned
            arr = arr.copy()
    hint = "" if copy else _COPY_HINT
    if not isinstance(arr, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy.ndarray, not {type(arr).__name__} (pass copy=True to "
            f"convert array_likes)"
        )
    if arr.dtype not in dtypes:
        want = " or ".join(str(d) for d in dtypes)
        raise TypeError(
            f"{name} must have dtype {want}, not {arr.dtype} (no implicit conversion; "
            f"convert it with {name}.astype(...){hint})"
        )
    if arr.ndim not in ndims:
        want = " or ".join(str(d) for d in ndims)
        raise ValueError(f"{name} must be {want}-dimensional, got shape {arr.shape}")
    _layout(arr, name, hint)
    return arr


def out_array(
    out: Any,
    dtype: np.dtype[Any],
    shape: Optional[Tuple[int, ...]] = None,
    source: Optional[npt.NDArray[Any]] = None,
) -> npt.NDArray[Any]:
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
