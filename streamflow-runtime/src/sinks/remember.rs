//! [`remember`]: an output port's recent batches, kept for a duration and
//! read between two times (Spark's `StreamingContext.remember(duration)` and
//! `DStream.slice(fromTime, toTime)`).

use super::{Sink, SinkError, lock};
use crate::{Batch, Time};
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Keeps the batches of the output port it is bound to for `duration`: after
/// the batch of time `t` is written, the batches of times in
/// `(t − duration, t]` are kept and older ones forgotten (as Spark forgets a
/// stream's RDDs older than its remember duration). Returns the sink to bind
/// and the handle to read it, from any thread, while the job runs or after.
///
/// ```
/// use std::time::Duration;
/// use streamflow::sinks::{self, Sink};
/// use streamflow::{Batch, Time};
///
/// let (mut sink, recent) = sinks::remember::<u32>(Duration::from_secs(3));
/// for s in 1..=5 {
///     sink.write(Time::from_secs(s), &Batch::from_vec(vec![s as u32])).unwrap();
/// }
/// // Batches 3, 4 and 5 are remembered; 1 and 2 are forgotten.
/// let slice = recent.slice(Time::from_secs(4), Time::from_secs(5)).unwrap();
/// assert_eq!(slice.iter().map(|(t, b)| (t.as_millis(), b.to_vec())).collect::<Vec<_>>(),
///            [(4000, vec![4]), (5000, vec![5])]);
/// assert!(recent.slice(Time::from_secs(2), Time::from_secs(5)).is_err());
/// ```
pub fn remember<T: Clone + Send + 'static>(duration: Duration) -> (RememberSink<T>, Remembered<T>) {
    let remembered = Remembered {
        shared: Arc::new(Mutex::new(Kept {
            duration,
            batches: VecDeque::new(),
            forgotten_through: None,
        })),
    };
    (
        RememberSink {
            remembered: remembered.clone(),
        },
        remembered,
    )
}

struct Kept<T> {
    duration: Duration,
    /// In time order.
    batches: VecDeque<(Time, Batch<T>)>,
    /// The time of the last batch forgotten, if any was.
    forgotten_through: Option<Time>,
}

/// The sink made by [`remember`].
pub struct RememberSink<T> {
    remembered: Remembered<T>,
}

impl<T: Clone + Send + 'static> Sink<T> for RememberSink<T> {
    fn name(&self) -> String {
        let duration = lock(&self.remembered.shared).duration;
        format!("remember {} ms", duration.as_millis())
    }

    fn write(&mut self, time: Time, batch: &Batch<T>) -> Result<(), SinkError> {
        let mut kept = lock(&self.remembered.shared);
        kept.batches.push_back((time, batch.clone()));
        let window = kept.duration.as_millis().min(u64::MAX as u128) as u64;
        let oldest_kept = time.as_millis().saturating_sub(window);
        while let Some(&(first, _)) = kept.batches.front()
            && (first.as_millis() <= oldest_kept && first < time)
        {
            kept.batches.pop_front();
            kept.forgotten_through = Some(first);
        }
        Ok(())
    }
}

/// The batches a [`remember`] sink keeps. Clones read the same batches.
pub struct Remembered<T> {
    shared: Arc<Mutex<Kept<T>>>,
}

impl<T> Clone for Remembered<T> {
    fn clone(&self) -> Self {
        Remembered {
            shared: self.shared.clone(),
        }
    }
}

/// [`Remembered::slice`] was asked for times whose batches are forgotten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forgotten {
    /// The start of the slice asked for.
    pub from: Time,
    /// The time of the last batch forgotten: a slice must start after it.
    pub forgotten_through: Time,
}

impl fmt::Display for Forgotten {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the batches from {} are not all remembered: those up to {} were forgotten; \
             remember the stream longer, or slice from a later time",
            self.from, self.forgotten_through
        )
    }
}

impl std::error::Error for Forgotten {}

impl<T: Clone> Remembered<T> {
    /// The remembered batches of times `from` to `to`, both included, in time
    /// order (Spark's `slice`). An error if batches of that span were
    /// already forgotten, so that a slice is never silently short.
    pub fn slice(&self, from: Time, to: Time) -> Result<Vec<(Time, Batch<T>)>, Forgotten> {
        let kept = lock(&self.shared);
        if let Some(forgotten_through) = kept.forgotten_through
            && from <= forgotten_through
        {
            return Err(Forgotten {
                from,
                forgotten_through,
            });
        }
        Ok(kept
            .batches
            .iter()
            .filter(|(time, _)| from <= *time && *time <= to)
            .cloned()
            .collect())
    }

    /// Every remembered batch, in time order.
    pub fn batches(&self) -> Vec<(Time, Batch<T>)> {
        lock(&self.shared).batches.iter().cloned().collect()
    }

    /// The time of the last batch forgotten, if any was: slices must start
    /// after it.
    pub fn forgotten_through(&self) -> Option<Time> {
        lock(&self.shared).forgotten_through
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times<T>(batches: &[(Time, Batch<T>)]) -> Vec<u64> {
        batches.iter().map(|(t, _)| t.as_millis()).collect()
    }

    #[test]
    fn keeps_the_duration_before_the_last_batch_and_slices_both_ends_included() {
        let (mut sink, recent) = remember::<i32>(Duration::from_millis(2500));
        assert_eq!(recent.slice(Time::ZERO, Time::from_secs(9)).unwrap().len(), 0);
        for s in 1..=6 {
            let batch = Batch::from_partitions(vec![vec![s as i32], vec![-(s as i32)]]);
            sink.write(Time::from_secs(s), &batch).unwrap();
        }
        // (6000 − 2500, 6000]: 4000, 5000, 6000.
        assert_eq!(times(&recent.batches()), [4000, 5000, 6000]);
        assert_eq!(recent.forgotten_through(), Some(Time::from_secs(3)));
        let slice = recent.slice(Time::from_secs(4), Time::from_secs(5)).unwrap();
        assert_eq!(times(&slice), [4000, 5000]);
        assert_eq!(slice[1].1.partitions(), &[vec![5], vec![-5]], "partitions are kept");
        assert_eq!(
            times(&recent.slice(Time::from_millis(3001), Time::from_secs(60)).unwrap()),
            [4000, 5000, 6000]
        );
        assert!(recent.slice(Time::from_secs(6), Time::from_secs(5)).unwrap().is_empty());
        let error = recent.slice(Time::from_secs(3), Time::from_secs(6)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the batches from 3000 ms are not all remembered: those up to 3000 ms were forgotten; \
             remember the stream longer, or slice from a later time"
        );
    }

    #[test]
    fn a_zero_duration_keeps_the_last_batch_only() {
        let (mut sink, recent) = remember::<u8>(Duration::ZERO);
        sink.write(Time::from_secs(1), &Batch::from_vec(vec![1])).unwrap();
        sink.write(Time::from_secs(2), &Batch::from_vec(vec![2])).unwrap();
        assert_eq!(times(&recent.batches()), [2000]);
        assert_eq!(Sink::<u8>::name(&sink), "remember 0 ms");
    }
}
