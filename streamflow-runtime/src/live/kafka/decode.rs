//! Turning a fetched Kafka message into what the stream delivers: a
//! [`KafkaRecord`], or its value as text.

use super::record::KafkaRecord;
use crate::Time;
use crate::live::sources::SourceContext;
use rdkafka::message::{BorrowedMessage, Message};
use std::sync::Arc;

/// A fetched message, whether still in librdkafka's buffer or kept by the
/// reader for a later batch (see [`Fetched`]).
pub(crate) struct View<'a> {
    pub(crate) topic: &'a Arc<str>,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    pub(crate) timestamp: Option<i64>,
}

impl<'a> View<'a> {
    pub(crate) fn of(message: &'a BorrowedMessage<'_>, topic: &'a Arc<str>) -> Self {
        View {
            topic,
            partition: message.partition(),
            offset: message.offset(),
            key: message.key(),
            value: message.payload(),
            timestamp: message.timestamp().to_millis(),
        }
    }
}

/// A message fetched past the end of the batch that asked for it, kept
/// (copied out of librdkafka's buffer) for the next batch.
pub(crate) struct Fetched {
    pub(crate) offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    timestamp: Option<i64>,
}

impl Fetched {
    pub(crate) fn of(view: &View<'_>) -> Self {
        Fetched {
            offset: view.offset,
            key: view.key.map(<[u8]>::to_vec),
            value: view.value.map(<[u8]>::to_vec),
            timestamp: view.timestamp,
        }
    }

    pub(crate) fn view<'a>(&'a self, topic: &'a Arc<str>, partition: i32) -> View<'a> {
        View {
            topic,
            partition,
            offset: self.offset,
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            timestamp: self.timestamp,
        }
    }
}

/// Turns a message into a record; `None` drops it (after reporting why).
pub(crate) type Decode<T> = fn(&View<'_>, &SourceContext, Time) -> Option<T>;

/// Every message as a [`KafkaRecord`].
pub(crate) fn decode_record(message: &View<'_>, _: &SourceContext, _: Time) -> Option<KafkaRecord> {
    Some(KafkaRecord {
        topic: message.topic.clone(),
        partition: message.partition,
        offset: message.offset,
        key: message.key.map(<[u8]>::to_vec),
        value: message.value.map(<[u8]>::to_vec),
        timestamp: message.timestamp,
    })
}

/// A message's value as text; a value that is not UTF-8, or missing (a
/// tombstone), is rejected: counted and reported.
pub(crate) fn decode_text(message: &View<'_>, ctx: &SourceContext, time: Time) -> Option<String> {
    let (topic, partition, offset) = (message.topic, message.partition, message.offset);
    let Some(payload) = message.value else {
        ctx.reject(
            Some(time),
            format!("the record at {topic}-{partition}@{offset} has no value (a tombstone)"),
        );
        return None;
    };
    match std::str::from_utf8(payload) {
        Ok(text) => Some(text.to_owned()),
        Err(e) => {
            ctx.reject(
                Some(time),
                format!("the value at {topic}-{partition}@{offset} is not UTF-8 text ({e})"),
            );
            None
        }
    }
}
