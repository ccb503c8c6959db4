//! Shuffles: map-side collection per partition into buckets by target
//! partition, the exchange of the buckets through
//! [`Moves::exchange_moved`], and a reduce side that merges per output
//! partition.
//!
//! Every operator here runs its map side in stage `stage`, hands the buckets
//! to the exchange as part of that stage, and runs its reduce side in stage
//! `stage + 1` (a join's two map sides are `stage` and `stage + 1`, its
//! reduce side `stage + 2`); `partitions: None` means the runner's default
//! (a job's configured count). No operator moves data between partitions
//! itself: `exchange_parts` (the runner's exchange after the map tasks) is the
//! one way through.

// The contract fixes every operator's argument list (see `stage`).
#![allow(clippy::too_many_arguments)]

pub mod borrowed;
pub mod collectors;
pub(crate) mod combine_table;
mod gather;
pub mod grouper;
pub mod join;
pub(crate) mod key_tables;
mod keyed;
pub(crate) mod merge;
pub mod partitioner;
mod repartition;

pub use gather::{count, reduce};
pub use keyed::{combine_by_key, count_by_value, distinct, group_by_key, reduce_by_key};
pub use repartition::repartition;

use crate::Batch;
use crate::runner::Moves;
use crate::shuffle::collectors::Collector;
use crate::shuffle::grouper::{Grouper, Run};
use crate::stage::feed;
use std::hash::Hash;

/// The map side of a shuffle and its exchange: one task per part in stage
/// `stage`, each making `n` buckets; the exchange (part of stage `stage`)
/// gives output partition `r` every task's bucket `r`, in task order.
pub(crate) fn exchange_parts<Rn, P, B>(
    runner: &Rn,
    stage: usize,
    parts: Vec<P>,
    n: usize,
    map_task: impl Fn(P) -> Vec<Vec<B>> + Sync,
) -> Result<Vec<Vec<Vec<B>>>, Rn::Error>
where
    Rn: Moves<B>,
    P: Send,
    B: Send,
{
    let buckets = runner.tasks(stage, parts, map_task)?;
    runner.exchange_moved(stage, buckets, n)
}

/// A whole shuffle: [`exchange_parts`] in stage `stage`, then one reduce task
/// per output partition in stage `stage + 1`.
pub(crate) fn shuffle<Rn, P, B, U>(
    runner: &Rn,
    stage: usize,
    parts: Vec<P>,
    n: usize,
    map_task: impl Fn(P) -> Vec<Vec<B>> + Sync,
    reduce_task: impl Fn(Vec<Vec<B>>) -> Vec<U> + Sync,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Moves<B>,
    P: Send,
    B: Send,
    U: Send,
{
    let per_reduce = exchange_parts(runner, stage, parts, n, map_task)?;
    runner
        .tasks(stage + 1, per_reduce, reduce_task)
        .map(Batch::from_partitions)
}

/// One map task of a keyed shuffle: every element of `part` through
/// `map_side` into a `collector(n, expected elements)`, in `n` buckets.
#[inline]
pub(crate) fn collect_part<P: IntoIterator, Co: Collector>(
    part: P,
    n: usize,
    collector: impl Fn(usize, usize) -> Co,
    map_side: impl Fn(P::Item, &mut Co),
) -> Vec<Vec<Co::Bucket>> {
    let iter = part.into_iter();
    let expected = iter.size_hint().0;
    feed(iter, collector(n, expected), map_side).into_buckets(n)
}

/// The map side of the group-by shuffles that take a whole partition (the
/// joins, keyed state): its values grouped by key, in `n` buckets by key.
#[inline]
#[allow(clippy::type_complexity)]
pub(crate) fn group_part<P, K, V>(
    part: P,
    n: usize,
    map_side: impl Fn(P::Item, &mut Grouper<K, V>),
) -> Vec<Vec<Run<K, V>>>
where
    P: IntoIterator,
    K: Hash + Eq,
{
    // Room for as many keys as pairs, up to a chunk's (made once the
    // grouper's sample shows that it groups): growing from small rehashes
    // every key at each doubling. A task that lists sizes its buckets from
    // the pairs expected.
    let room = |n, expected: usize| Grouper::new(n, expected.min(keyed::CHUNK), expected);
    collect_part(part, n, room, map_side)
}
