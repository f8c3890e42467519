#!/usr/bin/env python3
"""Load test of the reference host: starts ``server.py`` on 127.0.0.1 itself, runs N simulated
listeners for T seconds, checks the invariants and prints one JSON line.

Each listener connects with its own key, plays a random track and, until the time is up,
seeks, changes the EQ (one of a few presets, as users pick them) or the loudness target,
pauses, and at the end of each session either leaves cleanly, drops the connection, or
reconnects with the same key while the old connection is still open (the server must replace
the old stream and close the old connection). It checks every chunk:

* ``seq_violations``: a chunk whose sequence number is not the previous one's + 1 on its
  connection, or whose track position does not follow the previous chunk's within one
  generation;
* ``stale_after_seek``: a chunk of an older generation after the client saw the new one, or
  the first chunk of a seek's generation not at the frame it asked for;
* ``chunk_latency_p99_ms``: receive time minus the time the server's pacing made the chunk
  due (both CLOCK_MONOTONIC on this machine);
* ``errors``: connection failures, error messages other than ``busy`` and ``replaced``,
  exceptions in a listener, errors counted by the server, a traceback on its stderr;
* ``busy``: refused plays (an error only when there are no more listeners than the cap);

and after every listener left: ``leaked_streams`` (the engine's open streams),
``leaked_threads`` (the server's threads beyond those it had after a warm-up round),
``rss_growth_mb`` (its resident memory since then, both after clearing the chunk cache) and
``loop_lag_p99_ms`` (how late the server's loop woke, measured in the server).

Exit status 0 when there were no errors, violations, stale chunks or leaks, busy refusals
only above the cap, and both latencies under their limits.

Usage: python3 loadtest.py [--clients 200] [--seconds 60] [--seed 1] [--max-streams N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import aiohttp
import numpy as np

HERE = Path(__file__).resolve().parent
HEADER = struct.Struct("<4sIIIHHIQQ")
PRESETS = [
    [0.0] * 25,
    [4.0 - i * 0.3 for i in range(25)],
    [-2.0 + 4.0 * (i % 2) for i in range(25)],
    [3.0 if 8 <= i <= 14 else 0.0 for i in range(25)],
]
TARGETS = [-23.0, -16.0, -14.0]


@dataclass
class Totals:
    chunks: int = 0
    errors: int = 0
    seq_violations: int = 0
    stale_after_seek: int = 0
    busy: int = 0
    sessions: int = 0
    seeks: int = 0
    replaced: int = 0
    latencies_ms: List[float] = field(default_factory=list)
    error_notes: List[str] = field(default_factory=list)
    violation_notes: List[str] = field(default_factory=list)

    def note(self, note: str) -> None:
        """Keeps the first few violations' details for the report."""
        if len(self.violation_notes) < 10:
            self.violation_notes.append(note)

    def error(self, note: str) -> None:
        self.errors += 1
        if len(self.error_notes) < 10:
            self.error_notes.append(note)


class Session:
    """One connection of a listener: receives and checks everything the server sends."""

    def __init__(self, totals: Totals, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.totals = totals
        self.ws = ws
        self.seq = 0
        self.generation = 0
        self.expect_frame: Optional[int] = None  # first frame of a seek's generation
        self.next_position: Optional[int] = None
        self.tracks: List[Dict[str, Any]] = []
        self.sample_rate = 44100
        self.hello = asyncio.Event()
        self.playing = asyncio.Event()
        self.duration = 1.0
        self.busy = False

    async def receive(self) -> None:
        t = self.totals
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                now = time.monotonic_ns()
                magic, seq, gen, frames, ch, flags, sr, pos, due = HEADER.unpack_from(msg.data)
                if magic != b"TCPM" or len(msg.data) != HEADER.size + 4 * frames * ch:
                    t.error(f"malformed chunk {magic!r} {len(msg.data)}")
                    continue
                t.chunks += 1
                t.latencies_ms.append((now - due) / 1e6)
                if seq != self.seq + 1:
                    t.seq_violations += 1
                    t.note(f"seq {self.seq} -> {seq}")
                self.seq = seq
                if gen < self.generation:
                    t.stale_after_seek += 1
                    t.note(f"stale gen {gen} < {self.generation}")
                    continue
                if gen > self.generation:
                    t.error(f"chunk of generation {gen} before its announcement")
                    self.generation = gen
                if self.expect_frame is not None:
                    # A play's or seek's first chunk starts exactly at its target.
                    if pos != self.expect_frame:
                        t.stale_after_seek += 1
                        t.note(f"seek to {self.expect_frame}, chunk at {pos} gen {gen} n {frames}")
                    self.expect_frame = None
                elif self.next_position is not None and pos != self.next_position:
                    t.seq_violations += 1
                    t.note(f"position {self.next_position} -> {pos} gen {gen} n {frames}")
                self.next_position = pos + frames
            elif msg.type == aiohttp.WSMsgType.TEXT:
                m = json.loads(msg.data)
                kind = m.get("type")
                if kind == "hello":
                    self.tracks = m["tracks"]
                    self.hello.set()
                elif kind == "generation":
                    if m["generation"] <= self.generation:
                        t.seq_violations += 1
                    self.generation = m["generation"]
                    self.sample_rate = m["sample_rate"]
                    self.duration = m["duration"]
                    self.expect_frame = m["position"]
                    self.next_position = None
                    self.playing.set()
                elif kind == "error":
                    if m["code"] == "busy":
                        t.busy += 1
                        self.busy = True
                        self.playing.set()
                    elif m["code"] == "replaced":
                        t.replaced += 1
                    else:
                        t.error(f"server error {m}")
            elif msg.type == aiohttp.WSMsgType.ERROR:
                t.error(f"websocket error {self.ws.exception()!r}")


async def listener(index: int, base: str, deadline: float, rng: random.Random,
                   totals: Totals, session_seconds: float) -> None:
    key = f"listener-{index}"
    old: Optional[tuple] = None
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                ws = await http.ws_connect(f"{base}/ws?key={key}", heartbeat=30.0,
                                           max_msg_size=1 << 24)
            except (aiohttp.ClientError, OSError) as e:
                totals.error(f"connect: {e!r}")
                await asyncio.sleep(0.5)
                continue
            if old is not None:
                # The previous connection stayed open until now: the server replaces its
                # stream and closes it.
                o_ws, o_task = old
                await asyncio.wait_for(o_task, 10)
                await o_ws.close()
                old = None
            totals.sessions += 1
            session = Session(totals, ws)
            receiver = asyncio.create_task(session.receive())
            try:
                await asyncio.wait_for(session.hello.wait(), 10)
                track = rng.choice(session.tracks)
                await ws.send_json({"type": "play", "track": track["name"],
                                    "seconds": round(rng.uniform(0, track["seconds"] / 2), 3)})
                await asyncio.wait_for(session.playing.wait(), 15)
                if session.busy:
                    # Refused at the cap: leave and come back a little later.
                    await ws.close()
                    await receiver
                    await asyncio.sleep(rng.uniform(0.5, 2.0))
                    continue
                end = min(deadline, time.monotonic() + rng.uniform(0.5, 2) * session_seconds)
                while time.monotonic() < end and not receiver.done():
                    await asyncio.sleep(rng.uniform(0.5, 5.0))
                    action = rng.random()
                    if action < 0.3:
                        seconds = round(rng.uniform(0, session.duration - 1.0), 3)
                        totals.seeks += 1
                        await ws.send_json({"type": "seek", "seconds": seconds})
                    elif action < 0.5:
                        await ws.send_json({"type": "eq", "gains": rng.choice(PRESETS)})
                    elif action < 0.6:
                        await ws.send_json({"type": "target", "lufs": rng.choice(TARGETS)})
                    elif action < 0.65:
                        await ws.send_json({"type": "pause"})
                        await asyncio.sleep(rng.uniform(0.1, 0.5))
                        await ws.send_json({"type": "resume"})
            except (asyncio.TimeoutError, aiohttp.ClientError, ConnectionError) as e:
                totals.error(f"listener {index}: {e!r}")
            how = rng.random()
            if how < 0.4 or time.monotonic() >= deadline:
                await ws.close()  # leaves cleanly
                await receiver
            elif how < 0.7:
                # Drops the connection without a closing handshake.
                receiver.cancel()
                ws._response.connection.transport.abort()  # type: ignore[union-attr]
                await asyncio.gather(receiver, return_exceptions=True)
                await ws.close()
            else:
                old = (ws, receiver)  # reconnects while this one is still open
        if old is not None:
            await old[0].close()
            await asyncio.gather(old[1], return_exceptions=True)


def rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024  # type: ignore[union-attr]


async def server_stats(base: str) -> Dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/debug/stats") as r:
            return await r.json()  # type: ignore[no-any-return]


async def server_reset(base: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/debug/reset") as r:
            await r.read()


async def quiesce(base: str, seconds: float = 10.0) -> Dict[str, Any]:
    """Waits until the server has no connections and no open streams."""
    deadline = time.monotonic() + seconds
    while True:
        s = await server_stats(base)
        if (s["connections"] == 0 and s["engine"]["streams_open"] == 0) or \
                time.monotonic() > deadline:
            return s
        await asyncio.sleep(0.1)


async def run(args: argparse.Namespace, base: str, pid: int) -> Dict[str, Any]:
    rng = random.Random(args.seed)
    # Warm-up: every listener connects, plays briefly and leaves, so the baselines of threads
    # and memory include what the server keeps for its life (pool threads, plans).
    warm = Totals()
    await asyncio.gather(*(listener(i, base, time.monotonic() + 1.0, random.Random(i), warm, 0.5)
                           for i in range(args.clients)))
    await quiesce(base)
    await server_reset(base)
    await asyncio.sleep(0.5)
    base_stats = await server_stats(base)
    base_rss = rss_mb(pid)

    totals = Totals()
    deadline = time.monotonic() + args.seconds
    await asyncio.gather(*(listener(i, base, deadline, random.Random(rng.random()), totals,
                                    args.session_seconds) for i in range(args.clients)))
    lag = await server_stats(base)  # the loop lag of the run, before the quiet end
    end = await quiesce(base)
    await server_reset(base)
    await asyncio.sleep(0.5)
    end = await server_stats(base)
    totals.errors += end["errors"]
    lat = np.asarray(totals.latencies_ms) if totals.latencies_ms else np.zeros(1)
    return {
        "clients": args.clients,
        "seconds": args.seconds,
        "seed": args.seed,
        "max_streams": args.max_streams,
        "sessions": totals.sessions,
        "seeks": totals.seeks,
        "replaced": totals.replaced,
        "chunks": totals.chunks,
        "errors": totals.errors,
        "seq_violations": totals.seq_violations,
        "stale_after_seek": totals.stale_after_seek,
        "busy": totals.busy,
        "leaked_streams": end["engine"]["streams_open"],
        "leaked_threads": max(0, end["threads"] - base_stats["threads"]),
        "rss_growth_mb": round(rss_mb(pid) - base_rss, 1),
        "chunk_latency_p99_ms": round(float(np.percentile(lat, 99)), 2),
        "loop_lag_p99_ms": round(lag["loop_lag_p99_ms"], 2),
        "loop_lag_max_ms": round(lag["loop_lag_max_ms"], 2),
        "underrun_frames": end["engine"]["underrun_frames"],
        "error_notes": totals.error_notes,
        "violation_notes": totals.violation_notes,
    }


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-streams", type=int, default=None,
                    help="the server's stream cap (default: enough for every client)")
    ap.add_argument("--session-seconds", type=float, default=8.0,
                    help="mean length of one connection (default 8)")
    ap.add_argument("--latency-limit-ms", type=float, default=100.0)
    ap.add_argument("--lag-limit-ms", type=float, default=20.0)
    ap.add_argument("--rss-limit-mb", type=float, default=64.0)
    args = ap.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0:
        ap.error("--clients >= 1 and --seconds > 0")
    if args.max_streams is None:
        args.max_streams = args.clients
    server = subprocess.Popen(
        [sys.executable, str(HERE / "server.py"), "--port", "0", "--debug-endpoints",
         "--max-streams", str(args.max_streams)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        m = re.search(r"http://[^/]+", line)
        if m is None:
            server.kill()
            sys.stderr.write(f"the server did not start: {line}{server.communicate()[1]}")
            return 2
        report = asyncio.run(run(args, m.group(0), server.pid))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            _, stderr = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            _, stderr = server.communicate()
    if "Traceback" in stderr or server.returncode != 0:
        report["errors"] += 1
        report["error_notes"].append(f"server exit {server.returncode}: {stderr[-2000:]}")
    for notes in ("error_notes", "violation_notes"):
        if not report[notes]:
            del report[notes]
    print(json.dumps(report), flush=True)
    ok = (report["errors"] == 0 and report["seq_violations"] == 0
          and report["stale_after_seek"] == 0 and report["leaked_streams"] == 0
          and report["leaked_threads"] == 0
          and report["rss_growth_mb"] <= args.rss_limit_mb
          and (report["busy"] == 0 or args.clients > args.max_streams)
          and report["chunk_latency_p99_ms"] < args.latency_limit_ms
          and report["loop_lag_p99_ms"] < args.lag_limit_ms)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
