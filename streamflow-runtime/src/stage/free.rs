//! Freeing a consumed batch off the critical path: a stage that only reads
//! its input (a filter chain ending in `count`) borrows it, and the batch's
//! elements (a million `String` lines: 20–40 ms of `free` on the worker
//! threads) are dropped afterwards on a thread of their own, while the job
//! goes on.
//!
//! That thread runs at the lowest priority (Linux): freeing is background
//! work, and at normal priority the freshly woken thread competed with the
//! end of the very batch that handed it the garbage (on 2 shared cores a
//! 10 ms grep took 2–20 ms longer). Its queue is bounded: when it falls
//! behind (a machine kept busy), batches are dropped in place, so memory
//! stays bounded.

use crate::Batch;
use std::any::Any;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Mutex, OnceLock};

type Garbage = Box<dyn Any + Send>;

/// How many batches may wait for the freeing thread before the next one is
/// dropped in place.
const QUEUED: usize = 4;

/// The channel to the thread that drops what it is sent; `None` if that
/// thread could not be started (batches are then dropped in place).
fn reaper() -> Option<&'static Mutex<SyncSender<Garbage>>> {
    static REAPER: OnceLock<Option<Mutex<SyncSender<Garbage>>>> = OnceLock::new();
    REAPER
        .get_or_init(|| {
            let (sender, receiver) = sync_channel::<Garbage>(QUEUED);
            std::thread::Builder::new()
                .name("streamflow-free".into())
                .spawn(move || {
                    lowest_priority();
                    receiver.into_iter().for_each(drop)
                })
                .ok()
                .map(|_| Mutex::new(sender))
        })
        .as_ref()
}

/// Lowers the calling thread's priority to the lowest (nice 19). On Linux
/// `setpriority` with `who = 0` applies to the calling thread only; other
/// systems apply it to the whole process, so there it is not done.
fn lowest_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: `setpriority` takes no pointers; failing (it cannot for a
    // thread lowering its own priority) leaves the priority as it was.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}

/// Below this many elements a batch is dropped in place: handing it over
/// would cost more than freeing it (and small live batches keep their
/// latency).
const IN_PLACE: usize = 4096;

/// Drops `batch` on the freeing thread (in place if it is small, if that
/// thread is behind, or if there is no such thread).
pub fn free_later<T: Send + 'static>(batch: Batch<T>) {
    if batch.len() < IN_PLACE {
        return;
    }
    hand_over(Box::new(batch));
}

/// Sends `garbage` to the freeing thread, or drops it here.
fn hand_over(garbage: Garbage) {
    let Some(reaper) = reaper() else { return drop(garbage) };
    // A full queue, a poisoned lock or a closed channel: drop here instead.
    let unsent = match reaper.lock() {
        Ok(sender) => match sender.try_send(garbage) {
            Ok(()) => None,
            Err(TrySendError::Full(garbage) | TrySendError::Disconnected(garbage)) => Some(garbage),
        },
        Err(_) => Some(garbage),
    };
    drop(unsent);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::mpsc::{Receiver, Sender, channel};
    use std::thread::ThreadId;
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

    /// Garbage that says where it was dropped, at which priority, and
    /// (if `gate` is set) waits to be let go first.
    struct Tell {
        dropped: Sender<(ThreadId, i32)>,
        gate: Option<Receiver<()>>,
    }

    impl Drop for Tell {
        fn drop(&mut self) {
            if let Some(gate) = &self.gate {
                let _ = gate.recv_timeout(Duration::from_secs(10));
            }
            #[cfg(target_os = "linux")]
            // SAFETY: no pointers; reads the calling thread's nice value.
            let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
            #[cfg(not(target_os = "linux"))]
            let nice = 19;
            let _ = self.dropped.send((std::thread::current().id(), nice));
        }
    }

    #[test]
    fn the_freeing_thread_runs_at_the_lowest_priority() {
        let (dropped, told) = channel();
        // Another test may fill the queue for a moment: then it is dropped
        // here, and tried again.
        for _ in 0..100 {
            hand_over(Box::new(Tell {
                dropped: dropped.clone(),
                gate: None,
            }));
            let (thread, nice) = told.recv_timeout(Duration::from_secs(10)).expect("dropped");
            if thread != std::thread::current().id() {
                assert_eq!(nice, 19);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("never dropped on the freeing thread");
    }

    #[test]
    fn a_freeing_thread_that_is_behind_leaves_the_batch_to_drop_in_place() {
        let here = std::thread::current().id();
        let (dropped, told) = channel();
        // Keeps the freeing thread busy until `open` is dropped.
        let (open, gate) = channel::<()>();
        hand_over(Box::new(Tell {
            dropped: dropped.clone(),
            gate: Some(gate),
        }));
        // The queue fills (other tests may have queued some too); then a
        // batch is dropped here, at once.
        let mut in_place = 0;
        for _ in 0..=QUEUED + 1 {
            hand_over(Box::new(Tell {
                dropped: dropped.clone(),
                gate: None,
            }));
            while let Ok((thread, _)) = told.try_recv() {
                in_place += usize::from(thread == here);
            }
        }
        assert!(in_place >= 1, "a full queue still took the batch");
        drop(open);
        // Everything queued is dropped once the thread goes on.
        let mut elsewhere = 0;
        while let Ok((thread, _)) = told.recv_timeout(Duration::from_secs(10)) {
            assert_ne!(thread, here);
            elsewhere += 1;
            if in_place + elsewhere == QUEUED + 3 {
                break;
            }
        }
        assert_eq!(in_place + elsewhere, QUEUED + 3);
    }
}
