"""Tasks for the batch tests, importable by worker processes (the tests put this folder on
PYTHONPATH before the workers start)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import tonecore
from tonecore._files import PARTIAL_SUFFIX


def kill_once(in_path, out_path, pipeline, *, marker_dir, victim, **options):
    """``process_file``, except that the worker process rendering ``victim`` kills itself
    (SIGKILL, mid-render, after leaving a partial output file as a write cut short would) the
    first time; ``marker_dir`` records that it happened."""
    name = Path(in_path).name
    marker = Path(marker_dir) / f"killed-{name}"
    if name == victim and not marker.exists():
        marker.touch()

        def die(done, total):
            out = Path(out_path)
            (out.parent / f".{out.name}.dead{PARTIAL_SUFFIX}").write_bytes(b"RIFF...")
            os.kill(os.getpid(), signal.SIGKILL)

        return tonecore.process_file(in_path, out_path, pipeline, progress=die, **options)
    Path(marker_dir, f"ran-{name}-{os.getpid()}").touch()
    return tonecore.process_file(in_path, out_path, pipeline, **options)


def always_kill(in_path, out_path, pipeline, *, victim, **options):
    """The worker process running ``victim`` kills itself every time."""
    if Path(in_path).name == victim:
        os.kill(os.getpid(), signal.SIGKILL)
    return tonecore.process_file(in_path, out_path, pipeline, **options)
