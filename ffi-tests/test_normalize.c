/*
 * test_normalize.c — tonecore_normalize_f32/_f64 against references written here: BS.1770-4
 * integrated loudness (the standard's 48 kHz K-weighting coefficients, 400 ms blocks with 75 %
 * overlap, -70 LUFS absolute and -10 LU relative gates) and a 16x windowed-sinc true peak, both
 * in double.
 *
 * A music-like stereo track with a true-peak limiter lands within 0.1 LU of -14 LUFS with its
 * true peak at most 0.1 dB over the -1 dBTP ceiling, and the report agrees with the references;
 * without a limiter the output is the input times the reported gain, to f32 rounding; silence is
 * reported as SILENT and stays silent; an f64 run agrees with the f32 one; every refusal
 * (NULL pointers, a target out of range, non-finite input, a short report struct, the wrong
 * sample format, a short output) leaves the output untouched. A playback stream and an engine
 * stream of the track in the default (integrated) level mode land on the target too.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "ref.h"

#define SR 48000u
#define TC_PI 3.14159265358979323846
#define FRAMES (3u * SR)

static double bessel_i0(double x) {
    double sum = 1, term = 1;
    for (double k = 1; term > 1e-18 * sum; k++) {
        term *= (x / (2 * k)) * (x / (2 * k));
        sum += term;
    }
    return sum;
}

/* Largest magnitude of `x` upsampled 16x by a Kaiser-windowed sinc (beta 5, 10 samples on each
 * side, as scipy's resample_poly designs its default), in dB. */
static double ref_true_peak_db(const double *x, size_t len) {
    enum { UP = 16, HALF = 10 };
    const double beta = 5.0;
    double taps[UP][2 * HALF];
    for (int p = 1; p < UP; p++)
        for (int j = 0; j < 2 * HALF; j++) {
            double d = (double)(HALF - 1 - j) + (double)p / UP;
            double r = d / HALF;
            taps[p][j] = sin(TC_PI * d) / (TC_PI * d) *
                         bessel_i0(beta * sqrt(fmax(0.0, 1 - r * r))) / bessel_i0(beta);
        }
    double peak = 0;
    for (size_t i = 0; i < len; i++) peak = fmax(peak, fabs(x[i]));
    for (size_t m = 0; m < len; m++)
        for (int p = 1; p < UP; p++) {
            double s = 0;
            for (int j = 0; j < 2 * HALF; j++) {
                long i = (long)m - HALF + 1 + j;
                if (i >= 0 && i < (long)len) s += taps[p][j] * x[i];
            }
            peak = fmax(peak, fabs(s));
        }
    return 20 * log10(peak);
}

/* Music-like stereo: a bass line, a chord, a noise floor, loud and quiet halves. */
static void make_track(double *x, double scale) {
    ref_rng r = ref_rng_new(7);
    for (size_t c = 0; c < 2; c++)
        for (size_t i = 0; i < FRAMES; i++) {
            double t = (double)i / SR;
            double env = i < FRAMES / 2 ? 0.3 : 1.0;
            double v = 0.5 * sin(2 * TC_PI * (55.0 + 2 * c) * t) +
                       0.25 * sin(2 * TC_PI * 440.0 * t) * sin(2 * TC_PI * 3.0 * t) +
                       0.15 * sin(2 * TC_PI * 2637.0 * t) + 0.1 * (2 * ref_uniform(&r) - 1);
            x[c * FRAMES + i] = scale * env * v;
        }
}

static tonecore_pipeline_config config(int32_t format, int limiter) {
    tonecore_pipeline_config c;
    tonecore_pipeline_config_init(&c);
    c.sample_rate = SR;
    c.channels = 2;
    c.sample_format = format;
    c.limiter_enabled = (uint32_t)limiter;
    c.limiter_true_peak = 1;
    c.lookahead_ms = 1.5;
    c.ceiling_db = -1.0;
    return c;
}

static void test_lands_on_the_target(void) {
    check_section("a limited track lands within 0.1 LU under the true-peak ceiling");
    double *x = ref_alloc(2 * FRAMES, sizeof(double));
    make_track(x, 1.5);
    float *in = ref_alloc(2 * FRAMES, sizeof(float));
    float *out = ref_alloc(2 * FRAMES, sizeof(float));
    for (size_t i = 0; i < 2 * FRAMES; i++) in[i] = (float)x[i];
    tonecore_pipeline_config c = config(TONECORE_SAMPLE_FORMAT_F32, 1);
    tonecore_normalize_report rep;
    memset(&rep, 0, sizeof rep);
    rep.struct_size = sizeof rep;
    CHECK_STATUS(tonecore_normalize_f32(&c, NULL, -14.0, in, 2 * FRAMES, out, 2 * FRAMES, &rep,
                                        NULL, NULL),
                 TONECORE_STATUS_OK);
    double *y = ref_alloc(2 * FRAMES, sizeof(double));
    for (size_t i = 0; i < 2 * FRAMES; i++) y[i] = out[i];
    double lufs = ref_integrated_48k(y, 2, FRAMES);
    double tp = fmax(ref_true_peak_db(y, FRAMES), ref_true_peak_db(y + FRAMES, FRAMES));
    CHECK_MSG(fabs(lufs + 14.0) <= 0.1, "output %.3f LUFS", lufs);
    CHECK_MSG(tp <= -1.0 + 0.1, "true peak %.3f dBTP", tp);
    CHECK(rep.outcome == TONECORE_NORMALIZE_OUTCOME_REACHED);
    CHECK(rep.limited == 1 && rep.ceiling_db == -1.0 && rep.target_lufs == -14.0);
    CHECK_MSG(fabs(rep.output_lufs - lufs) < 0.02, "report %.3f vs %.3f", rep.output_lufs, lufs);
    CHECK_MSG(fabs(rep.input_lufs - ref_integrated_48k(x, 2, FRAMES)) < 0.02, "input %.3f",
              rep.input_lufs);
    CHECK(rep.output_true_peak_db <= -1.0 && rep.passes >= 1 && rep.passes <= 7);
    CHECK(rep.limiter_max_reduction_db <= 0.0 && rep.limiter_mean_reduction_db <= 0.0);
    CHECK(rep.limiter_mean_reduction_db >= rep.limiter_max_reduction_db);
    CHECK(rep.limited_fraction >= 0.0 && rep.limited_fraction <= 1.0);

    check_section("f64 agrees with f32");
    tonecore_pipeline_config c64 = config(TONECORE_SAMPLE_FORMAT_F64, 1);
    double *y64 = ref_alloc(2 * FRAMES, sizeof(double));
    tonecore_normalize_report rep64;
    rep64.struct_size = sizeof rep64;
    CHECK_STATUS(tonecore_normalize_f64(&c64, NULL, -14.0, x, 2 * FRAMES, y64, 2 * FRAMES,
                                        &rep64, NULL, NULL),
                 TONECORE_STATUS_OK);
    CHECK_MSG(fabs(ref_integrated_48k(y64, 2, FRAMES) + 14.0) <= 0.1, "f64 output");
    CHECK_MSG(fabs(rep64.gain_db - rep.gain_db) < 0.05, "%.4f vs %.4f", rep64.gain_db,
              rep.gain_db);
    free(x); free(in); free(out); free(y); free(y64);
}

static void test_without_limiter_is_one_exact_gain(void) {
    check_section("no limiter: the output is the input times the reported gain");
    double *x = ref_alloc(2 * FRAMES, sizeof(double));
    make_track(x, 0.05);
    float *in = ref_alloc(2 * FRAMES, sizeof(float));
    float *out = ref_alloc(2 * FRAMES, sizeof(float));
    for (size_t i = 0; i < 2 * FRAMES; i++) in[i] = (float)x[i];
    tonecore_pipeline_config c = config(TONECORE_SAMPLE_FORMAT_F32, 0);
    tonecore_normalize_report rep;
    rep.struct_size = sizeof rep;
    CHECK_STATUS(tonecore_normalize_f32(&c, NULL, -23.0, in, 2 * FRAMES, out, 2 * FRAMES, &rep,
                                        NULL, NULL),
                 TONECORE_STATUS_OK);
    double want_gain = -23.0 - ref_integrated_48k(x, 2, FRAMES);
    CHECK_MSG(fabs(rep.gain_db - want_gain) < 0.02, "gain %.4f, reference %.4f", rep.gain_db,
              want_gain);
    double g = pow(10.0, rep.gain_db / 20.0), worst = 0;
    for (size_t i = 0; i < 2 * FRAMES; i++) worst = fmax(worst, fabs(out[i] - in[i] * g));
    CHECK_MSG(worst < 1e-6, "largest deviation %g", worst);
    CHECK(rep.limited == 0 && isnan(rep.ceiling_db) && rep.passes == 1);
    CHECK(rep.outcome == TONECORE_NORMALIZE_OUTCOME_REACHED);
    free(x); free(in); free(out);
}

static void test_silence(void) {
    check_section("silence is reported and stays silent");
    float *in = ref_alloc(2 * SR, sizeof(float));
    float *out = ref_alloc(2 * SR, sizeof(float));
    memset(in, 0, 2 * SR * sizeof(float));
    tonecore_pipeline_config c = config(TONECORE_SAMPLE_FORMAT_F32, 1);
    tonecore_normalize_report rep;
    rep.struct_size = sizeof rep;
    CHECK_STATUS(tonecore_normalize_f32(&c, NULL, -14.0, in, 2 * SR, out, 2 * SR, &rep, NULL, NULL),
                 TONECORE_STATUS_OK);
    CHECK(rep.outcome == TONECORE_NORMALIZE_OUTCOME_SILENT && rep.gain_db == 0.0);
    CHECK(isinf(rep.input_lufs) && rep.input_lufs < 0);
    int silent = 1;
    for (size_t i = 0; i < 2 * SR; i++) silent &= out[i] == 0.0f;
    CHECK(silent);
    free(in); free(out);
}

static void test_refusals(void) {
    check_section("refusals leave the output untouched");
    float in[2 * 4800], out[2 * 4800];
    for (size_t i = 0; i < 2 * 4800; i++) { in[i] = 0.1f; out[i] = 7.0f; }
    tonecore_pipeline_config c = config(TONECORE_SAMPLE_FORMAT_F32, 1);
    tonecore_normalize_report rep;
    rep.struct_size = sizeof rep;
    const size_t n = 2 * 4800;
    CHECK_STATUS(tonecore_normalize_f32(NULL, NULL, -14.0, in, n, out, n, &rep, NULL, NULL),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_normalize_f32(&c, NULL, -14.0, NULL, n, out, n, &rep, NULL, NULL),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_normalize_f32(&c, NULL, 5.0, in, n, out, n, &rep, NULL, NULL),
                 TONECORE_STATUS_INVALID_TARGET);
    CHECK_STATUS(tonecore_normalize_f32(&c, NULL, NAN, in, n, out, n, &rep, NULL, NULL),
                 TONECORE_STATUS_INVALID_TARGET);
    CHECK_STATUS(tonecore_normalize_f32(&c, NULL, -14.0, in, n, out, n - 2, &rep, NULL, NULL),
                 TONECORE_STATUS_BUFFER_TOO_SMALL);
    tonecore_normalize_report small = rep;
    small.struct_size = 8;
    CHECK_STATUS(tonecore_normalize_f32(&c, NULL, -14.0, in, n, out, n, &small, NULL, NULL),
                 TONECORE_STATUS_STRUCT_SIZE);
    double in64[4] = {0}, out64[4] = {0};
    CHECK_STATUS(tonecore_normalize_f64(&c, NULL, -14.0, in64, 4, out64, 4, &rep, NULL, NULL),
                 TONECORE_STATUS_WRONG_FORMAT);
    in[5] = NAN;
    CHECK_STATUS(tonecore_normalize_f32(&c, NULL, -14.0, in, n, out, n, &rep, NULL, NULL),
                 TONECORE_STATUS_NON_FINITE);
    in[5] = 0.1f;
    /* A caller built against the header before the true-peak and level-mode fields: its
     * struct_size ends at limiter_release_ms and the new fields take their defaults; a size
     * between the two versions is refused. */
    tonecore_pipeline_config old = c;
    old.struct_size = offsetof(tonecore_pipeline_config, limiter_true_peak);
    tonecore_pipeline *pl = NULL;
    CHECK_STATUS(tonecore_pipeline_new(&old, &pl), TONECORE_STATUS_OK);
    tonecore_pipeline_free(pl);
    pl = NULL;
    old.struct_size = offsetof(tonecore_pipeline_config, level_mode);
    CHECK_STATUS(tonecore_pipeline_new(&old, &pl), TONECORE_STATUS_STRUCT_SIZE);
    CHECK(pl == NULL);
    int untouched = 1;
    for (size_t i = 0; i < n; i++) untouched &= out[i] == 7.0f;
    CHECK(untouched);
    CHECK(tonecore_last_error_message()[0] != '\0');
}

/* Reads a whole stream (interleaved 480-frame blocks) into planar `y`, waiting out underruns. */
typedef int32_t (*read_fn)(void *ctx, float *out, size_t len, size_t *frames);
static int read_planar(read_fn read, void *ctx, double *y) {
    float block[2 * 480];
    size_t pos = 0, spins = 0;
    while (pos < FRAMES) {
        size_t got = 0;
        if (read(ctx, block, 2 * 480, &got) != TONECORE_STATUS_OK) return 0;
        if (got == 0) {
            if (++spins > 200000) return 0; /* about a minute of 0.25 ms naps */
            struct timespec ts = {0, 250000};
            nanosleep(&ts, NULL);
            continue;
        }
        for (size_t i = 0; i < got && pos + i < FRAMES; i++) {
            y[pos + i] = block[2 * i];
            y[FRAMES + pos + i] = block[2 * i + 1];
        }
        pos += got;
    }
    return 1;
}

static int32_t read_playback(void *ctx, float *out, size_t len, size_t *frames) {
    return tonecore_playback_read_f32((tonecore_playback *)ctx, out, len, frames);
}

typedef struct { tonecore_engine *e; uint64_t id; } engine_stream;
static int32_t read_engine(void *ctx, float *out, size_t len, size_t *frames) {
    engine_stream *s = (engine_stream *)ctx;
    return tonecore_engine_stream_read_f32(s->e, s->id, out, len, frames);
}

static void check_stream_output(const char *what, const double *y) {
    double lufs = ref_integrated_48k(y, 2, FRAMES);
    double tp = fmax(ref_true_peak_db(y, FRAMES), ref_true_peak_db(y + FRAMES, FRAMES));
    CHECK_MSG(fabs(lufs + 14.0) <= 0.1, "%s: output %.3f LUFS", what, lufs);
    CHECK_MSG(tp <= -1.0 + 0.1, "%s: true peak %.3f dBTP", what, tp);
}

static void test_streams(void) {
    check_section("streams normalise the track at open: playback and engine land on -14 LUFS");
    double *x = ref_alloc(2 * FRAMES, sizeof(double));
    make_track(x, 1.5);
    float *in = ref_alloc(2 * FRAMES, sizeof(float));
    double *y = ref_alloc(2 * FRAMES, sizeof(double));
    for (size_t i = 0; i < 2 * FRAMES; i++) in[i] = (float)x[i];
    tonecore_pipeline_config c = config(TONECORE_SAMPLE_FORMAT_F32, 1);
    c.level_enabled = 1; /* level_mode stays at its default, INTEGRATED */
    c.target_lufs = -14.0;
    tonecore_render_config rc;
    CHECK_STATUS(tonecore_render_config_init(&rc), TONECORE_STATUS_OK);
    tonecore_playback *pb = NULL;
    CHECK_STATUS(tonecore_playback_open_f32(&c, &rc, in, 2 * FRAMES, &pb), TONECORE_STATUS_OK);
    tonecore_normalize_report rep;
    memset(&rep, 0, sizeof rep);
    rep.struct_size = sizeof rep;
    int32_t normalized = -1;
    if (pb != NULL) {
        CHECK_STATUS(tonecore_playback_get_normalization(pb, &rep, &normalized),
                     TONECORE_STATUS_OK);
        CHECK(normalized == 1 && rep.outcome == TONECORE_NORMALIZE_OUTCOME_REACHED);
        CHECK_MSG(fabs(rep.output_lufs + 14.0) <= 0.1, "report %.3f", rep.output_lufs);
        CHECK_STATUS(tonecore_playback_get_normalization(pb, NULL, &normalized),
                     TONECORE_STATUS_NULL_POINTER);
        tonecore_normalize_report small = rep;
        small.struct_size = 8;
        CHECK_STATUS(tonecore_playback_get_normalization(pb, &small, &normalized),
                     TONECORE_STATUS_STRUCT_SIZE);
        CHECK_MSG(read_planar(read_playback, pb, y), "playback stalled");
        check_stream_output("playback", y);
        tonecore_playback_free(pb);
    }

    tonecore_engine *e = NULL;
    tonecore_engine_config ec;
    CHECK_STATUS(tonecore_engine_config_init(&ec), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_new(&ec, &e), TONECORE_STATUS_OK);
    engine_stream s = {e, 0};
    if (e != NULL) {
        CHECK_STATUS(tonecore_engine_open_stream_f32(e, 1, &c, &rc, in, 2 * FRAMES, 0, 0.0, &s.id),
                     TONECORE_STATUS_OK);
        tonecore_normalize_report erep;
        erep.struct_size = sizeof erep;
        normalized = -1;
        CHECK_STATUS(tonecore_engine_stream_get_normalization(e, s.id, &erep, &normalized),
                     TONECORE_STATUS_OK);
        CHECK(normalized == 1 && erep.gain_db == rep.gain_db);
        CHECK_MSG(read_planar(read_engine, &s, y), "engine stream stalled");
        check_stream_output("engine", y);
        /* The momentary leveller measures nothing. */
        c.level_mode = TONECORE_LEVEL_MODE_MOMENTARY;
        uint64_t live = 0;
        CHECK_STATUS(tonecore_engine_open_stream_f32(e, 2, &c, &rc, in, 2 * FRAMES, 0, 0.0, &live),
                     TONECORE_STATUS_OK);
        normalized = -1;
        CHECK_STATUS(tonecore_engine_stream_get_normalization(e, live, &erep, &normalized),
                     TONECORE_STATUS_OK);
        CHECK(normalized == 0);
        CHECK_STATUS(tonecore_engine_stream_get_normalization(e, 12345, &erep, &normalized),
                     TONECORE_STATUS_STALE_ID);
        tonecore_engine_free(e);
    }
    free(x); free(in); free(y);
}

int main(void) {
    test_lands_on_the_target();
    test_without_limiter_is_one_exact_gain();
    test_silence();
    test_refusals();
    test_streams();
    return check_finish();
}
