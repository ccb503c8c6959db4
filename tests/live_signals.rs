//! Stopping on SIGTERM, on a real process: this test binary runs itself
//! again as a child (one test, chosen by name, with its settings in the
//! environment), the child runs a live job with `stop_gracefully_on_signals`,
//! and the parent sends it SIGTERM with `kill`, then reads what it wrote.

mod live_support;

use live_support::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};
use streamflow::StreamingContext;
use streamflow::live::{StatusLine, sinks, sources};
use streamflow::prelude::*;

/// Set in the child: the directory it works in.
const CHILD_DIR: &str = "STREAMFLOW_SIGNAL_CHILD_DIR";
/// Set in the child: the port of the parent's line server.
const CHILD_PORT: &str = "STREAMFLOW_SIGNAL_CHILD_PORT";
/// Set in the child: how many lines to wait for before saying it is ready.
const CHILD_LINES: &str = "STREAMFLOW_SIGNAL_CHILD_LINES";
/// Set in the child: how long its slow sink takes per batch (ms).
const CHILD_SINK_MS: &str = "STREAMFLOW_SIGNAL_CHILD_SINK_MS";

/// The child: a job reading the parent's socket, writing every batch as text
/// files, slowly. Once it has accepted every line it writes `ready`; once
/// the job has stopped, `report` (the stop's counts) and it exits 0.
#[test]
fn signal_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return; // Only ever run as the child of the tests below.
    };
    let dir = PathBuf::from(dir);
    let env = |name: &str| std::env::var(name).unwrap().parse::<u64>().unwrap();
    let (port, lines, sink_ms) = (env(CHILD_PORT) as u16, env(CHILD_LINES), env(CHILD_SINK_MS));
    let prefix = dir.join("out/batch").to_string_lossy().into_owned();
    let handle = StreamingContext::new(Echo::new())
        .status_line(StatusLine::Never)
        .backpressure(false)
        .stop_gracefully_on_signals()
        .input("lines", sources::socket_text_stream("127.0.0.1", port))
        .unwrap()
        .output::<String>("out", sinks::save_as_text_files(prefix, "txt"))
        .unwrap()
        .output(
            "out",
            sinks::foreach(move |batch: &Batch<String>, _t: Time| {
                if !batch.is_empty() {
                    std::thread::sleep(Duration::from_millis(sink_ms));
                }
            }),
        )
        .unwrap()
        .start()
        .unwrap();
    assert!(handle.wait_for_records("lines", lines, PATIENCE));
    std::fs::write(dir.join("ready"), b"").unwrap();
    let result = handle.await_termination();
    let report = handle.unprocessed();
    std::fs::write(
        dir.join("report"),
        format!(
            "{} {} {:?}",
            report.unprocessed_records,
            report.dropped_batches,
            result.map_err(|e| e.to_string())
        ),
    )
    .unwrap();
    std::process::exit(0);
}

/// Starts the child on `port`, waiting for `lines` lines.
fn spawn_child(dir: &Path, port: u16, lines: u64, sink_ms: u64) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["signal_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_PORT, port.to_string())
        .env(CHILD_LINES, lines.to_string())
        .env(CHILD_SINK_MS, sink_ms.to_string())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + PATIENCE;
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn kill_term(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for the child to exit, at most PATIENCE (then kills it and fails).
fn wait_exit(child: &mut std::process::Child) -> ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the child did not exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every line the child wrote, batch after batch (complete batches only).
fn written_lines(dir: &Path) -> Vec<String> {
    let out = dir.join("out");
    let Ok(entries) = std::fs::read_dir(&out) else {
        return Vec::new();
    };
    let mut batches: Vec<(u64, PathBuf)> = entries
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            let time = name.strip_prefix("batch-")?.strip_suffix(".txt")?.parse().ok()?;
            Some((time, p))
        })
        .collect();
    batches.sort();
    batches
        .iter()
        .flat_map(|(_, p)| sinks::read_text_files(p).unwrap().into_iter().flatten())
        .collect()
}

/// Sends `lines` numbered lines on one connection, in `chunks` writes spread
/// over `spread`, and keeps the connection open.
fn serve(listener: std::net::TcpListener, lines: u64, chunks: u64, spread: Duration) -> std::net::TcpStream {
    let mut conn = accept(&listener);
    let per_chunk = lines / chunks;
    for c in 0..chunks {
        let text: String = (c * per_chunk..(c + 1) * per_chunk)
            .map(|i| format!("line {i}\n"))
            .collect();
        conn.write_all(text.as_bytes()).unwrap();
        std::thread::sleep(spread / chunks as u32);
    }
    conn
}

fn expected(lines: u64) -> Vec<String> {
    (0..lines).map(|i| format!("line {i}")).collect()
}

#[test]
fn sigterm_drains_writes_everything_and_exits_zero() {
    let dir = TempDir::new("sigterm");
    let (listener, port) = listen();
    const LINES: u64 = 400;
    // 150 ms per batch: batches queue while lines arrive over 1 s.
    let mut child = spawn_child(dir.path(), port, LINES, 150);
    let _conn = serve(listener, LINES, 20, Duration::from_secs(1));
    wait_for_file(&dir.path().join("ready"));
    kill_term(&child);
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status:?}");
    // Drained: every accepted line was processed and written, in order.
    assert_eq!(written_lines(dir.path()), expected(LINES));
    let report = std::fs::read_to_string(dir.path().join("report")).unwrap();
    assert_eq!(report, "0 0 Ok(())");
    // No temporary directory of the sink is left.
    let hidden: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && !n.ends_with(".lock"))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[test]
fn a_second_sigterm_stops_immediately_and_counts_what_it_dropped() {
    let dir = TempDir::new("sigterm-twice");
    let (listener, port) = listen();
    const LINES: u64 = 400;
    // 2 s per batch: draining the ~10 queued batches would take 20 s.
    let mut child = spawn_child(dir.path(), port, LINES, 2000);
    let _conn = serve(listener, LINES, 20, Duration::from_secs(1));
    wait_for_file(&dir.path().join("ready"));
    kill_term(&child);
    std::thread::sleep(Duration::from_millis(300));
    kill_term(&child);
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status:?}");
    let written = written_lines(dir.path());
    let report = std::fs::read_to_string(dir.path().join("report")).unwrap();
    let fields: Vec<&str> = report.splitn(3, ' ').collect();
    assert_eq!(fields[2], "Ok(())", "{report}");
    let (unprocessed, dropped): (u64, u64) = (fields[0].parse().unwrap(), fields[1].parse().unwrap());
    // Not drained: batches were dropped, and every accepted line is either
    // written (a prefix, in order) or counted as unprocessed.
    assert!(dropped > 0, "{report}");
    assert!((written.len() as u64) < LINES, "{} lines written", written.len());
    assert_eq!(written, expected(written.len() as u64));
    assert_eq!(written.len() as u64 + unprocessed, LINES, "{report}");
}
