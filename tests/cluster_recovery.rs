//! Checkpoints and recovery on a cluster: a stateful live job (running word
//! counts with `update_state_by_key` and a windowed count with an inverse,
//! saved with `save_as_text_files`) runs on 2 processes over a directory of
//! files, checkpointing; one process is SIGKILLed, and the other must stop
//! with a clear error. Restarted from the checkpoint on 2, 3 and 1
//! processes, each run's output directories must equal, byte for byte, those
//! of an uninterrupted 1-process run without a checkpoint.
//!
//! Batches are made deterministic with a manual clock in every process: the
//! parent moves file `k` into the input directory, then tells every process
//! to move its clock to batch `k` and waits until each has completed it
//! (processes end every batch together). Each output partition is sorted,
//! so a part file does not depend on which process read which file.
//!
//! The processes are this very binary (`cluster_recovery --child ...`);
//! hence no test harness.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use streamflow::JobConfig;
use streamflow::StreamingContext;
use streamflow::cluster::{ClusterConfig, Mesh};
use streamflow::live::{ManualClock, sinks, sources};
use streamflow::prelude::*;
use streamflow_workspace::free_ports;

/// `map_with_state`'s function: a word's count so far, also when it times out.
// `map_with_state` passes the key as `&K`, here `&String`.
#[allow(clippy::ptr_arg)]
fn seen(word: &String, one: Option<u64>, state: &mut State<u64>) -> Option<(String, u64)> {
    let count = state.get().copied().unwrap_or(0) + one.unwrap_or(0);
    if !state.is_timing_out() {
        state.update(count);
    }
    Some((word.clone(), count))
}

stream_job! {
    /// Running totals per word and counts over the last three batches (with
    /// and without an inverse), a word's count with a timeout, and unkeyed
    /// windows: every kind of state a job keeps.
    pub job Running {
        batch_interval = 100ms;
        input lines: String;
        let pairs = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64));
        output totals: (String, u64) = pairs
            .update_state_by_key(|new: &[u64], old: Option<u64>| Some(old.unwrap_or(0) + new.iter().sum::<u64>()))
            .map_partitions(|mut part| {
                part.sort_unstable();
                part
            });
        output recent: (String, u64) = pairs
            .reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 300ms, 100ms)
            .map_partitions(|mut part| {
                part.sort_unstable();
                part
            });
        output seen: (String, u64) = pairs
            .map_with_state(seen, 300ms)
            .map_partitions(|mut part| {
                part.sort_unstable();
                part
            });
        output groups: (String, u64) = pairs
            .group_by_key_and_window(300ms, 100ms)
            .map(|(word, ones)| (word, ones.len() as u64))
            .map_partitions(|mut part| {
                part.sort_unstable();
                part
            });
        output chars: u64 = lines.map(|line| line.len() as u64).reduce_by_window(|a, b| a + b, 300ms, 100ms);
        output lines_seen: u64 = lines.count_by_window(300ms, 100ms);
        output window_lines: u64 = lines.window(300ms, 100ms).count();
    }
}

/// The output ports, each saved under its own name.
const OUTPUTS: [&str; 7] = [
    "totals",
    "recent",
    "seen",
    "groups",
    "chars",
    "lines_seen",
    "window_lines",
];

const INTERVAL_MS: u64 = 100;
/// Batches in all; the crash comes while batch `KILLED_IN` runs.
const BATCHES: u64 = 8;
const KILLED_IN: u64 = 6;
/// How long any one step (connecting, a batch, a stop) may take.
const STEP_LIMIT: Duration = Duration::from_secs(60);

/// A child: `--child <process> <hosts file or -> <input> <output> <checkpoint or ->`.
fn child(args: &[String]) -> Result<(), String> {
    let [process, hosts, input, output, checkpoint] = args else {
        return Err(format!("bad child arguments: {args:?}"));
    };
    let clock = Arc::new(ManualClock::new());
    let mut config = JobConfig::new().partitions(4);
    let mut mesh = None;
    if hosts != "-" {
        let process: usize = process.parse().map_err(|e| format!("{e}"))?;
        let cluster = ClusterConfig::from_hosts_file(hosts, process).map_err(|e| e.to_string())?;
        let connected = Mesh::connect(&cluster, STEP_LIMIT).map_err(|e| e.to_string())?;
        config = config.cluster(connected.clone());
        mesh = Some(connected);
    }
    let job = Running::with_config(config).map_err(|e| e.to_string())?;
    let build = || {
        let save = |port: &str| sinks::save_as_text_files(format!("{output}/{port}"), "txt");
        let mut context = StreamingContext::new(job)
            .clock(clock.clone())
            .input("lines", sources::text_file_stream(input))?;
        for port in &OUTPUTS[..4] {
            context = context.output::<(String, u64)>(port, save(port))?;
        }
        for port in &OUTPUTS[4..] {
            context = context.output::<u64>(port, save(port))?;
        }
        Ok::<_, streamflow::live::StartError>(context)
    };
    let context = if checkpoint == "-" {
        build()
    } else {
        StreamingContext::get_or_create(checkpoint, build)
            .map(|c| c.checkpoint_interval(Duration::from_millis(2 * INTERVAL_MS)))
    }
    .map_err(|e| e.to_string())?;
    let handle = context.start().map_err(|e| e.to_string())?;
    let rerun = handle.recovery().map_or(0, |r| r.batches.len() as u64);
    if !handle.wait_for_batches(rerun, STEP_LIMIT) {
        return Err(format!("the {rerun} batches recovery runs again did not complete"));
    }
    println!("ready {rerun}");
    for line in std::io::stdin().lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line == "stop" {
            break;
        }
        let k: u64 = line.parse().map_err(|e| format!("bad command {line:?}: {e}"))?;
        clock.set(Duration::from_millis(k * INTERVAL_MS));
        let deadline = Instant::now() + STEP_LIMIT;
        loop {
            if handle.batches().iter().any(|b| b.time.as_millis() == k * INTERVAL_MS) {
                break;
            }
            if handle.is_terminated() || Instant::now() > deadline {
                return Err(match handle.await_termination_timeout(Duration::ZERO) {
                    Err(e) => e.to_string(),
                    Ok(_) => format!("batch {k} did not complete"),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(failure) = handle.batches().iter().find_map(|b| b.failure.clone()) {
            return Err(failure);
        }
        println!("done {k}");
    }
    let stopped = handle.stop(false).map(drop).map_err(|e| e.to_string());
    if let Some(mesh) = mesh {
        Mesh::close(mesh, Duration::from_secs(10));
    }
    stopped
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--child") {
        return match child(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    // `cargo test` passes harness flags (filters, --nocapture): ignored.
    let started = Instant::now();
    let base = std::env::temp_dir().join(format!("streamflow-cluster-recovery-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let failures = run(&base);
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&base);
        println!(
            "cluster_recovery: the runs restored on 2, 3 and 1 processes wrote the uninterrupted run's \
             directories, byte for byte ({:.1}s)",
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

fn run(base: &Path) -> Vec<String> {
    let mut failures = Vec::new();
    // The uninterrupted run: one process, no checkpoint.
    let reference_input = mkdir(&base.join("reference-input"));
    let reference = base.join("reference");
    let mut alone = Run::start(base, "reference", 1, false, &reference_input, &reference, None);
    for k in 1..=BATCHES {
        move_in(&reference_input, k);
        alone.batch(k);
    }
    alone.stop();
    let expected = tree(&reference);
    if expected.keys().filter(|name| name.ends_with("/_SUCCESS")).count() != OUTPUTS.len() * BATCHES as usize {
        failures.push(format!(
            "the reference run wrote {:?}",
            expected.keys().collect::<Vec<_>>()
        ));
    }

    for racing in [false, true] {
        failures.extend(killed_and_restored(base, &reference_input, &expected, racing));
    }
    failures
}

/// 2 processes, checkpointing, process 1 SIGKILLed: after batch 5 (the
/// other then fails in batch 6), or, `racing`, a few milliseconds after
/// both were told to run batch 6 (wherever that lands: before, while or
/// after they run it). Then the checkpoint restored on 2, 3 and 1 processes
/// must write the `expected` directories.
fn killed_and_restored(
    base: &Path,
    reference_input: &Path,
    expected: &BTreeMap<String, Vec<u8>>,
    racing: bool,
) -> Vec<String> {
    let mut failures = Vec::new();
    let base = &mkdir(&base.join(if racing { "racing" } else { "between" }));
    let input = mkdir(&base.join("input"));
    let output = base.join("two");
    let checkpoint = base.join("checkpoint");
    let mut two = Run::start(base, "two", 2, true, &input, &output, Some(&checkpoint));
    for k in 1..KILLED_IN {
        move_in(&input, k);
        two.batch(k);
    }
    move_in(&input, KILLED_IN);
    let stopped = Instant::now();
    if racing {
        two.send(0, &KILLED_IN.to_string());
        two.send(1, &KILLED_IN.to_string());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        std::thread::sleep(Duration::from_micros(u64::from(nanos % 30_000)));
    }
    let _ = two.children[1].kill();
    let _ = two.children[1].wait();
    if !racing {
        two.send(0, &KILLED_IN.to_string());
    }
    // Process 0 goes on while batches still complete (process 1 died after
    // ending them), and must fail in the first that needs process 1.
    let mut failed_in = KILLED_IN;
    while failed_in <= BATCHES
        && two.lines[0]
            .recv_timeout(Duration::from_secs(5))
            .is_ok_and(|line| line == format!("done {failed_in}"))
    {
        failed_in += 1;
        if failed_in <= BATCHES {
            move_in(&input, failed_in);
            two.send(0, &failed_in.to_string());
        }
    }
    match two.wait_exit(0) {
        Some(status) if !status.success() => {}
        other => failures.push(format!(
            "process 0 after process 1 was killed: expected a failure, got {other:?}"
        )),
    }
    let text = two.stderr(0);
    if !text.contains("lost the mesh between processes") {
        failures.push(format!("process 0 stopped without saying it lost the mesh: {text}"));
    }
    eprintln!(
        "{}: process 0 failed in batch {failed_in}, {:.2}s after batch {KILLED_IN} began",
        if racing {
            "killed while racing"
        } else {
            "killed between batches"
        },
        stopped.elapsed().as_secs_f64()
    );
    // Snapshots every 2 batches: those after the last before the failed
    // batch run again; racing, the failed batch too if it was committed
    // before process 0 failed at its snapshot.
    let completed = failed_in - 1;
    let rerun = completed % 2;
    let reruns = if racing { rerun..=rerun + 1 } else { rerun..=rerun };
    if !racing {
        failures.extend(unshared(base, &checkpoint, &input));
    }
    // The same checkpoint, input and outputs, for the restores on 3 and 1.
    for copy in ["three", "one"] {
        copy_tree(&checkpoint, &base.join(format!("checkpoint-{copy}")), false);
        copy_tree(&output, &base.join(copy), false);
        copy_tree(&input, &base.join(format!("input-{copy}")), true);
    }
    let restores = [
        ("two", 2, true, input.clone(), checkpoint.clone()),
        (
            "three",
            3,
            true,
            base.join("input-three"),
            base.join("checkpoint-three"),
        ),
        ("one", 1, false, base.join("input-one"), base.join("checkpoint-one")),
    ];
    for (name, processes, mesh, input, checkpoint) in restores {
        let output = base.join(name);
        let mut restarted = Run::start(
            base,
            &format!("{name}-restored"),
            processes,
            mesh,
            &input,
            &output,
            Some(&checkpoint),
        );
        let first = restarted.rerun[0];
        if !reruns.contains(&first) || restarted.rerun.iter().any(|&n| n != first) {
            failures.push(format!(
                "restored on {processes}: recovery ran {:?} batches again, expected {reruns:?}, the same on each",
                restarted.rerun
            ));
        }
        for k in failed_in..=BATCHES {
            let there = input.join(format!("{k:03}.txt"));
            if !there.exists() {
                link_in(reference_input, &input, k);
            }
            restarted.batch(k);
        }
        restarted.stop();
        let got = tree(&output);
        if &got != expected {
            let differ: std::collections::BTreeSet<&String> = expected
                .keys()
                .chain(got.keys())
                .filter(|name| expected.get(*name) != got.get(*name))
                .collect();
            failures.push(format!(
                "{}: restored on {processes} processes: the output directories differ from the uninterrupted \
                 run's at {differ:?}",
                if racing { "racing" } else { "between batches" }
            ));
        }
        for process in 0..processes {
            let text = restarted.stderr(process);
            if text.contains("panicked") {
                failures.push(format!(
                    "restored on {processes}, process {process}: a thread panicked: {text}"
                ));
            }
        }
    }
    failures
}

/// A checkpoint directory that is not shared: process 1 is given an empty
/// one. It must refuse to start, saying why, and process 0 must fail too.
fn unshared(base: &Path, checkpoint: &Path, input: &Path) -> Vec<String> {
    let copy = base.join("checkpoint-unshared");
    copy_tree(checkpoint, &copy, false);
    let empty = mkdir(&base.join("checkpoint-empty"));
    let output = base.join("unshared");
    let mut run = Run::spawn(base, "unshared", true, input, &output, &[Some(&copy), Some(&empty)]);
    let mut failures = Vec::new();
    let wanted = [
        "cannot agree on the zero time",
        "process 0 resumes the checkpoint there and this process finds none: every process must see the same \
         directory",
    ];
    for (process, wanted) in wanted.into_iter().enumerate() {
        let status = run.wait_exit(process);
        let text = run.stderr(process);
        if status.is_none_or(|s| s.success()) || !text.contains(wanted) {
            failures.push(format!(
                "an unshared checkpoint, process {process}: expected a failure with {wanted:?}, got {status:?}: {text}"
            ));
        }
    }
    failures
}

/// The processes of one run, each told its batches on stdin.
struct Run {
    name: String,
    base: PathBuf,
    children: Vec<Child>,
    stdins: Vec<Option<ChildStdin>>,
    lines: Vec<mpsc::Receiver<String>>,
    /// The batches recovery ran again, per process.
    rerun: Vec<u64>,
}

impl Run {
    fn start(
        base: &Path,
        name: &str,
        processes: usize,
        mesh: bool,
        input: &Path,
        output: &Path,
        checkpoint: Option<&Path>,
    ) -> Run {
        let checkpoints = vec![checkpoint; processes];
        let mut run = Run::spawn(base, name, mesh, input, output, &checkpoints);
        for process in 0..processes {
            let line = run.expect(process, "ready ");
            run.rerun.push(line["ready ".len()..].parse().expect("a count"));
        }
        run
    }

    /// Starts one process per entry of `checkpoints` (each its directory),
    /// without waiting for them.
    fn spawn(base: &Path, name: &str, mesh: bool, input: &Path, output: &Path, checkpoints: &[Option<&Path>]) -> Run {
        let processes = checkpoints.len();
        let hosts = base.join(format!("{name}.hosts"));
        if mesh {
            let ports = free_ports(processes);
            let text: String = ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect();
            std::fs::write(&hosts, text).expect("write hosts");
        }
        let mut run = Run {
            name: name.to_owned(),
            base: base.to_path_buf(),
            children: Vec::new(),
            stdins: Vec::new(),
            lines: Vec::new(),
            rerun: Vec::new(),
        };
        for (process, checkpoint) in checkpoints.iter().enumerate() {
            let mut child = Command::new(std::env::current_exe().expect("own path"))
                .arg("--child")
                .arg(process.to_string())
                .arg(if mesh { hosts.as_os_str() } else { "-".as_ref() })
                .arg(input)
                .arg(output)
                .arg(checkpoint.map_or("-".as_ref(), Path::as_os_str))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(run.stderr_path(process)).expect("create a stderr file"))
                .spawn()
                .expect("start a process");
            let stdout = child.stdout.take().expect("piped stdout");
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                // Timely prints its connection progress here too: only our lines count.
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if (line.starts_with("ready ") || line.starts_with("done ")) && tx.send(line).is_err() {
                        break;
                    }
                }
            });
            run.stdins.push(child.stdin.take());
            run.children.push(child);
            run.lines.push(rx);
        }
        run
    }

    fn stderr_path(&self, process: usize) -> PathBuf {
        self.base.join(format!("{}-{process}.stderr", self.name))
    }

    fn stderr(&self, process: usize) -> String {
        std::fs::read_to_string(self.stderr_path(process)).unwrap_or_default()
    }

    fn send(&mut self, process: usize, line: &str) {
        if let Some(stdin) = &mut self.stdins[process] {
            let _ = writeln!(stdin, "{line}");
        }
    }

    /// The next line of `process` starting with `prefix`, or a panic with its stderr.
    fn expect(&mut self, process: usize, prefix: &str) -> String {
        match self.lines[process].recv_timeout(STEP_LIMIT) {
            Ok(line) if line.starts_with(prefix) => line,
            other => {
                for child in &mut self.children {
                    let _ = child.kill();
                }
                panic!(
                    "{} process {process}: expected {prefix:?}, got {other:?}; its stderr: {}",
                    self.name,
                    self.stderr(process)
                );
            }
        }
    }

    /// Batch `k` on every process.
    fn batch(&mut self, k: u64) {
        for process in 0..self.children.len() {
            self.send(process, &k.to_string());
        }
        for process in 0..self.children.len() {
            self.expect(process, &format!("done {k}"));
        }
    }

    fn wait_exit(&mut self, process: usize) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + STEP_LIMIT;
        loop {
            if let Some(status) = self.children[process].try_wait().expect("wait for a process") {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = self.children[process].kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops every process; each must exit 0.
    fn stop(&mut self) {
        for process in 0..self.children.len() {
            self.send(process, "stop");
            self.stdins[process] = None;
        }
        for process in 0..self.children.len() {
            match self.wait_exit(process) {
                Some(status) if status.success() => {}
                other => panic!(
                    "{} process {process}: expected a clean stop, got {other:?}; its stderr: {}",
                    self.name,
                    self.stderr(process)
                ),
            }
        }
    }
}

/// The words of file `k`: a few from a small pool, so counts accumulate.
fn words(k: u64) -> String {
    let pool = ["apple", "pear", "fig", "kiwi", "plum", "lime", "date"];
    (0..40 + k * 3)
        .map(|i| pool[((k * 7 + i * i * 3) % pool.len() as u64) as usize])
        .collect::<Vec<_>>()
        .chunks(5)
        .map(|line| line.join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Moves file `k` into `dir`, whole.
fn move_in(dir: &Path, k: u64) {
    let tmp = dir.join(format!(".{k}.tmp"));
    std::fs::write(&tmp, format!("{}\n", words(k))).expect("write an input file");
    std::fs::rename(&tmp, dir.join(format!("{k:03}.txt"))).expect("move an input file in");
}

/// Links file `k` of `from` into `dir` (written by [`move_in`]: the same words).
fn link_in(from: &Path, dir: &Path, k: u64) {
    let name = format!("{k:03}.txt");
    std::fs::hard_link(from.join(&name), dir.join(&name)).expect("link an input file in");
}

fn mkdir(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("make a directory");
    dir.to_path_buf()
}

/// Copies the tree `from` to `to`; with `link`, files are hard links (a
/// directory source knows a file by its inode too).
fn copy_tree(from: &Path, to: &Path, link: bool) {
    mkdir(to);
    for entry in std::fs::read_dir(from).expect("list a directory").flatten() {
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if source.is_dir() {
            copy_tree(&source, &target, link);
        } else if link {
            std::fs::hard_link(&source, &target).expect("link a file");
        } else {
            std::fs::copy(&source, &target).expect("copy a file");
        }
    }
}

/// Every file under `root` but hidden ones (locks), by relative path.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else {
                let name = path
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
                files.insert(name, std::fs::read(&path).expect("read an output file"));
            }
        }
    }
    files
}
