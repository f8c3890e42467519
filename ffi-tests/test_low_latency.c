/*
 * test_low_latency.c — the low-latency mode through the C ABI: tonecore_low_latency_partition,
 * the equalizer's and the pipeline's `phase` and `partition` fields, and their latency queries.
 *
 * Checked against references written here: a minimum-phase equalizer at 64-frame blocks has a
 * latency of exactly 64 frames (nothing before it, its response from there); the magnitude of
 * that response by a direct DTFT is within 0.1 dB of the requested gain at critical-band
 * centres; half its energy arrives in the first 2 ms; the output is bit-identical for blocks of
 * 1, 7 and 64 frames; the low-latency pipeline at 48 kHz reports 64 + 72 + 32 frames and, with
 * flat gains, is a pure delay of exactly that. Refusals: partitions that are not a power of two
 * 8..65536 (INVALID_PARTITION), an unknown phase (INVALID_ARGUMENT), each leaving the
 * out-parameter untouched; a config of the first release's size still works (linear phase,
 * overlap-save).
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "ref.h"

#define SR 48000u
#define CRIT_BANDS 25

static char sentinel_storage;
#define SENTINEL ((void *)&sentinel_storage)

static void random_gains(double *g, size_t n, double range, uint64_t seed) {
    ref_rng r = ref_rng_new(seed);
    size_t i;
    for (i = 0; i < n; i++) {
        g[i] = range * ref_uniform(&r);
    }
}

/* Streams planar f64 `x` (channels x len) through `eq` in `block`-frame calls into `y`. */
static tonecore_status run_eq(tonecore_equalizer *eq, size_t channels, const double *x, size_t len,
                              size_t block, double *y) {
    double *xb = (double *)ref_alloc(channels * block, sizeof(double));
    double *yb = (double *)ref_alloc(channels * block, sizeof(double));
    tonecore_status st = TONECORE_STATUS_OK;
    size_t pos, c;
    for (pos = 0; pos < len && st == TONECORE_STATUS_OK; pos += block) {
        size_t n = len - pos < block ? len - pos : block;
        for (c = 0; c < channels; c++) {
            memcpy(xb + c * n, x + c * len + pos, n * sizeof(double));
        }
        st = tonecore_equalizer_process_f64(eq, xb, channels * n, yb, channels * n);
        for (c = 0; c < channels; c++) {
            memcpy(y + c * len + pos, yb + c * n, n * sizeof(double));
        }
    }
    free(xb);
    free(yb);
    return st;
}

static tonecore_equalizer *make_low_latency_eq(uint32_t channels, size_t block, const double *gains) {
    tonecore_equalizer_config c;
    tonecore_equalizer *eq = NULL;
    CHECK_STATUS(tonecore_equalizer_config_init(&c), TONECORE_STATUS_OK);
    c.sample_rate = SR;
    c.channels = channels;
    c.max_block = block;
    c.sample_format = TONECORE_SAMPLE_FORMAT_F64;
    c.gains_db = gains;
    c.gains_len = CRIT_BANDS;
    c.phase = TONECORE_PHASE_MINIMUM;
    c.partition = tonecore_low_latency_partition(block);
    CHECK_STATUS(tonecore_equalizer_new(&c, &eq), TONECORE_STATUS_OK);
    return eq;
}

static void test_partition_choice(void) {
    check_section("tonecore_low_latency_partition");
    CHECK_EQ_SIZE(tonecore_low_latency_partition(64), 64);
    CHECK_EQ_SIZE(tonecore_low_latency_partition(100), 64);
    CHECK_EQ_SIZE(tonecore_low_latency_partition(256), 256);
    CHECK_EQ_SIZE(tonecore_low_latency_partition(1), 8);
    CHECK_EQ_SIZE(tonecore_low_latency_partition(0), 8);
    CHECK_EQ_SIZE(tonecore_low_latency_partition((size_t)1 << 20), 65536);
}

static void test_impulse_response(void) {
    enum { LEN = 8192 };
    static const size_t test_bands[] = {2, 4, 7, 9, 12, 15, 18, 21, 23};
    double gains[CRIT_BANDS], total = 0.0, early = 0.0;
    double *x = (double *)ref_alloc(LEN, sizeof(double));
    double *y = (double *)ref_alloc(LEN, sizeof(double));
    tonecore_equalizer *eq;
    size_t latency = 0, i;
    check_section("minimum phase at 64-frame blocks: latency, onset, band gains (direct DTFT)");
    random_gains(gains, CRIT_BANDS, 12.0, 7);
    eq = make_low_latency_eq(1, 64, gains);
    if (eq == NULL) {
        goto done;
    }
    CHECK_STATUS(tonecore_equalizer_latency(eq, &latency), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(latency, 64);
    x[0] = 1.0;
    CHECK_STATUS(run_eq(eq, 1, x, LEN, 64, y), TONECORE_STATUS_OK);
    for (i = 0; i < latency; i++) {
        CHECK_MSG(y[i] == 0.0, "output %zu before the latency: %g", i, y[i]);
    }
    CHECK_MSG(fabs(y[latency]) > 1e-3, "first tap %g", y[latency]);
    for (i = latency; i < LEN; i++) {
        total += y[i] * y[i];
        if (i < latency + 96) {
            early += y[i] * y[i];
        }
    }
    CHECK_MSG(early > 0.5 * total, "energy in the first 2 ms: %g of %g", early, total);
    for (i = 0; i < sizeof test_bands / sizeof test_bands[0]; i++) {
        size_t b = test_bands[i];
        double fc = sqrt(ref_critical_edges[b] * ref_critical_edges[b + 1]);
        double db =
            20.0 * log10(ref_dtft_magnitude(y + latency, LEN - latency, 2.0 * M_PI * fc / SR));
        CHECK_MSG(fabs(db - gains[b]) <= 0.1, "band %zu (%.0f Hz): %.4f dB, requested %.4f dB", b,
                  fc, db, gains[b]);
    }
    tonecore_equalizer_free(eq);
done:
    free(x);
    free(y);
}

static void test_block_invariance(void) {
    enum { LEN = 6000 };
    static const size_t blocks[] = {1, 7, 64};
    double gains[CRIT_BANDS];
    double *x = (double *)ref_alloc(2 * LEN, sizeof(double));
    double *first = (double *)ref_alloc(2 * LEN, sizeof(double));
    double *y = (double *)ref_alloc(2 * LEN, sizeof(double));
    ref_rng r = ref_rng_new(11);
    size_t i;
    check_section("partitioned output does not depend on the host block (1, 7, 64)");
    random_gains(gains, CRIT_BANDS, 9.0, 12);
    for (i = 0; i < 2 * LEN; i++) {
        x[i] = 0.5 * ref_uniform(&r);
    }
    for (i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
        tonecore_equalizer *eq = make_low_latency_eq(2, 64, gains);
        if (eq == NULL) {
            continue;
        }
        CHECK_STATUS(run_eq(eq, 2, x, LEN, blocks[i], i == 0 ? first : y), TONECORE_STATUS_OK);
        if (i > 0) {
            CHECK_MSG(memcmp(first, y, 2 * LEN * sizeof(double)) == 0,
                      "blocks of %zu frames change the output", blocks[i]);
        }
        tonecore_equalizer_free(eq);
    }
    free(x);
    free(first);
    free(y);
}

static void test_pipeline_latency(void) {
    enum { LEN = 2048 };
    tonecore_pipeline_config c;
    tonecore_pipeline *p = NULL;
    double x[2 * LEN], y[2 * LEN], rest = 0.0;
    size_t latency = 0, pos, i;
    check_section("low-latency pipeline at 48 kHz, 64-frame blocks: 64 + 72 + 32 frames, exact");
    CHECK_STATUS(tonecore_pipeline_config_init(&c), TONECORE_STATUS_OK);
    c.sample_rate = SR;
    c.max_block = 64;
    c.sample_format = TONECORE_SAMPLE_FORMAT_F64;
    c.eq_enabled = 1;
    c.limiter_enabled = 1;
    c.phase = TONECORE_PHASE_MINIMUM;
    c.partition = tonecore_low_latency_partition(64);
    CHECK_STATUS(tonecore_pipeline_new(&c, &p), TONECORE_STATUS_OK);
    if (p == NULL) {
        return;
    }
    CHECK_STATUS(tonecore_pipeline_latency(p, &latency), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(latency, 64 + 72 + 32);
    memset(x, 0, sizeof x);
    x[0] = 0.05;
    x[LEN] = 0.05;
    for (pos = 0; pos < LEN; pos += 64) {
        double xb[128], yb[128];
        memcpy(xb, x + pos, 64 * sizeof(double));
        memcpy(xb + 64, x + LEN + pos, 64 * sizeof(double));
        CHECK_STATUS(tonecore_pipeline_process_f64(p, xb, 128, yb, 128), TONECORE_STATUS_OK);
        memcpy(y + pos, yb, 64 * sizeof(double));
        memcpy(y + LEN + pos, yb + 64, 64 * sizeof(double));
    }
    /* Flat gains: a pure delay of exactly the reported latency, on both channels. */
    CHECK_MSG(fabs(y[latency] - 0.05) < 1e-9, "left at the latency: %g", y[latency]);
    CHECK_MSG(fabs(y[LEN + latency] - 0.05) < 1e-9, "right at the latency: %g",
              y[LEN + latency]);
    for (i = 0; i < LEN; i++) {
        if (i != latency) {
            rest += fabs(y[i]) + fabs(y[LEN + i]);
        }
    }
    CHECK_MSG(rest < 1e-9, "energy off the delayed impulse: %g", rest);
    tonecore_pipeline_free(p);
}

static void test_refusals(void) {
    static const size_t bad_partitions[] = {4, 7, 100, 131072, (size_t)-1};
    tonecore_equalizer_config c;
    tonecore_pipeline_config pc;
    tonecore_equalizer *eq;
    tonecore_pipeline *p;
    size_t i, latency = 0;
    check_section("refusals leave the out-parameter untouched; first-release configs still work");
    for (i = 0; i < sizeof bad_partitions / sizeof bad_partitions[0]; i++) {
        CHECK_STATUS(tonecore_equalizer_config_init(&c), TONECORE_STATUS_OK);
        c.partition = bad_partitions[i];
        eq = (tonecore_equalizer *)SENTINEL;
        CHECK_STATUS(tonecore_equalizer_new(&c, &eq), TONECORE_STATUS_INVALID_PARTITION);
        CHECK(eq == (tonecore_equalizer *)SENTINEL);
        CHECK_STATUS(tonecore_pipeline_config_init(&pc), TONECORE_STATUS_OK);
        pc.partition = bad_partitions[i];
        p = (tonecore_pipeline *)SENTINEL;
        CHECK_STATUS(tonecore_pipeline_new(&pc, &p), TONECORE_STATUS_INVALID_PARTITION);
        CHECK(p == (tonecore_pipeline *)SENTINEL);
    }
    CHECK_STATUS(tonecore_equalizer_config_init(&c), TONECORE_STATUS_OK);
    c.phase = 2;
    eq = (tonecore_equalizer *)SENTINEL;
    CHECK_STATUS(tonecore_equalizer_new(&c, &eq), TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK(eq == (tonecore_equalizer *)SENTINEL);
    CHECK_STATUS(tonecore_pipeline_config_init(&pc), TONECORE_STATUS_OK);
    pc.phase = -1;
    p = (tonecore_pipeline *)SENTINEL;
    CHECK_STATUS(tonecore_pipeline_new(&pc, &p), TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK(p == (tonecore_pipeline *)SENTINEL);
    /* A caller built against the first release: the new fields are not read (garbage there is
     * ignored), and the defaults apply (linear phase, overlap-save: latency 2048 + 1024). */
    CHECK_STATUS(tonecore_equalizer_config_init(&c), TONECORE_STATUS_OK);
    c.struct_size = offsetof(tonecore_equalizer_config, gains_len) + sizeof(size_t);
    c.phase = 99;
    c.partition = 3;
    eq = NULL;
    CHECK_STATUS(tonecore_equalizer_new(&c, &eq), TONECORE_STATUS_OK);
    if (eq != NULL) {
        CHECK_STATUS(tonecore_equalizer_latency(eq, &latency), TONECORE_STATUS_OK);
        CHECK_EQ_SIZE(latency, 3072);
        tonecore_equalizer_free(eq);
    }
    /* A size between releases is no version of the struct. */
    c.struct_size = offsetof(tonecore_equalizer_config, phase) + 2;
    eq = (tonecore_equalizer *)SENTINEL;
    CHECK_STATUS(tonecore_equalizer_new(&c, &eq), TONECORE_STATUS_STRUCT_SIZE);
    CHECK(eq == (tonecore_equalizer *)SENTINEL);
}

int main(void) {
    test_partition_choice();
    test_impulse_response();
    test_block_invariance();
    test_pipeline_latency();
    test_refusals();
    return check_finish();
}
