/*
 * install_smoke.c — a host program built against an *installed* tonecore with nothing but
 * pkg-config (ffi-tests/test_install.sh builds it shared and static and runs it).
 *
 * It includes <tonecore.h> from the install prefix and only check.h from this folder, checks the
 * ABI and version against the header, and runs one real job through the library: a +6 dB flat EQ
 * on a 1 kHz sine must come out 10^(6/20) times louder after the documented latency, and a
 * limiter must hold a +12 dB sine at its ceiling.
 */
#include <math.h>
#include <stdlib.h>

#include <tonecore.h>

#include "check.h"

#define SR 44100u
#define BLOCK 256
#define FRAMES (SR / 2)

static double peak_after(const float *y, size_t from, size_t n) {
    double m = 0.0;
    size_t i;
    for (i = from; i < n; i++) {
        if (fabs((double)y[i]) > m) {
            m = fabs((double)y[i]);
        }
    }
    return m;
}

static void run(int eq_db, int limiter, double amplitude, double want_peak, double tol) {
    tonecore_pipeline_config cfg;
    tonecore_pipeline *p = NULL;
    size_t latency = 0, i;
    float *x = (float *)malloc(FRAMES * sizeof(float));
    float *y = (float *)malloc(FRAMES * sizeof(float));
    double gains[25];

    CHECK(x != NULL && y != NULL);
    if (x == NULL || y == NULL) {
        free(x);
        free(y);
        return;
    }
    for (i = 0; i < 25; i++) {
        gains[i] = (double)eq_db;
    }
    for (i = 0; i < FRAMES; i++) {
        x[i] = (float)(amplitude * sin(2.0 * 3.14159265358979323846 * 1000.0 * (double)i / SR));
    }
    CHECK_STATUS(tonecore_pipeline_config_init(&cfg), TONECORE_STATUS_OK);
    cfg.channels = 1;
    cfg.max_block = BLOCK;
    cfg.eq_enabled = 1;
    cfg.eq_gains_db = gains;
    cfg.eq_gains_len = 25;
    cfg.limiter_enabled = (uint32_t)limiter;
    cfg.ceiling_db = -1.0;
    CHECK_STATUS(tonecore_pipeline_new(&cfg, &p), TONECORE_STATUS_OK);
    if (p != NULL) {
        CHECK_STATUS(tonecore_pipeline_latency(p, &latency), TONECORE_STATUS_OK);
        for (i = 0; i + BLOCK <= FRAMES; i += BLOCK) {
            CHECK_STATUS(tonecore_pipeline_process_f32(p, x + i, BLOCK, y + i, BLOCK),
                         TONECORE_STATUS_OK);
        }
        /* Skip the latency and the first 100 ms of settling. */
        CHECK_MSG(fabs(peak_after(y, latency + SR / 10, i) - want_peak) <= tol,
                  "peak %.6f, want %.6f +- %g", peak_after(y, latency + SR / 10, i), want_peak,
                  tol);
        tonecore_pipeline_free(p);
    }
    free(x);
    free(y);
}

int main(void) {
    check_section("installed library via pkg-config");
    CHECK_EQ_INT(tonecore_abi_version(), TONECORE_ABI_VERSION);
    CHECK_STR_EQ(tonecore_version_string(), TONECORE_VERSION);
    /* +6 dB flat EQ on a 0.25 amplitude sine. */
    run(6, 0, 0.25, 0.25 * pow(10.0, 6.0 / 20.0), 0.01);
    /* +12 dB into a -1 dBFS limiter: the peak sits at the ceiling. */
    run(12, 1, 0.5, pow(10.0, -1.0 / 20.0), 0.01);
    return check_finish();
}
