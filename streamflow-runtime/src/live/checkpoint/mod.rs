//! Checkpoints of a live job, so that it survives the crash of its process.
//!
//! Three kinds of record, the first and last written durably (temporary
//! name, fsync, rename, fsync of the directory; versioned and checksummed,
//! see [`frame`]):
//!
//! - before a batch runs, when it is cut: what it reads (each input's
//!   positions: files, write-ahead-log blocks, offsets);
//! - after every sink wrote the batch: a commit record (an empty marker
//!   file, not fsynced: losing it only makes recovery write the batch
//!   again);
//! - every checkpoint interval, after that batch's commit: the job's whole
//!   state, keyed by each operator's stable id.
//!
//! Old snapshots and the batch records they cover are removed on a thread
//! of their own.
//!
//! On a cluster every process writes its own part of the first and last
//! kind into the shared directory, and process 0 marks a record complete
//! after a barrier through the mesh (see [`dir`]); it alone writes commits
//! and cleans.
//!
//! Recovery ([`recovery`](super::recovery)) restores the newest intact state
//! snapshot, then runs again every recorded batch after it, with the inputs
//! it recorded, in time order: a committed one only to rebuild the state
//! (its outputs were written), the others in full. Sinks that rewrite a
//! batch idempotently (the file sinks) then give exactly-once output.

mod dir;
mod error;
pub(crate) mod frame;
mod records;

pub use error::CheckpointError;

pub(crate) use dir::{CheckpointDir, Choice, Part, Saved, clean_through};
pub(crate) use frame::Kind;
pub(crate) use records::{InputRecordInfo, InputsRecord, JobRecord, StateRecord};

use crate::Time;
use crate::job::JobState;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

/// The checkpoint settings of a context.
#[derive(Debug, Clone)]
pub(crate) struct CheckpointSettings {
    pub(crate) dir: PathBuf,
    /// Whether the directory may hold a checkpoint to resume
    /// (`get_or_create`), or must hold none (`checkpoint`).
    pub(crate) resume: bool,
    /// How often the state is saved; `None`: Spark's default.
    pub(crate) interval: Option<Duration>,
    /// How many state snapshots are kept.
    pub(crate) keep: usize,
}

/// Spark's default checkpoint interval: every batch for a batch interval of
/// 10 s or more, else the smallest multiple of it that is at least 10 s.
pub(crate) fn default_interval(batch_interval: Duration) -> Duration {
    let d = batch_interval.as_millis().max(1) as u64;
    Duration::from_millis(10_000u64.div_ceil(d).max(1) * d)
}

/// What the generator and the driver write while the job runs.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    dir: CheckpointDir,
    zero_ms: u64,
    interval_ms: u64,
    keep: usize,
    /// Removes old records on a thread of its own: deleting files costs
    /// metadata writes the batches need not wait for.
    cleaner: Option<Cleaner>,
}

#[derive(Debug)]
struct Cleaner {
    through: mpsc::Sender<Time>,
    thread: std::thread::JoinHandle<()>,
}

impl Cleaner {
    fn start(root: PathBuf) -> Option<Cleaner> {
        let (through, times) = mpsc::channel::<Time>();
        let thread = std::thread::Builder::new()
            .name("streamflow-checkpoint-cleaner".into())
            .spawn(move || {
                for oldest_kept in times {
                    if let Err(e) = clean_through(&root, oldest_kept) {
                        // Left for the next cleaning; nothing depends on it.
                        tracing::warn!("cannot clean the checkpoint: {e}");
                    }
                }
            })
            .ok()?;
        Some(Cleaner { through, thread })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        if let Some(Cleaner { through, thread }) = self.cleaner.take() {
            drop(through);
            let _ = thread.join();
        }
    }
}

impl Checkpointer {
    pub(crate) fn new(dir: CheckpointDir, zero: Time, interval: Duration, keep: usize) -> Self {
        let cleaner = Cleaner::start(dir.root().to_path_buf());
        Checkpointer {
            dir,
            zero_ms: zero.as_millis(),
            interval_ms: interval.as_millis().max(1) as u64,
            keep,
            cleaner,
        }
    }

    /// Records what the batch at `time` reads (the generator, before it
    /// queues the batch).
    pub(crate) fn record_inputs(&self, time: Time, inputs: Vec<Option<Vec<u8>>>) -> Result<(), CheckpointError> {
        self.dir.write_inputs(&InputsRecord {
            time_ms: time.as_millis(),
            inputs,
        })
    }

    /// Records that the batch at `time` is written.
    pub(crate) fn commit(&self, time: Time) -> Result<(), CheckpointError> {
        self.dir.write_commit(time)
    }

    /// Whether the state is saved after the batch at `time`.
    pub(crate) fn is_due(&self, time: Time) -> bool {
        time.as_millis()
            .saturating_sub(self.zero_ms)
            .is_multiple_of(self.interval_ms)
    }

    /// On a cluster (process 0, after every process recorded the batch at
    /// `time`): marks its record complete.
    pub(crate) fn complete_batch(&self, time: Time, processes: usize) -> Result<(), CheckpointError> {
        self.dir.write_parts(false, time.as_millis(), processes)
    }

    /// Saves `state` as of the batch at `time` (this process's part, on a
    /// cluster), then, on one process, removes what the kept snapshots made
    /// useless. Gives the snapshot's size and the time through which no
    /// batch will run again (`None` on a cluster: see
    /// [`complete_state`](Self::complete_state)).
    pub(crate) fn save_state(&self, time: Time, state: &dyn JobState) -> Result<(u64, Option<Time>), CheckpointError> {
        let snapshot = state.snapshot().map_err(CheckpointError::NotSaveable)?;
        let size = self.dir.write_state(&StateRecord {
            time_ms: time.as_millis(),
            state: snapshot,
        })?;
        if self.dir.part().is_some() {
            return Ok((size, None));
        }
        Ok((size, self.clean()?))
    }

    /// On a cluster (process 0, after every process saved its part of the
    /// snapshot at `time`): marks it complete, then cleans as
    /// [`save_state`](Self::save_state) does on one process.
    pub(crate) fn complete_state(&self, time: Time, processes: usize) -> Result<Option<Time>, CheckpointError> {
        self.dir.write_parts(true, time.as_millis(), processes)?;
        self.clean()
    }

    /// Removes what the kept snapshots made useless; gives the time through
    /// which no batch will run again.
    fn clean(&self) -> Result<Option<Time>, CheckpointError> {
        let through = self.dir.oldest_kept(self.keep)?;
        if let Some(t) = through {
            // Without its thread (it could not start), cleaning happens here.
            let sent = self.cleaner.as_ref().is_some_and(|c| c.through.send(t).is_ok());
            if !sent {
                clean_through(self.dir.root(), t)?;
            }
        }
        Ok(through)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_interval_is_sparks() {
        let ms = |d: u64| default_interval(Duration::from_millis(d)).as_millis();
        assert_eq!(ms(1000), 10_000);
        assert_eq!(ms(3000), 12_000);
        assert_eq!(ms(10_000), 10_000);
        assert_eq!(ms(15_000), 15_000);
        assert_eq!(ms(300), 10_200);
    }
}
