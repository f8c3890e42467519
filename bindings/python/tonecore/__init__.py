"""tonecore — real-time audio DSP engine (Python binding over the C ABI).

A ctypes binding over ``libtonecore`` (bundled with the package; set ``TONECORE_LIBRARY`` to
load another build): parallel STFT/ISTFT, an exact linear-phase band equalizer, EBU R128
loudness, an EQ -> level matcher -> limiter pipeline, chunk-parallel rendering of whole
tracks, prefetching playback with seek, audio files, and batch processing of folders on one
machine or a Dask cluster (:mod:`tonecore.batch`).

Units: sample rates in Hz, times in seconds unless the name says ``_ms``, gains and ceilings in
dB (dBFS), loudness in LUFS (ranges in LU, true peak in dBTP), lengths in samples/frames
(a frame is one sample per channel). Signals are planar ``(channels, frames)`` or 1-D mono,
full scale 1.0.

Arrays
------
Sample arrays are float32 or float64 (spectra complex64/complex128), C-contiguous, native
byte order. They are used in place: a conforming input is never copied (the native code
reads the caller's memory) and ``out=`` arrays are written in place and returned. Anything
else — another dtype, a strided or Fortran-ordered view, a list — is refused before any native
call with a TypeError (dtype, type) or ValueError (layout, dimensions) that names the fix,
unless the caller passes ``copy=True``: then it is converted once (float16 -> float32,
integers -> float64, other byte orders -> native; values are cast, not rescaled; complex never
becomes real). ``out=`` must have exactly the result's dtype and shape and is never
converted; it is left untouched when a call fails. Every function that produces samples or
spectra takes ``out=``.

Threads
-------
Native calls release the GIL, so Python threads run tonecore work in parallel (each thread
on its own object or buffer). Functions taking ``threads=`` also parallelise inside one call
(None: all cores; 1: the calling thread only). Streaming objects (:class:`Stft`,
:class:`Equalizer`, :class:`Pipeline`, :class:`Limiter`, :class:`LoudnessMeter`, :class:`PlaybackStream`) run one
call at a time: a second thread calling in at the same moment gets :class:`ConcurrentUse`
(nothing is corrupted); their any-thread methods (``Equalizer.set_gains``,
:class:`PipelineParams`, ``PlaybackStream.seek``/``stats``) are documented as such. Objects
holding native memory are context managers with a finalizer backstop; a closed object raises
:class:`ClosedError`; they refuse to be pickled (configurations such as
:class:`PipelineConfig` and :class:`BandLayout` pickle).

Errors
------
:class:`Error` is the base of everything the library reports and carries ``.status`` (the
``tonecore_status`` number, None for binding-side refusals) and ``.detail``:
:class:`InvalidArgument` (1–99, also a ValueError; among them :class:`ProfileError` (22, a
profile document that cannot be read) and its :class:`ProfileVersionError` (23, a newer
version)), :class:`ConcurrentUse` (100),
:class:`Poisoned` (101), :class:`Cancelled` (102), :class:`Busy` (103), :class:`StaleHandle`
(104, also a LookupError), :class:`AlreadyRunning` (105), :class:`Timeout` (106, also a
TimeoutError), :class:`NotFinished` (107), :class:`Panic` (200), :class:`OutOfMemory` (201, also
a MemoryError), :class:`ClosedError`.

Public API
----------
window(kind, n, dtype=None, out=None)
    Window functions (``"hann"``, ``"hann_sym"``, ``"hamming"``, ``"blackman"``, ``"sqrt_hann"``).
stft(x, fft_size=4096, hop=None, window="hann", center=False, threads=None, out=None)
    Short-time Fourier transform of ``(n,)`` or planar ``(channels, n)`` signals.
istft(spec, fft_size=None, hop=None, window="hann", center=False, length=None, threads=None, out=None)
    Inverse by weighted overlap-add.
Stft
    A reusable transform object (context manager) with ``forward``/``inverse``.
BandLayout
    Equalizer bands: ``.critical()`` (default), ``.octave()``, ``.third_octave()``,
    ``.sixth_octave()`` (the profile grid), ``BandLayout(edges)``; ``.edges``, ``.centers``,
    ``.bands``, ``.band_map(sr, n)``.
band_map(sample_rate, fft_size, layout=None)
    Band index of every rfft bin.
gain_curve(gains_db, layout=None, sample_rate=44100, fft_size=4096, mode="smooth", out=None)
    Per-bin linear gains for band gains in dB.
Equalizer
    Streaming equalizer (context manager): ``process``, ``set_gains`` from any thread,
    ``latency``, ``reset``; linear phase by default, ``low_latency=True`` for a minimum-phase
    EQ whose latency is one block.
low_latency_partition(max_block)
    The low-latency EQ's partition for blocks of at most ``max_block`` frames.
equalize(x, sample_rate, gains_db, layout=None, mode="smooth", fft_size=4096, threads=None, progress=None, out=None)
    Offline, parallel, latency-free equalization of a whole signal.
band_energies(x, sample_rate, layout=None, fft_size=4096, hop=None, threads=None, out=None)
    Per-band energy in dB of every frame.
loudness(x, sample_rate)
    ITU-R BS.1770-4 / EBU R128 loudness of a whole signal: a dict with ``integrated``,
    ``momentary_max``, ``short_term_max`` (LUFS), ``range`` (LU) and ``true_peak`` (dBTP).
integrated_loudness(x, sample_rate)
    Only the gated integrated loudness (LUFS); several times cheaper than ``loudness``.
LoudnessMeter(channels, sample_rate)
    Streaming loudness meter (context manager): ``add``, ``report``, ``reset``.
PipelineConfig, LevelConfig, LimiterConfig
    Settings of the EQ -> level matcher -> limiter chain (immutable dataclasses).
Pipeline(sample_rate, channels, config=None, max_block=4096, dtype=numpy.float32)
    The streaming chain (context manager): ``process``, ``latency``, ``reset``, ``params``,
    ``live_match(reference, strength=1.0, ..., time_constant_s=10.0, max_slew_db_per_s=1.0,
    warmup_s=3.0)`` (match live input to a reference as it plays).
PipelineParams
    ``Pipeline.params``: ``set_eq_gains``, ``set_level_target``, ``set_ceiling_db``,
    ``set_bypass``, ``stats``, ``update_match`` (a live match's next step and state) from any
    thread.
Limiter(sample_rate, channels, config=None, dtype=numpy.float32)
    The lookahead peak limiter on its own (context manager): ``process`` (blocks of any
    length), ``latency``, ``set_ceiling_db``, ``reset``, ``stats``.
crossfade_concat(a, b, overlap, curve="equal_gain", out=None)
    Join two signals with an equal-gain, equal-power or linear crossfade.
render_chunked(x, sample_rate, pipeline_config=None, chunk_seconds=15.0, context_seconds=None, crossfade_seconds=0.05, curve="equal_gain", threads=None, progress=None, out=None)
    Offline render of a whole track through the pipeline in parallel chunks joined by
    crossfades; ``progress`` can cancel it.
normalize(x, sample_rate, target_lufs=-14.0, ceiling_dbtp=-1.0, config=None, out=None)
    Normalise a whole track to an integrated loudness under a true-peak ceiling: ``(y, report)``.
profile(x, sample_rate, threads=None)
    A signal's :class:`Profile`: long-term spectrum on the sixth-octave grid, integrated
    loudness, loudness range, true peak (``spectrum_db``, ``integrated_lufs``, ...);
    ``to_json``/``Profile.from_json``; pickles; a context manager (``close``).
match(x, sample_rate, reference, strength=1.0, target_lufs=None, ceiling_dbtp=-1.0, max_gain_db=12.0, smoothing_octaves=1/3, reference_rate=None, threads=None, progress=None, out=None)
    Match a whole track to a reference (a Profile or samples): tonal balance (EQ on the
    sixth-octave grid), loudness and true-peak ceiling; returns ``(y, report)``.
match_config(track, reference, sample_rate, strength=1.0, ..., reference_rate=None, threads=None)
    The :class:`PipelineConfig` of that match, for ``Pipeline``, ``render_chunked``,
    ``normalize``, ``PlaybackStream`` and the ``Engine``.
live_match_config(reference, sample_rate, strength=1.0, ..., reference_rate=None, threads=None)
    The :class:`PipelineConfig` of a pipeline that matches live input to a reference (flat
    sixth-octave EQ, momentary leveller, true-peak limiter): then ``Pipeline.live_match`` and
    ``PipelineParams.update_match`` every 0.25-1 s.
MATCH_OUTCOMES
    The match report's ``outcome`` names.
PlaybackStream(x, sample_rate, pipeline_config=None, chunk_seconds=15.0, context_seconds=None, crossfade_seconds=0.05, lookahead_chunks=2, seek_fade_ms=5.0, curve="equal_gain")
    Prefetching playback of a track through the pipeline (context manager): ``read``
    (interleaved, never blocks), ``last_read_frames``, ``seek`` and ``stats`` from any thread.
Engine(max_streams=None, worker_threads=None, cache_bytes=None, max_jobs=None)
    One shared engine per process (context manager, any thread): keyed playback streams
    under a cap (``open_stream`` -> :class:`Stream`: ``read``, ``seek``, ``pause``/``resume``,
    ``stats``, ``close``), background renders (``submit_render`` -> :class:`Job`: ``progress``,
    ``cancel``, ``wait``, ``result``, ``release``), event callbacks (``subscribe``,
    ``unsubscribe``, ``flush_events``), a shared chunk cache and ``stats``.
Stream, Job, JobProgress, EngineEvent, EVENT_KINDS, JOB_STATES
    The engine's stream and job objects, progress and event records, names.
process_file(in_path, out_path, pipeline=None, progress=None, chunk_seconds=15.0, threads=None, subtype=None)
    Render a WAV/FLAC/… file into a new file (soundfile I/O, atomic output, Ctrl-C safe,
    ``progress=True`` for a tqdm bar); returns a :class:`FileResult`.
tonecore.aio
    For asyncio hosts: ``AsyncEngine`` (awaitable ``open_stream`` with a cap wait,
    ``submit_render`` -> ``AsyncJob`` with ``await result()`` and ``async for`` progress,
    ``events()`` delivered on the loop, ``async with`` lifetimes) and ``LoopLagProbe``.
tonecore.batch
    Whole folders: ``process_folder_local`` (processes on one machine) and
    ``process_folder_dask`` (a Dask cluster), with retries and collected failures.
Error, InvalidArgument, ProfileError, ProfileVersionError, ConcurrentUse, Poisoned, Cancelled, Busy, StaleHandle, AlreadyRunning, Timeout, NotFinished, Panic, OutOfMemory, ClosedError
    Exceptions (see Errors above).
abi_version(), library_version(), status_str(code), ABI_VERSION, __version__
    Versions and status descriptions.

Every sample-taking function also accepts ``copy=`` (see Arrays).
"""

from __future__ import annotations

from . import _native
from ._bands import CURVE_MODES, BandLayout, band_map
from ._eq import Equalizer, band_energies, equalize, gain_curve, low_latency_partition
from ._engine import EVENT_KINDS, JOB_STATES, Engine, EngineEvent, Job, JobProgress, Stream
from ._errors import (
    AlreadyRunning,
    Busy,
    Cancelled,
    ClosedError,
    ConcurrentUse,
    Error,
    InvalidArgument,
    NotFinished,
    OutOfMemory,
    Panic,
    Poisoned,
    ProfileError,
    ProfileVersionError,
    StaleHandle,
    Timeout,
)
from ._files import FileResult, process_file
from ._limiter import Limiter
from ._loudness import LoudnessMeter, integrated_loudness, loudness
from ._matching import MATCH_OUTCOMES, Profile, live_match_config, match, match_config, profile
from ._config import LEVEL_MODES, LevelConfig, LimiterConfig, PipelineConfig
from ._pipeline import STAGES, Pipeline, PipelineParams
from ._render import FADE_CURVES, PlaybackStream, crossfade_concat, normalize, render_chunked
from ._stft import Stft, istft, stft
from ._window import WINDOW_KINDS, window


def _package_version() -> str:
    try:  # written by setup.py from Cargo.toml at build time
        from ._version import __version__ as version  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # running from a source tree: the library's own version
        raw: bytes = _native.lib.tonecore_version_string()
        return raw.decode("ascii")
    return str(version)


#: The package version; equals the crate version in Cargo.toml (and :func:`library_version`).
__version__: str = _package_version()

#: The C ABI version this package needs; ``import tonecore`` fails unless the library's
#: ``tonecore_abi_version()`` equals it.
ABI_VERSION: int = _native.ABI_VERSION

__all__ = [
    "ABI_VERSION",
    "AlreadyRunning",
    "BandLayout",
    "Busy",
    "CURVE_MODES",
    "Cancelled",
    "ClosedError",
    "ConcurrentUse",
    "EVENT_KINDS",
    "Engine",
    "EngineEvent",
    "Equalizer",
    "Error",
    "FADE_CURVES",
    "FileResult",
    "InvalidArgument",
    "JOB_STATES",
    "Job",
    "JobProgress",
    "LevelConfig",
    "Limiter",
    "LimiterConfig",
    "LoudnessMeter",
    "MATCH_OUTCOMES",
    "NotFinished",
    "OutOfMemory",
    "Panic",
    "Pipeline",
    "PipelineConfig",
    "PipelineParams",
    "PlaybackStream",
    "Poisoned",
    "Profile",
    "ProfileError",
    "ProfileVersionError",
    "LEVEL_MODES",
    "STAGES",
    "StaleHandle",
    "Stft",
    "Stream",
    "Timeout",
    "WINDOW_KINDS",
    "__version__",
    "abi_version",
    "band_energies",
    "band_map",
    "crossfade_concat",
    "equalize",
    "gain_curve",
    "istft",
    "library_version",
    "live_match_config",
    "loudness",
    "low_latency_partition",
    "integrated_loudness",
    "match",
    "match_config",
    "process_file",
    "profile",
    "normalize",
    "render_chunked",
    "status_str",
    "stft",
    "window",
]


def abi_version() -> int:
    """The loaded library's C ABI version (``tonecore_abi_version()``); equals ABI_VERSION."""
    return int(_native.lib.tonecore_abi_version())


def library_version() -> str:
    """The loaded library's version string (``tonecore_version_string()``, "MAJOR.MINOR.PATCH")."""
    raw: bytes = _native.lib.tonecore_version_string()
    return raw.decode("ascii")


def status_str(code: int) -> str:
    """The library's description of a ``tonecore_status`` number.

    Parameters
    ----------
    code : int
        A status number (0 = ok); unknown numbers give ``"unknown status"``.

    Returns
    -------
    str
        A short static description, e.g. ``status_str(5)`` ->
        ``"the input holds NaN or infinite (or, for loudness, beyond +-2^20) values"``.
    """
    return _native.status_str(code)
