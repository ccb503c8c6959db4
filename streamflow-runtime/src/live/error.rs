//! Errors of live jobs: a job that cannot start, a job that failed, a sink, a
//! source or a receiver that could not do its work.

use super::checkpoint::CheckpointError;
use crate::sinks::SinkError;
use crate::{BatchError, ConfigError, Time};
use std::path::PathBuf;

/// Why a streaming context cannot start (or a binding was refused). Every one
/// of these is a mistake in the program or its configuration, found before
/// any data moves.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// `input`/`output` named a port the job does not have.
    #[error("job `{job}` has no {kind} port `{name}`; its {kind} ports are: {available}")]
    UnknownPort {
        /// The job's name.
        job: &'static str,
        /// "input" or "output".
        kind: &'static str,
        /// The name asked for.
        name: String,
        /// The ports the job has, comma-separated.
        available: String,
    },
    /// The source or sink carries another element type than the port.
    #[error(
        "{kind} port `{port}` of job `{job}` carries `{port_type}`, but the {binding} bound to it carries `{bound_type}`"
    )]
    PortType {
        /// The job's name.
        job: &'static str,
        /// "input" or "output".
        kind: &'static str,
        /// The port.
        port: &'static str,
        /// "source" or "sink".
        binding: &'static str,
        /// The port's element type.
        port_type: &'static str,
        /// The bound source's or sink's element type.
        bound_type: &'static str,
    },
    /// An input port was bound twice.
    #[error("input port `{port}` is already bound to {existing}")]
    InputBoundTwice {
        /// The port.
        port: &'static str,
        /// What it is bound to.
        existing: String,
    },
    /// An input port has no source at start.
    #[error("input port `{port}` of job `{job}` is not bound: call `.input(\"{port}\", source)` before `start()`")]
    UnboundInput {
        /// The job's name.
        job: &'static str,
        /// The port.
        port: &'static str,
    },
    /// An output port has no sink at start: its batches would be lost
    /// silently, so the job does not start (as Spark refuses a job with an
    /// unused output).
    #[error(
        "output port `{port}` of job `{job}` is not bound: call `.output(\"{port}\", sink)` before `start()`, \
         or `.output(\"{port}\", sinks::discard())` to drop its batches on purpose"
    )]
    UnboundOutput {
        /// The job's name.
        job: &'static str,
        /// The port.
        port: &'static str,
    },
    /// The job's batch interval is zero.
    #[error("job `{job}` has a batch interval of 0 ms; it must be positive")]
    ZeroBatchInterval {
        /// The job's name.
        job: &'static str,
    },
    /// A setting of the context is out of range.
    #[error("invalid setting `{setting}`: {reason}")]
    InvalidSetting {
        /// The setting.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `text_file_stream` was given a directory that does not exist (or is not
    /// a directory).
    #[error("input port `{port}`: cannot watch directory {}: {reason}", path.display())]
    Directory {
        /// The port.
        port: &'static str,
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// `socket_text_stream` was given an address that cannot be resolved.
    #[error("input port `{port}`: cannot resolve address `{address}`: {reason}")]
    Address {
        /// The port.
        port: &'static str,
        /// The address as given.
        address: String,
        /// Why.
        reason: String,
    },
    /// A [`Source`](super::sources::Source) could not start.
    #[error("input port `{port}`: cannot start {source_name}: {source}")]
    Source {
        /// The port.
        port: &'static str,
        /// The source's name.
        source_name: String,
        /// Why.
        #[source]
        source: SourceError,
    },
    /// The status page cannot listen on its address (in use, not local, not
    /// an address).
    #[error("cannot serve the status page on `{address}`: {reason}")]
    StatusPage {
        /// The address as given.
        address: String,
        /// Why.
        reason: String,
    },
    /// The job's configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The checkpoint directory cannot be used, or its checkpoint cannot be
    /// resumed by this job.
    #[error("checkpoint: {source}")]
    Checkpoint {
        /// The checkpoint directory.
        dir: std::path::PathBuf,
        /// Why.
        #[source]
        source: Box<CheckpointError>,
    },
    /// Stopping on SIGINT/SIGTERM was asked for and cannot be set up.
    #[error("cannot stop on signals: {0}")]
    Signals(String),
    /// A thread could not be started.
    #[error("cannot start thread `{name}`: {source}")]
    Thread {
        /// The thread's name.
        name: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a running job ended with an error (returned by `await_termination` and
/// `stop`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamingError {
    /// A batch failed inside the job (a panicking closure, a failing `print`).
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// A sink bound to an output port failed.
    #[error("batch {time}: sink `{sink}` on output port `{port}` failed: {source}")]
    Sink {
        /// The batch's time.
        time: Time,
        /// The output port.
        port: &'static str,
        /// The sink's name.
        sink: String,
        /// Why.
        #[source]
        source: SinkError,
    },
    /// A source could not cut or deliver a batch's input.
    #[error("batch {time}: the source on input port `{port}` failed: {source}")]
    Source {
        /// The batch's time.
        time: Time,
        /// The input port.
        port: &'static str,
        /// Why.
        #[source]
        source: SourceError,
    },
    /// A checkpoint record could not be written: the batch is not known to
    /// be safe, and fails.
    #[error("batch {time}: checkpoint failed: {source}")]
    Checkpoint {
        /// The batch's time.
        time: Time,
        /// Why.
        #[source]
        source: CheckpointError,
    },
    /// On a cluster: the processes could not end the batch together (the
    /// mesh was lost, or another process failed the batch).
    #[error("batch {time}: on the cluster: {message}")]
    Cluster {
        /// The batch's time.
        time: Time,
        /// What went wrong.
        message: String,
    },
    /// The job failed; its error was returned to an earlier caller of
    /// `await_termination` or `stop` (this is its message).
    #[error("the job failed: {message}")]
    Failed {
        /// The original error's message.
        message: String,
    },
    /// A stop did not end the job in time: a batch is stuck (in a user's
    /// closure, sink or source) and the stop gave up waiting for it. The
    /// job's threads are left to end on their own.
    #[error(
        "the job did not stop within {} ms of an immediate stop (a batch is stuck; {queued} batches queued); its threads are left running",
        waited.as_millis()
    )]
    StopTimedOut {
        /// How long the stop waited.
        waited: std::time::Duration,
        /// Batches queued and not completed.
        queued: usize,
    },
    /// A streaming thread panicked (a bug in streamflow or in a listener).
    #[error("the {thread} thread panicked: {message}")]
    ThreadPanicked {
        /// Which thread.
        thread: &'static str,
        /// The panic message.
        message: String,
    },
}

/// What a [`Source`](super::sources::Source) returns when it cannot do its
/// work: any error (`"message".into()` makes one from text).
pub type SourceError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a receiver returns when it gives up on its current attempt: the
/// supervisor reports it and restarts the receiver after a backoff.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ReceiverError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ReceiverError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        ReceiverError {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and its cause.
    pub fn with_source(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        ReceiverError {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// The message followed by its causes, for logs and listeners.
    pub fn full_message(&self) -> String {
        let mut text = self.message.clone();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = self.source.as_deref().map(|e| e as _);
        while let Some(e) = cause {
            text.push_str(": ");
            text.push_str(&e.to_string());
            cause = e.source();
        }
        text
    }
}

impl From<std::io::Error> for ReceiverError {
    fn from(e: std::io::Error) -> Self {
        ReceiverError::with_source("I/O error", e)
    }
}
