/*
 * test_equalizer.c — the streaming tonecore_equalizer: config defaults and queries, flat gains as
 * a pure delay of the documented latency, a linear-phase impulse response of the documented
 * length, block-size invariance, steady-state gains at band centres measured by a least-squares
 * sine fit in double, interleaved = planar, reset, NaN/Inf sanitising, set_gains from a control
 * thread while audio runs, every refused call (sentinel outputs untouched, state unchanged) and
 * two threads racing on one object.
 *
 * Worker threads only record what they saw; every CHECK runs on the main thread.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "ref.h"

#define SR 44100u
#define CRIT_BANDS 25

/* A recognisable pointer for tonecore_equalizer ** out-parameters (never dereferenced). */
static char eq_sentinel_storage;
#define EQ_SENTINEL ((tonecore_equalizer *)(void *)&eq_sentinel_storage)

typedef struct eq_spec {
    uint32_t sample_rate;
    uint32_t channels;
    size_t max_block;
    size_t fft_size;
    int32_t layout;
    int32_t mode;
    double ramp_ms;
    int32_t format;
    const double *gains; /* NULL = flat */
    size_t gains_len;
} eq_spec;

static eq_spec spec_default(int32_t format, uint32_t channels) {
    eq_spec s;
    s.sample_rate = SR;
    s.channels = channels;
    s.max_block = 4096;
    s.fft_size = 4096;
    s.layout = TONECORE_LAYOUT_CRITICAL;
    s.mode = TONECORE_CURVE_MODE_SMOOTH;
    s.ramp_ms = 20.0;
    s.format = format;
    s.gains = NULL;
    s.gains_len = 0;
    return s;
}

static tonecore_equalizer_config config_of(const eq_spec *s) {
    tonecore_equalizer_config c;
    tonecore_equalizer_config_init(&c);
    c.sample_rate = s->sample_rate;
    c.channels = s->channels;
    c.max_block = s->max_block;
    c.fft_size = s->fft_size;
    c.layout = s->layout;
    c.mode = s->mode;
    c.ramp_ms = s->ramp_ms;
    c.sample_format = s->format;
    c.gains_db = s->gains;
    c.gains_len = s->gains_len;
    return c;
}

/* Creates an equalizer (NULL after a failed check). */
static tonecore_equalizer *make_eq(const eq_spec *s) {
    tonecore_equalizer_config c = config_of(s);
    tonecore_equalizer *eq = NULL;
    int32_t st = tonecore_equalizer_new(&c, &eq);
    CHECK_MSG(st == TONECORE_STATUS_OK && eq != NULL,
              "tonecore_equalizer_new(fft=%zu channels=%u format=%d) -> %s (%s)", s->fft_size,
              (unsigned)s->channels, (int)s->format, check_status_name(st),
              tonecore_last_error_message());
    return st == TONECORE_STATUS_OK ? eq : NULL;
}

static size_t eq_latency(tonecore_equalizer *eq) {
    size_t l = sentinel_size();
    CHECK_STATUS(tonecore_equalizer_latency(eq, &l), TONECORE_STATUS_OK);
    return l;
}

/* `count` uniform samples in [-amp, amp). */
static double *random_signal(size_t count, double amp, uint64_t seed) {
    ref_rng rng = ref_rng_new(seed);
    double *x = (double *)ref_alloc(count, sizeof(double));
    size_t i;
    for (i = 0; i < count; i++) {
        x[i] = amp * ref_uniform(&rng);
    }
    return x;
}

static void random_gains(double *g, size_t n, double range, uint64_t seed) {
    ref_rng rng = ref_rng_new(seed);
    size_t i;
    for (i = 0; i < n; i++) {
        g[i] = range * ref_uniform(&rng);
    }
}

/*
 * Streams planar `x` (channels x len, as doubles) through `eq` in blocks of `block` frames into
 * planar `y`. An f32 object gets every sample rounded to float and its output widened (exact).
 * `interleaved` uses the _interleaved_ calls with interleaved block buffers. Returns the first
 * status that is not OK (processing stops there) or OK.
 */
static int32_t stream(tonecore_equalizer *eq, int32_t format, size_t channels, const double *x,
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
            st = interleaved ? tonecore_equalizer_process_interleaved_f32(eq, fi, channels * f, fo,
                                                                          channels * f)
                             : tonecore_equalizer_process_f32(eq, fi, channels * f, fo,
                                                              channels * f);
            for (i = 0; i < channels * f; i++) {
                dout[i] = (double)fo[i];
            }
        } else {
            st = interleaved ? tonecore_equalizer_process_interleaved_f64(eq, di, channels * f,
                                                                          dout, channels * f)
                             : tonecore_equalizer_process_f64(eq, di, channels * f, dout,
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

/* Mean square of y[0..n): used to prove that an output compared for equality is not silent. */
static double mean_square(const double *y, size_t n) {
    double e = 0.0;
    size_t i;
    for (i = 0; i < n; i++) {
        e += y[i] * y[i];
    }
    return n ? e / (double)n : 0.0;
}

/* Rounds every sample of x to float (the input an f32 object really sees). */
static void round_to_float(double *x, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        x[i] = (double)(float)x[i];
    }
}

/* ---------------------------------------------------------------------------------------------
 * Defaults and queries
 * ------------------------------------------------------------------------------------------- */

static void test_defaults(void) {
    tonecore_equalizer_config c;
    tonecore_equalizer *eq = NULL;
    size_t v;
    double gains[CRIT_BANDS + 2];
    size_t i;

    check_section("tonecore_equalizer_config_init defaults");
    sentinel_fill(&c, sizeof c);
    CHECK_STATUS(tonecore_equalizer_config_init(&c), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(c.struct_size, sizeof(tonecore_equalizer_config));
    CHECK_EQ_INT(c.sample_rate, 44100);
    CHECK_EQ_INT(c.channels, 2);
    CHECK_EQ_SIZE(c.max_block, 4096);
    CHECK_EQ_SIZE(c.fft_size, 4096);
    CHECK_EQ_INT(c.layout, TONECORE_LAYOUT_CRITICAL);
    CHECK_EQ_INT(c.mode, TONECORE_CURVE_MODE_SMOOTH);
    CHECK(c.edges == NULL);
    CHECK_EQ_SIZE(c.edges_len, 0);
    CHECK(c.ramp_ms == 20.0);
    CHECK_EQ_INT(c.sample_format, TONECORE_SAMPLE_FORMAT_F32);
    CHECK(c.gains_db == NULL);
    CHECK_EQ_SIZE(c.gains_len, 0);
    CHECK_STATUS(tonecore_equalizer_config_init(NULL), TONECORE_STATUS_NULL_POINTER);

    check_section("queries of a default equalizer");
    CHECK_STATUS(tonecore_equalizer_new(&c, &eq), TONECORE_STATUS_OK);
    CHECK(eq != NULL);
    if (eq == NULL) {
        return;
    }
    v = sentinel_size();
    CHECK_STATUS(tonecore_equalizer_latency(eq, &v), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(v, 3072); /* documented: 4096 - 2049 + 1 + 1024 */
    v = sentinel_size();
    CHECK_STATUS(tonecore_equalizer_bands(eq, &v), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(v, CRIT_BANDS);
    sentinel_fill(gains, sizeof gains);
    CHECK_STATUS(tonecore_equalizer_gains(eq, gains, CRIT_BANDS + 2), TONECORE_STATUS_OK);
    for (i = 0; i < CRIT_BANDS; i++) {
        CHECK_MSG(gains[i] == 0.0, "default gain %zu is %g", i, gains[i]);
    }
    CHECK(sentinel_intact(gains + CRIT_BANDS, 2 * sizeof(double)));
    {
        uint64_t n = 99;
        CHECK_STATUS(tonecore_equalizer_nonfinite_count(eq, &n), TONECORE_STATUS_OK);
        CHECK(n == 0);
    }
    tonecore_equalizer_free(eq);
    tonecore_equalizer_free(NULL);
    CHECK(1); /* freeing NULL is a no-op */

    check_section("latency and bands for other sizes and layouts");
    {
        static const size_t ffts[] = {16, 18, 64, 1000, 1024, 4098, 8192};
        static const struct {
            int32_t layout;
            size_t bands;
        } layouts[] = {{TONECORE_LAYOUT_OCTAVE, 10}, {TONECORE_LAYOUT_THIRD_OCTAVE, 31}};
        for (i = 0; i < sizeof ffts / sizeof ffts[0]; i++) {
            eq_spec s = spec_default(TONECORE_SAMPLE_FORMAT_F32, 1);
            s.fft_size = ffts[i];
            eq = make_eq(&s);
            if (eq != NULL) {
                v = eq_latency(eq);
                CHECK_MSG(v == ref_eq_latency(ffts[i]), "fft %zu: latency %zu, documented %zu",
                          ffts[i], v, ref_eq_latency(ffts[i]));
            }
            tonecore_equalizer_free(eq);
        }
        CHECK_EQ_SIZE(ref_eq_latency(16), 12); /* the formula itself, by hand */
        CHECK_EQ_SIZE(ref_eq_latency(1000), 750);
        for (i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
            eq_spec s = spec_default(TONECORE_SAMPLE_FORMAT_F64, 2);
            s.layout = layouts[i].layout;
            eq = make_eq(&s);
            if (eq != NULL) {
                v = sentinel_size();
                CHECK_STATUS(tonecore_equalizer_bands(eq, &v), TONECORE_STATUS_OK);
                CHECK_EQ_SIZE(v, layouts[i].bands);
            }
            tonecore_equalizer_free(eq);
        }
        {
            static const double edges[] = {0.0, 500.0, 3000.0, 22050.0};
            tonecore_equalizer_config cc;
            tonecore_equalizer_config_init(&cc);
            cc.layout = TONECORE_LAYOUT_CUSTOM;
            cc.edges = edges;
            cc.edges_len = 4;
            eq = NULL;
            CHECK_STATUS(tonecore_equalizer_new(&cc, &eq), TONECORE_STATUS_OK);
            if (eq != NULL) {
                v = sentinel_size();
                CHECK_STATUS(tonecore_equalizer_bands(eq, &v), TONECORE_STATUS_OK);
                CHECK_EQ_SIZE(v, 3);
            }
            tonecore_equalizer_free(eq);
        }
        {
            /* A config that says it is larger (a newer caller) is accepted. */
            struct {
                tonecore_equalizer_config c;
                unsigned char tail[32];
            } big;
            memset(&big, 0, sizeof big);
            tonecore_equalizer_config_init(&big.c);
            big.c.struct_size = sizeof big;
            eq = NULL;
            CHECK_STATUS(tonecore_equalizer_new(&big.c, &eq), TONECORE_STATUS_OK);
            tonecore_equalizer_free(eq);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Flat gains: a pure delay
 * ------------------------------------------------------------------------------------------- */

static void flat_case(int32_t format, size_t fft, size_t block, int explicit_zeros) {
    const size_t channels = 2, len = 20000;
    double zeros[CRIT_BANDS] = {0};
    eq_spec s = spec_default(format, (uint32_t)channels);
    double *x = random_signal(channels * len, 0.5, 11 + fft);
    double *y = (double *)ref_alloc(channels * len, sizeof(double));
    tonecore_equalizer *eq;
    double err = 0.0, tol = format == TONECORE_SAMPLE_FORMAT_F64 ? 1e-12 : 1e-6;
    size_t lat, c, n;

    s.fft_size = fft;
    if (explicit_zeros) {
        s.gains = zeros;
        s.gains_len = CRIT_BANDS;
    }
    if (format == TONECORE_SAMPLE_FORMAT_F32) {
        round_to_float(x, channels * len);
    }
    eq = make_eq(&s);
    if (eq == NULL) {
        goto done;
    }
    lat = eq_latency(eq);
    CHECK_EQ_SIZE(lat, ref_eq_latency(fft));
    CHECK_STATUS(stream(eq, format, channels, x, len, block, 0, y), TONECORE_STATUS_OK);
    for (c = 0; c < channels; c++) {
        for (n = 0; n < len; n++) {
            double want = n < lat ? 0.0 : x[c * len + n - lat];
            err = ref_max_err(err, fabs(y[c * len + n] - want));
        }
    }
    CHECK_MSG(err <= tol, "flat %s fft=%zu block=%zu: max |y[n] - x[n - latency]| = %.3g",
              format == TONECORE_SAMPLE_FORMAT_F64 ? "f64" : "f32", fft, block, err);
    printf("   flat %s fft=%zu: max error %.3g\n",
           format == TONECORE_SAMPLE_FORMAT_F64 ? "f64" : "f32", fft, err);
    tonecore_equalizer_free(eq);
done:
    free(x);
    free(y);
}

static void test_flat(void) {
    check_section("flat gains: output = input delayed by the latency (stereo planar)");
    flat_case(TONECORE_SAMPLE_FORMAT_F64, 4096, 512, 0);
    flat_case(TONECORE_SAMPLE_FORMAT_F64, 1000, 777, 1);
    flat_case(TONECORE_SAMPLE_FORMAT_F32, 4096, 4096, 1);
    flat_case(TONECORE_SAMPLE_FORMAT_F32, 256, 100, 0);
}

/* ---------------------------------------------------------------------------------------------
 * Impulse response: linear phase, finite length
 * ------------------------------------------------------------------------------------------- */

static void impulse_case(size_t fft, int32_t mode, int32_t layout, size_t bands, uint64_t seed) {
    double gains[64];
    eq_spec s = spec_default(TONECORE_SAMPLE_FORMAT_F64, 1);
    size_t taps = ref_eq_taps(fft), d = (taps - 1) / 2;
    size_t len = ref_eq_latency(fft) + d + 2 * fft;
    double *x = (double *)ref_alloc(len, sizeof(double));
    double *h = (double *)ref_alloc(len, sizeof(double));
    double peak = 0.0, asym = 0.0, inside = 0.0, outside = 0.0;
    tonecore_equalizer *eq;
    size_t lat, n, m;

    random_gains(gains, bands, 12.0, seed);
    s.fft_size = fft;
    s.mode = mode;
    s.layout = layout;
    s.gains = gains;
    s.gains_len = bands;
    s.max_block = len;
    eq = make_eq(&s);
    if (eq == NULL) {
        goto done;
    }
    lat = eq_latency(eq);
    x[0] = 1.0;
    CHECK_STATUS(stream(eq, TONECORE_SAMPLE_FORMAT_F64, 1, x, len, 333, 0, h), TONECORE_STATUS_OK);
    for (n = 0; n < len; n++) {
        peak = fabs(h[n]) > peak ? fabs(h[n]) : peak;
        if (n + d >= lat && n <= lat + d) {
            inside += h[n] * h[n];
        } else {
            outside += h[n] * h[n];
        }
    }
    for (m = 1; m <= d; m++) {
        asym = ref_max_err(asym, fabs(h[lat + m] - h[lat - m]));
    }
    CHECK_MSG(inside > 1e-3, "fft=%zu mode=%d: impulse response energy %.3g", fft, (int)mode,
              inside);
    CHECK_MSG(asym <= 1e-12 * peak, "fft=%zu mode=%d: max |h[L+m] - h[L-m]| = %.3g (peak %.3g)",
              fft, (int)mode, asym, peak);
    CHECK_MSG(outside < 1e-10 * inside,
              "fft=%zu mode=%d: energy outside latency +- (taps-1)/2 is %.3g of %.3g", fft,
              (int)mode, outside, inside);
    tonecore_equalizer_free(eq);
done:
    free(x);
    free(h);
}

static void test_impulse(void) {
    check_section("impulse response with random gains: symmetric about the latency, finite support");
    impulse_case(4096, TONECORE_CURVE_MODE_SMOOTH, TONECORE_LAYOUT_CRITICAL, CRIT_BANDS, 101);
    impulse_case(4096, TONECORE_CURVE_MODE_STEP, TONECORE_LAYOUT_CRITICAL, CRIT_BANDS, 102);
    impulse_case(1000, TONECORE_CURVE_MODE_SMOOTH, TONECORE_LAYOUT_CRITICAL, CRIT_BANDS, 103);
    impulse_case(2048, TONECORE_CURVE_MODE_SMOOTH, TONECORE_LAYOUT_THIRD_OCTAVE, 31, 104);
    impulse_case(18, TONECORE_CURVE_MODE_SMOOTH, TONECORE_LAYOUT_OCTAVE, 10, 105);
}

/* ---------------------------------------------------------------------------------------------
 * Block-size invariance
 * ------------------------------------------------------------------------------------------- */

static void test_block_sizes(void) {
    static const size_t blocks[] = {1, 7, 64, 256, 1000, 4096};
    const size_t channels = 2, len = 3 * 4096 + 123;
    double gains[CRIT_BANDS];
    eq_spec s = spec_default(TONECORE_SAMPLE_FORMAT_F32, (uint32_t)channels);
    double *x = random_signal(channels * len, 0.5, 7);
    double *whole = (double *)ref_alloc(channels * len, sizeof(double));
    double *y = (double *)ref_alloc(channels * len, sizeof(double));
    tonecore_equalizer *eq;
    size_t b, i;

    check_section("block-size invariance (f32 stereo, random gains)");
    random_gains(gains, CRIT_BANDS, 12.0, 8);
    s.gains = gains;
    s.gains_len = CRIT_BANDS;
    s.max_block = len;
    eq = make_eq(&s);
    if (eq != NULL) {
        double energy = 0.0;
        CHECK_STATUS(stream(eq, s.format, channels, x, len, len, 0, whole), TONECORE_STATUS_OK);
        for (i = 0; i < channels * len; i++) {
            energy += whole[i] * whole[i];
        }
        CHECK_MSG(energy > 1.0, "the one-call output is (nearly) silent: %.3g", energy);
        tonecore_equalizer_free(eq);
    }
    for (b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        double err = 0.0;
        eq = make_eq(&s);
        if (eq == NULL) {
            continue;
        }
        CHECK_STATUS(stream(eq, s.format, channels, x, len, blocks[b], 0, y), TONECORE_STATUS_OK);
        for (i = 0; i < channels * len; i++) {
            err = ref_max_err(err, fabs(y[i] - whole[i]));
        }
        CHECK_MSG(err <= 1e-6, "blocks of %zu frames vs one call: max difference %.3g", blocks[b],
                  err);
        tonecore_equalizer_free(eq);
    }
    free(x);
    free(whole);
    free(y);
}

/* ---------------------------------------------------------------------------------------------
 * Steady-state gain at band centres (least-squares sine fit in double)
 * ------------------------------------------------------------------------------------------- */

static void steady_state_case(int32_t mode, uint64_t seed) {
    static const size_t test_bands[] = {1, 4, 9, 13, 18, 21, 24};
    const size_t channels = sizeof test_bands / sizeof test_bands[0];
    const size_t fit_len = 16384, settle = 200;
    const double amp = 0.5;
    double gains[CRIT_BANDS];
    eq_spec s = spec_default(TONECORE_SAMPLE_FORMAT_F64, (uint32_t)channels);
    size_t lat = ref_eq_latency(4096), d = (ref_eq_taps(4096) - 1) / 2;
    size_t len = lat + d + settle + fit_len;
    double *x = (double *)ref_alloc(channels * len, sizeof(double));
    double *y = (double *)ref_alloc(channels * len, sizeof(double));
    tonecore_equalizer *eq;
    size_t c, n;

    random_gains(gains, CRIT_BANDS, 12.0, seed);
    s.mode = mode;
    s.gains = gains;
    s.gains_len = CRIT_BANDS;
    for (c = 0; c < channels; c++) {
        size_t b = test_bands[c];
        double fc = sqrt(ref_critical_edges[b] * ref_critical_edges[b + 1]);
        double w = 2.0 * M_PI * fc / (double)SR;
        for (n = 0; n < len; n++) {
            x[c * len + n] = amp * sin(w * (double)n + 0.3 * (double)c);
        }
    }
    eq = make_eq(&s);
    if (eq == NULL) {
        goto done;
    }
    CHECK_STATUS(stream(eq, s.format, channels, x, len, 4096, 0, y), TONECORE_STATUS_OK);
    for (c = 0; c < channels; c++) {
        size_t b = test_bands[c];
        double fc = sqrt(ref_critical_edges[b] * ref_critical_edges[b + 1]);
        double w = 2.0 * M_PI * fc / (double)SR;
        double a = ref_sine_amplitude(y + c * len + lat + d + settle, fit_len, w);
        double db = 20.0 * log10(a / amp);
        CHECK_MSG(fabs(db - gains[b]) <= 0.1,
                  "mode %d band %zu (%.1f Hz): measured %.4f dB, requested %.4f dB", (int)mode, b,
                  fc, db, gains[b]);
    }
    tonecore_equalizer_free(eq);
done:
    free(x);
    free(y);
}

static void test_steady_state(void) {
    check_section("steady-state gain at critical-band centres (sine fit, f64, +-12 dB)");
    steady_state_case(TONECORE_CURVE_MODE_SMOOTH, 31);
    steady_state_case(TONECORE_CURVE_MODE_SMOOTH, 32);
    steady_state_case(TONECORE_CURVE_MODE_STEP, 33);
}

/* ---------------------------------------------------------------------------------------------
 * Interleaved = planar; reset
 * ------------------------------------------------------------------------------------------- */

static void interleaved_case(int32_t format, size_t channels) {
    const size_t len = 9000;
    double gains[CRIT_BANDS];
    eq_spec s = spec_default(format, (uint32_t)channels);
    double *x = random_signal(channels * len, 0.5, 40 + channels);
    double *yp = (double *)ref_alloc(channels * len, sizeof(double));
    double *yi = (double *)ref_alloc(channels * len, sizeof(double));
    tonecore_equalizer *a, *b;

    random_gains(gains, CRIT_BANDS, 12.0, 41);
    s.gains = gains;
    s.gains_len = CRIT_BANDS;
    s.fft_size = 1024;
    a = make_eq(&s);
    b = make_eq(&s);
    if (a != NULL && b != NULL) {
        CHECK_STATUS(stream(a, format, channels, x, len, 500, 0, yp), TONECORE_STATUS_OK);
        CHECK_STATUS(stream(b, format, channels, x, len, 500, 1, yi), TONECORE_STATUS_OK);
        CHECK_MSG(memcmp(yp, yi, channels * len * sizeof(double)) == 0,
                  "%s %zu channels: interleaved output differs from planar",
                  format == TONECORE_SAMPLE_FORMAT_F64 ? "f64" : "f32", channels);
        CHECK_MSG(mean_square(yp, channels * len) > 0.01, "planar output is (nearly) silent");
    }
    tonecore_equalizer_free(a);
    tonecore_equalizer_free(b);
    free(x);
    free(yp);
    free(yi);
}

static void test_reset(void) {
    const size_t channels = 2, len = 7000;
    double g1[CRIT_BANDS], g2[CRIT_BANDS], got[CRIT_BANDS];
    eq_spec s = spec_default(TONECORE_SAMPLE_FORMAT_F32, (uint32_t)channels);
    double *x = random_signal(channels * len, 0.5, 50);
    double *z = random_signal(channels * len, 0.9, 51);
    double *y1 = (double *)ref_alloc(channels * len, sizeof(double));
    double *y2 = (double *)ref_alloc(channels * len, sizeof(double));
    double *y3 = (double *)ref_alloc(channels * len, sizeof(double));
    tonecore_equalizer *eq, *fresh;

    check_section("reset: the same input gives the same output again; newest gains at once");
    random_gains(g1, CRIT_BANDS, 12.0, 52);
    random_gains(g2, CRIT_BANDS, 12.0, 53);
    s.gains = g1;
    s.gains_len = CRIT_BANDS;
    s.fft_size = 2048;
    eq = make_eq(&s);
    if (eq == NULL) {
        goto done;
    }
    CHECK_STATUS(stream(eq, s.format, channels, x, len, 512, 0, y1), TONECORE_STATUS_OK);
    CHECK_STATUS(stream(eq, s.format, channels, z, len, 300, 0, y2), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_equalizer_reset(eq), TONECORE_STATUS_OK);
    CHECK_STATUS(stream(eq, s.format, channels, x, len, 512, 0, y2), TONECORE_STATUS_OK);
    CHECK_MSG(memcmp(y1, y2, channels * len * sizeof(double)) == 0,
              "output after reset differs from the first run");
    CHECK_MSG(mean_square(y1, channels * len) > 0.01, "output is (nearly) silent");
    CHECK_STATUS(tonecore_equalizer_gains(eq, got, CRIT_BANDS), TONECORE_STATUS_OK);
    CHECK(memcmp(got, g1, sizeof g1) == 0); /* reset keeps the gains */

    /* New gains, then reset: the new gains apply at once (as a fresh object with them). */
    CHECK_STATUS(stream(eq, s.format, channels, z, len, 1000, 0, y2), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_equalizer_set_gains(eq, g2, CRIT_BANDS), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_equalizer_reset(eq), TONECORE_STATUS_OK);
    CHECK_STATUS(stream(eq, s.format, channels, x, len, 512, 0, y2), TONECORE_STATUS_OK);
    s.gains = g2;
    fresh = make_eq(&s);
    if (fresh != NULL) {
        CHECK_STATUS(stream(fresh, s.format, channels, x, len, 512, 0, y3), TONECORE_STATUS_OK);
        CHECK_MSG(memcmp(y2, y3, channels * len * sizeof(double)) == 0,
                  "set_gains + reset differs from a fresh equalizer with those gains");
        CHECK_MSG(memcmp(y1, y3, channels * len * sizeof(double)) != 0,
                  "different gains gave the same output");
    }
    tonecore_equalizer_free(fresh);
    tonecore_equalizer_free(eq);
done:
    free(x);
    free(z);
    free(y1);
    free(y2);
    free(y3);
}

/* ---------------------------------------------------------------------------------------------
 * Non-finite input
 * ------------------------------------------------------------------------------------------- */

static void nonfinite_case(int32_t format) {
    const size_t channels = 2, len = 6000;
    static const size_t pos[] = {0, 17, 2047, 2048, 6000 + 5, 2 * 6000 - 1};
    const size_t npos = sizeof pos / sizeof pos[0];
    double gains[CRIT_BANDS];
    eq_spec s = spec_default(format, (uint32_t)channels);
    double *x = random_signal(channels * len, 0.5, 60);
    double *xz = (double *)ref_alloc(channels * len, sizeof(double));
    double *y = (double *)ref_alloc(channels * len, sizeof(double));
    double *yz = (double *)ref_alloc(channels * len, sizeof(double));
    tonecore_equalizer *a, *b;
    size_t i;
    uint64_t count = 12345;
    int finite = 1;
    const char *name = format == TONECORE_SAMPLE_FORMAT_F64 ? "f64" : "f32";

    random_gains(gains, CRIT_BANDS, 12.0, 61);
    s.gains = gains;
    s.gains_len = CRIT_BANDS;
    s.fft_size = 1024;
    memcpy(xz, x, channels * len * sizeof(double));
    for (i = 0; i < npos; i++) {
        x[pos[i]] = i % 3 == 0 ? NAN : (i % 3 == 1 ? INFINITY : -INFINITY);
        xz[pos[i]] = 0.0;
    }
    a = make_eq(&s);
    b = make_eq(&s);
    if (a != NULL && b != NULL) {
        CHECK_STATUS(stream(a, format, channels, x, len, 1000, 0, y), TONECORE_STATUS_OK);
        CHECK_STATUS(stream(b, format, channels, xz, len, 1000, 0, yz), TONECORE_STATUS_OK);
        for (i = 0; i < channels * len; i++) {
            if (!isfinite(y[i])) {
                finite = 0;
            }
        }
        CHECK_MSG(finite, "%s: non-finite output", name);
        CHECK_MSG(memcmp(y, yz, channels * len * sizeof(double)) == 0,
                  "%s: NaN/Inf input is not the same as zeros there", name);
        CHECK_MSG(mean_square(yz, channels * len) > 0.01, "%s: output is (nearly) silent", name);
        CHECK_STATUS(tonecore_equalizer_nonfinite_count(a, &count), TONECORE_STATUS_OK);
        CHECK_MSG(count == npos, "%s: nonfinite_count %llu, want %zu", name,
                  (unsigned long long)count, npos);
        CHECK_STATUS(tonecore_equalizer_nonfinite_count(b, &count), TONECORE_STATUS_OK);
        CHECK(count == 0);
        /* The count accumulates over calls, and the interleaved path counts too. */
        CHECK_STATUS(stream(a, format, channels, x, len, 4096, 1, y), TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_equalizer_nonfinite_count(a, &count), TONECORE_STATUS_OK);
        CHECK_MSG(count == 2 * npos, "%s: nonfinite_count %llu after two passes, want %zu", name,
                  (unsigned long long)count, 2 * npos);
        /* reset does not clear the count ("so far"). */
        CHECK_STATUS(tonecore_equalizer_reset(a), TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_equalizer_nonfinite_count(a, &count), TONECORE_STATUS_OK);
        CHECK(count == 2 * npos);
    }
    tonecore_equalizer_free(a);
    tonecore_equalizer_free(b);
    free(x);
    free(xz);
    free(y);
    free(yz);
}

/* ---------------------------------------------------------------------------------------------
 * set_gains from a control thread while the audio thread processes
 * ------------------------------------------------------------------------------------------- */

#define RACE_BLOCK 256
#define RACE_CH 2
#define RACE_POOL 64            /* distinct input blocks, used cyclically */
#define RACE_SETS_MIN 100       /* set_gains calls: at least this many, */
#define RACE_SETS_MAX 2000      /* at most this many, */
#define RACE_SECONDS 0.6        /* stopping after this long once the minimum is reached */
#define RACE_TAIL 240           /* blocks processed after the last set_gains */
#define RACE_COMPARE 128        /* of those, fed to a fresh equalizer (a multiple of 8) */

typedef struct gains_race {
    tonecore_equalizer *eq;
    const float *pool; /* RACE_POOL planar blocks of RACE_CH x RACE_BLOCK */
    pthread_barrier_t start;
    pthread_mutex_t lock;
    int setter_done;   /* under lock */
    /* audio thread */
    unsigned long blocks, blocks_during;
    unsigned long bad_status, nonfinite;
    int32_t first_bad;
    float *tail;       /* outputs of the last RACE_TAIL blocks */
    /* control thread */
    unsigned sets_tried, sets_ok, set_bad, readback_mismatch, query_bad;
    int32_t first_set_bad;
    double last[CRIT_BANDS];
} gains_race;

static void *race_audio(void *arg) {
    gains_race *r = (gains_race *)arg;
    float out[RACE_CH * RACE_BLOCK];
    unsigned long after = 0;
    size_t i;
    pthread_barrier_wait(&r->start);
    for (;;) {
        int done;
        const float *in = r->pool + (r->blocks % RACE_POOL) * RACE_CH * RACE_BLOCK;
        int32_t st = tonecore_equalizer_process_f32(r->eq, in, RACE_CH * RACE_BLOCK, out,
                                                    RACE_CH * RACE_BLOCK);
        if (st != TONECORE_STATUS_OK) {
            if (r->bad_status == 0) {
                r->first_bad = st;
            }
            r->bad_status++;
        }
        for (i = 0; i < RACE_CH * RACE_BLOCK; i++) {
            if (!isfinite(out[i])) {
                r->nonfinite++;
            }
        }
        r->blocks++;
        pthread_mutex_lock(&r->lock);
        done = r->setter_done;
        pthread_mutex_unlock(&r->lock);
        if (!done) {
            r->blocks_during++;
            continue;
        }
        memcpy(r->tail + after * RACE_CH * RACE_BLOCK, out, sizeof out);
        if (++after == RACE_TAIL) {
            break;
        }
    }
    return NULL;
}

static void *race_control(void *arg) {
    gains_race *r = (gains_race *)arg;
    ref_rng rng = ref_rng_new(77);
    double g[CRIT_BANDS], back[CRIT_BANDS];
    int k;
    size_t b;
    struct timespec t0, t;
    pthread_barrier_wait(&r->start);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (k = 0; k < RACE_SETS_MAX; k++) {
        int32_t st;
        size_t v = 0;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (k >= RACE_SETS_MIN &&
            (double)(t.tv_sec - t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - t0.tv_nsec) > RACE_SECONDS) {
            break;
        }
        r->sets_tried++;
        for (b = 0; b < CRIT_BANDS; b++) {
            g[b] = 12.0 * ref_uniform(&rng);
        }
        st = tonecore_equalizer_set_gains(r->eq, g, CRIT_BANDS);
        if (st == TONECORE_STATUS_OK) {
            r->sets_ok++;
            memcpy(r->last, g, sizeof g);
        } else {
            if (r->set_bad == 0) {
                r->first_set_bad = st;
            }
            r->set_bad++;
        }
        if (tonecore_equalizer_gains(r->eq, back, CRIT_BANDS) != TONECORE_STATUS_OK ||
            memcmp(back, r->last, sizeof back) != 0) {
            r->readback_mismatch++;
        }
        if (tonecore_equalizer_latency(r->eq, &v) != TONECORE_STATUS_OK || v != 3072 ||
            tonecore_equalizer_bands(r->eq, &v) != TONECORE_STATUS_OK || v != CRIT_BANDS) {
            r->query_bad++;
        }
    }
    pthread_mutex_lock(&r->lock);
    r->setter_done = 1;
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static void test_set_gains_race(void) {
    gains_race r;
    pthread_t audio, control;
    double *pool64 = random_signal(RACE_POOL * RACE_CH * RACE_BLOCK, 0.5, 70);
    float *pool = (float *)ref_alloc(RACE_POOL * RACE_CH * RACE_BLOCK, sizeof(float));
    eq_spec s = spec_default(TONECORE_SAMPLE_FORMAT_F32, RACE_CH);
    double got[CRIT_BANDS];
    size_t i;
    struct timespec t0, t1;

    check_section("set_gains from a control thread while the audio thread processes");
    for (i = 0; i < RACE_POOL * RACE_CH * RACE_BLOCK; i++) {
        pool[i] = (float)pool64[i];
    }
    memset(&r, 0, sizeof r);
    r.pool = pool;
    r.tail = (float *)ref_alloc(RACE_TAIL * RACE_CH * RACE_BLOCK, sizeof(float));
    s.max_block = RACE_BLOCK;
    r.eq = make_eq(&s);
    if (r.eq == NULL) {
        goto done;
    }
    pthread_mutex_init(&r.lock, NULL);
    pthread_barrier_init(&r.start, NULL, 2);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ_INT(pthread_create(&audio, NULL, race_audio, &r), 0);
    CHECK_EQ_INT(pthread_create(&control, NULL, race_control, &r), 0);
    CHECK_EQ_INT(pthread_join(control, NULL), 0);
    CHECK_EQ_INT(pthread_join(audio, NULL), 0);
    pthread_barrier_destroy(&r.start);
    pthread_mutex_destroy(&r.lock);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("   %lu blocks processed while %u gain changes were made (%.2f s)\n", r.blocks_during,
           r.sets_ok, (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));

    CHECK_MSG(r.bad_status == 0, "%lu process calls failed, first %s", r.bad_status,
              check_status_name(r.first_bad));
    CHECK_MSG(r.nonfinite == 0, "%lu non-finite output samples", r.nonfinite);
    CHECK_MSG(r.set_bad == 0, "%u set_gains calls failed, first %s", r.set_bad,
              check_status_name(r.first_set_bad));
    CHECK_EQ_INT(r.sets_ok, r.sets_tried);
    CHECK_MSG(r.sets_ok >= RACE_SETS_MIN, "only %u gain changes", r.sets_ok);
    CHECK_MSG(r.readback_mismatch == 0, "%u gains readbacks differ from the gains just set",
              r.readback_mismatch);
    CHECK_MSG(r.query_bad == 0, "%u latency/bands queries failed or changed", r.query_bad);
    CHECK_MSG(r.blocks_during > 0, "no block was processed during the gain changes");
    CHECK_STATUS(tonecore_equalizer_gains(r.eq, got, CRIT_BANDS), TONECORE_STATUS_OK);
    CHECK_MSG(memcmp(got, r.last, sizeof got) == 0, "gains do not report the last gains set");

    /* Once the last crossfade is over, the output is that of an equalizer built with the last
     * gains fed the same input: compare the final blocks with a fresh one. */
    {
        tonecore_equalizer *fresh;
        float out[RACE_CH * RACE_BLOCK];
        /* Start on a multiple of 8 blocks (the 2048-frame hop), as the original stream did. */
        unsigned long first = (r.blocks - RACE_COMPARE) / 8 * 8, k;
        double err = 0.0, power = 0.0;
        size_t compared = 0;
        int32_t st = TONECORE_STATUS_OK;
        s.gains = r.last;
        s.gains_len = CRIT_BANDS;
        fresh = make_eq(&s);
        for (k = first; fresh != NULL && k < r.blocks; k++) {
            const float *in = pool + (k % RACE_POOL) * RACE_CH * RACE_BLOCK;
            int32_t s1 = tonecore_equalizer_process_f32(fresh, in, RACE_CH * RACE_BLOCK, out,
                                                        RACE_CH * RACE_BLOCK);
            if (st == TONECORE_STATUS_OK) {
                st = s1;
            }
            /* Compare once the fresh equalizer's history is full (latency + taps frames). */
            if ((k - first) * RACE_BLOCK >= 3072 + 2049) {
                const float *old = r.tail + (k - (r.blocks - RACE_TAIL)) * RACE_CH * RACE_BLOCK;
                for (i = 0; i < RACE_CH * RACE_BLOCK; i++) {
                    err = ref_max_err(err, fabs((double)out[i] - (double)old[i]));
                    power += (double)old[i] * (double)old[i];
                }
                compared += RACE_CH * RACE_BLOCK;
            }
        }
        CHECK_STATUS(st, TONECORE_STATUS_OK);
        CHECK_MSG(compared >= 100 * RACE_CH * RACE_BLOCK, "only %zu samples compared", compared);
        CHECK_MSG(compared > 0 && power / (double)compared > 0.01,
                  "the final output is (nearly) silent");
        CHECK_MSG(err <= 1e-6, "final output vs a fresh equalizer with the last gains: %.3g", err);
        tonecore_equalizer_free(fresh);
    }
    tonecore_equalizer_free(r.eq);
done:
    free(pool64);
    free(pool);
    free(r.tail);
}

/* ---------------------------------------------------------------------------------------------
 * Refused calls
 * ------------------------------------------------------------------------------------------- */

static void expect_new_fails(const tonecore_equalizer_config *c, int32_t expected,
                             const char *what) {
    tonecore_equalizer *eq = EQ_SENTINEL;
    int32_t st = tonecore_equalizer_new(c, &eq);
    CHECK_MSG(st == expected, "%s: got %s, want %s (%s)", what, check_status_name(st),
              check_status_name(expected), tonecore_last_error_message());
    CHECK_MSG(eq == EQ_SENTINEL, "%s: equalizer_out was written", what);
    CHECK_MSG(tonecore_last_error_message()[0] != '\0', "%s: no detail message", what);
    if (st == TONECORE_STATUS_OK && eq != EQ_SENTINEL) {
        tonecore_equalizer_free(eq);
    }
}

static void test_new_errors(void) {
    tonecore_equalizer_config c;
    tonecore_equalizer *eq = EQ_SENTINEL;
    double g[CRIT_BANDS + 1];
    double e[4] = {100.0, 200.0, 150.0, 400.0};
    size_t i;

    check_section("tonecore_equalizer_new refusals");
    for (i = 0; i <= CRIT_BANDS; i++) {
        g[i] = 1.0;
    }
    tonecore_equalizer_config_init(&c);
    CHECK_STATUS(tonecore_equalizer_new(NULL, &eq), TONECORE_STATUS_NULL_POINTER);
    CHECK(eq == EQ_SENTINEL);
    CHECK_STATUS(tonecore_equalizer_new(&c, NULL), TONECORE_STATUS_NULL_POINTER);

#define WITH(field, value, expected, what)                                                    \
    do {                                                                                      \
        tonecore_equalizer_config_init(&c);                                                   \
        c.field = value;                                                                      \
        expect_new_fails(&c, expected, what);                                                 \
    } while (0)

    WITH(struct_size, 0, TONECORE_STATUS_STRUCT_SIZE, "struct_size 0");
    WITH(struct_size, offsetof(tonecore_equalizer_config, gains_len), TONECORE_STATUS_STRUCT_SIZE,
         "struct_size without the last field");
    WITH(struct_size, sizeof(tonecore_equalizer_config) - 1, TONECORE_STATUS_STRUCT_SIZE,
         "struct_size sizeof - 1");
    WITH(channels, 0, TONECORE_STATUS_INVALID_CHANNELS, "channels 0");
    WITH(channels, 65, TONECORE_STATUS_INVALID_CHANNELS, "channels 65");
    WITH(channels, UINT32_MAX, TONECORE_STATUS_INVALID_CHANNELS, "channels UINT32_MAX");
    WITH(sample_rate, 0, TONECORE_STATUS_INVALID_SAMPLE_RATE, "sample_rate 0");
    WITH(max_block, 0, TONECORE_STATUS_INVALID_ARGUMENT, "max_block 0");
    WITH(max_block, (1u << 24) + 1, TONECORE_STATUS_INVALID_ARGUMENT, "max_block 2^24 + 1");
    WITH(fft_size, 4095, TONECORE_STATUS_INVALID_FFT_SIZE, "fft_size 4095");
    WITH(fft_size, 17, TONECORE_STATUS_INVALID_FFT_SIZE, "fft_size 17");
    WITH(fft_size, 14, TONECORE_STATUS_INVALID_FFT_SIZE, "fft_size 14");
    WITH(fft_size, 0, TONECORE_STATUS_INVALID_FFT_SIZE, "fft_size 0");
    WITH(fft_size, (1u << 24) + 2, TONECORE_STATUS_INVALID_FFT_SIZE, "fft_size 2^24 + 2");
    WITH(ramp_ms, NAN, TONECORE_STATUS_INVALID_ARGUMENT, "ramp_ms NaN");
    WITH(ramp_ms, INFINITY, TONECORE_STATUS_INVALID_ARGUMENT, "ramp_ms Inf");
    WITH(ramp_ms, -0.5, TONECORE_STATUS_INVALID_ARGUMENT, "ramp_ms -0.5");
    WITH(ramp_ms, 10000.5, TONECORE_STATUS_INVALID_ARGUMENT, "ramp_ms 10000.5");
    WITH(layout, 5, TONECORE_STATUS_INVALID_ARGUMENT, "layout 5"); /* 4 is SIXTH_OCTAVE */
    WITH(layout, -1, TONECORE_STATUS_INVALID_ARGUMENT, "layout -1");
    WITH(mode, 2, TONECORE_STATUS_INVALID_ARGUMENT, "mode 2");
    WITH(mode, -1, TONECORE_STATUS_INVALID_ARGUMENT, "mode -1");
    WITH(sample_format, 2, TONECORE_STATUS_INVALID_ARGUMENT, "sample_format 2");
    WITH(sample_format, -1, TONECORE_STATUS_INVALID_ARGUMENT, "sample_format -1");
#undef WITH

    tonecore_equalizer_config_init(&c);
    c.layout = TONECORE_LAYOUT_CUSTOM;
    c.edges = e;
    c.edges_len = 4;
    expect_new_fails(&c, TONECORE_STATUS_INVALID_BANDS, "custom edges not ascending");
    c.edges_len = 1;
    expect_new_fails(&c, TONECORE_STATUS_INVALID_BANDS, "one custom edge");
    c.edges = NULL;
    c.edges_len = 4;
    expect_new_fails(&c, TONECORE_STATUS_NULL_POINTER, "NULL custom edges");

    tonecore_equalizer_config_init(&c);
    c.gains_db = g;
    c.gains_len = CRIT_BANDS - 1;
    expect_new_fails(&c, TONECORE_STATUS_GAIN_COUNT, "24 gains");
    c.gains_len = CRIT_BANDS + 1;
    expect_new_fails(&c, TONECORE_STATUS_GAIN_COUNT, "26 gains");
    c.gains_len = 0;
    expect_new_fails(&c, TONECORE_STATUS_GAIN_COUNT, "0 gains (non-NULL)");
    c.layout = TONECORE_LAYOUT_OCTAVE;
    c.gains_len = CRIT_BANDS;
    expect_new_fails(&c, TONECORE_STATUS_GAIN_COUNT, "25 gains for octave bands");
    c.layout = TONECORE_LAYOUT_CRITICAL;
    g[3] = NAN;
    expect_new_fails(&c, TONECORE_STATUS_NON_FINITE, "NaN gain");
    g[3] = INFINITY;
    expect_new_fails(&c, TONECORE_STATUS_NON_FINITE, "Inf gain");
    g[3] = 1.0;

    /* The limits themselves are accepted. */
    tonecore_equalizer_config_init(&c);
    c.channels = 64;
    c.fft_size = 16;
    c.max_block = 1;
    c.ramp_ms = 10000.0;
    eq = NULL;
    CHECK_STATUS(tonecore_equalizer_new(&c, &eq), TONECORE_STATUS_OK);
    tonecore_equalizer_free(eq);
    c.channels = 1;
    c.ramp_ms = 0.0;
    c.max_block = 1u << 24;
    eq = NULL;
    CHECK_STATUS(tonecore_equalizer_new(&c, &eq), TONECORE_STATUS_OK);
    tonecore_equalizer_free(eq);
}

static void test_set_gains_errors(void) {
    double g1[CRIT_BANDS + 1], bad[CRIT_BANDS + 1], got[CRIT_BANDS + 2];
    eq_spec s = spec_default(TONECORE_SAMPLE_FORMAT_F32, 1);
    tonecore_equalizer *eq, *fresh;
    const size_t len = 6000;
    double *x = random_signal(len, 0.5, 90);
    double *y1 = (double *)ref_alloc(len, sizeof(double));
    double *y2 = (double *)ref_alloc(len, sizeof(double));
    size_t i;

    check_section("set_gains / gains refusals leave the gains as they were");
    random_gains(g1, CRIT_BANDS + 1, 12.0, 91);
    memcpy(bad, g1, sizeof bad);
    s.fft_size = 1024;
    s.ramp_ms = 0.0;
    eq = make_eq(&s);
    if (eq == NULL) {
        goto done;
    }
    CHECK_STATUS(tonecore_equalizer_set_gains(eq, g1, CRIT_BANDS), TONECORE_STATUS_OK);

#define EXPECT_GAINS_KEPT(call, expected, what)                                               \
    do {                                                                                      \
        CHECK_STATUS(call, expected);                                                         \
        CHECK_MSG(tonecore_last_error_message()[0] != '\0', "%s: no detail message", what);    \
        sentinel_fill(got, sizeof got);                                                       \
        CHECK_STATUS(tonecore_equalizer_gains(eq, got, CRIT_BANDS), TONECORE_STATUS_OK);       \
        CHECK_MSG(memcmp(got, g1, CRIT_BANDS * sizeof(double)) == 0, "%s: gains changed", what); \
    } while (0)

    EXPECT_GAINS_KEPT(tonecore_equalizer_set_gains(eq, bad, CRIT_BANDS - 1),
                      TONECORE_STATUS_GAIN_COUNT, "24 gains");
    EXPECT_GAINS_KEPT(tonecore_equalizer_set_gains(eq, bad, CRIT_BANDS + 1),
                      TONECORE_STATUS_GAIN_COUNT, "26 gains");
    EXPECT_GAINS_KEPT(tonecore_equalizer_set_gains(eq, bad, 0), TONECORE_STATUS_GAIN_COUNT,
                      "0 gains");
    bad[0] = NAN;
    EXPECT_GAINS_KEPT(tonecore_equalizer_set_gains(eq, bad, CRIT_BANDS), TONECORE_STATUS_NON_FINITE,
                      "NaN gain");
    bad[0] = 1.0;
    bad[CRIT_BANDS - 1] = -INFINITY;
    EXPECT_GAINS_KEPT(tonecore_equalizer_set_gains(eq, bad, CRIT_BANDS), TONECORE_STATUS_NON_FINITE,
                      "-Inf gain");
    EXPECT_GAINS_KEPT(tonecore_equalizer_set_gains(eq, NULL, CRIT_BANDS),
                      TONECORE_STATUS_NULL_POINTER, "NULL gains");
    CHECK_STATUS(tonecore_equalizer_set_gains(NULL, g1, CRIT_BANDS), TONECORE_STATUS_NULL_POINTER);
#undef EXPECT_GAINS_KEPT

    /* The audio path still runs g1: same output as a fresh equalizer built with g1. */
    s.gains = g1;
    s.gains_len = CRIT_BANDS;
    fresh = make_eq(&s);
    if (fresh != NULL) {
        CHECK_STATUS(stream(eq, s.format, 1, x, len, 1024, 0, y1), TONECORE_STATUS_OK);
        CHECK_STATUS(stream(fresh, s.format, 1, x, len, 1024, 0, y2), TONECORE_STATUS_OK);
        CHECK_MSG(memcmp(y1, y2, len * sizeof(double)) == 0,
                  "refused set_gains calls changed the filter");
        CHECK_MSG(mean_square(y1, len) > 0.01, "output is (nearly) silent");
    }
    tonecore_equalizer_free(fresh);

    /* gains(): buffer sizes and NULLs. */
    sentinel_fill(got, sizeof got);
    CHECK_STATUS(tonecore_equalizer_gains(eq, got, CRIT_BANDS - 1), TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK(sentinel_intact(got, sizeof got));
    CHECK_STATUS(tonecore_equalizer_gains(eq, got, 0), TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK(sentinel_intact(got, sizeof got));
    CHECK_STATUS(tonecore_equalizer_gains(eq, NULL, CRIT_BANDS), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_equalizer_gains(NULL, got, CRIT_BANDS), TONECORE_STATUS_NULL_POINTER);
    CHECK(sentinel_intact(got, sizeof got));
    CHECK_STATUS(tonecore_equalizer_gains(eq, got, CRIT_BANDS + 2), TONECORE_STATUS_OK);
    CHECK(memcmp(got, g1, CRIT_BANDS * sizeof(double)) == 0);
    CHECK(sentinel_intact(got + CRIT_BANDS, 2 * sizeof(double)));

    /* Gains beyond +-24 dB are clamped, and reported clamped. */
    for (i = 0; i < CRIT_BANDS; i++) {
        bad[i] = i % 2 ? 30.0 : -1000.0;
    }
    CHECK_STATUS(tonecore_equalizer_set_gains(eq, bad, CRIT_BANDS), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_equalizer_gains(eq, got, CRIT_BANDS), TONECORE_STATUS_OK);
    for (i = 0; i < CRIT_BANDS; i++) {
        CHECK_MSG(got[i] == (i % 2 ? 24.0 : -24.0), "gain %zu reported as %g", i, got[i]);
    }

    /* Other NULL objects / out-parameters. */
    {
        size_t v = sentinel_size();
        uint64_t n = 77;
        CHECK_STATUS(tonecore_equalizer_latency(NULL, &v), TONECORE_STATUS_NULL_POINTER);
        CHECK_STATUS(tonecore_equalizer_latency(eq, NULL), TONECORE_STATUS_NULL_POINTER);
        CHECK_STATUS(tonecore_equalizer_bands(NULL, &v), TONECORE_STATUS_NULL_POINTER);
        CHECK_STATUS(tonecore_equalizer_bands(eq, NULL), TONECORE_STATUS_NULL_POINTER);
        CHECK(v == sentinel_size());
        CHECK_STATUS(tonecore_equalizer_reset(NULL), TONECORE_STATUS_NULL_POINTER);
        CHECK_STATUS(tonecore_equalizer_nonfinite_count(NULL, &n), TONECORE_STATUS_NULL_POINTER);
        CHECK_STATUS(tonecore_equalizer_nonfinite_count(eq, NULL), TONECORE_STATUS_NULL_POINTER);
        CHECK(n == 77);
    }
    tonecore_equalizer_free(eq);
done:
    free(x);
    free(y1);
    free(y2);
}

/* Process refusals for one object of `format`, stereo, max_block 256. */
static void process_errors_case(int32_t format) {
    enum { CH = 2, MB = 256, CAP = CH * (MB + 8) };
    static float fin[CAP], fout[CAP + 8];
    static double din[CAP], dout[CAP + 8];
    eq_spec s = spec_default(format, CH);
    tonecore_equalizer *eq, *fresh;
    const char *name = format == TONECORE_SAMPLE_FORMAT_F64 ? "f64" : "f32";
    int f64 = format == TONECORE_SAMPLE_FORMAT_F64;
    double gains[CRIT_BANDS];
    int il;
    size_t i;
    uint64_t count = 0;

    random_gains(gains, CRIT_BANDS, 12.0, 95);
    s.max_block = MB;
    s.fft_size = 512;
    s.gains = gains;
    s.gains_len = CRIT_BANDS;
    eq = make_eq(&s);
    if (eq == NULL) {
        return;
    }
    {
        ref_rng rng = ref_rng_new(96);
        for (i = 0; i < CAP; i++) {
            din[i] = 0.5 * ref_uniform(&rng);
            fin[i] = (float)din[i];
        }
        din[3] = NAN; /* refused calls must not count these */
        fin[3] = NAN;
    }

    /* One call in the object's own format (or the other one), planar or interleaved. */
#define CALL(other, in_off, in_len, out_ptr_f, out_ptr_d, out_len)                            \
    ((f64 != (other))                                                                          \
         ? (il ? tonecore_equalizer_process_interleaved_f64(eq, (in_off) < 0 ? NULL : din + (in_off), \
                                                            in_len, out_ptr_d, out_len)        \
               : tonecore_equalizer_process_f64(eq, (in_off) < 0 ? NULL : din + (in_off), in_len, \
                                                out_ptr_d, out_len))                           \
         : (il ? tonecore_equalizer_process_interleaved_f32(eq, (in_off) < 0 ? NULL : fin + (in_off), \
                                                            in_len, out_ptr_f, out_len)        \
               : tonecore_equalizer_process_f32(eq, (in_off) < 0 ? NULL : fin + (in_off), in_len, \
                                                out_ptr_f, out_len)))

#define EXPECT_PROC(call, expected, what)                                                     \
    do {                                                                                      \
        sentinel_fill(fout, sizeof fout);                                                     \
        sentinel_fill(dout, sizeof dout);                                                     \
        CHECK_STATUS(call, expected);                                                         \
        CHECK_MSG(sentinel_intact(fout, sizeof fout) && sentinel_intact(dout, sizeof dout),    \
                  "%s %s%s: output written", name, il ? "interleaved " : "", what);            \
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
        /* Overlapping input and output (within the input buffer: checked on a copy). */
        {
            static float fbuf[CAP];
            static double dbuf[CAP];
            int32_t st;
            memcpy(fbuf, fin, sizeof fbuf);
            memcpy(dbuf, din, sizeof dbuf);
            if (f64) {
                st = il ? tonecore_equalizer_process_interleaved_f64(eq, dbuf, CH * 64, dbuf + 1,
                                                                     CH * 64)
                        : tonecore_equalizer_process_f64(eq, dbuf, CH * 64, dbuf + 1, CH * 64);
                CHECK_STATUS(st, TONECORE_STATUS_BUFFERS_OVERLAP);
                st = tonecore_equalizer_process_f64(eq, dbuf + 10, CH * 64, dbuf, CH * 64);
                CHECK_STATUS(st, TONECORE_STATUS_BUFFERS_OVERLAP);
                st = tonecore_equalizer_process_f64(eq, dbuf, CH * 64, dbuf, CH * 64);
                CHECK_STATUS(st, TONECORE_STATUS_BUFFERS_OVERLAP);
                CHECK_MSG(memcmp(dbuf, din, sizeof dbuf) == 0, "%s overlap: buffer changed", name);
            } else {
                st = il ? tonecore_equalizer_process_interleaved_f32(eq, fbuf, CH * 64, fbuf + 1,
                                                                     CH * 64)
                        : tonecore_equalizer_process_f32(eq, fbuf, CH * 64, fbuf + 1, CH * 64);
                CHECK_STATUS(st, TONECORE_STATUS_BUFFERS_OVERLAP);
                st = tonecore_equalizer_process_f32(eq, fbuf + 10, CH * 64, fbuf, CH * 64);
                CHECK_STATUS(st, TONECORE_STATUS_BUFFERS_OVERLAP);
                st = tonecore_equalizer_process_f32(eq, fbuf, CH * 64, fbuf, CH * 64);
                CHECK_STATUS(st, TONECORE_STATUS_BUFFERS_OVERLAP);
                CHECK_MSG(memcmp(fbuf, fin, sizeof fbuf) == 0, "%s overlap: buffer changed", name);
            }
        }
    }
    il = 0;
    EXPECT_PROC(f64 ? tonecore_equalizer_process_f64(NULL, din, CH * 64, dout, CH * 64)
                    : tonecore_equalizer_process_f32(NULL, fin, CH * 64, fout, CH * 64),
                TONECORE_STATUS_NULL_POINTER, "NULL equalizer");
#undef CALL
#undef EXPECT_PROC

    /* Nothing was processed: no sample counted, and the state is that of a fresh object. */
    CHECK_STATUS(tonecore_equalizer_nonfinite_count(eq, &count), TONECORE_STATUS_OK);
    CHECK_MSG(count == 0, "%s: refused calls counted %llu non-finite samples", name,
              (unsigned long long)count);
    fresh = make_eq(&s);
    if (fresh != NULL) {
        static float fa[CH * MB], fb[CH * MB];
        static double da[CH * MB], db[CH * MB];
        int k, same = 1;
        for (k = 0; k < 4; k++) {
            if (f64) {
                CHECK_STATUS(tonecore_equalizer_process_f64(eq, din + 8, CH * MB, da, CH * MB),
                             TONECORE_STATUS_OK);
                CHECK_STATUS(tonecore_equalizer_process_f64(fresh, din + 8, CH * MB, db, CH * MB),
                             TONECORE_STATUS_OK);
                same = same && memcmp(da, db, sizeof da) == 0;
            } else {
                CHECK_STATUS(tonecore_equalizer_process_f32(eq, fin + 8, CH * MB, fa, CH * MB),
                             TONECORE_STATUS_OK);
                CHECK_STATUS(tonecore_equalizer_process_f32(fresh, fin + 8, CH * MB, fb, CH * MB),
                             TONECORE_STATUS_OK);
                same = same && memcmp(fa, fb, sizeof fa) == 0;
            }
        }
        CHECK_MSG(same, "%s: refused calls changed the equalizer's state", name);
    }
    tonecore_equalizer_free(fresh);
    tonecore_equalizer_free(eq);
}

/* ---------------------------------------------------------------------------------------------
 * Two threads processing on one object
 * ------------------------------------------------------------------------------------------- */

#define MISUSE_CALLS 2000
#define MISUSE_FRAMES 1024

typedef struct misuse {
    tonecore_equalizer *eq;
    pthread_barrier_t *start;
    int which;
    unsigned ok, busy, busy_wrote, other;
    int32_t other_status;
} misuse;

static void *misuse_worker(void *arg) {
    misuse *m = (misuse *)arg;
    static float in[2][2 * MISUSE_FRAMES], out[2][2 * MISUSE_FRAMES];
    int i;
    float *x = in[m->which], *y = out[m->which];
    for (i = 0; i < 2 * MISUSE_FRAMES; i++) {
        x[i] = (float)(i % 7) * 0.1f;
    }
    pthread_barrier_wait(m->start);
    for (i = 0; i < MISUSE_CALLS; i++) {
        int32_t st;
        sentinel_fill(y, sizeof out[0]);
        if (m->which == 1 && i % 3 == 2) {
            uint64_t n;
            st = tonecore_equalizer_nonfinite_count(m->eq, &n);
        } else if (m->which == 1 && i % 3 == 1) {
            st = tonecore_equalizer_process_interleaved_f32(m->eq, x, 2 * MISUSE_FRAMES, y,
                                                            2 * MISUSE_FRAMES);
        } else {
            st = tonecore_equalizer_process_f32(m->eq, x, 2 * MISUSE_FRAMES, y, 2 * MISUSE_FRAMES);
        }
        if (st == TONECORE_STATUS_OK) {
            m->ok++;
        } else if (st == TONECORE_STATUS_CONCURRENT_USE) {
            m->busy++;
            if (!sentinel_intact(y, sizeof out[0])) {
                m->busy_wrote++;
            }
        } else {
            if (m->other == 0) {
                m->other_status = st;
            }
            m->other++;
        }
    }
    return NULL;
}

static void test_concurrent_misuse(void) {
    eq_spec s = spec_default(TONECORE_SAMPLE_FORMAT_F32, 2);
    pthread_barrier_t start;
    pthread_t t[2];
    misuse m[2];
    int i;
    float in[2 * 64] = {0}, out[2 * 64];

    check_section("two threads processing on one equalizer: only OK or CONCURRENT_USE");
    s.fft_size = 1024;
    s.max_block = MISUSE_FRAMES;
    memset(m, 0, sizeof m);
    m[0].eq = make_eq(&s);
    if (m[0].eq == NULL) {
        return;
    }
    m[1].eq = m[0].eq;
    pthread_barrier_init(&start, NULL, 2);
    for (i = 0; i < 2; i++) {
        m[i].start = &start;
        m[i].which = i;
        CHECK_EQ_INT(pthread_create(&t[i], NULL, misuse_worker, &m[i]), 0);
    }
    for (i = 0; i < 2; i++) {
        CHECK_EQ_INT(pthread_join(t[i], NULL), 0);
        CHECK_MSG(m[i].other == 0, "thread %d: %u calls returned %s", i, m[i].other,
                  check_status_name(m[i].other_status));
        CHECK_MSG(m[i].busy_wrote == 0, "thread %d: %u CONCURRENT_USE calls wrote output", i,
                  m[i].busy_wrote);
        CHECK_EQ_INT(m[i].ok + m[i].busy, MISUSE_CALLS);
    }
    pthread_barrier_destroy(&start);
    CHECK_MSG(m[0].ok + m[1].ok > 0, "no call succeeded");
    printf("   %u calls OK, %u CONCURRENT_USE\n", m[0].ok + m[1].ok, m[0].busy + m[1].busy);
    /* Neither poisoned nor stuck in use afterwards. */
    CHECK_STATUS(tonecore_equalizer_process_f32(m[0].eq, in, 2 * 64, out, 2 * 64),
                 TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_equalizer_reset(m[0].eq), TONECORE_STATUS_OK);
    tonecore_equalizer_free(m[0].eq);
}

int main(void) {
    test_defaults();
    test_flat();
    test_impulse();
    test_block_sizes();
    test_steady_state();
    check_section("interleaved = planar");
    interleaved_case(TONECORE_SAMPLE_FORMAT_F32, 2);
    interleaved_case(TONECORE_SAMPLE_FORMAT_F64, 3);
    test_reset();
    check_section("NaN/Inf input: sanitised to zero and counted");
    nonfinite_case(TONECORE_SAMPLE_FORMAT_F32);
    nonfinite_case(TONECORE_SAMPLE_FORMAT_F64);
    test_set_gains_race();
    test_new_errors();
    test_set_gains_errors();
    check_section("process refusals (f32 object)");
    process_errors_case(TONECORE_SAMPLE_FORMAT_F32);
    check_section("process refusals (f64 object)");
    process_errors_case(TONECORE_SAMPLE_FORMAT_F64);
    test_concurrent_misuse();
    return check_finish();
}
