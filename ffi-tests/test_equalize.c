/*
 * test_equalize.c — offline tonecore_equalize_f32 / _f64: config defaults; flat gains as the
 * identity; the impulse response (linear phase, `taps` long, response at band centres by a naive
 * DTFT); the output as a direct time-domain convolution with that kernel; equality with the
 * streaming equalizer with its latency removed (300000 frames, stereo); identical results for
 * 1, 0 and 3 threads; the progress callback; NaN input as zeros; every refused call (output
 * untouched, callback never called).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "ref.h"

#define SR 44100u
#define CRIT_BANDS 25
#define FFT 4096
#define TAPS 2049 /* ref_eq_taps(4096) */
#define D 1024    /* (TAPS - 1) / 2 */

static tonecore_equalize_config config_for(uint32_t threads) {
    tonecore_equalize_config c;
    tonecore_equalize_config_init(&c);
    c.threads = threads;
    return c;
}

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

static float *to_float(const double *x, size_t n) {
    float *f = (float *)ref_alloc(n, sizeof(float));
    size_t i;
    for (i = 0; i < n; i++) {
        f[i] = (float)x[i];
    }
    return f;
}

/* ---------------------------------------------------------------------------------------------
 * Progress callback
 * ------------------------------------------------------------------------------------------- */

#define PROGRESS_MAGIC 0x5EC7E5u

typedef struct progress_log {
    unsigned magic;
    pthread_mutex_t lock;
    unsigned long calls;
    size_t last_done, total;
    unsigned not_increasing, total_changed, over_total;
} progress_log;

static void progress_init(progress_log *p) {
    memset(p, 0, sizeof *p);
    p->magic = PROGRESS_MAGIC;
    pthread_mutex_init(&p->lock, NULL);
}

static void on_progress(void *user_data, size_t done, size_t total) {
    progress_log *p = (progress_log *)user_data;
    if (p == NULL || p->magic != PROGRESS_MAGIC) {
        abort(); /* wrong user_data: fail loudly (the program then reports no summary) */
    }
    pthread_mutex_lock(&p->lock);
    if (p->calls > 0 && done <= p->last_done) {
        p->not_increasing++;
    }
    if (p->calls > 0 && total != p->total) {
        p->total_changed++;
    }
    if (done > total) {
        p->over_total++;
    }
    p->last_done = done;
    p->total = total;
    p->calls++;
    pthread_mutex_unlock(&p->lock);
}

/* Checks one run's callback log; returns its total. */
static size_t check_progress(progress_log *p, const char *what) {
    CHECK_MSG(p->calls > 0, "%s: the progress callback was never called", what);
    CHECK_MSG(p->not_increasing == 0, "%s: done not strictly increasing %u times", what,
              p->not_increasing);
    CHECK_MSG(p->total_changed == 0, "%s: total changed %u times", what, p->total_changed);
    CHECK_MSG(p->over_total == 0, "%s: done above total %u times", what, p->over_total);
    CHECK_MSG(p->last_done == p->total, "%s: last done %zu of total %zu", what, p->last_done,
              p->total);
    CHECK_MSG(p->calls == p->total, "%s: %lu calls for a total of %zu units", what, p->calls,
              p->total);
    return p->total;
}

/* ---------------------------------------------------------------------------------------------
 * Defaults, identity, impulse response, direct convolution
 * ------------------------------------------------------------------------------------------- */

static void test_defaults(void) {
    tonecore_equalize_config c;
    check_section("tonecore_equalize_config_init defaults");
    sentinel_fill(&c, sizeof c);
    CHECK_STATUS(tonecore_equalize_config_init(&c), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(c.struct_size, sizeof(tonecore_equalize_config));
    CHECK_EQ_INT(c.sample_rate, 44100);
    CHECK_EQ_INT(c.threads, 0);
    CHECK_EQ_SIZE(c.fft_size, 4096);
    CHECK_EQ_INT(c.layout, TONECORE_LAYOUT_CRITICAL);
    CHECK_EQ_INT(c.mode, TONECORE_CURVE_MODE_SMOOTH);
    CHECK(c.edges == NULL);
    CHECK_EQ_SIZE(c.edges_len, 0);
    CHECK_STATUS(tonecore_equalize_config_init(NULL), TONECORE_STATUS_NULL_POINTER);
}

static void test_identity(void) {
    const size_t ch = 2, len = 30000;
    double zeros[CRIT_BANDS] = {0};
    tonecore_equalize_config c = config_for(1);
    double *x = random_signal(ch * len, 0.5, 1);
    float *xf = to_float(x, ch * len);
    double *y = (double *)ref_alloc(ch * len + 1, sizeof(double));
    float *yf = (float *)ref_alloc(ch * len + 1, sizeof(float));
    double e64 = 0.0, e32 = 0.0;
    size_t i;

    check_section("flat gains: the output is the input");
    sentinel_fill(y, (ch * len + 1) * sizeof(double));
    sentinel_fill(yf, (ch * len + 1) * sizeof(float));
    CHECK_STATUS(tonecore_equalize_f64(&c, zeros, CRIT_BANDS, x, ch * len, ch, y, ch * len + 1,
                                       NULL, NULL),
                 TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_equalize_f32(&c, zeros, CRIT_BANDS, xf, ch * len, ch, yf, ch * len + 1,
                                       NULL, NULL),
                 TONECORE_STATUS_OK);
    for (i = 0; i < ch * len; i++) {
        e64 = ref_max_err(e64, fabs(y[i] - x[i]));
        e32 = ref_max_err(e32, fabs((double)yf[i] - (double)xf[i]));
    }
    CHECK_MSG(e64 <= 1e-12, "f64: max |y - x| = %.3g", e64);
    CHECK_MSG(e32 <= 1e-6, "f32: max |y - x| = %.3g", e32);
    CHECK_MSG(sentinel_intact(y + ch * len, sizeof(double)), "f64 wrote past input_len");
    CHECK_MSG(sentinel_intact(yf + ch * len, sizeof(float)), "f32 wrote past input_len");
    free(x);
    free(xf);
    free(y);
    free(yf);
}

/* The kernel of `gains` as seen through equalize_f64: h[m] = y[p + m - D] for an impulse at p. */
static int measure_kernel(const double *gains, int32_t mode, double *h) {
    const size_t len = 4 * FFT, p = 2 * FFT;
    tonecore_equalize_config c = config_for(1);
    double *x = (double *)ref_alloc(len, sizeof(double));
    double *y = (double *)ref_alloc(len, sizeof(double));
    double inside = 0.0, outside = 0.0, peak = 0.0, asym = 0.0;
    size_t n, m;
    int32_t st;

    c.mode = mode;
    x[p] = 1.0;
    st = tonecore_equalize_f64(&c, gains, CRIT_BANDS, x, len, 1, y, len, NULL, NULL);
    CHECK_STATUS(st, TONECORE_STATUS_OK);
    for (n = 0; n < len; n++) {
        if (n + D >= p && n <= p + D) {
            inside += y[n] * y[n];
            peak = fabs(y[n]) > peak ? fabs(y[n]) : peak;
        } else {
            outside += y[n] * y[n];
        }
    }
    for (m = 1; m <= D; m++) {
        asym = ref_max_err(asym, fabs(y[p + m] - y[p - m]));
    }
    CHECK_MSG(inside > 1e-3, "impulse response energy %.3g", inside);
    CHECK_MSG(outside < 1e-10 * inside, "energy outside p +- (taps-1)/2: %.3g of %.3g", outside,
              inside);
    CHECK_MSG(asym <= 1e-12 * peak, "max |h[D+m] - h[D-m]| = %.3g (peak %.3g)", asym, peak);
    for (m = 0; m < TAPS; m++) {
        h[m] = y[p + m - D];
    }
    free(x);
    free(y);
    return st == TONECORE_STATUS_OK;
}

static void test_kernel_and_convolution(void) {
    static double h[TAPS];
    double gains[CRIT_BANDS];
    const size_t len = 12000;
    tonecore_equalize_config c = config_for(1);
    double *x = random_signal(len, 0.5, 3);
    float *xf = to_float(x, len);
    double *xr = (double *)ref_alloc(len, sizeof(double));
    double *want = (double *)ref_alloc(len, sizeof(double));
    double *want32 = (double *)ref_alloc(len, sizeof(double));
    double *y = (double *)ref_alloc(len, sizeof(double));
    float *yf = (float *)ref_alloc(len, sizeof(float));
    double e64 = 0.0, e32 = 0.0, scale = 0.0;
    size_t i, b;
    int mode;

    for (mode = 0; mode < 2; mode++) {
        int32_t m = mode == 0 ? TONECORE_CURVE_MODE_SMOOTH : TONECORE_CURVE_MODE_STEP;
        check_section(mode == 0 ? "impulse response (smooth): linear phase, response at centres"
                                : "impulse response (step): linear phase, response at centres");
        random_gains(gains, CRIT_BANDS, 12.0, 4 + (uint64_t)mode);
        if (!measure_kernel(gains, m, h)) {
            continue;
        }
        /* The kernel's magnitude response at every band centre, by a naive DTFT in double. */
        for (b = 0; b < CRIT_BANDS; b++) {
            double fc = sqrt(ref_critical_edges[b] * ref_critical_edges[b + 1]);
            double db = 20.0 * log10(ref_dtft_magnitude(h, TAPS, 2.0 * M_PI * fc / SR));
            CHECK_MSG(fabs(db - gains[b]) <= 0.1, "band %zu (%.1f Hz): %.4f dB, requested %.4f dB",
                      b, fc, db, gains[b]);
        }
    }

    check_section("random input: a direct time-domain convolution with that kernel");
    /* h is the step-mode kernel from the last pass. */
    for (i = 0; i < len; i++) {
        xr[i] = (double)xf[i];
    }
    ref_convolve(x, len, h, TAPS, D, want);
    ref_convolve(xr, len, h, TAPS, D, want32);
    c.mode = TONECORE_CURVE_MODE_STEP;
    CHECK_STATUS(tonecore_equalize_f64(&c, gains, CRIT_BANDS, x, len, 1, y, len, NULL, NULL),
                 TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_equalize_f32(&c, gains, CRIT_BANDS, xf, len, 1, yf, len, NULL, NULL),
                 TONECORE_STATUS_OK);
    for (i = 0; i < len; i++) {
        scale = fabs(want[i]) > scale ? fabs(want[i]) : scale;
        e64 = ref_max_err(e64, fabs(y[i] - want[i]));
        e32 = ref_max_err(e32, fabs((double)yf[i] - want32[i]));
    }
    CHECK_MSG(scale > 0.1, "reference output is (nearly) silent: %.3g", scale);
    CHECK_MSG(e64 <= 1e-12 * scale, "f64: max error %.3g (output peak %.3g)", e64, scale);
    CHECK_MSG(e32 <= 1e-6 * scale, "f32: max error %.3g (output peak %.3g)", e32, scale);
    printf("   direct convolution: f64 error %.3g, f32 error %.3g (peak %.3g)\n", e64, e32, scale);
    free(x);
    free(xf);
    free(xr);
    free(want);
    free(want32);
    free(y);
    free(yf);
}

/* ---------------------------------------------------------------------------------------------
 * Offline = streaming; thread counts; progress
 * ------------------------------------------------------------------------------------------- */

#define LONG_LEN 300000
#define LONG_CH 2

/* Streams planar `x` (LONG_CH x len) followed by `latency` zeros through a streaming equalizer
 * and keeps outputs latency .. latency + len - 1 in planar `y`. */
static void streaming_reference(int32_t format, const double *gains, const double *x, size_t len,
                                double *y) {
    tonecore_equalizer_config c;
    tonecore_equalizer *eq = NULL;
    const size_t block = 4096;
    size_t latency = 0, pos, total, i, ch;
    float *fi = (float *)ref_alloc(LONG_CH * block, sizeof(float));
    float *fo = (float *)ref_alloc(LONG_CH * block, sizeof(float));
    double *di = (double *)ref_alloc(LONG_CH * block, sizeof(double));
    double *dout = (double *)ref_alloc(LONG_CH * block, sizeof(double));

    tonecore_equalizer_config_init(&c);
    c.channels = LONG_CH;
    c.max_block = block;
    c.sample_format = format;
    c.gains_db = gains;
    c.gains_len = CRIT_BANDS;
    CHECK_STATUS(tonecore_equalizer_new(&c, &eq), TONECORE_STATUS_OK);
    if (eq == NULL) {
        goto done;
    }
    CHECK_STATUS(tonecore_equalizer_latency(eq, &latency), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(latency, ref_eq_latency(FFT));
    total = len + latency;
    for (pos = 0; pos < total; pos += block) {
        size_t f = total - pos < block ? total - pos : block;
        int32_t st;
        for (ch = 0; ch < LONG_CH; ch++) {
            for (i = 0; i < f; i++) {
                double v = pos + i < len ? x[ch * len + pos + i] : 0.0;
                di[ch * f + i] = v;
                fi[ch * f + i] = (float)v;
            }
        }
        if (format == TONECORE_SAMPLE_FORMAT_F32) {
            st = tonecore_equalizer_process_f32(eq, fi, LONG_CH * f, fo, LONG_CH * f);
            for (i = 0; i < LONG_CH * f; i++) {
                dout[i] = (double)fo[i];
            }
        } else {
            st = tonecore_equalizer_process_f64(eq, di, LONG_CH * f, dout, LONG_CH * f);
        }
        if (st != TONECORE_STATUS_OK) {
            CHECK_STATUS(st, TONECORE_STATUS_OK);
            break;
        }
        for (ch = 0; ch < LONG_CH; ch++) {
            for (i = 0; i < f; i++) {
                if (pos + i >= latency) {
                    y[ch * len + pos + i - latency] = dout[ch * f + i];
                }
            }
        }
    }
    tonecore_equalizer_free(eq);
done:
    free(fi);
    free(fo);
    free(di);
    free(dout);
}

static void test_offline_vs_streaming(void) {
    static const uint32_t thread_counts[] = {1, 0, 3};
    const size_t n = (size_t)LONG_CH * LONG_LEN;
    double gains[CRIT_BANDS];
    /* Uniform noise in +-0.25 (RMS about -17 dBFS, a loud music level); with gains up to
     * +12 dB the output peaks near 0.7. The 1e-6 bound is absolute. */
    double *x = random_signal(n, 0.25, 5);
    float *xf = to_float(x, n);
    double *ref = (double *)ref_alloc(n, sizeof(double));
    float *yf[3];
    double *yd[3];
    size_t totals[3];
    double err;
    size_t i, t;

    random_gains(gains, CRIT_BANDS, 12.0, 6);
    for (t = 0; t < 3; t++) {
        yf[t] = (float *)ref_alloc(n, sizeof(float));
        yd[t] = (double *)ref_alloc(n, sizeof(double));
    }

    check_section("equalize_f32 = streaming f32 output without its latency (300000 x 2)");
    streaming_reference(TONECORE_SAMPLE_FORMAT_F32, gains, x, LONG_LEN, ref);
    for (t = 0; t < 3; t++) {
        tonecore_equalize_config c = config_for(thread_counts[t]);
        progress_log p;
        char what[64];
        progress_init(&p);
        CHECK_STATUS(tonecore_equalize_f32(&c, gains, CRIT_BANDS, xf, n, LONG_CH, yf[t], n,
                                           on_progress, &p),
                     TONECORE_STATUS_OK);
        snprintf(what, sizeof what, "f32 threads=%u", (unsigned)thread_counts[t]);
        totals[t] = check_progress(&p, what);
        pthread_mutex_destroy(&p.lock);
    }
    err = 0.0;
    for (i = 0; i < n; i++) {
        err = ref_max_err(err, fabs((double)yf[0][i] - ref[i]));
    }
    CHECK_MSG(err <= 1e-6, "f32 offline vs streaming: max difference %.3g", err);
    {
        double power = 0.0;
        for (i = 0; i < n; i++) {
            power += ref[i] * ref[i];
        }
        CHECK_MSG(power / (double)n > 1e-3, "streaming output is (nearly) silent: %.3g",
                  power / (double)n);
    }
    printf("   f32 offline vs streaming: max difference %.3g\n", err);

    check_section("threads 1, 0, 3: bit-identical; the same progress total");
    CHECK_MSG(memcmp(yf[0], yf[1], n * sizeof(float)) == 0, "f32 threads 1 vs 0 differ");
    CHECK_MSG(memcmp(yf[0], yf[2], n * sizeof(float)) == 0, "f32 threads 1 vs 3 differ");
    CHECK_MSG(totals[0] == totals[1] && totals[0] == totals[2], "progress totals %zu %zu %zu",
              totals[0], totals[1], totals[2]);
    CHECK_MSG(totals[0] >= LONG_CH, "progress total %zu below the channel count", totals[0]);

    check_section("equalize_f64 = streaming f64 output without its latency; threads identical");
    streaming_reference(TONECORE_SAMPLE_FORMAT_F64, gains, x, LONG_LEN, ref);
    for (t = 0; t < 3; t++) {
        tonecore_equalize_config c = config_for(thread_counts[t]);
        CHECK_STATUS(tonecore_equalize_f64(&c, gains, CRIT_BANDS, x, n, LONG_CH, yd[t], n, NULL,
                                           NULL),
                     TONECORE_STATUS_OK);
    }
    err = 0.0;
    for (i = 0; i < n; i++) {
        err = ref_max_err(err, fabs(yd[0][i] - ref[i]));
    }
    CHECK_MSG(err <= 1e-12, "f64 offline vs streaming: max difference %.3g", err);
    CHECK_MSG(memcmp(yd[0], yd[1], n * sizeof(double)) == 0, "f64 threads 1 vs 0 differ");
    CHECK_MSG(memcmp(yd[0], yd[2], n * sizeof(double)) == 0, "f64 threads 1 vs 3 differ");
    /* And f32 against the double result (a sanity bound on the single-precision path). */
    err = 0.0;
    for (i = 0; i < n; i++) {
        err = ref_max_err(err, fabs((double)yf[0][i] - yd[0][i]));
    }
    CHECK_MSG(err <= 1e-5, "f32 vs f64 offline: max difference %.3g", err);

    check_section("NaN/Inf input counts as zero");
    {
        static const size_t pos[] = {0, 1000, LONG_LEN - 1, LONG_LEN, n - 1};
        float *xz = (float *)ref_alloc(n, sizeof(float));
        tonecore_equalize_config c = config_for(0);
        int finite = 1;
        memcpy(xz, xf, n * sizeof(float));
        for (i = 0; i < sizeof pos / sizeof pos[0]; i++) {
            xf[pos[i]] = i % 2 ? NAN : (i % 4 == 0 ? INFINITY : -INFINITY);
            xz[pos[i]] = 0.0f;
        }
        CHECK_STATUS(tonecore_equalize_f32(&c, gains, CRIT_BANDS, xf, n, LONG_CH, yf[1], n, NULL,
                                           NULL),
                     TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_equalize_f32(&c, gains, CRIT_BANDS, xz, n, LONG_CH, yf[2], n, NULL,
                                           NULL),
                     TONECORE_STATUS_OK);
        for (i = 0; i < n; i++) {
            if (!isfinite(yf[1][i])) {
                finite = 0;
            }
        }
        CHECK(finite);
        CHECK_MSG(memcmp(yf[1], yf[2], n * sizeof(float)) == 0,
                  "NaN/Inf input differs from zeros there");
        CHECK_MSG(memcmp(yf[1], yf[0], n * sizeof(float)) != 0, "the NaN positions changed nothing");
        free(xz);
    }

    free(x);
    free(xf);
    free(ref);
    for (t = 0; t < 3; t++) {
        free(yf[t]);
        free(yd[t]);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Refused calls
 * ------------------------------------------------------------------------------------------- */

#define ELEN 2000 /* samples per channel in the error cases */

static double ex[2 * ELEN + 8], ey[2 * ELEN + 8];
static float fx[2 * ELEN + 8], fy[2 * ELEN + 8];

static void expect_refused(const tonecore_equalize_config *c, const double *g, size_t gl,
                           int use_input, size_t len, size_t channels, int use_output,
                           size_t out_len, int32_t expected, const char *what) {
    progress_log p;
    int32_t s64, s32;
    progress_init(&p);
    sentinel_fill(ey, sizeof ey);
    sentinel_fill(fy, sizeof fy);
    s64 = tonecore_equalize_f64(c, g, gl, use_input ? ex : NULL, len, channels,
                                use_output ? ey : NULL, out_len, on_progress, &p);
    CHECK_MSG(s64 == expected, "f64 %s: got %s, want %s (%s)", what, check_status_name(s64),
              check_status_name(expected), tonecore_last_error_message());
    CHECK_MSG(tonecore_last_error_message()[0] != '\0', "f64 %s: no detail message", what);
    s32 = tonecore_equalize_f32(c, g, gl, use_input ? fx : NULL, len, channels,
                                use_output ? fy : NULL, out_len, on_progress, &p);
    CHECK_MSG(s32 == expected, "f32 %s: got %s, want %s (%s)", what, check_status_name(s32),
              check_status_name(expected), tonecore_last_error_message());
    CHECK_MSG(tonecore_last_error_message()[0] != '\0', "f32 %s: no detail message", what);
    CHECK_MSG(sentinel_intact(ey, sizeof ey) && sentinel_intact(fy, sizeof fy),
              "%s: output written", what);
    CHECK_MSG(p.calls == 0, "%s: progress called %lu times", what, p.calls);
    pthread_mutex_destroy(&p.lock);
}

static void test_errors(void) {
    double g[CRIT_BANDS + 1];
    double bad_edges[3] = {100.0, 50.0, 200.0};
    tonecore_equalize_config c;
    const size_t n = 2 * ELEN;
    size_t i;

    check_section("tonecore_equalize refusals: status, message, output untouched, no callback");
    random_gains(g, CRIT_BANDS + 1, 12.0, 9);
    for (i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        ex[i] = 0.25 * sin(0.01 * (double)i);
        fx[i] = (float)ex[i];
    }

#define REFUSED(expected, what) \
    expect_refused(&c, g, CRIT_BANDS, 1, n, 2, 1, n, expected, what)

    c = config_for(1);
    expect_refused(NULL, g, CRIT_BANDS, 1, n, 2, 1, n, TONECORE_STATUS_NULL_POINTER, "NULL config");
    expect_refused(&c, NULL, CRIT_BANDS, 1, n, 2, 1, n, TONECORE_STATUS_NULL_POINTER, "NULL gains");
    expect_refused(&c, g, CRIT_BANDS, 0, n, 2, 1, n, TONECORE_STATUS_NULL_POINTER, "NULL input");
    expect_refused(&c, g, CRIT_BANDS, 1, n, 2, 0, n, TONECORE_STATUS_NULL_POINTER, "NULL output");
    c.struct_size = 0;
    REFUSED(TONECORE_STATUS_STRUCT_SIZE, "struct_size 0");
    c.struct_size = sizeof c - 1;
    REFUSED(TONECORE_STATUS_STRUCT_SIZE, "struct_size sizeof - 1");
    c = config_for(1);
    expect_refused(&c, g, CRIT_BANDS, 1, n, 0, 1, n, TONECORE_STATUS_INVALID_ARGUMENT,
                   "0 channels");
    expect_refused(&c, g, CRIT_BANDS, 1, n - 1, 2, 1, n, TONECORE_STATUS_INVALID_LENGTH,
                   "input_len not a multiple of channels");
    expect_refused(&c, g, CRIT_BANDS, 1, n, 2, 1, n - 1, TONECORE_STATUS_BUFFER_TOO_SMALL,
                   "output one sample too small");
    expect_refused(&c, g, CRIT_BANDS, 1, n, 2, 1, 0, TONECORE_STATUS_BUFFER_TOO_SMALL,
                   "output_len 0");
    expect_refused(&c, g, CRIT_BANDS - 1, 1, n, 2, 1, n, TONECORE_STATUS_GAIN_COUNT, "24 gains");
    expect_refused(&c, g, CRIT_BANDS + 1, 1, n, 2, 1, n, TONECORE_STATUS_GAIN_COUNT, "26 gains");
    g[5] = NAN;
    REFUSED(TONECORE_STATUS_NON_FINITE, "NaN gain");
    g[5] = INFINITY;
    REFUSED(TONECORE_STATUS_NON_FINITE, "Inf gain");
    g[5] = 0.0;
    c.sample_rate = 0;
    REFUSED(TONECORE_STATUS_INVALID_SAMPLE_RATE, "sample_rate 0");
    c = config_for(1);
    c.fft_size = 4095;
    REFUSED(TONECORE_STATUS_INVALID_FFT_SIZE, "fft_size 4095");
    c.fft_size = 14;
    REFUSED(TONECORE_STATUS_INVALID_FFT_SIZE, "fft_size 14");
    c.fft_size = 0;
    REFUSED(TONECORE_STATUS_INVALID_FFT_SIZE, "fft_size 0");
    c = config_for(1);
    c.layout = 5; /* 4 is TONECORE_LAYOUT_SIXTH_OCTAVE */
    REFUSED(TONECORE_STATUS_INVALID_ARGUMENT, "layout 5");
    c = config_for(1);
    c.mode = 2;
    REFUSED(TONECORE_STATUS_INVALID_ARGUMENT, "mode 2");
    c = config_for(1);
    c.layout = TONECORE_LAYOUT_CUSTOM;
    c.edges = bad_edges;
    c.edges_len = 3;
    expect_refused(&c, g, 2, 1, n, 2, 1, n, TONECORE_STATUS_INVALID_BANDS, "custom edges descending");
    c.edges = NULL;
    expect_refused(&c, g, 2, 1, n, 2, 1, n, TONECORE_STATUS_NULL_POINTER, "NULL custom edges");
    c = config_for(1025);
    REFUSED(TONECORE_STATUS_INVALID_ARGUMENT, "threads 1025");
#undef REFUSED

    /* Overlapping input and output. */
    {
        int32_t st;
        c = config_for(1);
        memcpy(ey, ex, sizeof ey);
        st = tonecore_equalize_f64(&c, g, CRIT_BANDS, ey, n, 2, ey + 1, n, NULL, NULL);
        CHECK_STATUS(st, TONECORE_STATUS_BUFFERS_OVERLAP);
        st = tonecore_equalize_f64(&c, g, CRIT_BANDS, ey, n, 2, ey, n, NULL, NULL);
        CHECK_STATUS(st, TONECORE_STATUS_BUFFERS_OVERLAP);
        CHECK(memcmp(ey, ex, sizeof ey) == 0);
        memcpy(fy, fx, sizeof fy);
        st = tonecore_equalize_f32(&c, g, CRIT_BANDS, fy + 4, n, 2, fy, n, NULL, NULL);
        CHECK_STATUS(st, TONECORE_STATUS_BUFFERS_OVERLAP);
        CHECK(memcmp(fy, fx, sizeof fy) == 0);
    }

    /* The same call with every argument valid succeeds (the refusals were for their reason). */
    {
        progress_log p;
        c = config_for(1);
        progress_init(&p);
        CHECK_STATUS(tonecore_equalize_f64(&c, g, CRIT_BANDS, ex, n, 2, ey, n, on_progress, &p),
                     TONECORE_STATUS_OK);
        CHECK_STR_EQ(tonecore_last_error_message(), "");
        check_progress(&p, "small f64 call");
        pthread_mutex_destroy(&p.lock);
    }
}

int main(void) {
    test_defaults();
    test_identity();
    test_kernel_and_convolution();
    test_offline_vs_streaming();
    test_errors();
    return check_finish();
}
