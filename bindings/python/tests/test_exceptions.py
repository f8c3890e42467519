"""The exception hierarchy and the status -> class mapping, including the engine's state
statuses 103-107 (BUSY, STALE_ID, ALREADY_RUNNING, TIMEOUT, NOT_FINISHED)."""

from __future__ import annotations

import pickle

import pytest

import tonecore
from tonecore import _native
from tonecore._errors import error_for_status

# (status, class, extra standard bases) from the documented table, written out independently.
TABLE = [
    (100, "ConcurrentUse", (RuntimeError,)),
    (101, "Poisoned", (RuntimeError,)),
    (102, "Cancelled", ()),
    (103, "Busy", (RuntimeError,)),
    (104, "StaleHandle", (LookupError,)),
    (105, "AlreadyRunning", (RuntimeError,)),
    (106, "Timeout", (TimeoutError,)),
    (107, "NotFinished", (RuntimeError,)),
    (200, "Panic", (RuntimeError,)),
    (201, "OutOfMemory", (MemoryError,)),
]


@pytest.mark.parametrize("status, name, bases", TABLE)
def test_state_and_internal_statuses_map_to_their_class(status, name, bases):
    cls = getattr(tonecore, name)
    assert error_for_status(status) is cls
    assert issubclass(cls, tonecore.Error)
    for base in bases:
        assert issubclass(cls, base), (name, base)
    assert cls.__module__ == "tonecore"
    assert name in tonecore.__all__


@pytest.mark.parametrize("status", [1, 2, 5, 21, 50, 99])
def test_argument_range_is_invalid_argument(status):
    assert error_for_status(status) is tonecore.InvalidArgument
    assert issubclass(tonecore.InvalidArgument, ValueError)


# Argument statuses with a class of their own: subclasses of InvalidArgument (so an
# ``except ValueError`` still catches them).
PROFILE_TABLE = [(22, "ProfileError", "InvalidArgument"),
                 (23, "ProfileVersionError", "ProfileError")]


@pytest.mark.parametrize("status, name, parent", PROFILE_TABLE)
def test_profile_statuses_map_to_invalid_argument_subclasses(status, name, parent):
    cls = getattr(tonecore, name)
    assert error_for_status(status) is cls
    assert cls.__bases__ == (getattr(tonecore, parent),)
    assert issubclass(cls, tonecore.InvalidArgument) and issubclass(cls, ValueError)
    assert cls.__module__ == "tonecore" and name in tonecore.__all__
    e = pickle.loads(pickle.dumps(cls("bad profile", status, "detail")))
    assert (type(e), e.status, e.detail) == (cls, status, "detail")


@pytest.mark.parametrize("status", [108, 150, 199, 202, 299, 300, 12345, -1])
def test_unmapped_statuses_are_plain_error(status):
    assert error_for_status(status) is tonecore.Error


def test_timeout_is_caught_as_builtin_timeout_error():
    with pytest.raises(TimeoutError):
        _native.raise_for_status(106, "tonecore_fake_wait")


def test_stale_handle_is_a_lookup_error_with_status_and_detail():
    with pytest.raises(LookupError) as info:
        _native.raise_for_status(104, "tonecore_fake_close")
    e = info.value
    assert type(e) is tonecore.StaleHandle
    assert e.status == 104
    assert e.detail  # the static description when the library set no message
    assert "status 104" in str(e) and "tonecore_fake_close" in str(e)


@pytest.mark.parametrize("status, name, _bases", TABLE)
def test_raise_for_status_uses_the_mapping(status, name, _bases):
    with pytest.raises(getattr(tonecore, name)) as info:
        _native.raise_for_status(status, "tonecore_fake")
    assert info.value.status == status


def test_already_running_carries_the_existing_id_and_pickles():
    e = tonecore.AlreadyRunning("job running", 105, "a job with key 'x' is running",
                                existing_id=42)
    assert e.existing_id == 42 and e.status == 105
    e2 = pickle.loads(pickle.dumps(e))
    assert (type(e2), e2.existing_id, e2.status, e2.detail, str(e2)) == (
        tonecore.AlreadyRunning, 42, 105, e.detail, str(e))
    assert tonecore.AlreadyRunning("m", 105).existing_id is None


@pytest.mark.parametrize("status, name, _bases", TABLE)
def test_every_class_pickles_with_status_and_detail(status, name, _bases):
    cls = getattr(tonecore, name)
    e = cls(f"boom {status}", status, "detail text")
    e2 = pickle.loads(pickle.dumps(e))
    assert (type(e2), e2.status, e2.detail, str(e2)) == (cls, status, "detail text", str(e))


def test_closed_error_has_no_status():
    s = tonecore.Stft(64)
    s.close()
    with pytest.raises(tonecore.ClosedError) as info:
        s.frame_count(100)
    assert info.value.status is None and info.value.detail
    assert isinstance(info.value, ValueError)


def test_mapping_matches_the_header_enum(repo):
    import re

    header = (repo / "include" / "tonecore.h").read_text()
    enum = {name: int(value) for name, value in
            re.findall(r"TONECORE_STATUS_(\w+) = (\d+),", header)}
    expected = {
        "CONCURRENT_USE": "ConcurrentUse", "POISONED": "Poisoned", "CANCELLED": "Cancelled",
        "BUSY": "Busy", "STALE_ID": "StaleHandle", "ALREADY_RUNNING": "AlreadyRunning",
        "TIMEOUT": "Timeout", "NOT_FINISHED": "NotFinished", "PANIC": "Panic",
        "OUT_OF_MEMORY": "OutOfMemory", "INVALID_PROFILE": "ProfileError",
        "PROFILE_VERSION": "ProfileVersionError",
    }
    for name, cls in expected.items():
        assert name in enum, f"TONECORE_STATUS_{name} is not in the header"
        assert error_for_status(enum[name]) is getattr(tonecore, cls), name
    for name, value in enum.items():
        if 1 <= value <= 99 and name not in expected:
            assert error_for_status(value) is tonecore.InvalidArgument, name
