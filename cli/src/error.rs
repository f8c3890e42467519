//! One-line errors for a person at a terminal, and cancellation by Ctrl-C.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Why a command failed: a one-line message (no trailing period, no newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// Something a person can fix: a missing file, a bad option, an unreadable format.
    Message(String),
    /// Ctrl-C: stop, clean up, exit 130.
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

/// The process-wide cancel flag, set by Ctrl-C.
pub fn cancel_flag() -> &'static AtomicBool {
    &CANCEL
}

/// `Err(Interrupted)` once Ctrl-C was pressed.
pub fn check_cancel() -> Result<()> {
    if CANCEL.load(Ordering::Relaxed) {
        Err(CliError::Interrupted)
    } else {
        Ok(())
    }
}

/// Installs the Ctrl-C handler: the first press asks every job to stop (they remove their
/// temporary files and return); a second press removes the temporary files and exits at once.
pub fn install_ctrlc() {
    let _ = ctrlc::set_handler(|| {
        CANCEL.store(true, Ordering::SeqCst);
        if PRESSES.fetch_add(1, Ordering::SeqCst) >= 1 {
            let pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
            for p in pending.iter() {
                let _ = std::fs::remove_file(p);
            }
            eprintln!("error: interrupted");
            std::process::exit(130);
        }
    });
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
