"""Window functions (``tonecore_window_fill_f32`` / ``_f64``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ctypes import c_double, c_float
from typing import Optional

from . import _native
from ._checks import FloatArray, out_array, real_dtype, size_arg

__all__ = ["window", "WINDOW_KINDS"]

#: The window names accepted by :func:`window` and by the ``window=`` arguments.
WINDOW_KINDS = tuple(_native.WINDOW_KINDS)


def window_code(kind: str) -> int:
    """The ``TONECORE_WINDOW_*`` value of a window name (ValueError for an unknown name)."""
    if not isinstance(kind, str):
        raise TypeError(f"window kind must be a str, not {type(kind).__name__}")
    try:
        return _native.WINDOW_KINDS[kind]
    except KeyError:
        known = ", ".join(repr(k) for k in WINDOW_KINDS)
        raise ValueError(f"unknown window kind {kind!r}; expected one of {known}") from None


def window(
    kind: str,
    n: int,
    dtype: Optional[npt.DTypeLike] = None,
    out: Optional[FloatArray] = None,
) -> FloatArray:
    """Return a window of ``n`` samples.

    Parameters
    ----------
    kind : str
        ``"hann"`` (periodic Hann, as ``scipy.signal.get_window("hann", n)``; the default window
        of :func:`tonecore.stft`), ``"hann_sym"`` (symmetric Hann, bit-identical to
        ``numpy.hanning(n)`` in float64), ``"hamming"`` (periodic), ``"blackman"`` (periodic)
        or ``"sqrt_hann"`` (square root of the periodic Hann window).
    n : int
        Window length in samples, ``n >= 0``. ``n == 0`` gives an empty array and ``n == 1``
        gives ``[1.0]``.
    dtype : numpy dtype, optional
        ``numpy.float64`` or ``numpy.float32``. The float32 window is the float64 one rounded
        once. Default: the dtype of ``out``, else float64.
    out : numpy.ndarray, optional
        float32/float64 destination of shape ``(n,)``, C-contiguous and writeable; written in
        place and returned. Untouched when the arguments are refused.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``, dimensionless gains (peak 1.0 for the Hann family).

    Raises
    ------
    ValueError
        Unknown ``kind`` or negative ``n`` (checked before any native call).
    TypeError
        ``n`` is not an integer, or ``dtype`` is not float32/float64; ``out`` of another
        dtype than ``dtype``.
    """
    code = window_code(kind)
    n = size_arg(n, "n")
    if dtype is None:
        dtype = out.dtype if isinstance(out, np.ndarray) else np.float64
    dt = real_dtype(dtype)
    if out is None:
        out = np.empty(n, dtype=dt)
    else:
        out_array(out, dt, (n,))
    if dt == np.float32:
        status = _native.lib.tonecore_window_fill_f32(
            code, _native.pointer_to(out, c_float), n
        )
        _native.check(status, "tonecore_window_fill_f32")
    else:
        status = _native.lib.tonecore_window_fill_f64(
            code, _native.pointer_to(out, c_double), n
        )
        _native.check(status, "tonecore_window_fill_f64")
    return out
