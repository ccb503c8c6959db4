//! Map-side collectors: where a fused stage's last operator puts each element.
//!
//! Every collector has an inherent `push`, so the generated loop always ends in
//! `out.push(x)` whatever the boundary is. `Vec<U>` is the collector of a
//! stage that materializes its output.
//!
//! CONTRACT (for the runtime implementer): keep the type names, their generic
//! parameters and the `push` signatures exactly; the macro's code generator
//! relies on rustc inferring the generic parameters from them.

use crate::shuffle::combine_table::{CombineTable, Slot};
use crate::shuffle::partitioner::{partition_of, table_state};
use std::borrow::Borrow;
use std::hash::Hash;

/// What a keyed shuffle's map task collects its partition into, then splits
/// into one bucket per output partition, by [`partition_of`] the key.
pub(crate) trait Collector {
    /// What the buckets hold.
    type Bucket;
    /// The collected elements in `n` buckets.
    fn into_buckets(self, n: usize) -> Vec<Vec<Self::Bucket>>;
    /// How many distinct keys it holds (0 for a collector that keeps every
    /// element): what the next chunk's table is sized from.
    fn keys(&self) -> usize {
        0
    }
}

/// A map-side collector of (key, value) pairs that a fused loop may give a
/// borrowed key (see `shuffle::borrowed`): [`KeyCombiner`] and
/// [`ByKeyCombiner`] (and the grouper, `shuffle::grouper`) look it up
/// borrowed and make it owned only for a key the task has not seen.
pub trait KeyedCollector<K, V> {
    /// Adds one pair whose key is owned.
    fn push_pair(&mut self, key: K, value: V);
    /// Adds one pair whose key is borrowed.
    fn push_borrowed_pair<Q>(&mut self, key: &Q, value: V)
    where
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
        K: Borrow<Q>;
}

/// Map side of `reduce_by_key`: combines values per key as they arrive.
///
/// Each key's value is stored as it is (no `Option` around it: the entries of
/// a word count stay 32 bytes and a task's table stays in cache), combined in
/// place. A key may be pushed borrowed ([`push_borrowed`](Self::push_borrowed)):
/// its owned form is made only when the key is new to this task.
pub struct KeyCombiner<'r, K, V, R> {
    pub(crate) table: CombineTable<K, V>,
    pub(crate) reduce: &'r R,
    /// Set while `reduce` runs on a value moved out of its slot: if it
    /// panics, the slot is not valid and the table must never be dropped.
    poisoned: bool,
}

impl<K: Hash + Eq, V, R: Fn(V, V) -> V> KeyCombiner<'_, K, V, R> {
    /// Adds one (key, value) pair, reducing it into the key's value so far.
    #[inline(always)]
    pub fn push(&mut self, pair: (K, V)) {
        let (key, value) = pair;
        match self.table.slot(&key) {
            Slot::Hit(slot) => reduce_in_place(slot, value, self.reduce, &mut self.poisoned),
            Slot::Miss(hash) => self.table.insert_new(hash, key, value),
        }
    }

    /// [`push`](Self::push) with the key's hash in the table computed
    /// already (`CombineTable::hash`).
    #[inline(always)]
    pub(crate) fn push_hashed(&mut self, hash: u64, pair: (K, V)) {
        let (key, value) = pair;
        match self.table.slot_hashed(hash, &key) {
            Slot::Hit(slot) => reduce_in_place(slot, value, self.reduce, &mut self.poisoned),
            Slot::Miss(hash) => self.table.insert_new(hash, key, value),
        }
    }

    /// Adds one pair whose key is borrowed (a word of the line being read):
    /// found by reference, and made owned only when this task has not seen
    /// it before. The key is hashed once, and the probe is inlined into
    /// the caller's loop (see `shuffle::combine_table`).
    #[inline(always)]
    pub fn push_borrowed<Q>(&mut self, key: &Q, value: V)
    where
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
        K: Borrow<Q>,
    {
        match self.table.slot(key) {
            Slot::Hit(slot) => reduce_in_place(slot, value, self.reduce, &mut self.poisoned),
            Slot::Miss(hash) => self.table.insert_new(hash, key.to_owned(), value),
        }
    }
}

impl<K: Hash + Eq, V, R: Fn(V, V) -> V> KeyedCollector<K, V> for KeyCombiner<'_, K, V, R> {
    #[inline(always)]
    fn push_pair(&mut self, key: K, value: V) {
        self.push((key, value));
    }

    #[inline(always)]
    fn push_borrowed_pair<Q>(&mut self, key: &Q, value: V)
    where
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
        K: Borrow<Q>,
    {
        self.push_borrowed(key, value);
    }
}

/// `*slot = reduce(*slot, value)`, with the old value moved out rather than
/// cloned or wrapped in an `Option` (measured: the `Option` slot cost 10–20%
/// on word count). `poisoned` is true exactly while `reduce` runs: if it
/// panics the slot holds a moved-out value, and the table that owns it is
/// leaked instead of dropped (see `Drop for KeyCombiner`). `reduce` may take
/// another type than it returns the value of (`combine_by_key`'s
/// `merge_value`).
#[inline(always)]
fn reduce_in_place<C, V>(slot: &mut C, value: V, reduce: impl FnOnce(C, V) -> C, poisoned: &mut bool) {
    *poisoned = true;
    // SAFETY: the value read out of `slot` is written back (combined) before
    // the slot is used again; should `reduce` panic instead, `poisoned` stays
    // set and the slot is never read or dropped (the table is forgotten).
    let old = unsafe { std::ptr::read(slot) };
    let new = reduce(old, value);
    unsafe { std::ptr::write(slot, new) };
    *poisoned = false;
}

impl<K, V, R> Drop for KeyCombiner<'_, K, V, R> {
    fn drop(&mut self) {
        if self.poisoned {
            // A value of the table was moved out when a reduce panicked:
            // dropping the table would drop it twice. The batch fails; the
            // task's table is leaked.
            std::mem::forget(std::mem::take(&mut self.table));
        }
    }
}

impl<'r, K, V, R> KeyCombiner<'r, K, V, R> {
    #[cfg(test)]
    pub(crate) fn new(reduce: &'r R) -> Self {
        Self::with_capacity(reduce, 0)
    }

    /// A combiner with room for `capacity` keys.
    pub(crate) fn with_capacity(reduce: &'r R, capacity: usize) -> Self {
        Self::with_table(reduce, CombineTable::with_capacity(capacity))
    }

    /// A combiner into `table` (empty).
    pub(crate) fn with_table(reduce: &'r R, table: CombineTable<K, V>) -> Self {
        KeyCombiner {
            table,
            reduce,
            poisoned: false,
        }
    }

    /// The combined values per key.
    pub(crate) fn into_table(mut self) -> CombineTable<K, V> {
        std::mem::take(&mut self.table)
    }
}

impl<K: Hash, V, R> Collector for KeyCombiner<'_, K, V, R> {
    type Bucket = (K, V);
    fn keys(&self) -> usize {
        self.table.len()
    }
    fn into_buckets(self, n: usize) -> Vec<Vec<(K, V)>> {
        bucketize(self.into_table(), n, |table, n| partitions_of(table.keys(), n))
    }
}

/// Moves a hash table's entries into `n` buckets, entry `i` into bucket
/// `targets(table, n)[i]`, each bucket allocated to its exact size. With one
/// bucket nothing is hashed.
fn bucketize<T>(table: T, n: usize, targets: impl FnOnce(&T, usize) -> Vec<u32>) -> Vec<Vec<T::Item>>
where
    T: IntoIterator,
    T::IntoIter: ExactSizeIterator,
{
    let n = n.max(1);
    if n == 1 {
        return vec![table.into_iter().collect()];
    }
    // Hash each key once: remember its partition, count, then move.
    let targets = targets(&table, n);
    let mut counts = vec![0usize; n];
    for &t in &targets {
        counts[t as usize] += 1;
    }
    let mut buckets: Vec<Vec<T::Item>> = counts.into_iter().map(Vec::with_capacity).collect();
    for (entry, target) in table.into_iter().zip(targets) {
        buckets[target as usize].push(entry);
    }
    buckets
}

/// The partitions of `keys` among `n`, in order.
fn partitions_of<'k, K: Hash + 'k>(keys: impl Iterator<Item = &'k K>, n: usize) -> Vec<u32> {
    keys.map(|k| partition_of(k, n) as u32).collect()
}

/// Map side of `count_by_value`: counts occurrences per value.
pub struct ValueCounter<T> {
    pub(crate) table: CombineTable<T, u64>,
}

impl<T: Hash + Eq> ValueCounter<T> {
    /// Counts one occurrence of `value`.
    #[inline(always)]
    pub fn push(&mut self, value: T) {
        match self.table.slot(&value) {
            Slot::Hit(count) => *count += 1,
            Slot::Miss(hash) => self.table.insert_new(hash, value, 1),
        }
    }

    /// Counts one occurrence of a borrowed value, made owned only when this
    /// task has not seen it before.
    #[inline(always)]
    pub fn push_borrowed<Q>(&mut self, value: &Q)
    where
        Q: Hash + Eq + ToOwned<Owned = T> + ?Sized,
        T: Borrow<Q>,
    {
        match self.table.slot(value) {
            Slot::Hit(count) => *count += 1,
            Slot::Miss(hash) => self.table.insert_new(hash, value.to_owned(), 1),
        }
    }
}

impl<T> ValueCounter<T> {
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::with_capacity(0)
    }

    /// A counter with room for `capacity` values.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        ValueCounter {
            table: CombineTable::with_capacity(capacity),
        }
    }
}

impl<T: Hash> Collector for ValueCounter<T> {
    type Bucket = (T, u64);
    fn keys(&self) -> usize {
        self.table.len()
    }
    fn into_buckets(self, n: usize) -> Vec<Vec<(T, u64)>> {
        bucketize(self.table, n, |table, n| partitions_of(table.keys(), n))
    }
}

/// Map side of `distinct`: keeps the first occurrence of each value.
pub struct Distinct<T> {
    pub(crate) set: hashbrown::HashSet<T, crate::shuffle::partitioner::FixedState>,
}

impl<T: Hash + Eq> Distinct<T> {
    /// Adds `value` unless it was seen already.
    #[inline]
    pub fn push(&mut self, value: T) {
        // `insert` keeps the value already present.
        self.set.insert(value);
    }
}

impl<T> Distinct<T> {
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::with_capacity(0)
    }

    /// A set with room for `capacity` values.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Distinct {
            set: hashbrown::HashSet::with_capacity_and_hasher(capacity, table_state()),
        }
    }
}

impl<T: Hash> Collector for Distinct<T> {
    type Bucket = T;
    fn keys(&self) -> usize {
        self.set.len()
    }
    fn into_buckets(self, n: usize) -> Vec<Vec<T>> {
        bucketize(self.set, n, |set, n| partitions_of(set.iter(), n))
    }
}

/// Map side of `combine_by_key`: creates a combiner for a key's first value and
/// merges later values into it.
///
/// Each key's combiner is stored as it is (no `Option` around it, as in
/// [`KeyCombiner`]) and merged in place; a borrowed key is made owned only
/// when it is new to this task.
pub struct ByKeyCombiner<'f, K, V, C, Cr, Mv> {
    pub(crate) table: CombineTable<K, C>,
    pub(crate) create: &'f Cr,
    pub(crate) merge_value: &'f Mv,
    /// Set while `merge_value` runs on a combiner moved out of its slot (see
    /// [`reduce_in_place`] and `Drop for ByKeyCombiner`).
    poisoned: bool,
    pub(crate) _value: std::marker::PhantomData<fn(V)>,
}

impl<K: Hash + Eq, V, C, Cr: Fn(V) -> C, Mv: Fn(C, V) -> C> ByKeyCombiner<'_, K, V, C, Cr, Mv> {
    /// Adds one (key, value) pair.
    #[inline(always)]
    pub fn push(&mut self, pair: (K, V)) {
        let (key, value) = pair;
        match self.table.slot(&key) {
            Slot::Hit(slot) => reduce_in_place(slot, value, self.merge_value, &mut self.poisoned),
            Slot::Miss(hash) => {
                let combiner = (self.create)(value);
                self.table.insert_new(hash, key, combiner);
            }
        }
    }
}

impl<K: Hash + Eq, V, C, Cr: Fn(V) -> C, Mv: Fn(C, V) -> C> KeyedCollector<K, V>
    for ByKeyCombiner<'_, K, V, C, Cr, Mv>
{
    #[inline(always)]
    fn push_pair(&mut self, key: K, value: V) {
        self.push((key, value));
    }

    /// Found by reference; the key is made owned only when this task has not
    /// seen it before.
    #[inline(always)]
    fn push_borrowed_pair<Q>(&mut self, key: &Q, value: V)
    where
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
        K: Borrow<Q>,
    {
        match self.table.slot(key) {
            Slot::Hit(slot) => reduce_in_place(slot, value, self.merge_value, &mut self.poisoned),
            Slot::Miss(hash) => {
                let combiner = (self.create)(value);
                self.table.insert_new(hash, key.to_owned(), combiner);
            }
        }
    }
}

impl<K, V, C, Cr, Mv> Drop for ByKeyCombiner<'_, K, V, C, Cr, Mv> {
    fn drop(&mut self) {
        if self.poisoned {
            // As for `KeyCombiner`: a combiner was moved out when
            // `merge_value` panicked; the task's table is leaked, not
            // dropped twice.
            std::mem::forget(std::mem::take(&mut self.table));
        }
    }
}

impl<'f, K, V, C, Cr, Mv> ByKeyCombiner<'f, K, V, C, Cr, Mv> {
    #[cfg(test)]
    pub(crate) fn new(create: &'f Cr, merge_value: &'f Mv) -> Self {
        Self::with_capacity(create, merge_value, 0)
    }

    /// A combiner with room for `capacity` keys.
    pub(crate) fn with_capacity(create: &'f Cr, merge_value: &'f Mv, capacity: usize) -> Self {
        ByKeyCombiner {
            table: CombineTable::with_capacity(capacity),
            create,
            merge_value,
            poisoned: false,
            _value: std::marker::PhantomData,
        }
    }
}

impl<K: Hash, V, C, Cr, Mv> Collector for ByKeyCombiner<'_, K, V, C, Cr, Mv> {
    type Bucket = (K, C);
    fn keys(&self) -> usize {
        self.table.len()
    }
    fn into_buckets(mut self, n: usize) -> Vec<Vec<(K, C)>> {
        let table = std::mem::take(&mut self.table);
        bucketize(table, n, |table, n| partitions_of(table.keys(), n))
    }
}

/// Map side of `reduce`: reduces the partition to at most one value.
pub struct Reducer<'r, T, R> {
    pub(crate) acc: Option<T>,
    pub(crate) reduce: &'r R,
}

impl<T, R: Fn(T, T) -> T> Reducer<'_, T, R> {
    /// Reduces `value` into the partition's value so far.
    #[inline]
    pub fn push(&mut self, value: T) {
        self.acc = Some(match self.acc.take() {
            Some(acc) => (self.reduce)(acc, value),
            None => value,
        });
    }
}

impl<'r, T, R> Reducer<'r, T, R> {
    pub(crate) fn new(reduce: &'r R) -> Self {
        Reducer { acc: None, reduce }
    }

    /// The partition's reduced value, if it had any element.
    pub(crate) fn into_value(self) -> Option<T> {
        self.acc
    }
}

/// Map side of `count`: counts elements.
pub struct Counter {
    pub(crate) count: u64,
}

impl Counter {
    /// Counts one element.
    #[inline]
    pub fn push<T>(&mut self, value: T) {
        drop(value);
        self.count += 1;
    }

    pub(crate) fn new() -> Self {
        Counter { count: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::Colliding;

    fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
        v.sort();
        v
    }

    #[test]
    fn key_combiner_reduces_per_key_and_buckets_by_partition() {
        let add = |a: u64, b: u64| a + b;
        let mut c = KeyCombiner::new(&add);
        for w in ["a", "b", "a", "c", "a"] {
            c.push((w, 1));
        }
        let buckets = c.into_buckets(4);
        assert_eq!(buckets.len(), 4);
        for (i, bucket) in buckets.iter().enumerate() {
            for (k, _) in bucket {
                assert_eq!(partition_of(k, 4), i);
            }
        }
        let all = sorted(buckets.into_iter().flatten().collect());
        assert_eq!(all, vec![("a", 3), ("b", 1), ("c", 1)]);
    }

    #[test]
    fn value_counter_and_distinct() {
        let mut c = ValueCounter::new();
        let mut d = Distinct::new();
        for v in [3, 1, 3, 3, 2] {
            c.push(v);
            d.push(v);
        }
        let counts = sorted(c.into_buckets(3).into_iter().flatten().collect());
        assert_eq!(counts, vec![(1, 1), (2, 1), (3, 3)]);
        let values = sorted(d.into_buckets(1).into_iter().flatten().collect());
        assert_eq!(values, vec![1, 2, 3]);
    }

    #[test]
    fn by_key_combiner_creates_then_merges() {
        let create = |v: u32| vec![v];
        let merge = |mut c: Vec<u32>, v: u32| {
            c.push(v);
            c
        };
        let mut c = ByKeyCombiner::new(&create, &merge);
        for (k, v) in [("a", 1), ("b", 2), ("a", 3)] {
            c.push((k, v));
        }
        let all = sorted(c.into_buckets(2).into_iter().flatten().collect());
        assert_eq!(all, vec![("a", vec![1, 3]), ("b", vec![2])]);
    }

    #[test]
    fn a_panicking_merge_value_fails_without_a_double_drop() {
        let create = |v: String| vec![v];
        let boom = |_: Vec<String>, _: String| -> Vec<String> { panic!("no") };
        for borrowed in [false, true] {
            let result = std::panic::catch_unwind(|| {
                let mut c = ByKeyCombiner::new(&create, &boom);
                c.push(("k".to_owned(), "first".to_owned()));
                if borrowed {
                    c.push_borrowed_pair("k", "second".to_owned());
                } else {
                    c.push(("k".to_owned(), "second".to_owned()));
                }
            });
            // Dropped during the unwind without dropping the moved-out
            // combiner (a double free would abort the test process).
            assert!(result.is_err());
        }
    }

    #[test]
    fn borrowed_and_owned_keys_count_alike_through_a_growing_table() {
        // Tables with room for 1 key take 3000 distinct words, the repeats
        // arriving after several growths, borrowed and owned.
        let words: Vec<String> = (0..12_000u32)
            .map(|i| format!("w{}", i.wrapping_mul(7919) % 3000))
            .collect();
        let add = |a: u64, b: u64| a + b;
        let mut borrowed = KeyCombiner::with_capacity(&add, 1);
        let mut owned = KeyCombiner::with_capacity(&add, 1);
        let mut counter = ValueCounter::with_capacity(1);
        for w in &words {
            borrowed.push_borrowed(w.as_str(), 1);
            owned.push((w.clone(), 1));
            counter.push_borrowed(w.as_str());
        }
        let mut expected = std::collections::BTreeMap::new();
        for w in &words {
            *expected.entry(w.clone()).or_insert(0u64) += 1;
        }
        let expected: Vec<(String, u64)> = expected.into_iter().collect();
        assert_eq!(expected.len(), 3000);
        assert_eq!(sorted(borrowed.into_buckets(3).concat()), expected);
        assert_eq!(sorted(owned.into_buckets(1).concat()), expected);
        assert_eq!(sorted(counter.into_buckets(2).concat()), expected);
    }

    #[test]
    fn keys_that_all_collide_combine_exactly() {
        let create = |v: u32| vec![v];
        let merge = |mut c: Vec<u32>, v: u32| {
            c.push(v);
            c
        };
        let mut c = ByKeyCombiner::new(&create, &merge);
        for i in 0..600u32 {
            c.push((Colliding(format!("k{}", i % 200)), i));
        }
        // Every key in one bucket (one partition for all), values in order.
        let buckets = c.into_buckets(4);
        assert_eq!(buckets.iter().filter(|b| !b.is_empty()).count(), 1);
        let all = sorted(buckets.concat());
        assert_eq!(all.len(), 200);
        for (key, values) in all {
            let k: u32 = key.0[1..].parse().unwrap();
            assert_eq!(values, vec![k, k + 200, k + 400], "{key:?}");
        }
    }

    #[test]
    fn reducer_and_counter() {
        let max = |a: i32, b: i32| a.max(b);
        let mut r = Reducer::new(&max);
        assert_eq!(Reducer::<i32, _>::new(&max).into_value(), None);
        for v in [4, 9, 2] {
            r.push(v);
        }
        assert_eq!(r.into_value(), Some(9));
        let mut c = Counter::new();
        c.push("x");
        c.push("y");
        assert_eq!(c.count, 2);
    }
}
