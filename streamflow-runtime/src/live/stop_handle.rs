//! [`StopHandle`]: a way to stop a job that exists before the job starts, for
//! listeners and sinks built before `start()` (Spark's
//! `onReceiverError -> ssc.stop()`).

use super::run_state::Shared;
use super::sync::lock;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};

/// Stops the job of the [`StreamingContext`](super::StreamingContext) it came
/// from ([`stop_handle`](super::StreamingContext::stop_handle)). Made before
/// `start()`, so a listener or sink can hold it from the beginning: a stop
/// asked for while `start()` is still running (a receiver that fails at
/// once) is not lost, it is carried out as soon as the job is running; one
/// asked for before `start()` stops the job right after it starts.
///
/// It does not keep the job alive (unlike a [`StreamingHandle`](super::StreamingHandle),
/// whose last clone's drop stops the job), and it never waits: `stop` starts
/// the stop and returns at once, so it is safe on the listener thread and in
/// a sink. Wait for the end with the `StreamingHandle` that `start()` returned.
///
/// ```no_run
/// use streamflow::live::{ReceiverInfo, StopHandle, StreamingListener, sources};
/// use streamflow::prelude::*;
///
/// stream_job! {
///     pub job Echo {
///         batch_interval = 1s;
///         input lines: String;
///         lines.print();
///     }
/// }
///
/// /// Spark's `onReceiverError`: give up at the first receiver error.
/// struct StopOnReceiverError(StopHandle);
///
/// impl StreamingListener for StopOnReceiverError {
///     fn on_receiver_error(&mut self, receiver: &ReceiverInfo) {
///         eprintln!("giving up: {:?}", receiver.last_error);
///         self.0.stop(false);
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let context = StreamingContext::new(Echo::new());
/// let stop = context.stop_handle();
/// let handle = context
///     .listener(StopOnReceiverError(stop))
///     .input("lines", sources::socket_text_stream("localhost", 9999))?
///     .start()?;
/// handle.await_termination()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct StopHandle {
    slot: Arc<Mutex<Slot>>,
}

#[derive(Debug, Default)]
struct Slot {
    /// The running job, once `start()` has launched it.
    job: Option<Weak<Shared>>,
    /// A stop asked for before that: whether it is graceful.
    pending: Option<bool>,
}

impl StopHandle {
    /// Stops the job: gracefully (everything received is processed and
    /// written first) or immediately (see
    /// [`StreamingHandle::stop`](super::StreamingHandle::stop)). Returns at
    /// once; does nothing once the job has ended. An immediate stop asked
    /// for after a graceful one still cuts it short.
    pub fn stop(&self, graceful: bool) {
        let job = {
            let mut slot = lock(&self.slot);
            match &slot.job {
                Some(job) => job.upgrade(),
                None => {
                    // Immediate wins over graceful, as on the handle.
                    slot.pending = Some(slot.pending.unwrap_or(true) && graceful);
                    return;
                }
            }
        };
        if let Some(shared) = job {
            request_stop(shared, graceful);
        }
    }

    /// Whether a stop was asked for (through this handle or a clone).
    pub fn is_stop_requested(&self) -> bool {
        let slot = lock(&self.slot);
        slot.pending.is_some()
            || slot
                .job
                .as_ref()
                .and_then(Weak::upgrade)
                .is_some_and(|s| s.stopping.load(Ordering::SeqCst) || s.agreed.as_ref().is_some_and(|a| a.is_wanted()))
    }

    /// Links the handle to the job `start()` launched, and carries out a stop
    /// asked for meanwhile.
    pub(super) fn attach(&self, shared: &Arc<Shared>) {
        let pending = {
            let mut slot = lock(&self.slot);
            slot.job = Some(Arc::downgrade(shared));
            slot.pending
        };
        if let Some(graceful) = pending {
            request_stop(shared.clone(), graceful);
        }
    }
}

/// A graceful stop waits for the receivers to stop: never on the caller's
/// thread, which may be the listener or driver thread the stop waits for.
fn request_stop(shared: Arc<Shared>, graceful: bool) {
    if !graceful {
        shared.request_stop(false);
        return;
    }
    let spawned = std::thread::Builder::new().name("streamflow-stop".into()).spawn({
        let shared = shared.clone();
        move || shared.request_stop(true)
    });
    if spawned.is_err() {
        // No thread to wait on: an immediate stop needs none.
        tracing::warn!("cannot start a thread for a graceful stop: stopping immediately");
        shared.request_stop(false);
    }
}
