#!/usr/bin/env python3
"""Master a folder of tracks in parallel: worker processes on this machine, or Dask.

Usage:
    python3 bindings/python/examples/batch.py IN_DIR OUT_DIR [--workers 4]
    python3 bindings/python/examples/batch.py IN_DIR OUT_DIR --dask [--scheduler tcp://host:8786]
    python3 bindings/python/examples/batch.py     # demo: 8 generated tracks in a temp dir

Every WAV/FLAC file of IN_DIR is rendered (EQ -> -14 LUFS -> -1 dBFS limiter) into OUT_DIR
with the same name. Failures (unreadable files, workers that kept dying) are listed at the end
instead of stopping the batch; a worker process that dies is replaced and its file retried.
``--dask`` starts a LocalCluster of worker processes unless ``--scheduler`` names a running
cluster, whose workers must have tonecore installed and see both folders.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

import tonecore
from tonecore import batch


def demo_folder(n: int = 8, seconds: float = 5.0, sr: int = 44100) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="tonecore-batch-"))
    rng = np.random.default_rng(0)
    for i in range(n):
        x = rng.uniform(-0.1, 0.1, (int(seconds * sr), 2)) * (i + 1) / n
        sf.write(str(folder / f"track{i:02d}.flac"), x, sr, subtype="PCM_24")
    return folder


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("in_dir", nargs="?")
    ap.add_argument("out_dir", nargs="?")
    ap.add_argument("--workers", type=int, default=None, help="worker processes (default: cores)")
    ap.add_argument("--dask", action="store_true", help="run on Dask instead")
    ap.add_argument("--scheduler", help="address of a running Dask scheduler")
    args = ap.parse_args()
    if args.in_dir is None:
        in_dir = demo_folder()
        out_dir = in_dir / "mastered"
    elif args.out_dir is None:
        ap.error("give IN_DIR and OUT_DIR")
    else:
        in_dir, out_dir = Path(args.in_dir), Path(args.out_dir)

    config = tonecore.PipelineConfig(eq_gains=np.full(25, 1.0),
                                     level=tonecore.LevelConfig(target_lufs=-14.0), limiter=-1.0)
    if args.dask or args.scheduler:
        from dask.distributed import Client, LocalCluster

        if args.scheduler:
            client, cluster = Client(args.scheduler), None
        else:
            cluster = LocalCluster(n_workers=args.workers or 2, threads_per_worker=1,
                                   processes=True, dashboard_address=None)
            client = Client(cluster)
        with client:
            report = batch.process_folder_dask(client, in_dir, out_dir, config)
        if cluster is not None:
            cluster.close()
    else:
        report = batch.process_folder_local(in_dir, out_dir, config, max_workers=args.workers)

    for r in sorted(report.results, key=lambda r: r.in_path):
        print(f"ok     {Path(r.in_path).name}: {r.duration:.1f} s -> {r.out_path}")
    for f in report.failures:
        print(f"FAILED {Path(f.in_path).name}: {f.kind}: {f.error}")
    print(f"{len(report.results)} done, {len(report.failures)} failed")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
