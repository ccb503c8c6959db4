//! The join family and `cogroup`: both sides are shuffled by key with the same
//! partitioner (so they are co-partitioned), then each reduce partition pairs
//! the two sides' values per key.
//!
//! CONTRACT: see `stage.rs`. Stages: `stage` (left map side), `stage + 1`
//! (right map side), `stage + 2` (reduce side). For a key, pairs come out as
//! `for v in left_values { for w in right_values { (k, (v, w)) } }`, values in
//! arrival order.

use crate::collectors::Grouper;
use crate::{Batch, BatchContext, BatchError, Source};
use std::hash::Hash;

macro_rules! join_fn {
    ($(#[$doc:meta])* $name:ident, $out:ty) => {
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
            S1: Source,
            S2: Source,
            K: Hash + Eq + Clone + Send,
            V: Clone + Send,
            W: Clone + Send,
            U: Send,
            M1: Fn(S1::Item, &mut Grouper<K, V>) + Sync,
            M2: Fn(S2::Item, &mut Grouper<K, W>) + Sync,
            C: Fn((K, $out), &mut Vec<U>) + Sync,
        {
            let _ = (ctx, stage, left, left_map, right, right_map, partitions, reduce_side);
            todo!("runtime helper")
        }
    };
}

join_fn!(
    /// `join(other)`: keys present on both sides, every combination of values.
    join,
    (V, W)
);
join_fn!(
    /// `left_outer_join(other)`: every left value; `None` where the right has no value.
    left_outer_join,
    (V, Option<W>)
);
join_fn!(
    /// `right_outer_join(other)`: every right value; `None` where the left has no value.
    right_outer_join,
    (Option<V>, W)
);
join_fn!(
    /// `full_outer_join(other)`: every value of either side.
    full_outer_join,
    (Option<V>, Option<W>)
);
join_fn!(
    /// `cogroup(other)`: per key, all left values and all right values.
    cogroup,
    (Vec<V>, Vec<W>)
);
