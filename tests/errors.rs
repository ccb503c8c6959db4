//! Failures and configuration, fused and unfused: a panicking closure fails
//! its batch with an error naming the batch time, the operator and its line,
//! and the job goes on; batch times are checked; `JobConfig` is validated and
//! does not change results.

#[macro_use]
mod common;

use common::*;
use streamflow::testing::TestRun;
use streamflow::{BatchError, Job, JobConfig, Time};

/// Fails outside the job's source lines: the error names the stage instead.
fn checked_sqrt(x: f64) -> f64 {
    assert!(x >= 0.0, "negative input {x}");
    x.sqrt()
}

// Every panic message ends with the line of the closure that panicked
// (`line!()`), so a test can check that the error names that same line.
jobs! {
    pub job Fragile {
        batch_interval = 1s;
        input xs: i32;
        input pairs: (&'static str, i32);
        output inverted: i32 = xs
            .map(|x| x - 1)
            .map(|x| if x == 0 { panic!("division by zero (line {})", line!()) } else { 100 / x });
        output sums: (&'static str, i32) = pairs
            .reduce_by_key(|a, b| if a + b > 1000 { panic!("sum too large (line {})", line!()) } else { a + b });
        output roots: f64 = xs.map(|x| checked_sqrt(f64::from(x)));
        xs.foreach_batch(|batch, _| if batch.iter().any(|&x| x == 99) { panic!("99 refused (line {})", line!()) });
    }

    pub job Configured {
        batch_interval = 2s;
        input words: &'static str;
        output counts: (&'static str, u64) = words.map(|w| (w, 1)).reduce_by_key(|a, b| a + b);
        output lengths: usize = words.map(str::len);
    }
}

/// Checks `err` is the error of a panic in `operator` whose message was
/// `"{message} (line L)"`: "batch {time} failed: `{operator}` at {file}:{L}
/// panicked: {message} (line L)".
fn assert_operator_panic(err: &BatchError, time: Time, operator: &str, message: &str) {
    let BatchError::OperatorPanicked { message: actual, .. } = err else {
        panic!("not an operator panic: {err}");
    };
    let line: u32 = actual
        .strip_prefix(message)
        .and_then(|rest| rest.strip_prefix(" (line "))
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected panic message {actual:?}"));
    assert_eq!(
        err.to_string(),
        format!(
            "batch {time} failed: `{operator}` at {}:{line} panicked: {message} (line {line})",
            file!()
        )
    );
}

both! {
    fn a_panic_in_a_narrow_operator_names_it_and_the_job_goes_on() {
        let mut run = TestRun::new(m::Fragile::new());
        assert_eq!(run.run_batch(m::Fragile::inputs().xs([3, 5])).unwrap().inverted.to_vec(), vec![50, 25]);
        let err = run.run_batch(m::Fragile::inputs().xs([3, 1, 5])).err().unwrap();
        assert_operator_panic(&err, Time::from_millis(2000), "map", "division by zero");
        // The next batch runs normally.
        let out = run.run_batch(m::Fragile::inputs().xs([11])).unwrap();
        assert_eq!((out.time, out.inverted.to_vec()), (Time::from_millis(3000), vec![10]));
    }

    fn a_panic_in_a_shuffle_function_names_the_operator() {
        let mut run = TestRun::new(m::Fragile::new());
        let err = run.run_batch(m::Fragile::inputs().pairs([("a", 600), ("b", 1), ("a", 500)])).err().unwrap();
        assert_operator_panic(&err, Time::from_millis(1000), "reduce_by_key", "sum too large");
        let out = run.run_batch(m::Fragile::inputs().pairs([("a", 600), ("a", 400)])).unwrap();
        assert_eq!(out.sums.to_vec(), vec![("a", 1000)]);
    }

    fn a_panic_in_foreach_batch_fails_the_batch() {
        let mut run = TestRun::new(m::Fragile::new());
        let err = run.run_batch(m::Fragile::inputs().xs([99])).err().unwrap();
        assert_operator_panic(&err, Time::from_millis(1000), "foreach_batch", "99 refused");
        assert!(run.run_batch(m::Fragile::inputs().xs([2])).is_ok());
    }

    fn a_panic_outside_the_job_source_names_the_stage() {
        let mut run = TestRun::new(m::Fragile::new());
        let err = run.run_batch(m::Fragile::inputs().xs([4, -4])).err().unwrap();
        let BatchError::StagePanicked { time, operators, location, message, .. } = &err else {
            panic!("not a stage panic: {err}");
        };
        assert_eq!(*time, Time::from_millis(1000));
        assert_eq!(message, "negative input -4");
        assert!(location.starts_with(&format!("{}:", file!())), "{location}");
        assert!(operators.contains("map (line "), "{operators}");
        assert!(err.to_string().starts_with("batch 1000 ms failed in stage "), "{err}");
    }

    fn batch_times_must_increase_by_multiples_of_the_interval() {
        let mut job = m::Configured::new();
        let err = job.run_batch(Time::from_millis(3000), m::Configured::inputs()).err().unwrap();
        assert_eq!(err.to_string(), "batch time 3000 ms is not a positive multiple of the batch interval (2000 ms)");
        let err = job.run_batch(Time::ZERO, m::Configured::inputs()).err().unwrap();
        assert_eq!(err.to_string(), "batch time 0 ms is not a positive multiple of the batch interval (2000 ms)");
        assert!(job.run_batch(Time::from_millis(4000), m::Configured::inputs()).is_ok());
        let err = job.run_batch(Time::from_millis(2000), m::Configured::inputs()).err().unwrap();
        assert_eq!(err.to_string(), "batch time 2000 ms is not after the previous batch time 4000 ms");
        let err = job.run_batch(Time::from_millis(4000), m::Configured::inputs()).err().unwrap();
        assert_eq!(err.to_string(), "batch time 4000 ms is not after the previous batch time 4000 ms");
        // A skipped interval is fine.
        let out = job.run_batch(Time::from_millis(8000), m::Configured::inputs().words(["ab"])).unwrap();
        assert_eq!(out.lengths.to_vec(), vec![2]);
    }

    fn threads_and_partitions_do_not_change_results() {
        let words = ["to", "be", "or", "not", "to", "be", "that", "is", "the", "question"];
        let results = |job: m::Configured| {
            let out = run_one(job, m::Configured::inputs().words(words));
            (out.counts.sorted(), out.lengths.to_vec())
        };
        let job = m::Configured::with_config(JobConfig::new().threads(2).partitions(3)).unwrap();
        assert_eq!(job.config().thread_count(), Some(2));
        assert_eq!(job.config().partition_count(), 3);
        let configured = results(job);
        assert_eq!(configured, results(m::Configured::new()));
        assert_eq!(configured.0, vec![
            ("be", 2), ("is", 1), ("not", 1), ("or", 1), ("question", 1), ("that", 1), ("the", 1), ("to", 2),
        ]);
        assert_eq!(configured.1, vec![2, 2, 2, 3, 2, 2, 4, 2, 3, 8]);
        // Pinned threads: the same results.
        let pinned = m::Configured::with_config(JobConfig::new().threads(2).partitions(3).pin_threads()).unwrap();
        assert_eq!(results(pinned), configured);
    }

    fn zero_threads_or_partitions_are_refused() {
        let err = m::Configured::with_config(JobConfig::new().threads(0)).err().unwrap();
        assert_eq!(err.to_string(), "a job needs at least one thread (got threads(0))");
        let err = m::Configured::with_config(JobConfig::new().partitions(0)).err().unwrap();
        assert_eq!(err.to_string(), "a job needs at least one partition (got partitions(0))");
        let err = m::Configured::with_config(JobConfig::new().pin_threads()).err().unwrap();
        assert_eq!(err.to_string(), "pin_threads() binds the threads of the job's own pool: set threads(n) too");
    }
}
