//! Numbered blocks of records held in memory between a batch's cut and its
//! delivery: what a receiver stored, what a queue was given. A batch of such
//! a source reads a range of block ids: its positions. With a write-ahead
//! log, every block is also on disk before any batch can take it.

use super::wal::BlockLog;
use crate::live::checkpoint::CheckpointError;
use crate::live::error::SourceError;
use crate::live::sync::lock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// The blocks `first..end`: what one batch of an in-memory source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BlockRange {
    pub(crate) first: u64,
    pub(crate) end: u64,
}

/// Blocks in the order they were sealed, each taken by one batch.
pub(crate) struct BlockStore<T> {
    inner: Mutex<Stored<T>>,
    /// The write-ahead log, when checkpointing is on.
    log: OnceLock<Box<dyn BlockLog<T>>>,
}

struct Stored<T> {
    blocks: BTreeMap<u64, Vec<T>>,
    /// The id of the next block sealed.
    next: u64,
    /// The first block not yet cut.
    uncut: u64,
    /// Why a block could not be written to the log (the next cut fails).
    log_failure: Option<String>,
}

impl<T> Default for BlockStore<T> {
    fn default() -> Self {
        BlockStore {
            inner: Mutex::new(Stored {
                blocks: BTreeMap::new(),
                next: 0,
                uncut: 0,
                log_failure: None,
            }),
            log: OnceLock::new(),
        }
    }
}

impl<T> BlockStore<T> {
    /// Writes every block to `log` from now on, after reading back the
    /// blocks it holds (a previous run's): they keep their ids, and new
    /// blocks follow them. Called before anything is sealed.
    pub(crate) fn attach_log(&self, log: Box<dyn BlockLog<T>>) -> Result<(), CheckpointError> {
        let logged = log.read_all()?;
        let mut stored = lock(&self.inner);
        if let Some(&last) = logged.keys().next_back() {
            stored.next = stored.next.max(last + 1);
        }
        stored.blocks.extend(logged);
        let _ = self.log.set(log);
        Ok(())
    }

    /// After a recovery: the blocks before `end` belong to batches recorded
    /// before the crash (run again from their recorded ranges); the next cut
    /// starts at `end`.
    pub(crate) fn resume_at(&self, end: u64) {
        let mut stored = lock(&self.inner);
        stored.uncut = end;
        stored.next = stored.next.max(end);
    }

    /// Drops the blocks below `end`, from memory and from the log: no batch
    /// will read them again.
    pub(crate) fn release_below(&self, end: u64) -> Result<(), CheckpointError> {
        {
            let mut stored = lock(&self.inner);
            let kept = stored.blocks.split_off(&end);
            stored.blocks = kept;
        }
        match self.log.get() {
            Some(log) => log.remove_below(end),
            None => Ok(()),
        }
    }

    /// Adds a block after the others (in the log first, if there is one).
    pub(crate) fn seal(&self, block: Vec<T>) {
        let mut stored = lock(&self.inner);
        let id = stored.next;
        if let Some(log) = self.log.get()
            && let Err(e) = log.write(id, &block)
        {
            // Kept in memory all the same: the batch that takes it fails.
            stored.log_failure.get_or_insert_with(|| e.to_string());
        }
        stored.blocks.insert(id, block);
        stored.next += 1;
    }

    /// Whether every block sealed so far is in the write-ahead log (without
    /// one, always).
    pub(crate) fn check_logged(&self) -> Result<(), String> {
        match &lock(&self.inner).log_failure {
            Some(failure) => Err(format!("the write-ahead log failed ({failure})")),
            None => Ok(()),
        }
    }

    /// The next [`cut`](Self::cut), unless a block could not be written to
    /// the write-ahead log since the previous one: then an error, and the
    /// blocks stay for the next cut.
    pub(crate) fn cut_logged(&self, most: usize) -> Result<(BlockRange, usize), SourceError> {
        if let Some(failure) = lock(&self.inner).log_failure.take() {
            return Err(format!(
                "the write-ahead log failed ({failure}); the blocks stay in memory and go to the next batch"
            )
            .into());
        }
        Ok(self.cut(most))
    }

    /// Gives the next `most` blocks not yet cut (fewer if there are fewer)
    /// to a batch: their range and number of records.
    pub(crate) fn cut(&self, most: usize) -> (BlockRange, usize) {
        let mut stored = lock(&self.inner);
        let first = stored.uncut;
        let end = stored.next.min(first.saturating_add(most as u64));
        let records = stored.blocks.range(first..end).map(|(_, block)| block.len()).sum();
        stored.uncut = end;
        (BlockRange { first, end }, records)
    }

    /// The number of blocks not yet cut.
    pub(crate) fn uncut(&self) -> usize {
        let stored = lock(&self.inner);
        (stored.next - stored.uncut) as usize
    }

    /// Takes the blocks of `range` out, in order. They live in memory only:
    /// each can be delivered once.
    pub(crate) fn take(&self, range: BlockRange) -> Result<Vec<Vec<T>>, SourceError> {
        let mut stored = lock(&self.inner);
        (range.first..range.end)
            .map(|id| {
                stored.blocks.remove(&id).ok_or_else(|| {
                    let problem = match self.log.get() {
                        Some(_) => "it is in neither memory nor the write-ahead log",
                        None => "blocks live in memory only, without a checkpoint",
                    };
                    format!("block {id} cannot be delivered: {problem}").into()
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_cut_in_order_and_delivered_once() {
        let store = BlockStore::default();
        store.seal(vec![1, 2]);
        store.seal(vec![]);
        store.seal(vec![3]);
        assert_eq!(store.uncut(), 3);
        let (one, records) = store.cut(1);
        assert_eq!((one, records), (BlockRange { first: 0, end: 1 }, 2));
        let (rest, records) = store.cut(usize::MAX);
        assert_eq!((rest, records), (BlockRange { first: 1, end: 3 }, 1));
        assert_eq!(store.cut(usize::MAX).0, BlockRange { first: 3, end: 3 });
        assert_eq!(store.take(rest).unwrap(), vec![vec![], vec![3]]);
        assert_eq!(store.take(one).unwrap(), vec![vec![1, 2]]);
        let again = store.take(one).unwrap_err();
        assert!(
            again
                .to_string()
                .contains("block 0 cannot be delivered: blocks live in memory only"),
            "{again}"
        );
    }
}
