/*
 * host.c — a real-time C host for tonecore: a WAV file streams through a tonecore_pipeline
 * (EQ -> level matcher -> limiter) in 256-frame blocks on an "audio" thread paced like a sound
 * card, while a "control" thread changes the EQ gains and the level target every 100 ms; the
 * result is written to a WAV file and the pipeline's statistics are printed.
 *
 *   host IN.wav OUT.wav [--target LUFS] [--ceiling dBFS] [--speed X] [--low-latency]
 *
 * --low-latency runs 64-frame blocks with the low-latency EQ (minimum phase, partitioned at the
 * block: `phase = TONECORE_PHASE_MINIMUM`, `partition = tonecore_low_latency_partition(64)`):
 * the chain's latency drops from 3072 + 104 frames to 64 + 104 at 48 kHz (3.5 ms), what a
 * monitoring or live host needs.
 *
 * --speed X runs both clocks X times faster than real time (the test command uses it to keep
 * the run short); the audio thread still waits for each block's deadline. The output has the
 * input's format (16-bit PCM or 32-bit float), channels and length: the pipeline's latency is
 * compensated by feeding `latency` frames of silence after the input and dropping the first
 * `latency` output frames.
 *
 * What a host must get right, and where this one does it:
 *  - the audio thread calls only audio-safe functions (tonecore_pipeline_process_*), never
 *    allocates, locks, prints or waits on the control thread; failures are counted in atomics;
 *  - parameter changes go through a tonecore_params handle owned by the control thread;
 *  - statistics are read from the control thread (tonecore_params_stats is one snapshot);
 *  - objects are freed after both threads have been joined.
 *
 * Build in the tree: `make -C examples/c` (after `make lib`); against an installed tonecore:
 *   cc -std=c11 host.c wav.c $(pkg-config --cflags --libs tonecore) -lpthread -lm -o host
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tonecore.h"
#include "wav.h"

#define BLOCK 256
#define LOW_LATENCY_BLOCK 64
#define CONTROL_PERIOD_S 0.1
#define MAX_BANDS 64

typedef struct host {
    /* Set up before the threads start; read-only afterwards. */
    const float *input;  /* interleaved, (frames + latency) * channels, zero-padded */
    float *output;       /* interleaved, same size; written only by the audio thread */
    size_t total_frames; /* frames + latency */
    size_t block;        /* frames per process call */
    size_t channels;
    uint32_t sample_rate;
    double speed;
    double target_lufs;
    size_t bands;
    tonecore_pipeline *pipeline; /* audio thread only */
    tonecore_params *params;     /* control thread only */

    /* Shared between the threads. */
    atomic_int done;
    atomic_uint audio_errors;
    atomic_int first_error;
    atomic_ulong blocks_done;

    /* Owned by one thread each, read after join. */
    unsigned late_blocks;      /* audio: a block finished after its deadline */
    double worst_block_us;     /* audio: longest process call */
    unsigned control_changes;  /* control */
    unsigned control_errors;   /* control */
} host;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static struct timespec to_timespec(double s) {
    struct timespec t;
    t.tv_sec = (time_t)s;
    t.tv_nsec = (long)((s - (double)t.tv_sec) * 1e9);
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* Sleeps until the absolute CLOCK_MONOTONIC time `deadline` (seconds). */
static void sleep_until(double deadline) {
    struct timespec t = to_timespec(deadline);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {
    }
}

/* The audio thread: one block per period, audio-safe calls only. */
static void *audio_thread(void *arg) {
    host *h = (host *)arg;
    const size_t block = h->block;
    const double period = (double)block / (double)h->sample_rate / h->speed;
    double deadline = now_s();
    size_t pos;

    for (pos = 0; pos < h->total_frames; pos += block) {
        size_t n = h->total_frames - pos < block ? h->total_frames - pos : block;
        const float *in = h->input + pos * h->channels;
        float *out = h->output + pos * h->channels;
        double t0 = now_s(), took;
        tonecore_status st = tonecore_pipeline_process_interleaved_f32(
            h->pipeline, in, n * h->channels, out, n * h->channels);
        took = now_s() - t0;
        if (st != TONECORE_STATUS_OK) {
            int none = 0;
            atomic_fetch_add(&h->audio_errors, 1u);
            atomic_compare_exchange_strong(&h->first_error, &none, (int)st);
        }
        if (took * 1e6 > h->worst_block_us) {
            h->worst_block_us = took * 1e6;
        }
        atomic_store(&h->blocks_done, (unsigned long)(pos / block + 1));
        deadline += period;
        if (now_s() > deadline) {
            h->late_blocks++;
        } else {
            sleep_until(deadline);
        }
    }
    atomic_store(&h->done, 1);
    return NULL;
}

/* The control thread: every 100 ms a new EQ tilt (+-3 dB) and a target within +-0.5 LU of the
 * requested one; a statistics line every second. */
static void *control_thread(void *arg) {
    host *h = (host *)arg;
    const double period = CONTROL_PERIOD_S / h->speed;
    double deadline = now_s(), gains[MAX_BANDS];
    unsigned k = 0;
    size_t b;

    while (!atomic_load(&h->done)) {
        deadline += period;
        sleep_until(deadline);
        if (atomic_load(&h->done)) {
            break;
        }
        k++;
        for (b = 0; b < h->bands; b++) {
            double tilt = 3.0 * sin(0.7 * (double)k);
            gains[b] = tilt * ((double)b - (double)(h->bands - 1) / 2.0) /
                       ((double)(h->bands - 1) / 2.0);
        }
        if (tonecore_params_set_eq_gains(h->params, gains, h->bands) != TONECORE_STATUS_OK ||
            tonecore_params_set_level_target(h->params, h->target_lufs + 0.5 * (double)(k % 3) -
                                                            0.5) != TONECORE_STATUS_OK) {
            fprintf(stderr, "control: %s\n", tonecore_last_error_message());
            h->control_errors++;
        }
        h->control_changes++;
        if (k % 10 == 0) {
            tonecore_pipeline_stats s;
            s.struct_size = sizeof s;
            if (tonecore_params_stats(h->params, &s) == TONECORE_STATUS_OK) {
                printf("  t=%5.2f s  level gain %+6.2f dB  loudness %6.1f LUFS  limiter %+6.2f dB\n",
                       (double)s.frames / h->sample_rate, s.level_gain_db, s.loudness_lufs,
                       s.limiter_gain_db);
                fflush(stdout);
            }
        }
    }
    return NULL;
}

static int usage(void) {
    fprintf(stderr, "usage: host IN.wav OUT.wav [--target LUFS] [--ceiling dBFS] [--speed X] "
                    "[--low-latency]\n");
    return 2;
}

int main(int argc, char **argv) {
    double target = -16.0, ceiling = -1.0, speed = 1.0;
    char error[256];
    wav_audio in, out;
    tonecore_pipeline_config cfg;
    tonecore_pipeline_stats stats;
    host h;
    pthread_t audio, control;
    size_t latency = 0, block = BLOCK, i, n;
    int low_latency = 0;
    float *padded, *processed, *planar;
    double peak = 0.0, lufs = 0.0;
    int a, rc = 0;

    if (argc < 3) {
        return usage();
    }
    for (a = 3; a < argc; a += 2) {
        if (strcmp(argv[a], "--low-latency") == 0) {
            low_latency = 1;
            block = LOW_LATENCY_BLOCK;
            a--; /* a flag: no value */
        } else if (a + 1 == argc) {
            return usage();
        } else if (strcmp(argv[a], "--target") == 0) {
            target = atof(argv[a + 1]);
        } else if (strcmp(argv[a], "--ceiling") == 0) {
            ceiling = atof(argv[a + 1]);
        } else if (strcmp(argv[a], "--speed") == 0) {
            speed = atof(argv[a + 1]);
        } else {
            return usage();
        }
    }
    if (a != argc || !(speed > 0.0)) {
        return usage();
    }
    if (tonecore_abi_version() != TONECORE_ABI_VERSION) {
        fprintf(stderr, "libtonecore ABI %u, header %d\n", tonecore_abi_version(),
                TONECORE_ABI_VERSION);
        return 1;
    }
    if (wav_read(argv[1], &in, error, sizeof error) != 0) {
        fprintf(stderr, "%s\n", error);
        return 1;
    }
    printf("%s: %u ch, %u Hz, %.2f s, %s\n", argv[1], in.channels, in.sample_rate,
           (double)in.frames / in.sample_rate, in.format == WAV_PCM16 ? "16-bit" : "float");

    tonecore_pipeline_config_init(&cfg);
    cfg.sample_rate = in.sample_rate;
    cfg.channels = in.channels;
    cfg.max_block = block;
    if (low_latency) {
        cfg.phase = TONECORE_PHASE_MINIMUM;
        cfg.partition = tonecore_low_latency_partition(block);
    }
    cfg.eq_enabled = 1;
    cfg.level_enabled = 1;
    /* A streaming host sees the audio block by block, as live input: the momentary leveller
     * (the integrated mode needs the whole track, as tonecore_normalize_* and the streams have). */
    cfg.level_mode = TONECORE_LEVEL_MODE_MOMENTARY;
    cfg.target_lufs = target;
    cfg.release_ms = 1000.0; /* follow a quiet track up within a few seconds */
    cfg.limiter_enabled = 1;
    cfg.ceiling_db = ceiling;

    memset(&h, 0, sizeof h);
    if (tonecore_pipeline_new(&cfg, &h.pipeline) != TONECORE_STATUS_OK ||
        tonecore_pipeline_params(h.pipeline, &h.params) != TONECORE_STATUS_OK ||
        tonecore_pipeline_latency(h.pipeline, &latency) != TONECORE_STATUS_OK ||
        tonecore_layout_bands(TONECORE_LAYOUT_CRITICAL, NULL, 0, &h.bands) !=
            TONECORE_STATUS_OK) {
        fprintf(stderr, "tonecore: %s\n", tonecore_last_error_message());
        tonecore_params_free(h.params);
        tonecore_pipeline_free(h.pipeline);
        wav_free(&in);
        return 1;
    }

    /* Everything the audio thread touches is allocated here, before it starts. */
    h.total_frames = in.frames + latency;
    h.block = block;
    h.channels = in.channels;
    h.sample_rate = in.sample_rate;
    h.speed = speed;
    h.target_lufs = target;
    padded = (float *)calloc(h.total_frames * h.channels, sizeof(float));
    processed = (float *)calloc(h.total_frames * h.channels, sizeof(float));
    planar = (float *)malloc(in.frames * h.channels * sizeof(float) + 1);
    if (padded == NULL || processed == NULL || planar == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    memcpy(padded, in.samples, in.frames * h.channels * sizeof(float));
    h.input = padded;
    h.output = processed;
    atomic_init(&h.done, 0);
    atomic_init(&h.audio_errors, 0u);
    atomic_init(&h.first_error, 0);
    atomic_init(&h.blocks_done, 0ul);

    printf("pipeline: %s EQ -> level (%.1f LUFS) -> limiter (%.1f dBFS), %zu-frame blocks, "
           "latency %zu frames (%.2f ms), speed x%g\n",
           low_latency ? "minimum-phase partitioned" : "linear-phase", target, ceiling, block,
           latency, 1e3 * (double)latency / in.sample_rate, speed);
    if (pthread_create(&audio, NULL, audio_thread, &h) != 0 ||
        pthread_create(&control, NULL, control_thread, &h) != 0) {
        fprintf(stderr, "cannot start threads\n");
        return 1;
    }
    pthread_join(audio, NULL);
    pthread_join(control, NULL);

    stats.struct_size = sizeof stats;
    if (tonecore_params_stats(h.params, &stats) != TONECORE_STATUS_OK) {
        fprintf(stderr, "stats: %s\n", tonecore_last_error_message());
        rc = 1;
    }

    /* Drop the latency; measure the result with tonecore's own meter (planar input). */
    out.sample_rate = in.sample_rate;
    out.channels = in.channels;
    out.format = in.format;
    out.frames = in.frames;
    out.samples = processed + latency * h.channels;
    for (i = 0; i < in.frames; i++) {
        for (n = 0; n < h.channels; n++) {
            float v = out.samples[i * h.channels + n];
            planar[n * in.frames + i] = v;
            peak = fabs((double)v) > peak ? fabs((double)v) : peak;
        }
    }
    if (tonecore_loudness_integrated_f32(planar, in.frames * h.channels, h.channels,
                                         in.sample_rate, &lufs) != TONECORE_STATUS_OK) {
        fprintf(stderr, "loudness: %s\n", tonecore_last_error_message());
        rc = 1;
    }
    if (wav_write(argv[2], &out, error, sizeof error) != 0) {
        fprintf(stderr, "%s\n", error);
        rc = 1;
    }

    printf("stats: frames %llu, non-finite %llu, level gain %+.2f dB, loudness estimate %.1f LUFS, "
           "limiter gain %+.2f dB (max reduction %.2f dB), eq %s, level %s, limiter %s\n",
           (unsigned long long)stats.frames, (unsigned long long)stats.nonfinite,
           stats.level_gain_db, stats.loudness_lufs, stats.limiter_gain_db,
           stats.limiter_max_reduction_db, stats.eq_bypassed ? "bypassed" : "on",
           stats.level_bypassed ? "bypassed" : "on", stats.limiter_bypassed ? "bypassed" : "on");
    printf("audio thread: %lu blocks, %u late, worst block %.0f us (period %.0f us), %u errors\n",
           atomic_load(&h.blocks_done), h.late_blocks, h.worst_block_us,
           1e6 * (double)block / in.sample_rate / speed, atomic_load(&h.audio_errors));
    printf("control thread: %u parameter changes, %u errors\n", h.control_changes,
           h.control_errors);
    printf("output: %zu frames, peak %.4f (%.2f dBFS), integrated %.2f LUFS -> %s\n", out.frames,
           peak, 20.0 * log10(peak > 0.0 ? peak : 1e-12), lufs, argv[2]);
    if (atomic_load(&h.audio_errors) != 0) {
        fprintf(stderr, "audio errors: first %s\n",
                tonecore_status_str(atomic_load(&h.first_error)));
        rc = 1;
    }
    if (h.control_errors != 0) {
        rc = 1;
    }

    tonecore_params_free(h.params);
    tonecore_pipeline_free(h.pipeline);
    free(padded);
    free(processed);
    free(planar);
    wav_free(&in);
    return rc;
}
