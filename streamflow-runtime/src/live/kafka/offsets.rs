//! What one batch reads from Kafka: an offset range per topic partition,
//! decided at the batch's cut and recorded in the checkpoint.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A topic partition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicPartition {
    /// The topic's name.
    pub topic: String,
    /// The partition's number within the topic.
    pub partition: i32,
}

impl TopicPartition {
    /// `topic`'s partition `partition`.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// The offsets `[from, until)` of one topic partition that a batch reads
/// (Spark's `OffsetRange`). Offsets may have gaps (compacted topics,
/// transaction markers): the range's length bounds its record count, it is
/// not that count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetRange {
    /// The topic partition.
    pub partition: TopicPartition,
    /// The first offset read.
    pub from: i64,
    /// One past the last offset read.
    pub until: i64,
}

impl OffsetRange {
    /// Whether the range holds no offset.
    pub fn is_empty(&self) -> bool {
        self.until <= self.from
    }
}

impl fmt::Display for OffsetRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}, {})", self.partition, self.from, self.until)
    }
}

/// The positions of one batch: a range for every partition the source
/// knew at the cut, in (topic, partition) order, empty ones included (the
/// batch's partitions are these, one to one).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KafkaOffsets {
    /// The ranges, in (topic, partition) order.
    pub ranges: Vec<OffsetRange>,
}

impl KafkaOffsets {
    /// The offset each partition's next batch starts at.
    pub fn ends(&self) -> impl Iterator<Item = (&TopicPartition, i64)> {
        self.ranges.iter().map(|r| (&r.partition, r.until))
    }
}
