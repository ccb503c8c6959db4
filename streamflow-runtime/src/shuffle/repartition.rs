//! `repartition(n)`: the same elements spread round-robin over `n`
//! partitions.

use super::shuffle;
use crate::Batch;
use crate::runner::Moves;
use crate::stage::bounds::{Element, MapSide, ReduceSide};
use crate::stage::{StageInput, narrow_parts};

/// `repartition(n)`: element `i` of the batch (counting across partitions in
/// order) goes to partition `i mod n`: deterministic, and balanced to within
/// one element. Stages: `stage` the map side, the bucketing and the exchange;
/// `stage + 1` the reduce side.
///
/// On a cluster an element's place depends on the lengths of the partitions
/// before its own, which other processes hold: every process first learns
/// every partition's length (one small exchange), so each element goes where
/// it goes in one process.
pub fn repartition<Rn, S: StageInput, T: Element, U: Element>(
    runner: &Rn,
    stage: usize,
    input: S,
    map_side: impl MapSide<S::Item, Vec<T>>,
    partitions: Option<usize>,
    reduce_side: impl ReduceSide<T, U>,
) -> Result<Batch<U>, Rn::Error>
where
    Rn: Moves<T> + Moves<(u64, u64)>,
{
    let n = runner.partitions(partitions);
    let parts = narrow_parts(runner, stage, input, map_side)?;
    let lengths = every_length(runner, stage, &parts)?;
    let mut offset = 0usize;
    let with_offsets: Vec<(usize, Vec<T>)> = parts
        .into_iter()
        .zip(lengths)
        .map(|(part, len)| {
            let start = offset;
            offset += len;
            (start, part)
        })
        .collect();
    let total = offset;
    shuffle(
        runner,
        stage,
        with_offsets,
        n,
        |(start, part)| round_robin(start, part, n),
        |buckets| {
            let mut out = Vec::with_capacity(total / n + 1);
            for x in buckets.into_iter().flatten() {
                reduce_side(x, &mut out);
            }
            out
        },
    )
}

/// The length of every partition of the batch, also those another process
/// of a cluster holds: each process sends the lengths of its non-empty
/// partitions, as `(partition, length)`, to every process (exchange
/// partition `q` of `processes` is process `q`'s). In one process, the
/// lengths as they are.
fn every_length<Rn, T>(runner: &Rn, stage: usize, parts: &[Vec<T>]) -> Result<Vec<usize>, Rn::Error>
where
    Rn: Moves<(u64, u64)>,
{
    let mut lengths: Vec<usize> = parts.iter().map(Vec::len).collect();
    let processes = runner.processes();
    if processes <= 1 {
        return Ok(lengths);
    }
    let tasks = lengths
        .iter()
        .enumerate()
        .map(|(p, &len)| {
            if len == 0 {
                Vec::new()
            } else {
                (0..processes).map(|_| vec![(p as u64, len as u64)]).collect()
            }
        })
        .collect();
    let received = runner.exchange_moved(stage, tasks, processes)?;
    for (p, len) in received.into_iter().flatten().flatten() {
        // Each partition's elements are on one process: its length is sent once.
        if let Some(slot) = lengths.get_mut(p as usize) {
            *slot = len as usize;
        }
    }
    Ok(lengths)
}

/// The `n` buckets of a partition whose first element is element `start` of
/// the batch.
fn round_robin<T>(start: usize, part: Vec<T>, n: usize) -> Vec<Vec<T>> {
    let len = part.len();
    let mut buckets: Vec<Vec<T>> = (0..n)
        .map(|r| Vec::with_capacity(len / n + usize::from((r + n - start % n) % n < len % n)))
        .collect();
    let mut target = start % n;
    for x in part {
        buckets[target].push(x);
        target += 1;
        if target == n {
            target = 0;
        }
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::test_ctx;

    #[test]
    fn repartition_is_round_robin_and_keeps_elements() {
        let ctx = test_ctx(2);
        let input = Batch::from_partitions(vec![vec![0, 1, 2], vec![3, 4], vec![5, 6, 7, 8, 9]]);
        let out = repartition(&ctx, 0, input, |x, out| out.push(x), Some(3), |x, out| out.push(x)).unwrap();
        assert_eq!(out.partitions(), &[vec![0, 3, 6, 9], vec![1, 4, 7], vec![2, 5, 8]]);
        let one = repartition(
            &ctx,
            0,
            Batch::from_vec(vec![1, 2]),
            |x, out| out.push(x),
            Some(0),
            |x, out| out.push(x),
        )
        .unwrap();
        assert_eq!(one.partitions(), &[vec![1, 2]]);
    }
}
