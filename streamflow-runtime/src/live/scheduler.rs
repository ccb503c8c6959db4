//! The scheduler of a live job: the generator thread, which cuts a batch at
//! every batch time (so that batch `t` holds what was stored in `[t − d, t)`
//! however far processing lags), the driver thread, which runs the queued
//! batches in time order and writes their sinks, and the state they share
//! with the handle ([`Shared`], [`RunState`]).
//!
//! Threads of a running job: one per receiver; the generator; the driver; a
//! listener thread when listeners are registered.

use super::clock::Clock;
use super::context::{BoundSink, Settings};
use super::error::StreamingError;
use super::listener::{BatchInfo, EventSender, OutputOperationInfo, StreamingEvent};
use super::memory::Budget;
use super::rate::PidRateEstimator;
use super::receiver::ReceiverControl;
use super::sources::{InputCounters, Pending};
use super::status::StatusDrawer;
use crate::sinks::SinkError;
use crate::{InputPorts, Job, OutputPorts, Time};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant, SystemTime};

/// Batches kept in [`StreamingHandle::batches`](super::StreamingHandle::batches).
const HISTORY: usize = 10_000;

pub(super) const MODE_RUNNING: u8 = 0;
const MODE_DRAIN: u8 = 1;
pub(super) const MODE_STOP: u8 = 2;

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
    pub(super) job: &'static str,
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
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves its data consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
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
        tracing::info!(job = self.job, "stopping gracefully");
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

/// A batch cut by the generator, waiting for the driver.
pub(super) struct QueuedBatch {
    time: Time,
    pendings: Vec<(usize, Box<dyn Pending>)>,
    submitted: Instant,
    info: BatchInfo,
}

/// The generator thread: cuts a batch at every batch time.
pub(super) fn generate(
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
    zero: Duration,
    mut feeds: Vec<(usize, &'static str, Box<dyn super::sources::Feed>)>,
    tx: mpsc::Sender<QueuedBatch>,
    events: EventSender,
) {
    let interval = shared.batch_interval;
    let interval_ms = interval.as_millis() as u64;
    let mut k: u64 = 1;
    loop {
        let target = zero + Duration::from_millis(interval_ms.saturating_mul(k));
        let mode = loop {
            let mode = shared.mode.load(Ordering::SeqCst);
            if mode != MODE_RUNNING || clock.now() >= target {
                break mode;
            }
            clock.wait_until(target, Duration::from_millis(20));
        };
        if mode == MODE_STOP {
            break;
        }
        let time = Time::from_millis(interval_ms.saturating_mul(k));
        let pendings: Vec<(usize, Box<dyn Pending>)> = feeds
            .iter_mut()
            .map(|(index, _, feed)| (*index, feed.cut(time)))
            .collect();
        let info = BatchInfo {
            time,
            input_records: feeds
                .iter()
                .zip(&pendings)
                .map(|((_, port, _), (_, p))| (*port, p.known_records().unwrap_or(0)))
                .collect(),
            submitted_at: SystemTime::now(),
            scheduling_delay: None,
            processing_time: None,
            total_delay: None,
            failure: None,
        };
        shared.state().queued += 1;
        events.send(StreamingEvent::BatchSubmitted(info.clone()));
        let queued = QueuedBatch {
            time,
            pendings,
            submitted: Instant::now(),
            info,
        };
        if tx.send(queued).is_err() {
            break;
        }
        k += 1;
        if mode == MODE_DRAIN {
            break;
        }
    }
    tracing::debug!(job = shared.job, "generator stopped");
}

/// The driver thread: runs batches in order and writes their sinks.
pub(super) struct Driver<J: Job> {
    pub(super) job: J,
    pub(super) outputs: Vec<Vec<BoundSink>>,
    pub(super) shared: Arc<Shared>,
    pub(super) settings: Settings,
    pub(super) pid: Vec<(usize, PidRateEstimator, Arc<dyn ReceiverControl>)>,
    pub(super) status: StatusDrawer,
    pub(super) events: EventSender,
    pub(super) bus: Option<std::thread::JoinHandle<()>>,
}

impl<J: Job> Driver<J> {
    pub(super) fn run(mut self, rx: mpsc::Receiver<QueuedBatch>) {
        for batch in rx {
            if self.shared.discard.load(Ordering::SeqCst) {
                let budgeted: usize = batch.pendings.iter().map(|(_, p)| p.budgeted()).sum();
                self.shared.budget.release(budgeted);
                self.shared.state().queued -= 1;
                tracing::debug!(time = %batch.time, "batch dropped by an immediate stop");
                continue;
            }
            let run = catch_unwind(AssertUnwindSafe(|| self.run_batch(batch)));
            if let Err(panic) = run {
                let message = crate::panic::message(&*panic);
                self.fail(StreamingError::ThreadPanicked {
                    thread: "driver",
                    message,
                });
            }
        }
        self.status.clear();
        self.finish();
    }

    fn run_batch(&mut self, batch: QueuedBatch) {
        let QueuedBatch {
            time,
            pendings,
            submitted,
            mut info,
        } = batch;
        self.status.clear();
        let start = Instant::now();
        let scheduling = start.saturating_duration_since(submitted);
        info.scheduling_delay = Some(scheduling);
        self.events.send(StreamingEvent::BatchStarted(info.clone()));

        let mut inputs = J::Inputs::default();
        let mut budgeted = 0;
        for (slot, (index, pending)) in pendings.into_iter().enumerate() {
            budgeted += pending.budgeted();
            let m = pending.materialize(time);
            if let Some(entry) = info.input_records.get_mut(slot) {
                entry.1 = m.records;
            }
            if inputs.set_port(index, m.batch).is_err() {
                // The type was checked at binding: this is a bug of the job's ports.
                tracing::error!(port = index, "input port rejected its batch");
            }
        }
        let failure = match self.job.run_batch(time, inputs) {
            Ok(mut outputs) => self.write_outputs(time, &mut outputs),
            Err(e) => Some(StreamingError::Batch(e)),
        };
        let processing = start.elapsed();
        self.shared.budget.release(budgeted);
        info.processing_time = Some(processing);
        info.total_delay = Some(scheduling + processing);
        info.failure = failure.as_ref().map(ToString::to_string);
        tracing::debug!(
            job = self.shared.job,
            time_ms = time.as_millis(),
            records = info.records(),
            processing_us = processing.as_micros() as u64,
            scheduling_delay_us = scheduling.as_micros() as u64,
            "batch completed"
        );
        let queued = {
            let mut state = self.shared.state();
            state.queued -= 1;
            state.completed += 1;
            if state.history.len() == HISTORY {
                state.history.pop_front();
            }
            state.history.push_back(info.clone());
            state.queued
        };
        self.shared.changed.notify_all();
        if self.settings.backpressure {
            for (index, pid, control) in &mut self.pid {
                let records = info.input_records.get(*index).map_or(0, |(_, n)| *n);
                if let Some(rate) = pid.compute(time.as_millis(), records, processing, scheduling) {
                    control.set_rate(rate);
                }
            }
        }
        self.status.draw(&info, queued);
        self.events.send(StreamingEvent::BatchCompleted(info));
        if let Some(error) = failure {
            tracing::error!(job = self.shared.job, "{error}");
            if self.settings.stop_on_failure {
                self.fail(error);
            }
        }
    }

    /// Runs every bound sink; the first failure ends the batch's outputs.
    fn write_outputs(&mut self, time: Time, outputs: &mut J::Outputs) -> Option<StreamingError> {
        let ports = <J::Outputs as OutputPorts>::PORTS;
        for (index, sinks) in self.outputs.iter_mut().enumerate() {
            if sinks.is_empty() {
                continue;
            }
            let port = ports[index].name;
            let Some(value) = outputs.take_port(index) else {
                tracing::warn!(port, "output port gave no value");
                continue;
            };
            for sink in sinks.iter_mut() {
                let start = Instant::now();
                let written = catch_unwind(AssertUnwindSafe(|| (sink.write)(time, &*value)))
                    .unwrap_or_else(|panic| Err(SinkError::Panicked(crate::panic::message(&*panic))));
                self.events
                    .send(StreamingEvent::OutputOperationCompleted(OutputOperationInfo {
                        time,
                        port,
                        sink: sink.name.clone(),
                        duration: start.elapsed(),
                        failure: written.as_ref().err().map(ToString::to_string),
                    }));
                if let Err(source) = written {
                    return Some(StreamingError::Sink {
                        time,
                        port,
                        sink: sink.name.clone(),
                        source,
                    });
                }
            }
        }
        None
    }

    /// Records the job's first error and stops it immediately.
    fn fail(&mut self, error: StreamingError) {
        {
            let mut state = self.shared.state();
            if state.error_message.is_none() {
                state.error_message = Some(error.to_string());
                state.error = Some(error);
            }
        }
        self.shared.request_stop(false);
    }

    /// After the last batch: stops receivers, delivers the last events, and
    /// marks the job terminated.
    fn finish(&mut self) {
        for (_, r) in &self.shared.receivers {
            r.request_stop(true);
        }
        for (port, r) in &self.shared.receivers {
            if !r.wait_stopped(self.shared.stop_timeout) {
                tracing::warn!(input = port, "receiver did not stop; its thread is left running");
            }
        }
        self.events.send(StreamingEvent::Stopped);
        self.events.shutdown();
        if let Some(bus) = self.bus.take()
            && bus.thread().id() != std::thread::current().id()
        {
            let _ = bus.join();
        }
        tracing::info!(job = self.shared.job, "streaming stopped");
        self.shared.state().terminated = true;
        self.shared.changed.notify_all();
    }
}
