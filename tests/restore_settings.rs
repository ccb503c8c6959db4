//! A state restored from a checkpoint meets the operator as the job builds it
//! now: a changed setting is either taken (a `map_with_state` timeout) or
//! refused with a `StateError` naming both values (a window's length, slide
//! or partition count), never kept silently from the snapshot.
//!
//! Each pair of jobs below differs only in one setting; both give their
//! operators the same stable ids, so the snapshot of one restores into the
//! other as it would after the setting was edited and the job restarted.

#[macro_use]
mod common;

use streamflow::{Job, JobConfig, State, StateError, Time};

/// `map_with_state`'s function in the timeout jobs: keeps a word's count and
/// outputs `"<key> timed out"` when it times out. (`&String`: the key's type
/// is the stream's.)
#[allow(clippy::ptr_arg)]
fn remember_or_time_out(key: &String, one: Option<u64>, seen: &mut State<u64>) -> Option<String> {
    match one {
        Some(n) => {
            seen.update(n);
            None
        }
        None => Some(format!("{key} timed out")),
    }
}

jobs! {
    /// `map_with_state` with a timeout of 10 s: a key's timing out is output
    /// as `"<key> timed out"`.
    pub job TimeoutTen {
        batch_interval = 1s;
        input words: String;
        let seen = words.map(|w| (w, 1u64)).map_with_state(remember_or_time_out, 10s);
        output seen: String = seen;
    }

    /// The same with a timeout of 2 s.
    pub job TimeoutTwo {
        batch_interval = 1s;
        input words: String;
        let seen = words.map(|w| (w, 1u64)).map_with_state(remember_or_time_out, 2s);
        output seen: String = seen;
    }

    /// Counts per word over the last 2 s, in `parts` key partitions, next
    /// to an unkeyed window.
    pub job WindowTwo(parts: usize) {
        batch_interval = 1s;
        input words: String;
        let counts = words.map(|w| (w, 1u64)).reduce_by_key_and_window(|a, b| a + b, 2s, 1s, parts);
        output counts: (String, u64) = counts;
        output all: String = words.window(2s);
    }

    /// The same counts over the last 3 s.
    pub job WindowThree(parts: usize) {
        batch_interval = 1s;
        input words: String;
        let counts = words.map(|w| (w, 1u64)).reduce_by_key_and_window(|a, b| a + b, 3s, 1s, parts);
        output counts: (String, u64) = counts;
        output all: String = words.window(2s);
    }

    /// A keyed window with no count of its own: it keeps the job's.
    pub job WindowJobCount {
        batch_interval = 1s;
        input words: String;
        output counts: (String, Vec<u64>) = words.map(|w| (w, 1u64)).group_by_key_and_window(2s);
    }
}

fn at(seconds: u64) -> Time {
    Time::from_millis(seconds * 1000)
}

fn words(ws: &[&str]) -> Vec<String> {
    ws.iter().map(|w| w.to_string()).collect()
}

#[test]
fn a_restored_map_with_state_times_out_by_its_new_timeout() {
    use fused::{TimeoutTen, TimeoutTwo};
    let mut ten = TimeoutTen::new();
    ten.run_batch(at(1), TimeoutTen::inputs().words(["a".to_owned()]))
        .unwrap();
    let snapshot = ten.state().snapshot().unwrap();

    let mut two = TimeoutTwo::new();
    two.state_mut().restore(&snapshot).unwrap();
    let seen: Vec<Vec<String>> = (2..=4)
        .map(|s| two.run_batch(at(s), TimeoutTwo::inputs()).unwrap().seen.to_vec())
        .collect();
    // `a` arrived at 1 s: with 2 s it times out at 3 s (the saved 10 s would
    // have kept it until 11 s).
    assert_eq!(seen, [vec![], vec!["a timed out".to_owned()], vec![]]);

    // And the other way: restored with 10 s, nothing times out at 3 s.
    let mut ten = TimeoutTen::new();
    let mut two = TimeoutTwo::new();
    two.run_batch(at(1), TimeoutTwo::inputs().words(["a".to_owned()]))
        .unwrap();
    ten.state_mut().restore(&two.state().snapshot().unwrap()).unwrap();
    let seen: Vec<usize> = (2..=4)
        .map(|s| ten.run_batch(at(s), TimeoutTen::inputs()).unwrap().seen.len())
        .collect();
    assert_eq!(seen, [0, 0, 0]);
}

#[test]
fn a_window_is_restored_into_the_same_shape_and_count() {
    use fused::WindowTwo;
    let job = || WindowTwo::with_config(JobConfig::new().partitions(2), 3).unwrap();
    let mut original = job();
    original
        .run_batch(at(1), WindowTwo::inputs().words(words(&["a", "b"])))
        .unwrap();
    let snapshot = original.state().snapshot().unwrap();

    let mut restored = job();
    restored.state_mut().restore(&snapshot).unwrap();
    let next = |job: &mut WindowTwo| job.run_batch(at(2), WindowTwo::inputs().words(words(&["a"]))).unwrap();
    let (expected, got) = (next(&mut original), next(&mut restored));
    assert_eq!(got.counts.sorted(), expected.counts.sorted());
    assert_eq!(got.counts.sorted(), [("a".to_owned(), 2), ("b".to_owned(), 1)]);
    assert_eq!(got.counts.num_partitions(), 3);
    assert_eq!(got.all.sorted(), ["a", "a", "b"]);
}

#[test]
fn a_window_saved_with_another_length_is_refused() {
    let mut two = fused::WindowTwo::with_config(JobConfig::new(), 3).unwrap();
    two.run_batch(at(1), fused::WindowTwo::inputs().words(words(&["a"])))
        .unwrap();
    let snapshot = two.state().snapshot().unwrap();

    let mut three = fused::WindowThree::with_config(JobConfig::new(), 3).unwrap();
    let err = three.state_mut().restore(&snapshot).unwrap_err();
    assert!(
        matches!(&err, StateError::DoesNotFit { id, .. } if id == "counts"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the state of `counts` cannot be restored: it was saved as a window of 2000 ms sliding every 1000 ms and \
         the job now computes a window of 3000 ms sliding every 1000 ms; a window's state holds the batches of \
         its own length and slide: set them back, or start from a new checkpoint directory"
    );
}

#[test]
fn a_window_saved_in_another_partition_count_is_refused() {
    // The window's own count changed.
    let mut original = fused::WindowTwo::with_config(JobConfig::new(), 3).unwrap();
    original
        .run_batch(at(1), fused::WindowTwo::inputs().words(words(&["a"])))
        .unwrap();
    let snapshot = original.state().snapshot().unwrap();
    let err = fused::WindowTwo::with_config(JobConfig::new(), 5)
        .unwrap()
        .state_mut()
        .restore(&snapshot)
        .unwrap_err();
    assert!(
        matches!(&err, StateError::DoesNotFit { id, .. } if id == "counts"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("it was saved in 3 partitions and the job now keeps it in 5"),
        "{err}"
    );

    // The job's count changed, for a window that follows it.
    let mut original = fused::WindowJobCount::with_config(JobConfig::new().partitions(2)).unwrap();
    original
        .run_batch(at(1), fused::WindowJobCount::inputs().words(words(&["a"])))
        .unwrap();
    let snapshot = original.state().snapshot().unwrap();
    let err = fused::WindowJobCount::with_config(JobConfig::new().partitions(4))
        .unwrap()
        .state_mut()
        .restore(&snapshot)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("it was saved in 2 partitions and the job now keeps it in 4"),
        "{err}"
    );
}
