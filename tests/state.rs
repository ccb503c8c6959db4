//! Keyed state through `stream_job!`, fused and unfused, against
//! docs/semantics.md's "Keyed state" section: each rule has a test named after it.
//! The state functions record what they were called with (in the state for
//! `update_state_by_key`, in the output for `map_with_state`), so the tests
//! assert every call exactly. Shuffled outputs are compared sorted.

// A valid job compiles without warnings: a witness the macro leaves unused
// (it did for a `map_with_state` read only by `state_snapshots`) fails here.
#![deny(unused_variables)]

#[macro_use]
mod common;

use common::*;
use streamflow::{Batch, JobConfig, State, Time};

/// What one `map_with_state` call saw: the key, the value (`None` when
/// timing out), the state before the call, and whether it was timing out.
pub type Call = (&'static str, Option<i32>, Option<i32>, bool);

jobs! {
    /// `update_state_by_key`: the key's state is the list of the new-value
    /// slices of every call, so the output shows every call.
    fn history(new: &[i32], old: Option<Vec<Vec<i32>>>) -> Option<Vec<Vec<i32>>> {
        let mut calls = old.unwrap_or_default();
        calls.push(new.to_vec());
        Some(calls)
    }

    /// A running total that forgets a key in its first batch without values.
    fn total_while_active(new: &[i32], old: Option<i32>) -> Option<i32> {
        if new.is_empty() { None } else { Some(old.unwrap_or(0) + new.iter().sum::<i32>()) }
    }

    /// `update_state_by_key_with_time`: every call's time, key and new values.
    #[allow(clippy::type_complexity)]
    fn stamped(
        time: Time,
        key: &&'static str,
        new: &[i32],
        old: Option<Vec<(u64, &'static str, Vec<i32>)>>,
    ) -> Option<Vec<(u64, &'static str, Vec<i32>)>> {
        let mut calls = old.unwrap_or_default();
        calls.push((time.as_millis(), *key, new.to_vec()));
        Some(calls)
    }

    /// `map_with_state`: outputs the call it got; a positive value adds to the
    /// key's total, 0 leaves the state alone, a negative value removes it, and
    /// 100 returns `None` (and leaves the state alone).
    fn tally(key: &&'static str, value: Option<i32>, state: &mut State<i32>) -> Option<Call> {
        let before = state.get().copied();
        match value {
            Some(100) => return None,
            Some(v) if v < 0 => state.remove(),
            Some(v) if v > 0 => state.update(before.unwrap_or(0) + v),
            _ => {}
        }
        Some((*key, value, before, state.is_timing_out()))
    }

    pub job Updates {
        batch_interval = 1s;
        input pairs: (&'static str, i32);
        output histories: (&'static str, Vec<Vec<i32>>) = pairs.update_state_by_key(history);
        output totals: (&'static str, i32) = pairs.update_state_by_key(
            |new: &[i32], total: Option<i32>| Some(total.unwrap_or(0) + new.iter().sum::<i32>()),
        );
        output active: (&'static str, i32) = pairs.update_state_by_key(total_while_active);
        output seeded: (&'static str, Vec<Vec<i32>>) = pairs.update_state_by_key(history, [("z", vec![vec![99]])]);
        output stamped: (&'static str, Vec<(u64, &'static str, Vec<i32>)>) =
            pairs.update_state_by_key_with_time(stamped);
        output stamped_seeded: (&'static str, Vec<(u64, &'static str, Vec<i32>)>) =
            pairs.update_state_by_key_with_time(stamped, vec![("z", Vec::new())]);
    }

    pub job Mapped {
        batch_interval = 1s;
        input pairs: (&'static str, i32);
        let plain = pairs.map_with_state(tally);
        output calls: Call = plain;
        output snapshots: (&'static str, i32) = plain.state_snapshots();
        let timed = pairs.map_with_state(tally, 3s);
        output timed_calls: Call = timed;
        output timed_snapshots: (&'static str, i32) = timed.state_snapshots();
        let seeded = pairs.map_with_state(tally, [("z", 50)]);
        output seeded_calls: Call = seeded;
        output seeded_snapshots: (&'static str, i32) = seeded.state_snapshots();
        let seeded_timed = pairs.map_with_state(tally, 2500ms, [("z", 50)]);
        output seeded_timed_calls: Call = seeded_timed;
        output seeded_timed_snapshots: (&'static str, i32) = seeded_timed.state_snapshots();
        // Without snapshots: the state is kept all the same.
        output blind_calls: Call = pairs.map_with_state(tally);
        // Read only through its snapshots.
        let unread = pairs.map_with_state(tally);
        output unread_snapshots: (&'static str, i32) = unread.state_snapshots();
    }
}

/// One `Job::inputs().port(batch)` per batch.
macro_rules! feed {
    ($job:path, $port:ident, $batches:expr) => {{
        let batches: &[&[_]] = &$batches[..];
        batches
            .iter()
            .map(|b| <$job>::inputs().$port(b.iter().copied()))
            .collect::<Vec<_>>()
    }};
}

/// `field` of every batch's outputs, sorted.
macro_rules! column {
    ($outputs:expr, $field:ident) => {
        $outputs.iter().map(|o| sorted(&o.$field)).collect::<Vec<_>>()
    };
}

fn sorted<T: Ord + Clone>(batch: &Batch<T>) -> Vec<T> {
    batch.clone().sorted()
}

/// The calls of `key` in one batch, in the order the output holds them (one
/// key's records are in one partition, in arrival order).
fn calls_of(batch: &Batch<Call>, key: &str) -> Vec<Call> {
    batch.iter().filter(|c| c.0 == key).cloned().collect()
}

type Pairs = &'static [(&'static str, i32)];

/// T1 a:1 b:2 a:3 a:2, T2 b:4, T3 nothing, T4 a:5 c:6.
const UPDATES: [Pairs; 4] = [
    &[("a", 1), ("b", 2), ("a", 3), ("a", 2)],
    &[("b", 4)],
    &[],
    &[("a", 5), ("c", 6)],
];

both! {
    fn update_state_by_key_calls_keys_without_new_values_with_an_empty_slice() {
        let out = run(m::Updates::new(), feed!(m::Updates, pairs, UPDATES));
        assert_eq!(column!(out, histories), vec![
            vec![("a", vec![vec![1, 3, 2]]), ("b", vec![vec![2]])],
            vec![("a", vec![vec![1, 3, 2], vec![]]), ("b", vec![vec![2], vec![4]])],
            vec![("a", vec![vec![1, 3, 2], vec![], vec![]]), ("b", vec![vec![2], vec![4], vec![]])],
            vec![
                ("a", vec![vec![1, 3, 2], vec![], vec![], vec![5]]),
                ("b", vec![vec![2], vec![4], vec![], vec![]]),
                ("c", vec![vec![6]]),
            ],
        ]);
    }

    fn update_state_by_key_new_values_arrive_in_arrival_order() {
        let batches: [Pairs; 2] = [&[("a", 3), ("b", 1), ("a", 1), ("a", 2), ("b", 0), ("a", 9)], &[("a", 7), ("a", 4)]];
        let out = run(m::Updates::new(), feed!(m::Updates, pairs, batches));
        assert_eq!(column!(out, histories), vec![
            vec![("a", vec![vec![3, 1, 2, 9]]), ("b", vec![vec![1, 0]])],
            vec![("a", vec![vec![3, 1, 2, 9], vec![7, 4]]), ("b", vec![vec![1, 0], vec![]])],
        ]);
    }

    fn update_state_by_key_returning_none_removes_the_key() {
        let out = run(m::Updates::new(), feed!(m::Updates, pairs, UPDATES));
        assert_eq!(column!(out, active), vec![
            vec![("a", 6), ("b", 2)],
            // a had no values: removed.
            vec![("b", 6)],
            vec![],
            // a starts again from no state: 5, not 11.
            vec![("a", 5), ("c", 6)],
        ]);
    }

    fn update_state_by_key_outputs_the_whole_state_every_batch() {
        let out = run(m::Updates::new(), feed!(m::Updates, pairs, UPDATES));
        assert_eq!(column!(out, totals), vec![
            vec![("a", 6), ("b", 2)],
            vec![("a", 6), ("b", 6)],
            vec![("a", 6), ("b", 6)],
            vec![("a", 11), ("b", 6), ("c", 6)],
        ]);
    }

    fn update_state_by_key_an_initial_state_is_loaded_before_batch_1_and_its_keys_are_called_in_batch_1() {
        let out = run(m::Updates::new(), feed!(m::Updates, pairs, UPDATES));
        assert_eq!(column!(out, seeded)[..2], [
            vec![("a", vec![vec![1, 3, 2]]), ("b", vec![vec![2]]), ("z", vec![vec![99], vec![]])],
            vec![
                ("a", vec![vec![1, 3, 2], vec![]]),
                ("b", vec![vec![2], vec![4]]),
                ("z", vec![vec![99], vec![], vec![]]),
            ],
        ]);
        // An empty first batch: only the initial key, called once.
        let out = run(m::Updates::new(), [m::Updates::inputs(), m::Updates::inputs().pairs([("z", 1)])]);
        assert_eq!(column!(out, seeded), vec![
            vec![("z", vec![vec![99], vec![]])],
            vec![("z", vec![vec![99], vec![], vec![1]])],
        ]);
        assert_eq!(column!(out, stamped_seeded), vec![
            vec![("z", vec![(1000, "z", vec![])])],
            vec![("z", vec![(1000, "z", vec![]), (2000, "z", vec![1])])],
        ]);
        assert_eq!(column!(out, histories), vec![vec![], vec![("z", vec![vec![1]])]]);
    }

    fn update_state_by_key_with_time_sees_the_batch_time_and_the_key() {
        let out = run(m::Updates::new(), feed!(m::Updates, pairs, UPDATES));
        assert_eq!(column!(out, stamped)[3], vec![
            ("a", vec![(1000, "a", vec![1, 3, 2]), (2000, "a", vec![]), (3000, "a", vec![]), (4000, "a", vec![5])]),
            ("b", vec![(1000, "b", vec![2]), (2000, "b", vec![4]), (3000, "b", vec![]), (4000, "b", vec![])]),
            ("c", vec![(4000, "c", vec![6])]),
        ]);
        assert_eq!(column!(out, stamped_seeded)[0], vec![
            ("a", vec![(1000, "a", vec![1, 3, 2])]),
            ("b", vec![(1000, "b", vec![2])]),
            ("z", vec![(1000, "z", vec![])]),
        ]);
    }

    fn update_state_by_key_an_initial_state_is_partitioned_like_the_new_values() {
        // The initial key z meets its own new values in batch 1, whatever the
        // number of partitions: one key, one call.
        for n in [1, 2, 3, 5, 8] {
            let job = m::Updates::with_config(JobConfig::new().partitions(n)).unwrap();
            let out = run(job, [m::Updates::inputs().pairs([("z", 1), ("a", 2), ("z", 3)])]);
            assert_eq!(sorted(&out[0].seeded), vec![("a", vec![vec![2]]), ("z", vec![vec![99], vec![1, 3]])], "{n} partitions");
            assert_eq!(out[0].seeded.num_partitions(), n);
        }
    }

    fn map_with_state_an_initial_state_is_partitioned_like_the_records() {
        for n in [1, 2, 3, 5, 8] {
            let job = m::Mapped::with_config(JobConfig::new().partitions(n)).unwrap();
            let out = run(job, [m::Mapped::inputs().pairs([("z", 1), ("a", 2)])]);
            assert_eq!(sorted(&out[0].seeded_calls), vec![("a", Some(2), None, false), ("z", Some(1), Some(50), false)]);
            assert_eq!(sorted(&out[0].seeded_snapshots), vec![("a", 2), ("z", 51)], "{n} partitions");
        }
    }

    fn map_with_state_is_called_only_for_keys_with_data() {
        let batches: [Pairs; 4] = [&[("a", 1), ("b", 2)], &[("a", 3)], &[], &[("b", 4)]];
        let out = run(m::Mapped::new(), feed!(m::Mapped, pairs, batches));
        let expected = vec![
            vec![("a", Some(1), None, false), ("b", Some(2), None, false)],
            vec![("a", Some(3), Some(1), false)],
            vec![],
            vec![("b", Some(4), Some(2), false)],
        ];
        assert_eq!(column!(out, calls), expected);
        assert_eq!(column!(out, blind_calls), expected);
    }

    fn map_with_state_is_called_once_per_record_in_arrival_order() {
        let batches: [Pairs; 2] = [&[("a", 1), ("b", 10), ("a", 2), ("a", 3), ("b", 20)], &[("a", 4)]];
        let out = run(m::Mapped::new(), feed!(m::Mapped, pairs, batches));
        assert_eq!(calls_of(&out[0].calls, "a"), vec![
            ("a", Some(1), None, false),
            ("a", Some(2), Some(1), false),
            ("a", Some(3), Some(3), false),
        ]);
        assert_eq!(calls_of(&out[0].calls, "b"), vec![("b", Some(10), None, false), ("b", Some(20), Some(10), false)]);
        assert_eq!(out[0].calls.len(), 5);
        assert_eq!(out[1].calls.to_vec(), vec![("a", Some(4), Some(6), false)]);
        assert_eq!(column!(out, snapshots), vec![vec![("a", 6), ("b", 30)], vec![("a", 10), ("b", 30)]]);
    }

    fn map_with_state_outputs_what_the_calls_return_and_none_returns_add_nothing() {
        let batches: [Pairs; 3] = [&[("a", 1), ("a", 100), ("b", 100)], &[("a", 100)], &[("a", 2)]];
        let out = run(m::Mapped::new(), feed!(m::Mapped, pairs, batches));
        assert_eq!(column!(out, calls), vec![vec![("a", Some(1), None, false)], vec![], vec![(
            "a",
            Some(2),
            Some(1),
            false
        )]]);
        // The output is not the state: b got a call but has no state.
        assert_eq!(column!(out, snapshots), vec![vec![("a", 1)], vec![("a", 1)], vec![("a", 3)]]);
    }

    fn map_with_state_the_handle_can_read_update_or_remove_and_doing_neither_keeps_it() {
        // a: updated to 5, kept (0), kept, removed (-1), created again.
        let batches: [Pairs; 4] = [&[("a", 5), ("b", 1)], &[("a", 0)], &[("a", -1), ("b", 0)], &[("a", 2)]];
        let out = run(m::Mapped::new(), feed!(m::Mapped, pairs, batches));
        assert_eq!(column!(out, calls), vec![
            vec![("a", Some(5), None, false), ("b", Some(1), None, false)],
            vec![("a", Some(0), Some(5), false)],
            vec![("a", Some(-1), Some(5), false), ("b", Some(0), Some(1), false)],
            vec![("a", Some(2), None, false)],
        ]);
        assert_eq!(column!(out, snapshots), vec![
            vec![("a", 5), ("b", 1)],
            vec![("a", 5), ("b", 1)],
            vec![("b", 1)],
            vec![("a", 2), ("b", 1)],
        ]);
    }

    fn map_with_state_snapshots_give_every_key_after_each_batch_idle_keys_included() {
        let batches: [Pairs; 4] = [&[("a", 1), ("b", 2)], &[("a", 3)], &[], &[("c", 4)]];
        let out = run(m::Mapped::new(), feed!(m::Mapped, pairs, batches));
        let expected = vec![
            vec![("a", 1), ("b", 2)],
            vec![("a", 4), ("b", 2)],
            vec![("a", 4), ("b", 2)],
            vec![("a", 4), ("b", 2), ("c", 4)],
        ];
        assert_eq!(column!(out, snapshots), expected);
        assert_eq!(column!(out, unread_snapshots), expected);
    }

    fn map_with_state_an_initial_state_appears_in_the_first_snapshot() {
        let batches: [Pairs; 3] = [&[("a", 1)], &[], &[("z", 5)]];
        let out = run(m::Mapped::new(), feed!(m::Mapped, pairs, batches));
        assert_eq!(column!(out, seeded_snapshots), vec![
            vec![("a", 1), ("z", 50)],
            vec![("a", 1), ("z", 50)],
            vec![("a", 1), ("z", 55)],
        ]);
        // The initial key is called only when it has data.
        assert_eq!(column!(out, seeded_calls), vec![
            vec![("a", Some(1), None, false)],
            vec![],
            vec![("z", Some(5), Some(50), false)],
        ]);
        // An empty first batch.
        let out = run(m::Mapped::new(), [m::Mapped::inputs()]);
        assert_eq!(column!(out, seeded_snapshots), vec![vec![("z", 50)]]);
        assert!(out[0].seeded_calls.is_empty() && out[0].snapshots.is_empty());
    }

    fn map_with_state_a_timeout_fires_in_the_first_batch_at_or_after_last_update_plus_timeout() {
        // Timeout 3s. a: last record at T2, so it times out at T5. b: records
        // at T1 and T4 (= 1 + 3: it has data, so it does not time out), then
        // times out at T7. a comes back at T8 with no state.
        let batches: [Pairs; 8] = [&[("a", 1), ("b", 1)], &[("a", 2)], &[], &[("b", 5)], &[], &[], &[], &[("a", 7)]];
        let out = run(m::Mapped::new(), feed!(m::Mapped, pairs, batches));
        assert_eq!(column!(out, timed_calls), vec![
            vec![("a", Some(1), None, false), ("b", Some(1), None, false)],
            vec![("a", Some(2), Some(1), false)],
            vec![],
            vec![("b", Some(5), Some(1), false)],
            vec![("a", None, Some(3), true)],
            vec![],
            vec![("b", None, Some(6), true)],
            vec![("a", Some(7), None, false)],
        ]);
        assert_eq!(column!(out, timed_snapshots), vec![
            vec![("a", 1), ("b", 1)],
            vec![("a", 3), ("b", 1)],
            vec![("a", 3), ("b", 1)],
            vec![("a", 3), ("b", 6)],
            vec![("b", 6)],
            vec![("b", 6)],
            vec![],
            vec![("a", 7)],
        ]);
        // Without a timeout nothing is ever removed for idleness.
        assert_eq!(column!(out, snapshots)[6], vec![("a", 3), ("b", 6)]);
    }

    fn map_with_state_a_timeout_that_is_not_a_multiple_of_the_interval_fires_at_the_next_batch() {
        // Timeout 2.5s. The initial key z counts as updated at time 0: it times
        // out at T3 (first batch at or after 2500 ms); a, updated at T1, at T4.
        let batches: [Pairs; 5] = [&[("a", 1)], &[], &[], &[], &[]];
        let out = run(m::Mapped::new(), feed!(m::Mapped, pairs, batches));
        assert_eq!(column!(out, seeded_timed_calls), vec![
            vec![("a", Some(1), None, false)],
            vec![],
            vec![("z", None, Some(50), true)],
            vec![("a", None, Some(1), true)],
            vec![],
        ]);
        assert_eq!(column!(out, seeded_timed_snapshots), vec![
            vec![("a", 1), ("z", 50)],
            vec![("a", 1), ("z", 50)],
            vec![("a", 1)],
            vec![],
            vec![],
        ]);
    }
}
