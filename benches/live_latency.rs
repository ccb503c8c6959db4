//! The latency of a live job with 10 ms batches at a light load: how long a
//! batch waits for its turn (scheduling delay) and how long it takes
//! (processing time) when there is little to do, which is the engine's fixed
//! cost per batch.
//!
//! ```text
//! cargo bench --bench live_latency             # 3 runs of 10 s, interleaved
//! ROUNDS=5 SECONDS=20 cargo bench --bench live_latency
//! ```
//!
//! Each round runs the quick start's word count on a socket twice: at 1 000
//! lines of 10 words per second (10 lines a batch) and at 10 000 (100 lines a
//! batch), one after the other, alternating which goes first. The table gives,
//! over the batches of every round, the median, 99th percentile and largest
//! scheduling delay and processing time. The first second of each run (the
//! receiver connecting, the first batches' tables growing) is not counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Duration;
use streamflow::StreamingContext;
use streamflow::live::{StatusLine, sinks, sources};
use streamflow::prelude::*;

stream_job! {
    /// The quick start's word count, 10 ms batches.
    pub job Count10 {
        batch_interval = 10ms;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
    }
}

/// Lines per second offered.
const RATES: [u64; 2] = [1_000, 10_000];
/// Batches at the start of a run that are not counted.
const SKIPPED: usize = 100;

/// Scheduling delays and processing times of one run's counted batches, in
/// microseconds.
#[derive(Default)]
struct Times {
    delays: Vec<f64>,
    processing: Vec<f64>,
}

/// Runs the word count at `rate` lines per second for `duration`.
fn run(rate: u64, duration: Duration, times: &mut Times) {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let port = streamflow_workspace::paced_line_server(rate, stop.clone(), sent);
    let handle = StreamingContext::new(Count10::new())
        .status_line(StatusLine::Never)
        .block_interval(Duration::from_millis(5))
        .input("lines", sources::socket_text_stream("127.0.0.1", port))
        .expect("the port is declared")
        .output::<(String, u64)>("counts", sinks::discard())
        .expect("the port is declared")
        .start()
        .expect("the job starts");
    std::thread::sleep(duration);
    let batches = handle.batches();
    let _ = handle.stop(false);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    for batch in batches.iter().skip(SKIPPED) {
        if let (Some(delay), Some(processing)) = (batch.scheduling_delay, batch.processing_time) {
            times.delays.push(micros(delay));
            times.processing.push(micros(processing));
        }
    }
}

/// The value below which `q` of `sorted` lies.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    // `cargo test --benches` runs bench targets with `--test`: nothing to check here.
    if std::env::args().any(|arg| arg == "--test") {
        return;
    }
    let env = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let rounds = env("ROUNDS", 3);
    let duration = Duration::from_secs(env("SECONDS", 10));
    let mut times: Vec<Times> = RATES.iter().map(|_| Times::default()).collect();
    for round in 0..rounds {
        for i in 0..RATES.len() {
            let r = (i + round as usize) % RATES.len();
            run(RATES[r], duration, &mut times[r]);
        }
    }
    println!(
        "live word count, 10 ms batches; {rounds} rounds of {} s per rate",
        duration.as_secs()
    );
    println!(
        "| lines/s | batches | delay p50 µs | delay p99 µs | delay max µs | processing p50 µs | processing p99 µs |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (rate, t) in RATES.iter().zip(&mut times) {
        if t.delays.is_empty() {
            println!("| {rate} | 0 | - | - | - | - | - |");
            continue;
        }
        t.delays.sort_by(f64::total_cmp);
        t.processing.sort_by(f64::total_cmp);
        println!(
            "| {rate} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            t.delays.len(),
            quantile(&t.delays, 0.5),
            quantile(&t.delays, 0.99),
            t.delays[t.delays.len() - 1],
            quantile(&t.processing, 0.5),
            quantile(&t.processing, 0.99),
        );
    }
}
