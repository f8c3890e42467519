"""The pipeline's settings: :class:`PipelineConfig` with :class:`LevelConfig` and
:class:`LimiterConfig` (immutable), and the ``tonecore_pipeline_config`` built from them.

Shared by :class:`tonecore.Pipeline`, :class:`tonecore.Limiter`, the renderers, the playback
stream, the engine and :func:`tonecore.process_file`. Every default is the library's: read once
from ``tonecore_pipeline_config_init`` (:data:`PIPELINE_DEFAULTS`) and
``tonecore_render_config_init`` (:data:`RENDER_DEFAULTS`), never restated here.
"""

from __future__ import annotations

import dataclasses
import numbers
from ctypes import c_double
from typing import Any, Mapping, Optional, Tuple, Union

import numpy as np

from . import _native
from ._checks import F32, real_arg, size_arg, vector_arg
from ._bands import BandLayout, _layout_arg, _mode_code, _phase_name, low_latency_partition

__all__ = ["LEVEL_MODES", "LevelConfig", "LimiterConfig", "PipelineConfig"]

#: ``tonecore_pipeline_config_init``'s struct: the library's defaults of every field below, and
#: of ``max_block`` (:class:`tonecore.Pipeline`), ``target_lufs`` and the ceiling
#: (:func:`tonecore.normalize`).
PIPELINE_DEFAULTS: Any = _native.config_init(_native.PipelineConfig)

#: ``tonecore_render_config_init``'s struct: the defaults of the chunked renderers, the playback
#: stream, the engine's streams and jobs and :func:`tonecore.process_file` (chunk, crossfade,
#: seam curve, lookahead, seek fade).
RENDER_DEFAULTS: Any = _native.config_init(_native.RenderConfig)

#: Curve-mode codes -> names (``"smooth"``, ``"step"``).
_CURVE_MODE_NAMES = {code: name for name, code in _native.CURVE_MODES.items()}

#: The default seam / crossfade curve's name (``"equal_gain"``).
DEFAULT_FADE_CURVE: str = {
    code: name for name, code in _native.FADE_CURVES.items()
}[RENDER_DEFAULTS.curve]


def _normalise_reals(obj: Any) -> None:
    """Store every float field of a frozen dataclass as a float (TypeError for non-reals); a
    ``mode`` field must be one of its names, a ``true_peak`` field is stored as a bool."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.name == "mode":
            if value not in LEVEL_MODES:
                raise ValueError(f"mode must be one of {LEVEL_MODES}, not {value!r}")
        elif f.name == "true_peak":
            if not isinstance(value, (bool, int, np.bool_)):
                raise TypeError(f"true_peak must be a bool, not {type(value).__name__}")
            object.__setattr__(obj, f.name, bool(value))
        else:
            object.__setattr__(obj, f.name, real_arg(value, f.name))


#: The level modes: ``"integrated"`` (one static gain from the whole track's integrated
#: loudness; what the renderers, ``normalize`` and the engine do) and ``"momentary"`` (the
#: leveller, for live input whose end is unknown).
LEVEL_MODES = ("integrated", "momentary")


@dataclasses.dataclass(frozen=True)
class LevelConfig:
    """Settings of the level stage (immutable).

    ``mode="integrated"``: one static gain. Whoever holds the whole track
    measures its integrated loudness after the EQ and sets the gain so the output lands on
    ``target_lufs`` within 0.1 LU under the limiter's ceiling: :func:`tonecore.render`,
    :func:`tonecore.normalize`, :func:`tonecore.process_file`, the engine's jobs and its
    streams do; a streaming :class:`Pipeline` applies ``track_gain_db``. ``mode="momentary"``: the leveller follows the momentary
    loudness of the EQ output over ``window_ms`` and moves its gain towards
    ``target_lufs - loudness`` dB, clamped to ``[-max_cut_db, +max_boost_db]``; below
    ``gate_lufs``, or before one full window has been measured, it never raises the gain.

    Parameters
    ----------
    target_lufs : float, optional
        Target loudness in LUFS, -70 to 0. Default -14.
    mode : str, optional
        ``"integrated"`` (default) or ``"momentary"`` (for live input whose end is unknown).
    track_gain_db : float, optional
        Integrated mode: the static gain a streaming :class:`Pipeline` applies, dB (-80 to
        +60). Default 0. The renderers compute it themselves.
    attack_ms : float, optional
        Time constant for lowering the gain in ms, ``0 < attack_ms <= 60000``. Default 300.
    release_ms : float, optional
        Time constant for raising the gain in ms, ``0 < release_ms <= 60000``. Default 3000.
    max_boost_db : float, optional
        Largest boost in dB, 0 to 40. Default 12.
    max_cut_db : float, optional
        Largest cut in dB, 0 to 80. Default 24.
    gate_lufs : float, optional
        Below this loudness (LUFS, -100 to 0) the gain is never raised. Default -50.
    window_ms : float, optional
        Loudness window in ms, 50 to 10000 (400 = momentary loudness). Default 400.

    Ranges are checked by the library when a :class:`Pipeline` is built: a target out of range
    raises :class:`tonecore.InvalidArgument` with status 20 (``INVALID_TARGET``; also for boost,
    cut and gate), a time constant or window status 19 (``INVALID_TIME``). Non-real values are
    a TypeError here.
    """

    target_lufs: float = PIPELINE_DEFAULTS.target_lufs
    mode: str = LEVEL_MODES[PIPELINE_DEFAULTS.level_mode]
    track_gain_db: float = PIPELINE_DEFAULTS.track_gain_db
    attack_ms: float = PIPELINE_DEFAULTS.attack_ms
    release_ms: float = PIPELINE_DEFAULTS.release_ms
    max_boost_db: float = PIPELINE_DEFAULTS.max_boost_db
    max_cut_db: float = PIPELINE_DEFAULTS.max_cut_db
    gate_lufs: float = PIPELINE_DEFAULTS.gate_lufs
    window_ms: float = PIPELINE_DEFAULTS.window_ms

    def __post_init__(self) -> None:
        _normalise_reals(self)


@dataclasses.dataclass(frozen=True)
class LimiterConfig:
    """Settings of the lookahead limiter (immutable).

    With ``true_peak`` no point of the output's 4x oversampled waveform
    (BS.1770-4 Annex 2) exceeds the ceiling; without, no sample does (inter-sample peaks can
    then be higher).

    Parameters
    ----------
    ceiling_db : float, optional
        Ceiling in dBTP (dBFS without ``true_peak``), -60 to 0. Default -1.
    lookahead_ms : float, optional
        Lookahead (= attack time) in ms, ``0 < lookahead_ms <= 100``; adds
        ``lookahead_ms * sample_rate / 1000`` frames of latency (rounded half away from zero,
        at least 1; 66 frames at 44.1 kHz), plus 32 frames for the true-peak detector.
        Default 1.5 (the shortest the true-peak guarantee is tested with).
    true_peak : bool, optional
        Detect true peaks, the ceiling in dBTP (default True), or sample peaks (False;
        inter-sample peaks can then exceed the ceiling).
    release_ms : float, optional
        Release time constant in ms, ``0 < release_ms <= 10000``. Default 100.

    A ceiling out of range raises :class:`tonecore.InvalidArgument` with status 18
    (``INVALID_CEILING``) and a time out of range status 19 (``INVALID_TIME``) when a
    :class:`Pipeline` is built.
    """

    ceiling_db: float = PIPELINE_DEFAULTS.ceiling_db
    lookahead_ms: float = PIPELINE_DEFAULTS.lookahead_ms
    release_ms: float = PIPELINE_DEFAULTS.limiter_release_ms
    true_peak: bool = bool(PIPELINE_DEFAULTS.limiter_true_peak)

    def __post_init__(self) -> None:
        _normalise_reals(self)


LevelArg = Union[LevelConfig, Mapping[str, Any], None]
LimiterArg = Union[LimiterConfig, Mapping[str, Any], float, None]


def _level_arg(level: Any) -> Optional[LevelConfig]:
    if level is None or isinstance(level, LevelConfig):
        return level
    if isinstance(level, Mapping):
        return LevelConfig(**level)
    raise TypeError(
        f"level must be None, a tonecore.LevelConfig or a dict of its fields, "
        f"not {type(level).__name__}"
    )


def _limiter_arg(limiter: Any) -> Optional[LimiterConfig]:
    if limiter is None or isinstance(limiter, LimiterConfig):
        return limiter
    if isinstance(limiter, Mapping):
        return LimiterConfig(**limiter)
    if isinstance(limiter, bool):
        raise TypeError("limiter must not be a bool; pass a ceiling in dBFS")
    if isinstance(limiter, numbers.Real):
        return LimiterConfig(ceiling_db=float(limiter))
    raise TypeError(
        f"limiter must be None, a ceiling in dBFS, a tonecore.LimiterConfig or a dict of its "
        f"fields, not {type(limiter).__name__}"
    )


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """How a :class:`Pipeline` is built (immutable; arguments are normalised on creation).

    A stage given as ``None`` starts bypassed with its default settings; it can be enabled
    later with :meth:`PipelineParams.set_bypass`.

    Parameters
    ----------
    eq_gains : array_like or None, optional
        Initial EQ band gains in dB, one per band of ``layout`` (clamped to ±24 dB); stored as
        a tuple of floats. None (default): the EQ starts bypassed (flat).
    layout : BandLayout, str or array_like, optional
        The EQ bands (see :class:`tonecore.BandLayout`); stored as a :class:`BandLayout`.
        None (default): the 25 critical bands.
    level : LevelConfig or dict, optional
        The level matcher's settings (a dict is passed to :class:`LevelConfig`). None
        (default): bypassed, with ``LevelConfig()``'s settings.
    limiter : LimiterConfig, dict or float, optional
        The limiter's settings: a :class:`LimiterConfig`, a dict of its fields, or a number
        meaning ``LimiterConfig(ceiling_db=number)``. None (default): bypassed, with
        ``LimiterConfig()``'s settings.
    mode : {"smooth", "step"}, optional
        How EQ band gains become the frequency response (see :func:`tonecore.gain_curve`).
        Default ``"smooth"``.
    fft_size : int, optional
        FFT size of the EQ engine in samples (even, 16 to 2**24). Default 4096.
    ramp_ms : float, optional
        Crossfade time of EQ gain changes and bypass toggles in ms, 0 to 10000. Default 20.
    phase : {"linear", "minimum"} or None, optional
        The EQ kernel's phase (see :class:`tonecore.Equalizer`). None (default): ``"minimum"``
        with ``low_latency``, else ``"linear"``; stored resolved.
    partition : int, optional
        0 (default): the EQ runs overlap-save at ``fft_size``; otherwise the partitioned
        engine's partition, a power of two 8–65536.
    low_latency : bool, optional
        The low-latency mode: the EQ partitioned at :func:`tonecore.low_latency_partition` of
        the host's ``max_block`` (unless ``partition`` is given; resolved where the pipeline is
        built) with minimum phase. With the default limiter the chain's latency at 64-frame
        blocks and 48 kHz is 64 + 72 + 32 = 168 frames (3.5 ms). Default False.

    Raises
    ------
    TypeError, ValueError
        Wrong types, unknown ``mode`` or ``phase``, ``eq_gains`` not 1-D. Value ranges are checked by the
        library when the :class:`Pipeline` is built.

    Examples
    --------
    >>> cfg = tonecore.PipelineConfig(eq_gains=np.zeros(25), level=tonecore.LevelConfig(-16.0),
    ...                               limiter=-1.0)
    >>> cfg.limiter
    LimiterConfig(ceiling_db=-1.0, lookahead_ms=1.5, release_ms=100.0, true_peak=True)
    """

    eq_gains: Optional[Tuple[float, ...]] = None
    layout: Optional[BandLayout] = None
    level: Optional[LevelConfig] = None
    limiter: Optional[LimiterConfig] = None
    mode: str = _CURVE_MODE_NAMES[PIPELINE_DEFAULTS.mode]
    fft_size: int = PIPELINE_DEFAULTS.fft_size
    ramp_ms: float = PIPELINE_DEFAULTS.ramp_ms
    phase: Optional[str] = None
    partition: int = PIPELINE_DEFAULTS.partition
    low_latency: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.eq_gains is not None:
            gains = vector_arg(self.eq_gains, "eq_gains")
            set_(self, "eq_gains", tuple(float(g) for g in gains))
        if self.layout is not None:
            set_(self, "layout", _layout_arg(self.layout))
        set_(self, "level", _level_arg(self.level))
        set_(self, "limiter", _limiter_arg(self.limiter))
        _mode_code(self.mode)
        set_(self, "fft_size", size_arg(self.fft_size, "fft_size"))
        set_(self, "ramp_ms", real_arg(self.ramp_ms, "ramp_ms"))
        set_(self, "low_latency", bool(self.low_latency))
        set_(self, "phase", _phase_name(self.phase, self.low_latency))
        set_(self, "partition", size_arg(self.partition, "partition"))

    @property
    def bands(self) -> int:
        """Number of EQ bands of :attr:`layout` (25 for the default critical bands)."""
        return _layout_arg(self.layout).bands


for _cls in (LevelConfig, LimiterConfig, PipelineConfig):
    _cls.__module__ = "tonecore"
del _cls


def _config_arg(config: Any) -> PipelineConfig:
    if config is None:
        return PipelineConfig()
    if isinstance(config, PipelineConfig):
        return config
    if isinstance(config, Mapping):
        return PipelineConfig(**config)
    raise TypeError(
        f"config must be None, a tonecore.PipelineConfig or a dict of its fields, "
        f"not {type(config).__name__}"
    )


def _c_pipeline_config(
    cfg: PipelineConfig,
    sample_rate: int,
    channels: int,
    dtype: np.dtype[Any],
    max_block: int = PIPELINE_DEFAULTS.max_block,
) -> Tuple["_native.PipelineConfig", BandLayout, Tuple[Any, ...]]:
    """A ``tonecore_pipeline_config`` filled from ``cfg`` (``tonecore_pipeline_config_init``
    first, then every field).

    Returns ``(config, layout, keepalive)``: the struct, the EQ's :class:`BandLayout`, and the
    objects its pointers borrow (EQ gains array, layout with custom edges). Keep ``keepalive``
    referenced until the native call that reads the struct has returned.
    """
    layout = _layout_arg(cfg.layout)
    gains = None if cfg.eq_gains is None else np.array(cfg.eq_gains, dtype=np.float64)
    level = cfg.level if cfg.level is not None else LevelConfig()
    limiter = cfg.limiter if cfg.limiter is not None else LimiterConfig()

    c = _native.config_init(_native.PipelineConfig)
    c.sample_rate = sample_rate
    c.channels = channels
    c.max_block = max_block
    c.fft_size = cfg.fft_size
    c.ramp_ms = cfg.ramp_ms
    c.sample_format = _native.SAMPLE_FORMAT_F32 if dtype == F32 else _native.SAMPLE_FORMAT_F64
    c.eq_enabled = 0 if gains is None else 1
    code, edges_ptr, edges_len = layout._c_args()
    c.layout = code
    if edges_ptr is not None:
        c.edges = edges_ptr
        c.edges_len = edges_len
    c.mode = _mode_code(cfg.mode)
    if gains is not None:
        c.eq_gains_db = _native.pointer_to(gains, c_double)
        c.eq_gains_len = gains.size
    c.level_enabled = 0 if cfg.level is None else 1
    c.target_lufs = level.target_lufs
    c.attack_ms = level.attack_ms
    c.release_ms = level.release_ms
    c.max_boost_db = level.max_boost_db
    c.max_cut_db = level.max_cut_db
    c.gate_lufs = level.gate_lufs
    c.window_ms = level.window_ms
    c.level_mode = LEVEL_MODES.index(level.mode)
    c.track_gain_db = level.track_gain_db
    c.limiter_enabled = 0 if cfg.limiter is None else 1
    c.ceiling_db = limiter.ceiling_db
    c.lookahead_ms = limiter.lookahead_ms
    c.limiter_release_ms = limiter.release_ms
    c.limiter_true_peak = 1 if limiter.true_peak else 0
    c.phase = _native.PHASES[_phase_name(cfg.phase, cfg.low_latency)]
    c.partition = cfg.partition
    if cfg.low_latency and cfg.partition == 0:
        c.partition = low_latency_partition(max_block)
    return c, layout, (gains, layout)


#: ``tonecore_layout`` codes of the named layouts -> names (see :class:`BandLayout`).
_LAYOUT_NAMES = {
    _native.LAYOUT_CRITICAL: "critical",
    _native.LAYOUT_OCTAVE: "octave",
    _native.LAYOUT_THIRD_OCTAVE: "third_octave",
    _native.LAYOUT_SIXTH_OCTAVE: "sixth_octave",
}


def _pipeline_config_from_c(c: "_native.PipelineConfig") -> PipelineConfig:
    """The :class:`PipelineConfig` a filled ``tonecore_pipeline_config`` describes (the
    inverse of :func:`_c_pipeline_config`): every stage, enabled or not, from the struct's
    fields; its pointers (EQ gains, custom edges) are read now, so the struct's buffers need
    not outlive this call. ``sample_rate``, ``channels``, ``max_block`` and ``sample_format``
    are not part of a :class:`PipelineConfig` (they come from where it runs)."""
    name = _LAYOUT_NAMES.get(c.layout)
    if c.layout == _native.LAYOUT_CRITICAL:
        layout: Any = None  # the default layout, as PipelineConfig() holds it
    elif name is not None:
        layout = name
    else:
        layout = [float(c.edges[i]) for i in range(c.edges_len)]
    gains = None
    if c.eq_enabled and not c.eq_gains_db:  # NULL gains: the EQ enabled, flat
        gains = (0.0,) * _layout_arg(layout).bands
    elif c.eq_enabled:
        gains = tuple(float(c.eq_gains_db[i]) for i in range(c.eq_gains_len))
    level = LevelConfig(
        target_lufs=c.target_lufs, mode=LEVEL_MODES[c.level_mode],
        track_gain_db=c.track_gain_db, attack_ms=c.attack_ms, release_ms=c.release_ms,
        max_boost_db=c.max_boost_db, max_cut_db=c.max_cut_db, gate_lufs=c.gate_lufs,
        window_ms=c.window_ms,
    )
    limiter = LimiterConfig(
        ceiling_db=c.ceiling_db, lookahead_ms=c.lookahead_ms,
        release_ms=c.limiter_release_ms, true_peak=bool(c.limiter_true_peak),
    )
    return PipelineConfig(
        eq_gains=gains,
        layout=layout,
        level=level if c.level_enabled else None,
        limiter=limiter if c.limiter_enabled else None,
        mode=_CURVE_MODE_NAMES[c.mode],
        fft_size=int(c.fft_size),
        ramp_ms=c.ramp_ms,
        phase=[name for name, code in _native.PHASES.items() if code == c.phase][0],
        partition=int(c.partition),
    )
