//! The partition count of a stateful operator (Spark's `numPartitions` on
//! `updateStateByKey`, `StateSpec.numPartitions`): written after the initial
//! state, it sets the state's key partitions and its output's, overriding the
//! job's; a snapshot is restored only into the count it was saved in.

#[macro_use]
mod common;

use common::*;
use streamflow::{Job, JobConfig, State, StateError};

jobs! {
    /// Running counts kept in `parts` partitions, in each form of both
    /// stateful operators, next to one that keeps the job's count.
    pub job Counts(parts: usize) {
        batch_interval = 1s;
        input words: String;
        let pairs = words.map(|w| (w, 1u64));
        let totals = pairs.update_state_by_key(
            |new: &[u64], total: Option<u64>| Some(total.unwrap_or(0) + new.len() as u64),
            [],
            parts,
        );
        output totals: (String, u64) = totals;
        output seeded: (String, u64) = pairs.update_state_by_key_with_time(
            |_, _, new: &[u64], total: Option<u64>| Some(total.unwrap_or(0) + new.len() as u64),
            [("seed".to_owned(), 7)],
            3,
        );
        let running = pairs.map_with_state(
            |_, one: Option<u64>, total: &mut State<u64>| {
                let sum = total.get().copied().unwrap_or(0) + one.unwrap_or(0);
                total.update(sum);
                Some(sum)
            },
            [],
            parts,
        );
        output running: u64 = running;
        output running_states: (String, u64) = running.state_snapshots();
        output timed: (String, u64) = pairs
            .map_with_state(
                |key: &String, one: Option<u64>, _: &mut State<u64>| one.map(|n| (key.clone(), n)),
                10s,
                [],
                parts,
            );
        let plain = pairs.update_state_by_key(
            |new: &[u64], total: Option<u64>| Some(total.unwrap_or(0) + new.len() as u64),
        );
        output plain: (String, u64) = plain;
    }
}

fn words(ws: &[&str]) -> fused::CountsInputs {
    fused::Counts::inputs().words(ws.iter().map(|w| w.to_string()))
}

fn job(m_parts: usize, job_parts: usize) -> fused::Counts {
    fused::Counts::with_config(JobConfig::new().partitions(job_parts), m_parts).unwrap()
}

both! {
    fn a_stateful_call_names_its_partition_count() {
        let config = JobConfig::new().partitions(2);
        let job = m::Counts::with_config(config, 5).unwrap();
        let input = |ws: &[&str]| m::Counts::inputs().words(ws.iter().map(|w| w.to_string()));
        let out = run(job, [input(&["a", "b", "a", "c", "d", "e", "f"]), input(&["a"])]);
        let w = |s: &str, n: u64| (s.to_owned(), n);
        for batch in &out {
            let o = &batch.outputs;
            assert_eq!(o.totals.num_partitions(), 5);
            assert_eq!(o.seeded.num_partitions(), 3);
            assert_eq!(o.running.num_partitions(), 5);
            assert_eq!(o.running_states.num_partitions(), 5);
            assert_eq!(o.timed.num_partitions(), 5);
            // No count: the job's.
            assert_eq!(o.plain.num_partitions(), 2);
        }
        // Same results as in any partition count.
        assert_eq!(
            out[1].outputs.totals.sorted(),
            [w("a", 3), w("b", 1), w("c", 1), w("d", 1), w("e", 1), w("f", 1)]
        );
        assert_eq!(out[1].outputs.totals.sorted(), out[1].outputs.plain.sorted());
        assert_eq!(out[0].outputs.seeded.sorted()[6], w("seed", 7));
        assert_eq!(out[1].outputs.running.to_vec(), [3]);
        assert_eq!(out[1].outputs.timed.to_vec(), [w("a", 1)]);
    }
}

fn run_batches(job: &mut fused::Counts, batches: &[&[&str]], from: u64) -> Vec<Vec<(String, u64)>> {
    batches
        .iter()
        .zip(from..)
        .map(|(ws, k)| {
            let out = job
                .run_batch(streamflow::Time::from_millis(k * 1000), words(ws))
                .unwrap();
            out.totals.sorted()
        })
        .collect()
}

#[test]
fn a_snapshot_is_restored_into_the_partition_count_it_was_saved_in() {
    let mut original = job(4, 2);
    run_batches(&mut original, &[&["a", "b"], &["a"]], 1);
    let snapshot = original.state().snapshot().unwrap();

    let mut same = job(4, 2);
    same.state_mut().restore(&snapshot).unwrap();
    let expected = run_batches(&mut original, &[&["b", "c"]], 3);
    assert_eq!(run_batches(&mut same, &[&["b", "c"]], 3), expected);
    assert_eq!(
        expected[0],
        [("a".to_owned(), 2), ("b".to_owned(), 2), ("c".to_owned(), 1)]
    );
}

#[test]
fn a_snapshot_saved_in_another_partition_count_is_refused() {
    let mut original = job(4, 2);
    run_batches(&mut original, &[&["a", "b"]], 1);
    let snapshot = original.state().snapshot().unwrap();

    // The operator's own count changed: `totals` is the first operator using it.
    let err = job(6, 2).state_mut().restore(&snapshot).unwrap_err();
    assert!(
        matches!(&err, StateError::DoesNotFit { id, .. } if id == "totals"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the state of `totals` cannot be restored: it was saved in 4 partitions and the job now keeps it in 6; \
         keyed state is partitioned by that count: set it back (the operator's `partitions` argument, or \
         `JobConfig::partitions`), or start from a new checkpoint directory"
    );
    // The job's count changed: only `plain` follows it.
    let err = job(4, 5).state_mut().restore(&snapshot).unwrap_err();
    assert!(
        matches!(&err, StateError::DoesNotFit { id, .. } if id == "plain"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("saved in 2 partitions and the job now keeps it in 5"),
        "{err}"
    );
}
