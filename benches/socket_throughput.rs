//! Socket word count under increasing input rates, with 100 ms and 10 ms
//! batches: for each batch interval, the highest rate (lines of ten words per
//! second) at which the scheduling delay stays flat, i.e. the job keeps up.
//!
//! ```text
//! cargo bench --bench socket_throughput            # about a minute
//! cargo bench --bench socket_throughput -- --quick # one short run per rate
//! ```
//!
//! A run is "flat" when, over its second half, no batch waited a whole batch
//! interval before starting and the receiver took at least 95 % of the lines
//! offered. Backpressure is off (it would hide the overload by slowing the
//! sender) and the memory bound is high.

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use streamflow::StreamingContext;
use streamflow::live::{StatusLine, sinks, sources};
use streamflow::prelude::*;

stream_job! {
    /// Word count, 100 ms batches.
    pub job Count100 {
        batch_interval = 100ms;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
    }
}

stream_job! {
    /// Word count, 10 ms batches.
    pub job Count10 {
        batch_interval = 10ms;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
    }
}

/// Lines per second offered, in increasing order.
const RATES: &[u64] = &[10_000, 30_000, 100_000, 200_000, 400_000, 800_000, 1_200_000, 1_600_000];

struct Row {
    interval_ms: u64,
    offered: u64,
    ingested: f64,
    mean_processing_ms: f64,
    max_late_delay_ms: f64,
    flat: bool,
}

/// Serves `rate` lines per second to one client until `stop`; counts lines sent.
fn paced_server(rate: u64, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else { return };
        let lines = streamflow_workspace::generated_lines(10 * 10_000, 1_000);
        let text: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\n").into_bytes()).collect();
        let offsets: Vec<usize> = std::iter::once(0)
            .chain(
                text.iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        let n = lines.len();
        let start = Instant::now();
        let mut done: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
            if due <= done {
                std::thread::sleep(Duration::from_micros(500));
                continue;
            }
            // Send what is due, at most one pass over the buffer at a time.
            let count = (due - done).min(n as u64) as usize;
            let first = (done % n as u64) as usize;
            let mut left = count;
            let mut at = first;
            while left > 0 {
                let take = left.min(n - at);
                if conn.write_all(&text[offsets[at]..offsets[at + take]]).is_err() {
                    return;
                }
                left -= take;
                at = (at + take) % n;
            }
            done += count as u64;
            sent.store(done, Ordering::Relaxed);
        }
    });
    port
}

fn run<J: Job + 'static>(job: J, interval_ms: u64, rate: u64, duration: Duration) -> Row {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let port = paced_server(rate, stop.clone(), sent.clone());
    let handle = StreamingContext::new(job)
        .backpressure(false)
        .max_buffered_records(50_000_000)
        .status_line(StatusLine::Never)
        .block_interval(Duration::from_millis(interval_ms.clamp(5, 200) / 2))
        .input("lines", sources::socket_text_stream("127.0.0.1", port))
        .unwrap()
        // The counts are measured, not kept.
        .output::<(String, u64)>("counts", sinks::discard())
        .unwrap()
        .start()
        .unwrap();
    std::thread::sleep(duration);
    let batches = handle.batches();
    let _ = handle.stop(false);
    stop.store(true, Ordering::Relaxed);
    let second_half = &batches[batches.len() / 2..];
    let records: usize = batches.iter().map(|b| b.records()).sum();
    let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    let mean_processing_ms = batches.iter().map(|b| ms(b.processing_time)).sum::<f64>() / batches.len().max(1) as f64;
    let max_late_delay_ms = second_half.iter().map(|b| ms(b.scheduling_delay)).fold(0.0, f64::max);
    // Lines ingested per second of batches cut.
    let covered = batches.len() as f64 * interval_ms as f64 / 1000.0;
    let ingested = records as f64 / covered.max(1e-9);
    let flat = !second_half.is_empty() && max_late_delay_ms < interval_ms as f64 && ingested >= 0.95 * rate as f64;
    Row {
        interval_ms,
        offered: rate,
        ingested,
        mean_processing_ms,
        max_late_delay_ms,
        flat,
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let duration = if quick {
        Duration::from_millis(1500)
    } else {
        Duration::from_secs(3)
    };
    println!(
        "{:>8} {:>12} {:>14} {:>10} {:>12} {:>6}",
        "batch", "offered/s", "ingested/s", "proc ms", "late delay", "flat"
    );
    let mut best = Vec::new();
    for interval_ms in [100u64, 10] {
        let mut highest = None;
        for &rate in RATES {
            let row = if interval_ms == 100 {
                run(Count100::new(), interval_ms, rate, duration)
            } else {
                run(Count10::new(), interval_ms, rate, duration)
            };
            println!(
                "{:>6}ms {:>12} {:>14.0} {:>10.2} {:>10.1}ms {:>6}",
                row.interval_ms,
                row.offered,
                row.ingested,
                row.mean_processing_ms,
                row.max_late_delay_ms,
                if row.flat { "yes" } else { "no" }
            );
            if !row.flat {
                break;
            }
            highest = Some(row.offered);
        }
        best.push((interval_ms, highest));
    }
    println!();
    println!("highest rate with a flat scheduling delay (lines of 10 words per second):");
    for (interval_ms, highest) in best {
        match highest {
            Some(rate) => println!("  {interval_ms:>3} ms batches: {rate} lines/s ({} words/s)", rate * 10),
            None => println!("  {interval_ms:>3} ms batches: below {} lines/s", RATES[0]),
        }
    }
}
