//! Ordering a batch and picking from it (Spark's `sortBy`, `sortByKey`,
//! `top`, `takeOrdered`, `sample`), for `transform` and `foreach_batch`.

use crate::Batch;
use rayon::slice::ParallelSliceMut;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

impl<T: Send> Batch<T> {
    /// The elements sorted by `key` (ascending, or descending when
    /// `ascending` is false), over as many partitions as before, in order:
    /// iterating the batch gives the sorted sequence. Equal keys keep no
    /// particular order.
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// let words = Batch::from_partitions(vec![vec!["pear", "fig"], vec!["apple"]]);
    /// assert_eq!(words.sort_by(|w| w.len(), true).collect(), ["fig", "pear", "apple"]);
    /// ```
    pub fn sort_by<K: Ord>(self, key: impl Fn(&T) -> K + Sync, ascending: bool) -> Batch<T> {
        let partitions = self.num_partitions();
        let mut all = self.collect();
        all.par_sort_unstable_by(|a, b| directed(key(a).cmp(&key(b)), ascending));
        Batch::split(all, partitions)
    }

    /// The elements in ascending order (see [`sort_by`](Batch::sort_by)).
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// assert_eq!(Batch::from_vec(vec![3, 1, 2]).sort().collect(), [1, 2, 3]);
    /// ```
    pub fn sort(self) -> Batch<T>
    where
        T: Ord,
    {
        let partitions = self.num_partitions();
        let mut all = self.collect();
        all.par_sort_unstable();
        Batch::split(all, partitions)
    }

    /// Copies of the `n` largest elements, largest first (Spark's `top`).
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// assert_eq!(Batch::from_vec(vec![5, 1, 9, 3]).top(2), [9, 5]);
    /// ```
    pub fn top(&self, n: usize) -> Vec<T>
    where
        T: Ord + Clone,
    {
        self.top_by(n, |x| x.clone())
    }

    /// Copies of the `n` elements with the largest `key`, largest first: the
    /// ten most frequent hashtags of a batch of counts are
    /// `counts.top_by(10, |(_, n)| *n)`. Among equal keys, which are kept is
    /// unspecified.
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// let tags = Batch::from_vec(vec!["#rust", "#spark", "#rust", "#rust", "#spark", "#flink"]);
    /// let top = tags.count_by_value(None).top_by(2, |(_, n)| *n);
    /// assert_eq!(top, [("#rust", 3), ("#spark", 2)]);
    /// ```
    pub fn top_by<K: Ord>(&self, n: usize, key: impl Fn(&T) -> K) -> Vec<T>
    where
        T: Clone,
    {
        // A min-heap of the best `n` so far: one pass, `n` copies at most kept.
        let mut best: BinaryHeap<Reverse<Keyed<K, usize>>> = BinaryHeap::with_capacity(n + 1);
        let all: Vec<&T> = self.iter().collect();
        if n == 0 {
            return Vec::new();
        }
        for (index, x) in all.iter().enumerate() {
            best.push(Reverse(Keyed(key(x), index)));
            if best.len() > n {
                best.pop();
            }
        }
        let mut kept: Vec<Keyed<K, usize>> = best.into_iter().map(|Reverse(k)| k).collect();
        kept.sort_by(|a, b| b.0.cmp(&a.0));
        kept.into_iter().map(|Keyed(_, index)| all[index].clone()).collect()
    }

    /// Copies of the `n` smallest elements, smallest first (Spark's
    /// `takeOrdered`).
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// assert_eq!(Batch::from_vec(vec![5, 1, 9, 3]).take_ordered(3), [1, 3, 5]);
    /// ```
    pub fn take_ordered(&self, n: usize) -> Vec<T>
    where
        T: Ord + Clone,
    {
        self.top_by(n, |x| Reverse(x.clone()))
    }

    /// About `fraction` of the elements, each kept independently with that
    /// probability (Spark's `sample` without replacement). The same `seed`
    /// on the same batch keeps the same elements.
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// let numbers = Batch::from_vec((0..10_000).collect());
    /// let sample = numbers.clone().sample(0.1, 7);
    /// assert!((800..1200).contains(&sample.len()), "{}", sample.len());
    /// assert_eq!(sample.collect(), numbers.sample(0.1, 7).collect());
    /// ```
    pub fn sample(self, fraction: f64, seed: u64) -> Batch<T> {
        // Compared with the top 53 bits of a splitmix64 draw per element.
        let threshold = (fraction.clamp(0.0, 1.0) * (1u64 << 53) as f64) as u64;
        let partitions = self
            .into_partitions()
            .into_iter()
            .enumerate()
            .map(|(p, part)| {
                let mut state = seed ^ (p as u64).wrapping_mul(0xA076_1D64_78BD_642F);
                part.into_iter()
                    .filter(|_| splitmix64(&mut state) >> 11 < threshold)
                    .collect()
            })
            .collect();
        Batch::from_partitions(partitions)
    }
}

impl<K: Ord + Send, V: Send> Batch<(K, V)> {
    /// The pairs sorted by key, ascending or descending (Spark's
    /// `sortByKey`), over as many partitions as before, in order.
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// let pairs = Batch::from_vec(vec![("b", 2), ("c", 3), ("a", 1)]);
    /// assert_eq!(pairs.sort_by_key(false).collect(), [("c", 3), ("b", 2), ("a", 1)]);
    /// ```
    pub fn sort_by_key(self, ascending: bool) -> Batch<(K, V)> {
        let partitions = self.num_partitions();
        let mut all = self.collect();
        all.par_sort_unstable_by(|a, b| directed(a.0.cmp(&b.0), ascending));
        Batch::split(all, partitions)
    }
}

fn directed(order: Ordering, ascending: bool) -> Ordering {
    if ascending { order } else { order.reverse() }
}

/// A key with the position of its element: ordered by key, then by position
/// (so that `top_by` needs no `Ord` on the element itself).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Keyed<K, I>(K, I);

/// One step of splitmix64: a fast, well-mixed sequence from any seed.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_keeps_the_partition_count_and_orders_across_partitions() {
        let batch = Batch::from_partitions(vec![vec![9, 2], vec![7], vec![1, 8, 3]]);
        let sorted = batch.sort();
        assert_eq!(sorted.partitions(), [vec![1, 2], vec![3, 7], vec![8, 9]]);
        let down = Batch::from_vec(vec![1, 3, 2]).sort_by(|x| *x, false);
        assert_eq!(down.collect(), [3, 2, 1]);
    }

    #[test]
    fn top_and_take_ordered_handle_small_batches_and_zero() {
        let batch = Batch::from_partitions(vec![vec![4, 1], vec![], vec![3]]);
        assert_eq!(batch.top(10), [4, 3, 1]);
        assert_eq!(batch.top(0), Vec::<i32>::new());
        assert_eq!(batch.take_ordered(2), [1, 3]);
        assert!(Batch::<i32>::empty().top(3).is_empty());
    }

    #[test]
    fn sample_keeps_everything_at_one_and_nothing_at_zero() {
        let batch = Batch::from_partitions(vec![(0..100).collect::<Vec<_>>(), (100..200).collect()]);
        assert_eq!(batch.clone().sample(1.0, 1).len(), 200);
        assert_eq!(batch.clone().sample(0.0, 1).len(), 0);
        let half = batch.clone().sample(0.5, 3);
        assert_eq!(half.num_partitions(), 2);
        assert_ne!(
            half.collect(),
            batch.sample(0.5, 4).collect(),
            "another seed, another sample"
        );
    }
}
