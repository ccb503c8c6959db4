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
//!
//! On a cluster the directory is shared by every process, and each writes
//! its own part of a batch's inputs and of a state snapshot
//! (`<time>.inputs.<process>`, `<time>.state.<process>`); process 0 locks
//! `lock` and process `i` `lock.<i>`. A part counts only once process 0 has
//! written `<time>.parts` beside it (after a barrier through the mesh: every
//! process wrote its part), which says how many processes wrote parts. A
//! whole record (one process) is a record of one part, so a checkpoint
//! taken on N processes restores on M, one process included.

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
    /// On a cluster: this process's part of each record.
    part: Option<Part>,
    /// Held (locked) for as long as the job runs.
    _lock: File,
}

/// A process of a cluster writing its part of each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) process: usize,
    pub(crate) processes: usize,
}

/// Everything a checkpoint directory holds that recovery reads.
#[derive(Debug)]
pub(crate) struct Saved {
    pub(crate) job: JobRecord,
    /// The newest intact state snapshot, every part of it.
    pub(crate) state: Option<SavedState>,
    /// Newer snapshots that were damaged and passed over, with why.
    pub(crate) passed_over: Vec<String>,
    /// Every complete batch record still kept, oldest first, with its file
    /// and whether the batch was committed.
    pub(crate) batches: Vec<SavedBatch>,
}

/// A state snapshot: its time, and each process's part by process index
/// (one part for a snapshot taken by one process).
#[derive(Debug)]
pub(crate) struct SavedState {
    pub(crate) time_ms: u64,
    pub(crate) parts: Vec<StateRecord>,
    /// Its first file (for errors).
    pub(crate) path: PathBuf,
}

/// One recorded batch: each process's record of what it read.
#[derive(Debug)]
pub(crate) struct SavedBatch {
    pub(crate) time_ms: u64,
    pub(crate) parts: Vec<InputsRecord>,
    pub(crate) path: PathBuf,
    pub(crate) committed: bool,
}

/// What every process of a cluster recovers from, as process 0 chose it:
/// the snapshot's time (`None`: no snapshot) and the last complete batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Choice {
    pub(crate) state_ms: Option<u64>,
    pub(crate) last_batch_ms: u64,
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

/// The number of processes a `<time>.parts` marker says wrote parts.
fn read_parts(path: &Path) -> Result<usize, CheckpointError> {
    let bytes = frame::read(path, Kind::Parts)?;
    let processes: u64 = decode(path, "parts marker", &bytes)?;
    if processes == 0 {
        return Err(CheckpointError::Damaged {
            path: path.to_path_buf(),
            what: "parts marker",
            problem: "it counts no process".to_owned(),
        });
    }
    Ok(processes as usize)
}

/// The files of the record at `time` in `dir` with `extension`: the parts a
/// `<time>.parts` marker counts, else the whole `<time>.<extension>`.
fn record_files(dir: &Path, time: u64, extension: &str) -> Result<Vec<PathBuf>, CheckpointError> {
    let marker = dir.join(format!("{time}.parts"));
    if marker.exists() {
        let processes = read_parts(&marker)?;
        return Ok((0..processes)
            .map(|i| dir.join(format!("{time}.{extension}.{i}")))
            .collect());
    }
    Ok(vec![dir.join(format!("{time}.{extension}"))])
}

/// Reads every file of a record of kind `kind`.
fn read_all<T: DeserializeOwned>(files: &[PathBuf], kind: Kind, what: &'static str) -> Result<Vec<T>, CheckpointError> {
    files
        .iter()
        .map(|path| frame::read(path, kind).and_then(|bytes| decode(path, what, &bytes)))
        .collect()
}

impl CheckpointDir {
    /// Opens `root` (created if missing), locks it, and removes the
    /// temporary files a crash left behind.
    #[cfg(test)]
    pub(crate) fn open(root: &Path) -> Result<CheckpointDir, CheckpointError> {
        Self::open_part(root, None)
    }

    /// The same as one process (`part`: `None`) or as process `part` of a
    /// cluster, which writes its parts of the records (process 0 alone
    /// removes leftovers: no process writes before every process opened the
    /// directory).
    pub(crate) fn open_part(root: &Path, part: Option<Part>) -> Result<CheckpointDir, CheckpointError> {
        fs::create_dir_all(root).map_err(io("create", root))?;
        for sub in ["batches", "state", "wal"] {
            let dir = root.join(sub);
            fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        }
        let lock_path = match part {
            Some(Part { process, .. }) if process > 0 => root.join(format!("lock.{process}")),
            _ => root.join("lock"),
        };
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
            part,
            _lock: lock,
        };
        if part.is_none_or(|p| p.process == 0) {
            for sub in [dir.root.clone(), dir.batches(), dir.states()] {
                remove_leftovers(&sub)?;
            }
        }
        Ok(dir)
    }

    /// This process's part, on a cluster.
    pub(crate) fn part(&self) -> Option<Part> {
        self.part
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

    /// This process's file of a record: `<time>.<extension>`, or its part
    /// on a cluster.
    fn own_file(&self, dir: PathBuf, time: u64, extension: &str) -> PathBuf {
        match self.part {
            Some(part) => dir.join(format!("{time}.{extension}.{}", part.process)),
            None => dir.join(format!("{time}.{extension}")),
        }
    }

    /// Marks the batch record (`state`: false) or the snapshot (true) at
    /// `time` complete: every one of `processes` wrote its part.
    pub(crate) fn write_parts(&self, state: bool, time: u64, processes: usize) -> Result<(), CheckpointError> {
        let dir = if state { self.states() } else { self.batches() };
        let bytes = encode("a parts marker", &(processes as u64))?;
        frame::write(&dir.join(format!("{time}.parts")), Kind::Parts, &bytes)
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
        frame::write(
            &self.own_file(self.batches(), record.time_ms, "inputs"),
            Kind::Inputs,
            &bytes,
        )
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
        let path = self.own_file(self.states(), record.time_ms, "state");
        frame::write(&path, Kind::State, &bytes)?;
        Ok(bytes.len() as u64)
    }

    /// Reads everything recovery needs: the job record, the newest intact
    /// snapshot (passing over damaged newer ones, which are reported), and
    /// every complete batch record kept; with `choice` (a cluster's process
    /// other than 0), the snapshot and the last batch process 0 chose.
    /// `None` if the directory holds no checkpoint.
    pub(crate) fn load(&self, choice: Option<Choice>) -> Result<Option<Saved>, CheckpointError> {
        let Some(job) = self.job()? else {
            return Ok(None);
        };
        let mut state = None;
        let mut passed_over = Vec::new();
        let mut candidates = times(&self.states(), "state")?;
        candidates.extend(times(&self.states(), "parts")?);
        if let Some(choice) = choice {
            candidates.retain(|&t| Some(t) == choice.state_ms);
        }
        for time in candidates.into_iter().rev() {
            let read = record_files(&self.states(), time, "state")
                .and_then(|files| Ok((read_all::<StateRecord>(&files, Kind::State, "state snapshot")?, files)));
            match read {
                Ok((parts, files)) => {
                    state = Some(SavedState {
                        time_ms: time,
                        parts,
                        path: files[0].clone(),
                    });
                    break;
                }
                Err(e) if choice.is_some() => return Err(e),
                Err(e) => passed_over.push(e.to_string()),
            }
        }
        let commits = times(&self.batches(), "commit")?;
        let mut recorded = times(&self.batches(), "inputs")?;
        recorded.extend(times(&self.batches(), "parts")?);
        let mut batches = Vec::new();
        for time in recorded {
            if choice.is_some_and(|c| time > c.last_batch_ms) {
                break;
            }
            let files = record_files(&self.batches(), time, "inputs")?;
            let parts = read_all(&files, Kind::Inputs, "batch inputs record")?;
            batches.push(SavedBatch {
                time_ms: time,
                committed: commits.contains(&time),
                parts,
                path: files[0].clone(),
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
    /// any kept snapshot re-runs only batches after it, so nothing before it
    /// is needed any more (see [`clean_through`]).
    pub(crate) fn oldest_kept(&self, keep: usize) -> Result<Option<Time>, CheckpointError> {
        let mut states = times(&self.states(), "state")?;
        states.extend(times(&self.states(), "parts")?);
        Ok(states
            .iter()
            .rev()
            .take(keep.max(1))
            .min()
            .map(|&t| Time::from_millis(t)))
    }
}

/// In the checkpoint directory `root`, removes the snapshots and the batch
/// records older than `oldest_kept`, parts and markers included (files are
/// named by their time first). The batch record at `oldest_kept` stays: no
/// batch up to it runs again, but a source resumes from the positions its
/// last recorded batch reached (a directory source's listing), and until
/// the next batch is recorded that is this one. Files already gone are no
/// error (two cleanings may overlap).
pub(crate) fn clean_through(root: &Path, oldest_kept: Time) -> Result<(), CheckpointError> {
    let oldest_kept = oldest_kept.as_millis();
    let remove = |path: PathBuf| match fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove", &path)(e)),
        _ => Ok(()),
    };
    for sub in ["state", "batches"] {
        let dir = root.join(sub);
        for entry in fs::read_dir(&dir).map_err(io("list", &dir))? {
            let name = entry.map_err(io("list", &dir))?.file_name();
            let Some(time) = name
                .to_str()
                .and_then(|n| n.split('.').next())
                .and_then(|t| t.parse::<u64>().ok())
            else {
                continue;
            };
            if time < oldest_kept {
                remove(dir.join(&name))?;
            }
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
        assert!(dir.load(None).unwrap().is_none());
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
        let saved = dir.load(None).unwrap().unwrap();
        assert_eq!(saved.job, job());
        assert_eq!(saved.state.as_ref().unwrap().parts, [state(11000)]);
        let kept: Vec<(u64, bool)> = saved.batches.iter().map(|b| (b.time_ms, b.committed)).collect();
        // The record at the oldest kept snapshot stays: its positions are
        // where the sources resume when no later batch was recorded.
        assert_eq!(kept, [(9000, true), (10000, true), (11000, false)]);
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
        let saved = dir.load(None).unwrap().unwrap();
        assert_eq!(saved.state.unwrap().time_ms, 7000);
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

    #[test]
    fn parts_count_once_marked_and_restore_on_another_process_count() {
        let root = fresh("parts");
        let part = |process| Some(Part { process, processes: 2 });
        let (first, second) = (
            CheckpointDir::open_part(&root, part(0)).unwrap(),
            CheckpointDir::open_part(&root, part(1)).unwrap(),
        );
        first.write_job(&job()).unwrap();
        for t in [6000, 7000] {
            first.write_inputs(&inputs(t)).unwrap();
            second.write_inputs(&inputs(t)).unwrap();
            first.write_state(&state(t)).unwrap();
        }
        // Batch 7000 and both snapshots lack process 0's mark: they do not count.
        first.write_parts(false, 6000, 2).unwrap();
        first.write_commit(Time::from_millis(6000)).unwrap();
        assert!(root.join("batches/6000.inputs.1").exists() && root.join("lock.1").exists());
        let saved = first.load(None).unwrap().unwrap();
        assert!(saved.state.is_none());
        let kept: Vec<(u64, usize, bool)> = saved
            .batches
            .iter()
            .map(|b| (b.time_ms, b.parts.len(), b.committed))
            .collect();
        assert_eq!(kept, [(6000, 2, true)]);
        // A mark whose part is missing is a damaged snapshot, passed over.
        first.write_parts(true, 7000, 2).unwrap();
        let saved = first.load(None).unwrap().unwrap();
        assert!(saved.state.is_none());
        assert!(saved.passed_over[0].contains("7000.state.1"), "{:?}", saved.passed_over);
        second.write_state(&state(7000)).unwrap();
        second.write_state(&state(6000)).unwrap();
        first.write_parts(true, 6000, 2).unwrap();
        // One process reads both parts of the newest snapshot; with process
        // 0's choice, the one chosen.
        drop((first, second));
        let alone = CheckpointDir::open(&root).unwrap();
        let saved = alone.load(None).unwrap().unwrap();
        assert_eq!(
            saved.state.as_ref().map(|s| (s.time_ms, s.parts.len())),
            Some((7000, 2))
        );
        let choice = Choice {
            state_ms: Some(6000),
            last_batch_ms: 5000,
        };
        let saved = alone.load(Some(choice)).unwrap().unwrap();
        assert_eq!(saved.state.map(|s| s.time_ms), Some(6000));
        assert!(saved.batches.is_empty());
        clean_through(&root, Time::from_millis(7000)).unwrap();
        let mut left: Vec<String> = fs::read_dir(root.join("batches"))
            .unwrap()
            .chain(fs::read_dir(root.join("state")).unwrap())
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        // Everything before 7000 goes; the batch record at 7000 stays, as on one process.
        assert_eq!(
            left,
            [
                "7000.inputs.0",
                "7000.inputs.1",
                "7000.parts",
                "7000.state.0",
                "7000.state.1"
            ]
        );
        fs::remove_dir_all(&root).unwrap();
    }
}
