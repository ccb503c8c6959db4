//! A user's per-element function as its typing witness hands it to the
//! per-batch code: wrapped with the shape it was checked against, so that a
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

use std::marker::PhantomData;

/// A function `F` checked by a witness against the shape `S`
/// ([`ByValue`], [`ByRef`]).
pub struct Checked<F, S>(F, PhantomData<fn() -> S>);

impl<F, S> Checked<F, S> {
    /// `f`, checked by the caller (a witness whose bound states `S`).
    pub(crate) fn new(f: F) -> Self {
        Checked(f, PhantomData)
    }
}

/// The shape `Fn(A) -> R` (`map`, `flat_map`, `filter_map`, `map_values`, ...).
pub struct ByValue<A, R>(PhantomData<fn(A) -> R>);

/// The shape `Fn(&A) -> R` (`filter`, `inspect`).
pub struct ByRef<A, R>(PhantomData<fn(&A) -> R>);

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
