"""numpy without copies: every function that produces samples or spectra takes ``out=`` and
returns it; float32 and float64; a C-contiguous input is never copied (tracemalloc sees no
input-sized allocation during the call); non-contiguous or wrong-dtype input is refused with a
message naming ``copy=True``, and with ``copy=True`` it is converted once and gives the same
result as the conforming array."""

from __future__ import annotations

import tracemalloc
from typing import Callable, NamedTuple

import numpy as np
import pytest

import tonecore

SR = 44100
FRAMES = 1 << 17  # per channel
CHANNELS = 2
GAINS = np.linspace(-6, 6, 25)
CFG = tonecore.PipelineConfig(eq_gains=GAINS, limiter=-1.0)


class Case(NamedTuple):
    name: str
    # (x, out, copy) -> result, for float dtype dt
    call: Callable
    # out array for input x (None: no output array)
    make_out: Callable
    # the input to use, from a planar (CHANNELS, FRAMES) float signal
    make_x: Callable = lambda s: s


def _stft_out(x):
    frames = 1 + (x.shape[-1] - 1024) // 256
    return np.empty((x.shape[0], frames, 513), tonecore._checks.COMPLEX_OF[x.dtype])


def _spec(s):
    return tonecore.stft(np.ascontiguousarray(s), fft_size=1024, hop=256)


def _istft_out(spec):
    frames = spec.shape[1]
    return np.empty((spec.shape[0], (frames - 1) * 256 + 1024), tonecore._checks.REAL_OF[spec.dtype])


def _stft_forward(x, out, copy):
    with tonecore.Stft(1024, 256, dtype=x.dtype if isinstance(x, np.ndarray) and x.dtype in
                       (np.float32, np.float64) else np.float64) as s:
        return s.forward(x, out=out, copy=copy)


def _stft_inverse(spec, out, copy):
    real = np.float32 if spec.dtype == np.complex64 else np.float64
    with tonecore.Stft(1024, 256, dtype=real) as s:
        return s.inverse(spec, out=out, copy=copy)


def _eq_process(x, out, copy):
    dt = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    with tonecore.Equalizer(SR, CHANNELS, gains_db=GAINS, max_block=FRAMES, dtype=dt) as eq:
        return eq.process(x, out=out, copy=copy)


def _pipeline_process(x, out, copy):
    dt = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    with tonecore.Pipeline(SR, CHANNELS, CFG, max_block=FRAMES, dtype=dt) as p:
        return p.process(x, out=out, copy=copy)


def _limiter_process(x, out, copy):
    dt = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    with tonecore.Limiter(SR, CHANNELS, -1.0, dtype=dt) as lim:
        return lim.process(x, out=out, copy=copy)


def _energies_out(x):
    frames = 1 + (x.shape[-1] - 4096) // 2048
    return np.empty((frames, 25))


def _meter_add(x, out, copy):
    with tonecore.LoudnessMeter(CHANNELS, SR) as m:
        m.add(x, copy=copy)
        return m.report()["integrated"]


CASES = [
    Case("stft", lambda x, out, copy: tonecore.stft(x, 1024, 256, out=out, copy=copy), _stft_out),
    Case("Stft.forward", _stft_forward, _stft_out),
    Case("istft", lambda spec, out, copy: tonecore.istft(spec, 1024, 256, out=out, copy=copy),
         _istft_out, _spec),
    Case("Stft.inverse", _stft_inverse, _istft_out, _spec),
    Case("equalize", lambda x, out, copy: tonecore.equalize(x, SR, GAINS, out=out, copy=copy),
         np.empty_like),
    Case("Equalizer.process", _eq_process, np.empty_like),
    Case("Pipeline.process", _pipeline_process, np.empty_like),
    Case("Limiter.process", _limiter_process, np.empty_like),
    Case("band_energies",
         lambda x, out, copy: tonecore.band_energies(x, SR, out=out, copy=copy), _energies_out),
    Case("crossfade_concat",
         lambda x, out, copy: tonecore.crossfade_concat(x, x[::-1].copy() if copy is None else x,
                                                        4096, out=out, copy=copy),
         lambda x: np.empty((x.shape[0], 2 * x.shape[-1] - 4096), x.dtype)),
    Case("render_chunked",
         lambda x, out, copy: tonecore.render_chunked(x, SR, CFG, chunk_seconds=1.0, out=out,
                                                      copy=copy),
         np.empty_like),
    Case("loudness", lambda x, out, copy: tonecore.loudness(x, SR, copy=copy)["integrated"],
         lambda x: None),
    Case("integrated_loudness",
         lambda x, out, copy: tonecore.integrated_loudness(x, SR, copy=copy), lambda x: None),
    Case("LoudnessMeter.add", _meter_add, lambda x: None),
]
IDS = [c.name for c in CASES]


def signal(dtype) -> np.ndarray:
    return np.random.default_rng(7).uniform(-0.5, 0.5, (CHANNELS, FRAMES)).astype(dtype)


def peak_allocation(fn) -> int:
    """Peak bytes traced by tracemalloc (numpy registers its data buffers) during fn()."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_out_is_written_in_place_and_the_input_is_not_copied(case, dtype):
    x = case.make_x(signal(dtype))
    assert x.flags.c_contiguous
    out = case.make_out(x)
    case.call(x, out, False)  # warm-up: caches, plans, lazy imports
    if out is not None:
        out.fill(0)
    peak = peak_allocation(lambda: case.call(x, out, False))
    result = case.call(x, out, False)
    if out is not None:
        assert result is out
        assert np.any(out != 0)
    assert x.nbytes > 1_000_000
    assert peak < x.nbytes // 8, (case.name, peak, x.nbytes)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_check_sees_a_copy_when_there_is_one(case):
    # The same measurement with copy=True on a strided view must report the conversion,
    # so the zero-copy test above can fail.
    x = case.make_x(signal(np.float64))
    strided = np.repeat(x, 2, axis=-1)[..., ::2]
    assert not strided.flags.c_contiguous
    out = case.make_out(x)
    case.call(x, out, False)
    peak = peak_allocation(lambda: case.call(strided, out, True))
    assert peak >= x.nbytes, (case.name, peak, x.nbytes)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_copy_true_passes_a_conforming_array_through(case):
    x = case.make_x(signal(np.float32))
    out = case.make_out(x)
    case.call(x, out, True)
    peak = peak_allocation(lambda: case.call(x, out, True))
    assert peak < x.nbytes // 8, (case.name, peak)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_non_contiguous_input_is_refused_unless_copy(case):
    x = case.make_x(signal(np.float64))
    strided = np.repeat(x, 2, axis=-1)[..., ::2]
    fortran = np.asfortranarray(x)
    for bad in (strided, fortran):
        with pytest.raises(ValueError, match=r"C-contiguous.*copy=True"):
            case.call(bad, case.make_out(x), False)
    expected = case.call(x, case.make_out(x), False)
    for bad in (strided, fortran):
        got = case.call(bad, case.make_out(x), True)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_wrong_dtype_is_refused_unless_copy(case):
    x = case.make_x(signal(np.float64))
    if x.dtype.kind == "c":
        bad = x.astype(np.complex64).astype(">c16")
        target = bad.astype(np.complex128)
    else:
        bad = np.round(x * 1000).astype(np.int32)
        target = bad.astype(np.float64)  # integers become float64, values unchanged
    with pytest.raises(TypeError, match=r"dtype.*copy=True"):
        case.call(bad, case.make_out(target), False)
    got = case.call(bad, case.make_out(target), True)
    expected = case.call(target, case.make_out(target), False)
    np.testing.assert_array_equal(got, expected)


def test_copy_conversion_rules():
    from tonecore._checks import C64, C128, F32, F64, input_array

    def conv(a, dtypes=(F32, F64)):
        return input_array(a, "x", dtypes, (1, 2), copy=True).dtype

    assert conv(np.zeros(4, np.float16)) == F32
    assert conv(np.zeros(4, np.int16)) == F64
    assert conv(np.zeros(4, ">f4")) == F32
    assert conv([1, 2, 3]) == F64
    assert conv(np.zeros(4, np.int16), (F32,)) == F32
    assert conv(np.zeros(4, np.float64), (C64, C128)) == C128
    with pytest.raises(TypeError, match="complex"):
        conv(np.zeros(4, np.complex128))
    with pytest.raises(TypeError, match="numbers"):
        conv(np.array(["a", "b"]))
    # values are cast, never rescaled
    np.testing.assert_array_equal(
        input_array(np.array([-32768, 0, 32767], np.int16), "x", (F32, F64), (1,), copy=True),
        [-32768.0, 0.0, 32767.0])


def test_out_is_never_converted():
    x = signal(np.float32)
    with pytest.raises(TypeError, match="out must have dtype float32"):
        tonecore.equalize(x, SR, GAINS, out=np.empty(x.shape, np.float64), copy=True)
    with pytest.raises(ValueError, match="out must be C-contiguous"):
        tonecore.equalize(x, SR, GAINS, out=np.empty(x.shape[::-1], np.float32).T, copy=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_only_functions_write_out(dtype):
    out = np.zeros(1024, dtype)
    assert tonecore.window("hann", 1024, out=out) is out
    np.testing.assert_allclose(out, 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(1024) / 1024),
                               atol=1e-7)
    with pytest.raises(TypeError, match="dtype"):
        tonecore.window("hann", 1024, dtype=np.float64, out=np.zeros(1024, np.float32))
    with pytest.raises(ValueError, match="shape"):
        tonecore.window("hann", 1000, out=out)
    curve = np.zeros(2049)
    assert tonecore.gain_curve(GAINS, out=curve) is curve
    x = np.random.default_rng(1).uniform(-0.1, 0.1, (2, SR)).astype(dtype)
    with tonecore.PlaybackStream(x, SR, None, chunk_seconds=0.5) as stream:
        block = np.empty((256, 2), dtype)
        assert stream.read(256, out=block) is block
