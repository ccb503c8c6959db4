//! `reduce_by_window(f, W, s)` without an inverse: each batch reduced to at
//! most one value, the window's values reduced at every emit time.

use super::WindowSpec;
use super::timeline::Timeline;
use crate::runner::Runner;
use crate::shuffle::collectors::Reducer;
use crate::shuffle::reduce_with;
use crate::{Batch, BatchContext, BatchError, StageInput};
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

    /// How many batches' values are held.
    #[doc(hidden)]
    pub fn buffered_batches(&self) -> usize {
        self.values.len()
    }
}

/// `reduce_by_window(f, W, s)`: the reduce of the covered batches' values in
/// time order, one element; an empty window gives an empty batch.
pub fn reduce_by_window<S, T, R, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    state: &mut ReducedWindow<T>,
    input: S,
    map_side: M,
    reduce: &R,
    reduce_side: C,
) -> Result<Option<Batch<U>>, BatchError>
where
    S: StageInput,
    T: Clone + Send,
    U: Send,
    R: Fn(T, T) -> T + Sync,
    M: Fn(S::Item, &mut Reducer<'_, T, R>) + Sync,
    C: Fn(T, &mut Vec<U>) + Sync,
{
    let runner = ctx;
    let value = reduce_with(&runner, stage, input, map_side, reduce, |t, out| out.push(t))?
        .collect()
        .pop();
    state.values.admit(&state.spec, ctx.time, value);
    if !state.spec.emits_at(ctx.time.as_millis()) {
        return Ok(None);
    }
    let covered = state.values.covered(&state.spec, ctx.time);
    runner
        .call(stage + 1, || {
            let owned = covered.leaving.into_iter().flatten();
            let cloned = covered.staying.into_iter().flatten().cloned();
            let mut out = Vec::with_capacity(1);
            if let Some(value) = owned.chain(cloned).reduce(reduce) {
                reduce_side(value, &mut out);
            }
            out
        })
        .map(|out| Some(Batch::from_vec(out)))
}
