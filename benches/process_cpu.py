"""CPU time of ``tonecore process --target-lufs -14 --ceiling-db -1`` on 10 minutes of stereo.

Two synthetic 44.1 kHz 24-bit tracks are written to a temporary folder: ``dynamic`` (bass, chord
pads, drums and a lead in 30 s sections from -24 to 0 dB: about -24 LUFS, 18 LU of range) and
``dense`` (the same music in sections from -6 to 0 dB: about -22 LUFS, 5.5 LU). Each is
processed ``--runs`` times; with ``--baseline BIN`` (another build of the command, e.g. of an
older commit) the two binaries alternate, so load changes hit both alike. CPU is user + system
time of the child process (``resource.getrusage``), which the machine's load does not inflate
as much as wall time; best and median are printed, and their ratios to the baseline.

    cargo build --release -p tonecore-cli
    python3 benches/process_cpu.py [--runs 5] [--baseline path/to/old/tonecore] [--cli BIN]

Needs numpy and soundfile.
"""

import argparse
import resource
import statistics
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 44_100
SECONDS = 600


def music(path: Path, section_db: list[float], seed: int = 1234) -> None:
    """Writes 10 minutes of music-like stereo whose 30 s sections sit at ``section_db``."""
    rng = np.random.default_rng(seed)
    n = SR * SECONDS
    out = np.zeros((n, 2))
    beat = 0.5  # 120 bpm
    roots = np.array([110.0, 87.31, 130.81, 98.0])  # A F C G, a bar each
    thirds = np.array([3, 4, 4, 4])
    for start in range(0, n, SR * 8):
        t = np.arange(start, min(n, start + SR * 8)) / SR
        root = roots[(t // (4 * beat)).astype(int) % 4]
        pulse = np.exp(-4 * (t % (beat / 2)) / (beat / 2))
        bass = (0.45 * np.sin(2 * np.pi * root * t) + 0.1 * np.sin(4 * np.pi * root * t)) * pulse
        pad = np.zeros_like(t)
        for k, step in enumerate([np.zeros(4, int), thirds, np.full(4, 7)]):
            f = 2 * root * 2 ** (step[(t // (4 * beat)).astype(int) % 4] / 12)
            for h in range(1, 5):
                pad += 0.06 / h * np.sin(2 * np.pi * f * h * t + k)
        sway = 0.2 * np.sin(2 * np.pi * 0.1 * t)
        since = t % beat
        kick = 0.9 * np.sin(2 * np.pi * (50 + 100 * np.exp(-30 * since)) * since) * np.exp(-12 * since)
        back = t % (2 * beat) - beat
        snare = np.where(back >= 0, np.exp(-20 * np.maximum(back, 0)), 0) * rng.standard_normal(t.size) * 0.5
        hat = np.exp(-80 * (t % (beat / 2))) * rng.standard_normal(t.size) * 0.15
        notes = 440 * 2 ** (rng.integers(0, 8, size=t.size // int(SR * beat) + 2) / 12)
        lead = 0.12 * np.sin(2 * np.pi * notes[((t - t[0]) // beat).astype(int)] * t) * np.exp(-2 * since)
        left = bass + pad * (1 + sway) + kick + 0.8 * snare + 1.2 * hat + 0.7 * lead
        right = bass + pad * (1 - sway) + kick + snare + 0.8 * hat + lead
        gain = 10 ** (np.array(section_db)[(t // 30).astype(int) % len(section_db)] / 20)
        noise = rng.standard_normal((t.size, 2)) * 1e-3
        out[start : start + t.size] = (np.stack([left, right], 1) + noise) * gain[:, None]
    out *= 10 ** (-0.1 / 20) / np.max(np.abs(out))
    sf.write(path, out, SR, subtype="PCM_24")


def cpu_seconds(cmd: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cli", default=str(Path(__file__).resolve().parents[1] / "target/release/tonecore"))
    parser.add_argument("--baseline", help="another tonecore binary to alternate with")
    args = parser.parse_args()
    binaries = {"tonecore": args.cli}
    if args.baseline:
        binaries["baseline"] = args.baseline
    with tempfile.TemporaryDirectory() as tmp:
        tracks = {
            "dynamic": [-18, -6, 0, -12, -3, -24, 0, -9, -15, -2, -6, 0, -20, -4, -1, -10, -3, 0, -14, -8],
            "dense": [-6, -2, 0, -4, -1, -3, 0, -5, -2, -1],
        }
        for name, sections in tracks.items():
            src = Path(tmp) / f"{name}.wav"
            music(src, sections)
            times: dict[str, list[float]] = {b: [] for b in binaries}
            for _ in range(args.runs):
                for label, binary in binaries.items():
                    out = Path(tmp) / "out.wav"
                    out.unlink(missing_ok=True)
                    cmd = [binary, "process", str(src), str(out), "-q", "--target-lufs", "-14", "--ceiling-db", "-1"]
                    times[label].append(cpu_seconds(cmd))
            for label, t in times.items():
                line = f"{name:8} {label:9} CPU best {min(t):6.2f} s  median {statistics.median(t):6.2f} s"
                if label != "baseline" and "baseline" in times:
                    base = times["baseline"]
                    line += f"  ratio best {min(t) / min(base):.3f}  median {statistics.median(t) / statistics.median(base):.3f}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
