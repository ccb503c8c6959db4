//! The write-ahead log of a receiver: every block it stores is written to
//! disk, durably, before any batch can take it, so that a crash loses no
//! record the receiver accepted. Recovery reads the blocks back: those of
//! the batches it runs again, and those no batch had taken yet.

use crate::live::checkpoint::{CheckpointError, Kind, frame};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// Blocks of records on disk, one file per block id (`<id>.block`).
pub(crate) struct Wal<T> {
    dir: PathBuf,
    _records: PhantomData<fn(T) -> T>,
}

/// Reads and writes a block store's blocks, whatever their record type.
pub(crate) trait BlockLog<T>: Send + Sync {
    /// Writes block `id` durably.
    fn write(&self, id: u64, records: &[T]) -> Result<(), CheckpointError>;
    /// Every block on disk, by id.
    fn read_all(&self) -> Result<BTreeMap<u64, Vec<T>>, CheckpointError>;
    /// Removes the blocks with ids below `end`.
    fn remove_below(&self, end: u64) -> Result<(), CheckpointError>;
}

impl<T> Wal<T> {
    /// The log in `dir` (created if missing).
    pub(crate) fn open(dir: &Path) -> Result<Self, CheckpointError> {
        std::fs::create_dir_all(dir).map_err(|source| CheckpointError::Io {
            action: "create",
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Wal {
            dir: dir.to_path_buf(),
            _records: PhantomData,
        })
    }

    fn ids(&self) -> Result<Vec<u64>, CheckpointError> {
        let list = |source| CheckpointError::Io {
            action: "list",
            path: self.dir.clone(),
            source,
        };
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(list)? {
            let name = entry.map_err(list)?.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(frame::TEMP_PREFIX) {
                // Half-written when the process died: the block was never stored.
                let _ = std::fs::remove_file(self.dir.join(&*name));
                continue;
            }
            if let Some(id) = name.strip_suffix(".block").and_then(|id| id.parse().ok()) {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    fn path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("{id}.block"))
    }
}

impl<T: Serialize + DeserializeOwned + Send> BlockLog<T> for Wal<T> {
    fn write(&self, id: u64, records: &[T]) -> Result<(), CheckpointError> {
        let bytes = postcard::to_stdvec(records).map_err(|e| CheckpointError::Encode {
            what: "a received block",
            message: e.to_string(),
        })?;
        frame::write(&self.path(id), Kind::Block, &bytes)
    }

    fn read_all(&self) -> Result<BTreeMap<u64, Vec<T>>, CheckpointError> {
        let mut blocks = BTreeMap::new();
        for id in self.ids()? {
            let path = self.path(id);
            let bytes = frame::read(&path, Kind::Block)?;
            let records = postcard::from_bytes(&bytes).map_err(|e| CheckpointError::Damaged {
                path: path.clone(),
                what: "write-ahead log block",
                problem: format!("its records do not decode: {e}"),
            })?;
            blocks.insert(id, records);
        }
        Ok(blocks)
    }

    fn remove_below(&self, end: u64) -> Result<(), CheckpointError> {
        for id in self.ids()?.into_iter().take_while(|&id| id < end) {
            let path = self.path(id);
            std::fs::remove_file(&path).map_err(|source| CheckpointError::Io {
                action: "remove",
                path,
                source,
            })?;
        }
        Ok(())
    }
}
