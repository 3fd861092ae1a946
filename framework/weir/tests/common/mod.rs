//! Helpers shared by the tests that compare weir with tshark on the real
//! captures of `../shared/traces/real`.

use std::path::{Path, PathBuf};

/// The real-capture folder and its captures (sorted), or `None` after
/// printing why the test is skipped: a fresh clone has no `../shared`.
pub fn real_captures() -> Option<(PathBuf, Vec<PathBuf>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces/real");
    if !dir.is_dir() {
        eprintln!("skipping: ../shared/traces/real is absent (a fresh clone has no shared traces)");
        return None;
    }
    let mut pcaps: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("readable capture folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    pcaps.sort();
    assert!(!pcaps.is_empty(), "{} holds no captures", dir.display());
    Some((dir, pcaps))
}
