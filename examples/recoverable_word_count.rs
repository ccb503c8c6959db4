//! A word count that survives being killed: checkpoints, recovery with
//! `get_or_create`, exactly-once output files. Run it, move text files into
//! the input directory, kill it (`kill -9`), start it again: it resumes.
//!
//! ```text
//! mkdir -p /tmp/in
//! cargo run --example recoverable_word_count -- /tmp/in /tmp/out/words /tmp/checkpoint --idle-batches 30
//! ```
//!
//! See `src/recoverable.rs` for the job and the outputs it writes.

use std::process::ExitCode;
use streamflow_workspace::recoverable::{Args, main_with};

fn main() -> ExitCode {
    match Args::parse(std::env::args_os().skip(1)) {
        Ok(args) => main_with(args),
        Err(usage) => {
            eprintln!("{usage}");
            ExitCode::from(2)
        }
    }
}
