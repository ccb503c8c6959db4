//! Starting a job with checkpointing on: a fresh checkpoint, or recovery
//! from the one its directory holds.
//!
//! In two steps, because the sources start between them: [`open`] (before
//! the sources start) opens and locks the directory, checks that its
//! checkpoint belongs to this job and that the job's settings still fit it,
//! restores the job's state and decides the zero time; [`resume`] (after)
//! checks the inputs, tells every source where the previous run's cuts
//! ended, and queues the recorded batches after the restored state to run
//! again, with the inputs they recorded.
//!
//! On a cluster every process takes both steps: process 0 chooses the
//! snapshot and the last complete batch to resume from and tells the
//! others through the mesh, so no two processes resume different ones; each
//! restores the key groups it owns now from the parts that hold them, and
//! reads the positions every process recorded, cut down to its own share.

use super::checkpoint::{
    CheckpointDir, CheckpointError, CheckpointSettings, Checkpointer, Choice, InputRecordInfo, JobRecord, Part, Saved,
    default_interval,
};
use super::error::StartError;
use super::sources::{Delivery, Feed, Pending, combine, combines};
use crate::cluster::{Share, owner};
use crate::job::StateSnapshot;
use crate::{InputPartitions, Job, Time};
use std::path::PathBuf;
use std::time::Duration;

/// What a job recovered from, as [`StreamingHandle::recovery`](super::StreamingHandle::recovery)
/// reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryInfo {
    /// The checkpoint directory.
    pub dir: PathBuf,
    /// The batch time of the state snapshot restored (`None`: no snapshot
    /// had been taken yet; the state starts empty and every recorded batch
    /// runs again).
    pub state_time: Option<Time>,
    /// The recorded batches run again, in time order, and whether each had
    /// been committed (its outputs written) before the crash; committed
    /// ones only rebuild the state, the others also write their outputs.
    pub batches: Vec<(Time, bool)>,
    /// Damaged snapshots passed over for an older one, with why.
    pub passed_over: Vec<String>,
}

/// This process's place on a cluster, for a checkpoint: its share of the
/// inputs and the mesh's barrier (every process's value, by index).
#[derive(Clone, Copy)]
pub(super) struct OnCluster<'a> {
    pub(super) share: Share,
    pub(super) barrier: &'a (dyn Fn(u64) -> Result<Vec<u64>, String> + Send),
}

impl OnCluster<'_> {
    fn part(&self) -> Part {
        Part {
            process: self.share.process,
            processes: self.share.processes,
        }
    }

    /// Every process's `value`, by process index.
    fn agree(&self, what: &str, value: u64) -> Result<Vec<u64>, StartError> {
        (self.barrier)(value).map_err(|reason| StartError::InvalidSetting {
            setting: "cluster",
            reason: format!("cannot agree on {what}: {reason}"),
        })
    }
}

/// What process 0 shares when the directory holds no checkpoint, or no
/// snapshot (a snapshot's time never gets this high).
const NO_CHECKPOINT: u64 = u64::MAX;
const NO_SNAPSHOT: u64 = u64::MAX - 1;

/// The directory opened and the state restored; the sources not yet told.
pub(super) struct Opened {
    dir: CheckpointDir,
    saved: Option<Saved>,
    zero: Time,
    interval: Duration,
    keep: usize,
    share: Option<Share>,
}

impl Opened {
    /// The job's zero time: the recovered run's, or the clock's now rounded
    /// down to a multiple of the batch interval.
    pub(super) fn zero(&self) -> Time {
        self.zero
    }

    /// Where input `port`'s receiver keeps its write-ahead log.
    pub(super) fn wal(&self, port: &str) -> PathBuf {
        self.dir.wal(port)
    }

    /// Sets the zero time the processes of a cluster agreed on (process
    /// 0's: the saved one when resuming, the same on every process).
    pub(super) fn agree_zero(&mut self, zero: Time) {
        self.zero = zero;
    }
}

/// A batch recorded before the crash, to run again.
pub(super) struct Replay {
    pub(super) time: Time,
    pub(super) pendings: Vec<Pending>,
    /// Its outputs were written: run it for its state only.
    pub(super) committed: bool,
}

/// Everything the scheduler needs to go on.
pub(super) struct Resumed {
    pub(super) checkpointer: Checkpointer,
    /// The first batch the generator cuts is at `zero + first·d`.
    pub(super) first: u64,
    pub(super) replays: Vec<Replay>,
    pub(super) info: Option<RecoveryInfo>,
}

/// The zero time of a fresh run: `now` rounded down to a multiple of `d`.
pub(super) fn fresh_zero(now: Duration, batch_interval: Duration) -> Time {
    let d = batch_interval.as_millis().max(1) as u64;
    let now = now.as_millis() as u64;
    Time::from_millis(now - now % d)
}

fn start_error(dir: &std::path::Path) -> impl Fn(CheckpointError) -> StartError + use<> {
    let dir = dir.to_path_buf();
    move |source| StartError::Checkpoint {
        dir: dir.clone(),
        source: Box::new(source),
    }
}

/// Opens the checkpoint directory and restores the job's state from it
/// (on a cluster, the key groups this process owns, from the snapshot
/// process 0 chose).
pub(super) fn open<J: Job>(
    settings: &CheckpointSettings,
    job: &mut J,
    now: Duration,
    cluster: Option<OnCluster<'_>>,
) -> Result<Opened, StartError> {
    let fail = start_error(&settings.dir);
    let plan = job.plan();
    let batch_interval = Duration::from_millis(plan.batch_interval_ms);
    let interval = settings.interval.unwrap_or_else(|| default_interval(batch_interval));
    if interval.is_zero() || !(interval.as_millis() as u64).is_multiple_of(plan.batch_interval_ms) {
        return Err(StartError::InvalidSetting {
            setting: "checkpoint_interval",
            reason: format!(
                "{} ms is not a positive multiple of the batch interval ({} ms)",
                interval.as_millis(),
                plan.batch_interval_ms
            ),
        });
    }
    // A state that cannot be saved is a mistake of the job, told now rather
    // than at the first checkpoint.
    job.state()
        .snapshot()
        .map_err(|e| fail(CheckpointError::NotSaveable(e)))?;
    let dir = CheckpointDir::open_part(&settings.dir, cluster.map(|c| c.part())).map_err(&fail)?;
    let saved = match cluster {
        None => dir.load(None).map_err(&fail)?,
        Some(cluster) => load_agreed(&dir, cluster)?,
    };
    let zero = match &saved {
        None => fresh_zero(now, batch_interval),
        Some(saved) if !settings.resume => {
            return Err(fail(CheckpointError::AlreadyUsed {
                dir: settings.dir.clone(),
                job: saved.job.job.clone(),
            }));
        }
        Some(saved) => {
            check_job(&settings.dir, &saved.job, job)?;
            if let Some(state) = &saved.state {
                let parts: Vec<&StateSnapshot> = state.parts.iter().map(|p| &p.state).collect();
                let restored = match (parts.as_slice(), cluster) {
                    ([whole], None) => job.state_mut().restore(whole),
                    _ => {
                        // Each key group this process owns now, from the
                        // process that owned it when the snapshot was taken.
                        let (me, now_on) = cluster.map_or((0, 1), |c| (c.share.process, c.share.processes));
                        let saved_on = parts.len();
                        let from = |g: usize, n: usize| (owner(g, n, now_on) == me).then(|| owner(g, n, saved_on));
                        job.state_mut().restore_groups(&parts, &from)
                    }
                };
                restored.map_err(|source| {
                    fail(CheckpointError::State {
                        path: state.path.clone(),
                        source,
                    })
                })?;
            }
            Time::from_millis(saved.job.zero_ms)
        }
    };
    job.set_zero_time(zero);
    Ok(Opened {
        dir,
        saved,
        zero,
        interval,
        keep: settings.keep,
        share: cluster.map(|c| c.share),
    })
}

/// On a cluster: process 0 reads the checkpoint and tells every process the
/// snapshot and the last complete batch to resume from; the others read
/// those. A process that finds no checkpoint where process 0 found one
/// fails: the directory is not shared.
fn load_agreed(dir: &CheckpointDir, cluster: OnCluster<'_>) -> Result<Option<Saved>, StartError> {
    let fail = start_error(dir.root());
    let first = cluster.share.process == 0;
    let mine = if first { dir.load(None).map_err(&fail)? } else { None };
    let state = match &mine {
        None => NO_CHECKPOINT,
        Some(saved) => saved.state.as_ref().map_or(NO_SNAPSHOT, |s| s.time_ms),
    };
    let last = mine.as_ref().and_then(|s| s.batches.last()).map_or(0, |b| b.time_ms);
    let state = cluster.agree("the checkpoint to resume", state)?[0];
    let last = cluster.agree("the checkpoint to resume", last)?[0];
    if first || state == NO_CHECKPOINT {
        return Ok(mine);
    }
    let choice = Choice {
        state_ms: (state != NO_SNAPSHOT).then_some(state),
        last_batch_ms: last,
    };
    match dir.load(Some(choice)).map_err(&fail)? {
        Some(saved) => Ok(Some(saved)),
        None => Err(fail(CheckpointError::Damaged {
            path: dir.root().to_path_buf(),
            what: "checkpoint",
            problem: "process 0 resumes the checkpoint there and this process finds none: every process must \
                      see the same directory (one machine, or a shared filesystem)"
                .to_owned(),
        })),
    }
}

/// Checks that the checkpoint's job is `job`, with settings it can follow.
fn check_job<J: Job>(dir: &std::path::Path, saved: &JobRecord, job: &J) -> Result<(), StartError> {
    let fail = start_error(dir);
    let plan = job.plan();
    if saved.job != plan.job {
        return Err(fail(CheckpointError::OtherJob {
            dir: dir.to_path_buf(),
            found: saved.job.clone(),
            job: plan.job,
        }));
    }
    let changed = |what, saved: String, now: String, hint| {
        Err(fail(CheckpointError::Changed {
            dir: dir.to_path_buf(),
            what,
            saved,
            now,
            hint,
        }))
    };
    if saved.batch_interval_ms != plan.batch_interval_ms {
        return changed(
            "batch interval",
            format!("{} ms", saved.batch_interval_ms),
            format!("{} ms", plan.batch_interval_ms),
            "batch times and windows depend on it: keep it, or start from a new checkpoint directory",
        );
    }
    let partitions = job.config().partitions;
    if saved.partitions != partitions {
        return changed(
            "partition count",
            saved.partitions.to_string(),
            partitions.to_string(),
            "keyed state is partitioned by it: keep `partitions(n)`, or start from a new checkpoint directory",
        );
    }
    check_input_partitions(dir, saved, job)
}

/// What `job`'s input ports do with a batch given in one partition, in port
/// order, as the checkpoint records it.
fn input_partitions<J: Job>(job: &J) -> Vec<String> {
    let (ports, job_count) = (job.input_partitions(), job.config().partitions);
    (0..job.plan().inputs.len())
        .map(|port| {
            let declared = ports.get(port).copied().unwrap_or(InputPartitions::Job);
            declared.describe(job_count)
        })
        .collect()
}

/// Refuses a checkpoint whose input ports were declared with another
/// `partitions = ..`: a batch run again would be split otherwise than the
/// first time, and so would its outputs.
fn check_input_partitions<J: Job>(dir: &std::path::Path, saved: &JobRecord, job: &J) -> Result<(), StartError> {
    let now = input_partitions(job);
    // Other ports are refused with the inputs' own message (see `resume`).
    if saved.input_partitions == now || saved.input_partitions.len() != now.len() {
        return Ok(());
    }
    let names = job.plan().inputs.iter().map(|port| port.name);
    let describe = |settings: &[String]| {
        names
            .clone()
            .zip(settings)
            .map(|(port, setting)| format!("`{port}`: {setting}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(start_error(dir)(CheckpointError::Changed {
        dir: dir.to_path_buf(),
        what: "input partitioning (a batch given in one partition)",
        saved: describe(&saved.input_partitions),
        now: describe(&now),
        hint: "batches are run again after recovery as they were run: keep each input's `partitions = ..`, \
               or start from a new checkpoint directory",
    }))
}

/// Tells the sources where the previous run stopped and queues the batches
/// to run again (or, for a fresh checkpoint, writes the job record).
pub(super) fn resume<J: Job>(
    opened: Opened,
    job: &J,
    ports: &[&'static str],
    feeds: &mut [&mut dyn Feed],
    deliveries: &[&dyn Delivery],
    now: Duration,
    barrier: Option<&(dyn Fn(u64) -> Result<Vec<u64>, String> + Send)>,
) -> Result<Resumed, StartError> {
    let Opened {
        dir,
        saved,
        zero,
        interval,
        keep,
        share,
    } = opened;
    let fail = start_error(dir.root());
    let plan = job.plan();
    let mut inputs = Vec::with_capacity(ports.len());
    for (port, feed) in ports.iter().zip(feeds.iter()) {
        let start = feed.start_positions().map_err(|e| {
            fail(CheckpointError::Encode {
                what: "a source's start positions",
                message: format!("input `{port}`: {e}"),
            })
        })?;
        if share.is_some()
            && !combines(feed.positions_type())
            && !kafka_offsets(feed.positions_type())
            && !feed.on_first_process_only()
        {
            return Err(StartError::InvalidSetting {
                setting: "cluster",
                reason: format!(
                    "checkpointing input `{port}` on a cluster is not supported yet: its positions (`{}`) do not \
                     combine across processes (a directory source's, a Kafka stream's and a receiver's do)",
                    feed.positions_type()
                ),
            });
        }
        inputs.push(InputRecordInfo {
            port: (*port).to_owned(),
            positions: feed.positions_type().to_owned(),
            start,
        });
    }
    let d = plan.batch_interval_ms.max(1);
    let Some(saved) = saved else {
        if share.is_some_and(|s| s.process > 0) {
            return Ok(Resumed {
                checkpointer: Checkpointer::new(dir, zero, interval, keep),
                first: 1,
                replays: Vec::new(),
                info: None,
            });
        }
        dir.write_job(&JobRecord {
            job: plan.job.to_owned(),
            batch_interval_ms: plan.batch_interval_ms,
            partitions: job.config().partitions,
            zero_ms: zero.as_millis(),
            inputs,
            input_partitions: input_partitions(job),
        })
        .map_err(&fail)?;
        return Ok(Resumed {
            checkpointer: Checkpointer::new(dir, zero, interval, keep),
            first: 1,
            replays: Vec::new(),
            info: None,
        });
    };
    let same =
        saved.job.inputs.len() == inputs.len() && saved.job.inputs.iter().zip(&inputs).all(|(a, b)| a.same_input(b));
    if !same {
        return Err(fail(CheckpointError::Changed {
            dir: dir.root().to_path_buf(),
            what: "inputs",
            saved: describe(&saved.job.inputs),
            now: describe(&inputs),
            hint: "recorded batches are read again from their inputs: bind the same sources to the same ports, \
                   or start from a new checkpoint directory",
        }));
    }
    // Each batch's positions, per input, as this process reads them now.
    let mut read = Vec::with_capacity(saved.batches.len());
    for batch in &saved.batches {
        let mut per_input = Vec::with_capacity(inputs.len());
        for (index, info) in inputs.iter().enumerate() {
            let parts: Vec<Option<&[u8]>> = batch
                .parts
                .iter()
                .map(|p| p.inputs.get(index).and_then(|i| i.as_deref()))
                .collect();
            let combined = combine_positions(&info.positions, &parts, share).map_err(|message| {
                fail(CheckpointError::Positions {
                    path: batch.path.clone(),
                    port: ports[index].to_owned(),
                    message,
                })
            })?;
            per_input.push(combined);
        }
        read.push(per_input);
    }
    for (index, feed) in feeds.iter_mut().enumerate() {
        let start = saved.job.inputs[index].start.as_deref();
        let recorded: Vec<Option<&[u8]>> = start
            .into_iter()
            .map(Some)
            .chain(read.iter().map(|b| b[index].as_deref()))
            .collect();
        feed.resume(&recorded).map_err(|e| {
            fail(CheckpointError::Positions {
                path: dir.root().join("batches"),
                port: ports[index].to_owned(),
                message: e.to_string(),
            })
        })?;
    }
    let state_time = saved.state.as_ref().map(|s| s.time_ms);
    let after = state_time.unwrap_or(0);
    // Without a snapshot, every batch since the first must still be recorded.
    if state_time.is_none()
        && let Some(first) = saved.batches.first()
        && first.time_ms != zero.as_millis() + d
    {
        return Err(fail(CheckpointError::Damaged {
            path: dir.root().join("state"),
            what: "checkpoint",
            problem: format!(
                "no intact state snapshot is left ({}), and the batches before {} ms are no longer recorded",
                saved.passed_over.join("; "),
                first.time_ms
            ),
        }));
    }
    let mut replays = Vec::new();
    for (batch, per_input) in saved.batches.iter().zip(&read).filter(|(b, _)| b.time_ms > after) {
        let mut pendings = Vec::with_capacity(deliveries.len());
        for (index, delivery) in deliveries.iter().enumerate() {
            let recorded = per_input.get(index).and_then(|i| i.as_deref());
            let pending = delivery.replay(recorded).map_err(|e| {
                fail(CheckpointError::Positions {
                    path: batch.path.clone(),
                    port: ports[index].to_owned(),
                    message: e.to_string(),
                })
            })?;
            pendings.push(pending);
        }
        replays.push(Replay {
            time: Time::from_millis(batch.time_ms),
            pendings,
            committed: batch.committed,
        });
    }
    let last_recorded = saved.batches.last().map_or(after, |b| b.time_ms).max(after);
    let recorded_k = last_recorded.saturating_sub(zero.as_millis()) / d;
    let mut now_k = (now.as_millis() as u64).saturating_sub(zero.as_millis()) / d;
    if let Some(barrier) = barrier {
        // Every process cuts the same batches: the latest clock's first.
        let all = barrier(now_k).map_err(|reason| StartError::InvalidSetting {
            setting: "cluster",
            reason: format!("cannot agree on the first batch after recovery: {reason}"),
        })?;
        now_k = all.into_iter().max().unwrap_or(now_k);
    }
    let info = RecoveryInfo {
        dir: dir.root().to_path_buf(),
        state_time: state_time.map(Time::from_millis),
        batches: replays.iter().map(|r| (r.time, r.committed)).collect(),
        passed_over: saved.passed_over.clone(),
    };
    for problem in &info.passed_over {
        tracing::warn!(job = plan.job, "{problem}; recovering from an older snapshot");
    }
    tracing::info!(
        job = plan.job,
        dir = %info.dir.display(),
        state_time_ms = ?state_time,
        batches = info.batches.len(),
        "recovering from a checkpoint"
    );
    Ok(Resumed {
        checkpointer: Checkpointer::new(dir, zero, interval, keep),
        first: recorded_k.max(now_k) + 1,
        replays,
        info: Some(info),
    })
}

/// Whether positions of the Rust type `type_name` are a Kafka stream's.
fn kafka_offsets(type_name: &str) -> bool {
    #[cfg(feature = "kafka")]
    return super::kafka::is_offsets(type_name);
    #[cfg(not(feature = "kafka"))]
    return {
        let _ = type_name;
        false
    };
}

/// A batch's positions for one input as this process reads them now
/// ([`combine`]; a Kafka stream's ranges, every process's united).
fn combine_positions(
    type_name: &str,
    parts: &[Option<&[u8]>],
    share: Option<Share>,
) -> Result<Option<Vec<u8>>, String> {
    #[cfg(feature = "kafka")]
    if kafka_offsets(type_name) && (parts.len() > 1 || share.is_some_and(|s| s.processes > 1)) {
        return super::kafka::combine_offsets(parts);
    }
    combine(type_name, parts, share)
}

fn describe(inputs: &[InputRecordInfo]) -> String {
    let list: Vec<String> = inputs
        .iter()
        .map(|i| format!("`{}` reading `{}`", i.port, i.positions))
        .collect();
    format!("[{}]", list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_zero_time_is_the_start_rounded_down_to_the_interval() {
        let zero = fresh_zero(Duration::from_millis(1_796_000_123_456), Duration::from_secs(1));
        assert_eq!(zero, Time::from_millis(1_796_000_123_000));
        assert_eq!(fresh_zero(Duration::ZERO, Duration::from_millis(300)), Time::ZERO);
        assert_eq!(
            fresh_zero(Duration::from_millis(1000), Duration::from_millis(300)),
            Time::from_millis(900)
        );
    }
}
