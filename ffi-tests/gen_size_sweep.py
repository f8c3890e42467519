#!/usr/bin/env python3
"""gen_size_sweep.py — generates ffi-tests/build/test_size_sweep.c from include/tonecore.h.

Every function of the header is classified by its parameters. Every parameter (and every numeric
field of a config or stats struct the function takes) that is a size, count, rate, length or a
floating time/level/position is swept: the function is called with valid arguments (fixtures and
the defaults of the rules below) except that one parameter, which takes each hostile value of
its class (0, the documented maximum and one above it, 2^40, SIZE_MAX or the type's maximum;
NaN, -Inf, +Inf, -1, 1e300 for floating ones). Each call must return OK or a status its doc
comment documents (never PANIC or POISONED), must leave every output untouched when it refuses,
and must return at all (each function runs in its own forked child, so an abort, a crash or a
hang is reported against the function and the case, and the other functions still run).

A parameter or field this generator has no rule for FAILS the generation (exit 1): a new
function or field is either swept or explicitly excluded here, never skipped silently.

Input lengths are special: a length that says how many elements the library READS from a
caller's buffer cannot be lied about unless the library must refuse it before reading. Such a
length is swept with 0, one below the real buffer, SIZE_MAX and the first length beyond the
address space (all must be handled without reading past the real buffer); 2^40 and max+1 are
added only where REFUSED_BEFORE_READ gives the documented reason the call must refuse before it
reads (an output too small for it, a block above max_block, a count that must equal the bands,
an allocation of the caller's size that cannot be made). Output capacities are swept with every
value (the library writes only what it needs), except outputs whose length IS the amount
written (FILLS_WHOLE_OUTPUT). A buffer length beyond the address space must be refused. Inputs of
the 2^40 cases come from a static arena below ASan's heap, so the claimed range overlaps no
output and the size check itself (not BUFFERS_OVERLAP) must refuse it.

Also checked: a function with a `channels` parameter gets channels = 2^40 / SIZE_MAX with all its
lengths 0 (a whole number of frames of any count). Found bugs and doc mismatches not yet fixed
are listed in KNOWN: reported on every run, not counted as failures ("CRASH" ones not run).
Valid maxima that cost seconds under ASan (2^24-point FFTs, 1024-thread pools) run only with
SWEEP_FULL=1 (`make -C ffi-tests size-sweep-full`).

The generated program runs JOBS children at a time (SWEEP_JOBS, default 2), each with a
SWEEP_TIMEOUT (s, default 60); SWEEP_VERBOSE=1 prints every case and its status, SWEEP_SLOW=s the
cases slower than s; an argument runs only the functions whose name contains it.

    python3 gen_size_sweep.py ../include/tonecore.h build/test_size_sweep.c
"""
import re
import sys

# --------------------------------------------------------------------------------------------
# Rules.

# Functions never called, with the reason.
EXCLUDED_FUNCTIONS = {
    "tonecore_debug_panic": "panics on purpose (test_basics covers it); no parameter",
}
FREE_FUNCTIONS_REASON = "frees an object: its only parameter is the object"

# Parameters that are not sizes: not swept (they still get a valid value). name -> reason.
NOT_A_SIZE = {
    "layout": "enum (TONECORE_LAYOUT_*), swept by test_bad_input",
    "mode": "enum (TONECORE_CURVE_MODE_*)",
    "kind": "enum (TONECORE_WINDOW_*)",
    "curve": "enum (TONECORE_FADE_CURVE_*)",
    "stage": "enum (TONECORE_STAGE_*)",
    "status": "a status code",
    "paused": "a flag",
    "bypassed": "a flag",
    "key": "an identifier",
    "job_key": "an identifier",
    "content_id": "an identifier",
    "stream": "an identifier",
    "job": "an identifier",
    "token": "an identifier",
    "callback": "a function pointer",
    "progress": "a function pointer",
    "user_data": "an opaque pointer",
}

# Numeric parameters and fields swept as counts/sizes: name -> documented maximum (None: no
# documented maximum) — the maximum and maximum + 1 are swept.
COUNTS = {
    "channels": 64,
    "fft_size": 1 << 24,
    "hop": "HOP_MAX",  # the fft_size in use
    "sample_rate": 2822400,
    "threads": 1024,
    "worker_threads": 1024,
    "max_streams": 4096,
    "max_jobs": 65536,
    "max_block": 1 << 24,
    "lookahead_chunks": 1024,
    "frames": None,
    "signal_len": None,
    "overlap": None,
    "end_frames": None,
    "mask": None,
    "cache_bytes": None,
    "partition": 65536,
}

# Floating parameters and fields: name -> documented maximum (None: none).
FLOATS = {
    "seconds": None,
    "timeout_seconds": None,
    "target_lufs": 0.0,
    "ceiling_db": 0.0,
    "target_peak": None,
    "attack_alpha": None,
    "release_alpha": None,
    "target": None,
    "ramp_ms": 10000.0,
    "attack_ms": 60000.0,
    "release_ms": 60000.0,
    "max_boost_db": 40.0,
    "max_cut_db": 80.0,
    "gate_lufs": 0.0,
    "window_ms": 10000.0,
    "lookahead_ms": 100.0,
    "limiter_release_ms": 10000.0,
    "track_gain_db": 60.0,
    "chunk_seconds": None,
    "context_seconds": None,
    "crossfade_seconds": None,
    "seek_fade_ms": 1000.0,
    "adaptation_speed": None,
    "first_edge_hz": 100.0,
    "profile_spectral_centroid": None,
    # Reference matching (tonecore_match_config, tonecore_live_match_config).
    "strength": 1.0,
    "max_gain_db": 24.0,
    "smoothing_octaves": 2.0,
    "ceiling_dbtp": 0.0,
    "time_constant_s": 120.0,
    "max_slew_db_per_s": 24.0,
    "warmup_s": 60.0,
}

# Struct fields that are not swept: name -> reason.
FIELD_NOT_A_SIZE = {
    "sample_format": "enum", "window": "enum", "layout": "enum", "mode": "enum",
    "curve": "enum", "level_mode": "enum", "phase": "enum", "center": "flag", "true_peak": "flag",
    "eq_enabled": "flag", "level_enabled": "flag", "limiter_enabled": "flag",
    "limiter_true_peak": "flag", "analysis": "enum", "has_profile": "flag",
    "profile_genre": "enum", "profile_energy_level": "enum",
    "edges": "pointer", "custom_window": "pointer", "gains_db": "pointer",
    "eq_gains_db": "pointer",
}
# Length fields of pointer fields: swept like read lengths; the value set depends on the pointer:
# NULL pointers (edges of a non-CUSTOM layout, no custom window, NULL gains) are never read.
FIELD_LENGTHS = {
    "edges_len": "ignored: edges are read only for the CUSTOM layout (the config uses CRITICAL)",
    "custom_window_len": "ignored: custom_window is NULL",
}
# Length fields of arrays the configs do point to (25 gains of 1 dB, so the EQ is not flat):
# a count that must equal the band count, so 2^40 and 26 must be refused before reading.
FIELD_READ_LENGTHS = {"gains_len": 25, "eq_gains_len": 25}

# Structs whose fields are swept when a function takes them (input configs and the caller-sized
# output structs).
SWEPT_STRUCTS = {
    "tonecore_stft_config", "tonecore_equalizer_config", "tonecore_limiter_config",
    "tonecore_pipeline_config", "tonecore_render_config", "tonecore_engine_config",
    "tonecore_equalize_config", "tonecore_auralis_eq_config",
    "tonecore_normalize_report", "tonecore_limiter_stats", "tonecore_pipeline_stats",
    "tonecore_engine_stats",
    "tonecore_match_config", "tonecore_live_match_config", "tonecore_profile_info",
    "tonecore_match_report", "tonecore_live_match_state",
}

# Lengths of input buffers whose 2^40 / max+1 values the call must refuse before it reads:
# (function regex, length) -> reason. Others get only values within the buffer or beyond the
# address space.
REFUSED_BEFORE_READ = [
    (r"_process(_interleaved)?_f(32|64)$", "input_len",
     "above max_block x channels: BLOCK_TOO_LARGE / BUFFER_TOO_SMALL (output_len)",
     r"^tonecore_(equalizer|pipeline|limiter|auralis_level_matcher)_"),
    (r"^tonecore_(stft_forward|band_energies|auralis_windowed_fft|auralis_stft|equalize|"
     r"auralis_safety_limit|auralis_eq_process|normalize|render_chunked)_f(32|64)$", "input_len",
     "needs more output than output_len: BUFFER_TOO_SMALL before reading", None),
    (r"^tonecore_stft_inverse_f(32|64)$", "spectrum_len",
     "needs more output than output_len: BUFFER_TOO_SMALL before reading", None),
    (r"crossfade_concat_f(32|64)$", "a_len", "output too small: BUFFER_TOO_SMALL", None),
    (r"crossfade_concat_f(32|64)$", "b_len", "output too small: BUFFER_TOO_SMALL", None),
    (r"^tonecore_(engine_open_stream|engine_submit_render|playback_open)_f(32|64)$",
     "track_len", "the track copy cannot be reserved: OUT_OF_MEMORY before reading", None),
    (r"^tonecore_engine_submit_render_f(32|64)$", "input_len",
     "the track copy cannot be reserved: OUT_OF_MEMORY before reading", None),
    (r"^tonecore_(gain_curve|equalizer_set_gains|params_set_eq_gains|equalize_f32|equalize_f64)$",
     "gains_len", "must equal the band count: GAIN_COUNT before reading", None),
    (r"^tonecore_auralis_eq_process_f(32|64)$", "gains_len",
     "must be 25: GAIN_COUNT before reading", None),
    (r"^tonecore_auralis_apply_eq_frame_f(32|64)$", "frame_len",
     "above fft_size x channels: INVALID_LENGTH before reading", None),
    (r"^tonecore_auralis_apply_eq_frame_f(32|64)$", "map_len",
     "must be fft_size/2 + 1: INVALID_LENGTH before reading", None),
    (r"^tonecore_auralis_gain_curve$", "map_len",
     "above curve_len: BUFFER_TOO_SMALL before reading", None),
]

# Output lengths that are the amount written (not a capacity): swept like read lengths.
FILLS_WHOLE_OUTPUT = {
    ("tonecore_window_fill_f32", "output_len"), ("tonecore_window_fill_f64", "output_len"),
    ("tonecore_auralis_smoother_process", "output_len"),
    ("tonecore_engine_stream_read_f32", "output_len"),
    ("tonecore_engine_stream_read_f64", "output_len"),
    ("tonecore_playback_read_f32", "output_len"), ("tonecore_playback_read_f64", "output_len"),
}

# Length parameters not named *_len (the size_t right after a buffer): name -> what it is.
LEN_ALIASES = {
    "len": "tonecore_profile_from_json: bytes of the document",
    "capacity": "tonecore_profile_to_json: bytes the buffer holds",
}

# Outputs a refused call does write, as documented: (function, parameter) -> the doc's words.
OUT_WRITTEN_ON_REFUSAL = {
    ("tonecore_profile_to_json", "len_out"):
        "receives the document's length ... in every case that gets that far (BUFFER_TOO_SMALL)",
}

# Lengths of input buffers that the library never reads with this fixture (NULL or unused).
IGNORED_LENGTHS = {
    "edges_len": "edges are read only for the CUSTOM layout (the sweep uses CRITICAL)",
    "window_len": "window is NULL (the default window)",
}

# Counts that are not buffer lengths although their names end in _len.
COUNT_LENS = {("tonecore_auralis_frame_count", "input_len")}

IN = 8192  # samples of every default planar/interleaved input: 2 channels x 4096 frames

# Valid values per function: {function: {name: C expression}}; "*" applies to every function.
DEFAULTS = {
    "*": {
        "channels": "2", "sample_rate": "44100", "fft_size": "1024", "hop": "256",
        "threads": "1", "layout": "TONECORE_LAYOUT_CRITICAL", "edges_len": "0",
        "mode": "TONECORE_CURVE_MODE_SMOOTH", "kind": "TONECORE_WINDOW_HANN",
        "curve": "TONECORE_FADE_CURVE_EQUAL_GAIN", "input_len": str(IN), "track_len": str(IN),
        "reference_len": str(IN), "gains_len": "25", "target_len": "25",
        "gains_out_len": "25", "window_len": "0", "key": "4242", "job_key": "0",
        "content_id": "0x5eed", "seconds": "0.01", "timeout_seconds": "0.0",
        "target_lufs": "-14.0", "ceiling_db": "-1.0", "target_peak": "0.95",
        "attack_alpha": "0.01", "release_alpha": "0.001", "target": "1.5", "paused": "0",
        "stage": "TONECORE_STAGE_EQ", "bypassed": "0", "mask": "TONECORE_EVENTS_ALL",
        "status": "0", "a_len": str(IN), "b_len": str(IN), "overlap": "256",
        "output_len": str(IN), "user_data": "NULL", "progress": "NULL",
        "callback": "sweep_event_cb", "frames": "13", "signal_len": "4096",
    },
    "tonecore_band_energies_*": {"output_len": "13 * 25"},
    "tonecore_layout_edges": {"edges_out_len": "26", "centers_out_len": "25"},
    "tonecore_band_map": {"map_len": "513"},
    "tonecore_gain_curve": {"curve_len": "513"},
    "tonecore_auralis_gain_curve": {"map_len": "513", "curve_len": "513"},
    "tonecore_auralis_apply_eq_frame_*": {"frame_len": "2048", "map_len": "513",
                                           "output_len": "2048"},
    "tonecore_auralis_windowed_fft_*": {"output_len": "29 * 1024"},
    "tonecore_auralis_stft_*": {"output_len": "29 * 513"},
    "tonecore_auralis_frame_count": {"input_len": "8192"},
    "tonecore_auralis_crossfade_concat_*": {"output_len": str(2 * IN)},
    "tonecore_crossfade_concat_*": {"output_len": str(2 * IN)},
    "tonecore_auralis_seam_*": {"tail_len": "1024", "chunk_len": str(IN), "end_frames": "4096"},
    "tonecore_auralis_smoother_process": {"output_len": "1024"},
    "tonecore_engine_stream_read_*": {"output_len": "1024"},
    "tonecore_playback_read_*": {"output_len": "1024"},
    "tonecore_engine_job_take_result_*": {"output_len": str(IN)},
    "tonecore_equalizer_gains": {"gains_len": "25"},
    "tonecore_params_set_level_reference_*": {"reference_len": "48000"},
    "tonecore_stft_forward_*": {"output_len": "2 * 13 * 513"},
    "tonecore_stft_inverse_*": {"spectrum_len": "2 * 13 * 513", "output_len": str(IN)},
    "tonecore_window_fill_*": {"output_len": "1024"},
    "tonecore_loudness_meter_add_*": {"input_len": str(IN)},
    "tonecore_profile_from_json": {"len": "fx_json_len()"},
    "tonecore_profile_to_json": {"capacity": "4096"},
    "tonecore_profile_spectrum": {"spectrum_len": "61", "side_mid_len": "61"},
    "tonecore_match_pipeline_config": {"gains_len": "61"},
}

# Input buffer contents: name -> C allocator taking (n) (float/double chosen per function).
INPUT_FILL = {
    "input": "audio", "a": "audio", "b": "audio", "chunk": "audio", "tail": "audio",
    "frame": "audio", "reference": "audio", "track": "audio",
    "gains_db": "zeros", "gains_in": "zeros", "target": "zeros", "band_map": "bandmap",
    "spectrum": "zeros", "edges": "null", "window": "null",
    "json": "json",
}

# Object parameters: struct type -> fixture expression ({f} = 0 for f32, 1 for f64).
FIXTURES = {
    "tonecore_stft": "fx_stft({f})", "tonecore_equalizer": "fx_equalizer({f})",
    "tonecore_limiter": "fx_limiter({f})", "tonecore_pipeline": "fx_pipeline({f})",
    "tonecore_params": "fx_params({f})", "tonecore_playback": "fx_playback({f})",
    "tonecore_loudness_meter": "fx_meter()", "tonecore_engine": "fx_engine()",
    "tonecore_profile": "fx_profile()",
}
# Object parameters of one function that need another fixture: (function, parameter) -> it.
FIXTURE_FOR = {
    # live matching needs the EQ on the sixth-octave grid
    ("tonecore_pipeline_live_match", "pipeline"): "fx_grid_pipeline({f})",
    # the params of a pipeline that matches live
    ("tonecore_params_update_match", "params"): "fx_live_params({f})",
}
ID_FIXTURES = {"stream": "fx_stream({f})", "job": "fx_job({f})", "token": "fx_token()"}
# Functions that consume their id: a fresh one per case.
FRESH_ID = {"tonecore_engine_job_take_result_f32": "job",
            "tonecore_engine_job_take_result_f64": "job"}

# Config defaults: struct -> C function filling it for format {f}.
CONFIG_DEFAULT = {
    "tonecore_stft_config": "cfg_stft", "tonecore_equalizer_config": "cfg_equalizer",
    "tonecore_limiter_config": "cfg_limiter", "tonecore_pipeline_config": "cfg_pipeline",
    "tonecore_render_config": "cfg_render", "tonecore_engine_config": "cfg_engine",
    "tonecore_equalize_config": "cfg_equalize", "tonecore_auralis_eq_config": "cfg_auralis_eq",
    "tonecore_match_config": "cfg_match", "tonecore_live_match_config": "cfg_live_match",
}
FREE_FN = {
    "tonecore_stft": "tonecore_stft_free", "tonecore_equalizer": "tonecore_equalizer_free",
    "tonecore_limiter": "tonecore_limiter_free", "tonecore_pipeline": "tonecore_pipeline_free",
    "tonecore_params": "tonecore_params_free", "tonecore_playback": "tonecore_playback_free",
    "tonecore_loudness_meter": "tonecore_loudness_meter_free",
    "tonecore_engine": "tonecore_engine_free",
    "tonecore_profile": "tonecore_profile_free",
}
# Id out-parameters and how to give the id back on success.
ID_OUT_RELEASE = {
    "stream_out": "tonecore_engine_stream_close(fx_engine(), {v})",
    "job_out": "tonecore_engine_job_release(fx_engine(), {v})",
    "token_out": "tonecore_engine_unsubscribe(fx_engine(), {v})",
}
# In/out structs the caller owns: initialised here, compared (unchanged on error).
INOUT_INIT = {
    "tonecore_auralis_smoother": "tonecore_auralis_smoother_init(0.01, 0.001, &{v})",
    "tonecore_auralis_level_matcher": "sweep_matcher_init(&{v})",
}
# "the pipeline config's errors" in a doc comment = the statuses of this function.
CONFIG_ERRORS_OF = {"the pipeline config's errors": "tonecore_pipeline_new"}
# Docs that say outputs are unspecified after an error (their buffers are not checked).
UNSPECIFIED_OUTPUT_PHRASES = ["output is unspecified after an error", "output is incomplete"]

STATUS_ALWAYS_BAD = {"PANIC", "POISONED"}

# Known library bugs and header-doc mismatches found by this sweep, each to be fixed in the
# library or its docs (then its entry is deleted here). A matching case is reported as KNOWN and
# not counted as a failure. (regex over "function(param = value)", status name or "CRASH",
# what is wrong). "CRASH" cases (an abort, a crash or a hang) are not run at all.
KNOWN = [
]

# --------------------------------------------------------------------------------------------
# Header parsing.


def fail(msg):
    sys.stderr.write("gen_size_sweep.py: " + msg + "\n")
    sys.exit(1)


def parse(header):
    text = open(header, encoding="utf-8").read()
    statuses = dict((m.group(1), int(m.group(2))) for m in
                    re.finditer(r"TONECORE_STATUS_(\w+) = (\d+)", text))
    structs = {}
    for m in re.finditer(r"typedef struct (tonecore_\w+) \{(.*?)\} \1;", text, re.S):
        fields = []
        for line in m.group(2).splitlines():
            line = line.strip()
            if not line or line.startswith("//"):
                continue
            fm = re.match(r"(.+?)\s*(\w+)(\[\w+\])?;$", line)
            if not fm:
                fail("cannot parse field %r of %s" % (line, m.group(1)))
            fields.append((fm.group(1).strip(), fm.group(2), fm.group(3)))
        structs[m.group(1)] = fields
    funcs = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(tonecore_status|void|uint32_t|const char \*)\s*(tonecore_\w+)\((.*)$",
                     lines[i])
        if not m:
            i += 1
            continue
        ret, name = m.group(1), m.group(2)
        decl = m.group(3)
        j = i
        while not decl.rstrip().endswith(");"):
            j += 1
            decl += " " + lines[j].strip()
        # The comment block above.
        k = i - 1
        doc = []
        while k >= 0 and lines[k].startswith("//"):
            doc.insert(0, lines[k][2:].strip())
            k -= 1
        args = decl.rstrip()[:-2]
        params = []
        for p in args.split(","):
            p = " ".join(p.split())
            if not p or p == "void":
                continue
            pm = re.match(r"(.+?)\s*(\w+)$", p)
            params.append((pm.group(1).replace(" *", "*").replace("* ", "*"), pm.group(2)))
        funcs.append({"name": name, "ret": ret, "params": params, "doc": " ".join(doc)})
        i = j + 1
    return statuses, structs, funcs, conventions(text, statuses)


def conventions(text, statuses):
    """Statuses the header's opening "Conventions:" paragraph allows for every function that
    takes a buffer (e.g. INVALID_LENGTH for a length beyond the address space, if it says so)."""
    m = re.search(r"Conventions:(.*?)\n \*\n", text, re.S)
    para = m.group(1) if m else ""
    names = set(re.findall(r"TONECORE_STATUS_([A-Z_]+)", para)) | \
        set(re.findall(r"`([A-Z_]+)`", para))
    return set(n for n in names if n in statuses and n != "OK")


def documented(func, byname, statuses, seen=None):
    seen = seen or set()
    seen.add(func["name"])
    doc = func["doc"]
    names = set(t for t in re.findall(r"`(?:TONECORE_STATUS_)?([A-Z_]+)`", doc) if t in statuses)
    m = re.search(r"Returns as `(tonecore_\w+)`", doc)
    if m and m.group(1) not in seen:
        names |= documented(byname[m.group(1)], byname, statuses, seen)
    for phrase, other in CONFIG_ERRORS_OF.items():
        if phrase in doc and other not in seen:
            names |= documented(byname[other], byname, statuses, seen)
    names.discard("OK")
    return names


def fn_defaults(name):
    d = dict(DEFAULTS["*"])
    for k, v in DEFAULTS.items():
        if k == "*":
            continue
        if k == name or (k.endswith("*") and name.startswith(k[:-1])):
            d.update(v)
    return d


def fmt_of(name):
    return 1 if re.search(r"_f64$", name) else 0


# --------------------------------------------------------------------------------------------
# Value sets.

U64MAX = (1 << 64) - 1


def c_u(v):
    return "UINT64_C(%d)" % v


def count_values(ctype, maxv):
    """(label, C expression) of hostile values for an unsigned count of C type ctype."""
    vals = [("0", "0"), ("1", "1")]
    if maxv == "HOP_MAX":
        vals += [("max(=fft_size)", "1024"), ("max+1", "1025")]
    elif maxv is not None:
        vals += [("max(=%d)" % maxv, c_u(maxv)), ("max+1", c_u(maxv + 1))]
        if maxv == 1 << 24:
            vals += [("max+2", c_u(maxv + 2))]  # max+1 is odd: also an even size above it
    if ctype == "size_t":
        vals += [("2^40", "(UINT64_C(1) << 40)"), ("SIZE_MAX", "SIZE_MAX")]
    elif ctype == "uint32_t":
        vals += [("UINT32_MAX", "UINT32_MAX")]
    elif ctype == "uint64_t":
        vals += [("2^40", "(UINT64_C(1) << 40)"), ("UINT64_MAX", "UINT64_MAX")]
    else:
        fail("no count rule for C type %s" % ctype)
    return vals


def float_values(maxv):
    vals = [("0.0", "0.0"), ("-1.0", "-1.0"), ("NaN", "NAN"), ("-Inf", "-INFINITY"),
            ("+Inf", "INFINITY"), ("1e300", "1e300"), ("-1e300", "-1e300")]
    if maxv is not None:
        vals += [("max(=%g)" % maxv, repr(float(maxv))),
                 ("max+1", repr(float(maxv) + 1.0))]
    return vals


def read_len_values(elem, refusal):
    """Lengths of an input buffer holding the valid length of elements (`LEN` at run time)."""
    vals = [("0", "0"), ("valid-1", "LEN - 1"), ("SIZE_MAX", "SIZE_MAX"),
            ("unaddressable", "((SIZE_MAX >> 1) / sizeof(%s) + 1)" % elem)]
    if refusal:
        vals += [("2^40", "(UINT64_C(1) << 40)"), ("valid+1", "LEN + 1")]
    return vals


def cap_values():
    return [("0", "0"), ("valid-1", "LEN - 1"), ("2^40", "(UINT64_C(1) << 40)"),
            ("SIZE_MAX", "SIZE_MAX")]


# --------------------------------------------------------------------------------------------
# Code generation for one function.

ELEM = {
    "float": "float", "double": "double", "int64_t": "int64_t", "uint32_t": "uint32_t",
    "char": "char",
    "struct tonecore_complex_f32": "tonecore_complex_f32",
    "struct tonecore_complex_f64": "tonecore_complex_f64",
}


class Gen:
    def __init__(self, statuses, structs, funcs):
        self.statuses = statuses
        self.structs = structs
        self.funcs = funcs
        self.byname = dict((f["name"], f) for f in funcs)
        self.out = []
        self.swept = []      # (function, n params, n cases)
        self.unswept = []    # (function, reason)
        self.ncases = 0
        self.nparams = 0

    def refusal(self, fname, pname):
        for rx, p, reason, also in REFUSED_BEFORE_READ:
            if p == pname and re.search(rx, fname) and (also is None or re.search(also, fname)):
                return reason
        return None

    def gen_function(self, f):
        name, params = f["name"], f["params"]
        if name in EXCLUDED_FUNCTIONS:
            self.unswept.append((name, EXCLUDED_FUNCTIONS[name]))
            return None
        if name.endswith("_free"):
            self.unswept.append((name, FREE_FUNCTIONS_REASON))
            return None
        if f["ret"] != "tonecore_status":
            if all(p[1] in NOT_A_SIZE for p in params):
                self.unswept.append((name, "cannot fail; no size parameter"))
                return None
            fail("%s returns %s and takes parameters: no rule" % (name, f["ret"]))
        fmt = fmt_of(name)
        dflt = fn_defaults(name)
        decls, setup, args, outs, release, cases = [], [], [], [], [], []
        check_bufs = not any(ph in f["doc"] for ph in UNSPECIFIED_OUTPUT_PHRASES)
        lens = {}  # length param -> buffer param
        for i, (ctype, pname) in enumerate(params):
            if re.sub(r"^const |\*$", "", ctype) in ELEM and ctype.endswith("*") \
                    and i + 1 < len(params) and params[i + 1][0] == "size_t" \
                    and (params[i + 1][1].endswith("_len") or params[i + 1][1] in LEN_ALIASES):
                lens[params[i + 1][1]] = (pname, ctype)
        sweeps = []  # (param label, assignment target, values, is_len)
        for i, (ctype, pname) in enumerate(params):
            arg = pname
            if pname in NOT_A_SIZE:
                if pname in ("stream", "job", "token"):
                    if FRESH_ID.get(name) == pname:
                        decls.append("uint64_t %s = fx_fresh_job(%d);" % (pname, fmt))
                        release.append("if (st != TONECORE_STATUS_OK) "
                                       "(void)tonecore_engine_job_release(fx_engine(), %s);"
                                       % pname)
                    else:
                        decls.append("uint64_t %s = %s;" % (pname, ID_FIXTURES[pname].format(f=fmt)))
                elif ctype in ("int32_t", "uint32_t", "uint64_t"):
                    decls.append("%s %s = %s;" % (ctype, pname, dflt[pname]))
                elif ctype in ("tonecore_event_fn", "tonecore_progress_fn",
                               "tonecore_render_progress_fn", "void*"):
                    decls.append("%s %s = %s;" % (ctype, pname, dflt[pname]))
                else:
                    fail("%s: parameter %s %s: no rule" % (name, ctype, pname))
                args.append(arg)
                continue
            m = re.match(r"^(const )?struct (tonecore_\w+)(\*+)$", ctype)
            if m:
                const, st, stars = m.group(1), m.group(2), m.group(3)
                if (name, pname) in FIXTURE_FOR and stars == "*":
                    decls.append("%s%s *%s = %s;" % (const or "", st, pname,
                                                     FIXTURE_FOR[(name, pname)].format(f=fmt)))
                elif st in FIXTURES and stars == "*":
                    decls.append("%s%s *%s = %s;" % (const or "", st, pname,
                                                     FIXTURES[st].format(f=fmt)))
                elif st in CONFIG_DEFAULT and const:
                    decls.append("%s c_%s; %s(&c_%s, %d);" % (st, pname, CONFIG_DEFAULT[st],
                                                            pname, fmt))
                    arg = "&c_" + pname
                    sweeps += self.field_sweeps(name, st, "c_" + pname, pname)
                elif stars == "**" and pname.endswith("_out") and st in FREE_FN:
                    v = pname + "_v"
                    decls.append("%s *%s; sentinel_fill(&%s, sizeof %s);" % (st, v, v, v))
                    outs.append((pname, "&" + v, "sizeof " + v, "0", "NULL"))
                    release.append("if (st == TONECORE_STATUS_OK) %s(%s);" % (FREE_FN[st], v))
                    arg = "&" + v
                elif pname.endswith("_out") and not const:
                    v = pname + "_v"
                    decls.append("%s %s; sentinel_fill(&%s, sizeof %s);" % (st, v, v, v))
                    skip = "0"
                    if self.structs.get(st) and self.structs[st][0][1] == "struct_size":
                        decls.append("%s.struct_size = sizeof %s;" % (v, v))
                        skip = "sizeof(size_t)"
                        # A config an _init fills is not read: its struct_size is written.
                        if st in SWEPT_STRUCTS and not st.endswith("_config"):
                            sweeps += self.field_sweeps(name, st, v, pname)
                    outs.append((pname, "&" + v, "sizeof " + v, skip, "NULL"))
                    arg = "&" + v
                elif pname.endswith("_inout") and not const and st in CONFIG_DEFAULT:
                    # A config the call reads and fills: every field swept as an input; on
                    # refusal it must be as it was just before the call.
                    v = "c_" + pname
                    decls.append("%s %s, %s_snap; %s(&%s, %d);" % (st, v, v, CONFIG_DEFAULT[st],
                                                                  v, fmt))
                    setup.append("memcpy(&%s_snap, &%s, sizeof %s);" % (v, v, v))
                    outs.append((pname, "&" + v, "sizeof " + v, "0", "&%s_snap" % v))
                    sweeps += self.field_sweeps(name, st, v, pname)
                    arg = "&" + v
                elif st in INOUT_INIT and not const:
                    v = pname + "_v"
                    decls.append("%s %s, %s_snap; memset(&%s, 0, sizeof %s); %s; %s_snap = %s;"
                                 % (st, v, v, v, v, INOUT_INIT[st].format(v=v), v, v))
                    outs.append((pname, "&" + v, "sizeof " + v, "0", "&%s_snap" % v))
                    arg = "&" + v
                elif st.startswith("tonecore_complex_"):
                    pass  # buffers, below
                else:
                    fail("%s: parameter %s %s: no rule" % (name, ctype, pname))
                if not st.startswith("tonecore_complex_"):
                    args.append(arg)
                    continue
            # Scalar out-parameters (no length follows them).
            if ctype.endswith("*") and pname.endswith("_out") and \
                    pname not in [b for b, _ in lens.values()]:
                base = ctype[:-1]
                if base not in ("size_t", "uint64_t", "int32_t", "uint32_t", "double"):
                    fail("%s: out-parameter %s %s: no rule" % (name, ctype, pname))
                v = pname + "_v"
                decls.append("%s %s; sentinel_fill(&%s, sizeof %s);" % (base, v, v, v))
                written = (name, pname) in OUT_WRITTEN_ON_REFUSAL
                outs.append((pname, "&" + v, "sizeof " + v, "0", "SKIP" if written else "NULL"))
                args.append("&" + v)
                continue
            # Buffers.
            bm = re.match(r"^(const )?(float|double|int64_t|uint32_t|char|"
                          r"struct tonecore_complex_f32|struct tonecore_complex_f64)\*$", ctype)
            if bm:
                elem = ELEM[bm.group(2)]
                lenp = None
                for ln, (bp, _) in lens.items():
                    if bp == pname:
                        lenp = ln
                if bm.group(1):  # input
                    fill = INPUT_FILL.get(pname)
                    if fill is None:
                        fail("%s: input buffer %s: no rule" % (name, pname))
                    if fill == "null":
                        decls.append("const %s *%s = NULL;" % (elem, pname))
                    else:
                        if lenp is None:
                            fail("%s: input %s has no length" % (name, pname))
                        setup.append("%s *%s_buf = (%s *)in_alloc_%s(%s_valid, sizeof(%s));"
                                     % (elem, pname, elem, fill, lenp, elem))
                        setup.append("const %s *%s = %s_buf;" % (elem, pname, pname))
                        release.append("sweep_free_in(%s_buf);" % pname)
                else:  # output buffer
                    if lenp is None:
                        fail("%s: output %s has no length" % (name, pname))
                    setup.append("%s *%s = (%s *)out_alloc(%s_valid * sizeof(%s));"
                                 % (elem, pname, elem, lenp, elem))
                    outs.append((pname, pname, "%s_valid * sizeof(%s)" % (lenp, elem), "0",
                                 "NULL" if check_bufs else "SKIP"))
                    release.append("free(%s);" % pname)
                args.append(arg)
                continue
            # Numbers.
            if ctype in ("size_t", "uint32_t", "uint64_t") \
                    and (pname.endswith("_len") or pname in LEN_ALIASES) \
                    and (name, pname) not in COUNT_LENS and pname not in COUNTS:
                if pname not in dflt:
                    fail("%s: length %s has no default" % (name, pname))
                decls.append("size_t %s_valid = %s, %s = %s_valid;" % (pname, dflt[pname], pname,
                                                                      pname))
                bp = lens.get(pname)
                if bp is None:
                    fail("%s: length %s follows no buffer" % (name, pname))
                bname, bctype = bp
                elem = ELEM[re.sub(r"^const |\*$", "", bctype)]
                if pname in IGNORED_LENGTHS:
                    vals = cap_values()
                elif bctype.startswith("const") or (name, pname) in FILLS_WHOLE_OUTPUT:
                    vals = read_len_values(elem, self.refusal(name, pname))
                else:
                    vals = cap_values()
                vals = [(l, e.replace("LEN", pname + "_valid")) for l, e in vals]
                # A length whose bytes exceed isize::MAX cannot describe a buffer: it must be
                # refused (unless the buffer is never used, as edges of a built-in layout).
                if pname not in IGNORED_LENGTHS:
                    vals = [(l, e, l in ("SIZE_MAX", "unaddressable")) for l, e in vals]
                sweeps.append((pname, pname, vals))
                args.append(pname)
                continue
            if ctype in ("size_t", "uint32_t", "uint64_t") and (pname in COUNTS or
                                                                (name, pname) in COUNT_LENS):
                decls.append("%s %s = %s;" % (ctype, pname, dflt[pname]))
                sweeps.append((pname, pname, count_values(ctype, COUNTS.get(pname))))
                args.append(pname)
                continue
            if ctype == "double" and pname in FLOATS:
                decls.append("double %s = %s;" % (pname, dflt[pname]))
                sweeps.append((pname, pname, float_values(FLOATS[pname])))
                args.append(pname)
                continue
            fail("%s: parameter %s %s: no rule" % (name, ctype, pname))

        if not sweeps:
            self.unswept.append((name, "no size, count, rate, length or floating parameter"))
            return None
        # A huge channel count with every buffer empty: 0 is a whole number of frames of any
        # channel count, so only a channel limit (or work independent of the count) stops it.
        channels_type = dict((p, t) for t, p in params).get("channels")
        if channels_type is not None and lens:
            zero = ", ".join("%s = 0" % ln for ln in lens)
            if channels_type == "uint32_t":  # the profile and match functions
                huge = [("UINT32_MAX, all lengths 0", "(%s, UINT32_MAX)" % zero)]
            else:
                huge = [("2^40, all lengths 0", "(%s, (UINT64_C(1) << 40))" % zero),
                        ("SIZE_MAX, all lengths 0", "(%s, SIZE_MAX)" % zero)]
            sweeps.append(("channels", "channels", huge))
        doc_statuses = documented(f, self.byname, self.statuses)
        if lens:
            doc_statuses |= self.conventions
        allowed = sorted(doc_statuses - STATUS_ALWAYS_BAD,
                         key=lambda s: self.statuses[s])
        # Emit.
        o = self.out
        cid = 0
        o.append("static const int allowed_%s[] = {%s};" % (
            name, ", ".join(["TONECORE_STATUS_OK"] + ["TONECORE_STATUS_" + s for s in allowed])))
        o.append("static void run_%s(int which) {" % name)
        o.append("    const char *param = \"(all valid)\", *label = \"baseline\";")
        o.append("    int must = which == 0 ? MUST_OK : ANY;")
        o.append("    tonecore_status st;")
        o.append("    struct sweep_out outs[16];")
        o.append("    size_t nouts = 0;")
        for d in decls:
            o.append("    " + d)
        o.append("    switch (which) {")
        o.append("    case 0: break;")
        for plabel, target, vals in sweeps:
            for v in vals:
                lab, expr = v[0], v[1]
                refuse = " must = MUST_REFUSE;" if len(v) > 2 and v[2] else ""
                cid += 1
                o.append("    case %d: param = \"%s\"; label = \"%s\"; %s = %s;%s break;"
                         % (cid, plabel, lab, target, expr, refuse))
        o.append("    default: return;")
        o.append("    }")
        o.append("    sweep_arena_reset(strcmp(label, \"2^40\") == 0);")
        for st_ in setup:
            o.append("    " + st_)
        for (pname, ptr, size, skip, snap) in outs:
            if snap == "SKIP":
                continue
            o.append("    outs[nouts].name = \"%s\"; outs[nouts].p = %s; outs[nouts].bytes = %s; "
                     "outs[nouts].skip = %s; outs[nouts].snap = %s; nouts++;"
                     % (pname, ptr, size, skip, snap))
        o.append("    if (sweep_skip(\"%s\", param, label)) {" % name)
        for r in release:
            o.append("        " + r.replace("st != TONECORE_STATUS_OK", "1").replace(
                "st == TONECORE_STATUS_OK", "0"))
        o.append("        return;")
        o.append("    }")
        o.append("    sweep_note(\"%s\", param, label);" % name)
        o.append("    st = %s(%s);" % (name, ", ".join(args)))
        o.append("    sweep_verify(\"%s\", param, label, st, allowed_%s, "
                 "sizeof allowed_%s / sizeof allowed_%s[0], must, outs, nouts);"
                 % (name, name, name, name))
        for out in outs:
            if out[0] in ID_OUT_RELEASE:
                v = out[0] + "_v"
                o.append("    if (st == TONECORE_STATUS_OK) (void)%s;"
                         % ID_OUT_RELEASE[out[0]].format(v=v))
        for r in release:
            o.append("    " + r)
        o.append("}")
        o.append("static void sweep_%s(void) {" % name)
        o.append("    int i;")
        o.append("    for (i = 0; i <= %d; i++) run_%s(i);" % (cid, name))
        o.append("}")
        o.append("")
        nparams = len(sweeps)
        self.swept.append((name, nparams, cid + 1))
        self.ncases += cid + 1
        self.nparams += nparams
        return name

    def field_sweeps(self, fname, st, var, pname):
        if st not in SWEPT_STRUCTS:
            fail("%s: struct %s: no rule (add it to SWEPT_STRUCTS or a fixture)" % (fname, st))
        res = []
        is_out = pname.endswith("_out")
        for ctype, field, arr in self.structs[st]:
            label = "%s.%s" % (pname, field)
            target = "%s.%s" % (var, field)
            if field == "struct_size":
                vals = [("0", "0"), ("1", "1"), ("sizeof-1", "sizeof %s - 1" % var),
                        ("2^40", "(UINT64_C(1) << 40)"), ("SIZE_MAX", "SIZE_MAX")]
                res.append((label, target, vals))
                continue
            if is_out:
                continue  # output fields are written by the library, not read
            if field in FIELD_NOT_A_SIZE:
                continue
            if field in FIELD_LENGTHS:
                res.append((label, target, cap_values_plain()))
                continue
            if field in FIELD_READ_LENGTHS:
                n = FIELD_READ_LENGTHS[field]
                vals = [(l, e.replace("LEN", str(n))) for l, e in read_len_values("double", True)]
                res.append((label, target, vals))
                continue
            if ctype in ("size_t", "uint32_t", "uint64_t") and field in COUNTS:
                res.append((label, target, count_values(ctype, COUNTS[field])))
                continue
            if ctype == "double" and field in FLOATS:
                res.append((label, target, float_values(FLOATS[field])))
                continue
            fail("%s: field %s %s of %s: no rule" % (fname, ctype, field, st))
        return res


def cap_values_plain():
    return [("0", "0"), ("1", "1"), ("2^40", "(UINT64_C(1) << 40)"), ("SIZE_MAX", "SIZE_MAX")]

# --------------------------------------------------------------------------------------------
# The C parts that do not depend on the header: fixtures, allocation, checks, the forking runner.

PRELUDE = r'''
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* A huge allocation attempt must return NULL to tonecore (which must then refuse with a
 * status) instead of ASan aborting the process: an abort left in this program is tonecore's. */
#if defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
    return "allocator_may_return_null=1:detect_leaks=1";
}
#endif

#if defined(__GNUC__)
#define SWEEP_UNUSED __attribute__((unused))
#else
#define SWEEP_UNUSED
#endif

#define ANY 0
#define MUST_OK 1
#define MUST_REFUSE 2
#define SWEEP_IN 8192
static double sweep_slow = 1e9; /* SWEEP_SLOW (seconds): report cases slower than this */
static int sweep_verbose = 0;   /* SWEEP_VERBOSE=1: print every case and its status */

struct sweep_out {
    const char *name;
    void *p;
    size_t bytes;
    size_t skip;      /* leading bytes set by the caller (struct_size) */
    const void *snap; /* in/out structs: the state before the call; NULL: sentinel-filled */
};
struct sweep_fn {
    const char *name;
    void (*run)(void);
    int cases;
};

/* Shared with the parent: the case about to run, reported if the child dies. */
static char *sweep_note_buf = NULL;
static struct timespec sweep_case_start;
static void sweep_note(const char *fn, const char *param, const char *label) {
    if (sweep_note_buf != NULL) {
        snprintf(sweep_note_buf, 256, "%s(%s = %s)", fn, param, label);
    }
    clock_gettime(CLOCK_MONOTONIC, &sweep_case_start);
}

static void sweep_child_exit(void);

struct sweep_known {
    const char *pattern;
    const char *status; /* a status name, or "CRASH": not run */
    const char *why;
};
/*@KNOWN@*/
static unsigned long sweep_known_count = 0;

/* The known entry matching this case and status name (NULL: none). */
static const struct sweep_known *sweep_find_known(const char *what, const char *status) {
    size_t i;
    for (i = 0; i < sweep_nknown; i++) {
        regex_t re;
        int hit;
        if (strcmp(sweep_known[i].status, status) != 0) continue;
        if (regcomp(&re, sweep_known[i].pattern, REG_EXTENDED | REG_NOSUB) != 0) {
            fprintf(stdout, "FAIL: bad KNOWN pattern %s\n", sweep_known[i].pattern);
            exit(2);
        }
        hit = regexec(&re, what, 0, NULL, 0) == 0;
        regfree(&re);
        if (hit) return &sweep_known[i];
    }
    return NULL;
}

/* Valid maxima that cost seconds each under ASan (a 2^24-point FFT plan, a pool of 1024
 * threads): run only with SWEEP_FULL=1 (`make -C ffi-tests size-sweep-full`). */
static int sweep_full = 0;
static unsigned long sweep_expensive_count = 0;
static int sweep_expensive(const char *param, const char *label) {
    return strstr(label, "16777216") != NULL ||
           (strstr(param, "threads") != NULL && strstr(label, "max(=1024)") != NULL);
}

/* Non-zero when this case is a known crash (reported, not run) or an expensive maximum. */
static SWEEP_UNUSED int sweep_skip(const char *fn, const char *param, const char *label) {
    char what[512];
    const struct sweep_known *k;
    if (!sweep_full && sweep_expensive(param, label)) {
        sweep_expensive_count++;
        return 1;
    }
    snprintf(what, sizeof what, "%s(%s = %s)", fn, param, label);
    k = sweep_find_known(what, "CRASH");
    if (k == NULL) return 0;
    fprintf(stdout, "KNOWN (not run) %s: %s\n", what, k->why);
    sweep_known_count++;
    return 1;
}

static void fx_check(tonecore_status st, const char *what) {
    if (st != TONECORE_STATUS_OK) {
        check_record(0, __FILE__, __LINE__, what, "fixture failed: %d (%s): %s", (int)st,
                     check_status_name(st), tonecore_last_error_message());
        sweep_child_exit();
    }
}

static void *sweep_malloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (p == NULL) {
        fprintf(stdout, "FAIL: out of memory in the test itself\n");
        exit(2);
    }
    return p;
}

/* Inputs of the cases that claim 2^40 elements come from a static arena: with ASan's heap far
 * above the program's data, the claimed range then overlaps no output, so the call is refused
 * for the size itself (BLOCK_TOO_LARGE, BUFFER_TOO_SMALL, OUT_OF_MEMORY...) rather than for
 * BUFFERS_OVERLAP. Other inputs are exact-size heap blocks, so ASan sees a read one past. */
static unsigned char sweep_arena[1 << 20];
static size_t sweep_arena_used = 0;
static int sweep_arena_on = 0;
static void sweep_arena_reset(int on) {
    sweep_arena_on = on;
    sweep_arena_used = 0;
}
static void *sweep_in_malloc(size_t bytes) {
    if (sweep_arena_on && bytes <= sizeof sweep_arena - sweep_arena_used) {
        void *p = sweep_arena + sweep_arena_used;
        sweep_arena_used += (bytes + 63) & ~(size_t)63;
        return p;
    }
    return sweep_malloc(bytes);
}
static SWEEP_UNUSED void sweep_free_in(void *p) {
    if ((unsigned char *)p < sweep_arena || (unsigned char *)p >= sweep_arena + sizeof sweep_arena) {
        free(p);
    }
}

static SWEEP_UNUSED void *in_alloc_audio(size_t n, size_t elem) {
    void *p = sweep_in_malloc(n * elem);
    size_t i;
    for (i = 0; i < n; i++) {
        double v = 0.25 * sin(6.283185307179586 * 997.0 * (double)(i / 2) / 44100.0);
        if (elem == sizeof(float)) {
            ((float *)p)[i] = (float)v;
        } else {
            ((double *)p)[i] = v;
        }
    }
    return p;
}

static SWEEP_UNUSED void *in_alloc_zeros(size_t n, size_t elem) {
    void *p = sweep_in_malloc(n * elem);
    memset(p, 0, (n * elem) != 0 ? n * elem : 1);
    return p;
}

static SWEEP_UNUSED void *in_alloc_bandmap(size_t n, size_t elem) {
    int64_t *p = (int64_t *)sweep_in_malloc(n * elem);
    size_t i;
    for (i = 0; i < n; i++) {
        p[i] = (int64_t)(i * 25 / (n ? n : 1));
    }
    return p;
}

static SWEEP_UNUSED void *out_alloc(size_t bytes) {
    void *p = sweep_malloc(bytes);
    sentinel_fill(p, bytes ? bytes : 1);
    return p;
}

static SWEEP_UNUSED int32_t sweep_event_cb(void *user_data, const tonecore_event *event) {
    (void)user_data;
    (void)event;
    return 0;
}

static SWEEP_UNUSED void sweep_matcher_init(tonecore_auralis_level_matcher *m) {
    float ref[64];
    int i;
    for (i = 0; i < 64; i++) {
        ref[i] = (float)(0.1 * sin(0.3 * i));
    }
    fx_check(tonecore_auralis_level_matcher_init(m), "level_matcher_init");
    fx_check(tonecore_auralis_level_matcher_set_reference_f32(m, ref, 64), "set_reference");
}

/* 25 band gains of 1 dB (the critical bands): configs point to them so the EQ is not flat. */
static const double sweep_gains25[25] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                         1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

/* Valid configs (small FFTs and one thread: the sweep makes thousands of calls). */
static SWEEP_UNUSED void cfg_stft(tonecore_stft_config *c, int f64) {
    fx_check(tonecore_stft_config_init(c), "stft_config_init");
    c->fft_size = 1024;
    c->hop = 256;
    c->threads = 1;
    c->sample_format = f64;
}
static SWEEP_UNUSED void cfg_equalizer(tonecore_equalizer_config *c, int f64) {
    fx_check(tonecore_equalizer_config_init(c), "equalizer_config_init");
    c->fft_size = 1024;
    c->sample_format = f64;
    c->gains_db = sweep_gains25;
    c->gains_len = 25;
}
static SWEEP_UNUSED void cfg_limiter(tonecore_limiter_config *c, int f64) {
    fx_check(tonecore_limiter_config_init(c), "limiter_config_init");
    c->sample_format = f64;
}
static SWEEP_UNUSED void cfg_pipeline(tonecore_pipeline_config *c, int f64) {
    fx_check(tonecore_pipeline_config_init(c), "pipeline_config_init");
    c->fft_size = 1024;
    c->sample_format = f64;
    /* Every stage enabled, so every field is in use. */
    c->eq_enabled = 1;
    c->level_enabled = 1;
    c->limiter_enabled = 1;
    c->eq_gains_db = sweep_gains25;
    c->eq_gains_len = 25;
}
static SWEEP_UNUSED void cfg_render(tonecore_render_config *c, int f64) {
    (void)f64;
    fx_check(tonecore_render_config_init(c), "render_config_init");
    c->threads = 1;
}
static SWEEP_UNUSED void cfg_engine(tonecore_engine_config *c, int f64) {
    (void)f64;
    fx_check(tonecore_engine_config_init(c), "engine_config_init");
    c->worker_threads = 2;
}
static SWEEP_UNUSED void cfg_equalize(tonecore_equalize_config *c, int f64) {
    (void)f64;
    fx_check(tonecore_equalize_config_init(c), "equalize_config_init");
    c->fft_size = 1024;
    c->threads = 1;
}
static SWEEP_UNUSED void cfg_auralis_eq(tonecore_auralis_eq_config *c, int f64) {
    (void)f64;
    fx_check(tonecore_auralis_eq_config_init(c), "auralis_eq_config_init");
    c->fft_size = 1024;
    c->threads = 1;
}
static SWEEP_UNUSED void cfg_match(tonecore_match_config *c, int f64) {
    (void)f64;
    fx_check(tonecore_match_config_init(c), "match_config_init");
}
static SWEEP_UNUSED void cfg_live_match(tonecore_live_match_config *c, int f64) {
    (void)f64;
    fx_check(tonecore_live_match_config_init(c), "live_match_config_init");
}

/* Fixtures: made once per child (per function), lazily; freed before the child exits. */
static tonecore_stft *fx_stft_v[2];
static tonecore_equalizer *fx_equalizer_v[2];
static tonecore_limiter *fx_limiter_v[2];
static tonecore_pipeline *fx_pipeline_v[2];
static tonecore_params *fx_params_v[2];
static tonecore_playback *fx_playback_v[2];
static tonecore_loudness_meter *fx_meter_v;
static tonecore_engine *fx_engine_v;
static uint64_t fx_stream_v[2], fx_job_v[2], fx_token_v;
static int fx_stream_set[2], fx_job_set[2], fx_token_set;
static tonecore_profile *fx_profile_v;
static char *fx_json_v;
static tonecore_pipeline *fx_grid_pipeline_v[2];
static tonecore_params *fx_live_params_v[2];

/* A profile of the default input (stereo 997 Hz at 44.1 kHz), and its JSON document. */
static SWEEP_UNUSED tonecore_profile *fx_profile(void) {
    if (fx_profile_v == NULL) {
        void *x = in_alloc_audio(SWEEP_IN, sizeof(float));
        fx_check(tonecore_profile_compute_f32((const float *)x, SWEEP_IN, 2, 44100, 1,
                                              &fx_profile_v), "fixture profile_compute");
        sweep_free_in(x);
    }
    return fx_profile_v;
}
static SWEEP_UNUSED const char *fx_json(void) {
    if (fx_json_v == NULL) {
        size_t len = 0;
        (void)tonecore_profile_to_json(fx_profile(), NULL, 0, &len);
        fx_json_v = (char *)sweep_malloc(len + 1);
        fx_check(tonecore_profile_to_json(fx_profile(), fx_json_v, len + 1, NULL),
                 "fixture profile_to_json");
    }
    return fx_json_v;
}
static SWEEP_UNUSED size_t fx_json_len(void) { return strlen(fx_json()); }
/* The document's first n bytes (as much of it as fits). */
static SWEEP_UNUSED void *in_alloc_json(size_t n, size_t elem) {
    char *p = (char *)sweep_in_malloc(n * elem);
    size_t len = fx_json_len();
    memcpy(p, fx_json(), n < len ? n : len);
    return p;
}
/* A pipeline on the profile grid (tonecore_match_live_pipeline_config), and the params of one
 * that matches live. */
static SWEEP_UNUSED tonecore_pipeline *fx_grid_pipeline(int f) {
    if (fx_grid_pipeline_v[f] == NULL) {
        tonecore_pipeline_config c;
        cfg_pipeline(&c, f);
        fx_check(tonecore_match_live_pipeline_config(fx_profile(), NULL, &c),
                 "fixture match_live_pipeline_config");
        fx_check(tonecore_pipeline_new(&c, &fx_grid_pipeline_v[f]), "fixture grid pipeline");
    }
    return fx_grid_pipeline_v[f];
}
static SWEEP_UNUSED tonecore_params *fx_live_params(int f) {
    if (fx_live_params_v[f] == NULL) {
        fx_check(tonecore_pipeline_live_match(fx_grid_pipeline(f), fx_profile(), NULL),
                 "fixture pipeline_live_match");
        fx_check(tonecore_pipeline_params(fx_grid_pipeline(f), &fx_live_params_v[f]),
                 "fixture live params");
    }
    return fx_live_params_v[f];
}

static SWEEP_UNUSED tonecore_stft *fx_stft(int f) {
    if (fx_stft_v[f] == NULL) {
        tonecore_stft_config c;
        cfg_stft(&c, f);
        fx_check(tonecore_stft_new(&c, &fx_stft_v[f]), "fixture stft_new");
    }
    return fx_stft_v[f];
}
static SWEEP_UNUSED tonecore_equalizer *fx_equalizer(int f) {
    if (fx_equalizer_v[f] == NULL) {
        tonecore_equalizer_config c;
        cfg_equalizer(&c, f);
        fx_check(tonecore_equalizer_new(&c, &fx_equalizer_v[f]), "fixture equalizer_new");
    }
    return fx_equalizer_v[f];
}
static SWEEP_UNUSED tonecore_limiter *fx_limiter(int f) {
    if (fx_limiter_v[f] == NULL) {
        tonecore_limiter_config c;
        cfg_limiter(&c, f);
        fx_check(tonecore_limiter_new(&c, &fx_limiter_v[f]), "fixture limiter_new");
    }
    return fx_limiter_v[f];
}
static SWEEP_UNUSED tonecore_pipeline *fx_pipeline(int f) {
    if (fx_pipeline_v[f] == NULL) {
        tonecore_pipeline_config c;
        cfg_pipeline(&c, f);
        fx_check(tonecore_pipeline_new(&c, &fx_pipeline_v[f]), "fixture pipeline_new");
    }
    return fx_pipeline_v[f];
}
static SWEEP_UNUSED tonecore_params *fx_params(int f) {
    if (fx_params_v[f] == NULL) {
        fx_check(tonecore_pipeline_params(fx_pipeline(f), &fx_params_v[f]), "fixture params");
    }
    return fx_params_v[f];
}
static SWEEP_UNUSED tonecore_loudness_meter *fx_meter(void) {
    if (fx_meter_v == NULL) {
        fx_check(tonecore_loudness_meter_new(2, 44100, &fx_meter_v), "fixture meter_new");
    }
    return fx_meter_v;
}
static SWEEP_UNUSED tonecore_engine *fx_engine(void) {
    if (fx_engine_v == NULL) {
        tonecore_engine_config c;
        cfg_engine(&c, 0);
        fx_check(tonecore_engine_new(&c, &fx_engine_v), "fixture engine_new");
    }
    return fx_engine_v;
}
static SWEEP_UNUSED tonecore_playback *fx_playback(int f) {
    if (fx_playback_v[f] == NULL) {
        tonecore_pipeline_config pc;
        tonecore_render_config rc;
        void *track = in_alloc_audio(SWEEP_IN, f ? sizeof(double) : sizeof(float));
        cfg_pipeline(&pc, f);
        cfg_render(&rc, f);
        if (f) {
            fx_check(tonecore_playback_open_f64(&pc, &rc, (const double *)track, SWEEP_IN,
                                                &fx_playback_v[f]), "fixture playback_open");
        } else {
            fx_check(tonecore_playback_open_f32(&pc, &rc, (const float *)track, SWEEP_IN,
                                                &fx_playback_v[f]), "fixture playback_open");
        }
        sweep_free_in(track);
    }
    return fx_playback_v[f];
}
static SWEEP_UNUSED uint64_t fx_stream(int f) {
    if (!fx_stream_set[f]) {
        tonecore_pipeline_config pc;
        tonecore_render_config rc;
        void *track = in_alloc_audio(SWEEP_IN, f ? sizeof(double) : sizeof(float));
        cfg_pipeline(&pc, f);
        cfg_render(&rc, f);
        if (f) {
            fx_check(tonecore_engine_open_stream_f64(fx_engine(), 1000, &pc, &rc,
                                                     (const double *)track, SWEEP_IN, 71, 0.0,
                                                     &fx_stream_v[f]), "fixture open_stream");
        } else {
            fx_check(tonecore_engine_open_stream_f32(fx_engine(), 1001, &pc, &rc,
                                                     (const float *)track, SWEEP_IN, 72, 0.0,
                                                     &fx_stream_v[f]), "fixture open_stream");
        }
        sweep_free_in(track);
        fx_stream_set[f] = 1;
    }
    return fx_stream_v[f];
}
static SWEEP_UNUSED uint64_t fx_fresh_job(int f) {
    tonecore_pipeline_config pc;
    tonecore_render_config rc;
    uint64_t job = 0;
    void *track = in_alloc_audio(SWEEP_IN, f ? sizeof(double) : sizeof(float));
    cfg_pipeline(&pc, f);
    cfg_render(&rc, f);
    if (f) {
        fx_check(tonecore_engine_submit_render_f64(fx_engine(), &pc, &rc, (const double *)track,
                                                   SWEEP_IN, 0, 81, &job), "fixture submit");
    } else {
        fx_check(tonecore_engine_submit_render_f32(fx_engine(), &pc, &rc, (const float *)track,
                                                   SWEEP_IN, 0, 82, &job), "fixture submit");
    }
    sweep_free_in(track);
    fx_check(tonecore_engine_job_wait(fx_engine(), job, -1.0, NULL), "fixture job_wait");
    return job;
}
static SWEEP_UNUSED uint64_t fx_job(int f) {
    if (!fx_job_set[f]) {
        fx_job_v[f] = fx_fresh_job(f);
        fx_job_set[f] = 1;
    }
    return fx_job_v[f];
}
static SWEEP_UNUSED uint64_t fx_token(void) {
    if (!fx_token_set) {
        fx_check(tonecore_engine_subscribe(fx_engine(), TONECORE_EVENTS_ALL, sweep_event_cb,
                                           NULL, &fx_token_v), "fixture subscribe");
        fx_token_set = 1;
    }
    return fx_token_v;
}
static void fx_free_all(void) {
    int f;
    for (f = 0; f < 2; f++) {
        tonecore_params_free(fx_params_v[f]);
        tonecore_pipeline_free(fx_pipeline_v[f]);
        tonecore_equalizer_free(fx_equalizer_v[f]);
        tonecore_limiter_free(fx_limiter_v[f]);
        tonecore_stft_free(fx_stft_v[f]);
        tonecore_playback_free(fx_playback_v[f]);
        tonecore_params_free(fx_live_params_v[f]);
        tonecore_pipeline_free(fx_grid_pipeline_v[f]);
        fx_live_params_v[f] = NULL;
        fx_grid_pipeline_v[f] = NULL;
        fx_params_v[f] = NULL;
        fx_pipeline_v[f] = NULL;
        fx_equalizer_v[f] = NULL;
        fx_limiter_v[f] = NULL;
        fx_stft_v[f] = NULL;
        fx_playback_v[f] = NULL;
    }
    tonecore_loudness_meter_free(fx_meter_v);
    fx_meter_v = NULL;
    tonecore_engine_free(fx_engine_v);
    fx_engine_v = NULL;
    tonecore_profile_free(fx_profile_v);
    fx_profile_v = NULL;
    free(fx_json_v);
    fx_json_v = NULL;
}

static void sweep_child_exit(void) {
    fx_free_all();
    fprintf(stdout, "#counts %lu %lu %lu %lu\n", check_passed_count, check_failed_count,
            sweep_known_count, sweep_expensive_count);
    fflush(stdout);
    exit(0);
}

/* One case: the status must be OK (baseline) or documented (never PANIC/POISONED), and a
 * refused call must leave every output as it was. */
static SWEEP_UNUSED void sweep_verify(const char *fn, const char *param, const char *label,
                                      tonecore_status st, const int *allowed, size_t nallowed,
                                      int must, struct sweep_out *outs, size_t nouts) {
    char what[512];
    size_t i;
    int documented = 0;
    for (i = 0; i < nallowed; i++) {
        if (allowed[i] == (int)st) {
            documented = 1;
        }
    }
    snprintf(what, sizeof what, "%s(%s = %s)", fn, param, label);
    {
        struct timespec t;
        double dt;
        clock_gettime(CLOCK_MONOTONIC, &t);
        dt = (double)(t.tv_sec - sweep_case_start.tv_sec) +
             (double)(t.tv_nsec - sweep_case_start.tv_nsec) * 1e-9;
        if (sweep_verbose) {
            fprintf(stdout, "case %s -> %s (%.3f s)\n", what, check_status_name(st), dt);
        }
        if (dt > sweep_slow) {
            fprintf(stdout, "slow: %s took %.2f s (returned %s)\n", what, dt,
                    check_status_name(st));
        }
    }
    if (must == MUST_OK) {
        check_record(st == TONECORE_STATUS_OK, __FILE__, __LINE__, what,
                     "baseline (all arguments valid) returned %d (%s): \"%s\"", (int)st,
                     check_status_name(st), tonecore_last_error_message());
    } else if (!documented && st != TONECORE_STATUS_PANIC && st != TONECORE_STATUS_POISONED &&
               sweep_find_known(what, check_status_name(st)) != NULL) {
        fprintf(stdout, "KNOWN %s -> %s: %s\n", what, check_status_name(st),
                sweep_find_known(what, check_status_name(st))->why);
        sweep_known_count++;
    } else {
        check_record(documented, __FILE__, __LINE__, what,
                     "returned %d (%s), not a status its header comment documents: \"%s\"",
                     (int)st, check_status_name(st), tonecore_last_error_message());
    }
    if (must == MUST_REFUSE) {
        check_record(st != TONECORE_STATUS_OK, __FILE__, __LINE__, what,
                     "accepted a buffer length beyond the address space");
    }
    if (st == TONECORE_STATUS_OK) {
        return;
    }
    for (i = 0; i < nouts; i++) {
        const unsigned char *p = (const unsigned char *)outs[i].p + outs[i].skip;
        size_t n = outs[i].bytes - outs[i].skip;
        int same = outs[i].snap != NULL
                       ? memcmp(outs[i].p, outs[i].snap, outs[i].bytes) == 0
                       : sentinel_intact(p, n);
        check_record(same, __FILE__, __LINE__, what, "%s was written although the call returned %s",
                     outs[i].name, check_status_name(st));
    }
}
'''

MAIN = r'''
static double sweep_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long sweep_env(const char *name, long dflt) {
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? strtol(v, NULL, 10) : dflt;
}

struct sweep_slot {
    pid_t pid;
    int fn;
    FILE *log;
    double start;
};

/* Echoes a child's log and adds its counts; a child that died or printed no counts is one
 * failure, reported with the case it was running. */
static void sweep_collect(struct sweep_slot *s, int status, const char *note) {
    char line[4096];
    unsigned long p = 0, f = 0, k = 0, e = 0;
    int counted = 0;
    fflush(s->log);
    rewind(s->log);
    fprintf(stdout, "-- %s (%d cases, %.2f s)\n", sweep_fns[s->fn].name, sweep_fns[s->fn].cases,
            sweep_now() - s->start);
    while (fgets(line, sizeof line, s->log) != NULL) {
        if (sscanf(line, "#counts %lu %lu %lu %lu", &p, &f, &k, &e) == 4) {
            counted = 1;
        } else {
            fputs(line, stdout);
        }
    }
    fclose(s->log);
    check_passed_count += p;
    check_failed_count += f;
    sweep_known_count += k;
    sweep_expensive_count += e;
    if (!counted || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char what[512];
        snprintf(what, sizeof what, "%s stays alive", sweep_fns[s->fn].name);
        if (WIFSIGNALED(status)) {
            check_record(0, __FILE__, __LINE__, what, "killed by signal %d%s during %s",
                         WTERMSIG(status), WTERMSIG(status) == SIGALRM ? " (timeout: a hang)" : "",
                         note);
        } else {
            check_record(0, __FILE__, __LINE__, what, "exited with %d%s during or after %s",
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                         counted ? "" : " before finishing", note);
        }
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    long jobs = sweep_env("SWEEP_JOBS", 2);
    long timeout = sweep_env("SWEEP_TIMEOUT", 60);
    struct sweep_slot slots[16];
    char *notes;
    int next = 0, running = 0, i;
    double t0 = sweep_now();
    sweep_full = sweep_env("SWEEP_FULL", 0) != 0;
    sweep_verbose = sweep_env("SWEEP_VERBOSE", 0) != 0;
    if (jobs < 1) jobs = 1;
    if (jobs > 16) jobs = 16;
    notes = (char *)mmap(NULL, 16 * 256, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (notes == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    memset(notes, 0, 16 * 256);
    for (i = 0; i < 16; i++) slots[i].pid = 0;
    fprintf(stdout, "size sweep: %d of the header's %d functions take a size, count, rate, length "
            "or floating argument: %d parameters and fields, %d cases, %ld at a time\n",
            SWEEP_NFUNCS, SWEEP_NHEADER, SWEEP_NPARAMS, SWEEP_NCASES, jobs);
    fflush(stdout);
    while (next < SWEEP_NFUNCS || running > 0) {
        while (running < jobs && next < SWEEP_NFUNCS) {
            int fn = next++;
            int s;
            if (argc > 1 && strstr(sweep_fns[fn].name, argv[1]) == NULL) continue;
            for (s = 0; slots[s].pid != 0; s++) {}
            slots[s].fn = fn;
            slots[s].log = tmpfile();
            slots[s].start = sweep_now();
            snprintf(notes + 256 * s, 256, "%s (before its first case)", sweep_fns[fn].name);
            fflush(stdout);
            fflush(stderr);
            slots[s].pid = fork();
            if (slots[s].pid < 0) {
                perror("fork");
                return 2;
            }
            if (slots[s].pid == 0) {
                dup2(fileno(slots[s].log), 1);
                dup2(fileno(slots[s].log), 2);
                sweep_note_buf = notes + 256 * s;
                if (getenv("SWEEP_SLOW") != NULL) sweep_slow = strtod(getenv("SWEEP_SLOW"), NULL);
                alarm((unsigned)timeout);
                check_passed_count = 0;
                check_failed_count = 0;
                sweep_known_count = 0;
                sweep_expensive_count = 0;
                sweep_fns[fn].run();
                sweep_child_exit();
            }
            running++;
        }
        if (running > 0) {
            int status, s;
            pid_t pid = waitpid(-1, &status, 0);
            if (pid < 0) {
                if (errno == EINTR) continue;
                perror("waitpid");
                return 2;
            }
            for (s = 0; s < 16 && slots[s].pid != pid; s++) {}
            if (s == 16) continue;
            sweep_collect(&slots[s], status, notes + 256 * s);
            slots[s].pid = 0;
            running--;
        }
    }
    fprintf(stdout, "size sweep: %.1f s; %lu known mismatches (KNOWN lines, listed in "
            "gen_size_sweep.py) not counted as failures; ", sweep_now() - t0, sweep_known_count);
    if (sweep_full) {
        fprintf(stdout, "expensive valid maxima included (SWEEP_FULL=1)\n");
    } else {
        fprintf(stdout, "%lu expensive valid maxima not run (SWEEP_FULL=1 runs them)\n",
                sweep_expensive_count);
    }
    return check_finish();
}
'''


def cstr(v):
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    if len(sys.argv) != 3:
        fail("usage: gen_size_sweep.py HEADER OUTPUT.c")
    header, output = sys.argv[1], sys.argv[2]
    statuses, structs, funcs, conv = parse(header)
    if len(funcs) < 100:
        fail("found only %d functions in %s: the parser is out of date" % (len(funcs), header))
    g = Gen(statuses, structs, funcs)
    g.conventions = conv
    names = [n for n in (g.gen_function(f) for f in funcs) if n]
    body = []
    body.append("/* Generated by ffi-tests/gen_size_sweep.py from include/tonecore.h: do not edit.")
    body.append(" *")
    body.append(" * %d functions in the header; %d swept (%d parameters and config fields, %d cases);"
                % (len(funcs), len(g.swept), g.nparams, g.ncases))
    body.append(" * not swept:")
    for n, r in g.unswept:
        body.append(" *   %s: %s" % (n, r))
    body.append(" */")
    known = ["static const struct sweep_known sweep_known[] = {"]
    for pat, st, why in KNOWN:
        known.append("    {%s, %s, %s}," % (cstr(pat), cstr(st), cstr(why)))
    # A terminator keeps the array non-empty (C99 has no empty initializer) when nothing is known.
    known.append("    {NULL, NULL, NULL},")
    known.append("};")
    known.append("static const size_t sweep_nknown = "
                 "sizeof sweep_known / sizeof sweep_known[0] - 1;")
    body.append(PRELUDE.replace("/*@KNOWN@*/", "\n".join(known)))
    body += g.out
    body.append("static const struct sweep_fn sweep_fns[] = {")
    for (n, np_, nc) in g.swept:
        body.append("    {\"%s\", sweep_%s, %d},"
                    % (n, n, nc))
    body.append("};")
    body.append("#define SWEEP_NFUNCS %d" % len(g.swept))
    body.append("#define SWEEP_NPARAMS %d" % g.nparams)
    body.append("#define SWEEP_NCASES %d" % g.ncases)
    body.append("#define SWEEP_NHEADER %d" % len(funcs))
    body.append(MAIN)
    with open(output, "w", encoding="utf-8") as fh:
        fh.write("\n".join(body) + "\n")
    sys.stderr.write("gen_size_sweep.py: %d functions, %d swept, %d parameters/fields, %d cases\n"
                     % (len(funcs), len(g.swept), g.nparams, g.ncases))


if __name__ == "__main__":
    main()
