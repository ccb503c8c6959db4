//! Where the processes of a cluster are, and which one owns a partition.

use std::path::Path;
use std::time::Duration;

/// How long a process waits for the others' answers when they agree
/// (unless [`ClusterConfig::with_answer_timeout`] says otherwise).
pub const DEFAULT_ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// The processes a job runs on: every process's address (`host:port`, in
/// process order, the same list on every process) and this process's index
/// in it. Every process runs the same binary with the same job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    process: usize,
    addresses: Vec<String>,
    answer_timeout: Duration,
}

/// Why a cluster could not be set up or lost a process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// The configuration is not usable (no addresses, index out of range,
    /// unreadable hosts file).
    #[error("cluster configuration: {0}")]
    Config(String),
    /// The processes did not all connect within the time allowed.
    #[error("cluster: {0}")]
    Connect(String),
    /// The mesh stopped: a process died or a connection broke. Timely
    /// dataflow is fail-stop, so the job cannot go on.
    #[error("cluster: lost the mesh between processes ({0}); the job stops")]
    Lost(String),
    /// The processes do not run the same thing (another process list, job,
    /// partition count, batch interval or plan): the difference, named.
    #[error("cluster: {0}")]
    Disagree(String),
}

impl ClusterConfig {
    /// Process `process` of the processes at `addresses`.
    pub fn new(process: usize, addresses: Vec<String>) -> Result<Self, ClusterError> {
        if addresses.is_empty() {
            return Err(ClusterError::Config("no process addresses".into()));
        }
        if process >= addresses.len() {
            return Err(ClusterError::Config(format!(
                "process index {process} is not below the number of processes ({})",
                addresses.len()
            )));
        }
        Ok(ClusterConfig {
            process,
            addresses,
            answer_timeout: DEFAULT_ANSWER_TIMEOUT,
        })
    }

    /// The same, waiting at most `timeout` (default
    /// [`DEFAULT_ANSWER_TIMEOUT`], 30 s) for every other process's answer
    /// when the processes agree: on the process list once connected, on the
    /// job when it is built, and on the zero time and the checkpoint to
    /// resume when it starts. A process that connected and then does not
    /// answer (stopped, hung, or in another step of its program) fails the
    /// others with an error naming it, instead of making them wait forever.
    /// The bound covers the work a process does before it answers: loading
    /// a checkpoint and restoring its state, starting its sources (a Kafka
    /// stream may wait for its topics); raise it if that takes longer. (The
    /// rounds of a running job have no such bound: a batch may take longer
    /// on one process than on another; a process that dies there is found
    /// by the mesh.)
    pub fn with_answer_timeout(mut self, timeout: Duration) -> Self {
        self.answer_timeout = timeout;
        self
    }

    /// How long the processes wait for each other's answers when they agree.
    pub fn answer_timeout(&self) -> Duration {
        self.answer_timeout
    }

    /// Process `process` of the processes listed in a hosts file: one
    /// `host:port` per line, in process order (blank lines and lines
    /// starting with `#` are skipped).
    pub fn from_hosts_file(path: impl AsRef<Path>, process: usize) -> Result<Self, ClusterError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ClusterError::Config(format!("cannot read hosts file {}: {e}", path.display())))?;
        let addresses = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(String::from)
            .collect();
        ClusterConfig::new(process, addresses)
    }

    /// This process's index.
    pub fn process(&self) -> usize {
        self.process
    }

    /// The number of processes.
    pub fn processes(&self) -> usize {
        self.addresses.len()
    }

    /// Every process's address, in process order.
    pub fn addresses(&self) -> &[String] {
        &self.addresses
    }
}

/// The process that owns partition `partition` of `partitions` on a cluster
/// of `processes`: contiguous blocks of near-equal size.
pub fn owner(partition: usize, partitions: usize, processes: usize) -> usize {
    if partitions == 0 {
        return 0;
    }
    partition * processes / partitions
}

/// This process's share of a live job's input on a cluster: which files it
/// reads, and where in the batch its elements go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Share {
    pub(crate) process: usize,
    pub(crate) processes: usize,
    /// The job's partition count, the same on every process.
    pub(crate) partitions: usize,
}

impl Share {
    /// Whether this process reads the file named `name`: by a hash of the
    /// name alone (FNV-1a, fixed across builds and machines), so a file is
    /// read by exactly one process whichever listing first sees it.
    pub(crate) fn reads(&self, name: &[u8]) -> bool {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in name {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        (hash % self.processes as u64) as usize == self.process
    }

    /// Lays out what this process read as a batch of the job's partition
    /// count, with its elements (in order) spread over the partitions this
    /// process owns and the others empty: every process's input then has the
    /// same partitions, none of them filled by two processes, so the engine
    /// keeps them as they are.
    pub(crate) fn place<T>(&self, parts: Vec<Vec<T>>) -> Vec<Vec<T>> {
        let n = self.partitions.max(1);
        let owned: Vec<usize> = (0..n)
            .filter(|&p| owner(p, n, self.processes) == self.process)
            .collect();
        let mut out: Vec<Vec<T>> = (0..n).map(|_| Vec::new()).collect();
        let elements: Vec<T> = parts.into_iter().flatten().collect();
        if owned.is_empty() || elements.is_empty() {
            return out;
        }
        let total = elements.len();
        let mut rest = elements.into_iter();
        for (i, &p) in owned.iter().enumerate() {
            let take = total * (i + 1) / owned.len() - total * i / owned.len();
            out[p] = rest.by_ref().take(take).collect();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_reads_each_name_on_one_process_and_fills_only_owned_partitions() {
        let shares: Vec<Share> = (0..3)
            .map(|process| Share {
                process,
                processes: 3,
                partitions: 6,
            })
            .collect();
        for name in ["a.txt", "b.txt", "part-00017", ""] {
            assert_eq!(shares.iter().filter(|s| s.reads(name.as_bytes())).count(), 1, "{name}");
        }
        let placed = shares[1].place(vec![vec![1, 2, 3], vec![4, 5]]);
        assert_eq!(placed, vec![vec![], vec![], vec![1, 2], vec![3, 4, 5], vec![], vec![]]);
        assert_eq!(shares[2].place(Vec::<Vec<u8>>::new()), vec![Vec::<u8>::new(); 6]);
    }

    #[test]
    fn owners_are_contiguous_blocks_covering_every_process() {
        let owners: Vec<usize> = (0..8).map(|p| owner(p, 8, 3)).collect();
        assert_eq!(owners, vec![0, 0, 0, 1, 1, 1, 2, 2]);
        let fewer: Vec<usize> = (0..2).map(|p| owner(p, 2, 3)).collect();
        assert_eq!(fewer, vec![0, 1]);
        assert!((1..100).all(|p| owner(p - 1, 100, 4) <= owner(p, 100, 4)));
        assert_eq!(owner(99, 100, 4), 3);
    }

    #[test]
    fn config_rejects_an_index_out_of_range() {
        let err = ClusterConfig::new(2, vec!["a:1".into(), "b:2".into()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cluster configuration: process index 2 is not below the number of processes (2)"
        );
        assert!(ClusterConfig::new(0, vec![]).is_err());
    }

    #[test]
    fn hosts_file_lists_one_address_per_line() {
        let dir = std::env::temp_dir().join(format!("streamflow-hosts-{}", std::process::id()));
        std::fs::write(&dir, "# cluster\n127.0.0.1:2101\n\n127.0.0.1:2102\n").unwrap();
        let config = ClusterConfig::from_hosts_file(&dir, 1).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(config.addresses(), ["127.0.0.1:2101", "127.0.0.1:2102"]);
        assert_eq!((config.process(), config.processes()), (1, 2));
    }
}
