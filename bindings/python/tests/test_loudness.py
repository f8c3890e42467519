"""Loudness (``tonecore.loudness`` and ``tonecore.LoudnessMeter``) against independent
references: the EBU Tech 3341 / 3342 test signals synthesised with numpy (their expected values
are part of the specifications), pyloudnorm's BS.1770 implementation, an analytic true peak,
and the one-shot measurement for the streaming meter."""

from __future__ import annotations

import gc
import pickle
import weakref

import numpy as np
import pyloudnorm
import pytest

import tonecore
from tonecore import _native

SR = 48000
KEYS = {"integrated", "momentary_max", "short_term_max", "range", "true_peak"}


def sine_segments(segments, sr=SR, freq=1000.0, channels=2):
    """Planar ``(channels, n)`` 1 kHz sine in ``segments`` of (dBFS amplitude, seconds), phase
    continuous, the same on every channel."""
    parts, start = [], 0
    for db, seconds in segments:
        n = int(round(seconds * sr))
        parts.append(10 ** (db / 20) * np.sin(2 * np.pi * freq * (start + np.arange(n)) / sr))
        start += n
    mono = np.concatenate(parts)
    return np.ascontiguousarray(np.broadcast_to(mono, (channels, mono.size)))


def pyln(x, sr):
    """pyloudnorm's integrated loudness of a planar signal (it takes (frames, channels))."""
    return pyloudnorm.Meter(sr).integrated_loudness(np.asarray(x, np.float64).T)


def music_like(seconds, sr, seed):
    """A few harmonic partials with a slow amplitude envelope and decaying notes, plus noise:
    stereo, a different mix per channel."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    out = np.zeros((2, t.size))
    for c in range(2):
        for f0, amp in [(110.0, 0.3), (220.0, 0.2), (440.0, 0.12), (1760.0, 0.05),
                        (5200.0, 0.02)]:
            f = f0 * (1.0 + 0.01 * c)
            out[c] += amp * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
        env = 0.55 + 0.45 * np.sin(2 * np.pi * 0.15 * t + c)           # slow swell
        notes = np.exp(-((t % 0.5) / 0.12))                              # note decays
        out[c] *= env * (0.4 + 0.6 * notes)
        out[c] += 0.02 * rng.standard_normal(t.size)
    return out


# --- EBU Tech 3341 / 3342 ------------------------------------------------------------------


@pytest.mark.parametrize(
    "case, segments, want",
    [
        (1, [(-23.0, 20.0)], -23.0),
        (2, [(-33.0, 20.0)], -33.0),
        (3, [(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)], -23.0),
        (4, [(-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)], -23.0),
        (5, [(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)], -23.0),
    ],
)
def test_tech_3341_integrated(case, segments, want):
    x = sine_segments(segments)
    r = tonecore.loudness(x, SR)
    assert set(r) == KEYS and all(type(v) is float for v in r.values())
    assert abs(r["integrated"] - want) <= 0.1, (case, r)
    if case <= 2:
        # a steady tone: momentary and short-term maxima equal the integrated value
        assert abs(r["momentary_max"] - want) <= 0.1, r
        assert abs(r["short_term_max"] - want) <= 0.1, r
        assert abs(r["range"]) <= 0.1, r
        # 1 kHz at 48 kHz: the true peak is the amplitude
        assert abs(r["true_peak"] - want) <= 0.1, r
    if case == 5:
        # the -20 dBFS part sets the maxima
        assert abs(r["momentary_max"] + 20.0) <= 0.1 and abs(r["short_term_max"] + 20.0) <= 0.1


def test_tech_3341_float32_and_mono():
    x = sine_segments([(-23.0, 20.0)])
    r32 = tonecore.loudness(x.astype(np.float32), SR)
    assert abs(r32["integrated"] + 23.0) <= 0.1
    # mono is one front channel: 10*log10(2) LU below the same signal on L and R
    mono = np.ascontiguousarray(x[0])
    assert abs(tonecore.loudness(mono, SR)["integrated"] - (-23.0 - 10 * np.log10(2))) <= 0.1


@pytest.mark.parametrize(
    "segments, want",
    [
        ([(-20.0, 20.0), (-30.0, 20.0)], 10.0),     # EBU Tech 3342 case 1
        ([(-20.0, 20.0), (-15.0, 20.0)], 5.0),      # case 2
    ],
)
def test_tech_3342_loudness_range(segments, want):
    r = tonecore.loudness(sine_segments(segments), SR)
    assert abs(r["range"] - want) <= 1.0, r


# --- against pyloudnorm --------------------------------------------------------------------


@pytest.mark.parametrize("sr", [48000, 44100])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_integrated_matches_pyloudnorm_on_noise(sr, dtype):
    rng = np.random.default_rng(7)
    x = (0.1 * rng.standard_normal((2, 8 * sr))).astype(dtype)
    ref = pyln(x, sr)
    got = tonecore.loudness(x, sr)["integrated"]
    assert abs(got - ref) <= 0.1, (got, ref)
    assert abs(tonecore.integrated_loudness(x, sr) - ref) <= 0.1
    mono = np.ascontiguousarray(x[1])
    assert abs(tonecore.loudness(mono, sr)["integrated"] - pyln(mono[None], sr)) <= 0.1


@pytest.mark.parametrize("sr", [48000, 44100])
def test_integrated_matches_pyloudnorm_on_a_music_like_signal(sr):
    x = music_like(12.0, sr, seed=3)
    ref = pyln(x, sr)
    got = tonecore.loudness(x, sr)["integrated"]
    assert -40 < ref < -5
    assert abs(got - ref) <= 0.1, (got, ref)
    assert abs(tonecore.integrated_loudness(x, sr) - ref) <= 0.1


def test_integrated_loudness_errors_and_silence():
    assert tonecore.integrated_loudness(np.zeros((2, 48000)), 48000) == -np.inf
    bad = np.zeros((2, 4800))
    bad[1, 7] = np.nan
    with pytest.raises(tonecore.InvalidArgument) as e:
        tonecore.integrated_loudness(bad, 48000)
    assert e.value.status == 5
    with pytest.raises(TypeError):
        tonecore.integrated_loudness(np.zeros(10, np.int16), 48000)


def test_true_peak_sees_inter_sample_peaks():
    # fs/4 sine at 45 degrees: every sample is at A/sqrt(2) (-9 dBFS), the true peak is A.
    a = 10 ** (-6 / 20)
    x = a * np.sin(np.pi / 2 * np.arange(2 * SR) + np.pi / 4)
    assert abs(20 * np.log10(np.max(np.abs(x))) + 9.01) < 0.01
    r = tonecore.loudness(x, SR)
    assert -6.4 < r["true_peak"] < -5.8, r


def test_too_short_or_silent_gives_minus_inf():
    r = tonecore.loudness(np.zeros((2, SR)), SR)
    assert r["integrated"] == -np.inf and r["momentary_max"] == -np.inf
    assert r["range"] == 0.0 and r["true_peak"] == -np.inf
    r = tonecore.loudness(np.full((2, SR // 10), 0.5), SR)     # 100 ms: no 400 ms block
    assert r["integrated"] == -np.inf
    r = tonecore.loudness(np.zeros((2, 0)), SR)                # no frames at all
    assert r["integrated"] == -np.inf


# --- streaming meter -----------------------------------------------------------------------


def feed(meter, x, sizes, dtype=None):
    n = x.shape[-1]
    pos, i = 0, 0
    while pos < n:
        k = min(sizes[i % len(sizes)], n - pos)
        block = np.ascontiguousarray(x[:, pos:pos + k])
        if dtype is not None:
            block = block.astype(dtype)
        meter.add(block)
        pos += k
        i += 1


def test_streaming_in_odd_blocks_equals_one_shot():
    x = music_like(9.0, 44100, seed=11)
    whole = tonecore.loudness(x, 44100)
    with tonecore.LoudnessMeter(2, 44100) as meter:
        assert meter.report()["integrated"] == -np.inf
        feed(meter, x, [1, 37, 4410, 100_003, 7, 999, 12_345])
        r = meter.report()
        for key in KEYS:
            assert abs(r[key] - whole[key]) <= 1e-9, (key, r[key], whole[key])
        # reset forgets everything; float32 blocks work too
        meter.reset()
        assert meter.report()["integrated"] == -np.inf
        feed(meter, x, [4096, 333], dtype=np.float32)
        r32 = meter.report()
        assert abs(r32["integrated"] - tonecore.loudness(x.astype(np.float32), 44100)[
            "integrated"]) <= 1e-9
        assert abs(r32["integrated"] - whole["integrated"]) <= 1e-3


def test_meter_mono_accepts_1d_and_checks_channels():
    x = music_like(3.0, SR, seed=2)[0]
    with tonecore.LoudnessMeter(1, SR) as meter:
        meter.add(x[:1000].copy())
        meter.add(x[None, 1000:].copy())       # (1, frames) as well
        assert abs(meter.report()["integrated"] - tonecore.loudness(x, SR)["integrated"]) < 1e-9
        assert meter.channels == 1 and meter.sample_rate == SR
        assert "LoudnessMeter(channels=1, sample_rate=48000)" in repr(meter)
    with tonecore.LoudnessMeter(2, SR) as meter:
        with pytest.raises(ValueError, match="mono"):
            meter.add(np.zeros(100))
        with pytest.raises(ValueError, match="channels"):
            meter.add(np.zeros((3, 100)))


def test_meter_refuses_non_finite_blocks_and_keeps_its_state():
    x = music_like(3.0, SR, seed=4)
    with tonecore.LoudnessMeter(2, SR) as meter:
        meter.add(x)
        before = meter.report()
        bad = x[:, :4800].copy()
        bad[1, 17] = np.nan
        with pytest.raises(tonecore.InvalidArgument) as info:
            meter.add(bad)
        assert info.value.status == _native.STATUS_NON_FINITE == 5
        bad[1, 17] = np.inf
        with pytest.raises(tonecore.InvalidArgument):
            meter.add(bad.astype(np.float32))
        assert meter.report() == before     # nothing of the refused blocks was added


# --- errors and lifetime -------------------------------------------------------------------


def test_wrong_dtype_is_type_error(no_native_calls):
    with no_native_calls():
        for dtype in (np.int16, np.int32, np.float16, np.complex128):
            with pytest.raises(TypeError, match="dtype"):
                tonecore.loudness(np.zeros((2, 100), dtype), SR)
        with pytest.raises(TypeError):
            tonecore.loudness([[0.0] * 100] * 2, SR)
        with pytest.raises(ValueError, match="dimensional"):
            tonecore.loudness(np.zeros((1, 2, 100)), SR)
        with pytest.raises(ValueError, match="contiguous"):
            tonecore.loudness(np.zeros((2, 200))[:, ::2], SR)
        with pytest.raises(ValueError):
            tonecore.loudness(np.zeros((2, 100)), -1)
        with pytest.raises(TypeError):
            tonecore.loudness(np.zeros((2, 100)), "48000")
    with tonecore.LoudnessMeter(2, SR) as meter:
        with pytest.raises(TypeError, match="dtype"):
            meter.add(np.zeros((2, 100), np.int16))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_is_invalid_argument(dtype, bad):
    x = np.zeros((2, SR), dtype)
    x[0, 100] = bad
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.loudness(x, SR)
    assert info.value.status == 5 and "status 5" in str(info.value)


@pytest.mark.parametrize("channels", [0, 65])
def test_bad_channel_counts(channels):
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.loudness(np.zeros((channels, 1000)), SR)
    assert info.value.status == _native.STATUS_INVALID_CHANNELS == 14
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.LoudnessMeter(channels, SR)
    assert info.value.status == 14
    # 64 channels is the limit
    tonecore.loudness(np.zeros((64, 1000), np.float32), SR)


@pytest.mark.parametrize("sample_rate", [0, 15])
def test_bad_sample_rate(sample_rate):
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.loudness(np.zeros((2, 1000)), sample_rate)
    assert info.value.status == _native.STATUS_INVALID_SAMPLE_RATE == 13
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.LoudnessMeter(2, sample_rate)
    assert info.value.status == 13


def test_meter_lifetime():
    meter = tonecore.LoudnessMeter(2, SR)
    meter.close()
    assert meter.closed and "closed" in repr(meter)
    for call in (lambda: meter.add(np.zeros((2, 10))), meter.report, meter.reset):
        with pytest.raises(tonecore.ClosedError) as info:
            call()
        assert info.value.status is None and "LoudnessMeter" in str(info.value)
    with pytest.raises(tonecore.ClosedError):
        with meter:
            pass
    meter.close()  # idempotent
    with pytest.raises(RuntimeError):
        with tonecore.LoudnessMeter(1, SR) as meter:
            raise RuntimeError("boom")
    assert meter.closed
    meter = tonecore.LoudnessMeter(1, SR)
    finalizer, ref = meter._finalizer, weakref.ref(meter)
    del meter
    gc.collect()
    assert ref() is None and not finalizer.alive
    with pytest.raises(TypeError):
        pickle.dumps(tonecore.LoudnessMeter(1, SR))
