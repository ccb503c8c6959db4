//! The reading half of a Kafka direct stream: delivers a batch's offset
//! ranges as its partitions (one per topic partition) and commits the
//! group's offsets once the batch is committed, on the driver thread.

use super::decode::Decode;
use super::fetcher::Fetcher;
use super::offsets::{KafkaOffsets, OffsetRange};
use super::options::KafkaOptions;
use super::share::KafkaShare;
use crate::live::error::SourceError;
use crate::live::sources::{Reader, SourceContext};
use crate::{Batch, Time};

pub(crate) struct KafkaReader<T> {
    fetcher: Fetcher,
    commit: bool,
    decode: Decode<T>,
    ctx: SourceContext,
    /// On a cluster: the partitions this process reads, and where their
    /// records go in the batch.
    share: Option<KafkaShare>,
}

impl<T> KafkaReader<T> {
    pub(crate) fn new(
        brokers: &str,
        options: &KafkaOptions,
        decode: Decode<T>,
        ctx: SourceContext,
        share: Option<KafkaShare>,
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
        let Some(share) = &self.share else {
            return Ok(Batch::from_partitions(self.fetcher.read(
                &offsets.ranges,
                self.decode,
                &self.ctx,
                time,
            )?));
        };
        // On a cluster: this process's partitions only (a batch recovered
        // from a checkpoint holds every process's), over the job's
        // partitions this process owns.
        let mine = share.mine(offsets);
        let parts = self.fetcher.read(&mine.ranges, self.decode, &self.ctx, time)?;
        Ok(Batch::from_partitions(share.share.place(parts)))
    }

    fn commit(&mut self, _time: Time, offsets: &KafkaOffsets) -> Result<(), SourceError> {
        let mine = match &self.share {
            Some(share) => std::borrow::Cow::Owned(share.mine(offsets)),
            None => std::borrow::Cow::Borrowed(offsets),
        };
        if !self.commit || mine.ranges.iter().all(OffsetRange::is_empty) {
            return Ok(());
        }
        self.fetcher.commit(&mine.ranges)?;
        Ok(())
    }
}
