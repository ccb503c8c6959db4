//! Stopping: an immediate stop says what it dropped, a stop returns in
//! bounded time whatever the job's threads are doing, and a panic on one of
//! the runtime's own threads is an error, never a hang or a silent end.

mod live_support;

use live_support::*;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use streamflow::StreamingContext;
use streamflow::live::sources::{self, Cut, Reader, Source, SourceContext, SourceError};
use streamflow::live::{StatusLine, StopReport, StreamingError, StreamingEvent, UnprocessedInfo, sinks};
use streamflow::prelude::*;

#[test]
fn an_immediate_stop_reports_the_records_it_dropped() {
    // Five batches of ten records; the sink holds the first batch until the
    // stop is under way, so that the four others are queued when it comes.
    let (release, held) = mpsc::channel::<()>();
    let held = std::sync::Mutex::new(held);
    let (sink, collected) = sinks::collect::<String>();
    let events = Events::default();
    let batches: Vec<Vec<String>> = (0..5).map(|b| (0..10).map(|i| format!("{b}-{i}")).collect()).collect();
    let handle = StreamingContext::new(Echo::new())
        .status_line(StatusLine::Never)
        .listener(events.listener())
        .input("lines", sources::queue_stream(batches))
        .unwrap()
        .output(
            "out",
            sinks::foreach(move |batch: &Batch<String>, _t: Time| {
                if !batch.is_empty() {
                    let _ = held.lock().unwrap().recv();
                }
            }),
        )
        .unwrap()
        .output("out", sink)
        .unwrap()
        .start()
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    while handle.queued_batches() < 5 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    let stopper = {
        let handle = handle.clone();
        std::thread::spawn(move || handle.stop(false))
    };
    std::thread::sleep(Duration::from_millis(50));
    release.send(()).unwrap();
    let report = stopper.join().unwrap().unwrap();
    // The first batch ran; the four queued batches of ten records did not.
    assert_eq!(collected.elements().len(), 10);
    assert_eq!(report.unprocessed_records, 40, "{report:?}");
    assert!(report.dropped_batches >= 4, "{report:?}");
    assert_eq!(handle.unprocessed(), report);
    let heard: Vec<UnprocessedInfo> = events
        .all()
        .iter()
        .filter_map(|e| match e {
            StreamingEvent::Unprocessed(u) => Some(*u),
            _ => None,
        })
        .collect();
    assert_eq!(
        heard,
        [UnprocessedInfo {
            records: 40,
            batches: report.dropped_batches
        }]
    );
    assert!(matches!(events.all().last(), Some(StreamingEvent::Stopped)));
}

#[test]
fn a_graceful_stop_that_drains_everything_reports_nothing_dropped() {
    let (sink, collected) = sinks::collect::<String>();
    let handle = StreamingContext::new(Echo::new())
        .status_line(StatusLine::Never)
        .input(
            "lines",
            sources::queue_stream([vec!["a".to_owned()], vec!["b".to_owned()]]),
        )
        .unwrap()
        .output("out", sink)
        .unwrap()
        .start()
        .unwrap();
    assert!(collected.wait_until(PATIENCE, |b| b.iter().map(|(_, v)| v.len()).sum::<usize>() == 2));
    assert_eq!(handle.stop(true).unwrap(), StopReport::default());
}

#[test]
fn a_stop_returns_an_error_in_bounded_time_when_a_batch_is_stuck() {
    let (release, stuck) = mpsc::channel::<()>();
    let stuck = std::sync::Mutex::new(stuck);
    let handle = StreamingContext::new(Echo::new())
        .status_line(StatusLine::Never)
        .graceful_stop_timeout(Duration::from_millis(300))
        .stop_timeout(Duration::from_millis(300))
        .input("lines", sources::queue_stream([vec!["x".to_owned()]]))
        .unwrap()
        .output(
            "out",
            // Never returns until the test lets it: a sink stuck on I/O.
            sinks::foreach(move |batch: &Batch<String>, _t: Time| {
                if !batch.is_empty() {
                    let _ = stuck.lock().unwrap().recv();
                }
            }),
        )
        .unwrap()
        .start()
        .unwrap();
    assert!(handle.wait_for_records("lines", 1, PATIENCE));
    std::thread::sleep(Duration::from_millis(200));
    let err = handle.stop(true).unwrap_err();
    assert!(matches!(err, StreamingError::StopTimedOut { .. }), "{err}");
    assert!(err.to_string().contains("did not stop within 300 ms"), "{err}");
    release.send(()).unwrap();
    assert!(handle.await_termination_timeout(PATIENCE).unwrap());
}

/// A source whose halves may panic when dropped (a bug in someone's
/// `Drop`), which happens on the runtime's threads after their per-batch
/// guards: the source on the generator thread, the reader on the driver's.
struct Panicky {
    source_panics: bool,
    reader_panics: bool,
}

impl Drop for Panicky {
    fn drop(&mut self) {
        assert!(!self.source_panics, "source dropped badly");
    }
}

struct DropReader(bool);

impl Drop for DropReader {
    fn drop(&mut self) {
        assert!(!self.0, "reader dropped badly");
    }
}

impl Reader for DropReader {
    type Item = String;
    type Positions = u64;
    fn deliver(&mut self, _time: Time, _n: &u64) -> Result<Batch<String>, SourceError> {
        Ok(Batch::empty())
    }
}

impl Source for Panicky {
    type Item = String;
    type Positions = u64;
    type Reader = DropReader;
    fn start(&mut self, _ctx: &SourceContext) -> Result<DropReader, SourceError> {
        Ok(DropReader(self.reader_panics))
    }
    fn cut(&mut self, _time: Time) -> Result<Cut<u64>, SourceError> {
        Ok(Cut::new(0))
    }
}

#[test]
fn a_driver_thread_that_dies_ends_the_job_with_an_error() {
    // The reader panics when the driver drops it at the end of the job:
    // without the driver, nothing would mark the job stopped.
    let handle = StreamingContext::new(Echo::new())
        .status_line(StatusLine::Never)
        .input(
            "lines",
            sources::direct_stream(Panicky {
                source_panics: false,
                reader_panics: true,
            }),
        )
        .unwrap()
        .output::<String>("out", sinks::discard())
        .unwrap()
        .start()
        .unwrap();
    assert!(handle.wait_for_batches(1, PATIENCE));
    let err = handle.stop(true).unwrap_err();
    assert!(
        matches!(err, StreamingError::ThreadPanicked { thread: "driver", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("reader dropped badly"), "{err}");
    assert!(handle.is_terminated());
}

#[test]
fn a_generator_thread_that_dies_is_an_error_of_await_termination() {
    let handle = StreamingContext::new(Echo::new())
        .status_line(StatusLine::Never)
        .input(
            "lines",
            sources::direct_stream(Panicky {
                source_panics: true,
                reader_panics: false,
            }),
        )
        .unwrap()
        .output::<String>("out", sinks::discard())
        .unwrap()
        .start()
        .unwrap();
    assert!(handle.wait_for_batches(1, PATIENCE));
    let err = handle.stop(true).unwrap_err();
    assert!(
        matches!(
            err,
            StreamingError::ThreadPanicked {
                thread: "generator",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("source dropped badly"), "{err}");
}
