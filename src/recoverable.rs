//! The recoverable word count: the job behind `examples/recoverable_word_count`
//! and the chaos test that kills it, so that both run the very same code.
//!
//! ```text
//! recoverable_word_count <input-dir> <output-prefix> <checkpoint-dir>
//!     [--interval-ms N] [--idle-batches N] [--checkpoint-every N]
//! ```
//!
//! Reads the text files moved into `<input-dir>` (or, given
//! `kafka://<brokers>/<topic>`, that topic's records from the earliest
//! offsets, as text lines); writes per batch the word
//! counts (`<output-prefix>-counts-<time>.txt/`), the running totals
//! (`<output-prefix>-totals-<time>.txt/`) and the counts over the last three
//! batches (`<output-prefix>-recent-<time>.txt/`); checkpoints in
//! `<checkpoint-dir>` and resumes from it when started again. Stops
//! gracefully on SIGINT or SIGTERM, or by itself after `--idle-batches N`
//! batches in a row with no input. Its state is saved every
//! `--checkpoint-every N` batches (default: Spark's, every 10 s).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use streamflow::Job;
use streamflow::live::kafka::{self, KafkaOptions, StartingOffsets};
use streamflow::live::sources::Input;
use streamflow::live::{StreamingContext, sinks, sources};

/// One `RecoverableWordCount` module per batch interval the example accepts:
/// the interval is compiled into a job (windows are checked against it).
macro_rules! recoverable_jobs {
    ($($module:ident: $interval:tt, $window:tt;)*) => {$(
        #[doc = concat!("The job at a batch interval of ", stringify!($interval), ".")]
        pub mod $module {
            use streamflow::prelude::*;

            stream_job! {
                /// Per-batch word counts, running totals, and counts over the
                /// last three batches.
                pub job RecoverableWordCount {
                    batch_interval = $interval;
                    input lines: String;
                    let pairs = lines
                        .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
                        .map(|word| (word, 1u64));
                    let counts = pairs.reduce_by_key(|a, b| a + b);
                    let totals = pairs.update_state_by_key(|new: &[u64], total: Option<u64>| {
                        Some(total.unwrap_or(0) + new.iter().sum::<u64>())
                    });
                    let recent = pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, $window, $interval);
                    output counts: (String, u64) = counts;
                    output totals: (String, u64) = totals;
                    output recent: (String, u64) = recent;
                }
            }
        }
    )*};
}

recoverable_jobs! {
    ms100: 100ms, 300ms;
    ms200: 200ms, 600ms;
    ms500: 500ms, 1500ms;
    s1: 1s, 3s;
    s2: 2s, 6s;
}

/// The command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// Where text files are moved in, or `kafka://<brokers>/<topic>`.
    pub input: PathBuf,
    /// The prefix of the output directories.
    pub output_prefix: String,
    /// The checkpoint directory.
    pub checkpoint: PathBuf,
    /// The batch interval.
    pub interval_ms: u64,
    /// Stop after this many batches in a row without input.
    pub idle_batches: Option<u64>,
    /// Save the state every this many batches.
    pub checkpoint_every: Option<u64>,
}

const USAGE: &str = "usage: recoverable_word_count <input-dir>|kafka://<brokers>/<topic> <output-prefix> <checkpoint-dir> \
                     [--interval-ms 100|200|500|1000|2000] [--idle-batches N] [--checkpoint-every N]";

impl Args {
    /// Parses the arguments after the program's name.
    pub fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Args, String> {
        use lexopt::prelude::*;
        let mut parser = lexopt::Parser::from_args(args);
        let mut positional = Vec::new();
        let mut interval_ms = 1000;
        let mut idle_batches = None;
        let mut checkpoint_every = None;
        let problem = |e: lexopt::Error| format!("{e}\n{USAGE}");
        while let Some(arg) = parser.next().map_err(problem)? {
            match arg {
                Long("interval-ms") => interval_ms = parser.value().map_err(problem)?.parse().map_err(problem)?,
                Long("idle-batches") => idle_batches = Some(parser.value().map_err(problem)?.parse().map_err(problem)?),
                Long("checkpoint-every") => {
                    checkpoint_every = Some(parser.value().map_err(problem)?.parse().map_err(problem)?)
                }
                Long("help") | Short('h') => return Err(USAGE.to_owned()),
                Value(value) => positional.push(value),
                _ => return Err(problem(arg.unexpected())),
            }
        }
        let [input, prefix, checkpoint]: [std::ffi::OsString; 3] = positional
            .try_into()
            .map_err(|given: Vec<_>| format!("expected 3 arguments, got {}\n{USAGE}", given.len()))?;
        Ok(Args {
            input: input.into(),
            output_prefix: prefix.to_string_lossy().into_owned(),
            checkpoint: checkpoint.into(),
            interval_ms,
            idle_batches,
            checkpoint_every,
        })
    }
}

/// Runs the example with `args` until it is stopped; the process's exit code.
pub fn main_with(args: Args) -> ExitCode {
    let result = match args.interval_ms {
        100 => run(ms100::RecoverableWordCount::new(), &args),
        200 => run(ms200::RecoverableWordCount::new(), &args),
        500 => run(ms500::RecoverableWordCount::new(), &args),
        1000 => run(s1::RecoverableWordCount::new(), &args),
        2000 => run(s2::RecoverableWordCount::new(), &args),
        other => Err(format!(
            "--interval-ms {other}: the batch interval is compiled into the job; this example has 100, 200, 500, 1000 \
             and 2000"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("recoverable_word_count: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The input `--input` names: a directory, or `kafka://<brokers>/<topic>`.
fn input(args: &Args) -> Input<String> {
    let kafka_topic = args
        .input
        .to_str()
        .and_then(|s| s.strip_prefix("kafka://"))
        .and_then(|s| s.split_once('/'));
    match kafka_topic {
        Some((brokers, topic)) => kafka::kafka_text_stream(
            brokers,
            [topic],
            KafkaOptions::new().starting_offsets(StartingOffsets::Earliest),
        ),
        None => sources::text_file_stream(&args.input),
    }
}

fn run<J: Job + 'static>(job: J, args: &Args) -> Result<(), String> {
    let prefix = &args.output_prefix;
    let interval = Duration::from_millis(args.interval_ms);
    let handle = StreamingContext::get_or_create(&args.checkpoint, || {
        let context = StreamingContext::new(job);
        let context = match args.checkpoint_every {
            Some(n) => context.checkpoint_interval(interval * n.max(1) as u32),
            None => context,
        };
        context
            .input("lines", input(args))?
            .output::<(String, u64)>("counts", sinks::save_as_text_files(format!("{prefix}-counts"), "txt"))?
            .output::<(String, u64)>("totals", sinks::save_as_text_files(format!("{prefix}-totals"), "txt"))?
            .output::<(String, u64)>("recent", sinks::save_as_text_files(format!("{prefix}-recent"), "txt"))
    })
    .map_err(|e| e.to_string())?
    .stop_gracefully_on_signals()
    .start()
    .map_err(|e| e.to_string())?;
    match handle.recovery() {
        Some(r) => eprintln!(
            "recovered from {}: state of batch {}, {} recorded batches run again{}",
            r.dir.display(),
            r.state_time.map_or_else(|| "(none)".to_owned(), |t| t.to_string()),
            r.batches.len(),
            if r.passed_over.is_empty() {
                String::new()
            } else {
                format!("; passed over: {}", r.passed_over.join("; "))
            }
        ),
        None => eprintln!("started fresh in {}", args.checkpoint.display()),
    }
    while !handle.is_terminated() {
        std::thread::sleep(interval / 4);
        if let Some(idle) = args.idle_batches {
            let batches = handle.batches();
            let quiet = batches.iter().rev().take_while(|b| b.records() == 0).count() as u64;
            if quiet >= idle {
                eprintln!("{idle} batches without input: stopping");
                handle.stop(true).map_err(|e| e.to_string())?;
            }
        }
    }
    handle.await_termination().map_err(|e| e.to_string())?;
    eprintln!("stopped after {} batches", handle.batches_completed());
    Ok(())
}
