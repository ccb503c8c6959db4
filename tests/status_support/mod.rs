//! Helpers of the status page tests: a job whose failures carry markup, a
//! way to run it batch by batch with its page on, and a plain HTTP/1.1 GET
//! over TCP.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamflow::live::{ManualClock, sinks, sources};
use streamflow::prelude::*;
use streamflow::{StreamingContext, StreamingHandle};

/// What a failing batch's line holds: markup that would run, or add
/// elements, if the page did not escape it.
pub const HOSTILE: &str = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">";

stream_job! {
    /// Word counts; a line starting with `fail:` makes its batch fail with
    /// the rest of the line as the panic message.
    pub job Hostile {
        batch_interval = 100ms;
        input lines: String;
        output counts: (String, u64) = lines
            .map(|line: String| match line.strip_prefix("fail:") {
                Some(message) => panic!("{message}"),
                None => line,
            })
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
    }
}

/// The batch interval of [`Hostile`].
pub const INTERVAL: Duration = Duration::from_millis(100);

/// A generous bound for waits that normally take milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The lines of batch `k` (1-based) of [`batches`]: `k` lines of three
/// words, except batch 3, which fails with [`HOSTILE`].
pub fn batch_lines(k: usize) -> Vec<String> {
    if k == 3 {
        return vec![format!("fail:{HOSTILE}")];
    }
    (0..k).map(|i| format!("w{i} w{} x", i % 3)).collect()
}

/// `n` batches of [`batch_lines`].
pub fn batches(n: usize) -> Vec<Vec<String>> {
    (1..=n).map(batch_lines).collect()
}

/// [`Hostile`] running on a manual clock over `n` queued batches, with its
/// status page on a free loopback port; failed batches do not stop it.
pub fn start(n: usize) -> (StreamingHandle, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let handle = StreamingContext::new(Hostile::new())
        .clock(clock.clone())
        .input("lines", sources::queue_stream(batches(n)))
        .unwrap()
        .output("counts", sinks::collect::<(String, u64)>().0)
        .unwrap()
        .stop_on_failure(false)
        .status_page("127.0.0.1:0")
        .start()
        .unwrap();
    (handle, clock)
}

/// Runs `n` batches, and waits until the page has heard of all of them.
pub fn run_batches(handle: &StreamingHandle, clock: &ManualClock, n: u64) {
    for k in 1..=n {
        clock.advance(INTERVAL);
        assert!(handle.wait_for_batches(k, PATIENCE), "batch {k} did not complete");
    }
    let deadline = Instant::now() + PATIENCE;
    let url = handle.status_page_url().unwrap();
    let wanted = format!("\"batches_completed\":{n},");
    while !get(&url, "/api/status").body.contains(&wanted) {
        assert!(Instant::now() < deadline, "the page never showed {n} batches");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `method path` on the server of `url` (`http://host:port/`), over TCP.
pub fn request(url: &str, method: &str, path: &str) -> Response {
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    let body = if chunked { dechunk(body) } else { body.to_owned() };
    Response { status, headers, body }
}

/// `GET path`.
pub fn get(url: &str, path: &str) -> Response {
    request(url, "GET", path)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
}
