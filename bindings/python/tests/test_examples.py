"""The example scripts under examples/python/ run and print what they promise."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf


def run_example(repo, name, *args, timeout=180):
    r = subprocess.run([sys.executable, str(repo / "examples" / "python" / name), *map(str, args)],
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}"
    return r.stdout


def test_process_file_demo(repo):
    out = run_example(repo, "process_file.py")
    assert re.search(r"wrote .*demo-mastered\.flac \(FLAC PCM_24\)", out)
    before, after = map(float, re.search(r"loudness: (-?[\d.]+) LUFS -> (-?[\d.]+) LUFS",
                                         out).groups())
    assert before < -20 and -16.5 < after < -13.0  # levelled towards -14


def test_process_file_with_paths(repo, tmp_path):
    x = np.random.default_rng(0).uniform(-0.1, 0.1, (44100, 2))
    sf.write(str(tmp_path / "a.wav"), x, 44100)
    out = run_example(repo, "process_file.py", tmp_path / "a.wav", tmp_path / "b.flac",
                      "--progress")
    assert "wrote" in out and (tmp_path / "b.flac").is_file()
    r = subprocess.run([sys.executable, str(repo / "examples/python/process_file.py"),
                        tmp_path / "missing.wav", tmp_path / "c.wav"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and "input file not found" in r.stderr


def test_stream(repo):
    out = run_example(repo, "stream.py", "--seconds", "2")
    assert re.search(r"playback: \d+ frames read, \d+ of them silence .*1 seek", out)
    assert re.search(r"live: \d+ frames through EQ -> level -> limiter, latency 3293 frames", out)


def test_batch_local(repo, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        sf.write(str(src / f"t{i}.wav"), np.zeros((4410, 2)), 44100)
    (src / "bad.flac").write_text("nope")
    r = subprocess.run([sys.executable, str(repo / "examples/python/batch.py"), src,
                        tmp_path / "out", "--workers", "2"], capture_output=True, text=True,
                       timeout=180)
    assert r.returncode == 1, r.stderr  # one file failed
    assert "3 done, 1 failed" in r.stdout and "FAILED bad.flac: ValueError" in r.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["t0.wav", "t1.wav", "t2.wav"]


@pytest.mark.slow
def test_batch_dask_demo(repo):
    pytest.importorskip("distributed")
    out = run_example(repo, "batch.py", "--dask")
    assert "8 done, 0 failed" in out
