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

/// A chooser of key groups for a restore on a cluster: for key group `g` of
/// `n`, the index of the saved part (process) to take it from, or `None` if
/// this process does not own it now.
pub type GroupSource<'a> = &'a dyn Fn(usize, usize) -> Option<usize>;

/// A state kept in key groups (its key partitions), which a checkpoint
/// taken on N processes (each saving the groups it owns) restores on M:
/// each process takes the groups it owns now from the part that holds them.
pub trait KeyGroups: Sized {
    /// One state made of `parts` (each process's saved state, by process
    /// index; never empty): key group `g` of `n` from `parts[from(g, n)]`,
    /// empty where `from` gives `None`; what is not partitioned (a window's
    /// shape, the last emit time), the same on every process, from the first.
    fn merge_groups(parts: Vec<Self>, from: GroupSource<'_>) -> Self;
}

/// Key group `g` of every part's groups (the longest part's count) taken
/// from the part `from(g, n)` says, or empty.
pub(crate) fn pick_groups<T: Default>(parts: Vec<Vec<T>>, from: GroupSource<'_>) -> Vec<T> {
    let n = parts.iter().map(Vec::len).max().unwrap_or(0);
    let mut parts: Vec<Vec<Option<T>>> = parts
        .into_iter()
        .map(|groups| groups.into_iter().map(Some).collect())
        .collect();
    (0..n)
        .map(|g| {
            from(g, n)
                .and_then(|i| parts.get_mut(i))
                .and_then(|groups| groups.get_mut(g))
                .and_then(Option::take)
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_group_comes_from_the_part_that_owned_it() {
        // Saved on 2 processes (groups 0-1 on process 0, 2-3 on 1); this is
        // process 1 of 3 now, which owns group 2 of 4.
        let parts = vec![
            vec![vec![0], vec![1], vec![], vec![]],
            vec![vec![], vec![], vec![2], vec![3]],
        ];
        let from = |g: usize, n: usize| (crate::cluster::owner(g, n, 3) == 1).then(|| crate::cluster::owner(g, n, 2));
        assert_eq!(pick_groups(parts, &from), vec![vec![], vec![], vec![2], vec![]]);
    }
}
