//! `Batch<T>`: one batch of a stream, a vector of partitions.

mod ops;
mod ordering;
mod pairs;

pub use ops::JoinSide;

/// One batch of a stream: its elements, cut into partitions that stages process
/// in parallel. Also the type of static datasets joined inside `transform`.
///
/// A batch has the RDD operations a `transform` or `foreach_batch` closure
/// needs (see the `impl` blocks: `map`, `filter`, `reduce_by_key`, `join`...;
/// `sort_by`, `top_by`, `take_ordered`, `sample`; on pairs `sort_by_key`,
/// `count_by_key`, `lookup`, `keys`, `values`). The ten most frequent hashtags
/// of a batch of words are one line:
/// `tags.count_by_value(None).top_by(10, |(_, n)| *n)`.
/// They run in parallel on the current rayon pool with the same shuffle code as
/// a job's stages. They do not panic, except by propagating a panic of the
/// closure you pass them (inside a job, that panic fails the batch with an
/// error naming your operator).
///
/// ```
/// use streamflow::Batch;
///
/// let lines = Batch::split(vec!["a b", "b c", "b"], 2);
/// let counts = lines
///     .flat_map(|line| line.split(' ').collect::<Vec<_>>())
///     .map(|word| (word, 1u64))
///     .reduce_by_key(|a, b| a + b, None);
/// assert_eq!(counts.clone().sorted(), vec![("a", 1), ("b", 3), ("c", 1)]);
///
/// let names = Batch::from([("a", "alpha"), ("b", "beta")]);
/// let joined = counts.join(names, None).map(|(_, (n, name))| (name, n));
/// assert_eq!(joined.sorted(), vec![("alpha", 1), ("beta", 3)]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Batch<T> {
    partitions: Vec<Vec<T>>,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch { partitions: Vec::new() }
    }
}

impl<T> Batch<T> {
    /// A batch with no partitions and no elements.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A batch made of the given partitions, in order.
    pub fn from_partitions(partitions: Vec<Vec<T>>) -> Self {
        Batch { partitions }
    }

    /// A batch with one partition holding `elements`.
    pub fn from_vec(elements: Vec<T>) -> Self {
        Batch {
            partitions: vec![elements],
        }
    }

    /// The partitions, in order.
    pub fn partitions(&self) -> &[Vec<T>] {
        &self.partitions
    }

    /// Takes the partitions out.
    pub fn into_partitions(self) -> Vec<Vec<T>> {
        self.partitions
    }

    /// The number of partitions.
    pub fn num_partitions(&self) -> usize {
        self.partitions.len()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.partitions.iter().map(Vec::len).sum()
    }

    /// Whether the batch has no elements.
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// assert!(Batch::<u32>::empty().is_empty());
    /// // Partitions without elements are still empty.
    /// assert!(Batch::<u32>::from_partitions(vec![vec![], vec![]]).is_empty());
    /// assert!(!Batch::from_vec(vec![1]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.partitions.iter().all(Vec::is_empty)
    }

    /// The elements, partition by partition.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.partitions.iter().flatten()
    }

    /// All elements in one vector, partition by partition.
    pub fn collect(self) -> Vec<T> {
        let mut all = Vec::with_capacity(self.len());
        for part in self.partitions {
            all.extend(part);
        }
        all
    }

    /// `elements` cut into `n` (at least one) contiguous partitions, in order,
    /// whose sizes differ by at most one (the first ones are the larger).
    pub fn split(mut elements: Vec<T>, n: usize) -> Self {
        let n = n.max(1);
        let (base, extra) = (elements.len() / n, elements.len() % n);
        let mut partitions = Vec::with_capacity(n);
        // From the back, so that every element is moved once.
        for i in (1..n).rev() {
            let start = i * base + i.min(extra);
            partitions.push(elements.split_off(start));
        }
        partitions.push(elements);
        partitions.reverse();
        Batch { partitions }
    }

    /// The first element, if any.
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// // The first element of the first partition that has one.
    /// assert_eq!(Batch::from_partitions(vec![vec![], vec![7, 8]]).first(), Some(&7));
    /// assert_eq!(Batch::<u32>::empty().first(), None);
    /// ```
    pub fn first(&self) -> Option<&T> {
        self.iter().next()
    }

    /// Copies of all elements, sorted: handy to compare a shuffle's output,
    /// whose order is unspecified, with an expected list. Borrows the batch,
    /// so it works on the outputs a test run hands back.
    pub fn sorted(&self) -> Vec<T>
    where
        T: Ord + Clone,
    {
        let mut all = self.to_vec();
        all.sort();
        all
    }

    /// All elements, sorted, taking the batch (no copies).
    pub fn into_sorted(self) -> Vec<T>
    where
        T: Ord,
    {
        let mut all = self.collect();
        all.sort();
        all
    }

    /// Copies of all elements, partition by partition.
    pub fn to_vec(&self) -> Vec<T>
    where
        T: Clone,
    {
        self.iter().cloned().collect()
    }

    /// Copies of the first `n` elements (fewer if the batch is smaller).
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// let batch = Batch::from_partitions(vec![vec![1, 2], vec![3, 4]]);
    /// assert_eq!(batch.take(3), [1, 2, 3]);
    /// assert_eq!(batch.take(10), [1, 2, 3, 4]);
    /// ```
    pub fn take(&self, n: usize) -> Vec<T>
    where
        T: Clone,
    {
        self.iter().take(n).cloned().collect()
    }
}

impl<T, const N: usize> From<[T; N]> for Batch<T> {
    fn from(elements: [T; N]) -> Self {
        Batch::from_vec(elements.into())
    }
}

impl<T> From<Vec<T>> for Batch<T> {
    fn from(elements: Vec<T>) -> Self {
        Batch::from_vec(elements)
    }
}

impl<T> FromIterator<T> for Batch<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Batch::from_vec(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_cuts_contiguous_near_equal_chunks() {
        let b = Batch::split((1..=7).collect(), 3);
        assert_eq!(b.partitions(), &[vec![1, 2, 3], vec![4, 5], vec![6, 7]]);
        let b = Batch::split(vec![1, 2], 4);
        assert_eq!(b.partitions(), &[vec![1], vec![2], vec![], vec![]]);
        let b: Batch<i32> = Batch::split(vec![], 0);
        assert_eq!(b.num_partitions(), 1);
        assert!(b.is_empty());
    }

    #[test]
    fn accessors() {
        let b = Batch::from_partitions(vec![vec![3, 1], vec![], vec![2]]);
        assert_eq!(b.len(), 3);
        assert_eq!(b.first(), Some(&3));
        assert_eq!(b.take(2), vec![3, 1]);
        assert_eq!(b.to_vec(), vec![3, 1, 2]);
        assert_eq!(b.clone().sorted(), vec![1, 2, 3]);
        assert_eq!(b.collect(), vec![3, 1, 2]);
        assert_eq!(Batch::from([1, 2]).collect(), vec![1, 2]);
        assert_eq!(Batch::<u8>::empty().first(), None);
    }
}
