//! Checkpoints of a Kafka stream and of a receiver on a cluster.
//!
//! A word count runs on 2 processes with a checkpoint and saves each batch
//! with `save_as_text_files`:
//! - over a Kafka topic of 3 partitions (a tansu broker,
//!   `streamflow_workspace::broker`), each process reading the topic
//!   partitions it owns at a capped rate;
//! - over a custom reliable receiver (on process 0 only, with its
//!   write-ahead log in the shared checkpoint directory), which stores the
//!   chunks of lines the test hands it (`chunk <k>` on process 0's stdin)
//!   and acknowledges each once stored (`acked <k>`).
//!
//! Process 1 is SIGKILLed mid-stream; process 0 must stop with a clear
//! error. More lines come while the job is down (produced to the topic) or
//! after the restart (handed to the receiver). The checkpoint is then
//! restored on 2, 3 and 1 processes (each from its own copy of the
//! checkpoint and of the outputs): the batches recorded but not completed
//! run again (Kafka: the offset ranges every process recorded, each range
//! read by its partition's new owner; a receiver: process 0's blocks, from
//! its log), then the job reads on.
//!
//! Each restored run's output directories, the killed run's included, must
//! all be complete (`_SUCCESS`); the per-batch word counts summed over them
//! must be exactly those of the lines produced (acknowledged), and so must
//! the last batch's running totals (`update_state_by_key`): a record lost or
//! counted twice changes them, also in a batch run again only for its state.
//!
//! The processes are this very binary (`cluster_source_recovery --child
//! ...`); hence no test harness.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use streamflow::cluster::{ClusterConfig, Mesh};
use streamflow::live::kafka::{self, KafkaOptions, StartingOffsets};
use streamflow::live::{Receiver, ReceiverContext, ReceiverError, sinks, sources};
use streamflow::prelude::*;
use streamflow::{JobConfig, StreamingContext};
use streamflow_workspace::free_addresses;

stream_job! {
    /// Words counted per batch, and every word's running total (state that
    /// a record read twice, or not at all, would change for good); one
    /// `word count` line each.
    pub job Words {
        batch_interval = 200ms;
        input lines: String;
        let pairs = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64));
        output counts: String = pairs
            .reduce_by_key(|a, b| a + b)
            .map(|(word, count)| format!("{word} {count}"));
        output totals: String = pairs
            .update_state_by_key(|new: &[u64], old: Option<u64>| Some(old.unwrap_or(0) + new.iter().sum::<u64>()))
            .map(|(word, count)| format!("{word} {count}"));
    }
}

const TOPIC: &str = "words";
const TOPIC_PARTITIONS: i32 = 3;
/// Kafka: lines produced before the first run, and while the job is down.
const FIRST_LINES: usize = 6_000;
const LATER_LINES: usize = 2_000;
/// Records per second each topic partition is read at: 120 per partition
/// and batch, so the first lines take about 17 batches.
const RATE_PER_PARTITION: f64 = 600.0;
/// The receiver: lines per chunk, and chunks handed to each restored run.
const CHUNK_LINES: usize = 20;
const LATER_CHUNKS: usize = 20;
/// The most chunks the killed run may be handed.
const MAX_CHUNKS: usize = 400;
/// The killed run is killed once this many batches are complete: after the
/// snapshot of batch 5 (one every 5 batches), so that batches 6 and 7 (and
/// any running) run again, rebuilding the state from their recorded
/// positions.
const KILL_AFTER: usize = 7;
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);
/// How long one run may take.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Every line either scenario may read, in order.
fn all_lines() -> Vec<String> {
    streamflow_workspace::generated_lines(10 * (FIRST_LINES + LATER_LINES).max(MAX_CHUNKS * CHUNK_LINES), 1_000)
}

/// Chunk `k`'s lines (`k` from 1).
fn chunk(lines: &[String], k: usize) -> &[String] {
    &lines[(k - 1) * CHUNK_LINES..k * CHUNK_LINES]
}

/// A reliable receiver: stores each chunk named on stdin with
/// `store_reliably`, then prints `acked <k>`.
struct Chunks {
    lines: Vec<String>,
    commands: Option<mpsc::Receiver<usize>>,
}

impl Receiver for Chunks {
    type Item = String;

    fn on_start(&mut self, ctx: &ReceiverContext<String>) -> Result<(), ReceiverError> {
        // Started once: a restart (after an error) has no commands left.
        let Some(commands) = self.commands.take() else {
            return Ok(());
        };
        while !ctx.is_stopped() {
            match commands.recv_timeout(Duration::from_millis(10)) {
                Ok(k) => {
                    if ctx.store_reliably(chunk(&self.lines, k).to_vec()).is_err() {
                        return Ok(());
                    }
                    println!("acked {k}");
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        Ok(())
    }
}

/// The `chunk <k>` commands on stdin.
fn commands() -> mpsc::Receiver<usize> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines().map_while(Result::ok) {
            if let Some(k) = line.strip_prefix("chunk ").and_then(|k| k.parse().ok())
                && send.send(k).is_err()
            {
                break;
            }
        }
    });
    receive
}

/// `--child <process> <addresses or -> <kafka:brokers|receiver> <checkpoint>
/// <output>`: the word count, recovered from `checkpoint` if it holds one,
/// until 8 batches in a row have no input anywhere. Prints `recovered
/// <batches run again>`.
fn child(args: &[String]) -> Result<(), String> {
    let [process, addresses, source, checkpoint, output] = args else {
        return Err(format!("bad child arguments: {args:?}"));
    };
    let mut config = JobConfig::new().partitions(4);
    let mut mesh = None;
    if addresses != "-" {
        let process: usize = process.parse().map_err(|e| format!("process: {e}"))?;
        let cluster =
            ClusterConfig::new(process, addresses.split(',').map(String::from).collect()).map_err(|e| e.to_string())?;
        let connected = Mesh::connect(&cluster, RUN_LIMIT).map_err(|e| e.to_string())?;
        config = config.cluster(connected.clone());
        mesh = Some(connected);
    }
    let input = match source.split_once(':') {
        Some(("kafka", brokers)) => {
            let options = KafkaOptions::new()
                .starting_offsets(StartingOffsets::Earliest)
                .max_rate_per_partition(RATE_PER_PARTITION);
            kafka::kafka_text_stream(brokers, [TOPIC], options)
        }
        _ => sources::receiver_stream(Chunks {
            lines: all_lines(),
            commands: Some(commands()),
        }),
    };
    let job = Words::with_config(config).map_err(|e| e.to_string())?;
    let build = || {
        StreamingContext::new(job)
            .input("lines", input)?
            .output::<String>("counts", sinks::save_as_text_files(format!("{output}/counts"), "txt"))?
            .output::<String>("totals", sinks::save_as_text_files(format!("{output}/totals"), "txt"))
    };
    let handle = StreamingContext::get_or_create(checkpoint, build)
        .map_err(|e| e.to_string())?
        .checkpoint_interval(CHECKPOINT_INTERVAL)
        .stop_after_idle_batches(8)
        .start()
        .map_err(|e| e.to_string())?;
    println!("recovered {}", handle.recovery().map_or(0, |r| r.batches.len()));
    let result = handle.await_termination().map(drop).map_err(|e| e.to_string());
    drop(handle);
    if let Some(mesh) = mesh {
        Mesh::close(mesh, Duration::from_secs(30));
    }
    result
}

/// The word totals of `lines`.
fn totals_of(lines: &[String]) -> BTreeMap<String, u64> {
    let mut totals = BTreeMap::new();
    for line in lines {
        for word in line.split_whitespace() {
            *totals.entry(word.to_owned()).or_insert(0u64) += 1;
        }
    }
    totals
}

/// What [`read_output`] found.
#[derive(Default)]
struct Output {
    summed: BTreeMap<String, u64>,
    last: BTreeMap<String, u64>,
    batches: usize,
    incomplete: Vec<String>,
}

/// What the batch directories of output `port` under `output` hold: the
/// word counts summed over every batch, the last batch's counts, the
/// number of batch directories, and those without `_SUCCESS`.
fn read_output(output: &Path, port: &str) -> Output {
    let mut read = Output::default();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(output)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|dir| dir.is_dir() && dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with(port)))
        .collect();
    // `<port>-<ms>.txt`: times of the same width, so in time order.
    dirs.sort();
    for dir in &dirs {
        read.batches += 1;
        if !dir.join("_SUCCESS").exists() {
            read.incomplete.push(dir.display().to_string());
        }
        read.last.clear();
        for part in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if !part.file_name().to_string_lossy().starts_with("part-") {
                continue;
            }
            let text = std::fs::read_to_string(part.path()).unwrap_or_default();
            for line in text.lines() {
                if let Some((word, count)) = line.rsplit_once(' ') {
                    let count = count.parse::<u64>().unwrap_or(u64::MAX / 4);
                    *read.summed.entry(word.to_owned()).or_insert(0) += count;
                    *read.last.entry(word.to_owned()).or_insert(0) += count;
                }
            }
        }
    }
    read
}

/// How `got` differs from `want`, by a few words.
fn differ(got: &BTreeMap<String, u64>, want: &BTreeMap<String, u64>) -> Vec<String> {
    want.iter()
        .filter(|(w, c)| got.get(*w) != Some(c))
        .take(5)
        .map(|(w, c)| format!("{w}: {:?} instead of {c}", got.get(w)))
        .collect()
}

/// The processes of one run: process 0's stdin and stdout lines, every
/// process's stderr in a file.
struct Run {
    name: String,
    children: Vec<Child>,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Vec<PathBuf>,
}

impl Run {
    fn start(base: &Path, name: &str, n: usize, source: &str, checkpoint: &Path, output: &Path) -> Run {
        let addresses = if n == 1 {
            "-".to_owned()
        } else {
            free_addresses(n).join(",")
        };
        let exe = std::env::current_exe().expect("the test binary");
        let mut stderr = Vec::new();
        let mut children: Vec<Child> = (0..n)
            .map(|p| {
                let path = base.join(format!("{name}-{p}.stderr"));
                let file = std::fs::File::create(&path).expect("a stderr file");
                stderr.push(path);
                Command::new(&exe)
                    .args(["--child", &p.to_string(), &addresses, source])
                    .arg(checkpoint)
                    .arg(output)
                    .stdin(if p == 0 { Stdio::piped() } else { Stdio::null() })
                    .stdout(if p == 0 { Stdio::piped() } else { Stdio::null() })
                    .stderr(file)
                    .spawn()
                    .expect("spawn a process")
            })
            .collect();
        let stdout = children[0].stdout.take().expect("piped");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Run {
            name: name.to_owned(),
            stdin: children[0].stdin.take(),
            children,
            lines,
            stderr,
        }
    }

    fn stderr(&self, p: usize) -> String {
        std::fs::read_to_string(&self.stderr[p]).unwrap_or_default()
    }

    /// The next line of process 0 starting with `prefix`, without it.
    fn expect(&self, prefix: &str) -> Result<String, String> {
        let deadline = Instant::now() + RUN_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return Ok(rest.to_owned());
                    }
                }
                Err(_) => {
                    return Err(format!(
                        "{}: process 0 did not print {prefix:?}:\n{}",
                        self.name,
                        self.stderr(0)
                    ));
                }
            }
        }
    }

    /// Hands chunk `k` to the receiver and waits for its acknowledgement.
    fn hand(&mut self, k: usize) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("no stdin")?;
        writeln!(stdin, "chunk {k}").map_err(|e| format!("{}: cannot hand chunk {k}: {e}", self.name))?;
        let acked = self.expect("acked ")?;
        if acked != k.to_string() {
            return Err(format!("{}: chunk {k} handed, {acked} acknowledged", self.name));
        }
        Ok(())
    }

    /// Waits for process `p` to exit (killing it after the run's limit).
    fn wait(&mut self, p: usize) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + RUN_LIMIT;
        loop {
            match self.children[p].try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = self.children[p].kill();
                    let _ = self.children[p].wait();
                    return Err(format!("{}: process {p} did not exit within {RUN_LIMIT:?}", self.name));
                }
            }
        }
    }

    /// Waits for every process to end well.
    fn finish(&mut self) -> Result<(), String> {
        let mut failures = Vec::new();
        for p in 0..self.children.len() {
            match self.wait(p) {
                Ok(status) if status.success() => {}
                Ok(status) => failures.push(format!(
                    "{}: process {p} failed ({status}):\n{}",
                    self.name,
                    self.stderr(p)
                )),
                Err(e) => failures.push(e),
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("\n"))
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("make a directory");
    for entry in std::fs::read_dir(from).expect("list a directory").flatten() {
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if source.is_dir() {
            copy_tree(&source, &target);
        } else {
            std::fs::copy(&source, &target).expect("copy a file");
        }
    }
}

fn produce(brokers: &str, lines: &[String]) -> Result<(), String> {
    let records = lines.iter().map(|l| (None::<String>, l.clone()));
    kafka::produce(brokers, TOPIC, records)
        .map(drop)
        .map_err(|e| format!("cannot produce: {e}"))
}

/// The batches complete (`_SUCCESS`) under `output`.
fn complete(output: &Path) -> usize {
    let read = read_output(output, "counts");
    read.batches - read.incomplete.len()
}

/// What a scenario feeds: the Kafka topic, or the receiver.
enum Feed {
    Kafka { brokers: String },
    Receiver,
}

impl Feed {
    fn source(&self) -> String {
        match self {
            Feed::Kafka { brokers } => format!("kafka:{brokers}"),
            Feed::Receiver => "receiver".to_owned(),
        }
    }
}

/// One scenario: killed on 2 processes, restored on 2, 3 and 1.
fn scenario(base: &Path, feed: &Feed) -> Vec<String> {
    let mut failures = Vec::new();
    let lines = all_lines();
    let name = match feed {
        Feed::Kafka { .. } => "kafka",
        Feed::Receiver => "receiver",
    };
    let base = &base.join(name);
    std::fs::create_dir_all(base).expect("make a directory");
    let source = feed.source();

    let checkpoint = base.join("checkpoint-two");
    let output = base.join("two");
    let mut two = Run::start(base, &format!("{name}, killed"), 2, &source, &checkpoint, &output);
    if let Err(e) = two.expect("recovered ") {
        return vec![e];
    }
    let deadline = Instant::now() + RUN_LIMIT;
    let mut handed = 0;
    while complete(&output) < KILL_AFTER && Instant::now() < deadline {
        match feed {
            Feed::Kafka { .. } => std::thread::sleep(Duration::from_millis(5)),
            Feed::Receiver if handed < MAX_CHUNKS => {
                handed += 1;
                if let Err(e) = two.hand(handed) {
                    return vec![e];
                }
                std::thread::sleep(Duration::from_millis(30));
            }
            Feed::Receiver => return vec![format!("{name}: {MAX_CHUNKS} chunks did not make {KILL_AFTER} batches")],
        }
    }
    if let Feed::Receiver = feed {
        // One chunk more, acknowledged (in the write-ahead log) just before
        // the kill: most likely in no complete batch yet.
        handed += 1;
        if let Err(e) = two.hand(handed) {
            return vec![e];
        }
    }
    let _ = two.children[1].kill();
    let _ = two.children[1].wait();
    let words_before: u64 = read_output(&output, "counts").summed.values().sum();
    let before: &[String] = match feed {
        Feed::Kafka { .. } => &lines[..FIRST_LINES],
        Feed::Receiver => &lines[..handed * CHUNK_LINES],
    };
    let words_in: u64 = totals_of(before).values().sum();
    if words_before == 0 || (matches!(feed, Feed::Kafka { .. }) && words_before >= words_in) {
        failures.push(format!(
            "{name}: the kill was not mid-stream: {words_before} of {words_in} words were output"
        ));
    }
    match two.wait(0) {
        Ok(status) if !status.success() => {
            let text = two.stderr(0);
            if !text.contains("lost the mesh between processes") {
                failures.push(format!(
                    "{name}: process 0 stopped without saying it lost the mesh: {text}"
                ));
            }
        }
        other => failures.push(format!(
            "{name}: process 0 after process 1 was killed: expected a failure, got {other:?}"
        )),
    }
    drop(two);
    eprintln!("{name}: killed with {words_before} of {words_in} words output");
    let all: &[String] = match feed {
        Feed::Kafka { brokers } => {
            if let Err(e) = produce(brokers, &lines[FIRST_LINES..FIRST_LINES + LATER_LINES]) {
                return vec![e];
            }
            &lines[..FIRST_LINES + LATER_LINES]
        }
        Feed::Receiver => &lines[..(handed + LATER_CHUNKS) * CHUNK_LINES],
    };

    // The checkpoint and outputs, copied for the restores on 3 and 1.
    for copy in ["three", "one"] {
        copy_tree(&checkpoint, &base.join(format!("checkpoint-{copy}")));
        copy_tree(&output, &base.join(copy));
    }
    let want = totals_of(all);
    let want_words: u64 = want.values().sum();
    for (copy, n) in [("two", 2), ("three", 3), ("one", 1)] {
        let checkpoint = base.join(format!("checkpoint-{copy}"));
        let output = base.join(copy);
        let run_name = format!("{name}, restored on {n}");
        let mut restored = Run::start(base, &run_name, n, &source, &checkpoint, &output);
        let recovered = restored.expect("recovered ").and_then(|r| {
            if let Feed::Receiver = feed {
                for k in handed + 1..=handed + LATER_CHUNKS {
                    restored.hand(k)?;
                    std::thread::sleep(Duration::from_millis(30));
                }
            }
            restored.finish()?;
            r.parse::<usize>()
                .map_err(|e| format!("{run_name}: recovered {r:?}: {e}"))
        });
        let recovered = match recovered {
            Ok(recovered) => recovered,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let counts = read_output(&output, "counts");
        let totals = read_output(&output, "totals");
        let words: u64 = counts.summed.values().sum();
        let batches = counts.batches;
        let incomplete = [counts.incomplete, totals.incomplete].concat();
        if !incomplete.is_empty() {
            failures.push(format!(
                "{run_name}: batch directories without _SUCCESS: {incomplete:?}"
            ));
        }
        if recovered < 2 {
            failures.push(format!("{run_name}: {recovered} batches ran again, not at least 2"));
        }
        if counts.summed != want {
            failures.push(format!(
                "{run_name}: {words} words output over {batches} batches instead of the {want_words} given (e.g. {:?})",
                differ(&counts.summed, &want)
            ));
        } else if totals.last != want {
            failures.push(format!(
                "{run_name}: the last running totals are not the counts of the words given (e.g. {:?})",
                differ(&totals.last, &want)
            ));
        } else {
            println!(
                "{run_name}: {recovered} batches run again, {batches} batches in all, the {want_words} words of the \
                 lines given, each counted once"
            );
        }
    }
    failures
}

fn run(base: &Path) -> Vec<String> {
    let mut failures = scenario(base, &Feed::Receiver);
    match streamflow_workspace::broker::Broker::start() {
        Err(e) => failures.push(e),
        Ok(broker) => {
            let brokers = broker.brokers();
            let filled = kafka::create_topic(&brokers, TOPIC, TOPIC_PARTITIONS)
                .map_err(|e| e.to_string())
                .and_then(|()| produce(&brokers, &all_lines()[..FIRST_LINES]));
            match filled {
                Err(e) => failures.push(format!("cannot fill the topic: {e}")),
                Ok(()) => failures.extend(scenario(base, &Feed::Kafka { brokers })),
            }
        }
    }
    failures
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--child") {
        return match child(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cluster_source_recovery process failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let base = std::env::temp_dir().join(format!("streamflow-cluster-source-recovery-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("make the test directory");
    let started = Instant::now();
    let failures = run(&base);
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&base);
        println!(
            "test result: ok. cluster_source_recovery ({:.1}s)",
            started.elapsed().as_secs_f64()
        );
        ExitCode::SUCCESS
    } else {
        for failure in &failures {
            eprintln!("FAILED: {failure}");
        }
        eprintln!("(the directories are kept in {})", base.display());
        ExitCode::FAILURE
    }
}
