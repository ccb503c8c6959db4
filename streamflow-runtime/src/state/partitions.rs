//! The partition count of a keyed state, fixed when the job is built and
//! checked when a saved state is restored into it.
//!
//! A state store is partitioned by key; the batches it outputs have its
//! partition count, and so do the files a rerun batch writes again. A
//! checkpoint is therefore only restored into a store of the same count: a
//! count changed since (the operator's `partitions` argument or the job's
//! `JobConfig::partitions`) is refused at restore, with both counts, rather
//! than kept silently or repartitioned mid-recovery.

use crate::JobConfig;

/// The partition count of a stateful operator's store in a job run with
/// `config`: the call's `requested` count, else the job's (as a shuffle's).
pub fn state_partitions(config: &JobConfig, requested: Option<usize>) -> usize {
    requested.unwrap_or(config.partitions).max(1)
}

/// Whether a store saved with `saved` partitions fits one that keeps `now`;
/// the reason, as [`StateError::DoesNotFit`](crate::StateError) says it, if not.
pub(crate) fn fits(now: Option<usize>, saved: Option<usize>) -> Result<(), String> {
    match (now, saved) {
        (Some(now), Some(saved)) if now != saved => Err(format!(
            "it was saved in {saved} partitions and the job now keeps it in {now}; keyed state is \
             partitioned by that count: set it back (the operator's `partitions` argument, or \
             `JobConfig::partitions`), or start from a new checkpoint directory"
        )),
        // A store that has not run a batch yet takes the job's count then.
        _ => Ok(()),
    }
}
