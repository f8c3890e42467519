"""Build hooks for the tonecore Python package (metadata lives in pyproject.toml).

``build_py`` builds the native library with cargo (``cargo build --release --lib`` on the
repository two directories up) and copies it into the package, together with a generated
``_version.py``. The version is read from the repository's Cargo.toml. The wheel is
platform-specific because it bundles a shared library.

Environment:
    CARGO                         cargo executable (default: ``cargo`` on PATH)
    TONECORE_SKIP_CARGO_BUILD=1   do not run cargo; bundle the library already built
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MANIFEST = REPO / "Cargo.toml"

if sys.platform == "darwin":
    LIB_NAME = "libtonecore.dylib"
elif sys.platform == "win32":
    LIB_NAME = "tonecore.dll"
else:
    LIB_NAME = "libtonecore.so"


def cargo_version() -> str:
    """The ``version = "..."`` of the ``[package]`` section of the repository's Cargo.toml."""
    if not MANIFEST.is_file():
        raise SystemExit(
            f"tonecore: {MANIFEST} not found; build this package from the tonecore repository "
            f"(pip install ./bindings/python from the repository root)"
        )
    section = None
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        header = re.match(r"^\[([^\[\]]+)\]", line)
        if header:
            section = header.group(1).strip()
            continue
        if section == "package":
            m = re.match(r'^version\s*=\s*"([^"]+)"', line)
            if m:
                return m.group(1)
    raise SystemExit(f"tonecore: no version in the [package] section of {MANIFEST}")


def build_native_library() -> Path:
    """Run cargo and return the path of the built shared library."""
    cargo = os.environ.get("CARGO", "cargo")
    if os.environ.get("TONECORE_SKIP_CARGO_BUILD") != "1":
        cmd = [
            cargo, "build", "--release", "--lib",
            "--manifest-path", str(MANIFEST),
            "--message-format=json-render-diagnostics",
        ]
        print("tonecore: " + " ".join(cmd), flush=True)
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, check=False, text=True)
        except FileNotFoundError:
            raise SystemExit(
                f"tonecore: cargo not found ({cargo!r}); install Rust (https://rustup.rs) or "
                f"set CARGO to the cargo executable"
            ) from None
        if proc.returncode != 0:
            raise SystemExit(f"tonecore: cargo build failed (exit {proc.returncode})")
        for line in proc.stdout.splitlines():
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if (
                msg.get("reason") == "compiler-artifact"
                and msg.get("target", {}).get("name") == "tonecore"
                and "cdylib" in msg.get("target", {}).get("kind", [])
            ):
                for name in msg.get("filenames", []):
                    if Path(name).name == LIB_NAME:
                        return Path(name)
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target_dir.is_absolute():
        target_dir = REPO / target_dir
    fallback = target_dir / "release" / LIB_NAME
    if not fallback.is_file():
        raise SystemExit(f"tonecore: the built library was not found at {fallback}")
    return fallback


class BuildPyWithNative(build_py):
    """build_py that also bundles the cargo-built library and writes ``_version.py``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        package_dir = Path(self.build_lib) / "tonecore"
        package_dir.mkdir(parents=True, exist_ok=True)
        library = build_native_library()
        dest = package_dir / LIB_NAME
        print(f"tonecore: copying {library} -> {dest}", flush=True)
        shutil.copyfile(library, dest)
        os.chmod(dest, 0o755)
        (package_dir / "_version.py").write_text(
            f'"""Generated at build time from Cargo.toml."""\n\n__version__ = "{VERSION}"\n',
            encoding="utf-8",
        )


class BinaryDistribution(Distribution):
    """Marks the wheel as platform-specific: it bundles a native library."""

    def has_ext_modules(self) -> bool:
        return True


VERSION = cargo_version()

setup(
    version=VERSION,
    cmdclass={"build_py": BuildPyWithNative},
    distclass=BinaryDistribution,
)
