//! The bound on buffered records: receivers take from a shared budget before
//! storing, and the driver gives it back once a batch has been processed. When
//! the budget is spent, receivers wait (and, for a socket, stop reading, so
//! that TCP pushes back on the sender) instead of growing memory.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Records stored by receivers and not yet processed, with a hard limit.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: usize,
    used: Mutex<usize>,
    freed: Condvar,
    peak: AtomicUsize,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Self {
        Budget {
            limit: limit.max(1),
            used: Mutex::new(0),
            freed: Condvar::new(),
            peak: AtomicUsize::new(0),
        }
    }

    /// The limit; callers take at most this much at once.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Takes `n` (at most the limit) records' worth, waiting while that would
    /// exceed the limit. Returns false, having taken nothing, if `abort`
    /// becomes true while waiting.
    pub(crate) fn acquire(&self, n: usize, abort: &AtomicBool) -> bool {
        let n = n.min(self.limit);
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used + n > self.limit {
            if abort.load(Ordering::Relaxed) {
                return false;
            }
            // A timeout so that an abort is noticed without a notification.
            used = self
                .freed
                .wait_timeout(used, Duration::from_millis(20))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *used += n;
        self.peak.fetch_max(*used, Ordering::Relaxed);
        true
    }

    /// Gives back `n` records' worth.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        *used = used.saturating_sub(n);
        self.freed.notify_all();
    }

    /// Records currently held.
    pub(crate) fn used(&self) -> usize {
        *self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most records ever held at once.
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn acquire_waits_for_release_and_can_be_aborted() {
        let budget = Arc::new(Budget::new(10));
        let no = AtomicBool::new(false);
        assert!(budget.acquire(8, &no));
        let waiter = {
            let budget = budget.clone();
            std::thread::spawn(move || budget.acquire(5, &AtomicBool::new(false)))
        };
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(budget.used(), 8);
        budget.release(8);
        assert!(waiter.join().unwrap());
        assert_eq!(budget.used(), 5);
        assert!(!budget.acquire(6, &AtomicBool::new(true)));
        assert_eq!(budget.peak(), 8);
        assert_eq!(budget.limit(), 10);
    }
}
