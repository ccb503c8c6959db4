//! Stages: running the fused per-element loops the macro generates over every
//! partition of a batch, one task per partition, through a [`Runner`].
//!
//! CONTRACT (for the runtime implementer): the code the macro generates calls
//! every operator as `op(runner, stage, [state], (input, map_side)+,
//! [functions], [partitions], [snapshots], reduce_side)` (see
//! `docs/architecture.md`). `stage` is the 0-based index into the plan's
//! stages of the first stage the call runs; a call with `n` map sides runs
//! stages `stage .. stage + n` for them and `stage + n` for its reduce side.
//! Every `map_side`/`reduce_side` is a per-element function
//! `f(element, &mut collector)` (see [`bounds`]); the runtime calls it for
//! every element of a partition, in order, in one task per partition.

// The contract fixes every operator's argument list (see `stage`).
#![allow(clippy::too_many_arguments)]

pub mod bounds;
mod free;
mod input;
mod many;
mod narrow;

pub use free::free_later;
pub use input::StageInput;
pub use many::{
    BatchesAtTime, BatchesFn, BatchesOnly, MAX_STREAMS, transform_with, transform_with3, transform_with4,
    transform_with5, transform_with6, transform_with7, transform_with8, union, union3, union4, union5, union6, union7,
    union8,
};
pub use narrow::{glom, map_partitions, narrow, transform};

pub(crate) use narrow::narrow_parts;

use crate::runner::Runner;

/// How many elements of a partition [`run_part`] runs before it sizes the
/// partition's output.
const SAMPLE: usize = 1024;

/// The largest rate of output to input elements [`run_part`] sizes for.
const MAX_RATE: f64 = 8.0;

/// Runs `f` over every element of one partition into a new vector.
///
/// The output is sized once, after the first [`SAMPLE`] elements: for as
/// many elements as the input (exact for `map`; a filter wastes at most the
/// input's size), or, when the sample yielded more than it read (a
/// `flat_map`), for the whole input at the rate seen plus an eighth.
/// Doubling a full output instead copies it and touches its memory again:
/// a 6-operator chain yielding 1.07 elements per input ran 1.6× slower for it.
#[inline]
pub(crate) fn run_part<P: IntoIterator, U>(part: P, f: impl Fn(P::Item, &mut Vec<U>)) -> Vec<U> {
    let mut iter = part.into_iter();
    let expected = iter.size_hint().0;
    let sample = expected.min(SAMPLE);
    let mut first = Vec::with_capacity(sample);
    for x in iter.by_ref().take(sample) {
        f(x, &mut first);
    }
    if expected <= sample {
        // The whole partition (or an iterator that does not know its length).
        for x in iter {
            f(x, &mut first);
        }
        return first;
    }
    let capacity = if first.len() > sample {
        // A sample that expands more than 8× may not speak for the rest:
        // beyond that the vector grows as it needs.
        let rate = (first.len() as f64 / sample as f64).min(MAX_RATE);
        (expected as f64 * rate * 1.125) as usize
    } else {
        expected
    };
    let mut out = Vec::new();
    // An estimate the allocator refuses is no reason to fail: the vector
    // then grows as it needs.
    if out.try_reserve_exact(capacity.max(first.len())).is_err() {
        out.reserve(first.len());
    }
    out.append(&mut first);
    for x in iter {
        f(x, &mut out);
    }
    out
}

/// Feeds every element of one partition through a fused map side into
/// `collector` (a combiner, a grouper, a counter...), and gives it back.
#[inline]
pub(crate) fn feed<P: IntoIterator, C>(part: P, mut collector: C, map_side: impl Fn(P::Item, &mut C)) -> C {
    for x in part {
        map_side(x, &mut collector);
    }
    collector
}

/// The reduce side of a stage over parts `parts`, as a batch: one task per
/// part, each one's elements through `reduce_side` in order.
pub(crate) fn reduce_parts<Rn, P, U>(
    runner: &Rn,
    stage: usize,
    parts: Vec<P>,
    reduce_side: impl Fn(P::Item, &mut Vec<U>) + Sync,
) -> Result<crate::Batch<U>, Rn::Error>
where
    Rn: Runner,
    P: IntoIterator + Send,
    U: Send,
{
    runner
        .tasks(stage, parts, |part| run_part(part, &reduce_side))
        .map(crate::Batch::from_partitions)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Odd numbers twice, even ones once: 1.5 elements per input.
    fn expand(x: u64, out: &mut Vec<u64>) {
        out.push(x);
        if x % 2 == 1 {
            out.push(x);
        }
    }

    #[test]
    fn an_expanding_chain_is_sized_from_its_sample_and_never_doubles() {
        let n = 100_000u64;
        let out = run_part(0..n, expand);
        let by_hand: Vec<u64> = (0..n)
            .flat_map(|x| if x % 2 == 1 { vec![x, x] } else { vec![x] })
            .collect();
        assert_eq!(out, by_hand);
        // 1.5 × 1.125 of the input, where doubling a full output gives 2×.
        assert_eq!(out.len(), 150_000);
        assert!(
            out.capacity() >= out.len() && out.capacity() <= 168_750,
            "{}",
            out.capacity()
        );
    }

    #[test]
    fn an_exploding_sample_reserves_at_most_eight_times_the_input() {
        // The first 1024 elements yield 100 each, the rest nothing.
        let out = run_part(0..10_000u64, |x, out| {
            if x < 1024 {
                out.extend(std::iter::repeat_n(x, 100));
            }
        });
        assert_eq!(out.len(), 102_400);
        assert!(out.capacity() <= 90_000 * 2, "{}", out.capacity());
        assert_eq!(out.iter().filter(|&&x| x == 1023).count(), 100);
    }

    #[test]
    fn maps_filters_and_small_partitions_keep_their_exact_sizes() {
        let mapped = run_part(0..10_000u64, |x, out| out.push(x * 3));
        assert_eq!(mapped, (0..10_000u64).map(|x| x * 3).collect::<Vec<_>>());
        assert_eq!(mapped.capacity(), 10_000);
        // A filter keeps room for the input: it never grows.
        let filtered = run_part(0..10_000u64, |x, out| {
            if x >= 5_000 {
                out.push(x)
            }
        });
        assert_eq!(filtered, (5_000..10_000u64).collect::<Vec<_>>());
        assert_eq!(filtered.capacity(), 10_000);
        let small = run_part(0..10u64, expand);
        assert_eq!(small, vec![0, 1, 1, 2, 3, 3, 4, 5, 5, 6, 7, 7, 8, 9, 9]);
        assert_eq!(run_part(Vec::<u64>::new(), expand), Vec::<u64>::new());
        // An iterator that does not know its length.
        let unknown = run_part((0..3000u64).filter(|x| x % 3 == 0), expand);
        assert_eq!(unknown.len(), 1500);
    }
}
