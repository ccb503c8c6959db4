//! Rate limiting of receivers and direct sources, and the PID rate estimator
//! behind backpressure.
//!
//! The estimator follows the control law of Spark Streaming's
//! `PIDRateEstimator`: after every batch, the rate the job can sustain is
//! estimated from how fast the last batch was processed, corrected by the
//! scheduling delay that has built up (the integral term: records waiting in
//! queued batches). Receivers then store at most that many records per second.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The gains, floors and starting rate of a [`PidRateEstimator`]. The gains
/// are Spark's; the floor relative to the measured capacity and the
/// starting rate are ours (Spark's absolute floor alone held a job that
/// could do 55 000 records/s at 100 records/s for 18 s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PidSettings {
    /// Weight of the current error (rate − processing rate). Spark: 1.0.
    pub proportional: f64,
    /// Weight of the accumulated error (the backlog shown by the scheduling
    /// delay). Spark: 0.2.
    pub integral: f64,
    /// Weight of the error's rate of change. Spark: 0.0.
    pub derivative: f64,
    /// The estimator never goes below this many records per second, so that a
    /// slowed-down receiver still makes progress. Spark: 100.
    pub min_rate: f64,
    /// Nor below this fraction of the rate the last batch was processed at
    /// (its measured capacity): a backlog drains at most this much slower
    /// than it could. Default 0.25.
    pub min_rate_fraction: f64,
    /// The rate receivers start at, before any batch was measured (Spark's
    /// `backpressure.initialRate`); 0 means unlimited. Default 10 000 records
    /// per second: the first batch then measures the job's capacity, and the
    /// rate follows from the second batch on.
    pub initial_rate: f64,
}

impl Default for PidSettings {
    fn default() -> Self {
        PidSettings {
            proportional: 1.0,
            integral: 0.2,
            derivative: 0.0,
            min_rate: 100.0,
            min_rate_fraction: 0.25,
            initial_rate: 10_000.0,
        }
    }
}

/// Estimates the ingestion rate (records per second) a job keeps up with,
/// from each completed batch's size, processing time and scheduling delay.
#[derive(Debug, Clone)]
pub struct PidRateEstimator {
    batch_interval_ms: f64,
    settings: PidSettings,
    first_run: bool,
    latest_time_ms: u64,
    latest_rate: f64,
    latest_error: f64,
}

impl PidRateEstimator {
    /// An estimator for a job with the given batch interval.
    pub fn new(batch_interval: Duration, settings: PidSettings) -> Self {
        PidRateEstimator {
            batch_interval_ms: (batch_interval.as_secs_f64() * 1000.0).max(1.0),
            settings,
            first_run: true,
            latest_time_ms: 0,
            latest_rate: -1.0,
            latest_error: -1.0,
        }
    }

    /// Feeds one completed batch: its time (ms), its number of records, how
    /// long it took to process and how long it waited. Returns a new rate, or
    /// `None` when there is nothing to learn from (an empty batch, a batch
    /// processed in no measurable time, an out-of-order batch). The first
    /// batch gives the rate it was processed at: the job's capacity.
    pub fn compute(
        &mut self,
        time_ms: u64,
        records: usize,
        processing: Duration,
        scheduling_delay: Duration,
    ) -> Option<f64> {
        let processing_ms = processing.as_secs_f64() * 1000.0;
        if time_ms <= self.latest_time_ms || records == 0 || processing_ms <= 0.0 {
            return None;
        }
        let since_update_s = (time_ms - self.latest_time_ms) as f64 / 1000.0;
        let processing_rate = records as f64 / processing_ms * 1000.0;
        // Positive when we ingest faster than we process.
        let error = self.latest_rate - processing_rate;
        // Records waiting because of the delay, spread over one interval.
        let scheduling_ms = scheduling_delay.as_secs_f64() * 1000.0;
        let historical_error = scheduling_ms * processing_rate / self.batch_interval_ms;
        let d_error = (error - self.latest_error) / since_update_s;
        let s = &self.settings;
        let floor = s.min_rate.max(s.min_rate_fraction * processing_rate);
        let new_rate =
            (self.latest_rate - s.proportional * error - s.integral * historical_error - s.derivative * d_error)
                .max(floor);
        self.latest_time_ms = time_ms;
        if self.first_run {
            self.latest_rate = processing_rate;
            self.latest_error = 0.0;
            self.first_run = false;
            Some(processing_rate.max(s.min_rate))
        } else {
            self.latest_rate = new_rate;
            self.latest_error = error;
            Some(new_rate)
        }
    }
}

/// Paces a receiver to at most a given number of records per second (a
/// smooth token bucket with one second of burst). The limit can change while
/// the receiver runs (backpressure lowers it); 0 means unlimited.
#[derive(Debug)]
pub struct RateLimiter {
    state: Mutex<Pacing>,
}

#[derive(Debug)]
struct Pacing {
    /// Records per second; `None` is unlimited.
    rate: Option<f64>,
    /// When the next record may be stored.
    next_free: Instant,
}

impl RateLimiter {
    /// A limiter at `records_per_second` (0 = unlimited).
    pub fn new(records_per_second: f64) -> Self {
        RateLimiter {
            state: Mutex::new(Pacing {
                rate: (records_per_second > 0.0).then_some(records_per_second),
                next_free: Instant::now(),
            }),
        }
    }

    /// Changes the limit (0 = unlimited).
    pub fn set_rate(&self, records_per_second: f64) {
        let mut s = self.lock();
        s.rate = (records_per_second > 0.0).then_some(records_per_second);
    }

    /// The current limit, if any.
    pub fn rate(&self) -> Option<f64> {
        self.lock().rate
    }

    /// Reserves `n` records and returns how long the caller must wait before
    /// storing them.
    pub fn reserve(&self, n: usize) -> Duration {
        let mut s = self.lock();
        let Some(rate) = s.rate else {
            return Duration::ZERO;
        };
        let now = Instant::now();
        // At most one second of unused allowance carries over (the burst).
        let earliest = now.checked_sub(Duration::from_secs(1)).unwrap_or(now);
        if s.next_free < earliest {
            s.next_free = earliest;
        }
        let wait = s.next_free.saturating_duration_since(now);
        s.next_free += Duration::from_secs_f64(n as f64 / rate);
        wait
    }

    /// Waits (in slices, so that a stop is noticed) until `n` more records may
    /// be stored. Returns false if `stopped` became true while waiting.
    pub fn acquire(&self, n: usize, stopped: &AtomicBool) -> bool {
        let mut wait = self.reserve(n);
        while !wait.is_zero() {
            if stopped.load(Ordering::Relaxed) {
                return false;
            }
            let slice = wait.min(Duration::from_millis(20));
            std::thread::sleep(slice);
            wait -= slice;
        }
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pacing> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What backpressure sets: the rate an input may read at.
pub(crate) trait RateControl: Send + Sync {
    /// Sets the rate backpressure estimated (capped by the configured maximum).
    fn set_rate(&self, records_per_second: f64);
    /// The current rate limit, if any.
    fn rate(&self) -> Option<f64>;
}

/// The rate of a direct source: its configured maximum, lowered by
/// backpressure; the source reads it at its cuts
/// ([`SourceContext::rate_limit`](crate::live::sources::SourceContext::rate_limit)).
#[derive(Debug, Default)]
pub(crate) struct SourceRate {
    max: f64,
    /// The estimated rate's bits; 0 while there is none.
    estimated: AtomicU64,
}

impl SourceRate {
    pub(crate) fn new(max: f64) -> Self {
        SourceRate {
            max,
            estimated: AtomicU64::new(0),
        }
    }

    /// The lower of the maximum and the estimate, if either is set.
    pub(crate) fn get(&self) -> Option<f64> {
        let estimated = f64::from_bits(self.estimated.load(Ordering::Relaxed));
        match (self.max > 0.0, estimated > 0.0) {
            (true, true) => Some(self.max.min(estimated)),
            (true, false) => Some(self.max),
            (false, true) => Some(estimated),
            (false, false) => None,
        }
    }
}

impl RateControl for SourceRate {
    fn set_rate(&self, records_per_second: f64) {
        self.estimated
            .store(records_per_second.max(0.0).to_bits(), Ordering::Relaxed);
    }

    fn rate(&self) -> Option<f64> {
        self.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_estimator_lowers_the_rate_when_processing_falls_behind() {
        let mut pid = PidRateEstimator::new(ms(100), PidSettings::default());
        // First batch: the rate it was processed at (10k records in 100 ms).
        assert_eq!(pid.compute(100, 10_000, ms(100), ms(0)), Some(100_000.0));
        // Empty batches and out-of-order batches teach nothing.
        assert_eq!(pid.compute(200, 0, ms(10), ms(0)), None);
        assert_eq!(pid.compute(100, 10, ms(10), ms(0)), None);
        // Now processing takes 200 ms for 10k records (50k/s) with delay.
        let rate = pid.compute(200, 10_000, ms(200), ms(100)).unwrap();
        // error = 100k − 50k; historical = 100 × 50k / 100 = 50k.
        assert!((rate - (100_000.0 - 50_000.0 - 0.2 * 50_000.0)).abs() < 1e-6);
        // It never goes under the floor: 100/s, and a quarter of what the
        // batch was processed at.
        let rate = pid.compute(300, 10, ms(10_000), ms(10_000)).unwrap();
        assert_eq!(rate, 100.0);
        let rate = pid.compute(400, 40_000, ms(100), ms(10_000)).unwrap();
        assert_eq!(rate, 100_000.0);
    }

    #[test]
    fn the_limiter_paces_and_can_be_unlimited() {
        let limiter = RateLimiter::new(0.0);
        assert_eq!(limiter.reserve(1_000_000), Duration::ZERO);
        limiter.set_rate(1000.0);
        assert_eq!(limiter.rate(), Some(1000.0));
        // A reservation is paid by the next caller: 2000 records at 1000/s
        // make the next one wait about two seconds.
        assert_eq!(limiter.reserve(2000), Duration::ZERO);
        let wait = limiter.reserve(1);
        assert!(wait > ms(1500) && wait <= ms(2000), "{wait:?}");
        let stopped = AtomicBool::new(true);
        assert!(!limiter.acquire(1, &stopped));
    }
}
