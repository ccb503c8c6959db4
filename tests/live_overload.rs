//! Overload: a socket sends far faster than the job processes. Memory (the
//! records held by receivers and queued batches) must stay under the
//! configured bound, nothing may be lost, and the job must be back to idle
//! batches once the load stops. Asserts counts, never timings.

mod live_support;

use live_support::*;
use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use streamflow::StreamingContext;
use streamflow::live::{PidSettings, StatusLine, sinks, sources};
use streamflow::prelude::*;

/// Records the sender sends: about 2 MB, written as fast as TCP takes it.
const LINES: u64 = 60_000;
/// The bound on buffered records.
const BOUND: usize = 3_000;
/// Processing cost per record: 50 000 records/s, far below what a loopback
/// socket delivers.
const COST: Duration = Duration::from_micros(20);

#[test]
fn an_overloaded_job_stays_within_its_memory_bound_and_recovers() {
    let (listener, port) = listen();
    let processed = Arc::new(AtomicU64::new(0));
    let counted = processed.clone();
    let (sink, collected) = sinks::collect::<String>();
    let handle = StreamingContext::new(Echo::new())
        .max_buffered_records(BOUND)
        .status_line(StatusLine::Never)
        // A floor well above zero keeps the test short on a loaded machine;
        // the memory bound is what is under test.
        .rate_estimator(PidSettings {
            min_rate: 20_000.0,
            ..PidSettings::default()
        })
        .input("lines", sources::socket_text_stream("127.0.0.1", port))
        .unwrap()
        // The slow part: a sink that takes COST per record.
        .output(
            "out",
            sinks::foreach(move |batch: &Batch<String>, _t: Time| {
                std::thread::sleep(COST * batch.len() as u32);
                counted.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }),
        )
        .unwrap()
        .output("out", sink)
        .unwrap()
        .start()
        .unwrap();

    let sender = std::thread::spawn(move || {
        let conn = accept(&listener);
        let mut out = BufWriter::with_capacity(64 * 1024, conn);
        for i in 0..LINES {
            writeln!(out, "record number {i:>12} of the overload").unwrap();
        }
        out.flush().unwrap();
        // Keep the connection open until the test is done reading.
        out.into_inner().unwrap()
    });
    let _conn = sender.join().unwrap();

    // Everything sent is processed.
    let deadline = std::time::Instant::now() + PATIENCE * 3;
    while processed.load(Ordering::Relaxed) < LINES {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {LINES} records processed",
            processed.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The load has stopped: the job goes back to empty batches.
    let after = handle.batches_completed();
    assert!(handle.wait_for_batches(after + 3, PATIENCE));
    let peak = handle.peak_buffered_records();
    let rate = handle.receiver_rate("lines");
    handle.stop(true).unwrap();

    assert!(peak <= BOUND, "peak {peak} over the bound {BOUND}");
    assert!(peak >= BOUND / 2, "the job was not overloaded (peak {peak})");
    assert!(rate.is_some(), "backpressure never set a rate");
    let batches = handle.batches();
    assert!(
        batches.iter().rev().take(3).all(|b| b.records() == 0),
        "{:?}",
        &batches[batches.len() - 3..]
    );
    assert_eq!(handle.input_stats("lines").unwrap().records, LINES);
    // Nothing lost, nothing duplicated, in order.
    let lines = collected.elements();
    assert_eq!(lines.len() as u64, LINES);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line, &format!("record number {i:>12} of the overload"));
    }
}
