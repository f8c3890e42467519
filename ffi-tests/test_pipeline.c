/*
 * test_pipeline.c — tonecore_pipeline (EQ -> level matcher -> limiter) and tonecore_params.
 *
 * Config defaults and latency (the documented EQ latency plus the lookahead in frames); every
 * stage bypassed = the input delayed by the latency; flat +6 dB EQ = 10^(6/20) times the
 * delayed input; the limiter's ceiling under adversarial input (full-scale squares at Nyquist
 * and at 441 Hz, single-sample spikes, noise, all through +24 dB of EQ and a level matcher
 * asking for 0 LUFS) for f32/f64 objects, planar and interleaved; the level matcher bringing
 * stepped noise to its target (measured with tonecore_loudness_measure, which test_loudness.c
 * checks against EBU Tech 3341 and an independent BS.1770 meter); block-size invariance of the
 * whole chain; reset; NaN/Inf sanitising; statistics; parameter changes taking effect;
 * set_level_reference; every refusal (sentinel outputs untouched, state unchanged); a params
 * handle outliving its pipeline.
 */
#include "ref.h"

#define SR 44100u
#define BANDS 25

/* A recognisable pointer for tonecore_pipeline ** out-parameters (never dereferenced). */
static char pipeline_sentinel_storage;
#define PIPELINE_SENTINEL ((tonecore_pipeline *)(void *)&pipeline_sentinel_storage)

#define FMT_NAME(format) ((format) == TONECORE_SAMPLE_FORMAT_F64 ? "f64" : "f32")

/* |value - want| <= tol (NaN fails), with a description of the case. */
#define CHECK_NEAR(value, want, tol, ...)                                                     \
    do {                                                                                      \
        double cn_v_ = (double)(value), cn_w_ = (double)(want), cn_t_ = (double)(tol);         \
        char cn_what_[200];                                                                   \
        snprintf(cn_what_, sizeof cn_what_, __VA_ARGS__);                                     \
        (void)check_record(fabs(cn_v_ - cn_w_) <= cn_t_, __FILE__, __LINE__,                  \
                           #value " ~ " #want, "%s: got %.9g, want %.9g +- %g", cn_what_,     \
                           cn_v_, cn_w_, cn_t_);                                              \
    } while (0)

static tonecore_pipeline_config config_default(int32_t format) {
    tonecore_pipeline_config c;
    tonecore_pipeline_config_init(&c);
    c.sample_format = format;
    return c;
}

/* The settings of a live host: the momentary leveller and a sample-peak limiter (5 ms), which
 * the tests of the leveller and of the sample-peak ceiling check; true peaks and integrated
 * normalisation are checked in test_normalize.c. */
static tonecore_pipeline_config config_live(int32_t format) {
    tonecore_pipeline_config c = config_default(format);
    c.level_mode = TONECORE_LEVEL_MODE_MOMENTARY;
    c.limiter_true_peak = 0;
    c.lookahead_ms = 5.0;
    return c;
}

/* Creates a pipeline (NULL after a failed check). */
static tonecore_pipeline *make_pipeline(const tonecore_pipeline_config *c) {
    tonecore_pipeline *p = NULL;
    int32_t st = tonecore_pipeline_new(c, &p);
    CHECK_MSG(st == TONECORE_STATUS_OK && p != NULL, "tonecore_pipeline_new -> %s (%s)",
              check_status_name(st), tonecore_last_error_message());
    return st == TONECORE_STATUS_OK ? p : NULL;
}

static tonecore_params *make_params(const tonecore_pipeline *p) {
    tonecore_params *h = NULL;
    CHECK_STATUS(tonecore_pipeline_params(p, &h), TONECORE_STATUS_OK);
    return h;
}

static size_t latency_of(const tonecore_pipeline *p) {
    size_t l = sentinel_size();
    CHECK_STATUS(tonecore_pipeline_latency(p, &l), TONECORE_STATUS_OK);
    return l;
}

/* A stats snapshot (all sentinel bytes after a failed call). */
static tonecore_pipeline_stats stats_of(const tonecore_params *h) {
    tonecore_pipeline_stats s;
    sentinel_fill(&s, sizeof s);
    s.struct_size = sizeof s;
    CHECK_STATUS(tonecore_params_stats(h, &s), TONECORE_STATUS_OK);
    return s;
}

/* The documented lookahead in frames: round(lookahead_ms * sr / 1000), at least 1. */
static size_t ref_lookahead(double ms, uint32_t sr) {
    double f = floor(ms * 1e-3 * (double)sr + 0.5);
    return f < 1.0 ? 1 : (size_t)f;
}

/*
 * Streams planar `x` (channels x len) through `p` in blocks of `block` frames into planar `y`.
 * An f32 object gets every sample rounded to float. `interleaved` uses the _interleaved_ calls.
 * Returns the first status that is not OK (processing stops there) or OK.
 */
static int32_t run(tonecore_pipeline *p, int32_t format, size_t channels, const double *x,
                   size_t len, size_t block, int interleaved, double *y) {
    size_t cap = channels * block;
    float *fi = (float *)ref_alloc(cap, sizeof(float));
    float *fo = (float *)ref_alloc(cap, sizeof(float));
    double *di = (double *)ref_alloc(cap, sizeof(double));
    double *dout = (double *)ref_alloc(cap, sizeof(double));
    size_t pos, c, i;
    int32_t st = TONECORE_STATUS_OK;

    for (pos = 0; pos < len && st == TONECORE_STATUS_OK; pos += block) {
        size_t f = len - pos < block ? len - pos : block;
        for (c = 0; c < channels; c++) {
            for (i = 0; i < f; i++) {
                size_t at = interleaved ? i * channels + c : c * f + i;
                di[at] = x[c * len + pos + i];
                fi[at] = (float)di[at];
            }
        }
        if (format == TONECORE_SAMPLE_FORMAT_F32) {
            st = interleaved ? tonecore_pipeline_process_interleaved_f32(p, fi, channels * f, fo,
                                                                         channels * f)
                             : tonecore_pipeline_process_f32(p, fi, channels * f, fo, channels * f);
            for (i = 0; i < channels * f; i++) {
                dout[i] = (double)fo[i];
            }
        } else {
            st = interleaved ? tonecore_pipeline_process_interleaved_f64(p, di, channels * f, dout,
                                                                         channels * f)
                             : tonecore_pipeline_process_f64(p, di, channels * f, dout,
                                                             channels * f);
        }
        for (c = 0; c < channels; c++) {
            for (i = 0; i < f; i++) {
                size_t at = interleaved ? i * channels + c : c * f + i;
                y[c * len + pos + i] = dout[at];
            }
        }
    }
    free(fi);
    free(fo);
    free(di);
    free(dout);
    return st;
}

/* `count` uniform samples in [-amp, amp). */
static double *noise(size_t count, double amp, uint64_t seed) {
    ref_rng rng = ref_rng_new(seed);
    double *x = (double *)ref_alloc(count, sizeof(double));
    size_t i;
    for (i = 0; i < count; i++) {
        x[i] = amp * ref_uniform(&rng);
    }
    return x;
}

/* Stereo planar noise (amplitude 0.5 at 0 dB) whose level is levels_db[k] during the k-th
 * stretch of `seconds`. */
static double *stepped_noise(const double *levels_db, size_t nlevels, double seconds,
                             uint64_t seed, size_t *len_out) {
    size_t seg = (size_t)(seconds * SR), len = seg * nlevels, c, i;
    double *x = noise(2 * len, 0.5, seed);
    for (c = 0; c < 2; c++) {
        for (i = 0; i < len; i++) {
            x[c * len + i] *= pow(10.0, levels_db[i / seg] / 20.0);
        }
    }
    *len_out = len;
    return x;
}

/* Integrated loudness (tonecore_loudness_measure_f64) of frames [a, b) of planar stereo x. */
static double lufs_of(const double *x, size_t len, size_t a, size_t b) {
    double *w = (double *)ref_alloc(2 * (b - a), sizeof(double));
    tonecore_loudness_report r;
    r.integrated = NAN;
    memcpy(w, x + a, (b - a) * sizeof(double));
    memcpy(w + (b - a), x + len + a, (b - a) * sizeof(double));
    CHECK_STATUS(tonecore_loudness_measure_f64(w, 2 * (b - a), 2, SR, &r), TONECORE_STATUS_OK);
    free(w);
    return r.integrated;
}

static double peak_abs(const double *y, size_t n, int *finite) {
    double p = 0.0;
    size_t i;
    *finite = 1;
    for (i = 0; i < n; i++) {
        if (!isfinite(y[i])) {
            *finite = 0;
        } else if (fabs(y[i]) > p) {
            p = fabs(y[i]);
        }
    }
    return p;
}

/* Peak |y| over every channel of planar y (channels x len) from frame `start` on. */
static double peak_from(const double *y, size_t channels, size_t len, size_t start, int *finite) {
    double p = 0.0;
    size_t c;
    *finite = 1;
    for (c = 0; c < channels; c++) {
        int f;
        double q = peak_abs(y + c * len + start, len - start, &f);
        p = q > p ? q : p;
        *finite = *finite && f;
    }
    return p;
}

static double max_abs_diff(const double *a, const double *b, size_t n) {
    double e = 0.0;
    size_t i;
    for (i = 0; i < n; i++) {
        e = ref_max_err(e, fabs(a[i] - b[i]));
    }
    return e;
}

/* ---------------------------------------------------------------------------------------------
 * Defaults and latency
 * ------------------------------------------------------------------------------------------- */

static void test_defaults(void) {
    tonecore_pipeline_config c;

    check_section("tonecore_pipeline_config_init defaults");
    sentinel_fill(&c, sizeof c);
    CHECK_STATUS(tonecore_pipeline_config_init(&c), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(c.struct_size, sizeof(tonecore_pipeline_config));
    CHECK_EQ_INT(c.sample_rate, 44100);
    CHECK_EQ_INT(c.channels, 2);
    CHECK_EQ_SIZE(c.max_block, 4096);
    CHECK_EQ_SIZE(c.fft_size, 4096);
    CHECK(c.ramp_ms == 20.0);
    CHECK_EQ_INT(c.sample_format, TONECORE_SAMPLE_FORMAT_F32);
    CHECK_EQ_INT(c.eq_enabled, 0);
    CHECK_EQ_INT(c.layout, TONECORE_LAYOUT_CRITICAL);
    CHECK_EQ_INT(c.mode, TONECORE_CURVE_MODE_SMOOTH);
    CHECK(c.edges == NULL);
    CHECK_EQ_SIZE(c.edges_len, 0);
    CHECK(c.eq_gains_db == NULL);
    CHECK_EQ_SIZE(c.eq_gains_len, 0);
    CHECK_EQ_INT(c.level_enabled, 0);
    CHECK(c.target_lufs == -14.0);
    CHECK(c.attack_ms == 300.0);
    CHECK(c.release_ms == 3000.0);
    CHECK(c.max_boost_db == 12.0);
    CHECK(c.max_cut_db == 24.0);
    CHECK(c.gate_lufs == -50.0);
    CHECK(c.window_ms == 400.0);
    CHECK_EQ_INT(c.limiter_enabled, 0);
    CHECK(c.ceiling_db == -1.0);
    CHECK(c.lookahead_ms == 1.5);
    CHECK(c.limiter_release_ms == 100.0);
    CHECK_EQ_INT(c.limiter_true_peak, 1);
    CHECK_EQ_INT(c.level_mode, TONECORE_LEVEL_MODE_INTEGRATED);
    CHECK(c.track_gain_db == 0.0);
    CHECK_STATUS(tonecore_pipeline_config_init(NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK(tonecore_last_error_message()[0] != '\0');
}

static void test_latency(void) {
    static const struct {
        uint32_t sr;
        size_t fft;
        double lookahead_ms;
    } cases[] = {{44100, 4096, 5.0}, {48000, 1024, 2.0}, {96000, 512, 0.01}, {22050, 2048, 100.0}};
    size_t k;
    tonecore_pipeline_config c;
    tonecore_pipeline *p;

    check_section("latency = EQ latency + lookahead frames, whatever is enabled");
    c = config_default(TONECORE_SAMPLE_FORMAT_F32);
    p = make_pipeline(&c);
    if (p != NULL) {
        /* hop + half the kernel, round(1.5 ms * 44.1 kHz), the true-peak detector */
        CHECK_EQ_SIZE(latency_of(p), 3072 + 66 + TONECORE_TRUE_PEAK_EXTRA_FRAMES);
        tonecore_pipeline_free(p);
    }
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int enabled;
        size_t want = ref_eq_latency(cases[k].fft) + ref_lookahead(cases[k].lookahead_ms, cases[k].sr) +
                      TONECORE_TRUE_PEAK_EXTRA_FRAMES;
        for (enabled = 0; enabled < 2; enabled++) {
            c = config_default(enabled ? TONECORE_SAMPLE_FORMAT_F64 : TONECORE_SAMPLE_FORMAT_F32);
            c.sample_rate = cases[k].sr;
            c.fft_size = cases[k].fft;
            c.lookahead_ms = cases[k].lookahead_ms;
            c.eq_enabled = c.level_enabled = c.limiter_enabled = (uint32_t)enabled;
            p = make_pipeline(&c);
            if (p != NULL) {
                size_t got = latency_of(p);
                CHECK_MSG(got == want, "sr %u fft %zu lookahead %g ms enabled %d: latency %zu, want %zu",
                          (unsigned)cases[k].sr, cases[k].fft, cases[k].lookahead_ms, enabled, got,
                          want);
                tonecore_pipeline_free(p);
            }
        }
    }
    {
        size_t v = sentinel_size();
        c = config_default(TONECORE_SAMPLE_FORMAT_F32);
        p = make_pipeline(&c);
        CHECK_STATUS(tonecore_pipeline_latency(NULL, &v), TONECORE_STATUS_NULL_POINTER);
        CHECK_STATUS(tonecore_pipeline_latency(p, NULL), TONECORE_STATUS_NULL_POINTER);
        CHECK(v == sentinel_size());
        tonecore_pipeline_free(p);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Transparency and exact gains
 * ------------------------------------------------------------------------------------------- */

static void transparent_case(int32_t format, size_t block, int interleaved) {
    const size_t len = 50000;
    tonecore_pipeline_config c = config_default(format);
    double *x = noise(2 * len, 0.5, 7);
    double *y = (double *)ref_alloc(2 * len, sizeof(double));
    double err = 0.0, tol = format == TONECORE_SAMPLE_FORMAT_F64 ? 1e-12 : 1e-6;
    tonecore_pipeline *p;
    size_t lat, ch, n;

    c.max_block = block;
    p = make_pipeline(&c);
    if (p == NULL) {
        goto done;
    }
    lat = latency_of(p);
    CHECK_EQ_SIZE(lat, 3072 + 66 + TONECORE_TRUE_PEAK_EXTRA_FRAMES);
    CHECK_STATUS(run(p, format, 2, x, len, block, interleaved, y), TONECORE_STATUS_OK);
    for (ch = 0; ch < 2; ch++) {
        for (n = 0; n < len; n++) {
            double want = n < lat ? 0.0 : (format == TONECORE_SAMPLE_FORMAT_F32
                                               ? (double)(float)x[ch * len + n - lat]
                                               : x[ch * len + n - lat]);
            err = ref_max_err(err, fabs(y[ch * len + n] - want));
        }
    }
    CHECK_MSG(err <= tol, "%s block %zu%s: max |y[n] - x[n - latency]| = %.3g", FMT_NAME(format),
              block, interleaved ? " interleaved" : "", err);
    printf("   all bypassed %s block %zu%s: max error %.3g\n", FMT_NAME(format), block,
           interleaved ? " interleaved" : "", err);
    tonecore_pipeline_free(p);
done:
    free(x);
    free(y);
}

static void test_transparent(void) {
    check_section("every stage bypassed: output = input delayed by the latency");
    transparent_case(TONECORE_SAMPLE_FORMAT_F64, 1000, 0);
    transparent_case(TONECORE_SAMPLE_FORMAT_F64, 777, 1);
    transparent_case(TONECORE_SAMPLE_FORMAT_F32, 4096, 0);

    check_section("flat +6 dB EQ set through params: 10^(6/20) x the delayed input");
    {
        const size_t len = 40000, block = 500;
        tonecore_pipeline_config c = config_default(TONECORE_SAMPLE_FORMAT_F64);
        double *x = noise(2 * len, 0.3, 8);
        double *y = (double *)ref_alloc(2 * len, sizeof(double));
        double g[BANDS], err = 0.0, k = pow(10.0, 6.0 / 20.0);
        tonecore_pipeline *p;
        tonecore_params *h;
        size_t i, ch, n, lat;
        for (i = 0; i < BANDS; i++) {
            g[i] = 6.0;
        }
        c.eq_enabled = 1;
        c.max_block = block;
        p = make_pipeline(&c);
        h = p ? make_params(p) : NULL;
        if (h != NULL) {
            lat = latency_of(p);
            CHECK_STATUS(tonecore_params_set_eq_gains(h, g, BANDS), TONECORE_STATUS_OK);
            CHECK_STATUS(run(p, TONECORE_SAMPLE_FORMAT_F64, 2, x, len, block, 0, y),
                         TONECORE_STATUS_OK);
            /* After the 20 ms crossfade and the kernel length: from frame 10000 on. */
            for (ch = 0; ch < 2; ch++) {
                for (n = 10000; n < len; n++) {
                    err = ref_max_err(err, fabs(y[ch * len + n] - k * x[ch * len + n - lat]));
                }
            }
            CHECK_MSG(err <= 1e-9, "+6 dB flat: max |y[n] - 10^(6/20) x[n - latency]| = %.3g", err);
        }
        tonecore_params_free(h);
        tonecore_pipeline_free(p);
        free(x);
        free(y);
    }
}

/* ---------------------------------------------------------------------------------------------
 * The ceiling under adversarial input
 * ------------------------------------------------------------------------------------------- */

enum { SIG_SQUARE2, SIG_SQUARE100, SIG_SPIKES, SIG_NOISE, SIG_COUNT };
static const char *const sig_names[SIG_COUNT] = {"square period 2", "square period 100",
                                                 "+-1 spikes", "full-scale noise"};

/* Planar stereo: the signal on the left, its negation on the right. */
static double *adversarial(int kind, size_t len) {
    double *x = (double *)ref_alloc(2 * len, sizeof(double));
    ref_rng rng = ref_rng_new(50 + (uint64_t)kind);
    size_t i;
    for (i = 0; i < len; i++) {
        double v = 0.0;
        switch (kind) {
        case SIG_SQUARE2: v = (i % 2 == 0) ? 1.0 : -1.0; break;
        case SIG_SQUARE100: v = ((i / 50) % 2 == 0) ? 1.0 : -1.0; break;
        case SIG_SPIKES: v = (i % 997 == 0) ? ((i / 997) % 2 == 0 ? 1.0 : -1.0) : 0.0; break;
        default: v = ref_uniform(&rng); break;
        }
        x[i] = v;
        x[len + i] = -v;
    }
    return x;
}

static void ceiling_case(int32_t format, int interleaved, double ceiling_db) {
    const size_t len = 2 * SR, block = 512;
    double gains[BANDS], ceiling = pow(10.0, ceiling_db / 20.0);
    double *y = (double *)ref_alloc(2 * len, sizeof(double));
    int kind;
    size_t i;

    for (i = 0; i < BANDS; i++) {
        gains[i] = 24.0;
    }
    for (kind = 0; kind < SIG_COUNT; kind++) {
        tonecore_pipeline_config c = config_live(format);
        double *x = adversarial(kind, len);
        tonecore_pipeline *p;
        tonecore_params *h;
        c.max_block = block;
        c.eq_enabled = 1;
        c.eq_gains_db = gains;
        c.eq_gains_len = BANDS;
        c.level_enabled = 1;
        c.target_lufs = 0.0;
        c.limiter_enabled = 1;
        c.ceiling_db = ceiling_db;
        p = make_pipeline(&c);
        h = p ? make_params(p) : NULL;
        if (h != NULL) {
            int finite;
            double peak;
            tonecore_pipeline_stats s;
            CHECK_STATUS(run(p, format, 2, x, len, block, interleaved, y), TONECORE_STATUS_OK);
            peak = peak_abs(y, 2 * len, &finite);
            CHECK_MSG(finite, "%s%s %s: non-finite output", FMT_NAME(format),
                      interleaved ? " interleaved" : "", sig_names[kind]);
            CHECK_MSG(peak <= ceiling, "%s%s %s ceiling %g dBFS: peak %.12g > %.12g",
                      FMT_NAME(format), interleaved ? " interleaved" : "", sig_names[kind],
                      ceiling_db, peak, ceiling);
            /* Limited, not silenced. */
            CHECK_MSG(peak >= 0.9 * ceiling, "%s%s %s: peak %.6g, far below the ceiling %.6g",
                      FMT_NAME(format), interleaved ? " interleaved" : "", sig_names[kind], peak,
                      ceiling);
            s = stats_of(h);
            CHECK_MSG(s.limiter_max_reduction_db < -1.0,
                      "%s %s: limiter_max_reduction_db %.3f, want < -1 dB", FMT_NAME(format),
                      sig_names[kind], s.limiter_max_reduction_db);
            printf("   %s%s %-18s ceiling %5.1f dB: peak %.9f (ceiling %.9f), max reduction %.1f dB\n",
                   FMT_NAME(format), interleaved ? " il" : "   ", sig_names[kind], ceiling_db,
                   peak, ceiling, s.limiter_max_reduction_db);
        }
        tonecore_params_free(h);
        tonecore_pipeline_free(p);
        free(x);
    }
    free(y);
}

static void test_ceiling(void) {
    check_section("limiter at -1 dBFS after +24 dB EQ and a 0 LUFS level target: never above 10^(-1/20)");
    ceiling_case(TONECORE_SAMPLE_FORMAT_F64, 0, -1.0);
    ceiling_case(TONECORE_SAMPLE_FORMAT_F64, 1, -1.0);
    ceiling_case(TONECORE_SAMPLE_FORMAT_F32, 0, -1.0);
    ceiling_case(TONECORE_SAMPLE_FORMAT_F32, 1, -1.0);
    check_section("other ceilings: -6 and -0.1 dBFS (f64); -0.1 and -20 dBFS (f32: the ceiling "
                  "rounds up in float, yet no output sample may exceed 10^(c/20))");
    ceiling_case(TONECORE_SAMPLE_FORMAT_F64, 0, -6.0);
    ceiling_case(TONECORE_SAMPLE_FORMAT_F64, 1, -0.1);
    ceiling_case(TONECORE_SAMPLE_FORMAT_F32, 1, -0.1);
    ceiling_case(TONECORE_SAMPLE_FORMAT_F32, 0, -20.0);
}

/* ---------------------------------------------------------------------------------------------
 * Level matching and block-size invariance
 * ------------------------------------------------------------------------------------------- */

static void test_level_matcher(void) {
    static const double levels[2] = {-24.0, -10.0};
    size_t len, seg = 10 * SR, k;
    double *x = stepped_noise(levels, 2, 10.0, 3, &len);
    double *y = (double *)ref_alloc(2 * len, sizeof(double));
    tonecore_pipeline_config c = config_live(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_pipeline *p;
    tonecore_params *h;

    check_section("level matcher (-18 LUFS, 200/1000 ms), 20 s of stepped stereo noise: "
                  "last 4 s of each half at -18 +- 0.5 LUFS");
    c.level_enabled = 1;
    c.target_lufs = -18.0;
    c.attack_ms = 200.0;
    c.release_ms = 1000.0;
    c.max_block = 4410;
    p = make_pipeline(&c);
    h = p ? make_params(p) : NULL;
    if (h != NULL) {
        tonecore_pipeline_stats s;
        CHECK_STATUS(run(p, TONECORE_SAMPLE_FORMAT_F64, 2, x, len, 4410, 0, y), TONECORE_STATUS_OK);
        for (k = 0; k < 2; k++) {
            size_t a = (k + 1) * seg - 4 * SR, b = (k + 1) * seg;
            double in = lufs_of(x, len, a, b), out = lufs_of(y, len, a, b);
            /* The input is far from the target, so reaching it is the matcher's doing. */
            CHECK_MSG(fabs(in + 18.0) > 3.0, "half %zu: input already at %.2f LUFS", k, in);
            CHECK_NEAR(out, -18.0, 0.5, "half %zu output loudness (input %.2f LUFS)", k, in);
            printf("   half %zu: input %.2f LUFS -> output %.2f LUFS\n", k, in, out);
        }
        /* Stats: the matcher's loudness estimate is the (un-EQ'd) input's, its gain the
         * difference to the target. */
        s = stats_of(h);
        {
            double in = lufs_of(x, len, len - 2 * SR, len);
            CHECK_NEAR(s.loudness_lufs, in, 0.5, "stats.loudness_lufs vs the input's loudness");
            CHECK_NEAR(s.level_gain_db, -18.0 - s.loudness_lufs, 0.5,
                       "stats.level_gain_db vs target - loudness");
        }
    }
    tonecore_params_free(h);
    tonecore_pipeline_free(p);
    free(x);
    free(y);
}

static void test_block_invariance(void) {
    static const double levels[2] = {-24.0, -10.0};
    static const size_t blocks[] = {64, 256, 1024, 4410};
    const size_t nb = sizeof blocks / sizeof blocks[0];
    size_t len, i, b;
    double *x = stepped_noise(levels, 2, 5.0, 4, &len);
    double *y[4], *yi, *yf;
    double gains[BANDS];
    tonecore_pipeline_config c = config_default(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_pipeline *p;

    check_section("block-size invariance with EQ + level + limiter (f64): "
                  "blocks 64/256/1024/4410 within 1e-5");
    for (i = 0; i < BANDS; i++) {
        gains[i] = 3.0 * sin((double)i);
    }
    c.eq_enabled = 1;
    c.eq_gains_db = gains;
    c.eq_gains_len = BANDS;
    c.level_enabled = 1;
    c.target_lufs = -18.0;
    c.attack_ms = 200.0;
    c.release_ms = 1000.0;
    c.limiter_enabled = 1;
    c.ceiling_db = -20.0; /* the level-matched noise peaks near -16 dBFS: the limiter works */
    c.max_block = 4410;
    for (b = 0; b < nb; b++) {
        y[b] = (double *)ref_alloc(2 * len, sizeof(double));
        p = make_pipeline(&c);
        if (p != NULL) {
            tonecore_params *h = make_params(p);
            tonecore_pipeline_stats s;
            CHECK_STATUS(run(p, TONECORE_SAMPLE_FORMAT_F64, 2, x, len, blocks[b], 0, y[b]),
                         TONECORE_STATUS_OK);
            s = stats_of(h);
            CHECK_MSG(s.limiter_max_reduction_db < -1.0, "block %zu: the limiter did not act (%.3f dB)",
                      blocks[b], s.limiter_max_reduction_db);
            CHECK_EQ_INT(s.frames, len);
            if (b == 0) {
                int finite;
                double peak = peak_abs(y[b], 2 * len, &finite);
                CHECK(finite);
                CHECK_MSG(peak <= pow(10.0, -20.0 / 20.0) && peak > 0.05, "peak %.6g", peak);
            } else {
                double e = max_abs_diff(y[b], y[0], 2 * len);
                CHECK_MSG(e <= 1e-5, "block %zu vs 64: max difference %.3g", blocks[b], e);
                printf("   block %zu vs 64: max difference %.3g\n", blocks[b], e);
            }
            /* reset, then the same input again: the same output (block 256 this time). */
            if (b == nb - 1) {
                double *again = (double *)ref_alloc(2 * len, sizeof(double));
                double e;
                CHECK_STATUS(tonecore_pipeline_reset(p), TONECORE_STATUS_OK);
                CHECK_STATUS(run(p, TONECORE_SAMPLE_FORMAT_F64, 2, x, len, 256, 0, again),
                             TONECORE_STATUS_OK);
                e = max_abs_diff(again, y[0], 2 * len);
                CHECK_MSG(e <= 1e-5, "after reset: max difference %.3g from a fresh pipeline", e);
                s = stats_of(h);
                CHECK_EQ_INT(s.frames, 2 * len); /* frames count since creation */
                free(again);
            }
            tonecore_params_free(h);
            tonecore_pipeline_free(p);
        }
    }

    check_section("interleaved = planar, f32 object ~ f64 object (whole chain)");
    yi = (double *)ref_alloc(2 * len, sizeof(double));
    yf = (double *)ref_alloc(2 * len, sizeof(double));
    p = make_pipeline(&c);
    if (p != NULL) {
        double e;
        CHECK_STATUS(run(p, TONECORE_SAMPLE_FORMAT_F64, 2, x, len, 1000, 1, yi), TONECORE_STATUS_OK);
        e = max_abs_diff(yi, y[0], 2 * len);
        CHECK_MSG(e <= 1e-5, "interleaved block 1000 vs planar block 64: %.3g", e);
        tonecore_pipeline_free(p);
    }
    c.sample_format = TONECORE_SAMPLE_FORMAT_F32;
    p = make_pipeline(&c);
    if (p != NULL) {
        double e;
        CHECK_STATUS(run(p, TONECORE_SAMPLE_FORMAT_F32, 2, x, len, 512, 1, yf), TONECORE_STATUS_OK);
        e = max_abs_diff(yf, y[0], 2 * len);
        CHECK_MSG(e <= 1e-4, "f32 interleaved vs f64: %.3g", e);
        printf("   f32 vs f64: max difference %.3g\n", e);
        tonecore_pipeline_free(p);
    }
    for (b = 0; b < nb; b++) {
        free(y[b]);
    }
    free(yi);
    free(yf);
    free(x);
}

/* ---------------------------------------------------------------------------------------------
 * Parameters taking effect
 * ------------------------------------------------------------------------------------------- */

static void test_params_take_effect(void) {
    const size_t len = 3 * SR, block = 1024;
    double *x = adversarial(SIG_NOISE, len);
    double *y = (double *)ref_alloc(2 * len, sizeof(double));
    tonecore_pipeline_config c = config_live(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_pipeline *p;
    tonecore_params *h;
    size_t i;

    check_section("a limiter disabled at creation (ceiling_db -6) enabled by set_bypass, then "
                  "set_ceiling_db(-12): the audio follows");
    c.max_block = block;
    c.ceiling_db = -6.0;
    p = make_pipeline(&c); /* limiter disabled */
    h = p ? make_params(p) : NULL;
    if (h != NULL) {
        size_t lat = latency_of(p), third = len / 3;
        double p1, p2, p3;
        int finite;
        /* 1 s bypassed, 1 s at -6 dBFS, 1 s at -12 dBFS. */
        CHECK_STATUS(run(p, TONECORE_SAMPLE_FORMAT_F64, 2, x, third, block, 0, y),
                     TONECORE_STATUS_OK);
        p1 = 0.0;
        for (i = lat; i < third; i++) {
            p1 = fabs(y[i]) > p1 ? fabs(y[i]) : p1;
        }
        CHECK_MSG(p1 > 0.9, "bypassed limiter: peak %.3f (the delayed full-scale noise)", p1);
        CHECK_STATUS(tonecore_params_set_bypass(h, TONECORE_STAGE_LIMITER, 0), TONECORE_STATUS_OK);
        {
            double *seg = (double *)ref_alloc(2 * third, sizeof(double));
            double *out = (double *)ref_alloc(2 * third, sizeof(double));
            memcpy(seg, x + third, third * sizeof(double));
            memcpy(seg + third, x + len + third, third * sizeof(double));
            CHECK_STATUS(run(p, TONECORE_SAMPLE_FORMAT_F64, 2, seg, third, block, 0, out),
                         TONECORE_STATUS_OK);
            /* After the 20 ms crossfade (882 frames) plus the pipeline latency. */
            p2 = peak_from(out, 2, third, lat + 882, &finite);
            CHECK(finite);
            CHECK_MSG(p2 <= pow(10.0, -6.0 / 20.0) && p2 > 0.45, "limiter enabled: peak %.6f", p2);
            CHECK_STATUS(tonecore_params_set_ceiling_db(h, -12.0), TONECORE_STATUS_OK);
            memcpy(seg, x + 2 * third, third * sizeof(double));
            memcpy(seg + third, x + len + 2 * third, third * sizeof(double));
            CHECK_STATUS(run(p, TONECORE_SAMPLE_FORMAT_F64, 2, seg, third, block, 0, out),
                         TONECORE_STATUS_OK);
            /* From the first frame of the next call (frames inside the lookahead are clamped). */
            p3 = peak_from(out, 2, third, 0, &finite);
            CHECK(finite);
            CHECK_MSG(p3 <= pow(10.0, -12.0 / 20.0) && p3 > 0.2, "ceiling -12 dBFS: peak %.6f", p3);
            /* Refused ceilings leave -12 in force. */
            CHECK_STATUS(tonecore_params_set_ceiling_db(h, 0.5), TONECORE_STATUS_INVALID_CEILING);
            CHECK_STATUS(tonecore_params_set_ceiling_db(h, NAN), TONECORE_STATUS_INVALID_CEILING);
            CHECK_STATUS(run(p, TONECORE_SAMPLE_FORMAT_F64, 2, seg, third, block, 0, out),
                         TONECORE_STATUS_OK);
            p3 = peak_abs(out, 2 * third, &finite);
            CHECK_MSG(p3 <= pow(10.0, -12.0 / 20.0), "after refused ceilings: peak %.6f", p3);
            printf("   peaks: bypassed %.3f, -6 dB %.4f, -12 dB %.4f\n", p1, p2, p3);
            free(seg);
            free(out);
        }
    }
    tonecore_params_free(h);
    tonecore_pipeline_free(p);
    free(x);
    free(y);

    check_section("a level matcher disabled at creation uses its configured settings once enabled");
    {
        static const double lv[1] = {-24.0};
        size_t nlen;
        double *n = stepped_noise(lv, 1, 8.0, 6, &nlen);
        double *out = (double *)ref_alloc(2 * nlen, sizeof(double));
        c = config_live(TONECORE_SAMPLE_FORMAT_F64);
        c.level_enabled = 0;
        c.target_lufs = -20.0;
        c.attack_ms = 200.0;
        c.release_ms = 500.0;
        c.max_block = 4410;
        p = make_pipeline(&c);
        h = p ? make_params(p) : NULL;
        if (h != NULL) {
            double in, got;
            CHECK_STATUS(tonecore_params_set_bypass(h, TONECORE_STAGE_LEVEL, 0), TONECORE_STATUS_OK);
            CHECK_STATUS(run(p, TONECORE_SAMPLE_FORMAT_F64, 2, n, nlen, 4410, 0, out),
                         TONECORE_STATUS_OK);
            in = lufs_of(n, nlen, nlen - 3 * SR, nlen);
            got = lufs_of(out, nlen, nlen - 3 * SR, nlen);
            CHECK_MSG(fabs(in + 20.0) > 3.0, "input already at %.2f LUFS", in);
            CHECK_NEAR(got, -20.0, 0.5,
                       "configured target -20 (release 500 ms), enabled later (input %.2f LUFS)", in);
            printf("   noise %.2f LUFS -> %.2f LUFS\n", in, got);
        }
        tonecore_params_free(h);
        tonecore_pipeline_free(p);
        free(n);
        free(out);
    }

    check_section("set_level_reference (-20 dBFS 1 kHz tone) makes -20 LUFS the target");
    {
        static const double lv[1] = {-24.0};
        size_t nlen, k;
        double *n = stepped_noise(lv, 1, 8.0, 5, &nlen);
        double *out = (double *)ref_alloc(2 * nlen, sizeof(double));
        double *tone = (double *)ref_alloc(2 * 5 * SR, sizeof(double));
        double lufs = NAN;
        for (k = 0; k < 5 * SR; k++) {
            tone[k] = tone[5 * SR + k] = 0.1 * sin(2.0 * M_PI * 1000.0 * (double)k / SR);
        }
        c = config_live(TONECORE_SAMPLE_FORMAT_F64);
        c.level_enabled = 1;
        c.release_ms = 500.0;
        c.max_block = 4410;
        p = make_pipeline(&c); /* target -14 */
        h = p ? make_params(p) : NULL;
        if (h != NULL) {
            double in, got;
            CHECK_STATUS(tonecore_params_set_level_reference_f64(h, tone, 2 * 5 * SR, 2, &lufs),
                         TONECORE_STATUS_OK);
            CHECK_NEAR(lufs, -20.0, 0.2, "reference loudness");
            CHECK_STATUS(run(p, TONECORE_SAMPLE_FORMAT_F64, 2, n, nlen, 4410, 0, out),
                         TONECORE_STATUS_OK);
            in = lufs_of(n, nlen, nlen - 3 * SR, nlen);
            got = lufs_of(out, nlen, nlen - 3 * SR, nlen);
            CHECK_MSG(fabs(in + 20.0) > 3.0, "input already at %.2f LUFS", in);
            CHECK_NEAR(got, lufs, 0.5, "output loudness with the reference's target (input %.2f)",
                       in);
            printf("   reference %.3f LUFS; noise %.2f LUFS -> %.2f LUFS\n", lufs, in, got);
        }
        tonecore_params_free(h);
        tonecore_pipeline_free(p);
        free(n);
        free(out);
        free(tone);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Statistics
 * ------------------------------------------------------------------------------------------- */

static void test_stats(void) {
    static const size_t blocks[] = {100, 4096, 7, 1, 1000};
    tonecore_pipeline_config c = config_default(TONECORE_SAMPLE_FORMAT_F32);
    tonecore_pipeline *p;
    tonecore_params *h;
    tonecore_pipeline_stats s;
    double g[BANDS];
    float *in, *out;
    size_t i, total = 0, k;
    const size_t cap = 2 * 4096;

    check_section("stats: frames, eq_bands, eq_gains_db, bypass flags, limiter reduction, nonfinite");
    c.eq_enabled = 1;
    c.limiter_enabled = 1;
    p = make_pipeline(&c);
    h = p ? make_params(p) : NULL;
    if (h == NULL) {
        tonecore_pipeline_free(p);
        return;
    }
    in = (float *)ref_alloc(cap, sizeof(float));
    out = (float *)ref_alloc(cap, sizeof(float));
    {
        ref_rng rng = ref_rng_new(70);
        for (i = 0; i < cap; i++) {
            in[i] = (float)(0.01 * ref_uniform(&rng)); /* quiet: no limiting */
        }
    }
    s = stats_of(h);
    CHECK_EQ_INT(s.frames, 0);
    CHECK_EQ_INT(s.nonfinite, 0);
    CHECK_MSG(s.limiter_max_reduction_db == 0.0, "fresh: limiter_max_reduction_db %g",
              s.limiter_max_reduction_db);
    CHECK_EQ_SIZE(s.struct_size, sizeof s);
    for (k = 0; k < sizeof blocks / sizeof blocks[0]; k++) {
        CHECK_STATUS(tonecore_pipeline_process_f32(p, in, 2 * blocks[k], out, 2 * blocks[k]),
                     TONECORE_STATUS_OK);
        total += blocks[k];
        s = stats_of(h);
        CHECK_MSG(s.frames == total, "after %zu frames: stats.frames %llu", total,
                  (unsigned long long)s.frames);
    }
    CHECK_EQ_INT(s.eq_bands, BANDS);
    CHECK_MSG(s.limiter_max_reduction_db == 0.0, "quiet input: limiter_max_reduction_db %g",
              s.limiter_max_reduction_db);
    CHECK_MSG(s.limiter_gain_db == 0.0, "quiet input: limiter_gain_db %g", s.limiter_gain_db);
    CHECK_EQ_INT(s.eq_bypassed, 0);
    CHECK_EQ_INT(s.level_bypassed, 1);
    CHECK_EQ_INT(s.limiter_bypassed, 0);
    for (i = 0; i < BANDS; i++) {
        CHECK_MSG(s.eq_gains_db[i] == 0.0, "initial eq_gains_db[%zu] = %g", i, s.eq_gains_db[i]);
    }

    /* New gains (distinct per band, one clamped): visible once the crossfade is over. */
    for (i = 0; i < BANDS; i++) {
        g[i] = (double)i * 0.75 - 9.0;
    }
    g[BANDS - 1] = 30.0;
    CHECK_STATUS(tonecore_params_set_eq_gains(h, g, BANDS), TONECORE_STATUS_OK);
    g[BANDS - 1] = 24.0;
    for (k = 0; k < 20; k++) { /* 20 x 1000 frames: hops of 2048 frames and a 20 ms ramp */
        CHECK_STATUS(tonecore_pipeline_process_f32(p, in, 2 * 1000, out, 2 * 1000),
                     TONECORE_STATUS_OK);
        total += 1000;
    }
    s = stats_of(h);
    CHECK_EQ_INT(s.frames, total);
    CHECK_EQ_INT(s.eq_bands, BANDS);
    for (i = 0; i < BANDS; i++) {
        CHECK_MSG(s.eq_gains_db[i] == g[i], "eq_gains_db[%zu] = %g, want %g", i, s.eq_gains_db[i],
                  g[i]);
    }

    /* Bypass flags follow set_bypass; a bypassed EQ runs the flat kernel. */
    CHECK_STATUS(tonecore_params_set_bypass(h, TONECORE_STAGE_EQ, 1), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_set_bypass(h, TONECORE_STAGE_LEVEL, 0), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_set_bypass(h, TONECORE_STAGE_LIMITER, 7), TONECORE_STATUS_OK);
    for (k = 0; k < 10; k++) {
        CHECK_STATUS(tonecore_pipeline_process_f32(p, in, 2 * 1000, out, 2 * 1000),
                     TONECORE_STATUS_OK);
        total += 1000;
    }
    s = stats_of(h);
    CHECK_EQ_INT(s.eq_bypassed, 1);
    CHECK_EQ_INT(s.level_bypassed, 0);
    CHECK_EQ_INT(s.limiter_bypassed, 1);
    CHECK_EQ_INT(s.eq_bands, BANDS);
    for (i = 0; i < BANDS; i++) {
        CHECK_MSG(s.eq_gains_db[i] == 0.0, "bypassed EQ: eq_gains_db[%zu] = %g", i,
                  s.eq_gains_db[i]);
    }
    CHECK_STATUS(tonecore_params_set_bypass(h, TONECORE_STAGE_EQ, 0), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_set_bypass(h, TONECORE_STAGE_LEVEL, 1), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_set_bypass(h, TONECORE_STAGE_LIMITER, 0), TONECORE_STATUS_OK);
    for (k = 0; k < 10; k++) {
        CHECK_STATUS(tonecore_pipeline_process_f32(p, in, 2 * 1000, out, 2 * 1000),
                     TONECORE_STATUS_OK);
        total += 1000;
    }
    s = stats_of(h);
    CHECK_EQ_INT(s.eq_bypassed, 0);
    CHECK_EQ_INT(s.level_bypassed, 1);
    CHECK_EQ_INT(s.limiter_bypassed, 0);
    for (i = 0; i < BANDS; i++) {
        CHECK_MSG(s.eq_gains_db[i] == g[i], "EQ back on: eq_gains_db[%zu] = %g, want %g", i,
                  s.eq_gains_db[i], g[i]);
    }

    /* Loud input: the limiter reduces; the largest reduction is kept after quiet input. */
    for (i = 0; i < 2 * 1000; i++) {
        in[i] *= 100.0f; /* up to 1.0 through EQ gains up to +24 dB */
    }
    for (k = 0; k < 5; k++) {
        CHECK_STATUS(tonecore_pipeline_process_f32(p, in, 2 * 1000, out, 2 * 1000),
                     TONECORE_STATUS_OK);
        total += 1000;
    }
    s = stats_of(h);
    {
        double reduction = s.limiter_max_reduction_db;
        CHECK_MSG(reduction < -1.0, "after limiting: limiter_max_reduction_db %g", reduction);
        CHECK_MSG(s.limiter_gain_db < 0.0, "while limiting: limiter_gain_db %g", s.limiter_gain_db);
        for (i = 0; i < 2 * 1000; i++) {
            in[i] = 0.0f;
        }
        /* 1.8 s of silence: the loud tail still inside the EQ and lookahead comes out (it may
         * deepen the reduction), then 18 release time constants. */
        for (k = 0; k < 80; k++) {
            CHECK_STATUS(tonecore_pipeline_process_f32(p, in, 2 * 1000, out, 2 * 1000),
                         TONECORE_STATUS_OK);
            total += 1000;
        }
        s = stats_of(h);
        CHECK_MSG(s.limiter_max_reduction_db <= reduction,
                  "limiter_max_reduction_db rose from %g to %g (it is the largest since creation)",
                  reduction, s.limiter_max_reduction_db);
        reduction = s.limiter_max_reduction_db;
        CHECK_MSG(fabs(s.limiter_gain_db) <= 1e-4, "released: limiter_gain_db %g",
                  s.limiter_gain_db);
        CHECK_EQ_INT(s.frames, total);
        for (k = 0; k < 10; k++) {
            CHECK_STATUS(tonecore_pipeline_process_f32(p, in, 2 * 1000, out, 2 * 1000),
                         TONECORE_STATUS_OK);
            total += 1000;
        }
        s = stats_of(h);
        CHECK_MSG(s.limiter_max_reduction_db == reduction,
                  "limiter_max_reduction_db %g after more silence, was %g (since creation)",
                  s.limiter_max_reduction_db, reduction);
    }

    /* Non-finite input: replaced by zero and counted. */
    in[0] = NAN;
    in[5] = INFINITY;
    in[2 * 1000 - 1] = -INFINITY;
    CHECK_STATUS(tonecore_pipeline_process_f32(p, in, 2 * 1000, out, 2 * 1000), TONECORE_STATUS_OK);
    total += 1000;
    s = stats_of(h);
    CHECK_EQ_INT(s.nonfinite, 3);
    CHECK_EQ_INT(s.frames, total);

    /* struct_size: too small is refused; larger writes only sizeof bytes. */
    {
        struct {
            tonecore_pipeline_stats s;
            unsigned char tail[64];
        } big;
        tonecore_pipeline_stats small;
        sentinel_fill(&small, sizeof small);
        small.struct_size = sizeof small - 1;
        CHECK_STATUS(tonecore_params_stats(h, &small), TONECORE_STATUS_STRUCT_SIZE);
        CHECK(small.struct_size == sizeof small - 1);
        CHECK(sentinel_intact((unsigned char *)&small + sizeof(size_t),
                              sizeof small - sizeof(size_t)));
        small.struct_size = 0;
        CHECK_STATUS(tonecore_params_stats(h, &small), TONECORE_STATUS_STRUCT_SIZE);
        CHECK(sentinel_intact((unsigned char *)&small + sizeof(size_t),
                              sizeof small - sizeof(size_t)));
        small.struct_size = offsetof(tonecore_pipeline_stats, eq_gains_db);
        CHECK_STATUS(tonecore_params_stats(h, &small), TONECORE_STATUS_STRUCT_SIZE);
        CHECK(sentinel_intact((unsigned char *)&small + sizeof(size_t),
                              sizeof small - sizeof(size_t)));
        sentinel_fill(&big, sizeof big);
        big.s.struct_size = sizeof big;
        CHECK_STATUS(tonecore_params_stats(h, &big.s), TONECORE_STATUS_OK);
        CHECK_EQ_INT(big.s.frames, total);
        CHECK(sentinel_intact(big.tail, sizeof big.tail));
        CHECK_STATUS(tonecore_params_stats(h, NULL), TONECORE_STATUS_NULL_POINTER);
        sentinel_fill(&small, sizeof small);
        small.struct_size = sizeof small;
        CHECK_STATUS(tonecore_params_stats(NULL, &small), TONECORE_STATUS_NULL_POINTER);
        CHECK(sentinel_intact((unsigned char *)&small + sizeof(size_t),
                              sizeof small - sizeof(size_t)));
    }
    tonecore_params_free(h);
    tonecore_pipeline_free(p);
    free(in);
    free(out);
}

/* ---------------------------------------------------------------------------------------------
 * Refusals
 * ------------------------------------------------------------------------------------------- */

static void expect_new_fails(const tonecore_pipeline_config *c, int32_t expected,
                             const char *what) {
    tonecore_pipeline *p = PIPELINE_SENTINEL;
    int32_t st = tonecore_pipeline_new(c, &p);
    CHECK_MSG(st == expected, "%s: got %s, want %s (%s)", what, check_status_name(st),
              check_status_name(expected), tonecore_last_error_message());
    CHECK_MSG(p == PIPELINE_SENTINEL, "%s: pipeline_out written", what);
    CHECK_MSG(tonecore_last_error_message()[0] != '\0', "%s: no detail message", what);
    if (st == TONECORE_STATUS_OK && p != PIPELINE_SENTINEL) {
        tonecore_pipeline_free(p);
    }
}

static void test_new_errors(void) {
    tonecore_pipeline_config c;
    tonecore_pipeline *p = PIPELINE_SENTINEL;
    double g[BANDS + 1];
    int enabled;
    size_t i;

    check_section("tonecore_pipeline_new refusals (pipeline_out untouched)");
    for (i = 0; i <= BANDS; i++) {
        g[i] = 1.0;
    }
    tonecore_pipeline_config_init(&c);
    CHECK_STATUS(tonecore_pipeline_new(NULL, &p), TONECORE_STATUS_NULL_POINTER);
    CHECK(p == PIPELINE_SENTINEL);
    CHECK_STATUS(tonecore_pipeline_new(&c, NULL), TONECORE_STATUS_NULL_POINTER);

#define WITH(field, value, expected, what)                                                    \
    do {                                                                                      \
        tonecore_pipeline_config_init(&c);                                                    \
        c.level_enabled = c.limiter_enabled = c.eq_enabled = (uint32_t)enabled;               \
        c.field = value;                                                                      \
        expect_new_fails(&c, expected, what);                                                 \
    } while (0)

    /* Stage settings are checked whether the stage starts enabled or not. */
    for (enabled = 0; enabled < 2; enabled++) {
        WITH(struct_size, 0, TONECORE_STATUS_STRUCT_SIZE, "struct_size 0");
        WITH(struct_size, offsetof(tonecore_pipeline_config, limiter_release_ms),
             TONECORE_STATUS_STRUCT_SIZE, "struct_size without the last field");
        WITH(struct_size, sizeof(tonecore_pipeline_config) - 1, TONECORE_STATUS_STRUCT_SIZE,
             "struct_size sizeof - 1");
        WITH(channels, 0, TONECORE_STATUS_INVALID_CHANNELS, "channels 0");
        WITH(channels, 65, TONECORE_STATUS_INVALID_CHANNELS, "channels 65");
        WITH(sample_rate, 0, TONECORE_STATUS_INVALID_SAMPLE_RATE, "sample_rate 0");
        WITH(max_block, 0, TONECORE_STATUS_INVALID_ARGUMENT, "max_block 0");
        WITH(max_block, (1u << 24) + 1, TONECORE_STATUS_INVALID_ARGUMENT, "max_block 2^24 + 1");
        WITH(fft_size, 4095, TONECORE_STATUS_INVALID_FFT_SIZE, "fft_size 4095");
        WITH(fft_size, 17, TONECORE_STATUS_INVALID_FFT_SIZE, "fft_size 17");
        WITH(fft_size, 0, TONECORE_STATUS_INVALID_FFT_SIZE, "fft_size 0");
        WITH(ramp_ms, NAN, TONECORE_STATUS_INVALID_ARGUMENT, "ramp_ms NaN");
        WITH(ramp_ms, -1.0, TONECORE_STATUS_INVALID_ARGUMENT, "ramp_ms -1");
        WITH(ramp_ms, 10000.5, TONECORE_STATUS_INVALID_ARGUMENT, "ramp_ms 10000.5");
        WITH(sample_format, 2, TONECORE_STATUS_INVALID_ARGUMENT, "sample_format 2");
        WITH(layout, 5, TONECORE_STATUS_INVALID_ARGUMENT, "layout 5"); /* 4: SIXTH_OCTAVE */
        WITH(mode, 2, TONECORE_STATUS_INVALID_ARGUMENT, "mode 2");
        WITH(attack_ms, 0.0, TONECORE_STATUS_INVALID_TIME, "attack_ms 0");
        WITH(attack_ms, NAN, TONECORE_STATUS_INVALID_TIME, "attack_ms NaN");
        WITH(attack_ms, 60000.5, TONECORE_STATUS_INVALID_TIME, "attack_ms 60000.5");
        WITH(release_ms, -5.0, TONECORE_STATUS_INVALID_TIME, "release_ms -5");
        WITH(release_ms, INFINITY, TONECORE_STATUS_INVALID_TIME, "release_ms Inf");
        WITH(window_ms, 49.0, TONECORE_STATUS_INVALID_TIME, "window_ms 49");
        WITH(window_ms, 10000.5, TONECORE_STATUS_INVALID_TIME, "window_ms 10000.5");
        WITH(lookahead_ms, 0.0, TONECORE_STATUS_INVALID_TIME, "lookahead_ms 0");
        WITH(lookahead_ms, 100.5, TONECORE_STATUS_INVALID_TIME, "lookahead_ms 100.5");
        WITH(limiter_release_ms, 0.0, TONECORE_STATUS_INVALID_TIME, "limiter_release_ms 0");
        WITH(limiter_release_ms, 10000.5, TONECORE_STATUS_INVALID_TIME,
             "limiter_release_ms 10000.5");
        WITH(ceiling_db, 0.5, TONECORE_STATUS_INVALID_CEILING, "ceiling_db +0.5");
        WITH(ceiling_db, NAN, TONECORE_STATUS_INVALID_CEILING, "ceiling_db NaN");
        WITH(ceiling_db, -61.0, TONECORE_STATUS_INVALID_CEILING, "ceiling_db -61");
        WITH(ceiling_db, -INFINITY, TONECORE_STATUS_INVALID_CEILING, "ceiling_db -Inf");
        WITH(target_lufs, NAN, TONECORE_STATUS_INVALID_TARGET, "target_lufs NaN");
        WITH(target_lufs, 1.0, TONECORE_STATUS_INVALID_TARGET, "target_lufs +1");
        WITH(target_lufs, -71.0, TONECORE_STATUS_INVALID_TARGET, "target_lufs -71");
        WITH(max_boost_db, 40.5, TONECORE_STATUS_INVALID_TARGET, "max_boost_db 40.5");
        WITH(max_cut_db, -1.0, TONECORE_STATUS_INVALID_TARGET, "max_cut_db -1");
        WITH(gate_lufs, 1.0, TONECORE_STATUS_INVALID_TARGET, "gate_lufs +1");
        WITH(gate_lufs, -100.5, TONECORE_STATUS_INVALID_TARGET, "gate_lufs -100.5");
    }
#undef WITH

    tonecore_pipeline_config_init(&c);
    c.eq_gains_db = g;
    c.eq_gains_len = BANDS - 1;
    expect_new_fails(&c, TONECORE_STATUS_GAIN_COUNT, "24 gains");
    c.eq_gains_len = BANDS + 1;
    expect_new_fails(&c, TONECORE_STATUS_GAIN_COUNT, "26 gains");
    c.eq_gains_len = BANDS;
    g[7] = NAN;
    expect_new_fails(&c, TONECORE_STATUS_NON_FINITE, "NaN gain");
    g[7] = 1.0;

    /* The limits themselves are accepted. */
    tonecore_pipeline_config_init(&c);
    c.channels = 64;
    c.max_block = 1;
    c.fft_size = 16;
    c.target_lufs = -70.0;
    c.ceiling_db = -60.0;
    c.lookahead_ms = 100.0;
    c.attack_ms = 60000.0;
    c.level_enabled = c.limiter_enabled = 1;
    p = NULL;
    CHECK_STATUS(tonecore_pipeline_new(&c, &p), TONECORE_STATUS_OK);
    CHECK_STR_EQ(tonecore_last_error_message(), "");
    tonecore_pipeline_free(p);
    tonecore_pipeline_config_init(&c);
    c.channels = 1;
    c.target_lufs = 0.0;
    c.ceiling_db = 0.0;
    c.sample_format = TONECORE_SAMPLE_FORMAT_F64;
    c.eq_gains_db = g;
    c.eq_gains_len = BANDS;
    p = NULL;
    CHECK_STATUS(tonecore_pipeline_new(&c, &p), TONECORE_STATUS_OK);
    tonecore_pipeline_free(p);
    tonecore_pipeline_free(NULL);
    tonecore_params_free(NULL);
}

static void test_params_errors(void) {
    tonecore_pipeline_config c = config_default(TONECORE_SAMPLE_FORMAT_F32);
    tonecore_pipeline *p;
    tonecore_params *h;
    double g[BANDS + 1], bad[BANDS + 1];
    size_t i;

    check_section("tonecore_params refusals");
    for (i = 0; i <= BANDS; i++) {
        g[i] = (double)(i % 5) - 2.0;
    }
    c.eq_enabled = 1;
    c.max_block = 512;
    p = make_pipeline(&c);
    h = p ? make_params(p) : NULL;
    if (h == NULL) {
        tonecore_pipeline_free(p);
        return;
    }
    CHECK_STATUS(tonecore_params_set_eq_gains(h, g, BANDS), TONECORE_STATUS_OK);

#define EXPECT_REFUSED(call, expected)                                                        \
    do {                                                                                      \
        CHECK_STATUS(call, expected);                                                         \
        CHECK_MSG(tonecore_last_error_message()[0] != '\0', "%s: no detail message", #call);   \
    } while (0)

    EXPECT_REFUSED(tonecore_params_set_level_target(h, NAN), TONECORE_STATUS_INVALID_TARGET);
    EXPECT_REFUSED(tonecore_params_set_level_target(h, INFINITY), TONECORE_STATUS_INVALID_TARGET);
    EXPECT_REFUSED(tonecore_params_set_level_target(h, -INFINITY), TONECORE_STATUS_INVALID_TARGET);
    EXPECT_REFUSED(tonecore_params_set_level_target(h, 1.0), TONECORE_STATUS_INVALID_TARGET);
    EXPECT_REFUSED(tonecore_params_set_level_target(h, -71.0), TONECORE_STATUS_INVALID_TARGET);
    EXPECT_REFUSED(tonecore_params_set_ceiling_db(h, NAN), TONECORE_STATUS_INVALID_CEILING);
    EXPECT_REFUSED(tonecore_params_set_ceiling_db(h, 0.5), TONECORE_STATUS_INVALID_CEILING);
    EXPECT_REFUSED(tonecore_params_set_ceiling_db(h, -61.0), TONECORE_STATUS_INVALID_CEILING);
    EXPECT_REFUSED(tonecore_params_set_ceiling_db(h, INFINITY), TONECORE_STATUS_INVALID_CEILING);
    EXPECT_REFUSED(tonecore_params_set_bypass(h, 3, 1), TONECORE_STATUS_INVALID_ARGUMENT);
    EXPECT_REFUSED(tonecore_params_set_bypass(h, -1, 0), TONECORE_STATUS_INVALID_ARGUMENT);
    EXPECT_REFUSED(tonecore_params_set_bypass(h, INT32_MAX, 0), TONECORE_STATUS_INVALID_ARGUMENT);
    memcpy(bad, g, sizeof bad);
    EXPECT_REFUSED(tonecore_params_set_eq_gains(h, bad, BANDS - 1), TONECORE_STATUS_GAIN_COUNT);
    EXPECT_REFUSED(tonecore_params_set_eq_gains(h, bad, BANDS + 1), TONECORE_STATUS_GAIN_COUNT);
    EXPECT_REFUSED(tonecore_params_set_eq_gains(h, bad, 0), TONECORE_STATUS_GAIN_COUNT);
    bad[3] = NAN;
    EXPECT_REFUSED(tonecore_params_set_eq_gains(h, bad, BANDS), TONECORE_STATUS_NON_FINITE);
    bad[3] = -INFINITY;
    EXPECT_REFUSED(tonecore_params_set_eq_gains(h, bad, BANDS), TONECORE_STATUS_NON_FINITE);
    EXPECT_REFUSED(tonecore_params_set_eq_gains(h, NULL, BANDS), TONECORE_STATUS_NULL_POINTER);
    EXPECT_REFUSED(tonecore_params_set_eq_gains(NULL, g, BANDS), TONECORE_STATUS_NULL_POINTER);
    EXPECT_REFUSED(tonecore_params_set_level_target(NULL, -20.0), TONECORE_STATUS_NULL_POINTER);
    EXPECT_REFUSED(tonecore_params_set_ceiling_db(NULL, -3.0), TONECORE_STATUS_NULL_POINTER);
    EXPECT_REFUSED(tonecore_params_set_bypass(NULL, TONECORE_STAGE_EQ, 1),
                   TONECORE_STATUS_NULL_POINTER);
    {
        tonecore_params *q = (tonecore_params *)(void *)&pipeline_sentinel_storage;
        EXPECT_REFUSED(tonecore_pipeline_params(NULL, &q), TONECORE_STATUS_NULL_POINTER);
        CHECK(q == (tonecore_params *)(void *)&pipeline_sentinel_storage);
        EXPECT_REFUSED(tonecore_pipeline_params(p, NULL), TONECORE_STATUS_NULL_POINTER);
        CHECK_STATUS(tonecore_pipeline_reset(NULL), TONECORE_STATUS_NULL_POINTER);
    }
#undef EXPECT_REFUSED

    /* The limits are accepted. */
    CHECK_STATUS(tonecore_params_set_level_target(h, -70.0), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_set_level_target(h, 0.0), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_set_ceiling_db(h, 0.0), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_set_ceiling_db(h, -60.0), TONECORE_STATUS_OK);
    CHECK_STR_EQ(tonecore_last_error_message(), "");

    /* The refused gains changed nothing: after the ramp the kernel in use has g. */
    {
        float in[2 * 512] = {0}, out[2 * 512];
        tonecore_pipeline_stats s;
        int k;
        for (k = 0; k < 40; k++) {
            CHECK_STATUS(tonecore_pipeline_process_f32(p, in, 2 * 512, out, 2 * 512),
                         TONECORE_STATUS_OK);
        }
        s = stats_of(h);
        CHECK_MSG(memcmp(s.eq_gains_db, g, BANDS * sizeof(double)) == 0,
                  "refused set_eq_gains calls changed the gains");
    }

    check_section("set_level_reference: results and refusals");
    {
        const size_t n = 5 * SR;
        float *tone = (float *)ref_alloc(2 * n, sizeof(float));
        float *silent = (float *)ref_alloc(2 * n, sizeof(float));
        float *square = (float *)ref_alloc(2 * n, sizeof(float));
        double *dtone = (double *)ref_alloc(2 * n, sizeof(double));
        double lufs;
        int32_t st;
        for (i = 0; i < n; i++) {
            double v = 0.1 * sin(2.0 * M_PI * 1000.0 * (double)i / SR); /* -20 dBFS */
            tone[i] = tone[n + i] = (float)v;
            dtone[i] = dtone[n + i] = v;
            square[i] = square[n + i] = (i / 22) % 2 ? 1.0f : -1.0f;
        }
#define EXPECT_REF_REFUSED(call, expected, what)                                              \
    do {                                                                                      \
        lufs = 12345.0;                                                                       \
        CHECK_STATUS(call, expected);                                                         \
        CHECK_MSG(lufs == 12345.0, "%s: lufs_out written", what);                             \
        CHECK_MSG(tonecore_last_error_message()[0] != '\0', "%s: no detail message", what);    \
    } while (0)
        EXPECT_REF_REFUSED(tonecore_params_set_level_reference_f32(h, silent, 2 * n, 2, &lufs),
                           TONECORE_STATUS_INVALID_TARGET, "silent reference");
        EXPECT_REF_REFUSED(tonecore_params_set_level_reference_f32(h, tone, 2 * SR / 5, 2, &lufs),
                           TONECORE_STATUS_INVALID_TARGET, "0.2 s reference (too short)");
        EXPECT_REF_REFUSED(tonecore_params_set_level_reference_f32(h, square, 2 * n, 2, &lufs),
                           TONECORE_STATUS_INVALID_TARGET, "full-scale square (above 0 LUFS)");
        EXPECT_REF_REFUSED(tonecore_params_set_level_reference_f64(h, dtone, 2 * n, 2, &lufs),
                           TONECORE_STATUS_WRONG_FORMAT, "f64 reference on an f32 pipeline");
        EXPECT_REF_REFUSED(tonecore_params_set_level_reference_f32(h, tone, 2 * n, 0, &lufs),
                           TONECORE_STATUS_INVALID_CHANNELS, "channels 0");
        EXPECT_REF_REFUSED(tonecore_params_set_level_reference_f32(h, tone, 2 * n, 65, &lufs),
                           TONECORE_STATUS_INVALID_CHANNELS, "channels 65");
        EXPECT_REF_REFUSED(tonecore_params_set_level_reference_f32(NULL, tone, 2 * n, 2, &lufs),
                           TONECORE_STATUS_NULL_POINTER, "NULL params");
        EXPECT_REF_REFUSED(tonecore_params_set_level_reference_f32(h, NULL, 2 * n, 2, &lufs),
                           TONECORE_STATUS_NULL_POINTER, "NULL reference");
        CHECK_STATUS(tonecore_params_set_level_reference_f32(h, tone, 2 * n, 2, NULL),
                     TONECORE_STATUS_NULL_POINTER);
        /* A length that is not a whole number of frames: the header lists INVALID_CHANNELS and
         * INVALID_LENGTH; either is a refusal. */
        lufs = 12345.0;
        st = tonecore_params_set_level_reference_f32(h, tone, 2 * n - 1, 2, &lufs);
        CHECK_MSG(st == TONECORE_STATUS_INVALID_LENGTH || st == TONECORE_STATUS_INVALID_CHANNELS,
                  "odd reference_len for 2 channels: %s", check_status_name(st));
        CHECK(lufs == 12345.0);
        tone[17] = NAN;
        EXPECT_REF_REFUSED(tonecore_params_set_level_reference_f32(h, tone, 2 * n, 2, &lufs),
                           TONECORE_STATUS_NON_FINITE, "NaN in the reference");
        tone[17] = (float)(0.1 * sin(2.0 * M_PI * 1000.0 * 17.0 / SR));
#undef EXPECT_REF_REFUSED

        /* A stereo sine at A dBFS per channel reads A LUFS. */
        lufs = NAN;
        CHECK_STATUS(tonecore_params_set_level_reference_f32(h, tone, 2 * n, 2, &lufs),
                     TONECORE_STATUS_OK);
        CHECK_NEAR(lufs, -20.0, 0.2, "f32 reference: 1 kHz -20 dBFS stereo");
        /* Mono reference: one front channel, 3 LU lower. */
        lufs = NAN;
        CHECK_STATUS(tonecore_params_set_level_reference_f32(h, tone, n, 1, &lufs),
                     TONECORE_STATUS_OK);
        CHECK_NEAR(lufs, -23.0, 0.2, "f32 reference: 1 kHz -20 dBFS mono");
        free(tone);
        free(silent);
        free(square);

        /* The f64 entry point on an f64 pipeline. */
        {
            tonecore_pipeline_config c64 = config_default(TONECORE_SAMPLE_FORMAT_F64);
            tonecore_pipeline *p64 = make_pipeline(&c64);
            tonecore_params *h64 = p64 ? make_params(p64) : NULL;
            if (h64 != NULL) {
                float f[4] = {0};
                lufs = NAN;
                CHECK_STATUS(tonecore_params_set_level_reference_f64(h64, dtone, 2 * n, 2, &lufs),
                             TONECORE_STATUS_OK);
                CHECK_NEAR(lufs, -20.0, 0.2, "f64 reference: 1 kHz -20 dBFS stereo");
                lufs = 12345.0;
                CHECK_STATUS(tonecore_params_set_level_reference_f32(h64, f, 4, 2, &lufs),
                             TONECORE_STATUS_WRONG_FORMAT);
                CHECK(lufs == 12345.0);
            }
            tonecore_params_free(h64);
            tonecore_pipeline_free(p64);
        }
        free(dtone);
    }
    tonecore_params_free(h);
    tonecore_pipeline_free(p);
}

/* Process refusals for one object of `format`, stereo, max_block 256. */
static void process_errors_case(int32_t format) {
    enum { CH = 2, MB = 256, CAP = CH * (MB + 8) };
    static float fin[CAP], fout[CAP + 8];
    static double din[CAP], dout[CAP + 8];
    tonecore_pipeline_config c = config_default(format);
    tonecore_pipeline *p, *fresh;
    tonecore_params *h;
    const char *name = FMT_NAME(format);
    int f64 = format == TONECORE_SAMPLE_FORMAT_F64;
    double gains[BANDS];
    char message[256];
    int il;
    size_t i;

    for (i = 0; i < BANDS; i++) {
        gains[i] = 6.0 * sin((double)i);
    }
    c.max_block = MB;
    c.fft_size = 512;
    c.eq_enabled = c.level_enabled = c.limiter_enabled = 1;
    c.eq_gains_db = gains;
    c.eq_gains_len = BANDS;
    p = make_pipeline(&c);
    h = p ? make_params(p) : NULL;
    if (h == NULL) {
        tonecore_pipeline_free(p);
        return;
    }
    {
        ref_rng rng = ref_rng_new(96);
        for (i = 0; i < CAP; i++) {
            din[i] = 0.9 * ref_uniform(&rng);
            fin[i] = (float)din[i];
        }
        din[3] = NAN; /* refused calls must not count these */
        fin[3] = NAN;
    }
    /* A control-path failure leaves a detail message; audio-path refusals must not touch it. */
    CHECK_STATUS(tonecore_params_set_ceiling_db(h, 3.0), TONECORE_STATUS_INVALID_CEILING);
    snprintf(message, sizeof message, "%s", tonecore_last_error_message());
    CHECK(message[0] != '\0');

#define CALL(other, in_off, in_len, out_ptr_f, out_ptr_d, out_len)                            \
    ((f64 != (other))                                                                          \
         ? (il ? tonecore_pipeline_process_interleaved_f64(p, (in_off) < 0 ? NULL : din + (in_off), \
                                                           in_len, out_ptr_d, out_len)         \
               : tonecore_pipeline_process_f64(p, (in_off) < 0 ? NULL : din + (in_off), in_len, \
                                               out_ptr_d, out_len))                            \
         : (il ? tonecore_pipeline_process_interleaved_f32(p, (in_off) < 0 ? NULL : fin + (in_off), \
                                                           in_len, out_ptr_f, out_len)         \
               : tonecore_pipeline_process_f32(p, (in_off) < 0 ? NULL : fin + (in_off), in_len, \
                                               out_ptr_f, out_len)))

#define EXPECT_PROC(call, expected, what)                                                     \
    do {                                                                                      \
        sentinel_fill(fout, sizeof fout);                                                     \
        sentinel_fill(dout, sizeof dout);                                                     \
        CHECK_STATUS(call, expected);                                                         \
        CHECK_MSG(sentinel_intact(fout, sizeof fout) && sentinel_intact(dout, sizeof dout),    \
                  "%s %s%s: output written", name, il ? "interleaved " : "", what);            \
        CHECK_MSG(strcmp(tonecore_last_error_message(), message) == 0,                        \
                  "%s %s: the audio path changed the last-error message to \"%s\"", name,     \
                  what, tonecore_last_error_message());                                       \
    } while (0)

    for (il = 0; il < 2; il++) {
        EXPECT_PROC(CALL(0, -1, CH * 64, fout, dout, CH * 64), TONECORE_STATUS_NULL_POINTER,
                    "NULL input");
        EXPECT_PROC(CALL(0, 0, CH * 64, NULL, NULL, CH * 64), TONECORE_STATUS_NULL_POINTER,
                    "NULL output");
        EXPECT_PROC(CALL(0, 0, CH * (MB + 1), fout, dout, CH * (MB + 1)),
                    TONECORE_STATUS_BLOCK_TOO_LARGE, "block of max_block + 1");
        EXPECT_PROC(CALL(0, 0, CH * 64 + 1, fout, dout, CAP), TONECORE_STATUS_INVALID_CHANNELS,
                    "input_len odd for 2 channels");
        EXPECT_PROC(CALL(0, 0, 1, fout, dout, CAP), TONECORE_STATUS_INVALID_CHANNELS,
                    "input_len 1 for 2 channels");
        EXPECT_PROC(CALL(0, 0, CH * 64, fout, dout, CH * 64 - 1), TONECORE_STATUS_BUFFER_TOO_SMALL,
                    "output one sample too small");
        EXPECT_PROC(CALL(0, 0, CH * 64, fout, dout, 0), TONECORE_STATUS_BUFFER_TOO_SMALL,
                    "output_len 0");
        EXPECT_PROC(CALL(1, 0, CH * 64, fout, dout, CH * 64), TONECORE_STATUS_WRONG_FORMAT,
                    "the other sample format");
        {
            static float fbuf[CAP];
            static double dbuf[CAP];
            int32_t st;
            memcpy(fbuf, fin, sizeof fbuf);
            memcpy(dbuf, din, sizeof dbuf);
            if (f64) {
                st = il ? tonecore_pipeline_process_interleaved_f64(p, dbuf, CH * 64, dbuf + 1,
                                                                    CH * 64)
                        : tonecore_pipeline_process_f64(p, dbuf, CH * 64, dbuf + 1, CH * 64);
                CHECK_STATUS(st, TONECORE_STATUS_BUFFERS_OVERLAP);
                st = tonecore_pipeline_process_f64(p, dbuf + 10, CH * 64, dbuf, CH * 64);
                CHECK_STATUS(st, TONECORE_STATUS_BUFFERS_OVERLAP);
                st = tonecore_pipeline_process_f64(p, dbuf, CH * 64, dbuf, CH * 64);
                CHECK_STATUS(st, TONECORE_STATUS_BUFFERS_OVERLAP);
                CHECK_MSG(memcmp(dbuf, din, sizeof dbuf) == 0, "%s overlap: buffer changed", name);
            } else {
                st = il ? tonecore_pipeline_process_interleaved_f32(p, fbuf, CH * 64, fbuf + 1,
                                                                    CH * 64)
                        : tonecore_pipeline_process_f32(p, fbuf, CH * 64, fbuf + 1, CH * 64);
                CHECK_STATUS(st, TONECORE_STATUS_BUFFERS_OVERLAP);
                st = tonecore_pipeline_process_f32(p, fbuf + 10, CH * 64, fbuf, CH * 64);
                CHECK_STATUS(st, TONECORE_STATUS_BUFFERS_OVERLAP);
                st = tonecore_pipeline_process_f32(p, fbuf, CH * 64, fbuf, CH * 64);
                CHECK_STATUS(st, TONECORE_STATUS_BUFFERS_OVERLAP);
                CHECK_MSG(memcmp(fbuf, fin, sizeof fbuf) == 0, "%s overlap: buffer changed", name);
            }
        }
    }
    il = 0;
    EXPECT_PROC(f64 ? tonecore_pipeline_process_f64(NULL, din, CH * 64, dout, CH * 64)
                    : tonecore_pipeline_process_f32(NULL, fin, CH * 64, fout, CH * 64),
                TONECORE_STATUS_NULL_POINTER, "NULL pipeline");
    EXPECT_PROC(f64 ? tonecore_pipeline_process_interleaved_f64(NULL, din, CH * 64, dout, CH * 64)
                    : tonecore_pipeline_process_interleaved_f32(NULL, fin, CH * 64, fout, CH * 64),
                TONECORE_STATUS_NULL_POINTER, "NULL pipeline (interleaved)");
#undef CALL
#undef EXPECT_PROC

    /* Nothing was processed: no frame or sample counted, and the state is a fresh object's. */
    {
        tonecore_pipeline_stats s = stats_of(h);
        CHECK_MSG(s.frames == 0 && s.nonfinite == 0,
                  "%s: refused calls counted %llu frames, %llu non-finite", name,
                  (unsigned long long)s.frames, (unsigned long long)s.nonfinite);
    }
    fresh = make_pipeline(&c);
    if (fresh != NULL) {
        static float fa[CH * MB], fb[CH * MB];
        static double da[CH * MB], db[CH * MB];
        int k, same = 1;
        for (k = 0; k < 40; k++) {
            if (f64) {
                CHECK_STATUS(tonecore_pipeline_process_f64(p, din + 8, CH * MB, da, CH * MB),
                             TONECORE_STATUS_OK);
                CHECK_STATUS(tonecore_pipeline_process_f64(fresh, din + 8, CH * MB, db, CH * MB),
                             TONECORE_STATUS_OK);
                same = same && memcmp(da, db, sizeof da) == 0;
            } else {
                CHECK_STATUS(tonecore_pipeline_process_f32(p, fin + 8, CH * MB, fa, CH * MB),
                             TONECORE_STATUS_OK);
                CHECK_STATUS(tonecore_pipeline_process_f32(fresh, fin + 8, CH * MB, fb, CH * MB),
                             TONECORE_STATUS_OK);
                same = same && memcmp(fa, fb, sizeof fa) == 0;
            }
        }
        CHECK_MSG(same, "%s: refused calls changed the pipeline's state", name);
        /* Successful audio calls do not clear the message either. */
        CHECK_STATUS(tonecore_params_set_level_target(h, 3.0), TONECORE_STATUS_INVALID_TARGET);
        snprintf(message, sizeof message, "%s", tonecore_last_error_message());
        CHECK_STATUS(f64 ? tonecore_pipeline_process_f64(p, din + 8, CH * MB, da, CH * MB)
                         : tonecore_pipeline_process_f32(p, fin + 8, CH * MB, fa, CH * MB),
                     TONECORE_STATUS_OK);
        CHECK_MSG(message[0] != '\0' && strcmp(tonecore_last_error_message(), message) == 0,
                  "%s: a successful process call changed the last-error message", name);
    }
    tonecore_pipeline_free(fresh);
    tonecore_params_free(h);
    tonecore_pipeline_free(p);
}

/* ---------------------------------------------------------------------------------------------
 * A params handle outliving its pipeline
 * ------------------------------------------------------------------------------------------- */

static void test_params_outlive(void) {
    tonecore_pipeline_config c = config_default(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_pipeline *p;
    tonecore_params *h1, *h2;
    double in[2 * 300] = {0}, out[2 * 300], g[BANDS];
    double *tone = (double *)ref_alloc(2 * SR, sizeof(double));
    size_t i;

    check_section("params handles outliving the pipeline: setters OK, stats keep the last snapshot");
    for (i = 0; i < BANDS; i++) {
        g[i] = 1.5;
    }
    for (i = 0; i < SR; i++) {
        tone[i] = tone[SR + i] = 0.1 * sin(2.0 * M_PI * 1000.0 * (double)i / SR);
    }
    c.eq_enabled = 1;
    c.max_block = 300;
    p = make_pipeline(&c);
    if (p == NULL) {
        free(tone);
        return;
    }
    h1 = make_params(p);
    h2 = make_params(p);
    for (i = 0; i < 7; i++) {
        CHECK_STATUS(tonecore_pipeline_process_f64(p, in, 2 * 300, out, 2 * 300),
                     TONECORE_STATUS_OK);
    }
    /* Two handles, one pipeline: a change through one is seen through the other. */
    CHECK_STATUS(tonecore_params_set_bypass(h1, TONECORE_STAGE_LIMITER, 0), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_pipeline_process_f64(p, in, 2 * 300, out, 2 * 300), TONECORE_STATUS_OK);
    {
        tonecore_pipeline_stats s = stats_of(h2);
        CHECK_EQ_INT(s.limiter_bypassed, 0);
    }
    tonecore_params_free(h1);
    tonecore_pipeline_free(p);
    /* h2 is still valid. */
    CHECK_STATUS(tonecore_params_set_eq_gains(h2, g, BANDS), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_set_level_target(h2, -20.0), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_set_ceiling_db(h2, -3.0), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_set_bypass(h2, TONECORE_STAGE_EQ, 1), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_set_bypass(h2, TONECORE_STAGE_LEVEL, 0), TONECORE_STATUS_OK);
    {
        double lufs = NAN;
        CHECK_STATUS(tonecore_params_set_level_reference_f64(h2, tone, 2 * SR, 2, &lufs),
                     TONECORE_STATUS_OK);
        CHECK_NEAR(lufs, -20.0, 0.2, "reference after the pipeline was freed");
    }
    /* Refusals still refuse. */
    CHECK_STATUS(tonecore_params_set_ceiling_db(h2, 1.0), TONECORE_STATUS_INVALID_CEILING);
    CHECK_STATUS(tonecore_params_set_eq_gains(h2, g, 3), TONECORE_STATUS_GAIN_COUNT);
    {
        tonecore_pipeline_stats s = stats_of(h2);
        CHECK_EQ_INT(s.frames, 8 * 300);
        CHECK_EQ_INT(s.eq_bands, BANDS);
        CHECK_EQ_INT(s.limiter_bypassed, 0);
        CHECK_EQ_INT(s.eq_bypassed, 0);
    }
    tonecore_params_free(h2);
    free(tone);
}

int main(void) {
    test_defaults();
    test_latency();
    test_transparent();
    test_ceiling();
    test_level_matcher();
    test_block_invariance();
    test_params_take_effect();
    test_stats();
    test_new_errors();
    test_params_errors();
    check_section("process refusals (f32 object)");
    process_errors_case(TONECORE_SAMPLE_FORMAT_F32);
    check_section("process refusals (f64 object)");
    process_errors_case(TONECORE_SAMPLE_FORMAT_F64);
    test_params_outlive();
    return check_finish();
}
