/*
 * test_band_energies.c — tonecore_band_energies_f32 / _f64 against a naive-DFT double reference:
 * frames at k*hop (uncentred), the mean of the channels, the symmetric Hann window
 * w[i] = 0.5 + 0.5 cos(pi (2i + 1 - N) / (N - 1)), cg = mean(w), and per band the mean over its
 * bins of 20 log10(|X_k| / cg + 1e-10) (-200 dB for a band without bins); built-in and custom
 * layouts, several channel counts and thread counts; and every refused call (NaN input included)
 * with output and frames_out untouched; input shorter than one frame gives 0 frames.
 */
#include "ref.h"

/* Reference band energies of planar `x` (channels x len): frames x bands values into `out`. */
static size_t ref_band_energies(const double *x, size_t len, size_t channels, const double *edges,
                                size_t nedges, uint32_t sr, size_t n, size_t hop, double *out) {
    size_t bins = n / 2 + 1, bands = nedges - 1;
    size_t frames = ref_frame_count(len, n, hop, 0);
    double *mono = (double *)ref_alloc(len, sizeof(double));
    double *w = (double *)ref_alloc(n, sizeof(double));
    double *re = (double *)ref_alloc(frames * bins + 1, sizeof(double));
    double *im = (double *)ref_alloc(frames * bins + 1, sizeof(double));
    uint32_t *map = (uint32_t *)ref_alloc(bins, sizeof(uint32_t));
    size_t *count = (size_t *)ref_alloc(bands, sizeof(size_t));
    double cg = 0.0;
    size_t i, c, k, b;

    for (i = 0; i < len; i++) {
        double s = 0.0;
        for (c = 0; c < channels; c++) {
            s += x[c * len + i];
        }
        mono[i] = s / (double)channels;
    }
    for (i = 0; i < n; i++) {
        w[i] = 0.5 + 0.5 * cos(M_PI * (2.0 * (double)i + 1.0 - (double)n) / ((double)n - 1.0));
        cg += w[i];
    }
    cg /= (double)n;
    ref_stft(mono, len, w, n, hop, 0, frames, re, im);
    ref_band_map(edges, nedges, sr, n, map);
    for (k = 0; k < bins; k++) {
        count[map[k]]++;
    }
    for (i = 0; i < frames; i++) {
        double *row = out + i * bands;
        for (b = 0; b < bands; b++) {
            row[b] = 0.0;
        }
        for (k = 0; k < bins; k++) {
            double mag = hypot(re[i * bins + k], im[i * bins + k]) / cg;
            row[map[k]] += 20.0 * log10(mag + 1e-10);
        }
        for (b = 0; b < bands; b++) {
            row[b] = count[b] == 0 ? -200.0 : row[b] / (double)count[b];
        }
    }
    free(mono);
    free(w);
    free(re);
    free(im);
    free(map);
    free(count);
    return frames;
}

static double critical[26];
static double third[32];

typedef struct energy_case {
    const char *name;
    int32_t layout;
    const double *edges;    /* the reference's edges */
    size_t nedges;
    int custom;             /* pass edges to the library */
    uint32_t sr;
    size_t n, hop, channels, len;
} energy_case;

static void run_case(const energy_case *e, uint64_t seed) {
    static const uint32_t threads[] = {1, 0, 2};
    size_t bands = e->nedges - 1, total = e->channels * e->len, i, t;
    size_t frames = ref_frame_count(e->len, e->n, e->hop, 0), got_frames;
    double *x = (double *)ref_alloc(total, sizeof(double));
    double *xr = (double *)ref_alloc(total, sizeof(double));
    float *xf = (float *)ref_alloc(total, sizeof(float));
    double *want = (double *)ref_alloc(frames * bands + 1, sizeof(double));
    double *want32 = (double *)ref_alloc(frames * bands + 1, sizeof(double));
    double *got = (double *)ref_alloc(frames * bands + 1, sizeof(double));
    ref_rng rng = ref_rng_new(seed);
    const double *edges = e->custom ? e->edges : NULL;
    size_t edges_len = e->custom ? e->nedges : 0;
    int empty_band = 0;

    for (i = 0; i < total; i++) {
        /* A tone plus noise, different per channel. */
        x[i] = 0.3 * sin(0.05 * (double)i * (double)(1 + i / e->len)) + 0.2 * ref_uniform(&rng);
        xf[i] = (float)x[i];
        xr[i] = (double)xf[i];
    }
    CHECK_MSG(frames > 1, "%s: a case needs frames", e->name);
    CHECK_EQ_SIZE(ref_band_energies(x, e->len, e->channels, e->edges, e->nedges, e->sr, e->n,
                                    e->hop, want),
                  frames);
    ref_band_energies(xr, e->len, e->channels, e->edges, e->nedges, e->sr, e->n, e->hop, want32);
    for (i = 0; i < bands; i++) {
        empty_band |= want[i] == -200.0;
    }

    for (t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        double err = 0.0;
        sentinel_fill(got, (frames * bands + 1) * sizeof(double));
        got_frames = sentinel_size();
        CHECK_STATUS(tonecore_band_energies_f64(e->layout, edges, edges_len, e->sr, e->n, e->hop,
                                                threads[t], x, total, e->channels, got,
                                                frames * bands, &got_frames),
                     TONECORE_STATUS_OK);
        CHECK_MSG(got_frames == frames, "%s f64: %zu frames, want %zu", e->name, got_frames,
                  frames);
        for (i = 0; i < frames * bands; i++) {
            err = ref_max_err(err, fabs(got[i] - want[i]));
        }
        CHECK_MSG(err <= 1e-9, "%s f64 threads=%u: max error %.3g dB", e->name,
                  (unsigned)threads[t], err);
        CHECK_MSG(sentinel_intact(got + frames * bands, sizeof(double)), "%s f64: wrote past",
                  e->name);

        err = 0.0;
        sentinel_fill(got, (frames * bands + 1) * sizeof(double));
        got_frames = sentinel_size();
        CHECK_STATUS(tonecore_band_energies_f32(e->layout, edges, edges_len, e->sr, e->n, e->hop,
                                                threads[t], xf, total, e->channels, got,
                                                frames * bands + 1, &got_frames),
                     TONECORE_STATUS_OK);
        CHECK_MSG(got_frames == frames, "%s f32: %zu frames, want %zu", e->name, got_frames,
                  frames);
        for (i = 0; i < frames * bands; i++) {
            err = ref_max_err(err, fabs(got[i] - want32[i]));
        }
        /* Single-precision window, mixdown and FFT: about 1e-6 relative in |X_k|, a few 1e-5 dB
         * on the weakest bins. */
        CHECK_MSG(err <= 2e-4, "%s f32 threads=%u: max error %.3g dB", e->name,
                  (unsigned)threads[t], err);
        CHECK_MSG(sentinel_intact(got + frames * bands, sizeof(double)), "%s f32: wrote past",
                  e->name);
        if (t == 0) {
            printf("   %s: %zu frames x %zu bands%s, f32 max error %.3g dB\n", e->name, frames,
                   bands, empty_band ? " (with an empty band)" : "", err);
        }
    }
    free(x);
    free(xr);
    free(xf);
    free(want);
    free(want32);
    free(got);
}

static void test_against_reference(void) {
    static const double custom[] = {0.0, 300.0, 1010.0, 1040.0, 5000.0, 30000.0};
    energy_case cases[5];
    size_t i;
    int k;

    memcpy(critical, ref_critical_edges, sizeof critical);
    for (k = -17; k <= 14; k++) {
        third[k + 17] = 1000.0 * pow(2.0, ((double)k - 0.5) / 3.0);
    }
    check_section("band energies vs naive DFT reference (f64 <= 1e-9 dB)");
    cases[0].name = "critical sr=44100 N=256 hop=100 stereo";
    cases[0].layout = TONECORE_LAYOUT_CRITICAL;
    cases[0].edges = critical;
    cases[0].nedges = 26;
    cases[0].custom = 0;
    cases[0].sr = 44100;
    cases[0].n = 256;
    cases[0].hop = 100;
    cases[0].channels = 2;
    cases[0].len = 3000;

    cases[1] = cases[0];
    cases[1].name = "custom sr=16000 N=256 hop=64 mono";
    cases[1].layout = TONECORE_LAYOUT_CUSTOM;
    cases[1].edges = custom;
    cases[1].nedges = sizeof custom / sizeof custom[0];
    cases[1].custom = 1;
    cases[1].sr = 16000;
    cases[1].hop = 64;
    cases[1].channels = 1;
    cases[1].len = 1500;

    cases[2] = cases[1];
    cases[2].name = "custom sr=16000 N=256 hop=256 3 channels";
    cases[2].hop = 256;
    cases[2].channels = 3;
    cases[2].len = 2100;

    cases[3] = cases[0];
    cases[3].name = "third-octave sr=48000 N=250 hop=125 stereo";
    cases[3].layout = TONECORE_LAYOUT_THIRD_OCTAVE;
    cases[3].edges = third;
    cases[3].nedges = 32;
    cases[3].sr = 48000;
    cases[3].n = 250;
    cases[3].hop = 125;
    cases[3].len = 2000;

    cases[4] = cases[0];
    cases[4].name = "critical sr=44100 N=512 hop=1 mono";
    cases[4].n = 512;
    cases[4].hop = 1;
    cases[4].channels = 1;
    cases[4].len = 512 + 40;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_case(&cases[i], 100 + i);
    }

    /* A single frame with a band that holds no bin ([100, 120) Hz at 125 Hz bin spacing):
     * -200 dB exactly, in the reference and in the library. */
    {
        static const double e[] = {0.0, 100.0, 120.0, 1100.0, 8000.0};
        const size_t n = 64, len = 64;
        double x[64], want[4], got[4 + 1];
        size_t fr, gf = sentinel_size();
        for (i = 0; i < len; i++) {
            x[i] = cos(2.0 * M_PI * 8.0 * (double)i / (double)n); /* 1000 Hz at 8 kHz */
        }
        fr = ref_band_energies(x, len, 1, e, 5, 8000, n, n, want);
        CHECK_EQ_SIZE(fr, 1);
        CHECK(want[1] == -200.0);
        sentinel_fill(got, sizeof got);
        CHECK_STATUS(tonecore_band_energies_f64(TONECORE_LAYOUT_CUSTOM, e, 5, 8000, n, n, 1, x,
                                                len, 1, got, 4, &gf),
                     TONECORE_STATUS_OK);
        CHECK_EQ_SIZE(gf, 1);
        CHECK_MSG(got[1] == -200.0, "empty band reads %.17g", got[1]);
        for (i = 0; i < 4; i++) {
            CHECK_MSG(fabs(got[i] - want[i]) <= 1e-9, "band %zu: %.12g vs %.12g", i, got[i],
                      want[i]);
        }
        CHECK(sentinel_intact(got + 4, sizeof(double)));
    }
}

/* ---------------------------------------------------------------------------------------------
 * Refusals
 * ------------------------------------------------------------------------------------------- */

#define N 64
#define HOP 16
#define LEN 256
#define FRAMES (1 + (LEN - N) / HOP)
#define B 25

static double x64[2 * LEN];
static float x32[2 * LEN];
static double out[FRAMES * B + 8];
static size_t frames;

#define EXPECT(call, expected, what)                                                          \
    do {                                                                                      \
        sentinel_fill(out, sizeof out);                                                       \
        frames = sentinel_size();                                                             \
        CHECK_STATUS(call, expected);                                                         \
        CHECK_MSG(tonecore_last_error_message()[0] != '\0', "%s: no detail message", what);    \
        CHECK_MSG(sentinel_intact(out, sizeof out), "%s: output written", what);              \
        CHECK_MSG(frames == sentinel_size(), "%s: frames_out written", what);                 \
    } while (0)

/* Both formats refuse the same arguments with the same status. */
#define EXPECT_BOTH(layout, edges, elen, sr, n, hop, thr, in_ok, len, ch, out_ok, olen, fr_ok,   \
                    expected, what)                                                           \
    do {                                                                                      \
        EXPECT(tonecore_band_energies_f64(layout, edges, elen, sr, n, hop, thr,               \
                                          (in_ok) ? x64 : NULL, len, ch, (out_ok) ? out : NULL, \
                                          olen, (fr_ok) ? &frames : NULL),                    \
               expected, what);                                                               \
        EXPECT(tonecore_band_energies_f32(layout, edges, elen, sr, n, hop, thr,               \
                                          (in_ok) ? x32 : NULL, len, ch, (out_ok) ? out : NULL, \
                                          olen, (fr_ok) ? &frames : NULL),                    \
               expected, what);                                                               \
    } while (0)

#define CRIT TONECORE_LAYOUT_CRITICAL, NULL, 0

static void test_errors(void) {
    static const double bad_edges[] = {100.0, 100.0, 200.0};
    static const size_t nan_pos[] = {0, 77, 2 * LEN - 1};
    size_t i;

    for (i = 0; i < 2 * LEN; i++) {
        x64[i] = sin(0.3 * (double)i);
        x32[i] = (float)x64[i];
    }
    check_section("band_energies refusals: status, message, nothing written");
    EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, N, HOP, 1, 0, 2 * LEN, 2, 1, FRAMES * B, 1,
                TONECORE_STATUS_NULL_POINTER, "NULL input");
    EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, N, HOP, 1, 1, 2 * LEN, 2, 0, FRAMES * B, 1,
                TONECORE_STATUS_NULL_POINTER, "NULL output");
    EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, N, HOP, 1, 1, 2 * LEN, 2, 1, FRAMES * B, 0,
                TONECORE_STATUS_NULL_POINTER, "NULL frames_out");
    EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, N, HOP, 1, 1, 2 * LEN, 0, 1, FRAMES * B, 1,
                TONECORE_STATUS_INVALID_ARGUMENT, "0 channels");
    EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, N, HOP, 1, 1, 2 * LEN - 1, 2, 1, FRAMES * B, 1,
                TONECORE_STATUS_INVALID_LENGTH, "input_len not a multiple of channels");
    EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, N, HOP, 1, 1, 2 * LEN, 2, 1, FRAMES * B - 1, 1,
                TONECORE_STATUS_BUFFER_TOO_SMALL, "output one value too small");
    EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, N, HOP, 1, 1, LEN, 1, 1, 0, 1, TONECORE_STATUS_BUFFER_TOO_SMALL,
                "output_len 0");
    EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, N, 0, 1, 1, 2 * LEN, 2, 1, FRAMES * B, 1, TONECORE_STATUS_INVALID_HOP,
                "hop 0");
    EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, N, N + 1, 1, 1, 2 * LEN, 2, 1, FRAMES * B, 1,
                TONECORE_STATUS_INVALID_HOP, "hop fft_size + 1");
    EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, N - 1, HOP, 1, 1, 2 * LEN, 2, 1, FRAMES * B, 1,
                TONECORE_STATUS_INVALID_FFT_SIZE, "fft_size odd");
    EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, 14, 14, 1, 1, 2 * LEN, 2, 1, FRAMES * B, 1,
                TONECORE_STATUS_INVALID_FFT_SIZE, "fft_size 14");
    EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 0, N, HOP, 1, 1, 2 * LEN, 2, 1, FRAMES * B, 1,
                TONECORE_STATUS_INVALID_SAMPLE_RATE, "sample rate 0");
    EXPECT_BOTH(5, NULL, 0, 44100, N, HOP, 1, 1, 2 * LEN, 2, 1, FRAMES * B, 1,
                TONECORE_STATUS_INVALID_ARGUMENT, "layout 5"); /* 4 is SIXTH_OCTAVE */
    EXPECT_BOTH(TONECORE_LAYOUT_CUSTOM, bad_edges, 3, 44100, N, HOP, 1, 1, 2 * LEN, 2, 1,
                FRAMES * B, 1, TONECORE_STATUS_INVALID_BANDS, "custom edges repeated");
    EXPECT_BOTH(TONECORE_LAYOUT_CUSTOM, NULL, 3, 44100, N, HOP, 1, 1, 2 * LEN, 2, 1, FRAMES * B, 1,
                TONECORE_STATUS_NULL_POINTER, "NULL custom edges");
    EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, N, HOP, 1025, 1, 2 * LEN, 2, 1, FRAMES * B, 1,
                TONECORE_STATUS_INVALID_ARGUMENT, "threads 1025");

    check_section("NaN/Inf input is refused");
    for (i = 0; i < sizeof nan_pos / sizeof nan_pos[0]; i++) {
        double k64 = x64[nan_pos[i]];
        float k32 = x32[nan_pos[i]];
        x64[nan_pos[i]] = NAN;
        x32[nan_pos[i]] = NAN;
        EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, N, HOP, 1, 1, 2 * LEN, 2, 1, FRAMES * B, 1,
                    TONECORE_STATUS_NON_FINITE, "NaN input");
        EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, N, HOP, 0, 1, 2 * LEN, 2, 1, FRAMES * B, 1,
                    TONECORE_STATUS_NON_FINITE, "NaN input (threads 0)");
        x64[nan_pos[i]] = i % 2 ? INFINITY : -INFINITY;
        x32[nan_pos[i]] = i % 2 ? INFINITY : -INFINITY;
        EXPECT_BOTH(TONECORE_LAYOUT_CRITICAL, NULL, 0, 44100, N, HOP, 1, 1, 2 * LEN, 2, 1, FRAMES * B, 1,
                    TONECORE_STATUS_NON_FINITE, "Inf input");
        x64[nan_pos[i]] = k64;
        x32[nan_pos[i]] = k32;
    }

    check_section("input shorter than one frame: OK, 0 frames, nothing written");
    for (i = 0; i < 3; i++) {
        size_t len = i == 0 ? N - 1 : (i == 1 ? 1 : 0);
        sentinel_fill(out, sizeof out);
        frames = sentinel_size();
        CHECK_STATUS(tonecore_band_energies_f64(CRIT, 44100, N, HOP, 1, x64, 2 * len, 2, out, 0,
                                                &frames),
                     TONECORE_STATUS_OK);
        CHECK_MSG(frames == 0, "len %zu: %zu frames", len, frames);
        CHECK(sentinel_intact(out, sizeof out));
        frames = sentinel_size();
        CHECK_STATUS(tonecore_band_energies_f32(CRIT, 44100, N, HOP, 0, x32, len, 1, out,
                                                FRAMES * B, &frames),
                     TONECORE_STATUS_OK);
        CHECK_MSG(frames == 0, "len %zu: %zu frames", len, frames);
        CHECK(sentinel_intact(out, sizeof out));
    }

    /* The same arguments, all valid: OK and exactly FRAMES x B values. */
    sentinel_fill(out, sizeof out);
    frames = sentinel_size();
    CHECK_STATUS(tonecore_band_energies_f64(CRIT, 44100, N, HOP, 1, x64, 2 * LEN, 2, out,
                                            FRAMES * B, &frames),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(frames, FRAMES);
    CHECK(sentinel_intact(out + FRAMES * B, 8 * sizeof(double)));
    CHECK_STR_EQ(tonecore_last_error_message(), "");
}

int main(void) {
    test_against_reference();
    test_errors();
    return check_finish();
}
