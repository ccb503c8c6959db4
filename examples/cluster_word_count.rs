//! Counts the words of the text files of a directory on a cluster of
//! processes (timely dataflow's mesh), every second, writing each batch's
//! counts as text files (needs the `cluster` feature).
//!
//! ```text
//! cluster_word_count <input-dir> <output-prefix> [--hosts FILE --process I]
//!                    [--idle-batches N] [--partitions N]
//! ```
//!
//! Two processes on one machine (README, "Running on a cluster"):
//!
//! ```text
//! printf '127.0.0.1:2101\n127.0.0.1:2102\n' > /tmp/hosts
//! mkdir -p /tmp/words /tmp/counts && echo "to be or not to be" > /tmp/words/a.txt
//! cargo build --features cluster --example cluster_word_count
//! target/debug/examples/cluster_word_count /tmp/words /tmp/counts/wc --hosts /tmp/hosts --process 0 --idle-batches 3 &
//! target/debug/examples/cluster_word_count /tmp/words /tmp/counts/wc --hosts /tmp/hosts --process 1 --idle-batches 3
//! ```
//!
//! Every process lists the directory and reads its share of the files (by a
//! hash of the name), including those there at start; each writes the
//! `part-NNNNN` files of the partitions it owns into `<output-prefix>-<ms>/`,
//! and process 0 adds `_SUCCESS` once all parts are there. Each partition's
//! counts are sorted by word, so a batch's files do not depend on how its
//! input was split between processes. Without `--hosts` it runs alone. With
//! `--idle-batches N` every process stops after N batches in a row with no
//! new input on any process; without it, Ctrl-C or SIGTERM stops it.

use lexopt::prelude::*;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use streamflow::JobConfig;
use streamflow::StreamingContext;
use streamflow::cluster::{ClusterConfig, Mesh};
use streamflow::live::{sinks, sources};
use streamflow::prelude::*;

stream_job! {
    /// Counts the words of every batch, each partition sorted by word.
    pub job ClusterWordCount {
        batch_interval = 1s;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b)
            .map_partitions(|mut part| {
                part.sort_unstable();
                part
            });
    }
}

const USAGE: &str = "usage: cluster_word_count <input-dir> <output-prefix> [--hosts FILE --process I] \
                     [--idle-batches N] [--partitions N]";

/// How long a process waits for the others to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// The command line.
#[derive(Debug)]
pub struct Args {
    input: PathBuf,
    output_prefix: String,
    /// The hosts file (one `host:port` a line, in process order) and this
    /// process's index in it.
    cluster: Option<(PathBuf, usize)>,
    idle_batches: Option<u32>,
    partitions: usize,
}

impl Args {
    /// Parses the arguments after the program's name.
    pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Args, String> {
        let mut parser = lexopt::Parser::from_args(args);
        let problem = |e: lexopt::Error| format!("{e}\n{USAGE}");
        let (mut positional, mut hosts, mut process) = (Vec::new(), None, None);
        let (mut idle_batches, mut partitions) = (None, 4);
        while let Some(arg) = parser.next().map_err(problem)? {
            match arg {
                Long("hosts") => hosts = Some(PathBuf::from(parser.value().map_err(problem)?)),
                Long("process") => process = Some(parser.value().map_err(problem)?.parse().map_err(problem)?),
                Long("idle-batches") => idle_batches = Some(parser.value().map_err(problem)?.parse().map_err(problem)?),
                Long("partitions") => partitions = parser.value().map_err(problem)?.parse().map_err(problem)?,
                Long("help") | Short('h') => return Err(USAGE.to_owned()),
                Value(value) => positional.push(value),
                _ => return Err(problem(arg.unexpected())),
            }
        }
        let [input, prefix]: [OsString; 2] = positional
            .try_into()
            .map_err(|given: Vec<_>| format!("expected 2 arguments, got {}\n{USAGE}", given.len()))?;
        let cluster = match (hosts, process) {
            (Some(hosts), Some(process)) => Some((hosts, process)),
            (None, None) => None,
            _ => return Err(format!("--hosts and --process go together\n{USAGE}")),
        };
        Ok(Args {
            input: input.into(),
            output_prefix: prefix.to_string_lossy().into_owned(),
            cluster,
            idle_batches,
            partitions,
        })
    }
}

/// Runs the job until it stops (idle batches, or a signal).
pub fn run(args: Args) -> Result<(), String> {
    let mut config = JobConfig::new().partitions(args.partitions);
    // Closed at the end (`Mesh::close`): that waits until every process is
    // done, so no process leaves while another still needs the mesh.
    let mut mesh = None;
    if let Some((hosts, process)) = &args.cluster {
        let cluster = ClusterConfig::from_hosts_file(hosts, *process).map_err(|e| e.to_string())?;
        let connected = Mesh::connect(&cluster, CONNECT_TIMEOUT).map_err(|e| e.to_string())?;
        config = config.cluster(connected.clone());
        mesh = Some(connected);
    }
    let job = ClusterWordCount::with_config(config).map_err(|e| e.to_string())?;
    let context = StreamingContext::new(job)
        .input("lines", sources::text_file_stream_with_existing(&args.input))
        .and_then(|c| c.output::<(String, u64)>("counts", sinks::save_as_text_files(&args.output_prefix, "")))
        .map_err(|e| e.to_string())?;
    let context = match args.idle_batches {
        Some(batches) => context.stop_after_idle_batches(batches),
        // Ctrl-C or SIGTERM: drain, write, exit 0.
        None => context.stop_gracefully_on_signals(),
    };
    let handle = context.start().map_err(|e| e.to_string())?;
    let result = handle.await_termination().map_err(|e| e.to_string());
    if let Some(mesh) = mesh
        && !Mesh::close(mesh, Duration::from_secs(10))
    {
        eprintln!("the job's threads still held the mesh after 10 s; closed it anyway");
    }
    result
}

fn main() -> ExitCode {
    match Args::parse(std::env::args_os().skip(1)).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
