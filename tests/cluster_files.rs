//! The `cluster_word_count` example's live job over a directory of files,
//! run alone and as 2 processes of a cluster on 127.0.0.1: the output
//! directories must be byte for byte the same, batch by batch, and hold the
//! right counts.
//!
//! Batches are made deterministic so: the files are in the directory before
//! any process starts and the source reads the files there at start
//! (`text_file_stream_with_existing`), all in the first batch (they fit the
//! memory bound); the processes agree on one zero time and end every batch
//! together, and `--idle-batches 2` stops every process after the same two
//! empty batches. The job sorts each output partition by word, so a
//! partition's file does not depend on which process read which file.
//!
//! The processes are this very binary (`cluster_files --child <example
//! arguments>`), running the example's own code; hence no test harness.

#[allow(dead_code)]
#[path = "../examples/cluster_word_count.rs"]
mod example;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use streamflow_workspace::{free_addresses, free_ports};

/// How long a run may take (connecting, three one-second batches).
const RUN_LIMIT: Duration = Duration::from_secs(120);
/// Input files, and lines in each.
const FILES: usize = 12;
const LINES: usize = 200;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == "--child") {
        return match example::Args::parse(args.into_iter().skip(1)).and_then(example::run) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    // `cargo test` passes harness flags (filters, --nocapture): ignored.
    let started = Instant::now();
    let base = std::env::temp_dir().join(format!("streamflow-cluster-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let input = base.join("input");
    std::fs::create_dir_all(&input).expect("make the input directory");
    let expected = write_input(&input);

    let single = base.join("single");
    std::fs::create_dir_all(&single).expect("make an output directory");
    let mut alone = spawn(&[&input, &single.join("wc")], &[], &base.join("single.stderr"));
    wait_all(&mut [&mut alone], "the single process");

    let two = base.join("two");
    std::fs::create_dir_all(&two).expect("make an output directory");
    let hosts = base.join("hosts");
    let ports = free_ports(2);
    std::fs::write(
        &hosts,
        ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect::<String>(),
    )
    .expect("write hosts");
    let mut children: Vec<Child> = (0..2)
        .map(|process| {
            let process = process.to_string();
            let flags = ["--hosts", hosts.to_str().expect("utf-8 path"), "--process", &process];
            spawn(
                &[&input, &two.join("wc")],
                &flags,
                &base.join(format!("process-{process}.stderr")),
            )
        })
        .collect();
    wait_all(&mut children.iter_mut().collect::<Vec<_>>(), "the 2 processes");

    let mut failures = refusals();
    // A clean stop: no thread of any process panicked (timely's threads do
    // when a peer leaves while the mesh is still shutting down).
    for name in ["single.stderr", "process-0.stderr", "process-1.stderr"] {
        let text = std::fs::read_to_string(base.join(name)).unwrap_or_default();
        eprint!("{text}");
        if text.contains("panicked") {
            failures.push(format!("{name}: a thread panicked"));
        }
    }
    failures.extend(one_fails_all(&input, &base));
    let one_run = batches(&single);
    let two_run = batches(&two);
    if one_run.len() != 3 {
        failures.push(format!(
            "the single run wrote {} batch directories, expected 3 (1 with input, 2 idle)",
            one_run.len()
        ));
    }
    if one_run.len() != two_run.len() {
        failures.push(format!(
            "1 process wrote {} batches, 2 processes {}",
            one_run.len(),
            two_run.len()
        ));
    }
    for (index, (a, b)) in one_run.iter().zip(&two_run).enumerate() {
        if a != b {
            let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
            failures.push(format!(
                "batch {index}: the directories differ: 1 process has {:?}, 2 processes {:?}{}",
                names(a),
                names(b),
                if names(a) == names(b) {
                    " (same names, other bytes)"
                } else {
                    ""
                }
            ));
        }
    }
    match one_run.first() {
        Some(first) => {
            let counted = counts(first);
            if counted != expected {
                failures.push(format!(
                    "the first batch counted {} distinct words, expected {}",
                    counted.len(),
                    expected.len()
                ));
            }
            if !first.contains_key("_SUCCESS") || (0..4).any(|p| !first.contains_key(&format!("part-{p:05}"))) {
                failures.push(format!(
                    "the first batch lacks files: {:?}",
                    first.keys().collect::<Vec<_>>()
                ));
            }
        }
        None => failures.push("no batch written".into()),
    }
    for batch in one_run.iter().skip(1).chain(two_run.iter().skip(1)) {
        if !counts(batch).is_empty() {
            failures.push("an idle batch has counts".into());
        }
    }
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&base);
        println!(
            "cluster_files: 2 processes wrote the same {} batch directories as 1, byte for byte ({:.1}s)",
            one_run.len(),
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

/// A batch that fails on one process fails on every process: process 1's
/// output prefix is under a regular file, so its sink cannot write; process
/// 0's can, and must still fail the batch, saying process 1 failed it, and
/// never mark the batch complete.
fn one_fails_all(input: &Path, base: &Path) -> Vec<String> {
    let dir = base.join("failing");
    std::fs::create_dir_all(&dir).expect("make an output directory");
    std::fs::write(dir.join("blocker"), "a file, not a directory").expect("write the blocker");
    let hosts = base.join("failing-hosts");
    let ports = free_ports(2);
    std::fs::write(
        &hosts,
        ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect::<String>(),
    )
    .expect("write hosts");
    let prefixes = [dir.join("ok").join("wc"), dir.join("blocker").join("wc")];
    let stderr = |p: usize| base.join(format!("failing-{p}.stderr"));
    let mut children: Vec<Child> = (0..2)
        .map(|process| {
            let index = process.to_string();
            let flags = ["--hosts", hosts.to_str().expect("utf-8 path"), "--process", &index];
            spawn(&[input, &prefixes[process]], &flags, &stderr(process))
        })
        .collect();
    let deadline = Instant::now() + RUN_LIMIT;
    let mut failures = Vec::new();
    for (process, child) in children.iter_mut().enumerate() {
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for a process") {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let text = std::fs::read_to_string(stderr(process)).unwrap_or_default();
        let wanted = [
            "on the cluster: process 1 failed the batch (its own error says why); process 0 did not",
            "on output port `counts` failed: ",
        ][process];
        match status {
            Some(status) if !status.success() && text.contains("batch") => {}
            other => failures.push(format!(
                "failing run, process {process}: expected it to fail, got {other:?}: {text}"
            )),
        }
        if !text.contains(wanted) {
            failures.push(format!(
                "failing run, process {process}: expected {wanted:?} in: {text}"
            ));
        }
        if text.contains("panicked") {
            failures.push(format!("failing run, process {process}: a thread panicked: {text}"));
        }
    }
    let complete = std::fs::read_dir(dir.join("ok"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.path().join("_SUCCESS").exists());
    if complete {
        failures.push("failing run: process 0 marked a batch complete".into());
    }
    failures
}

/// What a live job on a cluster refuses at start, on a mesh of one process:
/// a source that does not split between processes.
fn refusals() -> Vec<String> {
    use streamflow::JobConfig;
    use streamflow::StreamingContext;
    use streamflow::cluster::{ClusterConfig, Mesh};
    use streamflow::live::{sinks, sources};
    let config = ClusterConfig::new(0, free_addresses(1)).expect("a cluster of one");
    let mesh = Mesh::connect(&config, RUN_LIMIT).expect("a mesh of one");
    let job = || {
        let config = JobConfig::new().partitions(4).cluster(mesh.clone());
        example::ClusterWordCount::with_config(config).expect("valid config")
    };
    let start = |context: Result<StreamingContext<example::ClusterWordCount>, _>| match context
        .and_then(|c| c.output::<(String, u64)>("counts", sinks::discard()))
    {
        Ok(context) => context.start().err().map(|e| e.to_string()),
        Err(e) => Some(format!("binding failed: {e}")),
    };
    let queue = start(StreamingContext::new(job()).input("lines", sources::queue_stream([vec!["a".to_owned()]])));
    let mut failures = Vec::new();
    let wanted = [(
        queue,
        "which does not split between processes; on a cluster only directory sources (text_file_stream) do",
    )];
    for (error, text) in wanted {
        if !error.as_deref().is_some_and(|e| e.contains(text)) {
            failures.push(format!("expected a start error with {text:?}, got {error:?}"));
        }
    }
    failures
}

/// Writes `FILES` files of words (a fixed pseudo-random sequence) and
/// returns every word's count.
fn write_input(dir: &Path) -> BTreeMap<String, u64> {
    let mut expected = BTreeMap::new();
    let mut seed: u64 = 0x5eed;
    for file in 0..FILES {
        let mut text = String::new();
        for _ in 0..LINES {
            for _ in 0..(seed % 7 + 1) {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let word = format!("w{}", (seed >> 33) % 500);
                *expected.entry(word.clone()).or_insert(0) += 1;
                text.push_str(&word);
                text.push(' ');
            }
            text.push('\n');
        }
        std::fs::write(dir.join(format!("f{file:02}.txt")), text).expect("write an input file");
    }
    expected
}

fn spawn(paths: &[&Path], flags: &[&str], stderr: &Path) -> Child {
    Command::new(std::env::current_exe().expect("own path"))
        .arg("--child")
        .args(paths)
        .args(flags)
        .args(["--idle-batches", "2"])
        // Timely prints connection progress on stdout.
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(stderr).expect("create a stderr file"))
        .spawn()
        .expect("start a process")
}

/// Waits for every child to exit 0 within `RUN_LIMIT`; kills them otherwise.
fn wait_all(children: &mut [&mut Child], what: &str) {
    let deadline = Instant::now() + RUN_LIMIT;
    let mut done = vec![false; children.len()];
    while done.iter().any(|d| !d) {
        for (i, child) in children.iter_mut().enumerate() {
            if done[i] {
                continue;
            }
            if let Some(status) = child.try_wait().expect("wait for a process") {
                if !status.success() {
                    for other in children.iter_mut() {
                        let _ = other.kill();
                    }
                    panic!("{what}: process {i} failed: {status}");
                }
                done[i] = true;
            }
        }
        if Instant::now() > deadline {
            for child in children.iter_mut() {
                let _ = child.kill();
            }
            panic!("{what} did not finish within {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The batch directories under `dir` (`wc-<ms>`), in time order, each as its
/// files' names and bytes (hidden files too: none may be left).
fn batches(dir: &Path) -> Vec<BTreeMap<String, Vec<u8>>> {
    let mut dirs: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .expect("list the output directory")
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().to_string_lossy().into_owned();
            let time = name.strip_prefix("wc-")?.parse().ok()?;
            Some((time, e.path()))
        })
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|(_, path)| {
            std::fs::read_dir(&path)
                .expect("list a batch directory")
                .map(|e| {
                    let e = e.expect("a batch directory entry");
                    let bytes = std::fs::read(e.path()).expect("read a batch file");
                    (e.file_name().to_string_lossy().into_owned(), bytes)
                })
                .collect()
        })
        .collect()
}

/// The `(word,count)` lines of a batch's part files.
fn counts(batch: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, u64> {
    let mut counted = BTreeMap::new();
    for (name, bytes) in batch {
        if !name.starts_with("part-") {
            continue;
        }
        for line in String::from_utf8_lossy(bytes).lines() {
            let inner = line.trim_start_matches('(').trim_end_matches(')');
            if let Some((word, count)) = inner.rsplit_once(',') {
                counted.insert(word.to_owned(), count.parse().unwrap_or(u64::MAX));
            }
        }
    }
    counted
}
