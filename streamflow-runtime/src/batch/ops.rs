//! The RDD-style operations of [`Batch`], for `transform` and `foreach_batch`
//! closures and static datasets.
//!
//! They call the same stage and shuffle functions as a job's stages, with a
//! runner under which a panic of the user's closure propagates to the caller
//! (and, inside a job, fails the batch naming the operator).

use crate::runner::{LocalRunner, infallible};
use crate::shuffle::grouper::Grouper;
use crate::shuffle::join::{CoGroupKind, FullOuter, Inner, JoinKind, LeftOuter, RightOuter, join_by};
use crate::shuffle::{count_by_value, distinct, group_by_key, reduce, reduce_by_key, repartition};
use crate::stage::narrow;
use crate::{Batch, StageInput};
use std::hash::Hash;

/// The other side of a join or `cogroup`: a batch given away, or a borrowed
/// one, such as a static dataset joined with every batch of a stream, whose
/// pairs are then cloned one by one as the join takes them, never as a whole.
pub trait JoinSide<K, W>: StageInput {
    /// The side's partition count.
    fn partition_count(&self) -> usize;
    /// One element as an owned pair.
    fn own(item: Self::Item) -> (K, W);
}

impl<K: Send, W: Send> JoinSide<K, W> for Batch<(K, W)> {
    fn partition_count(&self) -> usize {
        self.num_partitions()
    }

    fn own(item: (K, W)) -> (K, W) {
        item
    }
}

impl<'a, K: Clone + Sync, W: Clone + Sync> JoinSide<K, W> for &'a Batch<(K, W)> {
    fn partition_count(&self) -> usize {
        self.num_partitions()
    }

    fn own(item: &'a (K, W)) -> (K, W) {
        item.clone()
    }
}

/// The reduce side of a method: every element as it is.
fn keep<T>(x: T, out: &mut Vec<T>) {
    out.push(x);
}

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
        infallible(narrow(&LocalRunner::new(), 0, self, f))
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
        let result = reduce(&LocalRunner::new(), 0, self, |x, r| r.push(x), &f, keep);
        infallible(result).into_partitions().pop().and_then(|mut v| v.pop())
    }

    /// The same elements spread round-robin over `n` partitions (at least one).
    pub fn repartition(self, n: usize) -> Batch<T> {
        infallible(repartition(&LocalRunner::new(), 0, self, keep, Some(n), keep))
    }
}

impl<T: Hash + Eq + Send> Batch<T> {
    /// (value, number of occurrences) pairs, hash-partitioned over
    /// `partitions` (default: this batch's count).
    pub fn count_by_value(self, partitions: Option<usize>) -> Batch<(T, u64)> {
        let n = self.shuffle_partitions(partitions);
        infallible(count_by_value(&LocalRunner::new(), 0, self, |x, c| c.push(x), n, keep))
    }

    /// Each value once (the first occurrence of equal values is kept).
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// let words = Batch::from_vec(vec!["a", "b", "a", "c", "b"]);
    /// // Hash-partitioned: compare sorted.
    /// assert_eq!(words.distinct(None).sorted(), ["a", "b", "c"]);
    /// ```
    pub fn distinct(self, partitions: Option<usize>) -> Batch<T> {
        let n = self.shuffle_partitions(partitions);
        infallible(distinct(&LocalRunner::new(), 0, self, |x, d| d.push(x), n, keep))
    }
}

impl<K: Send, V: Send> Batch<(K, V)> {
    /// `f` applied to every value; keys and partitions are kept.
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// let pairs = Batch::from_vec(vec![("a", 1), ("b", 2)]);
    /// assert_eq!(pairs.map_values(|v| v * 10).collect(), [("a", 10), ("b", 20)]);
    /// ```
    pub fn map_values<U: Send>(self, f: impl Fn(V) -> U + Sync) -> Batch<(K, U)> {
        self.narrow(|(k, v), out| out.push((k, f(v))))
    }

    /// `(k, u)` for every `u` of `f(v)`, for every pair `(k, v)`.
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// let pairs = Batch::from_vec(vec![("a", 1), ("b", 2)]);
    /// assert_eq!(pairs.flat_map_values(|v| 0..v).collect(), [("a", 0), ("b", 0), ("b", 1)]);
    /// ```
    pub fn flat_map_values<I>(self, f: impl Fn(V) -> I + Sync) -> Batch<(K, I::Item)>
    where
        K: Clone,
        I: IntoIterator,
        I::Item: Send,
    {
        self.narrow(|(k, v), out| out.extend(f(v).into_iter().map(|u| (k.clone(), u))))
    }
}

/// The joins that pair values (and so clone them) as `Batch` methods, one
/// entry each: the method, how a key's values are paired, and the value half
/// of an output pair.
macro_rules! joins {
    ($($(#[$doc:meta])* $name:ident: $kind:ty => $out:ty;)*) => {$(
        $(#[$doc])*
        #[allow(clippy::type_complexity)]
        pub fn $name<W: Clone + Send>(self, other: impl JoinSide<K, W>, partitions: Option<usize>) -> Batch<(K, $out)>
        where
            K: Clone,
            V: Clone,
        {
            self.join_kind::<$kind, W, _>(other, partitions)
        }
    )*};
}

impl<K: Hash + Eq + Send, V: Send> Batch<(K, V)> {
    /// The values of each key reduced with `f` (combined per partition first),
    /// hash-partitioned over `partitions` (default: this batch's count).
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// let pairs = Batch::from_vec(vec![("a", 1), ("b", 2), ("a", 3)]);
    /// assert_eq!(pairs.reduce_by_key(|x, y| x + y, Some(2)).sorted(), [("a", 4), ("b", 2)]);
    /// ```
    pub fn reduce_by_key(self, f: impl Fn(V, V) -> V + Sync, partitions: Option<usize>) -> Batch<(K, V)> {
        let n = self.shuffle_partitions(partitions);
        infallible(reduce_by_key(
            &LocalRunner::new(),
            0,
            self,
            |x, c| c.push(x),
            &f,
            n,
            keep,
        ))
    }

    /// Every value of each key, in arrival order.
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// let pairs = Batch::from_vec(vec![("a", 1), ("b", 2), ("a", 3)]);
    /// assert_eq!(pairs.group_by_key(None).sorted(), [("a", vec![1, 3]), ("b", vec![2])]);
    /// ```
    pub fn group_by_key(self, partitions: Option<usize>) -> Batch<(K, Vec<V>)> {
        let n = self.shuffle_partitions(partitions);
        infallible(group_by_key(&LocalRunner::new(), 0, self, |x, g| g.push(x), n, keep))
    }

    fn join_kind<J, W, O>(self, other: O, partitions: Option<usize>) -> Batch<(K, J::Out)>
    where
        J: JoinKind<K, V, W>,
        J::Out: Send,
        W: Send,
        O: JoinSide<K, W>,
    {
        let n = Some(
            partitions
                .unwrap_or(self.num_partitions().max(other.partition_count()))
                .max(1),
        );
        let runner = LocalRunner::new();
        let left = (self, |x, g: &mut Grouper<K, V>| g.push(x));
        let right = (other, |x, g: &mut Grouper<K, W>| g.push(O::own(x)));
        infallible(join_by::<J, _, _, _, _, _, _, _>(&runner, 0, left, right, n, keep))
    }

    joins! {
        /// `(k, (v, w))` for every `v` of `k` here and every `w` of `k` in
        /// `other` (a batch, or a reference to one, such as a static
        /// dataset). `partitions` defaults to the larger of the two batches'
        /// counts.
        ///
        /// ```
        /// use streamflow::Batch;
        ///
        /// let sales = Batch::from_vec(vec![(1, 7), (2, 3), (1, 5)]);
        /// let names = Batch::from_vec(vec![(1, "ann")]);
        /// assert_eq!(sales.join(&names, None).sorted(), [(1, (5, "ann")), (1, (7, "ann"))]);
        /// ```
        join: Inner => (V, W);
        /// Like [`join`](Self::join), keeping every value of this batch
        /// (`None` where `other` has no value for the key).
        ///
        /// ```
        /// use streamflow::Batch;
        ///
        /// let sales = Batch::from_vec(vec![(1, 7), (2, 3)]);
        /// let names = Batch::from_vec(vec![(1, "ann"), (3, "cy")]);
        /// assert_eq!(sales.left_outer_join(names, None).sorted(), [(1, (7, Some("ann"))), (2, (3, None))]);
        /// ```
        left_outer_join: LeftOuter => (V, Option<W>);
        /// Like [`join`](Self::join), keeping every value of `other` (`None`
        /// where this batch has no value for the key).
        ///
        /// ```
        /// use streamflow::Batch;
        ///
        /// let sales = Batch::from_vec(vec![(1, 7), (2, 3)]);
        /// let names = Batch::from_vec(vec![(1, "ann"), (3, "cy")]);
        /// assert_eq!(sales.right_outer_join(names, None).sorted(), [(1, (Some(7), "ann")), (3, (None, "cy"))]);
        /// ```
        right_outer_join: RightOuter => (Option<V>, W);
        /// Like [`join`](Self::join), keeping every value of either side.
        ///
        /// ```
        /// use streamflow::Batch;
        ///
        /// let sales = Batch::from_vec(vec![(1, 7), (2, 3)]);
        /// let names = Batch::from_vec(vec![(1, "ann"), (3, "cy")]);
        /// assert_eq!(
        ///     sales.full_outer_join(names, None).sorted(),
        ///     [(1, (Some(7), Some("ann"))), (2, (Some(3), None)), (3, (None, Some("cy")))]
        /// );
        /// ```
        full_outer_join: FullOuter => (Option<V>, Option<W>);
    }

    /// For every key of either side, all its values here and in `other`.
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// let left = Batch::from_vec(vec![(1, 'a'), (1, 'b'), (2, 'c')]);
    /// let right = Batch::from_vec(vec![(1, 10), (3, 30)]);
    /// assert_eq!(
    ///     left.cogroup(right, None).sorted(),
    ///     [(1, (vec!['a', 'b'], vec![10])), (2, (vec!['c'], vec![])), (3, (vec![], vec![30]))]
    /// );
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn cogroup<W: Send>(
        self,
        other: impl JoinSide<K, W>,
        partitions: Option<usize>,
    ) -> Batch<(K, (Vec<V>, Vec<W>))> {
        self.join_kind::<CoGroupKind, W, _>(other, partitions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers() -> Batch<i32> {
        Batch::split((1..=10).collect(), 3)
    }

    #[test]
    fn narrow_operations() {
        assert_eq!(numbers().map(|x| x * 2).num_partitions(), 3);
        assert_eq!(numbers().map(|x| x * 2).take(3), vec![2, 4, 6]);
        assert_eq!(numbers().filter(|x| x % 3 == 0).collect(), vec![3, 6, 9]);
        assert_eq!(numbers().filter_map(|x| (x > 8).then_some(x)).collect(), vec![9, 10]);
        assert_eq!(
            Batch::from([1, 2]).flat_map(|x| vec![x; x as usize]).collect(),
            vec![1, 2, 2]
        );
        let pairs = Batch::from([("a", 1), ("b", 2)]);
        assert_eq!(
            pairs.clone().map_values(|v| v * 10).collect(),
            vec![("a", 10), ("b", 20)]
        );
        assert_eq!(
            pairs.flat_map_values(|v| 0..v).collect(),
            vec![("a", 0), ("b", 0), ("b", 1)]
        );
        let u = Batch::from([1]).union(Batch::from_partitions(vec![vec![2], vec![3]]));
        assert_eq!(u.partitions(), &[vec![1], vec![2], vec![3]]);
    }

    #[test]
    fn actions() {
        assert_eq!(numbers().count(), 10);
        assert_eq!(numbers().reduce(|a, b| a + b), Some(55));
        assert_eq!(Batch::<i32>::empty().reduce(|a, b| a + b), None);
        let r = numbers().repartition(4);
        assert_eq!(r.num_partitions(), 4);
        assert_eq!(r.sorted(), (1..=10).collect::<Vec<_>>());
    }

    #[test]
    fn shuffles() {
        let words = Batch::split(vec!["x", "y", "x", "z", "x", "y"], 3);
        assert_eq!(
            words.clone().count_by_value(None).sorted(),
            vec![("x", 3), ("y", 2), ("z", 1)]
        );
        assert_eq!(words.clone().distinct(Some(2)).num_partitions(), 2);
        assert_eq!(words.distinct(None).sorted(), vec!["x", "y", "z"]);
        let pairs = Batch::split(vec![("k", 1), ("j", 2), ("k", 3), ("k", 4)], 3);
        assert_eq!(
            pairs.clone().reduce_by_key(|a, b| a * b, None).sorted(),
            vec![("j", 2), ("k", 12)]
        );
        assert_eq!(
            pairs.group_by_key(Some(1)).collect(),
            vec![("k", vec![1, 3, 4]), ("j", vec![2])]
        );
    }

    #[test]
    fn joins() {
        let left = Batch::split(vec![(1, "a"), (1, "b"), (2, "c")], 2);
        let right = Batch::from([(1, 'x'), (1, 'y'), (3, 'z')]);
        assert_eq!(
            left.clone().join(right.clone(), None).collect(),
            vec![(1, ("a", 'x')), (1, ("a", 'y')), (1, ("b", 'x')), (1, ("b", 'y'))]
        );
        assert_eq!(
            left.clone().left_outer_join(right.clone(), Some(1)).sorted(),
            vec![
                (1, ("a", Some('x'))),
                (1, ("a", Some('y'))),
                (1, ("b", Some('x'))),
                (1, ("b", Some('y'))),
                (2, ("c", None)),
            ]
        );
        assert_eq!(
            left.clone()
                .right_outer_join(right.clone(), None)
                .filter(|(k, _)| *k == 3)
                .collect(),
            vec![(3, (None, 'z'))]
        );
        assert_eq!(left.clone().full_outer_join(right.clone(), None).count(), 6);
        assert_eq!(
            left.cogroup(right, None).sorted(),
            vec![
                (1, (vec!["a", "b"], vec!['x', 'y'])),
                (2, (vec!["c"], vec![])),
                (3, (vec![], vec!['z'])),
            ]
        );
    }

    #[test]
    fn a_closure_panic_inside_a_job_task_names_the_operator() {
        use crate::fixtures::{config, ctx, op_lines, plan};
        let start = line!() + 3;
        let f = |b: Batch<i32>| {
            b.map(|x| {
                if x == 7 {
                    panic!("seven")
                }
                x
            })
        };
        let end = line!() - 1;
        let plan = plan(file!(), vec![vec![op_lines("transform", start, end)]]);
        let config = config(4);
        let err = crate::stage::transform(&ctx(plan, &config), 0, numbers(), keep, &f, keep).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "batch 1000 ms failed: `transform` at {}:{start} panicked: seven",
                file!()
            )
        );
    }
}
