"""The installed package's type hints serve a user's strict mypy run: dtypes flow through
(float32 in, float32 out), misuse is reported."""

from __future__ import annotations

import textwrap

import pytest

pytestmark = pytest.mark.slow

GOOD = textwrap.dedent(
    """
    import numpy as np
    import numpy.typing as npt
    import tonecore

    x32: npt.NDArray[np.float32] = np.zeros((2, 44100), np.float32)
    y32: npt.NDArray[np.float32] = tonecore.equalize(x32, 44100, [0.0] * 25)
    z32: npt.NDArray[np.float32] = tonecore.render_chunked(x32, 44100, None)
    with tonecore.Pipeline(44100, 2) as p:
        b: npt.NDArray[np.float32] = p.process(np.ascontiguousarray(x32[:, :256]))
    spec = tonecore.stft(x32)
    back = tonecore.istft(spec)
    lufs: float = tonecore.integrated_loudness(x32, 44100)
    r: tonecore.FileResult = tonecore.process_file("a.wav", "b.wav", progress=True)
    e: tonecore.Error = tonecore.StaleHandle("gone", 104, "detail")
    status: int | None = e.status
    ref: tonecore.Profile = tonecore.profile(x32, 44100)
    m32, report = tonecore.match(x32, 44100, ref, strength=0.5, progress=lambda d, t: False)
    matched: npt.NDArray[np.float32] = m32
    outcome: str = report["outcome"]
    ref_lufs: float | None = ref.integrated_lufs
    spectrum: npt.NDArray[np.float64] = ref.spectrum_db
    again: tonecore.Profile = tonecore.Profile.from_json(ref.to_json())
    cfg: tonecore.PipelineConfig = tonecore.match_config(x32, ref, 44100)
    pe: tonecore.InvalidArgument = tonecore.ProfileVersionError("newer", 23, "detail")
    live_cfg: tonecore.PipelineConfig = tonecore.live_match_config(ref, 48000)
    with tonecore.Pipeline(48000, 2, live_cfg, max_block=256) as lp:
        lp.live_match(ref, max_slew_db_per_s=2.0, warmup_s=1.0)
        lp.live_match(x32, strength=0.5, target_lufs=None, reference_rate=44100)
        state = lp.params.update_match()
        active: bool = state["active"]
        gains: npt.NDArray[np.float64] = state["gains_db"]
    """
)

BAD = textwrap.dedent(
    """
    import numpy as np
    import tonecore

    x = np.zeros(10, np.float64)
    y: str = tonecore.equalize(x, 44100, [0.0] * 25)
    tonecore.process_file("a.wav", "b.wav", progress="yes")
    tonecore.stft(x, fft_size="big")
    tonecore.match(x, 44100, "reference.wav")
    tonecore.Pipeline(48000, 2).live_match(tonecore.profile(x, 44100), warmup_s="3")
    """
)


def run_mypy(tmp_path, code):
    api = pytest.importorskip("mypy.api")
    path = tmp_path / "user.py"
    path.write_text(code)
    stdout, stderr, status = api.run(["--strict", "--no-incremental", "--cache-dir",
                                      str(tmp_path / "cache"), str(path)])
    return stdout + stderr, status


def test_user_code_type_checks(tmp_path):
    out, status = run_mypy(tmp_path, GOOD)
    assert status == 0, out


def test_misuse_is_reported(tmp_path):
    out, status = run_mypy(tmp_path, BAD)
    assert status == 1
    assert 'user.py:6: error: Incompatible types in assignment' in out
    assert 'user.py:7: error: Argument "progress"' in out
    assert 'user.py:8: error: Argument "fft_size"' in out
    assert 'user.py:9: error: Argument 3 to "match"' in out
    assert 'user.py:10: error: Argument "warmup_s" to "live_match"' in out
