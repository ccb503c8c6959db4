//! `reduce_by_window(f, W, s)` without an inverse: each batch reduced to at
//! most one value, the window's values reduced at every emit time.

use super::WindowSpec;
use super::timeline::Timeline;
use crate::Batch;
use crate::runner::Moves;
use crate::shuffle::collectors::Reducer;
use crate::shuffle::reduce;
use crate::stage::bounds::{Element, MapSide, ReduceFn, ReduceSide, Replicable};
use crate::stage::{StageInput, run_part};
use serde::{Deserialize, Serialize};

/// The state of `reduce_by_window` without an inverse: each recent batch's
/// reduced value (none for an empty batch).
#[derive(Debug, Serialize, Deserialize)]
pub struct ReducedWindow<T> {
    spec: WindowSpec,
    values: Timeline<Option<T>>,
}

impl<T> ReducedWindow<T> {
    /// An empty state for windows of shape `spec`.
    pub fn new(spec: WindowSpec) -> Self {
        ReducedWindow {
            spec,
            values: Timeline::default(),
        }
    }

    /// `saved`, read from a checkpoint, to replace `now`: only a window of
    /// the same length and slide (see [`same_window`](super::restore::same_window)).
    pub fn restored(now: &Self, saved: Self) -> Result<Self, String> {
        super::restore::same_window(&now.spec, &saved.spec)?;
        Ok(saved)
    }

    /// How many batches' values are held.
    #[doc(hidden)]
    pub fn buffered_batches(&self) -> usize {
        self.values.len()
    }
}

/// `reduce_by_window(f, W, s)`: the reduce of the covered batches' values in
/// time order, one element; an empty window gives an empty batch. Stages:
/// `stage` the map side of this batch's `reduce` (and its gather), `stage + 1`
/// its combine, the window's reduce and the reduce side.
pub fn reduce_by_window<'f, Rn, S: StageInput, T: Replicable, R: ReduceFn<T>, U: Element>(
    runner: &Rn,
    stage: usize,
    state: &mut ReducedWindow<T>,
    input: S,
    map_side: impl MapSide<S::Item, Reducer<'f, T, R>>,
    f: &'f R,
    reduce_side: impl ReduceSide<T, U>,
) -> Result<Option<Batch<U>>, Rn::Error>
where
    Rn: Moves<T>,
{
    let value = reduce(runner, stage, input, map_side, f, |t, out| out.push(t))?
        .collect()
        .pop();
    let Some(covered) = state.values.window_at(&state.spec, runner.since_zero(), value) else {
        return Ok(None);
    };
    runner
        .call(stage + 1, || {
            let owned = covered.leaving.into_iter().flatten();
            let cloned = covered.staying.into_iter().flatten().cloned();
            run_part(owned.chain(cloned).reduce(f), &reduce_side)
        })
        .map(|out| Some(Batch::from_vec(out)))
}

/// Each batch's one value is kept by the owner of its one partition (the
/// others keep none).
impl<T> crate::state::KeyGroups for ReducedWindow<T> {
    fn merge_groups(parts: Vec<Self>, from: crate::state::GroupSource<'_>) -> Self {
        let spec = parts[0].spec;
        let values = Timeline::merge(parts.into_iter().map(|p| p.values).collect(), |mut each| {
            from(0, 1).and_then(|i| each.get_mut(i)).and_then(Option::take)
        });
        ReducedWindow { spec, values }
    }
}
