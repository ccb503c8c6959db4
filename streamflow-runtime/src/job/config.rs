//! How a job runs: threads, partitions, where `print` writes.

use crate::ConfigError;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// How a job runs: threads, partitions, where `print` writes.
#[derive(Clone)]
pub struct JobConfig {
    pub(crate) threads: Option<usize>,
    /// Whether each thread of the job's own pool is bound to a CPU.
    pub(crate) pin_threads: bool,
    pub(crate) partitions: usize,
    pub(crate) print_target: PrintTarget,
    /// The mesh to the other processes when the job runs on a cluster.
    #[cfg(feature = "cluster")]
    pub(crate) cluster: Option<Arc<crate::cluster::Mesh>>,
}

/// Where the `print` output operator writes.
#[derive(Clone, Default)]
pub enum PrintTarget {
    /// Standard output (the default).
    #[default]
    Stdout,
    /// A shared writer, for capturing output in tests.
    Writer(Arc<Mutex<dyn Write + Send>>),
}

impl PrintTarget {
    /// Writes `text` in one write and flushes it, so that blocks printed
    /// concurrently by several jobs do not interleave.
    pub(crate) fn write(&self, text: &str) -> std::io::Result<()> {
        match self {
            PrintTarget::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes()).and_then(|()| out.flush())
            }
            PrintTarget::Writer(writer) => {
                // A writer poisoned by another thread's panic still holds valid bytes.
                let mut out = writer.lock().unwrap_or_else(|e| e.into_inner());
                out.write_all(text.as_bytes()).and_then(|()| out.flush())
            }
        }
    }
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig {
            threads: None,
            pin_threads: false,
            partitions: default_partitions(),
            print_target: PrintTarget::Stdout,
            #[cfg(feature = "cluster")]
            cluster: None,
        }
    }
}

fn default_partitions() -> usize {
    // Several tasks per thread keep each task's hash map small enough to stay in
    // cache and balance uneven partitions (measured: see benches/fusion.rs).
    rayon::current_num_threads().max(1) * 4
}

impl JobConfig {
    /// The default configuration: rayon's global pool, four partitions per thread.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs the job on its own pool of `n` threads instead of rayon's global pool.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n);
        self
    }

    /// Binds each thread of the job's own pool (see [`threads`](Self::threads))
    /// to one CPU the process may run on: thread `i` to the `i`-th, wrapping
    /// around when there are more threads than CPUs.
    ///
    /// For a machine the job has to itself: an idle pool's threads woken for
    /// a short batch may otherwise be put on one core while another is idle
    /// (a 4 ms grep on 2 cores took 7–10 ms in such rounds), and each batch
    /// then runs as the kernel happened to place it. The price: a pinned
    /// thread waits for its CPU when other work holds it, where an unpinned
    /// one would move, and several pinned jobs in one process share the same
    /// CPUs, first thread on the first CPU. Off by default; building the job
    /// fails if the threads cannot be bound, and without `threads(n)`
    /// (rayon's global pool is not the job's to bind).
    pub fn pin_threads(mut self) -> Self {
        self.pin_threads = true;
        self
    }

    /// The number of partitions of shuffle outputs and of single-partition inputs.
    pub fn partitions(mut self, n: usize) -> Self {
        self.partitions = n;
        self
    }

    /// Sends `print` output to `writer` instead of standard output.
    pub fn print_to(mut self, writer: Arc<Mutex<dyn Write + Send>>) -> Self {
        self.print_target = PrintTarget::Writer(writer);
        self
    }

    /// Runs the job as one process of a cluster (feature `cluster`): every
    /// process runs the same job on the same batch times, each owns a block
    /// of every batch's partitions, and every exchange moves buckets to their
    /// partition's owner through `mesh`. Every process must use the same
    /// partition count.
    #[cfg(feature = "cluster")]
    pub fn cluster(mut self, mesh: Arc<crate::cluster::Mesh>) -> Self {
        self.cluster = Some(mesh);
        self
    }

    /// The number of shuffle partitions.
    pub fn partition_count(&self) -> usize {
        self.partitions
    }

    /// The configured thread count, if the job has its own pool.
    pub fn thread_count(&self) -> Option<usize> {
        self.threads
    }

    /// Checks the configuration (a thread or partition count of zero is an
    /// error, and so is [`pin_threads`](Self::pin_threads) without
    /// [`threads`](Self::threads)).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.threads == Some(0) {
            return Err(ConfigError::ZeroThreads);
        }
        if self.partitions == 0 {
            return Err(ConfigError::ZeroPartitions);
        }
        if self.pin_threads && self.threads.is_none() {
            return Err(ConfigError::PinningWithoutThreads);
        }
        Ok(())
    }
}
