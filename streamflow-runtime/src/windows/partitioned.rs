//! The state of the keyed windows without an inverse: each recent batch's
//! per-key result in key partitions, merged per partition at every emit time.

use super::WindowSpec;
use super::timeline::{Held, Timeline};
use crate::Batch;
use crate::runner::Runner;
use crate::shuffle::key_tables::fix_partitions;
use crate::stage::bounds::{Element, ReduceSide};
use crate::stage::run_part;
use serde::{Deserialize, Serialize};

/// The state of a keyed window without an inverse: each recent batch's
/// elements (`X`: a key's reduced value or its group) in key partitions.
#[derive(Debug, Serialize, Deserialize)]
pub struct PartitionedWindow<X> {
    spec: WindowSpec,
    partitions: Option<usize>,
    batches: Timeline<Vec<Vec<X>>>,
}

/// The state of `reduce_by_key_and_window` without an inverse: each recent
/// batch reduced per key.
pub type KeyedWindow<K, V> = PartitionedWindow<(K, V)>;

/// The state of `group_by_key_and_window`: each recent batch grouped per key.
pub type GroupedWindow<K, V> = PartitionedWindow<(K, Vec<V>)>;

impl<X> PartitionedWindow<X> {
    /// An empty state for windows of shape `spec`.
    pub fn new(spec: WindowSpec) -> Self {
        PartitionedWindow {
            spec,
            partitions: None,
            batches: Timeline::default(),
        }
    }

    /// The same kept in `partitions` key partitions from the first batch on
    /// (the generated code passes [`state_partitions`](crate::state::state_partitions)
    /// for a keyed window), so that a restored window saved in another count
    /// is refused.
    pub fn fixed_in(self, partitions: usize) -> Self {
        Self {
            partitions: Some(partitions),
            ..self
        }
    }

    /// `saved`, read from a checkpoint, to replace `now`: only a window of
    /// the same length and slide (see [`same_window`](super::restore::same_window))
    /// in the same partition count.
    pub fn restored(now: &Self, saved: Self) -> Result<Self, String> {
        super::restore::same_keyed_window((&now.spec, now.partitions), (&saved.spec, saved.partitions))?;
        Ok(saved)
    }

    /// How many batches are held.
    #[doc(hidden)]
    pub fn buffered_batches(&self) -> usize {
        self.batches.len()
    }

    /// The number of key partitions: the call's or the runner's, fixed at the
    /// first batch.
    pub(crate) fn partitions<Rn: Runner>(&mut self, runner: &Rn, requested: Option<usize>) -> usize {
        fix_partitions(&mut self.partitions, runner, requested)
    }

    /// Admits this batch (in the window's key partitions) and, at an emit
    /// time, runs one task per key partition in stage `stage`: `merge` of that
    /// partition of every covered batch, oldest first, through `reduce_side`.
    pub(crate) fn emit<Rn, I, U>(
        &mut self,
        runner: &Rn,
        stage: usize,
        batch: Batch<X>,
        merge: impl Fn(Vec<Held<'_, Vec<X>>>) -> I + Sync,
        reduce_side: impl ReduceSide<I::Item, U>,
    ) -> Result<Option<Batch<U>>, Rn::Error>
    where
        Rn: Runner,
        X: Send + Sync,
        I: IntoIterator,
        U: Element,
    {
        let n = self.partitions.unwrap_or(1);
        let Some(covered) = self
            .batches
            .window_at(&self.spec, runner.since_zero(), batch.into_partitions())
        else {
            return Ok(None);
        };
        runner
            .tasks(stage, covered.by_partition(n), |parts| {
                run_part(merge(parts), &reduce_side)
            })
            .map(|parts| Some(Batch::from_partitions(parts)))
    }
}

/// On a cluster each process keeps its key groups of every held batch.
impl<X> crate::state::KeyGroups for PartitionedWindow<X> {
    fn merge_groups(parts: Vec<Self>, from: crate::state::GroupSource<'_>) -> Self {
        let (spec, partitions) = (parts[0].spec, parts[0].partitions);
        let batches = Timeline::merge(parts.into_iter().map(|p| p.batches).collect(), |each| {
            crate::state::partitions::pick_groups(each, from)
        });
        PartitionedWindow {
            spec,
            partitions,
            batches,
        }
    }
}
