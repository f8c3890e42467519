/*
 * test_stft_errors.c — every refused tonecore_stft call returns its documented status, sets a
 * detail message, and writes nothing: output buffers (pre-filled with a sentinel) and
 * out-parameters are untouched.
 */
#include <float.h>

#include "ref.h"

#define N 64
#define HOP 16
#define BINS (N / 2 + 1)
#define LEN 256                                  /* samples per channel */
#define FRAMES (1 + (LEN - N) / HOP)             /* 13 */
#define SPEC (FRAMES * BINS)                     /* complex values per channel */
#define OUT_LEN ((FRAMES - 1) * HOP + N)         /* inverse samples per channel */

/* A recognisable pointer value for tonecore_stft ** out-parameters (never dereferenced). */
static char stft_sentinel_storage;
#define STFT_SENTINEL ((tonecore_stft *)(void *)&stft_sentinel_storage)

static tonecore_stft_config base_config(int format) {
    tonecore_stft_config c;
    tonecore_stft_config_init(&c);
    c.fft_size = N;
    c.hop = HOP;
    c.sample_format = format;
    c.threads = 1;
    return c;
}

static tonecore_stft *make(int format, uint32_t threads, size_t hop, int window) {
    tonecore_stft_config c = base_config(format);
    tonecore_stft *s = NULL;
    c.threads = threads;
    c.hop = hop;
    c.window = window;
    CHECK_STATUS(tonecore_stft_new(&c, &s), TONECORE_STATUS_OK);
    return s;
}

/* tonecore_stft_new(config) fails with `expected`, leaves *stft_out alone and sets a message. */
static void expect_new_fails(const tonecore_stft_config *config, int32_t expected,
                             const char *what) {
    tonecore_stft *s = STFT_SENTINEL;
    int32_t st = tonecore_stft_new(config, &s);
    CHECK_MSG(st == expected, "%s: got %s, want %s (%s)", what, check_status_name(st),
              check_status_name(expected), tonecore_last_error_message());
    CHECK_MSG(s == STFT_SENTINEL, "%s: stft_out was written", what);
    CHECK_MSG(tonecore_last_error_message()[0] != '\0', "%s: no detail message", what);
    if (st == TONECORE_STATUS_OK && s != STFT_SENTINEL) {
        tonecore_stft_free(s);
    }
}

static void test_new_errors(void) {
    tonecore_stft_config c;
    tonecore_stft *s = STFT_SENTINEL;
    double custom[N + 1];
    size_t i;
    static const size_t bad_fft[] = {0, 2, 14, 15, 17, 1025, 4097, (1u << 24) + 2, 1u << 25,
                                     SIZE_MAX - 1, SIZE_MAX};
    static const int32_t bad_window[] = {-1, 5, 100, INT32_MIN};
    static const int32_t bad_format[] = {-1, 2, 1000};

    check_section("tonecore_stft_new argument errors");
    c = base_config(TONECORE_SAMPLE_FORMAT_F32);
    CHECK_STATUS(tonecore_stft_new(NULL, &s), TONECORE_STATUS_NULL_POINTER);
    CHECK(s == STFT_SENTINEL);
    CHECK_STATUS(tonecore_stft_new(&c, NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_stft_new(NULL, NULL), TONECORE_STATUS_NULL_POINTER);

    c = base_config(TONECORE_SAMPLE_FORMAT_F32);
    c.struct_size = 0;
    expect_new_fails(&c, TONECORE_STATUS_STRUCT_SIZE, "struct_size 0");
    c.struct_size = sizeof(size_t);
    expect_new_fails(&c, TONECORE_STATUS_STRUCT_SIZE, "struct_size sizeof(size_t)");
    c.struct_size = offsetof(tonecore_stft_config, custom_window_len);
    expect_new_fails(&c, TONECORE_STATUS_STRUCT_SIZE, "struct_size without the last field");
    c.struct_size = sizeof(tonecore_stft_config) - 1;
    expect_new_fails(&c, TONECORE_STATUS_STRUCT_SIZE, "struct_size sizeof - 1");

    for (i = 0; i < sizeof bad_fft / sizeof bad_fft[0]; i++) {
        char what[64];
        c = base_config(TONECORE_SAMPLE_FORMAT_F64);
        c.fft_size = bad_fft[i];
        c.hop = 1; /* valid for every size, so only fft_size is wrong */
        snprintf(what, sizeof what, "fft_size %zu", bad_fft[i]);
        expect_new_fails(&c, TONECORE_STATUS_INVALID_FFT_SIZE, what);
    }
    /* The smallest valid size, and a non-power-of-two one, are accepted. */
    c = base_config(TONECORE_SAMPLE_FORMAT_F64);
    c.fft_size = 16;
    c.hop = 16;
    s = NULL;
    CHECK_STATUS(tonecore_stft_new(&c, &s), TONECORE_STATUS_OK);
    tonecore_stft_free(s);
    c.fft_size = 18;
    c.hop = 5;
    s = NULL;
    CHECK_STATUS(tonecore_stft_new(&c, &s), TONECORE_STATUS_OK);
    tonecore_stft_free(s);

    c = base_config(TONECORE_SAMPLE_FORMAT_F32);
    c.hop = 0;
    expect_new_fails(&c, TONECORE_STATUS_INVALID_HOP, "hop 0");
    c.hop = N + 1;
    expect_new_fails(&c, TONECORE_STATUS_INVALID_HOP, "hop fft_size + 1");
    c.hop = SIZE_MAX;
    expect_new_fails(&c, TONECORE_STATUS_INVALID_HOP, "hop SIZE_MAX");

    for (i = 0; i < sizeof bad_window / sizeof bad_window[0]; i++) {
        c = base_config(TONECORE_SAMPLE_FORMAT_F32);
        c.window = bad_window[i];
        expect_new_fails(&c, TONECORE_STATUS_UNKNOWN_WINDOW, "unknown window");
    }
    for (i = 0; i < sizeof bad_format / sizeof bad_format[0]; i++) {
        c = base_config(TONECORE_SAMPLE_FORMAT_F32);
        c.sample_format = bad_format[i];
        expect_new_fails(&c, TONECORE_STATUS_INVALID_ARGUMENT, "bad sample_format");
    }
    c = base_config(TONECORE_SAMPLE_FORMAT_F32);
    c.threads = 1025;
    expect_new_fails(&c, TONECORE_STATUS_INVALID_ARGUMENT, "threads 1025");
    c.threads = UINT32_MAX;
    expect_new_fails(&c, TONECORE_STATUS_INVALID_ARGUMENT, "threads UINT32_MAX");

    /* Custom windows: wrong length, non-finite values. */
    for (i = 0; i < N + 1; i++) {
        custom[i] = 1.0;
    }
    c = base_config(TONECORE_SAMPLE_FORMAT_F64);
    c.custom_window = custom;
    c.custom_window_len = N - 1;
    expect_new_fails(&c, TONECORE_STATUS_INVALID_LENGTH, "custom window length fft_size - 1");
    c.custom_window_len = N + 1;
    expect_new_fails(&c, TONECORE_STATUS_INVALID_LENGTH, "custom window length fft_size + 1");
    c.custom_window_len = 0;
    expect_new_fails(&c, TONECORE_STATUS_INVALID_LENGTH, "custom window length 0");
    c.custom_window_len = SIZE_MAX;
    expect_new_fails(&c, TONECORE_STATUS_INVALID_LENGTH, "custom window length SIZE_MAX");
    c.custom_window_len = N;
    custom[7] = NAN;
    expect_new_fails(&c, TONECORE_STATUS_NON_FINITE, "custom window with NaN (f64)");
    c.sample_format = TONECORE_SAMPLE_FORMAT_F32;
    expect_new_fails(&c, TONECORE_STATUS_NON_FINITE, "custom window with NaN (f32)");
    custom[7] = 1.0;
    custom[N - 1] = INFINITY;
    expect_new_fails(&c, TONECORE_STATUS_NON_FINITE, "custom window with +Inf");
    custom[N - 1] = 1.0;
    /* The same window, now valid, is accepted. */
    s = NULL;
    CHECK_STATUS(tonecore_stft_new(&c, &s), TONECORE_STATUS_OK);
    CHECK(s != NULL);
    tonecore_stft_free(s);
}

/* Input and buffers shared by the processing-error checks. */
static double x64[2 * LEN];
static float x32[2 * LEN];
static tonecore_complex_f64 out64[2 * SPEC + 8];
static tonecore_complex_f32 out32[2 * SPEC + 8];

#define RESET_OUTPUTS()                                                                    \
    do {                                                                                   \
        sentinel_fill(out64, sizeof out64);                                                \
        sentinel_fill(out32, sizeof out32);                                                \
        frames = sentinel_size();                                                          \
    } while (0)

/* Status, a detail message, untouched output buffers and frames_out. */
#define EXPECT_UNTOUCHED(call, expected, what)                                             \
    do {                                                                                   \
        RESET_OUTPUTS();                                                                   \
        CHECK_STATUS(call, expected);                                                      \
        CHECK_MSG(tonecore_last_error_message()[0] != '\0', "%s: no detail message", what); \
        CHECK_MSG(sentinel_intact(out64, sizeof out64) && sentinel_intact(out32, sizeof out32), \
                  "%s: output written", what);                                             \
        CHECK_MSG(frames == sentinel_size(), "%s: frames_out written", what);              \
    } while (0)

static void forward_errors_for(tonecore_stft *s32, tonecore_stft *s64, const char *label) {
    size_t frames;
    size_t i;
    static const size_t nan_positions[] = {0, 100, 2 * LEN - 1};

    check_section(label);
    /* NULL pointers. */
    EXPECT_UNTOUCHED(tonecore_stft_forward_f32(NULL, x32, LEN, 1, out32, SPEC, &frames),
                     TONECORE_STATUS_NULL_POINTER, "f32 NULL stft");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f64(NULL, x64, LEN, 1, out64, SPEC, &frames),
                     TONECORE_STATUS_NULL_POINTER, "f64 NULL stft");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f32(s32, NULL, LEN, 1, out32, SPEC, &frames),
                     TONECORE_STATUS_NULL_POINTER, "f32 NULL input");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f64(s64, NULL, LEN, 1, out64, SPEC, &frames),
                     TONECORE_STATUS_NULL_POINTER, "f64 NULL input");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f32(s32, NULL, 0, 1, out32, SPEC, &frames),
                     TONECORE_STATUS_NULL_POINTER, "f32 NULL input of length 0");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f32(s32, x32, LEN, 1, NULL, SPEC, &frames),
                     TONECORE_STATUS_NULL_POINTER, "f32 NULL output");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f64(s64, x64, LEN, 1, NULL, SPEC, &frames),
                     TONECORE_STATUS_NULL_POINTER, "f64 NULL output");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f32(s32, x32, LEN, 1, out32, SPEC, NULL),
                     TONECORE_STATUS_NULL_POINTER, "f32 NULL frames_out");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f64(s64, x64, LEN, 1, out64, SPEC, NULL),
                     TONECORE_STATUS_NULL_POINTER, "f64 NULL frames_out");

    /* Shapes and lengths. */
    EXPECT_UNTOUCHED(tonecore_stft_forward_f32(s32, x32, LEN, 0, out32, SPEC, &frames),
                     TONECORE_STATUS_INVALID_ARGUMENT, "f32 0 channels");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f64(s64, x64, LEN, 0, out64, SPEC, &frames),
                     TONECORE_STATUS_INVALID_ARGUMENT, "f64 0 channels");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f32(s32, x32, 2 * LEN - 1, 2, out32, 2 * SPEC, &frames),
                     TONECORE_STATUS_INVALID_LENGTH, "f32 input not a multiple of channels");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f64(s64, x64, 2 * LEN - 1, 2, out64, 2 * SPEC, &frames),
                     TONECORE_STATUS_INVALID_LENGTH, "f64 input not a multiple of channels");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f64(s64, x64, 3 * 100 + 1, 3, out64, 2 * SPEC, &frames),
                     TONECORE_STATUS_INVALID_LENGTH, "f64 input not a multiple of 3 channels");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f32(s32, x32, SIZE_MAX, 1, out32, SPEC, &frames),
                     TONECORE_STATUS_INVALID_LENGTH, "f32 input_len SIZE_MAX");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f64(s64, x64, SIZE_MAX, 1, out64, SPEC, &frames),
                     TONECORE_STATUS_INVALID_LENGTH, "f64 input_len SIZE_MAX");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f64(s64, x64, LEN, 1, out64, SIZE_MAX, &frames),
                     TONECORE_STATUS_INVALID_LENGTH, "f64 output_len SIZE_MAX");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f32(s32, x32, LEN, 1, out32, SPEC - 1, &frames),
                     TONECORE_STATUS_BUFFER_TOO_SMALL, "f32 output one value too small");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f64(s64, x64, LEN, 1, out64, SPEC - 1, &frames),
                     TONECORE_STATUS_BUFFER_TOO_SMALL, "f64 output one value too small");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f64(s64, x64, 2 * LEN, 2, out64, 2 * SPEC - 1, &frames),
                     TONECORE_STATUS_BUFFER_TOO_SMALL, "f64 2 channels, output one value too small");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f32(s32, x32, LEN, 1, out32, 0, &frames),
                     TONECORE_STATUS_BUFFER_TOO_SMALL, "f32 output_len 0");

    /* Non-finite input anywhere, in both formats. */
    for (i = 0; i < sizeof nan_positions / sizeof nan_positions[0]; i++) {
        size_t p = nan_positions[i];
        double keep64 = x64[p];
        float keep32 = x32[p];
        x64[p] = NAN;
        x32[p] = NAN;
        EXPECT_UNTOUCHED(tonecore_stft_forward_f32(s32, x32, 2 * LEN, 2, out32, 2 * SPEC, &frames),
                         TONECORE_STATUS_NON_FINITE, "f32 NaN input");
        EXPECT_UNTOUCHED(tonecore_stft_forward_f64(s64, x64, 2 * LEN, 2, out64, 2 * SPEC, &frames),
                         TONECORE_STATUS_NON_FINITE, "f64 NaN input");
        x64[p] = INFINITY;
        x32[p] = INFINITY;
        EXPECT_UNTOUCHED(tonecore_stft_forward_f32(s32, x32, 2 * LEN, 2, out32, 2 * SPEC, &frames),
                         TONECORE_STATUS_NON_FINITE, "f32 +Inf input");
        EXPECT_UNTOUCHED(tonecore_stft_forward_f64(s64, x64, 2 * LEN, 2, out64, 2 * SPEC, &frames),
                         TONECORE_STATUS_NON_FINITE, "f64 +Inf input");
        x64[p] = -INFINITY;
        x32[p] = -INFINITY;
        EXPECT_UNTOUCHED(tonecore_stft_forward_f64(s64, x64, 2 * LEN, 2, out64, 2 * SPEC, &frames),
                         TONECORE_STATUS_NON_FINITE, "f64 -Inf input");
        /* Finite but beyond +-2^20 (+120 dBFS): the f32 transform of FLT_MAX overflows. */
        x64[p] = 1.5e6;
        x32[p] = FLT_MAX;
        EXPECT_UNTOUCHED(tonecore_stft_forward_f32(s32, x32, 2 * LEN, 2, out32, 2 * SPEC, &frames),
                         TONECORE_STATUS_NON_FINITE, "f32 FLT_MAX input");
        EXPECT_UNTOUCHED(tonecore_stft_forward_f64(s64, x64, 2 * LEN, 2, out64, 2 * SPEC, &frames),
                         TONECORE_STATUS_NON_FINITE, "f64 1.5e6 input");
        x64[p] = keep64;
        x32[p] = keep32;
    }

    /* The wrong sample format for the object. */
    EXPECT_UNTOUCHED(tonecore_stft_forward_f64(s32, x64, LEN, 1, out64, SPEC, &frames),
                     TONECORE_STATUS_WRONG_FORMAT, "f64 call on an f32 object");
    EXPECT_UNTOUCHED(tonecore_stft_forward_f32(s64, x32, LEN, 1, out32, SPEC, &frames),
                     TONECORE_STATUS_WRONG_FORMAT, "f32 call on an f64 object");

    /* Input shorter than one frame: OK, 0 frames, nothing else written. */
    RESET_OUTPUTS();
    CHECK_STATUS(tonecore_stft_forward_f32(s32, x32, N - 1, 1, out32, SPEC, &frames),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(frames, 0);
    CHECK(sentinel_intact(out32, sizeof out32));
    RESET_OUTPUTS();
    CHECK_STATUS(tonecore_stft_forward_f64(s64, x64, 2 * (N - 1), 2, out64, 0, &frames),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(frames, 0);
    CHECK(sentinel_intact(out64, sizeof out64));
    RESET_OUTPUTS();
    CHECK_STATUS(tonecore_stft_forward_f64(s64, x64, 0, 1, out64, 0, &frames), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(frames, 0);
    CHECK(sentinel_intact(out64, sizeof out64));

    /* The objects still work after all of that. */
    RESET_OUTPUTS();
    CHECK_STATUS(tonecore_stft_forward_f64(s64, x64, 2 * LEN, 2, out64, 2 * SPEC, &frames),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(frames, FRAMES);
    CHECK_STR_EQ(tonecore_last_error_message(), "");
    RESET_OUTPUTS();
    CHECK_STATUS(tonecore_stft_forward_f32(s32, x32, 2 * LEN, 2, out32, 2 * SPEC, &frames),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(frames, FRAMES);
}

/* Overlapping input and output share one allocation; nothing in it may change. */
static void test_overlap(tonecore_stft *s32, tonecore_stft *s64) {
    size_t doubles = LEN + 2 * SPEC + 8;
    double *buf = (double *)ref_alloc(doubles, sizeof(double));
    double *copy = (double *)ref_alloc(doubles, sizeof(double));
    float *fbuf = (float *)ref_alloc(2 * doubles, sizeof(float));
    float *fcopy = (float *)ref_alloc(2 * doubles, sizeof(float));
    tonecore_complex_f64 *spec64 = (tonecore_complex_f64 *)ref_alloc(SPEC, sizeof *spec64);
    size_t frames, len_out, i;

    check_section("overlapping buffers");
    memcpy(buf, x64, LEN * sizeof(double));
    for (i = LEN; i < doubles; i++) {
        buf[i] = 0.25;
    }
    memcpy(copy, buf, doubles * sizeof(double));
    for (i = 0; i < 2 * doubles; i++) {
        fbuf[i] = i < LEN ? x32[i] : 0.25f;
    }
    memcpy(fcopy, fbuf, 2 * doubles * sizeof(float));

    /* Output starting inside the input. */
    frames = sentinel_size();
    CHECK_STATUS(tonecore_stft_forward_f64(s64, buf, LEN, 1, (tonecore_complex_f64 *)(void *)(buf + LEN - 2),
                                           SPEC, &frames),
                 TONECORE_STATUS_BUFFERS_OVERLAP);
    CHECK(memcmp(buf, copy, doubles * sizeof(double)) == 0);
    CHECK(frames == sentinel_size());
    /* Output ending inside the input. */
    CHECK_STATUS(tonecore_stft_forward_f64(s64, buf + 2 * SPEC, LEN, 1, (tonecore_complex_f64 *)(void *)(buf + 2),
                                           SPEC, &frames),
                 TONECORE_STATUS_BUFFERS_OVERLAP);
    CHECK(memcmp(buf, copy, doubles * sizeof(double)) == 0);
    /* The very same pointer. */
    CHECK_STATUS(tonecore_stft_forward_f64(s64, buf, LEN, 1, (tonecore_complex_f64 *)(void *)buf, SPEC,
                                           &frames),
                 TONECORE_STATUS_BUFFERS_OVERLAP);
    CHECK(memcmp(buf, copy, doubles * sizeof(double)) == 0);
    CHECK(frames == sentinel_size());
    /* f32: output starting on the input's last sample. */
    CHECK_STATUS(tonecore_stft_forward_f32(s32, fbuf, LEN, 1, (tonecore_complex_f32 *)(void *)(fbuf + LEN - 1),
                                           SPEC, &frames),
                 TONECORE_STATUS_BUFFERS_OVERLAP);
    CHECK(memcmp(fbuf, fcopy, 2 * doubles * sizeof(float)) == 0);
    CHECK(frames == sentinel_size());
    /* Adjacent (touching, not overlapping) buffers are fine. */
    CHECK_STATUS(tonecore_stft_forward_f64(s64, buf, LEN, 1, (tonecore_complex_f64 *)(void *)(buf + LEN),
                                           SPEC, &frames),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(frames, FRAMES);

    /* Inverse: spectrum and output overlapping. */
    CHECK_STATUS(tonecore_stft_forward_f64(s64, x64, LEN, 1, spec64, SPEC, &frames), TONECORE_STATUS_OK);
    memcpy(buf, spec64, SPEC * sizeof *spec64);
    memcpy(copy, buf, doubles * sizeof(double));
    len_out = sentinel_size();
    CHECK_STATUS(tonecore_stft_inverse_f64(s64, (const tonecore_complex_f64 *)(void *)buf, SPEC, 1,
                                           buf + 2 * SPEC - 1, OUT_LEN, &len_out),
                 TONECORE_STATUS_BUFFERS_OVERLAP);
    CHECK(memcmp(buf, copy, doubles * sizeof(double)) == 0);
    CHECK(len_out == sentinel_size());
    free(buf);
    free(copy);
    free(fbuf);
    free(fcopy);
    free(spec64);
}

static double y64[2 * OUT_LEN + 8];
static float y32[2 * OUT_LEN + 8];

#define RESET_INV()                                                                        \
    do {                                                                                   \
        sentinel_fill(y64, sizeof y64);                                                    \
        sentinel_fill(y32, sizeof y32);                                                    \
        len_out = sentinel_size();                                                         \
    } while (0)

#define EXPECT_INV_UNTOUCHED(call, expected, what)                                         \
    do {                                                                                   \
        RESET_INV();                                                                       \
        CHECK_STATUS(call, expected);                                                      \
        CHECK_MSG(tonecore_last_error_message()[0] != '\0', "%s: no detail message", what); \
        CHECK_MSG(sentinel_intact(y64, sizeof y64) && sentinel_intact(y32, sizeof y32),    \
                  "%s: output written", what);                                             \
        CHECK_MSG(len_out == sentinel_size(), "%s: len_out written", what);                \
    } while (0)

static void inverse_errors_for(tonecore_stft *s32, tonecore_stft *s64, const char *label) {
    tonecore_complex_f64 *spec64 = (tonecore_complex_f64 *)ref_alloc(2 * SPEC, sizeof *spec64);
    tonecore_complex_f32 *spec32 = (tonecore_complex_f32 *)ref_alloc(2 * SPEC, sizeof *spec32);
    size_t frames = 0, len_out;

    check_section(label);
    CHECK_STATUS(tonecore_stft_forward_f64(s64, x64, 2 * LEN, 2, spec64, 2 * SPEC, &frames),
                 TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_stft_forward_f32(s32, x32, 2 * LEN, 2, spec32, 2 * SPEC, &frames),
                 TONECORE_STATUS_OK);

    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f64(NULL, spec64, SPEC, 1, y64, OUT_LEN, &len_out),
                         TONECORE_STATUS_NULL_POINTER, "inverse NULL stft");
    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f64(s64, NULL, SPEC, 1, y64, OUT_LEN, &len_out),
                         TONECORE_STATUS_NULL_POINTER, "inverse NULL spectrum");
    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f32(s32, spec32, SPEC, 1, NULL, OUT_LEN, &len_out),
                         TONECORE_STATUS_NULL_POINTER, "inverse NULL output");
    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f32(s32, spec32, SPEC, 1, y32, OUT_LEN, NULL),
                         TONECORE_STATUS_NULL_POINTER, "inverse NULL len_out");
    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f64(s64, spec64, SPEC, 0, y64, OUT_LEN, &len_out),
                         TONECORE_STATUS_INVALID_ARGUMENT, "inverse 0 channels");
    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f64(s64, spec64, SPEC - 1, 1, y64, OUT_LEN, &len_out),
                         TONECORE_STATUS_INVALID_LENGTH, "inverse spectrum not whole frames");
    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f64(s64, spec64, 2 * SPEC - BINS, 2, y64, 2 * OUT_LEN, &len_out),
                         TONECORE_STATUS_INVALID_LENGTH, "inverse spectrum not whole channels");
    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f64(s64, spec64, SIZE_MAX, 1, y64, OUT_LEN, &len_out),
                         TONECORE_STATUS_INVALID_LENGTH, "inverse spectrum_len SIZE_MAX");
    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f64(s64, spec64, SPEC, 1, y64, OUT_LEN - 1, &len_out),
                         TONECORE_STATUS_BUFFER_TOO_SMALL, "inverse output one sample too small");
    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f32(s32, spec32, 2 * SPEC, 2, y32, 2 * OUT_LEN - 1, &len_out),
                         TONECORE_STATUS_BUFFER_TOO_SMALL, "inverse f32 2 channels, output too small");
    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f32(s64, spec32, SPEC, 1, y32, OUT_LEN, &len_out),
                         TONECORE_STATUS_WRONG_FORMAT, "inverse f32 call on an f64 object");
    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f64(s32, spec64, SPEC, 1, y64, OUT_LEN, &len_out),
                         TONECORE_STATUS_WRONG_FORMAT, "inverse f64 call on an f32 object");
    spec64[SPEC + 5].im = NAN;
    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f64(s64, spec64, 2 * SPEC, 2, y64, 2 * OUT_LEN, &len_out),
                         TONECORE_STATUS_NON_FINITE, "inverse NaN in the spectrum");
    spec32[3].re = INFINITY;
    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f32(s32, spec32, SPEC, 1, y32, OUT_LEN, &len_out),
                         TONECORE_STATUS_NON_FINITE, "inverse +Inf in the spectrum");

    /* 0 frames: OK, length 0, nothing written. */
    RESET_INV();
    CHECK_STATUS(tonecore_stft_inverse_f64(s64, spec64, 0, 1, y64, 0, &len_out), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(len_out, 0);
    CHECK(sentinel_intact(y64, sizeof y64));
    free(spec64);
    free(spec32);
}

/* Periodic Hann at hop == fft_size has zeros that nothing overlaps: forward works, inverse is
 * refused; Hamming at the same hop has no zeros and inverts exactly. */
static void test_not_invertible(void) {
    tonecore_stft *hann64 = make(TONECORE_SAMPLE_FORMAT_F64, 1, N, TONECORE_WINDOW_HANN);
    tonecore_stft *hann32 = make(TONECORE_SAMPLE_FORMAT_F32, 0, N, TONECORE_WINDOW_HANN);
    tonecore_stft *hamm64 = make(TONECORE_SAMPLE_FORMAT_F64, 1, N, TONECORE_WINDOW_HAMMING);
    size_t frames = 0, len_out, i;
    size_t nfr = LEN / N, out_len = LEN;
    tonecore_complex_f64 *spec64 = (tonecore_complex_f64 *)ref_alloc(nfr * BINS, sizeof *spec64);
    tonecore_complex_f32 *spec32 = (tonecore_complex_f32 *)ref_alloc(nfr * BINS, sizeof *spec32);
    double *w = (double *)ref_alloc(N, sizeof(double));
    double *re = (double *)ref_alloc(nfr * BINS, sizeof(double));
    double *im = (double *)ref_alloc(nfr * BINS, sizeof(double));
    double err = 0.0;

    check_section("not invertible: Hann with hop == fft_size, an all-zero custom window");
    if (hann64 == NULL || hann32 == NULL || hamm64 == NULL) {
        goto done;
    }
    CHECK_STATUS(tonecore_stft_forward_f64(hann64, x64, LEN, 1, spec64, nfr * BINS, &frames),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(frames, nfr);
    ref_window_fill(TONECORE_WINDOW_HANN, w, N);
    ref_stft(x64, LEN, w, N, N, 0, nfr, re, im);
    CHECK_LE(ref_rel_err_f64(spec64, re, im, nfr * BINS), 1e-12);
    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f64(hann64, spec64, nfr * BINS, 1, y64, out_len, &len_out),
                         TONECORE_STATUS_NOT_INVERTIBLE, "inverse Hann hop == fft_size (f64)");
    CHECK_STATUS(tonecore_stft_forward_f32(hann32, x32, LEN, 1, spec32, nfr * BINS, &frames),
                 TONECORE_STATUS_OK);
    EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f32(hann32, spec32, nfr * BINS, 1, y32, out_len, &len_out),
                         TONECORE_STATUS_NOT_INVERTIBLE, "inverse Hann hop == fft_size (f32)");

    CHECK_STATUS(tonecore_stft_forward_f64(hamm64, x64, LEN, 1, spec64, nfr * BINS, &frames),
                 TONECORE_STATUS_OK);
    RESET_INV();
    CHECK_STATUS(tonecore_stft_inverse_f64(hamm64, spec64, nfr * BINS, 1, y64, out_len, &len_out),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(len_out, out_len);
    for (i = 0; i < out_len; i++) {
        err = ref_max_err(err, fabs(y64[i] - x64[i]));
    }
    CHECK_LE(err, 1e-12);

    /* A custom window of zeros is accepted, transforms to zeros, and cannot be inverted. */
    {
        tonecore_stft_config c = base_config(TONECORE_SAMPLE_FORMAT_F64);
        tonecore_stft *z = NULL;
        for (i = 0; i < N; i++) {
            w[i] = 0.0;
        }
        c.hop = N;
        c.custom_window = w;
        c.custom_window_len = N;
        CHECK_STATUS(tonecore_stft_new(&c, &z), TONECORE_STATUS_OK);
        if (z != NULL) {
            size_t nz = 0;
            CHECK_STATUS(tonecore_stft_forward_f64(z, x64, LEN, 1, spec64, nfr * BINS, &frames),
                         TONECORE_STATUS_OK);
            for (i = 0; i < nfr * BINS; i++) {
                nz += spec64[i].re != 0.0 || spec64[i].im != 0.0;
            }
            CHECK_EQ_SIZE(nz, 0);
            EXPECT_INV_UNTOUCHED(tonecore_stft_inverse_f64(z, spec64, nfr * BINS, 1, y64, out_len, &len_out),
                                 TONECORE_STATUS_NOT_INVERTIBLE, "inverse with an all-zero custom window");
            tonecore_stft_free(z);
        }
    }
done:
    tonecore_stft_free(hann64);
    tonecore_stft_free(hann32);
    tonecore_stft_free(hamm64);
    free(spec64);
    free(spec32);
    free(w);
    free(re);
    free(im);
}

int main(void) {
    ref_rng rng = ref_rng_new(77);
    tonecore_stft *s32, *s64;
    size_t i;

    for (i = 0; i < 2 * LEN; i++) {
        x64[i] = ref_uniform(&rng);
        x32[i] = (float)x64[i];
    }
    test_new_errors();

    /* The caller-thread path (threads = 1) and the parallel path (threads = 0) check separately. */
    s32 = make(TONECORE_SAMPLE_FORMAT_F32, 1, HOP, TONECORE_WINDOW_HANN);
    s64 = make(TONECORE_SAMPLE_FORMAT_F64, 1, HOP, TONECORE_WINDOW_HANN);
    if (s32 && s64) {
        forward_errors_for(s32, s64, "forward argument errors, threads=1");
        inverse_errors_for(s32, s64, "inverse argument errors, threads=1");
        test_overlap(s32, s64);
    }
    tonecore_stft_free(s32);
    tonecore_stft_free(s64);
    s32 = make(TONECORE_SAMPLE_FORMAT_F32, 0, HOP, TONECORE_WINDOW_HANN);
    s64 = make(TONECORE_SAMPLE_FORMAT_F64, 0, HOP, TONECORE_WINDOW_HANN);
    if (s32 && s64) {
        forward_errors_for(s32, s64, "forward argument errors, threads=0");
        inverse_errors_for(s32, s64, "inverse argument errors, threads=0");
    }
    tonecore_stft_free(s32);
    tonecore_stft_free(s64);

    test_not_invertible();
    return check_finish();
}
