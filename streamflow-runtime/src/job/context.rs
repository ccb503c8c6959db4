//! What one batch runs in, and the runner of a job's stages.

use crate::panic::{self, Caught};
use crate::runner::Runner;
use crate::{JobConfig, Plan, Time};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// What one batch runs in: its time, the job's configuration and plan.
/// Created by [`JobCore`](crate::JobCore) for every batch and passed to every
/// stage call, as the [`Runner`] of the batch's stages.
pub struct BatchContext<'a> {
    /// The batch's time.
    pub time: Time,
    /// The job's configuration.
    pub config: &'a JobConfig,
    /// The job's stage plan.
    pub plan: &'static Plan,
    /// The job's zero time (batch `k` is at `zero + k·d`).
    pub(crate) zero: Time,
    /// Nanoseconds spent per stage in this batch (index = stage index).
    pub(crate) stage_nanos: &'a [AtomicU64],
}

impl<'a> BatchContext<'a> {
    /// A context that records no stage times (unit tests of single operators).
    #[cfg(test)]
    pub(crate) fn untimed(time: Time, config: &'a JobConfig, plan: &'static Plan) -> Self {
        BatchContext {
            time,
            config,
            plan,
            zero: Time::ZERO,
            stage_nanos: &[],
        }
    }

    /// The number of partitions a shuffle produces when the operator names none.
    pub fn partitions(&self, requested: Option<usize>) -> usize {
        requested.unwrap_or(self.config.partitions).max(1)
    }

    /// Adds the time since `start` to stage `stage`.
    fn record(&self, stage: usize, start: Instant) {
        if let Some(total) = self.stage_nanos.get(stage) {
            total.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
    }
}

/// A job's tasks: each one is caught, and the first partition's panic is
/// reported against the plan, naming the stage and, where it can tell, the
/// operator.
impl Runner for BatchContext<'_> {
    type Error = crate::BatchError;

    fn tasks<P, R, F>(&self, stage: usize, parts: Vec<P>, task: F) -> Result<Vec<R>, Self::Error>
    where
        P: Send,
        R: Send,
        F: Fn(P) -> R + Sync,
    {
        let start = Instant::now();
        let results: Vec<Result<R, Caught>> = if parts.len() <= 1 {
            // No parallelism to gain: skip rayon's scheduling.
            parts.into_iter().map(|p| panic::catch(|| task(p))).collect()
        } else {
            parts.into_par_iter().map(|p| panic::catch(|| task(p))).collect()
        };
        self.record(stage, start);
        results
            .into_iter()
            .collect::<Result<Vec<R>, Caught>>()
            .map_err(|caught| caught.into_stage_error(self.plan, self.time, stage))
    }

    fn call<R>(&self, stage: usize, f: impl FnOnce() -> R) -> Result<R, Self::Error> {
        let start = Instant::now();
        let result = panic::catch(f).map_err(|caught| caught.into_stage_error(self.plan, self.time, stage));
        self.record(stage, start);
        result
    }

    fn partitions(&self, requested: Option<usize>) -> usize {
        BatchContext::partitions(self, requested)
    }

    fn time(&self) -> Time {
        self.time
    }

    fn since_zero(&self) -> Time {
        Time::from_millis(self.time.as_millis().saturating_sub(self.zero.as_millis()))
    }
}
