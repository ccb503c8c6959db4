//! The cluster's [`Runner::exchange`](crate::runner::Runner::exchange): every
//! bucket goes to the owner of its output partition, and each output
//! partition gets its buckets in map-task order, as the one-process
//! transpose gives them.

use super::config::{ClusterError, owner};
use super::mesh::{Mesh, Record};
use super::wire::Wire;

/// Moves `buckets[task][r]` to the owner of partition `r` of `n`: buckets for
/// this process stay here as they are (no encoding); the others are encoded
/// with postcard and sent through the mesh in one round. Output partitions
/// that another process owns come back empty.
///
/// Order: a process's map tasks are its own partitions (the others are
/// empty), in partition order, and owners are contiguous blocks, so sorting
/// the buckets an output partition receives by (source process, task index)
/// is the map-task order of the single-process run.
pub(crate) fn exchange<T: Wire>(
    mesh: &Mesh,
    buckets: Vec<Vec<Vec<T>>>,
    n: usize,
) -> Result<Vec<Vec<Vec<T>>>, ClusterError> {
    let me = mesh.process();
    let processes = mesh.processes();
    let mut records: Vec<Record> = Vec::new();
    let mut arrived: Vec<Vec<(u64, u64, Vec<T>)>> = (0..n).map(|_| Vec::new()).collect();
    for (task, per_target) in buckets.into_iter().enumerate() {
        for (r, bucket) in per_target.into_iter().enumerate().take(n) {
            if bucket.is_empty() {
                continue;
            }
            let dest = owner(r, n, processes);
            if dest == me {
                arrived[r].push((me as u64, task as u64, bucket));
            } else {
                let bytes = postcard::to_allocvec(&bucket)
                    .map_err(|e| ClusterError::Lost(format!("cannot encode a bucket for process {dest}: {e}")))?;
                mesh.count_sent(bucket.len(), bytes.len());
                records.push((dest as u64, r as u64, me as u64, task as u64, bytes));
            }
        }
    }
    for (_, r, source, task, bytes) in mesh.round(records)? {
        let bucket: Vec<T> = postcard::from_bytes(&bytes)
            .map_err(|e| ClusterError::Lost(format!("cannot decode a bucket from process {source}: {e}")))?;
        match arrived.get_mut(r as usize) {
            Some(list) => list.push((source, task, bucket)),
            None => {
                return Err(ClusterError::Lost(format!(
                    "process {source} sent partition {r} of an exchange with {n} partitions: the processes disagree on the job"
                )));
            }
        }
    }
    Ok(arrived
        .into_iter()
        .map(|mut list| {
            list.sort_by_key(|(source, task, _)| (*source, *task));
            list.into_iter().map(|(_, _, bucket)| bucket).collect()
        })
        .collect())
}
