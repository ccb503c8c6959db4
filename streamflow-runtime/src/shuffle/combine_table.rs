//! The hash table of the combining collectors (`reduce_by_key`,
//! `combine_by_key`, `count_by_value`) and of the reduce side's merge: (key,
//! value) pairs, each key hashed once per lookup with the runtime's table
//! hasher, and a probe small enough to be inlined into a fused loop.
//!
//! Why not `hashbrown::HashMap`: its `get_mut` stayed an out-of-line call in
//! the fused word count loop (18–23% of the samples were spent in it), and a
//! miss hashed the key a second time to insert it. Here the loop hashes the
//! key, probes with that hash, and on a miss inserts with the same hash.

use crate::shuffle::partitioner::{FixedState, table_state};
use hashbrown::HashTable;
use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

/// (key, value) pairs by key. Iterates in the order of its buckets, which
/// depends only on the keys' hashes (fixed seed) and the order they were
/// inserted in: the same inserts give the same order, run after run.
pub(crate) struct CombineTable<K, V> {
    table: HashTable<(K, V)>,
    /// The hasher: [`table_state`] on the map side, `merge_state` for a
    /// table filled in the order of map-side tables (see `partitioner`).
    state: FixedState,
}

/// Where a key is in a [`CombineTable`].
pub(crate) enum Slot<'t, V> {
    /// Present: its value.
    Hit(&'t mut V),
    /// Absent: its hash, to [`CombineTable::insert_new`] it with.
    Miss(u64),
}

impl<K, V> Default for CombineTable<K, V> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<K, V> CombineTable<K, V> {
    /// An empty table with room for `capacity` keys, hashed with
    /// [`table_state`].
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self::with_capacity_and_state(capacity, table_state())
    }

    /// An empty table with room for `capacity` keys, hashed with `state`.
    pub(crate) fn with_capacity_and_state(capacity: usize, state: FixedState) -> Self {
        CombineTable {
            table: HashTable::with_capacity(capacity),
            state,
        }
    }

    /// How many keys it holds.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// The keys, in the table's order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> {
        self.table.iter().map(|(k, _)| k)
    }
}

impl<K: Hash, V> CombineTable<K, V> {
    /// The value of `key`, or its hash if it is absent. One hash and one
    /// probe; forced inline so that a fused loop's per-element lookup is not
    /// a call.
    #[inline(always)]
    pub(crate) fn slot<Q>(&mut self, key: &Q) -> Slot<'_, V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        self.slot_hashed(hash, key)
    }

    /// The hash of `key` in this table.
    #[inline(always)]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.state.hash_one(key)
    }

    /// [`slot`](Self::slot) with `key`'s [`hash`](Self::hash) computed
    /// already.
    #[inline(always)]
    pub(crate) fn slot_hashed<Q>(&mut self, hash: u64, key: &Q) -> Slot<'_, V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        debug_assert_eq!(hash, self.hash(key), "the hash of another key");
        match self.table.find_mut(hash, |(k, _)| k.borrow() == key) {
            Some((_, value)) => Slot::Hit(value),
            None => Slot::Miss(hash),
        }
    }

    /// Adds `key`, which must be absent, with `hash` from [`Slot::Miss`]
    /// (no mutation in between). Growing the table rehashes the keys it
    /// holds; the new one is never hashed again.
    #[inline]
    pub(crate) fn insert_new(&mut self, hash: u64, key: K, value: V) {
        debug_assert_eq!(hash, self.state.hash_one(&key), "the hash of another key");
        let state = &self.state;
        self.table.insert_unique(hash, (key, value), |(k, _)| state.hash_one(k));
    }
}

impl<K, V> IntoIterator for CombineTable<K, V> {
    type Item = (K, V);
    type IntoIter = hashbrown::hash_table::IntoIter<(K, V)>;

    /// The pairs, moved out in the table's order.
    fn into_iter(self) -> Self::IntoIter {
        self.table.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::Colliding;

    /// Counts `keys` as a combiner does: one probe, an insert on a miss.
    fn count<'k>(table: &mut CombineTable<String, u64>, keys: impl IntoIterator<Item = &'k str>) {
        for key in keys {
            match table.slot(key) {
                Slot::Hit(n) => *n += 1,
                Slot::Miss(hash) => table.insert_new(hash, key.to_owned(), 1),
            }
        }
    }

    #[test]
    fn a_table_that_grows_mid_chunk_keeps_every_count() {
        // Room for 2 keys, then 5000 distinct keys, each seen 3 times with
        // the repeats after the growths: nothing lost or counted twice.
        let mut table = CombineTable::with_capacity(2);
        let keys: Vec<String> = (0..5000).map(|i| format!("key{i}")).collect();
        for _ in 0..3 {
            count(&mut table, keys.iter().map(String::as_str));
        }
        assert_eq!(table.len(), 5000);
        let mut pairs: Vec<(String, u64)> = table.into_iter().collect();
        pairs.sort();
        let mut expected: Vec<(String, u64)> = keys.into_iter().map(|k| (k, 3)).collect();
        expected.sort();
        assert_eq!(pairs, expected);
    }

    #[test]
    fn the_same_inserts_give_the_same_order() {
        let run = |capacity| {
            let mut table = CombineTable::with_capacity(capacity);
            count(&mut table, ["w", "x", "y", "z", "x", "w"].into_iter().cycle().take(600));
            let keys: Vec<String> = (0..300).map(|i| format!("{}", i * 7919 % 1000)).collect();
            count(&mut table, keys.iter().map(String::as_str));
            table.into_iter().collect::<Vec<_>>()
        };
        assert_eq!(run(0), run(0));
        assert_eq!(run(64), run(64));
    }

    #[test]
    fn keys_that_all_collide_are_still_told_apart() {
        let mut table: CombineTable<Colliding<u32>, u32> = CombineTable::default();
        for round in 0..3 {
            for k in 0..300 {
                let key = Colliding(k);
                match table.slot(&key) {
                    Slot::Hit(v) => *v += k,
                    Slot::Miss(hash) => {
                        assert_eq!(round, 0, "key {k} lost after the first round");
                        table.insert_new(hash, key, k);
                    }
                }
            }
        }
        let mut pairs: Vec<(Colliding<u32>, u32)> = table.into_iter().collect();
        pairs.sort();
        assert_eq!(pairs, (0..300).map(|k| (Colliding(k), 3 * k)).collect::<Vec<_>>());
    }
}
