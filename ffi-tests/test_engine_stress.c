/*
 * test_engine_stress.c — the engine's race tests through the C ABI, with pthreads, each checking
 * invariants rather than just surviving:
 *
 *   replace storm     16 threads x 250 opens of one key, each followed by pause (and sometimes
 *                     close): every issued id distinct, never two live streams, every old id
 *                     STALE_ID, the final stream readable/pausable/seekable; the key's events in
 *                     lifecycle order (each id opened before it is closed, a host replaying the
 *                     events ends with the live id).
 *   cap storm         64 threads opening distinct keys against max_streams = 10: in a first
 *                     lockstep round (all hold until all tried) exactly 10 succeed; then free
 *                     running: never more than 10 live (own atomic count), the rest BUSY
 *                     (counted exactly), every slot free at the end (10 keys open, the 11th is
 *                     BUSY).
 *   start race        100 threads submit one job key at a barrier: exactly one OK, 99
 *                     ALREADY_RUNNING carrying its id, while the job still runs.
 *   disconnect storm  open/close 10 000 times from 4 threads: threads (/proc/self/task) back to
 *                     the count with the engine, no stream left, every slot free; freeing the
 *                     engine returns to the count before it.
 *   callback race     3 threads subscribe/unsubscribe while 3 threads open/close streams: no call
 *                     after unsubscribe returned, no repeated or out-of-order seq per
 *                     subscription (at least 1000 events); half the user_data is freed right
 *                     after unsubscribe (ASan reports a later use); a permanent subscriber gets
 *                     exactly every event.
 *   stats race        the main thread polls get_stats while 4 threads open/read/close streams and
 *                     submit/cancel/take jobs: streams_open <= max_streams and = opened -
 *                     replaced - closed, jobs_submitted = running + done + cancelled + failed,
 *                     cache_bytes <= capacity, counters never decrease.
 *
 * TONECORE_STRESS_ROUNDS=<n> multiplies the rounds (default 1, about 12 s in all under ASan);
 * TONECORE_STRESS_ONLY=<name> runs one scenario (disconnect, replace, cap, start, callback,
 * stats). Built as C11 for <stdatomic.h>; nothing sanitizer-specific, so it also builds under
 * ThreadSanitizer (which, with an uninstrumented libtonecore, cannot see the library's own
 * synchronization and reports races inside it and on user_data freed after unsubscribe).
 * Threads only record what they saw (atomics, or arrays read after join); every CHECK runs on the
 * main thread.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "ref.h"

#define SR 44100u
#define CH 2
#define BANDS 25

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

static unsigned rounds(void) {
    const char *v = getenv("TONECORE_STRESS_ROUNDS");
    long n = v != NULL ? strtol(v, NULL, 10) : 1;
    return n < 1 ? 1u : (unsigned)n;
}

/* Threads of this process (entries of /proc/self/task), 0 when that is not available. */
static size_t thread_count(void) {
    DIR *d = opendir("/proc/self/task");
    struct dirent *ent;
    size_t n = 0;
    if (d == NULL) {
        return 0;
    }
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Polls (up to 5 s) until the thread count is `want`: a joined thread may take a moment to
 * leave /proc. Returns the last count. */
static size_t settle_threads(size_t want) {
    double deadline = now_s() + 5.0;
    for (;;) {
        size_t n = thread_count();
        if (n == want || now_s() > deadline) {
            return n;
        }
        sleep_us(5000);
    }
}

static double *noise(size_t count, double amp, uint64_t seed) {
    ref_rng rng = ref_rng_new(seed);
    double *x = (double *)ref_alloc(count, sizeof(double));
    size_t i;
    for (i = 0; i < count; i++) {
        x[i] = amp * ref_uniform(&rng);
    }
    return x;
}

static double eq_gains[BANDS];

static tonecore_pipeline_config pipeline_cfg(int eq, uint32_t channels, int32_t format) {
    tonecore_pipeline_config c;
    tonecore_pipeline_config_init(&c);
    c.channels = channels;
    c.sample_format = format;
    if (eq) {
        c.eq_enabled = 1;
        c.eq_gains_db = eq_gains;
        c.eq_gains_len = BANDS;
    }
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

static tonecore_engine *new_engine(uint32_t max_streams, uint32_t workers, uint64_t cache) {
    tonecore_engine_config c;
    tonecore_engine *e = NULL;
    int32_t st;
    tonecore_engine_config_init(&c);
    c.max_streams = max_streams;
    c.worker_threads = workers;
    c.cache_bytes = cache;
    c.max_jobs = 64;
    st = tonecore_engine_new(&c, &e);
    CHECK_MSG(st == TONECORE_STATUS_OK && e != NULL, "engine_new: %lld (%s)", (long long)st,
              tonecore_last_error_message());
    return st == TONECORE_STATUS_OK ? e : NULL;
}

static tonecore_engine_stats stats_of(const tonecore_engine *e) {
    tonecore_engine_stats s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    CHECK_STATUS(tonecore_engine_get_stats(e, &s), TONECORE_STATUS_OK);
    return s;
}

/* A small stereo f64 track and a cheap stream config shared by the storms. */
typedef struct track {
    const tonecore_engine *e;
    const double *x;
    size_t len; /* samples (CH x frames) */
    tonecore_pipeline_config pc;
    tonecore_render_config rc;
} track;

static int32_t open_on(const track *t, uint64_t key, uint64_t *id) {
    return tonecore_engine_open_stream_f64(t->e, key, &t->pc, &t->rc, t->x, t->len, 0, 0.0, id);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Records the first unexpected status in `first` (0 = none yet) and counts it. */
static void note_bad(atomic_ulong *count, atomic_int *first, int32_t st) {
    int expected = 0;
    atomic_fetch_add(count, 1);
    atomic_compare_exchange_strong(first, &expected, (int)st);
}

/* ---------------------------------------------------------------------------------------------
 * Replace storm
 * ------------------------------------------------------------------------------------------- */

#define STORM_KEY 42

typedef struct stream_event {
    uint64_t seq, id;
    uint32_t kind, replaced;
} stream_event;

typedef struct event_log {
    pthread_mutex_t lock;
    stream_event *ev;
    size_t n, cap;
    unsigned long other_keys, overflow;
} event_log;

static int32_t log_stream_event(void *user_data, const tonecore_event *e) {
    event_log *l = (event_log *)user_data;
    pthread_mutex_lock(&l->lock);
    if (e->key != STORM_KEY) {
        l->other_keys++;
    } else if (l->n < l->cap) {
        l->ev[l->n].seq = e->seq;
        l->ev[l->n].id = e->id;
        l->ev[l->n].kind = e->kind;
        l->ev[l->n].replaced = e->replaced;
        l->n++;
    } else {
        l->overflow++;
    }
    pthread_mutex_unlock(&l->lock);
    return 0;
}

typedef struct replace_shared {
    track t;
    pthread_barrier_t barrier;
    unsigned per_thread;
    atomic_ulong bad;
    atomic_int first_bad;
    atomic_ulong two_live; /* snapshots with more than one live stream */
} replace_shared;

typedef struct replace_worker {
    replace_shared *sh;
    uint64_t *ids; /* per_thread ids issued to this thread */
    size_t n;
} replace_worker;

static void *replace_thread(void *arg) {
    replace_worker *w = (replace_worker *)arg;
    replace_shared *sh = w->sh;
    unsigned i;
    pthread_barrier_wait(&sh->barrier);
    for (i = 0; i < sh->per_thread; i++) {
        uint64_t id = 0;
        tonecore_engine_stats s;
        int32_t st = open_on(&sh->t, STORM_KEY, &id);
        if (st != TONECORE_STATUS_OK) {
            note_bad(&sh->bad, &sh->first_bad, st);
            continue;
        }
        w->ids[w->n++] = id;
        /* Control it at once; it may already be replaced: then STALE_ID, nothing else. */
        st = tonecore_engine_stream_set_paused(sh->t.e, id, 1);
        if (st != TONECORE_STATUS_OK && st != TONECORE_STATUS_STALE_ID) {
            note_bad(&sh->bad, &sh->first_bad, st);
        }
        if (i % 7 == 0) {
            st = tonecore_engine_stream_close(sh->t.e, id);
            if (st != TONECORE_STATUS_OK && st != TONECORE_STATUS_STALE_ID) {
                note_bad(&sh->bad, &sh->first_bad, st);
            }
        }
        memset(&s, 0, sizeof s);
        s.struct_size = sizeof s;
        st = tonecore_engine_get_stats(sh->t.e, &s);
        if (st != TONECORE_STATUS_OK) {
            note_bad(&sh->bad, &sh->first_bad, st);
        } else if (s.streams_open > 1) {
            atomic_fetch_add(&sh->two_live, 1);
        }
    }
    return NULL;
}

/* Position of `id` in the sorted `ids`, or (size_t)-1. */
static size_t find_id(const uint64_t *ids, size_t n, uint64_t id) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && ids[lo] == id ? lo : (size_t)-1;
}

static void test_replace_storm(void) {
    enum { THREADS = 16 };
    const size_t frames = 4410;
    double *x = noise(CH * frames, 0.5, 1);
    tonecore_engine *e = NULL;
    replace_shared sh;
    replace_worker w[THREADS];
    pthread_t th[THREADS];
    event_log log;
    uint64_t *all = NULL, last = 0, got_id = 0;
    size_t n_all = 0, i, k, created = 0, dupes = 0;
    tonecore_engine_stats s;
    double t0 = now_s(), d[CH * 64];
    size_t n;

    check_section("replace storm: 16 threads x 250 opens of one key");
    memset(&sh, 0, sizeof sh);
    memset(&log, 0, sizeof log);
    sh.per_thread = 250 * rounds();
    /* The log is ready before the engine (and its dispatcher thread) starts, so the dispatcher
     * sees it also for a race detector that cannot see the library's own synchronization. */
    pthread_mutex_init(&log.lock, NULL);
    log.cap = 2 * (size_t)THREADS * sh.per_thread + 16;
    log.ev = (stream_event *)ref_alloc(log.cap, sizeof(stream_event));
    e = new_engine(4, 2, 8u << 20);
    if (e == NULL) {
        goto done;
    }
    sh.t.e = e;
    sh.t.x = x;
    sh.t.len = CH * frames;
    sh.t.pc = pipeline_cfg(0, CH, TONECORE_SAMPLE_FORMAT_F64);
    sh.t.rc = render_cfg(0.05, 0.0, 0.005);
    atomic_init(&sh.bad, 0);
    atomic_init(&sh.first_bad, 0);
    atomic_init(&sh.two_live, 0);
    {
        uint64_t token = 0;
        CHECK_STATUS(tonecore_engine_subscribe(e,
                                               TONECORE_EVENT_KIND_STREAM_OPENED |
                                                   TONECORE_EVENT_KIND_STREAM_CLOSED,
                                               log_stream_event, &log, &token),
                     TONECORE_STATUS_OK);
    }
    pthread_barrier_init(&sh.barrier, NULL, THREADS);
    for (i = 0; i < THREADS; i++) {
        w[i].sh = &sh;
        w[i].ids = (uint64_t *)ref_alloc(sh.per_thread, sizeof(uint64_t));
        w[i].n = 0;
    }
    for (i = 0; i < THREADS; i++) {
        if (pthread_create(&th[i], NULL, replace_thread, &w[i]) != 0) {
            break;
        }
        created++;
    }
    CHECK_MSG(created == THREADS, "created %zu of %d threads", created, THREADS);
    if (created < THREADS) {
        /* The barrier would never open: give up on this scenario (no clean way out). */
        fprintf(stdout, "cannot run the replace storm\n");
        exit(1);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    pthread_barrier_destroy(&sh.barrier);
    CHECK_MSG(atomic_load(&sh.bad) == 0, "%lu calls failed, first with %d",
              atomic_load(&sh.bad), atomic_load(&sh.first_bad));
    CHECK_MSG(atomic_load(&sh.two_live) == 0, "%lu snapshots saw two live streams for one key",
              atomic_load(&sh.two_live));

    /* Every issued id is distinct. */
    all = (uint64_t *)ref_alloc((size_t)THREADS * sh.per_thread + 1, sizeof(uint64_t));
    for (i = 0; i < THREADS; i++) {
        for (k = 0; k < w[i].n; k++) {
            all[n_all++] = w[i].ids[k];
        }
    }
    CHECK_EQ_SIZE(n_all, (size_t)THREADS * sh.per_thread);

    /* Open once more so the end state is deterministic (the last storm action may have been a
     * close): exactly one live stream, the new one. */
    CHECK_STATUS(open_on(&sh.t, STORM_KEY, &last), TONECORE_STATUS_OK);
    all[n_all++] = last;
    qsort(all, n_all, sizeof(uint64_t), cmp_u64);
    for (i = 1; i < n_all; i++) {
        dupes += all[i] == all[i - 1];
    }
    CHECK_MSG(dupes == 0, "%zu ids were issued twice", dupes);
    s = stats_of(e);
    CHECK_EQ_INT(s.streams_open, 1);
    CHECK_EQ_INT(s.streams_opened, n_all);
    CHECK_EQ_INT(s.streams_opened - s.streams_replaced - s.streams_closed, 1);
    CHECK_STATUS(tonecore_engine_stream_for_key(e, STORM_KEY, &got_id), TONECORE_STATUS_OK);
    CHECK(got_id == last);
    {
        unsigned long not_stale = 0;
        for (i = 0; i < n_all; i++) {
            if (all[i] != last &&
                tonecore_engine_stream_read_f64(e, all[i], d, CH * 64, &n) !=
                    TONECORE_STATUS_STALE_ID) {
                not_stale++;
            }
        }
        CHECK_MSG(not_stale == 0, "%lu old ids were not STALE_ID", not_stale);
    }
    /* The live stream is controllable. */
    CHECK_STATUS(tonecore_engine_stream_set_paused(e, last, 1), TONECORE_STATUS_OK);
    for (i = 0; i < CH * 64; i++) {
        d[i] = 1.0;
    }
    n = 99;
    CHECK_STATUS(tonecore_engine_stream_read_f64(e, last, d, CH * 64, &n), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(n, 0);
    CHECK(d[0] == 0.0 && d[CH * 64 - 1] == 0.0);
    CHECK_STATUS(tonecore_engine_stream_set_paused(e, last, 0), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_stream_seek(e, last, 0.0), TONECORE_STATUS_OK);
    {
        double deadline = now_s() + 30.0;
        size_t got = 0;
        while (got < 1000 && now_s() < deadline) {
            n = 0;
            if (tonecore_engine_stream_read_f64(e, last, d, CH * 64, &n) != TONECORE_STATUS_OK) {
                break;
            }
            got += n;
            if (n < 64) {
                sleep_us(1000);
            }
        }
        CHECK_MSG(got >= 1000, "the final stream played only %zu frames", got);
    }

    /* The key's events, replayed by a host in seq order, end at the live id; each id is opened
     * once, before it is closed. */
    CHECK_STATUS(tonecore_engine_flush_events(e), TONECORE_STATUS_OK);
    {
        uint64_t *opened = (uint64_t *)ref_alloc(n_all, sizeof(uint64_t));
        uint64_t *closed = (uint64_t *)ref_alloc(n_all, sizeof(uint64_t));
        unsigned long unknown = 0, twice = 0, out_of_order = 0, close_first = 0, replaced = 0;
        uint64_t host_view = 0;
        pthread_mutex_lock(&log.lock);
        for (i = 0; i < log.n; i++) {
            const stream_event *ev = &log.ev[i];
            size_t at = find_id(all, n_all, ev->id);
            if (i > 0 && ev->seq <= log.ev[i - 1].seq) {
                out_of_order++;
            }
            if (at == (size_t)-1) {
                unknown++;
                continue;
            }
            if (ev->kind == TONECORE_EVENT_KIND_STREAM_OPENED) {
                twice += opened[at] != 0;
                opened[at] = ev->seq;
                host_view = ev->id;
            } else {
                twice += closed[at] != 0;
                closed[at] = ev->seq;
                close_first += opened[at] == 0;
                replaced += ev->replaced != 0;
                if (host_view == ev->id) {
                    host_view = 0;
                }
            }
        }
        for (i = 0; i < n_all; i++) {
            if (opened[i] == 0 || (all[i] != last && closed[i] == 0)) {
                unknown++; /* an event is missing */
            }
        }
        CHECK_MSG(log.overflow == 0 && log.other_keys == 0 && unknown == 0 && twice == 0 &&
                      out_of_order == 0,
                  "events: %lu overflowed, %lu other keys, %lu unknown/missing, %lu twice, %lu "
                  "out of order",
                  log.overflow, log.other_keys, unknown, twice, out_of_order);
        CHECK_MSG(close_first == 0, "%lu streams were reported closed before they were opened",
                  close_first);
        CHECK_MSG(host_view == last,
                  "a host replaying the key's events thinks %llx is live, not %llx",
                  (unsigned long long)host_view, (unsigned long long)last);
        CHECK_EQ_INT(replaced, s.streams_replaced);
        CHECK_EQ_SIZE(log.n, 2 * n_all - 1);
        pthread_mutex_unlock(&log.lock);
        free(opened);
        free(closed);
    }
    CHECK_STATUS(tonecore_engine_stream_close(e, last), TONECORE_STATUS_OK);
    CHECK_EQ_INT(stats_of(e).streams_open, 0);
    printf("   %zu opens, %llu replaced, %llu closed, in %.2f s\n", n_all,
           (unsigned long long)s.streams_replaced, (unsigned long long)s.streams_closed + 1,
           now_s() - t0);
done:
    tonecore_engine_free(e);
    for (i = 0; i < THREADS && e != NULL; i++) {
        free(w[i].ids);
    }
    free(all);
    free(log.ev);
    pthread_mutex_destroy(&log.lock);
    free(x);
}

/* ---------------------------------------------------------------------------------------------
 * Cap storm
 * ------------------------------------------------------------------------------------------- */

#define CAP 10

typedef struct cap_shared {
    track t;
    pthread_barrier_t barrier;
    unsigned per_thread;
    atomic_int live, worst;
    atomic_ulong busy, opened, over_cap, bad, first_round_ok;
    atomic_int first_bad;
} cap_shared;

typedef struct cap_worker {
    cap_shared *sh;
    uint64_t index;
} cap_worker;

static void *cap_thread(void *arg) {
    cap_worker *w = (cap_worker *)arg;
    cap_shared *sh = w->sh;
    unsigned i;
    pthread_barrier_wait(&sh->barrier);
    for (i = 0; i < sh->per_thread; i++) {
        uint64_t id = 0;
        int32_t st = open_on(&sh->t, w->index * 100000 + i, &id);
        if (i == 0) {
            /* First round in lockstep: everyone holds what it got until all have tried, so
             * exactly max_streams opens succeed and the rest are BUSY, whatever the scheduling. */
            if (st == TONECORE_STATUS_OK) {
                atomic_fetch_add(&sh->first_round_ok, 1);
            }
            pthread_barrier_wait(&sh->barrier);
        }
        if (st == TONECORE_STATUS_OK) {
            int now = atomic_fetch_add(&sh->live, 1) + 1, worst = atomic_load(&sh->worst);
            double buf[CH * 4];
            size_t n;
            tonecore_engine_stats s;
            atomic_fetch_add(&sh->opened, 1);
            while (now > worst && !atomic_compare_exchange_weak(&sh->worst, &worst, now)) {
            }
            memset(&s, 0, sizeof s);
            s.struct_size = sizeof s;
            if (tonecore_engine_get_stats(sh->t.e, &s) != TONECORE_STATUS_OK ||
                s.streams_open > CAP) {
                atomic_fetch_add(&sh->over_cap, 1);
            }
            st = tonecore_engine_stream_read_f64(sh->t.e, id, buf, CH * 4, &n);
            if (st != TONECORE_STATUS_OK) {
                note_bad(&sh->bad, &sh->first_bad, st);
            }
            sleep_us(300); /* hold the slot a moment so the cap is really contended */
            atomic_fetch_sub(&sh->live, 1);
            st = tonecore_engine_stream_close(sh->t.e, id);
            if (st != TONECORE_STATUS_OK) {
                note_bad(&sh->bad, &sh->first_bad, st);
            }
        } else if (st == TONECORE_STATUS_BUSY) {
            atomic_fetch_add(&sh->busy, 1);
        } else {
            note_bad(&sh->bad, &sh->first_bad, st);
        }
    }
    return NULL;
}

static void test_cap_storm(void) {
    enum { THREADS = 64 };
    const size_t frames = 4410;
    double *x = noise(CH * frames, 0.5, 2);
    tonecore_engine *e = new_engine(CAP, 2, 8u << 20);
    cap_shared sh;
    cap_worker w[THREADS];
    pthread_t th[THREADS];
    uint64_t ids[CAP + 1];
    tonecore_engine_stats s;
    size_t i, created = 0;
    double t0 = now_s();

    check_section("cap storm: 64 threads, distinct keys, max_streams 10");
    memset(&sh, 0, sizeof sh);
    if (e == NULL) {
        goto done;
    }
    sh.per_thread = 10 * rounds();
    sh.t.e = e;
    sh.t.x = x;
    sh.t.len = CH * frames;
    sh.t.pc = pipeline_cfg(0, CH, TONECORE_SAMPLE_FORMAT_F64);
    sh.t.rc = render_cfg(0.05, 0.0, 0.005);
    atomic_init(&sh.live, 0);
    atomic_init(&sh.worst, 0);
    atomic_init(&sh.busy, 0);
    atomic_init(&sh.opened, 0);
    atomic_init(&sh.over_cap, 0);
    atomic_init(&sh.bad, 0);
    atomic_init(&sh.first_round_ok, 0);
    atomic_init(&sh.first_bad, 0);
    pthread_barrier_init(&sh.barrier, NULL, THREADS);
    for (i = 0; i < THREADS; i++) {
        w[i].sh = &sh;
        w[i].index = i;
        if (pthread_create(&th[i], NULL, cap_thread, &w[i]) != 0) {
            fprintf(stdout, "cannot start the cap storm's threads\n");
            exit(1);
        }
        created++;
    }
    for (i = 0; i < created; i++) {
        pthread_join(th[i], NULL);
    }
    pthread_barrier_destroy(&sh.barrier);
    CHECK_MSG(atomic_load(&sh.bad) == 0, "%lu calls failed, first with %d",
              atomic_load(&sh.bad), atomic_load(&sh.first_bad));
    CHECK_MSG(atomic_load(&sh.worst) <= CAP, "%d streams were live at once",
              atomic_load(&sh.worst));
    CHECK_MSG(atomic_load(&sh.over_cap) == 0, "%lu snapshots saw more than %d streams",
              atomic_load(&sh.over_cap), CAP);
    CHECK_MSG(atomic_load(&sh.first_round_ok) == CAP,
              "%lu of 64 simultaneous opens succeeded, want exactly %d",
              atomic_load(&sh.first_round_ok), CAP);
    s = stats_of(e);
    CHECK_EQ_INT(s.streams_open, 0);
    CHECK_EQ_INT(s.busy_refusals, atomic_load(&sh.busy));
    CHECK_EQ_INT(s.streams_opened, atomic_load(&sh.opened));
    CHECK_EQ_INT(s.streams_opened + s.busy_refusals, (uint64_t)THREADS * sh.per_thread);
    CHECK_EQ_INT(s.streams_closed, s.streams_opened);
    CHECK(s.streams_peak >= 1 && s.streams_peak <= CAP);
    /* Every slot is free again: ten keys open at once, the eleventh is refused. */
    for (i = 0; i < CAP; i++) {
        ids[i] = 0;
        CHECK_STATUS(open_on(&sh.t, 1000000 + i, &ids[i]), TONECORE_STATUS_OK);
    }
    CHECK_STATUS(open_on(&sh.t, 2000000, &ids[CAP]), TONECORE_STATUS_BUSY);
    for (i = 0; i < CAP; i++) {
        CHECK_STATUS(tonecore_engine_stream_close(e, ids[i]), TONECORE_STATUS_OK);
    }
    printf("   %lu opened, %lu BUSY, at most %d live (peak %llu), in %.2f s\n",
           atomic_load(&sh.opened), atomic_load(&sh.busy), atomic_load(&sh.worst),
           (unsigned long long)s.streams_peak, now_s() - t0);
done:
    tonecore_engine_free(e);
    free(x);
}

/* ---------------------------------------------------------------------------------------------
 * Start race
 * ------------------------------------------------------------------------------------------- */

typedef struct start_shared {
    const tonecore_engine *e;
    const float *x;
    size_t len;
    tonecore_pipeline_config pc;
    tonecore_render_config rc;
    pthread_barrier_t barrier;
} start_shared;

typedef struct start_worker {
    start_shared *sh;
    int32_t status;
    uint64_t id;
} start_worker;

static void *start_thread(void *arg) {
    start_worker *w = (start_worker *)arg;
    start_shared *sh = w->sh;
    pthread_barrier_wait(&sh->barrier);
    w->status = tonecore_engine_submit_render_f32(sh->e, &sh->pc, &sh->rc, sh->x, sh->len, 77, 1,
                                                  &w->id);
    return NULL;
}

static void test_start_race(void) {
    enum { THREADS = 100 };
    const size_t len = 60 * SR; /* mono, 60 s */
    tonecore_engine *e = new_engine(1, 1, 16u << 20);
    start_shared sh;
    start_worker w[THREADS];
    pthread_t th[THREADS];
    tonecore_engine_stats s0, s;
    tonecore_job_progress p;
    unsigned long ok = 0, already = 0, other = 0, wrong_id = 0;
    uint64_t job = 0;
    float *x = (float *)ref_alloc(len, sizeof(float));
    size_t i;
    double t0 = now_s(), storm;

    check_section("start race: 100 threads submit one job key at once");
    memset(&sh, 0, sizeof sh);
    {
        ref_rng rng = ref_rng_new(3);
        for (i = 0; i < len; i++) {
            x[i] = (float)(0.5 * ref_uniform(&rng));
        }
    }
    if (e == NULL) {
        goto done;
    }
    sh.e = e;
    sh.x = x;
    sh.len = len;
    sh.pc = pipeline_cfg(1, 1, TONECORE_SAMPLE_FORMAT_F32);
    /* 12 000 chunks of 5 ms, each through a fresh EQ pipeline, on one worker: several seconds
     * of work, so the job outlives the storm (checked below: the race proves nothing
     * otherwise); the content id skips hashing. Cancelled right after the storm. */
    sh.rc = render_cfg(0.005, 0.0, 0.0005);
    pthread_barrier_init(&sh.barrier, NULL, THREADS);
    s0 = stats_of(e);
    for (i = 0; i < THREADS; i++) {
        w[i].sh = &sh;
        w[i].status = -1;
        w[i].id = 0;
        if (pthread_create(&th[i], NULL, start_thread, &w[i]) != 0) {
            fprintf(stdout, "cannot start the start race's threads\n");
            exit(1);
        }
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
    }
    storm = now_s() - t0;
    pthread_barrier_destroy(&sh.barrier);
    for (i = 0; i < THREADS; i++) {
        if (w[i].status == TONECORE_STATUS_OK) {
            ok++;
            job = w[i].id;
        }
    }
    for (i = 0; i < THREADS; i++) {
        if (w[i].status == TONECORE_STATUS_ALREADY_RUNNING) {
            already++;
            wrong_id += w[i].id != job;
        } else if (w[i].status != TONECORE_STATUS_OK) {
            other++;
        }
    }
    /* The job must still be running, or the race proved nothing. */
    CHECK_STATUS(tonecore_engine_job_progress(e, job, &p), TONECORE_STATUS_OK);
    CHECK_MSG(p.state == TONECORE_JOB_STATE_RUNNING,
              "the job ended (state %d) before the storm did: make it longer", p.state);
    CHECK_MSG(ok == 1 && already == THREADS - 1 && other == 0,
              "%lu OK, %lu ALREADY_RUNNING, %lu other", ok, already, other);
    CHECK_MSG(wrong_id == 0, "%lu ALREADY_RUNNING carried another id than the running job's",
              wrong_id);
    s = stats_of(e);
    CHECK_EQ_INT(s.jobs_submitted, s0.jobs_submitted + 1);
    CHECK_EQ_INT(s.jobs_held, 1);
    CHECK_STATUS(tonecore_engine_job_cancel(e, job), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_job_wait(e, job, -1.0, &p), TONECORE_STATUS_OK);
    CHECK_EQ_INT(p.state, TONECORE_JOB_STATE_CANCELLED);
    CHECK_STATUS(tonecore_engine_job_take_result_f32(e, job, x, len), TONECORE_STATUS_CANCELLED);
    /* With it over, the key is free again. */
    job = 0;
    CHECK_STATUS(tonecore_engine_submit_render_f32(e, &sh.pc, &sh.rc, x, len, 77, 1, &job),
                 TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_job_release(e, job), TONECORE_STATUS_OK);
    printf("   storm %.3f s, job at %llu of %llu chunks when it ended; %.2f s in all\n", storm,
           (unsigned long long)p.done, (unsigned long long)p.total, now_s() - t0);
done:
    tonecore_engine_free(e);
    free(x);
}

/* ---------------------------------------------------------------------------------------------
 * Disconnect storm
 * ------------------------------------------------------------------------------------------- */

static void *noop_thread(void *arg) {
    return arg;
}

typedef struct disconnect_worker {
    const track *t;
    uint64_t index;
    unsigned count;
    unsigned long bad;
    int32_t first_bad;
} disconnect_worker;

static void *disconnect_thread(void *arg) {
    disconnect_worker *w = (disconnect_worker *)arg;
    unsigned i;
    for (i = 0; i < w->count; i++) {
        uint64_t id = 0;
        double buf[CH * 64];
        size_t n;
        int32_t st = open_on(w->t, w->index * 100 + i % 2, &id);
        if (st == TONECORE_STATUS_OK) {
            st = tonecore_engine_stream_read_f64(w->t->e, id, buf, CH * 64, &n);
        }
        if (st == TONECORE_STATUS_OK) {
            st = tonecore_engine_stream_close(w->t->e, id);
        }
        if (st != TONECORE_STATUS_OK && w->bad++ == 0) {
            w->first_bad = st;
        }
    }
    return NULL;
}

static void test_disconnect_storm(void) {
    enum { THREADS = 4, SLOTS = 8 };
    const size_t frames = 2205;
    double *x = noise(CH * frames, 0.5, 4);
    size_t baseline, with_engine, after, i;
    tonecore_engine *e;
    disconnect_worker w[THREADS];
    pthread_t th[THREADS];
    track t;
    tonecore_engine_stats s;
    uint64_t ids[SLOTS + 1];
    unsigned total = 10000 * rounds();
    double t0 = now_s();

    check_section("disconnect storm: open/close 10 000 times from 4 threads, no thread leak");
    /* One thread started and joined first, so helper threads a sanitizer starts with the first
     * thread (ThreadSanitizer does) are in the baseline. */
    {
        pthread_t th0;
        if (pthread_create(&th0, NULL, noop_thread, NULL) == 0) {
            pthread_join(th0, NULL);
        }
    }
    baseline = settle_threads(thread_count());
    if (baseline == 0) {
        printf("   no /proc/self/task here: skipping the thread accounting\n");
        free(x);
        return;
    }
    e = new_engine(SLOTS, 2, 1u << 20);
    if (e == NULL) {
        free(x);
        return;
    }
    /* The engine's own threads: two pool workers and the event dispatcher. */
    with_engine = settle_threads(baseline + 3);
    CHECK_EQ_SIZE(with_engine, baseline + 3);
    t.e = e;
    t.x = x;
    t.len = CH * frames;
    t.pc = pipeline_cfg(0, CH, TONECORE_SAMPLE_FORMAT_F64);
    t.rc = render_cfg(0.01, 0.0, 0.001);
    for (i = 0; i < THREADS; i++) {
        w[i].t = &t;
        w[i].index = i;
        w[i].count = total / THREADS;
        w[i].bad = 0;
        w[i].first_bad = 0;
        if (pthread_create(&th[i], NULL, disconnect_thread, &w[i]) != 0) {
            fprintf(stdout, "cannot start the disconnect storm's threads\n");
            exit(1);
        }
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_MSG(w[i].bad == 0, "thread %zu: %lu calls failed, first with %d", i, w[i].bad,
                  w[i].first_bad);
    }
    after = settle_threads(with_engine);
    CHECK_MSG(after == with_engine, "threads: %zu with the engine, %zu after the storm",
              with_engine, after);
    s = stats_of(e);
    CHECK_EQ_INT(s.streams_open, 0);
    CHECK_EQ_INT(s.streams_opened, total);
    CHECK_EQ_INT(s.streams_closed, total);
    CHECK(s.cache_bytes <= s.cache_capacity);
    /* Every slot is free. */
    for (i = 0; i < SLOTS; i++) {
        ids[i] = 0;
        CHECK_STATUS(open_on(&t, 1000 + i, &ids[i]), TONECORE_STATUS_OK);
    }
    CHECK_STATUS(open_on(&t, 2000, &ids[SLOTS]), TONECORE_STATUS_BUSY);
    /* Freeing the engine with its streams open joins every thread it started. */
    tonecore_engine_free(e);
    after = settle_threads(baseline);
    CHECK_MSG(after == baseline, "threads: %zu before the engine, %zu after freeing it", baseline,
              after);
    printf("   %u open/close cycles in %.2f s; threads %zu -> %zu with the engine -> %zu\n", total,
           now_s() - t0, baseline, with_engine, after);
    free(x);
}

/* ---------------------------------------------------------------------------------------------
 * Callback race
 * ------------------------------------------------------------------------------------------- */

static atomic_ulong callback_violations;

/* One churned subscription's state. */
typedef struct churn_sub {
    atomic_int gone; /* set once unsubscribe returned */
    atomic_ullong last_seq;
    atomic_ulong calls;
} churn_sub;

static int32_t churn_cb(void *user_data, const tonecore_event *e) {
    churn_sub *s = (churn_sub *)user_data;
    if (atomic_load(&s->gone)) {
        atomic_fetch_add(&callback_violations, 1); /* called after unsubscribe returned */
    }
    if (atomic_exchange(&s->last_seq, e->seq) >= e->seq) {
        atomic_fetch_add(&callback_violations, 1); /* a repeat, or out of order */
    }
    atomic_fetch_add(&s->calls, 1);
    return 0;
}

/* The permanent subscriber: only the dispatcher writes it; read after flush. */
typedef struct permanent_sub {
    atomic_ullong count, last_seq, bad_order;
} permanent_sub;

static int32_t permanent_cb(void *user_data, const tonecore_event *e) {
    permanent_sub *p = (permanent_sub *)user_data;
    if (atomic_exchange(&p->last_seq, e->seq) >= e->seq) {
        atomic_fetch_add(&p->bad_order, 1);
    }
    atomic_fetch_add(&p->count, 1);
    return 0;
}

typedef struct callback_shared {
    track t;
    atomic_int stop;
    uint64_t emitted_before;
    unsigned min_rounds;
} callback_shared;

typedef struct emitter_worker {
    callback_shared *sh;
    uint64_t index;
    unsigned long bad;
    int32_t first_bad;
} emitter_worker;

static void *emitter_thread(void *arg) {
    emitter_worker *w = (emitter_worker *)arg;
    uint64_t i = 0;
    while (!atomic_load(&w->sh->stop)) {
        uint64_t id = 0;
        int32_t st = open_on(&w->sh->t, w->index * 1000000 + i % 2, &id);
        if (st == TONECORE_STATUS_OK) {
            st = tonecore_engine_stream_close(w->sh->t.e, id);
        }
        if (st != TONECORE_STATUS_OK && w->bad++ == 0) {
            w->first_bad = st;
        }
        i++;
    }
    return NULL;
}

typedef struct churner_worker {
    callback_shared *sh;
    churn_sub **kept; /* subscriptions kept (not freed) until the end */
    size_t n_kept, cap_kept;
    unsigned long subscriptions, bad;
    int32_t first_bad;
} churner_worker;

static void *churner_thread(void *arg) {
    churner_worker *w = (churner_worker *)arg;
    callback_shared *sh = w->sh;
    unsigned i = 0;
    for (;;) {
        tonecore_engine_stats s;
        churn_sub *sub;
        uint64_t token = 0;
        int32_t st;
        memset(&s, 0, sizeof s);
        s.struct_size = sizeof s;
        tonecore_engine_get_stats(sh->t.e, &s);
        /* Churn until enough events were emitted during the churn to mean something. */
        if (i >= sh->min_rounds && s.events_emitted - sh->emitted_before >= 1000) {
            break;
        }
        if (i >= 100000) {
            break;
        }
        i++;
        sub = (churn_sub *)ref_alloc(1, sizeof(churn_sub));
        /* Stores, not atomic_init: they order the allocation before the dispatcher's loads. */
        atomic_store(&sub->gone, 0);
        atomic_store(&sub->last_seq, 0);
        atomic_store(&sub->calls, 0);
        st = tonecore_engine_subscribe(sh->t.e, TONECORE_EVENTS_ALL, churn_cb, sub, &token);
        if (st != TONECORE_STATUS_OK) {
            if (w->bad++ == 0) {
                w->first_bad = st;
            }
            free(sub);
            continue;
        }
        w->subscriptions++;
        sleep_us(200);
        st = tonecore_engine_unsubscribe(sh->t.e, token);
        if (st != TONECORE_STATUS_OK && w->bad++ == 0) {
            w->first_bad = st;
        }
        atomic_store(&sub->gone, 1);
        if (i % 2 == 0 && w->n_kept < w->cap_kept) {
            w->kept[w->n_kept++] = sub; /* checked for late calls by its `gone` flag */
        } else {
            free(sub); /* at once: a later call is a use after free (ASan) */
        }
    }
    return NULL;
}

static void test_callback_race(void) {
    enum { EMITTERS = 3, CHURNERS = 3 };
    const size_t frames = 441;
    double *x = noise(CH * frames, 0.5, 5);
    tonecore_engine *e = new_engine(8, 1, 1u << 20);
    callback_shared sh;
    emitter_worker ew[EMITTERS];
    churner_worker cw[CHURNERS];
    pthread_t et[EMITTERS], ct[CHURNERS];
    permanent_sub perm;
    uint64_t token = 0, emitted;
    unsigned long subs = 0;
    size_t i, k;
    double t0 = now_s();

    check_section("callback race: subscribe/unsubscribe churn while streams open and close");
    memset(&sh, 0, sizeof sh);
    atomic_init(&callback_violations, 0);
    atomic_store(&perm.count, 0);
    atomic_store(&perm.last_seq, 0);
    atomic_store(&perm.bad_order, 0);
    if (e == NULL) {
        free(x);
        return;
    }
    sh.t.e = e;
    sh.t.x = x;
    sh.t.len = CH * frames;
    sh.t.pc = pipeline_cfg(0, CH, TONECORE_SAMPLE_FORMAT_F64);
    sh.t.rc = render_cfg(0.005, 0.0, 0.0005);
    sh.min_rounds = 150 * rounds();
    atomic_init(&sh.stop, 0);
    sh.emitted_before = stats_of(e).events_emitted;
    CHECK_STATUS(tonecore_engine_subscribe(e, TONECORE_EVENTS_ALL, permanent_cb, &perm, &token),
                 TONECORE_STATUS_OK);
    for (i = 0; i < EMITTERS; i++) {
        ew[i].sh = &sh;
        ew[i].index = i;
        ew[i].bad = 0;
        ew[i].first_bad = 0;
        if (pthread_create(&et[i], NULL, emitter_thread, &ew[i]) != 0) {
            fprintf(stdout, "cannot start the callback race's threads\n");
            exit(1);
        }
    }
    for (i = 0; i < CHURNERS; i++) {
        cw[i].sh = &sh;
        cw[i].cap_kept = 100000;
        cw[i].kept = (churn_sub **)ref_alloc(cw[i].cap_kept, sizeof(churn_sub *));
        cw[i].n_kept = 0;
        cw[i].subscriptions = 0;
        cw[i].bad = 0;
        cw[i].first_bad = 0;
        if (pthread_create(&ct[i], NULL, churner_thread, &cw[i]) != 0) {
            fprintf(stdout, "cannot start the callback race's threads\n");
            exit(1);
        }
    }
    for (i = 0; i < CHURNERS; i++) {
        pthread_join(ct[i], NULL);
    }
    atomic_store(&sh.stop, 1);
    for (i = 0; i < EMITTERS; i++) {
        pthread_join(et[i], NULL);
        CHECK_MSG(ew[i].bad == 0, "emitter %zu: %lu calls failed, first with %d", i, ew[i].bad,
                  ew[i].first_bad);
    }
    CHECK_STATUS(tonecore_engine_flush_events(e), TONECORE_STATUS_OK);
    for (i = 0; i < CHURNERS; i++) {
        CHECK_MSG(cw[i].bad == 0, "churner %zu: %lu calls failed, first with %d", i, cw[i].bad,
                  cw[i].first_bad);
        subs += cw[i].subscriptions;
    }
    CHECK_MSG(atomic_load(&callback_violations) == 0,
              "%lu calls after unsubscribe returned, repeated or out of order",
              atomic_load(&callback_violations));
    emitted = stats_of(e).events_emitted - sh.emitted_before;
    CHECK_MSG(emitted >= 1000, "too few events to mean anything: %llu", (unsigned long long)emitted);
    CHECK_MSG(atomic_load(&perm.count) == emitted,
              "the permanent subscriber got %llu of %llu events",
              (unsigned long long)atomic_load(&perm.count), (unsigned long long)emitted);
    CHECK_EQ_INT(atomic_load(&perm.bad_order), 0);
    CHECK_EQ_INT(stats_of(e).subscriptions, 1);
    CHECK_STATUS(tonecore_engine_unsubscribe(e, token), TONECORE_STATUS_OK);
    printf("   %lu churned subscriptions, %llu events, in %.2f s\n", subs,
           (unsigned long long)emitted, now_s() - t0);
    tonecore_engine_free(e);
    for (i = 0; i < CHURNERS; i++) {
        for (k = 0; k < cw[i].n_kept; k++) {
            free(cw[i].kept[k]);
        }
        free(cw[i].kept);
    }
    free(x);
}

/* ---------------------------------------------------------------------------------------------
 * Stats race
 * ------------------------------------------------------------------------------------------- */

typedef struct stats_shared {
    track t;
    atomic_int stop;
} stats_shared;

typedef struct stats_worker {
    stats_shared *sh;
    uint64_t index;
    double *out; /* a job's result */
    unsigned long bad, jobs;
    int32_t first_bad;
} stats_worker;

static void stats_note(stats_worker *w, int32_t st, int32_t ok1, int32_t ok2) {
    if (st != TONECORE_STATUS_OK && st != ok1 && st != ok2 && w->bad++ == 0) {
        w->first_bad = st;
    }
}

static void *stats_thread(void *arg) {
    stats_worker *w = (stats_worker *)arg;
    stats_shared *sh = w->sh;
    const tonecore_engine *e = sh->t.e;
    uint64_t i = 0;
    double buf[CH * 512];
    while (!atomic_load(&sh->stop)) {
        uint64_t id = 0, job = 0;
        size_t n;
        int32_t st = tonecore_engine_open_stream_f64(e, w->index * 10 + i % 3, &sh->t.pc,
                                                     &sh->t.rc, sh->t.x, sh->t.len, 0, 0.0, &id);
        stats_note(w, st, TONECORE_STATUS_BUSY, TONECORE_STATUS_OK);
        if (st == TONECORE_STATUS_OK) {
            st = tonecore_engine_stream_read_f64(e, id, buf, CH * 512, &n);
            stats_note(w, st, TONECORE_STATUS_OK, TONECORE_STATUS_OK);
            if (i % 2 == 0) {
                stats_note(w, tonecore_engine_stream_close(e, id), TONECORE_STATUS_OK,
                           TONECORE_STATUS_OK);
            }
        }
        if (i % 5 == 0) {
            st = tonecore_engine_submit_render_f64(e, &sh->t.pc, &sh->t.rc, sh->t.x, sh->t.len,
                                                   100 + w->index, 0, &job);
            stats_note(w, st, TONECORE_STATUS_OK, TONECORE_STATUS_OK);
            if (st == TONECORE_STATUS_OK) {
                w->jobs++;
                if (i % 2 == 0) {
                    stats_note(w, tonecore_engine_job_cancel(e, job), TONECORE_STATUS_OK,
                               TONECORE_STATUS_OK);
                }
                stats_note(w, tonecore_engine_job_wait(e, job, -1.0, NULL), TONECORE_STATUS_OK,
                           TONECORE_STATUS_OK);
                if (i % 3 == 0) {
                    stats_note(w, tonecore_engine_job_release(e, job), TONECORE_STATUS_OK,
                               TONECORE_STATUS_OK);
                } else {
                    /* CANCELLED when the cancel came in time. */
                    stats_note(w, tonecore_engine_job_take_result_f64(e, job, w->out, sh->t.len),
                               TONECORE_STATUS_CANCELLED, TONECORE_STATUS_OK);
                }
            }
        }
        i++;
    }
    return NULL;
}

static void test_stats_race(void) {
    enum { THREADS = 4 };
    const size_t frames = SR;
    double *x = noise(CH * frames, 0.5, 6);
    tonecore_engine *e = new_engine(3, 2, 4u << 20);
    stats_shared sh;
    stats_worker w[THREADS];
    pthread_t th[THREADS];
    tonecore_engine_stats prev, s;
    unsigned long snapshots = 0, bad_open = 0, bad_cap = 0, bad_jobs = 0, bad_cache = 0,
                  backwards = 0, jobs = 0;
    double start, deadline;
    size_t i;

    check_section("stats race: snapshot invariants while streams and jobs come and go");
    memset(&sh, 0, sizeof sh);
    if (e == NULL) {
        free(x);
        return;
    }
    sh.t.e = e;
    sh.t.x = x;
    sh.t.len = CH * frames;
    sh.t.pc = pipeline_cfg(1, CH, TONECORE_SAMPLE_FORMAT_F64);
    sh.t.rc = render_cfg(0.25, 0.1, 0.02);
    atomic_init(&sh.stop, 0);
    prev = stats_of(e);
    for (i = 0; i < THREADS; i++) {
        w[i].sh = &sh;
        w[i].index = i;
        w[i].bad = 0;
        w[i].jobs = 0;
        w[i].first_bad = 0;
        w[i].out = (double *)ref_alloc(sh.t.len, sizeof(double));
        if (pthread_create(&th[i], NULL, stats_thread, &w[i]) != 0) {
            fprintf(stdout, "cannot start the stats race's threads\n");
            exit(1);
        }
    }
    /* At least 1.5 s (x rounds), and on until the cap was hit, the cache hit and jobs ran (a
     * slow build, e.g. under a race detector, takes longer to get there; at most 120 s). */
    start = now_s();
    deadline = start + 1.5 * rounds();
    for (;;) {
        double t = now_s();
        if (t > start + 120.0 ||
            (t >= deadline && prev.busy_refusals > 0 && prev.cache_hits > 0 &&
             prev.streams_opened >= 20 && prev.jobs_done > 0 && prev.jobs_cancelled > 0)) {
            break;
        }
        memset(&s, 0, sizeof s);
        s.struct_size = sizeof s;
        if (tonecore_engine_get_stats(e, &s) != TONECORE_STATUS_OK) {
            bad_open++;
            break;
        }
        snapshots++;
        if (s.streams_open > s.max_streams || s.streams_peak > s.max_streams) {
            bad_cap++;
        }
        if (s.streams_open != s.streams_opened - s.streams_replaced - s.streams_closed) {
            if (bad_open++ == 0) {
                printf("   open %llu != opened %llu - replaced %llu - closed %llu\n",
                       (unsigned long long)s.streams_open, (unsigned long long)s.streams_opened,
                       (unsigned long long)s.streams_replaced,
                       (unsigned long long)s.streams_closed);
            }
        }
        if (s.jobs_submitted != s.jobs_running + s.jobs_done + s.jobs_cancelled + s.jobs_failed) {
            if (bad_jobs++ == 0) {
                printf("   submitted %llu != running %llu + done %llu + cancelled %llu + failed "
                       "%llu\n",
                       (unsigned long long)s.jobs_submitted, (unsigned long long)s.jobs_running,
                       (unsigned long long)s.jobs_done, (unsigned long long)s.jobs_cancelled,
                       (unsigned long long)s.jobs_failed);
            }
        }
        if (s.cache_bytes > s.cache_capacity) {
            bad_cache++;
        }
        backwards += s.streams_opened < prev.streams_opened ||
                     s.streams_replaced < prev.streams_replaced ||
                     s.streams_closed < prev.streams_closed ||
                     s.streams_peak < prev.streams_peak || s.busy_refusals < prev.busy_refusals ||
                     s.underrun_frames < prev.underrun_frames ||
                     s.jobs_submitted < prev.jobs_submitted || s.jobs_done < prev.jobs_done ||
                     s.jobs_cancelled < prev.jobs_cancelled || s.jobs_failed < prev.jobs_failed ||
                     s.frames_rendered < prev.frames_rendered ||
                     s.chunks_rendered < prev.chunks_rendered || s.cache_hits < prev.cache_hits ||
                     s.cache_misses < prev.cache_misses ||
                     s.cache_evictions < prev.cache_evictions ||
                     s.events_emitted < prev.events_emitted;
        prev = s;
        sleep_us(100);
    }
    atomic_store(&sh.stop, 1);
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_MSG(w[i].bad == 0, "worker %zu: %lu calls failed, first with %d", i, w[i].bad,
                  w[i].first_bad);
        jobs += w[i].jobs;
        free(w[i].out);
    }
    CHECK_MSG(snapshots > 10, "only %lu snapshots", snapshots);
    CHECK_MSG(bad_cap == 0, "%lu snapshots above the cap", bad_cap);
    CHECK_MSG(bad_open == 0, "%lu snapshots where open streams do not add up", bad_open);
    CHECK_MSG(bad_jobs == 0, "%lu snapshots where jobs do not add up", bad_jobs);
    CHECK_MSG(bad_cache == 0, "%lu snapshots with the cache above its capacity", bad_cache);
    CHECK_MSG(backwards == 0, "%lu snapshots where a counter went backwards", backwards);
    s = stats_of(e);
    CHECK_EQ_INT(s.jobs_running, 0);
    CHECK_EQ_INT(s.jobs_failed, 0);
    CHECK_EQ_INT(s.jobs_submitted, jobs);
    CHECK_EQ_INT(s.jobs_held, 0);
    CHECK_MSG(s.streams_opened >= 20 && s.busy_refusals > 0 && s.cache_hits > 0 &&
                  s.jobs_done > 0 && s.jobs_cancelled > 0,
              "the race did too little: %llu opened, %llu BUSY, %llu cache hits, %llu jobs done, "
              "%llu cancelled",
              (unsigned long long)s.streams_opened, (unsigned long long)s.busy_refusals,
              (unsigned long long)s.cache_hits, (unsigned long long)s.jobs_done,
              (unsigned long long)s.jobs_cancelled);
    printf("   %lu snapshots; %llu streams opened, %llu BUSY, %lu jobs (%llu cancelled)\n",
           snapshots, (unsigned long long)s.streams_opened, (unsigned long long)s.busy_refusals,
           jobs, (unsigned long long)s.jobs_cancelled);
    tonecore_engine_free(e);
    free(x);
}

/* TONECORE_STRESS_ONLY=<name> runs one scenario (disconnect, replace, cap, start, callback,
 * stats); unset runs all. */
static int selected(const char *name) {
    const char *only = getenv("TONECORE_STRESS_ONLY");
    return only == NULL || only[0] == '\0' || strcmp(only, name) == 0;
}

int main(void) {
    size_t b;
    for (b = 0; b < BANDS; b++) {
        eq_gains[b] = (double)((int)(b % 5) - 2) * 2.0;
    }
    printf("   TONECORE_STRESS_ROUNDS=%u\n", rounds());
    /* First: the thread baseline is cleanest before anything else. */
    if (selected("disconnect")) {
        test_disconnect_storm();
    }
    if (selected("replace")) {
        test_replace_storm();
    }
    if (selected("cap")) {
        test_cap_storm();
    }
    if (selected("start")) {
        test_start_race();
    }
    if (selected("callback")) {
        test_callback_race();
    }
    if (selected("stats")) {
        test_stats_race();
    }
    return check_finish();
}
