//! The generator thread: cuts a batch at every batch time, so that batch `t`
//! holds what arrived in `[t − d, t)` however far processing lags, and queues
//! it for the driver.

use super::clock::Clock;
use super::listener::{BatchInfo, EventSender, StreamingEvent};
use super::run_state::{MODE_DRAIN, MODE_RUNNING, MODE_STOP, Shared};
use super::sources::{Feed, Pending};
use crate::Time;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

/// A batch cut by the generator, waiting for the driver.
pub(super) struct QueuedBatch {
    pub(super) time: Time,
    /// Each input's cut, in port order.
    pub(super) pendings: Vec<Pending>,
    pub(super) submitted: Instant,
    pub(super) info: BatchInfo,
}

/// An input as the generator sees it.
pub(super) struct GeneratorInput {
    pub(super) port: &'static str,
    pub(super) feed: Box<dyn Feed>,
}

/// Cuts a batch at every batch time after `zero` until the job stops.
pub(super) fn generate(
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
    zero: Duration,
    mut inputs: Vec<GeneratorInput>,
    tx: mpsc::Sender<QueuedBatch>,
    events: EventSender,
) {
    let interval_ms = shared.batch_interval.as_millis() as u64;
    let mut k: u64 = 1;
    loop {
        let target = zero + Duration::from_millis(interval_ms.saturating_mul(k));
        let mode = loop {
            let mode = shared.mode.load(Ordering::SeqCst);
            if mode != MODE_RUNNING || clock.now() >= target {
                break mode;
            }
            clock.wait_until(target, Duration::from_millis(20));
        };
        if mode == MODE_STOP || !shared.wait_for_queue_room() {
            break;
        }
        let time = Time::from_millis(interval_ms.saturating_mul(k));
        let pendings: Vec<Pending> = inputs.iter_mut().map(|input| input.feed.cut(time)).collect();
        let info = BatchInfo {
            time,
            input_records: inputs
                .iter()
                .zip(&pendings)
                .map(|(input, p)| (input.port, p.records.unwrap_or(0)))
                .collect(),
            submitted_at: SystemTime::now(),
            scheduling_delay: None,
            processing_time: None,
            total_delay: None,
            stage_times: Vec::new(),
            failure: None,
        };
        shared.state().queued += 1;
        events.send(StreamingEvent::BatchSubmitted(info.clone()));
        let queued = QueuedBatch {
            time,
            pendings,
            submitted: Instant::now(),
            info,
        };
        if tx.send(queued).is_err() {
            break;
        }
        k += 1;
        if mode == MODE_DRAIN {
            break;
        }
    }
    // Sources are released before the driver can see the end of the queue
    // and mark the job stopped.
    drop(inputs);
    drop(tx);
    tracing::debug!(job = shared.plan.job, "generator stopped");
}
