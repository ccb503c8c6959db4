//! Map-side collectors: where a fused stage's last operator puts each element.
//!
//! Every collector has an inherent `push`, so the generated loop always ends in
//! `out.push(x)` whatever the boundary is. `Vec<U>` is the collector of a
//! stage that materializes its output.
//!
//! CONTRACT (for the runtime implementer): keep the type names, their generic
//! parameters and the `push` signatures exactly; the macro's code generator
//! relies on rustc inferring the generic parameters from them.

use crate::partitioner::FixedHashMap;
use std::hash::Hash;

/// Map side of `reduce_by_key`: combines values per key as they arrive.
pub struct KeyCombiner<'r, K, V, R> {
    pub(crate) map: FixedHashMap<K, V>,
    pub(crate) reduce: &'r R,
}

impl<K: Hash + Eq, V, R: Fn(V, V) -> V> KeyCombiner<'_, K, V, R> {
    /// Adds one (key, value) pair, reducing it into the key's value so far.
    #[inline]
    pub fn push(&mut self, pair: (K, V)) {
        let _ = pair;
        todo!("runtime helper")
    }
}

/// Map side of `count_by_value`: counts occurrences per value.
pub struct ValueCounter<T> {
    pub(crate) map: FixedHashMap<T, u64>,
}

impl<T: Hash + Eq> ValueCounter<T> {
    /// Counts one occurrence of `value`.
    #[inline]
    pub fn push(&mut self, value: T) {
        let _ = value;
        todo!("runtime helper")
    }
}

/// Map side of `distinct`: keeps the first occurrence of each value.
pub struct Distinct<T> {
    pub(crate) set: hashbrown::HashSet<T, crate::partitioner::FixedState>,
}

impl<T: Hash + Eq> Distinct<T> {
    /// Adds `value` unless it was seen already.
    #[inline]
    pub fn push(&mut self, value: T) {
        let _ = value;
        todo!("runtime helper")
    }
}

/// Map side of `group_by_key`, the joins and `cogroup`: keeps every pair, in
/// arrival order, bucketed by target partition.
pub struct Grouper<K, V> {
    pub(crate) buckets: Vec<Vec<(K, V)>>,
}

impl<K: Hash, V> Grouper<K, V> {
    /// Adds one (key, value) pair.
    #[inline]
    pub fn push(&mut self, pair: (K, V)) {
        let _ = pair;
        todo!("runtime helper")
    }
}

/// Map side of `combine_by_key`: creates a combiner for a key's first value and
/// merges later values into it.
pub struct ByKeyCombiner<'f, K, V, C, Cr, Mv> {
    pub(crate) map: FixedHashMap<K, C>,
    pub(crate) create: &'f Cr,
    pub(crate) merge_value: &'f Mv,
    pub(crate) _value: std::marker::PhantomData<fn(V)>,
}

impl<K: Hash + Eq, V, C, Cr: Fn(V) -> C, Mv: Fn(C, V) -> C> ByKeyCombiner<'_, K, V, C, Cr, Mv> {
    /// Adds one (key, value) pair.
    #[inline]
    pub fn push(&mut self, pair: (K, V)) {
        let _ = pair;
        todo!("runtime helper")
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
        let _ = value;
        todo!("runtime helper")
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
}
