/*
 * test_stft.c — tonecore_stft results: config defaults, queries, forward transforms against a
 * naive double-precision DFT (f32 and f64, power-of-two and non-power-of-two sizes, planar
 * multichannel layout, centred framing, custom windows), identical results on one thread and on
 * several, and inverse transforms that reconstruct their input.
 */
#include "ref.h"

#define TOL_F64 1e-12
#define TOL_F32 1e-5

/* Creates an STFT object (NULL after a failed check). */
static tonecore_stft *make_stft(size_t n, size_t hop, int window, int format, int center,
                                uint32_t threads, const double *custom) {
    tonecore_stft_config c;
    tonecore_stft *s = NULL;
    int32_t st;
    if (tonecore_stft_config_init(&c) != TONECORE_STATUS_OK) {
        CHECK_MSG(0, "tonecore_stft_config_init failed");
        return NULL;
    }
    c.fft_size = n;
    c.hop = hop;
    c.window = window;
    c.sample_format = format;
    c.center = (uint32_t)center;
    c.threads = threads;
    c.custom_window = custom;
    c.custom_window_len = custom ? n : 0;
    st = tonecore_stft_new(&c, &s);
    CHECK_MSG(st == TONECORE_STATUS_OK && s != NULL,
              "tonecore_stft_new(n=%zu hop=%zu window=%d format=%d center=%d threads=%u) -> %s (%s)",
              n, hop, window, format, center, (unsigned)threads, check_status_name(st),
              tonecore_last_error_message());
    return st == TONECORE_STATUS_OK ? s : NULL;
}

/* `count` uniform random samples in [-1, 1). */
static double *random_signal(size_t count, uint64_t seed) {
    ref_rng rng = ref_rng_new(seed);
    double *x = (double *)ref_alloc(count, sizeof(double));
    size_t i;
    for (i = 0; i < count; i++) {
        x[i] = ref_uniform(&rng);
    }
    return x;
}

static void test_config_defaults(void) {
    tonecore_stft_config c;
    tonecore_stft *s = NULL;
    size_t bins = 0;

    check_section("tonecore_stft_config_init defaults");
    sentinel_fill(&c, sizeof c);
    CHECK_STATUS(tonecore_stft_config_init(&c), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(c.struct_size, sizeof(tonecore_stft_config));
    CHECK_EQ_SIZE(c.fft_size, 4096);
    CHECK_EQ_SIZE(c.hop, 1024);
    CHECK_EQ_INT(c.window, TONECORE_WINDOW_HANN);
    CHECK_EQ_INT(c.sample_format, TONECORE_SAMPLE_FORMAT_F32);
    CHECK_EQ_INT(c.center, 0);
    CHECK_EQ_INT(c.threads, 0);
    CHECK(c.custom_window == NULL);
    CHECK_EQ_SIZE(c.custom_window_len, 0);

    check_section("tonecore_stft_new / _free");
    CHECK_STATUS(tonecore_stft_new(&c, &s), TONECORE_STATUS_OK);
    CHECK(s != NULL);
    CHECK_STATUS(tonecore_stft_bins(s, &bins), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(bins, 2049);
    tonecore_stft_free(s);
    tonecore_stft_free(NULL); /* a no-op */
    CHECK(1);                 /* reached: freeing NULL did not crash */
}

static void test_queries(void) {
    tonecore_stft *s, *sc;
    size_t v;
    size_t lens[] = {0, 1, 63, 64, 65, 79, 80, 81, 1000, 4096};
    size_t i;

    check_section("bins / frame_count / signal_len");
    s = make_stft(64, 16, TONECORE_WINDOW_HANN, TONECORE_SAMPLE_FORMAT_F64, 0, 1, NULL);
    sc = make_stft(64, 16, TONECORE_WINDOW_HANN, TONECORE_SAMPLE_FORMAT_F32, 1, 1, NULL);
    if (s == NULL || sc == NULL) {
        tonecore_stft_free(s);
        tonecore_stft_free(sc);
        return;
    }
    CHECK_STATUS(tonecore_stft_bins(s, &v), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(v, 33);
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        v = sentinel_size();
        CHECK_STATUS(tonecore_stft_frame_count(s, lens[i], &v), TONECORE_STATUS_OK);
        CHECK_MSG(v == ref_frame_count(lens[i], 64, 16, 0), "len %zu: %zu frames, want %zu",
                  lens[i], v, ref_frame_count(lens[i], 64, 16, 0));
        v = sentinel_size();
        CHECK_STATUS(tonecore_stft_frame_count(sc, lens[i], &v), TONECORE_STATUS_OK);
        CHECK_MSG(v == ref_frame_count(lens[i], 64, 16, 1), "centred len %zu: %zu frames, want %zu",
                  lens[i], v, ref_frame_count(lens[i], 64, 16, 1));
    }
    /* Literal values, independent of ref_frame_count. */
    CHECK_STATUS(tonecore_stft_frame_count(s, 1000, &v), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(v, 59); /* 1 + (1000 - 64) / 16 */
    CHECK_STATUS(tonecore_stft_frame_count(sc, 1000, &v), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(v, 63); /* 1 + 1000 / 16 */
    CHECK_STATUS(tonecore_stft_frame_count(s, SIZE_MAX, &v), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(v, 1 + (SIZE_MAX - 64) / 16);

    CHECK_STATUS(tonecore_stft_signal_len(s, 0, &v), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(v, 0);
    CHECK_STATUS(tonecore_stft_signal_len(s, 1, &v), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(v, 64);
    CHECK_STATUS(tonecore_stft_signal_len(s, 59, &v), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(v, 58 * 16 + 64);
    CHECK_STATUS(tonecore_stft_signal_len(sc, 63, &v), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(v, 62 * 16 + 32); /* (frames-1)*hop + N - N/2 */
    CHECK_STATUS(tonecore_stft_signal_len(sc, 0, &v), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(v, 0);
    v = sentinel_size();
    CHECK_STATUS(tonecore_stft_signal_len(s, SIZE_MAX, &v), TONECORE_STATUS_INVALID_LENGTH);
    CHECK(v == sentinel_size()); /* out-param untouched on error */
    CHECK_STATUS(tonecore_stft_signal_len(s, SIZE_MAX / 16 + 2, &v), TONECORE_STATUS_INVALID_LENGTH);
    CHECK(v == sentinel_size());

    tonecore_stft_free(s);
    tonecore_stft_free(sc);
}

/*
 * Forward STFT of a random planar signal (`channels` x `len`) with both sample formats against
 * the naive DFT, per channel. `custom` (n values) replaces the named window when not NULL.
 */
static void forward_case(size_t n, size_t hop, int window, int center, size_t channels,
                         size_t len, uint32_t threads, const double *custom, uint64_t seed) {
    size_t bins = n / 2 + 1;
    size_t frames = ref_frame_count(len, n, hop, center);
    size_t per_channel = frames * bins;
    size_t total = channels * per_channel;
    double *x = random_signal(channels * len, seed);
    double *xr = (double *)ref_alloc(channels * len, sizeof(double)); /* f32 input as double */
    float *xf = (float *)ref_alloc(channels * len, sizeof(float));
    double *w = (double *)ref_alloc(n, sizeof(double));
    double *re = (double *)ref_alloc(total, sizeof(double));
    double *im = (double *)ref_alloc(total, sizeof(double));
    double *re32 = (double *)ref_alloc(total, sizeof(double));
    double *im32 = (double *)ref_alloc(total, sizeof(double));
    /* One extra complex value past the end must stay untouched. */
    tonecore_complex_f64 *out64 = (tonecore_complex_f64 *)ref_alloc(total + 1, sizeof *out64);
    tonecore_complex_f32 *out32 = (tonecore_complex_f32 *)ref_alloc(total + 1, sizeof *out32);
    tonecore_stft *s64, *s32;
    size_t ch, i, fr;
    char label[160];

    snprintf(label, sizeof label, "n=%zu hop=%zu window=%d%s center=%d channels=%zu len=%zu threads=%u",
             n, hop, window, custom ? "(custom)" : "", center, channels, len, (unsigned)threads);
    CHECK_MSG(frames > 0, "%s: a test case needs frames", label);

    for (i = 0; i < channels * len; i++) {
        xf[i] = (float)x[i];
        xr[i] = (double)xf[i];
    }
    if (custom) {
        memcpy(w, custom, n * sizeof(double));
    } else {
        ref_window_fill(window, w, n);
    }
    for (ch = 0; ch < channels; ch++) {
        ref_stft(x + ch * len, len, w, n, hop, center, frames, re + ch * per_channel,
                 im + ch * per_channel);
        ref_stft(xr + ch * len, len, w, n, hop, center, frames, re32 + ch * per_channel,
                 im32 + ch * per_channel);
    }

    s64 = make_stft(n, hop, window, TONECORE_SAMPLE_FORMAT_F64, center, threads, custom);
    s32 = make_stft(n, hop, window, TONECORE_SAMPLE_FORMAT_F32, center, threads, custom);
    if (s64 != NULL) {
        fr = sentinel_size();
        CHECK_STATUS(tonecore_stft_frame_count(s64, len, &fr), TONECORE_STATUS_OK);
        CHECK_MSG(fr == frames, "%s: frame_count %zu, want %zu", label, fr, frames);
        sentinel_fill(out64, (total + 1) * sizeof *out64);
        fr = sentinel_size();
        CHECK_STATUS(tonecore_stft_forward_f64(s64, x, channels * len, channels, out64, total, &fr),
                     TONECORE_STATUS_OK);
        CHECK_MSG(fr == frames, "%s f64: frames_out %zu, want %zu", label, fr, frames);
        for (ch = 0; ch < channels; ch++) {
            double err = ref_rel_err_f64(out64 + ch * per_channel, re + ch * per_channel,
                                         im + ch * per_channel, per_channel);
            CHECK_MSG(err <= TOL_F64, "%s f64 channel %zu: relative error %.3g", label, ch, err);
        }
        CHECK_MSG(sentinel_intact(out64 + total, sizeof *out64), "%s f64: wrote past the end",
                  label);
    }
    if (s32 != NULL) {
        sentinel_fill(out32, (total + 1) * sizeof *out32);
        fr = sentinel_size();
        CHECK_STATUS(tonecore_stft_forward_f32(s32, xf, channels * len, channels, out32, total, &fr),
                     TONECORE_STATUS_OK);
        CHECK_MSG(fr == frames, "%s f32: frames_out %zu, want %zu", label, fr, frames);
        for (ch = 0; ch < channels; ch++) {
            double err = ref_rel_err_f32(out32 + ch * per_channel, re32 + ch * per_channel,
                                         im32 + ch * per_channel, per_channel);
            CHECK_MSG(err <= TOL_F32, "%s f32 channel %zu: relative error %.3g", label, ch, err);
        }
        CHECK_MSG(sentinel_intact(out32 + total, sizeof *out32), "%s f32: wrote past the end",
                  label);
    }
    tonecore_stft_free(s64);
    tonecore_stft_free(s32);
    free(x);
    free(xr);
    free(xf);
    free(w);
    free(re);
    free(im);
    free(re32);
    free(im32);
    free(out64);
    free(out32);
}

static void test_forward(void) {
    double *custom;
    size_t i;

    check_section("forward vs naive DFT, fft_size 64");
    forward_case(64, 16, TONECORE_WINDOW_HANN, 0, 1, 64 + 5 * 16 + 7, 1, NULL, 1);
    forward_case(64, 16, TONECORE_WINDOW_HANN, 0, 1, 64 + 5 * 16 + 7, 0, NULL, 2);
    forward_case(64, 24, TONECORE_WINDOW_BLACKMAN, 0, 1, 300, 1, NULL, 3);
    forward_case(64, 64, TONECORE_WINDOW_HAMMING, 0, 1, 256, 1, NULL, 4);

    check_section("forward vs naive DFT, fft_size 2062 (not a power of two)");
    forward_case(2062, 515, TONECORE_WINDOW_HANN, 0, 1, 2062 + 3 * 515, 1, NULL, 5);
    forward_case(2062, 1031, TONECORE_WINDOW_SQRT_HANN, 0, 1, 2062 + 2 * 1031 + 100, 0, NULL, 6);

    check_section("forward multichannel planar (channel, frame, bin)");
    forward_case(64, 16, TONECORE_WINDOW_HANN, 0, 2, 400, 1, NULL, 7);
    forward_case(64, 16, TONECORE_WINDOW_HANN_SYM, 0, 2, 400, 0, NULL, 8);
    forward_case(2062, 515, TONECORE_WINDOW_HANN, 0, 2, 2062 + 2 * 515, 0, NULL, 9);
    forward_case(64, 16, TONECORE_WINDOW_HANN, 0, 3, 200, 3, NULL, 10);

    check_section("forward centred framing (zero-padded by fft_size/2)");
    forward_case(64, 16, TONECORE_WINDOW_HANN, 1, 1, 1000, 1, NULL, 11);
    forward_case(64, 16, TONECORE_WINDOW_HANN, 1, 2, 333, 0, NULL, 12);
    forward_case(64, 16, TONECORE_WINDOW_HANN, 1, 1, 10, 1, NULL, 13); /* shorter than a frame */
    forward_case(2062, 515, TONECORE_WINDOW_HANN, 1, 1, 3000, 0, NULL, 14);

    check_section("forward with a custom window");
    custom = random_signal(64, 15);
    for (i = 0; i < 64; i++) {
        custom[i] = 0.75 + 0.25 * custom[i]; /* positive, nothing like a named window */
    }
    forward_case(64, 16, TONECORE_WINDOW_HANN, 0, 2, 500, 1, custom, 16);
    forward_case(64, 32, TONECORE_WINDOW_HANN, 1, 1, 500, 0, custom, 17);
    free(custom);
}

/* The custom window is copied at _new: changing the caller's array afterwards changes nothing. */
static void test_custom_window_copied(void) {
    size_t n = 64, hop = 16, len = 256, i, frames = 0;
    size_t bins = n / 2 + 1, fcount = ref_frame_count(len, n, hop, 0);
    double *w = random_signal(n, 21);
    double *w_orig = (double *)ref_alloc(n, sizeof(double));
    double *x = random_signal(len, 22);
    double *re = (double *)ref_alloc(fcount * bins, sizeof(double));
    double *im = (double *)ref_alloc(fcount * bins, sizeof(double));
    tonecore_complex_f64 *out = (tonecore_complex_f64 *)ref_alloc(fcount * bins, sizeof *out);
    tonecore_stft *s;

    check_section("custom window is copied at _new");
    memcpy(w_orig, w, n * sizeof(double));
    s = make_stft(n, hop, TONECORE_WINDOW_HANN, TONECORE_SAMPLE_FORMAT_F64, 0, 1, w);
    for (i = 0; i < n; i++) {
        w[i] = 1.0; /* the caller reuses its array */
    }
    if (s != NULL) {
        ref_stft(x, len, w_orig, n, hop, 0, fcount, re, im);
        CHECK_STATUS(tonecore_stft_forward_f64(s, x, len, 1, out, fcount * bins, &frames),
                     TONECORE_STATUS_OK);
        CHECK_EQ_SIZE(frames, fcount);
        CHECK_LE(ref_rel_err_f64(out, re, im, fcount * bins), TOL_F64);
        /* The inverse uses the copied window too: it reconstructs the input (a window of ones
         * would not, since synthesis multiplies by w and divides by the overlap-added w^2). */
        {
            size_t out_len = 0, j;
            double *y = (double *)ref_alloc(len, sizeof(double));
            double err = 0.0;
            CHECK_STATUS(tonecore_stft_inverse_f64(s, out, fcount * bins, 1, y, len, &out_len),
                         TONECORE_STATUS_OK);
            CHECK_EQ_SIZE(out_len, (fcount - 1) * hop + n);
            for (j = n; j + n < out_len; j++) {
                err = ref_max_err(err, fabs(y[j] - x[j]));
            }
            CHECK_LE(err, TOL_F64);
            free(y);
        }
        tonecore_stft_free(s);
    }
    free(w);
    free(w_orig);
    free(x);
    free(re);
    free(im);
    free(out);
}

/* threads = 1 (caller), 0 (all cores) and 3 (a pool) give bit-identical spectra. */
static void test_thread_counts_identical(void) {
    static const uint32_t counts[] = {0, 2, 3};
    size_t n = 64, hop = 16, channels = 2, len = 4096;
    size_t total = channels * ref_frame_count(len, n, hop, 0) * (n / 2 + 1);
    double *x = random_signal(channels * len, 31);
    float *xf = (float *)ref_alloc(channels * len, sizeof(float));
    tonecore_complex_f64 *a64 = (tonecore_complex_f64 *)ref_alloc(total, sizeof *a64);
    tonecore_complex_f64 *b64 = (tonecore_complex_f64 *)ref_alloc(total, sizeof *b64);
    tonecore_complex_f32 *a32 = (tonecore_complex_f32 *)ref_alloc(total, sizeof *a32);
    tonecore_complex_f32 *b32 = (tonecore_complex_f32 *)ref_alloc(total, sizeof *b32);
    tonecore_stft *s;
    size_t i, fa = 0, fb = 0;

    check_section("threads=1 vs threads=0/2/3: identical forward results");
    for (i = 0; i < channels * len; i++) {
        xf[i] = (float)x[i];
    }
    s = make_stft(n, hop, TONECORE_WINDOW_HANN, TONECORE_SAMPLE_FORMAT_F64, 0, 1, NULL);
    if (s) {
        CHECK_STATUS(tonecore_stft_forward_f64(s, x, channels * len, channels, a64, total, &fa),
                     TONECORE_STATUS_OK);
        tonecore_stft_free(s);
    }
    s = make_stft(n, hop, TONECORE_WINDOW_HANN, TONECORE_SAMPLE_FORMAT_F32, 0, 1, NULL);
    if (s) {
        CHECK_STATUS(tonecore_stft_forward_f32(s, xf, channels * len, channels, a32, total, &fa),
                     TONECORE_STATUS_OK);
        tonecore_stft_free(s);
    }
    for (i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        s = make_stft(n, hop, TONECORE_WINDOW_HANN, TONECORE_SAMPLE_FORMAT_F64, 0, counts[i], NULL);
        if (s) {
            sentinel_fill(b64, total * sizeof *b64);
            CHECK_STATUS(tonecore_stft_forward_f64(s, x, channels * len, channels, b64, total, &fb),
                         TONECORE_STATUS_OK);
            CHECK_EQ_SIZE(fb, fa);
            CHECK_MSG(memcmp(a64, b64, total * sizeof *a64) == 0,
                      "f64 threads=%u differs from threads=1", (unsigned)counts[i]);
            tonecore_stft_free(s);
        }
        s = make_stft(n, hop, TONECORE_WINDOW_HANN, TONECORE_SAMPLE_FORMAT_F32, 0, counts[i], NULL);
        if (s) {
            sentinel_fill(b32, total * sizeof *b32);
            CHECK_STATUS(tonecore_stft_forward_f32(s, xf, channels * len, channels, b32, total, &fb),
                         TONECORE_STATUS_OK);
            CHECK_MSG(memcmp(a32, b32, total * sizeof *a32) == 0,
                      "f32 threads=%u differs from threads=1", (unsigned)counts[i]);
            tonecore_stft_free(s);
        }
    }
    free(x);
    free(xf);
    free(a64);
    free(b64);
    free(a32);
    free(b32);
}

/*
 * Forward then inverse reconstructs the input: uncentred, everywhere but the first and last
 * fft_size samples; centred, everywhere the inverse produces output. Both formats; the inverse
 * on threads = 0 must equal the one on threads = 1 (same per-sample arithmetic).
 */
static void roundtrip_case(size_t n, size_t hop, int window, int center, size_t channels,
                           size_t len, uint32_t threads, uint64_t seed) {
    size_t bins = n / 2 + 1;
    size_t frames = ref_frame_count(len, n, hop, center);
    size_t total = channels * frames * bins;
    /* Centred: the leading n/2 of padding is trimmed; what is left covers the whole input. */
    size_t out_len = frames == 0 ? 0 : (frames - 1) * hop + n - (center ? n / 2 : 0);
    size_t lo = center ? 0 : n, hi = center ? (len < out_len ? len : out_len) : out_len - n;
    double *x = random_signal(channels * len, seed);
    float *xf = (float *)ref_alloc(channels * len, sizeof(float));
    tonecore_complex_f64 *spec64 = (tonecore_complex_f64 *)ref_alloc(total, sizeof *spec64);
    tonecore_complex_f32 *spec32 = (tonecore_complex_f32 *)ref_alloc(total, sizeof *spec32);
    double *y64 = (double *)ref_alloc(channels * out_len + 1, sizeof(double));
    double *y64b = (double *)ref_alloc(channels * out_len + 1, sizeof(double));
    float *y32 = (float *)ref_alloc(channels * out_len + 1, sizeof(float));
    tonecore_stft *s64, *s32, *s64b;
    size_t ch, i, fr = 0, got_len;
    double err64 = 0.0, err32 = 0.0;
    char label[128];

    snprintf(label, sizeof label, "n=%zu hop=%zu window=%d center=%d channels=%zu len=%zu",
             n, hop, window, center, channels, len);
    CHECK_MSG(hi > lo + hop, "%s: the case leaves no interior to compare", label);
    for (i = 0; i < channels * len; i++) {
        xf[i] = (float)x[i];
    }
    s64 = make_stft(n, hop, window, TONECORE_SAMPLE_FORMAT_F64, center, threads, NULL);
    s64b = make_stft(n, hop, window, TONECORE_SAMPLE_FORMAT_F64, center, threads == 1 ? 0 : 1, NULL);
    s32 = make_stft(n, hop, window, TONECORE_SAMPLE_FORMAT_F32, center, threads, NULL);
    if (s64 != NULL && s64b != NULL) {
        CHECK_STATUS(tonecore_stft_forward_f64(s64, x, channels * len, channels, spec64, total, &fr),
                     TONECORE_STATUS_OK);
        got_len = sentinel_size();
        CHECK_STATUS(tonecore_stft_signal_len(s64, frames, &got_len), TONECORE_STATUS_OK);
        CHECK_MSG(got_len == out_len, "%s: signal_len %zu, want %zu", label, got_len, out_len);
        sentinel_fill(y64, (channels * out_len + 1) * sizeof(double));
        got_len = sentinel_size();
        CHECK_STATUS(tonecore_stft_inverse_f64(s64, spec64, total, channels, y64, channels * out_len,
                                               &got_len),
                     TONECORE_STATUS_OK);
        CHECK_MSG(got_len == out_len, "%s f64: len_out %zu, want %zu", label, got_len, out_len);
        CHECK_MSG(sentinel_intact(y64 + channels * out_len, sizeof(double)),
                  "%s f64: inverse wrote past the end", label);
        for (ch = 0; ch < channels; ch++) {
            for (i = lo; i < hi; i++) {
                err64 = ref_max_err(err64, fabs(y64[ch * out_len + i] - x[ch * len + i]));
            }
        }
        CHECK_MSG(err64 <= TOL_F64, "%s f64: reconstruction error %.3g", label, err64);

        CHECK_STATUS(tonecore_stft_inverse_f64(s64b, spec64, total, channels, y64b,
                                               channels * out_len, &got_len),
                     TONECORE_STATUS_OK);
        CHECK_MSG(memcmp(y64, y64b, channels * out_len * sizeof(double)) == 0,
                  "%s f64: inverse differs between threads=1 and threads=0", label);
    }
    if (s32 != NULL) {
        CHECK_STATUS(tonecore_stft_forward_f32(s32, xf, channels * len, channels, spec32, total, &fr),
                     TONECORE_STATUS_OK);
        sentinel_fill(y32, (channels * out_len + 1) * sizeof(float));
        got_len = sentinel_size();
        CHECK_STATUS(tonecore_stft_inverse_f32(s32, spec32, total, channels, y32, channels * out_len,
                                               &got_len),
                     TONECORE_STATUS_OK);
        CHECK_MSG(got_len == out_len, "%s f32: len_out %zu, want %zu", label, got_len, out_len);
        CHECK_MSG(sentinel_intact(y32 + channels * out_len, sizeof(float)),
                  "%s f32: inverse wrote past the end", label);
        for (ch = 0; ch < channels; ch++) {
            for (i = lo; i < hi; i++) {
                err32 = ref_max_err(err32, fabs((double)y32[ch * out_len + i] - (double)xf[ch * len + i]));
            }
        }
        CHECK_MSG(err32 <= TOL_F32, "%s f32: reconstruction error %.3g", label, err32);
    }
    tonecore_stft_free(s64);
    tonecore_stft_free(s64b);
    tonecore_stft_free(s32);
    free(x);
    free(xf);
    free(spec64);
    free(spec32);
    free(y64);
    free(y64b);
    free(y32);
}

static void test_inverse(void) {
    check_section("inverse reconstructs the input");
    roundtrip_case(256, 64, TONECORE_WINDOW_HANN, 0, 1, 4096, 1, 41);       /* Hann 75% */
    roundtrip_case(256, 128, TONECORE_WINDOW_HANN, 0, 1, 4096 + 77, 1, 42); /* Hann 50% */
    roundtrip_case(256, 128, TONECORE_WINDOW_SQRT_HANN, 0, 1, 4096, 1, 43); /* sqrt Hann 50% */
    roundtrip_case(256, 64, TONECORE_WINDOW_HANN, 0, 2, 3000, 0, 44);       /* planar, all cores */
    roundtrip_case(2062, 515, TONECORE_WINDOW_HANN, 0, 2, 2062 * 5, 0, 45); /* not a power of 2 */
    roundtrip_case(256, 128, TONECORE_WINDOW_SQRT_HANN, 0, 2, 5000, 3, 46); /* a pool of 3 */
    roundtrip_case(256, 64, TONECORE_WINDOW_HANN, 1, 2, 4000, 1, 47);       /* centred */
    roundtrip_case(256, 128, TONECORE_WINDOW_SQRT_HANN, 1, 1, 4000, 0, 48); /* centred */
}

int main(void) {
    test_config_defaults();
    test_queries();
    test_forward();
    test_custom_window_copied();
    test_thread_counts_identical();
    test_inverse();
    return check_finish();
}
