"""Gain curves and the equalizer: :func:`gain_curve`, :class:`Equalizer`, :func:`equalize` and
:func:`band_energies` (``tonecore_gain_curve``, ``tonecore_equalizer_*``, ``tonecore_equalize_*``
and ``tonecore_band_energies_*`` in the C ABI); the bands they refer to are in
:mod:`._bands`."""

from __future__ import annotations

from ctypes import byref, c_double, c_float, c_size_t, c_uint64
from typing import Any, Callable, List, Optional

import numpy as np
import numpy.typing as npt

from . import _native
from ._checks import (
    F32,
    F64,
    FloatArray,
    FloatT,
    input_array,
    out_array,
    real_arg,
    real_dtype,
    sample_rate_arg,
    size_arg,
    threads_arg,
    U32_MAX,
    vector_arg,
)
from ._bands import (  # noqa: F401 - _rebuild_layout: BandLayout pickles made when it lived here
    _MODE_NAMES,
    BandLayout,
    LayoutArg,
    _layout_arg,
    _mode_code,
    _phase_name,
    _rebuild_layout,
    low_latency_partition,
)
from ._object import _AudioObject, _Handle, _process_method

__all__ = ["Equalizer", "band_energies", "equalize", "gain_curve", "low_latency_partition"]

#: The library's defaults of the streaming equalizer (``tonecore_equalizer_config_init``) and
#: of offline equalization (``tonecore_equalize_config_init``): the signatures below take their
#: defaults from them.
_EQUALIZER_DEFAULTS: Any = _native.config_init(_native.EqualizerConfig)
_EQUALIZE_DEFAULTS: Any = _native.config_init(_native.EqualizeConfig)


def gain_curve(
    gains_db: npt.ArrayLike,
    layout: LayoutArg = None,
    sample_rate: int = _EQUALIZER_DEFAULTS.sample_rate,
    fft_size: int = _EQUALIZER_DEFAULTS.fft_size,
    mode: str = _MODE_NAMES[_EQUALIZER_DEFAULTS.mode],
    out: Optional[npt.NDArray[np.float64]] = None,
) -> npt.NDArray[np.float64]:
    """The per-bin linear gain curve for band gains.

    Parameters
    ----------
    gains_db : array_like
        One gain per band in dB, finite; clamped to ±24 dB.
    layout : BandLayout, str or array_like, optional
        The bands (default: critical bands; see :func:`band_map`).
    sample_rate : int, optional
        Sample rate in Hz (> 0). Default 44100.
    fft_size : int, optional
        FFT size in samples (even, >= 2). Default 4096.
    mode : {"smooth", "step"}, optional
        ``"smooth"`` (default): dB interpolated linearly over log2-frequency between band
        centres (frequencies below 1 Hz count as 1 Hz), held flat below the first and above the
        last centre; the curve passes through each band's gain at its centre. ``"step"``: every
        bin takes its band's gain (see :meth:`BandLayout.band_map`).
    out : numpy.ndarray, optional
        float64 destination of shape ``(fft_size // 2 + 1,)``, written in place and returned.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(fft_size // 2 + 1,)``: linear amplitude gains ``10**(dB / 20)`` of
        bins ``k * (sample_rate // 2) / (fft_size // 2)`` Hz.

    Raises
    ------
    tonecore.InvalidArgument
        Wrong number of gains (status 17, ``GAIN_COUNT``); NaN/Inf gains (status 5); sample
        rate 0 (status 13); invalid ``fft_size`` (status 7); invalid custom edges (status 16).
    TypeError, ValueError
        Wrong types, unknown ``mode``, ``gains_db`` not 1-D, a wrong ``out``.
    """
    gains = vector_arg(gains_db, "gains_db")
    sr = sample_rate_arg(sample_rate)
    n = size_arg(fft_size, "fft_size")
    code = _mode_code(mode)
    lay = _layout_arg(layout)
    shape = (n // 2 + 1,)
    if out is None:
        result = np.empty(shape, dtype=np.float64)
    else:
        result = out_array(out, F64, shape)
    # The library writes nothing on error, so a given out= stays untouched then.
    status = _native.lib.tonecore_gain_curve(
        *lay._c_args(),
        _native.pointer_to(gains, c_double), gains.size,
        sr, n, code,
        _native.pointer_to(result, c_double), result.size,
    )
    _native.check(status, "tonecore_gain_curve")
    return result


# -- streaming equalizer ------------------------------------------------------------------


class Equalizer(_AudioObject):
    """A streaming equalizer: band gains applied as an FIR filter — linear phase (default) or
    minimum phase with the same magnitude — by FFT overlap-save (default) or partitioned
    convolution, crossfading over ``ramp_ms`` whenever the gains change.

    The output is the input filtered and delayed by :attr:`latency` frames; block sizes never
    change it. ``low_latency=True`` (minimum phase, partitioned at the host block) brings the
    latency down to one block: 64 frames at ``max_block=64``. Non-finite input samples are replaced by zero and counted
    (:attr:`nonfinite_count`); they never reach the filter state.

    Holds a native ``tonecore_equalizer``. Use it as a context manager or call :meth:`close`;
    a finalizer frees it if you forget. Calls on a closed object raise
    :class:`tonecore.ClosedError`.

    Threads: :meth:`process`, :meth:`reset` and :attr:`nonfinite_count` belong to one (audio)
    thread at a time; a second thread calling them at the same moment gets
    :class:`tonecore.ConcurrentUse`. :meth:`set_gains`, :attr:`gains`, :attr:`latency` and
    :attr:`bands` may be used from any thread at any time, also while another thread is inside
    :meth:`process` (the new kernel is designed on the calling thread and handed over without
    blocking the audio thread).

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz (> 0).
    channels : int
        Channel count, 1–64.
    layout : BandLayout, str or array_like, optional
        The bands the gains refer to (default: :meth:`BandLayout.critical`).
    fft_size : int, optional
        FFT size of the overlap-save engine in samples: even, ``16 <= fft_size <= 2**24``. The
        kernel has ``fft_size // 2 + 1`` taps (rounded down to odd); larger sizes resolve low
        bands better and add latency. Default 4096 (latency 3072 frames).
    max_block : int, optional
        Largest block :meth:`process` accepts, in frames (``1 <= max_block <= 2**24``).
        Default 4096.
    mode : {"smooth", "step"}, optional
        How band gains become the frequency response (see :func:`gain_curve`).
        Default ``"smooth"``.
    ramp_ms : float, optional
        Crossfade time on gain changes in milliseconds, 0–10000 (0 switches at once).
        Default 20.
    gains_db : array_like, optional
        Initial gains in dB, one per band (clamped to ±24 dB). Default all 0 dB.
    dtype : numpy dtype, optional
        Sample type, ``numpy.float32`` (default) or ``numpy.float64``; :meth:`process` accepts
        this dtype only.
    phase : {"linear", "minimum"}, optional
        The kernel's phase. ``"linear"``: no phase distortion, every frequency delayed by
        ``(taps - 1) / 2``. ``"minimum"``: the same magnitude (every resolvable band centre
        within 0.1 dB), no delay beyond the engine's, no pre-ringing. Default ``"minimum"``
        with ``low_latency``, else ``"linear"``.
    partition : int, optional
        0 (default): overlap-save at ``fft_size``. Otherwise the partitioned engine's partition,
        a power of two 8–65536 (at most ``max_block`` for a latency of at most one block); the
        kernel is still designed at ``fft_size``.
    low_latency : bool, optional
        Partition at :func:`low_latency_partition` of ``max_block`` (unless ``partition`` is
        given) with minimum phase (unless ``phase`` is given). Default False.

    Raises
    ------
    tonecore.InvalidArgument
        Sample rate 0 (status 13), channels 0 or above 64 (status 14), invalid ``fft_size``
        (status 7), ``max_block`` or ``ramp_ms`` out of range (status 2), a partition that is
        not a power of two 8–65536 (status 24), invalid custom edges (status 16), wrong number
        of gains (status 17), non-finite gains (status 5).
    TypeError, ValueError
        Arguments of the wrong type or sign; unknown ``mode`` or ``phase``; unsupported
        ``dtype``.

    Examples
    --------
    >>> with tonecore.Equalizer(48000, 2, gains_db=np.linspace(-6, 6, 25)) as eq:
    ...     for block in blocks:                     # (2, frames) float32, frames <= 4096
    ...         y = eq.process(block)
    ...     eq.set_gains(np.zeros(eq.bands))         # from any thread; crossfades over 20 ms
    """

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        layout: LayoutArg = None,
        fft_size: int = _EQUALIZER_DEFAULTS.fft_size,
        max_block: int = _EQUALIZER_DEFAULTS.max_block,
        mode: str = _MODE_NAMES[_EQUALIZER_DEFAULTS.mode],
        ramp_ms: float = _EQUALIZER_DEFAULTS.ramp_ms,
        gains_db: Optional[npt.ArrayLike] = None,
        dtype: npt.DTypeLike = np.float32,
        phase: Optional[str] = None,
        partition: int = _EQUALIZER_DEFAULTS.partition,
        low_latency: bool = False,
    ) -> None:
        self._handle: Optional[_Handle] = None
        dt = real_dtype(dtype)
        phase = _phase_name(phase, bool(low_latency))
        partition = size_arg(partition, "partition")
        sr = sample_rate_arg(sample_rate)
        channels = size_arg(channels, "channels", U32_MAX)
        fft_size = size_arg(fft_size, "fft_size")
        max_block = size_arg(max_block, "max_block")
        mode_code = _mode_code(mode)
        ramp = real_arg(ramp_ms, "ramp_ms")
        gains = None if gains_db is None else vector_arg(gains_db, "gains_db")
        lay = _layout_arg(layout)

        config = _native.config_init(_native.EqualizerConfig)
        config.sample_rate = sr
        config.channels = channels
        config.max_block = max_block
        config.fft_size = fft_size
        code, edges_ptr, edges_len = lay._c_args()
        config.layout = code
        if edges_ptr is not None:
            config.edges = edges_ptr
            config.edges_len = edges_len
        config.mode = mode_code
        config.ramp_ms = ramp
        config.sample_format = _native.SAMPLE_FORMAT_F32 if dt == F32 else _native.SAMPLE_FORMAT_F64
        if low_latency and partition == 0:
            partition = low_latency_partition(max_block)
        config.phase = _native.PHASES[phase]
        config.partition = partition
        if gains is not None:
            config.gains_db = _native.pointer_to(gains, c_double)
            config.gains_len = gains.size

        ptr = _native.EQUALIZER_P()
        _native.check(_native.lib.tonecore_equalizer_new(byref(config), byref(ptr)),
                      "tonecore_equalizer_new")
        self._adopt(ptr, "tonecore_equalizer_free")

        value = c_size_t()
        _native.check(_native.lib.tonecore_equalizer_latency(ptr, byref(value)),
                      "tonecore_equalizer_latency", audio_path=True)
        self._latency = int(value.value)
        _native.check(_native.lib.tonecore_equalizer_bands(ptr, byref(value)),
                      "tonecore_equalizer_bands", audio_path=True)
        self._bands = int(value.value)
        self._sample_rate = sr
        self._channels = channels
        self._layout = lay
        self._fft_size = fft_size
        self._max_block = max_block
        self._mode = mode
        self._ramp_ms = ramp
        self._dtype = dt
        self._phase = phase
        self._partition = partition
        self._bind_blocks("tonecore_equalizer", "Equalizer")

    # -- lifetime -----------------------------------------------------------------------

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return (
            f"tonecore.Equalizer(sample_rate={self._sample_rate}, channels={self._channels}, "
            f"layout={self._layout!r}, fft_size={self._fft_size}, max_block={self._max_block}, "
            f"mode={self._mode!r}, ramp_ms={self._ramp_ms!r}, "
            f"dtype=numpy.{self._dtype.name}, phase={self._phase!r}, "
            f"partition={self._partition}{state})"
        )

    # -- configuration ------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz."""
        return self._sample_rate

    @property
    def channels(self) -> int:
        """Channel count."""
        return self._channels

    @property
    def layout(self) -> BandLayout:
        """The band layout the gains refer to."""
        return self._layout

    @property
    def fft_size(self) -> int:
        """FFT size the kernel is designed at (and of the overlap-save engine), in samples."""
        return self._fft_size

    @property
    def phase(self) -> str:
        """The kernel's phase, ``"linear"`` or ``"minimum"``."""
        return self._phase

    @property
    def partition(self) -> int:
        """The partitioned engine's partition in frames; 0 for overlap-save."""
        return self._partition

    @property
    def max_block(self) -> int:
        """Largest block :meth:`process` accepts, in frames."""
        return self._max_block

    @property
    def mode(self) -> str:
        """``"smooth"`` or ``"step"``."""
        return self._mode

    @property
    def ramp_ms(self) -> float:
        """Crossfade time on gain changes, in milliseconds."""
        return self._ramp_ms

    @property
    def dtype(self) -> np.dtype[Any]:
        """Sample dtype (float32 or float64)."""
        return self._dtype

    @property
    def latency(self) -> int:
        """Delay from input to output in frames: the engine's (overlap-save: 2048 at
        ``fft_size=4096``; partitioned: one partition) plus ``(taps - 1) / 2`` (1024) for a
        linear phase. 3072 by default, 64 with ``low_latency`` at ``max_block=64``."""
        return self._latency

    @property
    def bands(self) -> int:
        """Number of bands (gains per :meth:`set_gains` call)."""
        return self._bands

    # -- control ------------------------------------------------------------------------

    def set_gains(self, gains_db: npt.ArrayLike) -> None:
        """Set the band gains; the output crossfades to them over :attr:`ramp_ms`.

        Any thread, also while another thread is inside :meth:`process`. The kernel is designed
        on the calling thread (milliseconds of work) and handed to the audio thread without
        blocking it; calls from several threads serialise.

        Parameters
        ----------
        gains_db : array_like
            One gain per band in dB, finite; clamped to ±24 dB.

        Raises
        ------
        tonecore.InvalidArgument
            Wrong number of gains (status 17) or NaN/Inf gains (status 5); the gains stay as
            they were.
        TypeError, ValueError
            ``gains_db`` is not real-valued or not 1-D.
        """
        gains = vector_arg(gains_db, "gains_db")
        ptr = self._acquire()
        try:
            status = _native.lib.tonecore_equalizer_set_gains(
                ptr, _native.pointer_to(gains, c_double), gains.size
            )
            _native.check(status, "tonecore_equalizer_set_gains")
        finally:
            self._release()

    @property
    def gains(self) -> npt.NDArray[np.float64]:
        """The gains most recently set, in dB (clamped to ±24 dB), float64 ``(bands,)``.

        The audio output reaches them within one block plus :attr:`ramp_ms` of processing.
        """
        out = np.empty(self._bands, dtype=np.float64)
        ptr = self._acquire()
        try:
            status = _native.lib.tonecore_equalizer_gains(
                ptr, _native.pointer_to(out, c_double), out.size
            )
            _native.check(status, "tonecore_equalizer_gains")
        finally:
            self._release()
        return out

    @property
    def nonfinite_count(self) -> int:
        """Non-finite input samples replaced by zero since construction.

        Audio-thread state: reading it while another thread is inside :meth:`process` raises
        :class:`tonecore.ConcurrentUse`.
        """
        count = c_uint64()
        ptr = self._acquire()
        try:
            status = _native.lib.tonecore_equalizer_nonfinite_count(ptr, byref(count))
            _native.check(status, "tonecore_equalizer_nonfinite_count", audio_path=True)
        finally:
            self._release()
        return int(count.value)

    def reset(self) -> None:
        """Clear the signal state (as if newly built); keep the gains and apply the newest at
        once, without a ramp.

        Raises
        ------
        tonecore.ConcurrentUse
            Another thread is inside :meth:`process` or :meth:`reset`.
        """
        ptr = self._acquire()
        try:
            status = _native.lib.tonecore_equalizer_reset(ptr)
            _native.check(status, "tonecore_equalizer_reset", audio_path=True)
        finally:
            self._release()

    # -- audio --------------------------------------------------------------------------

    process = _process_method(
        _AudioObject.process, "Equalizer", __name__,
        """Filter one block.

        Parameters
        ----------
        x : numpy.ndarray
            Samples of this object's :attr:`dtype`, C-contiguous, not copied (see ``copy``):
            planar ``(channels, frames)`` (or ``(frames,)`` when ``channels == 1``); with
            ``interleaved=True``, ``(frames, channels)`` (or ``(frames,)`` for mono).
            ``frames <= max_block``; any block size, the output does not depend on it.
            NaN/Inf samples are processed as zeros and counted in :attr:`nonfinite_count`.
        out : numpy.ndarray, optional
            Destination of the same shape and dtype as ``x``, C-contiguous, writeable, not
            overlapping ``x``; written in place and returned. Untouched when the call fails.
        interleaved : bool, optional
            ``x`` and ``out`` hold frames (``c0 c1 … c0 c1 …``) rather than channel rows.
        copy : bool, optional
            Consent to convert ``x``. False (default): it must be a C-contiguous ndarray of an
            accepted dtype, which is used in place and never copied (anything else raises
            TypeError/ValueError). True: other dtypes, layouts and array_likes are converted once
            (a conforming array is still not copied); see "Arrays" in ``help(tonecore)``.

        Returns
        -------
        numpy.ndarray
            The filtered block, shape and dtype of ``x``: the input delayed by :attr:`latency`
            frames (the first ``latency`` frames after construction or :meth:`reset` come from
            the zero initial state).

        Raises
        ------
        TypeError
            ``x`` or ``out`` is not an ndarray of this object's dtype.
        ValueError
            Wrong dimensions or channel count, non-contiguous arrays, ``out`` of another shape
            or overlapping ``x``.
        tonecore.InvalidArgument
            ``frames > max_block`` (status 15, ``BLOCK_TOO_LARGE``).
        tonecore.ConcurrentUse
            Another thread is inside :meth:`process` or :meth:`reset` of this object.
        """,
    )


Equalizer.__module__ = "tonecore"


# -- offline ------------------------------------------------------------------------------


def equalize(
    x: npt.NDArray[FloatT],
    sample_rate: int,
    gains_db: npt.ArrayLike,
    layout: LayoutArg = None,
    mode: str = _MODE_NAMES[_EQUALIZE_DEFAULTS.mode],
    fft_size: int = _EQUALIZE_DEFAULTS.fft_size,
    threads: Optional[int] = None,
    progress: Optional[Callable[[int, int], Any]] = None,
    out: Optional[npt.NDArray[FloatT]] = None,
    *,
    copy: bool = False,
) -> npt.NDArray[FloatT]:
    """Equalize a whole signal, in parallel over channels and fixed segments.

    The result is what :class:`Equalizer` produces for the same settings with its latency
    removed: the signal filtered by the same linear-phase kernel, aligned with the input and of
    the same length (the input is read as zero outside the buffer). It does not depend on the
    thread count.

    Parameters
    ----------
    x : numpy.ndarray
        Samples, float32 or float64 (not copied unless ``copy=True``), C-contiguous: ``(frames,)`` or
        planar ``(channels, frames)``. Non-finite samples count as zero.
    sample_rate : int
        Sample rate in Hz (> 0).
    gains_db : array_like
        One gain per band in dB, finite; clamped to ±24 dB.
    layout : BandLayout, str or array_like, optional
        The bands (default: :meth:`BandLayout.critical`).
    mode : {"smooth", "step"}, optional
        How band gains become the frequency response (see :func:`gain_curve`).
    fft_size : int, optional
        FFT size in samples (even, 16 to 2**24); the kernel has ``fft_size // 2 + 1`` taps
        (rounded down to odd). Default 4096.
    threads : int, optional
        None (default): all cores; 1: the calling thread only; n: a pool of n threads.
    progress : callable, optional
        ``progress(done, total)``, called after each finished segment (one channel's 2**18
        samples) with ``done`` strictly increasing up to ``total``; calls come from worker
        threads, one at a time. An exception raised by it does not stop the work: the first one
        is re-raised when the call returns (``out``, if given, then holds the result).
    out : numpy.ndarray, optional
        Destination of the same shape and dtype as ``x``, C-contiguous, not overlapping ``x``;
        written in place and returned. Untouched when the call fails.
    copy : bool, optional
        Consent to convert ``x``. False (default): it must be a C-contiguous ndarray of an
        accepted dtype, which is used in place and never copied (anything else raises
        TypeError/ValueError). True: other dtypes, layouts and array_likes are converted once
        (a conforming array is still not copied); see "Arrays" in ``help(tonecore)``.

    Returns
    -------
    numpy.ndarray
        The equalized signal, shape and dtype of ``x``.

    Raises
    ------
    tonecore.InvalidArgument
        Wrong gain count (status 17), NaN/Inf gains (status 5), sample rate 0 (status 13),
        invalid ``fft_size`` (status 7) or custom edges (status 16), too many threads
        (status 2).
    TypeError, ValueError
        Wrong dtype, dimensions or layout of ``x`` or ``out``; ``progress`` not callable.
    """
    x = input_array(x, "x", (F32, F64), (1, 2), copy)
    gains = vector_arg(gains_db, "gains_db")
    sr = sample_rate_arg(sample_rate)
    mode_code = _mode_code(mode)
    fft_size = size_arg(fft_size, "fft_size")
    threads = threads_arg(threads)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, not {type(progress).__name__}")
    if out is None:
        out = np.empty(x.shape, dtype=x.dtype)
    else:
        out_array(out, x.dtype, x.shape, x)
    lay = _layout_arg(layout)
    channels = 1 if x.ndim == 1 else x.shape[0]
    # No channels: still let the library check the settings (with an empty mono input).
    n_channels = channels or 1

    config = _native.config_init(_native.EqualizeConfig)
    config.sample_rate = sr
    config.threads = threads
    config.fft_size = fft_size
    code, edges_ptr, edges_len = lay._c_args()
    config.layout = code
    if edges_ptr is not None:
        config.edges = edges_ptr
        config.edges_len = edges_len
    config.mode = mode_code

    errors: List[BaseException] = []
    if progress is None:
        callback = _native.PROGRESS_FN()  # NULL
    else:
        def report(_user_data: Any, done: int, total: int) -> None:
            # Never let an exception cross into the library: remember the first one.
            if errors:
                return
            try:
                progress(int(done), int(total))
            except BaseException as e:  # noqa: BLE001 - re-raised after the native call
                errors.append(e)

        callback = _native.PROGRESS_FN(report)

    ct = c_float if x.dtype == F32 else c_double
    fn = _native.lib.tonecore_equalize_f32 if x.dtype == F32 else _native.lib.tonecore_equalize_f64
    # `callback` (and with it `report`) stays referenced by this frame until the call returns.
    status = fn(
        byref(config),
        _native.pointer_to(gains, c_double), gains.size,
        _native.pointer_to(x, ct), x.size, n_channels,
        _native.pointer_to(out, ct), out.size,
        callback, None,
    )
    if status != _native.STATUS_OK:
        _native.raise_for_status(status, fn.__name__)
    del callback
    if errors:
        raise errors[0]
    return out


def band_energies(
    x: FloatArray,
    sample_rate: int,
    layout: LayoutArg = None,
    fft_size: int = _EQUALIZE_DEFAULTS.fft_size,
    hop: Optional[int] = None,
    threads: Optional[int] = None,
    out: Optional[npt.NDArray[np.float64]] = None,
    *,
    copy: bool = False,
) -> npt.NDArray[np.float64]:
    """Per-band energy in dB of every frame, for hosts that drive adaptive gains.

    Frame ``k`` covers samples ``[k*hop, k*hop + fft_size)`` of the mono downmix (the mean of
    the channels) and exists only when it fits. With ``X = rfft(frame * numpy.hanning(N))`` and
    the window's coherent gain ``cg = numpy.hanning(N).mean()``, band ``b`` gets the mean over
    its bins (:meth:`BandLayout.band_map`) of ``20 * log10(abs(X) / cg + 1e-10)``; a band with
    no bin gets -200 dB.

    Parameters
    ----------
    x : numpy.ndarray
        Samples, float32 or float64, C-contiguous, finite: ``(n,)`` or ``(channels, n)``.
    sample_rate : int
        Sample rate in Hz (> 0).
    layout : BandLayout, str or array_like, optional
        The bands (default: :meth:`BandLayout.critical`).
    fft_size : int, optional
        Frame length in samples (even, 16 to 2**24). Default 4096.
    hop : int, optional
        Frame advance in samples, ``1 <= hop <= fft_size``. Default ``fft_size // 2``.
    threads : int, optional
        None (default): all cores; 1: the calling thread only; n: a pool of n threads.
    out : numpy.ndarray, optional
        float64 destination of shape ``(frames, bands)``, written in place and returned.
    copy : bool, optional
        Consent to convert ``x``. False (default): it must be a C-contiguous ndarray of an
        accepted dtype, which is used in place and never copied (anything else raises
        TypeError/ValueError). True: other dtypes, layouts and array_likes are converted once
        (a conforming array is still not copied); see "Arrays" in ``help(tonecore)``.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(frames, bands)`` in dB of the unscaled spectrum (a sine of amplitude
        ``A`` on a bin reads ``20*log10(A * fft_size / 2)`` dB there);
        ``frames = 1 + (n - fft_size) // hop``, or 0 when ``n < fft_size``.

    Raises
    ------
    tonecore.InvalidArgument
        NaN/Inf samples (status 5), sample rate 0 (status 13), invalid ``fft_size`` (status 7)
        or ``hop`` (status 8), invalid custom edges (status 16).
    TypeError, ValueError
        Wrong dtype, dimensions or layout of ``x`` or ``out``; ``x`` with no channels.
    """
    x = input_array(x, "x", (F32, F64), (1, 2), copy)
    if x.ndim == 2 and x.shape[0] == 0:
        raise ValueError(f"x has shape {x.shape}: no channels to downmix")
    sr = sample_rate_arg(sample_rate)
    fft_size = size_arg(fft_size, "fft_size")
    hop = fft_size // 2 if hop is None else size_arg(hop, "hop")
    threads = threads_arg(threads)
    if out is not None:
        out_array(out, F64)
    lay = _layout_arg(layout)
    channels = 1 if x.ndim == 1 else x.shape[0]
    n = x.shape[-1]
    ct = c_float if x.dtype == F32 else c_double
    fn = (_native.lib.tonecore_band_energies_f32 if x.dtype == F32
          else _native.lib.tonecore_band_energies_f64)
    frames_out = c_size_t()

    def call(dest: npt.NDArray[Any]) -> None:
        status = fn(
            *lay._c_args(), sr, fft_size, hop, threads,
            _native.pointer_to(x, ct), x.size, channels,
            _native.pointer_to(dest, c_double), dest.size,
            byref(frames_out),
        )
        if status != _native.STATUS_OK:
            _native.raise_for_status(status, fn.__name__)

    if not 1 <= hop <= fft_size:
        # No frame count to size `out` by: let the library refuse the hop (INVALID_HOP, or an
        # earlier error) without touching `out`.
        call(np.empty((0, lay.bands), dtype=np.float64))
        raise AssertionError("tonecore_band_energies accepted an invalid hop")
    frames = 1 + (n - fft_size) // hop if n >= fft_size else 0
    shape = (frames, lay.bands)
    if out is None:
        out = np.empty(shape, dtype=np.float64)
    else:
        out_array(out, F64, shape, x)
    call(out)
    if frames_out.value != frames:
        raise AssertionError(
            f"tonecore_band_energies returned {frames_out.value} frames, expected {frames}"
        )
    return out
