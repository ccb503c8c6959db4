//! Kafka: a direct stream that reads offset ranges decided at each batch's
//! cut and recorded in the checkpoint (Spark's `createDirectStream`), and a
//! sink that writes a stream to a topic. Behind the cargo feature `kafka`.
//!
//! # The source
//!
//! [`kafka_direct_stream`] reads topics' records as [`KafkaRecord`]s;
//! [`kafka_text_stream`] reads their values as text lines, rejecting (counting
//! and reporting) values that are not UTF-8.
//!
//! - At each batch's cut, the source takes where every partition ends and
//!   decides the batch's [`OffsetRange`]s: from where the last batch
//!   stopped to that end, capped by
//!   [`max_rate_per_partition`](KafkaOptions::max_rate_per_partition) and by
//!   backpressure's rate (shared out by lag, as Spark does). The batch has
//!   one partition per topic partition, in (topic, partition) order. The
//!   ends come from a thread of the source's own that asks the broker for
//!   all of them in one request, again and again (every quarter of the
//!   batch interval, or as fast as the broker answers): a busy broker can
//!   take a second to answer, and a cut that waited would make the batch
//!   late. A batch may so read up to an end a little older than its cut;
//!   the next batch goes on from there.
//! - The reader keeps one consumer assigned across batches: a batch that
//!   starts where the previous one ended reads on from where the fetch is
//!   (a fresh fetch position costs a broker round trip or more). Records
//!   fetched past a batch's end are kept for the next batches, up to 50 000
//!   per partition (a partition further ahead is paused until its batches
//!   catch up). A batch that starts elsewhere (run again after a failure or
//!   a recovery) assigns the consumer afresh at its ranges.
//! - With checkpointing on, those ranges are recorded before the batch runs.
//!   A job recovered from the checkpoint reads the same ranges again for the
//!   batches that did not complete, then goes on where they ended: every
//!   record reaches the job's state once (exactly once, with outputs that
//!   are idempotent, such as an [exactly-once](KafkaSinkOptions::exactly_once)
//!   [`KafkaSink`]).
//! - Offsets may have gaps (compacted topics, transaction markers): a range
//!   is read until its last offset or the partition's end.
//! - Partitions added to a topic while the job runs are found within about
//!   a second (the source looks once a second) and read from their first
//!   offset.
//! - A broker that cannot be reached (the request for the ends fails) is
//!   reported at the next cut
//!   ([`StreamingEvent::InputError`](crate::live::StreamingEvent::InputError))
//!   and retried with a growing wait (up to 5 s); those batches read nothing
//!   and the first batch after it reads everything that arrived meanwhile.
//!   A batch whose records cannot be fetched waits up to
//!   [`fetch_timeout`](KafkaOptions::fetch_timeout), then fails.
//! - Offsets a batch should read that the broker deleted (retention) fail
//!   the batch: nothing is skipped silently.
//! - Each batch's ranges and every partition's lag (records on the broker
//!   past the batch's end, by the end last heard) are in
//!   [`BatchInfo::input_progress`](crate::live::BatchInfo::input_progress).
//!
//! # The sink
//!
//! [`KafkaSink`] writes each element as one record (key and value from the
//! element, partition from a [`Partitioner`]), with an idempotent producer:
//! at least once (a batch run again after a crash writes again), or exactly
//! once with [`KafkaSinkOptions::exactly_once`] (a batch run again writes
//! only what the crashed run had not; see [`KafkaSink`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use streamflow::live::kafka::{self, KafkaOptions, StartingOffsets};
//! use streamflow::live::{StreamingContext, sinks};
//! use streamflow::prelude::*;
//!
//! stream_job! {
//!     /// Words counted per batch.
//!     pub job WordCount {
//!         batch_interval = 1s;
//!         input lines: String;
//!         output counts: (String, u64) = lines
//!             .flat_map(|line| line.split_whitespace())
//!             .map(|word| (word, 1u64))
//!             .reduce_by_key(|a, b| a + b);
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let options = KafkaOptions::new()
//!     .starting_offsets(StartingOffsets::Earliest)
//!     .group_id("word-count")
//!     .commit_offsets(true);
//! let handle = StreamingContext::new(WordCount::new())
//!     .checkpoint("checkpoints/word-count")
//!     .input("lines", kafka::kafka_text_stream("localhost:9092", ["lines"], options))?
//!     .output::<(String, u64)>("counts", sinks::print(10))?
//!     .start()?;
//! handle.await_termination_timeout(Duration::from_secs(60))?;
//! # Ok(()) }
//! ```

mod admin;
mod client;
mod decode;
mod fetcher;
mod offsets;
mod options;
mod partitioner;
mod reader;
mod record;
mod share;
mod sink;
mod source;
mod watcher;

pub use admin::{create_topic, produce};
pub use offsets::{KafkaOffsets, OffsetRange, TopicPartition};
pub use options::{CommittedFallback, KafkaOptions, StartingOffsets};
pub use partitioner::{Partitioner, default_partitioner};
pub use record::KafkaRecord;
// Recovery on a cluster combines the ranges every process recorded.
pub(crate) use share::{combine as combine_offsets, is_offsets};
pub use sink::{KafkaSink, KafkaSinkOptions};

use crate::live::sources::Input;
use source::KafkaSource;

/// The records of `topics` on the brokers `brokers` (`host:port[,host:port]`),
/// read batch by batch as offset ranges (see the [module docs](self)).
pub fn kafka_direct_stream<I, S>(brokers: impl Into<String>, topics: I, options: KafkaOptions) -> Input<KafkaRecord>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    stream(brokers.into(), topics, options, decode::decode_record)
}

/// The values of `topics`' records as text, one element per record; a value
/// that is not UTF-8, or a record without a value (a tombstone), is
/// rejected: counted in
/// [`InputStats::rejected`](crate::live::sources::InputStats::rejected) and
/// reported, never a panic. Otherwise as [`kafka_direct_stream`].
pub fn kafka_text_stream<I, S>(brokers: impl Into<String>, topics: I, options: KafkaOptions) -> Input<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    stream(brokers.into(), topics, options, decode::decode_text)
}

fn stream<T: Send + 'static, I, S>(
    brokers: String,
    topics: I,
    options: KafkaOptions,
    decode: decode::Decode<T>,
) -> Input<T>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut topics: Vec<String> = topics.into_iter().map(Into::into).collect();
    topics.sort();
    topics.dedup();
    let source = KafkaSource::new(brokers, topics, options, decode);
    Input::of_splitting_source(crate::live::sources::Source::name(&source), source, KafkaSource::share)
}
