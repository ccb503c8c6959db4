//! Which topic partitions a process reads on a cluster, and a batch's
//! offset ranges recorded by every process, combined into one record.
//!
//! The same rule decides what a process cuts, what it delivers and, after a
//! recovery (perhaps on another number of processes), which recorded ranges
//! it reads again and where it goes on: so each partition's offsets are read
//! by exactly one process, whichever process recorded them.

use super::offsets::{KafkaOffsets, TopicPartition};
use crate::cluster::{Share, owner};
use crate::live::sources::Positions;
use std::collections::BTreeMap;

/// This process's share of a Kafka stream's partitions.
#[derive(Clone, Debug)]
pub(crate) struct KafkaShare {
    pub(crate) share: Share,
    /// Each topic's partition count when the source started.
    counts: BTreeMap<String, usize>,
}

impl KafkaShare {
    /// The share of `share`'s process, over the partitions a topic had at
    /// start (`partitions`, every topic's, in any order).
    pub(crate) fn new(share: Share, partitions: &[TopicPartition]) -> Self {
        let mut counts = BTreeMap::new();
        for tp in partitions {
            *counts.entry(tp.topic.clone()).or_default() += 1;
        }
        KafkaShare { share, counts }
    }

    /// Whether this process reads `tp`: partition `p` of a topic that had
    /// `n` partitions at start is read by process `owner(p, n, N)`
    /// (contiguous blocks, as a batch's partitions), and a partition added
    /// later by process `p mod N`.
    pub(crate) fn reads(&self, tp: &TopicPartition) -> bool {
        let p = tp.partition.max(0) as usize;
        let processes = self.share.processes.max(1);
        let reader = match self.counts.get(&tp.topic) {
            Some(&n) if p < n => owner(p, n, processes),
            _ => p % processes,
        };
        reader == self.share.process
    }

    /// `offsets` with only the ranges this process reads.
    pub(crate) fn mine(&self, offsets: &KafkaOffsets) -> KafkaOffsets {
        KafkaOffsets {
            ranges: offsets
                .ranges
                .iter()
                .filter(|r| self.reads(&r.partition))
                .cloned()
                .collect(),
        }
    }
}

/// The ranges every process recorded for one batch as one record, in
/// (topic, partition) order: each process recorded only the partitions it
/// read, so no partition is in two parts (if one were, the first part's
/// range is kept). Each process then reads its own share of it (see
/// [`KafkaShare::mine`]).
pub(crate) fn union(parts: Vec<KafkaOffsets>) -> KafkaOffsets {
    let mut ranges = BTreeMap::new();
    for part in parts {
        for range in part.ranges {
            ranges.entry(range.partition.clone()).or_insert(range);
        }
    }
    KafkaOffsets {
        ranges: ranges.into_values().collect(),
    }
}

/// Whether positions of the Rust type `type_name` are a Kafka stream's.
pub(crate) fn is_offsets(type_name: &str) -> bool {
    type_name == std::any::type_name::<KafkaOffsets>()
}

/// The Kafka ranges every process recorded for one batch (by process;
/// `None`: that cut failed), encoded, as one record ([`union`]).
pub(crate) fn combine(parts: &[Option<&[u8]>]) -> Result<Option<Vec<u8>>, String> {
    let parts = parts
        .iter()
        .flatten()
        .map(|bytes| KafkaOffsets::from_bytes(bytes).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, String>>()?;
    if parts.is_empty() {
        return Ok(None);
    }
    union(parts).to_bytes().map(Some).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::offsets::OffsetRange;
    use super::*;

    fn share(process: usize, processes: usize) -> Share {
        Share {
            process,
            processes,
            partitions: 4,
        }
    }

    fn range(partition: i32, from: i64) -> OffsetRange {
        OffsetRange {
            partition: TopicPartition::new("words", partition),
            from,
            until: from + 10,
        }
    }

    #[test]
    fn ranges_recorded_by_two_processes_are_read_by_one_of_three_each() {
        let partitions: Vec<TopicPartition> = (0..5).map(|p| TopicPartition::new("words", p)).collect();
        let recorded: Vec<KafkaOffsets> = (0..2)
            .map(|process| {
                let two = KafkaShare::new(share(process, 2), &partitions);
                two.mine(&KafkaOffsets {
                    ranges: (0..5).map(|p| range(p, i64::from(p) * 100)).collect(),
                })
            })
            .collect();
        assert_eq!(recorded[0].ranges.len() + recorded[1].ranges.len(), 5);
        let combined = union(recorded.into_iter().rev().collect());
        assert_eq!(
            combined.ranges,
            (0..5).map(|p| range(p, i64::from(p) * 100)).collect::<Vec<_>>()
        );
        let mut read: Vec<OffsetRange> = (0..3)
            .flat_map(|process| KafkaShare::new(share(process, 3), &partitions).mine(&combined).ranges)
            .collect();
        read.sort_by(|a, b| a.partition.cmp(&b.partition));
        assert_eq!(read, combined.ranges, "each partition read once, by one process");
        // A partition added after start goes to `p mod N`.
        let three = KafkaShare::new(share(2, 3), &partitions);
        assert!(three.reads(&TopicPartition::new("words", 8)));
        assert!(!three.reads(&TopicPartition::new("words", 9)));
    }
}
