//! `queue_stream`: batches from memory, one per batch interval (Spark's
//! `queueStream` with `oneAtATime`), for tests and demos.

use super::{Feed, Input, InputCounters, Materialized, Pending, StartedInput};
use crate::{Batch, Time};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// A queue of batches to feed a job: each batch interval takes the next one
/// (or an empty batch when the queue is empty). Clones share the queue, so a
/// test can push while the job runs.
pub struct Queue<T> {
    batches: Arc<Mutex<VecDeque<Vec<T>>>>,
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
        let batch = batch.into_iter().collect();
        self.lock().push_back(batch);
    }

    /// The number of batches not yet taken.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether every batch was taken.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The source that takes from this queue.
    pub fn stream(&self) -> Input<T> {
        let queue = self.clone();
        Input::new("queue".to_owned(), move |_env| {
            let counters = Arc::new(InputCounters::default());
            Ok(StartedInput {
                feed: Box::new(QueueFeed {
                    queue,
                    counters: counters.clone(),
                }),
                receiver: None,
                counters,
                description: String::new(),
            })
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Vec<T>>> {
        self.batches.lock().unwrap_or_else(|e| e.into_inner())
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

struct QueueFeed<T> {
    queue: Queue<T>,
    counters: Arc<InputCounters>,
}

struct Queued<T>(Vec<T>);

impl<T: Send + 'static> Feed for QueueFeed<T> {
    fn cut(&mut self, _time: Time) -> Box<dyn Pending> {
        let batch = self.queue.lock().pop_front().unwrap_or_default();
        self.counters.records.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Box::new(Queued(batch))
    }
}

impl<T: Send + 'static> Pending for Queued<T> {
    fn known_records(&self) -> Option<usize> {
        Some(self.0.len())
    }

    fn budgeted(&self) -> usize {
        0
    }

    fn materialize(self: Box<Self>, _time: Time) -> Materialized {
        let records = self.0.len();
        Materialized {
            batch: Box::new(Batch::from_vec(self.0)),
            records,
        }
    }
}
