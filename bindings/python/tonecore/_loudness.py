"""Loudness per ITU-R BS.1770-4 / EBU R128: :func:`loudness` and :class:`LoudnessMeter`
(``tonecore_loudness_measure_*`` and ``tonecore_loudness_meter_*`` in the C ABI)."""

from __future__ import annotations

from ctypes import byref, c_double, c_float
from typing import Any, Dict, Optional

import numpy as np
import numpy.typing as npt

from . import _native
from ._checks import F32, F64, FloatArray, input_array, sample_rate_arg, size_arg
from ._object import _Handle, _NativeObject

__all__ = ["LoudnessMeter", "loudness", "REPORT_KEYS"]

#: Keys of the dictionaries returned by :func:`loudness` and :meth:`LoudnessMeter.report`.
REPORT_KEYS = ("integrated", "momentary_max", "short_term_max", "range", "true_peak")

#: Most channels a measurement accepts.
MAX_CHANNELS = 64


def _report_dict(report: _native.LoudnessReport) -> Dict[str, float]:
    return {key: float(getattr(report, key)) for key in REPORT_KEYS}


def _channels_of(x: npt.NDArray[Any]) -> int:
    return 1 if x.ndim == 1 else int(x.shape[0])


def loudness(x: FloatArray, sample_rate: int, *, copy: bool = False) -> Dict[str, float]:
    """Measure the loudness of a whole signal (ITU-R BS.1770-4 / EBU R128, via ``ebur128``).

    Parameters
    ----------
    x : numpy.ndarray
        Samples (full scale = 1.0), float32 or float64 (not copied unless ``copy=True``),
        C-contiguous, finite: ``(frames,)`` for mono or planar ``(channels, frames)`` with
        1–64 channels. Channel weights as BS.1770: 1 channel = one front channel (not
        dual-mono: a mono signal reads 3 LU below the same signal on both stereo channels),
        2 = L R, 5 = L R C Ls Rs, 6 = L R C LFE Ls Rs (LFE not counted); further channels are
        not counted.
    sample_rate : int
        Sample rate in Hz (8 kHz to 2.8224 MHz).
    copy : bool, optional
        Consent to convert ``x``. False (default): it must be a C-contiguous ndarray of an
        accepted dtype, which is used in place and never copied (anything else raises
        TypeError/ValueError). True: other dtypes, layouts and array_likes are converted once
        (a conforming array is still not copied); see "Arrays" in ``help(tonecore)``.

    Returns
    -------
    dict
        ``integrated``: gated integrated loudness, LUFS; ``momentary_max``: largest momentary
        loudness (400 ms windows every 100 ms), LUFS; ``short_term_max``: largest short-term
        loudness (3 s windows every 100 ms), LUFS; ``range``: loudness range (EBU Tech 3342),
        LU; ``true_peak``: largest true peak over all channels (4x oversampled), dBTP. All
        floats; ``-inf`` (``0.0`` for ``range``) where the signal is too short or too quiet
        for a value.

    Raises
    ------
    TypeError
        ``x`` is not a float32/float64 ndarray.
    ValueError
        ``x`` is not 1-D/2-D or not C-contiguous; ``sample_rate`` negative or not whole.
    tonecore.InvalidArgument
        NaN/Inf samples (status 5, ``NON_FINITE``); 0 or more than 64 channels (status 14,
        ``INVALID_CHANNELS``); sample rate out of range (status 13, ``INVALID_SAMPLE_RATE``).

    Examples
    --------
    >>> t = np.arange(20 * 48000) / 48000
    >>> x = np.tile(10 ** (-23 / 20) * np.sin(2 * np.pi * 1000 * t), (2, 1))
    >>> round(tonecore.loudness(x, 48000)["integrated"], 1)       # EBU Tech 3341 case 1
    -23.0
    """
    x = input_array(x, "x", (F32, F64), (1, 2), copy)
    sr = sample_rate_arg(sample_rate)
    channels = _channels_of(x)
    report = _native.LoudnessReport()
    ct: Any
    if x.dtype == F32:
        fn, ct = _native.lib.tonecore_loudness_measure_f32, c_float
    else:
        fn, ct = _native.lib.tonecore_loudness_measure_f64, c_double
    status = fn(_native.pointer_to(x, ct), x.size, channels, sr, byref(report))
    _native.check(status, fn.__name__)
    return _report_dict(report)


def integrated_loudness(x: FloatArray, sample_rate: int, *, copy: bool = False) -> float:
    """Only the gated integrated loudness of a whole signal, in LUFS (``-inf`` for silence).

    Several times cheaper than :func:`loudness`, which also computes the short-term history,
    the loudness range and the 4x-oversampled true peak.

    Parameters
    ----------
    x : numpy.ndarray
        Samples (full scale = 1.0), as for :func:`loudness`: float32 or float64, C-contiguous,
        finite, ``(frames,)`` or planar ``(channels, frames)`` with 1–64 channels.
    sample_rate : int
        Sample rate in Hz (16 Hz to 2.8224 MHz).
    copy : bool, optional
        Consent to convert ``x`` (see :func:`loudness`). Default False.

    Returns
    -------
    float
        Gated integrated loudness in LUFS (BS.1770-4); ``-inf`` when the signal is shorter
        than one 400 ms block or gated out entirely.

    Raises
    ------
    TypeError, ValueError, tonecore.InvalidArgument
        As :func:`loudness`.

    Examples
    --------
    >>> t = np.arange(20 * 48000) / 48000
    >>> x = np.tile(10 ** (-23 / 20) * np.sin(2 * np.pi * 1000 * t), (2, 1))
    >>> round(tonecore.integrated_loudness(x, 48000), 1)
    -23.0
    """
    x = input_array(x, "x", (F32, F64), (1, 2), copy)
    sr = sample_rate_arg(sample_rate)
    out = c_double()
    ct: Any
    if x.dtype == F32:
        fn, ct = _native.lib.tonecore_loudness_integrated_f32, c_float
    else:
        fn, ct = _native.lib.tonecore_loudness_integrated_f64, c_double
    status = fn(_native.pointer_to(x, ct), x.size, _channels_of(x), sr, byref(out))
    _native.check(status, fn.__name__)
    return float(out.value)


class LoudnessMeter(_NativeObject):
    """A streaming loudness meter: add planar blocks of any size, read the report any time.

    Adding a signal in blocks gives the same report as :func:`loudness` on the whole signal.
    Not for an audio thread (the meter's history grows, so it allocates).

    Holds a native ``tonecore_loudness_meter``. Use it as a context manager or call
    :meth:`close`; a finalizer frees it if you forget. Calls on a closed meter raise
    :class:`tonecore.ClosedError`. One call at a time: a call made while another thread is
    inside a call on the same meter raises :class:`tonecore.ConcurrentUse`.

    Parameters
    ----------
    channels : int
        Channel count, 1–64 (weights as for :func:`loudness`).
    sample_rate : int
        Sample rate in Hz (8 kHz to 2.8224 MHz).

    Raises
    ------
    tonecore.InvalidArgument
        0 or more than 64 channels (status 14); sample rate out of range (status 13).
    TypeError, ValueError
        Arguments of the wrong type or sign.

    Examples
    --------
    >>> with tonecore.LoudnessMeter(2, 48000) as meter:
    ...     for block in blocks:                 # (2, frames) float32 or float64
    ...         meter.add(block)
    ...     meter.report()["integrated"]         # LUFS
    """

    def __init__(self, channels: int, sample_rate: int) -> None:
        self._handle: Optional[_Handle] = None
        channels = size_arg(channels, "channels")
        sr = sample_rate_arg(sample_rate)
        ptr = _native.LOUDNESS_METER_P()
        _native.check(_native.lib.tonecore_loudness_meter_new(channels, sr, byref(ptr)),
                      "tonecore_loudness_meter_new")
        self._adopt(ptr, "tonecore_loudness_meter_free")
        self._channels = channels
        self._sample_rate = sr

    # -- lifetime -----------------------------------------------------------------------

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return (f"tonecore.LoudnessMeter(channels={self._channels}, "
                f"sample_rate={self._sample_rate}{state})")

    # -- properties ---------------------------------------------------------------------

    @property
    def channels(self) -> int:
        """Channel count."""
        return self._channels

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz."""
        return self._sample_rate

    # -- measuring ----------------------------------------------------------------------

    def add(self, x: FloatArray, *, copy: bool = False) -> None:
        """Add a block of samples.

        Parameters
        ----------
        x : numpy.ndarray
            float32 or float64 (both accepted, even mixed across calls; not converted unless
            ``copy=True``), C-contiguous, finite: planar ``(channels, frames)``, or ``(frames,)``
            when the meter has one channel. Any number of frames, also 0.
        copy : bool, optional
            Consent to convert ``x``. False (default): it must be a C-contiguous ndarray of an
            accepted dtype, which is used in place and never copied (anything else raises
            TypeError/ValueError). True: other dtypes, layouts and array_likes are converted once
            (a conforming array is still not copied); see "Arrays" in ``help(tonecore)``.

        Raises
        ------
        TypeError
            ``x`` is not a float32/float64 ndarray.
        ValueError
            Wrong dimensions, channel count or layout.
        tonecore.InvalidArgument
            NaN/Inf samples (status 5); nothing of the block is added.
        tonecore.ConcurrentUse
            Another thread is inside a call on this meter.
        """
        x = input_array(x, "x", (F32, F64), (1, 2), copy)
        if x.ndim == 1:
            if self._channels != 1:
                raise ValueError(
                    f"x is 1-D, which is mono, but this LoudnessMeter has {self._channels} "
                    f"channels; pass shape (channels, frames)"
                )
        elif x.shape[0] != self._channels:
            raise ValueError(
                f"x has shape {x.shape}; this LoudnessMeter needs (channels, frames) with "
                f"channels={self._channels}"
            )
        ct: Any
        if x.dtype == F32:
            fn, ct = _native.lib.tonecore_loudness_meter_add_f32, c_float
        else:
            fn, ct = _native.lib.tonecore_loudness_meter_add_f64, c_double
        ptr = self._acquire()
        try:
            _native.check(fn(ptr, _native.pointer_to(x, ct), x.size), fn.__name__)
        finally:
            self._release()

    def report(self) -> Dict[str, float]:
        """The measurement of everything added since construction or :meth:`reset`.

        Returns
        -------
        dict
            As :func:`loudness`: ``integrated`` (LUFS), ``momentary_max`` (LUFS),
            ``short_term_max`` (LUFS), ``range`` (LU), ``true_peak`` (dBTP); ``-inf`` (``0.0``
            for ``range``) while there is too little or too quiet signal for a value.
        """
        report = _native.LoudnessReport()
        ptr = self._acquire()
        try:
            _native.check(_native.lib.tonecore_loudness_meter_report(ptr, byref(report)),
                          "tonecore_loudness_meter_report")
        finally:
            self._release()
        return _report_dict(report)

    def reset(self) -> None:
        """Forget everything measured (as if newly built)."""
        ptr = self._acquire()
        try:
            _native.check(_native.lib.tonecore_loudness_meter_reset(ptr),
                          "tonecore_loudness_meter_reset")
        finally:
            self._release()


LoudnessMeter.__module__ = "tonecore"
