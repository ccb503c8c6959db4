//! Ports by name: how a driver that does not know a job's types (the live
//! scheduler, a harness bound to sources and sinks) fills its inputs and takes
//! its outputs. Implemented by the code `stream_job!` generates; types are
//! checked when a source or sink is bound, so a mismatch is an error at start.

use crate::Batch;
use std::any::{Any, TypeId};

/// Describes one port of a compiled job.
#[derive(Debug, Clone, Copy)]
pub struct PortInfo {
    /// The port's name.
    pub name: &'static str,
    /// The element type's name, for messages.
    pub type_name: fn() -> &'static str,
    /// The element type's identity, to check bindings.
    pub type_id: fn() -> TypeId,
    /// Whether the port carries a batch only at some times (a stream whose
    /// slide is longer than the batch interval): its value is then an
    /// `Option<Batch<T>>`.
    pub sometimes: bool,
}

/// The input ports of a job (its generated `<Job>Inputs` struct).
pub trait InputPorts: Default {
    /// The ports, in declaration order.
    const PORTS: &'static [PortInfo];

    /// Sets port `index` to `batch`, a `Box<Batch<T>>` of the port's element
    /// type; gives the box back if the index or the type is wrong.
    fn set_port(&mut self, index: usize, batch: Box<dyn Any + Send>) -> Result<(), Box<dyn Any + Send>>;
}

/// The output ports of a job (its generated `<Job>Outputs` struct).
pub trait OutputPorts {
    /// The ports, in declaration order.
    const PORTS: &'static [PortInfo];

    /// Takes port `index`'s value out: a `Box<Batch<T>>`, or a
    /// `Box<Option<Batch<T>>>` for a port that is `sometimes`; `None` if the
    /// index is wrong or the port was taken already.
    fn take_port(&mut self, index: usize) -> Option<Box<dyn Any + Send>>;
}

/// A lone batch is a job with one input port named `input`: hand-written jobs
/// and tests use it.
impl<T: Send + 'static> InputPorts for Batch<T> {
    const PORTS: &'static [PortInfo] = &[PortInfo {
        name: "input",
        type_name: std::any::type_name::<T>,
        type_id: TypeId::of::<T>,
        sometimes: false,
    }];

    fn set_port(&mut self, index: usize, batch: Box<dyn Any + Send>) -> Result<(), Box<dyn Any + Send>> {
        if index != 0 {
            return Err(batch);
        }
        *self = *batch.downcast::<Batch<T>>()?;
        Ok(())
    }
}

/// A lone batch is a job with one output port named `output`.
impl<T: Send + 'static> OutputPorts for Batch<T> {
    const PORTS: &'static [PortInfo] = &[PortInfo {
        name: "output",
        type_name: std::any::type_name::<T>,
        type_id: TypeId::of::<T>,
        sometimes: false,
    }];

    fn take_port(&mut self, index: usize) -> Option<Box<dyn Any + Send>> {
        (index == 0).then(|| Box::new(std::mem::take(self)) as Box<dyn Any + Send>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_a_one_port_job_checked_by_type() {
        let mut input: Batch<u8> = Batch::empty();
        assert!(input.set_port(0, Box::new(Batch::from(vec![1u8, 2]))).is_ok());
        assert_eq!(input.to_vec(), vec![1, 2]);
        assert!(input.set_port(0, Box::new(Batch::from(vec!["wrong type"]))).is_err());
        assert!(input.set_port(1, Box::new(Batch::from(vec![3u8]))).is_err());
        assert_eq!((<Batch<u8> as InputPorts>::PORTS[0].type_id)(), TypeId::of::<u8>());

        let mut output = Batch::from(vec![7u8]);
        let taken = output.take_port(0).unwrap().downcast::<Batch<u8>>().unwrap();
        assert_eq!(taken.to_vec(), vec![7]);
        assert!(output.take_port(1).is_none());
    }
}
