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

#endif /* TONECORE_FFI_REF_H */
