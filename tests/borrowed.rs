//! Elements borrowed from the element being read: `flat_map(|line|
//! line.split_whitespace())` yields `&str` words of each `String` line, and
//! the keyed operator at the end of the fused loop stores a key's owned form
//! (made only for a key not seen before). Every borrowed form gives exactly
//! the outputs of its owned form (a `String` per word), fused and unfused
//! (where each materialized stream of borrowed words holds them owned).

#[macro_use]
mod common;

use streamflow::prelude::*;
use streamflow::testing::TestRun;

const LINES: [&str; 4] = ["to be or not to be", "", "  be   quick ", "or not"];

/// The words of `LINES` with their counts, sorted.
fn expected_counts() -> Vec<(String, u64)> {
    let mut counts: Vec<(String, u64)> = vec![
        ("be".into(), 3),
        ("not".into(), 2),
        ("or".into(), 2),
        ("quick".into(), 1),
        ("to".into(), 2),
    ];
    counts.sort();
    counts
}

/// A function built by an expression, called (not written into the loop).
fn make_length() -> fn(String) -> usize {
    length
}

/// A line's length, as a named function.
fn length(line: String) -> usize {
    line.len()
}

jobs! {
    /// The natural word count, and the same job with a `String` per word.
    pub job WordCount {
        batch_interval = 1s;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
    }

    pub job OwnedWordCount {
        batch_interval = 1s;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
    }

    /// Every keyed operator and a materialized stream on borrowed words, and
    /// the input read by several operators (a branch: each reader copies the
    /// lines it reads).
    pub job Borrowed {
        batch_interval = 1s;
        input lines: String;
        output counted: (String, u64) = lines.flat_map(|line| line.split_whitespace()).count_by_value();
        output words: String = lines
            .flat_map(|line| line.split_whitespace())
            .filter(|word| word.len() > 2);
        output firsts: (String, usize) = lines
            .filter_map(|line| line.split_whitespace().next())
            .map(|word| {
                let n = word.len();
                (word, n)
            })
            .reduce_by_key(|a, b| a.max(b));
        output longest: (char, String) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|word| (word.chars().next().unwrap_or(' '), word.to_owned()))
            .reduce_by_key(|a, b| if b.len() > a.len() { b } else { a });
        output lengths: usize = lines
            .map(|line| line.trim())
            .inspect(|line| assert!(!line.starts_with(' ')))
            .map(|line| line.len());
    }

    /// Every other keyed operator on words borrowed from their line (its
    /// key made owned once per key new to a task, also where every value is
    /// kept), each beside `KeyedOwned`'s form with a `String` per word.
    pub job KeyedNatural {
        batch_interval = 1s;
        input lines: String;
        output combined: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .combine_by_key(|v| v * 10, |c, v| c + v, |a, b| a + b);
        output windowed: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .reduce_by_key_and_window(|a, b| a + b, 2s, 1s);
        output inverse: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 2s, 1s);
        output kept: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 2s, 1s, 3, |(_, n)| *n > 0);
        output counted: (String, u64) = lines.flat_map(|line| line.split_whitespace()).count_by_value_and_window(2s, 1s);
        output grouped: (String, Vec<u64>) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .group_by_key();
        output grouped_window: (String, Vec<u64>) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .group_by_key_and_window(2s, 1s);
        output totals: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .update_state_by_key(|new: &[u64], old: Option<u64>| Some(old.unwrap_or(0) + new.iter().sum::<u64>()));
        output timed: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .update_state_by_key_with_time(|time: Time, key: &String, new: &[u64], old: Option<u64>| {
                Some(old.unwrap_or(0) + new.len() as u64 * 1000 + time.as_millis() / 1000 + key.len() as u64)
            });
        output seen: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .map_with_state(|key: &String, n: Option<u64>, state: &mut State<u64>| {
                let total = state.get().copied().unwrap_or(0) + n.unwrap_or(0);
                state.update(total);
                Some((key.clone(), total))
            });
    }

    pub job KeyedOwned {
        batch_interval = 1s;
        input lines: String;
        output combined: (String, u64) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .combine_by_key(|v| v * 10, |c, v| c + v, |a, b| a + b);
        output windowed: (String, u64) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .reduce_by_key_and_window(|a, b| a + b, 2s, 1s);
        output inverse: (String, u64) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 2s, 1s);
        output kept: (String, u64) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 2s, 1s, 3, |(_, n)| *n > 0);
        output counted: (String, u64) = lines.flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>()).count_by_value_and_window(2s, 1s);
        output grouped: (String, Vec<u64>) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .group_by_key();
        output grouped_window: (String, Vec<u64>) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .group_by_key_and_window(2s, 1s);
        output totals: (String, u64) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .update_state_by_key(|new: &[u64], old: Option<u64>| Some(old.unwrap_or(0) + new.iter().sum::<u64>()));
        output timed: (String, u64) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .update_state_by_key_with_time(|time: Time, key: &String, new: &[u64], old: Option<u64>| {
                Some(old.unwrap_or(0) + new.len() as u64 * 1000 + time.as_millis() / 1000 + key.len() as u64)
            });
        output seen: (String, u64) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|w| {
                let n = w.len() as u64;
                (w, n)
            })
            .map_with_state(|key: &String, n: Option<u64>, state: &mut State<u64>| {
                let total = state.get().copied().unwrap_or(0) + n.unwrap_or(0);
                state.update(total);
                Some((key.clone(), total))
            });
    }

    /// Stages that cannot borrow: a join's side, a function that is neither
    /// a closure literal nor a function's path.
    pub job NoBorrowing {
        batch_interval = 1s;
        input lines: String;
        input weights: (String, u64);
        output joined: (String, (usize, u64)) = lines.map(|line| (line.clone(), line.len())).join(weights);
        output lengths: usize = lines.map(make_length());
    }

    /// A filter chain ending in `count` only reads its lines: it borrows
    /// the batch, which is freed afterwards on another thread.
    pub job Grep {
        batch_interval = 1s;
        input lines: String;
        output matches: u64 = lines.inspect(|line| assert!(!line.contains('\n'))).filter(|line| line.contains("no")).count();
    }

    /// `&'static str` keys stay references where the output port says so.
    pub job StaticKeys {
        batch_interval = 1s;
        input words: &'static str;
        output counts: (&'static str, u64) = words.map(|w| (w, 1)).reduce_by_key(|a, b| a + b);
        output same: &'static str = words.filter(|w| !w.is_empty()).map(|w| w);
    }

    /// Ports each read once, whose first closure only calls `str` methods on
    /// its line: the lines are read where they are and freed after the
    /// stage. `taken` moves its line, so it takes each one.
    pub job InPlace {
        batch_interval = 1s;
        input counted: String;
        input grouped: String;
        input split: String;
        input measured: String;
        input firsts: String;
        input taken: String;
        output counts: (String, u64) = counted
            .flat_map(|line| line.split_whitespace())
            .map(|w| (w, 1u64))
            .reduce_by_key(|a, b| a + b);
        output groups: (String, Vec<usize>) = grouped
            .flat_map(|line| line.split_whitespace())
            .map(|w| {
                let n = w.len();
                (w, n)
            })
            .group_by_key();
        output words: String = split.flat_map(|line| line.split_whitespace());
        output lengths: usize = measured.map(|line| line.trim().len());
        output first_words: String = firsts.filter_map(|line| line.split_whitespace().next());
        output pairs: (String, usize) = taken.map(|line| {
            let n = line.len();
            (line, n)
        });
    }
}

both! {
    fn the_natural_word_count_counts_like_the_owned_one() {
        let mut borrowed = TestRun::new(m::WordCount::new());
        let mut owned = TestRun::new(m::OwnedWordCount::new());
        let got = borrowed.run_batch(m::WordCount::inputs().lines(LINES)).unwrap().outputs.counts.sorted();
        let want = owned.run_batch(m::OwnedWordCount::inputs().lines(LINES)).unwrap().outputs.counts.sorted();
        assert_eq!(got, expected_counts());
        assert_eq!(got, want);
        // A second batch starts from empty maps.
        let again = borrowed.run_batch(m::WordCount::inputs().lines(["be be"])).unwrap();
        assert_eq!(again.outputs.counts.sorted(), vec![("be".to_owned(), 2)]);
    }

    fn every_borrowed_form_gives_the_owned_outputs() {
        let mut run = TestRun::new(m::Borrowed::new());
        let out = run.run_batch(m::Borrowed::inputs().lines(LINES)).unwrap().outputs;
        assert_eq!(out.counted.sorted(), expected_counts());
        assert_eq!(out.words.collect(), vec!["not", "quick", "not"]);
        assert_eq!(
            out.firsts.sorted(),
            vec![("be".to_owned(), 2), ("or".to_owned(), 2), ("to".to_owned(), 2)]
        );
        assert_eq!(
            out.longest.sorted(),
            vec![
                ('b', "be".to_owned()),
                ('n', "not".to_owned()),
                ('o', "or".to_owned()),
                ('q', "quick".to_owned()),
                ('t', "to".to_owned()),
            ]
        );
        assert_eq!(out.lengths.collect(), vec![18, 0, 10, 6]);
    }

    fn every_keyed_operator_on_borrowed_keys_gives_the_owned_outputs() {
        let mut natural = TestRun::new(m::KeyedNatural::new());
        let mut owned = TestRun::new(m::KeyedOwned::new());
        // The last batch: 3000 lines over 500 words, cut into the job's
        // partitions, so that a key's values come from several map tasks.
        let many: Vec<String> = (0..3000u64)
            .map(|i| (0..6).map(|j| format!("w{}", (i * 7 + j * 131 + i * j) % 500)).collect::<Vec<_>>().join(" "))
            .collect();
        let as_strs = |lines: &[&str]| lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        let batches = [as_strs(&LINES), as_strs(&["be quick", "to be"]), vec![], as_strs(&["or not", "not"]), many];
        for (i, lines) in batches.into_iter().enumerate() {
            let got = natural.run_batch(m::KeyedNatural::inputs().lines(lines.clone())).unwrap().outputs;
            let want = owned.run_batch(m::KeyedOwned::inputs().lines(lines)).unwrap().outputs;
            let at = format!("batch {i}");
            assert_eq!(got.combined.sorted(), want.combined.sorted(), "combine_by_key, {at}");
            assert_eq!(got.windowed.sorted(), want.windowed.sorted(), "reduce_by_key_and_window, {at}");
            assert_eq!(got.inverse.sorted(), want.inverse.sorted(), "with an inverse, {at}");
            assert_eq!(got.kept.sorted(), want.kept.sorted(), "with an inverse and a filter, {at}");
            assert_eq!(got.counted.sorted(), want.counted.sorted(), "count_by_value_and_window, {at}");
            // The grouping operators: the same batches, partitions and
            // element order included.
            assert_eq!(got.grouped, want.grouped, "group_by_key, {at}");
            assert_eq!(got.grouped_window, want.grouped_window, "group_by_key_and_window, {at}");
            assert_eq!(got.totals, want.totals, "update_state_by_key, {at}");
            assert_eq!(got.timed, want.timed, "update_state_by_key_with_time, {at}");
            assert_eq!(got.seen, want.seen, "map_with_state, {at}");
            if i == 0 {
                // The first batch by hand: each word's total length.
                let lengths: Vec<(String, u64)> =
                    expected_counts().into_iter().map(|(w, n)| (w.clone(), n * w.len() as u64)).collect();
                assert_eq!(got.windowed.sorted(), lengths);
                assert_eq!(got.totals.sorted(), lengths);
                assert_eq!(got.counted.sorted(), expected_counts());
                assert_eq!(
                    got.grouped.sorted().into_iter().find(|(w, _)| w == "be"),
                    Some(("be".to_owned(), vec![2, 2, 2]))
                );
            }
        }
    }

    fn grep_counts_the_matching_lines() {
        let mut run = TestRun::new(m::Grep::new());
        let out = run.run_batch(m::Grep::inputs().lines(LINES)).unwrap().outputs;
        assert_eq!(out.matches.collect(), vec![2]);
        let none = run.run_batch(m::Grep::inputs()).unwrap().outputs;
        assert_eq!(none.matches.collect(), vec![0]);
    }

    fn lines_read_in_place_give_what_taken_lines_give() {
        let mut run = TestRun::new(m::InPlace::new());
        let inputs = m::InPlace::inputs()
            .counted(LINES)
            .grouped(LINES)
            .split(LINES)
            .measured(LINES)
            .firsts(LINES)
            .taken(LINES);
        let out = run.run_batch(inputs).unwrap().outputs;
        assert_eq!(out.counts.sorted(), expected_counts());
        assert_eq!(
            out.groups.sorted(),
            vec![
                ("be".to_owned(), vec![2, 2, 2]),
                ("not".to_owned(), vec![3, 3]),
                ("or".to_owned(), vec![2, 2]),
                ("quick".to_owned(), vec![5]),
                ("to".to_owned(), vec![2, 2]),
            ]
        );
        assert_eq!(
            out.words.collect(),
            ["to", "be", "or", "not", "to", "be", "be", "quick", "or", "not"]
        );
        assert_eq!(out.lengths.collect(), vec![18, 0, 10, 6]);
        assert_eq!(out.first_words.collect(), ["to", "be", "or"]);
        assert_eq!(
            out.pairs.collect(),
            LINES.iter().map(|l| (l.to_string(), l.len())).collect::<Vec<_>>()
        );
    }

    fn static_keys_stay_references_when_declared_so() {
        let mut run = TestRun::new(m::StaticKeys::new());
        let out = run.run_batch(m::StaticKeys::inputs().words(["a", "b", "a", ""])).unwrap().outputs;
        assert_eq!(out.counts.sorted(), vec![("", 1), ("a", 2), ("b", 1)]);
        assert_eq!(out.same.collect(), vec!["a", "b", "a"]);
    }
}

/// `explain()` says, per stage, whether its loop may borrow and where its
/// elements are made owned, or why it cannot borrow.
#[test]
fn explain_says_which_stages_borrow() {
    let keyed = fused::KeyedNatural::explain();
    for line in [
        "combine_by_key (map-side combine; keys may borrow, owned once per new key)",
        "reduce_by_key_and_window (map-side combine; keys may borrow, owned once per new key)",
        "count_by_value_and_window (map-side count; keys may borrow, owned once per new key)",
        "group_by_key (map-side group; keys may borrow, owned once per new key)",
        "group_by_key_and_window (map-side group; keys may borrow, owned once per new key)",
        "update_state_by_key (map-side group; keys may borrow, owned once per new key)",
        "map_with_state (map-side group; keys may borrow, owned once per new key; input read in place, freed after the stage)",
    ] {
        assert!(keyed.contains(line), "{line:?} not in\n{keyed}");
    }
    let unfused = unfused::Borrowed::explain();
    assert!(
        unfused.contains("flat_map (may borrow from its input, stored owned)"),
        "{unfused}"
    );
    let kept = fused::StaticKeys::explain();
    assert!(
        kept.contains("reduce_by_key (map-side combine; may borrow, references kept)"),
        "{kept}"
    );
    let owned = fused::NoBorrowing::explain();
    assert!(
        owned.contains("join (map-side group; no borrowing: `join` reads several streams)"),
        "{owned}"
    );
    assert!(
        owned.contains(
            "map (no borrowing: `map` (line 246) is not given a closure literal or function path the loop can hold)"
        ),
        "{owned}"
    );
}

/// `explain()` names the stages that read their lines in place, fused and
/// unfused, and only those.
#[test]
fn explain_says_which_stages_read_their_lines_in_place() {
    const IN_PLACE: &str = "input read in place, freed after the stage";
    for plan in [fused::InPlace::explain(), unfused::InPlace::explain()] {
        // Each stage's text, from its "stage" line to the next.
        let stages: Vec<&str> = plan.split("\nstage ").skip(1).collect();
        for port in ["counted", "grouped", "split", "measured", "firsts", "taken"] {
            let reads = format!("reads input `{port}`");
            let stage = stages
                .iter()
                .find(|s| s.contains(&reads))
                .unwrap_or_else(|| panic!("{reads}: {plan}"));
            assert_eq!(stage.contains(IN_PLACE), port != "taken", "{port}:\n{plan}");
        }
    }
    // Of a branch's readers, the last takes the batch: it reads it in place,
    // the others copy what they read.
    let branch = fused::Borrowed::explain();
    assert_eq!(branch.matches(IN_PLACE).count(), 1, "{branch}");
}

/// A job whose closure arrives through a `macro_rules!` `$f:expr` (wrapped
/// in an invisible group): it is written into the loop all the same.
macro_rules! words_job {
    ($words:expr) => {
        stream_job! {
            pub job ViaMacro {
                batch_interval = 1s;
                input lines: String;
                output counts: (String, u64) = lines
                    .flat_map($words)
                    .map(|w| (w, 1u64))
                    .combine_by_key(|v| v, |c, v| c + v, |a, b| a + b);
            }
        }
    };
}

mod via_macro {
    use super::*;
    words_job!(|line| line.split_whitespace());
}

#[test]
fn a_closure_passed_through_a_macro_may_borrow() {
    let mut run = TestRun::new(via_macro::ViaMacro::new());
    let out = run
        .run_batch(via_macro::ViaMacro::inputs().lines(LINES))
        .unwrap()
        .outputs;
    assert_eq!(out.counts.sorted(), expected_counts());
    assert!(
        via_macro::ViaMacro::explain()
            .contains("combine_by_key (map-side combine; keys may borrow, owned once per new key; input read in place")
    );
}

/// A function's path in the loop (`str::to_owned`) is called in place on
/// the element, like a closure literal: words borrowed from their line reach
/// it as `&str` (bound once as a function, it would get `String` lines).
mod by_path {
    use super::*;
    stream_job! {
        pub job OwnedByPath {
            batch_interval = 1s;
            input lines: String;
            output words: String = lines.flat_map(|line| line.split_whitespace()).map(str::to_owned);
            output lengths: usize = lines.map(length);
        }
    }
}

#[test]
fn a_function_path_is_called_in_the_loop() {
    let mut run = TestRun::new(by_path::OwnedByPath::new());
    let out = run
        .run_batch(by_path::OwnedByPath::inputs().lines(["to be", "or"]))
        .unwrap()
        .outputs;
    assert_eq!(out.words.to_vec(), ["to", "be", "or"]);
    assert_eq!(out.lengths.to_vec(), [5, 2]);
    assert!(
        by_path::OwnedByPath::explain().contains("map (may borrow from its input, stored owned)"),
        "{}",
        by_path::OwnedByPath::explain()
    );
}
