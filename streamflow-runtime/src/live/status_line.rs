//! A one-line live status on a terminal: drawn on standard error after each
//! batch and erased before the next one starts, so that it never mixes with
//! what the batch prints. Where it is not drawn (standard error is a file or
//! a pipe), the default reporter writes a summary line now and then instead
//! (`stderr_report.rs`).

use super::listener::BatchInfo;
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// When to draw the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusLine {
    /// When standard error is a terminal (the default).
    #[default]
    Auto,
    /// Always (even into a pipe).
    Always,
    /// Never.
    Never,
}

pub(crate) struct StatusDrawer {
    enabled: bool,
    drawn: bool,
    interval: Duration,
}

impl StatusLine {
    /// Whether a status line is drawn in this mode, here.
    pub(crate) fn is_drawn(self) -> bool {
        match self {
            StatusLine::Auto => std::io::stderr().is_terminal(),
            StatusLine::Always => true,
            StatusLine::Never => false,
        }
    }
}

impl StatusDrawer {
    pub(crate) fn new(mode: StatusLine, interval: Duration) -> Self {
        let enabled = mode.is_drawn();
        StatusDrawer {
            enabled,
            drawn: false,
            interval,
        }
    }

    /// Erases the line, if drawn (before a batch runs and may print).
    pub(crate) fn clear(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(b"\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
        }
    }

    /// Draws the line for a completed batch; `queued` batches are waiting.
    pub(crate) fn draw(&mut self, batch: &BatchInfo, queued: usize) {
        if !self.enabled {
            return;
        }
        let line = status_text(batch, queued, self.interval);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        self.drawn = true;
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_owned(), |d| format!("{} ms", d.as_millis()))
}

/// The status text of one batch.
pub(crate) fn status_text(batch: &BatchInfo, queued: usize, interval: Duration) -> String {
    let rate = batch.records() as f64 / interval.as_secs_f64().max(1e-9);
    let mut line = format!(
        "[streamflow] batch {} | {:.0} records/s | processing {} | delay {} | queued {}",
        batch.time,
        rate,
        ms(batch.processing_time),
        ms(batch.scheduling_delay),
        queued
    );
    if batch.failure.is_some() {
        line.push_str(" | FAILED");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Time;

    #[test]
    fn the_status_names_the_batch_rate_and_delays() {
        let info = BatchInfo {
            time: Time::from_millis(2000),
            input_records: vec![("lines", 250)],
            submitted_at: std::time::SystemTime::now(),
            scheduling_delay: Some(Duration::from_millis(3)),
            processing_time: Some(Duration::from_millis(12)),
            total_delay: Some(Duration::from_millis(15)),
            stage_times: vec![Duration::from_millis(12)],
            failure: None,
            input_progress: Vec::new(),
        };
        assert_eq!(
            status_text(&info, 1, Duration::from_millis(500)),
            "[streamflow] batch 2000 ms | 500 records/s | processing 12 ms | delay 3 ms | queued 1"
        );
        let mut never = StatusDrawer::new(StatusLine::Never, Duration::from_secs(1));
        never.draw(&info, 0);
        never.clear();
        assert!(!never.drawn);
    }
}
