//! `update_state_by_key(f)` and its variant whose function gets the batch time.

use crate::runner::Runner;
use crate::runner::transpose;
use crate::shuffle::collectors::Grouper;
use crate::shuffle::group_part;
use crate::shuffle::key_tables::{KeyMap, fix_partitions, shrink_map};
use crate::shuffle::merge::group_in_order;
use crate::shuffle::partitioner::{new_map, table_state};
use crate::{Batch, BatchContext, BatchError, StageInput, Time};
use hashbrown::hash_map::Entry;
use serde::{Deserialize, Serialize};
use std::hash::Hash;

/// The state of `update_state_by_key`: every live key's state, in key
/// partitions.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize, S: Serialize",
    deserialize = "K: Deserialize<'de> + Hash + Eq, S: Deserialize<'de>"
))]
pub struct StateStore<K, S> {
    partitions: Option<usize>,
    /// `None` only for a key whose call panicked (treated as absent).
    parts: Vec<KeyMap<K, Option<S>>>,
}

impl<K, S> Default for StateStore<K, S> {
    fn default() -> Self {
        StateStore {
            partitions: None,
            parts: Vec::new(),
        }
    }
}

impl<K, S> StateStore<K, S> {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many keys have state.
    #[doc(hidden)]
    pub fn live_keys(&self) -> usize {
        self.parts
            .iter()
            .map(|m| m.0.values().filter(|s| s.is_some()).count())
            .sum()
    }
}

impl<K: Hash + Eq, S> StateStore<K, S> {
    /// A state loaded with `initial` before batch 1 (a key given twice keeps
    /// its last state); its keys are called in batch 1 even without new values.
    pub fn with_initial<I: IntoIterator<Item = (K, S)>>(initial: I) -> Self {
        let mut map = new_map(0);
        map.extend(initial.into_iter().map(|(k, s)| (k, Some(s))));
        StateStore {
            partitions: None,
            parts: vec![KeyMap(map)],
        }
    }
}

/// The shared body: `call(key, new_values, old_state)` for every key with
/// new values or state.
#[allow(clippy::too_many_arguments)]
fn update<Src, K, V, S, U, M, F, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    state: &mut StateStore<K, S>,
    input: Src,
    map_side: M,
    call: F,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    Src: StageInput,
    K: Hash + Eq + Clone + Send + Sync,
    V: Send,
    S: Clone + Send,
    U: Send,
    M: Fn(Src::Item, &mut Grouper<K, V>) + Sync,
    F: Fn(&K, &[V], Option<S>) -> Option<S> + Sync,
    C: Fn((K, S), &mut Vec<U>) + Sync,
{
    let runner = ctx;
    let n = fix_partitions(&mut state.partitions, ctx, partitions);
    KeyMap::ensure_partitions(&mut state.parts, n);
    let map_outputs = runner.tasks(stage, input.into_parts(), |part| group_part(part, n, &map_side))?;
    let tasks: Vec<_> = state.parts.iter_mut().zip(transpose(map_outputs, n)).collect();
    runner
        .tasks(stage + 1, tasks, |(map, buckets)| {
            let map = &mut map.0;
            let groups = group_in_order(buckets);
            // Keys without new values first, while the keys with some can be
            // told apart by reference.
            {
                let mut with_data = hashbrown::HashSet::with_capacity_and_hasher(groups.len(), table_state());
                with_data.extend(groups.iter().map(|(k, _)| k));
                map.retain(|k, slot| {
                    if with_data.contains(k) {
                        return true;
                    }
                    let Some(old) = slot.take() else {
                        return false;
                    };
                    match call(k, &[], Some(old)) {
                        Some(s) => {
                            *slot = Some(s);
                            true
                        }
                        None => false,
                    }
                });
            }
            for (key, values) in groups {
                match map.entry(key) {
                    Entry::Occupied(mut e) => {
                        // Taken out while `f` runs: a panic loses this key only.
                        let old = e.get_mut().take();
                        match call(e.key(), &values, old) {
                            Some(s) => *e.get_mut() = Some(s),
                            None => {
                                e.remove();
                            }
                        }
                    }
                    Entry::Vacant(e) => {
                        if let Some(s) = call(e.key(), &values, None) {
                            e.insert(Some(s));
                        }
                    }
                }
            }
            shrink_map(map);
            let mut out = Vec::with_capacity(map.len());
            for (k, slot) in map.iter() {
                if let Some(s) = slot {
                    reduce_side((k.clone(), s.clone()), &mut out);
                }
            }
            out
        })
        .map(Batch::from_partitions)
}

/// `update_state_by_key(f)`: every batch, `f(new_values, old_state)` for every
/// key that has new values (in arrival order) or state (an empty slice then);
/// `None` removes the key. The output is every live (key, state) afterwards.
#[allow(clippy::too_many_arguments)]
pub fn update_state_by_key<Src, K, V, S, U, M, F, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    state: &mut StateStore<K, S>,
    input: Src,
    map_side: M,
    f: &F,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    Src: StageInput,
    K: Hash + Eq + Clone + Send + Sync,
    V: Send,
    S: Clone + Send,
    U: Send,
    M: Fn(Src::Item, &mut Grouper<K, V>) + Sync,
    F: Fn(&[V], Option<S>) -> Option<S> + Sync,
    C: Fn((K, S), &mut Vec<U>) + Sync,
{
    update(
        ctx,
        stage,
        state,
        input,
        map_side,
        |_: &K, values: &[V], old: Option<S>| f(values, old),
        partitions,
        reduce_side,
    )
}

/// `update_state_by_key` whose function also gets the batch time and the key:
/// `f(time, key, new_values, old_state)`.
#[allow(clippy::too_many_arguments)]
pub fn update_state_by_key_with_time<Src, K, V, S, U, M, F, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    state: &mut StateStore<K, S>,
    input: Src,
    map_side: M,
    f: &F,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    Src: StageInput,
    K: Hash + Eq + Clone + Send + Sync,
    V: Send,
    S: Clone + Send,
    U: Send,
    M: Fn(Src::Item, &mut Grouper<K, V>) + Sync,
    F: Fn(Time, &K, &[V], Option<S>) -> Option<S> + Sync,
    C: Fn((K, S), &mut Vec<U>) + Sync,
{
    let time = ctx.time;
    update(
        ctx,
        stage,
        state,
        input,
        map_side,
        |key: &K, values: &[V], old: Option<S>| f(time, key, values, old),
        partitions,
        reduce_side,
    )
}
