//! Model checks of the hand-written lock-free code with loom: the mailbox and seqlock
//! (`handoff`), the tail buffer (`render::tail`) and the engine's stream slot (`engine::slot`).
//! Inside the crate because those are internals (`pub(crate)`).
//!
//! Run: `make test-loom` (`RUSTFLAGS="--cfg loom" cargo test --release --lib loom_tests`).

use crate::handoff::{mailbox, mailbox_with_order, Receiver};
use loom::sync::atomic::Ordering;
use loom::thread;

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Drains a receiver: every value it takes is checked to be whole and then retired.
fn consume(rx: &mut Receiver<Box<[u64; 4]>>, takes: usize) -> Vec<u64> {
    let mut seen = Vec::new();
    for _ in 0..takes {
        if let Some(v) = rx.receive() {
            // Never torn: every word of one value carries the same number.
            assert!(v.iter().all(|&w| w == v[0]), "torn value {v:?}");
            seen.push(v[0]);
            rx.retire(v).expect("room to retire");
        }
        thread::yield_now();
    }
    seen
}

#[test]
fn values_arrive_whole_in_order_and_retired_values_go_back() {
    loom::model(|| {
        let (mut tx, mut rx) = mailbox::<Box<[u64; 4]>>();
        let reader = thread::spawn(move || {
            let seen = consume(&mut rx, 3);
            assert!(
                seen.windows(2).all(|w| w[0] < w[1]),
                "out of order: {seen:?}"
            );
            rx
        });
        tx.send(Box::new([1; 4]));
        tx.send(Box::new([2; 4]));
        let mut rx = reader.join().unwrap();
        // The newest value is never lost: it is either taken already or still waiting.
        let _ = rx.receive();
        drop(tx);
    });
}

#[test]
fn a_weakened_ordering_is_caught() {
    let result = std::panic::catch_unwind(|| {
        loom::model(|| {
            let (mut tx, mut rx) = mailbox_with_order::<Box<[u64; 4]>>(Ordering::Relaxed);
            let reader = thread::spawn(move || {
                consume(&mut rx, 2);
                rx
            });
            tx.send(Box::new([1; 4]));
            tx.send(Box::new([2; 4]));
            let _rx = reader.join().unwrap();
        });
    });
    assert!(
        result.is_err(),
        "loom must report the Relaxed swap as a causality violation"
    );
}

fn seqlock_model(fences: bool) {
    use crate::handoff::SeqLock;
    use loom::sync::Arc;
    loom::model(move || {
        let lock = Arc::new(if fences {
            SeqLock::<3>::default()
        } else {
            SeqLock::<3>::without_fences()
        });
        let writer = {
            let lock = lock.clone();
            thread::spawn(move || {
                for k in 1..=2u64 {
                    lock.write(&[k, 2 * k, 3 * k]);
                }
            })
        };
        if let Some(v) = lock.try_read(2) {
            assert!(v[1] == 2 * v[0] && v[2] == 3 * v[0], "torn snapshot {v:?}");
        }
        writer.join().unwrap();
        assert_eq!(lock.try_read(1), Some([2, 4, 6]));
    });
}

#[test]
fn seqlock_snapshots_are_never_torn() {
    seqlock_model(true);
}

#[test]
fn seqlock_without_fences_is_caught() {
    let result = std::panic::catch_unwind(|| seqlock_model(false));
    let message = panic_message(result.expect_err("loom must find a torn snapshot without fences"));
    assert!(
        message.contains("torn snapshot"),
        "unexpected failure: {message}"
    );
}

fn tail_model(weak: bool) {
    use crate::render::tail::tail_buffer_with_order;
    loom::model(move || {
        let (publish, take) = if weak {
            (Ordering::Relaxed, Ordering::Relaxed)
        } else {
            (Ordering::Release, Ordering::Acquire)
        };
        let (producer, consumer) = tail_buffer_with_order::<f64>(2, 3, publish, take);
        let writer = thread::spawn(move || {
            // Generation 0, chunk 0; then, after a seek, generation 1, chunk 5.
            for (g, k) in [(0u32, 0u32), (1, 5)] {
                if let Some(mut w) = producer.reserve(g, k) {
                    let tag = f64::from(g * 100 + k);
                    w.write(&[tag, tag, tag]);
                    w.commit();
                }
            }
        });
        let mut out = [0.0f64; 3];
        let mut got = Vec::new();
        for (g, k) in [(0u32, 0u32), (1, 5), (1, 5)] {
            if let Some(n) = consumer.take(g, k, &mut out) {
                let tag = f64::from(g * 100 + k);
                assert!(
                    n == 3 && out.iter().all(|&v| v == tag),
                    "torn tail {out:?} for ({g}, {k})"
                );
                got.push((g, k));
            }
            thread::yield_now();
        }
        assert!(
            got.windows(2).all(|w| w[0] != w[1]),
            "a tail was taken twice: {got:?}"
        );
        writer.join().unwrap();
    });
}

#[test]
fn tails_are_whole_tagged_and_taken_once() {
    tail_model(false);
}

#[test]
fn a_weakened_tail_publish_is_caught() {
    let result = std::panic::catch_unwind(|| tail_model(true));
    let message = panic_message(result.expect_err("loom must catch the Relaxed publish"));
    assert!(
        message.contains("ausality") || message.contains("torn"),
        "unexpected failure: {message}"
    );
}

/// An audio holder reads its occupant while a closer retires (and replaces) it: the holder
/// either enters before the retire and finishes before the objects move, or is refused as
/// stale; a new occupant is reached only with the new generation.
fn slot_model(order: Ordering) {
    use crate::engine::slot::{Slot, SlotError};
    loom::model(move || {
        let slot = loom::sync::Arc::new(Slot::<Box<[u64; 2]>, u64>::with_leave_order(order));
        let g = slot.install(Box::new([1, 1]), 1).ok().unwrap();
        let reader = {
            let slot = slot.clone();
            thread::spawn(move || {
                let r = slot.with_audio(g, |a| {
                    a[0] += 1;
                    a[1] += 1;
                    a[0]
                });
                match r {
                    Ok(v) => assert_eq!(v, 2),
                    Err(e) => assert_eq!(e, SlotError::Stale),
                }
            })
        };
        let (old, c, next) = slot.retire(g, Some((Box::new([7, 7]), 7))).ok().unwrap();
        // The old occupant is whole: untouched, or touched once by a holder that had finished.
        assert!(old[0] == old[1] && (old[0] == 1 || old[0] == 2), "{old:?}");
        assert_eq!(c, 1);
        assert_eq!(slot.with_audio(g, |a| a[0]), Err(SlotError::Stale));
        reader.join().unwrap();
        assert_eq!(slot.with_shared(next, |c| *c), Ok(7));
        assert_eq!(slot.with_audio(next, |a| a[0]), Ok(7));
    });
}

#[test]
fn slot_holders_never_overlap_a_retire_and_stale_ids_never_reach_the_new_occupant() {
    slot_model(Ordering::Release);
}

#[test]
fn a_relaxed_slot_release_is_caught() {
    let result = std::panic::catch_unwind(|| slot_model(Ordering::Relaxed));
    let message = panic_message(result.expect_err("loom accepted a holder leaving with Relaxed"));
    assert!(
        message.contains("race") || message.contains("Causality"),
        "unexpected failure: {message}"
    );
}
