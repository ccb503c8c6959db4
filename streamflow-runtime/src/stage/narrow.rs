//! The operators that move no data between partitions: narrow runs, and the
//! whole-partition and whole-batch boundaries (`glom`, `map_partitions`,
//! `transform`; `transform_with` and `union` are in `many`).

use super::bounds::{Element, MapSide, ReduceSide, TransformFn};
use super::{StageInput, reduce_parts, run_part};
use crate::Batch;
use crate::runner::driver;
use crate::runner::{Indexed, Moves, Runner};

/// Runs `f` over every element of every partition of `input`, one task per
/// partition of stage `stage`.
pub(crate) fn narrow_parts<Rn: Runner, S: StageInput, U: Element>(
    runner: &Rn,
    stage: usize,
    input: S,
    f: impl MapSide<S::Item, Vec<U>>,
) -> Result<Vec<Vec<U>>, Rn::Error> {
    runner.tasks(stage, input.into_parts(), |part| run_part(part, &f))
}

/// A run of narrow operators from a materialized batch to a materialized
/// batch, in stage `stage`; partitions are kept.
pub fn narrow<Rn: Runner, S: StageInput, U: Element>(
    runner: &Rn,
    stage: usize,
    input: S,
    f: impl MapSide<S::Item, Vec<U>>,
) -> Result<Batch<U>, Rn::Error> {
    narrow_parts(runner, stage, input, f).map(Batch::from_partitions)
}

/// `glom`: each partition becomes one element, the vector of its elements.
/// Stages: `stage` the map side, `stage + 1` the reduce side.
///
/// On a cluster an empty partition becomes its (empty) element on its owner
/// only, as `count`'s 0 is made (see [`here`]).
pub fn glom<Rn: Runner, S: StageInput, T: Element, U: Element>(
    runner: &Rn,
    stage: usize,
    input: S,
    map_side: impl MapSide<S::Item, Vec<T>>,
    reduce_side: impl ReduceSide<Vec<T>, U>,
) -> Result<Batch<U>, Rn::Error> {
    let parts = narrow_parts(runner, stage, input, map_side)?;
    let n = parts.len();
    reduce_parts(
        runner,
        stage + 1,
        parts
            .into_iter()
            .enumerate()
            .map(|(p, part)| here(runner, p, n, &part).then_some(part))
            .collect(),
        reduce_side,
    )
}

/// `map_partitions(f)`: `f` gets each whole partition and returns its new
/// elements. Stages: `stage` the map side, `stage + 1` `f` and the reduce side.
///
/// On a cluster `f` gets an empty partition on its owner only (see
/// [`here`]), so that elements it makes from nothing are made once.
pub fn map_partitions<Rn: Runner, S: StageInput, T: Element, I: IntoIterator, U: Element>(
    runner: &Rn,
    stage: usize,
    input: S,
    map_side: impl MapSide<S::Item, Vec<T>>,
    f: &(impl Fn(Vec<T>) -> I + Sync),
    reduce_side: impl ReduceSide<I::Item, U>,
) -> Result<Batch<U>, Rn::Error> {
    let parts = narrow_parts(runner, stage, input, map_side)?;
    let n = parts.len();
    let parts: Vec<(usize, Vec<T>)> = parts.into_iter().enumerate().collect();
    runner
        .tasks(stage + 1, parts, |(p, part)| {
            if here(runner, p, n, &part) {
                run_part(f(part), &reduce_side)
            } else {
                Vec::new()
            }
        })
        .map(Batch::from_partitions)
}

/// Whether partition `p` of `n` is handed to a whole-partition function on
/// this process: when it has elements here, or when it is empty and this
/// process owns it (always, in one process). On a cluster the other
/// processes hold it empty, and a function of it would make elements from
/// nothing once per process.
fn here<Rn: Runner, T>(runner: &Rn, p: usize, n: usize, part: &[T]) -> bool {
    !part.is_empty() || runner.owns(p, n)
}

/// `transform(f)`: `f` gets the whole batch (on the calling thread), and the
/// batch time if it takes two arguments, and returns a new batch. Stages:
/// `stage` the map side, `stage + 1` `f` and the reduce side.
///
/// On a cluster `f` runs on process 0 only, as on Spark's driver: the batch
/// is gathered there in partition order, and `f`'s result is scattered back
/// to its partitions' owners (`runner::driver`).
pub fn transform<Rn, S: StageInput, T: Element, V: Element, U: Element, Form>(
    runner: &Rn,
    stage: usize,
    input: S,
    map_side: impl MapSide<S::Item, Vec<T>>,
    f: &impl TransformFn<T, V, Form>,
    reduce_side: impl ReduceSide<V, U>,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Moves<Indexed<T>> + Moves<Indexed<V>>,
{
    let batch = narrow(runner, stage, input, map_side)?;
    let gathered = driver::gather(runner, stage + 1, batch)?;
    let transformed = driver::on_driver(runner, stage + 1, gathered, |batch| f.transform(batch, runner.time()))?;
    narrow(runner, stage + 1, transformed, reduce_side)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{config, ctx, op, op_lines, plan, test_ctx};
    use crate::stage::{transform_with, union};

    fn parts() -> Batch<i32> {
        Batch::from_partitions(vec![vec![1, 2], vec![3], vec![4, 5, 6]])
    }

    #[test]
    fn narrow_keeps_partitions_and_order() {
        let ctx = test_ctx(4);
        let out = narrow(&ctx, 0, parts(), |x, out| {
            if x % 2 == 0 {
                out.push(x * 10)
            }
        })
        .unwrap();
        assert_eq!(out.partitions(), &[vec![20], vec![], vec![40, 60]]);
        // A shared batch yields references.
        let shared = parts();
        let out = narrow(&ctx, 0, &shared, |x: &i32, out| out.push(*x + 1)).unwrap();
        assert_eq!(out.collect(), vec![2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn glom_map_partitions_and_union() {
        let ctx = test_ctx(4);
        let g = glom(&ctx, 0, parts(), |x, out| out.push(x), |v, out| out.push(v)).unwrap();
        assert_eq!(g.collect(), vec![vec![1, 2], vec![3], vec![4, 5, 6]]);
        let sums = map_partitions(
            &ctx,
            0,
            parts(),
            |x, out| out.push(x),
            &|v: Vec<i32>| [v.iter().sum::<i32>()],
            |s, out| out.push(s),
        )
        .unwrap();
        assert_eq!(sums.collect(), vec![3, 3, 15]);
        // `union` runs the batches' union (the function the macro passes).
        let u = union(
            &ctx,
            0,
            Batch::from_partitions(vec![vec![1], vec![2]]),
            |x, out| out.push(x),
            Batch::from_vec(vec![7, 8]),
            |x, out| out.push(x * 10),
            &crate::typing::union_batches,
            |x, out| out.push(x + 1),
        )
        .unwrap();
        assert_eq!(u.partitions(), &[vec![2], vec![3], vec![71, 81]]);
    }

    #[test]
    fn transform_calls_f_once_with_the_whole_batch() {
        let ctx = test_ctx(2);
        let calls = std::cell::Cell::new(0);
        let out = transform(
            &ctx,
            0,
            parts(),
            |x, out| out.push(x),
            &|b: Batch<i32>| {
                calls.set(calls.get() + 1);
                Batch::from_vec(vec![b.len() as i32])
            },
            |n, out| out.push(n * 2),
        )
        .unwrap();
        assert_eq!(calls.get(), 1);
        assert_eq!(out.collect(), vec![12]);
        let out = transform_with(
            &ctx,
            0,
            parts(),
            |x, out| out.push((x, ())),
            Batch::from([(2, "two"), (5, "five")]),
            |x, out| out.push(x),
            &|l: Batch<(i32, ())>, r: Batch<(i32, &'static str)>| l.join(r, None).map(|(k, (_, s))| (k, s)),
            |x, out| out.push(x),
        )
        .unwrap();
        assert_eq!(out.sorted(), vec![(2, "two"), (5, "five")]);
    }

    #[test]
    fn a_panicking_closure_names_its_operator() {
        let map_line = line!() + 1;
        let f = |x: i32, out: &mut Vec<i32>| {
            if x == 3 { panic!("bad element {x}") } else { out.push(x) }
        };
        let end_line = line!() - 1;
        let plan = plan(
            file!(),
            vec![vec![op_lines("map", map_line, end_line), op("filter", end_line + 1)]],
        );
        let config = config(2);
        let err = narrow(&ctx(plan, &config), 0, parts(), f).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "batch 1000 ms failed: `map` at {}:{map_line} panicked: bad element 3",
                file!()
            )
        );
    }

    fn helper_that_panics(x: i32) -> i32 {
        if x > 0 {
            panic!("helper saw {x}");
        }
        x
    }

    #[test]
    fn a_panic_outside_operators_names_the_stage() {
        let plan = plan(
            file!(),
            vec![vec![op("map", 12), op("filter", 13)], vec![op("reduce_by_key", 14)]],
        );
        let config = config(2);
        let err = narrow(&ctx(plan, &config), 0, parts(), |x, out| {
            out.push(helper_that_panics(x))
        })
        .unwrap_err();
        // Every partition panics: the first one's is reported.
        match &err {
            crate::BatchError::StagePanicked {
                stage,
                operators,
                location,
                message,
                ..
            } => {
                assert_eq!(*stage, 1);
                assert_eq!(operators, "map (line 12), filter (line 13)");
                assert!(location.starts_with(file!()), "{location}");
                assert_eq!(message, "helper saw 1");
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with("batch 1000 ms failed in stage 1 (map (line 12), filter (line 13)): panicked at "),
            "{err}"
        );
        // The reduce side of a whole-batch boundary is the next stage.
        let err = glom(
            &ctx(plan, &config),
            0,
            parts(),
            |x, out| out.push(x),
            |v, out: &mut Vec<i32>| out.push(helper_that_panics(v.len() as i32)),
        )
        .unwrap_err();
        assert!(
            matches!(err, crate::BatchError::StagePanicked { stage: 2, .. }),
            "{err}"
        );
    }
}
