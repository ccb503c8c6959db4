//! Counts the words of the lines in Kafka topics, every second (Spark's
//! `DirectKafkaWordCount`, with the same arguments).
//!
//! ```text
//! cargo run --example kafka_word_count                          # embedded broker and text
//! cargo run --example kafka_word_count -- localhost:9092 lines  # runs until interrupted
//! ```
//!
//! Without arguments it starts the broker `scripts/kafka-broker.sh install`
//! installed (tansu, on a free loopback port), writes the embedded sample
//! text to a topic of two partitions, counts it from the earliest offsets,
//! and stops once two batches in a row read nothing. With arguments
//! (`<brokers> <topic>[,<topic>...]`) it reads what is produced after it
//! starts, commits its offsets to the consumer group `kafka-word-count`, and
//! runs until Ctrl-C.

use std::process::ExitCode;
use std::time::Duration;
use streamflow::StreamingContext;
use streamflow::live::kafka::{self, KafkaOptions, StartingOffsets};
use streamflow::prelude::*;
use streamflow_workspace::broker::Broker;

stream_job! {
    /// Counts the words of every second of lines.
    pub job KafkaWordCount {
        batch_interval = 1s;
        input lines: String;
        let counts = lines
            .flat_map(|line| line.split_whitespace())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
        counts.print();
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [] => demo(),
        [brokers, topics] => run(brokers, topics.split(',').map(str::to_owned).collect()),
        _ => {
            eprintln!("usage: kafka_word_count [<brokers> <topic>[,<topic>...]]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kafka_word_count: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The embedded broker and text: counts it, then stops.
fn demo() -> Result<(), String> {
    let broker = Broker::start()?;
    let brokers = broker.brokers();
    kafka::create_topic(&brokers, "lines", 2).map_err(|e| e.to_string())?;
    let lines = streamflow_workspace::SAMPLE_TEXT
        .lines()
        .map(|line| (None::<&str>, line));
    let written = kafka::produce(&brokers, "lines", lines).map_err(|e| e.to_string())?;
    eprintln!("wrote {written} lines to topic `lines` on the embedded broker at {brokers}");
    let options = KafkaOptions::new().starting_offsets(StartingOffsets::Earliest);
    let handle = StreamingContext::new(KafkaWordCount::new())
        .input("lines", kafka::kafka_text_stream(&brokers, ["lines"], options))
        .and_then(streamflow_workspace::start_live)
        .map_err(|e| e.to_string())?;
    // Done once every line was read and two batches in a row read nothing.
    while !handle.is_terminated() {
        std::thread::sleep(Duration::from_millis(200));
        let read = handle.input_stats("lines").map_or(0, |s| s.records);
        let batches = handle.batches();
        let quiet = batches.iter().rev().take_while(|b| b.records() == 0).count();
        if read >= written as u64 && quiet >= 2 {
            handle.stop(true).map_err(|e| e.to_string())?;
        }
    }
    handle.await_termination().map_err(|e| e.to_string())
}

/// Reads `topics` on `brokers` until interrupted.
fn run(brokers: &str, topics: Vec<String>) -> Result<(), String> {
    let options = KafkaOptions::new().group_id("kafka-word-count").commit_offsets(true);
    let handle = StreamingContext::new(KafkaWordCount::new())
        // Ctrl-C or SIGTERM: drain, write, exit 0 (a second one: at once).
        .stop_gracefully_on_signals()
        .input("lines", kafka::kafka_text_stream(brokers, topics, options))
        .and_then(streamflow_workspace::start_live)
        .map_err(|e| e.to_string())?;
    handle.await_termination().map_err(|e| e.to_string())
}
