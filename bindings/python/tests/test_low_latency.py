"""The low-latency mode (``Equalizer(..., low_latency=True)``, ``phase``, ``partition``,
``PipelineConfig(low_latency=True)``) against independent references: numpy's FFT of the
measured impulse response at every resolvable band centre, the response's onset at exactly the
reported latency, block-size invariance, the chain's latency, the ceiling by a 4× polyphase
upsampling (scipy), and the refusals.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import tonecore

SR = 48000
GAINS = np.array([((b * 7) % 13) - 6.0 for b in range(25)])


def run(obj, x, block):
    """Streams planar ``x`` (channels, frames) through ``obj`` in ``block``-frame calls."""
    return np.concatenate(
        [obj.process(np.ascontiguousarray(x[:, i:i + block])) for i in range(0, x.shape[1], block)],
        axis=1,
    )


def test_low_latency_partition_is_the_largest_power_of_two_in_range():
    assert [tonecore.low_latency_partition(b) for b in (64, 100, 256, 1, 1 << 20)] == [
        64, 64, 256, 8, 65536]
    with pytest.raises(ValueError):
        tonecore.low_latency_partition(-1)


def test_minimum_phase_eq_keeps_the_band_gains_and_latency_is_one_block():
    with tonecore.Equalizer(SR, 1, max_block=64, gains_db=GAINS, low_latency=True,
                            dtype=np.float64) as eq:
        assert (eq.phase, eq.partition, eq.latency) == ("minimum", 64, 64)
        x = np.zeros((1, 16384))
        x[0, 0] = 1.0
        y = run(eq, x, 64)[0]
    assert np.all(y[:64] == 0.0)
    assert abs(y[64]) > 1e-3
    h = y[64:]
    # Half the energy within 2 ms: minimum phase, no pre-ringing.
    assert np.sum(h[:96] ** 2) > 0.5 * np.sum(h ** 2)
    spectrum = np.fft.rfft(h)
    freqs = np.fft.rfftfreq(h.size, 1.0 / SR)
    layout = tonecore.BandLayout.critical()
    # Bands whose centre is at least 2 design bins (4096-point at 48 kHz) from its neighbours.
    centres = np.asarray(layout.centers)
    gaps = np.minimum(np.diff(centres, prepend=-np.inf), np.diff(centres, append=np.inf))
    checked = 0
    for band, fc in enumerate(centres):
        if gaps[band] < 2 * SR / 4096:
            continue
        got = 20 * np.log10(np.abs(np.interp(fc, freqs, np.abs(spectrum))))
        # The interpolated magnitude between 2.9 Hz bins: within 0.1 dB of the gain.
        assert abs(got - GAINS[band]) < 0.1, (band, fc, got, GAINS[band])
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_partitioned_output_does_not_depend_on_the_block_size(dtype):
    rng = np.random.default_rng(3)
    x = (0.5 * rng.standard_normal((2, 12000))).astype(dtype)
    outs = []
    for block in (1, 7, 64, 256, 1000):
        with tonecore.Equalizer(SR, 2, max_block=1000, gains_db=GAINS, phase="minimum",
                                partition=64, dtype=dtype) as eq:
            assert eq.latency == 64
            outs.append(run(eq, x, block))
    for y in outs[1:]:
        assert np.array_equal(y, outs[0])


def test_linear_phase_on_the_partitioned_engine_adds_half_the_kernel():
    with tonecore.Equalizer(SR, 1, max_block=256, partition=128) as eq:
        assert (eq.phase, eq.latency) == ("linear", 128 + 1024)


def test_the_low_latency_chain_reports_its_latency_and_is_a_pure_delay_when_flat():
    cfg = tonecore.PipelineConfig(eq_gains=np.zeros(25), limiter=-1.0, low_latency=True)
    assert (cfg.phase, cfg.partition, cfg.low_latency) == ("minimum", 0, True)
    with tonecore.Pipeline(SR, 2, config=cfg, max_block=64, dtype=np.float64) as p:
        assert p.latency == 64 + 72 + 32
        x = np.zeros((2, 4096))
        x[:, 0] = 0.05
        y = run(p, x, 64)
    assert np.all(y[:, :p.latency] == 0.0)
    np.testing.assert_allclose(y[:, p.latency], 0.05, atol=1e-9)
    assert np.sum(np.abs(y[:, p.latency + 1:])) < 1e-9
    # The config pickles with its resolved fields.
    assert pickle.loads(pickle.dumps(cfg)) == cfg


def test_the_low_latency_chain_stays_under_the_ceiling():
    signal = pytest.importorskip("scipy.signal")
    rng = np.random.default_rng(9)
    gains = np.zeros(25)
    gains[3] = gains[20] = 24.0
    cfg = tonecore.PipelineConfig(eq_gains=gains, limiter=-1.0, low_latency=True)
    x = (0.5 * rng.uniform(-1, 1, (2, 2 * SR))).astype(np.float32)
    with tonecore.Pipeline(SR, 2, config=cfg, max_block=64) as p:
        y = run(p, np.concatenate([x, np.zeros((2, p.latency), np.float32)], axis=1), 64)
    up = signal.resample_poly(y.astype(np.float64), 4, 1, axis=1)
    peak_db = 20 * np.log10(np.max(np.abs(up)))
    assert peak_db <= -1.0 + 0.1, peak_db


def test_bad_phase_and_partition_are_refused():
    with pytest.raises(tonecore.InvalidArgument) as err:
        tonecore.Equalizer(SR, 2, partition=100)
    assert err.value.status == 24
    with pytest.raises(ValueError):
        tonecore.Equalizer(SR, 2, phase="mixed")
    with pytest.raises(TypeError):
        tonecore.Equalizer(SR, 2, phase=1)
    with pytest.raises(ValueError):
        tonecore.PipelineConfig(phase="maximum")
    with pytest.raises(tonecore.InvalidArgument) as err:
        tonecore.Pipeline(SR, 2, config=tonecore.PipelineConfig(partition=4))
    assert err.value.status == 24
