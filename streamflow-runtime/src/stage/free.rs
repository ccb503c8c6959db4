//! Freeing a consumed batch off the critical path: a stage that only reads
//! its input (a filter chain ending in `count`) borrows it, and the batch's
//! elements (a million `String` lines: 20–40 ms of `free` on the worker
//! threads) are dropped afterwards on a thread of their own, while the job
//! goes on.

use crate::Batch;
use std::any::Any;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Mutex, OnceLock};

type Garbage = Box<dyn Any + Send>;

/// The channel to the thread that drops what it is sent; `None` if that
/// thread could not be started (batches are then dropped in place).
fn reaper() -> Option<&'static Mutex<Sender<Garbage>>> {
    static REAPER: OnceLock<Option<Mutex<Sender<Garbage>>>> = OnceLock::new();
    REAPER
        .get_or_init(|| {
            let (sender, receiver) = channel::<Garbage>();
            std::thread::Builder::new()
                .name("streamflow-free".into())
                .spawn(move || receiver.into_iter().for_each(drop))
                .ok()
                .map(|_| Mutex::new(sender))
        })
        .as_ref()
}

/// Below this many elements a batch is dropped in place: handing it over
/// would cost more than freeing it (and small live batches keep their
/// latency).
const IN_PLACE: usize = 4096;

/// Drops `batch` on the freeing thread (in place if it is small, or if
/// there is no such thread).
pub fn free_later<T: Send + 'static>(batch: Batch<T>) {
    if batch.len() < IN_PLACE {
        return;
    }
    let garbage: Garbage = Box::new(batch);
    let Some(reaper) = reaper() else { return drop(garbage) };
    // A poisoned lock or a closed channel: drop here instead.
    let unsent = match reaper.lock() {
        Ok(sender) => sender.send(garbage).err().map(|e| e.0),
        Err(_) => Some(garbage),
    };
    drop(unsent);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[test]
    fn a_batch_is_dropped_on_another_thread() {
        let tracker = Arc::new(());
        let batch = Batch::from_vec(vec![Arc::clone(&tracker); IN_PLACE]);
        free_later(batch);
        let start = Instant::now();
        while Arc::strong_count(&tracker) > 1 {
            assert!(start.elapsed() < Duration::from_secs(10), "the batch was never dropped");
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
