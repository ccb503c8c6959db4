//! The word count on a cluster of 1, 2 and 4 processes on loopback
//! (127.0.0.1), against the same job in one process without a cluster:
//! milliseconds per batch and the bytes the exchange sends per record.
//!
//! ```text
//! cargo bench --features cluster --bench cluster            # 3 interleaved rounds
//! ROUNDS=5 cargo bench --features cluster --bench cluster
//! ```
//!
//! Every process runs the job on one thread (`JobConfig::threads(1)`), so 2
//! processes use 2 threads and 4 processes share this machine's 2 cores: the
//! table shows what the exchange costs, not a speed-up. Every process gets
//! the same batches (lines of 10 words from a vocabulary of 10 000) and
//! keeps its own partitions, as on a cluster whose source is split; a batch
//! ends when every process has run it (the exchange waits for all), so a
//! round's time is the slowest process's. Bytes are the encoded buckets sent
//! to other processes (postcard), without timely's framing; "per word" is
//! over every word of the input, "per pair" over the (word, count) pairs
//! actually sent (the map side combines per word before the exchange).
//! Rounds are interleaved (every setup once per round) so that noise on this
//! shared machine spreads over all of them.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamflow::cluster::{ClusterConfig, Mesh};
use streamflow::prelude::*;
use streamflow::testing::TestRun;
use streamflow_workspace::generated_lines;

const WORDS: usize = 200_000;
const VOCABULARY: usize = 10_000;
const BATCHES: usize = 10;
const PARTITIONS: usize = 8;

stream_job! {
    /// Words counted per batch.
    pub job Words {
        batch_interval = 1s;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
    }
}

/// One process's run: `RESULT <ns for the timed batches> <elements sent> <bytes sent>`.
fn child(process: Option<(usize, Vec<String>)>) {
    let mut config = JobConfig::new().threads(1).partitions(PARTITIONS);
    let mesh = process.map(|(p, addresses)| {
        let cluster = ClusterConfig::new(p, addresses).expect("a valid cluster");
        Mesh::connect(&cluster, Duration::from_secs(60)).expect("the cluster connects")
    });
    if let Some(mesh) = &mesh {
        config = config.cluster(Arc::clone(mesh));
    }
    let lines = generated_lines(WORDS, VOCABULARY);
    let mut run = TestRun::new(Words::with_config(config).expect("a valid config"));
    // One batch first: connections warm, tables sized.
    run.run_batch(Words::inputs().lines(lines.clone())).expect("a batch");
    let before = mesh.as_ref().map(|m| m.sent()).unwrap_or_default();
    let inputs: Vec<Vec<String>> = (0..BATCHES).map(|_| lines.clone()).collect();
    let start = Instant::now();
    for batch in inputs {
        run.run_batch(Words::inputs().lines(batch)).expect("a batch");
    }
    let elapsed = start.elapsed();
    let after = mesh.as_ref().map(|m| m.sent()).unwrap_or_default();
    println!(
        "RESULT {} {} {}",
        elapsed.as_nanos(),
        after.elements - before.elements,
        after.bytes - before.bytes
    );
    drop(run);
    drop(mesh);
}

/// What one setup measured in one round.
#[derive(Clone, Copy)]
struct Round {
    ms_per_batch: f64,
    elements: u64,
    bytes: u64,
}

/// Runs `processes` processes of this binary (`None`: one, without a cluster).
fn run_setup(processes: Option<usize>) -> Round {
    let exe = std::env::current_exe().expect("the bench binary");
    let n = processes.unwrap_or(1);
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("a port"))
        .collect();
    let addresses: Vec<String> = listeners
        .iter()
        .map(|l| format!("127.0.0.1:{}", l.local_addr().expect("bound").port()))
        .collect();
    drop(listeners);
    let children: Vec<_> = (0..n)
        .map(|p| {
            let mut command = Command::new(&exe);
            command.arg("--child");
            if processes.is_some() {
                command.arg(p.to_string()).arg(addresses.join(","));
            }
            command.stdout(Stdio::piped()).spawn().expect("spawn a process")
        })
        .collect();
    let mut round = Round {
        ms_per_batch: 0.0,
        elements: 0,
        bytes: 0,
    };
    for child in children {
        let output = child.wait_with_output().expect("a process's output");
        assert!(output.status.success(), "a bench process failed");
        let text = String::from_utf8_lossy(&output.stdout);
        let line = text.lines().find(|l| l.starts_with("RESULT ")).expect("a RESULT line");
        let fields: Vec<u64> = line.split(' ').skip(1).map(|f| f.parse().expect("a number")).collect();
        let ms = fields[0] as f64 / 1e6 / BATCHES as f64;
        round.ms_per_batch = round.ms_per_batch.max(ms);
        round.elements += fields[1];
        round.bytes += fields[2];
    }
    round
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--child") {
        let process = args.get(1).map(|p| {
            let addresses = args.get(2).expect("addresses").split(',').map(String::from).collect();
            (p.parse().expect("a process index"), addresses)
        });
        child(process);
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let setups: [(&str, Option<usize>); 4] = [
        ("1 process, no cluster", None),
        ("1 process on the mesh", Some(1)),
        ("2 processes", Some(2)),
        ("4 processes", Some(4)),
    ];
    let mut results: Vec<Vec<Round>> = vec![Vec::new(); setups.len()];
    for round in 0..rounds {
        for k in 0..setups.len() {
            let i = (k + round) % setups.len();
            results[i].push(run_setup(setups[i].1));
        }
    }
    println!(
        "word count, {WORDS} words per batch ({VOCABULARY} distinct), {PARTITIONS} partitions, 1 thread per process, {BATCHES} batches x {rounds} rounds"
    );
    println!(
        "{:<24} {:>12} {:>12} {:>12} {:>14} {:>14}",
        "setup", "ms/batch", "fastest", "slowest", "bytes/word", "bytes/pair"
    );
    for ((name, _), rounds) in setups.iter().zip(&results) {
        let mut ms: Vec<f64> = rounds.iter().map(|r| r.ms_per_batch).collect();
        ms.sort_by(f64::total_cmp);
        let median = ms[ms.len() / 2];
        let last = rounds.last().copied().expect("a round");
        let words = (WORDS * BATCHES) as f64;
        let per_pair = if last.elements == 0 {
            0.0
        } else {
            last.bytes as f64 / last.elements as f64
        };
        println!(
            "{:<24} {:>12.1} {:>12.1} {:>12.1} {:>14.2} {:>14.2}",
            name,
            median,
            ms[0],
            ms[ms.len() - 1],
            last.bytes as f64 / words,
            per_pair
        );
    }
}
