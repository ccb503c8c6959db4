//! The reading half of a Kafka direct stream: delivers a batch's offset
//! ranges as its partitions (one per topic partition) and commits the
//! group's offsets once the batch is committed, on the driver thread.

use super::client::consumer_config;
use super::offsets::{KafkaOffsets, OffsetRange};
use super::options::KafkaOptions;
use super::record::KafkaRecord;
use crate::live::error::SourceError;
use crate::live::sources::{Reader, SourceContext};
use crate::{Batch, Time};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{Offset, TopicPartitionList};
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

pub(crate) struct KafkaReader<T> {
    consumer: BaseConsumer,
    brokers: String,
    commit: bool,
    fetch_timeout: Duration,
    request_timeout: Duration,
    decode: Decode<T>,
    ctx: SourceContext,
    /// Topic names as the records share them.
    topics: Vec<Arc<str>>,
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
            consumer,
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

    /// Reads the non-empty `ranges` of one topic into `parts` (indexed like
    /// `indices`). Kafka says which partition reached its end by number
    /// only, so one topic is assigned at a time.
    fn read_topic(
        &mut self,
        time: Time,
        ranges: &[&OffsetRange],
        indices: &[usize],
        parts: &mut [Vec<T>],
    ) -> Result<(), SourceError> {
        let topic = self.topic_name(&ranges[0].partition.topic);
        let mut assignment = TopicPartitionList::new();
        for r in ranges {
            assignment
                .add_partition_offset(&topic, r.partition.partition, Offset::Offset(r.from))
                .map_err(|e| format!("cannot assign {}: {e}", r.partition))?;
        }
        self.consumer
            .assign(&assignment)
            .map_err(|e| format!("cannot assign {topic}: {e}"))?;
        let mut done = vec![false; ranges.len()];
        let mut left = ranges.len();
        // When each partition last said it reached its end, with the range
        // still incomplete: see `ends_in_a_gap`.
        let mut at_end: Vec<Option<Instant>> = vec![None; ranges.len()];
        let deadline = Instant::now() + self.fetch_timeout;
        let mut last_error: Option<KafkaError> = None;
        while left > 0 {
            for i in 0..ranges.len() {
                if !done[i] && at_end[i].is_some_and(|t| t.elapsed() >= GAP_GRACE) {
                    at_end[i] = None;
                    if self.ends_in_a_gap(ranges[i]) {
                        done[i] = true;
                        left -= 1;
                    }
                }
            }
            if left == 0 {
                break;
            }
            let Some(polled) = self.consumer.poll(Duration::from_millis(20)) else {
                if Instant::now() >= deadline {
                    return Err(self.timed_out(ranges, &done, last_error));
                }
                continue;
            };
            let message = match polled {
                Ok(message) => message,
                Err(KafkaError::PartitionEOF(partition)) => {
                    // Only a hint: some brokers say so before the real end.
                    if let Some(i) = ranges.iter().position(|r| r.partition.partition == partition)
                        && !done[i]
                    {
                        at_end[i].get_or_insert_with(Instant::now);
                    }
                    continue;
                }
                Err(e @ KafkaError::MessageConsumption(rdkafka::types::RDKafkaErrorCode::OffsetOutOfRange)) => {
                    return Err(format!(
                        "{topic}: a batch's offsets are no longer on the broker ({e}); they would be lost"
                    )
                    .into());
                }
                Err(e) => {
                    // The broker went away: librdkafka reconnects by itself.
                    if Instant::now() >= deadline {
                        return Err(self.timed_out(ranges, &done, Some(e)));
                    }
                    last_error = Some(e);
                    continue;
                }
            };
            let Some(i) = ranges.iter().position(|r| r.partition.partition == message.partition()) else {
                continue;
            };
            let range = ranges[i];
            if done[i] || message.offset() < range.from {
                continue;
            }
            at_end[i] = None;
            if message.offset() < range.until
                && let Some(record) = (self.decode)(&message, &topic, &self.ctx, time)
            {
                parts[indices[i]].push(record);
            }
            // The range's last offset, or a later one: offsets between were
            // gaps (compaction, transaction markers).
            if message.offset() >= range.until - 1 {
                done[i] = true;
                left -= 1;
            }
        }
        Ok(())
    }

    /// Whether the rest of `range` holds no record: the partition said it
    /// reached its end, stayed silent for [`GAP_GRACE`], and still ends at
    /// the range's end (the last offsets are markers, as after a
    /// transaction). While records lie beyond the range, the consumer
    /// keeps reading until it sees one, so a broker's early "end" never
    /// cuts a range short.
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

    fn timed_out(&self, ranges: &[&OffsetRange], done: &[bool], error: Option<KafkaError>) -> SourceError {
        let waiting: Vec<String> = ranges
            .iter()
            .zip(done)
            .filter(|(_, d)| !**d)
            .map(|(r, _)| r.to_string())
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
        let mut i = 0;
        while i < offsets.ranges.len() {
            let topic = &offsets.ranges[i].partition.topic;
            let mut ranges = Vec::new();
            let mut indices = Vec::new();
            while i < offsets.ranges.len() && &offsets.ranges[i].partition.topic == topic {
                let range = &offsets.ranges[i];
                if !range.is_empty() {
                    // Gaps make the range an upper bound: reserve modestly.
                    parts[i].reserve(((range.until - range.from) as usize).min(1 << 16));
                    ranges.push(range);
                    indices.push(i);
                }
                i += 1;
            }
            if !ranges.is_empty() {
                self.read_topic(time, &ranges, &indices, &mut parts)?;
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
