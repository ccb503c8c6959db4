//! Sources bound to a job's input ports: sockets, directories, in-memory
//! queues and custom [`Receiver`]s.
//!
//! A source is an [`Input<T>`], bound with
//! [`StreamingContext::input`](crate::live::StreamingContext::input).
//! Receivers (sockets, custom) run on their own threads and are cut at every
//! batch time; directory and queue sources are read by the scheduler at
//! every batch time, as Spark reads them on the driver.

mod files;
mod queue;
mod socket;

pub use files::text_file_stream;
pub use queue::{Queue, queue_stream};
pub use socket::socket_text_stream;

use super::error::StartError;
use super::listener::EventSender;
use super::memory::Budget;
use super::receiver::{Receiver, ReceiverControl, start_receiver};
use crate::Time;
use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A source of records of type `T`, to bind to an input port of the same
/// element type. Made by [`socket_text_stream`], [`text_file_stream`],
/// [`queue_stream`] or [`receiver_stream`].
pub struct Input<T> {
    description: String,
    max_rate: f64,
    start: StartFn,
    _records: PhantomData<fn() -> T>,
}

type StartFn = Box<dyn FnOnce(&InputEnv) -> Result<StartedInput, StartError> + Send>;

impl<T: Send + 'static> Input<T> {
    pub(crate) fn new(
        description: String,
        start: impl FnOnce(&InputEnv) -> Result<StartedInput, StartError> + Send + 'static,
    ) -> Self {
        Input {
            description,
            max_rate: 0.0,
            start: Box::new(start),
            _records: PhantomData,
        }
    }

    /// Limits a receiver to `records_per_second` (Spark's
    /// `spark.streaming.receiver.maxRate`); 0 means no limit. Backpressure
    /// may lower the rate further, never raise it above this. No effect on
    /// file and queue sources, which are read once per batch.
    pub fn max_rate(mut self, records_per_second: f64) -> Self {
        self.max_rate = records_per_second.max(0.0);
        self
    }

    /// What the source reads, for messages (`socket localhost:9999`).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The same source marked with another element type (the context erases
    /// it once checked against the port).
    pub(crate) fn retype<U>(self) -> Input<U> {
        Input {
            description: self.description,
            max_rate: self.max_rate,
            start: self.start,
            _records: PhantomData,
        }
    }

    /// Starts the source for `port`; called by the context.
    pub(crate) fn start(self, mut env: InputEnv) -> Result<StartedInput, StartError> {
        env.max_rate = self.max_rate;
        let mut started = (self.start)(&env)?;
        started.description = self.description;
        Ok(started)
    }
}

impl<T> std::fmt::Debug for Input<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("description", &self.description)
            .field("max_rate", &self.max_rate)
            .finish()
    }
}

/// A custom [`Receiver`] as a source.
pub fn receiver_stream<R: Receiver>(receiver: R) -> Input<R::Item> {
    Input::new(format!("receiver {}", receiver.name()), move |env| {
        start_receiver(receiver, env).map_err(|source| StartError::Thread {
            name: format!("streamflow-receiver-{}", env.port),
            source,
        })
    })
}

/// Counters of one input, as [`InputStats`] shows them.
#[derive(Debug, Default)]
pub(crate) struct InputCounters {
    pub(crate) records: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) restarts: AtomicU64,
    pub(crate) files: AtomicU64,
}

impl InputCounters {
    pub(crate) fn snapshot(&self) -> InputStats {
        InputStats {
            records: self.records.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            restarts: self.restarts.load(Ordering::Relaxed),
            files: self.files.load(Ordering::Relaxed),
        }
    }
}

/// What an input has done since the context started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputStats {
    /// Records accepted (stored by a receiver, or read from files).
    pub records: u64,
    /// Records rejected as malformed (lines that are not UTF-8).
    pub rejected: u64,
    /// Errors reported (failed connections, unreadable files, rejected records).
    pub errors: u64,
    /// Times the receiver was restarted.
    pub restarts: u64,
    /// Files taken (directory sources).
    pub files: u64,
}

/// What a source gets to start with.
pub(crate) struct InputEnv {
    pub(crate) port: &'static str,
    pub(crate) block_interval: Duration,
    pub(crate) budget: Arc<Budget>,
    pub(crate) events: EventSender,
    pub(crate) max_rate: f64,
    pub(crate) restart_backoff: (Duration, Duration),
}

/// A started source.
pub(crate) struct StartedInput {
    pub(crate) feed: Box<dyn Feed>,
    pub(crate) receiver: Option<Arc<dyn ReceiverControl>>,
    pub(crate) counters: Arc<InputCounters>,
    pub(crate) description: String,
}

/// The scheduler's side of a source: what it holds at each batch time.
pub(crate) trait Feed: Send {
    /// Takes what belongs to the batch at `time` (called at that time).
    fn cut(&mut self, time: Time) -> Box<dyn Pending>;
}

/// A batch's input, cut but not yet read.
pub(crate) trait Pending: Send {
    /// The number of records, if known before reading (receivers).
    fn known_records(&self) -> Option<usize>;
    /// Records held against the memory bound, given back once processed.
    fn budgeted(&self) -> usize;
    /// Reads the input: a `Box<Batch<T>>` for the port.
    fn materialize(self: Box<Self>, time: Time) -> Materialized;
}

/// One port's batch, ready for the job.
pub(crate) struct Materialized {
    pub(crate) batch: Box<dyn Any + Send>,
    pub(crate) records: usize,
}
