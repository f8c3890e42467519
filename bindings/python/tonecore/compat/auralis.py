"""Exact native replacements for the Auralis player's numpy DSP hot paths.

Every function and class here has the host's Python signature and gives the host's numbers
(within the stated tolerances), computed by tonecore's native code (``tonecore_auralis_*`` in
the C ABI) instead of numpy loops; the GIL is released while native code runs. A host switches
by changing imports (see the migration guide in the repository README). The module follows the
host as it is today (its adaptive EQ after its changes #3428 and #4101, its content profile, its
public attributes); older host behaviour is available only where an option names it.

Conventions kept from the host: audio is ``(samples,)`` or ``(samples, channels)``; float32 and
float64 are accepted; inputs are never modified; non-contiguous inputs are copied once before the
native call. Result dtypes are the input's, except where the host's own result dtype differs and
is not a host bug (:func:`crossfade_concat` mixes in float64 and returns float64;
:func:`apply_eq_frame` casts integer frames as the host does). Stateful classes serialise their
own calls with a per-instance lock.

Contract (tolerances are checked by the test-suite against numpy implementations of the same
formulas):

- :func:`hann_window` — bit-identical to ``numpy.hanning(n)``, read-only, cached.
- :func:`critical_bands`, :func:`band_map` (integer-exact), :func:`gain_curve` (1e-15).
- :func:`apply_eq_frame` (also :class:`VectorizedEQProcessor`) — the host's circular frame EQ,
  1e-12 absolute (float64), ~1e-6 relative (float32).
- :func:`eq_process_buffer` with :class:`AdaptiveEqState` — the host's current adaptive
  weighted-overlap-add EQ loop, ``content_profile`` included, within 1e-6 of peak (float64).
- :func:`crossfade_concat`, :class:`ChunkCrossfader` (explicit commit), the chunk geometry
  (:func:`content_chunk_count`, :func:`chunk_boundaries`, :func:`emitted_chunk_start`,
  :func:`chunk_for_position`).
- :class:`GainSmoother`, :class:`LevelMatcher` (with ``gain_smoother``),
  :func:`realtime_safety_limit` — per-block calls through C function pointers bound once.
- Kept for hosts on older versions (the current host removed them, #4565 and #4993):
  :class:`ParallelFFTProcessor` (1e-12 relative of numpy), :class:`ParallelEQProcessor`.
"""

from __future__ import annotations

import ctypes
import math
import operator
import os
import threading
from collections import OrderedDict
from ctypes import byref, c_double, c_size_t, c_uint32
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple, cast

import numpy as np
import numpy.typing as npt

from .. import _native

__all__ = [
    "ANALYSIS_CURRENT",
    "ANALYSIS_PRE_3428_4101",
    "AdaptiveEqState",
    "AdaptiveGainSmoother",
    "CHUNK_DURATION",
    "CHUNK_INTERVAL",
    "CONTEXT_DURATION",
    "ChunkBounds",
    "ChunkCrossfader",
    "CriticalBand",
    "GainSmoother",
    "LevelMatcher",
    "OVERLAP_DURATION",
    "ParallelConfig",
    "ParallelEQProcessor",
    "ParallelFFTProcessor",
    "RealtimeLevelMatcher",
    "SEEK_MIN_CHUNK_REMAINDER",
    "VectorizedEQProcessor",
    "apply_eq_frame",
    "band_map",
    "chunk_boundaries",
    "chunk_for_position",
    "content_chunk_count",
    "critical_bands",
    "crossfade_concat",
    "emitted_chunk_length",
    "emitted_chunk_start",
    "eq_process_buffer",
    "gain_curve",
    "hann_window",
    "realtime_safety_limit",
]

FloatArray = npt.NDArray[np.floating[Any]]
F64Array = npt.NDArray[np.float64]
F32Array = npt.NDArray[np.float32]
C128Array = npt.NDArray[np.complex128]
I64Array = npt.NDArray[np.int64]

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_MAX_FFT = 1 << 24
_U32_MAX = 2**32 - 1
#: The adaptive EQ's band count (the 25 critical bands).
_BANDS = 25


# -- argument helpers --------------------------------------------------------------------------


def _int_arg(value: Any, name: str, minimum: int = 0, maximum: Optional[int] = None) -> int:
    """An integer in ``minimum ..= maximum`` (TypeError if not an integer, else ValueError)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not bool")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {v}")
    return int(v)


def _float_arg(value: Any, name: str) -> float:
    """A real number as float (TypeError for anything else, bool included)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{name} must be a real number, not {type(value).__name__}")
    return float(value)


def _audio(x: Any, name: str, ndims: Tuple[int, ...] = (1, 2)) -> np.ndarray:
    """A float32/float64 ndarray of an allowed rank, C-contiguous (copied only if it is not)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, not {type(x).__name__}")
    if x.dtype != _F32 and x.dtype != _F64:
        raise TypeError(f"{name} must have dtype float32 or float64, not {x.dtype}")
    if x.ndim not in ndims:
        want = " or ".join(str(d) for d in ndims)
        raise ValueError(f"{name} must be {want}-dimensional, got shape {x.shape}")
    if x.ndim == 2 and x.shape[1] == 0:
        raise ValueError(f"{name} has no channels (shape {x.shape})")
    return np.ascontiguousarray(x)


def _channels(x: np.ndarray) -> int:
    return 1 if x.ndim == 1 else int(x.shape[1])


def _f64_vector(values: Any, name: str) -> F64Array:
    try:
        v = np.ascontiguousarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a 1-D array of real numbers") from None
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {v.shape}")
    return v


def _fn(base: str, dtype: np.dtype) -> Any:
    return getattr(_native.lib, f"{base}_{'f32' if dtype == _F32 else 'f64'}")


#: ``_native.pointer_to`` (a pointer to an array's first element, never NULL), typed.
_pointer_to: Callable[[Any, Any], Any] = getattr(_native, "pointer_to")


def _ptr(array: np.ndarray, ctype: Any) -> Any:
    """A typed pointer, for the library's general functions (``tonecore_window_fill_*``, …)."""
    return _pointer_to(array, ctype)


#: The address of a C-contiguous array's first element, for the ``tonecore_auralis_*``
#: functions (declared with ``c_void_p`` buffers); never 0, even for an empty array.
_addr: Callable[[np.ndarray], int] = _native.address


def _check(status: int, fn: Any, audio_path: bool = False) -> None:
    _native.check(status, fn.__name__, audio_path=audio_path)


def _fft_size_arg(fft_size: Any, even: bool) -> int:
    n = _int_arg(fft_size, "fft_size", 2, _MAX_FFT)
    if even and n % 2:
        raise ValueError(f"fft_size must be even, got {n}")
    return n


def _threads_arg(threads: Optional[int]) -> int:
    return 0 if threads is None else _int_arg(threads, "threads", 0, 1024)


# -- per-call cost: function pointers resolved once -------------------------------------------------
#
# The per-block items (GainSmoother, LevelMatcher.process, realtime_safety_limit) do about a
# microsecond of native work on a 512-frame block, so the Python around the call decides whether
# they beat numpy. Their entry points are bound here once, as plain C function pointers taking
# addresses (integers) and returning the status; argument checks the C side does (NULL, sizes,
# finiteness, overlap) are not repeated in Python.

_VP = ctypes.c_void_p


#: ``name`` from the library as a C function pointer returning the status (GIL released).
_cfunc: Callable[..., Any] = _native.function


_SMOOTHER_PROCESS = _cfunc("tonecore_auralis_smoother_process", _VP, _VP, c_size_t)
_LIMIT = {
    _F32: _cfunc("tonecore_auralis_safety_limit_f32", _VP, c_size_t, c_double, _VP, c_size_t),
    _F64: _cfunc("tonecore_auralis_safety_limit_f64", _VP, c_size_t, c_double, _VP, c_size_t),
}
_MATCH = {
    dt: _cfunc(f"tonecore_auralis_level_matcher_process_{sfx}", _VP, _VP, c_size_t, c_size_t,
               _VP, c_size_t, _VP)
    for dt, sfx in ((_F32, "f32"), (_F64, "f64"))
}
_EQ_CONFIG_INIT = _cfunc("tonecore_auralis_eq_config_init", _VP)
_EQ_PROCESS = {
    dt: _cfunc(f"tonecore_auralis_eq_process_{sfx}", _VP, _VP, c_size_t, c_size_t, _VP,
               c_size_t, _VP, c_size_t, _VP, c_size_t, _VP, c_size_t)
    for dt, sfx in ((_F32, "f32"), (_F64, "f64"))
}
_from_buffer = ctypes.c_char.from_buffer
_addressof = ctypes.addressof


def _fast_addr(array: np.ndarray) -> int:
    """:func:`_addr` for a writable, non-empty, C-contiguous array (the arrays allocated here)."""
    return _addressof(_from_buffer(cast(Any, array)))


# -- 1. windows ---------------------------------------------------------------------------------

_WINDOW_CACHE: "OrderedDict[int, F64Array]" = OrderedDict()
_WINDOW_LOCK = threading.Lock()
_WINDOW_CACHE_SIZE = 64


def hann_window(n: int) -> F64Array:
    """``numpy.hanning(n)`` bit for bit (float64), read-only and cached.

    Parameters
    ----------
    n : int
        Window length, ``n >= 0`` (``0`` gives an empty array, ``1`` gives ``[1.0]``).

    Returns
    -------
    numpy.ndarray
        float64, shape ``(n,)``, not writeable (copy it to modify). The same array object is
        returned for the same ``n`` while it stays in the cache (the 64 most recent sizes).
    """
    n = _int_arg(n, "n", 0, _MAX_FFT)
    with _WINDOW_LOCK:
        w = _WINDOW_CACHE.get(n)
        if w is not None:
            _WINDOW_CACHE.move_to_end(n)
            return w
        w = np.empty(n, dtype=np.float64)
        fn = _native.lib.tonecore_window_fill_f64
        _check(fn(_native.WINDOW_HANN_SYM, _ptr(w, c_double), n), fn)
        w.setflags(write=False)
        _WINDOW_CACHE[n] = w
        if len(_WINDOW_CACHE) > _WINDOW_CACHE_SIZE:
            _WINDOW_CACHE.popitem(last=False)
        return w


# -- 2. parallel FFT / STFT ---------------------------------------------------------------------


@dataclass
class ParallelConfig:
    """The host's parallel-processing settings. ``enable_parallel`` and ``max_workers`` choose
    the native thread count; the other fields are accepted for compatibility and unused."""

    enable_parallel: bool = True
    max_workers: int = min(8, os.cpu_count() or 1)
    use_multiprocessing: bool = False
    chunk_processing_threshold: int = 44100
    band_grouping: bool = True
    shared_memory_threshold_mb: int = 10


class ParallelFFTProcessor:
    """The host's ``ParallelFFTProcessor`` on tonecore's parallel FFT (rayon workers, shared
    plan cache): same methods, same framing, same numbers.

    Kept for hosts on older versions: the current host no longer has this class (removed in its
    change #4565); a host at its current version does not import it.

    Parameters
    ----------
    config : ParallelConfig or any object with ``enable_parallel`` / ``max_workers``, optional
        ``enable_parallel=False`` runs on the calling thread; otherwise frames are spread over
        ``max_workers`` native threads (default: ``min(8, cpu_count)``).
    """

    def __init__(self, config: Optional[Any] = None) -> None:
        self.config = config if config is not None else ParallelConfig()
        enabled = bool(getattr(self.config, "enable_parallel", True))
        workers = getattr(self.config, "max_workers", None)
        if not enabled:
            self._threads = 1
        elif workers is None:
            self._threads = 0
        else:
            self._threads = _int_arg(workers, "config.max_workers", 1, 1024)

    def close(self) -> None:
        """No-op (the host releases its thread pool here; tonecore's workers are shared)."""

    def get_window(self, size: int) -> F64Array:
        """The symmetric Hann window of ``size`` samples (:func:`hann_window`: read-only,
        cached, identical to ``numpy.hanning(size)``)."""
        return hann_window(size)

    def _spectra(
        self, base: str, audio: Any, fft_size: Any, hop_size: Any, window: Any
    ) -> Tuple[C128Array, int, int]:
        x = _audio(audio, "audio", (1,))
        n = _fft_size_arg(fft_size, even=False)
        hop = n // 2 if hop_size is None else _int_arg(hop_size, "hop_size", 1)
        w: Optional[F64Array] = None
        if window is not None:
            w = _f64_vector(window, "window")
            if w.size != n:
                raise ValueError(f"window has {w.size} values; fft_size is {n}")
        frames = 1 if x.size < n else 1 + (x.size - n) // hop
        width = n if base == "tonecore_auralis_windowed_fft" else n // 2 + 1
        out = np.empty(frames * width, dtype=np.complex128)
        fn = _fn(base, x.dtype)
        got = c_size_t()
        status = fn(
            _addr(x), x.size, n, hop,
            _addr(w) if w is not None else None, 0 if w is None else w.size,
            self._threads, _addr(out), out.size, byref(got),
        )
        _check(status, fn)
        return out, frames, width

    def parallel_windowed_fft(
        self,
        audio: Any,
        fft_size: int = 4096,
        hop_size: Optional[int] = None,
        window: Optional[npt.ArrayLike] = None,
    ) -> List[C128Array]:
        """Full complex spectra of the windowed frames, computed in parallel.

        Parameters
        ----------
        audio : numpy.ndarray
            1-D float32 or float64 signal (float32 is promoted, as numpy promotes it when
            multiplying by the float64 window).
        fft_size : int, optional
            Frame length ``N >= 2`` (any size, odd too). Default 4096.
        hop_size : int, optional
            Frame advance ``>= 1``; default ``fft_size // 2``.
        window : array_like, optional
            ``N`` window values (as float64); default :func:`hann_window` ``(N)``.

        Returns
        -------
        list of numpy.ndarray
            One complex128 array of ``N`` bins per frame: ``numpy.fft.fft(audio[s:s+N] * w)``
            for ``s = 0, hop, …`` with ``s + N <= len(audio)``; a signal shorter than ``N`` gives
            one frame of the zero-padded signal. (The arrays are rows of one block.)
        """
        out, frames, width = self._spectra(
            "tonecore_auralis_windowed_fft", audio, fft_size, hop_size, window
        )
        return list(out.reshape(frames, width))

    def parallel_stft(
        self, audio: Any, fft_size: int = 4096, hop_size: Optional[int] = None
    ) -> C128Array:
        """The STFT matrix ``(frequency, time)``: bins ``0 .. N//2`` of every frame of
        :meth:`parallel_windowed_fft` (Hann window), as ``numpy.column_stack`` lays it out.

        Returns
        -------
        numpy.ndarray
            complex128, C-contiguous, shape ``(fft_size // 2 + 1, frames)``.
        """
        out, frames, width = self._spectra("tonecore_auralis_stft", audio, fft_size, hop_size, None)
        return out.reshape(width, frames)


# -- 3.–5. bands, bin map, gain curve -----------------------------------------------------------


@dataclass(frozen=True)
class CriticalBand:
    """One critical band, as the host describes it (frequencies in Hz)."""

    index: int
    center_freq: float
    low_freq: float
    high_freq: float
    bandwidth: float
    weight: float


def _perceptual_weight(center: float) -> float:
    if 1000.0 <= center <= 4000.0:
        return 1.0
    if 300.0 <= center <= 8000.0:
        return 0.8
    if 100.0 <= center <= 300.0 or 8000.0 <= center <= 16000.0:
        return 0.6
    return 0.3


def _critical_edges(first_edge_hz: Any) -> F64Array:
    first = _float_arg(first_edge_hz, "first_edge_hz")
    if not 0.0 <= first < 100.0:
        raise ValueError(f"first_edge_hz must be in [0, 100), got {first!r}")
    edges = np.empty(26, dtype=np.float64)
    fn = _native.lib.tonecore_layout_edges
    _check(
        fn(_native.LAYOUT_CRITICAL, None, 0, _ptr(edges, c_double), edges.size, None, 0), fn
    )
    edges[0] = first
    return edges


def critical_bands(first_edge_hz: float = 20.0) -> List[CriticalBand]:
    """The 25 critical bands (edges 20 (or ``first_edge_hz``), 100, 200, …, 15500, 20000 Hz)
    with ``center = sqrt(low * high)``, ``bandwidth = high - low`` and the host's perceptual
    weight: 1.0 for centres in 1–4 kHz, else 0.8 in 300 Hz–8 kHz, else 0.6 in 100–300 Hz or
    8–16 kHz, else 0.3.

    Parameters
    ----------
    first_edge_hz : float, optional
        Lower edge of the first band, ``0 <= f < 100`` (the host uses 0 or 20). Default 20.
    """
    e = _critical_edges(first_edge_hz)
    bands = []
    for i in range(25):
        low, high = float(e[i]), float(e[i + 1])
        center = math.sqrt(low * high)
        bands.append(CriticalBand(i, center, low, high, high - low, _perceptual_weight(center)))
    return bands


def band_map(sample_rate: int, fft_size: int, edges: Optional[npt.ArrayLike] = None) -> I64Array:
    """Band index of every rfft bin:
    ``clip(searchsorted(edges, linspace(0, sr // 2, N // 2 + 1), "right") - 1, 0, B - 1)``.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz (> 0).
    fft_size : int
        FFT size ``N`` (even, >= 2).
    edges : array_like, optional
        ``B + 1`` band edges in Hz (finite, >= 0, strictly ascending); default the critical
        bands' edges (first edge 20 Hz). An empty list (the host's empty band list) gives an
        all-zero map, as the host's ``create_frequency_mapping`` does.

    Returns
    -------
    numpy.ndarray
        int64, shape ``(N // 2 + 1,)``, integer-exact.
    """
    sr = _int_arg(sample_rate, "sample_rate", 1, _U32_MAX)
    n = _fft_size_arg(fft_size, even=True)
    e = _critical_edges(20.0) if edges is None else _f64_vector(edges, "edges")
    if e.size == 0:
        # The host's create_frequency_mapping with an empty band list: every bin in band 0.
        return np.zeros(n // 2 + 1, dtype=np.int64)
    if e.size < 2 or not np.all(np.isfinite(e)) or np.any(e < 0) or np.any(np.diff(e) <= 0):
        raise ValueError("edges must be at least two finite, non-negative, strictly ascending values")
    out = np.empty(n // 2 + 1, dtype=np.uint32)
    fn = _native.lib.tonecore_band_map
    _check(
        fn(_native.LAYOUT_CUSTOM, _ptr(e, c_double), e.size, sr, n, _ptr(out, c_uint32), out.size),
        fn,
    )
    return out.astype(np.int64)


def _map_arg(freq_to_band_map: Any) -> I64Array:
    m = np.asarray(freq_to_band_map)
    if m.dtype.kind not in "iu":
        raise TypeError(f"band_map must be an integer array, not {m.dtype}")
    if m.ndim != 1:
        raise ValueError(f"band_map must be 1-dimensional, got shape {m.shape}")
    if m.dtype.kind == "u" and m.size and int(m.max()) > np.iinfo(np.int64).max:
        raise ValueError("band_map values must fit in int64")
    return np.ascontiguousarray(m, dtype=np.int64)


def gain_curve(gains_db: npt.ArrayLike, band_map: npt.ArrayLike) -> F64Array:
    """The host's step gain curve: ``curve[k] = 10 ** (gains_db[band_map[k]] / 20)``; bins whose
    band has no gain (``band_map[k]`` outside ``0 .. len(gains_db) - 1``) stay 1.0.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(len(band_map),)``.
    """
    g = _f64_vector(gains_db, "gains_db")
    m = _map_arg(band_map)
    out = np.empty(m.size, dtype=np.float64)
    fn = _native.lib.tonecore_auralis_gain_curve
    _check(fn(_addr(g), g.size, _addr(m), m.size, _addr(out), out.size), fn)
    return out


# -- 6. the frame EQ ----------------------------------------------------------------------------


def apply_eq_frame(
    frame: Any, gains_db: npt.ArrayLike, band_map: npt.ArrayLike, fft_size: int
) -> FloatArray:
    """The host's frame EQ: each channel zero-padded to ``fft_size``, an unwindowed full FFT,
    bins ``0..N/2`` times the :func:`gain_curve` and bin ``N - k`` times ``curve[k]``, the real
    part of the inverse sliced back to the frame's length (circular filtering, exactly as the
    host does it).

    Parameters
    ----------
    frame : numpy.ndarray
        float32/float64, ``(samples,)`` or ``(samples, channels)``, ``samples <= fft_size``.
        Integer frames (int16, …) are accepted as the host accepts them: computed in float64,
        a full frame cast back to the input dtype with ``astype`` (truncating), a short frame
        returned as float64 (the host zero-pads it in float64).
    gains_db : array_like
        Band gains in dB (any count; bins of bands without a gain are left alone).
    band_map : array_like of int
        Band index of each of the ``fft_size // 2 + 1`` bins (:func:`band_map`).
    fft_size : int
        FFT size, even.

    Returns
    -------
    numpy.ndarray
        The equalized frame, same shape and dtype (integer frames: see above). float64 within
        1e-12 (absolute, for unit level) of numpy; float32 computed in double and rounded once.

    Raises
    ------
    ValueError
        The frame exceeds ``fft_size``; odd ``fft_size``; ``band_map`` not ``fft_size // 2 + 1``
        values; wrong rank.
    TypeError
        Wrong dtype.
    """
    integer: Optional[np.dtype] = None
    if isinstance(frame, np.ndarray) and frame.dtype.kind in "iu":
        # The host's scipy.fft computes an integer frame in float64 and casts the result back
        # with astype (truncation); a short frame is zero-padded in float64 first, so it comes
        # back float64.
        integer = frame.dtype
        frame = frame.astype(np.float64)
    x = _audio(frame, "frame")
    n = _fft_size_arg(fft_size, even=True)
    samples = x.shape[0]
    if samples > n:
        raise ValueError(f"the frame ({samples} samples) exceeds fft_size ({n})")
    g = _f64_vector(gains_db, "gains_db")
    m = _map_arg(band_map)
    if m.size != n // 2 + 1:
        raise ValueError(f"band_map has {m.size} values; fft_size {n} needs {n // 2 + 1}")
    out = np.empty_like(x)
    fn = _fn("tonecore_auralis_apply_eq_frame", x.dtype)
    status = fn(
        _addr(x), x.size, _channels(x), _addr(g), g.size, _addr(m), m.size,
        n, _addr(out), out.size,
    )
    _check(status, fn)
    if integer is not None and samples >= n:
        return cast(FloatArray, out.astype(integer))
    return out


class VectorizedEQProcessor:
    """The host's ``VectorizedEQProcessor`` (:func:`apply_eq_frame` underneath)."""

    def apply_eq_gains_vectorized(
        self, audio_chunk: Any, gains: npt.ArrayLike, freq_to_band_map: npt.ArrayLike,
        fft_size: int,
    ) -> FloatArray:
        """:func:`apply_eq_frame` under the host's method name."""
        return apply_eq_frame(audio_chunk, gains, freq_to_band_map, fft_size)


class ParallelEQProcessor:
    """The host's ``ParallelEQProcessor`` (:func:`apply_eq_frame` underneath; ``config`` is
    accepted for compatibility).

    Kept for hosts on older versions: the current host no longer has this class (removed in its
    change #4993); a host at its current version does not import it.
    """

    def __init__(self, config: Optional[Any] = None) -> None:
        self.config = config

    def apply_eq_gains_parallel(
        self, audio_chunk: Any, gains: npt.ArrayLike, freq_to_band_map: npt.ArrayLike,
        fft_size: int,
    ) -> FloatArray:
        """:func:`apply_eq_frame` under the host's method name."""
        return apply_eq_frame(audio_chunk, gains, freq_to_band_map, fft_size)


# -- 7. the adaptive overlap-add EQ ---------------------------------------------------------------


class AdaptiveEqState:
    """The adaptive EQ's smoothed band gains (dB, 25 values, starting at 0), carried from one
    :func:`eq_process_buffer` call to the next. Calls that share a state are serialised by its
    lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gains: F64Array = np.zeros(_BANDS, dtype=np.float64)

    @property
    def current_gains(self) -> F64Array:
        """A copy of the current gains in dB."""
        with self._lock:
            return self._gains.copy()

    @current_gains.setter
    def current_gains(self, gains: npt.ArrayLike) -> None:
        g = _f64_vector(gains, "current_gains")
        if g.size != _BANDS:
            raise ValueError(f"current_gains must have {_BANDS} values, got {g.size}")
        with self._lock:
            self._gains = g.copy()

    def reset(self) -> None:
        """Back to flat (all gains 0 dB)."""
        with self._lock:
            self._gains = np.zeros(_BANDS, dtype=np.float64)

    def __repr__(self) -> str:
        return f"AdaptiveEqState(current_gains={self.current_gains!r})"


_EqConfig = _native.AuralisEqConfig


#: ``analysis=`` values: the host today, and the host before its changes #3428 and #4101.
ANALYSIS_CURRENT = "current"
ANALYSIS_PRE_3428_4101 = "pre-3428-4101"
_ANALYSES = {ANALYSIS_CURRENT: 0, ANALYSIS_PRE_3428_4101: 1}
#: The genres and energy levels the host's content adaptation tells apart (anything else: 0).
_GENRES = {"classical": 1, "rock": 2, "electronic": 3, "metal": 4, "jazz": 5}
_ENERGIES = {"medium": 0, "low": 1, "high": 2}


def _profile_code(value: Any, codes: "dict[str, int]") -> int:
    # The host compares with ==; only strings can equal its keys.
    return codes.get(value, 0) if isinstance(value, str) else 0


def _apply_profile(cfg: _EqConfig, content_profile: Any) -> None:
    """The profile keys the host's ``apply_content_adaptation`` reads, with its defaults; a
    falsy profile (None, ``{}``) is no profile, as the host's ``if content_profile:``."""
    if not content_profile:
        return
    get = getattr(content_profile, "get", None)
    if get is None:
        raise TypeError(
            f"content_profile must be a mapping, not {type(content_profile).__name__}"
        )
    centroid = get("spectral_centroid", 2000)
    if isinstance(centroid, (bool, np.bool_)):
        centroid = int(centroid)  # the host compares a bool as 0 / 1
    cfg.has_profile = 1
    cfg.profile_genre = _profile_code(get("genre", "unknown"), _GENRES)
    cfg.profile_energy_level = _profile_code(get("energy_level", "medium"), _ENERGIES)
    cfg.profile_spectral_centroid = _float_arg(centroid, "content_profile['spectral_centroid']")


def eq_process_buffer(
    audio: Any,
    target_curve: npt.ArrayLike,
    sample_rate: int = 44100,
    fft_size: int = 4096,
    adaptation_speed: float = 0.8,
    state: Optional[AdaptiveEqState] = None,
    content_profile: Optional[Any] = None,
    *,
    first_edge_hz: float = 20.0,
    threads: Optional[int] = None,
    analysis: str = ANALYSIS_CURRENT,
) -> FloatArray:
    """The host's adaptive weighted-overlap-add EQ over a whole buffer
    (``EQProcessor._process_with_psychoacoustic_eq`` around ``PsychoacousticEQ``).

    Frames of ``N = fft_size`` samples at hop ``N/2`` (every start before the end, zero-padded):
    each is analysed — the mono downmix times the symmetric Hann window, divided by the
    window's mean (the host today, its changes #3428 and #4101), magnitudes ``|X|`` of its FFT;
    band energies ``mean(20·log10(|X| + 1e-10))`` over the band's bins, masking thresholds
    ``max(20·log10(max|X| + 1e-10) − 20, −80)`` — its gains stepped by the state (``g =
    target``, halved below the masking threshold, times the band weight, clipped to ±12 dB,
    adapted by ``content_profile``, ``cur += (g − cur)·adaptation_speed``), equalized
    unwindowed with :func:`apply_eq_frame` and accumulated as ``out += y·hann(N)``,
    ``wnorm += hann(N)``; finally ``out /= max(wnorm, 1e-8)``. Frames are analysed and
    equalized in parallel on native threads.

    Parameters
    ----------
    audio : numpy.ndarray
        float32/float64, ``(samples,)`` or ``(samples, channels)``.
    target_curve : array_like
        Relative band gains in dB (bands past its end get 0).
    sample_rate, fft_size, adaptation_speed :
        As the host (``fft_size`` even; ``adaptation_speed`` finite).
    state : AdaptiveEqState, optional
        Gains carried between calls (updated to the last frame's gains); None starts from flat
        and keeps nothing.
    content_profile : mapping, optional
        The host's content profile, as passed to ``_process_with_psychoacoustic_eq``. The keys
        its adaptive EQ reads, with its defaults: ``genre`` (``"classical"``, ``"rock"``,
        ``"electronic"``, ``"metal"``, ``"jazz"``; anything else changes nothing),
        ``energy_level`` (``"low"``, ``"high"``; default ``"medium"``) and
        ``spectral_centroid`` (Hz, a real number; default 2000). Other keys are ignored; an
        empty mapping or None applies nothing.
    first_edge_hz : float, keyword-only
        First critical-band edge (the host versions use 20 or 0). Default 20.
    threads : int, keyword-only
        None/0 all cores, 1 the calling thread, n a pool of n threads.
    analysis : str, keyword-only
        ``"current"`` (default): the host today. ``"pre-3428-4101"``: the host before its
        changes #3428 and #4101 (the windowed frame not divided by the window's mean, +6.02 dB
        on the band energies only), for hosts still on such a version.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``audio``. With a zero target, no profile and zero state it
        equals the input except sample 0 (where the window sum is 0).
    """
    x = _audio(audio, "audio")
    target = _f64_vector(target_curve, "target_curve")
    cfg = _EqConfig()
    _native.check(_EQ_CONFIG_INIT(_addressof(cfg)), "tonecore_auralis_eq_config_init")
    cfg.sample_rate = _int_arg(sample_rate, "sample_rate", 1, _U32_MAX)
    cfg.fft_size = _fft_size_arg(fft_size, even=True)
    speed = _float_arg(adaptation_speed, "adaptation_speed")
    if not math.isfinite(speed):
        raise ValueError(f"adaptation_speed must be finite, got {speed!r}")
    cfg.adaptation_speed = speed
    first = _float_arg(first_edge_hz, "first_edge_hz")
    if not 0.0 <= first < 100.0:
        raise ValueError(f"first_edge_hz must be in [0, 100), got {first!r}")
    cfg.first_edge_hz = first
    cfg.threads = _threads_arg(threads)
    if analysis not in _ANALYSES:
        raise ValueError(f"analysis must be one of {sorted(_ANALYSES)}, got {analysis!r}")
    cfg.analysis = _ANALYSES[analysis]
    _apply_profile(cfg, content_profile)
    if state is not None and not isinstance(state, AdaptiveEqState):
        raise TypeError(f"state must be an AdaptiveEqState or None, not {type(state).__name__}")
    own = state if state is not None else AdaptiveEqState()
    out = np.empty_like(x)
    fn = _EQ_PROCESS[x.dtype]
    with own._lock:
        gains_in = own._gains
        gains_out = np.empty(_BANDS, dtype=np.float64)
        status = fn(
            _addressof(cfg), _addr(x), x.size, _channels(x), _addr(target), target.size,
            _addr(gains_in), gains_in.size, _addr(out), out.size,
            _addr(gains_out), gains_out.size,
        )
        _native.check(status, "tonecore_auralis_eq_process")
        own._gains = gains_out
    return out


# -- 8.–10. crossfades, the chunk crossfader, chunk geometry ---------------------------------------


def crossfade_concat(chunk1: Any, chunk2: Any, overlap_samples: int) -> FloatArray:
    """The host's ``apply_crossfade_between_chunks``: with ``L = min(overlap, len1, len2)`` the
    last L samples of ``chunk1`` times ``cos²t`` plus the first L of ``chunk2`` times ``sin²t``,
    ``t = linspace(0, π/2, L)`` (both ends); ``L <= 0`` concatenates. Length
    ``len1 + len2 - L``, the rank of the inputs.

    The result's dtype is the host's: float64 whenever a crossfade is mixed (the host multiplies
    by float64 fades, so float32 chunks come back float64) or the chunks' dtypes differ
    (float32 beside float64 is accepted, as numpy promotes it); float32 only for two float32
    chunks that are just concatenated (``L <= 0``).
    """
    x, y = _audio(chunk1, "chunk1"), _audio(chunk2, "chunk2")
    if x.ndim != y.ndim or _channels(x) != _channels(y):
        raise ValueError(f"chunk1 {x.shape} and chunk2 {y.shape} differ in rank or channels")
    overlap = _int_arg(overlap_samples, "overlap_samples", -(2**63))
    ch = _channels(x)
    la, lb = x.shape[0], y.shape[0]
    mixed = max(0, min(overlap, la, lb))
    if mixed or x.dtype != y.dtype:
        x, y = x.astype(np.float64, copy=False), y.astype(np.float64, copy=False)
    out = np.empty((la + lb - mixed,) + x.shape[1:], dtype=x.dtype)
    fn = _fn("tonecore_auralis_crossfade_concat", x.dtype)
    frames = c_size_t()
    status = fn(
        _addr(x), x.size, _addr(y), y.size, ch, max(0, overlap), _addr(out), out.size,
        byref(frames),
    )
    _check(status, fn, audio_path=True)
    return out


class ChunkCrossfader:
    """Joins processed chunks with crossfaded seams, committing each seam's tail only when the
    caller says its output was delivered.

    :meth:`push` of the first chunk emits ``processed[:core_samples]`` and stages
    ``processed[core_samples : core_samples + crossfade_samples]`` as the tail; each later push
    emits ``tail·cos² + head·sin²`` over ``L = min(len(tail), len(chunk))`` samples, then the
    body up to ``core_samples`` (to the end when ``is_last``), and stages the new tail. The
    staged tail becomes the current one only in :meth:`commit`: if the caller fails to write a
    pushed chunk and pushes it again (or pushes another), the seam is rebuilt from the last
    committed tail. Total output length equals total input content (the cores plus the last
    chunk's remainder). All calls on one instance are serialised by its lock.

    Parameters
    ----------
    crossfade_samples : int
        Length of the tail each chunk carries past its core (>= 0).
    """

    def __init__(self, crossfade_samples: int) -> None:
        self.crossfade_samples = _int_arg(crossfade_samples, "crossfade_samples", 0)
        self._lock = threading.Lock()
        self._tail: Optional[np.ndarray] = None
        self._pending: Optional[Tuple[Optional[np.ndarray]]] = None

    @property
    def tail(self) -> Optional[np.ndarray]:
        """A copy of the committed tail (None before the first commit or after the last)."""
        with self._lock:
            return None if self._tail is None else self._tail.copy()

    def push(self, processed: Any, core_samples: int, is_last: bool = False) -> FloatArray:
        """Emit one processed chunk (see the class docstring); call :meth:`commit` once the
        returned audio has been delivered.

        Raises
        ------
        ValueError
            ``core_samples`` outside ``0 .. len(processed)`` (a last chunk may give any
            ``core_samples``: it emits to its end) or, after the first chunk, shorter than the
            crossfade; the chunk's channels differ from the tail's.
        TypeError
            Wrong dtype, or a dtype other than the tail's.
        """
        x = _audio(processed, "processed")
        core = _int_arg(core_samples, "core_samples", 0, None if is_last else x.shape[0])
        core = min(core, x.shape[0])
        with self._lock:
            tail = self._tail
            if tail is None:
                end = x.shape[0] if is_last else core
                emitted: np.ndarray = x[:end].copy()
            else:
                if tail.dtype != x.dtype:
                    raise TypeError(f"processed has dtype {x.dtype}; the tail is {tail.dtype}")
                if tail.ndim != x.ndim or _channels(tail) != _channels(x):
                    raise ValueError(f"processed {x.shape} does not match the tail {tail.shape}")
                end = x.shape[0] if is_last else core
                fade = min(tail.shape[0], x.shape[0])
                if end < fade:
                    raise ValueError(
                        f"core_samples ({core}) is shorter than the crossfade ({fade} samples)"
                    )
                emitted = np.empty((end,) + x.shape[1:], dtype=x.dtype)
                fn = _fn("tonecore_auralis_seam", x.dtype)
                frames = c_size_t()
                status = fn(
                    _addr(tail), tail.size, _addr(x), x.size, _channels(x), end,
                    _addr(emitted), emitted.size, byref(frames),
                )
                _check(status, fn, audio_path=True)
            staged = None if is_last else x[core : core + self.crossfade_samples].copy()
            self._pending = (staged,)
            return emitted

    def commit(self) -> None:
        """Make the last pushed chunk's tail the current one (after its output was delivered).

        Raises
        ------
        RuntimeError
            Nothing was pushed since the last commit.
        """
        with self._lock:
            if self._pending is None:
                raise RuntimeError("nothing to commit: push a chunk first")
            self._tail = self._pending[0]
            self._pending = None

    def reset(self) -> None:
        """Forget the committed and the staged tail (e.g. after a seek)."""
        with self._lock:
            self._tail = None
            self._pending = None


#: Seconds of audio in a chunk.
CHUNK_DURATION = 15.0
#: Seconds between chunk starts.
CHUNK_INTERVAL = 10.0
#: Seconds two adjacent chunks share.
OVERLAP_DURATION = 5.0
#: Seconds of context loaded on each side of a chunk.
CONTEXT_DURATION = 5.0
#: Least audio (seconds) the first chunk of a seek must keep.
SEEK_MIN_CHUNK_REMAINDER = 0.5


class ChunkBounds(NamedTuple):
    """A chunk's load range (core plus context) and core range, in samples."""

    load_start: int
    load_end: int
    core_start: int
    core_end: int


def content_chunk_count(total_duration: float) -> int:
    """Chunks that carry new audio: ``max(1, ceil((T − 5) / 10))``."""
    t = _float_arg(total_duration, "total_duration")
    return max(1, int(math.ceil((t - OVERLAP_DURATION) / CHUNK_INTERVAL)))


def chunk_boundaries(chunk_index: int, total_duration: float, sample_rate: int) -> ChunkBounds:
    """Chunk ``k``'s ranges in samples: core ``[10k, min(10k + 15, T))`` seconds, load range
    the core widened by 5 s of context on each side (clipped to ``[0, T]``), each boundary
    ``round(seconds · sample_rate)`` (Python's round, as the host)."""
    k = _int_arg(chunk_index, "chunk_index", 0)
    t = _float_arg(total_duration, "total_duration")
    sr = _int_arg(sample_rate, "sample_rate", 1)
    core_start = k * CHUNK_INTERVAL
    core_end = min(core_start + CHUNK_DURATION, t)
    load_start = max(0.0, core_start - CONTEXT_DURATION)
    load_end = min(t, core_end + CONTEXT_DURATION)
    return ChunkBounds(
        round(load_start * sr), round(load_end * sr), round(core_start * sr), round(core_end * sr)
    )


def _index_like(chunk_index: Any) -> Any:
    """An int or a float, as the host's arithmetic takes either (TypeError otherwise)."""
    if isinstance(chunk_index, (float, np.floating)):
        return float(chunk_index)
    return operator.index(chunk_index)


def emitted_chunk_start(chunk_index: float) -> float:
    """Source time (s) of the first sample chunk ``k`` emits: 0.0 for ``k <= 0``, else
    ``k·10.0 + 5.0`` — a float for an int or a float ``k``, as the host computes it."""
    k = _index_like(chunk_index)
    return 0.0 if k <= 0 else k * CHUNK_INTERVAL + OVERLAP_DURATION


def emitted_chunk_length(chunk_index: float) -> float:
    """Seconds of new audio chunk ``k`` emits (15 for the first, 10 after; the last may be
    shorter)."""
    return CHUNK_DURATION if _index_like(chunk_index) <= 0 else CHUNK_INTERVAL


def chunk_for_position(
    position: float,
    total_chunks: int,
    min_remainder: float = SEEK_MIN_CHUNK_REMAINDER,
    *,
    total_duration: Optional[float] = None,
) -> Tuple[int, float, float]:
    """Map a seek position (s) to ``(chunk_index, offset_into_emitted_audio,
    effective_position)`` as the host does: positions inside the first 15 s map to chunk 0,
    later ones to ``(pos − 5) // 10``; a position within ``min_remainder`` of its chunk's end
    moves to the next chunk's start; with ``total_duration`` positions are clamped to keep at
    least ``min_remainder`` of audio."""
    pos = max(0.0, _float_arg(position, "position"))
    chunks = max(1, int(total_chunks))
    rem = _float_arg(min_remainder, "min_remainder")
    if total_duration is not None:
        duration = max(0.0, _float_arg(total_duration, "total_duration"))
        pos = min(pos, max(0.0, duration - rem))
    index = 0 if pos < CHUNK_DURATION else int((pos - OVERLAP_DURATION) // CHUNK_INTERVAL)
    index = max(0, min(index, chunks - 1))
    offset = max(0.0, pos - emitted_chunk_start(index))
    if index < chunks - 1 and emitted_chunk_length(index) - offset < rem:
        index += 1
        offset = 0.0
        pos = emitted_chunk_start(index)
    return index, offset, pos


# -- 11.–12. gain smoother, level matcher, safety limit --------------------------------------------


def _struct_field(lock: threading.Lock, get: Callable[[], float]) -> float:
    with lock:
        return float(get())


class GainSmoother:
    """The host's ``AdaptiveGainSmoother``: ``set_target`` clamps to ``[0, 10]``;
    ``process(n)`` returns the float32 ramp ``g[j] = T + (c − T)(1 − α)^(j+1)`` (computed in
    float64; α = attack when ``T > c``, else release) and advances ``c`` to its last value; a
    constant ``c`` when ``|c − T| < 1e-6``. Calls on one instance are serialised by its lock.

    ``attack_alpha``, ``release_alpha``, ``current_gain`` and ``target_gain`` are read-write
    attributes with the host's semantics: assigning ``target_gain`` stores the value as given
    (only :meth:`set_target` clamps). A non-finite smoothing factor is refused by the next
    :meth:`process` (ValueError) where the host would return NaN gains.
    """

    _s: Any
    _s_addr: int

    def __init__(self, attack_alpha: float = 0.01, release_alpha: float = 0.001) -> None:
        self._lock = threading.Lock()
        s = _native.AuralisSmoother()
        fn = _native.lib.tonecore_auralis_smoother_init
        _check(
            fn(_float_arg(attack_alpha, "attack_alpha"), _float_arg(release_alpha, "release_alpha"),
               byref(s)),
            fn,
        )
        self._bind(s, self._lock)

    def _bind(self, struct: Any, lock: threading.Lock) -> None:
        """Make this object read and write ``struct`` (its own, or a level matcher's embedded
        smoother) under ``lock``."""
        self._s = struct
        self._s_addr = ctypes.addressof(struct)
        self._lock = lock

    @classmethod
    def _view(cls, struct: Any, lock: threading.Lock) -> "GainSmoother":
        obj = cls.__new__(cls)
        obj._bind(struct, lock)
        return obj

    def _set(self, field: str, value: Any) -> None:
        v = _float_arg(value, field)
        with self._lock:
            setattr(self._s, field, v)

    @property
    def attack_alpha(self) -> float:
        """Smoothing factor when the gain rises (writable)."""
        return _struct_field(self._lock, lambda: self._s.attack_alpha)

    @attack_alpha.setter
    def attack_alpha(self, value: float) -> None:
        self._set("attack_alpha", value)

    @property
    def release_alpha(self) -> float:
        """Smoothing factor when the gain falls (writable)."""
        return _struct_field(self._lock, lambda: self._s.release_alpha)

    @release_alpha.setter
    def release_alpha(self, value: float) -> None:
        self._set("release_alpha", value)

    @property
    def current_gain(self) -> float:
        """The gain reached so far (starts at 1; writable)."""
        return _struct_field(self._lock, lambda: self._s.current_gain)

    @current_gain.setter
    def current_gain(self, value: float) -> None:
        self._set("current_gain", value)

    @property
    def target_gain(self) -> float:
        """The gain the ramp heads for (starts at 1; writable, stored as given)."""
        return _struct_field(self._lock, lambda: self._s.target_gain)

    @target_gain.setter
    def target_gain(self, value: float) -> None:
        self._set("target_gain", value)

    def set_target(self, target: float) -> None:
        """Set the target, clamped with the host's ``max(0, min(10, target))`` (NaN → 10)."""
        t = target if type(target) is float else _float_arg(target, "target")
        with self._lock:
            self._s.target_gain = max(0.0, min(10.0, t))

    def process(self, num_samples: int) -> F32Array:
        """The next ``num_samples`` gains (float32, shape ``(num_samples,)``)."""
        n = num_samples if type(num_samples) is int else _int_arg(num_samples, "num_samples")
        if n <= 0:
            return np.empty(_int_arg(n, "num_samples", 0), dtype=np.float32)
        out = np.empty(n, dtype=np.float32)
        with self._lock:
            status = _SMOOTHER_PROCESS(self._s_addr, _fast_addr(out), n)
        if status:
            _native.check(status, "tonecore_auralis_smoother_process", audio_path=True)
        return out


#: The host's class name.
AdaptiveGainSmoother = GainSmoother


def _block_and_fn(block: Any, fns: Dict[Any, Any], name: str) -> Tuple[FloatArray, Any]:
    """The per-block fast path's input and entry point: a C-contiguous 1-D/2-D float32/float64
    ndarray is used as it is with no further checks (the C side checks the rest); anything else
    goes through the full conversion and checks of ``_audio``."""
    fn = (
        fns.get(block.dtype)
        if type(block) is np.ndarray and 0 < block.ndim < 3 and block.flags.c_contiguous
        else None
    )
    if fn is not None:
        return block, fn
    x = _audio(block, name)
    return x, fns[x.dtype]


class LevelMatcher:
    """The host's ``RealtimeLevelMatcher``: RMS level matching against a reference with a
    smoothed target, a float32 gain ramp and post-gain peak normalisation to 0.95. ``process``
    is atomic per instance (one lock guards the whole state).

    Parameters
    ----------
    config : object, optional
        Accepted for signature compatibility (the host passes its player config); unused.
    """

    def __init__(self, config: Optional[Any] = None) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._m = _native.AuralisLevelMatcher()
        self._m_addr = ctypes.addressof(self._m)
        self._applied = c_uint32()
        self._applied_addr = ctypes.addressof(self._applied)
        fn = _native.lib.tonecore_auralis_level_matcher_init
        _check(fn(byref(self._m)), fn)
        self._smoother = GainSmoother._view(self._m.smoother, self._lock)

    @property
    def gain_smoother(self) -> GainSmoother:
        """The matcher's gain smoother (the host's public attribute): reads and writes go to
        the matcher's own state under its lock. Assigning a :class:`GainSmoother` copies its
        state in and rebinds that object to the matcher (as the host's assignment replaces the
        object the matcher uses); :meth:`reset` puts a fresh smoother here, as the host does."""
        return self._smoother

    @gain_smoother.setter
    def gain_smoother(self, smoother: GainSmoother) -> None:
        if not isinstance(smoother, GainSmoother):
            raise TypeError(f"gain_smoother must be a GainSmoother, not {type(smoother).__name__}")
        if smoother is self._smoother:
            return
        with smoother._lock:
            state = _native.AuralisSmoother.from_buffer_copy(smoother._s)
        with self._lock:
            self._m.smoother = state
            smoother._bind(self._m.smoother, self._lock)
            self._smoother = smoother

    @property
    def enabled(self) -> bool:
        """Whether matching is applied."""
        with self._lock:
            return bool(self._m.enabled)

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self.set_enabled(value)

    @property
    def reference_rms(self) -> Optional[float]:
        """The reference's RMS, or None."""
        with self._lock:
            return float(self._m.reference_rms) if self._m.has_reference else None

    @property
    def current_target_rms(self) -> float:
        """The smoothed target RMS."""
        with self._lock:
            return float(self._m.current_target_rms)

    def set_reference_audio(self, reference: Optional[Any]) -> bool:
        """Set the reference (its RMS over all samples) and enable matching; None clears the
        reference and disables. Returns whether a reference is set."""
        with self._lock:
            if reference is None:
                self._m.has_reference = 0
                self._m.reference_rms = 0.0
                self._m.enabled = 0
                return False
            r = _audio(reference, "reference", (1, 2))
            fn = _fn("tonecore_auralis_level_matcher_set_reference", r.dtype)
            _check(fn(byref(self._m), _addr(r), r.size), fn, audio_path=True)
            return True

    def set_enabled(self, enabled: bool) -> None:
        """Enable or disable matching."""
        with self._lock:
            self._m.enabled = 1 if enabled else 0

    def reset(self) -> None:
        """Back to the constructed state (no reference, disabled, fresh smoother)."""
        fn = _native.lib.tonecore_auralis_level_matcher_init
        with self._lock:
            _check(fn(byref(self._m)), fn)
            self._smoother = GainSmoother._view(self._m.smoother, self._lock)

    def process(self, audio: Any) -> FloatArray:
        """Match one block's level.

        Returns
        -------
        numpy.ndarray
            The matched block (same shape and dtype); the input object itself when the block
            passes unchanged (disabled, no or zero reference, empty or silent block), as the
            host returns it.
        """
        x, fn = _block_and_fn(audio, _MATCH, "audio")
        out: FloatArray = np.empty_like(x)
        out_addr = _fast_addr(out) if out.size else _addr(out)
        ch = x.shape[1] if x.ndim == 2 else 1
        with self._lock:
            status = fn(self._m_addr, _addr(x), x.size, ch, out_addr, out.size,
                        self._applied_addr)
            applied = self._applied.value
        if status:
            _native.check(status, "tonecore_auralis_level_matcher_process", audio_path=True)
        return out if applied else cast(FloatArray, audio)

    def get_stats(self) -> dict:  # type: ignore[type-arg]
        """``enabled``, ``reference_loaded``, ``reference_rms``, ``current_gain``,
        ``target_gain`` (one consistent snapshot)."""
        with self._lock:
            m = self._m
            return {
                "enabled": bool(m.enabled),
                "reference_loaded": bool(m.has_reference),
                "reference_rms": float(m.reference_rms) if m.has_reference else 0.0,
                "current_gain": float(m.smoother.current_gain),
                "target_gain": float(m.smoother.target_gain),
            }


#: The host's class name.
RealtimeLevelMatcher = LevelMatcher


def realtime_safety_limit(block: Any, target_peak: float = 0.95) -> FloatArray:
    """The host's final safety stage: a copy of ``block`` unless ``max|block| > target_peak``
    (compared in the block's dtype), then ``block · (target_peak / max|block|)`` — linear, the
    factor in the block's dtype. A NaN anywhere leaves the block unscaled (numpy's max is NaN).

    Returns
    -------
    numpy.ndarray
        A new array, same shape and dtype.
    """
    x, fn = _block_and_fn(block, _LIMIT, "block")
    peak = target_peak if type(target_peak) is float else _float_arg(target_peak, "target_peak")
    out: FloatArray = np.empty_like(x)
    if not out.size:
        if not math.isfinite(peak):
            raise ValueError(f"target_peak must be finite, got {peak!r}")
        return out
    # The C side refuses a non-finite target_peak (ValueError through check).
    status = fn(_addr(x), x.size, peak, _fast_addr(out), out.size)
    if status:
        _native.check(status, "tonecore_auralis_safety_limit", audio_path=True)
    return out
