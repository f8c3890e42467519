"""Shared fixtures: test signals, independent numpy/scipy references, helpers.

The tests import the *installed* ``tonecore`` package (``pip install ./bindings/python``), run as
``python -m pytest -q --import-mode=importlib bindings/python/tests`` from the repository root.
Every numeric check compares against numpy/scipy, never against tonecore's own output.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import scipy.signal

from tonecore import _native

REPO = Path(__file__).resolve().parents[3]
FS = 44100


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root (holds Cargo.toml and include/tonecore.h)."""
    return REPO


@pytest.fixture(scope="session")
def noise60() -> np.ndarray:
    """60 s of 44.1 kHz uniform noise in [-1, 1), float64."""
    return np.random.default_rng(60).uniform(-1.0, 1.0, 60 * FS)


@pytest.fixture(scope="session")
def noise3() -> np.ndarray:
    """3 s of 44.1 kHz uniform noise in [-1, 1), float64."""
    return np.random.default_rng(3).uniform(-1.0, 1.0, 3 * FS)


def scipy_window(kind: str, n: int) -> np.ndarray:
    """Independent reference windows (periodic, as scipy's get_window)."""
    if kind == "hann_sym":
        return np.hanning(n)
    if kind == "sqrt_hann":
        return np.sqrt(scipy.signal.get_window("hann", n))
    return scipy.signal.get_window(kind, n)


def ref_stft(x: np.ndarray, n_fft: int, hop: int, w: np.ndarray, center: bool = False) -> np.ndarray:
    """numpy reference: frame k = rfft(x[..., k*hop : k*hop + n_fft] * w), in float64.

    ``center=True`` zero-pads ``n_fft // 2`` on both sides (np.pad) and takes frames at
    ``k*hop`` for ``k in range(1 + len // hop)``.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    if center:
        pad = [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)]
        x = np.pad(x, pad)
        frames = 1 + n // hop if n > 0 else 0
    else:
        frames = 1 + (n - n_fft) // hop if n >= n_fft else 0
    bins = n_fft // 2 + 1
    if frames == 0:
        return np.zeros(x.shape[:-1] + (0, bins), dtype=np.complex128)
    starts = np.arange(frames) * hop
    assert starts[-1] + n_fft <= x.shape[-1]
    view = np.lib.stride_tricks.sliding_window_view(x, n_fft, axis=-1)[..., starts, :]
    return np.fft.rfft(view * np.asarray(w, dtype=np.float64), axis=-1)


def rel_err(got: np.ndarray, ref: np.ndarray) -> float:
    """max |got - ref| / max |ref|."""
    assert got.shape == ref.shape, (got.shape, ref.shape)
    if ref.size == 0:
        return 0.0
    return float(np.max(np.abs(got - ref)) / np.max(np.abs(ref)))


@pytest.fixture
def reference():
    """The reference helpers as a namespace (tests cannot import conftest in importlib mode)."""

    class R:
        stft = staticmethod(ref_stft)
        window = staticmethod(scipy_window)
        rel_err = staticmethod(rel_err)

    return R


class _Tripwire:
    """Stands in for the ctypes library: any native call fails the test."""

    def __getattr__(self, name: str):
        raise AssertionError(f"native function {name} was reached; validation must come first")


@pytest.fixture
def no_native_calls(monkeypatch) -> Iterator[contextlib.AbstractContextManager]:
    """A context manager under which any call into libtonecore fails the test."""

    @contextlib.contextmanager
    def guard():
        with monkeypatch.context() as m:
            m.setattr(_native, "lib", _Tripwire())
            yield

    yield guard


SENTINEL = 12345.5 - 6789.25j


def sentinel_array(shape, dtype) -> np.ndarray:
    """An ``out=`` buffer filled with a recognisable value."""
    dtype = np.dtype(dtype)
    value = SENTINEL if dtype.kind == "c" else SENTINEL.real
    return np.full(shape, value, dtype=dtype)


def untouched(arr: np.ndarray) -> bool:
    value = SENTINEL if arr.dtype.kind == "c" else SENTINEL.real
    return bool(np.all(arr == value))


@pytest.fixture
def sentinel():
    class S:
        array = staticmethod(sentinel_array)
        untouched = staticmethod(untouched)

    return S
