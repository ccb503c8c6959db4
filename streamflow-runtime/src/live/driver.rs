//! The driver thread: runs the queued batches in time order. For each one it
//! delivers the inputs, runs the job, writes the sinks, commits the inputs,
//! then publishes the batch's metrics (history, listeners, status line) and
//! feeds the rate estimators behind backpressure.

use super::agreed_stop;
use super::bound_sink::BoundSink;
use super::checkpoint::{CheckpointError, Checkpointer};
use super::error::StreamingError;
use super::generator::QueuedBatch;
use super::listener::{BatchInfo, CheckpointInfo, EventSender, OutputOperationInfo, StreamingEvent};
use super::memory::Held;
use super::rate::PidRateEstimator;
use super::run_state::Shared;
use super::settings::Settings;
use super::sources::{Delivery, Pending, RateControl};
use super::status_line::StatusDrawer;
use crate::sinks::SinkError;
use crate::{InputPorts, Job, OutputPorts, Time};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Instant;

/// The driver's side of the job: the job itself, its inputs' deliveries (in
/// port order), its sinks (per output port), and what it reports to.
pub(super) struct Driver<J: Job> {
    pub(super) job: J,
    pub(super) deliveries: Vec<Box<dyn Delivery>>,
    pub(super) outputs: Vec<Vec<BoundSink>>,
    pub(super) shared: Arc<Shared>,
    pub(super) settings: Settings,
    /// One estimator per paced input: its index, the estimator, what it paces.
    pub(super) pid: Vec<(usize, PidRateEstimator, Arc<dyn RateControl>)>,
    pub(super) status: StatusDrawer,
    pub(super) events: EventSender,
    pub(super) bus: Option<std::thread::JoinHandle<()>>,
    /// Where commits and state snapshots go, when checkpointing is on.
    pub(super) checkpoint: Option<Arc<Checkpointer>>,
    /// The last batch recovery runs again (`Time::ZERO`: none): those were
    /// recorded, and marked complete on a cluster, by the run that crashed.
    pub(super) replayed_through: Time,
    /// On a cluster: how the processes end each batch together.
    pub(super) lockstep: Option<Lockstep>,
    /// Stop after this many batches in a row without input (anywhere, on a
    /// cluster), if set; and how many there have been so far.
    pub(super) idle_limit: Option<u32>,
    pub(super) idle_run: u32,
}

/// What this process of a cluster shares with the others after each batch.
/// The mesh is behind a closure so the live runtime builds the same without
/// the `cluster` feature.
pub(super) struct Lockstep {
    /// This process's index.
    pub(super) process: usize,
    /// Every process's value, by process index; returns once every process
    /// has given its own (a barrier). Runs on the driver thread, the thread
    /// of the job's exchanges, so every process makes the same rounds in the
    /// same order.
    pub(super) share: Box<dyn Fn(u64) -> Result<Vec<u64>, String> + Send>,
}

/// What a process shares when its batch failed (a real count never gets
/// this high; the bits above carry its stop wish).
const FAILED: u64 = agreed_stop::VALUE_MASK;

impl<J: Job> Driver<J> {
    /// Runs every batch the generator queues, then ends the job.
    pub(super) fn run(mut self, rx: mpsc::Receiver<QueuedBatch>) {
        for batch in rx {
            if self.shared.discard.load(Ordering::SeqCst) {
                let held: Held = batch.pendings.iter().map(|p| p.held).sum();
                self.shared.budget.release(held);
                self.shared
                    .note_dropped_batch(batch.pendings.iter().map(|p| p.records.unwrap_or(0)).sum());
                self.shared.state().queued -= 1;
                tracing::debug!(time = %batch.time, "batch dropped by an immediate stop");
                continue;
            }
            let run = catch_unwind(AssertUnwindSafe(|| self.run_batch(batch)));
            if let Err(panic) = run {
                let message = crate::panic::message(&*panic);
                self.shared.fail(StreamingError::ThreadPanicked {
                    thread: "driver",
                    message,
                });
            }
        }
        self.status.clear();
        self.finish();
    }

    fn run_batch(&mut self, batch: QueuedBatch) {
        let QueuedBatch {
            time,
            mut pendings,
            submitted,
            mut info,
            committed,
        } = batch;
        self.status.clear();
        let start = Instant::now();
        let scheduling = start.saturating_duration_since(submitted);
        info.scheduling_delay = Some(scheduling);
        self.events.send(StreamingEvent::BatchStarted(info.clone()));

        let held: Held = pendings.iter().map(|p| p.held).sum();
        let failure = self.process(time, &mut pendings, &mut info, committed).err();
        let processing = start.elapsed();
        self.shared.budget.release(held);
        info.processing_time = Some(processing);
        info.total_delay = Some(scheduling + processing);
        info.failure = failure.as_ref().map(ToString::to_string);
        tracing::debug!(
            job = self.shared.plan.job,
            time_ms = time.as_millis(),
            records = info.records(),
            processing_us = processing.as_micros() as u64,
            scheduling_delay_us = scheduling.as_micros() as u64,
            "batch completed"
        );
        let queued = self.shared.state().complete(info.clone());
        self.shared.changed.notify_all();
        if self.settings.backpressure {
            for (index, pid, control) in &mut self.pid {
                let records = info.input_records.get(*index).map_or(0, |(_, n)| *n);
                if let Some(rate) = pid.compute(time.as_millis(), records, processing, scheduling) {
                    control.set_rate(rate);
                }
            }
        }
        self.status.draw(&info, queued);
        self.events.send(StreamingEvent::BatchCompleted(info));
        if let Some(error) = failure {
            tracing::error!(job = self.shared.plan.job, "{error}");
            if self.settings.stop_on_failure {
                self.shared.fail(error);
            }
        }
    }

    /// Delivers the inputs, runs the job (noting its stage times), writes
    /// the sinks (unless `committed`: a batch run again after a crash whose
    /// outputs were written before it) and, if all of that succeeded,
    /// records the commit in the checkpoint, commits the inputs, and saves
    /// the state when a checkpoint is due.
    fn process(
        &mut self,
        time: Time,
        pendings: &mut [Pending],
        info: &mut BatchInfo,
        committed: bool,
    ) -> Result<(), StreamingError> {
        let done = self.run_and_write(time, pendings, info, committed);
        let records = self.end_together(time, &done, info.records() as u64, committed)?;
        done?;
        self.count_idle(records);
        let failed = |source| StreamingError::Checkpoint { time, source };
        // On a cluster process 0 commits, once every process wrote.
        if let Some(checkpoint) = &self.checkpoint
            && !committed
            && self.lockstep.as_ref().is_none_or(|l| l.process == 0)
        {
            checkpoint.commit(time).map_err(failed)?;
        }
        for (delivery, pending) in self.deliveries.iter_mut().zip(pendings.iter()) {
            delivery.commit(time, pending);
        }
        if let Some(checkpoint) = &self.checkpoint
            && checkpoint.is_due(time)
        {
            let start = Instant::now();
            let saved = checkpoint.save_state(time, self.job.state());
            let (bytes, through) = self.state_saved_everywhere(time, checkpoint, saved)?;
            let duration = start.elapsed();
            tracing::debug!(
                job = self.shared.plan.job,
                time_ms = time.as_millis(),
                bytes,
                elapsed_us = duration.as_micros() as u64,
                "state checkpoint written"
            );
            self.events.send(StreamingEvent::CheckpointWritten(CheckpointInfo {
                time,
                duration,
                bytes,
            }));
            if let Some(through) = through {
                for delivery in &mut self.deliveries {
                    delivery.release(through);
                }
            }
        }
        Ok(())
    }

    /// On a cluster, every process ends a snapshot here, also a failed one
    /// (so the rounds stay matched): once every process saved its part,
    /// process 0 marks the snapshot complete and cleans what it made
    /// useless. Gives the part's size and (on one process, or process 0)
    /// the time through which no batch will run again.
    fn state_saved_everywhere(
        &self,
        time: Time,
        checkpoint: &Checkpointer,
        saved: Result<(u64, Option<Time>), CheckpointError>,
    ) -> Result<(u64, Option<Time>), StreamingError> {
        let failed = |source| StreamingError::Checkpoint { time, source };
        let Some(lockstep) = &self.lockstep else {
            return saved.map_err(failed);
        };
        let mine = if saved.is_ok() { 0 } else { FAILED };
        let all = (lockstep.share)(mine).map_err(|message| StreamingError::Cluster { time, message })?;
        let (bytes, _) = saved.map_err(failed)?;
        if let Some(process) = all.iter().position(|&v| v == FAILED) {
            return Err(StreamingError::Cluster {
                time,
                message: format!(
                    "process {process} could not save its part of the state snapshot (its own error says why); \
                     the snapshot does not count"
                ),
            });
        }
        if lockstep.process != 0 {
            return Ok((bytes, None));
        }
        let through = checkpoint.complete_state(time, all.len()).map_err(failed)?;
        Ok((bytes, through))
    }

    /// Delivers the inputs, runs the job and writes its outputs.
    fn run_and_write(
        &mut self,
        time: Time,
        pendings: &mut [Pending],
        info: &mut BatchInfo,
        committed: bool,
    ) -> Result<(), StreamingError> {
        let inputs = self.deliver(time, pendings, info)?;
        let result = self.job.run_batch(time, inputs);
        info.stage_times = self.job.stage_times().to_vec();
        let mut outputs = result?;
        if !committed {
            self.write_outputs(time, &mut outputs)?;
        }
        Ok(())
    }

    /// On a cluster, every process ends every batch here, also a failed one
    /// (so the rounds stay matched): they share their input counts (or that
    /// they failed) through the mesh, which waits for all of them; then the
    /// sinks complete the batch (process 0 writes `_SUCCESS`). Returns the
    /// batch's input records on every process (this one's, alone).
    fn end_together(
        &mut self,
        time: Time,
        done: &Result<(), StreamingError>,
        records: u64,
        committed: bool,
    ) -> Result<u64, StreamingError> {
        let Some(lockstep) = &self.lockstep else {
            return Ok(records);
        };
        let mine = if done.is_ok() { records.min(FAILED - 1) } else { FAILED };
        let failed = |message| StreamingError::Cluster { time, message };
        let wish = self.shared.agreed.as_ref().map_or(agreed_stop::NONE, |a| a.wish());
        let (all, wish) =
            agreed_stop::split_wishes((lockstep.share)(agreed_stop::with_wish(mine, wish)).map_err(failed)?);
        self.stop_together(time, wish).map_err(failed)?;
        // Every process recorded the batch before it ran: process 0 marks
        // the record complete (a batch recovery runs again already is).
        if lockstep.process == 0
            && time > self.replayed_through
            && let Some(checkpoint) = &self.checkpoint
        {
            checkpoint
                .complete_batch(time, all.len())
                .map_err(|source| StreamingError::Checkpoint { time, source })?;
        }
        if done.is_err() {
            return Ok(0);
        }
        if let Some(process) = all.iter().position(|&n| n == FAILED) {
            return Err(failed(format!(
                "process {process} failed the batch (its own error says why); process {} did not",
                lockstep.process
            )));
        }
        if committed {
            // Run again after a crash for its state: its outputs were complete.
            return Ok(all.iter().sum());
        }
        let ports = <J::Outputs as OutputPorts>::PORTS;
        for (index, sinks) in self.outputs.iter_mut().enumerate() {
            for sink in sinks.iter_mut() {
                let completed = catch_unwind(AssertUnwindSafe(|| sink.complete(time)))
                    .unwrap_or_else(|panic| Err(SinkError::Panicked(crate::panic::message(&*panic))));
                completed.map_err(|source| StreamingError::Sink {
                    time,
                    port: ports[index].name,
                    sink: sink.name.clone(),
                    source,
                })?;
            }
        }
        Ok(all.iter().sum())
    }

    /// Carries out the strongest stop wish of the processes after the batch
    /// at `time`, the same on every process (see `agreed_stop.rs`).
    fn stop_together(&self, time: Time, wish: u8) -> Result<(), String> {
        let (Some(agreed), Some(lockstep)) = (&self.shared.agreed, &self.lockstep) else {
            return Ok(());
        };
        match wish {
            agreed_stop::IMMEDIATE => {
                tracing::info!(job = self.shared.plan.job, %time, "the cluster stops immediately after this batch");
                agreed.cut_through(time);
                self.shared.stop_here(false);
            }
            agreed_stop::GRACEFUL if agreed.through().is_none() => {
                let newest = (lockstep.share)(agreed.hold(time).as_millis())?;
                let interval = self.shared.batch_interval.as_millis() as u64;
                let last = Time::from_millis(newest.into_iter().max().unwrap_or(0).saturating_add(interval));
                tracing::info!(job = self.shared.plan.job, %last, "the cluster stops gracefully after this batch");
                agreed.cut_through(last);
                // Waits for the receivers: not on the driver, which may have
                // to free the memory they wait for.
                let shared = self.shared.clone();
                let spawned = std::thread::Builder::new()
                    .name("streamflow-stop".into())
                    .spawn(move || shared.stop_here(true));
                if spawned.is_err() {
                    self.shared.stop_here(false);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Counts batches without input in a row; at the limit, stops the job
    /// (the batches already queued are dropped: on a cluster every process
    /// counts the same totals, so all stop after the same batch).
    fn count_idle(&mut self, records: u64) {
        let Some(limit) = self.idle_limit else { return };
        self.idle_run = if records == 0 { self.idle_run + 1 } else { 0 };
        if self.idle_run >= limit {
            tracing::info!(
                job = self.shared.plan.job,
                batches = limit,
                "no input for the set number of batches; stopping"
            );
            // Every process counts the same totals: no agreement needed.
            self.shared.stop_here(false);
        }
    }

    /// Reads every input's cut into the job's inputs, in port order; the
    /// first failure (of a cut or a delivery) fails the batch.
    fn deliver(
        &mut self,
        time: Time,
        pendings: &mut [Pending],
        info: &mut BatchInfo,
    ) -> Result<J::Inputs, StreamingError> {
        let ports = <J::Inputs as InputPorts>::PORTS;
        let mut inputs = J::Inputs::default();
        for (index, (delivery, pending)) in self.deliveries.iter_mut().zip(pendings.iter_mut()).enumerate() {
            let port = ports[index].name;
            let failed = |source| StreamingError::Source { time, port, source };
            if let Some(cut_failure) = pending.failure.take() {
                return Err(failed(cut_failure));
            }
            let delivered = delivery.deliver(time, pending).map_err(failed)?;
            if let Some(entry) = info.input_records.get_mut(index) {
                entry.1 = delivered.records;
            }
            if inputs.set_port(index, delivered.batch).is_err() {
                // The type was checked at binding: this is a bug of the job's ports.
                tracing::error!(port, "input port rejected its batch");
            }
        }
        Ok(inputs)
    }

    /// Runs every bound sink; the first failure ends the batch's outputs. On
    /// a cluster the sinks after it still take part in their gathers (they
    /// write nothing), so every process makes the same exchanges.
    fn write_outputs(&mut self, time: Time, outputs: &mut J::Outputs) -> Result<(), StreamingError> {
        let ports = <J::Outputs as OutputPorts>::PORTS;
        // The job's runner for the sinks' gathers to process 0.
        let ctx = sink_context(&self.job, time);
        let mut failure = None;
        for (index, sinks) in self.outputs.iter_mut().enumerate() {
            if sinks.is_empty() {
                continue;
            }
            let port = ports[index].name;
            let Some(value) = outputs.take_port(index) else {
                tracing::warn!(port, "output port gave no value");
                continue;
            };
            for sink in sinks.iter_mut() {
                let skip = failure.is_some();
                let start = Instant::now();
                let written = catch_unwind(AssertUnwindSafe(|| sink.write(&ctx, &*value, skip)))
                    .unwrap_or_else(|panic| Err(SinkError::Panicked(crate::panic::message(&*panic))));
                if skip {
                    continue;
                }
                self.events
                    .send(StreamingEvent::OutputOperationCompleted(OutputOperationInfo {
                        time,
                        port,
                        sink: sink.name.clone(),
                        duration: start.elapsed(),
                        failure: written.as_ref().err().map(ToString::to_string),
                    }));
                if let Err(source) = written {
                    failure = Some(StreamingError::Sink {
                        time,
                        port,
                        sink: sink.name.clone(),
                        source,
                    });
                }
            }
        }
        failure.map_or(Ok(()), Err)
    }

    /// After the last batch: releases the readers, stops receivers, delivers
    /// the last events, and marks the job terminated.
    fn finish(&mut self) {
        self.deliveries.clear();
        // The checkpoint directory's lock goes with the last reference.
        self.checkpoint = None;
        for (_, r) in &self.shared.receivers {
            r.request_stop(true);
        }
        for (port, r) in &self.shared.receivers {
            if !r.wait_stopped(self.shared.stop_timeout) {
                tracing::warn!(input = port, "receiver did not stop; its thread is left running");
            }
        }
        if let Some(unprocessed) = self.shared.count_unprocessed() {
            self.events.send_surely(StreamingEvent::Unprocessed(unprocessed));
        }
        self.events.send_surely(StreamingEvent::Stopped);
        self.events.shutdown();
        if let Some(bus) = self.bus.take()
            && bus.thread().id() != std::thread::current().id()
        {
            let _ = bus.join();
        }
        tracing::info!(job = self.shared.plan.job, "streaming stopped");
        self.shared.state().terminated = true;
        self.shared.changed.notify_all();
    }
}

/// A runner for the sinks of the batch at `time`: the job's configuration
/// (its mesh, on a cluster) for the gathers of the sinks that run on
/// process 0; nothing is timed.
fn sink_context<J: Job>(job: &J, time: Time) -> crate::BatchContext<'_> {
    crate::BatchContext {
        time,
        config: job.config(),
        plan: job.plan(),
        zero: Time::ZERO,
        stage_nanos: &[],
    }
}
