//! The RDD-style operations of [`Batch`], for `transform` and `foreach_batch`
//! closures and static datasets.
//!
//! They call the same stage and shuffle functions as a job's stages, with a
//! runner under which a panic of the user's closure propagates to the caller
//! (and, inside a job, fails the batch naming the operator).

use crate::Batch;
use crate::exec::{LocalRunner, infallible};
use crate::join::{CoGroupKind, FullOuter, Inner, JoinKind, LeftOuter, RightOuter, join_with};
use crate::shuffle::{
    count_by_value_with, distinct_with, group_by_key_with, reduce_by_key_with, reduce_with,
    repartition_with,
};
use crate::stage::narrow_with;
use std::hash::Hash;

impl<T> Batch<T> {
    /// The partition count of a shuffle's output: `requested`, else this
    /// batch's, at least one.
    fn shuffle_partitions(&self, requested: Option<usize>) -> Option<usize> {
        Some(requested.unwrap_or(self.num_partitions()).max(1))
    }

    /// The number of elements, as Spark's `count` gives it.
    pub fn count(&self) -> u64 {
        self.len() as u64
    }

    /// This batch's partitions followed by `other`'s.
    pub fn union(mut self, other: Batch<T>) -> Batch<T> {
        let mut partitions = std::mem::take(&mut self).into_partitions();
        partitions.extend(other.into_partitions());
        Batch::from_partitions(partitions)
    }
}

impl<T: Send> Batch<T> {
    fn narrow<U: Send>(self, f: impl Fn(T, &mut Vec<U>) + Sync) -> Batch<U> {
        Batch::from_partitions(infallible(narrow_with(&LocalRunner::new(), 0, self, f)))
    }

    /// `f` applied to every element; partitions are kept.
    pub fn map<U: Send>(self, f: impl Fn(T) -> U + Sync) -> Batch<U> {
        self.narrow(|x, out| out.push(f(x)))
    }

    /// Every element of `f`'s output for every element, in order.
    pub fn flat_map<I>(self, f: impl Fn(T) -> I + Sync) -> Batch<I::Item>
    where
        I: IntoIterator,
        I::Item: Send,
    {
        self.narrow(|x, out| out.extend(f(x)))
    }

    /// The elements for which `f` is true.
    pub fn filter(self, f: impl Fn(&T) -> bool + Sync) -> Batch<T> {
        self.narrow(|x, out| {
            if f(&x) {
                out.push(x)
            }
        })
    }

    /// The `Some` results of `f`.
    pub fn filter_map<U: Send>(self, f: impl Fn(T) -> Option<U> + Sync) -> Batch<U> {
        self.narrow(|x, out| out.extend(f(x)))
    }

    /// The elements reduced with `f` (partition by partition, then the
    /// partitions' results in order); `None` for an empty batch.
    pub fn reduce(self, f: impl Fn(T, T) -> T + Sync) -> Option<T> {
        let runner = LocalRunner::new();
        let result = reduce_with(&runner, 0, self, |x, r| r.push(x), &f, |x, out| out.push(x));
        infallible(result)
            .into_partitions()
            .pop()
            .and_then(|mut v| v.pop())
    }

    /// The same elements spread round-robin over `n` partitions (at least one).
    pub fn repartition(self, n: usize) -> Batch<T> {
        let runner = LocalRunner::new();
        infallible(repartition_with(
            &runner,
            0,
            self,
            |x, out| out.push(x),
            n,
            |x, out| out.push(x),
        ))
    }
}

impl<T: Hash + Eq + Send> Batch<T> {
    /// (value, number of occurrences) pairs, hash-partitioned over
    /// `partitions` (default: this batch's count).
    pub fn count_by_value(self, partitions: Option<usize>) -> Batch<(T, u64)> {
        let n = self.shuffle_partitions(partitions);
        let runner = LocalRunner::new();
        infallible(count_by_value_with(
            &runner,
            0,
            self,
            |x, c| c.push(x),
            n,
            |x, out| out.push(x),
        ))
    }

    /// Each value once (the first occurrence of equal values is kept).
    pub fn distinct(self, partitions: Option<usize>) -> Batch<T> {
        let n = self.shuffle_partitions(partitions);
        let runner = LocalRunner::new();
        infallible(distinct_with(
            &runner,
            0,
            self,
            |x, d| d.push(x),
            n,
            |x, out| out.push(x),
        ))
    }
}

impl<K: Send, V: Send> Batch<(K, V)> {
    /// `f` applied to every value; keys and partitions are kept.
    pub fn map_values<U: Send>(self, f: impl Fn(V) -> U + Sync) -> Batch<(K, U)> {
        self.narrow(|(k, v), out| out.push((k, f(v))))
    }

    /// `(k, u)` for every `u` of `f(v)`, for every pair `(k, v)`.
    pub fn flat_map_values<I>(self, f: impl Fn(V) -> I + Sync) -> Batch<(K, I::Item)>
    where
        K: Clone,
        I: IntoIterator,
        I::Item: Send,
    {
        self.narrow(|(k, v), out| out.extend(f(v).into_iter().map(|u| (k.clone(), u))))
    }
}

impl<K: Hash + Eq + Send, V: Send> Batch<(K, V)> {
    /// The values of each key reduced with `f` (combined per partition first),
    /// hash-partitioned over `partitions` (default: this batch's count).
    pub fn reduce_by_key(
        self,
        f: impl Fn(V, V) -> V + Sync,
        partitions: Option<usize>,
    ) -> Batch<(K, V)> {
        let n = self.shuffle_partitions(partitions);
        let runner = LocalRunner::new();
        infallible(reduce_by_key_with(
            &runner,
            0,
            self,
            |x, c| c.push(x),
            &f,
            n,
            |x, out| out.push(x),
        ))
    }

    /// Every value of each key, in arrival order.
    pub fn group_by_key(self, partitions: Option<usize>) -> Batch<(K, Vec<V>)> {
        let n = self.shuffle_partitions(partitions);
        let runner = LocalRunner::new();
        infallible(group_by_key_with(
            &runner,
            0,
            self,
            |x, g| g.push(x),
            n,
            |x, out| out.push(x),
        ))
    }

    fn join_kind<J, W>(self, other: Batch<(K, W)>, partitions: Option<usize>) -> Batch<(K, J::Out)>
    where
        J: JoinKind<K, V, W>,
        J::Out: Send,
        W: Send,
    {
        let n = Some(
            partitions
                .unwrap_or(self.num_partitions().max(other.num_partitions()))
                .max(1),
        );
        let runner = LocalRunner::new();
        infallible(join_with::<J, _, _, _, _, _, _, _, _, _, _>(
            &runner,
            0,
            self,
            |x, g| g.push(x),
            other,
            |x, g| g.push(x),
            n,
            |x, out| out.push(x),
        ))
    }

    /// `(k, (v, w))` for every `v` of `k` here and every `w` of `k` in `other`.
    /// `partitions` defaults to the larger of the two batches' counts.
    pub fn join<W: Clone + Send>(
        self,
        other: Batch<(K, W)>,
        partitions: Option<usize>,
    ) -> Batch<(K, (V, W))>
    where
        K: Clone,
        V: Clone,
    {
        self.join_kind::<Inner, W>(other, partitions)
    }

    /// Like [`join`](Self::join), keeping every value of this batch (`None`
    /// where `other` has no value for the key).
    pub fn left_outer_join<W: Clone + Send>(
        self,
        other: Batch<(K, W)>,
        partitions: Option<usize>,
    ) -> Batch<(K, (V, Option<W>))>
    where
        K: Clone,
        V: Clone,
    {
        self.join_kind::<LeftOuter, W>(other, partitions)
    }

    /// Like [`join`](Self::join), keeping every value of `other` (`None`
    /// where this batch has no value for the key).
    pub fn right_outer_join<W: Clone + Send>(
        self,
        other: Batch<(K, W)>,
        partitions: Option<usize>,
    ) -> Batch<(K, (Option<V>, W))>
    where
        K: Clone,
        V: Clone,
    {
        self.join_kind::<RightOuter, W>(other, partitions)
    }

    /// Like [`join`](Self::join), keeping every value of either side.
    #[allow(clippy::type_complexity)]
    pub fn full_outer_join<W: Clone + Send>(
        self,
        other: Batch<(K, W)>,
        partitions: Option<usize>,
    ) -> Batch<(K, (Option<V>, Option<W>))>
    where
        K: Clone,
        V: Clone,
    {
        self.join_kind::<FullOuter, W>(other, partitions)
    }

    /// For every key of either side, all its values here and in `other`.
    #[allow(clippy::type_complexity)]
    pub fn cogroup<W: Send>(
        self,
        other: Batch<(K, W)>,
        partitions: Option<usize>,
    ) -> Batch<(K, (Vec<V>, Vec<W>))> {
        self.join_kind::<CoGroupKind, W>(other, partitions)
    }
}
