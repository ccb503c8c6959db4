//! The map side of the grouping shuffles (`group_by_key`,
//! `group_by_key_and_window`, `update_state_by_key`, `map_with_state`, the
//! joins and `cogroup`): a per-key table of a map task's values.
//!
//! Each key is stored once, in its first-arrival order, with its values in
//! arrival order; a borrowed key is looked up as it is and made owned only
//! when the task has not seen it. A bucket is a list of [`Run`]s: while a task
//! groups, one run of `(key, values)` groups, so the exchange carries a key
//! once per map task (or chunk) and partition rather than once per pair; a
//! task whose keys are nearly all distinct lists its pairs instead, in a run
//! of plain pairs (after its sample's groups, if it grouped a sample; see
//! [`Grouper`]). The reduce side
//! concatenates each key's values in map-task order (see
//! `merge::group_runs_in_order`), which gives what a list of every pair would:
//! keys in first-arrival order across the map tasks in order, values in
//! arrival order.

use super::collectors::{Collector, KeyedCollector};
use super::partitioner::{partition_of, table_state};
use hashbrown::HashTable;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

/// One key's values in a map task, in arrival order: a single value (what
/// most keys of a task have when keys outnumber records) is held inline, not
/// in a heap allocation of its own.
pub type Values<V> = SmallVec<[V; 1]>;

/// A stretch of a grouper's bucket: a map task's pairs for one partition,
/// grouped or listed. A bucket holds its run of groups first, then its run
/// of the pairs it listed after them, so reading its runs in order reads
/// each key's values in arrival order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Run<K, V> {
    /// Keys in first-arrival order, each with its values in arrival order.
    Groups(Vec<(K, Values<V>)>),
    /// Pairs in arrival order, a key possibly more than once: a task whose
    /// keys were nearly all new lists them, 16 bytes a `(u64, u64)` pair
    /// where a group of one is 32.
    Pairs(Vec<(K, V)>),
}

impl<K, V> Run<K, V> {
    /// How many entries (groups or pairs) it holds.
    pub fn len(&self) -> usize {
        match self {
            Run::Groups(groups) => groups.len(),
            Run::Pairs(pairs) => pairs.len(),
        }
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry as a group (a pair as a group of one), in order.
    pub fn into_groups(self) -> Vec<(K, Values<V>)> {
        match self {
            Run::Groups(groups) => groups,
            Run::Pairs(pairs) => pairs.into_iter().map(|(k, v)| (k, smallvec::smallvec![v])).collect(),
        }
    }
}

/// Map side of `group_by_key`, the keyed windows and state, the joins and
/// `cogroup`: every value of a map task grouped by key, keys in order of
/// first arrival, values in arrival order.
///
/// Grouping pays when a task's keys repeat; at a record or less per key
/// (keyed state over many keys) a probe per pair buys nothing, and the task
/// had better list its pairs as they are ([`Run::Pairs`]), in arrival order,
/// each put in its partition's list as it arrives. So a grouper judges on a
/// sample of about [`SAMPLE`] pairs:
///
/// - Owned keys are listed from the start, in lists with room for the
///   sample only; when the first list is full, the grouper counts the
///   sample's keys (an estimate from a bitmap of their hashes) and either
///   keeps listing, with room for every pair expected, or groups the sample
///   and every later pair. A push is then a hash and a store, small enough to
///   be inlined into the map side's loop: with a table probe behind a branch
///   in the same function, the loop called it once per pair, and the map
///   side of `map_with_state` at half a record per key took twice as long.
/// - Borrowed keys are grouped from the start: grouping makes a key owned
///   once per distinct key instead of once per pair. After [`SAMPLE`] pairs,
///   a task whose keys were nearly all new lists the rest after the
///   sample's groups ([`Run::Groups`], then [`Run::Pairs`]).
///
/// Listed buckets may hold a key more than once, which the reduce side
/// merges (`merge::group_runs_in_order`).
pub struct Grouper<K, V> {
    /// Positions in `groups`, found by their key's hash.
    index: HashTable<usize>,
    /// The groups in first-arrival order within each partition (once a
    /// grouper of borrowed keys lists, its sample's).
    groups: Vec<(K, Values<V>)>,
    /// One list per partition of the pairs it lists, in arrival order. While
    /// it groups, a single list with no room, so that every owned
    /// [`push`](Self::push) reaches [`full`](Self::full).
    listed: Vec<Vec<(K, V)>>,
    /// What it does with the next pair.
    mode: Mode,
    /// Pairs grouped while sampling borrowed keys, up to [`SAMPLE`].
    sampled: usize,
    /// The partitions its buckets are for.
    partitions: usize,
    /// The keys it was made with room for.
    keys: usize,
    /// The pairs it expects.
    pairs: usize,
}

/// What a grouper does with the next pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Lists pairs until a list is full, then judges.
    Sampling,
    /// Groups pairs, and judges after [`SAMPLE`] (borrowed keys).
    GroupingSample,
    /// Groups every pair.
    Grouping,
    /// Lists every pair.
    Listing,
}

/// About how many pairs a grouper sees before it judges whether grouping
/// pays.
const SAMPLE: usize = 1024;

/// The fewest pairs a grouper judges on: lists with little room (many
/// partitions, or few pairs expected) fill before the sample is in.
const FEWEST_JUDGED: usize = SAMPLE / 2;

/// The most pairs a grouper judges on: [`distinct_keys`] counts within a
/// few percent up to this many.
const MOST_JUDGED: usize = 4 * SAMPLE;

/// A grouper lists its pairs when more than 7 in 8 of its sample's keys are
/// distinct.
fn lists(distinct: f64, pairs: usize) -> bool {
    distinct * 8.0 > pairs as f64 * 7.0
}

/// Bits of the bitmap [`distinct_keys`] counts in: 8 per pair of a sample,
/// for an estimate within a few keys of the true count (2 per pair at
/// [`MOST_JUDGED`], within a few percent).
const COUNTING_BITS: usize = 8 * SAMPLE;

/// An estimate of the distinct keys among `keys` (linear counting: each key
/// sets one bit of a bitmap, picked by its hash; `n` keys leave a fraction
/// of about `e^(-n / bits)` of the bits clear).
fn distinct_keys<'k, K: Hash + 'k>(keys: impl Iterator<Item = &'k K>) -> f64 {
    let mut bits = [0u64; COUNTING_BITS / 64];
    for key in keys {
        let bit = table_state().hash_one(key) as usize % COUNTING_BITS;
        bits[bit / 64] |= 1 << (bit % 64);
    }
    let set: u32 = bits.iter().map(|w| w.count_ones()).sum();
    let clear = (COUNTING_BITS as f64 - f64::from(set)).max(1.0);
    COUNTING_BITS as f64 * (COUNTING_BITS as f64 / clear).ln()
}

impl<K: Hash + Eq, V> Grouper<K, V> {
    /// Adds one (key, value) pair.
    #[inline(always)]
    pub fn push(&mut self, pair: (K, V)) {
        // While it groups, the single list has no room: `full` groups.
        let r = self.list_of(&pair.0);
        let list = &mut self.listed[r];
        if list.len() < list.capacity() {
            list.push(pair);
        } else {
            self.full(r, pair);
        }
    }

    /// The list a key goes to: its partition's while it lists.
    #[inline(always)]
    fn list_of<Q: Hash + ?Sized>(&self, key: &Q) -> usize {
        match self.listed.len() {
            1 => 0,
            n => partition_of(key, n),
        }
    }

    /// A [`push`](Self::push) that found its list full, or the grouper
    /// grouping.
    #[inline(never)]
    fn full(&mut self, r: usize, pair: (K, V)) {
        match self.mode {
            Mode::Grouping | Mode::GroupingSample => self.group(pair),
            Mode::Listing => self.listed[r].push(pair),
            Mode::Sampling => {
                let listed: usize = self.listed.iter().map(Vec::len).sum();
                if listed < FEWEST_JUDGED {
                    return self.listed[r].push(pair);
                }
                // Lists of little room (many partitions) fill after many
                // more pairs than the sample: judged on the first of them.
                let judged = listed.min(MOST_JUDGED);
                let keys = self.listed.iter().flatten().map(|(k, _)| k).take(judged);
                if lists(distinct_keys(keys), judged) {
                    self.start_listing(0);
                    self.listed[r].push(pair);
                } else {
                    self.group_listed();
                    self.group(pair);
                }
            }
        }
    }

    /// Groups one pair: added to its key's group, or starting one.
    #[inline]
    fn group(&mut self, (key, value): (K, V)) {
        let hash = table_state().hash_one(&key);
        match self.find(hash, &key) {
            Some(values) => values.push(value),
            None => self.start(hash, key, value),
        }
        self.count_sampled();
    }

    /// Groups every pair listed so far and groups from now on.
    #[cold]
    fn group_listed(&mut self) {
        self.mode = Mode::Grouping;
        let listed = std::mem::replace(&mut self.listed, vec![Vec::new()]);
        let listed_pairs = listed.iter().map(Vec::len).sum::<usize>();
        self.reserve_groups(self.keys.max(listed_pairs));
        // Partition after partition: each keeps its first-arrival order,
        // which is all its bucket needs.
        listed.into_iter().flatten().for_each(|pair| self.group(pair));
    }

    /// Lists from now on, in one list per partition with room for the pairs
    /// still expected after `grouped` (the pairs of a sample grouped).
    #[cold]
    fn start_listing(&mut self, grouped: usize) {
        self.mode = Mode::Listing;
        let n = self.partitions;
        // The pairs expected per partition, with an eighth more for the
        // spread of the hash.
        let per_list = self.pairs.saturating_sub(grouped) / n;
        let per_list = per_list + per_list / 8 + 16;
        if self.listed.len() != n {
            self.listed = (0..n).map(|_| Vec::new()).collect();
        }
        for list in &mut self.listed {
            list.reserve(per_list.saturating_sub(list.len()));
        }
        self.index = HashTable::new();
    }

    /// Room for `keys` groups in all.
    fn reserve_groups(&mut self, keys: usize) {
        let more = keys.saturating_sub(self.groups.len());
        let groups = &self.groups;
        self.index.reserve(more, |&j| table_state().hash_one(&groups[j].0));
        self.groups.reserve(more);
    }

    /// While it groups a sample of borrowed keys: after [`SAMPLE`] pairs,
    /// lists the rest if nearly every key was new, and otherwise makes the
    /// room it was asked for.
    #[inline(always)]
    fn count_sampled(&mut self) {
        if self.mode == Mode::GroupingSample {
            self.sampled += 1;
            if self.sampled == SAMPLE {
                self.judge_sample();
            }
        }
    }

    /// What [`count_sampled`](Self::count_sampled) does once the sample is in.
    #[cold]
    fn judge_sample(&mut self) {
        if lists(self.groups.len() as f64, SAMPLE) {
            self.start_listing(SAMPLE);
        } else {
            self.mode = Mode::Grouping;
            self.reserve_groups(self.keys);
        }
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
        match self.mode {
            Mode::Listing => {
                let r = self.list_of(key);
                self.listed[r].push((key.to_owned(), value));
            }
            Mode::Sampling => self.sample_borrowed(key, value),
            Mode::Grouping | Mode::GroupingSample => {
                let hash = table_state().hash_one(key);
                match self.find(hash, key) {
                    Some(values) => values.push(value),
                    None => self.start(hash, key.to_owned(), value),
                }
                self.count_sampled();
            }
        }
    }
}

impl<K: Hash + Eq, V> Grouper<K, V> {
    /// A borrowed pair while it samples by listing: the first pair of a
    /// grouper starts a grouped sample instead; after owned pairs (not
    /// reached by the generated code, whose map side pushes one way), it is
    /// listed owned.
    #[cold]
    fn sample_borrowed<Q>(&mut self, key: &Q, value: V)
    where
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
        K: Borrow<Q>,
    {
        if self.listed.iter().all(Vec::is_empty) {
            self.mode = Mode::GroupingSample;
            self.listed = vec![Vec::new()];
            self.push_borrowed_pair(key, value);
        } else {
            self.push((key.to_owned(), value));
        }
    }
}

impl<K, V> Grouper<K, V> {
    /// A grouper whose buckets are for `partitions` partitions, with room for
    /// `keys` keys (once its sample shows that it groups), expecting `pairs`
    /// pairs.
    pub(crate) fn new(partitions: usize, keys: usize, pairs: usize) -> Self {
        let n = partitions.max(1);
        // Room for the sample, or for the pairs expected if fewer.
        let expected = pairs / n + pairs / n / 8 + 16;
        let per_list = SAMPLE.div_ceil(n).max(16).min(expected);
        Grouper {
            index: HashTable::new(),
            groups: Vec::new(),
            listed: (0..n).map(|_| Vec::with_capacity(per_list)).collect(),
            mode: Mode::Sampling,
            sampled: 0,
            partitions: n,
            keys,
            pairs,
        }
    }

    /// Whether it lists pairs instead of grouping them.
    #[cfg(test)]
    fn listing(&self) -> bool {
        self.mode == Mode::Listing
    }

    /// The groups so far, in first-arrival order (while it groups).
    #[cfg(test)]
    pub(crate) fn groups(&self) -> &[(K, Values<V>)] {
        &self.groups
    }
}

impl<K: Hash, V> Collector for Grouper<K, V> {
    type Bucket = Run<K, V>;

    fn keys(&self) -> usize {
        self.groups.len() + self.listed.iter().map(Vec::len).sum::<usize>()
    }

    /// Its pairs in `n` buckets by [`partition_of`] their key: in each, the
    /// groups in first-arrival order, then the pairs it listed, in arrival
    /// order. An empty bucket holds no run.
    fn into_buckets(self, n: usize) -> Vec<Vec<Run<K, V>>> {
        let n = n.max(1);
        let groups = group_buckets(self.groups, n);
        let listed = match self.listed {
            listed if listed.iter().all(Vec::is_empty) => {
                return groups.into_iter().map(|g| runs(g, Vec::new())).collect();
            }
            listed if listed.len() == n => listed,
            // Not reached: a grouper is made for the partitions it is emptied
            // into. Still right: each key's pairs stay in arrival order.
            listed => {
                let mut lists: Vec<Vec<_>> = (0..n).map(|_| Vec::new()).collect();
                for pair in listed.into_iter().flatten() {
                    lists[partition_of(&pair.0, n)].push(pair);
                }
                lists
            }
        };
        groups.into_iter().zip(listed).map(|(g, p)| runs(g, p)).collect()
    }
}

/// `groups` in `n` buckets by [`partition_of`] their key, each in the order
/// of `groups`.
fn group_buckets<K: Hash, V>(groups: Vec<(K, Values<V>)>, n: usize) -> Vec<Vec<(K, Values<V>)>> {
    if n == 1 {
        return vec![groups];
    }
    // Hash each key once: remember its partition, count, then move.
    let targets: Vec<u32> = groups.iter().map(|(k, _)| partition_of(k, n) as u32).collect();
    let mut counts = vec![0usize; n];
    for &t in &targets {
        counts[t as usize] += 1;
    }
    let mut buckets: Vec<Vec<_>> = counts.into_iter().map(Vec::with_capacity).collect();
    for (group, target) in groups.into_iter().zip(targets) {
        buckets[target as usize].push(group);
    }
    buckets
}

/// One bucket's runs: its groups, then its listed pairs, leaving out either
/// when empty.
fn runs<K, V>(groups: Vec<(K, Values<V>)>, pairs: Vec<(K, V)>) -> Vec<Run<K, V>> {
    match (groups.is_empty(), pairs.is_empty()) {
        (true, true) => Vec::new(),
        (false, true) => vec![Run::Groups(groups)],
        (true, false) => vec![Run::Pairs(pairs)],
        (false, false) => vec![Run::Groups(groups), Run::Pairs(pairs)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shuffle::merge::group_runs_in_order;
    use std::cell::Cell;

    /// A bucket's entries as groups, in order.
    fn groups_of<K: Clone, V: Clone>(bucket: &[Run<K, V>]) -> Vec<(K, Values<V>)> {
        bucket.iter().cloned().flat_map(Run::into_groups).collect()
    }

    /// Pushes `pairs` owned, or borrowed (each key looked up by reference).
    fn fed(mut g: Grouper<u32, u32>, pairs: &[(u32, u32)], borrowed: bool) -> Grouper<u32, u32> {
        for &(k, v) in pairs {
            if borrowed {
                g.push_borrowed_pair(&k, v);
            } else {
                g.push((k, v));
            }
        }
        g
    }

    #[test]
    fn groups_keep_first_arrival_and_arrival_order_in_each_bucket() {
        // 2000 pairs over 50 keys: grouped, owned or borrowed.
        let pairs: Vec<(u32, u32)> = (0..2000u32).map(|i| (i * 7 % 50, i)).collect();
        for borrowed in [false, true] {
            let g = fed(Grouper::new(3, 100, pairs.len()), &pairs, borrowed);
            assert_eq!(g.mode, Mode::Grouping, "borrowed: {borrowed}");
            assert_eq!(g.keys(), 50);
            let mut all: Vec<(u32, Vec<u32>)> = Vec::new();
            for (r, bucket) in g.into_buckets(3).iter().enumerate() {
                assert!(matches!(bucket[..], [Run::Groups(_)]), "one run of groups");
                let groups = groups_of(bucket);
                assert!(groups.iter().all(|(k, _)| partition_of(k, 3) == r));
                // Within a bucket, first-arrival order.
                let firsts: Vec<u32> = groups.iter().map(|(_, vs)| vs[0]).collect();
                assert!(firsts.is_sorted(), "{firsts:?}");
                all.extend(groups.iter().map(|(k, vs)| (*k, vs.to_vec())));
            }
            all.sort();
            let mut expected: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
            for &(k, v) in &pairs {
                expected.entry(k).or_default().push(v);
            }
            assert_eq!(all, expected.into_iter().collect::<Vec<_>>());
        }
    }

    /// A task too small to judge lists its owned pairs as they came.
    #[test]
    fn a_small_task_lists_its_owned_pairs() {
        let pairs = [(2u32, 0u32), (1, 1), (2, 2), (3, 3)];
        let g = fed(Grouper::new(1, 4, 4), &pairs, false);
        assert_eq!(g.mode, Mode::Sampling);
        assert_eq!(g.into_buckets(1), vec![vec![Run::Pairs(pairs.to_vec())]]);
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
    /// of them keys it has seen: merged, they are the same groups. Owned
    /// keys are listed from the first; borrowed ones after a grouped sample.
    #[test]
    fn listed_pairs_merge_to_the_groups_of_every_pair_in_order() {
        // 3000 new keys, then every third pair a key seen before.
        let pairs: Vec<(u32, u32)> = (0..6000u32)
            .map(|i| (if i >= 3000 && i % 3 == 0 { i % 700 } else { i }, i))
            .collect();
        let owned = fed(Grouper::new(1, 0, pairs.len()), &pairs, false);
        assert!(owned.listing(), "nearly every key of the sample was new");
        assert_eq!(owned.keys(), pairs.len(), "one entry per pair");
        assert_eq!(owned.index.capacity(), 0, "no table");
        assert_eq!(owned.into_buckets(1), vec![vec![Run::Pairs(pairs.clone())]]);

        let borrowed = fed(Grouper::new(1, 0, pairs.len()), &pairs, true);
        assert!(borrowed.listing());
        // The sample's groups, then the later pairs as they came.
        match &borrowed.into_buckets(1)[0][..] {
            [Run::Groups(groups), Run::Pairs(listed)] => {
                assert_eq!(groups.len(), SAMPLE);
                assert_eq!(listed[..], pairs[SAMPLE..]);
            }
            other => panic!("runs {:?}", other.iter().map(Run::len).collect::<Vec<_>>()),
        }

        // Keys repeated within the sample keep it grouping, both ways.
        let repeated: Vec<(u32, u32)> = (0..6000u32).map(|i| (i % 800, i)).collect();
        for borrowed in [false, true] {
            let g = fed(Grouper::new(1, 0, repeated.len()), &repeated, borrowed);
            assert_eq!(g.mode, Mode::Grouping, "borrowed: {borrowed}");
            assert_eq!(g.keys(), 800);
        }
        merges_to_every_pair_grouped(&pairs);
    }

    /// Owned pairs are listed in lists with room for the sample only; the
    /// grouper judges when the first is full (or later, with too few pairs
    /// in all) and then gets the room it needs: lists for every pair
    /// expected, or a table for the keys it was made with room for.
    #[test]
    fn room_is_made_for_what_the_sample_shows() {
        let distinct: Vec<(u32, u32)> = (0..2000u32).map(|i| (i, i)).collect();
        let repeating: Vec<(u32, u32)> = (0..2000u32).map(|i| (i % 100, i)).collect();

        let g = Grouper::<u32, u32>::new(4, 10_000, 40_000);
        assert!(g.listed.iter().all(|list| list.capacity() == SAMPLE / 4));
        assert_eq!((g.index.capacity(), g.groups.capacity()), (0, 0));
        let listing = fed(g, &distinct, false);
        assert!(listing.listing());
        let per_list = 40_000 / 4;
        for list in &listing.listed {
            assert!(list.capacity() >= per_list, "{} < {per_list}", list.capacity());
        }
        assert_eq!(listing.index.capacity(), 0);

        let grouping = fed(Grouper::<u32, u32>::new(4, 10_000, 40_000), &repeating, false);
        assert_eq!(grouping.mode, Mode::Grouping);
        assert!(grouping.groups.capacity() >= 10_000);
        assert!(grouping.index.capacity() >= 10_000);
        assert_eq!(grouping.listed.iter().map(Vec::capacity).sum::<usize>(), 0);

        // No pairs expected: lists of 16 fill long before the sample is in.
        let unsized_listing = fed(Grouper::<u32, u32>::new(4, 0, 0), &distinct, false);
        assert!(unsized_listing.listing());
        let unsized_grouping = fed(Grouper::<u32, u32>::new(4, 0, 0), &repeating, false);
        assert_eq!(unsized_grouping.mode, Mode::Grouping);
        assert_eq!(unsized_grouping.keys(), 100);
        // Many partitions: lists of 16 fill after about a hundred thousand
        // pairs, more than the bitmap counts; judged on the first of them.
        let many: Vec<(u32, u32)> = (0..400_000u32).map(|i| (i, i)).collect();
        assert!(fed(Grouper::<u32, u32>::new(20_000, 0, many.len()), &many, false).listing());

        // Borrowed keys: a table with room for the sample's groups only until
        // the sample is in.
        let mut sampling = fed(
            Grouper::<u32, u32>::new(4, 10_000, 40_000),
            &repeating[..SAMPLE - 1],
            true,
        );
        assert_eq!(sampling.mode, Mode::GroupingSample);
        assert!(sampling.groups.capacity() < 10_000, "room for the sample only");
        sampling.push_borrowed_pair(&7, 7);
        assert_eq!(sampling.mode, Mode::Grouping);
        assert!(sampling.groups.capacity() >= 10_000);
        let listing = fed(Grouper::<u32, u32>::new(4, 10_000, 40_000), &distinct[..SAMPLE], true);
        assert!(listing.listing());
        assert_eq!(listing.index.capacity(), 0);
        let per_list = (40_000 - SAMPLE) / 4;
        for list in &listing.listed {
            assert!(list.capacity() >= per_list, "{} < {per_list}", list.capacity());
        }
    }

    /// The count of distinct keys a grouper judges on is within a few keys
    /// of the true count, around the count where it decides.
    #[test]
    fn the_sample_count_is_close_to_the_distinct_keys() {
        for (pairs, distinct) in [
            (1024u64, 10u64),
            (1024, 300),
            (1024, 700),
            (1024, 896),
            (1024, 2000),
            (MOST_JUDGED as u64, 3584),
            (MOST_JUDGED as u64, 4096),
        ] {
            let keys: Vec<u64> = (0..pairs).map(|i| i % distinct * 7919).collect();
            let estimate = distinct_keys(keys.iter());
            let truth = distinct.min(pairs) as f64;
            assert!((estimate - truth).abs() <= truth * 0.03 + 1.0, "{estimate} for {truth}");
        }
        // Either side of 7 in 8.
        assert!(lists(900.0, 1024) && !lists(890.0, 1024));
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
            assert!(
                groups_of(bucket).iter().all(|(k, _)| partition_of(k, 2) == r),
                "bucket {r}"
            );
        }
        let mut got: Vec<(u32, Vec<u32>)> = group_runs_in_order(buckets)
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

    /// Checks that `pairs`, cut into 1, 3 and 8 map tasks (every other one
    /// pushing its keys borrowed) and grouped into 1, 2 and 5 partitions,
    /// merge to the grouping of every pair in order.
    fn merges_to_every_pair_grouped(pairs: &[(u32, u32)]) {
        for n in [1usize, 2, 5] {
            for tasks in [1usize, 3, 8] {
                let per_task = pairs.len().div_ceil(tasks);
                // Per reduce partition, every task's bucket for it, in order.
                type Buckets = Vec<Vec<Run<u32, u32>>>;
                let mut per_reduce: Vec<Buckets> = (0..n).map(|_| Vec::new()).collect();
                for (t, chunk) in pairs.chunks(per_task).enumerate() {
                    let g = fed(Grouper::new(n, chunk.len(), chunk.len()), chunk, t % 2 == 1);
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
                    assert_eq!(
                        group_runs_in_order(buckets),
                        expected,
                        "n {n}, tasks {tasks}, partition {r}"
                    );
                }
            }
        }
    }
}
