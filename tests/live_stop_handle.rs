//! Stopping a job from a listener or a sink built before `start()` (Spark's
//! `onReceiverError -> ssc.stop()`), with the context's `StopHandle`: a stop
//! asked for while `start()` runs or before it is carried out, and the handle
//! does not keep the job alive.

mod live_support;

use live_support::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamflow::StreamingContext;
use streamflow::live::{ManualClock, ReceiverInfo, StopHandle, StreamingEvent, StreamingListener, sinks, sources};

/// Gives up at the first receiver error.
struct StopOnReceiverError(StopHandle);

impl StreamingListener for StopOnReceiverError {
    fn on_receiver_error(&mut self, _receiver: &ReceiverInfo) {
        self.0.stop(false);
    }
}

fn closed_port() -> u16 {
    let (listener, port) = listen();
    drop(listener);
    port
}

#[test]
fn a_listener_stops_the_job_at_a_receiver_error() {
    let context = StreamingContext::new(Echo::new()).report_to_stderr(false);
    let stop = context.stop_handle();
    assert!(!stop.is_stop_requested());
    let started = Instant::now();
    let handle = context
        .listener(StopOnReceiverError(stop.clone()))
        .input("lines", sources::socket_text_stream("127.0.0.1", closed_port()))
        .unwrap()
        .output::<String>("out", sinks::discard())
        .unwrap()
        .start()
        .unwrap();
    // The connection is refused at once, often before `start()` returned.
    assert!(handle.await_termination_timeout(PATIENCE).unwrap());
    assert!(stop.is_stop_requested());
    assert!(started.elapsed() < PATIENCE);
}

#[test]
fn a_stop_asked_for_before_start_stops_the_job_once_it_runs() {
    let clock = Arc::new(ManualClock::new());
    let context = StreamingContext::new(Echo::new())
        .report_to_stderr(false)
        .clock(clock.clone());
    let stop = context.stop_handle();
    stop.stop(false);
    assert!(stop.is_stop_requested());
    let handle = context
        .input("lines", sources::queue_stream(Vec::<Vec<String>>::new()))
        .unwrap()
        .output::<String>("out", sinks::discard())
        .unwrap()
        .start()
        .unwrap();
    assert!(handle.await_termination_timeout(PATIENCE).unwrap());
    assert_eq!(handle.batches_completed(), 0, "the clock never moved");
}

#[test]
fn a_graceful_stop_from_a_sink_drains_and_ends_the_job() {
    let clock = Arc::new(ManualClock::new());
    let context = StreamingContext::new(Echo::new())
        .report_to_stderr(false)
        .clock(clock.clone());
    let stop = context.stop_handle();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = seen.clone();
    let handle = context
        .input(
            "lines",
            sources::queue_stream(vec![
                vec!["a".to_owned()],
                vec!["stop".to_owned()],
                vec!["c".to_owned()],
            ]),
        )
        .unwrap()
        .output(
            "out",
            sinks::foreach(move |batch: &streamflow::Batch<String>, _| {
                kept.lock().unwrap().extend(batch.to_vec());
                if batch.to_vec().iter().any(|line| line == "stop") {
                    stop.stop(true);
                }
            }),
        )
        .unwrap()
        .start()
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    while !handle.is_terminated() {
        assert!(Instant::now() < deadline, "the job did not stop");
        clock.advance(INTERVAL);
        std::thread::sleep(Duration::from_millis(20));
    }
    handle.await_termination().unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(&seen[..2], ["a", "stop"]);
}

#[test]
fn the_stop_handle_does_not_keep_the_job_alive() {
    let context = StreamingContext::new(Echo::new()).report_to_stderr(false);
    let stop = context.stop_handle();
    let events = Events::default();
    let handle = context
        .listener(StopOnReceiverError(stop.clone()))
        .listener(events.listener())
        .input("lines", sources::queue_stream(Vec::<Vec<String>>::new()))
        .unwrap()
        .output::<String>("out", sinks::discard())
        .unwrap()
        .start()
        .unwrap();
    assert!(!stop.is_stop_requested());
    // A listener holds a `StopHandle`: dropping the last `StreamingHandle`
    // still stops the job.
    drop(handle);
    let deadline = Instant::now() + PATIENCE;
    while !events.all().contains(&StreamingEvent::Stopped) {
        assert!(Instant::now() < deadline, "the job did not stop");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Asking once the job is gone is harmless.
    stop.stop(true);
    stop.stop(false);
}
