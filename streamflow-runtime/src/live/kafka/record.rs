//! The record a Kafka source delivers.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One record read from Kafka (Spark's `ConsumerRecord`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KafkaRecord {
    /// The topic it was read from (shared by the records of a partition).
    pub topic: Arc<str>,
    /// The partition it was read from.
    pub partition: i32,
    /// Its offset in that partition.
    pub offset: i64,
    /// Its key, if it has one.
    pub key: Option<Vec<u8>>,
    /// Its value; `None` for a tombstone (a deletion in a compacted topic).
    pub value: Option<Vec<u8>>,
    /// Its timestamp in milliseconds since the epoch, if the broker gave one.
    pub timestamp: Option<i64>,
}

impl KafkaRecord {
    /// The value as UTF-8 text; `None` for a tombstone or a value that is
    /// not valid UTF-8.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use streamflow::live::kafka::KafkaRecord;
    ///
    /// let record = KafkaRecord {
    ///     topic: Arc::from("events"),
    ///     partition: 0,
    ///     offset: 7,
    ///     key: None,
    ///     value: Some(b"hello".to_vec()),
    ///     timestamp: None,
    /// };
    /// assert_eq!(record.value_text(), Some("hello"));
    /// ```
    pub fn value_text(&self) -> Option<&str> {
        std::str::from_utf8(self.value.as_deref()?).ok()
    }

    /// The key as UTF-8 text; `None` when there is no key or it is not valid
    /// UTF-8.
    pub fn key_text(&self) -> Option<&str> {
        std::str::from_utf8(self.key.as_deref()?).ok()
    }
}
