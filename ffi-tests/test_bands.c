/*
 * test_bands.c — band layouts (tonecore_layout_bands / _edges), the bin -> band map
 * (tonecore_band_map) and per-bin gain curves (tonecore_gain_curve), against the documented
 * edges, ISO nominal centres and double-precision reference implementations in ref.h; and every
 * refused call: its status, a detail message, and untouched (sentinel-filled) outputs.
 */
#include "ref.h"

#define MAX_N 8192
#define MAX_BINS (MAX_N / 2 + 1)

/* A custom layout used throughout (edges all > 0; one band holds no bin at coarse grids). */
static const double custom_edges[] = {50.0, 180.0, 181.0, 700.0, 2500.0, 2600.0, 9000.0, 15000.0};
#define CUSTOM_EDGES (sizeof custom_edges / sizeof custom_edges[0])

static double octave_edges[11], third_edges[32];

/* The edges of a built-in layout as the reference sees them (documented closed forms). */
static const double *layout_edges_ref(int32_t layout, size_t *nedges) {
    switch (layout) {
    case TONECORE_LAYOUT_CRITICAL:
        *nedges = 26;
        return ref_critical_edges;
    case TONECORE_LAYOUT_OCTAVE:
        *nedges = 11;
        return octave_edges;
    case TONECORE_LAYOUT_THIRD_OCTAVE:
        *nedges = 32;
        return third_edges;
    default:
        *nedges = CUSTOM_EDGES;
        return custom_edges;
    }
}

static const char *layout_name(int32_t layout) {
    switch (layout) {
    case TONECORE_LAYOUT_CRITICAL: return "critical";
    case TONECORE_LAYOUT_OCTAVE: return "octave";
    case TONECORE_LAYOUT_THIRD_OCTAVE: return "third-octave";
    case TONECORE_LAYOUT_CUSTOM: return "custom";
    default: return "?";
    }
}

static void init_iso_edges(void) {
    int k;
    /* Band edges half a band either side of the ISO base-2 centres 1000*2^(k/n). */
    for (k = -5; k <= 5; k++) {
        octave_edges[k + 5] = 1000.0 * pow(2.0, (double)k - 0.5);
    }
    for (k = -17; k <= 14; k++) {
        third_edges[k + 17] = 1000.0 * pow(2.0, ((double)k - 0.5) / 3.0);
    }
}

static void test_critical(void) {
    double edges[27], centers[26];
    size_t bands = sentinel_size(), i;
    int exact = 1;

    check_section("critical layout");
    CHECK_STATUS(tonecore_layout_bands(TONECORE_LAYOUT_CRITICAL, NULL, 0, &bands),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(bands, 25);
    sentinel_fill(edges, sizeof edges);
    sentinel_fill(centers, sizeof centers);
    CHECK_STATUS(tonecore_layout_edges(TONECORE_LAYOUT_CRITICAL, NULL, 0, edges, 27, centers, 26),
                 TONECORE_STATUS_OK);
    for (i = 0; i < 26; i++) {
        if (edges[i] != ref_critical_edges[i]) {
            exact = 0;
            CHECK_MSG(0, "critical edge %zu: %.17g, documented %.17g", i, edges[i],
                      ref_critical_edges[i]);
        }
    }
    CHECK_MSG(exact, "critical edges are exactly the 26 documented values");
    CHECK_MSG(sentinel_intact(edges + 26, sizeof(double)), "wrote a 27th edge");
    CHECK_MSG(sentinel_intact(centers + 25, sizeof(double)), "wrote a 26th centre");
    for (i = 0; i < 25; i++) {
        double want = sqrt(ref_critical_edges[i] * ref_critical_edges[i + 1]);
        CHECK_MSG(fabs(centers[i] - want) <= 1e-12 * want, "critical centre %zu: %.17g vs %.17g",
                  i, centers[i], want);
    }
    /* Exact-size buffers, and no centres at all (centers_out NULL). */
    sentinel_fill(edges, sizeof edges);
    CHECK_STATUS(tonecore_layout_edges(TONECORE_LAYOUT_CRITICAL, NULL, 0, edges, 26, NULL, 0),
                 TONECORE_STATUS_OK);
    CHECK(memcmp(edges, ref_critical_edges, sizeof ref_critical_edges) == 0);
    CHECK(sentinel_intact(edges + 26, sizeof(double)));
    /* edges are read only for CUSTOM: a non-NULL pointer with a bogus length is ignored. */
    bands = sentinel_size();
    CHECK_STATUS(tonecore_layout_bands(TONECORE_LAYOUT_CRITICAL, custom_edges, 1, &bands),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(bands, 25);
}

static void test_iso(void) {
    static const double octave_nominal[10] = {31.5, 63.0,   125.0,  250.0,  500.0,
                                              1000.0, 2000.0, 4000.0, 8000.0, 16000.0};
    static const double third_nominal[31] = {
        20.0,   25.0,   31.5,   40.0,   50.0,   63.0,   80.0,   100.0,  125.0,  160.0, 200.0,
        250.0,  315.0,  400.0,  500.0,  630.0,  800.0,  1000.0, 1250.0, 1600.0, 2000.0, 2500.0,
        3150.0, 4000.0, 5000.0, 6300.0, 8000.0, 10000.0, 12500.0, 16000.0, 20000.0};
    double edges[33], centers[32];
    size_t bands, i;

    check_section("octave layout");
    bands = sentinel_size();
    CHECK_STATUS(tonecore_layout_bands(TONECORE_LAYOUT_OCTAVE, NULL, 0, &bands), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(bands, 10);
    sentinel_fill(edges, sizeof edges);
    sentinel_fill(centers, sizeof centers);
    CHECK_STATUS(tonecore_layout_edges(TONECORE_LAYOUT_OCTAVE, NULL, 0, edges, 33, centers, 32),
                 TONECORE_STATUS_OK);
    CHECK(sentinel_intact(edges + 11, 22 * sizeof(double)));
    CHECK(sentinel_intact(centers + 10, 22 * sizeof(double)));
    for (i = 0; i < 10; i++) {
        CHECK_MSG(fabs(centers[i] / octave_nominal[i] - 1.0) < 0.03,
                  "octave centre %zu: %.6g vs nominal %.6g", i, centers[i], octave_nominal[i]);
        CHECK_MSG(fabs(centers[i] - sqrt(edges[i] * edges[i + 1])) <= 1e-12 * centers[i],
                  "octave centre %zu is not the geometric mean of its edges", i);
        CHECK_MSG(fabs(edges[i + 1] / edges[i] - 2.0) <= 1e-12, "octave band %zu spans %.15g",
                  i, edges[i + 1] / edges[i]);
    }
    for (i = 0; i < 11; i++) {
        CHECK_MSG(fabs(edges[i] - octave_edges[i]) <= 1e-12 * octave_edges[i],
                  "octave edge %zu: %.17g vs 1000*2^(k-1/2) = %.17g", i, edges[i], octave_edges[i]);
    }

    check_section("third-octave layout");
    bands = sentinel_size();
    CHECK_STATUS(tonecore_layout_bands(TONECORE_LAYOUT_THIRD_OCTAVE, NULL, 0, &bands),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(bands, 31);
    sentinel_fill(edges, sizeof edges);
    sentinel_fill(centers, sizeof centers);
    CHECK_STATUS(tonecore_layout_edges(TONECORE_LAYOUT_THIRD_OCTAVE, NULL, 0, edges, 32, centers,
                                       31),
                 TONECORE_STATUS_OK);
    CHECK(sentinel_intact(edges + 32, sizeof(double)));
    CHECK(sentinel_intact(centers + 31, sizeof(double)));
    for (i = 0; i < 31; i++) {
        CHECK_MSG(fabs(centers[i] / third_nominal[i] - 1.0) < 0.03,
                  "third-octave centre %zu: %.6g vs nominal %.6g", i, centers[i], third_nominal[i]);
        CHECK_MSG(fabs(centers[i] - sqrt(edges[i] * edges[i + 1])) <= 1e-12 * centers[i],
                  "third-octave centre %zu is not the geometric mean of its edges", i);
    }
    for (i = 0; i < 32; i++) {
        CHECK_MSG(fabs(edges[i] - third_edges[i]) <= 1e-12 * third_edges[i],
                  "third-octave edge %zu: %.17g vs %.17g", i, edges[i], third_edges[i]);
    }
    CHECK_MSG(fabs(centers[17] - 1000.0) <= 1e-9, "third-octave band 17 centre %.17g", centers[17]);
}

static void test_custom_layout(void) {
    static const double two[] = {0.0, 24000.0};
    double edges[CUSTOM_EDGES + 1], centers[CUSTOM_EDGES];
    size_t bands, i;

    check_section("custom layout");
    bands = sentinel_size();
    CHECK_STATUS(tonecore_layout_bands(TONECORE_LAYOUT_CUSTOM, custom_edges, CUSTOM_EDGES, &bands),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(bands, CUSTOM_EDGES - 1);
    sentinel_fill(edges, sizeof edges);
    sentinel_fill(centers, sizeof centers);
    CHECK_STATUS(tonecore_layout_edges(TONECORE_LAYOUT_CUSTOM, custom_edges, CUSTOM_EDGES, edges,
                                       CUSTOM_EDGES + 1, centers, CUSTOM_EDGES),
                 TONECORE_STATUS_OK);
    CHECK(memcmp(edges, custom_edges, sizeof custom_edges) == 0);
    CHECK(sentinel_intact(edges + CUSTOM_EDGES, sizeof(double)));
    CHECK(sentinel_intact(centers + CUSTOM_EDGES - 1, sizeof(double)));
    for (i = 0; i + 1 < CUSTOM_EDGES; i++) {
        double want = sqrt(custom_edges[i] * custom_edges[i + 1]);
        CHECK_MSG(fabs(centers[i] - want) <= 1e-12 * want, "custom centre %zu: %.17g vs %.17g", i,
                  centers[i], want);
    }
    /* The smallest layout: two edges, one band, starting at 0 Hz. */
    bands = sentinel_size();
    CHECK_STATUS(tonecore_layout_bands(TONECORE_LAYOUT_CUSTOM, two, 2, &bands), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(bands, 1);
    sentinel_fill(edges, sizeof edges);
    CHECK_STATUS(tonecore_layout_edges(TONECORE_LAYOUT_CUSTOM, two, 2, edges, 2, NULL, 0),
                 TONECORE_STATUS_OK);
    CHECK(edges[0] == 0.0 && edges[1] == 24000.0);
    CHECK(sentinel_intact(edges + 2, sizeof(double)));
}

/* tonecore_band_map for one (layout, sr, N) against ref_band_map. */
static void band_map_case(int32_t layout, uint32_t sr, size_t n) {
    static uint32_t got[MAX_BINS + 1], want[MAX_BINS];
    size_t nedges, bins = n / 2 + 1, k, mismatches = 0, first = 0;
    const double *e = layout_edges_ref(layout, &nedges);
    const double *edges = layout == TONECORE_LAYOUT_CUSTOM ? custom_edges : NULL;
    size_t edges_len = layout == TONECORE_LAYOUT_CUSTOM ? CUSTOM_EDGES : 0;

    ref_band_map(e, nedges, sr, n, want);
    sentinel_fill(got, sizeof got);
    CHECK_STATUS(tonecore_band_map(layout, edges, edges_len, sr, n, got, bins), TONECORE_STATUS_OK);
    for (k = 0; k < bins; k++) {
        if (got[k] != want[k]) {
            if (mismatches == 0) {
                first = k;
            }
            mismatches++;
        }
    }
    CHECK_MSG(mismatches == 0,
              "%s sr=%u N=%zu: %zu bins differ, first bin %zu (%.17g Hz): band %u, want %u",
              layout_name(layout), (unsigned)sr, n, mismatches, first,
              ref_bin_freq(sr, n, first), got[first], want[first]);
    CHECK_MSG(sentinel_intact(got + bins, sizeof(uint32_t)), "%s sr=%u N=%zu: wrote past the map",
              layout_name(layout), (unsigned)sr, n);
}

static void test_band_map(void) {
    static const uint32_t rates[] = {44100, 48000, 22050, 8000, 96000, 44101};
    static const size_t sizes[] = {16, 18, 256, 1000, 4096, 8192};
    static const int32_t layouts[] = {TONECORE_LAYOUT_CRITICAL, TONECORE_LAYOUT_OCTAVE,
                                      TONECORE_LAYOUT_THIRD_OCTAVE, TONECORE_LAYOUT_CUSTOM};
    size_t r, s, l;
    uint32_t map[9 + 1];

    check_section("tonecore_band_map vs reference");
    for (l = 0; l < sizeof layouts / sizeof layouts[0]; l++) {
        for (r = 0; r < sizeof rates / sizeof rates[0]; r++) {
            for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                band_map_case(layouts[l], rates[r], sizes[s]);
            }
        }
    }

    check_section("tonecore_band_map boundaries (literal values)");
    {
        /* sr 8000, N 16: bins at 0, 500, ..., 4000 Hz; a bin exactly on an edge belongs to the
         * band above it; below the first edge -> band 0; above the last -> the last band. */
        static const double e[] = {500.0, 1000.0, 2000.0, 3000.0};
        static const uint32_t want[9] = {0, 0, 1, 1, 2, 2, 2, 2, 2};
        sentinel_fill(map, sizeof map);
        CHECK_STATUS(tonecore_band_map(TONECORE_LAYOUT_CUSTOM, e, 4, 8000, 16, map, 9),
                     TONECORE_STATUS_OK);
        CHECK(memcmp(map, want, sizeof want) == 0);
        CHECK(sentinel_intact(map + 9, sizeof(uint32_t)));
    }
    {
        /* An odd rate: the last bin is the integer sr/2 = 4000 Hz, below an edge at 4000.25. */
        static const double e[] = {0.0, 1000.0, 4000.25, 5000.0};
        static const uint32_t want[9] = {0, 0, 1, 1, 1, 1, 1, 1, 1};
        sentinel_fill(map, sizeof map);
        CHECK_STATUS(tonecore_band_map(TONECORE_LAYOUT_CUSTOM, e, 4, 8001, 16, map, 9),
                     TONECORE_STATUS_OK);
        CHECK_MSG(memcmp(map, want, sizeof want) == 0, "last bin band %u, want 1", map[8]);
    }
    {
        /* The smallest grid, N = 2: bins at 0 and sr/2. */
        static const double e[] = {10.0, 100.0, 200.0};
        sentinel_fill(map, sizeof map);
        CHECK_STATUS(tonecore_band_map(TONECORE_LAYOUT_CUSTOM, e, 3, 300, 2, map, 2),
                     TONECORE_STATUS_OK);
        CHECK(map[0] == 0 && map[1] == 1);
        CHECK(sentinel_intact(map + 2, sizeof(uint32_t)));
    }
}

/* tonecore_gain_curve for one case against the reference, in both modes. */
static void gain_curve_case(int32_t layout, uint32_t sr, size_t n, const double *gains,
                            size_t bands) {
    static double got[MAX_BINS + 1];
    static uint32_t map[MAX_BINS];
    double clamped[64];
    size_t nedges, bins = n / 2 + 1, k, b;
    const double *e = layout_edges_ref(layout, &nedges);
    const double *edges = layout == TONECORE_LAYOUT_CUSTOM ? custom_edges : NULL;
    size_t edges_len = layout == TONECORE_LAYOUT_CUSTOM ? CUSTOM_EDGES : 0;
    double step_err = 0.0, smooth_err = 0.0;

    for (b = 0; b < bands; b++) {
        clamped[b] = ref_clamp_db(gains[b]);
    }
    ref_band_map(e, nedges, sr, n, map);

    sentinel_fill(got, sizeof got);
    CHECK_STATUS(tonecore_gain_curve(layout, edges, edges_len, gains, bands, sr, n,
                                     TONECORE_CURVE_MODE_STEP, got, bins),
                 TONECORE_STATUS_OK);
    for (k = 0; k < bins; k++) {
        double want = ref_db_to_linear(clamped[map[k]]);
        step_err = ref_max_err(step_err, fabs(got[k] - want) / want);
    }
    CHECK_MSG(step_err <= 1e-15, "%s sr=%u N=%zu step: relative error %.3g", layout_name(layout),
              (unsigned)sr, n, step_err);
    CHECK(sentinel_intact(got + bins, sizeof(double)));

    sentinel_fill(got, sizeof got);
    CHECK_STATUS(tonecore_gain_curve(layout, edges, edges_len, gains, bands, sr, n,
                                     TONECORE_CURVE_MODE_SMOOTH, got, bins),
                 TONECORE_STATUS_OK);
    for (k = 0; k < bins; k++) {
        double want = ref_db_to_linear(ref_smooth_db(e, nedges, clamped, ref_bin_freq(sr, n, k)));
        smooth_err = ref_max_err(smooth_err, fabs(got[k] - want) / want);
    }
    CHECK_MSG(smooth_err <= 1e-12, "%s sr=%u N=%zu smooth: relative error %.3g",
              layout_name(layout), (unsigned)sr, n, smooth_err);
    CHECK(sentinel_intact(got + bins, sizeof(double)));
}

static void test_gain_curve(void) {
    static const uint32_t rates[] = {44100, 48000, 8000, 44101};
    static const size_t sizes[] = {16, 256, 1000, 4096, 8192};
    static const int32_t layouts[] = {TONECORE_LAYOUT_CRITICAL, TONECORE_LAYOUT_OCTAVE,
                                      TONECORE_LAYOUT_THIRD_OCTAVE, TONECORE_LAYOUT_CUSTOM};
    ref_rng rng = ref_rng_new(2024);
    double gains[64];
    size_t l, r, s, b;

    check_section("tonecore_gain_curve vs reference (step and smooth)");
    for (l = 0; l < sizeof layouts / sizeof layouts[0]; l++) {
        size_t nedges;
        layout_edges_ref(layouts[l], &nedges);
        for (r = 0; r < sizeof rates / sizeof rates[0]; r++) {
            for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                for (b = 0; b + 1 < nedges; b++) {
                    gains[b] = 12.0 * ref_uniform(&rng);
                }
                gain_curve_case(layouts[l], rates[r], sizes[s], gains, nedges - 1);
            }
        }
    }

    check_section("tonecore_gain_curve clamps to +-24 dB; passes through centres");
    {
        double g[25], curve[2049];
        size_t k;
        for (b = 0; b < 25; b++) {
            g[b] = (b % 2 == 0) ? 40.0 : -100.0;
        }
        gain_curve_case(TONECORE_LAYOUT_CRITICAL, 44100, 4096, g, 25);
        CHECK_STATUS(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 25, 44100, 4096,
                                         TONECORE_CURVE_MODE_STEP, curve, 2049),
                     TONECORE_STATUS_OK);
        for (k = 0; k < 2049; k++) {
            if (!(fabs(curve[k] - ref_db_to_linear(24.0)) <= 1e-15 * ref_db_to_linear(24.0) ||
                  fabs(curve[k] - ref_db_to_linear(-24.0)) <= 1e-15 * ref_db_to_linear(-24.0))) {
                break;
            }
        }
        CHECK_MSG(k == 2049, "bin %zu: %.17g is neither +24 nor -24 dB", k, k < 2049 ? curve[k] : 0.0);
    }
    {
        /* Smooth mode at a grid where a bin lies on a centre: sr 8000, N 16 -> bins every
         * 500 Hz; custom edges 250-1000-4000 have centres 500 and 2000 Hz. */
        static const double e[] = {250.0, 1000.0, 4000.0};
        static const double g[] = {6.0, -6.0};
        double curve[9 + 1];
        /* bins 0..9: 0, 500 (=c0), 1000 (half-way in log2), 1500, 2000 (=c1), then flat. */
        double want_db[9];
        size_t k;
        want_db[0] = 6.0;
        want_db[1] = 6.0;
        want_db[2] = 0.0;
        want_db[3] = 6.0 - 12.0 * log2(3.0) / 2.0;
        for (k = 4; k < 9; k++) {
            want_db[k] = -6.0;
        }
        sentinel_fill(curve, sizeof curve);
        CHECK_STATUS(tonecore_gain_curve(TONECORE_LAYOUT_CUSTOM, e, 3, g, 2, 8000, 16,
                                         TONECORE_CURVE_MODE_SMOOTH, curve, 9),
                     TONECORE_STATUS_OK);
        for (k = 0; k < 9; k++) {
            double want = ref_db_to_linear(want_db[k]);
            CHECK_MSG(fabs(curve[k] - want) <= 1e-12 * want, "bin %zu: %.17g, want %.17g (%.3f dB)",
                      k, curve[k], want, want_db[k]);
        }
        CHECK(sentinel_intact(curve + 9, sizeof(double)));
    }
}

/* ---------------------------------------------------------------------------------------------
 * Errors: status, detail message, nothing written.
 * ------------------------------------------------------------------------------------------- */

static double out_edges[40], out_centers[40], out_curve[2049 + 8];
static uint32_t out_map[2049 + 8];
static size_t out_bands;

static void reset_outputs(void) {
    sentinel_fill(out_edges, sizeof out_edges);
    sentinel_fill(out_centers, sizeof out_centers);
    sentinel_fill(out_curve, sizeof out_curve);
    sentinel_fill(out_map, sizeof out_map);
    out_bands = sentinel_size();
}

static int outputs_untouched(void) {
    return sentinel_intact(out_edges, sizeof out_edges) &&
           sentinel_intact(out_centers, sizeof out_centers) &&
           sentinel_intact(out_curve, sizeof out_curve) &&
           sentinel_intact(out_map, sizeof out_map) && out_bands == sentinel_size();
}

#define EXPECT_REFUSED(call, expected, what)                                                  \
    do {                                                                                      \
        reset_outputs();                                                                      \
        CHECK_STATUS(call, expected);                                                         \
        CHECK_MSG(tonecore_last_error_message()[0] != '\0', "%s: no detail message", what);    \
        CHECK_MSG(outputs_untouched(), "%s: an output was written", what);                    \
    } while (0)

/* Every function refuses a layout with `expected`. */
static void expect_layout_refused(int32_t layout, const double *edges, size_t edges_len,
                                  int32_t expected, const char *what) {
    static const double g[64] = {0};
    char label[160];
    snprintf(label, sizeof label, "%s: layout_bands", what);
    EXPECT_REFUSED(tonecore_layout_bands(layout, edges, edges_len, &out_bands), expected, label);
    snprintf(label, sizeof label, "%s: layout_edges", what);
    EXPECT_REFUSED(tonecore_layout_edges(layout, edges, edges_len, out_edges, 40, out_centers, 40),
                   expected, label);
    snprintf(label, sizeof label, "%s: band_map", what);
    EXPECT_REFUSED(tonecore_band_map(layout, edges, edges_len, 44100, 4096, out_map, 2049),
                   expected, label);
    snprintf(label, sizeof label, "%s: gain_curve", what);
    EXPECT_REFUSED(tonecore_gain_curve(layout, edges, edges_len, g, edges_len > 0 ? edges_len - 1 : 0,
                                       44100, 4096, TONECORE_CURVE_MODE_SMOOTH, out_curve, 2049),
                   expected, label);
}

static void test_errors(void) {
    /* 4 is TONECORE_LAYOUT_SIXTH_OCTAVE: 5 is the first unknown value. */
    static const int32_t bad_layouts[] = {-1, 5, 100, INT32_MAX, INT32_MIN};
    double e[8];
    double g[26];
    size_t i;

    check_section("unknown layouts");
    for (i = 0; i < sizeof bad_layouts / sizeof bad_layouts[0]; i++) {
        expect_layout_refused(bad_layouts[i], custom_edges, CUSTOM_EDGES,
                              TONECORE_STATUS_INVALID_ARGUMENT, "unknown layout");
    }

    check_section("bad custom edges");
    e[0] = 100.0;
    expect_layout_refused(TONECORE_LAYOUT_CUSTOM, e, 1, TONECORE_STATUS_INVALID_BANDS, "one edge");
    expect_layout_refused(TONECORE_LAYOUT_CUSTOM, e, 0, TONECORE_STATUS_INVALID_BANDS, "no edges");
    e[0] = 100.0; e[1] = 200.0; e[2] = 200.0; e[3] = 400.0;
    expect_layout_refused(TONECORE_LAYOUT_CUSTOM, e, 4, TONECORE_STATUS_INVALID_BANDS,
                          "repeated edge");
    e[2] = 150.0;
    expect_layout_refused(TONECORE_LAYOUT_CUSTOM, e, 4, TONECORE_STATUS_INVALID_BANDS,
                          "descending edge");
    e[2] = 300.0; e[0] = -1.0;
    expect_layout_refused(TONECORE_LAYOUT_CUSTOM, e, 4, TONECORE_STATUS_INVALID_BANDS,
                          "negative edge");
    e[0] = 100.0; e[3] = NAN;
    expect_layout_refused(TONECORE_LAYOUT_CUSTOM, e, 4, TONECORE_STATUS_INVALID_BANDS, "NaN edge");
    e[3] = INFINITY;
    expect_layout_refused(TONECORE_LAYOUT_CUSTOM, e, 4, TONECORE_STATUS_INVALID_BANDS, "Inf edge");
    e[3] = 400.0;
    expect_layout_refused(TONECORE_LAYOUT_CUSTOM, NULL, 4, TONECORE_STATUS_NULL_POINTER,
                          "NULL custom edges");
    expect_layout_refused(TONECORE_LAYOUT_CUSTOM, NULL, 0, TONECORE_STATUS_NULL_POINTER,
                          "NULL custom edges of length 0");

    check_section("NULL outputs and gains");
    for (i = 0; i < 26; i++) {
        g[i] = 1.0;
    }
    EXPECT_REFUSED(tonecore_layout_bands(TONECORE_LAYOUT_CRITICAL, NULL, 0, NULL),
                   TONECORE_STATUS_NULL_POINTER, "layout_bands NULL bands_out");
    EXPECT_REFUSED(tonecore_layout_edges(TONECORE_LAYOUT_CRITICAL, NULL, 0, NULL, 26, out_centers,
                                         25),
                   TONECORE_STATUS_NULL_POINTER, "layout_edges NULL edges_out");
    EXPECT_REFUSED(tonecore_band_map(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, 4096, NULL, 2049),
                   TONECORE_STATUS_NULL_POINTER, "band_map NULL map_out");
    EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 25, 44100, 4096,
                                       TONECORE_CURVE_MODE_STEP, NULL, 2049),
                   TONECORE_STATUS_NULL_POINTER, "gain_curve NULL curve_out");
    EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, NULL, 25, 44100, 4096,
                                       TONECORE_CURVE_MODE_STEP, out_curve, 2049),
                   TONECORE_STATUS_NULL_POINTER, "gain_curve NULL gains");

    check_section("buffers one too small");
    EXPECT_REFUSED(tonecore_layout_edges(TONECORE_LAYOUT_CRITICAL, NULL, 0, out_edges, 25, NULL, 0),
                   TONECORE_STATUS_BUFFER_TOO_SMALL, "layout_edges edges_out 25 of 26");
    EXPECT_REFUSED(tonecore_layout_edges(TONECORE_LAYOUT_CRITICAL, NULL, 0, out_edges, 26,
                                         out_centers, 24),
                   TONECORE_STATUS_BUFFER_TOO_SMALL, "layout_edges centers_out 24 of 25");
    EXPECT_REFUSED(tonecore_layout_edges(TONECORE_LAYOUT_THIRD_OCTAVE, NULL, 0, out_edges, 31,
                                         out_centers, 31),
                   TONECORE_STATUS_BUFFER_TOO_SMALL, "layout_edges third-octave edges_out 31 of 32");
    EXPECT_REFUSED(tonecore_layout_edges(TONECORE_LAYOUT_CUSTOM, custom_edges, CUSTOM_EDGES,
                                         out_edges, CUSTOM_EDGES, out_centers, CUSTOM_EDGES - 2),
                   TONECORE_STATUS_BUFFER_TOO_SMALL, "layout_edges custom centers one short");
    EXPECT_REFUSED(tonecore_band_map(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, 4096, out_map, 2048),
                   TONECORE_STATUS_BUFFER_TOO_SMALL, "band_map 2048 of 2049");
    EXPECT_REFUSED(tonecore_band_map(TONECORE_LAYOUT_OCTAVE, NULL, 0, 48000, 18, out_map, 9),
                   TONECORE_STATUS_BUFFER_TOO_SMALL, "band_map 9 of 10");
    EXPECT_REFUSED(tonecore_band_map(TONECORE_LAYOUT_OCTAVE, NULL, 0, 48000, 18, out_map, 0),
                   TONECORE_STATUS_BUFFER_TOO_SMALL, "band_map map_len 0");
    EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 25, 44100, 4096,
                                       TONECORE_CURVE_MODE_SMOOTH, out_curve, 2048),
                   TONECORE_STATUS_BUFFER_TOO_SMALL, "gain_curve 2048 of 2049");
    EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 25, 44100, 16,
                                       TONECORE_CURVE_MODE_STEP, out_curve, 8),
                   TONECORE_STATUS_BUFFER_TOO_SMALL, "gain_curve 8 of 9");

    check_section("huge fft sizes are refused before anything is allocated");
    {
        static const size_t huge[] = {((size_t)1 << 24) + 2, (size_t)1 << 40, (size_t)-1 - 1,
                                      (size_t)-1};
        for (size_t k = 0; k < sizeof huge / sizeof huge[0]; k++) {
            EXPECT_REFUSED(tonecore_band_map(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, huge[k],
                                             out_map, 2049),
                           TONECORE_STATUS_INVALID_FFT_SIZE, "band_map with a huge fft_size");
            EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 25, 44100,
                                               huge[k], TONECORE_CURVE_MODE_SMOOTH, out_curve, 2049),
                           TONECORE_STATUS_INVALID_FFT_SIZE, "gain_curve with a huge fft_size");
        }
    }

    check_section("gain count, non-finite gains, curve mode");
    EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 24, 44100, 4096,
                                       TONECORE_CURVE_MODE_SMOOTH, out_curve, 2049),
                   TONECORE_STATUS_GAIN_COUNT, "24 gains for 25 bands");
    EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 26, 44100, 4096,
                                       TONECORE_CURVE_MODE_SMOOTH, out_curve, 2049),
                   TONECORE_STATUS_GAIN_COUNT, "26 gains for 25 bands");
    EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 0, 44100, 4096,
                                       TONECORE_CURVE_MODE_STEP, out_curve, 2049),
                   TONECORE_STATUS_GAIN_COUNT, "0 gains");
    EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_OCTAVE, NULL, 0, g, 25, 44100, 4096,
                                       TONECORE_CURVE_MODE_STEP, out_curve, 2049),
                   TONECORE_STATUS_GAIN_COUNT, "25 gains for 10 octave bands");
    g[7] = NAN;
    EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 25, 44100, 4096,
                                       TONECORE_CURVE_MODE_SMOOTH, out_curve, 2049),
                   TONECORE_STATUS_NON_FINITE, "NaN gain (smooth)");
    EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 25, 44100, 4096,
                                       TONECORE_CURVE_MODE_STEP, out_curve, 2049),
                   TONECORE_STATUS_NON_FINITE, "NaN gain (step)");
    g[7] = 1.0;
    g[24] = -INFINITY;
    EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 25, 44100, 4096,
                                       TONECORE_CURVE_MODE_SMOOTH, out_curve, 2049),
                   TONECORE_STATUS_NON_FINITE, "-Inf gain");
    g[24] = 1.0;
    EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 25, 44100, 4096, 2,
                                       out_curve, 2049),
                   TONECORE_STATUS_INVALID_ARGUMENT, "curve mode 2");
    EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 25, 44100, 4096, -1,
                                       out_curve, 2049),
                   TONECORE_STATUS_INVALID_ARGUMENT, "curve mode -1");

    check_section("sample rate and FFT size");
    EXPECT_REFUSED(tonecore_band_map(TONECORE_LAYOUT_CRITICAL, NULL, 0, 0, 4096, out_map, 2049),
                   TONECORE_STATUS_INVALID_SAMPLE_RATE, "band_map sample rate 0");
    EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 25, 0, 4096,
                                       TONECORE_CURVE_MODE_SMOOTH, out_curve, 2049),
                   TONECORE_STATUS_INVALID_SAMPLE_RATE, "gain_curve sample rate 0");
    {
        static const size_t bad_fft[] = {0, 1, 7, 4095, 4097};
        for (i = 0; i < sizeof bad_fft / sizeof bad_fft[0]; i++) {
            char what[80];
            snprintf(what, sizeof what, "band_map fft_size %zu", bad_fft[i]);
            EXPECT_REFUSED(tonecore_band_map(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, bad_fft[i],
                                             out_map, 2049),
                           TONECORE_STATUS_INVALID_FFT_SIZE, what);
            snprintf(what, sizeof what, "gain_curve fft_size %zu", bad_fft[i]);
            EXPECT_REFUSED(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 25, 44100,
                                               bad_fft[i], TONECORE_CURVE_MODE_STEP, out_curve,
                                               2049),
                           TONECORE_STATUS_INVALID_FFT_SIZE, what);
        }
    }

    /* And the same calls succeed once the one bad argument is fixed. */
    reset_outputs();
    CHECK_STATUS(tonecore_gain_curve(TONECORE_LAYOUT_CRITICAL, NULL, 0, g, 25, 44100, 4096,
                                     TONECORE_CURVE_MODE_SMOOTH, out_curve, 2049),
                 TONECORE_STATUS_OK);
    CHECK_STR_EQ(tonecore_last_error_message(), "");
    CHECK(sentinel_intact(out_curve + 2049, 8 * sizeof(double)));
    CHECK_STATUS(tonecore_band_map(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, 4096, out_map, 2049),
                 TONECORE_STATUS_OK);
    CHECK(sentinel_intact(out_map + 2049, 8 * sizeof(uint32_t)));
}

int main(void) {
    init_iso_edges();
    test_critical();
    test_iso();
    test_custom_layout();
    test_band_map();
    test_gain_curve();
    test_errors();
    return check_finish();
}
