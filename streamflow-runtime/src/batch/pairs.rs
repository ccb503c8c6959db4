//! What Spark's pair RDDs bring back to the driver or take apart (`keys`,
//! `values`, `countByKey`, `collectAsMap`, `lookup`), for `transform` and
//! `foreach_batch`. The shuffles on pairs (`reduce_by_key`, joins) are in
//! `ops.rs`.

use crate::Batch;
use std::collections::HashMap;
use std::hash::Hash;

impl<K, V> Batch<(K, V)> {
    /// The keys, in place of the pairs.
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// assert_eq!(Batch::from_vec(vec![("a", 1), ("b", 2)]).keys().collect(), ["a", "b"]);
    /// ```
    pub fn keys(self) -> Batch<K> {
        Batch::from_partitions(
            self.into_partitions()
                .into_iter()
                .map(|part| part.into_iter().map(|(k, _)| k).collect())
                .collect(),
        )
    }

    /// The values, in place of the pairs.
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// assert_eq!(Batch::from_vec(vec![("a", 1), ("b", 2)]).values().collect(), [1, 2]);
    /// ```
    pub fn values(self) -> Batch<V> {
        Batch::from_partitions(
            self.into_partitions()
                .into_iter()
                .map(|part| part.into_iter().map(|(_, v)| v).collect())
                .collect(),
        )
    }

    /// The number of pairs of each key (Spark's `countByKey`).
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// let counts = Batch::from_vec(vec![("a", 1), ("b", 2), ("a", 3)]).count_by_key();
    /// assert_eq!((counts["a"], counts["b"]), (2, 1));
    /// ```
    pub fn count_by_key(&self) -> HashMap<K, u64>
    where
        K: Hash + Eq + Clone,
    {
        let mut counts = HashMap::new();
        for (key, _) in self.iter() {
            *counts.entry(key.clone()).or_insert(0) += 1;
        }
        counts
    }

    /// The pairs as a map; of several values of one key, the last one in
    /// partition order is kept (Spark's `collectAsMap`).
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// let map = Batch::from_vec(vec![("a", 1), ("a", 2)]).collect_as_map();
    /// assert_eq!(map["a"], 2);
    /// ```
    pub fn collect_as_map(self) -> HashMap<K, V>
    where
        K: Hash + Eq,
    {
        self.collect().into_iter().collect()
    }

    /// Copies of the values of `key`, in partition order (Spark's `lookup`).
    ///
    /// ```
    /// use streamflow::Batch;
    ///
    /// let pairs = Batch::from_vec(vec![("a", 1), ("b", 2), ("a", 3)]);
    /// assert_eq!(pairs.lookup(&"a"), [1, 3]);
    /// ```
    pub fn lookup(&self, key: &K) -> Vec<V>
    where
        K: PartialEq,
        V: Clone,
    {
        self.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
    }
}
