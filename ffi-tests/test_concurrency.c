/*
 * test_concurrency.c — one tonecore_stft shared by several threads, and one object per thread.
 *
 * A shared single-threaded object (threads = 1) used from 4 threads at once: each call either
 * succeeds with exactly the single-threaded result or returns TONECORE_STATUS_CONCURRENT_USE
 * having written nothing; never anything else, and some calls succeed. Objects of their own
 * (threads = 1, and threads = 0 sharing the library's global pool) always succeed.
 *
 * Worker threads only record what they saw; every CHECK runs on the main thread (check.h is not
 * thread-safe).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "ref.h"

#define THREADS 4
#define ITERATIONS 250
#define N 256
#define HOP 64
#define LEN 4096
#define BINS (N / 2 + 1)
#define FRAMES (1 + (LEN - N) / HOP)
#define SPEC (FRAMES * BINS)
#define OUT_LEN ((FRAMES - 1) * HOP + N)

/* Single-threaded reference results, computed before any thread starts. */
static double input[LEN];
static tonecore_complex_f64 expected_spec[SPEC];
static double expected_signal[OUT_LEN];

typedef struct result {
    unsigned ok;            /* OK with the expected output */
    unsigned concurrent;    /* CONCURRENT_USE with nothing written and a detail message */
    unsigned wrong_output;  /* OK but the output or the count differs */
    unsigned wrote_on_busy; /* CONCURRENT_USE but something was written / no message */
    unsigned other;         /* any other status */
    int32_t other_status;   /* the first such status */
    int setup_failed;       /* a per-thread object could not be created */
} result;

typedef struct job {
    tonecore_stft *shared; /* NULL: the thread makes its own object with `threads` */
    uint32_t threads;
    int inverse;           /* run the inverse transform instead of the forward one */
    pthread_barrier_t *start;
    result r;
} job;

static tonecore_stft *new_stft(uint32_t threads) {
    tonecore_stft_config c;
    tonecore_stft *s = NULL;
    if (tonecore_stft_config_init(&c) != TONECORE_STATUS_OK) {
        return NULL;
    }
    c.fft_size = N;
    c.hop = HOP;
    c.sample_format = TONECORE_SAMPLE_FORMAT_F64;
    c.threads = threads;
    if (tonecore_stft_new(&c, &s) != TONECORE_STATUS_OK) {
        return NULL;
    }
    return s;
}

static void record(result *r, int32_t st, int output_ok, int untouched) {
    if (st == TONECORE_STATUS_OK) {
        if (output_ok) {
            r->ok++;
        } else {
            r->wrong_output++;
        }
    } else if (st == TONECORE_STATUS_CONCURRENT_USE) {
        if (untouched && tonecore_last_error_message()[0] != '\0') {
            r->concurrent++;
        } else {
            r->wrote_on_busy++;
        }
    } else {
        if (r->other == 0) {
            r->other_status = st;
        }
        r->other++;
    }
}

static void *worker(void *arg) {
    job *j = (job *)arg;
    tonecore_stft *s = j->shared ? j->shared : new_stft(j->threads);
    tonecore_complex_f64 *spec = (tonecore_complex_f64 *)ref_alloc(SPEC, sizeof *spec);
    double *signal = (double *)ref_alloc(OUT_LEN, sizeof(double));
    int i;

    if (s == NULL) {
        j->r.setup_failed = 1;
    }
    pthread_barrier_wait(j->start);
    for (i = 0; s != NULL && i < ITERATIONS; i++) {
        size_t count = sentinel_size();
        int32_t st;
        if (!j->inverse) {
            sentinel_fill(spec, SPEC * sizeof *spec);
            st = tonecore_stft_forward_f64(s, input, LEN, 1, spec, SPEC, &count);
            record(&j->r, st,
                   count == FRAMES && memcmp(spec, expected_spec, sizeof expected_spec) == 0,
                   count == sentinel_size() && sentinel_intact(spec, SPEC * sizeof *spec));
        } else {
            sentinel_fill(signal, OUT_LEN * sizeof(double));
            st = tonecore_stft_inverse_f64(s, expected_spec, SPEC, 1, signal, OUT_LEN, &count);
            record(&j->r, st,
                   count == OUT_LEN && memcmp(signal, expected_signal, sizeof expected_signal) == 0,
                   count == sentinel_size() && sentinel_intact(signal, OUT_LEN * sizeof(double)));
        }
    }
    if (j->shared == NULL) {
        tonecore_stft_free(s);
    }
    free(spec);
    free(signal);
    return NULL;
}

/* Runs THREADS jobs (all on `shared`, or each on its own object) and checks the outcomes. */
static void run_jobs(const char *label, tonecore_stft *shared, uint32_t threads, int mix_inverse) {
    pthread_t tids[THREADS];
    job jobs[THREADS];
    pthread_barrier_t start;
    result total;
    int t;

    check_section(label);
    memset(&total, 0, sizeof total);
    CHECK_EQ_INT(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (t = 0; t < THREADS; t++) {
        memset(&jobs[t], 0, sizeof jobs[t]);
        jobs[t].shared = shared;
        jobs[t].threads = threads;
        jobs[t].inverse = mix_inverse && (t % 2 == 1);
        jobs[t].start = &start;
        CHECK_EQ_INT(pthread_create(&tids[t], NULL, worker, &jobs[t]), 0);
    }
    for (t = 0; t < THREADS; t++) {
        result *r = &jobs[t].r;
        CHECK_EQ_INT(pthread_join(tids[t], NULL), 0);
        CHECK_MSG(!r->setup_failed, "%s thread %d: could not create its object", label, t);
        CHECK_MSG(r->wrong_output == 0, "%s thread %d: %u successful calls with wrong output",
                  label, t, r->wrong_output);
        CHECK_MSG(r->wrote_on_busy == 0,
                  "%s thread %d: %u CONCURRENT_USE calls wrote output or set no message", label, t,
                  r->wrote_on_busy);
        CHECK_MSG(r->other == 0, "%s thread %d: %u calls returned other statuses, first %d (%s)",
                  label, t, r->other, (int)r->other_status, check_status_name(r->other_status));
        CHECK_MSG(r->ok + r->concurrent == ITERATIONS, "%s thread %d: %u + %u calls of %d",
                  label, t, r->ok, r->concurrent, ITERATIONS);
        if (shared == NULL) {
            CHECK_MSG(r->concurrent == 0, "%s thread %d: own object reported CONCURRENT_USE %u times",
                      label, t, r->concurrent);
        }
        total.ok += r->ok;
        total.concurrent += r->concurrent;
    }
    pthread_barrier_destroy(&start);
    CHECK_MSG(total.ok > 0, "%s: no call succeeded", label);
    if (shared == NULL) {
        CHECK_EQ_INT(total.ok, THREADS * ITERATIONS);
    }
    printf("   %u calls OK, %u CONCURRENT_USE\n", total.ok, total.concurrent);
}

int main(void) {
    ref_rng rng = ref_rng_new(99);
    tonecore_stft *s;
    size_t i, count = 0;

    for (i = 0; i < LEN; i++) {
        input[i] = ref_uniform(&rng);
    }
    check_section("single-threaded reference results");
    s = new_stft(1);
    CHECK(s != NULL);
    if (s == NULL) {
        return check_finish();
    }
    CHECK_STATUS(tonecore_stft_forward_f64(s, input, LEN, 1, expected_spec, SPEC, &count),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(count, FRAMES);
    CHECK_STATUS(tonecore_stft_inverse_f64(s, expected_spec, SPEC, 1, expected_signal, OUT_LEN,
                                           &count),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(count, OUT_LEN);
    /* The reference itself is right (so "identical to it" means correct). */
    {
        double w[N], *re = (double *)ref_alloc(SPEC, sizeof(double));
        double *im = (double *)ref_alloc(SPEC, sizeof(double));
        double err = 0.0;
        ref_window_fill(TONECORE_WINDOW_HANN, w, N);
        ref_stft(input, LEN, w, N, HOP, 0, FRAMES, re, im);
        CHECK_LE(ref_rel_err_f64(expected_spec, re, im, SPEC), 1e-12);
        for (i = N; i < OUT_LEN - N; i++) {
            err = ref_max_err(err, fabs(expected_signal[i] - input[i]));
        }
        CHECK_LE(err, 1e-12);
        free(re);
        free(im);
    }

    run_jobs("one shared object (threads=1), 4 threads calling forward", s, 1, 0);
    run_jobs("one shared object (threads=1), 4 threads mixing forward and inverse", s, 1, 1);
    /* After all that contention the object is neither poisoned nor stuck in use. */
    CHECK_STATUS(tonecore_stft_forward_f64(s, input, LEN, 1, expected_spec, SPEC, &count),
                 TONECORE_STATUS_OK);
    tonecore_stft_free(s);

    run_jobs("an object per thread (threads=1)", NULL, 1, 1);
    run_jobs("an object per thread (threads=0, the shared global pool)", NULL, 0, 1);
    run_jobs("an object per thread (threads=2, a shared pool of 2)", NULL, 2, 0);
    return check_finish();
}
