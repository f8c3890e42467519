//! The wait-free crossfade tail handoff.
//!
//! The worker that renders chunk `k` publishes the tail of chunk `k` (the frames that overlap
//! chunk `k + 1`); the thread that emits chunk `k + 1` takes it to crossfade its head. Tails live
//! in a preallocated ring of slots, one per chunk index modulo the capacity. Each slot has one
//! atomic state word — empty, being written, ready with a (generation, chunk) tag, or being read
//! — that hands the slot's samples from one side to the other:
//!
//! - a tail becomes visible only when its writer **commits**, which the renderer does after its
//!   chunk's output was accepted downstream; a writer dropped without commit leaves nothing;
//! - the consumer takes a tail only for the generation and chunk it expects; tails of an older
//!   generation (before a seek) are discarded when met, never mixed into the new position;
//! - a take copies the whole tail out and empties the slot: never torn, never taken twice;
//! - both sides are wait-free: a bounded number of atomic operations, no locks, no allocation.
//!
//! Model-checked with loom, including a weakened-ordering mutant.

use crate::dsp::Sample;
use crate::sync::{Arc, AtomicU64, Ordering, UnsafeCell};

const EMPTY: u64 = 0;
const WRITING: u64 = 1;
const READY: u64 = 2;
const READING: u64 = 3;

fn ready(generation: u32, chunk: u32) -> u64 {
    (u64::from(generation) << 34) | (u64::from(chunk) << 2) | READY
}

struct Slot<T> {
    state: AtomicU64,
    samples: UnsafeCell<Vec<T>>,
}

struct Shared<T> {
    slots: Vec<Slot<T>>,
    /// Ordering of the publishing store and the taking load: Release/Acquire except in the loom
    /// mutant, which weakens both to Relaxed.
    publish: Ordering,
    take: Ordering,
}

// SAFETY: a slot's samples are touched only by the side that moved its state word to WRITING
// (producer) or READING (consumer) with a successful compare-exchange; the Release store that
// ends each phase orders the sample accesses before the next owner's Acquire.
unsafe impl<T: Send> Sync for Shared<T> {}
unsafe impl<T: Send> Send for Shared<T> {}

/// The producing side (the chunk renderer).
pub struct TailProducer<T: Sample> {
    shared: Arc<Shared<T>>,
}

/// The consuming side (the thread that emits chunks).
pub struct TailConsumer<T: Sample> {
    shared: Arc<Shared<T>>,
}

/// Creates a tail buffer of `capacity` slots (≥ 1), each holding up to `max_len` samples.
/// Allocates everything here.
pub fn tail_buffer<T: Sample>(
    capacity: usize,
    max_len: usize,
) -> (TailProducer<T>, TailConsumer<T>) {
    tail_buffer_with_order(capacity, max_len, Ordering::Release, Ordering::Acquire)
}

/// [`tail_buffer`] with chosen orderings — for the loom mutant test only.
pub(crate) fn tail_buffer_with_order<T: Sample>(
    capacity: usize,
    max_len: usize,
    publish: Ordering,
    take: Ordering,
) -> (TailProducer<T>, TailConsumer<T>) {
    let slots = (0..capacity.max(1))
        .map(|_| Slot {
            state: AtomicU64::new(EMPTY),
            samples: UnsafeCell::new(Vec::with_capacity(max_len)),
        })
        .collect();
    let shared = Arc::new(Shared {
        slots,
        publish,
        take,
    });
    (
        TailProducer {
            shared: shared.clone(),
        },
        TailConsumer { shared },
    )
}

/// A reserved slot being filled. [`commit`](Self::commit) publishes it; dropping it without a
/// commit gives the slot back unpublished.
pub struct TailWriter<'a, T: Sample> {
    slot: &'a Slot<T>,
    tag: u64,
    publish: Ordering,
    committed: bool,
}

impl<T: Sample> TailWriter<'_, T> {
    /// Copies `samples` in (up to the slot's capacity; more is cut). Wait-free, no allocation.
    pub fn write(&mut self, samples: &[T]) {
        self.slot.samples.with_mut(|v| {
            // SAFETY: this writer owns the slot (state WRITING) until commit or drop.
            let v = unsafe { &mut *v };
            v.clear();
            let n = samples.len().min(v.capacity());
            v.extend_from_slice(&samples[..n]);
        });
    }

    /// Makes the tail visible to the consumer. Call it only once the chunk it belongs to was
    /// accepted downstream.
    pub fn commit(mut self) {
        self.committed = true;
        self.slot.state.store(self.tag, self.publish);
    }
}

impl<T: Sample> Drop for TailWriter<'_, T> {
    fn drop(&mut self) {
        if !self.committed {
            self.slot.state.store(EMPTY, Ordering::Release);
        }
    }
}

impl<T: Sample> TailProducer<T> {
    /// Reserves the slot for `(generation, chunk)`. `None` when the slot still holds a tail the
    /// consumer has not taken (or is reading): the producer is a full ring ahead and must wait
    /// for the consumer (retry later); a stale tail of an older generation is replaced.
    /// Wait-free.
    pub fn reserve(&self, generation: u32, chunk: u32) -> Option<TailWriter<'_, T>> {
        let slot = &self.shared.slots[chunk as usize % self.shared.slots.len()];
        let state = slot.state.load(Ordering::Acquire);
        let replaceable =
            state == EMPTY || (state & 3 == READY && ((state >> 34) as u32) != generation);
        if !replaceable {
            return None;
        }
        slot.state
            .compare_exchange(state, WRITING, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        Some(TailWriter {
            slot,
            tag: ready(generation, chunk),
            publish: self.shared.publish,
            committed: false,
        })
    }
}

impl<T: Sample> TailConsumer<T> {
    /// Takes the tail of `(generation, chunk)` into `out` and returns its length, or `None` when
    /// it is not (yet) there. A tail of an older generation found in the slot is discarded.
    /// Wait-free, no allocation.
    pub fn take(&self, generation: u32, chunk: u32, out: &mut [T]) -> Option<usize> {
        let slot = &self.shared.slots[chunk as usize % self.shared.slots.len()];
        let state = slot.state.load(self.shared.take);
        if state & 3 != READY {
            return None;
        }
        if state != ready(generation, chunk) {
            if ((state >> 34) as u32) != generation {
                // Stale (before a seek): drop it so the producer can reuse the slot.
                let _ =
                    slot.state
                        .compare_exchange(state, EMPTY, Ordering::Relaxed, Ordering::Relaxed);
            }
            return None;
        }
        slot.state
            .compare_exchange(state, READING, self.shared.take, Ordering::Relaxed)
            .ok()?;
        let n = slot.samples.with_mut(|v| {
            // SAFETY: this consumer owns the slot (state READING) until the store below.
            let v = unsafe { &*v };
            let n = v.len().min(out.len());
            out[..n].copy_from_slice(&v[..n]);
            n
        });
        slot.state.store(EMPTY, Ordering::Release);
        Some(n)
    }
}
