//! The cluster's [`Moves::exchange_moved`](crate::runner::Moves::exchange_moved): every
//! bucket goes to the owner of its output partition, and each output
//! partition gets its buckets in map-task order, as the one-process
//! transpose gives them.

use super::config::{ClusterError, owner};
use super::mesh::{Mesh, Record};
use super::wire::Wire;

/// Where a map task's buckets come from: its (part, chunk) position, the
/// same on every process; a task whose part another process owns is empty.
pub(crate) type TaskKey = (u64, u64);

/// Moves every task's `buckets[r]` to the owner of partition `r` of `n`:
/// buckets for this process stay here as they are (no encoding); the others
/// are encoded with postcard and sent through the mesh in one round. Output
/// partitions that another process owns come back empty.
///
/// Order: each output partition gets its buckets sorted by the task's
/// position (then by process, which only one with data has): the map-task
/// order of the single-process run.
pub(crate) fn exchange<T: Wire>(
    mesh: &Mesh,
    tasks: impl Iterator<Item = (TaskKey, Vec<Vec<T>>)>,
    n: usize,
) -> Result<Vec<Vec<Vec<T>>>, ClusterError> {
    let me = mesh.process();
    let processes = mesh.processes();
    let mut records: Vec<Record> = Vec::new();
    let mut arrived: Vec<Vec<(TaskKey, u64, Vec<T>)>> = (0..n).map(|_| Vec::new()).collect();
    for (task, per_target) in tasks {
        for (r, bucket) in per_target.into_iter().enumerate().take(n) {
            if bucket.is_empty() {
                continue;
            }
            let dest = owner(r, n, processes);
            if dest == me {
                arrived[r].push((task, me as u64, bucket));
            } else {
                let bytes = postcard::to_allocvec(&bucket)
                    .map_err(|e| ClusterError::Lost(format!("cannot encode a bucket for process {dest}: {e}")))?;
                mesh.count_sent(bucket.len(), bytes.len());
                records.push(Record {
                    dest: dest as u64,
                    partition: r as u64,
                    source: me as u64,
                    task,
                    bytes,
                });
            }
        }
    }
    for record in mesh.round(records)? {
        let bucket: Vec<T> = postcard::from_bytes(&record.bytes)
            .map_err(|e| ClusterError::Lost(format!("cannot decode a bucket from process {}: {e}", record.source)))?;
        match arrived.get_mut(record.partition as usize) {
            Some(list) => list.push((record.task, record.source, bucket)),
            None => {
                return Err(ClusterError::Lost(format!(
                    "process {} sent partition {} of an exchange with {n} partitions: the processes disagree on the job",
                    record.source, record.partition
                )));
            }
        }
    }
    Ok(arrived
        .into_iter()
        .map(|mut list| {
            list.sort_by_key(|(task, source, _)| (*task, *source));
            list.into_iter().map(|(_, _, bucket)| bucket).collect()
        })
        .collect())
}
