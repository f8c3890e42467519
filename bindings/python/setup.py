"""Build hooks for the tonecore Python package (metadata lives in pyproject.toml).

``build_py`` builds the native library with cargo (``cargo build --release --lib``) and copies
it into the package, together with a generated ``_version.py``; the version is the crate's
(Cargo.toml). The crate is looked up next to this file first (``rust/``, where an sdist carries
it) and then two directories up (the repository this file lives in).

``sdist`` copies the crate sources the library build needs (Cargo.toml, Cargo.lock, build.rs,
cbindgen.toml, include/, src/, the declared bench targets) into ``rust/`` of the sdist, so the
sdist builds on its own. The wheel is tagged ``py3-none-<platform>``: it bundles a C-ABI
library loaded with ctypes, so it works with any Python 3 on that platform.

Environment:
    CARGO                         cargo executable (default: ``cargo`` on PATH)
    CARGO_TARGET_DIR              cargo's target directory (reuse one to skip recompiling)
    TONECORE_SKIP_CARGO_BUILD=1   do not run cargo; bundle the library already built
    TONECORE_KEEP_DEBUG=1         keep the debug info in the bundled library (Linux strips it)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List, Tuple

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.dist import Distribution

try:  # setuptools >= 70.1 ships bdist_wheel itself
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - older setuptools with the wheel package
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
#: Where an sdist carries the crate (relative to this file).
VENDORED = "rust"

if sys.platform == "darwin":
    LIB_NAME = "libtonecore.dylib"
elif sys.platform == "win32":
    LIB_NAME = "tonecore.dll"
else:
    LIB_NAME = "libtonecore.so"

#: Files and folders of the crate that `cargo build --lib` needs, relative to the crate root.
CRATE_FILES = ("Cargo.toml", "Cargo.lock", "build.rs", "cbindgen.toml", "include/tonecore.h")
CRATE_DIRS = ("src",)


def crate_root() -> Path:
    """The tonecore crate: ``rust/`` next to this file (an sdist), else the repository."""
    for candidate in (HERE / VENDORED, HERE.parent.parent):
        if (candidate / "Cargo.toml").is_file() and (candidate / "src" / "lib.rs").is_file():
            return candidate
    raise SystemExit(
        f"tonecore: the Rust crate was found neither in {HERE / VENDORED} (sdist) nor in "
        f"{HERE.parent.parent} (repository); build from the tonecore repository "
        f"(pip install ./bindings/python) or from a complete sdist"
    )


def cargo_version(manifest: Path) -> str:
    """The ``version = "..."`` of the ``[package]`` section of ``manifest``."""
    section = None
    for line in manifest.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        header = re.match(r"^\[([^\[\]]+)\]", line)
        if header:
            section = header.group(1).strip()
            continue
        if section == "package":
            m = re.match(r'^version\s*=\s*"([^"]+)"', line)
            if m:
                return m.group(1)
    raise SystemExit(f"tonecore: no version in the [package] section of {manifest}")


def declared_benches(manifest: Path) -> List[str]:
    """Paths of the ``[[bench]]`` targets (cargo wants them to exist even for ``--lib``)."""
    names = []
    in_bench = False
    for line in manifest.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("["):
            in_bench = line == "[[bench]]"
            continue
        m = re.match(r'^name\s*=\s*"([^"]+)"', line)
        if in_bench and m:
            names.append(f"benches/{m.group(1)}.rs")
    return names


def crate_sources(root: Path) -> Iterator[Tuple[Path, str]]:
    """``(absolute path, path relative to the crate)`` of every file an sdist must carry."""
    for rel in (*CRATE_FILES, *declared_benches(root / "Cargo.toml")):
        path = root / rel
        if not path.is_file():
            raise SystemExit(f"tonecore: {path} is missing; cannot make a complete sdist")
        yield path, rel
    for folder in CRATE_DIRS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                yield path, path.relative_to(root).as_posix()


def standalone_manifest(text: str) -> str:
    """The crate's Cargo.toml for an sdist: the repository's ``[workspace]`` table (whose other
    members an sdist does not carry) replaced by an empty one, so the crate is its own root."""
    out: List[str] = []
    skipping = False
    for line in text.splitlines():
        header = re.match(r"^\s*\[\[?([^\[\]]+)\]", line)
        if header:
            skipping = header.group(1).strip().startswith("workspace")
            if skipping:
                continue
        if not skipping:
            out.append(line)
    return "\n".join(out).rstrip("\n") + "\n\n# An sdist builds the library crate alone.\n[workspace]\n"


def build_native_library(root: Path) -> Path:
    """Run cargo on the crate at ``root`` and return the path of the built shared library."""
    manifest = root / "Cargo.toml"
    cargo = os.environ.get("CARGO", "cargo")
    if os.environ.get("TONECORE_SKIP_CARGO_BUILD") != "1":
        # In the repository the workspace's lock file must be used as it is (--locked); an
        # sdist's crate is a workspace of its own, whose lock cargo prunes of the other
        # members' packages (versions stay as locked).
        vendored = root == HERE / VENDORED
        cmd = [
            cargo, "build", "--release", "--lib", "-p", "tonecore",
            *([] if vendored else ["--locked"]),
            "--manifest-path", str(manifest),
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
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    if not target_dir.is_absolute():
        target_dir = root / target_dir
    fallback = target_dir / "release" / LIB_NAME
    if not fallback.is_file():
        raise SystemExit(f"tonecore: the built library was not found at {fallback}")
    return fallback


def strip_debug_info(path: Path) -> None:
    """Drop the debug info of the bundled copy (the release profile keeps line tables for
    profiling; they triple the library's size). Skipped without ``strip`` or with
    ``TONECORE_KEEP_DEBUG=1``."""
    strip = shutil.which("strip")
    if strip is None or os.environ.get("TONECORE_KEEP_DEBUG") == "1":
        return
    if not sys.platform.startswith("linux"):
        return
    subprocess.run([strip, "--strip-debug", str(path)], check=False)


class BuildPyWithNative(build_py):
    """build_py that also bundles the cargo-built library and writes ``_version.py``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        package_dir = Path(self.build_lib) / "tonecore"
        package_dir.mkdir(parents=True, exist_ok=True)
        library = build_native_library(crate_root())
        dest = package_dir / LIB_NAME
        print(f"tonecore: copying {library} -> {dest}", flush=True)
        shutil.copyfile(library, dest)
        os.chmod(dest, 0o755)
        strip_debug_info(dest)
        (package_dir / "_version.py").write_text(
            f'"""Generated at build time from Cargo.toml."""\n\n__version__ = "{VERSION}"\n',
            encoding="utf-8",
        )


class SdistWithCrate(sdist):
    """sdist that carries the crate sources in ``rust/`` so it builds without the repository."""

    def make_release_tree(self, base_dir: str, files: List[str]) -> None:
        super().make_release_tree(base_dir, files)
        root = crate_root()
        dest_root = Path(base_dir) / VENDORED
        count = 0
        for path, rel in crate_sources(root):
            dest = dest_root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
            count += 1
        manifest = dest_root / "Cargo.toml"
        manifest.write_text(standalone_manifest(manifest.read_text(encoding="utf-8")),
                            encoding="utf-8")
        print(f"tonecore: copied {count} crate files from {root} into {dest_root}", flush=True)


class BdistWheelAnyPython(bdist_wheel):
    """Tags the wheel ``py3-none-<platform>``: ctypes needs no CPython ABI."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> Tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


class BinaryDistribution(Distribution):
    """Marks the distribution as platform-specific: it bundles a native library."""

    def has_ext_modules(self) -> bool:
        return True


VERSION = cargo_version(crate_root() / "Cargo.toml")

setup(
    version=VERSION,
    cmdclass={
        "build_py": BuildPyWithNative,
        "sdist": SdistWithCrate,
        "bdist_wheel": BdistWheelAnyPython,
    },
    distclass=BinaryDistribution,
)
