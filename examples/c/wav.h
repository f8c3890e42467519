/*
 * wav.h — a small WAV reader/writer for the example host (example code, not part of tonecore).
 *
 * Reads RIFF/WAVE files with 16-bit PCM or 32-bit IEEE float samples (plain or
 * WAVE_FORMAT_EXTENSIBLE), any channel count, skipping chunks it does not know; writes the same
 * two formats. Samples are held as interleaved floats (16-bit PCM scaled by 1/32768).
 */
#ifndef TONECORE_EXAMPLE_WAV_H
#define TONECORE_EXAMPLE_WAV_H

#include <stddef.h>
#include <stdint.h>

typedef enum wav_format { WAV_PCM16 = 1, WAV_FLOAT32 = 3 } wav_format;

typedef struct wav_audio {
    uint32_t sample_rate;
    uint16_t channels;
    wav_format format;
    size_t frames;
    float *samples; /* interleaved, frames * channels values; owned (wav_free) */
} wav_audio;

/* Reads `path` into `audio`. Returns 0, or -1 with a message in `error` (nothing to free). */
int wav_read(const char *path, wav_audio *audio, char *error, size_t error_len);

/* Writes `audio` to `path` in `audio->format` (16-bit values are rounded and clipped).
 * Returns 0, or -1 with a message in `error`. */
int wav_write(const char *path, const wav_audio *audio, char *error, size_t error_len);

/* Frees the samples of a successfully read or filled `audio`. */
void wav_free(wav_audio *audio);

#endif
