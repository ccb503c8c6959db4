//! Shuffles: map-side collection per partition, hash-partitioning by key with
//! the deterministic partitioner, and a reduce side that merges per partition.
//!
//! CONTRACT: see `stage.rs`. Each function here runs stage `stage` (map side)
//! and `stage + 1` (reduce side); `partitions: None` means the job's default.

use crate::collectors::{
    ByKeyCombiner, Counter, Distinct, Grouper, KeyCombiner, Reducer, ValueCounter,
};
use crate::{Batch, BatchContext, BatchError, Source};
use std::hash::Hash;

/// `reduce_by_key(f)`: combines per key on the map side, merges per key after
/// the exchange.
#[allow(clippy::too_many_arguments)]
pub fn reduce_by_key<S, K, V, R, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    reduce: &R,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: Source,
    K: Hash + Eq + Send,
    V: Send,
    U: Send,
    R: Fn(V, V) -> V + Sync,
    M: Fn(S::Item, &mut KeyCombiner<'_, K, V, R>) + Sync,
    C: Fn((K, V), &mut Vec<U>) + Sync,
{
    let _ = (ctx, stage, input, map_side, reduce, partitions, reduce_side);
    todo!("runtime helper")
}

/// `count_by_value()`: (value, number of occurrences) pairs.
pub fn count_by_value<S, T, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: Source,
    T: Hash + Eq + Send,
    U: Send,
    M: Fn(S::Item, &mut ValueCounter<T>) + Sync,
    C: Fn((T, u64), &mut Vec<U>) + Sync,
{
    let _ = (ctx, stage, input, map_side, partitions, reduce_side);
    todo!("runtime helper")
}

/// `distinct()`: each value once.
pub fn distinct<S, T, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: Source,
    T: Hash + Eq + Send,
    U: Send,
    M: Fn(S::Item, &mut Distinct<T>) + Sync,
    C: Fn(T, &mut Vec<U>) + Sync,
{
    let _ = (ctx, stage, input, map_side, partitions, reduce_side);
    todo!("runtime helper")
}

/// `group_by_key()`: every value of a key, in arrival order (map partitions in
/// order, elements in order within each).
pub fn group_by_key<S, K, V, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: Source,
    K: Hash + Eq + Send,
    V: Send,
    U: Send,
    M: Fn(S::Item, &mut Grouper<K, V>) + Sync,
    C: Fn((K, Vec<V>), &mut Vec<U>) + Sync,
{
    let _ = (ctx, stage, input, map_side, partitions, reduce_side);
    todo!("runtime helper")
}

/// `combine_by_key(create, merge_value, merge_combiners)`.
#[allow(clippy::too_many_arguments)]
pub fn combine_by_key<S, K, V, Cb, U, Cr, Mv, Mc, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    functions: &(Cr, Mv, Mc),
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: Source,
    K: Hash + Eq + Send,
    V: Send,
    Cb: Send,
    U: Send,
    Cr: Fn(V) -> Cb + Sync,
    Mv: Fn(Cb, V) -> Cb + Sync,
    Mc: Fn(Cb, Cb) -> Cb + Sync,
    M: Fn(S::Item, &mut ByKeyCombiner<'_, K, V, Cb, Cr, Mv>) + Sync,
    C: Fn((K, Cb), &mut Vec<U>) + Sync,
{
    let _ = (
        ctx,
        stage,
        input,
        map_side,
        functions,
        partitions,
        reduce_side,
    );
    todo!("runtime helper")
}

/// `count()`: one element, the number of elements (0 for an empty batch).
pub fn count<S, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: Source,
    U: Send,
    M: Fn(S::Item, &mut Counter) + Sync,
    C: Fn(u64, &mut Vec<U>) + Sync,
{
    let _ = (ctx, stage, input, map_side, reduce_side);
    todo!("runtime helper")
}

/// `reduce(f)`: one element, or none for an empty batch.
pub fn reduce<S, T, R, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    reduce: &R,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: Source,
    T: Send,
    U: Send,
    R: Fn(T, T) -> T + Sync,
    M: Fn(S::Item, &mut Reducer<'_, T, R>) + Sync,
    C: Fn(T, &mut Vec<U>) + Sync,
{
    let _ = (ctx, stage, input, map_side, reduce, reduce_side);
    todo!("runtime helper")
}

/// `repartition(n)`: the same elements spread round-robin over `n` partitions.
pub fn repartition<S, T, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    partitions: usize,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: Source,
    T: Send,
    U: Send,
    M: Fn(S::Item, &mut Vec<T>) + Sync,
    C: Fn(T, &mut Vec<U>) + Sync,
{
    let _ = (ctx, stage, input, map_side, partitions, reduce_side);
    todo!("runtime helper")
}
