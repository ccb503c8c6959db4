//! `group_by_key_and_window(W, s)`: each batch grouped per key into key
//! partitions, the covered batches' groups concatenated at every emit time.

use super::GroupedWindow;
use super::timeline::Held;
use crate::Batch;
use crate::runner::Moves;
use crate::shuffle::group_by_key;
use crate::shuffle::grouper::{Grouper, Run};
use crate::shuffle::merge::group_distinct_in_order;
use crate::stage::StageInput;
use crate::stage::bounds::{Element, MapSide, ReduceSide, Retained, RetainedKey};

/// `group_by_key_and_window(W, s)`: per key, all its values in the covered
/// batches, in batch order and then arrival order. A key with no values left
/// in the window is not in the output. Stages: `stage` the map side of this
/// batch's `group_by_key` (and its exchange), `stage + 1` its grouping, the
/// window's concatenation and the reduce side.
pub fn group_by_key_and_window<Rn, S: StageInput, K: RetainedKey, V: Retained, U: Element>(
    runner: &Rn,
    stage: usize,
    state: &mut GroupedWindow<K, V>,
    input: S,
    map_side: impl MapSide<S::Item, Grouper<K, V>>,
    partitions: Option<usize>,
    reduce_side: impl ReduceSide<(K, Vec<V>), U>,
) -> Result<Option<Batch<U>>, Rn::Error>
where
    Rn: Moves<Run<K, V>>,
{
    let n = state.partitions(runner, partitions);
    let batch = group_by_key(runner, stage, input, map_side, Some(n), |g, out| out.push(g))?;
    state.emit(
        runner,
        stage + 1,
        batch,
        |parts| {
            // Each batch's groups, in batch order: concatenated per key.
            let buckets: Vec<Vec<(K, Vec<V>)>> = parts.into_iter().map(Held::into_owned).collect();
            group_distinct_in_order(buckets)
        },
        reduce_side,
    )
}
