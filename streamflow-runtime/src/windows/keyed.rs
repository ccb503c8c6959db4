//! `reduce_by_key_and_window(f, W, s)` without an inverse: each batch reduced
//! per key into key partitions, the covered batches merged per key at every
//! emit time.

use super::KeyedWindow;
use super::timeline::Held;
use crate::Batch;
use crate::runner::Moves;
use crate::shuffle::collectors::KeyCombiner;
use crate::shuffle::combine_table::CombineTable;
use crate::shuffle::reduce_by_key;
use crate::stage::StageInput;
use crate::stage::bounds::{Element, MapSide, ReduceFn, ReduceSide, Retained, RetainedKey};
use std::hash::Hash;

/// Reduces one key partition of several batches per key, oldest batch first:
/// owned pairs are moved in, shared ones cloned (a key only when it is new).
/// Values are stored as they are and reduced in place (see [`KeyCombiner`]).
pub(crate) fn reduce_held<K, V, R>(parts: Vec<Held<'_, Vec<(K, V)>>>, reduce: &R) -> CombineTable<K, V>
where
    K: Hash + Eq + Clone,
    V: Clone,
    R: Fn(V, V) -> V,
{
    let largest = parts.iter().map(|h| h.get().len()).max().unwrap_or(0);
    let mut combiner = KeyCombiner::with_capacity(reduce, largest);
    for held in parts {
        match held {
            Held::Owned(pairs) => pairs.into_iter().for_each(|pair| combiner.push(pair)),
            Held::Shared(pairs) => {
                for (k, v) in pairs {
                    combiner.push_borrowed(k, v.clone());
                }
            }
        }
    }
    combiner.into_table()
}

/// `reduce_by_key_and_window(f, W, s)`: per key, the reduce of its values in
/// the covered batches, in time order. A key with no values left in the
/// window is not in the output. Stages: `stage` the map side of this batch's
/// `reduce_by_key` (and its exchange), `stage + 1` its merge, the window's
/// merge and the reduce side.
pub fn reduce_by_key_and_window<'f, Rn, S: StageInput, K: RetainedKey, V: Retained, R, U: Element>(
    runner: &Rn,
    stage: usize,
    state: &mut KeyedWindow<K, V>,
    input: S,
    map_side: impl MapSide<S::Item, KeyCombiner<'f, K, V, R>>,
    f: &'f R,
    partitions: Option<usize>,
    reduce_side: impl ReduceSide<(K, V), U>,
) -> Result<Option<Batch<U>>, Rn::Error>
where
    R: ReduceFn<V>,
    Rn: Moves<(K, V)>,
{
    let n = state.partitions(runner, partitions);
    let batch = reduce_by_key(runner, stage, input, map_side, f, Some(n), |p, out| out.push(p))?;
    state.emit(
        runner,
        stage + 1,
        batch,
        |parts| reduce_held(parts, f).into_iter().collect::<Vec<_>>(),
        reduce_side,
    )
}
