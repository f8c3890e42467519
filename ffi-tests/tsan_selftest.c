/*
 * tsan_selftest.c — proves the ThreadSanitizer lane can see races, on both sides of the ABI.
 * Run only by the TSan lane (ffi-tests/Makefile `tsan`), which expects each mode to FAIL with a
 * "data race" report:
 *
 *   tsan_selftest c     two C threads write one int without synchronisation;
 *   tsan_selftest lib   a tonecore call writes a buffer (inside the Rust library, compiled with
 *                       -Zsanitizer=thread) while a C thread reads it.
 *
 * If either run came back clean, the lane's instrumentation or runtime would be broken (for
 * example a library built without -Zsanitizer=thread, whose accesses TSan cannot see), and the
 * lane's clean results would mean nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tonecore.h"

#define LEN 4096

static int shared_int;
static double shared_buf[LEN];
static pthread_barrier_t start;

/* Many unsynchronised increments (through a volatile pointer, so the compiler keeps each):
 * one racing pair was reported in only about 4 runs of 5. */
static void bump(void) {
    volatile int *p = &shared_int;
    int k;
    for (k = 0; k < 10000; k++) {
        *p = *p + 1;
    }
}

static void *c_writer(void *arg) {
    (void)arg;
    pthread_barrier_wait(&start);
    bump();
    return NULL;
}

static void *lib_writer(void *arg) {
    (void)arg;
    pthread_barrier_wait(&start);
    /* Writes all of shared_buf from inside the library. */
    (void)tonecore_window_fill_f64(TONECORE_WINDOW_HANN, shared_buf, LEN);
    return NULL;
}

int main(int argc, char **argv) {
    pthread_t t;
    double sum = 0.0;
    int i, lib = argc > 1 && strcmp(argv[1], "lib") == 0;

    pthread_barrier_init(&start, NULL, 2);
    pthread_create(&t, NULL, lib ? lib_writer : c_writer, NULL);
    pthread_barrier_wait(&start);
    if (lib) {
        for (i = 0; i < LEN; i++) {
            sum += shared_buf[i];
        }
    } else {
        bump();
    }
    pthread_join(t, NULL);
    pthread_barrier_destroy(&start);
    printf("no race reported (%d, %g)\n", shared_int, sum);
    return 0;
}
