//! Reading audio files (WAV, FLAC, MP3, Ogg Vorbis) through symphonia into one planar `f32`
//! buffer, allocated once when the container states its length.
//!
//! Hostile files: a WAV header's rate and channel count and every metadata length (`declared`)
//! are checked here before symphonia reads the file, every stream's parameters before they reach
//! the engine; a panic inside symphonia becomes a one-line error; a file that ends before its
//! header says is read and [`Track::warning`] says so.

use crate::error::{check_cancel, contain, io_reason, shown, Result};
use crate::fail;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use symphonia::core::audio::{AudioBuffer, Signal};
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// The formats tonecore reads, as a person names them.
pub const SUPPORTED: &str = "WAV, FLAC, MP3 and Ogg Vorbis";

/// File extensions taken as audio by `batch`.
pub const AUDIO_EXTENSIONS: &[&str] = &["wav", "wave", "flac", "mp3", "ogg", "oga"];

/// Most channels the engine processes.
const MAX_CHANNELS: usize = tonecore::limits::MAX_CHANNELS;
/// Sample rates the engine measures and processes, Hz.
const MIN_RATE: u32 = tonecore::limits::MIN_SAMPLE_RATE;
const MAX_RATE: u32 = tonecore::limits::MAX_SAMPLE_RATE;

/// A decoded track: planar samples (`channels × frames`, channel after channel).
pub struct Track {
    /// Planar samples.
    pub samples: Vec<f32>,
    /// Channel count.
    pub channels: usize,
    /// Sample rate in Hz.
    pub rate: u32,
    /// A one-line warning for stderr: the file ended before its header said.
    pub warning: Option<String>,
}

impl Track {
    /// Frames per channel.
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }

    /// Duration in seconds.
    pub fn seconds(&self) -> f64 {
        self.frames() as f64 / self.rate as f64
    }
}

/// An opened file, ready to decode.
pub struct Source {
    reader: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    name: String,
    /// Channel count.
    pub channels: usize,
    /// Sample rate in Hz.
    pub rate: u32,
    /// Frames the container announces (exact for WAV and FLAC).
    pub frames_hint: Option<u64>,
    /// Frames the header promises when it states a definite length (a shorter file is warned
    /// about).
    expected: Option<u64>,
    /// Most frames the file can plausibly hold (bounds the buffer sized from a header).
    max_frames: Option<u64>,
    /// The container/codec, e.g. "FLAC".
    pub format: &'static str,
}

/// What a WAV header declares, read before symphonia sees the file (which panics on some).
struct WavHeader {
    channels: u16,
    rate: u32,
    /// The data chunk's length, bytes; `None` if missing or 0xFFFFFFFF (streaming writers'
    /// "unknown").
    data_len: Option<u32>,
}

/// Walks the RIFF chunks of a WAV file up to its data chunk. `None` without a format chunk.
fn wav_header(file: &mut File) -> Option<WavHeader> {
    file.seek(SeekFrom::Start(12)).ok()?;
    let mut r = BufReader::new(file);
    let mut fmt = None;
    for _ in 0..4096 {
        let mut h = [0u8; 8];
        if r.read_exact(&mut h).is_err() {
            break;
        }
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        match &h[..4] {
            b"fmt " if len >= 8 => {
                let mut f = [0u8; 8];
                r.read_exact(&mut f).ok()?;
                fmt = Some((
                    u16::from_le_bytes([f[2], f[3]]),
                    u32::from_le_bytes([f[4], f[5], f[6], f[7]]),
                ));
                r.seek_relative(i64::from(len - 8) + i64::from(len & 1))
                    .ok()?;
            }
            b"data" => {
                return fmt.map(|(channels, rate)| WavHeader {
                    channels,
                    rate,
                    data_len: (len != u32::MAX).then_some(len),
                })
            }
            _ => r.seek_relative(i64::from(len) + i64::from(len & 1)).ok()?,
        }
    }
    fmt.map(|(channels, rate)| WavHeader {
        channels,
        rate,
        data_len: None,
    })
}

/// Whether an MP3 file's first frame carries a Xing/Info or VBRI tag (a frame count, so a
/// definite length; otherwise symphonia estimates it from the file size).
fn mp3_length_tag(file: &mut File) -> bool {
    let mut buf = [0u8; 4096];
    let mut start = 0u64;
    let mut head = [0u8; 10];
    if file.seek(SeekFrom::Start(0)).is_err() || file.read_exact(&mut head).is_err() {
        return false;
    }
    if &head[..3] == b"ID3" {
        let size = head[6..10]
            .iter()
            .fold(0u64, |a, &b| (a << 7) | u64::from(b & 0x7f));
        start = 10 + size + if head[5] & 0x10 != 0 { 10 } else { 0 };
    }
    if file.seek(SeekFrom::Start(start)).is_err() {
        return false;
    }
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    let buf = &buf[..got];
    let Some(sync) = buf
        .windows(2)
        .position(|w| w[0] == 0xFF && w[1] & 0xE0 == 0xE0)
    else {
        return false;
    };
    let frame = &buf[sync..buf.len().min(sync + 64)];
    frame
        .windows(4)
        .any(|w| w == b"Xing" || w == b"Info" || w == b"VBRI")
}

/// Refuses a sample rate or channel count the engine cannot take.
fn check_stream(name: &str, rate: Option<u32>, channels: Option<usize>) -> Result<()> {
    if let Some(r) = rate.filter(|r| !(MIN_RATE..=MAX_RATE).contains(r)) {
        return Err(fail!(
            "cannot read {name}: it declares {r} Hz; tonecore reads {MIN_RATE} to {MAX_RATE} Hz"
        ));
    }
    if let Some(c) = channels.filter(|c| !(1..=MAX_CHANNELS).contains(c)) {
        return Err(fail!(
            "cannot read {name}: it declares {c} channels; tonecore processes 1 to {MAX_CHANNELS}"
        ));
    }
    Ok(())
}

/// The error for a panic inside symphonia.
fn decoder_panic(name: &str, message: &str) -> crate::error::CliError {
    fail!("cannot read {name}: the decoder failed on damaged data ({message})")
}

/// What the first bytes of a file say it is (for messages about unsupported files).
fn sniff(head: &[u8], path: &Path) -> Option<&'static str> {
    let at = |i: usize, m: &[u8]| head.len() >= i + m.len() && &head[i..i + m.len()] == m;
    let found = if at(0, b"RIFF") && at(8, b"WAVE") || at(0, b"RF64") {
        "WAV"
    } else if at(0, b"fLaC") {
        "FLAC"
    } else if at(0, b"OggS") {
        if head.windows(8).any(|w| w == b"OpusHead") {
            "Ogg Opus"
        } else if head.windows(7).any(|w| w == b"\x01vorbis") {
            "Ogg Vorbis"
        } else if head.windows(5).any(|w| w == b"\x7fFLAC") {
            "Ogg FLAC"
        } else {
            "Ogg"
        }
    } else if at(0, b"ID3") || head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 {
        "MP3"
    } else if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        "AIFF"
    } else if at(4, b"ftyp") {
        "MP4/M4A"
    } else if at(0, b"caff") {
        "CAF"
    } else if at(0, b"wvpk") {
        "WavPack"
    } else if at(0, b"MAC ") {
        "Monkey's Audio"
    } else if at(0, b"MThd") {
        "MIDI"
    } else if at(0, &[0x30, 0x26, 0xB2, 0x75]) {
        "WMA/ASF"
    } else if at(0, b".snd") {
        "Sun AU"
    } else {
        return match extension(path).as_deref() {
            Some("aif" | "aiff" | "aifc") => Some("AIFF"),
            Some("m4a" | "mp4" | "aac") => Some("AAC/MP4"),
            Some("opus") => Some("Opus"),
            Some("wma") => Some("WMA"),
            Some("ape") => Some("Monkey's Audio"),
            Some("wv") => Some("WavPack"),
            Some("mid" | "midi") => Some("MIDI"),
            _ => None,
        };
    };
    Some(found)
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
}

/// Opens `path` and prepares its first audio track for decoding.
///
/// # Errors
/// Missing or unreadable file, a directory, a format or codec tonecore does not read (named),
/// a damaged file.
pub fn open(path: &Path) -> Result<Source> {
    let name = shown(path);
    if path.is_dir() {
        return Err(fail!("{name} is a folder, not an audio file"));
    }
    let mut file = File::open(path).map_err(|e| fail!("cannot open {name}: {}", io_reason(&e)))?;
    let mut head = [0u8; 64];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(fail!("cannot read {name}: {}", io_reason(&e))),
        }
    }
    if got == 0 {
        return Err(fail!("{name} is empty, not an audio file"));
    }
    let sniffed = sniff(&head[..got], path);
    let wav = match sniffed {
        Some("WAV") => wav_header(&mut file),
        _ => None,
    };
    if let Some(h) = &wav {
        check_stream(&name, Some(h.rate), Some(usize::from(h.channels)))?;
    }
    crate::declared::check(&mut file)
        .map_err(|d| fail!("cannot read {name}: its metadata is damaged: {d}"))?;
    let length_tag = sniffed == Some("MP3") && mp3_length_tag(&mut file);
    let file_len = file.metadata().map(|m| m.len()).ok();
    drop(file);
    let file = File::open(path).map_err(|e| fail!("cannot open {name}: {}", io_reason(&e)))?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = extension(path) {
        hint.with_extension(&ext);
    }
    let options = FormatOptions {
        enable_gapless: true,
        ..Default::default()
    };
    let unsupported = |detail: String| match sniffed {
        Some(f @ ("WAV" | "FLAC" | "MP3" | "Ogg Vorbis")) => {
            fail!("{name} is not a readable {f} file ({detail})")
        }
        Some(f) => fail!("{name}: {f} is not supported (tonecore reads {SUPPORTED})"),
        None => fail!("{name}: unknown or unsupported format (tonecore reads {SUPPORTED})"),
    };
    let probed = contain(|| {
        symphonia::default::get_probe().format(&hint, mss, &options, &MetadataOptions::default())
    })
    .map_err(|m| decoder_panic(&name, &m))?
    .map_err(|e| unsupported(e.to_string()))?;
    let reader = probed.format;
    let track = reader
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| unsupported("no audio track".into()))?;
    let params = &track.codec_params.clone();
    let track_id = track.id;
    let format = sniffed
        .filter(|f| matches!(*f, "WAV" | "FLAC" | "MP3" | "Ogg Vorbis"))
        .unwrap_or("audio");
    check_stream(
        &name,
        params.sample_rate,
        params.channels.map(|c| c.count()),
    )?;
    let decoder =
        contain(|| symphonia::default::get_codecs().make(params, &DecoderOptions::default()))
            .map_err(|m| decoder_panic(&name, &m))?
            .map_err(|_| {
                let codec = symphonia::default::get_codecs()
                    .get_codec(params.codec)
                    .map(|d| d.short_name.to_string())
                    .unwrap_or_else(|| match sniffed {
                        Some("Ogg Opus") => "Opus".to_string(),
                        _ => format!("{}", params.codec),
                    });
                fail!("{name}: the {codec} codec is not supported (tonecore reads {SUPPORTED})")
            })?;
    let channels = params.channels.map(|c| c.count()).unwrap_or(0);
    let rate = params.sample_rate.unwrap_or(0);
    let expected = match format {
        "WAV" => params
            .n_frames
            .filter(|_| wav.is_some_and(|h| h.data_len.is_some())),
        "FLAC" => params.n_frames.filter(|&n| n > 0),
        "MP3" => params.n_frames.filter(|_| length_tag),
        _ => None,
    };
    // What the file can hold bounds the buffer preallocated from a header's length: the
    // densest WAV codec symphonia reads stores 4 bits per sample; for compressed formats 256
    // samples per byte is generous (beyond, the buffer grows as frames arrive).
    let max_frames = match (format, file_len) {
        (_, Some(len)) if channels > 0 => Some(if format == "WAV" {
            let bits = u64::from(params.bits_per_coded_sample.unwrap_or(4).max(1));
            len.saturating_mul(8) / (bits * channels as u64)
        } else {
            len.saturating_mul(256) / channels as u64
        }),
        _ => None,
    };
    Ok(Source {
        reader,
        decoder,
        track_id,
        name,
        channels,
        rate,
        frames_hint: params.n_frames,
        expected,
        max_frames,
        format,
    })
}

/// Where decoded frames go: one planar buffer when the length is known, blocks otherwise.
/// At most `limit` frames are kept (an exact container length: the Vorbis decoder may hand out
/// the last block's padding beyond it).
struct Sink {
    store: Store,
    len: usize,
    limit: usize,
}

enum Store {
    /// `channels × cap` planar buffer.
    Fixed { buf: Vec<f32>, cap: usize },
    /// Per channel, a list of blocks.
    Blocks { chans: Vec<Vec<Vec<f32>>> },
}

/// Most samples per block when the length is unknown: just over glibc's largest mmap threshold,
/// so a freed block goes back to the system at once.
const BLOCK: usize = (1 << 23) + 1024;

impl Sink {
    /// Preallocates `cap` frames when given, keeps at most `limit`.
    fn new(channels: usize, cap: Option<u64>, limit: Option<u64>) -> Self {
        // Zeroed by the system page by page as it is written (calloc), so an overestimate
        // costs address space only; a length that cannot even be reserved falls back to
        // blocks.
        let fixed = cap
            .filter(|&n| n > 0)
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| Some((n, zeroed(n.checked_mul(channels)?)?)));
        let store = match fixed {
            Some((cap, buf)) => Store::Fixed { buf, cap },
            None => Store::Blocks {
                chans: vec![Vec::new(); channels],
            },
        };
        Self {
            store,
            len: 0,
            limit: limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX)),
        }
    }

    fn push(&mut self, planes: &AudioBuffer<f32>) {
        let n = planes.frames().min(self.limit - self.len);
        if n == 0 {
            return;
        }
        let channels = planes.spec().channels.count();
        let len = self.len;
        // More frames than preallocated: continue in blocks.
        let spill = match &self.store {
            Store::Fixed { buf, cap } if len + n > *cap => Some(
                (0..channels)
                    .map(|c| vec![buf[c * cap..c * cap + len].to_vec()])
                    .collect(),
            ),
            _ => None,
        };
        if let Some(chans) = spill {
            self.store = Store::Blocks { chans };
        }
        match &mut self.store {
            Store::Fixed { buf, cap } => {
                for c in 0..channels {
                    buf[c * *cap + len..c * *cap + len + n].copy_from_slice(&planes.chan(c)[..n]);
                }
            }
            Store::Blocks { chans } => {
                for (c, blocks) in chans.iter_mut().enumerate() {
                    let mut src = &planes.chan(c)[..n];
                    while !src.is_empty() {
                        let full = match blocks.last() {
                            Some(b) => b.len() == b.capacity(),
                            None => true,
                        };
                        if full {
                            // Doubling from 64 Ki samples: a short file takes little.
                            let size = blocks.last().map_or(1 << 16, |b| 2 * b.capacity());
                            blocks.push(Vec::with_capacity(size.min(BLOCK)));
                        }
                        let b = blocks.last_mut().expect("a block");
                        let take = (b.capacity() - b.len()).min(src.len());
                        b.extend_from_slice(&src[..take]);
                        src = &src[take..];
                    }
                }
            }
        }
        self.len += n;
    }

    /// The planar buffer.
    fn finish(self, channels: usize) -> Vec<f32> {
        let len = self.len;
        match self.store {
            Store::Fixed { mut buf, cap } => {
                if len < cap {
                    for c in 1..channels {
                        buf.copy_within(c * cap..c * cap + len, c * len);
                    }
                    buf.truncate(channels * len);
                    buf.shrink_to_fit();
                }
                buf
            }
            Store::Blocks { chans } => {
                let mut out = Vec::with_capacity(channels * len);
                for blocks in chans {
                    for b in blocks {
                        out.extend_from_slice(&b);
                    }
                }
                out
            }
        }
    }
}

/// `n` zeros, or `None` if the allocation fails (instead of aborting).
fn zeroed(n: usize) -> Option<Vec<f32>> {
    let layout = std::alloc::Layout::array::<f32>(n).ok()?;
    if layout.size() == 0 {
        return Some(Vec::new());
    }
    // SAFETY: the layout has a non-zero size; a non-null pointer from the global allocator
    // with the layout of `n` f32 (all-zero bytes are 0.0) is what `Vec::from_raw_parts` takes.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout).cast::<f32>();
        (!p.is_null()).then(|| Vec::from_raw_parts(p, n, n))
    }
}

impl Source {
    /// Decodes the whole track. `progress(frames_done)` is called now and then; Ctrl-C stops it.
    /// Damaged packets are skipped (a file with nothing decodable is an error).
    ///
    /// # Errors
    /// Read errors, a file that changes its format mid-stream, nothing decodable, a rate or
    /// channel count the engine cannot take, a panic in the decoder, Ctrl-C.
    pub fn read_all(self, progress: &dyn Fn(u64)) -> Result<Track> {
        let name = self.name.clone();
        contain(move || self.decode(progress)).unwrap_or_else(|m| Err(decoder_panic(&name, &m)))
    }

    fn decode(mut self, progress: &dyn Fn(u64)) -> Result<Track> {
        let name = self.name.clone();
        let mut sink = None::<Sink>;
        let mut spec = None;
        let mut conv: Option<AudioBuffer<f32>> = None;
        let mut frames = 0u64;
        let mut bad_packets = 0usize;
        let mut last_error = String::new();
        let mut packets = 0usize;
        loop {
            let packet = match self.reader.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(SymError::ResetRequired) => break,
                Err(SymError::IoError(e)) => {
                    return Err(fail!("cannot read {name}: {}", io_reason(&e)))
                }
                Err(e) => {
                    // A damaged container after some audio: keep what was decoded.
                    if frames > 0 {
                        break;
                    }
                    return Err(fail!("{name} is not a readable {} file ({e})", self.format));
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            packets += 1;
            if packets % 64 == 0 {
                check_cancel()?;
                progress(frames);
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(d) => d,
                Err(SymError::DecodeError(e)) => {
                    bad_packets += 1;
                    last_error = e.to_string();
                    continue;
                }
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(fail!("{name}: cannot decode ({e})")),
            };
            let this_spec = *decoded.spec();
            match spec {
                None => {
                    let channels = this_spec.channels.count();
                    check_stream(&name, Some(this_spec.rate), Some(channels))?;
                    self.channels = channels;
                    self.rate = this_spec.rate;
                    spec = Some(this_spec);
                    // Ogg's last granule position, like FLAC's and WAV's lengths, is exact (the
                    // Vorbis decoder may hand out the last block's padding beyond it); MP3
                    // lengths may be estimates.
                    let exact = matches!(self.format, "Ogg Vorbis" | "FLAC" | "WAV");
                    let cap = match (self.frames_hint, self.max_frames) {
                        (Some(h), Some(m)) => Some(h.min(m)),
                        (h, _) => h,
                    };
                    let limit = self.frames_hint.filter(|&n| exact && n > 0);
                    sink = Some(Sink::new(channels, cap, limit));
                }
                Some(s) if s != this_spec => {
                    return Err(fail!(
                        "{name} changes its sample rate or channels mid-stream; not supported"
                    ))
                }
                Some(_) => {}
            }
            if decoded.frames() == 0 {
                continue;
            }
            // `convert` lays planes out by the source's capacity: keep one buffer of that size.
            let cap = decoded.capacity();
            let buf = match &mut conv {
                Some(b) if b.capacity() == cap && *b.spec() == this_spec => b,
                _ => conv.insert(AudioBuffer::new(cap as u64, this_spec)),
            };
            decoded.convert(buf);
            sink.as_mut().expect("sink after spec").push(buf);
            frames += decoded.frames() as u64;
        }
        let Some(sink) = sink else {
            return Err(if bad_packets > 0 {
                fail!("{name}: no audio could be decoded ({last_error})")
            } else if frames == 0 && packets == 0 {
                fail!("{name} holds no audio")
            } else {
                fail!("{name}: no audio could be decoded")
            });
        };
        if self.rate == 0 {
            return Err(fail!("{name} does not state its sample rate"));
        }
        progress(frames);
        // MP3 lengths may be off by a frame of padding.
        let slack = if self.format == "MP3" { 2 * 1152 } else { 0 };
        let warning = self.expected.filter(|&e| frames + slack < e).map(|e| {
            let secs = |n: u64| n as f64 / f64::from(self.rate);
            format!(
                "{name} ends early: its header announces {e} frames ({:.1} s) but it holds {frames} ({:.1} s); processing what is there",
                secs(e),
                secs(frames)
            )
        });
        let mut samples = sink.finish(self.channels);
        // Float files may hold NaN, infinity or absurd magnitudes; the engine treats samples
        // that are not finite or beyond ±MAX_INPUT_MAGNITUDE as silence, and so does every
        // measurement here (the loudness meter refuses them).
        let max = tonecore::dsp::MAX_INPUT_MAGNITUDE as f32;
        for x in samples
            .iter_mut()
            .filter(|x| !x.is_finite() || x.abs() > max)
        {
            *x = 0.0;
        }
        Ok(Track {
            samples,
            channels: self.channels,
            rate: self.rate,
            warning,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16-bit PCM WAV of `frames` frames of a ramp, `channels` wide.
    fn wav_bytes(rate: u32, channels: u16, frames: usize) -> Vec<u8> {
        let data: Vec<u8> = (0..frames * channels as usize)
            .flat_map(|i| ((i % 2000) as i16 * 8).to_le_bytes())
            .collect();
        let mut v = b"RIFF".to_vec();
        v.extend((36 + data.len() as u32).to_le_bytes());
        v.extend(b"WAVEfmt \x10\x00\x00\x00\x01\x00");
        v.extend(channels.to_le_bytes());
        v.extend(rate.to_le_bytes());
        v.extend((rate * 2 * u32::from(channels)).to_le_bytes());
        v.extend((2 * channels).to_le_bytes());
        v.extend(16u16.to_le_bytes());
        v.extend(b"data");
        v.extend((data.len() as u32).to_le_bytes());
        v.extend(data);
        v
    }

    /// Mutates the headers of WAV, FLAC, MP3 and Ogg Vorbis files (random bytes in the first
    /// 256, random truncation) and decodes them: each gives a track or a one-line error, and
    /// no panic gets out (symphonia's are contained). `TONECORE_MUTATIONS` sets the count per
    /// file (default 150); `TONECORE_MUTATIONS_KEEP=DIR` keeps the inputs that made the decoder
    /// panic.
    #[test]
    fn mutated_headers_decode_or_fail_in_one_line() {
        crate::error::install_panic_hook();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut inputs = vec![("wav", wav_bytes(44_100, 2, 4000))];
        for ext in ["flac", "mp3", "ogg"] {
            inputs.push((
                ext,
                std::fs::read(fixtures.join(format!("tone.{ext}"))).unwrap(),
            ));
        }
        let count: usize = std::env::var("TONECORE_MUTATIONS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(150);
        let keep = std::env::var_os("TONECORE_MUTATIONS_KEEP").map(std::path::PathBuf::from);
        let dir = std::env::temp_dir().join(format!("tonecore-mutations-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut contained = 0;
        for (ext, original) in &inputs {
            for i in 0..count {
                let mut bytes = original.clone();
                for _ in 0..1 + next() % 4 {
                    let at = (next() % 256) as usize % bytes.len();
                    bytes[at] = next() as u8;
                }
                if next() % 4 == 0 {
                    bytes.truncate(1 + (next() as usize % bytes.len()));
                }
                let path = dir.join(format!("m{i}.{ext}"));
                std::fs::write(&path, &bytes).unwrap();
                let result = open(&path).and_then(|s| s.read_all(&|_| {}));
                match result {
                    Ok(t) => {
                        assert!((1..=MAX_CHANNELS).contains(&t.channels));
                        assert!((MIN_RATE..=MAX_RATE).contains(&t.rate));
                        assert_eq!(t.samples.len() % t.channels, 0);
                    }
                    Err(e) => {
                        let m = e.to_string();
                        assert!(!m.contains('\n'), "{m}");
                        if m.contains("the decoder failed") {
                            contained += 1;
                            if let Some(k) = &keep {
                                std::fs::create_dir_all(k).unwrap();
                                std::fs::copy(&path, k.join(format!("panic{contained}.{ext}")))
                                    .unwrap();
                            }
                        }
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        eprintln!("{contained} decoder panics contained");
    }

    #[test]
    fn the_sink_spills_beyond_its_preallocation_and_stops_at_its_limit() {
        use symphonia::core::audio::{Channels, SignalSpec};
        let spec = SignalSpec::new(44_100, Channels::FRONT_LEFT | Channels::FRONT_RIGHT);
        let block = |start: usize, n: usize| {
            let mut b = AudioBuffer::<f32>::new(n as u64, spec);
            b.render_reserved(Some(n));
            for c in 0..2 {
                for (i, x) in b.chan_mut(c).iter_mut().enumerate() {
                    *x = (c * 1000 + start + i) as f32;
                }
            }
            b
        };
        let planar = |frames: usize| -> Vec<f32> {
            (0..2)
                .flat_map(|c| (0..frames).map(move |i| (c * 1000 + i) as f32))
                .collect()
        };
        for (cap, limit, kept) in [
            (Some(5), None, 12),
            (Some(100), None, 12),
            (None, None, 12),
            (Some(5), Some(7), 7),
            (Some(100), Some(7), 7),
            (None, Some(7), 7),
            (Some(u64::MAX), None, 12),
        ] {
            let mut sink = Sink::new(2, cap, limit);
            for start in [0, 4, 8] {
                sink.push(&block(start, 4));
            }
            assert_eq!(sink.finish(2), planar(kept), "{cap:?} {limit:?}");
        }
    }

    #[test]
    fn a_wav_header_is_read_up_to_its_data_chunk() {
        let dir = std::env::temp_dir().join(format!("tonecore-wavhdr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("h.wav");
        let mut bytes = wav_bytes(48_000, 3, 10);
        std::fs::write(&path, &bytes).unwrap();
        let h = wav_header(&mut File::open(&path).unwrap()).unwrap();
        assert_eq!((h.channels, h.rate, h.data_len), (3, 48_000, Some(60)));
        // A data length of 0xFFFFFFFF is a streaming writer's "unknown".
        bytes[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let h = wav_header(&mut File::open(&path).unwrap()).unwrap();
        assert_eq!(h.data_len, None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
