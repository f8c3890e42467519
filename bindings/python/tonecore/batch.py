"""Batch processing of many audio files: one machine (worker processes) or a Dask cluster.

Each file is one task that runs :func:`tonecore.process_file` (or your own ``task`` with the
same signature) on a worker; results and failures are collected into a :class:`BatchReport`
instead of stopping the batch. Outputs appear atomically (``process_file`` writes a temporary
file and renames it), so a task that dies half-way leaves no partial output, and running it
again is safe.

Two drivers share the same jobs and report:

- :func:`process_jobs_local` / :func:`process_folder_local`: a
  :class:`concurrent.futures.ProcessPoolExecutor` (``spawn`` processes) on this machine. When a
  worker process dies (a crash, the OOM killer, ``kill -9``), the pool breaks; the jobs that
  were running are charged one attempt and every unfinished job is resubmitted to a fresh pool.
  A job charged ``max_attempts`` times is reported as failed.
- :func:`process_jobs_dask` / :func:`process_folder_dask`: a ``dask.distributed`` client, for a
  ``LocalCluster`` or a real cluster (every worker needs tonecore installed and the paths
  visible, e.g. on a shared file system). When a worker process dies, the scheduler reschedules
  its tasks on other workers; a task involved in more than
  ``distributed.scheduler.allowed-failures`` deaths (default 3) fails with ``KilledWorker`` and
  is reported as failed. ``retries`` re-runs tasks that raised an exception.

In both, each file renders with ``threads=1`` by default: the parallelism is across files
(one task per worker process or worker thread), which scales better than splitting every file.

Example
-------
>>> from tonecore import PipelineConfig
>>> from tonecore.batch import process_folder_local
>>> cfg = PipelineConfig(eq_gains=[2.0] * 25, level={"target_lufs": -14.0}, limiter=-1.0)
>>> report = process_folder_local("masters/", "out/", cfg, max_workers=4)
>>> len(report.results), [f.in_path for f in report.failures]
(120, [])

With Dask (``pip install 'tonecore[dask]'``):

>>> from dask.distributed import Client
>>> client = Client("tcp://scheduler:8786")        # or Client(LocalCluster(...))
>>> report = process_folder_dask(client, "/shared/masters", "/shared/out", cfg)
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import functools
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Union

from ._files import PARTIAL_SUFFIX, FileResult, process_file
from ._config import PipelineConfig, _config_arg

__all__ = [
    "BatchReport",
    "Failure",
    "Job",
    "plan_folder",
    "process_folder_dask",
    "process_folder_local",
    "process_jobs_dask",
    "process_jobs_local",
]

PathArg = Union[str, "os.PathLike[str]"]
#: A task: ``task(in_path, out_path, pipeline, **options) -> result`` (picklable).
Task = Callable[..., Any]

DEFAULT_PATTERNS = ("*.wav", "*.flac")


@dataclasses.dataclass(frozen=True)
class Job:
    """One file to process: read ``in_path``, write ``out_path`` (both str paths)."""

    in_path: str
    out_path: str


@dataclasses.dataclass(frozen=True)
class Failure:
    """A job that did not produce its output.

    Attributes
    ----------
    job : Job
        The job.
    error : str
        ``repr`` of the exception (``KilledWorker(...)``, ``ValueError(...)``, …).
    kind : str
        The exception's class name, or ``"WorkerDied"`` when worker processes died under the
        job ``max_attempts`` times (local driver).
    attempts : int or None
        How often the job was started (local driver); None when Dask did the bookkeeping.
    """

    job: Job
    error: str
    kind: str
    attempts: Optional[int] = None

    @property
    def in_path(self) -> str:
        """The job's input path."""
        return self.job.in_path


@dataclasses.dataclass
class BatchReport:
    """The outcome of a batch: ``results`` (what the task returned, a
    :class:`tonecore.FileResult` by default, in completion order) and ``failures`` (one
    :class:`Failure` per job that failed). Every job appears in exactly one of them."""

    results: List[Any] = dataclasses.field(default_factory=list)
    failures: List[Failure] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no job failed."""
        return not self.failures


# -- planning ---------------------------------------------------------------------------


def plan_folder(
    in_dir: PathArg,
    out_dir: PathArg,
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    out_ext: Optional[str] = None,
    recursive: bool = False,
) -> List[Job]:
    """One :class:`Job` per audio file of ``in_dir``, writing to the same relative path under
    ``out_dir`` (created, with subfolders, when missing).

    Parameters
    ----------
    in_dir, out_dir : str or os.PathLike
        Input folder (must exist) and output folder. They may be the same folder only with
        ``out_ext`` set to another extension (outputs would otherwise replace their inputs).
    patterns : sequence of str, optional
        Glob patterns of the inputs, matched case-sensitively. Default ``("*.wav", "*.flac")``.
    out_ext : str, optional
        Extension of the outputs (``".flac"``); None (default) keeps each input's extension.
    recursive : bool, optional
        Descend into subfolders (their structure is mirrored under ``out_dir``). Default False.

    Returns
    -------
    list of Job
        Sorted by input path; hidden files (names starting with ``.``) are skipped.

    Raises
    ------
    NotADirectoryError
        ``in_dir`` is not a folder.
    ValueError
        The outputs would overwrite the inputs.
    """
    src = Path(os.fspath(in_dir))
    dst = Path(os.fspath(out_dir))
    if not src.is_dir():
        raise NotADirectoryError(20, "input folder not found", str(src))
    if out_ext is not None and not out_ext.startswith("."):
        out_ext = "." + out_ext
    found: Set[Path] = set()
    for pattern in patterns:
        found.update(src.rglob(pattern) if recursive else src.glob(pattern))
    jobs = []
    for path in sorted(found):
        if not path.is_file() or path.name.startswith("."):
            continue
        rel = path.relative_to(src)
        target = dst / (rel.with_suffix(out_ext) if out_ext else rel)
        if target.resolve() == path.resolve():
            raise ValueError(f"output {target} would overwrite its input; choose another "
                             f"out_dir or out_ext")
        jobs.append(Job(str(path), str(target)))
    for job in jobs:
        Path(job.out_path).parent.mkdir(parents=True, exist_ok=True)
    return jobs


def _remove_partials(jobs: Iterable[Job]) -> None:
    """Remove temporary files that killed tasks left next to the outputs."""
    for job in jobs:
        out = Path(job.out_path)
        for stale in out.parent.glob(f".{out.name}.*{PARTIAL_SUFFIX}"):
            try:
                stale.unlink()
            except FileNotFoundError:
                pass


def _options(threads: Optional[int], file_options: Mapping[str, Any]) -> Dict[str, Any]:
    options = dict(file_options)
    options["threads"] = threads
    return options


# -- one machine: worker processes ------------------------------------------------------


def _run_marked(task: Task, marker: str, in_path: str, out_path: str,
                pipeline: Optional[PipelineConfig], options: Dict[str, Any]) -> Any:
    """Runs in a worker process: the marker file exists while the task runs, so the parent
    knows which jobs were running when a worker process died."""
    Path(marker).touch()
    try:
        return task(in_path, out_path, pipeline, **options)
    finally:
        try:
            os.unlink(marker)
        except FileNotFoundError:
            pass


def process_jobs_local(
    jobs: Sequence[Job],
    pipeline: Union[PipelineConfig, Mapping[str, Any], None] = None,
    *,
    max_workers: Optional[int] = None,
    max_attempts: int = 3,
    task: Task = process_file,
    threads: Optional[int] = 1,
    **file_options: Any,
) -> BatchReport:
    """Run ``task`` for every job in a pool of worker processes on this machine.

    Parameters
    ----------
    jobs : sequence of Job
        The files (see :func:`plan_folder`).
    pipeline : PipelineConfig or dict, optional
        Passed to every task (see :class:`tonecore.PipelineConfig`). None: stages disabled.
    max_workers : int, optional
        Worker processes. None (default): ``os.cpu_count()``.
    max_attempts : int, optional
        How often a job may be running in a worker process that dies before it is reported as
        failed (``kind="WorkerDied"``). Default 3. Exceptions raised by the task are reported at
        once, without a retry (a file that cannot be read will not become readable).
    task : callable, optional
        ``task(in_path, out_path, pipeline, **options)``; must be importable by the worker
        processes (a module-level function or a :func:`functools.partial` of one). Default
        :func:`tonecore.process_file`.
    threads : int or None, optional
        ``threads=`` of every task (render threads per file). Default 1.
    **file_options
        Further keyword arguments of the task (``chunk_seconds``, ``subtype``, …).

    Returns
    -------
    BatchReport
        Results in completion order and failures; every job is in exactly one of them.

    Notes
    -----
    Worker processes are started with ``spawn`` (never ``fork``: a forked child of a process
    whose native thread pools are running would inherit them half-initialised). When one
    worker dies, :class:`~concurrent.futures.ProcessPoolExecutor` stops the whole pool, so a
    job running next to a crashing one is charged an attempt as well.
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
    cfg = _config_arg(pipeline)
    options = _options(threads, file_options)
    report = BatchReport()
    attempts = [0] * len(jobs)
    todo = list(range(len(jobs)))
    context = multiprocessing.get_context("spawn")
    markers = tempfile.mkdtemp(prefix="tonecore-batch-")
    try:
        while todo:
            unfinished: List[int] = []
            with cf.ProcessPoolExecutor(max_workers=max_workers, mp_context=context) as pool:
                futures = {
                    pool.submit(_run_marked, task, os.path.join(markers, str(i)),
                                jobs[i].in_path, jobs[i].out_path, cfg, options): i
                    for i in todo
                }
                for future in cf.as_completed(futures):
                    i = futures[future]
                    try:
                        report.results.append(future.result())
                    except cf.process.BrokenProcessPool:
                        unfinished.append(i)
                    except Exception as e:  # noqa: BLE001 - collected, the batch goes on
                        report.failures.append(Failure(jobs[i], repr(e), type(e).__name__,
                                                       attempts[i] + 1))
            todo = []
            for i in sorted(unfinished):
                marker = os.path.join(markers, str(i))
                if os.path.exists(marker):  # it was running when its process died
                    os.unlink(marker)
                    attempts[i] += 1
                if attempts[i] >= max_attempts:
                    report.failures.append(Failure(
                        jobs[i], f"a worker process died while running it {attempts[i]} times",
                        "WorkerDied", attempts[i]))
                else:
                    todo.append(i)
    finally:
        shutil.rmtree(markers, ignore_errors=True)
        _remove_partials(jobs)
    return report


def process_folder_local(
    in_dir: PathArg,
    out_dir: PathArg,
    pipeline: Union[PipelineConfig, Mapping[str, Any], None] = None,
    *,
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    out_ext: Optional[str] = None,
    recursive: bool = False,
    **options: Any,
) -> BatchReport:
    """:func:`plan_folder` then :func:`process_jobs_local` (same keyword arguments)."""
    jobs = plan_folder(in_dir, out_dir, patterns, out_ext, recursive)
    return process_jobs_local(jobs, pipeline, **options)


# -- a Dask cluster ---------------------------------------------------------------------


def process_jobs_dask(
    client: Any,
    jobs: Sequence[Job],
    pipeline: Union[PipelineConfig, Mapping[str, Any], None] = None,
    *,
    retries: int = 0,
    task: Task = process_file,
    threads: Optional[int] = 1,
    **file_options: Any,
) -> BatchReport:
    """Run ``task`` for every job on a Dask cluster and collect results and failures.

    Parameters
    ----------
    client : dask.distributed.Client
        A connected client. Workers need tonecore (and soundfile) installed and must see the
        job paths. Worker deaths are retried by the scheduler up to its
        ``distributed.scheduler.allowed-failures`` setting (default 3), configured where the
        scheduler runs.
    jobs : sequence of Job
        The files (see :func:`plan_folder`).
    pipeline : PipelineConfig or dict, optional
        Passed to every task.
    retries : int, optional
        Extra runs of a task that raised an exception. Default 0 (a file that cannot be read
        will not become readable).
    task : callable, optional
        ``task(in_path, out_path, pipeline, **options)``, picklable (cloudpickle). Default
        :func:`tonecore.process_file`.
    threads : int or None, optional
        ``threads=`` of every task. Default 1: one file per worker thread; give workers as many
        threads (or processes) as cores.
    **file_options
        Further keyword arguments of the task.

    Returns
    -------
    BatchReport
        Results in completion order and failures (``kind`` ``"KilledWorker"`` when the
        scheduler gave up on a task whose workers kept dying).
    """
    from distributed import as_completed

    cfg = _config_arg(pipeline)
    options = _options(threads, file_options)
    call = functools.partial(_call_task, task, cfg, options)
    futures = client.map(
        call,
        [job.in_path for job in jobs],
        [job.out_path for job in jobs],
        key=[f"tonecore-file-{i}-{Path(job.in_path).name}" for i, job in enumerate(jobs)],
        retries=retries,
        pure=False,
    )
    by_key = {f.key: job for f, job in zip(futures, jobs)}
    report = BatchReport()
    try:
        for future in as_completed(futures):  # type: ignore[no-untyped-call,unused-ignore]
            job = by_key[future.key]
            if future.status == "finished":
                report.results.append(future.result())
            else:
                error = future.exception()
                report.failures.append(Failure(job, repr(error), type(error).__name__))
    finally:
        _remove_partials(jobs)
    return report


def _call_task(task: Task, pipeline: Optional[PipelineConfig], options: Dict[str, Any],
               in_path: str, out_path: str) -> Any:
    return task(in_path, out_path, pipeline, **options)


def process_folder_dask(
    client: Any,
    in_dir: PathArg,
    out_dir: PathArg,
    pipeline: Union[PipelineConfig, Mapping[str, Any], None] = None,
    *,
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    out_ext: Optional[str] = None,
    recursive: bool = False,
    **options: Any,
) -> BatchReport:
    """:func:`plan_folder` then :func:`process_jobs_dask` (same keyword arguments)."""
    jobs = plan_folder(in_dir, out_dir, patterns, out_ext, recursive)
    return process_jobs_dask(client, jobs, pipeline, **options)

