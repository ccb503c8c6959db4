//! The runner of [`Batch`](crate::Batch) methods outside a job.

use super::Runner;
use crate::Time;
use crate::panic;
use rayon::prelude::*;
use std::convert::Infallible;

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

    fn time(&self) -> Time {
        Time::ZERO
    }
}

/// One process: every type moves, by a transpose.
impl<T: Send> super::Moves<T> for LocalRunner {
    fn exchange_moved(
        &self,
        _stage: usize,
        buckets: Vec<Vec<Vec<T>>>,
        n: usize,
    ) -> Result<Vec<Vec<Vec<T>>>, Infallible> {
        Ok(super::transpose(buckets, n))
    }
}
