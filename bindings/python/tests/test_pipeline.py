"""The EQ -> level matcher -> limiter Pipeline and its PipelineParams handle: transparency when
bypassed, the ceiling under adversarial input, level matching measured with pyloudnorm,
block-size invariance, statistics, parameter errors, lifetimes and threads. References are
numpy (delays, peaks) and pyloudnorm (loudness), never tonecore's own output."""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import math
import pickle
import threading
import time
import weakref

import numpy as np
import pyloudnorm
import pytest

import tonecore
from tonecore import _native

FS = 44100
EQ_LATENCY = 3072                      # fft_size 4096: 4096 - 2049 + 1 + 1024

def lookahead_frames(ms, sr):
    """The limiter lookahead in frames: ms * sr / 1000 rounded half away from zero."""
    return math.floor(ms * 1e-3 * sr + 0.5)


TRUE_PEAK_EXTRA = 32  # frames the true-peak detector reads ahead
LOOKAHEAD = lookahead_frames(1.5, FS) + TRUE_PEAK_EXTRA  # default 1.5 ms = 66 frames (66.15)


def pyln(x, sr=FS):
    """pyloudnorm's integrated loudness of a planar signal."""
    return pyloudnorm.Meter(sr).integrated_loudness(np.asarray(x, np.float64).T)


def run(p, x, block, interleaved=False):
    """Feed planar ``x`` (channels, frames) through ``p`` in blocks of ``block`` frames."""
    frames = x.shape[-1]
    y = np.empty_like(x)
    for pos in range(0, frames, block):
        k = min(block, frames - pos)
        if interleaved:
            b = np.ascontiguousarray(x[:, pos:pos + k].T)
            y[:, pos:pos + k] = p.process(b, interleaved=True).T
        else:
            y[:, pos:pos + k] = p.process(np.ascontiguousarray(x[:, pos:pos + k]))
    return y


def square(n, period, amplitude=1.0):
    return np.where((np.arange(n) // (period // 2)) % 2 == 0, amplitude, -amplitude)


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(11).uniform(-1.0, 1.0, (2, 3 * FS))


# --- configuration -----------------------------------------------------------------------


def test_public_names():
    for name in ("loudness", "LoudnessMeter", "Pipeline", "PipelineConfig", "PipelineParams",
                 "LevelConfig", "LimiterConfig", "STAGES"):
        assert name in tonecore.__all__ and hasattr(tonecore, name)
    for name in tonecore.__all__:
        assert hasattr(tonecore, name), name
    for cls in (tonecore.LoudnessMeter, tonecore.Pipeline, tonecore.PipelineParams,
                tonecore.PipelineConfig, tonecore.LevelConfig, tonecore.LimiterConfig):
        assert cls.__module__ == "tonecore" and cls.__doc__


def test_config_normalisation():
    cfg = tonecore.PipelineConfig()
    assert (cfg.eq_gains, cfg.layout, cfg.level, cfg.limiter) == (None, None, None, None)
    assert (cfg.mode, cfg.fft_size, cfg.ramp_ms, cfg.bands) == ("smooth", 4096, 20.0, 25)
    cfg = tonecore.PipelineConfig(eq_gains=np.arange(10), layout="octave",
                                  level={"target_lufs": -16}, limiter=-2, ramp_ms=5)
    assert cfg.eq_gains == tuple(float(i) for i in range(10))
    assert cfg.layout == tonecore.BandLayout.octave() and cfg.bands == 10
    assert cfg.level == tonecore.LevelConfig(target_lufs=-16.0)
    assert cfg.limiter == tonecore.LimiterConfig(ceiling_db=-2.0)
    assert type(cfg.limiter.ceiling_db) is float and type(cfg.ramp_ms) is float
    assert tonecore.PipelineConfig(limiter={"release_ms": 50}).limiter == tonecore.LimiterConfig(
        release_ms=50.0)
    # immutable, comparable, hashable
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.ramp_ms = 1.0
    assert cfg == tonecore.PipelineConfig(eq_gains=list(range(10)), layout="octave",
                                          level=tonecore.LevelConfig(-16.0),
                                          limiter=tonecore.LimiterConfig(-2.0), ramp_ms=5.0)
    assert hash(cfg) == hash(dataclasses.replace(cfg))
    assert "LimiterConfig(ceiling_db=-2.0" in repr(cfg)


def test_config_type_errors(no_native_calls):
    with no_native_calls():
        for kwargs, exc in [
            (dict(limiter=True), TypeError),
            (dict(limiter="-1"), TypeError),
            (dict(level=-14.0), TypeError),
            (dict(level={"target": -14.0}), TypeError),            # unknown field
            (dict(eq_gains=np.zeros((5, 5))), ValueError),
            (dict(eq_gains=["a"] * 25), TypeError),
            (dict(mode="linear"), ValueError),
            (dict(fft_size=-1), ValueError),
            (dict(ramp_ms="slow"), TypeError),
        ]:
            with pytest.raises(exc):
                tonecore.PipelineConfig(**kwargs)
        with pytest.raises(TypeError):
            tonecore.LevelConfig(attack_ms=None)
        with pytest.raises(TypeError):
            tonecore.LimiterConfig(ceiling_db="0")


def test_python_defaults_equal_the_library_defaults():
    c = _native.PipelineConfig()
    assert _native.lib.tonecore_pipeline_config_init(ctypes.byref(c)) == 0
    assert c.struct_size == ctypes.sizeof(_native.PipelineConfig)
    level, limiter = tonecore.LevelConfig(), tonecore.LimiterConfig()
    assert (c.target_lufs, tonecore.LEVEL_MODES[c.level_mode], c.track_gain_db, c.attack_ms,
            c.release_ms, c.max_boost_db, c.max_cut_db, c.gate_lufs,
            c.window_ms) == dataclasses.astuple(level)
    assert (c.ceiling_db, c.lookahead_ms, c.limiter_release_ms,
            bool(c.limiter_true_peak)) == dataclasses.astuple(limiter)
    cfg = tonecore.PipelineConfig()
    assert (c.fft_size, c.ramp_ms, c.mode) == (cfg.fft_size, cfg.ramp_ms, 0)
    assert (c.eq_enabled, c.level_enabled, c.limiter_enabled) == (0, 0, 0)
    # the stats struct: a too small struct_size is refused
    with tonecore.Pipeline(FS, 2) as p:
        s = _native.PipelineStats()
        s.struct_size = ctypes.sizeof(_native.PipelineStats) - 8
        assert _native.lib.tonecore_params_stats(p.params._handle.acquire(), ctypes.byref(s)) \
            == _native.STATUS_STRUCT_SIZE
        p.params._handle.release()


@pytest.mark.parametrize(
    "kwargs, status",
    [
        (dict(sample_rate=0), 13),
        (dict(channels=0), 14),
        (dict(channels=65), 14),
        (dict(max_block=0), 2),
        (dict(config=dict(fft_size=4097)), 7),
        (dict(config=dict(ramp_ms=-1.0)), 2),
        (dict(config=dict(eq_gains=np.zeros(24))), 17),
        (dict(config=dict(eq_gains=[0.0] * 24 + [np.nan])), 5),
        (dict(config=dict(layout=[100.0, 50.0], eq_gains=[0.0])), 16),
        (dict(config=dict(level=tonecore.LevelConfig(attack_ms=0.0))), 19),
        (dict(config=dict(level=tonecore.LevelConfig(release_ms=-5.0))), 19),
        (dict(config=dict(level=tonecore.LevelConfig(window_ms=20.0))), 19),
        (dict(config=dict(level=tonecore.LevelConfig(target_lufs=np.nan))), 20),
        (dict(config=dict(level=tonecore.LevelConfig(target_lufs=1.0))), 20),
        (dict(config=dict(level=tonecore.LevelConfig(max_boost_db=50.0))), 20),
        (dict(config=dict(limiter=0.1)), 18),
        (dict(config=dict(limiter=-61.0)), 18),
        (dict(config=dict(limiter=tonecore.LimiterConfig(lookahead_ms=0.0))), 19),
        (dict(config=dict(limiter=tonecore.LimiterConfig(release_ms=20000.0))), 19),
    ],
)
def test_bad_construction_arguments(kwargs, status):
    args = dict(sample_rate=FS, channels=2)
    args.update(kwargs)
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.Pipeline(**args)
    assert info.value.status == status, info.value


def test_bad_construction_types_before_native_calls(no_native_calls):
    with no_native_calls():
        for kwargs, exc in [
            (dict(dtype=np.int16), TypeError),
            (dict(sample_rate=-1), ValueError),
            (dict(sample_rate=44100.5), ValueError),
            (dict(channels=2.0), TypeError),
            (dict(max_block=-5), ValueError),
            (dict(config=5), TypeError),
        ]:
            args = dict(sample_rate=FS, channels=2)
            args.update(kwargs)
            with pytest.raises(exc):
                tonecore.Pipeline(**args)


def test_properties():
    cfg = tonecore.PipelineConfig(eq_gains=np.zeros(10), layout="octave", limiter=-3.0)
    with tonecore.Pipeline(48000.0, 1, cfg, max_block=512, dtype=np.float64) as p:
        assert p.latency == EQ_LATENCY + lookahead_frames(1.5, 48000) + TRUE_PEAK_EXTRA
        assert (p.sample_rate, p.channels, p.max_block, p.bands) == (48000, 1, 512, 10)
        assert p.dtype == np.float64 and p.config is cfg
        assert p.params is p.params and p.params.bands == 10
        assert p.params.sample_rate == 48000 and p.params.dtype == np.float64
        assert "Pipeline(sample_rate=48000, channels=1" in repr(p)
        assert "PipelineParams" in repr(p.params)
    with tonecore.Pipeline(FS, 2, {"limiter": tonecore.LimiterConfig(lookahead_ms=10.0)}) as p:
        assert p.latency == EQ_LATENCY + lookahead_frames(10.0, FS) + TRUE_PEAK_EXTRA
    assert tonecore.STAGES == ("eq", "level", "limiter")


# --- numerics ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_all_disabled_is_a_pure_delay(noise, dtype, tol):
    x = noise[:, :50_000].astype(dtype)
    with tonecore.Pipeline(FS, 2, max_block=1000, dtype=dtype) as p:
        lat = p.latency
        assert lat == EQ_LATENCY + LOOKAHEAD == 3170
        y = run(p, x, 1000)
        st = p.params.stats()
    assert y.dtype == dtype
    assert np.max(np.abs(y[:, :lat])) <= tol
    assert np.max(np.abs(y[:, lat:] - x[:, :-lat])) <= tol
    assert st["eq_bypassed"] and st["level_bypassed"] and st["limiter_bypassed"]
    assert st["level_gain_db"] == 0.0 and st["frames"] == 50_000


def adversarial_signals(n):
    rng = np.random.default_rng(5)
    spikes = np.zeros(n)
    spikes[::997] = 1.0
    spikes[1::1994] = -1.0
    return {
        "square100": square(n, 100),
        "square2": square(n, 2),          # Nyquist
        "spikes": spikes,                 # single-sample full-scale spikes
        "noise": rng.uniform(-1.0, 1.0, n),
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize("ceiling_db", [-1.0, -6.0])
def test_nothing_exceeds_the_ceiling(dtype, interleaved, ceiling_db):
    # +24 dB on every band and a level matcher asking for 0 LUFS in front of the limiter
    cfg = tonecore.PipelineConfig(eq_gains=np.full(25, 24.0), level=tonecore.LevelConfig(0.0),
                                  limiter=ceiling_db)
    ceiling = 10 ** (ceiling_db / 20)
    n = FS
    for name, sig in adversarial_signals(n).items():
        x = np.stack([sig, -sig]).astype(dtype)
        with tonecore.Pipeline(FS, 2, cfg, max_block=512, dtype=dtype) as p:
            y = run(p, x, 512, interleaved=interleaved)
            st = p.params.stats()
        assert np.all(np.isfinite(y))
        peak = float(np.max(np.abs(y)))
        assert peak <= ceiling, (name, peak, ceiling)
        assert peak > 0.5 * ceiling, (name, peak)      # it is limited, not silenced
        assert st["limiter_max_reduction_db"] < -1.0, (name, st)
        assert st["limiter_gain_db"] <= 0.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ceiling_just_below_full_scale(dtype):
    # -0.1 dBFS: the float32 value nearest the ceiling lies above it (by 1.2e-8)
    ceiling = 10 ** (-0.1 / 20)
    cfg = tonecore.PipelineConfig(eq_gains=np.full(25, 24.0), level=tonecore.LevelConfig(0.0),
                                  limiter=tonecore.LimiterConfig(-0.1, true_peak=False))
    sig = square(FS // 2, 100)
    with tonecore.Pipeline(FS, 2, cfg, max_block=512, dtype=dtype) as p:
        y = run(p, np.stack([sig, -sig]).astype(dtype), 512)
    assert float(np.float32(ceiling)) > ceiling    # so a round-to-nearest clamp would exceed it
    peak = float(np.max(np.abs(y)))
    assert ceiling - 1e-6 < peak <= ceiling, peak


def test_ceiling_changes_apply(noise):
    cfg = tonecore.PipelineConfig(limiter=tonecore.LimiterConfig(-1.0, true_peak=False))
    x = noise * 2.0
    with tonecore.Pipeline(FS, 2, cfg, max_block=1024, dtype=np.float64) as p:
        p.params.set_ceiling_db(-12.0)
        y = run(p, x, 1024)
    assert np.max(np.abs(y)) <= 10 ** (-12 / 20)
    assert np.max(np.abs(y)) > 10 ** (-13 / 20)


def stepped_noise(levels_db, seconds, seed):
    """Stereo uniform noise at 0.5 full scale, its level changing every ``seconds``."""
    seg = int(seconds * FS)
    x = 0.5 * np.random.default_rng(seed).uniform(-1.0, 1.0, (2, seg * len(levels_db)))
    gain = np.repeat(10 ** (np.asarray(levels_db) / 20), seg)
    return x * gain


@pytest.fixture(scope="module")
def level_runs():
    """20 s of noise at -24 then -10 dB (change at 10 s) through a level matcher targeting
    -18 LUFS, in four block sizes (float64)."""
    x = stepped_noise([-24.0, -10.0], 10.0, seed=3)
    cfg = tonecore.PipelineConfig(
        level=tonecore.LevelConfig(target_lufs=-18.0, attack_ms=200.0, release_ms=1000.0,
                                   mode="momentary"))
    outputs = {}
    for block in (64, 256, 1024, 4410):
        with tonecore.Pipeline(FS, 2, cfg, max_block=4410, dtype=np.float64) as p:
            outputs[block] = (run(p, x, block), p.latency, p.params.stats())
    return x, outputs


def test_level_matcher_reaches_the_target(level_runs):
    x, outputs = level_runs
    y, lat, st = outputs[1024]
    seg = 10 * FS
    # the input really sits far from the target in both segments
    assert pyln(x[:, :seg]) < -25 and pyln(x[:, seg:]) > -15
    for k in range(2):
        # the settled part: the last 3.5 s before the segment ends (less 0.5 s), in output time
        a = (k + 1) * seg - 4 * FS + lat
        b = (k + 1) * seg - FS // 2 + lat
        lufs = pyln(y[:, a:b])
        assert abs(lufs + 18.0) <= 0.5, (k, lufs)
    assert st["frames"] == x.shape[-1] and not st["level_bypassed"]
    # the last gain: roughly target minus the input loudness of the second segment
    assert abs(st["level_gain_db"] - (-18.0 - pyln(x[:, seg:]))) <= 1.0, st


def test_block_size_invariance(level_runs):
    _, outputs = level_runs
    ref = outputs[64][0]
    for block in (256, 1024, 4410):
        assert np.max(np.abs(outputs[block][0] - ref)) <= 1e-5, block


def test_block_size_invariance_all_stages_float32_and_interleaved(noise):
    gains = 2.0 * ((np.arange(25) % 5) - 2.0)
    cfg = tonecore.PipelineConfig(eq_gains=gains, level=tonecore.LevelConfig(-12.0),
                                  limiter=-3.0)
    x = (noise * np.linspace(0.05, 1.0, noise.shape[-1])).astype(np.float32)
    outs = []
    for block, interleaved in [(64, False), (1000, True), (4096, False), (777, True)]:
        with tonecore.Pipeline(FS, 2, cfg, dtype=np.float32) as p:
            outs.append(run(p, x, block, interleaved))
    for o in outs[1:]:
        assert np.max(np.abs(o - outs[0])) <= 1e-5


def test_mono_accepts_1d_input_and_interleaved_mono():
    x = np.random.default_rng(2).uniform(-1, 1, 20_000)
    with tonecore.Pipeline(FS, 1, dtype=np.float64) as p:
        y = np.concatenate([p.process(x[i:i + 1000]) for i in range(0, x.size, 1000)])
        lat = p.latency
    assert np.max(np.abs(y[lat:] - x[:-lat])) <= 1e-12
    with tonecore.Pipeline(FS, 1, dtype=np.float64) as p:
        y2 = np.concatenate([p.process(x[i:i + 1000], interleaved=True)
                             for i in range(0, x.size, 1000)])
    assert np.array_equal(y, y2)


def test_stats_invariants(noise):
    gains = np.linspace(-30, 30, 25)             # clamped to +-24 dB
    cfg = tonecore.PipelineConfig(eq_gains=gains, level=tonecore.LevelConfig(-20.0),
                                  limiter=-1.0)
    x = 0.25 * noise
    with tonecore.Pipeline(FS, 2, cfg, max_block=2048, dtype=np.float64) as p:
        params = p.params
        st0 = params.stats()
        assert st0["frames"] == 0 and st0["nonfinite"] == 0
        assert st0["limiter_max_reduction_db"] == 0.0
        total, last_frames, worst = 0, 0, 0.0
        for pos in range(0, x.shape[-1], 2048):
            block = np.ascontiguousarray(x[:, pos:pos + 2048])
            if pos == 4096:
                block[0, 5] = np.nan
                block[1, 7] = np.inf
            p.process(block)
            total += block.shape[-1]
            st = params.stats()
            assert st["frames"] == total and st["frames"] >= last_frames
            assert st["limiter_max_reduction_db"] <= min(worst, st["limiter_gain_db"]) + 1e-12
            worst = st["limiter_max_reduction_db"]
            last_frames = st["frames"]
        assert st["nonfinite"] == 2
        assert set(st) == {"frames", "nonfinite", "limiter_max_reduction_db", "limiter_gain_db",
                           "level_gain_db", "loudness_lufs", "eq_bypassed", "level_bypassed",
                           "limiter_bypassed", "eq_gains_db"}
        assert st["eq_gains_db"].dtype == np.float64
        assert np.array_equal(st["eq_gains_db"], np.clip(gains, -24, 24))
        assert not (st["eq_bypassed"] or st["level_bypassed"] or st["limiter_bypassed"])
        assert -24.0 - 1e-9 <= st["level_gain_db"] <= 12.0 + 1e-9   # max cut / max boost
        # bypass flags and gains as the audio side applies them
        params.set_bypass("eq", True)
        params.set_bypass("limiter", True)
        p.process(np.zeros((2, 2048)))
        st = params.stats()
        assert st["eq_bypassed"] and st["limiter_bypassed"] and not st["level_bypassed"]
        assert np.array_equal(st["eq_gains_db"], np.zeros(25))
        params.set_bypass("eq", False)
        p.process(np.zeros((2, 16)))
        assert np.array_equal(params.stats()["eq_gains_db"], np.clip(gains, -24, 24))


def test_loudness_estimate_matches_pyloudnorm_on_steady_noise():
    # flat EQ, level matcher on but with a target equal to the input: its momentary estimate
    # of a stationary signal equals the signal's loudness
    x = 0.2 * np.random.default_rng(9).standard_normal((2, 4 * FS))
    ref = pyln(x)
    cfg = tonecore.PipelineConfig(eq_gains=np.zeros(25), level=tonecore.LevelConfig(-20.0))
    with tonecore.Pipeline(FS, 2, cfg, dtype=np.float64) as p:
        run(p, x, 4096)
        est = p.params.stats()["loudness_lufs"]
    assert abs(est - ref) <= 0.5, (est, ref)


def test_stats_before_the_first_block_show_the_configured_bypass_flags():
    with tonecore.Pipeline(FS, 2, {"limiter": -1.0}) as p:
        st = p.params.stats()
        assert not st["limiter_bypassed"] and st["level_bypassed"]
        assert st["eq_bypassed"] and st["frames"] == 0
    with tonecore.Pipeline(FS, 2, {"eq_gains": np.ones(25), "level": {}}) as p:
        st = p.params.stats()
        assert not st["eq_bypassed"] and not st["level_bypassed"] and st["limiter_bypassed"]
        assert np.array_equal(st["eq_gains_db"], np.ones(25))


def test_reset_clears_the_signal_state(noise):
    x = noise[:, :20_000].copy()
    with tonecore.Pipeline(FS, 2, dtype=np.float64) as p:
        y1 = run(p, x, 4000)
        p.reset()
        y2 = run(p, x, 4000)
    assert np.array_equal(y1, y2)


# --- params ------------------------------------------------------------------------------


def test_set_level_target_from_a_reference_matches_pyloudnorm():
    t = np.arange(10 * FS) / FS
    tone = np.stack([0.1 * np.sin(2 * np.pi * 1000 * t), 0.05 * np.sin(2 * np.pi * 300 * t)])
    for dtype in (np.float64, np.float32):
        ref_sig = tone.astype(dtype)
        with tonecore.Pipeline(FS, 2, dtype=dtype) as p:
            got = p.params.set_level_target(reference=ref_sig)
            assert type(got) is float
            assert abs(got - pyln(ref_sig)) <= 0.1, (got, pyln(ref_sig))
            # mono reference: one front channel
            mono = np.ascontiguousarray(ref_sig[0])
            got = p.params.set_level_target(reference=mono)
            assert abs(got - pyln(mono[None])) <= 0.1
            assert p.params.set_level_target(-23) == -23.0
            assert p.params.set_level_target(lufs=-30.5) == -30.5


def test_level_target_change_takes_effect():
    x = 0.5 * np.random.default_rng(4).uniform(-1, 1, (2, 12 * FS)) * 10 ** (-20 / 20)
    cfg = tonecore.PipelineConfig(
        level=tonecore.LevelConfig(target_lufs=-30.0, attack_ms=200.0, release_ms=1000.0,
                                   mode="momentary"))
    with tonecore.Pipeline(FS, 2, cfg, dtype=np.float64) as p:
        y1 = run(p, x[:, :6 * FS], 4096)
        p.params.set_level_target(-16.0)
        y2 = run(p, x[:, 6 * FS:], 4096)
    assert abs(pyln(y1[:, 3 * FS:]) + 30.0) <= 0.5
    assert abs(pyln(y2[:, 3 * FS:]) + 16.0) <= 0.5


def test_params_bad_values():
    with tonecore.Pipeline(FS, 2) as p:
        params = p.params
        for value in (0.5, -61.0, np.nan, np.inf, -np.inf):
            with pytest.raises(tonecore.InvalidArgument) as info:
                params.set_ceiling_db(value)
            assert info.value.status == _native.STATUS_INVALID_CEILING == 18
            assert "ceiling" in info.value.detail
        for value in (1.0, -71.0, np.nan, np.inf):
            with pytest.raises(tonecore.InvalidArgument) as info:
                params.set_level_target(value)
            assert info.value.status == _native.STATUS_INVALID_TARGET == 20
        # a silent or too short reference has no loudness to match
        for ref in (np.zeros((2, FS), np.float32), np.full((2, FS // 10), 0.1, np.float32)):
            with pytest.raises(tonecore.InvalidArgument) as info:
                params.set_level_target(reference=ref)
            assert info.value.status == 20
        bad = np.full((2, FS), 0.1, np.float32)
        bad[1, 10] = np.nan
        with pytest.raises(tonecore.InvalidArgument) as info:
            params.set_level_target(reference=bad)
        assert info.value.status == 5
        with pytest.raises(tonecore.InvalidArgument) as info:
            params.set_level_target(reference=np.zeros((0, 100), np.float32))
        assert info.value.status == 14
        with pytest.raises(tonecore.InvalidArgument) as info:
            params.set_eq_gains(np.zeros(3))
        assert info.value.status == _native.STATUS_GAIN_COUNT == 17
        with pytest.raises(tonecore.InvalidArgument) as info:
            params.set_eq_gains([0.0] * 24 + [np.nan])
        assert info.value.status == 5
        # the gains stayed as they were
        p.process(np.zeros((2, 64), np.float32))
        assert np.array_equal(params.stats()["eq_gains_db"], np.zeros(25))


def test_params_argument_errors(no_native_calls):
    with tonecore.Pipeline(FS, 2) as p:
        params = p.params
        with no_native_calls():
            with pytest.raises(ValueError, match="unknown stage"):
                params.set_bypass("compressor", True)
            with pytest.raises(TypeError):
                params.set_bypass(1, True)
            with pytest.raises(TypeError, match="exactly one"):
                params.set_level_target()
            with pytest.raises(TypeError, match="exactly one"):
                params.set_level_target(-14.0, reference=np.zeros((2, FS), np.float32))
            with pytest.raises(TypeError, match="dtype"):
                params.set_level_target(reference=np.zeros((2, FS), np.float64))
            with pytest.raises(ValueError, match="dimensional"):
                params.set_level_target(reference=np.zeros((1, 2, FS), np.float32))
            with pytest.raises(TypeError):
                params.set_level_target("loud")
            with pytest.raises(TypeError):
                params.set_ceiling_db(None)
            with pytest.raises(ValueError):
                params.set_eq_gains(np.zeros((5, 5)))


def test_params_outlive_a_closed_pipeline(noise):
    p = tonecore.Pipeline(FS, 2, {"eq_gains": np.zeros(25)}, dtype=np.float64)
    params = p.params
    p.process(noise[:, :3000].copy())
    p.close()
    assert p.closed and not params.closed
    with pytest.raises(tonecore.ClosedError):
        p.process(noise[:, :100].copy())
    # setters still succeed (and affect nothing); stats keep the last snapshot
    params.set_eq_gains(np.full(25, 3.0))
    assert params.set_level_target(-20.0) == -20.0
    params.set_ceiling_db(-3.0)
    params.set_bypass("limiter", False)
    st = params.stats()
    assert st["frames"] == 3000 and np.array_equal(st["eq_gains_db"], np.zeros(25))
    tone = np.tile(0.1 * np.sin(np.arange(FS) * 0.1), (2, 1))
    assert abs(params.set_level_target(reference=tone) - pyln(tone)) <= 0.1
    # the pipeline object can be gone entirely
    del p
    gc.collect()
    assert params.stats()["frames"] == 3000
    params.close()
    assert params.closed
    with pytest.raises(tonecore.ClosedError) as info:
        params.stats()
    assert "PipelineParams" in str(info.value) and info.value.status is None
    params.close()  # idempotent


def test_pipeline_lifetime():
    p = tonecore.Pipeline(FS, 2)
    p.close()
    assert p.closed and "closed" in repr(p)
    for call in (lambda: p.process(np.zeros((2, 10), np.float32)), p.reset):
        with pytest.raises(tonecore.ClosedError) as info:
            call()
        assert "Pipeline" in str(info.value)
    with pytest.raises(tonecore.ClosedError):
        with p:
            pass
    p.close()
    assert p.latency == 3170  # plain configuration stays readable
    with pytest.raises(RuntimeError):
        with tonecore.Pipeline(FS, 1) as p:
            raise RuntimeError("boom")
    assert p.closed
    # finalizers free both native objects
    p = tonecore.Pipeline(FS, 1)
    fin, pfin = p._finalizer, p.params._finalizer
    ref, pref = weakref.ref(p), weakref.ref(p.params)
    del p
    gc.collect()
    assert ref() is None and pref() is None and not fin.alive and not pfin.alive
    with pytest.raises(TypeError):
        pickle.dumps(tonecore.Pipeline(FS, 1))
    with tonecore.Pipeline(FS, 1) as p:
        with pytest.raises(TypeError):
            pickle.dumps(p.params)
        with pytest.raises(TypeError):
            tonecore.PipelineParams()


# --- process validation ------------------------------------------------------------------


@pytest.fixture
def p2():
    with tonecore.Pipeline(FS, 2, max_block=1024) as p:
        yield p


def test_block_too_large_is_invalid_argument(p2, sentinel):
    x = np.zeros((2, 1025), np.float32)
    out = sentinel.array((2, 1025), np.float32)
    with pytest.raises(tonecore.InvalidArgument):
        p2.params.set_eq_gains(np.zeros(3))     # a detail message that must not leak
    with pytest.raises(tonecore.InvalidArgument) as info:
        p2.process(x, out=out)
    assert info.value.status == _native.STATUS_BLOCK_TOO_LARGE == 15
    assert info.value.detail == tonecore.status_str(15)
    assert sentinel.untouched(out)
    p2.process(np.zeros((2, 1024), np.float32), out=np.empty((2, 1024), np.float32))
    assert p2.params.stats()["frames"] == 1024


def test_shape_dtype_layout_errors_before_native_calls(p2, sentinel, no_native_calls):
    out = sentinel.array((2, 100), np.float32)
    good = np.zeros((2, 100), np.float32)
    with no_native_calls():
        with pytest.raises(ValueError, match="channels"):
            p2.process(np.zeros((3, 100), np.float32), out=out)
        with pytest.raises(ValueError, match="mono"):
            p2.process(np.zeros(100, np.float32))
        with pytest.raises(ValueError, match="channels"):
            p2.process(np.zeros((2, 100), np.float32), interleaved=True)
        with pytest.raises(TypeError, match="dtype"):
            p2.process(np.zeros((2, 100), np.float64), out=out)
        with pytest.raises(TypeError):
            p2.process(good.tolist())
        with pytest.raises(ValueError, match="dimensional"):
            p2.process(np.zeros((1, 2, 100), np.float32))
        with pytest.raises(ValueError, match="contiguous"):
            p2.process(np.zeros((2, 200), np.float32)[:, ::2], out=out)
        with pytest.raises(ValueError, match="shape"):
            p2.process(good, out=np.zeros((2, 99), np.float32))
        with pytest.raises(TypeError):
            p2.process(good, out=np.zeros((2, 100), np.float64))
        with pytest.raises(ValueError, match="share memory"):
            p2.process(good, out=good)
        ro = sentinel.array((2, 100), np.float32)
        ro.flags.writeable = False
        with pytest.raises(ValueError, match="read-only"):
            p2.process(good, out=ro)
    assert sentinel.untouched(out)
    # empty blocks are fine
    assert p2.process(np.zeros((2, 0), np.float32)).shape == (2, 0)


# --- threads -----------------------------------------------------------------------------


def test_params_and_stats_from_other_threads_while_processing():
    block = 512
    ceiling = 10 ** (-1 / 20)          # the highest ceiling the setter uses
    cfg = tonecore.PipelineConfig(eq_gains=np.zeros(25), level=tonecore.LevelConfig(-20.0),
                                  limiter=-1.0)
    p = tonecore.Pipeline(FS, 2, cfg, max_block=block, dtype=np.float32)
    params = p.params
    x = np.random.default_rng(8).uniform(-1, 1, (2, block)).astype(np.float32)
    stop = threading.Event()
    errors, snapshots = [], []
    worst = [0.0]
    blocks = [0]

    def audio():
        out = np.empty_like(x)
        try:
            while not stop.is_set():
                p.process(x, out=out)
                if not np.all(np.isfinite(out)):
                    errors.append("non-finite output")
                worst[0] = max(worst[0], float(np.max(np.abs(out))))
                blocks[0] += 1
        except BaseException as e:  # noqa: BLE001
            errors.append(repr(e))

    def setter():
        try:
            deadline = time.monotonic() + 20.0
            i = 0
            # at least 60 rounds, and until the other threads made progress alongside
            while i < 60 or (min(blocks[0], len(snapshots)) < 20
                             and time.monotonic() < deadline and not errors):
                params.set_eq_gains(np.full(25, (i % 7) - 3.0))
                params.set_level_target(-30.0 + (i % 10))
                params.set_ceiling_db(-1.0 - (i % 3))
                params.set_bypass("level", i % 2 == 0)
                params.set_bypass("eq", i % 5 == 0)
                time.sleep(0.001)
                i += 1
            params.set_bypass("eq", False)
            params.set_eq_gains(np.full(25, 2.0))
        except BaseException as e:  # noqa: BLE001
            errors.append(repr(e))

    def reader():
        last = 0
        try:
            while not stop.is_set():
                st = params.stats()
                if st["frames"] < last or st["frames"] % block:
                    errors.append(f"frames {st['frames']} after {last}")
                g = st["eq_gains_db"]
                if g.size != 25 or not np.all(g == g[0]):
                    errors.append(f"torn gains {g}")
                last = st["frames"]
                snapshots.append(st["frames"])
        except BaseException as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=f) for f in (audio, setter, reader)]
    for t in threads:
        t.start()
    threads[1].join(60)
    time.sleep(0.1)                     # let the last gains reach the audio side
    stop.set()
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    p.process(x)                        # one more block after the final set
    assert errors == []
    assert blocks[0] > 20 and len(snapshots) > 20
    assert worst[0] <= ceiling
    st = params.stats()
    assert np.array_equal(st["eq_gains_db"], np.full(25, 2.0))
    assert st["frames"] == (blocks[0] + 1) * block
    p.close()
    params.close()


def test_two_threads_processing_one_pipeline_conflict_cleanly():
    x = np.random.default_rng(1).uniform(-1, 1, (2, 4096)).astype(np.float32)
    outcomes = {"ok": 0, "conflict": 0, "other": []}
    lock = threading.Lock()
    with tonecore.Pipeline(FS, 2, {"eq_gains": np.zeros(25), "limiter": -1.0}) as p:
        start = threading.Barrier(2)

        def worker():
            out = np.full_like(x, 7.0)
            start.wait()
            deadline = time.monotonic() + 5.0        # ends early once enough was seen
            while time.monotonic() < deadline:
                out.fill(7.0)
                try:
                    p.process(x, out=out)
                    result = "ok" if np.all(np.abs(out) <= 1.0) else "output above the ceiling"
                except tonecore.ConcurrentUse as e:
                    clean = bool(np.all(out == 7.0)) and e.status == 100
                    result = "conflict" if clean else "written on conflict"
                except BaseException as e:  # noqa: BLE001
                    result = repr(e)
                with lock:
                    if result in ("ok", "conflict"):
                        outcomes[result] += 1
                    else:
                        outcomes["other"].append(result)
                        return
                    if outcomes["conflict"] >= 5 and outcomes["ok"] >= 50:
                        return

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
            assert not t.is_alive()
    assert outcomes["other"] == []
    assert outcomes["ok"] > 0
    # The library refuses the second caller; on 2 cores a conflict shows up almost always.
    assert outcomes["conflict"] > 0 or outcomes["ok"] > 100


def test_close_while_another_thread_processes():
    x = np.zeros((2, 4096), np.float32)
    for _ in range(5):
        p = tonecore.Pipeline(FS, 2)
        params = p.params
        outcomes = []
        started = threading.Event()

        def work():
            started.set()
            while True:
                try:
                    p.process(x)
                except tonecore.ClosedError:
                    outcomes.append("closed")
                    return
                except BaseException as e:  # noqa: BLE001
                    outcomes.append(repr(e))
                    return

        t = threading.Thread(target=work)
        t.start()
        started.wait()
        time.sleep(0.002)
        p.close()
        t.join(10)
        assert not t.is_alive()
        assert outcomes == ["closed"], outcomes
        assert params.stats()["frames"] % 4096 == 0
        params.close()
