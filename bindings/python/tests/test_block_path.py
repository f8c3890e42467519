"""The per-block ``process`` of Equalizer, Pipeline and Limiter has a fast path (exact
ndarrays of the object's dtype, C-contiguous, with its channels) and the full checks
(everything else): both must give bit-identical output, and a close() from another thread must
never free the object under either. Two identical objects fed the same blocks, one through the
fast path and one with it switched off (``_object._array_fields = None``, as when the array
layout cannot be confirmed), run the two side by side."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tonecore
from tonecore import _object

FS = 44100


def _objects(dtype):
    gains = np.linspace(-6, 6, 25)
    return {
        "Equalizer": lambda: tonecore.Equalizer(FS, 2, gains_db=gains, fft_size=512,
                                                max_block=512, dtype=dtype),
        "Pipeline": lambda: tonecore.Pipeline(
            FS, 2, {"eq_gains": gains, "level": {"mode": "momentary"}, "limiter": -1.0},
            max_block=512, dtype=dtype),
        "Limiter": lambda: tonecore.Limiter(FS, 2, -3.0, dtype=dtype),
    }


def test_the_array_view_reads_every_arrays_address_and_flags():
    fields = _object._array_fields
    assert fields is not None and _object._DATA_OFFSET > 0  # CPython with NumPy: fast path on
    base = np.random.default_rng(1).uniform(size=(16, 16))
    frozen = base.copy()
    frozen.flags.writeable = False
    odd = np.zeros(4 * 64 + 1, np.uint8)[1:].view(np.float32)
    for a in (base, base[3], base[:, 2], base[5:, 1:].T, frozen, np.empty(0, np.float32),
              np.ones((), np.float32), np.asfortranarray(base), np.empty((2, 4096), np.float32),
              odd, odd[4:].reshape(2, 30)):
        v = fields(id(a) + _object._DATA_OFFSET)
        assert v.data == a.__array_interface__["data"][0]
        assert v.flags == a.flags.num
        assert (v.flags & _object._IN_FLAGS == _object._IN_FLAGS) == (
            a.flags.c_contiguous and a.flags.aligned)
        assert (v.flags & _object._OUT_FLAGS == _object._OUT_FLAGS) == (
            a.flags.c_contiguous and a.flags.aligned and a.flags.writeable)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["Equalizer", "Pipeline", "Limiter"])
@pytest.mark.parametrize("interleaved", [False, True])
def test_fast_and_full_paths_are_bit_identical(kind, dtype, interleaved, monkeypatch):
    make = _objects(dtype)[kind]
    rng = np.random.default_rng(5)
    fields = _object._array_fields
    with make() as fast, make() as full:
        for frames in (1, 7, 256, 512, 33):
            shape = (frames, 2) if interleaved else (2, frames)
            x = np.ascontiguousarray(rng.uniform(-2, 2, shape).astype(dtype))
            frozen = x.copy()
            frozen.flags.writeable = False  # valid input: read-only blocks are fine
            a = fast.process(frozen if frames == 7 else x, interleaved=interleaved)
            monkeypatch.setattr(_object, "_array_fields", None)
            try:
                out = np.empty_like(x)
                b = full.process(frozen, out=out, interleaved=interleaved)
            finally:
                monkeypatch.setattr(_object, "_array_fields", fields)
            assert b is out
            assert a.dtype == b.dtype == dtype and a.shape == b.shape == shape
            assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("kind", ["Equalizer", "Pipeline", "Limiter"])
def test_close_during_fast_path_calls(kind):
    """Many closes racing the fast path: every call either completes or raises ClosedError."""
    x = np.zeros((2, 512), np.float32)
    out = np.empty_like(x)
    for _ in range(20):
        obj = _objects(np.float32)[kind]()
        outcomes = []
        started = threading.Event()

        def work():
            started.set()
            while True:
                try:
                    obj.process(x, out=out)
                except tonecore.ClosedError:
                    outcomes.append("closed")
                    return
                except BaseException as e:  # noqa: BLE001
                    outcomes.append(repr(e))
                    return

        t = threading.Thread(target=work)
        t.start()
        started.wait()
        obj.close()
        t.join(10)
        assert not t.is_alive()
        assert outcomes == ["closed"], outcomes
        assert obj.closed
        assert obj._handle._ptr is None  # freed exactly once, by close or by the last call


@pytest.mark.parametrize("kind", ["Equalizer", "Pipeline", "Limiter"])
def test_a_block_after_close_is_refused_while_another_call_keeps_the_object(kind):
    """close() while a registered call runs defers the free to that call's end; a block
    started after the close is refused at once (ClosedError), not processed."""
    x = np.zeros((2, 64), np.float32)
    obj = _objects(np.float32)[kind]()
    handle = obj._handle
    handle.acquire()  # a call in flight on another thread, as far as the handle knows
    obj.close()
    assert obj.closed and handle._ptr is not None  # not freed under the running call
    with pytest.raises(tonecore.ClosedError):
        obj.process(x)
    with pytest.raises(tonecore.ClosedError):
        obj.process(x, out=np.empty_like(x))
    assert handle._ptr is not None
    handle.release()  # the last call out frees
    assert handle._ptr is None
    with pytest.raises(tonecore.ClosedError):
        obj.process(x)
