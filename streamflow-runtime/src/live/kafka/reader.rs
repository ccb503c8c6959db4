//! The reading half of a Kafka direct stream: delivers a batch's offset
//! ranges as its partitions (one per topic partition) and commits the
//! group's offsets once the batch is committed, on the driver thread.
//!
//! One consumer stays assigned to every partition it has read, each with its
//! own queue, so that a batch starting where the previous one ended goes on
//! reading where the consumer stands (no new fetch from the middle of the
//! log, which is slow on some brokers and skips records on others); only a
//! range that starts elsewhere (a batch run again after a crash) seeks.

use super::client::consumer_config;
use super::offsets::{KafkaOffsets, OffsetRange, TopicPartition};
use super::options::KafkaOptions;
use super::record::KafkaRecord;
use crate::live::error::SourceError;
use crate::live::sources::{Reader, SourceContext};
use crate::{Batch, Time};
use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, DefaultConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a partition that said it reached its end must stay silent
/// before the end of a range is taken for a gap.
const GAP_GRACE: Duration = Duration::from_millis(300);

/// Turns a message into a record; `None` drops it (after reporting why).
pub(crate) type Decode<T> = fn(&BorrowedMessage<'_>, &Arc<str>, &SourceContext, Time) -> Option<T>;

/// Every message as a [`KafkaRecord`].
pub(crate) fn decode_record(
    message: &BorrowedMessage<'_>,
    topic: &Arc<str>,
    _: &SourceContext,
    _: Time,
) -> Option<KafkaRecord> {
    Some(KafkaRecord {
        topic: topic.clone(),
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec),
        timestamp: message.timestamp().to_millis(),
    })
}

/// A message's value as text; a value that is not UTF-8, or missing (a
/// tombstone), is rejected: counted and reported.
pub(crate) fn decode_text(
    message: &BorrowedMessage<'_>,
    topic: &Arc<str>,
    ctx: &SourceContext,
    time: Time,
) -> Option<String> {
    let Some(payload) = message.payload() else {
        ctx.reject(
            Some(time),
            format!(
                "the record at {topic}-{}@{} has no value (a tombstone)",
                message.partition(),
                message.offset()
            ),
        );
        return None;
    };
    match std::str::from_utf8(payload) {
        Ok(text) => Some(text.to_owned()),
        Err(e) => {
            ctx.reject(
                Some(time),
                format!(
                    "the value at {topic}-{}@{} is not UTF-8 text ({e})",
                    message.partition(),
                    message.offset()
                ),
            );
            None
        }
    }
}

/// Where the reader stands in one partition.
struct Cursor<T> {
    queue: PartitionQueue<DefaultConsumerContext>,
    /// The offset the partition's next range should start at for the
    /// consumer to go on without a seek.
    next: i64,
    /// A record read past the previous range (the range ended in a gap),
    /// with its offset; `None` inside when it was rejected.
    carried: Option<(i64, Option<T>)>,
}

pub(crate) struct KafkaReader<T> {
    consumer: Arc<BaseConsumer>,
    cursors: HashMap<TopicPartition, Cursor<T>>,
    brokers: String,
    commit: bool,
    fetch_timeout: Duration,
    request_timeout: Duration,
    decode: Decode<T>,
    ctx: SourceContext,
    /// Topic names as the records share them.
    topics: Vec<Arc<str>>,
}

/// A range being read: where it goes in the batch, and whether it is done.
struct Reading<'r> {
    range: &'r OffsetRange,
    topic: Arc<str>,
    part: usize,
    done: bool,
    /// When the partition last said it reached its end (see `ends_in_a_gap`).
    at_end: Option<Instant>,
}

impl<T> KafkaReader<T> {
    pub(crate) fn new(
        brokers: &str,
        options: &KafkaOptions,
        decode: Decode<T>,
        ctx: SourceContext,
    ) -> Result<Self, SourceError> {
        let consumer = consumer_config(brokers, options, options.group())
            .create()
            .map_err(|e| format!("cannot create a Kafka consumer for {brokers}: {e}"))?;
        Ok(KafkaReader {
            consumer: Arc::new(consumer),
            cursors: HashMap::new(),
            brokers: brokers.to_owned(),
            commit: options.commit_offsets,
            fetch_timeout: options.fetch_timeout,
            request_timeout: options.request_timeout,
            decode,
            ctx,
            topics: Vec::new(),
        })
    }

    fn topic_name(&mut self, topic: &str) -> Arc<str> {
        if let Some(name) = self.topics.iter().find(|t| &***t == topic) {
            return name.clone();
        }
        let name: Arc<str> = Arc::from(topic);
        self.topics.push(name.clone());
        name
    }

    /// Puts the consumer at `range.from` in its partition: assigns a
    /// partition it never read, seeks when it stands elsewhere.
    fn position(&mut self, range: &OffsetRange) -> Result<(), SourceError> {
        let tp = &range.partition;
        match self.cursors.get_mut(tp) {
            Some(cursor) if cursor.next == range.from => {}
            Some(cursor) => {
                tracing::debug!(partition = %tp, from = cursor.next, to = range.from, "Kafka reader seeks");
                cursor.carried = None;
                cursor.next = range.from;
                self.consumer
                    .seek(
                        &tp.topic,
                        tp.partition,
                        Offset::Offset(range.from),
                        self.request_timeout,
                    )
                    .map_err(|e| format!("cannot seek {tp} to {}: {e}", range.from))?;
            }
            None => {
                // Its own queue first, so that no record of it reaches the
                // consumer's main queue (where `deliver` takes strays too).
                let split = self.consumer.split_partition_queue(&tp.topic, tp.partition);
                let mut list = TopicPartitionList::new();
                list.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(range.from))
                    .map_err(|e| format!("cannot assign {tp}: {e}"))?;
                self.consumer
                    .incremental_assign(&list)
                    .map_err(|e| format!("cannot assign {tp}: {e}"))?;
                let queue = split
                    .or_else(|| self.consumer.split_partition_queue(&tp.topic, tp.partition))
                    .ok_or_else(|| format!("cannot read {tp} on its own queue"))?;
                self.cursors.insert(
                    tp.clone(),
                    Cursor {
                        queue,
                        next: range.from,
                        carried: None,
                    },
                );
            }
        }
        Ok(())
    }

    /// Takes one record of `reading`'s partition into the batch; true once
    /// the range is complete (its last offset, or a later one after a gap,
    /// which is carried to the next range).
    fn take(
        reading: &Reading<'_>,
        parts: &mut [Vec<T>],
        offset: i64,
        record: Option<T>,
        cursor: &mut Cursor<T>,
    ) -> bool {
        let range = reading.range;
        if offset < range.from {
            return false;
        }
        if offset >= range.until {
            cursor.carried = Some((offset, record));
            return true;
        }
        if let Some(record) = record {
            parts[reading.part].push(record);
        }
        offset >= range.until - 1
    }

    /// Whether the rest of `range` holds no record: the partition said it
    /// reached its end, stayed silent for [`GAP_GRACE`], and still ends at
    /// the range's end (the last offsets are markers, as after a
    /// transaction). While records lie beyond the range, the consumer keeps
    /// reading until it sees one, so a broker's early "end" never cuts a
    /// range short.
    fn ends_in_a_gap(&self, range: &OffsetRange) -> bool {
        let tp = &range.partition;
        match self
            .consumer
            .fetch_watermarks(&tp.topic, tp.partition, self.request_timeout)
        {
            Ok((_, high)) => high <= range.until,
            Err(_) => false,
        }
    }

    fn timed_out(&self, readings: &[Reading<'_>], error: Option<KafkaError>) -> SourceError {
        let waiting: Vec<String> = readings
            .iter()
            .filter(|r| !r.done)
            .map(|r| r.range.to_string())
            .collect();
        let cause = error.map_or(String::new(), |e| format!(" (last error: {e})"));
        format!(
            "Kafka at {}: could not read {} within {:?}{cause}",
            self.brokers,
            waiting.join(", "),
            self.fetch_timeout
        )
        .into()
    }
}

impl<T: Send + 'static> Reader for KafkaReader<T> {
    type Item = T;
    type Positions = KafkaOffsets;

    fn deliver(&mut self, time: Time, offsets: &KafkaOffsets) -> Result<Batch<T>, SourceError> {
        let mut parts: Vec<Vec<T>> = offsets.ranges.iter().map(|_| Vec::new()).collect();
        let mut readings = Vec::new();
        for (part, range) in offsets.ranges.iter().enumerate() {
            if range.is_empty() {
                continue;
            }
            self.position(range)?;
            // Gaps make the range an upper bound: reserve modestly.
            parts[part].reserve(((range.until - range.from) as usize).min(1 << 16));
            let topic = self.topic_name(&range.partition.topic);
            readings.push(Reading {
                range,
                topic,
                part,
                done: false,
                at_end: None,
            });
        }
        // A record carried from the previous range may complete this one.
        for reading in &mut readings {
            let cursor = self.cursors.get_mut(&reading.range.partition).expect("positioned");
            if let Some((offset, record)) = cursor.carried.take() {
                reading.done = Self::take(reading, &mut parts, offset, record, cursor);
            }
        }
        let deadline = Instant::now() + self.fetch_timeout;
        let mut last_error: Option<KafkaError> = None;
        let decode = self.decode;
        loop {
            let mut waiting = false;
            let mut idle = true;
            for reading in readings.iter_mut() {
                if reading.done {
                    continue;
                }
                if reading.at_end.is_some_and(|t| t.elapsed() >= GAP_GRACE) {
                    reading.at_end = None;
                    if self.ends_in_a_gap(reading.range) {
                        reading.done = true;
                        continue;
                    }
                }
                waiting = true;
                let cursor = self.cursors.get_mut(&reading.range.partition).expect("positioned");
                // Drain what is fetched already; wait briefly only when idle.
                while let Some(polled) = cursor.queue.poll(Duration::ZERO) {
                    idle = false;
                    match polled {
                        Ok(message) => {
                            reading.at_end = None;
                            let offset = message.offset();
                            let record = if offset < reading.range.from {
                                None
                            } else {
                                decode(&message, &reading.topic, &self.ctx, time)
                            };
                            drop(message);
                            if Self::take(reading, &mut parts, offset, record, cursor) {
                                reading.done = true;
                                break;
                            }
                        }
                        // Only a hint: some brokers say so before the real end.
                        Err(KafkaError::PartitionEOF(_)) => {
                            reading.at_end.get_or_insert_with(Instant::now);
                        }
                        Err(KafkaError::MessageConsumption(RDKafkaErrorCode::OffsetOutOfRange)) => {
                            return Err(format!(
                                "{}: the batch's offsets are no longer on the broker; they would be lost",
                                reading.range
                            )
                            .into());
                        }
                        Err(e) => last_error = Some(e),
                    }
                }
            }
            if !waiting {
                break;
            }
            if Instant::now() >= deadline {
                return Err(self.timed_out(&readings, last_error));
            }
            // Serves the consumer's events (errors, reconnections), and waits
            // a little when no partition had anything.
            let wait = if idle { Duration::from_millis(5) } else { Duration::ZERO };
            match self.consumer.poll(wait) {
                Some(Ok(message)) => {
                    // A record fetched before its partition had its own queue.
                    let (offset, partition) = (message.offset(), message.partition());
                    let Some(i) = readings.iter().position(|r| {
                        !r.done && *r.topic == *message.topic() && r.range.partition.partition == partition
                    }) else {
                        // Not read in this batch: kept for its next range.
                        let tp = TopicPartition::new(message.topic(), partition);
                        let topic: Arc<str> = Arc::from(message.topic());
                        let record = decode(&message, &topic, &self.ctx, time);
                        drop(message);
                        if let Some(cursor) = self.cursors.get_mut(&tp)
                            && cursor.carried.is_none()
                        {
                            cursor.carried = Some((offset, record));
                        }
                        continue;
                    };
                    let reading = &mut readings[i];
                    let record = decode(&message, &reading.topic, &self.ctx, time);
                    drop(message);
                    let cursor = self.cursors.get_mut(&reading.range.partition).expect("positioned");
                    if Self::take(reading, &mut parts, offset, record, cursor) {
                        reading.done = true;
                    }
                }
                Some(Err(e)) => last_error = Some(e),
                None => {}
            }
        }
        for reading in &readings {
            if let Some(cursor) = self.cursors.get_mut(&reading.range.partition) {
                cursor.next = reading.range.until;
            }
        }
        Ok(Batch::from_partitions(parts))
    }

    fn commit(&mut self, _time: Time, offsets: &KafkaOffsets) -> Result<(), SourceError> {
        if !self.commit || offsets.ranges.iter().all(OffsetRange::is_empty) {
            return Ok(());
        }
        let mut list = TopicPartitionList::new();
        for range in &offsets.ranges {
            list.add_partition_offset(
                &range.partition.topic,
                range.partition.partition,
                Offset::Offset(range.until),
            )?;
        }
        self.consumer.commit(&list, CommitMode::Sync)?;
        Ok(())
    }
}
