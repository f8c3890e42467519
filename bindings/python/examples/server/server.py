#!/usr/bin/env python3
"""A reference streaming host on asyncio: one tonecore engine, many WebSocket listeners.

Each WebSocket client names itself with a key (``/ws?key=...``) and gets the engine stream of
that key; a reconnect with the same key replaces the stream atomically, and the old
connection's clean-up can never close the new one (a replaced stream's id is stale). Clients
send JSON messages:

* ``{"type": "play", "track": NAME, "seconds": S}``: play a track of the media folder from S;
* ``{"type": "seek", "seconds": S}``;
* ``{"type": "eq", "gains": [dB per band]}`` and ``{"type": "target", "lufs": L}``;
* ``{"type": "pause"}`` / ``{"type": "resume"}``.

The server answers with JSON (``hello``, ``generation``, ``stats`` once a second, ``ended``,
``error``) and binary PCM chunks: a 40-byte little-endian header (see ``HEADER``: magic
``TCPM``, sequence number, generation, frames, channels, flags, sample rate, the track frame of
the chunk's first sample, and the monotonic time in ns the chunk was due) followed by float32
interleaved samples. A play or a seek starts a new generation, announced before its first
chunk, so a client drops whatever it still holds of older ones (the page fades what it was
playing out over 5 ms; the streams seek without a fade of their own, which would fall half a
second ahead of what the listener hears and reach the client as pre-seek audio). An EQ or
target change
reopens the key's stream with the new settings at the position reached (the engine renders
a stream's chunks through its cache, keyed by the settings) and keeps the generation: the
audio continues.

One task per connection writes everything, so a generation's announcement and its chunks
leave in order. It paces the chunks at the track's rate, ``--lead`` seconds ahead of the
listener; ``send_bytes`` waits while the socket's buffer is full, so a slow client only slows
its own task and the server never buffers more than one chunk and the transport's high-water
mark per client.

Usage: python3 server.py [--host 127.0.0.1] [--port 8765] [--media DIR] [--max-streams 256]
Open http://127.0.0.1:8765/ in a browser. Without ``--media``, three generated tracks play.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import hashlib
import json
import math
import os
import signal
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
from aiohttp import WSMsgType, web

import tonecore
from tonecore import aio

HERE = Path(__file__).resolve().parent

#: The chunk header: magic, seq, generation, frames, channels, flags, sample rate, position
#: (track frame of the first sample), due time (CLOCK_MONOTONIC ns).
HEADER = struct.Struct("<4sIIIHHIQQ")
MAGIC = b"TCPM"
FLAG_END = 1  # the last chunk of the track

CHUNK_SECONDS = 0.1  # audio per message
STATS_PERIOD = 1.0
TARGETS = (-70.0, 0.0)  # the level stage's range (LUFS)
MAX_GAIN_DB = 24.0
MAX_OUTBOX = 256  # JSON messages queued for one client before it is dropped


# -- media -----------------------------------------------------------------------------------


@dataclass
class Track:
    name: str
    audio: np.ndarray  # planar float32 (channels, frames)
    sample_rate: int
    content_id: int

    @property
    def seconds(self) -> float:
        return self.audio.shape[1] / self.sample_rate

    def info(self) -> Dict[str, Any]:
        return {"name": self.name, "seconds": round(self.seconds, 3),
                "sample_rate": self.sample_rate, "channels": int(self.audio.shape[0])}


def _content_id(name: str, audio: np.ndarray) -> int:
    h = hashlib.blake2b(name.encode(), digest_size=8)
    h.update(audio[:, :4096].tobytes())
    h.update(str(audio.shape).encode())
    return int.from_bytes(h.digest(), "little") or 1


def demo_tracks(sample_rate: int = 44100, seconds: float = 20.0) -> List[Track]:
    """Three generated stereo tracks of different loudness and spectra."""
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    rng = np.random.default_rng(7)
    tracks = []
    for i, (root, level) in enumerate(((110.0, 0.05), (146.8, 0.15), (82.4, 0.3))):
        beat = (np.sin(2 * np.pi * t * 2.0) > 0.6).astype(float)
        chord = sum(np.sin(2 * np.pi * root * r * t) for r in (1.0, 1.25, 1.5, 2.0))
        swell = 0.6 + 0.4 * np.sin(2 * np.pi * t / (5.0 + i))
        noise = rng.standard_normal((2, t.size)) * 0.05 * beat
        left = level * (chord * swell / 4 + noise[0])
        right = level * (np.roll(chord, 40 + 10 * i) * swell / 4 + noise[1])
        audio = np.ascontiguousarray(np.stack([left, right]), dtype=np.float32)
        name = f"demo-{i + 1}"
        tracks.append(Track(name, audio, sample_rate, _content_id(name, audio)))
    return tracks


def load_media(folder: Path) -> List[Track]:
    """Every WAV/FLAC/OGG file of ``folder`` (soundfile), as planar float32."""
    import soundfile as sf

    tracks = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in (".wav", ".flac", ".ogg", ".aiff", ".aif"):
            continue
        try:
            data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        except (RuntimeError, OSError) as e:  # unreadable: skipped, named in the log
            print(f"skipping {path.name}: {e}", file=sys.stderr)
            continue
        if data.shape[0] == 0 or data.shape[1] > 8:
            continue
        audio = np.ascontiguousarray(data.T)
        tracks.append(Track(path.name, audio, int(sr), _content_id(path.name, audio)))
    return tracks


def client_key(text: str) -> int:
    """The engine key of a client's key string."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


# -- one connection ----------------------------------------------------------------------------


class BadRequest(Exception):
    """A client message the server refuses (answered with an ``error``; nothing changes)."""


@dataclass
class Connection:
    server: "Server"
    ws: web.WebSocketResponse
    key_text: str
    key: int
    gains: List[float]
    target_lufs: float = -14.0
    track: Optional[Track] = None
    stream: Optional[aio.AsyncStream] = None
    generation: int = 0
    seq: int = 0
    paused: bool = False
    ended: bool = False
    # Pacing of the current generation: audio up to `lead` ahead of the listener is due at
    # once, the rest at the track's rate (due = origin + max(0, seconds sent - lead)).
    origin: float = 0.0
    frames_in_generation: int = 0
    next_frame: int = 0  # the track frame the next chunk starts at
    outbox: List[Dict[str, Any]] = field(default_factory=list)
    waker: Optional["asyncio.Future[None]"] = None
    replaced: bool = False
    holding: bool = False

    def post(self, message: Dict[str, Any]) -> None:
        """Queue a JSON message; the writer task sends it before the next chunk."""
        self.outbox.append(message)
        if self.waker is not None and not self.waker.done():
            self.waker.set_result(None)

    def pipeline(self) -> tonecore.PipelineConfig:
        return tonecore.PipelineConfig(
            eq_gains=self.gains, level=tonecore.LevelConfig(target_lufs=self.target_lufs),
            limiter=-1.0)

    async def open(self, track: Track, seconds: float, new_generation: bool) -> None:
        """Opens (or replaces) the key's stream at ``seconds`` with the current settings."""
        server = self.server
        if self.replaced:
            return  # a newer connection has the key: never take it back
        if not new_generation and self.stream is not None:
            # A settings change continues where the reads reached (the stream's own position
            # moves only once it delivered a frame: not yet after a seek): the writer holds
            # still until the new stream is in place.
            self.holding = True
            seconds = self.next_frame / track.sample_rate
        try:
            stream = await server.engine.open_stream(
                self.key, track.audio, track.sample_rate, self.pipeline(),
                timeout=server.open_timeout, chunk_seconds=1.0, content_id=track.content_id,
                seek_fade_ms=0.0)
            if self.replaced:  # another connection took the key meanwhile
                await stream.aclose()
                return
            if seconds > 0:
                stream.seek(min(seconds, max(0.0, track.seconds - 1e-3)))
            # A settings change after the end keeps the end (the next seek or play leaves it).
            self.stream, self.track = stream, track
            self.ended = self.ended and not new_generation
            if new_generation:
                self.start_generation(seconds)
        finally:
            self.holding = False

    def start_generation(self, seconds: float) -> None:
        assert self.track is not None
        self.generation += 1
        self.origin = asyncio.get_running_loop().time()
        self.frames_in_generation = 0
        sr, ch = self.track.sample_rate, int(self.track.audio.shape[0])
        self.next_frame = int(round(seconds * sr))
        self.post({"type": "generation", "generation": self.generation,
                   "track": self.track.name, "seconds": seconds,
                   "position": int(round(seconds * sr)), "duration": self.track.seconds,
                   "sample_rate": sr, "channels": ch})

    async def handle(self, msg: Dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "play":
            track = self.server.tracks.get(str(msg.get("track")))
            if track is None:
                raise BadRequest(f"no track {msg.get('track')!r}")
            await self.open(track, _seconds(msg.get("seconds", 0.0), track), True)
        elif kind == "seek":
            if self.stream is None or self.track is None:
                raise BadRequest("nothing is playing")
            seconds = _seconds(msg.get("seconds"), self.track)
            self.stream.seek(seconds)
            self.ended = False
            self.start_generation(seconds)
        elif kind == "eq":
            gains = msg.get("gains")
            if (not isinstance(gains, list) or len(gains) != len(self.gains)
                    or not all(_finite(g) and abs(g) <= MAX_GAIN_DB for g in gains)):
                raise BadRequest(f"gains must be {len(self.gains)} numbers within "
                                 f"±{MAX_GAIN_DB:g} dB")
            self.gains = [float(g) for g in gains]
            await self.reopen()
        elif kind == "target":
            lufs = msg.get("lufs")
            if not _finite(lufs) or not TARGETS[0] <= lufs <= TARGETS[1]:
                raise BadRequest(f"lufs must be a number in [{TARGETS[0]:g}, {TARGETS[1]:g}]")
            self.target_lufs = float(lufs)
            await self.reopen()
        elif kind in ("pause", "resume"):
            self.paused = kind == "pause"
            if not self.paused and self.track is not None:
                # Resume paces from now, as a new start of the same generation.
                self.origin = asyncio.get_running_loop().time()
                self.frames_in_generation = 0
            self.post({"type": "paused", "paused": self.paused})
        else:
            raise BadRequest(f"unknown message type {kind!r}")

    async def reopen(self) -> None:
        if self.track is not None:
            await self.open(self.track, 0.0, False)
        self.post({"type": "settings", "gains": self.gains, "target_lufs": self.target_lufs})

    # -- the writer task

    async def write(self) -> None:
        """Sends every message of this connection: JSON first, then the due chunk."""
        loop = asyncio.get_running_loop()
        server = self.server
        next_stats = loop.time() + STATS_PERIOD
        buf: Optional[np.ndarray] = None
        while not self.ws.closed:
            if self.replaced:
                await self.ws.send_str(json.dumps(
                    {"type": "error", "code": "replaced",
                     "message": "another connection took this key"}))
                await self.ws.close()
                return
            while self.outbox:
                await self.ws.send_str(json.dumps(self.outbox.pop(0)))
            now = loop.time()
            if now >= next_stats:
                next_stats = now + STATS_PERIOD
                await self.ws.send_str(json.dumps(self.stats()))
                continue
            stream, track = self.stream, self.track
            if stream is None or track is None or self.paused or self.ended or self.holding:
                await self.sleep(next_stats - now)
                continue
            frames = int(track.sample_rate * CHUNK_SECONDS)
            # Everything up to `lead` ahead of the listener is due at once.
            due = self.origin + max(
                0.0, self.frames_in_generation / track.sample_rate - server.lead)
            if now < due:
                await self.sleep(min(due, next_stats) - now)
                continue
            if now - due > 2.0:
                # Far behind (a slow client or socket): restart the pacing instead of bursting.
                self.origin = now
                self.frames_in_generation = 0
                due = now
            if buf is None or buf.shape != (frames, track.audio.shape[0]):
                buf = np.empty((frames, track.audio.shape[0]), np.float32)
            try:
                n = stream.read_into(buf)
                # The chunk's first frame (the position is the last delivered frame's).
                position = stream.stats()["position"] - n
            except tonecore.StaleHandle:
                # Replaced by a play of this connection (the next round reads the new stream)
                # or by a newer connection of the key (which sets `replaced`).
                await self.sleep(0.005)
                continue
            if n == 0:
                await self.sleep(0.005)  # not rendered yet (after an open or a seek)
                continue
            self.next_frame = position + n
            end = self.next_frame >= track.audio.shape[1]

            self.seq += 1
            header = HEADER.pack(MAGIC, self.seq, self.generation, n, buf.shape[1],
                                 FLAG_END if end else 0, track.sample_rate, position,
                                 int(due * 1e9))
            self.frames_in_generation += n
            server.chunks_sent += 1
            await self.ws.send_bytes(header + buf[:n].tobytes())
            if end:
                self.ended = True
                self.post({"type": "ended", "generation": self.generation})

    async def sleep(self, seconds: float) -> None:
        """Sleeps up to ``seconds``; a queued message wakes it."""
        if self.outbox:
            return
        loop = asyncio.get_running_loop()
        self.waker = waker = loop.create_future()
        timer = loop.call_later(max(0.0, seconds), _wake, waker)
        try:
            await waker
        finally:
            timer.cancel()
            self.waker = None

    def stats(self) -> Dict[str, Any]:
        s: Dict[str, Any] = {
            "type": "stats", "generation": self.generation, "seq": self.seq,
            "gains": self.gains, "target_lufs": self.target_lufs, "paused": self.paused,
            "engine": {k: v for k, v in self.server.engine.stats().items() if k in (
                "streams_open", "max_streams", "busy_refusals", "underrun_frames",
                "chunks_rendered", "cache_hits", "cache_misses", "jobs_running")},
        }
        if self.stream is not None and self.track is not None:
            s["position_seconds"] = self.next_frame / self.track.sample_rate
            try:
                # What the engine measured of the track at open (once per track and settings):
                # its loudness, the gain that puts it on the target, the output's true peak.
                norm = self.stream.normalization()
            except tonecore.Error:
                norm = None
            if norm is not None:
                s["loudness"] = {k: _num(norm[k]) for k in (
                    "input_lufs", "gain_db", "output_lufs", "output_true_peak_dbtp")}
        return s

    async def close(self) -> None:
        """The connection's clean-up: closes its stream (a no-op when a newer connection of
        the key replaced it: the id is stale)."""
        stream, self.stream = self.stream, None
        if stream is not None:
            await stream.aclose()


def _wake(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        fut.set_result(None)


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _seconds(v: Any, track: Track) -> float:
    """A position in seconds, snapped to its frame (the engine seeks to whole frames)."""
    if not _finite(v) or not 0.0 <= v < track.seconds:
        raise BadRequest(f"seconds must be a number in [0, {track.seconds:g})")
    return math.floor(v * track.sample_rate + 0.5) / track.sample_rate


def _num(v: Any) -> Optional[float]:
    """JSON has no -inf: None for a value the meter cannot give yet."""
    return float(v) if math.isfinite(v) else None


# -- the server --------------------------------------------------------------------------------


class Server:
    def __init__(self, tracks: List[Track], max_streams: int, lead: float,
                 open_timeout: float, debug: bool) -> None:
        self.tracks = {t.name: t for t in tracks}
        self.max_streams = max_streams
        self.lead = lead
        self.open_timeout = open_timeout
        self.debug = debug
        self.engine = aio.AsyncEngine(max_streams=max_streams, cache_bytes=128 << 20)
        self.probe = aio.LoopLagProbe()
        self.connections: Dict[int, Connection] = {}
        self.chunks_sent = 0
        self.errors = 0
        self.busy = 0
        self.bands = [float(c) for c in tonecore.BandLayout.critical().centers]

    async def start(self, app: web.Application) -> None:
        await self.engine.__aenter__()
        self.probe.start()

    async def stop(self, app: web.Application) -> None:
        for conn in list(self.connections.values()):
            await conn.ws.close()
        await self.probe.stop()
        await self.engine.aclose()

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(HERE / "static" / "index.html")

    async def track_list(self, request: web.Request) -> web.Response:
        return web.json_response([t.info() for t in self.tracks.values()])

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        key_text = request.query.get("key", "")
        if not 1 <= len(key_text) <= 200:
            raise web.HTTPBadRequest(text="a key of 1-200 characters is required (?key=...)")
        ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=1 << 16, compress=False)
        await ws.prepare(request)
        key = client_key(key_text)
        conn = Connection(self, ws, key_text, key, [0.0] * len(self.bands))
        previous = self.connections.get(key)
        if previous is not None:
            previous.replaced = True  # its writer stops; its clean-up cannot close ours
        self.connections[key] = conn
        conn.post({"type": "hello", "key": key_text, "bands": self.bands,
                   "tracks": [t.info() for t in self.tracks.values()],
                   "chunk_seconds": CHUNK_SECONDS, "lead_seconds": self.lead,
                   "max_gain_db": MAX_GAIN_DB})
        writer = asyncio.create_task(conn.write())
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    body = json.loads(msg.data)
                    if not isinstance(body, dict):
                        raise BadRequest("a message is a JSON object")
                    await conn.handle(body)  # one message at a time, in order
                except (BadRequest, ValueError, tonecore.InvalidArgument) as e:
                    conn.post({"type": "error", "code": "bad_request", "message": str(e)})
                except tonecore.Busy:
                    self.busy += 1
                    conn.post({"type": "error", "code": "busy",
                               "message": f"all {self.max_streams} streams are taken"})
                except tonecore.StaleHandle:
                    if not conn.replaced:
                        raise
                    break  # a newer connection took the key: this one is ending
                if writer.done():
                    break
                if len(conn.outbox) > MAX_OUTBOX:
                    # A client that sends without reading: no unbounded queue for it.
                    await ws.close(code=1008, message=b"too many messages not read")
                    break
        except Exception:  # noqa: BLE001 - one connection's failure is counted, not fatal
            self.errors += 1
            raise
        finally:
            writer.cancel()
            try:
                await writer
            except asyncio.CancelledError:
                pass
            except Exception:  # noqa: BLE001 - a send on a socket the client dropped
                pass
            if self.connections.get(key) is conn:
                del self.connections[key]
            await conn.close()
        return ws

    async def debug_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.debug_snapshot())

    def debug_snapshot(self) -> Dict[str, Any]:
        stats = self.engine.stats()
        return {
            "connections": len(self.connections),
            "chunks_sent": self.chunks_sent,
            "errors": self.errors,
            "busy": self.busy,
            "engine": stats,
            "threads": len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task")
            else None,
            "loop_lag_p50_ms": self.probe.percentile(50),
            "loop_lag_p99_ms": self.probe.percentile(99),
            "loop_lag_max_ms": self.probe.max_ms,
        }

    async def debug_reset(self, request: web.Request) -> web.Response:
        """Forgets the loop lags, empties the chunk cache and hands freed heap back to the
        system (glibc keeps freed track copies in its arenas otherwise), so that the resident
        size measures what is really held."""
        self.probe.reset()
        self.engine.engine.clear_cache()
        try:
            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):
            pass  # not glibc
        return web.json_response({"ok": True})

    def app(self) -> web.Application:
        app = web.Application()
        app.on_startup.append(self.start)
        app.on_shutdown.append(self.stop)
        app.router.add_get("/", self.index)
        app.router.add_get("/api/tracks", self.track_list)
        app.router.add_get("/ws", self.websocket)
        app.router.add_static("/static/", HERE / "static")
        if self.debug:
            app.router.add_get("/debug/stats", self.debug_stats)
            app.router.add_post("/debug/reset", self.debug_reset)
        return app


def return_large_buffers_to_the_system() -> None:
    """glibc only: serve allocations of 256 KiB and more from mmap for the whole run.

    Each stream holds a copy of its track (MBs) and its chunk packets. glibc's default raises
    its mmap threshold to the largest block freed so far, after which such copies come from
    its heaps and their memory stays with the process when streams close; a fixed threshold
    hands it back at once, so the resident size follows the streams open.
    """
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 256 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765, help="0: any free port")
    ap.add_argument("--media", type=Path, help="folder of WAV/FLAC files (default: demo tracks)")
    ap.add_argument("--max-streams", type=int, default=256)
    ap.add_argument("--lead", type=float, default=0.5,
                    help="seconds of audio sent ahead of the listener (default 0.5)")
    ap.add_argument("--open-timeout", type=float, default=2.0,
                    help="seconds a play waits for a free stream at the cap (default 2)")
    ap.add_argument("--debug-endpoints", action="store_true",
                    help="serve /debug/stats and /debug/reset (for loadtest.py)")
    args = ap.parse_args(argv)
    if args.media is not None:
        if not args.media.is_dir():
            ap.error(f"--media {args.media}: not a folder")
        tracks = load_media(args.media)
        if not tracks:
            ap.error(f"--media {args.media}: no readable WAV/FLAC/OGG/AIFF files")
    else:
        tracks = demo_tracks()
    return_large_buffers_to_the_system()
    server = Server(tracks, args.max_streams, args.lead, args.open_timeout,
                    args.debug_endpoints)

    async def serve() -> None:
        runner = web.AppRunner(server.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(f"listening on http://{args.host}:{port}/", flush=True)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
