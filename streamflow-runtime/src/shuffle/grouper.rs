//! The map side of the grouping shuffles (`group_by_key`,
//! `group_by_key_and_window`, `update_state_by_key`, `map_with_state`, the
//! joins and `cogroup`): a per-key table of a map task's values.
//!
//! Each key is stored once, in its first-arrival order, with its values in
//! arrival order; a borrowed key is looked up as it is and made owned only
//! when the task has not seen it. The buckets are `(key, values)` groups, so
//! the exchange carries a key once per map task (or chunk) and partition
//! rather than once per pair, and the reduce side concatenates each key's
//! lists in map-task order (see `merge::group_in_order`), which gives what a
//! list of every pair would: keys in first-arrival order across the map tasks
//! in order, values in arrival order.

use super::collectors::{Collector, KeyedCollector};
use super::partitioner::{partition_of, table_state};
use hashbrown::HashTable;
use smallvec::SmallVec;
use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

/// One key's values in a map task, in arrival order: a single value (what
/// most keys of a task have when keys outnumber records) is held inline, not
/// in a heap allocation of its own.
pub type Values<V> = SmallVec<[V; 1]>;

/// Map side of `group_by_key`, the keyed windows and state, the joins and
/// `cogroup`: every value of a map task grouped by key, keys in order of
/// first arrival, values in arrival order.
///
/// A task whose first [`SAMPLE`] pairs are nearly all of distinct keys (keyed
/// state at a record or less per key) stops grouping: a probe per pair would
/// buy nothing, and it lists the rest of its pairs as groups of one, in
/// arrival order, each put in its partition's bucket as it arrives. Its
/// buckets may then hold a key more than once, which the reduce side merges
/// (`merge::group_in_order` groups every bucket).
///
/// Its table starts with room for the sample only, and gets the room it was
/// made with when it keeps grouping: a task that lists does not allocate a
/// table for every pair it was sized for (with that table, a second pass to
/// bucket the listed pairs and buckets grown by doubling, `map_with_state`'s
/// map side at half a record per key took 2.7× as long as a plain list).
pub struct Grouper<K, V> {
    /// Positions in `groups`, found by their key's hash.
    index: HashTable<usize>,
    /// The groups in first-arrival order, while it groups.
    groups: Vec<(K, Values<V>)>,
    /// Once it lists: one bucket per partition, the sample's groups first
    /// (in first-arrival order), then each later pair as a group of one.
    /// Empty while it groups.
    listed: Vec<Vec<(K, Values<V>)>>,
    /// Pairs pushed while grouping, up to [`SAMPLE`].
    sampled: usize,
    /// The partitions its buckets are for.
    partitions: usize,
    /// The keys it was made with room for.
    keys: usize,
    /// The pairs it expects.
    pairs: usize,
}

/// How many pairs a grouper groups before it judges whether grouping pays.
const SAMPLE: usize = 1024;

/// Groups per [`SAMPLE`] pairs above which a grouper lists its pairs: 7 in 8
/// keys new.
const LISTING_ABOVE: usize = SAMPLE / 8 * 7;

impl<K: Hash + Eq, V> Grouper<K, V> {
    /// Adds one (key, value) pair.
    #[inline]
    pub fn push(&mut self, pair: (K, V)) {
        let (key, value) = pair;
        if self.listing() {
            let r = self.partition(&key);
            return self.listed[r].push((key, smallvec::smallvec![value]));
        }
        let hash = table_state().hash_one(&key);
        match self.find(hash, &key) {
            Some(values) => values.push(value),
            None => self.start(hash, key, value),
        }
        self.judge();
    }

    /// After [`SAMPLE`] pairs, lists the rest if nearly every key was new,
    /// and otherwise makes the room it was asked for.
    #[inline(always)]
    fn judge(&mut self) {
        if self.sampled < SAMPLE {
            self.sampled += 1;
            if self.sampled == SAMPLE {
                self.judged();
            }
        }
    }

    /// What [`judge`](Self::judge) does once the sample is in.
    #[cold]
    fn judged(&mut self) {
        if self.groups.len() <= LISTING_ABOVE {
            let more = self.keys.saturating_sub(self.groups.len());
            let groups = &self.groups;
            self.index.reserve(more, |&j| table_state().hash_one(&groups[j].0));
            self.groups.reserve(more);
            return;
        }
        let n = self.partitions;
        // The pairs still to come, spread over the buckets, with an eighth
        // more for the spread of the hash.
        let per_bucket = self.pairs.saturating_sub(SAMPLE) / n;
        let per_bucket = per_bucket + per_bucket / 8 + 16;
        let mut listed: Vec<Vec<_>> = (0..n).map(|_| Vec::with_capacity(per_bucket)).collect();
        for group in std::mem::take(&mut self.groups) {
            listed[self.partition(&group.0)].push(group);
        }
        self.listed = listed;
        self.index = HashTable::new();
    }

    /// The values of the key `key` (whose hash is `hash`), if it has a group.
    #[inline(always)]
    fn find<Q>(&mut self, hash: u64, key: &Q) -> Option<&mut Values<V>>
    where
        Q: Eq + ?Sized,
        K: Borrow<Q>,
    {
        let groups = &mut self.groups;
        let i = *self.index.find(hash, |&i| groups[i].0.borrow() == key)?;
        Some(&mut groups[i].1)
    }

    /// Starts the group of a key this grouper has not seen, last.
    #[inline]
    fn start(&mut self, hash: u64, key: K, value: V) {
        let i = self.groups.len();
        self.groups.push((key, smallvec::smallvec![value]));
        let groups = &self.groups;
        self.index
            .insert_unique(hash, i, |&j| table_state().hash_one(&groups[j].0));
    }
}

impl<K: Hash + Eq, V> KeyedCollector<K, V> for Grouper<K, V> {
    #[inline(always)]
    fn push_pair(&mut self, key: K, value: V) {
        self.push((key, value));
    }

    /// Found by reference; the key is made owned only when this task has not
    /// seen it before (for each pair once the grouper lists them: its keys
    /// were nearly all new).
    #[inline(always)]
    fn push_borrowed_pair<Q>(&mut self, key: &Q, value: V)
    where
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
        K: Borrow<Q>,
    {
        if self.listing() {
            let r = self.partition(key);
            return self.listed[r].push((key.to_owned(), smallvec::smallvec![value]));
        }
        let hash = table_state().hash_one(key);
        match self.find(hash, key) {
            Some(values) => values.push(value),
            None => self.start(hash, key.to_owned(), value),
        }
        self.judge();
    }
}

impl<K, V> Grouper<K, V> {
    /// A grouper whose buckets are for `partitions` partitions, with room for
    /// `keys` keys (once its sample shows that it groups), expecting `pairs`
    /// pairs.
    pub(crate) fn new(partitions: usize, keys: usize, pairs: usize) -> Self {
        let sample = keys.min(SAMPLE);
        Grouper {
            index: HashTable::with_capacity(sample),
            groups: Vec::with_capacity(sample),
            listed: Vec::new(),
            sampled: 0,
            partitions: partitions.max(1),
            keys,
            pairs,
        }
    }

    /// Whether it lists pairs instead of grouping them.
    #[inline(always)]
    fn listing(&self) -> bool {
        !self.listed.is_empty()
    }

    /// The partition of `key` among those its buckets are for.
    #[inline(always)]
    fn partition<Q: Hash + ?Sized>(&self, key: &Q) -> usize {
        if self.partitions == 1 {
            0
        } else {
            partition_of(key, self.partitions)
        }
    }

    /// The groups so far, in first-arrival order (while it groups).
    #[cfg(test)]
    pub(crate) fn groups(&self) -> &[(K, Values<V>)] {
        &self.groups
    }
}

impl<K: Hash, V> Collector for Grouper<K, V> {
    type Bucket = (K, Values<V>);

    fn keys(&self) -> usize {
        self.groups.len() + self.listed.iter().map(Vec::len).sum::<usize>()
    }

    /// The groups in `n` buckets by [`partition_of`] their key, each bucket
    /// in first-arrival order (after listing started, in arrival order).
    fn into_buckets(self, n: usize) -> Vec<Vec<(K, Values<V>)>> {
        let n = n.max(1);
        if self.listing() {
            if n == self.partitions {
                return self.listed;
            }
            // Not reached: a grouper is made for the partitions it is emptied
            // into. Still right: each key's groups stay in arrival order.
            let mut buckets: Vec<Vec<_>> = (0..n).map(|_| Vec::new()).collect();
            for group in self.listed.into_iter().flatten() {
                buckets[partition_of(&group.0, n)].push(group);
            }
            return buckets;
        }
        if n == 1 {
            return vec![self.groups];
        }
        // Hash each key once: remember its partition, count, then move.
        let targets: Vec<u32> = self.groups.iter().map(|(k, _)| partition_of(k, n) as u32).collect();
        let mut counts = vec![0usize; n];
        for &t in &targets {
            counts[t as usize] += 1;
        }
        let mut buckets: Vec<Vec<_>> = counts.into_iter().map(Vec::with_capacity).collect();
        for (group, target) in self.groups.into_iter().zip(targets) {
            buckets[target as usize].push(group);
        }
        buckets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shuffle::merge::group_in_order;
    use std::cell::Cell;

    #[test]
    fn groups_keep_first_arrival_and_arrival_order_in_each_bucket() {
        let mut g = Grouper::new(3, 6, 7);
        for (i, k) in ["b", "a", "c", "b", "d", "a", "b"].into_iter().enumerate() {
            g.push((k, i));
        }
        assert_eq!(g.keys(), 4);
        let buckets = g.into_buckets(3);
        assert_eq!(buckets.len(), 3);
        let mut all: Vec<_> = Vec::new();
        for (r, bucket) in buckets.iter().enumerate() {
            for (k, _) in bucket {
                assert_eq!(partition_of(k, 3), r);
            }
            // Within a bucket, first-arrival order.
            let firsts: Vec<usize> = bucket.iter().map(|(_, vs)| vs[0]).collect();
            assert!(firsts.is_sorted(), "{firsts:?}");
            all.extend(bucket.iter().map(|(k, vs)| (*k, vs.to_vec())));
        }
        all.sort();
        assert_eq!(
            all,
            vec![("a", vec![1, 5]), ("b", vec![0, 3, 6]), ("c", vec![2]), ("d", vec![4])]
        );
    }

    /// A borrowed key whose owned form counts how many times it was made
    /// (not `Clone`, so that its `ToOwned` is this one).
    #[derive(PartialEq, Eq, Hash, Debug)]
    struct Word(&'static str);

    /// The owned form of a [`Word`].
    #[derive(PartialEq, Eq, Hash, Debug)]
    struct OwnedWord(Word);

    thread_local! {
        static MADE_OWNED: Cell<usize> = const { Cell::new(0) };
    }

    impl Borrow<Word> for OwnedWord {
        fn borrow(&self) -> &Word {
            &self.0
        }
    }

    impl ToOwned for Word {
        type Owned = OwnedWord;
        fn to_owned(&self) -> OwnedWord {
            MADE_OWNED.with(|n| n.set(n.get() + 1));
            OwnedWord(Word(self.0))
        }
    }

    #[test]
    fn a_borrowed_key_is_made_owned_once_per_distinct_key() {
        MADE_OWNED.with(|n| n.set(0));
        let words: Vec<Word> = "to be or not to be to".split(' ').map(Word).collect();
        let mut g: Grouper<OwnedWord, usize> = Grouper::new(1, 0, 0);
        for (i, w) in words.iter().enumerate() {
            g.push_borrowed_pair(w, i);
        }
        assert_eq!(
            MADE_OWNED.with(Cell::get),
            4,
            "one owned key per distinct word, not per word"
        );
        let groups: Vec<(&str, &[usize])> = g.groups().iter().map(|(k, v)| (k.0.0, &v[..])).collect();
        assert_eq!(
            groups,
            vec![
                ("to", &[0, 4, 6][..]),
                ("be", &[1, 5][..]),
                ("or", &[2][..]),
                ("not", &[3][..])
            ]
        );
    }

    /// The reduce side's groups equal those of every pair listed in map-task
    /// order, whatever the chunking: checked against a plain fold over the
    /// pairs, for several map tasks and partition counts.
    #[test]
    fn grouped_buckets_merge_to_the_groups_of_every_pair_in_order() {
        let pairs: Vec<(u32, u32)> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) % 97, i)).collect();
        merges_to_every_pair_grouped(&pairs);
    }

    /// A task whose first pairs are nearly all new keys lists the rest, some
    /// of them keys it has seen: merged, they are the same groups.
    #[test]
    fn listed_pairs_merge_to_the_groups_of_every_pair_in_order() {
        // 3000 new keys, then every third pair a key seen before.
        let pairs: Vec<(u32, u32)> = (0..6000u32)
            .map(|i| (if i >= 3000 && i % 3 == 0 { i % 700 } else { i }, i))
            .collect();
        let mut g = Grouper::new(1, 0, 0);
        pairs.iter().for_each(|&p| g.push(p));
        assert!(g.listing(), "nearly every key of the first {SAMPLE} was new");
        assert_eq!(
            g.keys(),
            SAMPLE + (pairs.len() - SAMPLE),
            "one group per pair after the sample"
        );
        // Keys repeated within the sample keep it grouping.
        let mut grouping = Grouper::new(1, 0, 0);
        (0..6000u32).for_each(|i| grouping.push((i % 800, i)));
        assert!(!grouping.listing());
        assert_eq!(grouping.keys(), 800);
        merges_to_every_pair_grouped(&pairs);
    }

    /// The table gets the room the grouper was made with only once its
    /// sample shows that it groups; a grouper that lists gets buckets with
    /// room for the pairs still to come, and no table.
    #[test]
    fn room_is_made_for_what_the_sample_shows() {
        let mut grouping = Grouper::<u32, u32>::new(4, 10_000, 10_000);
        (0..SAMPLE as u32 - 1).for_each(|i| grouping.push((i % 100, i)));
        assert!(grouping.groups.capacity() < 10_000, "room for the sample only");
        grouping.push((7, 7));
        assert!(!grouping.listing());
        assert!(grouping.groups.capacity() >= 10_000);
        assert!(grouping.index.capacity() >= 10_000);

        let mut listing = Grouper::<u32, u32>::new(4, 10_000, 40_000);
        (0..SAMPLE as u32).for_each(|i| listing.push((i, i)));
        assert!(listing.listing());
        assert_eq!(listing.index.capacity(), 0);
        let per_bucket = (40_000 - SAMPLE) / 4;
        for bucket in &listing.listed {
            assert!(bucket.capacity() >= per_bucket, "{} < {per_bucket}", bucket.capacity());
        }
    }

    /// A listing grouper emptied into another number of partitions than it
    /// was made for still gives each key its values in arrival order.
    #[test]
    fn a_listing_grouper_emptied_into_other_partitions_keeps_each_keys_order() {
        let pairs: Vec<(u32, u32)> = (0..5000u32)
            .map(|i| (if i % 16 == 0 { i % 300 } else { i }, i))
            .collect();
        let mut g = Grouper::new(3, pairs.len(), pairs.len());
        pairs.iter().for_each(|&p| g.push(p));
        assert!(g.listing());
        let buckets = g.into_buckets(2);
        assert_eq!(buckets.len(), 2);
        for (r, bucket) in buckets.iter().enumerate() {
            assert!(bucket.iter().all(|(k, _)| partition_of(k, 2) == r), "bucket {r}");
        }
        let mut got: Vec<(u32, Vec<u32>)> = group_in_order(buckets)
            .into_iter()
            .map(|(k, vs)| (k, vs.into_vec()))
            .collect();
        got.sort();
        let mut expected: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
        for &(k, v) in &pairs {
            expected.entry(k).or_default().push(v);
        }
        assert_eq!(got, expected.into_iter().collect::<Vec<_>>());
    }

    /// Checks that `pairs`, cut into 1, 3 and 8 map tasks and grouped into 1,
    /// 2 and 5 partitions, merge to the grouping of every pair in order.
    fn merges_to_every_pair_grouped(pairs: &[(u32, u32)]) {
        for n in [1usize, 2, 5] {
            for tasks in [1usize, 3, 8] {
                let per_task = pairs.len().div_ceil(tasks);
                // Per reduce partition, every task's bucket for it, in order.
                type Buckets = Vec<Vec<(u32, Values<u32>)>>;
                let mut per_reduce: Vec<Buckets> = (0..n).map(|_| Vec::new()).collect();
                for chunk in pairs.chunks(per_task) {
                    let mut g = Grouper::new(n, chunk.len(), chunk.len());
                    chunk.iter().for_each(|&p| g.push(p));
                    for (r, bucket) in g.into_buckets(n).into_iter().enumerate() {
                        per_reduce[r].push(bucket);
                    }
                }
                for (r, buckets) in per_reduce.into_iter().enumerate() {
                    let mut expected: Vec<(u32, Values<u32>)> = Vec::new();
                    for &(k, v) in pairs.iter().filter(|(k, _)| partition_of(k, n) == r) {
                        match expected.iter_mut().find(|(e, _)| *e == k) {
                            Some((_, vs)) => vs.push(v),
                            None => expected.push((k, smallvec::smallvec![v])),
                        }
                    }
                    assert_eq!(group_in_order(buckets), expected, "n {n}, tasks {tasks}, partition {r}");
                }
            }
        }
    }
}
