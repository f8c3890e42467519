/*
 * test_bad_input.c — the README's bad-input catalogue, one section per row: every class of misuse
 * a C host can commit, tried on each object type, with the status it must get and proof that the
 * refused call wrote nothing (sentinel-filled outputs and out-parameters).
 *
 * Rows: NULL pointers; zero lengths; wrong sizes; huge lengths; a track too large to copy;
 * struct_size; overlapping buffers;
 * misaligned buffers; wrong sample format; out-of-range enums and numbers; NaN/Inf (and
 * beyond +-2^20) in parameters and in audio; a handle used after its owner was freed; free(NULL);
 * concurrent misuse of a single-threaded object; calls after a panic.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */
#include <pthread.h>
#include <sys/mman.h>

#include "ref.h"

#define CH 2
#define BLOCK 64

static char out_sentinel;
#define OBJ_SENTINEL ((void *)&out_sentinel)

static tonecore_pipeline *new_pipeline(int32_t format) {
    tonecore_pipeline_config c;
    tonecore_pipeline *p = NULL;
    tonecore_pipeline_config_init(&c);
    c.channels = CH;
    c.max_block = BLOCK;
    c.sample_format = format;
    c.eq_enabled = 1;
    c.limiter_enabled = 1;
    CHECK_STATUS(tonecore_pipeline_new(&c, &p), TONECORE_STATUS_OK);
    return p;
}

static tonecore_equalizer *new_equalizer(void) {
    tonecore_equalizer_config c;
    tonecore_equalizer *e = NULL;
    tonecore_equalizer_config_init(&c);
    c.channels = CH;
    c.max_block = BLOCK;
    CHECK_STATUS(tonecore_equalizer_new(&c, &e), TONECORE_STATUS_OK);
    return e;
}

static void null_pointers(void) {
    tonecore_pipeline_config pc;
    tonecore_equalizer_config ec;
    tonecore_stft_config sc;
    tonecore_render_config rc;
    tonecore_pipeline *p = new_pipeline(TONECORE_SAMPLE_FORMAT_F32);
    tonecore_equalizer *e = new_equalizer();
    tonecore_params *h = NULL;
    float x[CH * BLOCK] = {0}, y[CH * BLOCK];
    size_t n = sentinel_size();
    void *obj = OBJ_SENTINEL;
    tonecore_loudness_report r;

    check_section("row NULL: NULL objects, buffers, out-parameters and configs -> NULL_POINTER");
    tonecore_pipeline_config_init(&pc);
    tonecore_equalizer_config_init(&ec);
    tonecore_stft_config_init(&sc);
    tonecore_render_config_init(&rc);
    CHECK_STATUS(tonecore_pipeline_params(p, &h), TONECORE_STATUS_OK);
    /* NULL objects. */
    CHECK_STATUS(tonecore_pipeline_process_f32(NULL, x, CH, y, CH), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_equalizer_process_f32(NULL, x, CH, y, CH), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_params_set_level_target(NULL, -14.0), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_playback_seek(NULL, 0.0), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_loudness_meter_add_f32(NULL, x, CH), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_stft_bins(NULL, &n), TONECORE_STATUS_NULL_POINTER);
    CHECK(n == sentinel_size());
    /* NULL buffers, even with a zero length. */
    sentinel_fill(y, sizeof y);
    CHECK_STATUS(tonecore_pipeline_process_f32(p, NULL, 0, y, CH), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_pipeline_process_f32(p, x, CH, NULL, 0), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_equalizer_process_f32(e, NULL, CH, y, CH), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_params_set_eq_gains(h, NULL, 0), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_window_fill_f32(TONECORE_WINDOW_HANN, NULL, 0),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_loudness_integrated_f32(NULL, 0, 1, 48000, (double *)y),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK(sentinel_intact(y, sizeof y));
    /* NULL out-parameters. */
    CHECK_STATUS(tonecore_pipeline_new(&pc, NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_equalizer_new(&ec, NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_stft_new(&sc, NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_pipeline_params(p, NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_pipeline_latency(p, NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_params_stats(h, NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_loudness_measure_f32(x, CH, 1, 48000, NULL), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_pipeline_config_init(NULL), TONECORE_STATUS_NULL_POINTER);
    /* NULL configs: the out-parameter is left alone. */
    CHECK_STATUS(tonecore_pipeline_new(NULL, (tonecore_pipeline **)&obj), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_equalizer_new(NULL, (tonecore_equalizer **)&obj), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_stft_new(NULL, (tonecore_stft **)&obj), TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_playback_open_f32(NULL, &rc, x, CH, (tonecore_playback **)&obj),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK_STATUS(tonecore_playback_open_f32(&pc, NULL, x, CH, (tonecore_playback **)&obj),
                 TONECORE_STATUS_NULL_POINTER);
    CHECK(obj == OBJ_SENTINEL);
    sentinel_fill(&r, sizeof r);
    CHECK_STATUS(tonecore_loudness_measure_f32(NULL, 0, 1, 48000, &r), TONECORE_STATUS_NULL_POINTER);
    CHECK(sentinel_intact(&r, sizeof r));

    check_section("row free(NULL): every _free takes NULL as a no-op");
    tonecore_pipeline_free(NULL);
    tonecore_params_free(NULL);
    tonecore_equalizer_free(NULL);
    tonecore_stft_free(NULL);
    tonecore_playback_free(NULL);
    tonecore_loudness_meter_free(NULL);
    CHECK(1);
    tonecore_params_free(h);
    tonecore_equalizer_free(e);
    tonecore_pipeline_free(p);
}

static void sizes(void) {
    tonecore_pipeline *p = new_pipeline(TONECORE_SAMPLE_FORMAT_F32);
    tonecore_equalizer *e = new_equalizer();
    tonecore_params *h = NULL;
    tonecore_pipeline_config pc;
    tonecore_pipeline_stats st;
    tonecore_stft_config sc;
    float x[2 * CH * BLOCK] = {0}, y[2 * CH * BLOCK];
    double gains[25] = {0};
    void *obj = OBJ_SENTINEL;
    size_t huge = (size_t)-1 / sizeof(float);

    check_section("row zero length: a 0-sample block is valid and writes nothing");
    sentinel_fill(y, sizeof y);
    CHECK_STATUS(tonecore_pipeline_process_f32(p, x, 0, y, 0), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_equalizer_process_f32(e, x, 0, y, 0), TONECORE_STATUS_OK);
    CHECK(sentinel_intact(y, sizeof y));

    check_section("row wrong sizes: short output, partial frames, oversized blocks, gain counts");
    CHECK_STATUS(tonecore_pipeline_process_f32(p, x, CH * BLOCK, y, CH * BLOCK - 1),
                 TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(tonecore_pipeline_process_f32(p, x, CH * BLOCK - 1, y, CH * BLOCK),
                 TONECORE_STATUS_INVALID_CHANNELS);
    CHECK_STATUS(tonecore_pipeline_process_f32(p, x, CH * (BLOCK + 1), y, 2 * CH * BLOCK),
                 TONECORE_STATUS_BLOCK_TOO_LARGE);
    CHECK_STATUS(tonecore_equalizer_process_f32(e, x, CH * BLOCK, y, 3), TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(tonecore_equalizer_set_gains(e, gains, 24), TONECORE_STATUS_GAIN_COUNT);
    CHECK_STATUS(tonecore_equalizer_gains(e, (double *)y, 3), TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK(sentinel_intact(y, sizeof y));

    check_section("row huge lengths: beyond the address space -> INVALID_LENGTH, never read");
    CHECK_STATUS(tonecore_window_fill_f32(TONECORE_WINDOW_HANN, y, huge), TONECORE_STATUS_INVALID_LENGTH);
    CHECK_STATUS(tonecore_pipeline_process_f32(p, x, huge, y, CH), TONECORE_STATUS_INVALID_LENGTH);
    CHECK_STATUS(tonecore_loudness_integrated_f32(x, huge, 1, 48000, (double *)y),
                 TONECORE_STATUS_INVALID_LENGTH);
    CHECK(sentinel_intact(y, sizeof y));

    check_section("row struct_size: configs and stats from an older/smaller struct -> STRUCT_SIZE");
    tonecore_pipeline_config_init(&pc);
    pc.struct_size = 8;
    CHECK_STATUS(tonecore_pipeline_new(&pc, (tonecore_pipeline **)&obj), TONECORE_STATUS_STRUCT_SIZE);
    tonecore_stft_config_init(&sc);
    sc.struct_size = 0;
    CHECK_STATUS(tonecore_stft_new(&sc, (tonecore_stft **)&obj), TONECORE_STATUS_STRUCT_SIZE);
    CHECK(obj == OBJ_SENTINEL);
    CHECK_STATUS(tonecore_pipeline_params(p, &h), TONECORE_STATUS_OK);
    sentinel_fill(&st, sizeof st);
    st.struct_size = 16;
    CHECK_STATUS(tonecore_params_stats(h, &st), TONECORE_STATUS_STRUCT_SIZE);
    CHECK(sentinel_intact((char *)&st + sizeof st.struct_size, sizeof st - sizeof st.struct_size));

    check_section("row overlap: input and output sharing bytes -> BUFFERS_OVERLAP");
    CHECK_STATUS(tonecore_pipeline_process_f32(p, x, CH * BLOCK, x + 1, CH * BLOCK),
                 TONECORE_STATUS_BUFFERS_OVERLAP);
    CHECK_STATUS(tonecore_equalizer_process_f32(e, x, CH * BLOCK, x, CH * BLOCK),
                 TONECORE_STATUS_BUFFERS_OVERLAP);

    check_section("row misaligned buffer -> INVALID_ARGUMENT");
    {
        double storage[CH * BLOCK + 1];
        float *mis = (float *)(void *)((char *)storage + 1);
        sentinel_fill(y, sizeof y);
        CHECK_STATUS(tonecore_pipeline_process_f32(p, mis, CH, y, CH), TONECORE_STATUS_INVALID_ARGUMENT);
        CHECK(sentinel_intact(y, sizeof y));
    }

    check_section("row wrong sample format: f64 call on an f32 object -> WRONG_FORMAT");
    {
        double dx[CH] = {0}, dy[CH];
        sentinel_fill(dy, sizeof dy);
        CHECK_STATUS(tonecore_pipeline_process_f64(p, dx, CH, dy, CH), TONECORE_STATUS_WRONG_FORMAT);
        CHECK_STATUS(tonecore_equalizer_process_f64(e, dx, CH, dy, CH), TONECORE_STATUS_WRONG_FORMAT);
        CHECK(sentinel_intact(dy, sizeof dy));
    }
    tonecore_params_free(h);
    tonecore_equalizer_free(e);
    tonecore_pipeline_free(p);
}

/* The Linux overcommit mode (0 heuristic, 1 always, 2 never), or -1 when unknown. */
static int overcommit_mode(void) {
    int mode = -1;
    FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
    if (f != NULL) {
        if (fscanf(f, "%d", &mode) != 1) mode = -1;
        fclose(f);
    }
    return mode;
}

/* A track of 2^40 bytes: address space reserved and never touched (every page reads as zero),
 * which no allocator here can copy. Each entry point that copies a caller's track must refuse
 * it with OUT_OF_MEMORY before reading it, write no out-parameter, and leave the process and
 * its objects working. Skipped where the kernel would grant the copy (overcommit mode 1), since
 * the copy would then run the machine out of memory for real. */
static void track_too_large(void) {
    const size_t bytes = (size_t)1 << 40;
    const size_t len = bytes / sizeof(float);
    tonecore_engine_config ec;
    tonecore_engine *e = NULL;
    tonecore_pipeline_config pc;
    tonecore_render_config rc;
    tonecore_playback *pb = (tonecore_playback *)OBJ_SENTINEL;
    uint64_t id = 0x5a5a5a5a5a5a5a5aULL;
    float small[CH * 4410] = {0};
    void *track;

    check_section("row track too large to copy: open_stream, submit_render, playback_open -> OUT_OF_MEMORY");
    if (sizeof(size_t) < 8 || overcommit_mode() == 1) {
        printf("skipped: 64-bit address space and an overcommit mode other than 1 needed\n");
        return;
    }
    track = mmap(NULL, bytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (track == MAP_FAILED) {
        printf("skipped: could not reserve 2^40 bytes of address space\n");
        return;
    }
    tonecore_engine_config_init(&ec);
    ec.max_streams = 2;
    CHECK_STATUS(tonecore_engine_new(&ec, &e), TONECORE_STATUS_OK);
    tonecore_pipeline_config_init(&pc);
    pc.channels = CH;
    pc.sample_rate = 44100;
    tonecore_render_config_init(&rc);
    CHECK_STATUS(tonecore_engine_open_stream_f32(e, 1, &pc, NULL, (const float *)track, len, 7, 0.0,
                                                 &id),
                 TONECORE_STATUS_OUT_OF_MEMORY);
    CHECK(id == 0x5a5a5a5a5a5a5a5aULL);
    CHECK(strstr(tonecore_last_error_message(), "memory") != NULL);
    CHECK_STATUS(tonecore_engine_submit_render_f32(e, &pc, NULL, (const float *)track, len, 0, 7,
                                                   &id),
                 TONECORE_STATUS_OUT_OF_MEMORY);
    CHECK(id == 0x5a5a5a5a5a5a5a5aULL);
    CHECK_STATUS(tonecore_playback_open_f32(&pc, &rc, (const float *)track, len, &pb),
                 TONECORE_STATUS_OUT_OF_MEMORY);
    CHECK(pb == (tonecore_playback *)OBJ_SENTINEL);
    /* The engine still takes a real track, and its cap was not consumed by the refusals. */
    CHECK_STATUS(tonecore_engine_open_stream_f32(e, 1, &pc, NULL, small, CH * 4410, 0, 0.0, &id),
                 TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_engine_open_stream_f32(e, 2, &pc, NULL, small, CH * 4410, 0, 0.0, &id),
                 TONECORE_STATUS_OK);
    tonecore_engine_free(e);
    munmap(track, bytes);
}

static void ranges_and_non_finite(void) {
    tonecore_pipeline *p = new_pipeline(TONECORE_SAMPLE_FORMAT_F32);
    tonecore_params *h = NULL;
    tonecore_pipeline_config pc;
    tonecore_pipeline_stats st;
    float x[CH * BLOCK], y[CH * BLOCK], w[8];
    double gains[25] = {0}, lufs = 1.0;
    void *obj = OBJ_SENTINEL;
    size_t i, frames = sentinel_size();
    tonecore_complex_f32 spec[9];
    tonecore_stft_config sc;
    tonecore_stft *s = NULL;

    check_section("row out-of-range enums and numbers -> their own statuses");
    CHECK_STATUS(tonecore_pipeline_params(p, &h), TONECORE_STATUS_OK);
    sentinel_fill(w, sizeof w);
    CHECK_STATUS(tonecore_window_fill_f32(99, w, 8), TONECORE_STATUS_UNKNOWN_WINDOW);
    CHECK(sentinel_intact(w, sizeof w));
    CHECK_STATUS(tonecore_params_set_bypass(h, 7, 1), TONECORE_STATUS_INVALID_ARGUMENT);
    tonecore_pipeline_config_init(&pc);
    pc.sample_format = 5;
    CHECK_STATUS(tonecore_pipeline_new(&pc, (tonecore_pipeline **)&obj), TONECORE_STATUS_INVALID_ARGUMENT);
    tonecore_pipeline_config_init(&pc);
    pc.channels = 65;
    CHECK_STATUS(tonecore_pipeline_new(&pc, (tonecore_pipeline **)&obj), TONECORE_STATUS_INVALID_CHANNELS);
    tonecore_pipeline_config_init(&pc);
    pc.sample_rate = 0;
    CHECK_STATUS(tonecore_pipeline_new(&pc, (tonecore_pipeline **)&obj), TONECORE_STATUS_INVALID_SAMPLE_RATE);
    tonecore_pipeline_config_init(&pc);
    pc.layout = 42;
    CHECK_STATUS(tonecore_pipeline_new(&pc, (tonecore_pipeline **)&obj), TONECORE_STATUS_INVALID_ARGUMENT);
    CHECK(obj == OBJ_SENTINEL);
    CHECK_STATUS(tonecore_params_set_level_target(h, 3.0), TONECORE_STATUS_INVALID_TARGET);
    CHECK_STATUS(tonecore_params_set_ceiling_db(h, -61.0), TONECORE_STATUS_INVALID_CEILING);

    check_section("row NaN/Inf in parameters -> refused, nothing changes");
    CHECK_STATUS(tonecore_params_set_level_target(h, NAN), TONECORE_STATUS_INVALID_TARGET);
    CHECK_STATUS(tonecore_params_set_ceiling_db(h, INFINITY), TONECORE_STATUS_INVALID_CEILING);
    gains[3] = NAN;
    CHECK_STATUS(tonecore_params_set_eq_gains(h, gains, 25), TONECORE_STATUS_NON_FINITE);
    tonecore_pipeline_config_init(&pc);
    pc.attack_ms = INFINITY;
    CHECK_STATUS(tonecore_pipeline_new(&pc, (tonecore_pipeline **)&obj), TONECORE_STATUS_INVALID_TIME);
    CHECK(obj == OBJ_SENTINEL);
    st.struct_size = sizeof st;
    CHECK_STATUS(tonecore_params_stats(h, &st), TONECORE_STATUS_OK);
    CHECK(st.eq_gains_db[3] == 0.0);

    check_section("row NaN/Inf in analysis input -> NON_FINITE, nothing written");
    for (i = 0; i < CH * BLOCK; i++) {
        x[i] = 0.25f;
    }
    x[5] = NAN;
    CHECK_STATUS(tonecore_loudness_integrated_f32(x, CH * BLOCK, CH, 48000, &lufs), TONECORE_STATUS_NON_FINITE);
    CHECK(lufs == 1.0);
    tonecore_stft_config_init(&sc);
    sc.fft_size = 16;
    sc.hop = 16;
    sc.threads = 1;
    CHECK_STATUS(tonecore_stft_new(&sc, &s), TONECORE_STATUS_OK);
    sentinel_fill(spec, sizeof spec);
    CHECK_STATUS(tonecore_stft_forward_f32(s, x, 16, 1, spec, 9, &frames), TONECORE_STATUS_NON_FINITE);
    CHECK(sentinel_intact(spec, sizeof spec) && frames == sentinel_size());
    x[5] = 3e30f; /* beyond +-2^20: the loudness meter refuses it too */
    CHECK_STATUS(tonecore_loudness_integrated_f32(x, CH * BLOCK, CH, 48000, &lufs), TONECORE_STATUS_NON_FINITE);
    tonecore_stft_free(s);

    check_section("row NaN/Inf (and beyond +-2^20) in streamed audio -> zeroed and counted");
    x[0] = NAN;
    x[1] = INFINITY;
    x[2] = -INFINITY;
    x[5] = 3e30f;
    CHECK_STATUS(tonecore_pipeline_process_f32(p, x, CH * BLOCK, y, CH * BLOCK), TONECORE_STATUS_OK);
    for (i = 0; i < CH * BLOCK; i++) {
        CHECK_MSG(isfinite(y[i]) && fabsf(y[i]) <= 0.8913f, "y[%zu] = %g", i, (double)y[i]);
    }
    CHECK_STATUS(tonecore_params_stats(h, &st), TONECORE_STATUS_OK);
    CHECK_EQ_INT(st.nonfinite, 4);
    tonecore_params_free(h);
    tonecore_pipeline_free(p);
}

static void owner_freed(void) {
    tonecore_pipeline *p = new_pipeline(TONECORE_SAMPLE_FORMAT_F32);
    tonecore_params *h = NULL;
    tonecore_pipeline_stats st;

    check_section("row handle outliving its owner: params after the pipeline is freed stay inert");
    CHECK_STATUS(tonecore_pipeline_params(p, &h), TONECORE_STATUS_OK);
    tonecore_pipeline_free(p);
    CHECK_STATUS(tonecore_params_set_level_target(h, -20.0), TONECORE_STATUS_OK);
    st.struct_size = sizeof st;
    CHECK_STATUS(tonecore_params_stats(h, &st), TONECORE_STATUS_OK);
    CHECK_EQ_INT(st.frames, 0);
    tonecore_params_free(h);
}

typedef struct race {
    tonecore_equalizer *e;
    pthread_barrier_t *start;
    unsigned ok, busy, other, wrote_on_busy;
} race;

static void *racer(void *arg) {
    race *r = (race *)arg;
    float x[CH * BLOCK] = {0}, y[CH * BLOCK];
    int i;
    pthread_barrier_wait(r->start);
    for (i = 0; i < 2000; i++) {
        int32_t st;
        sentinel_fill(y, sizeof y);
        st = tonecore_equalizer_process_f32(r->e, x, CH * BLOCK, y, CH * BLOCK);
        if (st == TONECORE_STATUS_OK) {
            r->ok++;
        } else if (st == TONECORE_STATUS_CONCURRENT_USE) {
            r->busy++;
            r->wrote_on_busy += !sentinel_intact(y, sizeof y);
        } else {
            r->other++;
        }
    }
    return NULL;
}

static void concurrent_misuse(void) {
    tonecore_equalizer *e = new_equalizer();
    pthread_barrier_t start;
    pthread_t t[2];
    race r[2];
    int i;

    check_section("row concurrent misuse: two audio threads on one equalizer -> CONCURRENT_USE");
    pthread_barrier_init(&start, NULL, 2);
    for (i = 0; i < 2; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].e = e;
        r[i].start = &start;
        pthread_create(&t[i], NULL, racer, &r[i]);
    }
    for (i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
    }
    pthread_barrier_destroy(&start);
    CHECK_EQ_INT(r[0].other + r[1].other, 0);
    CHECK_EQ_INT(r[0].wrote_on_busy + r[1].wrote_on_busy, 0);
    CHECK_EQ_INT(r[0].ok + r[0].busy + r[1].ok + r[1].busy, 4000);
    CHECK(r[0].ok + r[1].ok > 0);
    printf("   %u OK, %u CONCURRENT_USE\n", r[0].ok + r[1].ok, r[0].busy + r[1].busy);
    tonecore_equalizer_free(e);
}

static void after_a_panic(void) {
    tonecore_equalizer *e = new_equalizer();
    float x[CH * BLOCK] = {0}, y[CH * BLOCK];
    size_t bands = 0;

    check_section("row calls after a panic: PANIC with detail, then the library works on");
    CHECK_STATUS(tonecore_debug_panic(), TONECORE_STATUS_PANIC);
    CHECK(strstr(tonecore_last_error_message(), "panic") != NULL);
    CHECK_STATUS(tonecore_equalizer_bands(e, &bands), TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(bands, 25);
    CHECK_STATUS(tonecore_equalizer_process_f32(e, x, CH * BLOCK, y, CH * BLOCK), TONECORE_STATUS_OK);
    CHECK_STATUS(tonecore_equalizer_set_gains(e, (const double[25]){0}, 25), TONECORE_STATUS_OK);
    CHECK_STR_EQ(tonecore_last_error_message(), "");
    tonecore_equalizer_free(e);
}

int main(void) {
    null_pointers();
    sizes();
    track_too_large();
    ranges_and_non_finite();
    owner_freed();
    concurrent_misuse();
    after_a_panic();
    return check_finish();
}
