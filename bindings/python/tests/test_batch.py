"""tonecore.batch: a folder of tracks processed by worker processes on one machine and by a
Dask LocalCluster with worker processes; results and failures collected; a worker process
killed mid-run (SIGKILL from inside its render) costs nothing: that file is retried and every
output is complete, with no partial file left."""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import tonecore
from tonecore import batch

pytestmark = pytest.mark.slow

SR = 44100
TESTS = Path(__file__).resolve().parent
# +6.02 dB on every band: a flat gain of 2, checked with numpy below
CFG = tonecore.PipelineConfig(eq_gains=np.full(25, 20 * np.log10(2.0)))


@pytest.fixture
def worker_path(monkeypatch):
    """Make tests/batch_tasks.py importable here and in worker processes started later."""
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(TESTS)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    import batch_tasks

    return batch_tasks


@pytest.fixture
def folder(tmp_path):
    """6 tracks (WAV and FLAC, float/PCM_24) and one file that is not audio."""
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(3)
    tracks = {}
    for i in range(6):
        name = f"t{i}.{'wav' if i % 2 == 0 else 'flac'}"
        x = rng.uniform(-0.2, 0.2, (SR, 2))
        sf.write(str(src / name), x, SR, subtype="FLOAT" if name.endswith("wav") else "PCM_24")
        tracks[name] = sf.read(str(src / name), dtype="float64")[0]
    (src / "broken.wav").write_bytes(b"not a wav file at all")
    return src, tmp_path / "out", tracks


def check_outputs(out_dir: Path, tracks: dict, report: batch.BatchReport) -> None:
    assert sorted(Path(r.in_path).name for r in report.results) == sorted(tracks)
    assert [Path(f.in_path).name for f in report.failures] == ["broken.wav"]
    assert report.failures[0].kind == "ValueError" and "cannot read" in report.failures[0].error
    for name, x in tracks.items():
        y = sf.read(str(out_dir / name), dtype="float64")[0]
        edge = 4096
        np.testing.assert_allclose(y[edge:-edge], 2.0 * x[edge:-edge], atol=3e-4)
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(tracks)  # nothing partial


def test_plan_folder(folder, tmp_path):
    src, out, tracks = folder
    jobs = batch.plan_folder(src, out)
    assert [Path(j.in_path).name for j in jobs] == sorted(list(tracks) + ["broken.wav"])
    assert all(Path(j.out_path).parent == out for j in jobs) and out.is_dir()
    flac = batch.plan_folder(src, out, patterns=["*.wav"], out_ext="flac")
    assert [Path(j.out_path).name for j in flac] == ["broken.flac", "t0.flac", "t2.flac",
                                                     "t4.flac"]
    with pytest.raises(ValueError, match="overwrite"):
        batch.plan_folder(src, src)
    with pytest.raises(NotADirectoryError):
        batch.plan_folder(tmp_path / "missing", out)


def test_local_processes_retry_a_killed_worker(folder, tmp_path, worker_path):
    src, out, tracks = folder
    markers = tmp_path / "markers"
    markers.mkdir()
    task = functools.partial(worker_path.kill_once, marker_dir=str(markers), victim="t3.flac")
    report = batch.process_folder_local(src, out, CFG, max_workers=2, task=task,
                                        chunk_seconds=0.25)
    assert (markers / "killed-t3.flac").exists()  # the worker really died once
    check_outputs(out, tracks, report)
    assert not report.ok


def test_local_processes_give_up_after_max_attempts(folder, tmp_path, worker_path):
    src, out, tracks = folder
    task = functools.partial(worker_path.always_kill, victim="t0.wav")
    # One worker: with two, a job that happens to run beside the victim both times is charged
    # twice as well (documented), which made this test depend on timing.
    report = batch.process_folder_local(src, out, None, max_workers=1, max_attempts=2,
                                        task=task)
    failed = {Path(f.in_path).name: f for f in report.failures}
    assert set(failed) == {"t0.wav", "broken.wav"}
    assert failed["t0.wav"].kind == "WorkerDied" and failed["t0.wav"].attempts == 2
    assert sorted(Path(r.in_path).name for r in report.results) == sorted(set(tracks) - {"t0.wav"})


def test_dask_local_cluster_retries_a_killed_worker(folder, tmp_path, worker_path):
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    src, out, tracks = folder
    markers = tmp_path / "markers"
    markers.mkdir()
    task = functools.partial(worker_path.kill_once, marker_dir=str(markers), victim="t2.wav")
    with dask.config.set({"distributed.scheduler.allowed-failures": 3}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None, silence_logs=logging.CRITICAL,
                                      ) as cluster, distributed.Client(cluster) as client:
            report = batch.process_folder_dask(client, src, out, CFG, task=task,
                                               chunk_seconds=0.25)
    assert (markers / "killed-t2.wav").exists()  # a worker process really died
    ran = {p.name.split("-")[1] for p in markers.glob("ran-*")}
    assert ran == set(tracks) | {"broken.wav"}  # t2.wav ran again, on a new worker process
    pids = {p.name.rsplit("-", 1)[1] for p in markers.glob("ran-*")}
    assert str(os.getpid()) not in pids  # work ran in worker processes
    check_outputs(out, tracks, report)
