//! Writing results: every output goes to a hidden temporary file in the destination folder and
//! is renamed onto its name only when complete, so a failure or Ctrl-C leaves nothing partial.
//! WAV files are written by hound (16/24-bit integer or 32-bit float), optionally resampled by
//! rubato on the way.

use crate::error::{check_cancel, io_reason, register_pending, shown, unregister_pending, Result};
use crate::fail;
use audioadapter_buffers::direct::SequentialSlice;
use clap::ValueEnum;
use rubato::{Fft, FixedSync, Indexing, Resampler};
use std::fs::{File, OpenOptions};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Sample format of the WAV output.
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

impl PendingFile {
    /// Creates a hidden temporary file beside `dest` (same folder, so the final rename is
    /// atomic).
    ///
    /// # Errors
    /// The folder does not exist, is not a folder, or cannot be written; `dest` is a folder.
    pub fn create(dest: &Path) -> Result<(Self, File)> {
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
    /// The rename failed (the temporary file is removed).
    pub fn commit(mut self) -> Result<()> {
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

/// Writes planar `samples` (`channels × frames` at `rate`) as a WAV file of `bits` at
/// `out_rate` (resampled by rubato when it differs from `rate`) into `file`. Every block written
/// is also handed to `on_block` (planar `f32`, `channels × n`, as written before quantisation);
/// `progress(fraction)` is called per block. Returns the frames written.
///
/// # Errors
/// Write errors (disk full…), resampler errors, Ctrl-C.
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
    let frames = samples.len() / channels;
    let mut blocks = if out_rate == rate {
        Blocks::Direct {
            samples,
            frames,
            pos: 0,
        }
    } else {
        let resampler = Fft::<f32>::new(
            rate as usize,
            out_rate as usize,
            4096,
            1,
            channels,
            FixedSync::Input,
        )
        .map_err(|e| fail!("cannot resample {rate} Hz to {out_rate} Hz: {e}"))?;
        Blocks::Resampled {
            samples,
            frames,
            pos: 0,
            trim: resampler.output_delay(),
            resampler: Box::new(resampler),
            input: Vec::new(),
            output: Vec::new(),
            remaining: resampled_len(frames, rate, out_rate),
        }
    };
    let total = resampled_len(frames, rate, out_rate).max(1);
    let err = |e: hound::Error| match e {
        hound::Error::IoError(e) => fail!("cannot write {name}: {}", io_reason(&e)),
        e => fail!("cannot write {name}: {e}"),
    };
    let mut writer = hound::WavWriter::new(
        BufWriter::with_capacity(1 << 20, file),
        bits.spec(channels, out_rate),
    )
    .map_err(err)?;
    let mut block = Vec::with_capacity(channels * BLOCK);
    let mut written = 0u64;
    while blocks.next(channels, &mut block)? {
        check_cancel()?;
        let n = block.len() / channels;
        match bits {
            Bits::Int16 => {
                let mut w = writer.get_i16_writer((n * channels) as u32);
                for i in 0..n {
                    for c in 0..channels {
                        w.write_sample(quantise(block[c * n + i], 16) as i16);
                    }
                }
                w.flush().map_err(err)?;
            }
            Bits::Int24 => {
                for i in 0..n {
                    for c in 0..channels {
                        writer
                            .write_sample(quantise(block[c * n + i], 24))
                            .map_err(err)?;
                    }
                }
            }
            Bits::Float32 => {
                for i in 0..n {
                    for c in 0..channels {
                        writer.write_sample(block[c * n + i]).map_err(err)?;
                    }
                }
            }
        }
        on_block(&block);
        written += n as u64;
        progress(written as f64 / total as f64);
    }
    writer.finalize().map_err(err)?;
    Ok(written)
}

/// `x` (nominally −1…1) as a `bits`-bit integer, rounded and clipped (scale 2^(bits−1), as
/// decoders read it back).
fn quantise(x: f32, bits: u32) -> i32 {
    let scale = (1i64 << (bits - 1)) as f64;
    (x as f64 * scale).round().clamp(-scale, scale - 1.0) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantise_rounds_and_clips() {
        assert_eq!(quantise(0.5, 16), 16384);
        assert_eq!(quantise(1.0, 16), 32767);
        assert_eq!(quantise(-1.0, 16), -32768);
        assert_eq!(quantise(-2.0, 24), -(1 << 23));
        assert_eq!(quantise(0.25 / 32768.0, 16), 0);
    }

    #[test]
    fn resampled_length_rounds_up() {
        assert_eq!(resampled_len(44_100, 44_100, 48_000), 48_000);
        assert_eq!(resampled_len(1, 44_100, 48_000), 2);
        assert_eq!(resampled_len(0, 44_100, 48_000), 0);
    }
}
