//! The cutting half of a Kafka direct stream: at each batch's cut it takes
//! every partition's end offset (as the [`Watcher`] last heard it) and
//! decides the range the batch reads (capped by the rate limits), on the
//! generator thread.

use super::client::MetadataClient;
use super::decode::Decode;
use super::offsets::{KafkaOffsets, OffsetRange, TopicPartition};
use super::options::{CommittedFallback, KafkaOptions, StartingOffsets};
use super::reader::KafkaReader;
use super::share::KafkaShare;
use super::watcher::{self, Snapshot, Watcher};
use crate::Time;
use crate::cluster::Share;
use crate::live::error::SourceError;
use crate::live::listener::PartitionProgress;
use crate::live::sources::{Cut, Source, SourceContext};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The longest wait between two attempts to reach a broker that went away.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub(crate) struct KafkaSource<T> {
    brokers: String,
    topics: Vec<String>,
    options: KafkaOptions,
    decode: Decode<T>,
    watcher: Option<Watcher>,
    /// Where each known partition's next batch starts.
    next: BTreeMap<TopicPartition, i64>,
    /// The offsets resolved at start (empty ranges), recorded in checkpoints:
    /// of every partition, also those other processes of a cluster read
    /// (only process 0's start is recorded).
    start: KafkaOffsets,
    ctx: Option<SourceContext>,
    /// While the broker is away: when to try again, and the wait after that.
    retry: Option<(Instant, Duration)>,
    /// On a cluster: this process's share (before start, without the
    /// topics' partition counts).
    cluster: Option<Share>,
    /// On a cluster: the partitions this process reads, once started.
    share: Option<KafkaShare>,
}

impl<T> KafkaSource<T> {
    pub(crate) fn new(brokers: String, topics: Vec<String>, options: KafkaOptions, decode: Decode<T>) -> Self {
        KafkaSource {
            brokers,
            topics,
            options,
            decode,
            watcher: None,
            next: BTreeMap::new(),
            start: KafkaOffsets::default(),
            ctx: None,
            retry: None,
            cluster: None,
            share: None,
        }
    }

    /// Reads only this process's share of the partitions on a cluster.
    pub(crate) fn share(&mut self, share: Option<Share>) {
        self.cluster = share;
    }

    /// Whether this process reads `tp`: always in one process; on a cluster,
    /// as [`KafkaShare::reads`] says.
    fn reads(&self, tp: &TopicPartition) -> bool {
        self.share.as_ref().is_none_or(|share| share.reads(tp))
    }

    /// Where each partition starts when there is no checkpoint, from the
    /// first offsets and ends in `first`.
    fn starting_offsets(&self, partitions: &[TopicPartition], first: &Snapshot) -> Result<Vec<i64>, SourceError> {
        let committed = match (&self.options.starting, self.options.group()) {
            (StartingOffsets::Committed { .. }, Some(group)) => Some(MetadataClient::committed(
                &self.brokers,
                &self.options,
                group,
                partitions,
            )?),
            (StartingOffsets::Committed { .. }, None) => {
                return Err("StartingOffsets::Committed needs KafkaOptions::group_id".into());
            }
            _ => None,
        };
        let mut offsets = Vec::with_capacity(partitions.len());
        for (i, tp) in partitions.iter().enumerate() {
            let low = first.starts.as_ref().and_then(|s| s.get(tp)).copied().unwrap_or(0);
            let high = first.ends.get(tp).copied().unwrap_or(low);
            let offset = match &self.options.starting {
                StartingOffsets::Earliest => low,
                StartingOffsets::Latest => high,
                StartingOffsets::Offsets(explicit) => match explicit.get(tp) {
                    Some(&o) if o < low || o > high => {
                        return Err(format!(
                            "starting offset {o} of {tp} is outside the offsets on the broker [{low}, {high}]"
                        )
                        .into());
                    }
                    Some(&o) => o,
                    None => low,
                },
                StartingOffsets::Committed { otherwise } => match committed.as_ref().and_then(|c| c[i]) {
                    Some(o) => o.clamp(low, high),
                    None if *otherwise == CommittedFallback::Latest => high,
                    None => low,
                },
            };
            offsets.push(offset);
        }
        Ok(offsets)
    }

    /// The most each partition may read in this batch (see [`caps`]).
    fn batch_caps(&self, lags: &[u64]) -> Option<Vec<i64>> {
        let ctx = self.ctx.as_ref()?;
        caps(
            lags,
            self.options.max_rate_per_partition,
            ctx.rate_limit(),
            ctx.batch_interval(),
        )
    }

    /// A cut that reads nothing: every partition stays where it is.
    fn idle_cut(&self) -> Cut<KafkaOffsets> {
        let ranges = self
            .next
            .iter()
            .map(|(tp, &at)| OffsetRange {
                partition: tp.clone(),
                from: at,
                until: at,
            })
            .collect();
        Cut::new(KafkaOffsets { ranges })
    }

    /// Takes what `snapshot` says about the partitions: new ones start at
    /// their first offset (everything in them is new to this job); offsets
    /// deleted before a batch read them are an error.
    fn check(&mut self, snapshot: &Snapshot) -> Result<(), SourceError> {
        let Some(starts) = &snapshot.starts else {
            return Ok(());
        };
        for (tp, &low) in starts {
            match self.next.get(tp) {
                None if !self.reads(tp) => {}
                None => {
                    tracing::info!(partition = %tp, offset = low, "new Kafka partition");
                    self.next.insert(tp.clone(), low);
                }
                Some(&from) if from < low => {
                    return Err(format!(
                        "offsets {from}..{low} of {tp} are no longer on the broker (deleted by retention?): \
                         they would be lost"
                    )
                    .into());
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The broker could not be reached: report it, read nothing, and try
    /// again after a growing wait.
    fn broker_trouble(&mut self, time: Time, message: String) -> Cut<KafkaOffsets> {
        let wait = self
            .retry
            .map_or(Duration::from_millis(100), |(_, w)| (w * 2).min(MAX_BACKOFF));
        if let Some(ctx) = &self.ctx {
            ctx.report_error(
                Some(time),
                format!("Kafka at {}: {message}; retrying in {wait:?}", self.brokers),
            );
        }
        self.retry = Some((Instant::now() + wait, wait));
        self.idle_cut()
    }
}

impl<T: Send + 'static> Source for KafkaSource<T> {
    type Item = T;
    type Positions = KafkaOffsets;
    type Reader = KafkaReader<T>;

    fn name(&self) -> String {
        format!("kafka {} {}", self.brokers, self.topics.join(","))
    }

    fn start(&mut self, ctx: &SourceContext) -> Result<KafkaReader<T>, SourceError> {
        if self.topics.is_empty() {
            return Err("a Kafka stream needs at least one topic".into());
        }
        if self.options.commit_offsets && self.options.group().is_none() {
            return Err("KafkaOptions::commit_offsets needs a group_id".into());
        }
        let client = MetadataClient::new(&self.brokers, &self.options)?;
        let mut partitions = client.all_partitions(&self.topics, self.options.wait_for_topics)?;
        let first = watcher::round(&client, &self.topics, &mut partitions, true)?;
        let offsets = self.starting_offsets(&partitions, &first)?;
        self.share = self.cluster.map(|share| KafkaShare::new(share, &partitions));
        self.next = partitions.iter().cloned().zip(offsets).collect();
        // Every partition's start is recorded: the processes that read the
        // others record nothing at start, and a cluster may be restored on
        // another number of processes.
        self.start = self.idle_cut().positions().clone();
        let next = std::mem::take(&mut self.next);
        self.next = next.into_iter().filter(|(tp, _)| self.reads(tp)).collect();
        self.ctx = Some(ctx.clone());
        // A round every quarter batch: a cut finds ends at most that old
        // when the broker answers at once.
        let pause = (ctx.batch_interval() / 4).clamp(Duration::from_millis(5), Duration::from_millis(250));
        let watcher = Watcher::start(client, self.topics.clone(), partitions, first, pause)
            .map_err(|e| format!("cannot start the thread that asks Kafka for offsets: {e}"))?;
        self.watcher = Some(watcher);
        KafkaReader::new(
            &self.brokers,
            &self.options,
            self.decode,
            ctx.clone(),
            self.share.clone(),
        )
    }

    fn start_positions(&self) -> Option<KafkaOffsets> {
        Some(self.start.clone())
    }

    fn resume(&mut self, recorded: &[KafkaOffsets]) -> Result<(), SourceError> {
        // Later batches supersede earlier ones; a partition only some of
        // them know keeps the newest position any of them gave it. On a
        // cluster, the records hold every process's partitions: this
        // process goes on with its own.
        for positions in recorded {
            for (tp, end) in positions.ends() {
                if self.reads(tp) {
                    self.next.insert(tp.clone(), end);
                }
            }
        }
        Ok(())
    }

    fn cut(&mut self, time: Time) -> Result<Cut<KafkaOffsets>, SourceError> {
        if let Some((at, _)) = self.retry
            && Instant::now() < at
        {
            return Ok(self.idle_cut());
        }
        let snapshot = match self.watcher.as_ref().and_then(Watcher::latest) {
            Some(Ok(snapshot)) => snapshot,
            Some(Err(message)) => return Ok(self.broker_trouble(time, message)),
            None => return Ok(self.idle_cut()),
        };
        if self.retry.take().is_some() {
            tracing::info!(brokers = %self.brokers, "Kafka reachable again");
        }
        self.check(&snapshot)?;
        // A partition the snapshot does not know yet reads nothing.
        let ends: Vec<i64> = self
            .next
            .iter()
            .map(|(tp, &from)| snapshot.ends.get(tp).copied().unwrap_or(from))
            .collect();
        for ((tp, &from), &high) in self.next.iter().zip(&ends) {
            if high < from {
                return Err(
                    format!("the end offset of {tp} went back from {from} to {high}: the broker lost records").into(),
                );
            }
        }
        let lags: Vec<u64> = self
            .next
            .values()
            .zip(&ends)
            .map(|(&from, &high)| (high - from) as u64)
            .collect();
        let caps = self.batch_caps(&lags);
        let mut ranges = Vec::with_capacity(self.next.len());
        let mut progress = Vec::with_capacity(self.next.len());
        for (i, ((tp, from), &high)) in self.next.iter_mut().zip(&ends).enumerate() {
            let until = caps.as_ref().map_or(high, |caps| high.min(*from + caps[i]));
            progress.push(PartitionProgress {
                partition: tp.to_string(),
                from_offset: *from,
                until_offset: until,
                lag: (high - until) as u64,
            });
            ranges.push(OffsetRange {
                partition: tp.clone(),
                from: *from,
                until,
            });
            *from = until;
        }
        Ok(Cut::new(KafkaOffsets { ranges }).with_progress(progress))
    }
}

/// The most each partition may read in one batch of `interval`, as Spark
/// computes it: the input's rate (`estimated`, from backpressure and the
/// input's maximum) shared out by lag, capped by the per-partition maximum
/// (0: none), and at least one offset; `None` when nothing limits the batch.
fn caps(lags: &[u64], per_partition: f64, estimated: Option<f64>, interval: Duration) -> Option<Vec<i64>> {
    if per_partition <= 0.0 && estimated.is_none() {
        return None;
    }
    let total_lag: u64 = lags.iter().sum();
    let seconds = interval.as_secs_f64();
    Some(
        lags.iter()
            .map(|&lag| {
                let share = match estimated {
                    Some(rate) if total_lag > 0 => rate * lag as f64 / total_lag as f64,
                    Some(rate) => rate / lags.len().max(1) as f64,
                    None => f64::INFINITY,
                };
                let rate = if per_partition > 0.0 {
                    share.min(per_partition)
                } else {
                    share
                };
                ((rate * seconds) as i64).max(1)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::caps;
    use std::time::Duration;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn without_limits_a_batch_reads_everything() {
        assert_eq!(caps(&[10, 20], 0.0, None, SECOND), None);
    }

    #[test]
    fn the_per_partition_maximum_caps_each_partition() {
        // 50 records/s for 200 ms: 10 per partition.
        assert_eq!(
            caps(&[100, 3], 50.0, None, Duration::from_millis(200)),
            Some(vec![10, 10])
        );
    }

    #[test]
    fn backpressure_shares_its_rate_by_lag_and_the_maximum_still_caps() {
        assert_eq!(caps(&[300, 100], 0.0, Some(1000.0), SECOND), Some(vec![750, 250]));
        assert_eq!(caps(&[300, 100], 500.0, Some(1000.0), SECOND), Some(vec![500, 250]));
        // No lag anywhere: an even share.
        assert_eq!(caps(&[0, 0], 0.0, Some(1000.0), SECOND), Some(vec![500, 500]));
    }

    #[test]
    fn a_waiting_partition_may_always_read_one_offset() {
        assert_eq!(
            caps(&[1_000_000, 1], 0.0, Some(10.0), Duration::from_millis(100)),
            Some(vec![1, 1])
        );
    }
}
