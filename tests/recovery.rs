//! Checkpoints and recovery, in one process on a manual clock: a job stopped
//! part-way (as a crash would leave it) and resumed with `get_or_create`
//! gives the same outputs as a job that never stopped; every checkpoint
//! that cannot be resumed is refused with an error that says why.

mod live_support;

use live_support::*;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use streamflow::StreamingContext;
use streamflow::live::{ManualClock, StartError, sinks, sources};

mod v1 {
    use streamflow::prelude::*;

    stream_job! {
        /// Word counts per batch, running totals, and counts over the last
        /// three batches.
        pub job Tally {
            batch_interval = 100ms;
            input lines: String;
            let pairs = lines
                .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
                .map(|word| (word, 1u64));
            let counts = pairs.reduce_by_key(|a, b| a + b);
            let totals = pairs.update_state_by_key(|new: &[u64], old: Option<u64>| {
                Some(old.unwrap_or(0) + new.iter().sum::<u64>())
            });
            let recent = pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 300ms, 100ms);
            output counts: (String, u64) = counts;
            output totals: (String, u64) = totals;
            output recent: (String, u64) = recent;
        }
    }
}

mod v2 {
    use streamflow::prelude::*;

    stream_job! {
        /// `Tally` whose totals became signed: its saved state no longer fits.
        pub job Tally {
            batch_interval = 100ms;
            input lines: String;
            let pairs = lines
                .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
                .map(|word| (word, 1i64));
            let totals = pairs.update_state_by_key(|new: &[i64], old: Option<i64>| {
                Some(old.unwrap_or(0) + new.iter().sum::<i64>())
            });
            output totals: (String, i64) = totals;
        }
    }
}

use v1::Tally;

/// The words moved into the input directory before batch `k`.
fn words(k: u64) -> String {
    let pool = ["apple", "pear", "fig", "kiwi", "plum"];
    (0..k + 3)
        .map(|i| pool[((k * 7 + i * 3) % 5) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

fn move_in(dir: &Path, k: u64) {
    let tmp = dir.join(format!(".{k}.tmp"));
    std::fs::write(&tmp, format!("{}\n", words(k))).unwrap();
    std::fs::rename(&tmp, dir.join(format!("{k:03}.txt"))).unwrap();
}

type Outputs = [sinks::Collected<(String, u64)>; 3];

/// Per output, its batches by time (ms), each sorted.
type Sorted = Vec<Vec<(u64, Vec<(String, u64)>)>>;

/// A `Tally` context on `clock` reading `input`, collecting its three outputs.
fn tally(clock: &Arc<ManualClock>, input: &Path) -> Result<(StreamingContext<Tally>, Outputs), StartError> {
    let (counts, counts_out) = sinks::collect();
    let (totals, totals_out) = sinks::collect();
    let (recent, recent_out) = sinks::collect();
    let context = StreamingContext::new(Tally::new())
        .clock(clock.clone())
        .input("lines", sources::text_file_stream(input))?
        .output("counts", counts)?
        .output("totals", totals)?
        .output("recent", recent)?;
    Ok((context, [counts_out, totals_out, recent_out]))
}

/// Each output's batches from `from` on, each batch sorted.
fn sorted_from(outputs: &Outputs, from: u64) -> Sorted {
    outputs
        .iter()
        .map(|out| {
            out.batches()
                .into_iter()
                .filter(|(t, _)| t.as_millis() >= from)
                .map(|(t, mut batch)| {
                    batch.sort();
                    (t.as_millis(), batch)
                })
                .collect()
        })
        .collect()
}

/// Runs batches `from..=to`, a file moved in before each.
fn run_batches(clock: &ManualClock, handle: &streamflow::StreamingHandle, input: &Path, from: u64, to: u64) {
    for k in from..=to {
        move_in(input, k);
        clock.set(Duration::from_millis(100 * (k - 1)));
        next_batch(clock, handle);
    }
}

/// The outputs of `Tally` run without a checkpoint for `batches` batches.
fn uninterrupted(batches: u64) -> Outputs {
    let input = TempDir::new("recovery-whole");
    let clock = Arc::new(ManualClock::new());
    let (context, outputs) = tally(&clock, input.path()).unwrap();
    let handle = context.start().unwrap();
    run_batches(&clock, &handle, input.path(), 1, batches);
    handle.stop(false).unwrap();
    outputs
}

/// Each output's batches from `from` through `to` (ms).
fn between(outputs: &Outputs, from: u64, to: u64) -> Sorted {
    sorted_from(outputs, from)
        .into_iter()
        .map(|out| out.into_iter().filter(|(t, _)| *t <= to).collect())
        .collect()
}

/// Starts `context` from the checkpoint in `dir`; the handle, and the
/// batches recovery runs again (time in ms, whether already committed).
fn start_recovered<J: streamflow::Job + 'static>(
    dir: &Path,
    context: StreamingContext<J>,
) -> (streamflow::StreamingHandle, Vec<(u64, bool)>) {
    let handle = StreamingContext::get_or_create(dir, || Ok::<_, StartError>(context))
        .unwrap()
        .start()
        .unwrap();
    let rerun = rerun_batches(handle.recovery().unwrap());
    (handle, rerun)
}

/// The batches a recovery runs again: time in ms, whether already committed.
fn rerun_batches(recovered: &streamflow::live::RecoveryInfo) -> Vec<(u64, bool)> {
    recovered.batches.iter().map(|(t, c)| (t.as_millis(), *c)).collect()
}

#[test]
fn a_resumed_job_gives_the_outputs_of_one_that_never_stopped() {
    let whole = uninterrupted(8);

    // Checkpointed every two batches, stopped after five, resumed for three.
    let input = TempDir::new("recovery-input");
    let checkpoints = TempDir::new("recovery-checkpoints");
    let dir = checkpoints.path().join("tally");
    let clock = Arc::new(ManualClock::new());
    let (context, first) = tally(&clock, input.path()).unwrap();
    let handle = context
        .checkpoint(&dir)
        .checkpoint_interval(Duration::from_millis(200))
        .start()
        .unwrap();
    assert!(handle.recovery().is_none());
    run_batches(&clock, &handle, input.path(), 1, 5);
    handle.stop(false).unwrap();
    drop(handle);
    assert_eq!(
        sorted_from(&first, 0),
        sorted_from(&whole, 0)[..]
            .iter()
            .map(|o| o[..5].to_vec())
            .collect::<Vec<_>>()
    );

    let clock = Arc::new(ManualClock::new());
    let mut second = None;
    let context = StreamingContext::get_or_create(&dir, || {
        let (context, outputs) = tally(&clock, input.path())?;
        second = Some(outputs);
        Ok::<_, StartError>(context)
    })
    .unwrap();
    let second = second.unwrap();
    let handle = context.start().unwrap();
    let recovered = handle.recovery().unwrap().clone();
    assert_eq!(recovered.state_time.map(|t| t.as_millis()), Some(400));
    let rerun = rerun_batches(&recovered);
    assert_eq!(
        rerun,
        [(500, true)],
        "batch 5 was committed: it runs for its state only"
    );
    assert!(recovered.passed_over.is_empty());
    // The committed batch 5 rebuilds the state and writes nothing.
    assert!(handle.wait_for_batches(1, PATIENCE));
    assert!(second.iter().all(|out| out.batches().is_empty()));
    run_batches(&clock, &handle, input.path(), 6, 8);
    handle.stop(false).unwrap();
    assert_eq!(between(&second, 0, 800), between(&whole, 600, 800));
}

#[test]
fn a_batch_whose_outputs_were_not_all_written_runs_again_in_full() {
    let input = TempDir::new("recovery-failed-sink");
    let checkpoints = TempDir::new("recovery-failed-sink-ck");
    let dir = checkpoints.path().join("tally");
    let clock = Arc::new(ManualClock::new());
    let (context, first) = tally(&clock, input.path()).unwrap();
    // The second sink of `counts` fails at batch 3, after the collector got it.
    let failing = sinks::foreach(|_: &streamflow::Batch<(String, u64)>, time: streamflow::Time| {
        assert!(time.as_millis() != 300, "disk full");
    });
    let handle = context
        .output("counts", failing)
        .unwrap()
        .checkpoint(&dir)
        .start()
        .unwrap();
    run_batches(&clock, &handle, input.path(), 1, 3);
    let err = handle.await_termination().unwrap_err().to_string();
    assert!(
        err.contains("batch 300 ms: sink `foreach` on output port `counts` failed"),
        "{err}"
    );
    assert_eq!(first[0].batches().len(), 3);
    drop(handle);

    let clock = Arc::new(ManualClock::new());
    let (context, second) = tally(&clock, input.path()).unwrap();
    let (handle, rerun) = start_recovered(&dir, context);
    // No snapshot yet (the default interval is 10 s): every batch runs again,
    // 1 and 2 for their state, 3 in full.
    assert_eq!(rerun, [(100, true), (200, true), (300, false)]);
    assert!(handle.wait_for_batches(3, PATIENCE));
    handle.stop(false).unwrap();
    assert_eq!(between(&second, 0, 300), between(&uninterrupted(3), 300, 300));
}

/// `context` with `Tally`'s three outputs dropped.
fn discard_outputs(context: StreamingContext<Tally>) -> Result<StreamingContext<Tally>, StartError> {
    context
        .output::<(String, u64)>("counts", sinks::discard())?
        .output::<(String, u64)>("totals", sinks::discard())?
        .output::<(String, u64)>("recent", sinks::discard())
}

/// A checkpoint of `Tally` after three batches, every batch saving its state.
fn checkpointed(name: &str) -> (TempDir, TempDir, std::path::PathBuf) {
    let input = TempDir::new(&format!("{name}-input"));
    let checkpoints = TempDir::new(name);
    let dir = checkpoints.path().join("tally");
    let clock = Arc::new(ManualClock::new());
    let (context, _) = tally(&clock, input.path()).unwrap();
    let handle = context
        .checkpoint(&dir)
        .checkpoint_interval(Duration::from_millis(100))
        .start()
        .unwrap();
    run_batches(&clock, &handle, input.path(), 1, 3);
    handle.stop(false).unwrap();
    (input, checkpoints, dir)
}

/// Starts `Tally` from the checkpoint in `dir`.
fn resume(input: &Path, dir: &Path) -> Result<streamflow::StreamingHandle, StartError> {
    let clock = Arc::new(ManualClock::new());
    StreamingContext::get_or_create(dir, || tally(&clock, input).map(|(context, _)| context))?.start()
}

fn start_error(result: Result<streamflow::StreamingHandle, StartError>) -> String {
    match result {
        Ok(_) => panic!("the start should have failed"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_damaged_newest_snapshot_falls_back_to_the_one_before_and_says_so() {
    let (input, _checkpoints, dir) = checkpointed("recovery-flipped");
    let newest = dir.join("state/300.state");
    let mut bytes = std::fs::read(&newest).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&newest, bytes).unwrap();
    let handle = resume(input.path(), &dir).unwrap();
    let recovery = handle.recovery().unwrap().clone();
    assert_eq!(recovery.state_time.map(|t| t.as_millis()), Some(200));
    assert_eq!(recovery.passed_over.len(), 1);
    assert!(
        recovery.passed_over[0].ends_with("300.state is damaged: checksum mismatch: the file was changed or damaged"),
        "{:?}",
        recovery.passed_over
    );
    assert_eq!(recovery.batches, [(streamflow::Time::from_millis(300), true)]);
    handle.stop(true).unwrap();
}

#[test]
fn every_checkpoint_that_cannot_be_resumed_is_refused_with_its_reason() {
    // A truncated job record.
    let (input, _c1, dir) = checkpointed("recovery-truncated");
    let job = dir.join("job");
    let bytes = std::fs::read(&job).unwrap();
    std::fs::write(&job, &bytes[..bytes.len() - 5]).unwrap();
    let err = start_error(resume(input.path(), &dir));
    assert!(err.starts_with("checkpoint: job record "), "{err}");
    assert!(err.contains("/tally/job is damaged: truncated"), "{err}");

    // Another job's checkpoint.
    let (_input, _c2, dir) = checkpointed("recovery-other-job");
    let clock = Arc::new(ManualClock::new());
    let err = start_error(
        StreamingContext::get_or_create(&dir, || {
            StreamingContext::new(Words::new())
                .clock(clock.clone())
                .input("lines", sources::queue_stream(Vec::<Vec<String>>::new()))?
                .output::<(String, u64)>("counts", sinks::discard())
        })
        .unwrap()
        .start(),
    );
    assert!(
        err.ends_with("holds a checkpoint of job `Tally`, not of job `Words`"),
        "{err}"
    );

    // A stateful operator whose types changed.
    let (input, _c3, dir) = checkpointed("recovery-state-type");
    let clock = Arc::new(ManualClock::new());
    let err = start_error(
        StreamingContext::get_or_create(&dir, || {
            StreamingContext::new(v2::Tally::new())
                .clock(clock.clone())
                .input("lines", sources::text_file_stream(input.path()))?
                .output::<(String, i64)>("totals", sinks::discard())
        })
        .unwrap()
        .start(),
    );
    assert!(
        err.contains("/state/300.state: the state of `totals` was saved as `"),
        "{err}"
    );
    assert!(
        err.contains("StateStore<alloc::string::String, u64>`, but the job now keeps `"),
        "{err}"
    );
    assert!(err.ends_with("StateStore<alloc::string::String, i64>`"), "{err}");

    // A partition count that changed.
    let (input, _c4, dir) = checkpointed("recovery-partitions");
    let clock = Arc::new(ManualClock::new());
    let err = start_error(
        StreamingContext::get_or_create(&dir, || {
            let job = Tally::with_config(streamflow::JobConfig::new().partitions(3)).unwrap();
            discard_outputs(
                StreamingContext::new(job)
                    .clock(clock.clone())
                    .input("lines", sources::text_file_stream(input.path()))?,
            )
        })
        .unwrap()
        .start(),
    );
    assert!(err.contains(": the partition count changed from "), "{err}");
    assert!(
        err.ends_with(
            " to 3; keyed state is partitioned by it: keep `partitions(n)`, or start from a new checkpoint directory"
        ),
        "{err}"
    );

    // Another source on the input port.
    let clock = Arc::new(ManualClock::new());
    let err = start_error(
        StreamingContext::get_or_create(&dir, || {
            discard_outputs(
                StreamingContext::new(Tally::new())
                    .clock(clock.clone())
                    .input("lines", sources::queue_stream(Vec::<Vec<String>>::new()))?,
            )
        })
        .unwrap()
        .start(),
    );
    assert!(err.contains(": the inputs changed from [`lines` reading `"), "{err}");

    // `checkpoint` (not `get_or_create`) on a directory in use.
    let clock = Arc::new(ManualClock::new());
    let err = start_error(tally(&clock, input.path()).unwrap().0.checkpoint(&dir).start());
    assert!(err.ends_with("already holds a checkpoint of job `Tally`: resume it with `StreamingContext::get_or_create`, or give a new directory"), "{err}");
}

#[test]
fn a_checkpoint_directory_must_be_usable_and_is_made_when_missing() {
    let input = TempDir::new("recovery-dirs");
    // Missing: made, and the job starts fresh there.
    let missing = input.path().join("not/yet/there");
    let handle = resume(input.path(), &missing).unwrap();
    assert!(handle.recovery().is_none());
    assert!(missing.join("job").is_file() && missing.join("batches").is_dir());
    // In use by a running job.
    let err = start_error(resume(input.path(), &missing));
    assert!(
        err.ends_with("is in use by another running job (its lock is held); one directory serves one running job"),
        "{err}"
    );
    handle.stop(true).unwrap();
    // Not writable: its parent is a file.
    let file = input.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let err = start_error(resume(input.path(), &file.join("checkpoints")));
    assert!(err.starts_with("checkpoint: cannot create "), "{err}");
    assert!(
        err.ends_with("a-file/checkpoints: Not a directory (os error 20)"),
        "{err}"
    );
}

/// A reliable receiver: takes the chunks a test hands it, stores each with
/// `store_reliably`, and counts what it acknowledged.
struct Acking {
    chunks: Arc<std::sync::Mutex<std::collections::VecDeque<Vec<String>>>>,
    acked: Arc<std::sync::atomic::AtomicUsize>,
}

impl streamflow::live::Receiver for Acking {
    type Item = String;

    fn on_start(
        &mut self,
        ctx: &streamflow::live::ReceiverContext<String>,
    ) -> Result<(), streamflow::live::ReceiverError> {
        while !ctx.is_stopped() {
            let chunk = self.chunks.lock().unwrap().pop_front();
            match chunk {
                Some(chunk) => {
                    let n = chunk.len();
                    if ctx.store_reliably(chunk).is_err() {
                        return Ok(());
                    }
                    self.acked.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
                }
                None => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        Ok(())
    }
}

/// Waits until the receiver acknowledged `n` records.
fn acked(counter: &std::sync::atomic::AtomicUsize, n: usize) {
    let start = std::time::Instant::now();
    while counter.load(std::sync::atomic::Ordering::SeqCst) < n {
        assert!(start.elapsed() < PATIENCE, "the receiver acknowledged too little");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn records_a_receiver_acknowledged_survive_a_crash_through_the_write_ahead_log() {
    let checkpoints = TempDir::new("recovery-wal");
    let dir = checkpoints.path().join("words");
    let chunks = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
    let acked_count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = |clock: &Arc<ManualClock>| {
        let (sink, out) = sinks::collect::<(String, u64)>();
        let receiver = Acking {
            chunks: chunks.clone(),
            acked: acked_count.clone(),
        };
        let handle = StreamingContext::get_or_create(&dir, || {
            StreamingContext::new(Words::new())
                .clock(clock.clone())
                .input("lines", sources::receiver_stream(receiver))?
                .output("counts", sink)
        })
        .unwrap()
        .start()
        .unwrap();
        (handle, out)
    };
    let clock = Arc::new(ManualClock::new());
    let (handle, first) = start(&clock);
    chunks.lock().unwrap().push_back(vec!["a b".to_owned(), "a".to_owned()]);
    acked(&acked_count, 2);
    next_batch(&clock, &handle);
    // Acknowledged, in the log, not yet in any batch when the process dies.
    chunks.lock().unwrap().push_back(vec!["c a".to_owned()]);
    acked(&acked_count, 3);
    assert!(std::fs::read_dir(dir.join("wal/lines")).unwrap().count() >= 2);
    handle.stop(false).unwrap();
    drop(handle);
    let mut got: Vec<(String, u64)> = first.elements();
    got.sort();
    assert_eq!(got, [("a".to_owned(), 2), ("b".to_owned(), 1)]);

    let clock = Arc::new(ManualClock::new());
    let (handle, second) = start(&clock);
    assert_eq!(
        handle.recovery().unwrap().batches.len(),
        1,
        "batch 1 runs again, for its state only"
    );
    assert!(handle.wait_for_batches(1, PATIENCE));
    clock.set(Duration::from_millis(100));
    next_batch(&clock, &handle);
    handle.stop(false).unwrap();
    let mut got: Vec<(String, u64)> = second.elements();
    got.sort();
    assert_eq!(
        got,
        [("a".to_owned(), 1), ("c".to_owned(), 1)],
        "the logged records, once"
    );
}

#[test]
fn a_queue_stream_cannot_be_resumed_and_says_why() {
    let checkpoints = TempDir::new("recovery-queue");
    let dir = checkpoints.path().join("words");
    let start = || {
        let clock = Arc::new(ManualClock::new());
        StreamingContext::get_or_create(&dir, || {
            StreamingContext::new(Words::new())
                .clock(clock.clone())
                .input("lines", sources::queue_stream([vec!["a".to_owned()]]))?
                .output::<(String, u64)>("counts", sinks::discard())
        })
        .unwrap()
        .start()
    };
    start().unwrap().stop(false).unwrap();
    let err = start_error(start());
    assert!(
        err.ends_with("a queue stream keeps its batches in memory only: it cannot be resumed from a checkpoint (use a directory, a receiver with its write-ahead log, or a replayable source)"),
        "{err}"
    );
}

#[test]
fn a_file_read_over_several_batches_resumes_where_it_stopped() {
    let input = TempDir::new("recovery-split-input");
    let checkpoints = TempDir::new("recovery-split");
    let dir = checkpoints.path().join("echo");
    // Ten lines of 9 bytes a batch (each held as 9 + 24 bytes).
    let bound = 10 * (9 + 24);
    let lines: Vec<String> = (0..95).map(|i| format!("line-{i:04}")).collect();
    let echo = |clock: &Arc<ManualClock>| {
        let (sink, out) = sinks::collect::<String>();
        let context = StreamingContext::new(Echo::new())
            .clock(clock.clone())
            .max_buffered_bytes(bound)
            .input("lines", sources::text_file_stream(input.path()))
            .unwrap()
            .output("out", sink)
            .unwrap();
        (context, out)
    };
    let clock = Arc::new(ManualClock::new());
    let (context, first) = echo(&clock);
    // A second sink fails at batch 3, after the collector got it.
    let failing = sinks::foreach(|_: &streamflow::Batch<String>, time: streamflow::Time| {
        assert!(time.as_millis() != 300, "disk full");
    });
    let handle = context
        .output("out", failing)
        .unwrap()
        .checkpoint(&dir)
        .start()
        .unwrap();
    let tmp = input.path().join(".a.tmp");
    std::fs::write(&tmp, format!("{}\n", lines.join("\n"))).unwrap();
    std::fs::rename(&tmp, input.path().join("a.txt")).unwrap();
    for _ in 0..3 {
        next_batch(&clock, &handle);
    }
    assert!(handle.await_termination().is_err());
    drop(handle);
    let first: Vec<Vec<String>> = first.batches().into_iter().map(|(_, b)| b).collect();
    assert_eq!(first.concat(), lines[..30]);

    // Batch 3 runs again in full from its recorded ranges; the next batches
    // go on from where it ended, then take a file that came meanwhile.
    let clock = Arc::new(ManualClock::new());
    let (context, second) = echo(&clock);
    let (handle, rerun) = start_recovered(&dir, context);
    assert_eq!(rerun, [(100, true), (200, true), (300, false)]);
    assert!(handle.wait_for_batches(3, PATIENCE));
    std::fs::write(input.path().join(".b.tmp"), "b1\n").unwrap();
    std::fs::rename(input.path().join(".b.tmp"), input.path().join("b.txt")).unwrap();
    clock.set(Duration::from_millis(300));
    for _ in 0..7 {
        next_batch(&clock, &handle);
    }
    handle.stop(false).unwrap();
    let second: Vec<Vec<String>> = second.batches().into_iter().map(|(_, b)| b).collect();
    let sizes: Vec<usize> = second.iter().map(Vec::len).collect();
    assert_eq!(sizes, [10, 10, 10, 10, 10, 10, 10, 6]);
    let mut expected = lines[20..].to_vec();
    expected.push("b1".to_owned());
    assert_eq!(second.concat(), expected);
}
