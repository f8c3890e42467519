"""Packaging: ``python -m build --sdist`` makes an sdist that carries the crate; the wheel is
built from that sdist alone (as ``python -m build`` does) and bundles the library; the wheel
and the sdist each install into a fresh virtual environment (the sdist builds the library with
cargo there) and pass a smoke test run from outside the source tree.

Slow: one cargo compile of the crate (the wheel and the sdist install build the same unpacked
sdist, so the second build finds everything fresh; it builds in `target/sdist` through
CARGO_TARGET_DIR, so later runs find it fresh too) plus two virtual environments filled from
pip's cache: about two minutes on the first run. Deselect with ``-m 'not slow'`` while iterating.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SMOKE = textwrap.dedent(
    """
    import os, sys, tempfile
    import numpy as np, soundfile as sf
    import tonecore
    from tonecore import _native

    prefix = os.path.realpath(sys.prefix)
    assert os.path.realpath(tonecore.__file__).startswith(prefix), tonecore.__file__
    assert _native.LIBRARY_PATH.parent == __import__("pathlib").Path(tonecore.__file__).parent
    assert tonecore.__version__ == tonecore.library_version() == sys.argv[1], tonecore.__version__
    assert tonecore.abi_version() == tonecore.ABI_VERSION
    assert os.path.isfile(os.path.join(os.path.dirname(tonecore.__file__), "py.typed"))

    # numbers against numpy, not against tonecore
    x = np.random.default_rng(0).uniform(-1, 1, 8192)
    spec = tonecore.stft(x, fft_size=1024, hop=256)
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(1024) / 1024)
    ref = np.fft.rfft(x[256:1280] * w)
    assert np.max(np.abs(spec[1] - ref)) < 1e-9 * np.max(np.abs(ref))

    # files through soundfile (a declared dependency)
    d = tempfile.mkdtemp()
    y = np.random.default_rng(1).uniform(-0.5, 0.5, (44100, 2))
    sf.write(os.path.join(d, "in.flac"), y, 44100, subtype="PCM_24")
    r = tonecore.process_file(os.path.join(d, "in.flac"), os.path.join(d, "out.wav"))
    back = sf.read(os.path.join(d, "out.wav"), dtype="float64")[0]
    assert r.subtype == "PCM_24" and back.shape == y.shape
    assert np.max(np.abs(back - y)) < 2.0 ** -22
    print("smoke ok", tonecore.__version__)
    """
)


def cargo_version(repo: Path) -> str:
    text = (repo / "Cargo.toml").read_text()
    m = re.search(r'^\[package\][^\[]*?^version\s*=\s*"([^"]+)"', text, re.M | re.S)
    assert m, "no [package] version"
    return m.group(1)


def run(cmd, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{cmd}\n--- stdout\n{r.stdout[-4000:]}\n--- stderr\n{r.stderr[-4000:]}"
    return r


def cargo_env(repo: Path) -> dict:
    # Its own target directory: the sdist's crate sits at another path, and building it in the
    # repository's would replace the library `make lib` built there (the cdylib's fingerprint
    # is shared), so every later `make lib` rebuilt it.
    base = Path(os.environ.get("CARGO_TARGET_DIR") or repo / "target")
    return dict(os.environ, CARGO_TARGET_DIR=str(base / "sdist"))


@pytest.fixture(scope="module")
def dists(tmp_path_factory, repo):
    """(sdist, wheel built from the sdist alone, the unpacked sdist directory)."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--sdist", "--outdir", out,
         repo / "bindings" / "python"], timeout=600)
    sdists = list(out.glob("tonecore-*.tar.gz"))
    assert len(sdists) == 1, list(out.iterdir())
    unpacked = tmp_path_factory.mktemp("sdist")
    with tarfile.open(sdists[0]) as t:
        t.extractall(unpacked)
    (source,) = unpacked.iterdir()
    run([sys.executable, "-m", "build", "--wheel", "--outdir", out, source],
        env=cargo_env(repo), timeout=900)
    wheels = list(out.glob("tonecore-*.whl"))
    assert len(wheels) == 1, list(out.iterdir())
    return sdists[0], wheels[0], source


def fresh_venv(path: Path) -> Path:
    run([sys.executable, "-m", "venv", path], timeout=300)
    return path / "bin" / "python"


def smoke(python: Path, cwd: Path, version: str) -> None:
    r = run([python, "-c", SMOKE, version], cwd=cwd, timeout=300,
            env={k: v for k, v in os.environ.items() if k != "TONECORE_LIBRARY"})
    assert r.stdout.strip() == f"smoke ok {version}"


def test_sdist_carries_the_crate(dists, repo):
    sdist, _, _ = dists
    version = cargo_version(repo)
    with tarfile.open(sdist) as t:
        names = set(t.getnames())
    top = f"tonecore-{version}"
    for rel in ("setup.py", "pyproject.toml", "tonecore/__init__.py", "tonecore/py.typed",
                "rust/Cargo.toml", "rust/Cargo.lock", "rust/build.rs", "rust/cbindgen.toml",
                "rust/include/tonecore.h", "rust/src/lib.rs", "rust/src/ffi/mod.rs",
                "rust/benches/stft.rs", "examples/spectrum.py", "tests/conftest.py"):
        assert f"{top}/{rel}" in names, rel
    # every Rust source of the repository, nothing built
    expected = {p.relative_to(repo).as_posix() for p in (repo / "src").rglob("*.rs")}
    carried = {n[len(top) + len("/rust/"):] for n in names if n.startswith(f"{top}/rust/src/")}
    assert expected <= carried
    assert not any("/target/" in n or n.endswith((".so", ".dylib")) for n in names)
    with tarfile.open(sdist) as t:
        manifest = t.extractfile(f"{top}/rust/Cargo.toml").read().decode()
    assert "members" not in manifest and manifest.rstrip().endswith("[workspace]")
    assert 'name = "tonecore"' in manifest


def test_wheel_bundles_the_library_and_is_py3_none(dists, repo):
    _, wheel, _ = dists
    assert re.match(rf"tonecore-{re.escape(cargo_version(repo))}-py3-none-\w+\.whl$",
                    wheel.name), wheel.name
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        version_py = z.read("tonecore/_version.py").decode()
    assert {"tonecore/libtonecore.so", "tonecore/py.typed", "tonecore/_version.py"} <= names
    assert f'__version__ = "{cargo_version(repo)}"' in version_py


def test_wheel_installs_into_a_fresh_venv(dists, tmp_path, repo):
    _, wheel, _ = dists
    python = fresh_venv(tmp_path / "venv")
    run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel],
        timeout=600)
    smoke(python, tmp_path, cargo_version(repo))


def test_sdist_builds_and_installs_into_a_fresh_venv(dists, tmp_path, repo):
    # pip unpacks an sdist and builds it; here it builds the unpacked sdist the wheel came
    # from (same path, so cargo reuses that build).
    _, _, source = dists
    python = fresh_venv(tmp_path / "venv")
    run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", source],
        env=cargo_env(repo), timeout=900)
    assert not (source / "tonecore" / "libtonecore.so").exists()  # built into build/, bundled
    smoke(python, tmp_path, cargo_version(repo))
