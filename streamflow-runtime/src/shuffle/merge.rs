//! The reduce side of a shuffle: merging the buckets an output partition
//! received from the exchange, per key, in map-task order.

use crate::shuffle::collectors::KeyCombiner;
use crate::shuffle::combine_table::CombineTable;
use crate::shuffle::grouper::{Run, Values};
use crate::shuffle::partitioner::{merge_state, table_state};
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use std::hash::{BuildHasher, Hash};

/// The merged (key, combiner) pairs of one reduce partition.
pub(crate) enum Merged<K, C> {
    /// Only one map task had keys here: they are distinct already.
    One(Vec<(K, C)>),
    /// Several map tasks: merged per key.
    Many(CombineTable<K, C>),
}

impl<K, C> Merged<K, C> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Merged::One(v) => v.len(),
            Merged::Many(m) => m.len(),
        }
    }

    /// Runs a reduce side over every merged pair, into a new vector.
    pub(crate) fn emit<U>(self, reduce_side: impl Fn((K, C), &mut Vec<U>)) -> Vec<U> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|pair| reduce_side(pair, &mut out));
        out
    }

    pub(crate) fn for_each(self, mut f: impl FnMut((K, C))) {
        match self {
            Merged::One(v) => v.into_iter().for_each(&mut f),
            Merged::Many(m) => m.into_iter().for_each(&mut f),
        }
    }
}

/// Merges map-side combined buckets per key with `merge`, in map-task order.
pub(crate) fn merge_by_key<K: Hash + Eq, C>(mut buckets: Vec<Vec<(K, C)>>, merge: impl Fn(C, C) -> C) -> Merged<K, C> {
    if buckets.len() <= 1 {
        return Merged::One(buckets.pop().unwrap_or_default());
    }
    let largest = buckets.iter().map(Vec::len).max().unwrap_or(0);
    let table = CombineTable::with_capacity_and_state(largest, merge_state());
    let mut combiner = KeyCombiner::with_table(&merge, table);
    let mut hashes = [0u64; HASHED_AHEAD];
    for bucket in buckets {
        let mut pairs = bucket.into_iter();
        loop {
            let ahead = &pairs.as_slice()[..pairs.len().min(HASHED_AHEAD)];
            if ahead.is_empty() {
                break;
            }
            for (hash, (key, _)) in hashes.iter_mut().zip(ahead) {
                *hash = combiner.table.hash(key);
            }
            for &hash in &hashes[..ahead.len()] {
                let Some(pair) = pairs.next() else { break };
                combiner.push_hashed(hash, pair);
            }
        }
    }
    Merged::Many(combiner.into_table())
}

/// How many pairs the merge hashes before it probes for them. A key arrives
/// from another task, usually not in cache: hashed in a row of independent
/// reads, the misses overlap, instead of each stalling its own probe (on
/// word count 22% of the merge's samples were on reading the key to hash
/// it). Small enough that the keys are still in cache for the probes'
/// comparisons.
const HASHED_AHEAD: usize = 32;

/// Merges groups by key (the per-batch groups of a window): each key's value
/// lists concatenated in bucket order, keys in order of first arrival.
///
/// This is the grouping of every pair listed in bucket order: a bucket holds
/// its keys in their first-arrival order and each key's values in arrival
/// order, so a key first arrives in the first bucket that has it, after the
/// keys that bucket had first, and its values are its lists in bucket order.
pub(crate) fn group_in_order<K: Hash + Eq, C>(buckets: Vec<Vec<(K, C)>>) -> Vec<(K, C)>
where
    C: IntoIterator + Extend<C::Item>,
{
    let mut grouping: Grouping<(K, C)> = Grouping::new(buckets.iter().map(Vec::len).max().unwrap_or(0));
    for bucket in buckets {
        grouping.add(bucket, |g| &g.0, |g, vs| g.1.extend(vs), |k, vs| (k, vs));
    }
    grouping.groups
}

/// [`group_in_order`] of buckets whose keys are distinct within each (the
/// per-batch groups of a window): one bucket is the result as it is.
pub(crate) fn group_distinct_in_order<K: Hash + Eq, C>(mut buckets: Vec<Vec<(K, C)>>) -> Vec<(K, C)>
where
    C: IntoIterator + Extend<C::Item>,
{
    if buckets.len() <= 1 {
        return buckets.pop().unwrap_or_default();
    }
    group_in_order(buckets)
}

/// [`group_in_order`] of a grouper's buckets (`grouper::Grouper`), in
/// map-task order, each a list of runs read in order: a run of groups adds
/// each key's list, a run of pairs each value, so a key may come more than
/// once in a bucket and its values still join in arrival order.
pub(crate) fn group_runs_in_order<K: Hash + Eq, V>(buckets: Vec<Vec<Run<K, V>>>) -> Vec<(K, Values<V>)> {
    let mut grouping: Grouping<(K, Values<V>)> = Grouping::new(largest_run(&buckets));
    grouping.add_runs(buckets, |g| &g.0, |g, v| g.1.push(v), |k, vs| (k, vs));
    grouping.groups
}

/// The most entries of one bucket's runs: a bucket's groups have distinct
/// keys, so this is about the keys of the largest (a grouping needs room for
/// at least that many).
fn largest_run<K, V>(buckets: &[Vec<Run<K, V>>]) -> usize {
    let sizes = buckets.iter().map(|runs| runs.iter().map(Run::len).sum::<usize>());
    sizes.max().unwrap_or(0)
}

/// One key's values on both sides of a join or cogroup.
pub(crate) type CoGroup<K, V, W> = (K, Vec<V>, Vec<W>);

/// Merges both sides' map-side buckets by key (as [`group_runs_in_order`]):
/// keys in order of first arrival (left side first), values in arrival order.
#[allow(clippy::type_complexity)]
pub(crate) fn cogroup_in_order<K: Hash + Eq, V, W>(
    left: Vec<Vec<Run<K, V>>>,
    right: Vec<Vec<Run<K, W>>>,
) -> Vec<CoGroup<K, V, W>> {
    let largest = largest_run(&left).max(largest_run(&right));
    let mut grouping: Grouping<CoGroup<K, V, W>> = Grouping::new(largest);
    grouping.add_runs(
        left,
        |g| &g.0,
        |g, v| g.1.push(v),
        |k, vs| (k, vs.into_vec(), Vec::new()),
    );
    grouping.add_runs(
        right,
        |g| &g.0,
        |g, w| g.2.push(w),
        |k, ws| (k, Vec::new(), ws.into_vec()),
    );
    grouping.groups
}

/// Groups in order of their key's first arrival, found by key through an
/// [`Index`].
struct Grouping<G> {
    index: Index,
    groups: Vec<G>,
}

impl<G> Grouping<G> {
    /// Room for `keys` groups: the largest bucket's, which has distinct keys
    /// (the others' may repeat them), so that the index rarely grows.
    fn new(keys: usize) -> Self {
        Grouping {
            index: Index::with_capacity(keys),
            groups: Vec::with_capacity(keys),
        }
    }

    /// Adds every value of a grouper's buckets (runs, in order): `add` to
    /// its key's group, or `start` of a new group with a key's first values.
    fn add_runs<K: Hash + Eq, V>(
        &mut self,
        buckets: Vec<Vec<Run<K, V>>>,
        key_of: impl Fn(&G) -> &K,
        add: impl Fn(&mut G, V),
        start: impl Fn(K, Values<V>) -> G,
    ) {
        for run in buckets.into_iter().flatten() {
            match run {
                Run::Groups(groups) => {
                    self.add(groups, &key_of, |g, vs| vs.into_iter().for_each(|v| add(g, v)), &start)
                }
                Run::Pairs(pairs) => self.add(pairs, &key_of, &add, |k, v| start(k, smallvec::smallvec![v])),
            }
        }
    }

    /// Adds every (key, x) of `entries`, in order: `add` to its key's
    /// group, or `start` of a new group.
    #[inline]
    fn add<K: Hash + Eq, X>(
        &mut self,
        entries: Vec<(K, X)>,
        key_of: impl Fn(&G) -> &K,
        add: impl Fn(&mut G, X),
        start: impl Fn(K, X) -> G,
    ) {
        for (key, x) in entries {
            match self.index.slot(&self.groups, &key, &key_of) {
                Ok(i) => add(&mut self.groups[i], x),
                Err(slot) => {
                    slot.insert(self.groups.len());
                    self.groups.push(start(key, x));
                }
            }
        }
    }
}

/// A hash index from keys to positions in a vector of groups, so that groups
/// come out in first-arrival order and keys are stored once (no `K: Clone`).
struct Index {
    table: HashTable<usize>,
}

impl Index {
    fn with_capacity(n: usize) -> Self {
        Index {
            table: HashTable::with_capacity(n),
        }
    }

    /// The position of `key`'s group, or the vacant slot to record a new one.
    #[inline]
    fn slot<'t, K: Hash + Eq, G>(
        &'t mut self,
        groups: &[G],
        key: &K,
        key_of: impl Fn(&G) -> &K,
    ) -> Result<usize, hashbrown::hash_table::VacantEntry<'t, usize>> {
        let state = table_state();
        let hash = state.hash_one(key);
        match self.table.entry(
            hash,
            |&i| key_of(&groups[i]) == key,
            |&i| state.hash_one(key_of(&groups[i])),
        ) {
            Entry::Occupied(e) => Ok(*e.get()),
            Entry::Vacant(e) => Err(e),
        }
    }
}

/// Emits every (v, w) combination of one key, `for v in vs { for w in ws }`,
/// cloning only where a value is used again.
#[inline]
pub(crate) fn cross<K: Clone, V: Clone, W: Clone>(key: K, vs: Vec<V>, ws: Vec<W>, mut emit: impl FnMut(K, V, W)) {
    let (nv, nw) = (vs.len(), ws.len());
    if nv == 0 || nw == 0 {
        return;
    }
    let mut vs = vs.into_iter();
    for _ in 1..nv {
        let Some(v) = vs.next() else { return };
        for w in &ws {
            emit(key.clone(), v.clone(), w.clone());
        }
    }
    let Some(v) = vs.next() else { return };
    let mut ws = ws.into_iter();
    for _ in 1..nw {
        let Some(w) = ws.next() else { return };
        emit(key.clone(), v.clone(), w);
    }
    if let Some(w) = ws.next() {
        emit(key, v, w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_in_first_arrival_order() {
        let g = group_in_order(vec![
            vec![("b", vec![1, 4]), ("a", vec![2])],
            vec![],
            vec![("c", vec![5]), ("b", vec![3])],
        ]);
        assert_eq!(g, vec![("b", vec![1, 4, 3]), ("a", vec![2]), ("c", vec![5])]);
        assert_eq!(
            group_in_order(vec![vec![("z", vec![1]), ("y", vec![2])]]),
            [("z", vec![1]), ("y", vec![2])]
        );
        assert!(group_in_order::<u8, Vec<u8>>(Vec::new()).is_empty());
    }

    /// A bucket's run of pairs after its run of groups: a key of both (and a
    /// key twice in the pairs) gets its values in that order, after the
    /// earlier buckets'.
    #[test]
    fn runs_group_in_first_arrival_order() {
        let g = group_runs_in_order(vec![
            vec![Run::Groups(vec![("b", smallvec::smallvec![1, 4])])],
            vec![
                Run::Groups(vec![("a", smallvec::smallvec![2]), ("b", smallvec::smallvec![3])]),
                Run::Pairs(vec![("c", 5), ("b", 6), ("c", 7), ("a", 8)]),
            ],
            vec![],
            vec![Run::Pairs(vec![("d", 9), ("b", 10)])],
        ]);
        let g: Vec<(&str, Vec<i32>)> = g.into_iter().map(|(k, vs)| (k, vs.into_vec())).collect();
        assert_eq!(
            g,
            vec![
                ("b", vec![1, 4, 3, 6, 10]),
                ("a", vec![2, 8]),
                ("c", vec![5, 7]),
                ("d", vec![9])
            ]
        );
        assert!(group_runs_in_order::<u8, u8>(Vec::new()).is_empty());
    }

    #[test]
    fn cogroups_both_sides() {
        let g = cogroup_in_order(
            vec![
                vec![Run::Groups(vec![("a", smallvec::smallvec![1])])],
                vec![Run::Pairs(vec![("a", 2), ("c", 3), ("a", 4)])],
            ],
            vec![vec![
                Run::Groups(vec![("b", smallvec::smallvec!['x']), ("a", smallvec::smallvec!['y'])]),
                Run::Pairs(vec![("b", 'z')]),
            ]],
        );
        assert_eq!(
            g,
            vec![
                ("a", vec![1, 2, 4], vec!['y']),
                ("c", vec![3], vec![]),
                ("b", vec![], vec!['x', 'z'])
            ]
        );
    }

    #[test]
    fn cross_emits_every_pair_in_order() {
        let mut out = Vec::new();
        cross("k", vec![1, 2], vec!['x', 'y'], |k, v, w| out.push((k, v, w)));
        assert_eq!(out, vec![("k", 1, 'x'), ("k", 1, 'y'), ("k", 2, 'x'), ("k", 2, 'y')]);
        let mut none = Vec::new();
        cross("k", Vec::<i32>::new(), vec!['x'], |k, v, w| none.push((k, v, w)));
        assert!(none.is_empty());
    }

    #[test]
    fn merge_by_key_merges_in_map_task_order_through_growth() {
        // 40 buckets of 500 keys each, the merge table sized for 500: it
        // grows while merging; concatenation shows the order of the merges.
        let buckets: Vec<Vec<(String, String)>> = (0..40u32)
            .map(|t| {
                (0..500u32)
                    .map(|i| (format!("k{}", (i * 3 + t * 37) % 2000), format!("{t},")))
                    .collect()
            })
            .collect();
        let mut expected = std::collections::BTreeMap::<String, String>::new();
        for (key, value) in buckets.iter().flatten() {
            expected.entry(key.clone()).or_default().push_str(value);
        }
        let merged = merge_by_key(buckets, |a: String, b: String| a + &b);
        assert_eq!(merged.len(), expected.len());
        let mut all = Vec::new();
        merged.for_each(|p| all.push(p));
        all.sort();
        assert_eq!(all, expected.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn merge_by_key_combines_across_buckets() {
        let merged = merge_by_key(vec![vec![("a", 1), ("b", 2)], vec![("a", 5)]], |x, y| x + y);
        assert_eq!(merged.len(), 2);
        let mut all = Vec::new();
        merged.for_each(|p| all.push(p));
        all.sort();
        assert_eq!(all, vec![("a", 6), ("b", 2)]);
    }
}
