//! The job abstraction the runtime drives, its configuration, and the context
//! a batch runs in.

use crate::panic::catch;
use crate::{Batch, BatchError, ConfigError, InputPorts, OutputPorts, Plan, Time};
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
    type Inputs: InputPorts;
    /// One batch of every output port (a generated struct, `<Job>Outputs`).
    type Outputs: OutputPorts;

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

impl<I, O> JobCore<I, O> {
    /// Builds the engine; fails on an invalid configuration or if the thread
    /// pool cannot be created.
    pub fn new(plan: &'static Plan, config: JobConfig, body: JobBody<I, O>) -> Result<Self, ConfigError> {
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
    pub fn run(&mut self, time: Time, inputs: I) -> Result<O, BatchError>
    where
        I: Send,
        O: Send,
    {
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
            Some(previous) if time <= previous => Err(BatchError::TimeNotIncreasing { time, previous }),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{config, ctx, empty_plan, op, plan};
    use crate::typing::Stream;
    use crate::{outputs, shuffle};

    #[test]
    fn invalid_configurations_are_rejected() {
        let err = JobConfig::new().threads(0).validate().unwrap_err();
        assert_eq!(err.to_string(), "a job needs at least one thread (got threads(0))");
        let err = JobConfig::new().partitions(0).validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "a job needs at least one partition (got partitions(0))"
        );
        assert!(JobConfig::new().threads(2).partitions(3).validate().is_ok());
        let body: JobBody<(), ()> = Box::new(|_, ()| Ok(()));
        assert!(matches!(
            JobCore::new(empty_plan(), JobConfig::new().threads(0), body),
            Err(ConfigError::ZeroThreads)
        ));
    }

    fn unit_core(plan: &'static Plan) -> JobCore<(), ()> {
        JobCore::new(plan, JobConfig::new(), Box::new(|_, ()| Ok(()))).unwrap()
    }

    #[test]
    fn batch_times_must_be_increasing_multiples_of_the_interval() {
        let mut core = unit_core(empty_plan());
        let err = core.run(Time::ZERO, ()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "batch time 0 ms is not a positive multiple of the batch interval (1000 ms)"
        );
        let err = core.run(Time::from_millis(1500), ()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "batch time 1500 ms is not a positive multiple of the batch interval (1000 ms)"
        );
        core.run(Time::from_secs(2), ()).unwrap();
        let err = core.run(Time::from_secs(1), ()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "batch time 1000 ms is not after the previous batch time 2000 ms"
        );
        let err = core.run(Time::from_secs(2), ()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "batch time 2000 ms is not after the previous batch time 2000 ms"
        );
        core.run(Time::from_secs(5), ()).unwrap();
    }

    #[test]
    fn the_body_runs_on_the_jobs_own_pool_and_its_errors_pass_through() {
        let body: JobBody<(), String> = Box::new(|ctx, ()| {
            if ctx.time == Time::from_secs(2) {
                return Err(BatchError::TimeNotOnInterval {
                    time: ctx.time,
                    interval_ms: 7,
                });
            }
            Ok(std::thread::current().name().unwrap_or("").to_owned())
        });
        let mut core = JobCore::new(empty_plan(), JobConfig::new().threads(1), body).unwrap();
        assert_eq!(core.run(Time::from_secs(1), ()).unwrap(), "streamflow-Test-0");
        assert!(matches!(
            core.run(Time::from_secs(2), ()),
            Err(BatchError::TimeNotOnInterval { interval_ms: 7, .. })
        ));
        assert_eq!(core.config().thread_count(), Some(1));
    }

    #[test]
    fn a_panic_in_the_body_itself_is_an_error() {
        let plan = plan(file!(), vec![vec![op("map", 3)]]);
        let body: JobBody<(), ()> = Box::new(|_, ()| panic!("generated code broke"));
        let mut core = JobCore::new(plan, JobConfig::new(), body).unwrap();
        let err = core.run(Time::from_secs(1), ()).unwrap_err();
        assert!(
            matches!(&err, BatchError::StagePanicked { stage: 0, operators, message, .. }
                if operators == "unknown" && message == "generated code broke"),
            "{err}"
        );
        // The job goes on.
        let err = core.run(Time::from_secs(2), ()).unwrap_err();
        assert!(matches!(err, BatchError::StagePanicked { .. }));
    }

    #[test]
    fn prepare_input_splits_single_partitions_only() {
        let config = config(4);
        let ctx = ctx(empty_plan(), &config);
        let split = prepare_input(&ctx, Batch::from_vec((0..10).collect()));
        assert_eq!(
            split.partitions(),
            &[vec![0, 1, 2], vec![3, 4, 5], vec![6, 7], vec![8, 9]]
        );
        let small = prepare_input(&ctx, Batch::from_vec(vec![1, 2]));
        assert_eq!(small.partitions(), &[vec![1], vec![2]]);
        let empty = prepare_input(&ctx, Batch::<i32>::from_vec(vec![]));
        assert_eq!(empty.num_partitions(), 0);
        let blocks = Batch::from_partitions(vec![vec![1], vec![2, 3, 4, 5, 6]]);
        assert_eq!(prepare_input(&ctx, blocks.clone()), blocks);
        assert_eq!(prepare_input(&ctx, Batch::<i32>::empty()), Batch::empty());
    }

    #[derive(Default)]
    struct Inputs {
        lines: Batch<String>,
    }

    struct Outputs {
        counts: Batch<(String, u64)>,
    }

    #[test]
    fn a_word_count_written_like_the_generated_code() {
        let s_lines = Stream::<String>::input();
        let (f_flat, s1) =
            s_lines.flat_map(|line: String| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>());
        let (f_map, s2) = s1.map(|w| (w, 1u64));
        let (f_red, _s3, _pairs) = s2.reduce_by_key(|a, b| a + b);
        let capture = crate::testing::PrintCapture::new();
        let body: JobBody<Inputs, Outputs> = Box::new(move |ctx: &BatchContext<'_>, inputs: Inputs| {
            let lines = prepare_input(ctx, inputs.lines);
            let counts = shuffle::reduce_by_key(
                ctx,
                0,
                lines,
                |x0, out| {
                    for x1 in f_flat(x0) {
                        let x2 = f_map(x1);
                        out.push(x2);
                    }
                },
                &f_red,
                None,
                |x, out| out.push(x),
            )?;
            outputs::print(ctx, 0, &counts, 10)?;
            Ok(Outputs { counts })
        });
        let config = JobConfig::new().partitions(3).print_to(capture.writer());
        let mut core = JobCore::new(empty_plan(), config, body).unwrap();
        let lines = Batch::from_vec(vec!["a b a".to_owned(), "c a".to_owned(), "b".to_owned()]);
        let out = core.run(Time::from_millis(1000), Inputs { lines }).unwrap();
        let expected = vec![("a".to_owned(), 3), ("b".to_owned(), 2), ("c".to_owned(), 1)];
        assert_eq!(out.counts.sorted(), expected);
        assert!(capture.take_string().contains("Time: 1000 ms"));
        let out = core.run(Time::from_millis(2000), Inputs::default()).unwrap();
        assert!(out.counts.is_empty());
    }
}
