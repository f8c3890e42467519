"""The lookahead peak limiter on its own (the pipeline's third stage without EQ and level)."""

from __future__ import annotations

import dataclasses
from ctypes import byref, c_size_t, sizeof
from typing import Any, Dict, Optional

import numpy as np
import numpy.typing as npt

from . import _native
from ._checks import F32, U32_MAX, real_arg, real_dtype, sample_rate_arg, size_arg
from ._config import LimiterArg, LimiterConfig, _limiter_arg
from ._object import _AudioObject, _Handle, _process_method


class Limiter(_AudioObject):
    """A streaming lookahead peak limiter: the output's true peak never exceeds the ceiling.

    The same limiter as the last stage of :class:`tonecore.Pipeline`, without the EQ and the
    level matcher in front of it. Channels are linked (one gain for all). The gain needed by
    each frame is reached with a smooth ramp exactly ``lookahead_ms`` long that completes as
    the frame leaves the delay line, and recovers with a one-pole release. While the signal
    stays at or below the ceiling the output is the input delayed by :attr:`latency` frames,
    bit for bit. By default peaks are true peaks (4x oversampled, BS.1770-4 Annex 2; the
    ceiling is in dBTP); with ``true_peak=False`` sample peaks (lower latency and cost, but
    inter-sample peaks can be higher). Blocks of any length; the output does not depend on how
    the signal is split into blocks.

    Holds a native ``tonecore_limiter``. Use it as a context manager or call :meth:`close`; a
    finalizer frees it if you forget. Calls on a closed limiter raise
    :class:`tonecore.ClosedError`.

    Threads: every method belongs to one thread at a time; a second thread calling in at the
    same moment gets :class:`tonecore.ConcurrentUse`.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz (1 to 2 822 400).
    channels : int
        Channel count, 1–64.
    config : LimiterConfig, dict or float, optional
        Ceiling (dBTP), lookahead and release (ms): a :class:`LimiterConfig`, a dict of its
        fields, or a number (the ceiling). None (default): ``LimiterConfig()`` (-1 dBTP,
        1.5 ms, 100 ms, true peak).
    dtype : numpy dtype, optional
        Sample type, ``numpy.float32`` (default) or ``numpy.float64``.
    true_peak : bool, optional (keyword)
        Overrides the config's ``true_peak``: ``Limiter(44100, 2, -1.0, true_peak=False)`` is
        a sample-peak limiter with a -1 dBFS ceiling.

    Raises
    ------
    tonecore.InvalidArgument
        Sample rate out of range (status 13); 0 or more than 64 channels (status 14); ceiling
        out of range (status 18); lookahead or release out of range (status 19).
    TypeError, ValueError
        Arguments of the wrong type or sign; unsupported ``dtype``.

    Examples
    --------
    >>> with tonecore.Limiter(44100, 2, -1.0) as lim:
    ...     y = lim.process(x)                  # (2, frames), delayed by lim.latency frames
    ...     lim.stats()["max_reduction_db"]
    """

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        config: LimiterArg = None,
        dtype: npt.DTypeLike = np.float32,
        *,
        true_peak: Optional[bool] = None,
    ) -> None:
        self._handle: Optional[_Handle] = None
        dt = real_dtype(dtype)
        sr = sample_rate_arg(sample_rate)
        channels = size_arg(channels, "channels", U32_MAX)
        cfg = _limiter_arg(config) or LimiterConfig()
        if true_peak is not None:
            if not isinstance(true_peak, bool):
                raise TypeError(f"true_peak must be a bool, not {type(true_peak).__name__}")
            cfg = dataclasses.replace(cfg, true_peak=true_peak)
        c = _native.config_init(_native.LimiterConfig)
        c.sample_rate = sr
        c.channels = channels
        c.sample_format = _native.SAMPLE_FORMAT_F32 if dt == F32 else _native.SAMPLE_FORMAT_F64
        c.ceiling_db = cfg.ceiling_db
        c.lookahead_ms = cfg.lookahead_ms
        c.release_ms = cfg.release_ms
        c.true_peak = 1 if cfg.true_peak else 0
        ptr = _native.LIMITER_P()
        _native.check(_native.lib.tonecore_limiter_new(byref(c), byref(ptr)),
                      "tonecore_limiter_new")
        self._adopt(ptr, "tonecore_limiter_free")
        value = c_size_t()
        _native.check(_native.lib.tonecore_limiter_latency(ptr, byref(value)),
                      "tonecore_limiter_latency", audio_path=True)
        self._latency = int(value.value)
        self._sample_rate = sr
        self._channels = channels
        self._config = cfg
        self._dtype = dt
        self._bind_blocks("tonecore_limiter", "Limiter")

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return (
            f"tonecore.Limiter(sample_rate={self._sample_rate}, channels={self._channels}, "
            f"config={self._config!r}, dtype=numpy.{self._dtype.name}{state})"
        )

    @property
    def latency(self) -> int:
        """Delay from input to output in frames: ``lookahead_ms * sample_rate / 1000`` rounded
        half away from zero, at least 1, plus 32 in true-peak mode (98 for the default 1.5 ms
        at 44.1 kHz)."""
        return self._latency

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz."""
        return self._sample_rate

    @property
    def channels(self) -> int:
        """Channel count."""
        return self._channels

    @property
    def config(self) -> LimiterConfig:
        """The settings the limiter was built with (a later :meth:`set_ceiling_db` is not
        reflected)."""
        return self._config

    @property
    def dtype(self) -> np.dtype[Any]:
        """Sample dtype (float32 or float64)."""
        return self._dtype

    def _call(self, what: str, *args: Any) -> None:
        ptr = self._acquire()
        try:
            _native.check(getattr(_native.lib, what)(ptr, *args), what, audio_path=True)
        finally:
            self._release()

    def set_ceiling_db(self, ceiling_db: float) -> None:
        """Change the ceiling (dBFS, -60 to 0) for frames entering from the next call; frames
        already in the lookahead are clamped to the new ceiling.

        Raises
        ------
        tonecore.InvalidArgument
            Ceiling out of range or not finite (status 18); nothing changes.
        tonecore.ConcurrentUse
            Another thread is inside a call on this limiter.
        """
        self._call("tonecore_limiter_set_ceiling_db", real_arg(ceiling_db, "ceiling_db"))

    def reset(self) -> None:
        """Clear the delay line, the gain state and the statistics; keep the ceiling.

        Raises
        ------
        tonecore.ConcurrentUse
            Another thread is inside a call on this limiter.
        """
        self._call("tonecore_limiter_reset")

    def stats(self) -> Dict[str, Any]:
        """Counters since construction or the last :meth:`reset`.

        Returns
        -------
        dict
            ``frames`` (int): frames processed; ``nonfinite`` (int): NaN/Inf (or beyond
            ±2**20) input samples replaced by zero; ``gain_db`` (float, dB, <= 0): gain on the
            last frame; ``max_reduction_db`` (float, dB, <= 0): largest gain reduction applied.
        """
        s = _native.LimiterStats()
        s.struct_size = sizeof(_native.LimiterStats)
        self._call("tonecore_limiter_get_stats", byref(s))
        return {
            "frames": int(s.frames),
            "nonfinite": int(s.nonfinite),
            "gain_db": float(s.gain_db),
            "max_reduction_db": float(s.max_reduction_db),
        }

    process = _process_method(
        _AudioObject.process, "Limiter", __name__,
        """Limit one block.

        Parameters
        ----------
        x : numpy.ndarray
            Samples of this limiter's :attr:`dtype`, C-contiguous, not copied (see ``copy``):
            planar ``(channels, frames)`` (or ``(frames,)`` when ``channels == 1``); with
            ``interleaved=True``, ``(frames, channels)``. Any number of frames. NaN/Inf samples
            are processed as zeros and counted (``stats()["nonfinite"]``).
        out : numpy.ndarray, optional
            Destination of the same shape and dtype as ``x``, C-contiguous, writeable, not
            overlapping ``x``; written in place and returned. Untouched when the call fails.
        interleaved : bool, optional
            ``x`` and ``out`` hold frames rather than channel rows.
        copy : bool, optional
            Consent to convert ``x`` (see "Arrays" in ``help(tonecore)``). Default False.

        Returns
        -------
        numpy.ndarray
            The limited block, shape and dtype of ``x``, delayed by :attr:`latency` frames; no
            sample exceeds ``10**(ceiling_db / 20)`` in magnitude.

        Raises
        ------
        TypeError
            ``x`` or ``out`` is not an ndarray of this limiter's dtype.
        ValueError
            Wrong dimensions or channel count, non-contiguous arrays, ``out`` of another shape
            or overlapping ``x``.
        tonecore.ConcurrentUse
            Another thread is inside a call on this limiter.
        """,
    )


Limiter.__module__ = "tonecore"
