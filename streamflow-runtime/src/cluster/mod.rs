//! Running one job across several processes: a [`ClusterConfig`] (this
//! process's index and every process's address), which process owns each
//! partition ([`owner`]), the [`Wire`] bound of what crosses processes and,
//! with the `cluster` feature, the `Mesh` that moves it (timely dataflow's
//! TCP mesh, its exchange and its progress tracking).
//!
//! Every process runs the same job on the same batch times. Partition `p` of
//! `n` belongs to one process ([`owner`]); a job's tasks run on every
//! process, and the partitions a process does not own are empty there (its
//! inputs are emptied by `prepare_input`, and every later partition comes out
//! of an exchange, which delivers each output partition to its owner only).
//! So every element of a batch lives on exactly one process, and the union of
//! the processes' partitions is the single-process batch, partition by
//! partition, in the same order.

#[cfg(feature = "cluster")]
mod agree;
mod config;
#[cfg(feature = "cluster")]
mod exchange;
#[cfg(feature = "cluster")]
mod mesh;
#[cfg(feature = "cluster")]
mod sockets;
mod wire;

#[cfg(feature = "cluster")]
pub(crate) use agree::Fingerprint;
pub(crate) use config::Share;
pub use config::{ClusterConfig, ClusterError, DEFAULT_ANSWER_TIMEOUT, owner};
#[cfg(feature = "cluster")]
pub(crate) use exchange::exchange;
#[cfg(feature = "cluster")]
pub use mesh::{Mesh, Sent};
pub use wire::Wire;
