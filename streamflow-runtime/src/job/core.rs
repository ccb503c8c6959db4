//! The engine behind every generated job: its per-batch body, its state, its
//! configuration and thread pool; and the preparation of input batches.

use super::context::BatchContext;
use super::state::JobState;
use crate::panic::catch;
use crate::{Batch, BatchError, ConfigError, JobConfig, Plan, Time};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

thread_local! {
    /// Records read by `prepare_input` on this thread during the current batch
    /// (the body runs on one thread; the count is only logged).
    static INPUT_RECORDS: Cell<usize> = const { Cell::new(0) };
}

/// A job's per-batch body together with the state it reads and updates. The
/// state is a value beside the body, not captured by it, so that it can be
/// saved and restored between batches.
trait Compiled<I, O>: Send {
    fn run(&mut self, ctx: &BatchContext<'_>, inputs: I) -> Result<O, BatchError>;
    fn state(&self) -> &dyn JobState;
    fn state_mut(&mut self) -> &mut dyn JobState;
}

struct Body<S, F> {
    state: S,
    body: F,
}

impl<I, O, S, F> Compiled<I, O> for Body<S, F>
where
    S: JobState,
    F: FnMut(&BatchContext<'_>, &mut S, I) -> Result<O, BatchError> + Send,
{
    fn run(&mut self, ctx: &BatchContext<'_>, inputs: I) -> Result<O, BatchError> {
        (self.body)(ctx, &mut self.state, inputs)
    }

    fn state(&self) -> &dyn JobState {
        &self.state
    }

    fn state_mut(&mut self) -> &mut dyn JobState {
        &mut self.state
    }
}

/// The engine behind every generated job: holds the per-batch body and the
/// job's state, the configuration, the thread pool, checks batch times and
/// records each stage's time.
pub struct JobCore<I, O> {
    plan: &'static Plan,
    config: JobConfig,
    pool: Option<Arc<rayon::ThreadPool>>,
    compiled: Box<dyn Compiled<I, O>>,
    last_time: Option<Time>,
    /// Batch `k` is at `zero + k·d`; windows align to it.
    zero: Time,
    stage_nanos: Vec<AtomicU64>,
    stage_times: Vec<Duration>,
    /// Each input port's partitioning, in port order (empty: every port
    /// the default, [`InputPartitions::Job`]).
    input_partitions: Vec<InputPartitions>,
}

impl<I: 'static, O: 'static> JobCore<I, O> {
    /// Builds the engine of a job whose batches run `body` over `state`;
    /// fails on an invalid configuration or if the thread pool cannot be
    /// created.
    pub fn new<S, F>(plan: &'static Plan, config: JobConfig, state: S, body: F) -> Result<Self, ConfigError>
    where
        S: JobState,
        F: FnMut(&BatchContext<'_>, &mut S, I) -> Result<O, BatchError> + Send + 'static,
    {
        config.validate()?;
        agree_on_job(plan, &config)?;
        let pool = match config.threads {
            Some(n) => {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(move |i| format!("streamflow-{}-{i}", plan.job))
                    .build()
                    .map_err(|e| ConfigError::ThreadPool(e.to_string()))?;
                if config.pin_threads {
                    super::pinning::pin_threads(&pool)?;
                }
                Some(Arc::new(pool))
            }
            None => None,
        };
        Ok(JobCore {
            plan,
            config,
            pool,
            compiled: Box::new(Body { state, body }),
            last_time: None,
            zero: Time::ZERO,
            stage_nanos: plan.stages.iter().map(|_| AtomicU64::new(0)).collect(),
            stage_times: vec![Duration::ZERO; plan.stages.len()],
            input_partitions: Vec::new(),
        })
    }

    /// The same engine, telling drivers how its input ports partition their
    /// batches (in port order), so that a checkpoint can record it.
    pub fn with_input_partitions(mut self, ports: Vec<InputPartitions>) -> Self {
        self.input_partitions = ports;
        self
    }
}

/// On a cluster, every process builds the same job: its name, plan,
/// partition count, batch interval and process count are compared with the
/// other processes' (one round of the mesh), and a difference fails every
/// process, naming it.
fn agree_on_job(plan: &'static Plan, config: &JobConfig) -> Result<(), ConfigError> {
    #[cfg(feature = "cluster")]
    if let Some(mesh) = &config.cluster {
        let mine = crate::cluster::Fingerprint::of_job(plan, config.partitions, mesh.processes());
        return mesh.agree(&mine).map_err(|e| ConfigError::Cluster(e.to_string()));
    }
    let _ = (plan, config);
    Ok(())
}

impl<I, O> JobCore<I, O> {
    /// Runs one batch: checks its time, runs the body on the job's pool, and
    /// turns a panic into an error naming the batch time (and operator, when
    /// the stage that panicked could tell).
    pub fn run(&mut self, time: Time, inputs: I) -> Result<O, BatchError>
    where
        I: Send,
        O: Send,
    {
        self.check_time(time)?;
        // The time is used even if the batch fails: the next batch comes after it.
        self.last_time = Some(time);
        let start = Instant::now();
        for total in &self.stage_nanos {
            total.store(0, Ordering::Relaxed);
        }
        let ctx = BatchContext {
            time,
            config: &self.config,
            plan: self.plan,
            zero: self.zero,
            stage_nanos: &self.stage_nanos,
        };
        let compiled = &mut self.compiled;
        let run = move || {
            INPUT_RECORDS.with(|n| n.set(0));
            let result = catch(|| compiled.run(&ctx, inputs));
            (result, INPUT_RECORDS.with(Cell::get))
        };
        let (result, records) = match &self.pool {
            Some(pool) => pool.install(run),
            None => run(),
        };
        for (time, total) in self.stage_times.iter_mut().zip(&self.stage_nanos) {
            *time = Duration::from_nanos(total.load(Ordering::Relaxed));
        }
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
            Some(previous) if time <= previous => Err(BatchError::TimeNotIncreasing { time, previous }),
            _ => Ok(()),
        }
    }

    /// Sets the job's zero time, before its first batch: batch `k` is then
    /// at `zero + k·d`, and windows emit at multiples of their slide counted
    /// from `zero`. Live jobs start at a wall-clock zero time; a job that is
    /// not told keeps 0.
    pub fn set_zero_time(&mut self, zero: Time) {
        self.zero = zero;
    }

    /// The job's zero time.
    pub fn zero_time(&self) -> Time {
        self.zero
    }

    /// The job's plan.
    pub fn plan(&self) -> &'static Plan {
        self.plan
    }

    /// The job's configuration.
    pub fn config(&self) -> &JobConfig {
        &self.config
    }

    /// The job's state: every window buffer and state store.
    pub fn state(&self) -> &dyn JobState {
        self.compiled.state()
    }

    /// The job's state, to restore it.
    pub fn state_mut(&mut self) -> &mut dyn JobState {
        self.compiled.state_mut()
    }

    /// The time each stage took in the last batch (index = stage id − 1).
    pub fn stage_times(&self) -> &[Duration] {
        &self.stage_times
    }

    /// How each input port partitions its batches, in port order (see
    /// [`Job::input_partitions`](crate::Job::input_partitions)).
    pub fn input_partitions(&self) -> &[InputPartitions] {
        &self.input_partitions
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
    prepare_input_as(ctx, batch, InputPartitions::Job)
}

/// How an input port's batches are partitioned before its first stage, as
/// its declaration says (`input name: Type, partitions = ..;`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputPartitions {
    /// A one-partition batch is split into the job's count
    /// (`JobConfig::partitions`); the default.
    Job,
    /// A one-partition batch is split into this many (`partitions = n`).
    Split(usize),
    /// Every batch keeps its partitions as they arrive (`partitions = keep`):
    /// a receiver's blocks, or one partition for a batch given whole. What
    /// Spark does with a receiver's batch; a `repartition(n)` spreads it later.
    Kept,
}

impl InputPartitions {
    /// What a batch given in one partition becomes, in words, with the job's
    /// partition count `job`: what a checkpoint records of the port, so that
    /// a port that would split a batch run again otherwise is noticed.
    pub fn describe(self, job: usize) -> String {
        match self {
            InputPartitions::Job => format!("split into {}", job.max(1)),
            InputPartitions::Split(n) => format!("split into {}", n.max(1)),
            InputPartitions::Kept => "kept as it arrives".to_owned(),
        }
    }
}

/// [`prepare_input`] with the port's own [`InputPartitions`].
pub fn prepare_input_as<T>(ctx: &BatchContext<'_>, batch: Batch<T>, partitions: InputPartitions) -> Batch<T> {
    let records = batch.len();
    let _ = INPUT_RECORDS.try_with(|n| n.set(n.get() + records));
    let requested = match partitions {
        InputPartitions::Kept => return ctx.keep_owned(batch),
        InputPartitions::Job => None,
        InputPartitions::Split(n) => Some(n),
    };
    if batch.num_partitions() != 1 {
        return ctx.keep_owned(batch);
    }
    let elements = batch.into_partitions().pop().unwrap_or_default();
    if elements.is_empty() {
        return Batch::empty();
    }
    let n = ctx.partitions(requested).min(elements.len());
    ctx.keep_owned(Batch::split(elements, n))
}
