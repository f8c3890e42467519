"""Short-time Fourier transform: the :class:`Stft` handle and the :func:`stft` / :func:`istft`
functions (``tonecore_stft_*`` in the C ABI)."""

from __future__ import annotations

from ctypes import byref, c_double, c_float, c_size_t
from typing import Any, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _native
from ._checks import (
    C64,
    C128,
    COMPLEX_OF,
    F32,
    F64,
    REAL_OF,
    ComplexArray,
    FloatArray,
    input_array,
    out_array,
    real_dtype,
    size_arg,
    threads_arg,
)
from ._object import _Handle, _NativeObject
from ._window import window_code

__all__ = ["Stft", "stft", "istft"]

WindowArg = Union[str, npt.ArrayLike]

#: The library's STFT defaults (``tonecore_stft_config_init``): frame length, window and
#: centring of the signatures below.
_DEFAULTS: Any = _native.config_init(_native.StftConfig)
_DEFAULT_WINDOW: str = {code: name for name, code in _native.WINDOW_KINDS.items()}[
    _DEFAULTS.window]

class Stft(_NativeObject):
    """A reusable short-time Fourier transform (forward and inverse) for one configuration.

    Holds the native ``tonecore_stft`` object: FFT plans, window and working buffers are built
    once and reused by every call. Use it as a context manager or call :meth:`close`; a
    finalizer frees it if you forget. Calls on a closed object raise :class:`tonecore.ClosedError`
    (a :class:`tonecore.Error` and a :class:`ValueError`).

    One object runs one call at a time: a call made while another thread is inside a call on the
    same object raises :class:`tonecore.ConcurrentUse` and writes nothing. Use one object per
    thread (objects are independent; plans and windows are shared through the library's caches).

    Parameters
    ----------
    fft_size : int, optional
        Frame length in samples: even, ``16 <= fft_size <= 2**24``; any even size, not only
        powers of two. Default 4096.
    hop : int, optional
        Frame advance in samples, ``1 <= hop <= fft_size``. Default ``fft_size // 4``.
    window : str or array_like, optional
        A window name (see :func:`tonecore.window`; default ``"hann"``, periodic) or a 1-D array
        of exactly ``fft_size`` finite real values (copied, as float64). Used for analysis and
        synthesis.
    center : bool, optional
        False (default): frame ``k`` covers samples ``[k*hop, k*hop + fft_size)`` and exists only
        when it fits, so ``frames = 1 + (n - fft_size) // hop`` for ``n >= fft_size``, else 0.
        True: the signal is read as zero-padded by ``fft_size // 2`` samples on both sides and
        frame ``k`` is centred on sample ``k*hop``; ``frames = 1 + n // hop`` for ``n > 0``.
    threads : int or None, optional
        None (default) or 0: all cores; 1: the calling thread only; n: a shared pool of n
        threads (``n <= 1024``).
    dtype : numpy dtype, optional
        Sample type, ``numpy.float32`` (default; spectra are complex64) or ``numpy.float64``
        (spectra are complex128). Calls accept this dtype only.

    Raises
    ------
    tonecore.InvalidArgument
        Invalid ``fft_size`` (status 7), ``hop`` (status 8), custom window length (status 3) or
        non-finite custom window (status 5), too many threads (status 2).
    TypeError, ValueError
        Arguments of the wrong type or sign, unknown window names.

    Examples
    --------
    >>> with tonecore.Stft(2048, dtype=np.float64) as s:
    ...     spec = s.forward(x)          # (frames, 1025) complex128
    ...     y = s.inverse(spec)          # (s.signal_len(frames),) float64
    """

    def __init__(
        self,
        fft_size: int = _DEFAULTS.fft_size,
        hop: Optional[int] = None,
        window: WindowArg = _DEFAULT_WINDOW,
        center: bool = bool(_DEFAULTS.center),
        threads: Optional[int] = None,
        dtype: npt.DTypeLike = np.float32,
    ) -> None:
        self._handle: Optional[_Handle] = None
        dt = real_dtype(dtype)
        fft_size = size_arg(fft_size, "fft_size")
        hop = fft_size // 4 if hop is None else size_arg(hop, "hop")
        threads = threads_arg(threads)

        custom: Optional[npt.NDArray[Any]] = None
        if isinstance(window, str):
            code = window_code(window)
            window_name: Optional[str] = window
        else:
            custom = _custom_window(window)
            code = _native.WINDOW_HANN
            window_name = None

        config = _native.config_init(_native.StftConfig)
        config.fft_size = fft_size
        config.hop = hop
        config.window = code
        config.sample_format = (
            _native.SAMPLE_FORMAT_F32 if dt == F32 else _native.SAMPLE_FORMAT_F64
        )
        config.center = 1 if center else 0
        config.threads = threads
        if custom is not None:
            config.custom_window = _native.pointer_to(custom, c_double)
            config.custom_window_len = custom.size

        ptr = _native.STFT_P()
        _native.check(_native.lib.tonecore_stft_new(byref(config), byref(ptr)),
                      "tonecore_stft_new")
        self._adopt(ptr, "tonecore_stft_free")

        bins = c_size_t()
        _native.check(_native.lib.tonecore_stft_bins(ptr, byref(bins)), "tonecore_stft_bins")
        self._bins = int(bins.value)
        self._fft_size = fft_size
        self._hop = hop
        self._center = bool(center)
        self._threads = threads
        self._dtype = dt
        self._complex_dtype = COMPLEX_OF[dt]
        self._window_name = window_name
        self._custom_window = custom
        self._real_ct: Any
        self._complex_ct: Any
        if dt == F32:
            self._forward_fn = _native.lib.tonecore_stft_forward_f32
            self._inverse_fn = _native.lib.tonecore_stft_inverse_f32
            self._real_ct, self._complex_ct = c_float, _native.ComplexF32
        else:
            self._forward_fn = _native.lib.tonecore_stft_forward_f64
            self._inverse_fn = _native.lib.tonecore_stft_inverse_f64
            self._real_ct, self._complex_ct = c_double, _native.ComplexF64

    # -- lifetime -------------------------------------------------------------------------

    def __repr__(self) -> str:
        window = self._window_name if self._window_name is not None else "custom"
        state = ", closed" if self.closed else ""
        return (
            f"tonecore.Stft(fft_size={self._fft_size}, hop={self._hop}, window={window!r}, "
            f"center={self._center}, threads={self._threads or None}, "
            f"dtype=numpy.{self._dtype.name}{state})"
        )

    # -- configuration --------------------------------------------------------------------

    @property
    def fft_size(self) -> int:
        """Frame length in samples."""
        return self._fft_size

    @property
    def hop(self) -> int:
        """Frame advance in samples."""
        return self._hop

    @property
    def center(self) -> bool:
        """Whether frames are centred on ``k*hop`` (zero padding of ``fft_size // 2``)."""
        return self._center

    @property
    def threads(self) -> Optional[int]:
        """Thread count as configured (None = all cores)."""
        return self._threads or None

    @property
    def window(self) -> Union[str, npt.NDArray[Any]]:
        """The window name, or a copy of the custom window (float64)."""
        if self._window_name is not None:
            return self._window_name
        assert self._custom_window is not None
        return self._custom_window.copy()

    @property
    def dtype(self) -> np.dtype[Any]:
        """Sample dtype (float32 or float64)."""
        return self._dtype

    @property
    def complex_dtype(self) -> np.dtype[Any]:
        """Spectrum dtype (complex64 or complex128)."""
        return self._complex_dtype

    @property
    def bins(self) -> int:
        """Frequency bins per frame, ``fft_size // 2 + 1`` (bin ``k`` is ``k * fs / fft_size`` Hz)."""
        return self._bins

    def frame_count(self, n: int) -> int:
        """Frames per channel for a signal of ``n`` samples per channel.

        Parameters
        ----------
        n : int
            Signal length in samples (per channel), ``n >= 0``.

        Returns
        -------
        int
            ``1 + (n - fft_size) // hop`` (0 when ``n < fft_size``); with ``center=True``,
            ``1 + n // hop`` (0 when ``n == 0``).
        """
        n = size_arg(n, "n")
        ptr = self._acquire()
        try:
            return self._frame_count(ptr, n)
        finally:
            self._handle.release()  # type: ignore[union-attr]

    def signal_len(self, frames: int) -> int:
        """Samples per channel that :meth:`inverse` produces from ``frames`` frames.

        Parameters
        ----------
        frames : int
            Frame count, ``>= 0``.

        Returns
        -------
        int
            ``(frames - 1) * hop + fft_size``, minus ``fft_size // 2`` with ``center=True``;
            0 for 0 frames.
        """
        frames = size_arg(frames, "frames")
        ptr = self._acquire()
        try:
            return self._signal_len(ptr, frames)
        finally:
            self._handle.release()  # type: ignore[union-attr]

    @staticmethod
    def _frame_count(ptr: Any, n: int) -> int:
        out = c_size_t()
        _native.check(_native.lib.tonecore_stft_frame_count(ptr, n, byref(out)),
                      "tonecore_stft_frame_count")
        return int(out.value)

    @staticmethod
    def _signal_len(ptr: Any, frames: int) -> int:
        out = c_size_t()
        _native.check(_native.lib.tonecore_stft_signal_len(ptr, frames, byref(out)),
                      "tonecore_stft_signal_len")
        return int(out.value)

    # -- transforms -----------------------------------------------------------------------

    def forward(
        self,
        x: FloatArray,
        out: Optional[ComplexArray] = None,
        *,
        copy: bool = False,
    ) -> ComplexArray:
        """Forward STFT of ``x``.

        Parameters
        ----------
        x : numpy.ndarray
            Samples of this object's :attr:`dtype`, C-contiguous: shape ``(n,)`` (mono) or
            ``(channels, n)`` (planar). Never converted or copied. Must be finite.
        out : numpy.ndarray, optional
            Destination of exactly the result's dtype and shape, C-contiguous and writeable;
            written in place and returned. Left untouched when the call fails.
        copy : bool, optional
            Consent to convert ``x``. False (default): it must be a C-contiguous ndarray of an
            accepted dtype, which is used in place and never copied (anything else raises
            TypeError/ValueError). True: other dtypes, layouts and array_likes are converted once
            (a conforming array is still not copied); see "Arrays" in ``help(tonecore)``.

        Returns
        -------
        numpy.ndarray
            Unscaled spectra, ``out[..., k, :] == numpy.fft.rfft(x[..., s:s+fft_size] * w)``
            with ``s = k*hop`` (``k*hop - fft_size//2`` with zero padding when centred); shape
            ``(frames, bins)`` or ``(channels, frames, bins)``. A signal shorter than one frame
            gives ``frames == 0`` (shape ``(0, bins)``), not an error.

        Raises
        ------
        TypeError
            ``x`` is not an ndarray of this object's dtype; ``out`` has the wrong dtype.
        ValueError
            ``x`` is not 1-D/2-D or not C-contiguous; ``out`` has the wrong shape or layout.
        tonecore.InvalidArgument
            ``x`` holds NaN or infinity (status 5, ``NON_FINITE``).
        tonecore.ConcurrentUse
            Another thread is inside a call on this object.
        """
        x = input_array(x, "x", (self._dtype,), (1, 2), copy)
        if out is not None:
            out_array(out, self._complex_dtype)
        channels = 1 if x.ndim == 1 else x.shape[0]
        n = x.shape[-1]
        ptr = self._acquire()
        try:
            frames = self._frame_count(ptr, n)
            shape: Tuple[int, ...] = (
                (frames, self._bins) if x.ndim == 1 else (channels, frames, self._bins)
            )
            if out is None:
                out = np.empty(shape, dtype=self._complex_dtype)
            else:
                out_array(out, self._complex_dtype, shape, x)
            if channels == 0:
                return out
            frames_out = c_size_t()
            status = self._forward_fn(
                ptr,
                _native.pointer_to(x, self._real_ct),
                x.size,
                channels,
                _native.pointer_to(out, self._complex_ct),
                out.size,
                byref(frames_out),
            )
            if status != _native.STATUS_OK:
                _native.raise_for_status(status, self._forward_fn.__name__)
            assert frames_out.value == frames
            return out
        finally:
            self._handle.release()  # type: ignore[union-attr]

    def inverse(
        self,
        spec: ComplexArray,
        out: Optional[FloatArray] = None,
        length: Optional[int] = None,
        *,
        copy: bool = False,
    ) -> FloatArray:
        """Inverse STFT (weighted overlap-add) of ``spec``.

        Parameters
        ----------
        spec : numpy.ndarray
            Spectra of this object's :attr:`complex_dtype`, C-contiguous, shape
            ``(frames, bins)`` or ``(channels, frames, bins)`` as :meth:`forward` returns.
            Must be finite.
        out : numpy.ndarray, optional
            Destination of exactly the result's dtype and shape (see Returns), C-contiguous and
            writeable; written in place and returned. Left untouched when the call fails.
        length : int, optional
            Samples per channel of the result. None (default): the natural length
            :meth:`signal_len` ``(frames)``. Shorter: the result is trimmed; longer: it is
            zero-padded at the end. Passing the original signal length restores the forward
            transform's input shape.
        copy : bool, optional
            Consent to convert ``spec``. False (default): it must be a C-contiguous ndarray of an
            accepted dtype, which is used in place and never copied (anything else raises
            TypeError/ValueError). True: other dtypes, layouts and array_likes are converted once
            (a conforming array is still not copied); see "Arrays" in ``help(tonecore)``.

        Returns
        -------
        numpy.ndarray
            Samples (float32 for complex64 input, float64 for complex128), shape ``(length,)``
            or ``(channels, length)``. The forward transform's input is reconstructed wherever
            the window's overlap-added square exceeds 1e-10 (everything but the first and last
            few samples of an uncentred signal); samples below that are 0.

        Raises
        ------
        TypeError, ValueError
            Wrong dtype, dimensions, bin count or layout of ``spec`` or ``out``.
        tonecore.InvalidArgument
            Non-finite spectrum values (status 5); the window cannot be inverted at this hop
            (status 11, ``NOT_INVERTIBLE``, e.g. Hann with ``hop == fft_size``).
        tonecore.ConcurrentUse
            Another thread is inside a call on this object.
        """
        spec = input_array(spec, "spec", (self._complex_dtype,), (2, 3), copy)
        if spec.shape[-1] != self._bins:
            raise ValueError(
                f"spec has {spec.shape[-1]} bins per frame; this Stft (fft_size="
                f"{self._fft_size}) needs {self._bins}"
            )
        if out is not None:
            out_array(out, self._dtype)
        if length is not None:
            length = size_arg(length, "length")
        channels = 1 if spec.ndim == 2 else spec.shape[0]
        frames = spec.shape[-2]
        ptr = self._acquire()
        try:
            natural = self._signal_len(ptr, frames)
            target = natural if length is None else length
            shape: Tuple[int, ...] = (target,) if spec.ndim == 2 else (channels, target)
            if out is not None:
                out_array(out, self._dtype, shape, spec)
            # Write straight into the result when its layout is the natural one (or, mono,
            # a longer buffer whose tail is zeroed afterwards); else go through a scratch array.
            direct = target == natural or (channels == 1 and target > natural)
            if direct:
                dest = out if out is not None else np.empty(shape, dtype=self._dtype)
            else:
                dest = np.empty((channels, natural), dtype=self._dtype)
            if channels != 0:
                len_out = c_size_t()
                status = self._inverse_fn(
                    ptr,
                    _native.pointer_to(spec, self._complex_ct),
                    spec.size,
                    channels,
                    _native.pointer_to(dest, self._real_ct),
                    dest.size,
                    byref(len_out),
                )
                if status != _native.STATUS_OK:
                    _native.raise_for_status(status, self._inverse_fn.__name__)
                assert len_out.value == natural
        finally:
            self._handle.release()  # type: ignore[union-attr]
        if direct:
            if target > natural:
                dest[..., natural:] = 0
            return dest
        result = out if out is not None else np.empty(shape, dtype=self._dtype)
        keep = min(target, natural)
        result2d = result.reshape(channels, target)
        result2d[:, :keep] = dest[:, :keep]
        result2d[:, keep:] = 0
        return result


Stft.__module__ = "tonecore"


def _custom_window(window: Any) -> npt.NDArray[Any]:
    w = np.asarray(window)
    if w.dtype.kind not in "fiu":
        raise TypeError(f"a custom window must be real-valued, not {w.dtype}")
    if w.ndim != 1:
        raise ValueError(f"a custom window must be 1-D, got shape {w.shape}")
    return np.ascontiguousarray(w, dtype=np.float64)


def stft(
    x: FloatArray,
    fft_size: int = _DEFAULTS.fft_size,
    hop: Optional[int] = None,
    window: WindowArg = _DEFAULT_WINDOW,
    center: bool = bool(_DEFAULTS.center),
    threads: Optional[int] = None,
    out: Optional[ComplexArray] = None,
    *,
    copy: bool = False,
) -> ComplexArray:
    """Short-time Fourier transform of a real signal.

    Parameters
    ----------
    x : numpy.ndarray
        Samples, float32 or float64 (not copied unless ``copy=True``), C-contiguous,
        finite: shape ``(n,)`` or planar ``(channels, n)``.
    fft_size : int, optional
        Frame length in samples: even, ``16 <= fft_size <= 2**24`` (any even size). Default 4096.
    hop : int, optional
        Frame advance in samples, ``1 <= hop <= fft_size``. Default ``fft_size // 4``.
    window : str or array_like, optional
        Window name (``"hann"`` periodic, default; ``"hann_sym"``, ``"hamming"``,
        ``"blackman"``, ``"sqrt_hann"``) or a 1-D array of ``fft_size`` finite values (passed
        as float64).
    center : bool, optional
        Zero-pad ``fft_size // 2`` samples on both sides and centre frame ``k`` on sample
        ``k*hop`` (``frames = 1 + n // hop``). Default False: frame ``k`` covers
        ``[k*hop, k*hop + fft_size)`` and exists only when it fits
        (``frames = 1 + (n - fft_size) // hop``, or 0).
    threads : int, optional
        None (default): all cores; 1: the calling thread only; n: a pool of n threads.
    out : numpy.ndarray, optional
        Destination of exactly the result's dtype and shape, C-contiguous; written in place and
        returned (no copy). Untouched when the call fails.
    copy : bool, optional
        Consent to convert ``x``. False (default): it must be a C-contiguous ndarray of an
        accepted dtype, which is used in place and never copied (anything else raises
        TypeError/ValueError). True: other dtypes, layouts and array_likes are converted once
        (a conforming array is still not copied); see "Arrays" in ``help(tonecore)``.

    Returns
    -------
    numpy.ndarray
        complex64 for float32 input, complex128 for float64; shape ``(frames, bins)`` or
        ``(channels, frames, bins)`` with ``bins = fft_size // 2 + 1`` (bin ``k`` at
        ``k * fs / fft_size`` Hz). Unscaled: frame ``k`` equals
        ``numpy.fft.rfft(x[k*hop : k*hop + fft_size] * w)``. A signal shorter than one frame
        gives shape ``(0, bins)`` (``(channels, 0, bins)``), not an error.

    Raises
    ------
    TypeError
        ``x`` is not a float32/float64 ndarray; ``out`` has the wrong dtype.
    ValueError
        ``x`` is not 1-D/2-D or not C-contiguous; ``out`` has the wrong shape or layout; an
        unknown window name.
    tonecore.InvalidArgument
        Invalid ``fft_size`` (status 7) or ``hop`` (status 8); NaN/Inf samples (status 5).

    See Also
    --------
    Stft : the reusable object behind this function.
    istft : the inverse.
    """
    x = input_array(x, "x", (F32, F64), (1, 2), copy)
    if out is not None:
        out_array(out, COMPLEX_OF[x.dtype])
    with Stft(fft_size, hop, window, center, threads, dtype=x.dtype) as s:
        return s.forward(x, out=out)


def istft(
    spec: ComplexArray,
    fft_size: Optional[int] = None,
    hop: Optional[int] = None,
    window: WindowArg = _DEFAULT_WINDOW,
    center: bool = bool(_DEFAULTS.center),
    length: Optional[int] = None,
    threads: Optional[int] = None,
    out: Optional[FloatArray] = None,
    *,
    copy: bool = False,
) -> FloatArray:
    """Inverse short-time Fourier transform (weighted overlap-add).

    Parameters
    ----------
    spec : numpy.ndarray
        complex64 or complex128 spectra, C-contiguous, finite: shape ``(frames, bins)`` or
        ``(channels, frames, bins)``, as :func:`stft` returns.
    fft_size : int, optional
        Frame length in samples. Default ``2 * (bins - 1)``; if given it must match ``bins``.
    hop, window, center, threads
        As for :func:`stft`; use the values of the forward transform. The window is used for
        synthesis and for the ``sum(w**2)`` normalisation.
    length : int, optional
        Samples per channel of the result. None (default): the natural length
        ``(frames - 1) * hop + fft_size`` (minus the leading ``fft_size // 2`` of padding when
        centred). A smaller value trims the end, a larger one zero-pads it; pass the forward
        input's length to get its shape back. Without centring the samples after the last
        whole frame are not covered (they come back as zeros); with ``center=True`` the
        natural length is at least the forward input's, so every sample is reconstructed.
    out : numpy.ndarray, optional
        Destination of exactly the result's dtype and shape, C-contiguous; written in place
        and returned. Untouched when the call fails.
    copy : bool, optional
        Consent to convert ``spec``. False (default): it must be a C-contiguous ndarray of an
        accepted dtype, which is used in place and never copied (anything else raises
        TypeError/ValueError). True: other dtypes, layouts and array_likes are converted once
        (a conforming array is still not copied); see "Arrays" in ``help(tonecore)``.

    Returns
    -------
    numpy.ndarray
        float32 for complex64 input, float64 for complex128; shape ``(length,)`` or
        ``(channels, length)``. Equals the forward transform's input wherever the window's
        overlap-added square exceeds 1e-10; 0 elsewhere (the first and last few samples of an
        uncentred transform).

    Raises
    ------
    TypeError
        ``spec`` is not a complex64/complex128 ndarray; ``out`` has the wrong dtype.
    ValueError
        Wrong dimensions, layout or bin count; ``out`` of the wrong shape.
    tonecore.InvalidArgument
        Invalid sizes; non-finite values (status 5); a window that cannot be inverted at this
        hop (status 11, e.g. Hann with ``hop == fft_size``).
    """
    spec = input_array(spec, "spec", (C64, C128), (2, 3), copy)
    bins = spec.shape[-1]
    if fft_size is None:
        if bins < 2:
            raise ValueError(f"spec has {bins} bins per frame; at least 2 are needed")
        fft_size = 2 * (bins - 1)
    else:
        fft_size = size_arg(fft_size, "fft_size")
        if fft_size // 2 + 1 != bins:
            raise ValueError(
                f"spec has {bins} bins per frame but fft_size={fft_size} gives {fft_size // 2 + 1}"
            )
    real = REAL_OF[spec.dtype]
    if out is not None:
        out_array(out, real)
    with Stft(fft_size, hop, window, center, threads, dtype=real) as s:
        return s.inverse(spec, out=out, length=length)
