//! What an input has done since the context started: counters kept while it
//! runs, and the [`InputStats`] the handle shows.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one input, as [`InputStats`] shows them.
#[derive(Debug, Default)]
pub(crate) struct InputCounters {
    pub(crate) records: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) restarts: AtomicU64,
    pub(crate) files: AtomicU64,
}

impl InputCounters {
    pub(crate) fn snapshot(&self) -> InputStats {
        InputStats {
            records: self.records.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            restarts: self.restarts.load(Ordering::Relaxed),
            files: self.files.load(Ordering::Relaxed),
        }
    }
}

/// What an input has done since the context started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputStats {
    /// Records accepted (stored by a receiver, or cut or delivered by a
    /// source: see [`Source`](super::Source)).
    pub records: u64,
    /// Records rejected as malformed (lines that are not UTF-8).
    pub rejected: u64,
    /// Errors reported (failed connections, unreadable files, rejected records).
    pub errors: u64,
    /// Times the receiver was restarted.
    pub restarts: u64,
    /// Files taken (directory sources).
    pub files: u64,
}
