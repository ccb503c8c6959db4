//! Window operators through `stream_job!`, fused and unfused, against
//! docs/semantics.md's "Windows" section: each rule has a test named after it.
//! Every output batch is asserted, including the `None`s of a stream whose
//! slide is longer than the batch interval (Spark makes no batch then).
//! Windows that shuffle are compared sorted; `window` keeps time order.

// Valid jobs compile without warnings (see tests/state.rs).
#![deny(unused_variables)]

#[macro_use]
mod common;

use common::*;
use streamflow::Batch;

jobs! {
    pub job Windows {
        batch_interval = 1s;
        input xs: i32;
        output last2: i32 = xs.window(2s);
        output last2_every1: i32 = xs.window(2s, 1s);
        output last3_every2: i32 = xs.window(3s, 2s);
        output last1_every3: i32 = xs.window(1s, 3s);
        output last2_every3: i32 = xs.window(2s, 3s);
        output counts: u64 = xs.count_by_window(2s, 1s);
        output counts4_every2: u64 = xs.count_by_window(4s, 2s);
        output sums: i32 = xs.reduce_by_window(|a, b| a + b, 2s, 1s);
        output sums_inv: i32 = xs.reduce_by_window(|a, b| a + b, |a, b| a - b, 2s, 1s);
        output sums3_every2: i32 = xs.reduce_by_window(|a, b| a + b, 3s, 2s);
        output sums_inv3_every2: i32 = xs.reduce_by_window(|a, b| a + b, |a, b| a - b, 3s, 2s);
    }

    pub job Keyed {
        batch_interval = 1s;
        input pairs: (&'static str, i32);
        input sparse: (&'static str, i32);
        output sums: (&'static str, i32) = pairs.reduce_by_key_and_window(|a, b| a + b, 2s);
        output sums3_every2: (&'static str, i32) = pairs.reduce_by_key_and_window(|a, b| a + b, 3s, 2s);
        output sums3_every2_in3: (&'static str, i32) = pairs.reduce_by_key_and_window(|a, b| a + b, 3s, 2s, 3);
        output inv: (&'static str, i32) = pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 2s, 1s);
        output inv3_every2: (&'static str, i32) =
            pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 3s, 2s);
        output inv_in3: (&'static str, i32) = pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 2s, 1s, 3);
        output nonzero: (&'static str, i32) = pairs.reduce_by_key_and_window(
            |a, b| a + b,
            |a, b| a - b,
            2s,
            1s,
            2,
            |kv: &(&'static str, i32)| kv.1 != 0,
        );
        output groups: (&'static str, Vec<i32>) = pairs.group_by_key_and_window(2s);
        output groups3_every2: (&'static str, Vec<i32>) = pairs.group_by_key_and_window(3s, 2s);
        output groups3_every2_in2: (&'static str, Vec<i32>) = pairs.group_by_key_and_window(3s, 2s, 2);
        output sparse_plain: (&'static str, i32) = sparse.reduce_by_key_and_window(|a, b| a + b, 2s, 1s);
        output sparse_at_least_2: (&'static str, i32) = sparse.reduce_by_key_and_window(
            |a, b| a + b,
            |a, b| a - b,
            2s,
            1s,
            4,
            |kv: &(&'static str, i32)| kv.1 >= 2,
        );
    }

    pub job Equivalence {
        batch_interval = 1s;
        input pairs: (u8, u32);
        output plain3: (u8, u32) = pairs.reduce_by_key_and_window(|a, b| a + b, 3s, 1s);
        output inv3: (u8, u32) =
            pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 3s, 1s, 4, |kv: &(u8, u32)| kv.1 != 0);
        output plain4_every2: (u8, u32) = pairs.reduce_by_key_and_window(|a, b| a + b, 4s, 2s, 3);
        output inv4_every2: (u8, u32) =
            pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 4s, 2s, 3, |kv: &(u8, u32)| kv.1 != 0);
    }

    pub job Values {
        batch_interval = 1s;
        input words: &'static str;
        output counts: (&'static str, u64) = words.count_by_value_and_window(2s, 1s);
        output counts3_every2_in3: (&'static str, u64) = words.count_by_value_and_window(3s, 2s, 3);
    }
}

/// A batch's elements in order.
fn seq<T: Clone>(batch: &Batch<T>) -> Vec<T> {
    batch.to_vec()
}

/// A batch's elements, sorted.
fn sorted<T: Ord + Clone>(batch: &Batch<T>) -> Vec<T> {
    batch.clone().sorted()
}

/// `field` of every batch's outputs through `f`: `Vec<Vec<T>>` for a stream
/// with a batch every interval, `Vec<Option<Vec<T>>>` for one with a longer
/// slide (`None` where it has no batch).
macro_rules! column {
    ($outputs:expr, $field:ident, $f:expr) => {
        $outputs.iter().map(|o| $f(&o.$field)).collect::<Vec<_>>()
    };
    ($outputs:expr, $field:ident?, $f:expr) => {
        $outputs.iter().map(|o| o.$field.as_ref().map($f)).collect::<Vec<_>>()
    };
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

/// T1 [1, 2], T2 [3], T3 [4, 5], T4 [], T5 [6], then quiet until T10.
const BUSY: &[&[i32]] = &[&[1, 2], &[3], &[4, 5], &[], &[6], &[], &[], &[], &[], &[]];
/// Quiet at first: T1 [], T2 [], T3 [10, 20], T4 [5], then quiet until T8.
const LATE: &[&[i32]] = &[&[], &[], &[10, 20], &[5], &[], &[], &[], &[]];
/// One element per batch, T1 [1] ... T7 [7].
const ONE_EACH: &[&[i32]] = &[&[1], &[2], &[3], &[4], &[5], &[6], &[7]];

/// T1 a:1 b:2 a:3, T2 b:4 a:0 c:5, T3 a:6, then quiet until T6.
const KEYED: [&[(&str, i32)]; 6] = [
    &[("a", 1), ("b", 2), ("a", 3)],
    &[("b", 4), ("a", 0), ("c", 5)],
    &[("a", 6)],
    &[],
    &[],
    &[],
];

both! {
    fn window_is_the_union_of_the_covered_batches_in_time_order() {
        let out = run(m::Windows::new(), feed!(m::Windows, xs, BUSY));
        assert_eq!(column!(out, last2, seq)[..3], [vec![1, 2], vec![1, 2, 3], vec![3, 4, 5]]);
        // `window(2s)` slides every batch interval, like `window(2s, 1s)`.
        assert_eq!(column!(out, last2, seq), column!(out, last2_every1, seq));
    }

    fn first_windows_are_partial() {
        let out = run(m::Windows::new(), feed!(m::Windows, xs, BUSY));
        // window(2d, d) at T = d holds batch 1 only.
        assert_eq!(seq(&out[0].last2), vec![1, 2]);
        // window(3d, 2d) at T = 2d holds batches 1 and 2 only.
        assert_eq!(out[1].last3_every2.as_ref().map(seq), Some(vec![1, 2, 3]));
        // count_by_window(4d, 2d) at T = 2d counts batches 1 and 2.
        let out = run(m::Windows::new(), feed!(m::Windows, xs, [&[1, 2][..], &[3]]));
        assert_eq!(out[1].counts4_every2.as_ref().map(seq), Some(vec![3]));
    }

    fn windows_keep_emitting_after_the_input_goes_quiet_shrink_and_end_empty() {
        let out = run(m::Windows::new(), feed!(m::Windows, xs, BUSY));
        let empty = Vec::<i32>::new;
        assert_eq!(column!(out, last2, seq), vec![
            vec![1, 2],
            vec![1, 2, 3],
            vec![3, 4, 5],
            vec![4, 5],
            vec![6],
            vec![6],
            empty(),
            empty(),
            empty(),
            empty(),
        ]);
        assert_eq!(column!(out, last3_every2?, seq), vec![
            None,
            Some(vec![1, 2, 3]),
            None,
            Some(vec![3, 4, 5]),
            None,
            Some(vec![6]),
            None,
            Some(empty()),
            None,
            Some(empty()),
        ]);
    }

    fn slide_longer_than_the_window_never_sees_the_batches_between_windows() {
        let out = run(m::Windows::new(), feed!(m::Windows, xs, ONE_EACH));
        // window(1s, 3s): batches 1, 2, 4, 5 and 7 fall between windows.
        assert_eq!(column!(out, last1_every3?, seq), vec![None, None, Some(vec![3]), None, None, Some(vec![6]), None]);
        // window(2s, 3s): batches 1, 4 and 7 fall between windows.
        assert_eq!(column!(out, last2_every3?, seq), vec![
            None,
            None,
            Some(vec![2, 3]),
            None,
            None,
            Some(vec![5, 6]),
            None,
        ]);
    }

    fn a_window_output_time_that_is_not_a_multiple_of_the_slide_produces_no_batch() {
        let out = run(m::Windows::new(), feed!(m::Windows, xs, BUSY));
        for (k, outputs) in out.iter().enumerate() {
            let t = k as u64 + 1;
            assert_eq!(outputs.time.as_millis(), t * 1000);
            assert_eq!(outputs.last3_every2.is_some(), t.is_multiple_of(2), "window(3s, 2s) at {t}s");
            assert_eq!(outputs.counts4_every2.is_some(), t.is_multiple_of(2), "count_by_window(4s, 2s) at {t}s");
            assert_eq!(outputs.sums3_every2.is_some(), t.is_multiple_of(2), "reduce_by_window(f, 3s, 2s) at {t}s");
            assert_eq!(outputs.sums_inv3_every2.is_some(), t.is_multiple_of(2), "reduce_by_window(f, f_inv, 3s, 2s) at {t}s");
            assert_eq!(outputs.last1_every3.is_some(), t.is_multiple_of(3), "window(1s, 3s) at {t}s");
            assert_eq!(outputs.last2_every3.is_some(), t.is_multiple_of(3), "window(2s, 3s) at {t}s");
        }
    }

    fn count_by_window_gives_nothing_before_any_data() {
        let out = run(m::Windows::new(), feed!(m::Windows, xs, LATE));
        assert_eq!(column!(out, counts, seq)[..2], [Vec::<u64>::new(), vec![]]);
        assert_eq!(out[1].counts4_every2.as_ref().map(seq), Some(vec![]));
        let out = run(m::Windows::new(), feed!(m::Windows, xs, [&[] as &[i32]; 4]));
        assert_eq!(column!(out, counts, seq), vec![Vec::<u64>::new(); 4]);
        assert_eq!(column!(out, counts4_every2?, seq), vec![None, Some(vec![]), None, Some(vec![])]);
    }

    fn count_by_window_gives_zero_for_an_empty_window_once_data_has_arrived() {
        let out = run(m::Windows::new(), feed!(m::Windows, xs, LATE));
        assert_eq!(column!(out, counts, seq), vec![
            vec![],
            vec![],
            vec![2],
            vec![3],
            vec![1],
            vec![0],
            vec![0],
            vec![0],
        ]);
        assert_eq!(column!(out, counts4_every2?, seq), vec![
            None,
            Some(vec![]),
            None,
            Some(vec![3]),
            None,
            Some(vec![3]),
            None,
            Some(vec![0]),
        ]);
    }

    fn reduce_by_window_of_an_empty_window_is_an_empty_batch() {
        let out = run(m::Windows::new(), feed!(m::Windows, xs, LATE));
        assert_eq!(column!(out, sums, seq), vec![
            vec![],
            vec![],
            vec![30],
            vec![35],
            vec![5],
            vec![],
            vec![],
            vec![],
        ]);
        assert_eq!(column!(out, sums3_every2?, seq), vec![
            None,
            Some(vec![]),
            None,
            Some(vec![35]),
            None,
            Some(vec![5]),
            None,
            Some(vec![]),
        ]);
    }

    fn reduce_by_window_with_an_inverse_keeps_its_value_once_data_has_arrived() {
        let out = run(m::Windows::new(), feed!(m::Windows, xs, LATE));
        assert_eq!(column!(out, sums_inv, seq), vec![
            vec![],
            vec![],
            vec![30],
            vec![35],
            vec![5],
            vec![0],
            vec![0],
            vec![0],
        ]);
        assert_eq!(column!(out, sums_inv3_every2?, seq), vec![
            None,
            Some(vec![]),
            None,
            Some(vec![35]),
            None,
            Some(vec![5]),
            None,
            Some(vec![0]),
        ]);
    }

    fn reduce_by_key_and_window_a_key_with_no_values_left_disappears() {
        let out = run(m::Keyed::new(), feed!(m::Keyed, pairs, KEYED));
        assert_eq!(column!(out, sums, sorted), vec![
            vec![("a", 4), ("b", 2)],
            vec![("a", 4), ("b", 6), ("c", 5)],
            vec![("a", 6), ("b", 4), ("c", 5)],
            vec![("a", 6)],
            vec![],
            vec![],
        ]);
        let every2 = vec![
            None,
            Some(vec![("a", 4), ("b", 6), ("c", 5)]),
            None,
            Some(vec![("a", 6), ("b", 4), ("c", 5)]),
            None,
            Some(vec![]),
        ];
        assert_eq!(column!(out, sums3_every2?, sorted), every2);
        assert_eq!(column!(out, sums3_every2_in3?, sorted), every2);
        for batch in out.iter().filter_map(|o| o.sums3_every2_in3.as_ref()) {
            assert_eq!(batch.num_partitions(), 3);
        }
    }

    fn reduce_by_key_and_window_with_an_inverse_keeps_a_key_at_its_inverse_reduced_value() {
        let out = run(m::Keyed::new(), feed!(m::Keyed, pairs, KEYED));
        let expected = vec![
            vec![("a", 4), ("b", 2)],
            vec![("a", 4), ("b", 6), ("c", 5)],
            vec![("a", 6), ("b", 4), ("c", 5)],
            // Without a filter, b and c stay at 0 once their values slid out.
            vec![("a", 6), ("b", 0), ("c", 0)],
            vec![("a", 0), ("b", 0), ("c", 0)],
            vec![("a", 0), ("b", 0), ("c", 0)],
        ];
        assert_eq!(column!(out, inv, sorted), expected);
        assert_eq!(column!(out, inv_in3, sorted), expected);
        assert!(out.iter().all(|o| o.inv_in3.num_partitions() == 3));
        assert_eq!(column!(out, inv3_every2?, sorted), vec![
            None,
            Some(vec![("a", 4), ("b", 6), ("c", 5)]),
            None,
            Some(vec![("a", 6), ("b", 4), ("c", 5)]),
            None,
            Some(vec![("a", 0), ("b", 0), ("c", 0)]),
        ]);
    }

    fn reduce_by_key_and_window_the_filter_drops_keys() {
        let out = run(m::Keyed::new(), feed!(m::Keyed, pairs, KEYED));
        assert_eq!(column!(out, nonzero, sorted), vec![
            vec![("a", 4), ("b", 2)],
            vec![("a", 4), ("b", 6), ("c", 5)],
            vec![("a", 6), ("b", 4), ("c", 5)],
            vec![("a", 6)],
            vec![],
            vec![],
        ]);
        assert!(out.iter().all(|o| o.nonzero.num_partitions() == 2));
    }

    fn reduce_by_key_and_window_what_the_filter_drops_is_gone_from_the_next_step() {
        // a:1 at T1 and T2, a:5 at T3, then quiet; filter `v >= 2`.
        let batches: [&[(&str, i32)]; 6] = [&[("a", 1)], &[("a", 1)], &[("a", 5)], &[], &[], &[]];
        let out = run(m::Keyed::new(), feed!(m::Keyed, sparse, batches));
        assert_eq!(column!(out, sparse_plain, sorted), vec![
            vec![("a", 1)],
            vec![("a", 2)],
            vec![("a", 6)],
            vec![("a", 5)],
            vec![],
            vec![],
        ]);
        // T1: 1 is dropped. T2: with no previous result, a takes the reduce of
        // the entering batch alone (1, dropped again), not the window's 2.
        // T3: 5 alone (batch 1 leaves, but a had no result to subtract it
        // from). T4: 5 − 1 (batch 2 leaves). T5: 4 − 5 = −1, dropped.
        assert_eq!(column!(out, sparse_at_least_2, sorted), vec![
            vec![],
            vec![],
            vec![("a", 5)],
            vec![("a", 4)],
            vec![],
            vec![],
        ]);
    }

    fn reduce_by_key_and_window_with_filter_nonzero_the_inverse_form_equals_the_non_inverse_form() {
        // 40 batches of pseudo-random counts over 6 keys, with quiet stretches
        // so that keys leave the windows and come back.
        let mut seed = 0x2545_f491_u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed >> 16
        };
        let inputs: Vec<_> = (0..40)
            .map(|k| {
                let n = if (k / 5) % 3 == 2 { 0 } else { next() % 7 };
                let pairs: Vec<(u8, u32)> = (0..n).map(|_| ((next() % 6) as u8, 1 + next() % 3)).collect();
                m::Equivalence::inputs().pairs(pairs)
            })
            .collect();
        let out = run(m::Equivalence::new(), inputs);
        let plain3 = column!(out, plain3, sorted);
        assert_eq!(column!(out, inv3, sorted), plain3);
        let plain4 = column!(out, plain4_every2?, sorted);
        assert_eq!(column!(out, inv4_every2?, sorted), plain4);
        // Not vacuous: keys come and go, and some windows are empty.
        assert!(plain3.iter().any(|b| b.len() >= 4));
        assert!(plain3.iter().any(|b| b.is_empty()));
        assert!(plain3.windows(2).any(|w| w[0].len() > w[1].len() && !w[1].is_empty()));
        assert_eq!(plain4.iter().filter(|b| b.is_none()).count(), 20);
        assert!(out.iter().filter_map(|o| o.inv4_every2.as_ref()).all(|b| b.num_partitions() == 3));
    }

    fn count_by_value_and_window_drops_values_whose_count_is_zero() {
        let batches: [&[&str]; 8] = [&["x", "y", "x"], &["y"], &[], &["z"], &[], &[], &[], &[]];
        let out = run(m::Values::new(), feed!(m::Values, words, batches));
        assert_eq!(column!(out, counts, sorted), vec![
            vec![("x", 2), ("y", 1)],
            vec![("x", 2), ("y", 2)],
            vec![("y", 1)],
            vec![("z", 1)],
            vec![("z", 1)],
            vec![],
            vec![],
            vec![],
        ]);
        assert_eq!(column!(out, counts3_every2_in3?, sorted), vec![
            None,
            Some(vec![("x", 2), ("y", 2)]),
            None,
            Some(vec![("y", 1), ("z", 1)]),
            None,
            Some(vec![("z", 1)]),
            None,
            Some(vec![]),
        ]);
        for batch in out.iter().filter_map(|o| o.counts3_every2_in3.as_ref()) {
            assert_eq!(batch.num_partitions(), 3);
        }
    }

    fn group_by_key_and_window_gives_values_in_batch_order() {
        let out = run(m::Keyed::new(), feed!(m::Keyed, pairs, KEYED));
        assert_eq!(column!(out, groups, sorted), vec![
            vec![("a", vec![1, 3]), ("b", vec![2])],
            vec![("a", vec![1, 3, 0]), ("b", vec![2, 4]), ("c", vec![5])],
            vec![("a", vec![0, 6]), ("b", vec![4]), ("c", vec![5])],
            vec![("a", vec![6])],
            vec![],
            vec![],
        ]);
        let every2 = vec![
            None,
            Some(vec![("a", vec![1, 3, 0]), ("b", vec![2, 4]), ("c", vec![5])]),
            None,
            Some(vec![("a", vec![0, 6]), ("b", vec![4]), ("c", vec![5])]),
            None,
            Some(vec![]),
        ];
        assert_eq!(column!(out, groups3_every2?, sorted), every2);
        assert_eq!(column!(out, groups3_every2_in2?, sorted), every2);
        for batch in out.iter().filter_map(|o| o.groups3_every2_in2.as_ref()) {
            assert_eq!(batch.num_partitions(), 2);
        }
    }
}
