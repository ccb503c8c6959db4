//! `group_by_key_and_window(W, s)`: each batch grouped per key into key
//! partitions, the covered batches' groups concatenated at every emit time.

use super::WindowSpec;
use super::timeline::{Held, Timeline};
use crate::runner::Runner;
use crate::shuffle::collectors::Grouper;
use crate::shuffle::group_by_key_with;
use crate::shuffle::key_tables::fix_partitions;
use crate::shuffle::merge::group_in_order;
use crate::{Batch, BatchContext, BatchError, StageInput};
use serde::{Deserialize, Serialize};
use std::hash::Hash;

/// One batch grouped per key, in key partitions.
type Groups<K, V> = Vec<Vec<(K, Vec<V>)>>;

/// The state of `group_by_key_and_window`: each recent batch grouped per key,
/// in key partitions.
#[derive(Debug, Serialize, Deserialize)]
pub struct GroupedWindow<K, V> {
    spec: WindowSpec,
    partitions: Option<usize>,
    batches: Timeline<Groups<K, V>>,
}

impl<K, V> GroupedWindow<K, V> {
    /// An empty state for windows of shape `spec`.
    pub fn new(spec: WindowSpec) -> Self {
        GroupedWindow {
            spec,
            partitions: None,
            batches: Timeline::default(),
        }
    }

    /// How many batches are held.
    #[doc(hidden)]
    pub fn buffered_batches(&self) -> usize {
        self.batches.len()
    }
}

/// `group_by_key_and_window(W, s)`: per key, all its values in the covered
/// batches, in batch order and then arrival order. A key with no values left
/// in the window is not in the output.
pub fn group_by_key_and_window<S, K, V, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    state: &mut GroupedWindow<K, V>,
    input: S,
    map_side: M,
    partitions: Option<usize>,
    reduce_side: C,
) -> Result<Option<Batch<U>>, BatchError>
where
    S: StageInput,
    K: Hash + Eq + Clone + Send + Sync,
    V: Clone + Send + Sync,
    U: Send,
    M: Fn(S::Item, &mut Grouper<K, V>) + Sync,
    C: Fn((K, Vec<V>), &mut Vec<U>) + Sync,
{
    let runner = ctx;
    let n = fix_partitions(&mut state.partitions, ctx, partitions);
    let grouped = group_by_key_with(&runner, stage, input, map_side, Some(n), |g, out| out.push(g))?;
    state.batches.admit(&state.spec, ctx.time, grouped.into_partitions());
    if !state.spec.emits_at(ctx.time.as_millis()) {
        return Ok(None);
    }
    let per_partition = state.batches.covered(&state.spec, ctx.time).by_partition(n);
    runner
        .tasks(stage + 1, per_partition, |parts| {
            let buckets: Vec<Vec<(K, Vec<V>)>> = parts
                .into_iter()
                .map(|held| match held {
                    Held::Owned(groups) => groups,
                    Held::Shared(groups) => groups.clone(),
                })
                .collect();
            let groups = group_in_order(buckets);
            let mut out = Vec::with_capacity(groups.len());
            for (key, runs) in groups {
                reduce_side((key, runs.into_iter().flatten().collect()), &mut out);
            }
            out
        })
        .map(|parts| Some(Batch::from_partitions(parts)))
}
