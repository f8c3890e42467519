//! Writing results: every output goes to a hidden temporary file in the destination folder and
//! is renamed onto its name only when complete, so a failure or Ctrl-C leaves nothing partial.
//! An existing output that is not a regular file (a device such as /dev/null, a FIFO, a socket)
//! is refused, never replaced; a symbolic link to a file is written through (the link stays).
//! WAV files are written by hound (16/24-bit integer or 32-bit float), FLAC files (16/24-bit) by
//! flacenc, frame by frame; optionally resampled by rubato on the way. Integer samples are
//! dithered (TPDF, optional) and rounded, then clamped to the limiter's ceiling, so no sample of
//! the file reads back above it.

use crate::error::{check_cancel, io_reason, register_pending, shown, unregister_pending, Result};
use crate::fail;
use crate::job::Settings;
use audioadapter_buffers::direct::SequentialSlice;
use clap::ValueEnum;
use flacenc::bitsink::MemSink;
use flacenc::component::{BitRepr, Stream, StreamInfo};
use flacenc::error::{Verified, Verify};
use flacenc::source::{Context, Fill, FrameBuf};
use rubato::{Fft, FixedSync, Indexing, Resampler};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Sample format of the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Bits {
    /// 16-bit integer PCM.
    #[value(name = "16")]
    Int16,
    /// 24-bit integer PCM.
    #[value(name = "24")]
    Int24,
    /// 32-bit IEEE float.
    #[value(name = "32")]
    Float32,
}

impl Bits {
    /// How a person names it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Int16 => "16-bit PCM",
            Self::Int24 => "24-bit PCM",
            Self::Float32 => "32-bit float",
        }
    }

    fn spec(self, channels: usize, rate: u32) -> hound::WavSpec {
        let (bits_per_sample, sample_format) = match self {
            Self::Int16 => (16, hound::SampleFormat::Int),
            Self::Int24 => (24, hound::SampleFormat::Int),
            Self::Float32 => (32, hound::SampleFormat::Float),
        };
        hound::WavSpec {
            channels: channels as u16,
            sample_rate: rate,
            bits_per_sample,
            sample_format,
        }
    }
}

/// A file being written under a temporary name; removed on drop unless committed.
pub struct PendingFile {
    tmp: PathBuf,
    dest: PathBuf,
    done: bool,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The folder `dest` will be written into (`.` for a bare file name).
pub fn parent_dir(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// What kind of node `m` describes, for messages.
fn node_kind(m: &std::fs::Metadata) -> &'static str {
    let t = m.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return "a character device";
        } else if t.is_block_device() {
            return "a block device";
        } else if t.is_fifo() {
            return "a FIFO";
        } else if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
    }
}

/// The error for an existing output that is not a regular file.
fn not_regular(dest: &Path, m: &std::fs::Metadata) -> crate::error::CliError {
    fail!(
        "the output {} is {}, not a regular file; tonecore writes only regular files and never replaces a device, FIFO or socket",
        shown(dest),
        node_kind(m)
    )
}

/// Where the output goes: `dest`, or the file a symbolic link at `dest` points to.
///
/// # Errors
/// `dest` (or its link's target) exists and is not a regular file or a folder; a link to
/// nothing.
fn destination(dest: &Path) -> Result<PathBuf> {
    let is_link = dest
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink());
    match std::fs::metadata(dest) {
        Ok(m) if m.is_file() && is_link => dest
            .canonicalize()
            .map_err(|e| fail!("cannot write {}: {}", shown(dest), io_reason(&e))),
        Ok(m) if m.is_file() || m.is_dir() => Ok(dest.to_path_buf()),
        Ok(m) => Err(not_regular(dest, &m)),
        Err(_) if is_link => Err(fail!(
            "the output {} is a symbolic link to nothing; give a file name",
            shown(dest)
        )),
        Err(_) => Ok(dest.to_path_buf()),
    }
}

impl PendingFile {
    /// Creates a hidden temporary file beside `dest` (same folder, so the final rename is
    /// atomic); when `dest` is a symbolic link to a file, beside that file.
    ///
    /// # Errors
    /// The folder does not exist, is not a folder, or cannot be written; `dest` is a folder,
    /// a device, FIFO or socket, or a link to nothing.
    pub fn create(dest: &Path) -> Result<(Self, File)> {
        let dest = &destination(dest)?;
        let dir = parent_dir(dest);
        if !dir.exists() {
            return Err(fail!("the output folder {} does not exist", shown(&dir)));
        }
        if !dir.is_dir() {
            return Err(fail!(
                "cannot write {}: {} is not a folder",
                shown(dest),
                shown(&dir)
            ));
        }
        if dest.is_dir() {
            return Err(fail!(
                "the output {} is a folder; give a file name such as out.wav",
                shown(dest)
            ));
        }
        let name = dest
            .file_name()
            .ok_or_else(|| fail!("the output {} is not a file name", shown(dest)))?;
        let tmp = dir.join(format!(
            ".{}.{}-{}.part",
            name.to_string_lossy(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| {
                fail!(
                    "cannot write to the output folder {}: {}",
                    shown(&dir),
                    io_reason(&e)
                )
            })?;
        register_pending(&tmp);
        Ok((
            Self {
                tmp,
                dest: dest.to_path_buf(),
                done: false,
            },
            file,
        ))
    }

    /// The name the file will have.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Moves the finished file onto its name.
    ///
    /// # Errors
    /// The name is now taken by something other than a regular file, or the rename failed
    /// (the temporary file is removed).
    pub fn commit(mut self) -> Result<()> {
        if let Ok(m) = self.dest.symlink_metadata() {
            if !m.is_file() {
                return Err(not_regular(&self.dest, &m));
            }
        }
        std::fs::rename(&self.tmp, &self.dest)
            .map_err(|e| fail!("cannot write {}: {}", shown(&self.dest), io_reason(&e)))?;
        unregister_pending(&self.tmp);
        self.done = true;
        Ok(())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
            unregister_pending(&self.tmp);
        }
    }
}

/// Writes `text` into the pending file and moves it onto its name.
///
/// # Errors
/// The write or the rename failed (the temporary file is removed).
pub fn write_text(pending: PendingFile, mut file: File, text: &str) -> Result<()> {
    file.write_all(text.as_bytes())
        .and_then(|()| file.flush())
        .map_err(|e| fail!("cannot write {}: {}", shown(pending.dest()), io_reason(&e)))?;
    drop(file);
    pending.commit()
}

/// Frames per written block.
const BLOCK: usize = 16_384;

/// Produces the output in planar blocks, resampled or not.
enum Blocks<'a> {
    Direct {
        samples: &'a [f32],
        frames: usize,
        pos: usize,
    },
    Resampled {
        samples: &'a [f32],
        frames: usize,
        pos: usize,
        resampler: Box<Fft<f32>>,
        input: Vec<f32>,
        output: Vec<f32>,
        /// Leading output frames still to drop (the resampler's delay).
        trim: usize,
        /// Output frames still to emit.
        remaining: usize,
    },
}

impl Blocks<'_> {
    /// The next block (planar, `channels × n`) into `out`; `false` at the end.
    fn next(&mut self, channels: usize, out: &mut Vec<f32>) -> Result<bool> {
        out.clear();
        match self {
            Self::Direct {
                samples,
                frames,
                pos,
            } => {
                let n = BLOCK.min(*frames - *pos);
                if n == 0 {
                    return Ok(false);
                }
                for c in 0..channels {
                    out.extend_from_slice(&samples[c * *frames + *pos..c * *frames + *pos + n]);
                }
                *pos += n;
                Ok(true)
            }
            Self::Resampled {
                samples,
                frames,
                pos,
                resampler,
                input,
                output,
                trim,
                remaining,
            } => {
                while *remaining > 0 {
                    let need = resampler.input_frames_next();
                    let avail = need.min(*frames - *pos);
                    input.clear();
                    for c in 0..channels {
                        input.extend_from_slice(
                            &samples[c * *frames + *pos..c * *frames + *pos + avail],
                        );
                        input.resize((c + 1) * need, 0.0);
                    }
                    *pos += avail;
                    let out_max = resampler.output_frames_max();
                    output.resize(channels * out_max, 0.0);
                    let inp = SequentialSlice::new(&input[..], channels, need)
                        .map_err(|e| fail!("resampler: {e}"))?;
                    let mut outp = SequentialSlice::new_mut(&mut output[..], channels, out_max)
                        .map_err(|e| fail!("resampler: {e}"))?;
                    let indexing = Indexing {
                        input_offset: 0,
                        output_offset: 0,
                        partial_len: Some(avail),
                        active_channels_mask: None,
                    };
                    let (_, produced) = resampler
                        .process_into_buffer(&inp, &mut outp, Some(&indexing))
                        .map_err(|e| fail!("resampler: {e}"))?;
                    let skip = (*trim).min(produced);
                    *trim -= skip;
                    let n = (produced - skip).min(*remaining);
                    if n == 0 {
                        continue;
                    }
                    for c in 0..channels {
                        out.extend_from_slice(&output[c * out_max + skip..c * out_max + skip + n]);
                    }
                    *remaining -= n;
                    return Ok(true);
                }
                Ok(false)
            }
        }
    }
}

/// Output frames for `frames` input frames resampled from `from` to `to` Hz.
pub fn resampled_len(frames: usize, from: u32, to: u32) -> usize {
    (frames as u128 * to as u128).div_ceil(from as u128) as usize
}

/// Dither added before rounding to integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Dither {
    /// Triangular (TPDF) dither, ±1 LSB peak: the sum of two independent uniform values in
    /// ±½ LSB.
    Tpdf,
    /// No dither: plain rounding.
    #[value(name = "none")]
    Off,
}

impl Dither {
    /// The default for `bits`: TPDF for 16-bit, none for 24-bit and float.
    pub fn default_for(bits: Bits) -> Self {
        match bits {
            Bits::Int16 => Self::Tpdf,
            Bits::Int24 | Bits::Float32 => Self::Off,
        }
    }
}

/// The file format of an output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// RIFF WAVE (16/24-bit integer or 32-bit float).
    Wav,
    /// FLAC (16/24-bit integer).
    Flac,
}

impl Container {
    /// FLAC for a `.flac` extension (any case), WAV for anything else.
    pub fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("flac") => Self::Flac,
            _ => Self::Wav,
        }
    }

    /// Checks that this container holds `bits`.
    ///
    /// # Errors
    /// FLAC with 32-bit float.
    pub fn check(self, bits: Bits) -> Result<()> {
        if self == Self::Flac && bits == Bits::Float32 {
            return Err(fail!(
                "--bits 32: FLAC holds 16- or 24-bit integers only; use --bits 16 or 24, or a .wav output for 32-bit float"
            ));
        }
        Ok(())
    }
}

/// How an output file is written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WriteOptions {
    /// File format.
    pub container: Container,
    /// Sample format.
    pub bits: Bits,
    /// Sample rate written (resampled when it differs from the input's).
    pub out_rate: u32,
    /// Largest magnitude written, linear: integers are clamped to ±floor(ceiling·2^(bits−1)),
    /// floats to the largest `f32` ≤ ceiling. `None`: full scale (no clamp for floats).
    pub ceiling: Option<f64>,
    /// Dither before rounding (integer outputs only).
    pub dither: Dither,
    /// Seed of the dither generator.
    pub seed: u64,
}

impl WriteOptions {
    /// The options of a job's output: `settings`' sample format, dither and limiter ceiling, at
    /// `out_rate`, for the output shown as `name` (`'path'`, as [`shown`] gives it): its
    /// extension picks the container, its file name seeds the dither.
    pub fn for_job(settings: &Settings, out_rate: u32, name: &str) -> Self {
        let bare = name
            .strip_prefix('\'')
            .and_then(|n| n.strip_suffix('\''))
            .unwrap_or(name);
        let path = Path::new(bare);
        Self {
            container: Container::of(path),
            bits: settings.bits,
            out_rate,
            ceiling: settings
                .chain
                .config
                .limiter
                .as_ref()
                .map(|l| 10f64.powf(l.ceiling_db / 20.0)),
            dither: settings.dither,
            seed: seed_for(path),
        }
    }
}

/// A dither seed from the file name of `path` (FNV-1a), so a run is reproducible and each file
/// of a batch gets its own sequence.
pub fn seed_for(path: &Path) -> u64 {
    let name = path
        .file_name()
        .map_or_else(|| path.to_string_lossy(), |n| n.to_string_lossy());
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// SplitMix64 (Steele, Lea & Flood 2014): any seed works, statistically sound for dither, and a
/// few lines instead of a dependency; runs are reproducible from the seed.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [−½, ½).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    /// Triangular in [−1, 1): the sum of two independent uniforms.
    fn tpdf(&mut self) -> f64 {
        self.uniform() + self.uniform()
    }
}

/// Turns samples into `bits`-bit integers: scaled by 2^(bits−1) (as decoders read them back),
/// dithered, rounded, then clamped to the ceiling's integer bound (rounding towards zero there)
/// and to the integer range.
struct Quantiser {
    scale: f64,
    lo: i64,
    hi: i64,
    rng: Option<Rng>,
}

impl Quantiser {
    fn new(bits: u32, ceiling: Option<f64>, dither: Dither, seed: u64) -> Self {
        let scale = (1i64 << (bits - 1)) as f64;
        // `c · 2^k` is exact in f64, so the floor is the true bound.
        let bound = match ceiling {
            Some(c) if !c.is_nan() => (c * scale).floor().clamp(0.0, scale),
            _ => scale,
        };
        Self {
            scale,
            lo: -bound as i64,
            hi: bound.min(scale - 1.0) as i64,
            rng: (dither == Dither::Tpdf).then_some(Rng(seed)),
        }
    }

    fn next(&mut self, x: f32) -> i32 {
        let mut v = x as f64 * self.scale;
        if let Some(rng) = &mut self.rng {
            v += rng.tpdf();
        }
        // Rounds half away from zero, as `f64::round`, without its library call (the baseline
        // x86-64 target has no rounding instruction): adding the largest double below ½ and
        // truncating is exact for every double. NaN converts to 0, infinities saturate.
        let rounded = (v + 0.499_999_999_999_999_94f64.copysign(v)) as i64;
        rounded.clamp(self.lo, self.hi) as i32
    }
}

/// The largest `f32` ≤ `ceiling` (∞ for `None`), at least 0.
fn float_ceiling(ceiling: Option<f64>) -> f32 {
    let Some(c) = ceiling.filter(|c| !c.is_nan()).map(|c| c.max(0.0)) else {
        return f32::INFINITY;
    };
    let f = c as f32;
    if f as f64 > c && f > 0.0 {
        f32::from_bits(f.to_bits() - 1)
    } else {
        f
    }
}

/// Frames per FLAC frame (the reference encoder's default for 44.1/48 kHz).
const FLAC_BLOCK: usize = 4096;

/// Streams FLAC into a file: a placeholder STREAMINFO first, each frame as soon as its
/// [`FLAC_BLOCK`] frames are in, then the final STREAMINFO (frame sizes, length, MD5) over the
/// placeholder. Memory: one FLAC block of interleaved integers plus the encoder's buffers; the
/// track is never held whole.
struct FlacWriter {
    out: BufWriter<File>,
    name: String,
    config: Verified<flacenc::config::Encoder>,
    info: StreamInfo,
    frame: FrameBuf,
    context: Context,
    pending: Vec<i32>,
    channels: usize,
    bytes: MemSink<u8>,
    header_len: usize,
    frames: usize,
}

impl FlacWriter {
    fn new(file: File, name: &str, channels: usize, bits: usize, rate: u32) -> Result<Self> {
        if channels > 8 {
            return Err(fail!(
                "cannot write {name}: FLAC holds at most 8 channels (this track has {channels}); write a .wav"
            ));
        }
        let encode = |e: &dyn std::fmt::Display| fail!("cannot encode {name} as FLAC: {e}");
        let info = StreamInfo::new(rate as usize, channels, bits).map_err(|e| encode(&e))?;
        let config = flacenc::config::Encoder::default()
            .into_verified()
            .map_err(|(_, e)| encode(&e))?;
        let frame = FrameBuf::with_size(channels, FLAC_BLOCK).map_err(|e| encode(&e))?;
        let mut w = Self {
            out: BufWriter::with_capacity(1 << 20, file),
            name: name.to_string(),
            config,
            info,
            frame,
            context: Context::new(bits, channels),
            pending: Vec::with_capacity(channels * FLAC_BLOCK),
            channels,
            bytes: MemSink::new(),
            header_len: 0,
            frames: 0,
        };
        let mut placeholder = w.info.clone();
        placeholder.set_frame_sizes(0, 0).map_err(|e| encode(&e))?;
        let header = w.header(&placeholder)?;
        w.header_len = header.len();
        w.write(&header)?;
        Ok(w)
    }

    /// `fLaC` and the STREAMINFO block.
    fn header(&self, info: &StreamInfo) -> Result<Vec<u8>> {
        let mut sink = MemSink::<u8>::new();
        Stream::with_stream_info(info.clone())
            .write(&mut sink)
            .map_err(|e| fail!("cannot encode {} as FLAC: {e}", self.name))?;
        Ok(sink.into_inner())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .map_err(|e| fail!("cannot write {}: {}", self.name, io_reason(&e)))
    }

    /// Adds interleaved samples, encoding every complete FLAC block.
    fn push(&mut self, interleaved: &[i32]) -> Result<()> {
        self.pending.extend_from_slice(interleaved);
        let whole = FLAC_BLOCK * self.channels;
        let mut done = 0;
        while self.pending.len() - done >= whole {
            self.encode(done, done + whole)?;
            done += whole;
        }
        self.pending.drain(..done);
        Ok(())
    }

    /// Encodes `pending[from..to]` as the next frame and writes it.
    fn encode(&mut self, from: usize, to: usize) -> Result<()> {
        let name = &self.name;
        let encode = |e: &dyn std::fmt::Display| fail!("cannot encode {name} as FLAC: {e}");
        let chunk = &self.pending[from..to];
        self.frame.fill_interleaved(chunk).map_err(|e| encode(&e))?;
        self.context
            .fill_interleaved(chunk)
            .map_err(|e| encode(&e))?;
        let frame =
            flacenc::encode_fixed_size_frame(&self.config, &self.frame, self.frames, &self.info)
                .map_err(|e| encode(&e))?;
        self.info.update_frame_info(&frame);
        self.bytes.clear();
        frame.write(&mut self.bytes).map_err(|e| encode(&e))?;
        self.frames += 1;
        self.out
            .write_all(self.bytes.as_slice())
            .map_err(|e| fail!("cannot write {}: {}", self.name, io_reason(&e)))
    }

    /// Encodes what is left, writes the final STREAMINFO over the placeholder and flushes.
    fn finish(mut self) -> Result<()> {
        if !self.pending.is_empty() {
            self.encode(0, self.pending.len())?;
        }
        let name = self.name.clone();
        let encode = |e: &dyn std::fmt::Display| fail!("cannot encode {name} as FLAC: {e}");
        self.info.set_md5_digest(&self.context.md5_digest());
        self.info.set_total_samples(self.context.total_samples());
        // A fixed-block-size stream: every block but the last is FLAC_BLOCK long.
        self.info
            .set_block_sizes(FLAC_BLOCK, FLAC_BLOCK)
            .map_err(|e| encode(&e))?;
        if self.frames == 0 {
            self.info.set_frame_sizes(0, 0).map_err(|e| encode(&e))?;
        }
        let header = self.header(&self.info)?;
        if header.len() != self.header_len {
            return Err(encode(&"the STREAMINFO block changed size"));
        }
        let io = |e: std::io::Error| fail!("cannot write {name}: {}", io_reason(&e));
        self.out.seek(SeekFrom::Start(0)).map_err(io)?;
        self.out.write_all(&header).map_err(io)?;
        self.out.flush().map_err(io)
    }
}

/// Where the samples go.
enum Sink {
    Wav(WavSink),
    Flac(Box<FlacWriter>),
}

fn write_error(name: &str, e: &std::io::Error) -> crate::CliError {
    fail!("cannot write {name}: {}", io_reason(e))
}

/// WAV output: the header exactly as hound writes it for the format (plain or extensible), then
/// the samples packed here a block at a time (hound takes one sample per call, which cost a
/// tenth of a 10-minute `process` job), then the sizes filled in.
struct WavSink {
    out: BufWriter<File>,
    name: String,
    /// Bytes before the samples; the data chunk's size field is its last four.
    header: u64,
    data: u64,
    bytes: Vec<u8>,
}

impl WavSink {
    fn new(file: File, name: &str, spec: hound::WavSpec) -> Result<Self> {
        let mut header = std::io::Cursor::new(Vec::new());
        let written = hound::WavWriter::new(&mut header, spec).and_then(|w| w.finalize());
        let header = header.into_inner();
        if written.is_err()
            || header.len() < 44
            || &header[header.len() - 8..header.len() - 4] != b"data"
        {
            return Err(fail!("cannot write {name}: no WAV header for this format"));
        }
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&header).map_err(|e| write_error(name, &e))?;
        Ok(Self {
            out,
            name: name.to_owned(),
            header: header.len() as u64,
            data: 0,
            bytes: Vec::new(),
        })
    }

    /// Appends samples as little-endian integers of `width` bytes (2 or 3).
    fn push_ints(&mut self, ints: &[i32], width: usize) -> Result<()> {
        self.bytes.clear();
        self.bytes.resize(ints.len() * width, 0);
        for (b, &q) in self.bytes.chunks_exact_mut(width).zip(ints) {
            b.copy_from_slice(&q.to_le_bytes()[..width]);
        }
        self.flush_bytes()
    }

    fn push_floats(&mut self, v: &[f32]) -> Result<()> {
        self.bytes.clear();
        for &x in v {
            self.bytes.extend_from_slice(&x.to_le_bytes());
        }
        self.flush_bytes()
    }

    fn flush_bytes(&mut self) -> Result<()> {
        self.data += self.bytes.len() as u64;
        // RIFF sizes are 32-bit: the whole file, less 8 bytes, must fit.
        if self.header + self.data + 1 > u64::from(u32::MAX) {
            return Err(fail!(
                "cannot write {}: over 4 GiB, too large for WAV",
                self.name
            ));
        }
        self.out
            .write_all(&self.bytes)
            .map_err(|e| write_error(&self.name, &e))
    }

    /// Pads an odd data chunk and writes the sizes.
    fn finish(mut self) -> Result<()> {
        let err = |e: std::io::Error| write_error(&self.name, &e);
        let mut total = self.header + self.data;
        if self.data % 2 == 1 {
            self.out.write_all(&[0]).map_err(err)?;
            total += 1;
        }
        self.out.seek(SeekFrom::Start(4)).map_err(err)?;
        self.out
            .write_all(&((total - 8) as u32).to_le_bytes())
            .map_err(err)?;
        self.out
            .seek(SeekFrom::Start(self.header - 4))
            .map_err(err)?;
        self.out
            .write_all(&(self.data as u32).to_le_bytes())
            .map_err(err)?;
        self.out.flush().map_err(err)
    }
}

/// Builds the block source: direct, or through rubato when `out_rate` differs from `rate`.
fn blocks(samples: &[f32], channels: usize, rate: u32, out_rate: u32) -> Result<Blocks<'_>> {
    let frames = samples.len() / channels;
    if out_rate == rate {
        return Ok(Blocks::Direct {
            samples,
            frames,
            pos: 0,
        });
    }
    let resampler = Fft::<f32>::new(
        rate as usize,
        out_rate as usize,
        4096,
        1,
        channels,
        FixedSync::Input,
    )
    .map_err(|e| fail!("cannot resample {rate} Hz to {out_rate} Hz: {e}"))?;
    Ok(Blocks::Resampled {
        samples,
        frames,
        pos: 0,
        trim: resampler.output_delay(),
        resampler: Box::new(resampler),
        input: Vec::new(),
        output: Vec::new(),
        remaining: resampled_len(frames, rate, out_rate),
    })
}

/// Resamples planar `samples` (`channels × frames` at `rate`) to `out_rate` with rubato's FFT
/// resampler, its delay removed: `channels × resampled_len(frames, rate, out_rate)` planar.
///
/// # Errors
/// Resampler errors.
pub fn resample(samples: &[f32], channels: usize, rate: u32, out_rate: u32) -> Result<Vec<f32>> {
    let frames = resampled_len(samples.len() / channels, rate, out_rate);
    let mut rows: Vec<Vec<f32>> = vec![Vec::with_capacity(frames); channels];
    let mut blocks = blocks(samples, channels, rate, out_rate)?;
    let mut block = Vec::new();
    while blocks.next(channels, &mut block)? {
        let n = block.len() / channels;
        for (c, row) in rows.iter_mut().enumerate() {
            row.extend_from_slice(&block[c * n..(c + 1) * n]);
        }
    }
    Ok(rows.concat())
}

/// Writes planar `samples` (`channels × frames` at `rate`) as `opts` say: WAV or FLAC, `bits`,
/// `out_rate` (resampled by rubato when it differs from `rate`), dithered and clamped to the
/// ceiling, into `file`. Every block written is also handed to `on_block` as the file holds it
/// (planar `f32`, `channels × n`: integers dequantised by 2^(bits−1), floats after the clamp);
/// `progress(fraction)` is called per block. Returns the frames written.
///
/// # Errors
/// FLAC with 32-bit float or more than 8 channels; write errors (disk full…), encoder and
/// resampler errors, Ctrl-C.
#[allow(clippy::too_many_arguments)]
pub fn write_audio(
    file: File,
    name: &str,
    samples: &[f32],
    channels: usize,
    rate: u32,
    opts: &WriteOptions,
    progress: &dyn Fn(f64),
    on_block: &mut dyn FnMut(&[f32]),
) -> Result<u64> {
    opts.container.check(opts.bits)?;
    let (bits, out_rate) = (opts.bits, opts.out_rate);
    let frames = samples.len() / channels;
    let mut blocks = blocks(samples, channels, rate, out_rate)?;
    let total = resampled_len(frames, rate, out_rate).max(1);
    let depth = match bits {
        Bits::Int16 => 16,
        Bits::Int24 => 24,
        Bits::Float32 => 32,
    };
    let mut sink = match opts.container {
        Container::Wav => Sink::Wav(WavSink::new(file, name, bits.spec(channels, out_rate))?),
        Container::Flac => Sink::Flac(Box::new(FlacWriter::new(
            file, name, channels, depth, out_rate,
        )?)),
    };
    let mut quantiser = Quantiser::new(depth.min(24) as u32, opts.ceiling, opts.dither, opts.seed);
    let float_max = float_ceiling(opts.ceiling);
    let mut block = Vec::with_capacity(channels * BLOCK);
    let mut ints: Vec<i32> = Vec::with_capacity(channels * BLOCK);
    let mut floats: Vec<f32> = Vec::new();
    let mut written = 0u64;
    while blocks.next(channels, &mut block)? {
        check_cancel()?;
        let n = block.len() / channels;
        if bits == Bits::Float32 {
            for v in &mut block {
                *v = if v.is_nan() {
                    0.0
                } else {
                    v.clamp(-float_max, float_max)
                };
            }
            let Sink::Wav(writer) = &mut sink else {
                unreachable!("checked: FLAC holds no floats")
            };
            floats.clear();
            for i in 0..n {
                floats.extend((0..channels).map(|c| block[c * n + i]));
            }
            writer.push_floats(&floats)?;
        } else {
            ints.clear();
            ints.resize(n * channels, 0);
            // The block then holds what the file holds, as a decoder reads it back (exact in
            // f32 up to 24 bits).
            let inv = (1.0 / quantiser.scale) as f32;
            for (i, frame) in ints.chunks_exact_mut(channels).enumerate() {
                for (c, q) in frame.iter_mut().enumerate() {
                    let v = &mut block[c * n + i];
                    *q = quantiser.next(*v);
                    *v = *q as f32 * inv;
                }
            }
            match &mut sink {
                Sink::Wav(writer) => writer.push_ints(&ints, depth / 8)?,
                Sink::Flac(flac) => flac.push(&ints)?,
            }
        }
        on_block(&block);
        written += n as u64;
        progress(written as f64 / total as f64);
    }
    match sink {
        Sink::Wav(writer) => writer.finish()?,
        Sink::Flac(flac) => flac.finish()?,
    }
    Ok(written)
}

/// Writes planar `samples` as a WAV file of `bits` at `out_rate`, full scale and without
/// dither: [`write_audio`] with those options.
///
/// # Errors
/// As [`write_audio`].
#[allow(clippy::too_many_arguments)]
pub fn write_wav(
    file: File,
    name: &str,
    samples: &[f32],
    channels: usize,
    rate: u32,
    bits: Bits,
    out_rate: u32,
    progress: &dyn Fn(f64),
    on_block: &mut dyn FnMut(&[f32]),
) -> Result<u64> {
    let opts = WriteOptions {
        container: Container::Wav,
        bits,
        out_rate,
        ceiling: None,
        dither: Dither::Off,
        seed: 0,
    };
    write_audio(
        file, name, samples, channels, rate, &opts, progress, on_block,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// −1 dBFS as a linear amplitude, 10^(−1/20).
    const C1: f64 = 0.891_250_938_133_745_6;
    /// floor(C1 · 2^15) and floor(C1 · 2^23), computed by hand: C1 · 2^15 = 29204.51…,
    /// C1 · 2^23 = 7476354.75… (plain rounding would give 29205 and 7476355, above −1 dBFS).
    const BOUND16: i32 = 29_204;
    const BOUND24: i32 = 7_476_354;

    fn q(x: f32, bits: u32, ceiling: Option<f64>) -> i32 {
        Quantiser::new(bits, ceiling, Dither::Off, 0).next(x)
    }

    #[test]
    fn quantise_rounds_and_clips() {
        assert_eq!(q(0.5, 16, None), 16384);
        assert_eq!(q(1.0, 16, None), 32767);
        assert_eq!(q(-1.0, 16, None), -32768);
        assert_eq!(q(-2.0, 24, None), -(1 << 23));
        assert_eq!(q(0.25 / 32768.0, 16, None), 0);
        assert_eq!(q(f32::NAN, 16, Some(C1)), 0);
        // 0 dBFS keeps the whole range; an exact −6.02 dB ceiling (½) is ±16384.
        assert_eq!(q(1.0, 16, Some(1.0)), 32767);
        assert_eq!(q(-1.0, 16, Some(1.0)), -32768);
        assert_eq!(q(0.6, 16, Some(0.5)), 16384);
        assert_eq!(q(-0.6, 16, Some(0.5)), -16384);
    }

    #[test]
    fn the_ceiling_holds_after_quantisation_with_and_without_dither() {
        assert!(C1 == 10f64.powf(-1.0 / 20.0));
        for (bits, bound) in [(16u32, BOUND16), (24, BOUND24)] {
            let scale = 2f64.powi(bits as i32 - 1);
            // The hand-computed bound decodes to at most the ceiling, one more LSB to above it.
            assert!(bound as f64 / scale <= C1 && (bound + 1) as f64 / scale > C1);
            for dither in [Dither::Off, Dither::Tpdf] {
                let mut quantiser = Quantiser::new(bits, Some(C1), dither, 7);
                let mut top = 0;
                // From 5 LSB below to 5 LSB above the ceiling in eighths of an LSB, both signs.
                for k in -40..=40 {
                    for sign in [1.0, -1.0] {
                        let x = (sign * (C1 + k as f64 / 8.0 / scale)) as f32;
                        for _ in 0..200 {
                            let v = quantiser.next(x);
                            assert!(v.abs() <= bound, "{bits} bit, {dither:?}: {x} -> {v}");
                            assert!(v.abs() as f64 / scale <= C1);
                            top = top.max(v.abs());
                        }
                    }
                }
                assert_eq!(top, bound, "{bits} bit, {dither:?}: the bound is reached");
                for x in [1.0f32, 2.0, 1e9, f32::INFINITY] {
                    assert_eq!(quantiser.next(x), bound);
                    assert_eq!(quantiser.next(-x), -bound);
                }
            }
            // At the ceiling itself the clamp rounds towards zero; below it nothing is clamped.
            assert_eq!(q(C1 as f32, bits, Some(C1)), bound);
            assert_eq!(q(-C1 as f32, bits, Some(C1)), -bound);
            let x = (bound - 3) as f32 / scale as f32;
            assert_eq!(q(x, bits, Some(C1)), bound - 3);
            assert_eq!(q(-x, bits, Some(C1)), -(bound - 3));
        }
    }

    #[test]
    fn tpdf_dither_is_triangular_with_variance_one_sixth() {
        let mut rng = Rng(12_345);
        let n = 1_000_000;
        let (mut sum, mut sq, mut peak, mut inner) = (0.0, 0.0, 0.0f64, 0usize);
        for _ in 0..n {
            let d = rng.tpdf();
            sum += d;
            sq += d * d;
            peak = peak.max(d.abs());
            inner += usize::from(d.abs() < 0.5);
        }
        let mean = sum / n as f64;
        let var = sq / n as f64 - mean * mean;
        // Standard errors: 0.0004 for the mean, 0.0002 for the variance.
        assert!(mean.abs() < 0.002, "mean {mean}");
        assert!((var - 1.0 / 6.0).abs() < 0.002, "variance {var}");
        assert!(peak <= 1.0 && peak > 0.99, "peak {peak}");
        // Triangular on ±1: P(|d| < ½) = 1 − (½)² = ¾ (a uniform on ±1 would give ½).
        let frac = inner as f64 / n as f64;
        assert!((frac - 0.75).abs() < 0.005, "{frac}");
    }

    #[test]
    fn dithered_rounding_error_has_zero_mean_and_a_quarter_lsb_squared_for_any_input() {
        // With TPDF dither the total error's mean is 0 and its variance 1/12 + 1/6 = 1/4 LSB²,
        // whatever the input's position between two steps (plain rounding: mean −frac or so).
        for frac in [0.0, 0.3, 0.5, 0.77] {
            let mut quantiser = Quantiser::new(16, None, Dither::Tpdf, 99);
            let x = ((1000.0 + frac) / 32768.0) as f32;
            let exact = x as f64 * 32768.0;
            let n = 200_000;
            let (mut sum, mut sq, mut peak) = (0.0, 0.0, 0.0f64);
            for _ in 0..n {
                let e = quantiser.next(x) as f64 - exact;
                sum += e;
                sq += e * e;
                peak = peak.max(e.abs());
            }
            let mean = sum / n as f64;
            let var = sq / n as f64 - mean * mean;
            assert!(mean.abs() < 0.006, "{frac}: mean {mean}");
            assert!((var - 0.25).abs() < 0.006, "{frac}: variance {var}");
            assert!(peak <= 1.5, "{frac}: peak {peak}");
        }
    }

    #[test]
    fn without_dither_a_constant_stays_constant() {
        let mut plain = Quantiser::new(16, Some(C1), Dither::Off, 1);
        // 0.3 · 32768 = 9830.4
        assert!((0..10_000).all(|_| plain.next(0.3) == 9830));
        let mut dithered = Quantiser::new(16, Some(C1), Dither::Tpdf, 1);
        let values: std::collections::BTreeSet<i32> =
            (0..10_000).map(|_| dithered.next(0.3)).collect();
        assert_eq!(values.into_iter().collect::<Vec<_>>(), [9829, 9830, 9831]);
    }

    #[test]
    fn dither_is_reproducible_from_the_seed() {
        let run = |seed| {
            let mut quantiser = Quantiser::new(16, None, Dither::Tpdf, seed);
            (0..1000).map(|_| quantiser.next(0.1)).collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
        assert_eq!(
            seed_for(Path::new("a/out.wav")),
            seed_for(Path::new("out.wav"))
        );
        assert_ne!(seed_for(Path::new("a.wav")), seed_for(Path::new("b.wav")));
    }

    #[test]
    fn defaults_containers_and_the_float_ceiling() {
        assert_eq!(Dither::default_for(Bits::Int16), Dither::Tpdf);
        assert_eq!(Dither::default_for(Bits::Int24), Dither::Off);
        assert_eq!(Dither::default_for(Bits::Float32), Dither::Off);
        for (name, c) in [
            ("x.flac", Container::Flac),
            ("dir/X.FLAC", Container::Flac),
            ("x.Flac", Container::Flac),
            ("x.wav", Container::Wav),
            ("x.flac.wav", Container::Wav),
            ("flac", Container::Wav),
            ("x", Container::Wav),
        ] {
            assert_eq!(Container::of(Path::new(name)), c, "{name}");
        }
        assert!(Container::Flac.check(Bits::Float32).is_err());
        assert!(Container::Flac.check(Bits::Int24).is_ok());
        assert!(Container::Wav.check(Bits::Float32).is_ok());
        let f = float_ceiling(Some(C1));
        assert!(f as f64 <= C1, "{f}");
        assert!(f32::from_bits(f.to_bits() + 1) as f64 > C1);
        assert_eq!(float_ceiling(Some(0.5)), 0.5);
        assert_eq!(float_ceiling(None), f32::INFINITY);
    }

    #[test]
    fn resampled_length_rounds_up() {
        assert_eq!(resampled_len(44_100, 44_100, 48_000), 48_000);
        assert_eq!(resampled_len(1, 44_100, 48_000), 2);
        assert_eq!(resampled_len(0, 44_100, 48_000), 0);
    }

    /// A file in the temporary folder, removed on drop.
    struct Temp(PathBuf);

    impl Temp {
        fn new(name: &str) -> Self {
            Self(
                std::env::temp_dir().join(format!("tonecore-output-{}-{name}", std::process::id())),
            )
        }
    }

    impl Drop for Temp {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// A FLAC file decoded by symphonia: (bits, channels, rate, interleaved integers, the MD5
    /// check's verdict).
    fn decode_flac(path: &Path) -> (u32, usize, u32, Vec<i32>, Option<bool>) {
        use symphonia::core::audio::{AudioBufferRef, Signal};
        use symphonia::core::codecs::DecoderOptions;
        use symphonia::core::errors::Error;
        use symphonia::core::formats::FormatOptions;
        use symphonia::core::io::MediaSourceStream;
        use symphonia::core::meta::MetadataOptions;
        use symphonia::core::probe::Hint;
        let mss = MediaSourceStream::new(Box::new(File::open(path).unwrap()), Default::default());
        let mut format = symphonia::default::get_probe()
            .format(
                &Hint::new(),
                mss,
                &FormatOptions::default(),
                &MetadataOptions::default(),
            )
            .unwrap()
            .format;
        let params = format.default_track().unwrap().codec_params.clone();
        let bits = params.bits_per_sample.unwrap();
        let channels = params.channels.unwrap().count();
        let mut decoder = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions { verify: true })
            .unwrap();
        let mut out = Vec::new();
        loop {
            let packet = match format.next_packet() {
                Ok(p) => p,
                Err(Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => panic!("{e}"),
            };
            let AudioBufferRef::S32(buf) = decoder.decode(&packet).unwrap() else {
                panic!("FLAC decodes to i32");
            };
            for i in 0..buf.frames() {
                for c in 0..channels {
                    out.push(buf.chan(c)[i] >> (32 - bits));
                }
            }
        }
        let verified = decoder.finalize().verify_ok;
        (bits, channels, params.sample_rate.unwrap(), out, verified)
    }

    /// Stereo test signal (planar): a 0.7 sine and a 1.4 sine (overs, clamped) at 44.1 kHz.
    fn signal(frames: usize) -> Vec<f32> {
        let mut s = vec![0.0f32; 2 * frames];
        for i in 0..frames {
            let t = i as f64 / 44_100.0;
            s[i] = (0.7 * (2.0 * std::f64::consts::PI * 441.0 * t).sin()) as f32;
            s[frames + i] = (1.4 * (2.0 * std::f64::consts::PI * 1234.5 * t).sin()) as f32;
        }
        s
    }

    /// Writes `samples` with `opts` into `path`; returns the frames and what `on_block` saw
    /// (interleaved, scaled back to integers).
    fn write(path: &Path, samples: &[f32], opts: &WriteOptions) -> (u64, Vec<i32>) {
        let scale = match opts.bits {
            Bits::Int16 => 32768.0,
            _ => 8_388_608.0,
        };
        let mut seen = Vec::new();
        let n = write_audio(
            File::create(path).unwrap(),
            "test",
            samples,
            2,
            44_100,
            opts,
            &|_| {},
            &mut |b| {
                let n = b.len() / 2;
                for i in 0..n {
                    for c in 0..2 {
                        let v = b[c * n + i] as f64 * scale;
                        assert_eq!(v, v.round(), "on_block hands over integers / scale");
                        seen.push(v as i32);
                    }
                }
            },
        )
        .unwrap();
        (n, seen)
    }

    #[test]
    fn flac_decodes_to_exactly_the_integers_written() {
        // Not a multiple of the FLAC block (4096) nor of the write block (16384).
        let frames = 2 * BLOCK + 1234;
        let samples = signal(frames);
        for (bits, depth, bound) in [(Bits::Int16, 16, BOUND16), (Bits::Int24, 24, BOUND24)] {
            let scale = 2f64.powi(depth - 1);
            let flac = Temp::new(&format!("{depth}.flac"));
            let wav = Temp::new(&format!("{depth}.wav"));
            let mut opts = WriteOptions {
                container: Container::Flac,
                bits,
                out_rate: 44_100,
                ceiling: Some(C1),
                dither: Dither::Off,
                seed: 3,
            };
            let (n, seen) = write(&flac.0, &samples, &opts);
            assert_eq!(n, frames as u64);
            let (b, ch, rate, ints, md5) = decode_flac(&flac.0);
            assert_eq!((b, ch, rate), (depth as u32, 2, 44_100));
            assert_eq!(
                md5,
                Some(true),
                "the STREAMINFO MD5 matches the decoded audio"
            );
            // Independent arithmetic: round, then clamp to the hand-computed bound.
            let expected: Vec<i32> = (0..frames)
                .flat_map(|i| [i, frames + i])
                .map(|k| {
                    (samples[k] as f64 * scale)
                        .round()
                        .clamp(-bound as f64, bound as f64) as i32
                })
                .collect();
            assert_eq!(ints.len(), expected.len());
            assert!(
                ints == expected,
                "{depth}-bit FLAC differs from round-and-clamp"
            );
            assert_eq!(seen, ints, "on_block saw what the file holds");

            // Dithered: the file holds what on_block saw, within 1.5 LSB of the input below
            // the ceiling, and a WAV written with the same options holds the same integers.
            opts.dither = Dither::Tpdf;
            let (_, seen) = write(&flac.0, &samples, &opts);
            let (_, _, _, ints, md5) = decode_flac(&flac.0);
            assert_eq!(md5, Some(true));
            assert!(ints == seen);
            assert!(ints != expected, "dither changed nothing");
            for (k, &v) in ints.iter().enumerate() {
                let x = samples[(k % 2) * frames + k / 2] as f64 * scale;
                assert!(v.abs() <= bound);
                if x.abs() < bound as f64 - 2.0 {
                    assert!((v as f64 - x).abs() <= 1.5, "{v} for {x}");
                }
            }
            opts.container = Container::Wav;
            write(&wav.0, &samples, &opts);
            let wav_ints: Vec<i32> = hound::WavReader::open(&wav.0)
                .unwrap()
                .samples::<i32>()
                .map(|s| s.unwrap())
                .collect();
            assert!(wav_ints == ints, "{depth}-bit WAV and FLAC differ");
        }
    }

    #[test]
    fn flac_of_a_resampled_short_and_an_empty_track() {
        let flac = Temp::new("short.flac");
        let opts = WriteOptions {
            container: Container::Flac,
            bits: Bits::Int16,
            out_rate: 48_000,
            ceiling: Some(C1),
            dither: Dither::Tpdf,
            seed: 1,
        };
        let samples = signal(1000);
        let (n, seen) = write(&flac.0, &samples, &opts);
        assert_eq!(n, resampled_len(1000, 44_100, 48_000) as u64);
        let (_, _, rate, ints, md5) = decode_flac(&flac.0);
        assert_eq!((rate, md5), (48_000, Some(true)));
        assert!(ints == seen);
        // An empty track: the marker and a STREAMINFO only (symphonia reads no frameless FLAC,
        // so the fields are checked against the format's layout: 0x80 = last block, type 0,
        // 34 bytes; 20-bit rate, 3-bit channels − 1, 5-bit bits − 1, 36-bit length 0).
        let (n, _) = write(&flac.0, &[], &opts);
        assert_eq!(n, 0);
        let b = std::fs::read(&flac.0).unwrap();
        assert_eq!(b.len(), 42);
        assert_eq!(&b[..8], b"fLaC\x80\x00\x00\x22");
        let packed = u64::from_be_bytes(b[18..26].try_into().unwrap());
        assert_eq!(packed >> 44, 48_000);
        assert_eq!((packed >> 41) & 7, 1);
        assert_eq!((packed >> 36) & 31, 15);
        assert_eq!(packed & ((1 << 36) - 1), 0);
    }

    #[test]
    fn float_output_is_clamped_to_the_ceiling_and_flac_refuses_it() {
        let wav = Temp::new("float.wav");
        let mut opts = WriteOptions {
            container: Container::Wav,
            bits: Bits::Float32,
            out_rate: 44_100,
            ceiling: Some(C1),
            dither: Dither::Tpdf,
            seed: 1,
        };
        let samples = signal(5000);
        write_audio(
            File::create(&wav.0).unwrap(),
            "test",
            &samples,
            2,
            44_100,
            &opts,
            &|_| {},
            &mut |_| {},
        )
        .unwrap();
        let peak = hound::WavReader::open(&wav.0)
            .unwrap()
            .samples::<f32>()
            .map(|s| s.unwrap().abs())
            .fold(0.0f32, f32::max);
        assert!(peak as f64 <= C1 && peak as f64 > C1 - 1e-7, "{peak}");
        opts.container = Container::Flac;
        let e = write_audio(
            File::create(&wav.0).unwrap(),
            "test",
            &samples,
            2,
            44_100,
            &opts,
            &|_| {},
            &mut |_| {},
        );
        assert!(matches!(e, Err(crate::error::CliError::Message(m)) if m.contains("FLAC")));
    }
}
