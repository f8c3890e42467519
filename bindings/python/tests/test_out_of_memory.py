"""A track larger than the machine can copy: the entry points that copy a caller's track
(Engine.open_stream, Engine.submit_render, PlaybackStream) raise tonecore.OutOfMemory (also a
MemoryError) before reading it, and the engine keeps working. The track is 2**40 bytes of
address space that is reserved but never touched (every page reads as zero)."""

from __future__ import annotations

import mmap
import sys

import numpy as np
import pytest

import tonecore

MAP_NORESERVE = 0x4000  # Linux; not exported by the mmap module


def _overcommit_mode() -> int:
    try:
        with open("/proc/sys/vm/overcommit_memory") as f:
            return int(f.read())
    except (OSError, ValueError):
        return -1


@pytest.fixture
def huge_track():
    if not sys.platform.startswith("linux") or sys.maxsize < 2**62:
        pytest.skip("needs 64-bit Linux")
    if _overcommit_mode() == 1:
        pytest.skip("overcommit mode 1 would grant the copy and exhaust the machine")
    try:
        m = mmap.mmap(-1, 1 << 40, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_NORESERVE,
                      prot=mmap.PROT_READ)
    except OSError:
        pytest.skip("could not reserve 2**40 bytes of address space")
    # The mapping is released when the last array over it is collected.
    return np.frombuffer(m, dtype=np.float32).reshape(2, -1)


def test_a_track_too_large_to_copy_raises_out_of_memory(huge_track):
    small = np.zeros((2, 4410), np.float32)
    with tonecore.Engine(max_streams=1) as engine:
        with pytest.raises(tonecore.OutOfMemory) as info:
            engine.open_stream(1, huge_track, 44100, content_id=7)
        assert info.value.status == 201 and isinstance(info.value, MemoryError)
        assert "memory" in str(info.value)
        assert engine.stream_for_key(1) is None
        with pytest.raises(MemoryError):
            engine.submit_render(huge_track, 44100, content_id=7)
        # Nothing was opened or held: the one slot and the job pool still take real work.
        stream = engine.open_stream(1, small, 44100)
        assert not stream.read(441).any()
        job = engine.submit_render(small, 44100)
        assert np.array_equal(job.result(timeout=30), small)
    with pytest.raises(tonecore.OutOfMemory):
        tonecore.PlaybackStream(huge_track, 44100)
