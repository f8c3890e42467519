"""Reference matching: :class:`Profile` and :func:`profile` (a signal's long-term spectrum on the
sixth-octave grid, loudness, range, true peak), :func:`match` (a whole track matched to a
reference's tonal balance and loudness under a true-peak ceiling) and :func:`match_config` (the
:class:`PipelineConfig` that does it, for every renderer and stream). ``tonecore_profile_*``
and ``tonecore_match_*`` in the C ABI.

Every default is the library's (``tonecore_match_config_init``, :data:`MATCH_DEFAULTS`).
"""

from __future__ import annotations

import ctypes
import math
from ctypes import byref, c_double, c_int32, c_size_t
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _native
from ._bands import BandLayout
from ._checks import (
    F32,
    F64,
    FloatArray,
    FloatT,
    input_array,
    out_array,
    real_arg,
    sample_rate_arg,
    threads_arg,
)
from ._config import PipelineConfig, _pipeline_config_from_c
from ._errors import InvalidArgument
from ._object import _NativeObject
from ._render import _normalize_report_dict, _progress_callback, _track_arg

__all__ = ["MATCH_OUTCOMES", "Profile", "live_match_config", "match", "match_config",
           "profile"]

#: ``tonecore_match_config_init``'s struct: the defaults of :func:`match`,
#: :func:`match_config` and :func:`live_match_config` (strength, largest gain, smoothing,
#: ceiling), never restated here.
MATCH_DEFAULTS: Any = _native.config_init(_native.MatchConfig)

#: ``tonecore_live_match_config_init``'s struct: the defaults of
#: :meth:`tonecore.Pipeline.live_match` (the match's, then the running spectrum's time
#: constant, the slew limit and the warm-up), never restated here.
LIVE_MATCH_DEFAULTS: Any = _native.config_init(_native.LiveMatchConfig)

#: The values of a match report's ``"outcome"``: ``"matched"``, ``"silent_reference"`` (no EQ
#: derived: flat gains), ``"silent_track"`` (likewise) and ``"no_common_bands"`` (no band
#: present in both profiles: flat gains).
MATCH_OUTCOMES = _native.MATCH_OUTCOMES

#: Bands of a profile (``TONECORE_PROFILE_BANDS``).
PROFILE_BANDS = _native.PROFILE_BANDS

#: A reference or track argument: a :class:`Profile`, or samples to profile.
ProfileArg = Union["Profile", FloatArray]


def _grid_centers() -> npt.NDArray[np.float64]:
    return BandLayout.sixth_octave().centers


class Profile(_NativeObject):
    """A reference profile: what matching needs to know of a signal (immutable data).

    The long-term spectrum on the sixth-octave grid (:meth:`tonecore.BandLayout.sixth_octave`:
    61 bands centred on ``1000 * 2**(k/6)`` Hz, ``k = -34..26``), the mean power over the
    channels, so profiles of any sample rate and channel count compare; for stereo also the
    side/mid balance; the integrated loudness (BS.1770-4), the loudness range (EBU Tech 3342)
    and the true peak. Made by :func:`tonecore.profile` or :meth:`from_json` (not by calling
    the class).

    A profile is data: it pickles (as its JSON document, :meth:`to_json`), compares equal to
    a profile of the same document, and may be read from any number of threads at once. It
    also holds the native ``tonecore_profile`` that :func:`match` and :func:`match_config`
    use: :meth:`close` (or the context manager, or a finalizer) frees it; a closed profile
    still answers its properties, :meth:`to_json` and pickling, but cannot be matched against
    (:class:`tonecore.ClosedError`).

    Attributes are read-only properties; array properties return copies.

    Examples
    --------
    >>> ref = tonecore.profile(reference, 44100)
    >>> ref.integrated_lufs, ref.true_peak_dbtp
    (-9.8, -0.4)
    >>> text = ref.to_json()                       # store it; read it back later
    >>> tonecore.Profile.from_json(text) == ref
    True
    """

    _sample_rate: int
    _channels: int
    _frames: int
    _integrated: Optional[float]
    _range: float
    _peak: Optional[float]
    _present: int
    _silent: bool
    _spectrum: npt.NDArray[np.float64]
    _side_mid: Optional[npt.NDArray[np.float64]]
    _json: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            "tonecore.Profile is made by tonecore.profile(x, sample_rate) or "
            "tonecore.Profile.from_json(text)"
        )

    @classmethod
    def _from_ptr(cls, ptr: Any) -> "Profile":
        """Takes ownership of a new native profile and reads its data once."""
        self = cls.__new__(cls)
        self._adopt(ptr, "tonecore_profile_free")
        try:
            self._read()
        except BaseException:
            self.close()
            raise
        return self

    def _read(self) -> None:
        info = _native.ProfileInfo()
        info.struct_size = ctypes.sizeof(info)
        spectrum = np.empty(PROFILE_BANDS, dtype=np.float64)
        length = c_size_t()
        ptr = self._acquire()
        try:
            lib = _native.lib
            _native.check(lib.tonecore_profile_get_info(ptr, byref(info)),
                          "tonecore_profile_get_info")
            side = np.empty(PROFILE_BANDS, dtype=np.float64) if info.has_side_mid else None
            _native.check(
                lib.tonecore_profile_spectrum(
                    ptr, _native.pointer_to(spectrum, c_double), spectrum.size,
                    None if side is None else _native.pointer_to(side, c_double),
                    0 if side is None else side.size,
                ),
                "tonecore_profile_spectrum",
            )
            # Capacity 0 asks for the length (BUFFER_TOO_SMALL, with the length written).
            status = lib.tonecore_profile_to_json(ptr, None, 0, byref(length))
            if status not in (_native.STATUS_OK, _native.STATUS_BUFFER_TOO_SMALL):
                _native.raise_for_status(status, "tonecore_profile_to_json")
            buf = ctypes.create_string_buffer(length.value + 1)
            _native.check(lib.tonecore_profile_to_json(ptr, buf, len(buf), byref(length)),
                          "tonecore_profile_to_json")
        finally:
            self._release()
        self._sample_rate = int(info.sample_rate)
        self._channels = int(info.channels)
        self._frames = int(info.frames)
        lufs, peak = float(info.integrated_lufs), float(info.true_peak_dbtp)
        self._integrated = lufs if math.isfinite(lufs) else None
        self._range = float(info.loudness_range_lu)
        self._peak = peak if math.isfinite(peak) else None
        self._present = int(info.present_bands)
        self._silent = bool(info.silent)
        spectrum.flags.writeable = False
        self._spectrum = spectrum
        if side is not None:
            side.flags.writeable = False
        self._side_mid = side
        self._json = buf.raw[: length.value].decode("utf-8")

    # -- JSON -----------------------------------------------------------------------------

    def to_json(self) -> str:
        """The profile as a versioned JSON document (compact, about 2 KB).

        Returns
        -------
        str
            ``{"format": "tonecore-profile", "version": 1, ...}``: the grid, the measurements
            and the bands (``null`` for absent ones). :meth:`from_json` reads it back to an
            equal profile, in this or a later tonecore.
        """
        return self._json

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "Profile":
        """Read a document written by :meth:`to_json`.

        Parameters
        ----------
        text : str or bytes
            The document (bytes: UTF-8; a trailing NUL is allowed).

        Returns
        -------
        Profile
            A new profile, equal to the one that wrote the document.

        Raises
        ------
        tonecore.ProfileVersionError
            The document is of a newer version than this library reads (status 23).
        tonecore.ProfileError
            Not a profile document: malformed JSON, not UTF-8, another format or grid, values
            out of range, over 1 MiB (status 22; ``detail`` says which).
        TypeError
            ``text`` is neither str nor bytes.
        """
        if isinstance(text, str):
            data = text.encode("utf-8", "surrogatepass")
        elif isinstance(text, (bytes, bytearray, memoryview)):
            data = bytes(text)
        else:
            raise TypeError(f"text must be a str or bytes, not {type(text).__name__}")
        ptr = _native.PROFILE_P()
        _native.check(_native.lib.tonecore_profile_from_json(data, len(data), byref(ptr)),
                      "tonecore_profile_from_json")
        return cls._from_ptr(ptr)

    # -- properties -------------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        """Sample rate of the signal measured, Hz (informational: the grid is
        rate-independent)."""
        return self._sample_rate

    @property
    def channels(self) -> int:
        """Channels of the signal measured."""
        return self._channels

    @property
    def frames(self) -> int:
        """Frames measured."""
        return self._frames

    @property
    def integrated_lufs(self) -> Optional[float]:
        """Integrated loudness (BS.1770-4, gated), LUFS; None when the signal is silent."""
        return self._integrated

    @property
    def loudness_range_lu(self) -> float:
        """Loudness range (EBU Tech 3342), LU."""
        return self._range

    @property
    def true_peak_dbtp(self) -> Optional[float]:
        """Largest true peak over the channels (4x oversampled, BS.1770-4 Annex 2), dBTP;
        None for digital silence."""
        return self._peak

    @property
    def silent(self) -> bool:
        """True when the signal was silent (at or below the noise floor): no spectrum; matching
        to it derives no EQ."""
        return self._silent

    @property
    def present_bands(self) -> int:
        """Bands present in :attr:`spectrum_db` (above the noise floor and below the Nyquist
        limit)."""
        return self._present

    @property
    def spectrum_db(self) -> npt.NDArray[np.float64]:
        """The long-term spectrum, float64 ``(61,)`` on :attr:`centers`: each band's mean power
        density over the channels in dB re 1/Hz of the signal's own mean power (so it
        describes the balance, not the level); NaN for an absent band (below the noise floor,
        above the Nyquist limit, or every band of a silent signal). A copy."""
        return self._spectrum.copy()

    @property
    def side_mid_db(self) -> Optional[npt.NDArray[np.float64]]:
        """For stereo, the side/mid power balance per band, float64 ``(61,)``, dB (NaN for
        absent bands); None for other channel counts. A copy."""
        return None if self._side_mid is None else self._side_mid.copy()

    @property
    def centers(self) -> npt.NDArray[np.float64]:
        """The grid's band centres, Hz, float64 ``(61,)``: ``1000 * 2**(k/6)``,
        ``k = -34..26`` (:meth:`tonecore.BandLayout.sixth_octave`'s centres). A copy."""
        return _grid_centers()

    # -- protocol ---------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Profile):
            return NotImplemented
        return self._json == other._json

    def __hash__(self) -> int:
        return hash(self._json)

    def __reduce__(self) -> Any:
        return (_profile_from_json, (self._json,))

    def __repr__(self) -> str:
        def db(v: Optional[float]) -> str:
            return "None" if v is None else f"{v:.2f}"

        state = ", closed" if self.closed else ""
        return (
            f"<tonecore.Profile sample_rate={self._sample_rate} channels={self._channels} "
            f"frames={self._frames} integrated_lufs={db(self._integrated)} "
            f"true_peak_dbtp={db(self._peak)} present_bands={self._present}{state}>"
        )


Profile.__module__ = "tonecore"


def _profile_from_json(text: str) -> Profile:
    """Unpickling: :meth:`Profile.from_json`."""
    return Profile.from_json(text)


# -- argument helpers ---------------------------------------------------------------------------


def _compute(x: npt.NDArray[Any], channels: int, sample_rate: int, threads: int) -> Profile:
    fn = (_native.lib.tonecore_profile_compute_f32 if x.dtype == F32
          else _native.lib.tonecore_profile_compute_f64)
    ptr = _native.PROFILE_P()
    status = fn(_native.pointer_to(x, _native.sample_ctype(x.dtype)), x.size, channels,
                sample_rate, threads, byref(ptr))
    _native.check(status, fn.__name__)
    return Profile._from_ptr(ptr)


def _profile_source(
    value: Any, name: str, copy: bool
) -> Tuple[Optional[Profile], Optional[npt.NDArray[Any]], int]:
    """A ``track=``/``reference=`` argument checked (nothing computed yet): ``(profile, None,
    0)`` for a :class:`Profile`, ``(None, samples, channels)`` for an array to profile."""
    if isinstance(value, Profile):
        if value.closed:
            raise value._closed_error()
        return value, None, 0
    if isinstance(value, np.ndarray) or copy:
        arr = input_array(value, name, (F32, F64), (1, 2), copy)
        return None, arr, (1 if arr.ndim == 1 else int(arr.shape[0]))
    raise TypeError(
        f"{name} must be a tonecore.Profile or a float32/float64 numpy.ndarray of samples, not "
        f"{type(value).__name__}"
    )


def _resolve(
    source: Tuple[Optional[Profile], Optional[npt.NDArray[Any]], int], rate: int, threads: int
) -> Tuple[Profile, bool]:
    """The profile of a checked source, and whether it was made here (close it after use)."""
    given, arr, channels = source
    if given is not None:
        return given, False
    assert arr is not None
    return _compute(arr, channels, rate, threads), True


def _c_match_config(
    strength: Any, target_lufs: Any, ceiling_dbtp: Any, max_gain_db: Any, smoothing_octaves: Any
) -> "_native.MatchConfig":
    """A ``tonecore_match_config`` (``tonecore_match_config_init``, then every field). Ranges
    are the library's to check; only a NaN target is refused here, since the C struct reads NaN
    as "the reference's loudness", which ``None`` says explicitly."""
    c = _native.config_init(_native.MatchConfig)
    c.strength = real_arg(strength, "strength")
    c.max_gain_db = real_arg(max_gain_db, "max_gain_db")
    c.smoothing_octaves = real_arg(smoothing_octaves, "smoothing_octaves")
    c.ceiling_dbtp = real_arg(ceiling_dbtp, "ceiling_dbtp")
    if target_lufs is None:
        c.target_lufs = math.nan
    else:
        target = real_arg(target_lufs, "target_lufs")
        if math.isnan(target):
            status = _native.STATUS_INVALID_TARGET
            detail = "target_lufs must be a number of LUFS (or None for the reference's loudness)"
            raise InvalidArgument(
                f"{detail}, got nan (status {status}: {_native.status_str(status)})",
                status, detail,
            )
        c.target_lufs = target
    return c


def _c_live_match_config(
    strength: Any, max_gain_db: Any, smoothing_octaves: Any, target_lufs: Any,
    ceiling_dbtp: Any, time_constant_s: Any, max_slew_db_per_s: Any, warmup_s: Any,
) -> "_native.LiveMatchConfig":
    """A ``tonecore_live_match_config`` (``tonecore_live_match_config_init``, then every field;
    ranges are the library's to check, a NaN target is refused as in :func:`_c_match_config`)."""
    m = _c_match_config(strength, target_lufs, ceiling_dbtp, max_gain_db, smoothing_octaves)
    c = _native.config_init(_native.LiveMatchConfig)
    c.strength = m.strength
    c.max_gain_db = m.max_gain_db
    c.smoothing_octaves = m.smoothing_octaves
    c.target_lufs = m.target_lufs
    c.ceiling_dbtp = m.ceiling_dbtp
    c.time_constant_s = real_arg(time_constant_s, "time_constant_s")
    c.max_slew_db_per_s = real_arg(max_slew_db_per_s, "max_slew_db_per_s")
    c.warmup_s = real_arg(warmup_s, "warmup_s")
    return c


def _reference_rate(reference_rate: Any, sample_rate: int, reference: Any) -> int:
    if reference_rate is None:
        return sample_rate
    if isinstance(reference, Profile):
        raise ValueError("reference_rate is the rate of a reference given as samples; a "
                         "tonecore.Profile knows its own")
    return sample_rate_arg(reference_rate, "reference_rate")


# -- public functions ---------------------------------------------------------------------------


def profile(
    x: FloatArray,
    sample_rate: int,
    threads: Optional[int] = None,
    *,
    copy: bool = False,
) -> Profile:
    """Measure a signal's profile: what :func:`match` needs of a reference.

    Parameters
    ----------
    x : numpy.ndarray
        The signal, float32 or float64 (not copied unless ``copy=True``), C-contiguous:
        ``(frames,)`` (mono) or planar ``(channels, frames)`` with 1–64 channels.
    sample_rate : int
        Sample rate in Hz (8 kHz to 2.8224 MHz).
    threads : int, optional
        None (default) or 0: all cores; 1: the calling thread only; n: a pool of n threads.
    copy : bool, optional
        Consent to convert ``x`` (see "Arrays" in ``help(tonecore)``). Default False.

    Returns
    -------
    Profile
        Its spectrum on the sixth-octave grid, loudness, loudness range and true peak.

    Raises
    ------
    tonecore.InvalidArgument
        NaN, infinite or huge (beyond +-2**20) samples (status 5); sample rate out of range
        (status 13); 0 or more than 64 channels (status 14); too many threads (status 2).
    TypeError, ValueError
        Wrong types, dtype, dimensions or layout of ``x``.

    Examples
    --------
    >>> ref = tonecore.profile(reference, 44100)   # (2, frames) float32
    >>> ref.spectrum_db.shape
    (61,)
    """
    x, channels = _track_arg(x, copy)
    sr = sample_rate_arg(sample_rate)
    return _compute(x, channels, sr, threads_arg(threads))


def match(
    x: npt.NDArray[FloatT],
    sample_rate: int,
    reference: ProfileArg,
    strength: float = MATCH_DEFAULTS.strength,
    target_lufs: Optional[float] = None,
    ceiling_dbtp: float = MATCH_DEFAULTS.ceiling_dbtp,
    max_gain_db: float = MATCH_DEFAULTS.max_gain_db,
    smoothing_octaves: float = MATCH_DEFAULTS.smoothing_octaves,
    reference_rate: Optional[int] = None,
    threads: Optional[int] = None,
    progress: Optional[Callable[[int, int], Any]] = None,
    out: Optional[npt.NDArray[FloatT]] = None,
    *,
    copy: bool = False,
) -> Tuple[npt.NDArray[FloatT], Dict[str, Any]]:
    """Match a whole track to a reference: its tonal balance, its loudness, a true-peak ceiling.

    The track is profiled; the EQ gains on the sixth-octave grid that move its long-term
    spectrum to the reference's are derived (the difference per band, smoothed across bands,
    made level-neutral, scaled by ``strength``, clamped to ``+-max_gain_db``); then the track
    is rendered through that EQ, normalised to the reference's integrated loudness (or
    ``target_lufs``; within 0.1 LU) under the true-peak limiter at ``ceiling_dbtp``, as
    :func:`normalize` does; the output is profiled for the report. The reference may have any
    sample rate and channel count. A silent reference (or track) derives no EQ, which is not an
    error: the report's ``"outcome"`` says so. :func:`match_config` gives the same chain as a
    :class:`PipelineConfig`.

    Parameters
    ----------
    x : numpy.ndarray
        The track, float32 or float64 (not copied unless ``copy=True``), C-contiguous:
        ``(frames,)`` (mono) or planar ``(channels, frames)`` with 1–64 channels.
    sample_rate : int
        The track's sample rate in Hz (8 kHz or more).
    reference : Profile or numpy.ndarray
        The reference: a :class:`Profile` (:func:`profile`, :meth:`Profile.from_json`), or its
        samples (as ``x``; profiled here at ``reference_rate``).
    strength : float, optional
        How much of the balance difference to correct, 0 (no EQ) to 1. Default 1.
    target_lufs : float, optional
        Loudness target, LUFS (-70 to 0). None (default): the reference's integrated loudness
        (the track's own if the reference is silent).
    ceiling_dbtp : float, optional
        True-peak ceiling of the limiter, dBTP (-60 to 0). Default -1.
    max_gain_db : float, optional
        Largest boost or cut of a band, dB (0 to 24). Default 12.
    smoothing_octaves : float, optional
        Width (FWHM) of the smoothing of the difference across bands, octaves (0 to 2; 0 =
        none). Default 1/3.
    reference_rate : int, optional
        Sample rate of a ``reference`` given as samples, Hz. None (default): ``sample_rate``.
        Not for a :class:`Profile` (ValueError).
    threads : int, optional
        None (default) or 0: all cores; 1: the calling thread only; n: a pool of n threads.
    progress : callable, optional
        ``progress(done, total)`` (ints) as the rendering advances, from worker threads, one
        at a time; a truthy return value cancels (:class:`tonecore.Cancelled`), an exception
        cancels and is re-raised, as for :func:`render_chunked`.
    out : numpy.ndarray, optional
        Destination of ``x``'s shape and dtype, C-contiguous, not overlapping ``x``; written in
        place and returned. Untouched when the call is refused (arguments, settings, a closed
        or invalid reference, non-finite samples); incomplete after :class:`tonecore.Cancelled`.
    copy : bool, optional
        Consent to convert ``x`` and a ``reference`` array (see "Arrays" in
        ``help(tonecore)``). Default False.

    Returns
    -------
    (numpy.ndarray, dict)
        The matched track (``x``'s shape and dtype, aligned with it) and the report:

        - ``outcome``: one of :data:`MATCH_OUTCOMES` (``"matched"``, ``"silent_reference"``,
          ``"silent_track"``, ``"no_common_bands"``; all but the first derive no EQ);
        - ``compared_bands``: bands compared (present in both profiles, correction within
          ``max_gain_db``);
        - ``residual_before_db``, ``residual_after_db``: RMS of ``before_db`` / ``after_db``,
          the balance difference before and left, dB;
        - ``gains_db``: the EQ gains applied per band, float64 ``(61,)``;
        - ``before_db``, ``after_db``: track − reference and output − reference per band,
          the mean over the compared bands removed, dB; NaN for bands not compared;
        - ``centers``: the bands' centre frequencies, Hz (:attr:`Profile.centers`);
        - ``loudness``: the loudness normalisation, as :func:`normalize` reports it.

    Raises
    ------
    tonecore.InvalidArgument
        ``strength``, ``max_gain_db`` or ``smoothing_octaves`` out of range (status 2), target
        out of range or NaN (status 20), ceiling out of range (status 18), sample rate (status
        13), channels (status 14), NaN or infinite samples in ``x`` or a ``reference`` array
        (status 5), too many threads (status 2).
    tonecore.ClosedError
        ``reference`` is a closed :class:`Profile`.
    tonecore.Cancelled
        ``progress`` returned a truthy value (status 102).
    tonecore.OutOfMemory
        A track-sized buffer could not be reserved (status 201).
    TypeError, ValueError
        Wrong types, dtype, dimensions or layout of ``x``, ``reference`` or ``out``;
        ``reference_rate`` with a :class:`Profile`; ``progress`` not callable.
    BaseException
        Whatever ``progress`` raised.

    Examples
    --------
    >>> ref = tonecore.profile(reference, 44100)
    >>> y, report = tonecore.match(track, 48000, ref)      # any rates and channel counts
    >>> report["outcome"], report["residual_after_db"], report["loudness"]["output_lufs"]
    ('matched', 0.3, -9.8)
    """
    x, channels = _track_arg(x, copy)
    sr = sample_rate_arg(sample_rate)
    ref_rate = _reference_rate(reference_rate, sr, reference)
    source = _profile_source(reference, "reference", copy)
    settings = _c_match_config(strength, target_lufs, ceiling_dbtp, max_gain_db,
                               smoothing_octaves)
    threads_n = threads_arg(threads)
    render = _native.config_init(_native.RenderConfig)
    render.threads = threads_n
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, not {type(progress).__name__}")
    if out is not None:
        out_array(out, x.dtype, x.shape, x)

    ref, owned = _resolve(source, ref_rate, threads_n)
    try:
        if out is None:
            out = np.empty(x.shape, dtype=x.dtype)
        report = _native.MatchReport()
        report.struct_size = ctypes.sizeof(report)
        callback, errors = _progress_callback(progress)
        ct = _native.sample_ctype(x.dtype)
        fn = (_native.lib.tonecore_match_f32 if x.dtype == F32
              else _native.lib.tonecore_match_f64)
        ref_ptr = ref._acquire()
        try:
            status = fn(
                _native.pointer_to(x, ct), x.size,
                _native.pointer_to(out, ct), out.size,
                channels, sr, ref_ptr, byref(settings), byref(render), byref(report),
                callback, None,
            )
        finally:
            ref._release()
        if errors:
            raise errors[0]
        if status != _native.STATUS_OK:
            _native.raise_for_status(status, fn.__name__)
        del callback
    finally:
        if owned:
            ref.close()
    return out, _match_report_dict(report)


def _bands(values: Any) -> npt.NDArray[np.float64]:
    return np.array(values[:], dtype=np.float64)


def _match_report_dict(report: _native.MatchReport) -> Dict[str, Any]:
    """The Python form of a ``tonecore_match_report`` (see :func:`match`)."""
    return {
        "outcome": MATCH_OUTCOMES[report.outcome],
        "compared_bands": int(report.compared_bands),
        "residual_before_db": float(report.residual_before_db),
        "residual_after_db": float(report.residual_after_db),
        "gains_db": _bands(report.gains_db),
        "before_db": _bands(report.before_db),
        "after_db": _bands(report.after_db),
        "centers": _grid_centers(),
        "loudness": _normalize_report_dict(report.loudness),
    }


def match_config(
    track: ProfileArg,
    reference: ProfileArg,
    sample_rate: int,
    strength: float = MATCH_DEFAULTS.strength,
    target_lufs: Optional[float] = None,
    ceiling_dbtp: float = MATCH_DEFAULTS.ceiling_dbtp,
    max_gain_db: float = MATCH_DEFAULTS.max_gain_db,
    smoothing_octaves: float = MATCH_DEFAULTS.smoothing_octaves,
    reference_rate: Optional[int] = None,
    threads: Optional[int] = None,
    *,
    copy: bool = False,
) -> PipelineConfig:
    """The :class:`PipelineConfig` that matches ``track`` to ``reference`` at ``sample_rate``.

    An ordinary pipeline configuration, so it runs unchanged in :class:`Pipeline`,
    :func:`render_chunked`, :func:`normalize`, :class:`PlaybackStream`, the :class:`Engine`
    and :func:`process_file`: the EQ on :meth:`BandLayout.sixth_octave` (smooth curve) with
    the match gains (as :func:`match` derives them), ``fft_size`` fine enough for the grid at
    this rate (16384 at 44.1/48 kHz), the level stage in ``"integrated"`` mode at the target
    (the reference's integrated loudness unless ``target_lufs`` is given), and the true-peak
    limiter at ``ceiling_dbtp``. The whole-track renderers, the playback stream and the engine
    measure the track and set the level gain themselves; a streaming :class:`Pipeline`
    applies ``level.track_gain_db`` (0 here) instead, so set it yourself there when the level
    matters (for example ``target - loudness of the equalised track``). :func:`normalize` takes
    the target as its own argument: pass ``config.level.target_lufs``.

    Parameters
    ----------
    track, reference : Profile or numpy.ndarray
        The track to be matched and the reference: each a :class:`Profile`, or samples
        (float32/float64, ``(frames,)`` or planar ``(channels, frames)``, C-contiguous unless
        ``copy=True``) profiled here, the track at ``sample_rate``, the reference at
        ``reference_rate``. A silent track or reference derives flat gains.
    sample_rate : int
        The rate the configuration will run at, Hz (8 kHz to 2.8224 MHz): it sets ``fft_size``.
    strength, target_lufs, ceiling_dbtp, max_gain_db, smoothing_octaves : float, optional
        As for :func:`match` (defaults 1, the reference's loudness, -1 dBTP, 12 dB, 1/3 octave).
    reference_rate : int, optional
        Sample rate of a ``reference`` given as samples. None (default): ``sample_rate``.
    threads : int, optional
        Threads for profiling arrays: None (default) or 0: all cores; 1: the calling thread.
    copy : bool, optional
        Consent to convert ``track``/``reference`` arrays (see "Arrays" in
        ``help(tonecore)``). Default False.

    Returns
    -------
    PipelineConfig
        ``eq_gains`` (61 values, dB), ``layout`` (``BandLayout.sixth_octave()``), ``mode``
        ``"smooth"``, ``fft_size``, ``level`` (integrated, at the target) and ``limiter``
        (true peak, at the ceiling); the other settings are the library's defaults.

    Raises
    ------
    tonecore.InvalidArgument
        The settings' errors (as for :func:`match`); sample rate out of range (status 13);
        the errors of profiling an array (as for :func:`profile`).
    tonecore.ClosedError
        ``track`` or ``reference`` is a closed :class:`Profile`.
    TypeError, ValueError
        Wrong argument types; wrong dtype, dimensions or layout of an array;
        ``reference_rate`` with a :class:`Profile` reference.

    Examples
    --------
    >>> cfg = tonecore.match_config(track, ref_profile, 44100)
    >>> y = tonecore.render_chunked(track, 44100, cfg)           # lands on the reference's loudness
    >>> with tonecore.PlaybackStream(track, 44100, cfg) as stream:
    ...     block = stream.read(1024)
    """
    sr = sample_rate_arg(sample_rate)
    ref_rate = _reference_rate(reference_rate, sr, reference)
    track_source = _profile_source(track, "track", copy)
    ref_source = _profile_source(reference, "reference", copy)
    settings = _c_match_config(strength, target_lufs, ceiling_dbtp, max_gain_db,
                               smoothing_octaves)
    threads_n = threads_arg(threads)

    track_profile, track_owned = _resolve(track_source, sr, threads_n)
    ref_profile: Optional[Profile] = None
    ref_owned = False
    try:
        ref_profile, ref_owned = _resolve(ref_source, ref_rate, threads_n)
        pipe = _native.config_init(_native.PipelineConfig)
        pipe.sample_rate = sr
        pipe.channels = max(track_profile.channels, 1)
        gains = np.empty(PROFILE_BANDS, dtype=np.float64)
        outcome = c_int32()
        t_ptr = track_profile._acquire()
        try:
            r_ptr = ref_profile._acquire()
            try:
                status = _native.lib.tonecore_match_pipeline_config(
                    t_ptr, r_ptr, byref(settings), byref(pipe),
                    _native.pointer_to(gains, c_double), gains.size, byref(outcome),
                )
            finally:
                ref_profile._release()
        finally:
            track_profile._release()
        _native.check(status, "tonecore_match_pipeline_config")
        return _pipeline_config_from_c(pipe)  # reads the gains while `gains` is alive
    finally:
        if track_owned:
            track_profile.close()
        if ref_owned and ref_profile is not None:
            ref_profile.close()


def live_match_config(
    reference: ProfileArg,
    sample_rate: int,
    strength: float = MATCH_DEFAULTS.strength,
    target_lufs: Optional[float] = None,
    ceiling_dbtp: float = MATCH_DEFAULTS.ceiling_dbtp,
    max_gain_db: float = MATCH_DEFAULTS.max_gain_db,
    smoothing_octaves: float = MATCH_DEFAULTS.smoothing_octaves,
    reference_rate: Optional[int] = None,
    threads: Optional[int] = None,
    *,
    copy: bool = False,
) -> PipelineConfig:
    """The :class:`PipelineConfig` of a pipeline that will match live to ``reference``.

    For live input, whose end (and so whose long-term spectrum) is unknown: build a
    :class:`Pipeline` from it, then call :meth:`Pipeline.live_match` with the same reference
    and :meth:`PipelineParams.update_match` every 0.25–1 s. The EQ is on
    :meth:`BandLayout.sixth_octave` (smooth curve), flat (61 zeros) until the running profile
    has warmed up; the level stage is in ``"momentary"`` mode at the target (the reference's
    integrated loudness unless ``target_lufs`` is given); the true-peak limiter is at
    ``ceiling_dbtp``; ``fft_size`` is fine enough for the grid at this rate (16384 at
    44.1/48 kHz). ``tonecore_match_live_pipeline_config`` in the C ABI.

    Parameters
    ----------
    reference : Profile or numpy.ndarray
        The reference: a :class:`Profile`, or samples (float32/float64, ``(frames,)`` or planar
        ``(channels, frames)``, C-contiguous unless ``copy=True``) profiled here at
        ``reference_rate``.
    sample_rate : int
        The rate the pipeline will run at, Hz (8 kHz to 2.8224 MHz): it sets ``fft_size``.
    strength, target_lufs, ceiling_dbtp, max_gain_db, smoothing_octaves : float, optional
        As for :func:`match` (defaults 1, the reference's loudness, -1 dBTP, 12 dB, 1/3
        octave); only the target and the ceiling enter the configuration, the others are
        checked here (pass them to :meth:`Pipeline.live_match`).
    reference_rate : int, optional
        Sample rate of a ``reference`` given as samples. None (default): ``sample_rate``.
    threads : int, optional
        Threads for profiling an array: None (default) or 0: all cores; 1: the calling thread.
    copy : bool, optional
        Consent to convert a ``reference`` array (see "Arrays" in ``help(tonecore)``).
        Default False.

    Returns
    -------
    PipelineConfig
        ``eq_gains`` (61 zeros), ``layout`` (``BandLayout.sixth_octave()``), ``mode``
        ``"smooth"``, ``fft_size``, ``level`` (momentary, at the target) and ``limiter``
        (true peak, at the ceiling); the other settings are the library's defaults.

    Raises
    ------
    tonecore.InvalidArgument
        The settings' errors (as for :func:`match`); sample rate out of range (status 13);
        the errors of profiling an array (as for :func:`profile`).
    tonecore.ClosedError
        ``reference`` is a closed :class:`Profile`.
    TypeError, ValueError
        Wrong argument types; wrong dtype, dimensions or layout of an array;
        ``reference_rate`` with a :class:`Profile` reference.

    Examples
    --------
    >>> ref = tonecore.profile(reference, 44100)
    >>> cfg = tonecore.live_match_config(ref, 48000)
    >>> with tonecore.Pipeline(48000, 2, cfg, max_block=256) as p:
    ...     p.live_match(ref)
    ...     for k, block in enumerate(blocks):            # (2, 256) float32
    ...         out = p.process(block)
    ...         if k % 94 == 0:                            # about every 0.5 s
    ...             state = p.params.update_match()        # any control thread
    """
    sr = sample_rate_arg(sample_rate)
    ref_rate = _reference_rate(reference_rate, sr, reference)
    source = _profile_source(reference, "reference", copy)
    settings = _c_match_config(strength, target_lufs, ceiling_dbtp, max_gain_db,
                               smoothing_octaves)
    threads_n = threads_arg(threads)

    ref, owned = _resolve(source, ref_rate, threads_n)
    try:
        pipe = _native.config_init(_native.PipelineConfig)
        pipe.sample_rate = sr
        pipe.channels = max(ref.channels, 1)
        ptr = ref._acquire()
        try:
            status = _native.lib.tonecore_match_live_pipeline_config(
                ptr, byref(settings), byref(pipe))
        finally:
            ref._release()
        _native.check(status, "tonecore_match_live_pipeline_config")
        return _pipeline_config_from_c(pipe)
    finally:
        if owned:
            ref.close()


def _live_state_dict(state: "_native.LiveMatchState") -> Dict[str, Any]:
    """The Python form of a ``tonecore_live_match_state`` (see
    :meth:`tonecore.PipelineParams.update_match`)."""
    return {
        "analysed_s": float(state.analysed_s),
        "averaged_s": float(state.averaged_s),
        "active": bool(state.active),
        "outcome": MATCH_OUTCOMES[state.outcome],
        "gains_db": _bands(state.gains_db),
        "target_db": _bands(state.target_db),
    }
