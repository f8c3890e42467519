"""benches/compare_python.py runs end to end (--quick) and prints every row or why it skipped it.

No timing is asserted: the machine is shared, and the numbers belong in the README, not in a
test. The script itself fails (exit status 1) when tonecore's STFT frames differ from scipy's or
its integrated loudness from pyloudnorm's by 0.1 LU or more.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

ROWS = ["stft 2048/512", "stft 4096/1024", "sosfilt 25-band cascade", "stft EQ",
        "pedalboard 25 PeakFilter", "limiter", "integrated loudness", "full loudness"]
NUMBER = r"\d+\.\d+"


def test_compare_python_quick(repo):
    script = repo / "benches" / "compare_python.py"
    if not script.is_file():
        pytest.skip("not run from a repository checkout")
    r = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, f"--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}"
    out = r.stdout
    for key in ROWS:
        line = re.search(rf"^{re.escape(key)}: (.*)$", out, re.MULTILINE)
        assert line, f"row {key!r} missing:\n{out}"
        text = line.group(1)
        measured = re.search(rf" {NUMBER} s; tonecore .* {NUMBER} s on 1 thread \({NUMBER}×\)",
                             text)
        assert measured or text.startswith("skipped: "), text
        # and the same row in the closing markdown table
        assert re.search(rf"^\| {re.escape(key)} \| ", out, re.MULTILINE), key
    call = re.search(r"^pipeline call: Python (\S+) µs/call(.*)$", out, re.MULTILINE)
    assert call, out
    assert re.search(rf", native {NUMBER} µs/call, overhead -?{NUMBER} µs/call", call.group(2)) \
        or "native skipped: " in call.group(2), call.group(0)
    if "pyloudnorm missing" not in out:
        assert re.search(rf"integrated loudness values: pyloudnorm -?{NUMBER} LUFS", out)
