//! Listing a watched directory: its regular files (links followed), in name
//! order, each known by name, inode and modification time.

use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// A file as a listing sees it: a name reused by another file is another file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct FileId {
    pub(crate) name: OsString,
    pub(crate) inode: u64,
    modified_ns: i64,
}

/// A listing: the regular files, in name order, with their sizes.
pub(crate) struct Listing {
    pub(crate) files: Vec<(FileId, u64)>,
    /// Entries that are neither hidden nor regular files.
    pub(crate) other: Vec<OsString>,
}

/// Lists the candidate files of `directory` (not hidden, regular files or
/// links to them).
pub(crate) fn list(directory: &Path) -> std::io::Result<Listing> {
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
