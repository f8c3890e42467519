"""Windows against numpy/scipy."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
import scipy.signal

import tonecore
from tonecore import _native

SIZES = [1, 2, 3, 4, 5, 7, 16, 17, 100, 511, 1023, 1024, 2062, 4094, 4096, 44100]


def test_hann_sym_bit_identical_to_numpy_hanning_every_n_up_to_16384():
    fill = _native.lib.tonecore_window_fill_f64
    buf = np.empty(16384, dtype=np.float64)
    ptr = buf.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    bad = []
    for n in range(16385):
        assert fill(_native.WINDOW_HANN_SYM, ptr, n) == 0
        if not np.array_equal(buf[:n], np.hanning(n)):
            bad.append(n)
    assert not bad, f"{len(bad)} lengths differ from numpy.hanning, first: {bad[:10]}"


def test_hann_sym_public_function():
    for n in (0, 1, 2, 9, 1000):
        assert np.array_equal(tonecore.window("hann_sym", n), np.hanning(n))


@pytest.mark.parametrize("n", SIZES)
def test_hann_is_scipy_periodic_hann(n):
    w = tonecore.window("hann", n)
    assert w.dtype == np.float64 and w.shape == (n,)
    np.testing.assert_allclose(w, scipy.signal.get_window("hann", n), rtol=0, atol=1e-15)


@pytest.mark.parametrize("kind", ["hamming", "blackman"])
@pytest.mark.parametrize("n", SIZES)
def test_hamming_blackman_are_scipy_periodic(kind, n):
    np.testing.assert_allclose(
        tonecore.window(kind, n), scipy.signal.get_window(kind, n), rtol=0, atol=1e-15
    )


@pytest.mark.parametrize("n", SIZES)
def test_sqrt_hann_is_sqrt_of_hann(n):
    w = tonecore.window("sqrt_hann", n)
    assert np.all(w >= 0)
    # The square is scipy's periodic Hann (compared squared: sqrt amplifies the rounding of the
    # tiny values next to the zeros, ~1e-17 / sqrt(h), in scipy's reference and ours alike).
    np.testing.assert_allclose(w * w, scipy.signal.get_window("hann", n), rtol=0, atol=1e-15)
    # and it is the square root of tonecore's Hann window, to the last bit
    assert np.array_equal(w, np.sqrt(tonecore.window("hann", n)))


@pytest.mark.parametrize("kind", ["hann", "hann_sym", "hamming", "blackman", "sqrt_hann"])
def test_float32_windows(kind):
    n = 2062
    ref = np.hanning(n) if kind == "hann_sym" else (
        np.sqrt(scipy.signal.get_window("hann", n)) if kind == "sqrt_hann"
        else scipy.signal.get_window(kind, n)
    )
    w = tonecore.window(kind, n, dtype=np.float32)
    assert w.dtype == np.float32
    np.testing.assert_allclose(w, ref, rtol=0, atol=1e-7)


def test_empty_window():
    for kind in tonecore.WINDOW_KINDS:
        assert tonecore.window(kind, 0).shape == (0,)
        assert tonecore.window(kind, 0, np.float32).dtype == np.float32


def test_unknown_kind_is_value_error_before_native_call(no_native_calls):
    with no_native_calls():
        with pytest.raises(ValueError, match="unknown window kind"):
            tonecore.window("kaiser", 16)
        with pytest.raises(ValueError):
            tonecore.window("Hann", 16)


def test_negative_length_is_value_error(no_native_calls):
    with no_native_calls():
        with pytest.raises(ValueError):
            tonecore.window("hann", -1)


def test_bad_types(no_native_calls):
    with no_native_calls():
        with pytest.raises(TypeError):
            tonecore.window("hann", 16.0)
        with pytest.raises(TypeError):
            tonecore.window("hann", 16, dtype=np.int16)
        with pytest.raises(TypeError):
            tonecore.window("hann", 16, dtype=np.complex128)
        with pytest.raises(TypeError):
            tonecore.window(0, 16)


def test_native_unknown_kind_status():
    buf = np.empty(4)
    status = _native.lib.tonecore_window_fill_f64(99, _native.pointer_to(buf, ctypes.c_double), 4)
    assert status == _native.STATUS_UNKNOWN_WINDOW
    assert "TONECORE_WINDOW" in _native.last_error_message()
