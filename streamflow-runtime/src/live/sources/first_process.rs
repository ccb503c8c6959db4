//! On a cluster, a source that does not split between processes (a socket,
//! a custom receiver) runs on process 0 only; each batch it delivers there is
//! spread over the job's partitions and exchanged to their owners, and the
//! other processes take their share from the same exchange. Without a
//! cluster the source runs as it is.
//!
//! With checkpointing on, its positions and its write-ahead log are process
//! 0's alone (the log in the shared checkpoint directory): after a recovery,
//! on any number of processes, process 0 delivers the recorded batches
//! again from the log, and they are spread like live ones.

use super::feed::{InputEnv, StartedInput};
use crate::live::error::StartError;

/// Starts the source with `start`, on process 0 only when the job runs on a
/// cluster (see the module). `T` is the source's record type.
// `T` is the type the cluster's exchange sends; without the feature, unused.
#[cfg_attr(not(feature = "cluster"), allow(clippy::extra_unused_type_parameters))]
pub(crate) fn on_first_process<T>(
    env: &InputEnv,
    start: impl FnOnce(&InputEnv) -> Result<StartedInput, StartError>,
) -> Result<StartedInput, StartError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    #[cfg(feature = "cluster")]
    if let (Some(mesh), Some(share)) = (&env.mesh, env.share) {
        let started = if share.process == 0 { Some(start(env)?) } else { None };
        return Ok(cluster::spread::<T>(started, mesh.clone(), share.partitions, env.kept));
    }
    start(env)
}

/// The cluster's side: the spread delivery, and the feed of the other processes.
#[cfg(feature = "cluster")]
mod cluster {
    use super::super::blocks::BlockRange;
    use super::super::feed::{Delivered, Delivery, Feed, Pending, StartedInput};
    use crate::live::error::SourceError;
    use crate::{Batch, Time};

    /// Process 0's started source (`None` on the others) with its deliveries
    /// spread over the cluster.
    pub(super) fn spread<T>(
        started: Option<StartedInput>,
        mesh: std::sync::Arc<crate::cluster::Mesh>,
        partitions: usize,
        kept: bool,
    ) -> StartedInput
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    {
        match started {
            Some(started) => StartedInput {
                feed: Box::new(First(started.feed)),
                delivery: Box::new(Spread::<T> {
                    inner: Some(started.delivery),
                    mesh,
                    partitions,
                    kept,
                    _records: std::marker::PhantomData,
                }),
                ..started
            },
            None => StartedInput {
                feed: Box::new(Elsewhere {
                    positions_type: std::any::type_name::<BlockRange>(),
                }),
                delivery: Box::new(Spread::<T> {
                    inner: None,
                    mesh,
                    partitions,
                    kept,
                    _records: std::marker::PhantomData,
                }),
                receiver: None,
                rate: None,
                counters: Default::default(),
                description: String::new(),
            },
        }
    }

    /// Process 0's feed, as it is, saying where it runs.
    struct First(Box<dyn Feed>);

    impl Feed for First {
        fn cut(&mut self, time: Time) -> Pending {
            self.0.cut(time)
        }

        fn positions_type(&self) -> &'static str {
            self.0.positions_type()
        }

        fn start_positions(&self) -> Result<Option<Vec<u8>>, SourceError> {
            self.0.start_positions()
        }

        fn resume(&mut self, recorded: &[Option<&[u8]>]) -> Result<(), SourceError> {
            self.0.resume(recorded)
        }

        fn on_first_process_only(&self) -> bool {
            true
        }
    }

    /// The feed of a process other than 0: its batches read nothing here.
    struct Elsewhere {
        /// Process 0's (a receiver's: block ranges), as the checkpoint's
        /// job record names it.
        positions_type: &'static str,
    }

    impl Feed for Elsewhere {
        fn cut(&mut self, _time: Time) -> Pending {
            Pending::nothing()
        }

        fn positions_type(&self) -> &'static str {
            self.positions_type
        }

        fn on_first_process_only(&self) -> bool {
            true
        }

        fn start_positions(&self) -> Result<Option<Vec<u8>>, SourceError> {
            Ok(None)
        }

        fn resume(&mut self, _recorded: &[Option<&[u8]>]) -> Result<(), SourceError> {
            Ok(())
        }
    }

    /// A delivery spread over the cluster: process 0 delivers (`inner`), every
    /// process takes its partitions from one exchange.
    struct Spread<T> {
        inner: Option<Box<dyn Delivery>>,
        mesh: std::sync::Arc<crate::cluster::Mesh>,
        partitions: usize,
        /// The port keeps a batch's partitions (`partitions = keep`).
        kept: bool,
        _records: std::marker::PhantomData<fn() -> T>,
    }

    impl<T> Delivery for Spread<T>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    {
        /// Process 0's delivery, in the partitions one process would give the
        /// job, each sent to its owner: block by block when there are
        /// several blocks or the port keeps its partitions (`partitions =
        /// keep`), as one process keeps them; else cut in the job's partition
        /// count (its elements in order, contiguous runs of near-equal
        /// size), as one process splits a batch of one partition. The other
        /// processes learn the count from process 0 first (one round). A
        /// failed delivery still takes part in both rounds (with nothing), so
        /// the other processes do not wait for it.
        fn deliver(&mut self, time: Time, pending: &Pending) -> Result<Delivered, SourceError> {
            let delivered = match &mut self.inner {
                Some(inner) => inner.deliver(time, pending).and_then(|d| {
                    let records = d.records;
                    d.batch
                        .downcast::<Batch<T>>()
                        .map(|batch| (*batch, records))
                        .map_err(|_| "a source delivered another type than its records".into())
                }),
                None => Ok((Batch::empty(), 0)),
            };
            let (batch, failed) = match delivered {
                Ok((batch, records)) => (batch, Ok(records)),
                Err(e) => (Batch::empty(), Err(e)),
            };
            let blocks = batch.num_partitions();
            let shared = self
                .mesh
                .share(blocks as u64)
                .map_err(|e| format!("cannot spread the batch over the cluster: {e}"))?;
            let blocks = shared.first().copied().unwrap_or(0) as usize;
            let by_block = blocks > 1 || (blocks == 1 && self.kept);
            let buckets: Vec<Vec<T>> = if by_block {
                // Process 0 has the blocks; the others send empty ones.
                let mut parts = batch.into_partitions();
                parts.resize_with(blocks, Vec::new);
                parts
            } else {
                let n = self.partitions.max(1);
                let elements = batch.collect();
                let total = elements.len();
                let mut rest = elements.into_iter();
                (0..n)
                    .map(|p| rest.by_ref().take(total * (p + 1) / n - total * p / n).collect())
                    .collect()
            };
            let n = buckets.len();
            let parts = crate::cluster::exchange(&self.mesh, std::iter::once(((0, 0), buckets)), n)
                .map_err(|e| format!("cannot spread the batch over the cluster: {e}"))?;
            let records = failed?;
            let parts: Vec<Vec<T>> = parts
                .into_iter()
                .map(|buckets| buckets.into_iter().flatten().collect())
                .collect();
            Ok(Delivered {
                batch: Box::new(Batch::from_partitions(parts)),
                records,
            })
        }

        fn commit(&mut self, time: Time, pending: &Pending) {
            if let Some(inner) = &mut self.inner {
                inner.commit(time, pending);
            }
        }

        fn replay(&self, recorded: Option<&[u8]>) -> Result<Pending, SourceError> {
            match &self.inner {
                Some(inner) => inner.replay(recorded),
                None => Ok(Pending::nothing()),
            }
        }

        fn release(&mut self, through: Time) {
            if let Some(inner) = &mut self.inner {
                inner.release(through);
            }
        }
    }
}
