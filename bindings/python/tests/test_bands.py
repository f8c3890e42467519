"""Band layouts, the bin->band map and gain curves, against numpy references written here."""

from __future__ import annotations

import ctypes
import pickle

import numpy as np
import pytest

import tonecore
from tonecore import _native

CRITICAL_EDGES = [
    20, 100, 200, 300, 400, 510, 630, 770, 920, 1080, 1270, 1480, 1720, 2000, 2320, 2700, 3150,
    3700, 4400, 5300, 6400, 7700, 9500, 12000, 15500, 20000,
]
ISO_OCTAVE = [31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000]
ISO_THIRD_OCTAVE = [
    20, 25, 31.5, 40, 50, 63, 80, 100, 125, 160, 200, 250, 315, 400, 500, 630, 800, 1000, 1250,
    1600, 2000, 2500, 3150, 4000, 5000, 6300, 8000, 10000, 12500, 16000, 20000,
]
GRIDS = [(44100, 4096), (48000, 2048), (22050, 1000), (44100, 4410), (8000, 16), (96000, 8192),
         (44101, 512)]


def layouts():
    return [
        tonecore.BandLayout.critical(),
        tonecore.BandLayout.critical(first_edge_hz=0.0),
        tonecore.BandLayout.octave(),
        tonecore.BandLayout.third_octave(),
        tonecore.BandLayout.sixth_octave(),
        tonecore.BandLayout([0.0, 250.0, 2000.0, 22050.0]),
        tonecore.BandLayout([300.0, 301.0, 5000.0, 30000.0, 40000.0]),
    ]


# --- references --------------------------------------------------------------------------


def ref_band_map(edges, sr, n):
    edges = np.asarray(edges, dtype=np.float64)
    f = np.linspace(0, sr // 2, n // 2 + 1)
    return np.clip(np.searchsorted(edges, f, "right") - 1, 0, edges.size - 2)


def ref_centers(edges):
    e = np.asarray(edges, dtype=np.float64)
    lo, hi = e[:-1], e[1:]
    return np.where(lo > 0, np.sqrt(lo * hi), 0.5 * hi)


def ref_smooth_curve(edges, gains_db, sr, n):
    g = np.clip(np.asarray(gains_db, dtype=np.float64), -24, 24)
    f = np.linspace(0, sr // 2, n // 2 + 1)
    xs = np.log2(np.maximum(ref_centers(edges), 1.0))
    db = np.interp(np.log2(np.maximum(f, 1.0)), xs, g)  # flat outside the first/last centre
    return 10 ** (db / 20)


def ref_step_curve(edges, gains_db, sr, n):
    g = np.clip(np.asarray(gains_db, dtype=np.float64), -24, 24)
    return 10 ** (g[ref_band_map(edges, sr, n)] / 20)


# --- layouts -----------------------------------------------------------------------------


def test_critical_edges_are_the_26_listed():
    lay = tonecore.BandLayout.critical()
    assert lay.edges.dtype == np.float64
    assert lay.edges.tolist() == [float(e) for e in CRITICAL_EDGES]
    assert lay.bands == 25 and lay.kind == "critical"
    np.testing.assert_allclose(lay.centers, ref_centers(CRITICAL_EDGES), rtol=1e-15)


def test_critical_with_another_first_edge():
    lay = tonecore.BandLayout.critical(first_edge_hz=0.0)
    assert lay.edges.tolist() == [0.0] + [float(e) for e in CRITICAL_EDGES[1:]]
    assert lay.centers[0] == 50.0
    assert tonecore.BandLayout.critical(50).edges[0] == 50.0
    for bad in (100.0, 150.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(tonecore.InvalidArgument) as info:
            tonecore.BandLayout.critical(first_edge_hz=bad)
        assert info.value.status == _native.STATUS_INVALID_BANDS


@pytest.mark.parametrize(
    "factory, nominal, per_octave",
    [(tonecore.BandLayout.octave, ISO_OCTAVE, 1),
     (tonecore.BandLayout.third_octave, ISO_THIRD_OCTAVE, 3)],
)
def test_iso_layouts_match_nominal_centres(factory, nominal, per_octave):
    lay = factory()
    assert lay.bands == len(nominal)
    c = lay.centers
    assert np.all(np.abs(c / np.array(nominal) - 1) < 0.03), c
    # edges a half band either side of the centres, centres the geometric means
    np.testing.assert_allclose(lay.edges[1:] / lay.edges[:-1], 2 ** (1 / per_octave), rtol=1e-12)
    np.testing.assert_allclose(c, ref_centers(lay.edges), rtol=1e-14)
    assert abs(c[nominal.index(1000)] - 1000) < 1e-9


def test_sixth_octave_layout_is_the_profile_grid():
    """TONECORE_LAYOUT_SIXTH_OCTAVE: 61 bands centred on 1000 * 2**(k/6) Hz, k = -34..26,
    edges a twelfth of an octave either side (written out here, not read from the library)."""
    lay = tonecore.BandLayout.sixth_octave()
    k = np.arange(-34, 27)
    assert lay.kind == "sixth_octave" and lay.bands == 61
    np.testing.assert_allclose(lay.centers, 1000 * 2.0 ** (k / 6), rtol=1e-12)
    np.testing.assert_allclose(lay.edges, 1000 * 2.0 ** ((np.arange(-34, 28) - 0.5) / 6),
                               rtol=1e-12)
    assert repr(lay) == "tonecore.BandLayout.sixth_octave()"
    assert tonecore.BandLayout.sixth_octave() is lay  # built once
    cfg = tonecore.PipelineConfig(eq_gains=np.zeros(61), layout="sixth_octave")
    assert cfg.layout == lay and cfg.bands == 61
    assert tonecore.band_map(48000, 1024, "sixth_octave").max() == 60


def test_custom_layout_and_its_properties():
    lay = tonecore.BandLayout([0, 250, 2000.5, 22050])
    assert lay.kind == "custom" and lay.bands == 3
    assert lay.edges.tolist() == [0.0, 250.0, 2000.5, 22050.0]
    np.testing.assert_allclose(lay.centers, ref_centers(lay.edges), rtol=1e-15)
    # properties are copies: the layout is immutable
    e = lay.edges
    e[0] = 99
    assert lay.edges[0] == 0.0
    with pytest.raises(AttributeError):
        lay.foo = 1  # type: ignore[attr-defined]
    # the caller's array is copied
    src = np.array([10.0, 20.0, 40.0])
    lay = tonecore.BandLayout(src)
    src[:] = [40.0, 20.0, 10.0]
    assert lay.edges.tolist() == [10.0, 20.0, 40.0]
    np.testing.assert_array_equal(lay.band_map(100, 8), [0, 0, 1, 1, 1])
    # tuples, lists, integer arrays all work
    assert tonecore.BandLayout((1, 2)) == tonecore.BandLayout(np.array([1.0, 2.0]))


@pytest.mark.parametrize(
    "edges",
    [[100.0, 50.0, 200.0], [100.0, 100.0, 200.0], [-1.0, 100.0], [0.0, float("nan"), 10.0],
     [0.0, float("inf")], [100.0], []],
    ids=["descending", "equal", "negative", "nan", "inf", "one-edge", "empty"],
)
def test_invalid_custom_edges_raise_invalid_bands(edges):
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.BandLayout(edges)
    assert info.value.status == _native.STATUS_INVALID_BANDS == 16
    assert info.value.detail


def test_edges_of_the_wrong_type_or_shape(no_native_calls):
    with no_native_calls():
        with pytest.raises(TypeError):
            tonecore.BandLayout(["a", "b"])
        with pytest.raises(TypeError):
            tonecore.BandLayout(np.array([1 + 1j, 2]))
        with pytest.raises(ValueError):
            tonecore.BandLayout(np.ones((2, 2)))


def test_equality_hash_repr_pickle():
    crit = tonecore.BandLayout.critical()
    assert crit == tonecore.BandLayout(CRITICAL_EDGES)
    assert hash(crit) == hash(tonecore.BandLayout(CRITICAL_EDGES))
    assert crit != tonecore.BandLayout.octave()
    assert crit != "critical"
    assert repr(crit) == "tonecore.BandLayout.critical()"
    assert (repr(tonecore.BandLayout.critical(0))
            == "tonecore.BandLayout.critical(first_edge_hz=0.0)")
    assert repr(tonecore.BandLayout.third_octave()) == "tonecore.BandLayout.third_octave()"
    assert repr(tonecore.BandLayout([1, 2.5])) == "tonecore.BandLayout([1.0, 2.5])"
    for lay in layouts():
        back = pickle.loads(pickle.dumps(lay))
        assert back == lay and repr(back) == repr(lay)
        assert np.array_equal(back.band_map(44100, 512), lay.band_map(44100, 512))


# --- band map ----------------------------------------------------------------------------


@pytest.mark.parametrize("sr, n", GRIDS)
def test_band_map_equals_searchsorted_reference(sr, n):
    for lay in layouts():
        got = lay.band_map(sr, n)
        assert got.dtype == np.int64 and got.shape == (n // 2 + 1,)
        np.testing.assert_array_equal(got, ref_band_map(lay.edges, sr, n))
    np.testing.assert_array_equal(tonecore.band_map(sr, n), ref_band_map(CRITICAL_EDGES, sr, n))
    np.testing.assert_array_equal(
        tonecore.band_map(sample_rate=sr, fft_size=n, layout="octave"),
        ref_band_map(tonecore.BandLayout.octave().edges, sr, n),
    )
    np.testing.assert_array_equal(
        tonecore.band_map(sr, n, layout=[0, 1000, 3000]), ref_band_map([0, 1000, 3000], sr, n)
    )


def test_band_map_errors():
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.band_map(0, 4096)
    assert info.value.status == _native.STATUS_INVALID_SAMPLE_RATE == 13
    for n in (4095, 0):
        with pytest.raises(tonecore.InvalidArgument) as info:
            tonecore.band_map(44100, n)
        assert info.value.status == _native.STATUS_INVALID_FFT_SIZE
    with pytest.raises(ValueError):
        tonecore.band_map(-1, 4096)
    with pytest.raises(ValueError):
        tonecore.band_map(44100.5, 4096)
    assert np.array_equal(tonecore.band_map(48000.0, 64), tonecore.band_map(48000, 64))
    with pytest.raises(TypeError):
        tonecore.band_map(44100, 4096.0)
    with pytest.raises(ValueError, match="unknown layout"):
        tonecore.band_map(44100, 4096, layout="quarter")


# --- gain curves -------------------------------------------------------------------------


@pytest.mark.parametrize("sr, n", GRIDS)
def test_step_curve_equals_reference(sr, n):
    rng = np.random.default_rng(n)
    for lay in layouts():
        g = rng.uniform(-20, 20, lay.bands)
        got = tonecore.gain_curve(g, layout=lay, sample_rate=sr, fft_size=n, mode="step")
        ref = ref_step_curve(lay.edges, g, sr, n)
        assert got.dtype == np.float64 and got.shape == ref.shape
        assert np.max(np.abs(got / ref - 1)) <= 1e-15


@pytest.mark.parametrize("sr, n", GRIDS)
def test_smooth_curve_equals_log_frequency_interpolation(sr, n):
    rng = np.random.default_rng(n + 1)
    for lay in layouts():
        g = rng.uniform(-20, 20, lay.bands)
        got = tonecore.gain_curve(g, layout=lay, sample_rate=sr, fft_size=n)
        ref = ref_smooth_curve(lay.edges, g, sr, n)
        assert np.max(np.abs(got / ref - 1)) <= 1e-12


def test_smooth_curve_passes_through_centres():
    # a grid whose bins land exactly on the centres of a custom layout
    lay = tonecore.BandLayout([100, 400, 1600, 6400])  # centres 200, 800, 3200 Hz
    g = np.array([6.0, -3.0, 9.0])
    curve = tonecore.gain_curve(g, layout=lay, sample_rate=12800, fft_size=128)  # 100 Hz bins
    np.testing.assert_allclose(20 * np.log10(curve[[2, 8, 32]]), g, atol=1e-12)
    # flat below the first and above the last centre
    np.testing.assert_allclose(20 * np.log10(curve[:2]), 6.0, atol=1e-12)
    np.testing.assert_allclose(20 * np.log10(curve[32:]), 9.0, atol=1e-12)


def test_gains_are_clamped_to_24_db():
    g = np.full(25, 40.0)
    g[::2] = -100.0
    for mode in ("smooth", "step"):
        got = tonecore.gain_curve(g, mode=mode)
        clamped = tonecore.gain_curve(np.clip(g, -24, 24), mode=mode)
        np.testing.assert_array_equal(got, clamped)
        ref = (ref_smooth_curve if mode == "smooth" else ref_step_curve)(
            CRITICAL_EDGES, g, 44100, 4096)
        assert np.max(np.abs(got / ref - 1)) <= 1e-12
    assert np.isclose(tonecore.gain_curve(np.full(25, 30.0), mode="step").max(), 10 ** (24 / 20),
                      rtol=1e-15)


def test_gain_curve_defaults_and_out(sentinel):
    g = np.linspace(-6, 6, 25)
    out = sentinel.array(2049, np.float64)
    r = tonecore.gain_curve(g, out=out)
    assert r is out
    assert np.max(np.abs(out / ref_smooth_curve(CRITICAL_EDGES, g, 44100, 4096) - 1)) <= 1e-12
    # lists and ints are accepted for gains
    assert np.array_equal(tonecore.gain_curve(list(range(25)), mode="step"),
                          tonecore.gain_curve(np.arange(25.0), mode="step"))


def test_gain_curve_errors(sentinel):
    out = sentinel.array(2049, np.float64)
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.gain_curve(np.zeros(24), out=out)
    assert info.value.status == _native.STATUS_GAIN_COUNT == 17
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.gain_curve(np.zeros(10), layout="third_octave", out=out)
    assert info.value.status == 17
    for bad in (np.nan, np.inf, -np.inf):
        g = np.zeros(25)
        g[7] = bad
        with pytest.raises(tonecore.InvalidArgument) as info:
            tonecore.gain_curve(g, out=out)
        assert info.value.status == _native.STATUS_NON_FINITE == 5
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.gain_curve(np.zeros(25), sample_rate=0, out=out)
    assert info.value.status == 13
    with pytest.raises(tonecore.InvalidArgument) as info:
        tonecore.gain_curve(np.zeros(25), fft_size=4097, out=np.empty(2049))
    assert info.value.status == 7
    assert sentinel.untouched(out)


def test_gain_curve_argument_errors_before_native_calls(sentinel, no_native_calls):
    crit = tonecore.BandLayout.critical()
    out = sentinel.array(2049, np.float64)
    with no_native_calls():
        with pytest.raises(ValueError, match="mode"):
            tonecore.gain_curve(np.zeros(25), layout=crit, mode="cubic", out=out)
        with pytest.raises(TypeError):
            tonecore.gain_curve(np.zeros(25), layout=crit, mode=1, out=out)
        with pytest.raises(ValueError):
            tonecore.gain_curve(np.zeros((5, 5)), layout=crit, out=out)
        with pytest.raises(TypeError):
            tonecore.gain_curve(["x"] * 25, layout=crit, out=out)
        with pytest.raises(TypeError):
            tonecore.gain_curve(np.zeros(25), layout=crit, out=np.empty(2049, np.float32))
        with pytest.raises(ValueError):
            tonecore.gain_curve(np.zeros(25), layout=crit, out=np.empty(2048))
    assert sentinel.untouched(out)


def test_layout_c_functions_directly():
    """The raw C functions: counts for each layout code, unknown codes refused."""
    n = ctypes.c_size_t()
    for code, bands in ((_native.LAYOUT_CRITICAL, 25), (_native.LAYOUT_OCTAVE, 10),
                        (_native.LAYOUT_THIRD_OCTAVE, 31)):
        assert _native.lib.tonecore_layout_bands(code, None, 0, ctypes.byref(n)) == 0
        assert n.value == bands
    assert _native.lib.tonecore_layout_bands(7, None, 0, ctypes.byref(n)) == 2
    assert _native.lib.tonecore_layout_bands(_native.LAYOUT_CUSTOM, None, 0,
                                             ctypes.byref(n)) == 1
