//! Counts the words of the text files that appear in a directory, every two
//! seconds (Spark's `HdfsWordCount`, with the same argument).
//!
//! ```text
//! mkdir -p /tmp/words
//! cargo run --example text_file_word_count -- /tmp/words
//! # in another terminal: files must be moved in whole
//! echo "hello world hello" > /tmp/.f1 && mv /tmp/.f1 /tmp/words/f1.txt
//! ```
//!
//! Files already in the directory at start are ignored, as in Spark.

use std::process::ExitCode;
use streamflow::StreamingContext;
use streamflow::live::sources;
use streamflow::prelude::*;

stream_job! {
    /// Counts the words of the new files of every two seconds.
    pub job HdfsWordCount {
        batch_interval = 2s;
        input lines: String;
        let counts = lines
            .flat_map(|line| line.split(' ').filter(|w| !w.is_empty()).map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
        counts.print();
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [directory] = args.as_slice() else {
        eprintln!("Usage: text_file_word_count <directory>");
        eprintln!("  counts the words of the files moved into <directory> while it runs");
        return ExitCode::FAILURE;
    };
    let result = StreamingContext::new(HdfsWordCount::new())
        // Ctrl-C or SIGTERM: drain, write, exit 0 (a second one: at once).
        .stop_gracefully_on_signals()
        .input("lines", sources::text_file_stream(directory))
        .and_then(streamflow_workspace::start_live)
        .map_err(|e| e.to_string())
        .and_then(|handle| handle.await_termination().map_err(|e| e.to_string()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
