//! A sink bound to an output port, with the port's element type erased: the
//! driver hands it whatever the job's output port gave. On a cluster a sink
//! that does not write in place runs on process 0 only, over the batch
//! gathered there ([`Sink::writes_in_place`]).

use crate::cluster::Wire;
use crate::runner::Runner;
use crate::sinks::{Sink, SinkError};
use crate::{Batch, BatchContext, Time};
use std::any::Any;
use std::marker::PhantomData;

/// A sink bound to an output port.
pub(super) struct BoundSink {
    pub(super) name: String,
    sink: Box<dyn ErasedSink>,
}

/// A sink seen without its element type.
trait ErasedSink: Send {
    fn write(&mut self, ctx: &BatchContext<'_>, value: &(dyn Any + Send), skip: bool) -> Result<(), SinkError>;
    fn place(&mut self, process: usize, processes: usize);
    fn complete(&mut self, time: Time) -> Result<(), SinkError>;
}

/// A sink of `T`; `sometimes` says whether the port gives a batch only at
/// some times (an `Option<Batch<T>>`).
struct Typed<T, S> {
    sink: S,
    sometimes: bool,
    element: PhantomData<fn(T)>,
}

impl<T: Send + Wire + 'static, S: Sink<T>> ErasedSink for Typed<T, S> {
    fn write(&mut self, ctx: &BatchContext<'_>, value: &(dyn Any + Send), skip: bool) -> Result<(), SinkError> {
        let batch = if self.sometimes {
            match value.downcast_ref::<Option<Batch<T>>>() {
                Some(Some(batch)) => batch,
                // No batch at this time (a slide longer than the interval),
                // on every process alike.
                Some(None) => return Ok(()),
                None => return Err(unexpected_value()),
            }
        } else {
            value.downcast_ref::<Batch<T>>().ok_or_else(unexpected_value)?
        };
        if ctx.processes() <= 1 || self.sink.writes_in_place() {
            return if skip { Ok(()) } else { self.sink.write(ctx.time, batch) };
        }
        let sink = &mut self.sink;
        on_first_process(ctx, batch, |all| if skip { Ok(()) } else { sink.write(ctx.time, all) })
    }

    fn place(&mut self, process: usize, processes: usize) {
        self.sink.place(process, processes);
    }

    fn complete(&mut self, time: Time) -> Result<(), SinkError> {
        self.sink.complete(time)
    }
}

impl BoundSink {
    /// Binds `sink` to a port of element type `T`; `sometimes` says whether
    /// the port gives a batch only at some times (an `Option<Batch<T>>`).
    pub(super) fn new<T: Send + Wire + 'static>(sink: impl Sink<T>, sometimes: bool) -> Self {
        BoundSink {
            name: sink.name(),
            sink: Box::new(Typed {
                sink,
                sometimes,
                element: PhantomData,
            }),
        }
    }

    /// Writes the port's value at `ctx.time`; on a cluster, on process 0
    /// only unless the sink writes in place. `skip` (an earlier sink of the
    /// batch failed): writes nothing, but still takes part in the gather,
    /// so that every process makes the same exchanges in the same order.
    pub(super) fn write(
        &mut self,
        ctx: &BatchContext<'_>,
        value: &(dyn Any + Send),
        skip: bool,
    ) -> Result<(), SinkError> {
        self.sink.write(ctx, value, skip)
    }

    /// Tells the sink it runs as `process` of a cluster of `processes`.
    pub(super) fn place(&mut self, process: usize, processes: usize) {
        self.sink.place(process, processes);
    }

    /// Ends the batch at `time` once every process wrote it (a cluster).
    pub(super) fn complete(&mut self, time: Time) -> Result<(), SinkError> {
        self.sink.complete(time)
    }
}

/// Gathers `batch` to process 0 (`runner::driver::gather_copy`) and calls
/// `write` there with the whole batch; the other processes write nothing.
#[cfg(feature = "cluster")]
fn on_first_process<T: Wire>(
    ctx: &BatchContext<'_>,
    batch: &Batch<T>,
    write: impl FnOnce(&Batch<T>) -> Result<(), SinkError>,
) -> Result<(), SinkError> {
    use crate::runner::driver::{CopyFailed, gather_copy};
    // Numbered after the last stage, as the job's own outputs.
    match gather_copy(ctx, ctx.plan.stages.len(), batch) {
        Ok(Some(all)) => write(&all),
        Ok(None) => Ok(()),
        Err(CopyFailed::Exchange(e)) => Err(SinkError::Other(format!("cannot gather the batch to process 0: {e}"))),
        Err(CopyFailed::Codec(message)) => Err(SinkError::Other(format!(
            "cannot gather the batch to process 0: {message}"
        ))),
    }
}

/// Without the `cluster` feature there is one process.
#[cfg(not(feature = "cluster"))]
fn on_first_process<T: Wire>(
    _ctx: &BatchContext<'_>,
    batch: &Batch<T>,
    write: impl FnOnce(&Batch<T>) -> Result<(), SinkError>,
) -> Result<(), SinkError> {
    write(batch)
}

fn unexpected_value() -> SinkError {
    SinkError::Other("the job's output port gave a value of an unexpected type".to_owned())
}
