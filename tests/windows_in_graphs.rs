//! Window and state operators inside larger jobs, fused and unfused: as one of
//! several branches, after a join, before another window (a window of a
//! windowed stream), a join and a union of windowed streams with the same
//! slide, and state kept over a windowed stream. Every output batch is
//! asserted, `None`s included.

// Valid jobs compile without warnings (see tests/state.rs).
#![deny(unused_variables)]

#[macro_use]
mod common;

use common::*;
use std::sync::Mutex;
use streamflow::testing::PrintCapture;
use streamflow::{Batch, JobConfig, State, Time};

jobs! {
    pub job Branches {
        batch_interval = 1s;
        input words: &'static str;
        let pairs = words.map(|w| (w, 1u64));
        output per_batch: (&'static str, u64) = pairs.reduce_by_key(|a, b| a + b);
        output windowed: (&'static str, u64) = pairs.reduce_by_key_and_window(
            |a, b| a + b,
            |a, b| a - b,
            3s,
            2s,
            2,
            |kv: &(&'static str, u64)| kv.1 > 0,
        );
        output totals: (&'static str, u64) =
            pairs.update_state_by_key(|new: &[u64], total: Option<u64>| Some(total.unwrap_or(0) + new.iter().sum::<u64>()));
        output recent: &'static str = words.window(2s);
        output seen: u64 = words.count_by_window(2s, 2s);
    }

    pub job AfterJoin {
        batch_interval = 1s;
        input orders: (u32, u32);
        input names: (u32, &'static str);
        input directory: (u32, &'static str);
        let spending = orders.join(names).map(|(_, (amount, name))| (name, amount));
        output spent: (&'static str, u32) = spending.reduce_by_key_and_window(|a, b| a + b, 2s);
        output spent_inv: (&'static str, u32) = spending.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 2s, 2s);
        output running: (&'static str, u32) =
            spending.update_state_by_key(|new: &[u32], total: Option<u32>| Some(total.unwrap_or(0) + new.iter().sum::<u32>()));
        let matched = orders.window(2s, 2s).join(directory.window(4s, 2s));
        output matched_pairs: (u32, (u32, &'static str)) = matched;
        output matched_totals: (&'static str, u32) =
            matched.map(|(_, (amount, name))| (name, amount)).reduce_by_key(|a, b| a + b);
    }

    pub job Nested {
        batch_interval = 1s;
        input xs: i32;
        let inner = xs.window(2s, 2s);
        output tumbling: i32 = inner;
        output outer: i32 = inner.window(4s, 4s);
        output outer_sliding: i32 = inner.window(4s);
        output outer_count: u64 = inner.count_by_window(6s, 2s);
        output outer_sums: i32 = inner.reduce_by_window(|a, b| a + b, |a, b| a - b, 4s, 2s);
        output outer_keyed: (i32, i32) = inner.map(|x| (x % 2, x)).reduce_by_key_and_window(|a, b| a + b, 4s, 4s);
        output totals: (i32, i32) =
            inner.map(|x| (x / 3, x)).update_state_by_key(|new: &[i32], total: Option<i32>| {
                Some(total.unwrap_or(0) + new.iter().sum::<i32>())
            });
        let mapped = inner.map(|x| (x / 3, x)).map_with_state(
            |key: &i32, value: Option<i32>, state: &mut State<i32>| {
                if let Some(v) = value {
                    state.update(state.get().copied().unwrap_or(0) + v);
                }
                Some((*key, value, state.is_timing_out()))
            },
            3s,
        );
        output calls: (i32, Option<i32>, bool) = mapped;
        output snapshots: (i32, i32) = mapped.state_snapshots();
    }

    /// What the windowed stream's `foreach_batch` received.
    pub static RECEIVED: Mutex<Vec<(Time, Vec<i32>)>> = Mutex::new(Vec::new());

    pub job Sinks {
        batch_interval = 1s;
        input xs: i32;
        let recent = xs.window(3s, 2s);
        recent.print();
        recent.foreach_batch(|batch, time| RECEIVED.lock().unwrap().push((time, batch.to_vec())));
        xs.count_by_window(2s, 2s).print();
    }

    pub job Unions {
        batch_interval = 1s;
        input a: i32;
        input b: i32;
        let both = a.window(2s, 2s).union(b.window(4s, 2s));
        output union: i32 = both;
        output union_sums: i32 = both.reduce_by_window(|x, y| x + y, 4s, 2s);
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

/// `field` of every batch's outputs through `f`; with `?`, `None` where the
/// stream has no batch.
macro_rules! column {
    ($outputs:expr, $field:ident, $f:expr) => {
        $outputs.iter().map(|o| $f(&o.$field)).collect::<Vec<_>>()
    };
    ($outputs:expr, $field:ident?, $f:expr) => {
        $outputs.iter().map(|o| o.$field.as_ref().map($f)).collect::<Vec<_>>()
    };
}

fn seq<T: Clone>(batch: &Batch<T>) -> Vec<T> {
    batch.to_vec()
}

fn sorted<T: Ord + Clone>(batch: &Batch<T>) -> Vec<T> {
    batch.clone().sorted()
}

/// `Some(x)` at even seconds, `None` at odd ones, for T1, T2, ...
fn at_even<T>(values: Vec<T>) -> Vec<Option<T>> {
    values.into_iter().flat_map(|v| [None, Some(v)]).collect()
}

/// T1 [1], T2 [2], ..., T8 [8], then quiet until T12.
const ONE_TO_EIGHT: [&[i32]; 12] = [&[1], &[2], &[3], &[4], &[5], &[6], &[7], &[8], &[], &[], &[], &[]];

both! {
    fn a_windowed_stream_reaches_print_and_foreach_batch_only_at_multiples_of_its_slide() {
        let capture = PrintCapture::new();
        let job = m::Sinks::with_config(JobConfig::new().print_to(capture.writer())).unwrap();
        run(job, feed!(m::Sinks, xs, [&[1][..], &[2], &[3], &[], &[]]));
        let expected = [
            print_block(2000, &["1", "2"]),
            print_block(2000, &["2"]),
            print_block(4000, &["2", "3"]),
            print_block(4000, &["1"]),
        ];
        assert_eq!(capture.take_string(), expected.concat());
        let received = std::mem::take(&mut *m::RECEIVED.lock().unwrap());
        assert_eq!(received, vec![(Time::from_secs(2), vec![1, 2]), (Time::from_secs(4), vec![2, 3])]);
    }

    fn a_window_that_is_one_of_several_branches() {
        let batches: [&[&str]; 6] = [&["a", "b", "a"], &["b"], &["c"], &[], &["a"], &[]];
        let out = run(m::Branches::new(), feed!(m::Branches, words, batches));
        assert_eq!(column!(out, per_batch, sorted), vec![
            vec![("a", 2), ("b", 1)],
            vec![("b", 1)],
            vec![("c", 1)],
            vec![],
            vec![("a", 1)],
            vec![],
        ]);
        assert_eq!(
            column!(out, windowed?, sorted),
            at_even(vec![vec![("a", 2), ("b", 2)], vec![("b", 1), ("c", 1)], vec![("a", 1)]])
        );
        assert!(out.iter().filter_map(|o| o.windowed.as_ref()).all(|b| b.num_partitions() == 2));
        assert_eq!(column!(out, totals, sorted), vec![
            vec![("a", 2), ("b", 1)],
            vec![("a", 2), ("b", 2)],
            vec![("a", 2), ("b", 2), ("c", 1)],
            vec![("a", 2), ("b", 2), ("c", 1)],
            vec![("a", 3), ("b", 2), ("c", 1)],
            vec![("a", 3), ("b", 2), ("c", 1)],
        ]);
        assert_eq!(column!(out, recent, seq), vec![
            vec!["a", "b", "a"],
            vec!["a", "b", "a", "b"],
            vec!["b", "c"],
            vec!["c"],
            vec!["a"],
            vec!["a"],
        ]);
        assert_eq!(column!(out, seen?, seq), at_even(vec![vec![4], vec![1], vec![1]]));
    }

    fn windows_and_state_after_a_join() {
        let orders: [&[(u32, u32)]; 6] = [&[(1, 10), (2, 5), (1, 1)], &[(2, 7)], &[(3, 100)], &[], &[], &[]];
        let directory: [&[(u32, &str)]; 6] = [&[(1, "ann"), (2, "bob")], &[], &[(3, "cy")], &[], &[], &[]];
        let inputs = orders.iter().zip(directory).map(|(o, d)| {
            m::AfterJoin::inputs()
                .orders(o.iter().copied())
                .names([(1, "ann"), (2, "bob")])
                .directory(d.iter().copied())
        });
        let out = run(m::AfterJoin::new(), inputs);
        // Order 3 has no name in `names`: the join drops it.
        assert_eq!(column!(out, spent, sorted), vec![
            vec![("ann", 11), ("bob", 5)],
            vec![("ann", 11), ("bob", 12)],
            vec![("bob", 7)],
            vec![],
            vec![],
            vec![],
        ]);
        assert_eq!(
            column!(out, spent_inv?, sorted),
            at_even(vec![vec![("ann", 11), ("bob", 12)], vec![("ann", 0), ("bob", 0)], vec![("ann", 0), ("bob", 0)]])
        );
        assert_eq!(column!(out, running, sorted), vec![
            vec![("ann", 11), ("bob", 5)],
            vec![("ann", 11), ("bob", 12)],
            vec![("ann", 11), ("bob", 12)],
            vec![("ann", 11), ("bob", 12)],
            vec![("ann", 11), ("bob", 12)],
            vec![("ann", 11), ("bob", 12)],
        ]);
    }

    fn a_join_of_two_windowed_streams_with_the_same_slide() {
        let orders: [&[(u32, u32)]; 6] = [&[(1, 10), (2, 5), (1, 1)], &[(2, 7)], &[(3, 100)], &[], &[], &[]];
        let directory: [&[(u32, &str)]; 6] = [&[(1, "ann"), (2, "bob")], &[], &[(3, "cy")], &[], &[], &[]];
        let inputs = orders
            .iter()
            .zip(directory)
            .map(|(o, d)| m::AfterJoin::inputs().orders(o.iter().copied()).directory(d.iter().copied()));
        let out = run(m::AfterJoin::new(), inputs);
        // Orders over (T − 2s, T], names over (T − 4s, T], every 2 s.
        assert_eq!(
            column!(out, matched_pairs?, sorted),
            at_even(vec![
                vec![(1, (1, "ann")), (1, (10, "ann")), (2, (5, "bob")), (2, (7, "bob"))],
                vec![(3, (100, "cy"))],
                vec![],
            ])
        );
        assert_eq!(
            column!(out, matched_totals?, sorted),
            at_even(vec![vec![("ann", 11), ("bob", 12)], vec![("cy", 100)], vec![]])
        );
        // No names in `names`: nothing joins.
        assert!(out.iter().all(|o| o.spent.is_empty()));
    }

    fn a_window_of_a_windowed_stream() {
        let out = run(m::Nested::new(), feed!(m::Nested, xs, ONE_TO_EIGHT));
        assert_eq!(
            column!(out, tumbling?, seq),
            at_even(vec![vec![1, 2], vec![3, 4], vec![5, 6], vec![7, 8], vec![], vec![]])
        );
        // window(4s, 4s) of the 2 s windows: each batch once.
        assert_eq!(column!(out, outer?, seq), vec![
            None,
            None,
            None,
            Some(vec![1, 2, 3, 4]),
            None,
            None,
            None,
            Some(vec![5, 6, 7, 8]),
            None,
            None,
            None,
            Some(vec![]),
        ]);
        // window(4s) slides with its input, every 2 s.
        assert_eq!(
            column!(out, outer_sliding?, seq),
            at_even(vec![
                vec![1, 2],
                vec![1, 2, 3, 4],
                vec![3, 4, 5, 6],
                vec![5, 6, 7, 8],
                vec![7, 8],
                vec![],
            ])
        );
        assert_eq!(column!(out, outer_count?, seq), at_even(vec![vec![2], vec![4], vec![6], vec![6], vec![4], vec![2]]));
        assert_eq!(
            column!(out, outer_sums?, seq),
            at_even(vec![vec![3], vec![10], vec![18], vec![26], vec![15], vec![0]])
        );
        assert_eq!(column!(out, outer_keyed?, sorted), vec![
            None,
            None,
            None,
            Some(vec![(0, 6), (1, 4)]),
            None,
            None,
            None,
            Some(vec![(0, 14), (1, 12)]),
            None,
            None,
            None,
            Some(vec![]),
        ]);
    }

    fn state_over_a_windowed_stream_is_updated_only_when_the_window_emits() {
        let out = run(m::Nested::new(), feed!(m::Nested, xs, ONE_TO_EIGHT));
        // Keys x / 3: windows [1, 2] -> 0; [3, 4] -> 1; [5, 6] -> 1, 2; [7, 8] -> 2.
        assert_eq!(
            column!(out, totals?, sorted),
            at_even(vec![
                vec![(0, 3)],
                vec![(0, 3), (1, 7)],
                vec![(0, 3), (1, 12), (2, 6)],
                vec![(0, 3), (1, 12), (2, 21)],
                vec![(0, 3), (1, 12), (2, 21)],
                vec![(0, 3), (1, 12), (2, 21)],
            ])
        );
        // Timeout 3 s, checked when the stream has a batch: key 0 (last record
        // at T2) times out at T6, key 1 (T6) at T10, key 2 (T8) at T12.
        assert_eq!(
            column!(out, calls?, sorted),
            at_even(vec![
                vec![(0, Some(1), false), (0, Some(2), false)],
                vec![(1, Some(3), false), (1, Some(4), false)],
                vec![(0, None, true), (1, Some(5), false), (2, Some(6), false)],
                vec![(2, Some(7), false), (2, Some(8), false)],
                vec![(1, None, true)],
                vec![(2, None, true)],
            ])
        );
        assert_eq!(
            column!(out, snapshots?, sorted),
            at_even(vec![
                vec![(0, 3)],
                vec![(0, 3), (1, 7)],
                vec![(1, 12), (2, 6)],
                vec![(1, 12), (2, 21)],
                vec![(2, 21)],
                vec![],
            ])
        );
    }

    fn a_union_of_two_windowed_streams_with_the_same_slide() {
        let a: [&[i32]; 6] = [&[1], &[2], &[3], &[4], &[], &[]];
        let b: [&[i32]; 6] = [&[10], &[], &[30], &[], &[50], &[]];
        let inputs = a
            .iter()
            .zip(b)
            .map(|(a, b)| m::Unions::inputs().a(a.iter().copied()).b(b.iter().copied()));
        let out = run(m::Unions::new(), inputs);
        assert_eq!(
            column!(out, union?, seq),
            at_even(vec![vec![1, 2, 10], vec![3, 4, 10, 30], vec![30, 50]])
        );
        assert_eq!(column!(out, union_sums?, seq), at_even(vec![vec![13], vec![60], vec![127]]));
    }
}
