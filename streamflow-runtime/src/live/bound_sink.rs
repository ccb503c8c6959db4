//! A sink bound to an output port, with the port's element type erased: the
//! driver hands it whatever the job's output port gave.

use crate::sinks::{Sink, SinkError};
use crate::{Batch, Time};
use std::any::Any;

/// A sink bound to an output port.
pub(super) struct BoundSink {
    pub(super) name: String,
    pub(super) write: WriteFn,
}

type WriteFn = Box<dyn FnMut(Time, &(dyn Any + Send)) -> Result<(), SinkError> + Send>;

impl BoundSink {
    /// Binds `sink` to a port of element type `T`; `sometimes` says whether
    /// the port gives a batch only at some times (an `Option<Batch<T>>`).
    pub(super) fn new<T: Send + 'static>(mut sink: impl Sink<T>, sometimes: bool) -> Self {
        let name = sink.name();
        let write = move |time: Time, value: &(dyn Any + Send)| {
            let batch = if sometimes {
                match value.downcast_ref::<Option<Batch<T>>>() {
                    Some(Some(batch)) => batch,
                    // No batch at this time (a slide longer than the interval).
                    Some(None) => return Ok(()),
                    None => return Err(unexpected_value()),
                }
            } else {
                value.downcast_ref::<Batch<T>>().ok_or_else(unexpected_value)?
            };
            sink.write(time, batch)
        };
        BoundSink {
            name,
            write: Box::new(write),
        }
    }
}

fn unexpected_value() -> SinkError {
    SinkError::Other("the job's output port gave a value of an unexpected type".to_owned())
}
