//! `text_file_stream`: the lines of files that appear in a directory, as
//! Spark's `textFileStream`, read a bounded range at a time and replayable
//! from a checkpoint.

use super::feed::{Accounting, start_source};
use super::file_listing::{FileId, list};
use super::file_ranges::{DirectoryCut, FileRange, PendingFile, plan};
use super::file_reader::FileReader;
use super::input::Input;
use super::source::{Cut, Source, SourceContext};
use crate::Time;
use crate::cluster::Share;
use crate::live::error::{SourceError, StartError};
use crate::live::memory::{Budget, Held};
use std::collections::{HashSet, VecDeque};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// The lines of the files that appear in `directory`, one record per line.
///
/// At every batch time the directory is listed; each file that was not
/// there at the previous listing is queued to be read, files in name order.
/// So:
///
/// - files present when the context starts are ignored, as in Spark;
/// - each file is taken once. A file is known by its name, inode and
///   modification time: a file deleted and later created again under the
///   same name (or in a directory removed and made again) is a new file;
/// - files must be moved (renamed) into the directory complete, as Spark
///   requires. A file is read up to the size it had when it was listed: a
///   file still being written then is read in part, and that is reported.
///   Its last line is a line even without a newline (the file is complete).
///   Names starting with `.` are ignored, so a writer can use a hidden
///   temporary name in the same directory and rename it.
/// - only regular files are read (a link is followed to one):
///   subdirectories, FIFOs, sockets and devices are ignored, and reported
///   once each;
/// - a file that cannot be read (permissions, vanished, replaced by another
///   file of its name before it was wholly read) is reported (listeners,
///   logs, [`InputStats::errors`](super::InputStats::errors)) and skipped
///   from there; lines that are not UTF-8, and lines longer than 1 MiB
///   (without their line end), are rejected one by one
///   ([`InputStats::rejected`](super::InputStats::rejected)).
///
/// Files are read within the memory bound
/// ([`max_buffered_bytes`](crate::live::StreamingContext::max_buffered_bytes),
/// shared with receivers): a batch reads whole lines of the queued files,
/// one partition per file (or part of one), as many as the bytes then free
/// under the bound can hold (each line counted as its length plus 24
/// bytes), and holds those bytes until it is processed. A file larger than
/// that is read over several batches, each taking the next lines; a file's
/// size is not limited, only what one batch holds. When a slow job holds
/// the bound, files wait in the queue (a file name and offset each) rather
/// than in memory. The lines are found by reading the file when the batch
/// is cut, on the generator thread; the driver thread reads only the
/// batch's own bytes. A line larger than the whole bound is taken alone,
/// when nothing else is held.
///
/// With checkpointing on, each batch's byte ranges are recorded before it
/// runs: a recovered batch reads the same bytes of the same files (keep
/// them until the job has checkpointed past them), and after a recovery the
/// source goes on with the files that were queued, then every file that
/// arrived while the job was down. When a job stops with files queued and
/// not read (a stop while the bound held them back), that is reported, with
/// how many files and bytes; a job restarted from its checkpoint reads them.
///
/// Unlike Spark, new files are recognised by listing, not by modification
/// time: a file moved in keeps its old modification time, which Spark would
/// ignore. A directory that does not exist is an error at start.
///
/// On a cluster (a job whose [`JobConfig`](crate::JobConfig) has a mesh),
/// every process lists the directory and reads only its share of the files,
/// chosen by a fixed hash of the file name, so each file is read by exactly
/// one process; its lines are spread over the partitions that process owns.
pub fn text_file_stream(directory: impl Into<PathBuf>) -> Input<String> {
    directory_stream(directory.into(), false)
}

/// Like [`text_file_stream`], and the files already in the directory when
/// the context starts are read too, in the first batch (Spark's
/// `fileStream(.., newFilesOnly = false)`). With a directory filled before
/// start and a memory bound that holds it, the first batch is the same
/// whatever the timing: what a repeatable run, or a test, needs.
pub fn text_file_stream_with_existing(directory: impl Into<PathBuf>) -> Input<String> {
    directory_stream(directory.into(), true)
}

fn directory_stream(directory: PathBuf, existing: bool) -> Input<String> {
    let description = format!("directory {}", directory.display());
    Input::new(description, move |env| {
        let source = DirectorySource {
            existing,
            share: env.share,
            directory,
            seen: HashSet::new(),
            queue: VecDeque::new(),
            reported: HashSet::new(),
            budget: env.budget.clone(),
            ctx: None,
        };
        start_source(source, env, Arc::default(), Accounting::Scheduler)
    })
    .splitting()
}

/// Cuts: lists the directory, queues the new files, and gives each batch the
/// next ranges of the queued files that fit the memory bound.
struct DirectorySource {
    /// Read the files there at start too.
    existing: bool,
    /// On a cluster: only the files of this process's share are read.
    share: Option<Share>,
    directory: PathBuf,
    /// The files found at the previous listing.
    seen: HashSet<FileId>,
    /// Files listed and not yet wholly cut into ranges, oldest first.
    queue: VecDeque<PendingFile>,
    /// Entries reported as not regular files (reported once each).
    reported: HashSet<OsString>,
    /// The memory bound a batch's lines are held against.
    budget: Arc<Budget>,
    /// Where problems go (set at start).
    ctx: Option<SourceContext>,
}

impl DirectorySource {
    fn report(&self, time: Option<Time>, message: String) {
        if let Some(ctx) = &self.ctx {
            ctx.report_error(time, message);
        }
    }

    fn report_others(&mut self, time: Option<Time>, other: Vec<OsString>) {
        for name in other {
            if self.reported.insert(name.clone()) {
                let path = self.directory.join(&name);
                self.report(
                    time,
                    format!("{} is not a regular file (nor a link to one); ignored", path.display()),
                );
            }
        }
    }

    /// Lists the directory and queues the files not seen before; returns
    /// the listing to record.
    fn list_new(&mut self, time: Time) -> Vec<FileId> {
        let listing = match list(&self.directory) {
            Ok(listing) => listing,
            Err(e) => {
                self.report(Some(time), format!("cannot list {}: {e}", self.directory.display()));
                // Keep what was seen: those files are not new when it comes back.
                return self.seen.iter().cloned().collect();
            }
        };
        self.report_others(Some(time), listing.other);
        for (id, size) in &listing.files {
            let ours = self.share.is_none_or(|share| share.reads(id.name.as_encoded_bytes()));
            if ours && !self.seen.contains(id) {
                self.queue.push_back(PendingFile {
                    name: id.name.clone(),
                    inode: id.inode,
                    next: 0,
                    size: *size,
                });
            }
        }
        let ids: Vec<FileId> = listing.files.into_iter().map(|(id, _)| id).collect();
        self.seen = ids.iter().cloned().collect();
        ids
    }

    /// Takes from the memory bound what is free now, without waiting (a cut
    /// never waits): the most this batch may hold.
    fn take_free(&self) -> usize {
        let limit = self.budget.limit().bytes;
        let free = limit.saturating_sub(self.budget.used().bytes);
        if free == 0 {
            return 0;
        }
        // Receivers may take some meanwhile: then this batch takes nothing.
        let now = AtomicBool::new(true);
        self.budget
            .acquire(
                Held {
                    records: 0,
                    bytes: free,
                },
                &now,
            )
            .map_or(0, |held| held.bytes)
    }

    /// The next ranges of the queued files whose lines fit `allowance`
    /// bytes, and what they cost.
    fn take_ranges(&mut self, time: Time, allowance: usize) -> (Vec<FileRange>, usize) {
        let cap = self.budget.limit().bytes;
        let mut ranges = Vec::new();
        let mut cost = 0;
        let mut problems = Vec::new();
        while let Some(file) = self.queue.front_mut() {
            if cost >= allowance && file.next < file.size {
                break;
            }
            let path = self.directory.join(&file.name);
            let planned = match plan(&path, file, allowance - cost, cap) {
                Ok(planned) => planned,
                Err(e) => {
                    let message = format!("cannot read {}: {e}; file skipped", path.display());
                    self.queue.pop_front();
                    self.report(Some(time), message);
                    continue;
                }
            };
            let range = planned.range;
            if planned.shrank {
                let message = format!(
                    "{} shrank to {} bytes after it was listed at {} bytes; read what is left",
                    path.display(),
                    range.size,
                    file.size
                );
                file.size = range.size;
                problems.push(message);
            }
            if range.end == range.start && !range.is_last() {
                // Its next line does not fit: it waits for the next batch.
                break;
            }
            cost += planned.cost;
            file.next = range.end;
            let last = range.is_last();
            ranges.push(range);
            if !last {
                break;
            }
            self.queue.pop_front();
        }
        for message in problems {
            self.report(Some(time), message);
        }
        (ranges, cost)
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
        if !self.existing {
            self.seen = listing.files.into_iter().map(|(id, _)| id).collect();
        }
        self.ctx = Some(ctx.clone());
        self.report_others(None, listing.other);
        Ok(FileReader::new(ctx.clone(), self.directory.clone(), self.share))
    }

    fn cut(&mut self, time: Time) -> Result<Cut<DirectoryCut>, SourceError> {
        let listing = self.list_new(time);
        let allowance = if self.queue.is_empty() { 0 } else { self.take_free() };
        let (ranges, cost) = self.take_ranges(time, allowance);
        self.budget.release(Held {
            records: 0,
            bytes: allowance - cost,
        });
        let cut = DirectoryCut {
            ranges,
            listing,
            queue: self.queue.iter().cloned().collect(),
        };
        Ok(Cut::new(cut).holding_bytes(cost))
    }

    fn start_positions(&self) -> Option<DirectoryCut> {
        Some(DirectoryCut {
            ranges: Vec::new(),
            listing: self.seen.iter().cloned().collect(),
            queue: Vec::new(),
        })
    }

    fn resume(&mut self, recorded: &[DirectoryCut]) -> Result<(), SourceError> {
        // The files the last recorded cut listed were taken (by it or
        // before it) or queued; every other file in the directory now is new.
        if let Some(last) = recorded.last() {
            self.seen = last.listing.iter().cloned().collect();
            self.queue = last.queue.iter().cloned().collect();
        }
        Ok(())
    }
}

impl Drop for DirectorySource {
    /// A stop leaves the queued files unread: said, never silent.
    fn drop(&mut self) {
        if self.queue.is_empty() {
            return;
        }
        let bytes: u64 = self.queue.iter().map(|f| f.size.saturating_sub(f.next)).sum();
        let first = self.directory.join(&self.queue[0].name);
        self.report(
            None,
            format!(
                "the job stopped with {} listed file(s) not wholly read ({bytes} bytes left, from {}); \
                 a job restarted from its checkpoint reads them",
                self.queue.len(),
                first.display()
            ),
        );
    }
}
