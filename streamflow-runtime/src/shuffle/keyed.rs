//! The keyed shuffles: `reduce_by_key`, `combine_by_key`, `count_by_value`,
//! `distinct` and `group_by_key`. Each collects its map side per partition
//! (combining where it can) in stage `stage`, exchanges the buckets by key as
//! part of that stage, and merges per output partition in stage `stage + 1`.

use super::collectors::{ByKeyCombiner, Collector, Distinct, KeyCombiner, ValueCounter};
use super::grouper::{Grouper, Run};
use super::merge::{group_runs_in_order, merge_by_key};
use super::partitioner::merge_state;
use crate::Batch;
use crate::runner::{Moves, Runner};
use crate::stage::bounds::{Element, MapSide, ReduceFn, ReduceSide, ShuffleKey};
use crate::stage::{StageInput, feed, run_part};
use std::hash::Hash;

/// Elements a map task collects into one collector at most: a task's hash
/// table stays small enough for the cache whatever the partitions are (the
/// default configuration cuts a one-partition batch in four partitions per
/// thread; measured on word count, 64 chunks of 16 k lines over 2 threads
/// ran 1.3x faster than 8 partitions of 125 k).
pub(crate) const CHUNK: usize = 16 * 1024;

/// How many distinct keys a map task's last chunk collected, for its next
/// chunk's table to start at about its final size: growing a table from
/// empty rehashes every key it holds at each doubling (on word count, a
/// chunk's table grows to ~35 k keys).
///
/// Per task, never shared between tasks or kept across batches: a table's
/// iteration order (which is the order of its buckets, and so of the output)
/// depends on its capacity history, and the output order must be a function
/// of the batch alone, so that a job restored from a snapshot emits what the
/// uninterrupted job emits (`tests/restore_order.rs`). A hint shared between
/// parallel tasks would depend on which task finished first. The first chunk
/// of each task starts at one key per element (its own size: a function of
/// the batch too).
#[derive(Default)]
struct KeysSeen {
    /// The last chunk's distinct keys and elements.
    last: (usize, usize),
}

impl KeysSeen {
    /// The keys to expect in a chunk of `elements` elements: the last chunk's
    /// keys per element, never more than it had; for a task's first chunk,
    /// one key per element (what a chunk makes at most when each element
    /// pushes one pair; a word count's line pushes several, and its table
    /// then grows once instead of from empty: on the word count bench's 64
    /// partitions of one chunk each, table growth went from 7–8% of the
    /// samples to 4–5%).
    fn expected(&self, elements: usize) -> usize {
        let (keys, seen) = self.last;
        if seen == 0 {
            return elements;
        }
        // In u128: no overflow, and the result is at most `keys`.
        (keys as u128 * elements.min(seen) as u128 / seen as u128) as usize
    }

    /// Records a chunk of `elements` elements that made `keys` keys.
    fn record(&mut self, elements: usize, keys: usize) {
        self.last = (keys, elements);
    }
}

/// The body of every keyed shuffle: each map task collects its partition,
/// in chunks of at most [`CHUNK`] elements, each into a `collector(n,
/// expected elements, expected keys)`; the exchange moves every chunk's
/// buckets (in partition and chunk order, as if the chunks were partitions),
/// and each reduce task makes its output with `merge(buckets, reduce_side)`.
fn keyed<Rn, S, Co, U, Rs>(
    runner: &Rn,
    stage: usize,
    input: S,
    collector: impl Fn(usize, usize, usize) -> Co + Sync,
    map_side: impl MapSide<S::Item, Co>,
    partitions: Option<usize>,
    merge: impl Fn(Vec<Vec<Co::Bucket>>, &Rs) -> Vec<U> + Sync,
    reduce_side: Rs,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Runner,
    S: StageInput,
    Co: Collector,
    Co::Bucket: Send,
    Rn: Moves<Co::Bucket>,
    U: Element,
    Rs: Sync,
{
    let n = runner.partitions(partitions);
    let chunks = runner.tasks(stage, input.into_parts(), |part| {
        let mut elements = part.into_iter();
        let mut chunks = Vec::new();
        let mut seen = KeysSeen::default();
        loop {
            let expected = elements.size_hint().0.min(CHUNK);
            let room = collector(n, expected, seen.expected(expected));
            let chunk = feed(elements.by_ref().take(CHUNK), room, &map_side);
            seen.record(expected, chunk.keys());
            chunks.push(chunk.into_buckets(n));
            if elements.size_hint().1 == Some(0) || expected < CHUNK {
                break;
            }
        }
        chunks
    })?;
    let per_reduce = runner.exchange_chunks(stage, chunks, n)?;
    runner
        .tasks(stage + 1, per_reduce, |buckets| merge(buckets, &reduce_side))
        .map(Batch::from_partitions)
}

/// `reduce_by_key(f)`: values combined per key on the map side, merged per
/// key after the exchange. Stages: `stage` the map side and the exchange,
/// `stage + 1` the merge and the reduce side.
pub fn reduce_by_key<'f, Rn, S: StageInput, K: ShuffleKey, V: Element, R: ReduceFn<V>, U: Element>(
    runner: &Rn,
    stage: usize,
    input: S,
    map_side: impl MapSide<S::Item, KeyCombiner<'f, K, V, R>>,
    f: &'f R,
    partitions: Option<usize>,
    reduce_side: impl ReduceSide<(K, V), U>,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Moves<(K, V)>,
{
    let combiner = |_, _, keys| KeyCombiner::with_capacity(f, keys);
    let merge = |buckets, out: &_| merge_by_key(buckets, f).emit(out);
    keyed(runner, stage, input, combiner, map_side, partitions, merge, reduce_side)
}

/// `combine_by_key(create, merge_value, merge_combiners)`: a combiner per key
/// on the map side, combiners merged per key after the exchange. Stages:
/// `stage` the map side and the exchange, `stage + 1` the merge and the
/// reduce side.
#[allow(clippy::type_complexity)]
pub fn combine_by_key<'f, Rn, S: StageInput, K: ShuffleKey, V: Element, Cb: Element, Cr, Mv, U: Element>(
    runner: &Rn,
    stage: usize,
    input: S,
    map_side: impl MapSide<S::Item, ByKeyCombiner<'f, K, V, Cb, Cr, Mv>>,
    (create, merge_value, merge_combiners): &'f (Cr, Mv, impl ReduceFn<Cb>),
    partitions: Option<usize>,
    reduce_side: impl ReduceSide<(K, Cb), U>,
) -> Result<Batch<U>, Rn::Error>
where
    Cr: Fn(V) -> Cb + Sync,
    Mv: Fn(Cb, V) -> Cb + Sync,
    Rn: Moves<(K, Cb)>,
{
    let combiner = |_, _, keys| ByKeyCombiner::with_capacity(create, merge_value, keys);
    let merge = |buckets, out: &_| merge_by_key(buckets, merge_combiners).emit(out);
    keyed(runner, stage, input, combiner, map_side, partitions, merge, reduce_side)
}

/// The keyed shuffles that take no function, one entry each: the operator,
/// its element types, its map-side collector, the elements it exchanges
/// and how a task makes one, what
/// its reduce side gets and how a reduce task merges its buckets.
macro_rules! keyed_shuffles {
    ($(
        $(#[$doc:meta])*
        $name:ident<$($g:ident: $bound:path),*>: $collector:ty [$bucket:ty] = $new:expr => $item:ty = $merge:expr;
    )*) => {$(
        $(#[$doc])*
        ///
        /// Stages: `stage` the map side and the exchange, `stage + 1` the
        /// merge and the reduce side.
        pub fn $name<Rn, S: StageInput, $($g: $bound,)* U: Element>(
            runner: &Rn,
            stage: usize,
            input: S,
            map_side: impl MapSide<S::Item, $collector>,
            partitions: Option<usize>,
            reduce_side: impl ReduceSide<$item, U>,
        ) -> Result<Batch<U>, Rn::Error>
        where
            Rn: Moves<$bucket>,
        {
            keyed(runner, stage, input, $new, map_side, partitions, $merge, reduce_side)
        }
    )*};
}

keyed_shuffles! {
    /// `count_by_value()`: (value, number of occurrences) pairs, counted per
    /// value on the map side, counts added after the exchange.
    count_by_value<T: ShuffleKey>: ValueCounter<T> [(T, u64)] = |_, _, keys| ValueCounter::with_capacity(keys)
        => (T, u64) = |buckets, out| merge_by_key(buckets, |a, b| a + b).emit(out);
    /// `distinct()`: each value once, deduplicated per partition on the map
    /// side and across partitions after the exchange.
    distinct<T: ShuffleKey>: Distinct<T> [T] = |_, _, keys| Distinct::with_capacity(keys) => T = union_of;
    /// `group_by_key()`: every value of a key, in arrival order (map
    /// partitions in order, elements in order within each), grouped per key
    /// on the map side, each key's lists concatenated after the exchange.
    group_by_key<K: ShuffleKey, V: Element>: Grouper<K, V> [Run<K, V>] = |n, elements, keys| Grouper::new(n, keys, elements)
        => (K, Vec<V>) = |buckets, out| run_part(group_runs_in_order(buckets).into_iter().map(|(k, vs)| (k, vs.into_vec())), out);
}

/// The distinct values of one reduce partition's buckets.
fn union_of<T: Hash + Eq, U>(mut buckets: Vec<Vec<T>>, reduce_side: &impl Fn(T, &mut Vec<U>)) -> Vec<U> {
    if buckets.len() <= 1 {
        // One map task's values are distinct already.
        return run_part(buckets.pop().unwrap_or_default(), reduce_side);
    }
    let largest = buckets.iter().map(Vec::len).max().unwrap_or(0);
    // Filled in the order of the map side's sets: another seed (see
    // `partitioner`).
    let mut set = hashbrown::HashSet::with_capacity_and_hasher(largest, merge_state());
    set.extend(buckets.into_iter().flatten());
    run_part(set, reduce_side)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{assert_stage_panicked, one_op_stages, plan_ctx, test_ctx};

    fn words() -> Batch<&'static str> {
        Batch::from_partitions(vec![vec!["a", "b", "a"], vec!["c", "a"], vec![], vec!["b", "d", "a"]])
    }

    #[test]
    fn reduce_by_key_counts_words() {
        let ctx = test_ctx(3);
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
        let ctx = test_ctx(4);
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
        let ctx = test_ctx(2);
        let counts = count_by_value(&ctx, 0, words(), |w, c| c.push(w), None, |p, out| out.push(p)).unwrap();
        assert_eq!(counts.sorted(), vec![("a", 4), ("b", 2), ("c", 1), ("d", 1)]);
        let d = distinct(&ctx, 0, words(), |w, d| d.push(w), None, |w, out| out.push(w)).unwrap();
        assert_eq!(d.sorted(), vec!["a", "b", "c", "d"]);
    }

    #[test]
    fn group_by_key_keeps_arrival_order_across_map_partitions() {
        let ctx = test_ctx(3);
        let input = Batch::from_partitions(vec![
            vec![("k", 1), ("j", 10), ("k", 2)],
            vec![("k", 3)],
            vec![("j", 11), ("k", 4), ("k", 5)],
        ]);
        let out = group_by_key(&ctx, 0, input, |p, g| g.push(p), None, |g, out| out.push(g)).unwrap();
        assert_eq!(out.sorted(), vec![("j", vec![10, 11]), ("k", vec![1, 2, 3, 4, 5])]);
    }

    /// The output, partitions and element order included, is that of every
    /// pair listed in map-task order and grouped in first-arrival order (what
    /// a map side that kept every pair gave): over several partitions of
    /// several chunks each, with many keys in every chunk.
    #[test]
    fn group_by_key_output_is_every_pair_grouped_in_arrival_order() {
        let ctx = test_ctx(4);
        let parts: Vec<Vec<(u32, u32)>> = (0..3u32)
            .map(|p| {
                let len = 2 * CHUNK as u32 + 777 * p;
                (0..len)
                    .map(|i| ((i ^ p).wrapping_mul(2_654_435_761) % 5003, p * 1_000_000 + i))
                    .collect()
            })
            .collect();
        let out = group_by_key(
            &ctx,
            0,
            Batch::from_partitions(parts.clone()),
            |p, g| g.push(p),
            Some(4),
            |g, out| out.push(g),
        )
        .unwrap();
        let mut expected: Vec<Vec<(u32, Vec<u32>)>> = vec![Vec::new(); 4];
        let mut at: Vec<std::collections::HashMap<u32, usize>> = vec![Default::default(); 4];
        for (k, v) in parts.into_iter().flatten() {
            let r = crate::shuffle::partitioner::partition_of(&k, 4);
            match at[r].get(&k) {
                Some(&i) => expected[r][i].1.push(v),
                None => {
                    at[r].insert(k, expected[r].len());
                    expected[r].push((k, vec![v]));
                }
            }
        }
        assert_eq!(out.partitions(), &expected[..]);
    }

    #[test]
    fn combine_by_key_builds_combiners() {
        let ctx = test_ctx(2);
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
    fn a_chunk_starts_at_the_size_its_predecessor_reached() {
        let mut seen = KeysSeen::default();
        assert_eq!(seen.expected(CHUNK), CHUNK, "nothing seen yet: one key per element");
        assert_eq!(seen.expected(10), 10);
        seen.record(1000, 300);
        assert_eq!(seen.expected(1000), 300);
        assert_eq!(seen.expected(500), 150);
        assert_eq!(seen.expected(5000), 300, "never more than it had");
        seen.record(usize::MAX, usize::MAX);
        assert_eq!(seen.expected(CHUNK), CHUNK);
    }

    #[test]
    fn partitions_of_many_chunks_count_exactly() {
        let ctx = test_ctx(3);
        // Two partitions, the first of 3 chunks and a bit: every chunk after
        // the first starts from its predecessor's size.
        let first: Vec<u32> = (0..3 * CHUNK as u32 + 5).map(|i| i % 1000).collect();
        let second: Vec<u32> = (0..100).collect();
        let input = Batch::from_partitions(vec![first.clone(), second.clone()]);
        let add = |a: u64, b: u64| a + b;
        let counts = reduce_by_key(
            &ctx,
            0,
            input,
            |k, c| c.push((k, 1u64)),
            &add,
            None,
            |p, out| out.push(p),
        )
        .unwrap();
        let mut expected = std::collections::BTreeMap::new();
        for k in first.into_iter().chain(second) {
            *expected.entry(k).or_insert(0u64) += 1;
        }
        assert_eq!(counts.sorted(), expected.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn a_panic_in_the_reduce_function_fails_the_batch() {
        let ctx = plan_ctx(one_op_stages(file!(), &[("map", 5), ("reduce_by_key", 6)]), 2);
        let input = Batch::from_partitions(vec![vec![("a", 1)], vec![("a", 2)]]);
        let result = reduce_by_key(
            &ctx,
            0,
            input,
            |p, c| c.push(p),
            &|_: i32, _: i32| -> i32 { panic!("no") },
            None,
            |p, out| out.push(p),
        );
        // The merge after the exchange runs in stage 2.
        assert_stage_panicked(result, 2, "no");
    }
}
