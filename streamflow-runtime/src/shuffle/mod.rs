//! Shuffles: map-side collection per partition, hash-partitioning by key with
//! the deterministic partitioner, and a reduce side that merges per partition.
//!
//! CONTRACT: see `stage.rs`. Each function here runs stage `stage` (map side)
//! and `stage + 1` (reduce side); `partitions: None` means the job's default.

pub mod collectors;
pub mod join;
pub(crate) mod key_tables;
pub(crate) mod merge;
pub mod partitioner;

use crate::runner::Runner;
use crate::runner::transpose;
use crate::shuffle::collectors::{ByKeyCombiner, Counter, Distinct, Grouper, KeyCombiner, Reducer, ValueCounter};
use crate::shuffle::merge::{group_in_order, merge_by_key};
use crate::stage::{feed, narrow_with};
use crate::{Batch, BatchContext, BatchError, StageInput};
use std::hash::Hash;

/// The skeleton of every keyed shuffle: map tasks produce `n` buckets each,
/// the exchange hands reduce partition `r` every task's bucket `r` in map-task
/// order, and the reduce tasks produce the output partitions.
pub(crate) fn shuffle_with<Rn, S, B, U>(
    runner: &Rn,
    stage: usize,
    input: S,
    n: usize,
    map_task: impl Fn(S::Part) -> Vec<Vec<B>> + Sync,
    reduce_task: impl Fn(Vec<Vec<B>>) -> Vec<U> + Sync,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Runner,
    S: StageInput,
    B: Send,
    U: Send,
{
    let map_outputs = runner.tasks(stage, input.into_parts(), map_task)?;
    let per_reduce = transpose(map_outputs, n);
    runner
        .tasks(stage + 1, per_reduce, reduce_task)
        .map(Batch::from_partitions)
}

/// A rough number of elements of a partition, for pre-sizing.
#[inline]
fn size_of<P: IntoIterator>(part: P) -> (usize, P::IntoIter) {
    let iter = part.into_iter();
    (iter.size_hint().0, iter)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn reduce_by_key_with<Rn, S, K, V, R, U, M, C>(
    runner: &Rn,
    stage: usize,
    input: S,
    map_side: M,
    reduce: &R,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Runner,
    S: StageInput,
    K: Hash + Eq + Send,
    V: Send,
    U: Send,
    R: Fn(V, V) -> V + Sync,
    M: Fn(S::Item, &mut KeyCombiner<'_, K, V, R>) + Sync,
    C: Fn((K, V), &mut Vec<U>) + Sync,
{
    let n = runner.partitions(partitions);
    shuffle_with(
        runner,
        stage,
        input,
        n,
        |part| feed(part, KeyCombiner::new(reduce), &map_side).into_buckets(n),
        |buckets| merge_by_key(buckets, reduce).emit(&reduce_side),
    )
}

/// `reduce_by_key(f)`: combines per key on the map side, merges per key after
/// the exchange.
#[allow(clippy::too_many_arguments)]
pub fn reduce_by_key<S, K, V, R, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    reduce: &R,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: StageInput,
    K: Hash + Eq + Send,
    V: Send,
    U: Send,
    R: Fn(V, V) -> V + Sync,
    M: Fn(S::Item, &mut KeyCombiner<'_, K, V, R>) + Sync,
    C: Fn((K, V), &mut Vec<U>) + Sync,
{
    let runner = ctx;
    reduce_by_key_with(&runner, stage, input, map_side, reduce, partitions, reduce_side)
}

pub(crate) fn count_by_value_with<Rn, S, T, U, M, C>(
    runner: &Rn,
    stage: usize,
    input: S,
    map_side: M,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Runner,
    S: StageInput,
    T: Hash + Eq + Send,
    U: Send,
    M: Fn(S::Item, &mut ValueCounter<T>) + Sync,
    C: Fn((T, u64), &mut Vec<U>) + Sync,
{
    let n = runner.partitions(partitions);
    shuffle_with(
        runner,
        stage,
        input,
        n,
        |part| feed(part, ValueCounter::new(), &map_side).into_buckets(n),
        |buckets| merge_by_key(buckets, |a, b| a + b).emit(&reduce_side),
    )
}

/// `count_by_value()`: (value, number of occurrences) pairs.
pub fn count_by_value<S, T, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: StageInput,
    T: Hash + Eq + Send,
    U: Send,
    M: Fn(S::Item, &mut ValueCounter<T>) + Sync,
    C: Fn((T, u64), &mut Vec<U>) + Sync,
{
    let runner = ctx;
    count_by_value_with(&runner, stage, input, map_side, partitions, reduce_side)
}

pub(crate) fn distinct_with<Rn, S, T, U, M, C>(
    runner: &Rn,
    stage: usize,
    input: S,
    map_side: M,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Runner,
    S: StageInput,
    T: Hash + Eq + Send,
    U: Send,
    M: Fn(S::Item, &mut Distinct<T>) + Sync,
    C: Fn(T, &mut Vec<U>) + Sync,
{
    let n = runner.partitions(partitions);
    shuffle_with(
        runner,
        stage,
        input,
        n,
        |part| feed(part, Distinct::new(), &map_side).into_buckets(n),
        |mut buckets| {
            if buckets.len() <= 1 {
                // One map task's values are distinct already.
                let values = buckets.pop().unwrap_or_default();
                let mut out = Vec::with_capacity(values.len());
                values.into_iter().for_each(|v| reduce_side(v, &mut out));
                return out;
            }
            let largest = buckets.iter().map(Vec::len).max().unwrap_or(0);
            let mut set =
                hashbrown::HashSet::with_capacity_and_hasher(largest, crate::shuffle::partitioner::table_state());
            for bucket in buckets {
                set.extend(bucket);
            }
            let mut out = Vec::with_capacity(set.len());
            set.into_iter().for_each(|v| reduce_side(v, &mut out));
            out
        },
    )
}

/// `distinct()`: each value once.
pub fn distinct<S, T, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: StageInput,
    T: Hash + Eq + Send,
    U: Send,
    M: Fn(S::Item, &mut Distinct<T>) + Sync,
    C: Fn(T, &mut Vec<U>) + Sync,
{
    let runner = ctx;
    distinct_with(&runner, stage, input, map_side, partitions, reduce_side)
}

/// The map side of the group-by shuffles: every pair kept, bucketed.
#[inline]
pub(crate) fn group_part<P, K, V>(part: P, n: usize, map_side: impl Fn(P::Item, &mut Grouper<K, V>)) -> Vec<Vec<(K, V)>>
where
    P: IntoIterator,
    K: Hash,
{
    let (expected, iter) = size_of(part);
    feed(iter, Grouper::new(n, expected), map_side).into_buckets()
}

pub(crate) fn group_by_key_with<Rn, S, K, V, U, M, C>(
    runner: &Rn,
    stage: usize,
    input: S,
    map_side: M,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Runner,
    S: StageInput,
    K: Hash + Eq + Send,
    V: Send,
    U: Send,
    M: Fn(S::Item, &mut Grouper<K, V>) + Sync,
    C: Fn((K, Vec<V>), &mut Vec<U>) + Sync,
{
    let n = runner.partitions(partitions);
    shuffle_with(
        runner,
        stage,
        input,
        n,
        |part| group_part(part, n, &map_side),
        |buckets| run_groups(group_in_order(buckets), &reduce_side),
    )
}

fn run_groups<G, U>(groups: Vec<G>, reduce_side: impl Fn(G, &mut Vec<U>)) -> Vec<U> {
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        reduce_side(g, &mut out);
    }
    out
}

/// `group_by_key()`: every value of a key, in arrival order (map partitions in
/// order, elements in order within each).
pub fn group_by_key<S, K, V, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: StageInput,
    K: Hash + Eq + Send,
    V: Send,
    U: Send,
    M: Fn(S::Item, &mut Grouper<K, V>) + Sync,
    C: Fn((K, Vec<V>), &mut Vec<U>) + Sync,
{
    let runner = ctx;
    group_by_key_with(&runner, stage, input, map_side, partitions, reduce_side)
}

/// `combine_by_key(create, merge_value, merge_combiners)`.
#[allow(clippy::too_many_arguments)]
pub fn combine_by_key<S, K, V, Cb, U, Cr, Mv, Mc, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    functions: &(Cr, Mv, Mc),
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: StageInput,
    K: Hash + Eq + Send,
    V: Send,
    Cb: Send,
    U: Send,
    Cr: Fn(V) -> Cb + Sync,
    Mv: Fn(Cb, V) -> Cb + Sync,
    Mc: Fn(Cb, Cb) -> Cb + Sync,
    M: Fn(S::Item, &mut ByKeyCombiner<'_, K, V, Cb, Cr, Mv>) + Sync,
    C: Fn((K, Cb), &mut Vec<U>) + Sync,
{
    let runner = ctx;
    let (create, merge_value, merge_combiners) = functions;
    let n = runner.partitions(partitions);
    shuffle_with(
        &runner,
        stage,
        input,
        n,
        |part| feed(part, ByKeyCombiner::new(create, merge_value), &map_side).into_buckets(n),
        |buckets| merge_by_key(buckets, merge_combiners).emit(&reduce_side),
    )
}

pub(crate) fn count_with<Rn, S, U, M, C>(
    runner: &Rn,
    stage: usize,
    input: S,
    map_side: M,
    reduce_side: C,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Runner,
    S: StageInput,
    U: Send,
    M: Fn(S::Item, &mut Counter) + Sync,
    C: Fn(u64, &mut Vec<U>) + Sync,
{
    let counts = runner.tasks(stage, input.into_parts(), |part| {
        feed(part, Counter::new(), &map_side).count
    })?;
    let total: u64 = counts.into_iter().sum();
    runner
        .call(stage + 1, || {
            let mut out = Vec::with_capacity(1);
            reduce_side(total, &mut out);
            out
        })
        .map(Batch::from_vec)
}

/// `count()`: one element, the number of elements (0 for an empty batch).
pub fn count<S, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: StageInput,
    U: Send,
    M: Fn(S::Item, &mut Counter) + Sync,
    C: Fn(u64, &mut Vec<U>) + Sync,
{
    count_with(ctx, stage, input, map_side, reduce_side)
}

pub(crate) fn reduce_with<Rn, S, T, R, U, M, C>(
    runner: &Rn,
    stage: usize,
    input: S,
    map_side: M,
    reduce: &R,
    reduce_side: C,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Runner,
    S: StageInput,
    T: Send,
    U: Send,
    R: Fn(T, T) -> T + Sync,
    M: Fn(S::Item, &mut Reducer<'_, T, R>) + Sync,
    C: Fn(T, &mut Vec<U>) + Sync,
{
    let partials = runner.tasks(stage, input.into_parts(), |part| {
        feed(part, Reducer::new(reduce), &map_side).into_value()
    })?;
    runner
        .call(stage + 1, || {
            // Partition order: the result of a non-commutative `reduce` is
            // the same run after run.
            let mut out = Vec::with_capacity(1);
            if let Some(value) = partials.into_iter().flatten().reduce(reduce) {
                reduce_side(value, &mut out);
            }
            out
        })
        .map(Batch::from_vec)
}

/// `reduce(f)`: one element, or none for an empty batch.
pub fn reduce<S, T, R, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    reduce: &R,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: StageInput,
    T: Send,
    U: Send,
    R: Fn(T, T) -> T + Sync,
    M: Fn(S::Item, &mut Reducer<'_, T, R>) + Sync,
    C: Fn(T, &mut Vec<U>) + Sync,
{
    reduce_with(ctx, stage, input, map_side, reduce, reduce_side)
}

pub(crate) fn repartition_with<Rn, S, T, U, M, C>(
    runner: &Rn,
    stage: usize,
    input: S,
    map_side: M,
    partitions: usize,
    reduce_side: C,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Runner,
    S: StageInput,
    T: Send,
    U: Send,
    M: Fn(S::Item, &mut Vec<T>) + Sync,
    C: Fn(T, &mut Vec<U>) + Sync,
{
    let n = partitions.max(1);
    let parts = narrow_with(runner, stage, input, map_side)?;
    // Element i of the batch (counting across partitions in order) goes to
    // partition i mod n: deterministic, and balanced to within one element.
    let mut offset = 0usize;
    let with_offsets: Vec<(usize, Vec<T>)> = parts
        .into_iter()
        .map(|part| {
            let start = offset;
            offset += part.len();
            (start, part)
        })
        .collect();
    let total = offset;
    let bucketed = runner.tasks(stage, with_offsets, |(start, part)| {
        let len = part.len();
        let mut buckets: Vec<Vec<T>> = (0..n)
            .map(|r| Vec::with_capacity(len / n + usize::from((r + n - start % n) % n < len % n)))
            .collect();
        let mut target = start % n;
        for x in part {
            buckets[target].push(x);
            target += 1;
            if target == n {
                target = 0;
            }
        }
        buckets
    })?;
    let per_reduce = transpose(bucketed, n);
    runner
        .tasks(stage + 1, per_reduce, |buckets| {
            let mut out = Vec::with_capacity(total / n + 1);
            for bucket in buckets {
                for x in bucket {
                    reduce_side(x, &mut out);
                }
            }
            out
        })
        .map(Batch::from_partitions)
}

/// `repartition(n)`: the same elements spread round-robin over `n` partitions.
pub fn repartition<S, T, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    partitions: usize,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: StageInput,
    T: Send,
    U: Send,
    M: Fn(S::Item, &mut Vec<T>) + Sync,
    C: Fn(T, &mut Vec<U>) + Sync,
{
    repartition_with(ctx, stage, input, map_side, partitions, reduce_side)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{config, ctx, empty_plan};

    fn words() -> Batch<&'static str> {
        Batch::from_partitions(vec![vec!["a", "b", "a"], vec!["c", "a"], vec![], vec!["b", "d", "a"]])
    }

    #[test]
    fn reduce_by_key_counts_words() {
        let config = config(3);
        let ctx = ctx(empty_plan(), &config);
        let add = |a: u64, b: u64| a + b;
        let out = reduce_by_key(
            &ctx,
            0,
            words(),
            |w, c| c.push((w, 1u64)),
            &add,
            None,
            |p, out| out.push(p),
        )
        .unwrap();
        assert_eq!(out.num_partitions(), 3);
        assert_eq!(out.clone().sorted(), vec![("a", 4), ("b", 2), ("c", 1), ("d", 1)]);
        // Every key sits in its partitioner's partition.
        for (i, part) in out.partitions().iter().enumerate() {
            for (k, _) in part {
                assert_eq!(crate::shuffle::partitioner::partition_of(k, 3), i);
            }
        }
        let explicit = reduce_by_key(
            &ctx,
            0,
            &words(),
            |w: &&str, c| c.push((*w, 1u64)),
            &add,
            Some(5),
            |p, out| out.push(p),
        )
        .unwrap();
        assert_eq!(explicit.num_partitions(), 5);
        assert_eq!(explicit.sorted(), out.sorted());
    }

    #[test]
    fn shuffle_output_order_is_the_same_every_run() {
        let config = config(4);
        let ctx = ctx(empty_plan(), &config);
        let run = || {
            let input = Batch::split((0..2000u32).map(|i| (i % 97, i)).collect(), 8);
            reduce_by_key(
                &ctx,
                0,
                input,
                |p, c| c.push(p),
                &|a: u32, b: u32| a.max(b),
                None,
                |p, out| out.push(p),
            )
            .unwrap()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn count_by_value_and_distinct() {
        let config = config(2);
        let ctx = ctx(empty_plan(), &config);
        let counts = count_by_value(&ctx, 0, words(), |w, c| c.push(w), None, |p, out| out.push(p)).unwrap();
        assert_eq!(counts.sorted(), vec![("a", 4), ("b", 2), ("c", 1), ("d", 1)]);
        let d = distinct(&ctx, 0, words(), |w, d| d.push(w), None, |w, out| out.push(w)).unwrap();
        assert_eq!(d.sorted(), vec!["a", "b", "c", "d"]);
    }

    #[test]
    fn group_by_key_keeps_arrival_order_across_map_partitions() {
        let config = config(3);
        let ctx = ctx(empty_plan(), &config);
        let input = Batch::from_partitions(vec![
            vec![("k", 1), ("j", 10), ("k", 2)],
            vec![("k", 3)],
            vec![("j", 11), ("k", 4), ("k", 5)],
        ]);
        let out = group_by_key(&ctx, 0, input, |p, g| g.push(p), None, |g, out| out.push(g)).unwrap();
        assert_eq!(out.sorted(), vec![("j", vec![10, 11]), ("k", vec![1, 2, 3, 4, 5])]);
    }

    #[test]
    fn combine_by_key_builds_combiners() {
        let config = config(2);
        let ctx = ctx(empty_plan(), &config);
        let input = Batch::from_partitions(vec![vec![("a", 1), ("b", 2)], vec![("a", 3)]]);
        let functions = (
            |v: i32| (v, 1u32),
            |(s, n): (i32, u32), v: i32| (s + v, n + 1),
            |(s1, n1): (i32, u32), (s2, n2): (i32, u32)| (s1 + s2, n1 + n2),
        );
        let out = combine_by_key(&ctx, 0, input, |p, c| c.push(p), &functions, None, |p, out| out.push(p)).unwrap();
        assert_eq!(out.sorted(), vec![("a", (4, 2)), ("b", (2, 1))]);
    }

    #[test]
    fn count_and_reduce_of_empty_and_full_batches() {
        let config = config(2);
        let ctx = ctx(empty_plan(), &config);
        let count_of = |b: Batch<i32>| count(&ctx, 0, b, |x, c| c.push(x), |n, out| out.push(n)).unwrap();
        assert_eq!(count_of(Batch::empty()).collect(), vec![0]);
        assert_eq!(
            count_of(Batch::from_partitions(vec![vec![], vec![]])).collect(),
            vec![0]
        );
        let counted = count_of(Batch::from_partitions(vec![vec![1, 2], vec![3]]));
        assert_eq!(counted.num_partitions(), 1);
        assert_eq!(counted.collect(), vec![3]);

        let concat = |a: String, b: String| a + &b;
        let reduce_of = |b: Batch<&str>| {
            reduce(
                &ctx,
                0,
                b,
                |x: &str, r| r.push(x.to_owned()),
                &concat,
                |s, out| out.push(s),
            )
            .unwrap()
        };
        assert_eq!(reduce_of(Batch::empty()).collect(), Vec::<String>::new());
        // Partition order is kept, so a non-commutative reduce is deterministic.
        let r = reduce_of(Batch::from_partitions(vec![vec!["a", "b"], vec![], vec!["c"]]));
        assert_eq!(r.collect(), vec!["abc".to_owned()]);
    }

    #[test]
    fn repartition_is_round_robin_and_keeps_elements() {
        let config = config(2);
        let ctx = ctx(empty_plan(), &config);
        let input = Batch::from_partitions(vec![vec![0, 1, 2], vec![3, 4], vec![5, 6, 7, 8, 9]]);
        let out = repartition(&ctx, 0, input, |x, out| out.push(x), 3, |x, out| out.push(x)).unwrap();
        assert_eq!(out.partitions(), &[vec![0, 3, 6, 9], vec![1, 4, 7], vec![2, 5, 8]]);
        let one = repartition(
            &ctx,
            0,
            Batch::from_vec(vec![1, 2]),
            |x, out| out.push(x),
            0,
            |x, out| out.push(x),
        )
        .unwrap();
        assert_eq!(one.partitions(), &[vec![1, 2]]);
    }

    #[test]
    fn a_panic_in_the_reduce_function_fails_the_batch() {
        let plan = crate::fixtures::plan(
            file!(),
            vec![
                vec![crate::fixtures::op("map", 5)],
                vec![crate::fixtures::op("reduce_by_key", 6)],
            ],
        );
        let config = config(2);
        let ctx = ctx(plan, &config);
        let input = Batch::from_partitions(vec![vec![("a", 1)], vec![("a", 2)]]);
        let err = reduce_by_key(
            &ctx,
            0,
            input,
            |p, c| c.push(p),
            &|_: i32, _: i32| -> i32 { panic!("no") },
            None,
            |p, out| out.push(p),
        )
        .unwrap_err();
        // The merge after the exchange runs in stage 2.
        assert!(
            matches!(&err, BatchError::StagePanicked { stage: 2, message, .. } if message == "no"),
            "{err}"
        );
    }
}
