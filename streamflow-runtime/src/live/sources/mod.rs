//! Sources bound to a job's input ports: sockets, directories, in-memory
//! queues, custom [`Receiver`]s, and any [`Source`] written elsewhere (Kafka).
//!
//! A source is an [`Input<T>`], bound with
//! [`StreamingContext::input`](crate::live::StreamingContext::input).
//! Receivers (sockets, custom) run on their own threads and store records as
//! they come; the scheduler reads every other source itself at each batch
//! time, as Spark reads its file and direct Kafka streams on the driver.
//! Underneath, every one of them is a [`Source`]: a receiver's batch reads
//! the blocks it stored, a directory's the files that appeared, a queue's
//! the next queued batch.
//!
//! # Plumbing: writing a source
//!
//! A source in another crate implements two small traits and is bound with
//! [`direct_stream`]:
//!
//! - [`Source`] decides, at each batch's cut, what the batch reads: a
//!   [`Cut`] holding its [`Positions`] (a serde value: Kafka offset ranges
//!   per partition, a list of files) and its record count if known.
//! - [`Reader`], which [`Source::start`] returns, delivers those positions
//!   as the batch's partitions, and hears when the batch is committed.
//!
//! The two halves live on two threads (the generator cuts, the driver
//! delivers and commits); each is used by one thread only, so both need
//! `Send`, neither `Sync`. The exact order of calls, for one input:
//!
//! 1. [`Source::start`], once, in
//!    [`StreamingContext::start`](crate::live::StreamingContext::start), on
//!    the caller's thread, input ports in declaration order. An error ends
//!    the start; the sources started before it are dropped.
//! 2. [`Source::cut`] on the generator thread, once per batch, at the
//!    batch's time `t` (a batch holds what arrived during `[t − d, t)`), in
//!    time order, input ports in declaration order. The next batch is cut at
//!    its own time even if earlier batches are still queued or running: a
//!    cut never waits for a delivery.
//! 3. On the driver thread, batch after batch in time order:
//!    1. [`Reader::deliver`] with the positions of that batch's cut, for
//!       every input port in declaration order;
//!    2. the job runs the batch;
//!    3. every sink bound to an output port writes it;
//!    4. if all of that succeeded, [`Reader::commit`] with the same
//!       positions, for every input port in declaration order;
//!    5. the batch is complete: its
//!       [`BatchInfo`](crate::live::BatchInfo) is published
//!       ([`StreamingEvent::BatchCompleted`](crate::live::StreamingEvent::BatchCompleted),
//!       [`StreamingHandle::batches`](crate::live::StreamingHandle::batches)).
//!
//!    A batch whose cut, delivery, job or sinks failed is not committed (it
//!    stops the job unless
//!    [`stop_on_failure(false)`](crate::live::StreamingContext::stop_on_failure)
//!    says to go on: the next batch is delivered and committed as usual). A
//!    batch dropped by an immediate stop is neither delivered nor committed.
//! 4. When the job stops, the source is dropped on the generator thread
//!    after its last cut, the reader on the driver thread after its last
//!    delivery or commit, both before the job counts as stopped
//!    ([`StreamingHandle::await_termination`](crate::live::StreamingHandle::await_termination)
//!    returns): release connections in `Drop`.
//!
//! A replayable source (Kafka, files) gives the same records in the same
//! partitions for the same positions: after a restart, recovery (the
//! checkpoints to come) calls [`Reader::deliver`] with positions recorded
//! before the crash ([`Positions::to_bytes`]) before the first new cut.
//! Receivers keep their blocks in memory only, and deliver each once.
//!
//! Records are counted in [`InputStats::records`] at the cut when the cut
//! states them ([`Cut::with_records`]), else when delivered; problems that
//! do not fail a batch go to [`SourceContext::report_error`].

mod blocks;
mod cluster_positions;
mod feed;
mod file_listing;
mod file_ranges;
mod file_reader;
mod files;
mod first_process;
mod input;
mod lines;
mod queue;
mod receiver;
mod receiver_state;
mod socket;
mod source;
mod stats;
mod supervisor;
mod wal;

pub use crate::live::error::SourceError;
// Recovery combines the positions a cluster's processes recorded.
pub(crate) use cluster_positions::{combine, combines};
pub(crate) use file_ranges::DirectoryCut;
pub use files::{text_file_stream, text_file_stream_with_existing};
pub use input::{Input, direct_stream};
pub use lines::{LineOptions, LongLines};
pub use queue::{Queue, queue_stream};
pub use receiver::{Receiver, ReceiverContext, Stopped, StoreError};
pub use socket::{socket_text_stream, socket_text_stream_with};
pub use source::{Cut, Positions, Reader, Source, SourceContext};
pub use stats::InputStats;
pub use supervisor::receiver_stream;

pub(crate) use feed::{Delivery, Feed, InputEnv, MeshRef, Pending, RateControl, ReceiverControl, StartedInput};
pub(crate) use stats::InputCounters;
