//! Window operators: per batch, the map side feeds a buffer of recent batches
//! (or of their per-batch reductions); at times that are multiples of the
//! slide, the covered batches are combined into the window's output.
//!
//! Spark's rules (see docs/semantics.md, "Windows"): a window of length `W` and
//! slide `s` emits only at times `T` that are multiples of `s` and covers the
//! batches with times in `(T − W, T]`; the first windows are partial, windows
//! keep emitting (and shrink) after the input goes quiet, and batches between
//! windows (`s > W`) are never seen. Every function here returns `None` at a
//! time that is not a multiple of the slide: Spark produces no batch then.
//!
//! CONTRACT: like the shuffles, `stage` is the map side and `stage + 1` the
//! merge and the window's own functions; the batch time is the runner's
//! [`time`](crate::runner::Runner::time). State objects are created once per
//! job (`X::new(spec)`) and passed `&mut` to every call.

// The contract fixes every operator's argument list (see `stage`).
#![allow(clippy::too_many_arguments)]

mod elements;
mod grouped;
mod invertible;
mod keyed;
mod partitioned;
mod reduced;
mod restore;
mod timeline;

pub use elements::{ElementWindow, window};
pub use grouped::group_by_key_and_window;
pub use invertible::{
    InvertibleWindow, count_by_value_and_window, count_by_window, reduce_by_key_and_window_inv, reduce_by_window_inv,
};
pub use keyed::reduce_by_key_and_window;
pub use partitioned::{GroupedWindow, KeyedWindow, PartitionedWindow};
pub use reduced::{ReducedWindow, reduce_by_window};

use serde::{Deserialize, Serialize};

/// The shape of a window: its length and its slide, in milliseconds.
///
/// Both are positive multiples of the batch interval (`stream_job!` checks
/// this at compile time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WindowSpec {
    /// The window's length `W`: a window at `T` covers the batches in `(T − W, T]`.
    pub window_ms: u64,
    /// The slide `s`: windows are emitted at the multiples of `s`.
    pub slide_ms: u64,
}

/// The filter of an invertible window that keeps every key: without a user
/// filter, a key whose values all slid out stays at its inverse-reduced value.
pub fn keep_all<T>(_: &T) -> bool {
    true
}

#[cfg(test)]
mod tests;
