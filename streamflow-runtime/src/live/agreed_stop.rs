//! Stopping a job on a cluster: a stop asked of any process (its handle, a
//! signal, a listener's `StopHandle`) is carried out by every process after
//! the same batch, so that no process waits in an exchange for one that has
//! gone. Timely is fail-stop: a process that stopped alone failed the others
//! with "lost the mesh".
//!
//! The protocol, on the driver threads, after each batch:
//! 1. A stop asked here is only noted ([`AgreedStop::want`]). Each process
//!    sends its wish with the value it shares at the batch's end (the two top
//!    bits, see [`with_wish`]), so every process sees every wish after the
//!    same batch.
//! 2. An immediate wish wins: every process stops at once after this batch,
//!    dropping its queued batches, as an immediate stop does.
//! 3. A graceful one: each process holds its generator and shares the newest
//!    batch time it cut; the last batch is one interval after the newest of
//!    them. Every generator cuts up to that batch and no further (the last
//!    one after the receivers stopped, so it takes what they held), and
//!    every driver runs them all: the processes run the same batches.
//!
//! An immediate stop that finds no batch end to agree on in time (no batch
//! comes: a manual clock that no one moves) stops this process alone
//! ([`AgreedStop::overdue`]); the others stop at their next batch, cleanly
//! if they were asked too.

use super::sync::lock;
use crate::Time;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// No stop asked for.
pub(super) const NONE: u8 = 0;
/// A graceful stop asked for.
pub(super) const GRACEFUL: u8 = 1;
/// An immediate stop asked for (it wins over a graceful one).
pub(super) const IMMEDIATE: u8 = 2;

/// The bits of a shared batch-end value that carry a wish.
const WISH_SHIFT: u32 = 62;
/// The bits that carry the value itself.
pub(super) const VALUE_MASK: u64 = (1 << WISH_SHIFT) - 1;

/// `value` (below [`VALUE_MASK`]) with this process's wish on top.
pub(super) fn with_wish(value: u64, wish: u8) -> u64 {
    (value & VALUE_MASK) | (u64::from(wish) << WISH_SHIFT)
}

/// Every process's value without its wish, and the strongest wish.
pub(super) fn split_wishes(shared: Vec<u64>) -> (Vec<u64>, u8) {
    let wish = shared.iter().map(|v| (v >> WISH_SHIFT) as u8).max().unwrap_or(NONE);
    (shared.into_iter().map(|v| v & VALUE_MASK).collect(), wish)
}

/// This process's side of the protocol, shared by whoever asks for a stop,
/// the driver and the generator.
#[derive(Default)]
pub(super) struct AgreedStop {
    wish: AtomicU8,
    /// When an immediate stop was first asked for.
    immediate_since: Mutex<Option<Instant>>,
    cuts: Mutex<Cuts>,
    changed: Condvar,
}

#[derive(Default)]
struct Cuts {
    /// The newest batch time the generator cut.
    last: Option<Time>,
    /// The generator waits: a graceful stop is being agreed.
    held: bool,
    /// The last batch to cut, once agreed.
    through: Option<Time>,
}

/// The generator's leave to cut one batch: the cut is made while it is
/// held, so the driver never reads a newest cut that is about to change.
pub(super) struct CutPermit<'a> {
    cuts: MutexGuard<'a, Cuts>,
}

impl CutPermit<'_> {
    /// The batch at `time` was cut.
    pub(super) fn cut(mut self, time: Time) {
        self.cuts.last = Some(time);
    }
}

impl AgreedStop {
    /// Notes a stop asked of this process (an immediate one wins).
    pub(super) fn want(&self, graceful: bool) {
        if !graceful {
            lock(&self.immediate_since).get_or_insert_with(Instant::now);
        }
        self.wish
            .fetch_max(if graceful { GRACEFUL } else { IMMEDIATE }, Ordering::SeqCst);
    }

    /// Whether an immediate stop has waited `limit` for a batch end to
    /// agree on: the generator, which waits for that batch, then stops this
    /// process alone.
    pub(super) fn overdue(&self, limit: Duration) -> bool {
        lock(&self.immediate_since).is_some_and(|since| since.elapsed() >= limit)
    }

    /// Whether a stop was asked of this process.
    pub(super) fn is_wanted(&self) -> bool {
        self.wish() != NONE
    }

    /// What this process asks for now.
    pub(super) fn wish(&self) -> u8 {
        self.wish.load(Ordering::SeqCst)
    }

    /// Holds the generator and returns the newest batch time it cut (the
    /// batch being ended was cut, so there is one).
    pub(super) fn hold(&self, ending: Time) -> Time {
        let mut cuts = lock(&self.cuts);
        cuts.held = true;
        cuts.last.map_or(ending, |last| last.max(ending))
    }

    /// Sets the last batch to cut and lets the generator go on.
    pub(super) fn cut_through(&self, last: Time) {
        let mut cuts = lock(&self.cuts);
        cuts.through = Some(last);
        cuts.held = false;
        self.changed.notify_all();
    }

    /// The last batch to cut, once agreed.
    pub(super) fn through(&self) -> Option<Time> {
        lock(&self.cuts).through
    }

    /// On the generator, before it cuts the batch at `time`: waits while a
    /// stop is being agreed; `None` once `time` is past the agreed last batch.
    pub(super) fn permit(&self, time: Time) -> Option<CutPermit<'_>> {
        let mut cuts = lock(&self.cuts);
        while cuts.held {
            cuts = self
                .changed
                .wait_timeout(cuts, Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if cuts.through.is_some_and(|last| time > last) {
            return None;
        }
        Some(CutPermit { cuts })
    }

    /// Whether `time` is the agreed last batch: the generator cuts it only
    /// once the receivers have stopped, not by the clock.
    pub(super) fn is_last(&self, time: Time) -> bool {
        lock(&self.cuts).through == Some(time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wishes_ride_on_the_shared_values() {
        let shared = vec![with_wish(7, NONE), with_wish(VALUE_MASK, GRACEFUL), with_wish(0, NONE)];
        assert_eq!(split_wishes(shared), (vec![7, VALUE_MASK, 0], GRACEFUL));
        let shared = vec![with_wish(1, IMMEDIATE), with_wish(2, GRACEFUL)];
        assert_eq!(split_wishes(shared), (vec![1, 2], IMMEDIATE));
    }

    #[test]
    fn an_immediate_wish_wins_over_a_graceful_one() {
        let stop = AgreedStop::default();
        assert_eq!(stop.wish(), NONE);
        stop.want(true);
        assert_eq!(stop.wish(), GRACEFUL);
        stop.want(false);
        stop.want(true);
        assert_eq!(stop.wish(), IMMEDIATE);
    }

    #[test]
    fn only_an_immediate_stop_gets_overdue() {
        let stop = AgreedStop::default();
        stop.want(true);
        assert!(!stop.overdue(Duration::ZERO));
        stop.want(false);
        assert!(stop.overdue(Duration::ZERO));
        assert!(!stop.overdue(Duration::from_secs(60)));
    }

    #[test]
    fn the_generator_cuts_through_the_agreed_batch_and_no_further() {
        let stop = std::sync::Arc::new(AgreedStop::default());
        let ms = Time::from_millis;
        stop.permit(ms(100)).expect("no stop yet").cut(ms(100));
        assert_eq!(stop.hold(ms(100)), ms(100));
        // Held: the generator waits until the last batch is agreed.
        let generator = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let mut cut = Vec::new();
                for time in [200, 300, 400] {
                    match stop.permit(ms(time)) {
                        Some(permit) => {
                            permit.cut(ms(time));
                            cut.push(time);
                        }
                        None => break,
                    }
                }
                cut
            }
        });
        std::thread::sleep(Duration::from_millis(50));
        assert!(!generator.is_finished(), "the generator cut while held");
        stop.cut_through(ms(300));
        assert!(stop.is_last(ms(300)) && !stop.is_last(ms(200)));
        assert_eq!(generator.join().unwrap(), vec![200, 300]);
    }
}
