/*
 * test_loudness.c — tonecore_loudness_measure_* and the streaming tonecore_loudness_meter.
 *
 * Published reference values: EBU Tech 3341 cases 1–6 (stereo / 5.0 1 kHz sines at 48 kHz,
 * integrated loudness, momentary and short-term maxima), EBU Tech 3342 loudness-range cases
 * 1–3, the true peak of an fs/4 sine sampled at 45° (every sample at A/sqrt(2), true peak A),
 * mono = one front channel (3 LU below the same sine on both stereo channels).
 * Independent reference: a double-precision ITU-R BS.1770-4 meter written here with the
 * standard's published 48 kHz K-weighting coefficients and channel weights (block gating at
 * -70 LUFS and -10 LU), compared on gated stereo and 5.1 noise.
 * Also: the streaming meter fed in odd block sizes equals the one-shot measurement, reset, and
 * every refusal (sentinel-filled outputs untouched).
 */
#include "ref.h"

#define SR48 48000u
#define SR44 44100u

/* |value - want| <= tol (NaN fails), with a description of the case. */
#define CHECK_NEAR(value, want, tol, ...)                                                     \
    do {                                                                                      \
        double cn_v_ = (double)(value), cn_w_ = (double)(want), cn_t_ = (double)(tol);         \
        char cn_what_[160];                                                                   \
        snprintf(cn_what_, sizeof cn_what_, __VA_ARGS__);                                     \
        (void)check_record(fabs(cn_v_ - cn_w_) <= cn_t_, __FILE__, __LINE__,                  \
                           #value " ~ " #want, "%s: got %.6f, want %.6f +- %g", cn_what_,     \
                           cn_v_, cn_w_, cn_t_);                                              \
    } while (0)

/* value is -inf. */
#define CHECK_NEG_INF(value, what)                                                            \
    CHECK_MSG(isinf(value) && (value) < 0.0, "%s: %s = %g, want -inf", what, #value,           \
              (double)(value))

typedef struct segment {
    double dbfs;    /* sine amplitude per channel, dBFS (peak: 20*log10(A)) */
    double seconds; /* duration */
} segment;

/*
 * Planar `channels` x frames buffer of a phase-continuous 1 kHz sine over the segments, the same
 * on every channel whose gain in `chan_db` (NULL: 0 dB for all) is finite; *len_out = frames.
 */
static double *sine_segments(uint32_t sr, const segment *seg, size_t nseg, size_t channels,
                             const double *chan_db, size_t *len_out) {
    size_t len = 0, s, i, c, pos = 0;
    double *x;
    for (s = 0; s < nseg; s++) {
        len += (size_t)floor(seg[s].seconds * (double)sr + 0.5);
    }
    x = (double *)ref_alloc(channels * len, sizeof(double));
    for (s = 0; s < nseg; s++) {
        size_t n = (size_t)floor(seg[s].seconds * (double)sr + 0.5);
        double a = pow(10.0, seg[s].dbfs / 20.0);
        for (i = 0; i < n; i++) {
            /* 1000 Hz: the phase of sample k is 2*pi*(k*1000 mod sr)/sr (exact integer part). */
            size_t k = pos + i;
            double v = a * sin(2.0 * M_PI * (double)((k * 1000u) % sr) / (double)sr);
            for (c = 0; c < channels; c++) {
                double g = chan_db == NULL ? 0.0 : chan_db[c];
                x[c * len + k] = isfinite(g) ? v * pow(10.0, g / 20.0) : 0.0;
            }
        }
        pos += n;
    }
    *len_out = len;
    return x;
}

static float *to_float(const double *x, size_t n) {
    float *f = (float *)ref_alloc(n, sizeof(float));
    size_t i;
    for (i = 0; i < n; i++) {
        f[i] = (float)x[i];
    }
    return f;
}

/* Measures `x` with both entry points (the f32 one on the float-rounded signal). */
static int measure_both(const double *x, size_t len, size_t channels, uint32_t sr,
                        tonecore_loudness_report *r64, tonecore_loudness_report *r32) {
    float *f = to_float(x, channels * len);
    int32_t s64, s32;
    s64 = tonecore_loudness_measure_f64(x, channels * len, channels, sr, r64);
    s32 = tonecore_loudness_measure_f32(f, channels * len, channels, sr, r32);
    CHECK_STATUS(s64, TONECORE_STATUS_OK);
    CHECK_STATUS(s32, TONECORE_STATUS_OK);
    free(f);
    return s64 == TONECORE_STATUS_OK && s32 == TONECORE_STATUS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * EBU Tech 3341 / 3342
 * ------------------------------------------------------------------------------------------- */

static void test_tech_3341(void) {
    static const segment c1[] = {{-23.0, 20.0}};
    static const segment c2[] = {{-33.0, 20.0}};
    static const segment c3[] = {{-36.0, 10.0}, {-23.0, 60.0}, {-36.0, 10.0}};
    static const segment c4[] = {{-72.0, 10.0}, {-36.0, 10.0}, {-23.0, 60.0}, {-36.0, 10.0},
                                 {-72.0, 10.0}};
    static const segment c5[] = {{-26.0, 20.0}, {-20.0, 20.1}, {-26.0, 20.0}};
    static const struct {
        const segment *seg;
        size_t n;
        double integrated; /* the published value */
        double loudest;    /* the loudest segment: momentary and short-term maxima */
    } cases[] = {
        {c1, 1, -23.0, -23.0}, {c2, 1, -33.0, -33.0}, {c3, 3, -23.0, -23.0},
        {c4, 5, -23.0, -23.0}, {c5, 3, -23.0, -20.0},
    };
    size_t k;

    check_section("EBU Tech 3341 cases 1-5 (stereo 1 kHz sines, 48 kHz): I = -23.0 / -33.0 +- 0.1");
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t len;
        double *x = sine_segments(SR48, cases[k].seg, cases[k].n, 2, NULL, &len);
        tonecore_loudness_report r[2];
        int v;
        if (measure_both(x, len, 2, SR48, &r[0], &r[1])) {
            for (v = 0; v < 2; v++) {
                const char *fmt = v == 0 ? "f64" : "f32";
                CHECK_NEAR(r[v].integrated, cases[k].integrated, 0.1, "case %zu %s integrated",
                           k + 1, fmt);
                /* Steady sines: every full window of the loudest segment reads its level, and a
                 * window straddling two levels reads less. Cases 1 and 2 specify M and S. */
                CHECK_NEAR(r[v].momentary_max, cases[k].loudest, 0.1, "case %zu %s momentary max",
                           k + 1, fmt);
                CHECK_NEAR(r[v].short_term_max, cases[k].loudest, 0.1,
                           "case %zu %s short-term max", k + 1, fmt);
                /* Sample peak of a 1 kHz sine at 48 kHz is its amplitude; true peak too. */
                CHECK_NEAR(r[v].true_peak, cases[k].loudest, 0.1, "case %zu %s true peak",
                           k + 1, fmt);
            }
            printf("   case %zu: I %.3f M %.3f S %.3f LRA %.2f TP %.3f\n", k + 1,
                   r[0].integrated, r[0].momentary_max, r[0].short_term_max, r[0].range,
                   r[0].true_peak);
        }
        free(x);
    }

    check_section("EBU Tech 3341 case 6 (5.0: L R -28, C -24, Ls Rs -30 dBFS, 20 s): I = -23.0 +- 0.1");
    {
        static const segment s6[] = {{0.0, 20.0}};
        static const double gains[5] = {-28.0, -28.0, -24.0, -30.0, -30.0};
        size_t len;
        double *x = sine_segments(SR48, s6, 1, 5, gains, &len);
        tonecore_loudness_report r[2];
        if (measure_both(x, len, 5, SR48, &r[0], &r[1])) {
            CHECK_NEAR(r[0].integrated, -23.0, 0.1, "case 6 f64 integrated");
            CHECK_NEAR(r[1].integrated, -23.0, 0.1, "case 6 f32 integrated");
            printf("   case 6: I %.3f\n", r[0].integrated);
        }
        free(x);
    }
}

static void test_tech_3342(void) {
    static const segment c1[] = {{-20.0, 20.0}, {-30.0, 20.0}};
    static const segment c2[] = {{-20.0, 20.0}, {-15.0, 20.0}};
    static const segment c3[] = {{-40.0, 20.0}, {-20.0, 20.0}};
    static const struct {
        const segment *seg;
        double lra;
    } cases[] = {{c1, 10.0}, {c2, 5.0}, {c3, 20.0}};
    size_t k;

    check_section("EBU Tech 3342 cases 1-3 (stereo 1 kHz, 48 kHz): LRA 10 / 5 / 20 +- 1 LU");
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t len;
        double *x = sine_segments(SR48, cases[k].seg, 2, 2, NULL, &len);
        tonecore_loudness_report r[2];
        if (measure_both(x, len, 2, SR48, &r[0], &r[1])) {
            CHECK_NEAR(r[0].range, cases[k].lra, 1.0, "Tech 3342 case %zu f64 LRA", k + 1);
            CHECK_NEAR(r[1].range, cases[k].lra, 1.0, "Tech 3342 case %zu f32 LRA", k + 1);
            printf("   case %zu: LRA %.3f LU\n", k + 1, r[0].range);
        }
        free(x);
    }
}

static void test_true_peak(void) {
    const size_t len = 2 * SR48;
    double *x = (double *)ref_alloc(2 * len, sizeof(double));
    double sample_peak = 0.0;
    tonecore_loudness_report r[2];
    size_t i;

    check_section("true peak: fs/4 sine at 45 deg, amplitude 0.5 (samples at 0.354): "
                  "-6.02 dBTP +0.2/-0.4");
    for (i = 0; i < len; i++) {
        x[i] = 0.5 * sin(M_PI / 2.0 * (double)(i % 4) + M_PI / 4.0);
        x[len + i] = x[i];
        sample_peak = fabs(x[i]) > sample_peak ? fabs(x[i]) : sample_peak;
    }
    /* The signal really has no sample near its true peak. */
    CHECK_NEAR(20.0 * log10(sample_peak), 20.0 * log10(0.5 / sqrt(2.0)), 1e-9, "sample peak");
    if (measure_both(x, len, 2, SR48, &r[0], &r[1])) {
        double want = 20.0 * log10(0.5);
        CHECK_MSG(r[0].true_peak <= want + 0.2 && r[0].true_peak >= want - 0.4,
                  "f64 stereo true peak %.4f dBTP, want %.4f +0.2/-0.4", r[0].true_peak, want);
        CHECK_MSG(r[1].true_peak <= want + 0.2 && r[1].true_peak >= want - 0.4,
                  "f32 stereo true peak %.4f dBTP, want %.4f +0.2/-0.4", r[1].true_peak, want);
        printf("   true peak %.4f dBTP (sample peak %.4f dBFS)\n", r[0].true_peak,
               20.0 * log10(sample_peak));
    }
    if (measure_both(x, len, 1, SR48, &r[0], &r[1])) {
        double want = 20.0 * log10(0.5);
        CHECK_MSG(r[0].true_peak <= want + 0.2 && r[0].true_peak >= want - 0.4,
                  "f64 mono true peak %.4f dBTP", r[0].true_peak);
        CHECK_MSG(r[1].true_peak <= want + 0.2 && r[1].true_peak >= want - 0.4,
                  "f32 mono true peak %.4f dBTP", r[1].true_peak);
    }
    free(x);
}

static void test_channel_weights(void) {
    static const segment s[] = {{-23.0, 10.0}};
    uint32_t rates[2] = {SR48, SR44};
    int k;

    check_section("mono = one front channel: a -23 dBFS sine reads -26.0 +- 0.1 LUFS");
    for (k = 0; k < 2; k++) {
        size_t len;
        double *x = sine_segments(rates[k], s, 1, 2, NULL, &len);
        tonecore_loudness_report r[2];
        /* The first row alone is a mono signal. */
        if (measure_both(x, len, 1, rates[k], &r[0], &r[1])) {
            CHECK_NEAR(r[0].integrated, -26.0, 0.1, "mono %u Hz f64", (unsigned)rates[k]);
            CHECK_NEAR(r[1].integrated, -26.0, 0.1, "mono %u Hz f32", (unsigned)rates[k]);
            CHECK_NEAR(r[0].momentary_max, -26.0, 0.1, "mono %u Hz f64 momentary max",
                       (unsigned)rates[k]);
        }
        if (measure_both(x, len, 2, rates[k], &r[0], &r[1])) {
            CHECK_NEAR(r[0].integrated, -23.0, 0.1, "stereo %u Hz f64", (unsigned)rates[k]);
        }
        free(x);
    }

    check_section("channel weights: LFE not counted, Ls/Rs weighted 1.41 (+1.49 dB), >6 channels");
    {
        static const double only_lfe[6] = {-INFINITY, -INFINITY, -INFINITY, 0.0, -INFINITY,
                                           -INFINITY};
        static const double only_ls5[5] = {-INFINITY, -INFINITY, -INFINITY, 0.0, -INFINITY};
        static const double only_c6[6] = {-INFINITY, -INFINITY, 0.0, -INFINITY, -INFINITY,
                                          -INFINITY};
        static const double only_ch7[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY,
                                           -INFINITY, -INFINITY, 0.0, -INFINITY};
        size_t len;
        double *x;
        tonecore_loudness_report r;

        x = sine_segments(SR48, s, 1, 6, only_lfe, &len);
        CHECK_STATUS(tonecore_loudness_measure_f64(x, 6 * len, 6, SR48, &r), TONECORE_STATUS_OK);
        CHECK_NEG_INF(r.integrated, "5.1 with only the LFE channel");
        CHECK_NEAR(r.true_peak, -23.0, 0.1, "5.1 LFE only: the true peak still sees it");
        free(x);

        x = sine_segments(SR48, s, 1, 5, only_ls5, &len);
        CHECK_STATUS(tonecore_loudness_measure_f64(x, 5 * len, 5, SR48, &r), TONECORE_STATUS_OK);
        CHECK_NEAR(r.integrated, -26.0 + 10.0 * log10(1.41), 0.1, "5.0 with only Ls");
        free(x);

        x = sine_segments(SR48, s, 1, 6, only_c6, &len);
        CHECK_STATUS(tonecore_loudness_measure_f64(x, 6 * len, 6, SR48, &r), TONECORE_STATUS_OK);
        CHECK_NEAR(r.integrated, -26.0, 0.1, "5.1 with only C");
        free(x);

        x = sine_segments(SR48, s, 1, 8, only_ch7, &len);
        CHECK_STATUS(tonecore_loudness_measure_f64(x, 8 * len, 8, SR48, &r), TONECORE_STATUS_OK);
        CHECK_NEG_INF(r.integrated, "8 channels with only channel 7 (not counted)");
        free(x);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Independent BS.1770-4 reference (48 kHz only: the standard's published coefficients)
 * ------------------------------------------------------------------------------------------- */

typedef struct ref_loudness {
    double integrated, momentary_max, short_term_max;
} ref_loudness;

/* K-weighting at 48 kHz (ITU-R BS.1770-4 tables 1 and 2), direct form I in double. */
static void ref_k_weight_48k(const double *x, size_t n, double *y) {
    static const double b1[3] = {1.53512485958697, -2.69169618940638, 1.19839281085285};
    static const double a1[3] = {1.0, -1.69065929318241, 0.73248077421585};
    static const double b2[3] = {1.0, -2.0, 1.0};
    static const double a2[3] = {1.0, -1.99004745483398, 0.99007225036621};
    double x1 = 0, x2 = 0, y1 = 0, y2 = 0, u1 = 0, u2 = 0, v1 = 0, v2 = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double u = b1[0] * x[i] + b1[1] * x1 + b1[2] * x2 - a1[1] * y1 - a1[2] * y2;
        double v;
        x2 = x1;
        x1 = x[i];
        y2 = y1;
        y1 = u;
        v = b2[0] * u + b2[1] * u1 + b2[2] * u2 - a2[1] * v1 - a2[2] * v2;
        u2 = u1;
        u1 = u;
        v2 = v1;
        v1 = v;
        y[i] = v;
    }
}

static double ref_lufs(double z) {
    return z > 0.0 ? -0.691 + 10.0 * log10(z) : -INFINITY;
}

/*
 * Gated integrated loudness and the maxima of the momentary (400 ms) and short-term (3 s)
 * loudness over windows ending every 100 ms, of planar `x` (channels x len) at 48 kHz with
 * channel weights `g`.
 */
static ref_loudness ref_bs1770_48k(const double *x, size_t len, size_t channels,
                                   const double *g) {
    const size_t step = SR48 / 10, mwin = 4 * step, swin = 30 * step;
    double *y = (double *)ref_alloc(len, sizeof(double));
    double *cum = (double *)ref_alloc(len + 1, sizeof(double)); /* weighted sum of squares */
    size_t c, i, j, nblocks, nabs = 0, nrel = 0;
    double *z, sum_abs = 0.0, sum_rel = 0.0, gate;
    ref_loudness out;

    for (c = 0; c < channels; c++) {
        double acc = 0.0;
        if (g[c] == 0.0) {
            continue;
        }
        ref_k_weight_48k(x + c * len, len, y);
        for (i = 0; i < len; i++) {
            acc += y[i] * y[i];
            cum[i + 1] += g[c] * acc;
        }
    }
    nblocks = len >= mwin ? (len - mwin) / step + 1 : 0;
    z = (double *)ref_alloc(nblocks, sizeof(double));
    out.momentary_max = -INFINITY;
    out.short_term_max = -INFINITY;
    for (j = 0; j < nblocks; j++) {
        size_t end = j * step + mwin;
        z[j] = (cum[end] - cum[end - mwin]) / (double)mwin;
        out.momentary_max = ref_lufs(z[j]) > out.momentary_max ? ref_lufs(z[j]) : out.momentary_max;
        if (end >= swin) {
            double l = ref_lufs((cum[end] - cum[end - swin]) / (double)swin);
            out.short_term_max = l > out.short_term_max ? l : out.short_term_max;
        }
        if (ref_lufs(z[j]) > -70.0) {
            sum_abs += z[j];
            nabs++;
        }
    }
    gate = nabs ? ref_lufs(sum_abs / (double)nabs) - 10.0 : INFINITY;
    for (j = 0; j < nblocks; j++) {
        if (ref_lufs(z[j]) > -70.0 && ref_lufs(z[j]) > gate) {
            sum_rel += z[j];
            nrel++;
        }
    }
    out.integrated = nrel ? ref_lufs(sum_rel / (double)nrel) : -INFINITY;
    free(y);
    free(cum);
    free(z);
    return out;
}

/* Planar noise, channel c at level_db[c] + seg_db[s] dB (uniform, amplitude 0.5 at 0 dB);
 * segments of seg_s[s] seconds; a segment level of -inf is digital silence. */
static double *gated_noise(size_t channels, const double *level_db, const double *seg_db,
                           const double *seg_s, size_t nseg, uint64_t seed, size_t *len_out) {
    size_t len = 0, s, i, c, pos;
    double *x;
    ref_rng rng = ref_rng_new(seed);
    for (s = 0; s < nseg; s++) {
        len += (size_t)(seg_s[s] * SR48);
    }
    x = (double *)ref_alloc(channels * len, sizeof(double));
    for (c = 0; c < channels; c++) {
        pos = 0;
        for (s = 0; s < nseg; s++) {
            size_t n = (size_t)(seg_s[s] * SR48);
            double a = isfinite(seg_db[s]) ? 0.5 * pow(10.0, (level_db[c] + seg_db[s]) / 20.0)
                                           : 0.0;
            for (i = 0; i < n; i++) {
                x[c * len + pos + i] = a * ref_uniform(&rng);
            }
            pos += n;
        }
    }
    *len_out = len;
    return x;
}

static void test_reference_meter(void) {
    /* Loud, a stretch below the relative gate, digital silence (below the absolute gate), then
     * a quieter stretch that is inside the relative gate. */
    static const double seg_db[4] = {0.0, -35.0, -INFINITY, -6.0};
    static const double seg_s[4] = {4.0, 3.0, 1.5, 4.5};
    static const double stereo_level[2] = {-3.0, -8.0};
    static const double stereo_g[2] = {1.0, 1.0};
    static const double surround_level[6] = {-6.0, -9.0, -4.0, 0.0, -12.0, -7.0};
    static const double surround_g[6] = {1.0, 1.0, 1.0, 0.0, 1.41, 1.41};
    struct {
        size_t channels;
        const double *level, *g;
        const char *name;
    } cases[2];
    int k;

    cases[0].channels = 2;
    cases[0].level = stereo_level;
    cases[0].g = stereo_g;
    cases[0].name = "stereo";
    cases[1].channels = 6;
    cases[1].level = surround_level;
    cases[1].g = surround_g;
    cases[1].name = "5.1";

    check_section("vs an independent BS.1770-4 meter (published 48 kHz coefficients), gated noise");
    for (k = 0; k < 2; k++) {
        size_t len;
        double *x = gated_noise(cases[k].channels, cases[k].level, seg_db, seg_s, 4,
                                1000 + (uint64_t)k, &len);
        ref_loudness want = ref_bs1770_48k(x, len, cases[k].channels, cases[k].g);
        ref_loudness ungated;
        tonecore_loudness_report r[2];
        /* The gates matter for this signal: without them the reading would differ by > 1 LU. */
        {
            double z = 0.0;
            size_t c, i;
            double *y = (double *)ref_alloc(len, sizeof(double));
            for (c = 0; c < cases[k].channels; c++) {
                double acc = 0.0;
                ref_k_weight_48k(x + c * len, len, y);
                for (i = 0; i < len; i++) {
                    acc += y[i] * y[i];
                }
                z += cases[k].g[c] * acc / (double)len;
            }
            free(y);
            ungated.integrated = ref_lufs(z);
        }
        CHECK_MSG(fabs(ungated.integrated - want.integrated) > 1.0,
                  "%s: gating changes the reference by only %.3f LU", cases[k].name,
                  fabs(ungated.integrated - want.integrated));
        if (measure_both(x, len, cases[k].channels, SR48, &r[0], &r[1])) {
            CHECK_NEAR(r[0].integrated, want.integrated, 0.01, "%s f64 integrated", cases[k].name);
            CHECK_NEAR(r[1].integrated, want.integrated, 0.01, "%s f32 integrated", cases[k].name);
            CHECK_NEAR(r[0].momentary_max, want.momentary_max, 0.01, "%s f64 momentary max",
                       cases[k].name);
            CHECK_NEAR(r[0].short_term_max, want.short_term_max, 0.01, "%s f64 short-term max",
                       cases[k].name);
            printf("   %s: I %.4f (ref %.4f, ungated %.4f)  M %.4f (ref %.4f)  S %.4f (ref %.4f)\n",
                   cases[k].name, r[0].integrated, want.integrated, ungated.integrated,
                   r[0].momentary_max, want.momentary_max, r[0].short_term_max,
                   want.short_term_max);
        }
        free(x);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Silence, short signals
 * ------------------------------------------------------------------------------------------- */

static void test_silence(void) {
    const size_t len = 3 * SR48;
    double *x = (double *)ref_alloc(2 * len, sizeof(double));
    tonecore_loudness_report r[2];
    static const segment short_tone[] = {{-10.0, 0.3}};
    size_t slen;
    double *s;

    check_section("silence and too-short signals: -inf");
    if (measure_both(x, len, 2, SR48, &r[0], &r[1])) {
        CHECK_NEG_INF(r[0].integrated, "silence f64");
        CHECK_NEG_INF(r[1].integrated, "silence f32");
        CHECK_NEG_INF(r[0].momentary_max, "silence f64");
        CHECK_NEG_INF(r[0].short_term_max, "silence f64");
        CHECK_NEG_INF(r[0].true_peak, "silence f64");
        CHECK_MSG(r[0].range == 0.0, "silence: range %g, want 0", r[0].range);
    }
    /* Below the absolute gate (-70 LUFS) counts as silence for the integrated loudness. */
    {
        static const segment quiet[] = {{-75.0, 3.0}};
        double *q = sine_segments(SR48, quiet, 1, 2, NULL, &slen);
        CHECK_STATUS(tonecore_loudness_measure_f64(q, 2 * slen, 2, SR48, &r[0]),
                     TONECORE_STATUS_OK);
        CHECK_NEG_INF(r[0].integrated, "-75 dBFS sine (below the absolute gate)");
        CHECK_NEAR(r[0].momentary_max, -75.0, 0.1, "-75 dBFS sine momentary max");
        free(q);
    }
    /* Shorter than one 400 ms block: no integrated loudness, but a true peak. */
    s = sine_segments(SR48, short_tone, 1, 2, NULL, &slen);
    CHECK_STATUS(tonecore_loudness_measure_f64(s, 2 * slen, 2, SR48, &r[0]), TONECORE_STATUS_OK);
    CHECK_NEG_INF(r[0].integrated, "0.3 s tone");
    CHECK_NEAR(r[0].true_peak, -10.0, 0.1, "0.3 s tone true peak");
    /* An empty signal is a whole number of frames too. */
    CHECK_STATUS(tonecore_loudness_measure_f64(s, 0, 2, SR48, &r[0]), TONECORE_STATUS_OK);
    CHECK_NEG_INF(r[0].integrated, "empty signal");
    free(s);
    free(x);
}

/* ---------------------------------------------------------------------------------------------
 * The streaming meter
 * ------------------------------------------------------------------------------------------- */

/* Feeds planar `x` (channels x len) to `m` in blocks cycling through `blocks`. */
static int32_t feed(tonecore_loudness_meter *m, const double *x, size_t len, size_t channels,
                    const size_t *blocks, size_t nblocks, int f32) {
    size_t pos = 0, b = 0, c, i;
    double *buf = NULL;
    float *fbuf = NULL;
    size_t cap = 0;
    int32_t st = TONECORE_STATUS_OK;
    for (i = 0; i < nblocks; i++) {
        cap = blocks[i] > cap ? blocks[i] : cap;
    }
    buf = (double *)ref_alloc(channels * cap, sizeof(double));
    fbuf = (float *)ref_alloc(channels * cap, sizeof(float));
    while (pos < len && st == TONECORE_STATUS_OK) {
        size_t n = blocks[b % nblocks] < len - pos ? blocks[b % nblocks] : len - pos;
        for (c = 0; c < channels; c++) {
            for (i = 0; i < n; i++) {
                buf[c * n + i] = x[c * len + pos + i];
                fbuf[c * n + i] = (float)buf[c * n + i];
            }
        }
        st = f32 ? tonecore_loudness_meter_add_f32(m, fbuf, channels * n)
                 : tonecore_loudness_meter_add_f64(m, buf, channels * n);
        pos += n;
        b++;
    }
    free(buf);
    free(fbuf);
    return st;
}

static void test_meter_streaming(void) {
    static const size_t blocks[] = {1, 37, 4410, 100000, 1, 2, 4799, 4801, 12345};
    static const segment seg[] = {{-23.0, 4.0}, {-17.0, 3.0}, {-30.0, 3.0}};
    size_t len;
    double *x = sine_segments(SR44, seg, 3, 2, NULL, &len);
    tonecore_loudness_report whole, streamed, whole32;
    tonecore_loudness_meter *m = NULL;
    int f32;

    check_section("streaming meter in odd block sizes = tonecore_loudness_measure (within 1e-9)");
    {
        float *f = to_float(x, 2 * len);
        CHECK_STATUS(tonecore_loudness_measure_f64(x, 2 * len, 2, SR44, &whole),
                     TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_loudness_measure_f32(f, 2 * len, 2, SR44, &whole32),
                     TONECORE_STATUS_OK);
        free(f);
    }
    /* The one-shot values are right, so "equal to them" means right. */
    CHECK_NEAR(whole.momentary_max, -17.0, 0.1, "one-shot momentary max");
    CHECK_MSG(whole.integrated > -23.0 && whole.integrated < -17.0, "one-shot integrated %.3f",
              whole.integrated);
    CHECK_STATUS(tonecore_loudness_meter_new(2, SR44, &m), TONECORE_STATUS_OK);
    if (m == NULL) {
        free(x);
        return;
    }
    for (f32 = 0; f32 < 2; f32++) {
        const tonecore_loudness_report *w = f32 ? &whole32 : &whole;
        const char *fmt = f32 ? "f32" : "f64";
        CHECK_STATUS(tonecore_loudness_meter_reset(m), TONECORE_STATUS_OK);
        CHECK_STATUS(feed(m, x, len, 2, blocks, sizeof blocks / sizeof blocks[0], f32),
                     TONECORE_STATUS_OK);
        sentinel_fill(&streamed, sizeof streamed);
        CHECK_STATUS(tonecore_loudness_meter_report(m, &streamed), TONECORE_STATUS_OK);
        CHECK_NEAR(streamed.integrated, w->integrated, 1e-9, "%s streamed integrated", fmt);
        CHECK_NEAR(streamed.momentary_max, w->momentary_max, 1e-9, "%s streamed momentary max",
                   fmt);
        CHECK_NEAR(streamed.short_term_max, w->short_term_max, 1e-9,
                   "%s streamed short-term max", fmt);
        CHECK_NEAR(streamed.range, w->range, 1e-9, "%s streamed range", fmt);
        /* The one-shot measurement interpolates float input in float (on parallel threads), the
         * streaming meter in double: they agree to float rounding. */
        CHECK_NEAR(streamed.true_peak, w->true_peak, f32 ? 1e-5 : 1e-9, "%s streamed true peak",
                   fmt);
    }

    check_section("meter: report mid-stream, reset, an empty add");
    {
        tonecore_loudness_report fresh, part, part_ref;
        tonecore_loudness_meter *n = NULL;
        const size_t half = 4 * SR44; /* the first segment only */
        double *first = (double *)ref_alloc(2 * half, sizeof(double));
        memcpy(first, x, half * sizeof(double));
        memcpy(first + half, x + len, half * sizeof(double));
        CHECK_STATUS(tonecore_loudness_meter_reset(m), TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_loudness_meter_report(m, &fresh), TONECORE_STATUS_OK);
        CHECK_NEG_INF(fresh.integrated, "after reset");
        CHECK_NEG_INF(fresh.momentary_max, "after reset");
        CHECK_STATUS(tonecore_loudness_meter_new(2, SR44, &n), TONECORE_STATUS_OK);
        if (n != NULL) {
            tonecore_loudness_report nr;
            CHECK_STATUS(tonecore_loudness_meter_report(n, &nr), TONECORE_STATUS_OK);
            CHECK_MSG(memcmp(&nr, &fresh, sizeof nr) == 0, "a reset meter differs from a new one");
            tonecore_loudness_meter_free(n);
        }
        CHECK_STATUS(tonecore_loudness_meter_add_f64(m, first, 0), TONECORE_STATUS_OK);
        CHECK_STATUS(feed(m, first, half, 2, blocks + 1, 2, 0), TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_loudness_meter_report(m, &part), TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_loudness_measure_f64(first, 2 * half, 2, SR44, &part_ref),
                     TONECORE_STATUS_OK);
        CHECK_NEAR(part.integrated, -23.0, 0.1, "first 4 s integrated");
        CHECK_NEAR(part.integrated, part_ref.integrated, 1e-9, "report mid-stream vs measure");
        /* Continuing after a report gives the whole signal's values. */
        {
            double *rest = (double *)ref_alloc(2 * (len - half), sizeof(double));
            memcpy(rest, x + half, (len - half) * sizeof(double));
            memcpy(rest + (len - half), x + len + half, (len - half) * sizeof(double));
            CHECK_STATUS(feed(m, rest, len - half, 2, blocks + 2, 3, 0), TONECORE_STATUS_OK);
            CHECK_STATUS(tonecore_loudness_meter_report(m, &part), TONECORE_STATUS_OK);
            CHECK_NEAR(part.integrated, whole.integrated, 1e-9, "after report, continued");
            CHECK_NEAR(part.momentary_max, whole.momentary_max, 1e-9, "after report, continued");
            free(rest);
        }
        free(first);
    }
    tonecore_loudness_meter_free(m);
    free(x);
}

/* ---------------------------------------------------------------------------------------------
 * Refusals
 * ------------------------------------------------------------------------------------------- */

static void test_measure_errors(void) {
    double x[2 * 4800];
    float f[2 * 4800];
    tonecore_loudness_report r;
    size_t i;

    check_section("tonecore_loudness_measure refusals: report untouched");
    for (i = 0; i < 2 * 4800; i++) {
        x[i] = 0.25 * sin(0.1 * (double)i);
        f[i] = (float)x[i];
    }
#define EXPECT_MEASURE(call, expected, what)                                                  \
    do {                                                                                      \
        sentinel_fill(&r, sizeof r);                                                          \
        CHECK_STATUS(call, expected);                                                         \
        CHECK_MSG(sentinel_intact(&r, sizeof r), "%s: report written", what);                 \
        CHECK_MSG(tonecore_last_error_message()[0] != '\0', "%s: no detail message", what);    \
    } while (0)

    EXPECT_MEASURE(tonecore_loudness_measure_f64(NULL, 2 * 4800, 2, SR48, &r),
                   TONECORE_STATUS_NULL_POINTER, "f64 NULL input");
    EXPECT_MEASURE(tonecore_loudness_measure_f32(NULL, 2 * 4800, 2, SR48, &r),
                   TONECORE_STATUS_NULL_POINTER, "f32 NULL input");
    CHECK_STATUS(tonecore_loudness_measure_f64(x, 2 * 4800, 2, SR48, NULL),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_loudness_measure_f32(f, 2 * 4800, 2, SR48, NULL),
                 TONECORE_STATUS_NULL_POINTER);
    EXPECT_MEASURE(tonecore_loudness_measure_f64(x, 2 * 4800, 0, SR48, &r),
                   TONECORE_STATUS_INVALID_CHANNELS, "f64 channels 0");
    EXPECT_MEASURE(tonecore_loudness_measure_f32(f, 2 * 4800, 0, SR48, &r),
                   TONECORE_STATUS_INVALID_CHANNELS, "f32 channels 0");
    EXPECT_MEASURE(tonecore_loudness_measure_f64(x, 65 * 100, 65, SR48, &r),
                   TONECORE_STATUS_INVALID_CHANNELS, "f64 channels 65");
    EXPECT_MEASURE(tonecore_loudness_measure_f32(f, 65 * 100, 65, SR48, &r),
                   TONECORE_STATUS_INVALID_CHANNELS, "f32 channels 65");
    EXPECT_MEASURE(tonecore_loudness_measure_f64(x, 2 * 4800, 2, 0, &r),
                   TONECORE_STATUS_INVALID_SAMPLE_RATE, "f64 sample rate 0");
    EXPECT_MEASURE(tonecore_loudness_measure_f32(f, 2 * 4800, 2, 0, &r),
                   TONECORE_STATUS_INVALID_SAMPLE_RATE, "f32 sample rate 0");
    EXPECT_MEASURE(tonecore_loudness_measure_f64(x, 2 * 4800, 2, UINT32_MAX, &r),
                   TONECORE_STATUS_INVALID_SAMPLE_RATE, "f64 sample rate UINT32_MAX");
    EXPECT_MEASURE(tonecore_loudness_measure_f64(x, 2 * 4800 - 1, 2, SR48, &r),
                   TONECORE_STATUS_INVALID_LENGTH, "f64 input_len odd for 2 channels");
    EXPECT_MEASURE(tonecore_loudness_measure_f32(f, 3 * 1000 + 1, 3, SR48, &r),
                   TONECORE_STATUS_INVALID_LENGTH, "f32 input_len 3001 for 3 channels");
    {
        static const size_t at[] = {0, 4799, 4800, 2 * 4800 - 1};
        static const double bad[] = {NAN, INFINITY, -INFINITY, NAN};
        for (i = 0; i < 4; i++) {
            double keep = x[at[i]];
            float fkeep = f[at[i]];
            x[at[i]] = bad[i];
            f[at[i]] = (float)bad[i];
            EXPECT_MEASURE(tonecore_loudness_measure_f64(x, 2 * 4800, 2, SR48, &r),
                           TONECORE_STATUS_NON_FINITE, "f64 non-finite sample");
            EXPECT_MEASURE(tonecore_loudness_measure_f32(f, 2 * 4800, 2, SR48, &r),
                           TONECORE_STATUS_NON_FINITE, "f32 non-finite sample");
            x[at[i]] = keep;
            f[at[i]] = fkeep;
        }
    }
#undef EXPECT_MEASURE
    /* The limits are accepted. */
    {
        double *wide = (double *)ref_alloc(64 * 4800, sizeof(double));
        CHECK_STATUS(tonecore_loudness_measure_f64(wide, 64 * 4800, 64, SR48, &r),
                     TONECORE_STATUS_OK);
        free(wide);
        CHECK_STATUS(tonecore_loudness_measure_f64(x, 2 * 4800, 1, SR48, &r), TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_loudness_measure_f64(x, 2 * 4800, 2, SR48, &r), TONECORE_STATUS_OK);
        CHECK_STR_EQ(tonecore_last_error_message(), "");
    }
}

static void test_meter_errors(void) {
    static char meter_sentinel_storage;
    tonecore_loudness_meter *const sentinel =
        (tonecore_loudness_meter *)(void *)&meter_sentinel_storage;
    tonecore_loudness_meter *m = sentinel;
    tonecore_loudness_report before, after;
    double x[2 * 4800];
    float f[2 * 4800];
    size_t i;

    check_section("tonecore_loudness_meter refusals");
    CHECK_STATUS(tonecore_loudness_meter_new(0, SR48, &m), TONECORE_STATUS_INVALID_CHANNELS);
    CHECK(m == sentinel);
    CHECK_STATUS(tonecore_loudness_meter_new(65, SR48, &m), TONECORE_STATUS_INVALID_CHANNELS);
    CHECK(m == sentinel);
    CHECK_STATUS(tonecore_loudness_meter_new(2, 0, &m), TONECORE_STATUS_INVALID_SAMPLE_RATE);
    CHECK(m == sentinel);
    CHECK_STATUS(tonecore_loudness_meter_new(2, SR48, NULL), TONECORE_STATUS_NULL_POINTER);
    tonecore_loudness_meter_free(NULL);

    CHECK_STATUS(tonecore_loudness_meter_new(2, SR48, &m), TONECORE_STATUS_OK);
    if (m == sentinel || m == NULL) {
        return;
    }
    for (i = 0; i < 2 * 4800; i++) {
        x[i] = 0.25 * sin(0.1 * (double)i);
        f[i] = (float)x[i];
    }
    for (i = 0; i < 5; i++) {
        CHECK_STATUS(tonecore_loudness_meter_add_f64(m, x, 2 * 4800), TONECORE_STATUS_OK);
    }
    CHECK_STATUS(tonecore_loudness_meter_report(m, &before), TONECORE_STATUS_OK);
    CHECK(isfinite(before.integrated));

#define EXPECT_REFUSED_ADD(call, expected, what)                                              \
    do {                                                                                      \
        CHECK_STATUS(call, expected);                                                         \
        CHECK_MSG(tonecore_last_error_message()[0] != '\0', "%s: no detail message", what);    \
        sentinel_fill(&after, sizeof after);                                                  \
        CHECK_STATUS(tonecore_loudness_meter_report(m, &after), TONECORE_STATUS_OK);           \
        CHECK_MSG(memcmp(&after, &before, sizeof after) == 0, "%s: the measurement changed", \
                  what);                                                                      \
    } while (0)

    EXPECT_REFUSED_ADD(tonecore_loudness_meter_add_f64(NULL, x, 2 * 4800),
                       TONECORE_STATUS_NULL_POINTER, "NULL meter");
    EXPECT_REFUSED_ADD(tonecore_loudness_meter_add_f32(NULL, f, 2 * 4800),
                       TONECORE_STATUS_NULL_POINTER, "NULL meter f32");
    EXPECT_REFUSED_ADD(tonecore_loudness_meter_add_f64(m, NULL, 2 * 4800),
                       TONECORE_STATUS_NULL_POINTER, "NULL input");
    EXPECT_REFUSED_ADD(tonecore_loudness_meter_add_f64(m, x, 2 * 4800 - 1),
                       TONECORE_STATUS_INVALID_CHANNELS, "odd input_len for 2 channels");
    EXPECT_REFUSED_ADD(tonecore_loudness_meter_add_f32(m, f, 3), TONECORE_STATUS_INVALID_CHANNELS,
                       "f32 input_len 3 for 2 channels");
    /* Loud blocks with one NaN / Inf: refused as a whole (nothing added, maxima unchanged). */
    for (i = 0; i < 2 * 4800; i++) {
        x[i] = 8.0 * x[i];
        f[i] = (float)x[i];
    }
    x[100] = NAN;
    f[2 * 4800 - 1] = INFINITY;
    EXPECT_REFUSED_ADD(tonecore_loudness_meter_add_f64(m, x, 2 * 4800),
                       TONECORE_STATUS_NON_FINITE, "NaN sample");
    EXPECT_REFUSED_ADD(tonecore_loudness_meter_add_f32(m, f, 2 * 4800),
                       TONECORE_STATUS_NON_FINITE, "Inf sample");
#undef EXPECT_REFUSED_ADD

    sentinel_fill(&after, sizeof after);
    CHECK_STATUS(tonecore_loudness_meter_report(NULL, &after), TONECORE_STATUS_NULL_POINTER);
    CHECK(sentinel_intact(&after, sizeof after));
    CHECK_STATUS(tonecore_loudness_meter_report(m, NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_loudness_meter_reset(NULL), TONECORE_STATUS_NULL_POINTER);
    tonecore_loudness_meter_free(m);

    /* The limits are accepted. */
    m = NULL;
    CHECK_STATUS(tonecore_loudness_meter_new(64, SR48, &m), TONECORE_STATUS_OK);
    tonecore_loudness_meter_free(m);
    m = NULL;
    CHECK_STATUS(tonecore_loudness_meter_new(1, SR44, &m), TONECORE_STATUS_OK);
    tonecore_loudness_meter_free(m);
}

/* The integrated-only entry points: EBU Tech 3341 case 3 (-36/-23/-36 dBFS), agreement with the
 * full measurement, silence, and refusals that leave the out-param untouched. */
static void test_integrated_only(void) {
    static const segment seg[] = {{-36.0, 10.0}, {-23.0, 60.0}, {-36.0, 10.0}};
    size_t len;
    double *x = sine_segments(48000, seg, 3, 2, NULL, &len);
    float *f = to_float(x, 2 * len);
    tonecore_loudness_report r64, r32;
    double i64 = 1.0, i32 = 1.0, out = 7.0, *silent;
    check_section("tonecore_loudness_integrated_*");
    CHECK_STATUS(tonecore_loudness_integrated_f64(x, 2 * len, 2, 48000, &i64), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_loudness_integrated_f32(f, 2 * len, 2, 48000, &i32), TONECORE_STATUS_OK);
    CHECK_MSG(fabs(i64 + 23.0) <= 0.1, "case 3 integrated %.3f", i64);
    CHECK_MSG(fabs(i32 + 23.0) <= 0.1, "case 3 integrated (f32) %.3f", i32);
    if (measure_both(x, len, 2, 48000, &r64, &r32)) {
        CHECK_MSG(fabs(i64 - r64.integrated) < 1e-9, "%.12f vs %.12f", i64, r64.integrated);
    }
    silent = (double *)ref_alloc(2 * 48000, sizeof(double));
    CHECK_STATUS(tonecore_loudness_integrated_f64(silent, 2 * 48000, 2, 48000, &out), TONECORE_STATUS_OK);
    CHECK(isinf(out) && out < 0.0);
    x[5] = NAN;
    out = 7.0;
    CHECK_STATUS(tonecore_loudness_integrated_f64(x, 2 * len, 2, 48000, &out), TONECORE_STATUS_NON_FINITE);
    CHECK_STATUS(tonecore_loudness_integrated_f64(NULL, 2 * len, 2, 48000, &out), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_loudness_integrated_f64(silent, 2 * 48000, 0, 48000, &out), TONECORE_STATUS_INVALID_CHANNELS);
    CHECK_STATUS(tonecore_loudness_integrated_f64(silent, 2 * 48000, 2, 0, &out), TONECORE_STATUS_INVALID_SAMPLE_RATE);
    CHECK_STATUS(tonecore_loudness_integrated_f64(silent, 3, 2, 48000, &out), TONECORE_STATUS_INVALID_LENGTH);
    CHECK_STATUS(tonecore_loudness_integrated_f64(silent, 2 * 48000, 2, 48000, NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK_MSG(out == 7.0, "out-param written on error: %f", out);
    free(silent);
    free(f);
    free(x);
}

int main(void) {
    test_integrated_only();
    test_tech_3341();
    test_tech_3342();
    test_true_peak();
    test_channel_weights();
    test_reference_meter();
    test_silence();
    test_meter_streaming();
    test_measure_errors();
    test_meter_errors();
    return check_finish();
}
