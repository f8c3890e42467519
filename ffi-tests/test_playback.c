/*
 * test_playback.c — tonecore_playback streams: open, read, seek, get_stats, free.
 *
 * A stream over stereo noise through an EQ pipeline, read in 256-frame interleaved blocks
 * (waiting out underruns), equals tonecore_render_chunked's output for the same configs (planar,
 * interleaved here) — f64 and f32; the frames after frames_out are silence; the counters add up
 * (position, chunks_rendered, frames_read, underrun_frames); past the end: 0 frames of silence.
 * Seeks into the middle of a chunk and into a seam: after the old position's fade-out
 * (round(seek_fade_ms * sr) frames, each frame the old position's render times one gain, falling
 * from ~1 to ~0) and the new position's fade-in (rising), the output is the chunked render from the
 * target frame on. A seek while the old data ends inside the fade-out; a fade-out that ends
 * exactly at the end of a read call (17-frame reads, 17 dividing the 221-frame fade); a seek
 * during the previous seek's fade-in (the sound must not stop dead). Seeks to the end, and refused
 * seeks (NaN, negative, infinite, past the end). Every refusal of open/read/seek/get_stats
 * (outputs untouched, nothing consumed). A reader thread reading continuously while a seeker
 * thread seeks every few ms: every read OK, every sample finite, seeks counted, and the stream
 * plays the right content afterwards. Freeing streams whose worker is rendering or waiting
 * (ASan/LSan clean, bounded time).
 *
 * The render configs give the context explicitly (0.06-0.1 s, above the EQ's 2049-frame kernel
 * plus the 221-frame lookahead): with the default context (-1) the library currently also counts
 * the disabled level matcher's settle time (1.35 s) and refuses 1 s chunks (test_render.c checks
 * the default context).
 *
 * Worker threads only record what they saw; every CHECK runs on the main thread.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "ref.h"

#define SR 44100u
#define BANDS 25
#define BLOCK 256
#define CH 2

/* A recognisable pointer for tonecore_playback ** out-parameters (never dereferenced). */
static char playback_sentinel_storage;
#define PLAYBACK_SENTINEL ((tonecore_playback *)(void *)&playback_sentinel_storage)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_us(long us) {
    struct timespec ts;
    ts.tv_sec = us / 1000000L;
    ts.tv_nsec = (us % 1000000L) * 1000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* `count` uniform samples in [-amp, amp). */
static double *noise(size_t count, double amp, uint64_t seed) {
    ref_rng rng = ref_rng_new(seed);
    double *x = (double *)ref_alloc(count, sizeof(double));
    size_t i;
    for (i = 0; i < count; i++) {
        x[i] = amp * ref_uniform(&rng);
    }
    return x;
}

static size_t frames_of(double seconds) {
    return (size_t)floor(seconds * (double)SR + 0.5);
}

static double eq_gains[BANDS];

/* Stereo EQ pipeline (random gains in +-6 dB) in `format`. */
static tonecore_pipeline_config eq_pipeline(int32_t format) {
    tonecore_pipeline_config c;
    tonecore_pipeline_config_init(&c);
    c.sample_format = format;
    c.eq_enabled = 1;
    c.eq_gains_db = eq_gains;
    c.eq_gains_len = BANDS;
    return c;
}

static tonecore_render_config render_cfg(double chunk, double context, double crossfade) {
    tonecore_render_config r;
    tonecore_render_config_init(&r);
    r.chunk_seconds = chunk;
    r.context_seconds = context;
    r.crossfade_seconds = crossfade;
    return r;
}

/* The offline reference: tonecore_render_chunked of planar x (CH x len) into planar y. */
static int reference(const tonecore_pipeline_config *pc, const tonecore_render_config *rc,
                     const double *x, size_t len, double *y) {
    int32_t st;
    if (pc->sample_format == TONECORE_SAMPLE_FORMAT_F32) {
        float *fi = (float *)ref_alloc(CH * len, sizeof(float));
        float *fo = (float *)ref_alloc(CH * len, sizeof(float));
        size_t i;
        for (i = 0; i < CH * len; i++) {
            fi[i] = (float)x[i];
        }
        st = tonecore_render_chunked_f32(pc, rc, fi, CH * len, fo, CH * len, NULL, NULL);
        for (i = 0; i < CH * len; i++) {
            y[i] = (double)fo[i];
        }
        free(fi);
        free(fo);
    } else {
        st = tonecore_render_chunked_f64(pc, rc, x, CH * len, y, CH * len, NULL, NULL);
    }
    CHECK_MSG(st == TONECORE_STATUS_OK, "reference render: %s (%s)", check_status_name(st),
              tonecore_last_error_message());
    return st == TONECORE_STATUS_OK;
}

/* Opens a stream over planar x (CH x len) in the pipeline config's format (NULL on failure). */
static tonecore_playback *open_stream(const tonecore_pipeline_config *pc,
                                      const tonecore_render_config *rc, const double *x,
                                      size_t len) {
    tonecore_playback *pb = NULL;
    int32_t st;
    if (pc->sample_format == TONECORE_SAMPLE_FORMAT_F32) {
        float *fx = (float *)ref_alloc(CH * len, sizeof(float));
        size_t i;
        for (i = 0; i < CH * len; i++) {
            fx[i] = (float)x[i];
        }
        st = tonecore_playback_open_f32(pc, rc, fx, CH * len, &pb);
        free(fx); /* the stream copied the track */
    } else {
        st = tonecore_playback_open_f64(pc, rc, x, CH * len, &pb);
    }
    CHECK_MSG(st == TONECORE_STATUS_OK && pb != NULL, "playback_open: %s (%s)",
              check_status_name(st), tonecore_last_error_message());
    return st == TONECORE_STATUS_OK ? pb : NULL;
}

static tonecore_playback_stats stats_of(const tonecore_playback *pb) {
    tonecore_playback_stats s;
    sentinel_fill(&s, sizeof s);
    CHECK_STATUS(tonecore_playback_get_stats(pb, &s), TONECORE_STATUS_OK);
    return s;
}

/* What a series of reads saw. */
typedef struct tally {
    uint64_t requested, delivered;
    unsigned long calls, bad_status, not_silent, too_many;
    int32_t first_bad;
} tally;

/*
 * Reads from `pb` (an f64 stream, or f32 when `f32` is set) in blocks of at most `block` frames
 * until `want` track frames arrived or `timeout_s` passed, appending them (interleaved) to `dst`.
 * After a short read it sleeps 1 ms. Records in `t` every status that is not OK, frames_out above
 * the request, and samples after frames_out that are not exactly 0. Returns the frames read.
 */
static size_t read_until(tonecore_playback *pb, int f32, double *dst, size_t want, size_t block,
                         double timeout_s, tally *t) {
    double dbuf[CH * BLOCK];
    float fbuf[CH * BLOCK];
    double deadline = now_s() + timeout_s;
    size_t got = 0, i;
    while (got < want) {
        size_t ask = want - got < block ? want - got : block, n = 0;
        int32_t st;
        for (i = 0; i < CH * ask; i++) {
            dbuf[i] = NAN;
            fbuf[i] = NAN;
        }
        st = f32 ? tonecore_playback_read_f32(pb, fbuf, CH * ask, &n)
                 : tonecore_playback_read_f64(pb, dbuf, CH * ask, &n);
        t->calls++;
        if (st != TONECORE_STATUS_OK) {
            if (t->bad_status++ == 0) {
                t->first_bad = st;
            }
            break;
        }
        if (f32) {
            for (i = 0; i < CH * ask; i++) {
                dbuf[i] = (double)fbuf[i];
            }
        }
        if (n > ask) {
            t->too_many++;
            n = ask;
        }
        for (i = CH * n; i < CH * ask; i++) {
            if (dbuf[i] != 0.0) {
                t->not_silent++;
            }
        }
        memcpy(dst + CH * got, dbuf, CH * n * sizeof(double));
        got += n;
        t->requested += ask;
        t->delivered += n;
        if (n < ask) {
            if (now_s() > deadline) {
                break;
            }
            sleep_us(1000);
        }
    }
    return got;
}

static void check_tally(const char *what, const tally *t) {
    CHECK_MSG(t->bad_status == 0, "%s: %lu reads failed, first with %s", what, t->bad_status,
              check_status_name(t->first_bad));
    CHECK_MSG(t->too_many == 0, "%s: %lu reads reported more frames than asked for", what,
              t->too_many);
    CHECK_MSG(t->not_silent == 0, "%s: %lu samples after frames_out were not silence", what,
              t->not_silent);
}

/* max |y (interleaved, from frame 0) - ref (planar, total frames, from frame `from`)| over n. */
static double max_diff(const double *y, const double *ref, size_t total, size_t from, size_t n) {
    double e = 0.0;
    size_t i, c;
    for (i = 0; i < n; i++) {
        for (c = 0; c < CH; c++) {
            e = ref_max_err(e, fabs(y[CH * i + c] - ref[c * total + from + i]));
        }
    }
    return e;
}

/*
 * Checks that frames y[0..n) (interleaved) are the reference from frame `from` on, each frame
 * scaled by one gain in [0, 1] (the same for both channels) that never rises (`falling`) or never
 * falls; writes the first and last gain.
 */
static void check_fade(const char *what, const double *y, size_t n, const double *ref,
                       size_t total, size_t from, int falling, double *first, double *last) {
    double prev = falling ? 1.0 : 0.0, worst_residual = 0.0;
    unsigned long out_of_range = 0, wrong_way = 0;
    size_t i, c;
    *first = *last = NAN;
    for (i = 0; i < n; i++) {
        double num = 0.0, den = 0.0, g;
        for (c = 0; c < CH; c++) {
            double r = ref[c * total + from + i];
            num += y[CH * i + c] * r;
            den += r * r;
        }
        if (den < 1e-8) {
            continue; /* too quiet to tell the gain */
        }
        g = num / den;
        for (c = 0; c < CH; c++) {
            worst_residual =
                ref_max_err(worst_residual, fabs(y[CH * i + c] - g * ref[c * total + from + i]));
        }
        if (!(g >= -1e-12 && g <= 1.0 + 1e-12)) {
            out_of_range++;
        }
        if (falling ? g > prev + 1e-12 : g < prev - 1e-12) {
            wrong_way++;
        }
        if (isnan(*first)) {
            *first = g;
        }
        *last = g;
        prev = g;
    }
    CHECK_MSG(worst_residual <= 1e-9,
              "%s: frames are not one gain times the render from frame %zu (residual %.3g)", what,
              from, worst_residual);
    CHECK_MSG(out_of_range == 0, "%s: %lu gains outside [0, 1]", what, out_of_range);
    CHECK_MSG(wrong_way == 0, "%s: the gain %s %lu times", what, falling ? "rose" : "fell",
              wrong_way);
}

/*
 * After a seek from `old_pos` (the next frame the listener would have got) to `target`: y holds
 * n frames read since, of which the first `out_len` are the old position fading out, the next
 * `fade` the target fading in, the rest equal to the render from target + fade on.
 */
static void check_seek_ex(const char *what, const double *y, size_t n, const double *ref,
                          size_t total, size_t old_pos, size_t out_len, size_t target,
                          size_t fade, double tol, int data_ends);

static void check_seek(const char *what, const double *y, size_t n, const double *ref,
                       size_t total, size_t old_pos, size_t out_len, size_t target, size_t fade,
                       double tol) {
    check_seek_ex(what, y, n, ref, total, old_pos, out_len, target, fade, tol, 0);
}

/* `data_ends`: the old position reaches the end of the track inside the fade, so its fade-out is
 * cut short there (there is nothing left to fade); it must still have been falling. */
static void check_seek_ex(const char *what, const double *y, size_t n, const double *ref,
                          size_t total, size_t old_pos, size_t out_len, size_t target,
                          size_t fade, double tol, int data_ends) {
    char label[160];
    double first, last, err;
    if (n < out_len + fade) {
        CHECK_MSG(0, "%s: only %zu frames after the seek", what, n);
        return;
    }
    if (out_len > 0) {
        snprintf(label, sizeof label, "%s fade-out", what);
        check_fade(label, y, out_len, ref, total, old_pos, 1, &first, &last);
        CHECK_MSG(first >= 0.9 && (data_ends ? last < first : last <= 0.1),
                  "%s: fade-out gains from %.4f to %.4f", what, first, last);
    }
    snprintf(label, sizeof label, "%s fade-in", what);
    check_fade(label, y + CH * out_len, fade, ref, total, target, 0, &first, &last);
    CHECK_MSG(first <= 0.1 && last >= 0.9, "%s: fade-in gains from %.4f to %.4f", what, first,
              last);
    err = max_diff(y + CH * (out_len + fade), ref, total, target + fade, n - out_len - fade);
    CHECK_MSG(err <= tol, "%s: after the fades, max |stream - chunked render from frame %zu| = %.3g",
              what, target + fade, err);
    printf("   %s: %zu frames after the fades, max error %.3g\n", what, n - out_len - fade, err);
}

/* ---------------------------------------------------------------------------------------------
 * Sequential playback
 * ------------------------------------------------------------------------------------------- */

static void sequential_case(int32_t format, size_t total, double chunk, double context,
                            double crossfade, double tol) {
    int f32 = format == TONECORE_SAMPLE_FORMAT_F32;
    tonecore_pipeline_config pc = eq_pipeline(format);
    tonecore_render_config rc = render_cfg(chunk, context, crossfade);
    double *x = noise(CH * total, 0.5, 61 + (uint64_t)format);
    double *ref = (double *)ref_alloc(CH * total, sizeof(double));
    double *y = (double *)ref_alloc(CH * total, sizeof(double));
    size_t chunks = (total + frames_of(chunk) - 1) / frames_of(chunk), got;
    tonecore_playback *pb;
    tonecore_playback_stats s;
    tally t;
    char what[120];

    snprintf(what, sizeof what, "%s stream, %zu frames, chunk %g s", f32 ? "f32" : "f64", total,
             chunk);
    memset(&t, 0, sizeof t);
    if (!reference(&pc, &rc, x, total, ref) || (pb = open_stream(&pc, &rc, x, total)) == NULL) {
        goto done;
    }
    got = read_until(pb, f32, y, total, BLOCK, 30.0, &t);
    check_tally(what, &t);
    CHECK_MSG(got == total, "%s: stalled after %zu frames", what, got);
    if (got == total) {
        double err = max_diff(y, ref, total, 0, total);
        CHECK_MSG(err <= tol, "%s: max |stream - chunked render| = %.3g", what, err);
        printf("   %s: max |stream - chunked render| %.3g, %lu reads, %llu underrun frames\n",
               what, err, t.calls, (unsigned long long)(t.requested - t.delivered));
    }
    s = stats_of(pb);
    CHECK_MSG(s.position == total, "%s: position %llu, want %zu", what,
              (unsigned long long)s.position, total);
    CHECK_MSG(s.chunks_rendered == chunks, "%s: chunks_rendered %llu, want %zu", what,
              (unsigned long long)s.chunks_rendered, chunks);
    CHECK_MSG(s.seeks == 0, "%s: seeks %llu", what, (unsigned long long)s.seeks);
    CHECK_MSG(s.frames_read == t.requested, "%s: frames_read %llu, want %llu", what,
              (unsigned long long)s.frames_read, (unsigned long long)t.requested);
    CHECK_MSG(s.underrun_frames == t.requested - t.delivered, "%s: underrun_frames %llu, want %llu",
              what, (unsigned long long)s.underrun_frames,
              (unsigned long long)(t.requested - t.delivered));

    /* Past the end: nothing from the track, silence, counted. */
    {
        double d[CH * 64];
        float f[CH * 64];
        size_t n = sentinel_size(), i;
        int silent = 1;
        for (i = 0; i < CH * 64; i++) {
            d[i] = 1.0;
            f[i] = 1.0f;
        }
        CHECK_STATUS(f32 ? tonecore_playback_read_f32(pb, f, CH * 64, &n)
                         : tonecore_playback_read_f64(pb, d, CH * 64, &n),
                     TONECORE_STATUS_OK);
        CHECK_MSG(n == 0, "%s: %zu frames past the end", what, n);
        for (i = 0; i < CH * 64; i++) {
            silent = silent && (f32 ? f[i] == 0.0f : d[i] == 0.0);
        }
        CHECK_MSG(silent, "%s: past the end is not silence", what);
        s = stats_of(pb);
        CHECK_MSG(s.position == total && s.frames_read == t.requested + 64 &&
                      s.underrun_frames == t.requested - t.delivered + 64,
                  "%s past the end: position %llu, frames_read %llu, underrun_frames %llu", what,
                  (unsigned long long)s.position, (unsigned long long)s.frames_read,
                  (unsigned long long)s.underrun_frames);
    }
    tonecore_playback_free(pb);
done:
    free(x);
    free(ref);
    free(y);
}

static void test_sequential(void) {
    check_section("sequential reads equal the chunked render (EQ pipeline, 256-frame blocks)");
    sequential_case(TONECORE_SAMPLE_FORMAT_F64, 4 * SR + 999, 1.0, 0.1, 0.05, 1e-9);
    sequential_case(TONECORE_SAMPLE_FORMAT_F32, 2 * SR + 5, 0.5, 0.06, 0.02, 1e-6);
    /* Shorter than one chunk. */
    sequential_case(TONECORE_SAMPLE_FORMAT_F64, 3000, 1.0, 0.1, 0.05, 1e-9);
}

/* ---------------------------------------------------------------------------------------------
 * Seeks
 * ------------------------------------------------------------------------------------------- */

static void test_seek(void) {
    const size_t total = 4 * SR + 999, fade = frames_of(0.005);
    tonecore_pipeline_config pc = eq_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_render_config rc = render_cfg(1.0, 0.1, 0.05);
    double *x = noise(CH * total, 0.5, 71);
    double *ref = (double *)ref_alloc(CH * total, sizeof(double));
    double *y = (double *)ref_alloc(CH * total, sizeof(double));
    tonecore_playback *pb;
    tonecore_playback_stats s;
    size_t pos, got, want, target;
    tally t;

    check_section("seek into the middle of a chunk and into a seam: fades, then the render");
    memset(&t, 0, sizeof t);
    CHECK_EQ_SIZE(fade, 221); /* round(0.005 * 44100) = round(220.5) */
    if (!reference(&pc, &rc, x, total, ref) || (pb = open_stream(&pc, &rc, x, total)) == NULL) {
        goto done;
    }
    /* 0.5 s in: the current chunk has plenty left for the fade-out. */
    pos = read_until(pb, 0, y, SR / 2, BLOCK, 30.0, &t);
    CHECK_EQ_SIZE(pos, SR / 2);
    CHECK_LE(max_diff(y, ref, total, 0, pos), 1e-9);
    CHECK_EQ_INT(stats_of(pb).position, pos);

    /* 2.3 s: frame 101430, the middle of chunk 2. */
    target = frames_of(2.3);
    CHECK_STATUS(tonecore_playback_seek(pb, 2.3), TONECORE_STATUS_OK);
    want = fade + fade + 20000;
    got = read_until(pb, 0, y, want, BLOCK, 30.0, &t);
    CHECK_MSG(got == want, "seek to 2.3 s: stalled after %zu of %zu frames", got, want);
    check_seek("seek 0.5 s -> 2.3 s", y, got, ref, total, pos, fade, target, fade, 1e-6);
    s = stats_of(pb);
    CHECK_EQ_INT(s.seeks, 1);
    CHECK_MSG(s.position == target + got - fade, "position %llu, want %zu",
              (unsigned long long)s.position, target + got - fade);
    pos = (size_t)s.position;

    /* Into the seam at the start of chunk 3 (its first 2205 frames crossfade with chunk 2). */
    target = 3 * SR + 100;
    CHECK_STATUS(tonecore_playback_seek(pb, (double)target / SR), TONECORE_STATUS_OK);
    want = fade + fade + 30000; /* through the rest of chunk 3 and into chunk 4 */
    got = read_until(pb, 0, y, want, BLOCK, 30.0, &t);
    CHECK_MSG(got == want, "seek into a seam: stalled after %zu of %zu frames", got, want);
    check_seek("seek -> 3 s + 100 frames (a seam)", y, got, ref, total, pos, fade, target, fade,
               1e-6);
    s = stats_of(pb);
    CHECK_EQ_INT(s.seeks, 2);
    CHECK_MSG(s.position == target + got - fade, "position %llu, want %zu",
              (unsigned long long)s.position, target + got - fade);
    pos = (size_t)s.position;

    /* Back to the start. */
    CHECK_STATUS(tonecore_playback_seek(pb, 0.0), TONECORE_STATUS_OK);
    want = fade + fade + 10000;
    got = read_until(pb, 0, y, want, BLOCK, 30.0, &t);
    CHECK_MSG(got == want, "seek to 0: stalled after %zu of %zu frames", got, want);
    check_seek("seek -> 0", y, got, ref, total, pos, fade, 0, fade, 1e-6);
    pos = (size_t)stats_of(pb).position;

    check_section("seek refusals: NaN, negative, infinite, past the end (nothing changes)");
    CHECK_STATUS(tonecore_playback_seek(pb, NAN), TONECORE_STATUS_INVALID_TIME);
    CHECK_STATUS(tonecore_playback_seek(pb, -0.001), TONECORE_STATUS_INVALID_TIME);
    CHECK_STATUS(tonecore_playback_seek(pb, -1.0), TONECORE_STATUS_INVALID_TIME);
    CHECK_STATUS(tonecore_playback_seek(pb, INFINITY), TONECORE_STATUS_INVALID_TIME);
    CHECK_STATUS(tonecore_playback_seek(pb, -INFINITY), TONECORE_STATUS_INVALID_TIME);
    CHECK_STATUS(tonecore_playback_seek(pb, (double)(total + 1) / SR), TONECORE_STATUS_INVALID_TIME);
    CHECK_STATUS(tonecore_playback_seek(pb, 100.0), TONECORE_STATUS_INVALID_TIME);
    CHECK_STATUS(tonecore_playback_seek(NULL, 1.0), TONECORE_STATUS_NULL_POINTER);
    CHECK_EQ_INT(stats_of(pb).seeks, 3);
    /* Playback went on from where it was, unfaded. */
    got = read_until(pb, 0, y, 5000, BLOCK, 30.0, &t);
    CHECK_EQ_SIZE(got, 5000);
    CHECK_MSG(max_diff(y, ref, total, pos, got) <= 1e-6, "after refused seeks: not the render");

    check_section("seek to the end: the old position fades out, then silence");
    CHECK_STATUS(tonecore_playback_seek(pb, (double)total / SR), TONECORE_STATUS_OK);
    pos += got;
    /* Asks for fade + 1 frames, then waits 200 ms for more: only the fade-out comes. */
    got = read_until(pb, 0, y, fade + 1, BLOCK, 0.2, &t);
    CHECK_MSG(got == fade, "seek to the end: %zu frames, want the %zu of the fade-out", got, fade);
    {
        double first, last;
        check_fade("seek to the end, fade-out", y, got < fade ? got : fade, ref, total, pos, 1,
                   &first, &last);
    }
    CHECK_EQ_INT(stats_of(pb).seeks, 4);
    check_tally("seek test reads", &t);
    tonecore_playback_free(pb);
done:
    free(x);
    free(ref);
    free(y);
}

/* The old data ends inside the fade-out: a one-chunk track, read until 100 frames are left, then
 * a seek. The remaining 100 frames fade out; then the target must fade in and play. */
static void test_seek_near_end_of_data(void) {
    const size_t total = SR / 2, fade = frames_of(0.005), left = 100;
    tonecore_pipeline_config pc = eq_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_render_config rc = render_cfg(1.0, 0.1, 0.05);
    double *x = noise(CH * total, 0.5, 81);
    double *ref = (double *)ref_alloc(CH * total, sizeof(double));
    double *y = (double *)ref_alloc(CH * total, sizeof(double));
    tonecore_playback *pb;
    size_t got, want, target = frames_of(0.1);
    tally t;

    check_section("a seek while the old position's data ends inside the fade-out");
    memset(&t, 0, sizeof t);
    if (!reference(&pc, &rc, x, total, ref) || (pb = open_stream(&pc, &rc, x, total)) == NULL) {
        goto done;
    }
    got = read_until(pb, 0, y, total - left, BLOCK, 30.0, &t);
    CHECK_EQ_SIZE(got, total - left);
    CHECK_STATUS(tonecore_playback_seek(pb, 0.1), TONECORE_STATUS_OK);
    want = left + fade + 5000;
    got = read_until(pb, 0, y, want, BLOCK, 3.0, &t);
    CHECK_MSG(got == want,
              "the stream stalled after a seek issued %zu frames (< the %zu-frame fade) before "
              "the end of the data it was playing: %zu of %zu frames in 3 s", left, fade, got,
              want);
    if (got == want) {
        check_seek_ex("seek 100 frames before the end -> 0.1 s", y, got, ref, total,
                      total - left, left, target, fade, 1e-6, 1);
    }
    check_tally("seek near the end of data", &t);
    tonecore_playback_free(pb);
done:
    free(x);
    free(ref);
    free(y);
}

/* The gain of frame y (interleaved, CH values) against reference frame `from` of planar ref;
 * the residual max |y - g ref| goes to *residual. */
static double gain_of(const double *y, const double *ref, size_t total, size_t from,
                      double *residual) {
    double num = 0.0, den = 0.0, g;
    size_t c;
    for (c = 0; c < CH; c++) {
        num += y[c] * ref[c * total + from];
        den += ref[c * total + from] * ref[c * total + from];
    }
    g = den > 0.0 ? num / den : NAN;
    *residual = 0.0;
    for (c = 0; c < CH; c++) {
        *residual = ref_max_err(*residual, fabs(y[c] - g * ref[c * total + from]));
    }
    return g;
}

/* Reads of 17 frames: 17 divides the 221-frame fade, so the fade-out ends exactly at the end of
 * a read call. The seek must still take effect (fade-in, then the target). */
static void test_seek_fade_ends_with_a_read(void) {
    const size_t total = 4 * SR + 999, fade = frames_of(0.005), block = 17;
    tonecore_pipeline_config pc = eq_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_render_config rc = render_cfg(1.0, 0.1, 0.05);
    double *x = noise(CH * total, 0.5, 121);
    double *ref = (double *)ref_alloc(CH * total, sizeof(double));
    double *y = (double *)ref_alloc(CH * total, sizeof(double));
    tonecore_playback *pb;
    size_t pos, got, want = 2 * fade + 3000, target = frames_of(2.3);
    tonecore_playback_stats s;
    tally t;

    check_section("a seek whose fade-out ends exactly at the end of a read (17-frame reads)");
    memset(&t, 0, sizeof t);
    if (!reference(&pc, &rc, x, total, ref) || (pb = open_stream(&pc, &rc, x, total)) == NULL) {
        goto done;
    }
    pos = read_until(pb, 0, y, SR / 2, BLOCK, 30.0, &t);
    CHECK_EQ_SIZE(pos, SR / 2);
    CHECK_STATUS(tonecore_playback_seek(pb, 2.3), TONECORE_STATUS_OK);
    got = read_until(pb, 0, y, want, block, 5.0, &t);
    check_tally("17-frame reads", &t);
    s = stats_of(pb);
    CHECK_MSG(got == want && s.position == target + got - fade,
              "17-frame reads after a seek 0.5 s -> 2.3 s: %zu frames read, position %llu, want "
              "%zu (the seek never took effect: the old position keeps fading out and restarting "
              "at full gain, %zu frames at a time)", got, (unsigned long long)s.position,
              target + got - fade, fade);
    if (got == want && s.position == target + got - fade) {
        check_seek("seek 0.5 s -> 2.3 s, 17-frame reads", y, got, ref, total, pos, fade, target,
                   fade, 1e-6);
    }
    tonecore_playback_free(pb);
done:
    free(x);
    free(ref);
    free(y);
}

/* A second seek while the first one's target is still fading in: the sound there (at about
 * 0.45 of full gain) must fade out from where it is, not stop dead. */
static void test_seek_during_fade_in(void) {
    const size_t total = 4 * SR + 999, fade = frames_of(0.005), into = 100;
    tonecore_pipeline_config pc = eq_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_render_config rc = render_cfg(1.0, 0.1, 0.05);
    double *x = noise(CH * total, 0.5, 131);
    double *ref = (double *)ref_alloc(CH * total, sizeof(double));
    double *y = (double *)ref_alloc(CH * total, sizeof(double));
    tonecore_playback *pb;
    size_t got, want, target = frames_of(2.3), target2 = frames_of(1.3), end, tail = 2000;
    double g_prev, g0, r_prev, r0, first, last;
    tally t;

    check_section("a seek during the previous seek's fade-in: no step");
    memset(&t, 0, sizeof t);
    if (!reference(&pc, &rc, x, total, ref) || (pb = open_stream(&pc, &rc, x, total)) == NULL) {
        goto done;
    }
    CHECK_EQ_SIZE(read_until(pb, 0, y, SR / 2, BLOCK, 30.0, &t), SR / 2);
    CHECK_STATUS(tonecore_playback_seek(pb, 2.3), TONECORE_STATUS_OK);
    want = fade + into;
    got = read_until(pb, 0, y, want, BLOCK, 30.0, &t);
    CHECK_EQ_SIZE(got, want);
    check_fade("first seek, fade-in so far", y + CH * fade, into, ref, total, target, 0, &first,
               &last);
    g_prev = gain_of(y + CH * (want - 1), ref, total, target + into - 1, &r_prev);
    CHECK_MSG(g_prev > 0.2 && g_prev < 0.8 && r_prev <= 1e-9,
              "%zu frames into the fade-in: gain %.4f (residual %.3g)", into, g_prev, r_prev);

    CHECK_STATUS(tonecore_playback_seek(pb, 1.3), TONECORE_STATUS_OK);
    want = 3 * fade + 3000;
    got = read_until(pb, 0, y, want, BLOCK, 30.0, &t);
    CHECK_EQ_SIZE(got, want);
    g0 = gain_of(y, ref, total, target + into, &r0);
    CHECK_MSG(r0 <= 1e-9 && fabs(g0 - g_prev) <= 0.05,
              "the first frame after the second seek is not the fading-in position continued "
              "(want %.4f x the render at frame %zu; as such it has gain %.4f, residual %.3g: "
              "the sound was cut off)", g_prev, target + into, g0, r0);
    /* In the end the second target plays. */
    end = (size_t)stats_of(pb).position;
    CHECK_MSG(end >= target2 + tail && end + fade >= target2 + got && end <= target2 + got,
              "after the second seek: position %zu, %zu frames read since, target %zu", end, got,
              target2);
    if (end >= target2 + tail && end <= total) {
        double err = max_diff(y + CH * (got - tail), ref, total, end - tail, tail);
        CHECK_MSG(err <= 1e-6, "after the second seek: last %zu frames vs the render: %.3g", tail,
                  err);
    }
    check_tally("seek during fade-in", &t);
    tonecore_playback_free(pb);
done:
    free(x);
    free(ref);
    free(y);
}

/* ---------------------------------------------------------------------------------------------
 * Refusals
 * ------------------------------------------------------------------------------------------- */

static void expect_open_fails(const tonecore_pipeline_config *pc, const tonecore_render_config *rc,
                              int f64, size_t len, int32_t expected, const char *what) {
    static double d[CH * 1000];
    static float f[CH * 1000];
    tonecore_playback *pb = PLAYBACK_SENTINEL;
    int32_t st = f64 ? tonecore_playback_open_f64(pc, rc, d, len, &pb)
                     : tonecore_playback_open_f32(pc, rc, f, len, &pb);
    CHECK_MSG(st == expected, "%s: got %s, want %s (%s)", what, check_status_name(st),
              check_status_name(expected), tonecore_last_error_message());
    CHECK_MSG(pb == PLAYBACK_SENTINEL, "%s: playback_out written", what);
    CHECK_MSG(tonecore_last_error_message()[0] != '\0', "%s: no detail message", what);
    if (st == TONECORE_STATUS_OK && pb != PLAYBACK_SENTINEL) {
        tonecore_playback_free(pb);
    }
}

static void test_open_errors(void) {
    static double d[CH * 1000];
    static float f[CH * 1000];
    tonecore_pipeline_config pc64 = eq_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_pipeline_config pc32 = eq_pipeline(TONECORE_SAMPLE_FORMAT_F32);
    tonecore_pipeline_config pc;
    tonecore_render_config rc = render_cfg(1.0, 0.1, 0.05), r;
    tonecore_playback *pb = PLAYBACK_SENTINEL;

    check_section("playback_open refusals (playback_out untouched)");
    /* The valid calls these are variations of. */
    pb = NULL;
    CHECK_STATUS(tonecore_playback_open_f64(&pc64, &rc, d, CH * 1000, &pb), TONECORE_STATUS_OK);
    tonecore_playback_free(pb);
    pb = NULL;
    CHECK_STATUS(tonecore_playback_open_f32(&pc32, &rc, f, CH * 1000, &pb), TONECORE_STATUS_OK);
    tonecore_playback_free(pb);
    tonecore_playback_free(NULL);

    pb = PLAYBACK_SENTINEL;
    CHECK_STATUS(tonecore_playback_open_f64(NULL, &rc, d, CH * 1000, &pb), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_playback_open_f64(&pc64, NULL, d, CH * 1000, &pb), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_playback_open_f64(&pc64, &rc, NULL, CH * 1000, &pb), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_playback_open_f32(NULL, &rc, f, CH * 1000, &pb), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_playback_open_f32(&pc32, NULL, f, CH * 1000, &pb), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_playback_open_f32(&pc32, &rc, NULL, CH * 1000, &pb), TONECORE_STATUS_NULL_POINTER);
    CHECK(pb == PLAYBACK_SENTINEL);
    CHECK_STATUS(tonecore_playback_open_f64(&pc64, &rc, d, CH * 1000, NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_playback_open_f32(&pc32, &rc, f, CH * 1000, NULL), TONECORE_STATUS_NULL_POINTER);

    expect_open_fails(&pc32, &rc, 1, CH * 1000, TONECORE_STATUS_WRONG_FORMAT,
                      "open_f64 with an F32 pipeline config");
    expect_open_fails(&pc64, &rc, 0, CH * 1000, TONECORE_STATUS_WRONG_FORMAT,
                      "open_f32 with an F64 pipeline config");
    expect_open_fails(&pc64, &rc, 1, CH * 1000 - 1, TONECORE_STATUS_INVALID_CHANNELS,
                      "track_len odd for 2 channels");
    pc = pc64;
    pc.channels = 0;
    expect_open_fails(&pc, &rc, 1, CH * 1000, TONECORE_STATUS_INVALID_CHANNELS, "channels 0");
    pc = pc64;
    pc.struct_size = 0;
    expect_open_fails(&pc, &rc, 1, CH * 1000, TONECORE_STATUS_STRUCT_SIZE,
                      "pipeline config struct_size 0");
    pc = pc64;
    pc.fft_size = 17;
    expect_open_fails(&pc, &rc, 1, CH * 1000, TONECORE_STATUS_INVALID_FFT_SIZE, "fft_size 17");

#define WITH(field, value, expected, what)                                                     \
    do {                                                                                       \
        r = rc;                                                                                \
        r.field = value;                                                                       \
        expect_open_fails(&pc64, &r, 1, CH * 1000, expected, what);                            \
    } while (0)
    WITH(struct_size, sizeof r - 1, TONECORE_STATUS_STRUCT_SIZE, "struct_size sizeof - 1");
    WITH(struct_size, 0, TONECORE_STATUS_STRUCT_SIZE, "struct_size 0");
    WITH(lookahead_chunks, 0, TONECORE_STATUS_INVALID_TIME, "lookahead_chunks 0");
    WITH(seek_fade_ms, -1.0, TONECORE_STATUS_INVALID_TIME, "seek_fade_ms -1");
    WITH(seek_fade_ms, 1000.5, TONECORE_STATUS_INVALID_TIME, "seek_fade_ms 1000.5");
    WITH(seek_fade_ms, NAN, TONECORE_STATUS_INVALID_TIME, "seek_fade_ms NaN");
    WITH(chunk_seconds, 0.0, TONECORE_STATUS_INVALID_CHUNK, "chunk_seconds 0");
    WITH(chunk_seconds, NAN, TONECORE_STATUS_INVALID_CHUNK, "chunk_seconds NaN");
    WITH(chunk_seconds, 0.1, TONECORE_STATUS_INVALID_CHUNK, "chunk 0.1 s < context 0.1 s + 0.05 s");
    WITH(crossfade_seconds, -0.05, TONECORE_STATUS_INVALID_CHUNK, "crossfade_seconds -0.05");
    WITH(context_seconds, NAN, TONECORE_STATUS_INVALID_CHUNK, "context_seconds NaN");
    WITH(curve, 3, TONECORE_STATUS_INVALID_ARGUMENT, "curve 3");
#undef WITH
    /* Accepted edges: a 0 ms seek fade, 1000 ms, one chunk of lookahead. */
    {
        static const struct {
            double fade_ms;
            uint32_t lookahead;
        } ok[] = {{0.0, 2}, {1000.0, 2}, {5.0, 1}};
        size_t k;
        for (k = 0; k < sizeof ok / sizeof ok[0]; k++) {
            r = rc;
            r.seek_fade_ms = ok[k].fade_ms;
            r.lookahead_chunks = ok[k].lookahead;
            pb = NULL;
            CHECK_MSG(tonecore_playback_open_f64(&pc64, &r, d, CH * 1000, &pb) ==
                              TONECORE_STATUS_OK && pb != NULL,
                      "seek_fade_ms %g lookahead %u refused: %s", ok[k].fade_ms,
                      (unsigned)ok[k].lookahead, tonecore_last_error_message());
            tonecore_playback_free(pb);
        }
    }
}

static void test_read_errors(void) {
    const size_t total = SR;
    tonecore_pipeline_config pc64 = eq_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_pipeline_config pc32 = eq_pipeline(TONECORE_SAMPLE_FORMAT_F32);
    tonecore_render_config rc = render_cfg(0.5, 0.06, 0.02);
    double *x = noise(CH * total, 0.5, 91);
    double *y = (double *)ref_alloc(CH * total, sizeof(double));
    tonecore_playback *p64, *p32;
    double d[CH * BLOCK];
    float f[CH * BLOCK];
    size_t n;
    tally t;

    check_section("read / get_stats refusals (outputs untouched, nothing consumed)");
    memset(&t, 0, sizeof t);
    p64 = open_stream(&pc64, &rc, x, total);
    p32 = open_stream(&pc32, &rc, x, total);
    if (p64 == NULL || p32 == NULL) {
        tonecore_playback_free(p64);
        tonecore_playback_free(p32);
        free(x);
        free(y);
        return;
    }
    /* Get both streams going. */
    CHECK_EQ_SIZE(read_until(p64, 0, y, 1000, BLOCK, 30.0, &t), 1000);
    CHECK_EQ_SIZE(read_until(p32, 1, y, 1000, BLOCK, 30.0, &t), 1000);
    check_tally("warm-up", &t);

#define EXPECT_READ(call, expected, what)                                                      \
    do {                                                                                       \
        sentinel_fill(d, sizeof d);                                                            \
        sentinel_fill(f, sizeof f);                                                            \
        n = sentinel_size();                                                                   \
        CHECK_STATUS(call, expected);                                                          \
        CHECK_MSG(sentinel_intact(d, sizeof d) && sentinel_intact(f, sizeof f),                \
                  "%s: output written", what);                                                 \
        CHECK_MSG(n == sentinel_size(), "%s: frames_out written", what);                       \
    } while (0)
    EXPECT_READ(tonecore_playback_read_f64(NULL, d, CH * BLOCK, &n), TONECORE_STATUS_NULL_POINTER,
                "f64 NULL playback");
    EXPECT_READ(tonecore_playback_read_f64(p64, NULL, CH * BLOCK, &n),
                TONECORE_STATUS_NULL_POINTER, "f64 NULL output");
    EXPECT_READ(tonecore_playback_read_f64(p64, d, CH * BLOCK, NULL),
                TONECORE_STATUS_NULL_POINTER, "f64 NULL frames_out");
    EXPECT_READ(tonecore_playback_read_f32(NULL, f, CH * BLOCK, &n), TONECORE_STATUS_NULL_POINTER,
                "f32 NULL playback");
    EXPECT_READ(tonecore_playback_read_f32(p32, NULL, CH * BLOCK, &n),
                TONECORE_STATUS_NULL_POINTER, "f32 NULL output");
    EXPECT_READ(tonecore_playback_read_f32(p32, f, CH * BLOCK, NULL),
                TONECORE_STATUS_NULL_POINTER, "f32 NULL frames_out");
    EXPECT_READ(tonecore_playback_read_f64(p64, d, CH * BLOCK - 1, &n),
                TONECORE_STATUS_INVALID_CHANNELS, "f64 output_len odd for 2 channels");
    EXPECT_READ(tonecore_playback_read_f64(p64, d, 1, &n), TONECORE_STATUS_INVALID_CHANNELS,
                "f64 output_len 1");
    EXPECT_READ(tonecore_playback_read_f32(p32, f, CH * BLOCK - 1, &n),
                TONECORE_STATUS_INVALID_CHANNELS, "f32 output_len odd for 2 channels");
    EXPECT_READ(tonecore_playback_read_f64(p32, d, CH * BLOCK, &n), TONECORE_STATUS_WRONG_FORMAT,
                "f64 read on an f32 stream");
    EXPECT_READ(tonecore_playback_read_f32(p64, f, CH * BLOCK, &n), TONECORE_STATUS_WRONG_FORMAT,
                "f32 read on an f64 stream");
#undef EXPECT_READ
    /* An empty read is fine and consumes nothing. */
    n = sentinel_size();
    CHECK_STATUS(tonecore_playback_read_f64(p64, d, 0, &n), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(n, 0);

    /* Nothing was consumed: the counters and the position are where the warm-up left them. */
    {
        tonecore_playback_stats s64 = stats_of(p64), s32 = stats_of(p32);
        CHECK_MSG(s64.position == 1000 && s64.frames_read == 1000 + s64.underrun_frames,
                  "f64 stream after refusals: position %llu, frames_read %llu, underrun %llu",
                  (unsigned long long)s64.position, (unsigned long long)s64.frames_read,
                  (unsigned long long)s64.underrun_frames);
        CHECK_MSG(s32.position == 1000 && s32.frames_read == 1000 + s32.underrun_frames,
                  "f32 stream after refusals: position %llu, frames_read %llu, underrun %llu",
                  (unsigned long long)s32.position, (unsigned long long)s32.frames_read,
                  (unsigned long long)s32.underrun_frames);
    }
    /* get_stats refusals */
    {
        tonecore_playback_stats s;
        sentinel_fill(&s, sizeof s);
        CHECK_STATUS(tonecore_playback_get_stats(NULL, &s), TONECORE_STATUS_NULL_POINTER);
        CHECK(sentinel_intact(&s, sizeof s));
        CHECK_STATUS(tonecore_playback_get_stats(p64, NULL), TONECORE_STATUS_NULL_POINTER);
    }
    tonecore_playback_free(p64);
    tonecore_playback_free(p32);
    free(x);
    free(y);
}

static void test_empty_track(void) {
    tonecore_pipeline_config pc = eq_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_render_config rc = render_cfg(1.0, 0.1, 0.05);
    double track[2] = {0.0, 0.0}, out[CH * 32];
    tonecore_playback *pb = NULL;
    size_t n = sentinel_size(), i;
    int silent = 1;

    check_section("an empty track: opens, plays silence, seeks only to 0");
    CHECK_STATUS(tonecore_playback_open_f64(&pc, &rc, track, 0, &pb), TONECORE_STATUS_OK);
    if (pb == NULL) {
        return;
    }
    for (i = 0; i < CH * 32; i++) {
        out[i] = 1.0;
    }
    CHECK_STATUS(tonecore_playback_read_f64(pb, out, CH * 32, &n), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(n, 0);
    for (i = 0; i < CH * 32; i++) {
        silent = silent && out[i] == 0.0;
    }
    CHECK(silent);
    {
        tonecore_playback_stats s = stats_of(pb);
        CHECK_EQ_INT(s.frames_read, 32);
        CHECK_EQ_INT(s.underrun_frames, 32);
        CHECK_EQ_INT(s.position, 0);
        CHECK_EQ_INT(s.chunks_rendered, 0);
    }
    CHECK_STATUS(tonecore_playback_seek(pb, 0.0), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_playback_seek(pb, 0.001), TONECORE_STATUS_INVALID_TIME);
    tonecore_playback_free(pb);
}

/* ---------------------------------------------------------------------------------------------
 * A reader thread and a seeker thread
 * ------------------------------------------------------------------------------------------- */

typedef struct shared {
    tonecore_playback *pb;
    pthread_mutex_t lock;
    int stop;
} shared;

static int should_stop(shared *sh) {
    int s;
    pthread_mutex_lock(&sh->lock);
    s = sh->stop;
    pthread_mutex_unlock(&sh->lock);
    return s;
}

typedef struct reader_job {
    shared *sh;
    unsigned long reads, bad_status, nonfinite, too_many, not_silent, reads_with_data;
    int32_t first_bad;
    uint64_t delivered;
} reader_job;

static void *reader_thread(void *arg) {
    reader_job *j = (reader_job *)arg;
    double buf[CH * BLOCK];
    while (!should_stop(j->sh)) {
        size_t n = 0, i;
        int32_t st = tonecore_playback_read_f64(j->sh->pb, buf, CH * BLOCK, &n);
        j->reads++;
        if (st != TONECORE_STATUS_OK) {
            if (j->bad_status++ == 0) {
                j->first_bad = st;
            }
            continue;
        }
        if (n > BLOCK) {
            j->too_many++;
            n = BLOCK;
        }
        for (i = 0; i < CH * BLOCK; i++) {
            if (!isfinite(buf[i])) {
                j->nonfinite++;
            } else if (i >= CH * n && buf[i] != 0.0) {
                j->not_silent++;
            }
        }
        j->delivered += n;
        if (n > 0) {
            j->reads_with_data++;
        }
        if (n < BLOCK) {
            sleep_us(200); /* an underrun: give the worker the core */
        }
    }
    return NULL;
}

typedef struct seeker_job {
    shared *sh;
    double seconds; /* track length */
    unsigned long seeks, bad_status;
    int32_t first_bad;
} seeker_job;

static void *seeker_thread(void *arg) {
    seeker_job *j = (seeker_job *)arg;
    ref_rng rng = ref_rng_new(1234);
    double end = now_s() + 0.5;
    while (now_s() < end) {
        /* Anywhere in the track, often right at or next to a chunk boundary (0.25 s chunks). */
        double u = 0.5 * (ref_uniform(&rng) + 1.0), at;
        int32_t st;
        if (u < 0.3) {
            /* chunk boundary k (0..15), or one frame after it */
            at = 0.25 * floor(u / 0.3 * 16.0) + (u < 0.15 ? 0.0 : 1.0 / SR);
        } else {
            at = u * j->seconds;
        }
        st = tonecore_playback_seek(j->sh->pb, at);
        if (st != TONECORE_STATUS_OK) {
            if (j->bad_status++ == 0) {
                j->first_bad = st;
            }
        } else {
            j->seeks++;
        }
        sleep_us(1000 + (long)(4000.0 * 0.5 * (ref_uniform(&rng) + 1.0)));
    }
    return NULL;
}

static void test_reader_and_seeker(void) {
    const size_t total = 4 * SR, fade = frames_of(0.005);
    tonecore_pipeline_config pc = eq_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_render_config rc = render_cfg(0.25, 0.06, 0.02);
    double *x = noise(CH * total, 0.5, 101);
    double *ref = (double *)ref_alloc(CH * total, sizeof(double));
    double *y = (double *)ref_alloc(CH * total, sizeof(double));
    shared sh;
    reader_job rj;
    seeker_job sj;
    pthread_t tr, ts;
    int created = 1;

    check_section("a reader thread reading continuously, a seeker thread seeking every 1-5 ms");
    memset(&sh, 0, sizeof sh);
    memset(&rj, 0, sizeof rj);
    memset(&sj, 0, sizeof sj);
    if (!reference(&pc, &rc, x, total, ref) || (sh.pb = open_stream(&pc, &rc, x, total)) == NULL) {
        free(x);
        free(ref);
        free(y);
        return;
    }
    CHECK_EQ_INT(pthread_mutex_init(&sh.lock, NULL), 0);
    rj.sh = &sh;
    sj.sh = &sh;
    sj.seconds = (double)total / SR;
    created = created && pthread_create(&tr, NULL, reader_thread, &rj) == 0;
    created = created && pthread_create(&ts, NULL, seeker_thread, &sj) == 0;
    CHECK_MSG(created, "pthread_create failed");
    if (!created) {
        abort(); /* threads may be running on stack objects: do not return */
    }
    CHECK_EQ_INT(pthread_join(ts, NULL), 0); /* the seeker runs for 0.5 s */
    pthread_mutex_lock(&sh.lock);
    sh.stop = 1;
    pthread_mutex_unlock(&sh.lock);
    CHECK_EQ_INT(pthread_join(tr, NULL), 0);
    pthread_mutex_destroy(&sh.lock);

    printf("   %lu seeks, %lu reads (%lu with data, %llu frames from the track)\n", sj.seeks,
           rj.reads, rj.reads_with_data, (unsigned long long)rj.delivered);
    CHECK_MSG(sj.bad_status == 0, "%lu seeks failed, first with %s", sj.bad_status,
              check_status_name(sj.first_bad));
    CHECK_MSG(sj.seeks >= 50, "only %lu seeks", sj.seeks);
    CHECK_MSG(rj.bad_status == 0, "%lu reads failed, first with %s", rj.bad_status,
              check_status_name(rj.first_bad));
    CHECK_MSG(rj.nonfinite == 0, "%lu non-finite samples read", rj.nonfinite);
    CHECK_MSG(rj.too_many == 0 && rj.not_silent == 0,
              "%lu reads over-reported frames; %lu samples after frames_out not silent",
              rj.too_many, rj.not_silent);
    CHECK_MSG(rj.reads >= 100, "only %lu reads", rj.reads);
    {
        tonecore_playback_stats s = stats_of(sh.pb);
        CHECK_MSG(s.seeks == sj.seeks, "stats.seeks %llu, seeks made %lu",
                  (unsigned long long)s.seeks, sj.seeks);
        CHECK_MSG(s.frames_read == (uint64_t)rj.reads * BLOCK, "frames_read %llu, want %llu",
                  (unsigned long long)s.frames_read, (unsigned long long)rj.reads * BLOCK);
        CHECK_MSG(s.underrun_frames == (uint64_t)rj.reads * BLOCK - rj.delivered,
                  "underrun_frames %llu, want %llu", (unsigned long long)s.underrun_frames,
                  (unsigned long long)((uint64_t)rj.reads * BLOCK - rj.delivered));
    }

    /* Afterwards the stream still works: a seek to 1 s plays the render from there. */
    {
        const size_t target = SR, want = 2 * fade + 6000, tail = 3000;
        tally t;
        size_t got, end;
        memset(&t, 0, sizeof t);
        CHECK_STATUS(tonecore_playback_seek(sh.pb, 1.0), TONECORE_STATUS_OK);
        got = read_until(sh.pb, 0, y, want, BLOCK, 3.0, &t);
        check_tally("after the seek storm", &t);
        end = (size_t)stats_of(sh.pb).position;
        CHECK_MSG(got == want,
                  "after the seek storm: the stream stalled (%zu of %zu frames in 3 s, position "
                  "%zu; a seek probably landed within the fade length of the end of the data the "
                  "reader had: see 'a seek while the old position's data ends inside the "
                  "fade-out')", got, want, end);
        /* At most `fade` of the frames read were the old position fading out. */
        if (got == want) {
            CHECK_MSG(end >= target + got - fade && end <= target + got,
                      "after the seek storm: position %zu, want %zu..%zu", end,
                      target + got - fade, target + got);
        }
        if (got == want && end >= target + tail && end <= total) {
            double err = max_diff(y + CH * (got - tail), ref, total, end - tail, tail);
            CHECK_MSG(err <= 1e-6, "after the seek storm: last %zu frames vs the render: %.3g",
                      tail, err);
        }
    }
    tonecore_playback_free(sh.pb);
    free(x);
    free(ref);
    free(y);
}

/* ---------------------------------------------------------------------------------------------
 * Freeing a busy stream
 * ------------------------------------------------------------------------------------------- */

static void test_free_busy(void) {
    const size_t total = 4 * SR;
    tonecore_pipeline_config pc = eq_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_render_config rc = render_cfg(1.0, 0.1, 0.05);
    double *x = noise(CH * total, 0.5, 111);
    double *y = (double *)ref_alloc(CH * total, sizeof(double));
    static const long waits_us[4] = {0, 2000, 30000, 300000};
    int k;

    check_section("free while the worker renders ahead or waits for room: joins promptly");
    for (k = 0; k < 4; k++) {
        tonecore_playback *pb = open_stream(&pc, &rc, x, total);
        double t0, dt;
        if (pb == NULL) {
            continue;
        }
        if (k == 3) {
            /* Read a little, then let the worker fill its lookahead and wait for room. */
            tally t;
            memset(&t, 0, sizeof t);
            CHECK_EQ_SIZE(read_until(pb, 0, y, 1000, BLOCK, 30.0, &t), 1000);
            check_tally("before free", &t);
        }
        sleep_us(waits_us[k]);
        if (k == 3) {
            /* The worker renders ahead: give it up to 10 s more on a slow (sanitized, loaded)
             * machine before calling it stuck. */
            double deadline = now_s() + 10.0;
            while (stats_of(pb).chunks_rendered < 2 && now_s() < deadline) {
                sleep_us(10000);
            }
            CHECK_MSG(stats_of(pb).chunks_rendered >= 2, "the worker did not render ahead");
        }
        t0 = now_s();
        tonecore_playback_free(pb);
        dt = now_s() - t0;
        CHECK_MSG(dt < 2.0, "free after %ld us took %.3f s", waits_us[k], dt);
    }
    /* A seek in flight when freeing. */
    {
        tonecore_playback *pb = open_stream(&pc, &rc, x, total);
        if (pb != NULL) {
            CHECK_STATUS(tonecore_playback_seek(pb, 3.5), TONECORE_STATUS_OK);
            tonecore_playback_free(pb);
        }
    }
    free(x);
    free(y);
}

int main(void) {
    ref_rng rng = ref_rng_new(55);
    size_t i;
    for (i = 0; i < BANDS; i++) {
        eq_gains[i] = 6.0 * ref_uniform(&rng);
    }
    test_sequential();
    test_seek();
    test_seek_near_end_of_data();
    test_seek_fade_ends_with_a_read();
    test_seek_during_fade_in();
    test_open_errors();
    test_read_errors();
    test_empty_track();
    test_reader_and_seeker();
    test_free_busy();
    return check_finish();
}
