//! `window(W, s)`: the union of the covered batches.

use super::WindowSpec;
use super::timeline::{Held, Timeline};
use crate::Batch;
use crate::runner::place::to_owners;
use crate::runner::{Indexed, Moves, Runner};
use crate::stage::bounds::{Element, MapSide, ReduceSide, Retained};
use crate::stage::{StageInput, narrow_parts, run_part};
use serde::{Deserialize, Serialize};

/// The state of `window(W, s)`: the recent batches a coming window covers.
#[derive(Debug, Serialize, Deserialize)]
pub struct ElementWindow<T> {
    spec: WindowSpec,
    batches: Timeline<Vec<Vec<T>>>,
}

impl<T> ElementWindow<T> {
    /// An empty buffer for windows of shape `spec`.
    pub fn new(spec: WindowSpec) -> Self {
        ElementWindow {
            spec,
            batches: Timeline::default(),
        }
    }

    /// `saved`, read from a checkpoint, to replace `now`: only a window of
    /// the same length and slide (see [`same_window`](super::restore::same_window)).
    pub fn restored(now: &Self, saved: Self) -> Result<Self, String> {
        super::restore::same_window(&now.spec, &saved.spec)?;
        Ok(saved)
    }

    /// How many batches are held (a batch leaves as soon as no coming window
    /// covers it).
    #[doc(hidden)]
    pub fn buffered_batches(&self) -> usize {
        self.batches.len()
    }
}

/// `window(W, s)`: at every multiple of the slide, the covered batches'
/// partitions in time order; elements are cloned while a later window still
/// needs them, moved otherwise. Stages: `stage` the map side, `stage + 1` the
/// reduce side over the window. Partitions are kept; on a cluster each moves
/// to its owner in the window's numbering (a covered batch's partition `p`
/// is the window's partition `i * n + p`, which another process may own).
pub fn window<Rn: Runner + Moves<Indexed<U>>, S: StageInput, T: Retained, U: Element>(
    runner: &Rn,
    stage: usize,
    state: &mut ElementWindow<T>,
    input: S,
    map_side: impl MapSide<S::Item, Vec<T>>,
    reduce_side: impl ReduceSide<T, U>,
) -> Result<Option<Batch<U>>, Rn::Error> {
    let parts = narrow_parts(runner, stage, input, map_side)?;
    let Some(covered) = state.batches.window_at(&state.spec, runner.since_zero(), parts) else {
        return Ok(None);
    };
    let parts = runner.tasks(stage + 1, covered.partitions(), |held| match held {
        Held::Owned(part) => run_part(part, &reduce_side),
        Held::Shared(part) => run_part(part.iter().cloned(), &reduce_side),
    })?;
    to_owners(runner, stage + 1, Batch::from_partitions(parts)).map(Some)
}

/// On a cluster each process keeps the partitions it owns of every held batch.
impl<T> crate::state::KeyGroups for ElementWindow<T> {
    fn merge_groups(parts: Vec<Self>, from: crate::state::GroupSource<'_>) -> Self {
        let spec = parts[0].spec;
        let batches = Timeline::merge(parts.into_iter().map(|p| p.batches).collect(), |each| {
            crate::state::partitions::pick_groups(each, from)
        });
        ElementWindow { spec, batches }
    }
}
