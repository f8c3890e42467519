/*
 * test_cpp.cpp — the C++17 RAII wrapper include/tonecore.hpp (built with g++ -std=c++17 -Wall
 * -Wextra -Werror -pedantic under ASan+UBSan+LSan like every C test).
 *
 * Handles are move-only and free exactly once (LeakSanitizer / ASan see a leak or a double
 * free); moved-from and default handles report NULL_POINTER; tonecore::error carries the status
 * and the detail message of the failing call; audio-path methods return statuses and write
 * nothing on refusal; results are checked against closed forms (a +6 dB flat EQ doubles a
 * sine's amplitude, BS.1770 gives -23 LUFS for a -23 dBFS stereo 1 kHz sine, the DC bin of a
 * constant under periodic Hann(N) is N/2, Hann's closed form); a control std::thread changes
 * parameters while the audio thread processes; exceptions thrown by progress callables cross
 * the C library on the C++ side only and come back on the caller's thread; profiles, matching
 * and live matching through the wrappers (JSON round trip, a live match that warms up and moves
 * the EQ, refusals as tonecore::error).
 */
#include <tonecore.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "check.h"
#include "ref.h"

namespace {

constexpr uint32_t SR = 44100;
constexpr double PI = 3.14159265358979323846;

template <typename T>
constexpr bool move_only_v = !std::is_copy_constructible_v<T> && !std::is_copy_assignable_v<T> &&
                             std::is_nothrow_move_constructible_v<T> &&
                             std::is_nothrow_move_assignable_v<T> &&
                             std::is_nothrow_destructible_v<T>;
static_assert(move_only_v<tonecore::stft>);
static_assert(move_only_v<tonecore::equalizer>);
static_assert(move_only_v<tonecore::pipeline>);
static_assert(move_only_v<tonecore::params>);
static_assert(move_only_v<tonecore::limiter>);
static_assert(move_only_v<tonecore::loudness_meter>);
static_assert(move_only_v<tonecore::playback>);
static_assert(move_only_v<tonecore::profile>);
static_assert(std::is_base_of_v<std::runtime_error, tonecore::error>);

/* Runs `body`, which must throw tonecore::error with `status`; checks detail and what(). */
template <typename F>
void expect_error(F &&body, tonecore_status status, bool want_detail, const char *what) {
    try {
        body();
        CHECK_MSG(false, "%s: no exception", what);
    } catch (const tonecore::error &e) {
        CHECK_MSG(e.status() == status, "%s: status %s, want %s", what,
                  check_status_name(e.status()), check_status_name(status));
        std::string text = e.what();
        CHECK_MSG(text.find(tonecore::status_str(status)) != std::string::npos,
                  "%s: what() = \"%s\" lacks the status text", what, e.what());
        if (want_detail) {
            CHECK_MSG(!e.detail().empty() && text.find(e.detail()) != std::string::npos,
                      "%s: detail \"%s\" missing from what() \"%s\"", what, e.detail().c_str(),
                      e.what());
        }
    } catch (...) {
        CHECK_MSG(false, "%s: another exception type", what);
    }
}

std::vector<float> sine(std::size_t frames, std::size_t channels, double hz, double amplitude) {
    std::vector<float> x(frames * channels);
    for (std::size_t c = 0; c < channels; c++) {
        for (std::size_t i = 0; i < frames; i++) {
            x[c * frames + i] = static_cast<float>(amplitude * std::sin(2.0 * PI * hz * i / SR));
        }
    }
    return x;
}

double peak(const float *x, std::size_t from, std::size_t to) {
    double m = 0.0;
    for (std::size_t i = from; i < to; i++) {
        m = std::fmax(m, std::fabs(static_cast<double>(x[i])));
    }
    return m;
}

void test_version_and_errors() {
    check_section("version, ABI, tonecore::error");
    const std::string version = tonecore::version();
    CHECK_STR_EQ(version.c_str(), TONECORE_VERSION);
    tonecore::check_abi();
    CHECK(true);

    auto bad = tonecore::equalizer::config();
    bad.channels = 0;
    expect_error([&] { tonecore::equalizer eq(bad); }, TONECORE_STATUS_INVALID_CHANNELS, true,
                 "equalizer with 0 channels");
    auto bad_pipeline = tonecore::pipeline::config();
    bad_pipeline.target_lufs = 5.0;
    expect_error([&] { tonecore::pipeline p(bad_pipeline); }, TONECORE_STATUS_INVALID_TARGET, true,
                 "pipeline with a +5 LUFS target");
    expect_error([] { tonecore::check(tonecore_debug_panic()); }, TONECORE_STATUS_PANIC, true,
                 "a panic inside the library");
    expect_error([] { tonecore::loudness_meter m(0, SR); }, TONECORE_STATUS_INVALID_CHANNELS,
                 true, "meter with 0 channels");
}

void test_handles() {
    check_section("move-only handles");
    tonecore::equalizer empty;
    CHECK(!empty);
    expect_error([&] { (void)empty.bands(); }, TONECORE_STATUS_NULL_POINTER, false,
                 "bands() of an empty equalizer");
    float in[2] = {0.0f, 0.0f}, out[2] = {0.0f, 0.0f};
    CHECK_STATUS(empty.process(in, 2, out, 2), TONECORE_STATUS_NULL_POINTER);

    auto cfg = tonecore::equalizer::config();
    cfg.max_block = 256;
    tonecore::equalizer a(cfg);
    CHECK(static_cast<bool>(a));
    tonecore_equalizer *raw = a.get();
    tonecore::equalizer b(std::move(a));
    CHECK(a.get() == nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is tested
    CHECK(b.get() == raw);
    expect_error([&] { (void)a.latency(); }, TONECORE_STATUS_NULL_POINTER, false,
                 "latency() of a moved-from equalizer");
    CHECK_EQ_SIZE(b.bands(), 25);

    // Move-assigning over a live object frees that object (LeakSanitizer would report it).
    tonecore::equalizer c(cfg);
    c = std::move(b);
    CHECK(c.get() == raw && b.get() == nullptr);

    // release() hands the pointer to the caller.
    tonecore_equalizer *mine = c.release();
    CHECK(mine == raw && !c);
    tonecore_equalizer_free(mine);

    // reset() frees early; destroying the empty handle afterwards frees nothing.
    tonecore::stft s(tonecore::stft::config());
    s.reset();
    CHECK(!s);
}

void test_equalizer() {
    check_section("equalizer: +6 dB flat doubles a sine; statuses on the audio path");
    auto cfg = tonecore::equalizer::config();
    cfg.channels = 1;
    cfg.max_block = 256;
    tonecore::equalizer eq(cfg);
    eq.set_gains(std::vector<double>(25, 6.0));
    std::vector<double> g = eq.gains();
    CHECK_EQ_SIZE(g.size(), 25);
    CHECK(g[0] == 6.0 && g[24] == 6.0);
    // A changed gain applies with a crossfade; reset_state() applies the newest at once.
    CHECK_STATUS(eq.reset_state(), TONECORE_STATUS_OK);

    const std::size_t n = SR / 2;
    std::vector<float> x = sine(n, 1, 1000.0, 0.25), y(n, 0.0f);
    for (std::size_t i = 0; i + 256 <= n; i += 256) {
        CHECK_STATUS(eq.process(&x[i], 256, &y[i], 256), TONECORE_STATUS_OK);
    }
    const std::size_t settle = eq.latency() + SR / 20;
    double want = 0.25 * std::pow(10.0, 6.0 / 20.0);
    double got = peak(y.data(), settle, n - n % 256);
    CHECK_MSG(std::fabs(got - want) < 2e-3, "peak %.6f, want %.6f", got, want);

    // Refusals: statuses, nothing written, no exception.
    std::vector<float> big(257, 0.0f), out(257);
    sentinel_fill(out.data(), out.size() * sizeof(float));
    CHECK_STATUS(eq.process(big.data(), big.size(), out.data(), out.size()),
                 TONECORE_STATUS_BLOCK_TOO_LARGE);
    CHECK_STATUS(eq.process(big.data(), 4, out.data(), 3), TONECORE_STATUS_BUFFER_TOO_SMALL);
    CHECK(sentinel_intact(out.data(), out.size() * sizeof(float)));
    double d_in[4] = {0, 0, 0, 0}, d_out[4];
    CHECK_STATUS(eq.process(d_in, 4, d_out, 4), TONECORE_STATUS_WRONG_FORMAT);
    expect_error([&] { eq.set_gains(std::vector<double>(3, 0.0)); }, TONECORE_STATUS_GAIN_COUNT,
                 true, "set_gains with 3 gains");
    uint64_t nonfinite = 99;
    CHECK_STATUS(eq.nonfinite_count(nonfinite), TONECORE_STATUS_OK);
    CHECK_EQ_INT(nonfinite, 0);
}

void test_pipeline_threads() {
    check_section("pipeline + params from a control std::thread");
    auto cfg = tonecore::pipeline::config();
    cfg.channels = 2;
    cfg.max_block = 256;
    cfg.eq_enabled = 1;
    cfg.level_enabled = 1;
    cfg.limiter_enabled = 1;
    cfg.ceiling_db = -1.0;
    tonecore::params control;
    const std::size_t blocks = 300;
    std::vector<float> x = sine(256, 2, 440.0, 0.9), y(512);
    double ceiling = std::pow(10.0, -1.0 / 20.0), worst = 0.0;
    unsigned bad = 0;
    {
        tonecore::pipeline p(cfg);
        control = p.params();
        std::atomic<bool> done{false};
        std::atomic<unsigned> control_errors{0};
        std::thread t([&] {
            tonecore::params mine = p.params();  // one handle per thread is fine too
            for (int k = 0; !done.load(); k++) {
                try {
                    mine.set_eq_gains(std::vector<double>(25, (k % 7) - 3.0));
                    mine.set_level_target(-20.0 + (k % 5));
                    (void)mine.stats();
                } catch (...) {
                    control_errors++;
                }
                std::this_thread::yield();
            }
        });
        for (std::size_t b = 0; b < blocks; b++) {
            if (p.process(x.data(), x.size(), y.data(), y.size()) != TONECORE_STATUS_OK) {
                bad++;
            }
            worst = std::fmax(worst, peak(y.data(), 0, y.size()));
        }
        done = true;
        t.join();
        CHECK_EQ_INT(bad, 0);
        CHECK_EQ_INT(control_errors.load(), 0);
        CHECK_LE(worst, ceiling);
        tonecore_pipeline_stats s = control.stats();
        CHECK_EQ_INT(s.frames, blocks * 256);
        CHECK_EQ_INT(s.eq_bands, 25);
    }
    // The params handle outlives the pipeline: setters still succeed, stats keep the snapshot.
    control.set_ceiling_db(-3.0);
    CHECK_EQ_INT(control.stats().frames, blocks * 256);
    expect_error([&] { control.set_ceiling_db(1.0); }, TONECORE_STATUS_INVALID_CEILING, true,
                 "ceiling above 0 dBFS");
    expect_error([&] { control.set_bypass(static_cast<tonecore_stage>(7), true); },
                 TONECORE_STATUS_INVALID_ARGUMENT, true, "unknown stage");
}

void test_loudness() {
    check_section("loudness: -23 dBFS stereo 1 kHz sine is -23 LUFS (EBU Tech 3341 case 1)");
    const std::size_t n = 10 * SR;
    std::vector<float> x = sine(n, 2, 1000.0, std::pow(10.0, -23.0 / 20.0));
    tonecore_loudness_report r = tonecore::loudness(x.data(), x.size(), 2, SR);
    CHECK_MSG(std::fabs(r.integrated + 23.0) <= 0.1, "integrated %.3f", r.integrated);
    double i = tonecore::integrated_loudness(x.data(), x.size(), 2, SR);
    CHECK_MSG(std::fabs(i + 23.0) <= 0.1, "integrated only %.3f", i);

    tonecore::loudness_meter m(2, SR);
    // Planar blocks of one second: channel rows of SR samples each.
    std::vector<float> block(2 * SR);
    for (std::size_t s = 0; s < 10; s++) {
        for (std::size_t c = 0; c < 2; c++) {
            for (std::size_t k = 0; k < SR; k++) {
                block[c * SR + k] = x[c * n + s * SR + k];
            }
        }
        m.add(block.data(), block.size());
    }
    double streamed = m.report().integrated;
    CHECK_MSG(std::fabs(streamed + 23.0) <= 0.1, "meter %.3f", streamed);
    m.clear();
    CHECK(std::isinf(m.report().integrated));
    std::vector<float> nan_block(4, NAN);
    expect_error([&] { m.add(nan_block.data(), nan_block.size()); }, TONECORE_STATUS_NON_FINITE,
                 true, "NaN into the meter");
    expect_error([&] { m.add(nan_block.data(), 3); }, TONECORE_STATUS_INVALID_CHANNELS, false,
                 "3 samples into a stereo meter");
}

void test_stft_and_window() {
    check_section("stft and window against closed forms");
    std::vector<double> w = tonecore::window(TONECORE_WINDOW_HANN, 64);
    double err = 0.0;
    for (std::size_t i = 0; i < 64; i++) {
        err = std::fmax(err, std::fabs(w[i] - (0.5 - 0.5 * std::cos(2.0 * PI * i / 64.0))));
    }
    CHECK_LE(err, 1e-15);

    auto cfg = tonecore::stft::config();
    cfg.fft_size = 64;
    cfg.hop = 16;
    cfg.sample_format = TONECORE_SAMPLE_FORMAT_F64;
    cfg.threads = 1;
    tonecore::stft s(cfg);
    CHECK_EQ_SIZE(s.bins(), 33);
    const std::size_t len = 256, frames = s.frame_count(len);
    CHECK_EQ_SIZE(frames, 1 + (len - 64) / 16);
    std::vector<double> ones(len, 1.0);
    std::vector<tonecore_complex_f64> spec(frames * 33);
    CHECK_EQ_SIZE(s.forward(ones.data(), len, 1, spec.data(), spec.size()), frames);
    CHECK_MSG(std::fabs(spec[0].re - 32.0) < 1e-12 && std::fabs(spec[0].im) < 1e-12,
              "DC bin %.15g%+.15gi, want 32", spec[0].re, spec[0].im);
    std::vector<double> back(s.signal_len(frames));
    CHECK_EQ_SIZE(s.inverse(spec.data(), spec.size(), 1, back.data(), back.size()), len);
    // Full overlap in the middle: the inverse gives the input back.
    double rt = 0.0;
    for (std::size_t i = 64; i < len - 64; i++) {
        rt = std::fmax(rt, std::fabs(back[i] - 1.0));
    }
    CHECK_LE(rt, 1e-12);
    std::vector<float> fin(len, 1.0f);
    std::vector<tonecore_complex_f32> fspec(spec.size());
    expect_error([&] { (void)s.forward(fin.data(), len, 1, fspec.data(), fspec.size()); },
                 TONECORE_STATUS_WRONG_FORMAT, true, "f32 forward on an f64 stft");
    expect_error([&] { (void)s.forward(ones.data(), len, 1, spec.data(), 3); },
                 TONECORE_STATUS_BUFFER_TOO_SMALL, true, "forward into 3 values");
}

void test_callbacks() {
    check_section("progress callables: counted, cancelling, exceptions rethrown here");
    const std::size_t n = 3 * SR;
    std::vector<float> x = sine(n, 1, 220.0, 0.3), y(n);
    auto pc = tonecore::pipeline::config();
    pc.channels = 1;
    auto rc = tonecore::render_config();
    rc.chunk_seconds = 0.5;
    rc.context_seconds = 0.2;
    rc.threads = 2;

    std::atomic<unsigned> calls{0};
    tonecore::render_chunked(pc, rc, x.data(), n, y.data(), n, [&](std::size_t, std::size_t) {
        calls++;
        return true;
    });
    CHECK_EQ_INT(calls.load(), 6);
    // Every stage disabled: the render is the input (latency removed).
    double diff = 0.0;
    for (std::size_t i = 0; i < n; i++) {
        diff = std::fmax(diff, std::fabs(static_cast<double>(y[i]) - x[i]));
    }
    CHECK_LE(diff, 1e-6);

    expect_error(
        [&] {
            tonecore::render_chunked(pc, rc, x.data(), n, y.data(), n,
                                     [](std::size_t, std::size_t) { return false; });
        },
        TONECORE_STATUS_CANCELLED, true, "progress returning false cancels");

    bool caught = false;
    try {
        tonecore::render_chunked(pc, rc, x.data(), n, y.data(), n,
                                 [](std::size_t done, std::size_t) -> bool {
                                     if (done >= 1) {
                                         throw std::logic_error("from the callback");
                                     }
                                     return true;
                                 });
    } catch (const std::logic_error &e) {
        caught = std::string(e.what()) == "from the callback";
    }
    CHECK_MSG(caught, "the callable's own exception comes back to the caller");

    auto ec = tonecore::equalize_config();
    ec.threads = 2;
    unsigned eq_calls = 0;
    std::vector<float> z(n);
    tonecore::equalize(ec, std::vector<double>(25, 6.0), x.data(), n, 1, z.data(), n,
                       [&](std::size_t, std::size_t) { eq_calls++; });
    CHECK(eq_calls > 0);
    double want = 0.3 * std::pow(10.0, 6.0 / 20.0), got = peak(z.data(), SR / 2, n - SR / 2);
    CHECK_MSG(std::fabs(got - want) < 2e-3, "equalize peak %.6f, want %.6f", got, want);
    caught = false;
    try {
        tonecore::equalize(ec, std::vector<double>(25, 0.0), x.data(), n, 1, z.data(), n,
                           [](std::size_t, std::size_t) { throw std::runtime_error("stop"); });
    } catch (const std::runtime_error &e) {
        caught = std::string(e.what()) == "stop";
    }
    CHECK(caught);
}

void test_playback() {
    check_section("playback stream");
    const std::size_t frames = SR;
    std::vector<float> x = sine(frames, 2, 330.0, 0.5);
    auto pc = tonecore::pipeline::config();
    auto rc = tonecore::render_config();
    rc.chunk_seconds = 0.25;
    rc.context_seconds = 0.05;
    tonecore::playback pb(pc, rc, x.data(), x.size());
    std::vector<float> out(2 * 256);
    std::size_t got = 0, rounds = 0;
    // Underruns (the worker has not rendered that far yet) give silence: wait and read on.
    while (got < frames && rounds < 20000) {
        std::size_t n = 0;
        CHECK_STATUS(pb.read(out.data(), out.size(), n), TONECORE_STATUS_OK);
        got += n;
        rounds++;
        if (n < 256) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    CHECK_EQ_SIZE(got, frames);
    tonecore_playback_stats st = pb.stats();
    CHECK_EQ_INT(st.position, frames);
    expect_error([&] { pb.seek(-1.0); }, TONECORE_STATUS_INVALID_TIME, true, "seek to -1 s");
    expect_error([&] { pb.seek(NAN); }, TONECORE_STATUS_INVALID_TIME, true, "seek to NaN");
    pb.seek(0.5);
    CHECK_EQ_INT(pb.stats().seeks, 1);
    double dout[2];
    std::size_t dn = 0;
    CHECK_STATUS(pb.read(dout, 2, dn), TONECORE_STATUS_WRONG_FORMAT);
    CHECK_STATUS(pb.read(out.data(), 3, dn), TONECORE_STATUS_INVALID_CHANNELS);
}

void test_limiter() {
    check_section("limiter: RAII, ceiling held, statistics, errors");
    auto bad = tonecore::limiter::config();
    bad.ceiling_db = 3.0;
    expect_error([&] { tonecore::limiter l(bad); }, TONECORE_STATUS_INVALID_CEILING, false,
                 "limiter with a +3 dBFS ceiling");
    auto cfg = tonecore::limiter::config();
    cfg.ceiling_db = -6.0;
    tonecore::limiter a(cfg);
    CHECK_EQ_SIZE(a.latency(), 66 + TONECORE_TRUE_PEAK_EXTRA_FRAMES); // 1.5 ms at 44.1 kHz, true peak
    tonecore::limiter lim = std::move(a);
    CHECK(!a && lim);
    std::vector<float> in(2 * 2048), out(in.size());
    for (std::size_t i = 0; i < in.size(); i++) in[i] = 1.5f * std::sin(0.05 * double(i));
    CHECK_STATUS(lim.process_interleaved(in.data(), in.size(), out.data(), out.size()),
                 TONECORE_STATUS_OK);
    double ceiling = std::pow(10.0, -6.0 / 20.0), peak = 0.0;
    for (float v : out) peak = std::max(peak, double(std::fabs(v)));
    CHECK_MSG(peak <= ceiling, "peak %.9g above %.9g", peak, ceiling);
    tonecore_limiter_stats s = lim.stats();
    CHECK(s.frames == 2048 && s.max_reduction_db < -9.0);
    CHECK_STATUS(lim.set_ceiling_db(1.0), TONECORE_STATUS_INVALID_CEILING);
    CHECK_STATUS(lim.reset_state(), TONECORE_STATUS_OK);
    CHECK(lim.stats().frames == 0);
    double dout[2];
    CHECK_STATUS(lim.process(reinterpret_cast<const double *>(in.data()), 2, dout, 2),
                 TONECORE_STATUS_WRONG_FORMAT);
    CHECK_STATUS(a.process(in.data(), 2, out.data(), 2), TONECORE_STATUS_NULL_POINTER);
}

/* Stereo noise (planar), uniform in [-amplitude, amplitude); with `pole_hz`, through a one-pole
 * low-pass (a darker signal). */
std::vector<float> noise(std::size_t frames, uint64_t seed, double amplitude, double pole_hz) {
    ref_rng r = ref_rng_new(seed);
    double a = pole_hz > 0.0 ? std::exp(-2.0 * PI * pole_hz / SR) : 0.0;
    std::vector<float> x(2 * frames);
    for (std::size_t c = 0; c < 2; c++) {
        double y = 0.0;
        for (std::size_t i = 0; i < frames; i++) {
            y = (1.0 - a) * amplitude * ref_uniform(&r) + a * y;
            x[c * frames + i] = static_cast<float>(y);
        }
    }
    return x;
}

void test_matching() {
    check_section("profile, match, live match through the wrappers");
    const std::size_t frames = 2 * SR;
    std::vector<float> reference = noise(frames, 12, 0.3, 1500.0), track = noise(frames, 11, 0.1, 0);
    tonecore::profile ref(reference.data(), reference.size(), 2, SR, 1);
    tonecore_profile_info info = ref.info();
    CHECK(info.sample_rate == SR && info.channels == 2 && info.frames == frames && !info.silent);
    // JSON round trip: the same spectrum.
    tonecore::profile back = tonecore::profile::from_json(ref.to_json());
    std::vector<double> a = ref.spectrum(), b = back.spectrum();
    bool same = a.size() == TONECORE_PROFILE_BANDS && a.size() == b.size();
    for (std::size_t i = 0; same && i < a.size(); i++) {
        same = (std::isnan(a[i]) && std::isnan(b[i])) || a[i] == b[i];
    }
    CHECK_MSG(same, "spectrum round-trips");
    expect_error([] { (void)tonecore::profile::from_json("{}"); },
                 TONECORE_STATUS_INVALID_PROFILE, true, "profile from \"{}\"");
    tonecore::profile moved = std::move(back);
    expect_error([&] { (void)back.info(); }, TONECORE_STATUS_NULL_POINTER, false,
                 "moved-from profile");

    // Whole-track match and its pipeline config.
    std::vector<float> out(track.size());
    tonecore_match_report report =
        tonecore::match(track.data(), track.size(), out.data(), out.size(), 2, SR, ref);
    CHECK_EQ_INT(report.outcome, TONECORE_MATCH_OUTCOME_MATCHED);
    // 2 s of noise: a few 32768-sample frames, so each band's estimate itself varies by about a
    // dB (the accuracy is tested on longer signals in test_matching.c); this checks the wrapper.
    CHECK_MSG(report.residual_before_db > 3.0 && report.residual_after_db < 1.5,
              "match residual %.2f -> %.2f dB", report.residual_before_db,
              report.residual_after_db);
    tonecore::profile track_profile(track.data(), track.size(), 2, SR);
    auto cfg = tonecore::pipeline::config();
    cfg.sample_rate = SR;
    cfg.channels = 2;
    std::vector<double> gains;
    CHECK_EQ_INT(tonecore::match_pipeline_config(track_profile, ref, cfg, gains),
                 TONECORE_MATCH_OUTCOME_MATCHED);
    CHECK(gains.size() == TONECORE_PROFILE_BANDS && cfg.eq_gains_db == gains.data());
    CHECK(cfg.layout == TONECORE_LAYOUT_SIXTH_OCTAVE && cfg.level_mode == TONECORE_LEVEL_MODE_INTEGRATED);

    // Live: a pipeline from the live config, matched with short settings.
    auto live_cfg = tonecore::pipeline::config();
    live_cfg.sample_rate = SR;
    live_cfg.channels = 2;
    live_cfg.max_block = 256;
    tonecore::match_live_pipeline_config(ref, live_cfg);
    CHECK(live_cfg.layout == TONECORE_LAYOUT_SIXTH_OCTAVE && live_cfg.eq_gains_db == nullptr &&
          live_cfg.level_mode == TONECORE_LEVEL_MODE_MOMENTARY && live_cfg.limiter_true_peak);
    tonecore_match_config bad_match = tonecore::match_config();
    bad_match.strength = 2.0;
    expect_error([&] { tonecore::match_live_pipeline_config(ref, live_cfg, &bad_match); },
                 TONECORE_STATUS_INVALID_ARGUMENT, true, "strength 2");
    tonecore::pipeline p(live_cfg);
    tonecore::params params = p.params();
    expect_error([&] { (void)params.update_match(); }, TONECORE_STATUS_INVALID_ARGUMENT, true,
                 "update_match before live_match");
    tonecore_live_match_config live = tonecore::live_match_config();
    CHECK(live.time_constant_s == 10.0 && live.max_slew_db_per_s == 1.0 && live.warmup_s == 3.0);
    live.time_constant_s = 0.0;
    expect_error([&] { p.live_match(ref, live); }, TONECORE_STATUS_INVALID_ARGUMENT, true,
                 "time constant 0");
    live.time_constant_s = 2.0;
    live.warmup_s = 0.5;
    live.max_slew_db_per_s = 6.0;
    p.live_match(ref, live);
    CHECK(!params.update_match().active);
    std::vector<float> x(512), y(512);
    unsigned bad = 0;
    for (std::size_t start = 0; start + 256 <= frames; start += 256) {
        for (std::size_t c = 0; c < 2; c++) {
            for (std::size_t i = 0; i < 256; i++) x[c * 256 + i] = track[c * frames + start + i];
        }
        bad += p.process(x.data(), x.size(), y.data(), y.size()) != TONECORE_STATUS_OK;
    }
    CHECK_EQ_INT(bad, 0);
    tonecore_live_match_state state = params.update_match();
    double moved_db = 0.0;
    for (double g : state.gains_db) moved_db = std::fmax(moved_db, std::fabs(g));
    CHECK_MSG(state.active && state.outcome == TONECORE_MATCH_OUTCOME_MATCHED && moved_db > 1.0 &&
                  state.analysed_s > 1.8,
              "live: active %u, outcome %d, largest gain %.2f dB, analysed %.2f s", state.active,
              state.outcome, moved_db, state.analysed_s);
    // A pipeline whose EQ is not on the grid.
    auto plain = tonecore::pipeline::config();
    plain.eq_enabled = 1;
    tonecore::pipeline q(plain);
    expect_error([&] { q.live_match(ref); }, TONECORE_STATUS_INVALID_ARGUMENT, true,
                 "live match on critical bands");
}

} // namespace

int main() {
    test_version_and_errors();
    test_handles();
    test_equalizer();
    test_pipeline_threads();
    test_loudness();
    test_stft_and_window();
    test_callbacks();
    test_playback();
    test_limiter();
    test_matching();
    return check_finish();
}
