#!/usr/bin/env bash
# Benchmarks of the `tonecore` command for the README (run from anywhere; needs python3):
#   1. `tonecore process` on a 10-minute stereo 44.1 kHz WAV (the demo track, 20 times over):
#      wall time, real-time factor, peak resident memory against the decoded input size
#      (frames x channels x 4 bytes of f32).
#   2. `tonecore batch` of 20 files (30 s each) with --jobs 1 and --jobs 2.
# Every figure is the best of 5 runs (the fastest run is the least disturbed on a shared machine);
# CPU time (user + system) is printed too.
# Usage: cli/bench.sh [WORKDIR]   (default: a temporary folder, removed at the end)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
[ -n "${1:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
cd "$repo"
cargo build --release -q -p tonecore-cli
bin="$repo/target/release/tonecore"
cd "$work"

echo "== inputs (in $work)"
"$bin" demo --out-dir demo -q >/dev/null
# The 30 s demo input, 20 times over (same WAV header, longer data chunk).
python3 - demo/tonecore-demo-in.wav long.wav 20 <<'PY'
import struct, sys
src, dst, times = sys.argv[1], sys.argv[2], int(sys.argv[3])
raw = open(src, "rb").read()
pos = 12
while raw[pos:pos + 4] != b"data":
    pos += 8 + struct.unpack("<I", raw[pos + 4:pos + 8])[0]
size = struct.unpack("<I", raw[pos + 4:pos + 8])[0]
header, data = bytearray(raw[:pos + 8]), raw[pos + 8:pos + 8 + size]
header[pos + 4:pos + 8] = struct.pack("<I", size * times)
header[4:8] = struct.pack("<I", len(header) - 8 + size * times)
with open(dst, "wb") as f:
    f.write(header)
    for _ in range(times):
        f.write(data)
PY
mkdir -p batch-in
for i in $(seq -w 1 20); do cp demo/tonecore-demo-in.wav "batch-in/track$i.wav"; done

# Runs a command; prints its wall time and peak resident set size (getrusage of the child).
measure() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.perf_counter()
out = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, text=True, check=True).stdout
wall = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall:.3f} {ru.ru_maxrss * 1024} {ru.ru_utime + ru.ru_stime:.2f}")
sys.stderr.write(out)
PY
}

echo "== process: 10 minutes of stereo 44.1 kHz, warm EQ -> -14 LUFS -> -1 dBFS limiter"
decoded=$((20 * 30 * 44100 * 2 * 4))   # frames x channels x sizeof(f32)
cmd=("$bin" process long.wav long-out.wav --eq-preset warm --target-lufs -14 -q)
echo "command: tonecore process long.wav long-out.wav --eq-preset warm --target-lufs -14"
best=""
for run in 1 2 3 4 5; do
  read -r wall rss cpu < <(measure "${cmd[@]}" 2>report.txt)
  echo "run $run: wall ${wall} s, CPU ${cpu} s, peak RSS $((rss / 1000000)) MB"
  if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $wall < $best else 1)"; then
    best=$wall; best_rss=$rss; cp report.txt best-report.txt
  fi
done
grep -E "^(speed|input|output)" best-report.txt
python3 - "$best" "$best_rss" "$decoded" <<'PY'
import sys
wall, rss, decoded = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
print(f"best wall time {wall:.2f} s = {600 / wall:.0f}x real time; peak RSS {rss / 1e6:.0f} MB = "
      f"{rss / decoded:.2f}x the decoded input ({decoded / 1e6:.0f} MB of f32)")
PY

echo "== batch: 20 files of 30 s (best of 5 each, the modes interleaved)"
declare -A times cpus
for run in 1 2 3 4 5; do
  for mode in "1" "1 --threads 1" "2"; do
    rm -rf batch-out
    read -r wall rss cpu < <(measure "$bin" batch batch-in batch-out --jobs $mode -q 2>/dev/null)
    best=${times[$mode]:-}
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $wall < $best else 1)"; then
      times[$mode]=$wall; cpus[$mode]=$cpu
    fi
  done
done
for mode in "1" "1 --threads 1" "2"; do
  echo "tonecore batch batch-in batch-out --jobs $mode: best ${times[$mode]} s (CPU ${cpus[$mode]} s)"
done
python3 - "${times[1]}" "${times[1 --threads 1]}" "${times[2]}" <<'PY'
import sys
one, one_single, two = map(float, sys.argv[1:])
print(f"--jobs 2 vs --jobs 1 (renders on 2 threads): {one / two:.2f}x; "
      f"vs --jobs 1 --threads 1: {one_single / two:.2f}x")
PY
