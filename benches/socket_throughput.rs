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
//!
//! Each rate runs twice, interleaved: plain, and checkpointed (`checkpoint`
//! into a fresh directory under the system's temporary directory), which
//! turns on the receiver's write-ahead log: every block is written and
//! fsynced before a batch can take it, and every batch also writes its
//! inputs and commit records. The summary gives the ratio of the highest
//! flat rates and of the time per batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
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
    wal: bool,
    offered: u64,
    ingested: f64,
    mean_processing_ms: f64,
    max_late_delay_ms: f64,
    flat: bool,
}

/// Runs `job` at `rate` for `duration`; with `wal`, checkpointed (the
/// receiver's write-ahead log on) into a fresh directory, removed after.
fn run<J: Job + 'static>(job: J, interval_ms: u64, rate: u64, duration: Duration, wal: bool) -> Row {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let port = streamflow_workspace::paced_line_server(rate, stop.clone(), sent.clone());
    let mut context = StreamingContext::new(job)
        .backpressure(false)
        .max_buffered_records(50_000_000)
        .status_line(StatusLine::Never)
        .block_interval(Duration::from_millis(interval_ms.clamp(5, 200) / 2))
        .input("lines", sources::socket_text_stream("127.0.0.1", port))
        .unwrap()
        // The counts are measured, not kept.
        .output::<(String, u64)>("counts", sinks::discard())
        .unwrap();
    let dir = std::env::temp_dir().join(format!(
        "streamflow-bench-wal-{}-{interval_ms}-{rate}",
        std::process::id()
    ));
    if wal {
        let _ = std::fs::remove_dir_all(&dir);
        context = context.checkpoint(&dir);
    }
    let handle = context.start().unwrap();
    std::thread::sleep(duration);
    let batches = handle.batches();
    let _ = handle.stop(false);
    stop.store(true, Ordering::Relaxed);
    drop(handle);
    if wal {
        let _ = std::fs::remove_dir_all(&dir);
    }
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
        wal,
        offered: rate,
        ingested,
        mean_processing_ms,
        max_late_delay_ms,
        flat,
    }
}

fn run_at(interval_ms: u64, rate: u64, duration: Duration, wal: bool) -> Row {
    if interval_ms == 100 {
        run(Count100::new(), interval_ms, rate, duration, wal)
    } else {
        run(Count10::new(), interval_ms, rate, duration, wal)
    }
}

/// The highest flat rate of each variant, and each variant's rows.
struct Summary {
    interval_ms: u64,
    highest: [Option<u64>; 2],
    rows: Vec<[Row; 2]>,
}

fn main() {
    // `cargo test --benches` runs bench targets with `--test`: nothing to check here.
    if std::env::args().any(|arg| arg == "--test") {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let duration = if quick {
        Duration::from_millis(1500)
    } else {
        Duration::from_secs(3)
    };
    println!(
        "{:>8} {:>5} {:>12} {:>14} {:>10} {:>12} {:>6} {:>9}",
        "batch", "wal", "offered/s", "ingested/s", "proc ms", "late delay", "flat", "proc/off"
    );
    let mut summaries = Vec::new();
    for interval_ms in [100u64, 10] {
        let mut summary = Summary {
            interval_ms,
            highest: [None, None],
            rows: Vec::new(),
        };
        let mut failed = [false, false];
        for (i, &rate) in RATES.iter().enumerate() {
            // Alternate which variant runs first.
            let order = if i % 2 == 0 { [false, true] } else { [true, false] };
            let mut pair = order.map(|wal| run_at(interval_ms, rate, duration, wal));
            pair.sort_by_key(|row| row.wal);
            for row in &pair {
                let ratio = if row.wal {
                    format!("{:.3}", row.mean_processing_ms / pair[0].mean_processing_ms)
                } else {
                    String::new()
                };
                println!(
                    "{:>6}ms {:>5} {:>12} {:>14.0} {:>10.2} {:>10.1}ms {:>6} {:>9}",
                    row.interval_ms,
                    if row.wal { "on" } else { "off" },
                    row.offered,
                    row.ingested,
                    row.mean_processing_ms,
                    row.max_late_delay_ms,
                    if row.flat { "yes" } else { "no" },
                    ratio
                );
            }
            // A variant's highest rate is the last flat one before its first overload.
            for (v, row) in pair.iter().enumerate() {
                if !failed[v] {
                    if row.flat {
                        summary.highest[v] = Some(rate);
                    } else {
                        failed[v] = true;
                    }
                }
            }
            summary.rows.push(pair);
            if failed.iter().all(|f| *f) {
                break;
            }
        }
        summaries.push(summary);
    }
    println!();
    println!(
        "highest rate with a flat scheduling delay (lines of 10 words per second), without and with the write-ahead log:"
    );
    for s in &summaries {
        let show = |h: Option<u64>| {
            h.map_or_else(
                || format!("below {}", RATES[0]),
                |r| format!("{r} ({} words/s)", r * 10),
            )
        };
        let ratio = match s.highest {
            [Some(off), Some(on)] => format!("{:.2}", on as f64 / off as f64),
            _ => "-".to_owned(),
        };
        println!(
            "  {:>3} ms batches: off {}, on {}; on/off {ratio}",
            s.interval_ms,
            show(s.highest[0]),
            show(s.highest[1])
        );
        // Per-batch time at the rates both variants kept up with.
        let both: Vec<&[Row; 2]> = s.rows.iter().filter(|p| p[0].flat && p[1].flat).collect();
        if let Some(top) = both.last() {
            let ratios: Vec<f64> = both
                .iter()
                .map(|p| p[1].mean_processing_ms / p[0].mean_processing_ms)
                .collect();
            println!(
                "      time per batch on/off at {} lines/s (the highest both kept up with): {:.3} ({:.2} / {:.2} ms); over every such rate: {:.3}–{:.3}",
                top[0].offered,
                top[1].mean_processing_ms / top[0].mean_processing_ms,
                top[1].mean_processing_ms,
                top[0].mean_processing_ms,
                ratios.iter().copied().fold(f64::INFINITY, f64::min),
                ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            );
        }
    }
}
