//! Running the tasks of a stage: in a job (panics become `BatchError`s that
//! name the stage) or under a `Batch` operation (panics propagate).
//!
//! Both modes share one implementation of every stage and shuffle, generic
//! over [`Runner`]; the mode costs nothing in the hot loops, which only see
//! the per-partition closures.

use crate::BatchContext;
use crate::panic::{self, Caught};
use rayon::prelude::*;
use std::convert::Infallible;

/// Runs the tasks of stages.
pub(crate) trait Runner {
    /// What a failed task becomes.
    type Error;

    /// Runs `task` once per part, in parallel, and returns the results in the
    /// parts' order. `stage` is the 0-based plan index the tasks belong to.
    fn tasks<P, R, F>(&self, stage: usize, parts: Vec<P>, task: F) -> Result<Vec<R>, Self::Error>
    where
        P: Send,
        R: Send,
        F: Fn(P) -> R + Sync;

    /// Runs user code on the calling thread, as part of stage `stage`.
    fn call<R>(&self, stage: usize, f: impl FnOnce() -> R) -> Result<R, Self::Error>;

    /// The number of partitions of a shuffle's output.
    fn partitions(&self, requested: Option<usize>) -> usize;
}

/// Tasks of a job's batch: every task is caught, the first partition's panic
/// is reported against the plan.
pub(crate) struct JobRunner<'c, 'a> {
    pub(crate) ctx: &'c BatchContext<'a>,
}

impl Runner for JobRunner<'_, '_> {
    type Error = crate::BatchError;

    fn tasks<P, R, F>(&self, stage: usize, parts: Vec<P>, task: F) -> Result<Vec<R>, Self::Error>
    where
        P: Send,
        R: Send,
        F: Fn(P) -> R + Sync,
    {
        let results: Vec<Result<R, Caught>> = if parts.len() <= 1 {
            // No parallelism to gain: skip rayon's scheduling.
            parts.into_iter().map(|p| panic::catch(|| task(p))).collect()
        } else {
            parts.into_par_iter().map(|p| panic::catch(|| task(p))).collect()
        };
        results
            .into_iter()
            .collect::<Result<Vec<R>, Caught>>()
            .map_err(|caught| caught.into_stage_error(self.ctx.plan, self.ctx.time, stage))
    }

    fn call<R>(&self, stage: usize, f: impl FnOnce() -> R) -> Result<R, Self::Error> {
        panic::catch(f).map_err(|caught| caught.into_stage_error(self.ctx.plan, self.ctx.time, stage))
    }

    fn partitions(&self, requested: Option<usize>) -> usize {
        self.ctx.partitions(requested)
    }
}

/// Tasks of a [`Batch`](crate::Batch) operation: a panic propagates to the
/// caller, as it would from a sequential loop. Inside a job's task the panic is
/// first caught on its worker thread so that its location reaches the job's
/// error.
pub(crate) struct LocalRunner {
    nested: bool,
}

impl LocalRunner {
    pub(crate) fn new() -> Self {
        LocalRunner {
            nested: panic::in_task(),
        }
    }
}

impl Runner for LocalRunner {
    type Error = Infallible;

    fn tasks<P, R, F>(&self, _stage: usize, parts: Vec<P>, task: F) -> Result<Vec<R>, Infallible>
    where
        P: Send,
        R: Send,
        F: Fn(P) -> R + Sync,
    {
        let nested = self.nested;
        let run = |p| {
            if nested { panic::nested(|| task(p)) } else { task(p) }
        };
        Ok(if parts.len() <= 1 {
            parts.into_iter().map(run).collect()
        } else {
            parts.into_par_iter().map(run).collect()
        })
    }

    fn call<R>(&self, _stage: usize, f: impl FnOnce() -> R) -> Result<R, Infallible> {
        Ok(f())
    }

    fn partitions(&self, requested: Option<usize>) -> usize {
        requested.unwrap_or(1).max(1)
    }
}

/// The value of a result that cannot fail.
pub(crate) fn infallible<T>(result: Result<T, Infallible>) -> T {
    match result {
        Ok(v) => v,
        Err(never) => match never {},
    }
}
