//! Watching a live job: Spark's `StreamingListener` events, the metrics each
//! batch carries, and the bus that delivers them.

use crate::Time;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, SystemTime};

/// What happened to one batch. Filled in as the batch moves on: delays and
/// processing time are known once it has run.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchInfo {
    /// The batch's time.
    pub time: Time,
    /// Records per input port: known at submission when the source's cut
    /// says how many (receivers, queues), else once the batch's input is
    /// delivered (files).
    pub input_records: Vec<(&'static str, usize)>,
    /// When the batch was cut and queued (wall clock, for display).
    pub submitted_at: SystemTime,
    /// Time the batch waited in the queue before processing started.
    pub scheduling_delay: Option<Duration>,
    /// Time the batch took: reading its inputs, running the job, writing its
    /// sinks, committing its inputs.
    pub processing_time: Option<Duration>,
    /// Scheduling delay plus processing time.
    pub total_delay: Option<Duration>,
    /// The time each stage of the job's plan took in this batch (index =
    /// stage id − 1, see [`StreamingHandle::plan`](super::StreamingHandle::plan));
    /// empty until the job has run it, and for jobs that do not record them.
    pub stage_times: Vec<Duration>,
    /// Why the batch failed, if it did.
    pub failure: Option<String>,
    /// Per input port that reports it (Kafka): what the batch reads of each
    /// partition, and how far behind the partition's end that leaves it.
    pub input_progress: Vec<(&'static str, Vec<PartitionProgress>)>,
}

/// What a batch reads of one partition of a partitioned source (Kafka), as
/// decided at its cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionProgress {
    /// The partition (`topic-0`).
    pub partition: String,
    /// The first offset the batch reads.
    pub from_offset: i64,
    /// One past the last offset it reads.
    pub until_offset: i64,
    /// The consumer lag after this batch: offsets on the broker at the cut
    /// past `until_offset`.
    pub lag: u64,
}

impl BatchInfo {
    /// The number of records in the batch, over all inputs.
    pub fn records(&self) -> usize {
        self.input_records.iter().map(|(_, n)| n).sum()
    }
}

/// The state of one receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverInfo {
    /// The input port the receiver feeds.
    pub input: &'static str,
    /// The receiver's name (for example `socket 127.0.0.1:9999`).
    pub name: String,
    /// Whether it is running.
    pub active: bool,
    /// The last error it reported.
    pub last_error: Option<String>,
    /// How many times it was restarted.
    pub restarts: u64,
}

/// One sink bound to an output port has written (or failed to write) a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputOperationInfo {
    /// The batch's time.
    pub time: Time,
    /// The output port.
    pub port: &'static str,
    /// The sink's name.
    pub sink: String,
    /// How long it took.
    pub duration: Duration,
    /// Why it failed, if it did.
    pub failure: Option<String>,
}

/// A problem with an input that is not a receiver's (an unreadable file of a
/// `text_file_stream`), or a record a receiver rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputErrorInfo {
    /// The input port.
    pub input: &'static str,
    /// The batch it concerns, when known.
    pub time: Option<Time>,
    /// What went wrong.
    pub message: String,
}

/// What a stop left unprocessed: records that were accepted (stored by a
/// receiver, or counted at a batch's cut) and will never be processed,
/// because an immediate stop dropped their queued batches or a receiver
/// still held them when it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnprocessedInfo {
    /// Accepted records never processed. A dropped batch of a source that
    /// counts its records only when delivering them (a directory) adds its
    /// batch, not its records.
    pub records: u64,
    /// Queued batches dropped without being run.
    pub batches: u64,
}

/// A state checkpoint was written (see
/// [`StreamingContext::checkpoint`](super::StreamingContext::checkpoint)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckpointInfo {
    /// The batch whose state it holds.
    pub time: Time,
    /// How long saving it took (serializing and the durable write).
    pub duration: Duration,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Everything a listener can hear about, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamingEvent {
    /// The context started; batches follow every interval.
    Started {
        /// The batch interval.
        batch_interval: Duration,
    },
    /// A batch was cut and queued.
    BatchSubmitted(BatchInfo),
    /// A batch started processing.
    BatchStarted(BatchInfo),
    /// A batch finished (successfully or not), with its metrics.
    BatchCompleted(BatchInfo),
    /// A sink finished writing a batch.
    OutputOperationCompleted(OutputOperationInfo),
    /// A receiver started.
    ReceiverStarted(ReceiverInfo),
    /// A receiver reported an error (it goes on or restarts).
    ReceiverError(ReceiverInfo),
    /// A receiver stopped for good.
    ReceiverStopped(ReceiverInfo),
    /// An input reported a problem (an unreadable file, a rejected record).
    InputError(InputErrorInfo),
    /// The job stopped with accepted records not processed (sent just before
    /// [`Stopped`](Self::Stopped), only when some were).
    Unprocessed(UnprocessedInfo),
    /// The job's state was checkpointed after a batch.
    CheckpointWritten(CheckpointInfo),
    /// Events were dropped because the listeners fell behind (more than
    /// [`EVENT_QUEUE`] events waiting): this many since the last such notice.
    /// Counters ([`InputStats`](super::InputStats), batch metrics on the
    /// handle) still count everything.
    EventsDropped {
        /// How many events were dropped.
        count: u64,
    },
    /// The context stopped; no event follows.
    Stopped,
}

/// Receives a live job's events, on one listener thread, in order (Spark's
/// `StreamingListener`). Override the methods you need; each defaults to
/// nothing. A listener that panics is logged and skipped for that event.
pub trait StreamingListener: Send + 'static {
    /// Every event; by default dispatches to the methods below.
    fn on_event(&mut self, event: &StreamingEvent) {
        match event {
            StreamingEvent::Started { batch_interval } => self.on_streaming_started(*batch_interval),
            StreamingEvent::BatchSubmitted(b) => self.on_batch_submitted(b),
            StreamingEvent::BatchStarted(b) => self.on_batch_started(b),
            StreamingEvent::BatchCompleted(b) => self.on_batch_completed(b),
            StreamingEvent::OutputOperationCompleted(o) => self.on_output_operation_completed(o),
            StreamingEvent::ReceiverStarted(r) => self.on_receiver_started(r),
            StreamingEvent::ReceiverError(r) => self.on_receiver_error(r),
            StreamingEvent::ReceiverStopped(r) => self.on_receiver_stopped(r),
            StreamingEvent::InputError(e) => self.on_input_error(e),
            StreamingEvent::Unprocessed(u) => self.on_unprocessed(u),
            StreamingEvent::CheckpointWritten(c) => self.on_checkpoint_written(c),
            StreamingEvent::EventsDropped { count } => self.on_events_dropped(*count),
            StreamingEvent::Stopped => self.on_streaming_stopped(),
        }
    }
    /// The context started.
    fn on_streaming_started(&mut self, _batch_interval: Duration) {}
    /// A batch was queued.
    fn on_batch_submitted(&mut self, _batch: &BatchInfo) {}
    /// A batch started processing.
    fn on_batch_started(&mut self, _batch: &BatchInfo) {}
    /// A batch completed, with its metrics.
    fn on_batch_completed(&mut self, _batch: &BatchInfo) {}
    /// A sink wrote a batch.
    fn on_output_operation_completed(&mut self, _output: &OutputOperationInfo) {}
    /// A receiver started.
    fn on_receiver_started(&mut self, _receiver: &ReceiverInfo) {}
    /// A receiver reported an error.
    fn on_receiver_error(&mut self, _receiver: &ReceiverInfo) {}
    /// A receiver stopped.
    fn on_receiver_stopped(&mut self, _receiver: &ReceiverInfo) {}
    /// An input reported a problem.
    fn on_input_error(&mut self, _error: &InputErrorInfo) {}
    /// Events were dropped because the listeners fell behind.
    fn on_events_dropped(&mut self, _count: u64) {}
    /// The job stopped with accepted records left unprocessed.
    fn on_unprocessed(&mut self, _unprocessed: &UnprocessedInfo) {}
    /// The job's state was checkpointed.
    fn on_checkpoint_written(&mut self, _checkpoint: &CheckpointInfo) {}
    /// The context stopped.
    fn on_streaming_stopped(&mut self) {}
}

/// A listener that is a closure over events.
impl<F: FnMut(&StreamingEvent) + Send + 'static> StreamingListener for F {
    fn on_event(&mut self, event: &StreamingEvent) {
        self(event)
    }
}

/// The most events waiting for the listeners; past it, events are dropped
/// (and counted, see [`StreamingEvent::EventsDropped`]) rather than held.
pub const EVENT_QUEUE: usize = 10_000;

/// Sends events to the listener thread. Cheap to clone; sending never blocks
/// (so a slow listener cannot slow a receiver) and never fails: when
/// [`EVENT_QUEUE`] events wait already, the event is dropped and counted
/// (the listeners hear how many), and events sent after the bus stopped are
/// dropped.
#[derive(Clone)]
pub(crate) struct EventSender(Option<(mpsc::SyncSender<BusMessage>, Arc<AtomicU64>)>);

/// What goes to the listener thread.
pub(crate) enum BusMessage {
    Event(StreamingEvent),
    /// Deliver what came before, then end (senders may outlive the bus).
    Shutdown,
}

impl EventSender {
    pub(crate) fn send(&self, event: StreamingEvent) {
        if let Some((tx, dropped)) = &self.0
            && let Err(mpsc::TrySendError::Full(_)) = tx.try_send(BusMessage::Event(event))
            && dropped.fetch_add(1, Ordering::Relaxed) == 0
        {
            tracing::warn!("the streaming listeners fall behind: events are dropped (and counted)");
        }
    }

    /// Sends an event that must not be dropped (the end of the job), waiting
    /// for room if the listeners are behind.
    pub(crate) fn send_surely(&self, event: StreamingEvent) {
        if let Some((tx, _)) = &self.0 {
            let _ = tx.send(BusMessage::Event(event));
        }
    }

    /// Ends the listener thread after the events already sent.
    pub(crate) fn shutdown(&self) {
        if let Some((tx, _)) = &self.0 {
            let _ = tx.send(BusMessage::Shutdown);
        }
    }

    /// A sender that drops everything (for sources used outside a context).
    #[cfg(test)]
    pub(crate) fn none() -> Self {
        EventSender(None)
    }
}

/// Starts the listener thread. It ends at [`EventSender::shutdown`] (or when
/// every sender is dropped), after delivering every event sent before.
pub(crate) fn spawn_bus(
    mut listeners: Vec<Box<dyn StreamingListener>>,
) -> std::io::Result<(EventSender, Option<std::thread::JoinHandle<()>>)> {
    if listeners.is_empty() {
        return Ok((EventSender(None), None));
    }
    let (tx, rx) = mpsc::sync_channel::<BusMessage>(EVENT_QUEUE);
    let dropped = Arc::new(AtomicU64::new(0));
    let counted = dropped.clone();
    let handle = std::thread::Builder::new()
        .name("streamflow-listeners".into())
        .spawn(move || {
            let mut deliver = |event: &StreamingEvent| {
                for listener in &mut listeners {
                    let delivered = catch_unwind(AssertUnwindSafe(|| listener.on_event(event)));
                    if delivered.is_err() {
                        tracing::error!(?event, "a streaming listener panicked; event skipped");
                    }
                }
            };
            for message in rx {
                // Said as soon as the listeners catch up, before what follows.
                let count = counted.swap(0, Ordering::Relaxed);
                if count > 0 {
                    deliver(&StreamingEvent::EventsDropped { count });
                }
                let BusMessage::Event(event) = message else {
                    break;
                };
                deliver(&event);
            }
        })?;
    Ok((EventSender(Some((tx, dropped))), Some(handle)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn a_slow_listener_gets_a_bounded_queue_and_hears_how_many_events_were_dropped() {
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let gate = Mutex::new(gate_rx);
        let heard = Arc::new(Mutex::new(Vec::new()));
        let log = heard.clone();
        let listener = move |event: &StreamingEvent| {
            // Stuck on the first event until the test opens the gate.
            if log.lock().unwrap().is_empty() {
                let _ = gate.lock().unwrap().recv();
            }
            log.lock().unwrap().push(event.clone());
        };
        let (events, bus) = spawn_bus(vec![Box::new(listener)]).unwrap();
        let sent = EVENT_QUEUE as u64 + 500;
        for _ in 0..sent {
            events.send(StreamingEvent::Stopped);
        }
        gate_tx.send(()).unwrap();
        events.shutdown();
        bus.unwrap().join().unwrap();
        let heard = heard.lock().unwrap();
        let delivered = heard.iter().filter(|e| **e == StreamingEvent::Stopped).count() as u64;
        let dropped: u64 = heard
            .iter()
            .map(|e| match e {
                StreamingEvent::EventsDropped { count } => *count,
                _ => 0,
            })
            .sum();
        assert!(delivered <= EVENT_QUEUE as u64 + 1, "{delivered}");
        assert!(dropped >= 499, "{dropped}");
        assert_eq!(delivered + dropped, sent);
    }
}
