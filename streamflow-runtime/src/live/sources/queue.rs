//! `queue_stream`: batches from memory, one per batch interval (Spark's
//! `queueStream` with `oneAtATime`), for tests and demos.

use super::blocks::{BlockRange, BlockStore};
use super::input::Input;
use super::source::{Cut, Reader, Source, SourceContext};
use crate::live::error::SourceError;
use crate::{Batch, Time};
use std::sync::Arc;

/// A queue of batches to feed a job: each batch interval takes the next one
/// (or an empty batch when the queue is empty). Clones share the queue, so a
/// test can push while the job runs.
pub struct Queue<T> {
    batches: Arc<BlockStore<T>>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue {
            batches: self.batches.clone(),
        }
    }
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            batches: Arc::default(),
        }
    }
}

impl<T: Send + 'static> Queue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a batch at the back.
    pub fn push(&self, batch: impl IntoIterator<Item = T>) {
        self.batches.seal(batch.into_iter().collect());
    }

    /// The number of batches not yet taken.
    pub fn len(&self) -> usize {
        self.batches.uncut()
    }

    /// Whether every batch was taken.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The source that takes from this queue.
    pub fn stream(&self) -> Input<T> {
        let batches = self.batches.clone();
        Input::of_source("queue".to_owned(), QueueSource { batches })
    }
}

/// A source of the given batches, one per batch interval, then empty batches.
pub fn queue_stream<T, B>(batches: impl IntoIterator<Item = B>) -> Input<T>
where
    T: Send + 'static,
    B: IntoIterator<Item = T>,
{
    let queue = Queue::new();
    for batch in batches {
        queue.push(batch);
    }
    queue.stream()
}

/// The source behind a [`Queue`]: each batch takes the next queued batch, a
/// range of at most one block. Both halves share the queue.
struct QueueSource<T> {
    batches: Arc<BlockStore<T>>,
}

impl<T: Send + 'static> Source for QueueSource<T> {
    type Item = T;
    type Positions = BlockRange;
    type Reader = Self;

    fn start(&mut self, _ctx: &SourceContext) -> Result<Self, SourceError> {
        let batches = self.batches.clone();
        Ok(QueueSource { batches })
    }

    fn cut(&mut self, _time: Time) -> Result<Cut<BlockRange>, SourceError> {
        let (range, records) = self.batches.cut(1);
        Ok(Cut::new(range).with_records(records))
    }

    fn resume(&mut self, _recorded: &[BlockRange]) -> Result<(), SourceError> {
        Err(
            "a queue stream keeps its batches in memory only: it cannot be resumed from a checkpoint \
             (use a directory, a receiver with its write-ahead log, or a replayable source)"
                .into(),
        )
    }
}

impl<T: Send + 'static> Reader for QueueSource<T> {
    type Item = T;
    type Positions = BlockRange;

    fn deliver(&mut self, _time: Time, range: &BlockRange) -> Result<Batch<T>, SourceError> {
        let batch = self.batches.take(*range)?.pop().unwrap_or_default();
        Ok(Batch::from_vec(batch))
    }
}
