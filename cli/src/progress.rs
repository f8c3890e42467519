//! Progress bars (indicatif) on stderr; they draw only when stderr is a terminal.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

/// Steps of one file's job; each takes an equal share of its bar.
pub const STAGES: u64 = 3;
const STEP: u64 = 1000;

/// One file's bar: decode, render, write. Cleared when dropped.
pub struct FileProgress {
    bar: ProgressBar,
}

impl FileProgress {
    /// A bar drawn on stderr (hidden when stderr is not a terminal or `quiet`).
    pub fn new(label: &str, quiet: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(STAGES * STEP),
            if quiet {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        Self::styled(bar, label)
    }

    /// A bar inside `multi` (for batch).
    pub fn in_multi(multi: &MultiProgress, label: &str) -> Self {
        let bar = multi.add(ProgressBar::new(STAGES * STEP));
        Self::styled(bar, label)
    }

    fn styled(bar: ProgressBar, label: &str) -> Self {
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:<24!} {msg:<7} [{bar:30.cyan/blue}] {percent:>3}%",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Self { bar }
    }

    /// Starts stage `index` (0 decode, 1 render, 2 write).
    pub fn stage(&self, index: u64, name: &'static str) {
        self.bar.set_message(name);
        self.bar.set_position(index * STEP);
    }

    /// Progress `fraction` (0…1) within stage `index`.
    pub fn within(&self, index: u64, fraction: f64) {
        let f = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.bar
            .set_position(index * STEP + (f * STEP as f64) as u64);
    }

    /// Prints `warning: {line}` on stderr above the bar.
    pub fn warn(&self, line: &str) {
        self.bar.suspend(|| warn(line));
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Prints `warning: {line}` on stderr (a closed stderr is ignored).
pub fn warn(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "warning: {line}");
}

impl Drop for FileProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
