"""tonecore.compat.auralis against numpy implementations of the host's formulas, written here.

Every reference below is the Auralis player's computation transcribed into plain numpy (frame
loops, boolean masks, ``numpy.fft``), independent of tonecore's code; each contract item is
checked at the tolerance the compatibility issue states.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from tonecore.compat import auralis as A

RNG = np.random.default_rng(2024)
CRITICAL_EDGES = [
    20.0, 100.0, 200.0, 300.0, 400.0, 510.0, 630.0, 770.0, 920.0, 1080.0, 1270.0, 1480.0,
    1720.0, 2000.0, 2320.0, 2700.0, 3150.0, 3700.0, 4400.0, 5300.0, 6400.0, 7700.0, 9500.0,
    12000.0, 15500.0, 20000.0,
]


def rel(got: np.ndarray, ref: np.ndarray) -> float:
    assert got.shape == ref.shape, (got.shape, ref.shape)
    return float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-300))


# -- 1. hann_window ------------------------------------------------------------------------------


def test_hann_window_is_numpy_hanning_bit_for_bit_read_only_and_cached():
    for n in list(range(0, 300)) + [1023, 4096, 4097, 8192, 16384, 44100]:
        w = A.hann_window(n)
        assert w.dtype == np.float64 and w.shape == (n,)
        assert np.array_equal(w.view(np.uint64), np.hanning(n).view(np.uint64)), n
    w = A.hann_window(4096)
    assert A.hann_window(4096) is w
    assert not w.flags.writeable
    with pytest.raises(ValueError):
        w[0] = 1.0
    with pytest.raises(ValueError):
        A.hann_window(-1)
    with pytest.raises(TypeError):
        A.hann_window(4.0)


# -- 2. ParallelFFTProcessor ---------------------------------------------------------------------


def ref_windowed_fft(audio, n, hop=None, window=None):
    """The host's parallel_windowed_fft, serially."""
    hop = n // 2 if hop is None else hop
    w = np.hanning(n) if window is None else np.asarray(window, dtype=np.float64)
    if len(audio) < n:
        padded = np.zeros(n, dtype=audio.dtype)
        padded[: len(audio)] = audio
        return [np.fft.fft(padded * w, n)]
    return [np.fft.fft(audio[i : i + n] * w, n) for i in range(0, len(audio) - n + 1, hop)]


@pytest.mark.parametrize(
    "n,hop,length",
    [(4096, None, 44100), (1024, 256, 20000), (1023, 300, 5000), (64, 100, 1000), (512, None, 100)],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_parallel_windowed_fft_and_stft_match_numpy(n, hop, length, dtype):
    x = RNG.uniform(-1, 1, length).astype(dtype)
    before = x.copy()
    p = A.ParallelFFTProcessor()
    got = p.parallel_windowed_fft(x, n, hop)
    ref = ref_windowed_fft(x, n, hop)
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        assert g.dtype == np.complex128 and g.shape == (n,)
        assert rel(g, r) < 1e-12
    stft = p.parallel_stft(x, n, hop)
    ref_stft = np.column_stack([f[: n // 2 + 1] for f in ref])
    assert stft.shape == ref_stft.shape and stft.flags.c_contiguous
    assert rel(stft, ref_stft) < 1e-12
    serial = A.ParallelFFTProcessor(A.ParallelConfig(enable_parallel=False))
    assert np.array_equal(serial.parallel_stft(x, n, hop), stft)
    assert np.array_equal(x, before)


def test_parallel_fft_custom_window_default_hop_and_get_window():
    x = RNG.standard_normal(10000)
    w = RNG.uniform(0.1, 1.0, 2048)
    p = A.ParallelFFTProcessor(A.ParallelConfig(max_workers=3))
    got = p.parallel_windowed_fft(x, 2048, window=w)
    ref = ref_windowed_fft(x, 2048, None, w)
    assert len(got) == len(ref) == 1 + (10000 - 2048) // 1024
    assert max(rel(g, r) for g, r in zip(got, ref)) < 1e-12
    gw = p.get_window(2048)
    assert np.array_equal(gw, np.hanning(2048)) and not gw.flags.writeable


def test_parallel_fft_nan_propagates_to_the_frames_holding_it():
    x = RNG.standard_normal(8192)
    x[5000] = np.nan
    got = A.ParallelFFTProcessor().parallel_windowed_fft(x, 1024, 512)
    ref = ref_windowed_fft(x, 1024, 512)
    for k, (g, r) in enumerate(zip(got, ref)):
        holds = k * 512 <= 5000 < k * 512 + 1024
        assert np.all(np.isnan(g)) == holds
        if not holds:
            assert rel(g, r) < 1e-12


def test_parallel_fft_bad_input():
    p = A.ParallelFFTProcessor()
    with pytest.raises(ValueError):
        p.parallel_stft(np.zeros((100, 2)), 64)
    with pytest.raises(TypeError):
        p.parallel_stft(np.zeros(100, dtype=np.int16), 64)
    with pytest.raises(TypeError):
        p.parallel_stft([0.0] * 100, 64)
    with pytest.raises(ValueError):
        p.parallel_stft(np.zeros(100), 1)
    with pytest.raises(ValueError):
        p.parallel_stft(np.zeros(100), 64, 0)
    with pytest.raises(ValueError):
        p.parallel_windowed_fft(np.zeros(100), 64, window=np.ones(63))


# -- 3.–5. bands, band map, gain curve -------------------------------------------------------------


def ref_weight(c):
    if 1000 <= c <= 4000:
        return 1.0
    if 300 <= c <= 8000:
        return 0.8
    if 100 <= c <= 300 or 8000 <= c <= 16000:
        return 0.6
    return 0.3


@pytest.mark.parametrize("first", [20.0, 0.0, 50.0])
def test_critical_bands(first):
    bands = A.critical_bands(first)
    edges = [first] + CRITICAL_EDGES[1:]
    assert len(bands) == 25
    for i, b in enumerate(bands):
        low, high = edges[i], edges[i + 1]
        assert (b.index, b.low_freq, b.high_freq, b.bandwidth) == (i, low, high, high - low)
        assert b.center_freq == np.sqrt(low * high)
        assert b.weight == ref_weight(np.sqrt(low * high))
    for bad in (100.0, -1.0, float("nan")):
        with pytest.raises(ValueError):
            A.critical_bands(bad)


def ref_band_map(sr, n, edges):
    freqs = np.linspace(0, sr // 2, n // 2 + 1)
    return np.clip(np.searchsorted(edges, freqs, side="right") - 1, 0, len(edges) - 2)


@pytest.mark.parametrize("sr", [44100, 48000, 22050, 96000, 8000, 44101])
@pytest.mark.parametrize("n", [2, 256, 1000, 4096, 4098, 8192])
def test_band_map_is_integer_exact(sr, n):
    got = A.band_map(sr, n)
    assert got.dtype == np.int64
    assert np.array_equal(got, ref_band_map(sr, n, np.array(CRITICAL_EDGES)))
    # The host's first edge of 0 Hz gives the same map.
    assert np.array_equal(got, ref_band_map(sr, n, np.array([0.0] + CRITICAL_EDGES[1:])))
    edges = np.sort(RNG.uniform(0, sr / 2, 12))
    assert np.array_equal(A.band_map(sr, n, edges), ref_band_map(sr, n, edges))


def test_band_map_bad_input():
    with pytest.raises(ValueError):
        A.band_map(44100, 4095)
    with pytest.raises(ValueError):
        A.band_map(0, 4096)
    for edges in ([100.0], [200.0, 100.0], [0.0, np.nan], [-1.0, 5.0]):
        with pytest.raises(ValueError):
            A.band_map(44100, 4096, edges)


def ref_gain_curve(gains, band_map):
    curve = np.ones(len(band_map))
    lin = 10 ** (np.asarray(gains, dtype=np.float64) / 20)
    for i, g in enumerate(lin):
        curve[band_map == i] = g
    return curve


def test_gain_curve_within_1e15_and_bands_without_gain_stay_at_one():
    bm = A.band_map(44100, 4096)
    gains = RNG.uniform(-24, 24, 25)
    got = A.gain_curve(gains, bm)
    assert got.dtype == np.float64 and got.shape == (2049,)
    assert rel(got, ref_gain_curve(gains, bm)) <= 1e-15
    weird = np.array([-1, 0, 3, 25, 99, 2], dtype=np.int32)
    got = A.gain_curve(gains[:3], weird)
    np.testing.assert_allclose(got, ref_gain_curve(gains[:3], weird.astype(np.int64)), rtol=1e-15)
    assert got[0] == got[3] == got[4] == 1.0
    with pytest.raises(TypeError):
        A.gain_curve(gains, bm.astype(np.float64))


# -- 6. frame EQ ---------------------------------------------------------------------------------


def ref_eq_mono(x, gains, bm, n):
    """The host's vectorized frame EQ of one channel (float64)."""
    spectrum = np.fft.fft(np.asarray(x, dtype=np.float64)[:n])
    bins = n // 2 + 1
    curve = np.ones(bins)
    lin = 10 ** (np.asarray(gains) / 20)
    for i, g in enumerate(lin):
        curve[bm == i] = g
    spectrum[:bins] *= curve
    spectrum[bins:] *= curve[1:-1][::-1]
    return np.real(np.fft.ifft(spectrum))[: len(x)]


def ref_apply_eq(frame, gains, bm, n):
    length = len(frame)
    if frame.ndim == 1:
        padded = np.zeros(n)
        padded[:length] = frame
        return ref_eq_mono(padded, gains, bm, n)[:length]
    padded = np.zeros((n, frame.shape[1]))
    padded[:length] = frame
    return np.column_stack(
        [ref_eq_mono(padded[:, c], gains, bm, n) for c in range(frame.shape[1])]
    )[:length]


@pytest.mark.parametrize("shape", [(4096,), (4096, 2), (3000, 2), (1000,), (4096, 1), (17, 3)])
def test_apply_eq_frame_matches_the_host_within_1e12(shape):
    n = 4096
    bm = A.band_map(44100, n)
    gains = RNG.uniform(-12, 12, 25)
    x = RNG.uniform(-1, 1, shape)
    before = x.copy()
    got = A.apply_eq_frame(x, gains, bm, n)
    assert got.shape == x.shape and got.dtype == np.float64
    assert np.max(np.abs(got - ref_apply_eq(x, gains, bm, n))) < 1e-12
    assert np.array_equal(x, before)
    assert np.array_equal(A.VectorizedEQProcessor().apply_eq_gains_vectorized(x, gains, bm, n), got)
    assert np.array_equal(A.ParallelEQProcessor().apply_eq_gains_parallel(x, gains, bm, n), got)


def test_apply_eq_frame_float32_and_non_contiguous_input():
    n = 2048
    bm = A.band_map(48000, n)
    gains = RNG.uniform(-12, 12, 25)
    x = RNG.uniform(-1, 1, (n, 2)).astype(np.float32)
    got = A.apply_eq_frame(x, gains, bm, n)
    assert got.dtype == np.float32 and got.shape == x.shape
    assert rel(got.astype(np.float64), ref_apply_eq(x.astype(np.float64), gains, bm, n)) < 1e-6
    col = np.asfortranarray(RNG.uniform(-1, 1, (n, 2)))
    assert np.max(np.abs(A.apply_eq_frame(col, gains, bm, n) - ref_apply_eq(col, gains, bm, n))) < 1e-12


def test_apply_eq_frame_bad_input():
    bm = A.band_map(44100, 1024)
    g = np.zeros(25)
    with pytest.raises(ValueError, match="exceeds fft_size"):
        A.apply_eq_frame(np.zeros(1025), g, bm, 1024)
    with pytest.raises(ValueError, match="even"):
        A.apply_eq_frame(np.zeros(100), g, A.band_map(44100, 1024), 1023)
    with pytest.raises(ValueError):
        A.apply_eq_frame(np.zeros(100), g, bm[:-1], 1024)
    with pytest.raises(ValueError):
        A.apply_eq_frame(np.zeros((10, 2, 2)), g, bm, 1024)
    with pytest.raises(ValueError):
        A.apply_eq_frame(np.zeros((10, 0)), g, bm, 1024)
    with pytest.raises(TypeError):
        A.apply_eq_frame(np.zeros(100, dtype=np.complex128), g, bm, 1024)


def test_apply_eq_frame_nan_spreads_over_its_channel_only():
    bm = A.band_map(44100, 256)
    x = RNG.standard_normal((200, 2))
    x[10, 0] = np.nan
    got = A.apply_eq_frame(x, np.ones(25), bm, 256)
    assert np.all(np.isnan(got[:, 0]))
    assert np.max(np.abs(got[:, 1] - ref_apply_eq(x[:, 1], np.ones(25), bm, 256))) < 1e-12


# -- 7. eq_process_buffer ------------------------------------------------------------------------


class RefAdaptiveEq:
    """The host's PsychoacousticEQ analysis + gain stepping + vectorized EQ, and the WOLA loop
    around it, transcribed into numpy."""

    def __init__(self, sr, n, speed, first=20.0, legacy=False):
        self.sr, self.n, self.speed, self.legacy = sr, n, speed, legacy
        self.edges = [first] + CRITICAL_EDGES[1:]
        self.weights = [ref_weight(np.sqrt(self.edges[i] * self.edges[i + 1])) for i in range(25)]
        self.bm = ref_band_map(sr, n, np.array(self.edges))
        self.current = np.zeros(25)

    def analyze(self, chunk):
        mono = np.mean(chunk, axis=1) if chunk.ndim == 2 else chunk
        w = np.hanning(self.n)
        if self.legacy:  # the host before its changes #3428 and #4101
            spectrum = np.fft.fft(mono[: self.n] * w)
        else:
            spectrum = np.fft.fft(mono[: self.n] * w / np.mean(w))
        mag = np.abs(spectrum[: self.n // 2 + 1])
        mag_db = 20 * np.log10(mag + 1e-10) + (6.02 if self.legacy else 0.0)
        energies = np.zeros(25)
        for i in range(25):
            mask = self.bm == i
            if np.any(mask):
                energies[i] = np.mean(mag_db[mask])
        thresholds = np.full(25, -60.0)
        for i in range(25):
            start = int(self.edges[i] * len(mag) * 2 / self.sr)
            end = int(self.edges[i + 1] * len(mag) * 2 / self.sr)
            start, end = max(0, start), min(len(mag), end)
            if end > start:
                t = 20 * np.log10(np.max(mag[start:end]) + 1e-10) - 20
                thresholds[i] = max(t, -80.0)
        return energies, thresholds

    def step(self, energies, thresholds, target):
        energies = np.where(np.isfinite(energies), energies, 0.0)
        thresholds = np.where(np.isfinite(thresholds), thresholds, 0.0)
        gains = np.zeros(25)
        for i in range(25):
            g = target[i] if i < len(target) else 0.0
            if energies[i] < thresholds[i]:
                g *= 0.5
            gains[i] = np.clip(g * self.weights[i], -12.0, 12.0)
        self.current = self.current + (gains - self.current) * self.speed
        return self.current

    def process(self, audio, target):
        n, hop = self.n, self.n // 2
        audio64 = audio.astype(np.float64)
        out = np.zeros_like(audio64)
        wnorm = np.zeros(len(audio))
        w = np.hanning(n)
        for i in range(0, len(audio), hop):
            end = min(i + n, len(audio))
            chunk = np.zeros((n,) + audio.shape[1:], dtype=audio.dtype)
            chunk[: end - i] = audio[i:end]
            e, t = self.analyze(chunk)
            gains = self.step(e, t, target)
            y = ref_apply_eq(chunk.astype(np.float64), gains, self.bm, n)
            valid = end - i
            if audio.ndim == 2:
                out[i:end] += y[:valid] * w[:valid, None]
            else:
                out[i:end] += y[:valid] * w[:valid]
            wnorm[i:end] += w[:valid]
        norm = np.maximum(wnorm, 1e-8)
        return out / (norm[:, None] if audio.ndim == 2 else norm)


@pytest.mark.parametrize(
    "shape,n,sr,speed,first",
    [((30000, 2), 1024, 44100, 0.8, 20.0), ((20000,), 2048, 48000, 0.3, 0.0),
     ((7000, 3), 512, 22050, 1.0, 20.0)],
)
def test_eq_process_buffer_matches_the_host_loop(shape, n, sr, speed, first):
    x = RNG.uniform(-1, 1, shape) * np.linspace(0.01, 1, shape[0]).reshape(-1, *([1] * (len(shape) - 1)))
    target = RNG.uniform(-10, 10, 20)
    before = x.copy()
    ref = RefAdaptiveEq(sr, n, speed, first)
    state = A.AdaptiveEqState()
    got = A.eq_process_buffer(x, target, sr, n, speed, state, first_edge_hz=first)
    want = ref.process(x, target)
    assert got.shape == x.shape and got.dtype == x.dtype
    assert np.max(np.abs(got - want)) < 1e-9
    assert np.max(np.abs(state.current_gains - ref.current)) < 1e-9
    # The state carries into the next call exactly as the host's does.
    got2 = A.eq_process_buffer(x[::-1].copy(), target, sr, n, speed, state, first_edge_hz=first)
    assert np.max(np.abs(got2 - ref.process(x[::-1].copy(), target))) < 1e-9
    assert np.array_equal(x, before)
    one = A.eq_process_buffer(x, target, sr, n, speed, first_edge_hz=first, threads=1)
    assert np.array_equal(one, got)
    # The older analysis, kept behind its option.
    old = RefAdaptiveEq(sr, n, speed, first, legacy=True)
    got = A.eq_process_buffer(x, target, sr, n, speed, first_edge_hz=first,
                              analysis="pre-3428-4101")
    assert np.max(np.abs(got - old.process(x, target))) < 1e-9


def test_eq_process_buffer_zero_target_and_state_is_identity_except_sample_zero():
    x = RNG.uniform(-1, 1, (44100, 2))
    y = A.eq_process_buffer(x, np.zeros(25))
    assert np.all(y[0] == 0.0)
    assert np.max(np.abs(y[1:] - x[1:])) < 1e-9


def test_eq_process_buffer_float32():
    x = RNG.uniform(-1, 1, (12000, 2)).astype(np.float32)
    target = RNG.uniform(-6, 6, 25)
    got = A.eq_process_buffer(x, target, 44100, 1024)
    assert got.dtype == np.float32
    want = RefAdaptiveEq(44100, 1024, 0.8).process(x, target)
    assert rel(got.astype(np.float64), want) < 1e-6


def test_eq_process_buffer_nan_input_and_target_follow_the_host():
    x = RNG.uniform(-1, 1, (6000, 2))
    x[2500, 1] = np.nan
    target = RNG.uniform(-6, 6, 25)
    got = A.eq_process_buffer(x, target, 44100, 1024)
    want = RefAdaptiveEq(44100, 1024, 0.8).process(x, target)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    assert np.max(np.abs(got[ok] - want[ok])) < 1e-9
    target[3] = np.nan
    state = A.AdaptiveEqState()
    A.eq_process_buffer(np.zeros(2048), target, 44100, 1024, 0.8, state)
    assert np.isnan(state.current_gains[3]) and np.isfinite(state.current_gains[4])


def test_eq_process_buffer_bad_input_changes_nothing():
    state = A.AdaptiveEqState()
    state.current_gains = np.arange(25.0)
    x = np.zeros(4096)
    with pytest.raises(ValueError):
        A.eq_process_buffer(x, np.zeros(25), 44100, 1023, 0.8, state)
    with pytest.raises(ValueError):
        A.eq_process_buffer(x, np.zeros(25), 44100, 1024, float("nan"), state)
    with pytest.raises(ValueError):
        A.eq_process_buffer(x, np.zeros(25), 0, 1024, 0.8, state)
    with pytest.raises(ValueError):
        A.eq_process_buffer(x, np.zeros(25), 44100, 1024, 0.8, state, first_edge_hz=100.0)
    with pytest.raises(TypeError):
        A.eq_process_buffer(x.astype(np.int16), np.zeros(25), 44100, 1024, 0.8, state)
    with pytest.raises(TypeError):
        A.eq_process_buffer(x, np.zeros(25), 44100, 1024, 0.8, state=np.zeros(25))
    with pytest.raises(ValueError):
        state.current_gains = np.zeros(24)
    assert np.array_equal(state.current_gains, np.arange(25.0))
    assert A.eq_process_buffer(np.zeros((0, 2)), np.zeros(25), state=state).shape == (0, 2)
    assert np.array_equal(state.current_gains, np.arange(25.0))


# -- 8.–10. crossfades, crossfader, geometry --------------------------------------------------------


def ref_crossfade(chunk1, chunk2, overlap):
    actual = min(overlap, len(chunk1), len(chunk2))
    if actual <= 0:
        return np.concatenate([chunk1, chunk2], axis=0)
    t = np.linspace(0.0, np.pi / 2, actual)
    fade_out, fade_in = np.cos(t) ** 2, np.sin(t) ** 2
    if chunk1.ndim == 2:
        fade_out, fade_in = fade_out[:, None], fade_in[:, None]
    mixed = chunk1[-actual:] * fade_out + chunk2[:actual] * fade_in
    return np.concatenate([chunk1[:-actual], mixed, chunk2[actual:]], axis=0)


@pytest.mark.parametrize("overlap", [-3, 0, 1, 2, 500, 2999, 3000, 5000])
@pytest.mark.parametrize("shape2", [(3000,), (3000, 2)])
def test_crossfade_concat_matches_the_host(overlap, shape2):
    a = RNG.standard_normal((4000,) + shape2[1:])
    b = RNG.standard_normal(shape2)
    got = A.crossfade_concat(a, b, overlap)
    want = ref_crossfade(a, b, overlap)
    assert got.shape == want.shape and got.dtype == np.float64
    assert np.max(np.abs(got - want)) < 1e-12
    got32 = A.crossfade_concat(a.astype(np.float32), b.astype(np.float32), overlap)
    want32 = ref_crossfade(a.astype(np.float32), b.astype(np.float32), overlap)
    # The host's dtype: float64 once a crossfade is mixed, float32 for a plain concatenation.
    assert got32.dtype == want32.dtype
    assert np.max(np.abs(got32 - want32)) < 1e-12


def test_crossfade_concat_bad_input():
    with pytest.raises(ValueError):
        A.crossfade_concat(np.zeros((10, 2)), np.zeros((10, 3)), 4)
    with pytest.raises(ValueError):
        A.crossfade_concat(np.zeros((10, 2)), np.zeros(10), 4)
    with pytest.raises(TypeError):
        A.crossfade_concat(np.zeros(10), np.zeros(10, dtype=np.int16), 4)


def chunks_of(track, core, xfade):
    """(processed, core, is_last) of a track cut into cores with an xfade-long tail each."""
    out = []
    for start in range(0, len(track), core):
        last = start + core >= len(track)
        out.append((track[start : start + core + (0 if last else xfade)], core, last))
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_chunk_crossfader_reproduces_a_ramp_and_total_length(dtype):
    ramp = np.arange(10007, dtype=np.float64)
    track = np.stack([ramp, -ramp], axis=1).astype(dtype)
    cf = A.ChunkCrossfader(256)
    pieces = []
    for processed, core, last in chunks_of(track, 1000, 256):
        pieces.append(cf.push(processed, core, last))
        cf.commit()
    out = np.concatenate(pieces)
    assert out.shape == track.shape and out.dtype == track.dtype
    np.testing.assert_allclose(out, track, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-9)
    assert cf.tail is None


def test_chunk_crossfader_seams_follow_the_formula_and_commit_protects_the_next_seam():
    track = RNG.standard_normal((5000, 2))
    other = RNG.standard_normal((5000, 2))  # "a different rendering" of the same region
    c0 = track[:1100]
    c1 = other[1000:2100]
    c2 = track[2000:3100]
    cf = A.ChunkCrossfader(100)
    e0 = cf.push(c0, 1000)
    assert np.array_equal(e0, c0[:1000])
    cf.commit()
    e1 = cf.push(c1, 1000)
    t = np.linspace(0, np.pi / 2, 100)[:, None]
    want = np.concatenate([c0[1000:] * np.cos(t) ** 2 + c1[:100] * np.sin(t) ** 2, c1[100:1000]])
    assert np.max(np.abs(e1 - want)) < 1e-12
    # The write of e1 failed: pushing c1 again rebuilds the same seam from c0's tail ...
    assert np.array_equal(cf.push(c1, 1000), e1)
    # ... and so does pushing the next chunk before any commit (c1's tail never became current).
    e2_uncommitted = cf.push(c2, 1000)
    want2 = np.concatenate([c0[1000:] * np.cos(t) ** 2 + c2[:100] * np.sin(t) ** 2, c2[100:1000]])
    assert np.max(np.abs(e2_uncommitted - want2)) < 1e-12
    cf.commit()  # commits c2's tail
    cf.reset()
    with pytest.raises(RuntimeError):
        cf.commit()
    cf.push(c0, 1000)
    cf.commit()
    with pytest.raises(ValueError):
        cf.push(c1, 50)  # shorter than the 100-sample crossfade
    with pytest.raises(ValueError):
        cf.push(c1, 2000)
    with pytest.raises(ValueError):
        cf.push(c1[:, :1], 1000)
    with pytest.raises(TypeError):
        cf.push(c1.astype(np.float32), 1000)


def ref_content_chunk_count(t):
    return max(1, int(np.ceil((t - 5.0) / 10.0)))


def test_chunk_geometry_formulas():
    for t in [0.0, 3.0, 5.0, 14.9, 15.0, 15.1, 25.0, 25.01, 61.7, 600.0]:
        assert A.content_chunk_count(t) == ref_content_chunk_count(t)
    for k, t, sr in [(0, 61.7, 44100), (3, 61.7, 48000), (6, 61.7, 44100), (0, 3.0, 96000)]:
        cs = k * 10.0
        ce = min(cs + 15.0, t)
        want = (round(max(0, cs - 5) * sr), round(min(t, ce + 5) * sr), round(cs * sr), round(ce * sr))
        assert tuple(A.chunk_boundaries(k, t, sr)) == want
    assert [A.emitted_chunk_start(k) for k in range(4)] == [0.0, 15.0, 25.0, 35.0]
    assert A.chunk_for_position(0.0, 7) == (0, 0.0, 0.0)
    assert A.chunk_for_position(14.8, 7) == (1, 0.0, 15.0)
    assert A.chunk_for_position(20.0, 7) == (1, 5.0, 20.0)
    assert A.chunk_for_position(34.7, 7) == (3, 0.0, 35.0)
    assert A.chunk_for_position(500.0, 7) == (6, 500.0 - 65.0, 500.0)
    assert A.chunk_for_position(500.0, 7, total_duration=61.7) == (5, 61.2 - 55.0, 61.2)


@pytest.mark.parametrize("seconds,sr", [(3.0, 1000), (15.0, 1000), (17.3, 1000), (61.7, 1000), (42.5, 44100)])
def test_an_index_ramp_rendered_through_the_chunk_geometry_comes_back(seconds, sr):
    total = round(seconds * sr)
    ramp = np.arange(total, dtype=np.float64)
    count = A.content_chunk_count(seconds)
    pieces = []
    for k in range(count):
        b = A.chunk_boundaries(k, seconds, sr)
        loaded = ramp[b.load_start : b.load_end]  # "process" = identity
        core = loaded[b.core_start - b.load_start : b.core_end - b.load_start]
        start = round(A.emitted_chunk_start(k) * sr)
        if k == 0:
            emitted = core[: round(min(15.0, seconds) * sr)]
        else:
            skip = round(5.0 * sr)
            length = total - start if k == count - 1 else round(10.0 * sr)
            emitted = core[skip : skip + length]
        assert emitted[0] == start if len(emitted) else True
        pieces.append(emitted)
    assert np.array_equal(np.concatenate(pieces), ramp)


# -- 11.–12. smoother, level matcher, safety limit -------------------------------------------------


class RefSmoother:
    def __init__(self, attack=0.01, release=0.001):
        self.attack, self.release, self.current, self.target = attack, release, 1.0, 1.0

    def set_target(self, t):
        self.target = max(0.0, min(10.0, t))

    def process(self, n):
        if n == 0:
            return np.empty(0, dtype=np.float32)
        if abs(self.current - self.target) < 1e-6:
            return np.full(n, self.current, dtype=np.float32)
        alpha = self.attack if self.target > self.current else self.release
        g = self.target + (self.current - self.target) * (1.0 - alpha) ** np.arange(1, n + 1, dtype=np.float64)
        self.current = float(g[-1])
        return g.astype(np.float32)


def test_gain_smoother_follows_the_closed_form():
    s, r = A.GainSmoother(), RefSmoother()
    for target, n in [(2.5, 100), (0.3, 50), (20.0, 512), (float("nan"), 10), (-4.0, 2000),
                      (None, 0), (0.0, 3)]:
        if target is not None:
            s.set_target(target)
            r.set_target(target)
        got, want = s.process(n), r.process(n)
        assert got.dtype == np.float32 and got.shape == (n,)
        np.testing.assert_allclose(got, want, rtol=2e-7, atol=0)
        assert s.target_gain == r.target
        assert math.isclose(s.current_gain, r.current, rel_tol=1e-13)
    s.set_target(s.current_gain + 5e-7)
    assert np.all(s.process(7) == np.float32(s.current_gain))
    assert A.AdaptiveGainSmoother is A.GainSmoother
    with pytest.raises(TypeError):
        s.process(3.5)
    with pytest.raises(ValueError):
        A.GainSmoother(float("nan"), 0.1)


class RefLevelMatcher:
    def __init__(self):
        self.enabled, self.reference_rms, self.current_target_rms = False, None, 0.0
        self.smoother = RefSmoother(0.02, 0.005)

    def set_reference_audio(self, ref):
        self.reference_rms = np.sqrt(np.mean(ref.astype(np.float64) ** 2))
        self.enabled = True

    def process(self, audio):
        if not self.enabled or self.reference_rms is None or self.reference_rms == 0:
            return audio
        current = np.sqrt(np.mean(audio.astype(np.float64) ** 2))
        if current == 0:
            return audio
        self.current_target_rms += (self.reference_rms - self.current_target_rms) * 0.01
        self.smoother.set_target(self.current_target_rms / current)
        ramp = self.smoother.process(len(audio))
        if audio.ndim > 1:
            ramp = ramp[:, None]
        processed = audio * ramp
        max_val = np.max(np.abs(processed))
        if max_val > 0.95:
            processed *= 0.95 / max_val
        return processed


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_level_matcher_matches_the_host(dtype):
    m, r = A.RealtimeLevelMatcher(), RefLevelMatcher()
    block = RNG.uniform(-0.05, 0.05, (512, 2)).astype(dtype)
    assert m.process(block) is block  # disabled: the input itself
    reference = RNG.uniform(-0.9, 0.9, (20000, 2)).astype(dtype)
    assert m.set_reference_audio(reference)
    r.set_reference_audio(reference)
    tol = 1e-12 if dtype == np.float64 else 2e-6
    for i in range(120):
        level = [0.05, 0.9, 0.0, 0.002][i % 4]
        x = (RNG.uniform(-1, 1, (512, 2)) * level).astype(dtype)
        got, want = m.process(x), r.process(x)
        if level == 0.0:
            assert got is x
            continue
        assert got.dtype == dtype and got.shape == x.shape
        assert np.max(np.abs(got - want)) <= tol * max(1.0, np.max(np.abs(want)))
    stats = m.get_stats()
    assert stats["enabled"] and stats["reference_loaded"]
    assert math.isclose(stats["reference_rms"], r.reference_rms, rel_tol=1e-6)
    assert math.isclose(stats["current_gain"], r.smoother.current, rel_tol=1e-5)
    assert np.max(np.abs(m.process(np.ones(64, dtype=dtype)))) <= dtype(0.95)  # mono
    m.set_enabled(False)
    x = np.ones((8, 2), dtype=dtype)
    assert m.process(x) is x
    m.reset()
    assert m.reference_rms is None and not m.enabled
    assert not m.set_reference_audio(None)


def test_level_matcher_process_is_atomic_per_instance():
    reference = RNG.uniform(-0.5, 0.5, 10000)
    block = RNG.uniform(-0.1, 0.1, (256, 2))
    serial = A.LevelMatcher()
    serial.set_reference_audio(reference)
    for _ in range(200):
        serial.process(block)
    shared = A.LevelMatcher()
    shared.set_reference_audio(reference)
    barrier = threading.Barrier(4)

    def work():
        barrier.wait()
        for _ in range(50):
            shared.process(block)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Identical blocks: any serial order gives the same state, so only a torn update differs.
    assert shared.get_stats() == serial.get_stats()
    assert shared.current_target_rms == serial.current_target_rms


def ref_safety_limit(block, target_peak=0.95):
    processed = block.copy()
    max_val = np.max(np.abs(processed))
    if max_val > target_peak:
        processed = processed * processed.dtype.type(target_peak / max_val)
    return processed


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_realtime_safety_limit(dtype):
    for scale in [0.5, 0.95, 1.0, 3.0]:
        x = (RNG.uniform(-1, 1, (300, 2)) * scale).astype(dtype)
        got = A.realtime_safety_limit(x)
        assert got is not x and got.dtype == dtype
        assert np.array_equal(got, ref_safety_limit(x))
    x = np.array([2.0, np.nan, -3.0], dtype=dtype)
    got = A.realtime_safety_limit(x, 0.5)
    assert np.array_equal(got, x, equal_nan=True)
    with pytest.raises(ValueError):
        A.realtime_safety_limit(x, float("inf"))
    with pytest.raises(TypeError):
        A.realtime_safety_limit(np.ones(3, dtype=np.int32))
