//! One look at a running job: the history the listener kept, and the live
//! numbers read at the moment of the request (queue, buffered records, input
//! counters, receivers' rate limits). Every view (page, JSON, metrics) is
//! drawn from it.

use super::history::History;
use crate::Plan;
use crate::live::sources::InputStats;
use std::time::{Duration, SystemTime};

/// What one input port has done, read at the moment of the request.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct InputNow {
    pub(super) port: &'static str,
    pub(super) stats: InputStats,
    /// The receiver's rate limit (records/s), when it has one.
    pub(super) rate_limit: Option<f64>,
}

/// The numbers that are not events.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Live {
    pub(super) queued_batches: usize,
    pub(super) buffered_records: usize,
    pub(super) peak_buffered_records: usize,
    pub(super) inputs: Vec<InputNow>,
}

/// Everything one response shows.
#[derive(Debug, Clone)]
pub(super) struct Status {
    pub(super) plan: &'static Plan,
    pub(super) batch_interval: Duration,
    pub(super) history: History,
    pub(super) live: Live,
    /// When the snapshot was taken (for the uptime).
    pub(super) now: SystemTime,
}

impl Status {
    /// Seconds since the job started, if it has.
    pub(super) fn uptime(&self) -> Option<Duration> {
        let started = self.history.started_at?;
        self.now.duration_since(started).ok()
    }
}
