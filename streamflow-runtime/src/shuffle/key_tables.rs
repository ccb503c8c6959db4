//! Key-partitioned tables shared by the window and state objects: the number
//! of partitions, fixed at the first batch, and the tables themselves, which
//! iterate in an order that a snapshot keeps.
//!
//! Why not a plain hash map: a job restored from a snapshot must give the same
//! output, element order included, as the job the snapshot was taken from
//! (what makes a recovered batch's files byte-identical). A hash table's order
//! depends on its capacity and on its history of inserts and removals, which a
//! snapshot does not hold. A [`KeyTable`] iterates in the order of a vector of
//! entries, which only its operations decide; it is written as that vector of
//! pairs, and read back into the same order (with the runtime's fixed hasher).

use crate::runner::{Moves, Runner};
use crate::shuffle::partitioner::{partition_of, table_state};
use hashbrown::HashTable;
use serde::Deserialize;
use serde::ser::{Serialize, Serializer};
use std::hash::{BuildHasher, Hash};

/// The number of key partitions of a state object: the call's or the
/// runner's, chosen at the first batch and kept after (a key's partition must
/// not move while it has state).
pub(crate) fn fix_partitions<Rn: Runner>(fixed: &mut Option<usize>, runner: &Rn, requested: Option<usize>) -> usize {
    *fixed.get_or_insert_with(|| runner.partitions(requested))
}

/// A hash table of (key, value) pairs that iterates in the order of its
/// entries: a new key goes last, a removed key's place is taken by the last
/// entry (as `Vec::swap_remove`), so every operation costs O(1) and the order
/// is a function of the operations alone. The pairs are stored as pairs: the
/// element a user's filter sees is the stored pair itself, with nothing to
/// clone. (The shape of the `indexmap` crate, whose entries are not pairs.)
#[derive(Deserialize)]
#[serde(
    from = "Vec<(K, V)>",
    bound(deserialize = "K: Deserialize<'de> + Hash + Eq, V: Deserialize<'de>")
)]
pub(crate) struct KeyTable<K, V> {
    /// Positions in `entries`, found by their key's hash.
    index: HashTable<usize>,
    /// The pairs in iteration order.
    entries: Vec<Slot<K, V>>,
}

/// An entry of a [`KeyTable`]: its pair and its key's hash, kept so that
/// growing, shrinking and moving entries never hash a key again.
struct Slot<K, V> {
    hash: u64,
    pair: (K, V),
}

/// Mends a [`KeyTable`]'s index when a function unwinds while an entry is out
/// of the table ([`KeyTable::replace_with`]): the taken entry's position is
/// unindexed, and the entry that moved into it is indexed there.
struct Mend<'a> {
    index: &'a mut HashTable<usize>,
    /// The taken entry's hash and position.
    taken: (u64, usize),
    /// The moved entry's hash and old position, if one moved.
    moved: Option<(u64, usize)>,
}

impl Drop for Mend<'_> {
    fn drop(&mut self) {
        let (hash, at) = self.taken;
        if let Ok(found) = self.index.find_entry(hash, |&j| j == at) {
            found.remove();
        }
        if let Some((hash, from)) = self.moved
            && let Some(position) = self.index.find_mut(hash, |&j| j == from)
        {
            *position = at;
        }
    }
}

/// Where a key is in a [`KeyTable`].
pub(crate) enum Found {
    /// At this position.
    At(usize),
    /// Absent; its hash, to [`KeyTable::push`] it with.
    Absent(u64),
}

/// The hash of a key in a [`KeyTable`].
#[inline]
fn key_hash<K: Hash>(key: &K) -> u64 {
    table_state().hash_one(key)
}

impl<K, V> Default for KeyTable<K, V> {
    fn default() -> Self {
        KeyTable {
            index: HashTable::new(),
            entries: Vec::new(),
        }
    }
}

impl<K, V> KeyTable<K, V> {
    /// How many keys the table holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// How many keys the table holds room for (shrinks after many removals).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.index.capacity()
    }

    /// The pairs, in the table's order.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &(K, V)> {
        self.entries.iter().map(|slot| &slot.pair)
    }

    /// The values, in the table's order.
    pub(crate) fn values(&self) -> impl ExactSizeIterator<Item = &V> {
        self.entries.iter().map(|slot| &slot.pair.1)
    }

    /// The pairs, moved out in the table's order.
    pub(crate) fn into_pairs(self) -> impl ExactSizeIterator<Item = (K, V)> {
        self.entries.into_iter().map(|slot| slot.pair)
    }

    /// The key and value at position `i` (from [`Found::At`]).
    pub(crate) fn pair_mut(&mut self, i: usize) -> (&K, &mut V) {
        let (key, value) = &mut self.entries[i].pair;
        (key, value)
    }

    /// Adds `key`, which must be absent, last; `hash` is from [`Found::Absent`].
    pub(crate) fn push(&mut self, hash: u64, key: K, value: V) {
        let i = self.entries.len();
        self.entries.push(Slot {
            hash,
            pair: (key, value),
        });
        let entries = &self.entries;
        self.index.insert_unique(hash, i, |&j| entries[j].hash);
    }

    /// Removes the entry at position `i`; the last entry takes its place.
    pub(crate) fn swap_remove(&mut self, i: usize) -> (K, V) {
        let hash = self.entries[i].hash;
        let indexed = self.index.find_entry(hash, |&j| j == i);
        debug_assert!(indexed.is_ok(), "every entry is indexed");
        if let Ok(found) = indexed {
            found.remove();
        }
        let last = self.entries.len() - 1;
        if i != last {
            let moved = self.index.find_mut(self.entries[last].hash, |&j| j == last);
            debug_assert!(moved.is_some(), "every entry is indexed");
            if let Some(position) = moved {
                *position = i;
            }
        }
        self.entries.swap_remove(i).pair
    }

    /// Replaces the value at position `i` with `f(value)`, in its place. The
    /// entry is out of the table while `f` runs: a panic in `f` loses this key
    /// only.
    pub(crate) fn replace_with(&mut self, i: usize, f: impl FnOnce(V) -> V) {
        // Taken out from the end (the last entry swapped into `i`) and put
        // back the same way, so that the index, which still points at both
        // entries' old positions, is right again afterwards without a lookup;
        // only a panic in `f` has to mend it.
        let last = self.entries.len() - 1;
        self.entries.swap(i, last);
        let Some(Slot { hash, pair: (key, old) }) = self.entries.pop() else {
            return;
        };
        let mend = Mend {
            index: &mut self.index,
            taken: (hash, i),
            moved: (i != last).then(|| (self.entries[i].hash, last)),
        };
        let new = f(old);
        std::mem::forget(mend);
        self.entries.push(Slot { hash, pair: (key, new) });
        self.entries.swap(i, last);
    }

    /// Keeps the entries for which `keep` is true. Each removal is a
    /// [`swap_remove`](Self::swap_remove): the cost is one visit per entry and
    /// O(1) per removed one, never a rebuild of the index.
    fn retain_slots(&mut self, mut keep: impl FnMut(&mut Slot<K, V>) -> bool) {
        let mut i = 0;
        while i < self.entries.len() {
            if keep(&mut self.entries[i]) {
                i += 1;
            } else {
                // The last entry, not yet visited, moves to `i`.
                self.swap_remove(i);
            }
        }
    }

    /// Keeps the keys for which `keep(key, value)` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.retain_slots(|slot| keep(&slot.pair.0, &mut slot.pair.1));
    }

    /// Keeps the pairs for which `keep(pair)` is true.
    pub(crate) fn retain_pairs(&mut self, mut keep: impl FnMut(&(K, V)) -> bool) {
        self.retain_slots(|slot| keep(&slot.pair));
    }

    /// Gives back most of the table's memory once it is far emptier than its
    /// capacity (after many keys were removed), keeping room to grow again.
    pub(crate) fn shrink(&mut self) {
        let len = self.entries.len();
        if self.index.capacity() > 64 && len * 4 < self.index.capacity() {
            let entries = &self.entries;
            self.index.shrink_to(len * 2, |&j| entries[j].hash);
            self.entries.shrink_to(len * 2);
        }
    }
}

impl<K: Hash + Eq, V> KeyTable<K, V> {
    /// Where `key` is.
    #[inline]
    pub(crate) fn find(&self, key: &K) -> Found {
        let hash = key_hash(key);
        match self.index.find(hash, |&j| self.entries[j].pair.0 == *key) {
            Some(&i) => Found::At(i),
            None => Found::Absent(hash),
        }
    }

    /// Sets `key`'s value: in its place if it is there, last otherwise.
    pub(crate) fn insert(&mut self, key: K, value: V) {
        match self.find(&key) {
            Found::At(i) => *self.pair_mut(i).1 = value,
            Found::Absent(hash) => self.push(hash, key, value),
        }
    }
}

impl<K: Hash + Eq, V> FromIterator<(K, V)> for KeyTable<K, V> {
    /// A table of `pairs` in their order; a key given twice keeps its first
    /// place and its last value.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let pairs = pairs.into_iter();
        let room = pairs.size_hint().0;
        let mut table = KeyTable {
            index: HashTable::with_capacity(room),
            entries: Vec::with_capacity(room),
        };
        for (key, value) in pairs {
            table.insert(key, value);
        }
        table
    }
}

impl<K: Hash + Eq, V> From<Vec<(K, V)>> for KeyTable<K, V> {
    fn from(pairs: Vec<(K, V)>) -> Self {
        pairs.into_iter().collect()
    }
}

impl<K: Hash + Eq + Send, V: Send> KeyTable<K, V> {
    /// Makes sure there are exactly `n` tables with every key in its partition
    /// (an initial state is loaded before the partition count is known): the
    /// entries move through the runner's exchange, as part of stage `stage`,
    /// and keep their order within each table.
    pub(crate) fn ensure_partitions<Rn: Moves<(K, V)>>(
        runner: &Rn,
        stage: usize,
        tables: &mut Vec<KeyTable<K, V>>,
        n: usize,
    ) -> Result<(), Rn::Error> {
        if tables.len() == n {
            return Ok(());
        }
        // On a cluster every process holds the same initial tables: only each
        // table's owner sends its entries, so that each arrives once.
        let count = tables.len();
        let buckets = std::mem::take(tables)
            .into_iter()
            .enumerate()
            .map(|(i, table)| {
                if runner.owns(i, count) {
                    table
                } else {
                    KeyTable::default()
                }
            })
            .map(|table| {
                // A table's keys are distinct: its pairs are split by
                // partition as they are, in order.
                let mut buckets: Vec<Vec<(K, V)>> = (0..n.max(1)).map(|_| Vec::new()).collect();
                for pair in table.into_pairs() {
                    buckets[partition_of(&pair.0, n)].push(pair);
                }
                buckets
            })
            .collect();
        *tables = runner
            .exchange_moved(stage, buckets, n)?
            .into_iter()
            .map(|buckets| buckets.into_iter().flatten().collect())
            .collect();
        Ok(())
    }
}

impl<K: Serialize, V: Serialize> Serialize for KeyTable<K, V> {
    fn serialize<Se: Serializer>(&self, s: Se) -> Result<Se::Ok, Se::Error> {
        s.collect_seq(self.iter())
    }
}

impl<K: std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for KeyTable<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter().map(|(k, v)| (k, v))).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repartition_puts_every_key_in_its_partition() {
        let one: KeyTable<u32, u32> = (0..100u32).map(|k| (k, k * 2)).collect();
        let mut tables = vec![one];
        let runner = crate::runner::LocalRunner::new();
        crate::runner::infallible(KeyTable::ensure_partitions(&runner, 0, &mut tables, 3));
        assert_eq!(tables.len(), 3);
        for (i, t) in tables.iter().enumerate() {
            for (k, v) in t.iter() {
                assert_eq!(partition_of(k, 3), i);
                assert_eq!(*v, k * 2);
            }
            // Each table keeps the order the keys had in the one before.
            assert!(t.iter().map(|(k, _)| k).is_sorted());
        }
        assert_eq!(tables.iter().map(KeyTable::len).sum::<usize>(), 100);
    }

    #[test]
    fn sparse_tables_shrink() {
        let mut t: KeyTable<u32, u32> = (0..10_000).map(|k| (k, k)).collect();
        t.retain(|k, _| *k < 10);
        t.shrink();
        assert!(t.capacity() < 100, "{}", t.capacity());
        assert_eq!(t.len(), 10);
        for k in 0..10 {
            assert!(matches!(t.find(&k), Found::At(_)));
        }
    }

    /// The pairs in order, after checking that every key is found where it is.
    fn contents(t: &KeyTable<u32, u32>) -> Vec<(u32, u32)> {
        for (i, (k, _)) in t.iter().enumerate() {
            assert!(matches!(t.find(k), Found::At(j) if j == i), "key {k} not at {i}");
        }
        t.iter().copied().collect()
    }

    #[test]
    fn the_order_is_the_operations_own_and_a_written_table_reads_back_in_it() {
        let mut t = KeyTable::default();
        for k in 0..5000u32 {
            t.insert(k.wrapping_mul(2_654_435_761) % 7919, k);
        }
        // Removals by every path: swap_remove, retain, replace_with.
        for k in (0..7919u32).step_by(3) {
            if let Found::At(i) = t.find(&k) {
                t.swap_remove(i);
            }
        }
        t.retain(|k, v| (k + *v) % 5 != 0);
        t.retain_pairs(|(k, _)| k % 7 != 1);
        for k in (0..7919u32).step_by(11) {
            if let Found::At(i) = t.find(&k) {
                t.replace_with(i, |v| v + 1);
            }
        }
        t.shrink();
        let written = contents(&t);
        // Not sorted by key: what follows compares orders, not sets.
        assert!(!written.iter().map(|p| p.0).is_sorted());

        let mut read = KeyTable::from(written.clone());
        assert_eq!(contents(&read), written);
        // The same operations on both keep them equal, order included.
        for k in 0..3000u32 {
            for table in [&mut t, &mut read] {
                match table.find(&(k * 7 % 9001)) {
                    Found::At(i) if k % 2 == 0 => drop(table.swap_remove(i)),
                    Found::At(i) => table.replace_with(i, |v| v * 3),
                    Found::Absent(hash) => table.push(hash, k * 7 % 9001, k),
                }
            }
        }
        assert_eq!(contents(&read), contents(&t));
    }

    #[test]
    fn a_key_given_twice_keeps_its_first_place_and_last_value() {
        let t: KeyTable<u32, u32> = KeyTable::from(vec![(1, 10), (2, 20), (1, 11)]);
        assert_eq!(contents(&t), [(1, 11), (2, 20)]);
    }

    #[test]
    fn a_panic_while_replacing_loses_that_key_only() {
        let mut t: KeyTable<u32, u32> = (0..10).map(|k| (k, k)).collect();
        t.replace_with(4, |v| v + 100);
        assert_eq!(contents(&t)[4], (4, 104), "replaced in place");
        // The entry at 3 (the last, 9, takes its place), then the last one.
        for (at, lost) in [(3, 3), (8, 8)] {
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                t.replace_with(at, |_| panic!("boom"));
            }));
            assert!(caught.is_err());
            assert!(matches!(t.find(&lost), Found::Absent(_)));
        }
        let left = contents(&t);
        assert_eq!(left, [(0, 0), (1, 1), (2, 2), (9, 9), (4, 104), (5, 5), (6, 6), (7, 7)]);
        t.replace_with(7, |v| v + 1);
        assert_eq!(contents(&t)[7], (7, 8), "the last entry replaced in place");
    }
}
