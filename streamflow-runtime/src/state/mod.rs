//! Keyed state across batches: `update_state_by_key` (every key with state or
//! new values is called every batch, and the whole state is the output) and
//! `map_with_state` (called per record, outputs what the function returns,
//! optional timeouts and state snapshots).
//!
//! State is partitioned by key with the shuffles' partitioner; the number of
//! partitions is fixed at the first batch. CONTRACT: `stage` is the map side,
//! `stage + 1` the update (where the user's function runs).
//!
//! A batch that fails (a user function panicked) leaves the state as far as
//! that batch got: keys already updated keep their new state and the key whose
//! call panicked loses its state. Restore a checkpoint to rerun such a batch
//! exactly.

mod handle;
mod mapped;
mod store;

pub use handle::State;
pub use mapped::{MappedState, map_with_state};
pub use store::{StateStore, update_state_by_key, update_state_by_key_with_time};

#[cfg(test)]
mod tests;
