//! Shared pieces of the fuzz targets: status checks, sample generation, sentinel buffers.
#![allow(dead_code)]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use tonecore::ffi::tonecore_status;

/// A refusal is fine; a caught panic (or an object poisoned by one) is a bug.
pub fn accepted(st: tonecore_status, what: &str) -> bool {
    assert!(
        !matches!(st, tonecore_status::Panic | tonecore_status::Poisoned),
        "{what} returned {st:?}"
    );
    st == tonecore_status::Ok
}

/// How a buffer of samples is filled.
#[derive(Arbitrary, Debug, Clone)]
pub enum Fill {
    Zero,
    Const(f32),
    /// A deterministic full-scale noise from a seed.
    Noise(u32),
    /// A sine of this many cycles per 1000 samples at this amplitude.
    Sine(u16, f32),
    /// Fuzzer-chosen values (NaN, Inf, denormals, huge), repeated to the length.
    Data(Vec<f32>),
}

impl Fill {
    pub fn make(&self, len: usize) -> Vec<f32> {
        match self {
            Fill::Zero => vec![0.0; len],
            Fill::Const(v) => vec![*v; len],
            Fill::Noise(seed) => {
                let mut s = u64::from(*seed) | 1;
                (0..len)
                    .map(|_| {
                        s ^= s << 13;
                        s ^= s >> 7;
                        s ^= s << 17;
                        (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
                    })
                    .collect()
            }
            Fill::Sine(cycles, amp) => (0..len)
                .map(|i| amp * (i as f32 * f32::from(*cycles) * 0.006_283_185).sin())
                .collect(),
            Fill::Data(d) if d.is_empty() => vec![0.0; len],
            Fill::Data(d) => (0..len).map(|i| d[i % d.len()]).collect(),
        }
    }

    pub fn make_f64(&self, len: usize) -> Vec<f64> {
        match self {
            // f32 data cannot hold the f64 extremes: scale some of it up.
            Fill::Data(_) => self
                .make(len)
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    if i % 7 == 3 {
                        f64::from(v) * 1e300
                    } else {
                        f64::from(v)
                    }
                })
                .collect(),
            _ => self.make(len).into_iter().map(f64::from).collect(),
        }
    }
}

/// A sample rate: usually a common one, sometimes anything (zero included) below 400 kHz.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Rate {
    Common(u8),
    Raw(u32),
}

impl Rate {
    pub fn hz(self) -> u32 {
        match self {
            Rate::Common(i) => {
                [8000, 16000, 22050, 44100, 48000, 96000, 192000][usize::from(i) % 7]
            }
            Rate::Raw(v) => v % 400_000,
        }
    }
}

/// A channel count: 0–8, or one above the 64-channel limit.
pub fn channels(c: u8) -> usize {
    if c >= 250 {
        65 + usize::from(c - 250)
    } else {
        usize::from(c % 9)
    }
}

/// Fills `n` bytes-worth of `T` with a recognisable pattern and compares afterwards.
pub fn sentinel_f32(len: usize) -> Vec<f32> {
    vec![f32::from_bits(0x7fa5_a5a5); len]
}

pub fn untouched_f32(buf: &[f32]) -> bool {
    buf.iter().all(|v| v.to_bits() == 0x7fa5_a5a5)
}

pub fn sentinel_f64(len: usize) -> Vec<f64> {
    vec![f64::from_bits(0x7ff5_a5a5_a5a5_a5a5); len]
}

pub fn untouched_f64(buf: &[f64]) -> bool {
    buf.iter().all(|v| v.to_bits() == 0x7ff5_a5a5_a5a5_a5a5)
}

/// A length the library must refuse without touching memory (beyond any Rust slice of `T`).
pub fn huge_len<T>() -> usize {
    isize::MAX as usize / std::mem::size_of::<T>() + 1
}

/// A number for a config field: mostly in a plausible range (so deeper states are reached),
/// sometimes any f64 at all (NaN, infinities, huge, tiny, negative).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Num {
    /// Keep the library's default.
    Default,
    /// `v / 10` (−3276.8 … 3276.7).
    Tenths(i16),
    Raw(f64),
}

impl Num {
    pub fn or(self, default: f64) -> f64 {
        match self {
            Num::Default => default,
            Num::Tenths(v) => f64::from(v) / 10.0,
            Num::Raw(v) => v,
        }
    }
}

/// A context duration: as [`Num::or`], but a valid context above 5 s becomes 5 s. Every chunk
/// renders its context, so a valid day-long context on a many-chunk track is legitimately slow
/// (a timeout, not a bug); invalid values (NaN, infinities, above 86400 s) pass unchanged.
pub fn context_seconds(n: Num, default: f64) -> f64 {
    let v = n.or(default);
    if v > 5.0 && v <= 86_400.0 {
        5.0
    } else {
        v
    }
}
