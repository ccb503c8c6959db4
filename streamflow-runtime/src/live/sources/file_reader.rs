//! The directory source's reading half: reads a batch's byte ranges, one
//! partition per range, on the driver thread.

use super::file_ranges::{DirectoryCut, read_range};
use super::source::{Reader, SourceContext};
use crate::cluster::Share;
use crate::live::error::SourceError;
use crate::{Batch, Time};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// Reads a batch's ranges; an unreadable file is reported and skipped, a
/// line that is not UTF-8 or too long rejected.
pub(crate) struct FileReader {
    ctx: SourceContext,
    directory: PathBuf,
    /// On a cluster: the batch is laid out over the job's partitions.
    share: Option<Share>,
}

impl FileReader {
    pub(crate) fn new(ctx: SourceContext, directory: PathBuf, share: Option<Share>) -> Self {
        FileReader { ctx, directory, share }
    }
}

impl Reader for FileReader {
    type Item = String;
    type Positions = DirectoryCut;

    fn deliver(&mut self, time: Time, cut: &DirectoryCut) -> Result<Batch<String>, SourceError> {
        let ctx = &self.ctx;
        let mut partitions = Vec::with_capacity(cut.ranges.len());
        for range in &cut.ranges {
            let path = self.directory.join(&range.name);
            let read = match read_range(&path, range) {
                Ok(read) => read,
                Err(e) => {
                    ctx.report_error(Some(time), format!("cannot read {}: {e}; file skipped", path.display()));
                    continue;
                }
            };
            if read.bytes < range.end - range.start {
                ctx.report_error(
                    Some(time),
                    format!(
                        "{} shrank to {} bytes after it was listed at {} bytes; read what is left",
                        path.display(),
                        read.size_now,
                        range.size
                    ),
                );
            } else if range.is_last() && read.size_now > range.size {
                ctx.report_error(
                    Some(time),
                    format!(
                        "{} was still being written when it was listed: read its first {} bytes \
                         (move files into the directory complete)",
                        path.display(),
                        range.size
                    ),
                );
            }
            for problem in read.lines.rejected {
                ctx.reject(Some(time), format!("{}: {problem}", path.display()));
            }
            tracing::debug!(
                input = ctx.input(),
                file = %path.display(),
                start = range.start,
                end = range.end,
                lines = read.lines.lines.len(),
                "file range read"
            );
            if range.is_last() {
                ctx.counters().files.fetch_add(1, Ordering::Relaxed);
            }
            partitions.push(read.lines.lines);
        }
        Ok(Batch::from_partitions(match &self.share {
            Some(share) => share.place(partitions),
            None => partitions,
        }))
    }
}
