/*
 * test_regressions.c — one check per bug the fuzzers (fuzz/, `make test-fuzz`) found, with the
 * exact input that found it. Each of these crashed or panicked before its fix.
 *
 * 1. oneshot: tonecore_loudness_measure_f32 at 29 Hz, 59 channels, 32768 frames of zeros returned
 *    TONECORE_STATUS_PANIC: ebur128 0.1.11 overruns its own buffer at rates <= 145 Hz in
 *    short-term mode (<= 17 Hz integrated-only). Fix: the loudness meter accepts 8 kHz-2.8224 MHz
 *    (the K-weighting shelf at 1.68 kHz cannot be realised below ~3.4 kHz anyway); every rate
 *    below is INVALID_SAMPLE_RATE — also for tonecore_params_set_level_reference_* on a pipeline
 *    running at such a rate, which panicked the same way.
 * 2. playback: tonecore_playback_open_f64 with chunk_seconds = 44480 on a 7005-frame track tried
 *    to allocate every prefetch packet at the full chunk length (2.5 GB each) and would abort the
 *    host when memory ran out. Fix: packets and crossfade tails are sized by what the track can
 *    fill (min(chunk, track) and min(crossfade, track)); lookahead_chunks is capped at 1024.
 * 3. (found while reproducing 2) tonecore_pipeline_new / tonecore_equalizer_new accepted any
 *    sample rate up to UINT32_MAX and aborted on the limiter's lookahead allocation. Fix: the
 *    streaming stages accept 1-2822400 Hz (INVALID_SAMPLE_RATE above).
 * 4. equalizer: finite f32 samples near FLT_MAX (-1.7e38) overflowed the f32 FFT and came out as
 *    NaN / infinity (through the pipeline they would reach the level matcher and limiter).
 *    Fix: the convolver treats finite samples beyond +-2^20 (+120 dBFS, corrupt data) like NaN:
 *    replaced by zero and counted. Same for the pipeline and the offline equalize.
 * 5. oneshot: tonecore_loudness_measure_f64 of samples around -2.8e283 reported NaN loudness (the
 *    f64 energies overflowed). Fix: the loudness functions refuse samples beyond +-2^20 with
 *    NON_FINITE, as they refuse NaN and infinities.
 * 6. limiter: with the ceiling at 0 dBFS, a -0.984 sample entered the 40-frame lookahead; the
 *    ceiling was lowered to -1 dBFS; the next block (NaN, i.e. silence) was below the ceiling and
 *    the limiter at rest, so the pure-delay fast path let the delayed sample out unclamped at
 *    -0.984. Fix: lowering the ceiling below a delayed sample keeps the limiter off the fast path
 *    until the delay line has drained through the clamp. The pipeline's limiter had the same
 *    hole (its fuzz target only checked the highest ceiling set so far; it now checks the one in
 *    force).
 */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "ref.h"

static void loudness_low_rates(void) {
    static float zeros[59 * 32768];
    tonecore_loudness_report r;
    tonecore_loudness_meter *m = NULL;
    double lufs = 0.0;
    unsigned sr, panics = 0, accepted = 0;

    check_section("loudness below 8 kHz: INVALID_SAMPLE_RATE, never PANIC");
    sentinel_fill(&r, sizeof r);
    CHECK_STATUS(tonecore_loudness_measure_f32(zeros, 59 * 32768, 59, 29, &r),
                 TONECORE_STATUS_INVALID_SAMPLE_RATE);
    CHECK(sentinel_intact(&r, sizeof r));
    for (sr = 1; sr < 8000; sr += (sr < 300 ? 1 : 37)) {
        int32_t a = tonecore_loudness_measure_f32(zeros, 20000, 1, sr, &r);
        int32_t b = tonecore_loudness_integrated_f32(zeros, 20000, 1, sr, &lufs);
        int32_t c = tonecore_loudness_meter_new(1, sr, &m);
        panics += (a == TONECORE_STATUS_PANIC) + (b == TONECORE_STATUS_PANIC) +
                  (c == TONECORE_STATUS_PANIC);
        accepted += (a != TONECORE_STATUS_INVALID_SAMPLE_RATE) +
                    (b != TONECORE_STATUS_INVALID_SAMPLE_RATE) +
                    (c != TONECORE_STATUS_INVALID_SAMPLE_RATE);
        if (c == TONECORE_STATUS_OK) {
            tonecore_loudness_meter_free(m);
            m = NULL;
        }
    }
    CHECK_EQ_INT(panics, 0);
    CHECK_EQ_INT(accepted, 0);
    CHECK_STATUS(tonecore_loudness_measure_f32(zeros, 2 * 8000, 2, 8000, &r), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_loudness_integrated_f32(zeros, 8000, 1, 8000, &lufs), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_loudness_meter_new(2, 2822400, &m), TONECORE_STATUS_OK);
    tonecore_loudness_meter_free(m);
    m = NULL;
    CHECK_STATUS(tonecore_loudness_meter_new(2, 2822401, &m), TONECORE_STATUS_INVALID_SAMPLE_RATE);
    CHECK(m == NULL);
}

static void level_reference_low_rate(void) {
    tonecore_pipeline_config c;
    tonecore_pipeline *p = NULL;
    tonecore_params *h = NULL;
    static float reference[2 * 1000];
    double lufs = 123.0;
    size_t i;

    check_section("set_level_reference on a 100 Hz pipeline: INVALID_SAMPLE_RATE, no panic");
    for (i = 0; i < 2 * 1000; i++) {
        reference[i] = (float)sin((double)i);
    }
    tonecore_pipeline_config_init(&c);
    c.sample_rate = 100;
    CHECK_STATUS(tonecore_pipeline_new(&c, &p), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_pipeline_params(p, &h), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_params_set_level_reference_f32(h, reference, 2 * 1000, 2, &lufs),
                 TONECORE_STATUS_INVALID_SAMPLE_RATE);
    CHECK(lufs == 123.0);
    /* The pipeline is not poisoned: it still processes. */
    {
        float x[2 * 16] = {0}, y[2 * 16];
        CHECK_STATUS(tonecore_pipeline_process_f32(p, x, 32, y, 32), TONECORE_STATUS_OK);
    }
    tonecore_params_free(h);
    tonecore_pipeline_free(p);
}

static void streaming_rate_limit(void) {
    tonecore_pipeline_config c;
    tonecore_equalizer_config e;
    tonecore_pipeline *p = NULL;
    tonecore_equalizer *q = NULL;

    check_section("pipeline and equalizer sample rates: 1-2822400 Hz");
    tonecore_pipeline_config_init(&c);
    c.limiter_enabled = 1;
    c.lookahead_ms = 100.0;
    c.sample_rate = UINT32_MAX;
    CHECK_STATUS(tonecore_pipeline_new(&c, &p), TONECORE_STATUS_INVALID_SAMPLE_RATE);
    c.sample_rate = 2822401;
    CHECK_STATUS(tonecore_pipeline_new(&c, &p), TONECORE_STATUS_INVALID_SAMPLE_RATE);
    CHECK(p == NULL);
    c.sample_rate = 2822400;
    CHECK_STATUS(tonecore_pipeline_new(&c, &p), TONECORE_STATUS_OK);
    tonecore_pipeline_free(p);
    tonecore_equalizer_config_init(&e);
    e.sample_rate = UINT32_MAX;
    CHECK_STATUS(tonecore_equalizer_new(&e, &q), TONECORE_STATUS_INVALID_SAMPLE_RATE);
    CHECK(q == NULL);
}

static void playback_long_chunk_short_track(void) {
    tonecore_pipeline_config pc;
    tonecore_render_config rc;
    tonecore_playback *pb = NULL;
    tonecore_playback_stats st;
    static double track[43 * 7005];
    static double out[43 * 1024];
    size_t got = 0, frames = 0, rounds = 0;

    check_section("playback: chunk_seconds far beyond the track allocates by the track");
    tonecore_pipeline_config_init(&pc);
    tonecore_render_config_init(&rc);
    /* The fuzzer's input: 16 kHz, 43 channels, EQ + level, f64, 7005 frames of zeros. */
    pc.sample_rate = 16000;
    pc.channels = 43;
    pc.fft_size = 256;
    pc.max_block = 256;
    pc.sample_format = TONECORE_SAMPLE_FORMAT_F64;
    pc.eq_enabled = 1;
    pc.level_enabled = 1;
    rc.chunk_seconds = 44480.85159313725;
    rc.context_seconds = -1.0615206587637051e178; /* negative: the default context */
    rc.crossfade_seconds = 4.6552020761500626e-48;
    rc.lookahead_chunks = 27;
    rc.seek_fade_ms = 1.3687360080454346e-48;
    CHECK_STATUS(tonecore_playback_open_f64(&pc, &rc, track, 43 * 7005, &pb), TONECORE_STATUS_OK);
    tonecore_playback_free(pb);
    pb = NULL;

    /* Worse: a day-long chunk and crossfade at 192 kHz x 64 channels (terabytes before the
     * fix); the stream must open and play the short track to its end. */
    pc.sample_rate = 192000;
    pc.channels = 1;
    pc.eq_enabled = 0;
    pc.level_enabled = 0;
    rc.chunk_seconds = 86400.0;
    rc.context_seconds = 0.0;
    rc.crossfade_seconds = 86399.0;
    rc.lookahead_chunks = 1024;
    rc.seek_fade_ms = 0.0;
    CHECK_STATUS(tonecore_playback_open_f64(&pc, &rc, track, 7005, &pb), TONECORE_STATUS_OK);
    while (pb != NULL && got < 7005 && rounds++ < 20000) {
        CHECK_STATUS(tonecore_playback_read_f64(pb, out, 1024, &frames), TONECORE_STATUS_OK);
        got += frames;
        if (frames == 0) { /* not rendered yet: wait 1 ms (at most 20 s in all) */
            struct timespec ts = {0, 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    CHECK_EQ_SIZE(got, 7005);
    CHECK_STATUS(tonecore_playback_get_stats(pb, &st), TONECORE_STATUS_OK);
    CHECK_EQ_INT(st.chunks_rendered, 1);
    tonecore_playback_free(pb);
    pb = NULL;

    rc.lookahead_chunks = 1025;
    CHECK_STATUS(tonecore_playback_open_f64(&pc, &rc, track, 7005, &pb), TONECORE_STATUS_INVALID_TIME);
    CHECK(pb == NULL);
}

static int all_finite_f32(const float *y, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        if (!isfinite(y[i])) {
            return 0;
        }
    }
    return 1;
}

static void huge_finite_samples(void) {
    /* The fuzzer's input: 255 Hz, 23 channels, fft_size 122, step curve, a denormal ramp,
     * 1009 frames repeating {-1.714723e38, -2.0203817e38, 1.78e-43}. */
    enum { CH = 23, FRAMES = 1009, N = CH * FRAMES };
    static const float pattern[3] = {-1.714723e38f, -2.0203817e38f, 1.78e-43f};
    static float x[N], y[N];
    tonecore_equalizer_config e;
    tonecore_equalizer *eq = NULL;
    tonecore_pipeline_config pc;
    tonecore_pipeline *p = NULL;
    tonecore_params *h = NULL;
    tonecore_pipeline_stats st;
    tonecore_equalize_config oc;
    uint64_t count = 0;
    size_t i, huge = 0;

    check_section("finite samples near FLT_MAX: zeroed and counted, output finite");
    for (i = 0; i < N; i++) {
        x[i] = pattern[i % 3];
        huge += fabsf(x[i]) > 1048576.0f;
    }
    tonecore_equalizer_config_init(&e);
    e.sample_rate = 255;
    e.channels = CH;
    e.max_block = 1564;
    e.fft_size = 122;
    e.mode = TONECORE_CURVE_MODE_STEP;
    e.ramp_ms = 7.2903223701108486e-304;
    CHECK_STATUS(tonecore_equalizer_new(&e, &eq), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_equalizer_process_f32(eq, x, N, y, N), TONECORE_STATUS_OK);
    CHECK(all_finite_f32(y, N));
    CHECK_STATUS(tonecore_equalizer_nonfinite_count(eq, &count), TONECORE_STATUS_OK);
    CHECK_EQ_INT(count, huge);
    tonecore_equalizer_free(eq);

    /* Through the whole chain, with the limiter on: finite and under the ceiling. */
    tonecore_pipeline_config_init(&pc);
    pc.sample_rate = 44100;
    pc.channels = CH;
    pc.max_block = FRAMES;
    pc.eq_enabled = 1;
    pc.level_enabled = 1;
    pc.limiter_enabled = 1;
    CHECK_STATUS(tonecore_pipeline_new(&pc, &p), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_pipeline_params(p, &h), TONECORE_STATUS_OK);
    for (i = 0; i < 4; i++) {
        CHECK_STATUS(tonecore_pipeline_process_f32(p, x, N, y, N), TONECORE_STATUS_OK);
        CHECK(all_finite_f32(y, N));
    }
    st.struct_size = sizeof st;
    CHECK_STATUS(tonecore_params_stats(h, &st), TONECORE_STATUS_OK);
    CHECK_EQ_INT(st.nonfinite, 4 * huge);
    tonecore_params_free(h);
    tonecore_pipeline_free(p);

    /* Offline equalize. */
    tonecore_equalize_config_init(&oc);
    oc.threads = 1;
    {
        double gains[25];
        for (i = 0; i < 25; i++) {
            gains[i] = 24.0;
        }
        CHECK_STATUS(tonecore_equalize_f32(&oc, gains, 25, x, N, CH, y, N, NULL, NULL),
                     TONECORE_STATUS_OK);
        CHECK(all_finite_f32(y, N));
    }
}

static void loudness_huge_finite(void) {
    enum { FRAMES = 41891 };
    static double x[FRAMES];
    tonecore_loudness_report r;
    tonecore_loudness_meter *m = NULL;
    double lufs = 7.0;
    size_t i;

    check_section("loudness of samples beyond +-2^20: NON_FINITE, nothing written");
    for (i = 0; i < FRAMES; i++) {
        x[i] = i % 7 == 3 ? -2.7755574e-17 * 1e300 : -2.7755574e-17;
    }
    sentinel_fill(&r, sizeof r);
    CHECK_STATUS(tonecore_loudness_measure_f64(x, FRAMES, 1, 8000, &r), TONECORE_STATUS_NON_FINITE);
    CHECK(sentinel_intact(&r, sizeof r));
    CHECK_STATUS(tonecore_loudness_integrated_f64(x, FRAMES, 1, 8000, &lufs),
                 TONECORE_STATUS_NON_FINITE);
    CHECK(lufs == 7.0);
    CHECK_STATUS(tonecore_loudness_meter_new(1, 8000, &m), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_loudness_meter_add_f64(m, x, FRAMES), TONECORE_STATUS_NON_FINITE);
    /* The boundary: 2^20 itself is measured (a finite loudness), just above is refused. */
    for (i = 0; i < FRAMES; i++) {
        x[i] = (i % 2 ? 1.0 : -1.0) * 1048576.0;
    }
    CHECK_STATUS(tonecore_loudness_measure_f64(x, FRAMES, 1, 8000, &r), TONECORE_STATUS_OK);
    CHECK(isfinite(r.integrated) && isfinite(r.range) && isfinite(r.true_peak));
    x[FRAMES / 2] = nextafter(1048576.0, 2e6);
    CHECK_STATUS(tonecore_loudness_meter_add_f64(m, x, FRAMES), TONECORE_STATUS_NON_FINITE);
    tonecore_loudness_meter_free(m);
}

static void lowered_ceiling_fast_path(void) {
    check_section("6. a lowered ceiling clamps what is already in the lookahead (limiter, pipeline)");
    {
        tonecore_limiter_config c;
        tonecore_limiter *l = NULL;
        float first = -0.984f, out[256], zeros[256] = {0};
        double ceiling = pow(10.0, -1.0 / 20.0), peak = 0.0;
        size_t i;
        tonecore_limiter_config_init(&c);
        c.sample_rate = 8000;
        c.channels = 1;
        c.ceiling_db = 0.0;
        CHECK_STATUS(tonecore_limiter_new(&c, &l), TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_limiter_process_f32(l, &first, 1, out, 1), TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_limiter_set_ceiling_db(l, -1.0), TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_limiter_process_f32(l, zeros, 256, out, 256), TONECORE_STATUS_OK);
        for (i = 0; i < 256; i++) peak = fmax(peak, fabs(out[i]));
        CHECK_MSG(peak <= ceiling && peak > 0.8, "limiter: peak %.6f after lowering to %.6f", peak,
                  ceiling);
        tonecore_limiter_free(l);
    }
    {
        /* A 100-frame burst at 0.95 under a 0 dBFS ceiling, timed to sit in the limiter's
         * lookahead at a call boundary; then -6 dBFS and silence. */
        tonecore_pipeline_config pc;
        tonecore_pipeline *p = NULL;
        tonecore_params *h = NULL;
        size_t latency = 0, lookahead = 221, eq_latency, boundary, i, pos = 0;
        enum { CAP = 4096 };
        static float x[2 * CAP], y[2 * CAP];
        double ceiling = pow(10.0, -6.0 / 20.0), peak = 0.0;
        tonecore_pipeline_config_init(&pc);
        pc.limiter_enabled = 1;
        pc.ceiling_db = 0.0;
        CHECK_STATUS(tonecore_pipeline_new(&pc, &p), TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_pipeline_params(p, &h), TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_pipeline_latency(p, &latency), TONECORE_STATUS_OK);
        eq_latency = latency - lookahead;
        /* The burst occupies input frames [1000, 1100); it leaves the EQ at 1000 + eq_latency and
         * sits in the lookahead at the boundary. */
        boundary = 1000 + eq_latency + 150;
        while (pos < boundary) {
            size_t n = boundary - pos < CAP ? boundary - pos : CAP, c;
            for (c = 0; c < 2; c++)
                for (i = 0; i < n; i++)
                    x[c * n + i] = (pos + i >= 1000 && pos + i < 1100) ? 0.95f : 0.0f;
            CHECK_STATUS(tonecore_pipeline_process_f32(p, x, 2 * n, y, 2 * n), TONECORE_STATUS_OK);
            pos += n;
        }
        CHECK_STATUS(tonecore_params_set_ceiling_db(h, -6.0), TONECORE_STATUS_OK);
        memset(x, 0, sizeof x);
        CHECK_STATUS(tonecore_pipeline_process_f32(p, x, 2 * 1024, y, 2 * 1024), TONECORE_STATUS_OK);
        for (i = 0; i < 2 * 1024; i++) peak = fmax(peak, fabs(y[i]));
        CHECK_MSG(peak <= ceiling && peak > 0.45, "pipeline: peak %.6f after lowering to %.6f",
                  peak, ceiling);
        tonecore_params_free(h);
        tonecore_pipeline_free(p);
    }
}

int main(void) {
    loudness_low_rates();
    level_reference_low_rate();
    streaming_rate_limit();
    playback_long_chunk_short_track();
    huge_finite_samples();
    loudness_huge_finite();
    lowered_ceiling_fast_path();
    return check_finish();
}
