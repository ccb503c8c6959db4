//! Stages: running the fused per-element loops the macro generates over every
//! partition of a batch, one task per partition, through a [`Runner`].
//!
//! CONTRACT (for the runtime implementer): the code the macro generates calls
//! every operator as `op(runner, stage, [state], (input, map_side)+,
//! [functions], [partitions], [snapshots], reduce_side)` (see
//! `docs/architecture.md`). `stage` is the 0-based index into the plan's
//! stages of the first stage the call runs; a call with `n` map sides runs
//! stages `stage .. stage + n` for them and `stage + n` for its reduce side.
//! Every `map_side`/`reduce_side` is a per-element function
//! `f(element, &mut collector)` (see [`bounds`]); the runtime calls it for
//! every element of a partition, in order, in one task per partition.

// The contract fixes every operator's argument list (see `stage`).
#![allow(clippy::too_many_arguments)]

pub mod bounds;
mod free;
mod input;
mod many;
mod narrow;

pub use free::free_later;
pub use input::StageInput;
pub use many::{
    BatchesAtTime, BatchesFn, BatchesOnly, MAX_STREAMS, transform_with, transform_with3, transform_with4,
    transform_with5, transform_with6, transform_with7, transform_with8,
};
pub use narrow::{glom, map_partitions, narrow, transform};

pub(crate) use narrow::narrow_parts;

use crate::runner::Runner;

/// Runs `f` over every element of one partition into a new vector.
#[inline]
pub(crate) fn run_part<P: IntoIterator, U>(part: P, f: impl Fn(P::Item, &mut Vec<U>)) -> Vec<U> {
    let iter = part.into_iter();
    // Exact for `map`; a filter wastes at most the input's size, once.
    let mut out = Vec::with_capacity(iter.size_hint().0);
    for x in iter {
        f(x, &mut out);
    }
    out
}

/// Feeds every element of one partition through a fused map side into
/// `collector` (a combiner, a grouper, a counter...), and gives it back.
#[inline]
pub(crate) fn feed<P: IntoIterator, C>(part: P, mut collector: C, map_side: impl Fn(P::Item, &mut C)) -> C {
    for x in part {
        map_side(x, &mut collector);
    }
    collector
}

/// The reduce side of a stage over parts `parts`, as a batch: one task per
/// part, each one's elements through `reduce_side` in order.
pub(crate) fn reduce_parts<Rn, P, U>(
    runner: &Rn,
    stage: usize,
    parts: Vec<P>,
    reduce_side: impl Fn(P::Item, &mut Vec<U>) + Sync,
) -> Result<crate::Batch<U>, Rn::Error>
where
    Rn: Runner,
    P: IntoIterator + Send,
    U: Send,
{
    runner
        .tasks(stage, parts, |part| run_part(part, &reduce_side))
        .map(crate::Batch::from_partitions)
}
