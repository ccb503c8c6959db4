//! [`KafkaSink`]: writes a stream's elements to a topic, at least once with
//! an idempotent producer, or exactly once by finding, after a restart, how
//! far the previous run got.

use super::partitioner::{Partitioner, default_partitioner};
use crate::live::error::SourceError;
use crate::sinks::{Sink, SinkError};
use crate::{Batch, Time};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Header names of an exactly-once sink's records.
const SINK_HEADER: &str = "streamflow-sink";
const BATCH_HEADER: &str = "streamflow-batch";
const SEQ_HEADER: &str = "streamflow-seq";

/// The options of a [`KafkaSink`].
#[derive(Debug, Clone)]
pub struct KafkaSinkOptions {
    exactly_once: Option<String>,
    partitioner: Partitioner,
    timeout: Duration,
    config: Vec<(String, String)>,
}

impl Default for KafkaSinkOptions {
    fn default() -> Self {
        KafkaSinkOptions {
            exactly_once: None,
            partitioner: default_partitioner,
            timeout: Duration::from_secs(30),
            config: Vec::new(),
        }
    }
}

impl KafkaSinkOptions {
    /// At-least-once writing with an idempotent producer, records placed by
    /// [`default_partitioner`](super::default_partitioner).
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a batch's records may take to be acknowledged (default 30 s)
    /// before the batch fails.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Chooses each record's partition (default:
    /// [`default_partitioner`](super::default_partitioner), Kafka's own).
    /// It must be deterministic for exactly-once writing.
    pub fn partitioner(mut self, partitioner: Partitioner) -> Self {
        self.partitioner = partitioner;
        self
    }

    /// Sets any other librdkafka producer property (`compression.type`,
    /// `security.protocol`...).
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.push((key.into(), value.into()));
        self
    }

    /// Exactly once under the sink id `id` (see [`KafkaSink`]).
    pub fn exactly_once(mut self, id: impl Into<String>) -> Self {
        self.exactly_once = Some(id.into());
        self
    }
}

/// Writes each element of a stream as one record of a topic; the closure
/// gives the record's key (if any) and value, the
/// [partitioner](KafkaSinkOptions::partitioner) its partition.
///
/// **At least once** (the default). The producer is idempotent (its
/// retries never duplicate a record, and a partition's records stay in
/// order), and a batch succeeds once the broker acknowledged all of its
/// records. A batch that was written and then runs again after a crash
/// (recovery runs every batch whose commit was not recorded) is written
/// again.
///
/// **Exactly once** ([`exactly_once`](KafkaSinkOptions::exactly_once)).
/// Every record carries three headers: the sink's id, its batch's time, and
/// its position among the batch's records of its partition. When the sink
/// starts, it reads back, per partition, the last record it wrote; a batch
/// at or before that point is skipped, record by record, so a batch run
/// again after a crash writes only what the crashed run had not, and every
/// element of every batch is in the topic once. This holds because a
/// recovered batch is computed again with the same elements in the same
/// order (streamflow's batches are deterministic for the same inputs), the
/// partitioner is deterministic, and the topic's partition count does not
/// change across the restart. It needs no broker transactions (tansu, the
/// broker the tests run on, has none), but it is not atomic: until the
/// recovered run completes a batch, readers can see the part the crashed
/// run wrote. Only one running job may use a sink id.
///
/// ```no_run
/// use streamflow::live::kafka::{KafkaSink, KafkaSinkOptions};
///
/// let options = KafkaSinkOptions::new().exactly_once("word-count-counts");
/// let sink = KafkaSink::new("localhost:9092", "counts", options, |(word, n): &(String, u64)| {
///     (Some(word.clone()), n.to_string())
/// });
/// ```
pub struct KafkaSink<T, F> {
    brokers: String,
    topic: String,
    options: KafkaSinkOptions,
    to_record: F,
    producer: Option<ThreadedProducer<Deliveries>>,
    partitions: i32,
    /// Exactly once: per partition, the batch time and position of the last
    /// record the sink wrote before it started.
    written: Vec<Option<(u64, u64)>>,
    _elements: std::marker::PhantomData<fn(&T)>,
}

impl<T, F, K, V> KafkaSink<T, F>
where
    F: FnMut(&T) -> (Option<K>, V),
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    /// A sink writing to `topic` (which must exist) on `brokers`.
    pub fn new(brokers: impl Into<String>, topic: impl Into<String>, options: KafkaSinkOptions, to_record: F) -> Self {
        KafkaSink {
            brokers: brokers.into(),
            topic: topic.into(),
            options,
            to_record,
            producer: None,
            partitions: 0,
            written: Vec::new(),
            _elements: std::marker::PhantomData,
        }
    }

    /// Connects on the first batch; an exactly-once sink also finds where
    /// it stopped writing.
    fn connect(&mut self) -> Result<(), SourceError> {
        if self.producer.is_some() {
            return Ok(());
        }
        let mut config = ClientConfig::new();
        for (key, value) in &self.options.config {
            config.set(key, value);
        }
        config
            .set("bootstrap.servers", &self.brokers)
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", self.options.timeout.as_millis().to_string());
        let producer: ThreadedProducer<Deliveries> = config
            .create_with_context(Deliveries::default())
            .map_err(|e| format!("cannot create a Kafka producer for {}: {e}", self.brokers))?;
        let reader = TopicReader::new(&self.brokers, self.options.timeout)?;
        self.partitions = reader.partitions(&self.topic)?;
        if let Some(id) = &self.options.exactly_once {
            self.written = (0..self.partitions)
                .map(|p| reader.last_written(&self.topic, p, id))
                .collect::<Result<_, _>>()?;
            tracing::info!(topic = %self.topic, sink = %id, written = ?self.written, "Kafka sink: where the last run stopped");
        }
        self.producer = Some(producer);
        Ok(())
    }

    fn write_batch(&mut self, time: Time, batch: &Batch<T>) -> Result<(), SourceError> {
        self.connect()?;
        let producer = self.producer.take().expect("connected");
        let result = self.send_batch(&producer, time, batch);
        self.producer = Some(producer);
        result
    }

    fn send_batch(
        &mut self,
        producer: &ThreadedProducer<Deliveries>,
        time: Time,
        batch: &Batch<T>,
    ) -> Result<(), SourceError> {
        let t = time.as_millis();
        let mut seqs = vec![0u64; self.partitions as usize];
        for (index, element) in batch.iter().enumerate() {
            let (key, value) = (self.to_record)(element);
            let key = key.as_ref().map(AsRef::as_ref);
            let partition = (self.options.partitioner)(key, index, self.partitions);
            if !(0..self.partitions).contains(&partition) {
                return Err(format!(
                    "the partitioner chose partition {partition} of a topic with {} partitions",
                    self.partitions
                )
                .into());
            }
            let seq = &mut seqs[partition as usize];
            let position = *seq;
            *seq += 1;
            let mut record = BaseRecord::<[u8], [u8]>::to(&self.topic)
                .payload(value.as_ref())
                .partition(partition);
            if let Some(key) = key {
                record = record.key(key);
            }
            if let Some(id) = &self.options.exactly_once {
                let written_before = self.written.get(partition as usize).copied().flatten();
                if written_before.is_some_and(|last| (t, position) <= last) {
                    continue;
                }
                let headers = OwnedHeaders::new_with_capacity(3)
                    .insert(Header {
                        key: SINK_HEADER,
                        value: Some(id.as_bytes()),
                    })
                    .insert(Header {
                        key: BATCH_HEADER,
                        value: Some(t.to_string().as_bytes()),
                    })
                    .insert(Header {
                        key: SEQ_HEADER,
                        value: Some(position.to_string().as_bytes()),
                    });
                record = record.headers(headers);
            }
            send(producer, record)?;
        }
        producer
            .flush(self.options.timeout)
            .map_err(|e| format!("records not acknowledged in time: {e}"))?;
        producer.context().take_failure()
    }
}

impl<T, F, K, V> Sink<T> for KafkaSink<T, F>
where
    T: 'static,
    F: FnMut(&T) -> (Option<K>, V) + Send + 'static,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    fn name(&self) -> String {
        format!("kafka {} {}", self.brokers, self.topic)
    }

    fn write(&mut self, time: Time, batch: &Batch<T>) -> Result<(), SinkError> {
        self.write_batch(time, batch)
            .map_err(|e| SinkError::Other(format!("Kafka topic `{}`: {e}", self.topic)))
    }
}

/// Sends one record, waiting while the producer's queue is full.
pub(crate) fn send(
    producer: &ThreadedProducer<Deliveries>,
    mut record: BaseRecord<'_, [u8], [u8]>,
) -> Result<(), SourceError> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((e, _)) => return Err(format!("cannot send a record: {e}").into()),
        }
    }
}

/// Reads a topic's shape and an exactly-once sink's last records.
struct TopicReader {
    consumer: BaseConsumer,
    timeout: Duration,
}

impl TopicReader {
    fn new(brokers: &str, timeout: Duration) -> Result<Self, SourceError> {
        let consumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", "streamflow-sink")
            .set("fetch.wait.max.ms", "10")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .create()
            .map_err(|e| format!("cannot create a Kafka consumer for {brokers}: {e}"))?;
        Ok(TopicReader { consumer, timeout })
    }

    fn partitions(&self, topic: &str) -> Result<i32, SourceError> {
        let metadata = self.consumer.fetch_metadata(Some(topic), self.timeout)?;
        match metadata.topics().iter().find(|t| t.name() == topic) {
            Some(t) if t.error().is_none() && !t.partitions().is_empty() => Ok(t.partitions().len() as i32),
            _ => Err(format!("Kafka topic `{topic}` does not exist").into()),
        }
    }

    /// The (batch time, position) of the last record sink `id` wrote to
    /// `partition`, looking back further and further from the end.
    fn last_written(&self, topic: &str, partition: i32, id: &str) -> Result<Option<(u64, u64)>, SourceError> {
        let (low, high) = self.consumer.fetch_watermarks(topic, partition, self.timeout)?;
        let mut back = 64;
        let mut until = high;
        while until > low {
            let from = (until - back).max(low);
            let found = self.last_in(topic, partition, id, from, until)?;
            if found.is_some() {
                return Ok(found);
            }
            until = from;
            back = back.saturating_mul(4);
        }
        Ok(None)
    }

    /// The last record of sink `id` among the offsets `[from, until)`.
    fn last_in(
        &self,
        topic: &str,
        partition: i32,
        id: &str,
        from: i64,
        until: i64,
    ) -> Result<Option<(u64, u64)>, SourceError> {
        let mut list = TopicPartitionList::new();
        list.add_partition_offset(topic, partition, Offset::Offset(from))?;
        self.consumer.assign(&list)?;
        let deadline = Instant::now() + self.timeout;
        let mut last = None;
        loop {
            match self.consumer.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => {
                    if message.offset() >= until {
                        break;
                    }
                    if let Some(mark) = sink_mark(&message, id) {
                        last = Some(mark);
                    }
                    if message.offset() >= until - 1 {
                        break;
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) => break,
                _ if Instant::now() >= deadline => {
                    return Err(format!("cannot read back {topic}-{partition} within {:?}", self.timeout).into());
                }
                _ => {}
            }
        }
        Ok(last)
    }
}

/// A record's (batch time, position) if sink `id` wrote it.
fn sink_mark(message: &impl Message, id: &str) -> Option<(u64, u64)> {
    let headers = message.headers()?;
    let mut sink = None;
    let mut batch = None;
    let mut seq = None;
    for header in headers.iter() {
        let value = header.value.and_then(|v| std::str::from_utf8(v).ok());
        match header.key {
            SINK_HEADER => sink = value,
            BATCH_HEADER => batch = value.and_then(|v| v.parse().ok()),
            SEQ_HEADER => seq = value.and_then(|v| v.parse().ok()),
            _ => {}
        }
    }
    (sink == Some(id)).then_some((batch?, seq?))
}

/// Remembers the records the broker refused.
#[derive(Default)]
pub(crate) struct Deliveries {
    failure: Mutex<Option<(usize, String)>>,
}

impl Deliveries {
    /// The failures since the last call, as an error.
    pub(crate) fn take_failure(&self) -> Result<(), SourceError> {
        match self.failure.lock().unwrap_or_else(|e| e.into_inner()).take() {
            None => Ok(()),
            Some((count, first)) => Err(format!("{count} record(s) not written, the first because: {first}").into()),
        }
    }
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
            match &mut *failure {
                Some((count, _)) => *count += 1,
                None => *failure = Some((1, e.to_string())),
            }
        }
    }
}
