//! Receivers: sources that push records on their own thread (Spark's
//! `Receiver`). A supervisor runs each one, restarts it with backoff when it
//! fails, and cuts what it stores into blocks that become a batch's partitions.

use super::error::ReceiverError;
use super::listener::{EventSender, ReceiverInfo, StreamingEvent};
use super::memory::Budget;
use super::rate::RateLimiter;
use super::sources::{Feed, InputCounters, InputEnv, Materialized, Pending, StartedInput};
use crate::{Batch, Time};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A custom source, run on its own thread (Spark's `Receiver`).
///
/// [`on_start`](Self::on_start) receives: it reads from wherever the data
/// comes from and hands records to [`ReceiverContext::store`] (or
/// [`store_many`](ReceiverContext::store_many)) until
/// [`ReceiverContext::is_stopped`] turns true. Then:
///
/// - returning `Ok(())` after a stop ends the receiver;
/// - returning `Ok(())` without a stop means the source is exhausted: the
///   receiver stops for good, unless it called [`ReceiverContext::restart`];
/// - returning `Err(e)` (a dropped connection, say) reports `e` to the
///   listeners and logs, and starts the receiver again after a backoff
///   (100 ms, doubling up to the context's maximum). Records stored before the
///   error are kept.
///
/// A panic in `on_start` is reported and restarted like an error.
/// [`on_stop`](Self::on_stop) runs after every `on_start`, to release what it
/// opened.
///
/// ```
/// use streamflow_runtime::live::{Receiver, ReceiverContext, ReceiverError};
///
/// /// Counts up from zero, forever.
/// struct Counter(u64);
///
/// impl Receiver for Counter {
///     type Item = u64;
///     fn name(&self) -> String { "counter".into() }
///     fn on_start(&mut self, ctx: &ReceiverContext<u64>) -> Result<(), ReceiverError> {
///         while !ctx.is_stopped() {
///             // `store` waits while the rate limit or the memory bound says so.
///             if ctx.store(self.0).is_err() { break; }
///             self.0 += 1;
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait Receiver: Send + 'static {
    /// The records it produces.
    type Item: Send + 'static;

    /// A name for logs and listeners.
    fn name(&self) -> String {
        std::any::type_name::<Self>().to_owned()
    }

    /// Receives until stopped (see the trait's documentation).
    fn on_start(&mut self, ctx: &ReceiverContext<Self::Item>) -> Result<(), ReceiverError>;

    /// Releases what `on_start` opened; called after each `on_start` returns.
    fn on_stop(&mut self) {}
}

/// The receiver was stopped: what was being stored was not taken (only after
/// an immediate stop; a graceful stop lets stores finish).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the receiver was stopped")]
pub struct Stopped;

/// What a receiver talks to: store records, report errors, ask for a restart
/// or a stop. Given to [`Receiver::on_start`].
pub struct ReceiverContext<T> {
    shared: Arc<ReceiverShared<T>>,
}

impl<T: Send + 'static> ReceiverContext<T> {
    /// Stores one record. Waits while the receiver's rate limit or the
    /// context's memory bound does not allow more.
    pub fn store(&self, record: T) -> Result<(), Stopped> {
        self.shared.store_vec(vec![record])
    }

    /// Stores many records, in order (cheaper than one by one).
    pub fn store_many(&self, records: impl IntoIterator<Item = T>) -> Result<(), Stopped> {
        let chunk = self.shared.chunk_size();
        let mut records = records.into_iter();
        loop {
            let part: Vec<T> = records.by_ref().take(chunk).collect();
            if part.is_empty() {
                return Ok(());
            }
            self.shared.store_vec(part)?;
        }
    }

    /// Reports an error to the listeners and logs; the receiver goes on.
    pub fn report_error(&self, message: impl Into<String>) {
        self.shared.report_error(message.into());
    }

    /// Counts a record that could not be accepted (malformed input) and
    /// reports it; the receiver goes on.
    pub fn reject(&self, message: impl Into<String>) {
        self.shared.counters.rejected.fetch_add(1, Ordering::Relaxed);
        self.shared.report_error(message.into());
    }

    /// Asks for a restart: return from `on_start` and the supervisor starts
    /// it again after a backoff.
    pub fn restart(&self, message: impl Into<String>) {
        let message = message.into();
        *lock(&self.shared.restart) = Some(message);
    }

    /// Stops this receiver for good (the job goes on); `is_stopped` turns true.
    pub fn stop(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::info!(input = self.shared.input, %message, "receiver stops itself");
        self.shared.stopping.store(true, Ordering::SeqCst);
    }

    /// Whether the receiver must stop receiving and return.
    pub fn is_stopped(&self) -> bool {
        self.shared.stopping.load(Ordering::Relaxed)
    }

    /// The input port this receiver feeds.
    pub fn input(&self) -> &'static str {
        self.shared.input
    }
}

/// Records stored and not yet cut into a batch.
struct Blocks<T> {
    current: Vec<T>,
    started: Instant,
    sealed: Vec<Vec<T>>,
    records: usize,
}

/// What the receiver's thread, the scheduler and the context share.
pub(crate) struct ReceiverShared<T> {
    input: &'static str,
    name: String,
    blocks: Mutex<Blocks<T>>,
    block_interval: Duration,
    budget: Arc<Budget>,
    limiter: RateLimiter,
    /// The configured ceiling (0 = none); backpressure only lowers the rate.
    max_rate: f64,
    /// A stop was asked for: `is_stopped` is true.
    stopping: AtomicBool,
    /// The stop is immediate: waiting stores give up.
    abort: AtomicBool,
    restart: Mutex<Option<String>>,
    counters: Arc<InputCounters>,
    events: EventSender,
    last_error: Mutex<Option<String>>,
    done: Mutex<bool>,
    done_cv: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section leaves its data consistent: a panic elsewhere
    // does not make it unusable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T: Send + 'static> ReceiverShared<T> {
    fn chunk_size(&self) -> usize {
        // Small enough to pace smoothly and to fit in the memory bound.
        let by_rate = self.limiter.rate().map_or(usize::MAX, |r| ((r / 20.0) as usize).max(1));
        by_rate.min(4096).min(self.budget.limit()).max(1)
    }

    fn store_vec(&self, records: Vec<T>) -> Result<(), Stopped> {
        let n = records.len();
        if n == 0 {
            return Ok(());
        }
        if !self.limiter.acquire(n, &self.abort) || !self.budget.acquire(n, &self.abort) {
            return Err(Stopped);
        }
        {
            let mut b = lock(&self.blocks);
            if b.current.is_empty() {
                b.started = Instant::now();
            } else if b.started.elapsed() >= self.block_interval {
                let block = std::mem::take(&mut b.current);
                b.sealed.push(block);
                b.started = Instant::now();
            }
            b.current.extend(records);
            b.records += n;
        }
        self.counters.records.fetch_add(n as u64, Ordering::Relaxed);
        Ok(())
    }

    fn take_blocks(&self) -> (Vec<Vec<T>>, usize) {
        let mut b = lock(&self.blocks);
        if !b.current.is_empty() {
            let block = std::mem::take(&mut b.current);
            b.sealed.push(block);
        }
        let records = std::mem::take(&mut b.records);
        (std::mem::take(&mut b.sealed), records)
    }

    fn info(&self, active: bool) -> ReceiverInfo {
        ReceiverInfo {
            input: self.input,
            name: self.name.clone(),
            active,
            last_error: lock(&self.last_error).clone(),
            restarts: self.counters.restarts.load(Ordering::Relaxed),
        }
    }

    fn report_error(&self, message: String) {
        tracing::warn!(input = self.input, receiver = %self.name, "{message}");
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last_error) = Some(message);
        self.events.send(StreamingEvent::ReceiverError(self.info(true)));
    }
}

/// What the context needs of a receiver, whatever its record type.
pub(crate) trait ReceiverControl: Send + Sync {
    /// Asks the receiver to stop; an immediate stop also aborts waiting stores.
    fn request_stop(&self, immediate: bool);
    /// Waits until the receiver's thread has finished; false on timeout.
    fn wait_stopped(&self, timeout: Duration) -> bool;
    /// Sets the rate backpressure estimated (capped by the configured maximum).
    fn set_rate(&self, records_per_second: f64);
    /// The current rate limit, if any.
    fn rate(&self) -> Option<f64>;
}

impl<T: Send + 'static> ReceiverControl for ReceiverShared<T> {
    fn request_stop(&self, immediate: bool) {
        if immediate {
            self.abort.store(true, Ordering::SeqCst);
        }
        self.stopping.store(true, Ordering::SeqCst);
    }

    fn wait_stopped(&self, timeout: Duration) -> bool {
        let done = lock(&self.done);
        let (done, _) = self
            .done_cv
            .wait_timeout_while(done, timeout, |done| !*done)
            .unwrap_or_else(|e| e.into_inner());
        *done
    }

    fn set_rate(&self, records_per_second: f64) {
        let rate = if self.max_rate > 0.0 {
            records_per_second.min(self.max_rate)
        } else {
            records_per_second
        };
        tracing::debug!(input = self.input, rate, "receiver rate updated");
        self.limiter.set_rate(rate);
    }

    fn rate(&self) -> Option<f64> {
        self.limiter.rate()
    }
}

/// The batch-side view of a receiver: cuts its blocks at each batch time.
struct ReceiverFeed<T> {
    shared: Arc<ReceiverShared<T>>,
}

struct ReceivedBlocks<T> {
    blocks: Vec<Vec<T>>,
    records: usize,
}

impl<T: Send + 'static> Feed for ReceiverFeed<T> {
    fn cut(&mut self, _time: Time) -> Box<dyn Pending> {
        let (blocks, records) = self.shared.take_blocks();
        Box::new(ReceivedBlocks { blocks, records })
    }
}

impl<T: Send + 'static> Pending for ReceivedBlocks<T> {
    fn known_records(&self) -> Option<usize> {
        Some(self.records)
    }

    fn budgeted(&self) -> usize {
        self.records
    }

    fn materialize(self: Box<Self>, _time: Time) -> Materialized {
        Materialized {
            batch: Box::new(Batch::from_partitions(self.blocks)),
            records: self.records,
        }
    }
}

/// Starts `receiver` on its own thread under a supervisor.
pub(crate) fn start_receiver<R: Receiver>(receiver: R, env: &InputEnv) -> std::io::Result<StartedInput> {
    let counters = Arc::new(InputCounters::default());
    let shared = Arc::new(ReceiverShared {
        input: env.port,
        name: receiver.name(),
        blocks: Mutex::new(Blocks {
            current: Vec::new(),
            started: Instant::now(),
            sealed: Vec::new(),
            records: 0,
        }),
        block_interval: env.block_interval,
        budget: env.budget.clone(),
        limiter: RateLimiter::new(env.max_rate),
        max_rate: env.max_rate,
        stopping: AtomicBool::new(false),
        abort: AtomicBool::new(false),
        restart: Mutex::new(None),
        counters: counters.clone(),
        events: env.events.clone(),
        last_error: Mutex::new(None),
        done: Mutex::new(false),
        done_cv: Condvar::new(),
    });
    let backoff = env.restart_backoff;
    let thread_shared = shared.clone();
    std::thread::Builder::new()
        .name(format!("streamflow-receiver-{}", env.port))
        .spawn(move || supervise(receiver, thread_shared, backoff))?;
    Ok(StartedInput {
        feed: Box::new(ReceiverFeed { shared: shared.clone() }),
        receiver: Some(shared),
        counters,
        description: String::new(),
    })
}

/// Sets `done` however the supervisor ends.
struct DoneGuard<T: Send + 'static>(Arc<ReceiverShared<T>>);

impl<T: Send + 'static> Drop for DoneGuard<T> {
    fn drop(&mut self) {
        *lock(&self.0.done) = true;
        self.0.done_cv.notify_all();
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
            port: "numbers",
            block_interval: Duration::from_secs(3600),
            budget: Arc::new(Budget::new(budget)),
            events: EventSender::none(),
            max_rate: 0.0,
            restart_backoff: (Duration::from_millis(1), Duration::from_millis(4)),
        }
    }

    #[test]
    fn a_failing_receiver_is_restarted_and_keeps_what_it_stored() {
        let mut started = start_receiver(Flaky { attempts: 0 }, &env(100)).unwrap();
        let control = started.receiver.clone().unwrap();
        assert!(control.wait_stopped(Duration::from_secs(10)));
        let stats = started.counters.snapshot();
        assert_eq!((stats.records, stats.errors, stats.restarts), (12, 3, 3));
        let pending = started.feed.cut(Time::from_millis(100));
        assert_eq!(pending.budgeted(), 12);
        let out = pending.materialize(Time::from_millis(100));
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
        while budget.used() < 50 {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(started.counters.snapshot().records, 50);
        let pending = started.feed.cut(Time::from_millis(100));
        assert_eq!(pending.known_records(), Some(50));
        budget.release(pending.budgeted());
        while started.counters.snapshot().records < 100 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let control = started.receiver.clone().unwrap();
        control.request_stop(true);
        assert!(control.wait_stopped(Duration::from_secs(10)));
        assert_eq!(budget.peak(), 50);
    }
}
