//! A source written against the public contract, as a crate outside
//! streamflow would write it (Kafka's direct stream in small): an in-memory
//! log with two partitions, read by offset ranges.

mod live_support;

use live_support::*;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use streamflow::live::sinks::{self, Collected};
use streamflow::live::sources::{self, Cut, Positions, Reader, Source, SourceContext, SourceError};
use streamflow::live::{ManualClock, StreamingError};
use streamflow::prelude::*;
use streamflow::{StreamingContext, StreamingHandle};

/// An append-only log of two partitions; a record's offset is its index.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<[Vec<String>; 2]>>);

impl Log {
    fn append(&self, partition: usize, records: &[&str]) {
        let mut log = self.0.lock().unwrap();
        log[partition].extend(records.iter().map(|r| (*r).to_owned()));
    }

    fn end(&self, partition: usize) -> u64 {
        self.0.lock().unwrap()[partition].len() as u64
    }

    fn read(&self, partition: usize, offsets: &Range<u64>) -> Vec<String> {
        let log = self.0.lock().unwrap();
        log[partition][offsets.start as usize..offsets.end as usize].to_vec()
    }
}

/// What each side saw, in the order it happened, and the positions of each
/// commit as they came.
#[derive(Clone, Default)]
struct Journal {
    entries: Arc<Mutex<Vec<String>>>,
    committed: Arc<Mutex<Vec<(Time, Offsets)>>>,
}

impl Journal {
    fn note(&self, entry: String) {
        self.entries.lock().unwrap().push(entry);
    }

    fn entries(&self, kinds: &[&str]) -> Vec<String> {
        let all = self.entries.lock().unwrap();
        all.iter()
            .filter(|e| kinds.iter().any(|k| e.starts_with(k)))
            .cloned()
            .collect()
    }
}

/// A batch reads one offset range per partition.
type Offsets = Vec<Range<u64>>;

/// A failure to simulate.
#[derive(Clone, Copy)]
enum Failure {
    /// The log cannot be reached at start.
    Start,
    /// The delivery of the batch at this time fails.
    Delivery(Time),
}

/// The cutting half: remembers where the next batch starts in each partition.
struct LogSource {
    log: Log,
    next: [u64; 2],
    journal: Journal,
    failure: Option<Failure>,
}

impl LogSource {
    fn new(log: &Log, journal: &Journal) -> Self {
        LogSource {
            log: log.clone(),
            next: [0, 0],
            journal: journal.clone(),
            failure: None,
        }
    }

    fn failing(self, failure: Failure) -> Self {
        LogSource {
            failure: Some(failure),
            ..self
        }
    }
}

impl Source for LogSource {
    type Item = String;
    type Positions = Offsets;
    type Reader = LogReader;

    fn name(&self) -> String {
        "log".to_owned()
    }

    fn start(&mut self, ctx: &SourceContext) -> Result<LogReader, SourceError> {
        self.journal.note(format!("start {}", ctx.input()));
        let fail_at = match self.failure {
            Some(Failure::Start) => return Err("connection refused".into()),
            Some(Failure::Delivery(time)) => Some(time),
            None => None,
        };
        Ok(LogReader {
            log: self.log.clone(),
            journal: self.journal.clone(),
            fail_at,
        })
    }

    fn cut(&mut self, time: Time) -> Result<Cut<Offsets>, SourceError> {
        let offsets: Offsets = (0..2)
            .map(|p| {
                let end = self.log.end(p);
                let range = self.next[p]..end;
                self.next[p] = end;
                range
            })
            .collect();
        self.journal.note(format!("cut {} {offsets:?}", time.as_millis()));
        // The record count is left to the delivery (offsets may have gaps).
        Ok(Cut::new(offsets))
    }
}

/// The reading half: one batch partition per log partition.
struct LogReader {
    log: Log,
    journal: Journal,
    fail_at: Option<Time>,
}

impl Reader for LogReader {
    type Item = String;
    type Positions = Offsets;

    fn deliver(&mut self, time: Time, offsets: &Offsets) -> Result<Batch<String>, SourceError> {
        self.journal.note(format!("deliver {}", time.as_millis()));
        if self.fail_at == Some(time) {
            return Err("the log is unreachable".into());
        }
        let partitions = offsets.iter().enumerate().map(|(p, r)| self.log.read(p, r)).collect();
        Ok(Batch::from_partitions(partitions))
    }

    fn commit(&mut self, time: Time, offsets: &Offsets) -> Result<(), SourceError> {
        self.journal.note(format!("commit {} {offsets:?}", time.as_millis()));
        self.journal.committed.lock().unwrap().push((time, offsets.clone()));
        Ok(())
    }
}

/// Starts `Echo` on `source` and a manual clock; its output is collected and
/// each write noted in the source's journal.
fn start_echo(source: LogSource, stop_on_failure: bool) -> (Arc<ManualClock>, StreamingHandle, Collected<String>) {
    let clock = Arc::new(ManualClock::new());
    let (sink, collected) = sinks::collect::<String>();
    let journal = source.journal.clone();
    let handle = StreamingContext::new(Echo::new())
        .clock(clock.clone())
        .stop_on_failure(stop_on_failure)
        .input("lines", sources::direct_stream(source))
        .unwrap()
        .output("out", sink)
        .unwrap()
        .output(
            "out",
            sinks::foreach(move |_: &Batch<String>, t: Time| journal.note(format!("sink {}", t.as_millis()))),
        )
        .unwrap()
        .start()
        .unwrap();
    (clock, handle, collected)
}

#[test]
fn a_source_written_against_the_contract_delivers_its_offsets_and_hears_each_commit_after_the_sinks() {
    let log = Log::default();
    let journal = Journal::default();
    let (clock, handle, collected) = start_echo(LogSource::new(&log, &journal), true);

    log.append(0, &["a0", "a1"]);
    log.append(1, &["b0"]);
    next_batch(&clock, &handle);
    log.append(1, &["b1", "b2"]);
    next_batch(&clock, &handle);
    next_batch(&clock, &handle);
    log.append(0, &["a2"]);
    next_batch(&clock, &handle);
    handle.stop(false).unwrap();

    // What each batch held: its offset ranges, partition 0 then partition 1.
    let held: Vec<(u64, Vec<String>)> = collected
        .batches()
        .into_iter()
        .map(|(t, records)| (t.as_millis(), records))
        .collect();
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        held,
        vec![
            (100, strings(&["a0", "a1", "b0"])),
            (200, strings(&["b1", "b2"])),
            (300, vec![]),
            (400, strings(&["a2"])),
        ]
    );
    // The positions it reported at each cut, in time order.
    assert_eq!(
        journal.entries(&["start", "cut"]),
        vec![
            "start lines",
            "cut 100 [0..2, 0..1]",
            "cut 200 [2..2, 1..3]",
            "cut 300 [2..2, 3..3]",
            "cut 400 [2..3, 3..3]",
        ]
    );
    // Per batch, in order: delivered, written by the sinks, then committed
    // once, with the positions of its cut.
    let expected: Vec<String> = [
        (100, "[0..2, 0..1]"),
        (200, "[2..2, 1..3]"),
        (300, "[2..2, 3..3]"),
        (400, "[2..3, 3..3]"),
    ]
    .iter()
    .flat_map(|(t, offsets)| {
        [
            format!("deliver {t}"),
            format!("sink {t}"),
            format!("commit {t} {offsets}"),
        ]
    })
    .collect();
    assert_eq!(journal.entries(&["deliver", "sink", "commit"]), expected);
    // Record counts come with the delivery.
    let records: Vec<usize> = handle.batches().iter().map(|b| b.records()).collect();
    assert_eq!(records, vec![3, 2, 0, 1]);
    assert_eq!(handle.input_stats("lines").unwrap().records, 6);

    // Re-delivery after a restart: the committed positions, saved as a
    // checkpoint would save them and read back, delivered by a new reader
    // over the same log (which has grown meanwhile), give the same records
    // in the same partitions.
    log.append(0, &["later"]);
    let mut reader = LogReader {
        log: log.clone(),
        journal: Journal::default(),
        fail_at: None,
    };
    let committed = journal.committed.lock().unwrap().clone();
    assert_eq!(committed.len(), held.len());
    for ((time, offsets), (_, records)) in committed.iter().zip(&held) {
        let restored = Offsets::from_bytes(&offsets.to_bytes().unwrap()).unwrap();
        assert_eq!(&restored, offsets);
        let again = reader.deliver(*time, &restored).unwrap();
        assert_eq!(again.num_partitions(), 2);
        assert_eq!(&again.to_vec(), records, "batch {time}");
    }
}

#[test]
fn a_failed_batch_is_not_committed() {
    let log = Log::default();
    let journal = Journal::default();
    let source = LogSource::new(&log, &journal).failing(Failure::Delivery(Time::from_millis(200)));
    let (clock, handle, collected) = start_echo(source, false);
    for record in ["x", "y", "z"] {
        log.append(0, &[record]);
        next_batch(&clock, &handle);
    }
    handle.stop(false).unwrap();

    assert_eq!(
        journal.entries(&["deliver", "commit"]),
        vec![
            "deliver 100",
            "commit 100 [0..1, 0..0]",
            "deliver 200",
            "deliver 300",
            "commit 300 [2..3, 0..0]",
        ]
    );
    assert_eq!(collected.elements(), vec!["x", "z"]);
    let failure = handle.batches()[1].failure.clone().unwrap();
    assert_eq!(
        failure,
        "batch 200 ms: the source on input port `lines` failed: the log is unreachable"
    );

    // With the default, the failure stops the job and is returned.
    let source = LogSource::new(&log, &Journal::default()).failing(Failure::Delivery(Time::from_millis(100)));
    let (clock, handle, _) = start_echo(source, true);
    clock.advance(INTERVAL);
    let err = handle.await_termination().unwrap_err();
    assert!(matches!(&err, StreamingError::Source { port: "lines", .. }), "{err}");
}

#[test]
fn a_source_that_cannot_start_is_an_error_at_start() {
    let err = StreamingContext::new(Echo::new())
        .input(
            "lines",
            sources::direct_stream(LogSource::new(&Log::default(), &Journal::default()).failing(Failure::Start)),
        )
        .unwrap()
        .output::<String>("out", sinks::discard())
        .unwrap()
        .start()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "input port `lines`: cannot start log: connection refused"
    );
}
