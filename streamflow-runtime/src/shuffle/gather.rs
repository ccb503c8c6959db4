//! The gathers to one partition: `count` and `reduce`. Each map task
//! (stage `stage`) reduces its partition to at most one value, the exchange
//! (part of stage `stage`) moves those to a single partition, and one task
//! (stage `stage + 1`) combines them in partition order.

use super::collectors::{Counter, Reducer};
use super::shuffle;
use crate::Batch;
use crate::runner::Moves;
use crate::stage::bounds::{Element, MapSide, ReduceFn, ReduceSide};
use crate::stage::{StageInput, feed, run_part};

/// Every map task's partial value (if any) gathered into one partition, where
/// `combine` makes the output from them, in partition order.
fn gather<Rn, P, X, U>(
    runner: &Rn,
    stage: usize,
    parts: Vec<P>,
    partial: impl Fn(P) -> Option<X> + Sync,
    combine: impl Fn(Vec<X>) -> Vec<U> + Sync,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Moves<X>,
    P: Send,
    X: Send,
    U: Send,
{
    // On a cluster, only the owner of the one output partition combines
    // (`count` makes its 0 from no input: once, not once per process).
    let owned = runner.owns(0, 1);
    shuffle(
        runner,
        stage,
        parts,
        1,
        |part| vec![partial(part).into_iter().collect()],
        |buckets| {
            if owned {
                combine(buckets.into_iter().flatten().collect())
            } else {
                Vec::new()
            }
        },
    )
}

/// `count()`: one element, the number of elements (0 for an empty batch).
/// Stages: `stage` the count per partition and the gather, `stage + 1` the
/// sum and the reduce side.
pub fn count<Rn, S: StageInput, U: Element>(
    runner: &Rn,
    stage: usize,
    input: S,
    map_side: impl MapSide<S::Item, Counter>,
    reduce_side: impl ReduceSide<u64, U>,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Moves<u64>,
{
    let partial = |part: S::Part| Some(feed(part, Counter::new(), &map_side).count);
    gather(runner, stage, input.into_parts(), partial, |counts| {
        run_part([counts.into_iter().sum::<u64>()], &reduce_side)
    })
}

/// `reduce(f)`: one element, or none for an empty batch. Partition order is
/// kept, so a non-commutative `f` gives the same result run after run.
/// Stages: `stage` the reduce per partition and the gather, `stage + 1` the
/// reduce of the partitions' values and the reduce side.
pub fn reduce<'f, Rn, S: StageInput, T: Element, R: ReduceFn<T>, U: Element>(
    runner: &Rn,
    stage: usize,
    input: S,
    map_side: impl MapSide<S::Item, Reducer<'f, T, R>>,
    f: &'f R,
    reduce_side: impl ReduceSide<T, U>,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Moves<T>,
{
    let partial = |part: S::Part| feed(part, Reducer::new(f), &map_side).into_value();
    gather(runner, stage, input.into_parts(), partial, |values| {
        run_part(values.into_iter().reduce(f), &reduce_side)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::test_ctx;

    #[test]
    fn count_and_reduce_of_empty_and_full_batches() {
        let ctx = test_ctx(2);
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
}
