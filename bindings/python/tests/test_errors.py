"""Bad input: each case checks the exception and that a provided out= buffer is untouched.

Type/shape/layout errors are raised before any native call (checked with a tripwire standing in
for the library); range errors come from the library as tonecore.InvalidArgument.
"""

from __future__ import annotations

import numpy as np
import pytest

import tonecore

N = 1024
HOP = 256
LEN = 10_000
FRAMES = 1 + (LEN - N) // HOP
BINS = N // 2 + 1


@pytest.fixture
def x():
    return np.random.default_rng(0).uniform(-1, 1, LEN)


@pytest.fixture
def out(sentinel):
    return sentinel.array((FRAMES, BINS), np.complex128)


# --- dtype -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.float16, np.complex128, np.complex64,
                                   np.dtype(">f8"), np.bool_, object])
def test_wrong_dtype_is_type_error(x, out, sentinel, no_native_calls, dtype):
    bad = x.astype(dtype)
    with no_native_calls():
        with pytest.raises(TypeError, match="dtype"):
            tonecore.stft(bad, fft_size=N, out=out)
    assert sentinel.untouched(out)


def test_not_an_array_is_type_error(x, no_native_calls):
    with no_native_calls():
        with pytest.raises(TypeError):
            tonecore.stft(list(x[:2000]), fft_size=N)


def test_object_dtype_mismatch_is_type_error(x, sentinel):
    out = sentinel.array((FRAMES, BINS), np.complex64)
    with tonecore.Stft(N, dtype=np.float32) as s:
        with pytest.raises(TypeError):
            s.forward(x, out=out)  # float64 into a float32 object: no silent conversion
    assert sentinel.untouched(out)


# --- dimensions and layout ----------------------------------------------------------------


def test_three_dimensional_input_is_value_error(out, sentinel, no_native_calls):
    bad = np.zeros((2, 2, LEN))
    with no_native_calls():
        with pytest.raises(ValueError, match="dimensional"):
            tonecore.stft(bad, fft_size=N, out=out)
        with pytest.raises(ValueError):
            tonecore.stft(np.array(1.0), fft_size=N)
    assert sentinel.untouched(out)


def test_non_contiguous_input_is_value_error(x, out, sentinel, no_native_calls):
    strided = np.repeat(x, 2)[::2]
    assert np.array_equal(strided, x) and not strided.flags.c_contiguous
    fortran = np.asfortranarray(np.stack([x, x]))
    out2 = sentinel.array((2, FRAMES, BINS), np.complex128)
    with no_native_calls():
        with pytest.raises(ValueError, match="contiguous"):
            tonecore.stft(strided, fft_size=N, out=out)
        with pytest.raises(ValueError, match="contiguous"):
            tonecore.stft(fortran, fft_size=N, out=out2)
    assert sentinel.untouched(out) and sentinel.untouched(out2)


# --- out= ---------------------------------------------------------------------------------


def test_out_one_element_too_small(x, sentinel):
    flat = sentinel.array(FRAMES * BINS - 1, np.complex128)
    fewer_frames = sentinel.array((FRAMES - 1, BINS), np.complex128)
    fewer_bins = sentinel.array((FRAMES, BINS - 1), np.complex128)
    for bad in (flat, fewer_frames, fewer_bins):
        with pytest.raises(ValueError, match="shape"):
            tonecore.stft(x, fft_size=N, out=bad)
        assert sentinel.untouched(bad)


def test_out_wrong_shape(x, sentinel):
    for shape in [(FRAMES * BINS,), (BINS, FRAMES), (1, FRAMES, BINS), (FRAMES + 1, BINS)]:
        bad = sentinel.array(shape, np.complex128)
        with pytest.raises(ValueError, match="shape"):
            tonecore.stft(x, fft_size=N, out=bad)
        assert sentinel.untouched(bad)


def test_out_wrong_dtype(x, sentinel, no_native_calls):
    for dtype in (np.complex64, np.float64, np.dtype(">c16")):
        bad = sentinel.array((FRAMES, BINS), dtype)
        with no_native_calls():
            with pytest.raises(TypeError, match="dtype"):
                tonecore.stft(x, fft_size=N, out=bad)
        assert sentinel.untouched(bad)


def test_out_non_contiguous_or_read_only(x, sentinel):
    big = sentinel.array((FRAMES, 2 * BINS), np.complex128)
    with pytest.raises(ValueError, match="contiguous"):
        tonecore.stft(x, fft_size=N, out=big[:, ::2])
    assert sentinel.untouched(big)
    ro = sentinel.array((FRAMES, BINS), np.complex128)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        tonecore.stft(x, fft_size=N, out=ro)
    assert sentinel.untouched(ro)


def test_out_overlapping_input(sentinel):
    out = np.zeros((FRAMES, BINS), np.complex128)
    x = out.reshape(-1).view(np.float64)[:LEN]
    x[:] = 0.25
    with pytest.raises(ValueError, match="share memory"):
        tonecore.stft(x, fft_size=N, out=out)
    assert np.all(x == 0.25)


def test_out_not_an_array(x):
    with pytest.raises(TypeError):
        tonecore.stft(x, fft_size=N, out=[0j] * (FRAMES * BINS))


# --- configuration ranges (from the library) ---------------------------------------------


def _expect_invalid(status, x, out, sentinel, **kwargs):
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.stft(x, out=out, **kwargs)
    assert isinstance(info.value, ValueError)
    assert info.value.status == status
    assert info.value.detail
    assert sentinel.untouched(out)
    return info.value


def test_odd_fft_size(x, out, sentinel):
    e = _expect_invalid(7, x, out, sentinel, fft_size=1023, hop=HOP)
    assert "even" in e.detail


@pytest.mark.parametrize("fft_size", [14, 8, 2, 0])
def test_fft_size_below_16(x, out, sentinel, fft_size):
    _expect_invalid(7, x, out, sentinel, fft_size=fft_size, hop=1)


def test_fft_size_above_2_pow_24(x, out, sentinel):
    _expect_invalid(7, x, out, sentinel, fft_size=2**24 + 2)


def test_hop_zero(x, out, sentinel):
    _expect_invalid(8, x, out, sentinel, fft_size=N, hop=0)


def test_hop_above_fft_size(x, out, sentinel):
    _expect_invalid(8, x, out, sentinel, fft_size=N, hop=N + 1)


def test_negative_sizes_are_value_errors(x, out, sentinel, no_native_calls):
    with no_native_calls():
        for kwargs in ({"fft_size": -2}, {"hop": -1}, {"threads": -1}):
            with pytest.raises(ValueError):
                tonecore.stft(x, out=out, **kwargs)
        with pytest.raises(TypeError):
            tonecore.stft(x, fft_size=1024.0, out=out)
    assert sentinel.untouched(out)


def test_too_many_threads(x, out, sentinel):
    _expect_invalid(2, x, out, sentinel, fft_size=N, threads=5000)


def test_unknown_window_name(x, out, sentinel, no_native_calls):
    with no_native_calls():
        with pytest.raises(ValueError, match="unknown window"):
            tonecore.stft(x, fft_size=N, window="kaiser", out=out)
    assert sentinel.untouched(out)


def test_custom_window_wrong_length_or_non_finite(x, out, sentinel):
    _expect_invalid(3, x, out, sentinel, fft_size=N, window=np.ones(N - 1))
    w = np.ones(N)
    w[7] = np.nan
    _expect_invalid(5, x, out, sentinel, fft_size=N, window=w)
    with pytest.raises(TypeError):
        tonecore.stft(x, fft_size=N, window=np.ones(N, np.complex128), out=out)
    with pytest.raises(ValueError):
        tonecore.stft(x, fft_size=N, window=np.ones((2, N)), out=out)
    assert sentinel.untouched(out)


# --- non-finite samples -------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("threads", [1, None])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_non_finite_samples(x, sentinel, bad, threads, dtype):
    cdtype = np.complex128 if dtype == np.float64 else np.complex64
    for where in (0, LEN // 2, LEN - 1):  # LEN - 1 lies after the last whole frame
        xb = x.astype(dtype)
        xb[where] = bad
        out = sentinel.array((FRAMES, BINS), cdtype)
        with pytest.raises(tonecore.InvalidArgument) as info:
            tonecore.stft(xb, fft_size=N, threads=threads, out=out)
        assert info.value.status == 5
        assert "NaN" in info.value.detail or "infinite" in info.value.detail
        assert "NaN" in str(info.value)
        assert sentinel.untouched(out)


def test_non_finite_spectrum(sentinel):
    spec = np.zeros((4, BINS), np.complex128)
    spec[2, 3] = complex(0, np.inf)
    out = sentinel.array((3 * HOP + N,), np.float64)
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.istft(spec, hop=HOP, out=out)
    assert info.value.status == 5
    assert sentinel.untouched(out)


# --- inverse-specific ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hann_with_hop_equal_fft_size_is_not_invertible(x, sentinel, dtype):
    xs = x.astype(dtype)
    with tonecore.Stft(N, hop=N, dtype=dtype) as s:
        spec = s.forward(xs)  # the forward transform is fine
        out = sentinel.array((s.signal_len(spec.shape[0]),), dtype)
        with pytest.raises(tonecore.InvalidArgument) as info:
            s.inverse(spec, out=out)
        assert info.value.status == 11
        assert "invert" in info.value.detail
        assert sentinel.untouched(out)
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.istft(spec, hop=N)
    assert info.value.status == 11


def test_istft_bad_input(sentinel, no_native_calls):
    out = sentinel.array((3 * HOP + N,), np.float64)
    with no_native_calls():
        with pytest.raises(TypeError):
            tonecore.istft(np.zeros((4, BINS)), hop=HOP, out=out)  # real spectrum
        with pytest.raises(TypeError):
            tonecore.istft(np.zeros((4, BINS), np.complex256), hop=HOP, out=out)
        with pytest.raises(ValueError):
            tonecore.istft(np.zeros(BINS, np.complex128), hop=HOP, out=out)  # 1-D
        with pytest.raises(ValueError):
            tonecore.istft(np.zeros((1, 1, 4, BINS), np.complex128), hop=HOP, out=out)
        with pytest.raises(ValueError):
            tonecore.istft(np.zeros((BINS, 8), np.complex128).T, hop=HOP, out=out)
        with pytest.raises(TypeError):
            tonecore.istft(np.zeros((4, BINS), np.complex128), hop=HOP,
                           out=out.astype(np.float32))
    spec = np.zeros((4, BINS), np.complex128)
    for bad in (sentinel.array(3 * HOP + N - 1, np.float64),
                sentinel.array((1, 3 * HOP + N), np.float64)):
        with pytest.raises(ValueError, match="shape"):
            tonecore.istft(spec, hop=HOP, out=bad)
        assert sentinel.untouched(bad)
    with tonecore.Stft(N, hop=HOP, dtype=np.float64) as s:
        with pytest.raises(ValueError, match="bins"):
            s.inverse(np.zeros((4, BINS + 1), np.complex128))
        with pytest.raises(TypeError):
            s.inverse(np.zeros((4, BINS), np.complex64))
    assert sentinel.untouched(out)


# --- closed objects -----------------------------------------------------------------------


def test_closed_stft_raises(x, sentinel):
    s = tonecore.Stft(N, hop=HOP, dtype=np.float64)
    spec = s.forward(x)
    s.close()
    assert s.closed
    out = sentinel.array((FRAMES, BINS), np.complex128)
    for call in (lambda: s.forward(x, out=out), lambda: s.inverse(spec),
                 lambda: s.frame_count(LEN), lambda: s.signal_len(3)):
        with pytest.raises(tonecore.ClosedError) as info:
            call()
        assert isinstance(info.value, tonecore.Error) and isinstance(info.value, ValueError)
        assert "closed" in str(info.value) and info.value.status is None
    assert sentinel.untouched(out)
    with pytest.raises(tonecore.ClosedError):
        with s:
            pass
    s.close()  # idempotent


def test_context_manager_closes_even_on_error(x):
    with pytest.raises(RuntimeError):
        with tonecore.Stft(N) as s:
            raise RuntimeError("boom")
    assert s.closed


def test_finalizer_frees_unclosed_objects():
    import gc
    import weakref

    s = tonecore.Stft(N)
    finalizer = s._finalizer
    ref = weakref.ref(s)
    del s
    gc.collect()
    assert ref() is None and not finalizer.alive


def test_stft_bad_dtype(no_native_calls):
    with no_native_calls():
        for dtype in (np.int16, np.complex64, "float16"):
            with pytest.raises(TypeError):
                tonecore.Stft(N, dtype=dtype)
