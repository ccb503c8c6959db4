//! Why a checkpoint could not be written, read or resumed.

use crate::job::StateError;
use std::path::PathBuf;

/// Why a checkpoint could not be written, read, or resumed from. At start
/// it is returned in [`StartError::Checkpoint`](crate::live::StartError::Checkpoint);
/// while running, a failure to write one fails the batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// A file or directory could not be created, written, read or synced.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file is not a whole, intact checkpoint file.
    #[error("{what} {} is damaged: {problem}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What the file should hold.
        what: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A file was written by another version of streamflow's format.
    #[error(
        "{} has checkpoint format version {found}; this build reads version {supported}",
        path.display()
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// Its format version.
        found: u16,
        /// The version this build reads.
        supported: u16,
    },
    /// Another running job holds the directory.
    #[error(
        "checkpoint directory {} is in use by another running job (its lock is held); \
         one directory serves one running job",
        dir.display()
    )]
    Locked {
        /// The directory.
        dir: PathBuf,
    },
    /// `checkpoint(dir)` was given a directory that already holds a checkpoint.
    #[error(
        "checkpoint directory {} already holds a checkpoint of job `{job}`: resume it with \
         `StreamingContext::get_or_create`, or give a new directory",
        dir.display()
    )]
    AlreadyUsed {
        /// The directory.
        dir: PathBuf,
        /// The job whose checkpoint it holds.
        job: String,
    },
    /// The checkpoint is another job's.
    #[error("checkpoint directory {} holds a checkpoint of job `{found}`, not of job `{job}`", dir.display())]
    OtherJob {
        /// The directory.
        dir: PathBuf,
        /// The job whose checkpoint it holds.
        found: String,
        /// The job being started.
        job: &'static str,
    },
    /// The job's settings changed in a way its checkpoint cannot follow.
    #[error("cannot resume from {}: the {what} changed from {saved} to {now}; {hint}", dir.display())]
    Changed {
        /// The directory.
        dir: PathBuf,
        /// What changed (`batch interval`, `partition count`, ...).
        what: &'static str,
        /// Its value in the checkpoint.
        saved: String,
        /// Its value now.
        now: String,
        /// What to do about it.
        hint: &'static str,
    },
    /// The saved state does not fit the job.
    #[error("cannot resume from {}: {source}", path.display())]
    State {
        /// The snapshot file.
        path: PathBuf,
        /// What does not fit.
        source: StateError,
    },
    /// The job's state cannot be saved at all (checked at start).
    #[error("checkpointing is on, but {0}")]
    NotSaveable(StateError),
    /// A recorded position could not be read back by its source.
    #[error("cannot resume input `{port}` from {}: {message}", path.display())]
    Positions {
        /// The batch record.
        path: PathBuf,
        /// The input port.
        port: String,
        /// What the source said.
        message: String,
    },
    /// An encoding error of a record (a bug, or a source whose positions do
    /// not serialize).
    #[error("cannot encode {what}: {message}")]
    Encode {
        /// The record.
        what: &'static str,
        /// What the serializer said.
        message: String,
    },
}
