//! The builder of a live job: [`StreamingContext`] binds sources and sinks to
//! a job's ports by name, checking their types, and holds the settings (block
//! interval, buffering, backpressure, stop, status line, listeners, clock).
//! `start` hands all of it to [`launch`](super::launch), which starts the
//! threads and returns a [`StreamingHandle`].

use super::bound_sink::BoundSink;
use super::clock::{Clock, SystemClock};
use super::error::StartError;
use super::handle::StreamingHandle;
use super::launch::{Setup, launch};
use super::listener::StreamingListener;
use super::rate::PidSettings;
use super::settings::Settings;
use super::sources::Input;
use super::status_line::StatusLine;
use super::stderr_report::StderrReporter;
use super::stop_handle::StopHandle;
use crate::sinks::Sink;
use crate::{InputPorts, Job, OutputPorts, PortInfo};
use std::any::TypeId;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A job ready to run live: bind every input port to a source and any output
/// ports to sinks, tune it, then [`start`](Self::start) it.
///
/// A job whose [`JobConfig`](crate::JobConfig) has a cluster's mesh
/// (feature `cluster`) runs live on that cluster: start the same context on
/// every process. They agree on process 0's zero time, run every batch
/// together (also empty ones, and each ends only once every process has
/// ended it), read their share of each directory source, and file sinks
/// write each partition where it was computed. Sockets and receivers run on
/// process 0 only; queue streams are refused at start there. Checkpoints
/// need one directory shared by every process.
///
/// ```
/// use std::time::Duration;
/// use streamflow::live::{StreamingContext, sinks, sources};
/// use streamflow::prelude::*;
///
/// stream_job! {
///     /// Shouts its lines.
///     pub job Shout {
///         batch_interval = 100ms;
///         input lines: String;
///         output loud: String = lines.map(|line| line.to_uppercase());
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (sink, collected) = sinks::collect::<String>();
/// let handle = StreamingContext::new(Shout::new())
///     .input("lines", sources::queue_stream([vec!["hello".to_owned()]]))?
///     // Generic sinks (print, files) need the port's element type spelled
///     // out; it is checked against the port when binding.
///     .output::<String>("loud", sinks::print(10))?
///     .output("loud", sink)?
///     .start()?;
/// handle.wait_for_batches(1, Duration::from_secs(10));
/// handle.stop(false)?;
/// assert_eq!(collected.batches()[0].1, ["HELLO"]);
/// # Ok(()) }
/// ```
pub struct StreamingContext<J: Job> {
    setup: Setup<J>,
    /// Linked to the job when it starts (see [`stop_handle`](Self::stop_handle)).
    stop: StopHandle,
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
    /// blocks, backpressure on) and at most 1 000 000 buffered records and
    /// 256 MiB of buffered records' bytes.
    pub fn new(job: J) -> Self {
        let inputs = <J::Inputs as InputPorts>::PORTS.iter().map(|_| None).collect();
        let outputs = <J::Outputs as OutputPorts>::PORTS.iter().map(|_| Vec::new()).collect();
        StreamingContext {
            setup: Setup {
                job,
                inputs,
                outputs,
                settings: Settings::default(),
                listeners: Vec::new(),
                clock: Arc::new(SystemClock::new()),
                idle_batches: None,
            },
            stop: StopHandle::default(),
        }
    }

    /// A handle that stops this context's job, to give to a listener or a
    /// sink before [`start`](Self::start) (Spark's `onReceiverError ->
    /// ssc.stop()`): a stop it asks for while `start()` runs is carried out
    /// as soon as the job is running, never lost. See [`StopHandle`].
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    fn job_name(&self) -> &'static str {
        self.setup.job.plan().job
    }

    /// Binds input port `port` to `source`. Fails if the job has no such port
    /// (the error lists its ports), if the port carries another type than
    /// the source, or if the port is bound already.
    pub fn input<T: Send + 'static>(mut self, port: &str, source: Input<T>) -> Result<Self, StartError> {
        let ports = <J::Inputs as InputPorts>::PORTS;
        let index = self.find_port(ports, "input", port)?;
        let info = &ports[index];
        self.check_type::<T>(info, "input", "source")?;
        if let Some(existing) = &self.setup.inputs[index] {
            return Err(StartError::InputBoundTwice {
                port: info.name,
                existing: existing.description().to_owned(),
            });
        }
        // Checked against the port: from here on only the port's index matters.
        self.setup.inputs[index] = Some(source.retype());
        Ok(self)
    }

    /// Binds a sink to output port `port`; several sinks may be bound to one
    /// port (they run in binding order). Sinks generic over the element type
    /// (`print`, `save_as_text_files`...) need it named:
    /// `.output::<(String, u64)>("counts", sinks::print(10))`. Fails like
    /// [`input`](Self::input). On a cluster a sink runs on process 0 over the
    /// whole batch, unless it writes in place (the file sinks; see
    /// [`Sink::writes_in_place`]); with the `cluster` feature `T` is then a
    /// serde type ([`Wire`](crate::cluster::Wire)).
    pub fn output<T: Send + crate::cluster::Wire + 'static>(
        mut self,
        port: &str,
        sink: impl Sink<T>,
    ) -> Result<Self, StartError> {
        let ports = <J::Outputs as OutputPorts>::PORTS;
        let index = self.find_port(ports, "output", port)?;
        let info = &ports[index];
        self.check_type::<T>(info, "output", "sink")?;
        self.setup.outputs[index].push(BoundSink::new(sink, info.sometimes));
        Ok(self)
    }

    fn find_port(&self, ports: &[PortInfo], kind: &'static str, name: &str) -> Result<usize, StartError> {
        let plan = self.setup.job.plan();
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
        self.setup.settings.block_interval = interval;
        self
    }

    /// The most records receivers may hold at once, stored and not yet
    /// processed (queued batches included). When reached, receivers wait
    /// (a socket stops reading, so the sender is slowed by TCP). Default
    /// 1 000 000.
    pub fn max_buffered_records(mut self, records: usize) -> Self {
        self.setup.settings.max_buffered_records = records;
        self
    }

    /// The most bytes receivers may hold at once in records stored and not
    /// yet processed (queued batches included), as estimated by
    /// [`ByteSize`](super::ByteSize) (for a socket: each line's length plus
    /// a string's own 24 bytes). Receivers wait when it is reached, as for
    /// [`max_buffered_records`](Self::max_buffered_records); whichever bound
    /// is reached first holds. A single record larger than the whole bound
    /// is stored alone. The directory source reads its files within the
    /// same bound, each batch as many lines as the bytes free at its cut
    /// hold (see [`text_file_stream`](super::sources::text_file_stream)).
    /// Default 256 MiB.
    pub fn max_buffered_bytes(mut self, bytes: usize) -> Self {
        self.setup.settings.max_buffered_bytes = bytes;
        self
    }

    /// The most batches cut and not yet completed. When the driver is that
    /// far behind, no batch is cut until one completes: what receivers store
    /// meanwhile goes to the next batch cut (so that batch holds more than
    /// one interval's records), and the delay shows in its scheduling delay
    /// and in [`StreamingHandle::queued_batches`]. Default 1 000.
    pub fn max_queued_batches(mut self, batches: usize) -> Self {
        self.setup.settings.max_queued_batches = batches;
        self
    }

    /// Whether receivers are slowed down to the rate the job keeps up with,
    /// estimated after every batch (Spark's `backpressure.enabled`). On by
    /// default; the memory bound holds either way.
    pub fn backpressure(mut self, enabled: bool) -> Self {
        self.setup.settings.backpressure = enabled;
        self
    }

    /// The gains of the rate estimator behind backpressure (Spark's defaults
    /// otherwise).
    pub fn rate_estimator(mut self, settings: PidSettings) -> Self {
        self.setup.settings.pid = settings;
        self
    }

    /// The delay before restarting a failed receiver: `initial`, doubling
    /// after each failure without progress, up to `max`. Default 100 ms to 2 s.
    pub fn restart_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.setup.settings.restart_backoff = (initial, max.max(initial));
        self
    }

    /// How long a stop waits for a receiver to finish before giving up on it
    /// (its thread is then left to end on its own). Default 10 s.
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.setup.settings.stop_timeout = timeout;
        self
    }

    /// How long a graceful stop waits for the next batch to complete before
    /// it gives up draining and stops immediately (what is left is counted,
    /// see [`StreamingHandle::stop`]). Default: 10 batch intervals, and at
    /// least the stop timeout (Spark's `gracefulStopTimeout`).
    pub fn graceful_stop_timeout(mut self, timeout: Duration) -> Self {
        self.setup.settings.graceful_stop_timeout = Some(timeout);
        self
    }

    /// Stops the job gracefully when the process gets SIGINT (Ctrl-C) or
    /// SIGTERM, as Spark's `stopGracefullyOnShutdown`: receivers finish,
    /// what was received is processed and written, and
    /// [`StreamingHandle::await_termination`] returns, so that `main` ends
    /// normally. A second signal stops immediately (queued batches are
    /// dropped and counted); a third, or a signal once the job has ended,
    /// does what the signal does by default (the process ends). Unix only.
    pub fn stop_gracefully_on_signals(mut self) -> Self {
        self.setup.settings.stop_on_signals = true;
        self
    }

    /// When to draw the live status line on standard error.
    pub fn status_line(mut self, mode: StatusLine) -> Self {
        self.setup.settings.status_line = mode;
        self
    }

    /// Whether the job writes its problems to standard error (the default:
    /// yes, with or without a `tracing` subscriber): receiver and input
    /// errors (a repeated one once, then counted) and failed batches, each
    /// on a line starting `[streamflow]`; and, when no status line is drawn
    /// (standard error is a file or a pipe), a summary line every
    /// [`summary_interval`](Self::summary_interval) and one at the stop
    /// (batches, failed ones, records, errors). Turn it off when your own
    /// listener or `tracing` subscriber reports them.
    pub fn report_to_stderr(mut self, report: bool) -> Self {
        self.setup.settings.report_to_stderr = report;
        self
    }

    /// How often the summary line of [`report_to_stderr`](Self::report_to_stderr)
    /// is written (default 10 s), and how often a repeated error is written
    /// again with its count.
    pub fn summary_interval(mut self, interval: Duration) -> Self {
        self.setup.settings.summary_interval = interval;
        self
    }

    /// Stops the job (at once: batches already queued are dropped) after
    /// `batches` batches in a row with no input, counted when each batch
    /// ends. On a cluster the count is of every process's input, shared
    /// through the mesh, so every process stops after the same batch. Useful
    /// for jobs over a directory filled beforehand
    /// ([`text_file_stream_with_existing`](crate::live::sources::text_file_stream_with_existing)).
    /// `0` is treated as `1`.
    pub fn stop_after_idle_batches(mut self, batches: u32) -> Self {
        self.setup.idle_batches = Some(batches.max(1));
        self
    }

    /// Whether a failed batch stops the job (the default: the error is
    /// returned by `await_termination`). When false, the failure is reported
    /// and the job goes on with the next batch.
    pub fn stop_on_failure(mut self, stop: bool) -> Self {
        self.setup.settings.stop_on_failure = stop;
        self
    }

    /// Adds a listener; listeners hear every event in order, on one thread.
    pub fn listener(mut self, listener: impl StreamingListener) -> Self {
        self.setup.listeners.push(Box::new(listener));
        self
    }

    /// Checkpoints the job in `dir` (created if missing), so that a job
    /// started again with [`get_or_create`](Self::get_or_create) after a
    /// crash resumes it: before each batch runs, what it reads; after its
    /// outputs are written, a commit record; every
    /// [`checkpoint_interval`](Self::checkpoint_interval), the job's state.
    /// Receivers keep a write-ahead log there.
    ///
    /// `dir` must not hold a checkpoint already (starting fails with
    /// [`CheckpointError::AlreadyUsed`](super::CheckpointError::AlreadyUsed)):
    /// resuming one is `get_or_create`'s. One directory serves one running
    /// job. Every window and state the job keeps must be of serde types;
    /// starting fails otherwise, naming the operator.
    pub fn checkpoint(mut self, dir: impl Into<PathBuf>) -> Self {
        self.setup.settings.checkpoint = Some((dir.into(), false));
        self
    }

    /// Resumes the job from the checkpoint in `dir` if it holds one, else
    /// starts it fresh there (Spark's `StreamingContext.getOrCreate`).
    ///
    /// `build` makes the context as for a fresh start (job, sources, sinks,
    /// settings): a checkpoint holds the job's state and what its batches
    /// read, not its code, so the code is always the program's own. On
    /// [`start`](Self::start), a recovered job restores its newest intact
    /// state snapshot, runs again every batch recorded after it with the
    /// inputs it recorded (at their original times; outputs are written
    /// again only for batches whose commit was not recorded), then goes on
    /// with the live clock. A checkpoint of another job, or one the job's
    /// settings no longer fit (batch interval, partition count, inputs, a
    /// stateful operator whose types changed), fails the start with an error
    /// that says what changed.
    ///
    /// ```no_run
    /// use streamflow::live::{StreamingContext, sinks, sources};
    /// use streamflow::prelude::*;
    ///
    /// stream_job! {
    ///     /// Running totals per word.
    ///     pub job Totals {
    ///         batch_interval = 1s;
    ///         input lines: String;
    ///         let totals = lines
    ///             .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
    ///             .map(|word| (word, 1u64))
    ///             .update_state_by_key(|new: &[u64], old: Option<u64>| Some(old.unwrap_or(0) + new.iter().sum::<u64>()));
    ///         output totals: (String, u64) = totals;
    ///     }
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let handle = StreamingContext::get_or_create("checkpoints/totals", || {
    ///     StreamingContext::new(Totals::new())
    ///         .input("lines", sources::text_file_stream("incoming"))?
    ///         .output::<(String, u64)>("totals", sinks::save_as_text_files("out/totals", "txt"))
    /// })?
    /// .start()?;
    /// if let Some(recovered) = handle.recovery() {
    ///     println!("resumed: {} batches run again", recovered.batches.len());
    /// }
    /// handle.await_termination()?;
    /// # Ok(()) }
    /// ```
    pub fn get_or_create<E>(dir: impl Into<PathBuf>, build: impl FnOnce() -> Result<Self, E>) -> Result<Self, E> {
        let mut context = build()?;
        context.setup.settings.checkpoint = Some((dir.into(), true));
        Ok(context)
    }

    /// How often the job's state is saved (a multiple of the batch
    /// interval). Default, as in Spark: every batch for a batch interval of
    /// 10 s or more, else the smallest multiple of it that is at least 10 s.
    /// A recovery runs again the batches after the last saved state, so a
    /// longer interval costs less while running and more when recovering.
    pub fn checkpoint_interval(mut self, interval: Duration) -> Self {
        self.setup.settings.checkpoint_interval = Some(interval);
        self
    }

    /// How many state snapshots are kept (default 2, at least 1): if the
    /// newest is found damaged at recovery, the job resumes from the one
    /// before it (and says so), running again the batches after it.
    pub fn keep_checkpoints(mut self, snapshots: usize) -> Self {
        self.setup.settings.keep_checkpoints = snapshots.max(1);
        self
    }

    /// Serves a live status page for the job at `address` (`host:port`, for
    /// example `"127.0.0.1:4040"`; port 0 picks a free port, which
    /// [`StreamingHandle::status_page_url`] tells): plots of input rate and
    /// delays, the stage plan, tables of batches and receivers at `/`, JSON at
    /// `/api/status`, Prometheus metrics at `/metrics`. Read-only; it stops
    /// with the job. An address that cannot be bound (a port in use) is an
    /// error of [`start`](Self::start). Needs the `status-page` feature.
    ///
    /// ```no_run
    /// # use streamflow::live::{StreamingContext, sources};
    /// # use streamflow::prelude::*;
    /// # stream_job! { pub job Echo { batch_interval = 1s; input lines: String; output out: String = lines; } }
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let handle = StreamingContext::new(Echo::new())
    ///     .input("lines", sources::socket_text_stream("localhost", 9999))?
    ///     .status_page("127.0.0.1:4040")
    ///     .start()?;
    /// println!("status page: {}", handle.status_page_url().unwrap_or_default());
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "status-page")]
    pub fn status_page(mut self, address: impl Into<String>) -> Self {
        self.setup.settings.status_page = Some(address.into());
        self
    }

    /// Runs on `clock` instead of the system clock (a
    /// [`ManualClock`](super::ManualClock) in tests).
    pub fn clock<C: Clock>(mut self, clock: Arc<C>) -> Self {
        self.setup.clock = clock;
        self
    }

    /// Checks the configuration, starts the sources and the scheduler, and
    /// returns a handle to the running job. The first batch is at the batch
    /// interval after now. Every input port must be bound, and every output
    /// port (bind [`sinks::discard`](crate::sinks::discard) to drop a port's
    /// batches on purpose); a directory that
    /// does not exist or an address that does not resolve is an error here;
    /// a socket server that is not listening yet is not (see
    /// [`socket_text_stream`](super::sources::socket_text_stream)).
    pub fn start(self) -> Result<StreamingHandle, StartError> {
        // The job's own mistakes and its unbound inputs are reported first, by `launch`.
        let plan = self.setup.job.plan();
        let inputs_ready = plan.batch_interval_ms > 0 && self.setup.inputs.iter().all(Option::is_some);
        let ports = <J::Outputs as OutputPorts>::PORTS;
        if inputs_ready
            && let Some((info, _)) = ports
                .iter()
                .zip(&self.setup.outputs)
                .find(|(_, sinks)| sinks.is_empty())
        {
            return Err(StartError::UnboundOutput {
                job: plan.job,
                port: info.name,
            });
        }
        let on_signals = self.setup.settings.stop_on_signals;
        let mut setup = self.setup;
        if setup.settings.report_to_stderr {
            let settings = &setup.settings;
            let reporter = StderrReporter::new(plan.job, settings.summary_interval, settings.status_line.is_drawn());
            setup.listeners.push(Box::new(reporter));
        }
        let handle = launch(setup)?;
        self.stop.attach(handle.shared_arc());
        if on_signals {
            // On an error the handle is dropped, which stops the job.
            super::signals::watch(handle.shared_arc()).map_err(StartError::Signals)?;
        }
        Ok(handle)
    }
}

impl<J: Job> std::fmt::Debug for StreamingContext<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingContext")
            .field("job", &self.setup.job.plan().job)
            .field("settings", &self.setup.settings)
            .finish()
    }
}
