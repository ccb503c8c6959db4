//! [`Input<T>`]: a source not yet started, as the context binds it to an
//! input port; [`direct_stream`] makes one of any [`Source`].

use super::feed::{Accounting, InputEnv, StartedInput, start_source};
use super::source::Source;
use crate::live::error::StartError;
use std::marker::PhantomData;
use std::sync::Arc;

/// A source of records of type `T`, to bind to an input port of the same
/// element type. Made by [`socket_text_stream`](super::socket_text_stream),
/// [`text_file_stream`](super::text_file_stream),
/// [`queue_stream`](super::queue_stream),
/// [`receiver_stream`](super::receiver_stream) or [`direct_stream`].
pub struct Input<T> {
    description: String,
    max_rate: f64,
    /// Reads only this process's share on a cluster (see `Share`); other
    /// sources are refused there, as every process would read all of it.
    splits: bool,
    /// Runs on process 0 only on a cluster, its batches spread from there
    /// (a socket, a custom receiver: see `first_process`).
    first_process: bool,
    start: StartFn,
    _records: PhantomData<fn() -> T>,
}

type StartFn = Box<dyn FnOnce(&InputEnv) -> Result<StartedInput, StartError> + Send>;

/// A [`Source`] as an input: the scheduler cuts it at every batch time and
/// delivers and commits its batches on the driver thread (no receiver
/// thread), as Spark reads its direct streams.
pub fn direct_stream<S: Source>(source: S) -> Input<S::Item> {
    Input::of_source(source.name(), source)
}

impl<T: Send + 'static> Input<T> {
    pub(crate) fn new(
        description: String,
        start: impl FnOnce(&InputEnv) -> Result<StartedInput, StartError> + Send + 'static,
    ) -> Self {
        Input {
            description,
            max_rate: 0.0,
            splits: false,
            first_process: false,
            start: Box::new(start),
            _records: PhantomData,
        }
    }

    /// `source`, counted by the scheduler, described as `description`.
    pub(crate) fn of_source<S: Source<Item = T>>(description: String, source: S) -> Self {
        Input::new(description, move |env| {
            start_source(source, env, Arc::default(), Accounting::Scheduler)
        })
    }

    /// `source`, counted by the scheduler, that reads only its process's
    /// share on a cluster: `share` hands it the share before it starts.
    /// (Kafka's streams; without the `kafka` feature, nothing.)
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub(crate) fn of_splitting_source<S: Source<Item = T>>(
        description: String,
        mut source: S,
        share: fn(&mut S, Option<crate::cluster::Share>),
    ) -> Self {
        Input::new(description, move |env| {
            share(&mut source, env.share);
            start_source(source, env, Arc::default(), Accounting::Scheduler)
        })
        .splitting()
    }

    /// Limits a receiver to `records_per_second` (Spark's
    /// `spark.streaming.receiver.maxRate`); 0 means no limit. Backpressure
    /// may lower the rate further, never raise it above this. No effect on
    /// other sources, which the scheduler reads once per batch.
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
            splits: self.splits,
            first_process: self.first_process,
            start: self.start,
            _records: PhantomData,
        }
    }

    /// Marks a source that reads only its process's share on a cluster.
    pub(crate) fn splitting(mut self) -> Self {
        self.splits = true;
        self
    }

    /// Whether the source reads only its process's share on a cluster.
    pub(crate) fn splits(&self) -> bool {
        self.splits
    }

    /// Marks a source that runs on process 0 only on a cluster.
    pub(crate) fn on_first_process(mut self) -> Self {
        self.first_process = true;
        self
    }

    /// Whether the source runs on process 0 only on a cluster, its batches
    /// spread from there.
    pub(crate) fn runs_on_first_process(&self) -> bool {
        self.first_process
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
