"""Inverse STFT: reconstruction of the forward transform's input (the reference is the signal)."""

from __future__ import annotations

import numpy as np
import pytest

import tonecore

TOL = {np.float64: 1e-12, np.float32: 1e-6}
DTYPES = [np.float64, np.float32]
COMPLEX = {np.float64: np.complex128, np.float32: np.complex64}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "window, fft_size, hop",
    [("hann", 4096, 2048), ("hann", 4096, 1024), ("sqrt_hann", 4096, 2048),
     ("hann", 2062, 1031), ("hann", 4094, 1023), ("sqrt_hann", 1000, 500)],
)
def test_reconstruction_away_from_edges(noise60, dtype, window, fft_size, hop):
    x = noise60[: 20 * 44100].astype(dtype)
    spec = tonecore.stft(x, fft_size=fft_size, hop=hop, window=window)
    y = tonecore.istft(spec, hop=hop, window=window)
    assert y.dtype == dtype
    frames = spec.shape[0]
    assert y.shape == ((frames - 1) * hop + fft_size,)
    n = fft_size
    err = np.max(np.abs(y[n:-n].astype(np.float64) - x[n: y.size - n].astype(np.float64)))
    assert err <= TOL[dtype], err


@pytest.mark.parametrize("dtype", DTYPES)
def test_multichannel_reconstruction(dtype):
    x = np.random.default_rng(2).uniform(-1, 1, (2, 100_000)).astype(dtype)
    spec = tonecore.stft(x, fft_size=2048, hop=512)
    y = tonecore.istft(spec, hop=512, length=x.shape[1])
    assert y.shape == x.shape and y.dtype == dtype
    err = np.max(np.abs(y[:, 2048:-2048].astype(np.float64) - x[:, 2048:-2048]))
    assert err <= TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
def test_centered_reconstruction_everywhere(dtype):
    for n in (1024 * 40, 1024 * 40 + 777):
        x = np.random.default_rng(3).uniform(-1, 1, n).astype(dtype)
        spec = tonecore.stft(x, fft_size=4096, hop=1024, center=True)
        natural = tonecore.istft(spec, hop=1024, center=True)
        # (frames - 1) * hop + fft_size - fft_size // 2, with frames = 1 + n // hop: covers n.
        assert natural.shape == ((n // 1024) * 1024 + 2048,)
        y = tonecore.istft(spec, hop=1024, center=True, length=n)
        assert y.shape == (n,)
        assert np.max(np.abs(y.astype(np.float64) - x)) <= TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
def test_length_trims_or_zero_pads(dtype):
    x = np.random.default_rng(4).uniform(-1, 1, (2, 20_000)).astype(dtype)
    spec = tonecore.stft(x, fft_size=1024, hop=256)
    natural = (spec.shape[1] - 1) * 256 + 1024
    for length in (natural, natural - 1, 5_000, 0, natural + 1, 30_000):
        y = tonecore.istft(spec, hop=256, length=length)
        assert y.shape == (2, length) and y.dtype == dtype
        keep = min(length, natural)
        a, b = 1024, keep - 1024
        if b > a:
            assert np.max(np.abs(y[:, a:b].astype(np.float64) - x[:, a:b])) <= TOL[dtype]
        assert np.all(y[:, natural:] == 0)
    # mono, longer than natural (written in place, tail zeroed)
    y = tonecore.istft(np.ascontiguousarray(spec[0]), hop=256, length=natural + 100)
    assert y.shape == (natural + 100,) and np.all(y[natural:] == 0)
    assert np.max(np.abs(y[1024:natural - 1024].astype(np.float64) - x[0, 1024:natural - 1024])) \
        <= TOL[dtype]


@pytest.mark.parametrize("length", [None, 10_000, 30_000])
def test_out_identity(length):
    x = np.random.default_rng(5).uniform(-1, 1, (2, 20_000))
    spec = tonecore.stft(x, fft_size=1024, hop=256)
    natural = (spec.shape[1] - 1) * 256 + 1024
    out = np.full((2, natural if length is None else length), np.nan)
    y = tonecore.istft(spec, hop=256, length=length, out=out)
    assert y is out
    m = min(out.shape[1], natural) - 1024
    assert np.max(np.abs(out[:, 1024:m] - x[:, 1024:m])) <= 1e-12
    assert not np.any(np.isnan(out))


def test_fft_size_inferred_and_checked():
    spec = np.zeros((3, 513), np.complex128)
    assert tonecore.istft(spec).shape == (2 * 256 + 1024,)
    assert tonecore.istft(spec, fft_size=1024).shape == (2 * 256 + 1024,)
    with pytest.raises(tonecore.InvalidArgument) as info:  # 1025 // 2 + 1 == 513, but odd
        tonecore.istft(spec, fft_size=1025)
    assert info.value.status == 7
    with pytest.raises(ValueError):
        tonecore.istft(spec, fft_size=2048)
    with pytest.raises(ValueError):
        tonecore.istft(np.zeros((3, 1), np.complex128))


def test_zero_frames():
    assert tonecore.istft(np.zeros((0, 513), np.complex64)).shape == (0,)
    assert tonecore.istft(np.zeros((2, 0, 513), np.complex64)).dtype == np.float32
    assert tonecore.istft(np.zeros((2, 0, 513)).astype(np.complex128), length=7).shape == (2, 7)


def test_stft_object_round_trip():
    x = np.random.default_rng(6).uniform(-1, 1, 30_000).astype(np.float32)
    with tonecore.Stft(2048, hop=512, dtype=np.float32) as s:
        spec = s.forward(x)
        assert spec.dtype == np.complex64
        y = s.inverse(spec, length=x.size)
        assert y.dtype == np.float32 and y.shape == x.shape
        assert np.max(np.abs(y[2048:-2048] - x[2048:-2048])) <= 1e-6
        out = np.empty(s.signal_len(spec.shape[0]), np.float32)
        assert s.inverse(spec, out=out) is out


@pytest.mark.parametrize("threads", [1, 2, 3, None])
def test_inverse_threads_multichannel(threads):
    """Parallel runs of the inverse split the (channel, sample) space across channel borders."""
    x = np.random.default_rng(8).uniform(-1, 1, (3, 12_345))
    spec = tonecore.stft(x, fft_size=1000, hop=250, threads=threads)
    y = tonecore.istft(spec, hop=250, threads=threads, length=x.shape[1])
    assert np.max(np.abs(y[:, 1000:-1000] - x[:, 1000:-1000])) <= 1e-12
    # Up to the edges: samples where the overlap-added square of the window (computed here with
    # scipy's window) exceeds 1e-10 are reconstructed, the others are exactly 0.
    import scipy.signal

    frames = spec.shape[1]
    natural = (frames - 1) * 250 + 1000
    norm = np.zeros(natural)
    w2 = scipy.signal.get_window("hann", 1000) ** 2
    for k in range(frames):
        norm[k * 250: k * 250 + 1000] += w2
    covered = norm > 1e-10
    assert 0 < np.count_nonzero(~covered) < 10
    assert np.max(np.abs(y[:, :natural][:, covered] - x[:, :natural][:, covered])) <= 1e-9
    assert np.all(y[:, :natural][:, ~covered] == 0)
    assert np.all(y[:, natural:] == 0)
