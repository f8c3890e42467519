// The page: a WebSocket to the host, chunks into the AudioWorklet, controls back as JSON.
// `window.tonecoreStatus` holds what the page saw (read by the browser test).
"use strict";

const HEADER_BYTES = 40;
const $ = (id) => document.getElementById(id);
const status = (window.tonecoreStatus = {
  connected: false, generation: 0, chunks: 0, dropped: 0, errors: [], played: 0,
  underruns: 0, maxRms: 0, lastStats: null, position: 0, seq: 0, seqGaps: 0,
});

let key = sessionStorage.getItem("tonecore-key");
if (!key) {
  key = "page-" + Math.random().toString(36).slice(2);
  sessionStorage.setItem("tonecore-key", key);
}

let ws = null;
let ctx = null;
let player = null;
let duration = 1;
let sampleRate = 44100;
let generation = 0;
let seeking = false;

const fmt = (x, unit) => (x === null || x === undefined ? "–" : x.toFixed(1) + " " + unit);

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

function connect() {
  const url = new URL("/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("key", key);
  ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => { status.connected = true; $("state").textContent = "connected"; };
  ws.onclose = () => {
    status.connected = false;
    $("state").textContent = "disconnected, reconnecting…";
    setTimeout(connect, 1000);
  };
  ws.onmessage = (e) => (typeof e.data === "string" ? onJson(JSON.parse(e.data)) : onChunk(e.data));
}

function onChunk(buf) {
  const v = new DataView(buf);
  const seq = v.getUint32(4, true);
  const gen = v.getUint32(8, true);
  const frames = v.getUint32(12, true);
  const channels = v.getUint16(16, true);
  const position = Number(v.getBigUint64(24, true));
  if (status.seq && seq !== status.seq + 1) status.seqGaps++;
  status.seq = seq;
  if (gen < generation) { status.dropped++; return; } // audio from before a seek
  status.chunks++;
  const samples = new Float32Array(buf, HEADER_BYTES, frames * channels);
  if (player) player.port.postMessage({ type: "data", generation: gen, frames, channels, samples });
  status.position = position / sampleRate;
  if (!seeking) {
    $("seek").value = status.position;
    $("time").textContent = status.position.toFixed(1) + " s";
  }
}

function onJson(m) {
  if (m.type === "hello") {
    buildControls(m);
  } else if (m.type === "generation") {
    generation = status.generation = m.generation;
    duration = m.duration;
    $("seek").max = duration;
    status.seekLandedAt = m.seconds;
    if (!ctx || sampleRate !== m.sample_rate) startAudio(m.sample_rate);
    else if (player) player.port.postMessage({ type: "flush", generation });
  } else if (m.type === "stats") {
    status.lastStats = m;
    const l = m.loudness || {};
    $("track-lufs").textContent = fmt(l.input_lufs, "LUFS");
    $("gain").textContent = fmt(l.gain_db, "dB");
    $("output-lufs").textContent = fmt(l.output_lufs, "LUFS");
    $("true-peak").textContent = fmt(l.output_true_peak_dbtp, "dBTP");
    $("stats").textContent = JSON.stringify({ engine: m.engine, generation: m.generation,
      gains: m.gains.map((g) => +g.toFixed(1)).join(" "), target_lufs: m.target_lufs }, null, 1);
  } else if (m.type === "error") {
    status.errors.push(m);
    $("state").textContent = "error: " + m.message;
  } else if (m.type === "ended") {
    $("state").textContent = "ended";
  }
}

async function startAudio(rate) {
  sampleRate = rate;
  if (ctx) await ctx.close();
  ctx = new AudioContext({ sampleRate: rate });
  await ctx.audioWorklet.addModule("/static/worklet.js");
  player = new AudioWorkletNode(ctx, "tonecore-player", { outputChannelCount: [2] });
  player.port.onmessage = (e) => {
    const m = e.data;
    status.played = m.played;
    status.underruns = m.underruns;
    status.maxRms = Math.max(status.maxRms, m.rms);
    status.momentary = m.momentary;
    status.programme = m.programme;
    $("momentary").textContent = fmt(m.momentary, "LUFS");
    $("programme").textContent = fmt(m.programme, "LUFS");
    const level = m.momentary === null ? -60 : m.momentary;
    $("momentary-bar").style.width = Math.max(0, Math.min(100, (level + 60) / 60 * 100)) + "%";
  };
  player.connect(ctx.destination);
  player.port.postMessage({ type: "flush", generation });
  await ctx.resume();
  status.audioState = ctx.state;
}

function buildControls(hello) {
  const select = $("track");
  select.innerHTML = "";
  for (const t of hello.tracks) {
    const o = document.createElement("option");
    o.value = t.name;
    o.textContent = `${t.name} (${t.seconds.toFixed(0)} s)`;
    select.appendChild(o);
  }
  const eq = $("eq");
  eq.innerHTML = "";
  hello.bands.forEach((hz, i) => {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "range";
    input.min = -12;
    input.max = 12;
    input.step = 0.5;
    input.value = 0;
    input.id = "band-" + i;
    input.addEventListener("change", sendGains);
    label.appendChild(input);
    label.appendChild(document.createTextNode(hz < 1000 ? Math.round(hz) : (hz / 1000).toFixed(1) + "k"));
    eq.appendChild(label);
  });
}

function sendGains() {
  const gains = [...document.querySelectorAll("#eq input")].map((i) => Number(i.value));
  send({ type: "eq", gains });
}

$("play").addEventListener("click", async () => {
  if (!ctx) await startAudio(sampleRate); // inside the click: the browser allows audio
  send({ type: "play", track: $("track").value, seconds: 0 });
  $("pause").disabled = false;
  $("state").textContent = "playing";
});
$("pause").addEventListener("click", () => {
  const paused = $("pause").textContent === "Pause";
  send({ type: paused ? "pause" : "resume" });
  if (player) player.port.postMessage({ type: "pause", paused });
  $("pause").textContent = paused ? "Resume" : "Pause";
});
$("seek").addEventListener("input", () => { seeking = true; });
$("seek").addEventListener("change", () => {
  seeking = false;
  send({ type: "seek", seconds: Math.min(Number($("seek").value), duration - 0.01) });
});
$("target").addEventListener("input", () => {
  $("target-value").textContent = $("target").value + " LUFS";
});
$("target").addEventListener("change", () => send({ type: "target", lufs: Number($("target").value) }));
$("flat").addEventListener("click", () => {
  document.querySelectorAll("#eq input").forEach((i) => { i.value = 0; });
  sendGains();
});

connect();
