//! The deterministic partitioner and the hash maps of the runtime.
//!
//! Partitioning and hash tables use different seeds of the same fast hasher:
//! with the same seed, every key of a reduce partition would share its low hash
//! bits and collide in that partition's table. The reduce side's merge tables
//! have a seed of their own too: they are filled from map-side tables in those
//! tables' order, which with one seed is the order of the merge table's own
//! home slots, and fills it in runs that probe far.

use std::hash::{BuildHasher, Hash};

/// The hasher of the runtime's hash tables (fixed seed: iteration order, and so
/// output order, is the same run after run).
pub type FixedState = foldhash::fast::FixedState;

/// The seed of the runtime's hash tables.
const TABLE_SEED: u64 = 0x5f3c_8e2a_91d4_b706;

/// The seed of the partitioner. It must differ from [`TABLE_SEED`]: the keys that
/// land in one reduce partition all share the hash bits the partitioner looked
/// at (the high bits, below), which are the bits hashbrown keeps as its 7-bit
/// control tags. With one seed, a reduce partition's table would see its keys
/// clustered on a few tags: many false tag matches and longer probes.
const PARTITION_SEED: u64 = 0xa24b_aed4_963e_e407;

/// The seed of the reduce side's merge tables (see the module's doc). It must
/// differ from [`TABLE_SEED`] and [`PARTITION_SEED`].
const MERGE_SEED: u64 = 0x3b9c_46d1_e07f_52a9;

/// The build-hasher of every hash table the runtime creates, except the
/// reduce side's merge tables.
#[inline]
pub const fn table_state() -> FixedState {
    FixedState::with_seed(TABLE_SEED)
}

/// The build-hasher of the reduce side's merge tables, which are filled in
/// the order of tables built with [`table_state`].
#[inline]
pub(crate) const fn merge_state() -> FixedState {
    FixedState::with_seed(MERGE_SEED)
}

const PARTITION_STATE: FixedState = FixedState::with_seed(PARTITION_SEED);

/// The partition of `key` among `n` partitions (`n` of 0 is treated as 1).
///
/// Deterministic: the same key gets the same partition in every run and every
/// process of the same build, which keyed state and checkpoints rely on.
/// (foldhash may change its output between its own versions; the lock file pins it.)
#[inline]
pub fn partition_of<K: Hash + ?Sized>(key: &K, n: usize) -> usize {
    let hash = PARTITION_STATE.hash_one(key);
    // Multiply-shift maps the hash onto 0..n using its high bits: no division,
    // and no bias from the low bits.
    ((u128::from(hash) * n.max(1) as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_same_partition_every_time() {
        for word in ["a", "spark", "streamflow", ""] {
            let first = partition_of(word, 8);
            assert_eq!(partition_of(word, 8), first);
            assert_eq!(partition_of(&word.to_owned(), 8), first);
        }
        // The same keys in two separately built maps bucketize identically.
        let a: Vec<usize> = (0..100u64).map(|k| partition_of(&k, 7)).collect();
        let b: Vec<usize> = (0..100u64).map(|k| partition_of(&k, 7)).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn keys_spread_over_all_partitions() {
        let mut counts = [0usize; 8];
        for k in 0..8000u64 {
            counts[partition_of(&k, 8)] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "uneven spread: {counts:?}");
        }
        assert_eq!(partition_of(&42u64, 1), 0);
        assert_eq!(partition_of(&42u64, 0), 0);
    }

    #[test]
    fn partition_and_table_hashes_are_independent() {
        let key = "independent";
        let hashes = [
            PARTITION_STATE.hash_one(key),
            table_state().hash_one(key),
            merge_state().hash_one(key),
        ];
        assert_ne!(hashes[0], hashes[1]);
        assert_ne!(hashes[0], hashes[2]);
        assert_ne!(hashes[1], hashes[2]);
    }
}
