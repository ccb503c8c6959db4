//! Numbered blocks of records held in memory between a batch's cut and its
//! delivery: what a receiver stored, what a queue was given. A batch of such
//! a source reads a range of block ids: its positions.

use crate::live::error::SourceError;
use crate::live::sync::lock;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The blocks `first..end`: what one batch of an in-memory source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BlockRange {
    pub(crate) first: u64,
    pub(crate) end: u64,
}

/// Blocks in the order they were sealed, each taken by one batch.
pub(crate) struct BlockStore<T> {
    inner: Mutex<Stored<T>>,
}

struct Stored<T> {
    blocks: BTreeMap<u64, Vec<T>>,
    /// The id of the next block sealed.
    next: u64,
    /// The first block not yet cut.
    uncut: u64,
}

impl<T> Default for BlockStore<T> {
    fn default() -> Self {
        BlockStore {
            inner: Mutex::new(Stored {
                blocks: BTreeMap::new(),
                next: 0,
                uncut: 0,
            }),
        }
    }
}

impl<T> BlockStore<T> {
    /// Adds a block after the others.
    pub(crate) fn seal(&self, block: Vec<T>) {
        let mut stored = lock(&self.inner);
        let id = stored.next;
        stored.blocks.insert(id, block);
        stored.next += 1;
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
                stored
                    .blocks
                    .remove(&id)
                    .ok_or_else(|| format!("block {id} was delivered already (blocks live in memory only)").into())
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
        assert!(again.to_string().contains("block 0 was delivered already"), "{again}");
    }
}
