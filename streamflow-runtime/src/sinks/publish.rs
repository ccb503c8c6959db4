//! Publishing a batch directory in one atomic step, durably, with one writer
//! per output prefix.
//!
//! A batch is written into a new hidden temporary directory beside its final
//! name; every file and the directory are fsynced; then one `rename` gives
//! it its name, and the parent directory is fsynced. A crash at any point
//! leaves either no batch directory or a complete one (with its `_SUCCESS`),
//! plus at worst a hidden temporary directory that the next writer of the
//! prefix removes when it starts.
//!
//! A batch written again (a batch recovered after a crash) whose directory
//! exists already: with the same files and bytes, nothing changes on disk
//! (idempotent); with other bytes, the new directory and the old one swap
//! names in one atomic step (Linux `renameat2(RENAME_EXCHANGE)`), then the old
//! one, now under the temporary name, is removed. The batch's name always
//! leads to a complete batch, the old or the new one, never nothing (a reader
//! that opened the old directory before the exchange sees it emptied as it
//! is removed: rewrites happen only when a batch is recovered).
//!
//! Each writer holds an exclusive lock (`flock`) on a hidden lock file of its
//! prefix while it lives: a second writer of the same prefix and suffix, in
//! this process or another, gets [`SinkError::PrefixInUse`] instead of
//! interleaving its batches with the first one's. The lock file stays (it is
//! empty); the lock goes with the process.

use super::error::SinkError;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes temporary directories of concurrent writes in one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// What marks our temporary directories: `.NAME.tmp-PID-N`.
const TEMP_MARK: &str = ".tmp-";
/// What marked the old directory moved away by earlier versions.
const OLD_MARK: &str = ".old-";

/// The directories of one output (`prefix-TIME[.suffix]`), written by one
/// writer at a time.
#[derive(Debug)]
pub(crate) struct BatchPublisher {
    prefix: String,
    suffix: String,
    /// Taken at the first write; held while the sink lives.
    lock: Option<File>,
    /// On a cluster: (this process, the number of processes).
    placed: Option<(usize, usize)>,
}

impl BatchPublisher {
    pub(crate) fn new(prefix: String, suffix: String) -> Self {
        BatchPublisher {
            prefix,
            suffix,
            lock: None,
            placed: None,
        }
    }

    /// Writes as process `process` of `processes` of a cluster (see
    /// [`publish_owned`](Self::publish_owned)).
    pub(crate) fn place(&mut self, process: usize, processes: usize) {
        self.placed = Some((process, processes));
    }

    /// On a cluster: writes the `part-NNNNN` files of the partitions this
    /// process owns straight into `dir` (made if missing; each file written
    /// under a hidden name, fsynced, then renamed, so a part is there whole
    /// or not at all). `dir` is complete when [`complete`](Self::complete)
    /// has put `_SUCCESS` in it, once every process wrote its parts.
    pub(crate) fn publish_owned(
        &mut self,
        dir: &Path,
        parts: impl Iterator<Item = Result<Vec<u8>, SinkError>>,
        partitions: usize,
    ) -> Result<(), SinkError> {
        let Some((process, processes)) = self.placed else {
            return self.publish(dir, parts);
        };
        self.open()?;
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        for (i, part) in parts.enumerate() {
            if crate::cluster::owner(i, partitions, processes) != process {
                continue;
            }
            let name = format!("part-{i:05}");
            let tmp = dir.join(format!(".{name}{TEMP_MARK}{}", std::process::id()));
            write_synced(&tmp, &part?)?;
            let path = dir.join(&name);
            std::fs::rename(&tmp, &path).map_err(io(&path))?;
        }
        sync_dir(dir)
    }

    /// On a cluster, once every process wrote its parts of `dir`: process 0
    /// writes `_SUCCESS` (the mark readers wait for), the others nothing.
    pub(crate) fn complete(&mut self, dir: &Path) -> Result<(), SinkError> {
        if self.placed.is_some_and(|(process, _)| process == 0) {
            write_synced(&dir.join("_SUCCESS"), b"")?;
            sync_dir(dir)?;
        }
        Ok(())
    }

    /// The prefix's parent directory and the file name part of the prefix.
    fn parent_and_base(&self) -> (PathBuf, String) {
        let path = Path::new(&self.prefix);
        let base = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        (parent, base)
    }

    /// Takes the prefix's lock, then removes what a crashed writer of the
    /// prefix left behind: our hidden temporary directories, nothing else.
    fn open(&mut self) -> Result<(), SinkError> {
        if self.lock.is_some() {
            return Ok(());
        }
        let (parent, base) = self.parent_and_base();
        std::fs::create_dir_all(&parent).map_err(io(&parent))?;
        let mut lock_name = format!(".{base}");
        if !self.suffix.is_empty() {
            lock_name.push('.');
            lock_name.push_str(&self.suffix);
        }
        // The processes of a cluster (on one machine, or a shared file
        // system) write the same prefix: one lock per process.
        if let Some((process, _)) = self.placed {
            lock_name.push_str(&format!(".process-{process}"));
        }
        lock_name.push_str(".lock");
        let lock_path = parent.join(lock_name);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        lock_exclusive(&file).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock => SinkError::PrefixInUse {
                prefix: self.prefix.clone(),
                lock: lock_path.clone(),
            },
            _ => SinkError::Io {
                path: lock_path.clone(),
                source: e,
            },
        })?;
        self.lock = Some(file);
        self.remove_leftovers(&parent, &base)
    }

    /// Removes `.BASE-TIME[.SUFFIX].tmp-*` (and `.old-*`) directories: ours,
    /// since we hold the prefix's lock.
    fn remove_leftovers(&self, parent: &Path, base: &str) -> Result<(), SinkError> {
        for entry in std::fs::read_dir(parent).map_err(io(parent))? {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            if self.is_leftover(&name, base) {
                let path = entry.path();
                tracing::warn!(path = %path.display(), "removing a temporary batch directory left by an earlier run");
                std::fs::remove_dir_all(&path).map_err(io(&path))?;
            }
        }
        Ok(())
    }

    fn is_leftover(&self, name: &str, base: &str) -> bool {
        let Some(rest) = name.strip_prefix('.').and_then(|n| n.strip_prefix(base)) else {
            return false;
        };
        let Some(rest) = rest.strip_prefix('-') else {
            return false;
        };
        let Some(at) = rest.find(TEMP_MARK).or_else(|| rest.find(OLD_MARK)) else {
            return false;
        };
        let (final_part, mark) = rest.split_at(at);
        let time = if self.suffix.is_empty() {
            final_part
        } else {
            match final_part
                .strip_suffix(self.suffix.as_str())
                .and_then(|t| t.strip_suffix('.'))
            {
                Some(time) => time,
                None => return false,
            }
        };
        // Both marks are five bytes long.
        let tail = &mark[TEMP_MARK.len()..];
        !time.is_empty()
            && time.bytes().all(|b| b.is_ascii_digit())
            && tail.bytes().all(|b| b.is_ascii_digit() || b == b'-')
    }

    /// Writes `parts` as `part-NNNNN` files plus `_SUCCESS` and publishes
    /// them as `dir` (see the module docs).
    pub(crate) fn publish(
        &mut self,
        dir: &Path,
        parts: impl Iterator<Item = Result<Vec<u8>, SinkError>>,
    ) -> Result<(), SinkError> {
        self.open()?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        // Hidden, so that a directory watcher (text_file_stream) skips it.
        let tmp = parent.join(format!(
            ".{name}{TEMP_MARK}{}-{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = write_complete(&tmp, parts).and_then(|()| put_in_place(&tmp, dir, &parent));
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    }
}

/// Writes the batch into `tmp` and makes it durable.
fn write_complete(tmp: &Path, parts: impl Iterator<Item = Result<Vec<u8>, SinkError>>) -> Result<(), SinkError> {
    std::fs::create_dir(tmp).map_err(io(tmp))?;
    for (i, part) in parts.enumerate() {
        write_synced(&tmp.join(format!("part-{i:05}")), &part?)?;
    }
    write_synced(&tmp.join("_SUCCESS"), b"")?;
    sync_dir(tmp)
}

/// Gives `tmp` the name `dir` in one step, then makes that durable.
fn put_in_place(tmp: &Path, dir: &Path, parent: &Path) -> Result<(), SinkError> {
    match std::fs::rename(tmp, dir) {
        Ok(()) => return sync_dir(parent),
        // Anything but "the name is taken by a non-empty directory" fails.
        Err(e) if !matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST)) => {
            return Err(io(dir)(e));
        }
        Err(_) => {}
    }
    if same_files(tmp, dir)? {
        // A batch written again with the same bytes: nothing to change.
        std::fs::remove_dir_all(tmp).map_err(io(tmp))?;
        return Ok(());
    }
    exchange(tmp, dir).map_err(|e| SinkError::Io {
        path: dir.to_owned(),
        source: std::io::Error::new(
            e.kind(),
            format!("cannot replace the batch directory atomically (renameat2 RENAME_EXCHANGE): {e}"),
        ),
    })?;
    sync_dir(parent)?;
    // `tmp` now holds the old batch.
    std::fs::remove_dir_all(tmp).map_err(io(tmp))
}

/// Whether directories `a` and `b` hold the same files with the same bytes.
fn same_files(a: &Path, b: &Path) -> Result<bool, SinkError> {
    let names = |dir: &Path| -> Result<Vec<std::ffi::OsString>, SinkError> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .map(|e| e.map(|e| e.file_name()).map_err(io(dir)))
            .collect::<Result<_, _>>()?;
        names.sort();
        Ok(names)
    };
    let names_a = names(a)?;
    if names_a != names(b)? {
        return Ok(false);
    }
    for name in names_a {
        let (pa, pb) = (a.join(&name), b.join(&name));
        if std::fs::metadata(&pa).map_err(io(&pa))?.len() != std::fs::metadata(&pb).map_err(io(&pb))?.len() {
            return Ok(false);
        }
        if std::fs::read(&pa).map_err(io(&pa))? != std::fs::read(&pb).map_err(io(&pb))? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), SinkError> {
    let mut file = File::create(path).map_err(io(path))?;
    file.write_all(bytes).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// Makes a directory's entries durable (its new names, its renames).
fn sync_dir(dir: &Path) -> Result<(), SinkError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SinkError {
    let path = path.to_owned();
    move |source| SinkError::Io { path, source }
}

#[cfg(unix)]
fn lock_exclusive(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn lock_exclusive(_file: &File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the
    // call. The raw syscall works on glibc and musl alike.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "atomic exchange of directories is only available on Linux",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::{Sink, TextFilesSink, read_text_files, save_as_text_files};
    use crate::{Batch, Time};
    use std::os::unix::fs::MetadataExt;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    static DIRS: AtomicU64 = AtomicU64::new(0);

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "streamflow-publish-{name}-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn write(sink: &mut TextFilesSink, ms: u64, lines: &[&str]) -> Result<(), SinkError> {
        let batch = Batch::from_vec(lines.iter().map(|l| (*l).to_owned()).collect());
        Sink::<String>::write(sink, Time::from_millis(ms), &batch)
    }

    #[test]
    fn a_batch_written_again_with_the_same_bytes_is_left_as_it_is() {
        let dir = temp_dir("again");
        let mut sink = save_as_text_files(dir.join("c").to_string_lossy(), "txt");
        write(&mut sink, 100, &["a", "b"]).unwrap();
        let batch = dir.join("c-100.txt");
        let inode = std::fs::metadata(&batch).unwrap().ino();
        // A recovered batch: the same bytes. Nothing moves.
        write(&mut sink, 100, &["a", "b"]).unwrap();
        assert_eq!(std::fs::metadata(&batch).unwrap().ino(), inode);
        // Other bytes: replaced in one exchange, the old one removed.
        write(&mut sink, 100, &["z"]).unwrap();
        assert_ne!(std::fs::metadata(&batch).unwrap().ino(), inode);
        assert_eq!(read_text_files(&batch).unwrap(), [["z"]]);
        assert_eq!(names(&dir), [".c.txt.lock", "c-100.txt"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_batch_being_replaced_is_always_there_complete() {
        // Before: the old directory was renamed away, then the new one in;
        // a reader between the two renames found no batch at all.
        let dir = temp_dir("swap");
        let batch = dir.join("c-100.txt");
        let mut sink = save_as_text_files(dir.join("c").to_string_lossy(), "txt");
        write(&mut sink, 100, &["old"]).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let (done, batch) = (done.clone(), batch.clone());
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !done.load(Ordering::Relaxed) {
                    // Each look at the batch's name finds a complete batch.
                    let part = std::fs::read_to_string(batch.join("part-00000"))
                        .unwrap_or_else(|e| panic!("read {reads}: {e}"));
                    assert!(part == "old\n" || part == "new\n", "{part:?}");
                    assert!(batch.join("_SUCCESS").exists(), "read {reads}: no _SUCCESS");
                    reads += 1;
                }
                reads
            })
        };
        for i in 0..300 {
            write(&mut sink, 100, &[if i % 2 == 0 { "new" } else { "old" }]).unwrap();
        }
        done.store(true, Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
        assert_eq!(names(&dir), [".c.txt.lock", "c-100.txt"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_second_writer_of_a_prefix_is_refused_until_the_first_is_gone() {
        let dir = temp_dir("two");
        let prefix = dir.join("c").to_string_lossy().into_owned();
        let mut first = save_as_text_files(prefix.clone(), "txt");
        write(&mut first, 100, &["a"]).unwrap();
        let mut second = first.clone();
        let err = write(&mut second, 200, &["b"]).unwrap_err();
        assert!(matches!(err, SinkError::PrefixInUse { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("another writer holds the output prefix `{prefix}`")),
            "{err}"
        );
        assert!(!dir.join("c-200.txt").exists());
        // Another suffix is another output.
        let mut other = save_as_text_files(prefix.clone(), "csv");
        write(&mut other, 200, &["b"]).unwrap();
        drop(first);
        write(&mut second, 200, &["b"]).unwrap();
        assert_eq!(read_text_files(&dir.join("c-200.txt")).unwrap(), [["b"]]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn what_a_crashed_writer_left_is_removed_at_start_and_nothing_else() {
        let dir = temp_dir("leftovers");
        let keep = [
            "c-100.txt",              // a complete batch
            ".c-100.csv.tmp-7-1",     // another output's (suffix csv)
            ".cc-100.txt.tmp-7-1",    // another prefix's
            ".c-abc.txt.tmp-7-1",     // not a batch time
            ".c-100.txt.tmp-notours", // not our naming
            ".hidden",
        ];
        let ours = [".c-100.txt.tmp-4242-0", ".c-200.txt.tmp-4242-17", ".c-300.txt.old-4242"];
        for name in keep.iter().chain(&ours) {
            std::fs::create_dir(dir.join(name)).unwrap();
            std::fs::write(dir.join(name).join("part-00000"), b"x\n").unwrap();
        }
        let mut sink = save_as_text_files(dir.join("c").to_string_lossy(), "txt");
        write(&mut sink, 400, &["d"]).unwrap();
        let mut expected: Vec<String> = keep.iter().map(|s| (*s).to_owned()).collect();
        expected.extend([".c.txt.lock".to_owned(), "c-400.txt".to_owned()]);
        expected.sort();
        assert_eq!(names(&dir), expected);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
