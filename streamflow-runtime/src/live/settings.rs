//! The settings of a live job that the [`StreamingContext`](super::StreamingContext)
//! builder tunes, with Spark's defaults.

use super::rate::PidSettings;
use super::status_line::StatusLine;
use std::time::Duration;

#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) block_interval: Duration,
    pub(super) max_buffered_records: usize,
    pub(super) backpressure: bool,
    pub(super) pid: PidSettings,
    pub(super) restart_backoff: (Duration, Duration),
    pub(super) stop_timeout: Duration,
    pub(super) status_line: StatusLine,
    pub(super) stop_on_failure: bool,
    /// Where to serve the status page, if anywhere.
    #[cfg_attr(not(feature = "status-page"), allow(dead_code))]
    pub(super) status_page: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            // Spark's default block interval.
            block_interval: Duration::from_millis(200),
            max_buffered_records: 1_000_000,
            backpressure: true,
            pid: PidSettings::default(),
            restart_backoff: (Duration::from_millis(100), Duration::from_secs(2)),
            stop_timeout: Duration::from_secs(10),
            status_line: StatusLine::Auto,
            stop_on_failure: true,
            status_page: None,
        }
    }
}
