//! The settings of a live job that the [`StreamingContext`](super::StreamingContext)
//! builder tunes, with Spark's defaults.

use super::checkpoint::CheckpointSettings;
use super::rate::PidSettings;
use super::status_line::StatusLine;
use std::path::PathBuf;
use std::time::Duration;

/// The default bound on buffered bytes: 256 MiB.
pub(super) const DEFAULT_MAX_BUFFERED_BYTES: usize = 256 << 20;

#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) block_interval: Duration,
    pub(super) max_buffered_records: usize,
    pub(super) max_buffered_bytes: usize,
    pub(super) max_queued_batches: usize,
    pub(super) backpressure: bool,
    pub(super) pid: PidSettings,
    pub(super) restart_backoff: (Duration, Duration),
    pub(super) stop_timeout: Duration,
    /// `None`: 10 batch intervals, at least `stop_timeout`.
    pub(super) graceful_stop_timeout: Option<Duration>,
    pub(super) stop_on_signals: bool,
    pub(super) status_line: StatusLine,
    /// Whether errors and summaries are written to standard error (see `stderr_report`).
    pub(super) report_to_stderr: bool,
    pub(super) summary_interval: Duration,
    pub(super) stop_on_failure: bool,
    /// Where to serve the status page, if anywhere.
    #[cfg_attr(not(feature = "status-page"), allow(dead_code))]
    pub(super) status_page: Option<String>,
    /// The checkpoint directory, and whether a checkpoint in it is resumed.
    pub(super) checkpoint: Option<(PathBuf, bool)>,
    pub(super) checkpoint_interval: Option<Duration>,
    pub(super) keep_checkpoints: usize,
}

impl Settings {
    /// The checkpoint settings, if checkpointing is on.
    pub(super) fn checkpoint(&self) -> Option<CheckpointSettings> {
        self.checkpoint.as_ref().map(|(dir, resume)| CheckpointSettings {
            dir: dir.clone(),
            resume: *resume,
            interval: self.checkpoint_interval,
            keep: self.keep_checkpoints,
        })
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            // Spark's default block interval.
            block_interval: Duration::from_millis(200),
            max_buffered_records: 1_000_000,
            max_buffered_bytes: DEFAULT_MAX_BUFFERED_BYTES,
            max_queued_batches: 1_000,
            backpressure: true,
            pid: PidSettings::default(),
            restart_backoff: (Duration::from_millis(100), Duration::from_secs(2)),
            stop_timeout: Duration::from_secs(10),
            graceful_stop_timeout: None,
            stop_on_signals: false,
            status_line: StatusLine::Auto,
            report_to_stderr: true,
            summary_interval: Duration::from_secs(10),
            stop_on_failure: true,
            status_page: None,
            checkpoint: None,
            checkpoint_interval: None,
            keep_checkpoints: 2,
        }
    }
}

impl Settings {
    /// How long a graceful stop waits for the next batch to complete (Spark:
    /// `spark.streaming.gracefulStopTimeout`, 10 batch intervals).
    pub(super) fn graceful_stop_timeout(&self, batch_interval: Duration) -> Duration {
        self.graceful_stop_timeout
            .unwrap_or_else(|| (batch_interval * 10).max(self.stop_timeout))
    }
}
