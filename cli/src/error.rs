//! One-line errors for a person at a terminal, cancellation by Ctrl-C (or SIGTERM/SIGHUP), and
//! panics contained into errors.

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Why a command failed: a one-line message (no trailing period, no newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// Something a person can fix: a missing file, a bad option, an unreadable format.
    Message(String),
    /// Ctrl-C, SIGTERM or SIGHUP: stop, clean up, exit 130.
    Interrupted,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Message(m) => f.write_str(m),
            Self::Interrupted => f.write_str("interrupted"),
        }
    }
}

/// Result of the command's steps.
pub type Result<T> = std::result::Result<T, CliError>;

/// Builds a [`CliError::Message`] with `format!` syntax.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { $crate::error::CliError::Message(format!($($arg)*)) };
}

/// `path` as a person reads it (quoted).
pub fn shown(path: &Path) -> String {
    format!("'{}'", path.display())
}

/// An I/O error as a short phrase ("No such file or directory").
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    // std appends " (os error N)"; a person does not need the number.
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

static CANCEL: AtomicBool = AtomicBool::new(false);
static PRESSES: AtomicUsize = AtomicUsize::new(0);
/// Temporary files being written; removed if the user insists on stopping (second Ctrl-C).
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The process-wide cancel flag, set by Ctrl-C, SIGTERM or SIGHUP.
pub fn cancel_flag() -> &'static AtomicBool {
    &CANCEL
}

/// `Err(Interrupted)` once Ctrl-C was pressed (or SIGTERM/SIGHUP received).
pub fn check_cancel() -> Result<()> {
    if CANCEL.load(Ordering::Relaxed) {
        Err(CliError::Interrupted)
    } else {
        Ok(())
    }
}

/// Installs the handler of SIGINT (Ctrl-C), SIGTERM and SIGHUP: the first signal asks every job
/// to stop (they remove their temporary files and return); a second one removes the temporary
/// files and exits at once.
pub fn install_ctrlc() {
    let _ = ctrlc::set_handler(|| {
        CANCEL.store(true, Ordering::SeqCst);
        if PRESSES.fetch_add(1, Ordering::SeqCst) >= 1 {
            let pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
            for p in pending.iter() {
                let _ = std::fs::remove_file(p);
            }
            // After SIGHUP the terminal may be gone: a failed write must not stop the exit.
            let _ = writeln!(std::io::stderr(), "error: interrupted");
            std::process::exit(130);
        }
    });
}

thread_local! {
    /// Depth of [`contain`] calls on this thread.
    static CONTAINED: Cell<usize> = const { Cell::new(0) };
}
/// Live [`QuietPanics`] guards.
static QUIET: AtomicUsize = AtomicUsize::new(0);

/// Installs a panic hook that prints nothing for panics inside [`contain`] (or on any thread
/// while a [`QuietPanics`] lives): they are reported as errors instead. Other panics keep the
/// previous hook's behaviour.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if CONTAINED.with(Cell::get) == 0 && QUIET.load(Ordering::SeqCst) == 0 {
            previous(info);
        }
    }));
}

/// Runs `f`; a panic inside it becomes `Err(its message)`, printed by nobody.
pub fn contain<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    CONTAINED.with(|c| c.set(c.get() + 1));
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(c.get() - 1));
    result.map_err(|p| panic_message(p.as_ref()))
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// While alive, panics on every thread print nothing (batch: a file's failure, panics of the
/// library's worker threads included, is reported in its row of the summary).
pub struct QuietPanics(());

impl QuietPanics {
    /// Silences the panic hook until dropped.
    pub fn start() -> Self {
        QUIET.fetch_add(1, Ordering::SeqCst);
        Self(())
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        QUIET.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) fn register_pending(path: &Path) {
    PENDING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(path.to_path_buf());
}

pub(crate) fn unregister_pending(path: &Path) {
    let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    pending.retain(|p| p != path);
}

/// `println!` that ignores a closed stdout (`tonecore demo | head` must not panic; the files are
/// still written completely).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
