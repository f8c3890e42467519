"""tonecore.crossfade_concat against a numpy implementation of the documented formula."""

from __future__ import annotations

import numpy as np
import pytest

import tonecore

CURVES = ("equal_gain", "equal_power", "linear")


def ref_concat(a: np.ndarray, b: np.ndarray, overlap: int, curve: str) -> np.ndarray:
    """numpy reference in float64: L = min(overlap, la, lb), t = linspace(0, 1, L)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    la, lb = a.shape[-1], b.shape[-1]
    n = min(overlap, la, lb)
    t = np.linspace(0.0, 1.0, n)
    if curve == "equal_gain":
        fade_in, fade_out = np.sin(t * np.pi / 2) ** 2, np.cos(t * np.pi / 2) ** 2
    elif curve == "equal_power":
        fade_in, fade_out = np.sin(t * np.pi / 2), np.cos(t * np.pi / 2)
    else:
        fade_in, fade_out = t, 1.0 - t
    middle = a[..., la - n:] * fade_out + b[..., :n] * fade_in
    return np.concatenate([a[..., :la - n], middle, b[..., n:]], axis=-1)


def signals(shape_a, shape_b, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, shape_a).astype(dtype), rng.uniform(-1, 1, shape_b).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("curve", CURVES)
@pytest.mark.parametrize("channels", [None, 1, 2, 5])
@pytest.mark.parametrize("overlap", [0, 1, 2, 37, 300, 10_000])
def test_matches_numpy_formula(dtype, curve, channels, overlap):
    la, lb = 1000, 700
    shape_a = (la,) if channels is None else (channels, la)
    shape_b = (lb,) if channels is None else (channels, lb)
    a, b = signals(shape_a, shape_b, dtype)
    y = tonecore.crossfade_concat(a, b, overlap, curve=curve)
    ref = ref_concat(a, b, overlap, curve)
    n = la + lb - min(overlap, la, lb)
    assert y.dtype == np.dtype(dtype)
    assert y.shape == shape_a[:-1] + (n,) == ref.shape
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, ref, rtol=0, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_overlap_concatenates_exactly(dtype):
    a, b = signals((2, 300), (2, 123), dtype, seed=1)
    for curve in CURVES:
        y = tonecore.crossfade_concat(a, b, 0, curve=curve)
        np.testing.assert_array_equal(y, np.concatenate([a, b], axis=1))
    # an empty side: L = 0 too
    empty = np.empty((2, 0), dtype=dtype)
    np.testing.assert_array_equal(tonecore.crossfade_concat(a, empty, 50), a)
    np.testing.assert_array_equal(tonecore.crossfade_concat(empty, b, 50), b)
    assert tonecore.crossfade_concat(empty, empty, 5).shape == (2, 0)


@pytest.mark.parametrize("la, lb, overlap", [(10, 10, 4), (10, 2, 5), (2, 10, 5), (7, 7, 7),
                                             (1, 1, 1), (5, 9, 0), (100, 3, 3)])
def test_lengths(la, lb, overlap):
    a, b = signals((la,), (lb,), np.float64, seed=2)
    y = tonecore.crossfade_concat(a, b, overlap)
    assert y.shape == (la + lb - min(overlap, la, lb),)


def test_identical_ramps_join_exactly_with_equal_gain_and_linear():
    a = np.arange(10.0)
    b = np.arange(6.0, 16.0)
    for curve in ("equal_gain", "linear"):
        np.testing.assert_allclose(tonecore.crossfade_concat(a, b, 4, curve=curve),
                                   np.arange(16.0), rtol=0, atol=1e-12)


def test_out_is_written_in_place_and_returned():
    a, b = signals((2, 500), (2, 400), np.float64, seed=3)
    out = np.full((2, 500 + 400 - 100), np.nan)
    y = tonecore.crossfade_concat(a, b, 100, curve="equal_power", out=out)
    assert y is out
    np.testing.assert_allclose(out, ref_concat(a, b, 100, "equal_power"), rtol=0, atol=1e-12)


# --- errors --------------------------------------------------------------------------------


def test_dtype_mismatch_is_type_error(no_native_calls):
    a = np.zeros(100, np.float32)
    b = np.zeros(100, np.float64)
    with no_native_calls():
        with pytest.raises(TypeError, match="same dtype"):
            tonecore.crossfade_concat(a, b, 10)
        with pytest.raises(TypeError):
            tonecore.crossfade_concat(a.astype(np.int16), a.astype(np.int16), 10)
        with pytest.raises(TypeError):
            tonecore.crossfade_concat(list(b), b, 10)


def test_channel_mismatch_is_value_error(no_native_calls):
    with no_native_calls():
        with pytest.raises(ValueError, match="channels"):
            tonecore.crossfade_concat(np.zeros((2, 100)), np.zeros((3, 100)), 10)
        with pytest.raises(ValueError):
            tonecore.crossfade_concat(np.zeros(100), np.zeros((1, 100)), 10)
        with pytest.raises(ValueError):
            tonecore.crossfade_concat(np.zeros((2, 100, 1)), np.zeros((2, 100, 1)), 10)
        with pytest.raises(ValueError, match="contiguous"):
            tonecore.crossfade_concat(np.zeros((100, 2)).T, np.zeros((2, 100)), 10)


def test_bad_curve_and_overlap(no_native_calls):
    a = np.zeros(100)
    with no_native_calls():
        with pytest.raises(ValueError, match="unknown curve"):
            tonecore.crossfade_concat(a, a, 10, curve="cosine")
        with pytest.raises(TypeError):
            tonecore.crossfade_concat(a, a, 10, curve=1)
        with pytest.raises(ValueError):
            tonecore.crossfade_concat(a, a, -1)
        with pytest.raises(TypeError):
            tonecore.crossfade_concat(a, a, 1.5)


def test_bad_out(no_native_calls, sentinel):
    a = np.zeros((2, 100))
    with no_native_calls():
        small = sentinel.array((2, 189), np.float64)
        with pytest.raises(ValueError, match="shape"):
            tonecore.crossfade_concat(a, a, 10, out=small)  # too small (needs 190)
        assert sentinel.untouched(small)
        with pytest.raises(ValueError, match="shape"):
            tonecore.crossfade_concat(a, a, 10, out=np.empty((2, 200)))
        with pytest.raises(TypeError):
            tonecore.crossfade_concat(a, a, 10, out=np.empty((2, 190), np.float32))
        buf = np.zeros(400)
        with pytest.raises(ValueError, match="share memory"):
            tonecore.crossfade_concat(buf[:200], np.zeros(200), 10, out=buf[:390])
        with pytest.raises(ValueError, match="share memory"):
            tonecore.crossfade_concat(np.zeros(200), buf[200:], 10, out=buf[10:])


def test_zero_channels_is_refused_by_the_library():
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.crossfade_concat(np.zeros((0, 5)), np.zeros((0, 5)), 2)
    assert info.value.status == 14
