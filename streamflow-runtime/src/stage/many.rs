//! The operators over several streams' batches of the same time:
//! `transform_with(b, .., f)` and `union(b, ..)`. One runtime function per
//! number of streams (2 to [`MAX_STREAMS`]), because the contract passes each
//! stream as its own `(input, map_side)` pair.
//!
//! On a cluster `transform_with`'s function runs on process 0 only, over
//! every stream's whole batch, as `transform`'s does (Spark's driver); a
//! `union` only lays partitions side by side, so it runs where they are and
//! then moves each partition to its owner in the union's numbering.

use super::StageInput;
use super::bounds::{Element, MapSide, ReduceSide};
use super::narrow::narrow;
use crate::runner::driver::{self, Indexed};
use crate::runner::{Moves, place};
use crate::{Batch, Time};

/// The most streams one `transform_with` or `union` reads (the receiver and
/// seven others); more are combined with a second call.
pub const MAX_STREAMS: usize = 8;

/// The form of a function over several batches that gets them alone.
pub enum BatchesOnly {}

/// The form of a function over several batches that also gets their time.
pub enum BatchesAtTime {}

/// The function of `transform_with` over the tuple of batches `B`, in either
/// of its forms: `f(a, b, ..)` or `f(a, b, .., time)` (Spark's
/// `transform(Seq[DStream], (Seq[RDD], Time) => RDD)`).
pub trait BatchesFn<B, V, Form> {
    /// The new batch made from every stream's batch.
    fn call(&self, batches: B, time: Time) -> Batch<V>;
}

macro_rules! transform_many {
    ($(#[$doc:meta])* $name:ident, $(#[$union_doc:meta])* $union:ident, $last:literal: $(($s:ident, $t:ident, $input:ident, $map:ident, $batch:ident, $offset:literal)),+) => {
        impl<$($t,)+ V, F: Fn($(Batch<$t>),+) -> Batch<V>> BatchesFn<($(Batch<$t>,)+), V, BatchesOnly> for F {
            fn call(&self, ($($batch,)+): ($(Batch<$t>,)+), _: Time) -> Batch<V> {
                self($($batch),+)
            }
        }

        impl<$($t,)+ V, F: Fn($(Batch<$t>,)+ Time) -> Batch<V>> BatchesFn<($(Batch<$t>,)+), V, BatchesAtTime> for F {
            fn call(&self, ($($batch,)+): ($(Batch<$t>,)+), time: Time) -> Batch<V> {
                self($($batch,)+ time)
            }
        }

        $(#[$doc])*
        pub fn $name<Rn, $($s: StageInput,)+ $($t: Element,)+ V: Element, U: Element, Form>(
            runner: &Rn,
            stage: usize,
            $($input: $s, $map: impl MapSide<$s::Item, Vec<$t>>,)+
            f: &impl BatchesFn<($(Batch<$t>,)+), V, Form>,
            reduce_side: impl ReduceSide<V, U>,
        ) -> Result<Batch<U>, Rn::Error>
        where
            Rn: $(Moves<Indexed<$t>> +)+ Moves<Indexed<V>>,
        {
            $(let $batch = narrow(runner, stage + $offset, $input, $map)?;)+
            // Every stream's batch to process 0, one gather each, in order:
            // all `Some` there, all `None` elsewhere.
            $(let $batch = driver::gather(runner, stage + $last, $batch)?;)+
            let gathered = match ($($batch,)+) {
                ($(Some($batch),)+) => Some(($($batch,)+)),
                _ => None,
            };
            let transformed = driver::on_driver(runner, stage + $last, gathered, |batches| f.call(batches, runner.time()))?;
            narrow(runner, stage + $last, transformed, reduce_side)
        }

        $(#[$union_doc])*
        pub fn $union<Rn, $($s: StageInput,)+ $($t: Element,)+ V: Element, U: Element, Form>(
            runner: &Rn,
            stage: usize,
            $($input: $s, $map: impl MapSide<$s::Item, Vec<$t>>,)+
            f: &impl BatchesFn<($(Batch<$t>,)+), V, Form>,
            reduce_side: impl ReduceSide<V, U>,
        ) -> Result<Batch<U>, Rn::Error>
        where
            Rn: Moves<Indexed<V>>,
        {
            $(let $batch = narrow(runner, stage + $offset, $input, $map)?;)+
            let united = runner.call(stage + $last, || f.call(($($batch,)+), runner.time()))?;
            let united = place::to_owners(runner, stage + $last, united)?;
            narrow(runner, stage + $last, united, reduce_side)
        }
    };
}

transform_many! {
    /// `transform_with(other, f)`: `f` gets both streams' batches of the same
    /// time (and the time, if it takes three arguments). Stages: `stage` the
    /// left map side, `stage + 1` the right one, `stage + 2` `f` and the
    /// reduce side.
    ///
    /// On a cluster `f` runs on process 0 only, as `transform`'s does: each
    /// stream's batch is gathered there in partition order, and `f`'s result
    /// is scattered back to its partitions' owners (`runner::driver`).
    transform_with,
    /// `union(other)`: `f` (the macro passes
    /// [`union_batches`](crate::typing::union_batches)) lays both streams'
    /// partitions side by side, where they are; on a cluster each partition
    /// then goes to its owner in the union's numbering, so that every
    /// process holds the partitions it owns, as after any other operator.
    /// Stages as for `transform_with`.
    union, 2: (S1, T1, input1, map1, b1, 0), (S2, T2, input2, map2, b2, 1)
}
transform_many! {
    /// `transform_with` of three streams: stages `stage .. stage + 3` their
    /// map sides, `stage + 3` `f` and the reduce side.
    transform_with3,
    /// `union` of three streams (see [`union`]).
    union3, 3: (S1, T1, input1, map1, b1, 0), (S2, T2, input2, map2, b2, 1), (S3, T3, input3, map3, b3, 2)
}
transform_many! {
    /// `transform_with` of four streams (see [`transform_with3`]).
    transform_with4,
    /// `union` of four streams (see [`union`]).
    union4, 4: (S1, T1, input1, map1, b1, 0), (S2, T2, input2, map2, b2, 1), (S3, T3, input3, map3, b3, 2),
        (S4, T4, input4, map4, b4, 3)
}
transform_many! {
    /// `transform_with` of five streams (see [`transform_with3`]).
    transform_with5,
    /// `union` of five streams (see [`union`]).
    union5, 5: (S1, T1, input1, map1, b1, 0), (S2, T2, input2, map2, b2, 1), (S3, T3, input3, map3, b3, 2),
        (S4, T4, input4, map4, b4, 3), (S5, T5, input5, map5, b5, 4)
}
transform_many! {
    /// `transform_with` of six streams (see [`transform_with3`]).
    transform_with6,
    /// `union` of six streams (see [`union`]).
    union6, 6: (S1, T1, input1, map1, b1, 0), (S2, T2, input2, map2, b2, 1), (S3, T3, input3, map3, b3, 2),
        (S4, T4, input4, map4, b4, 3), (S5, T5, input5, map5, b5, 4), (S6, T6, input6, map6, b6, 5)
}
transform_many! {
    /// `transform_with` of seven streams (see [`transform_with3`]).
    transform_with7,
    /// `union` of seven streams (see [`union`]).
    union7, 7: (S1, T1, input1, map1, b1, 0), (S2, T2, input2, map2, b2, 1), (S3, T3, input3, map3, b3, 2),
        (S4, T4, input4, map4, b4, 3), (S5, T5, input5, map5, b5, 4), (S6, T6, input6, map6, b6, 5),
        (S7, T7, input7, map7, b7, 6)
}
transform_many! {
    /// `transform_with` of eight streams (see [`transform_with3`]).
    transform_with8,
    /// `union` of eight streams (see [`union`]).
    union8, 8: (S1, T1, input1, map1, b1, 0), (S2, T2, input2, map2, b2, 1), (S3, T3, input3, map3, b3, 2),
        (S4, T4, input4, map4, b4, 3), (S5, T5, input5, map5, b5, 4), (S6, T6, input6, map6, b6, 5),
        (S7, T7, input7, map7, b7, 6), (S8, T8, input8, map8, b8, 7)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::test_ctx;
    use crate::runner::Runner;

    #[test]
    fn three_streams_meet_in_one_call_with_their_time() {
        let ctx = test_ctx(2);
        let calls = std::cell::Cell::new(0);
        let out = transform_with3(
            &ctx,
            0,
            Batch::from_vec(vec![1, 2]),
            |x, out| out.push(x),
            Batch::from_vec(vec!["a"]),
            |x, out| out.push(x),
            Batch::from_partitions(vec![vec![10u64], vec![20]]),
            |x, out| out.push(x + 1),
            &|a: Batch<i32>, b: Batch<&str>, c: Batch<u64>, time: Time| {
                calls.set(calls.get() + 1);
                Batch::from_vec(vec![(a.len(), b.len(), c.collect(), time)])
            },
            |x, out| out.push(x),
        )
        .unwrap();
        assert_eq!(calls.get(), 1);
        assert_eq!(out.collect(), vec![(2, 1, vec![11, 21], ctx.time())]);
    }
}
