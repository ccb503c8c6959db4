//! `union` and `transform_with` over more than two streams (Spark's
//! `StreamingContext.union` and `StreamingContext.transform` over a sequence
//! of streams), fused and unfused: partitions in the order written, every
//! stream's batch of the same time reaching one call, the time form, a branch
//! read by the same call twice, and streams that are windows.

#[macro_use]
mod common;

use common::*;
use streamflow::Batch;

jobs! {
    pub job Many {
        batch_interval = 1s;
        input a: i32;
        input b: i32;
        input c: i32;
        input names: (i32, String);
        let doubled = b.map(|x| x * 2);
        output three: i32 = a.union(doubled, c);
        output eight: i32 = a.union(b, c, a, b, c, a.map(|x| -x), doubled);
        // Three streams of three element types meet in one call.
        output described: String = a.transform_with(doubled, names, |a, b, names| {
            let n = names.to_vec();
            Batch::from_vec(vec![format!("{} {} {:?}", a.count(), b.collect().iter().sum::<i32>(), n)])
        });
        // The time form: one argument more.
        output timed: (u64, usize) = a.transform_with(b, c, |a, b, c, time| {
            Batch::from_vec(vec![(time.as_millis(), a.len() + b.len() + c.len())])
        });
        // The two-stream form gained the time too.
        output pair_timed: u64 = a.transform_with(b, |_a, _b, time| Batch::from_vec(vec![time.as_millis()]));
    }

    pub job Windowed {
        batch_interval = 1s;
        input a: i32;
        input b: i32;
        input c: i32;
        output summed: i32 = a.window(2s, 2s).union(b.window(2s, 2s), c.window(2s, 2s)).reduce(|x, y| x + y);
    }
}

both! {
    fn union_of_three_and_of_eight_streams_keeps_the_order_written() {
        let inputs = m::ManyInputs {
            a: Batch::from_partitions(vec![vec![1], vec![2]]),
            b: Batch::from_partitions(vec![vec![3, 4]]),
            c: Batch::from_partitions(vec![vec![5], vec![], vec![6]]),
            names: Batch::from_vec(vec![(1, "one".to_owned())]),
        };
        let out = run_one(m::Many::new(), inputs);
        assert_eq!(parts(&out.three), vec![vec![1], vec![2], vec![6], vec![8], vec![5], vec![], vec![6]]);
        assert_eq!(
            out.eight.to_vec(),
            vec![1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, -1, -2, 6, 8],
        );
    }

    fn transform_with_three_streams_gets_every_batch_in_one_call() {
        let inputs = m::Many::inputs().a([7, 8, 9]).b([10]).names([(2, "two".to_owned())]);
        let out = run_one(m::Many::new(), inputs);
        assert_eq!(out.described.to_vec(), vec![r#"3 20 [(2, "two")]"#.to_owned()]);
    }

    fn the_time_form_gets_the_batch_time() {
        let out = run(m::Many::new(), [m::Many::inputs().a([1]).c([2, 3]), m::Many::inputs()]);
        let timed: Vec<Vec<(u64, usize)>> = out.iter().map(|o| o.timed.to_vec()).collect();
        assert_eq!(timed, vec![vec![(1000, 3)], vec![(2000, 0)]]);
        let pair: Vec<Vec<u64>> = out.iter().map(|o| o.pair_timed.to_vec()).collect();
        assert_eq!(pair, vec![vec![1000], vec![2000]]);
    }

    fn a_union_of_windows_has_a_batch_at_their_slide() {
        let out = run(
            m::Windowed::new(),
            [
                m::Windowed::inputs().a([1]).b([10]),
                m::Windowed::inputs().c([100]),
                m::Windowed::inputs().a([1000]),
            ],
        );
        let summed: Vec<Option<Vec<i32>>> = out.iter().map(|o| o.summed.as_ref().map(Batch::to_vec)).collect();
        assert_eq!(summed, vec![None, Some(vec![111]), None]);
    }
}

#[test]
fn explain_shows_one_map_side_per_stream() {
    let plan = fused::Many::explain();
    assert!(
        plan.contains("stage 5 reads stages 2, 3 and 4\n    line 21   union (union)"),
        "{plan}"
    );
}
