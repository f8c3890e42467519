//! A generation-checked slot holding one stream, reachable by id from any thread without locks.
//!
//! One atomic word per slot holds the slot's generation (upper 32 bits) and its state: `LIVE`,
//! `CLOSING`, an exclusive `AUDIO` holder flag and a count of shared (control) holders. A caller
//! presents the generation from its id:
//!
//! - [`Slot::with_audio`] (the audio thread's read) enters only while the generation matches,
//!   the slot is live and not closing, and no other audio holder is inside; it never waits.
//! - [`Slot::with_shared`] (seek, stats, pause) enters under the same conditions, alongside other
//!   shared holders and the audio holder.
//! - [`Slot::retire`] marks the slot closing (new holders are refused from then on), waits for
//!   the holders inside to leave (their calls are short and never block), takes the objects out
//!   and bumps the generation — so every id of the old occupant is stale from that instant,
//!   whether the slot is then freed or given to a replacement.
//!
//! A stale id can therefore never reach the new occupant's objects, and the objects are never
//! taken while a holder uses them. `src/loom_tests.rs` model-checks the protocol, including
//! a mutant with a weakened release ordering that loom must catch.

use crate::sync::{AtomicU64, Ordering, UnsafeCell};

const LIVE: u64 = 1;
const CLOSING: u64 = 1 << 1;
const AUDIO: u64 = 1 << 2;
const SHARED_ONE: u64 = 1 << 8;
const SHARED_MASK: u64 = 0x00ff_ff00;
const STATE_MASK: u64 = 0xffff_ffff;

/// Why a slot refused a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotError {
    /// The generation does not match, or the slot is free or closing: the id is stale.
    Stale,
    /// Another audio holder is inside (or the shared count is saturated).
    InUse,
}

fn generation_of(word: u64) -> u32 {
    (word >> 32) as u32
}

fn word(generation: u32, state: u64) -> u64 {
    ((generation as u64) << 32) | state
}

/// A slot with an audio-side object `A` (used by one holder at a time) and a control-side
/// object `C` (shared by any number of holders).
pub struct Slot<A, C> {
    word: AtomicU64,
    audio: UnsafeCell<Option<A>>,
    control: UnsafeCell<Option<C>>,
    /// Ordering with which holders leave (`Release`; weaker only in the loom mutant).
    leave: Ordering,
}

// SAFETY: `audio` is only touched by the single audio holder or by the owner after every
// holder left (the state word arbitrates); `control` is shared immutably by holders (so `C`
// must be Sync) and touched mutably only by the owner after every holder left.
unsafe impl<A: Send, C: Send + Sync> Sync for Slot<A, C> {}
unsafe impl<A: Send, C: Send> Send for Slot<A, C> {}

impl<A, C> Default for Slot<A, C> {
    fn default() -> Self {
        Self::new()
    }
}

struct Leave<'a> {
    word: &'a AtomicU64,
    bits: u64,
    order: Ordering,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        // Runs on unwind too, so a panicking holder cannot wedge `retire`.
        self.word.fetch_sub(self.bits, self.order);
    }
}

impl<A, C> Slot<A, C> {
    /// A free slot at generation 0.
    pub fn new() -> Self {
        Self::with_leave_order(Ordering::Release)
    }

    /// A slot whose holders leave with `order`. Only for the loom test's mutant: anything
    /// weaker than `Release` is a bug that the model check must catch.
    pub fn with_leave_order(leave: Ordering) -> Self {
        Self {
            word: AtomicU64::new(0),
            audio: UnsafeCell::new(None),
            control: UnsafeCell::new(None),
            leave,
        }
    }

    /// Whether an occupant lives here (not free, not closing).
    #[cfg(all(test, not(loom)))]
    pub fn is_live(&self) -> bool {
        self.word.load(Ordering::Acquire) & (LIVE | CLOSING) == LIVE
    }

    fn enter(&self, generation: u32, bits: u64, exclusive: u64) -> Result<Leave<'_>, SlotError> {
        let mut w = self.word.load(Ordering::Acquire);
        loop {
            if generation_of(w) != generation || w & (LIVE | CLOSING) != LIVE {
                return Err(SlotError::Stale);
            }
            if w & exclusive != 0 || (w & SHARED_MASK) == SHARED_MASK {
                return Err(SlotError::InUse);
            }
            match self
                .word
                .compare_exchange_weak(w, w + bits, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) => {
                    return Ok(Leave {
                        word: &self.word,
                        bits,
                        order: self.leave,
                    })
                }
                Err(now) => w = now,
            }
        }
    }

    /// Runs `f` on the audio-side object of the occupant with `generation`. Wait-free apart from
    /// CAS retries against concurrent holders; never blocks, never allocates.
    ///
    /// # Errors
    /// [`SlotError::Stale`] for another generation or a free/closing slot; [`SlotError::InUse`]
    /// when another audio holder is inside.
    pub fn with_audio<R>(
        &self,
        generation: u32,
        f: impl FnOnce(&mut A) -> R,
    ) -> Result<R, SlotError> {
        let _leave = self.enter(generation, AUDIO, AUDIO)?;
        // SAFETY: the AUDIO bit makes this the only holder of `audio`; the owner touches it only
        // after the bit is clear.
        self.audio.with_mut(|a| match unsafe { (*a).as_mut() } {
            Some(a) => Ok(f(a)),
            None => Err(SlotError::Stale),
        })
    }

    /// Runs `f` on the control-side object of the occupant with `generation`, alongside other
    /// shared holders. Same guarantees as [`with_audio`](Self::with_audio).
    ///
    /// # Errors
    /// As [`with_audio`](Self::with_audio); `InUse` only when 2^16 − 1 holders are inside.
    pub fn with_shared<R>(&self, generation: u32, f: impl FnOnce(&C) -> R) -> Result<R, SlotError> {
        let _leave = self.enter(generation, SHARED_ONE, 0)?;
        // SAFETY: shared holders only read `control`; the owner writes it only after the shared
        // count dropped to zero.
        self.control.with(|c| match unsafe { (*c).as_ref() } {
            Some(c) => Ok(f(c)),
            None => Err(SlotError::Stale),
        })
    }

    /// Puts an occupant into a free slot and returns its generation, or gives the objects back
    /// when the slot is not free.
    ///
    /// # Errors
    /// The objects, when the slot is live or closing.
    pub fn install(&self, audio: A, control: C) -> Result<u32, (A, C)> {
        let w = self.word.load(Ordering::Acquire);
        if w & STATE_MASK != 0
            || self
                .word
                .compare_exchange(w, w | CLOSING, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return Err((audio, control));
        }
        let generation = generation_of(w);
        self.put(audio, control);
        self.word.store(word(generation, LIVE), Ordering::Release);
        Ok(generation)
    }

    fn put(&self, audio: A, control: C) {
        // SAFETY: the caller owns the slot (CLOSING set by it, no holder inside).
        self.audio.with_mut(|a| unsafe { *a = Some(audio) });
        self.control.with_mut(|c| unsafe { *c = Some(control) });
    }

    /// Ends the occupant with `generation`: refuses new holders, waits for the ones inside to
    /// leave, takes its objects and bumps the generation. With `replacement`, the new objects
    /// move in at the new generation (returned) in the same step; otherwise the slot is free.
    ///
    /// Blocks only for as long as holders already inside take (short, non-blocking calls).
    ///
    /// # Errors
    /// [`SlotError::Stale`] (and the replacement back) when the generation does not match or
    /// another retire of this occupant is under way.
    #[allow(clippy::type_complexity)]
    pub fn retire(
        &self,
        generation: u32,
        replacement: Option<(A, C)>,
    ) -> Result<(A, C, u32), (SlotError, Option<(A, C)>)> {
        let mut w = self.word.load(Ordering::Acquire);
        loop {
            if generation_of(w) != generation || w & (LIVE | CLOSING) != LIVE {
                return Err((SlotError::Stale, replacement));
            }
            match self.word.compare_exchange_weak(
                w,
                w | CLOSING,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => w = now,
            }
        }
        let mut spins = 0u32;
        while self.word.load(Ordering::Acquire) & (AUDIO | SHARED_MASK) != 0 {
            spins += 1;
            if spins < 64 {
                crate::sync::spin();
            } else {
                crate::sync::yield_now();
            }
        }
        // SAFETY: CLOSING keeps new holders out and the loop above saw the last one leave.
        let audio = self.audio.with_mut(|a| unsafe { (*a).take() });
        let control = self.control.with_mut(|c| unsafe { (*c).take() });
        let (Some(audio), Some(control)) = (audio, control) else {
            unreachable!("a live slot holds both objects");
        };
        let next = generation.wrapping_add(1);
        let state = match replacement {
            Some((a, c)) => {
                self.put(a, c);
                LIVE
            }
            None => 0,
        };
        self.word.store(word(next, state), Ordering::Release);
        Ok((audio, control, next))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn ids_of_an_old_occupant_are_stale_after_retire_or_replace() {
        let slot = Slot::<Vec<u8>, String>::new();
        let g = slot.install(vec![1], "one".into()).unwrap();
        assert_eq!(slot.with_shared(g, |c| c.clone()), Ok("one".to_string()));
        assert_eq!(slot.with_audio(g, |a| a[0]), Ok(1));
        // A second install into a live slot is refused and hands the objects back.
        assert!(slot.install(vec![9], "nine".into()).is_err());
        let (a, c, g2) = slot.retire(g, Some((vec![2], "two".into()))).unwrap();
        assert_eq!((a, c.as_str(), g2), (vec![1], "one", g + 1));
        assert_eq!(slot.with_audio(g, |a| a[0]), Err(SlotError::Stale));
        assert_eq!(slot.with_audio(g2, |a| a[0]), Ok(2));
        assert!(slot.retire(g, None).is_err());
        let (_, _, g3) = slot.retire(g2, None).unwrap();
        assert!(!slot.is_live());
        assert_eq!(slot.with_shared(g2, |_| ()), Err(SlotError::Stale));
        assert_eq!(slot.install(vec![3], "three".into()).ok(), Some(g3));
    }

    #[test]
    fn a_second_audio_holder_is_refused_but_shared_holders_coexist() {
        let slot = Slot::<u32, u32>::new();
        let g = slot.install(1, 2).unwrap();
        let inner = slot.with_audio(g, |_| {
            (
                slot.with_audio(g, |_| ()),
                slot.with_shared(g, |c| *c),
                slot.with_shared(g, |_| slot.with_shared(g, |c| *c)),
            )
        });
        assert_eq!(inner, Ok((Err(SlotError::InUse), Ok(2), Ok(Ok(2)))));
    }

    #[test]
    fn a_panicking_holder_leaves_the_slot_usable() {
        let slot = Slot::<u32, u32>::new();
        let g = slot.install(1, 2).unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            slot.with_audio(g, |_| panic!("holder panics"))
        }));
        assert!(r.is_err());
        assert_eq!(slot.with_audio(g, |a| *a), Ok(1));
        assert!(slot.retire(g, None).is_ok());
    }
}
