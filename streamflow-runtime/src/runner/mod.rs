//! The executor of a batch: runs the tasks of every stage and moves data
//! between partitions.
//!
//! Every operator of the runtime is one function generic over [`Runner`]; the
//! executor is a parameter, as in timely dataflow. Two live here: a job's
//! [`BatchContext`](crate::BatchContext), whose failed tasks become
//! `BatchError`s naming the stage and which records each stage's time, and
//! `LocalRunner`, under the methods of
//! [`Batch`](crate::Batch), where a panic propagates as from a plain loop.
//!
//! # For implementers
//!
//! A runner for another executor (a cluster) implements `Runner`'s small
//! methods and, for the element types it can move, [`Moves`].
//! The operators never move data between partitions themselves: every
//! shuffle, repartition, join co-partitioning, window and state key
//! partitioning, and gather to one partition hands its buckets to
//! [`Moves::exchange_moved`] (the exchange of element types that may cross
//! processes), so an executor that moves partitions over a network
//! replaces that one method; `BatchContext` does, on a cluster (see
//! `cluster`). Tasks get whole partitions; their closures are the fused
//! loops the macro generated, and the runner never looks inside.

pub(crate) mod driver;
pub(crate) mod local;
pub(crate) mod place;

pub use driver::Indexed;
pub(crate) use local::LocalRunner;

use crate::Time;

/// Runs the tasks of stages and moves partitions between them.
pub trait Runner: Sync {
    /// What a failed task becomes.
    type Error;

    /// Runs `task` once per part, in parallel, and returns the results in the
    /// parts' order. `stage` is the 0-based plan index the tasks belong to.
    fn tasks<P, R, F>(&self, stage: usize, parts: Vec<P>, task: F) -> Result<Vec<R>, Self::Error>
    where
        P: Send,
        R: Send,
        F: Fn(P) -> R + Sync;

    /// Runs user code once, on the calling thread, as part of stage `stage`
    /// (whole-batch functions such as `transform`'s).
    fn call<R>(&self, stage: usize, f: impl FnOnce() -> R) -> Result<R, Self::Error>;

    /// Whether partition `partition` of `partitions` is computed here: always
    /// in one process; on a cluster, on its owner only. A reduce side that
    /// makes an element from no input (`count`'s 0) asks, so that the
    /// element is made once, by the partition's owner.
    fn owns(&self, partition: usize, partitions: usize) -> bool {
        let _ = (partition, partitions);
        true
    }

    /// How many processes run the batch: 1 in one process. Partition `p` of
    /// `n` belongs to process [`owner`](crate::cluster::owner)`(p, n,
    /// processes)`; `transform`'s result is scattered by it.
    fn processes(&self) -> usize {
        1
    }

    /// The number of partitions of a shuffle's output when its operator asked
    /// for `requested` (`None`: the job's default).
    fn partitions(&self, requested: Option<usize>) -> usize;

    /// The time of the batch being run ([`Time::ZERO`] outside a job).
    fn time(&self) -> Time;

    /// The batch's time counted from the job's zero time: windows are aligned
    /// to it (a window of slide `s` emits when it is a multiple of `s`). The
    /// same as [`time`](Self::time) for a job whose zero time is 0 (tests on
    /// a manual clock); live jobs start at a wall-clock zero time.
    fn since_zero(&self) -> Time {
        self.time()
    }
}

/// A runner that can move elements of type `T` to other processes: the
/// exchange of the operators that run on a cluster. `LocalRunner` moves every
/// type (one process); a job's [`BatchContext`](crate::BatchContext) moves
/// the types with a wire format ([`Wire`](crate::cluster::Wire): every
/// type without the `cluster` feature), so the bound falls on the job's
/// element types only when a job may run on a cluster, and never on the
/// methods of [`Batch`](crate::Batch).
pub trait Moves<T: Send>: Runner {
    /// Moves data between partitions: `buckets[task][r]` goes to output
    /// partition `r` of `n`. Each output partition receives its buckets in
    /// map-task order (which makes every reduce side deterministic); empty
    /// buckets may be dropped on the way.
    ///
    /// This is the only place data crosses partitions. In one process it is
    /// a transpose of vectors (nothing is copied); on a cluster it sends each
    /// bucket to its partition's owner.
    fn exchange_moved(
        &self,
        stage: usize,
        buckets: Vec<Vec<Vec<T>>>,
        n: usize,
    ) -> Result<Vec<Vec<Vec<T>>>, Self::Error>;

    /// [`exchange_moved`](Self::exchange_moved) of map tasks that cut their
    /// partition in chunks: `chunks[part][chunk][r]`, in the order of the
    /// chunks flattened (part by part). On a cluster the chunk counts of the
    /// parts differ between processes (an empty part has one chunk), so the
    /// order is kept by (part, chunk) rather than by flattened task.
    fn exchange_chunks(
        &self,
        stage: usize,
        chunks: Vec<Vec<Vec<Vec<T>>>>,
        n: usize,
    ) -> Result<Vec<Vec<Vec<T>>>, Self::Error> {
        self.exchange_moved(stage, chunks.into_iter().flatten().collect(), n)
    }
}

/// Turns every map task's `n` buckets into every output partition's list of
/// buckets, in map-task order. Empty buckets are dropped.
pub(crate) fn transpose<T>(map_outputs: Vec<Vec<Vec<T>>>, n: usize) -> Vec<Vec<Vec<T>>> {
    let tasks = map_outputs.len();
    let mut per_reduce: Vec<Vec<Vec<T>>> = (0..n).map(|_| Vec::with_capacity(tasks)).collect();
    for buckets in map_outputs {
        for (target, bucket) in per_reduce.iter_mut().zip(buckets) {
            if !bucket.is_empty() {
                target.push(bucket);
            }
        }
    }
    per_reduce
}

/// The value of a result that cannot fail.
pub(crate) fn infallible<T>(result: Result<T, std::convert::Infallible>) -> T {
    match result {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_keeps_map_task_order() {
        let out = transpose(vec![vec![vec![1], vec![2]], vec![vec![3], vec![]]], 2);
        assert_eq!(out, vec![vec![vec![1], vec![3]], vec![vec![2]]]);
    }
}
