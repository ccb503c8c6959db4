//! Live socket streams against real TCP servers on loopback. The scheduler
//! runs on a manual clock: each test waits until the receiver has stored what
//! the server sent, then advances the clock by one interval, so batch
//! contents are exact however loaded the machine is.

mod live_support;

use live_support::*;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use streamflow::live::{ManualClock, StreamingEvent, sinks, sources};
use streamflow::prelude::*;
use streamflow::{StreamingContext, StreamingHandle};

fn start_echo(port: u16, clock: &Arc<ManualClock>, events: &Events) -> (StreamingHandle, sinks::Collected<String>) {
    let (sink, collected) = sinks::collect();
    let handle = StreamingContext::new(Echo::new())
        .clock(clock.clone())
        .restart_backoff(Duration::from_millis(10), Duration::from_millis(50))
        .listener(events.listener())
        .input("lines", sources::socket_text_stream("127.0.0.1", port))
        .unwrap()
        .output("out", sink)
        .unwrap()
        .start()
        .unwrap();
    (handle, collected)
}

/// Advances the clock by one interval and waits for that batch.

#[test]
fn lines_split_across_writes_are_reassembled() {
    let (listener, port) = listen();
    let clock = Arc::new(ManualClock::new());
    let events = Events::default();
    let (handle, collected) = start_echo(port, &clock, &events);
    let mut conn = accept(&listener);
    for piece in ["hel", "lo wor", "ld\r\nsec", "ond\n", "", "thi", "rd", "\n"] {
        conn.write_all(piece.as_bytes()).unwrap();
        conn.flush().unwrap();
        std::thread::sleep(Duration::from_millis(15));
    }
    assert!(handle.wait_for_records("lines", 3, PATIENCE));
    next_batch(&clock, &handle);
    assert_eq!(
        collected.batches(),
        vec![(
            Time::from_millis(100),
            vec!["hello world".to_owned(), "second".into(), "third".into()]
        )]
    );
    // Batch 2 is empty: nothing arrived in [100, 200).
    next_batch(&clock, &handle);
    assert_eq!(collected.batches()[1], (Time::from_millis(200), vec![]));
    handle.stop(false).unwrap();
    let stats = handle.input_stats("lines").unwrap();
    assert_eq!((stats.records, stats.rejected), (3, 0));
}

#[test]
fn lines_that_are_not_utf8_are_counted_and_skipped() {
    let (listener, port) = listen();
    let clock = Arc::new(ManualClock::new());
    let events = Events::default();
    let (handle, collected) = start_echo(port, &clock, &events);
    let mut conn = accept(&listener);
    conn.write_all(b"good 1\n\xff\xfe\xfd\nbad \xc3\x28 here\ngood 2\n")
        .unwrap();
    assert!(handle.wait_for_records("lines", 2, PATIENCE));
    next_batch(&clock, &handle);
    assert_eq!(collected.elements(), vec!["good 1", "good 2"]);
    let stats = handle.input_stats("lines").unwrap();
    assert_eq!((stats.records, stats.rejected), (2, 2));
    // The stream goes on after bad lines.
    conn.write_all(b"good 3\n").unwrap();
    assert!(handle.wait_for_records("lines", 3, PATIENCE));
    next_batch(&clock, &handle);
    assert_eq!(collected.elements(), vec!["good 1", "good 2", "good 3"]);
    handle.stop(false).unwrap();
    let reported = events
        .all()
        .into_iter()
        .filter(|e| matches!(e, StreamingEvent::ReceiverError(r) if r.last_error.as_deref().is_some_and(|m| m.contains("not UTF-8"))))
        .count();
    assert_eq!(reported, 2);
}

#[test]
fn a_server_that_drops_and_comes_back_loses_nothing() {
    let (listener, port) = listen();
    let clock = Arc::new(ManualClock::new());
    let events = Events::default();
    let (handle, collected) = start_echo(port, &clock, &events);
    // First connection: 50 lines and a last line without its newline, then
    // the server goes away entirely (connections are refused for a while).
    let mut conn = accept(&listener);
    for i in 0..50 {
        writeln!(conn, "line {i}").unwrap();
    }
    conn.write_all(b"partial line").unwrap();
    drop(conn);
    drop(listener);
    assert!(handle.wait_for_records("lines", 51, PATIENCE));
    // Wait for at least one refused reconnection.
    let deadline = std::time::Instant::now() + PATIENCE;
    while handle.input_stats("lines").unwrap().errors < 2 {
        assert!(std::time::Instant::now() < deadline, "no refused connection reported");
        std::thread::sleep(Duration::from_millis(5));
    }
    next_batch(&clock, &handle);
    // The server comes back on the same port.
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let mut conn = accept(&listener);
    for i in 50..100 {
        writeln!(conn, "line {i}").unwrap();
    }
    assert!(handle.wait_for_records("lines", 101, PATIENCE));
    next_batch(&clock, &handle);
    handle.stop(false).unwrap();

    let mut expected: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
    expected.push("partial line".into());
    expected.extend((50..100).map(|i| format!("line {i}")));
    assert_eq!(collected.elements(), expected);
    let stats = handle.input_stats("lines").unwrap();
    assert_eq!(stats.records, 101);
    assert!(stats.restarts >= 2, "{stats:?}");
    let errors: Vec<String> = events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            StreamingEvent::ReceiverError(r) => r.last_error,
            _ => None,
        })
        .collect();
    assert!(errors.iter().any(|m| m.contains("closed the connection")), "{errors:?}");
    assert!(errors.iter().any(|m| m.contains("cannot connect")), "{errors:?}");
}

#[test]
fn a_server_that_never_answers_gives_empty_batches_and_stops_promptly() {
    // The server accepts and then says nothing.
    let (listener, port) = listen();
    let clock = Arc::new(ManualClock::new());
    let events = Events::default();
    let (handle, collected) = start_echo(port, &clock, &events);
    let _silent = accept(&listener);
    for _ in 0..3 {
        next_batch(&clock, &handle);
    }
    handle.stop(true).unwrap();
    // A graceful stop cuts one last batch; every batch is there, all empty.
    let times: Vec<u64> = collected.batches().iter().map(|(t, _)| t.as_millis()).collect();
    assert_eq!(times, vec![100, 200, 300, 400]);
    assert!(collected.elements().is_empty());
    assert_eq!(handle.input_stats("lines").unwrap().records, 0);
    let all = events.all();
    // The receiver starts (on its own thread) before the first batch.
    let receiver_started = all.iter().position(|e| matches!(e, StreamingEvent::ReceiverStarted(_)));
    let first_batch = all.iter().position(|e| matches!(e, StreamingEvent::BatchSubmitted(_)));
    assert!(receiver_started.is_some() && receiver_started < first_batch, "{all:?}");
    assert!(matches!(all.last(), Some(StreamingEvent::Stopped)));
    assert!(all.iter().any(|e| matches!(e, StreamingEvent::ReceiverStopped(_))));
}

#[test]
fn a_refused_connection_is_reported_and_retried_not_fatal() {
    let (listener, port) = listen();
    drop(listener);
    let clock = Arc::new(ManualClock::new());
    let events = Events::default();
    let (handle, _collected) = start_echo(port, &clock, &events);
    let deadline = std::time::Instant::now() + PATIENCE;
    while handle.input_stats("lines").unwrap().errors < 3 {
        assert!(std::time::Instant::now() < deadline, "no retries reported");
        std::thread::sleep(Duration::from_millis(5));
    }
    next_batch(&clock, &handle);
    assert!(!handle.is_terminated());
    handle.stop(false).unwrap();
}

#[test]
fn a_graceful_stop_processes_everything_received() {
    let (listener, port) = listen();
    let (sink, collected) = sinks::collect::<(String, u64)>();
    // The system clock: batches every 100 ms.
    let handle = StreamingContext::new(Words::new())
        .input("lines", sources::socket_text_stream("127.0.0.1", port))
        .unwrap()
        .output("counts", sink)
        .unwrap()
        .start()
        .unwrap();
    let mut conn = accept(&listener);
    for i in 0..2000 {
        writeln!(conn, "w{} common", i % 7).unwrap();
    }
    assert!(handle.wait_for_records("lines", 2000, PATIENCE));
    handle.stop(true).unwrap();
    let mut totals = std::collections::BTreeMap::<String, u64>::new();
    for (word, n) in collected.elements() {
        *totals.entry(word).or_insert(0) += n;
    }
    assert_eq!(totals.get("common"), Some(&2000));
    assert_eq!(totals.values().sum::<u64>(), 4000);
    let records: usize = handle.batches().iter().map(|b| b.records()).sum();
    assert_eq!(records, 2000);
}

/// The messages of the receiver's errors the listeners heard.
fn input_errors(events: &Events) -> Vec<String> {
    events
        .all()
        .into_iter()
        .filter_map(|e| match e {
            StreamingEvent::ReceiverError(r) => r.last_error,
            _ => None,
        })
        .collect()
}

#[test]
fn an_unterminated_last_line_is_not_a_record_at_a_stop() {
    // Before: "abc" (no newline) became a record when the job stopped.
    let (listener, port) = listen();
    let clock = Arc::new(ManualClock::new());
    let events = Events::default();
    let (handle, collected) = start_echo(port, &clock, &events);
    let mut conn = accept(&listener);
    conn.write_all(b"one\ntwo\nabc").unwrap();
    assert!(handle.wait_for_records("lines", 2, PATIENCE));
    std::thread::sleep(Duration::from_millis(100));
    handle.stop(true).unwrap();
    assert_eq!(collected.elements(), ["one", "two"]);
    let stats = handle.input_stats("lines").unwrap();
    assert_eq!((stats.records, stats.rejected), (2, 1));
    assert!(
        input_errors(&events).contains(
            &"an unterminated line of 3 bytes was dropped: the stream was stopped or lost before its newline"
                .to_owned()
        ),
        "{:?}",
        input_errors(&events)
    );
}

#[test]
fn a_line_longer_than_the_limit_is_skipped_counted_and_reported() {
    // Before: a line grew in memory until its newline came, however long.
    let (listener, port) = listen();
    let clock = Arc::new(ManualClock::new());
    let events = Events::default();
    let (handle, collected) = start_echo(port, &clock, &events);
    let mut conn = accept(&listener);
    let mut long = vec![b'x'; 3 << 20];
    long.push(b'\n');
    conn.write_all(&long).unwrap();
    conn.write_all(b"after\n").unwrap();
    assert!(handle.wait_for_records("lines", 1, PATIENCE));
    next_batch(&clock, &handle);
    assert_eq!(collected.elements(), ["after"]);
    let stats = handle.input_stats("lines").unwrap();
    assert_eq!((stats.records, stats.rejected), (1, 1));
    handle.stop(true).unwrap();
    assert!(
        input_errors(&events)
            .contains(&"a line of 3145728 bytes is longer than the limit of 1048576 bytes; line skipped".to_owned()),
        "{:?}",
        input_errors(&events)
    );
}

#[test]
fn a_flood_of_bad_lines_is_counted_one_by_one_and_reported_per_batch() {
    // Before: one listener event per rejected line, queued without bound.
    let (listener, port) = listen();
    let clock = Arc::new(ManualClock::new());
    let events = Events::default();
    let (handle, collected) = start_echo(port, &clock, &events);
    let mut conn = accept(&listener);
    const BAD: u64 = 50_000;
    let mut flood = Vec::new();
    for _ in 0..BAD {
        flood.extend_from_slice(b"\xff bad\n");
    }
    flood.extend_from_slice(b"good\n");
    conn.write_all(&flood).unwrap();
    assert!(handle.wait_for_records("lines", 1, PATIENCE));
    next_batch(&clock, &handle);
    handle.stop(true).unwrap();
    assert_eq!(collected.elements(), ["good"]);
    let stats = handle.input_stats("lines").unwrap();
    assert_eq!((stats.records, stats.rejected, stats.errors), (1, BAD, BAD));
    let reports = input_errors(&events);
    // Ten one by one, then one summary for the rest of the batch.
    let single = reports
        .iter()
        .filter(|m| m.contains("not UTF-8") && !m.contains("more problems"))
        .count();
    assert_eq!(single, 10, "{reports:?}");
    let summary = reports
        .iter()
        .find(|m| m.starts_with("49990 more problems in this batch were counted but not reported one by one"))
        .unwrap_or_else(|| panic!("{reports:?}"));
    assert!(summary.ends_with("line skipped"), "{summary}");
}
