//! `text_file_stream`: the lines of files that appear in a directory, as
//! Spark's `textFileStream`.

use super::{Feed, Input, InputCounters, Materialized, Pending, StartedInput};
use crate::live::error::StartError;
use crate::live::lines::split_all;
use crate::live::listener::{EventSender, InputErrorInfo, StreamingEvent};
use crate::{Batch, Time};
use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The lines of the files that appear in `directory`, one record per line.
///
/// At every batch time the directory is listed; each file that was not
/// there at the previous listing is read into that batch (one partition per
/// file, files in name order). So:
///
/// - files present when the context starts are ignored, as in Spark;
/// - each file is taken once; a file deleted and later created again under
///   the same name is a new file;
/// - files must be moved (renamed) into the directory complete, as Spark
///   requires: a file still being written when the batch is cut would be
///   read partially. Names starting with `.` are ignored, so a writer can
///   use a hidden temporary name in the same directory and rename it.
///   Subdirectories are ignored.
/// - a file that cannot be read (permissions, vanished, a dangling link) is
///   reported (listeners, logs, [`InputStats::errors`](super::InputStats::errors))
///   and skipped; lines that are not UTF-8 are rejected one by one.
///
/// Unlike Spark, new files are recognised by name, not by modification time:
/// a file moved in keeps its old modification time, which Spark would
/// ignore. A directory that does not exist is an error at start.
pub fn text_file_stream(directory: impl Into<PathBuf>) -> Input<String> {
    let directory = directory.into();
    Input::new(format!("directory {}", directory.display()), move |env| {
        let port = env.port;
        let not_found = |reason: String| StartError::Directory {
            port,
            path: directory.clone(),
            reason,
        };
        let meta = std::fs::metadata(&directory).map_err(|e| not_found(e.to_string()))?;
        if !meta.is_dir() {
            return Err(not_found("not a directory".to_owned()));
        }
        let seen = list(&directory)
            .map_err(|e| not_found(e.to_string()))?
            .into_iter()
            .collect();
        let counters = Arc::new(InputCounters::default());
        Ok(StartedInput {
            feed: Box::new(FileFeed {
                directory,
                seen,
                port,
                counters: counters.clone(),
                events: env.events.clone(),
            }),
            receiver: None,
            counters,
            description: String::new(),
        })
    })
}

/// The candidate file names in `directory` (not hidden, not directories).
fn list(directory: &Path) -> std::io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(directory)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        // `file_type` does not follow links: a link is a candidate, read later.
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        names.push(name);
    }
    names.sort();
    Ok(names)
}

struct FileFeed {
    directory: PathBuf,
    /// The names found at the previous listing.
    seen: HashSet<OsString>,
    port: &'static str,
    counters: Arc<InputCounters>,
    events: EventSender,
}

fn report(events: &EventSender, counters: &InputCounters, port: &'static str, time: Time, message: String) {
    tracing::warn!(input = port, %time, "{message}");
    counters.errors.fetch_add(1, Ordering::Relaxed);
    events.send(StreamingEvent::InputError(InputErrorInfo {
        input: port,
        time: Some(time),
        message,
    }));
}

impl Feed for FileFeed {
    fn cut(&mut self, time: Time) -> Box<dyn Pending> {
        let names = match list(&self.directory) {
            Ok(names) => names,
            Err(e) => {
                let message = format!("cannot list {}: {e}", self.directory.display());
                report(&self.events, &self.counters, self.port, time, message);
                // Keep what was seen: those files are not new when it comes back.
                return Box::new(NewFiles::empty(self));
            }
        };
        let paths = names
            .iter()
            .filter(|name| !self.seen.contains(*name))
            .map(|name| self.directory.join(name))
            .collect();
        self.seen = names.into_iter().collect();
        Box::new(NewFiles {
            paths,
            port: self.port,
            counters: self.counters.clone(),
            events: self.events.clone(),
        })
    }
}

/// The files of one batch, read when the batch runs.
struct NewFiles {
    paths: Vec<PathBuf>,
    port: &'static str,
    counters: Arc<InputCounters>,
    events: EventSender,
}

impl NewFiles {
    fn empty(feed: &FileFeed) -> Self {
        NewFiles {
            paths: Vec::new(),
            port: feed.port,
            counters: feed.counters.clone(),
            events: feed.events.clone(),
        }
    }
}

impl Pending for NewFiles {
    fn known_records(&self) -> Option<usize> {
        None
    }

    fn budgeted(&self) -> usize {
        0
    }

    fn materialize(self: Box<Self>, time: Time) -> Materialized {
        let mut partitions = Vec::with_capacity(self.paths.len());
        let mut records = 0;
        for path in &self.paths {
            let bytes = match std::fs::read(path) {
                Ok(bytes) => bytes,
                Err(e) => {
                    let message = format!("cannot read {}: {e}; file skipped", path.display());
                    report(&self.events, &self.counters, self.port, time, message);
                    continue;
                }
            };
            let lines = split_all(&bytes);
            for problem in lines.rejected {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                let message = format!("{}: {problem}", path.display());
                report(&self.events, &self.counters, self.port, time, message);
            }
            tracing::debug!(input = self.port, file = %path.display(), lines = lines.lines.len(), "file read");
            self.counters.files.fetch_add(1, Ordering::Relaxed);
            self.counters
                .records
                .fetch_add(lines.lines.len() as u64, Ordering::Relaxed);
            records += lines.lines.len();
            partitions.push(lines.lines);
        }
        Materialized {
            batch: Box::new(Batch::from_partitions(partitions)),
            records,
        }
    }
}
