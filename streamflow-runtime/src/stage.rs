//! Narrow stages and whole-batch boundaries: running a fused per-element
//! function over every partition of a batch, in parallel on the current rayon
//! pool, with panics turned into errors that name the stage's operator.
//!
//! CONTRACT (for the runtime implementer): the code the macro generates calls
//! these functions with exactly these signatures. `stage` is the 0-based index
//! into `ctx.plan.stages` of the first stage the call runs; a call with `n`
//! map sides runs stages `stage .. stage + n` for them and `stage + n` for its
//! reduce side. Every `map_side`/`reduce_side` is a per-element function:
//! `f(element, &mut collector)`; the runtime calls it for every element of a
//! partition, in order, in one task per partition.

use crate::{Batch, BatchContext, BatchError, Source};

/// A run of narrow operators from a materialized batch to a materialized batch.
pub fn narrow<S, U, F>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    f: F,
) -> Result<Batch<U>, BatchError>
where
    S: Source,
    U: Send,
    F: Fn(S::Item, &mut Vec<U>) + Sync,
{
    let _ = (ctx, stage, input, f);
    todo!("runtime helper")
}

/// `glom`: each partition becomes one element, the vector of its elements.
pub fn glom<S, T, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: Source,
    T: Send,
    U: Send,
    M: Fn(S::Item, &mut Vec<T>) + Sync,
    C: Fn(Vec<T>, &mut Vec<U>) + Sync,
{
    let _ = (ctx, stage, input, map_side, reduce_side);
    todo!("runtime helper")
}

/// `map_partitions(f)`: `f` gets each whole partition and returns its new elements.
pub fn map_partitions<S, T, I, U, M, F, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    f: &F,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: Source,
    T: Send,
    U: Send,
    I: IntoIterator,
    M: Fn(S::Item, &mut Vec<T>) + Sync,
    F: Fn(Vec<T>) -> I + Sync,
    C: Fn(I::Item, &mut Vec<U>) + Sync,
{
    let _ = (ctx, stage, input, map_side, f, reduce_side);
    todo!("runtime helper")
}

/// `union(other)`: the left batch's partitions followed by the right's.
#[allow(clippy::too_many_arguments)]
pub fn union<S1, S2, T, U, M1, M2, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    left: S1,
    left_map: M1,
    right: S2,
    right_map: M2,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S1: Source,
    S2: Source,
    T: Send,
    U: Send,
    M1: Fn(S1::Item, &mut Vec<T>) + Sync,
    M2: Fn(S2::Item, &mut Vec<T>) + Sync,
    C: Fn(T, &mut Vec<U>) + Sync,
{
    let _ = (ctx, stage, left, left_map, right, right_map, reduce_side);
    todo!("runtime helper")
}

/// `transform(f)`: `f` gets the whole batch (on the calling thread) and returns
/// a new one.
pub fn transform<S, T, V, U, M, F, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    f: &F,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: Source,
    T: Send,
    V: Send,
    U: Send,
    M: Fn(S::Item, &mut Vec<T>) + Sync,
    F: Fn(Batch<T>) -> Batch<V>,
    C: Fn(V, &mut Vec<U>) + Sync,
{
    let _ = (ctx, stage, input, map_side, f, reduce_side);
    todo!("runtime helper")
}

/// `transform_with(other, f)`: `f` gets both streams' batches of the same time.
#[allow(clippy::too_many_arguments)]
pub fn transform_with<S1, S2, T, W, V, U, M1, M2, F, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    left: S1,
    left_map: M1,
    right: S2,
    right_map: M2,
    f: &F,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S1: Source,
    S2: Source,
    T: Send,
    W: Send,
    V: Send,
    U: Send,
    M1: Fn(S1::Item, &mut Vec<T>) + Sync,
    M2: Fn(S2::Item, &mut Vec<W>) + Sync,
    F: Fn(Batch<T>, Batch<W>) -> Batch<V>,
    C: Fn(V, &mut Vec<U>) + Sync,
{
    let _ = (ctx, stage, left, left_map, right, right_map, f, reduce_side);
    todo!("runtime helper")
}
