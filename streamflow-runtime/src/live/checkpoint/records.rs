//! What the checkpoint files hold (postcard inside a [frame](super::frame)).

use crate::job::StateSnapshot;
use serde::{Deserialize, Serialize};

/// The job a checkpoint belongs to and the settings its files depend on;
/// written once, when the directory is first used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JobRecord {
    pub(crate) job: String,
    pub(crate) batch_interval_ms: u64,
    /// The job's default partition count: keyed state is partitioned by it.
    pub(crate) partitions: usize,
    /// Batch `k` of every run of this checkpoint is at `zero + k·d`.
    pub(crate) zero_ms: u64,
    /// Every input port, in order, with the type of its source's positions.
    pub(crate) inputs: Vec<InputRecordInfo>,
    /// What every input port, in order, does with a batch given in one
    /// partition (`Job::input_partitions`, described): a batch run again
    /// must be partitioned as it was.
    pub(crate) input_partitions: Vec<String>,
}

/// An input port as the checkpoint knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InputRecordInfo {
    pub(crate) port: String,
    /// The Rust type of the positions its batches record.
    pub(crate) positions: String,
    /// Where its source stood when the checkpoint was created, if it says.
    pub(crate) start: Option<Vec<u8>>,
}

impl InputRecordInfo {
    /// Whether `other` is the same port read by the same kind of source.
    pub(crate) fn same_input(&self, other: &InputRecordInfo) -> bool {
        self.port == other.port && self.positions == other.positions
    }
}

/// What one batch reads, per input port in port order, recorded before the
/// batch runs: its source's positions, or `None` if the cut failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InputsRecord {
    pub(crate) time_ms: u64,
    pub(crate) inputs: Vec<Option<Vec<u8>>>,
}

/// The job's whole state after the batch at `time_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StateRecord {
    pub(crate) time_ms: u64,
    pub(crate) state: StateSnapshot,
}
