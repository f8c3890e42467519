/*
 * test_live_match.c — live matching of a real-time pipeline through the C ABI:
 * tonecore_live_match_config(_init), tonecore_match_live_pipeline_config,
 * tonecore_pipeline_live_match and tonecore_params_update_match.
 *
 * The reference is stereo white noise through a one-pole low-pass (1.5 kHz), whose power
 * response is known in closed form; the live input is white noise, so a converged match must
 * give the OUTPUT the low-pass's balance. A 16 s run in 256-frame blocks with update_match every
 * ~0.5 s of audio (time constant 2 s, warm-up 1 s, slew 6 dB/s, so it settles in a few seconds)
 * is checked: the output's balance over its last 8 s, measured here with a direct windowed DFT
 * (independent of the library's FFT and band code), is within 1 dB RMS of the analytic one; its
 * loudness (BS.1770-4, gated, computed here) is the reference's; no update moves a band by more
 * than slew x the audio analysed since the previous one; nothing moves before the warm-up; the
 * state reports the analysed audio; a reset starts again from flat. Planar f32 and interleaved
 * f64 analyses agree. Refusals: update_match without live matching, an EQ not on the
 * sixth-octave grid, settings out of range (nothing changes), short structs, NULLs.
 *
 * Signals: 3 s of reference, 16 s of the main run, 2 x 2 s for the layout comparison (23 s of
 * 48 kHz stereo), so the test stays short under valgrind.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "ref.h"

#define SR 48000u
#define TC_PI 3.14159265358979323846
#define POLE_HZ 1500.0
#define BLOCK 256u
#define REF_FRAMES (3u * SR)
#define RUN_FRAMES (16u * SR)
#define TAIL_FRAMES (8u * SR)
/* update_match every 94 blocks of 256 frames: 0.501 s of audio. */
#define UPDATE_BLOCKS 94u
#define TC_S 2.0
#define WARMUP_S 1.0
#define SLEW_DB_PER_S 6.0

/* -- independent references ------------------------------------------------------------------ */

/* The test bands: sixth-octave centres 1000*2^(k/6) for k = -18, -15, ..., 15 (125 Hz-5.7 kHz),
 * each probed at FREQS frequencies spread over the band. */
#define TEST_BANDS 12
#define FREQS 8
static double test_freq(int band, int q) {
    double center = 1000.0 * pow(2.0, (-18 + 3 * band) / 6.0);
    double lo = center * pow(2.0, -1.0 / 12), hi = center * pow(2.0, 1.0 / 12);
    return lo + (hi - lo) * (q + 0.5) / FREQS;
}

/* Mean power of planar `x` in each test band (dB): a direct DFT at the band's probe
 * frequencies, Hann-windowed 8192-sample segments at hop 8192, summed over channels. The DFT
 * kernel is a rotating phasor (recomputed from cos/sin at each segment start). */
static void ref_band_db(const double *x, size_t channels, size_t frames, double *out) {
    enum { SEG = 8192 };
    static double win[SEG];
    for (size_t i = 0; i < SEG; i++) win[i] = 0.5 - 0.5 * cos(2 * TC_PI * (double)i / SEG);
    for (int b = 0; b < TEST_BANDS; b++) {
        double sum = 0;
        for (int q = 0; q < FREQS; q++) {
            double w = 2 * TC_PI * test_freq(b, q) / SR, cw = cos(w), sw = sin(w);
            for (size_t c = 0; c < channels; c++)
                for (size_t start = 0; start + SEG <= frames; start += SEG) {
                    double re = 0, im = 0, pr = 1, pi = 0;
                    const double *s = x + c * frames + start;
                    for (size_t i = 0; i < SEG; i++) {
                        double v = s[i] * win[i];
                        re += v * pr;
                        im -= v * pi;
                        double t = pr * cw - pi * sw;
                        pi = pr * sw + pi * cw;
                        pr = t;
                    }
                    sum += re * re + im * im;
                }
        }
        out[b] = 10 * log10(sum);
    }
}

/* Power response of the one-pole low-pass at f, linear. */
static double pole_power(double f) {
    double a = exp(-2 * TC_PI * POLE_HZ / SR), w = 2 * TC_PI * f / SR;
    return (1 - a) * (1 - a) / (1 - 2 * a * cos(w) + a * a);
}

/* The analytic band levels of white noise through the low-pass (dB, up to a constant): the
 * response's mean power over each band's probe frequencies. */
static void analytic_band_db(double *out) {
    for (int b = 0; b < TEST_BANDS; b++) {
        double sum = 0;
        for (int q = 0; q < FREQS; q++) sum += pole_power(test_freq(b, q));
        out[b] = 10 * log10(sum / FREQS);
    }
}

/* RMS of a - b over the test bands after removing the mean difference. */
static double balance_rms(const double *a, const double *b) {
    double mean = 0, sq = 0;
    for (int i = 0; i < TEST_BANDS; i++) mean += (a[i] - b[i]) / TEST_BANDS;
    for (int i = 0; i < TEST_BANDS; i++) sq += pow(a[i] - b[i] - mean, 2) / TEST_BANDS;
    return sqrt(sq);
}

/* -- fixtures -------------------------------------------------------------------------------- */

static tonecore_profile *reference_profile;
static double reference_lufs;

static tonecore_live_match_config short_live_config(void) {
    tonecore_live_match_config live;
    tonecore_live_match_config_init(&live);
    live.time_constant_s = TC_S;
    live.warmup_s = WARMUP_S;
    live.max_slew_db_per_s = SLEW_DB_PER_S;
    return live;
}

/* A pipeline config filled for live matching (`format`: TONECORE_SAMPLE_FORMAT_*). */
static tonecore_pipeline_config live_pipeline_config(int32_t format) {
    tonecore_pipeline_config c;
    tonecore_pipeline_config_init(&c);
    c.sample_rate = SR;
    c.channels = 2;
    c.max_block = BLOCK;
    c.sample_format = format;
    CHECK_STATUS(tonecore_match_live_pipeline_config(reference_profile, NULL, &c),
                 TONECORE_STATUS_OK);
    return c;
}

static tonecore_pipeline *make_pipeline(const tonecore_pipeline_config *c,
                                        tonecore_params **params) {
    tonecore_pipeline *p = NULL;
    int32_t st = tonecore_pipeline_new(c, &p);
    CHECK_MSG(st == TONECORE_STATUS_OK && p != NULL, "tonecore_pipeline_new -> %s (%s)",
              check_status_name(st), tonecore_last_error_message());
    if (p != NULL) CHECK_STATUS(tonecore_pipeline_params(p, params), TONECORE_STATUS_OK);
    return p;
}

static tonecore_live_match_state new_state(void) {
    tonecore_live_match_state s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    return s;
}

static int all_zero(const double *g) {
    int zero = 1;
    for (int i = 0; i < TONECORE_PROFILE_BANDS; i++) zero &= g[i] == 0.0;
    return zero;
}

/* Largest |a - b| over the grid. */
static double largest_difference(const double *a, const double *b) {
    double d = 0;
    for (int i = 0; i < TONECORE_PROFILE_BANDS; i++) d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

/* -- the tests ------------------------------------------------------------------------------- */

static void test_defaults_and_config(void) {
    check_section("live config: defaults, the filled pipeline config, refusals");
    tonecore_live_match_config live;
    memset(&live, 0, sizeof live);
    CHECK_STATUS(tonecore_live_match_config_init(&live), TONECORE_STATUS_OK);
    tonecore_match_config m;
    CHECK_STATUS(tonecore_match_config_init(&m), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(live.struct_size, sizeof live);
    /* The match's own defaults, then 10 s, 1 dB/s, 3 s (as documented). */
    CHECK(live.strength == m.strength && live.max_gain_db == m.max_gain_db &&
          live.smoothing_octaves == m.smoothing_octaves && live.ceiling_dbtp == m.ceiling_dbtp);
    CHECK(isnan(live.target_lufs) && isnan(m.target_lufs));
    CHECK(live.strength == 1.0 && live.max_gain_db == 12.0 && live.ceiling_dbtp == -1.0);
    CHECK(live.time_constant_s == 10.0 && live.max_slew_db_per_s == 1.0 && live.warmup_s == 3.0);
    CHECK_STATUS(tonecore_live_match_config_init(NULL), TONECORE_STATUS_NULL_POINTER);

    tonecore_pipeline_config c;
    tonecore_pipeline_config_init(&c);
    c.sample_rate = SR;
    c.channels = 2;
    c.max_block = BLOCK;
    c.sample_format = TONECORE_SAMPLE_FORMAT_F64;
    c.eq_gains_db = &reference_lufs; /* replaced by NULL: the EQ starts flat */
    c.eq_gains_len = 1;
    CHECK_STATUS(tonecore_match_live_pipeline_config(reference_profile, NULL, &c),
                 TONECORE_STATUS_OK);
    /* The caller's fields are kept. */
    CHECK(c.sample_rate == SR && c.channels == 2 && c.max_block == BLOCK &&
          c.sample_format == TONECORE_SAMPLE_FORMAT_F64);
    CHECK(c.eq_enabled && c.layout == TONECORE_LAYOUT_SIXTH_OCTAVE &&
          c.mode == TONECORE_CURVE_MODE_SMOOTH);
    CHECK(c.eq_gains_db == NULL && c.eq_gains_len == 0 && c.edges == NULL);
    CHECK(c.level_enabled && c.level_mode == TONECORE_LEVEL_MODE_MOMENTARY);
    CHECK_MSG(fabs(c.target_lufs - reference_lufs) < 1e-9, "target %.3f, reference %.3f LUFS",
              c.target_lufs, reference_lufs);
    CHECK(c.track_gain_db == 0.0);
    CHECK(c.limiter_enabled && c.limiter_true_peak && c.ceiling_db == -1.0);
    CHECK_EQ_SIZE(c.fft_size, (size_t)16384);
    /* The settings' target and ceiling are used. */
    m.target_lufs = -20.0;
    m.ceiling_dbtp = -2.0;
    tonecore_pipeline_config d = c;
    CHECK_STATUS(tonecore_match_live_pipeline_config(reference_profile, &m, &d),
                 TONECORE_STATUS_OK);
    CHECK(d.target_lufs == -20.0 && d.ceiling_db == -2.0);

    /* Refusals write nothing. */
    tonecore_pipeline_config before = c;
    m.strength = 1.5;
    CHECK_STATUS(tonecore_match_live_pipeline_config(reference_profile, &m, &c),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    tonecore_match_config_init(&m);
    m.ceiling_dbtp = 1.0;
    CHECK_STATUS(tonecore_match_live_pipeline_config(reference_profile, &m, &c),
                 TONECORE_STATUS_INVALID_CEILING);
    tonecore_match_config_init(&m);
    m.target_lufs = 3.0;
    CHECK_STATUS(tonecore_match_live_pipeline_config(reference_profile, &m, &c),
                 TONECORE_STATUS_INVALID_TARGET);
    m.struct_size = 8;
    CHECK_STATUS(tonecore_match_live_pipeline_config(reference_profile, &m, &c),
                 TONECORE_STATUS_STRUCT_SIZE);
    CHECK(ref_same_pipeline_config(&before, &c));
    c.struct_size = 16;
    CHECK_STATUS(tonecore_match_live_pipeline_config(reference_profile, NULL, &c),
                 TONECORE_STATUS_STRUCT_SIZE);
    c.struct_size = sizeof c;
    c.sample_rate = 0;
    before = c;
    CHECK_STATUS(tonecore_match_live_pipeline_config(reference_profile, NULL, &c),
                 TONECORE_STATUS_INVALID_SAMPLE_RATE);
    CHECK(ref_same_pipeline_config(&before, &c));
    c.sample_rate = SR;
    CHECK_STATUS(tonecore_match_live_pipeline_config(NULL, NULL, &c),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_match_live_pipeline_config(reference_profile, NULL, NULL),
                 TONECORE_STATUS_NULL_POINTER);
}

/* The main run (see the file comment). */
static void test_converges(void) {
    check_section("live match: 16 s of white noise lands on the reference's balance");
    tonecore_pipeline_config c = live_pipeline_config(TONECORE_SAMPLE_FORMAT_F32);
    tonecore_params *params = NULL;
    tonecore_pipeline *p = make_pipeline(&c, &params);
    if (p == NULL) return;
    tonecore_live_match_state s = new_state();
    /* Not enabled yet. */
    CHECK_STATUS(tonecore_params_update_match(params, &s), TONECORE_STATUS_INVALID_ARGUMENT);
    tonecore_live_match_config live = short_live_config();
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &live), TONECORE_STATUS_OK);
    /* Nothing analysed: silent so far, flat, not active. */
    CHECK_STATUS(tonecore_params_update_match(params, &s), TONECORE_STATUS_OK);
    CHECK(s.struct_size == sizeof s && s.analysed_s == 0.0 && s.averaged_s == 0.0 && !s.active);
    CHECK_EQ_INT(s.outcome, TONECORE_MATCH_OUTCOME_SILENT_TRACK);
    CHECK(all_zero(s.gains_db));

    double *in = ref_alloc(2 * RUN_FRAMES, sizeof(double));
    double *out = ref_alloc(2 * RUN_FRAMES, sizeof(double));
    float x[2 * BLOCK], y[2 * BLOCK];
    ref_rng r = ref_rng_new(21);
    for (size_t i = 0; i < 2 * RUN_FRAMES; i++) in[i] = 0.1 * ref_uniform(&r);

    double last_gains[TONECORE_PROFILE_BANDS] = {0};
    double last_analysed = 0, worst_excess = -INFINITY, largest_step = 0, first_active = -1;
    double first_active_averaged = -1, worst_clock = 0;
    int moved_early = 0, active_then_not = 0, steps = 0, backwards = 0, ok = 1;
    for (size_t start = 0, k = 1; start < RUN_FRAMES; start += BLOCK, k++) {
        for (size_t ch = 0; ch < 2; ch++)
            for (size_t i = 0; i < BLOCK; i++) x[ch * BLOCK + i] = (float)in[ch * RUN_FRAMES + start + i];
        ok &= tonecore_pipeline_process_f32(p, x, 2 * BLOCK, y, 2 * BLOCK) == TONECORE_STATUS_OK;
        for (size_t ch = 0; ch < 2; ch++)
            for (size_t i = 0; i < BLOCK; i++) out[ch * RUN_FRAMES + start + i] = y[ch * BLOCK + i];
        if (k % UPDATE_BLOCKS != 0) continue;
        ok &= tonecore_params_update_match(params, &s) == TONECORE_STATUS_OK;
        double processed = (double)(start + BLOCK) / SR;
        /* Analysed: every completed half-overlapping frame (8192 frames, hop 4096). */
        worst_clock = fmax(worst_clock, fabs(s.analysed_s - processed));
        backwards += s.analysed_s < last_analysed;
        double step = largest_difference(s.gains_db, last_gains);
        largest_step = fmax(largest_step, step);
        worst_excess = fmax(worst_excess, step - SLEW_DB_PER_S * (s.analysed_s - last_analysed));
        if (s.active) {
            if (first_active < 0) {
                first_active = s.analysed_s;
                first_active_averaged = s.averaged_s;
            }
            CHECK_EQ_INT(s.outcome, TONECORE_MATCH_OUTCOME_MATCHED);
        } else {
            moved_early |= !all_zero(s.gains_db);
            active_then_not |= first_active >= 0;
        }
        memcpy(last_gains, s.gains_db, sizeof last_gains);
        last_analysed = s.analysed_s;
        steps++;
    }
    CHECK_MSG(ok, "every block and update returned OK");
    CHECK_EQ_INT(steps, (int)(RUN_FRAMES / BLOCK / UPDATE_BLOCKS));
    CHECK_MSG(worst_clock < 0.2 && !backwards, "analysed_s within %.3f s of the audio processed",
              worst_clock);
    CHECK_MSG(worst_excess <= 1e-9, "largest step %.3f dB; beyond slew x elapsed by %.2e dB",
              largest_step, worst_excess);
    CHECK_MSG(largest_step > 1.0, "the gains moved (largest step %.3f dB)", largest_step);
    CHECK_MSG(!moved_early, "flat until active");
    CHECK_MSG(first_active >= WARMUP_S && first_active < WARMUP_S + 1.5 &&
                  first_active_averaged >= WARMUP_S,
              "active from %.3f s analysed (%.3f s averaged; warm-up %.1f s)", first_active,
              first_active_averaged, WARMUP_S);
    CHECK_MSG(!active_then_not, "stays active");
    /* At 2 s the decay-weighted average is close to the time constant. */
    CHECK_MSG(s.averaged_s > 0.9 * TC_S && s.averaged_s < 1.1 * TC_S + 0.1,
              "averaged %.3f s (time constant %.1f s)", s.averaged_s, TC_S);
    CHECK_MSG(largest_difference(s.gains_db, s.target_db) < 1e-9,
              "settled: set gains = target (largest gap %.2e dB)",
              largest_difference(s.gains_db, s.target_db));
    /* The gains follow the low-pass over 200 Hz-8 kHz (the input is white), 1 dB RMS (the
     * running profile of a 2 s average is noisy). */
    double mean = 0, sq = 0;
    int n = 0;
    for (int b = 20; b <= 52; b++)
        mean += s.gains_db[b] - 10 * log10(pole_power(1000.0 * pow(2.0, (b - 34) / 6.0))), n++;
    mean /= n;
    for (int b = 20; b <= 52; b++)
        sq += pow(s.gains_db[b] - 10 * log10(pole_power(1000.0 * pow(2.0, (b - 34) / 6.0))) - mean,
                  2) / n;
    CHECK_MSG(sqrt(sq) < 1.0, "gains vs analytic response: %.3f dB RMS", sqrt(sq));

    /* The kernel in use carries the gains set (after the audio side picks it up). */
    ok = tonecore_pipeline_process_f32(p, x, 2 * BLOCK, y, 2 * BLOCK) == TONECORE_STATUS_OK;
    tonecore_pipeline_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.struct_size = sizeof stats;
    CHECK_STATUS(tonecore_params_stats(params, &stats), TONECORE_STATUS_OK);
    CHECK_EQ_INT(stats.eq_bands, TONECORE_PROFILE_BANDS);
    CHECK_MSG(ok && largest_difference(stats.eq_gains_db, s.gains_db) < 1e-9,
              "stats gains = state gains (%.2e dB)", largest_difference(stats.eq_gains_db, s.gains_db));

    /* The output's balance over its last 8 s, measured independently. */
    double want[TEST_BANDS], got[TEST_BANDS], input[TEST_BANDS];
    analytic_band_db(want);
    double *tail = ref_alloc(2 * TAIL_FRAMES, sizeof(double));
    for (size_t ch = 0; ch < 2; ch++) {
        memcpy(tail + ch * TAIL_FRAMES, out + ch * RUN_FRAMES + RUN_FRAMES - TAIL_FRAMES,
               TAIL_FRAMES * sizeof(double));
    }
    ref_band_db(tail, 2, TAIL_FRAMES, got);
    double out_lufs = ref_integrated_48k(tail, 2, TAIL_FRAMES);
    double peak = 0;
    for (size_t i = 0; i < 2 * TAIL_FRAMES; i++) peak = fmax(peak, fabs(tail[i]));
    for (size_t ch = 0; ch < 2; ch++) {
        memcpy(tail + ch * TAIL_FRAMES, in + ch * RUN_FRAMES + RUN_FRAMES - TAIL_FRAMES,
               TAIL_FRAMES * sizeof(double));
    }
    ref_band_db(tail, 2, TAIL_FRAMES, input);
    double before = balance_rms(input, want), after = balance_rms(got, want);
    CHECK_MSG(before > 3.0 && after < 1.0, "direct-DFT balance vs analytic: input %.2f -> output %.2f dB RMS",
              before, after);
    printf("   balance vs analytic over the last 8 s: input %.2f -> output %.2f dB RMS; output "
           "%.2f LUFS (reference %.2f), sample peak %.2f dBFS; gains vs analytic %.2f dB RMS; "
           "largest step %.2f dB; active from %.2f s analysed\n",
           before, after, out_lufs, reference_lufs, 20 * log10(peak), sqrt(sq), largest_step,
           first_active);
    /* Enabling set the level target to the reference's loudness (momentary leveller). */
    CHECK_MSG(fabs(out_lufs - reference_lufs) < 0.5, "output %.2f LUFS, reference %.2f LUFS",
              out_lufs, reference_lufs);
    CHECK_MSG(20 * log10(peak) <= -1.0 + 1e-6, "sample peak %.2f dBFS under the -1 dBTP ceiling",
              20 * log10(peak));
    free(tail);

    /* Refused settings change nothing: the match goes on where it was. */
    check_section("live match: refused settings change nothing; NULL state; reset");
    CHECK_STATUS(tonecore_params_update_match(params, &s), TONECORE_STATUS_OK);
    tonecore_live_match_state was = s;
    tonecore_live_match_config bad = short_live_config();
    bad.time_constant_s = 0.0;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &bad),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    bad = short_live_config();
    bad.max_slew_db_per_s = NAN;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &bad),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    bad = short_live_config();
    bad.warmup_s = 61.0;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &bad),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    bad = short_live_config();
    bad.time_constant_s = 121.0;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &bad),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    bad = short_live_config();
    bad.strength = -0.1;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &bad),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    bad = short_live_config();
    bad.target_lufs = 1.0;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &bad),
                 TONECORE_STATUS_INVALID_TARGET);
    bad = short_live_config();
    bad.ceiling_dbtp = -61.0;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &bad),
                 TONECORE_STATUS_INVALID_CEILING);
    bad = short_live_config();
    bad.struct_size = 8;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &bad),
                 TONECORE_STATUS_STRUCT_SIZE);
    CHECK_STATUS(tonecore_pipeline_live_match(NULL, reference_profile, &live),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_pipeline_live_match(p, NULL, &live), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_params_update_match(params, &s), TONECORE_STATUS_OK);
    CHECK_MSG(s.active && s.analysed_s == was.analysed_s &&
                  largest_difference(s.gains_db, was.gains_db) == 0.0,
              "after the refusals: active %u, analysed %.3f (was %.3f), gains moved %.2e dB",
              s.active, s.analysed_s, was.analysed_s, largest_difference(s.gains_db, was.gains_db));
    memset(&stats, 0, sizeof stats);
    stats.struct_size = sizeof stats;
    ok = tonecore_pipeline_process_f32(p, x, 2 * BLOCK, y, 2 * BLOCK) == TONECORE_STATUS_OK;
    CHECK_STATUS(tonecore_params_stats(params, &stats), TONECORE_STATUS_OK);
    CHECK_MSG(ok && largest_difference(stats.eq_gains_db, was.gains_db) == 0.0,
              "the EQ kept its gains");

    /* A short or NULL state: refused before anything is written, or not written. */
    tonecore_live_match_state small;
    memset(&small, 0x5A, sizeof small);
    small.struct_size = sizeof small - 8;
    tonecore_live_match_state copy = small;
    CHECK_STATUS(tonecore_params_update_match(params, &small), TONECORE_STATUS_STRUCT_SIZE);
    CHECK(memcmp(&small, &copy, sizeof small) == 0);
    small.struct_size = 0;
    CHECK_STATUS(tonecore_params_update_match(params, &small), TONECORE_STATUS_STRUCT_SIZE);
    CHECK_STATUS(tonecore_params_update_match(params, NULL), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_update_match(NULL, &s), TONECORE_STATUS_NULL_POINTER);

    /* A reset starts again from flat: nothing analysed, not active. */
    CHECK_STATUS(tonecore_pipeline_reset(p), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_update_match(params, &s), TONECORE_STATUS_OK);
    CHECK_MSG(s.analysed_s == 0.0 && s.averaged_s == 0.0 && !s.active && all_zero(s.gains_db),
              "after reset: analysed %.3f, averaged %.3f, active %u", s.analysed_s, s.averaged_s,
              s.active);
    CHECK_EQ_INT(s.outcome, TONECORE_MATCH_OUTCOME_SILENT_TRACK);

    /* Enabling again (valid settings) replaces the match and starts from flat. */
    ok = tonecore_pipeline_process_f32(p, x, 2 * BLOCK, y, 2 * BLOCK) == TONECORE_STATUS_OK;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, NULL), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_update_match(params, &s), TONECORE_STATUS_OK);
    CHECK(ok && s.analysed_s == 0.0 && !s.active && all_zero(s.gains_db));

    /* The params handle outlives its pipeline (valid and inert, like its setters). */
    tonecore_pipeline_free(p);
    CHECK_STATUS(tonecore_params_update_match(params, &s), TONECORE_STATUS_OK);
    CHECK(s.analysed_s == 0.0 && !s.active);
    tonecore_params_free(params);
    free(in);
    free(out);
}

/* The analysis reads interleaved f64 blocks as it reads planar f32 ones. */
static void test_layouts_agree(void) {
    check_section("live match: planar f32 and interleaved f64 analyses agree");
    tonecore_pipeline_config c32 = live_pipeline_config(TONECORE_SAMPLE_FORMAT_F32);
    tonecore_pipeline_config c64 = live_pipeline_config(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_params *params32 = NULL, *params64 = NULL;
    tonecore_pipeline *p32 = make_pipeline(&c32, &params32);
    tonecore_pipeline *p64 = make_pipeline(&c64, &params64);
    if (p32 == NULL || p64 == NULL) return;
    tonecore_live_match_config live = short_live_config();
    CHECK_STATUS(tonecore_pipeline_live_match(p32, reference_profile, &live), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_pipeline_live_match(p64, reference_profile, &live), TONECORE_STATUS_OK);
    ref_rng r = ref_rng_new(5);
    float x32[2 * BLOCK], y32[2 * BLOCK];
    double x64[2 * BLOCK], y64[2 * BLOCK];
    int ok = 1;
    for (size_t start = 0; start < 2 * SR; start += BLOCK) {
        for (size_t i = 0; i < BLOCK; i++) {
            /* Different channels (left louder), so a channel mix-up would show. */
            float left = (float)(0.2 * ref_uniform(&r));
            float right = (float)(0.02 * ref_uniform(&r));
            x32[i] = left;
            x32[BLOCK + i] = right;
            x64[2 * i] = left;
            x64[2 * i + 1] = right;
        }
        ok &= tonecore_pipeline_process_f32(p32, x32, 2 * BLOCK, y32, 2 * BLOCK) ==
              TONECORE_STATUS_OK;
        ok &= tonecore_pipeline_process_interleaved_f64(p64, x64, 2 * BLOCK, y64, 2 * BLOCK) ==
              TONECORE_STATUS_OK;
    }
    tonecore_live_match_state a = new_state(), b = new_state();
    ok &= tonecore_params_update_match(params32, &a) == TONECORE_STATUS_OK;
    ok &= tonecore_params_update_match(params64, &b) == TONECORE_STATUS_OK;
    CHECK_MSG(ok, "every call returned OK");
    CHECK(a.active && b.active && a.analysed_s == b.analysed_s);
    CHECK_MSG(fabs(a.averaged_s - b.averaged_s) < 1e-12, "averaged %.6f vs %.6f", a.averaged_s,
              b.averaged_s);
    CHECK_MSG(largest_difference(a.target_db, b.target_db) < 0.01,
              "targets differ by %.2e dB", largest_difference(a.target_db, b.target_db));
    CHECK_MSG(largest_difference(a.gains_db, b.gains_db) < 0.01, "gains differ by %.2e dB",
              largest_difference(a.gains_db, b.gains_db));
    tonecore_params_free(params32);
    tonecore_params_free(params64);
    tonecore_pipeline_free(p32);
    tonecore_pipeline_free(p64);
}

static void test_refusals(void) {
    check_section("live match: refused without the sixth-octave EQ; not enabled; NULLs");
    tonecore_live_match_config live = short_live_config();
    tonecore_live_match_state s = new_state();
    /* An EQ on the critical bands. */
    tonecore_pipeline_config c;
    tonecore_pipeline_config_init(&c);
    c.sample_rate = SR;
    c.channels = 2;
    c.max_block = BLOCK;
    c.eq_enabled = 1;
    tonecore_params *params = NULL;
    tonecore_pipeline *p = make_pipeline(&c, &params);
    if (p == NULL) return;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &live),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, NULL),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(tonecore_params_update_match(params, &s), TONECORE_STATUS_INVALID_ARGUMENT);
    tonecore_params_free(params);
    tonecore_pipeline_free(p);
    /* Third-octave bands: not the grid either. */
    c.layout = TONECORE_LAYOUT_THIRD_OCTAVE;
    p = make_pipeline(&c, &params);
    if (p == NULL) return;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &live),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(tonecore_params_update_match(params, NULL), TONECORE_STATUS_INVALID_ARGUMENT);
    tonecore_params_free(params);
    tonecore_pipeline_free(p);

    /* The live config, not enabled: bad settings are refused and leave it not enabled. */
    c = live_pipeline_config(TONECORE_SAMPLE_FORMAT_F32);
    p = make_pipeline(&c, &params);
    if (p == NULL) return;
    live.time_constant_s = 0.0;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &live),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    live = short_live_config();
    live.max_slew_db_per_s = NAN;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &live),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    live = short_live_config();
    live.max_slew_db_per_s = 0.0;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &live),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    live = short_live_config();
    live.warmup_s = -1.0;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &live),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    live = short_live_config();
    live.time_constant_s = INFINITY;
    CHECK_STATUS(tonecore_pipeline_live_match(p, reference_profile, &live),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(tonecore_params_update_match(params, &s), TONECORE_STATUS_INVALID_ARGUMENT);
    /* A silent reference is accepted: the match derives no EQ. */
    float *silent = ref_alloc(2 * SR, sizeof(float));
    tonecore_profile *quiet = NULL;
    CHECK_STATUS(tonecore_profile_compute_f32(silent, 2 * SR, 2, SR, 1, &quiet),
                 TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_pipeline_live_match(p, quiet, NULL), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_update_match(params, &s), TONECORE_STATUS_OK);
    CHECK(!s.active && all_zero(s.gains_db) && all_zero(s.target_db));
    tonecore_profile_free(quiet);
    free(silent);
    tonecore_params_free(params);
    tonecore_pipeline_free(p);
}

int main(void) {
    double *reference = ref_alloc(2 * REF_FRAMES, sizeof(double));
    ref_rng r = ref_rng_new(12);
    double a = exp(-2 * TC_PI * POLE_HZ / SR);
    for (size_t ch = 0; ch < 2; ch++) {
        double y = 0;
        for (size_t i = 0; i < REF_FRAMES; i++) {
            y = (1 - a) * ref_uniform(&r) + a * y;
            reference[ch * REF_FRAMES + i] = 0.3 * y;
        }
    }
    CHECK_STATUS(tonecore_profile_compute_f64(reference, 2 * REF_FRAMES, 2, SR, 0,
                                              &reference_profile),
                 TONECORE_STATUS_OK);
    tonecore_profile_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    CHECK_STATUS(tonecore_profile_get_info(reference_profile, &info), TONECORE_STATUS_OK);
    reference_lufs = info.integrated_lufs;
    double want = ref_integrated_48k(reference, 2, REF_FRAMES);
    CHECK_MSG(fabs(reference_lufs - want) < 0.1, "reference %.3f LUFS (computed here %.3f)",
              reference_lufs, want);
    free(reference);
    test_defaults_and_config();
    test_converges();
    test_layouts_agree();
    test_refusals();
    tonecore_profile_free(reference_profile);
    return check_finish();
}
