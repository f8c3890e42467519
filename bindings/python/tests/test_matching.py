"""Reference matching (tonecore.profile, tonecore.match, tonecore.match_config, tonecore.Profile)
against independent references: the long-term spectrum from scipy's Welch estimate on the
sixth-octave grid, integrated loudness from pyloudnorm, true peak from scipy's 4x resample_poly.
The library's own report is never the yardstick of a quality check.

The test pair (as tests/matching.rs in the repository): seeded noise shaped in one FFT, with a
slow amplitude envelope: a dark, quiet track and a bright, loud reference with a bass bump.
"""

from __future__ import annotations

import ctypes
import json
import math
import pickle
import re
import shutil
import subprocess
import threading

import numpy as np
import pytest

import tonecore
from tonecore import _native

scipy_signal = pytest.importorskip("scipy.signal")
pyloudnorm = pytest.importorskip("pyloudnorm")

SR = 44100
SECONDS = 15
K = np.arange(-34, 27)
CENTRES = 1000.0 * 2.0 ** (K / 6.0)
LO = 1000.0 * 2.0 ** ((K - 0.5) / 6.0)
HI = 1000.0 * 2.0 ** ((K + 0.5) / 6.0)


# -- signals ------------------------------------------------------------------------------


def shaped(frames, sr, seed, rms, shape_db):
    """Uniform noise shaped in one FFT by ``shape_db(f)`` (dB), times a slow envelope (so the
    loudness gate and the limiter have something to do), scaled to ``rms``."""
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, frames)
    spec = np.fft.rfft(x)
    f = np.maximum(np.fft.rfftfreq(frames, 1.0 / sr), 1.0)
    x = np.fft.irfft(spec * 10.0 ** (shape_db(f) / 20.0), frames)
    x *= 1.0 + 0.5 * np.sin(2 * np.pi * 0.7 * np.arange(frames) / sr)
    return x * rms / np.sqrt(np.mean(x * x))


def dark(f):
    return -4.5 * np.log2(f / 1000.0) - 6.0 * np.log2(np.maximum(f / 8000.0, 1.0))


def bright(f):
    return (-2.0 * np.log2(f / 1000.0) + 6.0 * np.exp(-np.log2(f / 80.0) ** 2 / 0.5)
            - 12.0 * np.abs(np.log2(np.minimum(f / 30.0, 1.0))))


def tilt(f):
    return -4.0 * np.log2(f / 1000.0)


def track_at(sr, seconds=SECONDS, channels=2, seed=1, rms=0.05, shape=dark):
    frames = int(seconds * sr)
    return np.stack([shaped(frames, sr, seed + c, rms, shape) for c in range(channels)])


def reference_at(sr, seconds=SECONDS):
    frames = int(seconds * sr)
    return np.stack([shaped(frames, sr, 3 + c, 0.2, bright) for c in range(2)])


@pytest.fixture(scope="module")
def pair():
    """(track, reference): 15 s stereo at 44.1 kHz, float64."""
    return track_at(SR), reference_at(SR)


@pytest.fixture(scope="module")
def ref_profile(pair):
    return tonecore.profile(pair[1], SR)


# -- independent measurements ----------------------------------------------------------------


def welch_bands(x, sr):
    """Long-term spectrum on the sixth-octave grid, dB: scipy Welch (Hann, 50 % overlap,
    bins at most 1.5 Hz apart) per channel, the mean PSD over channels, then the mean PSD over
    each band's bins ``[lo, hi)``; NaN for bands with no bin or above 0.45 x the rate."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    nperseg = 1 << int(math.ceil(math.log2(sr / 1.5)))
    f, p = scipy_signal.welch(x, fs=sr, window="hann", nperseg=nperseg,
                              noverlap=nperseg // 2, axis=-1)
    p = p.mean(axis=0)
    out = np.full(K.size, np.nan)
    for i, (lo, hi) in enumerate(zip(LO, HI)):
        sel = (f >= lo) & (f < hi)
        if hi <= 0.45 * sr and sel.any():
            out[i] = 10.0 * np.log10(p[sel].mean())
    return out


def residual(a, b, mask):
    """RMS over ``mask`` (where both are finite) of ``a - b`` with its mean removed, and the
    number of bands used."""
    use = mask & np.isfinite(a) & np.isfinite(b)
    d = (a - b)[use]
    return float(np.sqrt(np.mean((d - d.mean()) ** 2))), int(use.sum())


def lufs(x, sr):
    """pyloudnorm's integrated loudness; for 6 channels (L R C LFE Ls Rs) without the LFE, as
    BS.1770 counts them."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    if x.shape[0] == 6:
        x = x[[0, 1, 2, 4, 5]]
    return pyloudnorm.Meter(sr).integrated_loudness(x.T)


def true_peak(x):
    """Largest magnitude of the 4x upsampled channels (scipy resample_poly), dBTP."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    up = scipy_signal.resample_poly(x, 4, 1, axis=-1)
    return 20.0 * np.log10(np.abs(up).max())


def compared(report):
    return np.isfinite(report["before_db"])


# -- the match -------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=[np.float32, np.float64], ids=["f32", "f64"])
def matched(request, pair, ref_profile):
    track, _ = pair
    x = track.astype(request.param)
    before = x.copy()
    y, report = tonecore.match(x, SR, ref_profile)
    assert np.array_equal(x, before)  # the input is only read
    return x, y, report


def test_match_lands_on_the_references_balance(matched, pair):
    x, y, report = matched
    _, reference = pair
    assert y.shape == x.shape and y.dtype == x.dtype
    assert report["outcome"] == "matched"
    mask = compared(report)
    assert report["compared_bands"] == int(mask.sum()) >= 50
    ref_bands = welch_bands(reference, SR)
    before, _ = residual(welch_bands(x, SR), ref_bands, mask)
    after, used = residual(welch_bands(y, SR), ref_bands, mask)
    assert used >= 50
    assert before > 4.0, f"the pair should differ: {before:.2f} dB"
    assert after < 1.0, f"residual {before:.2f} -> {after:.2f} dB over {used} bands"
    # the report tells the truth about what it did (measured here independently)
    assert abs(report["residual_after_db"] - after) < 0.5
    assert abs(report["residual_before_db"] - before) < 0.5


def test_match_lands_on_the_references_loudness_under_the_ceiling(matched, pair):
    _, y, report = matched
    ref_lufs = lufs(pair[1], SR)
    out_lufs = lufs(y, SR)
    assert abs(out_lufs - ref_lufs) <= 0.1, (out_lufs, ref_lufs)
    assert true_peak(y) <= -1.0 + 0.1
    loud = report["loudness"]
    assert loud["ceiling_dbtp"] == -1.0 and loud["outcome"] == "reached"
    assert abs(loud["target_lufs"] - ref_lufs) < 0.1  # the reference's loudness, by default
    assert set(loud) == set(tonecore.normalize(np.zeros((2, SR)), SR)[1])


def test_report_layout(matched):
    _, _, report = matched
    assert set(report) == {"outcome", "compared_bands", "residual_before_db",
                           "residual_after_db", "gains_db", "before_db", "after_db",
                           "centers", "loudness"}
    for key in ("gains_db", "before_db", "after_db", "centers"):
        assert report[key].shape == (61,) and report[key].dtype == np.float64, key
    np.testing.assert_allclose(report["centers"], CENTRES, rtol=1e-12)
    assert np.all(np.isfinite(report["gains_db"]))
    assert np.all(np.abs(report["gains_db"]) <= 12.0 + 1e-9)
    assert np.array_equal(np.isfinite(report["after_db"]), compared(report))
    assert report["outcome"] in tonecore.MATCH_OUTCOMES


def test_a_48k_track_matches_a_44k_reference_profile(pair, ref_profile):
    _, reference = pair
    x = track_at(48000, seconds=12).astype(np.float32)
    y, report = tonecore.match(x, 48000, ref_profile)
    assert report["outcome"] == "matched" and y.shape == x.shape
    after, used = residual(welch_bands(y, 48000), welch_bands(reference, SR), compared(report))
    assert used >= 50 and after < 1.0, (after, used)
    assert abs(lufs(y, 48000) - lufs(reference, SR)) <= 0.1
    assert true_peak(y) <= -0.9
    # the reference as samples at its own rate is the same reference
    y2, report2 = tonecore.match(x, 48000, reference, reference_rate=SR)
    np.testing.assert_allclose(y2, y, rtol=0, atol=1e-6)
    np.testing.assert_allclose(report2["gains_db"], report["gains_db"], rtol=0, atol=1e-9)


def test_a_six_channel_track_matches_a_stereo_reference(pair, ref_profile):
    _, reference = pair
    x = track_at(48000, seconds=10, channels=6, seed=20, rms=0.03, shape=tilt)
    y, report = tonecore.match(x, 48000, ref_profile)
    assert y.shape == (6, x.shape[1]) and report["outcome"] == "matched"
    after, used = residual(welch_bands(y, 48000), welch_bands(reference, SR), compared(report))
    assert used >= 45 and after < 1.0, (after, used)
    assert abs(lufs(y, 48000) - lufs(reference, SR)) <= 0.1
    assert true_peak(y) <= -0.9


def test_a_silent_reference_derives_no_eq(pair):
    track, _ = pair
    silent = tonecore.profile(np.zeros((2, 2 * SR)), SR)
    assert silent.silent and silent.integrated_lufs is None and silent.true_peak_dbtp is None
    assert np.all(np.isnan(silent.spectrum_db)) and silent.present_bands == 0
    x = track[:, : 8 * SR].copy()
    y, report = tonecore.match(x, SR, silent)
    assert report["outcome"] == "silent_reference"
    assert np.all(report["gains_db"] == 0.0) and report["compared_bands"] == 0
    # no EQ: the balance stays the track's; the level target is the track's own loudness
    stay, _ = residual(welch_bands(y, SR), welch_bands(x, SR), np.ones(61, bool))
    assert stay < 0.2
    assert abs(lufs(y, SR) - lufs(x, SR)) <= 0.1
    cfg = tonecore.match_config(x, silent, SR)
    assert cfg.eq_gains == (0.0,) * 61


def test_strength_zero_keeps_the_balance(pair, ref_profile):
    x = pair[0][:, : 8 * SR].copy()
    y, report = tonecore.match(x, SR, ref_profile, strength=0.0, target_lufs=-20.0)
    assert np.all(report["gains_db"] == 0.0)
    stay, _ = residual(welch_bands(y, SR), welch_bands(x, SR), np.ones(61, bool))
    assert stay < 0.2
    assert abs(lufs(y, SR) - (-20.0)) <= 0.1
    assert report["loudness"]["target_lufs"] == -20.0


def test_progress_is_called_and_can_cancel(pair, ref_profile):
    x = pair[0]
    calls = []
    tonecore.match(x, SR, ref_profile, progress=lambda done, total: calls.append((done, total)))
    assert calls and all(0 < d <= t for d, t in calls)
    with pytest.raises(tonecore.Cancelled):
        tonecore.match(x, SR, ref_profile, progress=lambda done, total: True)

    class Boom(Exception):
        pass

    def fail(done, total):
        raise Boom

    with pytest.raises(Boom):
        tonecore.match(x, SR, ref_profile, progress=fail)
    with pytest.raises(TypeError, match="progress"):
        tonecore.match(x, SR, ref_profile, progress=3)


# -- profiles ----------------------------------------------------------------------------------


def test_profile_against_independent_measures(pair, ref_profile):
    _, reference = pair
    p = ref_profile
    assert (p.sample_rate, p.channels, p.frames) == (SR, 2, reference.shape[1])
    assert abs(p.integrated_lufs - lufs(reference, SR)) < 0.1
    assert abs(p.true_peak_dbtp - true_peak(reference)) < 0.2
    assert p.loudness_range_lu >= 0.0 and not p.silent
    # spectrum: band power density relative to the signal's own mean power
    power = np.mean(reference ** 2)
    independent = welch_bands(reference, SR) - 10.0 * np.log10(power)
    both = np.isfinite(independent) & np.isfinite(p.spectrum_db)
    assert both.sum() >= 55 and p.present_bands >= 55
    err = p.spectrum_db[both] - independent[both]
    assert np.sqrt(np.mean(err ** 2)) < 0.5, err
    np.testing.assert_allclose(p.centers, CENTRES, rtol=1e-12)
    sm = p.side_mid_db
    assert sm is not None and sm.shape == (61,)
    # independent channels: side and mid carry the same power, balance ~0 dB
    assert abs(np.nanmean(sm)) < 0.5
    # arrays are copies
    s = p.spectrum_db
    s[:] = 0.0
    assert not np.array_equal(p.spectrum_db, s)


def test_profile_side_mid_only_for_stereo():
    mono = tonecore.profile(track_at(SR, seconds=3, channels=1)[0], SR)
    six = tonecore.profile(track_at(SR, seconds=3, channels=6), SR)
    assert mono.channels == 1 and mono.side_mid_db is None
    assert six.channels == 6 and six.side_mid_db is None


def test_profile_dtypes_and_arguments(pair):
    x = pair[0][:, : 3 * SR]
    p64 = tonecore.profile(np.ascontiguousarray(x), SR)
    p32 = tonecore.profile(x.astype(np.float32), SR, threads=1)
    good = np.isfinite(p64.spectrum_db)
    np.testing.assert_allclose(p32.spectrum_db[good], p64.spectrum_db[good], atol=0.01)
    with pytest.raises(TypeError, match="dtype"):
        tonecore.profile(x.astype(np.int16), SR)
    with pytest.raises(TypeError, match="ndarray"):
        tonecore.profile([0.0] * 1000, SR)
    assert tonecore.profile([0.1, -0.1] * 8000, SR, copy=True).channels == 1
    with pytest.raises(ValueError, match="C-contiguous"):
        tonecore.profile(pair[0][:, ::2], SR)
    bad = x.copy()
    bad[1, 100] = np.nan
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.profile(bad, SR)
    assert info.value.status == 5
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.profile(x[0].copy(), 4000)
    assert info.value.status == 13
    with pytest.raises(TypeError):
        tonecore.Profile()


def test_json_round_trip(ref_profile):
    p = ref_profile
    text = p.to_json()
    doc = json.loads(text)
    assert doc["format"] == "tonecore-profile" and doc["version"] == 1
    for q in (tonecore.Profile.from_json(text), tonecore.Profile.from_json(text.encode()),
              tonecore.Profile.from_json(text.encode() + b"\0"),
              pickle.loads(pickle.dumps(p))):
        assert isinstance(q, tonecore.Profile) and q is not p
        assert q == p and hash(q) == hash(p) and q.to_json() == text
        for name in ("sample_rate", "channels", "frames", "integrated_lufs",
                     "loudness_range_lu", "true_peak_dbtp", "silent", "present_bands"):
            assert getattr(q, name) == getattr(p, name), name
        np.testing.assert_array_equal(q.spectrum_db, p.spectrum_db)
        np.testing.assert_array_equal(q.side_mid_db, p.side_mid_db)
    silent = tonecore.profile(np.zeros(SR), SR)
    back = pickle.loads(pickle.dumps(silent))
    assert back == silent and back.integrated_lufs is None and back != p
    assert "integrated_lufs=" in repr(p) and repr(p).startswith("<tonecore.Profile")


def test_a_closed_profile_is_still_data_but_cannot_be_matched(pair):
    p = tonecore.profile(np.ascontiguousarray(pair[1][:, : 3 * SR]), SR)
    text = p.to_json()
    with p as same:
        assert same is p
    assert p.closed and "closed" in repr(p)
    assert p.to_json() == text and pickle.loads(pickle.dumps(p)).to_json() == text
    assert p.integrated_lufs is not None
    with pytest.raises(tonecore.ClosedError):
        tonecore.match(pair[0][:, : SR].copy(), SR, p)
    with pytest.raises(tonecore.ClosedError):
        tonecore.match_config(pair[0][:, : SR].copy(), p, SR)
    p.close()  # idempotent


@pytest.mark.parametrize("bad", [
    "", "{", "not json", "[]", '{"format":"other","version":1}', '{"format":"tonecore-profile"}',
    b"\xff\xfe{}",
])
def test_corrupt_json_is_a_profile_error(bad):
    with pytest.raises(tonecore.ProfileError) as info:
        tonecore.Profile.from_json(bad)
    assert type(info.value) is tonecore.ProfileError
    assert info.value.status == 22 and info.value.detail
    assert isinstance(info.value, tonecore.InvalidArgument)


def test_damaged_documents_are_profile_errors(ref_profile):
    doc = json.loads(ref_profile.to_json())
    short = dict(doc, spectrum_db=doc["spectrum_db"][:60])
    with pytest.raises(tonecore.ProfileError):
        tonecore.Profile.from_json(json.dumps(short))
    with pytest.raises(tonecore.ProfileError):
        tonecore.Profile.from_json(ref_profile.to_json()[:-10])
    with pytest.raises(TypeError):
        tonecore.Profile.from_json(42)


def test_a_newer_version_is_a_profile_version_error(ref_profile):
    doc = json.loads(ref_profile.to_json())
    doc["version"] = 2
    with pytest.raises(tonecore.ProfileVersionError) as info:
        tonecore.Profile.from_json(json.dumps(doc))
    e = info.value
    assert e.status == 23 and isinstance(e, tonecore.ProfileError)
    assert "newer" in str(e) and "2" in e.detail
    # an unpickled newer document fails the same way
    blob = pickle.dumps(ref_profile).replace(b'"version":1', b'"version":2')
    with pytest.raises(tonecore.ProfileVersionError):
        pickle.loads(blob)


# -- match_config ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cfg(pair, ref_profile):
    return tonecore.match_config(pair[0], ref_profile, SR)


@pytest.fixture(scope="module")
def mask(pair, ref_profile):
    """The bands a match of the pair compares (finite ``before_db``)."""
    return compared(tonecore.match(pair[0], SR, ref_profile)[1])


def test_match_config_is_an_ordinary_pipeline_config(cfg, pair, matched):
    assert isinstance(cfg, tonecore.PipelineConfig)
    assert cfg.layout == tonecore.BandLayout.sixth_octave() and cfg.bands == 61
    assert len(cfg.eq_gains) == 61 and cfg.mode == "smooth"
    assert cfg.fft_size == 16384  # bins at most 3 Hz apart at 44.1 kHz
    assert cfg.level.mode == "integrated" and cfg.level.track_gain_db == 0.0
    assert abs(cfg.level.target_lufs - lufs(pair[1], SR)) < 0.1
    assert cfg.limiter.ceiling_db == -1.0 and cfg.limiter.true_peak
    assert pickle.loads(pickle.dumps(cfg)) == cfg
    # the same gains as the offline match of the same pair
    # The offline match weights each band's response by the track's own bin powers (it has the
    # signal); a config from profiles weights uniformly: the same gains up to that refinement.
    np.testing.assert_allclose(np.array(cfg.eq_gains), matched[2]["gains_db"], atol=1.5)
    # profiles or samples: the same config
    same = tonecore.match_config(tonecore.profile(pair[0], SR), pair[1], SR, reference_rate=SR)
    # (profiles on several threads agree to ~1e-14 dB, not bit for bit)
    np.testing.assert_allclose(same.eq_gains, cfg.eq_gains, rtol=0, atol=1e-9)
    assert same.level == cfg.level or abs(same.level.target_lufs - cfg.level.target_lufs) < 1e-9
    assert (same.layout, same.limiter, same.fft_size) == (cfg.layout, cfg.limiter, cfg.fft_size)
    other = tonecore.match_config(pair[0], pair[1], 48000, reference_rate=SR, strength=0.5,
                                  target_lufs=-18.0, ceiling_dbtp=-2.0)
    assert other.level.target_lufs == -18.0 and other.limiter.ceiling_db == -2.0
    assert np.max(np.abs(other.eq_gains)) < np.max(np.abs(cfg.eq_gains))


def test_match_config_in_a_streaming_pipeline(cfg, pair, mask):
    """Blocks through a Pipeline: the balance lands on the reference's. A streaming pipeline
    applies ``level.track_gain_db`` (it cannot know the whole track): here each pass measures
    its output and corrects the gain (the limiter takes some loudness off a gain near the
    ceiling, as :func:`tonecore.normalize`'s passes do)."""
    import dataclasses

    track, reference = pair
    x = track.astype(np.float32)

    def stream(config):
        with tonecore.Pipeline(SR, 2, config, max_block=4096, dtype=np.float32) as p:
            lat = p.latency
            padded = np.concatenate([x, np.zeros((2, lat), np.float32)], axis=1)
            out = np.empty_like(padded)
            for start in range(0, padded.shape[1], 4096):
                block = np.ascontiguousarray(padded[:, start:start + 4096])
                out[:, start:start + block.shape[1]] = p.process(block)
        return out[:, lat:]

    gain = 0.0
    for _ in range(5):
        level = dataclasses.replace(cfg.level, track_gain_db=gain)
        y = stream(dataclasses.replace(cfg, level=level))
        gain += cfg.level.target_lufs - lufs(y, SR)
    after, used = residual(welch_bands(y, SR), welch_bands(reference, SR), mask)
    assert used >= 50 and after < 1.0, (after, used)
    assert abs(lufs(y, SR) - lufs(reference, SR)) <= 0.15
    assert true_peak(y) <= -0.9


def test_match_config_via_normalize_and_render_chunked(cfg, pair, mask):
    track, reference = pair
    ref_lufs = lufs(reference, SR)
    ref_bands = welch_bands(reference, SR)
    y, report = tonecore.normalize(track, SR, target_lufs=cfg.level.target_lufs,
                                   ceiling_dbtp=cfg.limiter.ceiling_db, config=cfg)
    assert abs(lufs(y, SR) - ref_lufs) <= 0.1 and true_peak(y) <= -0.9
    assert residual(welch_bands(y, SR), ref_bands, mask)[0] < 1.0
    y = tonecore.render_chunked(track.astype(np.float32), SR, cfg)
    assert abs(lufs(y, SR) - ref_lufs) <= 0.15 and true_peak(y) <= -0.9
    assert residual(welch_bands(y, SR), ref_bands, mask)[0] < 1.0


def test_match_config_in_a_playback_stream_and_the_engine(cfg, pair):
    track = pair[0][:, : 8 * SR].astype(np.float32)
    with tonecore.PlaybackStream(track, SR, cfg) as stream:
        norm = stream.normalization()
        assert norm is not None and norm["target_lufs"] == cfg.level.target_lufs
    with tonecore.Engine(max_streams=1, worker_threads=1) as engine:
        job = engine.submit_render(track, SR, cfg)
        y = job.result(timeout=120)
    assert abs(lufs(y, SR) - lufs(pair[1], SR)) <= 0.15


# -- errors ------------------------------------------------------------------------------------


def test_refusals_leave_out_untouched(pair, ref_profile, sentinel):
    x = pair[0][:, : 2 * SR].astype(np.float32)
    nan_x = x.copy()
    nan_x[0, 10] = np.nan
    nan_ref = pair[1][:, : 2 * SR].copy()
    nan_ref[1, 5] = np.inf
    cases = [
        (dict(strength=1.5), tonecore.InvalidArgument, 2),
        (dict(strength=float("nan")), tonecore.InvalidArgument, 2),
        (dict(max_gain_db=30.0), tonecore.InvalidArgument, 2),
        (dict(smoothing_octaves=-1.0), tonecore.InvalidArgument, 2),
        (dict(target_lufs=float("nan")), tonecore.InvalidArgument, 20),
        (dict(target_lufs=3.0), tonecore.InvalidArgument, 20),
        (dict(ceiling_dbtp=1.0), tonecore.InvalidArgument, 18),
        (dict(x=nan_x), tonecore.InvalidArgument, 5),
        (dict(reference=nan_ref), tonecore.InvalidArgument, 5),
        (dict(sample_rate=4000), tonecore.InvalidArgument, 13),
        (dict(threads=5000), tonecore.InvalidArgument, 2),
        (dict(strength="high"), TypeError, None),
        (dict(reference="ref.wav"), TypeError, None),
        (dict(reference_rate=48000), ValueError, None),
        (dict(x=x.astype(np.float64)), TypeError, None),  # out is float32
        (dict(x=x[:, ::2]), ValueError, None),
    ]
    for kwargs, exc, status in cases:
        args = dict(x=x, sample_rate=SR, reference=ref_profile)
        args.update(kwargs)
        out = sentinel.array(x.shape, np.float32)
        with pytest.raises(exc) as info:
            tonecore.match(args.pop("x"), args.pop("sample_rate"), args.pop("reference"),
                           out=out, **args)
        assert sentinel.untouched(out), kwargs
        if status is not None:
            assert info.value.status == status, (kwargs, info.value)
    with pytest.raises(ValueError, match="share memory"):
        tonecore.match(x, SR, ref_profile, out=x)
    # and match_config refuses the same settings
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.match_config(x, ref_profile, SR, strength=-0.1)
    assert info.value.status == 2
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.match_config(nan_x, ref_profile, SR)
    assert info.value.status == 5


def test_out_is_written_in_place(pair, ref_profile):
    x = pair[0][:, : 3 * SR].copy()
    out = np.empty_like(x)
    y, _ = tonecore.match(x, SR, ref_profile, out=out, threads=1)
    assert y is out
    y2, _ = tonecore.match(x, SR, ref_profile, threads=1)
    assert np.array_equal(y, y2)
    y3, _ = tonecore.match(x.tolist(), SR, ref_profile, threads=1, copy=True)  # converted
    assert y3.dtype == np.float64 and np.array_equal(y3, y)


def test_nothing_is_printed(capfd, pair, ref_profile):
    x = pair[0][:, : 2 * SR].copy()
    p = tonecore.profile(x, SR)
    tonecore.match(x, SR, ref_profile)
    tonecore.match_config(x, p, SR)
    for bad in ("{", '{"format":"tonecore-profile","version":9}'):
        with pytest.raises(tonecore.ProfileError):
            tonecore.Profile.from_json(bad)
    with pytest.raises(tonecore.InvalidArgument):
        tonecore.match(x, SR, p, strength=2.0)
    p.close()
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_profiles_are_shared_across_threads(pair, ref_profile):
    x = pair[0][:, : 2 * SR].copy()
    expected, _ = tonecore.match(x, SR, ref_profile, threads=1)
    results = [None] * 4

    def work(i):
        results[i] = tonecore.match(x, SR, ref_profile, threads=1)[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(r, expected) for r in results)


# -- the C ABI mirrors --------------------------------------------------------------------------


def test_outcome_names_follow_the_c_enum(repo):
    """``tonecore_match_outcome`` (src/ffi/matching.rs; the header refers to its
    ``TONECORE_MATCH_OUTCOME_*`` values) in order."""
    header = (repo / "include" / "tonecore.h").read_text()
    values = dict(re.findall(r"TONECORE_MATCH_OUTCOME_(\w+) = (\d+)", header))
    if not values:  # not emitted into the header: read the Rust enum
        src = repo / "src" / "ffi" / "matching.rs"
        if not src.is_file():
            pytest.skip("no TONECORE_MATCH_OUTCOME_* in the header and no source tree")
        body = re.search(r"enum tonecore_match_outcome \{(.*?)\}", src.read_text(), re.S)
        assert body
        camel = re.findall(r"(\w+) = (\d+),", body.group(1))
        values = {re.sub(r"(?<!^)([A-Z])", r"_\1", n).upper(): v for n, v in camel}
    names = {int(v): n.lower() for n, v in values.items()}
    assert tuple(names[i] for i in range(len(names))) == tonecore.MATCH_OUTCOMES


def test_constants_match_the_header(repo):
    header = (repo / "include" / "tonecore.h").read_text()
    assert re.search(r"#define TONECORE_PROFILE_BANDS (\d+)", header).group(1) == "61"
    assert int(re.search(r"TONECORE_LAYOUT_SIXTH_OCTAVE = (\d+)", header).group(1)) == \
        _native.LAYOUT_SIXTH_OCTAVE
    statuses = dict(re.findall(r"TONECORE_STATUS_(\w+) = (\d+)", header))
    assert int(statuses["INVALID_PROFILE"]) == _native.STATUS_INVALID_PROFILE
    assert int(statuses["PROFILE_VERSION"]) == _native.STATUS_PROFILE_VERSION


STRUCTS = {
    "tonecore_match_config": _native.MatchConfig,
    "tonecore_profile_info": _native.ProfileInfo,
    "tonecore_match_report": _native.MatchReport,
    "tonecore_normalize_report": _native.NormalizeReport,
    "tonecore_live_match_config": _native.LiveMatchConfig,
    "tonecore_live_match_state": _native.LiveMatchState,
}


def test_struct_layouts_match_the_header(repo, tmp_path):
    """sizeof and every field's offsetof, as a C compiler lays out the header's structs,
    against the ctypes mirrors."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler")
    lines = []
    for cname, mirror in STRUCTS.items():
        lines.append(f'printf("{cname} sizeof %zu\\n", sizeof(struct {cname}));')
        for field, _ in mirror._fields_:
            lines.append(f'printf("{cname} {field} %zu\\n", offsetof(struct {cname}, {field}));')
    src = tmp_path / "layout.c"
    src.write_text("#include <stddef.h>\n#include <stdio.h>\n#include \"tonecore.h\"\n"
                   "int main(void) {\n" + "\n".join(lines) + "\nreturn 0;\n}\n")
    exe = tmp_path / "layout"
    r = subprocess.run([cc, "-std=c11", "-I", str(repo / "include"), str(src), "-o", str(exe)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60).stdout
    c_layout = {tuple(line.split()[:2]): int(line.split()[2]) for line in got.splitlines()}
    for cname, mirror in STRUCTS.items():
        assert c_layout[(cname, "sizeof")] == ctypes.sizeof(mirror), cname
        for field, _ in mirror._fields_:
            assert c_layout[(cname, field)] == getattr(mirror, field).offset, (cname, field)


@pytest.mark.parametrize("config", [
    tonecore.PipelineConfig(),
    tonecore.PipelineConfig(eq_gains=np.linspace(-3, 3, 10), layout="octave", limiter=-2.0,
                            mode="step", fft_size=8192, ramp_ms=5.0),
    tonecore.PipelineConfig(eq_gains=[1.0, -1.0, 2.0], layout=[0.0, 200.0, 3000.0, 20000.0],
                            level=tonecore.LevelConfig(-16.0, mode="momentary",
                                                       window_ms=1000.0)),
    tonecore.PipelineConfig(eq_gains=np.zeros(61), layout="sixth_octave",
                            level=tonecore.LevelConfig(-20.0, track_gain_db=3.0)),
])
def test_a_c_pipeline_config_reads_back_to_the_same_config(config):
    """match_config reads the struct tonecore_match_pipeline_config fills: the reading is the
    inverse of the writing the renderers use."""
    from tonecore._config import _c_pipeline_config, _pipeline_config_from_c

    c, _layout, keepalive = _c_pipeline_config(config, 44100, 2, np.dtype(np.float32))
    assert _pipeline_config_from_c(c) == config
    del keepalive
