//! Key-partitioned tables shared by the window and state objects: the number
//! of partitions, fixed at the first batch, the hash tables themselves, and how
//! they are written (as plain sequences of pairs, so that a restored table gets
//! the runtime's fixed hasher back instead of a default one).

use crate::shuffle::partitioner::{FixedHashMap, new_map, partition_of, table_state};
use hashbrown::HashTable;
use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};
use std::hash::{BuildHasher, Hash};

/// The number of key partitions of a state object: the call's or the job's,
/// chosen at the first batch and kept after (a key's partition must not move
/// while it has state).
pub(crate) fn fix_partitions(
    fixed: &mut Option<usize>,
    ctx: &crate::BatchContext<'_>,
    requested: Option<usize>,
) -> usize {
    *fixed.get_or_insert_with(|| ctx.partitions(requested))
}

/// Gives back most of a table's memory once it is far emptier than its
/// capacity (after many keys were removed), keeping room to grow again.
pub(crate) fn shrink_map<K: Hash + Eq, V>(map: &mut FixedHashMap<K, V>) {
    if map.capacity() > 64 && map.len() * 4 < map.capacity() {
        map.shrink_to(map.len() * 2);
    }
}

/// A hash map from keys to values, one per key partition.
pub(crate) struct KeyMap<K, V>(pub(crate) FixedHashMap<K, V>);

impl<K, V> Default for KeyMap<K, V> {
    fn default() -> Self {
        KeyMap(new_map(0))
    }
}

impl<K: Hash + Eq, V> KeyMap<K, V> {
    /// Moves every entry of `maps` into `n` maps by [`partition_of`] its key.
    pub(crate) fn repartition(maps: Vec<KeyMap<K, V>>, n: usize) -> Vec<KeyMap<K, V>> {
        let n = n.max(1);
        let mut out: Vec<KeyMap<K, V>> = (0..n).map(|_| KeyMap::default()).collect();
        for map in maps {
            for (k, v) in map.0 {
                out[partition_of(&k, n)].0.insert(k, v);
            }
        }
        out
    }

    /// Makes sure there are exactly `n` maps with every key in its partition
    /// (an initial state is loaded before the partition count is known).
    pub(crate) fn ensure_partitions(maps: &mut Vec<KeyMap<K, V>>, n: usize) {
        if maps.len() != n {
            *maps = Self::repartition(std::mem::take(maps), n);
        }
    }
}

impl<K: Serialize, V: Serialize> Serialize for KeyMap<K, V> {
    fn serialize<Se: Serializer>(&self, s: Se) -> Result<Se::Ok, Se::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<'de, K, V> Deserialize<'de> for KeyMap<K, V>
where
    K: Deserialize<'de> + Hash + Eq,
    V: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs = Vec::<(K, V)>::deserialize(d)?;
        let mut map = new_map(pairs.len());
        map.extend(pairs);
        Ok(KeyMap(map))
    }
}

/// A table of (key, value) pairs looked up by key: the element a user's filter
/// sees is the stored pair itself, with nothing to clone.
pub(crate) struct PairTable<K, V>(pub(crate) HashTable<(K, V)>);

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

impl<'de, K, V> Deserialize<'de> for PairTable<K, V>
where
    K: Deserialize<'de> + Hash + Eq,
    V: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs = Vec::<(K, V)>::deserialize(d)?;
        let mut table = PairTable(HashTable::with_capacity(pairs.len()));
        for pair in pairs {
            // A duplicated key in a written table: the later pair wins.
            match table.0.entry(key_hash(&pair.0), |p| p.0 == pair.0, |p| key_hash(&p.0)) {
                hashbrown::hash_table::Entry::Occupied(mut e) => *e.get_mut() = pair,
                hashbrown::hash_table::Entry::Vacant(e) => {
                    e.insert(pair);
                }
            }
        }
        Ok(table)
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

    #[test]
    fn repartition_puts_every_key_in_its_partition() {
        let mut one = KeyMap::default();
        for k in 0..100u32 {
            one.0.insert(k, k * 2);
        }
        let mut maps = vec![one];
        KeyMap::ensure_partitions(&mut maps, 3);
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
