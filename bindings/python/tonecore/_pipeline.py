"""The processing chain EQ -> loudness-aware level matcher -> lookahead limiter:
:class:`Pipeline` and its any-thread parameter handle :class:`PipelineParams`
(``tonecore_pipeline_*`` and ``tonecore_params_*`` in the C ABI); its settings are in
:mod:`._config`."""

from __future__ import annotations

import weakref
from ctypes import byref, c_double, c_float, c_size_t, sizeof
from typing import Any, Dict, Mapping, Optional, Union

import numpy as np
import numpy.typing as npt

from . import _native
from ._checks import (
    F32,
    FloatArray,
    input_array,
    real_arg,
    real_dtype,
    sample_rate_arg,
    size_arg,
    threads_arg,
    U32_MAX,
    vector_arg,
)
from ._config import PIPELINE_DEFAULTS, PipelineConfig, _c_pipeline_config, _config_arg
from ._errors import ClosedError
from ._matching import (
    LIVE_MATCH_DEFAULTS,
    ProfileArg,
    _c_live_match_config,
    _live_state_dict,
    _profile_source,
    _reference_rate,
    _resolve,
)
from ._object import _AudioObject, _Handle, _process_method

__all__ = ["Pipeline", "PipelineParams", "STAGES"]

#: The stage names accepted by :meth:`PipelineParams.set_bypass`.
STAGES = tuple(_native.STAGES)


# -- parameter handle ---------------------------------------------------------------------


class PipelineParams:
    """Changes a :class:`Pipeline`'s parameters and reads its statistics, from any thread.

    Get it from :attr:`Pipeline.params` (one per pipeline). Every method may be called from any
    number of threads at once, also while another thread is inside :meth:`Pipeline.process`;
    the audio thread never waits for them. Scalar settings take effect at the start of the next
    :meth:`Pipeline.process` call; EQ gains and bypass toggles crossfade over the pipeline's
    ``ramp_ms``.

    The handle is independent of the pipeline's lifetime: after the pipeline is closed, setters
    still succeed but affect nothing, and :meth:`stats` keeps the last snapshot. It holds a
    native ``tonecore_params``; use it as a context manager or call :meth:`close` (a finalizer
    frees it otherwise). Closing it does not affect the pipeline.
    """

    _handle: _Handle
    _finalizer: "weakref.finalize[Any, Any]"
    _sample_rate: int
    _channels: int
    _dtype: "np.dtype[Any]"
    _bands: int
    _ct: Any
    _reference_fn: Any

    def __init__(self) -> None:  # pragma: no cover - built by Pipeline only
        raise TypeError("tonecore.PipelineParams is obtained from Pipeline.params")

    @classmethod
    def _make(cls, ptr: Any, sample_rate: int, channels: int, dtype: np.dtype[Any],
              bands: int) -> "PipelineParams":
        self = cls.__new__(cls)
        handle = _Handle(ptr, "tonecore_params_free", "PipelineParams")
        self._handle = handle
        self._finalizer = weakref.finalize(self, handle.close)
        self._sample_rate = sample_rate
        self._channels = channels
        self._dtype = dtype
        self._bands = bands
        if dtype == F32:
            self._ct = c_float
            self._reference_fn = _native.lib.tonecore_params_set_level_reference_f32
        else:
            self._ct = c_double
            self._reference_fn = _native.lib.tonecore_params_set_level_reference_f64
        return self

    # -- lifetime -----------------------------------------------------------------------

    def close(self) -> None:
        """Free the native handle. Idempotent; the pipeline is not affected."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._handle.closed

    def __enter__(self) -> "PipelineParams":
        if self.closed:
            raise ClosedError("this tonecore.PipelineParams is closed", None,
                              "the object is closed")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return (f"<tonecore.PipelineParams sample_rate={self._sample_rate} "
                f"channels={self._channels} bands={self._bands} "
                f"dtype=numpy.{self._dtype.name}{state}>")

    def __reduce__(self) -> Any:
        raise TypeError("tonecore.PipelineParams holds a native object and cannot be pickled")

    def _call(self, what: str, fn: Any, *args: Any) -> None:
        ptr = self._handle.acquire()
        try:
            _native.check(fn(ptr, *args), what)
        finally:
            self._handle.release()

    # -- properties ---------------------------------------------------------------------

    @property
    def bands(self) -> int:
        """Number of EQ bands (gains per :meth:`set_eq_gains` call)."""
        return self._bands

    @property
    def sample_rate(self) -> int:
        """The pipeline's sample rate in Hz (also that of level references)."""
        return self._sample_rate

    @property
    def dtype(self) -> np.dtype[Any]:
        """The pipeline's sample dtype (also that of level references)."""
        return self._dtype

    # -- setters ------------------------------------------------------------------------

    def set_eq_gains(self, gains_db: npt.ArrayLike) -> None:
        """Set the EQ band gains; the output crossfades to them over the ramp time.

        The kernel is designed on the calling thread (milliseconds) and handed to the audio
        thread without blocking it. While the EQ is bypassed the gains are kept and apply when
        it is enabled.

        Parameters
        ----------
        gains_db : array_like
            One gain per band in dB (:attr:`bands` values), finite; clamped to ±24 dB.

        Raises
        ------
        tonecore.InvalidArgument
            Wrong number of gains (status 17, ``GAIN_COUNT``) or NaN/Inf (status 5); nothing
            changes then.
        TypeError, ValueError
            ``gains_db`` is not real-valued or not 1-D.
        """
        gains = vector_arg(gains_db, "gains_db")
        self._call("tonecore_params_set_eq_gains", _native.lib.tonecore_params_set_eq_gains,
                   _native.pointer_to(gains, c_double), gains.size)

    def set_level_target(
        self,
        lufs: Optional[float] = None,
        reference: Optional[FloatArray] = None,
    ) -> float:
        """Set the level matcher's target loudness, directly or from a reference signal.

        Pass exactly one of ``lufs`` and ``reference``. Wait-free with ``lufs``; measuring a
        reference is control-path work (it allocates).

        Parameters
        ----------
        lufs : float, optional
            The target in LUFS, -70 to 0.
        reference : numpy.ndarray, optional
            A signal at the pipeline's sample rate and of its :attr:`dtype` (never converted),
            C-contiguous, finite: ``(frames,)`` (one front channel) or planar
            ``(channels, frames)`` with 1–64 channels (any count, not necessarily the
            pipeline's). Its gated integrated loudness (as :func:`tonecore.loudness`) becomes
            the target.

        Returns
        -------
        float
            The target now set, in LUFS.

        Raises
        ------
        TypeError
            Neither or both of ``lufs`` and ``reference``; ``reference`` not an ndarray of the
            pipeline's dtype; ``lufs`` not a real number.
        ValueError
            ``reference`` not 1-D/2-D or not C-contiguous.
        tonecore.InvalidArgument
            A target that is NaN, infinite or outside -70…0 LUFS, or a reference that is silent,
            too short (under 400 ms) for a gated loudness, or measures outside that range
            (status 20, ``INVALID_TARGET``); NaN/Inf reference samples (status 5); 0 or more
            than 64 reference channels (status 14). The target stays as it was.
        """
        if (lufs is None) == (reference is None):
            raise TypeError("set_level_target takes exactly one of lufs= and reference=")
        if reference is None:
            target = real_arg(lufs, "lufs")
            self._call("tonecore_params_set_level_target",
                       _native.lib.tonecore_params_set_level_target, target)
            return target
        ref = input_array(reference, "reference", (self._dtype,), (1, 2))
        channels = 1 if ref.ndim == 1 else int(ref.shape[0])
        out = c_double()
        fn = self._reference_fn
        self._call(fn.__name__, fn, _native.pointer_to(ref, self._ct), ref.size, channels,
                   byref(out))
        return float(out.value)

    def set_ceiling_db(self, ceiling_db: float) -> None:
        """Set the limiter ceiling.

        Wait-free. Applies to frames entering the limiter from the next
        :meth:`Pipeline.process` call; frames already inside its lookahead are clamped to it.

        Parameters
        ----------
        ceiling_db : float
            Ceiling in dBFS, -60 to 0.

        Raises
        ------
        tonecore.InvalidArgument
            NaN, infinite or out of range (status 18, ``INVALID_CEILING``); nothing changes.
        TypeError
            Not a real number.
        """
        value = real_arg(ceiling_db, "ceiling_db")
        self._call("tonecore_params_set_ceiling_db",
                   _native.lib.tonecore_params_set_ceiling_db, value)

    def set_bypass(self, stage: str, bypassed: bool) -> None:
        """Bypass a stage or enable it again; the change crossfades over the ramp time.

        The latency stays the same either way. Wait-free for ``"level"`` and ``"limiter"``;
        for ``"eq"`` a kernel is designed on the calling thread.

        Parameters
        ----------
        stage : {"eq", "level", "limiter"}
            The stage.
        bypassed : bool
            True to bypass (the EQ becomes flat, the level gain returns to 0 dB, the limiter
            passes its delayed input), False to enable.

        Raises
        ------
        ValueError
            Unknown stage name.
        TypeError
            ``stage`` is not a str.
        """
        if not isinstance(stage, str):
            raise TypeError(f"stage must be a str, not {type(stage).__name__}")
        try:
            code = _native.STAGES[stage]
        except KeyError:
            known = ", ".join(repr(s) for s in STAGES)
            raise ValueError(f"unknown stage {stage!r}; expected one of {known}") from None
        self._call("tonecore_params_set_bypass", _native.lib.tonecore_params_set_bypass,
                   code, 1 if bypassed else 0)

    # -- live matching ------------------------------------------------------------------

    def update_match(self) -> Dict[str, Any]:
        """Move the EQ of a live-matched pipeline (:meth:`Pipeline.live_match`) one step
        towards the match of its running profile, and say where the match stands.

        Call it every 0.25–1 s from a control thread (any thread; also while another is inside
        :meth:`Pipeline.process`). Each step is limited by the audio analysed since the previous
        call (``max_slew_db_per_s`` per second of audio), not by how often it is called; each
        change is crossfaded on the audio side like :meth:`set_eq_gains`. Before the warm-up
        (``warmup_s`` of non-silent input averaged) the gains stay flat. Control path: it
        designs an EQ kernel when the gains move (milliseconds).

        Returns
        -------
        dict
            - ``analysed_s`` (float): input analysed so far, seconds (from the start, the last
              :meth:`Pipeline.reset` or the last :meth:`Pipeline.live_match`);
            - ``averaged_s`` (float): non-silent input in the running average, seconds,
              weighted by its decay (it approaches the time constant);
            - ``active`` (bool): True once the warm-up is over and the gains follow the match;
            - ``outcome`` (str): one of :data:`tonecore.MATCH_OUTCOMES` for the running profile
              (``"silent_track"`` until non-silent input has been analysed);
            - ``gains_db`` (float64 ``(61,)``): the EQ gains now set, dB;
            - ``target_db`` (float64 ``(61,)``): the gains the match aims at now, dB (the set
              gains move towards them).

        Raises
        ------
        tonecore.InvalidArgument
            Live matching is not enabled on the pipeline (status 2).
        tonecore.ClosedError
            This handle is closed.
        """
        state = _native.LiveMatchState()
        state.struct_size = sizeof(_native.LiveMatchState)
        self._call("tonecore_params_update_match", _native.lib.tonecore_params_update_match,
                   byref(state))
        return _live_state_dict(state)

    # -- statistics ---------------------------------------------------------------------

    def stats(self) -> Dict[str, Any]:
        """One consistent snapshot of the pipeline's counters, all from the end of the same
        :meth:`Pipeline.process` call (or construction). Lock-free.

        Returns
        -------
        dict
            ``frames`` (int): frames processed since construction; ``nonfinite`` (int): NaN/Inf
            input samples replaced by zero; ``limiter_max_reduction_db`` (float, dB, <= 0):
            largest limiter gain reduction since construction; ``limiter_gain_db`` (float, dB):
            limiter gain on the last frame; ``level_gain_db`` (float, dB): level-matcher gain on
            the last frame; ``loudness_lufs`` (float, LUFS): the level matcher's momentary
            loudness estimate of the EQ output (``-inf`` for silence); ``eq_bypassed``,
            ``level_bypassed``, ``limiter_bypassed`` (bool): the bypass flags as the audio side
            last applied them; ``eq_gains_db`` (float64 array, dB): the band gains of the EQ
            kernel in use (the new one during a crossfade; zeros while bypassed).
        """
        s = _native.PipelineStats()
        s.struct_size = sizeof(_native.PipelineStats)
        self._call("tonecore_params_stats", _native.lib.tonecore_params_stats, byref(s))
        bands = min(int(s.eq_bands), _native.STATS_MAX_BANDS)
        gains = np.ctypeslib.as_array(s.eq_gains_db)[:bands].copy()
        return {
            "frames": int(s.frames),
            "nonfinite": int(s.nonfinite),
            "limiter_max_reduction_db": float(s.limiter_max_reduction_db),
            "limiter_gain_db": float(s.limiter_gain_db),
            "level_gain_db": float(s.level_gain_db),
            "loudness_lufs": float(s.loudness_lufs),
            "eq_bypassed": bool(s.eq_bypassed),
            "level_bypassed": bool(s.level_bypassed),
            "limiter_bypassed": bool(s.limiter_bypassed),
            "eq_gains_db": gains,
        }


PipelineParams.__module__ = "tonecore"


# -- the pipeline -------------------------------------------------------------------------


class Pipeline(_AudioObject):
    """A streaming EQ -> loudness-aware level matcher -> lookahead limiter chain.

    The EQ is the linear-phase :class:`tonecore.Equalizer`; the level matcher follows the
    momentary loudness (BS.1770 K-weighted, measured from the EQ's own spectra) and moves its
    gain towards the target; the limiter (lookahead, channels linked) keeps every output sample
    at or below its ceiling. The output does not depend on block sizes, and the latency
    (:attr:`latency`: EQ delay plus limiter lookahead) is constant whatever is bypassed.
    Non-finite input samples are processed as zeros and counted.

    Holds a native ``tonecore_pipeline``. Use it as a context manager or call :meth:`close`;
    a finalizer frees it if you forget. Calls on a closed pipeline raise
    :class:`tonecore.ClosedError`.

    Threads: :meth:`process` and :meth:`reset` belong to one (audio) thread at a time; a second
    thread calling them at the same moment gets :class:`tonecore.ConcurrentUse`. Parameters
    change and statistics are read through :attr:`params` from any thread.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz (> 0; :meth:`PipelineParams.set_level_target` with a reference
        needs 8000 Hz or more).
    channels : int
        Channel count, 1–64.
    config : PipelineConfig or dict, optional
        The stages' settings (a dict is passed to :class:`PipelineConfig`). None (default):
        every stage bypassed, so the output is the input delayed by :attr:`latency`.
    max_block : int, optional
        Largest block :meth:`process` accepts, in frames (1 to 2**24). Default 4096.
    dtype : numpy dtype, optional
        Sample type, ``numpy.float32`` (default) or ``numpy.float64``.

    Raises
    ------
    tonecore.InvalidArgument
        Sample rate 0 (status 13); 0 or more than 64 channels (status 14); ``max_block`` or
        ``ramp_ms`` out of range (status 2); invalid ``fft_size`` (status 7); invalid custom
        band edges (status 16); wrong number of EQ gains (status 17); NaN/Inf gains (status 5);
        level target, boost, cut or gate out of range (status 20); a time constant or window
        out of range (status 19); a ceiling out of range (status 18). Settings of bypassed
        stages are checked too.
    TypeError, ValueError
        Arguments of the wrong type or sign; unsupported ``dtype``.

    Examples
    --------
    >>> cfg = tonecore.PipelineConfig(eq_gains=np.zeros(25), level=tonecore.LevelConfig(-16.0),
    ...                               limiter=-1.0)
    >>> with tonecore.Pipeline(48000, 2, cfg) as p:
    ...     params = p.params                         # hand this to a UI thread
    ...     for block in blocks:                      # (2, frames) float32, frames <= 4096
    ...         out = p.process(block)                # delayed by p.latency frames
    ...     params.set_eq_gains(np.full(25, 3.0))     # any thread; crossfades over 20 ms
    ...     params.stats()["loudness_lufs"]
    """

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        config: Union[PipelineConfig, Mapping[str, Any], None] = None,
        max_block: int = PIPELINE_DEFAULTS.max_block,
        dtype: npt.DTypeLike = np.float32,
    ) -> None:
        self._handle: Optional[_Handle] = None
        dt = real_dtype(dtype)
        sr = sample_rate_arg(sample_rate)
        channels = size_arg(channels, "channels", U32_MAX)
        max_block = size_arg(max_block, "max_block")
        cfg = _config_arg(config)
        c, layout, _keepalive = _c_pipeline_config(cfg, sr, channels, dt, max_block)

        ptr = _native.PIPELINE_P()
        _native.check(_native.lib.tonecore_pipeline_new(byref(c), byref(ptr)),
                      "tonecore_pipeline_new")
        self._adopt(ptr, "tonecore_pipeline_free")

        value = c_size_t()
        _native.check(_native.lib.tonecore_pipeline_latency(ptr, byref(value)),
                      "tonecore_pipeline_latency", audio_path=True)
        self._latency = int(value.value)
        params_ptr = _native.PARAMS_P()
        _native.check(_native.lib.tonecore_pipeline_params(ptr, byref(params_ptr)),
                      "tonecore_pipeline_params")
        self._params = PipelineParams._make(params_ptr, sr, channels, dt, layout.bands)

        self._sample_rate = sr
        self._channels = channels
        self._max_block = max_block
        self._config = cfg
        self._bands = layout.bands
        self._dtype = dt
        self._bind_blocks("tonecore_pipeline", "Pipeline")

    # -- lifetime -----------------------------------------------------------------------

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return (
            f"tonecore.Pipeline(sample_rate={self._sample_rate}, channels={self._channels}, "
            f"config={self._config!r}, max_block={self._max_block}, "
            f"dtype=numpy.{self._dtype.name}{state})"
        )

    # -- configuration ------------------------------------------------------------------

    @property
    def params(self) -> PipelineParams:
        """The pipeline's parameter handle (the same object every time; any thread)."""
        return self._params

    @property
    def latency(self) -> int:
        """Delay from input to output in frames: the EQ's (3072 for ``fft_size=4096``) plus
        the limiter's (``lookahead_ms * sample_rate / 1000`` rounded half away from zero, plus
        32 for the true-peak detector: 98 frames for the default 1.5 ms at 44.1 kHz; 3170 in
        all), whatever is bypassed."""
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
    def max_block(self) -> int:
        """Largest block :meth:`process` accepts, in frames."""
        return self._max_block

    @property
    def config(self) -> PipelineConfig:
        """The configuration the pipeline was built with (later parameter changes through
        :attr:`params` are not reflected)."""
        return self._config

    @property
    def bands(self) -> int:
        """Number of EQ bands."""
        return self._bands

    @property
    def dtype(self) -> np.dtype[Any]:
        """Sample dtype (float32 or float64)."""
        return self._dtype

    # -- live matching ------------------------------------------------------------------

    def live_match(
        self,
        reference: ProfileArg,
        *,
        strength: float = LIVE_MATCH_DEFAULTS.strength,
        max_gain_db: float = LIVE_MATCH_DEFAULTS.max_gain_db,
        smoothing_octaves: float = LIVE_MATCH_DEFAULTS.smoothing_octaves,
        target_lufs: Optional[float] = None,
        ceiling_dbtp: float = LIVE_MATCH_DEFAULTS.ceiling_dbtp,
        time_constant_s: float = LIVE_MATCH_DEFAULTS.time_constant_s,
        max_slew_db_per_s: float = LIVE_MATCH_DEFAULTS.max_slew_db_per_s,
        warmup_s: float = LIVE_MATCH_DEFAULTS.warmup_s,
        reference_rate: Optional[int] = None,
        threads: Optional[int] = None,
        copy: bool = False,
    ) -> None:
        """Match this pipeline live to ``reference``: the real-time counterpart of
        :func:`tonecore.match`, for input whose end is unknown.

        From now on :meth:`process` keeps a running profile of its input on the sixth-octave
        grid (Hann frames of about 0.17 s, an exponential average with ``time_constant_s``,
        frames below -70 dBFS skipped; allocation-free), and :meth:`PipelineParams.update_match`,
        called every 0.25–1 s from any control thread, moves the EQ towards the match of that
        profile to the reference's once ``warmup_s`` of non-silent input has been averaged, by
        at most ``max_slew_db_per_s`` per band per second of audio. Enabling also sets the
        level stage's target (the reference's integrated loudness unless ``target_lufs`` is
        given) and the limiter's ceiling, and sets the EQ flat; enabling again replaces the
        reference and starts from flat. The pipeline's EQ must be on
        :meth:`BandLayout.sixth_octave`: build it from :func:`tonecore.live_match_config`.
        ``tonecore_pipeline_live_match`` in the C ABI. Every default is the library's
        (``tonecore_live_match_config_init``).

        Control path (allocates); not while another thread is inside :meth:`process`.

        Parameters
        ----------
        reference : Profile or numpy.ndarray
            The reference: a :class:`tonecore.Profile` (copied; it may be closed afterwards),
            or samples (float32/float64, ``(frames,)`` or planar ``(channels, frames)``,
            C-contiguous unless ``copy=True``) profiled here at ``reference_rate``.
        strength : float, optional
            How much of the balance difference to correct, 0 (no EQ) to 1. Default 1.
        max_gain_db : float, optional
            Largest boost or cut of a band, dB (0 to 24). Default 12.
        smoothing_octaves : float, optional
            Smoothing of the difference across bands, octaves (0 to 2). Default 1/3.
        target_lufs : float, optional
            Level target, LUFS (-70 to 0). None (default): the reference's integrated loudness
            (unchanged if the reference is silent).
        ceiling_dbtp : float, optional
            Limiter ceiling, dBTP (-60 to 0). Default -1.
        time_constant_s : float, optional
            Time constant of the running spectrum, seconds (1 to 120): a long-term spectrum,
            not the current note. Default 10.
        max_slew_db_per_s : float, optional
            Largest gain change per band per second of audio, dB (0.01 to 24). Default 1.
        warmup_s : float, optional
            Non-silent input averaged before the first gains, seconds (0 to 60). Default 3.
        reference_rate : int, optional
            Sample rate of a ``reference`` given as samples. None (default): the pipeline's.
        threads : int, optional
            Threads for profiling an array: None (default) or 0: all cores; 1: this thread.
        copy : bool, optional
            Consent to convert a ``reference`` array (see "Arrays" in ``help(tonecore)``).

        Raises
        ------
        tonecore.InvalidArgument
            A setting out of range, or the pipeline's EQ not on the sixth-octave grid (status
            2); target out of range or NaN (status 20); ceiling out of range (status 18); the
            errors of profiling an array (as for :func:`tonecore.profile`). Nothing changes
            then: a match already running goes on as it was.
        tonecore.ClosedError
            This pipeline, or ``reference`` (a :class:`tonecore.Profile`), is closed.
        tonecore.ConcurrentUse
            Another thread is inside :meth:`process` or :meth:`reset`.
        TypeError, ValueError
            Wrong argument types; wrong dtype, dimensions or layout of a ``reference`` array;
            ``reference_rate`` with a :class:`tonecore.Profile`.

        Examples
        --------
        >>> ref = tonecore.profile(reference, 44100)
        >>> with tonecore.Pipeline(48000, 2, tonecore.live_match_config(ref, 48000),
        ...                        max_block=256) as p:
        ...     p.live_match(ref, max_slew_db_per_s=2.0)
        ...     for k, block in enumerate(blocks):
        ...         out = p.process(block)
        ...         if k % 94 == 0:                        # about every 0.5 s at 48 kHz
        ...             p.params.update_match()["active"]
        """
        if self.closed:
            raise self._closed_error()
        ref_rate = _reference_rate(reference_rate, self._sample_rate, reference)
        source = _profile_source(reference, "reference", copy)
        settings = _c_live_match_config(strength, max_gain_db, smoothing_octaves, target_lufs,
                                        ceiling_dbtp, time_constant_s, max_slew_db_per_s,
                                        warmup_s)
        threads_n = threads_arg(threads)
        ref, owned = _resolve(source, ref_rate, threads_n)
        try:
            ptr = self._acquire()
            try:
                ref_ptr = ref._acquire()
                try:
                    status = _native.lib.tonecore_pipeline_live_match(ptr, ref_ptr,
                                                                      byref(settings))
                finally:
                    ref._release()
            finally:
                self._release()
            _native.check(status, "tonecore_pipeline_live_match")
        finally:
            if owned:
                ref.close()

    # -- audio --------------------------------------------------------------------------

    def reset(self) -> None:
        """Clear all signal state (EQ history, loudness measurement, limiter delay line); keep
        the parameters and apply them at once, without ramps. Statistics are not reset.

        Raises
        ------
        tonecore.ConcurrentUse
            Another thread is inside :meth:`process` or :meth:`reset`.
        """
        ptr = self._acquire()
        try:
            _native.check(_native.lib.tonecore_pipeline_reset(ptr), "tonecore_pipeline_reset",
                          audio_path=True)
        finally:
            self._release()

    process = _process_method(
        _AudioObject.process, "Pipeline", __name__,
        """Process one block through EQ, level matcher and limiter.

        Parameters
        ----------
        x : numpy.ndarray
            Samples of this pipeline's :attr:`dtype`, C-contiguous, not copied (see ``copy``):
            planar ``(channels, frames)`` (or ``(frames,)`` when ``channels == 1``); with
            ``interleaved=True``, ``(frames, channels)`` (or ``(frames,)`` for mono).
            ``frames <= max_block``; the output does not depend on the block sizes.
            NaN/Inf samples are processed as zeros and counted (``stats()["nonfinite"]``).
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
            The processed block, shape and dtype of ``x``, delayed by :attr:`latency` frames.
            While the limiter is enabled no sample exceeds ``10**(ceiling_db / 20)`` in
            magnitude.

        Raises
        ------
        TypeError
            ``x`` or ``out`` is not an ndarray of this pipeline's dtype.
        ValueError
            Wrong dimensions or channel count, non-contiguous arrays, ``out`` of another shape
            or overlapping ``x``.
        tonecore.InvalidArgument
            ``frames > max_block`` (status 15, ``BLOCK_TOO_LARGE``).
        tonecore.ConcurrentUse
            Another thread is inside :meth:`process` or :meth:`reset` of this pipeline.
        """,
    )


Pipeline.__module__ = "tonecore"
