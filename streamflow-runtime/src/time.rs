//! Batch times: milliseconds since the job's zero time.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The time of a batch, in milliseconds after the job's zero time.
///
/// Batch `k` (k = 1, 2, ...) of a job with batch interval `d` has time `k·d`;
/// there is no batch at time 0. Displayed as Spark displays it: `1000 ms`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Time(u64);

impl Time {
    /// The zero time of a job; no batch has this time.
    pub const ZERO: Time = Time(0);

    /// A time `ms` milliseconds after the zero time.
    pub const fn from_millis(ms: u64) -> Time {
        Time(ms)
    }

    /// A time `s` seconds after the zero time.
    pub const fn from_secs(s: u64) -> Time {
        Time(s * 1000)
    }

    /// Milliseconds after the zero time.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This time plus `d` (saturating).
    pub fn plus(self, d: std::time::Duration) -> Time {
        Time(self.0.saturating_add(d.as_millis() as u64))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_spark() {
        assert_eq!(Time::from_secs(3).to_string(), "3000 ms");
        assert_eq!(
            Time::from_millis(250).plus(std::time::Duration::from_millis(500)),
            Time::from_millis(750)
        );
    }
}
