//! `reduce_by_key_and_window(f, W, s)` without an inverse: each batch reduced
//! per key into key partitions, the covered batches merged per key at every
//! emit time.

use super::KeyedWindow;
use super::timeline::Held;
use crate::Batch;
use crate::runner::Moves;
use crate::shuffle::collectors::{KeyCombiner, combine_into, present};
use crate::shuffle::partitioner::{FixedHashMap, new_map};
use crate::shuffle::reduce_by_key;
use crate::stage::StageInput;
use crate::stage::bounds::{Element, MapSide, ReduceFn, ReduceSide, Retained, RetainedKey};
use std::hash::Hash;

/// Reduces a shared value into `key`'s entry, cloning the key only when it is new.
#[inline]
pub(crate) fn combine_shared<K: Hash + Eq + Clone, V: Clone>(
    map: &mut FixedHashMap<K, Option<V>>,
    key: &K,
    value: &V,
    reduce: impl FnOnce(V, V) -> V,
) {
    match map.get_mut(key) {
        Some(slot) => {
            // Taken out while `reduce` runs: see `combine_into`.
            *slot = Some(match slot.take() {
                Some(old) => reduce(old, value.clone()),
                None => value.clone(),
            });
        }
        None => {
            map.insert(key.clone(), Some(value.clone()));
        }
    }
}

/// Reduces one key partition of several batches per key, oldest batch first:
/// owned pairs are moved in, shared ones cloned.
pub(crate) fn reduce_held<K, V, R>(parts: Vec<Held<'_, Vec<(K, V)>>>, reduce: &R) -> FixedHashMap<K, Option<V>>
where
    K: Hash + Eq + Clone,
    V: Clone,
    R: Fn(V, V) -> V,
{
    let largest = parts.iter().map(|h| h.get().len()).max().unwrap_or(0);
    let mut map = new_map(largest);
    for held in parts {
        match held {
            Held::Owned(pairs) => {
                for (k, v) in pairs {
                    combine_into(&mut map, k, v, reduce);
                }
            }
            Held::Shared(pairs) => {
                for (k, v) in pairs {
                    combine_shared(&mut map, k, v, reduce);
                }
            }
        }
    }
    map
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
        |parts| {
            reduce_held(parts, f)
                .into_iter()
                .filter_map(present)
                .collect::<Vec<_>>()
        },
        reduce_side,
    )
}
