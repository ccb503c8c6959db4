//! The streaming context: bindings checked at start, sinks, listeners,
//! failures, custom receivers.

mod live_support;

use live_support::*;
use std::sync::Arc;
use std::time::Duration;
use streamflow::live::{
    ManualClock, Receiver, ReceiverContext, ReceiverError, StartError, StreamingError, StreamingEvent, sinks, sources,
};
use streamflow::prelude::*;
use streamflow::testing::PrintCapture;
use streamflow::{Plan, StreamingContext};

stream_job! {
    /// Fails on the word "boom".
    pub job Fragile {
        batch_interval = 100ms;
        input lines: String;
        output out: String = lines.map(|line| {
            assert!(line != "boom", "cannot handle boom");
            line
        });
    }
}

#[test]
fn bindings_are_checked_by_name_and_type() {
    let err = StreamingContext::new(Words::new())
        .input("line", sources::queue_stream::<String, Vec<String>>(vec![]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "job `Words` has no input port `line`; its input ports are: `lines: String`"
    );
    let err = StreamingContext::new(Words::new())
        .input("lines", sources::queue_stream(vec![vec![1u32]]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "input port `lines` of job `Words` carries `alloc::string::String`, but the source bound to it carries `u32`"
    );
    let err = StreamingContext::new(Words::new())
        .output::<String>("counts", sinks::print(10))
        .unwrap_err();
    assert!(matches!(err, StartError::PortType { kind: "output", .. }), "{err}");
    assert!(err.to_string().contains("(alloc::string::String, u64)"), "{err}");
    let err = StreamingContext::new(Words::new()).start().unwrap_err();
    assert_eq!(
        err.to_string(),
        "input port `lines` of job `Words` is not bound: call `.input(\"lines\", source)` before `start()`"
    );
    let err = StreamingContext::new(Words::new())
        .input("lines", sources::queue_stream::<String, Vec<String>>(vec![]))
        .unwrap()
        .input("lines", sources::socket_text_stream("127.0.0.1", 9))
        .unwrap_err();
    assert_eq!(err.to_string(), "input port `lines` is already bound to queue");
    let err = StreamingContext::new(Words::new())
        .max_buffered_records(0)
        .input("lines", sources::queue_stream::<String, Vec<String>>(vec![]))
        .unwrap()
        .output::<(String, u64)>("counts", sinks::discard())
        .unwrap()
        .start()
        .unwrap_err();
    assert!(err.to_string().contains("max_buffered_records"), "{err}");
}

#[test]
fn an_unbound_output_port_is_an_error_at_start_and_discard_is_explicit() {
    let unbound = StreamingContext::new(Words::new())
        .input("lines", sources::queue_stream::<String, Vec<String>>(vec![]))
        .unwrap();
    let err = unbound.start().unwrap_err();
    assert!(matches!(err, StartError::UnboundOutput { port: "counts", .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "output port `counts` of job `Words` is not bound: call `.output(\"counts\", sink)` before `start()`, \
         or `.output(\"counts\", sinks::discard())` to drop its batches on purpose"
    );

    let clock = Arc::new(ManualClock::new());
    let handle = StreamingContext::new(Words::new())
        .clock(clock.clone())
        .input("lines", sources::queue_stream(vec![vec!["a b".to_owned()]]))
        .unwrap()
        .output::<(String, u64)>("counts", sinks::discard())
        .unwrap()
        .start()
        .unwrap();
    clock.advance(Duration::from_millis(100));
    handle.stop(true).unwrap();
}

/// A hand-written job whose plan has a zero batch interval (the macro rejects
/// one at compile time).
struct ZeroInterval(JobConfig);

static ZERO_PLAN: Plan = Plan {
    job: "Zero",
    batch_interval_ms: 0,
    fused: true,
    file: file!(),
    inputs: &[],
    outputs: &[],
    stages: &[],
    sinks: &[],
};

impl Job for ZeroInterval {
    type Inputs = Batch<u8>;
    type Outputs = Batch<u8>;
    fn plan(&self) -> &'static Plan {
        &ZERO_PLAN
    }
    fn config(&self) -> &JobConfig {
        &self.0
    }
    fn run_batch(&mut self, _: Time, inputs: Batch<u8>) -> Result<Batch<u8>, BatchError> {
        Ok(inputs)
    }
}

#[test]
fn a_zero_batch_interval_is_an_error_at_start() {
    let err = StreamingContext::new(ZeroInterval(JobConfig::new()))
        .input("input", sources::queue_stream::<u8, Vec<u8>>(vec![]))
        .unwrap()
        .start()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "job `Zero` has a batch interval of 0 ms; it must be positive"
    );
}

#[test]
fn sinks_write_every_batch_in_order_and_listeners_hear_it() {
    let out = TempDir::new("sinks");
    let text_prefix = out.path().join("counts").to_string_lossy().into_owned();
    let object_prefix = out.path().join("objects").to_string_lossy().into_owned();
    let clock = Arc::new(ManualClock::new());
    let events = Events::default();
    let capture = PrintCapture::new();
    let (sink, collected) = sinks::collect::<(String, u64)>();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen_in_sink = seen.clone();
    let handle = StreamingContext::new(Words::new())
        .clock(clock.clone())
        .listener(events.listener())
        .input(
            "lines",
            sources::queue_stream(vec![vec!["a b a".to_owned()], vec![], vec!["c".to_owned()]]),
        )
        .unwrap()
        .output::<(String, u64)>("counts", sinks::save_as_text_files(text_prefix.clone(), "txt"))
        .unwrap()
        .output::<(String, u64)>("counts", sinks::save_as_object_files(object_prefix.clone(), ""))
        .unwrap()
        .output::<(String, u64)>("counts", sinks::print_to(10, capture.writer()))
        .unwrap()
        .output(
            "counts",
            sinks::foreach(move |b: &Batch<(String, u64)>, t: Time| {
                seen_in_sink.lock().unwrap().push((t, b.len()));
            }),
        )
        .unwrap()
        .output("counts", sink)
        .unwrap()
        .start()
        .unwrap();
    for _ in 0..3 {
        next_batch(&clock, &handle);
    }
    handle.stop(false).unwrap();

    let times: Vec<u64> = collected.batches().iter().map(|(t, _)| t.as_millis()).collect();
    assert_eq!(times, vec![100, 200, 300]);
    let mut first = collected.batches()[0].1.clone();
    first.sort();
    assert_eq!(first, vec![("a".to_owned(), 2), ("b".to_owned(), 1)]);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            (Time::from_millis(100), 2),
            (Time::from_millis(200), 0),
            (Time::from_millis(300), 1)
        ]
    );

    // Text files: a directory per batch, parts and _SUCCESS.
    let batch1 = out.path().join("counts-100.txt");
    let mut lines: Vec<String> = sinks::read_text_files(&batch1).unwrap().into_iter().flatten().collect();
    lines.sort();
    assert_eq!(lines, vec!["(a,2)", "(b,1)"]);
    assert!(batch1.join("_SUCCESS").exists());
    assert!(out.path().join("counts-200.txt/_SUCCESS").exists());
    assert!(out.path().join("counts-300.txt/_SUCCESS").exists());
    // No temporary directory left behind (only the writers' lock files).
    let hidden = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && !n.ends_with(".lock"))
        .count();
    assert_eq!(hidden, 0);
    // Object files read back.
    let parts: Vec<Vec<(String, u64)>> = sinks::read_object_files(&out.path().join("objects-300")).unwrap();
    assert_eq!(parts.concat(), vec![("c".to_owned(), 1)]);
    // Print in Spark's format.
    let printed = capture.take_string();
    assert!(printed.contains("-------------------------------------------\nTime: 300 ms\n-------------------------------------------\n(\"c\", 1)\n\n"), "{printed}");

    // Events: started, then per batch submitted → started → outputs → completed.
    let all = events.all();
    assert!(matches!(all.first(), Some(StreamingEvent::Started { .. })));
    assert!(matches!(all.last(), Some(StreamingEvent::Stopped)));
    let kinds: Vec<&str> = all
        .iter()
        .filter_map(|e| match e {
            StreamingEvent::BatchSubmitted(b) if b.time == Time::from_millis(100) => Some("submitted"),
            StreamingEvent::BatchStarted(b) if b.time == Time::from_millis(100) => Some("started"),
            StreamingEvent::OutputOperationCompleted(o) if o.time == Time::from_millis(100) => Some("output"),
            StreamingEvent::BatchCompleted(b) if b.time == Time::from_millis(100) => Some("completed"),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "submitted",
            "started",
            "output",
            "output",
            "output",
            "output",
            "output",
            "completed"
        ]
    );
    let completed: Vec<_> = handle.batches();
    assert_eq!(completed.len(), 3);
    assert_eq!(completed[0].input_records, vec![("lines", 1)]);
    assert!(completed.iter().all(|b| b.processing_time.is_some()
        && b.scheduling_delay.is_some()
        && b.total_delay.is_some()
        && b.failure.is_none()));
}

/// How long the slow stage takes per record.
const SLOW: Duration = Duration::from_millis(40);

stream_job! {
    /// Sums numbers by parity, slowly: a record costs 40 ms in the first stage.
    pub job Slow {
        batch_interval = 100ms;
        input numbers: u64;
        output sums: (u64, u64) = numbers
            .map(|n| {
                std::thread::sleep(SLOW);
                (n % 2, n)
            })
            .reduce_by_key(|a, b| a + b);
    }
}

#[test]
fn the_handle_gives_the_plan_and_each_batch_its_stage_times() {
    let clock = Arc::new(ManualClock::new());
    let (sink, collected) = sinks::collect::<(u64, u64)>();
    let handle = StreamingContext::new(Slow::new())
        .clock(clock.clone())
        .input("numbers", sources::queue_stream(vec![vec![7u64], vec![]]))
        .unwrap()
        .output("sums", sink)
        .unwrap()
        .start()
        .unwrap();
    next_batch(&clock, &handle);
    next_batch(&clock, &handle);
    handle.stop(false).unwrap();
    assert_eq!(collected.elements(), vec![(1, 7)]);

    let plan = handle.plan();
    assert!(std::ptr::eq(plan, Slow::new().plan()));
    assert_eq!(plan.job, "Slow");
    let slow_stage = plan
        .stages
        .iter()
        .position(|s| s.operators.iter().any(|op| op.name == "map"))
        .expect("a stage runs the map");
    let batches = handle.batches();
    assert_eq!(batches.len(), 2);
    for batch in &batches {
        assert_eq!(batch.stage_times.len(), plan.stages.len(), "{batch:?}");
    }
    // The batch with a record spent its 40 ms in the map's stage, within
    // its processing time.
    assert!(batches[0].stage_times[slow_stage] >= SLOW, "{:?}", batches[0]);
    assert!(batches[0].processing_time.unwrap() >= batches[0].stage_times.iter().sum());
}

#[test]
fn a_failed_batch_stops_the_job_and_await_termination_returns_the_error() {
    let clock = Arc::new(ManualClock::new());
    let (sink, collected) = sinks::collect::<String>();
    let handle = StreamingContext::new(Fragile::new())
        .clock(clock.clone())
        .input(
            "lines",
            sources::queue_stream(vec![
                vec!["fine".to_owned()],
                vec!["boom".to_owned()],
                vec!["never".to_owned()],
            ]),
        )
        .unwrap()
        .output("out", sink)
        .unwrap()
        .start()
        .unwrap();
    next_batch(&clock, &handle);
    clock.advance(INTERVAL);
    let err = handle.await_termination().unwrap_err();
    assert!(matches!(err, StreamingError::Batch(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("batch 200 ms failed") && text.contains("cannot handle boom"),
        "{text}"
    );
    assert_eq!(collected.elements(), vec!["fine"]);
    // Asked again, the error is still reported.
    let again = handle.await_termination_timeout(Duration::from_secs(1)).unwrap_err();
    assert!(again.to_string().contains("cannot handle boom"), "{again}");
}

/// Counts up from its start, `limit` records, then ends.
struct Counter {
    next: u64,
    limit: u64,
}

impl Receiver for Counter {
    type Item = u64;

    fn name(&self) -> String {
        "counter".into()
    }

    fn on_start(&mut self, ctx: &ReceiverContext<u64>) -> Result<(), ReceiverError> {
        while self.next < self.limit && !ctx.is_stopped() {
            ctx.store(self.next)
                .map_err(|e| ReceiverError::with_source("store", e))?;
            self.next += 1;
        }
        Ok(())
    }
}

stream_job! {
    /// Sums numbers per batch.
    pub job Sum {
        batch_interval = 100ms;
        input numbers: u64;
        output total: u64 = numbers.reduce(|a, b| a + b);
    }
}

#[test]
fn a_custom_receiver_feeds_the_job_and_its_records_are_all_processed() {
    let clock = Arc::new(ManualClock::new());
    let events = Events::default();
    let (sink, collected) = sinks::collect::<u64>();
    let handle = StreamingContext::new(Sum::new())
        .clock(clock.clone())
        .block_interval(Duration::from_millis(1))
        .listener(events.listener())
        .input("numbers", sources::receiver_stream(Counter { next: 0, limit: 1000 }))
        .unwrap()
        .output("total", sink)
        .unwrap()
        .start()
        .unwrap();
    assert!(handle.wait_for_records("numbers", 1000, PATIENCE));
    next_batch(&clock, &handle);
    handle.stop(true).unwrap();
    assert_eq!(collected.elements().iter().sum::<u64>(), (0..1000).sum::<u64>());
    let all = events.all();
    assert!(
        all.iter()
            .any(|e| matches!(e, StreamingEvent::ReceiverStarted(r) if r.name == "counter"))
    );
    assert!(
        all.iter()
            .any(|e| matches!(e, StreamingEvent::ReceiverStopped(r) if r.input == "numbers"))
    );
}

#[test]
fn a_receivers_max_rate_is_applied() {
    let (sink, _collected) = sinks::collect::<u64>();
    let handle = StreamingContext::new(Sum::new())
        .backpressure(false)
        .input(
            "numbers",
            sources::receiver_stream(Counter {
                next: 0,
                limit: u64::MAX,
            })
            .max_rate(500.0),
        )
        .unwrap()
        .output("total", sink)
        .unwrap()
        .start()
        .unwrap();
    assert_eq!(handle.receiver_rate("numbers"), Some(500.0));
    assert!(handle.wait_for_batches(3, PATIENCE));
    handle.stop(false).unwrap();
}
