//! Word count over an embedded text: the text is cut into batches of lines,
//! one batch per second of (simulated) stream time, and every batch's counts
//! are printed in Spark's format.
//!
//! ```text
//! cargo run --example word_count              # the embedded text
//! cargo run --example word_count -- FILE      # a text file of your own
//! ```

use std::process::ExitCode;
use streamflow::prelude::*;

stream_job! {
    /// Counts the words of every batch of lines.
    pub job WordCount {
        batch_interval = 1s;
        input lines: String;
        let counts = lines
            .flat_map(|line| line.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
        counts.print();
    }
}

/// Lines per batch: the embedded text becomes four batches.
const LINES_PER_BATCH: usize = 2;

fn main() -> ExitCode {
    let text = match std::env::args().nth(1) {
        Some(path) => match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("cannot read {path}: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => streamflow_workspace::SAMPLE_TEXT.to_owned(),
    };
    println!("{}", WordCount::explain());
    let lines: Vec<&str> = text.lines().collect();
    let mut job = WordCount::new();
    for (k, batch) in lines.chunks(LINES_PER_BATCH).enumerate() {
        let time = Time::from_secs(k as u64 + 1);
        if let Err(e) = job.run_batch(time, WordCount::inputs().lines(batch.iter().copied())) {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
