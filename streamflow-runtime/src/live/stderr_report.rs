//! What a live job says on standard error by default, with no `tracing`
//! subscriber installed: its receivers' and inputs' errors and its failed
//! batches as they happen, and, when no status line is drawn (a run whose
//! standard error is a file or a pipe), a summary every
//! [`summary_interval`](super::StreamingContext::summary_interval) and one at
//! the stop. A listener like any other, added by the context unless
//! [`report_to_stderr(false)`](super::StreamingContext::report_to_stderr).
//!
//! The same error repeated (a server that refuses every connection) is
//! written once, then counted, and written again with its count once per
//! summary interval, so a job left running does not flood its log.

use super::listener::{BatchInfo, StreamingEvent, StreamingListener};
use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

/// Counts over a stretch of the run.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    batches: u64,
    failed: u64,
    records: u64,
    errors: u64,
}

impl Totals {
    fn add_batch(&mut self, batch: &BatchInfo) {
        self.batches += 1;
        self.records += batch.records() as u64;
        if batch.failure.is_some() {
            self.failed += 1;
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} batch{} ({} failed), {} record{}, {} error{}",
            self.batches,
            plural(self.batches, "es"),
            self.failed,
            self.records,
            plural(self.records, "s"),
            self.errors,
            plural(self.errors, "s"),
        )
    }
}

fn plural(n: u64, suffix: &'static str) -> &'static str {
    if n == 1 { "" } else { suffix }
}

/// An error already written: when, and how often it came again since.
struct Written {
    at: Instant,
    repeats: u64,
}

/// The default reporter (see the module's doc).
pub(crate) struct StderrReporter {
    job: &'static str,
    /// `None` when a status line is drawn (it shows the same, live).
    summary_every: Option<Duration>,
    /// How often a repeated error is written again, with its count.
    repeat_every: Duration,
    /// Whether a status line may be on the terminal's last line: erased
    /// before writing, so the two do not mix (the driver redraws it).
    erase_status_line: bool,
    since_summary: Totals,
    total: Totals,
    started: Instant,
    last_summary: Instant,
    written: HashMap<String, Written>,
    out: Box<dyn Write + Send>,
}

impl StderrReporter {
    /// A reporter for `job`; `status_line` says whether a status line is drawn.
    pub(crate) fn new(job: &'static str, summary_every: Duration, status_line: bool) -> Self {
        Self::to_writer(job, summary_every, status_line, Box::new(std::io::stderr()))
    }

    /// The same writing to `out` (tests).
    pub(crate) fn to_writer(
        job: &'static str,
        summary_every: Duration,
        status_line: bool,
        out: Box<dyn Write + Send>,
    ) -> Self {
        let now = Instant::now();
        StderrReporter {
            job,
            summary_every: (!status_line).then_some(summary_every),
            repeat_every: summary_every,
            erase_status_line: status_line,
            since_summary: Totals::default(),
            total: Totals::default(),
            started: now,
            last_summary: now,
            written: HashMap::new(),
            out,
        }
    }

    fn line(&mut self, text: &str) {
        let erase = if self.erase_status_line { "\r\x1b[2K" } else { "" };
        // One write per line, so that lines of other threads do not cut it.
        let _ = self.out.write_all(format!("{erase}[streamflow] {text}\n").as_bytes());
        let _ = self.out.flush();
    }

    /// Writes an error, or counts it when the same one was written lately.
    fn error(&mut self, text: String) {
        self.since_summary.errors += 1;
        self.total.errors += 1;
        let now = Instant::now();
        match self.written.get_mut(&text) {
            Some(seen) if now.duration_since(seen.at) < self.repeat_every => seen.repeats += 1,
            Some(seen) => {
                let again = match seen.repeats {
                    0 => text,
                    n => format!("{text} (and {n} more time{} since it was last written)", plural(n, "s")),
                };
                *seen = Written { at: now, repeats: 0 };
                self.line(&again);
            }
            None => {
                // Bounded: an error that keeps changing (a line number in it)
                // is written each time anyway.
                if self.written.len() >= 256 {
                    self.written.clear();
                }
                self.written.insert(text.clone(), Written { at: now, repeats: 0 });
                self.line(&text);
            }
        }
    }

    fn batch_completed(&mut self, batch: &BatchInfo) {
        self.since_summary.add_batch(batch);
        self.total.add_batch(batch);
        if let Some(failure) = &batch.failure {
            // A batch's error names its time already ("batch 300 ms failed: ...").
            let text = if failure.starts_with("batch ") {
                format!("job `{}`: {failure}", self.job)
            } else {
                format!("job `{}`: batch {} failed: {failure}", self.job, batch.time)
            };
            self.line(&text);
        }
        if let Some(every) = self.summary_every
            && self.last_summary.elapsed() >= every
        {
            let text = format!(
                "job `{}`, last {} s: {}",
                self.job,
                self.last_summary.elapsed().as_secs(),
                self.since_summary.describe()
            );
            self.line(&text);
            self.since_summary = Totals::default();
            self.last_summary = Instant::now();
        }
    }
}

impl StreamingListener for StderrReporter {
    fn on_event(&mut self, event: &StreamingEvent) {
        match event {
            StreamingEvent::Started { batch_interval } if self.summary_every.is_some() => {
                let every = self.summary_every.unwrap_or_default();
                self.line(&format!(
                    "job `{}` started: a batch every {} ms; a summary every {} s and at the stop",
                    self.job,
                    batch_interval.as_millis(),
                    every.as_secs()
                ));
            }
            StreamingEvent::BatchCompleted(batch) => self.batch_completed(batch),
            StreamingEvent::ReceiverError(receiver) => {
                let message = receiver.last_error.as_deref().unwrap_or("an error");
                self.error(format!("input `{}` ({}): {message}", receiver.input, receiver.name));
            }
            StreamingEvent::InputError(error) => {
                self.error(format!("input `{}`: {}", error.input, error.message));
            }
            StreamingEvent::Unprocessed(unprocessed) => {
                self.line(&format!(
                    "job `{}` stopped with {} accepted record{} not processed ({} queued batch{} dropped)",
                    self.job,
                    unprocessed.records,
                    plural(unprocessed.records, "s"),
                    unprocessed.batches,
                    plural(unprocessed.batches, "es")
                ));
            }
            StreamingEvent::EventsDropped { count } => {
                self.line(&format!(
                    "{count} event{} dropped because the listeners fall behind: the counts here are short",
                    plural(*count, "s")
                ));
            }
            StreamingEvent::Stopped => {
                let text = format!(
                    "job `{}` stopped after {} s: {}",
                    self.job,
                    self.started.elapsed().as_secs(),
                    self.total.describe()
                );
                self.line(&text);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Time;
    use crate::live::listener::{InputErrorInfo, ReceiverInfo};
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn lines(&self) -> Vec<String> {
            String::from_utf8(self.0.lock().unwrap().clone())
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    fn batch(ms: u64, records: usize, failure: Option<&str>) -> BatchInfo {
        BatchInfo {
            time: Time::from_millis(ms),
            input_records: vec![("lines", records)],
            submitted_at: std::time::SystemTime::now(),
            scheduling_delay: None,
            processing_time: None,
            total_delay: None,
            stage_times: Vec::new(),
            failure: failure.map(str::to_owned),
            input_progress: Vec::new(),
        }
    }

    fn refused() -> StreamingEvent {
        StreamingEvent::ReceiverError(ReceiverInfo {
            input: "lines",
            name: "socket 127.0.0.1:9".to_owned(),
            active: true,
            last_error: Some("cannot connect to 127.0.0.1:9: Connection refused".to_owned()),
            restarts: 0,
        })
    }

    #[test]
    fn errors_are_written_once_then_counted_and_the_stop_sums_up() {
        let out = Shared::default();
        let mut reporter = StderrReporter::to_writer("Count", Duration::from_secs(3600), false, Box::new(out.clone()));
        reporter.on_event(&StreamingEvent::Started {
            batch_interval: Duration::from_secs(1),
        });
        for _ in 0..5 {
            reporter.on_event(&refused());
        }
        reporter.on_event(&StreamingEvent::InputError(InputErrorInfo {
            input: "files",
            time: None,
            message: "cannot read a.txt".to_owned(),
        }));
        reporter.on_event(&StreamingEvent::BatchCompleted(batch(1000, 3, None)));
        reporter.on_event(&StreamingEvent::BatchCompleted(batch(
            2000,
            1,
            Some("user code panicked"),
        )));
        let failed = batch(3000, 0, Some("batch 3000 ms failed: disk full"));
        reporter.on_event(&StreamingEvent::BatchCompleted(failed));
        reporter.on_event(&StreamingEvent::Stopped);
        assert_eq!(
            out.lines(),
            [
                "[streamflow] job `Count` started: a batch every 1000 ms; a summary every 3600 s and at the stop",
                "[streamflow] input `lines` (socket 127.0.0.1:9): cannot connect to 127.0.0.1:9: Connection refused",
                "[streamflow] input `files`: cannot read a.txt",
                "[streamflow] job `Count`: batch 2000 ms failed: user code panicked",
                "[streamflow] job `Count`: batch 3000 ms failed: disk full",
                "[streamflow] job `Count` stopped after 0 s: 3 batches (2 failed), 4 records, 6 errors",
            ]
        );
    }

    #[test]
    fn a_repeated_error_is_written_again_with_its_count_and_summaries_come_every_interval() {
        let out = Shared::default();
        let mut reporter = StderrReporter::to_writer("Count", Duration::ZERO, false, Box::new(out.clone()));
        reporter.on_event(&refused());
        reporter.on_event(&refused());
        reporter.on_event(&StreamingEvent::BatchCompleted(batch(1000, 2, None)));
        assert_eq!(
            out.lines(),
            [
                "[streamflow] input `lines` (socket 127.0.0.1:9): cannot connect to 127.0.0.1:9: Connection refused",
                "[streamflow] input `lines` (socket 127.0.0.1:9): cannot connect to 127.0.0.1:9: Connection refused",
                "[streamflow] job `Count`, last 0 s: 1 batch (0 failed), 2 records, 2 errors",
            ]
        );
    }

    #[test]
    fn with_a_status_line_there_is_no_summary_and_lines_erase_it_first() {
        let out = Shared::default();
        let mut reporter = StderrReporter::to_writer("Count", Duration::ZERO, true, Box::new(out.clone()));
        reporter.on_event(&StreamingEvent::Started {
            batch_interval: Duration::from_secs(1),
        });
        reporter.on_event(&StreamingEvent::BatchCompleted(batch(1000, 2, None)));
        reporter.on_event(&refused());
        assert_eq!(
            out.lines(),
            [
                "\r\x1b[2K[streamflow] input `lines` (socket 127.0.0.1:9): cannot connect to 127.0.0.1:9: Connection refused"
            ]
        );
    }
}
