"""Every default of the Python API that the C ABI also has is the library's.

The expected values are read here from each ``tonecore_*_config_init`` (through the declared
functions, not through the package's own reading of them), so a default restated in Python that
no longer matches the library fails. A second test parses the package sources and fails on a
numeric or string literal as the default of a parameter or config field that a C config struct
also has: such a default must be read from the library, not written down.
"""

from __future__ import annotations

import ast
import ctypes
import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pytest

import tonecore
from tonecore import _native


def init(struct, name):
    c = struct()
    assert getattr(_native.lib, name)(ctypes.byref(c)) == 0, name
    return c


@pytest.fixture(scope="module")
def lib():
    """The library's defaults, one struct per ``*_config_init``."""
    return {
        "stft": init(_native.StftConfig, "tonecore_stft_config_init"),
        "equalizer": init(_native.EqualizerConfig, "tonecore_equalizer_config_init"),
        "equalize": init(_native.EqualizeConfig, "tonecore_equalize_config_init"),
        "pipeline": init(_native.PipelineConfig, "tonecore_pipeline_config_init"),
        "limiter": init(_native.LimiterConfig, "tonecore_limiter_config_init"),
        "render": init(_native.RenderConfig, "tonecore_render_config_init"),
        "engine": init(_native.EngineConfig, "tonecore_engine_config_init"),
    }


def defaults(fn):
    return {name: p.default for name, p in inspect.signature(fn).parameters.items()
            if p.default is not inspect.Parameter.empty}


def name_of(table, code):
    (name,) = [k for k, v in table.items() if v == code]
    return name


def test_stft_defaults(lib):
    c = lib["stft"]
    window = name_of(_native.WINDOW_KINDS, c.window)
    for fn in (tonecore.Stft, tonecore.stft):
        d = defaults(fn)
        assert (d["fft_size"], d["window"], d["center"]) == (c.fft_size, window, bool(c.center))
        assert d["threads"] is None and c.threads == 0  # None: all cores, as the library's 0
        assert d["hop"] is None and c.hop == c.fft_size // 4  # None: fft_size // 4
    d = defaults(tonecore.istft)
    assert (d["window"], d["center"]) == (window, bool(c.center))
    with tonecore.Stft() as s:
        assert (s.fft_size, s.hop, s.window, s.center) == (c.fft_size, c.hop, window, False)


def test_equalizer_defaults(lib):
    c = lib["equalizer"]
    mode = name_of(_native.CURVE_MODES, c.mode)
    d = defaults(tonecore.Equalizer)
    assert (d["fft_size"], d["max_block"], d["mode"], d["ramp_ms"]) == (
        c.fft_size, c.max_block, mode, c.ramp_ms)
    assert d["layout"] is None and c.layout == _native.LAYOUT_CRITICAL
    assert d["gains_db"] is None and not c.gains_db  # flat
    d = defaults(tonecore.gain_curve)
    assert (d["sample_rate"], d["fft_size"], d["mode"]) == (c.sample_rate, c.fft_size, mode)
    with tonecore.Equalizer(c.sample_rate, c.channels) as eq:
        assert (eq.fft_size, eq.max_block, eq.mode, eq.ramp_ms) == (
            c.fft_size, c.max_block, mode, c.ramp_ms)


def test_offline_equalizer_defaults(lib):
    c = lib["equalize"]
    d = defaults(tonecore.equalize)
    assert (d["fft_size"], d["mode"]) == (c.fft_size, name_of(_native.CURVE_MODES, c.mode))
    assert d["threads"] is None and c.threads == 0
    assert defaults(tonecore.band_energies)["fft_size"] == c.fft_size


def test_critical_layout_is_the_librarys():
    n = ctypes.c_size_t()
    assert _native.lib.tonecore_layout_bands(_native.LAYOUT_CRITICAL, None, 0,
                                             ctypes.byref(n)) == 0
    edges = np.empty(n.value + 1)
    centers = np.empty(n.value)
    assert _native.lib.tonecore_layout_edges(
        _native.LAYOUT_CRITICAL, None, 0, _native.pointer_to(edges, ctypes.c_double),
        edges.size, _native.pointer_to(centers, ctypes.c_double), centers.size) == 0
    assert defaults(tonecore.BandLayout.critical)["first_edge_hz"] == edges[0]
    # another first edge keeps the library's upper edges
    assert np.array_equal(tonecore.BandLayout.critical(10.0).edges[1:], edges[1:])
    assert np.array_equal(tonecore.BandLayout.critical().edges, edges)


def test_pipeline_config_defaults(lib):
    c = lib["pipeline"]
    level = tonecore.LevelConfig()
    assert dataclasses.astuple(level) == (
        c.target_lufs, tonecore.LEVEL_MODES[c.level_mode], c.track_gain_db, c.attack_ms,
        c.release_ms, c.max_boost_db, c.max_cut_db, c.gate_lufs, c.window_ms)
    assert dataclasses.astuple(tonecore.LimiterConfig()) == (
        c.ceiling_db, c.lookahead_ms, c.limiter_release_ms, bool(c.limiter_true_peak))
    cfg = tonecore.PipelineConfig()
    assert (cfg.mode, cfg.fft_size, cfg.ramp_ms) == (
        name_of(_native.CURVE_MODES, c.mode), c.fft_size, c.ramp_ms)
    # None: the stage starts bypassed, as the library's *_enabled = 0
    assert (cfg.eq_gains, cfg.level, cfg.limiter) == (None, None, None)
    assert (c.eq_enabled, c.level_enabled, c.limiter_enabled) == (0, 0, 0)
    assert cfg.layout is None and c.layout == _native.LAYOUT_CRITICAL
    assert defaults(tonecore.Pipeline)["max_block"] == c.max_block
    d = defaults(tonecore.normalize)
    assert (d["target_lufs"], d["ceiling_dbtp"]) == (c.target_lufs, c.ceiling_db)


def test_the_limiter_on_its_own_has_the_pipelines_limiter_defaults(lib):
    c, p = lib["limiter"], lib["pipeline"]
    assert (c.ceiling_db, c.lookahead_ms, c.release_ms, bool(c.true_peak)) == (
        p.ceiling_db, p.lookahead_ms, p.limiter_release_ms, bool(p.limiter_true_peak))
    with tonecore.Limiter(c.sample_rate, c.channels) as lim:
        assert lim.config == tonecore.LimiterConfig()


def test_render_defaults(lib):
    c = lib["render"]
    curve = name_of(_native.FADE_CURVES, c.curve)
    expect = {"chunk_seconds": c.chunk_seconds, "crossfade_seconds": c.crossfade_seconds,
              "lookahead_chunks": c.lookahead_chunks, "seek_fade_ms": c.seek_fade_ms,
              "curve": curve, "context_seconds": None, "threads": None}
    assert c.context_seconds < 0 and c.threads == 0  # None: the pipeline's settle time / all cores
    engine = tonecore.Engine
    for fn in (tonecore.render_chunked, tonecore.PlaybackStream, engine.open_stream,
               engine.submit_render, tonecore.process_file, tonecore.crossfade_concat):
        d = defaults(fn)
        shared = {k: v for k, v in expect.items() if k in d}
        assert shared and {k: d[k] for k in shared} == shared, fn.__qualname__


def test_engine_defaults(lib):
    c = lib["engine"]
    d = defaults(tonecore.Engine)
    assert set(d.values()) == {None}  # every one is the library's, read at construction
    with tonecore.Engine() as e:
        assert (e.max_streams, e.max_jobs, e.cache_capacity) == (
            c.max_streams, c.max_jobs, c.cache_bytes)


def test_match_defaults():
    c = init(_native.MatchConfig, "tonecore_match_config_init")
    assert c.struct_size == ctypes.sizeof(_native.MatchConfig)
    for fn in (tonecore.match, tonecore.match_config):
        d = defaults(fn)
        assert (d["strength"], d["max_gain_db"], d["smoothing_octaves"], d["ceiling_dbtp"]) == (
            c.strength, c.max_gain_db, c.smoothing_octaves, c.ceiling_dbtp), fn.__name__
        # None: the reference's loudness, as the library's NaN
        assert d["target_lufs"] is None and np.isnan(c.target_lufs)
        assert d["threads"] is None and d["reference_rate"] is None
    assert defaults(tonecore.profile)["threads"] is None


def test_live_match_defaults():
    c = init(_native.LiveMatchConfig, "tonecore_live_match_config_init")
    assert c.struct_size == ctypes.sizeof(_native.LiveMatchConfig)
    d = defaults(tonecore.Pipeline.live_match)
    assert (d["strength"], d["max_gain_db"], d["smoothing_octaves"], d["ceiling_dbtp"],
            d["time_constant_s"], d["max_slew_db_per_s"], d["warmup_s"]) == (
        c.strength, c.max_gain_db, c.smoothing_octaves, c.ceiling_dbtp, c.time_constant_s,
        c.max_slew_db_per_s, c.warmup_s)
    # None: the reference's loudness, as the library's NaN
    assert d["target_lufs"] is None and np.isnan(c.target_lufs)
    assert d["threads"] is None and d["reference_rate"] is None and d["copy"] is False
    # live_match_config takes the match's settings (tonecore_match_config_init), and the live
    # match's defaults are the match's
    m = init(_native.MatchConfig, "tonecore_match_config_init")
    assert (c.strength, c.max_gain_db, c.smoothing_octaves, c.ceiling_dbtp) == (
        m.strength, m.max_gain_db, m.smoothing_octaves, m.ceiling_dbtp)
    d = defaults(tonecore.live_match_config)
    assert (d["strength"], d["max_gain_db"], d["smoothing_octaves"], d["ceiling_dbtp"]) == (
        m.strength, m.max_gain_db, m.smoothing_octaves, m.ceiling_dbtp)
    assert d["target_lufs"] is None and d["threads"] is None and d["reference_rate"] is None


def _config_field_names():
    names = set()
    for obj in vars(_native).values():
        if isinstance(obj, type) and issubclass(obj, ctypes.Structure) and \
                obj.__name__.endswith("Config") and not obj.__name__.startswith("Auralis"):
            names.update(f[0] for f in obj._fields_)
    return names - {"struct_size"}


def test_no_library_default_is_restated_in_the_sources():
    """A parameter or dataclass field named like a C config field (``fft_size``, ``ramp_ms``,
    ``chunk_seconds``, ...) gets its default from the library, never from a literal.
    ``tonecore.compat`` is exempt: it mirrors another package's signatures."""
    fields = _config_field_names() | {"ceiling_dbtp", "window", "curve"}
    # Not a library default: batch runs one native thread per worker process by design.
    own_policy = {("batch.py", "threads")}
    assert {"fft_size", "max_block", "ramp_ms", "chunk_seconds", "ceiling_db",
            "time_constant_s", "max_slew_db_per_s", "warmup_s"} <= fields
    package = Path(tonecore.__file__).parent
    found = []
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            pairs = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                positional = args.posonlyargs + args.args
                pairs += zip(positional[len(positional) - len(args.defaults):], args.defaults)
                pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d]
                pairs = [(a.arg, d) for a, d in pairs]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                    and node.value is not None:
                pairs = [(node.target.id, node.value)]
            for name, default in pairs:
                literal = isinstance(default, ast.Constant) or (
                    isinstance(default, ast.UnaryOp) and isinstance(default.operand, ast.Constant))
                if (name in fields and literal and getattr(default, "value", 0) is not None
                        and (path.name, name) not in own_policy):
                    found.append(f"{path.name}:{default.lineno}: {name} = {ast.unparse(default)}")
    assert not found, "defaults restated instead of read from the library:\n" + "\n".join(found)
