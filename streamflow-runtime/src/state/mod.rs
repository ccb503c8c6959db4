//! Keyed state across batches: `update_state_by_key` (every key with state or
//! new values is called every batch, and the whole state is the output) and
//! `map_with_state` (called per record, outputs what the function returns,
//! optional timeouts and state snapshots).
//!
//! State is partitioned by key with the shuffles' partitioner; the number of
//! partitions is the call's or the job's, fixed when the job is built (see
//! [`state_partitions`]; a checkpoint saved in another count is refused).
//! CONTRACT: `stage` is the map side and its exchange, `stage + 1` the update
//! (where the user's function runs); the batch time is the runner's.
//!
//! A batch that fails (a user function panicked) leaves the state as far as
//! that batch got: keys already updated keep their new state and the key whose
//! call panicked loses its state. Restore a checkpoint to rerun such a batch
//! exactly.

// The contract fixes every operator's argument list (see `stage`).
#![allow(clippy::too_many_arguments)]

mod handle;
mod mapped;
pub(crate) mod partitions;
mod store;

pub use handle::State;
pub use mapped::{MappedState, map_with_state};
pub use partitions::{GroupSource, KeyGroups, state_partitions};
/// `update_state_by_key` whose function also gets the batch time and the
/// key: `f(time, key, new_values, old_state)` (one operator, two forms).
pub use store::update_state_by_key as update_state_by_key_with_time;
pub use store::{StateStore, UpdateFn, ValuesOnly, update_state_by_key};

#[cfg(test)]
mod tests;
