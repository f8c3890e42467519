//! Wait-free handoff of values from control threads to the audio thread, with old values sent
//! back to be dropped on a control thread.
//!
//! The core is a triple buffer: three slots, one owned by the writer, one by the reader, one in
//! the middle; publishing and taking are one atomic swap each (wait-free, no allocation). On top
//! of it, a [`Sender`] / [`Receiver`] pair moves *mail*: the newest value (older unread values are
//! overwritten, and dropped on the sender's thread) plus, on the way back, values the receiver
//! has retired. The receiver never drops a value itself: retired values ride back inside the
//! mail slots and are dropped by the sender when it overwrites them.
//!
//! Model-checked with loom (`src/loom_tests.rs`, `make test-loom`).

use crate::sync::{fence, Arc, AtomicU64, AtomicU8, Ordering, UnsafeCell};

const DIRTY: u8 = 0b100;
const INDEX: u8 = 0b011;

struct Shared<T> {
    slots: [UnsafeCell<T>; 3],
    /// Index of the middle slot, plus `DIRTY` when it holds data the reader has not taken.
    middle: AtomicU8,
    /// The ordering of both swaps; `AcqRel` except in the loom mutant test.
    order: Ordering,
}

// SAFETY: each slot is accessed only by the side whose private index names it; indices change
// hands through the AcqRel swap on `middle`, which orders every access before the handover.
unsafe impl<T: Send> Sync for Shared<T> {}
unsafe impl<T: Send> Send for Shared<T> {}

/// The writing side of a triple buffer.
pub(crate) struct TripleWriter<T> {
    shared: Arc<Shared<T>>,
    back: u8,
}

/// The reading side of a triple buffer.
pub(crate) struct TripleReader<T> {
    shared: Arc<Shared<T>>,
    front: u8,
}

/// Creates a triple buffer whose three slots start as clones of `initial`.
pub(crate) fn triple_buffer<T: Clone + Send>(initial: T) -> (TripleWriter<T>, TripleReader<T>) {
    triple_buffer_with_order(initial, Ordering::AcqRel)
}

/// [`triple_buffer`] with a chosen swap ordering: only for the loom test that checks a weakened
/// ordering is caught.
pub(crate) fn triple_buffer_with_order<T: Clone + Send>(
    initial: T,
    order: Ordering,
) -> (TripleWriter<T>, TripleReader<T>) {
    let shared = Arc::new(Shared {
        slots: [
            UnsafeCell::new(initial.clone()),
            UnsafeCell::new(initial.clone()),
            UnsafeCell::new(initial),
        ],
        middle: AtomicU8::new(1),
        order,
    });
    (
        TripleWriter {
            shared: shared.clone(),
            back: 0,
        },
        TripleReader { shared, front: 2 },
    )
}

impl<T> TripleWriter<T> {
    /// Runs `f` on the writer's private slot. Wait-free.
    pub(crate) fn with_back<R>(&mut self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: `back` is owned by this writer until `publish` hands it over.
        self.shared.slots[self.back as usize].with_mut(|p| f(unsafe { &mut *p }))
    }

    /// Makes the private slot the newest value and takes the old middle slot. Wait-free.
    pub(crate) fn publish(&mut self) {
        let previous = self
            .shared
            .middle
            .swap(self.back | DIRTY, self.shared.order);
        self.back = previous & INDEX;
    }
}

impl<T> TripleReader<T> {
    /// Takes the newest published slot if there is one. Wait-free.
    pub(crate) fn update(&mut self) -> bool {
        if self.shared.middle.load(Ordering::Relaxed) & DIRTY == 0 {
            return false;
        }
        let previous = self.shared.middle.swap(self.front, self.shared.order);
        self.front = previous & INDEX;
        true
    }

    /// Runs `f` on the reader's private slot. Wait-free.
    pub(crate) fn with_front<R>(&mut self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: `front` is owned by this reader until `update` hands it over.
        self.shared.slots[self.front as usize].with_mut(|p| f(unsafe { &mut *p }))
    }
}

/// How many retired values the receiver can hold between two pieces of mail.
pub const RETIRE_CAPACITY: usize = 4;

/// One slot's content: a new value on the way in, retired values on the way back.
pub(crate) struct Mail<T> {
    value: Option<T>,
    retired: [Option<T>; RETIRE_CAPACITY],
}

impl<T> Clone for Mail<T> {
    fn clone(&self) -> Self {
        Self::empty()
    }
}

impl<T> Mail<T> {
    fn empty() -> Self {
        Self {
            value: None,
            retired: std::array::from_fn(|_| None),
        }
    }
}

/// The control side: sends new values. Not `Sync`; wrap it in a `Mutex` to share it among
/// control threads (the audio side never takes that lock).
pub struct Sender<T: Send> {
    writer: TripleWriter<Mail<T>>,
}

/// The audio side: receives the newest value and retires old ones. Wait-free, no allocation,
/// never drops a `T`.
pub struct Receiver<T: Send> {
    reader: TripleReader<Mail<T>>,
    stash: [Option<T>; RETIRE_CAPACITY],
}

/// Creates a connected sender/receiver pair. Allocates (control path).
pub fn mailbox<T: Send>() -> (Sender<T>, Receiver<T>) {
    let (writer, reader) = triple_buffer(Mail::empty());
    (
        Sender { writer },
        Receiver {
            reader,
            stash: std::array::from_fn(|_| None),
        },
    )
}

/// A mailbox whose swaps use `order` (loom mutant test only).
#[cfg(all(test, loom))]
pub fn mailbox_with_order<T: Send>(order: Ordering) -> (Sender<T>, Receiver<T>) {
    let (writer, reader) = triple_buffer_with_order(Mail::empty(), order);
    (
        Sender { writer },
        Receiver {
            reader,
            stash: std::array::from_fn(|_| None),
        },
    )
}

impl<T: Send> Sender<T> {
    /// Publishes `value` as the newest. An older value the receiver never took, and values the
    /// receiver retired, are dropped here, on the sender's thread.
    pub fn send(&mut self, value: T) {
        self.writer.with_back(|mail| {
            *mail = Mail {
                value: Some(value),
                retired: std::array::from_fn(|_| None),
            }
        });
        self.writer.publish();
    }
}

impl<T: Send> Receiver<T> {
    /// The newest value sent since the last call, if any. Values retired since the last mail are
    /// handed back in the same swap. Wait-free; never allocates or drops a `T`.
    pub fn receive(&mut self) -> Option<T> {
        if !self.reader.update() {
            return None;
        }
        let stash = &mut self.stash;
        self.reader.with_front(|mail| {
            for (slot, stashed) in mail.retired.iter_mut().zip(stash.iter_mut()) {
                // The incoming mail's retired slots are empty, so nothing is dropped here.
                debug_assert!(slot.is_none());
                std::mem::swap(slot, stashed);
            }
            mail.value.take()
        })
    }

    /// Queues `old` to be dropped on the sender's thread (it leaves with the next `receive`).
    ///
    /// # Errors
    /// Gives `old` back when [`RETIRE_CAPACITY`] values are already waiting; the caller keeps it
    /// and retries after the next `receive`.
    pub fn retire(&mut self, old: T) -> Result<(), T> {
        match self.stash.iter_mut().find(|s| s.is_none()) {
            Some(slot) => {
                *slot = Some(old);
                Ok(())
            }
            None => Err(old),
        }
    }
}

/// A sequence lock over `W` words: one writer publishes whole snapshots wait-free; readers
/// retry until they copy a snapshot no write overlapped, so every read is consistent (all words
/// from the same write). Words are atomics, so a racing read is never undefined behaviour, only
/// retried.
pub struct SeqLock<const W: usize> {
    seq: AtomicU64,
    words: [AtomicU64; W],
    /// Always true except in the loom mutant test, which drops both fences.
    fences: bool,
}

impl<const W: usize> Default for SeqLock<W> {
    fn default() -> Self {
        Self::build(true)
    }
}

impl<const W: usize> SeqLock<W> {
    /// A lock without its two fences: broken on purpose, for the loom mutant test only.
    #[cfg(all(test, loom))]
    pub fn without_fences() -> Self {
        Self::build(false)
    }

    fn build(fences: bool) -> Self {
        Self {
            seq: AtomicU64::new(0),
            words: std::array::from_fn(|_| AtomicU64::new(0)),
            fences,
        }
    }

    /// Publishes a snapshot. Single writer only; wait-free (no loop, no allocation).
    pub fn write(&self, values: &[u64; W]) {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        if self.fences {
            fence(Ordering::Release);
        }
        for (w, v) in self.words.iter().zip(values) {
            w.store(*v, Ordering::Relaxed);
        }
        self.seq.store(s.wrapping_add(2), Ordering::Release);
    }

    /// Copies a consistent snapshot, retrying while a write overlaps; `None` after `attempts`
    /// overlapped tries.
    pub fn try_read(&self, attempts: usize) -> Option<[u64; W]> {
        for _ in 0..attempts {
            let before = self.seq.load(Ordering::Acquire);
            if before % 2 == 1 {
                crate::sync::spin();
                continue;
            }
            let values: [u64; W] = std::array::from_fn(|i| self.words[i].load(Ordering::Relaxed));
            if self.fences {
                fence(Ordering::Acquire);
            }
            if self.seq.load(Ordering::Relaxed) == before {
                return Some(values);
            }
            crate::sync::spin();
        }
        None
    }

    /// Copies a consistent snapshot, retrying until no write overlaps. Lock-free (a writer that
    /// never pauses could delay it; the audio writer publishes once per block).
    pub fn read(&self) -> [u64; W] {
        loop {
            if let Some(v) = self.try_read(64) {
                return v;
            }
            crate::sync::yield_now();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    static DROPS: AtomicUsize = AtomicUsize::new(0);

    #[derive(Debug, PartialEq)]
    struct Tracked(u32, std::thread::ThreadId);
    impl Drop for Tracked {
        fn drop(&mut self) {
            // Every drop must happen on the thread that created the value (the sender's).
            assert_eq!(
                self.1,
                std::thread::current().id(),
                "dropped on the wrong thread"
            );
            DROPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[test]
    fn newest_value_wins_and_retired_values_drop_on_the_sender() {
        let (mut tx, rx) = mailbox::<Tracked>();
        let receiver = std::thread::spawn(move || {
            let mut rx = rx;
            let mut seen = Vec::new();
            let mut current: Option<Tracked> = None;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while std::time::Instant::now() < deadline {
                if let Some(v) = rx.receive() {
                    seen.push(v.0);
                    if let Some(old) = current.replace(v) {
                        rx.retire(old).expect("room");
                    }
                    if seen.last() == Some(&999) {
                        break;
                    }
                }
                std::hint::spin_loop();
            }
            // Hand everything back instead of dropping it here.
            if let Some(c) = current.take() {
                let _ = rx.retire(c);
            }
            (seen, rx)
        });
        let me = std::thread::current().id();
        for i in 0..1000 {
            tx.send(Tracked(i, me));
        }
        let (seen, rx) = receiver.join().unwrap();
        assert_eq!(seen.last(), Some(&999));
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "values arrive in order"
        );
        drop(rx);
        drop(tx);
    }
}
