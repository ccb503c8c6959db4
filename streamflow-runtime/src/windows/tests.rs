//! The window rules of docs/semantics.md, batch by batch, through a job's per-batch
//! body (batch k at time k seconds, so `d` = 1 s).

use super::*;
use crate::fixtures::{op_lines, plan};
use crate::test_harness::{run_job, run_ok, sorted};
use crate::{Batch, BatchContext, BatchError, JobConfig, Time};

fn spec(window: u64, slide: u64) -> WindowSpec {
    WindowSpec {
        window_ms: window * 1000,
        slide_ms: slide * 1000,
    }
}

fn add(a: u64, b: u64) -> u64 {
    a + b
}

fn sub(a: u64, b: u64) -> u64 {
    a - b
}

/// `window(W, s)` over batches of numbers.
fn windows_of(w: u64, s: u64, inputs: Vec<Vec<u32>>) -> Vec<Option<Vec<u32>>> {
    let mut state = ElementWindow::new(spec(w, s));
    sorted(run_ok(2, inputs, move |ctx, input| {
        window(ctx, 0, &mut state, input, |x, out| out.push(x), |x, out| out.push(x))
    }))
}

#[test]
fn first_windows_are_partial() {
    assert_eq!(
        windows_of(2, 1, vec![vec![1], vec![2], vec![3]]),
        vec![Some(vec![1]), Some(vec![1, 2]), Some(vec![2, 3])]
    );
}

#[test]
fn window_is_the_union_of_covered_batches_in_time_order() {
    let mut state = ElementWindow::new(spec(3, 1));
    let out = run_ok(2, vec![vec![1, 2], vec![3], vec![4, 5]], move |ctx, input| {
        window(
            ctx,
            0,
            &mut state,
            input,
            |x, out| out.push(x),
            |x, out| out.push(x * 10),
        )
    });
    let last = out[2].clone().expect("a window every batch");
    assert_eq!(last.collect(), vec![10, 20, 30, 40, 50]);
}

#[test]
fn windows_keep_emitting_after_input_goes_quiet_and_end_empty() {
    let quiet = vec![vec![1], vec![2], vec![], vec![], vec![], vec![]];
    assert_eq!(
        windows_of(3, 1, quiet),
        vec![
            Some(vec![1]),
            Some(vec![1, 2]),
            Some(vec![1, 2]),
            Some(vec![2]),
            Some(vec![]),
            Some(vec![]),
        ]
    );
}

#[test]
fn batches_between_windows_are_never_seen_when_the_slide_exceeds_the_window() {
    let inputs: Vec<Vec<u32>> = (1..=7).map(|k| vec![k]).collect();
    assert_eq!(
        windows_of(1, 3, inputs.clone()),
        vec![None, None, Some(vec![3]), None, None, Some(vec![6]), None]
    );
    assert_eq!(
        windows_of(2, 3, inputs),
        vec![None, None, Some(vec![2, 3]), None, None, Some(vec![5, 6]), None]
    );
}

#[test]
fn no_batch_at_times_that_are_not_multiples_of_the_slide() {
    let inputs = vec![vec![1], vec![2], vec![3], vec![4], vec![5], vec![]];
    assert_eq!(
        windows_of(4, 2, inputs),
        vec![
            None,
            Some(vec![1, 2]),
            None,
            Some(vec![1, 2, 3, 4]),
            None,
            Some(vec![3, 4, 5]),
        ]
    );
}

#[test]
fn count_by_window_is_zero_once_data_arrived_and_nothing_before() {
    let mut state = InvertibleWindow::new(spec(2, 1));
    let inputs = vec![vec![], vec!["x", "y"], vec!["z"], vec![], vec![], vec![]];
    let out = run_ok(2, inputs, move |ctx, input| {
        count_by_window(ctx, 0, &mut state, input, |x, c| c.push(x), |n, out| out.push(n))
    });
    assert_eq!(
        sorted(out),
        vec![
            Some(vec![]),
            Some(vec![2]),
            Some(vec![3]),
            Some(vec![1]),
            Some(vec![0]),
            Some(vec![0]),
        ]
    );
}

fn sums(inverse: bool, inputs: Vec<Vec<u64>>) -> Vec<Option<Vec<u64>>> {
    let mut plain = ReducedWindow::new(spec(2, 1));
    let mut incremental = InvertibleWindow::new(spec(2, 1));
    sorted(run_ok(2, inputs, move |ctx, input| {
        if inverse {
            reduce_by_window_inv(
                ctx,
                0,
                &mut incremental,
                input,
                |x, r| r.push(x),
                &(add, sub),
                |v, out| out.push(v),
            )
        } else {
            reduce_by_window(ctx, 0, &mut plain, input, |x, r| r.push(x), &add, |v, out| out.push(v))
        }
    }))
}

#[test]
fn reduce_by_window_of_an_empty_window_is_an_empty_batch() {
    let inputs = vec![vec![1, 2], vec![], vec![], vec![3]];
    assert_eq!(
        sums(false, inputs),
        vec![Some(vec![3]), Some(vec![3]), Some(vec![]), Some(vec![3])]
    );
}

#[test]
fn reduce_by_window_with_an_inverse_persists_its_value_once_data_arrived() {
    let inputs = vec![vec![], vec![1, 2], vec![], vec![], vec![4]];
    assert_eq!(
        sums(true, inputs),
        vec![Some(vec![]), Some(vec![3]), Some(vec![3]), Some(vec![0]), Some(vec![4])]
    );
}

#[test]
fn reduce_by_window_reduces_in_time_order() {
    let mut state = ReducedWindow::new(spec(3, 1));
    let concat = |a: String, b: String| a + &b;
    let inputs = vec![vec!["a", "b"], vec!["c"], vec!["d"], vec![]];
    let out = run_ok(2, inputs, move |ctx, input| {
        reduce_by_window(
            ctx,
            0,
            &mut state,
            input,
            |x: &str, r| r.push(x.to_owned()),
            &concat,
            |v, out| out.push(v),
        )
    });
    let strings: Vec<Vec<String>> = out.into_iter().map(|b| b.expect("slide 1").collect()).collect();
    assert_eq!(strings, vec![vec!["ab"], vec!["abc"], vec!["abcd"], vec!["cd"]]);
}

type Pairs = Vec<(&'static str, u64)>;

/// `reduce_by_key_and_window(+, W, s)` in one of its three forms.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    Plain,
    Inverse,
    InverseNonZero,
}

fn keyed(form: Form, w: u64, s: u64, inputs: Vec<Pairs>) -> Vec<Option<Pairs>> {
    let mut plain = KeyedWindow::new(spec(w, s));
    let mut incremental = InvertibleWindow::new(spec(w, s));
    // The filter keeps every key, or only those with a value.
    let keep = move |pair: &(&'static str, u64)| form == Form::Inverse || pair.1 != 0;
    sorted(run_ok(3, inputs, move |ctx, input| match form {
        Form::Plain => reduce_by_key_and_window(
            ctx,
            0,
            &mut plain,
            input,
            |p, c| c.push(p),
            &add,
            None,
            |p, out| out.push(p),
        ),
        Form::Inverse | Form::InverseNonZero => reduce_by_key_and_window_inv(
            ctx,
            0,
            &mut incremental,
            input,
            |p, c| c.push(p),
            &(add, sub, keep),
            None,
            |p, out| out.push(p),
        ),
    }))
}

fn quiet_after_two() -> Vec<Pairs> {
    vec![vec![("a", 1), ("b", 1)], vec![("a", 1)], vec![], vec![]]
}

#[test]
fn a_key_with_no_values_left_disappears_without_an_inverse() {
    assert_eq!(
        keyed(Form::Plain, 2, 1, quiet_after_two()),
        vec![
            Some(vec![("a", 1), ("b", 1)]),
            Some(vec![("a", 2), ("b", 1)]),
            Some(vec![("a", 1)]),
            Some(vec![]),
        ]
    );
}

#[test]
fn with_an_inverse_a_key_stays_at_its_inverse_reduced_value() {
    assert_eq!(
        keyed(Form::Inverse, 2, 1, quiet_after_two()),
        vec![
            Some(vec![("a", 1), ("b", 1)]),
            Some(vec![("a", 2), ("b", 1)]),
            Some(vec![("a", 1), ("b", 0)]),
            Some(vec![("a", 0), ("b", 0)]),
        ]
    );
}

#[test]
fn the_filter_drops_keys_from_the_result_and_the_next_step() {
    assert_eq!(
        keyed(Form::InverseNonZero, 2, 1, quiet_after_two()),
        keyed(Form::Plain, 2, 1, quiet_after_two())
    );
}

/// A deterministic pseudo-random scenario: keys come and go, some batches
/// are empty, and the input goes quiet at the end.
fn scenario(batches: usize) -> Vec<Pairs> {
    let keys = ["a", "b", "c", "d", "e"];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..batches)
        .map(|i| {
            if i % 5 == 3 || i + 4 >= batches {
                return Vec::new();
            }
            let n = (next() % 6) as usize;
            (0..n).map(|_| (keys[(next() % 5) as usize], 1 + next() % 3)).collect()
        })
        .collect()
}

#[test]
fn with_the_filter_v_ne_0_the_inverse_form_equals_the_plain_one() {
    for (w, s) in [(3, 1), (4, 2), (2, 2), (1, 3), (2, 3), (6, 3), (5, 1)] {
        let inputs = scenario(24);
        let plain = keyed(Form::Plain, w, s, inputs.clone());
        assert_eq!(
            keyed(Form::InverseNonZero, w, s, inputs.clone()),
            plain,
            "window {w}, slide {s}"
        );
        // Without the filter, the same values plus zeros for keys that left.
        let unfiltered: Vec<Option<Pairs>> = keyed(Form::Inverse, w, s, inputs)
            .into_iter()
            .map(|o| o.map(|v| v.into_iter().filter(|p| p.1 != 0).collect()))
            .collect();
        assert_eq!(unfiltered, plain, "window {w}, slide {s}");
    }
}

#[test]
fn count_by_value_and_window_drops_zero_counts() {
    let mut state = InvertibleWindow::new(spec(2, 1));
    let inputs = vec![vec!["a", "a", "b"], vec!["a"], vec![], vec![]];
    let out = run_ok(2, inputs, move |ctx, input| {
        count_by_value_and_window(ctx, 0, &mut state, input, |x, c| c.push(x), None, |p, out| out.push(p))
    });
    assert_eq!(
        sorted(out),
        vec![
            Some(vec![("a", 2), ("b", 1)]),
            Some(vec![("a", 3), ("b", 1)]),
            Some(vec![("a", 1)]),
            Some(vec![]),
        ]
    );
}

#[test]
fn group_by_key_and_window_gives_values_in_batch_then_arrival_order() {
    let mut state = GroupedWindow::new(spec(3, 1));
    let inputs = vec![
        vec![("k", 1), ("j", 10), ("k", 2)],
        vec![("k", 3)],
        vec![("k", 4), ("j", 11)],
        vec![],
        vec![],
        vec![],
    ];
    let out = run_ok(3, inputs, move |ctx, input| {
        group_by_key_and_window(ctx, 0, &mut state, input, |p, g| g.push(p), None, |g, out| out.push(g))
    });
    assert_eq!(
        sorted(out),
        vec![
            Some(vec![("j", vec![10]), ("k", vec![1, 2])]),
            Some(vec![("j", vec![10]), ("k", vec![1, 2, 3])]),
            Some(vec![("j", vec![10, 11]), ("k", vec![1, 2, 3, 4])]),
            Some(vec![("j", vec![11]), ("k", vec![3, 4])]),
            Some(vec![("j", vec![11]), ("k", vec![4])]),
            Some(vec![]),
        ]
    );
}

#[test]
fn keyed_windows_keep_the_partitioner_and_the_first_partition_count() {
    let mut state = KeyedWindow::new(spec(2, 1));
    let inputs: Vec<Pairs> = vec![
        (0..40).map(|i| (["p", "q", "r", "s"][i % 4], 1)).collect(),
        vec![("t", 1)],
    ];
    let out = run_ok(2, inputs, move |ctx, input| {
        reduce_by_key_and_window(
            ctx,
            0,
            &mut state,
            input,
            |p, c| c.push(p),
            &add,
            Some(5),
            |p, out| out.push(p),
        )
    });
    for batch in out.into_iter().flatten() {
        assert_eq!(batch.num_partitions(), 5);
        for (i, part) in batch.partitions().iter().enumerate() {
            for (k, _) in part {
                assert_eq!(crate::shuffle::partitioner::partition_of(k, 5), i);
            }
        }
    }
}

#[test]
fn buffers_hold_no_more_batches_than_the_window_needs() {
    // window(4d, 2d): after the emit at T, only batches in (T + s − W, T] stay.
    let mut state = ElementWindow::new(spec(4, 2));
    let inputs: Vec<Vec<u32>> = (1..=8).map(|k| vec![k]).collect();
    let held = run_ok(2, inputs.clone(), move |ctx, input| {
        window(ctx, 0, &mut state, input, |x, out| out.push(x), |x, out| out.push(x))?;
        Ok(state.buffered_batches())
    });
    assert_eq!(held, vec![1, 2, 3, 2, 3, 2, 3, 2]);
    // Slide longer than the window: nothing is held between windows.
    let mut gap = ReducedWindow::new(spec(1, 3));
    let held = run_ok(2, inputs.clone(), move |ctx, input| {
        reduce_by_window(
            ctx,
            0,
            &mut gap,
            input,
            |x, r| r.push(x),
            &|a: u32, b: u32| a + b,
            |v, out| out.push(v),
        )?;
        Ok(gap.buffered_batches())
    });
    assert_eq!(held, vec![0; 8]);
    // Keyed and grouped windows evict the same way.
    let mut keyed = KeyedWindow::new(spec(3, 1));
    let mut grouped = GroupedWindow::new(spec(3, 1));
    let held = run_ok(2, inputs.clone(), move |ctx, input| {
        let pairs = input.map(|x| (x % 2, x));
        reduce_by_key_and_window(
            ctx,
            0,
            &mut keyed,
            &pairs,
            |p, c| c.push(*p),
            &|a: u32, b: u32| a + b,
            None,
            |p, out| out.push(p),
        )?;
        group_by_key_and_window(
            ctx,
            2,
            &mut grouped,
            &pairs,
            |p, g| g.push(*p),
            None,
            |g, out| out.push(g),
        )?;
        Ok((keyed.buffered_batches(), grouped.buffered_batches()))
    });
    assert!(held.iter().all(|&(k, g)| k <= 2 && g <= 2), "{held:?}");
    // The invertible form keeps the current window (its batches leave later).
    let mut inv = InvertibleWindow::new(spec(3, 1));
    let held = run_ok(2, inputs, move |ctx, input| {
        count_by_window(ctx, 0, &mut inv, input, |x, c| c.push(x), |n, out| out.push(n))?;
        Ok(inv.buffered_batches())
    });
    assert_eq!(held, vec![1, 2, 3, 3, 3, 3, 3, 3]);
}

#[test]
fn a_panic_in_the_reduce_or_inverse_function_fails_the_batch_naming_the_operator() {
    let line = line!() + 1;
    let inverse = |a: u64, b: u64| if a == 9 { panic!("inverse saw {a}") } else { a - b };
    let plan = plan(
        file!(),
        vec![
            vec![op_lines("map", 1, 2)],
            vec![op_lines("reduce_by_key_and_window", line, line)],
        ],
    );
    let mut state = InvertibleWindow::new(spec(1, 1));
    let inputs = vec![vec![("a", 9)], vec![("a", 1)], vec![("b", 1)]];
    let results = run_job(plan, 2, inputs, move |ctx, input| {
        reduce_by_key_and_window_inv(
            ctx,
            0,
            &mut state,
            input,
            |p, c| c.push(p),
            &(add, inverse, keep_all),
            None,
            |p, out| out.push(p),
        )
    });
    assert!(results[0].is_ok());
    let err = results[1].as_ref().unwrap_err();
    assert!(
        matches!(err, BatchError::OperatorPanicked { operator: "reduce_by_key_and_window", message, .. }
            if message == "inverse saw 9"),
        "{err}"
    );
    // The job goes on with the next batch.
    assert!(results[2].is_ok());
}

/// Serializes `state` and reads it back.
fn roundtrip<T: serde::Serialize + serde::de::DeserializeOwned>(state: &T) -> T {
    let json = serde_json::to_string(state).expect("serializes");
    serde_json::from_str(&json).expect("deserializes")
}

fn ctx_at(config: &JobConfig, secs: u64) -> BatchContext<'_> {
    BatchContext::untimed(Time::from_secs(secs), config, crate::fixtures::empty_plan())
}

type Owned = Vec<(String, u64)>;

/// One batch through every window state, outputs sorted.
#[allow(clippy::type_complexity)]
fn every_window(
    config: &JobConfig,
    k: u64,
    input: &Batch<(String, u64)>,
    states: &mut (
        ElementWindow<(String, u64)>,
        ReducedWindow<u64>,
        KeyedWindow<String, u64>,
        GroupedWindow<String, u64>,
        InvertibleWindow<String, u64>,
        InvertibleWindow<(), u64>,
    ),
) -> (
    Option<Owned>,
    Option<Vec<u64>>,
    Option<Owned>,
    Option<Vec<(String, Vec<u64>)>>,
    Option<Owned>,
    Option<Vec<u64>>,
) {
    let ctx = ctx_at(config, k);
    let (buffer, reduced, keyed, grouped, inverse, counts) = states;
    (
        window(
            &ctx,
            0,
            buffer,
            input,
            |p: &(String, u64), out| out.push(p.clone()),
            |p, out| out.push(p),
        )
        .unwrap()
        .map(|batch| batch.sorted()),
        reduce_by_window(&ctx, 0, reduced, input, |p, r| r.push(p.1), &add, |v, out| out.push(v))
            .unwrap()
            .map(|batch| batch.sorted()),
        reduce_by_key_and_window(
            &ctx,
            0,
            keyed,
            input,
            |p, c| c.push(p.clone()),
            &add,
            None,
            |p, out| out.push(p),
        )
        .unwrap()
        .map(|batch| batch.sorted()),
        group_by_key_and_window(
            &ctx,
            0,
            grouped,
            input,
            |p, g| g.push(p.clone()),
            None,
            |g, out| out.push(g),
        )
        .unwrap()
        .map(|batch| batch.sorted()),
        reduce_by_key_and_window_inv(
            &ctx,
            0,
            inverse,
            input,
            |p, c| c.push(p.clone()),
            &(add, sub, keep_all),
            None,
            |p, out| out.push(p),
        )
        .unwrap()
        .map(|batch| batch.sorted()),
        count_by_window(&ctx, 0, counts, input, |p, c| c.push(p), |n, out| out.push(n))
            .unwrap()
            .map(|batch| batch.sorted()),
    )
}

#[test]
fn window_states_survive_a_serde_roundtrip() {
    let config = JobConfig::new().partitions(3);
    let inputs: Vec<Batch<(String, u64)>> = scenario(12)
        .into_iter()
        .map(|b| Batch::split(b.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(), 2))
        .collect();
    let w = spec(4, 2);
    let mut states = (
        ElementWindow::new(w),
        ReducedWindow::new(w),
        KeyedWindow::new(w),
        GroupedWindow::new(w),
        InvertibleWindow::new(w),
        InvertibleWindow::new(w),
    );
    let restart_at = 5;
    for (k, input) in inputs.iter().enumerate().take(restart_at) {
        every_window(&config, k as u64 + 1, input, &mut states);
    }
    let mut restored = (
        roundtrip(&states.0),
        roundtrip(&states.1),
        roundtrip(&states.2),
        roundtrip(&states.3),
        roundtrip(&states.4),
        roundtrip(&states.5),
    );
    for (k, input) in inputs.iter().enumerate().skip(restart_at) {
        let k = k as u64 + 1;
        let a = every_window(&config, k, input, &mut states);
        assert_eq!(a, every_window(&config, k, input, &mut restored), "batch {k}");
    }
}
