/*
 * test_basics.c — versions, status strings, the thread-local last-error message and the panic
 * guard (tonecore_debug_panic).
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* Every status the header declares, with its number (numbers are never reused). */
static const struct {
    int32_t code;
    int32_t number;
    const char *name;
} statuses[] = {
    {TONECORE_STATUS_OK, 0, "OK"},
    {TONECORE_STATUS_NULL_POINTER, 1, "NULL_POINTER"},
    {TONECORE_STATUS_INVALID_ARGUMENT, 2, "INVALID_ARGUMENT"},
    {TONECORE_STATUS_INVALID_LENGTH, 3, "INVALID_LENGTH"},
    {TONECORE_STATUS_BUFFER_TOO_SMALL, 4, "BUFFER_TOO_SMALL"},
    {TONECORE_STATUS_NON_FINITE, 5, "NON_FINITE"},
    {TONECORE_STATUS_UNKNOWN_WINDOW, 6, "UNKNOWN_WINDOW"},
    {TONECORE_STATUS_INVALID_FFT_SIZE, 7, "INVALID_FFT_SIZE"},
    {TONECORE_STATUS_INVALID_HOP, 8, "INVALID_HOP"},
    {TONECORE_STATUS_STRUCT_SIZE, 9, "STRUCT_SIZE"},
    {TONECORE_STATUS_WRONG_FORMAT, 10, "WRONG_FORMAT"},
    {TONECORE_STATUS_NOT_INVERTIBLE, 11, "NOT_INVERTIBLE"},
    {TONECORE_STATUS_BUFFERS_OVERLAP, 12, "BUFFERS_OVERLAP"},
    {TONECORE_STATUS_INVALID_SAMPLE_RATE, 13, "INVALID_SAMPLE_RATE"},
    {TONECORE_STATUS_INVALID_CHANNELS, 14, "INVALID_CHANNELS"},
    {TONECORE_STATUS_BLOCK_TOO_LARGE, 15, "BLOCK_TOO_LARGE"},
    {TONECORE_STATUS_INVALID_BANDS, 16, "INVALID_BANDS"},
    {TONECORE_STATUS_GAIN_COUNT, 17, "GAIN_COUNT"},
    {TONECORE_STATUS_INVALID_CEILING, 18, "INVALID_CEILING"},
    {TONECORE_STATUS_INVALID_TIME, 19, "INVALID_TIME"},
    {TONECORE_STATUS_INVALID_TARGET, 20, "INVALID_TARGET"},
    {TONECORE_STATUS_INVALID_CHUNK, 21, "INVALID_CHUNK"},
    {TONECORE_STATUS_CONCURRENT_USE, 100, "CONCURRENT_USE"},
    {TONECORE_STATUS_POISONED, 101, "POISONED"},
    {TONECORE_STATUS_CANCELLED, 102, "CANCELLED"},
    {TONECORE_STATUS_INVALID_PROFILE, 22, "INVALID_PROFILE"},
    {TONECORE_STATUS_PROFILE_VERSION, 23, "PROFILE_VERSION"},
    {TONECORE_STATUS_INVALID_PARTITION, 24, "INVALID_PARTITION"},
    {TONECORE_STATUS_BUSY, 103, "BUSY"},
    {TONECORE_STATUS_STALE_ID, 104, "STALE_ID"},
    {TONECORE_STATUS_ALREADY_RUNNING, 105, "ALREADY_RUNNING"},
    {TONECORE_STATUS_TIMEOUT, 106, "TIMEOUT"},
    {TONECORE_STATUS_NOT_FINISHED, 107, "NOT_FINISHED"},
    {TONECORE_STATUS_PANIC, 200, "PANIC"},
    {TONECORE_STATUS_OUT_OF_MEMORY, 201, "OUT_OF_MEMORY"},
    {TONECORE_STATUS_THREAD_POOL, 202, "THREAD_POOL"},
};
#define STATUS_COUNT (sizeof statuses / sizeof statuses[0])

/* Case-insensitive substring search. */
static int contains_ci(const char *haystack, const char *needle) {
    size_t h, n, hl = strlen(haystack), nl = strlen(needle);
    for (h = 0; h + nl <= hl; h++) {
        for (n = 0; n < nl; n++) {
            if (tolower((unsigned char)haystack[h + n]) != tolower((unsigned char)needle[n])) {
                break;
            }
        }
        if (n == nl) {
            return 1;
        }
    }
    return 0;
}

static void test_versions(void) {
    char expected[64];
    const char *v = tonecore_version_string();
    int major = -1, minor = -1, patch = -1, consumed = 0;
    size_t prefix;

    check_section("versions");
    CHECK_EQ_INT(tonecore_abi_version(), TONECORE_ABI_VERSION);
    CHECK(v != NULL);
    if (v == NULL) {
        return;
    }
    CHECK_STR_EQ(v, TONECORE_VERSION);
    CHECK(tonecore_version_string() == v); /* static storage: the same pointer each time */
    CHECK_EQ_INT(sscanf(v, "%d.%d.%d%n", &major, &minor, &patch, &consumed), 3);
    CHECK_EQ_INT(major, TONECORE_VERSION_MAJOR);
    CHECK_EQ_INT(minor, TONECORE_VERSION_MINOR);
    CHECK_EQ_INT(patch, TONECORE_VERSION_PATCH);
    /* Only a pre-release/build suffix may follow MAJOR.MINOR.PATCH. */
    CHECK_MSG(v[consumed] == '\0' || v[consumed] == '-' || v[consumed] == '+',
              "trailing text \"%s\"", v + consumed);
    snprintf(expected, sizeof expected, "%d.%d.%d", TONECORE_VERSION_MAJOR,
             TONECORE_VERSION_MINOR, TONECORE_VERSION_PATCH);
    prefix = strlen(expected);
    CHECK_MSG(strncmp(TONECORE_VERSION, expected, prefix) == 0,
              "TONECORE_VERSION \"%s\" vs macros \"%s\"", TONECORE_VERSION, expected);
}

static void test_status_strings(void) {
    static const int32_t unknown[] = {-1, 25, 99, 108, 199, 203, 299, 1000, INT32_MAX,
                                      INT32_MIN};
    size_t i, j;

    check_section("tonecore_status_str");
    for (i = 0; i < STATUS_COUNT; i++) {
        const char *s = tonecore_status_str(statuses[i].code);
        CHECK_MSG(statuses[i].code == statuses[i].number, "%s is %d, documented %d",
                  statuses[i].name, (int)statuses[i].code, (int)statuses[i].number);
        CHECK_MSG(s != NULL && s[0] != '\0', "%s", statuses[i].name);
        if (s == NULL) {
            continue;
        }
        CHECK_MSG(strcmp(s, "unknown status") != 0, "%s is described as unknown",
                  statuses[i].name);
        CHECK_MSG(tonecore_status_str(statuses[i].code) == s, "%s: not a static string",
                  statuses[i].name);
        for (j = 0; j < i; j++) {
            const char *t = tonecore_status_str(statuses[j].code);
            CHECK_MSG(t == NULL || strcmp(s, t) != 0, "%s and %s share \"%s\"",
                      statuses[i].name, statuses[j].name, s);
        }
    }
    CHECK_STR_EQ(tonecore_status_str(TONECORE_STATUS_OK), "ok");
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK_STR_EQ(tonecore_status_str(unknown[i]), "unknown status");
    }
}

static void *other_thread_message(void *arg) {
    const char **out = (const char **)arg;
    const char *m = tonecore_last_error_message();
    /* Copy the verdict, not the pointer: the string belongs to this thread. */
    *out = (m != NULL && m[0] == '\0') ? "empty" : "not empty";
    return NULL;
}

static void test_last_error(void) {
    float w[4];
    const char *m;
    const char *other = NULL;
    pthread_t thread;

    check_section("tonecore_last_error_message");
    m = tonecore_last_error_message();
    CHECK(m != NULL && m[0] == '\0'); /* nothing has failed on this thread yet */

    CHECK_STATUS(tonecore_window_fill_f32(TONECORE_WINDOW_HANN, w, 4), TONECORE_STATUS_OK);
    m = tonecore_last_error_message();
    CHECK_STR_EQ(m, "");

    CHECK_STATUS(tonecore_window_fill_f32(TONECORE_WINDOW_HANN, NULL, 4),
                 TONECORE_STATUS_NULL_POINTER);
    m = tonecore_last_error_message();
    CHECK(m != NULL && m[0] != '\0');

    /* Thread-local: another thread does not see this thread's failure. */
    CHECK_EQ_INT(pthread_create(&thread, NULL, other_thread_message, &other), 0);
    CHECK_EQ_INT(pthread_join(thread, NULL), 0);
    CHECK_STR_EQ(other, "empty");
    m = tonecore_last_error_message();
    CHECK(m != NULL && m[0] != '\0'); /* still set here */

    CHECK_STATUS(tonecore_window_fill_f32(99, w, 4), TONECORE_STATUS_UNKNOWN_WINDOW);
    m = tonecore_last_error_message();
    CHECK(m != NULL && m[0] != '\0');

    /* A success clears it again. */
    CHECK_STATUS(tonecore_window_fill_f32(TONECORE_WINDOW_HANN, w, 4), TONECORE_STATUS_OK);
    CHECK_STR_EQ(tonecore_last_error_message(), "");

    /* Queries and config_init are fallible functions too. */
    CHECK_STATUS(tonecore_stft_config_init(NULL), TONECORE_STATUS_NULL_POINTER);
    m = tonecore_last_error_message();
    CHECK(m != NULL && m[0] != '\0');
    {
        tonecore_stft_config c;
        CHECK_STATUS(tonecore_stft_config_init(&c), TONECORE_STATUS_OK);
        CHECK_STR_EQ(tonecore_last_error_message(), "");
    }
}

static void test_panic(void) {
    const char *m;
    double w[8];
    int round;

    check_section("tonecore_debug_panic: a status and a detail, nothing on the host's stderr");
    /* Even with backtraces asked for, a panic inside tonecore prints nothing: stderr goes to a
     * temporary file for the two calls and must stay empty. */
    setenv("RUST_BACKTRACE", "1", 1);
    fflush(stderr);
    FILE *captured = tmpfile();
    int saved = dup(2);
    CHECK(captured != NULL && saved >= 0);
    if (captured != NULL) dup2(fileno(captured), 2);
    for (round = 0; round < 2; round++) {
        CHECK_STATUS(tonecore_debug_panic(), TONECORE_STATUS_PANIC);
        m = tonecore_last_error_message();
        CHECK(m != NULL);
        if (m != NULL) {
            CHECK_MSG(contains_ci(m, "panic") && strstr(m, "version.rs") != NULL,
                      "message \"%s\" (with where it happened)", m);
        }
        /* The process survived and the library still works. */
        CHECK_STATUS(tonecore_window_fill_f64(TONECORE_WINDOW_HANN, w, 8), TONECORE_STATUS_OK);
        CHECK(w[4] == 1.0);
        CHECK_STR_EQ(tonecore_last_error_message(), "");
    }
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
    if (captured != NULL) {
        long written;
        fseek(captured, 0, SEEK_END);
        written = ftell(captured);
        CHECK_MSG(written == 0, "the panics wrote %ld bytes to stderr", written);
        fclose(captured);
    }
    unsetenv("RUST_BACKTRACE");
}

int main(void) {
    test_versions();
    test_status_strings();
    test_last_error();
    test_panic();
    return check_finish();
}
