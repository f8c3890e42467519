//! Engine events and their delivery to subscribers on the engine's dispatcher thread.
//!
//! Emitters (control calls, job workers — never the audio path) number each event and queue it;
//! one dispatcher thread delivers the queue in order. Stream events are numbered under the stream
//! registry lock and a job's `JobFinished` under the job lock before its final state is visible,
//! so a stream is always reported opened before closed, and a host that waited for a job and then
//! flushed the events has seen its end. Each subscription gets an event at most
//! once (exactly once when it is subscribed from before the event was emitted until after it was
//! delivered). A subscription's callbacks run one at a time under its own gate; `unsubscribe`
//! clears the subscription's live flag and then passes through the gate, so when it returns no
//! call is running and none will start. A callback that panics or reports failure is counted.

use super::{EngineError, JobState};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::{JoinHandle, ThreadId};

/// What happened.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A stream was opened (`id`, `key`).
    StreamOpened = 1,
    /// A stream was closed or replaced (`id` is the old stream; `replaced` tells which).
    StreamClosed = 2,
    /// A job finished a chunk (`done` of `total`).
    JobProgress = 4,
    /// A job ended (`outcome`).
    JobFinished = 8,
}

/// Subscription mask selecting every event kind.
pub const ALL_EVENTS: u32 = 1 | 2 | 4 | 8;

/// One engine event.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Event {
    /// Emission number, strictly increasing across the engine (from 1).
    pub seq: u64,
    /// What happened.
    pub kind: EventKind,
    /// The stream or job id.
    pub id: u64,
    /// The stream's key, or the job's key (0 when it has none).
    pub key: u64,
    /// Job progress: chunks done.
    pub done: u64,
    /// Job progress: chunks in all.
    pub total: u64,
    /// Stream closed: whether a new stream for the same key replaced it.
    pub replaced: bool,
    /// Job finished: how it ended.
    pub outcome: Option<JobState>,
}

impl Event {
    pub(crate) fn new(kind: EventKind, id: u64, key: u64) -> Self {
        Self {
            seq: 0,
            kind,
            id,
            key,
            done: 0,
            total: 0,
            replaced: false,
            outcome: None,
        }
    }
}

/// A subscriber's callback; returns `false` to report that it failed.
pub(crate) type Callback = Box<dyn Fn(&Event) -> bool + Send + Sync>;

struct Subscription {
    token: u64,
    mask: u32,
    /// Events numbered below this were emitted before the subscription existed.
    from_seq: u64,
    callback: Callback,
    live: AtomicBool,
    gate: Mutex<()>,
}

enum Message {
    Event(Event),
    Flush(Sender<()>),
    Stop,
}

/// Subscriptions, the event queue and the dispatcher thread of one engine.
pub(crate) struct EventHub {
    subs: Mutex<Vec<Arc<Subscription>>>,
    /// The queue's sender; `None` once stopped. Events are numbered under this lock, so queue
    /// order is number order.
    queue: Mutex<(Option<Sender<Message>>, u64)>,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
    dispatcher_id: OnceLock<ThreadId>,
    next_token: AtomicU64,
    token_tag: u64,
    pub invoked: AtomicU64,
    pub errors: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl EventHub {
    /// Starts the dispatcher thread. Tokens carry `tag` in their top 16 bits.
    pub fn start(tag: u64) -> Result<Arc<Self>, crate::ConfigError> {
        let (tx, rx) = channel();
        let hub = Arc::new(Self {
            subs: Mutex::new(Vec::new()),
            queue: Mutex::new((Some(tx), 0)),
            dispatcher: Mutex::new(None),
            dispatcher_id: OnceLock::new(),
            next_token: AtomicU64::new(1),
            token_tag: tag,
            invoked: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        });
        let worker = hub.clone();
        let handle = std::thread::Builder::new()
            .name("tonecore-events".into())
            .spawn(move || worker.run(rx))
            .map_err(|_| crate::ConfigError::ThreadPool)?;
        let _ = hub.dispatcher_id.set(handle.thread().id());
        *lock(&hub.dispatcher) = Some(handle);
        Ok(hub)
    }

    fn run(&self, rx: Receiver<Message>) {
        for message in rx {
            match message {
                Message::Event(e) => self.deliver(&e),
                Message::Flush(done) => {
                    let _ = done.send(());
                }
                Message::Stop => break,
            }
        }
    }

    fn deliver(&self, e: &Event) {
        let subs = lock(&self.subs).clone();
        for s in subs {
            if s.mask & e.kind as u32 == 0 || e.seq < s.from_seq {
                continue;
            }
            let _gate = lock(&s.gate);
            if !s.live.load(Ordering::Acquire) {
                continue;
            }
            self.invoked.fetch_add(1, Ordering::Relaxed);
            let ok = catch_unwind(AssertUnwindSafe(|| (s.callback)(e))).unwrap_or(false);
            if !ok {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Queues `event` for delivery (numbering it). Dropped silently once stopped.
    pub fn emit(&self, mut event: Event) {
        let mut q = lock(&self.queue);
        q.1 += 1;
        event.seq = q.1;
        if let Some(tx) = &q.0 {
            let _ = tx.send(Message::Event(event));
        }
    }

    /// Events emitted so far.
    pub fn emitted(&self) -> u64 {
        lock(&self.queue).1
    }

    /// Adds a subscription; it receives events emitted from now on.
    pub fn subscribe(&self, mask: u32, callback: Callback) -> u64 {
        let token = self.token_tag | self.next_token.fetch_add(1, Ordering::Relaxed);
        // Holding the queue lock fixes which events are "from now on".
        let q = lock(&self.queue);
        let sub = Arc::new(Subscription {
            token,
            mask,
            from_seq: q.1 + 1,
            callback,
            live: AtomicBool::new(true),
            gate: Mutex::new(()),
        });
        lock(&self.subs).push(sub);
        drop(q);
        token
    }

    /// Removes a subscription; when this returns its callback is not running and never runs
    /// again. From inside a callback (on the dispatcher thread) it returns at once: the running
    /// call is the caller's own.
    ///
    /// # Errors
    /// [`EngineError::StaleId`] for an unknown (or already removed) token.
    pub fn unsubscribe(&self, token: u64) -> Result<(), EngineError> {
        let sub = {
            let mut subs = lock(&self.subs);
            let at = subs
                .iter()
                .position(|s| s.token == token)
                .ok_or(EngineError::StaleId)?;
            subs.swap_remove(at)
        };
        sub.live.store(false, Ordering::Release);
        if !self.on_dispatcher() {
            drop(lock(&sub.gate));
        }
        Ok(())
    }

    /// Live subscriptions.
    pub fn subscriptions(&self) -> usize {
        lock(&self.subs).len()
    }

    fn on_dispatcher(&self) -> bool {
        self.dispatcher_id.get() == Some(&std::thread::current().id())
    }

    /// Waits until every event emitted before this call was delivered.
    ///
    /// # Errors
    /// [`EngineError::InUse`] when called from a callback (it would wait for itself).
    pub fn flush(&self) -> Result<(), EngineError> {
        if self.on_dispatcher() {
            return Err(EngineError::InUse);
        }
        let (tx, rx) = channel();
        {
            let q = lock(&self.queue);
            match &q.0 {
                Some(queue) => {
                    let _ = queue.send(Message::Flush(tx));
                }
                None => return Ok(()),
            }
        }
        let _ = rx.recv();
        Ok(())
    }

    /// Delivers what is queued, then stops and joins the dispatcher.
    pub fn stop(&self) {
        if let Some(tx) = lock(&self.queue).0.take() {
            let _ = tx.send(Message::Stop);
        }
        let handle = lock(&self.dispatcher).take();
        if let Some(handle) = handle {
            if !self.on_dispatcher() {
                let _ = handle.join();
            }
        }
        lock(&self.subs).clear();
    }
}
