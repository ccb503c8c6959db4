//! Receiver sources on a cluster: a socket word count on 1, 2 and 3
//! processes. The socket's receiver runs on process 0 only; every batch it
//! delivers is spread over the job's partitions and sent to their owners.
//! Each run reads its own paced line server
//! (`streamflow_workspace::paced_line_server`), which the test stops after
//! a number of lines; the processes stop after idle batches. The word totals
//! summed over the processes' outputs must equal the totals of exactly the
//! lines the server sent, and processes other than 0 must have counted
//! words (their partitions came through the exchange).
//!
//! The same word count over a Kafka topic of 3 partitions (a tansu broker,
//! `streamflow_workspace::broker`), filled before the runs: on a cluster
//! each process reads only the topic partitions it owns, and the totals
//! must be those of the lines produced, each counted once.
//!
//! (Checkpoints of both on a cluster: tests/cluster_source_recovery.rs.)
//!
//! First: a custom receiver's blocks (of 1 to 30 lines) on a `partitions =
//! keep` port, on 1, 2 and 3 processes: over all processes, every block must
//! be one partition of the batch, as in one process, and every process must
//! have owned some.
//!
//! The processes are this very binary (`cluster_sources --child ...`);
//! hence no test harness.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streamflow::StreamingContext;
use streamflow::cluster::{ClusterConfig, Mesh};
use streamflow::live::kafka::{self, KafkaOptions, StartingOffsets};
use streamflow::live::sinks::{Sink, SinkError};
use streamflow::live::{Receiver, ReceiverContext, ReceiverError, sources};
use streamflow::prelude::*;
use streamflow::{Batch, JobConfig, Time};
use streamflow_workspace::{free_addresses, paced_word_totals};

/// The same partition count on every process.
const PARTITIONS: usize = 4;
/// Lines per second the server sends.
const RATE: u64 = 20_000;
/// The server is stopped once it has sent at least this many lines.
const LINES: u64 = 30_000;
/// Lines produced to the Kafka topic before its runs.
const KAFKA_LINES: u64 = 6_000;
/// How long one run may take.
const RUN_LIMIT: Duration = Duration::from_secs(120);

stream_job! {
    /// Words counted per batch.
    pub job SocketWords {
        batch_interval = 250ms;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
    }
}

/// Tallies every batch's elements (`add` gives each one's key and count) on
/// every process over its own partitions: it writes in place, as a file
/// sink does (a `sinks::foreach` would run on process 0 only, over the whole
/// batch), so each process's tallies show what reached it through the
/// exchange.
struct Tally<T, K> {
    tallies: Arc<Mutex<BTreeMap<K, u64>>>,
    add: fn(&T) -> (K, u64),
}

impl<T: Send + 'static, K: Ord + Send + 'static> Sink<T> for Tally<T, K> {
    fn name(&self) -> String {
        "tally".to_owned()
    }

    fn write(&mut self, _time: Time, batch: &Batch<T>) -> Result<(), SinkError> {
        let mut tallies = self.tallies.lock().unwrap();
        for element in batch.iter() {
            let (key, count) = (self.add)(element);
            *tallies.entry(key).or_default() += count;
        }
        Ok(())
    }

    fn writes_in_place(&self) -> bool {
        true
    }
}

/// Runs a child's job until 8 batches in a row have no input, then closes
/// its mesh.
fn run_until_idle<J: Job + 'static>(context: StreamingContext<J>, mesh: Option<Arc<Mesh>>) -> Result<(), String> {
    let handle = context.stop_after_idle_batches(8).start().map_err(|e| e.to_string())?;
    let result = handle.await_termination().map_err(|e| e.to_string());
    drop(handle);
    if let Some(mesh) = mesh {
        Mesh::close(mesh, Duration::from_secs(30));
    }
    result
}

stream_job! {
    /// The size of every partition of a batch kept as it arrives.
    pub job KeptBlocks {
        batch_interval = 250ms;
        input lines: String, partitions = keep;
        output sizes: u64 = lines.map_partitions(|part| if part.is_empty() { Vec::new() } else { vec![part.len() as u64] });
    }
}

/// Blocks the receiver of the `keep` runs stores: block `i` holds `i` lines.
const BLOCKS: u64 = 30;

/// A receiver that stores blocks of 1, 2, ..., [`BLOCKS`] lines, one
/// `store_reliably` each (one block each), 30 ms apart.
struct Blocks;

impl Receiver for Blocks {
    type Item = String;

    fn on_start(&mut self, ctx: &ReceiverContext<String>) -> Result<(), ReceiverError> {
        for i in 1..=BLOCKS {
            if ctx.is_stopped() || ctx.store_reliably((0..i).map(|j| format!("{i}.{j}"))).is_err() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        while !ctx.is_stopped() {
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}

/// The job's configuration in a child: on the cluster of `addresses` as
/// process `process`, or alone when `addresses` is `-`; and its mesh.
fn job_config(process: &str, addresses: &str) -> Result<(JobConfig, Option<Arc<Mesh>>), String> {
    let config = JobConfig::new().partitions(PARTITIONS);
    if addresses == "-" {
        return Ok((config, None));
    }
    let process: usize = process.parse().map_err(|e| format!("process: {e}"))?;
    let cluster =
        ClusterConfig::new(process, addresses.split(',').map(String::from).collect()).map_err(|e| e.to_string())?;
    let mesh = Mesh::connect(&cluster, RUN_LIMIT).map_err(|e| e.to_string())?;
    Ok((config.cluster(mesh.clone()), Some(mesh)))
}

/// `--child <process> <addresses or -> keep`: the sizes of the partitions of
/// a `partitions = keep` port fed by [`Blocks`], until 8 batches in a row
/// have no input; prints `total size<n> <partitions of n lines>`.
fn child_keep(process: &str, addresses: &str) -> Result<(), String> {
    let (config, mesh) = job_config(process, addresses)?;
    let sizes: Arc<Mutex<BTreeMap<u64, u64>>> = Arc::default();
    let tally = Tally {
        tallies: sizes.clone(),
        add: |size: &u64| (*size, 1),
    };
    let job = KeptBlocks::with_config(config).map_err(|e| e.to_string())?;
    let context = StreamingContext::new(job)
        .input("lines", sources::receiver_stream(Blocks))
        .and_then(|c| c.output::<u64>("sizes", tally))
        .map_err(|e| e.to_string())?;
    run_until_idle(context, mesh)?;
    for (size, partitions) in sizes.lock().unwrap().iter() {
        println!("total size{size} {partitions}");
    }
    Ok(())
}

/// `--child <process> <addresses or -> socket:<port>|kafka:<brokers>`: runs
/// the word count over the socket at 127.0.0.1:`port` (or the Kafka topic
/// `words`, from its earliest offsets) until 8 batches in a row have no
/// input, then prints `total <word> <count>` for every word it output.
fn child(args: &[String]) -> Result<(), String> {
    let [process, addresses, source] = args else {
        return Err("usage: cluster_sources --child <process> <addresses|-> socket:<port>|kafka:<brokers>|keep".into());
    };
    if source == "keep" {
        return child_keep(process, addresses);
    }
    let input = match source.split_once(':') {
        Some(("socket", port)) => {
            sources::socket_text_stream("127.0.0.1", port.parse().map_err(|e| format!("port: {e}"))?)
        }
        Some(("kafka", brokers)) => kafka::kafka_text_stream(
            brokers,
            [TOPIC],
            KafkaOptions::new().starting_offsets(StartingOffsets::Earliest),
        ),
        _ => return Err(format!("unknown source {source}")),
    };
    let (config, mesh) = job_config(process, addresses)?;
    let totals: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let tally = Tally {
        tallies: totals.clone(),
        add: |(word, count): &(String, u64)| (word.clone(), *count),
    };
    let job = SocketWords::with_config(config).map_err(|e| e.to_string())?;
    let context = StreamingContext::new(job)
        .input("lines", input)
        .and_then(|c| c.output::<(String, u64)>("counts", tally))
        .map_err(|e| e.to_string())?;
    run_until_idle(context, mesh)?;
    for (word, count) in totals.lock().unwrap().iter() {
        println!("total {word} {count}");
    }
    Ok(())
}

/// What one run gave: the lines sent, the totals summed over the processes,
/// and the distinct words each process output.
struct Ran {
    sent: u64,
    totals: BTreeMap<String, u64>,
    per_process: Vec<usize>,
}

/// One run on `n` processes (1: no cluster) over a socket.
fn run(n: usize) -> Result<Ran, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let port = streamflow_workspace::paced_line_server(RATE, stop.clone(), sent.clone());
    run_on(n, &format!("socket:{port}"), || {
        let deadline = Instant::now() + RUN_LIMIT;
        while sent.load(Ordering::Relaxed) < LINES && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::Relaxed);
    })
    .map(|(totals, per_process)| Ran {
        sent: sent.load(Ordering::Relaxed),
        totals,
        per_process,
    })
}

/// The topic of the Kafka runs, and its partition count.
const TOPIC: &str = "words";
const TOPIC_PARTITIONS: i32 = 3;

/// One run on `n` processes (1: no cluster) over a Kafka topic already
/// holding `lines` lines.
fn run_kafka(n: usize, brokers: &str, lines: u64) -> Result<Ran, String> {
    run_on(n, &format!("kafka:{brokers}"), || {}).map(|(totals, per_process)| Ran {
        sent: lines,
        totals,
        per_process,
    })
}

/// Runs `n` processes reading `source`; `feed` runs once they are started.
/// The summed totals, and the distinct words each process output.
fn run_on(n: usize, source: &str, feed: impl FnOnce()) -> Result<(BTreeMap<String, u64>, Vec<usize>), String> {
    let addresses = if n == 1 {
        "-".to_owned()
    } else {
        free_addresses(n).join(",")
    };
    let exe = std::env::current_exe().expect("the test binary");
    let mut children: Vec<Child> = (0..n)
        .map(|p| {
            Command::new(&exe)
                .args(["--child", &p.to_string(), &addresses, source])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn a process")
        })
        .collect();
    feed();
    let mut totals = BTreeMap::new();
    let mut per_process = Vec::new();
    let mut failures = Vec::new();
    for (p, child) in children.iter_mut().enumerate() {
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let err = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
            text
        });
        let mut words = 0;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let mut fields = line.split(' ');
            if let (Some("total"), Some(word), Some(count)) = (fields.next(), fields.next(), fields.next()) {
                *totals.entry(word.to_owned()).or_insert(0u64) += count.parse::<u64>().expect("a count");
                words += 1;
            }
        }
        let status = child.wait().expect("wait for a process");
        let stderr = err.join().unwrap_or_default();
        if !status.success() || stderr.contains("panicked") {
            failures.push(format!("process {p} of {n} failed ({status}):\n{stderr}"));
        }
        per_process.push(words);
    }
    if !failures.is_empty() {
        return Err(failures.join("\n"));
    }
    Ok((totals, per_process))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--child") {
        return match child(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cluster_sources process failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut failures = Vec::new();
    // A receiver's blocks on a `partitions = keep` port: every process
    // together sees each block as one partition, as one process does.
    let blocks: BTreeMap<String, u64> = (1..=BLOCKS).map(|i| (format!("size{i}"), 1)).collect();
    for n in [1, 2, 3] {
        match run_on(n, "keep", || {}) {
            Err(e) => failures.push(e),
            Ok((sizes, per_process)) if sizes != blocks => failures.push(format!(
                "keep, {n} processes: partitions of {sizes:?} lines instead of one per block ({BLOCKS} blocks of 1 to \
                 {BLOCKS} lines; per process: {per_process:?})"
            )),
            Ok((_, per_process)) if per_process.contains(&0) => failures.push(format!(
                "keep, {n} processes: some process had no block: {per_process:?}"
            )),
            Ok((_, per_process)) => println!(
                "keep, {n} processes: each of the {BLOCKS} blocks one partition (block sizes seen per process: \
                 {per_process:?})"
            ),
        }
    }
    let mut runs: Vec<(String, usize, Result<Ran, String>)> = Vec::new();
    for n in [1, 2, 3] {
        runs.push(("socket".into(), n, run(n)));
    }
    // Kafka: each process reads the topic's partitions it owns.
    let broker = streamflow_workspace::broker::Broker::start();
    match &broker {
        Err(e) => failures.push(e.clone()),
        Ok(broker) => {
            let brokers = broker.brokers();
            let lines = streamflow_workspace::generated_lines(10 * 10_000, 1_000);
            let lines: Vec<(Option<String>, String)> = lines
                .into_iter()
                .take(KAFKA_LINES as usize)
                .map(|l| (None, l))
                .collect();
            let produced = kafka::create_topic(&brokers, TOPIC, TOPIC_PARTITIONS)
                .and_then(|()| kafka::produce(&brokers, TOPIC, lines));
            match produced {
                Err(e) => failures.push(format!("cannot fill the topic: {e}")),
                Ok(_) => {
                    for n in [1, 2, 3] {
                        runs.push(("kafka".into(), n, run_kafka(n, &brokers, KAFKA_LINES)));
                    }
                }
            }
        }
    }
    for (source, n, ran) in runs {
        match ran {
            Err(e) => failures.push(e),
            Ok(Ran {
                sent,
                totals,
                per_process,
            }) => {
                let want = paced_word_totals(sent);
                let words: u64 = totals.values().sum();
                if totals != want {
                    failures.push(format!(
                        "{source}, {n} processes: the totals of {words} words differ from the {} words of the {sent} lines sent",
                        want.values().sum::<u64>()
                    ));
                } else if per_process.contains(&0) {
                    failures.push(format!(
                        "{source}, {n} processes: some process output no word: {per_process:?}"
                    ));
                } else {
                    println!(
                        "{source}, {n} processes: {sent} lines, {words} words, the totals of the lines sent (distinct words output per process: {per_process:?})"
                    );
                }
            }
        }
    }
    if failures.is_empty() {
        println!("test result: ok. cluster_sources");
        ExitCode::SUCCESS
    } else {
        for failure in &failures {
            eprintln!("FAILED: {failure}");
        }
        ExitCode::FAILURE
    }
}
