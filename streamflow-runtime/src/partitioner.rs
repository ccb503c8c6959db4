//! The deterministic partitioner and the hash maps of the runtime.
//!
//! Partitioning and hash tables use different seeds of the same fast hasher:
//! with the same seed, every key of a reduce partition would share its low hash
//! bits and collide in that partition's table.

/// The hasher of the runtime's hash tables (fixed seed: iteration order, and so
/// output order, is the same run after run).
pub type FixedState = foldhash::fast::FixedState;

/// A hash map with the runtime's fixed hasher.
pub type FixedHashMap<K, V> = hashbrown::HashMap<K, V, FixedState>;
