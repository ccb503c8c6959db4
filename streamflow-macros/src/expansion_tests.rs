//! Snapshots of the generated code, pretty-printed, as a person would read it
//! in `cargo expand`: codegen changes show up as reviewable diffs.

fn expand(job: &str) -> syn::File {
    syn::parse2(super::compile(job.parse().unwrap())).unwrap()
}

/// The README's word count: the closures written into the fused loop, words
/// borrowed from their line, keys owned at the combiner; no state.
#[test]
fn word_count_expansion() {
    let file = expand(
        r#"
            /// Counts words.
            pub job WordCount {
                batch_interval = 1s;
                input lines: String;
                let counts = lines
                    .flat_map(|line| line.split_whitespace())
                    .map(|word| (word, 1u64))
                    .reduce_by_key(|a, b| a + b);
                output counts: (String, u64) = counts;
                counts.print();
            }
        "#,
    );
    insta::assert_snapshot!(prettyplease::unparse(&file));
}

/// Grep: a filter ending in `count` borrows its batch and frees it after; a
/// branch read by a loop with its closures written in copies each element;
/// a closure given as an expression is called, bound once.
#[test]
fn grep_expansion() {
    let file = expand(
        r#"
            job Grep {
                batch_interval = 1s;
                input lines: String;
                input logs: String;
                output matches: u64 = lines.filter(|line| line.contains("error")).count();
                output words: (String, u64) = logs.flat_map(|line| line.split(' ')).count_by_value();
                output lengths: usize = logs.map(str::len);
            }
        "#,
    );
    insta::assert_snapshot!(prettyplease::unparse(&file));
}

/// Narrow operators only, with a branch: no state, no shuffle.
#[test]
fn narrow_job_expansion() {
    let file = expand(
        r#"
            job Evens {
                batch_interval = 1s;
                input numbers: u32;
                let doubled = numbers.map(|x| x * 2).inspect(|x| assert!(x % 2 == 0));
                output big: u32 = doubled.filter(|x| *x > 10);
                output all: u32 = doubled;
            }
        "#,
    );
    insta::assert_snapshot!(prettyplease::unparse(&file));
}

/// A window with an inverse function and `map_with_state` read by
/// `state_snapshots`: both keep state in the job's state struct.
#[test]
fn stateful_job_expansion() {
    let file = expand(
        r#"
            job Sessions {
                batch_interval = 1s;
                input clicks: (String, u64);
                let recent = clicks.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 30s, 10s, 4);
                let totals = clicks.map_with_state(
                    |_user: &String, clicks: Option<u64>, total: &mut State<u64>| {
                        let sum = total.get().copied().unwrap_or(0) + clicks.unwrap_or(0);
                        total.update(sum);
                        Some(sum)
                    },
                    5min,
                );
                let snapshots = totals.state_snapshots();
                output recent: (String, u64) = recent;
                output totals: u64 = totals;
                output snapshots: (String, u64) = snapshots;
                clicks.window(20s).count().print();
            }
        "#,
    );
    insta::assert_snapshot!(prettyplease::unparse(&file));
}

/// A join of two keyed streams, each fused with its map side.
#[test]
fn join_expansion() {
    let file = expand(
        r#"
            job Orders {
                batch_interval = 1s;
                input orders: (u32, String);
                input prices: (u32, f64);
                let priced = orders.join(prices.filter(|p| p.1 > 0.0), 8).map_values(|(item, price)| format!("{item}: {price}"));
                output priced: (u32, String) = priced;
            }
        "#,
    );
    insta::assert_snapshot!(prettyplease::unparse(&file));
}

/// The output operators, several reading one batch.
#[test]
fn outputs_expansion() {
    let file = expand(
        r#"
            job Logs {
                batch_interval = 1s;
                input lines: String;
                let errors = lines.filter(|l| l.contains("ERROR"));
                errors.print(5);
                errors.save_as_text_files("out/errors");
                errors.foreach_batch(|batch, time| println!("{time:?}: {} errors", batch.len()));
            }
        "#,
    );
    insta::assert_snapshot!(prettyplease::unparse(&file));
}

/// A job with an error still types every closure it can read (so their type
/// errors show too), and still declares its state struct.
#[test]
fn a_job_with_errors_keeps_its_typing_chain() {
    let text = prettyplease::unparse(&expand(
        r#"
            job Broken {
                batch_interval = 1s;
                input clicks: (String, u64);
                let recent = clicks.reduce_by_key_and_window(|a, b| a + b, 30s, 10s);
                output recent: (String, u64) = recent.mapp(|x| x);
            }
        "#,
    ));
    assert!(text.contains("compile_error!"), "{text}");
    assert!(text.contains(".reduce_by_key_and_window(|a, b| a + b)"), "{text}");
    assert!(text.contains("pub recent: ::streamflow::__private::Kept<S0>"), "{text}");
}
