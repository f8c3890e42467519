"""Rendering whole tracks: :func:`crossfade_concat`, the chunk-parallel offline
:func:`render_chunked` and the prefetching :class:`PlaybackStream` with seek
(``tonecore_crossfade_concat_*``, ``tonecore_render_*`` and ``tonecore_playback_*`` in the C ABI).
"""

from __future__ import annotations

import ctypes
import dataclasses
from ctypes import byref, c_double, c_int32, c_size_t, c_void_p
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _native
from ._checks import (
    F32,
    F64,
    FloatArray,
    FloatT,
    U32_MAX,
    input_array,
    out_array,
    real_arg,
    sample_rate_arg,
    size_arg,
    threads_arg,
)
from ._config import (
    DEFAULT_FADE_CURVE,
    PIPELINE_DEFAULTS,
    RENDER_DEFAULTS,
    LimiterConfig,
    PipelineConfig,
    _c_pipeline_config,
    _config_arg,
)
from ._errors import InvalidArgument
from ._object import _Handle, _NativeObject

__all__ = ["FADE_CURVES", "PlaybackStream", "crossfade_concat", "render_chunked"]

#: The crossfade shapes accepted by the ``curve=`` arguments.
FADE_CURVES = tuple(_native.FADE_CURVES)

PipelineConfigArg = Union[PipelineConfig, Mapping[str, Any], None]


# -- argument helpers ---------------------------------------------------------------------


def _curve_code(curve: Any) -> int:
    if not isinstance(curve, str):
        raise TypeError(f"curve must be a str, not {type(curve).__name__}")
    try:
        return _native.FADE_CURVES[curve]
    except KeyError:
        known = ", ".join(repr(k) for k in FADE_CURVES)
        raise ValueError(f"unknown curve {curve!r}; expected one of {known}") from None


def _c_render_config(
    chunk_seconds: Any,
    context_seconds: Any,
    crossfade_seconds: Any,
    curve: Any,
    threads: Optional[int] = None,
    lookahead_chunks: Any = RENDER_DEFAULTS.lookahead_chunks,
    seek_fade_ms: Any = RENDER_DEFAULTS.seek_fade_ms,
) -> "_native.RenderConfig":
    """A ``tonecore_render_config`` (``tonecore_render_config_init``, then every field).

    Durations are only type-checked here (ranges are the library's business), except that a
    negative ``context_seconds`` is refused: the C ABI reads it as "the default context",
    which ``None`` says explicitly.
    """
    chunk = real_arg(chunk_seconds, "chunk_seconds")
    if context_seconds is None:
        context = -1.0
    else:
        context = real_arg(context_seconds, "context_seconds")
        if context < 0.0:
            detail = "context_seconds must be >= 0 (or None for the pipeline's settle time)"
            raise InvalidArgument(
                f"{detail}, got {context!r} (status {_native.STATUS_INVALID_CHUNK}: "
                f"{_native.status_str(_native.STATUS_INVALID_CHUNK)})",
                _native.STATUS_INVALID_CHUNK,
                detail,
            )
    crossfade = real_arg(crossfade_seconds, "crossfade_seconds")
    code = _curve_code(curve)
    threads_n = threads_arg(threads)
    lookahead = size_arg(lookahead_chunks, "lookahead_chunks", U32_MAX)
    fade = real_arg(seek_fade_ms, "seek_fade_ms")

    c = _native.config_init(_native.RenderConfig)
    c.chunk_seconds = chunk
    c.context_seconds = context
    c.crossfade_seconds = crossfade
    c.curve = code
    c.threads = threads_n
    c.lookahead_chunks = lookahead
    c.seek_fade_ms = fade
    return c


def _track_arg(x: Any, copy: bool = False) -> Tuple[npt.NDArray[Any], int]:
    """A planar track ``(frames,)`` or ``(channels, frames)``: the array and its channels."""
    x = input_array(x, "x", (F32, F64), (1, 2), copy)
    return x, (1 if x.ndim == 1 else int(x.shape[0]))


# -- crossfaded join ----------------------------------------------------------------------


def crossfade_concat(
    a: npt.NDArray[FloatT],
    b: npt.NDArray[FloatT],
    overlap: int,
    curve: str = DEFAULT_FADE_CURVE,
    out: Optional[npt.NDArray[FloatT]] = None,
    *,
    copy: bool = False,
) -> npt.NDArray[FloatT]:
    """Join two signals with a crossfade over ``L = min(overlap, len_a, len_b)`` frames.

    The last ``L`` frames of ``a`` fade out while the first ``L`` frames of ``b`` fade in and
    the two are added; ``L = 0`` concatenates. With ``t = numpy.linspace(0, 1, L)`` (both ends
    included; a 1-frame fade keeps ``a``'s frame), the gains are:

    ==================  ====================  =====================
    ``curve``           fade in (``b``)       fade out (``a``)
    ==================  ====================  =====================
    ``"equal_gain"``    ``sin(t*pi/2)**2``    ``cos(t*pi/2)**2``
    ``"equal_power"``   ``sin(t*pi/2)``       ``cos(t*pi/2)``
    ``"linear"``        ``t``                 ``1 - t``
    ==================  ====================  =====================

    Equal-gain gains sum to 1, so identical material joins exactly; equal-power gains keep the
    power of uncorrelated material constant.

    Parameters
    ----------
    a, b : numpy.ndarray
        The outgoing and the incoming signal: both float32 or both float64 (not converted unless ``copy=True``),
        C-contiguous, both ``(frames,)`` or both planar ``(channels, frames)`` with the same
        number of channels; the frame counts may differ.
    overlap : int
        Requested crossfade length in frames (>= 0); shortened to the shorter signal.
    curve : {"equal_gain", "equal_power", "linear"}, optional
        Fade shape. Default ``"equal_gain"``.
    out : numpy.ndarray, optional
        Destination of exactly the result's shape and dtype, C-contiguous, not overlapping
        ``a`` or ``b``; written in place and returned.
    copy : bool, optional
        Consent to convert ``a`` and ``b`` (with different dtypes, both become float64). False (default): it must be a C-contiguous ndarray of an
        accepted dtype, which is used in place and never copied (anything else raises
        TypeError/ValueError). True: other dtypes, layouts and array_likes are converted once
        (a conforming array is still not copied); see "Arrays" in ``help(tonecore)``.

    Returns
    -------
    numpy.ndarray
        ``(len_a + len_b - L,)`` or ``(channels, len_a + len_b - L)``, the dtype of ``a``.

    Raises
    ------
    TypeError
        ``a``/``b`` not float32/float64 ndarrays or of different dtypes; ``curve`` not a str;
        ``out`` of another dtype.
    ValueError
        Different numbers of dimensions or channels, non-contiguous arrays, unknown ``curve``,
        negative ``overlap``, ``out`` of another shape (for example too short) or overlapping
        an input.
    tonecore.InvalidArgument
        Zero channels (status 14, ``INVALID_CHANNELS``).

    Examples
    --------
    >>> a = np.arange(10.0); b = np.arange(6.0, 16.0)
    >>> tonecore.crossfade_concat(a, b, 4)        # the overlapping ramps join exactly
    array([ 0.,  1.,  2., ..., 15.])
    """
    a = input_array(a, "a", (F32, F64), (1, 2), copy)
    b = input_array(b, "b", (F32, F64), (1, 2), copy)
    if copy and a.dtype != b.dtype:  # consent given: meet at the wider dtype
        a = a.astype(F64, copy=False)
        b = b.astype(F64, copy=False)
    if a.dtype != b.dtype:
        raise TypeError(f"a and b must have the same dtype, got {a.dtype} and {b.dtype}")
    if a.ndim != b.ndim:
        raise ValueError(
            f"a and b must both be 1-D or both (channels, frames), got shapes {a.shape} and "
            f"{b.shape}"
        )
    channels = 1 if a.ndim == 1 else int(a.shape[0])
    if b.ndim == 2 and b.shape[0] != channels:
        raise ValueError(
            f"a has {channels} channels but b has {b.shape[0]} (shapes {a.shape} and {b.shape})"
        )
    overlap = size_arg(overlap, "overlap")
    code = _curve_code(curve)
    la, lb = int(a.shape[-1]), int(b.shape[-1])
    n = la + lb - min(overlap, la, lb)
    shape = (n,) if a.ndim == 1 else (channels, n)
    if out is None:
        out = np.empty(shape, dtype=a.dtype)
    else:
        out_array(out, a.dtype, shape, a)
        out_array(out, a.dtype, shape, b)
    ct = _native.sample_ctype(a.dtype)
    fn = (_native.lib.tonecore_crossfade_concat_f32 if a.dtype == F32
          else _native.lib.tonecore_crossfade_concat_f64)
    frames = c_size_t()
    status = fn(
        _native.pointer_to(a, ct), a.size,
        _native.pointer_to(b, ct), b.size,
        channels, overlap, code,
        _native.pointer_to(out, ct), out.size,
        byref(frames),
    )
    _native.check(status, fn.__name__)
    if frames.value != n:
        raise AssertionError(f"{fn.__name__} wrote {frames.value} frames, expected {n}")
    return out


# -- offline chunked render ---------------------------------------------------------------


def _progress_callback(
    progress: Optional[Callable[[int, int], Any]],
) -> Tuple[Any, List[BaseException]]:
    """A ``tonecore_render_progress_fn`` calling ``progress(done, total)`` (the NULL callback
    for None; TypeError if not callable) and the list that collects what ``progress`` raised.

    A truthy return value, or an exception (never let across into the library: it is kept in
    the list, to be re-raised once the native call returned), cancels; every later call
    cancels again without calling ``progress``. Keep the callback referenced until the native
    call has returned."""
    errors: List[BaseException] = []
    if progress is None:
        return _native.RENDER_PROGRESS_FN(), errors  # NULL
    if not callable(progress):
        raise TypeError(f"progress must be callable, not {type(progress).__name__}")
    cancelled: List[bool] = []

    def report(_user_data: Any, done: int, total: int) -> int:
        try:
            if errors or cancelled:
                return 1
            if progress(int(done), int(total)):
                cancelled.append(True)
                return 1
            return 0
        except BaseException as e:  # noqa: BLE001 - re-raised after the native call
            errors.append(e)
            return 1

    return _native.RENDER_PROGRESS_FN(report), errors


def render_chunked(
    x: npt.NDArray[FloatT],
    sample_rate: int,
    pipeline_config: PipelineConfigArg = None,
    chunk_seconds: float = RENDER_DEFAULTS.chunk_seconds,
    context_seconds: Optional[float] = None,
    crossfade_seconds: float = RENDER_DEFAULTS.crossfade_seconds,
    curve: str = DEFAULT_FADE_CURVE,
    threads: Optional[int] = None,
    progress: Optional[Callable[[int, int], Any]] = None,
    out: Optional[npt.NDArray[FloatT]] = None,
    *,
    copy: bool = False,
) -> npt.NDArray[FloatT]:
    """Render a whole track through the pipeline in parallel chunks joined by crossfades.

    The track is cut into cores of ``chunk_seconds``. Each chunk is rendered by its own fresh
    :class:`tonecore.Pipeline` built from ``pipeline_config``, primed with ``context_seconds``
    of the track before its core (zeros before the start) and run ``crossfade_seconds`` past
    it; the pipeline latency is removed. At each seam the outgoing chunk's tail fades out while
    the incoming chunk's head fades in (see :func:`crossfade_concat` for the curves). The
    output has exactly the input's shape and is aligned with it.

    Chunks are independent, so the result is bit-identical for any ``threads``. For an EQ-only
    pipeline (a linear time-invariant filter) with the default context the chunking is
    invisible: the result equals :func:`tonecore.equalize` with the same settings, up to
    rounding. With every stage disabled (``pipeline_config=None``) the output is the input.

    Parameters
    ----------
    x : numpy.ndarray
        The track, float32 or float64 (not copied unless ``copy=True``), C-contiguous: ``(frames,)``
        (mono) or planar ``(channels, frames)`` with 1–64 channels.
    sample_rate : int
        Sample rate in Hz (> 0).
    pipeline_config : PipelineConfig or dict, optional
        The stages (see :class:`tonecore.PipelineConfig`). None (default): every stage
        disabled. The sample rate, channel count and sample format come from ``x``.
    chunk_seconds : float, optional
        Core length of a chunk in seconds; after rounding to frames it must be longer than
        ``context + crossfade``. Default 15.
    context_seconds : float, optional
        Context rendered before each core and discarded, in seconds (>= 0). None (default):
        what the pipeline needs to settle: the EQ kernel (``fft_size // 2 + 1`` taps) plus the
        limiter lookahead (about 0.05 s at the defaults), plus the level window and three
        attack time constants when the level matcher is enabled (1.3 s at the default
        :class:`tonecore.LevelConfig`).
    crossfade_seconds : float, optional
        Crossfade at each seam in seconds (>= 0; 0 butts the chunks together). Default 0.05.
    curve : {"equal_gain", "equal_power", "linear"}, optional
        Seam crossfade shape. Default ``"equal_gain"`` (gains sum to 1).
    threads : int, optional
        None (default) or 0: all cores; 1: the calling thread only; n: a pool of n threads.
    progress : callable, optional
        ``progress(done, total)`` (ints, chunks), called after each finished chunk with
        ``done`` strictly increasing from 1 to ``total``; calls come from worker threads (the
        calling thread when ``threads=1``), one at a time. A truthy return value cancels the
        render: the call returns promptly (within one 4096-frame block per worker) and raises
        :class:`tonecore.Cancelled`. An exception raised by ``progress`` cancels it likewise
        and is re-raised when the call returns.

        While the native call runs, Python cannot deliver ``KeyboardInterrupt`` (Ctrl-C) to
        the calling thread; it arrives only after the render finished. To make a render
        interruptible, check for cancellation in ``progress`` (for example a
        :class:`threading.Event` set by your UI or signal handler) and return True.
    out : numpy.ndarray, optional
        Destination of the same shape and dtype as ``x``, C-contiguous, not overlapping ``x``;
        written in place and returned. Untouched when the arguments are refused; incomplete
        when the render is cancelled.
    copy : bool, optional
        Consent to convert ``x``. False (default): it must be a C-contiguous ndarray of an
        accepted dtype, which is used in place and never copied (anything else raises
        TypeError/ValueError). True: other dtypes, layouts and array_likes are converted once
        (a conforming array is still not copied); see "Arrays" in ``help(tonecore)``.

    Returns
    -------
    numpy.ndarray
        The rendered track, shape and dtype of ``x``.

    Raises
    ------
    tonecore.Cancelled
        ``progress`` returned a truthy value (status 102, ``CANCELLED``).
    tonecore.InvalidArgument
        Invalid geometry (status 21, ``INVALID_CHUNK``: a duration that is NaN, infinite,
        negative or above one day, or a chunk not longer than context + crossfade, in frames); sample rate 0 (status 13); 0 or more than 64 channels (status 14);
        the pipeline settings' errors (see :class:`tonecore.Pipeline`); too many threads
        (status 2).
    TypeError, ValueError
        Wrong types, dtype, dimensions or layout of ``x`` or ``out``; unknown ``curve``;
        ``progress`` not callable.
    BaseException
        Whatever ``progress`` raised.
    """
    x, channels = _track_arg(x, copy)
    sr = sample_rate_arg(sample_rate)
    cfg = _config_arg(pipeline_config)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, not {type(progress).__name__}")
    if out is not None:
        out_array(out, x.dtype, x.shape, x)
    render = _c_render_config(chunk_seconds, context_seconds, crossfade_seconds, curve,
                              threads=threads)
    if out is None:
        out = np.empty(x.shape, dtype=x.dtype)
    pipe, _layout, keepalive = _c_pipeline_config(cfg, sr, channels, x.dtype)

    callback, errors = _progress_callback(progress)
    ct = _native.sample_ctype(x.dtype)
    fn = (_native.lib.tonecore_render_chunked_f32 if x.dtype == F32
          else _native.lib.tonecore_render_chunked_f64)
    # `callback` (with `report`), `pipe`, `render` and `keepalive` stay referenced by this
    # frame until the call returns.
    status = fn(
        byref(pipe), byref(render),
        _native.pointer_to(x, ct), x.size,
        _native.pointer_to(out, ct), out.size,
        callback, None,
    )
    if errors:
        raise errors[0]
    if status != _native.STATUS_OK:
        _native.raise_for_status(status, fn.__name__)
    del callback, keepalive
    return out


def normalize(
    x: npt.NDArray[FloatT],
    sample_rate: int,
    target_lufs: float = PIPELINE_DEFAULTS.target_lufs,
    ceiling_dbtp: Optional[float] = PIPELINE_DEFAULTS.ceiling_db,
    config: PipelineConfigArg = None,
    out: Optional[npt.NDArray[FloatT]] = None,
    *,
    copy: bool = False,
) -> Tuple[npt.NDArray[FloatT], Dict[str, Any]]:
    """Normalise a whole track to an integrated loudness under a true-peak ceiling.

    The EQ of ``config`` (if any) is rendered chunk-parallel; its integrated loudness
    (BS.1770-4, gated) gives one static gain to ``target_lufs``; then the true-peak limiter
    (4x oversampled, BS.1770-4 Annex 2) keeps the output under ``ceiling_dbtp`` over the whole
    track in one pass. When the limiter takes loudness off, the gain is corrected and the
    limiter runs again, until the output is within 0.03 LU of the target (at most 6 passes;
    typically 1-4). Nothing silently does something else: the report says what happened.

    Parameters
    ----------
    x : numpy.ndarray
        The track, float32 or float64, ``(frames,)`` or planar ``(channels, frames)``;
        C-contiguous unless ``copy=True`` (see :func:`render_chunked`). Sample rate 8 kHz or more.
    sample_rate : int
        Sample rate in Hz.
    target_lufs : float, optional
        Target integrated loudness, LUFS (-70 to 0). Default -14.
    ceiling_dbtp : float or None, optional
        True-peak ceiling, dBTP (-60 to 0); None: no limiter (one exact gain). Default -1.
        Replaces the ceiling of ``config.limiter`` (its lookahead and release are kept; without
        one, 1.5 ms lookahead and 100 ms release), which is always a true-peak limiter here.
    config : PipelineConfig or dict, optional
        The EQ (``eq_gains`` …) and limiter timing; its ``level`` is not used.
    out : numpy.ndarray, optional
        Destination of ``x``'s shape and dtype, C-contiguous, not overlapping ``x``.

    Returns
    -------
    (numpy.ndarray, dict)
        The output and the report: ``target_lufs``, ``ceiling_dbtp`` (None without limiter),
        ``input_lufs``, ``input_true_peak_dbtp``, ``eq_lufs`` (after the EQ), ``gain_db`` (the
        static gain), ``output_lufs``, ``output_true_peak_dbtp``,
        ``limiter_max_reduction_db``, ``limiter_mean_reduction_db``, ``limited_fraction``,
        ``passes`` and ``outcome``: ``"reached"`` (within 0.1 LU), ``"silent"`` (no gain
        applied), ``"gain_limit"`` (more than 60 dB needed) or ``"not_reached"`` (the ceiling
        does not allow the target; the closest pass is kept). Loudness values are ``-inf`` for
        silence.

    Raises
    ------
    tonecore.InvalidArgument
        Target out of range (status 20), ceiling out of range (18), sample rate below 8 kHz
        (13), channels (14), the config's errors; NaN or infinite samples (status 5: nothing is
        measured, ``out`` is untouched).
    tonecore.OutOfMemory
        The limiter's per-frame envelope could not be reserved (status 201).
    TypeError, ValueError
        Wrong types, dtype, dimensions or layout of ``x`` or ``out``.
    """
    x, channels = _track_arg(x, copy)
    sr = sample_rate_arg(sample_rate)
    target = real_arg(target_lufs, "target_lufs")
    cfg = _config_arg(config)
    if ceiling_dbtp is None:
        limiter = None
    else:
        base = cfg.limiter if cfg.limiter is not None else LimiterConfig()
        limiter = dataclasses.replace(base, ceiling_db=real_arg(ceiling_dbtp, "ceiling_dbtp"),
                                      true_peak=True)
    cfg = dataclasses.replace(cfg, level=None, limiter=limiter)
    if out is not None:
        out_array(out, x.dtype, x.shape, x)
    else:
        out = np.empty(x.shape, dtype=x.dtype)
    pipe, _layout, keepalive = _c_pipeline_config(cfg, sr, channels, x.dtype)
    report = _native.NormalizeReport()
    report.struct_size = ctypes.sizeof(report)
    ct = _native.sample_ctype(x.dtype)
    fn = (_native.lib.tonecore_normalize_f32 if x.dtype == F32
          else _native.lib.tonecore_normalize_f64)
    status = fn(
        byref(pipe), None, c_double(target),
        _native.pointer_to(x, ct), x.size,
        _native.pointer_to(out, ct), out.size,
        byref(report), _native.RENDER_PROGRESS_FN(), None,
    )
    if status != _native.STATUS_OK:
        _native.raise_for_status(status, fn.__name__)
    del keepalive
    return out, _normalize_report_dict(report)


def _normalize_report_dict(report: _native.NormalizeReport) -> Dict[str, Any]:
    """The Python form of a ``tonecore_normalize_report`` (see :func:`normalize`)."""
    return {
        "target_lufs": float(report.target_lufs),
        "ceiling_dbtp": float(report.ceiling_db) if report.limited else None,
        "input_lufs": float(report.input_lufs),
        "input_true_peak_dbtp": float(report.input_true_peak_db),
        "eq_lufs": float(report.eq_lufs),
        "gain_db": float(report.gain_db),
        "output_lufs": float(report.output_lufs),
        "output_true_peak_dbtp": float(report.output_true_peak_db),
        "limiter_max_reduction_db": float(report.limiter_max_reduction_db),
        "limiter_mean_reduction_db": float(report.limiter_mean_reduction_db),
        "limited_fraction": float(report.limited_fraction),
        "passes": int(report.passes),
        "outcome": _native.NORMALIZE_OUTCOMES[report.outcome],
    }


def _stream_normalization(call: Callable[..., None]) -> Optional[Dict[str, Any]]:
    """Runs a ``*_get_normalization`` call (``call(report_ptr, flag_ptr)``)."""
    report = _native.NormalizeReport()
    report.struct_size = ctypes.sizeof(report)
    normalized = c_int32()
    call(byref(report), byref(normalized))
    return _normalize_report_dict(report) if normalized.value else None


# -- playback stream ----------------------------------------------------------------------


class _TrackInfo:
    """Read-only facts of the track a playback stream plays (:class:`PlaybackStream` and the
    engine's :class:`tonecore.Stream`)."""

    _sample_rate: int
    _channels: int
    _frames: int
    _dtype: np.dtype[Any]
    _config: PipelineConfig

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz."""
        return self._sample_rate

    @property
    def channels(self) -> int:
        """Channel count."""
        return self._channels

    @property
    def frames(self) -> int:
        """Track length in frames."""
        return self._frames

    @property
    def duration(self) -> float:
        """Track length in seconds."""
        return self._frames / self._sample_rate

    @property
    def dtype(self) -> np.dtype[Any]:
        """Sample dtype (that of the track the stream plays)."""
        return self._dtype

    @property
    def config(self) -> PipelineConfig:
        """The pipeline configuration the stream renders through."""
        return self._config


class PlaybackStream(_TrackInfo, _NativeObject):
    """A prefetching playback stream over a track, rendered through a pipeline ahead of the
    listener, with sample-accurate, click-free seeking.

    A native worker thread renders the track chunk by chunk (as :func:`render_chunked`, at most
    ``lookahead_chunks`` chunks ahead of the read position, so memory stays bounded) and
    :meth:`read` hands out interleaved frames without ever blocking. Read sequentially from
    the start, the stream produces exactly what :func:`render_chunked` produces with the same
    settings. The track is copied when the stream is opened.

    Holds a native ``tonecore_playback``. Use it as a context manager or call :meth:`close`;
    a finalizer frees it if you forget. Calls on a closed stream raise
    :class:`tonecore.ClosedError`.

    Threads: :meth:`read` belongs to one (audio) thread at a time (a second thread reading at
    the same moment gets :class:`tonecore.ConcurrentUse`); :meth:`seek` and :meth:`stats` work
    from any thread, also while another thread is inside :meth:`read` (ctypes releases the GIL
    during native calls).

    Parameters
    ----------
    x : numpy.ndarray
        The track, float32 or float64, C-contiguous: ``(frames,)`` (mono) or planar
        ``(channels, frames)`` with 1–64 channels. Copied; the stream's dtype is ``x.dtype``.
    sample_rate : int
        Sample rate in Hz (> 0).
    pipeline_config : PipelineConfig or dict, optional
        The stages (see :class:`tonecore.PipelineConfig`). None (default): every stage
        disabled, so the stream plays the track unchanged.
    chunk_seconds, context_seconds, crossfade_seconds : float, optional
        Chunk geometry in seconds, as for :func:`render_chunked` (defaults 15, the pipeline's
        settle time, 0.05).
    lookahead_chunks : int, optional
        Chunks rendered ahead of the listener (>= 1). Default 2.
    seek_fade_ms : float, optional
        Fade-out and fade-in time around a seek in ms, 0–1000. Default 5.
    curve : {"equal_gain", "equal_power", "linear"}, optional
        Seam crossfade shape, as for :func:`render_chunked`. Default ``"equal_gain"``.

    copy : bool, optional
        Consent to convert ``x`` first when it is not a C-contiguous float32/float64 array
        (the stream copies the track natively either way). Default False: such input raises
        TypeError/ValueError.

    Raises
    ------
    tonecore.InvalidArgument
        Invalid geometry (status 21); ``lookahead_chunks`` 0 or ``seek_fade_ms`` out of range
        (status 19, ``INVALID_TIME``); sample rate 0 (status 13); 0 or more than 64 channels
        (status 14); the pipeline settings' errors (see :class:`tonecore.Pipeline`).
    tonecore.OutOfMemory
        The track's copy could not be reserved (status 201); nothing was opened.
    TypeError, ValueError
        Wrong types, dtype, dimensions or layout of ``x``; unknown ``curve``.

    Examples
    --------
    >>> with tonecore.PlaybackStream(x, 48000, cfg, chunk_seconds=5.0) as stream:
    ...     block = stream.read(512)              # (512, channels), interleaved
    ...     if stream.last_read_frames < 512:     # the rest of `block` is silence
    ...         pass                              # not rendered yet, or the end of the track
    ...     stream.seek(42.0)                     # any thread; faded out and in over 5 ms
    """

    def __init__(
        self,
        x: FloatArray,
        sample_rate: int,
        pipeline_config: PipelineConfigArg = None,
        chunk_seconds: float = RENDER_DEFAULTS.chunk_seconds,
        context_seconds: Optional[float] = None,
        crossfade_seconds: float = RENDER_DEFAULTS.crossfade_seconds,
        lookahead_chunks: int = RENDER_DEFAULTS.lookahead_chunks,
        seek_fade_ms: float = RENDER_DEFAULTS.seek_fade_ms,
        curve: str = DEFAULT_FADE_CURVE,
        *,
        copy: bool = False,
    ) -> None:
        self._handle: Optional[_Handle] = None
        x, channels = _track_arg(x, copy)
        sr = sample_rate_arg(sample_rate)
        cfg = _config_arg(pipeline_config)
        render = _c_render_config(chunk_seconds, context_seconds, crossfade_seconds, curve,
                                  lookahead_chunks=lookahead_chunks, seek_fade_ms=seek_fade_ms)
        pipe, _layout, keepalive = _c_pipeline_config(cfg, sr, channels, x.dtype)
        ct = _native.sample_ctype(x.dtype)
        fn = (_native.lib.tonecore_playback_open_f32 if x.dtype == F32
              else _native.lib.tonecore_playback_open_f64)
        ptr = _native.PLAYBACK_P()
        status = fn(byref(pipe), byref(render), _native.pointer_to(x, ct), x.size, byref(ptr))
        _native.check(status, fn.__name__)
        del keepalive
        self._adopt(ptr, "tonecore_playback_free")

        self._sample_rate = sr
        self._channels = channels
        self._frames = int(x.shape[-1]) if channels else 0
        self._mono = x.ndim == 1
        self._dtype = x.dtype
        self._config = cfg
        self._last_read_frames = 0
        # read() is an audio-thread call: bound once, buffers as addresses (see _native.function).
        self._read_name = ("tonecore_playback_read_f32" if x.dtype == F32
                           else "tonecore_playback_read_f64")
        self._read_fn = _native.function(self._read_name, c_void_p, c_void_p, c_size_t, c_void_p)

    # -- lifetime -----------------------------------------------------------------------

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return (
            f"<tonecore.PlaybackStream sample_rate={self._sample_rate} "
            f"channels={self._channels} frames={self._frames} "
            f"dtype=numpy.{self._dtype.name}{state}>"
        )

    # -- properties ---------------------------------------------------------------------

    @property
    def last_read_frames(self) -> int:
        """How many frames of the last :meth:`read` came from the track: the first
        ``last_read_frames`` frames of its result; the rest was silence (data not rendered
        yet, or the end of the track)."""
        return self._last_read_frames

    # -- audio --------------------------------------------------------------------------

    def read(self, frames: int, out: Optional[FloatArray] = None) -> FloatArray:
        """The next ``frames`` frames, interleaved. Never blocks.

        The first :attr:`last_read_frames` frames come from the track; when rendered data runs
        out (the worker is behind, or the end of the track was reached) the rest is silence,
        counted as underrun frames, and the next call resumes where the track data stopped.

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
        tonecore.ClosedError
            The stream is closed.
        tonecore.ConcurrentUse
            Another thread is inside :meth:`read` (status 100).
        TypeError, ValueError
            ``frames`` not a non-negative integer; ``out`` of another dtype or shape.
        """
        frames = size_arg(frames, "frames")
        shape = (frames,) if self._mono else (frames, self._channels)
        if out is None:
            out = np.empty(shape, dtype=self._dtype)
        else:
            out_array(out, self._dtype, shape)
        n = c_size_t()
        handle = self._enter()
        try:
            status = self._read_fn(handle.address, _native.address(out), out.size, byref(n))
            if status != _native.STATUS_OK:
                _native.raise_for_status(status, self._read_name, audio_path=True)
        finally:
            handle.release()
        self._last_read_frames = int(n.value)
        return out

    # -- control ------------------------------------------------------------------------

    def seek(self, seconds: float) -> None:
        """Move playback to ``seconds`` (rounded to the nearest frame). Any thread, wait-free.

        The next :meth:`read` fades the old position out over ``seek_fade_ms`` (at once if
        nothing was playing), then the new position fades in over ``seek_fade_ms``; after that
        the output equals :func:`render_chunked`'s at the same track position. Work the worker
        had in flight for the old position is dropped; the worker then renders the target's
        chunk from that chunk's start, so reads right after the fade-out usually get some
        silence (``last_read_frames < frames``) until it is ready. A seek during the fade-in
        of an earlier seek fades out from the gain reached; when the old position runs out of
        rendered frames before its fade-out ends, the new position starts at once.

        Parameters
        ----------
        seconds : float
            Target position in seconds, ``0 <= seconds <= duration``.

        Raises
        ------
        tonecore.InvalidArgument
            NaN, infinite, negative or past the end (status 19, ``INVALID_TIME``).
        tonecore.ClosedError
            The stream is closed.
        TypeError
            Not a real number.

        Notes
        -----
        Known library defect (see the README): a seek made while nothing is playing (after the
        end of the track, or during an underrun) whose target was rendered before the next
        :meth:`read` starts whole chunks late.
        """
        value = real_arg(seconds, "seconds")
        ptr = self._acquire()
        try:
            _native.check(_native.lib.tonecore_playback_seek(ptr, value),
                          "tonecore_playback_seek")
        finally:
            self._release()

    def stats(self) -> Dict[str, int]:
        """The stream's counters. Any thread, wait-free.

        Returns
        -------
        dict
            ``frames_read``: frames handed out by :meth:`read` (silence included);
            ``underrun_frames``: frames of silence handed out because no rendered data was
            ready (also past the end of the track); ``seeks``: seeks requested;
            ``chunks_rendered``: chunks the worker delivered; ``position``: one past the track
            frame (0-based) :meth:`read` delivered last, i.e. the next one in sequence (after
            a seek it moves once frames of the new position are delivered). All ints.
        """
        s = _native.PlaybackStats()
        ptr = self._acquire()
        try:
            _native.check(_native.lib.tonecore_playback_get_stats(ptr, byref(s)),
                          "tonecore_playback_get_stats")
        finally:
            self._release()
        return {
            "frames_read": int(s.frames_read),
            "underrun_frames": int(s.underrun_frames),
            "seeks": int(s.seeks),
            "chunks_rendered": int(s.chunks_rendered),
            "position": int(s.position),
        }

    def normalization(self) -> Optional[Dict[str, Any]]:
        """What normalising the track at open did, when the config's level stage runs in
        ``"integrated"`` mode (the default): a dict as :func:`normalize` reports it (the stream
        plays at its ``gain_db`` under the limiter); None for the momentary leveller or no
        level stage. Any thread, wait-free."""
        ptr = self._acquire()
        try:
            return _stream_normalization(lambda report, flag: _native.check(
                _native.lib.tonecore_playback_get_normalization(ptr, report, flag),
                "tonecore_playback_get_normalization"))
        finally:
            self._release()


PlaybackStream.__module__ = "tonecore"
