//! Numbers drawn from the history: the four metrics of Spark's Streaming tab
//! per batch, their summaries, each stage's recent time, and the verdict on
//! whether the job keeps up.

use super::history::CompletedBatch;
use super::svg::num;
use std::time::Duration;

/// Batches the verdict and the stages' recent times look at.
pub(super) const RECENT: usize = 10;

/// One of the plotted metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Metric {
    InputRate,
    SchedulingDelay,
    ProcessingTime,
    TotalDelay,
}

impl Metric {
    pub(super) const ALL: [Metric; 4] = [
        Metric::InputRate,
        Metric::SchedulingDelay,
        Metric::ProcessingTime,
        Metric::TotalDelay,
    ];

    /// The id used in element attributes and JSON.
    pub(super) fn id(self) -> &'static str {
        match self {
            Metric::InputRate => "input-rate",
            Metric::SchedulingDelay => "scheduling-delay",
            Metric::ProcessingTime => "processing-time",
            Metric::TotalDelay => "total-delay",
        }
    }

    pub(super) fn title(self) -> &'static str {
        match self {
            Metric::InputRate => "Input rate",
            Metric::SchedulingDelay => "Scheduling delay",
            Metric::ProcessingTime => "Processing time",
            Metric::TotalDelay => "Total delay",
        }
    }

    pub(super) fn unit(self) -> &'static str {
        match self {
            Metric::InputRate => "records/s",
            _ => "ms",
        }
    }

    /// The metric's value for one batch, if known.
    pub(super) fn value(self, batch: &CompletedBatch, interval: Duration) -> Option<f64> {
        let info = &batch.info;
        match self {
            Metric::InputRate => Some(rate(info.records(), interval)),
            Metric::SchedulingDelay => info.scheduling_delay.map(ms),
            Metric::ProcessingTime => info.processing_time.map(ms),
            Metric::TotalDelay => info.total_delay.map(ms),
        }
    }
}

/// A duration in milliseconds.
pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Records per second of a batch of `records` over `interval`.
pub(super) fn rate(records: usize, interval: Duration) -> f64 {
    records as f64 / interval.as_secs_f64().max(1e-9)
}

/// Mean and maximum of some values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Summary {
    pub(super) mean: f64,
    pub(super) max: f64,
}

pub(super) fn summary(values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    Some(Summary { mean, max })
}

/// The mean time of each stage over the last [`RECENT`] batches that
/// recorded stage times (index = stage id − 1).
pub(super) fn recent_stage_times<'a>(
    batches: impl DoubleEndedIterator<Item = &'a CompletedBatch>,
    stages: usize,
) -> Vec<Option<f64>> {
    let mut sums = vec![0.0; stages];
    let mut counts = vec![0usize; stages];
    for batch in batches.rev().filter(|b| !b.info.stage_times.is_empty()).take(RECENT) {
        for (i, t) in batch.info.stage_times.iter().enumerate().take(stages) {
            sums[i] += ms(*t);
            counts[i] += 1;
        }
    }
    sums.iter()
        .zip(&counts)
        .map(|(s, &n)| (n > 0).then(|| s / n as f64))
        .collect()
}

/// Whether the job keeps up with its input.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Verdict {
    /// No batch has completed yet.
    Unknown,
    Stable(String),
    Unstable(String),
}

impl Verdict {
    /// `"stable"`, `"unstable"` or `"unknown"`.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Verdict::Unknown => "unknown",
            Verdict::Stable(_) => "stable",
            Verdict::Unstable(_) => "unstable",
        }
    }

    pub(super) fn text(&self) -> &str {
        match self {
            Verdict::Unknown => "no batch has completed yet",
            Verdict::Stable(text) | Verdict::Unstable(text) => text,
        }
    }
}

/// Spark's rule of thumb over the last [`RECENT`] batches: a job is stable
/// when its batches take less than the batch interval and the scheduling
/// delay does not keep growing.
pub(super) fn verdict<'a>(batches: impl DoubleEndedIterator<Item = &'a CompletedBatch>, interval: Duration) -> Verdict {
    let recent: Vec<&CompletedBatch> = batches.rev().take(RECENT).collect();
    let processing: Vec<f64> = recent.iter().filter_map(|b| b.info.processing_time.map(ms)).collect();
    let Some(processing) = summary(&processing) else {
        return Verdict::Unknown;
    };
    let interval_ms = ms(interval);
    // Oldest first.
    let delays: Vec<f64> = recent
        .iter()
        .rev()
        .filter_map(|b| b.info.scheduling_delay.map(ms))
        .collect();
    let (first, last) = (
        delays.first().copied().unwrap_or(0.0),
        delays.last().copied().unwrap_or(0.0),
    );
    if processing.mean > interval_ms {
        return Verdict::Unstable(format!(
            "batches take {} ms on average, longer than the batch interval of {} ms: \
             batches queue up and the delay keeps growing",
            num(processing.mean),
            num(interval_ms)
        ));
    }
    let growing = delays.len() >= 3 && delays.windows(2).all(|w| w[1] >= w[0]);
    if growing && last > interval_ms && last > first {
        return Verdict::Unstable(format!(
            "the scheduling delay keeps growing ({} ms to {} ms over the last {} batches)",
            num(first),
            num(last),
            delays.len()
        ));
    }
    Verdict::Stable(format!(
        "batches take {} ms on average, within the batch interval of {} ms; \
         last scheduling delay {} ms",
        num(processing.mean),
        num(interval_ms),
        num(last)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Time;
    use crate::live::listener::BatchInfo;

    pub(crate) fn completed(ms_time: u64, records: usize, delay: u64, processing: u64) -> CompletedBatch {
        CompletedBatch {
            info: BatchInfo {
                time: Time::from_millis(ms_time),
                input_records: vec![("lines", records)],
                submitted_at: std::time::SystemTime::UNIX_EPOCH,
                scheduling_delay: Some(Duration::from_millis(delay)),
                processing_time: Some(Duration::from_millis(processing)),
                total_delay: Some(Duration::from_millis(delay + processing)),
                stage_times: vec![
                    Duration::from_millis(processing / 2),
                    Duration::from_millis(processing / 4),
                ],
                failure: None,
                input_progress: Vec::new(),
            },
            outputs: vec![],
        }
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn fast_batches_are_stable() {
        let batches: Vec<_> = (1..=5).map(|i| completed(i * 1000, 100, 2, 40)).collect();
        let v = verdict(batches.iter(), SECOND);
        assert_eq!(v.name(), "stable");
        assert_eq!(
            v.text(),
            "batches take 40 ms on average, within the batch interval of 1000 ms; last scheduling delay 2 ms"
        );
        assert_eq!(verdict([].iter(), SECOND), Verdict::Unknown);
    }

    #[test]
    fn slow_batches_and_growing_delays_are_unstable() {
        let slow: Vec<_> = (1..=5).map(|i| completed(i * 1000, 100, 0, 1500)).collect();
        assert_eq!(
            verdict(slow.iter(), SECOND).text(),
            "batches take 1500 ms on average, longer than the batch interval of 1000 ms: \
             batches queue up and the delay keeps growing"
        );
        let growing: Vec<_> = (1..=4).map(|i| completed(i * 1000, 100, i * 600, 900)).collect();
        assert_eq!(
            verdict(growing.iter(), SECOND).text(),
            "the scheduling delay keeps growing (600 ms to 2400 ms over the last 4 batches)"
        );
    }

    #[test]
    fn stage_times_are_averaged_over_recent_batches() {
        let batches: Vec<_> = (1..=20).map(|i| completed(i * 1000, 1, 0, i * 4)).collect();
        // The last 10 batches: processing 44..=80 ms step 4, stage 1 half of it.
        let times = recent_stage_times(batches.iter(), 3);
        assert_eq!(times, vec![Some(31.0), Some(15.5), None]);
    }
}
