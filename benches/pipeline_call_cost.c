/* Native cost of one tonecore_pipeline_process_f32 call, the baseline of the per-call overhead
 * row of benches/compare_python.py (which compiles and runs this program).
 *
 * Usage: pipeline_call_cost LIBRARY BLOCK.f32 CALLS ROUNDS GAIN_DB x25
 *
 * LIBRARY is the libtonecore file to dlopen (the one the Python package loads, so both sides
 * time the same build); BLOCK.f32 holds one planar stereo block of 256 frames as native
 * float32 (2 x 256 values). The pipeline is EQ (25 critical bands, the given gains) -> level
 * matcher (-14 LUFS) -> limiter (-1 dBFS), 44.1 kHz, max_block 256: the configuration the
 * script gives tonecore.Pipeline. After 2000 warm-up calls, each of ROUNDS rounds times CALLS
 * calls on the same block into a preallocated output; prints one line per round
 * ("round <i> <ns per call>") and "median_ns <value>".
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tonecore.h"

#define CHANNELS 2
#define FRAMES 256
#define BANDS 25

/* The library's functions, resolved from LIBRARY with the header's prototypes. */
static __typeof__(&tonecore_abi_version) p_abi_version;
static __typeof__(&tonecore_pipeline_config_init) p_config_init;
static __typeof__(&tonecore_pipeline_new) p_new;
static __typeof__(&tonecore_pipeline_process_f32) p_process;
static __typeof__(&tonecore_pipeline_free) p_free;
static __typeof__(&tonecore_status_str) p_status_str;

static void *resolve(void *lib, const char *name) {
    void *f = dlsym(lib, name);
    if (f == NULL) {
        fprintf(stderr, "pipeline_call_cost: %s not found: %s\n", name, dlerror());
        exit(2);
    }
    return f;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 5 + BANDS) {
        fprintf(stderr, "usage: %s LIBRARY BLOCK.f32 CALLS ROUNDS GAIN_DB x%d\n", argv[0], BANDS);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "pipeline_call_cost: cannot load %s: %s\n", argv[1], dlerror());
        return 2;
    }
    *(void **)&p_abi_version = resolve(lib, "tonecore_abi_version");
    *(void **)&p_config_init = resolve(lib, "tonecore_pipeline_config_init");
    *(void **)&p_new = resolve(lib, "tonecore_pipeline_new");
    *(void **)&p_process = resolve(lib, "tonecore_pipeline_process_f32");
    *(void **)&p_free = resolve(lib, "tonecore_pipeline_free");
    *(void **)&p_status_str = resolve(lib, "tonecore_status_str");
    if (p_abi_version() != TONECORE_ABI_VERSION) {
        fprintf(stderr, "pipeline_call_cost: library ABI %u, header ABI %u\n", p_abi_version(),
                (unsigned)TONECORE_ABI_VERSION);
        return 2;
    }

    static float in[CHANNELS * FRAMES], out[CHANNELS * FRAMES];
    FILE *f = fopen(argv[2], "rb");
    if (f == NULL || fread(in, sizeof(float), CHANNELS * FRAMES, f) != CHANNELS * FRAMES) {
        fprintf(stderr, "pipeline_call_cost: cannot read %d floats from %s\n",
                CHANNELS * FRAMES, argv[2]);
        return 2;
    }
    fclose(f);
    long calls = strtol(argv[3], NULL, 10), rounds = strtol(argv[4], NULL, 10);
    if (calls < 1 || rounds < 1 || rounds > 1000) {
        fprintf(stderr, "pipeline_call_cost: CALLS >= 1 and 1 <= ROUNDS <= 1000\n");
        return 2;
    }
    double gains[BANDS];
    for (int b = 0; b < BANDS; b++) gains[b] = strtod(argv[5 + b], NULL);

    tonecore_pipeline_config cfg;
    p_config_init(&cfg);
    cfg.sample_rate = 44100;
    cfg.channels = CHANNELS;
    cfg.max_block = FRAMES;
    cfg.sample_format = TONECORE_SAMPLE_FORMAT_F32;
    cfg.eq_enabled = 1;
    cfg.eq_gains_db = gains;
    cfg.eq_gains_len = BANDS;
    cfg.level_enabled = 1;
    cfg.target_lufs = -14.0;
    cfg.limiter_enabled = 1;
    cfg.ceiling_db = -1.0;
    tonecore_pipeline *p = NULL;
    tonecore_status st = p_new(&cfg, &p);
    if (st != TONECORE_STATUS_OK) {
        fprintf(stderr, "pipeline_call_cost: tonecore_pipeline_new: %s\n", p_status_str(st));
        return 1;
    }

    for (int i = 0; i < 2000; i++) p_process(p, in, CHANNELS * FRAMES, out, CHANNELS * FRAMES);
    double per_call[1000];
    for (long r = 0; r < rounds; r++) {
        double t0 = now_ns();
        for (long i = 0; i < calls; i++) {
            st = p_process(p, in, CHANNELS * FRAMES, out, CHANNELS * FRAMES);
            if (st != TONECORE_STATUS_OK) {
                fprintf(stderr, "pipeline_call_cost: process: %s\n", p_status_str(st));
                return 1;
            }
        }
        per_call[r] = (now_ns() - t0) / (double)calls;
        printf("round %ld %.1f\n", r, per_call[r]);
    }
    qsort(per_call, (size_t)rounds, sizeof(double), cmp_double);
    double median = rounds % 2 ? per_call[rounds / 2]
                               : 0.5 * (per_call[rounds / 2 - 1] + per_call[rounds / 2]);
    printf("median_ns %.1f\n", median);
    p_free(p);
    dlclose(lib);
    return 0;
}
