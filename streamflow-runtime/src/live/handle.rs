//! [`StreamingHandle`]: the handle to a running live job, to stop it, wait for
//! it, and read its metrics (batches, queue, inputs, receiver rates,
//! buffered records).

use super::error::StreamingError;
use super::listener::BatchInfo;
use super::recovery::RecoveryInfo;
use super::run_state::Shared;
use super::sources::InputStats;
use crate::Plan;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// What a stop left unprocessed (all zero after a graceful stop that
/// drained everything).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StopReport {
    /// Records accepted (stored by a receiver, or counted at a batch's cut)
    /// and never processed. A dropped batch of a source that counts its
    /// records only when delivering them (a directory) adds to
    /// `dropped_batches` only.
    pub unprocessed_records: u64,
    /// Queued batches dropped without being run.
    pub dropped_batches: u64,
}

/// A running job: watch it, wait for it, stop it. Clones control the same
/// job; when the last one is dropped, the job is stopped immediately.
#[derive(Clone)]
pub struct StreamingHandle {
    inner: Arc<HandleInner>,
}

struct HandleInner {
    shared: Arc<Shared>,
}

impl Drop for HandleInner {
    fn drop(&mut self) {
        if !self.shared.state().terminated {
            self.shared.request_stop(false);
            if !self.shared.on_own_thread() {
                let state = self.shared.state();
                let _ = self
                    .shared
                    .changed
                    .wait_timeout_while(state, self.shared.stop_timeout, |s| !s.terminated);
            }
        }
    }
}

impl StreamingHandle {
    /// The handle to the job whose scheduler shares `shared`.
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        StreamingHandle {
            inner: Arc::new(HandleInner { shared }),
        }
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    pub(super) fn shared_arc(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// Stops the job and says what it left unprocessed.
    ///
    /// Immediately (`graceful = false`): receivers stop at once, the batch
    /// running finishes, queued batches are dropped; the records they held
    /// and what receivers still held are counted in the returned
    /// [`StopReport`] (and sent to listeners as
    /// [`StreamingEvent::Unprocessed`](super::StreamingEvent::Unprocessed)).
    ///
    /// Gracefully: receivers finish what they are storing, then everything
    /// received is processed and written before this returns. A graceful
    /// stop that sees no batch complete for the graceful stop timeout
    /// ([`StreamingContext::graceful_stop_timeout`](super::StreamingContext::graceful_stop_timeout))
    /// gives up draining and stops immediately.
    ///
    /// Either way it returns in bounded time: if the job has not ended
    /// within the stop timeout after an immediate stop (a batch stuck in
    /// user code), it returns [`StreamingError::StopTimedOut`]. Returns the
    /// job's error if a batch failed or one of its threads died. Called from
    /// a sink or a listener, it starts the stop and returns at once (with an
    /// empty report).
    ///
    /// On a cluster, every process stops after the same batch: the stop
    /// takes effect at the end of the batch running (or of the next one).
    pub fn stop(&self, graceful: bool) -> Result<StopReport, StreamingError> {
        let shared = self.inner.shared.clone();
        if shared.on_own_thread() {
            // Waiting here would wait for ourselves.
            let _ = std::thread::Builder::new()
                .name("streamflow-stop".into())
                .spawn(move || shared.request_stop(graceful));
            return Ok(StopReport::default());
        }
        shared.request_stop(graceful);
        if graceful {
            self.drain_or_give_up();
        }
        let waited = {
            let state = shared.state();
            let (state, _) = shared
                .changed
                .wait_timeout_while(state, shared.stop_timeout, |s| !s.terminated)
                .unwrap_or_else(|e| e.into_inner());
            state.terminated
        };
        if !waited {
            return Err(StreamingError::StopTimedOut {
                waited: shared.stop_timeout,
                queued: shared.state().queued,
            });
        }
        self.await_termination()?;
        Ok(self.unprocessed())
    }

    /// Waits while a graceful stop makes progress; when no batch completes
    /// for the graceful stop timeout, stops immediately.
    fn drain_or_give_up(&self) {
        let shared = self.shared();
        let mut state = shared.state();
        loop {
            if state.terminated {
                return;
            }
            let completed = state.completed;
            let (next, timeout) = shared
                .changed
                .wait_timeout_while(state, shared.graceful_stop_timeout, |s| {
                    !s.terminated && s.completed == completed
                })
                .unwrap_or_else(|e| e.into_inner());
            state = next;
            if timeout.timed_out() && !state.terminated {
                drop(state);
                tracing::warn!(
                    job = shared.plan.job,
                    timeout_ms = shared.graceful_stop_timeout.as_millis() as u64,
                    "graceful stop made no progress in time: stopping immediately"
                );
                shared.request_stop(false);
                return;
            }
        }
    }

    /// What stops left unprocessed so far (see [`stop`](Self::stop)).
    pub fn unprocessed(&self) -> StopReport {
        let u = &self.shared().unprocessed;
        StopReport {
            unprocessed_records: u.records.load(Ordering::SeqCst),
            dropped_batches: u.batches.load(Ordering::SeqCst),
        }
    }

    /// Waits until the job has stopped (by `stop`, or because a batch
    /// failed, or because one of its threads panicked) and returns its
    /// error, if any.
    pub fn await_termination(&self) -> Result<(), StreamingError> {
        let shared = self.shared();
        let mut state = shared.state();
        while !state.terminated {
            state = shared.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        shared.take_result(&mut state)
    }

    /// Like [`await_termination`](Self::await_termination), for at most
    /// `timeout`: `Ok(true)` if the job stopped without error, `Ok(false)`
    /// if it is still running.
    pub fn await_termination_timeout(&self, timeout: Duration) -> Result<bool, StreamingError> {
        let shared = self.shared();
        let state = shared.state();
        let (mut state, _) = shared
            .changed
            .wait_timeout_while(state, timeout, |s| !s.terminated)
            .unwrap_or_else(|e| e.into_inner());
        if !state.terminated {
            return Ok(false);
        }
        shared.take_result(&mut state).map(|()| true)
    }

    /// Whether the job has stopped.
    pub fn is_terminated(&self) -> bool {
        self.shared().state().terminated
    }

    /// The number of batches completed (failed ones included).
    pub fn batches_completed(&self) -> u64 {
        self.shared().state().completed
    }

    /// Waits until at least `n` batches have completed, or the job stopped,
    /// or `timeout` passed; returns whether `n` batches completed.
    pub fn wait_for_batches(&self, n: u64, timeout: Duration) -> bool {
        let shared = self.shared();
        let state = shared.state();
        let (state, _) = shared
            .changed
            .wait_timeout_while(state, timeout, |s| s.completed < n && !s.terminated)
            .unwrap_or_else(|e| e.into_inner());
        state.completed >= n
    }

    /// The metrics of the completed batches (the last 10 000), in order.
    pub fn batches(&self) -> Vec<BatchInfo> {
        self.shared().state().history.iter().cloned().collect()
    }

    /// The number of batches cut and not yet completed.
    pub fn queued_batches(&self) -> usize {
        self.shared().state().queued
    }

    /// What input port `port` has done so far.
    pub fn input_stats(&self, port: &str) -> Option<InputStats> {
        self.shared()
            .counters
            .iter()
            .find(|(name, _)| *name == port)
            .map(|(_, c)| c.snapshot())
    }

    /// Waits until input `port` has accepted at least `records` records in
    /// all, or `timeout` passed; returns whether it has. With a manual clock,
    /// a test calls it before advancing the clock, so that the next batch
    /// holds exactly those records.
    pub fn wait_for_records(&self, port: &str, records: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            match self.input_stats(port) {
                Some(stats) if stats.records >= records => return true,
                None => return false,
                _ => {}
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The current rate limit of the receiver on `port` (records per
    /// second), if it has one (a configured maximum or backpressure).
    pub fn receiver_rate(&self, port: &str) -> Option<f64> {
        self.shared()
            .receivers
            .iter()
            .find(|(name, _)| *name == port)
            .and_then(|(_, r)| r.rate())
    }

    /// Records held now by receivers and queued batches.
    pub fn buffered_records(&self) -> usize {
        self.shared().budget.used().records
    }

    /// The most records ever held at once (never more than the bound).
    pub fn peak_buffered_records(&self) -> usize {
        self.shared().budget.peak().records
    }

    /// Estimated bytes of the records held now by receivers and queued
    /// batches (see [`ByteSize`](super::ByteSize)).
    pub fn buffered_bytes(&self) -> usize {
        self.shared().budget.used().bytes
    }

    /// The most bytes ever held at once (never more than the bound).
    pub fn peak_buffered_bytes(&self) -> usize {
        self.shared().budget.peak().bytes
    }

    /// The batch interval.
    pub fn batch_interval(&self) -> Duration {
        self.shared().batch_interval
    }

    /// The address of the job's status page (`http://127.0.0.1:4040/`), when
    /// it was turned on with `StreamingContext::status_page`.
    pub fn status_page_url(&self) -> Option<String> {
        self.shared().status_page.map(|address| format!("http://{address}/"))
    }

    /// The running job's stage plan (what its `explain()` shows); index
    /// [`BatchInfo::stage_times`] with it.
    pub fn plan(&self) -> &'static Plan {
        self.shared().plan
    }

    /// What the job resumed from, if it recovered from a checkpoint
    /// ([`StreamingContext::get_or_create`](super::StreamingContext::get_or_create)):
    /// the state snapshot's time, the batches run again, damaged snapshots
    /// passed over.
    pub fn recovery(&self) -> Option<&RecoveryInfo> {
        self.shared().recovery.as_ref()
    }
}

impl std::fmt::Debug for StreamingHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingHandle")
            .field("job", &self.shared().plan.job)
            .field("terminated", &self.is_terminated())
            .finish()
    }
}
