/*
 * ref.h — independent double-precision references for the tonecore C tests: a deterministic
 * random signal, closed-form windows and a naive O(N^2) DFT of windowed frames.
 *
 * Nothing here calls tonecore; test results are compared against these.
 */
#ifndef TONECORE_FFI_REF_H
#define TONECORE_FFI_REF_H

#include <math.h>
#include <stdlib.h>

#include "check.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* xorshift64* — a fixed, portable sequence so every run sees the same signals. */
typedef struct ref_rng {
    uint64_t state;
} ref_rng;

static inline ref_rng ref_rng_new(uint64_t seed) {
    ref_rng r;
    r.state = seed ? seed : 0x9E3779B97F4A7C15ull;
    return r;
}

/* Uniform in [-1, 1). */
static inline double ref_uniform(ref_rng *r) {
    uint64_t x = r->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->state = x;
    x *= 0x2545F4914F6CDD1Dull;
    return (double)(x >> 11) / 4503599627370496.0 /* 2^52 */ - 1.0;
}

/* The larger of a running maximum error and a new error; NaN, once seen, stays. */
static inline double ref_max_err(double current, double e) {
    if (current != current || e != e) {
        return NAN;
    }
    return e > current ? e : current;
}

/* Allocates `n` values with `calloc` and aborts the program when that fails. */
static inline void *ref_alloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/*
 * Closed-form window value at index i of n, in double. Length 1 is [1.0] for every kind (the
 * numpy/scipy convention, where the symmetric formula is 0/0). Returns NaN for an unknown kind.
 */
static inline double ref_window(int kind, size_t i, size_t n) {
    double di = (double)i, dn = (double)n;
    if (n == 1) {
        return 1.0;
    }
    switch (kind) {
    case TONECORE_WINDOW_HANN:
        return 0.5 - 0.5 * cos(2.0 * M_PI * di / dn);
    case TONECORE_WINDOW_HANN_SYM:
        return 0.5 + 0.5 * cos(M_PI * (2.0 * di + 1.0 - dn) / (dn - 1.0));
    case TONECORE_WINDOW_HAMMING:
        return 0.54 - 0.46 * cos(2.0 * M_PI * di / dn);
    case TONECORE_WINDOW_BLACKMAN:
        return 0.42 - 0.5 * cos(2.0 * M_PI * di / dn) + 0.08 * cos(4.0 * M_PI * di / dn);
    case TONECORE_WINDOW_SQRT_HANN: {
        double h = 0.5 - 0.5 * cos(2.0 * M_PI * di / dn);
        return sqrt(h > 0.0 ? h : 0.0);
    }
    default:
        return NAN;
    }
}

/* Fills w[0..n) with ref_window(kind, i, n). */
static inline void ref_window_fill(int kind, double *w, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        w[i] = ref_window(kind, i, n);
    }
}

/* Frames of a signal of `len` samples (tonecore's documented framing). */
static inline size_t ref_frame_count(size_t len, size_t n, size_t hop, int center) {
    if (center) {
        return len == 0 ? 0 : 1 + len / hop;
    }
    return len < n ? 0 : 1 + (len - n) / hop;
}

/*
 * Naive DFT STFT of one channel `x` (len samples) with window `w` (n values): writes
 * frames * (n/2 + 1) bins to re/im, laid out (frame, bin). Frame k starts at k*hop, or at
 * k*hop - n/2 with `center` (samples outside the signal read as zero). Unscaled, as numpy's rfft.
 */
static inline void ref_stft(const double *x, size_t len, const double *w, size_t n, size_t hop,
                            int center, size_t frames, double *re, double *im) {
    size_t bins = n / 2 + 1;
    double *cos_t = (double *)ref_alloc(n, sizeof(double));
    double *sin_t = (double *)ref_alloc(n, sizeof(double));
    double *frame = (double *)ref_alloc(n, sizeof(double));
    size_t m, k, b, t;
    for (m = 0; m < n; m++) {
        cos_t[m] = cos(2.0 * M_PI * (double)m / (double)n);
        sin_t[m] = sin(2.0 * M_PI * (double)m / (double)n);
    }
    for (k = 0; k < frames; k++) {
        long long start = (long long)(k * hop) - (center ? (long long)(n / 2) : 0);
        for (t = 0; t < n; t++) {
            long long idx = start + (long long)t;
            frame[t] = (idx >= 0 && idx < (long long)len) ? x[idx] * w[t] : 0.0;
        }
        for (b = 0; b < bins; b++) {
            double sr = 0.0, si = 0.0;
            size_t phase = 0; /* (b * t) mod n */
            for (t = 0; t < n; t++) {
                sr += frame[t] * cos_t[phase];
                si -= frame[t] * sin_t[phase];
                phase += b;
                if (phase >= n) {
                    phase -= n;
                }
            }
            re[k * bins + b] = sr;
            im[k * bins + b] = si;
        }
    }
    free(cos_t);
    free(sin_t);
    free(frame);
}

/* max |got - ref| / max |ref| over `count` complex values (1.0 when the reference is all 0). */
static inline double ref_rel_err_f64(const tonecore_complex_f64 *got, const double *re,
                                     const double *im, size_t count) {
    double max_err = 0.0, max_ref = 0.0;
    size_t i;
    for (i = 0; i < count; i++) {
        double e = hypot(got[i].re - re[i], got[i].im - im[i]);
        double r = hypot(re[i], im[i]);
        if (e != e) {
            return NAN; /* a NaN anywhere fails every bound */
        }
        if (e > max_err) {
            max_err = e;
        }
        if (r > max_ref) {
            max_ref = r;
        }
    }
    return max_ref > 0.0 ? max_err / max_ref : 1.0;
}

/* As ref_rel_err_f64 for single-precision output. */
static inline double ref_rel_err_f32(const tonecore_complex_f32 *got, const double *re,
                                     const double *im, size_t count) {
    double max_err = 0.0, max_ref = 0.0;
    size_t i;
    for (i = 0; i < count; i++) {
        double e = hypot((double)got[i].re - re[i], (double)got[i].im - im[i]);
        double r = hypot(re[i], im[i]);
        if (e != e) {
            return NAN; /* a NaN anywhere fails every bound */
        }
        if (e > max_err) {
            max_err = e;
        }
        if (r > max_ref) {
            max_ref = r;
        }
    }
    return max_ref > 0.0 ? max_err / max_ref : 1.0;
}

/* ---------------------------------------------------------------------------------------------
 * Band layouts, bin maps, gain curves and filter measurements (EQ tests).
 * ------------------------------------------------------------------------------------------- */

/* The documented critical-band edges in Hz (tonecore.h, TONECORE_LAYOUT_CRITICAL). */
static const double ref_critical_edges[26] = {
    20.0,   100.0,  200.0,  300.0,  400.0,  510.0,  630.0,  770.0,  920.0,
    1080.0, 1270.0, 1480.0, 1720.0, 2000.0, 2320.0, 2700.0, 3150.0, 3700.0,
    4400.0, 5300.0, 6400.0, 7700.0, 9500.0, 12000.0, 15500.0, 20000.0};

/* Frequency of bin k of an N-point real FFT at `sr` Hz: k*(sr/2)/(N/2) with the integer sr/2,
 * the last bin (k = N/2) exactly sr/2. */
static inline double ref_bin_freq(uint32_t sr, size_t n, size_t k) {
    double nyq = (double)(sr / 2);
    if (k == n / 2) {
        return nyq;
    }
    return (double)k * nyq / (double)(n / 2);
}

/* Band of frequency f: (number of edges <= f) - 1, clipped to [0, bands-1]. */
static inline uint32_t ref_band_of(const double *edges, size_t nedges, double f) {
    size_t count = 0, i;
    for (i = 0; i < nedges; i++) {
        if (edges[i] <= f) {
            count++;
        }
    }
    if (count == 0) {
        return 0;
    }
    if (count - 1 > nedges - 2) {
        return (uint32_t)(nedges - 2);
    }
    return (uint32_t)(count - 1);
}

/* The bin -> band map for bins 0..N/2 into map[0..N/2]. */
static inline void ref_band_map(const double *edges, size_t nedges, uint32_t sr, size_t n,
                                uint32_t *map) {
    size_t k;
    for (k = 0; k <= n / 2; k++) {
        map[k] = ref_band_of(edges, nedges, ref_bin_freq(sr, n, k));
    }
}

/* Band centres: the geometric mean of each band's edges (all edges > 0 here). */
static inline void ref_centers(const double *edges, size_t nedges, double *centers) {
    size_t b;
    for (b = 0; b + 1 < nedges; b++) {
        centers[b] = sqrt(edges[b] * edges[b + 1]);
    }
}

/* A gain in dB clamped to the documented +-24 dB. */
static inline double ref_clamp_db(double g) {
    return g < -24.0 ? -24.0 : (g > 24.0 ? 24.0 : g);
}

/* Smooth curve in dB at f Hz: dB linear over log2(max(f, 1)) between band centres, flat
 * outside the first and last centre. `gains` in dB, one per band (already clamped). */
static inline double ref_smooth_db(const double *edges, size_t nedges, const double *gains,
                                   double f) {
    size_t bands = nedges - 1, i;
    double x = log2(f < 1.0 ? 1.0 : f);
    double lo = log2(sqrt(edges[0] * edges[1]));
    double hi = log2(sqrt(edges[bands - 1] * edges[bands]));
    if (x <= lo) {
        return gains[0];
    }
    if (x >= hi) {
        return gains[bands - 1];
    }
    for (i = 0; i + 1 < bands; i++) {
        double a = log2(sqrt(edges[i] * edges[i + 1]));
        double b = log2(sqrt(edges[i + 1] * edges[i + 2]));
        if (x >= a && x < b) {
            return gains[i] + (x - a) / (b - a) * (gains[i + 1] - gains[i]);
        }
    }
    return gains[bands - 1];
}

/* 10^(dB/20). */
static inline double ref_db_to_linear(double db) {
    return pow(10.0, db / 20.0);
}

/* The equalizer kernel length for an FFT size: fft/2 + 1 rounded down to odd. */
static inline size_t ref_eq_taps(size_t fft) {
    size_t t = fft / 2 + 1;
    return (t % 2 == 1) ? t : t - 1;
}

/* The documented equalizer latency: fft - taps + 1 + (taps - 1)/2. */
static inline size_t ref_eq_latency(size_t fft) {
    size_t t = ref_eq_taps(fft);
    return fft - t + 1 + (t - 1) / 2;
}

/* Least-squares fit of a*cos(w n) + b*sin(w n) + c to y[0..len) (n counted from 0, w in rad per
 * sample); returns the amplitude sqrt(a^2 + b^2). Solved in double by Cramer's rule. */
static inline double ref_sine_amplitude(const double *y, size_t len, double w) {
    double m[3][3] = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}}, r[3] = {0, 0, 0}, det, a, b;
    size_t n;
    int i, j;
    for (n = 0; n < len; n++) {
        double v[3];
        v[0] = cos(w * (double)n);
        v[1] = sin(w * (double)n);
        v[2] = 1.0;
        for (i = 0; i < 3; i++) {
            for (j = 0; j < 3; j++) {
                m[i][j] += v[i] * v[j];
            }
            r[i] += v[i] * y[n];
        }
    }
#define REF_DET3(A)                                                                          \
    ((A)[0][0] * ((A)[1][1] * (A)[2][2] - (A)[1][2] * (A)[2][1]) -                            \
     (A)[0][1] * ((A)[1][0] * (A)[2][2] - (A)[1][2] * (A)[2][0]) +                            \
     (A)[0][2] * ((A)[1][0] * (A)[2][1] - (A)[1][1] * (A)[2][0]))
    det = REF_DET3(m);
    {
        double ma[3][3], mb[3][3];
        for (i = 0; i < 3; i++) {
            for (j = 0; j < 3; j++) {
                ma[i][j] = j == 0 ? r[i] : m[i][j];
                mb[i][j] = j == 1 ? r[i] : m[i][j];
            }
        }
        a = REF_DET3(ma) / det;
        b = REF_DET3(mb) / det;
    }
#undef REF_DET3
    return sqrt(a * a + b * b);
}

/* |sum_n h[n] e^{-i w n}|: the magnitude response of taps h[0..len) at w rad per sample. */
static inline double ref_dtft_magnitude(const double *h, size_t len, double w) {
    double re = 0.0, im = 0.0;
    size_t n;
    for (n = 0; n < len; n++) {
        re += h[n] * cos(w * (double)n);
        im -= h[n] * sin(w * (double)n);
    }
    return hypot(re, im);
}

/* Direct time-domain convolution y[n] = sum_m h[m] x[n + shift - m] (x read as 0 outside
 * [0, len)), for n in [0, len). */
static inline void ref_convolve(const double *x, size_t len, const double *h, size_t taps,
                                long long shift, double *y) {
    size_t n, m;
    for (n = 0; n < len; n++) {
        double acc = 0.0;
        for (m = 0; m < taps; m++) {
            long long j = (long long)n + shift - (long long)m;
            if (j >= 0 && j < (long long)len) {
                acc += h[m] * x[j];
            }
        }
        y[n] = acc;
    }
}

/* Two pipeline configs hold the same values, field by field (their padding bytes are not data:
 * a memcmp would read bytes nobody wrote, which memcheck reports). NaN equals NaN here. */
static inline int ref_same_pipeline_config(const tonecore_pipeline_config *a,
                                           const tonecore_pipeline_config *b) {
#define REF_SAME(f) (a->f == b->f || (a->f != a->f && b->f != b->f))
    return REF_SAME(struct_size) && REF_SAME(sample_rate) && REF_SAME(channels) &&
           REF_SAME(max_block) && REF_SAME(fft_size) && REF_SAME(ramp_ms) &&
           REF_SAME(sample_format) && REF_SAME(eq_enabled) && REF_SAME(layout) &&
           REF_SAME(mode) && REF_SAME(edges) && REF_SAME(edges_len) && REF_SAME(eq_gains_db) &&
           REF_SAME(eq_gains_len) && REF_SAME(level_enabled) && REF_SAME(target_lufs) &&
           REF_SAME(attack_ms) && REF_SAME(release_ms) && REF_SAME(max_boost_db) &&
           REF_SAME(max_cut_db) && REF_SAME(gate_lufs) && REF_SAME(window_ms) &&
           REF_SAME(limiter_enabled) && REF_SAME(ceiling_db) && REF_SAME(lookahead_ms) &&
           REF_SAME(limiter_release_ms) && REF_SAME(limiter_true_peak) && REF_SAME(level_mode) &&
           REF_SAME(track_gain_db) && REF_SAME(phase) && REF_SAME(partition);
#undef REF_SAME
}

/* BS.1770-4 integrated loudness (LUFS) of planar `x` (channels x frames) at 48 kHz: the
 * standard's 48 kHz K-weighting coefficients, 400 ms blocks with 75 % overlap, the -70 LUFS
 * absolute and -10 LU relative gates; -INFINITY when nothing passes the gates. */
static inline double ref_integrated_48k(const double *x, size_t channels, size_t frames) {
    const double b1[3] = {1.53512485958697, -2.69169618940638, 1.19839281085285};
    const double a1[3] = {1.0, -1.69065929318241, 0.73248077421585};
    const double b2[3] = {1.0, -2.0, 1.0};
    const double a2[3] = {1.0, -1.99004745483398, 0.99007225036621};
    const size_t block = 48000 * 4 / 10, step = 48000 / 10;
    size_t nblocks = frames < block ? 0 : (frames - block) / step + 1;
    double *power = (double *)ref_alloc(nblocks + 1, sizeof(double));
    double *y = (double *)ref_alloc(frames + 1, sizeof(double));
    for (size_t c = 0; c < channels; c++) {
        double s1[2] = {0, 0}, s2[2] = {0, 0}; /* direct form II transposed states */
        for (size_t i = 0; i < frames; i++) {
            double v = x[c * frames + i];
            double u = b1[0] * v + s1[0];
            s1[0] = b1[1] * v - a1[1] * u + s1[1];
            s1[1] = b1[2] * v - a1[2] * u;
            double w = b2[0] * u + s2[0];
            s2[0] = b2[1] * u - a2[1] * w + s2[1];
            s2[1] = b2[2] * u - a2[2] * w;
            y[i] = w * w;
        }
        for (size_t j = 0; j < nblocks; j++) {
            double sum = 0;
            for (size_t i = j * step; i < j * step + block; i++) sum += y[i];
            power[j] += sum / (double)block;
        }
    }
    double total = 0;
    size_t n = 0;
    for (size_t j = 0; j < nblocks; j++)
        if (-0.691 + 10 * log10(power[j]) > -70.0) { total += power[j]; n++; }
    double result = -INFINITY;
    if (n > 0) {
        double rel = -0.691 + 10 * log10(total / (double)n) - 10.0;
        total = 0;
        n = 0;
        for (size_t j = 0; j < nblocks; j++) {
            double l = -0.691 + 10 * log10(power[j]);
            if (l > -70.0 && l > rel) { total += power[j]; n++; }
        }
        if (n > 0) result = -0.691 + 10 * log10(total / (double)n);
    }
    free(power);
    free(y);
    return result;
}

#endif /* TONECORE_FFI_REF_H */
