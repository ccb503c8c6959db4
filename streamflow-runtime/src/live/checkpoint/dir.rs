//! The checkpoint directory: where each record lives, the lock that keeps
//! two running jobs out of one directory, reading everything back, and
//! removing what a newer snapshot made useless.
//!
//! ```text
//! <dir>/job                    the job record (written once)
//! <dir>/lock                   held while a job runs from this directory
//! <dir>/batches/<time>.inputs  what the batch at <time> (epoch ms) reads
//! <dir>/batches/<time>.commit  the batch's outputs are all written
//! <dir>/state/<time>.state     the job's state after the batch at <time>
//! <dir>/wal/<input>/<id>.block blocks stored by a receiver
//! ```

use super::error::CheckpointError;
use super::frame::{self, Kind, TEMP_PREFIX};
use super::records::{InputsRecord, JobRecord, StateRecord};
use crate::Time;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// An open checkpoint directory, locked for this process.
#[derive(Debug)]
pub(crate) struct CheckpointDir {
    root: PathBuf,
    /// Held (locked) for as long as the job runs.
    _lock: File,
}

/// Everything a checkpoint directory holds that recovery reads.
#[derive(Debug)]
pub(crate) struct Saved {
    pub(crate) job: JobRecord,
    /// The newest intact state snapshot, and its file.
    pub(crate) state: Option<(StateRecord, PathBuf)>,
    /// Newer snapshots that were damaged and passed over, with why.
    pub(crate) passed_over: Vec<String>,
    /// Every batch record still kept, oldest first, with its file and
    /// whether the batch was committed.
    pub(crate) batches: Vec<SavedBatch>,
}

/// One recorded batch.
#[derive(Debug)]
pub(crate) struct SavedBatch {
    pub(crate) record: InputsRecord,
    pub(crate) path: PathBuf,
    pub(crate) committed: bool,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError {
    let path = path.to_path_buf();
    move |source| CheckpointError::Io { action, path, source }
}

fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, CheckpointError> {
    postcard::to_stdvec(value).map_err(|e| CheckpointError::Encode {
        what,
        message: e.to_string(),
    })
}

fn decode<T: DeserializeOwned>(path: &Path, what: &'static str, bytes: &[u8]) -> Result<T, CheckpointError> {
    postcard::from_bytes(bytes).map_err(|e| CheckpointError::Damaged {
        path: path.to_path_buf(),
        what,
        problem: format!("its content does not decode: {e}"),
    })
}

/// The times of the files named `<time>.<extension>` in `dir`, ascending.
fn times(dir: &Path, extension: &str) -> Result<BTreeSet<u64>, CheckpointError> {
    let mut found = BTreeSet::new();
    for entry in fs::read_dir(dir).map_err(io("list", dir))? {
        let name = entry.map_err(io("list", dir))?.file_name();
        let name = name.to_string_lossy();
        if let Some(time) = name
            .strip_suffix(extension)
            .and_then(|stem| stem.strip_suffix('.'))
            .and_then(|stem| stem.parse().ok())
        {
            found.insert(time);
        }
    }
    Ok(found)
}

/// Removes the temporary files a crash left in `dir` (never our final names).
fn remove_leftovers(dir: &Path) -> Result<(), CheckpointError> {
    for entry in fs::read_dir(dir).map_err(io("list", dir))? {
        let entry = entry.map_err(io("list", dir))?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let path = entry.path();
            fs::remove_file(&path).map_err(io("remove the leftover", &path))?;
            tracing::debug!(file = %path.display(), "removed a checkpoint file a crash left half-written");
        }
    }
    Ok(())
}

impl CheckpointDir {
    /// Opens `root` (created if missing), locks it, and removes the
    /// temporary files a crash left behind.
    pub(crate) fn open(root: &Path) -> Result<CheckpointDir, CheckpointError> {
        fs::create_dir_all(root).map_err(io("create", root))?;
        for sub in ["batches", "state", "wal"] {
            let dir = root.join(sub);
            fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        }
        let lock_path = root.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io("create", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(CheckpointError::Locked {
                    dir: root.to_path_buf(),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io("lock", &lock_path)(e)),
        }
        let dir = CheckpointDir {
            root: root.to_path_buf(),
            _lock: lock,
        };
        for sub in [dir.root.clone(), dir.batches(), dir.states()] {
            remove_leftovers(&sub)?;
        }
        Ok(dir)
    }

    /// The directory.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    fn batches(&self) -> PathBuf {
        self.root.join("batches")
    }

    fn states(&self) -> PathBuf {
        self.root.join("state")
    }

    fn job_path(&self) -> PathBuf {
        self.root.join("job")
    }

    /// Where input `port`'s receiver keeps its write-ahead log.
    pub(crate) fn wal(&self, port: &str) -> PathBuf {
        self.root.join("wal").join(port)
    }

    fn batch_path(&self, time: u64, extension: &str) -> PathBuf {
        self.batches().join(format!("{time}.{extension}"))
    }

    /// The job record, if the directory has one.
    pub(crate) fn job(&self) -> Result<Option<JobRecord>, CheckpointError> {
        let path = self.job_path();
        if !path.exists() {
            return Ok(None);
        }
        let bytes = frame::read(&path, Kind::Job)?;
        decode(&path, "job record", &bytes).map(Some)
    }

    /// Writes the job record (a fresh checkpoint).
    pub(crate) fn write_job(&self, job: &JobRecord) -> Result<(), CheckpointError> {
        frame::write(&self.job_path(), Kind::Job, &encode("the job record", job)?)
    }

    /// Records what a batch reads, before it runs.
    pub(crate) fn write_inputs(&self, record: &InputsRecord) -> Result<(), CheckpointError> {
        let bytes = encode("a batch's inputs", record)?;
        frame::write(&self.batch_path(record.time_ms, "inputs"), Kind::Inputs, &bytes)
    }

    /// Records that a batch's outputs are all written. Not fsynced: a
    /// commit record is only looked for, and losing one (the machine
    /// crashed) only makes recovery write that batch's outputs again, which
    /// a sink must bear anyway (a crash between its write and the commit
    /// does the same). The outputs themselves are durable before it.
    pub(crate) fn write_commit(&self, time: Time) -> Result<(), CheckpointError> {
        let path = self.batch_path(time.as_millis(), "commit");
        File::create(&path).map(drop).map_err(io("create", &path))
    }

    /// Writes a snapshot of the job's state after its batch; gives its size
    /// in bytes.
    pub(crate) fn write_state(&self, record: &StateRecord) -> Result<u64, CheckpointError> {
        let bytes = encode("the job's state", record)?;
        let path = self.states().join(format!("{}.state", record.time_ms));
        frame::write(&path, Kind::State, &bytes)?;
        Ok(bytes.len() as u64)
    }

    /// Reads everything recovery needs: the job record, the newest intact
    /// snapshot (passing over damaged newer ones, which are reported), and
    /// every kept batch record. `None` if the directory holds no checkpoint.
    pub(crate) fn load(&self) -> Result<Option<Saved>, CheckpointError> {
        let Some(job) = self.job()? else {
            return Ok(None);
        };
        let mut state = None;
        let mut passed_over = Vec::new();
        for time in times(&self.states(), "state")?.into_iter().rev() {
            let path = self.states().join(format!("{time}.state"));
            let read = frame::read(&path, Kind::State)
                .and_then(|bytes| decode::<StateRecord>(&path, "state snapshot", &bytes));
            match read {
                Ok(record) => {
                    state = Some((record, path));
                    break;
                }
                Err(e) => passed_over.push(e.to_string()),
            }
        }
        let commits = times(&self.batches(), "commit")?;
        let mut batches = Vec::new();
        for time in times(&self.batches(), "inputs")? {
            let path = self.batch_path(time, "inputs");
            let bytes = frame::read(&path, Kind::Inputs)?;
            let record: InputsRecord = decode(&path, "batch inputs record", &bytes)?;
            batches.push(SavedBatch {
                committed: commits.contains(&time),
                record,
                path,
            });
        }
        Ok(Some(Saved {
            job,
            state,
            passed_over,
            batches,
        }))
    }

    /// The time of the oldest of the newest `keep` snapshots: recovery from
    /// any kept snapshot re-runs only batches after it, so nothing up to it
    /// is needed any more (see [`clean_through`]).
    pub(crate) fn oldest_kept(&self, keep: usize) -> Result<Option<Time>, CheckpointError> {
        let states = times(&self.states(), "state")?;
        Ok(states
            .iter()
            .rev()
            .take(keep.max(1))
            .min()
            .map(|&t| Time::from_millis(t)))
    }
}

/// In the checkpoint directory `root`, removes the snapshots older than
/// `oldest_kept` and the batch records up to it. Files already gone are no
/// error (two cleanings may overlap).
pub(crate) fn clean_through(root: &Path, oldest_kept: Time) -> Result<(), CheckpointError> {
    let oldest_kept = oldest_kept.as_millis();
    let remove = |path: PathBuf| match fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove", &path)(e)),
        _ => Ok(()),
    };
    let states = root.join("state");
    for time in times(&states, "state")?.range(..oldest_kept) {
        remove(states.join(format!("{time}.state")))?;
    }
    let batches = root.join("batches");
    for extension in ["commit", "inputs"] {
        for time in times(&batches, extension)?.range(..=oldest_kept) {
            remove(batches.join(format!("{time}.{extension}")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::StateSnapshot;

    fn fresh(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("streamflow-ckdir-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn job() -> JobRecord {
        JobRecord {
            job: "Counts".to_owned(),
            batch_interval_ms: 1000,
            partitions: 4,
            zero_ms: 5000,
            inputs: Vec::new(),
            input_partitions: Vec::new(),
        }
    }

    fn inputs(time_ms: u64) -> InputsRecord {
        InputsRecord {
            time_ms,
            inputs: vec![Some(vec![1, 2, 3]), None],
        }
    }

    fn state(time_ms: u64) -> StateRecord {
        StateRecord {
            time_ms,
            state: StateSnapshot { entries: Vec::new() },
        }
    }

    #[test]
    fn records_read_back_and_cleaning_keeps_what_recovery_needs() {
        let root = fresh("records");
        let dir = CheckpointDir::open(&root).unwrap();
        assert!(dir.load().unwrap().is_none());
        dir.write_job(&job()).unwrap();
        for t in 1..=6u64 {
            dir.write_inputs(&inputs(5000 + t * 1000)).unwrap();
            if t <= 5 {
                dir.write_commit(Time::from_millis(5000 + t * 1000)).unwrap();
            }
            if t % 2 == 0 {
                dir.write_state(&state(5000 + t * 1000)).unwrap();
            }
        }
        let oldest = dir.oldest_kept(2).unwrap();
        assert_eq!(oldest, Some(Time::from_millis(9000)));
        clean_through(&root, oldest.unwrap()).unwrap();
        let saved = dir.load().unwrap().unwrap();
        assert_eq!(saved.job, job());
        assert_eq!(saved.state.as_ref().unwrap().0, state(11000));
        let kept: Vec<(u64, bool)> = saved.batches.iter().map(|b| (b.record.time_ms, b.committed)).collect();
        assert_eq!(kept, [(10000, true), (11000, false)]);
        assert_eq!(
            times(&dir.states(), "state").unwrap().into_iter().collect::<Vec<_>>(),
            [9000, 11000]
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_damaged_newest_snapshot_is_passed_over_and_named() {
        let root = fresh("fallback");
        let dir = CheckpointDir::open(&root).unwrap();
        dir.write_job(&job()).unwrap();
        dir.write_state(&state(7000)).unwrap();
        dir.write_state(&state(9000)).unwrap();
        let newest = root.join("state/9000.state");
        let mut bytes = fs::read(&newest).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&newest, bytes).unwrap();
        let saved = dir.load().unwrap().unwrap();
        assert_eq!(saved.state.unwrap().0.time_ms, 7000);
        assert_eq!(saved.passed_over.len(), 1);
        assert!(
            saved.passed_over[0].contains("9000.state is damaged: checksum mismatch"),
            "{:?}",
            saved.passed_over
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn one_directory_serves_one_running_job_and_leftovers_go() {
        let root = fresh("lock");
        let first = CheckpointDir::open(&root).unwrap();
        let err = CheckpointDir::open(&root).unwrap_err().to_string();
        assert!(err.contains("is in use by another running job"), "{err}");
        drop(first);
        fs::write(root.join("batches/.tmp-1000.inputs"), b"half").unwrap();
        let _again = CheckpointDir::open(&root).unwrap();
        assert!(!root.join("batches/.tmp-1000.inputs").exists());
        fs::remove_dir_all(&root).unwrap();
    }
}
