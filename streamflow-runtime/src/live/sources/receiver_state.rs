//! What a running receiver's thread, the scheduler and the context share:
//! the block being filled and the sealed ones, the rate limit, the memory
//! bound, the stop flags, and the receiver's counters and reports.

use super::blocks::{BlockRange, BlockStore};
use super::feed::{InputEnv, RateControl, ReceiverControl};
use super::stats::InputCounters;
use crate::live::listener::{EventSender, ReceiverInfo, StreamingEvent};
use crate::live::memory::{Budget, Held};
use crate::live::rate::RateLimiter;
use crate::live::reports::ReportLimiter;
use crate::live::sync::lock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The receiver was stopped: what was being stored was not taken (only after
/// an immediate stop; a graceful stop lets stores finish).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the receiver was stopped")]
pub struct Stopped;

/// The block a receiver is filling.
struct OpenBlock<T> {
    records: Vec<T>,
    started: Instant,
    /// Bytes held against the bound by the records stored since the last
    /// cut (the open block and the blocks sealed since).
    uncut_bytes: usize,
}

/// A record's estimated size in bytes.
pub(crate) type SizeFn<T> = fn(&T) -> usize;

/// The state of one running receiver.
pub(crate) struct ReceiverShared<T> {
    pub(crate) input: &'static str,
    pub(crate) name: String,
    open: Mutex<OpenBlock<T>>,
    sealed: BlockStore<T>,
    block_interval: Duration,
    budget: Arc<Budget>,
    size_of: SizeFn<T>,
    limiter: RateLimiter,
    /// The configured ceiling (0 = none); backpressure only lowers the rate.
    max_rate: f64,
    /// A stop was asked for: `is_stopped` is true.
    pub(crate) stopping: AtomicBool,
    /// The stop is immediate: waiting stores give up.
    abort: AtomicBool,
    /// Why the receiver asked to be restarted, if it did.
    pub(crate) restart: Mutex<Option<String>>,
    pub(crate) counters: Arc<InputCounters>,
    pub(crate) events: EventSender,
    last_error: Mutex<Option<String>>,
    reports: ReportLimiter,
    done: Mutex<bool>,
    done_cv: Condvar,
}

impl<T: Send + 'static> ReceiverShared<T> {
    pub(crate) fn new(env: &InputEnv, name: String, counters: Arc<InputCounters>, size_of: SizeFn<T>) -> Self {
        ReceiverShared {
            input: env.port,
            name,
            open: Mutex::new(OpenBlock {
                records: Vec::new(),
                started: Instant::now(),
                uncut_bytes: 0,
            }),
            sealed: BlockStore::default(),
            block_interval: env.block_interval,
            budget: env.budget.clone(),
            size_of,
            limiter: RateLimiter::new(env.max_rate),
            max_rate: env.max_rate,
            stopping: AtomicBool::new(false),
            abort: AtomicBool::new(false),
            restart: Mutex::new(None),
            counters,
            events: env.events.clone(),
            last_error: Mutex::new(None),
            reports: ReportLimiter::default(),
            done: Mutex::new(false),
            done_cv: Condvar::new(),
        }
    }

    /// How many records a `store_many` stores at once: small enough to pace
    /// smoothly and to fit in the memory bound.
    pub(crate) fn chunk_size(&self) -> usize {
        let by_rate = self.limiter.rate().map_or(usize::MAX, |r| ((r / 20.0) as usize).max(1));
        by_rate.min(4096).min(self.budget.limit().records).max(1)
    }

    /// The most bytes a `store_many` stores at once (at least one record):
    /// a sixteenth of the bound, so that chunks fit in it.
    pub(crate) fn chunk_bytes(&self) -> usize {
        (self.budget.limit().bytes / 16).max(1)
    }

    /// A record's estimated size.
    pub(crate) fn size(&self, record: &T) -> usize {
        (self.size_of)(record)
    }

    /// Stores `records` once the rate limit and the memory bound allow it.
    pub(crate) fn store_vec(&self, records: Vec<T>) -> Result<(), Stopped> {
        let bytes = records.iter().map(|r| self.size(r)).sum();
        self.store_sized(records, bytes)
    }

    /// Stores `records`, whose estimated size is `bytes`.
    pub(crate) fn store_sized(&self, records: Vec<T>, bytes: usize) -> Result<(), Stopped> {
        let n = records.len();
        if n == 0 {
            return Ok(());
        }
        if !self.limiter.acquire(n, &self.abort) {
            return Err(Stopped);
        }
        let Some(taken) = self.budget.acquire(Held { records: n, bytes }, &self.abort) else {
            return Err(Stopped);
        };
        {
            let mut open = lock(&self.open);
            open.uncut_bytes += taken.bytes;
            if open.records.is_empty() {
                open.started = Instant::now();
            } else if open.started.elapsed() >= self.block_interval {
                self.sealed.seal(std::mem::take(&mut open.records));
                open.started = Instant::now();
            }
            open.records.extend(records);
        }
        self.counters.records.fetch_add(n as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Seals the open block (a batch is being cut, or a reliable store
    /// returns).
    pub(crate) fn seal_open(&self) {
        let mut open = lock(&self.open);
        if !open.records.is_empty() {
            self.sealed.seal(std::mem::take(&mut open.records));
        }
    }

    /// The sealed blocks.
    pub(crate) fn blocks(&self) -> &BlockStore<T> {
        &self.sealed
    }

    /// Seals the open block and gives every sealed block to a batch: their
    /// range, and the records and bytes they hold. Fails (and cuts nothing)
    /// if a block could not be written to the write-ahead log since the
    /// previous cut, unless `logged` is false.
    pub(crate) fn cut_blocks(&self, logged: bool) -> Result<(BlockRange, Held), crate::live::error::SourceError> {
        let mut open = lock(&self.open);
        if !open.records.is_empty() {
            self.sealed.seal(std::mem::take(&mut open.records));
        }
        let (range, records) = if logged {
            self.sealed.cut_logged(usize::MAX)?
        } else {
            self.sealed.cut(usize::MAX)
        };
        let bytes = std::mem::take(&mut open.uncut_bytes);
        Ok((range, Held { records, bytes }))
    }

    /// The blocks of a batch, taken out of memory.
    pub(crate) fn take_blocks(&self, range: BlockRange) -> Result<Vec<Vec<T>>, crate::live::error::SourceError> {
        self.sealed.take(range)
    }

    pub(crate) fn info(&self, active: bool) -> ReceiverInfo {
        ReceiverInfo {
            input: self.input,
            name: self.name.clone(),
            active,
            last_error: lock(&self.last_error).clone(),
            restarts: self.counters.restarts.load(Ordering::Relaxed),
        }
    }

    /// Counts a problem and reports it (the first few of each batch one by
    /// one, the rest in the batch's summary: see [`ReportLimiter`]).
    pub(crate) fn report_error(&self, message: String) {
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        if self.reports.admit(&message) {
            self.send_report(message);
        }
    }

    fn send_report(&self, message: String) {
        tracing::warn!(input = self.input, receiver = %self.name, "{message}");
        *lock(&self.last_error) = Some(message);
        self.events.send(StreamingEvent::ReceiverError(self.info(true)));
    }

    /// At a batch's cut: reports what was held back since the last one.
    pub(crate) fn roll_reports(&self) {
        if let Some(summary) = self.reports.roll() {
            self.send_report(summary);
        }
    }

    /// Whether the receiver must stop receiving.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Marks the receiver's thread finished.
    pub(crate) fn set_done(&self) {
        *lock(&self.done) = true;
        self.done_cv.notify_all();
    }
}

impl<T: Send + 'static> ReceiverControl for ReceiverShared<T> {
    fn request_stop(&self, immediate: bool) {
        if immediate {
            self.abort.store(true, Ordering::SeqCst);
        }
        self.stopping.store(true, Ordering::SeqCst);
    }

    fn wait_stopped(&self, timeout: Duration) -> bool {
        let done = lock(&self.done);
        let (done, _) = self
            .done_cv
            .wait_timeout_while(done, timeout, |done| !*done)
            .unwrap_or_else(|e| e.into_inner());
        *done
    }

    fn take_leftovers(&self) -> usize {
        let Ok((range, held)) = self.cut_blocks(false) else {
            return 0;
        };
        // Freed here (a write-ahead log keeps them for a recovery): no batch
        // will deliver them.
        drop(self.take_blocks(range));
        self.budget.release(held);
        held.records
    }
}

impl<T: Send + 'static> RateControl for ReceiverShared<T> {
    fn set_rate(&self, records_per_second: f64) {
        let rate = if self.max_rate > 0.0 {
            records_per_second.min(self.max_rate)
        } else {
            records_per_second
        };
        tracing::debug!(input = self.input, rate, "receiver rate updated");
        self.limiter.set_rate(rate);
    }

    fn rate(&self) -> Option<f64> {
        self.limiter.rate()
    }
}
