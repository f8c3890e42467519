/*
 * test_auralis.c — the tonecore_auralis_* compatibility functions.
 *
 * Against double references of the host's formulas written here: the step gain curve
 * (10^(g/20) per mapped bin, 1.0 for unmapped bins); the circular frame EQ (naive full DFT,
 * bins k and N-k times curve[k], real part of the inverse; zero-padded shorter frames, stereo,
 * f32 and f64); the windowed full FFT and the bins-major STFT (naive DFT of each windowed
 * frame, default symmetric Hann and a custom window, odd N, hop > N, a signal shorter than one
 * frame, thread-count independence); the equal-gain crossfade over linspace(0, pi/2, L) and
 * the chunk seam; the gain smoother's closed-form ramp and Python clamp (NaN -> 10); the level
 * matcher (target smoothing, float ramp, peak normalisation, pass-through copy); the linear
 * safety limit (NaN leaves the block alone). The adaptive EQ: config defaults, a zero target
 * and zero state give the input back except sample 0, identical output for 1, 3 and all
 * threads, gains updated in place. Every refusal: status, untouched outputs (sentinels) and
 * untouched state structs.
 */
#include "ref.h"

#define FMT(f32) ((f32) ? "f32" : "f64")

/* ---------------------------------------------------------------------------------------------
 * References
 * ------------------------------------------------------------------------------------------- */

/* Naive full complex DFT of n values (sign -1 forward, +1 inverse without 1/n). */
static void ref_dft(const double *re_in, const double *im_in, size_t n, int sign, double *re,
                    double *im) {
    size_t k, t;
    for (k = 0; k < n; k++) {
        double sr = 0.0, si = 0.0;
        for (t = 0; t < n; t++) {
            double ph = sign * 2.0 * M_PI * (double)((k * t) % n) / (double)n;
            sr += re_in[t] * cos(ph) - im_in[t] * sin(ph);
            si += re_in[t] * sin(ph) + im_in[t] * cos(ph);
        }
        re[k] = sr;
        im[k] = si;
    }
}

/* The host's frame EQ of one zero-padded channel x (n values) with curve (n/2 + 1 values). */
static void ref_frame_eq(const double *x, const double *curve, size_t n, double *y) {
    double *zero = (double *)ref_alloc(n, sizeof(double));
    double *re = (double *)ref_alloc(n, sizeof(double));
    double *im = (double *)ref_alloc(n, sizeof(double));
    double *ore = (double *)ref_alloc(n, sizeof(double));
    double *oim = (double *)ref_alloc(n, sizeof(double));
    size_t k;
    ref_dft(x, zero, n, -1, re, im);
    for (k = 0; k <= n / 2; k++) {
        re[k] *= curve[k];
        im[k] *= curve[k];
        if (k > 0 && k < n / 2) {
            re[n - k] *= curve[k];
            im[n - k] *= curve[k];
        }
    }
    ref_dft(re, im, n, 1, ore, oim);
    for (k = 0; k < n; k++) {
        y[k] = ore[k] / (double)n;
    }
    free(zero);
    free(re);
    free(im);
    free(ore);
    free(oim);
}

/* numpy.linspace(0, pi/2, len)[i]. */
static double ref_phase(size_t i, size_t len) {
    if (len <= 1) {
        return 0.0;
    }
    if (i + 1 == len) {
        return M_PI / 2.0;
    }
    return (double)i * ((M_PI / 2.0) / (double)(len - 1));
}

static double *noise(size_t count, double amp, uint64_t seed) {
    ref_rng rng = ref_rng_new(seed);
    double *x = (double *)ref_alloc(count, sizeof(double));
    size_t i;
    for (i = 0; i < count; i++) {
        x[i] = amp * ref_uniform(&rng);
    }
    return x;
}

/* ---------------------------------------------------------------------------------------------
 * Gain curve and frame EQ
 * ------------------------------------------------------------------------------------------- */

static void test_gain_curve(void) {
    const double gains[3] = {6.0, -12.0, 0.5};
    const int64_t map[7] = {0, 1, 2, -1, 3, 2, 99};
    double curve[8], want;
    size_t k;
    check_section("gain curve");
    sentinel_fill(curve, sizeof curve);
    CHECK_STATUS(tonecore_auralis_gain_curve(gains, 3, map, 7, curve, 8), TONECORE_STATUS_OK);
    for (k = 0; k < 7; k++) {
        want = (map[k] >= 0 && map[k] < 3) ? pow(10.0, gains[map[k]] / 20.0) : 1.0;
        CHECK_MSG(fabs(curve[k] - want) <= 1e-15 * want, "bin %zu: %.17g vs %.17g", k, curve[k],
                  want);
    }
    CHECK(sentinel_intact(curve + 7, sizeof(double)));
    sentinel_fill(curve, sizeof curve);
    CHECK_STATUS(tonecore_auralis_gain_curve(gains, 3, map, 7, curve, 6),
                 TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(tonecore_auralis_gain_curve(NULL, 3, map, 7, curve, 8),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_auralis_gain_curve(gains, 3, map, 7, (double *)gains, 8),
                 TONECORE_STATUS_BUFFERS_OVERLAP);
    CHECK(sentinel_intact(curve, sizeof curve));
}

static void frame_eq_case(int f32, size_t n, size_t frames, size_t channels) {
    size_t bins = n / 2 + 1, k, c, i;
    double gains[5] = {4.0, -8.0, 1.0, 12.0, -3.0};
    int64_t *map = (int64_t *)ref_alloc(bins, sizeof(int64_t));
    double *curve = (double *)ref_alloc(bins, sizeof(double));
    double *x = noise(frames * channels, 1.0, 77 + n + channels);
    double *y = (double *)ref_alloc(frames * channels + 3, sizeof(double));
    float *xf = (float *)ref_alloc(frames * channels, sizeof(float));
    float *yf = (float *)ref_alloc(frames * channels + 3, sizeof(float));
    double *ch = (double *)ref_alloc(n, sizeof(double));
    double *want = (double *)ref_alloc(n, sizeof(double));
    double err = 0.0, scale = 0.0;
    int32_t st;
    for (k = 0; k < bins; k++) {
        map[k] = (int64_t)(k % 7) - 1; /* -1 and 5 have no gain */
        curve[k] = (map[k] >= 0 && map[k] < 5) ? pow(10.0, gains[map[k]] / 20.0) : 1.0;
    }
    for (i = 0; i < frames * channels; i++) {
        xf[i] = (float)x[i];
        if (f32) {
            x[i] = (double)xf[i];
        }
    }
    sentinel_fill(y, (frames * channels + 3) * sizeof(double));
    sentinel_fill(yf, (frames * channels + 3) * sizeof(float));
    if (f32) {
        st = tonecore_auralis_apply_eq_frame_f32(xf, frames * channels, channels, gains, 5, map,
                                                 bins, n, yf, frames * channels + 3);
    } else {
        st = tonecore_auralis_apply_eq_frame_f64(x, frames * channels, channels, gains, 5, map,
                                                 bins, n, y, frames * channels + 3);
    }
    CHECK_STATUS(st, TONECORE_STATUS_OK);
    for (c = 0; c < channels; c++) {
        for (i = 0; i < n; i++) {
            ch[i] = i < frames ? x[i * channels + c] : 0.0;
        }
        ref_frame_eq(ch, curve, n, want);
        for (i = 0; i < frames; i++) {
            double got = f32 ? (double)yf[i * channels + c] : y[i * channels + c];
            err = ref_max_err(err, fabs(got - want[i]));
            scale = fabs(want[i]) > scale ? fabs(want[i]) : scale;
        }
    }
    CHECK_MSG(err <= (f32 ? 1e-6 * scale : 1e-12), "%s n %zu frames %zu ch %zu: error %.3g",
              FMT(f32), n, frames, channels, err);
    CHECK(f32 ? sentinel_intact(yf + frames * channels, 3 * sizeof(float))
              : sentinel_intact(y + frames * channels, 3 * sizeof(double)));
    free(map);
    free(curve);
    free(x);
    free(y);
    free(xf);
    free(yf);
    free(ch);
    free(want);
}

static void test_frame_eq(void) {
    double x[40], y[40], gains[2] = {0.0, 0.0};
    int64_t map[17] = {0};
    check_section("frame EQ");
    frame_eq_case(0, 32, 32, 1);
    frame_eq_case(0, 32, 20, 2);
    frame_eq_case(1, 64, 50, 2);
    frame_eq_case(1, 16, 3, 3);
    memset(x, 0, sizeof x);
    sentinel_fill(y, sizeof y);
    CHECK_STATUS(tonecore_auralis_apply_eq_frame_f64(x, 33, 1, gains, 2, map, 17, 32, y, 40),
                 TONECORE_STATUS_INVALID_LENGTH);
    CHECK(strstr(tonecore_last_error_message(), "exceeds fft_size") != NULL);
    CHECK_STATUS(tonecore_auralis_apply_eq_frame_f64(x, 10, 1, gains, 2, map, 17, 31, y, 40),
                 TONECORE_STATUS_INVALID_FFT_SIZE);
    CHECK_STATUS(tonecore_auralis_apply_eq_frame_f64(x, 10, 1, gains, 2, map, 16, 32, y, 40),
                 TONECORE_STATUS_INVALID_LENGTH);
    CHECK_STATUS(tonecore_auralis_apply_eq_frame_f64(x, 10, 0, gains, 2, map, 17, 32, y, 40),
                 TONECORE_STATUS_INVALID_CHANNELS);
    CHECK_STATUS(tonecore_auralis_apply_eq_frame_f64(x, 11, 2, gains, 2, map, 17, 32, y, 40),
                 TONECORE_STATUS_INVALID_CHANNELS);
    /* More than 64 channels, even over an empty frame (2^62 channels looped once). */
    CHECK_STATUS(tonecore_auralis_apply_eq_frame_f64(x, 0, 65, gains, 2, map, 17, 32, y, 40),
                 TONECORE_STATUS_INVALID_CHANNELS);
    CHECK_STATUS(tonecore_auralis_apply_eq_frame_f64(x, 0, (size_t)1 << 62, gains, 2, map, 17, 32,
                                                     y, 40),
                 TONECORE_STATUS_INVALID_CHANNELS);
    CHECK_STATUS(tonecore_auralis_apply_eq_frame_f64(x, 10, 1, gains, 2, map, 17, 32, y, 9),
                 TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(tonecore_auralis_apply_eq_frame_f64(x, 10, 1, gains, 2, map, 17, 32, x + 5, 10),
                 TONECORE_STATUS_BUFFERS_OVERLAP);
    CHECK_STATUS(tonecore_auralis_apply_eq_frame_f64(x, 10, 1, NULL, 2, map, 17, 32, y, 40),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK(sentinel_intact(y, sizeof y));
}

/* ---------------------------------------------------------------------------------------------
 * Windowed FFT and STFT
 * ------------------------------------------------------------------------------------------- */

static void spectra_case(int f32, size_t n, size_t hop, size_t len, int custom) {
    double *x = noise(len, 1.0, 5 + n + len);
    float *xf = (float *)ref_alloc(len, sizeof(float));
    double *w = (double *)ref_alloc(n, sizeof(double));
    double *frame = (double *)ref_alloc(n, sizeof(double));
    double *zero = (double *)ref_alloc(n, sizeof(double));
    double *re = (double *)ref_alloc(n, sizeof(double));
    double *im = (double *)ref_alloc(n, sizeof(double));
    size_t frames = 0, frames2 = 0, want_frames, k, j, i, bins = n / 2 + 1;
    tonecore_complex_f64 *full, *st, *st1;
    double err_full = 0.0, err_st = 0.0, scale;
    int same = 1;
    want_frames = len < n ? 1 : 1 + (len - n) / hop;
    CHECK_STATUS(tonecore_auralis_frame_count(len, n, hop, &frames), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(frames, want_frames);
    full = (tonecore_complex_f64 *)ref_alloc(want_frames * n, sizeof(tonecore_complex_f64));
    st = (tonecore_complex_f64 *)ref_alloc(want_frames * bins, sizeof(tonecore_complex_f64));
    st1 = (tonecore_complex_f64 *)ref_alloc(want_frames * bins, sizeof(tonecore_complex_f64));
    for (i = 0; i < len; i++) {
        xf[i] = (float)x[i];
        if (f32) {
            x[i] = (double)xf[i];
        }
    }
    for (i = 0; i < n; i++) {
        w[i] = custom ? 0.25 + 0.75 * fabs(sin(0.3 * (double)i))
                      : ref_window(TONECORE_WINDOW_HANN_SYM, i, n);
    }
    if (f32) {
        CHECK_STATUS(tonecore_auralis_windowed_fft_f32(xf, len, n, hop, custom ? w : NULL, n, 0,
                                                       full, want_frames * n, &frames),
                     TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_auralis_stft_f32(xf, len, n, hop, custom ? w : NULL, n, 0, st,
                                               want_frames * bins, &frames2),
                     TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_auralis_stft_f32(xf, len, n, hop, custom ? w : NULL, n, 1, st1,
                                               want_frames * bins, &frames2),
                     TONECORE_STATUS_OK);
    } else {
        CHECK_STATUS(tonecore_auralis_windowed_fft_f64(x, len, n, hop, custom ? w : NULL, n, 3,
                                                       full, want_frames * n, &frames),
                     TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_auralis_stft_f64(x, len, n, hop, custom ? w : NULL, n, 0, st,
                                               want_frames * bins, &frames2),
                     TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_auralis_stft_f64(x, len, n, hop, custom ? w : NULL, n, 1, st1,
                                               want_frames * bins, &frames2),
                     TONECORE_STATUS_OK);
    }
    CHECK_EQ_SIZE(frames, want_frames);
    CHECK_EQ_SIZE(frames2, want_frames);
    for (k = 0; k < want_frames; k++) {
        scale = 0.0;
        for (j = 0; j < n; j++) {
            size_t p = k * hop + j;
            frame[j] = p < len ? x[p] * w[j] : 0.0;
        }
        ref_dft(frame, zero, n, -1, re, im);
        for (j = 0; j < n; j++) {
            double r = hypot(re[j], im[j]);
            scale = r > scale ? r : scale;
        }
        for (j = 0; j < n; j++) {
            tonecore_complex_f64 g = full[k * n + j];
            err_full = ref_max_err(err_full, hypot(g.re - re[j], g.im - im[j]) / scale);
        }
        for (j = 0; j < bins; j++) {
            tonecore_complex_f64 g = st[j * want_frames + k];
            err_st = ref_max_err(err_st, hypot(g.re - re[j], g.im - im[j]) / scale);
        }
    }
    for (i = 0; i < want_frames * bins; i++) {
        same &= st[i].re == st1[i].re && st[i].im == st1[i].im;
    }
    CHECK_MSG(err_full <= 1e-12 && err_st <= 1e-12, "%s n %zu hop %zu len %zu: %.3g %.3g",
              FMT(f32), n, hop, len, err_full, err_st);
    CHECK_MSG(same, "%s n %zu: 1 thread and all threads differ", FMT(f32), n);
    free(x);
    free(xf);
    free(w);
    free(frame);
    free(zero);
    free(re);
    free(im);
    free(full);
    free(st);
    free(st1);
}

static void test_spectra(void) {
    double x[100] = {0}, w[32] = {0};
    tonecore_complex_f64 out[64 * 8];
    size_t frames = sentinel_size();
    check_section("windowed FFT and STFT");
    spectra_case(0, 32, 16, 200, 0);
    spectra_case(1, 32, 12, 100, 1);
    spectra_case(0, 31, 7, 90, 0);
    spectra_case(0, 16, 40, 100, 0);
    spectra_case(1, 64, 32, 20, 0);
    sentinel_fill(out, sizeof out);
    CHECK_STATUS(tonecore_auralis_frame_count(10, 4, 0, &frames), TONECORE_STATUS_INVALID_HOP);
    CHECK_STATUS(tonecore_auralis_windowed_fft_f64(x, 100, 1, 1, NULL, 0, 0, out, 512, &frames),
                 TONECORE_STATUS_INVALID_FFT_SIZE);
    CHECK_STATUS(tonecore_auralis_stft_f64(x, 100, 32, 0, NULL, 0, 0, out, 512, &frames),
                 TONECORE_STATUS_INVALID_HOP);
    CHECK_STATUS(tonecore_auralis_stft_f64(x, 100, 32, 16, w, 31, 0, out, 512, &frames),
                 TONECORE_STATUS_INVALID_LENGTH);
    /* 5 frames of 17 bins do not fit in 80 values. */
    CHECK_STATUS(tonecore_auralis_stft_f64(x, 100, 32, 16, NULL, 0, 0, out, 80, &frames),
                 TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(tonecore_auralis_windowed_fft_f64(x, 100, 32, 16, NULL, 0, 0, out, 159, &frames),
                 TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(tonecore_auralis_stft_f64(x, 100, 32, 16, NULL, 0, 2000, out, 512, &frames),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(tonecore_auralis_stft_f64(NULL, 100, 32, 16, NULL, 0, 0, out, 512, &frames),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_auralis_stft_f64(x, 100, 32, 16, NULL, 0, 0, out, 512, NULL),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK(sentinel_intact(out, sizeof out));
    CHECK_EQ_SIZE(frames, sentinel_size());
}

/* ---------------------------------------------------------------------------------------------
 * Adaptive EQ
 * ------------------------------------------------------------------------------------------- */

static void test_adaptive_eq(void) {
    const size_t frames = 20000, ch = 2;
    double *x = noise(frames * ch, 0.8, 31);
    double *y = (double *)ref_alloc(frames * ch, sizeof(double));
    double *y1 = (double *)ref_alloc(frames * ch, sizeof(double));
    float *xf = (float *)ref_alloc(frames * ch, sizeof(float));
    float *yf = (float *)ref_alloc(frames * ch, sizeof(float));
    double target[25] = {0}, gains[25] = {0}, gains_out[26], err = 0.0;
    tonecore_auralis_eq_config cfg, bad;
    size_t i;
    int same = 1;
    check_section("adaptive EQ");
    CHECK_STATUS(tonecore_auralis_eq_config_init(&cfg), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(cfg.struct_size, sizeof cfg);
    CHECK_EQ_INT(cfg.sample_rate, 44100);
    CHECK_EQ_SIZE(cfg.fft_size, 4096);
    CHECK(cfg.adaptation_speed == 0.8 && cfg.first_edge_hz == 20.0 && cfg.threads == 0);

    /* Zero target, zero state: the input back, except sample 0 where the window sum is 0. */
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&cfg, x, frames * ch, ch, target, 25, gains, 25,
                                                 y, frames * ch, gains_out, 25),
                 TONECORE_STATUS_OK);
    CHECK(y[0] == 0.0 && y[1] == 0.0);
    for (i = 2; i < frames * ch; i++) {
        err = ref_max_err(err, fabs(y[i] - x[i]));
    }
    CHECK_LE(err, 1e-9);
    for (i = 0; i < 25; i++) {
        CHECK(gains_out[i] == 0.0);
    }
    for (i = 0; i < frames * ch; i++) {
        xf[i] = (float)x[i];
    }
    CHECK_STATUS(tonecore_auralis_eq_process_f32(&cfg, xf, frames * ch, ch, target, 25, gains,
                                                 25, yf, frames * ch, gains_out, 25),
                 TONECORE_STATUS_OK);
    err = 0.0;
    for (i = 2; i < frames * ch; i++) {
        err = ref_max_err(err, fabs((double)yf[i] - (double)xf[i]));
    }
    CHECK_LE(err, 1e-6);

    /* A real target: the same result on 1, 3 and all threads; the state updated in place. */
    for (i = 0; i < 25; i++) {
        target[i] = (double)((i * 7) % 11) - 5.0;
    }
    cfg.fft_size = 1024;
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&cfg, x, frames * ch, ch, target, 25, gains, 25,
                                                 y, frames * ch, gains_out, 25),
                 TONECORE_STATUS_OK);
    cfg.threads = 1;
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&cfg, x, frames * ch, ch, target, 25, gains, 25,
                                                 y1, frames * ch, gains, 25),
                 TONECORE_STATUS_OK);
    for (i = 0; i < frames * ch; i++) {
        same &= y[i] == y1[i];
    }
    for (i = 0; i < 25; i++) {
        same &= gains[i] == gains_out[i];
    }
    CHECK_MSG(same, "thread counts give different results");
    CHECK(gains[0] != 0.0);

    /* Refusals change nothing. */
    for (i = 0; i < 25; i++) {
        gains[i] = 1.0;
    }
    sentinel_fill(y, frames * ch * sizeof(double));
    sentinel_fill(gains_out, sizeof gains_out);
    bad = cfg;
    bad.struct_size = 0;
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&bad, x, 100, 2, target, 25, gains, 25, y, 100,
                                                 gains_out, 25),
                 TONECORE_STATUS_STRUCT_SIZE);
    bad = cfg;
    bad.sample_rate = 0;
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&bad, x, 100, 2, target, 25, gains, 25, y, 100,
                                                 gains_out, 25),
                 TONECORE_STATUS_INVALID_SAMPLE_RATE);
    bad = cfg;
    bad.fft_size = 1023;
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&bad, x, 100, 2, target, 25, gains, 25, y, 100,
                                                 gains_out, 25),
                 TONECORE_STATUS_INVALID_FFT_SIZE);
    bad = cfg;
    bad.adaptation_speed = NAN;
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&bad, x, 100, 2, target, 25, gains, 25, y, 100,
                                                 gains_out, 25),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    bad = cfg;
    bad.first_edge_hz = 100.0;
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&bad, x, 100, 2, target, 25, gains, 25, y, 100,
                                                 gains_out, 25),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&cfg, x, 101, 2, target, 25, gains, 25, y, 101,
                                                 gains_out, 25),
                 TONECORE_STATUS_INVALID_CHANNELS);
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&cfg, x, 100, 2, target, 25, gains, 24, y, 100,
                                                 gains_out, 25),
                 TONECORE_STATUS_GAIN_COUNT);
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&cfg, x, 100, 2, target, 25, gains, 25, y, 99,
                                                 gains_out, 25),
                 TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&cfg, x, 100, 2, target, 25, gains, 25, y, 100,
                                                 gains_out, 24),
                 TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&cfg, x, 100, 2, target, 25, gains, 25, y, 100,
                                                 y + 10, 25),
                 TONECORE_STATUS_BUFFERS_OVERLAP);
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&cfg, x, 100, 2, target, 25, gains, 25, x + 50,
                                                 100, gains_out, 25),
                 TONECORE_STATUS_BUFFERS_OVERLAP);
    CHECK_STATUS(tonecore_auralis_eq_process_f64(NULL, x, 100, 2, target, 25, gains, 25, y, 100,
                                                 gains_out, 25),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&cfg, x, 100, 2, target, 25, gains, 25, y, 100,
                                                 NULL, 25),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK(sentinel_intact(y, frames * ch * sizeof(double)));
    CHECK(sentinel_intact(gains_out, sizeof gains_out));
    for (i = 0; i < 25; i++) {
        CHECK(gains[i] == 1.0);
    }
    free(x);
    free(y);
    free(y1);
    free(xf);
    free(yf);
}

/* The host's content profile and the two analysis versions (host changes #3428 and #4101). */
static void test_adaptive_eq_profile(void) {
    const size_t frames = 6000;
    double *x = noise(frames, 0.5, 47);
    double *y = (double *)ref_alloc(frames, sizeof(double));
    double *y_old = (double *)ref_alloc(frames, sizeof(double));
    double target[25] = {0}, gains[25] = {0}, gains_out[25], diff = 0.0;
    tonecore_auralis_eq_config cfg, bad;
    size_t i;
    check_section("adaptive EQ: content profile, analysis version, older struct");
    CHECK_STATUS(tonecore_auralis_eq_config_init(&cfg), TONECORE_STATUS_OK);
    CHECK_EQ_INT(cfg.analysis, TONECORE_AURALIS_ANALYSIS_CURRENT);
    CHECK_EQ_INT(cfg.has_profile, 0);
    CHECK(cfg.profile_genre == TONECORE_AURALIS_GENRE_OTHER &&
          cfg.profile_energy_level == TONECORE_AURALIS_ENERGY_MEDIUM &&
          cfg.profile_spectral_centroid == 2000.0);
    /* Zero target, speed 1, "low energy" and a dark centroid: +0.5 dB everywhere, +1 dB more
     * for band centres above 2 kHz (bands 13..24 of the critical bands from 20 Hz). */
    cfg.fft_size = 512;
    cfg.adaptation_speed = 1.0;
    cfg.has_profile = 1;
    cfg.profile_energy_level = TONECORE_AURALIS_ENERGY_LOW;
    cfg.profile_spectral_centroid = 900.0;
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&cfg, x, frames, 1, target, 25, gains, 25, y,
                                                 frames, gains_out, 25),
                 TONECORE_STATUS_OK);
    for (i = 0; i < 25; i++) {
        CHECK(gains_out[i] == (i >= 13 ? 1.5 : 0.5));
    }
    /* A classical profile scales the clipped gains by 0.7 first. */
    cfg.profile_genre = TONECORE_AURALIS_GENRE_CLASSICAL;
    cfg.profile_energy_level = TONECORE_AURALIS_ENERGY_MEDIUM;
    cfg.profile_spectral_centroid = NAN; /* NaN: no spectral adaptation, as the host */
    for (i = 0; i < 25; i++) {
        target[i] = 10.0;
    }
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&cfg, x, frames, 1, target, 25, gains, 25, y,
                                                 frames, gains_out, 25),
                 TONECORE_STATUS_OK);
    CHECK(fabs(gains_out[10] - 0.7 * 10.0) < 1e-12 || fabs(gains_out[10] - 0.7 * 5.0) < 1e-12);
    /* The older analysis moves the masking decisions: a different result for a real target. */
    cfg.has_profile = 0;
    for (i = 0; i < 25; i++) {
        target[i] = (double)((i * 5) % 9) - 4.0;
    }
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&cfg, x, frames, 1, target, 25, gains, 25, y,
                                                 frames, gains_out, 25),
                 TONECORE_STATUS_OK);
    cfg.analysis = TONECORE_AURALIS_ANALYSIS_PRE_3428_4101;
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&cfg, x, frames, 1, target, 25, gains, 25,
                                                 y_old, frames, gains_out, 25),
                 TONECORE_STATUS_OK);
    for (i = 0; i < frames; i++) {
        diff = ref_max_err(diff, fabs(y[i] - y_old[i]));
    }
    CHECK_MSG(diff > 1e-6, "the two analysis versions give the same output");
    /* A caller compiled before the analysis and profile fields: read as the defaults. */
    bad = cfg;
    bad.struct_size = offsetof(tonecore_auralis_eq_config, analysis);
    bad.analysis = 77; /* past the caller's struct: never read */
    bad.has_profile = 1;
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&bad, x, frames, 1, target, 25, gains, 25,
                                                 y_old, frames, gains_out, 25),
                 TONECORE_STATUS_OK);
    diff = 0.0;
    for (i = 0; i < frames; i++) {
        diff = ref_max_err(diff, fabs(y[i] - y_old[i]));
    }
    CHECK_LE(diff, 0.0);
    /* Unknown codes are refused and write nothing. */
    sentinel_fill(y_old, frames * sizeof(double));
    bad = cfg;
    bad.analysis = 2;
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&bad, x, frames, 1, target, 25, gains, 25,
                                                 y_old, frames, gains_out, 25),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    bad = cfg;
    bad.profile_genre = 6;
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&bad, x, frames, 1, target, 25, gains, 25,
                                                 y_old, frames, gains_out, 25),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    bad = cfg;
    bad.profile_energy_level = 3;
    CHECK_STATUS(tonecore_auralis_eq_process_f64(&bad, x, frames, 1, target, 25, gains, 25,
                                                 y_old, frames, gains_out, 25),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK(sentinel_intact(y_old, frames * sizeof(double)));
    free(x);
    free(y);
    free(y_old);
}

/* ---------------------------------------------------------------------------------------------
 * Crossfades and seams
 * ------------------------------------------------------------------------------------------- */

static void test_crossfades(void) {
    const size_t ch = 2, la = 40, lb = 30;
    double *a = noise(ch * la, 1.0, 1), *b = noise(ch * lb, 1.0, 2);
    double out[2 * 80];
    float af[2 * 40], bf[2 * 30], of[2 * 80];
    size_t overlaps[5] = {0, 1, 7, 30, 100}, o, j, c, frames = 0, l, n;
    double err, err32;
    check_section("crossfades and seams");
    for (j = 0; j < ch * la; j++) {
        af[j] = (float)a[j];
    }
    for (j = 0; j < ch * lb; j++) {
        bf[j] = (float)b[j];
    }
    for (o = 0; o < 5; o++) {
        l = overlaps[o] < lb ? overlaps[o] : lb;
        n = la + lb - l;
        err = 0.0;
        err32 = 0.0;
        CHECK_STATUS(tonecore_auralis_crossfade_concat_f64(a, ch * la, b, ch * lb, ch, overlaps[o],
                                                           out, 160, &frames),
                     TONECORE_STATUS_OK);
        CHECK_EQ_SIZE(frames, n);
        CHECK_STATUS(tonecore_auralis_crossfade_concat_f32(af, ch * la, bf, ch * lb, ch,
                                                           overlaps[o], of, 160, &frames),
                     TONECORE_STATUS_OK);
        for (j = 0; j < n; j++) {
            for (c = 0; c < ch; c++) {
                double want, want32;
                if (j < la - l) {
                    want = a[j * ch + c];
                    want32 = af[j * ch + c];
                } else if (j < la) {
                    size_t i = j - (la - l);
                    double t = ref_phase(i, l), co = cos(t), si = sin(t);
                    want = a[j * ch + c] * co * co + b[i * ch + c] * si * si;
                    want32 = (double)af[j * ch + c] * co * co + (double)bf[i * ch + c] * si * si;
                } else {
                    want = b[(j - la + l) * ch + c];
                    want32 = bf[(j - la + l) * ch + c];
                }
                err = ref_max_err(err, fabs(out[j * ch + c] - want));
                err32 = ref_max_err(err32, fabs((double)of[j * ch + c] - want32));
            }
        }
        CHECK_MSG(err <= 1e-15 && err32 <= 1e-7, "overlap %zu: %.3g %.3g", overlaps[o], err,
                  err32);
    }
    /* A seam: tail (10 frames) fades over min(10, 30) frames, then the chunk up to frame 25. */
    CHECK_STATUS(tonecore_auralis_seam_f64(a, 20, b, ch * lb, ch, 25, out, 160, &frames),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(frames, 25);
    err = 0.0;
    for (j = 0; j < 25; j++) {
        for (c = 0; c < ch; c++) {
            double t = ref_phase(j, 10), co = cos(t), si = sin(t);
            double want = j < 10 ? a[j * ch + c] * co * co + b[j * ch + c] * si * si
                                 : b[j * ch + c];
            err = ref_max_err(err, fabs(out[j * ch + c] - want));
        }
    }
    CHECK_LE(err, 1e-15);
    sentinel_fill(out, sizeof out);
    frames = sentinel_size();
    CHECK_STATUS(tonecore_auralis_seam_f64(a, 20, b, ch * lb, ch, 9, out, 160, &frames),
                 TONECORE_STATUS_INVALID_LENGTH);
    CHECK_STATUS(tonecore_auralis_seam_f64(a, 20, b, ch * lb, ch, 31, out, 160, &frames),
                 TONECORE_STATUS_INVALID_LENGTH);
    CHECK_STATUS(tonecore_auralis_seam_f64(a, 20, b, ch * lb, ch, 25, out, 49, &frames),
                 TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(tonecore_auralis_crossfade_concat_f64(a, 81, b, ch * lb, ch, 4, out, 160,
                                                       &frames),
                 TONECORE_STATUS_INVALID_CHANNELS);
    CHECK_STATUS(tonecore_auralis_crossfade_concat_f64(a, ch * la, b, ch * lb, ch, 4, out, 100,
                                                       &frames),
                 TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(tonecore_auralis_crossfade_concat_f64(a, ch * la, b, ch * lb, ch, 4, a + 2, 160,
                                                       &frames),
                 TONECORE_STATUS_BUFFERS_OVERLAP);
    CHECK_STATUS(tonecore_auralis_crossfade_concat_f64(a, ch * la, b, ch * lb, ch, 4, out, 160,
                                                       NULL),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK(sentinel_intact(out, sizeof out));
    CHECK_EQ_SIZE(frames, sentinel_size());
    free(a);
    free(b);
}

/* ---------------------------------------------------------------------------------------------
 * Smoother, level matcher, safety limit
 * ------------------------------------------------------------------------------------------- */

static void test_smoother(void) {
    tonecore_auralis_smoother s, saved;
    float ramp[300], out[4];
    double c, err = 0.0;
    size_t j;
    check_section("gain smoother");
    CHECK_STATUS(tonecore_auralis_smoother_init(0.01, 0.001, &s), TONECORE_STATUS_OK);
    CHECK(s.current_gain == 1.0 && s.target_gain == 1.0);
    CHECK_STATUS(tonecore_auralis_smoother_set_target(&s, 25.0), TONECORE_STATUS_OK);
    CHECK(s.target_gain == 10.0);
    CHECK_STATUS(tonecore_auralis_smoother_set_target(&s, -3.0), TONECORE_STATUS_OK);
    CHECK(s.target_gain == 0.0);
    CHECK_STATUS(tonecore_auralis_smoother_set_target(&s, NAN), TONECORE_STATUS_OK);
    CHECK(s.target_gain == 10.0);
    CHECK_STATUS(tonecore_auralis_smoother_set_target(&s, 4.0), TONECORE_STATUS_OK);
    c = s.current_gain;
    CHECK_STATUS(tonecore_auralis_smoother_process(&s, ramp, 300), TONECORE_STATUS_OK);
    for (j = 0; j < 300; j++) {
        double want = 4.0 + (c - 4.0) * pow(1.0 - 0.01, (double)(j + 1));
        err = ref_max_err(err, fabs((double)ramp[j] - (double)(float)want));
    }
    CHECK_LE(err, 4.0 * 1.2e-7);
    CHECK(fabs(s.current_gain - (4.0 + (c - 4.0) * pow(0.99, 300.0))) <= 1e-15 * 4.0);
    /* Release (target below) uses the release factor. */
    CHECK_STATUS(tonecore_auralis_smoother_set_target(&s, 0.5), TONECORE_STATUS_OK);
    c = s.current_gain;
    CHECK_STATUS(tonecore_auralis_smoother_process(&s, out, 2), TONECORE_STATUS_OK);
    CHECK(out[1] == (float)(0.5 + (c - 0.5) * pow(0.999, 2.0)));
    /* At the target: constant, state unchanged. */
    s.current_gain = 0.5000001;
    saved = s;
    CHECK_STATUS(tonecore_auralis_smoother_process(&s, out, 4), TONECORE_STATUS_OK);
    CHECK(out[0] == (float)0.5000001 && out[3] == (float)0.5000001);
    CHECK(memcmp(&s, &saved, sizeof s) == 0);
    /* Refusals. */
    CHECK_STATUS(tonecore_auralis_smoother_init(NAN, 0.1, &s), TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK(memcmp(&s, &saved, sizeof s) == 0);
    s.attack_alpha = INFINITY;
    saved = s;
    sentinel_fill(out, sizeof out);
    CHECK_STATUS(tonecore_auralis_smoother_process(&s, out, 4), TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK(sentinel_intact(out, sizeof out) && memcmp(&s, &saved, sizeof s) == 0);
    CHECK_STATUS(tonecore_auralis_smoother_process(NULL, out, 4), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_auralis_smoother_init(0.1, 0.1, NULL), TONECORE_STATUS_NULL_POINTER);
}

static void test_level_matcher(void) {
    tonecore_auralis_level_matcher m, saved;
    double *ref = noise(4000, 0.8, 3), *x = noise(512, 0.05, 4), y[512], want[512];
    double ref_rms = 0.0, rms = 0.0, t, gain, peak = 0.0, err = 0.0;
    uint32_t applied = 7;
    size_t i;
    check_section("level matcher and safety limit");
    CHECK_STATUS(tonecore_auralis_level_matcher_init(&m), TONECORE_STATUS_OK);
    CHECK(!m.enabled && !m.has_reference && m.target_rms_alpha == 0.01 && m.peak == 0.95);
    CHECK(m.smoother.attack_alpha == 0.02 && m.smoother.release_alpha == 0.005);
    /* Disabled: a copy, state unchanged. */
    saved = m;
    CHECK_STATUS(tonecore_auralis_level_matcher_process_f64(&m, x, 512, 2, y, 512, &applied),
                 TONECORE_STATUS_OK);
    CHECK(applied == 0 && memcmp(y, x, sizeof y) == 0 && memcmp(&m, &saved, sizeof m) == 0);
    CHECK_STATUS(tonecore_auralis_level_matcher_set_reference_f64(&m, ref, 4000),
                 TONECORE_STATUS_OK);
    for (i = 0; i < 4000; i++) {
        ref_rms += ref[i] * ref[i];
    }
    ref_rms = sqrt(ref_rms / 4000.0);
    CHECK(m.enabled && m.has_reference && fabs(m.reference_rms - ref_rms) <= 1e-15);
    for (i = 0; i < 512; i++) {
        rms += x[i] * x[i];
    }
    rms = sqrt(rms / 512.0);
    t = ref_rms * 0.01;
    gain = t / rms; /* below 10 here */
    for (i = 0; i < 512; i++) {
        double alpha = gain > 1.0 ? 0.02 : 0.005;
        float g = (float)(gain + (1.0 - gain) * pow(1.0 - alpha, (double)(i / 2 + 1)));
        want[i] = x[i] * (double)g;
        peak = fabs(want[i]) > peak ? fabs(want[i]) : peak;
    }
    if (peak > 0.95) {
        for (i = 0; i < 512; i++) {
            want[i] *= 0.95 / peak;
        }
    }
    CHECK_STATUS(tonecore_auralis_level_matcher_process_f64(&m, x, 512, 2, y, 512, &applied),
                 TONECORE_STATUS_OK);
    CHECK(applied == 1);
    for (i = 0; i < 512; i++) {
        err = ref_max_err(err, fabs(y[i] - want[i]));
    }
    CHECK_LE(err, 1e-15);
    CHECK(fabs(m.current_target_rms - t) <= 1e-17);
    /* A bad struct field is refused and nothing changes. */
    m.peak = NAN;
    saved = m;
    sentinel_fill(y, sizeof y);
    applied = 7;
    CHECK_STATUS(tonecore_auralis_level_matcher_process_f64(&m, x, 512, 2, y, 512, &applied),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK(sentinel_intact(y, sizeof y) && applied == 7 && memcmp(&m, &saved, sizeof m) == 0);
    m.peak = 0.95;
    CHECK_STATUS(tonecore_auralis_level_matcher_process_f64(&m, x, 511, 2, y, 512, &applied),
                 TONECORE_STATUS_INVALID_CHANNELS);
    CHECK_STATUS(tonecore_auralis_level_matcher_process_f64(&m, x, 512, 2, y, 500, &applied),
                 TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(tonecore_auralis_level_matcher_process_f64(&m, x, 512, 2, x, 512, &applied),
                 TONECORE_STATUS_BUFFERS_OVERLAP);
    CHECK_STATUS(tonecore_auralis_level_matcher_set_reference_f64(NULL, ref, 10),
                 TONECORE_STATUS_NULL_POINTER);

    {
        double block[4] = {0.5, -2.0, 1.0, 0.0}, out[4];
        float bf[3] = {2.0f, NAN, -3.0f}, of[3];
        CHECK_STATUS(tonecore_auralis_safety_limit_f64(block, 4, 0.95, out, 4),
                     TONECORE_STATUS_OK);
        CHECK(out[0] == 0.5 * (0.95 / 2.0) && out[1] == -0.95 && out[3] == 0.0);
        CHECK_STATUS(tonecore_auralis_safety_limit_f32(bf, 3, 0.5, of, 3), TONECORE_STATUS_OK);
        CHECK(of[0] == 2.0f && of[1] != of[1] && of[2] == -3.0f);
        sentinel_fill(out, sizeof out);
        CHECK_STATUS(tonecore_auralis_safety_limit_f64(block, 4, INFINITY, out, 4),
                     TONECORE_STATUS_INVALID_ARGUMENT);
        CHECK_STATUS(tonecore_auralis_safety_limit_f64(block, 4, 0.95, out, 3),
                     TONECORE_STATUS_BUFFER_TOO_SMALL);
        CHECK(sentinel_intact(out, sizeof out));
    }
    free(ref);
    free(x);
}

int main(void) {
    test_gain_curve();
    test_frame_eq();
    test_spectra();
    test_adaptive_eq();
    test_adaptive_eq_profile();
    test_crossfades();
    test_smoother();
    test_level_matcher();
    return check_finish();
}
