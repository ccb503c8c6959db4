//! The join family and `cogroup`: both sides are shuffled by key with the same
//! partitioner (so they are co-partitioned), then each reduce partition pairs
//! the two sides' values per key.
//!
//! Stages: `stage` (left map side), `stage + 1` (right map side), `stage + 2`
//! (reduce side). For a key, pairs come out as
//! `for v in left_values { for w in right_values { (k, (v, w)) } }`, values in
//! arrival order.

use super::grouper::{Grouper, Run};
use super::merge::{CoGroup, cogroup_in_order, cross};
use super::{exchange_parts, group_part};
use crate::Batch;
use crate::runner::Moves;
use crate::stage::StageInput;
use crate::stage::bounds::{Element, MapSide, ReduceSide, Replicable, ShuffleKey};

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

/// The body of the join family: both map sides bucket their pairs by key
/// with the same partitioner into the same `n` partitions (co-partitioned),
/// then each reduce task cogroups one partition of each side and emits what
/// `J` makes of every key. A side is its input and its map side. Stages:
/// `stage` the left map side and its exchange, `stage + 1` the right one's,
/// `stage + 2` the reduce side.
pub(crate) fn join_by<J, Rn, S1, S2, K, V, W, U>(
    runner: &Rn,
    stage: usize,
    (left, left_map): (S1, impl MapSide<S1::Item, Grouper<K, V>>),
    (right, right_map): (S2, impl MapSide<S2::Item, Grouper<K, W>>),
    partitions: Option<usize>,
    reduce_side: impl ReduceSide<(K, J::Out), U>,
) -> Result<Batch<U>, Rn::Error>
where
    J: JoinKind<K, V, W>,
    Rn: Moves<Run<K, V>> + Moves<Run<K, W>>,
    S1: StageInput,
    S2: StageInput,
    K: ShuffleKey,
    V: Element,
    W: Element,
    U: Element,
{
    let n = runner.partitions(partitions);
    let l = exchange_parts(runner, stage, left.into_parts(), n, |part| {
        group_part(part, n, &left_map)
    })?;
    let r = exchange_parts(runner, stage + 1, right.into_parts(), n, |part| {
        group_part(part, n, &right_map)
    })?;
    let pairs: Vec<_> = l.into_iter().zip(r).collect();
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

/// The join family's operators, one entry each: name, how a key's values
/// are paired, and the value half of an output pair.
macro_rules! join_family {
    ($($(#[$doc:meta])* $name:ident: $kind:ty => $out:ty;)*) => {$(
        $(#[$doc])*
        ///
        /// Stages: `stage` the left map side and its exchange, `stage + 1`
        /// the right one's, `stage + 2` the reduce side; a key's pairs come
        /// out as `for v in left_values { for w in right_values { .. } }`.
        #[allow(clippy::type_complexity)]
        pub fn $name<Rn, S1, S2, K, V, W, U>(
            runner: &Rn,
            stage: usize,
            left: S1,
            left_map: impl MapSide<S1::Item, Grouper<K, V>>,
            right: S2,
            right_map: impl MapSide<S2::Item, Grouper<K, W>>,
            partitions: Option<usize>,
            reduce_side: impl ReduceSide<(K, $out), U>,
        ) -> Result<Batch<U>, Rn::Error>
        where
            Rn: Moves<Run<K, V>> + Moves<Run<K, W>>,
            S1: StageInput,
            S2: StageInput,
            K: ShuffleKey + Clone,
            V: Replicable,
            W: Replicable,
            U: Element,
        {
            let (left, right) = ((left, left_map), (right, right_map));
            join_by::<$kind, _, _, _, _, _, _, _>(runner, stage, left, right, partitions, reduce_side)
        }
    )*};
}

join_family! {
    /// `join(other)`: keys present on both sides, every combination of values.
    join: Inner => (V, W);
    /// `left_outer_join(other)`: every left value; `None` where the right has no value.
    left_outer_join: LeftOuter => (V, Option<W>);
    /// `right_outer_join(other)`: every right value; `None` where the left has no value.
    right_outer_join: RightOuter => (Option<V>, W);
    /// `full_outer_join(other)`: every value of either side.
    full_outer_join: FullOuter => (Option<V>, Option<W>);
    /// `cogroup(other)`: per key, all left values and all right values.
    cogroup: CoGroupKind => (Vec<V>, Vec<W>);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{assert_stage_panicked, one_op_stages, plan_ctx, test_ctx};

    fn left() -> Batch<(&'static str, i32)> {
        Batch::from_partitions(vec![vec![("a", 1), ("b", 5)], vec![("a", 2)]])
    }

    fn right() -> Batch<(&'static str, char)> {
        Batch::from_partitions(vec![vec![("a", 'x')], vec![("c", 'z'), ("a", 'y')]])
    }

    /// `$f` of `left()` and `right()` in 3 partitions, pairs as they are.
    macro_rules! run {
        ($f:ident) => {
            $f(
                &test_ctx(3),
                0,
                left(),
                |p, g| g.push(p),
                right(),
                |p, g| g.push(p),
                None,
                |p, out| out.push(p),
            )
            .unwrap()
        };
    }

    #[test]
    fn join_pairs_every_combination_in_arrival_order() {
        let out = run!(join);
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
            run!(left_outer_join).sorted(),
            vec![
                ("a", (1, Some('x'))),
                ("a", (1, Some('y'))),
                ("a", (2, Some('x'))),
                ("a", (2, Some('y'))),
                ("b", (5, None)),
            ]
        );
        assert_eq!(
            run!(right_outer_join).sorted(),
            vec![
                ("a", (Some(1), 'x')),
                ("a", (Some(1), 'y')),
                ("a", (Some(2), 'x')),
                ("a", (Some(2), 'y')),
                ("c", (None, 'z')),
            ]
        );
        assert_eq!(
            run!(full_outer_join).sorted(),
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
            run!(cogroup).sorted(),
            vec![
                ("a", (vec![1, 2], vec!['x', 'y'])),
                ("b", (vec![5], vec![])),
                ("c", (vec![], vec!['z'])),
            ]
        );
    }

    #[test]
    fn a_panic_on_the_right_map_side_is_stage_two() {
        let ctx = plan_ctx(one_op_stages(file!(), &[("map", 1), ("map", 2), ("join", 3)]), 2);
        let result = join(
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
        );
        assert_stage_panicked(result, 2, "Box<dyn Any>");
    }
}
