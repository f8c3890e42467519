"""Audio files: :func:`process_file` reads a WAV/FLAC/… file with soundfile, renders it through
the pipeline with :func:`tonecore.render_chunked` (chunk-parallel) and writes the result
atomically (temporary name in the output's directory, ``os.replace`` on success)."""

from __future__ import annotations

import dataclasses
import os
import secrets
import stat
import threading
import time
from pathlib import Path
from typing import Any, Callable, List, Mapping, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from ._checks import real_dtype
from ._config import RENDER_DEFAULTS, PipelineConfig, _config_arg
from ._render import render_chunked

__all__ = ["FileResult", "process_file", "PARTIAL_SUFFIX"]

PathArg = Union[str, "os.PathLike[str]"]
ProgressArg = Union[Callable[[int, int], Any], bool, None]

#: Suffix of the temporary file :func:`process_file` writes before renaming it into place.
PARTIAL_SUFFIX = ".tonecore-partial"

#: Frames per soundfile read/write call (bounds the temporary interleaved buffers).
_IO_BLOCK = 1 << 16

#: Extensions soundfile does not map to a format name by itself.
_EXTENSION_ALIASES = {"AIF": "AIFF", "OGA": "OGG", "OPUS": "OGG"}

#: Subtypes stored as floating point (nothing to clip).
_FLOAT_SUBTYPES = {"FLOAT", "DOUBLE", "VORBIS", "OPUS", "MPEG_LAYER_I", "MPEG_LAYER_II",
                   "MPEG_LAYER_III"}

#: Linear PCM subtypes: (bits, integer container handed to soundfile). Samples are rounded to
#: the nearest step here (``x * 2**(bits-1)``, the inverse of how soundfile reads them) and
#: passed as integers, so libsndfile does no float conversion of its own (it truncates).
_PCM_SUBTYPES = {
    "PCM_S8": (8, np.int16),
    "PCM_U8": (8, np.int16),
    "PCM_16": (16, np.int16),
    "PCM_24": (24, np.int32),
    "PCM_32": (32, np.int32),
}


@dataclasses.dataclass(frozen=True)
class FileResult:
    """What :func:`process_file` did (immutable, picklable).

    Attributes
    ----------
    in_path, out_path : str
        The input file and the output file written.
    sample_rate : int
        Sample rate in Hz (the input's; the output has the same).
    channels : int
        Channel count.
    frames : int
        Frames per channel (input and output have the same length).
    duration : float
        Length in seconds, ``frames / sample_rate``.
    format : str
        soundfile format name of the output (``"WAV"``, ``"FLAC"``, …).
    subtype : str
        soundfile subtype of the output (``"PCM_16"``, ``"PCM_24"``, ``"FLOAT"``, …).
    input_subtype : str
        soundfile subtype of the input.
    clipped_samples : int
        Output samples beyond full scale (``abs(x) > 1``) that were clipped to ±1 because the
        output subtype is integer PCM; 0 for float subtypes, which store them unchanged.
    elapsed : float
        Wall time of the whole call in seconds.
    """

    in_path: str
    out_path: str
    sample_rate: int
    channels: int
    frames: int
    duration: float
    format: str
    subtype: str
    input_subtype: str
    clipped_samples: int
    elapsed: float


FileResult.__module__ = "tonecore"


def _soundfile() -> Any:
    try:
        import soundfile
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise ImportError(
            "tonecore.process_file needs the soundfile package: pip install soundfile"
        ) from e
    return soundfile


def _output_format(sf: Any, path: Path) -> str:
    ext = path.suffix[1:].upper()
    name = _EXTENSION_ALIASES.get(ext, ext)
    if not ext or name not in sf.available_formats():
        raise ValueError(
            f"cannot tell the output format from {str(path)!r}: use an extension soundfile "
            f"knows, such as .wav or .flac (.aiff, .ogg, .w64, .caf, …)"
        )
    return name


def _output_subtype(sf: Any, fmt: str, input_subtype: str, subtype: Optional[str]) -> str:
    if subtype is not None:
        if not isinstance(subtype, str):
            raise TypeError(f"subtype must be a str, not {type(subtype).__name__}")
        if not sf.check_format(fmt, subtype):
            raise ValueError(
                f"format {fmt} cannot store subtype {subtype!r}; it can store "
                f"{sorted(sf.available_subtypes(fmt))}"
            )
        return subtype
    if sf.check_format(fmt, input_subtype):
        return input_subtype
    if input_subtype in ("FLOAT", "DOUBLE") and sf.check_format(fmt, "PCM_24"):
        return "PCM_24"
    return str(sf.default_subtype(fmt))


def _progress_callback(
    progress: ProgressArg, desc: str
) -> Tuple[Optional[Callable[[int, int], Any]], Any]:
    """``(callback or None, tqdm bar or None)`` for the ``progress=`` argument."""
    if progress is None or progress is False:
        return None, None
    if progress is True:
        try:
            from tqdm.auto import tqdm
        except ImportError as e:
            raise ImportError(
                "progress=True shows a tqdm bar and needs tqdm: pip install tqdm "
                "(or pip install 'tonecore[progress]')"
            ) from e
        bar = tqdm(total=None, unit="chunk", desc=desc)

        def show(done: int, total: int) -> None:
            if bar.total != total:
                bar.total = total
                bar.refresh()
            bar.update(done - bar.n)

        return show, bar
    if not callable(progress):
        raise TypeError(
            f"progress must be None, True (a tqdm bar) or a callable(done, total), "
            f"not {type(progress).__name__}"
        )
    return progress, None


def _check_paths(in_path: PathArg, out_path: PathArg) -> Tuple[Path, Path]:
    src = Path(os.fspath(in_path))
    dst = Path(os.fspath(out_path))
    if not src.exists():
        raise FileNotFoundError(2, "input file not found", str(src))
    if src.is_dir():
        raise IsADirectoryError(21, "input is a directory, not an audio file", str(src))
    parent = dst.parent
    if not parent.is_dir():
        raise FileNotFoundError(2, "output directory does not exist", str(parent))
    if dst.is_dir():
        raise IsADirectoryError(21, "output path is a directory", str(dst))
    if dst.exists():
        # Same path, a symbolic link to the input or a hard link to it: one file.
        if os.path.samefile(src, dst):
            raise ValueError(
                f"the output {str(dst)!r} is the input file {str(src)!r}; choose another output"
            )
        if not stat.S_ISREG(os.stat(dst).st_mode):
            raise ValueError(
                f"the output {str(dst)!r} is not a regular file (a device, FIFO or socket); "
                f"process_file never replaces one"
            )
    return src, dst


#: Input subtypes that float32 processing would not keep bit-exactly.
_WIDE_SUBTYPES = {"PCM_24", "PCM_32", "DOUBLE"}


def _input_subtype(sf: Any, src: Path) -> str:
    try:
        return str(sf.info(str(src)).subtype)
    except (RuntimeError, TypeError) as e:  # LibsndfileError is a RuntimeError
        raise ValueError(f"cannot read {str(src)!r} as audio: {e}") from e


def _read_planar(
    sf: Any, src: Path, dtype: "np.dtype[Any]"
) -> Tuple[npt.NDArray[Any], int, str]:
    """The whole file as a planar ``(channels, frames)`` array, its sample rate and subtype."""
    try:
        f = sf.SoundFile(str(src))
    except (RuntimeError, TypeError) as e:  # LibsndfileError is a RuntimeError
        raise ValueError(f"cannot read {str(src)!r} as audio: {e}") from e
    with f:
        channels, frames = int(f.channels), int(f.frames)
        planar = np.empty((channels, frames), dtype=dtype)
        pos = 0
        while pos < frames:
            block = f.read(min(_IO_BLOCK, frames - pos), dtype=dtype.name, always_2d=True)
            n = block.shape[0]
            if n == 0:
                break
            planar[:, pos:pos + n] = block.T
            pos += n
        if pos != frames:
            raise ValueError(f"{str(src)!r} ended after {pos} of its {frames} frames")
        return planar, int(f.samplerate), str(f.subtype)


def _render_interruptibly(
    planar: npt.NDArray[Any],
    sample_rate: int,
    cfg: PipelineConfig,
    progress: Optional[Callable[[int, int], Any]],
    **render_args: Any,
) -> npt.NDArray[Any]:
    """``render_chunked`` on a helper thread while this thread waits interruptibly.

    A ``KeyboardInterrupt`` (or any exception) arriving in the waiting thread cancels the
    native render through its progress callback and is re-raised once the render stopped.
    """
    cancel = threading.Event()
    out = np.empty_like(planar)
    outcome: List[BaseException] = []

    def on_progress(done: int, total: int) -> Any:
        if cancel.is_set():
            return True
        return progress(done, total) if progress is not None else False

    def work() -> None:
        try:
            render_chunked(planar, sample_rate, cfg, progress=on_progress, out=out,
                           **render_args)
        except BaseException as e:  # noqa: BLE001 - handed to the waiting thread
            outcome.append(e)

    worker = threading.Thread(target=work, name="tonecore-process-file", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.05)
    except BaseException:
        cancel.set()
        worker.join()
        raise
    if outcome:
        raise outcome[0]
    return out


def _write(
    sf: Any,
    tmp: Path,
    rendered: npt.NDArray[Any],
    sample_rate: int,
    fmt: str,
    subtype: str,
) -> int:
    """Write planar ``rendered`` to ``tmp``; returns the number of clipped samples."""
    clip = subtype not in _FLOAT_SUBTYPES
    pcm = _PCM_SUBTYPES.get(subtype)
    clipped = 0
    channels, frames = rendered.shape
    with sf.SoundFile(str(tmp), "w", samplerate=sample_rate, channels=channels,
                      format=fmt, subtype=subtype) as f:
        for pos in range(0, frames, _IO_BLOCK):
            block: npt.NDArray[Any] = np.ascontiguousarray(rendered[:, pos:pos + _IO_BLOCK].T)
            if clip:
                n_over = int(np.count_nonzero(np.abs(block) > 1.0))
                clipped += n_over
                if pcm is None and n_over:
                    np.clip(block, -1.0, 1.0, out=block)
            if pcm is not None:
                bits, container = pcm
                full = float(2 ** (bits - 1))
                q = np.rint(block.astype(np.float64) * full)
                np.clip(q, -full, full - 1.0, out=q)
                q *= float(2 ** (8 * np.dtype(container).itemsize - bits))
                block = q.astype(container)
            f.write(block)
    return clipped


def process_file(
    in_path: PathArg,
    out_path: PathArg,
    pipeline: Union[PipelineConfig, Mapping[str, Any], None] = None,
    *,
    progress: ProgressArg = None,
    chunk_seconds: float = RENDER_DEFAULTS.chunk_seconds,
    context_seconds: Optional[float] = None,
    crossfade_seconds: float = RENDER_DEFAULTS.crossfade_seconds,
    threads: Optional[int] = None,
    subtype: Optional[str] = None,
    dtype: Optional[npt.DTypeLike] = None,
) -> FileResult:
    """Render an audio file through the pipeline into a new file.

    Reads ``in_path`` with soundfile (WAV, FLAC, AIFF, OGG, … — whatever libsndfile reads),
    renders the whole track with :func:`tonecore.render_chunked` (chunk-parallel, seams
    crossfaded, latency removed: the output is aligned with the input and has its length, rate
    and channel count) and writes ``out_path`` in the format its extension names. The output
    appears atomically: it is written under a temporary name in the same directory
    (``.NAME.<random>.tonecore-partial``) and renamed over ``out_path`` only after everything
    succeeded, so an error, a cancellation or Ctrl-C leaves no partial file (an existing
    ``out_path`` stays as it was). ``out_path`` must not be the input file (by the same path, a
    symbolic link or a hard link) nor an existing device, FIFO or socket.

    Parameters
    ----------
    in_path : str or os.PathLike
        The input audio file.
    out_path : str or os.PathLike
        The output file; its extension picks the format (``.wav``, ``.flac``, ``.aiff``,
        ``.ogg``, …). Its directory must exist. Replaced if it exists.
    pipeline : PipelineConfig or dict, optional
        The stages (see :class:`tonecore.PipelineConfig`). None (default): every stage disabled,
        so the samples pass unchanged (up to the output subtype's resolution).
    progress : callable, True or None, optional
        ``progress(done, total)`` is called with ints (chunks rendered, chunks in all) after
        each finished chunk, one call at a time, from a worker thread; returning a truthy value
        cancels (:class:`tonecore.Cancelled`), and an exception raised in it (also
        ``KeyboardInterrupt``) cancels and is re-raised. ``True`` shows a tqdm progress bar
        (needs ``tqdm``). None (default): no reporting.
    chunk_seconds, context_seconds, crossfade_seconds : float, optional
        Chunk geometry in seconds, as for :func:`tonecore.render_chunked` (defaults 15, the
        pipeline's settle time, 0.05).
    threads : int, optional
        Render threads: None (default) all cores, 1 the calling thread's worker only, n a pool
        of n. Use 1 when many files are processed in parallel (see :mod:`tonecore.batch`).
    subtype : str, optional
        soundfile subtype of the output (``"PCM_16"``, ``"PCM_24"``, ``"FLOAT"``, …). None
        (default): the input's subtype when the output format can store it (WAV→WAV, FLAC→FLAC,
        PCM WAV→FLAC keep theirs); float input going to a format without float samples (FLAC)
        becomes ``"PCM_24"``; otherwise the format's default subtype.
    dtype : numpy dtype, optional
        Processing precision, ``numpy.float32`` or ``numpy.float64``. None (default): float64
        for inputs with more than 24 bits of mantissa to keep (``PCM_24``, ``PCM_32``,
        ``DOUBLE``), so that a disabled pipeline gives those files back bit-exactly (float32
        FFT processing leaves a few 24-bit steps of error, about -130 dBFS); float32 for
        everything else (16-bit, float and compressed files), which halves memory and time.

    Returns
    -------
    FileResult
        Paths, sample rate (Hz), channels, frames, duration (s), output format and subtype,
        the input subtype, clipped samples and the elapsed wall time (s).

    Raises
    ------
    FileNotFoundError
        ``in_path`` does not exist, or ``out_path``'s directory does not.
    IsADirectoryError
        ``in_path`` or ``out_path`` is a directory.
    ValueError
        ``in_path`` is not audio soundfile can read; ``out_path``'s extension names no format;
        the format cannot store ``subtype``; ``out_path`` is the input file (same path,
        symbolic or hard link) or an existing non-regular file. Raised before anything is
        written.
    tonecore.Cancelled
        ``progress`` returned a truthy value.
    KeyboardInterrupt
        Ctrl-C during the call: the native render is cancelled at its next finished chunk
        (milliseconds), the temporary file removed, and the interrupt re-raised.
    tonecore.InvalidArgument
        Invalid pipeline settings or chunk geometry (see :func:`tonecore.render_chunked`).
    TypeError
        Wrong argument types (``progress`` neither callable nor bool, ``subtype`` not a str).
    OSError
        Reading or writing failed (permissions, disk full, …).

    Notes
    -----
    Memory: the decoded input and the rendered output are held in full (2 × frames × channels
    × 4 bytes for float32: about 1.3 GB for an hour of stereo at 44.1 kHz), plus 64 Ki-frame
    blocks for reading and writing. Metadata (tags, cue points) is not copied.

    Linear PCM output (``PCM_S8``/``U8``/``16``/``24``/``32``) is rounded to the nearest step
    (``round(x * 2**(bits - 1))``, the inverse of how soundfile reads it; no dither), so a
    file passed through a disabled pipeline comes back with its samples unchanged. Samples
    beyond full scale are clipped to ±1 for integer subtypes (counted in
    :attr:`FileResult.clipped_samples`); float subtypes store them as they are.

    Examples
    --------
    >>> cfg = tonecore.PipelineConfig(eq_gains=np.full(25, 2.0), level={"target_lufs": -14},
    ...                               limiter=-1.0)
    >>> r = tonecore.process_file("in.flac", "out.flac", cfg, progress=True)
    >>> r.subtype, r.clipped_samples
    ('PCM_24', 0)
    """
    started = time.perf_counter()
    sf = _soundfile()
    src, dst = _check_paths(in_path, out_path)
    fmt = _output_format(sf, dst)
    dt = None if dtype is None else real_dtype(dtype)
    cfg = _config_arg(pipeline)
    if subtype is not None and not isinstance(subtype, str):
        raise TypeError(f"subtype must be a str, not {type(subtype).__name__}")
    callback, bar = _progress_callback(progress, src.name)
    try:
        if dt is None:
            dt = np.dtype(np.float64 if _input_subtype(sf, src) in _WIDE_SUBTYPES
                          else np.float32)
        planar, sample_rate, input_subtype = _read_planar(sf, src, dt)
        out_subtype = _output_subtype(sf, fmt, input_subtype, subtype)
        channels, frames = planar.shape
        if frames:
            rendered = _render_interruptibly(
                planar, sample_rate, cfg, callback,
                chunk_seconds=chunk_seconds, context_seconds=context_seconds,
                crossfade_seconds=crossfade_seconds, threads=threads,
            )
        else:
            rendered = planar
        del planar
        tmp = dst.with_name(f".{dst.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
        # Create it exclusively (default permissions), then let libsndfile fill it.
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        try:
            clipped = _write(sf, tmp, rendered, sample_rate, fmt, out_subtype)
            os.replace(tmp, dst)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
    finally:
        if bar is not None:
            bar.close()
    return FileResult(
        in_path=str(src),
        out_path=str(dst),
        sample_rate=sample_rate,
        channels=channels,
        frames=frames,
        duration=frames / sample_rate if sample_rate else 0.0,
        format=fmt,
        subtype=out_subtype,
        input_subtype=input_subtype,
        clipped_samples=clipped,
        elapsed=time.perf_counter() - started,
    )

