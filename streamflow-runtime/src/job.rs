//! The job abstraction the runtime drives, its configuration, and the context
//! a batch runs in.

use crate::panic::catch;
use crate::{Batch, BatchError, ConfigError, Plan, Time};
use std::cell::Cell;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

thread_local! {
    /// Records read by `prepare_input` on this thread during the current batch
    /// (the body runs on one thread; the count is only logged).
    static INPUT_RECORDS: Cell<usize> = const { Cell::new(0) };
}

/// A compiled `stream_job!`: typed inputs in, typed outputs out, one batch at a
/// time. Implemented by the code the macro generates; drivers (the test runner,
/// the live scheduler) see a job only through this trait.
pub trait Job: Send {
    /// One batch of every input port (a generated struct, `<Job>Inputs`).
    type Inputs: Default + Send;
    /// One batch of every output port (a generated struct, `<Job>Outputs`).
    type Outputs: Send;

    /// The stage plan, produced at compile time.
    fn plan(&self) -> &'static Plan;

    /// The configuration the job was built with.
    fn config(&self) -> &JobConfig;

    /// Runs one batch. `time` must be later than the previous batch's time and
    /// a multiple of the batch interval. A panic in a user closure is caught
    /// and returned as [`BatchError::OperatorPanicked`].
    fn run_batch(&mut self, time: Time, inputs: Self::Inputs) -> Result<Self::Outputs, BatchError>;
}

/// How a job runs: threads, partitions, where `print` writes.
#[derive(Clone)]
pub struct JobConfig {
    pub(crate) threads: Option<usize>,
    pub(crate) partitions: usize,
    pub(crate) print_target: PrintTarget,
}

/// Where the `print` output operator writes.
#[derive(Clone, Default)]
pub enum PrintTarget {
    /// Standard output (the default).
    #[default]
    Stdout,
    /// A shared writer, for capturing output in tests.
    Writer(Arc<Mutex<dyn Write + Send>>),
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig {
            threads: None,
            partitions: default_partitions(),
            print_target: PrintTarget::Stdout,
        }
    }
}

fn default_partitions() -> usize {
    // Several tasks per thread keep each task's hash map small enough to stay in
    // cache and balance uneven partitions (measured: see benches/fusion.rs).
    rayon::current_num_threads().max(1) * 4
}

impl JobConfig {
    /// The default configuration: rayon's global pool, four partitions per thread.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs the job on its own pool of `n` threads instead of rayon's global pool.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n);
        self
    }

    /// The number of partitions of shuffle outputs and of single-partition inputs.
    pub fn partitions(mut self, n: usize) -> Self {
        self.partitions = n;
        self
    }

    /// Sends `print` output to `writer` instead of standard output.
    pub fn print_to(mut self, writer: Arc<Mutex<dyn Write + Send>>) -> Self {
        self.print_target = PrintTarget::Writer(writer);
        self
    }

    /// The number of shuffle partitions.
    pub fn partition_count(&self) -> usize {
        self.partitions
    }

    /// The configured thread count, if the job has its own pool.
    pub fn thread_count(&self) -> Option<usize> {
        self.threads
    }

    /// Checks the configuration (a thread or partition count of zero is an error).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.threads == Some(0) {
            return Err(ConfigError::ZeroThreads);
        }
        if self.partitions == 0 {
            return Err(ConfigError::ZeroPartitions);
        }
        Ok(())
    }
}

/// What one batch runs in: its time, the job's configuration and plan.
/// Created by [`JobCore`] for every batch and passed to every stage call.
pub struct BatchContext<'a> {
    /// The batch's time.
    pub time: Time,
    /// The job's configuration.
    pub config: &'a JobConfig,
    /// The job's stage plan.
    pub plan: &'static Plan,
}

impl BatchContext<'_> {
    /// The number of partitions a shuffle produces when the operator names none.
    pub fn partitions(&self, requested: Option<usize>) -> usize {
        requested.unwrap_or(self.config.partitions).max(1)
    }
}

/// The per-batch body of a generated job: the whole dataflow as one closure.
pub type JobBody<I, O> = Box<dyn FnMut(&BatchContext<'_>, I) -> Result<O, BatchError> + Send>;

/// The engine behind every generated job: holds the per-batch body, the
/// configuration, the thread pool, and checks batch times.
pub struct JobCore<I, O> {
    pub(crate) plan: &'static Plan,
    pub(crate) config: JobConfig,
    pub(crate) pool: Option<Arc<rayon::ThreadPool>>,
    pub(crate) body: JobBody<I, O>,
    pub(crate) last_time: Option<Time>,
}

impl<I: Send, O: Send> JobCore<I, O> {
    /// Builds the engine; fails on an invalid configuration or if the thread
    /// pool cannot be created.
    pub fn new(
        plan: &'static Plan,
        config: JobConfig,
        body: JobBody<I, O>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let pool = match config.threads {
            Some(n) => Some(Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(move |i| format!("streamflow-{}-{i}", plan.job))
                    .build()
                    .map_err(|e| ConfigError::ThreadPool(e.to_string()))?,
            )),
            None => None,
        };
        Ok(JobCore {
            plan,
            config,
            pool,
            body,
            last_time: None,
        })
    }

    /// Runs one batch: checks its time, runs the body on the job's pool, and
    /// turns a panic into an error naming the batch time (and operator, when
    /// the stage that panicked could tell).
    pub fn run(&mut self, time: Time, inputs: I) -> Result<O, BatchError> {
        self.check_time(time)?;
        // The time is used even if the batch fails: the next batch comes after it.
        self.last_time = Some(time);
        let start = Instant::now();
        let ctx = BatchContext {
            time,
            config: &self.config,
            plan: self.plan,
        };
        let body = &mut self.body;
        let run = move || {
            INPUT_RECORDS.with(|n| n.set(0));
            let result = catch(|| body(&ctx, inputs));
            (result, INPUT_RECORDS.with(Cell::get))
        };
        let (result, records) = match &self.pool {
            Some(pool) => pool.install(run),
            None => run(),
        };
        let result = result.unwrap_or_else(|caught| Err(caught.into_body_error(self.plan, time)));
        tracing::debug!(
            job = self.plan.job,
            time_ms = time.as_millis(),
            records,
            elapsed_us = start.elapsed().as_micros() as u64,
            ok = result.is_ok(),
            "batch done"
        );
        result
    }

    /// Checks that `time` is a positive multiple of the batch interval, later
    /// than the previous batch.
    fn check_time(&self, time: Time) -> Result<(), BatchError> {
        let interval_ms = self.plan.batch_interval_ms;
        let ms = time.as_millis();
        if ms == 0 || interval_ms == 0 || !ms.is_multiple_of(interval_ms) {
            return Err(BatchError::TimeNotOnInterval { time, interval_ms });
        }
        match self.last_time {
            Some(previous) if time <= previous => {
                Err(BatchError::TimeNotIncreasing { time, previous })
            }
            _ => Ok(()),
        }
    }

    /// The job's plan.
    pub fn plan(&self) -> &'static Plan {
        self.plan
    }

    /// The job's configuration.
    pub fn config(&self) -> &JobConfig {
        &self.config
    }
}

/// Prepares an input port's batch: a single-partition batch is split into the
/// configured number of partitions (in order), so that the first stage runs in
/// parallel; a batch with several partitions (from a receiver's blocks) is kept.
///
/// A single partition of `len` elements becomes `min(partitions, len)`
/// contiguous chunks of near-equal size; an empty one becomes a batch with no
/// partitions.
pub fn prepare_input<T>(ctx: &BatchContext<'_>, batch: Batch<T>) -> Batch<T> {
    let records = batch.len();
    let _ = INPUT_RECORDS.try_with(|n| n.set(n.get() + records));
    if batch.num_partitions() != 1 {
        return batch;
    }
    let elements = batch.into_partitions().pop().unwrap_or_default();
    if elements.is_empty() {
        return Batch::empty();
    }
    let n = ctx.partitions(None).min(elements.len());
    Batch::split(elements, n)
}
