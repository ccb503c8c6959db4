//! A user's per-element (or per-key) function as its typing witness hands it
//! to the per-batch code: wrapped with the shape it was checked against, so that a
//! closure of the wrong type is reported once, by the witness, and not again
//! where the fused loop calls it.
//!
//! The loop calls `f.call(x)`. When the closure fits its shape (the witness's
//! bound held), that is the inherent `call` below, `#[inline(always)]`: the
//! same direct call of the closure as before, nothing per element added.
//! When it does not, the inherent method's bound fails and method lookup
//! takes the trait method of the same name ([`UncheckedByValue`], ...), which
//! the generated code imports and which asks nothing of the closure: the
//! job does not compile anyway (the witness's error says why), and rustc has
//! nothing more to say about the loop.

use crate::{State, Time};
use std::marker::PhantomData;

/// A function `F` checked by a witness against the shape `S`
/// ([`ByValue`], [`ByRef`], [`Reduces`], [`Folds`], [`Updates`],
/// [`UpdatesAtTime`], [`MapsWithState`]).
pub struct Checked<F, S>(F, PhantomData<fn() -> S>);

impl<F, S> Checked<F, S> {
    /// `f`, checked by the caller (a witness whose bound states `S`).
    pub(crate) fn new(f: F) -> Self {
        Checked(f, PhantomData)
    }
}

/// The shape `Fn(A) -> R` (`map`, `flat_map`, `filter_map`, `map_values`,
/// `map_partitions`, ...).
pub struct ByValue<A, R>(PhantomData<fn(A) -> R>);

/// The shape `Fn(&A) -> R` (`filter`, `inspect`).
pub struct ByRef<A, R>(PhantomData<fn(&A) -> R>);

/// The shape `Fn(T, T) -> T` (`reduce_by_key`, `reduce`, the window
/// reductions and their inverses).
pub struct Reduces<T>(PhantomData<fn(T, T) -> T>);

/// The shape `Fn(C, V) -> C` (`combine_by_key`'s `merge_value`).
pub struct Folds<C, V>(PhantomData<fn(C, V) -> C>);

/// The shape `Fn(&K, Option<V>, &mut State<S>) -> Option<U>` (`map_with_state`).
pub struct MapsWithState<K, V, S, U>(PhantomData<fn(K, V, S) -> U>);

/// The shape `Fn(&[V], Option<S>) -> Option<S>` (`update_state_by_key`).
pub struct Updates<V, S>(PhantomData<fn() -> (V, S)>);

/// The shape `Fn(Time, &K, &[V], Option<S>) -> Option<S>`
/// (`update_state_by_key_with_time`).
pub struct UpdatesAtTime<K, V, S>(PhantomData<fn() -> K>, PhantomData<Updates<V, S>>);

impl<F: Fn(A) -> R, A, R> Checked<F, ByValue<A, R>> {
    /// Calls the function.
    #[inline(always)]
    pub fn call(&self, x: A) -> R {
        (self.0)(x)
    }
}

impl<F: Fn(&A) -> R, A, R> Checked<F, ByRef<A, R>> {
    /// Calls the function.
    #[inline(always)]
    pub fn call(&self, x: &A) -> R {
        (self.0)(x)
    }
}

impl<F: Fn(T, T) -> T, T> Checked<F, Reduces<T>> {
    /// Calls the function.
    #[inline(always)]
    pub fn call(&self, a: T, b: T) -> T {
        (self.0)(a, b)
    }
}

impl<F: Fn(C, V) -> C, C, V> Checked<F, Folds<C, V>> {
    /// Calls the function.
    #[inline(always)]
    pub fn call(&self, c: C, v: V) -> C {
        (self.0)(c, v)
    }
}

impl<F: Fn(&K, Option<V>, &mut State<S>) -> Option<U>, K, V, S, U> Checked<F, MapsWithState<K, V, S, U>> {
    /// Calls the function.
    #[inline(always)]
    pub fn call(&self, key: &K, value: Option<V>, state: &mut State<S>) -> Option<U> {
        (self.0)(key, value, state)
    }
}

impl<F: Fn(&[V], Option<S>) -> Option<S>, V, S> Checked<F, Updates<V, S>> {
    /// Calls the function.
    #[inline(always)]
    pub fn call(&self, values: &[V], old: Option<S>) -> Option<S> {
        (self.0)(values, old)
    }
}

impl<F: Fn(Time, &K, &[V], Option<S>) -> Option<S>, K, V, S> Checked<F, UpdatesAtTime<K, V, S>> {
    /// Calls the function.
    #[inline(always)]
    pub fn call(&self, time: Time, key: &K, values: &[V], old: Option<S>) -> Option<S> {
        (self.0)(time, key, values, old)
    }
}

/// The fallback `call` of a function that does not fit `Fn(A) -> R` (see
/// the module's documentation): never runs, as such a job does not compile.
pub trait UncheckedByValue<A, R> {
    /// Never called.
    fn call(&self, x: A) -> R;
}

impl<F, A, R> UncheckedByValue<A, R> for Checked<F, ByValue<A, R>> {
    fn call(&self, _: A) -> R {
        unreachable!("the typing witness proved the function's signature")
    }
}

/// The fallback `call` of a function that does not fit `Fn(&A) -> R`.
pub trait UncheckedByRef<A, R> {
    /// Never called.
    fn call(&self, x: &A) -> R;
}

impl<F, A, R> UncheckedByRef<A, R> for Checked<F, ByRef<A, R>> {
    fn call(&self, _: &A) -> R {
        unreachable!("the typing witness proved the function's signature")
    }
}

/// The fallback `call` of a function that does not fit [`Updates`].
pub trait UncheckedUpdates<V, S> {
    /// Never called.
    fn call(&self, values: &[V], old: Option<S>) -> Option<S>;
}

impl<F, V, S> UncheckedUpdates<V, S> for Checked<F, Updates<V, S>> {
    fn call(&self, _: &[V], _: Option<S>) -> Option<S> {
        unreachable!("the typing witness proved the function's signature")
    }
}

/// The fallback `call` of a function that does not fit [`UpdatesAtTime`].
pub trait UncheckedUpdatesAtTime<K, V, S> {
    /// Never called.
    fn call(&self, time: Time, key: &K, values: &[V], old: Option<S>) -> Option<S>;
}

impl<F, K, V, S> UncheckedUpdatesAtTime<K, V, S> for Checked<F, UpdatesAtTime<K, V, S>> {
    fn call(&self, _: Time, _: &K, _: &[V], _: Option<S>) -> Option<S> {
        unreachable!("the typing witness proved the function's signature")
    }
}

/// The fallback `call` of a function that does not fit [`Reduces`].
pub trait UncheckedReduces<T> {
    /// Never called.
    fn call(&self, a: T, b: T) -> T;
}

impl<F, T> UncheckedReduces<T> for Checked<F, Reduces<T>> {
    fn call(&self, _: T, _: T) -> T {
        unreachable!("the typing witness proved the function's signature")
    }
}

/// The fallback `call` of a function that does not fit [`MapsWithState`].
pub trait UncheckedMapsWithState<K, V, S, U> {
    /// Never called.
    fn call(&self, key: &K, value: Option<V>, state: &mut State<S>) -> Option<U>;
}

impl<F, K, V, S, U> UncheckedMapsWithState<K, V, S, U> for Checked<F, MapsWithState<K, V, S, U>> {
    fn call(&self, _: &K, _: Option<V>, _: &mut State<S>) -> Option<U> {
        unreachable!("the typing witness proved the function's signature")
    }
}

/// The fallback `call` of a function that does not fit [`Folds`].
pub trait UncheckedFolds<C, V> {
    /// Never called.
    fn call(&self, c: C, v: V) -> C;
}

impl<F, C, V> UncheckedFolds<C, V> for Checked<F, Folds<C, V>> {
    fn call(&self, _: C, _: V) -> C {
        unreachable!("the typing witness proved the function's signature")
    }
}
