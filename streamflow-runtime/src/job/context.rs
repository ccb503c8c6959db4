//! What one batch runs in, and the runner of a job's stages.

use crate::Batch;
use crate::cluster::Wire;
use crate::panic::{self, Caught};
use crate::runner::{Moves, Runner, transpose};
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

    /// Keeps the partitions of an input batch that this process owns when the
    /// job runs on a cluster and empties the others (their elements are
    /// another process's); the batch as it is otherwise.
    pub(crate) fn keep_owned<T>(&self, batch: Batch<T>) -> Batch<T> {
        #[cfg(feature = "cluster")]
        if let Some(mesh) = &self.config.cluster {
            let parts = batch.into_partitions();
            let n = parts.len();
            let kept = parts
                .into_iter()
                .enumerate()
                .map(|(p, part)| {
                    if crate::cluster::owner(p, n, mesh.processes()) == mesh.process() {
                        part
                    } else {
                        Vec::new()
                    }
                })
                .collect();
            return Batch::from_partitions(kept);
        }
        batch
    }

    /// A cluster failure of stage `stage` as the batch's error.
    #[cfg(feature = "cluster")]
    fn cluster_error(&self, stage: usize, message: String) -> crate::BatchError {
        crate::BatchError::Cluster {
            time: self.time,
            stage: stage + 1,
            message,
        }
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

    #[cfg(feature = "cluster")]
    fn owns(&self, partition: usize, partitions: usize) -> bool {
        self.config
            .cluster
            .as_ref()
            .is_none_or(|mesh| crate::cluster::owner(partition, partitions, mesh.processes()) == mesh.process())
    }

    #[cfg(feature = "cluster")]
    fn processes(&self) -> usize {
        self.config.cluster.as_ref().map_or(1, |mesh| mesh.processes())
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

/// The exchange of the operators that run on a cluster: to the partitions'
/// owners through the mesh when the job runs on one, a transpose otherwise.
/// A map task's buckets are ordered by its (part, chunk) position, which is
/// the same on every process when the parts are (every process runs the same
/// job on batches of the same partition counts).
impl<T: Send + Wire> Moves<T> for BatchContext<'_> {
    fn exchange_moved(
        &self,
        stage: usize,
        buckets: Vec<Vec<Vec<T>>>,
        n: usize,
    ) -> Result<Vec<Vec<Vec<T>>>, Self::Error> {
        #[cfg(feature = "cluster")]
        if let Some(mesh) = &self.config.cluster {
            let tasks = buckets
                .into_iter()
                .enumerate()
                .map(|(task, buckets)| ((task as u64, 0), buckets));
            return self.exchange_on(mesh, stage, tasks, n);
        }
        let _ = stage;
        Ok(transpose(buckets, n))
    }

    fn exchange_chunks(
        &self,
        stage: usize,
        chunks: Vec<Vec<Vec<Vec<T>>>>,
        n: usize,
    ) -> Result<Vec<Vec<Vec<T>>>, Self::Error> {
        #[cfg(feature = "cluster")]
        if let Some(mesh) = &self.config.cluster {
            let tasks = chunks.into_iter().enumerate().flat_map(|(part, chunks)| {
                let chunks = chunks.into_iter().enumerate();
                chunks.map(move |(chunk, buckets)| ((part as u64, chunk as u64), buckets))
            });
            return self.exchange_on(mesh, stage, tasks, n);
        }
        self.exchange_moved(stage, chunks.into_iter().flatten().collect(), n)
    }
}

impl BatchContext<'_> {
    /// The cluster's exchange of map tasks keyed by their position, timed as
    /// part of stage `stage`.
    #[cfg(feature = "cluster")]
    fn exchange_on<T: Send + Wire>(
        &self,
        mesh: &crate::cluster::Mesh,
        stage: usize,
        tasks: impl Iterator<Item = ((u64, u64), Vec<Vec<T>>)>,
        n: usize,
    ) -> Result<Vec<Vec<Vec<T>>>, crate::BatchError> {
        let start = Instant::now();
        let result = crate::cluster::exchange(mesh, tasks, n);
        self.record(stage, start);
        result.map_err(|e| self.cluster_error(stage, e.to_string()))
    }
}
