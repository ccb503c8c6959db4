//! Jobs as graphs, fused and unfused: several batches in a row, a stream read
//! by several operators (computed once per batch), chains across shuffle
//! boundaries, joins of chains and of a stream with itself.

#[macro_use]
mod common;

use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use streamflow::testing::{PrintCapture, TestRun};
use streamflow::{JobConfig, Time};

jobs! {
    /// Elements that went through the branch's upstream `inspect`.
    pub static UPSTREAM: AtomicUsize = AtomicUsize::new(0);

    pub job Branches {
        batch_interval = 1s;
        input xs: i32;
        let doubled = xs.inspect(|_| { UPSTREAM.fetch_add(1, Ordering::SeqCst); }).map(|x| x * 2);
        output big: i32 = doubled.filter(|x| *x > 4);
        output total: i32 = doubled.reduce(|a, b| a + b);
        output all: i32 = doubled;
        doubled.print();
    }

    pub job Chains {
        batch_interval = 1s;
        input words: &'static str;
        input left: (u32, i32);
        input right: (u32, i32);
        output words_per_count: (u64, u64) = words
            .map(|w| (w, 1u64))
            .reduce_by_key(|a, b| a + b)
            .map(|(_, n)| (n, 1u64))
            .reduce_by_key(|a, b| a + b);
        output joined: (u32, (i32, i32)) = left
            .map(|(k, v)| (k * 10, v))
            .filter(|(_, v)| *v > 0)
            .join(right.map_values(|v| -v).filter(|(k, _)| *k != 0));
        output self_joined: (u32, (i32, i32)) = left.join(left);
        output n: u64 = words.count();
    }
}

both! {
    fn a_branch_is_computed_once_per_batch_and_all_readers_see_it() {
        let capture = PrintCapture::new();
        let job = m::Branches::with_config(JobConfig::new().print_to(capture.writer())).unwrap();
        let out = run_one(job, m::Branches::inputs().xs([1, 2, 3]));
        assert_eq!(m::UPSTREAM.load(Ordering::SeqCst), 3);
        assert_eq!(out.big.to_vec(), vec![6]);
        assert_eq!(out.total.to_vec(), vec![12]);
        assert_eq!(out.all.to_vec(), vec![2, 4, 6]);
        // The stream read by the `all` port is the one `print` shows.
        let rule = "-".repeat(43);
        assert_eq!(capture.take_string(), format!("{rule}\nTime: 1000 ms\n{rule}\n2\n4\n6\n\n"));
    }

    fn batches_run_at_1000_2000_3000_ms_and_an_empty_one_is_still_a_batch() {
        let mut run = TestRun::new(m::Chains::new());
        let outputs = run.run([
            m::Chains::inputs().words(["a", "b", "a"]),
            m::Chains::inputs(),
            m::Chains::inputs().words(["c"]),
        ]).unwrap();
        let times: Vec<Time> = outputs.iter().map(|o| o.time).collect();
        assert_eq!(times, vec![Time::from_millis(1000), Time::from_millis(2000), Time::from_millis(3000)]);
        let counts: Vec<Vec<u64>> = outputs.iter().map(|o| o.n.to_vec()).collect();
        assert_eq!(counts, vec![vec![3], vec![0], vec![1]]);
        // Nothing carries over from one batch to the next.
        let per_count: Vec<Vec<(u64, u64)>> =
            outputs.iter().map(|o| o.words_per_count.clone().sorted()).collect();
        assert_eq!(per_count, vec![vec![(1, 1), (2, 1)], vec![], vec![(1, 1)]]);
        assert_eq!(run.time(), Time::from_millis(3000));
    }

    fn reduce_by_key_then_map_then_reduce_by_key() {
        let words = ["x", "y", "x", "z", "y", "x", "w"];
        let out = run_one(m::Chains::new(), m::Chains::inputs().words(words));
        // x three times; y twice; z and w once.
        assert_eq!(out.words_per_count.clone().sorted(), vec![(1, 2), (2, 1), (3, 1)]);
    }

    fn a_join_of_two_chains() {
        let inputs = m::Chains::inputs()
            .left([(1, 5), (2, -1), (3, 7), (1, 6)])
            .right([(10, 1), (20, 2), (0, 3), (30, 4), (10, 9)]);
        let out = run_one(m::Chains::new(), inputs);
        assert_eq!(out.joined.clone().sorted(), vec![
            (10, (5, -9)),
            (10, (5, -1)),
            (10, (6, -9)),
            (10, (6, -1)),
            (30, (7, -4)),
        ]);
    }

    fn a_stream_joined_with_itself() {
        let out = run_one(m::Chains::new(), m::Chains::inputs().left([(1, 5), (2, 8), (1, 6)]));
        assert_eq!(out.self_joined.clone().sorted(), vec![
            (1, (5, 5)),
            (1, (5, 6)),
            (1, (6, 5)),
            (1, (6, 6)),
            (2, (8, 8)),
        ]);
    }
}
