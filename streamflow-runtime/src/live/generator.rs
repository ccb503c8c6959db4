//! The generator thread: cuts a batch at every batch time, so that batch `t`
//! holds what arrived in `[t − d, t)` however far processing lags, and queues
//! it for the driver.

use super::checkpoint::Checkpointer;
use super::clock::Clock;
use super::listener::{BatchInfo, EventSender, StreamingEvent};
use super::run_state::{MODE_DRAIN, MODE_RUNNING, MODE_STOP, Shared};
use super::sources::{Feed, Pending};
use crate::Time;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

/// A batch cut by the generator (or recorded before a crash), waiting for
/// the driver.
pub(super) struct QueuedBatch {
    pub(super) time: Time,
    /// Each input's cut, in port order.
    pub(super) pendings: Vec<Pending>,
    pub(super) submitted: Instant,
    pub(super) info: BatchInfo,
    /// A batch run again after a crash whose outputs were written before
    /// it: it runs for its state only.
    pub(super) committed: bool,
}

impl QueuedBatch {
    /// A batch of `pendings` at `time`, as the listeners first hear of it.
    pub(super) fn new(time: Time, ports: &[&'static str], pendings: Vec<Pending>, committed: bool) -> Self {
        let info = BatchInfo {
            time,
            input_records: ports
                .iter()
                .zip(&pendings)
                .map(|(port, p)| (*port, p.records.unwrap_or(0)))
                .collect(),
            submitted_at: SystemTime::now(),
            scheduling_delay: None,
            processing_time: None,
            total_delay: None,
            stage_times: Vec::new(),
            failure: None,
            input_progress: ports
                .iter()
                .zip(&pendings)
                .filter(|(_, p)| !p.progress.is_empty())
                .map(|(port, p)| (*port, p.progress.clone()))
                .collect(),
        };
        QueuedBatch {
            time,
            pendings,
            submitted: Instant::now(),
            info,
            committed,
        }
    }
}

/// Where the generator starts: batch `k` is at `zero + k·d`, the first one
/// cut is `first`; each cut is recorded in the checkpoint, if there is one.
pub(super) struct Schedule {
    pub(super) zero: Time,
    pub(super) first: u64,
    pub(super) checkpoint: Option<Arc<Checkpointer>>,
}

/// An input as the generator sees it.
pub(super) struct GeneratorInput {
    pub(super) port: &'static str,
    pub(super) feed: Box<dyn Feed>,
}

/// Cuts a batch at every batch time of `schedule` until the job stops.
pub(super) fn generate(
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
    schedule: Schedule,
    mut inputs: Vec<GeneratorInput>,
    tx: mpsc::Sender<QueuedBatch>,
    events: EventSender,
) {
    let interval_ms = shared.batch_interval.as_millis() as u64;
    let zero = schedule.zero.as_millis();
    let ports: Vec<&'static str> = inputs.iter().map(|i| i.port).collect();
    let mut k = schedule.first;
    // How long an immediate stop on a cluster waits for a batch end.
    let overdue = (shared.batch_interval * 2 + Duration::from_secs(1)).min(shared.stop_timeout / 2);
    loop {
        let time = Time::from_millis(zero.saturating_add(interval_ms.saturating_mul(k)));
        let target = Duration::from_millis(time.as_millis());
        // A cluster's agreed last batch waits for the drain, not the clock:
        // it is cut once the receivers have stopped.
        let agreed_last = shared.agreed.as_ref().is_some_and(|a| a.is_last(time));
        let mode = loop {
            let mode = shared.mode.load(Ordering::SeqCst);
            if mode != MODE_RUNNING || (clock.now() >= target && !agreed_last) {
                break mode;
            }
            if let Some(agreed) = &shared.agreed
                && agreed.overdue(overdue)
            {
                tracing::warn!(
                    job = shared.plan.job,
                    "no batch end came to agree on an immediate stop: this process stops alone"
                );
                shared.stop_here(false);
                continue;
            }
            if clock.now() >= target {
                std::thread::sleep(Duration::from_millis(5));
            } else {
                clock.wait_until(target, Duration::from_millis(20));
            }
        };
        if mode == MODE_STOP || !shared.wait_for_queue_room() {
            break;
        }
        // On a cluster, no batch past the agreed last one.
        let permit = match &shared.agreed {
            Some(agreed) => match agreed.permit(time) {
                Some(permit) => Some(permit),
                None => break,
            },
            None => None,
        };
        let mut pendings: Vec<Pending> = inputs.iter_mut().map(|input| input.feed.cut(time)).collect();
        if let Some(permit) = permit {
            permit.cut(time);
        }
        if let Some(checkpoint) = &schedule.checkpoint {
            record(checkpoint, time, &mut pendings);
        }
        let queued = QueuedBatch::new(time, &ports, pendings, false);
        shared.state().queued += 1;
        events.send(StreamingEvent::BatchSubmitted(queued.info.clone()));
        if tx.send(queued).is_err() {
            break;
        }
        k += 1;
        // Draining, one last batch; on a cluster, up to the agreed last one.
        let through = shared.agreed.as_ref().and_then(|a| a.through());
        if mode == MODE_DRAIN && through.is_none_or(|last| time >= last) {
            break;
        }
    }
    // Sources and the checkpoint directory (its lock) are released before
    // the driver can see the end of the queue and mark the job stopped.
    drop(inputs);
    drop(schedule);
    drop(tx);
    tracing::debug!(job = shared.plan.job, "generator stopped");
}

/// Records what the batch at `time` reads before it is queued. If that
/// fails, the batch fails: running it unrecorded would lose its inputs in a
/// crash.
fn record(checkpoint: &Checkpointer, time: Time, pendings: &mut [Pending]) {
    let inputs = pendings.iter_mut().map(|p| p.recorded.take()).collect();
    if let Err(e) = checkpoint.record_inputs(time, inputs) {
        let message = format!("cannot record the batch's inputs in the checkpoint: {e}");
        for pending in pendings.iter_mut() {
            pending.failure.get_or_insert_with(|| message.clone().into());
        }
    }
}
