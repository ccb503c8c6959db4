//! What a running job's handle, generator and driver share: its run state
//! (terminated, error, completed batches), its receivers and input counters,
//! and the stop protocol.

use super::agreed_stop::AgreedStop;
use super::error::StreamingError;
use super::listener::{BatchInfo, EventSender, StreamingEvent, UnprocessedInfo};
use super::memory::Budget;
use super::recovery::RecoveryInfo;
use super::sources::{InputCounters, ReceiverControl};
use super::sync::lock;
use crate::Plan;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::Duration;

/// Batches kept in [`StreamingHandle::batches`](super::StreamingHandle::batches).
const HISTORY: usize = 10_000;

pub(super) const MODE_RUNNING: u8 = 0;
pub(super) const MODE_DRAIN: u8 = 1;
pub(super) const MODE_STOP: u8 = 2;

/// Where the job is: stopped or not, its error, its completed batches.
#[derive(Default)]
pub(super) struct RunState {
    pub(super) terminated: bool,
    error: Option<StreamingError>,
    error_message: Option<String>,
    pub(super) history: VecDeque<BatchInfo>,
    pub(super) completed: u64,
    pub(super) queued: usize,
}

/// What the handle, the generator and the driver share.
pub(super) struct Shared {
    pub(super) plan: &'static Plan,
    /// What the job recovered from, if it resumed a checkpoint.
    pub(super) recovery: Option<RecoveryInfo>,
    pub(super) batch_interval: Duration,
    pub(super) state: Mutex<RunState>,
    pub(super) changed: Condvar,
    pub(super) budget: Arc<Budget>,
    pub(super) receivers: Vec<(&'static str, Arc<dyn ReceiverControl>)>,
    pub(super) counters: Vec<(&'static str, Arc<InputCounters>)>,
    pub(super) mode: AtomicU8,
    pub(super) discard: AtomicBool,
    pub(super) stopping: AtomicBool,
    pub(super) stop_timeout: Duration,
    /// The driver's and listener thread's ids: a stop asked from them must
    /// not wait for them.
    pub(super) threads: Mutex<Vec<ThreadId>>,
    /// Where the status page listens, when it is on.
    pub(super) status_page: Option<std::net::SocketAddr>,
    /// Records accepted and never processed (batches dropped by an immediate
    /// stop, what receivers held when they stopped), and the batches dropped.
    pub(super) unprocessed: Unprocessed,
    /// How long a graceful stop waits for the next batch to complete before
    /// it gives up draining and stops immediately.
    pub(super) graceful_stop_timeout: Duration,
    /// The most batches cut and not completed; the generator waits past it.
    pub(super) max_queued_batches: usize,
    /// On a cluster: how a stop asked here becomes every process's.
    pub(super) agreed: Option<AgreedStop>,
}

/// What a stop left unprocessed, counted as it happens.
#[derive(Debug, Default)]
pub(super) struct Unprocessed {
    pub(super) records: AtomicU64,
    pub(super) batches: AtomicU64,
}

impl RunState {
    /// Adds a completed batch to the history (which keeps the last
    /// [`HISTORY`]); returns the number of batches still queued.
    pub(super) fn complete(&mut self, info: BatchInfo) -> usize {
        self.queued -= 1;
        self.completed += 1;
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(info);
        self.queued
    }
}

impl Shared {
    pub(super) fn state(&self) -> MutexGuard<'_, RunState> {
        lock(&self.state)
    }

    /// Stops the job, as its handle, a signal or a `StopHandle` asks:
    /// [`stop_here`](Self::stop_here) in one process; on a cluster, every
    /// process after the same batch (see `agreed_stop.rs`).
    pub(super) fn request_stop(&self, graceful: bool) {
        match &self.agreed {
            Some(agreed) => {
                tracing::info!(
                    job = self.plan.job,
                    graceful,
                    "stop asked: every process of the cluster stops after the same batch"
                );
                agreed.want(graceful);
            }
            None => self.stop_here(graceful),
        }
    }

    /// Stops this process's job: immediately (receivers abort, queued
    /// batches are dropped, the batch running finishes) or gracefully
    /// (receivers finish, everything received is processed).
    pub(super) fn stop_here(&self, graceful: bool) {
        let first = !self.stopping.swap(true, Ordering::SeqCst);
        if !graceful {
            self.discard.store(true, Ordering::SeqCst);
            self.mode.store(MODE_STOP, Ordering::SeqCst);
            for (_, r) in &self.receivers {
                r.request_stop(true);
            }
            return;
        }
        if !first {
            // A graceful stop already runs (or an immediate one did).
            return;
        }
        tracing::info!(job = self.plan.job, "stopping gracefully");
        for (_, r) in &self.receivers {
            r.request_stop(false);
        }
        for (port, r) in &self.receivers {
            if !r.wait_stopped(self.stop_timeout) {
                tracing::warn!(input = port, "receiver did not stop in time; aborting it");
                r.request_stop(true);
                r.wait_stopped(Duration::from_secs(1));
            }
        }
        // Receivers are done: one last batch takes what they stored.
        let _ = self
            .mode
            .compare_exchange(MODE_RUNNING, MODE_DRAIN, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Counts a queued batch that an immediate stop dropped: `records` were
    /// accepted (as far as its cut knew) and will never be processed.
    pub(super) fn note_dropped_batch(&self, records: usize) {
        self.unprocessed.records.fetch_add(records as u64, Ordering::SeqCst);
        self.unprocessed.batches.fetch_add(1, Ordering::SeqCst);
    }

    /// Once the receivers have stopped: counts (and frees) what they still
    /// held, which no batch will take; then what the stop left unprocessed,
    /// as the listeners hear it (`None` when nothing was).
    pub(super) fn count_unprocessed(&self) -> Option<UnprocessedInfo> {
        for (port, r) in &self.receivers {
            let left = r.take_leftovers();
            if left > 0 {
                tracing::warn!(
                    input = port,
                    records = left,
                    "records held by a stopped receiver were not processed"
                );
                self.unprocessed.records.fetch_add(left as u64, Ordering::SeqCst);
            }
        }
        let info = UnprocessedInfo {
            records: self.unprocessed.records.load(Ordering::SeqCst),
            batches: self.unprocessed.batches.load(Ordering::SeqCst),
        };
        (info.records > 0 || info.batches > 0).then(|| {
            tracing::warn!(
                job = self.plan.job,
                records = info.records,
                batches = info.batches,
                "stopped with accepted records not processed"
            );
            info
        })
    }

    /// Waits, on the generator, while the driver has `max_queued_batches`
    /// batches to run: what receivers store meanwhile goes to the next batch
    /// cut (their memory is bounded on its own). Returns false if the job
    /// stops immediately while waiting.
    pub(super) fn wait_for_queue_room(&self) -> bool {
        let mut state = self.state();
        let mut warned = false;
        while state.queued >= self.max_queued_batches {
            match self.mode.load(Ordering::SeqCst) {
                MODE_STOP => return false,
                MODE_DRAIN => return true,
                _ => {}
            }
            if !warned {
                tracing::warn!(
                    job = self.plan.job,
                    queued = state.queued,
                    "the driver is {} batches behind: no batch is cut until one completes",
                    state.queued
                );
                warned = true;
            }
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(20))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Marks the job terminated (whatever state its threads are in) and
    /// wakes everyone waiting for it.
    pub(super) fn mark_terminated(&self) {
        self.state().terminated = true;
        self.changed.notify_all();
    }

    pub(super) fn on_own_thread(&self) -> bool {
        lock(&self.threads).contains(&std::thread::current().id())
    }

    /// Records the job's first error and stops it immediately.
    pub(super) fn fail(&self, error: StreamingError) {
        {
            let mut state = self.state();
            if state.error_message.is_none() {
                state.error_message = Some(error.to_string());
                state.error = Some(error);
            }
        }
        // A failure on a cluster is either every process's (the batch's end
        // is shared) or fails the mesh for the others: no agreement needed.
        self.stop_here(false);
    }

    pub(super) fn take_result(&self, state: &mut RunState) -> Result<(), StreamingError> {
        if let Some(e) = state.error.take() {
            return Err(e);
        }
        match &state.error_message {
            Some(message) => Err(StreamingError::Failed {
                message: message.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// Runs the body of one of the job's own threads (`thread` names it): a panic
/// that escapes it (a bug of ours, or of a listener) fails the job with
/// [`StreamingError::ThreadPanicked`] instead of leaving it half alive.
pub(super) fn guard_thread(shared: &Shared, thread: &'static str, body: impl FnOnce()) -> bool {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(()) => true,
        Err(panic) => {
            let message = crate::panic::message(&*panic);
            tracing::error!(job = shared.plan.job, thread, "{message}");
            shared.fail(StreamingError::ThreadPanicked { thread, message });
            false
        }
    }
}

/// Runs the driver's body: if it dies, nothing else would end the job, so
/// the job is ended here (receivers stopped, listeners released, the job
/// marked terminated with the panic as its error): `stop` and
/// `await_termination` return instead of waiting forever.
pub(super) fn guard_driver(shared: &Shared, events: &EventSender, body: impl FnOnce()) {
    if guard_thread(shared, "driver", body) {
        return;
    }
    for (_, r) in &shared.receivers {
        r.request_stop(true);
    }
    events.send_surely(StreamingEvent::Stopped);
    events.shutdown();
    shared.mark_terminated();
}
