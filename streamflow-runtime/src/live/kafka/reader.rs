//! The reading half of a Kafka direct stream: delivers a batch's offset
//! ranges as its partitions (one per topic partition) and commits the
//! group's offsets once the batch is committed, on the driver thread.

use super::decode::Decode;
use super::fetcher::Fetcher;
use super::offsets::{KafkaOffsets, OffsetRange};
use super::options::KafkaOptions;
use crate::cluster::Share;
use crate::live::error::SourceError;
use crate::live::sources::{Reader, SourceContext};
use crate::{Batch, Time};

pub(crate) struct KafkaReader<T> {
    fetcher: Fetcher,
    commit: bool,
    decode: Decode<T>,
    ctx: SourceContext,
    /// On a cluster: where this process's records go in the batch.
    share: Option<Share>,
}

impl<T> KafkaReader<T> {
    pub(crate) fn new(
        brokers: &str,
        options: &KafkaOptions,
        decode: Decode<T>,
        ctx: SourceContext,
        share: Option<Share>,
    ) -> Result<Self, SourceError> {
        Ok(KafkaReader {
            fetcher: Fetcher::new(brokers, options)?,
            commit: options.commit_offsets,
            decode,
            ctx,
            share,
        })
    }
}

impl<T: Send + 'static> Reader for KafkaReader<T> {
    type Item = T;
    type Positions = KafkaOffsets;

    fn deliver(&mut self, time: Time, offsets: &KafkaOffsets) -> Result<Batch<T>, SourceError> {
        let parts = self.fetcher.read(&offsets.ranges, self.decode, &self.ctx, time)?;
        // On a cluster, over the job's partitions this process owns.
        Ok(Batch::from_partitions(match &self.share {
            Some(share) => share.place(parts),
            None => parts,
        }))
    }

    fn commit(&mut self, _time: Time, offsets: &KafkaOffsets) -> Result<(), SourceError> {
        if !self.commit || offsets.ranges.iter().all(OffsetRange::is_empty) {
            return Ok(());
        }
        self.fetcher.commit(&offsets.ranges)?;
        Ok(())
    }
}
