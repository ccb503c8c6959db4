//! Job parameters: declared in the job's header, given to `new`/`with_config`,
//! and seen by every kind of function: narrow, shuffle, window, state,
//! whole-batch and output operators, and the values evaluated when the job is
//! built (partition counts, `print(n)`, file prefixes, initial states).

#[macro_use]
mod common;

use common::*;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use streamflow::testing::PrintCapture;
use streamflow::{JobConfig, Time};

jobs! {
    /// What `foreach_batch` received, under the job's `tag`.
    pub static SEEN: Mutex<Vec<(String, Time, usize)>> = Mutex::new(Vec::new());

    /// Word counts that skip stop words, cap each batch's count, keep
    /// windowed counts of at least `min_count`, and weigh running totals.
    pub job Counts(stop: Arc<HashSet<String>>, cap: u64, min_count: u64, weight: u64, parts: usize, tag: String, shown: usize) {
        batch_interval = 1s;
        input words: String;
        let pairs = words.filter(|w| !stop.contains(w)).map(|w| (w, 1u64));
        output capped: (String, u64) = pairs.reduce_by_key(|a, b| (a + b).min(cap), parts);
        output windowed: (String, u64) =
            pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 2s, 1s, parts, |(_, n)| *n >= min_count);
        output weighted: (String, u64) = pairs.update_state_by_key(
            |new: &[u64], total: Option<u64>| Some(total.unwrap_or(0) + weight * new.len() as u64),
            [(tag.clone(), weight)],
        );
        output frequent: (String, u64) = pairs.transform(|batch| {
            batch.reduce_by_key(|a, b| a + b, None).filter(|(_, n)| *n >= min_count)
        });
        output partitions_seen: usize = pairs.reduce_by_key(|a, b| a + b, parts).glom().map(|_| 1usize).reduce(|a, b| a + b);
        pairs.foreach_batch(|batch, time| SEEN.lock().unwrap().push((tag.clone(), time, batch.len())));
        words.print(shown);
    }

    /// Words borrowed from their line, filtered by a parameter, counted,
    /// kept from `min_count` on: the closure reading `spam` is written into
    /// the loop like the others (it once kept the whole chain out of it,
    /// and `line.split_whitespace()` did not compile).
    pub job Enrich(spam: Arc<HashSet<String>>, min_count: u64) {
        batch_interval = 1s;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .filter(|w| !spam.contains(AsRef::<str>::as_ref(w)))
            .map(|w| (w, 1u64))
            .reduce_by_key(|a, b| a + b)
            .filter(|(_, n)| *n >= min_count);
    }
}

fn stop_words() -> Arc<HashSet<String>> {
    Arc::new(["the", "a"].map(String::from).into_iter().collect())
}

both! {
    fn parameters_reach_every_kind_of_function() {
        let capture = PrintCapture::new();
        let config = JobConfig::new().print_to(capture.writer());
        let tag = format!("{}-params", module_path!());
        let job = m::Counts::with_config(config, stop_words(), 2, 2, 10, 3, tag.clone(), 1).unwrap();
        let words = |ws: &[&str]| m::Counts::inputs().words(ws.iter().map(|w| w.to_string()));
        let out = run(job, [words(&["the", "x", "x", "x", "y", "a"]), words(&["y", "y"])]);
        let w = |s: &str, n: u64| (s.to_owned(), n);

        // Narrow (`stop`) and shuffle (`cap`) functions.
        assert_eq!(out[0].outputs.capped.sorted(), [w("x", 2), w("y", 1)]);
        // The window's `keep` function (`min_count`).
        assert_eq!(out[0].outputs.windowed.sorted(), [w("x", 3)]);
        // y (1 at 1 s) was dropped by `keep`; at 2 s its two new values make 2.
        assert_eq!(out[1].outputs.windowed.sorted(), [w("x", 3), w("y", 2)]);
        // The state function (`weight`) and the initial state (`tag`, `weight`).
        assert_eq!(out[0].outputs.weighted.sorted(), [w(&tag, 10), w("x", 30), w("y", 10)]);
        assert_eq!(out[1].outputs.weighted.sorted(), [w(&tag, 10), w("x", 30), w("y", 30)]);
        // A whole-batch function (`min_count` inside `transform`).
        assert_eq!(out[0].outputs.frequent.sorted(), [w("x", 3)]);
        // A partition count (`parts`): three partitions after the shuffle.
        assert_eq!(out[0].outputs.partitions_seen.to_vec(), [3]);
        // Output operators: `foreach_batch` (`tag`) and `print(shown)`.
        let seen: Vec<(Time, usize)> =
            m::SEEN.lock().unwrap().iter().filter(|(t, ..)| *t == tag).map(|&(_, time, n)| (time, n)).collect();
        assert_eq!(seen, [(Time::from_millis(1000), 4), (Time::from_millis(2000), 2)]);
        assert_eq!(
            capture.take_string(),
            [print_block(1000, &["\"the\"", "..."]), print_block(2000, &["\"y\"", "..."])].concat()
        );
    }

    fn a_closure_reading_a_parameter_keeps_words_borrowed_from_their_line() {
        let job = m::Enrich::new(Arc::new(["buy", "now"].map(String::from).into_iter().collect()), 2);
        let out = run_one(job, m::Enrich::inputs().lines(["buy a a b now", "a b c"]));
        assert_eq!(out.counts.sorted(), [("a".to_owned(), 3), ("b".to_owned(), 2)]);
    }

    fn new_takes_the_parameters_in_order() {
        let job = m::Counts::new(stop_words(), 100, 1, 1, 2, "new".to_owned(), 0);
        let out = run_one(job, m::Counts::inputs().words(["b", "the", "b"]));
        assert_eq!(out.capped.sorted(), [("b".to_owned(), 2)]);
        assert_eq!(out.partitions_seen.to_vec(), [2]);
    }
}
