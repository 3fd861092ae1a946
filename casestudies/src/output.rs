//! Where the case studies write their result lines: stdout, unless a test
//! asked for quiet (callbacks run on worker threads, whose output the test
//! harness does not capture).

use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);

/// Stop (or resume) printing result lines.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Prints one result line unless quiet.
pub fn line(args: std::fmt::Arguments<'_>) {
    if !QUIET.load(Ordering::Relaxed) {
        println!("{args}");
    }
}
