//! A sink bound to an output port, with the port's element type erased: the
//! driver hands it whatever the job's output port gave.

use crate::sinks::{Sink, SinkError};
use crate::{Batch, Time};
use std::any::Any;
use std::marker::PhantomData;

/// A sink bound to an output port.
pub(super) struct BoundSink {
    pub(super) name: String,
    sink: Box<dyn ErasedSink>,
}

/// A sink seen without its element type.
trait ErasedSink: Send {
    fn write(&mut self, time: Time, value: &(dyn Any + Send)) -> Result<(), SinkError>;
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

impl<T: Send + 'static, S: Sink<T>> ErasedSink for Typed<T, S> {
    fn write(&mut self, time: Time, value: &(dyn Any + Send)) -> Result<(), SinkError> {
        let batch = if self.sometimes {
            match value.downcast_ref::<Option<Batch<T>>>() {
                Some(Some(batch)) => batch,
                // No batch at this time (a slide longer than the interval).
                Some(None) => return Ok(()),
                None => return Err(unexpected_value()),
            }
        } else {
            value.downcast_ref::<Batch<T>>().ok_or_else(unexpected_value)?
        };
        self.sink.write(time, batch)
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
    pub(super) fn new<T: Send + 'static>(sink: impl Sink<T>, sometimes: bool) -> Self {
        BoundSink {
            name: sink.name(),
            sink: Box::new(Typed {
                sink,
                sometimes,
                element: PhantomData,
            }),
        }
    }

    /// Writes the port's value at `time`.
    pub(super) fn write(&mut self, time: Time, value: &(dyn Any + Send)) -> Result<(), SinkError> {
        self.sink.write(time, value)
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

fn unexpected_value() -> SinkError {
    SinkError::Other("the job's output port gave a value of an unexpected type".to_owned())
}
