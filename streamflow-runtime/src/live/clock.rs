//! Clocks that drive the scheduler: the system clock for live jobs, a manual
//! clock for tests (a test advances it, so batch boundaries are exact).

use std::sync::{Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of time for the scheduler: durations since the clock's origin,
/// the Unix epoch for the [`SystemClock`], 0 for a new [`ManualClock`]. A
/// job's zero time is the clock's time at start rounded down to a multiple
/// of the batch interval, and batch `k` is at `zero + k·d`: on the system
/// clock, batch times are epoch milliseconds that never repeat across runs.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Duration;

    /// Blocks until [`now`](Self::now) reaches `target` or until `timeout` of
    /// real time has passed, whichever comes first. The scheduler calls it in a
    /// loop, so returning early is harmless.
    fn wait_until(&self, target: Duration, timeout: Duration);
}

/// The real clock: wall-clock time since the Unix epoch, as Spark's batch
/// times are. (A wall clock set back while a job runs delays its next batch
/// until the clock catches up; batch times never go backwards.)
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    _private: (),
}

impl SystemClock {
    /// The system's clock.
    pub fn new() -> Self {
        SystemClock { _private: () }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        // A clock before 1970 reads as the epoch itself.
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
    }

    fn wait_until(&self, target: Duration, timeout: Duration) {
        let now = self.now();
        if target > now {
            std::thread::sleep((target - now).min(timeout));
        }
    }
}

/// A clock that moves only when told to, like Spark's `ManualClock`: a test
/// stores data, waits until the receivers have it, then advances the clock by
/// one batch interval to cut exactly one batch. Share it with `Arc`.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: Mutex<Duration>,
    moved: Condvar,
}

impl ManualClock {
    /// A manual clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += d;
        self.moved.notify_all();
    }

    /// Sets the clock to `t` (ignored if `t` is in the clock's past: time
    /// never goes backwards).
    pub fn set(&self, t: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        if t > *now {
            *now = t;
            self.moved.notify_all();
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait_until(&self, target: Duration, timeout: Duration) {
        let now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        // A spurious wake-up or a timeout just returns: the caller loops.
        let _ = self.moved.wait_timeout_while(now, timeout, |now| *now < target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_manual_clock_wakes_its_waiters() {
        let clock = Arc::new(ManualClock::new());
        let waiter = {
            let clock = clock.clone();
            std::thread::spawn(move || {
                while clock.now() < Duration::from_secs(1) {
                    clock.wait_until(Duration::from_secs(1), Duration::from_secs(10));
                }
            })
        };
        clock.advance(Duration::from_millis(400));
        clock.set(Duration::from_millis(100));
        assert_eq!(clock.now(), Duration::from_millis(400));
        clock.set(Duration::from_secs(1));
        waiter.join().unwrap();
    }

    #[test]
    fn the_system_clock_reads_wall_clock_time() {
        let epoch_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
        let now = SystemClock::new().now().as_millis();
        assert!(now.abs_diff(epoch_ms) < 5_000, "{now} vs {epoch_ms}");
    }

    #[test]
    fn the_system_clock_moves() {
        let clock = SystemClock::new();
        let t = clock.now();
        clock.wait_until(t + Duration::from_millis(5), Duration::from_secs(1));
        assert!(clock.now() >= t + Duration::from_millis(5));
    }
}
