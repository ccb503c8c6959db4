//! How a Kafka source reads: where it starts, how fast it may go, which
//! consumer group it commits to.

use super::offsets::TopicPartition;
use std::collections::BTreeMap;
use std::time::Duration;

/// Where a Kafka source starts reading a partition when there is no
/// checkpoint to resume from (with one, the checkpoint decides).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StartingOffsets {
    /// The oldest record still on the broker.
    Earliest,
    /// The end of the partition when the job starts: only records produced
    /// after that are read (Spark's default).
    #[default]
    Latest,
    /// The given offset for the listed partitions, the oldest record for the
    /// others.
    Offsets(BTreeMap<TopicPartition, i64>),
    /// The offsets the consumer group last committed; partitions it never
    /// committed start at `otherwise` (needs a
    /// [`group_id`](KafkaOptions::group_id)).
    Committed {
        /// Where partitions without a committed offset start.
        otherwise: CommittedFallback,
    },
}

/// Where a partition without a committed offset starts, under
/// [`StartingOffsets::Committed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommittedFallback {
    /// At the oldest record.
    #[default]
    Earliest,
    /// At the end of the partition.
    Latest,
}

/// The options of [`kafka_direct_stream`](super::kafka_direct_stream),
/// named after Spark's where Spark has them.
///
/// ```
/// use std::time::Duration;
/// use streamflow::live::kafka::{KafkaOptions, StartingOffsets};
///
/// let options = KafkaOptions::new()
///     .group_id("word-count")
///     .starting_offsets(StartingOffsets::Earliest)
///     .max_rate_per_partition(10_000.0)
///     .commit_offsets(true)
///     .wait_for_topics(Duration::from_secs(30));
/// assert_eq!(options.group(), Some("word-count"));
/// ```
#[derive(Debug, Clone)]
pub struct KafkaOptions {
    pub(crate) group_id: Option<String>,
    pub(crate) starting: StartingOffsets,
    pub(crate) max_rate_per_partition: f64,
    pub(crate) commit_offsets: bool,
    pub(crate) wait_for_topics: Duration,
    pub(crate) read_committed: bool,
    pub(crate) request_timeout: Duration,
    pub(crate) fetch_timeout: Duration,
    pub(crate) max_records_ahead: usize,
    pub(crate) config: Vec<(String, String)>,
}

impl Default for KafkaOptions {
    fn default() -> Self {
        KafkaOptions {
            group_id: None,
            starting: StartingOffsets::default(),
            max_rate_per_partition: 0.0,
            commit_offsets: false,
            wait_for_topics: Duration::ZERO,
            read_committed: true,
            request_timeout: Duration::from_secs(5),
            fetch_timeout: Duration::from_secs(60),
            max_records_ahead: 50_000,
            config: Vec::new(),
        }
    }
}

impl KafkaOptions {
    /// The defaults: start at the latest offsets, no rate limit, no group,
    /// read only committed transactions.
    pub fn new() -> Self {
        Self::default()
    }

    /// The consumer group (`group.id`): the group whose offsets
    /// [`commit_offsets`](Self::commit_offsets) commits and
    /// [`StartingOffsets::Committed`] reads. The job's checkpoint, not the
    /// group, is what a recovered job resumes from.
    pub fn group_id(mut self, group: impl Into<String>) -> Self {
        self.group_id = Some(group.into());
        self
    }

    /// The group id, if one was set.
    pub fn group(&self) -> Option<&str> {
        self.group_id.as_deref()
    }

    /// Where to start without a checkpoint (default: [`StartingOffsets::Latest`]).
    pub fn starting_offsets(mut self, starting: StartingOffsets) -> Self {
        self.starting = starting;
        self
    }

    /// At most this many records per second from each partition (Spark's
    /// `spark.streaming.kafka.maxRatePerPartition`): a batch reads at most
    /// `rate × batch interval` offsets of a partition. 0 (the default) is no
    /// limit. Backpressure, when on, may lower it further.
    pub fn max_rate_per_partition(mut self, records_per_second: f64) -> Self {
        self.max_rate_per_partition = records_per_second.max(0.0);
        self
    }

    /// Commits each batch's end offsets to the consumer group once every
    /// sink wrote the batch (Spark's `commitAsync` after output), so that
    /// lag tools see progress. Needs a [`group_id`](Self::group_id). The
    /// checkpoint stays what a recovered job resumes from.
    pub fn commit_offsets(mut self, commit: bool) -> Self {
        self.commit_offsets = commit;
        self
    }

    /// Waits up to `wait` at start for subscribed topics that do not exist
    /// yet (default: zero, a missing topic is an error at start).
    pub fn wait_for_topics(mut self, wait: Duration) -> Self {
        self.wait_for_topics = wait;
        self
    }

    /// Reads records of aborted or open transactions too (Kafka's
    /// `isolation.level=read_uncommitted`). By default only committed
    /// records are read, and a batch never reads past an open transaction.
    pub fn read_uncommitted(mut self) -> Self {
        self.read_committed = false;
        self
    }

    /// How long one request for metadata or offsets may take before it
    /// counts as failed: the next cut reports it and reads nothing, and the
    /// request is made again (default 5 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long a batch may wait for its records while the broker is away
    /// before the batch fails (default 60 s).
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// The most records of one partition the reader holds fetched past the
    /// batches that asked for them, kept for the next batches (default
    /// 50 000, at least 1). A partition that far ahead stops fetching until
    /// its batches used half of them. It bounds memory besides
    /// librdkafka's own prefetch (`queued.max.messages.kbytes`).
    pub fn max_records_ahead(mut self, records: usize) -> Self {
        self.max_records_ahead = records.max(1);
        self
    }

    /// Sets any other librdkafka consumer property (`security.protocol`,
    /// `fetch.max.bytes`, ...). Properties the source relies on
    /// (`enable.auto.commit`, `auto.offset.reset`, `enable.partition.eof`)
    /// are set after these and cannot be overridden.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.push((key.into(), value.into()));
        self
    }
}
