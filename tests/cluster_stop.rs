//! Stopping a job on a cluster: SIGTERM (what a cluster manager sends) to
//! one process of two stops both after the same batch, and both exit 0.
//! Before, the process that got the signal stopped alone and the other
//! failed with a lost mesh.
//!
//! The job is a socket word count; its receiver runs on process 0 and reads
//! a paced line server (`streamflow_workspace::paced_line_server`) that
//! sends all along. Each scenario checks:
//! - both processes exit 0 and say nothing of a lost mesh;
//! - both completed the same number of batches, ending at the same time;
//! - the totals summed over the processes are exactly those of the first
//!   lines the receiver accepted, less what the stop left unprocessed
//!   (nothing, for a graceful stop: the last batch takes what the receiver
//!   held).
//!
//! Scenarios: one SIGTERM to process 1 (graceful), one to process 0
//! (graceful), two to process 1 (the second makes it immediate).
//!
//! The processes are this very binary (`cluster_stop --child ...`); hence
//! no test harness.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use streamflow::StreamingContext;
use streamflow::cluster::{ClusterConfig, Mesh};
use streamflow::live::{sinks, sources};
use streamflow::prelude::*;
use streamflow::{Batch, JobConfig};
use streamflow_workspace::{free_addresses, paced_line_server, paced_word_totals};

/// Lines per second the server sends.
const RATE: u64 = 10_000;
/// How long a run may take.
const RUN_LIMIT: Duration = Duration::from_secs(90);

stream_job! {
    /// Words counted per batch, as the README writes it.
    pub job StopWords {
        batch_interval = 200ms;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
    }
}

/// `--child <process> <addresses> <port>`: runs the word count until it is
/// stopped (by a signal), then prints what it did.
fn child(args: &[String]) -> Result<(), String> {
    let [process, addresses, port] = args else {
        return Err("usage: cluster_stop --child <process> <addresses> <port>".into());
    };
    let process: usize = process.parse().map_err(|e| format!("process: {e}"))?;
    let port: u16 = port.parse().map_err(|e| format!("port: {e}"))?;
    let cluster =
        ClusterConfig::new(process, addresses.split(',').map(String::from).collect()).map_err(|e| e.to_string())?;
    let mesh = Mesh::connect(&cluster, RUN_LIMIT).map_err(|e| e.to_string())?;
    let totals: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let sink_totals = totals.clone();
    let job =
        StopWords::with_config(JobConfig::new().partitions(4).cluster(mesh.clone())).map_err(|e| e.to_string())?;
    let handle = StreamingContext::new(job)
        .input("lines", sources::socket_text_stream("127.0.0.1", port))
        .and_then(|c| {
            c.output::<(String, u64)>(
                "counts",
                sinks::foreach(move |batch: &Batch<(String, u64)>, _| {
                    let mut totals = sink_totals.lock().unwrap();
                    for (word, count) in batch.iter() {
                        *totals.entry(word.clone()).or_default() += count;
                    }
                }),
            )
        })
        .map_err(|e| e.to_string())?
        .stop_gracefully_on_signals()
        .start()
        .map_err(|e| e.to_string())?;
    if handle.wait_for_batches(3, RUN_LIMIT) {
        println!("running");
        let _ = std::io::stdout().flush();
    }
    let result = handle.await_termination().map_err(|e| e.to_string());
    let batches = handle.batches();
    let received = handle.input_stats("lines").map_or(0, |s| s.records);
    let unprocessed = handle.unprocessed().unprocessed_records;
    drop(handle);
    Mesh::close(mesh, Duration::from_secs(30));
    result?;
    let last = batches.last().map_or(0, |b| b.time.as_millis());
    println!(
        "batches {} last {last} received {received} unprocessed {unprocessed}",
        batches.len()
    );
    for (word, count) in totals.lock().unwrap().iter() {
        println!("total {word} {count}");
    }
    Ok(())
}

/// A process of a scenario: its stdout lines as they come, its stderr at
/// the end.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

fn spawn(process: usize, addresses: &str, port: u16) -> Running {
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--child", &process.to_string(), addresses, &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn a process");
    let stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    Running { child, lines, stderr }
}

/// What a process said at its end.
#[derive(Debug, Default)]
struct Ended {
    batches: u64,
    last: u64,
    received: u64,
    unprocessed: u64,
    totals: BTreeMap<String, u64>,
}

fn end_of(line: &str, ended: &mut Ended) {
    let fields: Vec<&str> = line.split(' ').collect();
    match fields.as_slice() {
        [
            "batches",
            batches,
            "last",
            last,
            "received",
            received,
            "unprocessed",
            unprocessed,
        ] => {
            ended.batches = batches.parse().expect("a count");
            ended.last = last.parse().expect("a time");
            ended.received = received.parse().expect("a count");
            ended.unprocessed = unprocessed.parse().expect("a count");
        }
        ["total", word, count] => {
            ended.totals.insert((*word).to_owned(), count.parse().expect("a count"));
        }
        _ => {}
    }
}

/// Runs two processes, sends `signals` SIGTERMs to `target` once it runs,
/// and checks how both ended.
fn scenario(target: usize, signals: usize) -> Result<String, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let port = paced_line_server(RATE, stop.clone(), sent.clone());
    let addresses = free_addresses(2).join(",");
    let mut processes: Vec<Running> = (0..2).map(|p| spawn(p, &addresses, port)).collect();
    let deadline = Instant::now() + RUN_LIMIT;
    let mut ended: Vec<Ended> = (0..2).map(|_| Ended::default()).collect();
    // Wait until the target runs, with data flowing, then signal it.
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match processes[target].lines.recv_timeout(left) {
            Ok(line) if line == "running" => break,
            Ok(line) => end_of(&line, &mut ended[target]),
            Err(_) => {
                for p in &mut processes {
                    let _ = p.child.kill();
                }
                return Err(format!("process {target} never ran 3 batches"));
            }
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    for _ in 0..signals {
        let killed = Command::new("kill")
            .args(["-TERM", &processes[target].child.id().to_string()])
            .status()
            .map_err(|e| format!("cannot run kill: {e}"))?;
        if !killed.success() {
            return Err("kill -TERM failed".into());
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    let mut failures = Vec::new();
    for (p, running) in processes.into_iter().enumerate() {
        let Running {
            mut child,
            lines,
            stderr,
        } = running;
        let status = loop {
            match child.try_wait().expect("wait for a process") {
                Some(status) => break Some(status),
                None if Instant::now() >= deadline => {
                    let _ = child.kill();
                    break None;
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        let _ = child.wait();
        for line in lines.iter() {
            end_of(&line, &mut ended[p]);
        }
        let stderr = stderr.join().unwrap_or_default();
        match status {
            None => failures.push(format!("process {p} did not stop; stderr:\n{stderr}")),
            Some(status) if !status.success() => failures.push(format!("process {p} failed ({status}):\n{stderr}")),
            Some(_) if stderr.contains("lost the mesh") || stderr.contains("panicked") => {
                failures.push(format!("process {p} exited 0 but said:\n{stderr}"))
            }
            Some(_) => {}
        }
    }
    stop.store(true, Ordering::Relaxed);
    if !failures.is_empty() {
        return Err(failures.join("\n"));
    }
    let stopped_in = signalled.elapsed();
    if (ended[0].batches, ended[0].last) != (ended[1].batches, ended[1].last) {
        return Err(format!(
            "the processes stopped after different batches: {} up to {} ms and {} up to {} ms",
            ended[0].batches, ended[0].last, ended[1].batches, ended[1].last
        ));
    }
    let receiver = &ended[0];
    if signals == 1 && receiver.unprocessed != 0 {
        return Err(format!(
            "a graceful stop left {} records unprocessed",
            receiver.unprocessed
        ));
    }
    let processed = receiver.received - receiver.unprocessed;
    let mut totals = BTreeMap::new();
    for (word, count) in ended.iter().flat_map(|e| e.totals.iter()) {
        *totals.entry(word.clone()).or_insert(0u64) += count;
    }
    let words: u64 = totals.values().sum();
    if processed == 0 || totals != paced_word_totals(processed) {
        return Err(format!(
            "the totals of {words} words are not those of the {processed} lines processed ({} received, {} \
             unprocessed)",
            receiver.received, receiver.unprocessed
        ));
    }
    Ok(format!(
        "both stopped after batch {} ({} ms) in {:.2?}: {processed} lines of {} received, counted exactly",
        receiver.batches, receiver.last, stopped_in, receiver.received
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--child") {
        return match child(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cluster_stop process failed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut failed = false;
    for (name, target, signals) in [
        ("SIGTERM to process 1", 1, 1),
        ("SIGTERM to process 0", 0, 1),
        ("SIGTERM twice to process 1", 1, 2),
    ] {
        match scenario(target, signals) {
            Ok(said) => println!("{name}: {said}"),
            Err(e) => {
                eprintln!("{name}: {e}");
                failed = true;
            }
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
