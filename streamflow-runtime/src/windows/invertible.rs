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

use super::WindowSpec;
use super::keep_all;
use super::keyed::reduce_held;
use super::timeline::{Covered, Held, Timeline};
use crate::runner::{Moves, Runner};
use crate::shuffle::collectors::{Counter, KeyCombiner, Reducer, ValueCounter};
use crate::shuffle::key_tables::{Found, KeyTable, fix_partitions};
use crate::shuffle::{count, count_by_value, reduce, reduce_by_key};
use crate::stage::StageInput;
use crate::stage::bounds::{Element, MapSide, ReduceFn, ReduceSide, Retained, RetainedKey};
use crate::{Batch, Time};
use serde::{Deserialize, Serialize};
use std::hash::Hash;

/// The state of an invertible window: the per-batch reductions of the batches
/// still to leave the window (or to enter it), and the previous result.
///
/// Unkeyed forms (`count_by_window`, `reduce_by_window` with an inverse) use
/// the key `()` and one partition.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(deserialize = "K: Deserialize<'de> + Hash + Eq, V: Deserialize<'de>"))]
pub struct InvertibleWindow<K, V> {
    spec: WindowSpec,
    partitions: Option<usize>,
    /// Per-batch reductions in key partitions, oldest first.
    batches: Timeline<Vec<Vec<(K, V)>>>,
    /// The time of the last emitted window.
    previous: Option<Time>,
    /// The last emitted window's result (after the filter), per key partition.
    result: Vec<KeyTable<K, V>>,
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

    /// The same kept in `partitions` key partitions from the first batch on
    /// (the generated code passes [`state_partitions`](crate::state::state_partitions)
    /// for a keyed window), so that a restored window saved in another count
    /// is refused.
    pub fn fixed_in(self, partitions: usize) -> Self {
        Self {
            partitions: Some(partitions),
            ..self
        }
    }

    /// `saved`, read from a checkpoint, to replace `now`: only a window of
    /// the same length and slide (see [`same_window`](super::restore::same_window))
    /// in the same partition count.
    pub fn restored(now: &Self, saved: Self) -> Result<Self, String> {
        super::restore::same_keyed_window((&now.spec, now.partitions), (&saved.spec, saved.partitions))?;
        Ok(saved)
    }

    /// How many batches' reductions are held.
    #[doc(hidden)]
    pub fn buffered_batches(&self) -> usize {
        self.batches.len()
    }

    /// How many keys the last result holds.
    #[doc(hidden)]
    pub fn keys(&self) -> usize {
        self.result.iter().map(KeyTable::len).sum()
    }
}

/// Adds this batch's reduction (in the window's `n` key partitions) and, at
/// an emit time, slides the previous result to this window in stage `stage`.
fn slide<Rn: Runner, K: RetainedKey, V: Retained, U: Element>(
    runner: &Rn,
    stage: usize,
    state: &mut InvertibleWindow<K, V>,
    n: usize,
    batch: Vec<Vec<(K, V)>>,
    (reduce, inverse, keep): (&impl ReduceFn<V>, &impl ReduceFn<V>, &(impl Fn(&(K, V)) -> bool + Sync)),
    reduce_side: impl ReduceSide<(K, V), U>,
) -> Result<Option<Batch<U>>, Rn::Error> {
    let spec = state.spec;
    let time = runner.since_zero();
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
    // Left (owned): covered by the previous window, not by this one. Entered
    // (shared): covered by this window, not by the previous one. Set
    // differences of the two windows' times, so a slide longer than the
    // window (or a skipped emit time) is handled too.
    let changes = Covered {
        leaving: state
            .batches
            .take_through(spec.start(now))
            .into_iter()
            .filter(|(t, _)| t.as_millis() <= previous)
            .map(|(_, b)| b)
            .collect(),
        staying: state.batches.after(previous).collect(),
    };
    state.result.resize_with(n, KeyTable::default);
    let tasks: Vec<_> = state.result.iter_mut().zip(changes.by_partition(n)).collect();
    runner
        .tasks(stage, tasks, |(table, held)| {
            let (left, entered): (Vec<_>, Vec<_>) = held.into_iter().partition(|h| matches!(h, Held::Owned(_)));
            for (k, v) in reduce_held(left, reduce) {
                // A key without a previous result (dropped by the filter)
                // takes the reduce of its new values alone, as in Spark.
                if let Found::At(i) = table.find(&k) {
                    // Out of the table while `inverse` runs: a panic loses this key only.
                    table.replace_with(i, |prev| inverse(prev, v));
                }
            }
            for (k, v) in reduce_held(entered, reduce) {
                match table.find(&k) {
                    Found::At(i) => table.replace_with(i, |prev| reduce(prev, v)),
                    Found::Absent(hash) => table.push(hash, k, v),
                }
            }
            // A key with old values but neither a previous result nor new
            // values is not created: Spark throws there ("Neither previous
            // window has value for key, nor new values found"); we skip it.
            table.retain_pairs(keep);
            table.shrink();
            let mut out = Vec::with_capacity(table.len());
            for pair in table.iter() {
                reduce_side(pair.clone(), &mut out);
            }
            out
        })
        .map(|parts| Some(Batch::from_partitions(parts)))
}

/// `reduce_by_key_and_window(f, f_inv, W, s)` and its form with a filter:
/// incremental per key (see the module's documentation). Without a user
/// filter the macro passes [`keep_all`] as `keep`, and a key whose values all
/// slid out stays at its inverse-reduced value; what `keep` drops is gone from
/// the next window's starting point too. Stages: `stage` the map side of this
/// batch's `reduce_by_key` (and its exchange), `stage + 1` its merge, the
/// slide and the reduce side.
pub fn reduce_by_key_and_window_inv<'f, Rn, S: StageInput, K: RetainedKey, V: Retained, R, I, P, U>(
    runner: &Rn,
    stage: usize,
    state: &mut InvertibleWindow<K, V>,
    input: S,
    map_side: impl MapSide<S::Item, KeyCombiner<'f, K, V, R>>,
    (f, inverse, keep): &'f (R, I, P),
    partitions: Option<usize>,
    reduce_side: impl ReduceSide<(K, V), U>,
) -> Result<Option<Batch<U>>, Rn::Error>
where
    U: Element,
    R: ReduceFn<V>,
    I: ReduceFn<V>,
    P: Fn(&(K, V)) -> bool + Sync,
    Rn: Moves<(K, V)>,
{
    let n = fix_partitions(&mut state.partitions, runner, partitions);
    let batch = reduce_by_key(runner, stage, input, map_side, f, Some(n), |p, out| out.push(p))?.into_partitions();
    slide(runner, stage + 1, state, n, batch, (f, inverse, keep), reduce_side)
}

/// [`slide`] of an unkeyed form: this batch's value (if any) under the key
/// `()`, in one partition, kept however it reduces.
fn slide_value<Rn: Runner, T: Retained, U: Element>(
    runner: &Rn,
    stage: usize,
    state: &mut InvertibleWindow<(), T>,
    value: Option<T>,
    (reduce, inverse): (&impl ReduceFn<T>, &impl ReduceFn<T>),
    reduce_side: impl ReduceSide<T, U>,
) -> Result<Option<Batch<U>>, Rn::Error> {
    state.partitions = Some(1);
    let batch = vec![value.map(|v| ((), v)).into_iter().collect()];
    slide(
        runner,
        stage,
        state,
        1,
        batch,
        (reduce, inverse, &keep_all),
        |((), v), out| reduce_side(v, out),
    )
}

/// `count_by_window(W, s)`: the number of elements in the window, computed as
/// an invertible reduce: once data has arrived an empty window gives `[0]`;
/// before any data there is no element. Stages: `stage` the map side of this
/// batch's `count` (and its gather), `stage + 1` its sum, the slide and the
/// reduce side.
pub fn count_by_window<Rn, S: StageInput, U: Element>(
    runner: &Rn,
    stage: usize,
    state: &mut InvertibleWindow<(), u64>,
    input: S,
    map_side: impl MapSide<S::Item, Counter>,
    reduce_side: impl ReduceSide<u64, U>,
) -> Result<Option<Batch<U>>, Rn::Error>
where
    Rn: Moves<u64>,
{
    let count = count(runner, stage, input, map_side, |c, out| out.push(c))?
        .collect()
        .pop();
    let sums = (&u64::saturating_add, &u64::saturating_sub);
    slide_value(runner, stage + 1, state, count.filter(|&c| c > 0), sums, reduce_side)
}

/// `reduce_by_window(f, f_inv, W, s)`: like [`count_by_window`], the value
/// persists (inverse-reduced) once data has arrived; before any data there is
/// no element. Stages: `stage` the map side of this batch's `reduce` (and its
/// gather), `stage + 1` its combine, the slide and the reduce side.
pub fn reduce_by_window_inv<'f, Rn, S: StageInput, T: Retained, R: ReduceFn<T>, U: Element>(
    runner: &Rn,
    stage: usize,
    state: &mut InvertibleWindow<(), T>,
    input: S,
    map_side: impl MapSide<S::Item, Reducer<'f, T, R>>,
    (f, inverse): &'f (R, impl ReduceFn<T>),
    reduce_side: impl ReduceSide<T, U>,
) -> Result<Option<Batch<U>>, Rn::Error>
where
    Rn: Moves<T>,
{
    let value = reduce(runner, stage, input, map_side, f, |t, out| out.push(t))?
        .collect()
        .pop();
    slide_value(runner, stage + 1, state, value, (f, inverse), reduce_side)
}

/// `count_by_value_and_window(W, s)`: (value, count in the window) pairs,
/// counts kept incrementally; values whose count drops to 0 are dropped.
/// Stages: `stage` the map side of this batch's `count_by_value` (and its
/// exchange), `stage + 1` its merge, the slide and the reduce side.
pub fn count_by_value_and_window<Rn, S: StageInput, T: RetainedKey, U: Element>(
    runner: &Rn,
    stage: usize,
    state: &mut InvertibleWindow<T, u64>,
    input: S,
    map_side: impl MapSide<S::Item, ValueCounter<T>>,
    partitions: Option<usize>,
    reduce_side: impl ReduceSide<(T, u64), U>,
) -> Result<Option<Batch<U>>, Rn::Error>
where
    Rn: Moves<(T, u64)>,
{
    let n = fix_partitions(&mut state.partitions, runner, partitions);
    let batch = count_by_value(runner, stage, input, map_side, Some(n), |p, out| out.push(p))?.into_partitions();
    let non_zero = |pair: &(T, u64)| pair.1 != 0;
    let counts = (&u64::saturating_add, &u64::saturating_sub, &non_zero);
    slide(runner, stage + 1, state, n, batch, counts, reduce_side)
}

/// On a cluster each process keeps its key groups of every held reduction
/// and of the last result (an unkeyed form's one group: partition 0's owner).
impl<K, V> crate::state::KeyGroups for InvertibleWindow<K, V> {
    fn merge_groups(parts: Vec<Self>, from: crate::state::GroupSource<'_>) -> Self {
        use crate::state::partitions::pick_groups;
        let (spec, partitions, previous) = (parts[0].spec, parts[0].partitions, parts[0].previous);
        let (batches, results): (Vec<_>, Vec<_>) = parts.into_iter().map(|p| (p.batches, p.result)).unzip();
        InvertibleWindow {
            spec,
            partitions,
            batches: Timeline::merge(batches, |each| pick_groups(each, from)),
            previous,
            result: pick_groups(results, from),
        }
    }
}
