/*
 * test_render.c — tonecore_crossfade_concat_f32/_f64, tonecore_render_config_init and
 * tonecore_render_chunked_f32/_f64.
 *
 * Crossfades: every curve against a double reference of the documented formula
 * (L = min(overlap, len_a, len_b), phase t = i/(L-1) or 0 when L == 1, equal gain sin^2/cos^2,
 * equal power sin/cos, linear t/1-t, L = 0 concatenates, len_a + len_b - L frames), planar, f32
 * and f64; equal-gain joins of overlapping index ramps give the ramp back; every refusal
 * (outputs untouched).
 * Chunked renders: an index ramp through a pipeline with every stage disabled comes back frame
 * for frame (several chunk/context/crossfade settings, a track shorter than one chunk, a length
 * that is not a multiple of the chunk; equal-power seams give the ramp times sin + cos exactly
 * where the documented geometry puts them); with random EQ gains the chunked render equals one
 * pass through a tonecore_pipeline; 1, all and 3 threads give bit-identical output (also for a
 * chain with the level matcher and limiter); the progress callback (strictly increasing done,
 * total = ceil(frames / round(chunk_seconds * sr)), never two calls at once, user_data passed
 * through); cancelling from the callback (CANCELLED, workers joined: no call after the return);
 * the documented default context (EQ kernel + lookahead [+ level window + 3 attack]) through
 * the INVALID_CHUNK boundary; every refusal (output untouched, no progress call).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "ref.h"

#define SR 44100u
#define BANDS 25

#define FMT_NAME(format) ((format) == TONECORE_SAMPLE_FORMAT_F64 ? "f64" : "f32")

static const char *curve_name(int32_t curve) {
    switch (curve) {
    case TONECORE_FADE_CURVE_EQUAL_GAIN: return "equal-gain";
    case TONECORE_FADE_CURVE_EQUAL_POWER: return "equal-power";
    case TONECORE_FADE_CURVE_LINEAR: return "linear";
    default: return "?";
    }
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* ---------------------------------------------------------------------------------------------
 * Independent references
 * ------------------------------------------------------------------------------------------- */

/* The documented fade gains at step i of an L-step fade (phase linspace(0, 1, L)). */
static void ref_fade(int32_t curve, size_t i, size_t len, double *fade_in, double *fade_out) {
    double t = len <= 1 ? 0.0 : (double)i / (double)(len - 1);
    double s = sin(t * M_PI / 2.0), c = cos(t * M_PI / 2.0);
    switch (curve) {
    case TONECORE_FADE_CURVE_EQUAL_GAIN:
        *fade_in = s * s;
        *fade_out = c * c;
        break;
    case TONECORE_FADE_CURVE_EQUAL_POWER:
        *fade_in = s;
        *fade_out = c;
        break;
    default:
        *fade_in = t;
        *fade_out = 1.0 - t;
        break;
    }
}

/* Planar crossfaded join of a (channels x la) and b (channels x lb) into out; returns frames. */
static size_t ref_crossfade(const double *a, size_t la, const double *b, size_t lb,
                            size_t channels, size_t overlap, int32_t curve, double *out) {
    size_t l = overlap < la ? overlap : la;
    size_t n, c, j;
    l = l < lb ? l : lb;
    n = la + lb - l;
    for (c = 0; c < channels; c++) {
        for (j = 0; j < n; j++) {
            double v;
            if (j < la - l) {
                v = a[c * la + j];
            } else if (j < la) {
                double fi, fo;
                size_t i = j - (la - l);
                ref_fade(curve, i, l, &fi, &fo);
                v = a[c * la + j] * fo + b[c * lb + i] * fi;
            } else {
                v = b[c * lb + (j - la + l)];
            }
            out[c * n + j] = v;
        }
    }
    return n;
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

/* round(seconds * sr) frames, as the header defines chunk, context and crossfade lengths. */
static size_t frames_of(double seconds) {
    return (size_t)floor(seconds * (double)SR + 0.5);
}

/* ---------------------------------------------------------------------------------------------
 * Crossfade
 * ------------------------------------------------------------------------------------------- */

/* One crossfade case in one format: compares with ref_crossfade and checks that nothing past
 * channels * frames was written. */
static void crossfade_case(int32_t format, size_t channels, size_t la, size_t lb, size_t overlap,
                           int32_t curve, uint64_t seed) {
    const size_t extra = 5;
    double *a = noise(channels * la, 1.0, seed);
    double *b = noise(channels * lb, 1.0, seed + 1);
    size_t l = overlap < la ? overlap : la, n, i, frames = sentinel_size();
    double *want, *got, err = 0.0, tol;
    float *fa, *fb, *fo;
    double *dout;
    int32_t st;
    int intact;

    l = l < lb ? l : lb;
    n = la + lb - l;
    fa = (float *)ref_alloc(channels * la, sizeof(float));
    fb = (float *)ref_alloc(channels * lb, sizeof(float));
    fo = (float *)ref_alloc(channels * n + extra, sizeof(float));
    dout = (double *)ref_alloc(channels * n + extra, sizeof(double));
    want = (double *)ref_alloc(channels * n, sizeof(double));
    got = (double *)ref_alloc(channels * n, sizeof(double));
    if (format == TONECORE_SAMPLE_FORMAT_F32) {
        /* The reference sees exactly the floats the library sees. */
        for (i = 0; i < channels * la; i++) {
            fa[i] = (float)a[i];
            a[i] = (double)fa[i];
        }
        for (i = 0; i < channels * lb; i++) {
            fb[i] = (float)b[i];
            b[i] = (double)fb[i];
        }
    }
    CHECK_EQ_SIZE(ref_crossfade(a, la, b, lb, channels, overlap, curve, want), n);
    sentinel_fill(fo, (channels * n + extra) * sizeof(float));
    sentinel_fill(dout, (channels * n + extra) * sizeof(double));
    if (format == TONECORE_SAMPLE_FORMAT_F32) {
        st = tonecore_crossfade_concat_f32(fa, channels * la, fb, channels * lb, channels, overlap,
                                           curve, fo, channels * n + extra, &frames);
        for (i = 0; i < channels * n; i++) {
            got[i] = (double)fo[i];
        }
        intact = sentinel_intact(fo + channels * n, extra * sizeof(float));
        tol = 1e-6;
    } else {
        st = tonecore_crossfade_concat_f64(a, channels * la, b, channels * lb, channels, overlap,
                                           curve, dout, channels * n + extra, &frames);
        memcpy(got, dout, channels * n * sizeof(double));
        intact = sentinel_intact(dout + channels * n, extra * sizeof(double));
        tol = 1e-14;
    }
    CHECK_MSG(st == TONECORE_STATUS_OK, "%s %s ch %zu la %zu lb %zu overlap %zu: %s (%s)",
              FMT_NAME(format), curve_name(curve), channels, la, lb, overlap,
              check_status_name(st), tonecore_last_error_message());
    if (st == TONECORE_STATUS_OK) {
        CHECK_MSG(frames == n, "%s %s ch %zu la %zu lb %zu overlap %zu: frames %zu, want %zu",
                  FMT_NAME(format), curve_name(curve), channels, la, lb, overlap, frames, n);
        for (i = 0; i < channels * n; i++) {
            err = ref_max_err(err, fabs(got[i] - want[i]));
        }
        CHECK_MSG(err <= tol, "%s %s ch %zu la %zu lb %zu overlap %zu: max error %.3g",
                  FMT_NAME(format), curve_name(curve), channels, la, lb, overlap, err);
        CHECK_MSG(intact, "%s %s ch %zu la %zu lb %zu overlap %zu: wrote past %zu samples",
                  FMT_NAME(format), curve_name(curve), channels, la, lb, overlap, channels * n);
    }
    free(a);
    free(b);
    free(fa);
    free(fb);
    free(fo);
    free(dout);
    free(want);
    free(got);
}

static void test_crossfade_reference(void) {
    static const struct {
        size_t channels, la, lb, overlap;
    } cases[] = {
        {2, 12, 9, 5},   /* L = overlap */
        {2, 12, 9, 0},   /* L = 0: concatenation */
        {2, 5, 9, 20},   /* L = la */
        {2, 9, 3, 5},    /* L = lb */
        {2, 7, 7, 1},    /* L = 1: t = 0, the outgoing side is kept */
        {2, 7, 6, 2},    /* L = 2: t = 0 and 1 */
        {2, 64, 50, 33}, /* a longer fade */
        {2, 0, 5, 3},    /* empty a */
        {2, 4, 0, 2},    /* empty b */
        {1, 30, 40, 17}, /* mono */
        {3, 16, 11, 8},  /* three channels */
    };
    int32_t curve;
    size_t k;
    int f;

    check_section("crossfade_concat against the documented formula (every curve, f32 and f64)");
    for (f = 0; f < 2; f++) {
        int32_t format = f ? TONECORE_SAMPLE_FORMAT_F64 : TONECORE_SAMPLE_FORMAT_F32;
        for (curve = 0; curve < 3; curve++) {
            for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
                crossfade_case(format, cases[k].channels, cases[k].la, cases[k].lb,
                               cases[k].overlap, curve, 100 + 7 * k + (uint64_t)curve);
            }
        }
    }

    check_section("crossfade_concat: an equal-gain join of overlapping ramps is the ramp");
    {
        const size_t la = 1000, lb = 800, l = 300, n = la + lb - l;
        double *a = (double *)ref_alloc(2 * la, sizeof(double));
        double *b = (double *)ref_alloc(2 * lb, sizeof(double));
        double *y = (double *)ref_alloc(2 * n, sizeof(double));
        double err = 0.0;
        size_t i, frames = 0;
        for (i = 0; i < la; i++) {
            a[i] = (double)i;
            a[la + i] = -(double)i;
        }
        for (i = 0; i < lb; i++) {
            b[i] = (double)(la - l + i);
            b[lb + i] = -(double)(la - l + i);
        }
        CHECK_STATUS(tonecore_crossfade_concat_f64(a, 2 * la, b, 2 * lb, 2, l,
                                                   TONECORE_FADE_CURVE_EQUAL_GAIN, y, 2 * n,
                                                   &frames),
                     TONECORE_STATUS_OK);
        CHECK_EQ_SIZE(frames, n);
        for (i = 0; i < n; i++) {
            double r = (double)i, s = r > 1.0 ? r : 1.0;
            err = ref_max_err(err, fabs(y[i] - r) / s);
            err = ref_max_err(err, fabs(y[n + i] + r) / s);
        }
        CHECK_MSG(err <= 1e-12, "max relative error %.3g", err);
        /* Linear gains sum to 1 as well; equal power does not (sin + cos > 1 inside). */
        CHECK_STATUS(tonecore_crossfade_concat_f64(a, 2 * la, b, 2 * lb, 2, l,
                                                   TONECORE_FADE_CURVE_LINEAR, y, 2 * n, &frames),
                     TONECORE_STATUS_OK);
        err = 0.0;
        for (i = 0; i < n; i++) {
            double r = (double)i, s = r > 1.0 ? r : 1.0;
            err = ref_max_err(err, fabs(y[i] - r) / s);
        }
        CHECK_MSG(err <= 1e-12, "linear: max relative error %.3g", err);
        CHECK_STATUS(tonecore_crossfade_concat_f64(a, 2 * la, b, 2 * lb, 2, l,
                                                   TONECORE_FADE_CURVE_EQUAL_POWER, y, 2 * n,
                                                   &frames),
                     TONECORE_STATUS_OK);
        {
            size_t mid = la - l + l / 2;
            double t = (double)(l / 2) / (double)(l - 1);
            double want = (double)mid * (sin(t * M_PI / 2.0) + cos(t * M_PI / 2.0));
            CHECK_MSG(fabs(y[mid] - want) <= 1e-9 * want, "equal power mid-fade: %.12g, want %.12g",
                      y[mid], want);
        }
        free(a);
        free(b);
        free(y);
    }
}

static void test_crossfade_errors(void) {
    enum { CH = 2, LA = 10, LB = 8, OV = 3, N = LA + LB - OV };
    double a[CH * LA], b[CH * LB], out[CH * N + 4];
    float fa[CH * LA], fb[CH * LB], fout[CH * N + 4];
    size_t frames, i;

    check_section("crossfade_concat refusals (output and frames_out untouched)");
    for (i = 0; i < CH * LA; i++) {
        a[i] = (double)i;
        fa[i] = (float)i;
    }
    for (i = 0; i < CH * LB; i++) {
        b[i] = -(double)i;
        fb[i] = -(float)i;
    }

#define EXPECT_XF(call, expected, what)                                                        \
    do {                                                                                       \
        sentinel_fill(out, sizeof out);                                                        \
        sentinel_fill(fout, sizeof fout);                                                      \
        frames = sentinel_size();                                                              \
        CHECK_STATUS(call, expected);                                                          \
        CHECK_MSG(sentinel_intact(out, sizeof out) && sentinel_intact(fout, sizeof fout),      \
                  "%s: output written", what);                                                 \
        CHECK_MSG(frames == sentinel_size(), "%s: frames_out written (%zu)", what, frames);    \
    } while (0)
#define XF64(pa, na, pb, nb, ch, ov, cu, po, no, pf)                                           \
    tonecore_crossfade_concat_f64(pa, na, pb, nb, ch, ov, cu, po, no, pf)
#define XF32(pa, na, pb, nb, ch, ov, cu, po, no, pf)                                           \
    tonecore_crossfade_concat_f32(pa, na, pb, nb, ch, ov, cu, po, no, pf)

    /* The valid call these refusals are variations of. */
    frames = 0;
    CHECK_STATUS(XF64(a, CH * LA, b, CH * LB, CH, OV, 0, out, CH * N, &frames), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(frames, N);
    frames = 0;
    CHECK_STATUS(XF32(fa, CH * LA, fb, CH * LB, CH, OV, 0, fout, CH * N, &frames),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(frames, N);

    EXPECT_XF(XF64(NULL, CH * LA, b, CH * LB, CH, OV, 0, out, CH * N, &frames),
              TONECORE_STATUS_NULL_POINTER, "f64 NULL a");
    EXPECT_XF(XF64(a, CH * LA, NULL, CH * LB, CH, OV, 0, out, CH * N, &frames),
              TONECORE_STATUS_NULL_POINTER, "f64 NULL b");
    EXPECT_XF(XF64(a, CH * LA, b, CH * LB, CH, OV, 0, NULL, CH * N, &frames),
              TONECORE_STATUS_NULL_POINTER, "f64 NULL output");
    EXPECT_XF(XF64(a, CH * LA, b, CH * LB, CH, OV, 0, out, CH * N, NULL),
              TONECORE_STATUS_NULL_POINTER, "f64 NULL frames_out");
    EXPECT_XF(XF32(NULL, CH * LA, fb, CH * LB, CH, OV, 0, fout, CH * N, &frames),
              TONECORE_STATUS_NULL_POINTER, "f32 NULL a");
    EXPECT_XF(XF32(fa, CH * LA, NULL, CH * LB, CH, OV, 0, fout, CH * N, &frames),
              TONECORE_STATUS_NULL_POINTER, "f32 NULL b");
    EXPECT_XF(XF32(fa, CH * LA, fb, CH * LB, CH, OV, 0, NULL, CH * N, &frames),
              TONECORE_STATUS_NULL_POINTER, "f32 NULL output");
    EXPECT_XF(XF32(fa, CH * LA, fb, CH * LB, CH, OV, 0, fout, CH * N, NULL),
              TONECORE_STATUS_NULL_POINTER, "f32 NULL frames_out");

    EXPECT_XF(XF64(a, CH * LA, b, CH * LB, 0, OV, 0, out, CH * N, &frames),
              TONECORE_STATUS_INVALID_CHANNELS, "f64 channels 0");
    EXPECT_XF(XF32(fa, CH * LA, fb, CH * LB, 0, OV, 0, fout, CH * N, &frames),
              TONECORE_STATUS_INVALID_CHANNELS, "f32 channels 0");
    EXPECT_XF(XF64(a, CH * LA - 1, b, CH * LB, CH, OV, 0, out, CH * N, &frames),
              TONECORE_STATUS_INVALID_CHANNELS, "f64 a_len odd for 2 channels");
    EXPECT_XF(XF64(a, CH * LA, b, CH * LB - 1, CH, OV, 0, out, CH * N, &frames),
              TONECORE_STATUS_INVALID_CHANNELS, "f64 b_len odd for 2 channels");
    EXPECT_XF(XF32(fa, CH * LA - 1, fb, CH * LB, CH, OV, 0, fout, CH * N, &frames),
              TONECORE_STATUS_INVALID_CHANNELS, "f32 a_len odd for 2 channels");
    EXPECT_XF(XF32(fa, CH * LA, fb, CH * LB - 1, CH, OV, 0, fout, CH * N, &frames),
              TONECORE_STATUS_INVALID_CHANNELS, "f32 b_len odd for 2 channels");
    EXPECT_XF(XF64(a, 3 * 6, b, 3 * 5 + 1, 3, OV, 0, out, CH * N, &frames),
              TONECORE_STATUS_INVALID_CHANNELS, "f64 b_len 16 for 3 channels");

    EXPECT_XF(XF64(a, CH * LA, b, CH * LB, CH, OV, 0, out, CH * (N - 1), &frames),
              TONECORE_STATUS_BUFFER_TOO_SMALL, "f64 output one frame too small");
    EXPECT_XF(XF64(a, CH * LA, b, CH * LB, CH, OV, 0, out, CH * N - 1, &frames),
              TONECORE_STATUS_BUFFER_TOO_SMALL, "f64 output one sample too small");
    EXPECT_XF(XF32(fa, CH * LA, fb, CH * LB, CH, OV, 0, fout, CH * (N - 1), &frames),
              TONECORE_STATUS_BUFFER_TOO_SMALL, "f32 output one frame too small");
    EXPECT_XF(XF64(a, CH * LA, b, CH * LB, CH, 0, 0, out, CH * (LA + LB) - CH, &frames),
              TONECORE_STATUS_BUFFER_TOO_SMALL, "f64 concatenation, output one frame too small");

    EXPECT_XF(XF64(a, CH * LA, b, CH * LB, CH, OV, 3, out, CH * N, &frames),
              TONECORE_STATUS_INVALID_ARGUMENT, "f64 curve 3");
    EXPECT_XF(XF64(a, CH * LA, b, CH * LB, CH, OV, -1, out, CH * N, &frames),
              TONECORE_STATUS_INVALID_ARGUMENT, "f64 curve -1");
    EXPECT_XF(XF32(fa, CH * LA, fb, CH * LB, CH, OV, 3, fout, CH * N, &frames),
              TONECORE_STATUS_INVALID_ARGUMENT, "f32 curve 3");
#undef EXPECT_XF

    /* Overlapping buffers: nothing changes. */
    {
        double buf[200], copy[200];
        float fbuf[200], fcopy[200];
        for (i = 0; i < 200; i++) {
            buf[i] = (double)i * 0.5;
            fbuf[i] = (float)i * 0.5f;
        }
        memcpy(copy, buf, sizeof buf);
        memcpy(fcopy, fbuf, sizeof fbuf);
        frames = sentinel_size();
        CHECK_STATUS(XF64(buf, 20, buf + 100, 20, 2, 4, 0, buf + 10, 40, &frames),
                     TONECORE_STATUS_BUFFERS_OVERLAP);
        CHECK_STATUS(XF64(buf, 20, buf + 100, 20, 2, 4, 0, buf + 110, 40, &frames),
                     TONECORE_STATUS_BUFFERS_OVERLAP);
        CHECK_STATUS(XF64(buf + 60, 20, buf + 100, 20, 2, 4, 0, buf + 30, 40, &frames),
                     TONECORE_STATUS_BUFFERS_OVERLAP);
        CHECK_STATUS(XF64(buf, 20, buf + 100, 20, 2, 4, 0, buf, 40, &frames),
                     TONECORE_STATUS_BUFFERS_OVERLAP);
        CHECK_STATUS(XF32(fbuf, 20, fbuf + 100, 20, 2, 4, 0, fbuf + 10, 40, &frames),
                     TONECORE_STATUS_BUFFERS_OVERLAP);
        CHECK_STATUS(XF32(fbuf, 20, fbuf + 100, 20, 2, 4, 0, fbuf + 90, 40, &frames),
                     TONECORE_STATUS_BUFFERS_OVERLAP);
        CHECK(memcmp(buf, copy, sizeof buf) == 0);
        CHECK(memcmp(fbuf, fcopy, sizeof fbuf) == 0);
        CHECK(frames == sentinel_size());
        /* Adjacent but disjoint is fine. */
        CHECK_STATUS(XF64(buf, 20, buf + 20, 20, 2, 4, 0, buf + 40, 36, &frames),
                     TONECORE_STATUS_OK);
        CHECK_EQ_SIZE(frames, 16);
    }
#undef XF64
#undef XF32
}

/* ---------------------------------------------------------------------------------------------
 * Chunked rendering helpers
 * ------------------------------------------------------------------------------------------- */

/* What a progress callback saw. Calls are serialised by a mutex taken with trylock first: a
 * failed trylock means two calls overlapped (the header promises one at a time). */
typedef struct progress_log {
    pthread_mutex_t busy;
    void *expected_self; /* user_data must be this */
    unsigned long calls;
    unsigned long out_of_order; /* done != previous done + 1 */
    unsigned long total_changed;
    unsigned long overlapping;
    unsigned long wrong_user_data;
    unsigned long after_cancel;
    size_t first_total;
    size_t last_done;
    size_t cancel_at; /* return non-zero when done == cancel_at (0: never) */
    int cancel_requested;
} progress_log;

static void progress_init(progress_log *l, size_t cancel_at) {
    memset(l, 0, sizeof *l);
    CHECK_EQ_INT(pthread_mutex_init(&l->busy, NULL), 0);
    l->expected_self = l;
    l->cancel_at = cancel_at;
}

static void progress_destroy(progress_log *l) {
    pthread_mutex_destroy(&l->busy);
}

/* A snapshot of the log taken under its mutex. */
static progress_log progress_read(progress_log *l) {
    progress_log s;
    pthread_mutex_lock(&l->busy);
    s = *l;
    pthread_mutex_unlock(&l->busy);
    return s;
}

static int32_t on_progress(void *user_data, size_t done, size_t total) {
    progress_log *l = (progress_log *)user_data;
    int32_t ret = 0;
    int overlapped = pthread_mutex_trylock(&l->busy) != 0;
    if (overlapped) {
        pthread_mutex_lock(&l->busy);
        l->overlapping++;
    }
    if (l->expected_self != (void *)l) {
        l->wrong_user_data++;
    }
    if (l->cancel_requested) {
        l->after_cancel++;
    }
    if (l->calls == 0) {
        l->first_total = total;
    } else if (total != l->first_total) {
        l->total_changed++;
    }
    if (done != l->last_done + 1) {
        l->out_of_order++;
    }
    l->last_done = done;
    l->calls++;
    if (l->cancel_at != 0 && done == l->cancel_at) {
        l->cancel_requested = 1;
        ret = 1;
    }
    pthread_mutex_unlock(&l->busy);
    return ret;
}

/* The library's defaults, with the momentary leveller where a test enables the level stage:
 * these tests check chunked rendering itself; the integrated mode (which normalises the whole
 * track instead of chunking the level stage) is checked in test_normalize.c. */
static tonecore_pipeline_config pipeline_cfg(int32_t format) {
    tonecore_pipeline_config c;
    tonecore_pipeline_config_init(&c);
    c.sample_format = format;
    c.level_mode = TONECORE_LEVEL_MODE_MOMENTARY;
    return c;
}

static tonecore_render_config render_cfg(double chunk, double context, double crossfade,
                                         uint32_t threads) {
    tonecore_render_config r;
    tonecore_render_config_init(&r);
    r.chunk_seconds = chunk;
    r.context_seconds = context;
    r.crossfade_seconds = crossfade;
    r.threads = threads;
    return r;
}

/*
 * Renders planar x (pc->channels rows of `len` frames) with tonecore_render_chunked in the
 * config's sample format (f32: rounded to float, output widened) into y (same layout).
 */
static int32_t render(const tonecore_pipeline_config *pc, const tonecore_render_config *rc,
                      const double *x, size_t len, double *y, progress_log *log) {
    size_t n = pc->channels * len, i;
    tonecore_render_progress_fn fn = log != NULL ? on_progress : NULL;
    int32_t st;
    if (pc->sample_format == TONECORE_SAMPLE_FORMAT_F32) {
        float *fi = (float *)ref_alloc(n, sizeof(float));
        float *fo = (float *)ref_alloc(n, sizeof(float));
        for (i = 0; i < n; i++) {
            fi[i] = (float)x[i];
        }
        st = tonecore_render_chunked_f32(pc, rc, fi, n, fo, n, fn, log);
        for (i = 0; i < n; i++) {
            y[i] = (double)fo[i];
        }
        free(fi);
        free(fo);
    } else {
        st = tonecore_render_chunked_f64(pc, rc, x, n, y, n, fn, log);
    }
    return st;
}

/* Index ramp: frame i of channel c is +i (even c) or -i (odd c). */
static double *index_ramp(size_t channels, size_t len) {
    double *x = (double *)ref_alloc(channels * len, sizeof(double));
    size_t c, i;
    for (c = 0; c < channels; c++) {
        for (i = 0; i < len; i++) {
            x[c * len + i] = c % 2 ? -(double)i : (double)i;
        }
    }
    return x;
}

/* ---------------------------------------------------------------------------------------------
 * Chunked rendering
 * ------------------------------------------------------------------------------------------- */

static void test_render_config_init(void) {
    tonecore_render_config r;

    check_section("tonecore_render_config_init defaults");
    sentinel_fill(&r, sizeof r);
    CHECK_STATUS(tonecore_render_config_init(&r), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(r.struct_size, sizeof(tonecore_render_config));
    CHECK(r.chunk_seconds == 15.0);
    CHECK(r.context_seconds < 0.0);
    CHECK(r.crossfade_seconds == 0.05);
    CHECK_EQ_INT(r.curve, TONECORE_FADE_CURVE_EQUAL_GAIN);
    CHECK_EQ_INT(r.threads, 0);
    CHECK_EQ_INT(r.lookahead_chunks, 2);
    CHECK(r.seek_fade_ms == 5.0);
    CHECK_STATUS(tonecore_render_config_init(NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK(tonecore_last_error_message()[0] != '\0');
}

static void ramp_case(int32_t format, size_t channels, size_t len, double chunk, double context,
                      double crossfade, uint32_t threads, int32_t curve) {
    tonecore_pipeline_config pc = pipeline_cfg(format);
    tonecore_render_config rc = render_cfg(chunk, context, crossfade, threads);
    double *x = index_ramp(channels, len);
    double *y = (double *)ref_alloc(channels * len, sizeof(double));
    double err = 0.0, tol = format == TONECORE_SAMPLE_FORMAT_F64 ? 1e-12 : 1e-6;
    size_t c, i, cf = frames_of(crossfade), cs = frames_of(chunk);
    int32_t st;

    pc.channels = (uint32_t)channels;
    rc.curve = curve;
    for (i = 0; i < channels * len; i++) {
        y[i] = NAN;
    }
    st = render(&pc, &rc, x, len, y, NULL);
    CHECK_MSG(st == TONECORE_STATUS_OK, "%s %zu ch x %zu, chunk %g context %g crossfade %g: %s (%s)",
              FMT_NAME(format), channels, len, chunk, context, crossfade, check_status_name(st),
              tonecore_last_error_message());
    for (c = 0; c < channels; c++) {
        for (i = 0; i < len; i++) {
            double want = x[c * len + i];
            if (curve == TONECORE_FADE_CURVE_EQUAL_POWER) {
                /* The seam at the start of chunk k (k >= 1) covers [k*cs, k*cs + L), L the
                 * crossfade cut to that chunk's core: the ramp times fade_in + fade_out. */
                size_t k = i / cs, at = i % cs, core = (k + 1) * cs <= len ? cs : len - k * cs;
                size_t l = cf < core ? cf : core;
                if (k >= 1 && at < l) {
                    double fi, fo;
                    ref_fade(curve, at, l, &fi, &fo);
                    want *= fi + fo;
                }
            }
            /* f64: relative to each frame's value; f32: relative to the ramp's peak (the
             * bypassed EQ's float FFT rounds relative to the block's magnitude). */
            double scale = format == TONECORE_SAMPLE_FORMAT_F64
                               ? (fabs(want) > 1.0 ? fabs(want) : 1.0)
                               : (double)len;
            err = ref_max_err(err, fabs(y[c * len + i] - want) / scale);
        }
    }
    CHECK_MSG(err <= tol, "%s %s %zu ch x %zu, chunk %g context %g crossfade %g threads %u: "
              "max relative error %.3g", FMT_NAME(format), curve_name(curve), channels, len, chunk,
              context, crossfade, (unsigned)threads, err);
    printf("   ramp %s %s %zu ch x %zu frames, chunk %g s, context %g s, crossfade %g s, "
           "threads %u: max relative error %.3g\n", FMT_NAME(format), curve_name(curve), channels,
           len, chunk, context, crossfade, (unsigned)threads, err);
    free(x);
    free(y);
}

static void test_render_ramp(void) {
    check_section("render_chunked: an index ramp through a bypassed pipeline comes back");
    /* 3 s + 1234 frames: not a multiple of the chunk. */
    ramp_case(TONECORE_SAMPLE_FORMAT_F64, 2, 3 * SR + 1234, 1.0, 0.2, 0.05, 0,
              TONECORE_FADE_CURVE_EQUAL_GAIN);
    ramp_case(TONECORE_SAMPLE_FORMAT_F64, 2, 3 * SR + 1234, 0.3, 0.0, 0.1, 1,
              TONECORE_FADE_CURVE_EQUAL_GAIN);
    ramp_case(TONECORE_SAMPLE_FORMAT_F64, 2, 2 * SR + 17, 0.25, 0.05, 0.0, 3,
              TONECORE_FADE_CURVE_EQUAL_GAIN);
    ramp_case(TONECORE_SAMPLE_FORMAT_F64, 2, 2 * SR + 17, 0.5, 0.06, 0.1, 0,
              TONECORE_FADE_CURVE_LINEAR);
    /* The default context (context_seconds < 0). */
    ramp_case(TONECORE_SAMPLE_FORMAT_F64, 2, 3 * SR + 17, 1.5, -1.0, 0.05, 0,
              TONECORE_FADE_CURVE_EQUAL_GAIN);
    /* A last chunk shorter than the crossfade: the seam is cut to that core. */
    ramp_case(TONECORE_SAMPLE_FORMAT_F64, 2, 2 * SR + 1000, 0.5, 0.05, 0.1, 0,
              TONECORE_FADE_CURVE_EQUAL_GAIN);
    /* Shorter than one chunk (default 15 s chunk and context), and a 300-frame mono track. */
    ramp_case(TONECORE_SAMPLE_FORMAT_F64, 2, SR / 2 + 3, 15.0, -1.0, 0.05, 0,
              TONECORE_FADE_CURVE_EQUAL_GAIN);
    ramp_case(TONECORE_SAMPLE_FORMAT_F64, 1, 300, 15.0, -1.0, 0.05, 1,
              TONECORE_FADE_CURVE_EQUAL_GAIN);
    ramp_case(TONECORE_SAMPLE_FORMAT_F64, 3, SR + 5, 0.2, 0.01, 0.03, 0,
              TONECORE_FADE_CURVE_EQUAL_GAIN);
    ramp_case(TONECORE_SAMPLE_FORMAT_F32, 2, 2 * SR + 77, 0.4, 0.1, 0.05, 0,
              TONECORE_FADE_CURVE_EQUAL_GAIN);

    check_section("render_chunked: equal-power seams are where the documented geometry puts them");
    ramp_case(TONECORE_SAMPLE_FORMAT_F64, 2, 2 * SR + 1234, 0.5, 0.05, 0.05, 0,
              TONECORE_FADE_CURVE_EQUAL_POWER);
    ramp_case(TONECORE_SAMPLE_FORMAT_F64, 2, 2 * SR + 1000, 0.5, 0.05, 0.1, 1,
              TONECORE_FADE_CURVE_EQUAL_POWER);
}

/*
 * One pass: a tonecore_pipeline (max_block >= len + latency) fed x plus `latency` zeros in one
 * block, the first `latency` output frames dropped. f64 pipeline configs only.
 */
static int single_pass(const tonecore_pipeline_config *pc_in, const double *x, size_t len,
                       double *y) {
    const size_t slack = 20000;
    tonecore_pipeline_config pc = *pc_in;
    tonecore_pipeline *p = NULL;
    size_t ch = pc.channels, lat = 0, n, c;
    double *in, *out;
    int ok;

    pc.max_block = len + slack;
    CHECK_STATUS(tonecore_pipeline_new(&pc, &p), TONECORE_STATUS_OK);
    if (p == NULL) {
        return 0;
    }
    CHECK_STATUS(tonecore_pipeline_latency(p, &lat), TONECORE_STATUS_OK);
    CHECK_MSG(lat <= slack, "latency %zu above the slack %zu", lat, slack);
    if (lat > slack) {
        tonecore_pipeline_free(p);
        return 0;
    }
    n = len + lat;
    in = (double *)ref_alloc(ch * n, sizeof(double));
    out = (double *)ref_alloc(ch * n, sizeof(double));
    for (c = 0; c < ch; c++) {
        memcpy(in + c * n, x + c * len, len * sizeof(double));
    }
    ok = tonecore_pipeline_process_f64(p, in, ch * n, out, ch * n) == TONECORE_STATUS_OK;
    CHECK_MSG(ok, "single pass: process failed");
    for (c = 0; c < ch; c++) {
        memcpy(y + c * len, out + c * n + lat, len * sizeof(double));
    }
    free(in);
    free(out);
    tonecore_pipeline_free(p);
    return ok;
}

static void test_render_eq(void) {
    const size_t len = 3 * SR + 77;
    double gains[BANDS];
    ref_rng rng = ref_rng_new(31);
    tonecore_pipeline_config pc = pipeline_cfg(TONECORE_SAMPLE_FORMAT_F64);
    double *x = noise(2 * len, 0.5, 32);
    double *one = (double *)ref_alloc(2 * len, sizeof(double));
    double *y[3];
    static const uint32_t threads[3] = {1, 0, 3};
    size_t i, k;

    check_section("render_chunked with random EQ gains = one pass through a tonecore_pipeline");
    for (i = 0; i < BANDS; i++) {
        gains[i] = 6.0 * ref_uniform(&rng);
    }
    pc.eq_enabled = 1;
    pc.eq_gains_db = gains;
    pc.eq_gains_len = BANDS;
    for (k = 0; k < 3; k++) {
        y[k] = (double *)ref_alloc(2 * len, sizeof(double));
    }
    if (single_pass(&pc, x, len, one)) {
        static const struct {
            double chunk, context, crossfade;
        } geo[] = {{1.5, -1.0, 0.05}, {0.37, 0.06, 0.02}, {1.0, 0.1, 0.0}, {0.5, 0.06, 0.05}};
        size_t g;
        double scale = 0.0;
        for (i = 0; i < 2 * len; i++) {
            scale = fabs(one[i]) > scale ? fabs(one[i]) : scale;
        }
        CHECK_MSG(scale > 0.1, "single pass nearly silent (peak %g)", scale);
        for (g = 0; g < sizeof geo / sizeof geo[0]; g++) {
            tonecore_render_config rc = render_cfg(geo[g].chunk, geo[g].context, geo[g].crossfade, 0);
            double err = 0.0;
            CHECK_STATUS(render(&pc, &rc, x, len, y[0], NULL), TONECORE_STATUS_OK);
            for (i = 0; i < 2 * len; i++) {
                err = ref_max_err(err, fabs(y[0][i] - one[i]));
            }
            CHECK_MSG(err <= 1e-6, "chunk %g context %g crossfade %g: max |chunked - one pass| %.3g",
                      geo[g].chunk, geo[g].context, geo[g].crossfade, err);
            printf("   EQ chunk %g s context %g s crossfade %g s: max |chunked - one pass| %.3g\n",
                   geo[g].chunk, geo[g].context, geo[g].crossfade, err);
        }
    }

    check_section("render_chunked: threads 1, 0 (all cores) and 3 give bit-identical output");
    {
        tonecore_render_config rc;
        for (k = 0; k < 3; k++) {
            rc = render_cfg(0.5, 0.06, 0.05, threads[k]);
            CHECK_STATUS(render(&pc, &rc, x, len, y[k], NULL), TONECORE_STATUS_OK);
        }
        CHECK_MSG(memcmp(y[0], y[1], 2 * len * sizeof(double)) == 0, "EQ f64: threads 1 vs 0 differ");
        CHECK_MSG(memcmp(y[0], y[2], 2 * len * sizeof(double)) == 0, "EQ f64: threads 1 vs 3 differ");
    }
    /* A chain that is not time-invariant (level matcher and limiter adapt at every seam), f32. */
    {
        tonecore_pipeline_config full = pipeline_cfg(TONECORE_SAMPLE_FORMAT_F32);
        tonecore_render_config rc;
        double peak = 0.0;
        int differs = 0;
        full.eq_enabled = full.level_enabled = full.limiter_enabled = 1;
        full.eq_gains_db = gains;
        full.eq_gains_len = BANDS;
        full.attack_ms = 50.0;
        full.release_ms = 200.0;
        full.target_lufs = -10.0;
        full.ceiling_db = -3.0;
        for (k = 0; k < 3; k++) {
            rc = render_cfg(1.0, -1.0, 0.05, threads[k]);
            CHECK_STATUS(render(&full, &rc, x, len, y[k], NULL), TONECORE_STATUS_OK);
        }
        CHECK_MSG(memcmp(y[0], y[1], 2 * len * sizeof(double)) == 0,
                  "full chain f32: threads 1 vs 0 differ");
        CHECK_MSG(memcmp(y[0], y[2], 2 * len * sizeof(double)) == 0,
                  "full chain f32: threads 1 vs 3 differ");
        for (i = 0; i < 2 * len; i++) {
            peak = fabs(y[0][i]) > peak ? fabs(y[0][i]) : peak;
            differs = differs || fabs(y[0][i] - one[i]) > 1e-3;
        }
        /* Sanity: the stages did something (the limiter holds -3 dBFS). */
        CHECK_MSG(peak <= pow(10.0, -3.0 / 20.0) + 1e-6 && peak > 0.1, "full chain peak %g", peak);
        CHECK_MSG(differs, "full chain output equals the EQ-only output");
    }
    for (k = 0; k < 3; k++) {
        free(y[k]);
    }
    free(x);
    free(one);
}

static void test_render_progress(void) {
    /* round(0.25031 * 44100) = 11039 (floor would give 11038); 9 * 11039 = 99351 >= 99345 > 9 *
     * 11038, so the chunk count tells the rounding apart: 9 chunks. */
    const double chunk = 0.25031;
    const size_t len = 99345, cs = 11039, chunks = (len + cs - 1) / cs;
    static const uint32_t threads[3] = {1, 0, 3};
    tonecore_pipeline_config pc = pipeline_cfg(TONECORE_SAMPLE_FORMAT_F64);
    double *x = noise(2 * len, 0.5, 41);
    double *y = (double *)ref_alloc(2 * len, sizeof(double));
    size_t k;

    check_section("render_chunked progress: done 1..total strictly increasing, one call at a time");
    CHECK_EQ_SIZE(frames_of(chunk), cs);
    CHECK_EQ_SIZE(chunks, 9);
    for (k = 0; k < 3; k++) {
        tonecore_render_config rc = render_cfg(chunk, 0.01, 0.02, threads[k]);
        progress_log log;
        progress_log s;
        progress_init(&log, 0);
        CHECK_STATUS(render(&pc, &rc, x, len, y, &log), TONECORE_STATUS_OK);
        s = progress_read(&log);
        CHECK_MSG(s.calls == chunks, "threads %u: %lu calls, want %zu", (unsigned)threads[k],
                  s.calls, chunks);
        CHECK_MSG(s.first_total == chunks && s.total_changed == 0,
                  "threads %u: total %zu (changed %lu times), want %zu", (unsigned)threads[k],
                  s.first_total, s.total_changed, chunks);
        CHECK_MSG(s.out_of_order == 0 && s.last_done == chunks,
                  "threads %u: %lu calls out of order, last done %zu", (unsigned)threads[k],
                  s.out_of_order, s.last_done);
        CHECK_MSG(s.overlapping == 0, "threads %u: %lu overlapping calls", (unsigned)threads[k],
                  s.overlapping);
        CHECK_MSG(s.wrong_user_data == 0, "threads %u: wrong user_data", (unsigned)threads[k]);
        progress_destroy(&log);
    }
    /* f32 too, with a chunk that divides the track exactly: 4 chunks. */
    {
        tonecore_pipeline_config pf = pipeline_cfg(TONECORE_SAMPLE_FORMAT_F32);
        tonecore_render_config rc = render_cfg(0.5, 0.06, 0.05, 0);
        progress_log log, s;
        progress_init(&log, 0);
        CHECK_STATUS(render(&pf, &rc, x, 2 * SR, y, &log), TONECORE_STATUS_OK);
        s = progress_read(&log);
        CHECK_MSG(s.calls == 4 && s.first_total == 4 && s.last_done == 4 && s.out_of_order == 0,
                  "f32 2 s / 0.5 s: %lu calls, total %zu, last %zu, %lu out of order", s.calls,
                  s.first_total, s.last_done, s.out_of_order);
        progress_destroy(&log);
    }

    check_section("render_chunked: a progress callback returning non-zero cancels");
    for (k = 0; k < 3; k++) {
        tonecore_render_config rc = render_cfg(chunk, 0.01, 0.02, threads[k]);
        progress_log log, s, later;
        progress_init(&log, 1);
        CHECK_STATUS(render(&pc, &rc, x, len, y, &log), TONECORE_STATUS_CANCELLED);
        s = progress_read(&log);
        sleep_ms(30);
        later = progress_read(&log);
        CHECK_MSG(later.calls == s.calls, "threads %u: %lu progress calls after the render returned",
                  (unsigned)threads[k], later.calls - s.calls);
        CHECK_MSG(s.calls >= 1 && s.calls < chunks, "threads %u: %lu calls before cancelling took "
                  "effect (of %zu chunks)", (unsigned)threads[k], s.calls, chunks);
        if (threads[k] == 1) {
            /* On the calling thread the next chunk never starts. */
            CHECK_MSG(s.calls == 1 && s.after_cancel == 0, "threads 1: %lu calls, %lu after the "
                      "cancel", s.calls, s.after_cancel);
        }
        CHECK_MSG(s.overlapping == 0 && s.out_of_order == 0,
                  "threads %u: overlapping %lu, out of order %lu", (unsigned)threads[k],
                  s.overlapping, s.out_of_order);
        progress_destroy(&log);
    }
    /* Cancelling on the very last chunk still cancels. */
    {
        tonecore_render_config rc = render_cfg(chunk, 0.01, 0.02, 1);
        progress_log log, s;
        progress_init(&log, chunks);
        CHECK_STATUS(render(&pc, &rc, x, len, y, &log), TONECORE_STATUS_CANCELLED);
        s = progress_read(&log);
        CHECK_MSG(s.calls == chunks, "cancel at the last chunk: %lu calls", s.calls);
        progress_destroy(&log);
    }
    /* The same render without cancelling succeeds again afterwards (nothing left over). */
    {
        tonecore_render_config rc = render_cfg(chunk, 0.01, 0.02, 0);
        CHECK_STATUS(render(&pc, &rc, x, len, y, NULL), TONECORE_STATUS_OK);
    }
    free(x);
    free(y);
}

/* The documented default context: EQ kernel (fft/2 + 1 rounded down to odd) + limiter lookahead
 * (+ level window + 3 attack time constants with the level matcher). A chunk one frame shorter
 * than context + crossfade is refused, one frame longer is fine. */
static void default_context_case(int level, size_t context) {
    const size_t cf = frames_of(0.05);
    tonecore_pipeline_config pc = pipeline_cfg(TONECORE_SAMPLE_FORMAT_F64);
    const size_t len = 1000;
    double *x = noise(2 * len, 0.1, 51), *y = (double *)ref_alloc(2 * len, sizeof(double));
    tonecore_render_config rc;

    pc.level_enabled = (uint32_t)level;
    rc = render_cfg((double)(context + cf - 1) / SR, -1.0, 0.05, 1);
    CHECK_MSG(frames_of(rc.chunk_seconds) == context + cf - 1, "chunk frames");
    CHECK_STATUS(render(&pc, &rc, x, len, y, NULL), TONECORE_STATUS_INVALID_CHUNK);
    rc.chunk_seconds = (double)(context + cf + 1) / SR;
    {
        int32_t st = render(&pc, &rc, x, len, y, NULL);
        CHECK_MSG(st == TONECORE_STATUS_OK,
                  "level matcher %s: a chunk of context %zu + crossfade %zu + 1 frames (%.6f s) "
                  "with the default context -> %s (%s); want OK (the header counts the level "
                  "window and attack only when the level matcher is enabled)",
                  level ? "enabled" : "disabled", context, cf, rc.chunk_seconds,
                  check_status_name(st), tonecore_last_error_message());
    }
    free(x);
    free(y);
}

static void test_render_default_context(void) {
    check_section("render_chunked: the default context is the documented settle time");
    /* 2049 taps + round(1.5 ms) = 66 frames of lookahead + the true-peak detector's 32. */
    default_context_case(0, ref_eq_taps(4096) + 66 + TONECORE_TRUE_PEAK_EXTRA_FRAMES);
    /* + 400 ms window (17640) + 3 x 300 ms attack (3 x 13230). */
    default_context_case(1, ref_eq_taps(4096) + 66 + TONECORE_TRUE_PEAK_EXTRA_FRAMES + 17640 +
                                3 * 13230);
}

static void test_render_errors(void) {
    enum { LEN = 1000, N = 2 * LEN, EXTRA = 4 };
    static double din[N], dout[N + EXTRA];
    static float fin[N], fout[N + EXTRA];
    tonecore_pipeline_config pc64 = pipeline_cfg(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_pipeline_config pc32 = pipeline_cfg(TONECORE_SAMPLE_FORMAT_F32);
    tonecore_pipeline_config pc;
    tonecore_render_config rc;
    progress_log log;
    size_t i;

    check_section("render_chunked refusals (output untouched, no progress call)");
    for (i = 0; i < N; i++) {
        din[i] = 0.25 * sin((double)i * 0.01);
        fin[i] = (float)din[i];
    }
    progress_init(&log, 0);
    tonecore_render_config_init(&rc);

    /* The valid calls these are variations of: the whole output written, nothing past it. */
    sentinel_fill(dout, sizeof dout);
    CHECK_STATUS(tonecore_render_chunked_f64(&pc64, &rc, din, N, dout, N + EXTRA, NULL, NULL),
                 TONECORE_STATUS_OK);
    CHECK(sentinel_intact(dout + N, EXTRA * sizeof(double)));
    CHECK(!sentinel_intact(dout + N - 1, sizeof(double)));
    sentinel_fill(fout, sizeof fout);
    CHECK_STATUS(tonecore_render_chunked_f32(&pc32, &rc, fin, N, fout, N + EXTRA, NULL, NULL),
                 TONECORE_STATUS_OK);
    CHECK(sentinel_intact(fout + N, EXTRA * sizeof(float)));
    CHECK(!sentinel_intact(fout, sizeof(float)));

#define EXPECT_R(call, expected, what)                                                          \
    do {                                                                                        \
        sentinel_fill(dout, sizeof dout);                                                       \
        sentinel_fill(fout, sizeof fout);                                                       \
        CHECK_STATUS(call, expected);                                                           \
        CHECK_MSG(sentinel_intact(dout, sizeof dout) && sentinel_intact(fout, sizeof fout),     \
                  "%s: output written", what);                                                  \
        CHECK_MSG(tonecore_last_error_message()[0] != '\0', "%s: no detail message", what);     \
    } while (0)
#define R64(p, r, in, n, out, m) tonecore_render_chunked_f64(p, r, in, n, out, m, on_progress, &log)
#define R32(p, r, in, n, out, m) tonecore_render_chunked_f32(p, r, in, n, out, m, on_progress, &log)

    EXPECT_R(R64(NULL, &rc, din, N, dout, N), TONECORE_STATUS_NULL_POINTER, "f64 NULL pipeline config");
    EXPECT_R(R64(&pc64, NULL, din, N, dout, N), TONECORE_STATUS_NULL_POINTER, "f64 NULL render config");
    EXPECT_R(R64(&pc64, &rc, NULL, N, dout, N), TONECORE_STATUS_NULL_POINTER, "f64 NULL input");
    EXPECT_R(R64(&pc64, &rc, din, N, NULL, N), TONECORE_STATUS_NULL_POINTER, "f64 NULL output");
    EXPECT_R(R32(NULL, &rc, fin, N, fout, N), TONECORE_STATUS_NULL_POINTER, "f32 NULL pipeline config");
    EXPECT_R(R32(&pc32, NULL, fin, N, fout, N), TONECORE_STATUS_NULL_POINTER, "f32 NULL render config");
    EXPECT_R(R32(&pc32, &rc, NULL, N, fout, N), TONECORE_STATUS_NULL_POINTER, "f32 NULL input");
    EXPECT_R(R32(&pc32, &rc, fin, N, NULL, N), TONECORE_STATUS_NULL_POINTER, "f32 NULL output");

    /* struct_size */
    {
        tonecore_render_config bad = rc;
        bad.struct_size = 0;
        EXPECT_R(R64(&pc64, &bad, din, N, dout, N), TONECORE_STATUS_STRUCT_SIZE, "struct_size 0");
        bad.struct_size = sizeof bad - 1;
        EXPECT_R(R64(&pc64, &bad, din, N, dout, N), TONECORE_STATUS_STRUCT_SIZE,
                 "struct_size sizeof - 1");
        bad.struct_size = offsetof(tonecore_render_config, seek_fade_ms);
        EXPECT_R(R32(&pc32, &bad, fin, N, fout, N), TONECORE_STATUS_STRUCT_SIZE,
                 "struct_size without the last field");
        pc = pc64;
        pc.struct_size = sizeof pc - 1;
        EXPECT_R(R64(&pc, &rc, din, N, dout, N), TONECORE_STATUS_STRUCT_SIZE,
                 "pipeline config struct_size sizeof - 1");
    }

    /* Chunk geometry */
#define WITH_R(field, value, fmt64, expected, what)                                             \
    do {                                                                                        \
        tonecore_render_config bad_ = rc;                                                       \
        bad_.field = value;                                                                     \
        if (fmt64) {                                                                            \
            EXPECT_R(R64(&pc64, &bad_, din, N, dout, N), expected, what);                       \
        } else {                                                                                \
            EXPECT_R(R32(&pc32, &bad_, fin, N, fout, N), expected, what);                       \
        }                                                                                       \
    } while (0)
    WITH_R(chunk_seconds, 0.0, 1, TONECORE_STATUS_INVALID_CHUNK, "chunk_seconds 0");
    WITH_R(chunk_seconds, 0.0, 0, TONECORE_STATUS_INVALID_CHUNK, "f32 chunk_seconds 0");
    WITH_R(chunk_seconds, NAN, 1, TONECORE_STATUS_INVALID_CHUNK, "chunk_seconds NaN");
    WITH_R(chunk_seconds, -1.0, 1, TONECORE_STATUS_INVALID_CHUNK, "chunk_seconds -1");
    WITH_R(chunk_seconds, INFINITY, 1, TONECORE_STATUS_INVALID_CHUNK, "chunk_seconds Inf");
    WITH_R(chunk_seconds, 1e-6, 1, TONECORE_STATUS_INVALID_CHUNK, "chunk_seconds 1e-6 (0 frames)");
    WITH_R(crossfade_seconds, -0.01, 1, TONECORE_STATUS_INVALID_CHUNK, "crossfade_seconds -0.01");
    WITH_R(crossfade_seconds, NAN, 1, TONECORE_STATUS_INVALID_CHUNK, "crossfade_seconds NaN");
    WITH_R(crossfade_seconds, INFINITY, 0, TONECORE_STATUS_INVALID_CHUNK, "crossfade_seconds Inf");
    WITH_R(context_seconds, NAN, 1, TONECORE_STATUS_INVALID_CHUNK, "context_seconds NaN");
    WITH_R(context_seconds, INFINITY, 1, TONECORE_STATUS_INVALID_CHUNK, "context_seconds Inf");
    WITH_R(curve, 3, 1, TONECORE_STATUS_INVALID_ARGUMENT, "curve 3");
    WITH_R(curve, -1, 0, TONECORE_STATUS_INVALID_ARGUMENT, "curve -1");
    {
        tonecore_render_config bad = render_cfg(1.0, 0.9, 0.2, 1);
        EXPECT_R(R64(&pc64, &bad, din, N, dout, N), TONECORE_STATUS_INVALID_CHUNK,
                 "chunk 1 s < context 0.9 s + crossfade 0.2 s");
        bad = render_cfg(0.1, 0.06, 0.05, 0);
        EXPECT_R(R32(&pc32, &bad, fin, N, fout, N), TONECORE_STATUS_INVALID_CHUNK,
                 "chunk 0.1 s < context 0.06 s + crossfade 0.05 s");
        bad = render_cfg(0.09, -1.0, 0.05, 0);
        EXPECT_R(R64(&pc64, &bad, din, N, dout, N), TONECORE_STATUS_INVALID_CHUNK,
                 "chunk 0.09 s < default context (2147 frames) + crossfade 0.05 s");
    }
#undef WITH_R

    /* Sample format */
    EXPECT_R(tonecore_render_chunked_f64(&pc32, &rc, din, N, dout, N, on_progress, &log),
             TONECORE_STATUS_WRONG_FORMAT, "f64 call with an F32 pipeline config");
    EXPECT_R(tonecore_render_chunked_f32(&pc64, &rc, fin, N, fout, N, on_progress, &log),
             TONECORE_STATUS_WRONG_FORMAT, "f32 call with an F64 pipeline config");

    /* Lengths and channels */
    EXPECT_R(R64(&pc64, &rc, din, N, dout, N - 1), TONECORE_STATUS_BUFFER_TOO_SMALL,
             "output one sample too small");
    EXPECT_R(R64(&pc64, &rc, din, N, dout, N - 2), TONECORE_STATUS_BUFFER_TOO_SMALL,
             "output one frame too small");
    EXPECT_R(R32(&pc32, &rc, fin, N, fout, N - 2), TONECORE_STATUS_BUFFER_TOO_SMALL,
             "f32 output one frame too small");
    EXPECT_R(R64(&pc64, &rc, din, N - 1, dout, N), TONECORE_STATUS_INVALID_CHANNELS,
             "input_len odd for 2 channels");
    EXPECT_R(R32(&pc32, &rc, fin, N - 1, fout, N), TONECORE_STATUS_INVALID_CHANNELS,
             "f32 input_len odd for 2 channels");
    pc = pc64;
    pc.channels = 3;
    EXPECT_R(R64(&pc, &rc, din, N - 1, dout, N), TONECORE_STATUS_INVALID_CHANNELS,
             "input_len 1999 for 3 channels");
    pc.channels = 0;
    EXPECT_R(R64(&pc, &rc, din, N, dout, N), TONECORE_STATUS_INVALID_CHANNELS, "channels 0");
    pc.channels = 65;
    EXPECT_R(R64(&pc, &rc, din, 65 * 10, dout, N), TONECORE_STATUS_INVALID_CHANNELS, "channels 65");

    /* The pipeline config's own errors */
    pc = pc64;
    pc.fft_size = 17;
    EXPECT_R(R64(&pc, &rc, din, N, dout, N), TONECORE_STATUS_INVALID_FFT_SIZE, "fft_size 17");
    pc = pc64;
    pc.sample_rate = 0;
    EXPECT_R(R64(&pc, &rc, din, N, dout, N), TONECORE_STATUS_INVALID_SAMPLE_RATE, "sample_rate 0");
    pc = pc64;
    pc.ceiling_db = 1.0;
    EXPECT_R(R64(&pc, &rc, din, N, dout, N), TONECORE_STATUS_INVALID_CEILING, "ceiling_db +1");
    pc = pc64;
    pc.sample_format = 2;
    EXPECT_R(R64(&pc, &rc, din, N, dout, N), TONECORE_STATUS_INVALID_ARGUMENT, "sample_format 2");
#undef R64
#undef R32
#undef EXPECT_R

    /* Overlapping buffers: input unchanged. */
    {
        static double buf[2 * N], copy[2 * N];
        for (i = 0; i < 2 * N; i++) {
            buf[i] = 0.001 * (double)i;
        }
        memcpy(copy, buf, sizeof buf);
        CHECK_STATUS(tonecore_render_chunked_f64(&pc64, &rc, buf, N, buf + N / 2, N, on_progress,
                                                 &log),
                     TONECORE_STATUS_BUFFERS_OVERLAP);
        CHECK_STATUS(tonecore_render_chunked_f64(&pc64, &rc, buf + N / 2, N, buf, N, on_progress,
                                                 &log),
                     TONECORE_STATUS_BUFFERS_OVERLAP);
        CHECK_STATUS(tonecore_render_chunked_f64(&pc64, &rc, buf, N, buf, N, on_progress, &log),
                     TONECORE_STATUS_BUFFERS_OVERLAP);
        CHECK(memcmp(buf, copy, sizeof buf) == 0);
    }
    {
        progress_log s = progress_read(&log);
        CHECK_MSG(s.calls == 0, "refused renders called progress %lu times", s.calls);
    }
    progress_destroy(&log);
}

int main(void) {
    test_crossfade_reference();
    test_crossfade_errors();
    test_render_config_init();
    test_render_ramp();
    test_render_eq();
    test_render_progress();
    test_render_default_context();
    test_render_errors();
    return check_finish();
}
