#!/bin/sh
# run.sh — the bounded fuzzing lane (`make test-fuzz`): builds the targets (nightly, ASan),
# replays every saved regression input, then fuzzes each target for SECONDS (default 60) from
# the committed seed corpus, two targets at a time, and prints the executions of every target and
# their total. New corpus entries go to a temporary directory; a crash leaves its input in
# fuzz/artifacts/<target>/ and fails the lane.
#
#   sh fuzz/run.sh [SECONDS] [TARGET...]
set -u
cd "$(dirname "$0")" || exit 1
SECONDS_PER_TARGET=${1:-60}
[ $# -gt 0 ] && shift
TARGETS=${*:-"pipeline equalizer stft playback oneshot limiter decode sizes profile"}
TOOLCHAIN=${NIGHTLY:-nightly}
FUZZ="cargo +$TOOLCHAIN fuzz"

if ! $FUZZ --version >/dev/null 2>&1; then
    echo "SKIPPED: fuzz lane: cargo-fuzz or the '$TOOLCHAIN' toolchain is not installed" \
         "(cargo install cargo-fuzz; rustup toolchain install $TOOLCHAIN)"
    exit 0
fi
$FUZZ build || exit 1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
passed=0

for t in $TARGETS; do
    if [ -d "regressions/$t" ]; then
        if $FUZZ run "$t" "regressions/$t" -- -runs=0 > "$work/$t.regressions.log" 2>&1; then
            passed=$((passed + 1))
            echo "$t: $(ls "regressions/$t" | wc -l) regression input(s) replayed clean"
        else
            failed=$((failed + 1))
            echo "FAIL $t: a saved regression input fails again"
            tail -n 40 "$work/$t.regressions.log"
        fi
    fi
done

# Two targets at a time: CI has two cores.
for t in $TARGETS; do echo "$t"; done |
    xargs -P 2 -I@ sh -c "mkdir -p '$work/@' && $FUZZ run @ '$work/@' 'corpus/@' -- \
        -max_total_time=$SECONDS_PER_TARGET -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        > '$work/@.log' 2>&1; echo \$? > '$work/@.rc'"

total=0
for t in $TARGETS; do
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/$t.log" | tail -n 1)
    rc=$(cat "$work/$t.rc")
    if [ "$rc" = 0 ] && [ -n "$runs" ]; then
        passed=$((passed + 1))
        total=$((total + runs))
        echo "$t: $runs executions in ${SECONDS_PER_TARGET} s, no crash"
    else
        failed=$((failed + 1))
        echo "FAIL $t (exit $rc): see fuzz/artifacts/$t/"
        grep -E "panicked at|ERROR|SUMMARY|Test unit written" -A2 "$work/$t.log" | head -n 30
    fi
done
echo "fuzz: $total executions in total"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
