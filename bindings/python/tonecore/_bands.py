"""Band layouts: :class:`BandLayout` and :func:`band_map` (``tonecore_layout_*`` and
``tonecore_band_map`` in the C ABI), and the curve-mode names. What equalizer gains refer to,
shared by the equalizer, the pipeline's settings and the band analysis."""

from __future__ import annotations

from ctypes import byref, c_double, c_size_t, c_uint32
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _native
from ._checks import real_arg, sample_rate_arg, size_arg, vector_arg

__all__ = ["BandLayout", "CURVE_MODES", "band_map"]

#: The curve-mode names accepted by the ``mode=`` arguments.
CURVE_MODES = tuple(_native.CURVE_MODES)

#: Curve-mode codes -> names.
_MODE_NAMES = {code: name for name, code in _native.CURVE_MODES.items()}


def _layout_edges(
    code: int, edges_ptr: Any, edges_len: int
) -> Tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """``(edges, centers)`` of a layout, float64 and read-only, from the library
    (``tonecore_layout_bands`` and ``tonecore_layout_edges``)."""
    bands = c_size_t()
    _native.check(_native.lib.tonecore_layout_bands(code, edges_ptr, edges_len, byref(bands)),
                  "tonecore_layout_bands")
    n = int(bands.value)
    edges = np.empty(n + 1, dtype=np.float64)
    centers = np.empty(n, dtype=np.float64)
    _native.check(
        _native.lib.tonecore_layout_edges(
            code, edges_ptr, edges_len,
            _native.pointer_to(edges, c_double), edges.size,
            _native.pointer_to(centers, c_double), centers.size,
        ),
        "tonecore_layout_edges",
    )
    edges.flags.writeable = False
    centers.flags.writeable = False
    return edges, centers


#: The library's critical-band edges (``TONECORE_LAYOUT_CRITICAL``): the default first edge
#: of :meth:`BandLayout.critical` and the edges above it, in Hz.
_CRITICAL_EDGES = tuple(float(e) for e in _layout_edges(_native.LAYOUT_CRITICAL, None, 0)[0])
_CRITICAL_FIRST_EDGE = _CRITICAL_EDGES[0]
_CRITICAL_UPPER_EDGES = _CRITICAL_EDGES[1:]

_NAMED_LAYOUTS = {
    "critical": _native.LAYOUT_CRITICAL,
    "octave": _native.LAYOUT_OCTAVE,
    "third_octave": _native.LAYOUT_THIRD_OCTAVE,
    "sixth_octave": _native.LAYOUT_SIXTH_OCTAVE,
}

LayoutArg = Union["BandLayout", str, npt.ArrayLike, None]


# -- argument helpers ---------------------------------------------------------------------


def _mode_code(mode: Any) -> int:
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a str, not {type(mode).__name__}")
    try:
        return _native.CURVE_MODES[mode]
    except KeyError:
        known = ", ".join(repr(k) for k in CURVE_MODES)
        raise ValueError(f"unknown mode {mode!r}; expected one of {known}") from None


def _phase_name(phase: Any, low_latency: bool) -> str:
    """The EQ phase: ``phase`` if given (``"linear"`` or ``"minimum"``), else ``"minimum"``
    in the low-latency mode and ``"linear"`` otherwise."""
    if phase is None:
        return "minimum" if low_latency else "linear"
    if not isinstance(phase, str):
        raise TypeError(f"phase must be a str, not {type(phase).__name__}")
    if phase not in _native.PHASES:
        raise ValueError(f"unknown phase {phase!r}; expected 'linear' or 'minimum'")
    return phase


def low_latency_partition(max_block: int) -> int:
    """The partition of the low-latency EQ for blocks of at most ``max_block`` frames: the
    largest power of two not above it, within 8–65536. At 64-frame blocks the EQ's latency is
    then 64 frames.

    Returns
    -------
    int
        The partition in frames (samples per channel).

    Raises
    ------
    TypeError, ValueError
        ``max_block`` not a non-negative integer.

    >>> tonecore.low_latency_partition(100)
    64
    """
    from ._checks import size_arg

    return int(_native.lib.tonecore_low_latency_partition(size_arg(max_block, "max_block")))


def _layout_arg(layout: LayoutArg) -> "BandLayout":
    """None -> critical bands; a BandLayout; a name; or array_like edges (custom layout)."""
    if layout is None:
        return _default_layout()
    if isinstance(layout, BandLayout):
        return layout
    if isinstance(layout, str):
        if layout == "critical":
            return _default_layout()
        if layout == "octave":
            return BandLayout.octave()
        if layout == "third_octave":
            return BandLayout.third_octave()
        if layout == "sixth_octave":
            return BandLayout.sixth_octave()
        known = ", ".join(repr(k) for k in _NAMED_LAYOUTS)
        raise ValueError(f"unknown layout {layout!r}; expected one of {known}, or band edges")
    return BandLayout(layout)


def _default_layout() -> "BandLayout":
    return BandLayout.critical()


#: The named layouts, built once (they are immutable): later uses make no native call.
_NAMED_CACHE: Dict[str, "BandLayout"] = {}


def _named(code: int, name: str) -> "BandLayout":
    layout = _NAMED_CACHE.get(name)
    if layout is None:
        layout = _NAMED_CACHE[name] = BandLayout._make(code, None, name)
    return layout


# -- band layouts -------------------------------------------------------------------------


class BandLayout:
    """Frequency bands that equalizer gains refer to (immutable).

    Band ``b`` spans ``[edges[b], edges[b+1])`` Hz; frequencies below the first edge belong to
    the first band and frequencies at or above the last edge to the last band.

    Build one with :meth:`critical` (the default everywhere), :meth:`octave`,
    :meth:`third_octave`, :meth:`sixth_octave` (the grid of reference profiles), or
    ``BandLayout(edges)`` for custom edges.

    Parameters
    ----------
    edges : array_like
        Custom band edges in Hz: at least two, finite, non-negative and strictly ascending
        (copied as float64). ``len(edges) - 1`` bands.

    Raises
    ------
    tonecore.InvalidArgument
        The edges are not valid (status 16, ``INVALID_BANDS``); checked by the library.
    TypeError, ValueError
        ``edges`` is not real-valued or not 1-D.

    Examples
    --------
    >>> tonecore.BandLayout.critical().bands
    25
    >>> tonecore.BandLayout([0, 250, 2000, 22050]).centers   # geometric means (0 Hz: half)
    array([ 125.        ,  707.10678119, 6640.78308635])
    """

    __slots__ = ("_code", "_edges_arg", "_edges", "_centers", "_name", "__weakref__")

    def __init__(self, edges: npt.ArrayLike) -> None:
        # A private copy: later changes to the caller's array must not reach this layout.
        self._init(_native.LAYOUT_CUSTOM, vector_arg(edges, "edges").copy(), None)

    @classmethod
    def _make(cls, code: int, edges_arg: Optional[npt.NDArray[Any]], name: Optional[str]) -> "BandLayout":
        self = cls.__new__(cls)
        self._init(code, edges_arg, name)
        return self

    def _init(self, code: int, edges_arg: Optional[npt.NDArray[Any]], name: Optional[str]) -> None:
        if edges_arg is not None:
            edges_arg.flags.writeable = False
        self._code = code
        self._edges_arg = edges_arg
        self._name = name
        edges, centers = _layout_edges(*self._c_args())
        self._edges = edges
        self._centers = centers

    def _c_args(self) -> Tuple[int, Any, int]:
        """The ``(layout, edges, edges_len)`` triple of the C functions (edges NULL unless
        custom). The pointer borrows ``self``'s array: keep ``self`` alive during the call."""
        if self._edges_arg is None:
            return self._code, None, 0
        return self._code, _native.pointer_to(self._edges_arg, c_double), self._edges_arg.size

    # -- constructors -------------------------------------------------------------------

    @classmethod
    def critical(cls, first_edge_hz: float = _CRITICAL_FIRST_EDGE) -> "BandLayout":
        """The 25 critical bands music players use.

        Edges ``[first_edge_hz, 100, 200, 300, 400, 510, 630, 770, 920, 1080, 1270, 1480,
        1720, 2000, 2320, 2700, 3150, 3700, 4400, 5300, 6400, 7700, 9500, 12000, 15500,
        20000]`` Hz.

        Parameters
        ----------
        first_edge_hz : float, optional
            The lowest edge in Hz, ``0 <= first_edge_hz < 100``. Default 20 (the library's
            ``TONECORE_LAYOUT_CRITICAL``); any other value is passed as custom edges.

        Raises
        ------
        tonecore.InvalidArgument
            ``first_edge_hz`` negative, not finite or not below 100 Hz (status 16).
        """
        first = real_arg(first_edge_hz, "first_edge_hz")
        if first == _CRITICAL_FIRST_EDGE:
            return _named(_native.LAYOUT_CRITICAL, "critical")
        edges = np.array((first,) + _CRITICAL_UPPER_EDGES, dtype=np.float64)
        return cls._make(_native.LAYOUT_CUSTOM, edges, "critical")

    @classmethod
    def octave(cls) -> "BandLayout":
        """ISO 266 octave bands: 10 bands centred on ``1000 * 2**k`` Hz, ``k = -5..4``
        (nominal 31.5 Hz to 16 kHz), edges half an octave either side."""
        return _named(_native.LAYOUT_OCTAVE, "octave")

    @classmethod
    def third_octave(cls) -> "BandLayout":
        """ISO 266 third-octave bands: 31 bands centred on ``1000 * 2**(k/3)`` Hz,
        ``k = -17..13`` (nominal 20 Hz to 20 kHz), edges a sixth of an octave either side."""
        return _named(_native.LAYOUT_THIRD_OCTAVE, "third_octave")

    @classmethod
    def sixth_octave(cls) -> "BandLayout":
        """Sixth-octave bands, the grid of reference profiles (:class:`tonecore.Profile`,
        :func:`tonecore.match`): 61 bands centred on ``1000 * 2**(k/6)`` Hz, ``k = -34..26``
        (19.7 Hz to 20.2 kHz), edges a twelfth of an octave either side."""
        return _named(_native.LAYOUT_SIXTH_OCTAVE, "sixth_octave")

    # -- properties ---------------------------------------------------------------------

    @property
    def kind(self) -> str:
        """``"critical"``, ``"octave"``, ``"third_octave"``, ``"sixth_octave"`` or
        ``"custom"``."""
        return self._name or "custom"

    @property
    def edges(self) -> npt.NDArray[np.float64]:
        """Band edges in Hz, float64, shape ``(bands + 1,)`` (a copy)."""
        return self._edges.copy()

    @property
    def centers(self) -> npt.NDArray[np.float64]:
        """Band centres in Hz, float64, shape ``(bands,)`` (a copy): the geometric mean of each
        band's edges (half the upper edge for a band starting at 0 Hz). Smooth gain curves pass
        through each band's gain at its centre."""
        return self._centers.copy()

    @property
    def bands(self) -> int:
        """Number of bands."""
        return int(self._centers.size)

    def band_map(self, sample_rate: int, fft_size: int) -> npt.NDArray[np.int64]:
        """Band index of every rfft bin.

        Parameters
        ----------
        sample_rate : int
            Sample rate in Hz (> 0).
        fft_size : int
            FFT size in samples (even, >= 2).

        Returns
        -------
        numpy.ndarray
            int64, shape ``(fft_size // 2 + 1,)``: bin ``k`` (at
            ``numpy.linspace(0, sample_rate // 2, fft_size // 2 + 1)[k]`` Hz) belongs to band
            ``clip(searchsorted(edges, f, "right") - 1, 0, bands - 1)``.

        Raises
        ------
        tonecore.InvalidArgument
            Sample rate 0 (status 13); odd or too small ``fft_size`` (status 7).
        """
        sr = sample_rate_arg(sample_rate)
        n = size_arg(fft_size, "fft_size")
        out = np.empty(n // 2 + 1, dtype=np.uint32)
        _native.check(
            _native.lib.tonecore_band_map(
                *self._c_args(), sr, n, _native.pointer_to(out, c_uint32), out.size
            ),
            "tonecore_band_map",
        )
        return out.astype(np.int64)

    # -- protocol -----------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BandLayout):
            return NotImplemented
        return bool(np.array_equal(self._edges, other._edges))

    def __hash__(self) -> int:
        return hash(self._edges.tobytes())

    def __repr__(self) -> str:
        if self._name == "critical":
            first = float(self._edges[0])
            arg = "" if first == _CRITICAL_FIRST_EDGE else f"first_edge_hz={first!r}"
            return f"tonecore.BandLayout.critical({arg})"
        if self._name is not None:
            return f"tonecore.BandLayout.{self._name}()"
        return f"tonecore.BandLayout({[float(e) for e in self._edges]!r})"

    def __reduce__(self) -> Any:
        edges = None if self._edges_arg is None else self._edges_arg.tolist()
        return (_rebuild_layout, (self._code, edges, self._name))

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(self, "_centers"):
            raise AttributeError("tonecore.BandLayout is immutable")
        object.__setattr__(self, name, value)


BandLayout.__module__ = "tonecore"


def _rebuild_layout(code: int, edges: Optional[Sequence[float]], name: Optional[str]) -> BandLayout:
    if edges is None and name is not None:
        return _named(code, name)
    arr = None if edges is None else np.array(edges, dtype=np.float64)
    return BandLayout._make(code, arr, name)


def band_map(
    sample_rate: int, fft_size: int, layout: LayoutArg = None
) -> npt.NDArray[np.int64]:
    """Band index of every rfft bin for a layout (see :meth:`BandLayout.band_map`).

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz (> 0).
    fft_size : int
        FFT size in samples (even, >= 2).
    layout : BandLayout, str or array_like, optional
        The bands: None (default) for :meth:`BandLayout.critical`, a :class:`BandLayout`, a
        name (``"critical"``, ``"octave"``, ``"third_octave"``, ``"sixth_octave"``) or custom
        edges in Hz.

    Returns
    -------
    numpy.ndarray
        int64, shape ``(fft_size // 2 + 1,)``.
    """
    return _layout_arg(layout).band_map(sample_rate, fft_size)
