//! Key-partitioned tables shared by the window and state objects: the number
//! of partitions, fixed at the first batch, the hash tables themselves, and how
//! they are written (as plain sequences of pairs, so that a restored table gets
//! the runtime's fixed hasher back instead of a default one).

use crate::runner::Runner;
use crate::shuffle::collectors::{Collector, Grouper};
use crate::shuffle::partitioner::{FixedHashMap, new_map, table_state};
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use serde::Deserialize;
use serde::ser::{Serialize, Serializer};
use std::hash::{BuildHasher, Hash};

/// The number of key partitions of a state object: the call's or the
/// runner's, chosen at the first batch and kept after (a key's partition must
/// not move while it has state).
pub(crate) fn fix_partitions<Rn: Runner>(fixed: &mut Option<usize>, runner: &Rn, requested: Option<usize>) -> usize {
    *fixed.get_or_insert_with(|| runner.partitions(requested))
}

/// Gives back most of a table's memory once it is far emptier than its
/// capacity (after many keys were removed), keeping room to grow again.
pub(crate) fn shrink_map<K: Hash + Eq, V>(map: &mut FixedHashMap<K, V>) {
    if map.capacity() > 64 && map.len() * 4 < map.capacity() {
        map.shrink_to(map.len() * 2);
    }
}

/// A hash map from keys to values, one per key partition.
#[derive(Deserialize)]
#[serde(
    from = "Vec<(K, V)>",
    bound(deserialize = "K: Deserialize<'de> + Hash + Eq, V: Deserialize<'de>")
)]
pub(crate) struct KeyMap<K, V>(pub(crate) FixedHashMap<K, V>);

impl<K: Hash + Eq, V> From<Vec<(K, V)>> for KeyMap<K, V> {
    fn from(pairs: Vec<(K, V)>) -> Self {
        let mut map = new_map(pairs.len());
        map.extend(pairs);
        KeyMap(map)
    }
}

impl<K, V> Default for KeyMap<K, V> {
    fn default() -> Self {
        KeyMap(new_map(0))
    }
}

impl<K: Hash + Eq + Send, V: Send> KeyMap<K, V> {
    /// Makes sure there are exactly `n` maps with every key in its partition
    /// (an initial state is loaded before the partition count is known): the
    /// entries move through the runner's exchange, as part of stage `stage`.
    pub(crate) fn ensure_partitions<Rn: Runner>(
        runner: &Rn,
        stage: usize,
        maps: &mut Vec<KeyMap<K, V>>,
        n: usize,
    ) -> Result<(), Rn::Error> {
        if maps.len() == n {
            return Ok(());
        }
        let buckets = std::mem::take(maps)
            .into_iter()
            .map(|map| {
                let mut grouper = Grouper::new(n, map.0.len());
                map.0.into_iter().for_each(|pair| grouper.push(pair));
                grouper.into_buckets(n)
            })
            .collect();
        *maps = runner
            .exchange(stage, buckets, n)?
            .into_iter()
            .map(|buckets| KeyMap::from(buckets.into_iter().flatten().collect::<Vec<_>>()))
            .collect();
        Ok(())
    }
}

impl<K: Serialize, V: Serialize> Serialize for KeyMap<K, V> {
    fn serialize<Se: Serializer>(&self, s: Se) -> Result<Se::Ok, Se::Error> {
        s.collect_seq(self.0.iter())
    }
}

/// A table of (key, value) pairs looked up by key: the element a user's filter
/// sees is the stored pair itself, with nothing to clone.
#[derive(Deserialize)]
#[serde(
    from = "Vec<(K, V)>",
    bound(deserialize = "K: Deserialize<'de> + Hash + Eq, V: Deserialize<'de>")
)]
pub(crate) struct PairTable<K, V>(pub(crate) HashTable<(K, V)>);

impl<K: Hash + Eq, V> From<Vec<(K, V)>> for PairTable<K, V> {
    fn from(pairs: Vec<(K, V)>) -> Self {
        let mut table = HashTable::with_capacity(pairs.len());
        for pair in pairs {
            // A duplicated key in a written table: the later pair wins.
            match table.entry(key_hash(&pair.0), |p: &(K, V)| p.0 == pair.0, |p| key_hash(&p.0)) {
                Entry::Occupied(mut e) => *e.get_mut() = pair,
                Entry::Vacant(e) => {
                    e.insert(pair);
                }
            }
        }
        PairTable(table)
    }
}

impl<K, V> Default for PairTable<K, V> {
    fn default() -> Self {
        PairTable(HashTable::new())
    }
}

/// The hash of a pair's key in a [`PairTable`].
#[inline]
pub(crate) fn key_hash<K: Hash>(key: &K) -> u64 {
    table_state().hash_one(key)
}

impl<K: Hash + Eq, V> PairTable<K, V> {
    /// See [`shrink_map`].
    pub(crate) fn shrink(&mut self) {
        let t = &mut self.0;
        if t.capacity() > 64 && t.len() * 4 < t.capacity() {
            t.shrink_to(t.len() * 2, |p| key_hash(&p.0));
        }
    }
}

impl<K: Serialize, V: Serialize> Serialize for PairTable<K, V> {
    fn serialize<Se: Serializer>(&self, s: Se) -> Result<Se::Ok, Se::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<K: std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for KeyMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl<K: std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for PairTable<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shuffle::partitioner::partition_of;

    #[test]
    fn repartition_puts_every_key_in_its_partition() {
        let mut one = KeyMap::default();
        for k in 0..100u32 {
            one.0.insert(k, k * 2);
        }
        let mut maps = vec![one];
        let runner = crate::runner::LocalRunner::new();
        crate::runner::infallible(KeyMap::ensure_partitions(&runner, 0, &mut maps, 3));
        assert_eq!(maps.len(), 3);
        for (i, m) in maps.iter().enumerate() {
            for (k, v) in &m.0 {
                assert_eq!(partition_of(k, 3), i);
                assert_eq!(*v, k * 2);
            }
        }
        assert_eq!(maps.iter().map(|m| m.0.len()).sum::<usize>(), 100);
    }

    #[test]
    fn sparse_tables_shrink() {
        let mut map: FixedHashMap<u32, u32> = new_map(0);
        map.extend((0..10_000).map(|k| (k, k)));
        map.retain(|k, _| *k < 10);
        shrink_map(&mut map);
        assert!(map.capacity() < 100, "{}", map.capacity());
        let mut t = PairTable::default();
        for k in 0..10_000u32 {
            t.0.insert_unique(key_hash(&k), (k, ()), |p| key_hash(&p.0));
        }
        t.0.retain(|p| p.0 < 10);
        t.shrink();
        assert!(t.0.capacity() < 100);
    }
}
