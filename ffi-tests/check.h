/*
 * check.h — a tiny test framework for the tonecore C test suite.
 *
 * Every CHECK* macro counts one check as passed or failed; a failure prints the file, line,
 * expression and the values involved. A test program ends with `return check_finish();`, which
 * prints the closing line `N passed, N failed` alone on a line and returns non-zero when any
 * check failed. ffi-tests/Makefile sums these lines over all programs.
 *
 * Compiles as C99 and as C++11 (header_check.c includes it in both languages). Not
 * thread-safe: run checks on the main thread and only collect results in worker threads.
 */
#ifndef TONECORE_FFI_CHECK_H
#define TONECORE_FFI_CHECK_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tonecore.h"

/* One counter pair per program (each program is a single translation unit). */
static unsigned long check_passed_count = 0;
static unsigned long check_failed_count = 0;

#if defined(__GNUC__)
#define CHECK_PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define CHECK_PRINTF_LIKE(f, a)
#endif

/* Records one check. `fmt` (may be NULL) describes the values involved in a failure. */
static inline int check_record(int ok, const char *file, int line, const char *expr,
                               const char *fmt, ...) CHECK_PRINTF_LIKE(5, 6);
static inline int check_record(int ok, const char *file, int line, const char *expr,
                               const char *fmt, ...) {
    if (ok) {
        check_passed_count++;
        return 1;
    }
    check_failed_count++;
    fprintf(stdout, "FAIL %s:%d: %s", file, line, expr);
    if (fmt != NULL) {
        va_list ap;
        fputs(" -- ", stdout);
        va_start(ap, fmt);
        vfprintf(stdout, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stdout);
    fflush(stdout);
    return 0;
}

/* Prints a section heading (keeps the logs readable). */
static inline void check_section(const char *name) {
    fprintf(stdout, "-- %s\n", name);
    fflush(stdout);
}

/* Prints the closing line and returns the program's exit status. */
static inline int check_finish(void) {
    fflush(stderr);
    fprintf(stdout, "%lu passed, %lu failed\n", check_passed_count, check_failed_count);
    fflush(stdout);
    return check_failed_count == 0 ? 0 : 1;
}

/* A readable name for a status code (the enumerator name), for failure messages. */
static inline const char *check_status_name(long long s) {
    switch (s) {
    case TONECORE_STATUS_OK: return "OK";
    case TONECORE_STATUS_NULL_POINTER: return "NULL_POINTER";
    case TONECORE_STATUS_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case TONECORE_STATUS_INVALID_LENGTH: return "INVALID_LENGTH";
    case TONECORE_STATUS_BUFFER_TOO_SMALL: return "BUFFER_TOO_SMALL";
    case TONECORE_STATUS_NON_FINITE: return "NON_FINITE";
    case TONECORE_STATUS_UNKNOWN_WINDOW: return "UNKNOWN_WINDOW";
    case TONECORE_STATUS_INVALID_FFT_SIZE: return "INVALID_FFT_SIZE";
    case TONECORE_STATUS_INVALID_HOP: return "INVALID_HOP";
    case TONECORE_STATUS_STRUCT_SIZE: return "STRUCT_SIZE";
    case TONECORE_STATUS_WRONG_FORMAT: return "WRONG_FORMAT";
    case TONECORE_STATUS_NOT_INVERTIBLE: return "NOT_INVERTIBLE";
    case TONECORE_STATUS_BUFFERS_OVERLAP: return "BUFFERS_OVERLAP";
    case TONECORE_STATUS_INVALID_SAMPLE_RATE: return "INVALID_SAMPLE_RATE";
    case TONECORE_STATUS_INVALID_CHANNELS: return "INVALID_CHANNELS";
    case TONECORE_STATUS_BLOCK_TOO_LARGE: return "BLOCK_TOO_LARGE";
    case TONECORE_STATUS_INVALID_BANDS: return "INVALID_BANDS";
    case TONECORE_STATUS_GAIN_COUNT: return "GAIN_COUNT";
    case TONECORE_STATUS_INVALID_CEILING: return "INVALID_CEILING";
    case TONECORE_STATUS_INVALID_TIME: return "INVALID_TIME";
    case TONECORE_STATUS_INVALID_TARGET: return "INVALID_TARGET";
    case TONECORE_STATUS_INVALID_CHUNK: return "INVALID_CHUNK";
    case TONECORE_STATUS_CANCELLED: return "CANCELLED";
    case TONECORE_STATUS_CONCURRENT_USE: return "CONCURRENT_USE";
    case TONECORE_STATUS_BUSY: return "BUSY";
    case TONECORE_STATUS_STALE_ID: return "STALE_ID";
    case TONECORE_STATUS_ALREADY_RUNNING: return "ALREADY_RUNNING";
    case TONECORE_STATUS_TIMEOUT: return "TIMEOUT";
    case TONECORE_STATUS_NOT_FINISHED: return "NOT_FINISHED";
    case TONECORE_STATUS_POISONED: return "POISONED";
    case TONECORE_STATUS_PANIC: return "PANIC";
    case TONECORE_STATUS_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
    case TONECORE_STATUS_THREAD_POOL: return "THREAD_POOL";
    case TONECORE_STATUS_INVALID_PROFILE: return "INVALID_PROFILE";
    case TONECORE_STATUS_PROFILE_VERSION: return "PROFILE_VERSION";
    default: return "?";
    }
}

/* A plain boolean check. */
#define CHECK(cond) \
    ((void)check_record(!!(cond), __FILE__, __LINE__, #cond, NULL))

/* A boolean check with a printf-style description of the values on failure. */
#define CHECK_MSG(cond, ...) \
    ((void)check_record(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__))

/* Two integers (any integer type up to 64 bits) are equal. */
#define CHECK_EQ_INT(a, b)                                                              \
    do {                                                                                \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                  \
        (void)check_record(check_a_ == check_b_, __FILE__, __LINE__, #a " == " #b,       \
                           "%lld != %lld", check_a_, check_b_);                          \
    } while (0)

/* Two sizes are equal. */
#define CHECK_EQ_SIZE(a, b)                                                             \
    do {                                                                                \
        size_t check_a_ = (size_t)(a), check_b_ = (size_t)(b);                           \
        (void)check_record(check_a_ == check_b_, __FILE__, __LINE__, #a " == " #b,       \
                           "%zu != %zu", check_a_, check_b_);                            \
    } while (0)

/* A call returns the expected status; a mismatch prints both names and the detail message. */
#define CHECK_STATUS(call, expected)                                                    \
    do {                                                                                \
        long long check_got_ = (long long)(call);                                       \
        long long check_want_ = (long long)(expected);                                  \
        (void)check_record(check_got_ == check_want_, __FILE__, __LINE__,               \
                           #call " == " #expected,                                       \
                           "got %lld (%s), want %lld (%s); last error: \"%s\"",          \
                           check_got_, check_status_name(check_got_), check_want_,       \
                           check_status_name(check_want_),                              \
                           tonecore_last_error_message());                               \
    } while (0)

/* Two NUL-terminated strings are equal (NULL never equals anything). */
#define CHECK_STR_EQ(a, b)                                                              \
    do {                                                                                \
        const char *check_a_ = (a), *check_b_ = (b);                                     \
        int check_ok_ = check_a_ != NULL && check_b_ != NULL && strcmp(check_a_, check_b_) == 0; \
        (void)check_record(check_ok_, __FILE__, __LINE__, #a " == " #b,                  \
                           "\"%s\" != \"%s\"", check_a_ ? check_a_ : "(NULL)",           \
                           check_b_ ? check_b_ : "(NULL)");                              \
    } while (0)

/* A double is at most `limit` (error bounds); NaN fails. */
#define CHECK_LE(value, limit)                                                          \
    do {                                                                                \
        double check_v_ = (double)(value), check_l_ = (double)(limit);                   \
        (void)check_record(check_v_ <= check_l_, __FILE__, __LINE__, #value " <= " #limit, \
                           "%.6g > %.6g", check_v_, check_l_);                           \
    } while (0)

/* --- Sentinel helpers: prove that a refused call wrote nothing. --- */

#define CHECK_SENTINEL_BYTE 0xA5

/* Fills `bytes` bytes at `p` with the sentinel pattern. */
static inline void sentinel_fill(void *p, size_t bytes) {
    memset(p, CHECK_SENTINEL_BYTE, bytes);
}

/* Non-zero when all `bytes` bytes at `p` still hold the sentinel pattern. */
static inline int sentinel_intact(const void *p, size_t bytes) {
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < bytes; i++) {
        if (b[i] != CHECK_SENTINEL_BYTE) {
            return 0;
        }
    }
    return 1;
}

/* The size_t value whose bytes are all the sentinel (for out-parameters). */
static inline size_t sentinel_size(void) {
    size_t v;
    sentinel_fill(&v, sizeof v);
    return v;
}

#endif /* TONECORE_FFI_CHECK_H */
