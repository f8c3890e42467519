/*
 * tonecore.hpp — header-only C++17 RAII wrapper over the tonecore C ABI (tonecore.h).
 *
 * Written by hand (tonecore.h is generated); link exactly as for C: `-ltonecore` or
 * `pkg-config --cflags --libs tonecore`.
 *
 * Ownership. Every C object has one move-only class (tonecore::stft, equalizer, pipeline,
 * params, limiter, loudness_meter, playback, profile) that owns its pointer and frees it in its destructor. Moving
 * leaves the source empty (get() == nullptr, operator bool false); calling a method on an empty
 * object reports TONECORE_STATUS_NULL_POINTER like the C function does. release() gives the raw
 * pointer back to the caller, who must then free it with the matching tonecore_*_free.
 *
 * Errors: exceptions on the control path, status codes on the audio path.
 *  - Every control-path call (construction, setters, analysis, rendering) throws tonecore::error
 *    on failure. It carries the tonecore_status (error::status()) and the detail message that
 *    tonecore_last_error_message() held right after the failing call (error::detail()), read on
 *    the calling thread before anything else could overwrite it; what() combines both.
 *  - Audio-safe calls (process, read, reset, nonfinite_count) are noexcept and return a
 *    [[nodiscard]] tonecore_status instead: throwing allocates the exception object and its
 *    message, which a real-time thread must not do, and an audio callback wants to count a bad
 *    block, not unwind. tonecore::check(status) turns such a status into an exception off the
 *    audio thread. (An `expected`-style result was the alternative; std::expected is C++23, and
 *    exceptions are what C++ hosts of a library like this already catch.)
 *  - Callables given as progress callbacks run on tonecore's worker threads; an exception they
 *    throw is caught at the C boundary (never unwinds through the library), cancels the work where
 *    the C function can be cancelled, and is rethrown from the wrapper call on the caller's thread.
 *
 * Thread classes are those of the C functions each method calls (see tonecore.h).
 */
#ifndef TONECORE_HPP
#define TONECORE_HPP

#if !defined(__cplusplus) || (__cplusplus < 201703L && (!defined(_MSVC_LANG) || _MSVC_LANG < 201703L))
#error "tonecore.hpp needs C++17 or later (the C header tonecore.h works from C99 / C++11)"
#endif

#include <cstddef>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tonecore.h"

namespace tonecore {

/// A failed tonecore call: its status and the library's detail message.
class error : public std::runtime_error {
public:
    error(tonecore_status status, std::string detail)
        : std::runtime_error(compose(status, detail)), status_(status), detail_(std::move(detail)) {}

    /// The status the C function returned (never TONECORE_STATUS_OK).
    tonecore_status status() const noexcept { return status_; }
    /// The detail message (tonecore_last_error_message()); empty for audio-path statuses.
    const std::string &detail() const noexcept { return detail_; }

private:
    static std::string compose(tonecore_status status, const std::string &detail) {
        std::string text = "tonecore: ";
        text += tonecore_status_str(static_cast<int32_t>(status));
        if (!detail.empty()) {
            text += ": ";
            text += detail;
        }
        return text;
    }

    tonecore_status status_;
    std::string detail_;
};

/// The static description of a status (tonecore_status_str). Audio-safe.
inline const char *status_str(tonecore_status status) noexcept {
    return tonecore_status_str(static_cast<int32_t>(status));
}

/// Throws tonecore::error unless `status` is OK. Use it on the control path only: the detail
/// message is read from this thread's last-error slot, which audio-safe functions never set (for
/// their statuses pass with_detail = false).
inline void check(tonecore_status status, bool with_detail = true) {
    if (status != TONECORE_STATUS_OK) {
        throw error(status, with_detail ? std::string(tonecore_last_error_message()) : std::string());
    }
}

/// The library's version string ("MAJOR.MINOR.PATCH").
inline std::string version() { return tonecore_version_string(); }

/// Throws std::runtime_error when the loaded library's ABI differs from this header's.
inline void check_abi() {
    if (tonecore_abi_version() != TONECORE_ABI_VERSION) {
        throw std::runtime_error("tonecore: the library's ABI version differs from tonecore.h's");
    }
}

namespace detail {

/// Owns one C object and frees it with `Free`. Move-only.
template <typename T, void (*Free)(T *)>
class handle {
public:
    handle() noexcept = default;
    explicit handle(T *raw) noexcept : raw_(raw) {}
    handle(const handle &) = delete;
    handle &operator=(const handle &) = delete;
    handle(handle &&other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
    handle &operator=(handle &&other) noexcept {
        if (this != &other) {
            reset();
            raw_ = std::exchange(other.raw_, nullptr);
        }
        return *this;
    }
    ~handle() { reset(); }

    /// The C pointer (still owned by this object), or nullptr when empty.
    T *get() const noexcept { return raw_; }
    /// Gives up ownership: the caller frees the returned pointer with the C _free function.
    T *release() noexcept { return std::exchange(raw_, nullptr); }
    /// Frees the object now (the C _free function); the handle becomes empty.
    void reset() noexcept {
        if (raw_ != nullptr) {
            Free(std::exchange(raw_, nullptr));
        }
    }
    explicit operator bool() const noexcept { return raw_ != nullptr; }

private:
    T *raw_ = nullptr;
};

/// Runs a C++ callable from a C callback: stores the first exception instead of letting it
/// unwind into tonecore, and rethrows it on the caller's thread afterwards. tonecore calls
/// progress callbacks one at a time, so no lock is needed.
template <typename F>
struct callback {
    F &f;
    std::exception_ptr failure{};

    bool call(std::size_t done, std::size_t total) noexcept {
        if (failure) {
            return false;
        }
        try {
            using result = decltype(f(done, total));
            if constexpr (std::is_same_v<result, void>) {
                f(done, total);
                return true;
            } else {
                return static_cast<bool>(f(done, total));
            }
        } catch (...) {
            failure = std::current_exception();
            return false;
        }
    }

    static void progress(void *self, std::size_t done, std::size_t total) {
        (void)static_cast<callback *>(self)->call(done, total);
    }
    /// Render progress: non-zero cancels (the callable returned false or threw).
    static int32_t render_progress(void *self, std::size_t done, std::size_t total) {
        return static_cast<callback *>(self)->call(done, total) ? 0 : 1;
    }
    void rethrow() const {
        if (failure) {
            std::rethrow_exception(failure);
        }
    }
};

} // namespace detail

// ---------------------------------------------------------------------------------------------
// Windows, bands and analysis (free functions; control path).

/// Fills `output[0..len)` with window `kind` (TONECORE_WINDOW_*).
inline void window_fill(tonecore_window kind, float *output, std::size_t len) {
    check(tonecore_window_fill_f32(kind, output, len));
}
inline void window_fill(tonecore_window kind, double *output, std::size_t len) {
    check(tonecore_window_fill_f64(kind, output, len));
}
/// The window `kind` of length `len` in double precision.
inline std::vector<double> window(tonecore_window kind, std::size_t len) {
    std::vector<double> w(len);
    window_fill(kind, w.data(), w.size());
    return w;
}

/// The number of bands of a built-in layout (TONECORE_LAYOUT_CRITICAL, OCTAVE, THIRD_OCTAVE).
inline std::size_t layout_bands(tonecore_layout layout) {
    std::size_t bands = 0;
    check(tonecore_layout_bands(layout, nullptr, 0, &bands));
    return bands;
}

/// Integrated, momentary/short-term max, range and true peak of a planar buffer.
inline tonecore_loudness_report loudness(const float *input, std::size_t len, std::size_t channels,
                                         uint32_t sample_rate) {
    tonecore_loudness_report r{};
    check(tonecore_loudness_measure_f32(input, len, channels, sample_rate, &r));
    return r;
}
inline tonecore_loudness_report loudness(const double *input, std::size_t len,
                                         std::size_t channels, uint32_t sample_rate) {
    tonecore_loudness_report r{};
    check(tonecore_loudness_measure_f64(input, len, channels, sample_rate, &r));
    return r;
}
/// Only the gated integrated loudness (LUFS; -inf for silence) of a planar buffer.
inline double integrated_loudness(const float *input, std::size_t len, std::size_t channels,
                                  uint32_t sample_rate) {
    double lufs = 0.0;
    check(tonecore_loudness_integrated_f32(input, len, channels, sample_rate, &lufs));
    return lufs;
}
inline double integrated_loudness(const double *input, std::size_t len, std::size_t channels,
                                  uint32_t sample_rate) {
    double lufs = 0.0;
    check(tonecore_loudness_integrated_f64(input, len, channels, sample_rate, &lufs));
    return lufs;
}

/// Default settings of equalize().
inline tonecore_equalize_config equalize_config() {
    tonecore_equalize_config c;
    check(tonecore_equalize_config_init(&c));
    return c;
}

/// Offline EQ of a whole planar buffer (tonecore_equalize_*). `progress(done, total)` (optional)
/// runs on worker threads; if it throws, the exception is rethrown here after the call.
template <typename T>
void equalize(const tonecore_equalize_config &config, const std::vector<double> &gains_db,
              const T *input, std::size_t len, std::size_t channels, T *output,
              std::size_t output_len) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double");
    if constexpr (std::is_same_v<T, float>) {
        check(tonecore_equalize_f32(&config, gains_db.data(), gains_db.size(), input, len,
                                    channels, output, output_len, nullptr, nullptr));
    } else {
        check(tonecore_equalize_f64(&config, gains_db.data(), gains_db.size(), input, len,
                                    channels, output, output_len, nullptr, nullptr));
    }
}
template <typename T, typename F>
void equalize(const tonecore_equalize_config &config, const std::vector<double> &gains_db,
              const T *input, std::size_t len, std::size_t channels, T *output,
              std::size_t output_len, F &&progress) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double");
    detail::callback<std::remove_reference_t<F>> cb{progress};
    tonecore_status st;
    if constexpr (std::is_same_v<T, float>) {
        st = tonecore_equalize_f32(&config, gains_db.data(), gains_db.size(), input, len, channels,
                                   output, output_len, &decltype(cb)::progress, &cb);
    } else {
        st = tonecore_equalize_f64(&config, gains_db.data(), gains_db.size(), input, len, channels,
                                   output, output_len, &decltype(cb)::progress, &cb);
    }
    cb.rethrow();
    check(st);
}

/// Joins planar `a` and `b` with an `overlap`-frame crossfade into `output`; returns the frames
/// per channel written. Audio-safe in C, but this wrapper throws: use it off the audio thread.
inline std::size_t crossfade_concat(const float *a, std::size_t a_len, const float *b,
                                    std::size_t b_len, std::size_t channels, std::size_t overlap,
                                    tonecore_fade_curve curve, float *output,
                                    std::size_t output_len) {
    std::size_t frames = 0;
    check(tonecore_crossfade_concat_f32(a, a_len, b, b_len, channels, overlap, curve, output,
                                        output_len, &frames));
    return frames;
}
inline std::size_t crossfade_concat(const double *a, std::size_t a_len, const double *b,
                                    std::size_t b_len, std::size_t channels, std::size_t overlap,
                                    tonecore_fade_curve curve, double *output,
                                    std::size_t output_len) {
    std::size_t frames = 0;
    check(tonecore_crossfade_concat_f64(a, a_len, b, b_len, channels, overlap, curve, output,
                                        output_len, &frames));
    return frames;
}

// ---------------------------------------------------------------------------------------------
// STFT.

/// A short-time Fourier transform object (tonecore_stft). Single-threaded: one call at a time.
class stft : public detail::handle<tonecore_stft, tonecore_stft_free> {
public:
    /// The default configuration (tonecore_stft_config_init).
    static tonecore_stft_config config() {
        tonecore_stft_config c;
        check(tonecore_stft_config_init(&c));
        return c;
    }
    stft() noexcept = default;
    /// Creates the object (control-thread); throws tonecore::error.
    explicit stft(const tonecore_stft_config &c) : handle(create(c)) {}

    std::size_t bins() const {
        std::size_t n = 0;
        check(tonecore_stft_bins(get(), &n));
        return n;
    }
    std::size_t frame_count(std::size_t signal_len) const {
        std::size_t n = 0;
        check(tonecore_stft_frame_count(get(), signal_len, &n));
        return n;
    }
    std::size_t signal_len(std::size_t frames) const {
        std::size_t n = 0;
        check(tonecore_stft_signal_len(get(), frames, &n));
        return n;
    }
    /// Forward transform; returns the frames per channel written to `output`.
    std::size_t forward(const float *input, std::size_t len, std::size_t channels,
                        tonecore_complex_f32 *output, std::size_t output_len) {
        std::size_t frames = 0;
        check(tonecore_stft_forward_f32(get(), input, len, channels, output, output_len, &frames));
        return frames;
    }
    std::size_t forward(const double *input, std::size_t len, std::size_t channels,
                        tonecore_complex_f64 *output, std::size_t output_len) {
        std::size_t frames = 0;
        check(tonecore_stft_forward_f64(get(), input, len, channels, output, output_len, &frames));
        return frames;
    }
    /// Inverse transform; returns the samples per channel written to `output`.
    std::size_t inverse(const tonecore_complex_f32 *spectrum, std::size_t len,
                        std::size_t channels, float *output, std::size_t output_len) {
        std::size_t n = 0;
        check(tonecore_stft_inverse_f32(get(), spectrum, len, channels, output, output_len, &n));
        return n;
    }
    std::size_t inverse(const tonecore_complex_f64 *spectrum, std::size_t len,
                        std::size_t channels, double *output, std::size_t output_len) {
        std::size_t n = 0;
        check(tonecore_stft_inverse_f64(get(), spectrum, len, channels, output, output_len, &n));
        return n;
    }

private:
    static tonecore_stft *create(const tonecore_stft_config &c) {
        tonecore_stft *raw = nullptr;
        check(tonecore_stft_new(&c, &raw));
        return raw;
    }
};

// ---------------------------------------------------------------------------------------------
// Streaming equalizer.

/// A streaming equalizer (tonecore_equalizer). process/reset/nonfinite_count belong to one audio
/// thread; set_gains/gains/latency/bands work from any thread at any time.
class equalizer : public detail::handle<tonecore_equalizer, tonecore_equalizer_free> {
public:
    static tonecore_equalizer_config config() {
        tonecore_equalizer_config c;
        check(tonecore_equalizer_config_init(&c));
        return c;
    }
    equalizer() noexcept = default;
    explicit equalizer(const tonecore_equalizer_config &c) : handle(create(c)) {}

    /// New band gains in dB (control path: designs the kernel on this thread).
    void set_gains(const double *gains_db, std::size_t len) const {
        check(tonecore_equalizer_set_gains(get(), gains_db, len));
    }
    void set_gains(const std::vector<double> &gains_db) const {
        set_gains(gains_db.data(), gains_db.size());
    }
    std::vector<double> gains() const {
        std::vector<double> g(bands());
        check(tonecore_equalizer_gains(get(), g.data(), g.size()));
        return g;
    }
    std::size_t bands() const {
        std::size_t n = 0;
        check(tonecore_equalizer_bands(get(), &n), false);
        return n;
    }
    std::size_t latency() const {
        std::size_t n = 0;
        check(tonecore_equalizer_latency(get(), &n), false);
        return n;
    }

    // Audio path: noexcept, statuses instead of exceptions.
    [[nodiscard]] tonecore_status process(const float *in, std::size_t in_len, float *out,
                                          std::size_t out_len) noexcept {
        return tonecore_equalizer_process_f32(get(), in, in_len, out, out_len);
    }
    [[nodiscard]] tonecore_status process(const double *in, std::size_t in_len, double *out,
                                          std::size_t out_len) noexcept {
        return tonecore_equalizer_process_f64(get(), in, in_len, out, out_len);
    }
    [[nodiscard]] tonecore_status process_interleaved(const float *in, std::size_t in_len,
                                                      float *out, std::size_t out_len) noexcept {
        return tonecore_equalizer_process_interleaved_f32(get(), in, in_len, out, out_len);
    }
    [[nodiscard]] tonecore_status process_interleaved(const double *in, std::size_t in_len,
                                                      double *out, std::size_t out_len) noexcept {
        return tonecore_equalizer_process_interleaved_f64(get(), in, in_len, out, out_len);
    }
    [[nodiscard]] tonecore_status reset_state() noexcept {
        return tonecore_equalizer_reset(get());
    }
    [[nodiscard]] tonecore_status nonfinite_count(uint64_t &count) noexcept {
        return tonecore_equalizer_nonfinite_count(get(), &count);
    }

private:
    static tonecore_equalizer *create(const tonecore_equalizer_config &c) {
        tonecore_equalizer *raw = nullptr;
        check(tonecore_equalizer_new(&c, &raw));
        return raw;
    }
};

// ---------------------------------------------------------------------------------------------
// Reference matching: profiles, whole-track matching, and the configs of matching pipelines.

/// Default settings of match(), match_pipeline_config() and match_live_pipeline_config()
/// (tonecore_match_config_init).
inline tonecore_match_config match_config() {
    tonecore_match_config c;
    check(tonecore_match_config_init(&c));
    return c;
}

/// Default settings of pipeline::live_match() (tonecore_live_match_config_init).
inline tonecore_live_match_config live_match_config() {
    tonecore_live_match_config c;
    check(tonecore_live_match_config_init(&c));
    return c;
}

/// A signal's profile (tonecore_profile): long-term spectrum on the sixth-octave grid
/// (TONECORE_PROFILE_BANDS bands), loudness, range, true peak. Immutable: any thread may read it.
class profile : public detail::handle<tonecore_profile, tonecore_profile_free> {
public:
    profile() noexcept = default;
    explicit profile(tonecore_profile *raw) noexcept : handle(raw) {}
    /// Measures a planar buffer (`len` samples of `channels`); `threads` 0 = all cores.
    profile(const float *input, std::size_t len, uint32_t channels, uint32_t sample_rate,
            uint32_t threads = 0)
        : handle(compute(input, len, channels, sample_rate, threads)) {}
    profile(const double *input, std::size_t len, uint32_t channels, uint32_t sample_rate,
            uint32_t threads = 0)
        : handle(compute(input, len, channels, sample_rate, threads)) {}

    /// Reads a document written by to_json() (throws INVALID_PROFILE / PROFILE_VERSION).
    static profile from_json(const std::string &json) {
        tonecore_profile *raw = nullptr;
        check(tonecore_profile_from_json(json.data(), json.size(), &raw));
        return profile(raw);
    }
    /// The versioned JSON document.
    std::string to_json() const {
        std::size_t len = 0;
        tonecore_status st = tonecore_profile_to_json(get(), nullptr, 0, &len);
        if (st != TONECORE_STATUS_BUFFER_TOO_SMALL) {
            check(st);
        }
        std::string text(len + 1, '\0');
        check(tonecore_profile_to_json(get(), text.data(), text.size(), &len));
        text.resize(len);
        return text;
    }
    /// The scalar measurements.
    tonecore_profile_info info() const {
        tonecore_profile_info i{};
        i.struct_size = sizeof i;
        check(tonecore_profile_get_info(get(), &i));
        return i;
    }
    /// The spectrum, dB per band (NAN for an absent band).
    std::vector<double> spectrum() const {
        std::vector<double> s(TONECORE_PROFILE_BANDS);
        check(tonecore_profile_spectrum(get(), s.data(), s.size(), nullptr, 0));
        return s;
    }

private:
    static tonecore_profile *compute(const float *input, std::size_t len, uint32_t channels,
                                     uint32_t sample_rate, uint32_t threads) {
        tonecore_profile *raw = nullptr;
        check(tonecore_profile_compute_f32(input, len, channels, sample_rate, threads, &raw));
        return raw;
    }
    static tonecore_profile *compute(const double *input, std::size_t len, uint32_t channels,
                                     uint32_t sample_rate, uint32_t threads) {
        tonecore_profile *raw = nullptr;
        check(tonecore_profile_compute_f64(input, len, channels, sample_rate, threads, &raw));
        return raw;
    }
};

/// Matches a whole planar track to `reference` (tonecore_match_*): EQ, loudness, true-peak
/// ceiling; returns the report. `config` / `render` nullptr: the defaults. An optional
/// `progress(done, total)` runs on worker threads; returning false cancels (this then throws
/// tonecore::error with TONECORE_STATUS_CANCELLED), throwing cancels and rethrows here.
template <typename T>
tonecore_match_report match(const T *input, std::size_t len, T *output, std::size_t output_len,
                            uint32_t channels, uint32_t sample_rate, const profile &reference,
                            const tonecore_match_config *config = nullptr,
                            const tonecore_render_config *render = nullptr) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double");
    tonecore_match_report r{};
    r.struct_size = sizeof r;
    if constexpr (std::is_same_v<T, float>) {
        check(tonecore_match_f32(input, len, output, output_len, channels, sample_rate,
                                 reference.get(), config, render, &r, nullptr, nullptr));
    } else {
        check(tonecore_match_f64(input, len, output, output_len, channels, sample_rate,
                                 reference.get(), config, render, &r, nullptr, nullptr));
    }
    return r;
}
template <typename T, typename F>
tonecore_match_report match(const T *input, std::size_t len, T *output, std::size_t output_len,
                            uint32_t channels, uint32_t sample_rate, const profile &reference,
                            const tonecore_match_config *config,
                            const tonecore_render_config *render, F &&progress) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double");
    detail::callback<std::remove_reference_t<F>> cb{progress};
    tonecore_match_report r{};
    r.struct_size = sizeof r;
    tonecore_status st;
    if constexpr (std::is_same_v<T, float>) {
        st = tonecore_match_f32(input, len, output, output_len, channels, sample_rate,
                                reference.get(), config, render, &r,
                                &decltype(cb)::render_progress, &cb);
    } else {
        st = tonecore_match_f64(input, len, output, output_len, channels, sample_rate,
                                reference.get(), config, render, &r,
                                &decltype(cb)::render_progress, &cb);
    }
    cb.rethrow();
    check(st);
    return r;
}

/// Fills `pipeline` (initialised; its sample_rate, channels, max_block and sample_format are the
/// caller's) with the match of `track` to `reference`; returns the TONECORE_MATCH_OUTCOME_*.
/// The config's eq_gains_db then points into `gains` (resized to TONECORE_PROFILE_BANDS): keep
/// it alive and unmoved while the config is used. Nothing is written on error.
inline int32_t match_pipeline_config(const profile &track, const profile &reference,
                                     tonecore_pipeline_config &pipeline,
                                     std::vector<double> &gains,
                                     const tonecore_match_config *config = nullptr) {
    std::vector<double> g(TONECORE_PROFILE_BANDS);
    tonecore_pipeline_config c = pipeline;
    int32_t outcome = 0;
    check(tonecore_match_pipeline_config(track.get(), reference.get(), config, &c, g.data(),
                                         g.size(), &outcome));
    gains.swap(g);  // the buffer (and the config's pointer into it) moves to `gains`
    pipeline = c;
    return outcome;
}

/// Fills `pipeline` (initialised; its sample_rate, channels, max_block and sample_format are the
/// caller's) for live matching to `reference`: flat sixth-octave EQ, momentary leveller at the
/// target, true-peak limiter. Then create the pipeline and call pipeline::live_match(). Nothing
/// is written on error.
inline void match_live_pipeline_config(const profile &reference,
                                       tonecore_pipeline_config &pipeline,
                                       const tonecore_match_config *config = nullptr) {
    check(tonecore_match_live_pipeline_config(reference.get(), config, &pipeline));
}

// ---------------------------------------------------------------------------------------------
// Pipeline and its parameter handle.

/// Changes a pipeline's parameters and reads its statistics from any thread (tonecore_params).
/// Independent of the pipeline's lifetime.
class params : public detail::handle<tonecore_params, tonecore_params_free> {
public:
    params() noexcept = default;
    explicit params(tonecore_params *raw) noexcept : handle(raw) {}

    void set_eq_gains(const double *gains_db, std::size_t len) const {
        check(tonecore_params_set_eq_gains(get(), gains_db, len));
    }
    void set_eq_gains(const std::vector<double> &gains_db) const {
        set_eq_gains(gains_db.data(), gains_db.size());
    }
    void set_level_target(double lufs) const {
        check(tonecore_params_set_level_target(get(), lufs));
    }
    /// Makes a reference's integrated loudness the target; returns it (LUFS).
    double set_level_reference(const float *reference, std::size_t len,
                               std::size_t channels) const {
        double lufs = 0.0;
        check(tonecore_params_set_level_reference_f32(get(), reference, len, channels, &lufs));
        return lufs;
    }
    double set_level_reference(const double *reference, std::size_t len,
                               std::size_t channels) const {
        double lufs = 0.0;
        check(tonecore_params_set_level_reference_f64(get(), reference, len, channels, &lufs));
        return lufs;
    }
    void set_ceiling_db(double ceiling_db) const {
        check(tonecore_params_set_ceiling_db(get(), ceiling_db));
    }
    void set_bypass(tonecore_stage stage, bool bypassed) const {
        check(tonecore_params_set_bypass(get(), stage, bypassed ? 1u : 0u));
    }
    /// One consistent statistics snapshot.
    tonecore_pipeline_stats stats() const {
        tonecore_pipeline_stats s{};
        s.struct_size = sizeof s;
        check(tonecore_params_stats(get(), &s));
        return s;
    }
    /// A live-matched pipeline's next step towards the match, and where it stands (control
    /// path, any thread, every 0.25-1 s; throws INVALID_ARGUMENT when live matching is off).
    tonecore_live_match_state update_match() const {
        tonecore_live_match_state s{};
        s.struct_size = sizeof s;
        check(tonecore_params_update_match(get(), &s));
        return s;
    }
};

/// EQ -> level matcher -> limiter (tonecore_pipeline). process/reset belong to one audio thread;
/// use params() for changes and statistics from other threads.
class pipeline : public detail::handle<tonecore_pipeline, tonecore_pipeline_free> {
public:
    static tonecore_pipeline_config config() {
        tonecore_pipeline_config c;
        check(tonecore_pipeline_config_init(&c));
        return c;
    }
    pipeline() noexcept = default;
    explicit pipeline(const tonecore_pipeline_config &c) : handle(create(c)) {}

    /// A new parameter handle (control path).
    tonecore::params params() const {
        tonecore_params *raw = nullptr;
        check(tonecore_pipeline_params(get(), &raw));
        return tonecore::params(raw);
    }
    std::size_t latency() const {
        std::size_t n = 0;
        check(tonecore_pipeline_latency(get(), &n), false);
        return n;
    }
    /// Matches the pipeline live to `reference` (copied; the EQ must be on the sixth-octave
    /// grid: see match_live_pipeline_config). Control path, never concurrently with process.
    void live_match(const profile &reference) {
        check(tonecore_pipeline_live_match(get(), reference.get(), nullptr));
    }
    void live_match(const profile &reference, const tonecore_live_match_config &config) {
        check(tonecore_pipeline_live_match(get(), reference.get(), &config));
    }

    // Audio path: noexcept, statuses instead of exceptions.
    [[nodiscard]] tonecore_status process(const float *in, std::size_t in_len, float *out,
                                          std::size_t out_len) noexcept {
        return tonecore_pipeline_process_f32(get(), in, in_len, out, out_len);
    }
    [[nodiscard]] tonecore_status process(const double *in, std::size_t in_len, double *out,
                                          std::size_t out_len) noexcept {
        return tonecore_pipeline_process_f64(get(), in, in_len, out, out_len);
    }
    [[nodiscard]] tonecore_status process_interleaved(const float *in, std::size_t in_len,
                                                      float *out, std::size_t out_len) noexcept {
        return tonecore_pipeline_process_interleaved_f32(get(), in, in_len, out, out_len);
    }
    [[nodiscard]] tonecore_status process_interleaved(const double *in, std::size_t in_len,
                                                      double *out, std::size_t out_len) noexcept {
        return tonecore_pipeline_process_interleaved_f64(get(), in, in_len, out, out_len);
    }
    [[nodiscard]] tonecore_status reset_state() noexcept { return tonecore_pipeline_reset(get()); }

private:
    static tonecore_pipeline *create(const tonecore_pipeline_config &c) {
        tonecore_pipeline *raw = nullptr;
        check(tonecore_pipeline_new(&c, &raw));
        return raw;
    }
};

/// A lookahead peak limiter on its own (tonecore_limiter). Every call on one thread at a time.
class limiter : public detail::handle<tonecore_limiter, tonecore_limiter_free> {
public:
    static tonecore_limiter_config config() {
        tonecore_limiter_config c;
        check(tonecore_limiter_config_init(&c));
        return c;
    }
    limiter() noexcept = default;
    explicit limiter(const tonecore_limiter_config &c) : handle(create(c)) {}

    std::size_t latency() const {
        std::size_t n = 0;
        check(tonecore_limiter_latency(get(), &n), false);
        return n;
    }
    /// Counters since creation or the last reset (throws on failure; not concurrently with
    /// process).
    tonecore_limiter_stats stats() const {
        tonecore_limiter_stats s{};
        s.struct_size = sizeof s;
        check(tonecore_limiter_get_stats(get(), &s), false);
        return s;
    }

    // Audio path: noexcept, statuses instead of exceptions.
    [[nodiscard]] tonecore_status process(const float *in, std::size_t in_len, float *out,
                                          std::size_t out_len) noexcept {
        return tonecore_limiter_process_f32(get(), in, in_len, out, out_len);
    }
    [[nodiscard]] tonecore_status process(const double *in, std::size_t in_len, double *out,
                                          std::size_t out_len) noexcept {
        return tonecore_limiter_process_f64(get(), in, in_len, out, out_len);
    }
    [[nodiscard]] tonecore_status process_interleaved(const float *in, std::size_t in_len,
                                                      float *out, std::size_t out_len) noexcept {
        return tonecore_limiter_process_interleaved_f32(get(), in, in_len, out, out_len);
    }
    [[nodiscard]] tonecore_status process_interleaved(const double *in, std::size_t in_len,
                                                      double *out, std::size_t out_len) noexcept {
        return tonecore_limiter_process_interleaved_f64(get(), in, in_len, out, out_len);
    }
    [[nodiscard]] tonecore_status set_ceiling_db(double db) noexcept {
        return tonecore_limiter_set_ceiling_db(get(), db);
    }
    [[nodiscard]] tonecore_status reset_state() noexcept { return tonecore_limiter_reset(get()); }

private:
    static tonecore_limiter *create(const tonecore_limiter_config &c) {
        tonecore_limiter *raw = nullptr;
        check(tonecore_limiter_new(&c, &raw));
        return raw;
    }
};

// ---------------------------------------------------------------------------------------------
// Loudness meter.

/// A streaming loudness meter (tonecore_loudness_meter). Control path, one thread at a time.
class loudness_meter : public detail::handle<tonecore_loudness_meter, tonecore_loudness_meter_free> {
public:
    loudness_meter() noexcept = default;
    loudness_meter(std::size_t channels, uint32_t sample_rate)
        : handle(create(channels, sample_rate)) {}

    void add(const float *input, std::size_t len) const {
        check(tonecore_loudness_meter_add_f32(get(), input, len));
    }
    void add(const double *input, std::size_t len) const {
        check(tonecore_loudness_meter_add_f64(get(), input, len));
    }
    tonecore_loudness_report report() const {
        tonecore_loudness_report r{};
        check(tonecore_loudness_meter_report(get(), &r));
        return r;
    }
    void clear() const { check(tonecore_loudness_meter_reset(get())); }

private:
    static tonecore_loudness_meter *create(std::size_t channels, uint32_t sample_rate) {
        tonecore_loudness_meter *raw = nullptr;
        check(tonecore_loudness_meter_new(channels, sample_rate, &raw));
        return raw;
    }
};

// ---------------------------------------------------------------------------------------------
// Chunked rendering and playback.

/// Default settings of render_chunked() and playback.
inline tonecore_render_config render_config() {
    tonecore_render_config c;
    check(tonecore_render_config_init(&c));
    return c;
}

/// Renders a whole planar track through fresh pipelines chunk by chunk, in parallel. An optional
/// `progress(done, total)` runs on worker threads; returning false cancels (this then throws
/// tonecore::error with TONECORE_STATUS_CANCELLED), throwing cancels and rethrows here.
template <typename T>
void render_chunked(const tonecore_pipeline_config &pipeline, const tonecore_render_config &config,
                    const T *input, std::size_t len, T *output, std::size_t output_len) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double");
    if constexpr (std::is_same_v<T, float>) {
        check(tonecore_render_chunked_f32(&pipeline, &config, input, len, output, output_len,
                                          nullptr, nullptr));
    } else {
        check(tonecore_render_chunked_f64(&pipeline, &config, input, len, output, output_len,
                                          nullptr, nullptr));
    }
}
template <typename T, typename F>
void render_chunked(const tonecore_pipeline_config &pipeline, const tonecore_render_config &config,
                    const T *input, std::size_t len, T *output, std::size_t output_len,
                    F &&progress) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double");
    detail::callback<std::remove_reference_t<F>> cb{progress};
    tonecore_status st;
    if constexpr (std::is_same_v<T, float>) {
        st = tonecore_render_chunked_f32(&pipeline, &config, input, len, output, output_len,
                                         &decltype(cb)::render_progress, &cb);
    } else {
        st = tonecore_render_chunked_f64(&pipeline, &config, input, len, output, output_len,
                                         &decltype(cb)::render_progress, &cb);
    }
    cb.rethrow();
    check(st);
}

/// A prefetching playback stream (tonecore_playback). read() belongs to one audio thread;
/// seek() and stats() work from any thread.
class playback : public detail::handle<tonecore_playback, tonecore_playback_free> {
public:
    playback() noexcept = default;
    /// Opens a stream over a planar track (copied) in the pipeline's sample format.
    playback(const tonecore_pipeline_config &pipeline, const tonecore_render_config &config,
             const float *track, std::size_t len)
        : handle(open(pipeline, config, track, len)) {}
    playback(const tonecore_pipeline_config &pipeline, const tonecore_render_config &config,
             const double *track, std::size_t len)
        : handle(open(pipeline, config, track, len)) {}

    /// Fills interleaved `output`; `frames` receives how many frames came from the track.
    [[nodiscard]] tonecore_status read(float *output, std::size_t len,
                                       std::size_t &frames) noexcept {
        return tonecore_playback_read_f32(get(), output, len, &frames);
    }
    [[nodiscard]] tonecore_status read(double *output, std::size_t len,
                                       std::size_t &frames) noexcept {
        return tonecore_playback_read_f64(get(), output, len, &frames);
    }
    void seek(double seconds) const { check(tonecore_playback_seek(get(), seconds)); }
    tonecore_playback_stats stats() const {
        tonecore_playback_stats s{};
        check(tonecore_playback_get_stats(get(), &s));
        return s;
    }

private:
    static tonecore_playback *open(const tonecore_pipeline_config &pipeline,
                                   const tonecore_render_config &config, const float *track,
                                   std::size_t len) {
        tonecore_playback *raw = nullptr;
        check(tonecore_playback_open_f32(&pipeline, &config, track, len, &raw));
        return raw;
    }
    static tonecore_playback *open(const tonecore_pipeline_config &pipeline,
                                   const tonecore_render_config &config, const double *track,
                                   std::size_t len) {
        tonecore_playback *raw = nullptr;
        check(tonecore_playback_open_f64(&pipeline, &config, track, len, &raw));
        return raw;
    }
};

} // namespace tonecore

#endif // TONECORE_HPP
