/*
 * test_pipeline_threads.c — a tonecore_pipeline processing on an audio thread while two control
 * threads change every parameter and a fourth thread reads statistics, for about a second.
 *
 * Audio thread: 256-frame stereo blocks of full-scale noise, back to back; every call must return
 * OK, every output sample must be finite and, while the limiter stays enabled, within the
 * largest ceiling ever set (-1 dBFS; the control threads set -1..-5 dBFS).
 * Control threads: set_eq_gains (all bands one value per call, an integer in -6..+6 dB),
 * set_level_target, set_ceiling_db and set_bypass in a loop; every call must return OK. One of
 * them uses its own params handle, created and freed on that thread.
 * Stats thread: every snapshot must be consistent — frames never decreases and is a multiple of
 * 256, eq_bands == 25, all eq_gains_db equal (one kernel's gains: a torn snapshot would mix two
 * kernels) and one of the values set, bypass flags 0/1, limiter_max_reduction_db <= 0 and never
 * rising, nothing non-finite counted.
 * Two runs: the limiter always enabled (f32 object, ceiling checked on every sample), then the
 * limiter's bypass toggled too (f64 object, interleaved, outputs checked finite).
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
#define NOISE_FRAMES (SR * 2)

typedef struct shared {
    tonecore_pipeline *pipeline;
    tonecore_params *params; /* shared by the stats thread and control thread 0 */
    int32_t format;
    int interleaved;
    int toggle_limiter; /* control threads also bypass/enable the limiter */
    pthread_mutex_t lock;
    int stop;
    const double *noise; /* planar stereo, NOISE_FRAMES per channel */
} shared;

static int should_stop(shared *sh) {
    int s;
    pthread_mutex_lock(&sh->lock);
    s = sh->stop;
    pthread_mutex_unlock(&sh->lock);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * Audio thread
 * ------------------------------------------------------------------------------------------- */

typedef struct audio_job {
    shared *sh;
    unsigned long blocks;
    unsigned long bad_status;
    int32_t first_bad_status;
    unsigned long nonfinite_out;
    unsigned long above_ceiling;
    double worst;       /* largest |y| seen */
    unsigned long worst_block;
} audio_job;

static void *audio_thread(void *arg) {
    audio_job *j = (audio_job *)arg;
    shared *sh = j->sh;
    const double ceiling = pow(10.0, -1.0 / 20.0);
    float fi[2 * BLOCK], fo[2 * BLOCK];
    double di[2 * BLOCK], dout[2 * BLOCK];
    size_t pos = 0, c, i;

    while (!should_stop(sh)) {
        int32_t st;
        for (c = 0; c < 2; c++) {
            for (i = 0; i < BLOCK; i++) {
                size_t at = sh->interleaved ? i * 2 + c : c * BLOCK + i;
                di[at] = sh->noise[c * NOISE_FRAMES + (pos + i) % NOISE_FRAMES];
                fi[at] = (float)di[at];
            }
        }
        pos = (pos + BLOCK) % NOISE_FRAMES;
        if (sh->format == TONECORE_SAMPLE_FORMAT_F32) {
            st = sh->interleaved
                     ? tonecore_pipeline_process_interleaved_f32(sh->pipeline, fi, 2 * BLOCK, fo,
                                                                 2 * BLOCK)
                     : tonecore_pipeline_process_f32(sh->pipeline, fi, 2 * BLOCK, fo, 2 * BLOCK);
            for (i = 0; i < 2 * BLOCK; i++) {
                dout[i] = (double)fo[i];
            }
        } else {
            st = sh->interleaved
                     ? tonecore_pipeline_process_interleaved_f64(sh->pipeline, di, 2 * BLOCK, dout,
                                                                 2 * BLOCK)
                     : tonecore_pipeline_process_f64(sh->pipeline, di, 2 * BLOCK, dout, 2 * BLOCK);
        }
        if (st != TONECORE_STATUS_OK) {
            if (j->bad_status == 0) {
                j->first_bad_status = st;
            }
            j->bad_status++;
            continue;
        }
        for (i = 0; i < 2 * BLOCK; i++) {
            double v = fabs(dout[i]);
            if (!isfinite(v)) {
                j->nonfinite_out++;
                continue;
            }
            if (v > j->worst) {
                j->worst = v;
                j->worst_block = j->blocks;
            }
            if (!sh->toggle_limiter && v > ceiling) {
                j->above_ceiling++;
            }
        }
        j->blocks++;
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Control threads
 * ------------------------------------------------------------------------------------------- */

typedef struct control_job {
    shared *sh;
    int id;
    unsigned long iterations;
    unsigned long bad_status;
    int32_t first_bad_status;
    const char *first_bad_call;
    int own_handle_failed;
} control_job;

static void control_record(control_job *j, int32_t st, const char *call) {
    if (st != TONECORE_STATUS_OK) {
        if (j->bad_status == 0) {
            j->first_bad_status = st;
            j->first_bad_call = call;
        }
        j->bad_status++;
    }
}

static void *control_thread(void *arg) {
    control_job *j = (control_job *)arg;
    shared *sh = j->sh;
    tonecore_params *h = sh->params;
    double g[BANDS];
    unsigned long i;
    size_t b;

    if (j->id == 1) {
        /* Its own handle, made on this thread while audio runs. */
        h = NULL;
        if (tonecore_pipeline_params(sh->pipeline, &h) != TONECORE_STATUS_OK || h == NULL) {
            j->own_handle_failed = 1;
            return NULL;
        }
    }
    for (i = 0; !should_stop(sh); i++) {
        double v = (double)((long)((i * 5 + (unsigned long)j->id * 3) % 13) - 6);
        for (b = 0; b < BANDS; b++) {
            g[b] = v;
        }
        control_record(j, tonecore_params_set_eq_gains(h, g, BANDS), "set_eq_gains");
        control_record(j, tonecore_params_set_level_target(h, -30.0 + (double)(i % 21)),
                       "set_level_target");
        control_record(j,
                       tonecore_params_set_ceiling_db(
                           h, -1.0 - (double)((i + (unsigned long)j->id) % 5)),
                       "set_ceiling_db");
        control_record(j, tonecore_params_set_bypass(h, TONECORE_STAGE_EQ, (uint32_t)(i % 3 == 2)),
                       "set_bypass(EQ)");
        control_record(j, tonecore_params_set_bypass(h, TONECORE_STAGE_LEVEL, (uint32_t)(i % 2)),
                       "set_bypass(LEVEL)");
        if (sh->toggle_limiter) {
            control_record(j, tonecore_params_set_bypass(h, TONECORE_STAGE_LIMITER,
                                                         (uint32_t)((i / 2) % 2)),
                           "set_bypass(LIMITER)");
        }
        j->iterations++;
    }
    if (j->id == 1) {
        tonecore_params_free(h);
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Stats thread
 * ------------------------------------------------------------------------------------------- */

typedef struct stats_job {
    shared *sh;
    unsigned long snapshots;
    unsigned long violations;
    char first[256]; /* the first violation, described */
    unsigned long distinct_gain_changes;
} stats_job;

static void stats_violation(stats_job *j, const char *what, double a, double b) {
    if (j->violations == 0) {
        snprintf(j->first, sizeof j->first, "snapshot %lu: %s (%.17g, %.17g)", j->snapshots, what,
                 a, b);
    }
    j->violations++;
}

static void *stats_thread(void *arg) {
    stats_job *j = (stats_job *)arg;
    shared *sh = j->sh;
    uint64_t last_frames = 0;
    double last_reduction = 0.0, last_gain = NAN;

    while (!should_stop(sh)) {
        tonecore_pipeline_stats s;
        int32_t st;
        uint32_t b;
        memset(&s, 0, sizeof s);
        s.struct_size = sizeof s;
        st = tonecore_params_stats(sh->params, &s);
        if (st != TONECORE_STATUS_OK) {
            stats_violation(j, "stats status", (double)st, 0.0);
            j->snapshots++;
            continue;
        }
        if (s.frames < last_frames) {
            stats_violation(j, "frames decreased", (double)s.frames, (double)last_frames);
        }
        if (s.frames % BLOCK != 0) {
            stats_violation(j, "frames not a multiple of 256", (double)s.frames, 0.0);
        }
        if (s.eq_bands != BANDS) {
            stats_violation(j, "eq_bands", (double)s.eq_bands, BANDS);
        } else {
            for (b = 1; b < BANDS; b++) {
                if (s.eq_gains_db[b] != s.eq_gains_db[0]) {
                    stats_violation(j, "torn eq_gains_db (band b vs band 0)", s.eq_gains_db[b],
                                    s.eq_gains_db[0]);
                    break;
                }
            }
            if (!(s.eq_gains_db[0] >= -6.0 && s.eq_gains_db[0] <= 6.0 &&
                  s.eq_gains_db[0] == floor(s.eq_gains_db[0]))) {
                stats_violation(j, "eq_gains_db[0] is not a value that was set", s.eq_gains_db[0],
                                0.0);
            }
            if (s.eq_gains_db[0] != last_gain) {
                j->distinct_gain_changes++;
                last_gain = s.eq_gains_db[0];
            }
        }
        if (s.eq_bypassed > 1 || s.level_bypassed > 1 || s.limiter_bypassed > 1) {
            stats_violation(j, "bypass flag not 0/1", (double)s.eq_bypassed,
                            (double)s.limiter_bypassed);
        }
        if (s.nonfinite != 0) {
            stats_violation(j, "nonfinite counted", (double)s.nonfinite, 0.0);
        }
        if (!(s.limiter_max_reduction_db <= 0.0) || s.limiter_max_reduction_db > last_reduction) {
            stats_violation(j, "limiter_max_reduction_db rose or is > 0",
                            s.limiter_max_reduction_db, last_reduction);
        }
        if (!isfinite(s.level_gain_db) || !isfinite(s.limiter_gain_db) ||
            isnan(s.loudness_lufs)) {
            stats_violation(j, "non-finite level/limiter gain", s.level_gain_db,
                            s.limiter_gain_db);
        }
        last_frames = s.frames;
        last_reduction = s.limiter_max_reduction_db;
        j->snapshots++;
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * One run
 * ------------------------------------------------------------------------------------------- */

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void run_case(const char *label, int32_t format, int interleaved, int toggle_limiter,
                     long duration_ms, const double *noise) {
    shared sh;
    tonecore_pipeline_config c;
    audio_job aj;
    control_job cj[2];
    stats_job sj;
    pthread_t ta, tc[2], ts;
    int i, created = 1;

    check_section(label);
    memset(&sh, 0, sizeof sh);
    memset(&aj, 0, sizeof aj);
    memset(cj, 0, sizeof cj);
    memset(&sj, 0, sizeof sj);
    tonecore_pipeline_config_init(&c);
    c.sample_format = format;
    c.max_block = BLOCK;
    c.eq_enabled = 1;
    c.level_enabled = 1;
    c.limiter_enabled = 1;
    c.ceiling_db = -1.0;
    CHECK_STATUS(tonecore_pipeline_new(&c, &sh.pipeline), TONECORE_STATUS_OK);
    if (sh.pipeline == NULL) {
        return;
    }
    CHECK_STATUS(tonecore_pipeline_params(sh.pipeline, &sh.params), TONECORE_STATUS_OK);
    if (sh.params == NULL) {
        tonecore_pipeline_free(sh.pipeline);
        return;
    }
    sh.format = format;
    sh.interleaved = interleaved;
    sh.toggle_limiter = toggle_limiter;
    sh.noise = noise;
    CHECK_EQ_INT(pthread_mutex_init(&sh.lock, NULL), 0);

    aj.sh = &sh;
    sj.sh = &sh;
    for (i = 0; i < 2; i++) {
        cj[i].sh = &sh;
        cj[i].id = i;
    }
    created = created && pthread_create(&ta, NULL, audio_thread, &aj) == 0;
    created = created && pthread_create(&tc[0], NULL, control_thread, &cj[0]) == 0;
    created = created && pthread_create(&tc[1], NULL, control_thread, &cj[1]) == 0;
    created = created && pthread_create(&ts, NULL, stats_thread, &sj) == 0;
    CHECK_MSG(created, "pthread_create failed");
    if (!created) {
        abort(); /* threads may be running on stack objects: do not return */
    }
    sleep_ms(duration_ms);
    pthread_mutex_lock(&sh.lock);
    sh.stop = 1;
    pthread_mutex_unlock(&sh.lock);
    CHECK_EQ_INT(pthread_join(ta, NULL), 0);
    CHECK_EQ_INT(pthread_join(tc[0], NULL), 0);
    CHECK_EQ_INT(pthread_join(tc[1], NULL), 0);
    CHECK_EQ_INT(pthread_join(ts, NULL), 0);
    pthread_mutex_destroy(&sh.lock);

    printf("   audio blocks %lu, control iterations %lu + %lu, stats snapshots %lu "
           "(%lu gain changes seen), peak |y| %.6f\n",
           aj.blocks, cj[0].iterations, cj[1].iterations, sj.snapshots,
           sj.distinct_gain_changes, aj.worst);

    /* Audio thread. */
    CHECK_MSG(aj.bad_status == 0, "%lu process calls failed, first with %s", aj.bad_status,
              check_status_name(aj.first_bad_status));
    CHECK_MSG(aj.nonfinite_out == 0, "%lu non-finite output samples", aj.nonfinite_out);
    if (!toggle_limiter) {
        CHECK_MSG(aj.above_ceiling == 0 && aj.worst <= pow(10.0, -1.0 / 20.0),
                  "%lu output samples above -1 dBFS; largest %.9f in block %lu", aj.above_ceiling,
                  aj.worst, aj.worst_block);
    }
    CHECK_MSG(aj.worst > 0.05, "output (nearly) silent: peak %.6f", aj.worst);
    CHECK_MSG(aj.blocks >= 50, "only %lu audio blocks processed", aj.blocks);
    /* Control threads. */
    for (i = 0; i < 2; i++) {
        CHECK_MSG(!cj[i].own_handle_failed, "control thread %d could not make its params handle",
                  i);
        CHECK_MSG(cj[i].bad_status == 0, "control thread %d: %lu calls failed, first %s -> %s", i,
                  cj[i].bad_status, cj[i].first_bad_call ? cj[i].first_bad_call : "?",
                  check_status_name(cj[i].first_bad_status));
        CHECK_MSG(cj[i].iterations >= 10, "control thread %d: only %lu iterations", i,
                  cj[i].iterations);
    }
    /* Stats thread. */
    CHECK_MSG(sj.violations == 0, "%lu inconsistent snapshots; first: %s", sj.violations,
              sj.first);
    CHECK_MSG(sj.snapshots >= 50, "only %lu snapshots read", sj.snapshots);
    CHECK_MSG(sj.distinct_gain_changes >= 2, "the snapshots never saw the gains change (%lu)",
              sj.distinct_gain_changes);

    /* Afterwards, single-threaded: the last gains set win, and the counts add up. */
    {
        double g[BANDS];
        float fin[2 * BLOCK] = {0}, fout[2 * BLOCK];
        double din[2 * BLOCK] = {0}, dout[2 * BLOCK];
        tonecore_pipeline_stats s;
        int k;
        uint32_t b;
        for (b = 0; b < BANDS; b++) {
            g[b] = 2.0;
        }
        CHECK_STATUS(tonecore_params_set_bypass(sh.params, TONECORE_STAGE_EQ, 0),
                     TONECORE_STATUS_OK);
        CHECK_STATUS(tonecore_params_set_eq_gains(sh.params, g, BANDS), TONECORE_STATUS_OK);
        for (k = 0; k < 60; k++) { /* 15360 frames: several 2048-frame hops and the ramp */
            CHECK_STATUS(format == TONECORE_SAMPLE_FORMAT_F32
                             ? tonecore_pipeline_process_f32(sh.pipeline, fin, 2 * BLOCK, fout,
                                                             2 * BLOCK)
                             : tonecore_pipeline_process_f64(sh.pipeline, din, 2 * BLOCK, dout,
                                                             2 * BLOCK),
                         TONECORE_STATUS_OK);
        }
        memset(&s, 0, sizeof s);
        s.struct_size = sizeof s;
        CHECK_STATUS(tonecore_params_stats(sh.params, &s), TONECORE_STATUS_OK);
        CHECK_MSG(s.frames == (uint64_t)(aj.blocks + 60) * BLOCK, "frames %llu, want %llu",
                  (unsigned long long)s.frames, (unsigned long long)(aj.blocks + 60) * BLOCK);
        CHECK_EQ_INT(s.eq_bands, BANDS);
        CHECK_EQ_INT(s.eq_bypassed, 0);
        for (b = 0; b < BANDS; b++) {
            CHECK_MSG(s.eq_gains_db[b] == 2.0, "final eq_gains_db[%u] = %g, want 2", (unsigned)b,
                      s.eq_gains_db[b]);
        }
        CHECK_MSG(s.limiter_max_reduction_db < -1.0,
                  "full-scale noise: limiter_max_reduction_db %g", s.limiter_max_reduction_db);
    }
    tonecore_params_free(sh.params);
    tonecore_pipeline_free(sh.pipeline);
}

int main(void) {
    double *noise = (double *)ref_alloc(2 * NOISE_FRAMES, sizeof(double));
    ref_rng rng = ref_rng_new(123);
    size_t i;
    for (i = 0; i < 2 * NOISE_FRAMES; i++) {
        noise[i] = ref_uniform(&rng);
    }
    run_case("audio + 2 control threads + stats thread, limiter always on (f32 planar, 0.6 s)",
             TONECORE_SAMPLE_FORMAT_F32, 0, 0, 600, noise);
    run_case("the same with the limiter's bypass toggled too (f64 interleaved, 0.4 s)",
             TONECORE_SAMPLE_FORMAT_F64, 1, 1, 400, noise);
    free(noise);
    return check_finish();
}
