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

/// Records per batch the convergence test's job processes at capacity:
/// 20 µs each, 50 000 records/s, 5 000 per 100 ms batch.
const CAPACITY_PER_BATCH: usize = 5_000;

#[test]
fn backpressure_converges_to_the_jobs_capacity_within_ten_batches() {
    // Before: no initial rate (the first batches ran unlimited, then the
    // rate sat at the 100 records/s floor while the backlog drained).
    let (listener, port) = listen();
    let handle = StreamingContext::new(Echo::new())
        .status_line(StatusLine::Never)
        .input("lines", sources::socket_text_stream("127.0.0.1", port))
        .unwrap()
        .output(
            "out",
            sinks::foreach(move |batch: &Batch<String>, _t: Time| {
                std::thread::sleep(COST * batch.len() as u32);
            }),
        )
        .unwrap()
        .start()
        .unwrap();
    // A sender far faster than the job, for 30 batches' worth of capacity.
    let sender = std::thread::spawn(move || {
        let conn = accept(&listener);
        let mut out = BufWriter::with_capacity(64 * 1024, conn);
        for i in 0..(30 * CAPACITY_PER_BATCH) {
            if writeln!(out, "record {i:>12}").is_err() {
                break;
            }
        }
        let _ = out.flush();
        out.into_inner().ok()
    });
    // Twenty batches with data.
    let deadline = std::time::Instant::now() + PATIENCE * 3;
    while handle.batches().iter().filter(|b| b.records() > 0).count() < 20 {
        assert!(std::time::Instant::now() < deadline, "{:?}", handle.batches());
        std::thread::sleep(Duration::from_millis(20));
    }
    let batches: Vec<usize> = handle
        .batches()
        .iter()
        .map(|b| b.records())
        .skip_while(|&n| n == 0)
        .collect();
    let _ = handle.stop(false).unwrap();
    drop(sender);
    eprintln!("records per batch: {batches:?}");
    // From the tenth batch on, the rate is within 2× of the capacity. (The
    // sink's sleeps only lengthen on a loaded machine, lowering the measured
    // capacity: the lower bound is the one a busy machine could break, so
    // it is checked on the median of the batches.)
    let later = &batches[10..20];
    assert!(
        later.iter().all(|&n| n <= 2 * CAPACITY_PER_BATCH),
        "records per batch: {batches:?}"
    );
    let mut sorted = later.to_vec();
    sorted.sort_unstable();
    assert!(sorted[5] >= CAPACITY_PER_BATCH / 2, "records per batch: {batches:?}");
}

#[test]
fn a_stuck_driver_queues_at_most_the_configured_batches() {
    // Before: the generator queued one more batch every interval, forever.
    let (release, stuck) = std::sync::mpsc::channel::<()>();
    let stuck = std::sync::Mutex::new(stuck);
    let queue = sources::Queue::new();
    queue.push(["first".to_owned()]);
    let (sink, collected) = sinks::collect::<String>();
    let handle = StreamingContext::new(Echo::new())
        .status_line(StatusLine::Never)
        .max_queued_batches(3)
        .input("lines", queue.stream())
        .unwrap()
        .output(
            "out",
            sinks::foreach(move |batch: &Batch<String>, _t: Time| {
                if batch.iter().any(|line| line == "first") {
                    let _ = stuck.lock().unwrap().recv();
                }
            }),
        )
        .unwrap()
        .output("out", sink)
        .unwrap()
        .start()
        .unwrap();
    // Twenty intervals while the first batch is stuck.
    assert!(handle.wait_for_records("lines", 1, PATIENCE));
    std::thread::sleep(INTERVAL * 20);
    let queued = handle.queued_batches();
    queue.push(["second".to_owned()]);
    release.send(()).unwrap();
    assert!(collected.wait_until(PATIENCE, |b| b.iter().any(|(_, v)| v == &["second"])));
    let report = handle.stop(true).unwrap();
    assert!(queued <= 3, "{queued} batches queued");
    assert_eq!(collected.elements(), ["first", "second"]);
    assert_eq!(report, streamflow::live::StopReport::default());
    // Batch times stay zero + k × interval (wall-clock), in order, with no gap.
    let times: Vec<u64> = collected.batches().iter().map(|(t, _)| t.as_millis()).collect();
    assert!(
        times.iter().enumerate().all(|(k, &t)| t == times[0] + k as u64 * 100) && times[0].is_multiple_of(100),
        "{times:?}"
    );
}
