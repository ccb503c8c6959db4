//! The broker requests a Kafka source makes at a batch's cut, over one
//! librdkafka consumer that belongs to no group: which partitions a topic
//! has, and where each one begins and ends.

use super::offsets::TopicPartition;
use super::options::KafkaOptions;
use crate::live::error::SourceError;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::time::{Duration, Instant};

/// The consumer properties the source relies on, after the user's own.
pub(crate) fn consumer_config(brokers: &str, options: &KafkaOptions, group: Option<&str>) -> ClientConfig {
    let mut config = ClientConfig::new();
    // A batch fetches a range that is already on the broker: a fetch need
    // not wait for more data (some brokers wait the whole maximum, 500 ms by
    // default, before answering). The user's properties may change it.
    config.set("fetch.wait.max.ms", "10");
    for (key, value) in &options.config {
        config.set(key, value);
    }
    config
        .set("bootstrap.servers", brokers)
        // Offsets are the checkpoint's business; the group only hears commits.
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        // A range that is no longer on the broker is an error, never a jump.
        .set("auto.offset.reset", "error")
        .set("enable.partition.eof", "true")
        .set(
            "isolation.level",
            if options.read_committed {
                "read_committed"
            } else {
                "read_uncommitted"
            },
        )
        .set(
            "socket.timeout.ms",
            millis(options.request_timeout.max(Duration::from_millis(10))),
        )
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "1000");
    // librdkafka wants a group id even for a consumer that only assigns.
    config.set("group.id", group.unwrap_or("streamflow-metadata"));
    config
}

fn millis(d: Duration) -> String {
    d.as_millis().to_string()
}

/// Metadata and watermark requests.
pub(crate) struct MetadataClient {
    consumer: BaseConsumer,
    timeout: Duration,
}

impl MetadataClient {
    pub(crate) fn new(brokers: &str, options: &KafkaOptions) -> Result<Self, SourceError> {
        let consumer = consumer_config(brokers, options, None)
            .create()
            .map_err(|e| format!("cannot create a Kafka client for {brokers}: {e}"))?;
        Ok(MetadataClient {
            consumer,
            timeout: options.request_timeout,
        })
    }

    /// The partitions of `topic`; `Ok(None)` when the topic does not exist.
    pub(crate) fn partitions(&self, topic: &str) -> Result<Option<Vec<i32>>, KafkaError> {
        let metadata = self.consumer.fetch_metadata(Some(topic), self.timeout)?;
        let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
            return Ok(None);
        };
        if found.error().is_some() || found.partitions().is_empty() {
            // Unknown topic (auto-creation is off on a sane broker).
            return Ok(None);
        }
        let mut partitions: Vec<i32> = found.partitions().iter().map(|p| p.id()).collect();
        partitions.sort_unstable();
        Ok(Some(partitions))
    }

    /// Every partition of `topics`, waiting up to `wait` for topics that do
    /// not exist yet; the error names the ones still missing.
    pub(crate) fn all_partitions(&self, topics: &[String], wait: Duration) -> Result<Vec<TopicPartition>, SourceError> {
        let deadline = Instant::now() + wait;
        loop {
            let mut found = Vec::new();
            let mut missing = Vec::new();
            for topic in topics {
                match self.partitions(topic) {
                    Ok(Some(partitions)) => {
                        found.extend(partitions.into_iter().map(|p| TopicPartition::new(topic.clone(), p)))
                    }
                    Ok(None) => missing.push(topic.as_str()),
                    Err(e) => return Err(format!("cannot read the metadata of topic `{topic}`: {e}").into()),
                }
            }
            if missing.is_empty() {
                found.sort();
                return Ok(found);
            }
            if Instant::now() >= deadline {
                let waited = if wait.is_zero() {
                    String::new()
                } else {
                    format!(" (waited {wait:?})")
                };
                return Err(format!(
                    "Kafka topic{} {} do{} not exist{waited}",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "),
                    if missing.len() == 1 { "es" } else { "" },
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The end offset of each of `partitions` (one past the last readable
    /// record: the last stable offset when reading only committed records).
    /// One ListOffsets request per broker for all of them, where asking
    /// partition by partition (watermarks) costs two requests each.
    pub(crate) fn end_offsets(&self, partitions: &[TopicPartition]) -> Result<Vec<i64>, String> {
        self.list_offsets(partitions, Offset::End)
    }

    /// The first offset still on the broker of each of `partitions`, in
    /// one request per broker.
    pub(crate) fn start_offsets(&self, partitions: &[TopicPartition]) -> Result<Vec<i64>, String> {
        self.list_offsets(partitions, Offset::Beginning)
    }

    /// librdkafka's offsets-for-times lookup, which groups the partitions by
    /// leader; the timestamps "latest" (-1) and "earliest" (-2) ask for the
    /// ends and the starts.
    fn list_offsets(&self, partitions: &[TopicPartition], at: Offset) -> Result<Vec<i64>, String> {
        if partitions.is_empty() {
            return Ok(Vec::new());
        }
        let mut list = TopicPartitionList::with_capacity(partitions.len());
        for tp in partitions {
            list.add_partition_offset(&tp.topic, tp.partition, at)
                .map_err(|e| format!("cannot ask for the offsets of {tp}: {e}"))?;
        }
        let found = self
            .consumer
            .offsets_for_times(list, self.timeout)
            .map_err(|e| format!("cannot read the offsets of {}: {e}", names(partitions)))?;
        partitions
            .iter()
            .map(|tp| {
                let element = found
                    .find_partition(&tp.topic, tp.partition)
                    .ok_or_else(|| format!("the broker did not answer for {tp}"))?;
                element
                    .error()
                    .map_err(|e| format!("cannot read the offsets of {tp}: {e}"))?;
                match element.offset() {
                    Offset::Offset(offset) => Ok(offset),
                    other => Err(format!("the broker gave no offset for {tp} ({other:?})")),
                }
            })
            .collect()
    }

    /// The consumer group's committed offsets of `partitions` (`None`: never committed).
    pub(crate) fn committed(
        brokers: &str,
        options: &KafkaOptions,
        group: &str,
        partitions: &[TopicPartition],
    ) -> Result<Vec<Option<i64>>, SourceError> {
        let consumer: BaseConsumer = consumer_config(brokers, options, Some(group))
            .create()
            .map_err(|e| format!("cannot create a Kafka client for {brokers}: {e}"))?;
        let mut list = TopicPartitionList::new();
        for tp in partitions {
            list.add_partition(&tp.topic, tp.partition);
        }
        let committed = consumer
            .committed_offsets(list, options.request_timeout)
            .map_err(|e| format!("cannot read the committed offsets of group `{group}`: {e}"))?;
        Ok(partitions
            .iter()
            .map(|tp| {
                committed
                    .find_partition(&tp.topic, tp.partition)
                    .and_then(|e| e.offset().to_raw())
                    .filter(|o| *o >= 0)
            })
            .collect())
    }
}

/// `a-0, a-1` (the first few, for an error message).
fn names(partitions: &[TopicPartition]) -> String {
    let mut names: Vec<String> = partitions.iter().take(4).map(ToString::to_string).collect();
    if partitions.len() > 4 {
        names.push(format!("{} more", partitions.len() - 4));
    }
    names.join(", ")
}
