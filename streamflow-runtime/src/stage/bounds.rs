//! Named bounds for what the operators' signatures repeat: the elements and
//! keys that cross threads, the fused per-element closures the macro
//! generates, and the user's reduce function.
//!
//! Each trait is a name for its supertraits, with a blanket impl, so every
//! type (or closure) that meets the bounds has it and nothing else does. A
//! bound `M: MapSide<T, C>` is `M: Fn(T, &mut C) + Sync` to rustc, including
//! for closure signature deduction: the generated code's untyped
//! `|x, out| out.push(x)` gets its argument types from the supertrait `Fn`.

use crate::{Batch, Time};
use std::hash::Hash;

/// An element that a task on another thread produces or consumes.
pub trait Element: Send {}
impl<T: Send> Element for T {}

/// An element the runtime may hand out more than once: a join pairs it with
/// several values, a state store outputs every state each batch.
pub trait Replicable: Element + Clone {}
impl<T: Element + Clone> Replicable for T {}

/// An element kept across batches by a window: read by several tasks at once
/// and cloned while a later window needs it too.
pub trait Retained: Replicable + Sync {}
impl<T: Replicable + Sync> Retained for T {}

/// The key of a shuffle: hashed to its partition, compared on the reduce side.
pub trait ShuffleKey: Hash + Eq + Send {}
impl<K: Hash + Eq + Send> ShuffleKey for K {}

/// The key of a window or a state store: a shuffle key kept across batches
/// and cloned into the outputs.
pub trait RetainedKey: ShuffleKey + Retained {}
impl<K: ShuffleKey + Retained> RetainedKey for K {}

/// The fused map side of a stage: `f(element, &mut collector)` for every
/// element of a partition, in order, on the partition's task. The collector
/// is a `Vec` or one of the shuffles' [collectors](crate::shuffle::collectors).
pub trait MapSide<In, C>: Fn(In, &mut C) + Sync {}
impl<In, C, F: Fn(In, &mut C) + Sync> MapSide<In, C> for F {}

/// The fused reduce side of a stage: `f(element, &mut output)` for every
/// element an operator produces, on the task of its output partition.
pub trait ReduceSide<In, U>: Fn(In, &mut Vec<U>) + Sync {}
impl<In, U, F: Fn(In, &mut Vec<U>) + Sync> ReduceSide<In, U> for F {}

/// A user's reduce function (or its inverse): two values into one.
pub trait ReduceFn<T>: Fn(T, T) -> T + Sync {}
impl<T, F: Fn(T, T) -> T + Sync> ReduceFn<T> for F {}

/// The form of a user's function that also gets the batch time
/// (`update_state_by_key_with_time`, `transform(|batch, time| ..)`): a type
/// parameter that tells an operator's two forms apart, inferred by rustc from
/// the function's own signature.
pub enum WithTime {}

/// The form of `transform`'s function that gets the batch alone.
pub enum BatchOnly {}

/// The function of `transform`, in either of its forms: `f(batch)`, or
/// `f(batch, time)` (Spark's `transform((rdd, time) => ...)`).
pub trait TransformFn<T, V, Form> {
    /// The transformed batch.
    fn transform(&self, batch: Batch<T>, time: Time) -> Batch<V>;
}

impl<T, V, F: Fn(Batch<T>) -> Batch<V>> TransformFn<T, V, BatchOnly> for F {
    fn transform(&self, batch: Batch<T>, _: Time) -> Batch<V> {
        self(batch)
    }
}

impl<T, V, F: Fn(Batch<T>, Time) -> Batch<V>> TransformFn<T, V, WithTime> for F {
    fn transform(&self, batch: Batch<T>, time: Time) -> Batch<V> {
        self(batch, time)
    }
}
