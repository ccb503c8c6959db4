//! How a job runs: threads, partitions, where `print` writes.

use crate::ConfigError;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// How a job runs: threads, partitions, where `print` writes.
#[derive(Clone)]
pub struct JobConfig {
    pub(crate) threads: Option<usize>,
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

    /// Checks the configuration (a thread or partition count of zero is an error).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.threads == Some(0) {
            return Err(ConfigError::ZeroThreads);
        }
        if self.partitions == 0 {
            return Err(ConfigError::ZeroPartitions);
        }
        Ok(())
    }
}
