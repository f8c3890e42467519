"""Packaging, versions, ABI check, header/binding consistency, status codes and exceptions."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tonecore
from tonecore import _native


def cargo_version(repo: Path) -> str:
    section = None
    for line in (repo / "Cargo.toml").read_text().splitlines():
        line = line.strip()
        m = re.match(r"^\[([^\[\]]+)\]", line)
        if m:
            section = m.group(1)
        elif section == "package":
            m = re.match(r'^version\s*=\s*"([^"]+)"', line)
            if m:
                return m.group(1)
    raise AssertionError("no version in Cargo.toml")


def test_version_equals_cargo_toml(repo):
    # ../../Cargo.toml seen from bindings/python
    assert (repo / "bindings" / "python" / "setup.py").is_file()
    assert tonecore.__version__ == cargo_version(repo)
    assert tonecore.library_version() == cargo_version(repo)


def test_abi_version():
    assert tonecore.ABI_VERSION == 1
    assert tonecore.abi_version() == tonecore.ABI_VERSION


def test_abi_matches_header(repo):
    header = (repo / "include" / "tonecore.h").read_text()
    m = re.search(r"#define TONECORE_ABI_VERSION (\d+)", header)
    assert m and int(m.group(1)) == tonecore.ABI_VERSION


def test_abi_mismatch_is_a_clear_import_error():
    _native.check_abi(1, 1)
    with pytest.raises(ImportError, match=r"ABI version 2.*needs ABI version 1"):
        _native.check_abi(2, 1, Path("/x/libtonecore.so"))


def test_every_header_function_is_declared(repo):
    header = (repo / "include" / "tonecore.h").read_text()
    declared = set(re.findall(r"^(?![\s#/])[^(;]*?\b(tonecore_\w+)\(", header, re.M))
    assert len(declared) >= 17
    assert declared == set(_native.FUNCTIONS)
    for name in declared:
        fn = getattr(_native.lib, name)
        assert fn.argtypes is not None, name
    # void-returning functions keep restype None; everything else is typed
    assert _native.lib.tonecore_stft_free.restype is None
    assert _native.lib.tonecore_abi_version.restype is ctypes.c_uint32


def test_config_struct_size_matches_library():
    config = _native.StftConfig()
    assert _native.lib.tonecore_stft_config_init(ctypes.byref(config)) == 0
    assert config.struct_size == ctypes.sizeof(_native.StftConfig)
    assert (config.fft_size, config.hop, config.window, config.sample_format) == (4096, 1024, 0, 0)
    assert (config.center, config.threads, bool(config.custom_window)) == (0, 0, False)


def test_status_str():
    assert tonecore.status_str(0) == "ok"
    assert "NaN" in tonecore.status_str(5)
    assert "inverted" in tonecore.status_str(11)
    assert tonecore.status_str(100) == "the object is already in use on another thread"
    assert tonecore.status_str(12345) == "unknown status"
    assert tonecore.status_str(-1) == "unknown status"
    assert tonecore.status_str(2**40) == "unknown status"


def test_exception_hierarchy():
    assert issubclass(tonecore.InvalidArgument, tonecore.Error)
    assert issubclass(tonecore.InvalidArgument, ValueError)
    for cls in (tonecore.ConcurrentUse, tonecore.Poisoned, tonecore.Panic):
        assert issubclass(cls, tonecore.Error) and issubclass(cls, RuntimeError)
    assert issubclass(tonecore.ClosedError, tonecore.Error)
    assert issubclass(tonecore.Error, Exception)
    from tonecore._errors import error_for_status

    assert error_for_status(1) is tonecore.InvalidArgument
    assert error_for_status(99) is tonecore.InvalidArgument
    assert error_for_status(100) is tonecore.ConcurrentUse
    assert error_for_status(101) is tonecore.Poisoned
    assert error_for_status(200) is tonecore.Panic
    assert error_for_status(202) is tonecore.Error
    assert error_for_status(150) is tonecore.Error


def test_exception_carries_status_and_detail():
    x = np.zeros(100_000)
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.stft(x, fft_size=1001)
    e = info.value
    assert e.status == 7
    assert e.detail == "fft_size must be even"
    assert "fft_size must be even" in str(e) and "status 7" in str(e)
    import pickle

    e2 = pickle.loads(pickle.dumps(e))
    assert (type(e2), e2.status, e2.detail, str(e2)) == (type(e), 7, e.detail, str(e))


def test_generic_error_for_unmapped_status():
    with pytest.raises(tonecore.Error) as info:
        _native.raise_for_status(202, "tonecore_fake")
    assert type(info.value) is tonecore.Error
    assert info.value.status == 202


def test_debug_panic_returns_200_and_process_survives():
    status = _native.lib.tonecore_debug_panic()
    assert status == 200
    assert "tonecore_debug_panic was called" in _native.last_error_message()
    with pytest.raises(tonecore.Panic) as info:
        _native.check(_native.lib.tonecore_debug_panic(), "tonecore_debug_panic")
    assert info.value.status == 200 and "panic" in info.value.detail
    # the process and the library still work
    np.testing.assert_allclose(tonecore.window("hann", 4), [0.0, 0.5, 1.0, 0.5], atol=1e-15)
    assert _native.last_error_message() == ""


def test_debug_panic_in_a_fresh_process(tmp_path):
    code = (
        "import tonecore\nfrom tonecore import _native\n"
        "for _ in range(3): assert _native.lib.tonecore_debug_panic() == 200\n"
        "print('alive', tonecore.abi_version())\n"
    )
    env = dict(os.environ, RUST_BACKTRACE="1")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "alive 1"
    assert r.stderr == ""  # a panic inside the library prints nothing on the host's stderr


def test_loads_the_bundled_library():
    if os.environ.get(_native.LIBRARY_ENV):
        pytest.skip("TONECORE_LIBRARY overrides the bundled library")
    package = Path(tonecore.__file__).resolve().parent
    assert _native.LIBRARY_PATH == package / "libtonecore.so"
    assert _native.LIBRARY_PATH.is_file()
    assert (package / "py.typed").is_file()
    # the installed package, not the source tree next to these tests
    source = Path(__file__).resolve().parents[1] / "tonecore"
    assert package != source.resolve()


def test_env_override_loads_another_library(tmp_path):
    copy = tmp_path / "other" / "libtonecore-copy.so"
    copy.parent.mkdir()
    shutil.copyfile(_native.LIBRARY_PATH, copy)
    env = dict(os.environ, TONECORE_LIBRARY=str(copy))
    code = "import tonecore\nfrom tonecore import _native\nprint(_native.LIBRARY_PATH)\n"
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(copy)

    env["TONECORE_LIBRARY"] = str(tmp_path / "missing.so")
    r = subprocess.run([sys.executable, "-c", "import tonecore"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "missing.so" in r.stderr


class _AbiProxy:
    """A loaded library whose tonecore_abi_version() reports another ABI."""

    def __init__(self, real, abi):
        self._real = real
        self._abi = abi

        def fake_abi_version():
            return abi

        self.tonecore_abi_version = fake_abi_version

    def __getattr__(self, name):
        return getattr(self._real, name)


def test_abi_mismatch_at_load_is_an_import_error(monkeypatch):
    real_cdll = ctypes.CDLL
    monkeypatch.setattr(_native.ctypes, "CDLL",
                        lambda path, *a, **k: _AbiProxy(real_cdll(path, *a, **k), 2))
    with pytest.raises(ImportError) as info:
        _native._load()
    msg = str(info.value)
    assert "C ABI version 2" in msg and "needs ABI version 1" in msg
    assert str(_native.library_path()) in msg and "TONECORE_LIBRARY" in msg


def test_abi_mismatch_fails_import_tonecore(tmp_path):
    code = (
        "import ctypes\n"
        "real = ctypes.CDLL\n"
        "class Proxy:\n"
        "    def __init__(self, lib):\n"
        "        self._lib = lib\n"
        "        self.tonecore_abi_version = lambda: 99\n"
        "    def __getattr__(self, name):\n"
        "        return getattr(self._lib, name)\n"
        "ctypes.CDLL = lambda path, *a, **k: Proxy(real(path, *a, **k))\n"
        "try:\n"
        "    import tonecore\n"
        "except ImportError as e:\n"
        "    print('ImportError:', e)\n"
        "else:\n"
        "    print('imported')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ImportError: tonecore: the native library")
    assert "C ABI version 99" in r.stdout and "needs ABI version 1" in r.stdout


def test_help_overview_documents_the_rules():
    doc = tonecore.__doc__
    for needle in ("Arrays", "copy=True", "out=", "Threads", "GIL", "Errors", "StaleHandle",
                   "process_file", "tonecore.batch", "LUFS"):
        assert needle in doc, needle


def test_every_public_name_is_documented_with_units_or_returns():
    import inspect

    for name in tonecore.__all__:
        obj = getattr(tonecore, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert obj.__doc__ and len(obj.__doc__) > 40, name
        if inspect.isfunction(obj) and name not in ("abi_version", "library_version"):
            assert "Returns" in obj.__doc__ or "Raises" in obj.__doc__, name


def test_py_typed_and_mypy_config(repo):
    pyproject = (repo / "bindings" / "python" / "pyproject.toml").read_text()
    assert "[tool.mypy]" in pyproject and "strict = true" in pyproject
    assert (repo / "bindings" / "python" / "tonecore" / "py.typed").is_file()


def test_every_config_struct_is_as_large_as_its_init_writes(repo):
    """Each ``*_config_init`` writes the whole C struct and its ``struct_size``: a ctypes mirror
    missing trailing fields would be overrun. Init runs on a larger zeroed buffer here, so a
    stale mirror fails this test instead of corrupting memory."""
    import ctypes
    import re

    from tonecore import _native

    header = (repo / "include" / "tonecore.h").read_text()
    inits = re.findall(r"tonecore_status (tonecore_(\w+_config)_init)\(struct tonecore_\2 \*",
                       header)
    mirrors = {}
    for obj in vars(_native).values():
        if isinstance(obj, type) and issubclass(obj, ctypes.Structure) and obj.__doc__:
            m = re.match(r"``(tonecore_\w+)``", obj.__doc__)
            if m:
                mirrors[m.group(1)] = obj
    assert len(inits) >= 8, inits
    for fn, name in inits:
        assert f"tonecore_{name}" in mirrors, f"no ctypes mirror of tonecore_{name}"
        mirror = mirrors[f"tonecore_{name}"]
        buf = ctypes.create_string_buffer(4096)
        assert getattr(_native.lib, fn)(ctypes.cast(buf, ctypes.POINTER(mirror))) == 0, fn
        written = ctypes.c_size_t.from_buffer(buf).value
        assert written == ctypes.sizeof(mirror), (fn, written)
