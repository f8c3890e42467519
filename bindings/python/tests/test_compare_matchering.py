"""benches/compare_matchering.py: its measurements pass their own checks, and its tonecore rows
run end to end (--quick --tools tonecore --json-only) and give a parseable JSON line.

No timing is asserted: the machine is shared. The quality bounds below are loose sanity checks of
the script's independent measurements of tonecore's output (a matcher that makes the tonal
balance worse, misses the reference's loudness by more than 1 LU or overshoots its -1 dBTP
ceiling is broken), not tonecore's targets. Matchering is not run here.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

import tonecore

PAIRS = {"dark_to_bright", "bright_to_bassy", "same_music_eq"}
CONFIGS = {"44.1k-stereo": (44100, 2), "48k-stereo": (48000, 2), "96k-stereo": (96000, 2),
           "48k-5.1": (48000, 6)}


def _script(repo):
    script = repo / "benches" / "compare_matchering.py"
    if not script.is_file():
        pytest.skip("not run from a repository checkout")
    return script


def test_compare_matchering_self_test(repo):
    """The residual, clamp, true-peak and loudness functions on cases with known answers (a
    signal against itself is 0 dB; white noise through a 6 dB shelf gives the shelf's shape)."""
    r = subprocess.run([sys.executable, str(_script(repo)), "--self-test", "--quick"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}"
    assert "0 failed" in r.stdout, r.stdout


@pytest.mark.skipif(not (hasattr(tonecore, "match") and hasattr(tonecore, "profile")),
                    reason="tonecore.match / tonecore.profile not in this build")
def test_compare_matchering_quick_tonecore(repo):
    r = subprocess.run([sys.executable, str(_script(repo)), "--quick", "--tools", "tonecore",
                        "--json-only"], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}"
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1, f"--json-only printed more than the JSON line:\n{r.stdout}"
    doc = json.loads(lines[0])
    assert doc["settings"]["seconds"] == 10.0 and doc["settings"]["repeat"] == 1
    assert doc["settings"]["tools"] == ["tonecore"]
    assert doc["environment"]["tonecore_match"] is True
    assert len(doc["band_centres_hz"]) == 61
    rows = doc["rows"]
    assert {(row["pair"], row["config"]) for row in rows} == {
        (p, c) for p in PAIRS for c in CONFIGS}
    for row in rows:
        what = f"{row['pair']} {row['config']}"
        assert row["tool"] == "tonecore", what
        assert row["status"] == "ok", f"{what}: {row.get('why')}"
        rate, channels = CONFIGS[row["config"]]
        assert (row["sample_rate"], row["channels"]) == (rate, channels), what
        assert (row["output_rate"], row["output_channels"]) == (rate, channels), what
        assert row["output_frames"] == round(10.0 * rate), what
        for key in ("residual_before_db", "residual_after_db", "residual_before_clamp_db",
                    "residual_after_clamp_db", "out_lufs", "ref_lufs", "loudness_error_lu",
                    "true_peak_dbtp", "wall_s", "profile_s", "match_s"):
            assert isinstance(row[key], (int, float)) and math.isfinite(row[key]), (what, key)
        assert row["bands_compared"] >= 50 and row["bands_inside_clamp"] >= 30, what
        assert isinstance(row["report"], dict), what
        # independent measurements of the output: sanity bounds, not targets
        assert row["residual_after_clamp_db"] < row["residual_before_clamp_db"], (
            what, row["residual_before_clamp_db"], row["residual_after_clamp_db"])
        assert abs(row["loudness_error_lu"]) <= 1.0, (what, row["loudness_error_lu"])
        assert row["true_peak_dbtp"] <= -0.8, (what, row["true_peak_dbtp"])
