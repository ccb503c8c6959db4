//! Sinks bound to a job's output ports: print, text and object files, a
//! closure, the recent batches kept for slicing ([`remember`]), and an
//! in-memory collector for tests.
//!
//! A sink is bound with
//! [`StreamingContext::output`](crate::live::StreamingContext::output). After
//! each batch, the sinks run on the driver thread, in the order of the output
//! ports, then in the order they were bound (after the `print` and
//! `foreach_batch` operators written inside the job, which run with the job).
//! On a cluster the file sinks write each partition where it was computed;
//! every other sink runs on process 0 only, over the whole batch
//! ([`Sink::writes_in_place`]).

mod files;

pub use files::{
    ObjectFilesSink, TextFilesSink, TextRecord, batch_directory, read_object_files, read_text_files,
    save_as_object_files, save_as_text_files,
};

mod error;
mod print;
mod publish;
mod remember;

use crate::{Batch, Time};
pub use error::SinkError;
pub use print::{DebugFn, PrintSink, print, print_to};
pub(crate) use print::{Shown, print_text_with};
pub use remember::{Forgotten, RememberSink, Remembered, remember};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Where an output port's batches go.
pub trait Sink<T>: Send + 'static {
    /// A name for errors, logs and listeners.
    fn name(&self) -> String;

    /// Writes one batch. A failure fails the batch (see
    /// [`StreamingError::Sink`](crate::live::StreamingError::Sink)).
    fn write(&mut self, time: Time, batch: &Batch<T>) -> Result<(), SinkError>;

    /// Whether, on a cluster, the sink writes each partition on the process
    /// that computed it, every process its own (the file sinks: each
    /// `part-NNNNN` where it was computed). The default, `false`: the sink
    /// runs on process 0 only, over the whole batch gathered there in
    /// partition order (a copy), as Spark's driver runs `foreachRDD`, so it
    /// sees what it sees in one process (then the element type must be a
    /// serde type, as every element crossing processes). In one process the
    /// sink always gets the batch as it is.
    fn writes_in_place(&self) -> bool {
        false
    }

    /// Called once, before the first write, when the job runs as process
    /// `process` of `processes` of a cluster: from then on each `write` of a
    /// sink that [writes in place](Self::writes_in_place) gets this
    /// process's partitions (the others empty), and such a sink writes only
    /// the partitions this process owns; any other sink gets the whole
    /// batch, on process 0 only. The default ignores it.
    fn place(&mut self, process: usize, processes: usize) {
        let _ = (process, processes);
    }

    /// On a cluster, called on every process once every process has written
    /// the batch at `time` (after the batch's outputs, through the mesh). The
    /// file sinks mark the batch's directory complete here (`_SUCCESS`, on
    /// process 0). The default does nothing.
    fn complete(&mut self, time: Time) -> Result<(), SinkError> {
        let _ = time;
        Ok(())
    }
}

/// Calls `f` with every batch and its time (Spark's `foreachRDD`), on the
/// driver thread, in batch order.
pub fn foreach<T, F>(f: F) -> ForeachSink<F>
where
    F: FnMut(&Batch<T>, Time) + Send + 'static,
{
    ForeachSink(f)
}

/// The sink made by [`foreach`].
pub struct ForeachSink<F>(F);

impl<T, F> Sink<T> for ForeachSink<F>
where
    T: 'static,
    F: FnMut(&Batch<T>, Time) + Send + 'static,
{
    fn name(&self) -> String {
        "foreach".to_owned()
    }

    fn write(&mut self, time: Time, batch: &Batch<T>) -> Result<(), SinkError> {
        (self.0)(batch, time);
        Ok(())
    }
}

/// Drops every batch: bound to an output port whose batches are not wanted
/// here (an unbound port is an error at start, so that no batch is lost by
/// mistake).
pub fn discard() -> DiscardSink {
    DiscardSink
}

/// The sink made by [`discard`].
#[derive(Clone, Copy, Debug, Default)]
pub struct DiscardSink;

impl<T: 'static> Sink<T> for DiscardSink {
    fn name(&self) -> String {
        "discard".to_owned()
    }

    fn write(&mut self, _time: Time, _batch: &Batch<T>) -> Result<(), SinkError> {
        Ok(())
    }

    /// Nothing to gather for a sink that writes nothing.
    fn writes_in_place(&self) -> bool {
        true
    }
}

/// Collects every batch in memory, for tests: returns the sink to bind and a
/// handle to read what it collected.
pub fn collect<T: Clone + Send + 'static>() -> (CollectSink<T>, Collected<T>) {
    let collected = Collected {
        shared: Arc::new((Mutex::new(Vec::new()), Condvar::new())),
    };
    (
        CollectSink {
            collected: collected.clone(),
        },
        collected,
    )
}

/// The sink made by [`collect`].
pub struct CollectSink<T> {
    collected: Collected<T>,
}

impl<T: Clone + Send + 'static> Sink<T> for CollectSink<T> {
    fn name(&self) -> String {
        "collect".to_owned()
    }

    fn write(&mut self, time: Time, batch: &Batch<T>) -> Result<(), SinkError> {
        let (batches, added) = &*self.collected.shared;
        lock(batches).push((time, batch.to_vec()));
        added.notify_all();
        Ok(())
    }
}

/// What a [`collect`] sink has received: every batch with its time. Clones
/// share the same batches.
pub struct Collected<T> {
    #[allow(clippy::type_complexity)]
    shared: Arc<(Mutex<Vec<(Time, Vec<T>)>>, Condvar)>,
}

impl<T> Clone for Collected<T> {
    fn clone(&self) -> Self {
        Collected {
            shared: self.shared.clone(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T: Clone> Collected<T> {
    /// Every batch so far, with its time, in batch order.
    pub fn batches(&self) -> Vec<(Time, Vec<T>)> {
        lock(&self.shared.0).clone()
    }

    /// Every element so far, batch after batch.
    pub fn elements(&self) -> Vec<T> {
        lock(&self.shared.0)
            .iter()
            .flat_map(|(_, b)| b.iter().cloned())
            .collect()
    }

    /// The number of batches so far.
    pub fn len(&self) -> usize {
        lock(&self.shared.0).len()
    }

    /// Whether no batch arrived yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until `pred` holds for the batches so far, or `timeout` passes;
    /// returns whether it holds.
    pub fn wait_until(&self, timeout: Duration, mut pred: impl FnMut(&[(Time, Vec<T>)]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let (batches, added) = &*self.shared;
        let mut guard = lock(batches);
        loop {
            if pred(&guard) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = added
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits until at least `n` batches arrived, or `timeout` passes.
    pub fn wait_for_batches(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |b| b.len() >= n)
    }
}
