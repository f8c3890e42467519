/*
 * test_window.c — tonecore_window_fill_f32/_f64 against the closed-form windows in double, and
 * their argument errors (nothing written on error).
 */
#include "ref.h"

static const int kinds[] = {TONECORE_WINDOW_HANN, TONECORE_WINDOW_HANN_SYM,
                            TONECORE_WINDOW_HAMMING, TONECORE_WINDOW_BLACKMAN,
                            TONECORE_WINDOW_SQRT_HANN};
static const char *const kind_names[] = {"hann", "hann_sym", "hamming", "blackman", "sqrt_hann"};
#define KIND_COUNT 5

static const size_t lengths[] = {0, 1, 2, 17, 1024};
#define LENGTH_COUNT 5

/* The buffers have one guard element past `n`, which must stay untouched. */
static void check_kind_f64(int k, size_t n) {
    double *w = (double *)ref_alloc(n + 1, sizeof(double));
    double max_err = 0.0;
    double tol = kinds[k] == TONECORE_WINDOW_SQRT_HANN ? 1e-12 : 1e-14;
    int symmetric = 1;
    size_t i;

    sentinel_fill(w, (n + 1) * sizeof(double));
    CHECK_STATUS(tonecore_window_fill_f64(kinds[k], w, n), TONECORE_STATUS_OK);
    for (i = 0; i < n; i++) {
        double e = fabs(w[i] - ref_window(kinds[k], i, n));
        max_err = ref_max_err(max_err, e);
    }
    /* sqrt amplifies the rounding of 0.5 - 0.5cos near i = 0 (d sqrt(h) = dh / 2 sqrt(h)). */
    CHECK_MSG(max_err <= tol, "%s f64 n=%zu: max abs error %.3g", kind_names[k], n, max_err);
    CHECK_MSG(sentinel_intact(w + n, sizeof(double)), "%s f64 n=%zu wrote past the end",
              kind_names[k], n);
    if (kinds[k] == TONECORE_WINDOW_HANN_SYM && n >= 2) {
        /* numpy.hanning: symmetric with exact zeros at both ends. */
        for (i = 0; i < n; i++) {
            if (fabs(w[i] - w[n - 1 - i]) > 1e-15) {
                symmetric = 0;
            }
        }
        CHECK_MSG(symmetric, "hann_sym n=%zu is not symmetric", n);
        CHECK_MSG(w[0] == 0.0 && w[n - 1] == 0.0, "hann_sym n=%zu ends %.17g %.17g", n, w[0],
                  w[n - 1]);
    }
    if (kinds[k] != TONECORE_WINDOW_HANN_SYM && n >= 2) {
        /* Periodic (DFT-even): w[i] == w[n - i]. */
        for (i = 1; i < n; i++) {
            if (fabs(w[i] - w[n - i]) > tol) {
                symmetric = 0;
            }
        }
        CHECK_MSG(symmetric, "%s n=%zu is not DFT-even", kind_names[k], n);
    }
    free(w);
}

static void check_kind_f32(int k, size_t n) {
    float *w = (float *)ref_alloc(n + 1, sizeof(float));
    double max_err = 0.0;
    size_t i;

    sentinel_fill(w, (n + 1) * sizeof(float));
    CHECK_STATUS(tonecore_window_fill_f32(kinds[k], w, n), TONECORE_STATUS_OK);
    for (i = 0; i < n; i++) {
        double e = fabs((double)w[i] - ref_window(kinds[k], i, n));
        max_err = ref_max_err(max_err, e);
    }
    /* Values are at most 1, so one f32 rounding is below 2^-24 ~ 6e-8. */
    CHECK_MSG(max_err <= 1e-7, "%s f32 n=%zu: max abs error %.3g", kind_names[k], n, max_err);
    CHECK_MSG(sentinel_intact(w + n, sizeof(float)), "%s f32 n=%zu wrote past the end",
              kind_names[k], n);
    free(w);
}

static void test_values(void) {
    int k;
    size_t l;
    check_section("window values against closed forms");
    for (k = 0; k < KIND_COUNT; k++) {
        for (l = 0; l < LENGTH_COUNT; l++) {
            check_kind_f64(k, lengths[l]);
            check_kind_f32(k, lengths[l]);
        }
    }
    /* Spot values that do not depend on the reference code. */
    {
        double w[4];
        CHECK_STATUS(tonecore_window_fill_f64(TONECORE_WINDOW_HANN, w, 4), TONECORE_STATUS_OK);
        CHECK(w[0] == 0.0 && fabs(w[1] - 0.5) < 1e-15 && w[2] == 1.0 && fabs(w[3] - 0.5) < 1e-15);
        CHECK_STATUS(tonecore_window_fill_f64(TONECORE_WINDOW_HAMMING, w, 4), TONECORE_STATUS_OK);
        CHECK(fabs(w[0] - 0.08) < 1e-15 && fabs(w[2] - 1.0) < 1e-15);
        CHECK_STATUS(tonecore_window_fill_f64(TONECORE_WINDOW_SQRT_HANN, w, 4),
                     TONECORE_STATUS_OK);
        CHECK(w[0] == 0.0 && fabs(w[1] - sqrt(0.5)) < 1e-15 && w[2] == 1.0);
    }
}

static void test_errors(void) {
    static const int32_t bad_kinds[] = {-1, 5, 6, 1000, INT32_MIN, INT32_MAX};
    float wf[16];
    double wd[16];
    size_t i;

    check_section("window argument errors");
    for (i = 0; i < sizeof bad_kinds / sizeof bad_kinds[0]; i++) {
        sentinel_fill(wf, sizeof wf);
        sentinel_fill(wd, sizeof wd);
        CHECK_STATUS(tonecore_window_fill_f32(bad_kinds[i], wf, 16), TONECORE_STATUS_UNKNOWN_WINDOW);
        CHECK_MSG(sentinel_intact(wf, sizeof wf), "kind %d: f32 buffer written", (int)bad_kinds[i]);
        CHECK(tonecore_last_error_message()[0] != '\0');
        CHECK_STATUS(tonecore_window_fill_f64(bad_kinds[i], wd, 16), TONECORE_STATUS_UNKNOWN_WINDOW);
        CHECK_MSG(sentinel_intact(wd, sizeof wd), "kind %d: f64 buffer written", (int)bad_kinds[i]);
    }

    /* NULL output, with and without a length. */
    CHECK_STATUS(tonecore_window_fill_f32(TONECORE_WINDOW_HANN, NULL, 16),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_window_fill_f64(TONECORE_WINDOW_HANN, NULL, 16),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_window_fill_f32(TONECORE_WINDOW_HANN, NULL, 0),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_window_fill_f64(TONECORE_WINDOW_BLACKMAN, NULL, 0),
                 TONECORE_STATUS_NULL_POINTER);

    /* Lengths beyond the address space are refused before anything is written. */
    sentinel_fill(wf, sizeof wf);
    sentinel_fill(wd, sizeof wd);
    CHECK_STATUS(tonecore_window_fill_f32(TONECORE_WINDOW_HANN, wf, SIZE_MAX),
                 TONECORE_STATUS_INVALID_LENGTH);
    CHECK_STATUS(tonecore_window_fill_f64(TONECORE_WINDOW_HANN, wd, SIZE_MAX),
                 TONECORE_STATUS_INVALID_LENGTH);
    CHECK_STATUS(tonecore_window_fill_f64(TONECORE_WINDOW_HANN, wd, SIZE_MAX / 8 + 1),
                 TONECORE_STATUS_INVALID_LENGTH);
    CHECK(sentinel_intact(wf, sizeof wf));
    CHECK(sentinel_intact(wd, sizeof wd));

    /* Length 0 succeeds and writes nothing. */
    CHECK_STATUS(tonecore_window_fill_f32(TONECORE_WINDOW_HANN, wf, 0), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_window_fill_f64(TONECORE_WINDOW_SQRT_HANN, wd, 0), TONECORE_STATUS_OK);
    CHECK(sentinel_intact(wf, sizeof wf));
    CHECK(sentinel_intact(wd, sizeof wd));
}

int main(void) {
    test_values();
    test_errors();
    return check_finish();
}
