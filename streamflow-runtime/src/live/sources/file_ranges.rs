//! A directory source's batches as byte ranges of files. The cut scans a
//! file's lines to choose how far a batch reads: as many whole lines as the
//! memory it may hold allows ([`plan`]). The reader reads exactly that
//! range, a chunk at a time ([`read_range`]). A range ends after a newline
//! or at the file's end, so the reader carries nothing from one range to
//! the next, and a range read again (recovery) gives the same lines.

use super::file_listing::FileId;
use super::lines::{LineOptions, LineSplitter, Lines, LongLines};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The longest line of a file, in bytes without its line end: a longer one
/// is skipped, counted and reported, never held (the socket source's
/// default limit).
pub(crate) const MAX_LINE_BYTES: usize = 1 << 20;

/// Bytes read at once, by the cut's scan and by the reader.
const CHUNK: usize = 256 << 10;

/// What a delivered line holds beyond its bytes: its `String` (as
/// [`ByteSize`](crate::live::ByteSize) counts a string: 24 bytes and its
/// capacity, which is its length).
const LINE_OVERHEAD: usize = std::mem::size_of::<String>();

/// The bytes `start..end` of a file, as one batch reads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileRange {
    pub(crate) name: OsString,
    /// The file's inode when listed: another file under its name is not read.
    pub(crate) inode: u64,
    /// The first byte read: 0, or just after a newline.
    pub(crate) start: u64,
    /// After the last byte read: just after a newline, or `size`.
    pub(crate) end: u64,
    /// The file's size when it was listed. The range that ends there is
    /// the file's last: its last line is a line even without a newline
    /// (the file was moved in whole).
    pub(crate) size: u64,
    /// The lines the cut counted in it (the partition's capacity).
    pub(crate) lines: u64,
}

impl FileRange {
    /// Whether this is the file's last range.
    pub(crate) fn is_last(&self) -> bool {
        self.end >= self.size
    }
}

/// What one batch of a directory reads, and where the source stands after
/// it (where a recovered source resumes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DirectoryCut {
    /// The byte ranges the batch reads, in order.
    pub(crate) ranges: Vec<FileRange>,
    /// The whole listing the batch was cut from.
    pub(crate) listing: Vec<FileId>,
    /// The files listed and not yet wholly read after this batch.
    pub(crate) queue: Vec<PendingFile>,
}

/// A listed file not yet wholly cut into ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingFile {
    pub(crate) name: OsString,
    pub(crate) inode: u64,
    /// Where its next range starts.
    pub(crate) next: u64,
    /// Its size when listed: nothing beyond is read.
    pub(crate) size: u64,
}

/// A range the cut chose.
#[derive(Debug)]
pub(crate) struct Planned {
    pub(crate) range: FileRange,
    /// The memory its lines will hold once delivered, estimated.
    pub(crate) cost: usize,
    /// The file ended before its listed size (it shrank): the range ends
    /// where it did, and its `size` says so.
    pub(crate) shrank: bool,
}

/// The memory a line of `len` bytes (line end excluded) will hold: nothing
/// if it is too long (it is skipped), and never more than `cap` (a line
/// larger than the whole bound is taken alone, as the whole bound, as
/// receivers do).
fn line_cost(len: u64, cap: usize) -> usize {
    if len > MAX_LINE_BYTES as u64 {
        0
    } else {
        (len as usize + LINE_OVERHEAD).min(cap)
    }
}

/// Opens the file listed as `inode`: an error if another file has its
/// name now (its bytes at the recorded offsets would not be its lines).
fn open(path: &Path, inode: u64) -> std::io::Result<File> {
    let file = File::open(path)?;
    if file.metadata()?.ino() != inode {
        return Err(std::io::Error::other(
            "another file has replaced it since it was listed",
        ));
    }
    Ok(file)
}

/// Reads into `buf` as much as `reader` gives at once (0: its end).
fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The range of `file` a batch reads: from `file.next`, the whole lines
/// whose cost fits `allowance` (each line's cost capped at `cap`). Reads
/// the file (a chunk at a time: nothing is kept) up to the first line that
/// does not fit, or its listed size.
pub(crate) fn plan(path: &Path, file: &PendingFile, allowance: usize, cap: usize) -> std::io::Result<Planned> {
    let mut opened = open(path, file.inode)?;
    opened.seek(SeekFrom::Start(file.next))?;
    let left = file.size.saturating_sub(file.next);
    let mut reader = opened.take(left);
    // A small file needs no whole chunk (a large buffer is a fresh mapping).
    let mut buf = vec![0u8; CHUNK.min(left as usize).max(1)];
    let mut at = file.next; // the offset of buf[0]
    let mut line_start = file.next;
    let mut cost = 0usize;
    let mut lines = 0u64;
    // Whether the byte before the current chunk was a `\r` (a `\r\n` line
    // end split across chunks).
    let mut carriage = false;
    let full = 'scan: loop {
        let n = read_some(&mut reader, &mut buf)?;
        if n == 0 {
            break false;
        }
        let mut from = 0;
        while let Some(i) = buf[from..n].iter().position(|&b| b == b'\n') {
            let newline = from + i;
            let cr = if newline > 0 {
                buf[newline - 1] == b'\r'
            } else {
                carriage
            };
            let len = at + newline as u64 - line_start - u64::from(cr && at + newline as u64 > line_start);
            let line = line_cost(len, cap);
            if cost + line > allowance {
                break 'scan true;
            }
            cost += line;
            lines += 1;
            line_start = at + newline as u64 + 1;
            from = newline + 1;
        }
        carriage = buf[n - 1] == b'\r';
        at += n as u64;
    };
    let mut size = file.size;
    let mut shrank = false;
    if !full {
        // The scan reached the listed size, or the file's end before it.
        if at < file.size {
            size = at;
            shrank = true;
        }
        // A last line without a newline is a line: the file is complete.
        if at > line_start {
            let line = line_cost(at - line_start, cap);
            if cost + line <= allowance {
                cost += line;
                lines += 1;
                line_start = at;
            }
        }
    }
    Ok(Planned {
        range: FileRange {
            name: file.name.clone(),
            inode: file.inode,
            start: file.next,
            end: line_start,
            size,
            lines,
        },
        cost,
        shrank,
    })
}

/// What reading a range gave.
#[derive(Debug)]
pub(crate) struct RangeRead {
    /// Its lines, and the lines rejected (not UTF-8, too long).
    pub(crate) lines: Lines,
    /// The bytes read: fewer than the range's if the file shrank since.
    pub(crate) bytes: u64,
    /// The file's size now.
    pub(crate) size_now: u64,
}

/// Reads `range` of the file at `path`, a chunk at a time.
pub(crate) fn read_range(path: &Path, range: &FileRange) -> std::io::Result<RangeRead> {
    let mut opened = open(path, range.inode)?;
    let size_now = opened.metadata()?.len();
    opened.seek(SeekFrom::Start(range.start))?;
    let len = range.end.saturating_sub(range.start);
    let mut reader = opened.take(len);
    let mut splitter = LineSplitter::new(LineOptions {
        max_line_bytes: MAX_LINE_BYTES,
        long_lines: LongLines::Skip,
    });
    // Sized once: a vector grown by doubling would hold up to twice its
    // lines' strings. The count is only a hint (a line takes a byte at least).
    let mut out = Lines {
        lines: Vec::with_capacity(range.lines.min(len + 1) as usize),
        ..Lines::default()
    };
    let mut buf = vec![0u8; CHUNK.min(len as usize).max(1)];
    let mut bytes = 0u64;
    loop {
        let n = read_some(&mut reader, &mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        splitter.push(&buf[..n], &mut out);
    }
    // The range ends after a newline, or at the file's end, where a last
    // line without one is still a line.
    splitter.finish(true, &mut out);
    Ok(RangeRead {
        lines: out,
        bytes,
        size_now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(name: &str, contents: &[u8]) -> Self {
            let path = std::env::temp_dir().join(format!("streamflow-ranges-{}-{name}", std::process::id()));
            std::fs::write(&path, contents).unwrap();
            Scratch(path)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn pending(path: &Path, size: usize) -> PendingFile {
        PendingFile {
            name: "f".into(),
            inode: std::fs::metadata(path).unwrap().ino(),
            next: 0,
            size: size as u64,
        }
    }

    /// Cuts the whole file into ranges of at most `allowance` each, and
    /// reads them back.
    fn cut_all(path: &Path, size: usize, allowance: usize) -> (Vec<FileRange>, Vec<String>, Vec<String>) {
        let mut file = pending(path, size);
        let (mut ranges, mut lines, mut rejected) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            let planned = plan(path, &file, allowance, allowance).unwrap();
            assert!(planned.cost <= allowance, "{planned:?}");
            let read = read_range(path, &planned.range).unwrap();
            assert_eq!(read.lines.lines.len() as u64, planned.range.lines, "{planned:?}");
            lines.extend(read.lines.lines);
            rejected.extend(read.lines.rejected);
            file.next = planned.range.end;
            let last = planned.range.is_last();
            ranges.push(planned.range);
            if last {
                return (ranges, lines, rejected);
            }
        }
    }

    #[test]
    fn ranges_end_at_line_ends_and_lose_or_repeat_nothing() {
        let text = "one\r\ntwo\nthree\n\nfour\nfive";
        let scratch = Scratch::new("lines", text.as_bytes());
        // Room for about two short lines per range.
        let (ranges, lines, rejected) = cut_all(&scratch.0, text.len(), 2 * (5 + LINE_OVERHEAD));
        assert_eq!(lines, ["one", "two", "three", "", "four", "five"]);
        assert!(rejected.is_empty());
        assert!(ranges.len() >= 3, "{ranges:?}");
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
            assert_eq!(text.as_bytes()[pair[0].end as usize - 1], b'\n');
        }
        assert_eq!(ranges.last().unwrap().end, text.len() as u64);
    }

    #[test]
    fn a_range_read_again_gives_the_same_lines() {
        let scratch = Scratch::new("again", b"a\nbb\nccc\n");
        let range = plan(
            &scratch.0,
            &pending(&scratch.0, 9),
            2 + 3 + 2 * LINE_OVERHEAD,
            usize::MAX,
        )
        .unwrap()
        .range;
        assert_eq!((range.start, range.end, range.lines), (0, 5, 2));
        let first = read_range(&scratch.0, &range).unwrap().lines.lines;
        let second = read_range(&scratch.0, &range).unwrap().lines.lines;
        assert_eq!(first, ["a", "bb"]);
        assert_eq!(first, second);
    }

    #[test]
    fn a_line_larger_than_the_bound_is_taken_alone() {
        let scratch = Scratch::new("big", b"0123456789\nab\n");
        // The bound (the cap) is 8 bytes: the long line costs all of it.
        let planned = plan(&scratch.0, &pending(&scratch.0, 14), 8, 8).unwrap();
        assert_eq!((planned.range.end, planned.cost), (11, 8));
        // With less than the whole bound free, it waits.
        assert_eq!(plan(&scratch.0, &pending(&scratch.0, 14), 7, 8).unwrap().range.end, 0);
    }

    #[test]
    fn an_overlong_line_is_skipped_and_costs_nothing() {
        let mut text = vec![b'x'; MAX_LINE_BYTES + 1];
        text.extend_from_slice(b"\nok\n");
        let scratch = Scratch::new("overlong", &text);
        let planned = plan(&scratch.0, &pending(&scratch.0, text.len()), 100, 100).unwrap();
        assert_eq!(planned.range.end, text.len() as u64);
        assert_eq!(planned.cost, 2 + LINE_OVERHEAD);
        let read = read_range(&scratch.0, &planned.range).unwrap();
        assert_eq!(read.lines.lines, ["ok"]);
        assert_eq!(read.lines.rejected.len(), 1, "{:?}", read.lines.rejected);
    }

    #[test]
    fn a_file_shorter_than_listed_ends_where_it_ends() {
        let scratch = Scratch::new("short", b"a\nb");
        let planned = plan(&scratch.0, &pending(&scratch.0, 10), 1000, 1000).unwrap();
        assert!(planned.shrank);
        assert_eq!((planned.range.end, planned.range.size, planned.range.lines), (3, 3, 2));
        assert!(planned.range.is_last());
        assert_eq!(read_range(&scratch.0, &planned.range).unwrap().lines.lines, ["a", "b"]);
    }

    #[test]
    fn lines_across_chunks_are_counted_once() {
        // Lines of 1000 bytes, the last without its newline, across many chunks.
        let line = [b'y'; 999];
        let mut text = Vec::new();
        for _ in 0..700 {
            text.extend_from_slice(&line);
            text.extend_from_slice(b"\r\n");
        }
        text.extend_from_slice(&line);
        let scratch = Scratch::new("chunks", &text);
        let (ranges, lines, _) = cut_all(&scratch.0, text.len(), 100 * (1000 + LINE_OVERHEAD));
        assert_eq!(lines.len(), 701);
        assert!(lines.iter().all(|l| l.len() == 999));
        assert_eq!(ranges.len(), 8, "100 lines each, then the last one");
    }

    #[test]
    fn a_file_replaced_under_its_name_is_not_read() {
        let scratch = Scratch::new("replaced", b"old line\n");
        let range = plan(&scratch.0, &pending(&scratch.0, 9), 1000, 1000).unwrap().range;
        let other = scratch.0.with_extension("new");
        std::fs::write(&other, b"new!\nline\n").unwrap();
        std::fs::rename(&other, &scratch.0).unwrap();
        let err = read_range(&scratch.0, &range).unwrap_err();
        assert_eq!(err.to_string(), "another file has replaced it since it was listed");
    }
}
