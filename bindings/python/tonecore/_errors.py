"""Exception types of the tonecore binding.

Every failing native call raises an :class:`Error` (or the subclass its status maps to, see
:func:`error_for_status`) carrying the ``tonecore_status`` number and the library's detail
message. The hierarchy::

    tonecore.Error                                   any failure; .status, .detail
    ├── InvalidArgument(Error, ValueError)           1–99   bad argument (sizes, NaN, ranges, …)
    │   └── ProfileError                             22     not a valid profile document
    │       └── ProfileVersionError                  23     a profile document of a newer version
    ├── ConcurrentUse(Error, RuntimeError)           100    object in use on another thread
    ├── Poisoned(Error, RuntimeError)                101    an earlier call on it panicked
    ├── Cancelled(Error)                             102    a progress callback cancelled
    ├── Busy(Error, RuntimeError)                    103    engine at its stream limit
    ├── StaleHandle(Error, LookupError)              104    id of a closed/unknown stream, job, token
    ├── AlreadyRunning(Error, RuntimeError)          105    a job with that key is running
    ├── Timeout(Error, TimeoutError)                 106    a wait or open timed out
    ├── NotFinished(Error, RuntimeError)             107    result asked of an unfinished job
    ├── Panic(Error, RuntimeError)                   200    panic caught inside the library
    ├── OutOfMemory(Error, MemoryError)              201    a track-sized buffer could not be reserved
    └── ClosedError(Error, ValueError)               None   the Python object was closed

Statuses in 100–199 (state errors) or 200–299 (internal errors) that have no class of their
own raise a plain :class:`Error`.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Type

__all__ = [
    "AlreadyRunning",
    "Busy",
    "Cancelled",
    "ClosedError",
    "ConcurrentUse",
    "Error",
    "InvalidArgument",
    "NotFinished",
    "OutOfMemory",
    "Panic",
    "Poisoned",
    "ProfileError",
    "ProfileVersionError",
    "StaleHandle",
    "Timeout",
    "error_for_status",
]

# tonecore_status numbers of the state and internal ranges that have their own class
# (the header's enum tonecore_status; argument errors 1–99 all map to InvalidArgument).
STATUS_INVALID_PROFILE = 22
STATUS_PROFILE_VERSION = 23
STATUS_CONCURRENT_USE = 100
STATUS_POISONED = 101
STATUS_CANCELLED = 102
STATUS_BUSY = 103
STATUS_STALE_ID = 104
STATUS_ALREADY_RUNNING = 105
STATUS_TIMEOUT = 106
STATUS_NOT_FINISHED = 107
STATUS_PANIC = 200
STATUS_OUT_OF_MEMORY = 201


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

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (str(self), self.status, self.detail))


class InvalidArgument(Error, ValueError):
    """An argument error (status range 1–99): bad size, hop, length, non-finite samples, …

    The call changed nothing (an ``out=`` buffer is untouched).
    """


class ProfileError(InvalidArgument):
    """A profile document that cannot be read (status 22, ``INVALID_PROFILE``): malformed JSON,
    not UTF-8, another format or grid, values out of range, or over 1 MiB; ``detail`` says
    which. Raised by :meth:`tonecore.Profile.from_json` (and unpickling such a document)."""


class ProfileVersionError(ProfileError):
    """A profile document of a newer version than this library reads (status 23,
    ``PROFILE_VERSION``); the message names both versions. Read it with a newer tonecore."""


class ConcurrentUse(Error, RuntimeError):
    """A single-threaded object was used from two threads at once (status 100).

    The refused call did nothing: its output buffer is untouched.
    """


class Poisoned(Error, RuntimeError):
    """An earlier call on this object panicked; it refuses further work (status 101)."""


class Cancelled(Error):
    """The work was cancelled before it finished (status 102, ``CANCELLED``).

    Raised by :func:`tonecore.render_chunked` when its ``progress`` callback returned a truthy
    value (the output buffer is then incomplete) and by :func:`tonecore.process_file` (no
    output file is left behind).
    """


class Busy(Error, RuntimeError):
    """The engine is at its limit of open streams (status 103, ``BUSY``); close one first."""


class StaleHandle(Error, LookupError):
    """An id that names no live object (status 104, ``STALE_ID``): a stream, job or token that
    was closed or replaced, never existed, or belongs to another engine."""


class AlreadyRunning(Error, RuntimeError):
    """A job with the same key is already running (status 105, ``ALREADY_RUNNING``).

    Attributes
    ----------
    existing_id : int or None
        The id of the job that is running (the library returns it with this status), or None
        when it was not reported.
    """

    existing_id: Optional[int]

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        detail: str = "",
        existing_id: Optional[int] = None,
    ) -> None:
        super().__init__(message, status, detail)
        self.existing_id = existing_id

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (str(self), self.status, self.detail, self.existing_id))


class Timeout(Error, TimeoutError):
    """A wait or an open did not complete in the given time (status 106, ``TIMEOUT``)."""


class NotFinished(Error, RuntimeError):
    """The result of a job that has not finished was asked for (status 107,
    ``NOT_FINISHED``); wait for it first."""


class Panic(Error, RuntimeError):
    """A panic was caught inside the library (status 200); the object involved is poisoned."""


class OutOfMemory(Error, MemoryError):
    """A buffer sized by the caller's data (a track's copy, a render's output, the limiter's
    envelope) could not be reserved (status 201, ``OUT_OF_MEMORY``); nothing was done."""


class ClosedError(Error, ValueError):
    """The object was closed; create a new one. ``status`` is ``None``."""


_BY_STATUS: Dict[int, Type[Error]] = {
    STATUS_INVALID_PROFILE: ProfileError,
    STATUS_PROFILE_VERSION: ProfileVersionError,
    STATUS_CONCURRENT_USE: ConcurrentUse,
    STATUS_POISONED: Poisoned,
    STATUS_CANCELLED: Cancelled,
    STATUS_BUSY: Busy,
    STATUS_STALE_ID: StaleHandle,
    STATUS_ALREADY_RUNNING: AlreadyRunning,
    STATUS_TIMEOUT: Timeout,
    STATUS_NOT_FINISHED: NotFinished,
    STATUS_PANIC: Panic,
    STATUS_OUT_OF_MEMORY: OutOfMemory,
}

for _cls in (Error, InvalidArgument, ClosedError, *_BY_STATUS.values()):
    _cls.__module__ = "tonecore"
del _cls


def error_for_status(status: int) -> Type[Error]:
    """The exception class that represents a non-zero ``tonecore_status`` number.

    Parameters
    ----------
    status : int
        A ``tonecore_status`` value other than 0.

    Returns
    -------
    type
        :class:`ProfileError` for 22, :class:`ProfileVersionError` for 23,
        :class:`InvalidArgument` for the rest of 1–99; :class:`ConcurrentUse` for 100, :class:`Poisoned`
        101, :class:`Cancelled` 102, :class:`Busy` 103, :class:`StaleHandle` 104,
        :class:`AlreadyRunning` 105, :class:`Timeout` 106, :class:`NotFinished` 107,
        :class:`Panic` 200, :class:`OutOfMemory` 201; :class:`Error` for every other number.
    """
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls
    return InvalidArgument if 1 <= status <= 99 else Error
