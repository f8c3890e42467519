"""Exception types of the tonecore binding.

Every failing native call raises an :class:`Error` (or a subclass chosen by the status range)
carrying the ``tonecore_status`` number and the library's detail message.
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "Error",
    "InvalidArgument",
    "ConcurrentUse",
    "Poisoned",
    "Panic",
    "ClosedError",
    "Cancelled",
    "error_for_status",
]


class Error(Exception):
    """A failure reported by the tonecore library (or detected by the binding).

    Attributes
    ----------
    status : int or None
        The ``tonecore_status`` number of the failed call (for example 5 for
        ``TONECORE_STATUS_NON_FINITE``), or ``None`` when the binding itself refused the call
        before reaching the library (for example on a closed object).
    detail : str
        The detail message: ``tonecore_last_error_message()`` read right after the failed call
        on the same thread, or the static status description when the library gave none.
    """

    status: Optional[int]
    detail: str

    def __init__(self, message: str, status: Optional[int] = None, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (str(self), self.status, self.detail))


class InvalidArgument(Error, ValueError):
    """An argument error (status range 1–99): bad size, hop, length, non-finite samples, …"""


class ConcurrentUse(Error, RuntimeError):
    """A single-threaded object was used from two threads at once (status 100).

    The refused call did nothing: its output buffer is untouched.
    """


class Poisoned(Error, RuntimeError):
    """An earlier call on this object panicked; it refuses further work (status 101)."""


class Panic(Error, RuntimeError):
    """A panic was caught inside the library (status 200); the object involved is poisoned."""


class ClosedError(Error, ValueError):
    """The object was closed; create a new one. ``status`` is ``None``."""


class Cancelled(Error):
    """The work was cancelled before it finished (status 102, ``CANCELLED``).

    Raised by :func:`tonecore.render_chunked` when its ``progress`` callback returned a truthy
    value; the output buffer is then incomplete.
    """


for _cls in (Error, InvalidArgument, ConcurrentUse, Poisoned, Panic, ClosedError, Cancelled):
    _cls.__module__ = "tonecore"
del _cls


def error_for_status(status: int) -> type:
    """The exception class that represents a non-zero ``tonecore_status`` number.

    Parameters
    ----------
    status : int
        A ``tonecore_status`` value other than 0.

    Returns
    -------
    type
        :class:`InvalidArgument` for 1–99, :class:`ConcurrentUse` for 100, :class:`Poisoned`
        for 101, :class:`Cancelled` for 102, :class:`Panic` for 200, :class:`Error` otherwise.
    """
    if 1 <= status <= 99:
        return InvalidArgument
    if status == 100:
        return ConcurrentUse
    if status == 101:
        return Poisoned
    if status == 102:
        return Cancelled
    if status == 200:
        return Panic
    return Error
