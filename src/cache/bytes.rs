//! A byte-bounded LRU map shared by many threads (the engine's chunk cache).
//!
//! Every operation takes one lock for a short, allocation-light critical section. Values are
//! inserted whole (typically `Arc`s of finished data), so a reader can never observe a
//! half-written entry. Counters live under the same lock, so a [`ByteLruStats`] snapshot is
//! consistent (`bytes` is the sum of the entries' sizes at that instant).

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

/// Counters of a [`ByteLru`], all from the same instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ByteLruStats {
    /// Lookups that found their entry.
    pub hits: u64,
    /// Lookups that did not.
    pub misses: u64,
    /// Entries inserted.
    pub inserts: u64,
    /// Entries evicted to make room (replacements and refusals not counted).
    pub evictions: u64,
    /// Entries refused because they alone exceed the capacity.
    pub refused: u64,
    /// Entries held now.
    pub entries: u64,
    /// Bytes held now (never above `capacity`).
    pub bytes: u64,
    /// The byte budget.
    pub capacity: u64,
}

struct Entry<V> {
    value: V,
    bytes: usize,
    tick: u64,
}

struct State<K, V> {
    map: HashMap<K, Entry<V>>,
    /// Last-use tick → key, oldest first.
    order: BTreeMap<u64, K>,
    tick: u64,
    stats: ByteLruStats,
}

/// A thread-safe LRU map bounded by the total size of its values in bytes.
pub struct ByteLru<K, V> {
    state: Mutex<State<K, V>>,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> ByteLru<K, V> {
    /// An empty map holding at most `capacity` bytes (0 = store nothing).
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State {
                map: HashMap::new(),
                order: BTreeMap::new(),
                tick: 0,
                stats: ByteLruStats {
                    capacity: capacity as u64,
                    ..ByteLruStats::default()
                },
            }),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K, V>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value for `key`, marked most recently used; counts a hit or a miss. Control path
    /// (takes the lock).
    pub fn get(&self, key: &K) -> Option<V> {
        let mut s = self.lock();
        s.tick += 1;
        let tick = s.tick;
        let Some(entry) = s.map.get_mut(key) else {
            s.stats.misses += 1;
            return None;
        };
        let old = std::mem::replace(&mut entry.tick, tick);
        let value = entry.value.clone();
        s.order.remove(&old);
        s.order.insert(tick, key.clone());
        s.stats.hits += 1;
        Some(value)
    }

    /// Stores `value` (of `bytes` bytes) under `key`, replacing an older value and evicting the
    /// least recently used entries until it fits. A value larger than the whole capacity is
    /// refused. Returns whether it was stored.
    pub fn insert(&self, key: K, value: V, bytes: usize) -> bool {
        let mut s = self.lock();
        if bytes > self.capacity {
            s.stats.refused += 1;
            return false;
        }
        if let Some(old) = s.map.remove(&key) {
            s.order.remove(&old.tick);
            s.stats.bytes -= old.bytes as u64;
        }
        while s.stats.bytes + bytes as u64 > self.capacity as u64 {
            let Some((_, oldest)) = s.order.pop_first() else {
                break;
            };
            if let Some(gone) = s.map.remove(&oldest) {
                s.stats.bytes -= gone.bytes as u64;
                s.stats.evictions += 1;
            }
        }
        s.tick += 1;
        let tick = s.tick;
        s.order.insert(tick, key.clone());
        s.map.insert(key, Entry { value, bytes, tick });
        s.stats.bytes += bytes as u64;
        s.stats.inserts += 1;
        s.stats.entries = s.map.len() as u64;
        true
    }

    /// Drops every entry (counters other than `entries`/`bytes` are kept).
    pub fn clear(&self) {
        let mut s = self.lock();
        s.map.clear();
        s.order.clear();
        s.stats.bytes = 0;
        s.stats.entries = 0;
    }

    /// A consistent snapshot of the counters.
    pub fn stats(&self) -> ByteLruStats {
        let s = self.lock();
        ByteLruStats {
            entries: s.map.len() as u64,
            ..s.stats
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn evicts_least_recently_used_to_stay_in_budget() {
        let lru = ByteLru::<u32, u32>::new(100);
        assert!(lru.insert(1, 10, 40));
        assert!(lru.insert(2, 20, 40));
        assert_eq!(lru.get(&1), Some(10)); // 2 is now the oldest
        assert!(lru.insert(3, 30, 40));
        assert_eq!(lru.get(&2), None);
        assert_eq!(lru.get(&1), Some(10));
        assert_eq!(lru.get(&3), Some(30));
        let s = lru.stats();
        assert_eq!((s.entries, s.bytes, s.evictions), (2, 80, 1));
        assert_eq!((s.hits, s.misses, s.inserts), (3, 1, 3));
        assert!(!lru.insert(4, 40, 101));
        assert_eq!(lru.stats().refused, 1);
        // Replacing keeps one entry and recounts its bytes.
        assert!(lru.insert(3, 31, 10));
        let s = lru.stats();
        assert_eq!((s.entries, s.bytes), (2, 50));
        lru.clear();
        assert_eq!(lru.stats().bytes, 0);
    }

    #[test]
    fn concurrent_readers_and_writers_see_whole_values_and_the_budget_holds() {
        let lru = Arc::new(ByteLru::<u64, Arc<[u64]>>::new(64 * 8 * 10));
        std::thread::scope(|s| {
            for t in 0..8u64 {
                let lru = lru.clone();
                s.spawn(move || {
                    for i in 0..2000u64 {
                        let key = (i * 7 + t) % 40;
                        if let Some(v) = lru.get(&key) {
                            assert!(v.iter().all(|&w| w == key), "torn or wrong entry");
                        } else {
                            lru.insert(key, Arc::from(vec![key; 64]), 64 * 8);
                        }
                        assert!(lru.stats().bytes <= 64 * 8 * 10);
                    }
                });
            }
        });
        let s = lru.stats();
        assert_eq!(s.hits + s.misses, 16_000);
        assert!(s.entries <= 10 && s.bytes == s.entries * 512);
    }
}
