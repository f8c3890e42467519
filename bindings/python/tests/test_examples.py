"""The example scripts in bindings/python/examples/ run and print what they promise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import soundfile as sf

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name, *args, timeout=180, cwd=None):
    r = subprocess.run([sys.executable, str(EXAMPLES / name), *map(str, args)],
                       capture_output=True, text=True, timeout=timeout, cwd=cwd)
    assert r.returncode == 0, f"--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}"
    return r.stdout


def test_process_file_demo():
    out = run_example("process_file.py")
    assert re.search(r"wrote .*demo-mastered\.flac \(FLAC PCM_24\)", out)
    before, after = map(float, re.search(r"loudness: (-?[\d.]+) LUFS -> (-?[\d.]+) LUFS",
                                         out).groups())
    assert before < -20 and -16.5 < after < -13.0  # levelled towards -14


def test_process_file_with_paths(tmp_path):
    x = np.random.default_rng(0).uniform(-0.1, 0.1, (44100, 2))
    sf.write(str(tmp_path / "a.wav"), x, 44100)
    out = run_example("process_file.py", tmp_path / "a.wav", tmp_path / "b.flac",
                      "--progress")
    assert "wrote" in out and (tmp_path / "b.flac").is_file()
    r = subprocess.run([sys.executable, str(EXAMPLES / "process_file.py"),
                        tmp_path / "missing.wav", tmp_path / "c.wav"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and "input file not found" in r.stderr


def test_stream():
    out = run_example("stream.py", "--seconds", "2")
    assert re.search(r"playback: \d+ frames read, \d+ of them silence .*1 seek", out)
    # The low-latency mode at 256-frame blocks and 44.1 kHz: 256 + 66 (1.5 ms) + 32 frames.
    assert re.search(r"live: \d+ frames through EQ -> level -> limiter, latency 354 frames "
                     r"\(8\.0 ms, low-latency mode\)", out)


def test_stream_live_match(tmp_path):
    # A reference file at another rate: noise tilted -2 dB/octave around 1 kHz (the example's
    # live input is white noise, so its balance starts about 3.5 dB RMS away over 100 Hz-10 kHz).
    sr, frames = 44100, 6 * 44100
    spec = np.fft.rfft(np.random.default_rng(3).uniform(-1, 1, (2, frames)), axis=1)
    f = np.maximum(np.fft.rfftfreq(frames, 1 / sr), 1.0)
    x = np.fft.irfft(spec * 10 ** (-2.0 * np.log2(f / 1000) / 20), frames, axis=1)
    sf.write(str(tmp_path / "ref.wav"), (0.1 * x / np.sqrt(np.mean(x * x))).T, sr)
    out = run_example("stream.py", "--seconds", "5", "--match", tmp_path / "ref.wav")
    assert re.search(r"playback: \d+ frames read, .*1 seek", out)
    assert re.search(r"warming up, EQ\s+\+0\.0 \.\.\s+\+0\.0 dB", out)  # flat until warm
    m = re.search(r"live match: \d+ frames, (\d+) updates, active, outcome matched; balance off "
                  r"the reference by ([\d.]+) dB RMS at the input, ([\d.]+) dB at the output", out)
    assert m, out
    updates, before, after = int(m.group(1)), float(m.group(2)), float(m.group(3))
    assert updates >= 5 and before > 2.5 and after < 1.0, out


def test_stream_live_match_missing_reference(tmp_path):
    r = subprocess.run([sys.executable, str(EXAMPLES / "stream.py"), "--match",
                        tmp_path / "missing.wav"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "reference file not found" in r.stderr
    assert "playback:" not in r.stdout  # refused before anything runs


def test_batch_local(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        sf.write(str(src / f"t{i}.wav"), np.zeros((4410, 2)), 44100)
    (src / "bad.flac").write_text("nope")
    r = subprocess.run([sys.executable, str(EXAMPLES / "batch.py"), src,
                        tmp_path / "out", "--workers", "2"], capture_output=True, text=True,
                       timeout=180)
    assert r.returncode == 1, r.stderr  # one file failed
    assert "3 done, 1 failed" in r.stdout and "FAILED bad.flac: ValueError" in r.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["t0.wav", "t1.wav", "t2.wav"]


@pytest.mark.slow
def test_batch_dask_demo():
    pytest.importorskip("distributed")
    out = run_example("batch.py", "--dask")
    assert "8 done, 0 failed" in out


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def printed_peaks(out):
    """The (Hz, dBFS) lines under "strongest peaks:"."""
    return [(float(f), float(db)) for f, db in
            re.findall(r"^\s+(-?[\d.]+) Hz\s+(-?[\d.]+) dBFS$", out, re.MULTILINE)]


def check_png(path):
    assert path.is_file() and path.read_bytes()[:8] == PNG_SIGNATURE
    img = matplotlib.image.imread(str(path))
    assert img.shape[:2] == (800, 1200), img.shape  # rows x columns: 1200 x 800 px
    assert float(img[..., :3].std()) > 0.05  # something was drawn, not a blank canvas


def test_spectrum_demo(tmp_path):
    # The tones the built-in signal is made of (restated here, not imported from the example):
    # Hz, amplitude in dBFS, and the fraction of the 10 s for which the tone sounds.
    tones = [(110.0, -12.0, 1.0), (440.0, -18.0, 1.0), (1234.5, -20.0, 1.0),
             (3150.0, -24.0, 1.0), (6300.0, -27.0, 0.5)]
    out = run_example("spectrum.py", cwd=tmp_path, timeout=60)
    check_png(tmp_path / "demo-spectrum.png")
    assert f"wrote {tmp_path / 'demo-spectrum.png'} (1200 x 800 px)" in out
    peaks = sorted(printed_peaks(out))
    assert len(peaks) == 5, out
    bin_hz = 44100 / 4096
    for (f, db), (f_ref, a_ref, on) in zip(peaks, tones):
        assert abs(f - f_ref) <= bin_hz, (f, f_ref)
        # a tone sounding for a fraction `on` of the frames averages to a_ref + 10*log10(on)
        assert abs(db - (a_ref + 10 * np.log10(on))) < 0.6, (f_ref, db)
    # the 110 Hz tone (in band 1, 100-200 Hz) is the loudest critical band
    assert "loudest critical band: 1 " in out


def test_spectrum_file(tmp_path):
    sr = 48000
    t = np.arange(3 * sr) / sr
    x = 0.5 * np.sin(2 * np.pi * 523.0 * t) + 0.1 * np.sin(2 * np.pi * 2960.0 * t)
    x += np.random.default_rng(5).normal(0, 1e-3, t.size)
    sf.write(str(tmp_path / "tone.wav"), x, sr, subtype="PCM_24")  # mono
    png = tmp_path / "plots" / "tone.png"
    png.parent.mkdir()
    out = run_example("spectrum.py", tmp_path / "tone.wav", "--png", png, "--fft-size", "2048",
                      "--hop", "512", "--peaks", "2", timeout=60)
    check_png(png)
    assert "tone: 1 ch, 48000 Hz, 3.0 s" in out
    peaks = printed_peaks(out)
    assert [round(f / (sr / 2048)) for f, _ in peaks] == [round(523.0 / (sr / 2048)),
                                                          round(2960.0 / (sr / 2048))], out
    for (f, db), (f_ref, db_ref) in zip(peaks, [(523.0, 20 * np.log10(0.5)),
                                                (2960.0, 20 * np.log10(0.1))]):
        assert abs(f - f_ref) <= sr / 2048 and abs(db - db_ref) < 0.6, (f, db)


def test_spectrum_bad_input(tmp_path):
    def fails(*args):
        r = subprocess.run([sys.executable, str(EXAMPLES / "spectrum.py"), *map(str, args)],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert r.returncode == 1, r.stdout + r.stderr
        return r.stderr

    assert "input file not found" in fails(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_text("not audio")
    assert "cannot read" in fails(tmp_path / "junk.wav")
    sf.write(str(tmp_path / "short.wav"), np.zeros(1000), 44100)
    assert "shorter than one FFT frame" in fails(tmp_path / "short.wav")
    assert "fft_size must be even" in fails("--fft-size", "4095")
    assert not list(tmp_path.glob("*.png"))  # nothing written on failure
