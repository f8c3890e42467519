"""Forward STFT against numpy's rfft of windowed frames."""

from __future__ import annotations

import numpy as np
import pytest

import tonecore

TOL = {np.float64: 1e-12, np.float32: 1e-5}
DTYPES = [np.float64, np.float32]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fft_size", [4096, 2062, 4094])
def test_sixty_seconds_of_noise(noise60, reference, dtype, fft_size):
    x = noise60.astype(dtype)
    spec = tonecore.stft(x, fft_size=fft_size)
    hop = fft_size // 4
    frames = 1 + (x.size - fft_size) // hop
    assert spec.shape == (frames, fft_size // 2 + 1)
    assert spec.dtype == (np.complex128 if dtype == np.float64 else np.complex64)
    ref = reference.stft(x, fft_size, hop, reference.window("hann", fft_size))
    assert reference.rel_err(spec, ref) <= TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "fft_size, hop",
    [(16, 1), (16, 16), (18, 5), (30, 7), (1000, 333), (1024, 256), (1024, 1024),
     (2048, 2048), (2062, 1031), (3000, 1), (4094, 4094), (8192, 2048), (44100, 11025)],
)
def test_sizes_and_hops(noise3, reference, dtype, fft_size, hop):
    x = noise3[: 8_000 if hop < 8 else None].astype(dtype)
    spec = tonecore.stft(x, fft_size=fft_size, hop=hop)
    ref = reference.stft(x, fft_size, hop, reference.window("hann", fft_size))
    assert spec.shape == ref.shape
    assert reference.rel_err(spec, ref) <= TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["hann", "hann_sym", "hamming", "blackman", "sqrt_hann"])
def test_window_kinds(noise3, reference, dtype, kind):
    x = noise3.astype(dtype)
    spec = tonecore.stft(x, fft_size=2048, hop=500, window=kind)
    ref = reference.stft(x, 2048, 500, reference.window(kind, 2048))
    assert reference.rel_err(spec, ref) <= TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
def test_multichannel_planar(noise3, reference, dtype):
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (3, 50_000)).astype(dtype)
    spec = tonecore.stft(x, fft_size=2062, hop=400)
    ref = reference.stft(x, 2062, 400, reference.window("hann", 2062))
    assert spec.shape == ref.shape == (3, 1 + (50_000 - 2062) // 400, 1032)
    for c in range(3):
        assert reference.rel_err(spec[c], ref[c]) <= TOL[dtype]
    # one channel as a (1, n) array is the mono result with a leading axis
    mono = tonecore.stft(np.ascontiguousarray(x[1]), fft_size=2062, hop=400)
    assert reference.rel_err(mono, ref[1]) <= TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
def test_threads_do_not_change_the_result(noise60, reference, dtype):
    x = noise60[: 10 * 44100].astype(dtype)
    one = tonecore.stft(x, fft_size=4096, threads=1)
    everyone = tonecore.stft(x, fft_size=4096, threads=None)
    three = tonecore.stft(x, fft_size=4096, threads=3)
    assert np.array_equal(one, everyone)
    assert np.array_equal(one, three)
    ref = reference.stft(x, 4096, 1024, reference.window("hann", 4096))
    assert reference.rel_err(one, ref) <= TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, fft_size, hop", [(44100, 4096, 1024), (44101, 2062, 515),
                                              (5000, 1024, 1000), (100, 64, 16), (1, 16, 4)])
def test_center_matches_zero_padded_numpy(reference, dtype, n, fft_size, hop):
    x = np.random.default_rng(n).uniform(-1, 1, (2, n)).astype(dtype)
    spec = tonecore.stft(x, fft_size=fft_size, hop=hop, center=True)
    assert spec.shape == (2, 1 + n // hop, fft_size // 2 + 1)
    # reference: np.pad(x, N//2) and frames at k*hop for k in range(1 + len // hop)
    padded = np.pad(x.astype(np.float64), [(0, 0), (fft_size // 2, fft_size // 2)])
    w = reference.window("hann", fft_size)
    ref = np.stack([
        np.stack([np.fft.rfft(padded[c, k * hop: k * hop + fft_size] * w)
                  for k in range(1 + n // hop)])
        for c in range(2)
    ])
    assert reference.rel_err(spec, ref) <= TOL[dtype]


def test_custom_window_equals_named_window(noise3, reference):
    for dtype in DTYPES:
        x = noise3.astype(dtype)
        for kind in ("hann", "blackman"):
            w = tonecore.window(kind, 2048)
            named = tonecore.stft(x, fft_size=2048, window=kind)
            custom = tonecore.stft(x, fft_size=2048, window=w)
            assert np.array_equal(named, custom)
        # a list works as well (the window, not the signal, may be any real array_like)
        custom = tonecore.stft(x, fft_size=16, hop=8, window=list(tonecore.window("hann", 16)))
        assert np.array_equal(custom, tonecore.stft(x, fft_size=16, hop=8))


def test_arbitrary_custom_window(noise3, reference):
    w = np.random.default_rng(1).uniform(0.1, 2.0, 1000)
    for dtype in DTYPES:
        x = noise3.astype(dtype)
        spec = tonecore.stft(x, fft_size=1000, hop=300, window=w.astype(np.float32))
        ref = reference.stft(x, 1000, 300, w.astype(np.float32))
        assert reference.rel_err(spec, ref) <= TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
def test_input_shorter_than_one_frame_gives_zero_frames(dtype):
    bins = 4096 // 2 + 1
    assert tonecore.stft(np.zeros(4095, dtype)).shape == (0, bins)
    assert tonecore.stft(np.zeros(0, dtype)).shape == (0, bins)
    assert tonecore.stft(np.zeros((2, 100), dtype)).shape == (2, 0, bins)
    assert tonecore.stft(np.zeros(4096, dtype)).shape == (1, bins)
    assert tonecore.stft(np.zeros(0, dtype), center=True).shape == (0, bins)
    out = np.empty((0, bins), np.complex128 if dtype == np.float64 else np.complex64)
    assert tonecore.stft(np.zeros(10, dtype), out=out) is out


def test_zero_channels():
    spec = tonecore.stft(np.zeros((0, 10_000)), fft_size=1024)
    assert spec.shape == (0, 1 + (10_000 - 1024) // 256, 513)


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_is_written_in_place_and_returned(noise3, reference, dtype):
    x = np.ascontiguousarray(np.stack([noise3, -noise3]).astype(dtype))
    frames = 1 + (x.shape[1] - 2048) // 512
    cdtype = np.complex128 if dtype == np.float64 else np.complex64
    out = np.full((2, frames, 1025), np.nan, cdtype)
    address = out.ctypes.data
    r = tonecore.stft(x, fft_size=2048, out=out)
    assert r is out and r.ctypes.data == address
    ref = reference.stft(x, 2048, 512, reference.window("hann", 2048))
    assert reference.rel_err(out, ref) <= TOL[dtype]

    with tonecore.Stft(2048, dtype=dtype) as s:
        out2 = np.zeros_like(out)
        assert s.forward(x, out=out2) is out2
        assert np.array_equal(out2, out)


def test_input_is_not_copied(monkeypatch, noise3):
    """The pointer handed to the library is the array's own buffer."""
    from tonecore import _native

    seen = []
    real = _native.pointer_to

    def spy(array, ctype):
        seen.append(array.ctypes.data)
        return real(array, ctype)

    monkeypatch.setattr(_native, "pointer_to", spy)
    x = noise3
    out = np.empty((1 + (x.size - 1024) // 256, 513), np.complex128)
    tonecore.stft(x, fft_size=1024, out=out)
    assert seen == [x.ctypes.data, out.ctypes.data]


def test_stft_object(noise3, reference):
    with tonecore.Stft(1000, hop=250, window="hamming", dtype=np.float64, threads=1) as s:
        assert (s.fft_size, s.hop, s.bins, s.window, s.threads) == (1000, 250, 501, "hamming", 1)
        assert s.dtype == np.float64 and s.complex_dtype == np.complex128
        assert s.frame_count(999) == 0 and s.frame_count(1000) == 1
        assert s.frame_count(10_000) == 1 + (10_000 - 1000) // 250
        assert s.signal_len(0) == 0 and s.signal_len(5) == 4 * 250 + 1000
        assert not s.closed and "fft_size=1000" in repr(s)
        for _ in range(3):  # reusable
            spec = s.forward(noise3)
            ref = reference.stft(noise3, 1000, 250, reference.window("hamming", 1000))
            assert reference.rel_err(spec, ref) <= 1e-12
    assert s.closed and "closed" in repr(s)
    c = tonecore.Stft(64, center=True)
    assert c.dtype == np.float32 and c.hop == 16 and c.center and c.threads is None
    assert c.frame_count(0) == 0 and c.frame_count(33) == 1 + 33 // 16
    assert c.signal_len(3) == 2 * 16 + 64 - 32  # leading fft_size // 2 of padding trimmed
    c.close()
    c.close()


@pytest.mark.parametrize("value", [np.finfo(np.float32).max, 1.5e6])
def test_finite_but_huge_input_is_refused_not_turned_into_infinite_bins(value):
    # Beyond +-2^20 (+120 dBFS) the float32 transform can overflow: status 5, nothing written.
    x = np.zeros((1, 8192), np.float32)
    x[0, 100] = value
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.stft(x, fft_size=2048)
    assert info.value.status == 5
    y = np.zeros((1, 8192), np.float32)
    y[0, 100] = 2.0 ** 20  # the largest magnitude accepted
    assert np.isfinite(tonecore.stft(y, fft_size=2048)).all()
