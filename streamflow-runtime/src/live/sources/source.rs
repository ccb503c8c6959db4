//! The source contract: the traits a source implements to feed an input port,
//! from this crate or any other. The order of calls is in the
//! [module docs](super#plumbing-writing-a-source).

use super::stats::InputCounters;
use crate::live::error::SourceError;
use crate::live::listener::{EventSender, InputErrorInfo, PartitionProgress, StreamingEvent};
use crate::live::rate::SourceRate;
use crate::live::reports::ReportLimiter;
use crate::{Batch, Time};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What one batch reads from a source, decided at the batch's cut: Kafka
/// offset ranges per partition, a list of files, the ids of received blocks.
///
/// Any serde type that is `Debug` and `Send` is one (the trait is
/// implemented for all of them): a checkpoint records the positions of every
/// batch before it runs, as [`to_bytes`](Self::to_bytes) gives them, so that
/// recovery can deliver the same batch again.
pub trait Positions: Serialize + DeserializeOwned + std::fmt::Debug + Send + 'static {
    /// The positions as bytes (postcard, as the job's state).
    fn to_bytes(&self) -> Result<Vec<u8>, SourceError> {
        Ok(postcard::to_stdvec(self)?)
    }

    /// Positions read back from [`to_bytes`](Self::to_bytes).
    fn from_bytes(bytes: &[u8]) -> Result<Self, SourceError> {
        Ok(postcard::from_bytes(bytes)?)
    }
}

impl<P: Serialize + DeserializeOwned + std::fmt::Debug + Send + 'static> Positions for P {}

/// What a source says at a batch's cut: the positions the batch will read
/// and, if the source knows it already, how many records that is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut<P> {
    pub(crate) positions: P,
    pub(crate) records: Option<usize>,
    /// Bytes held against the memory bound (receivers, the directory source).
    pub(crate) bytes: usize,
    pub(crate) progress: Vec<PartitionProgress>,
}

impl<P> Cut<P> {
    /// A batch that reads `positions`; its record count is known once they
    /// are delivered.
    pub fn new(positions: P) -> Self {
        Cut {
            positions,
            records: None,
            bytes: 0,
            progress: Vec::new(),
        }
    }

    /// The same, with its record count known at the cut: the batch's
    /// metrics show it as soon as the batch is queued, and the input's
    /// [`InputStats::records`](super::InputStats::records) counts it then.
    /// (Kafka offsets may have gaps: an offset range's length is not always
    /// its record count.)
    pub fn with_records(mut self, records: usize) -> Self {
        self.records = Some(records);
        self
    }

    /// The same, with what it reads of each partition and the lag left
    /// behind: shown in the batch's
    /// [`BatchInfo::input_progress`](crate::live::BatchInfo::input_progress).
    pub fn with_progress(mut self, progress: Vec<PartitionProgress>) -> Self {
        self.progress = progress;
        self
    }

    /// The same, holding `bytes` against the memory bound until processed.
    pub(crate) fn holding_bytes(mut self, bytes: usize) -> Self {
        self.bytes = bytes;
        self
    }

    /// The positions the batch reads.
    pub fn positions(&self) -> &P {
        &self.positions
    }

    /// The record count, if known at the cut.
    pub fn records(&self) -> Option<usize> {
        self.records
    }
}

/// A source of records for one input port that decides, at each batch's cut,
/// what the batch reads, and reads it when the batch runs (Spark's direct
/// streams: the file stream, Kafka's direct stream). Bind one with
/// [`direct_stream`](super::direct_stream).
///
/// A source has two halves, because they run on two threads: this one cuts
/// (on the generator thread, at every batch time, even while earlier batches
/// still run), its [`Reader`] delivers and hears commits (on the driver
/// thread, batch after batch). They share nothing unless they choose to.
/// The [module docs](super#plumbing-writing-a-source) give the exact order of
/// calls.
///
/// ```
/// use std::ops::Range;
/// use std::time::Duration;
/// use streamflow::live::sources::{self, Cut, Reader, Source, SourceContext, SourceError};
/// use streamflow::live::{StreamingContext, sinks};
/// use streamflow::prelude::*;
///
/// /// A log that grows by ten numbers per batch; a batch reads an offset range.
/// struct Numbers {
///     next: u64,
/// }
///
/// impl Source for Numbers {
///     type Item = u64;
///     type Positions = Range<u64>;
///     type Reader = NumbersReader;
///
///     fn start(&mut self, _ctx: &SourceContext) -> Result<NumbersReader, SourceError> {
///         Ok(NumbersReader)
///     }
///
///     fn cut(&mut self, _time: Time) -> Result<Cut<Range<u64>>, SourceError> {
///         let range = self.next..self.next + 10;
///         self.next = range.end;
///         Ok(Cut::new(range).with_records(10))
///     }
/// }
///
/// struct NumbersReader;
///
/// impl Reader for NumbersReader {
///     type Item = u64;
///     type Positions = Range<u64>;
///
///     fn deliver(&mut self, _time: Time, range: &Range<u64>) -> Result<Batch<u64>, SourceError> {
///         Ok(Batch::from_vec(range.clone().collect()))
///     }
///     // `commit` would acknowledge upstream; a log in memory needs nothing.
/// }
///
/// stream_job! {
///     /// Sums each batch.
///     pub job Total {
///         batch_interval = 100ms;
///         input numbers: u64;
///         output total: u64 = numbers.reduce(|a, b| a + b);
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (sink, totals) = sinks::collect::<u64>();
/// let handle = StreamingContext::new(Total::new())
///     .input("numbers", sources::direct_stream(Numbers { next: 0 }))?
///     .output("total", sink)?
///     .start()?;
/// handle.wait_for_batches(2, Duration::from_secs(10));
/// handle.stop(false)?;
/// assert_eq!(totals.elements()[..2], [45, 145]);
/// # Ok(()) }
/// ```
pub trait Source: Send + 'static {
    /// The records it delivers.
    type Item: Send + 'static;
    /// What one batch reads.
    type Positions: Positions;
    /// The half that delivers batches and hears their commits.
    type Reader: Reader<Item = Self::Item, Positions = Self::Positions>;

    /// A name for messages (`kafka events`).
    fn name(&self) -> String {
        std::any::type_name::<Self>().to_owned()
    }

    /// Starts the source when the context starts, before the first cut:
    /// connects, notes where reading starts, and returns the reader. An error
    /// here stops the context's start (a
    /// [`StartError`](crate::live::StartError) returned in the box is given
    /// back as it is; any other error becomes
    /// [`StartError::Source`](crate::live::StartError::Source)).
    fn start(&mut self, ctx: &SourceContext) -> Result<Self::Reader, SourceError>;

    /// Decides what the batch at `time` reads. Called once per batch, in time
    /// order, at that time. The positions of successive cuts follow each
    /// other: nothing between them is skipped or read twice. An error (or a
    /// panic) fails that batch; the next batch is cut as usual.
    fn cut(&mut self, time: Time) -> Result<Cut<Self::Positions>, SourceError>;

    /// Where the source stands right after [`start`](Self::start), as the
    /// positions of an empty batch: recorded when a checkpoint is created,
    /// and given first to [`resume`](Self::resume), so that a job that
    /// crashed before its first batch was recorded still resumes from where
    /// it started (the directory source: the files it found at start; a
    /// Kafka source: its starting offsets). The default records nothing.
    fn start_positions(&self) -> Option<Self::Positions> {
        None
    }

    /// Resumes where the run before a crash stopped cutting. Called when a
    /// job recovers from a checkpoint, after [`start`](Self::start) and
    /// before the first cut, with the positions the checkpoint still holds,
    /// oldest first: the [start positions](Self::start_positions) if they
    /// were recorded, then every recorded batch's; the last one is where the
    /// previous run's cuts ended.
    /// Those batches are delivered again from their positions; the next cut
    /// must follow the last of them (a Kafka source starts at its end
    /// offsets; the directory source skips the files it had listed).
    ///
    /// The default ignores them: a source that cannot replay starts where
    /// `start` put it. An error stops the context's start.
    fn resume(&mut self, recorded: &[Self::Positions]) -> Result<(), SourceError> {
        let _ = recorded;
        Ok(())
    }
}

/// The reading half of a [`Source`], returned by [`Source::start`].
pub trait Reader: Send + 'static {
    /// The records it delivers.
    type Item: Send + 'static;
    /// What one batch reads.
    type Positions: Positions;

    /// Reads `positions` into the batch's partitions (Kafka: one partition
    /// per topic partition). Called when the batch at `time` runs, before the
    /// job does. A replayable source gives the same records in the same
    /// partitions whenever it is given the same positions: after a restart,
    /// recovery calls it again with positions recorded before the crash. An
    /// error (or a panic) fails the batch.
    fn deliver(&mut self, time: Time, positions: &Self::Positions) -> Result<Batch<Self::Item>, SourceError>;

    /// The batch at `time`, which read `positions`, is committed: the job ran
    /// and every sink wrote it. A source acknowledges upstream here (Kafka:
    /// commits the group's offsets). Called once per successful batch, in
    /// time order; a failed batch is never committed. An error is reported
    /// (listeners, logs, [`InputStats::errors`](super::InputStats::errors));
    /// the job goes on.
    fn commit(&mut self, _time: Time, _positions: &Self::Positions) -> Result<(), SourceError> {
        Ok(())
    }

    /// No batch up to `through` will be delivered again: a checkpoint of the
    /// job's state covers them. A source that keeps data to replay batches
    /// (a write-ahead log) may drop it. Called on the driver thread after
    /// each state checkpoint. The default does nothing.
    fn release(&mut self, through: Time) {
        let _ = through;
    }
}

/// What a source talks to: the input port it feeds, and where it reports
/// problems that do not fail a batch. Given to [`Source::start`]; keep a
/// clone to report from the reader.
#[derive(Clone)]
pub struct SourceContext {
    input: &'static str,
    counters: Arc<InputCounters>,
    events: EventSender,
    reports: Arc<ReportLimiter>,
    batch_interval: Duration,
    rate: Arc<SourceRate>,
}

impl SourceContext {
    pub(crate) fn new(
        input: &'static str,
        counters: Arc<InputCounters>,
        events: EventSender,
        batch_interval: Duration,
        rate: Arc<SourceRate>,
    ) -> Self {
        SourceContext {
            input,
            counters,
            events,
            reports: Arc::default(),
            batch_interval,
            rate,
        }
    }

    /// The input port this source feeds.
    pub fn input(&self) -> &'static str {
        self.input
    }

    /// The job's batch interval.
    pub fn batch_interval(&self) -> Duration {
        self.batch_interval
    }

    /// The most records per second the input should read now, if anything
    /// limits it: the input's [`max_rate`](super::Input::max_rate), lowered
    /// by backpressure's estimate after every batch. A source that decides
    /// how much a batch reads (Kafka) caps its cut by `rate × batch
    /// interval`.
    pub fn rate_limit(&self) -> Option<f64> {
        self.rate.get()
    }

    /// Reports a problem to the listeners and logs, and counts it in
    /// [`InputStats::errors`](super::InputStats::errors); `time` is the batch
    /// it concerns, if any. Every problem is counted; the first ten of each
    /// batch are reported one by one, the others in one summary at the next
    /// batch's cut (a flood of bad records cannot flood the listeners).
    pub fn report_error(&self, time: Option<Time>, message: impl Into<String>) {
        let message = message.into();
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        if self.reports.admit(&message) {
            self.send_report(time, message);
        }
    }

    /// At a batch's cut: reports what was held back since the last one.
    pub(crate) fn roll_reports(&self, time: Time) {
        if let Some(summary) = self.reports.roll() {
            self.send_report(Some(time), summary);
        }
    }

    fn send_report(&self, time: Option<Time>, message: String) {
        tracing::warn!(input = self.input, time = ?time, "{message}");
        self.events.send(StreamingEvent::InputError(InputErrorInfo {
            input: self.input,
            time,
            message,
        }));
    }

    /// Counts a record that could not be accepted (malformed input) in
    /// [`InputStats::rejected`](super::InputStats::rejected) and reports it.
    pub fn reject(&self, time: Option<Time>, message: impl Into<String>) {
        self.counters.rejected.fetch_add(1, Ordering::Relaxed);
        self.report_error(time, message);
    }

    pub(crate) fn counters(&self) -> &InputCounters {
        &self.counters
    }
}

impl std::fmt::Debug for SourceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceContext").field("input", &self.input).finish()
    }
}
