//! What a live job says on standard error by default, on real processes with
//! no `tracing` subscriber and no `RUST_LOG`: `network_word_count` pointed at
//! a port nobody listens on says so (once, not once per retry) and sums up at
//! the stop although its standard error is a pipe; with
//! `report_to_stderr(false)` the same job says nothing.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use streamflow::StreamingContext;
use streamflow::live::sources;
use streamflow::prelude::*;

const PATIENCE: Duration = Duration::from_secs(60);

/// Set in the child of the quiet test: the closed port to read.
const QUIET_PORT: &str = "STREAMFLOW_STDERR_REPORT_QUIET_PORT";

/// A loopback port with nothing listening on it (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The example binary, built by `cargo test` beside the test binaries (built
/// here when this test is run alone).
fn example(name: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let path = deps.parent().unwrap().join("examples").join(name);
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", name])
            .status()
            .unwrap();
        assert!(status.success(), "cannot build the example {name}");
    }
    path
}

/// The child's standard error, line by line, as it comes.
fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Lines until one contains `needle` (returned with those before it).
fn read_until(lines: &mpsc::Receiver<String>, needle: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return;
                }
            }
            Err(_) => panic!("no line with {needle:?} on standard error; got:\n{}", seen.join("\n")),
        }
    }
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut Child) {
    let deadline = Instant::now() + PATIENCE;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the child did not exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_job_reading_a_closed_port_says_so_and_sums_up_without_a_terminal() {
    let port = closed_port();
    let mut child = Command::new(example("network_word_count"))
        .args(["127.0.0.1", &port.to_string()])
        .env_remove("RUST_LOG")
        .env_remove("STREAMFLOW_STATUS_PAGE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    let mut seen = Vec::new();
    let refused = format!("[streamflow] input `lines` (socket 127.0.0.1:{port}): cannot connect to 127.0.0.1:{port}");
    read_until(&lines, &refused, &mut seen);
    // Retries go on (after 100 ms, doubling up to 2 s) while two batches pass.
    std::thread::sleep(Duration::from_millis(2500));
    terminate(&child);
    wait_exit(&mut child);
    seen.extend(lines.iter());
    let text = seen.join("\n");
    assert!(
        seen.iter().any(|line| line
            .starts_with("[streamflow] job `NetworkWordCount` started: a batch every 1000 ms; a summary every 10 s")),
        "{text}"
    );
    // Written once, then counted (the summary interval is 10 s).
    let written = seen.iter().filter(|line| line.starts_with(&refused)).count();
    let last = seen.last().unwrap();
    assert!(
        last.starts_with("[streamflow] job `NetworkWordCount` stopped after "),
        "the stop sums up last:\n{text}"
    );
    let errors: u64 = last
        .rsplit(", ")
        .next()
        .and_then(|e| e.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no error count in {last}"));
    // Once per summary interval at most: more than one line only on a machine
    // slow enough for this test to take over 10 s.
    assert!(
        written <= 2 && errors > written as u64,
        "{written} lines for {errors} errors:\n{text}"
    );
    assert!(last.contains(" batches (0 failed), 0 records, "), "{last}");
}

/// The child of the quiet test: the same job, with the reports turned off,
/// for three batches.
#[test]
fn quiet_child() {
    let Ok(port) = std::env::var(QUIET_PORT) else {
        return; // Only ever run as the child of the test below.
    };
    stream_job! {
        pub job Quiet {
            batch_interval = 200ms;
            input lines: String;
            lines.print();
        }
    }
    let handle = StreamingContext::new(Quiet::new())
        .report_to_stderr(false)
        .input("lines", sources::socket_text_stream("127.0.0.1", port.parse().unwrap()))
        .unwrap()
        .start()
        .unwrap();
    assert!(handle.wait_for_batches(3, PATIENCE));
    handle.stop(false).unwrap();
}

#[test]
fn report_to_stderr_false_says_nothing() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["quiet_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(QUIET_PORT, closed_port().to_string())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("[streamflow]"), "{stderr}");
}
