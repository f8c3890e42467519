"""Private: loading ``libtonecore`` and declaring its C ABI for ctypes.

Mirrors ``include/tonecore.h``: every exported function gets ``argtypes``/``restype`` here,
and :func:`check` turns a non-zero ``tonecore_status`` into an exception carrying the status
and ``tonecore_last_error_message()`` (read right after the failing call, on the same thread).

Nothing here is public API; use the functions and classes of the ``tonecore`` package.
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import (
    POINTER,
    Structure,
    c_char_p,
    c_double,
    c_float,
    c_int32,
    c_int64,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Type, TypeVar

if TYPE_CHECKING:
    import numpy as np

from ._errors import error_for_status

#: The C ABI version this package was written for (``TONECORE_ABI_VERSION`` in the header).
ABI_VERSION = 1

#: Environment variable naming another build of the library to load instead of the bundled one.
LIBRARY_ENV = "TONECORE_LIBRARY"

# tonecore_status values (header: enum tonecore_status).
STATUS_OK = 0
STATUS_NULL_POINTER = 1
STATUS_INVALID_ARGUMENT = 2
STATUS_INVALID_LENGTH = 3
STATUS_BUFFER_TOO_SMALL = 4
STATUS_NON_FINITE = 5
STATUS_UNKNOWN_WINDOW = 6
STATUS_INVALID_FFT_SIZE = 7
STATUS_INVALID_HOP = 8
STATUS_STRUCT_SIZE = 9
STATUS_WRONG_FORMAT = 10
STATUS_NOT_INVERTIBLE = 11
STATUS_BUFFERS_OVERLAP = 12
STATUS_INVALID_SAMPLE_RATE = 13
STATUS_INVALID_CHANNELS = 14
STATUS_BLOCK_TOO_LARGE = 15
STATUS_INVALID_BANDS = 16
STATUS_GAIN_COUNT = 17
STATUS_INVALID_CEILING = 18
STATUS_INVALID_TIME = 19
STATUS_INVALID_TARGET = 20
STATUS_INVALID_CHUNK = 21
STATUS_INVALID_PROFILE = 22
STATUS_PROFILE_VERSION = 23
STATUS_INVALID_PARTITION = 24
STATUS_CONCURRENT_USE = 100
STATUS_POISONED = 101
STATUS_CANCELLED = 102
STATUS_PANIC = 200
STATUS_OUT_OF_MEMORY = 201
STATUS_THREAD_POOL = 202

# tonecore_window values.
WINDOW_HANN = 0
WINDOW_HANN_SYM = 1
WINDOW_HAMMING = 2
WINDOW_BLACKMAN = 3
WINDOW_SQRT_HANN = 4

#: Python window names -> TONECORE_WINDOW_* values.
WINDOW_KINDS = {
    "hann": WINDOW_HANN,
    "hann_sym": WINDOW_HANN_SYM,
    "hamming": WINDOW_HAMMING,
    "blackman": WINDOW_BLACKMAN,
    "sqrt_hann": WINDOW_SQRT_HANN,
}

# tonecore_sample_format values.
SAMPLE_FORMAT_F32 = 0
SAMPLE_FORMAT_F64 = 1

# tonecore_layout values.
LAYOUT_CRITICAL = 0
LAYOUT_OCTAVE = 1
LAYOUT_THIRD_OCTAVE = 2
LAYOUT_CUSTOM = 3
LAYOUT_SIXTH_OCTAVE = 4

#: ``tonecore_phase`` values (the EQ kernel's phase), by name.
PHASES = {"linear": 0, "minimum": 1}

# tonecore_curve_mode values.
CURVE_MODE_SMOOTH = 0
CURVE_MODE_STEP = 1

#: Python curve-mode names -> TONECORE_CURVE_MODE_* values.
CURVE_MODES = {"smooth": CURVE_MODE_SMOOTH, "step": CURVE_MODE_STEP}

# tonecore_stage values.
STAGE_EQ = 0
STAGE_LEVEL = 1
STAGE_LIMITER = 2

#: Python stage names -> TONECORE_STAGE_* values.
STAGES = {"eq": STAGE_EQ, "level": STAGE_LEVEL, "limiter": STAGE_LIMITER}

# tonecore_fade_curve values.
FADE_CURVE_EQUAL_GAIN = 0
FADE_CURVE_EQUAL_POWER = 1
FADE_CURVE_LINEAR = 2

#: Python fade-curve names -> TONECORE_FADE_CURVE_* values.
FADE_CURVES = {
    "equal_gain": FADE_CURVE_EQUAL_GAIN,
    "equal_power": FADE_CURVE_EQUAL_POWER,
    "linear": FADE_CURVE_LINEAR,
}


class ComplexF32(Structure):
    """``tonecore_complex_f32`` (layout of numpy ``complex64``)."""

    _fields_ = [("re", c_float), ("im", c_float)]


class ComplexF64(Structure):
    """``tonecore_complex_f64`` (layout of numpy ``complex128``)."""

    _fields_ = [("re", c_double), ("im", c_double)]


class StftConfig(Structure):
    """``tonecore_stft_config``; fill it with ``tonecore_stft_config_init``."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("fft_size", c_size_t),
        ("hop", c_size_t),
        ("window", c_int32),
        ("sample_format", c_int32),
        ("center", c_uint32),
        ("threads", c_uint32),
        ("custom_window", POINTER(c_double)),
        ("custom_window_len", c_size_t),
    ]


class StftHandle(Structure):
    """The opaque ``tonecore_stft``; only pointers to it are used."""


STFT_P = POINTER(StftHandle)


class EqualizerConfig(Structure):
    """``tonecore_equalizer_config``; fill it with ``tonecore_equalizer_config_init``."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("sample_rate", c_uint32),
        ("channels", c_uint32),
        ("max_block", c_size_t),
        ("fft_size", c_size_t),
        ("layout", c_int32),
        ("mode", c_int32),
        ("edges", POINTER(c_double)),
        ("edges_len", c_size_t),
        ("ramp_ms", c_double),
        ("sample_format", c_int32),
        ("gains_db", POINTER(c_double)),
        ("gains_len", c_size_t),
        ("phase", c_int32),
        ("partition", c_size_t),
    ]


class EqualizeConfig(Structure):
    """``tonecore_equalize_config``; fill it with ``tonecore_equalize_config_init``."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("sample_rate", c_uint32),
        ("threads", c_uint32),
        ("fft_size", c_size_t),
        ("layout", c_int32),
        ("mode", c_int32),
        ("edges", POINTER(c_double)),
        ("edges_len", c_size_t),
    ]


class EqualizerHandle(Structure):
    """The opaque ``tonecore_equalizer``; only pointers to it are used."""


EQUALIZER_P = POINTER(EqualizerHandle)

class LoudnessReport(Structure):
    """``tonecore_loudness_report``: LUFS, LU (range) and dBTP (true peak)."""

    _fields_ = [
        ("integrated", c_double),
        ("momentary_max", c_double),
        ("short_term_max", c_double),
        ("range", c_double),
        ("true_peak", c_double),
    ]


class LoudnessMeterHandle(Structure):
    """The opaque ``tonecore_loudness_meter``; only pointers to it are used."""


LOUDNESS_METER_P = POINTER(LoudnessMeterHandle)


class PipelineConfig(Structure):
    """``tonecore_pipeline_config``; fill it with ``tonecore_pipeline_config_init``."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("sample_rate", c_uint32),
        ("channels", c_uint32),
        ("max_block", c_size_t),
        ("fft_size", c_size_t),
        ("ramp_ms", c_double),
        ("sample_format", c_int32),
        ("eq_enabled", c_uint32),
        ("layout", c_int32),
        ("mode", c_int32),
        ("edges", POINTER(c_double)),
        ("edges_len", c_size_t),
        ("eq_gains_db", POINTER(c_double)),
        ("eq_gains_len", c_size_t),
        ("level_enabled", c_uint32),
        ("target_lufs", c_double),
        ("attack_ms", c_double),
        ("release_ms", c_double),
        ("max_boost_db", c_double),
        ("max_cut_db", c_double),
        ("gate_lufs", c_double),
        ("window_ms", c_double),
        ("limiter_enabled", c_uint32),
        ("ceiling_db", c_double),
        ("lookahead_ms", c_double),
        ("limiter_release_ms", c_double),
        ("limiter_true_peak", c_uint32),
        ("level_mode", c_int32),
        ("track_gain_db", c_double),
        ("phase", c_int32),
        ("partition", c_size_t),
    ]


#: Entries of ``tonecore_pipeline_stats.eq_gains_db``.
STATS_MAX_BANDS = 64


class PipelineStats(Structure):
    """``tonecore_pipeline_stats``; set ``struct_size = sizeof`` before the call."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("frames", c_uint64),
        ("nonfinite", c_uint64),
        ("limiter_max_reduction_db", c_double),
        ("limiter_gain_db", c_double),
        ("level_gain_db", c_double),
        ("loudness_lufs", c_double),
        ("eq_bypassed", c_uint32),
        ("level_bypassed", c_uint32),
        ("limiter_bypassed", c_uint32),
        ("eq_bands", c_uint32),
        ("eq_gains_db", c_double * STATS_MAX_BANDS),
    ]


class PipelineHandle(Structure):
    """The opaque ``tonecore_pipeline``; only pointers to it are used."""


PIPELINE_P = POINTER(PipelineHandle)


class ParamsHandle(Structure):
    """The opaque ``tonecore_params``; only pointers to it are used."""


PARAMS_P = POINTER(ParamsHandle)

class LimiterConfig(Structure):
    """``tonecore_limiter_config``; fill it with ``tonecore_limiter_config_init``."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("sample_rate", c_uint32),
        ("channels", c_uint32),
        ("sample_format", c_int32),
        ("ceiling_db", c_double),
        ("lookahead_ms", c_double),
        ("release_ms", c_double),
        ("true_peak", c_uint32),
    ]


class NormalizeReport(Structure):
    """``tonecore_normalize_report``; set ``struct_size = sizeof`` before the call."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("target_lufs", c_double),
        ("limited", c_uint32),
        ("ceiling_db", c_double),
        ("input_lufs", c_double),
        ("input_true_peak_db", c_double),
        ("eq_lufs", c_double),
        ("gain_db", c_double),
        ("output_lufs", c_double),
        ("output_true_peak_db", c_double),
        ("limiter_max_reduction_db", c_double),
        ("limiter_mean_reduction_db", c_double),
        ("limited_fraction", c_double),
        ("passes", c_uint32),
        ("outcome", c_int32),
    ]


#: ``tonecore_normalize_report.outcome`` values by name.
NORMALIZE_OUTCOMES = ("reached", "silent", "gain_limit", "not_reached")

#: ``TONECORE_PROFILE_BANDS``: bands of a profile (the sixth-octave grid).
PROFILE_BANDS = 61


class ProfileHandle(Structure):
    """The opaque ``tonecore_profile``; only pointers to it are used."""


PROFILE_P = POINTER(ProfileHandle)


class MatchConfig(Structure):
    """``tonecore_match_config``; fill it with ``tonecore_match_config_init``."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("strength", c_double),
        ("max_gain_db", c_double),
        ("smoothing_octaves", c_double),
        ("target_lufs", c_double),
        ("ceiling_dbtp", c_double),
    ]


class ProfileInfo(Structure):
    """``tonecore_profile_info``; set ``struct_size = sizeof`` before the call."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("sample_rate", c_uint32),
        ("channels", c_uint32),
        ("frames", c_uint64),
        ("integrated_lufs", c_double),
        ("loudness_range_lu", c_double),
        ("true_peak_dbtp", c_double),
        ("present_bands", c_uint32),
        ("silent", c_uint32),
        ("has_side_mid", c_uint32),
    ]


class MatchReport(Structure):
    """``tonecore_match_report``; set ``struct_size = sizeof`` before the call."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("outcome", c_int32),
        ("compared_bands", c_uint32),
        ("residual_before_db", c_double),
        ("residual_after_db", c_double),
        ("gains_db", c_double * PROFILE_BANDS),
        ("before_db", c_double * PROFILE_BANDS),
        ("after_db", c_double * PROFILE_BANDS),
        ("loudness", NormalizeReport),
    ]


class LiveMatchConfig(Structure):
    """``tonecore_live_match_config``; fill it with ``tonecore_live_match_config_init``."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("strength", c_double),
        ("max_gain_db", c_double),
        ("smoothing_octaves", c_double),
        ("target_lufs", c_double),
        ("ceiling_dbtp", c_double),
        ("time_constant_s", c_double),
        ("max_slew_db_per_s", c_double),
        ("warmup_s", c_double),
    ]


class LiveMatchState(Structure):
    """``tonecore_live_match_state``; set ``struct_size = sizeof`` before the call."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("analysed_s", c_double),
        ("averaged_s", c_double),
        ("active", c_uint32),
        ("outcome", c_int32),
        ("gains_db", c_double * PROFILE_BANDS),
        ("target_db", c_double * PROFILE_BANDS),
    ]


#: ``tonecore_match_outcome`` values (``TONECORE_MATCH_OUTCOME_*``) by name. (The header refers
#: to these constants but, as generated at cea7c96, does not define them: the values are those
#: of ``enum tonecore_match_outcome`` in src/ffi/matching.rs, checked by test_matching.py.)
MATCH_OUTCOMES = ("matched", "silent_reference", "silent_track", "no_common_bands")


class LimiterStats(Structure):
    """``tonecore_limiter_stats``; set ``struct_size = sizeof`` before the call."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("frames", c_uint64),
        ("nonfinite", c_uint64),
        ("gain_db", c_double),
        ("max_reduction_db", c_double),
    ]


class LimiterHandle(Structure):
    """The opaque ``tonecore_limiter``; only pointers to it are used."""


LIMITER_P = POINTER(LimiterHandle)


class RenderConfig(Structure):
    """``tonecore_render_config``; fill it with ``tonecore_render_config_init``."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("chunk_seconds", c_double),
        ("context_seconds", c_double),
        ("crossfade_seconds", c_double),
        ("curve", c_int32),
        ("threads", c_uint32),
        ("lookahead_chunks", c_uint32),
        ("seek_fade_ms", c_double),
    ]


class PlaybackStats(Structure):
    """``tonecore_playback_stats`` (no ``struct_size`` field)."""

    _fields_ = [
        ("frames_read", c_uint64),
        ("underrun_frames", c_uint64),
        ("seeks", c_uint64),
        ("chunks_rendered", c_uint64),
        ("position", c_uint64),
    ]


class PlaybackHandle(Structure):
    """The opaque ``tonecore_playback``; only pointers to it are used."""


PLAYBACK_P = POINTER(PlaybackHandle)

#: ``tonecore_render_progress_fn``: ``int32_t (*)(void *user_data, size_t done, size_t total)``;
#: a non-zero return cancels the render. ``RENDER_PROGRESS_FN()`` is the NULL callback.
RENDER_PROGRESS_FN = ctypes.CFUNCTYPE(c_int32, c_void_p, c_size_t, c_size_t)

#: ``tonecore_progress_fn``: ``void (*)(void *user_data, size_t done, size_t total)``.
#: ``PROGRESS_FN()`` is the NULL callback.
PROGRESS_FN = ctypes.CFUNCTYPE(None, c_void_p, c_size_t, c_size_t)

status_t = c_int32

# (name, restype, argtypes) for every function of include/tonecore.h, in header order.
_SIGNATURES = [
    (
        "tonecore_band_energies_f32",
        status_t,
        [c_int32, POINTER(c_double), c_size_t, c_uint32, c_size_t, c_size_t, c_uint32,
         POINTER(c_float), c_size_t, c_size_t, POINTER(c_double), c_size_t, POINTER(c_size_t)],
    ),
    (
        "tonecore_band_energies_f64",
        status_t,
        [c_int32, POINTER(c_double), c_size_t, c_uint32, c_size_t, c_size_t, c_uint32,
         POINTER(c_double), c_size_t, c_size_t, POINTER(c_double), c_size_t, POINTER(c_size_t)],
    ),
    ("tonecore_layout_bands", status_t, [c_int32, POINTER(c_double), c_size_t, POINTER(c_size_t)]),
    (
        "tonecore_layout_edges",
        status_t,
        [c_int32, POINTER(c_double), c_size_t, POINTER(c_double), c_size_t, POINTER(c_double),
         c_size_t],
    ),
    (
        "tonecore_band_map",
        status_t,
        [c_int32, POINTER(c_double), c_size_t, c_uint32, c_size_t, POINTER(c_uint32), c_size_t],
    ),
    (
        "tonecore_gain_curve",
        status_t,
        [c_int32, POINTER(c_double), c_size_t, POINTER(c_double), c_size_t, c_uint32, c_size_t,
         c_int32, POINTER(c_double), c_size_t],
    ),
    ("tonecore_low_latency_partition", c_size_t, [c_size_t]),
    ("tonecore_equalizer_config_init", status_t, [POINTER(EqualizerConfig)]),
    ("tonecore_equalizer_new", status_t, [POINTER(EqualizerConfig), POINTER(EQUALIZER_P)]),
    ("tonecore_equalizer_free", None, [EQUALIZER_P]),
    ("tonecore_equalizer_set_gains", status_t, [EQUALIZER_P, POINTER(c_double), c_size_t]),
    ("tonecore_equalizer_gains", status_t, [EQUALIZER_P, POINTER(c_double), c_size_t]),
    ("tonecore_equalizer_latency", status_t, [EQUALIZER_P, POINTER(c_size_t)]),
    ("tonecore_equalizer_bands", status_t, [EQUALIZER_P, POINTER(c_size_t)]),
    ("tonecore_equalizer_reset", status_t, [EQUALIZER_P]),
    ("tonecore_equalizer_nonfinite_count", status_t, [EQUALIZER_P, POINTER(c_uint64)]),
    (
        "tonecore_equalizer_process_f32",
        status_t,
        [EQUALIZER_P, POINTER(c_float), c_size_t, POINTER(c_float), c_size_t],
    ),
    (
        "tonecore_equalizer_process_f64",
        status_t,
        [EQUALIZER_P, POINTER(c_double), c_size_t, POINTER(c_double), c_size_t],
    ),
    (
        "tonecore_equalizer_process_interleaved_f32",
        status_t,
        [EQUALIZER_P, POINTER(c_float), c_size_t, POINTER(c_float), c_size_t],
    ),
    (
        "tonecore_equalizer_process_interleaved_f64",
        status_t,
        [EQUALIZER_P, POINTER(c_double), c_size_t, POINTER(c_double), c_size_t],
    ),
    ("tonecore_equalize_config_init", status_t, [POINTER(EqualizeConfig)]),
    (
        "tonecore_equalize_f32",
        status_t,
        [POINTER(EqualizeConfig), POINTER(c_double), c_size_t, POINTER(c_float), c_size_t,
         c_size_t, POINTER(c_float), c_size_t, PROGRESS_FN, c_void_p],
    ),
    (
        "tonecore_equalize_f64",
        status_t,
        [POINTER(EqualizeConfig), POINTER(c_double), c_size_t, POINTER(c_double), c_size_t,
         c_size_t, POINTER(c_double), c_size_t, PROGRESS_FN, c_void_p],
    ),
    ("tonecore_last_error_message", c_char_p, []),
    (
        "tonecore_loudness_integrated_f32",
        status_t,
        [POINTER(c_float), c_size_t, c_size_t, c_uint32, POINTER(c_double)],
    ),
    (
        "tonecore_loudness_integrated_f64",
        status_t,
        [POINTER(c_double), c_size_t, c_size_t, c_uint32, POINTER(c_double)],
    ),
    (
        "tonecore_loudness_measure_f32",
        status_t,
        [POINTER(c_float), c_size_t, c_size_t, c_uint32, POINTER(LoudnessReport)],
    ),
    (
        "tonecore_loudness_measure_f64",
        status_t,
        [POINTER(c_double), c_size_t, c_size_t, c_uint32, POINTER(LoudnessReport)],
    ),
    (
        "tonecore_loudness_meter_new",
        status_t,
        [c_size_t, c_uint32, POINTER(LOUDNESS_METER_P)],
    ),
    ("tonecore_loudness_meter_free", None, [LOUDNESS_METER_P]),
    (
        "tonecore_loudness_meter_add_f32",
        status_t,
        [LOUDNESS_METER_P, POINTER(c_float), c_size_t],
    ),
    (
        "tonecore_loudness_meter_add_f64",
        status_t,
        [LOUDNESS_METER_P, POINTER(c_double), c_size_t],
    ),
    (
        "tonecore_loudness_meter_report",
        status_t,
        [LOUDNESS_METER_P, POINTER(LoudnessReport)],
    ),
    ("tonecore_loudness_meter_reset", status_t, [LOUDNESS_METER_P]),
    ("tonecore_match_config_init", status_t, [POINTER(MatchConfig)]),
    ("tonecore_live_match_config_init", status_t, [POINTER(LiveMatchConfig)]),
    (
        "tonecore_match_live_pipeline_config",
        status_t,
        [PROFILE_P, POINTER(MatchConfig), POINTER(PipelineConfig)],
    ),
    (
        "tonecore_profile_compute_f32",
        status_t,
        [POINTER(c_float), c_size_t, c_uint32, c_uint32, c_uint32, POINTER(PROFILE_P)],
    ),
    (
        "tonecore_profile_compute_f64",
        status_t,
        [POINTER(c_double), c_size_t, c_uint32, c_uint32, c_uint32, POINTER(PROFILE_P)],
    ),
    ("tonecore_profile_free", None, [PROFILE_P]),
    (
        "tonecore_profile_to_json",
        status_t,
        [PROFILE_P, ctypes.c_char_p, c_size_t, POINTER(c_size_t)],
    ),
    ("tonecore_profile_from_json", status_t, [ctypes.c_char_p, c_size_t, POINTER(PROFILE_P)]),
    ("tonecore_profile_get_info", status_t, [PROFILE_P, POINTER(ProfileInfo)]),
    (
        "tonecore_profile_spectrum",
        status_t,
        [PROFILE_P, POINTER(c_double), c_size_t, POINTER(c_double), c_size_t],
    ),
    (
        "tonecore_match_pipeline_config",
        status_t,
        [PROFILE_P, PROFILE_P, POINTER(MatchConfig), POINTER(PipelineConfig), POINTER(c_double),
         c_size_t, POINTER(c_int32)],
    ),
    (
        "tonecore_match_f32",
        status_t,
        [POINTER(c_float), c_size_t, POINTER(c_float), c_size_t, c_uint32, c_uint32, PROFILE_P,
         POINTER(MatchConfig), POINTER(RenderConfig), POINTER(MatchReport), RENDER_PROGRESS_FN,
         c_void_p],
    ),
    (
        "tonecore_match_f64",
        status_t,
        [POINTER(c_double), c_size_t, POINTER(c_double), c_size_t, c_uint32, c_uint32,
         PROFILE_P, POINTER(MatchConfig), POINTER(RenderConfig), POINTER(MatchReport),
         RENDER_PROGRESS_FN, c_void_p],
    ),
    ("tonecore_pipeline_config_init", status_t, [POINTER(PipelineConfig)]),
    ("tonecore_pipeline_new", status_t, [POINTER(PipelineConfig), POINTER(PIPELINE_P)]),
    ("tonecore_pipeline_free", None, [PIPELINE_P]),
    ("tonecore_pipeline_latency", status_t, [PIPELINE_P, POINTER(c_size_t)]),
    ("tonecore_pipeline_reset", status_t, [PIPELINE_P]),
    ("tonecore_pipeline_params", status_t, [PIPELINE_P, POINTER(PARAMS_P)]),
    (
        "tonecore_pipeline_process_f32",
        status_t,
        [PIPELINE_P, POINTER(c_float), c_size_t, POINTER(c_float), c_size_t],
    ),
    (
        "tonecore_pipeline_process_f64",
        status_t,
        [PIPELINE_P, POINTER(c_double), c_size_t, POINTER(c_double), c_size_t],
    ),
    (
        "tonecore_pipeline_process_interleaved_f32",
        status_t,
        [PIPELINE_P, POINTER(c_float), c_size_t, POINTER(c_float), c_size_t],
    ),
    (
        "tonecore_pipeline_process_interleaved_f64",
        status_t,
        [PIPELINE_P, POINTER(c_double), c_size_t, POINTER(c_double), c_size_t],
    ),
    ("tonecore_limiter_config_init", status_t, [POINTER(LimiterConfig)]),
    ("tonecore_limiter_new", status_t, [POINTER(LimiterConfig), POINTER(LIMITER_P)]),
    ("tonecore_limiter_free", None, [LIMITER_P]),
    ("tonecore_limiter_latency", status_t, [LIMITER_P, POINTER(c_size_t)]),
    ("tonecore_limiter_reset", status_t, [LIMITER_P]),
    ("tonecore_limiter_set_ceiling_db", status_t, [LIMITER_P, c_double]),
    ("tonecore_limiter_get_stats", status_t, [LIMITER_P, POINTER(LimiterStats)]),
    (
        "tonecore_limiter_process_f32",
        status_t,
        [LIMITER_P, POINTER(c_float), c_size_t, POINTER(c_float), c_size_t],
    ),
    (
        "tonecore_limiter_process_f64",
        status_t,
        [LIMITER_P, POINTER(c_double), c_size_t, POINTER(c_double), c_size_t],
    ),
    (
        "tonecore_limiter_process_interleaved_f32",
        status_t,
        [LIMITER_P, POINTER(c_float), c_size_t, POINTER(c_float), c_size_t],
    ),
    (
        "tonecore_limiter_process_interleaved_f64",
        status_t,
        [LIMITER_P, POINTER(c_double), c_size_t, POINTER(c_double), c_size_t],
    ),
    ("tonecore_params_free", None, [PARAMS_P]),
    ("tonecore_params_set_eq_gains", status_t, [PARAMS_P, POINTER(c_double), c_size_t]),
    (
        "tonecore_pipeline_live_match",
        status_t,
        [PIPELINE_P, PROFILE_P, POINTER(LiveMatchConfig)],
    ),
    ("tonecore_params_update_match", status_t, [PARAMS_P, POINTER(LiveMatchState)]),
    ("tonecore_params_set_level_target", status_t, [PARAMS_P, c_double]),
    (
        "tonecore_params_set_level_reference_f32",
        status_t,
        [PARAMS_P, POINTER(c_float), c_size_t, c_size_t, POINTER(c_double)],
    ),
    (
        "tonecore_params_set_level_reference_f64",
        status_t,
        [PARAMS_P, POINTER(c_double), c_size_t, c_size_t, POINTER(c_double)],
    ),
    ("tonecore_params_set_ceiling_db", status_t, [PARAMS_P, c_double]),
    ("tonecore_params_set_bypass", status_t, [PARAMS_P, c_int32, c_uint32]),
    ("tonecore_params_stats", status_t, [PARAMS_P, POINTER(PipelineStats)]),
    (
        "tonecore_crossfade_concat_f32",
        status_t,
        [POINTER(c_float), c_size_t, POINTER(c_float), c_size_t, c_size_t, c_size_t, c_int32,
         POINTER(c_float), c_size_t, POINTER(c_size_t)],
    ),
    (
        "tonecore_crossfade_concat_f64",
        status_t,
        [POINTER(c_double), c_size_t, POINTER(c_double), c_size_t, c_size_t, c_size_t, c_int32,
         POINTER(c_double), c_size_t, POINTER(c_size_t)],
    ),
    ("tonecore_render_config_init", status_t, [POINTER(RenderConfig)]),
    (
        "tonecore_render_chunked_f32",
        status_t,
        [POINTER(PipelineConfig), POINTER(RenderConfig), POINTER(c_float), c_size_t,
         POINTER(c_float), c_size_t, RENDER_PROGRESS_FN, c_void_p],
    ),
    (
        "tonecore_render_chunked_f64",
        status_t,
        [POINTER(PipelineConfig), POINTER(RenderConfig), POINTER(c_double), c_size_t,
         POINTER(c_double), c_size_t, RENDER_PROGRESS_FN, c_void_p],
    ),
    (
        "tonecore_normalize_f32",
        status_t,
        [POINTER(PipelineConfig), POINTER(RenderConfig), c_double, POINTER(c_float), c_size_t,
         POINTER(c_float), c_size_t, POINTER(NormalizeReport), RENDER_PROGRESS_FN, c_void_p],
    ),
    (
        "tonecore_normalize_f64",
        status_t,
        [POINTER(PipelineConfig), POINTER(RenderConfig), c_double, POINTER(c_double), c_size_t,
         POINTER(c_double), c_size_t, POINTER(NormalizeReport), RENDER_PROGRESS_FN, c_void_p],
    ),
    (
        "tonecore_playback_open_f32",
        status_t,
        [POINTER(PipelineConfig), POINTER(RenderConfig), POINTER(c_float), c_size_t,
         POINTER(PLAYBACK_P)],
    ),
    (
        "tonecore_playback_open_f64",
        status_t,
        [POINTER(PipelineConfig), POINTER(RenderConfig), POINTER(c_double), c_size_t,
         POINTER(PLAYBACK_P)],
    ),
    ("tonecore_playback_free", None, [PLAYBACK_P]),
    (
        "tonecore_playback_read_f32",
        status_t,
        [PLAYBACK_P, POINTER(c_float), c_size_t, POINTER(c_size_t)],
    ),
    (
        "tonecore_playback_read_f64",
        status_t,
        [PLAYBACK_P, POINTER(c_double), c_size_t, POINTER(c_size_t)],
    ),
    ("tonecore_playback_seek", status_t, [PLAYBACK_P, c_double]),
    ("tonecore_playback_get_stats", status_t, [PLAYBACK_P, POINTER(PlaybackStats)]),
    ("tonecore_playback_get_normalization", status_t,
     [PLAYBACK_P, POINTER(NormalizeReport), POINTER(c_int32)]),
    ("tonecore_status_str", c_char_p, [c_int32]),
    ("tonecore_stft_config_init", status_t, [POINTER(StftConfig)]),
    ("tonecore_stft_new", status_t, [POINTER(StftConfig), POINTER(STFT_P)]),
    ("tonecore_stft_free", None, [STFT_P]),
    ("tonecore_stft_bins", status_t, [STFT_P, POINTER(c_size_t)]),
    ("tonecore_stft_frame_count", status_t, [STFT_P, c_size_t, POINTER(c_size_t)]),
    ("tonecore_stft_signal_len", status_t, [STFT_P, c_size_t, POINTER(c_size_t)]),
    (
        "tonecore_stft_forward_f32",
        status_t,
        [STFT_P, POINTER(c_float), c_size_t, c_size_t, POINTER(ComplexF32), c_size_t,
         POINTER(c_size_t)],
    ),
    (
        "tonecore_stft_forward_f64",
        status_t,
        [STFT_P, POINTER(c_double), c_size_t, c_size_t, POINTER(ComplexF64), c_size_t,
         POINTER(c_size_t)],
    ),
    (
        "tonecore_stft_inverse_f32",
        status_t,
        [STFT_P, POINTER(ComplexF32), c_size_t, c_size_t, POINTER(c_float), c_size_t,
         POINTER(c_size_t)],
    ),
    (
        "tonecore_stft_inverse_f64",
        status_t,
        [STFT_P, POINTER(ComplexF64), c_size_t, c_size_t, POINTER(c_double), c_size_t,
         POINTER(c_size_t)],
    ),
    ("tonecore_abi_version", c_uint32, []),
    ("tonecore_version_string", c_char_p, []),
    ("tonecore_debug_panic", status_t, []),
    ("tonecore_window_fill_f32", status_t, [c_int32, POINTER(c_float), c_size_t]),
    ("tonecore_window_fill_f64", status_t, [c_int32, POINTER(c_double), c_size_t]),
]

# -- engine (tonecore_engine_*) -------------------------------------------------------------
# The shared engine of include/tonecore.h: keyed streams by 64-bit id, jobs, events, stats.

STATUS_BUSY = 103
STATUS_STALE_ID = 104
STATUS_ALREADY_RUNNING = 105
STATUS_TIMEOUT = 106
STATUS_NOT_FINISHED = 107

# tonecore_job_state values.
JOB_STATE_RUNNING = 0
JOB_STATE_DONE = 1
JOB_STATE_CANCELLED = 2
JOB_STATE_FAILED = 3

# tonecore_event_kind values (also the bits of a subscription mask).
EVENT_KIND_STREAM_OPENED = 1
EVENT_KIND_STREAM_CLOSED = 2
EVENT_KIND_JOB_PROGRESS = 4
EVENT_KIND_JOB_FINISHED = 8
#: ``TONECORE_EVENTS_ALL``.
EVENTS_ALL = 15


class EngineConfig(Structure):
    """``tonecore_engine_config``; fill it with ``tonecore_engine_config_init``."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("max_streams", c_uint32),
        ("worker_threads", c_uint32),
        ("cache_bytes", c_uint64),
        ("max_jobs", c_uint32),
    ]


class EngineHandle(Structure):
    """The opaque ``tonecore_engine``; only pointers to it are used."""


ENGINE_P = POINTER(EngineHandle)


class JobProgress(Structure):
    """``tonecore_job_progress``."""

    _fields_ = [
        ("done", c_uint64),
        ("total", c_uint64),
        ("state", c_int32),
        ("status", c_int32),
    ]


class Event(Structure):
    """``tonecore_event`` (valid only during the callback)."""

    _fields_ = [
        ("seq", c_uint64),
        ("kind", c_uint32),
        ("replaced", c_uint32),
        ("id", c_uint64),
        ("key", c_uint64),
        ("done", c_uint64),
        ("total", c_uint64),
        ("job_state", c_int32),
        ("job_status", c_int32),
    ]


#: ``tonecore_event_fn``: ``int32_t (*)(void *user_data, const tonecore_event *event)``;
#: a non-zero return is counted in ``callback_errors``. ``EVENT_FN()`` is the NULL callback.
EVENT_FN = ctypes.CFUNCTYPE(c_int32, c_void_p, POINTER(Event))


class EngineStats(Structure):
    """``tonecore_engine_stats``; set ``struct_size = sizeof`` before the call."""

    _fields_ = [("struct_size", c_size_t)] + [
        (name, c_uint64)
        for name in (
            "max_streams", "streams_open", "streams_peak", "streams_opened",
            "streams_replaced", "streams_closed", "busy_refusals", "underrun_frames",
            "jobs_submitted", "jobs_running", "jobs_done", "jobs_cancelled", "jobs_failed",
            "jobs_held", "frames_rendered", "chunks_rendered", "cache_hits", "cache_misses",
            "cache_evictions", "cache_entries", "cache_bytes", "cache_capacity",
            "subscriptions", "events_emitted", "callbacks_invoked", "callback_errors",
        )
    ]


_SIGNATURES += [
    ("tonecore_engine_config_init", status_t, [POINTER(EngineConfig)]),
    ("tonecore_engine_new", status_t, [POINTER(EngineConfig), POINTER(ENGINE_P)]),
    ("tonecore_engine_free", None, [ENGINE_P]),
    (
        "tonecore_engine_open_stream_f32",
        status_t,
        [ENGINE_P, c_uint64, POINTER(PipelineConfig), POINTER(RenderConfig), POINTER(c_float),
         c_size_t, c_uint64, c_double, POINTER(c_uint64)],
    ),
    (
        "tonecore_engine_open_stream_f64",
        status_t,
        [ENGINE_P, c_uint64, POINTER(PipelineConfig), POINTER(RenderConfig), POINTER(c_double),
         c_size_t, c_uint64, c_double, POINTER(c_uint64)],
    ),
    (
        "tonecore_engine_stream_read_f32",
        status_t,
        [ENGINE_P, c_uint64, POINTER(c_float), c_size_t, POINTER(c_size_t)],
    ),
    (
        "tonecore_engine_stream_read_f64",
        status_t,
        [ENGINE_P, c_uint64, POINTER(c_double), c_size_t, POINTER(c_size_t)],
    ),
    ("tonecore_engine_stream_seek", status_t, [ENGINE_P, c_uint64, c_double]),
    ("tonecore_engine_stream_set_paused", status_t, [ENGINE_P, c_uint64, c_int32]),
    (
        "tonecore_engine_stream_get_stats",
        status_t,
        [ENGINE_P, c_uint64, POINTER(PlaybackStats), POINTER(c_int32)],
    ),
    (
        "tonecore_engine_stream_get_normalization",
        status_t,
        [ENGINE_P, c_uint64, POINTER(NormalizeReport), POINTER(c_int32)],
    ),
    ("tonecore_engine_stream_close", status_t, [ENGINE_P, c_uint64]),
    ("tonecore_engine_stream_for_key", status_t, [ENGINE_P, c_uint64, POINTER(c_uint64)]),
    (
        "tonecore_engine_submit_render_f32",
        status_t,
        [ENGINE_P, POINTER(PipelineConfig), POINTER(RenderConfig), POINTER(c_float), c_size_t,
         c_uint64, c_uint64, POINTER(c_uint64)],
    ),
    (
        "tonecore_engine_submit_render_f64",
        status_t,
        [ENGINE_P, POINTER(PipelineConfig), POINTER(RenderConfig), POINTER(c_double), c_size_t,
         c_uint64, c_uint64, POINTER(c_uint64)],
    ),
    ("tonecore_engine_job_progress", status_t, [ENGINE_P, c_uint64, POINTER(JobProgress)]),
    ("tonecore_engine_job_cancel", status_t, [ENGINE_P, c_uint64]),
    (
        "tonecore_engine_job_wait",
        status_t,
        [ENGINE_P, c_uint64, c_double, POINTER(JobProgress)],
    ),
    (
        "tonecore_engine_job_take_result_f32",
        status_t,
        [ENGINE_P, c_uint64, POINTER(c_float), c_size_t],
    ),
    (
        "tonecore_engine_job_take_result_f64",
        status_t,
        [ENGINE_P, c_uint64, POINTER(c_double), c_size_t],
    ),
    ("tonecore_engine_job_release", status_t, [ENGINE_P, c_uint64]),
    (
        "tonecore_engine_subscribe",
        status_t,
        [ENGINE_P, c_uint32, EVENT_FN, c_void_p, POINTER(c_uint64)],
    ),
    ("tonecore_engine_unsubscribe", status_t, [ENGINE_P, c_uint64]),
    ("tonecore_engine_flush_events", status_t, [ENGINE_P]),
    ("tonecore_engine_get_stats", status_t, [ENGINE_P, POINTER(EngineStats)]),
    ("tonecore_engine_clear_cache", status_t, [ENGINE_P]),
]
# -- end of the engine block ----------------------------------------------------------------

# --- tonecore.compat.auralis: the tonecore_auralis_* functions ---------------------------------
# (kept as one block so the compatibility layer's declarations stay together)


class AuralisEqConfig(Structure):
    """``tonecore_auralis_eq_config``; fill it with ``tonecore_auralis_eq_config_init`` (which
    writes the whole struct: every field of the header must be here)."""

    _fields_ = [
        ("struct_size", c_size_t),
        ("sample_rate", c_uint32),
        ("threads", c_uint32),
        ("fft_size", c_size_t),
        ("adaptation_speed", c_double),
        ("first_edge_hz", c_double),
        ("analysis", c_uint32),
        ("has_profile", c_uint32),
        ("profile_genre", c_uint32),
        ("profile_energy_level", c_uint32),
        ("profile_spectral_centroid", c_double),
    ]


class AuralisSmoother(Structure):
    """``tonecore_auralis_smoother``: the host's gain smoother state (plain data)."""

    _fields_ = [
        ("attack_alpha", c_double),
        ("release_alpha", c_double),
        ("current_gain", c_double),
        ("target_gain", c_double),
    ]


class AuralisLevelMatcher(Structure):
    """``tonecore_auralis_level_matcher``: the host's level matcher state (plain data)."""

    _fields_ = [
        ("enabled", c_uint32),
        ("has_reference", c_uint32),
        ("reference_rms", c_double),
        ("target_rms_alpha", c_double),
        ("current_target_rms", c_double),
        ("peak", c_double),
        ("smoother", AuralisSmoother),
    ]


def _auralis_signatures() -> List[Tuple[str, Any, Any]]:
    # Buffers are passed as addresses (c_void_p): the compat module converts numpy arrays to
    # addresses several times faster than to typed ctypes pointers, which matters for the
    # per-frame calls it makes. Structs and out-parameters stay typed.
    sigs = [
        (
            "tonecore_auralis_gain_curve",
            status_t,
            [c_void_p, c_size_t, c_void_p, c_size_t, c_void_p,
             c_size_t],
        ),
        ("tonecore_auralis_eq_config_init", status_t, [POINTER(AuralisEqConfig)]),
        (
            "tonecore_auralis_frame_count",
            status_t,
            [c_size_t, c_size_t, c_size_t, POINTER(c_size_t)],
        ),
        (
            "tonecore_auralis_smoother_init",
            status_t,
            [c_double, c_double, POINTER(AuralisSmoother)],
        ),
        ("tonecore_auralis_smoother_set_target", status_t, [POINTER(AuralisSmoother), c_double]),
        (
            "tonecore_auralis_smoother_process",
            status_t,
            [POINTER(AuralisSmoother), c_void_p, c_size_t],
        ),
        ("tonecore_auralis_level_matcher_init", status_t, [POINTER(AuralisLevelMatcher)]),
    ]
    for suffix, ct in (("f32", c_float), ("f64", c_double)):
        sigs += [
            (
                f"tonecore_auralis_apply_eq_frame_{suffix}",
                status_t,
                [c_void_p, c_size_t, c_size_t, c_void_p, c_size_t, c_void_p,
                 c_size_t, c_size_t, c_void_p, c_size_t],
            ),
            (
                f"tonecore_auralis_eq_process_{suffix}",
                status_t,
                [POINTER(AuralisEqConfig), c_void_p, c_size_t, c_size_t, c_void_p,
                 c_size_t, c_void_p, c_size_t, c_void_p, c_size_t, c_void_p,
                 c_size_t],
            ),
            (
                f"tonecore_auralis_windowed_fft_{suffix}",
                status_t,
                [c_void_p, c_size_t, c_size_t, c_size_t, c_void_p, c_size_t, c_uint32,
                 c_void_p, c_size_t, POINTER(c_size_t)],
            ),
            (
                f"tonecore_auralis_stft_{suffix}",
                status_t,
                [c_void_p, c_size_t, c_size_t, c_size_t, c_void_p, c_size_t, c_uint32,
                 c_void_p, c_size_t, POINTER(c_size_t)],
            ),
            (
                f"tonecore_auralis_crossfade_concat_{suffix}",
                status_t,
                [c_void_p, c_size_t, c_void_p, c_size_t, c_size_t, c_size_t, c_void_p,
                 c_size_t, POINTER(c_size_t)],
            ),
            (
                f"tonecore_auralis_seam_{suffix}",
                status_t,
                [c_void_p, c_size_t, c_void_p, c_size_t, c_size_t, c_size_t, c_void_p,
                 c_size_t, POINTER(c_size_t)],
            ),
            (
                f"tonecore_auralis_level_matcher_set_reference_{suffix}",
                status_t,
                [POINTER(AuralisLevelMatcher), c_void_p, c_size_t],
            ),
            (
                f"tonecore_auralis_level_matcher_process_{suffix}",
                status_t,
                [POINTER(AuralisLevelMatcher), c_void_p, c_size_t, c_size_t, c_void_p,
                 c_size_t, POINTER(c_uint32)],
            ),
            (
                f"tonecore_auralis_safety_limit_{suffix}",
                status_t,
                [c_void_p, c_size_t, c_double, c_void_p, c_size_t],
            ),
        ]
    return sigs


_SIGNATURES += _auralis_signatures()

# --- end of the tonecore.compat.auralis block ---------------------------------------------------

#: Names of every function declared above (the header's full function list).
FUNCTIONS = tuple(name for name, _, _ in _SIGNATURES)


def _bundled_library_name() -> str:
    if sys.platform == "darwin":
        return "libtonecore.dylib"
    if sys.platform == "win32":
        return "tonecore.dll"
    return "libtonecore.so"


def library_path() -> Path:
    """The library file to load: ``$TONECORE_LIBRARY`` if set, else the bundled one."""
    override = os.environ.get(LIBRARY_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parent / _bundled_library_name()


def check_abi(found: int, expected: int = ABI_VERSION, path: Optional[Path] = None) -> None:
    """Raise ImportError unless the library's ABI version ``found`` equals ``expected``."""
    if found != expected:
        where = f" ({path})" if path is not None else ""
        raise ImportError(
            f"tonecore: the native library{where} has C ABI version {found}, but this Python "
            f"package needs ABI version {expected}; reinstall the package or point "
            f"{LIBRARY_ENV} at a matching build"
        )


def _load() -> ctypes.CDLL:
    path = library_path()
    if not path.is_file():
        origin = f"${LIBRARY_ENV}" if os.environ.get(LIBRARY_ENV) else "the bundled library"
        raise ImportError(
            f"tonecore: native library not found: {path} ({origin}); install the package with "
            f"`pip install ./bindings/python` or set {LIBRARY_ENV} to a built libtonecore"
        )
    try:
        # CDLL (not PyDLL) releases the GIL during every call.
        lib = ctypes.CDLL(str(path))
    except OSError as e:
        raise ImportError(f"tonecore: cannot load native library {path}: {e}") from e
    for name, restype, argtypes in _SIGNATURES:
        try:
            fn = getattr(lib, name)
        except AttributeError as e:
            raise ImportError(
                f"tonecore: native library {path} lacks the symbol {name}; it does not match "
                f"this package"
            ) from e
        fn.restype = restype
        fn.argtypes = argtypes
    check_abi(int(lib.tonecore_abi_version()), ABI_VERSION, path)
    return lib


#: Where the loaded library came from.
LIBRARY_PATH: Path = library_path()

#: The loaded library with every function declared.
lib: ctypes.CDLL = _load()


def status_str(status: int) -> str:
    """The library's static description of a status number ("unknown status" if unknown)."""
    status = int(status)
    if not -(2**31) <= status < 2**31:
        return "unknown status"
    raw: bytes = lib.tonecore_status_str(status)
    return raw.decode("utf-8", "replace")


def last_error_message() -> str:
    """The detail of the last failed call on this thread ("" after a success)."""
    raw: Optional[bytes] = lib.tonecore_last_error_message()
    return raw.decode("utf-8", "replace") if raw else ""


def raise_for_status(status: int, what: str, audio_path: bool = False) -> None:
    """Raise the exception for a non-zero ``status`` returned by the call ``what``.

    Must be called right after the native call, on the same thread, so that the detail message
    still belongs to that call. ``audio_path=True`` for the audio-safe functions
    (``tonecore_equalizer_process_*``, ``_reset``, ``_nonfinite_count``, ...): they never set
    the thread-local detail message (nor clear it, so it may still hold an older call's
    message), and the static status description is used instead.
    """
    detail = "" if audio_path else last_error_message()
    detail = detail or status_str(status)
    cls = error_for_status(status)
    raise cls(f"{what} failed: {detail} (status {status}: {status_str(status)})", status, detail)


def check(status: int, what: str, audio_path: bool = False) -> None:
    """Return if ``status`` is ``TONECORE_STATUS_OK``, else raise (see :func:`raise_for_status`)."""
    if status != STATUS_OK:
        raise_for_status(status, what, audio_path)


# Zero-length buffers still need a non-NULL, aligned pointer (NULL is never a valid buffer).
_EMPTY = (c_double * 2)()
EMPTY_ADDRESS: int = ctypes.addressof(_EMPTY)

_char_from_buffer = ctypes.c_char.from_buffer
_addressof = ctypes.addressof


def address(array: "np.ndarray[Any, Any]") -> int:
    """The address of an array's first element, as an int; never 0 (an empty array gets a
    valid dummy address: the library refuses NULL even for length 0).

    For the functions bound with :func:`function` (``c_void_p`` buffers). A writeable array's
    address comes from ctypes' buffer protocol (several times cheaper than
    ``array.ctypes.data`` or ``__array_interface__``); a read-only one's from
    ``__array_interface__``. The caller keeps ``array`` alive during the native call.
    """
    if not array.size:
        return EMPTY_ADDRESS
    if array.flags.writeable:
        try:
            return _addressof(_char_from_buffer(array))  # type: ignore[arg-type]
        except (TypeError, ValueError, BufferError):  # e.g. not C-contiguous
            pass
    return int(array.__array_interface__["data"][0])


def pointer_to(array: "np.ndarray[Any, Any]", ctype: Any) -> Any:
    """A ``POINTER(ctype)`` to the first element of a numpy array, without copying, for the
    functions of :data:`lib` (typed pointer parameters).

    Empty arrays get a valid dummy address (the library refuses NULL even for length 0).
    """
    return ctypes.cast(c_void_p(address(array)), POINTER(ctype))


_FUNCTIONS: Dict[Tuple[Any, ...], Any] = {}


def function(name: str, *argtypes: Any) -> Any:
    """``name`` from :data:`lib` as a C function pointer returning ``tonecore_status``, with
    ``argtypes`` as given (``c_void_p`` for buffers and handles: calls then take plain int
    addresses, see :func:`address`). For per-block calls, bound once and reused: ctypes'
    conversion of typed pointers (``ctypes.cast``, ``ndarray.ctypes``) costs microseconds per
    call, an int address next to nothing. The GIL is released during the call (as for
    :data:`lib`). Only for functions whose C parameters are pointers where ``c_void_p`` is
    given: the C ABI passes every data pointer the same way."""
    key = (name,) + argtypes
    fn = _FUNCTIONS.get(key)
    if fn is None:
        if name not in FUNCTIONS:
            raise AttributeError(f"tonecore: {name} is not a function of the C ABI")
        fn = _FUNCTIONS[key] = ctypes.CFUNCTYPE(status_t, *argtypes)((name, lib))
    return fn


def sample_ctype(dtype: "np.dtype[Any]") -> Any:
    """The ctypes type of a float32 (``c_float``) or float64 (``c_double``) sample dtype."""
    return c_float if dtype.itemsize == 4 else c_double


#: Each ``tonecore_*_config`` mirror and its ``*_config_init``.
_CONFIG_INITS = {
    StftConfig: "tonecore_stft_config_init",
    EqualizerConfig: "tonecore_equalizer_config_init",
    EqualizeConfig: "tonecore_equalize_config_init",
    PipelineConfig: "tonecore_pipeline_config_init",
    LimiterConfig: "tonecore_limiter_config_init",
    RenderConfig: "tonecore_render_config_init",
    EngineConfig: "tonecore_engine_config_init",
    AuralisEqConfig: "tonecore_auralis_eq_config_init",
    MatchConfig: "tonecore_match_config_init",
    LiveMatchConfig: "tonecore_live_match_config_init",
}


_S = TypeVar("_S", bound=Structure)


def config_init(struct_type: Type[_S]) -> _S:
    """A new ``struct_type`` (one of the ``*Config`` mirrors) filled by its
    ``tonecore_*_config_init``: the library's defaults, which the Python signatures and config
    classes take their defaults from instead of restating them."""
    name = _CONFIG_INITS[struct_type]
    config = struct_type()
    check(getattr(lib, name)(ctypes.byref(config)), name)
    return config
