//! `text_file_stream`: the lines of files that appear in a directory, as
//! Spark's `textFileStream`.

use super::input::Input;
use super::lines::split_all;
use super::source::{Cut, Reader, Source, SourceContext};
use crate::live::error::{SourceError, StartError};
use crate::{Batch, Time};
use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
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
    let description = format!("directory {}", directory.display());
    let source = DirectorySource {
        directory,
        seen: HashSet::new(),
        ctx: None,
    };
    Input::of_source(description, source)
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

/// Cuts: each batch takes the files that appeared since the previous
/// listing (its positions: their paths, in name order).
struct DirectorySource {
    directory: PathBuf,
    /// The names found at the previous listing.
    seen: HashSet<OsString>,
    /// Where listing errors go (set at start).
    ctx: Option<SourceContext>,
}

impl Source for DirectorySource {
    type Item = String;
    type Positions = Vec<PathBuf>;
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
        self.seen = list(&self.directory)
            .map_err(|e| not_found(e.to_string()))?
            .into_iter()
            .collect();
        self.ctx = Some(ctx.clone());
        Ok(FileReader { ctx: ctx.clone() })
    }

    fn cut(&mut self, time: Time) -> Result<Cut<Vec<PathBuf>>, SourceError> {
        let names = match list(&self.directory) {
            Ok(names) => names,
            Err(e) => {
                if let Some(ctx) = &self.ctx {
                    ctx.report_error(Some(time), format!("cannot list {}: {e}", self.directory.display()));
                }
                // Keep what was seen: those files are not new when it comes back.
                return Ok(Cut::new(Vec::new()));
            }
        };
        let paths = names
            .iter()
            .filter(|name| !self.seen.contains(*name))
            .map(|name| self.directory.join(name))
            .collect();
        self.seen = names.into_iter().collect();
        Ok(Cut::new(paths))
    }
}

/// Reads a batch's files, one partition per file; an unreadable file is
/// reported and skipped, a line that is not UTF-8 rejected.
struct FileReader {
    ctx: SourceContext,
}

impl Reader for FileReader {
    type Item = String;
    type Positions = Vec<PathBuf>;

    fn deliver(&mut self, time: Time, paths: &Vec<PathBuf>) -> Result<Batch<String>, SourceError> {
        let ctx = &self.ctx;
        let mut partitions = Vec::with_capacity(paths.len());
        for path in paths {
            let bytes = match std::fs::read(path) {
                Ok(bytes) => bytes,
                Err(e) => {
                    ctx.report_error(Some(time), format!("cannot read {}: {e}; file skipped", path.display()));
                    continue;
                }
            };
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
