//! What a running job's handle, generator and driver share: its run state
//! (terminated, error, completed batches), its receivers and input counters,
//! and the stop protocol.

use super::error::StreamingError;
use super::listener::BatchInfo;
use super::memory::Budget;
use super::sources::{InputCounters, ReceiverControl};
use super::sync::lock;
use crate::Plan;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
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

    /// Stops the job: immediately (receivers abort, queued batches are
    /// dropped, the batch running finishes) or gracefully (receivers finish,
    /// everything received is processed).
    pub(super) fn request_stop(&self, graceful: bool) {
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
        self.request_stop(false);
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
