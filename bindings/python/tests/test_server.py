"""The reference asyncio host (examples/server): its protocol with a real WebSocket client, a
short load test, and its page in headless Chromium.

The browser test needs Debian's ``chromium`` (``make test`` installs it where it can; .ci/run
does) and the ``playwright`` package (driving that browser, never downloading one); without
them it is skipped with the reason.
"""

import asyncio
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

aiohttp = pytest.importorskip("aiohttp")

SERVER_DIR = Path(__file__).resolve().parents[1] / "examples" / "server"
HEADER = struct.Struct("<4sIIIHHIQQ")
ARTIFACTS = Path(os.environ.get("TONECORE_ARTIFACTS",
                                Path(__file__).resolve().parents[3] / "target" / "artifacts"))


@pytest.fixture(scope="module")
def server():
    proc = subprocess.Popen(
        [sys.executable, str(SERVER_DIR / "server.py"), "--port", "0", "--debug-endpoints",
         "--max-streams", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"http://[^/]+", line)
    if m is None:
        proc.kill()
        pytest.fail(f"the server did not start: {line}{proc.communicate()[1]}")
    yield m.group(0)
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err


def run(coro):
    return asyncio.run(coro)


async def _messages(ws, until, timeout=10.0):
    """Collects messages until ``until(list)`` is true."""
    got = []
    deadline = time.monotonic() + timeout
    while not until(got):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out; last messages: {got[-5:]}")
        msg = await ws.receive(timeout=left)
        if msg.type == aiohttp.WSMsgType.TEXT:
            got.append(json.loads(msg.data))
        elif msg.type == aiohttp.WSMsgType.BINARY:
            got.append(HEADER.unpack_from(msg.data) + (msg.data[HEADER.size:],))
        else:
            got.append(msg.type)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return got
    return got


def _chunks(got):
    return [m for m in got if isinstance(m, tuple)]


def test_play_seek_and_settings_over_the_protocol(server):
    async def main():
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(f"{server}/ws?key=proto") as ws:
                hello = (await _messages(ws, lambda g: len(g) >= 1))[0]
                assert hello["type"] == "hello" and len(hello["bands"]) == 25
                track = hello["tracks"][1]
                await ws.send_json({"type": "play", "track": track["name"], "seconds": 2.5})
                got = await _messages(ws, lambda g: len(_chunks(g)) >= 8)
                gen = next(m for m in got if isinstance(m, dict) and m["type"] == "generation")
                assert gen["generation"] == 1 and gen["position"] == int(2.5 * 44100)
                chunks = _chunks(got)
                # Sequence numbers and positions are contiguous from the requested frame.
                assert [c[1] for c in chunks] == list(range(1, len(chunks) + 1))
                assert chunks[0][7] == gen["position"]
                for a, b in zip(chunks, chunks[1:]):
                    assert b[7] == a[7] + a[3]
                audio = np.frombuffer(b"".join(c[9] for c in chunks), np.float32)
                assert np.sqrt(np.mean(audio ** 2)) > 1e-3  # not silence

                await ws.send_json({"type": "seek", "seconds": 12.0})
                got = await _messages(
                    ws, lambda g: any(isinstance(m, dict) and m.get("type") == "generation"
                                      for m in g) and len(_chunks(g)) >= 2
                    and _chunks(g)[-1][2] == 2)
                after = [c for c in _chunks(got) if c[2] == 2]
                assert after[0][7] == 12 * 44100  # the seek's first chunk is at its target
                assert all(c[2] == 2 for c in _chunks(got)[_chunks(got).index(after[0]):])

                gains = [6.0 if 5 <= i <= 8 else 0.0 for i in range(25)]
                await ws.send_json({"type": "eq", "gains": gains})
                await ws.send_json({"type": "target", "lufs": -20})
                got = await _messages(
                    ws, lambda g: any(isinstance(m, dict) and m.get("type") == "stats"
                                      and m["gains"] == gains and m["target_lufs"] == -20
                                      and "loudness" in m for m in g))
                stats = [m for m in got if isinstance(m, dict) and m.get("type") == "stats"][-1]
                assert stats["engine"]["streams_open"] == 1
                # The engine normalised the track to the new target.
                assert abs(stats["loudness"]["output_lufs"] - (-20)) < 0.5
                # A settings change keeps the generation and continues the positions.
                chunks = [c for c in _chunks(got) if c[2] == 2]
                for a, b in zip(chunks, chunks[1:]):
                    assert b[7] == a[7] + a[3]

                for bad in ({"type": "eq", "gains": [1.0] * 3}, {"type": "seek", "seconds": -1},
                            {"type": "target", "lufs": float("nan")}, {"type": "nope"},
                            {"type": "play", "track": "../../etc/passwd"}):
                    await ws.send_str(json.dumps(bad))
                    got = await _messages(ws, lambda g: any(
                        isinstance(m, dict) and m.get("type") == "error" for m in g))
                    err = [m for m in got if isinstance(m, dict) and m.get("type") == "error"]
                    assert err[0]["code"] == "bad_request", err
                await ws.send_str("not json")
                got = await _messages(ws, lambda g: any(
                    isinstance(m, dict) and m.get("type") == "error" for m in g))
            async with http.get(f"{server}/debug/stats") as r:
                s = await r.json()
            deadline = time.monotonic() + 5
            while s["engine"]["streams_open"] and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                async with http.get(f"{server}/debug/stats") as r:
                    s = await r.json()
            assert s["engine"]["streams_open"] == 0 and s["errors"] == 0

    run(main())


def test_a_reconnect_with_the_same_key_replaces_and_the_old_cleanup_spares_it(server):
    async def main():
        async with aiohttp.ClientSession() as http:
            old = await http.ws_connect(f"{server}/ws?key=same")
            await _messages(old, lambda g: len(g) >= 1)
            await old.send_json({"type": "play", "track": "demo-1", "seconds": 0})
            await _messages(old, lambda g: len(_chunks(g)) >= 2)
            new = await http.ws_connect(f"{server}/ws?key=same")
            await _messages(new, lambda g: len(g) >= 1)
            await new.send_json({"type": "play", "track": "demo-2", "seconds": 1.0})
            got = await _messages(old, lambda g: any(
                isinstance(m, dict) and m.get("code") == "replaced" for m in g)
                or aiohttp.WSMsgType.CLOSE in g)
            # The old connection was told and closed; its clean-up ran. The new one plays on.
            await old.close()
            await asyncio.sleep(0.2)
            got = await _messages(new, lambda g: len(_chunks(g)) >= 10)
            assert _chunks(got)[-1][2] == 1
            async with http.get(f"{server}/debug/stats") as r:
                s = await r.json()
            assert s["engine"]["streams_open"] == 1 and s["connections"] == 1
            await new.close()

    run(main())


def test_hostile_clients_are_refused_or_dropped_and_the_server_carries_on(server):
    async def main():
        async with aiohttp.ClientSession() as http:
            for query in ("", "?key=", "?key=" + "k" * 201):
                async with http.get(f"{server}/ws{query}") as r:
                    assert r.status == 400
            # Sends without reading: dropped once 256 answers are queued, not buffered on.
            ws = await http.ws_connect(f"{server}/ws?key=flood")
            for _ in range(3000):
                if ws.closed:
                    break
                try:
                    await ws.send_str('{"type": "seek", "seconds": -1}')
                except ConnectionError:
                    break
            got = await _messages(ws, lambda g: aiohttp.WSMsgType.CLOSE in g
                                  or aiohttp.WSMsgType.CLOSED in g, timeout=20)
            assert ws.close_code == 1008 or aiohttp.WSMsgType.CLOSED in got
            # An oversized message closes that connection only.
            ws = await http.ws_connect(f"{server}/ws?key=big")
            await ws.send_str("x" * (1 << 17))
            await _messages(ws, lambda g: aiohttp.WSMsgType.CLOSE in g
                            or aiohttp.WSMsgType.CLOSED in g)
            # Binary from a client is ignored; the server still serves.
            async with http.ws_connect(f"{server}/ws?key=after") as ok:
                await ok.send_bytes(b"\x00" * 100)
                await ok.send_json({"type": "play", "track": "demo-3", "seconds": 0})
                got = await _messages(ok, lambda g: len(_chunks(g)) >= 3)
                assert _chunks(got)[0][2] == 1
            async with http.get(f"{server}/debug/stats") as r:
                s = await r.json()
            assert s["errors"] == 0, s

    run(main())


def test_a_short_load_test_holds_its_invariants():
    r = subprocess.run(
        [sys.executable, str(SERVER_DIR / "loadtest.py"), "--clients", "12", "--seconds", "8",
         "--seed", "3", "--max-streams", "8"],
        capture_output=True, text=True, timeout=300)
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert r.returncode == 0, (report, r.stderr[-3000:])
    assert report["clients"] == 12 and report["chunks"] > 500
    assert report["errors"] == report["seq_violations"] == report["stale_after_seek"] == 0
    assert report["leaked_streams"] == report["leaked_threads"] == 0
    # More listeners than streams: some plays were refused, each with a clear "busy".
    assert report["busy"] > 0


# -- the page in a real browser -------------------------------------------------------------


def _chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_the_page_plays_in_headless_chromium(server, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no chromium on this machine (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"])
        try:
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server + "/")
            page.wait_for_function("document.querySelectorAll('#eq input').length === 25")
            page.select_option("#track", "demo-2")
            page.click("#play")
            # Non-silent audio came out of the AudioWorklet (measured in the page).
            page.wait_for_function(
                "window.tonecoreStatus.played > 22050 && window.tonecoreStatus.maxRms > 0.003",
                timeout=20000)

            # A slider change reaches the server: its stats echo the gains.
            page.eval_on_selector(
                "#band-6", "e => { e.value = 6; e.dispatchEvent(new Event('change')); }")
            page.wait_for_function(
                "(s => s && s.gains[6] === 6)(window.tonecoreStatus.lastStats)", timeout=10000)

            # A seek lands: a new generation starts at the target and plays from there.
            gen = page.evaluate("window.tonecoreStatus.generation")
            page.eval_on_selector(
                "#seek", "e => { e.value = 15; e.dispatchEvent(new Event('change')); }")
            page.wait_for_function(
                f"window.tonecoreStatus.generation > {gen} && "
                "window.tonecoreStatus.seekLandedAt === 15 && window.tonecoreStatus.position >= 15",
                timeout=10000)
            played = page.evaluate("window.tonecoreStatus.played")
            page.wait_for_function(f"window.tonecoreStatus.played > {played} + 4410",
                                   timeout=10000)
            time.sleep(1.2)  # one more stats message for the screenshot's meter
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / "server-page.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            status = page.evaluate("window.tonecoreStatus")
            assert status["errors"] == [] and errors == [], (status["errors"], errors)
            # The page's own BS.1770 meter reads the played audio (normalised to -14 LUFS by
            # the engine; a 400 ms window of it lies within a few LU of that).
            assert -40 < status["momentary"] < 0 and -40 < status["programme"] < 0, status
            assert status["seqGaps"] == 0
        finally:
            browser.close()
