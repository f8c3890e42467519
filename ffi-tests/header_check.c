/*
 * header_check.c — include/tonecore.h compiles and links as C99 and as C++11 (with
 * -Wall -Wextra -Werror -pedantic), and against the static library libtonecore.a.
 *
 * Built three times by the Makefile: build/header_c (cc -std=c99, shared library),
 * build/header_cpp (g++ -std=c++11 -x c++, shared library) and build/header_static (cc -std=c99,
 * libtonecore.a). Each build runs a small smoke test through the ABI so that linking is proved,
 * not just compiling. Must stay valid C99 and C++11 at once.
 */
#include "tonecore.h"
#include "check.h"

/* The header's types are usable in both languages, with the documented sizes. */
typedef char check_status_is_4_bytes[sizeof(tonecore_status) == 4 ? 1 : -1];
typedef char check_window_is_4_bytes[sizeof(tonecore_window) == 4 ? 1 : -1];
typedef char check_format_is_4_bytes[sizeof(tonecore_sample_format) == 4 ? 1 : -1];
typedef char check_complex_f32_layout[sizeof(tonecore_complex_f32) == 2 * sizeof(float) ? 1 : -1];
typedef char check_complex_f64_layout[sizeof(tonecore_complex_f64) == 2 * sizeof(double) ? 1 : -1];
typedef char check_struct_size_first[offsetof(tonecore_stft_config, struct_size) == 0 ? 1 : -1];

#if defined(__cplusplus)
#define LANGUAGE "C++11"
#elif defined(HEADER_CHECK_STATIC)
#define LANGUAGE "C99 (static libtonecore.a)"
#else
#define LANGUAGE "C99"
#endif

int main(void) {
    uint32_t abi;
    const char *version;
    double window[16];
    size_t i;
    tonecore_stft_config config;
    tonecore_stft *stft = NULL;
    double signal[64];
    tonecore_complex_f64 spectrum[4 * 9];
    size_t frames = 0;
    tonecore_status status;

    (void)sizeof(check_status_is_4_bytes);
    (void)sizeof(check_window_is_4_bytes);
    (void)sizeof(check_format_is_4_bytes);
    (void)sizeof(check_complex_f32_layout);
    (void)sizeof(check_complex_f64_layout);
    (void)sizeof(check_struct_size_first);

    check_section("header compiles and links as " LANGUAGE);

    abi = tonecore_abi_version();
    CHECK_EQ_INT(abi, TONECORE_ABI_VERSION);
    version = tonecore_version_string();
    CHECK_STR_EQ(version, TONECORE_VERSION);

    /* A window fill and one small STFT go through the linked library. */
    status = tonecore_window_fill_f64(TONECORE_WINDOW_HANN, window, 16);
    CHECK_STATUS(status, TONECORE_STATUS_OK);
    CHECK(window[0] == 0.0);
    CHECK(window[8] == 1.0);

    CHECK_STATUS(tonecore_stft_config_init(&config), TONECORE_STATUS_OK);
    config.fft_size = 16;
    config.hop = 16;
    config.window = TONECORE_WINDOW_HANN;
    config.sample_format = TONECORE_SAMPLE_FORMAT_F64;
    config.threads = 1;
    CHECK_STATUS(tonecore_stft_new(&config, &stft), TONECORE_STATUS_OK);
    CHECK(stft != NULL);
    for (i = 0; i < 64; i++) {
        signal[i] = 1.0;
    }
    CHECK_STATUS(tonecore_stft_forward_f64(stft, signal, 64, 1, spectrum, 4 * 9, &frames),
                 TONECORE_STATUS_OK);
    CHECK_EQ_SIZE(frames, 4);
    /* DC bin of a constant 1 under periodic Hann(16) is the window sum, 8. */
    CHECK(spectrum[0].re > 8.0 - 1e-12 && spectrum[0].re < 8.0 + 1e-12);
    tonecore_stft_free(stft);

    return check_finish();
}
