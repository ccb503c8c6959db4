//! Running receivers: each on its own thread under a supervisor that restarts
//! it with backoff when it fails, and bound to its input port as a
//! [`Source`] whose positions are ranges of the blocks it stored.

use super::blocks::BlockRange;
use super::feed::{Accounting, InputEnv, StartedInput, start_source};
use super::first_process::on_first_process;
use super::input::Input;
use super::receiver::{Receiver, ReceiverContext};
use super::receiver_state::ReceiverShared;
use super::source::{Cut, Reader, Source, SourceContext};
use super::stats::InputCounters;
use super::wal::Wal;
use crate::live::error::{SourceError, StartError};
use crate::live::listener::StreamingEvent;
use crate::live::sync::lock;
use crate::{Batch, Time};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// A custom [`Receiver`] as a source.
///
/// Its records are serde values: with checkpointing on, every block of
/// them goes to a write-ahead log before a batch takes it.
pub fn receiver_stream<R: Receiver>(receiver: R) -> Input<R::Item>
where
    R::Item: Serialize + DeserializeOwned,
{
    Input::new(format!("receiver {}", receiver.name()), move |env| {
        on_first_process::<R::Item>(env, |env| start_receiver(receiver, env))
    })
    .on_first_process()
}

/// Starts `receiver` on its own thread under a supervisor, with its
/// write-ahead log if checkpointing is on.
pub(crate) fn start_receiver<R: Receiver>(receiver: R, env: &InputEnv) -> Result<StartedInput, StartError>
where
    R::Item: Serialize + DeserializeOwned,
{
    let counters = Arc::new(InputCounters::default());
    let shared = Arc::new(ReceiverShared::new(
        env,
        receiver.name(),
        counters.clone(),
        R::record_bytes,
    ));
    if let Some(dir) = &env.wal {
        let wal_error = |source| StartError::Checkpoint {
            dir: dir.clone(),
            source: Box::new(source),
        };
        let wal = Wal::<R::Item>::open(dir).map_err(wal_error)?;
        shared.blocks().attach_log(Box::new(wal)).map_err(wal_error)?;
    }
    let source = ReceiverSource {
        receiver: Some(receiver),
        shared: shared.clone(),
        backoff: env.restart_backoff,
    };
    let mut started = start_source(source, env, counters, Accounting::Receiver)?;
    started.rate = Some(shared.clone());
    started.receiver = Some(shared);
    Ok(started)
}

/// A receiver as a source: starting it starts its thread; each batch takes
/// every block it stored since the previous cut.
struct ReceiverSource<R: Receiver> {
    /// Until started: then it belongs to its thread.
    receiver: Option<R>,
    shared: Arc<ReceiverShared<R::Item>>,
    backoff: (Duration, Duration),
}

impl<R: Receiver> Source for ReceiverSource<R> {
    type Item = R::Item;
    type Positions = BlockRange;
    type Reader = ReceivedBlocks<R::Item>;

    fn name(&self) -> String {
        self.shared.name.clone()
    }

    fn start(&mut self, ctx: &SourceContext) -> Result<Self::Reader, SourceError> {
        let receiver = self.receiver.take().ok_or("the receiver was started already")?;
        let shared = self.shared.clone();
        let backoff = self.backoff;
        let name = format!("streamflow-receiver-{}", ctx.input());
        std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || supervise(receiver, shared, backoff))
            .map_err(|source| StartError::Thread { name, source })?;
        Ok(ReceivedBlocks {
            shared: self.shared.clone(),
            delivered: VecDeque::new(),
        })
    }

    fn cut(&mut self, _time: Time) -> Result<Cut<BlockRange>, SourceError> {
        self.shared.roll_reports();
        let (range, held) = self.shared.cut_blocks(true)?;
        Ok(Cut::new(range).with_records(held.records).holding_bytes(held.bytes))
    }

    fn resume(&mut self, recorded: &[BlockRange]) -> Result<(), SourceError> {
        if let Some(last) = recorded.last() {
            self.shared.blocks().resume_at(last.end);
        }
        Ok(())
    }
}

/// Delivers a receiver's blocks, one partition per block.
struct ReceivedBlocks<T> {
    shared: Arc<ReceiverShared<T>>,
    /// The end of each batch's range, by time, until released.
    delivered: VecDeque<(Time, u64)>,
}

impl<T: Send + 'static> Reader for ReceivedBlocks<T> {
    type Item = T;
    type Positions = BlockRange;

    fn deliver(&mut self, time: Time, range: &BlockRange) -> Result<Batch<T>, SourceError> {
        let blocks = self.shared.take_blocks(*range)?;
        self.delivered.push_back((time, range.end));
        Ok(Batch::from_partitions(blocks))
    }

    fn release(&mut self, through: Time) {
        let mut end = None;
        while let Some(&(time, range_end)) = self.delivered.front()
            && time <= through
        {
            end = Some(range_end);
            self.delivered.pop_front();
        }
        if let Some(end) = end
            && let Err(e) = self.shared.blocks().release_below(end)
        {
            self.shared
                .report_error(format!("cannot clean the write-ahead log: {e}"));
        }
    }
}

/// Sets `done` however the supervisor ends.
struct DoneGuard<T: Send + 'static>(Arc<ReceiverShared<T>>);

impl<T: Send + 'static> Drop for DoneGuard<T> {
    fn drop(&mut self) {
        self.0.set_done();
    }
}

fn supervise<R: Receiver>(mut receiver: R, shared: Arc<ReceiverShared<R::Item>>, (initial, max): (Duration, Duration)) {
    let _done = DoneGuard(shared.clone());
    let ctx = ReceiverContext { shared: shared.clone() };
    tracing::info!(input = shared.input, receiver = %shared.name, "receiver started");
    shared.events.send(StreamingEvent::ReceiverStarted(shared.info(true)));
    let mut delay = initial;
    loop {
        let stored_before = shared.counters.records.load(Ordering::Relaxed);
        let outcome = catch_unwind(AssertUnwindSafe(|| receiver.on_start(&ctx)));
        if catch_unwind(AssertUnwindSafe(|| receiver.on_stop())).is_err() {
            shared.report_error("the receiver's on_stop panicked".to_owned());
        }
        let restart = lock(&shared.restart).take();
        match outcome {
            Ok(Ok(())) => {
                if ctx.is_stopped() {
                    break;
                }
                match restart {
                    Some(reason) => shared.report_error(format!("restarting: {reason}")),
                    None => {
                        tracing::info!(input = shared.input, "receiver finished: source exhausted");
                        break;
                    }
                }
            }
            Ok(Err(e)) => shared.report_error(e.full_message()),
            Err(panic) => shared.report_error(format!("the receiver panicked: {}", crate::panic::message(&*panic))),
        }
        if ctx.is_stopped() {
            break;
        }
        // A receiver that got data through since its last start is healthy:
        // the next failure starts the backoff over.
        if shared.counters.records.load(Ordering::Relaxed) > stored_before {
            delay = initial;
        }
        shared.counters.restarts.fetch_add(1, Ordering::Relaxed);
        let wake = Instant::now() + delay;
        while Instant::now() < wake && !ctx.is_stopped() {
            std::thread::sleep((wake - Instant::now()).min(Duration::from_millis(20)));
        }
        if ctx.is_stopped() {
            break;
        }
        delay = (delay * 2).min(max);
    }
    tracing::info!(input = shared.input, receiver = %shared.name, "receiver stopped");
    shared.events.send(StreamingEvent::ReceiverStopped(shared.info(false)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::error::ReceiverError;
    use crate::live::listener::EventSender;
    use crate::live::memory::Budget;
    use crate::{Batch, Time};

    struct Flaky {
        attempts: u32,
    }

    impl Receiver for Flaky {
        type Item = u32;
        fn on_start(&mut self, ctx: &ReceiverContext<u32>) -> Result<(), ReceiverError> {
            self.attempts += 1;
            ctx.store_many(vec![self.attempts; 3])
                .map_err(|_| ReceiverError::new("stopped"))?;
            match self.attempts {
                1 => Err(ReceiverError::new("connection dropped")),
                2 => panic!("bad state"),
                3 => {
                    ctx.restart("asked");
                    Ok(())
                }
                _ => Ok(()),
            }
        }
    }

    fn env(budget: usize) -> InputEnv {
        InputEnv {
            share: None,
            mesh: None,
            port: "numbers",
            block_interval: Duration::from_secs(3600),
            budget: Arc::new(Budget::new(budget, usize::MAX)),
            events: EventSender::none(),
            max_rate: 0.0,
            batch_interval: Duration::from_secs(1),
            restart_backoff: (Duration::from_millis(1), Duration::from_millis(4)),
            record: false,
            wal: None,
            kept: false,
        }
    }

    #[test]
    fn a_failing_receiver_is_restarted_and_keeps_what_it_stored() {
        let mut started = start_receiver(Flaky { attempts: 0 }, &env(100)).unwrap();
        let control = started.receiver.clone().unwrap();
        assert!(control.wait_stopped(Duration::from_secs(10)));
        let stats = started.counters.snapshot();
        assert_eq!((stats.records, stats.errors, stats.restarts), (12, 3, 3));
        let time = Time::from_millis(100);
        let pending = started.feed.cut(time);
        assert_eq!(pending.held.records, 12);
        assert_eq!(pending.held.bytes, 12 * 4);
        let out = started.delivery.deliver(time, &pending).unwrap();
        let batch = out.batch.downcast::<Batch<u32>>().unwrap();
        assert_eq!(batch.to_vec(), vec![1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
        // One block: the block interval is long.
        assert_eq!(batch.num_partitions(), 1);
    }

    struct Endless;

    impl Receiver for Endless {
        type Item = u8;
        fn on_start(&mut self, ctx: &ReceiverContext<u8>) -> Result<(), ReceiverError> {
            while !ctx.is_stopped() {
                if ctx.store(1).is_err() {
                    break;
                }
            }
            Ok(())
        }
    }

    #[test]
    fn the_memory_bound_blocks_stores_until_a_batch_is_processed() {
        let env = env(50);
        let budget = env.budget.clone();
        let mut started = start_receiver(Endless, &env).unwrap();
        while budget.used().records < 50 {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(started.counters.snapshot().records, 50);
        let pending = started.feed.cut(Time::from_millis(100));
        assert_eq!(pending.records, Some(50));
        budget.release(pending.held);
        while started.counters.snapshot().records < 100 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let control = started.receiver.clone().unwrap();
        control.request_stop(true);
        assert!(control.wait_stopped(Duration::from_secs(10)));
        assert_eq!(budget.peak().records, 50);
    }
}
