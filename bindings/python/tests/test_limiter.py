"""tonecore.Limiter against a numpy evaluation of its documented definition: required gain per
frame (channels linked), minimum over the last L+1 frames, averaged over L+1 frames, one-pole
release on rising gain, applied to the frame leaving an L-frame delay, clamped to the ceiling."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

import tonecore

SR = 48000


def reference(x: np.ndarray, ceiling_db: float, lookahead_ms: float, release_ms: float):
    x = np.asarray(x, np.float64)
    channels, frames = x.shape
    lat = max(1, int(np.floor(lookahead_ms * 1e-3 * SR + 0.5)))
    ceiling = 10 ** (ceiling_db / 20)
    release = np.exp(-1.0 / (release_ms * 1e-3 * SR))
    peak = np.abs(x).max(axis=0)
    required = np.where(peak > ceiling, ceiling / np.maximum(peak, 1e-300), 1.0)
    # Frames before the start count as silence (required gain 1).
    padded = np.concatenate([np.ones(lat), required])
    minima = np.lib.stride_tricks.sliding_window_view(padded, lat + 1).min(axis=1)
    padded = np.concatenate([np.ones(lat), minima])
    average = np.minimum(np.lib.stride_tricks.sliding_window_view(padded, lat + 1).mean(axis=1),
                         1.0)
    gains = np.empty(frames)
    g = 1.0
    for t in range(frames):
        a = average[t]
        if a <= g:
            g = a
        else:
            g = a + (g - a) * release
            if a == 1.0 and 1.0 - g < 1e-6:
                g = 1.0
        gains[t] = g
    delayed = np.concatenate([np.zeros((channels, lat)), x[:, : frames - lat]], axis=1)
    return np.clip(delayed * gains, -ceiling, ceiling)


def bursts(frames: int = 6000) -> np.ndarray:
    i = np.arange(frames)
    rows = []
    for c in range(2):
        level = np.where((i // 700) % 3 == c, 2.5, 0.3)
        rows.append(level * np.sin(2 * np.pi * (200 + 150 * c) * i / SR))
    return np.stack(rows)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-9), (np.float32, 2e-6)])
def test_matches_the_definition_and_holds_the_ceiling(dtype, tol):
    x = bursts().astype(dtype)
    want = reference(x, -3.0, 1.0, 20.0)
    cfg = tonecore.LimiterConfig(ceiling_db=-3.0, lookahead_ms=1.0, release_ms=20.0,
                                 true_peak=False)
    with tonecore.Limiter(SR, 2, cfg, dtype=dtype) as lim:
        assert lim.latency == 48
        y = lim.process(x)
        stats = lim.stats()
    assert y.dtype == dtype and y.shape == x.shape
    assert np.max(np.abs(y - want)) <= tol
    assert np.max(np.abs(y)) <= 10 ** (-3 / 20)
    assert stats["frames"] == 6000 and stats["nonfinite"] == 0
    assert stats["max_reduction_db"] == pytest.approx(-3 - 20 * np.log10(2.5), abs=0.2)


def test_block_sizes_and_layouts_give_the_same_output():
    x = bursts().astype(np.float32)
    with tonecore.Limiter(SR, 2, {"ceiling_db": -6.0, "lookahead_ms": 2.0}) as lim:
        whole = lim.process(x)
    for block in (1, 7, 256, 1000):
        with tonecore.Limiter(SR, 2, {"ceiling_db": -6.0, "lookahead_ms": 2.0}) as lim:
            parts = []
            for k, start in enumerate(range(0, x.shape[1], block)):
                chunk = np.ascontiguousarray(x[:, start:start + block])
                if k % 2:
                    parts.append(lim.process(np.ascontiguousarray(chunk.T), interleaved=True).T)
                else:
                    parts.append(lim.process(chunk))
        np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)


def test_below_the_ceiling_it_is_a_bit_exact_delay_and_mono_works():
    x = np.random.default_rng(3).uniform(-0.89, 0.89, 5000).astype(np.float32)
    with tonecore.Limiter(44100, 1, {"true_peak": False, "lookahead_ms": 5.0}) as lim:
        lat = lim.latency
        assert lat == 221
        y = lim.process(x)
    np.testing.assert_array_equal(y[lat:], x[:-lat])
    assert not y[:lat].any()


def test_nonfinite_input_is_silenced_and_counted_then_reset_and_ceiling():
    x = np.full((2, 2000), 0.9)
    x[0, 5], x[1, 7], x[0, 9] = np.nan, np.inf, -np.inf
    # Sample peaks (the keyword form): the steady state sits exactly on the ceiling.
    with tonecore.Limiter(SR, 2, dtype=np.float64, true_peak=False) as lim:
        y = lim.process(x)
        assert np.isfinite(y).all()
        assert lim.stats()["nonfinite"] == 3
        lim.set_ceiling_db(-12.0)
        y = lim.process(np.full((2, 4000), 0.9))
        ceiling = 10 ** (-12 / 20)
        assert np.abs(y).max() <= ceiling and y[0, -1] == pytest.approx(ceiling, abs=1e-9)
        lim.reset()
        assert lim.stats() == {"frames": 0, "nonfinite": 0, "gain_db": 0.0,
                               "max_reduction_db": 0.0}


def test_bad_input_is_refused_and_changes_nothing():
    with pytest.raises(tonecore.InvalidArgument) as e:
        tonecore.Limiter(SR, 2, 1.0)
    assert e.value.status == 18
    with pytest.raises(tonecore.InvalidArgument) as e:
        tonecore.Limiter(SR, 2, {"lookahead_ms": 0.0})
    assert e.value.status == 19
    with pytest.raises(tonecore.InvalidArgument) as e:
        tonecore.Limiter(SR, 65)
    assert e.value.status == 14
    with pytest.raises(tonecore.InvalidArgument):
        tonecore.Limiter(0, 2)
    with pytest.raises(TypeError):
        tonecore.Limiter(SR, 2, True)
    with pytest.raises(TypeError):
        tonecore.Limiter(SR, 2, dtype=np.int16)
    lim = tonecore.Limiter(SR, 2)
    x = np.zeros((2, 64), np.float32)
    out = np.full_like(x, 7.0)
    with pytest.raises(TypeError, match="copy=True"):
        lim.process(x.astype(np.float64), out=out)
    with pytest.raises(ValueError):
        lim.process(np.zeros((3, 64), np.float32), out=out)
    with pytest.raises(ValueError):
        lim.process(x, out=np.empty((2, 63), np.float32))
    with pytest.raises(ValueError):
        lim.process(np.zeros((2, 128), np.float32)[:, ::2], out=out)
    with pytest.raises(ValueError):
        lim.process(x, out=x)  # overlapping
    assert (out == 7.0).all()
    with pytest.raises(tonecore.InvalidArgument) as e:
        lim.set_ceiling_db(float("nan"))
    assert e.value.status == 18
    with pytest.raises(TypeError):
        lim.set_ceiling_db("loud")
    assert lim.stats()["frames"] == 0
    converted = lim.process(np.zeros((2, 8), np.float64), copy=True)
    assert converted.dtype == np.float32
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(lim)
    lim.close()
    lim.close()
    assert lim.closed
    for call in (lambda: lim.process(x), lim.reset, lim.stats, lambda: lim.set_ceiling_db(-1)):
        with pytest.raises(tonecore.ClosedError):
            call()


def test_two_threads_on_one_limiter_get_concurrent_use_not_corruption():
    x = np.random.default_rng(5).uniform(-2, 2, (2, 200_000)).astype(np.float32)
    outcomes = []
    with tonecore.Limiter(SR, 2) as lim:
        def worker():
            out = np.full_like(x, 9.0)
            for _ in range(20):
                out.fill(9.0)
                try:
                    lim.process(x, out=out)
                    outcomes.append("ok" if np.abs(out).max() <= 10 ** (-1 / 20) else "bad")
                except tonecore.ConcurrentUse:
                    outcomes.append("conflict" if (out == 9.0).all() else "wrote on refusal")

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        frames = lim.stats()["frames"]
    assert set(outcomes) <= {"ok", "conflict"}, outcomes
    assert frames == outcomes.count("ok") * x.shape[1]


def test_a_lowered_ceiling_clamps_samples_already_in_the_lookahead():
    # A fuzzer finding: silence after the change took the pure-delay path and let the delayed
    # sample out above the new ceiling.
    with tonecore.Limiter(8000, 1, 0.0) as lim:
        lim.process(np.array([-0.984], np.float32))
        lim.set_ceiling_db(-1.0)
        y = lim.process(np.zeros(256, np.float32))
    ceiling = 10 ** (-1 / 20)
    assert np.abs(y).max() <= ceiling
    assert np.abs(y).max() > 0.8  # the sample came out, clamped
