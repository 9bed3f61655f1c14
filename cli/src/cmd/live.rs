//! A run as it happens, for the commands that train one model for a while: the training cut
//! into segments so that each logged loss is printed when it is reached, a progress bar on a
//! terminal for runs longer than about a second, and Ctrl-C, which stops the run at the end of
//! the segment it is in (the first Ctrl-C; a second one exits at once, still with code 130).

use std::{
    io::{IsTerminal, Write},
    ops::ControlFlow,
    sync::{
        atomic::{AtomicBool, Ordering},
        Once,
    },
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it.
pub const INTERRUPTED_EXIT: u8 = 130;

/// The error of a run that Ctrl-C stopped, after it printed what it reached.
#[derive(Debug)]
pub struct Interrupted {
    /// Epochs completed when it stopped.
    pub epochs: u32,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "interrupted (Ctrl-C) after {} epochs; nothing was written",
            self.epochs
        )
    }
}

impl std::error::Error for Interrupted {}

static STOP: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();

/// A run's live display: its progress bar, and whether Ctrl-C asked it to stop.
pub struct Live {
    bar: ProgressBar,
    shown: AtomicBool,
    start: Instant,
    draw: bool,
}

impl Live {
    /// Starts watching a run of `epochs` epochs; `quiet` (under --json) keeps the bar hidden.
    /// Installs the Ctrl-C handler the first time.
    pub fn start(epochs: u32, quiet: bool) -> Live {
        HANDLER.call_once(|| {
            // A failure to install it leaves Ctrl-C's default, which also writes nothing
            // half-done (every output is written through a rename).
            let _ = ctrlc::set_handler(|| {
                if STOP.swap(true, Ordering::SeqCst) {
                    std::process::exit(INTERRUPTED_EXIT.into());
                }
            });
        });
        let bar = ProgressBar::with_draw_target(Some(epochs.into()), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("training {bar:40} {pos}/{len} epochs, {eta} left")
                .expect("valid template"),
        );
        Live {
            bar,
            shown: AtomicBool::new(false),
            start: Instant::now(),
            draw: !quiet && std::io::stderr().is_terminal(),
        }
    }

    /// Break once Ctrl-C has asked the run to stop, else continue.
    pub fn flow(&self) -> ControlFlow<()> {
        if STOP.load(Ordering::SeqCst) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Records `done` epochs; shows the bar once the run has taken about a second.
    pub fn progress(&self, done: u32) {
        if self.draw
            && self.start.elapsed() > Duration::from_secs(1)
            && !self.shown.swap(true, Ordering::SeqCst)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.set_position(done.into());
    }

    /// Prints `text` on stdout (or stderr, `to_stderr`) now, flushed, above the bar.
    pub fn print(&self, text: &str, to_stderr: bool) {
        self.bar.suspend(|| {
            if to_stderr {
                let mut e = std::io::stderr().lock();
                let _ = e.write_all(text.as_bytes());
                let _ = e.flush();
            } else {
                let mut o = std::io::stdout().lock();
                let _ = o.write_all(text.as_bytes());
                let _ = o.flush();
            }
        });
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A progress line for work other than one run (`zl interpret`'s and `zl report`'s retraining),
/// drawn as [`Live`]'s bar is: on a terminal only, once the work has taken about a second. It
/// counts work in any unit, and the total may grow as more is planned.
pub struct Progress {
    bar: ProgressBar,
    shown: AtomicBool,
    start: Instant,
    draw: bool,
}

impl Progress {
    /// Starts counting toward `total`; `what` says what is being trained.
    pub fn start(what: &str, total: u64) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(&format!("{what} {{bar:40}} {{percent}}%, {{eta}} left"))
                .expect("valid template"),
        );
        Progress {
            bar,
            shown: AtomicBool::new(false),
            start: Instant::now(),
            draw: std::io::stderr().is_terminal(),
        }
    }

    /// Adds `n` to the total.
    pub fn grow(&self, n: u64) {
        self.bar.inc_length(n);
    }

    /// Counts `n` done; shows the line once the work has taken about a second.
    pub fn add(&self, n: u64) {
        if self.draw
            && self.start.elapsed() > Duration::from_secs(1)
            && !self.shown.swap(true, Ordering::SeqCst)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.inc(n);
    }

    /// Runs `f` with the line out of the way (for a message on stderr).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Clears the line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
