//! The keyed-state rules of docs/semantics.md, batch by batch, through a job's
//! per-batch body (batch k at time k seconds).

use super::*;
use crate::fixtures::{op_lines, plan};
use crate::shuffle::collectors::KeyedCollector;
use crate::shuffle::grouper::Grouper;
use crate::stage::bounds::{Element, Replicable, RetainedKey};
use crate::test_harness::{run_job, run_ok};
use crate::{Batch, BatchContext, BatchError, JobConfig, JoinSide, Time};
use std::sync::{Arc, Mutex};

/// (time in s, key, new values, old state) of one call.
type Call = (u64, &'static str, Vec<u32>, Option<u32>);
type Calls = Arc<Mutex<Vec<Call>>>;
type Pairs = Vec<(&'static str, u32)>;
/// (key, sum, timing out) returned by a call.
type Row = (&'static str, u32, bool);

/// `update_state_by_key` of a batch of pairs, owned or shared (then cloned),
/// its output the (key, state) pairs as they are.
fn update<In, K, V, S, Form>(
    ctx: &BatchContext<'_>,
    state: &mut StateStore<K, S>,
    input: In,
    f: &impl UpdateFn<K, V, S, Form>,
    partitions: Option<usize>,
) -> Result<Batch<(K, S)>, BatchError>
where
    In: JoinSide<K, V>,
    K: RetainedKey,
    V: Element,
    S: Replicable,
{
    update_state_by_key(
        ctx,
        0,
        state,
        input,
        |p, g| g.push(In::own(p)),
        f,
        partitions,
        |p, out| out.push(p),
    )
}

/// `map_with_state` of a batch of pairs, owned or shared (then cloned), its
/// output what the calls return.
#[allow(clippy::type_complexity)]
fn map_state<In, K, V, S, T>(
    ctx: &BatchContext<'_>,
    state: &mut MappedState<K, S>,
    input: In,
    f: &(impl Fn(&K, Option<V>, &mut State<S>) -> Option<T> + Sync),
    snapshots: bool,
) -> Result<(Batch<T>, Option<Batch<(K, S)>>), BatchError>
where
    In: JoinSide<K, V>,
    K: RetainedKey,
    V: Element,
    S: Replicable,
    T: Element,
{
    map_with_state(
        ctx,
        0,
        state,
        input,
        |p, g| g.push(In::own(p)),
        f,
        None,
        snapshots,
        |u, out| out.push(u),
    )
}

/// A running sum that records every call; a key is removed when its sum
/// passes 10.
fn summing(calls: Calls) -> impl Fn(Time, &&'static str, &[u32], Option<u32>) -> Option<u32> + Sync {
    move |time, key, values, old| {
        calls
            .lock()
            .unwrap()
            .push((time.as_millis() / 1000, *key, values.to_vec(), old));
        let sum = old.unwrap_or(0) + values.iter().sum::<u32>();
        (sum <= 10).then_some(sum)
    }
}

fn run_update(
    initial: Option<Vec<(&'static str, u32)>>,
    inputs: Vec<Vec<(&'static str, u32)>>,
) -> (Vec<Pairs>, Vec<Call>) {
    let calls: Calls = Arc::default();
    let f = summing(calls.clone());
    let mut state = match initial {
        Some(initial) => StateStore::new(initial),
        None => StateStore::new(std::iter::empty()),
    };
    let out = run_ok(3, inputs, move |ctx, input| update(ctx, &mut state, input, &f, None));
    let mut calls = calls.lock().unwrap().clone();
    calls.sort();
    (out.into_iter().map(|batch| batch.sorted()).collect(), calls)
}

#[test]
fn update_state_by_key_calls_keys_without_new_values_with_an_empty_slice() {
    let (_, calls) = run_update(None, vec![vec![("a", 1), ("b", 2), ("a", 3)], vec![("b", 1)], vec![]]);
    assert_eq!(
        calls,
        vec![
            (1, "a", vec![1, 3], None),
            (1, "b", vec![2], None),
            (2, "a", vec![], Some(4)),
            (2, "b", vec![1], Some(2)),
            (3, "a", vec![], Some(4)),
            (3, "b", vec![], Some(3)),
        ]
    );
}

#[test]
fn update_state_by_key_none_removes_the_key_and_the_output_is_the_whole_state() {
    let (out, calls) = run_update(
        None,
        vec![vec![("a", 5), ("b", 1)], vec![("a", 6)], vec![], vec![("a", 1)]],
    );
    assert_eq!(
        out,
        vec![
            vec![("a", 5), ("b", 1)],
            vec![("b", 1)],
            vec![("b", 1)],
            vec![("a", 1), ("b", 1)]
        ]
    );
    // Once removed, "a" is not called until it has values again.
    assert!(!calls.iter().any(|c| c.0 == 3 && c.1 == "a"));
    assert!(calls.contains(&(4, "a", vec![1], None)));
}

#[test]
fn update_state_by_key_calls_initial_keys_in_batch_1() {
    let (out, calls) = run_update(Some(vec![("x", 7), ("y", 1)]), vec![vec![("y", 1)], vec![]]);
    assert_eq!(calls[..2], [(1, "x", vec![], Some(7)), (1, "y", vec![1], Some(1))]);
    assert_eq!(out, vec![vec![("x", 7), ("y", 2)], vec![("x", 7), ("y", 2)]]);
}

#[test]
fn update_state_by_key_gets_new_values_in_arrival_order() {
    let mut state = StateStore::new(std::iter::empty());
    let f = |values: &[u32], old: Option<Vec<u32>>| {
        let mut all = old.unwrap_or_default();
        all.extend_from_slice(values);
        Some(all)
    };
    let inputs = vec![(1..=9).map(|v| ("k", v)).collect(), vec![("k", 10), ("k", 11)]];
    let out = run_ok(3, inputs, move |ctx, input| update(ctx, &mut state, input, &f, None));
    assert_eq!(out[1].to_vec(), vec![("k", (1..=11).collect::<Vec<u32>>())]);
}

type Returned = Option<Row>;

/// A running sum per key under `map_with_state`: returns (key, sum, timing
/// out), nothing for a zero value, and removes the key on 99.
fn mapping(key: &&'static str, value: Option<u32>, state: &mut State<u32>) -> Returned {
    if state.is_timing_out() {
        state.update(1000); // ignored
        return Some((*key, *state.get()?, true));
    }
    let value = value?;
    if value == 99 {
        state.remove();
        return None;
    }
    let sum = state.get().copied().unwrap_or(0) + value;
    if value != 0 {
        state.update(sum);
        return Some((*key, sum, false));
    }
    None
}

type Snapshot = Option<Vec<(&'static str, u32)>>;

fn run_mapped(
    timeout: Option<u64>,
    initial: Option<Vec<(&'static str, u32)>>,
    inputs: Vec<Vec<(&'static str, u32)>>,
) -> Vec<(Vec<Row>, Snapshot)> {
    let mut state = match initial {
        Some(initial) => MappedState::new(timeout, initial),
        None => MappedState::new(timeout, std::iter::empty()),
    };
    run_ok(3, inputs, move |ctx, input| {
        let (out, snapshots) = map_state(ctx, &mut state, input, &mapping, true)?;
        Ok((out.sorted(), snapshots.map(|batch| batch.sorted())))
    })
}

#[test]
fn map_with_state_calls_only_keys_with_data_once_per_record_in_arrival_order() {
    let out = run_mapped(
        None,
        None,
        vec![vec![("a", 1), ("b", 5), ("a", 2), ("a", 3)], vec![("b", 1)], vec![]],
    );
    // Each call sees the state the previous call of its key left.
    assert_eq!(
        out[0].0,
        vec![("a", 1, false), ("a", 3, false), ("a", 6, false), ("b", 5, false)]
    );
    // Idle "a" is not called.
    assert_eq!(out[1].0, vec![("b", 6, false)]);
    assert_eq!(out[2].0, vec![]);
}

#[test]
fn map_with_state_none_returns_add_nothing_and_doing_nothing_keeps_the_state() {
    let out = run_mapped(None, None, vec![vec![("a", 4), ("a", 0)], vec![("a", 0), ("b", 99)]]);
    assert_eq!(out[0].0, vec![("a", 4, false)]);
    assert_eq!(out[1].0, vec![]);
    assert_eq!(out[1].1, Some(vec![("a", 4)]));
}

#[test]
fn map_with_state_snapshots_include_idle_keys_and_the_initial_state_in_batch_1() {
    let out = run_mapped(
        None,
        Some(vec![("init", 10)]),
        vec![vec![("a", 1)], vec![("b", 2)], vec![("a", 99)]],
    );
    assert_eq!(out[0].1, Some(vec![("a", 1), ("init", 10)]));
    assert_eq!(out[1].1, Some(vec![("a", 1), ("b", 2), ("init", 10)]));
    // A removal shows in the same batch's snapshot.
    assert_eq!(out[2].1, Some(vec![("b", 2), ("init", 10)]));
}

#[test]
fn map_with_state_timeout_fires_in_the_first_batch_at_or_after_last_update_plus_timeout() {
    // Timeout 3 s. "a": last data at 1 s, fires at 4 s. "b": data at 1 and
    // 3 s, fires at 6 s. "init": loaded at time 0, fires at 3 s.
    let inputs = vec![
        vec![("a", 1), ("b", 1)],
        vec![],
        vec![("b", 1)],
        vec![],
        vec![],
        vec![],
        vec![],
    ];
    let out = run_mapped(Some(3000), Some(vec![("init", 5)]), inputs);
    let fired: Vec<(usize, Vec<Row>)> = out
        .iter()
        .enumerate()
        .map(|(i, (o, _))| (i + 1, o.iter().filter(|r| r.2).copied().collect::<Vec<_>>()))
        .filter(|(_, f)| !f.is_empty())
        .collect();
    assert_eq!(
        fired,
        vec![
            (3, vec![("init", 5, true)]),
            (4, vec![("a", 1, true)]),
            (6, vec![("b", 2, true)])
        ]
    );
    // Gone after timing out (the update while timing out was ignored).
    assert_eq!(out[2].1, Some(vec![("a", 1), ("b", 2)]));
    assert_eq!(out[3].1, Some(vec![("b", 2)]));
    assert_eq!(out[5].1, Some(vec![]));
}

#[test]
fn map_with_state_timeout_does_not_fire_for_a_key_with_data_in_that_batch() {
    // Timeout 2 s; "a" gets data every other batch: at 3 s it is due but has
    // data, so it lives on.
    let inputs = vec![vec![("a", 1)], vec![], vec![("a", 1)], vec![], vec![("a", 1)]];
    let out = run_mapped(Some(2000), None, inputs);
    assert!(out.iter().all(|(o, _)| o.iter().all(|r| !r.2)), "{out:?}");
    assert_eq!(out[4].1, Some(vec![("a", 3)]));
}

#[test]
fn state_keys_stay_in_their_partitioners_partition() {
    let mut state = StateStore::new((0..50u32).map(|k| (k, 0u32)));
    let out = run_ok(3, vec![vec![(7u32, 1u32)], vec![]], move |ctx, input| {
        update(
            ctx,
            &mut state,
            input,
            &|vs: &[u32], old: Option<u32>| Some(old.unwrap_or(0) + vs.len() as u32),
            Some(4),
        )
    });
    for batch in out {
        assert_eq!(batch.num_partitions(), 4);
        assert_eq!(batch.len(), 50);
        for (i, part) in batch.partitions().iter().enumerate() {
            assert!(
                part.iter()
                    .all(|(k, _)| crate::shuffle::partitioner::partition_of(k, 4) == i)
            );
        }
    }
}

#[test]
fn removed_keys_are_freed() {
    let mut state = MappedState::new(None, std::iter::empty());
    let inputs = vec![
        (0..5000u32).map(|k| (k, 1u32)).collect(),
        (0..5000u32).map(|k| (k, 0u32)).collect(),
    ];
    let live = run_ok(2, inputs, move |ctx, input| {
        let f = |_: &u32, v: Option<u32>, s: &mut State<u32>| {
            if v == Some(0) {
                s.remove();
            } else {
                s.update(1);
            }
            None::<()>
        };
        map_state(ctx, &mut state, input, &f, false)?;
        let capacity = state.capacity();
        Ok((state.live_keys(), capacity))
    });
    assert_eq!(live[0].0, 5000);
    assert_eq!(live[1], (0, 0));
}

#[test]
fn a_panic_in_the_state_function_fails_the_batch_naming_the_operator() {
    let line = line!() + 1;
    let f = |vs: &[u32], old: Option<u32>| {
        if vs.contains(&13) {
            panic!("unlucky")
        } else {
            Some(old.unwrap_or(0) + 1)
        }
    };
    let end = line!() - 1;
    let p = plan(
        file!(),
        vec![
            vec![op_lines("map", 1, 2)],
            vec![op_lines("update_state_by_key", line, end)],
        ],
    );
    let mut state = StateStore::new(std::iter::empty());
    let results = run_job(
        p,
        2,
        vec![vec![("a", 1)], vec![("a", 13)], vec![("b", 1)]],
        move |ctx, input| update(ctx, &mut state, input, &f, None),
    );
    let err = results[1].as_ref().unwrap_err();
    assert!(
        matches!(err, BatchError::OperatorPanicked { operator: "update_state_by_key", message, .. } if message == "unlucky"),
        "{err}"
    );
    // The next batch runs; the key whose call panicked lost its state.
    assert_eq!(results[2].as_ref().unwrap().clone().sorted(), vec![("b", 1)]);

    let line = line!() + 1;
    let g = |_: &&str, _: Option<u32>, _: &mut State<u32>| -> Option<u32> { panic!("mapping broke") };
    let plan = plan(
        file!(),
        vec![
            vec![op_lines("map", 1, 2)],
            vec![op_lines("map_with_state", line, line)],
        ],
    );
    let mut state = MappedState::new(None, std::iter::empty());
    let results = run_job(plan, 2, vec![vec![("a", 1)]], move |ctx, input| {
        map_state(ctx, &mut state, input, &g, true)
    });
    assert!(
        matches!(
            results[0].as_ref().unwrap_err(),
            BatchError::OperatorPanicked {
                operator: "map_with_state",
                ..
            }
        ),
        "{:?}",
        results[0].as_ref().err()
    );
}

fn roundtrip<T: serde::Serialize + serde::de::DeserializeOwned>(state: &T) -> T {
    serde_json::from_str(&serde_json::to_string(state).expect("serializes")).expect("deserializes")
}

#[test]
fn state_objects_survive_a_serde_roundtrip() {
    let config = JobConfig::new().partitions(3);
    let ctx = |secs| BatchContext::untimed(Time::from_secs(secs), &config, crate::fixtures::empty_plan());
    let add = |vs: &[u32], old: Option<u32>| Some(old.unwrap_or(0) + vs.iter().sum::<u32>());
    let f = |k: &String, v: Option<u32>, s: &mut State<u32>| {
        let sum = s.get().copied().unwrap_or(0) + v.unwrap_or(0);
        s.update(sum);
        Some((k.clone(), sum, s.is_timing_out()))
    };
    let batch = |pairs: &[(&str, u32)]| Batch::from_vec(pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect());
    let mut store = StateStore::new([("z".to_owned(), 1u32)]);
    let mut mapped = MappedState::new(Some(2000), [("z".to_owned(), 1u32)]);
    let first = batch(&[("a", 1), ("b", 2)]);
    update(&ctx(1), &mut store, &first, &add, None).unwrap();
    map_state(&ctx(1), &mut mapped, &first, &f, false).unwrap();
    let (mut store2, mut mapped2) = (roundtrip(&store), roundtrip(&mapped));
    assert_eq!(store2.live_keys(), 3);
    for (secs, pairs) in [(2, vec![("a", 5)]), (3, vec![]), (4, vec![("c", 1)])] {
        let input = batch(&pairs);
        let mut outs = Vec::new();
        for (s, m) in [(&mut store, &mut mapped), (&mut store2, &mut mapped2)] {
            let a = update(&ctx(secs), s, &input, &add, None).unwrap().sorted();
            let (b, snap) = map_state(&ctx(secs), m, &input, &f, true).unwrap();
            outs.push((a, b.sorted(), snap.map(|batch| batch.sorted())));
        }
        assert_eq!(outs[0], outs[1], "batch at {secs} s");
    }
}

/// Three map tasks: one whose keys repeat (it groups), one whose keys are
/// nearly all new (it lists), one too small to judge.
fn grouping_listing_and_small() -> Vec<Vec<(u32, u32)>> {
    vec![
        (0..3000).map(|i| (i % 40, i)).collect(),
        (3000..6000)
            .map(|i| (if i % 10 == 0 { i % 40 } else { i }, i))
            .collect(),
        (6000..6100).map(|i| (i % 7, i)).collect(),
    ]
}

/// Every key's values in map-task order, then arrival order.
fn in_arrival_order(parts: &[Vec<(u32, u32)>]) -> std::collections::BTreeMap<u32, Vec<u32>> {
    let mut values = std::collections::BTreeMap::<u32, Vec<u32>>::new();
    for &(k, v) in parts.iter().flatten() {
        values.entry(k).or_default().push(v);
    }
    values
}

/// `map_with_state` calls a key once per record in arrival order, each call
/// seeing the state the previous one left, whether its map task grouped,
/// listed, or grouped a sample of borrowed keys and then listed.
#[test]
fn map_with_state_calls_follow_arrival_order_whether_a_task_groups_or_lists() {
    let parts = grouping_listing_and_small();
    let expected = in_arrival_order(&parts);
    let batch = Batch::from_partitions(parts);
    for borrowed in [false, true] {
        // Per key: each call's value and the calls its key had before.
        let calls = Mutex::new(std::collections::BTreeMap::<u32, Vec<(u32, u32)>>::new());
        let f = |key: &u32, value: Option<u32>, state: &mut State<u32>| {
            let before = state.get().copied().unwrap_or(0);
            let value = value.expect("no timeout");
            calls.lock().unwrap().entry(*key).or_default().push((value, before));
            state.update(before + 1);
            Some(())
        };
        let mut state = MappedState::new(None, std::iter::empty());
        let ctx = crate::fixtures::test_ctx(3);
        let (out, _) = if borrowed {
            let push = |p: &(u32, u32), g: &mut Grouper<u32, u32>| g.push_borrowed_pair(&p.0, p.1);
            map_with_state(&ctx, 0, &mut state, &batch, push, &f, None, false, |u, out| out.push(u))
        } else {
            map_state(&ctx, &mut state, batch.clone(), &f, false)
        }
        .unwrap();
        assert_eq!(out.count(), 6100);
        let calls = calls.into_inner().unwrap();
        assert_eq!(calls.len(), expected.len());
        for (key, values) in &expected {
            let seen = &calls[key];
            assert_eq!(
                seen.iter().map(|c| c.0).collect::<Vec<_>>(),
                *values,
                "key {key}, borrowed {borrowed}"
            );
            assert!(
                seen.iter().map(|c| c.1).eq(0..values.len() as u32),
                "key {key}: a call missed the last state"
            );
        }
    }
}

/// `update_state_by_key` gets each key's values of the batch in arrival
/// order, whether its map task grouped, listed or was too small to judge.
#[test]
fn update_state_by_key_gets_values_in_arrival_order_whether_a_task_groups_or_lists() {
    let parts = grouping_listing_and_small();
    let expected = in_arrival_order(&parts);
    let calls = Mutex::new(std::collections::BTreeMap::<u32, Vec<u32>>::new());
    let f = |values: &[u32], _: Option<u32>| {
        let first = values[0];
        calls.lock().unwrap().insert(first, values.to_vec());
        Some(values.len() as u32)
    };
    let mut state = StateStore::new(std::iter::empty());
    let ctx = crate::fixtures::test_ctx(3);
    let out = update(&ctx, &mut state, Batch::from_partitions(parts), &f, None).unwrap();
    let counts: std::collections::BTreeMap<u32, u32> = out.collect().into_iter().collect();
    assert_eq!(counts.len(), expected.len());
    let calls = calls.into_inner().unwrap();
    for (key, values) in &expected {
        assert_eq!(counts[key] as usize, values.len(), "key {key}");
        // Keyed by its first value, which is unique to each key.
        assert_eq!(calls[&values[0]], *values, "key {key}");
    }
}
