//! streamflow: Spark Streaming's model (a live stream cut into micro-batches,
//! each a partitioned collection) rebuilt as a Rust dataflow compiler.
//!
//! A job is written inside [`stream_job!`]. The macro type-checks the pipeline
//! while your crate compiles, fuses every run of narrow operators into one loop
//! per partition, and emits a static stage plan; the runtime runs that plan
//! once per batch on rayon. Only shuffles, windows and keyed state are stage
//! boundaries.
//!
//! ```
//! use streamflow::prelude::*;
//! use streamflow::testing::TestRun;
//!
//! stream_job! {
//!     /// Word counts per batch, and over the last 2 s every 2 s.
//!     pub job WordCount {
//!         batch_interval = 1s;
//!         input lines: String;
//!         let pairs = lines
//!             .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
//!             .map(|word| (word, 1u64));
//!         output counts: (String, u64) = pairs.reduce_by_key(|a, b| a + b);
//!         output recent: (String, u64) = pairs.reduce_by_key_and_window(|a, b| a + b, 2s, 2s);
//!     }
//! }
//!
//! # fn main() -> Result<(), BatchError> {
//! let mut run = TestRun::new(WordCount::new());
//! let first = run.run_batch(WordCount::inputs().lines(["a b a"]))?;
//! assert_eq!(first.time, Time::from_millis(1000));
//! assert_eq!(first.outputs.counts.sorted(), [("a".to_owned(), 2), ("b".to_owned(), 1)]);
//! // A window sliding every 2 s has no batch at 1 s.
//! assert!(first.outputs.recent.is_none());
//!
//! let second = run.run_batch(WordCount::inputs().lines(["b"]))?;
//! let recent = second.outputs.recent.expect("a window at 2 s");
//! assert_eq!(recent.sorted(), [("a".to_owned(), 2), ("b".to_owned(), 2)]);
//! # Ok(())
//! # }
//! ```
//!
//! The job language and every operator are described in the documentation of
//! [`stream_job!`]; their exact semantics in the repository's
//! `docs/semantics.md`. [`Job::run_batch`] runs one batch, [`testing`] drives
//! a job on a manual clock, [`live`] on the system clock with real sources and
//! sinks.

#![warn(missing_docs)]

#[doc = include_str!("stream_job.md")]
pub use streamflow_macros::stream_job;
pub use streamflow_runtime::{
    Batch, BatchContext, BatchError, ConfigError, InputPartitions, InputPorts, Job, JobConfig, JobState, JoinSide,
    Operator, OutputPorts, Plan, Port, PortInfo, PrintTarget, SourceSpan, Stage, StageEnd, State, StateEntry,
    StateError, StateSnapshot, Time,
};

/// Sinks: where output ports' batches go (print, files, a closure, a collector for tests).
pub use streamflow_runtime::sinks;

/// Live streams: the real-time scheduler, receivers, sources, sinks, metrics
/// and listeners (see [`live::StreamingContext`]).
pub use streamflow_runtime::live;
pub use streamflow_runtime::live::{StopHandle, StreamingContext, StreamingHandle};

/// Deterministic tests of a job: a manual clock, batch by batch (see [`testing::TestRun`]).
pub use streamflow_runtime::testing;

/// Running one job across several processes: the cluster configuration,
/// which process owns a partition, the `Wire` bound of exchanged elements
/// and, with the `cluster` feature, the mesh (timely dataflow).
pub use streamflow_runtime::cluster;

/// The names a job file needs: `use streamflow::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Batch, BatchError, Job, JobConfig, State, StopHandle, StreamingContext, StreamingHandle, Time, stream_job,
    };
}

/// The README's Rust blocks, compiled and run as doc tests so that every
/// snippet works as a user writes it. One serves the status page and one
/// reads Kafka, hence the features (both on whenever the workspace is tested
/// as a whole). The cluster snippet's body is compiled with the `cluster`
/// feature only; `scripts/test.sh` runs these once more with it on.
#[cfg(all(doctest, feature = "status-page", feature = "kafka"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeSnippets;

/// What the generated code calls. Not a stable API: do not use directly.
#[doc(hidden)]
pub mod __private {
    pub use streamflow_runtime::outputs::*;
    pub use streamflow_runtime::shuffle::borrowed::*;
    pub use streamflow_runtime::shuffle::collectors::*;
    pub use streamflow_runtime::shuffle::grouper::*;
    pub use streamflow_runtime::shuffle::join::*;
    pub use streamflow_runtime::shuffle::*;
    pub use streamflow_runtime::stage::*;
    pub use streamflow_runtime::state::*;
    pub use streamflow_runtime::typing::{
        PortElement, Stream, UncheckedByRef, UncheckedByValue, UncheckedFolds, UncheckedMapsWithState,
        UncheckedReduces, UncheckedUpdates, UncheckedUpdatesAtTime, into_port, key_value, key_value_combine,
        key_value_group, key_value_group_window, key_value_state, key_value_window, share, share_batch, union_batches,
        union_batches3, union_batches4, union_batches5, union_batches6, union_batches7, union_batches8,
    };
    pub use streamflow_runtime::windows::*;
    pub use streamflow_runtime::{
        CodecProbe, InputPartitions, JobCore, Kept, KeptState, NoCodec, SerdeCodec, prepare_input, prepare_input_as,
    };

    /// Builds a job with the default configuration, which is always valid: it
    /// has at least one partition and uses rayon's global pool, so no thread
    /// pool is created and nothing can fail.
    pub fn build_default<J>(with_config: impl FnOnce(crate::JobConfig) -> Result<J, crate::ConfigError>) -> J {
        match with_config(crate::JobConfig::default()) {
            Ok(job) => job,
            Err(e) => unreachable!("the default job configuration is valid: {e}"),
        }
    }
}
