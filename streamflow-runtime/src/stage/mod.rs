//! Narrow stages and whole-batch boundaries: running a fused per-element
//! function over every partition of a batch, in parallel on the current rayon
//! pool, with panics turned into errors that name the stage's operator.
//!
//! CONTRACT (for the runtime implementer): the code the macro generates calls
//! these functions with exactly these signatures. `stage` is the 0-based index
//! into `ctx.plan.stages` of the first stage the call runs; a call with `n`
//! map sides runs stages `stage .. stage + n` for them and `stage + n` for its
//! reduce side. Every `map_side`/`reduce_side` is a per-element function:
//! `f(element, &mut collector)`; the runtime calls it for every element of a
//! partition, in order, in one task per partition.

mod input;

pub use input::StageInput;

use crate::runner::Runner;
use crate::{Batch, BatchContext, BatchError};

/// Runs `f` over every element of one partition into a new vector.
#[inline]
pub(crate) fn run_part<P: IntoIterator, U>(part: P, f: impl Fn(P::Item, &mut Vec<U>)) -> Vec<U> {
    let iter = part.into_iter();
    // Exact for `map`; a filter wastes at most the input's size, once.
    let mut out = Vec::with_capacity(iter.size_hint().0);
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

/// Runs `f` over every element of every partition, one task per partition.
pub(crate) fn narrow_with<Rn: Runner, S: StageInput, U: Send>(
    runner: &Rn,
    stage: usize,
    input: S,
    f: impl Fn(S::Item, &mut Vec<U>) + Sync,
) -> Result<Vec<Vec<U>>, Rn::Error> {
    runner.tasks(stage, input.into_parts(), |part| run_part(part, &f))
}

/// A run of narrow operators from a materialized batch to a materialized batch.
pub fn narrow<S, U, F>(ctx: &BatchContext<'_>, stage: usize, input: S, f: F) -> Result<Batch<U>, BatchError>
where
    S: StageInput,
    U: Send,
    F: Fn(S::Item, &mut Vec<U>) + Sync,
{
    narrow_with(ctx, stage, input, f).map(Batch::from_partitions)
}

/// `glom`: each partition becomes one element, the vector of its elements.
pub fn glom<S, T, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: StageInput,
    T: Send,
    U: Send,
    M: Fn(S::Item, &mut Vec<T>) + Sync,
    C: Fn(Vec<T>, &mut Vec<U>) + Sync,
{
    let runner = ctx;
    let parts = narrow_with(&runner, stage, input, map_side)?;
    runner
        .tasks(stage + 1, parts, |part| {
            let mut out = Vec::with_capacity(1);
            reduce_side(part, &mut out);
            out
        })
        .map(Batch::from_partitions)
}

/// `map_partitions(f)`: `f` gets each whole partition and returns its new elements.
pub fn map_partitions<S, T, I, U, M, F, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    f: &F,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: StageInput,
    T: Send,
    U: Send,
    I: IntoIterator,
    M: Fn(S::Item, &mut Vec<T>) + Sync,
    F: Fn(Vec<T>) -> I + Sync,
    C: Fn(I::Item, &mut Vec<U>) + Sync,
{
    let runner = ctx;
    let parts = narrow_with(&runner, stage, input, map_side)?;
    runner
        .tasks(stage + 1, parts, |part| run_part(f(part), &reduce_side))
        .map(Batch::from_partitions)
}

/// `union(other)`: the left batch's partitions followed by the right's.
#[allow(clippy::too_many_arguments)]
pub fn union<S1, S2, T, U, M1, M2, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    left: S1,
    left_map: M1,
    right: S2,
    right_map: M2,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S1: StageInput,
    S2: StageInput,
    T: Send,
    U: Send,
    M1: Fn(S1::Item, &mut Vec<T>) + Sync,
    M2: Fn(S2::Item, &mut Vec<T>) + Sync,
    C: Fn(T, &mut Vec<U>) + Sync,
{
    let runner = ctx;
    let mut parts = narrow_with(&runner, stage, left, left_map)?;
    parts.extend(narrow_with(&runner, stage + 1, right, right_map)?);
    runner
        .tasks(stage + 2, parts, |part| run_part(part, &reduce_side))
        .map(Batch::from_partitions)
}

/// `transform(f)`: `f` gets the whole batch (on the calling thread) and returns
/// a new one.
pub fn transform<S, T, V, U, M, F, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    input: S,
    map_side: M,
    f: &F,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S: StageInput,
    T: Send,
    V: Send,
    U: Send,
    M: Fn(S::Item, &mut Vec<T>) + Sync,
    F: Fn(Batch<T>) -> Batch<V>,
    C: Fn(V, &mut Vec<U>) + Sync,
{
    let runner = ctx;
    let batch = Batch::from_partitions(narrow_with(&runner, stage, input, map_side)?);
    let transformed = runner.call(stage + 1, || f(batch))?;
    narrow_with(&runner, stage + 1, transformed, reduce_side).map(Batch::from_partitions)
}

/// `transform_with(other, f)`: `f` gets both streams' batches of the same time.
#[allow(clippy::too_many_arguments)]
pub fn transform_with<S1, S2, T, W, V, U, M1, M2, F, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    left: S1,
    left_map: M1,
    right: S2,
    right_map: M2,
    f: &F,
    reduce_side: C,
) -> Result<Batch<U>, BatchError>
where
    S1: StageInput,
    S2: StageInput,
    T: Send,
    W: Send,
    V: Send,
    U: Send,
    M1: Fn(S1::Item, &mut Vec<T>) + Sync,
    M2: Fn(S2::Item, &mut Vec<W>) + Sync,
    F: Fn(Batch<T>, Batch<W>) -> Batch<V>,
    C: Fn(V, &mut Vec<U>) + Sync,
{
    let runner = ctx;
    let l = Batch::from_partitions(narrow_with(&runner, stage, left, left_map)?);
    let r = Batch::from_partitions(narrow_with(&runner, stage + 1, right, right_map)?);
    let transformed = runner.call(stage + 2, || f(l, r))?;
    narrow_with(&runner, stage + 2, transformed, reduce_side).map(Batch::from_partitions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{config, ctx, empty_plan, op, op_lines, plan};

    fn parts() -> Batch<i32> {
        Batch::from_partitions(vec![vec![1, 2], vec![3], vec![4, 5, 6]])
    }

    #[test]
    fn narrow_keeps_partitions_and_order() {
        let config = config(4);
        let ctx = ctx(empty_plan(), &config);
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
        let config = config(4);
        let ctx = ctx(empty_plan(), &config);
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
        let u = union(
            &ctx,
            0,
            Batch::from_partitions(vec![vec![1], vec![2]]),
            |x, out| out.push(x),
            Batch::from_vec(vec![7, 8]),
            |x, out| out.push(x * 10),
            |x, out| out.push(x + 1),
        )
        .unwrap();
        assert_eq!(u.partitions(), &[vec![2], vec![3], vec![71, 81]]);
    }

    #[test]
    fn transform_calls_f_once_with_the_whole_batch() {
        let config = config(2);
        let ctx = ctx(empty_plan(), &config);
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
            &|l: Batch<(i32, ())>, r: Batch<(i32, &str)>| l.join(r, None).map(|(k, (_, s))| (k, s)),
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
