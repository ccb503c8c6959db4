//! Output operators written inside a job: `print` and `foreach_batch`.
//!
//! CONTRACT: `sink` is the index into `ctx.plan.sinks` of the output operator.

use crate::{Batch, BatchContext, BatchError, Time};
use std::fmt::Debug;

/// `print(n)`: Spark's format (see SEMANTICS.md), to the configured target.
pub fn print<T: Debug + Sync>(
    ctx: &BatchContext<'_>,
    sink: usize,
    input: &Batch<T>,
    n: usize,
) -> Result<(), BatchError> {
    let _ = (ctx, sink, input, n);
    todo!("runtime helper")
}

/// `foreach_batch(f)`: `f` gets the batch and its time, on the calling thread.
pub fn foreach_batch<T, F: Fn(Batch<T>, Time)>(
    ctx: &BatchContext<'_>,
    sink: usize,
    input: Batch<T>,
    f: &F,
) -> Result<(), BatchError> {
    let _ = (ctx, sink, input, f);
    todo!("runtime helper")
}
