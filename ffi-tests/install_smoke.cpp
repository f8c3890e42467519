/*
 * install_smoke.cpp — a C++17 host built against an installed tonecore with nothing but
 * `pkg-config --cflags --libs tonecore` (ffi-tests/test_install.sh): <tonecore.hpp> from the
 * prefix, one +6 dB flat EQ on a sine through tonecore::equalizer, one refusal as an exception.
 */
#include <tonecore.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
    int failed = 0, passed = 0;
    auto check = [&](bool ok, const char *what) {
        if (ok) {
            passed++;
        } else {
            failed++;
            std::printf("FAIL %s\n", what);
        }
    };
    tonecore::check_abi();
    auto cfg = tonecore::equalizer::config();
    cfg.channels = 1;
    cfg.max_block = 512;
    std::vector<double> gains(25, 6.0);
    cfg.gains_db = gains.data();
    cfg.gains_len = gains.size();
    tonecore::equalizer eq(cfg);
    const std::size_t n = 22050;
    std::vector<float> x(n), y(n);
    for (std::size_t i = 0; i < n; i++) {
        x[i] = static_cast<float>(0.25 * std::sin(2.0 * 3.14159265358979323846 * 1000.0 * i / 44100.0));
    }
    for (std::size_t i = 0; i + 512 <= n; i += 512) {
        check(eq.process(&x[i], 512, &y[i], 512) == TONECORE_STATUS_OK, "process");
    }
    double peak = 0.0;
    for (std::size_t i = eq.latency() + 4410; i < n - n % 512; i++) {
        peak = std::fmax(peak, std::fabs(static_cast<double>(y[i])));
    }
    check(std::fabs(peak - 0.25 * std::pow(10.0, 0.3)) < 2e-3, "+6 dB peak");
    try {
        eq.set_gains(std::vector<double>(2, 0.0));
        check(false, "set_gains with 2 gains throws");
    } catch (const tonecore::error &e) {
        check(e.status() == TONECORE_STATUS_GAIN_COUNT, "GAIN_COUNT");
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
