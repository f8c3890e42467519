"""Offline equalize (against the streaming Equalizer with its latency removed, thread counts,
progress callbacks) and band energies (against a numpy reference written here)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tonecore
from tonecore import _native

FS = 44100
CRITICAL_EDGES = np.array([
    20, 100, 200, 300, 400, 510, 630, 770, 920, 1080, 1270, 1480, 1720, 2000, 2320, 2700, 3150,
    3700, 4400, 5300, 6400, 7700, 9500, 12000, 15500, 20000,
], dtype=np.float64)


@pytest.fixture(scope="module")
def stereo7():
    """~7 s of 44.1 kHz stereo noise (308,700 samples per channel: several segments), float32."""
    return np.random.default_rng(77).uniform(-0.5, 0.5, (2, 7 * FS)).astype(np.float32)


@pytest.fixture(scope="module")
def gains():
    return np.random.default_rng(8).uniform(-12, 12, 25)


def streaming_without_latency(x, gains, **kwargs):
    """The streaming Equalizer fed x followed by `latency` zeros, first `latency` frames dropped."""
    channels = x.shape[0]
    with tonecore.Equalizer(FS, channels, gains_db=gains, dtype=x.dtype, **kwargs) as eq:
        lat = eq.latency
        padded = np.concatenate([x, np.zeros((channels, lat), x.dtype)], axis=1)
        y = np.empty_like(padded)
        for pos in range(0, padded.shape[1], eq.max_block):
            y[:, pos:pos + eq.max_block] = eq.process(
                np.ascontiguousarray(padded[:, pos:pos + eq.max_block]))
    return y[:, lat:]


# --- equalize ----------------------------------------------------------------------------


def test_equalize_equals_streaming_without_latency(stereo7, gains):
    ref = streaming_without_latency(stereo7, gains)
    got = tonecore.equalize(stereo7, FS, gains)
    assert got.dtype == np.float32 and got.shape == stereo7.shape
    assert np.max(np.abs(got - ref)) <= 1e-6
    assert np.max(np.abs(got)) > 0.1


def test_equalize_float64_octave_step(gains):
    x = np.random.default_rng(3).uniform(-1, 1, (3, 30_000))
    g = gains[:10]
    ref = streaming_without_latency(x, g, layout="octave", mode="step", fft_size=2048)
    got = tonecore.equalize(x, FS, g, layout=tonecore.BandLayout.octave(), mode="step",
                            fft_size=2048)
    assert np.max(np.abs(got - ref)) <= 1e-12


def test_equalize_is_bit_identical_for_any_thread_count(stereo7, gains):
    one = tonecore.equalize(stereo7, FS, gains, threads=1)
    two = tonecore.equalize(stereo7, FS, gains, threads=2)
    default = tonecore.equalize(stereo7, FS, gains)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, default)


def test_equalize_mono_and_out(stereo7, gains, sentinel):
    x = np.ascontiguousarray(stereo7[0, :50_000])
    out = sentinel.array(x.shape, np.float32)
    r = tonecore.equalize(x, FS, gains, out=out)
    assert r is out and r.shape == (50_000,)
    np.testing.assert_array_equal(out, tonecore.equalize(x[None, :].copy(), FS, gains)[0])


def test_flat_equalize_returns_the_input():
    x = np.random.default_rng(1).uniform(-1, 1, (2, 20_000))
    y = tonecore.equalize(x, FS, np.zeros(25))
    assert np.max(np.abs(y - x)) <= 1e-12


@pytest.mark.parametrize("threads", [1, None])
def test_progress_reports_strictly_increasing(stereo7, gains, threads):
    calls = []
    caller = threading.get_ident()
    threads_seen = set()

    def progress(done, total):
        calls.append((done, total))
        threads_seen.add(threading.get_ident())

    tonecore.equalize(stereo7, FS, gains, threads=threads, progress=progress)
    total = calls[-1][1]
    assert total >= 4  # 2 channels x several segments
    assert all(t == total for _, t in calls)
    assert [d for d, _ in calls] == list(range(1, total + 1))
    assert all(isinstance(d, int) and isinstance(t, int) for d, t in calls)
    if threads == 1:
        assert threads_seen == {caller}


@pytest.mark.parametrize("threads", [1, 2])
def test_exception_in_progress_is_reraised_after_the_call(stereo7, gains, threads):
    calls = []

    class Stop(Exception):
        pass

    def progress(done, total):
        calls.append(done)
        if done >= 2:
            raise Stop(f"stop at {done}")

    out = np.zeros_like(stereo7)
    with pytest.raises(Stop, match="stop at 2"):
        tonecore.equalize(stereo7, FS, gains, threads=threads, progress=progress, out=out)
    # the callback is not called again after it raised; the work itself completed
    assert calls == [1, 2]
    np.testing.assert_array_equal(out, tonecore.equalize(stereo7, FS, gains, threads=threads))


def test_equalize_bad_input(stereo7, gains, sentinel, no_native_calls):
    x = np.ascontiguousarray(stereo7[:, :10_000])
    out = sentinel.array(x.shape, np.float32)
    for bad, status in ((gains[:24], 17), (np.r_[gains[:24], np.nan], 5)):
        with pytest.raises(tonecore.InvalidArgument) as info:
            tonecore.equalize(x, FS, bad, out=out)
        assert info.value.status == status
    for kwargs, status in ((dict(sample_rate=0), 13), (dict(fft_size=4095), 7),
                           (dict(layout=[1.0, 0.5]), 16), (dict(threads=5000), 2)):
        args = dict(sample_rate=FS, gains_db=gains, out=out)
        args.update(kwargs)
        with pytest.raises(tonecore.InvalidArgument) as info:
            tonecore.equalize(x, **args)
        assert info.value.status == status, kwargs
    crit = tonecore.BandLayout.critical()
    with no_native_calls():
        with pytest.raises(TypeError):
            tonecore.equalize(x.astype(np.int16), FS, gains, layout=crit)
        with pytest.raises(ValueError, match="contiguous"):
            tonecore.equalize(stereo7[:, ::2], FS, gains, layout=crit)
        with pytest.raises(ValueError, match="shape"):
            tonecore.equalize(x, FS, gains, layout=crit, out=sentinel.array((2, 9_999), np.float32))
        with pytest.raises(TypeError):
            tonecore.equalize(x, FS, gains, layout=crit, out=np.empty(x.shape, np.float64))
        with pytest.raises(TypeError, match="callable"):
            tonecore.equalize(x, FS, gains, layout=crit, progress=42)
        with pytest.raises(ValueError, match="mode"):
            tonecore.equalize(x, FS, gains, layout=crit, mode="steps")
    assert sentinel.untouched(out)


def test_equalize_empty_inputs(gains):
    assert tonecore.equalize(np.zeros((2, 0)), FS, gains).shape == (2, 0)
    assert tonecore.equalize(np.zeros((0, 100)), FS, gains).shape == (0, 100)
    with pytest.raises(tonecore.InvalidArgument):  # settings are still checked
        tonecore.equalize(np.zeros((0, 100)), FS, gains[:3])


def test_two_python_threads_equalize_independently(gains):
    """Two Python threads, each running equalize (threads=1) on its own buffers at the same time
    (ctypes releases the GIL), get exactly the sequential results."""
    rng = np.random.default_rng(21)
    inputs = [rng.uniform(-1, 1, (2, 2 * FS)).astype(np.float32) for _ in range(2)]
    settings = [gains, -gains]
    expected = [tonecore.equalize(x, FS, g, threads=1) for x, g in zip(inputs, settings)]
    results = [[], []]
    errors = []
    barrier = threading.Barrier(2)

    def run(i):
        try:
            barrier.wait()
            for _ in range(3):
                results[i].append(tonecore.equalize(inputs[i], FS, settings[i], threads=1))
        except BaseException as e:  # noqa: BLE001
            errors.append(repr(e))

    ts = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not errors, errors
    for i in range(2):
        assert len(results[i]) == 3
        for r in results[i]:
            np.testing.assert_array_equal(r, expected[i])


# --- band energies -----------------------------------------------------------------------


def ref_band_energies(x, edges, sr, n, hop):
    """numpy reference: mono mean, frames at k*hop, rfft(frame * hanning), coherent-gain
    compensated magnitude in dB, averaged over each band's bins (-200 dB for empty bands)."""
    x = np.asarray(x, dtype=np.float64)
    mono = x if x.ndim == 1 else x.mean(axis=0)
    w = np.hanning(n)
    cg = w.mean()
    f = np.linspace(0, sr // 2, n // 2 + 1)
    bands = len(edges) - 1
    bmap = np.clip(np.searchsorted(edges, f, "right") - 1, 0, bands - 1)
    frames = 1 + (mono.size - n) // hop if mono.size >= n else 0
    out = np.full((frames, bands), -200.0)
    for k in range(frames):
        X = np.fft.rfft(mono[k * hop:k * hop + n] * w)
        db = 20 * np.log10(np.abs(X) / cg + 1e-10)
        for b in range(bands):
            sel = bmap == b
            if sel.any():
                out[k, b] = db[sel].mean()
    return out


@pytest.mark.parametrize(
    "layout, n, hop",
    [(None, 4096, None), ("octave", 2048, 512), ("third_octave", 1024, 1000),
     ([0.0, 500.0, 3000.0, 10000.0], 256, 256), (None, 256, 100)],
)
def test_band_energies_equal_numpy_reference(layout, n, hop):
    rng = np.random.default_rng(n)
    x = rng.uniform(-1, 1, (2, 30_000)) * np.array([[1.0], [0.25]])
    got = tonecore.band_energies(x, FS, layout=layout, fft_size=n, hop=hop)
    if layout is None:
        edges = CRITICAL_EDGES
    elif isinstance(layout, str):
        edges = getattr(tonecore.BandLayout, layout)().edges
    else:
        edges = np.asarray(layout, dtype=np.float64)
    ref = ref_band_energies(x, edges, FS, n, hop or n // 2)
    assert got.dtype == np.float64 and got.shape == ref.shape
    assert ref.shape[0] > 5
    assert np.max(np.abs(got - ref)) <= 1e-9


def test_band_energies_mono_float32_threads_and_out(sentinel):
    x = np.random.default_rng(2).uniform(-1, 1, 20_000).astype(np.float32)
    ref = ref_band_energies(x, CRITICAL_EDGES, FS, 4096, 2048)
    got = tonecore.band_energies(x, FS)
    assert got.shape == ref.shape == (8, 25)
    assert np.max(np.abs(got - ref)) <= 1e-3  # single-precision FFT
    out = sentinel.array(ref.shape, np.float64)
    r = tonecore.band_energies(x, FS, threads=1, out=out)
    assert r is out
    np.testing.assert_array_equal(out, tonecore.band_energies(x, FS, threads=2))
    np.testing.assert_array_equal(out, got)


def test_band_energies_of_a_sine():
    """Units: a sine of amplitude A on bin k reads 20*log10(A * N / 2) dB at that bin (the
    window's coherent gain is divided out, the FFT is unscaled)."""
    n = 4096
    k = 372  # ~4005 Hz
    a = 0.5
    x = a * np.sin(2 * np.pi * k / n * np.arange(3 * n))
    e = tonecore.band_energies(x, FS, layout=np.array([0.0, 3990.0, 4020.0, 22050.0]),
                               fft_size=n, hop=n)
    # band 1 holds bins 371..373: the peak and its two Hann neighbours (about -6 dB each)
    peak = a * n / 2
    expected = np.mean(20 * np.log10(np.array([peak / 2, peak, peak / 2])))
    np.testing.assert_allclose(e[:, 1], expected, atol=0.01)


def test_band_energies_short_input_and_errors(sentinel, no_native_calls):
    assert tonecore.band_energies(np.zeros(100), FS).shape == (0, 25)
    x = np.zeros((2, 10_000))
    out = sentinel.array((3, 25), np.float64)
    x_nan = x.copy()
    x_nan[1, 5] = np.nan
    for args, kwargs, status in [
        ((x_nan, FS), {}, 5),
        ((x, 0), {}, 13),
        ((x, FS), dict(fft_size=4095), 7),
        ((x, FS), dict(hop=0), 8),
        ((x, FS), dict(hop=5000), 8),
        ((x, FS), dict(layout=[3.0, 2.0]), 16),
    ]:
        with pytest.raises(tonecore.InvalidArgument) as info:
            tonecore.band_energies(*args, out=out if "fft_size" not in kwargs else None, **kwargs)
        assert info.value.status == status, (kwargs, info.value)
    assert sentinel.untouched(out)
    crit = tonecore.BandLayout.critical()
    with no_native_calls():
        with pytest.raises(TypeError):
            tonecore.band_energies(x.astype(np.int32), FS, layout=crit)
        with pytest.raises(ValueError, match="channels"):
            tonecore.band_energies(np.zeros((0, 10_000)), FS, layout=crit)
        with pytest.raises(ValueError, match="dimensional"):
            tonecore.band_energies(np.zeros((1, 2, 10_000)), FS, layout=crit)
        with pytest.raises(TypeError):
            tonecore.band_energies(x, FS, layout=crit, out=np.empty((3, 25), np.float32))
    with pytest.raises(ValueError, match="shape"):
        tonecore.band_energies(x, FS, out=sentinel.array((4, 25), np.float64))


def test_status_strings_of_the_new_statuses():
    for code in range(13, 18):
        s = tonecore.status_str(code)
        assert s and s != "unknown status"
    assert (_native.STATUS_INVALID_SAMPLE_RATE, _native.STATUS_INVALID_CHANNELS,
            _native.STATUS_BLOCK_TOO_LARGE, _native.STATUS_INVALID_BANDS,
            _native.STATUS_GAIN_COUNT) == (13, 14, 15, 16, 17)
