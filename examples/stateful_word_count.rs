//! Running word totals across batches with `update_state_by_key` (Spark's
//! `StatefulNetworkWordCount`), starting from an initial state.
//!
//! ```text
//! cargo run --example stateful_word_count
//! ```

use std::process::ExitCode;
use streamflow::prelude::*;

stream_job! {
    /// The total count of every word seen so far.
    pub job StatefulWordCount {
        batch_interval = 1s;
        input lines: String;
        let totals = lines
            .flat_map(|line| line.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .update_state_by_key(
                |new: &[u64], total: Option<u64>| Some(total.unwrap_or(0) + new.iter().sum::<u64>()),
                [("hello".to_owned(), 1u64), ("world".to_owned(), 1u64)],
            );
        totals.print(20);
    }
}

fn main() -> ExitCode {
    println!("{}", StatefulWordCount::explain());
    let mut job = StatefulWordCount::new();
    for (k, batch) in streamflow_workspace::SAMPLE_TEXT
        .lines()
        .collect::<Vec<_>>()
        .chunks(2)
        .enumerate()
    {
        let time = Time::from_secs(k as u64 + 1);
        if let Err(e) = job.run_batch(time, StatefulWordCount::inputs().lines(batch.iter().copied())) {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
