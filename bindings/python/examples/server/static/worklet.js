// The page's player: an AudioWorkletProcessor playing the PCM chunks the page posts to it.
//
// It also meters what it plays: BS.1770 K-weighting (a high shelf and a high pass, designed for
// the context's sample rate) and the mean square over the last 400 ms (momentary loudness) and
// since the last flush (programme loudness, ungated), in LUFS.
//
// Messages in: {type: "data", generation, frames, channels, samples: Float32Array
// (interleaved)}, {type: "flush", generation} (drop everything older than `generation`),
// {type: "pause", paused}. Messages out, every ~100 ms: {type: "level", played, underruns,
// buffered, rms, peak, generation}: frames played, frames of silence for want of data,
// frames held, the RMS and peak of what was played in the period, and `momentary` and
// `programme` loudness (LUFS, null before there is any).
class TonecorePlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.capacity = sampleRate * 8; // frames held at most (the server sends ~0.5 s ahead)
    this.channels = 2;
    this.ring = [new Float32Array(this.capacity), new Float32Array(this.capacity)];
    this.read = 0;
    this.count = 0;
    this.generation = 0;
    this.paused = false;
    this.played = 0;
    this.underruns = 0;
    this.sumSquares = 0;
    this.peak = 0;
    this.periodFrames = 0;
    // A flush cuts what was playing: its last output decays over ~5 ms under the new audio
    // (which fades in over the same time) instead of stepping, so a seek does not click.
    this.last = [0, 0];
    this.tail = [0, 0];
    this.tailGain = 0;
    this.fadeIn = 1;
    this.fadeStep = 1 / (0.005 * sampleRate);
    this.decay = Math.exp(-1 / (0.001 * sampleRate));
    this.kweight = [kWeighting(sampleRate), kWeighting(sampleRate)];
    this.blocks = new Float64Array(4); // K-weighted energy of the last four 100 ms blocks
    this.blockEnergy = 0;
    this.blockFrames = 0;
    this.blockIndex = 0;
    this.blocksSeen = 0;
    this.programEnergy = 0;
    this.programFrames = 0;
    this.port.onmessage = (e) => this.onMessage(e.data);
  }

  meter(c, v) {
    // Two biquads (direct form I) per channel; returns the K-weighted sample.
    const k = this.kweight[c];
    let x = v;
    for (const f of k) {
      const y = f.b0 * x + f.b1 * f.x1 + f.b2 * f.x2 - f.a1 * f.y1 - f.a2 * f.y2;
      f.x2 = f.x1; f.x1 = x; f.y2 = f.y1; f.y1 = y;
      x = y;
    }
    return x * x;
  }

  onMessage(m) {
    if (m.type === "flush") {
      this.generation = m.generation;
      this.read = 0;
      this.count = 0;
      this.tail = this.last.slice();
      this.tailGain = 1;
      this.fadeIn = 0;
      this.programEnergy = 0;
      this.programFrames = 0;
    } else if (m.type === "pause") {
      this.paused = m.paused;
    } else if (m.type === "data") {
      if (m.generation < this.generation) return; // pre-seek audio
      const ch = Math.min(m.channels, 2);
      let write = (this.read + this.count) % this.capacity;
      const frames = Math.min(m.frames, this.capacity - this.count);
      for (let i = 0; i < frames; i++) {
        for (let c = 0; c < 2; c++) {
          this.ring[c][write] = m.samples[i * m.channels + Math.min(c, ch - 1)];
        }
        write = (write + 1) % this.capacity;
      }
      this.count += frames;
    }
  }

  process(inputs, outputs) {
    const out = outputs[0];
    const n = out[0].length;
    for (let i = 0; i < n; i++) {
      const have = !this.paused && this.count > 0;
      const gain = this.fadeIn;
      for (let c = 0; c < out.length; c++) {
        const k = Math.min(c, 1);
        const v = (have ? this.ring[k][this.read] * gain : 0) + this.tail[k] * this.tailGain;
        out[c][i] = v;
        this.last[k] = v;
        if (c === 0) {
          this.sumSquares += v * v;
          this.peak = Math.max(this.peak, Math.abs(v));
        }
      }
      this.tailGain *= this.decay;
      if (have) {
        const e = this.meter(0, out[0][i]) + (out.length > 1 ? this.meter(1, out[1][i]) : 0);
        this.blockEnergy += e;
        this.blockFrames++;
        this.programEnergy += e;
        this.programFrames++;
        if (this.blockFrames >= sampleRate / 10) {
          this.blocks[this.blockIndex] = this.blockEnergy / this.blockFrames;
          this.blockIndex = (this.blockIndex + 1) % 4;
          this.blocksSeen++;
          this.blockEnergy = 0;
          this.blockFrames = 0;
        }
        this.fadeIn = Math.min(1, this.fadeIn + this.fadeStep);
        this.read = (this.read + 1) % this.capacity;
        this.count--;
        this.played++;
      } else if (!this.paused) {
        this.underruns++;
      }
    }
    this.periodFrames += n;
    if (this.periodFrames >= sampleRate / 10) {
      this.port.postMessage({
        type: "level", played: this.played, underruns: this.underruns, buffered: this.count,
        rms: Math.sqrt(this.sumSquares / this.periodFrames), peak: this.peak,
        generation: this.generation,
        momentary: this.blocksSeen >= 4 ? lufs((this.blocks[0] + this.blocks[1] +
          this.blocks[2] + this.blocks[3]) / 4) : null,
        programme: this.programFrames > sampleRate / 2 ?
          lufs(this.programEnergy / this.programFrames) : null,
      });
      this.sumSquares = 0;
      this.peak = 0;
      this.periodFrames = 0;
    }
    return true;
  }
}

function lufs(meanSquare) {
  return meanSquare > 0 ? -0.691 + 10 * Math.log10(meanSquare) : null;
}

// BS.1770's K-weighting for sample rate `fs`: the pre-filter (a high shelf, +4 dB above about
// 1.7 kHz) and the RLB high pass (about 38 Hz), as biquads from their analogue prototypes.
function kWeighting(fs) {
  const shelf = (() => {
    const f0 = 1681.974450955533, gain = 3.999843853973347, q = 0.7071752369554196;
    const k = Math.tan(Math.PI * f0 / fs);
    const vh = Math.pow(10, gain / 20);
    const vb = Math.pow(vh, 0.4996667741545416);
    const a0 = 1 + k / q + k * k;
    return { b0: (vh + vb * k / q + k * k) / a0, b1: 2 * (k * k - vh) / a0,
      b2: (vh - vb * k / q + k * k) / a0, a1: 2 * (k * k - 1) / a0,
      a2: (1 - k / q + k * k) / a0 };
  })();
  const highPass = (() => {
    const f0 = 38.13547087602444, q = 0.5003270373238773;
    const k = Math.tan(Math.PI * f0 / fs);
    const a0 = 1 + k / q + k * k;
    return { b0: 1, b1: -2, b2: 1, a1: 2 * (k * k - 1) / a0, a2: (1 - k / q + k * k) / a0 };
  })();
  return [shelf, highPass].map((f) => Object.assign(f, { x1: 0, x2: 0, y1: 0, y2: 0 }));
}

registerProcessor("tonecore-player", TonecorePlayer);
