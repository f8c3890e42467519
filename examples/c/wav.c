/* wav.c — see wav.h. Byte-order independent: every field is read and written little-endian. */
#include "wav.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *error, size_t error_len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, error_len, fmt, ap);
    va_end(ap);
    return -1;
}

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v) {
    put16(p, (uint16_t)(v & 0xffff));
    put16(p + 2, (uint16_t)(v >> 16));
}

int wav_read(const char *path, wav_audio *audio, char *error, size_t error_len) {
    FILE *f = fopen(path, "rb");
    unsigned char header[12], chunk[8], fmt[40];
    int have_fmt = 0;
    uint16_t format = 0, channels = 0, bits = 0;
    uint32_t rate = 0;

    memset(audio, 0, sizeof *audio);
    if (f == NULL) {
        return fail(error, error_len, "cannot open %s", path);
    }
    if (fread(header, 1, 12, f) != 12 || memcmp(header, "RIFF", 4) != 0 ||
        memcmp(header + 8, "WAVE", 4) != 0) {
        fclose(f);
        return fail(error, error_len, "%s is not a RIFF/WAVE file", path);
    }
    while (fread(chunk, 1, 8, f) == 8) {
        uint32_t size = le32(chunk + 4);
        if (memcmp(chunk, "fmt ", 4) == 0) {
            if (size < 16 || size > sizeof fmt || fread(fmt, 1, size, f) != size) {
                break;
            }
            format = le16(fmt);
            channels = le16(fmt + 2);
            rate = le32(fmt + 4);
            bits = le16(fmt + 14);
            if (format == 0xFFFE && size >= 26) { /* WAVE_FORMAT_EXTENSIBLE: sub-format GUID */
                format = le16(fmt + 24);
            }
            have_fmt = 1;
            if (size % 2 == 1) {
                fseek(f, 1, SEEK_CUR);
            }
        } else if (memcmp(chunk, "data", 4) == 0) {
            size_t bytes_per_sample = bits / 8u, count, i;
            unsigned char *raw;
            if (!have_fmt) {
                break;
            }
            if (!((format == WAV_PCM16 && bits == 16) || (format == WAV_FLOAT32 && bits == 32)) ||
                channels == 0 || rate == 0) {
                fclose(f);
                return fail(error, error_len,
                            "%s: only 16-bit PCM and 32-bit float are supported (format %u, %u "
                            "bits, %u channels)",
                            path, format, bits, channels);
            }
            count = size / bytes_per_sample;
            count -= count % channels;
            raw = (unsigned char *)malloc(count * bytes_per_sample + 1);
            audio->samples = (float *)malloc((count + 1) * sizeof(float));
            if (raw == NULL || audio->samples == NULL ||
                fread(raw, bytes_per_sample, count, f) != count) {
                free(raw);
                wav_free(audio);
                fclose(f);
                return fail(error, error_len, "%s: short or unreadable data chunk", path);
            }
            for (i = 0; i < count; i++) {
                const unsigned char *p = raw + i * bytes_per_sample;
                if (format == WAV_PCM16) {
                    audio->samples[i] = (float)((int16_t)le16(p)) / 32768.0f;
                } else {
                    uint32_t u = le32(p);
                    float v;
                    memcpy(&v, &u, sizeof v);
                    audio->samples[i] = v;
                }
            }
            free(raw);
            fclose(f);
            audio->sample_rate = rate;
            audio->channels = channels;
            audio->format = (wav_format)format;
            audio->frames = count / channels;
            return 0;
        } else if (fseek(f, (long)size + (long)(size % 2), SEEK_CUR) != 0) {
            break;
        }
    }
    fclose(f);
    return fail(error, error_len, "%s: no fmt/data chunk", path);
}

int wav_write(const char *path, const wav_audio *audio, char *error, size_t error_len) {
    const int is_float = audio->format == WAV_FLOAT32;
    const uint32_t bytes_per_sample = is_float ? 4u : 2u;
    const size_t count = audio->frames * audio->channels;
    const uint32_t data_bytes = (uint32_t)(count * bytes_per_sample);
    /* Float files carry an 18-byte fmt (cbSize 0) and a fact chunk, as the format requires. */
    const uint32_t fmt_bytes = is_float ? 18u : 16u;
    const uint32_t fact_bytes = is_float ? 12u : 0u;
    unsigned char h[58];
    size_t i, n = 0;
    FILE *f;

    if (count * bytes_per_sample > 0xFFFFFFF0u - 58u) {
        return fail(error, error_len, "%s: too long for a WAV file", path);
    }
    f = fopen(path, "wb");
    if (f == NULL) {
        return fail(error, error_len, "cannot create %s", path);
    }
    memcpy(h, "RIFF", 4);
    put32(h + 4, 4 + (8 + fmt_bytes) + fact_bytes + 8 + data_bytes);
    memcpy(h + 8, "WAVEfmt ", 8);
    put32(h + 16, fmt_bytes);
    put16(h + 20, (uint16_t)audio->format);
    put16(h + 22, audio->channels);
    put32(h + 24, audio->sample_rate);
    put32(h + 28, audio->sample_rate * audio->channels * bytes_per_sample);
    put16(h + 32, (uint16_t)(audio->channels * bytes_per_sample));
    put16(h + 34, (uint16_t)(8 * bytes_per_sample));
    n = 36;
    if (is_float) {
        put16(h + n, 0);
        memcpy(h + n + 2, "fact", 4);
        put32(h + n + 6, 4);
        put32(h + n + 10, (uint32_t)audio->frames);
        n += 14;
    }
    memcpy(h + n, "data", 4);
    put32(h + n + 4, data_bytes);
    n += 8;
    if (fwrite(h, 1, n, f) != n) {
        fclose(f);
        return fail(error, error_len, "%s: write failed", path);
    }
    for (i = 0; i < count; i++) {
        unsigned char b[4];
        float v = audio->samples[i];
        if (is_float) {
            uint32_t u;
            memcpy(&u, &v, sizeof u);
            put32(b, u);
        } else {
            double s = floor((double)v * 32768.0 + 0.5);
            s = s > 32767.0 ? 32767.0 : (s < -32768.0 ? -32768.0 : s);
            put16(b, (uint16_t)(int16_t)s);
        }
        if (fwrite(b, 1, bytes_per_sample, f) != bytes_per_sample) {
            fclose(f);
            return fail(error, error_len, "%s: write failed", path);
        }
    }
    if (fclose(f) != 0) {
        return fail(error, error_len, "%s: write failed", path);
    }
    return 0;
}

void wav_free(wav_audio *audio) {
    free(audio->samples);
    audio->samples = NULL;
}
