/*
 * test_limiter.c — tonecore_limiter, the lookahead peak limiter on its own.
 *
 * Against a naive double-precision evaluation of the documented definition (required gain per
 * frame with linked channels, minimum over the last L+1 frames, its average over L+1 frames,
 * one-pole release, applied to the frame leaving an L-frame delay, clamp to the ceiling) for
 * f32/f64 objects, planar and interleaved, in uneven blocks; bit-exact delay below the ceiling;
 * NaN/Inf replaced and counted; ceiling changes; reset; statistics; every refusal (outputs and
 * state untouched).
 */
#include "ref.h"

#define SR 48000u
#define FRAMES 6000u
#define CH 2u

static char limiter_sentinel_storage;
#define LIMITER_SENTINEL ((tonecore_limiter *)(void *)&limiter_sentinel_storage)

static tonecore_limiter_config config_of(int32_t format, double ceiling, double look,
                                         double release) {
    tonecore_limiter_config c;
    tonecore_limiter_config_init(&c);
    c.sample_rate = SR;
    c.channels = CH;
    c.sample_format = format;
    c.ceiling_db = ceiling;
    c.lookahead_ms = look;
    c.release_ms = release;
    c.true_peak = 0; /* the tests below check the sample-peak definition; test_normalize.c and
                        tests/true_peak.rs check true peaks */
    return c;
}

static tonecore_limiter *make_limiter(const tonecore_limiter_config *c) {
    tonecore_limiter *l = NULL;
    int32_t st = tonecore_limiter_new(c, &l);
    CHECK_MSG(st == TONECORE_STATUS_OK && l != NULL, "tonecore_limiter_new -> %s (%s)",
              check_status_name(st), tonecore_last_error_message());
    return st == TONECORE_STATUS_OK ? l : NULL;
}

/* Planar test signal: bursts at 2.5 on a 0.3 bed, alternating between the channels. */
static void make_signal(double *x) {
    for (size_t c = 0; c < CH; c++)
        for (size_t i = 0; i < FRAMES; i++) {
            double burst = ((i / 700) % 3 == c) ? 2.5 : 0.3;
            x[c * FRAMES + i] =
                burst * sin(2.0 * M_PI * (200.0 + 150.0 * (double)c) * (double)i / SR);
        }
}

/* The definition, evaluated directly: O(frames * L^2). */
static void reference(const double *x, double ceiling_db, double look_ms, double release_ms,
                      double *y) {
    size_t l = (size_t)floor(look_ms * 1e-3 * SR + 0.5);
    if (l < 1) l = 1;
    double ceiling = pow(10.0, ceiling_db / 20.0);
    double release = exp(-1.0 / (release_ms * 1e-3 * SR));
    double *req = ref_alloc(FRAMES, sizeof(double));
    double *mins = ref_alloc(FRAMES, sizeof(double));
    for (size_t t = 0; t < FRAMES; t++) {
        double peak = 0.0;
        for (size_t c = 0; c < CH; c++) peak = fmax(peak, fabs(x[c * FRAMES + t]));
        req[t] = peak > ceiling ? ceiling / peak : 1.0;
    }
    for (size_t t = 0; t < FRAMES; t++) {
        double m = 1.0; /* frames before the start count as silence */
        for (size_t k = 0; k <= l; k++)
            if (t >= k) m = fmin(m, req[t - k]);
        mins[t] = m;
    }
    double gain = 1.0;
    for (size_t t = 0; t < FRAMES; t++) {
        double sum = 0.0;
        for (size_t k = 0; k <= l; k++) sum += t >= k ? mins[t - k] : 1.0;
        double avg = fmin(sum / (double)(l + 1), 1.0);
        if (avg <= gain) {
            gain = avg;
        } else {
            double g = avg + (gain - avg) * release;
            gain = (avg == 1.0 && 1.0 - g < 1e-6) ? 1.0 : g;
        }
        for (size_t c = 0; c < CH; c++) {
            double d = t >= l ? x[c * FRAMES + t - l] : 0.0;
            double v = d * gain;
            y[c * FRAMES + t] = v > ceiling ? ceiling : (v < -ceiling ? -ceiling : v);
        }
    }
    free(req);
    free(mins);
}

/* Runs the whole signal through a limiter in uneven blocks, alternating planar and
 * interleaved calls, and returns the planar output as doubles. */
static void run_blocks(tonecore_limiter *l, int32_t format, const double *x, double *y) {
    static const size_t blocks[] = {1, 7, 256, 1000, 33};
    size_t pos = 0, b = 0;
    while (pos < FRAMES) {
        size_t n = blocks[b % 5];
        if (n > FRAMES - pos) n = FRAMES - pos;
        int inter = (int)(b % 2);
        if (format == TONECORE_SAMPLE_FORMAT_F32) {
            float in[2 * 1000], out[2 * 1000];
            for (size_t c = 0; c < CH; c++)
                for (size_t i = 0; i < n; i++)
                    in[inter ? i * CH + c : c * n + i] = (float)x[c * FRAMES + pos + i];
            CHECK_STATUS(inter ? tonecore_limiter_process_interleaved_f32(l, in, CH * n, out,
                                                                          CH * n)
                               : tonecore_limiter_process_f32(l, in, CH * n, out, CH * n),
                         TONECORE_STATUS_OK);
            for (size_t c = 0; c < CH; c++)
                for (size_t i = 0; i < n; i++)
                    y[c * FRAMES + pos + i] = out[inter ? i * CH + c : c * n + i];
        } else {
            double in[2 * 1000], out[2 * 1000];
            for (size_t c = 0; c < CH; c++)
                for (size_t i = 0; i < n; i++)
                    in[inter ? i * CH + c : c * n + i] = x[c * FRAMES + pos + i];
            CHECK_STATUS(inter ? tonecore_limiter_process_interleaved_f64(l, in, CH * n, out,
                                                                          CH * n)
                               : tonecore_limiter_process_f64(l, in, CH * n, out, CH * n),
                         TONECORE_STATUS_OK);
            for (size_t c = 0; c < CH; c++)
                for (size_t i = 0; i < n; i++)
                    y[c * FRAMES + pos + i] = out[inter ? i * CH + c : c * n + i];
        }
        pos += n;
        b++;
    }
}

static void test_defaults(void) {
    check_section("config defaults and latency");
    tonecore_limiter_config c;
    CHECK_STATUS(tonecore_limiter_config_init(&c), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(c.struct_size, sizeof c);
    CHECK_EQ_INT(c.sample_rate, 44100);
    CHECK_EQ_INT(c.channels, 2);
    CHECK_EQ_INT(c.sample_format, TONECORE_SAMPLE_FORMAT_F32);
    CHECK(c.ceiling_db == -1.0 && c.lookahead_ms == 1.5 && c.release_ms == 100.0);
    CHECK_EQ_INT(c.true_peak, 1);
    tonecore_limiter *l = make_limiter(&c);
    size_t frames = 0;
    CHECK_STATUS(tonecore_limiter_latency(l, &frames), TONECORE_STATUS_OK);
    /* round(1.5 ms * 44.1 kHz) = round(66.15), plus the true-peak detector's reach */
    CHECK_EQ_SIZE(frames, 66 + TONECORE_TRUE_PEAK_EXTRA_FRAMES);
    tonecore_limiter_free(l);
    c.true_peak = 0;
    c.lookahead_ms = 5.0;
    l = make_limiter(&c);
    CHECK_STATUS(tonecore_limiter_latency(l, &frames), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(frames, 221); /* round(5 ms * 44.1 kHz) = round(220.5) */
    tonecore_limiter_free(l);
    tonecore_limiter_free(NULL);
}

static void test_reference(int32_t format) {
    check_section(format == TONECORE_SAMPLE_FORMAT_F64 ? "against the definition (f64)"
                                                       : "against the definition (f32)");
    double *x = ref_alloc(CH * FRAMES, sizeof(double));
    double *want = ref_alloc(CH * FRAMES, sizeof(double));
    double *got = ref_alloc(CH * FRAMES, sizeof(double));
    make_signal(x);
    if (format == TONECORE_SAMPLE_FORMAT_F32) /* the reference sees the samples the object sees */
        for (size_t i = 0; i < CH * FRAMES; i++) x[i] = (float)x[i];
    reference(x, -3.0, 1.0, 20.0, want);
    tonecore_limiter_config c = config_of(format, -3.0, 1.0, 20.0);
    tonecore_limiter *l = make_limiter(&c);
    run_blocks(l, format, x, got);
    double ceiling = pow(10.0, -3.0 / 20.0), worst = 0.0, peak = 0.0;
    for (size_t i = 0; i < CH * FRAMES; i++) {
        worst = fmax(worst, fabs(got[i] - want[i]));
        peak = fmax(peak, fabs(got[i]));
    }
    double tol = format == TONECORE_SAMPLE_FORMAT_F64 ? 1e-9 : 2e-6;
    CHECK_MSG(worst <= tol, "largest deviation from the definition %.3g (tolerance %g)", worst,
              tol);
    CHECK_MSG(peak <= ceiling, "output peak %.9g above the ceiling %.9g", peak, ceiling);
    tonecore_limiter_stats s;
    s.struct_size = sizeof s;
    CHECK_STATUS(tonecore_limiter_get_stats(l, &s), TONECORE_STATUS_OK);
    CHECK(s.frames == FRAMES && s.nonfinite == 0);
    double deepest = -3.0 - 20.0 * log10(2.5);
    CHECK_MSG(fabs(s.max_reduction_db - deepest) < 0.2, "max reduction %.3f dB, want ~%.3f",
              s.max_reduction_db, deepest);
    tonecore_limiter_free(l);
    free(x);
    free(want);
    free(got);
}

static void test_transparent_and_sanitised(void) {
    check_section("below the ceiling: a bit-exact delay; NaN/Inf become silence");
    tonecore_limiter_config c = config_of(TONECORE_SAMPLE_FORMAT_F32, -1.0, 5.0, 100.0);
    tonecore_limiter *l = make_limiter(&c);
    size_t lat = 0;
    CHECK_STATUS(tonecore_limiter_latency(l, &lat), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(lat, 240);
    enum { N = 3000 };
    static float in[CH * N], out[CH * N];
    ref_rng r = ref_rng_new(7);
    for (size_t i = 0; i < CH * N; i++) in[i] = (float)(0.89 * ref_uniform(&r)); /* ref_uniform: [-1, 1) */
    CHECK_STATUS(tonecore_limiter_process_f32(l, in, CH * N, out, CH * N), TONECORE_STATUS_OK);
    int exact = 1;
    for (size_t ch = 0; ch < CH; ch++)
        for (size_t i = 0; i < N; i++) {
            float want = i < lat ? 0.0f : in[ch * N + i - lat];
            exact &= memcmp(&out[ch * N + i], &want, sizeof want) == 0;
        }
    CHECK_MSG(exact, "output is not the input delayed by %zu frames", lat);
    in[5] = NAN;
    in[9] = INFINITY;
    in[N + 1] = -INFINITY;
    CHECK_STATUS(tonecore_limiter_process_f32(l, in, CH * N, out, CH * N), TONECORE_STATUS_OK);
    tonecore_limiter_stats s;
    s.struct_size = sizeof s;
    CHECK_STATUS(tonecore_limiter_get_stats(l, &s), TONECORE_STATUS_OK);
    CHECK(s.nonfinite == 3 && s.frames == 2 * N && s.max_reduction_db == 0.0);
    int finite = 1;
    for (size_t i = 0; i < CH * N; i++) finite &= isfinite(out[i]) != 0;
    CHECK(finite);

    check_section("ceiling change and reset");
    for (size_t i = 0; i < CH * N; i++) in[i] = 0.9f;
    CHECK_STATUS(tonecore_limiter_set_ceiling_db(l, -12.0), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_limiter_process_f32(l, in, CH * N, out, CH * N), TONECORE_STATUS_OK);
    double ceiling = pow(10.0, -12.0 / 20.0), peak = 0.0;
    for (size_t i = 0; i < CH * N; i++) peak = fmax(peak, fabs(out[i]));
    CHECK_MSG(peak <= ceiling && fabs(out[N - 1] - ceiling) < 1e-6,
              "peak %.9g, last %.9g, ceiling %.9g", peak, out[N - 1], ceiling);
    CHECK_STATUS(tonecore_limiter_reset(l), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_limiter_get_stats(l, &s), TONECORE_STATUS_OK);
    CHECK(s.frames == 0 && s.nonfinite == 0 && s.max_reduction_db == 0.0 && s.gain_db == 0.0);
    tonecore_limiter_free(l);
}

static void test_refusals(void) {
    check_section("new refusals");
    tonecore_limiter_config c = config_of(TONECORE_SAMPLE_FORMAT_F32, -1.0, 5.0, 100.0);
    tonecore_limiter *l = LIMITER_SENTINEL;
    CHECK_STATUS(tonecore_limiter_config_init(NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_limiter_new(NULL, &l), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_limiter_new(&c, NULL), TONECORE_STATUS_NULL_POINTER);
    tonecore_limiter_config bad = c;
    bad.struct_size = 8;
    CHECK_STATUS(tonecore_limiter_new(&bad, &l), TONECORE_STATUS_STRUCT_SIZE);
    bad = c;
    bad.channels = 0;
    CHECK_STATUS(tonecore_limiter_new(&bad, &l), TONECORE_STATUS_INVALID_CHANNELS);
    bad.channels = 65;
    CHECK_STATUS(tonecore_limiter_new(&bad, &l), TONECORE_STATUS_INVALID_CHANNELS);
    bad = c;
    bad.sample_rate = 0;
    CHECK_STATUS(tonecore_limiter_new(&bad, &l), TONECORE_STATUS_INVALID_SAMPLE_RATE);
    bad.sample_rate = 4294967295u;
    CHECK_STATUS(tonecore_limiter_new(&bad, &l), TONECORE_STATUS_INVALID_SAMPLE_RATE);
    bad = c;
    bad.sample_format = 7;
    CHECK(tonecore_limiter_new(&bad, &l) != TONECORE_STATUS_OK);
    bad = c;
    bad.ceiling_db = 0.5;
    CHECK_STATUS(tonecore_limiter_new(&bad, &l), TONECORE_STATUS_INVALID_CEILING);
    bad.ceiling_db = NAN;
    CHECK_STATUS(tonecore_limiter_new(&bad, &l), TONECORE_STATUS_INVALID_CEILING);
    bad = c;
    bad.lookahead_ms = 0.0;
    CHECK_STATUS(tonecore_limiter_new(&bad, &l), TONECORE_STATUS_INVALID_TIME);
    bad.lookahead_ms = 101.0;
    CHECK_STATUS(tonecore_limiter_new(&bad, &l), TONECORE_STATUS_INVALID_TIME);
    bad = c;
    bad.release_ms = INFINITY;
    CHECK_STATUS(tonecore_limiter_new(&bad, &l), TONECORE_STATUS_INVALID_TIME);
    CHECK(l == LIMITER_SENTINEL);

    check_section("process refusals leave outputs and state untouched");
    l = make_limiter(&c);
    float in[8] = {2, 2, 2, 2, 2, 2, 2, 2}, out[8];
    double din[8] = {0}, dout[8];
    sentinel_fill(out, sizeof out);
    CHECK_STATUS(tonecore_limiter_process_f32(NULL, in, 8, out, 8), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_limiter_process_f32(l, NULL, 8, out, 8), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_limiter_process_f32(l, in, 8, NULL, 8), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_limiter_process_f32(l, in, 7, out, 8), TONECORE_STATUS_INVALID_CHANNELS);
    CHECK_STATUS(tonecore_limiter_process_interleaved_f32(l, in, 8, out, 6),
                 TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(tonecore_limiter_process_f32(l, in, 8, in + 2, 6), TONECORE_STATUS_BUFFERS_OVERLAP);
    CHECK_STATUS(tonecore_limiter_process_f32(l, in, (size_t)-1 / sizeof(float), out, 8),
                 TONECORE_STATUS_INVALID_LENGTH);
    CHECK_STATUS(tonecore_limiter_process_f64(l, din, 8, dout, 8), TONECORE_STATUS_WRONG_FORMAT);
    CHECK_STATUS(tonecore_limiter_process_interleaved_f64(l, din, 8, dout, 8),
                 TONECORE_STATUS_WRONG_FORMAT);
    CHECK(sentinel_intact(out, sizeof out));
    CHECK_STATUS(tonecore_limiter_set_ceiling_db(l, 1.0), TONECORE_STATUS_INVALID_CEILING);
    CHECK_STATUS(tonecore_limiter_set_ceiling_db(l, NAN), TONECORE_STATUS_INVALID_CEILING);
    CHECK_STATUS(tonecore_limiter_set_ceiling_db(NULL, -1.0), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_limiter_reset(NULL), TONECORE_STATUS_NULL_POINTER);
    size_t lat = sentinel_size();
    CHECK_STATUS(tonecore_limiter_latency(NULL, &lat), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_limiter_latency(l, NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK(lat == sentinel_size());
    tonecore_limiter_stats s;
    sentinel_fill(&s, sizeof s);
    s.struct_size = 8;
    CHECK_STATUS(tonecore_limiter_get_stats(l, &s), TONECORE_STATUS_STRUCT_SIZE);
    CHECK_STATUS(tonecore_limiter_get_stats(l, NULL), TONECORE_STATUS_NULL_POINTER);
    s.struct_size = sizeof s;
    CHECK_STATUS(tonecore_limiter_get_stats(l, &s), TONECORE_STATUS_OK);
    CHECK(s.frames == 0); /* nothing above was processed */
    /* An empty block is fine and processes nothing. */
    CHECK_STATUS(tonecore_limiter_process_f32(l, in, 0, out, 0), TONECORE_STATUS_OK);
    /* The refused ceiling changed nothing: 2.0 comes out at -1 dBFS. */
    CHECK_STATUS(tonecore_limiter_process_f32(l, in, 8, out, 8), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_limiter_get_stats(l, &s), TONECORE_STATUS_OK);
    CHECK(s.frames == 4 && s.gain_db < 0.0);
    tonecore_limiter_free(l);
}

int main(void) {
    test_defaults();
    test_reference(TONECORE_SAMPLE_FORMAT_F64);
    test_reference(TONECORE_SAMPLE_FORMAT_F32);
    test_transparent_and_sanitised();
    test_refusals();
    return check_finish();
}
