//! `map_with_state(f)`: a function per record with the key's state handle,
//! optional timeouts, and snapshots of the whole state.

use super::State;
use crate::Batch;
use crate::runner::Moves;
use crate::shuffle::grouper::{Grouper, Run};
use crate::shuffle::key_tables::{Found, KeyTable, fix_partitions};
use crate::shuffle::{exchange_parts, group_part};
use crate::stage::StageInput;
use crate::stage::bounds::{Element, MapSide, ReduceSide, Replicable, RetainedKey};
use serde::{Deserialize, Serialize};
use std::hash::Hash;

/// One key's state and the time its last record arrived.
#[derive(Debug, Serialize, Deserialize)]
pub struct Tracked<S> {
    /// `None` only for a key whose call panicked (treated as absent).
    state: Option<S>,
    last_ms: u64,
}

/// The state of `map_with_state`: every key's state and when its last record
/// arrived, in key partitions, and the timeout.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(deserialize = "K: Deserialize<'de> + Hash + Eq, S: Deserialize<'de>"))]
pub struct MappedState<K, S> {
    timeout_ms: Option<u64>,
    partitions: Option<usize>,
    parts: Vec<KeyTable<K, Tracked<S>>>,
}

impl<K, S> MappedState<K, S> {
    /// How many keys have state.
    #[doc(hidden)]
    pub fn live_keys(&self) -> usize {
        self.parts
            .iter()
            .map(|m| m.values().filter(|t| t.state.is_some()).count())
            .sum()
    }

    /// The tables' capacity in keys (shrinks after many removals).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.parts.iter().map(KeyTable::capacity).sum()
    }
}

impl<K: Hash + Eq, S> MappedState<K, S> {
    /// A state loaded with `initial` before batch 1 (a key given twice keeps
    /// its last state; `::core::iter::empty()` for none); with `timeout_ms`,
    /// a key with no record for that long gets a last call and is removed,
    /// and the initial keys count as last updated at time 0.
    pub fn new(timeout_ms: Option<u64>, initial: impl IntoIterator<Item = (K, S)>) -> Self {
        let tracked = |(k, s)| {
            let tracked = Tracked {
                state: Some(s),
                last_ms: 0,
            };
            (k, tracked)
        };
        MappedState {
            timeout_ms,
            partitions: None,
            parts: vec![initial.into_iter().map(tracked).collect()],
        }
    }

    /// The same kept in `partitions` partitions from the first batch on
    /// (the generated code passes [`state_partitions`](super::state_partitions)),
    /// so that a restored state saved in another count is refused.
    pub fn fixed_in(self, partitions: usize) -> Self {
        MappedState {
            partitions: Some(partitions),
            ..self
        }
    }

    /// `saved`, read from a checkpoint, to replace `now`: only in the same
    /// partition count (see [`fixed_in`](Self::fixed_in)), and with `now`'s
    /// timeout. A timeout is a setting, not state: a job restarted with a
    /// changed `map_with_state(f, timeout)` times keys out by the new one
    /// (a key's last arrival is kept, so one idle longer than the new timeout
    /// gets its last call at the first batch).
    pub fn restored(now: &Self, saved: Self) -> Result<Self, String> {
        super::partitions::fits(now.partitions, saved.partitions)?;
        Ok(MappedState {
            timeout_ms: now.timeout_ms,
            ..saved
        })
    }
}

/// Where a key of a batch is while its records are processed: in the table at
/// a position, or out of it (owned here, with its hash for a later push).
enum Place<K> {
    In(usize),
    Out(K, u64),
}

/// Calls `f` for the key at `i` of `table` with `value`, and keeps the state
/// it leaves. Returns what `f` returned, and the key if `f` ended its state
/// (the key is then removed from the table).
#[inline(always)]
fn call_in<K: Hash + Eq, V, S, T>(
    table: &mut KeyTable<K, Tracked<S>>,
    i: usize,
    value: V,
    f: &impl Fn(&K, Option<V>, &mut State<S>) -> Option<T>,
    now: u64,
) -> (Option<T>, Option<K>) {
    // Taken out while `f` runs: a panic loses this key only.
    let (key, tracked) = table.pair_mut(i);
    let mut handle = State::new(tracked.state.take());
    let returned = f(key, Some(value), &mut handle);
    match handle.into_value() {
        Some(s) => {
            *tracked = Tracked {
                state: Some(s),
                last_ms: now,
            };
            (returned, None)
        }
        None => (returned, Some(table.swap_remove(i).0)),
    }
}

/// Calls `f` for `key`, absent from `table` (its hash `hash`), with `value`,
/// and adds the key last if `f` gave it a state. Returns what `f` returned,
/// and the key and its hash if it is still absent.
#[inline(always)]
fn call_out<K: Hash + Eq, V, S, T>(
    table: &mut KeyTable<K, Tracked<S>>,
    key: K,
    hash: u64,
    value: V,
    f: &impl Fn(&K, Option<V>, &mut State<S>) -> Option<T>,
    now: u64,
) -> (Option<T>, Option<(K, u64)>) {
    let mut handle = State::new(None);
    let returned = f(&key, Some(value), &mut handle);
    match handle.into_value() {
        Some(s) => {
            let tracked = Tracked {
                state: Some(s),
                last_ms: now,
            };
            table.push(hash, key, tracked);
            (returned, None)
        }
        None => (returned, Some((key, hash))),
    }
}

/// Calls `f` for `key` with one value: what it returned.
#[inline(always)]
fn call_once<K: Hash + Eq, V, S, T>(
    table: &mut KeyTable<K, Tracked<S>>,
    key: K,
    value: V,
    f: &impl Fn(&K, Option<V>, &mut State<S>) -> Option<T>,
    now: u64,
) -> Option<T> {
    match table.find(&key) {
        Found::At(i) => call_in(table, i, value, f, now).0,
        Found::Absent(hash) => call_out(table, key, hash, value, f, now).0,
    }
}

/// Calls `f` for `key` with each of `values` in order, giving `emit` what
/// each call returned: the key is looked up once, and again only after a
/// call removed it.
#[inline]
fn call_each<K: Hash + Eq, V, S, T>(
    table: &mut KeyTable<K, Tracked<S>>,
    key: K,
    values: impl IntoIterator<Item = V>,
    f: &impl Fn(&K, Option<V>, &mut State<S>) -> Option<T>,
    now: u64,
    emit: &mut impl FnMut(Option<T>),
) {
    let mut at = match table.find(&key) {
        Found::At(i) => Place::In(i),
        Found::Absent(hash) => Place::Out(key, hash),
    };
    for value in values {
        let returned;
        (at, returned) = match at {
            Place::In(i) => match call_in(table, i, value, f, now) {
                (returned, None) => (Place::In(i), returned),
                (returned, Some(key)) => match table.find(&key) {
                    Found::Absent(hash) => (Place::Out(key, hash), returned),
                    // Not reached: the key was just removed.
                    Found::At(j) => (Place::In(j), returned),
                },
            },
            Place::Out(key, hash) => match call_out(table, key, hash, value, f, now) {
                (returned, None) => (Place::In(table.len() - 1), returned),
                (returned, Some((key, hash))) => (Place::Out(key, hash), returned),
            },
        };
        emit(returned);
    }
}

/// `map_with_state(f)`: `f(key, Some(value), state)` once per record, in
/// arrival order within a key (a map task's records of one key one after the
/// other), only for keys with records; the output is what the calls
/// return. With a timeout, a key whose last record arrived at `t` and has none
/// in the first batch at or after `t + timeout` gets `f(key, None, state)`
/// with [`State::is_timing_out`] there (its return value is output too), then
/// is removed. This fixed batch is streamflow's choice: Spark sweeps timeouts
/// only in checkpoint batches. With `snapshots`, the second batch is every
/// (key, state) after the batch.
/// Stages: `stage` the map side and its exchange by key, `stage + 1` the calls
/// and the reduce side (and the exchange that puts an initial state into its
/// key partitions).
#[allow(clippy::type_complexity)]
pub fn map_with_state<Rn, In: StageInput, K: RetainedKey, V: Element, S: Replicable, T, U: Element>(
    runner: &Rn,
    stage: usize,
    state: &mut MappedState<K, S>,
    input: In,
    map_side: impl MapSide<In::Item, Grouper<K, V>>,
    f: &(impl Fn(&K, Option<V>, &mut State<S>) -> Option<T> + Sync),
    partitions: Option<usize>,
    snapshots: bool,
    reduce_side: impl ReduceSide<T, U>,
) -> Result<(Batch<U>, Option<Batch<(K, S)>>), Rn::Error>
where
    Rn: Moves<Run<K, V>> + Moves<(K, Tracked<S>)>,
{
    let n = fix_partitions(&mut state.partitions, runner, partitions);
    KeyTable::ensure_partitions(runner, stage + 1, &mut state.parts, n)?;
    let now = runner.time().as_millis();
    let timeout = state.timeout_ms;
    let per_key = exchange_parts(runner, stage, input.into_parts(), n, |part| {
        group_part(part, n, &map_side)
    })?;
    let tasks: Vec<_> = state.parts.iter_mut().zip(per_key).collect();
    let results = runner.tasks(stage + 1, tasks, |(table, buckets)| {
        let mut out = Vec::new();
        // Each map task's runs in order: a key's values in arrival order.
        let mut emit = |returned: Option<T>| {
            if let Some(u) = returned {
                reduce_side(u, &mut out);
            }
        };
        for run in buckets.into_iter().flatten() {
            match run {
                // What a task whose keys were nearly all new lists: one
                // lookup and one call per pair.
                Run::Pairs(pairs) => {
                    for (key, value) in pairs {
                        emit(call_once(table, key, value, f, now));
                    }
                }
                Run::Groups(groups) => {
                    for (key, values) in groups {
                        // A group of one without the cursor of
                        // `call_each` (measured: the reduce side 10%
                        // faster at half a record per key).
                        match values.into_inner() {
                            Ok([value]) => emit(call_once(table, key, value, f, now)),
                            Err(values) => call_each(table, key, values, f, now, &mut emit),
                        }
                    }
                }
            }
        }
        if let Some(timeout) = timeout {
            table.retain(|key, tracked| {
                let Some(s) = tracked.state.take() else {
                    return false;
                };
                // A key with a record in this batch has `last_ms == now`.
                let fires = tracked.last_ms < now && now >= tracked.last_ms.saturating_add(timeout);
                if !fires {
                    tracked.state = Some(s);
                    return true;
                }
                if let Some(u) = f(key, None, &mut State::timing_out(s)) {
                    reduce_side(u, &mut out);
                }
                false
            });
        }
        table.shrink();
        let snapshot: Vec<(K, S)> = if snapshots {
            table
                .iter()
                .filter_map(|(k, t)| Some((k.clone(), t.state.as_ref()?.clone())))
                .collect()
        } else {
            Vec::new()
        };
        (out, snapshot)
    })?;
    let (outputs, snaps): (Vec<_>, Vec<_>) = results.into_iter().unzip();
    Ok((
        Batch::from_partitions(outputs),
        snapshots.then(|| Batch::from_partitions(snaps)),
    ))
}

impl<K, S> super::KeyGroups for MappedState<K, S> {
    fn merge_groups(parts: Vec<Self>, from: super::GroupSource<'_>) -> Self {
        let first = parts.first().map(|p| (p.timeout_ms, p.partitions));
        let (timeout_ms, partitions) = first.unwrap_or_default();
        let parts = super::partitions::pick_groups(parts.into_iter().map(|p| p.parts).collect(), from);
        MappedState {
            timeout_ms,
            partitions,
            parts,
        }
    }
}
