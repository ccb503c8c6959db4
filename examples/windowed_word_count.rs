//! Word counts over the last 30 seconds, every 10 seconds, computed
//! incrementally with an inverse function (Spark's `WindowedNetworkWordCount`
//! / `reduceByKeyAndWindow(_ + _, _ - _, Seconds(30), Seconds(10))`).
//!
//! The embedded text is fed as one batch of two lines per second for 60
//! seconds of stream time, then the input goes quiet: the window keeps
//! emitting, and the counts fall back to nothing as the last batches slide out.
//!
//! ```text
//! cargo run --example windowed_word_count
//! ```

use std::process::ExitCode;
use streamflow::prelude::*;

stream_job! {
    /// Word counts over the last 30 s, every 10 s.
    pub job WindowedWordCount {
        batch_interval = 1s;
        input lines: String;
        let counts = lines
            .flat_map(|line| line.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 30s, 10s, 4, |pair: &(String, u64)| pair.1 > 0);
        counts.print();
    }
}

/// Seconds of stream time with input, then seconds of silence.
const ACTIVE_SECONDS: usize = 60;
const QUIET_SECONDS: usize = 40;

fn main() -> ExitCode {
    let lines: Vec<&str> = streamflow_workspace::SAMPLE_TEXT.lines().collect();
    println!("{}", WindowedWordCount::explain());
    let mut job = WindowedWordCount::new();
    for second in 0..ACTIVE_SECONDS + QUIET_SECONDS {
        let batch: Vec<&str> = if second < ACTIVE_SECONDS {
            let first = (second * 2) % lines.len();
            vec![lines[first], lines[(first + 1) % lines.len()]]
        } else {
            Vec::new()
        };
        let time = Time::from_secs(second as u64 + 1);
        if let Err(e) = job.run_batch(time, WindowedWordCount::inputs().lines(batch)) {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
