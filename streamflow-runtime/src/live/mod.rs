//! Live streams: jobs run on a clock that ticks every batch interval, fed by
//! receivers on their own threads (sockets, custom sources) and by
//! directories, written to files and printed, watched through listeners,
//! metrics and a status line.
//!
//! ```no_run
//! # use streamflow_runtime::{Batch, BatchError, Job, JobConfig, Plan, Time};
//! # struct WordCount;
//! # impl Job for WordCount {
//! #     type Inputs = Batch<String>;
//! #     type Outputs = Batch<(String, u64)>;
//! #     fn plan(&self) -> &'static Plan { unimplemented!() }
//! #     fn config(&self) -> &JobConfig { unimplemented!() }
//! #     fn run_batch(&mut self, _: Time, _: Self::Inputs) -> Result<Self::Outputs, BatchError> { unimplemented!() }
//! # }
//! use streamflow_runtime::live::{StreamingContext, sinks, sources};
//! use std::time::Duration;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let handle = StreamingContext::new(WordCount)
//!     .input("input", sources::socket_text_stream("localhost", 9999))?
//!     .output::<(String, u64)>("output", sinks::save_as_text_files("out/counts", "txt"))?
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
//! inputs); a listener thread when listeners are registered. What a source
//! sees of them, call by call, is in [`sources`](sources#plumbing-writing-a-source).

mod bound_sink;
mod clock;
mod context;
mod driver;
mod error;
mod generator;
mod handle;
mod launch;
mod listener;
mod memory;
mod rate;
mod run_state;
mod settings;
pub mod sources;
mod status_line;
mod sync;

/// Sinks, re-exported here beside the sources (they live in [`crate::sinks`]).
pub use crate::sinks::{self, SinkError};
pub use clock::{Clock, ManualClock, SystemClock};
pub use context::StreamingContext;
pub use error::{ReceiverError, SourceError, StartError, StreamingError};
pub use handle::StreamingHandle;
pub use listener::{BatchInfo, InputErrorInfo, OutputOperationInfo, ReceiverInfo, StreamingEvent, StreamingListener};
pub use rate::{PidRateEstimator, PidSettings, RateLimiter};
pub use sources::{Input, InputStats, Receiver, ReceiverContext, Stopped};
pub use status_line::StatusLine;
