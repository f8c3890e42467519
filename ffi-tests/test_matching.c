/*
 * test_matching.c — tonecore_profile_* and tonecore_match_* against references written here:
 * an analytic filter response (the reference is white noise through a one-pole low-pass whose
 * power response is known in closed form), band powers from a direct windowed DFT, BS.1770-4
 * integrated loudness (48 kHz coefficients, gated) and a 16x windowed-sinc true peak.
 *
 * The profiles' balance difference follows the filter; the match lands the output on the
 * reference's balance (1 dB RMS), its loudness (0.1 LU) and under the -1 dBTP ceiling; the
 * pipeline config a match fills renders to the same loudness through tonecore_render_chunked;
 * JSON round-trips and refuses corrupt and newer documents; a silent reference derives no EQ;
 * every refusal leaves the output untouched.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "ref.h"

#define SR 48000u
#define TC_PI 3.14159265358979323846
#define FRAMES (3u * SR)
#define POLE_HZ 1500.0

static double bessel_i0(double x) {
    double sum = 1, term = 1;
    for (double k = 1; term > 1e-18 * sum; k++) {
        term *= (x / (2 * k)) * (x / (2 * k));
        sum += term;
    }
    return sum;
}

/* Largest magnitude of planar `x` upsampled 16x by a Kaiser-windowed sinc, in dB. */
static double ref_true_peak_db(const double *x, size_t channels, size_t frames) {
    enum { UP = 16, HALF = 10 };
    double taps[UP][2 * HALF];
    for (int p = 1; p < UP; p++)
        for (int j = 0; j < 2 * HALF; j++) {
            double d = (double)(HALF - 1 - j) + (double)p / UP;
            double r = d / HALF;
            taps[p][j] = sin(TC_PI * d) / (TC_PI * d) *
                         bessel_i0(5.0 * sqrt(fmax(0.0, 1 - r * r))) / bessel_i0(5.0);
        }
    double peak = 0;
    for (size_t c = 0; c < channels; c++) {
        const double *s = x + c * frames;
        for (size_t m = 0; m < frames; m++) {
            peak = fmax(peak, fabs(s[m]));
            for (int p = 1; p < UP; p++) {
                double v = 0;
                for (int j = 0; j < 2 * HALF; j++) {
                    long i = (long)m - HALF + 1 + j;
                    if (i >= 0 && i < (long)frames) v += taps[p][j] * s[i];
                }
                peak = fmax(peak, fabs(v));
            }
        }
    }
    return 20 * log10(peak);
}

/* The test bands: sixth-octave centres 1000*2^(k/6) for k = -18, -15, ..., 15 (125 Hz-5.7 kHz). */
#define TEST_BANDS 12
static double test_center(int i) { return 1000.0 * pow(2.0, (-18 + 3 * i) / 6.0); }

/* Mean power of planar `x` in each test band (dB): a direct DFT at 8 frequencies spread over
 * the band, Hann-windowed 8192-sample segments at hop 8192, summed over channels. */
static void ref_band_db(const double *x, size_t channels, size_t frames, double *out) {
    enum { SEG = 8192, FREQS = 8 };
    static double win[SEG];
    for (size_t i = 0; i < SEG; i++) win[i] = 0.5 - 0.5 * cos(2 * TC_PI * (double)i / SEG);
    for (int b = 0; b < TEST_BANDS; b++) {
        double lo = test_center(b) * pow(2.0, -1.0 / 12), hi = test_center(b) * pow(2.0, 1.0 / 12);
        double sum = 0;
        for (int q = 0; q < FREQS; q++) {
            double w = 2 * TC_PI * (lo + (hi - lo) * (q + 0.5) / FREQS) / SR;
            double step_re = cos(w), step_im = -sin(w);
            for (size_t c = 0; c < channels; c++)
                for (size_t start = 0; start + SEG <= frames; start += SEG) {
                    /* e^{-jwi} by rotation (drift below 1e-12 over one segment). */
                    double re = 0, im = 0, rot_re = 1, rot_im = 0;
                    const double *s = x + c * frames + start;
                    for (size_t i = 0; i < SEG; i++) {
                        double v = s[i] * win[i];
                        re += v * rot_re;
                        im += v * rot_im;
                        double t = rot_re * step_re - rot_im * step_im;
                        rot_im = rot_re * step_im + rot_im * step_re;
                        rot_re = t;
                    }
                    sum += re * re + im * im;
                }
        }
        out[b] = 10 * log10(sum);
    }
}

/* RMS of a - b over the test bands after removing the mean difference. */
static double balance_rms(const double *a, const double *b) {
    double mean = 0, sq = 0;
    for (int i = 0; i < TEST_BANDS; i++) mean += (a[i] - b[i]) / TEST_BANDS;
    for (int i = 0; i < TEST_BANDS; i++) sq += pow(a[i] - b[i] - mean, 2) / TEST_BANDS;
    return sqrt(sq);
}

/* Power response of the one-pole low-pass, dB. */
static double pole_db(double f) {
    double a = exp(-2 * TC_PI * POLE_HZ / SR), w = 2 * TC_PI * f / SR;
    return 10 * log10((1 - a) * (1 - a) / (1 - 2 * a * cos(w) + a * a));
}

/* Stereo white noise times `scale`; with `lowpass`, through the one-pole low-pass. */
static void make_noise(double *x, uint64_t seed, double scale, int lowpass) {
    ref_rng r = ref_rng_new(seed);
    double a = exp(-2 * TC_PI * POLE_HZ / SR);
    for (size_t c = 0; c < 2; c++) {
        double y = 0;
        for (size_t i = 0; i < FRAMES; i++) {
            double v = ref_uniform(&r);
            y = lowpass ? (1 - a) * v + a * y : v;
            x[c * FRAMES + i] = scale * y;
        }
    }
}

static void to_f32(const double *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = (float)x[i];
}
static void to_f64(const float *x, double *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = (double)x[i];
}

static tonecore_profile *track_profile, *reference_profile;
static double *track, *reference;
static float *track32;

static void test_profiles_follow_the_filter(void) {
    check_section("profiles: the balance difference is the filter's response");
    tonecore_profile_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    CHECK_STATUS(tonecore_profile_get_info(reference_profile, &info), TONECORE_STATUS_OK);
    CHECK_EQ_INT(info.sample_rate, SR);
    CHECK_EQ_INT(info.channels, 2);
    CHECK_EQ_SIZE((size_t)info.frames, (size_t)FRAMES);
    CHECK(!info.silent && info.has_side_mid && info.present_bands > 50);
    CHECK_MSG(fabs(info.integrated_lufs - ref_integrated_48k(reference, 2, FRAMES)) < 0.1,
              "integrated %.3f vs %.3f", info.integrated_lufs, ref_integrated_48k(reference, 2, FRAMES));
    double t[TONECORE_PROFILE_BANDS], r[TONECORE_PROFILE_BANDS], side[TONECORE_PROFILE_BANDS];
    CHECK_STATUS(tonecore_profile_spectrum(track_profile, t, TONECORE_PROFILE_BANDS, NULL, 0), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_profile_spectrum(reference_profile, r, TONECORE_PROFILE_BANDS, side,
                                       TONECORE_PROFILE_BANDS), TONECORE_STATUS_OK);
    /* Bands 200 Hz - 16 kHz (k = -14..24 are indices 20..58): enough bins per band for 3 s of
     * one noise draw (the downmix) to estimate each within a few tenths of a dB. */
    double mean = 0, sq = 0;
    int n = 0;
    for (int b = 20; b <= 58; b++) mean += r[b] - t[b] - pole_db(1000.0 * pow(2.0, (b - 34) / 6.0)), n++;
    mean /= n;
    for (int b = 20; b <= 58; b++)
        sq += pow(r[b] - t[b] - pole_db(1000.0 * pow(2.0, (b - 34) / 6.0)) - mean, 2) / n;
    CHECK_MSG(sqrt(sq) < 0.5, "profile difference vs analytic response: %.3f dB RMS", sqrt(sq));
    /* Uncorrelated channels: side and mid carry the same power. */
    CHECK_MSG(fabs(side[34]) < 1.0, "side/mid at 1 kHz %.2f dB", side[34]);
    CHECK_STATUS(tonecore_profile_spectrum(track_profile, t, 60, NULL, 0),
                    TONECORE_STATUS_BUFFER_TOO_SMALL);
}

static void test_json(void) {
    check_section("profiles: JSON round trip, corrupt and newer documents");
    size_t len = 0;
    CHECK_STATUS(tonecore_profile_to_json(reference_profile, NULL, 0, &len),
                    TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK(len > 100 && len < 4096);
    char *text = ref_alloc(len + 1, 1);
    CHECK_STATUS(tonecore_profile_to_json(reference_profile, text, len, NULL),
                    TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(tonecore_profile_to_json(reference_profile, text, len + 1, &len), TONECORE_STATUS_OK);
    CHECK(text[len] == 0 && strstr(text, "\"format\":\"tonecore-profile\"") != NULL);
    tonecore_profile *back = NULL;
    CHECK_STATUS(tonecore_profile_from_json(text, len, &back), TONECORE_STATUS_OK);
    double a[TONECORE_PROFILE_BANDS], b[TONECORE_PROFILE_BANDS];
    tonecore_profile_spectrum(reference_profile, a, TONECORE_PROFILE_BANDS, NULL, 0);
    tonecore_profile_spectrum(back, b, TONECORE_PROFILE_BANDS, NULL, 0);
    int same = 1;
    for (int i = 0; i < TONECORE_PROFILE_BANDS; i++)
        same &= (isnan(a[i]) && isnan(b[i])) || a[i] == b[i];
    CHECK_MSG(same, "spectrum round-trips exactly");
    tonecore_profile_free(back);

    char *version = strstr(text, "\"version\":1");
    CHECK(version != NULL);
    tonecore_profile *p = NULL;
    if (version) {
        version[10] = '7';
        CHECK_STATUS(tonecore_profile_from_json(text, len, &p), TONECORE_STATUS_PROFILE_VERSION);
        CHECK(p == NULL);
        version[10] = '1';
    }
    CHECK_STATUS(tonecore_profile_from_json(text, len / 2, &p), TONECORE_STATUS_INVALID_PROFILE);
    CHECK_STATUS(tonecore_profile_from_json("{\"format\":\"x\"}", 14, &p),
                    TONECORE_STATUS_INVALID_PROFILE);
    const char bad_utf8[] = "{\"format\":\"\xff\"}";
    CHECK_STATUS(tonecore_profile_from_json(bad_utf8, sizeof bad_utf8 - 1, &p),
                    TONECORE_STATUS_INVALID_PROFILE);
    CHECK_STATUS(tonecore_profile_from_json(NULL, 5, &p), TONECORE_STATUS_NULL_POINTER);
    CHECK(p == NULL);
    free(text);
}

static void test_match_lands(void) {
    check_section("match: balance within 1 dB, loudness within 0.1 LU, under -1 dBTP");
    float *out32 = ref_alloc(2 * FRAMES, sizeof(float));
    double *out = ref_alloc(2 * FRAMES, sizeof(double));
    tonecore_match_report report;
    memset(&report, 0, sizeof report);
    report.struct_size = sizeof report;
    CHECK_STATUS(tonecore_match_f32(track32, 2 * FRAMES, out32, 2 * FRAMES, 2, SR, reference_profile,
                                NULL, NULL, &report, NULL, NULL), TONECORE_STATUS_OK);
    to_f64(out32, out, 2 * FRAMES);
    CHECK_EQ_INT(report.outcome, TONECORE_MATCH_OUTCOME_MATCHED);
    CHECK_EQ_INT(report.loudness.outcome, TONECORE_NORMALIZE_OUTCOME_REACHED);
    CHECK(report.compared_bands > 45);
    CHECK_MSG(report.residual_before_db > 3.0 && report.residual_after_db < 1.0,
              "report residual %.2f -> %.2f dB", report.residual_before_db,
              report.residual_after_db);
    double ref_bands[TEST_BANDS], out_bands[TEST_BANDS], track_bands[TEST_BANDS];
    ref_band_db(reference, 2, FRAMES, ref_bands);
    ref_band_db(out, 2, FRAMES, out_bands);
    ref_band_db(track, 2, FRAMES, track_bands);
    double before = balance_rms(track_bands, ref_bands), after = balance_rms(out_bands, ref_bands);
    CHECK_MSG(before > 3.0 && after < 1.0, "direct-DFT balance %.2f -> %.2f dB", before, after);
    double ref_lufs = ref_integrated_48k(reference, 2, FRAMES);
    double out_lufs = ref_integrated_48k(out, 2, FRAMES);
    CHECK_MSG(fabs(out_lufs - ref_lufs) < 0.1, "loudness %.3f vs reference %.3f", out_lufs,
              ref_lufs);
    double peak = ref_true_peak_db(out, 2, FRAMES);
    CHECK_MSG(peak <= -0.9, "true peak %.3f dBTP", peak);
    CHECK_MSG(fabs(report.loudness.output_lufs - out_lufs) < 0.1, "report output %.3f",
              report.loudness.output_lufs);

    /* The f64 twin gives the same result to f32 precision. */
    double *out64 = ref_alloc(2 * FRAMES, sizeof(double));
    CHECK_STATUS(tonecore_match_f64(track, 2 * FRAMES, out64, 2 * FRAMES, 2, SR, reference_profile,
                                NULL, NULL, NULL, NULL, NULL), TONECORE_STATUS_OK);
    double worst = 0;
    for (size_t i = 0; i < 2 * FRAMES; i++) worst = fmax(worst, fabs(out64[i] - out[i]));
    CHECK_MSG(worst < 1e-3, "f64 vs f32 largest difference %.2e", worst);
    free(out64);
    free(out32);
    free(out);
}

static void test_pipeline_config(void) {
    check_section("match: the filled pipeline config renders to the reference's loudness");
    tonecore_pipeline_config c;
    tonecore_pipeline_config_init(&c);
    c.sample_rate = SR;
    c.channels = 2;
    double gains[TONECORE_PROFILE_BANDS];
    int32_t outcome = -1;
    CHECK_STATUS(tonecore_match_pipeline_config(track_profile, reference_profile, NULL, &c, gains,
                                            TONECORE_PROFILE_BANDS, &outcome), TONECORE_STATUS_OK);
    CHECK_EQ_INT(outcome, TONECORE_MATCH_OUTCOME_MATCHED);
    CHECK(c.eq_enabled && c.layout == TONECORE_LAYOUT_SIXTH_OCTAVE && c.eq_gains_db == gains);
    CHECK(c.level_enabled && c.level_mode == TONECORE_LEVEL_MODE_INTEGRATED);
    CHECK(c.limiter_enabled && c.limiter_true_peak && c.ceiling_db == -1.0);
    CHECK_EQ_SIZE(c.fft_size, (size_t)16384);
    /* The gains follow the analytic response (the track is white): 1 dB RMS over 200 Hz-8 kHz. */
    double mean = 0, sq = 0;
    int n = 0;
    for (int b = 20; b <= 52; b++) mean += gains[b] - pole_db(1000.0 * pow(2.0, (b - 34) / 6.0)), n++;
    mean /= n;
    for (int b = 20; b <= 52; b++)
        sq += pow(gains[b] - pole_db(1000.0 * pow(2.0, (b - 34) / 6.0)) - mean, 2) / n;
    CHECK_MSG(sqrt(sq) < 1.0, "gains vs analytic response: %.3f dB RMS", sqrt(sq));
    float *out = ref_alloc(2 * FRAMES, sizeof(float));
    tonecore_render_config render;
    tonecore_render_config_init(&render);
    CHECK_STATUS(tonecore_render_chunked_f32(&c, &render, track32, 2 * FRAMES, out, 2 * FRAMES, NULL,
                                         NULL), TONECORE_STATUS_OK);
    double *y = ref_alloc(2 * FRAMES, sizeof(double));
    to_f64(out, y, 2 * FRAMES);
    double got = ref_integrated_48k(y, 2, FRAMES), want = ref_integrated_48k(reference, 2, FRAMES);
    CHECK_MSG(fabs(got - want) < 0.1, "chunked render %.3f vs reference %.3f LUFS", got, want);
    free(out);
    free(y);

    /* A short pipeline struct and a short gains buffer are refused; nothing is written. */
    tonecore_pipeline_config before = c;
    CHECK_STATUS(tonecore_match_pipeline_config(track_profile, reference_profile, NULL, &c,
                                                   gains, 60, NULL),
                    TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK(ref_same_pipeline_config(&before, &c));
    tonecore_match_config m;
    tonecore_match_config_init(&m);
    m.strength = 1.5;
    CHECK_STATUS(tonecore_match_pipeline_config(track_profile, reference_profile, &m, &c, gains,
                                                   TONECORE_PROFILE_BANDS, NULL),
                    TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK(ref_same_pipeline_config(&before, &c));
}

static void test_silence_and_refusals(void) {
    check_section("match: a silent reference derives no EQ; refusals leave the output alone");
    float *silent = ref_alloc(2 * SR, sizeof(float));
    tonecore_profile *quiet = NULL;
    CHECK_STATUS(tonecore_profile_compute_f32(silent, 2 * SR, 2, SR, 1, &quiet), TONECORE_STATUS_OK);
    float *out = ref_alloc(2 * FRAMES, sizeof(float));
    tonecore_match_report report;
    memset(&report, 0, sizeof report);
    report.struct_size = sizeof report;
    CHECK_STATUS(tonecore_match_f32(track32, 2 * FRAMES, out, 2 * FRAMES, 2, SR, quiet, NULL, NULL,
                                &report, NULL, NULL), TONECORE_STATUS_OK);
    CHECK_EQ_INT(report.outcome, TONECORE_MATCH_OUTCOME_SILENT_REFERENCE);
    int flat = 1;
    for (int i = 0; i < TONECORE_PROFILE_BANDS; i++) flat &= report.gains_db[i] == 0.0;
    CHECK(flat);

    for (size_t i = 0; i < 2 * FRAMES; i++) out[i] = 7.0f;
    tonecore_match_config m;
    tonecore_match_config_init(&m);
    m.smoothing_octaves = NAN;
    CHECK_STATUS(tonecore_match_f32(track32, 2 * FRAMES, out, 2 * FRAMES, 2, SR, quiet, &m,
                                       NULL, NULL, NULL, NULL),
                    TONECORE_STATUS_INVALID_ARGUMENT);
    m.smoothing_octaves = 0.0;
    m.ceiling_dbtp = 3.0;
    CHECK_STATUS(tonecore_match_f32(track32, 2 * FRAMES, out, 2 * FRAMES, 2, SR, quiet, &m,
                                       NULL, NULL, NULL, NULL),
                    TONECORE_STATUS_INVALID_CEILING);
    CHECK_STATUS(tonecore_match_f32(track32, 2 * FRAMES, out, 2 * FRAMES, 2, SR, NULL, NULL,
                                       NULL, NULL, NULL, NULL),
                    TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_match_f32(track32, 2 * FRAMES, out, 2 * FRAMES, 0, SR, quiet, NULL,
                                       NULL, NULL, NULL, NULL),
                    TONECORE_STATUS_INVALID_CHANNELS);
    CHECK_STATUS(tonecore_match_f32(track32, 2 * FRAMES, out, 2 * FRAMES - 1, 2, SR, quiet,
                                       NULL, NULL, NULL, NULL, NULL),
                    TONECORE_STATUS_BUFFER_TOO_SMALL);
    report.struct_size = 8;
    CHECK_STATUS(tonecore_match_f32(track32, 2 * FRAMES, out, 2 * FRAMES, 2, SR, quiet, NULL,
                                       NULL, &report, NULL, NULL),
                    TONECORE_STATUS_STRUCT_SIZE);
    track32[5] = NAN;
    CHECK_STATUS(tonecore_match_f32(track32, 2 * FRAMES, out, 2 * FRAMES, 2, SR, quiet, NULL,
                                       NULL, NULL, NULL, NULL),
                    TONECORE_STATUS_NON_FINITE);
    tonecore_profile *p = NULL;
    CHECK_STATUS(tonecore_profile_compute_f32(track32, 2 * FRAMES, 2, SR, 1, &p),
                    TONECORE_STATUS_NON_FINITE);
    CHECK(p == NULL);
    track32[5] = 0.0f;
    CHECK_STATUS(tonecore_profile_compute_f32(track32, 2 * FRAMES, 65, SR, 1, &p),
                    TONECORE_STATUS_INVALID_CHANNELS);
    CHECK_STATUS(tonecore_profile_compute_f32(track32, 2 * FRAMES, 2, 100, 1, &p),
                    TONECORE_STATUS_INVALID_SAMPLE_RATE);
    int untouched = 1;
    for (size_t i = 0; i < 2 * FRAMES; i++) untouched &= out[i] == 7.0f;
    CHECK_MSG(untouched, "refused calls left the output alone");
    tonecore_profile_free(quiet);
    tonecore_profile_free(NULL);
    free(silent);
    free(out);
}

int main(void) {
    track = ref_alloc(2 * FRAMES, sizeof(double));
    reference = ref_alloc(2 * FRAMES, sizeof(double));
    track32 = ref_alloc(2 * FRAMES, sizeof(float));
    make_noise(track, 11, 0.05, 0);
    make_noise(reference, 12, 0.15, 1);
    to_f32(track, track32, 2 * FRAMES);
    CHECK_STATUS(tonecore_profile_compute_f32(track32, 2 * FRAMES, 2, SR, 0, &track_profile), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_profile_compute_f64(reference, 2 * FRAMES, 2, SR, 0, &reference_profile), TONECORE_STATUS_OK);
    test_profiles_follow_the_filter();
    test_json();
    test_match_lands();
    test_pipeline_config();
    test_silence_and_refusals();
    tonecore_profile_free(track_profile);
    tonecore_profile_free(reference_profile);
    free(track);
    free(reference);
    free(track32);
    return check_finish();
}
