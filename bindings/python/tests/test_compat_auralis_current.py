"""tonecore.compat.auralis against the Auralis host as it is today.

``HostToday`` below is a numpy transcription, written for these tests, of the host's current
adaptive EQ (its ``EQProcessor._process_with_psychoacoustic_eq`` loop around
``PsychoacousticEQ.process_realtime_chunk``): the analysis after the host's changes #3428 and
#4101 (the windowed frame divided by the window's mean, no dB offset, masking peaks from the same
magnitudes), the relative-target gains, the content adaptation of ``apply_content_adaptation``,
the smoothing, the unwindowed frame EQ and the Hann overlap-add. The remaining tests cover each
host API point the drop-in follows (attributes, setters, accepted inputs, result dtypes).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tonecore.compat import auralis as A

RNG = np.random.default_rng(4101)
EDGES = [20.0, 100.0, 200.0, 300.0, 400.0, 510.0, 630.0, 770.0, 920.0, 1080.0, 1270.0, 1480.0,
         1720.0, 2000.0, 2320.0, 2700.0, 3150.0, 3700.0, 4400.0, 5300.0, 6400.0, 7700.0, 9500.0,
         12000.0, 15500.0, 20000.0]


def weight_of(center):
    if 1000 <= center <= 4000:
        return 1.0
    if 300 <= center <= 8000:
        return 0.8
    if 100 <= center <= 300 or 8000 <= center <= 16000:
        return 0.6
    return 0.3


def adapt(gains, profile, centers):
    """The host's content adaptation: genre, then energy level, then spectral balance."""
    g = gains.copy()
    genre = profile.get("genre", "unknown")
    energy = profile.get("energy_level", "medium")
    centroid = profile.get("spectral_centroid", 2000)

    def each(lo, hi):
        return [i for i, c in enumerate(centers) if lo <= c <= hi]

    if genre == "classical":
        g = g * 0.7
        for i in each(4000, 8000):
            g[i] += 0.5
    elif genre == "rock":
        for i, c in enumerate(centers):
            if 100 <= c <= 200:
                g[i] += 1.0
            elif 2000 <= c <= 4000:
                g[i] += 0.8
    elif genre == "electronic":
        for i, c in enumerate(centers):
            if 50 <= c <= 120:
                g[i] += 1.5
            elif 8000 <= c <= 16000:
                g[i] += 1.0
    elif genre == "metal":
        for i, c in enumerate(centers):
            if 60 <= c <= 150:
                g[i] += 1.5
            elif 400 <= c <= 1000:
                g[i] -= 0.5
            elif 4000 <= c <= 8000:
                g[i] += 1.2
    elif genre == "jazz":
        for i, c in enumerate(centers):
            if 500 <= c <= 3000:
                g[i] *= 0.8
            elif 6000 <= c <= 12000:
                g[i] += 0.5
    if energy == "low":
        g = g + 0.5
    elif energy == "high":
        g = g * 0.8
    if centroid < 1500:
        g = g + np.array([1.0 if c > 2000 else 0.0 for c in centers])
    elif centroid > 4000:
        g = g - np.array([0.5 if c > 4000 else 0.0 for c in centers])
    return g


class HostToday:
    """The host's current adaptive EQ loop; ``current`` carries across ``process`` calls."""

    def __init__(self, sr=44100, n=4096, speed=0.8, first=20.0):
        self.sr, self.n, self.speed = sr, n, speed
        self.edges = [first] + EDGES[1:]
        self.centers = [math.sqrt(self.edges[i] * self.edges[i + 1]) for i in range(25)]
        self.weights = [weight_of(c) for c in self.centers]
        freqs = np.linspace(0, sr // 2, n // 2 + 1)
        self.bm = np.clip(np.searchsorted(self.edges, freqs, side="right") - 1, 0, 24)
        self.current = np.zeros(25)

    def analyze(self, chunk):
        mono = np.mean(chunk, axis=1) if chunk.ndim == 2 else chunk
        window = np.hanning(self.n)
        magnitude = np.abs(np.fft.fft(mono[: self.n] * window / np.mean(window))[: self.n // 2 + 1])
        mag_db = 20 * np.log10(magnitude + 1e-10)
        energies = np.array([np.mean(mag_db[self.bm == i]) if np.any(self.bm == i) else 0.0
                             for i in range(25)])
        thresholds = np.full(25, -60.0)
        for i in range(25):
            lo = max(0, int(self.edges[i] * len(magnitude) * 2 / self.sr))
            hi = min(len(magnitude), int(self.edges[i + 1] * len(magnitude) * 2 / self.sr))
            if hi > lo:
                thresholds[i] = max(20 * np.log10(np.max(magnitude[lo:hi]) + 1e-10) - 20, -80.0)
        return energies, thresholds

    def gains(self, energies, thresholds, target, profile):
        energies = np.where(np.isfinite(energies), energies, 0.0)
        thresholds = np.where(np.isfinite(thresholds), thresholds, 0.0)
        g = np.zeros(25)
        for i in range(25):
            v = target[i] if i < len(target) else 0.0
            if energies[i] < thresholds[i]:
                v *= 0.5
            g[i] = np.clip(v * self.weights[i], -12.0, 12.0)
        if profile:
            g = adapt(g, profile, self.centers)
        self.current = self.current + (g - self.current) * self.speed
        return self.current

    def eq(self, chunk, gains):
        curve = np.ones(self.n // 2 + 1)
        for i, lin in enumerate(10 ** (gains / 20)):
            curve[self.bm == i] = lin

        def mono(x):
            spectrum = np.fft.fft(x)
            spectrum[: len(curve)] *= curve
            spectrum[len(curve):] *= curve[1:-1][::-1]
            return np.real(np.fft.ifft(spectrum))

        if chunk.ndim == 1:
            return mono(chunk)
        return np.column_stack([mono(chunk[:, c]) for c in range(chunk.shape[1])])

    def process(self, audio, target, profile=None):
        n, hop = self.n, self.n // 2
        window = np.hanning(n)
        out = np.zeros(audio.shape)
        wsum = np.zeros(len(audio))
        for i in range(0, len(audio), hop):
            end = min(i + n, len(audio))
            chunk = np.zeros((n,) + audio.shape[1:])
            chunk[: end - i] = audio[i:end]
            e, t = self.analyze(chunk)
            y = self.eq(chunk, self.gains(e, t, target, profile))[: end - i]
            out[i:end] += y * (window[: end - i, None] if audio.ndim == 2 else window[: end - i])
            wsum[i:end] += window[: end - i]
        norm = np.maximum(wsum, 1e-8)
        return out / (norm[:, None] if audio.ndim == 2 else norm)


def music(seconds, sr=44100, channels=2, seed=0):
    """Music-like: decaying harmonic notes, a kick, a hat and quiet noise, per channel."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    out = np.zeros((len(t), channels))
    for c in range(channels):
        x = 0.002 * rng.standard_normal(len(t))
        for start in np.arange(0, seconds, 0.25):
            f0 = rng.choice([110.0, 146.8, 196.0, 261.6, 329.6, 440.0])
            env = np.where(t >= start, np.exp(-(t - start) * 3.0), 0.0)
            for h in range(1, 8):
                x += env * 0.12 / h * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6))
        beat = (t % 0.5) < 0.08
        x += beat * 0.4 * np.sin(2 * np.pi * 55 * t) * np.exp(-(t % 0.5) * 40)
        x += ((t % 0.25) < 0.01) * 0.05 * rng.standard_normal(len(t))
        out[:, c] = x
    return out if channels > 1 else out[:, 0]


TARGETS = {
    "flat": np.zeros(25),
    "shaped": np.array([4, 3, 2, 1, 0, -1, -2, 0, 1, 2, 3, 3, 2, 1, 0, -1, 2, 4, 5, 6,
                        4, 3, 2, 1, 0], dtype=float),
    "boost": np.full(25, 9.0),
}
PROFILES = [
    None,
    {"energy_level": "low", "spectral_centroid": 900.0, "genre": "ambient"},
    {"genre": "rock", "energy_level": "high", "spectral_centroid": 4500.0},
    {"genre": "classical"},
    {"genre": "metal", "dynamic_range": 8},
    {"genre": "jazz", "spectral_centroid": 1200},
    {"genre": "electronic", "energy_level": "low"},
]


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("profile", range(len(PROFILES)))
def test_adaptive_eq_is_the_host_today_over_consecutive_buffers(target, profile):
    prof, curve = PROFILES[profile], TARGETS[target]
    host, state = HostToday(), A.AdaptiveEqState()
    buffers = [music(1.5, seed=s) for s in range(3)]
    for x in buffers:
        want = host.process(x, curve, prof)
        got = A.eq_process_buffer(x, curve, 44100, 4096, 0.8, state, prof)
        peak = np.max(np.abs(want))
        assert np.max(np.abs(got - want)) <= 1e-6 * peak, (target, prof)
        assert np.max(np.abs(state.current_gains - host.current)) <= 1e-9


def test_adaptive_eq_is_the_host_today_on_ten_seconds_mono_and_other_sizes():
    x = music(10.0, channels=1, seed=7)
    prof = {"energy_level": "low", "spectral_centroid": 1000.0}
    host = HostToday()
    got = A.eq_process_buffer(x, TARGETS["shaped"], content_profile=prof)
    want = host.process(x, TARGETS["shaped"], prof)
    assert np.max(np.abs(got - want)) <= 1e-6 * np.max(np.abs(want))
    host = HostToday(48000, 2048, 0.3, first=0.0)
    y = music(2.0, sr=48000, seed=3)
    state = A.AdaptiveEqState()
    got = A.eq_process_buffer(y, TARGETS["boost"], 48000, 2048, 0.3, state,
                              {"genre": "rock"}, first_edge_hz=0.0)
    want = host.process(y, TARGETS["boost"], {"genre": "rock"})
    assert np.max(np.abs(got - want)) <= 1e-6 * np.max(np.abs(want))


def test_the_current_analysis_differs_from_the_older_one_and_the_option_keeps_both():
    x, curve = music(3.0, seed=11), TARGETS["shaped"]
    now = A.eq_process_buffer(x, curve)
    old = A.eq_process_buffer(x, curve, analysis=A.ANALYSIS_PRE_3428_4101)
    assert np.max(np.abs(now - old)) > 1e-3 * np.max(np.abs(now))
    assert np.array_equal(A.eq_process_buffer(x, curve, analysis=A.ANALYSIS_CURRENT), now)
    with pytest.raises(ValueError):
        A.eq_process_buffer(x, curve, analysis="4101")


def test_content_profile_keys_defaults_and_refusals():
    x, curve = music(1.0, seed=2), TARGETS["shaped"]
    plain = A.eq_process_buffer(x, curve)
    # Empty, None and profiles whose keys change nothing give the plain result.
    for prof in ({}, None, {"genre": "pop", "energy_level": "medium", "spectral_centroid": 2000},
                 {"genre": None, "spectral_centroid": float("nan")}, {"bpm": 120}):
        assert np.array_equal(A.eq_process_buffer(x, curve, content_profile=prof), plain)
    low = A.eq_process_buffer(x, curve, content_profile={"energy_level": "low"})
    assert not np.array_equal(low, plain)
    with pytest.raises(TypeError):
        A.eq_process_buffer(x, curve, content_profile={"spectral_centroid": "dark"})
    with pytest.raises(TypeError):
        A.eq_process_buffer(x, curve, content_profile=[("genre", "rock")])


# -- the host API points ------------------------------------------------------------------------


def test_level_matcher_has_the_hosts_gain_smoother_attribute():
    m = A.RealtimeLevelMatcher()
    s = m.gain_smoother
    assert isinstance(s, A.AdaptiveGainSmoother) and m.gain_smoother is s
    assert (s.attack_alpha, s.release_alpha) == (0.02, 0.005)
    m.set_reference_audio(np.full(1000, 0.5))
    m.process(np.full((512, 2), 0.1))
    assert s.current_gain != 1.0 and s.current_gain == m.get_stats()["current_gain"]
    # Writes reach the matcher's own state.
    s.current_gain = 3.0
    assert m.get_stats()["current_gain"] == 3.0
    # Assigning a smoother replaces the one the matcher uses, as the host's attribute does.
    new = A.AdaptiveGainSmoother(attack_alpha=0.5, release_alpha=0.25)
    m.gain_smoother = new
    assert m.gain_smoother is new and m.get_stats()["current_gain"] == 1.0
    m.process(np.full((512, 2), 0.1))
    assert new.current_gain == m.get_stats()["current_gain"] != 1.0
    with pytest.raises(TypeError):
        m.gain_smoother = object()
    m.reset()
    assert m.gain_smoother.current_gain == 1.0 and m.gain_smoother.attack_alpha == 0.02


def test_smoother_coefficients_and_target_are_writable_with_host_semantics():
    s = A.GainSmoother()
    s.attack_alpha, s.release_alpha = 0.5, 0.25
    assert (s.attack_alpha, s.release_alpha) == (0.5, 0.25)
    s.target_gain = 20.0  # stored as given; only set_target clamps
    assert s.target_gain == 20.0
    ramp = s.process(3)
    want = [20.0 + (1.0 - 20.0) * 0.5 ** (j + 1) for j in range(3)]
    np.testing.assert_allclose(ramp, np.float32(want), rtol=1e-7)
    s.target_gain = 0.0
    s.process(1)
    assert math.isclose(s.current_gain, want[-1] * 0.75, rel_tol=1e-12)
    with pytest.raises(TypeError):
        s.attack_alpha = "fast"
    s.attack_alpha = float("nan")
    s.target_gain = 5.0
    with pytest.raises(ValueError):
        s.process(4)


def test_emitted_chunk_start_takes_floats_as_the_host():
    assert A.emitted_chunk_start(2.0) == 25.0 and isinstance(A.emitted_chunk_start(2.0), float)
    assert A.emitted_chunk_start(2) == 25.0 and isinstance(A.emitted_chunk_start(2), float)
    assert A.emitted_chunk_start(np.float64(1.5)) == 20.0
    assert A.emitted_chunk_start(0.0) == 0.0 and A.emitted_chunk_start(-1.5) == 0.0
    assert A.emitted_chunk_length(0.0) == 15.0 and A.emitted_chunk_length(3.0) == 10.0
    with pytest.raises(TypeError):
        A.emitted_chunk_start("2")


def test_band_map_of_an_empty_band_list_is_all_zero():
    m = A.band_map(44100, 4096, [])
    assert m.dtype == np.int64 and m.shape == (2049,) and not m.any()


def test_frame_eq_accepts_int16_frames_as_the_host():
    bm = A.band_map(44100, 1024)
    gains = RNG.uniform(-6, 6, 25)
    frame = RNG.integers(-20000, 20000, (1024, 2)).astype(np.int16)
    got = A.apply_eq_frame(frame, gains, bm, 1024)
    ref = A.apply_eq_frame(frame.astype(np.float64), gains, bm, 1024)
    assert got.dtype == np.int16
    assert np.array_equal(got, ref.astype(np.int16))
    short = A.apply_eq_frame(frame[:700], gains, bm, 1024)  # zero-padded in float64 by the host
    assert short.dtype == np.float64
    assert np.array_equal(short, A.apply_eq_frame(frame[:700].astype(np.float64), gains, bm, 1024))
    assert A.VectorizedEQProcessor().apply_eq_gains_vectorized(frame[:, 0], gains, bm, 1024).dtype \
        == np.int16


def test_crossfade_accepts_mixed_dtypes_and_returns_the_hosts_dtype():
    a32 = RNG.uniform(-1, 1, (3000, 2)).astype(np.float32)
    b64 = RNG.uniform(-1, 1, (2000, 2))
    t = np.linspace(0.0, np.pi / 2, 500)
    want = np.concatenate([a32[:-500], a32[-500:] * np.cos(t)[:, None] ** 2
                           + b64[:500] * np.sin(t)[:, None] ** 2, b64[500:]])
    got = A.crossfade_concat(a32, b64, 500)
    assert got.dtype == np.float64 and np.max(np.abs(got - want)) < 1e-12
    got = A.crossfade_concat(a32, b64.astype(np.float32), 500)
    assert got.dtype == np.float64  # the host's float64 fades promote the mix
    plain = A.crossfade_concat(a32, a32, 0)
    assert plain.dtype == np.float32 and plain.shape == (6000, 2)
    assert A.crossfade_concat(a32, b64, 0).dtype == np.float64


def test_the_removed_host_classes_say_so():
    for cls in (A.ParallelFFTProcessor, A.ParallelEQProcessor):
        assert "Kept for hosts on older versions" in (cls.__doc__ or "")
    assert "#4565" in (A.ParallelFFTProcessor.__doc__ or "")
    assert "#4993" in (A.ParallelEQProcessor.__doc__ or "")
