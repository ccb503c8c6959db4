//! Small blocking helpers for setting up a topic and filling it, as examples
//! and tests need (a job does not need them).

use super::sink::{Deliveries, send};
use crate::live::error::SourceError;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

fn admin(brokers: &str) -> Result<AdminClient<DefaultClientContext>, SourceError> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .map_err(|e| format!("cannot create a Kafka admin client for {brokers}: {e}"))?)
}

fn admin_options() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)))
}

/// Creates `topic` with `partitions` partitions (replication factor 1) on
/// `brokers`; a topic that exists already is left as it is.
pub fn create_topic(brokers: &str, topic: &str, partitions: i32) -> Result<(), SourceError> {
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let results = futures_executor::block_on(admin(brokers)?.create_topics([&new], &admin_options()))
        .map_err(|e| format!("cannot create topic `{topic}` on {brokers}: {e}"))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => return Err(format!("cannot create topic `{name}` on {brokers}: {code}").into()),
        }
    }
    Ok(())
}

/// Writes `records` (key, value) to `topic`, round-robin over its
/// partitions when there is no key, and waits until the broker has them all.
/// Returns how many were written.
pub fn produce<K, V>(
    brokers: &str,
    topic: &str,
    records: impl IntoIterator<Item = (Option<K>, V)>,
) -> Result<usize, SourceError>
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let producer: ThreadedProducer<Deliveries> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create_with_context(Deliveries::default())
        .map_err(|e| format!("cannot create a Kafka producer for {brokers}: {e}"))?;
    let mut count = 0;
    for (key, value) in records {
        let mut record = BaseRecord::<[u8], [u8]>::to(topic).payload(value.as_ref());
        if let Some(key) = &key {
            record = record.key(key.as_ref());
        }
        send(&producer, record).map_err(|e| format!("topic `{topic}`: {e}"))?;
        count += 1;
    }
    producer
        .flush(Duration::from_secs(30))
        .map_err(|e| format!("cannot flush the records written to `{topic}`: {e}"))?;
    producer
        .context()
        .take_failure()
        .map_err(|e| format!("topic `{topic}`: {e}"))?;
    Ok(count)
}
