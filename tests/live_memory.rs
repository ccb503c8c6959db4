//! Memory bounded in bytes, measured on the process: 10 MB lines sent far
//! faster than a slow job processes them. The receiver must hold at most the
//! configured bytes, and the process's peak resident memory (VmHWM, read
//! from /proc/self/status) must stay under that bound plus a stated margin.
//! The only test of this binary, so that nothing else runs beside it.

mod live_support;

use live_support::*;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use streamflow::StreamingContext;
use streamflow::live::sources::{self, LineOptions, LongLines};
use streamflow::live::{StatusLine, sinks};
use streamflow::prelude::*;

/// Lines of 10 MB each: 400 MB in all, far more than the bound.
const LINES: u64 = 40;
const LINE_BYTES: usize = 10 << 20;
/// The bound on buffered bytes.
const BOUND: usize = 64 << 20;
/// What the process may hold beyond the bound: the line being assembled (up
/// to 16 MiB of capacity) and its decoded copy (10 MB) on the receiver's
/// thread, the sender's line (10 MB, in this same process), and the
/// allocator's slack.
const MARGIN: usize = 64 << 20;

#[test]
fn ten_megabyte_lines_into_a_slow_job_stay_within_the_byte_bound() {
    let baseline = status_bytes("VmHWM:");
    let (listener, port) = listen();
    let processed = Arc::new(AtomicU64::new(0));
    let counted = processed.clone();
    let handle = StreamingContext::new(Echo::new())
        .status_line(StatusLine::Never)
        // The memory bound alone holds the sender back.
        .backpressure(false)
        .max_buffered_bytes(BOUND)
        .input(
            "lines",
            sources::socket_text_stream_with(
                "127.0.0.1",
                port,
                LineOptions {
                    max_line_bytes: 16 << 20,
                    long_lines: LongLines::Skip,
                },
            ),
        )
        .unwrap()
        .output(
            "out",
            // Stuck for 4 s on the first lines (the receiver, unbounded,
            // would take in hundreds of MB meanwhile), then 50 ms per line.
            sinks::foreach(move |batch: &Batch<String>, _t: Time| {
                if !batch.is_empty() && counted.load(Ordering::Relaxed) == 0 {
                    std::thread::sleep(Duration::from_secs(4));
                }
                for line in batch.iter() {
                    assert_eq!(line.len(), LINE_BYTES);
                    std::thread::sleep(Duration::from_millis(50));
                }
                counted.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }),
        )
        .unwrap()
        .start()
        .unwrap();
    let sender = std::thread::spawn(move || {
        let mut conn = accept(&listener);
        let mut line = vec![b'x'; LINE_BYTES];
        line.push(b'\n');
        for _ in 0..LINES {
            conn.write_all(&line).unwrap();
        }
        conn
    });
    let _conn = sender.join().unwrap();
    let deadline = Instant::now() + PATIENCE * 3;
    while processed.load(Ordering::Relaxed) < LINES {
        assert!(
            Instant::now() < deadline,
            "only {} of {LINES} lines processed",
            processed.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let peak_buffered = handle.peak_buffered_bytes();
    handle.stop(true).unwrap();
    let stats = handle.input_stats("lines").unwrap();
    assert_eq!((stats.records, stats.rejected), (LINES, 0));
    assert!(
        peak_buffered <= BOUND,
        "buffered {peak_buffered} bytes, over the bound {BOUND}"
    );
    assert!(
        peak_buffered >= BOUND / 2,
        "the job was not held by the bound ({peak_buffered})"
    );
    let grown = status_bytes("VmHWM:").saturating_sub(baseline);
    assert!(
        grown <= BOUND + MARGIN,
        "peak resident memory grew by {} MiB, over the bound ({} MiB) plus the margin ({} MiB)",
        grown >> 20,
        BOUND >> 20,
        MARGIN >> 20
    );
    eprintln!("peak resident memory grew by {} MiB", grown >> 20);
}
