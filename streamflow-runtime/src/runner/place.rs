//! Partitions moved to their owners: after an operator that lays partitions
//! side by side (`union`), partition `p` of the new batch may be on a
//! process that owned it in the old numbering but does not in the new one.
//! What acts on "the partitions this process owns" (the file sinks write
//! only those) needs each partition on its owner, as an exchange leaves it.

use super::{Indexed, Moves};
use crate::Batch;
use crate::cluster::owner;

/// `batch` with every partition on its owner (partition `p` of `n`:
/// [`owner`]`(p, n, processes)`), through the one exchange; a partition
/// already there is not encoded. In one process, the batch as it is. Every
/// process must call it, in the same place of the job.
pub(crate) fn to_owners<Rn, T>(runner: &Rn, stage: usize, batch: Batch<T>) -> Result<Batch<T>, Rn::Error>
where
    Rn: Moves<Indexed<T>>,
    T: Send,
{
    let processes = runner.processes();
    if processes <= 1 {
        return Ok(batch);
    }
    let n = batch.num_partitions();
    // Map task `p` sends partition `p`, with its index, to exchange
    // partition `q` of `processes` (which process `q` owns) for its owner
    // `q`: one bucket per process, not one per partition.
    let tasks = batch
        .into_partitions()
        .into_iter()
        .enumerate()
        .map(|(p, part)| {
            if part.is_empty() {
                return Vec::new();
            }
            let q = owner(p, n, processes);
            let mut buckets: Vec<Vec<Indexed<T>>> = (0..q).map(|_| Vec::new()).collect();
            buckets.push(vec![(p as u64, part)]);
            buckets
        })
        .collect();
    let received = runner.exchange_moved(stage, tasks, processes)?;
    let mut parts: Vec<Vec<T>> = (0..n).map(|_| Vec::new()).collect();
    for (p, part) in received.into_iter().flatten().flatten() {
        let p = p as usize;
        if p >= parts.len() {
            parts.resize_with(p + 1, Vec::new);
        }
        parts[p].extend(part);
    }
    Ok(Batch::from_partitions(parts))
}
