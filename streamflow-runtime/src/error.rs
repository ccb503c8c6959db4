//! Errors of the runtime: a batch that failed, a job that cannot start.

use crate::Time;

/// Why a batch failed. The batch's outputs were not delivered; the job can go
/// on with the next batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// A user closure panicked; the operator is the one whose source span holds
    /// the panic's location.
    #[error("batch {time} failed: `{operator}` at {file}:{line} panicked: {message}")]
    OperatorPanicked {
        /// The batch's time.
        time: Time,
        /// The operator's name.
        operator: &'static str,
        /// The job's source file.
        file: &'static str,
        /// The operator's line.
        line: u32,
        /// The panic message.
        message: String,
    },
    /// Code called from a stage panicked outside any operator's span (in a
    /// function the closure called, say): the stage and its operators are named.
    #[error("batch {time} failed in stage {stage} ({operators}): panicked at {location}: {message}")]
    StagePanicked {
        /// The batch's time.
        time: Time,
        /// The 1-based stage number, as `explain()` shows it.
        stage: usize,
        /// The stage's operators with their lines, e.g. "map (line 12), filter (line 13)".
        operators: String,
        /// Where the panic happened (`file:line:column`), if known.
        location: String,
        /// The panic message.
        message: String,
    },
    /// The batch's time is not after the previous batch's.
    #[error("batch time {time} is not after the previous batch time {previous}")]
    TimeNotIncreasing {
        /// The rejected time.
        time: Time,
        /// The previous batch's time.
        previous: Time,
    },
    /// The batch's time is not a positive multiple of the batch interval.
    #[error("batch time {time} is not a positive multiple of the batch interval ({interval_ms} ms)")]
    TimeNotOnInterval {
        /// The rejected time.
        time: Time,
        /// The job's batch interval in milliseconds.
        interval_ms: u64,
    },
    /// An output operator could not write.
    #[error("batch {time}: output `{operator}` at line {line} failed: {source}")]
    Output {
        /// The batch's time.
        time: Time,
        /// The output operator.
        operator: &'static str,
        /// Its line.
        line: u32,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file output operator (`save_as_text_files`, `save_as_object_files`)
    /// could not write its batch.
    #[error("batch {time}: output `{operator}` at line {line} failed: {source}")]
    Sink {
        /// The batch's time.
        time: Time,
        /// The output operator.
        operator: &'static str,
        /// Its line.
        line: u32,
        /// What went wrong.
        #[source]
        source: crate::sinks::SinkError,
    },
    /// Running on a cluster failed in stage `stage`: a process was lost, or
    /// the stage's operator does not run on a cluster yet.
    #[error("batch {time} failed in stage {stage} on the cluster: {message}")]
    Cluster {
        /// The batch's time.
        time: Time,
        /// The 1-based stage number, as `explain()` shows it.
        stage: usize,
        /// What went wrong.
        message: String,
    },
}

/// Why a job cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `JobConfig::threads(0)`.
    #[error("a job needs at least one thread (got threads(0))")]
    ZeroThreads,
    /// `JobConfig::partitions(0)`.
    #[error("a job needs at least one partition (got partitions(0))")]
    ZeroPartitions,
    /// The thread pool could not be created.
    #[error("cannot create the job's thread pool: {0}")]
    ThreadPool(String),
    /// `JobConfig::pin_threads` without `JobConfig::threads`: only the job's
    /// own pool is bound to CPUs.
    #[error("pin_threads() binds the threads of the job's own pool: set threads(n) too")]
    PinningWithoutThreads,
    /// The job's threads could not be bound to CPUs.
    #[error("cannot pin the job's threads: {0}")]
    Pinning(String),
    /// The processes of the job's cluster do not run the same job, or the
    /// mesh failed while they compared (feature `cluster`).
    #[error("{0}")]
    Cluster(String),
}
