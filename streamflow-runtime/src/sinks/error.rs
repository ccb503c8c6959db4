//! Why a sink could not write a batch.

use std::path::PathBuf;

/// Why a sink could not write a batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// Writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory being written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Another writer (a job, a sink) holds the output prefix: two writers
    /// would mix their batches.
    #[error(
        "another writer holds the output prefix `{prefix}` (lock {}): two jobs or sinks writing the same prefix would mix their batches",
        lock.display()
    )]
    PrefixInUse {
        /// The prefix.
        prefix: String,
        /// Its lock file.
        lock: PathBuf,
    },
    /// An element could not be serialized.
    #[error("cannot serialize an element: {0}")]
    Serialize(String),
    /// A sink closure panicked.
    #[error("panicked: {0}")]
    Panicked(String),
    /// Any other failure of a user-written sink.
    #[error("{0}")]
    Other(String),
}
