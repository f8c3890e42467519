/*
 * test_engine.c — tonecore_engine through the C ABI: configuration, keyed streams, the cap,
 * jobs, events, stats and the chunk cache, functionally and with bad input.
 *
 * References are independent of the engine: a stream's output must equal
 * tonecore_render_chunked_* of the same track and configs (an already-tested path; to 1e-9 in
 * f64 and 1e-6 in f32), a job's result must equal it bit for bit, and a stream through a pipeline
 * with every stage disabled (no context, no crossfade) must reproduce an index ramp exactly.
 * Every refused call returns its documented status and changes nothing (outputs keep their
 * sentinels, positions and counters stay). Ids are checked to be generation-checked: closed,
 * replaced, made-up and another engine's ids are STALE_ID, and a replaced stream's id can never
 * close its successor. Events are checked for kind, id, key, replaced flag, job progress and
 * outcome, per-subscription masks, error counting, unsubscribing (also from inside a callback and
 * while the callback runs, freeing user_data right after: ASan proves it is never touched again)
 * and flush_events from a callback (CONCURRENT_USE). Engine stats are checked after each
 * scenario.
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

/* A recognisable pointer for tonecore_engine ** out-parameters (never dereferenced). */
static char engine_sentinel_storage;
#define ENGINE_SENTINEL ((tonecore_engine *)(void *)&engine_sentinel_storage)

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

static uint64_t sentinel_u64(void) {
    uint64_t v;
    sentinel_fill(&v, sizeof v);
    return v;
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

static float *to_f32(const double *x, size_t n) {
    float *f = (float *)ref_alloc(n, sizeof(float));
    size_t i;
    for (i = 0; i < n; i++) {
        f[i] = (float)x[i];
    }
    return f;
}

static size_t frames_of(double seconds) {
    return (size_t)floor(seconds * (double)SR + 0.5);
}

static double eq_gains[BANDS];

/* Stereo EQ pipeline (gains in +-6 dB) in `format`. */
static tonecore_pipeline_config eq_pipeline(int32_t format) {
    tonecore_pipeline_config c;
    tonecore_pipeline_config_init(&c);
    c.sample_format = format;
    c.eq_enabled = 1;
    c.eq_gains_db = eq_gains;
    c.eq_gains_len = BANDS;
    return c;
}

/* Stereo pipeline with every stage disabled. */
static tonecore_pipeline_config flat_pipeline(int32_t format) {
    tonecore_pipeline_config c;
    tonecore_pipeline_config_init(&c);
    c.sample_format = format;
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

static tonecore_engine *new_engine(uint32_t max_streams, uint32_t workers, uint64_t cache,
                                   uint32_t max_jobs) {
    tonecore_engine_config c;
    tonecore_engine *e = NULL;
    int32_t st;
    tonecore_engine_config_init(&c);
    c.max_streams = max_streams;
    c.worker_threads = workers;
    c.cache_bytes = cache;
    c.max_jobs = max_jobs;
    st = tonecore_engine_new(&c, &e);
    CHECK_MSG(st == TONECORE_STATUS_OK && e != NULL, "engine_new: %s (%s)", check_status_name(st),
              tonecore_last_error_message());
    return st == TONECORE_STATUS_OK ? e : NULL;
}

static tonecore_engine_stats stats_of(const tonecore_engine *e) {
    tonecore_engine_stats s;
    sentinel_fill(&s, sizeof s);
    s.struct_size = sizeof s;
    CHECK_STATUS(tonecore_engine_get_stats(e, &s), TONECORE_STATUS_OK);
    return s;
}

/* Waits (up to 30 s) until no job runs: a released job keeps its place until it has stopped. */
static void wait_jobs_idle(const tonecore_engine *e) {
    for (int i = 0; i < 30000 && stats_of(e).jobs_running > 0; i++) {
        sleep_us(1000);
    }
}

static tonecore_playback_stats stream_stats(const tonecore_engine *e, uint64_t id, int *paused) {
    tonecore_playback_stats s;
    sentinel_fill(&s, sizeof s);
    CHECK_STATUS(tonecore_engine_stream_get_stats(e, id, &s, paused), TONECORE_STATUS_OK);
    return s;
}

/* The offline reference: tonecore_render_chunked of planar x (CH x len) into planar y (double;
 * in f32 the render runs on the rounded input). */
static int reference(const tonecore_pipeline_config *pc, const tonecore_render_config *rc,
                     const double *x, size_t len, double *y) {
    int32_t st;
    if (pc->sample_format == TONECORE_SAMPLE_FORMAT_F32) {
        float *fi = to_f32(x, CH * len);
        float *fo = (float *)ref_alloc(CH * len, sizeof(float));
        size_t i;
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

/* Opens a stream over planar x (CH x len) in the pipeline config's format; returns the status. */
static int32_t open_track(const tonecore_engine *e, uint64_t key, const tonecore_pipeline_config *pc,
                          const tonecore_render_config *rc, const double *x, size_t len,
                          uint64_t content_id, double timeout, uint64_t *id) {
    int32_t st;
    if (pc->sample_format == TONECORE_SAMPLE_FORMAT_F32) {
        float *fx = to_f32(x, CH * len);
        st = tonecore_engine_open_stream_f32(e, key, pc, rc, fx, CH * len, content_id, timeout,
                                             id);
        free(fx); /* the engine copied the track */
    } else {
        st = tonecore_engine_open_stream_f64(e, key, pc, rc, x, CH * len, content_id, timeout,
                                             id);
    }
    return st;
}

/* open_track that must succeed; returns the id (0 on failure). */
static uint64_t open_ok(const tonecore_engine *e, uint64_t key, const tonecore_pipeline_config *pc,
                        const tonecore_render_config *rc, const double *x, size_t len) {
    uint64_t id = 0;
    int32_t st = open_track(e, key, pc, rc, x, len, 0, 0.0, &id);
    CHECK_MSG(st == TONECORE_STATUS_OK && id != 0, "open_stream(key %llu): %s (%s)",
              (unsigned long long)key, check_status_name(st), tonecore_last_error_message());
    return st == TONECORE_STATUS_OK ? id : 0;
}

/* What a series of reads saw. */
typedef struct tally {
    uint64_t requested, delivered;
    unsigned long calls, bad_status, not_silent, too_many;
    int32_t first_bad;
} tally;

/*
 * Reads stream `id` (f32 or f64) in blocks of at most `block` frames until `want` track frames
 * arrived or `timeout_s` passed, appending them (interleaved) to `dst` (may be NULL). Sleeps 1 ms
 * after a short read. Records non-OK statuses, frames_out above the request and non-zero samples
 * after frames_out. Returns the frames read.
 */
static size_t read_stream(const tonecore_engine *e, uint64_t id, int f32, double *dst,
                          size_t want, size_t block, double timeout_s, tally *t) {
    double dbuf[CH * BLOCK];
    float fbuf[CH * BLOCK];
    double deadline = now_s() + timeout_s;
    size_t got = 0, i;
    while (got < want) {
        size_t ask = want - got < block ? want - got : block, n = sentinel_size();
        int32_t st;
        for (i = 0; i < CH * ask; i++) {
            dbuf[i] = NAN;
            fbuf[i] = NAN;
        }
        st = f32 ? tonecore_engine_stream_read_f32(e, id, fbuf, CH * ask, &n)
                 : tonecore_engine_stream_read_f64(e, id, dbuf, CH * ask, &n);
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
        if (dst != NULL) {
            memcpy(dst + CH * got, dbuf, CH * n * sizeof(double));
        }
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
    CHECK_MSG(t->bad_status == 0, "%s: %lu reads failed, first with %lld (%s)", what,
              t->bad_status, (long long)t->first_bad, check_status_name(t->first_bad));
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

/* ---------------------------------------------------------------------------------------------
 * Event recorder
 * ------------------------------------------------------------------------------------------- */

#define MAX_EVENTS 16384

typedef struct recorder {
    pthread_mutex_t lock;
    tonecore_event ev[MAX_EVENTS];
    size_t n;
    unsigned long overflow;
    unsigned long on_main_thread; /* calls made on the thread that created the recorder */
    pthread_t main_thread;
    int32_t ret; /* what the callback returns */
} recorder;

static void recorder_init(recorder *r, int32_t ret) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    r->main_thread = pthread_self();
    r->ret = ret;
}

static int32_t record_cb(void *user_data, const tonecore_event *e) {
    recorder *r = (recorder *)user_data;
    pthread_mutex_lock(&r->lock);
    if (r->n < MAX_EVENTS) {
        r->ev[r->n++] = *e;
    } else {
        r->overflow++;
    }
    if (pthread_equal(pthread_self(), r->main_thread)) {
        r->on_main_thread++;
    }
    pthread_mutex_unlock(&r->lock);
    return r->ret;
}

static size_t recorder_count(recorder *r) {
    size_t n;
    pthread_mutex_lock(&r->lock);
    n = r->n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static uint64_t subscribe_ok(const tonecore_engine *e, uint32_t mask, tonecore_event_fn cb,
                             void *user_data) {
    uint64_t token = 0;
    CHECK_STATUS(tonecore_engine_subscribe(e, mask, cb, user_data, &token), TONECORE_STATUS_OK);
    CHECK(token != 0);
    return token;
}

/* Checks event `i` of `r` (after a flush): kind, id, key and replaced flag. */
static void check_event(const char *what, recorder *r, size_t i, uint32_t kind, uint64_t id,
                        uint64_t key, uint32_t replaced) {
    tonecore_event e;
    size_t n;
    pthread_mutex_lock(&r->lock);
    n = r->n;
    if (i < n) {
        e = r->ev[i];
    }
    pthread_mutex_unlock(&r->lock);
    if (i >= n) {
        CHECK_MSG(0, "%s: event %zu missing (%zu recorded)", what, i, n);
        return;
    }
    CHECK_MSG(e.kind == kind && e.id == id && e.key == key && e.replaced == replaced,
              "%s: event %zu is (kind %u, id %llx, key %llu, replaced %u), want (%u, %llx, %llu, %u)",
              what, i, e.kind, (unsigned long long)e.id, (unsigned long long)e.key, e.replaced,
              kind, (unsigned long long)id, (unsigned long long)key, replaced);
}

/* Sequence numbers strictly increase within one recorder. Takes the recorder's lock: events
 * may still be arriving (a job submitted just before keeps emitting). */
static void check_seq_increasing(const char *what, recorder *r) {
    size_t i;
    unsigned long bad = 0;
    pthread_mutex_lock(&r->lock);
    for (i = 1; i < r->n; i++) {
        if (r->ev[i].seq <= r->ev[i - 1].seq) {
            bad++;
        }
    }
    CHECK_MSG(bad == 0, "%s: %lu events out of order", what, bad);
    CHECK_MSG(r->n == 0 || r->ev[0].seq >= 1, "%s: seq starts at 0", what);
    CHECK_MSG(r->overflow == 0 && r->on_main_thread == 0,
              "%s: %lu events overflowed, %lu callbacks ran on the main thread", what, r->overflow,
              r->on_main_thread);
    pthread_mutex_unlock(&r->lock);
}

/* ---------------------------------------------------------------------------------------------
 * Configuration, new, free
 * ------------------------------------------------------------------------------------------- */

static void test_config(void) {
    tonecore_engine_config c, bad;
    tonecore_engine *e = ENGINE_SENTINEL;
    tonecore_engine_stats s;
    size_t i;
    struct {
        const char *what;
        uint32_t max_streams, worker_threads, max_jobs;
    } invalid[] = {
        {"max_streams 0", 0, 1, 16},       {"max_streams 5000", 5000, 1, 16},
        {"max_streams 4097", 4097, 1, 16}, {"max_jobs 0", 4, 1, 0},
        {"max_jobs 65537", 4, 1, 65537},   {"worker_threads 2000", 4, 2000, 16},
        {"worker_threads 1025", 4, 1025, 16},
    };

    check_section("engine config_init, new (bad settings), free");
    CHECK_STATUS(tonecore_engine_config_init(NULL), TONECORE_STATUS_NULL_POINTER);
    sentinel_fill(&c, sizeof c);
    CHECK_STATUS(tonecore_engine_config_init(&c), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(c.struct_size, sizeof c);
    CHECK_EQ_INT(c.max_streams, 16);
    CHECK_EQ_INT(c.worker_threads, 0);
    CHECK_EQ_INT(c.cache_bytes, 256ull << 20);
    CHECK_EQ_INT(c.max_jobs, 256);

    CHECK_STATUS(tonecore_engine_new(NULL, &e), TONECORE_STATUS_NULL_POINTER);
    CHECK(e == ENGINE_SENTINEL);
    CHECK_STATUS(tonecore_engine_new(&c, NULL), TONECORE_STATUS_NULL_POINTER);
    for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        bad = c;
        bad.max_streams = invalid[i].max_streams;
        bad.worker_threads = invalid[i].worker_threads;
        bad.max_jobs = invalid[i].max_jobs;
        e = ENGINE_SENTINEL;
        CHECK_MSG(tonecore_engine_new(&bad, &e) == TONECORE_STATUS_INVALID_ARGUMENT,
                  "%s: not INVALID_ARGUMENT (%s)", invalid[i].what, tonecore_last_error_message());
        CHECK_MSG(e == ENGINE_SENTINEL, "%s: engine_out written", invalid[i].what);
    }
    {
        size_t sizes[] = {0, sizeof(size_t), offsetof(tonecore_engine_config, max_jobs)};
        for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            bad = c;
            bad.struct_size = sizes[i];
            e = ENGINE_SENTINEL;
            CHECK_STATUS(tonecore_engine_new(&bad, &e), TONECORE_STATUS_STRUCT_SIZE);
            CHECK(e == ENGINE_SENTINEL);
        }
    }

    /* The limits themselves are accepted. */
    {
        uint32_t ok[][3] = {{1, 1, 1}, {4096, 1, 65536}};
        for (i = 0; i < 2; i++) {
            bad = c;
            bad.max_streams = ok[i][0];
            bad.worker_threads = ok[i][1];
            bad.max_jobs = ok[i][2];
            e = NULL;
            CHECK_STATUS(tonecore_engine_new(&bad, &e), TONECORE_STATUS_OK);
            if (e != NULL) {
                s = stats_of(e);
                CHECK_EQ_INT(s.max_streams, ok[i][0]);
                CHECK_EQ_INT(s.streams_open, 0);
                tonecore_engine_free(e);
            }
        }
    }
    /* The defaults. */
    e = NULL;
    CHECK_STATUS(tonecore_engine_new(&c, &e), TONECORE_STATUS_OK);
    if (e != NULL) {
        s = stats_of(e);
        CHECK_EQ_SIZE(s.struct_size, sizeof s);
        CHECK_EQ_INT(s.max_streams, 16);
        CHECK_EQ_INT(s.cache_capacity, 256ull << 20);
        CHECK_EQ_INT(s.cache_bytes, 0);
        CHECK_EQ_INT(s.streams_opened + s.jobs_submitted + s.events_emitted + s.subscriptions, 0);
        tonecore_engine_free(e);
    }
    tonecore_engine_free(NULL); /* no-op */
}

/* Every engine function refuses a NULL engine (and NULL out-parameters where it has them). */
static void test_null_engine(void) {
    double d[4] = {0};
    float f[4] = {0};
    size_t n = 0;
    uint64_t id = 0;
    tonecore_pipeline_config pc = flat_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_pipeline_config pc32 = flat_pipeline(TONECORE_SAMPLE_FORMAT_F32);
    tonecore_playback_stats ps;
    tonecore_job_progress jp;
    tonecore_engine_stats es;
    es.struct_size = sizeof es;

    check_section("a NULL engine is refused by every function");
    CHECK_STATUS(tonecore_engine_open_stream_f32(NULL, 1, &pc32, NULL, f, 4, 0, 0.0, &id),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_open_stream_f64(NULL, 1, &pc, NULL, d, 4, 0, 0.0, &id),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_stream_read_f32(NULL, 1, f, 4, &n), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_stream_read_f64(NULL, 1, d, 4, &n), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_stream_seek(NULL, 1, 0.0), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_stream_set_paused(NULL, 1, 1), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_stream_get_stats(NULL, 1, &ps, NULL),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_stream_close(NULL, 1), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_stream_for_key(NULL, 1, &id), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_submit_render_f32(NULL, &pc32, NULL, f, 4, 0, 0, &id),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_submit_render_f64(NULL, &pc, NULL, d, 4, 0, 0, &id),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_job_progress(NULL, 1, &jp), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_job_cancel(NULL, 1), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_job_wait(NULL, 1, 0.0, &jp), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_job_take_result_f32(NULL, 1, f, 4), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_job_take_result_f64(NULL, 1, d, 4), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_job_release(NULL, 1), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_subscribe(NULL, TONECORE_EVENTS_ALL, record_cb, NULL, &id),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_unsubscribe(NULL, 1), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_flush_events(NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_get_stats(NULL, &es), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_clear_cache(NULL), TONECORE_STATUS_NULL_POINTER);
}

/* ---------------------------------------------------------------------------------------------
 * Streams: output, second listener and cache, clear_cache
 * ------------------------------------------------------------------------------------------- */

static void stream_case(int32_t format) {
    const int f32 = format == TONECORE_SAMPLE_FORMAT_F32;
    const double tol = f32 ? 1e-6 : 1e-9;
    const size_t total = 2 * SR + 999, chunks = 5; /* 0.5 s chunks */
    tonecore_pipeline_config pc = eq_pipeline(format);
    tonecore_render_config rc = render_cfg(0.5, 0.1, 0.02);
    double *x = noise(CH * total, 0.5, 11 + (uint64_t)format);
    double *ref = (double *)ref_alloc(CH * total, sizeof(double));
    double *y = (double *)ref_alloc(CH * total, sizeof(double));
    double *y2 = (double *)ref_alloc(CH * total, sizeof(double));
    tonecore_engine *e = new_engine(4, 2, 64u << 20, 16);
    tonecore_engine_stats s, s0;
    tonecore_playback_stats ps;
    uint64_t a, b, c, got_id;
    int paused = -1;
    size_t got;
    tally t, t2;
    char what[64];

    snprintf(what, sizeof what, "%s stream", f32 ? "f32" : "f64");
    check_section(f32 ? "an f32 stream plays the chunked render; a second listener hits the cache"
                      : "an f64 stream plays the chunked render; a second listener hits the cache");
    memset(&t, 0, sizeof t);
    memset(&t2, 0, sizeof t2);
    if (e == NULL || !reference(&pc, &rc, x, total, ref)) {
        goto done;
    }
    a = open_ok(e, 7, &pc, &rc, x, total);
    got_id = sentinel_u64();
    CHECK_STATUS(tonecore_engine_stream_for_key(e, 7, &got_id), TONECORE_STATUS_OK);
    CHECK(got_id == a);
    got = read_stream(e, a, f32, y, total, BLOCK, 60.0, &t);
    check_tally(what, &t);
    CHECK_MSG(got == total, "%s: stalled after %zu of %zu frames", what, got, total);
    if (got == total) {
        double err = max_diff(y, ref, total, 0, total);
        CHECK_MSG(err <= tol, "%s: max |stream - chunked render| = %.3g", what, err);
        printf("   %s: max |stream - chunked render| %.3g over %zu frames (%lu reads)\n", what,
               err, total, t.calls);
    }
    ps = stream_stats(e, a, &paused);
    CHECK_EQ_INT(paused, 0);
    CHECK_EQ_INT(ps.position, total);
    CHECK_EQ_INT(ps.frames_read, t.requested);
    CHECK_EQ_INT(ps.underrun_frames, t.requested - t.delivered);
    CHECK_EQ_INT(ps.seeks, 0);
    ps = stream_stats(e, a, NULL); /* paused_out may be NULL */
    CHECK_EQ_INT(ps.position, total);

    /* Past the end: 0 frames, silence. */
    {
        double d[CH * 64];
        float f[CH * 64];
        size_t n = sentinel_size(), i;
        int silent = 1;
        for (i = 0; i < CH * 64; i++) {
            d[i] = 1.0;
            f[i] = 1.0f;
        }
        CHECK_STATUS(f32 ? tonecore_engine_stream_read_f32(e, a, f, CH * 64, &n)
                         : tonecore_engine_stream_read_f64(e, a, d, CH * 64, &n),
                     TONECORE_STATUS_OK);
        CHECK_EQ_SIZE(n, 0);
        for (i = 0; i < CH * 64; i++) {
            silent = silent && (f32 ? f[i] == 0.0f : d[i] == 0.0);
        }
        CHECK_MSG(silent, "%s: past the end is not silence", what);
    }
    s = stats_of(e);
    CHECK_EQ_INT(s.streams_open, 1);
    CHECK_EQ_INT(s.streams_opened, 1);
    CHECK_EQ_INT(s.streams_peak, 1);
    CHECK_EQ_INT(s.streams_closed + s.streams_replaced + s.busy_refusals, 0);
    CHECK_EQ_INT(s.chunks_rendered, chunks);
    CHECK_EQ_INT(s.frames_rendered, total);
    CHECK_EQ_INT(s.cache_misses, chunks);
    CHECK_EQ_INT(s.cache_hits, 0);
    CHECK_EQ_INT(s.cache_entries, chunks);
    CHECK(s.cache_bytes > 0 && s.cache_bytes <= s.cache_capacity);
    CHECK_EQ_INT(s.underrun_frames, t.requested - t.delivered + 64);
    CHECK_EQ_INT(s.events_emitted, 1); /* the open */

    /* A second listener of the same track is served from the cache: same output, nothing
     * rendered. */
    s0 = s;
    b = open_ok(e, 8, &pc, &rc, x, total);
    CHECK(b != a);
    got = read_stream(e, b, f32, y2, total, BLOCK, 60.0, &t2);
    check_tally(what, &t2);
    CHECK_MSG(got == total && memcmp(y, y2, CH * total * sizeof(double)) == 0,
              "%s: the second listener heard something else (%zu frames)", what, got);
    s = stats_of(e);
    CHECK_EQ_INT(s.chunks_rendered, s0.chunks_rendered);
    CHECK_EQ_INT(s.frames_rendered, s0.frames_rendered);
    CHECK_EQ_INT(s.cache_hits, chunks);
    CHECK_EQ_INT(s.cache_misses, s0.cache_misses);
    CHECK_EQ_INT(s.streams_open, 2);
    CHECK_EQ_INT(s.streams_peak, 2);
    CHECK_STATUS(tonecore_engine_stream_close(e, a), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_stream_close(e, b), TONECORE_STATUS_OK);

    /* clear_cache: empty, counters kept; the next listener renders again, still right. */
    CHECK_STATUS(tonecore_engine_clear_cache(e), TONECORE_STATUS_OK);
    s = stats_of(e);
    CHECK_EQ_INT(s.cache_entries, 0);
    CHECK_EQ_INT(s.cache_bytes, 0);
    CHECK_EQ_INT(s.cache_hits, chunks);
    CHECK_EQ_INT(s.streams_open, 0);
    CHECK_EQ_INT(s.streams_closed, 2);
    c = open_ok(e, 9, &pc, &rc, x, total);
    memset(&t2, 0, sizeof t2);
    got = read_stream(e, c, f32, y2, total, BLOCK, 60.0, &t2);
    check_tally(what, &t2);
    CHECK_MSG(got == total && max_diff(y2, ref, total, 0, total) <= tol,
              "%s: after clear_cache the stream differs", what);
    s = stats_of(e);
    CHECK_EQ_INT(s.chunks_rendered, 2 * chunks);
    CHECK_EQ_INT(s.cache_misses, 2 * chunks);
    CHECK_EQ_INT(s.cache_hits, chunks);
    CHECK_EQ_INT(s.cache_entries, chunks);
    /* Freed with the stream still open: the engine closes it. */
done:
    tonecore_engine_free(e);
    free(x);
    free(ref);
    free(y);
    free(y2);
}

/* A pipeline with every stage disabled, no context and no crossfade passes an index ramp
 * through unchanged, sample for sample (an independent reference of the engine's playback). */
static void ramp_case(int32_t format) {
    const int f32 = format == TONECORE_SAMPLE_FORMAT_F32;
    const size_t total = SR + 4321;
    tonecore_pipeline_config pc = flat_pipeline(format);
    tonecore_render_config rc = render_cfg(0.25, 0.0, 0.0);
    double *x = (double *)ref_alloc(CH * total, sizeof(double));
    double *y = (double *)ref_alloc(CH * total, sizeof(double));
    tonecore_engine *e = new_engine(2, 1, 8u << 20, 4);
    const double tol = f32 ? 1e-7 : 1e-12;
    double worst = 0.0;
    unsigned long wrong = 0;
    size_t i, c, got, first_wrong = 0;
    uint64_t id;
    tally t;

    check_section(f32 ? "f32: a bypassed pipeline reproduces an index ramp sample for sample"
                      : "f64: a bypassed pipeline reproduces an index ramp sample for sample");
    memset(&t, 0, sizeof t);
    /* Channel 0: +(i+1) / 2^20, channel 1: -(i+1) / 2^20 — exact in f32 below 2^24 frames. */
    for (c = 0; c < CH; c++) {
        for (i = 0; i < total; i++) {
            x[c * total + i] = (c ? -1.0 : 1.0) * (double)(i + 1) / 1048576.0;
        }
    }
    if (e == NULL) {
        goto done;
    }
    id = open_ok(e, 1, &pc, &rc, x, total);
    got = read_stream(e, id, f32, y, total, 100, 60.0, &t);
    check_tally("ramp", &t);
    CHECK_EQ_SIZE(got, total);
    /* A bypassed EQ is a flat kernel (a pure delay) applied by FFT, so the output carries FFT
     * round-off; a step of the ramp is 2^-20 (9.5e-7), so an error far below one step means
     * every frame landed at its own index in its own channel. */
    for (i = 0; i < got; i++) {
        for (c = 0; c < CH; c++) {
            double err = fabs(y[CH * i + c] - x[c * total + i]);
            worst = ref_max_err(worst, err);
            if (!(err <= tol)) {
                if (wrong++ == 0) {
                    first_wrong = i;
                }
            }
        }
    }
    CHECK_MSG(wrong == 0, "%lu ramp samples off by more than %.3g, first at frame %zu (%.9g vs %.9g)",
              wrong, tol, first_wrong, y[CH * first_wrong], x[first_wrong]);
    printf("   %s ramp: max |stream - ramp| %.3g (one step: %.3g)\n", f32 ? "f32" : "f64", worst,
           1.0 / 1048576.0);
done:
    tonecore_engine_free(e);
    free(x);
    free(y);
}

/* ---------------------------------------------------------------------------------------------
 * Reads, seeks, pause, ids
 * ------------------------------------------------------------------------------------------- */

static void test_stream_control(void) {
    const size_t total = 3 * SR + 17;
    tonecore_pipeline_config pc = eq_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_render_config rc = render_cfg(0.5, 0.1, 0.02);
    double *x = noise(CH * total, 0.5, 23);
    double *ref = (double *)ref_alloc(CH * total, sizeof(double));
    double *y = (double *)ref_alloc(CH * total, sizeof(double));
    tonecore_engine *e = new_engine(4, 2, 64u << 20, 16);
    tonecore_engine *other = new_engine(4, 1, 1u << 20, 4);
    tonecore_playback_stats ps, ps0;
    tonecore_engine_stats s;
    double d[CH * 64];
    float f[CH * 64];
    uint64_t id, foreign, got_id;
    size_t n, i, got, pos;
    int paused = -1, silent;
    tally t;

    check_section("stream read/seek/pause/close and refused calls (stale, foreign, made-up ids)");
    memset(&t, 0, sizeof t);
    if (e == NULL || other == NULL || !reference(&pc, &rc, x, total, ref)) {
        goto done;
    }
    id = open_ok(e, 3, &pc, &rc, x, total);
    foreign = open_ok(other, 3, &pc, &rc, x, total);
    got = read_stream(e, id, 0, y, 1000, BLOCK, 60.0, &t);
    CHECK_EQ_SIZE(got, 1000);
    ps0 = stream_stats(e, id, NULL);
    CHECK_EQ_INT(ps0.position, 1000);

    /* Refused reads: nothing consumed, nothing written. */
    for (i = 0; i < CH * 64; i++) {
        d[i] = 1.0;
        f[i] = 1.0f;
    }
    n = sentinel_size();
    CHECK_STATUS(tonecore_engine_stream_read_f32(e, id, f, CH * 64, &n),
                 TONECORE_STATUS_WRONG_FORMAT);
    CHECK(n == sentinel_size() && f[0] == 1.0f && f[CH * 64 - 1] == 1.0f);
    CHECK_STATUS(tonecore_engine_stream_read_f64(e, id, d, 3, &n),
                 TONECORE_STATUS_INVALID_CHANNELS);
    CHECK_STATUS(tonecore_engine_stream_read_f64(e, id, NULL, CH * 64, &n),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_stream_read_f64(e, id, d, CH * 64, NULL),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_stream_read_f64(e, 0, d, CH * 64, &n), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_stream_read_f64(e, UINT64_MAX, d, CH * 64, &n),
                 TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_stream_read_f64(e, foreign, d, CH * 64, &n),
                 TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_stream_read_f64(other, id, d, CH * 64, &n),
                 TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_stream_close(other, id), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_stream_seek(other, id, 0.0), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_stream_set_paused(other, id, 1), TONECORE_STATUS_STALE_ID);
    CHECK(n == sentinel_size() && d[0] == 1.0 && d[CH * 64 - 1] == 1.0);
    /* An empty read is fine and reads nothing. */
    CHECK_STATUS(tonecore_engine_stream_read_f64(e, id, d, 0, &n), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(n, 0);
    ps = stream_stats(e, id, NULL);
    CHECK_EQ_INT(ps.position, ps0.position);
    CHECK_EQ_INT(ps.frames_read, ps0.frames_read);

    /* Pause: silence without advancing, position kept; resume continues where it stopped. */
    CHECK_STATUS(tonecore_engine_stream_set_paused(e, id, 1), TONECORE_STATUS_OK);
    ps = stream_stats(e, id, &paused);
    CHECK_EQ_INT(paused, 1);
    for (i = 0; i < 5; i++) {
        size_t k;
        n = sentinel_size();
        for (k = 0; k < CH * 64; k++) {
            d[k] = 1.0;
        }
        CHECK_STATUS(tonecore_engine_stream_read_f64(e, id, d, CH * 64, &n), TONECORE_STATUS_OK);
        CHECK_EQ_SIZE(n, 0);
        silent = 1;
        for (k = 0; k < CH * 64; k++) {
            silent = silent && d[k] == 0.0;
        }
        CHECK_MSG(silent, "a paused stream output something else than silence");
    }
    ps = stream_stats(e, id, &paused);
    CHECK_EQ_INT(ps.position, ps0.position);
    CHECK_STATUS(tonecore_engine_stream_set_paused(e, id, 0), TONECORE_STATUS_OK);
    ps = stream_stats(e, id, &paused);
    CHECK_EQ_INT(paused, 0);
    pos = (size_t)ps.position;
    got = read_stream(e, id, 0, y, 5000, BLOCK, 60.0, &t);
    check_tally("after resume", &t);
    CHECK_EQ_SIZE(got, 5000);
    {
        double err = max_diff(y, ref, total, pos, got);
        CHECK_MSG(err <= 1e-9, "after resume: max |stream - render from frame %zu| = %.3g", pos,
                  err);
    }

    /* Seeks: refused positions change nothing; a good one is counted. */
    ps0 = stream_stats(e, id, NULL);
    CHECK_STATUS(tonecore_engine_stream_seek(e, id, NAN), TONECORE_STATUS_INVALID_TIME);
    CHECK_STATUS(tonecore_engine_stream_seek(e, id, -0.5), TONECORE_STATUS_INVALID_TIME);
    CHECK_STATUS(tonecore_engine_stream_seek(e, id, INFINITY), TONECORE_STATUS_INVALID_TIME);
    CHECK_STATUS(tonecore_engine_stream_seek(e, id, (double)total / SR + 1.0),
                 TONECORE_STATUS_INVALID_TIME);
    ps = stream_stats(e, id, NULL);
    CHECK_EQ_INT(ps.seeks, 0);
    CHECK_EQ_INT(ps.position, ps0.position);
    CHECK_STATUS(tonecore_engine_stream_seek(e, id, 1.0), TONECORE_STATUS_OK);
    ps = stream_stats(e, id, NULL);
    CHECK_EQ_INT(ps.seeks, 1);
    /* After the seek (fade-out, fade-in of 5 ms), the output is the render from 1 s + fade. */
    {
        const size_t fade = frames_of(0.005), want = 2 * fade + 4000;
        const size_t target = frames_of(1.0);
        memset(&t, 0, sizeof t);
        got = read_stream(e, id, 0, y, want, BLOCK, 60.0, &t);
        check_tally("after seek", &t);
        CHECK_EQ_SIZE(got, want);
        if (got == want) {
            /* The old position fades out over at most `fade` frames, the target fades in over
             * `fade` frames; from then on the output is the render from target + fade. */
            size_t k, best = 0;
            double best_err = INFINITY;
            for (k = 0; k <= fade; k++) {
                double e2 = max_diff(y + CH * (k + fade), ref, total, target + fade,
                                     want - k - 2 * fade);
                if (e2 < best_err) {
                    best_err = e2;
                    best = k;
                }
            }
            CHECK_MSG(best_err <= 1e-9,
                      "after a seek to 1 s, no fade-out length makes the output the render (best "
                      "%zu frames: %.3g)",
                      best, best_err);
        }
    }

    /* stream_for_key */
    got_id = sentinel_u64();
    CHECK_STATUS(tonecore_engine_stream_for_key(e, 3, &got_id), TONECORE_STATUS_OK);
    CHECK(got_id == id);
    got_id = sentinel_u64();
    CHECK_STATUS(tonecore_engine_stream_for_key(e, 4, &got_id), TONECORE_STATUS_STALE_ID);
    CHECK(got_id == sentinel_u64());
    CHECK_STATUS(tonecore_engine_stream_for_key(e, 3, NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_stream_get_stats(e, id, NULL, NULL),
                 TONECORE_STATUS_NULL_POINTER);

    /* Close: every call on the id is stale afterwards, and a second close too. */
    CHECK_STATUS(tonecore_engine_stream_close(e, id), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_stream_close(e, id), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_stream_close(e, 0), TONECORE_STATUS_STALE_ID);
    n = sentinel_size();
    CHECK_STATUS(tonecore_engine_stream_read_f64(e, id, d, CH * 64, &n), TONECORE_STATUS_STALE_ID);
    CHECK(n == sentinel_size());
    CHECK_STATUS(tonecore_engine_stream_seek(e, id, 0.0), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_stream_set_paused(e, id, 1), TONECORE_STATUS_STALE_ID);
    sentinel_fill(&ps, sizeof ps);
    CHECK_STATUS(tonecore_engine_stream_get_stats(e, id, &ps, &paused), TONECORE_STATUS_STALE_ID);
    CHECK(sentinel_intact(&ps, sizeof ps));
    CHECK_STATUS(tonecore_engine_stream_for_key(e, 3, &got_id), TONECORE_STATUS_STALE_ID);
    /* The other engine's stream was untouched by all of this. */
    memset(&t, 0, sizeof t);
    got = read_stream(other, foreign, 0, y, 100, BLOCK, 60.0, &t);
    check_tally("the other engine's stream", &t);
    CHECK_EQ_SIZE(got, 100);
    CHECK_MSG(max_diff(y, ref, total, 0, 100) <= 1e-9, "the other engine's stream differs");
    s = stats_of(e);
    CHECK_EQ_INT(s.streams_open, 0);
    CHECK_EQ_INT(s.streams_opened, 1);
    CHECK_EQ_INT(s.streams_closed, 1);
    s = stats_of(other);
    CHECK_EQ_INT(s.streams_open, 1);
done:
    tonecore_engine_free(e);
    tonecore_engine_free(other);
    free(x);
    free(ref);
    free(y);
}

/* Refused opens: nothing opened, stream_out untouched. */
static void test_open_errors(void) {
    const size_t total = 4410;
    tonecore_pipeline_config pc = flat_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_pipeline_config pc32 = flat_pipeline(TONECORE_SAMPLE_FORMAT_F32);
    tonecore_render_config rc = render_cfg(0.05, 0.0, 0.005);
    tonecore_render_config bad_rc = render_cfg(0.0, 0.0, 0.0);
    double *x = noise(CH * total, 0.5, 5);
    float *fx = to_f32(x, CH * total);
    tonecore_engine *e = new_engine(2, 1, 1u << 20, 4);
    tonecore_engine_stats s;
    tonecore_pipeline_config pc_bad;
    uint64_t id;

    check_section("refused opens change nothing");
    if (e == NULL) {
        goto done;
    }
#define OPEN_REFUSED(call, status)                                                          \
    do {                                                                                    \
        id = sentinel_u64();                                                                \
        CHECK_STATUS(call, status);                                                         \
        CHECK(id == sentinel_u64());                                                        \
    } while (0)
    OPEN_REFUSED(tonecore_engine_open_stream_f64(e, 1, NULL, &rc, x, CH * total, 0, 0, &id),
                 TONECORE_STATUS_NULL_POINTER);
    OPEN_REFUSED(tonecore_engine_open_stream_f64(e, 1, &pc, &rc, NULL, CH * total, 0, 0, &id),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_open_stream_f64(e, 1, &pc, &rc, x, CH * total, 0, 0, NULL),
                 TONECORE_STATUS_NULL_POINTER);
    OPEN_REFUSED(tonecore_engine_open_stream_f64(e, 1, &pc32, &rc, x, CH * total, 0, 0, &id),
                 TONECORE_STATUS_WRONG_FORMAT);
    OPEN_REFUSED(tonecore_engine_open_stream_f32(e, 1, &pc, &rc, fx, CH * total, 0, 0, &id),
                 TONECORE_STATUS_WRONG_FORMAT);
    OPEN_REFUSED(tonecore_engine_open_stream_f64(e, 1, &pc, &rc, x, CH * total - 1, 0, 0, &id),
                 TONECORE_STATUS_INVALID_CHANNELS);
    OPEN_REFUSED(tonecore_engine_open_stream_f64(e, 1, &pc, &bad_rc, x, CH * total, 0, 0, &id),
                 TONECORE_STATUS_INVALID_CHUNK);
    OPEN_REFUSED(tonecore_engine_open_stream_f64(e, 1, &pc, &rc, x, CH * total, 0, NAN, &id),
                 TONECORE_STATUS_INVALID_TIME);
    OPEN_REFUSED(tonecore_engine_open_stream_f64(e, 1, &pc, &rc, x, CH * total, 0, 1e10, &id),
                 TONECORE_STATUS_INVALID_TIME);
    pc_bad = pc;
    pc_bad.channels = 0;
    OPEN_REFUSED(tonecore_engine_open_stream_f64(e, 1, &pc_bad, &rc, x, CH * total, 0, 0, &id),
                 TONECORE_STATUS_INVALID_CHANNELS);
    pc_bad = pc;
    pc_bad.struct_size = 8;
    OPEN_REFUSED(tonecore_engine_open_stream_f64(e, 1, &pc_bad, &rc, x, CH * total, 0, 0, &id),
                 TONECORE_STATUS_STRUCT_SIZE);
    pc_bad = pc;
    pc_bad.sample_rate = 0;
    OPEN_REFUSED(tonecore_engine_open_stream_f64(e, 1, &pc_bad, &rc, x, CH * total, 0, 0, &id),
                 TONECORE_STATUS_INVALID_SAMPLE_RATE);
    s = stats_of(e);
    CHECK_EQ_INT(s.streams_open, 0);
    CHECK_EQ_INT(s.streams_opened, 0);
    CHECK_EQ_INT(s.busy_refusals, 0);
    CHECK_EQ_INT(s.events_emitted, 0);
    /* A NULL render config means the defaults (15 s chunks). */
    id = 0;
    CHECK_STATUS(tonecore_engine_open_stream_f64(e, 1, &pc, NULL, x, CH * total, 0, 0, &id),
                 TONECORE_STATUS_OK);
    CHECK(id != 0);
    CHECK_EQ_INT(stats_of(e).streams_open, 1);
done:
    tonecore_engine_free(e);
    free(x);
    free(fx);
}

/* ---------------------------------------------------------------------------------------------
 * Replacement and events of streams
 * ------------------------------------------------------------------------------------------- */

static void test_replacement(void) {
    const size_t total = SR / 2;
    tonecore_pipeline_config pc = flat_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_render_config rc = render_cfg(0.1, 0.0, 0.01);
    double *x = noise(CH * total, 0.5, 31);
    tonecore_engine *e = new_engine(4, 1, 8u << 20, 4);
    static recorder all, closed_only;
    tonecore_engine_stats s;
    uint64_t a, b, got_id;
    double d[CH * 16];
    size_t n;
    tally t;

    check_section("replacing a key's stream: old id stale and powerless, events in order");
    recorder_init(&all, 0);
    recorder_init(&closed_only, 0);
    memset(&t, 0, sizeof t);
    if (e == NULL) {
        goto done;
    }
    subscribe_ok(e, TONECORE_EVENTS_ALL, record_cb, &all);
    subscribe_ok(e, TONECORE_EVENT_KIND_STREAM_CLOSED, record_cb, &closed_only);
    a = open_ok(e, 5, &pc, &rc, x, total);
    b = open_ok(e, 5, &pc, &rc, x, total);
    CHECK(a != 0 && b != 0 && a != b);
    CHECK_STATUS(tonecore_engine_stream_read_f64(e, a, d, CH * 16, &n), TONECORE_STATUS_STALE_ID);
    CHECK_EQ_SIZE(read_stream(e, b, 0, NULL, 100, 16, 60.0, &t), 100);
    check_tally("the replacement", &t);
    /* The old id can neither close nor control the new stream. */
    CHECK_STATUS(tonecore_engine_stream_close(e, a), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_stream_set_paused(e, a, 1), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_stream_seek(e, a, 0.0), TONECORE_STATUS_STALE_ID);
    got_id = 0;
    CHECK_STATUS(tonecore_engine_stream_for_key(e, 5, &got_id), TONECORE_STATUS_OK);
    CHECK(got_id == b);
    CHECK_STATUS(tonecore_engine_stream_set_paused(e, b, 1), TONECORE_STATUS_OK);
    {
        int paused = 0;
        stream_stats(e, b, &paused);
        CHECK_EQ_INT(paused, 1);
    }
    s = stats_of(e);
    CHECK_EQ_INT(s.streams_open, 1);
    CHECK_EQ_INT(s.streams_opened, 2);
    CHECK_EQ_INT(s.streams_replaced, 1);
    CHECK_EQ_INT(s.streams_closed, 0);
    CHECK_EQ_INT(s.streams_peak, 1);
    CHECK_STATUS(tonecore_engine_stream_close(e, b), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_flush_events(e), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(recorder_count(&all), 4);
    check_event("all", &all, 0, TONECORE_EVENT_KIND_STREAM_OPENED, a, 5, 0);
    check_event("all", &all, 1, TONECORE_EVENT_KIND_STREAM_CLOSED, a, 5, 1);
    check_event("all", &all, 2, TONECORE_EVENT_KIND_STREAM_OPENED, b, 5, 0);
    check_event("all", &all, 3, TONECORE_EVENT_KIND_STREAM_CLOSED, b, 5, 0);
    check_seq_increasing("all", &all);
    CHECK_EQ_SIZE(recorder_count(&closed_only), 2);
    check_event("closed only", &closed_only, 0, TONECORE_EVENT_KIND_STREAM_CLOSED, a, 5, 1);
    check_event("closed only", &closed_only, 1, TONECORE_EVENT_KIND_STREAM_CLOSED, b, 5, 0);
    check_seq_increasing("closed only", &closed_only);
    s = stats_of(e);
    CHECK_EQ_INT(s.events_emitted, 4);
    CHECK_EQ_INT(s.callbacks_invoked, 6);
    CHECK_EQ_INT(s.callback_errors, 0);
    CHECK_EQ_INT(s.subscriptions, 2);
    CHECK_EQ_INT(s.streams_open, 0);
    CHECK_EQ_INT(s.streams_closed, 1);
done:
    tonecore_engine_free(e);
    pthread_mutex_destroy(&all.lock);
    pthread_mutex_destroy(&closed_only.lock);
    free(x);
}

/* ---------------------------------------------------------------------------------------------
 * The cap
 * ------------------------------------------------------------------------------------------- */

typedef struct closer {
    const tonecore_engine *e;
    uint64_t id;
    long delay_us;
    int32_t status;
} closer;

static void *closer_thread(void *arg) {
    closer *c = (closer *)arg;
    sleep_us(c->delay_us);
    c->status = tonecore_engine_stream_close(c->e, c->id);
    return NULL;
}

static void test_cap(void) {
    const size_t total = SR / 2;
    tonecore_pipeline_config pc = flat_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_render_config rc = render_cfg(0.1, 0.0, 0.01);
    double *x = noise(CH * total, 0.5, 41);
    tonecore_engine *e = new_engine(2, 1, 8u << 20, 4);
    tonecore_engine_stats s;
    uint64_t a, a2, b, c, id;
    double t0, waited, d[CH * 4];
    size_t n;
    closer cl;
    pthread_t th;

    check_section("the cap: BUSY at once, BUSY after a timeout, a slot freed by another thread");
    if (e == NULL) {
        goto done;
    }
    a = open_ok(e, 1, &pc, &rc, x, total);
    b = open_ok(e, 2, &pc, &rc, x, total);
    id = sentinel_u64();
    CHECK_STATUS(open_track(e, 3, &pc, &rc, x, total, 0, 0.0, &id), TONECORE_STATUS_BUSY);
    CHECK(id == sentinel_u64());
    CHECK_STATUS(open_track(e, 3, &pc, &rc, x, total, 0, -1.0, &id), TONECORE_STATUS_BUSY);
    CHECK(id == sentinel_u64());
    /* Replacing a key at the cap needs no new slot. */
    a2 = open_ok(e, 1, &pc, &rc, x, total);
    CHECK_STATUS(tonecore_engine_stream_read_f64(e, a, d, CH * 4, &n), TONECORE_STATUS_STALE_ID);
    /* A short timeout: BUSY after waiting at least that long. */
    t0 = now_s();
    CHECK_STATUS(open_track(e, 3, &pc, &rc, x, total, 0, 0.05, &id), TONECORE_STATUS_BUSY);
    waited = now_s() - t0;
    CHECK_MSG(waited >= 0.045, "BUSY after %.4f s, before the 0.05 s timeout", waited);
    CHECK(id == sentinel_u64());
    s = stats_of(e);
    CHECK_EQ_INT(s.busy_refusals, 3);
    CHECK_EQ_INT(s.streams_open, 2);
    /* A long wait is served when another thread closes a stream. */
    cl.e = e;
    cl.id = b;
    cl.delay_us = 50000;
    cl.status = -1;
    if (pthread_create(&th, NULL, closer_thread, &cl) != 0) {
        CHECK_MSG(0, "pthread_create failed");
        goto done;
    }
    c = 0;
    CHECK_STATUS(open_track(e, 3, &pc, &rc, x, total, 0, 30.0, &c), TONECORE_STATUS_OK);
    pthread_join(th, NULL);
    CHECK_STATUS(cl.status, TONECORE_STATUS_OK);
    CHECK(c != 0 && c != b);
    CHECK_STATUS(tonecore_engine_stream_read_f64(e, c, d, CH * 4, &n), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_stream_read_f64(e, b, d, CH * 4, &n), TONECORE_STATUS_STALE_ID);
    s = stats_of(e);
    CHECK_EQ_INT(s.streams_open, 2);
    CHECK_EQ_INT(s.streams_peak, 2);
    CHECK_EQ_INT(s.busy_refusals, 3);
    CHECK_EQ_INT(s.streams_opened, 4);
    CHECK_EQ_INT(s.streams_replaced, 1);
    CHECK_EQ_INT(s.streams_closed, 1);
    /* Closing frees the slot at once. */
    CHECK_STATUS(tonecore_engine_stream_close(e, a2), TONECORE_STATUS_OK);
    id = 0;
    CHECK_STATUS(open_track(e, 4, &pc, &rc, x, total, 0, 0.0, &id), TONECORE_STATUS_OK);
    CHECK_STATUS(open_track(e, 5, &pc, &rc, x, total, 0, 0.0, &id), TONECORE_STATUS_BUSY);
done:
    tonecore_engine_free(e);
    free(x);
}

/* ---------------------------------------------------------------------------------------------
 * Jobs
 * ------------------------------------------------------------------------------------------- */

/* Checks the recorded job events of `job`: progress 1..chunks of `chunks` (strictly increasing),
 * then one FINISHED with `state`/`status`, key `key`. */
static void check_job_events(const char *what, recorder *r, uint64_t job, uint64_t key,
                             uint64_t chunks, int32_t state, int32_t status, int all_progress) {
    size_t i;
    uint64_t last_done = 0, progress = 0, finished = 0;
    unsigned long bad = 0;
    pthread_mutex_lock(&r->lock);
    for (i = 0; i < r->n; i++) {
        const tonecore_event *e = &r->ev[i];
        if (e->id != job) {
            continue;
        }
        if (e->key != key || finished != 0) {
            bad++; /* wrong key, or anything after FINISHED */
        }
        if (e->kind == TONECORE_EVENT_KIND_JOB_PROGRESS) {
            if (e->done <= last_done || e->total != chunks || e->done > chunks) {
                bad++;
            }
            last_done = e->done;
            progress++;
        } else if (e->kind == TONECORE_EVENT_KIND_JOB_FINISHED) {
            if (e->job_state != state || e->job_status != status) {
                bad++;
            }
            finished++;
        } else {
            bad++;
        }
    }
    pthread_mutex_unlock(&r->lock);
    CHECK_MSG(bad == 0, "%s: %lu job events wrong", what, bad);
    CHECK_MSG(finished == 1, "%s: %llu FINISHED events", what, (unsigned long long)finished);
    if (all_progress) {
        CHECK_MSG(progress == chunks && last_done == chunks,
                  "%s: %llu progress events up to %llu, want %llu", what,
                  (unsigned long long)progress, (unsigned long long)last_done,
                  (unsigned long long)chunks);
    }
}

static void job_case(tonecore_engine *e, recorder *r, int32_t format) {
    const int f32 = format == TONECORE_SAMPLE_FORMAT_F32;
    const size_t total = 4 * SR + 77, len = CH * total;
    const uint64_t chunks = 5;
    tonecore_pipeline_config pc = eq_pipeline(format);
    tonecore_render_config rc = render_cfg(1.0, 0.1, 0.05);
    double *x = noise(len, 0.5, 51 + (uint64_t)format);
    double *dref = (double *)ref_alloc(len + 1, sizeof(double));
    double *dout = (double *)ref_alloc(len + 1, sizeof(double));
    float *fx = to_f32(x, len);
    float *fref = (float *)ref_alloc(len + 1, sizeof(float));
    float *fout = (float *)ref_alloc(len + 1, sizeof(float));
    tonecore_engine_stats s0 = stats_of(e), s;
    tonecore_job_progress p;
    uint64_t job = 0, key = f32 ? 32 : 64;
    int32_t st;
    char what[32];

    snprintf(what, sizeof what, "%s job", f32 ? "f32" : "f64");
    st = f32 ? tonecore_render_chunked_f32(&pc, &rc, fx, len, fref, len, NULL, NULL)
             : tonecore_render_chunked_f64(&pc, &rc, x, len, dref, len, NULL, NULL);
    CHECK_STATUS(st, TONECORE_STATUS_OK);
    st = f32 ? tonecore_engine_submit_render_f32(e, &pc, &rc, fx, len, key, 0, &job)
             : tonecore_engine_submit_render_f64(e, &pc, &rc, x, len, key, 0, &job);
    CHECK_STATUS(st, TONECORE_STATUS_OK);
    CHECK(job != 0);
    sentinel_fill(&p, sizeof p);
    CHECK_STATUS(tonecore_engine_job_wait(e, job, -1.0, &p), TONECORE_STATUS_OK);
    CHECK_EQ_INT(p.state, TONECORE_JOB_STATE_DONE);
    CHECK_EQ_INT(p.status, 0);
    CHECK_EQ_INT(p.done, chunks);
    CHECK_EQ_INT(p.total, chunks);
    /* The FINISHED event is emitted by the time wait returns. */
    CHECK_STATUS(tonecore_engine_flush_events(e), TONECORE_STATUS_OK);
    check_job_events(what, r, job, key, chunks, TONECORE_JOB_STATE_DONE, 0, 1);
    sentinel_fill(&p, sizeof p);
    CHECK_STATUS(tonecore_engine_job_progress(e, job, &p), TONECORE_STATUS_OK);
    CHECK_EQ_INT(p.state, TONECORE_JOB_STATE_DONE);
    CHECK_EQ_INT(p.done, chunks);
    CHECK_STATUS(tonecore_engine_job_progress(e, job, NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_job_wait(e, job, 0.0, NULL), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_job_wait(e, job, NAN, NULL), TONECORE_STATUS_INVALID_TIME);

    /* Refused takes keep the job and write nothing. */
    sentinel_fill(dout, (len + 1) * sizeof(double));
    sentinel_fill(fout, (len + 1) * sizeof(float));
    st = f32 ? tonecore_engine_job_take_result_f32(e, job, fout, len - 1)
             : tonecore_engine_job_take_result_f64(e, job, dout, len - 1);
    CHECK_STATUS(st, TONECORE_STATUS_BUFFER_TOO_SMALL);
    st = f32 ? tonecore_engine_job_take_result_f64(e, job, dout, len)
             : tonecore_engine_job_take_result_f32(e, job, fout, len);
    CHECK_STATUS(st, TONECORE_STATUS_WRONG_FORMAT);
    st = f32 ? tonecore_engine_job_take_result_f32(e, job, NULL, len)
             : tonecore_engine_job_take_result_f64(e, job, NULL, len);
    CHECK_STATUS(st, TONECORE_STATUS_NULL_POINTER);
    CHECK(sentinel_intact(dout, (len + 1) * sizeof(double)));
    CHECK(sentinel_intact(fout, (len + 1) * sizeof(float)));
    CHECK_STATUS(tonecore_engine_job_progress(e, job, &p), TONECORE_STATUS_OK);
    CHECK_EQ_INT(stats_of(e).jobs_held, s0.jobs_held + 1);

    /* The result (into a larger buffer: the rest untouched) equals the chunked render bit for
     * bit; then the job is gone. */
    st = f32 ? tonecore_engine_job_take_result_f32(e, job, fout, len + 1)
             : tonecore_engine_job_take_result_f64(e, job, dout, len + 1);
    CHECK_STATUS(st, TONECORE_STATUS_OK);
    if (f32) {
        CHECK_MSG(memcmp(fout, fref, len * sizeof(float)) == 0,
                  "%s: the result is not bit-identical to tonecore_render_chunked_f32", what);
        CHECK(sentinel_intact(fout + len, sizeof(float)));
    } else {
        CHECK_MSG(memcmp(dout, dref, len * sizeof(double)) == 0,
                  "%s: the result is not bit-identical to tonecore_render_chunked_f64", what);
        CHECK(sentinel_intact(dout + len, sizeof(double)));
    }
    st = f32 ? tonecore_engine_job_take_result_f32(e, job, fout, len)
             : tonecore_engine_job_take_result_f64(e, job, dout, len);
    CHECK_STATUS(st, TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_job_progress(e, job, &p), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_job_wait(e, job, -1.0, &p), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_job_cancel(e, job), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_job_release(e, job), TONECORE_STATUS_STALE_ID);
    s = stats_of(e);
    CHECK_EQ_INT(s.jobs_submitted, s0.jobs_submitted + 1);
    CHECK_EQ_INT(s.jobs_done, s0.jobs_done + 1);
    CHECK_EQ_INT(s.jobs_running, 0);
    CHECK_EQ_INT(s.jobs_held, s0.jobs_held);
    CHECK_EQ_INT(s.chunks_rendered, s0.chunks_rendered + chunks);
    CHECK_EQ_INT(s.frames_rendered, s0.frames_rendered + total);

    /* The same input again (with another key) comes from the cache, bit for bit. */
    st = f32 ? tonecore_engine_submit_render_f32(e, &pc, &rc, fx, len, 0, 0, &job)
             : tonecore_engine_submit_render_f64(e, &pc, &rc, x, len, 0, 0, &job);
    CHECK_STATUS(st, TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_job_wait(e, job, -1.0, NULL), TONECORE_STATUS_OK);
    sentinel_fill(dout, len * sizeof(double));
    sentinel_fill(fout, len * sizeof(float));
    st = f32 ? tonecore_engine_job_take_result_f32(e, job, fout, len)
             : tonecore_engine_job_take_result_f64(e, job, dout, len);
    CHECK_STATUS(st, TONECORE_STATUS_OK);
    CHECK_MSG(f32 ? memcmp(fout, fref, len * sizeof(float)) == 0
                  : memcmp(dout, dref, len * sizeof(double)) == 0,
              "%s: the cached result differs", what);
    s0 = s;
    s = stats_of(e);
    CHECK_EQ_INT(s.cache_hits, s0.cache_hits + chunks);
    CHECK_EQ_INT(s.chunks_rendered, s0.chunks_rendered);
    CHECK_EQ_INT(s.jobs_done, s0.jobs_done + 1);

    free(x);
    free(dref);
    free(dout);
    free(fx);
    free(fref);
    free(fout);
}

static void test_jobs(void) {
    /* Mono, 60 s in 6000 chunks of 10 ms, each through a fresh EQ pipeline: seconds of work,
     * so the long jobs outlive every check below by far (they are cancelled or released). */
    const size_t long_len = 60 * SR;
    tonecore_pipeline_config pc = eq_pipeline(TONECORE_SAMPLE_FORMAT_F32);
    tonecore_render_config rc = render_cfg(0.01, 0.0, 0.001);
    float *lx;
    tonecore_engine *e = new_engine(2, 2, 64u << 20, 16);
    tonecore_engine *one = new_engine(1, 1, 1u << 20, 1);
    static recorder r;
    tonecore_engine_stats s, s0;
    tonecore_job_progress p;
    uint64_t job, job2, running;
    float small[64];
    double dsmall[64];

    check_section("jobs: result, progress, wait, take, cancel, release, ALREADY_RUNNING");
    recorder_init(&r, 0);
    pc.channels = 1;
    {
        double *d = noise(long_len, 0.5, 61);
        lx = to_f32(d, long_len);
        free(d);
    }
    memset(small, 0, sizeof small);
    memset(dsmall, 0, sizeof dsmall);
    if (e == NULL || one == NULL) {
        goto done;
    }
    subscribe_ok(e, TONECORE_EVENT_KIND_JOB_PROGRESS | TONECORE_EVENT_KIND_JOB_FINISHED, record_cb,
                 &r);
    job_case(e, &r, TONECORE_SAMPLE_FORMAT_F64);
    job_case(e, &r, TONECORE_SAMPLE_FORMAT_F32);

    /* A long job with a key: TIMEOUT, NOT_FINISHED, ALREADY_RUNNING, then cancel. */
    s0 = stats_of(e);
    job = 0;
    CHECK_STATUS(tonecore_engine_submit_render_f32(e, &pc, &rc, lx, long_len, 5, 1, &job),
                 TONECORE_STATUS_OK);
    sentinel_fill(&p, sizeof p);
    CHECK_STATUS(tonecore_engine_job_wait(e, job, 0.0, &p), TONECORE_STATUS_TIMEOUT);
    CHECK(sentinel_intact(&p, sizeof p));
    CHECK_STATUS(tonecore_engine_job_progress(e, job, &p), TONECORE_STATUS_OK);
    CHECK_EQ_INT(p.state, TONECORE_JOB_STATE_RUNNING);
    CHECK_EQ_INT(p.status, 0);
    CHECK_EQ_INT(p.total, 6000);
    CHECK(p.done < p.total);
    CHECK_STATUS(tonecore_engine_job_take_result_f32(e, job, lx, long_len),
                 TONECORE_STATUS_NOT_FINISHED);
    running = sentinel_u64();
    CHECK_STATUS(tonecore_engine_submit_render_f32(e, &pc, &rc, lx, long_len, 5, 1, &running),
                 TONECORE_STATUS_ALREADY_RUNNING);
    CHECK(running == job);
    /* Another key runs alongside. */
    job2 = 0;
    CHECK_STATUS(tonecore_engine_submit_render_f32(e, &pc, &rc, lx, long_len, 6, 1, &job2),
                 TONECORE_STATUS_OK);
    CHECK(job2 != 0 && job2 != job);
    s = stats_of(e);
    CHECK_EQ_INT(s.jobs_submitted, s0.jobs_submitted + 2);
    CHECK_EQ_INT(s.jobs_running, 2);
    CHECK_EQ_INT(s.jobs_held, 2);
    CHECK_STATUS(tonecore_engine_job_cancel(e, job), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_job_cancel(e, job), TONECORE_STATUS_OK); /* twice is fine */
    sentinel_fill(&p, sizeof p);
    CHECK_STATUS(tonecore_engine_job_wait(e, job, -1.0, &p), TONECORE_STATUS_OK);
    CHECK_EQ_INT(p.state, TONECORE_JOB_STATE_CANCELLED);
    CHECK_EQ_INT(p.status, TONECORE_STATUS_CANCELLED);
    CHECK(p.done < p.total);
    CHECK_STATUS(tonecore_engine_job_progress(e, job, &p), TONECORE_STATUS_OK);
    CHECK_EQ_INT(p.state, TONECORE_JOB_STATE_CANCELLED);
    CHECK_STATUS(tonecore_engine_flush_events(e), TONECORE_STATUS_OK);
    check_job_events("cancelled job", &r, job, 5, 6000, TONECORE_JOB_STATE_CANCELLED,
                     TONECORE_STATUS_CANCELLED, 0);
    CHECK_STATUS(tonecore_engine_job_take_result_f32(e, job, lx, long_len),
                 TONECORE_STATUS_CANCELLED);
    CHECK_STATUS(tonecore_engine_job_take_result_f32(e, job, lx, long_len),
                 TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_job_progress(e, job, &p), TONECORE_STATUS_STALE_ID);
    /* With the first job over, its key is free again. */
    job = 0;
    CHECK_STATUS(tonecore_engine_submit_render_f32(e, &pc, &rc, lx, long_len, 5, 1, &job),
                 TONECORE_STATUS_OK);
    CHECK(job != 0);
    /* Release: the id turns stale at once (the job stops on its own). */
    CHECK_STATUS(tonecore_engine_job_release(e, job), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_job_release(e, job), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_job_wait(e, job, -1.0, NULL), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_job_cancel(e, job), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_job_release(e, job2), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_job_release(e, 0), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_job_cancel(e, UINT64_MAX), TONECORE_STATUS_STALE_ID);
    s = stats_of(e);
    CHECK(s.jobs_running <= s.jobs_held);
    wait_jobs_idle(e);
    s = stats_of(e);
    CHECK_EQ_INT(s.jobs_held, 0);
    CHECK_EQ_INT(s.jobs_submitted, s0.jobs_submitted + 3);
    CHECK_EQ_INT(s.jobs_submitted,
                 s.jobs_running + s.jobs_done + s.jobs_cancelled + s.jobs_failed);
    CHECK_EQ_INT(s.jobs_failed, 0);

    /* Refused submissions start nothing. */
    s0 = stats_of(e);
    job = sentinel_u64();
    CHECK_STATUS(tonecore_engine_submit_render_f32(e, &pc, &rc, NULL, long_len, 0, 0, &job),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_submit_render_f32(e, &pc, &rc, small, 64, 0, 0, NULL),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_submit_render_f32(e, NULL, &rc, small, 64, 0, 0, &job),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_submit_render_f64(e, &pc, &rc, dsmall, 64, 0, 0, &job),
                 TONECORE_STATUS_WRONG_FORMAT);
    pc.channels = 2;
    CHECK_STATUS(tonecore_engine_submit_render_f32(e, &pc, &rc, small, 63, 0, 0, &job),
                 TONECORE_STATUS_INVALID_CHANNELS);
    pc.channels = 1;
    {
        tonecore_render_config bad = render_cfg(-1.0, 0.1, 0.05);
        CHECK_STATUS(tonecore_engine_submit_render_f32(e, &pc, &bad, small, 64, 0, 0, &job),
                     TONECORE_STATUS_INVALID_CHUNK);
    }
    CHECK(job == sentinel_u64());
    s = stats_of(e);
    CHECK_EQ_INT(s.jobs_submitted, s0.jobs_submitted);
    CHECK_EQ_INT(s.jobs_held, 0);

    /* max_jobs: a second job is BUSY while the first is held; take frees its place. */
    job = 0;
    CHECK_STATUS(tonecore_engine_submit_render_f32(one, &pc, &rc, small, 64, 0, 0, &job),
                 TONECORE_STATUS_OK);
    job2 = sentinel_u64();
    CHECK_STATUS(tonecore_engine_submit_render_f32(one, &pc, &rc, small, 64, 0, 0, &job2),
                 TONECORE_STATUS_BUSY);
    CHECK(job2 == sentinel_u64());
    CHECK_STATUS(tonecore_engine_job_wait(one, job, -1.0, NULL), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_job_take_result_f32(one, job, small, 64), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_submit_render_f32(one, &pc, &rc, small, 64, 0, 0, &job2),
                 TONECORE_STATUS_OK);
    /* Another engine's job id is stale here. */
    CHECK_STATUS(tonecore_engine_job_progress(e, job2, &p), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_job_release(e, job2), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_job_progress(one, job2, &p), TONECORE_STATUS_OK);

    /* Freeing engines with jobs running (one here: a fresh long job) cancels and joins them. */
    CHECK_STATUS(tonecore_engine_submit_render_f32(e, &pc, &rc, lx, long_len, 0, 1, &job),
                 TONECORE_STATUS_OK);
    check_seq_increasing("job events", &r);
done:
    tonecore_engine_free(e);
    tonecore_engine_free(one);
    pthread_mutex_destroy(&r.lock);
    free(lx);
}

/* ---------------------------------------------------------------------------------------------
 * Subscriptions
 * ------------------------------------------------------------------------------------------- */

/* user_data of a callback that unsubscribes itself and tries flush_events. */
typedef struct self_unsub {
    const tonecore_engine *e;
    uint64_t token;
    unsigned long calls;
    int32_t unsub_status, unsub_again_status, flush_status, stats_status;
} self_unsub;

static int32_t self_unsub_cb(void *user_data, const tonecore_event *ev) {
    self_unsub *u = (self_unsub *)user_data;
    tonecore_engine_stats s;
    (void)ev;
    u->calls++;
    if (u->calls == 1) {
        u->flush_status = tonecore_engine_flush_events(u->e);
        s.struct_size = sizeof s;
        u->stats_status = tonecore_engine_get_stats(u->e, &s);
        u->unsub_status = tonecore_engine_unsubscribe(u->e, u->token);
        u->unsub_again_status = tonecore_engine_unsubscribe(u->e, u->token);
    }
    return 0;
}

/* user_data of a counting callback that is freed right after unsubscribe. */
typedef struct counted {
    unsigned long calls;
    unsigned char payload[64];
} counted;

static int32_t counted_cb(void *user_data, const tonecore_event *ev) {
    counted *c = (counted *)user_data;
    (void)ev;
    c->calls++;
    c->payload[c->calls % 64] ^= 1;
    return 0;
}

/* A callback that takes a while, to unsubscribe during a call. */
typedef struct slow {
    pthread_mutex_t lock;
    int inside, finished_calls;
} slow;

static int32_t slow_cb(void *user_data, const tonecore_event *ev) {
    slow *s = (slow *)user_data;
    (void)ev;
    pthread_mutex_lock(&s->lock);
    s->inside = 1;
    pthread_mutex_unlock(&s->lock);
    sleep_us(100000);
    pthread_mutex_lock(&s->lock);
    s->inside = 0;
    s->finished_calls++;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static void test_subscriptions(void) {
    const size_t total = 4410;
    tonecore_pipeline_config pc = flat_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_render_config rc = render_cfg(0.05, 0.0, 0.005);
    double *x = noise(CH * total, 0.5, 71);
    tonecore_engine *e = new_engine(4, 1, 1u << 20, 4);
    static recorder failing;
    self_unsub su;
    counted *cd;
    slow *sl;
    tonecore_engine_stats s, s0;
    uint64_t token, t_fail, t_cd, t_slow, id;
    int k;

    check_section("subscribe/unsubscribe: bad input, error counting, self-unsubscribe, "
                  "unsubscribe during a call, user_data freed right after");
    recorder_init(&failing, 7);
    if (e == NULL) {
        goto done;
    }
    token = sentinel_u64();
    CHECK_STATUS(tonecore_engine_subscribe(e, TONECORE_EVENTS_ALL, NULL, NULL, &token),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_engine_subscribe(e, 0, record_cb, &failing, &token),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(tonecore_engine_subscribe(e, 16, record_cb, &failing, &token),
                 TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(tonecore_engine_subscribe(e, TONECORE_EVENTS_ALL, record_cb, &failing, NULL),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK(token == sentinel_u64());
    CHECK_EQ_INT(stats_of(e).subscriptions, 0);
    CHECK_STATUS(tonecore_engine_unsubscribe(e, 0), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_unsubscribe(e, 12345), TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_unsubscribe(e, UINT64_MAX), TONECORE_STATUS_STALE_ID);

    /* A callback that reports failure (non-zero) on every call: each counted once. Unknown mask
     * bits next to known ones are accepted. */
    t_fail = subscribe_ok(e, TONECORE_EVENTS_ALL | 0x100u, record_cb, &failing);
    /* A callback that unsubscribes itself on its first call and tries flush_events. */
    memset(&su, 0, sizeof su);
    su.e = e;
    su.unsub_status = su.unsub_again_status = su.flush_status = su.stats_status = -1;
    su.token = subscribe_ok(e, TONECORE_EVENTS_ALL, self_unsub_cb, &su);
    /* A counter whose user_data is freed right after unsubscribe. */
    cd = (counted *)ref_alloc(1, sizeof(counted));
    t_cd = subscribe_ok(e, TONECORE_EVENTS_ALL, counted_cb, cd);
    CHECK_EQ_INT(stats_of(e).subscriptions, 3);
    s0 = stats_of(e);
    for (k = 0; k < 3; k++) {
        id = open_ok(e, (uint64_t)k, &pc, &rc, x, total);
        CHECK_STATUS(tonecore_engine_stream_close(e, id), TONECORE_STATUS_OK);
    }
    CHECK_STATUS(tonecore_engine_flush_events(e), TONECORE_STATUS_OK);
    CHECK_EQ_INT(su.calls, 1);
    CHECK_STATUS(su.flush_status, TONECORE_STATUS_CONCURRENT_USE);
    CHECK_STATUS(su.stats_status, TONECORE_STATUS_OK);
    CHECK_STATUS(su.unsub_status, TONECORE_STATUS_OK);
    CHECK_STATUS(su.unsub_again_status, TONECORE_STATUS_STALE_ID);
    CHECK_STATUS(tonecore_engine_unsubscribe(e, su.token), TONECORE_STATUS_STALE_ID);
    CHECK_EQ_INT(cd->calls, 6);
    CHECK_EQ_SIZE(recorder_count(&failing), 6);
    s = stats_of(e);
    CHECK_EQ_INT(s.events_emitted, s0.events_emitted + 6);
    CHECK_EQ_INT(s.callbacks_invoked, s0.callbacks_invoked + 6 + 1 + 6);
    CHECK_EQ_INT(s.callback_errors, s0.callback_errors + 6);
    CHECK_EQ_INT(s.subscriptions, 2);

    /* Unsubscribe, free user_data at once, and keep emitting: ASan reports any later use. */
    CHECK_STATUS(tonecore_engine_unsubscribe(e, t_cd), TONECORE_STATUS_OK);
    free(cd);
    CHECK_STATUS(tonecore_engine_unsubscribe(e, t_cd), TONECORE_STATUS_STALE_ID);
    for (k = 0; k < 3; k++) {
        id = open_ok(e, 10 + (uint64_t)k, &pc, &rc, x, total);
        CHECK_STATUS(tonecore_engine_stream_close(e, id), TONECORE_STATUS_OK);
    }
    CHECK_STATUS(tonecore_engine_flush_events(e), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(recorder_count(&failing), 12);
    CHECK_EQ_INT(stats_of(e).callback_errors, s0.callback_errors + 12);

    /* Unsubscribe while the callback runs: it returns only after the call finished; then the
     * user_data is freed and more events are emitted. */
    sl = (slow *)ref_alloc(1, sizeof(slow));
    pthread_mutex_init(&sl->lock, NULL);
    t_slow = subscribe_ok(e, TONECORE_EVENT_KIND_STREAM_OPENED, slow_cb, sl);
    id = open_ok(e, 20, &pc, &rc, x, total);
    {
        double deadline = now_s() + 30.0;
        int inside = 0;
        while (!inside && now_s() < deadline) {
            pthread_mutex_lock(&sl->lock);
            inside = sl->inside;
            pthread_mutex_unlock(&sl->lock);
            if (!inside) {
                sleep_us(200);
            }
        }
        CHECK_MSG(inside, "the slow callback never started");
        CHECK_STATUS(tonecore_engine_unsubscribe(e, t_slow), TONECORE_STATUS_OK);
        pthread_mutex_lock(&sl->lock);
        CHECK_MSG(sl->inside == 0 && sl->finished_calls == 1,
                  "unsubscribe returned while the callback ran (inside %d, finished %d)",
                  sl->inside, sl->finished_calls);
        pthread_mutex_unlock(&sl->lock);
    }
    pthread_mutex_destroy(&sl->lock);
    free(sl);
    CHECK_STATUS(tonecore_engine_stream_close(e, id), TONECORE_STATUS_OK);
    id = open_ok(e, 21, &pc, &rc, x, total);
    CHECK_STATUS(tonecore_engine_flush_events(e), TONECORE_STATUS_OK);

    CHECK_STATUS(tonecore_engine_unsubscribe(e, t_fail), TONECORE_STATUS_OK);
    CHECK_EQ_INT(stats_of(e).subscriptions, 0);
    check_seq_increasing("failing recorder", &failing);

    /* get_stats refusals. */
    {
        tonecore_engine_stats bad;
        size_t sizes[] = {0, sizeof(size_t), sizeof bad - 8};
        size_t i;
        for (i = 0; i < 3; i++) {
            sentinel_fill(&bad, sizeof bad);
            bad.struct_size = sizes[i];
            CHECK_STATUS(tonecore_engine_get_stats(e, &bad), TONECORE_STATUS_STRUCT_SIZE);
            CHECK(bad.struct_size == sizes[i] &&
                  sentinel_intact((char *)&bad + sizeof(size_t), sizeof bad - sizeof(size_t)));
        }
        CHECK_STATUS(tonecore_engine_get_stats(e, NULL), TONECORE_STATUS_NULL_POINTER);
    }
done:
    tonecore_engine_free(e);
    pthread_mutex_destroy(&failing.lock);
    free(x);
}

/* An engine freed with events still queued delivers them to live subscribers, then stops;
 * its callbacks are never called afterwards. */
static void test_free_with_subscribers(void) {
    const size_t total = 4410;
    tonecore_pipeline_config pc = flat_pipeline(TONECORE_SAMPLE_FORMAT_F64);
    tonecore_render_config rc = render_cfg(0.05, 0.0, 0.005);
    double *x = noise(CH * total, 0.5, 81);
    tonecore_engine *e = new_engine(8, 1, 1u << 20, 4);
    static recorder r;
    size_t before;
    int k;

    check_section("free with open streams and subscribers: streams closed, events delivered");
    recorder_init(&r, 0);
    if (e == NULL) {
        goto done;
    }
    subscribe_ok(e, TONECORE_EVENTS_ALL, record_cb, &r);
    for (k = 0; k < 5; k++) {
        open_ok(e, (uint64_t)k, &pc, &rc, x, total);
    }
    tonecore_engine_free(e);
    e = NULL;
    before = recorder_count(&r);
    /* 5 opens, then the free closes the 5 streams. */
    CHECK_EQ_SIZE(before, 10);
    {
        size_t i, opened = 0, closed = 0;
        for (i = 0; i < r.n; i++) {
            opened += r.ev[i].kind == TONECORE_EVENT_KIND_STREAM_OPENED;
            closed += r.ev[i].kind == TONECORE_EVENT_KIND_STREAM_CLOSED && r.ev[i].replaced == 0;
        }
        CHECK_EQ_SIZE(opened, 5);
        CHECK_EQ_SIZE(closed, 5);
    }
    check_seq_increasing("free", &r);
    sleep_us(20000);
    CHECK_EQ_SIZE(recorder_count(&r), before);
done:
    tonecore_engine_free(e);
    pthread_mutex_destroy(&r.lock);
    free(x);
}

int main(void) {
    size_t b;
    for (b = 0; b < BANDS; b++) {
        eq_gains[b] = (double)((int)(b % 5) - 2) * 3.0;
    }
    test_config();
    test_null_engine();
    stream_case(TONECORE_SAMPLE_FORMAT_F64);
    stream_case(TONECORE_SAMPLE_FORMAT_F32);
    ramp_case(TONECORE_SAMPLE_FORMAT_F64);
    ramp_case(TONECORE_SAMPLE_FORMAT_F32);
    test_stream_control();
    test_open_errors();
    test_replacement();
    test_cap();
    test_jobs();
    test_subscriptions();
    test_free_with_subscribers();
    return check_finish();
}
