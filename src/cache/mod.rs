//! Process-wide caches of windows and FFT plans, shared by every thread.
//!
//! A lookup takes the cache's lock, builds the entry if it is missing (while still holding the
//! lock, so concurrent callers asking for the same new size wait for the one build instead of
//! racing to build their own), and returns an `Arc` to immutable data. Callers can neither see a
//! half-built entry nor mutate a cached one. Each cache keeps at most [`MAX_ENTRIES`] entries and
//! evicts the least recently used; evicted data lives on for as long as a caller holds its `Arc`.

pub mod bytes;

use crate::dsp::{Sample, WindowKind};
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Most entries one cache map keeps before evicting the least recently used.
pub const MAX_ENTRIES: usize = 128;

/// A shared forward real FFT plan.
pub type ForwardPlan<T> = Arc<dyn RealToComplex<T>>;
/// A shared inverse real FFT plan.
pub type InversePlan<T> = Arc<dyn ComplexToReal<T>>;

/// A small LRU map whose entries are built under its lock.
struct LruMap<K, V> {
    entries: HashMap<K, (V, u64)>,
    tick: u64,
}

impl<K: Eq + Hash + Copy, V: Clone> LruMap<K, V> {
    fn new() -> Self {
        Self {
            entries: HashMap::new(),
            tick: 0,
        }
    }

    fn get_or_build(&mut self, key: K, build: impl FnOnce() -> V, builds: &AtomicU64) -> V {
        self.tick += 1;
        let tick = self.tick;
        if let Some((value, used)) = self.entries.get_mut(&key) {
            *used = tick;
            return value.clone();
        }
        if self.entries.len() >= MAX_ENTRIES {
            if let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k)
            {
                self.entries.remove(&oldest);
            }
        }
        let value = build();
        builds.fetch_add(1, Ordering::Relaxed);
        self.entries.insert(key, (value.clone(), tick));
        value
    }
}

type WindowMap<T> = LruMap<(WindowKind, usize), Arc<[T]>>;

/// Window and FFT-plan caches for one sample type.
pub struct SpectralCache<T: Sample> {
    windows: Mutex<WindowMap<T>>,
    forward: Mutex<LruMap<usize, ForwardPlan<T>>>,
    inverse: Mutex<LruMap<usize, InversePlan<T>>>,
    window_builds: AtomicU64,
    plan_builds: AtomicU64,
}

/// Counters of how many entries a cache has built since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheBuilds {
    /// Windows computed.
    pub windows: u64,
    /// FFT plans (forward and inverse) created.
    pub plans: u64,
}

impl<T: Sample> SpectralCache<T> {
    fn new() -> Self {
        Self {
            windows: Mutex::new(LruMap::new()),
            forward: Mutex::new(LruMap::new()),
            inverse: Mutex::new(LruMap::new()),
            window_builds: AtomicU64::new(0),
            plan_builds: AtomicU64::new(0),
        }
    }

    /// The window `kind` of length `n`, built once and shared.
    ///
    /// Control path: may allocate and takes a lock.
    pub fn window(&self, kind: WindowKind, n: usize) -> Arc<[T]> {
        let mut map = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        map.get_or_build(
            (kind, n),
            || Arc::from(kind.generate::<T>(n)),
            &self.window_builds,
        )
    }

    /// The forward real FFT plan of size `n`, built once and shared.
    ///
    /// Control path: may allocate and takes a lock.
    pub fn forward_plan(&self, n: usize) -> ForwardPlan<T> {
        let mut map = self.forward.lock().unwrap_or_else(PoisonError::into_inner);
        map.get_or_build(
            n,
            || RealFftPlanner::<T>::new().plan_fft_forward(n),
            &self.plan_builds,
        )
    }

    /// The inverse real FFT plan of size `n`, built once and shared.
    ///
    /// Control path: may allocate and takes a lock.
    pub fn inverse_plan(&self, n: usize) -> InversePlan<T> {
        let mut map = self.inverse.lock().unwrap_or_else(PoisonError::into_inner);
        map.get_or_build(
            n,
            || RealFftPlanner::<T>::new().plan_fft_inverse(n),
            &self.plan_builds,
        )
    }

    /// How many windows and plans this cache has built so far.
    pub fn builds(&self) -> CacheBuilds {
        CacheBuilds {
            windows: self.window_builds.load(Ordering::Relaxed),
            plans: self.plan_builds.load(Ordering::Relaxed),
        }
    }
}

/// A sample type with a process-wide [`SpectralCache`].
pub trait CachedSample: Sample {
    /// The process-wide cache for this sample type.
    fn cache() -> &'static SpectralCache<Self>;
}

impl CachedSample for f32 {
    fn cache() -> &'static SpectralCache<f32> {
        static CACHE: OnceLock<SpectralCache<f32>> = OnceLock::new();
        CACHE.get_or_init(SpectralCache::new)
    }
}

impl CachedSample for f64 {
    fn cache() -> &'static SpectralCache<f64> {
        static CACHE: OnceLock<SpectralCache<f64>> = OnceLock::new();
        CACHE.get_or_init(SpectralCache::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    #[test]
    fn eight_threads_build_a_new_entry_once() {
        // Sizes no other test uses, so the counters only see this test's builds.
        let cache = SpectralCache::<f64>::new();
        let barrier = Barrier::new(8);
        let windows: Vec<Arc<[f64]>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        let w = cache.window(WindowKind::Blackman, 3001);
                        let _ = cache.forward_plan(3002);
                        let _ = cache.inverse_plan(3002);
                        w
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            cache.builds(),
            CacheBuilds {
                windows: 1,
                plans: 2
            }
        );
        for w in &windows[1..] {
            assert!(Arc::ptr_eq(w, &windows[0]));
        }
    }

    #[test]
    fn evicts_least_recently_used_and_keeps_handed_out_data() {
        let cache = SpectralCache::<f32>::new();
        let first = cache.window(WindowKind::Hann, 16);
        for n in 17..(17 + MAX_ENTRIES) {
            cache.window(WindowKind::Hann, n);
        }
        assert_eq!(first.len(), 16);
        let builds = cache.builds().windows;
        // 16 was evicted: asking again rebuilds it.
        let again = cache.window(WindowKind::Hann, 16);
        assert_eq!(cache.builds().windows, builds + 1);
        assert_eq!(&*first, &*again);
    }
}
