//! Reading audio files (WAV, FLAC, MP3, Ogg Vorbis) through symphonia into one planar `f32`
//! buffer, allocated once when the container states its length.

use crate::error::{check_cancel, io_reason, shown, Result};
use crate::fail;
use std::fs::File;
use std::io::Read;
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
const MAX_CHANNELS: usize = 64;

/// A decoded track: planar samples (`channels × frames`, channel after channel).
pub struct Track {
    /// Planar samples.
    pub samples: Vec<f32>,
    /// Channel count.
    pub channels: usize,
    /// Sample rate in Hz.
    pub rate: u32,
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
    /// The container/codec, e.g. "FLAC".
    pub format: &'static str,
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
    let probed = symphonia::default::get_probe()
        .format(&hint, mss, &options, &MetadataOptions::default())
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
    let decoder = symphonia::default::get_codecs()
        .make(params, &DecoderOptions::default())
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
    if channels > MAX_CHANNELS {
        return Err(fail!(
            "{name} has {channels} channels; tonecore processes at most {MAX_CHANNELS}"
        ));
    }
    Ok(Source {
        reader,
        decoder,
        track_id,
        name,
        channels,
        rate,
        frames_hint: params.n_frames,
        format,
    })
}

/// Where decoded frames go: one planar buffer when the length is known, blocks otherwise.
enum Sink {
    /// `channels × cap` planar buffer, `len` frames filled; with `exact`, frames beyond `cap`
    /// are dropped (the container's length is authoritative).
    Fixed {
        buf: Vec<f32>,
        cap: usize,
        len: usize,
        exact: bool,
    },
    /// Per channel, a list of blocks.
    Blocks {
        chans: Vec<Vec<Vec<f32>>>,
        len: usize,
    },
}

/// Samples per block when the length is unknown: just over glibc's largest mmap threshold, so a
/// freed block goes back to the system at once.
const BLOCK: usize = (1 << 23) + 1024;

impl Sink {
    fn new(channels: usize, hint: Option<u64>, exact: bool) -> Self {
        match hint {
            // Capacity is only address space until written.
            // Zeroed by the system page by page as it is written (calloc), so an overestimate
            // costs address space only.
            Some(n) if n > 0 && (n as usize).checked_mul(channels).is_some() => Self::Fixed {
                buf: vec![0.0; n as usize * channels],
                cap: n as usize,
                len: 0,
                exact,
            },
            _ => Self::Blocks {
                chans: vec![Vec::new(); channels],
                len: 0,
            },
        }
    }

    fn push(&mut self, planes: &AudioBuffer<f32>) {
        let frames = planes.frames();
        match self {
            Self::Fixed {
                buf,
                cap,
                len,
                exact,
            } if *len + frames <= *cap || *exact => {
                let n = frames.min(*cap - *len);
                let channels = planes.spec().channels.count();
                for c in 0..channels {
                    buf[c * *cap + *len..c * *cap + *len + n].copy_from_slice(&planes.chan(c)[..n]);
                }
                *len += n;
            }
            Self::Fixed { buf, cap, len, .. } => {
                // More frames than announced: continue in blocks.
                let channels = planes.spec().channels.count();
                let chans = (0..channels)
                    .map(|c| vec![buf[c * *cap..c * *cap + *len].to_vec()])
                    .collect();
                *self = Self::Blocks { chans, len: *len };
                self.push(planes);
            }
            Self::Blocks { chans, len } => {
                for (c, blocks) in chans.iter_mut().enumerate() {
                    let mut src = planes.chan(c);
                    while !src.is_empty() {
                        let full = match blocks.last() {
                            Some(b) => b.len() == b.capacity(),
                            None => true,
                        };
                        if full {
                            blocks.push(Vec::with_capacity(BLOCK));
                        }
                        let b = blocks.last_mut().expect("a block");
                        let take = (b.capacity() - b.len()).min(src.len());
                        b.extend_from_slice(&src[..take]);
                        src = &src[take..];
                    }
                }
                *len += frames;
            }
        }
    }

    /// The planar buffer.
    fn finish(self, channels: usize) -> Vec<f32> {
        match self {
            Self::Fixed {
                mut buf, cap, len, ..
            } => {
                if len < cap {
                    for c in 1..channels {
                        buf.copy_within(c * cap..c * cap + len, c * len);
                    }
                    buf.truncate(channels * len);
                    buf.shrink_to_fit();
                }
                buf
            }
            Self::Blocks { chans, len } => {
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

impl Source {
    /// Decodes the whole track. `progress(frames_done)` is called now and then; Ctrl-C stops it.
    /// Damaged packets are skipped (a file with nothing decodable is an error).
    ///
    /// # Errors
    /// Read errors, a file that changes its format mid-stream, nothing decodable, Ctrl-C.
    pub fn read_all(mut self, progress: &dyn Fn(u64)) -> Result<Track> {
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
                    if channels == 0 || channels > MAX_CHANNELS {
                        return Err(fail!(
                            "{name} has {channels} channels; tonecore processes 1 to {MAX_CHANNELS}"
                        ));
                    }
                    self.channels = channels;
                    self.rate = this_spec.rate;
                    spec = Some(this_spec);
                    // Ogg's last granule position, like FLAC's and WAV's lengths, is exact (the
                    // Vorbis decoder may hand out the last block's padding beyond it); MP3
                    // lengths may be estimates.
                    let exact = matches!(self.format, "Ogg Vorbis" | "FLAC" | "WAV");
                    sink = Some(Sink::new(channels, self.frames_hint, exact));
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
        })
    }
}
