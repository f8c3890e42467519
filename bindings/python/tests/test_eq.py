"""The streaming Equalizer: delay, block-size invariance, response at the band centres measured
with sines (least-squares fits written here), interleaved layout, non-finite input, gain changes
from another thread, bad input and lifetime."""

from __future__ import annotations

import ctypes
import gc
import threading
import time
import weakref

import numpy as np
import pytest

import tonecore
from tonecore import _native

FS = 44100
N = 4096
CRITICAL_EDGES = np.array([
    20, 100, 200, 300, 400, 510, 630, 770, 920, 1080, 1270, 1480, 1720, 2000, 2320, 2700, 3150,
    3700, 4400, 5300, 6400, 7700, 9500, 12000, 15500, 20000,
], dtype=np.float64)
CENTRES = np.sqrt(CRITICAL_EDGES[:-1] * CRITICAL_EDGES[1:])


def sine_gain_db(y, freq, start, delay, fs=FS):
    """Least-squares fit of ``a*sin(w(n-delay)) + b*cos(w(n-delay))`` to ``y[start:]``
    (sample index n); returns (gain in dB for a unit-amplitude input, phase in radians)."""
    n = np.arange(start, y.size) - delay
    w = 2 * np.pi * freq / fs
    basis = np.stack([np.sin(w * n), np.cos(w * n)], axis=1)
    (a, b), *_ = np.linalg.lstsq(basis, y[start:].astype(np.float64), rcond=None)
    return 20 * np.log10(np.hypot(a, b)), np.arctan2(b, a)


def run_blocks(eq, x, sizes, interleaved=False):
    """Feed planar x (channels, frames) through eq in blocks cycling through ``sizes``."""
    frames = x.shape[-1]
    out = np.empty_like(x)
    pos, i = 0, 0
    while pos < frames:
        k = min(sizes[i % len(sizes)], frames - pos)
        out[:, pos:pos + k] = eq.process(np.ascontiguousarray(x[:, pos:pos + k]))
        pos += k
        i += 1
    return out


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(5).uniform(-1, 1, (2, 12_000))


# --- construction and properties ---------------------------------------------------------


def test_defaults_and_properties():
    with tonecore.Equalizer(FS, 2) as eq:
        assert eq.latency == 3072  # fft_size - taps + 1 + (taps - 1) / 2 with 2049 taps
        assert eq.bands == 25 and eq.channels == 2 and eq.sample_rate == FS
        assert eq.fft_size == 4096 and eq.max_block == 4096 and eq.mode == "smooth"
        assert eq.ramp_ms == 20.0 and eq.dtype == np.float32
        assert eq.layout == tonecore.BandLayout.critical()
        assert eq.gains.dtype == np.float64 and np.array_equal(eq.gains, np.zeros(25))
        assert eq.nonfinite_count == 0
        assert "Equalizer(sample_rate=44100, channels=2" in repr(eq)
    with tonecore.Equalizer(48000.0, 1, layout="octave", fft_size=1024, gains_db=range(10),
                            dtype=np.float64) as eq:
        taps = 1024 // 2 + 1
        assert eq.latency == 1024 - taps + 1 + (taps - 1) // 2
        assert eq.bands == 10 and eq.gains.tolist() == list(map(float, range(10)))


def test_config_structs_match_the_library():
    c = _native.EqualizerConfig()
    assert _native.lib.tonecore_equalizer_config_init(ctypes.byref(c)) == 0
    assert c.struct_size == ctypes.sizeof(_native.EqualizerConfig)
    assert (c.sample_rate, c.channels, c.max_block, c.fft_size, c.layout, c.mode) == (
        44100, 2, 4096, 4096, 0, 0)
    assert (c.ramp_ms, c.sample_format, bool(c.gains_db), bool(c.edges)) == (20.0, 0, False, False)
    e = _native.EqualizeConfig()
    assert _native.lib.tonecore_equalize_config_init(ctypes.byref(e)) == 0
    assert e.struct_size == ctypes.sizeof(_native.EqualizeConfig)
    assert (e.sample_rate, e.threads, e.fft_size, e.layout, e.mode) == (44100, 0, 4096, 0, 0)


# --- numerics ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_flat_gains_delay_the_input_by_latency(noise, dtype, tol):
    x = noise.astype(dtype)
    with tonecore.Equalizer(FS, 2, dtype=dtype) as eq:
        lat = eq.latency
        y = run_blocks(eq, x, [4096])
    assert y.dtype == dtype
    assert np.max(np.abs(y[:, :lat])) <= tol
    assert np.max(np.abs(y[:, lat:] - x[:, :-lat])) <= tol


def test_block_size_invariance(noise):
    x = np.ascontiguousarray(noise[:, :9000], dtype=np.float32)
    gains = np.random.default_rng(1).uniform(-12, 12, 25)
    with tonecore.Equalizer(FS, 2, max_block=9000, gains_db=gains) as eq:
        whole = eq.process(x)
    assert np.max(np.abs(whole)) > 0.1
    for sizes in ([1], [7], [64], [256], [1000], [4096], [1, 7, 64, 256, 1000, 4096, 3, 999]):
        with tonecore.Equalizer(FS, 2, gains_db=gains) as eq:
            y = run_blocks(eq, x, sizes)
        assert np.max(np.abs(y - whole)) <= 1e-6, sizes


def test_response_at_every_critical_centre():
    """Random gains in ±12 dB; a unit sine at each band centre (one channel per band) comes out
    with that band's gain within 0.1 dB and with zero phase after the latency (linear phase)."""
    gains = np.random.default_rng(7).uniform(-12, 12, 25)
    n = 16384
    t = np.arange(n)
    x = np.ascontiguousarray(np.sin(2 * np.pi * CENTRES[:, None] / FS * t))
    with tonecore.Equalizer(FS, 25, fft_size=4096, max_block=n, gains_db=gains,
                            dtype=np.float64) as eq:
        y = eq.process(x)
        lat = eq.latency
    settled = lat + 2048 + 1000  # past the latency and the kernel's length
    for b in range(25):
        gain, phase = sine_gain_db(y[b], CENTRES[b], settled, lat)
        assert abs(gain - gains[b]) <= 0.1, (b, CENTRES[b], gain, gains[b])
        assert abs(phase) <= 1e-6, (b, phase)


def test_interleaved_equals_planar(noise):
    gains = np.random.default_rng(2).uniform(-12, 12, 25)
    x = noise.astype(np.float32)
    with tonecore.Equalizer(FS, 2, gains_db=gains) as a, \
            tonecore.Equalizer(FS, 2, gains_db=gains) as b:
        planar = run_blocks(a, x, [1000, 333])
        xi = np.ascontiguousarray(x.T)
        inter = np.empty_like(xi)
        pos = 0
        for k in [1000, 333] * 100:
            if pos >= xi.shape[0]:
                break
            k = min(k, xi.shape[0] - pos)
            out = np.empty((k, 2), np.float32)
            r = b.process(np.ascontiguousarray(xi[pos:pos + k]), out=out, interleaved=True)
            assert r is out
            inter[pos:pos + k] = out
            pos += k
    np.testing.assert_array_equal(inter.T, planar)


def test_mono_accepts_1d_input():
    x = np.random.default_rng(3).uniform(-1, 1, 5000)
    g = np.linspace(-6, 6, 25)
    with tonecore.Equalizer(FS, 1, gains_db=g, max_block=5000, dtype=np.float64) as a, \
            tonecore.Equalizer(FS, 1, gains_db=g, max_block=5000, dtype=np.float64) as b:
        y1 = a.process(x)
        y2 = b.process(x[None, :].copy())
        y3 = np.empty_like(x)
    assert y1.shape == (5000,)
    np.testing.assert_array_equal(y1, y2[0])
    with tonecore.Equalizer(FS, 1, gains_db=g, max_block=5000, dtype=np.float64) as c:
        c.process(x, out=y3, interleaved=True)
    np.testing.assert_array_equal(y1, y3)


def test_nonfinite_input_is_sanitised_and_counted(noise):
    gains = np.random.default_rng(4).uniform(-12, 12, 25)
    x = noise.astype(np.float32)
    bad = x.copy()
    idx = [(0, 10), (1, 10), (0, 4000), (1, 8191), (0, 11_999)]
    vals = [np.nan, np.inf, -np.inf, np.nan, np.inf]
    clean = x.copy()
    for (c, i), v in zip(idx, vals):
        bad[c, i] = v
        clean[c, i] = 0.0
    with tonecore.Equalizer(FS, 2, gains_db=gains) as a, \
            tonecore.Equalizer(FS, 2, gains_db=gains) as b:
        y_bad = run_blocks(a, bad, [4096])
        y_clean = run_blocks(b, clean, [4096])
        assert a.nonfinite_count == len(idx)
        assert b.nonfinite_count == 0
    assert np.all(np.isfinite(y_bad))
    np.testing.assert_array_equal(y_bad, y_clean)


def test_reset_clears_the_signal_state(noise):
    x = np.ascontiguousarray(noise[:, :4096])
    g = np.linspace(-10, 10, 25)
    with tonecore.Equalizer(FS, 2, gains_db=g, dtype=np.float64) as eq:
        first = eq.process(x)
        eq.process(x)
        eq.reset()
        again = eq.process(x)
    np.testing.assert_array_equal(first, again)


def test_set_gains_takes_effect():
    """Gains set on the control path are reported at once and reach the output after the
    crossfade (here: checked with a sine at one band centre)."""
    band = 12
    f = CENTRES[band]
    n = 4096 * 8
    x = np.sin(2 * np.pi * f / FS * np.arange(n))[None, :]
    with tonecore.Equalizer(FS, 1, dtype=np.float64, ramp_ms=5.0) as eq:
        g = np.zeros(25)
        g[band] = -9.0
        eq.set_gains(g)
        assert np.array_equal(eq.gains, g)
        y = run_blocks(eq, x, [512])
    gain, _ = sine_gain_db(y[0], f, n // 2, eq.latency)
    assert abs(gain + 9.0) <= 0.1
    # values outside ±24 dB are clamped
    with tonecore.Equalizer(FS, 1) as eq:
        eq.set_gains(np.full(25, 100.0))
        assert np.array_equal(eq.gains, np.full(25, 24.0))


def test_set_gains_from_another_thread_while_processing():
    band = 9
    f = CENTRES[band]
    rng = np.random.default_rng(9)
    settings = [rng.uniform(-12, 12, 25) for _ in range(40)]
    last = settings[-1]
    block = 1024
    with tonecore.Equalizer(FS, 2, ramp_ms=20.0, dtype=np.float64) as eq:
        state = {"pos": 0, "errors": [], "blocks": 0}
        stop = threading.Event()
        setter_started = threading.Event()

        def sine_block(pos, k):
            s = np.sin(2 * np.pi * f / FS * np.arange(pos, pos + k))
            return np.ascontiguousarray(np.stack([s, -s]))

        def audio():
            try:
                while not stop.is_set() or not setter_started.is_set():
                    y = eq.process(sine_block(state["pos"], block))
                    state["pos"] += block
                    state["blocks"] += 1
                    if not np.all(np.isfinite(y)):
                        state["errors"].append("non-finite output")
                        return
            except BaseException as e:  # noqa: BLE001
                state["errors"].append(repr(e))

        def control():
            setter_started.set()
            first = state["blocks"]
            try:
                for g in settings:
                    eq.set_gains(g)
                    time.sleep(0.001)
            except BaseException as e:  # noqa: BLE001
                state["errors"].append(repr(e))
            state["blocks_during"] = state["blocks"] - first

        a = threading.Thread(target=audio)
        c = threading.Thread(target=control)
        a.start()
        c.start()
        c.join(30)
        stop.set()
        a.join(30)
        assert not a.is_alive() and not c.is_alive()
        assert not state["errors"], state["errors"]
        # the audio thread really ran while the gains changed
        assert state["blocks_during"] >= 5, state
        np.testing.assert_array_equal(eq.gains, last)
        # a few more blocks: past the ramp, the kernel length and the latency
        pos = state["pos"]
        tail = []
        for _ in range(16):
            tail.append(eq.process(sine_block(pos, block)))
            pos += block
        y = np.concatenate(tail, axis=1)
        start = y.shape[1] // 2
        gain0, _ = sine_gain_db(y[0], f, start, eq.latency - state["pos"])
        gain1, _ = sine_gain_db(-y[1], f, start, eq.latency - state["pos"])
    assert abs(gain0 - last[band]) <= 0.1, (gain0, last[band])
    assert abs(gain1 - last[band]) <= 0.1, (gain1, last[band])


def test_two_threads_processing_one_equalizer_conflict_cleanly(noise):
    x = np.ascontiguousarray(noise[:, :4096], dtype=np.float32)
    g = np.linspace(-6, 6, 25)
    with tonecore.Equalizer(FS, 2, gains_db=g) as eq:
        stats = {"ok": 0, "conflict": 0, "other": []}
        lock = threading.Lock()
        stop = threading.Event()

        def run():
            out = np.empty_like(x)
            while not stop.is_set():
                out.fill(7.0)
                try:
                    eq.process(x, out=out)
                except tonecore.ConcurrentUse as e:
                    with lock:
                        if e.status != 100 or not np.all(out == 7.0):
                            stats["other"].append("refused call wrote its output")
                        stats["conflict"] += 1
                    continue
                except BaseException as e:  # noqa: BLE001
                    with lock:
                        stats["other"].append(repr(e))
                    return
                with lock:
                    stats["ok"] += 1

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while (time.monotonic() < deadline and not stats["other"]
               and (stats["conflict"] < 3 or stats["ok"] < 50)):
            time.sleep(0.01)
        stop.set()
        for t in threads:
            t.join(10)
    assert not stats["other"], stats["other"]
    assert stats["ok"] > 0
    assert stats["conflict"] > 0, "the threads never overlapped inside the library"


# --- bad input ---------------------------------------------------------------------------


@pytest.fixture
def eq2():
    with tonecore.Equalizer(FS, 2, max_block=1024, gains_db=np.linspace(-3, 3, 25)) as eq:
        yield eq


def test_bad_gains_leave_gains_unchanged(eq2):
    before = eq2.gains
    for bad, status in ((np.zeros(24), 17), (np.zeros(26), 17), (np.zeros(0), 17)):
        with pytest.raises(tonecore.InvalidArgument) as info:
            eq2.set_gains(bad)
        assert info.value.status == status and info.value.detail
    for v in (np.nan, np.inf):
        g = np.zeros(25)
        g[3] = v
        with pytest.raises(tonecore.InvalidArgument) as info:
            eq2.set_gains(g)
        assert info.value.status == 5
    with pytest.raises(ValueError):
        eq2.set_gains(np.zeros((5, 5)))
    with pytest.raises(TypeError):
        eq2.set_gains("loud")
    np.testing.assert_array_equal(eq2.gains, before)


def test_block_too_large_is_invalid_argument(eq2, sentinel):
    x = np.zeros((2, 1025), np.float32)
    out = sentinel.array((2, 1025), np.float32)
    # a control-path failure first: its detail must not leak into the audio-path error
    with pytest.raises(tonecore.InvalidArgument):
        eq2.set_gains(np.zeros(3))
    with pytest.raises(tonecore.InvalidArgument) as info:
        eq2.process(x, out=out)
    assert info.value.status == _native.STATUS_BLOCK_TOO_LARGE == 15
    assert info.value.detail == tonecore.status_str(15)
    assert sentinel.untouched(out)
    # max_block itself is fine
    eq2.process(np.zeros((2, 1024), np.float32))


def test_shape_dtype_layout_errors_before_native_calls(eq2, sentinel, no_native_calls):
    out = sentinel.array((2, 100), np.float32)
    good = np.zeros((2, 100), np.float32)
    with no_native_calls():
        with pytest.raises(ValueError, match="channels"):
            eq2.process(np.zeros((3, 100), np.float32), out=out)  # wrong channel count
        with pytest.raises(ValueError, match="mono"):
            eq2.process(np.zeros(100, np.float32))
        with pytest.raises(ValueError, match="channels"):
            eq2.process(np.zeros((2, 100), np.float32), interleaved=True)  # needs (100, 2)
        with pytest.raises(TypeError, match="dtype"):
            eq2.process(np.zeros((2, 100), np.float64), out=out)
        with pytest.raises(TypeError):
            eq2.process(good.tolist())
        with pytest.raises(ValueError, match="dimensional"):
            eq2.process(np.zeros((1, 2, 100), np.float32))
        with pytest.raises(ValueError, match="contiguous"):
            eq2.process(np.zeros((2, 200), np.float32)[:, ::2], out=out)
        with pytest.raises(ValueError, match="contiguous"):
            eq2.process(np.asfortranarray(np.zeros((2, 100), np.float32)), out=out)
        with pytest.raises(ValueError, match="shape"):
            eq2.process(good, out=np.zeros((2, 99), np.float32))  # out too small
        with pytest.raises(ValueError, match="shape"):
            eq2.process(good, out=np.zeros(200, np.float32))
        with pytest.raises(TypeError):
            eq2.process(good, out=np.zeros((2, 100), np.float64))
        with pytest.raises(ValueError, match="share memory"):
            eq2.process(good, out=good)
        ro = sentinel.array((2, 100), np.float32)
        ro.flags.writeable = False
        with pytest.raises(ValueError, match="read-only"):
            eq2.process(good, out=ro)
    assert sentinel.untouched(out)


@pytest.mark.parametrize(
    "kwargs, status",
    [
        (dict(sample_rate=0), 13),
        (dict(channels=0), 14),
        (dict(channels=65), 14),
        (dict(fft_size=4097), 7),
        (dict(fft_size=8), 7),
        (dict(max_block=0), 2),
        (dict(max_block=2**24 + 1), 2),
        (dict(ramp_ms=-1.0), 2),
        (dict(ramp_ms=float("nan")), 2),
        (dict(gains_db=np.zeros(24)), 17),
        (dict(gains_db=[0.0] * 24 + [np.nan]), 5),
        (dict(layout=[100.0, 50.0]), 16),
    ],
)
def test_bad_construction_arguments(kwargs, status):
    args = dict(sample_rate=FS, channels=2)
    args.update(kwargs)
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.Equalizer(**args)
    assert info.value.status == status, info.value


def test_bad_construction_types_before_native_calls(no_native_calls):
    crit = tonecore.BandLayout.critical()
    with no_native_calls():
        for kwargs, exc in [
            (dict(dtype=np.int16), TypeError),
            (dict(dtype=np.complex64), TypeError),
            (dict(sample_rate=-1), ValueError),
            (dict(sample_rate=44100.5), ValueError),
            (dict(sample_rate="44100"), TypeError),
            (dict(channels=-1), ValueError),
            (dict(channels=2.0), TypeError),
            (dict(mode="linear"), ValueError),
            (dict(ramp_ms="fast"), TypeError),
            (dict(gains_db=np.zeros((5, 5))), ValueError),
            (dict(fft_size=None), TypeError),
        ]:
            args = dict(sample_rate=FS, channels=2, layout=crit)
            args.update(kwargs)
            with pytest.raises(exc):
                tonecore.Equalizer(**args)


# --- lifetime ----------------------------------------------------------------------------


def test_closed_equalizer_raises(sentinel):
    eq = tonecore.Equalizer(FS, 2)
    eq.close()
    assert eq.closed and "closed" in repr(eq)
    out = sentinel.array((2, 10), np.float32)
    for call in (lambda: eq.process(np.zeros((2, 10), np.float32), out=out),
                 lambda: eq.set_gains(np.zeros(25)), lambda: eq.gains, lambda: eq.reset(),
                 lambda: eq.nonfinite_count):
        with pytest.raises(tonecore.ClosedError) as info:
            call()
        assert info.value.status is None and "Equalizer" in str(info.value)
    assert sentinel.untouched(out)
    with pytest.raises(tonecore.ClosedError):
        with eq:
            pass
    eq.close()  # idempotent
    assert eq.latency == 3072 and eq.bands == 25  # plain configuration stays readable


def test_context_manager_and_finalizer():
    with pytest.raises(RuntimeError):
        with tonecore.Equalizer(FS, 1) as eq:
            raise RuntimeError("boom")
    assert eq.closed
    eq = tonecore.Equalizer(FS, 1)
    finalizer = eq._finalizer
    ref = weakref.ref(eq)
    del eq
    gc.collect()
    assert ref() is None and not finalizer.alive
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(tonecore.Equalizer(FS, 1))


def test_close_while_another_thread_processes():
    x = np.zeros((2, 4096), np.float32)
    for _ in range(10):
        eq = tonecore.Equalizer(FS, 2)
        outcomes = []
        started = threading.Event()

        def run():
            started.set()
            while True:
                try:
                    eq.process(x)
                except tonecore.ClosedError:
                    outcomes.append("closed")
                    return
                except BaseException as e:  # noqa: BLE001
                    outcomes.append(repr(e))
                    return

        t = threading.Thread(target=run)
        t.start()
        started.wait()
        time.sleep(0.002)
        eq.close()
        t.join(10)
        assert not t.is_alive()
        assert outcomes == ["closed"], outcomes
