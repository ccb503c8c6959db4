//! Stopping on SIGINT and SIGTERM, as Spark's `stopGracefullyOnShutdown`: the
//! first signal stops every watched job gracefully (receivers finish, what
//! was received is processed and written), a second one stops them
//! immediately, a third one (or any signal once no watched job runs) does
//! what the signal does by default: the process ends.
//!
//! One thread per process reads the signals (signal-hook's iterator: the
//! handler itself only writes to a pipe, so nothing unsafe runs in it) and
//! asks the jobs to stop; stops are started on threads of their own, so a
//! graceful stop that waits for receivers never delays the next signal.

use super::run_state::Shared;
use super::sync::lock;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// A job that stops on signals, and how many signals it heard.
struct Watched {
    shared: Weak<Shared>,
    heard: u32,
}

/// The jobs that asked to stop on signals.
static JOBS: Mutex<Vec<Watched>> = Mutex::new(Vec::new());

/// Whether the watcher thread runs (or why it could not start).
static WATCHER: OnceLock<Result<(), String>> = OnceLock::new();

/// Stops the job of `shared` gracefully on the first SIGINT or SIGTERM,
/// immediately on the second. Starts the process's watcher thread once.
pub(super) fn watch(shared: &Arc<Shared>) -> Result<(), String> {
    WATCHER.get_or_init(start_watcher).clone()?;
    lock(&JOBS).push(Watched {
        shared: Arc::downgrade(shared),
        heard: 0,
    });
    Ok(())
}

fn start_watcher() -> Result<(), String> {
    let signals = Signals::new([SIGINT, SIGTERM]).map_err(|e| format!("cannot handle SIGINT/SIGTERM: {e}"))?;
    std::thread::Builder::new()
        .name("streamflow-signals".into())
        .spawn(move || read_signals(signals))
        .map(drop)
        .map_err(|e| format!("cannot start thread `streamflow-signals`: {e}"))
}

fn read_signals(mut signals: Signals) {
    for signal in signals.forever() {
        let name = if signal == SIGINT { "SIGINT" } else { "SIGTERM" };
        let mut jobs = lock(&JOBS);
        // Jobs that ended (or were dropped) no longer hold the signal back.
        jobs.retain(|job| job.shared.upgrade().is_some_and(|s| !s.state().terminated));
        let escalate = jobs.is_empty() || jobs.iter().any(|job| job.heard >= 2);
        if escalate {
            tracing::warn!("{name} received: no job left to stop gracefully; exiting");
            drop(jobs);
            // The signal's own action: the process ends as it would have
            // without us.
            let _ = signal_hook::low_level::emulate_default_handler(signal);
            continue;
        }
        for job in jobs.iter_mut() {
            let Some(shared) = job.shared.upgrade() else { continue };
            job.heard += 1;
            let graceful = job.heard == 1;
            if graceful {
                tracing::warn!(
                    job = shared.plan.job,
                    "{name} received: stopping gracefully (send it again to stop immediately)"
                );
            } else {
                tracing::warn!(job = shared.plan.job, "{name} received again: stopping immediately");
            }
            // A graceful stop waits for the receivers: never on this thread.
            let stopper = std::thread::Builder::new()
                .name("streamflow-stop".into())
                .spawn(move || shared.request_stop(graceful));
            if let Err(e) = stopper {
                tracing::error!("cannot start a thread to stop the job: {e}");
            }
        }
    }
}
