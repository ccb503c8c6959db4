//! `reduce_by_key_and_window(f, W, s)` without an inverse: each batch reduced
//! per key into key partitions, the covered batches merged per key at every
//! emit time.

use super::WindowSpec;
use super::timeline::{Held, Timeline};
use crate::runner::Runner;
use crate::shuffle::collectors::{KeyCombiner, combine_into, present};
use crate::shuffle::key_tables::fix_partitions;
use crate::shuffle::partitioner::{FixedHashMap, new_map};
use crate::shuffle::reduce_by_key_with;
use crate::stage::run_part;
use crate::{Batch, BatchContext, BatchError, StageInput};
use serde::{Deserialize, Serialize};
use std::hash::Hash;

/// The state of `reduce_by_key_and_window` without an inverse: each recent
/// batch reduced per key, in key partitions.
#[derive(Debug, Serialize, Deserialize)]
pub struct KeyedWindow<K, V> {
    spec: WindowSpec,
    partitions: Option<usize>,
    batches: Timeline<Vec<Vec<(K, V)>>>,
}

impl<K, V> KeyedWindow<K, V> {
    /// An empty state for windows of shape `spec`.
    pub fn new(spec: WindowSpec) -> Self {
        KeyedWindow {
            spec,
            partitions: None,
            batches: Timeline::default(),
        }
    }

    /// How many batches are held.
    #[doc(hidden)]
    pub fn buffered_batches(&self) -> usize {
        self.batches.len()
    }
}

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

/// Merges one key partition of several batches per key, oldest batch first.
pub(crate) fn merge_held<K, V, R>(parts: Vec<Held<'_, Vec<(K, V)>>>, reduce: &R) -> Vec<(K, V)>
where
    K: Hash + Eq + Clone,
    V: Clone,
    R: Fn(V, V) -> V,
{
    let largest = parts
        .iter()
        .map(|h| match h {
            Held::Owned(v) => v.len(),
            Held::Shared(v) => v.len(),
        })
        .max()
        .unwrap_or(0);
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
    map.into_iter().filter_map(present).collect()
}

/// `reduce_by_key_and_window(f, W, s)`: per key, the reduce of its values in
/// the covered batches, in time order. A key with no values left in the
/// window is not in the output.
#[allow(clippy::too_many_arguments)]
pub fn reduce_by_key_and_window<S, K, V, R, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    state: &mut KeyedWindow<K, V>,
    input: S,
    map_side: M,
    reduce: &R,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Option<Batch<U>>, BatchError>
where
    S: StageInput,
    K: Hash + Eq + Clone + Send + Sync,
    V: Clone + Send + Sync,
    U: Send,
    R: Fn(V, V) -> V + Sync,
    M: Fn(S::Item, &mut KeyCombiner<'_, K, V, R>) + Sync,
    C: Fn((K, V), &mut Vec<U>) + Sync,
{
    let runner = ctx;
    let n = fix_partitions(&mut state.partitions, ctx, partitions);
    let reduced = reduce_by_key_with(&runner, stage, input, map_side, reduce, Some(n), |p, out| out.push(p))?;
    state.batches.admit(&state.spec, ctx.time, reduced.into_partitions());
    if !state.spec.emits_at(ctx.time.as_millis()) {
        return Ok(None);
    }
    let per_partition = state.batches.covered(&state.spec, ctx.time).by_partition(n);
    runner
        .tasks(stage + 1, per_partition, |parts| {
            run_part(merge_held(parts, reduce), &reduce_side)
        })
        .map(|parts| Some(Batch::from_partitions(parts)))
}
