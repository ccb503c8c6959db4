//! Live streams: jobs run on a clock that ticks every batch interval, fed by
//! receivers on their own threads (sockets, custom sources) and by
//! directories, written to files and printed, watched through listeners,
//! metrics and a status line.
//!
//! ```no_run
//! use std::time::Duration;
//! use streamflow::live::{StreamingContext, sinks, sources};
//! use streamflow::prelude::*;
//!
//! stream_job! {
//!     /// Word counts per batch.
//!     pub job WordCount {
//!         batch_interval = 1s;
//!         input lines: String;
//!         output counts: (String, u64) = lines
//!             .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
//!             .map(|word| (word, 1u64))
//!             .reduce_by_key(|a, b| a + b);
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let handle = StreamingContext::new(WordCount::new())
//!     .input("lines", sources::socket_text_stream("localhost", 9999))?
//!     .output::<(String, u64)>("counts", sinks::save_as_text_files("out/counts", "txt"))?
//!     .start()?;
//! std::thread::sleep(Duration::from_secs(10));
//! handle.stop(true)?; // everything received is processed and written
//! # Ok(()) }
//! ```
//!
//! Time: batch `k` has time `k·d` after the moment `start` was called (the
//! zero time) and holds what the sources stored during `[t − d, t)`. Batches
//! are cut at their time even while earlier ones are still running; they
//! queue, and the wait shows as scheduling delay in [`BatchInfo`].
//!
//! Threads of a running job: one per receiver; the generator, which cuts a
//! batch at every batch time; the driver, which runs the batches in time
//! order (delivers their inputs, runs the job, writes the sinks, commits the
//! inputs); a listener thread when listeners are registered (the default
//! reporter to standard error is one: see
//! [`report_to_stderr`](StreamingContext::report_to_stderr)). What a source
//! sees of them, call by call, is in [`sources`](sources#plumbing-writing-a-source).

mod agreed_stop;
mod bound_sink;
mod checkpoint;
mod clock;
mod context;
mod driver;
mod error;
mod generator;
mod handle;
#[cfg(feature = "kafka")]
pub mod kafka;
mod launch;
mod listener;
mod memory;
mod rate;
mod recovery;
mod reports;
mod run_state;
mod settings;
mod signals;
pub mod sources;
mod status_line;
#[cfg(feature = "status-page")]
mod status_page;
mod stderr_report;
mod stop_handle;
mod sync;

/// Sinks, re-exported here beside the sources (they live in [`crate::sinks`]).
pub use crate::sinks::{self, SinkError};
pub use checkpoint::CheckpointError;
pub use clock::{Clock, ManualClock, SystemClock};
pub use context::StreamingContext;
pub use error::{ReceiverError, SourceError, StartError, StreamingError};
pub use handle::{StopReport, StreamingHandle};
pub use listener::{
    BatchInfo, CheckpointInfo, EVENT_QUEUE, InputErrorInfo, OutputOperationInfo, PartitionProgress, ReceiverInfo,
    StreamingEvent, StreamingListener, UnprocessedInfo,
};
pub use memory::ByteSize;
pub use rate::{PidRateEstimator, PidSettings, RateLimiter};
pub use recovery::RecoveryInfo;
pub use sources::{Input, InputStats, Receiver, ReceiverContext, Stopped};
pub use status_line::StatusLine;
pub use stop_handle::StopHandle;
