//! The engine's shared chunk cache: rendered chunks keyed by what determines them.

use crate::cache::bytes::ByteLru;
use crate::cache::CachedSample;
use crate::pipeline::PipelineConfig;
use crate::render::{ChunkPlan, ChunkStore};
use crate::typed::{Family, PerSample, TypedSample};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What determines a rendered chunk: the track's content, the settings (pipeline, chunk
/// geometry, format, sample rate, channels, length, library version) and the chunk's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChunkKey {
    /// Content id of the track (the host's, or a hash of the samples).
    pub content: u64,
    /// Hash of everything else that shapes the output.
    pub settings: u64,
    /// Chunk index.
    pub chunk: u32,
}

/// `Arc<[T]>` for each sample type.
pub struct SharedSamples;

impl Family for SharedSamples {
    type Of<T: CachedSample> = Arc<[T]>;
}

/// A cached chunk of either sample type.
pub type CachedChunk = PerSample<SharedSamples>;

impl Clone for CachedChunk {
    fn clone(&self) -> Self {
        match self {
            Self::F32(x) => Self::F32(x.clone()),
            Self::F64(x) => Self::F64(x.clone()),
        }
    }
}

/// The cache shared by an engine's streams and jobs.
pub type ChunkCache = ByteLru<ChunkKey, CachedChunk>;

/// A 64-bit hash of the samples' bit patterns (four independent multiply–rotate lanes, then
/// mixed); distinct tracks collide with probability about 2^-64.
pub fn content_hash<T: CachedSample>(samples: &[T]) -> u64 {
    // SAFETY: f32 and f64 have no padding and every bit pattern is a valid byte sequence.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            samples.as_ptr().cast::<u8>(),
            std::mem::size_of_val(samples),
        )
    };
    const K: [u64; 4] = [
        0x9E37_79B9_7F4A_7C15,
        0xC2B2_AE3D_27D4_EB4F,
        0x1656_67B1_9E37_79F9,
        0x27D4_EB2F_1656_67C5,
    ];
    let mut lanes = K;
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        for (i, lane) in lanes.iter_mut().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&block[i * 8..i * 8 + 8]);
            *lane = (*lane ^ u64::from_le_bytes(w))
                .wrapping_mul(K[i])
                .rotate_left(29);
        }
    }
    let mut h = DefaultHasher::new();
    lanes.hash(&mut h);
    blocks.remainder().hash(&mut h);
    bytes.len().hash(&mut h);
    h.finish()
}

/// A hash of everything but the content that shapes a track's chunks.
pub fn settings_hash<T: CachedSample>(
    pipeline: &PipelineConfig,
    plan: &ChunkPlan,
    channels: usize,
    sample_rate: u32,
) -> u64 {
    let mut h = DefaultHasher::new();
    crate::VERSION.hash(&mut h);
    std::mem::size_of::<T>().hash(&mut h);
    format!("{pipeline:?}").hash(&mut h);
    (plan.total, plan.chunk, plan.context, plan.crossfade).hash(&mut h);
    (channels, sample_rate).hash(&mut h);
    h.finish()
}

/// One track's view of the engine cache, handed to its renders as their [`ChunkStore`].
pub struct TrackStore {
    pub cache: Arc<ChunkCache>,
    pub content: u64,
    pub settings: u64,
    /// Core frames of the track's chunks, to count rendered frames.
    pub plan: ChunkPlan,
    /// Engine-wide counters: frames and chunks rendered (not served from the cache).
    pub frames: Arc<AtomicU64>,
    pub chunks: Arc<AtomicU64>,
}

impl TrackStore {
    fn key(&self, k: usize) -> ChunkKey {
        ChunkKey {
            content: self.content,
            settings: self.settings,
            chunk: k as u32,
        }
    }
}

impl<T: TypedSample> ChunkStore<T> for TrackStore {
    fn get(&self, k: usize) -> Option<Arc<[T]>> {
        self.cache.get(&self.key(k))?.get::<T>().cloned()
    }

    fn put(&self, k: usize, rendered: Arc<[T]>) {
        let (a, b) = self.plan.core(k);
        self.frames.fetch_add((b - a) as u64, Ordering::Relaxed);
        self.chunks.fetch_add(1, Ordering::Relaxed);
        let bytes = std::mem::size_of_val(&*rendered);
        self.cache
            .insert(self.key(k), PerSample::new::<T>(rendered), bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_sees_every_sample_and_the_length() {
        let x: Vec<f32> = (0..1001).map(|i| (i as f32 * 0.01).sin()).collect();
        let h = content_hash(&x);
        assert_eq!(h, content_hash(&x.clone()));
        for at in [0, 7, 500, 999, 1000] {
            let mut y = x.clone();
            y[at] = f32::from_bits(y[at].to_bits() ^ 1);
            assert_ne!(h, content_hash(&y), "a flipped bit at {at} went unseen");
        }
        assert_ne!(h, content_hash(&x[..1000]));
        let zeros = vec![0.0f64; 8];
        assert_ne!(content_hash(&zeros), content_hash(&zeros[..4]));
    }
}
