//! Where parallel work runs: on the caller's thread, on rayon's global pool, or on a shared pool
//! of a requested size (built once per size and kept for the life of the process).

use crate::ConfigError;
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

pub use crate::limits::MAX_THREADS;

/// An execution choice for parallel work.
#[derive(Clone)]
pub enum Workers {
    /// Everything runs on the calling thread, in order.
    Caller,
    /// rayon's global pool (one thread per core).
    Global,
    /// A shared pool with a fixed number of threads.
    Pool(Arc<ThreadPool>),
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Caller => f.write_str("Caller"),
            Self::Global => f.write_str("Global"),
            Self::Pool(p) => write!(f, "Pool({})", p.current_num_threads()),
        }
    }
}

impl Workers {
    /// `0` → all cores (rayon's global pool), `1` → the caller's thread, `n` → a shared pool of
    /// `n` threads.
    ///
    /// # Errors
    /// [`ConfigError::TooManyThreads`] above [`MAX_THREADS`]; [`ConfigError::ThreadPool`] when the
    /// operating system refuses the threads.
    pub fn from_count(threads: usize) -> Result<Self, ConfigError> {
        match threads {
            0 => Ok(Self::Global),
            1 => Ok(Self::Caller),
            n if n > MAX_THREADS => Err(ConfigError::TooManyThreads),
            n => {
                static POOLS: OnceLock<Mutex<HashMap<usize, Arc<ThreadPool>>>> = OnceLock::new();
                let mut pools = POOLS
                    .get_or_init(Default::default)
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if let Some(pool) = pools.get(&n) {
                    return Ok(Self::Pool(pool.clone()));
                }
                let pool = ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(move |i| format!("tonecore-{n}-{i}"))
                    .build()
                    .map_err(|_| ConfigError::ThreadPool)?;
                let pool = Arc::new(pool);
                pools.insert(n, pool.clone());
                Ok(Self::Pool(pool))
            }
        }
    }

    /// How many threads work runs on.
    pub fn count(&self) -> usize {
        match self {
            Self::Caller => 1,
            Self::Global => rayon::current_num_threads(),
            Self::Pool(p) => p.current_num_threads(),
        }
    }

    /// Runs `f` inside this choice's pool (directly for `Caller` and `Global`).
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match self {
            Self::Caller | Self::Global => f(),
            Self::Pool(p) => p.install(f),
        }
    }
}
