//! Locking for the live threads: every critical section in `live/` leaves its
//! data consistent, so a panic on another thread (a user's receiver, sink or
//! listener) must not make a lock unusable.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, even if a thread panicked while holding it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
