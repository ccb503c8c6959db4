//! The join family and `cogroup`: both sides are shuffled by key with the same
//! partitioner (so they are co-partitioned), then each reduce partition pairs
//! the two sides' values per key.
//!
//! CONTRACT: see `stage.rs`. Stages: `stage` (left map side), `stage + 1`
//! (right map side), `stage + 2` (reduce side). For a key, pairs come out as
//! `for v in left_values { for w in right_values { (k, (v, w)) } }`, values in
//! arrival order.

use crate::runner::Runner;
use crate::runner::transpose;
use crate::shuffle::collectors::Grouper;
use crate::shuffle::group_part;
use crate::shuffle::merge::{CoGroup, cogroup_in_order, cross};
use crate::{Batch, BatchContext, BatchError, StageInput};
use std::hash::Hash;

/// How one join variant turns a key's values on both sides into output pairs.
pub(crate) trait JoinKind<K, V, W> {
    /// The value half of an output pair.
    type Out;
    /// Emits the pairs of one key.
    fn emit(group: CoGroup<K, V, W>, out: impl FnMut((K, Self::Out)));
}

/// Inner join.
pub(crate) struct Inner;
/// Left outer join.
pub(crate) struct LeftOuter;
/// Right outer join.
pub(crate) struct RightOuter;
/// Full outer join.
pub(crate) struct FullOuter;
/// Cogroup.
pub(crate) struct CoGroupKind;

impl<K: Clone, V: Clone, W: Clone> JoinKind<K, V, W> for Inner {
    type Out = (V, W);
    #[inline]
    fn emit((k, vs, ws): CoGroup<K, V, W>, mut out: impl FnMut((K, (V, W)))) {
        cross(k, vs, ws, |k, v, w| out((k, (v, w))));
    }
}

impl<K: Clone, V: Clone, W: Clone> JoinKind<K, V, W> for LeftOuter {
    type Out = (V, Option<W>);
    #[inline]
    fn emit((k, vs, ws): CoGroup<K, V, W>, mut out: impl FnMut((K, (V, Option<W>)))) {
        if ws.is_empty() {
            emit_one_side(k, vs, |k, v| out((k, (v, None))));
        } else {
            cross(k, vs, ws, |k, v, w| out((k, (v, Some(w)))));
        }
    }
}

impl<K: Clone, V: Clone, W: Clone> JoinKind<K, V, W> for RightOuter {
    type Out = (Option<V>, W);
    #[inline]
    fn emit((k, vs, ws): CoGroup<K, V, W>, mut out: impl FnMut((K, (Option<V>, W)))) {
        if vs.is_empty() {
            emit_one_side(k, ws, |k, w| out((k, (None, w))));
        } else {
            cross(k, vs, ws, |k, v, w| out((k, (Some(v), w))));
        }
    }
}

impl<K: Clone, V: Clone, W: Clone> JoinKind<K, V, W> for FullOuter {
    type Out = (Option<V>, Option<W>);
    #[inline]
    fn emit((k, vs, ws): CoGroup<K, V, W>, mut out: impl FnMut((K, (Option<V>, Option<W>)))) {
        if ws.is_empty() {
            emit_one_side(k, vs, |k, v| out((k, (Some(v), None))));
        } else if vs.is_empty() {
            emit_one_side(k, ws, |k, w| out((k, (None, Some(w)))));
        } else {
            cross(k, vs, ws, |k, v, w| out((k, (Some(v), Some(w)))));
        }
    }
}

impl<K, V, W> JoinKind<K, V, W> for CoGroupKind {
    type Out = (Vec<V>, Vec<W>);
    #[inline]
    fn emit((k, vs, ws): CoGroup<K, V, W>, mut out: impl FnMut((K, (Vec<V>, Vec<W>)))) {
        out((k, (vs, ws)));
    }
}

/// Emits `(k, x)` for every value of a key that has values on one side only.
#[inline]
fn emit_one_side<K: Clone, X>(key: K, xs: Vec<X>, mut out: impl FnMut(K, X)) {
    let n = xs.len();
    let mut xs = xs.into_iter();
    for _ in 1..n {
        if let Some(x) = xs.next() {
            out(key.clone(), x);
        }
    }
    if let Some(x) = xs.next() {
        out(key, x);
    }
}

/// The join skeleton: both map sides group into the same `n` partitions with
/// the same partitioner, then each reduce task cogroups and emits.
#[allow(clippy::too_many_arguments)]
pub(crate) fn join_with<J, Rn, S1, S2, K, V, W, U, M1, M2, C>(
    runner: &Rn,
    stage: usize,
    left: S1,
    left_map: M1,
    right: S2,
    right_map: M2,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Batch<U>, Rn::Error>
where
    J: JoinKind<K, V, W>,
    Rn: Runner,
    S1: StageInput,
    S2: StageInput,
    K: Hash + Eq + Send,
    V: Send,
    W: Send,
    U: Send,
    M1: Fn(S1::Item, &mut Grouper<K, V>) + Sync,
    M2: Fn(S2::Item, &mut Grouper<K, W>) + Sync,
    C: Fn((K, J::Out), &mut Vec<U>) + Sync,
{
    let n = runner.partitions(partitions);
    let l = runner.tasks(stage, left.into_parts(), |part| group_part(part, n, &left_map))?;
    let r = runner.tasks(stage + 1, right.into_parts(), |part| group_part(part, n, &right_map))?;
    let pairs: Vec<_> = transpose(l, n).into_iter().zip(transpose(r, n)).collect();
    runner
        .tasks(stage + 2, pairs, |(l, r)| {
            let groups = cogroup_in_order(l, r);
            let mut out = Vec::with_capacity(groups.len());
            for group in groups {
                J::emit(group, |pair| reduce_side(pair, &mut out));
            }
            out
        })
        .map(Batch::from_partitions)
}

macro_rules! join_fn {
    ($(#[$doc:meta])* $name:ident, $kind:ty, $out:ty) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments, clippy::type_complexity)]
        pub fn $name<S1, S2, K, V, W, U, M1, M2, C>(
            ctx: &BatchContext<'_>,
            stage: usize,
            left: S1,
            left_map: M1,
            right: S2,
            right_map: M2,
            partitions: Option<usize>,
            reduce_side: C,
        ) -> Result<Batch<U>, BatchError>
        where
            S1: StageInput,
            S2: StageInput,
            K: Hash + Eq + Clone + Send,
            V: Clone + Send,
            W: Clone + Send,
            U: Send,
            M1: Fn(S1::Item, &mut Grouper<K, V>) + Sync,
            M2: Fn(S2::Item, &mut Grouper<K, W>) + Sync,
            C: Fn((K, $out), &mut Vec<U>) + Sync,
        {
            join_with::<$kind, _, _, _, _, _, _, _, _, _, _>(
                ctx,
                stage,
                left,
                left_map,
                right,
                right_map,
                partitions,
                reduce_side,
            )
        }
    };
}

join_fn!(
    /// `join(other)`: keys present on both sides, every combination of values.
    join,
    Inner,
    (V, W)
);
join_fn!(
    /// `left_outer_join(other)`: every left value; `None` where the right has no value.
    left_outer_join,
    LeftOuter,
    (V, Option<W>)
);
join_fn!(
    /// `right_outer_join(other)`: every right value; `None` where the left has no value.
    right_outer_join,
    RightOuter,
    (Option<V>, W)
);
join_fn!(
    /// `full_outer_join(other)`: every value of either side.
    full_outer_join,
    FullOuter,
    (Option<V>, Option<W>)
);
join_fn!(
    /// `cogroup(other)`: per key, all left values and all right values.
    cogroup,
    CoGroupKind,
    (Vec<V>, Vec<W>)
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{config, ctx, empty_plan};

    fn left() -> Batch<(&'static str, i32)> {
        Batch::from_partitions(vec![vec![("a", 1), ("b", 5)], vec![("a", 2)]])
    }

    fn right() -> Batch<(&'static str, char)> {
        Batch::from_partitions(vec![vec![("a", 'x')], vec![("c", 'z'), ("a", 'y')]])
    }

    macro_rules! run {
        ($f:ident) => {{
            let config = config(3);
            let ctx = ctx(empty_plan(), &config);
            $f(
                &ctx,
                0,
                left(),
                |p, g| g.push(p),
                right(),
                |p, g| g.push(p),
                None,
                |p, out| out.push(p),
            )
            .unwrap()
            .sorted()
        }};
    }

    #[test]
    fn join_pairs_every_combination_in_arrival_order() {
        let config = config(3);
        let ctx = ctx(empty_plan(), &config);
        let out = join(
            &ctx,
            0,
            left(),
            |p, g| g.push(p),
            right(),
            |p, g| g.push(p),
            None,
            |p, out| out.push(p),
        )
        .unwrap();
        assert_eq!(out.num_partitions(), 3);
        // Within a key, `for v in left { for w in right }`.
        assert_eq!(
            out.collect(),
            vec![("a", (1, 'x')), ("a", (1, 'y')), ("a", (2, 'x')), ("a", (2, 'y'))]
        );
    }

    #[test]
    fn outer_joins_fill_the_missing_side_with_none() {
        assert_eq!(
            run!(left_outer_join),
            vec![
                ("a", (1, Some('x'))),
                ("a", (1, Some('y'))),
                ("a", (2, Some('x'))),
                ("a", (2, Some('y'))),
                ("b", (5, None)),
            ]
        );
        assert_eq!(
            run!(right_outer_join),
            vec![
                ("a", (Some(1), 'x')),
                ("a", (Some(1), 'y')),
                ("a", (Some(2), 'x')),
                ("a", (Some(2), 'y')),
                ("c", (None, 'z')),
            ]
        );
        assert_eq!(
            run!(full_outer_join),
            vec![
                ("a", (Some(1), Some('x'))),
                ("a", (Some(1), Some('y'))),
                ("a", (Some(2), Some('x'))),
                ("a", (Some(2), Some('y'))),
                ("b", (Some(5), None)),
                ("c", (None, Some('z'))),
            ]
        );
    }

    #[test]
    fn cogroup_lists_every_key_of_either_side() {
        assert_eq!(
            run!(cogroup),
            vec![
                ("a", (vec![1, 2], vec!['x', 'y'])),
                ("b", (vec![5], vec![])),
                ("c", (vec![], vec!['z'])),
            ]
        );
    }

    #[test]
    fn a_panic_on_the_right_map_side_is_stage_two() {
        let plan = crate::fixtures::plan(
            file!(),
            vec![
                vec![crate::fixtures::op("map", 1)],
                vec![crate::fixtures::op("map", 2)],
                vec![crate::fixtures::op("join", 3)],
            ],
        );
        let config = config(2);
        let ctx = ctx(plan, &config);
        let err = join(
            &ctx,
            0,
            left(),
            |p, g| g.push(p),
            right(),
            |p: (&str, char), g: &mut Grouper<&str, char>| {
                if p.1 == 'z' {
                    std::panic::panic_any(7u32)
                }
                g.push(p)
            },
            None,
            |p, out| out.push(p),
        )
        .unwrap_err();
        assert!(
            matches!(&err, BatchError::StagePanicked { stage: 2, message, .. } if message == "Box<dyn Any>"),
            "{err}"
        );
    }
}
