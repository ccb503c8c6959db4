//! Repeated problem reports, aggregated: an input that rejects a million
//! records counts every one (its [`InputStats`](super::InputStats)), but
//! sends the listeners and logs only the first few of each batch one by one,
//! then one summary per batch with how many more there were.

use super::sync::lock;
use std::sync::Mutex;

/// Reports sent one by one per batch (between two cuts).
pub(crate) const REPORTS_PER_BATCH: u32 = 10;

/// Which reports of one input go out one by one, and how many were held
/// back since the last cut.
#[derive(Debug, Default)]
pub(crate) struct ReportLimiter {
    window: Mutex<Window>,
}

#[derive(Debug, Default)]
struct Window {
    sent: u32,
    held_back: u64,
    last: Option<String>,
}

impl ReportLimiter {
    /// Whether `message` goes out on its own; if not, it is counted (and kept
    /// as the last one) for the batch's summary.
    pub(crate) fn admit(&self, message: &str) -> bool {
        let mut w = lock(&self.window);
        if w.sent < REPORTS_PER_BATCH {
            w.sent += 1;
            return true;
        }
        w.held_back += 1;
        w.last = Some(message.to_owned());
        false
    }

    /// At a batch's cut: the summary of the reports held back since the
    /// previous cut, if any; the next batch starts a new window.
    pub(crate) fn roll(&self) -> Option<String> {
        let w = std::mem::take(&mut *lock(&self.window));
        (w.held_back > 0).then(|| {
            format!(
                "{} more problems in this batch were counted but not reported one by one (the first {REPORTS_PER_BATCH} were); the last: {}",
                w.held_back,
                w.last.unwrap_or_default()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_reports_of_a_batch_go_out_and_the_rest_are_summed_up() {
        let limiter = ReportLimiter::default();
        let admitted = (0..25).filter(|i| limiter.admit(&format!("bad line {i}"))).count();
        assert_eq!(admitted, 10);
        assert_eq!(
            limiter.roll().unwrap(),
            "15 more problems in this batch were counted but not reported one by one (the first 10 were); the last: bad line 24"
        );
        assert_eq!(limiter.roll(), None);
        assert!(limiter.admit("again"));
    }
}
