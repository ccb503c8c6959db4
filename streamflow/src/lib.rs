//! streamflow: Spark Streaming's model (a live stream cut into micro-batches,
//! each a partitioned collection) rebuilt as a Rust dataflow compiler.
//!
//! A job is written inside [`stream_job!`]. The macro type-checks the pipeline
//! while your crate compiles, fuses every run of narrow operators into one loop
//! per partition, and emits a static stage plan; the runtime runs that plan
//! once per batch on rayon.

#![warn(missing_docs)]

pub use streamflow_macros::stream_job;
pub use streamflow_runtime::{
    Batch, BatchContext, BatchError, ConfigError, InputPorts, Job, JobConfig, Operator, OutputPorts, Plan, Port,
    PortInfo, PrintTarget, SourceSpan, Stage, StageEnd, State, Time,
};

/// Live streams: the real-time scheduler, receivers, sources, sinks, metrics
/// and listeners (see [`live::StreamingContext`]).
pub use streamflow_runtime::live;
pub use streamflow_runtime::live::{StreamingContext, StreamingHandle};

/// Deterministic tests of a job: a manual clock, batch by batch (see [`testing::TestRun`]).
pub use streamflow_runtime::testing;

/// The names a job file needs: `use streamflow::prelude::*;`.
pub mod prelude {
    pub use crate::{Batch, BatchError, Job, JobConfig, State, Time, stream_job};
}

/// What the generated code calls. Not a stable API: do not use directly.
#[doc(hidden)]
pub mod __private {
    pub use streamflow_runtime::collectors::*;
    pub use streamflow_runtime::join::*;
    pub use streamflow_runtime::output::*;
    pub use streamflow_runtime::shuffle::*;
    pub use streamflow_runtime::stage::*;
    pub use streamflow_runtime::state::*;
    pub use streamflow_runtime::typing::{Stream, into_port, share, share_batch};
    pub use streamflow_runtime::windows::*;
    pub use streamflow_runtime::{JobBody, JobCore, prepare_input};

    /// Builds a job with the default configuration, which is always valid: it
    /// has at least one partition and uses rayon's global pool, so no thread
    /// pool is created and nothing can fail.
    pub fn build_default<J>(with_config: fn(crate::JobConfig) -> Result<J, crate::ConfigError>) -> J {
        match with_config(crate::JobConfig::default()) {
            Ok(job) => job,
            Err(e) => unreachable!("the default job configuration is valid: {e}"),
        }
    }
}
