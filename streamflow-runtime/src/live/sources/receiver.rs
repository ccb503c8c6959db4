//! Receivers: sources that push records on their own thread (Spark's
//! `Receiver`), as their authors see them. The
//! [supervisor](super::supervisor) runs each one, restarts it with backoff
//! when it fails, and cuts what it stores into blocks that become a batch's
//! partitions.

use super::receiver_state::ReceiverShared;
pub use super::receiver_state::Stopped;
use crate::live::error::ReceiverError;
use crate::live::sync::lock;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A custom source, run on its own thread (Spark's `Receiver`).
///
/// [`on_start`](Self::on_start) receives: it reads from wherever the data
/// comes from and hands records to [`ReceiverContext::store`] (or
/// [`store_many`](ReceiverContext::store_many)) until
/// [`ReceiverContext::is_stopped`] turns true. Then:
///
/// - returning `Ok(())` after a stop ends the receiver;
/// - returning `Ok(())` without a stop means the source is exhausted: the
///   receiver stops for good, unless it called [`ReceiverContext::restart`];
/// - returning `Err(e)` (a dropped connection, say) reports `e` to the
///   listeners and logs, and starts the receiver again after a backoff
///   (100 ms, doubling up to the context's maximum). Records stored before the
///   error are kept.
///
/// A panic in `on_start` is reported and restarted like an error.
/// [`on_stop`](Self::on_stop) runs after every `on_start`, to release what it
/// opened.
///
/// ```
/// use streamflow::live::{Receiver, ReceiverContext, ReceiverError};
///
/// /// Counts up from zero, forever.
/// struct Counter(u64);
///
/// impl Receiver for Counter {
///     type Item = u64;
///     fn name(&self) -> String { "counter".into() }
///     fn on_start(&mut self, ctx: &ReceiverContext<u64>) -> Result<(), ReceiverError> {
///         while !ctx.is_stopped() {
///             // `store` waits while the rate limit or the memory bound says so.
///             if ctx.store(self.0).is_err() { break; }
///             self.0 += 1;
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait Receiver: Send + 'static {
    /// The records it produces.
    type Item: Send + 'static;

    /// A name for logs and listeners.
    fn name(&self) -> String {
        std::any::type_name::<Self>().to_owned()
    }

    /// The estimated bytes a record holds, for the bound on buffered bytes
    /// ([`StreamingContext::max_buffered_bytes`](crate::live::StreamingContext::max_buffered_bytes)).
    /// By default its inline size only (`size_of`): a receiver of strings
    /// or vectors says `record.byte_size()` (see
    /// [`ByteSize`](crate::live::ByteSize)) to count their heap too.
    fn record_bytes(record: &Self::Item) -> usize
    where
        Self: Sized,
    {
        let _ = record;
        std::mem::size_of::<Self::Item>()
    }

    /// Receives until stopped (see the trait's documentation).
    fn on_start(&mut self, ctx: &ReceiverContext<Self::Item>) -> Result<(), ReceiverError>;

    /// Releases what `on_start` opened; called after each `on_start` returns.
    fn on_stop(&mut self) {}
}

/// Why [`ReceiverContext::store_reliably`] cannot vouch for its records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The receiver was stopped while storing.
    #[error(transparent)]
    Stopped(#[from] Stopped),
    /// The records are in memory but could not be written to the
    /// write-ahead log: a crash would lose them.
    #[error("{0}")]
    NotDurable(String),
}

/// What a receiver talks to: store records, report errors, ask for a restart
/// or a stop. Given to [`Receiver::on_start`].
pub struct ReceiverContext<T> {
    pub(crate) shared: Arc<ReceiverShared<T>>,
}

impl<T: Send + 'static> ReceiverContext<T> {
    /// Stores one record. Waits while the receiver's rate limit or the
    /// context's memory bound does not allow more.
    pub fn store(&self, record: T) -> Result<(), Stopped> {
        self.shared.store_vec(vec![record])
    }

    /// Stores many records, in order (cheaper than one by one).
    pub fn store_many(&self, records: impl IntoIterator<Item = T>) -> Result<(), Stopped> {
        // Chunks small in records and in bytes: paced smoothly, and each
        // fits in the memory bound.
        let (chunk, chunk_bytes) = (self.shared.chunk_size(), self.shared.chunk_bytes());
        let mut part = Vec::new();
        let mut bytes = 0;
        for record in records {
            bytes += self.shared.size(&record);
            part.push(record);
            if part.len() >= chunk || bytes >= chunk_bytes {
                self.shared
                    .store_sized(std::mem::take(&mut part), std::mem::take(&mut bytes))?;
            }
        }
        self.shared.store_sized(part, bytes)
    }

    /// Stores `records` durably: when this returns `Ok`, they are in a
    /// sealed block and, with checkpointing on, in the write-ahead log on
    /// disk, so a crash of the process cannot lose them. A reliable receiver
    /// acknowledges its upstream (a message queue's ack) only after this
    /// returned. Costs a block, and an fsync with checkpointing on: store
    /// in batches. After an `Err`, nothing of `records` is guaranteed: do
    /// not acknowledge them.
    pub fn store_reliably(&self, records: impl IntoIterator<Item = T>) -> Result<(), StoreError> {
        self.store_many(records)?;
        self.shared.seal_open();
        self.shared.blocks().check_logged().map_err(|e| {
            self.shared.report_error(format!("{e}; the records are not durable"));
            StoreError::NotDurable(e)
        })
    }

    /// Reports an error to the listeners and logs; the receiver goes on.
    pub fn report_error(&self, message: impl Into<String>) {
        self.shared.report_error(message.into());
    }

    /// Counts a record that could not be accepted (malformed input) and
    /// reports it; the receiver goes on.
    pub fn reject(&self, message: impl Into<String>) {
        self.shared.counters.rejected.fetch_add(1, Ordering::Relaxed);
        self.shared.report_error(message.into());
    }

    /// Asks for a restart: return from `on_start` and the supervisor starts
    /// it again after a backoff.
    pub fn restart(&self, message: impl Into<String>) {
        let message = message.into();
        *lock(&self.shared.restart) = Some(message);
    }

    /// Stops this receiver for good (the job goes on); `is_stopped` turns true.
    pub fn stop(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::info!(input = self.shared.input, %message, "receiver stops itself");
        self.shared.stopping.store(true, Ordering::SeqCst);
    }

    /// Whether the receiver must stop receiving and return.
    pub fn is_stopped(&self) -> bool {
        self.shared.is_stopped()
    }

    /// The input port this receiver feeds.
    pub fn input(&self) -> &'static str {
        self.shared.input
    }
}
