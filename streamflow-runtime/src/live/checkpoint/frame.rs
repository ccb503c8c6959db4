//! One checkpoint file on disk: a framed payload, written so that a crash at
//! any moment leaves either no file or the whole file, and read back with
//! every way it can be damaged told apart.
//!
//! The frame: the magic `SFCKPT`, the format version (u16), the record kind
//! (u8), the payload's length (u64), the payload, and a CRC-32 of everything
//! before it (all little-endian). A write goes to a hidden temporary name in
//! the same directory, is fsynced, renamed over the final name, and the
//! directory is fsynced: the rename is the commit point.

use super::error::CheckpointError;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 6] = b"SFCKPT";
/// The format version this build writes and reads. 2: a job record names
/// each input port's partitioning, so a version 1 record would not decode;
/// the version says why instead.
pub(crate) const VERSION: u16 = 2;
const HEADER: usize = MAGIC.len() + 2 + 1 + 8;
const TRAILER: usize = 4;
/// Temporary files start with this; anything so named is a leftover of a
/// crash, removed when the directory is opened.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

/// What a file holds; a file read as another kind is an error, not data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// The job's identity and settings.
    Job = 1,
    /// What one batch reads, recorded before it runs.
    Inputs = 2,
    // 3 was a framed commit record: commits are now empty marker files.
    /// The job's state after a batch.
    State = 4,
    /// One block of records a receiver stored (the write-ahead log).
    Block = 5,
    /// On a cluster: how many processes wrote their part of a record.
    Parts = 6,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Job => "job record",
            Kind::Inputs => "batch inputs record",
            Kind::State => "state snapshot",
            Kind::Block => "write-ahead log block",
            Kind::Parts => "parts marker",
        }
    }
}

/// Writes `payload` as a `kind` file at `path`, durably and atomically.
pub(crate) fn write(path: &Path, kind: Kind, payload: &[u8]) -> Result<(), CheckpointError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let temp = dir.join(format!("{TEMP_PREFIX}{name}"));
    let mut bytes = Vec::with_capacity(HEADER + payload.len() + TRAILER);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.push(kind as u8);
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(payload);
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    let io = |action: &'static str, at: &Path| {
        let at = at.to_path_buf();
        move |source| CheckpointError::Io {
            action,
            path: at,
            source,
        }
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temp)
        .map_err(io("create", &temp))?;
    file.write_all(&bytes).map_err(io("write", &temp))?;
    file.sync_all().map_err(io("fsync", &temp))?;
    drop(file);
    fs::rename(&temp, path).map_err(io("rename into place", path))?;
    sync_dir(dir)
}

/// Fsyncs a directory, so that the names created or removed in it survive a
/// crash of the machine.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), CheckpointError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| CheckpointError::Io {
            action: "fsync",
            path: dir.to_path_buf(),
            source,
        })
}

/// Reads a `kind` file written by [`write`] and gives its payload.
pub(crate) fn read(path: &Path, kind: Kind) -> Result<Vec<u8>, CheckpointError> {
    let bytes = fs::read(path).map_err(|source| CheckpointError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    decode(path, kind, bytes)
}

fn decode(path: &Path, kind: Kind, mut bytes: Vec<u8>) -> Result<Vec<u8>, CheckpointError> {
    let damaged = |problem: String| CheckpointError::Damaged {
        path: PathBuf::from(path),
        what: kind.name(),
        problem,
    };
    if bytes.len() < HEADER + TRAILER || &bytes[..MAGIC.len()] != MAGIC {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(damaged("not a streamflow checkpoint file".to_owned()));
        }
        return Err(damaged(format!("truncated: {} bytes", bytes.len())));
    }
    let version = u16::from_le_bytes([bytes[6], bytes[7]]);
    if version != VERSION {
        return Err(CheckpointError::Version {
            path: path.to_path_buf(),
            found: version,
            supported: VERSION,
        });
    }
    let found = bytes[8];
    if found != kind as u8 {
        return Err(damaged(format!(
            "holds a record of kind {found}, not a {}",
            kind.name()
        )));
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[9..17]);
    let len = u64::from_le_bytes(len);
    let expected = (HEADER + TRAILER) as u64 + len;
    if bytes.len() as u64 != expected {
        return Err(damaged(format!(
            "truncated: {} bytes where the header says {expected}",
            bytes.len()
        )));
    }
    let body = bytes.len() - TRAILER;
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&bytes[body..]);
    if crc32fast::hash(&bytes[..body]) != u32::from_le_bytes(crc) {
        return Err(damaged("checksum mismatch: the file was changed or damaged".to_owned()));
    }
    bytes.truncate(body);
    bytes.drain(..HEADER);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("streamflow-frame-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_file_reads_back_and_every_damage_is_named() {
        let dir = temp_dir("damage");
        let path = dir.join("1000.inputs");
        write(&path, Kind::Inputs, b"hello").unwrap();
        assert_eq!(read(&path, Kind::Inputs).unwrap(), b"hello");
        assert!(!dir.join(".tmp-1000.inputs").exists());

        let wrong = read(&path, Kind::State).unwrap_err().to_string();
        assert!(
            wrong.contains("holds a record of kind 2, not a state snapshot"),
            "{wrong}"
        );

        let good = fs::read(&path).unwrap();
        let mut flipped = good.clone();
        flipped[HEADER + 1] ^= 0x40;
        fs::write(&path, &flipped).unwrap();
        let err = read(&path, Kind::Inputs).unwrap_err().to_string();
        assert!(err.contains("checksum mismatch"), "{err}");

        fs::write(&path, &good[..good.len() - 3]).unwrap();
        let err = read(&path, Kind::Inputs).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");

        fs::write(&path, b"{\"json\": true}").unwrap();
        let err = read(&path, Kind::Inputs).unwrap_err().to_string();
        assert!(err.contains("not a streamflow checkpoint file"), "{err}");

        let mut newer = good.clone();
        newer[6] = 9;
        fs::write(&path, &newer).unwrap();
        let err = read(&path, Kind::Inputs).unwrap_err().to_string();
        assert!(err.contains("format version 9"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
