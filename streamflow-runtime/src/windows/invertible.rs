//! The incremental (invertible) windows: `reduce_by_key_and_window` with an
//! inverse function (and optional filter), `count_by_window`,
//! `reduce_by_window` with an inverse, and `count_by_value_and_window`.
//!
//! Spark's algorithm (ReducedWindowedDStream): at an emit time, per key, start
//! from this operator's own previous result, apply the inverse function with
//! the reduce of the batches that left the window, then the reduce function
//! with the reduce of the batches that entered it. The work per window is
//! proportional to the batches entering and leaving, plus the output itself,
//! never to the window's length.

use super::keep_all;
use super::keyed::combine_shared;
use super::{WindowSpec, timeline::Timeline};
use crate::runner::Runner;
use crate::runner::transpose;
use crate::shuffle::collectors::{Counter, KeyCombiner, Reducer, ValueCounter, combine_into, present};
use crate::shuffle::key_tables::{PairTable, fix_partitions, key_hash};
use crate::shuffle::partitioner::new_map;
use crate::shuffle::{count_by_value_with, count_with, reduce_by_key_with, reduce_with};
use crate::{Batch, BatchContext, BatchError, StageInput, Time};
use hashbrown::hash_table::Entry;
use serde::{Deserialize, Serialize};
use std::hash::Hash;

/// The state of an invertible window: the per-batch reductions of the batches
/// still to leave the window (or to enter it), and the previous result.
///
/// Unkeyed forms (`count_by_window`, `reduce_by_window` with an inverse) use
/// the key `()` and one partition.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize, V: Serialize",
    deserialize = "K: Deserialize<'de> + Hash + Eq, V: Deserialize<'de>"
))]
pub struct InvertibleWindow<K, V> {
    spec: WindowSpec,
    partitions: Option<usize>,
    /// Per-batch reductions in key partitions, oldest first.
    batches: Timeline<Vec<Vec<(K, V)>>>,
    /// The time of the last emitted window.
    previous: Option<Time>,
    /// The last emitted window's result (after the filter), per key partition.
    result: Vec<PairTable<K, V>>,
}

impl<K, V> InvertibleWindow<K, V> {
    /// An empty state for windows of shape `spec`.
    pub fn new(spec: WindowSpec) -> Self {
        InvertibleWindow {
            spec,
            partitions: None,
            batches: Timeline::default(),
            previous: None,
            result: Vec::new(),
        }
    }

    /// How many batches' reductions are held.
    #[doc(hidden)]
    pub fn buffered_batches(&self) -> usize {
        self.batches.len()
    }

    /// How many keys the last result holds.
    #[doc(hidden)]
    pub fn keys(&self) -> usize {
        self.result.iter().map(|t| t.0.len()).sum()
    }
}

/// Adds this batch's reduction (in `n` key partitions) and, at an emit time,
/// slides the previous result to this window. `stage` is the emit's stage.
#[allow(clippy::too_many_arguments)]
fn slide<K, V, R, I, P, U, C>(
    runner: &BatchContext<'_>,
    stage: usize,
    state: &mut InvertibleWindow<K, V>,
    time: Time,
    n: usize,
    batch: Vec<Vec<(K, V)>>,
    reduce: &R,
    inverse: &I,
    keep: &P,
    reduce_side: C,
) -> Result<Option<Batch<U>>, BatchError>
where
    K: Hash + Eq + Clone + Send + Sync,
    V: Clone + Send + Sync,
    U: Send,
    R: Fn(V, V) -> V + Sync,
    I: Fn(V, V) -> V + Sync,
    P: Fn(&(K, V)) -> bool + Sync,
    C: Fn((K, V), &mut Vec<U>) + Sync,
{
    let spec = state.spec;
    let now = time.as_millis();
    if !spec.emits_at(now) {
        // Kept only if the coming window covers it (not when `s > W` leaves a gap).
        if now > spec.start(spec.upcoming(now)) {
            state.batches.push(time, batch);
        }
        return Ok(None);
    }
    state.batches.push(time, batch);
    let previous = state.previous.map_or(0, Time::as_millis);
    // Moved on before user code runs: a failed batch does not slide twice.
    state.previous = Some(time);
    // Left: covered by the previous window, not by this one. Set differences
    // of the two windows' times, so a slide longer than the window (or a
    // skipped emit time) is handled too.
    let left: Vec<Vec<Vec<(K, V)>>> = state
        .batches
        .take_through(spec.start(now))
        .into_iter()
        .filter(|(t, _)| t.as_millis() <= previous)
        .map(|(_, b)| b)
        .collect();
    let left = transpose(left, n);
    // Entered: covered by this window, not by the previous one.
    let entered: Vec<&Vec<Vec<(K, V)>>> = state.batches.after(previous).collect();
    state.result.resize_with(n, PairTable::default);
    let tasks: Vec<_> = state
        .result
        .iter_mut()
        .zip(left)
        .enumerate()
        .map(|(p, (table, left))| {
            let entered: Vec<&Vec<(K, V)>> = entered.iter().filter_map(|b| b.get(p)).collect();
            (table, left, entered)
        })
        .collect();
    runner
        .tasks(stage, tasks, |(table, left, entered)| {
            let mut gone = new_map(left.iter().map(Vec::len).max().unwrap_or(0));
            for bucket in left {
                for (k, v) in bucket {
                    combine_into(&mut gone, k, v, reduce);
                }
            }
            let mut came = new_map(entered.iter().map(|b| b.len()).max().unwrap_or(0));
            for bucket in entered {
                for (k, v) in bucket {
                    combine_shared(&mut came, k, v, reduce);
                }
            }
            for (k, v) in gone.into_iter().filter_map(present) {
                // A key without a previous result (dropped by the filter)
                // takes the reduce of its new values alone, as in Spark.
                if let Ok(entry) = table.0.find_entry(key_hash(&k), |p| p.0 == k) {
                    // Removed while `inverse` runs: a panic loses this key only.
                    let ((key, prev), vacant) = entry.remove();
                    vacant.insert((key, inverse(prev, v)));
                }
            }
            for (k, v) in came.into_iter().filter_map(present) {
                match table.0.entry(key_hash(&k), |p| p.0 == k, |p| key_hash(&p.0)) {
                    Entry::Occupied(entry) => {
                        let ((key, prev), vacant) = entry.remove();
                        vacant.insert((key, reduce(prev, v)));
                    }
                    Entry::Vacant(entry) => {
                        entry.insert((k, v));
                    }
                }
            }
            // A key with old values but neither a previous result nor new
            // values is not created: Spark throws there ("Neither previous
            // window has value for key, nor new values found"); we skip it.
            table.0.retain(|pair| keep(pair));
            table.shrink();
            let mut out = Vec::with_capacity(table.0.len());
            for pair in table.0.iter() {
                reduce_side(pair.clone(), &mut out);
            }
            out
        })
        .map(|parts| Some(Batch::from_partitions(parts)))
}

/// `reduce_by_key_and_window(f, f_inv, W, s)` and its form with a filter:
/// incremental per key (see the module's documentation). Without a user
/// filter the generated code passes [`keep_all`], and a key whose values all
/// slid out stays at its inverse-reduced value; what `keep` drops is gone from
/// the next window's starting point too.
#[allow(clippy::too_many_arguments)]
pub fn reduce_by_key_and_window_inv<S, K, V, R, I, P, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    state: &mut InvertibleWindow<K, V>,
    input: S,
    map_side: M,
    reduce: &R,
    inverse: &I,
    keep: &P,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Option<Batch<U>>, BatchError>
where
    S: StageInput,
    K: Hash + Eq + Clone + Send + Sync,
    V: Clone + Send + Sync,
    U: Send,
    R: Fn(V, V) -> V + Sync,
    I: Fn(V, V) -> V + Sync,
    P: Fn(&(K, V)) -> bool + Sync,
    M: Fn(S::Item, &mut KeyCombiner<'_, K, V, R>) + Sync,
    C: Fn((K, V), &mut Vec<U>) + Sync,
{
    let runner = ctx;
    let n = fix_partitions(&mut state.partitions, ctx, partitions);
    let batch =
        reduce_by_key_with(&runner, stage, input, map_side, reduce, Some(n), |p, out| out.push(p))?.into_partitions();
    slide(
        &runner,
        stage + 1,
        state,
        ctx.time,
        n,
        batch,
        reduce,
        inverse,
        keep,
        reduce_side,
    )
}

/// The one-partition batch of an unkeyed form: its value under the key `()`.
fn unit_batch<V>(value: Option<V>) -> Vec<Vec<((), V)>> {
    vec![value.map(|v| ((), v)).into_iter().collect()]
}

/// `count_by_window(W, s)`: the number of elements in the window, computed as
/// an invertible reduce: once data has arrived an empty window gives `[0]`;
/// before any data there is no element.
pub fn count_by_window<S, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    state: &mut InvertibleWindow<(), u64>,
    input: S,
    map_side: M,
    reduce_side: C,
) -> Result<Option<Batch<U>>, BatchError>
where
    S: StageInput,
    U: Send,
    M: Fn(S::Item, &mut Counter) + Sync,
    C: Fn(u64, &mut Vec<U>) + Sync,
{
    let runner = ctx;
    state.partitions = Some(1);
    let count = count_with(&runner, stage, input, map_side, |c, out| out.push(c))?
        .collect()
        .pop()
        .filter(|&c| c > 0);
    slide(
        &runner,
        stage + 1,
        state,
        ctx.time,
        1,
        unit_batch(count),
        &|a: u64, b: u64| a.saturating_add(b),
        &|a: u64, b: u64| a.saturating_sub(b),
        &keep_all,
        |((), c), out| reduce_side(c, out),
    )
}

/// `reduce_by_window(f, f_inv, W, s)`: like [`count_by_window`], the value
/// persists (inverse-reduced) once data has arrived; before any data there is
/// no element.
#[allow(clippy::too_many_arguments)]
pub fn reduce_by_window_inv<S, T, R, I, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    state: &mut InvertibleWindow<(), T>,
    input: S,
    map_side: M,
    reduce: &R,
    inverse: &I,
    reduce_side: C,
) -> Result<Option<Batch<U>>, BatchError>
where
    S: StageInput,
    T: Clone + Send + Sync,
    U: Send,
    R: Fn(T, T) -> T + Sync,
    I: Fn(T, T) -> T + Sync,
    M: Fn(S::Item, &mut Reducer<'_, T, R>) + Sync,
    C: Fn(T, &mut Vec<U>) + Sync,
{
    let runner = ctx;
    state.partitions = Some(1);
    let value = reduce_with(&runner, stage, input, map_side, reduce, |t, out| out.push(t))?
        .collect()
        .pop();
    slide(
        &runner,
        stage + 1,
        state,
        ctx.time,
        1,
        unit_batch(value),
        reduce,
        inverse,
        &keep_all,
        |((), v), out| reduce_side(v, out),
    )
}

/// `count_by_value_and_window(W, s)`: (value, count in the window) pairs,
/// counts kept incrementally; values whose count drops to 0 are dropped.
pub fn count_by_value_and_window<S, T, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    state: &mut InvertibleWindow<T, u64>,
    input: S,
    map_side: M,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Option<Batch<U>>, BatchError>
where
    S: StageInput,
    T: Hash + Eq + Clone + Send + Sync,
    U: Send,
    M: Fn(S::Item, &mut ValueCounter<T>) + Sync,
    C: Fn((T, u64), &mut Vec<U>) + Sync,
{
    let runner = ctx;
    let n = fix_partitions(&mut state.partitions, ctx, partitions);
    let batch = count_by_value_with(&runner, stage, input, map_side, Some(n), |p, out| out.push(p))?.into_partitions();
    slide(
        &runner,
        stage + 1,
        state,
        ctx.time,
        n,
        batch,
        &|a: u64, b: u64| a.saturating_add(b),
        &|a: u64, b: u64| a.saturating_sub(b),
        &|pair: &(T, u64)| pair.1 != 0,
        reduce_side,
    )
}
