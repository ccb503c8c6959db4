//! Binding a job's own threads to CPUs (`JobConfig::pin_threads`).
//!
//! A pool that is idle between short batches has its threads woken by the
//! kernel wherever it sees fit, and on a small machine it often woke both on
//! the core of the thread that woke them while another core sat idle: a 4 ms
//! grep then took 7–10 ms, round after round (`benches/word_count.rs`). A
//! thread bound to one CPU runs there or waits for it: a job whose threads
//! each have a CPU of their own never has two of them share a core.

use crate::ConfigError;
use core_affinity::CoreId;

/// Binds thread `i` of `pool` to the `i`-th CPU this process may run on,
/// wrapping around when the pool has more threads than there are CPUs.
pub(crate) fn pin_threads(pool: &rayon::ThreadPool) -> Result<(), ConfigError> {
    let cpus: Vec<CoreId> = core_affinity::get_core_ids()
        .filter(|cpus| !cpus.is_empty())
        .ok_or_else(|| ConfigError::Pinning("cannot read the CPUs this process may run on".into()))?;
    let cpu_of = |thread: usize| cpus[thread % cpus.len()];
    // Every thread binds itself; each says whether the kernel took it.
    let bound = pool.broadcast(|thread| core_affinity::set_for_current(cpu_of(thread.index())));
    match bound.iter().position(|&ok| !ok) {
        None => Ok(()),
        Some(thread) => Err(ConfigError::Pinning(format!(
            "cannot bind thread {thread} to CPU {}",
            cpu_of(thread).id
        ))),
    }
}
