//! The bound on buffered data: receivers take from a shared budget, in
//! records and in bytes, before storing, and the driver gives it back once a
//! batch has been processed. When either is spent, receivers wait (and, for
//! a socket, stop reading, so that TCP pushes back on the sender) instead of
//! growing memory. Bytes are estimated per record with [`ByteSize`].

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// An estimate of the memory a record holds, heap included: what the bound
/// on buffered bytes
/// ([`StreamingContext::max_buffered_bytes`](super::StreamingContext::max_buffered_bytes))
/// counts. Implemented for strings, byte vectors, numbers, options, tuples
/// and vectors of these; a [`Receiver`](super::Receiver) of another type
/// says its records' size with
/// [`Receiver::record_bytes`](super::Receiver::record_bytes) (by default,
/// only their inline size, `size_of`).
pub trait ByteSize {
    /// The bytes the value holds, its own inline size included.
    fn byte_size(&self) -> usize;
}

macro_rules! inline_size {
    ($($t:ty),*) => {$(
        impl ByteSize for $t {
            fn byte_size(&self) -> usize {
                std::mem::size_of::<$t>()
            }
        }
    )*};
}

inline_size!(
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    ()
);

impl ByteSize for String {
    fn byte_size(&self) -> usize {
        std::mem::size_of::<String>() + self.capacity()
    }
}

impl<T: ByteSize> ByteSize for Vec<T> {
    fn byte_size(&self) -> usize {
        std::mem::size_of::<Vec<T>>()
            + (self.capacity() - self.len()) * std::mem::size_of::<T>()
            + self.iter().map(ByteSize::byte_size).sum::<usize>()
    }
}

impl<T: ByteSize> ByteSize for Option<T> {
    fn byte_size(&self) -> usize {
        // The value's inline size is part of the option's.
        let heap = self
            .as_ref()
            .map_or(0, |x| x.byte_size().saturating_sub(std::mem::size_of::<T>()));
        std::mem::size_of::<Option<T>>() + heap
    }
}

macro_rules! tuple_size {
    ($($name:ident),+) => {
        impl<$($name: ByteSize),+> ByteSize for ($($name,)+) {
            #[allow(non_snake_case)]
            fn byte_size(&self) -> usize {
                let ($($name,)+) = self;
                // Padding is not counted: an estimate, never less than the parts.
                0 $(+ $name.byte_size())+
            }
        }
    };
}

tuple_size!(A, B);
tuple_size!(A, B, C);
tuple_size!(A, B, C, D);

/// An amount held against the bound: records and their estimated bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) records: usize,
    pub(crate) bytes: usize,
}

impl std::ops::Add for Held {
    type Output = Held;
    fn add(self, other: Held) -> Held {
        Held {
            records: self.records + other.records,
            bytes: self.bytes + other.bytes,
        }
    }
}

impl std::iter::Sum for Held {
    fn sum<I: Iterator<Item = Held>>(iter: I) -> Held {
        iter.fold(Held::default(), |a, b| a + b)
    }
}

/// Records and bytes stored by receivers and not yet processed, with hard
/// limits.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: Held,
    used: Mutex<Held>,
    freed: Condvar,
    peak_records: AtomicUsize,
    peak_bytes: AtomicUsize,
}

impl Budget {
    /// A budget of `records` records and `bytes` bytes.
    pub(crate) fn new(records: usize, bytes: usize) -> Self {
        Budget {
            limit: Held {
                records: records.max(1),
                bytes: bytes.max(1),
            },
            used: Mutex::new(Held::default()),
            freed: Condvar::new(),
            peak_records: AtomicUsize::new(0),
            peak_bytes: AtomicUsize::new(0),
        }
    }

    /// The limits; callers take at most this much at once.
    pub(crate) fn limit(&self) -> Held {
        self.limit
    }

    /// Takes `want` (each part at most its limit: a single record larger
    /// than the whole byte bound is taken alone, as the whole bound),
    /// waiting while that would exceed a limit. Returns what it took, or
    /// `None`, having taken nothing, if `abort` becomes true while waiting.
    pub(crate) fn acquire(&self, want: Held, abort: &AtomicBool) -> Option<Held> {
        let n = Held {
            records: want.records.min(self.limit.records),
            bytes: want.bytes.min(self.limit.bytes),
        };
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while used.records + n.records > self.limit.records || used.bytes + n.bytes > self.limit.bytes {
            if abort.load(Ordering::Relaxed) {
                return None;
            }
            // A timeout so that an abort is noticed without a notification.
            used = self
                .freed
                .wait_timeout(used, Duration::from_millis(20))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *used = *used + n;
        self.peak_records.fetch_max(used.records, Ordering::Relaxed);
        self.peak_bytes.fetch_max(used.bytes, Ordering::Relaxed);
        Some(n)
    }

    /// Gives back what [`acquire`](Self::acquire) took.
    pub(crate) fn release(&self, n: Held) {
        if n == Held::default() {
            return;
        }
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        used.records = used.records.saturating_sub(n.records);
        used.bytes = used.bytes.saturating_sub(n.bytes);
        self.freed.notify_all();
    }

    /// What is currently held.
    pub(crate) fn used(&self) -> Held {
        *self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most ever held at once, in records and in bytes (each its own
    /// maximum).
    pub(crate) fn peak(&self) -> Held {
        Held {
            records: self.peak_records.load(Ordering::Relaxed),
            bytes: self.peak_bytes.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn held(records: usize, bytes: usize) -> Held {
        Held { records, bytes }
    }

    #[test]
    fn acquire_waits_for_release_and_can_be_aborted() {
        let budget = Arc::new(Budget::new(10, 1000));
        let no = AtomicBool::new(false);
        assert_eq!(budget.acquire(held(8, 10), &no), Some(held(8, 10)));
        let waiter = {
            let budget = budget.clone();
            std::thread::spawn(move || budget.acquire(held(5, 10), &AtomicBool::new(false)))
        };
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(budget.used(), held(8, 10));
        budget.release(held(8, 10));
        assert_eq!(waiter.join().unwrap(), Some(held(5, 10)));
        assert_eq!(budget.used(), held(5, 10));
        assert_eq!(budget.acquire(held(6, 1), &AtomicBool::new(true)), None);
        assert_eq!(budget.peak(), held(8, 10));
        assert_eq!(budget.limit(), held(10, 1000));
    }

    #[test]
    fn bytes_bound_as_well_as_records() {
        let budget = Budget::new(1_000_000, 100);
        let no = AtomicBool::new(false);
        assert!(budget.acquire(held(1, 60), &no).is_some());
        // 60 + 60 bytes would pass the bound: it waits until aborted.
        assert_eq!(budget.acquire(held(1, 60), &AtomicBool::new(true)), None);
        budget.release(held(1, 60));
        // A record larger than the whole bound is taken alone, as the bound.
        assert_eq!(budget.acquire(held(1, 5000), &no), Some(held(1, 100)));
        assert_eq!(budget.peak(), held(1, 100));
    }

    #[test]
    fn sizes_count_the_heap() {
        let line = String::from("hello");
        assert_eq!(line.byte_size(), std::mem::size_of::<String>() + line.capacity());
        assert_eq!(7u32.byte_size(), 4);
        let pair = (String::from("ab"), 1u64);
        assert_eq!(pair.byte_size(), pair.0.byte_size() + 8);
        let bytes: Vec<u8> = Vec::with_capacity(100);
        assert_eq!(bytes.byte_size(), std::mem::size_of::<Vec<u8>>() + 100);
    }
}
