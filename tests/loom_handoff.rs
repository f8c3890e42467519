//! Model checks of the wait-free handoff with loom.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test --release --test loom_handoff`
#![cfg(loom)]

use loom::sync::atomic::Ordering;
use loom::thread;
use tonecore::handoff::{mailbox, mailbox_with_order, Receiver};

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
