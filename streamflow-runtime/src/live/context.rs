//! `StreamingContext`: binds sources and sinks to a job's ports by name,
//! starts the scheduler, and gives back a handle to watch and stop the job.
//!
//! Threads: one per receiver; a generator that cuts a batch at every batch
//! time (so that batch `t` holds what was stored in `[t − d, t)` however far
//! processing lags); a driver that runs the queued batches in time order and
//! writes their sinks; a listener thread when listeners are registered.

use super::clock::{Clock, SystemClock};
use super::error::{SinkError, StartError, StreamingError};
use super::listener::{BatchInfo, EventSender, OutputOperationInfo, StreamingEvent, StreamingListener, spawn_bus};
use super::memory::Budget;
use super::rate::{PidRateEstimator, PidSettings};
use super::receiver::ReceiverControl;
use super::sinks::Sink;
use super::sources::{Input, InputCounters, InputEnv, InputStats, Pending, StartedInput};
use super::status::{StatusDrawer, StatusLine};
use crate::{Batch, InputPorts, Job, OutputPorts, PortInfo, Time};
use std::any::{Any, TypeId};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{Duration, Instant, SystemTime};

/// Batches kept in [`StreamingHandle::batches`].
const HISTORY: usize = 10_000;

/// A job ready to run live: bind every input port to a source and any output
/// ports to sinks, tune it, then [`start`](Self::start) it.
///
/// ```no_run
/// # use streamflow_runtime::{Batch, BatchError, Job, JobConfig, Plan, Time};
/// # struct WordCount;
/// # impl Job for WordCount {
/// #     type Inputs = Batch<String>;
/// #     type Outputs = Batch<(String, u64)>;
/// #     fn plan(&self) -> &'static Plan { unimplemented!() }
/// #     fn config(&self) -> &JobConfig { unimplemented!() }
/// #     fn run_batch(&mut self, _: Time, _: Self::Inputs) -> Result<Self::Outputs, BatchError> { unimplemented!() }
/// # }
/// use streamflow_runtime::live::{StreamingContext, sinks, sources};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let handle = StreamingContext::new(WordCount)
///     .input("input", sources::socket_text_stream("localhost", 9999))?
///     // Generic sinks (print, files) need the port's element type spelled
///     // out; it is checked against the port when binding.
///     .output::<(String, u64)>("output", sinks::print(10))?
///     .start()?;
/// handle.await_termination()?;
/// # Ok(()) }
/// ```
pub struct StreamingContext<J: Job> {
    job: J,
    inputs: Vec<Option<Input<Erased>>>,
    outputs: Vec<Vec<BoundSink>>,
    settings: Settings,
    listeners: Vec<Box<dyn StreamingListener>>,
    clock: Arc<dyn Clock>,
}

/// Inputs are stored without their element type once checked.
enum Erased {}

/// A sink bound to an output port, with its element type erased.
struct BoundSink {
    name: String,
    write: WriteFn,
}

type WriteFn = Box<dyn FnMut(Time, &(dyn Any + Send)) -> Result<(), SinkError> + Send>;

#[derive(Debug, Clone)]
struct Settings {
    block_interval: Duration,
    max_buffered_records: usize,
    backpressure: bool,
    pid: PidSettings,
    restart_backoff: (Duration, Duration),
    stop_timeout: Duration,
    status_line: StatusLine,
    stop_on_failure: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            // Spark's default block interval.
            block_interval: Duration::from_millis(200),
            max_buffered_records: 1_000_000,
            backpressure: true,
            pid: PidSettings::default(),
            restart_backoff: (Duration::from_millis(100), Duration::from_secs(2)),
            stop_timeout: Duration::from_secs(10),
            status_line: StatusLine::Auto,
            stop_on_failure: true,
        }
    }
}

/// The ports for a message, with their types as written in the job when the
/// plan has them.
fn port_names(ports: &[PortInfo], written: &[crate::Port]) -> String {
    if ports.is_empty() {
        return "(none)".to_owned();
    }
    ports
        .iter()
        .map(|p| {
            let ty = written
                .iter()
                .find(|w| w.name == p.name)
                .map_or_else(|| (p.type_name)(), |w| w.ty);
            format!("`{}: {ty}`", p.name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl<J: Job + 'static> StreamingContext<J> {
    /// A context for `job`, on the system clock, with Spark's defaults (200 ms
    /// blocks, backpressure on) and at most 1 000 000 buffered records.
    pub fn new(job: J) -> Self {
        let inputs = <J::Inputs as InputPorts>::PORTS.iter().map(|_| None).collect();
        let outputs = <J::Outputs as OutputPorts>::PORTS.iter().map(|_| Vec::new()).collect();
        StreamingContext {
            job,
            inputs,
            outputs,
            settings: Settings::default(),
            listeners: Vec::new(),
            clock: Arc::new(SystemClock::new()),
        }
    }

    fn job_name(&self) -> &'static str {
        self.job.plan().job
    }

    /// Binds input port `port` to `source`. Fails if the job has no such port
    /// (the error lists its ports), if the port carries another type than
    /// the source, or if the port is bound already.
    pub fn input<T: Send + 'static>(mut self, port: &str, source: Input<T>) -> Result<Self, StartError> {
        let ports = <J::Inputs as InputPorts>::PORTS;
        let index = self.find_port(ports, "input", port)?;
        let info = &ports[index];
        self.check_type::<T>(info, "input", "source")?;
        if let Some(existing) = &self.inputs[index] {
            return Err(StartError::InputBoundTwice {
                port: info.name,
                existing: existing.description().to_owned(),
            });
        }
        // Checked against the port: from here on only the port's index matters.
        self.inputs[index] = Some(source.retype());
        Ok(self)
    }

    /// Binds a sink to output port `port`; several sinks may be bound to one
    /// port (they run in binding order). Sinks generic over the element type
    /// (`print`, `save_as_text_files`...) need it named:
    /// `.output::<(String, u64)>("counts", sinks::print(10))`. Fails like
    /// [`input`](Self::input).
    pub fn output<T: Send + 'static>(mut self, port: &str, sink: impl Sink<T>) -> Result<Self, StartError> {
        let ports = <J::Outputs as OutputPorts>::PORTS;
        let index = self.find_port(ports, "output", port)?;
        let info = &ports[index];
        self.check_type::<T>(info, "output", "sink")?;
        let sometimes = info.sometimes;
        let mut sink = sink;
        let name = sink.name();
        let write = move |time: Time, value: &(dyn Any + Send)| {
            let batch = if sometimes {
                match value.downcast_ref::<Option<Batch<T>>>() {
                    Some(Some(batch)) => batch,
                    // No batch at this time (a slide longer than the interval).
                    Some(None) => return Ok(()),
                    None => return Err(unexpected_value()),
                }
            } else {
                value.downcast_ref::<Batch<T>>().ok_or_else(unexpected_value)?
            };
            sink.write(time, batch)
        };
        self.outputs[index].push(BoundSink {
            name,
            write: Box::new(write),
        });
        Ok(self)
    }

    fn find_port(&self, ports: &[PortInfo], kind: &'static str, name: &str) -> Result<usize, StartError> {
        let plan = self.job.plan();
        let written = if kind == "input" { plan.inputs } else { plan.outputs };
        ports
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| StartError::UnknownPort {
                job: self.job_name(),
                kind,
                name: name.to_owned(),
                available: port_names(ports, written),
            })
    }

    fn check_type<T: 'static>(
        &self,
        info: &PortInfo,
        kind: &'static str,
        binding: &'static str,
    ) -> Result<(), StartError> {
        if (info.type_id)() == TypeId::of::<T>() {
            return Ok(());
        }
        Err(StartError::PortType {
            job: self.job_name(),
            kind,
            port: info.name,
            binding,
            port_type: (info.type_name)(),
            bound_type: std::any::type_name::<T>(),
        })
    }

    /// How often a receiver's stored records are cut into a new block (a
    /// partition of the batch). Default 200 ms, as in Spark.
    pub fn block_interval(mut self, interval: Duration) -> Self {
        self.settings.block_interval = interval;
        self
    }

    /// The most records receivers may hold at once, stored and not yet
    /// processed (queued batches included). When reached, receivers wait
    /// (a socket stops reading, so the sender is slowed by TCP). Default
    /// 1 000 000.
    pub fn max_buffered_records(mut self, records: usize) -> Self {
        self.settings.max_buffered_records = records;
        self
    }

    /// Whether receivers are slowed down to the rate the job keeps up with,
    /// estimated after every batch (Spark's `backpressure.enabled`). On by
    /// default; the memory bound holds either way.
    pub fn backpressure(mut self, enabled: bool) -> Self {
        self.settings.backpressure = enabled;
        self
    }

    /// The gains of the rate estimator behind backpressure (Spark's defaults
    /// otherwise).
    pub fn rate_estimator(mut self, settings: PidSettings) -> Self {
        self.settings.pid = settings;
        self
    }

    /// The delay before restarting a failed receiver: `initial`, doubling
    /// after each failure without progress, up to `max`. Default 100 ms to 2 s.
    pub fn restart_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.settings.restart_backoff = (initial, max.max(initial));
        self
    }

    /// How long a stop waits for a receiver to finish before giving up on it
    /// (its thread is then left to end on its own). Default 10 s.
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.settings.stop_timeout = timeout;
        self
    }

    /// When to draw the live status line on standard error.
    pub fn status_line(mut self, mode: StatusLine) -> Self {
        self.settings.status_line = mode;
        self
    }

    /// Whether a failed batch stops the job (the default: the error is
    /// returned by `await_termination`). When false, the failure is reported
    /// and the job goes on with the next batch.
    pub fn stop_on_failure(mut self, stop: bool) -> Self {
        self.settings.stop_on_failure = stop;
        self
    }

    /// Adds a listener; listeners hear every event in order, on one thread.
    pub fn listener(mut self, listener: impl StreamingListener) -> Self {
        self.listeners.push(Box::new(listener));
        self
    }

    /// Runs on `clock` instead of the system clock (a
    /// [`ManualClock`](super::ManualClock) in tests).
    pub fn clock<C: Clock>(mut self, clock: Arc<C>) -> Self {
        self.clock = clock;
        self
    }

    /// Checks the configuration, starts the sources and the scheduler, and
    /// returns a handle to the running job. The first batch is at the batch
    /// interval after now. Every input port must be bound; a directory that
    /// does not exist or an address that does not resolve is an error here;
    /// a socket server that is not listening yet is not (see
    /// [`socket_text_stream`](super::sources::socket_text_stream)).
    pub fn start(self) -> Result<StreamingHandle, StartError> {
        let StreamingContext {
            job,
            inputs,
            outputs,
            settings,
            listeners,
            clock,
        } = self;
        let plan = job.plan();
        let job_name = plan.job;
        if plan.batch_interval_ms == 0 {
            return Err(StartError::ZeroBatchInterval { job: job_name });
        }
        job.config().validate()?;
        let invalid = |setting, reason: &str| {
            Err(StartError::InvalidSetting {
                setting,
                reason: reason.to_owned(),
            })
        };
        if settings.block_interval.is_zero() {
            return invalid("block_interval", "must be positive");
        }
        if settings.max_buffered_records == 0 {
            return invalid("max_buffered_records", "must be at least 1");
        }
        let ports = <J::Inputs as InputPorts>::PORTS;
        let mut sources = Vec::with_capacity(inputs.len());
        for (info, input) in ports.iter().zip(inputs) {
            match input {
                Some(input) => sources.push((info.name, input)),
                None => {
                    return Err(StartError::UnboundInput {
                        job: job_name,
                        port: info.name,
                    });
                }
            }
        }
        let batch_interval = Duration::from_millis(plan.batch_interval_ms);
        let thread_error = |name: &str| {
            let name = name.to_owned();
            move |source| StartError::Thread { name, source }
        };
        let (events, bus) = spawn_bus(listeners).map_err(thread_error("streamflow-listeners"))?;
        let budget = Arc::new(Budget::new(settings.max_buffered_records));

        // Start the sources; on a failure, stop those already started.
        let mut started: Vec<(&'static str, StartedInput)> = Vec::new();
        for (port, input) in sources {
            let env = InputEnv {
                port,
                block_interval: settings.block_interval,
                budget: budget.clone(),
                events: events.clone(),
                max_rate: 0.0,
                restart_backoff: settings.restart_backoff,
            };
            match input.start(env) {
                Ok(s) => started.push((port, s)),
                Err(e) => {
                    for (_, s) in &started {
                        if let Some(r) = &s.receiver {
                            r.request_stop(true);
                        }
                    }
                    events.shutdown();
                    if let Some(bus) = bus {
                        let _ = bus.join();
                    }
                    return Err(e);
                }
            }
        }

        let receivers: Vec<(&'static str, Arc<dyn ReceiverControl>)> = started
            .iter()
            .filter_map(|(port, s)| s.receiver.clone().map(|r| (*port, r)))
            .collect();
        let counters = started.iter().map(|(port, s)| (*port, s.counters.clone())).collect();
        let shared = Arc::new(Shared {
            job: job_name,
            batch_interval,
            state: Mutex::new(RunState::default()),
            changed: Condvar::new(),
            budget: budget.clone(),
            receivers,
            counters,
            mode: AtomicU8::new(MODE_RUNNING),
            discard: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            stop_timeout: settings.stop_timeout,
            threads: Mutex::new(Vec::new()),
        });
        if let Some(bus) = &bus {
            lock(&shared.threads).push(bus.thread().id());
        }

        let (tx, rx) = mpsc::channel::<QueuedBatch>();
        let zero = clock.now();
        let mut feeds = Vec::with_capacity(started.len());
        for (index, (port, s)) in started.into_iter().enumerate() {
            tracing::info!(job = job_name, input = port, source = %s.description, "input started");
            feeds.push((index, port, s.feed));
        }
        let pid: Vec<_> = shared
            .receivers
            .iter()
            .map(|(port, control)| {
                let index = ports.iter().position(|p| p.name == *port).unwrap_or(0);
                (
                    index,
                    PidRateEstimator::new(batch_interval, settings.pid),
                    control.clone(),
                )
            })
            .collect();

        let driver = Driver {
            job,
            outputs,
            shared: shared.clone(),
            settings: settings.clone(),
            pid,
            status: StatusDrawer::new(settings.status_line, batch_interval),
            events: events.clone(),
            bus,
        };
        let generator_shared = shared.clone();
        let generator_events = events.clone();
        let generator = std::thread::Builder::new()
            .name("streamflow-generator".into())
            .spawn(move || {
                generate(generator_shared, clock, zero, feeds, tx, generator_events);
            });
        if let Err(e) = generator {
            shared.request_stop(false);
            events.shutdown();
            return Err(thread_error("streamflow-generator")(e));
        }
        let driver_thread = std::thread::Builder::new()
            .name("streamflow-driver".into())
            .spawn(move || driver.run(rx));
        match driver_thread {
            Ok(handle) => lock(&shared.threads).push(handle.thread().id()),
            Err(e) => {
                // Without a driver nothing would end the generator: stop it.
                shared.mode.store(MODE_STOP, Ordering::SeqCst);
                shared.request_stop(false);
                events.shutdown();
                return Err(thread_error("streamflow-driver")(e));
            }
        }
        events.send(StreamingEvent::Started { batch_interval });
        tracing::info!(
            job = job_name,
            interval_ms = plan.batch_interval_ms,
            "streaming started"
        );
        Ok(StreamingHandle {
            inner: Arc::new(HandleInner { shared }),
        })
    }
}

fn unexpected_value() -> SinkError {
    SinkError::Other("the job's output port gave a value of an unexpected type".to_owned())
}

const MODE_RUNNING: u8 = 0;
const MODE_DRAIN: u8 = 1;
const MODE_STOP: u8 = 2;

#[derive(Default)]
struct RunState {
    terminated: bool,
    error: Option<StreamingError>,
    error_message: Option<String>,
    history: VecDeque<BatchInfo>,
    completed: u64,
    queued: usize,
}

/// What the handle, the generator and the driver share.
struct Shared {
    job: &'static str,
    batch_interval: Duration,
    state: Mutex<RunState>,
    changed: Condvar,
    budget: Arc<Budget>,
    receivers: Vec<(&'static str, Arc<dyn ReceiverControl>)>,
    counters: Vec<(&'static str, Arc<InputCounters>)>,
    mode: AtomicU8,
    discard: AtomicBool,
    stopping: AtomicBool,
    stop_timeout: Duration,
    /// The driver's and listener thread's ids: a stop asked from them must
    /// not wait for them.
    threads: Mutex<Vec<ThreadId>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves its data consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, RunState> {
        lock(&self.state)
    }

    /// Stops the job: immediately (receivers abort, queued batches are
    /// dropped, the batch running finishes) or gracefully (receivers finish,
    /// everything received is processed).
    fn request_stop(&self, graceful: bool) {
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

    fn on_own_thread(&self) -> bool {
        lock(&self.threads).contains(&std::thread::current().id())
    }

    fn take_result(&self, state: &mut RunState) -> Result<(), StreamingError> {
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
struct QueuedBatch {
    time: Time,
    pendings: Vec<(usize, Box<dyn Pending>)>,
    submitted: Instant,
    info: BatchInfo,
}

/// The generator thread: cuts a batch at every batch time.
fn generate(
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
struct Driver<J: Job> {
    job: J,
    outputs: Vec<Vec<BoundSink>>,
    shared: Arc<Shared>,
    settings: Settings,
    pid: Vec<(usize, PidRateEstimator, Arc<dyn ReceiverControl>)>,
    status: StatusDrawer,
    events: EventSender,
    bus: Option<std::thread::JoinHandle<()>>,
}

impl<J: Job> Driver<J> {
    fn run(mut self, rx: mpsc::Receiver<QueuedBatch>) {
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
                let message = super::panic_message(&*panic);
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
                    .unwrap_or_else(|panic| Err(SinkError::Panicked(super::panic_message(&*panic))));
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
    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Stops the job. Immediately (`graceful = false`): receivers stop at
    /// once, the batch running finishes, queued batches are dropped.
    /// Gracefully: receivers finish what they are storing, then everything
    /// received is processed and written before this returns. Returns the
    /// job's error if a batch failed. Called from a sink or a listener, it
    /// starts the stop and returns without waiting.
    pub fn stop(&self, graceful: bool) -> Result<(), StreamingError> {
        let shared = self.inner.shared.clone();
        if shared.on_own_thread() {
            // Waiting here would wait for ourselves.
            let _ = std::thread::Builder::new()
                .name("streamflow-stop".into())
                .spawn(move || shared.request_stop(graceful));
            return Ok(());
        }
        shared.request_stop(graceful);
        self.await_termination()
    }

    /// Waits until the job has stopped (by `stop`, or because a batch
    /// failed) and returns its error, if any.
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
        self.shared().budget.used()
    }

    /// The most records ever held at once (never more than the bound).
    pub fn peak_buffered_records(&self) -> usize {
        self.shared().budget.peak()
    }

    /// The batch interval.
    pub fn batch_interval(&self) -> Duration {
        self.shared().batch_interval
    }
}

impl std::fmt::Debug for StreamingHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingHandle")
            .field("job", &self.shared().job)
            .field("terminated", &self.is_terminated())
            .finish()
    }
}

impl<J: Job> std::fmt::Debug for StreamingContext<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingContext")
            .field("job", &self.job.plan().job)
            .field("settings", &self.settings)
            .finish()
    }
}
