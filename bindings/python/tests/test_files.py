"""tonecore.process_file: WAV/FLAC round trips through soundfile (samples compared as integers
or against a numpy gain), subtypes, progress (callable and tqdm), cancellation, Ctrl-C (in
process and a real SIGINT to a child process) leaving no file behind, and path errors."""

from __future__ import annotations

import _thread
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import tonecore

SR = 44100


def write_noise(path: Path, seconds: float = 3.0, channels: int = 2, subtype: str = "PCM_16",
                seed: int = 0, amplitude: float = 0.25) -> np.ndarray:
    """Write noise, return what the file holds as float64 (frames, channels)."""
    x = np.random.default_rng(seed).uniform(-amplitude, amplitude,
                                             (int(seconds * SR), channels))
    sf.write(str(path), x, SR, subtype=subtype)
    return sf.read(str(path), dtype="float64", always_2d=True)[0]


def leftovers(directory: Path) -> list:
    return sorted(p.name for p in directory.iterdir() if tonecore._files.PARTIAL_SUFFIX in p.name)


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ext, subtype, int_dtype",
    [
        ("wav", "PCM_16", "int16"),
        ("wav", "PCM_24", "int32"),
        ("wav", "PCM_32", "int32"),
        ("flac", "PCM_16", "int16"),
        ("flac", "PCM_24", "int32"),
    ],
)
def test_identity_round_trip_is_bit_exact_and_keeps_the_subtype(tmp_path, ext, subtype,
                                                                int_dtype):
    # A disabled pipeline gives the samples back: integers compared exactly (24/32-bit input
    # is processed in float64 by default, 16-bit in float32).
    src, dst = tmp_path / f"in.{ext}", tmp_path / f"out.{ext}"
    write_noise(src, subtype=subtype, amplitude=0.99)
    r = tonecore.process_file(src, dst, None, chunk_seconds=0.5)
    info = sf.info(str(dst))
    assert (info.samplerate, info.channels, info.subtype) == (SR, 2, subtype)
    assert (r.subtype, r.input_subtype, r.format) == (subtype, subtype, ext.upper())
    assert (r.frames, r.channels, r.sample_rate) == (3 * SR, 2, SR)
    assert r.duration == pytest.approx(3.0) and r.clipped_samples == 0
    a = sf.read(str(src), dtype=int_dtype)[0].astype(np.int64)
    b = sf.read(str(dst), dtype=int_dtype)[0].astype(np.int64)
    assert a.shape == b.shape
    assert np.array_equal(a, b)
    assert leftovers(tmp_path) == []


def test_float32_processing_of_24_bit_input_is_close(tmp_path):
    src, dst = tmp_path / "in.flac", tmp_path / "out.flac"
    write_noise(src, subtype="PCM_24", amplitude=0.99)
    tonecore.process_file(src, dst, dtype=np.float32, chunk_seconds=0.5)
    a = sf.read(str(src), dtype="int32")[0].astype(np.int64) >> 8
    b = sf.read(str(dst), dtype="int32")[0].astype(np.int64) >> 8
    assert 0 < np.max(np.abs(a - b)) <= 16  # float32 FFT noise: a few 24-bit steps


def test_float_wav_round_trip_is_exact_within_float32(tmp_path):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    x = write_noise(src, subtype="FLOAT", channels=3, seconds=2.0)
    r = tonecore.process_file(str(src), str(dst), chunk_seconds=0.5)
    y, sr = sf.read(str(dst), dtype="float64", always_2d=True)
    assert sr == SR and r.subtype == "FLOAT"
    np.testing.assert_allclose(y, x, rtol=0, atol=1e-6)


def test_mono_file(tmp_path):
    src, dst = tmp_path / "mono.wav", tmp_path / "mono.flac"
    x = write_noise(src, channels=1)
    r = tonecore.process_file(src, dst, chunk_seconds=0.5)
    y = sf.read(str(dst), dtype="float64", always_2d=True)[0]
    assert r.channels == 1 and y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=1.0 / 32768)


def test_float_to_flac_becomes_pcm24_and_explicit_subtype_wins(tmp_path):
    src = tmp_path / "in.wav"
    write_noise(src, subtype="FLOAT")
    r = tonecore.process_file(src, tmp_path / "a.flac")
    assert r.subtype == "PCM_24" and sf.info(str(tmp_path / "a.flac")).subtype == "PCM_24"
    r = tonecore.process_file(src, tmp_path / "b.wav", subtype="PCM_16")
    assert sf.info(str(tmp_path / "b.wav")).subtype == "PCM_16" and r.subtype == "PCM_16"
    with pytest.raises(ValueError, match="cannot store subtype"):
        tonecore.process_file(src, tmp_path / "c.flac", subtype="FLOAT")
    assert not (tmp_path / "c.flac").exists() and leftovers(tmp_path) == []


def test_eq_gain_matches_a_numpy_scaling(tmp_path):
    # +6.0206 dB on every band is a flat gain of exactly 2: the output is the input times 2
    # (the renderer removes the latency), away from the track edges.
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    x = write_noise(src, subtype="FLOAT", seconds=2.0)
    cfg = tonecore.PipelineConfig(eq_gains=np.full(25, 20 * np.log10(2.0)))
    tonecore.process_file(src, dst, cfg, chunk_seconds=0.5)
    y = sf.read(str(dst), dtype="float64", always_2d=True)[0]
    edge = 4096
    np.testing.assert_allclose(y[edge:-edge], 2.0 * x[edge:-edge], atol=2e-4)


def test_clipping_to_integer_pcm_is_counted(tmp_path):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    x = write_noise(src, subtype="PCM_16", amplitude=0.9)
    cfg = tonecore.PipelineConfig(eq_gains=np.full(25, 12.0))  # x4: most samples exceed 1
    r = tonecore.process_file(src, dst, cfg)
    y = sf.read(str(dst), dtype="float64")[0]
    expected_over = int(np.count_nonzero(np.abs(4 * x[4096:-4096]) > 1.0))
    assert r.clipped_samples >= expected_over > 0
    assert np.max(np.abs(y)) <= 1.0


@pytest.mark.parametrize("how", ["same path", "relative path", "symlink", "hard link"])
def test_the_input_is_never_the_output(tmp_path, monkeypatch, how):
    # Like the command: refused with a ValueError before anything is written.
    src = tmp_path / "a.wav"
    write_noise(src, seconds=0.5)
    original = src.read_bytes()
    if how == "same path":
        dst = src
    elif how == "relative path":
        monkeypatch.chdir(tmp_path)
        dst = Path("sub/../a.wav")
        (tmp_path / "sub").mkdir()
    elif how == "symlink":
        dst = tmp_path / "link.wav"
        dst.symlink_to(src)
    else:
        dst = tmp_path / "hard.wav"
        os.link(src, dst)
    names = sorted(p.name for p in tmp_path.iterdir())
    cfg = tonecore.PipelineConfig(eq_gains=np.full(25, 6.0))
    with pytest.raises(ValueError, match="is the input file"):
        tonecore.process_file(str(src), dst, cfg)
    assert src.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert leftovers(tmp_path) == []


def test_a_fifo_or_device_output_is_never_replaced(tmp_path):
    src = tmp_path / "a.wav"
    write_noise(src, seconds=0.5)
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    for dst in (fifo, Path("/dev/null")):
        with pytest.raises(ValueError, match="not a regular file"):
            tonecore.process_file(src, dst)
    assert fifo.is_fifo()
    assert Path("/dev/null").is_char_device()
    assert leftovers(tmp_path) == []


def test_a_copy_of_the_input_may_be_replaced_and_empty_files(tmp_path):
    # A different file with the same content is not the input.
    src, copy = tmp_path / "same.wav", tmp_path / "copy.wav"
    x = write_noise(src, seconds=1.0)
    copy.write_bytes(src.read_bytes())
    tonecore.process_file(src, copy, None)
    np.testing.assert_allclose(sf.read(str(copy), dtype="float64", always_2d=True)[0], x,
                               atol=1.0 / 32768)
    empty = tmp_path / "empty.wav"
    sf.write(str(empty), np.zeros((0, 2)), SR, subtype="PCM_16")
    r = tonecore.process_file(empty, tmp_path / "empty_out.wav")
    assert r.frames == 0 and sf.info(str(tmp_path / "empty_out.wav")).frames == 0
    assert leftovers(tmp_path) == []


# --- progress --------------------------------------------------------------------------------


def test_progress_callback_counts_chunks_in_order(tmp_path):
    src = tmp_path / "in.flac"
    write_noise(src, seconds=3.0, subtype="PCM_16")
    calls = []
    lock = threading.Lock()

    def progress(done, total):
        with lock:
            calls.append((done, total))

    tonecore.process_file(src, tmp_path / "out.flac", progress=progress, chunk_seconds=0.5,
                          threads=2)
    totals = {t for _, t in calls}
    assert totals == {6}  # 3 s in 0.5 s chunks
    assert [d for d, _ in calls] == list(range(1, 7))


def test_progress_true_draws_a_tqdm_bar(tmp_path, capsys):
    pytest.importorskip("tqdm")
    src = tmp_path / "in.wav"
    write_noise(src, seconds=2.0)
    tonecore.process_file(src, tmp_path / "out.wav", progress=True, chunk_seconds=0.5)
    err = capsys.readouterr().err
    assert "chunk" in err and "4/4" in err
    assert (tmp_path / "out.wav").is_file()


def test_progress_true_without_tqdm_is_a_clear_import_error(tmp_path, monkeypatch):
    src = tmp_path / "in.wav"
    write_noise(src, seconds=0.5)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="pip install tqdm"):
        tonecore.process_file(src, tmp_path / "out.wav", progress=True)
    assert not (tmp_path / "out.wav").exists()


# --- cancellation and Ctrl-C --------------------------------------------------------------


def test_truthy_progress_cancels_and_keeps_the_old_output(tmp_path):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    write_noise(src, seconds=3.0)
    dst.write_bytes(b"previous output")
    seen = []

    def progress(done, total):
        seen.append(done)
        return done >= 2

    with pytest.raises(tonecore.Cancelled) as info:
        tonecore.process_file(src, dst, progress=progress, chunk_seconds=0.5, threads=1)
    assert info.value.status == 102
    assert seen == [1, 2]
    assert dst.read_bytes() == b"previous output"
    assert leftovers(tmp_path) == []


def test_keyboard_interrupt_in_the_callback_leaves_no_file(tmp_path):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    write_noise(src, seconds=3.0)
    seen = []

    def progress(done, total):
        seen.append(done)
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tonecore.process_file(src, dst, progress=progress, chunk_seconds=0.5, threads=1)
    assert seen == [1]  # the render stopped at once: no further chunk was reported
    assert not dst.exists() and leftovers(tmp_path) == []


def test_ctrl_c_during_the_native_render_stops_it(tmp_path):
    # interrupt_main() is what the SIGINT handler does: KeyboardInterrupt in the main thread
    # while it waits for the native render.
    assert threading.current_thread() is threading.main_thread()
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    write_noise(src, seconds=4.0)
    seen = []

    def progress(done, total):
        seen.append((done, total))
        if done == 1:
            _thread.interrupt_main()
            time.sleep(0.3)  # the main thread takes the interrupt meanwhile

    with pytest.raises(KeyboardInterrupt):
        tonecore.process_file(src, dst, progress=progress, chunk_seconds=0.25, threads=1)
    total = seen[0][1]
    assert total == 16 and len(seen) <= 2, seen  # cancelled at the next chunk boundary
    assert not dst.exists() and leftovers(tmp_path) == []


def test_sigint_to_a_child_process_leaves_no_file(tmp_path):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    write_noise(src, seconds=8.0)
    script = textwrap.dedent(
        f"""
        import sys, time, tonecore
        def progress(done, total):
            if done == 1:
                print("rendering", flush=True)
            time.sleep(0.2)          # a slow render: ~{8 / 0.25 * 0.2:.0f} s without the signal
        tonecore.process_file({str(src)!r}, {str(dst)!r}, progress=progress,
                              chunk_seconds=0.25, threads=1)
        print("finished", flush=True)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert proc.stdout.readline().strip() == "rendering"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "finished" not in out
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert not dst.exists() and leftovers(tmp_path) == []


# --- bad paths and arguments ----------------------------------------------------------------


def test_missing_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="input file not found"):
        tonecore.process_file(tmp_path / "nope.wav", tmp_path / "out.wav")
    assert list(tmp_path.iterdir()) == []


def test_input_is_a_directory(tmp_path):
    with pytest.raises(IsADirectoryError):
        tonecore.process_file(tmp_path, tmp_path / "out.wav")


def test_output_directory_missing_or_output_is_a_directory(tmp_path):
    src = tmp_path / "in.wav"
    write_noise(src, seconds=0.2)
    with pytest.raises(FileNotFoundError, match="output directory does not exist"):
        tonecore.process_file(src, tmp_path / "missing" / "out.wav")
    (tmp_path / "d.wav").mkdir()
    with pytest.raises(IsADirectoryError):
        tonecore.process_file(src, tmp_path / "d.wav")


def test_unknown_output_extension(tmp_path):
    src = tmp_path / "in.wav"
    write_noise(src, seconds=0.2)
    for name in ("out.xyz", "out"):
        with pytest.raises(ValueError, match="cannot tell the output format"):
            tonecore.process_file(src, tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_input_that_is_not_audio(tmp_path):
    src = tmp_path / "text.wav"
    src.write_text("this is not a RIFF file\n" * 10)
    with pytest.raises(ValueError, match="cannot read .* as audio"):
        tonecore.process_file(src, tmp_path / "out.wav")
    assert not (tmp_path / "out.wav").exists() and leftovers(tmp_path) == []


def test_bad_argument_types(tmp_path):
    src = tmp_path / "in.wav"
    write_noise(src, seconds=0.2)
    with pytest.raises(TypeError, match="progress"):
        tonecore.process_file(src, tmp_path / "o.wav", progress="yes")
    with pytest.raises(TypeError, match="subtype"):
        tonecore.process_file(src, tmp_path / "o.wav", subtype=16)
    with pytest.raises(TypeError, match="dtype"):
        tonecore.process_file(src, tmp_path / "o.wav", dtype=np.int16)
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.process_file(src, tmp_path / "o.wav", chunk_seconds=float("nan"))
    assert info.value.status == 21
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_result_pickles(tmp_path):
    import pickle

    src = tmp_path / "in.wav"
    write_noise(src, seconds=0.2)
    r = tonecore.process_file(src, tmp_path / "o.wav")
    assert pickle.loads(pickle.dumps(r)) == r
    assert os.path.samefile(r.out_path, tmp_path / "o.wav")
