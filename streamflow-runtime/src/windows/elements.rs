//! `window(W, s)`: the union of the covered batches.

use super::WindowSpec;
use super::timeline::{Held, Timeline};
use crate::runner::Runner;
use crate::stage::{narrow_with, run_part};
use crate::{Batch, BatchContext, BatchError, StageInput};
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

    /// How many batches are held (a batch leaves as soon as no coming window
    /// covers it).
    #[doc(hidden)]
    pub fn buffered_batches(&self) -> usize {
        self.batches.len()
    }
}

/// `window(W, s)`: at every multiple of the slide, the covered batches'
/// partitions in time order; elements are cloned while a later window still
/// needs them, moved otherwise.
pub fn window<S, T, U, M, C>(
    ctx: &BatchContext<'_>,
    stage: usize,
    state: &mut ElementWindow<T>,
    input: S,
    map_side: M,
    reduce_side: C,
) -> Result<Option<Batch<U>>, BatchError>
where
    S: StageInput,
    T: Clone + Send + Sync,
    U: Send,
    M: Fn(S::Item, &mut Vec<T>) + Sync,
    C: Fn(T, &mut Vec<U>) + Sync,
{
    let runner = ctx;
    let parts = narrow_with(&runner, stage, input, map_side)?;
    state.batches.admit(&state.spec, ctx.time, parts);
    if !state.spec.emits_at(ctx.time.as_millis()) {
        return Ok(None);
    }
    let covered = state.batches.covered(&state.spec, ctx.time).partitions();
    runner
        .tasks(stage + 1, covered, |held| match held {
            Held::Owned(part) => run_part(part, &reduce_side),
            Held::Shared(part) => run_part(part.iter().cloned(), &reduce_side),
        })
        .map(|parts| Some(Batch::from_partitions(parts)))
}
