//! What the status page remembers of a job: a listener that keeps the events
//! of the bus in a bounded history (the last batches, the failed ones, the
//! receivers' states, the last input errors).

use crate::Time;
use crate::live::listener::{
    BatchInfo, CheckpointInfo, InputErrorInfo, OutputOperationInfo, ReceiverInfo, StreamingEvent, StreamingListener,
};
use crate::live::sync::lock;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Completed batches kept for the plots and tables (Spark's
/// `spark.streaming.ui.retainedBatches` default).
pub(super) const RETAINED_BATCHES: usize = 1000;
/// Failed batches kept for their table.
pub(super) const RETAINED_FAILED: usize = 100;
/// Input errors kept for their table.
pub(super) const RETAINED_INPUT_ERRORS: usize = 20;
/// State checkpoints kept for their table.
pub(super) const RETAINED_CHECKPOINTS: usize = 20;
/// Longest message kept (error texts can be whole panics).
pub(super) const MAX_MESSAGE: usize = 2000;

/// A batch that has not completed: queued, or running.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ActiveBatch {
    pub(super) info: BatchInfo,
    pub(super) running: bool,
    pub(super) outputs: Vec<OutputOperationInfo>,
}

/// A completed batch with the output operations that wrote it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CompletedBatch {
    pub(super) info: BatchInfo,
    pub(super) outputs: Vec<OutputOperationInfo>,
}

/// Where a receiver is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReceiverState {
    Active,
    /// It reported an error and goes on or restarts.
    Erring,
    Stopped,
}

impl ReceiverState {
    pub(super) fn name(self) -> &'static str {
        match self {
            ReceiverState::Active => "active",
            ReceiverState::Erring => "error",
            ReceiverState::Stopped => "stopped",
        }
    }
}

/// The last known state of one receiver.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ReceiverRow {
    pub(super) info: ReceiverInfo,
    pub(super) state: ReceiverState,
}

/// Everything the page shows that comes from the events; bounded.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct History {
    pub(super) started_at: Option<SystemTime>,
    pub(super) stopped: bool,
    pub(super) active: BTreeMap<Time, ActiveBatch>,
    /// The last [`RETAINED_BATCHES`] completed batches (failed ones
    /// included), oldest first.
    pub(super) completed: VecDeque<CompletedBatch>,
    /// The last [`RETAINED_FAILED`] failed batches, oldest first.
    pub(super) failed: VecDeque<CompletedBatch>,
    pub(super) receivers: Vec<ReceiverRow>,
    pub(super) input_errors: VecDeque<InputErrorInfo>,
    /// Counted over the whole run, not only what is retained.
    pub(super) batches_completed: u64,
    pub(super) batches_failed: u64,
    pub(super) records: u64,
    /// The last [`RETAINED_CHECKPOINTS`] state checkpoints, oldest first.
    pub(super) checkpoints: VecDeque<CheckpointInfo>,
    pub(super) checkpoints_written: u64,
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T, bound: usize) {
    if queue.len() == bound {
        queue.pop_front();
    }
    queue.push_back(item);
}

/// Cuts a message to [`MAX_MESSAGE`] bytes (on a character boundary).
pub(super) fn truncate(message: &mut String) {
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
}

impl History {
    /// Takes one event in.
    pub(super) fn record(&mut self, event: &StreamingEvent) {
        match event {
            StreamingEvent::Started { .. } => self.started_at = Some(SystemTime::now()),
            StreamingEvent::BatchSubmitted(info) => {
                self.active.insert(
                    info.time,
                    ActiveBatch {
                        info: info.clone(),
                        running: false,
                        outputs: Vec::new(),
                    },
                );
            }
            StreamingEvent::BatchStarted(info) => {
                let entry = self.active.entry(info.time).or_insert_with(|| ActiveBatch {
                    info: info.clone(),
                    running: true,
                    outputs: Vec::new(),
                });
                entry.info = info.clone();
                entry.running = true;
            }
            StreamingEvent::OutputOperationCompleted(output) => {
                if let Some(active) = self.active.get_mut(&output.time) {
                    let mut output = output.clone();
                    if let Some(failure) = &mut output.failure {
                        truncate(failure);
                    }
                    active.outputs.push(output);
                }
            }
            StreamingEvent::BatchCompleted(info) => self.complete(info),
            StreamingEvent::ReceiverStarted(r) => self.receiver(r, ReceiverState::Active),
            StreamingEvent::ReceiverError(r) => self.receiver(r, ReceiverState::Erring),
            StreamingEvent::ReceiverStopped(r) => self.receiver(r, ReceiverState::Stopped),
            StreamingEvent::InputError(e) => {
                let mut e = e.clone();
                truncate(&mut e.message);
                push_bounded(&mut self.input_errors, e, RETAINED_INPUT_ERRORS);
            }
            StreamingEvent::CheckpointWritten(checkpoint) => {
                self.checkpoints_written += 1;
                push_bounded(&mut self.checkpoints, *checkpoint, RETAINED_CHECKPOINTS);
            }
            StreamingEvent::Stopped => {
                self.stopped = true;
                self.active.clear();
            }
            // Events added later are not shown.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    fn complete(&mut self, info: &BatchInfo) {
        let outputs = self.active.remove(&info.time).map(|a| a.outputs).unwrap_or_default();
        // Batches run in time order: an earlier one still listed lost its
        // event (a bus that drops events when full); keep the list bounded.
        self.active.retain(|&time, _| time > info.time);
        let mut info = info.clone();
        if let Some(failure) = &mut info.failure {
            truncate(failure);
        }
        self.batches_completed += 1;
        self.records += info.records() as u64;
        let batch = CompletedBatch { info, outputs };
        if batch.info.failure.is_some() {
            self.batches_failed += 1;
            push_bounded(&mut self.failed, batch.clone(), RETAINED_FAILED);
        }
        push_bounded(&mut self.completed, batch, RETAINED_BATCHES);
    }

    fn receiver(&mut self, info: &ReceiverInfo, state: ReceiverState) {
        let mut info = info.clone();
        if let Some(error) = &mut info.last_error {
            truncate(error);
        }
        let row = ReceiverRow { info, state };
        match self
            .receivers
            .iter_mut()
            .find(|r| r.info.input == row.info.input && r.info.name == row.info.name)
        {
            Some(existing) => *existing = row,
            None => self.receivers.push(row),
        }
    }
}

/// The listener the status page registers: keeps the history it reads.
pub(super) struct Recorder(pub(super) Arc<Mutex<History>>);

impl StreamingListener for Recorder {
    fn on_event(&mut self, event: &StreamingEvent) {
        lock(&self.0).record(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn batch(ms: u64, failure: Option<&str>) -> BatchInfo {
        BatchInfo {
            time: Time::from_millis(ms),
            input_records: vec![("lines", 10)],
            submitted_at: SystemTime::UNIX_EPOCH,
            scheduling_delay: Some(Duration::from_millis(1)),
            processing_time: Some(Duration::from_millis(2)),
            total_delay: Some(Duration::from_millis(3)),
            stage_times: vec![],
            failure: failure.map(str::to_owned),
            input_progress: Vec::new(),
        }
    }

    #[test]
    fn history_is_bounded_and_counts_everything() {
        let mut history = History::default();
        for i in 1..=(RETAINED_BATCHES as u64 + 5) {
            let failure = (i % 7 == 0).then_some("boom");
            history.record(&StreamingEvent::BatchSubmitted(batch(i * 100, None)));
            history.record(&StreamingEvent::BatchCompleted(batch(i * 100, failure)));
        }
        assert_eq!(history.completed.len(), RETAINED_BATCHES);
        assert_eq!(history.completed[0].info.time, Time::from_millis(600));
        assert_eq!(history.batches_completed, RETAINED_BATCHES as u64 + 5);
        assert_eq!(history.batches_failed, (RETAINED_BATCHES as u64 + 5) / 7);
        assert_eq!(history.failed.len(), RETAINED_FAILED);
        assert_eq!(history.records, 10 * (RETAINED_BATCHES as u64 + 5));
        assert!(history.active.is_empty());
    }

    #[test]
    fn a_completed_batch_ends_the_earlier_active_ones() {
        let mut history = History::default();
        for ms in [100, 200, 300] {
            history.record(&StreamingEvent::BatchSubmitted(batch(ms, None)));
        }
        history.record(&StreamingEvent::BatchCompleted(batch(200, None)));
        assert_eq!(
            history.active.keys().copied().collect::<Vec<_>>(),
            [Time::from_millis(300)]
        );
    }

    #[test]
    fn long_messages_are_cut() {
        let mut history = History::default();
        let long = "é".repeat(MAX_MESSAGE);
        history.record(&StreamingEvent::BatchCompleted(batch(100, Some(&long))));
        let kept = history.failed[0].info.failure.as_ref().unwrap();
        assert!(kept.len() <= MAX_MESSAGE + '…'.len_utf8());
        assert!(kept.ends_with('…'));
    }
}
