//! A whole batch on process 0, Spark's driver: the gather that runs
//! `transform`, `transform_with`, `foreach_batch` and `print` there, and the
//! scatter of a transform's result back to its partitions' owners. Both go through
//! [`Moves::exchange_moved`], the one exchange; in one process they move
//! nothing.

use super::Moves;
use crate::Batch;
use crate::cluster::owner;

/// A partition on its way to or from process 0: its index and its elements.
/// The index keeps empty and trailing partitions in place, which the
/// exchange (it drops empty buckets) would not.
pub type Indexed<T> = (u64, Vec<T>);

/// Gathers `batch` to process 0, partition by partition in order: `Some` of
/// the whole batch there (in one process, the batch as it is), `None` on the
/// other processes. Every process must call it, in the same place of the job.
pub(crate) fn gather<Rn, T>(runner: &Rn, stage: usize, batch: Batch<T>) -> Result<Option<Batch<T>>, Rn::Error>
where
    Rn: Moves<Indexed<T>>,
    T: Send,
{
    if runner.processes() <= 1 {
        return Ok(Some(batch));
    }
    let n = batch.num_partitions();
    // One map task per partition, all into the one output partition, which
    // process 0 owns: the exchange orders them by task, i.e. by partition.
    let buckets = batch
        .into_partitions()
        .into_iter()
        .enumerate()
        .map(|(p, part)| {
            if part.is_empty() {
                vec![Vec::new()]
            } else {
                vec![vec![(p as u64, part)]]
            }
        })
        .collect();
    let received = runner.exchange_moved(stage, buckets, 1)?;
    if !runner.owns(0, 1) {
        return Ok(None);
    }
    let mut parts: Vec<Vec<T>> = (0..n).map(|_| Vec::new()).collect();
    for (p, part) in received.into_iter().flatten().flatten() {
        let p = p as usize;
        if p >= parts.len() {
            parts.resize_with(p + 1, Vec::new);
        }
        parts[p].extend(part);
    }
    Ok(Some(Batch::from_partitions(parts)))
}

/// What a process hands to [`scatter`].
pub(crate) enum Shipped<T> {
    /// Process 0's batch.
    Batch(Batch<T>),
    /// Process 0 has no batch: its function failed.
    Failed,
    /// Another process: it gets its share.
    Elsewhere,
}

/// The index that says "process 0 failed" in a scatter.
const FAILED: u64 = u64::MAX;

/// Scatters process 0's batch to its partitions' owners: every process gets
/// the batch's partition count, with the partitions it owns filled and the
/// others empty, as if the batch had been computed where it is owned. In one
/// process, the batch as it is. `None` on every process when process 0
/// shipped [`Shipped::Failed`].
pub(crate) fn scatter<Rn, T>(runner: &Rn, stage: usize, shipped: Shipped<T>) -> Result<Option<Batch<T>>, Rn::Error>
where
    Rn: Moves<Indexed<T>>,
    T: Send,
{
    let processes = runner.processes();
    if processes <= 1 {
        return Ok(match shipped {
            Shipped::Batch(batch) => Some(batch),
            Shipped::Failed => None,
            Shipped::Elsewhere => Some(Batch::empty()),
        });
    }
    // Process 0 sends to every process `q` (partition `q` of `processes`,
    // which `q` owns) every partition's index, with its elements if `q`
    // owns it: so every process learns the count, even one that owns none.
    let tasks = match shipped {
        Shipped::Elsewhere => Vec::new(),
        Shipped::Failed => vec![(0..processes).map(|_| vec![(FAILED, Vec::new())]).collect()],
        Shipped::Batch(batch) => {
            let m = batch.num_partitions();
            let mut per_process: Vec<Vec<Indexed<T>>> = (0..processes).map(|_| Vec::with_capacity(m)).collect();
            for (p, mut part) in batch.into_partitions().into_iter().enumerate() {
                let owned_by = owner(p, m, processes);
                for (q, list) in per_process.iter_mut().enumerate() {
                    let elements = if q == owned_by {
                        std::mem::take(&mut part)
                    } else {
                        Vec::new()
                    };
                    list.push((p as u64, elements));
                }
            }
            vec![per_process]
        }
    };
    let received = runner.exchange_moved(stage, tasks, processes)?;
    // Only this process's own partition of `processes` has anything.
    let mut parts: Vec<Vec<T>> = Vec::new();
    for (p, part) in received.into_iter().flatten().flatten() {
        if p == FAILED {
            return Ok(None);
        }
        let p = p as usize;
        if p >= parts.len() {
            parts.resize_with(p + 1, Vec::new);
        }
        parts[p].extend(part);
    }
    Ok(Some(Batch::from_partitions(parts)))
}

/// Runs `f` on process 0 over what was gathered there (`Some` on process 0
/// only; in one process, always) as user code of stage `stage`, and scatters
/// its batch to its partitions' owners. A failed `f` still takes part in the
/// scatter, so the other processes fail the batch too rather than wait for
/// process 0; they fail with "the function failed on process 0".
pub(crate) fn on_driver<Rn, G, V>(
    runner: &Rn,
    stage: usize,
    gathered: Option<G>,
    f: impl FnOnce(G) -> Batch<V>,
) -> Result<Batch<V>, Rn::Error>
where
    Rn: Moves<Indexed<V>>,
    V: Send,
{
    let (shipped, failed) = match gathered {
        Some(gathered) => match runner.call(stage, || f(gathered)) {
            Ok(batch) => (Shipped::Batch(batch), None),
            Err(e) => (Shipped::Failed, Some(e)),
        },
        None => (Shipped::Elsewhere, None),
    };
    let received = scatter(runner, stage, shipped)?;
    if let Some(e) = failed {
        return Err(e);
    }
    match received {
        Some(batch) => Ok(batch),
        None => runner.call(stage, || panic!("the function failed on process 0 (see its error)")),
    }
}

/// Why a borrowed batch could not be copied to process 0 ([`gather_copy`]).
#[cfg(feature = "cluster")]
pub(crate) enum CopyFailed<E> {
    /// The exchange failed (the mesh).
    Exchange(E),
    /// A part could not be encoded or decoded.
    Codec(String),
}

/// Gathers a copy of a borrowed batch to process 0, partition by partition
/// in order: `Some` of it there, `None` elsewhere. The partitions travel
/// encoded (postcard), since they are only borrowed and need not be
/// `Clone`: process 0 decodes its own too. A process that cannot encode its
/// part still takes part in the gather (with a marker instead), so that no
/// process waits for it and process 0 fails rather than see part of the
/// batch. Every process must call it, in the same place.
#[cfg(feature = "cluster")]
pub(crate) fn gather_copy<Rn, T>(
    runner: &Rn,
    stage: usize,
    batch: &Batch<T>,
) -> Result<Option<Batch<T>>, CopyFailed<Rn::Error>>
where
    Rn: Moves<Indexed<Option<Vec<u8>>>>,
    T: crate::cluster::Wire,
{
    // An empty partition travels as nothing (the gather keeps its place).
    let encoded: Result<Vec<Vec<Option<Vec<u8>>>>, _> = batch
        .partitions()
        .iter()
        .map(|part| {
            if part.is_empty() {
                Ok(Vec::new())
            } else {
                postcard::to_allocvec(part).map(|bytes| vec![Some(bytes)])
            }
        })
        .collect();
    let (mine, failed) = match encoded {
        Ok(parts) => (Batch::from_partitions(parts), None),
        Err(e) => (
            Batch::from_vec(vec![None]),
            Some(format!("cannot encode the batch: {e}")),
        ),
    };
    let gathered = gather(runner, stage, mine).map_err(CopyFailed::Exchange)?;
    if let Some(message) = failed {
        return Err(CopyFailed::Codec(message));
    }
    let Some(all) = gathered else { return Ok(None) };
    let mut parts = Vec::with_capacity(all.num_partitions());
    for encoded in all.into_partitions() {
        let mut part = Vec::new();
        for bytes in encoded {
            let Some(bytes) = bytes else {
                return Err(CopyFailed::Codec(
                    "another process could not encode its part of the batch (its own error says why)".to_owned(),
                ));
            };
            let elements: Vec<T> =
                postcard::from_bytes(&bytes).map_err(|e| CopyFailed::Codec(format!("cannot decode the batch: {e}")))?;
            part.extend(elements);
        }
        parts.push(part);
    }
    Ok(Some(Batch::from_partitions(parts)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::LocalRunner;

    #[test]
    fn in_one_process_nothing_moves() {
        let runner = LocalRunner::new();
        let batch = Batch::from_partitions(vec![vec![1], vec![], vec![2, 3]]);
        let gathered = gather(&runner, 0, batch).unwrap().unwrap();
        assert_eq!(gathered.partitions(), &[vec![1], vec![], vec![2, 3]]);
        let back = scatter(&runner, 0, Shipped::Batch(gathered)).unwrap().unwrap();
        assert_eq!(back.partitions(), &[vec![1], vec![], vec![2, 3]]);
        assert!(scatter::<_, i32>(&runner, 0, Shipped::Failed).unwrap().is_none());
    }
}
