//! The scheduler's side of a started input, whatever its record type: the
//! generator cuts it ([`Feed`]), the driver delivers and commits it
//! ([`Delivery`]), the context stops and paces its receiver, if it has one
//! ([`ReceiverControl`]). [`start_source`] makes these from a [`Source`].

use super::source::{Positions, Reader, Source, SourceContext};
use super::stats::InputCounters;
use crate::live::error::{SourceError, StartError};
use crate::live::listener::{EventSender, PartitionProgress};
use crate::live::memory::{Budget, Held};
pub(crate) use crate::live::rate::{RateControl, SourceRate};
use crate::{Batch, Time};
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What a source gets to start with.
pub(crate) struct InputEnv {
    pub(crate) port: &'static str,
    pub(crate) block_interval: Duration,
    pub(crate) budget: Arc<Budget>,
    pub(crate) events: EventSender,
    pub(crate) max_rate: f64,
    pub(crate) batch_interval: Duration,
    pub(crate) restart_backoff: (Duration, Duration),
    /// Checkpointing is on: every cut's positions are encoded to be recorded.
    pub(crate) record: bool,
    /// Where a receiver keeps its write-ahead log, when checkpointing is on.
    pub(crate) wal: Option<std::path::PathBuf>,
    /// On a cluster: this process's share of the input (sources that split
    /// their input between processes read only it).
    pub(crate) share: Option<crate::cluster::Share>,
    /// On a cluster: the mesh, through which a source that runs on process 0
    /// only spreads its batches (see `first_process`).
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) mesh: Option<MeshRef>,
    /// The port keeps a batch's partitions as they arrive (`partitions =
    /// keep`): on a cluster, a receiver's batch is spread block by block.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) kept: bool,
}

/// The mesh of a live job on a cluster, as its sources get it.
#[cfg(feature = "cluster")]
pub(crate) type MeshRef = Arc<crate::cluster::Mesh>;
/// Without the `cluster` feature there is no mesh: the type has no value.
#[cfg(not(feature = "cluster"))]
#[derive(Clone)]
pub(crate) enum MeshRef {}

/// A started source.
pub(crate) struct StartedInput {
    pub(crate) feed: Box<dyn Feed>,
    pub(crate) delivery: Box<dyn Delivery>,
    pub(crate) receiver: Option<Arc<dyn ReceiverControl>>,
    /// What backpressure paces: the receiver, or a direct source's rate.
    pub(crate) rate: Option<Arc<dyn RateControl>>,
    pub(crate) counters: Arc<InputCounters>,
    pub(crate) description: String,
}

/// The generator's side of an input: cuts it at each batch time.
pub(crate) trait Feed: Send {
    /// What the batch at `time` reads (called at that time).
    fn cut(&mut self, time: Time) -> Pending;
    /// The Rust type of the source's positions (recorded in checkpoints).
    fn positions_type(&self) -> &'static str;
    /// The source's start positions, encoded (see
    /// [`Source::start_positions`](super::Source::start_positions)).
    fn start_positions(&self) -> Result<Option<Vec<u8>>, SourceError>;
    /// Resumes after recovery, before the first cut, from the positions the
    /// checkpoint recorded (oldest first; `None`: that cut had failed).
    fn resume(&mut self, recorded: &[Option<&[u8]>]) -> Result<(), SourceError>;
    /// Whether the source runs on process 0 of a cluster only (a receiver):
    /// its positions are then process 0's alone.
    fn on_first_process_only(&self) -> bool {
        false
    }
}

/// The driver's side of an input.
pub(crate) trait Delivery: Send {
    /// Reads what the batch at `time` was cut to read.
    fn deliver(&mut self, time: Time, pending: &Pending) -> Result<Delivered, SourceError>;
    /// Tells the source that the batch at `time` is committed; a failure is
    /// reported, not returned.
    fn commit(&mut self, time: Time, pending: &Pending);
    /// A batch recorded before a crash, to run again: what it reads, from
    /// the bytes its cut recorded (`None`: that cut had failed, and the batch
    /// is run with no records of this input).
    fn replay(&self, recorded: Option<&[u8]>) -> Result<Pending, SourceError>;
    /// No batch up to `through` will be delivered again.
    fn release(&mut self, through: Time);
}

/// A batch's input, cut but not yet delivered.
pub(crate) struct Pending {
    /// The source's positions (its own type). `None`: nothing to read (the
    /// cut failed, or it was a failed cut recorded before a crash).
    positions: Option<Box<dyn Any + Send>>,
    /// Why the cut failed; taken by the driver, which fails the batch.
    pub(crate) failure: Option<SourceError>,
    /// The number of records, if known at the cut.
    pub(crate) records: Option<usize>,
    /// Held against the memory bound, given back once processed.
    pub(crate) held: Held,
    /// The positions encoded for the checkpoint, when checkpointing is on.
    pub(crate) recorded: Option<Vec<u8>>,
    /// What the cut reads of each partition (partitioned sources).
    pub(crate) progress: Vec<PartitionProgress>,
}

impl Pending {
    /// A cut that failed with `failure`.
    fn failed(failure: SourceError) -> Pending {
        Pending {
            failure: Some(failure),
            ..Pending::nothing()
        }
    }

    /// A batch that reads nothing from this input.
    pub(crate) fn nothing() -> Pending {
        Pending {
            positions: None,
            failure: None,
            records: Some(0),
            held: Held::default(),
            recorded: None,
            progress: Vec::new(),
        }
    }
}

/// One port's batch, ready for the job.
pub(crate) struct Delivered {
    /// A `Box<Batch<T>>` for the port.
    pub(crate) batch: Box<dyn Any + Send>,
    pub(crate) records: usize,
}

/// What the context needs of a receiver, whatever its record type.
pub(crate) trait ReceiverControl: RateControl {
    /// Asks the receiver to stop; an immediate stop also aborts waiting stores.
    fn request_stop(&self, immediate: bool);
    /// Waits until the receiver's thread has finished; false on timeout.
    fn wait_stopped(&self, timeout: Duration) -> bool;
    /// Once stopped: drops what the receiver still holds that no batch took,
    /// and returns how many records that was.
    fn take_leftovers(&self) -> usize;
}

/// Who counts an input's records in its [`InputStats`](super::InputStats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accounting {
    /// The scheduler: at the cut if the cut states the count, else when
    /// delivered.
    Scheduler,
    /// The receiver, as it stores them; a batch's records are held against
    /// the memory bound until the batch is processed.
    Receiver,
}

/// Starts `source` for the port `env` describes; its records are counted in
/// `counters` as `accounting` says.
pub(crate) fn start_source<S: Source>(
    mut source: S,
    env: &InputEnv,
    counters: Arc<InputCounters>,
    accounting: Accounting,
) -> Result<StartedInput, StartError> {
    let rate = Arc::new(SourceRate::new(env.max_rate));
    let ctx = SourceContext::new(
        env.port,
        counters.clone(),
        env.events.clone(),
        env.batch_interval,
        rate.clone(),
    );
    let reader = guarded(|| source.start(&ctx)).map_err(|e| match e.downcast::<StartError>() {
        Ok(e) => *e,
        Err(e) => StartError::Source {
            port: env.port,
            source_name: source.name(),
            source: e,
        },
    })?;
    Ok(StartedInput {
        feed: Box::new(SourceFeed {
            source,
            ctx: ctx.clone(),
            accounting,
            record: env.record,
        }),
        delivery: Box::new(SourceDelivery {
            reader,
            ctx,
            accounting,
        }),
        receiver: None,
        rate: Some(rate),
        counters,
        description: String::new(),
    })
}

/// Runs a source's method; a panic becomes its error.
fn guarded<T>(f: impl FnOnce() -> Result<T, SourceError>) -> Result<T, SourceError> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|panic| Err(format!("the source panicked: {}", crate::panic::message(&*panic)).into()))
}

struct SourceFeed<S> {
    source: S,
    ctx: SourceContext,
    accounting: Accounting,
    record: bool,
}

impl<S: Source> Feed for SourceFeed<S> {
    fn cut(&mut self, time: Time) -> Pending {
        self.ctx.roll_reports(time);
        let cut = match guarded(|| self.source.cut(time)) {
            Ok(cut) => cut,
            Err(failure) => return Pending::failed(failure),
        };
        let recorded = match self.record.then(|| cut.positions.to_bytes()).transpose() {
            Ok(recorded) => recorded,
            Err(e) => return Pending::failed(format!("cannot record the cut's positions: {e}").into()),
        };
        tracing::debug!(input = self.ctx.input(), %time, positions = ?cut.positions, records = ?cut.records, "input cut");
        let held = match (self.accounting, cut.records) {
            (Accounting::Receiver, records) => Held {
                records: records.unwrap_or(0),
                bytes: cut.bytes,
            },
            (Accounting::Scheduler, records) => {
                if let Some(records) = records {
                    self.ctx.counters().records.fetch_add(records as u64, Ordering::Relaxed);
                }
                // The directory source holds the bytes its batch will read.
                Held {
                    records: 0,
                    bytes: cut.bytes,
                }
            }
        };
        Pending {
            positions: Some(Box::new(cut.positions)),
            failure: None,
            records: cut.records,
            held,
            recorded,
            progress: cut.progress,
        }
    }

    fn positions_type(&self) -> &'static str {
        std::any::type_name::<S::Positions>()
    }

    fn start_positions(&self) -> Result<Option<Vec<u8>>, SourceError> {
        self.source.start_positions().map(|p| p.to_bytes()).transpose()
    }

    fn resume(&mut self, recorded: &[Option<&[u8]>]) -> Result<(), SourceError> {
        let positions = recorded
            .iter()
            .flatten()
            .map(|bytes| S::Positions::from_bytes(bytes))
            .collect::<Result<Vec<_>, _>>()?;
        guarded(|| self.source.resume(&positions))
    }
}

struct SourceDelivery<R> {
    reader: R,
    ctx: SourceContext,
    accounting: Accounting,
}

impl<R: Reader> SourceDelivery<R> {
    fn positions<'p>(&self, pending: &'p Pending) -> Result<Option<&'p R::Positions>, SourceError> {
        let Some(positions) = pending.positions.as_deref() else {
            return Ok(None);
        };
        // The driver pairs each pending input with its own port's delivery.
        positions
            .downcast_ref::<R::Positions>()
            .map(Some)
            .ok_or_else(|| format!("input `{}`: no positions of this source's type", self.ctx.input()).into())
    }
}

impl<R: Reader> Delivery for SourceDelivery<R> {
    fn deliver(&mut self, time: Time, pending: &Pending) -> Result<Delivered, SourceError> {
        let batch = match self.positions(pending)? {
            Some(positions) => guarded(|| self.reader.deliver(time, positions))?,
            None => Batch::empty(),
        };
        let records = batch.len();
        if self.accounting == Accounting::Scheduler && pending.records.is_none() {
            self.ctx.counters().records.fetch_add(records as u64, Ordering::Relaxed);
        }
        Ok(Delivered {
            batch: Box::new(batch),
            records,
        })
    }

    fn commit(&mut self, time: Time, pending: &Pending) {
        let committed = self.positions(pending).and_then(|positions| match positions {
            Some(positions) => guarded(|| self.reader.commit(time, positions)),
            None => Ok(()),
        });
        if let Err(e) = committed {
            self.ctx.report_error(Some(time), format!("commit failed: {e}"));
        }
    }

    fn replay(&self, recorded: Option<&[u8]>) -> Result<Pending, SourceError> {
        let Some(bytes) = recorded else {
            return Ok(Pending::nothing());
        };
        let positions = R::Positions::from_bytes(bytes)?;
        Ok(Pending {
            positions: Some(Box::new(positions)),
            records: None,
            ..Pending::nothing()
        })
    }

    fn release(&mut self, through: Time) {
        if let Err(e) = guarded(|| {
            self.reader.release(through);
            Ok(())
        }) {
            self.ctx.report_error(None, e.to_string());
        }
    }
}
