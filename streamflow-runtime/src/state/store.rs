//! `update_state_by_key(f)` and its variant whose function gets the batch time.

use crate::runner::Moves;
use crate::shuffle::grouper::{Grouper, Run};
use crate::shuffle::key_tables::{Found, KeyTable, fix_partitions};
use crate::shuffle::merge::group_runs_in_order;
use crate::shuffle::partitioner::table_state;
use crate::shuffle::{exchange_parts, group_part};
use crate::stage::StageInput;
use crate::stage::bounds::{Element, MapSide, ReduceSide, Replicable, RetainedKey, WithTime};
use crate::{Batch, Time};
use serde::{Deserialize, Serialize};
use std::hash::Hash;

/// The state of `update_state_by_key`: every live key's state, in key
/// partitions.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(deserialize = "K: Deserialize<'de> + Hash + Eq, S: Deserialize<'de>"))]
pub struct StateStore<K, S> {
    partitions: Option<usize>,
    /// `None` only for a key whose call panicked (treated as absent).
    parts: Vec<KeyTable<K, Option<S>>>,
}

impl<K, S> StateStore<K, S> {
    /// How many keys have state.
    #[doc(hidden)]
    pub fn live_keys(&self) -> usize {
        self.parts
            .iter()
            .map(|t| t.values().filter(|s| s.is_some()).count())
            .sum()
    }
}

impl<K: Hash + Eq, S> StateStore<K, S> {
    /// A state loaded with `initial` before batch 1 (a key given twice keeps
    /// its last state); its keys are called in batch 1 even without new
    /// values. `::core::iter::empty()` for an empty state.
    pub fn new(initial: impl IntoIterator<Item = (K, S)>) -> Self {
        StateStore {
            partitions: None,
            parts: vec![initial.into_iter().map(|(k, s)| (k, Some(s))).collect()],
        }
    }

    /// The same kept in `partitions` partitions from the first batch on
    /// (the generated code passes [`state_partitions`](super::state_partitions)),
    /// so that a restored state saved in another count is refused.
    pub fn fixed_in(self, partitions: usize) -> Self {
        StateStore {
            partitions: Some(partitions),
            ..self
        }
    }

    /// `saved`, read from a checkpoint, to replace `now`: only in the same
    /// partition count (see [`fixed_in`](Self::fixed_in)).
    pub fn restored(now: &Self, saved: Self) -> Result<Self, String> {
        super::partitions::fits(now.partitions, saved.partitions)?;
        Ok(saved)
    }
}

/// The function of `update_state_by_key`, in either of its forms:
/// `f(new_values, old_state)`, or `f(time, key, new_values, old_state)` for
/// `update_state_by_key_with_time`. `Form` tells the two apart; rustc infers
/// it from the function's own signature.
pub trait UpdateFn<K, V, S, Form>: Sync {
    /// The key's new state (`None` removes the key).
    fn update(&self, time: Time, key: &K, values: &[V], old: Option<S>) -> Option<S>;
}

/// The form `f(new_values, old_state)` of an [`UpdateFn`].
pub enum ValuesOnly {}

impl<K, V, S, F: Fn(&[V], Option<S>) -> Option<S> + Sync> UpdateFn<K, V, S, ValuesOnly> for F {
    fn update(&self, _: Time, _: &K, values: &[V], old: Option<S>) -> Option<S> {
        self(values, old)
    }
}

impl<K, V, S, F: Fn(Time, &K, &[V], Option<S>) -> Option<S> + Sync> UpdateFn<K, V, S, WithTime> for F {
    fn update(&self, time: Time, key: &K, values: &[V], old: Option<S>) -> Option<S> {
        self(time, key, values, old)
    }
}

/// `update_state_by_key(f)` (also exported as
/// `update_state_by_key_with_time`, whose `f` gets the batch time and the key
/// too): every batch, `f` for every key that has new values (in arrival
/// order) or state (an empty slice then); `None` removes the key. The output
/// is every live (key, state) afterwards. Stages: `stage` the map side and
/// its exchange by key, `stage + 1` the calls and the reduce side (and the
/// exchange that puts an initial state into its key partitions).
pub fn update_state_by_key<Rn, In: StageInput, K: RetainedKey, V: Element, S: Replicable, U: Element, Form>(
    runner: &Rn,
    stage: usize,
    state: &mut StateStore<K, S>,
    input: In,
    map_side: impl MapSide<In::Item, Grouper<K, V>>,
    f: &impl UpdateFn<K, V, S, Form>,
    partitions: Option<usize>,
    reduce_side: impl ReduceSide<(K, S), U>,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Moves<Run<K, V>> + Moves<(K, Option<S>)>,
{
    let time = runner.time();
    let call = |key: &K, values: &[V], old: Option<S>| f.update(time, key, values, old);
    let n = fix_partitions(&mut state.partitions, runner, partitions);
    KeyTable::ensure_partitions(runner, stage + 1, &mut state.parts, n)?;
    let per_key = exchange_parts(runner, stage, input.into_parts(), n, |part| {
        group_part(part, n, &map_side)
    })?;
    let tasks: Vec<_> = state.parts.iter_mut().zip(per_key).collect();
    runner
        .tasks(stage + 1, tasks, |(table, buckets)| {
            let groups = group_runs_in_order(buckets);
            // Keys without new values first, while the keys with some can be
            // told apart by reference.
            {
                let mut with_data = hashbrown::HashSet::with_capacity_and_hasher(groups.len(), table_state());
                with_data.extend(groups.iter().map(|(k, _)| k));
                table.retain(|k, slot| {
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
                match table.find(&key) {
                    Found::At(i) => {
                        // Taken out while `f` runs: a panic loses this key only.
                        let (key, slot) = table.pair_mut(i);
                        match call(key, &values, slot.take()) {
                            Some(s) => *slot = Some(s),
                            None => drop(table.swap_remove(i)),
                        }
                    }
                    Found::Absent(hash) => {
                        if let Some(s) = call(&key, &values, None) {
                            table.push(hash, key, Some(s));
                        }
                    }
                }
            }
            table.shrink();
            let mut out = Vec::with_capacity(table.len());
            for (k, slot) in table.iter() {
                if let Some(s) = slot {
                    reduce_side((k.clone(), s.clone()), &mut out);
                }
            }
            out
        })
        .map(Batch::from_partitions)
}

impl<K, S> super::KeyGroups for StateStore<K, S> {
    fn merge_groups(parts: Vec<Self>, from: super::GroupSource<'_>) -> Self {
        let partitions = parts.first().and_then(|p| p.partitions);
        let parts = super::partitions::pick_groups(parts.into_iter().map(|p| p.parts).collect(), from);
        StateStore { partitions, parts }
    }
}
