//! `text_file_stream`: the lines of files that appear in a directory, as
//! Spark's `textFileStream`, replayable from a checkpoint.

use super::input::Input;
use super::lines::split_all;
use super::source::{Cut, Reader, Source, SourceContext};
use crate::live::error::{SourceError, StartError};
use crate::{Batch, Time};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// The lines of the files that appear in `directory`, one record per line.
///
/// At every batch time the directory is listed; each file that was not
/// there at the previous listing is read into that batch (one partition per
/// file, files in name order). So:
///
/// - files present when the context starts are ignored, as in Spark;
/// - each file is taken once. A file is known by its name, inode and
///   modification time: a file deleted and later created again under the
///   same name (or in a directory removed and made again) is a new file;
/// - files must be moved (renamed) into the directory complete, as Spark
///   requires. A batch reads a file up to the size it had when the batch was
///   cut: a file still being written then is read in part, and that is
///   reported. Names starting with `.` are ignored, so a writer can use a
///   hidden temporary name in the same directory and rename it.
/// - only regular files are read (a link is followed to one):
///   subdirectories, FIFOs, sockets and devices are ignored, and reported
///   once each;
/// - a file that cannot be read (permissions, vanished) is reported
///   (listeners, logs, [`InputStats::errors`](super::InputStats::errors))
///   and skipped; lines that are not UTF-8 are rejected one by one.
///
/// With checkpointing on, each batch's files (and sizes) are recorded before
/// it runs: a recovered batch reads the same bytes of the same files (keep
/// them until the job has checkpointed past them), and after a recovery the
/// first batch takes every file that arrived while the job was down.
///
/// Unlike Spark, new files are recognised by listing, not by modification
/// time: a file moved in keeps its old modification time, which Spark would
/// ignore. A directory that does not exist is an error at start.
pub fn text_file_stream(directory: impl Into<PathBuf>) -> Input<String> {
    let directory = directory.into();
    let description = format!("directory {}", directory.display());
    let source = DirectorySource {
        directory,
        seen: HashSet::new(),
        reported: HashSet::new(),
        ctx: None,
    };
    Input::of_source(description, source)
}

/// A file as a listing sees it: a name reused by another file is another file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct FileId {
    name: OsString,
    inode: u64,
    modified_ns: i64,
}

/// A file a batch takes, up to `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TakenFile {
    name: OsString,
    len: u64,
}

/// What one batch of a directory reads: its new files, and the whole
/// listing it was cut from (where a recovered source resumes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DirectoryCut {
    files: Vec<TakenFile>,
    listing: Vec<FileId>,
}

/// A listing: the regular files, in name order, with their sizes.
struct Listing {
    files: Vec<(FileId, u64)>,
    /// Entries that are neither hidden nor regular files.
    other: Vec<OsString>,
}

/// Lists the candidate files of `directory` (not hidden, regular files or
/// links to them).
fn list(directory: &Path) -> std::io::Result<Listing> {
    let mut files = Vec::new();
    let mut other = Vec::new();
    for entry in std::fs::read_dir(directory)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        // Follows links: a link to a regular file is read, a link to a
        // device or FIFO is not (reading one could block or never end).
        match std::fs::metadata(entry.path()) {
            Ok(meta) if meta.is_file() => {
                let id = FileId {
                    name,
                    inode: meta.ino(),
                    modified_ns: meta
                        .mtime()
                        .saturating_mul(1_000_000_000)
                        .saturating_add(meta.mtime_nsec()),
                };
                files.push((id, meta.len()));
            }
            Ok(meta) if meta.is_dir() => {}
            // A FIFO, socket or device, or a link that leads nowhere.
            _ => other.push(name),
        }
    }
    files.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    Ok(Listing { files, other })
}

/// Cuts: each batch takes the files that appeared since the previous
/// listing.
struct DirectorySource {
    directory: PathBuf,
    /// The files found at the previous listing.
    seen: HashSet<FileId>,
    /// Entries reported as not regular files (reported once each).
    reported: HashSet<OsString>,
    /// Where listing errors go (set at start).
    ctx: Option<SourceContext>,
}

impl DirectorySource {
    fn report_others(&mut self, time: Option<Time>, other: Vec<OsString>) {
        let Some(ctx) = &self.ctx else { return };
        for name in other {
            if self.reported.insert(name.clone()) {
                let path = self.directory.join(&name);
                ctx.report_error(
                    time,
                    format!("{} is not a regular file (nor a link to one); ignored", path.display()),
                );
            }
        }
    }
}

impl Source for DirectorySource {
    type Item = String;
    type Positions = DirectoryCut;
    type Reader = FileReader;

    fn start(&mut self, ctx: &SourceContext) -> Result<FileReader, SourceError> {
        let not_found = |reason: String| StartError::Directory {
            port: ctx.input(),
            path: self.directory.clone(),
            reason,
        };
        let meta = std::fs::metadata(&self.directory).map_err(|e| not_found(e.to_string()))?;
        if !meta.is_dir() {
            return Err(not_found("not a directory".to_owned()).into());
        }
        let listing = list(&self.directory).map_err(|e| not_found(e.to_string()))?;
        self.seen = listing.files.into_iter().map(|(id, _)| id).collect();
        self.ctx = Some(ctx.clone());
        self.report_others(None, listing.other);
        Ok(FileReader {
            ctx: ctx.clone(),
            directory: self.directory.clone(),
        })
    }

    fn cut(&mut self, time: Time) -> Result<Cut<DirectoryCut>, SourceError> {
        let listing = match list(&self.directory) {
            Ok(listing) => listing,
            Err(e) => {
                if let Some(ctx) = &self.ctx {
                    ctx.report_error(Some(time), format!("cannot list {}: {e}", self.directory.display()));
                }
                // Keep what was seen: those files are not new when it comes back.
                return Ok(Cut::new(DirectoryCut {
                    files: Vec::new(),
                    listing: self.seen.iter().cloned().collect(),
                }));
            }
        };
        self.report_others(Some(time), listing.other);
        let files = listing
            .files
            .iter()
            .filter(|(id, _)| !self.seen.contains(id))
            .map(|(id, len)| TakenFile {
                name: id.name.clone(),
                len: *len,
            })
            .collect();
        let ids: Vec<FileId> = listing.files.into_iter().map(|(id, _)| id).collect();
        self.seen = ids.iter().cloned().collect();
        Ok(Cut::new(DirectoryCut { files, listing: ids }))
    }

    fn start_positions(&self) -> Option<DirectoryCut> {
        Some(DirectoryCut {
            files: Vec::new(),
            listing: self.seen.iter().cloned().collect(),
        })
    }

    fn resume(&mut self, recorded: &[DirectoryCut]) -> Result<(), SourceError> {
        // The files the last recorded cut listed were taken (by it or
        // before it); every other file in the directory now is new.
        if let Some(last) = recorded.last() {
            self.seen = last.listing.iter().cloned().collect();
        }
        Ok(())
    }
}

/// Reads a batch's files, one partition per file; an unreadable file is
/// reported and skipped, a line that is not UTF-8 rejected.
struct FileReader {
    ctx: SourceContext,
    directory: PathBuf,
}

/// The first `len` bytes of `path`, and whether the file is longer now.
fn read_prefix(path: &Path, len: u64) -> std::io::Result<(Vec<u8>, bool)> {
    let file = File::open(path)?;
    let now = file.metadata()?.len();
    let mut bytes = Vec::with_capacity(len.min(now) as usize);
    file.take(len).read_to_end(&mut bytes)?;
    Ok((bytes, now > len))
}

impl Reader for FileReader {
    type Item = String;
    type Positions = DirectoryCut;

    fn deliver(&mut self, time: Time, cut: &DirectoryCut) -> Result<Batch<String>, SourceError> {
        let ctx = &self.ctx;
        let mut partitions = Vec::with_capacity(cut.files.len());
        for file in &cut.files {
            let path = self.directory.join(&file.name);
            let (bytes, grew) = match read_prefix(&path, file.len) {
                Ok(read) => read,
                Err(e) => {
                    ctx.report_error(Some(time), format!("cannot read {}: {e}; file skipped", path.display()));
                    continue;
                }
            };
            if (bytes.len() as u64) < file.len {
                ctx.report_error(
                    Some(time),
                    format!(
                        "{} shrank to {} bytes after the batch was cut at {} bytes; read what is left",
                        path.display(),
                        bytes.len(),
                        file.len
                    ),
                );
            } else if grew {
                ctx.report_error(
                    Some(time),
                    format!(
                        "{} was still being written when the batch was cut: read its first {} bytes \
                         (move files into the directory complete)",
                        path.display(),
                        file.len
                    ),
                );
            }
            let lines = split_all(&bytes);
            for problem in lines.rejected {
                ctx.reject(Some(time), format!("{}: {problem}", path.display()));
            }
            tracing::debug!(input = ctx.input(), file = %path.display(), lines = lines.lines.len(), "file read");
            ctx.counters().files.fetch_add(1, Ordering::Relaxed);
            partitions.push(lines.lines);
        }
        Ok(Batch::from_partitions(partitions))
    }
}
