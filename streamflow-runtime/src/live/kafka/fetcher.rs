//! The consumer behind a Kafka reader, kept assigned across batches (as
//! Spark caches a consumer per partition): a fresh fetch position costs a
//! broker round trip or more, so consecutive batches go on from where the
//! fetch is, and the consumer is assigned afresh only when a batch starts
//! elsewhere (the first batch, a batch run again, a new partition).
//!
//! Records fetched past the end of the batch that asked for them are kept
//! for the next one, up to
//! [`max_records_ahead`](super::KafkaOptions::max_records_ahead) per
//! partition: a partition that far ahead is paused, and resumed once its
//! batches have used half of them (so that its next records are on their
//! way before a batch needs them). Each offset is taken once: a record at an offset below what was
//! already fetched (librdkafka fetching again after a pause) is skipped.

use super::client::consumer_config;
use super::decode::{Decode, Fetched, View};
use super::offsets::{OffsetRange, TopicPartition};
use super::options::KafkaOptions;
use crate::Time;
use crate::live::error::SourceError;
use crate::live::sources::SourceContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a partition that said it reached its end must stay silent
/// before the end of a range is taken for a gap.
const GAP_GRACE: Duration = Duration::from_millis(300);

/// What was fetched of one assigned partition.
struct Position {
    /// The topic's name, as its records share it.
    topic: Arc<str>,
    partition: i32,
    /// Every offset below it was fetched: delivered, or held in `ahead`.
    next: i64,
    /// `ahead` holds every record fetched from this offset on.
    ahead_from: i64,
    ahead: VecDeque<Fetched>,
    paused: bool,
    /// The current batch's range while it is incomplete: its index among
    /// the batch's ranges and its end.
    reading: Option<(usize, i64)>,
    /// When the partition last said it reached its end while `reading`.
    at_end: Option<Instant>,
}

impl Position {
    fn new(topic: Arc<str>, partition: i32, at: i64) -> Self {
        Position {
            topic,
            partition,
            next: at,
            ahead_from: at,
            ahead: VecDeque::new(),
            paused: false,
            reading: None,
            at_end: None,
        }
    }

    /// Whether a range starting at `from` goes on from what was fetched.
    fn continues(&self, from: i64) -> bool {
        self.ahead_from <= from && from <= self.next
    }

    /// The range ending at `until` is read: every record before it was
    /// delivered, and `ahead` holds the fetched ones from it on.
    fn finish(&mut self, until: i64) {
        self.reading = None;
        self.at_end = None;
        // After a gap (markers at the range's end) nothing lies below `until`.
        self.next = self.next.max(until);
        self.ahead_from = until;
    }
}

pub(crate) struct Fetcher {
    consumer: BaseConsumer,
    brokers: String,
    fetch_timeout: Duration,
    request_timeout: Duration,
    /// At most this many records held ahead per partition.
    ahead_limit: usize,
    /// Every assigned partition, by topic then partition; empty until the
    /// first batch, and again after a batch failed.
    positions: BTreeMap<String, BTreeMap<i32, Position>>,
}

impl Fetcher {
    pub(crate) fn new(brokers: &str, options: &KafkaOptions) -> Result<Self, SourceError> {
        let consumer = consumer_config(brokers, options, options.group())
            .create()
            .map_err(|e| format!("cannot create a Kafka consumer for {brokers}: {e}"))?;
        Ok(Fetcher {
            consumer,
            brokers: brokers.to_owned(),
            fetch_timeout: options.fetch_timeout,
            request_timeout: options.request_timeout,
            ahead_limit: options.max_records_ahead,
            positions: BTreeMap::new(),
        })
    }

    /// Commits `ranges`' ends as the consumer group's offsets.
    pub(crate) fn commit(&self, ranges: &[OffsetRange]) -> Result<(), KafkaError> {
        let mut list = TopicPartitionList::with_capacity(ranges.len());
        for range in ranges {
            list.add_partition_offset(
                &range.partition.topic,
                range.partition.partition,
                Offset::Offset(range.until),
            )?;
        }
        self.consumer.commit(&list, CommitMode::Sync)
    }

    /// The records of `ranges`, one part per range. After an error the
    /// consumer is assigned afresh at the next batch: what it had fetched
    /// ahead is fetched again, never taken for delivered.
    pub(crate) fn read<T>(
        &mut self,
        ranges: &[OffsetRange],
        decode: Decode<T>,
        ctx: &SourceContext,
        time: Time,
    ) -> Result<Vec<Vec<T>>, SourceError> {
        let read = self.read_ranges(ranges, decode, ctx, time);
        if read.is_err() {
            self.positions.clear();
        }
        read
    }

    fn position(&self, tp: &TopicPartition) -> Option<&Position> {
        self.positions.get(&tp.topic)?.get(&tp.partition)
    }

    fn position_mut(&mut self, tp: &TopicPartition) -> Option<&mut Position> {
        self.positions.get_mut(&tp.topic)?.get_mut(&tp.partition)
    }

    /// Assigns every partition of `ranges`: those whose range goes on from
    /// what was fetched keep their place (and what they hold ahead), the
    /// others start at their range.
    fn assign(&mut self, ranges: &[OffsetRange]) -> Result<(), SourceError> {
        let mut old = std::mem::take(&mut self.positions);
        let mut list = TopicPartitionList::with_capacity(ranges.len());
        let mut paused = TopicPartitionList::new();
        for range in ranges {
            let tp = &range.partition;
            let kept = old
                .get_mut(&tp.topic)
                .and_then(|t| t.remove(&tp.partition))
                .filter(|p| range.is_empty() || p.continues(range.from));
            let mut position = match kept {
                Some(position) => position,
                None => {
                    let topic = self.topic_name(&tp.topic, &old);
                    Position::new(topic, tp.partition, range.from)
                }
            };
            list.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(position.next))
                .map_err(|e| format!("cannot assign {tp}: {e}"))?;
            if position.paused {
                // librdkafka keeps an application's pause across assignments.
                paused.add_partition(&tp.topic, tp.partition);
                position.paused = false;
            }
            self.positions
                .entry(tp.topic.clone())
                .or_default()
                .insert(tp.partition, position);
        }
        tracing::debug!(brokers = %self.brokers, partitions = ranges.len(), "Kafka consumer assigned");
        self.consumer
            .assign(&list)
            .map_err(|e| format!("cannot assign {} Kafka partitions: {e}", ranges.len()))?;
        if paused.count() > 0 {
            self.consumer
                .resume(&paused)
                .map_err(|e| format!("cannot resume Kafka partitions: {e}"))?;
        }
        Ok(())
    }

    /// The topic's name as records share it, from any partition of it.
    fn topic_name(&self, topic: &str, old: &BTreeMap<String, BTreeMap<i32, Position>>) -> Arc<str> {
        [&self.positions, old]
            .into_iter()
            .find_map(|p| p.get(topic)?.values().next().map(|p| p.topic.clone()))
            .unwrap_or_else(|| Arc::from(topic))
    }

    fn read_ranges<T>(
        &mut self,
        ranges: &[OffsetRange],
        decode: Decode<T>,
        ctx: &SourceContext,
        time: Time,
    ) -> Result<Vec<Vec<T>>, SourceError> {
        let stale = ranges.iter().any(|r| match self.position(&r.partition) {
            None => true,
            Some(p) => !r.is_empty() && !p.continues(r.from),
        });
        if stale {
            self.assign(ranges)?;
        }
        let mut parts: Vec<Vec<T>> = ranges
            .iter()
            // Gaps make a range an upper bound: reserve modestly.
            .map(|r| Vec::with_capacity(((r.until - r.from).max(0) as usize).min(1 << 16)))
            .collect();
        // First what was fetched ahead, then from the broker.
        let mut left = 0;
        let mut resume = TopicPartitionList::new();
        let resume_at = self.ahead_limit / 2;
        for (i, range) in ranges.iter().enumerate() {
            let Some(p) = self.position_mut(&range.partition) else {
                continue;
            };
            if !range.is_empty() {
                while p.ahead.front().is_some_and(|f| f.offset < range.from) {
                    p.ahead.pop_front();
                }
                while let Some(f) = p.ahead.pop_front() {
                    if f.offset >= range.until {
                        p.ahead.push_front(f);
                        break;
                    }
                    if let Some(record) = decode(&f.view(&p.topic, range.partition.partition), ctx, time) {
                        parts[i].push(record);
                    }
                }
                if p.next >= range.until {
                    p.finish(range.until);
                } else {
                    p.ahead_from = p.next;
                    p.reading = Some((i, range.until));
                    left += 1;
                }
            }
            if p.paused && p.ahead.len() <= resume_at {
                resume.add_partition(&range.partition.topic, range.partition.partition);
                p.paused = false;
            }
        }
        if resume.count() > 0 {
            self.consumer
                .resume(&resume)
                .map_err(|e| format!("cannot resume Kafka partitions: {e}"))?;
        }
        if left > 0 {
            self.fetch(left, &mut parts, decode, ctx, time)?;
        }
        Ok(parts)
    }

    /// Polls until every range being read is complete.
    fn fetch<T>(
        &mut self,
        mut left: usize,
        parts: &mut [Vec<T>],
        decode: Decode<T>,
        ctx: &SourceContext,
        time: Time,
    ) -> Result<(), SourceError> {
        let deadline = Instant::now() + self.fetch_timeout;
        let mut last_error: Option<KafkaError> = None;
        while left > 0 {
            left -= self.finish_gaps();
            if left == 0 {
                break;
            }
            let Some(polled) = self.consumer.poll(Duration::from_millis(20)) else {
                if Instant::now() >= deadline {
                    return Err(self.timed_out(last_error));
                }
                continue;
            };
            let message = match polled {
                Ok(message) => message,
                Err(KafkaError::PartitionEOF(partition)) => {
                    // Only a hint, and by number only: some brokers say so
                    // before the real end, and the topic is not named.
                    for p in self.positions.values_mut().filter_map(|t| t.get_mut(&partition)) {
                        if p.reading.is_some() {
                            p.at_end.get_or_insert_with(Instant::now);
                        }
                    }
                    continue;
                }
                Err(e @ KafkaError::MessageConsumption(RDKafkaErrorCode::OffsetOutOfRange)) => {
                    return Err(format!(
                        "Kafka at {}: a batch's offsets are no longer on the broker ({e}); they would be lost",
                        self.brokers
                    )
                    .into());
                }
                Err(e) => {
                    // The broker went away: librdkafka reconnects by itself.
                    if Instant::now() >= deadline {
                        return Err(self.timed_out(Some(e)));
                    }
                    last_error = Some(e);
                    continue;
                }
            };
            let Some(p) = self
                .positions
                .get_mut(message.topic())
                .and_then(|t| t.get_mut(&message.partition()))
            else {
                continue;
            };
            let offset = message.offset();
            if offset < p.next {
                continue;
            }
            p.next = offset + 1;
            p.at_end = None;
            let view = View::of(&message, &p.topic);
            match p.reading {
                Some((i, until)) if offset < until => {
                    if let Some(record) = decode(&view, ctx, time) {
                        parts[i].push(record);
                    }
                }
                _ => {
                    p.ahead.push_back(Fetched::of(&view));
                    if p.ahead.len() >= self.ahead_limit && !p.paused {
                        let mut list = TopicPartitionList::new();
                        list.add_partition(message.topic(), message.partition());
                        self.consumer
                            .pause(&list)
                            .map_err(|e| format!("cannot pause a Kafka partition: {e}"))?;
                        p.paused = true;
                    }
                }
            }
            // The range's last offset, or a later one: offsets between were
            // gaps (compaction, transaction markers).
            if let Some((_, until)) = p.reading
                && p.next >= until
            {
                p.finish(until);
                left -= 1;
            }
        }
        Ok(())
    }

    /// Finishes the ranges whose rest holds no record (see
    /// [`Self::ends_in_a_gap`]); how many.
    fn finish_gaps(&mut self) -> usize {
        let mut finished = 0;
        let timeout = self.request_timeout;
        for p in self.positions.values_mut().flat_map(BTreeMap::values_mut) {
            let Some((_, until)) = p.reading else { continue };
            if p.at_end.is_none_or(|t| t.elapsed() < GAP_GRACE) {
                continue;
            }
            p.at_end = None;
            if ends_in_a_gap(&self.consumer, p, until, timeout) {
                p.finish(until);
                finished += 1;
            }
        }
        finished
    }

    fn timed_out(&self, error: Option<KafkaError>) -> SourceError {
        let waiting: Vec<String> = self
            .positions
            .values()
            .flat_map(BTreeMap::values)
            .filter_map(|p| {
                let (_, until) = p.reading?;
                Some(format!("{}-{} [{}, {until})", p.topic, p.partition, p.next))
            })
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

/// Whether the rest of a range (up to `until`) holds no record: the
/// partition said it reached its end, stayed silent for [`GAP_GRACE`], and
/// still ends at the range's end (the last offsets are markers, as after a
/// transaction). While records lie beyond the range, the consumer keeps
/// reading until it sees one, so a broker's early "end" never cuts a range
/// short.
fn ends_in_a_gap(consumer: &BaseConsumer, p: &Position, until: i64, timeout: Duration) -> bool {
    match consumer.fetch_watermarks(&p.topic, p.partition, timeout) {
        Ok((_, high)) => high <= until,
        Err(_) => false,
    }
}
