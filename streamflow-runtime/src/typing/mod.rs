//! Compile-time typing of a job's streams.
//!
//! The `stream_job!` macro does not know the element types inside a job; rustc
//! infers them. The macro emits, once per job construction, a chain of calls on
//! [`Stream<T>`] witnesses (zero-sized, never stored): each call takes the
//! user's closure, gives it its expected signature (so `|w| (w, 1)` needs no
//! annotation), and returns the closure together with the witness of the
//! output stream. The requirements of each operator are traits carrying
//! `#[diagnostic::on_unimplemented]`, so a mistake reads as one sentence about
//! the operator rather than a page of trait bounds.
//!
//! Nothing here runs at batch time.

use crate::{Batch, State, Time};
use std::fmt::Debug;
use std::hash::Hash;
use std::marker::PhantomData;

/// The type of the elements of one stream, known to rustc only.
pub struct Stream<T>(PhantomData<fn() -> T>);

/// What every stream element must be: movable between the worker threads.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a stream element: elements must be `Send + Sync + 'static`",
    label = "this operator produces `{Self}`",
    note = "stream elements move between worker threads; use owned, thread-safe types (`String`, `Arc<T>`, not `&str` or `Rc<T>`)"
)]
pub trait Data: Send + Sync + 'static {}
impl<T: Send + Sync + 'static> Data for T {}

/// What a shuffle key must be: hashable and comparable.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a key: keys must implement `Hash + Eq`",
    label = "this operator groups records by a key of type `{Self}`",
    note = "keys are hash-partitioned across the shuffle; derive `Hash, PartialEq, Eq` on your key type"
)]
pub trait Key: Hash + Eq + Clone + Data {}
impl<T: Hash + Eq + Clone + Data> Key for T {}

/// What a stream read by several operators must be: clonable.
#[diagnostic::on_unimplemented(
    message = "this stream feeds several operators, so its element type `{Self}` must implement `Clone`",
    label = "read by more than one operator",
    note = "a stream with several readers is materialized once and each reader gets its own copy of the elements"
)]
pub trait Shared: Clone + Data {}
impl<T: Clone + Data> Shared for T {}

/// What `print` needs: a `Debug` representation.
#[diagnostic::on_unimplemented(
    message = "`print` formats elements with `Debug`, which `{Self}` does not implement",
    label = "printed here",
    note = "derive or implement `Debug` for `{Self}`"
)]
pub trait Printable: Debug + Data {}
impl<T: Debug + Data> Printable for T {}

/// What `save_as_text_files` needs: a text form of each element.
#[diagnostic::on_unimplemented(
    message = "`save_as_text_files` writes each element as a line of text, but `{Self}` has no text form",
    label = "written as text here",
    note = "implement `streamflow::sinks::TextRecord` for `{Self}`, or `map` the stream to `String` first"
)]
pub trait TextOutput: crate::sinks::TextRecord + Data {}
impl<T: crate::sinks::TextRecord + Data> TextOutput for T {}

/// What `save_as_object_files` needs: serde serialization.
#[diagnostic::on_unimplemented(
    message = "`save_as_object_files` serializes elements with serde, but `{Self}` does not implement `Serialize`",
    label = "serialized here",
    note = "derive `serde::Serialize` for `{Self}`"
)]
pub trait ObjectOutput: serde::Serialize + Data {}
impl<T: serde::Serialize + Data> ObjectOutput for T {}

/// A declared port type must equal the stream's element type.
#[diagnostic::on_unimplemented(
    message = "the output port is declared as `{Declared}` but its stream carries `{Self}`",
    label = "declared type differs from the stream's element type `{Self}`",
    note = "change the declared type to `{Self}`, or map the stream to `{Declared}` before the output"
)]
pub trait PortType<Declared> {}
impl<T> PortType<T> for T {}

/// Delivers a batch to an output port declared as `Declared`.
///
/// The declared type is checked on the stream's witness (`Stream::port`), where
/// a mismatch is one error at the declaration; this conversion then never fails
/// to compile, so the check is not reported a second time from the per-batch
/// body. When the job compiles the two types are the same, and the downcast is
/// a move.
pub fn into_port<Declared: 'static, T: 'static>(batch: Batch<T>) -> Batch<Declared> {
    let boxed: Box<dyn std::any::Any> = Box::new(batch);
    match boxed.downcast::<Batch<Declared>>() {
        Ok(batch) => *batch,
        Err(_) => unreachable!("`Stream::port` proved the port's declared type equal to its stream's"),
    }
}

/// Copies an element of a stream read by several operators.
pub fn share<T: Shared>(element: &T) -> T {
    element.clone()
}

/// Copies a whole batch of a stream read by several outputs.
pub fn share_batch<T: Shared>(batch: &Batch<T>) -> Batch<T> {
    batch.clone()
}

/// Two streams combined element-wise must carry the same type.
#[diagnostic::on_unimplemented(
    message = "cannot combine a stream of `{T}` with a stream of `{Self}`",
    label = "this stream carries `{Self}`, the other one `{T}`",
    note = "map one of the streams so that both carry the same element type"
)]
pub trait SameElement<T> {}
impl<T> SameElement<T> for T {}

/// Two streams joined by key must have the same key type.
#[diagnostic::on_unimplemented(
    message = "cannot join a stream keyed by `{K}` with a stream keyed by `{Self}`",
    label = "the right stream is keyed by `{Self}`, the left one by `{K}`",
    note = "both streams of a join or cogroup must have the same key type; map one of them first"
)]
pub trait SameKey<K> {
    /// The key, as the other stream's key type (the same type).
    fn into_key(self) -> K;
}
impl<K> SameKey<K> for K {
    fn into_key(self) -> K {
        self
    }
}

/// How the per-batch code takes an element of a keyed operator's input as a
/// (key, value) pair. A keyed operator's witness hands it over, so that a
/// stream that is not of pairs is reported once, by the witness, and the
/// per-batch code never states the pair's shape itself.
///
/// A function pointer rather than `impl Fn`: an opaque return type has its
/// bounds checked again where the per-batch code uses it, which would repeat
/// the error from the generated code. The indirect call costs nothing
/// measurable (`cargo bench --bench fusion -- word_count/fused`: 53.5 ms with
/// the pointer, 53.2 ms inlined, within noise).
pub type Pair<T, K, V> = fn(T) -> (K, V);

/// The right side of a join as pairs keyed by the left side's key type; only
/// exists when the two key types are the same (`SameKey`).
fn right_pair<U, K, K2, W>(element: U) -> (K, W)
where
    U: JoinInput<Key = K2, Value = W>,
    K2: SameKey<K>,
{
    let (key, value) = element.into_pair();
    (key.into_key(), value)
}

macro_rules! pair_requirements {
    ($($(#[$doc:meta])* $name:ident => $message:literal;)*) => {$(
        $(#[$doc])*
        #[diagnostic::on_unimplemented(
            message = $message,
            label = "this stream carries `{Self}`, not (key, value) pairs",
            note = "make each element a pair first, for example `.map(|x| (x, 1))`"
        )]
        pub trait $name {
            /// The key type.
            type Key;
            /// The value type.
            type Value;
            /// The element as a (key, value) pair.
            fn into_pair(self) -> (Self::Key, Self::Value);
        }
        #[diagnostic::do_not_recommend]
        impl<K, V> $name for (K, V) {
            type Key = K;
            type Value = V;
            fn into_pair(self) -> (K, V) {
                self
            }
        }
    )*};
}

pair_requirements! {
    /// Input of `map_values`.
    MapValuesInput => "`map_values` needs a stream of (key, value) pairs; this stream carries `{Self}`";
    /// Input of `flat_map_values`.
    FlatMapValuesInput => "`flat_map_values` needs a stream of (key, value) pairs; this stream carries `{Self}`";
    /// Input of `reduce_by_key`.
    ReduceByKeyInput => "`reduce_by_key` needs a stream of (key, value) pairs; this stream carries `{Self}`";
    /// Input of `group_by_key`.
    GroupByKeyInput => "`group_by_key` needs a stream of (key, value) pairs; this stream carries `{Self}`";
    /// Input of `combine_by_key`.
    CombineByKeyInput => "`combine_by_key` needs a stream of (key, value) pairs; this stream carries `{Self}`";
    /// Inputs of the join family and `cogroup`.
    JoinInput => "joins and `cogroup` need streams of (key, value) pairs; this stream carries `{Self}`";
    /// Input of `reduce_by_key_and_window` (every form).
    ReduceByKeyAndWindowInput => "`reduce_by_key_and_window` needs a stream of (key, value) pairs; this stream carries `{Self}`";
    /// Input of `group_by_key_and_window`.
    GroupByKeyAndWindowInput => "`group_by_key_and_window` needs a stream of (key, value) pairs; this stream carries `{Self}`";
    /// Input of `update_state_by_key` and `map_with_state` (every form).
    StateInput => "`update_state_by_key` and `map_with_state` need a stream of (key, value) pairs; this stream carries `{Self}`";
}

/// What a window keeps across batches must be clonable: a batch is shared by
/// every window that covers it.
#[diagnostic::on_unimplemented(
    message = "windows keep `{Self}` for later windows, so it must implement `Clone`",
    label = "kept across batches by this window",
    note = "derive or implement `Clone` for `{Self}`"
)]
pub trait WindowElement: Clone + Data {}
impl<T: Clone + Data> WindowElement for T {}

/// Keyed state is output (or snapshot) every batch while it is kept, so it
/// must be clonable.
#[diagnostic::on_unimplemented(
    message = "keyed state of type `{Self}` must implement `Clone`",
    label = "the state this function keeps per key",
    note = "the state is kept across batches and copied into every batch's output or snapshots; derive `Clone` (or keep an `Arc`)"
)]
pub trait StateValue: Clone + Data {}
impl<T: Clone + Data> StateValue for T {}

fn next<U>() -> Stream<U> {
    Stream(PhantomData)
}

impl<T: Data> Stream<T> {
    /// The witness of an input port carrying `T`.
    pub fn input() -> Self {
        next()
    }

    /// Checks an output port's declared type.
    pub fn port<Declared>(&self)
    where
        T: PortType<Declared>,
    {
    }

    /// `map(f)`.
    pub fn map<U: Data, F: Fn(T) -> U + Send + Sync + 'static>(&self, f: F) -> (F, Stream<U>) {
        (f, next())
    }

    /// `flat_map(f)`.
    pub fn flat_map<I, F>(&self, f: F) -> (F, Stream<I::Item>)
    where
        I: IntoIterator,
        I::Item: Data,
        F: Fn(T) -> I + Send + Sync + 'static,
    {
        (f, next())
    }

    /// `filter(f)`.
    pub fn filter<F: Fn(&T) -> bool + Send + Sync + 'static>(&self, f: F) -> (F, Stream<T>) {
        (f, next())
    }

    /// `filter_map(f)`.
    pub fn filter_map<U: Data, F: Fn(T) -> Option<U> + Send + Sync + 'static>(&self, f: F) -> (F, Stream<U>) {
        (f, next())
    }

    /// `inspect(f)`.
    pub fn inspect<F: Fn(&T) + Send + Sync + 'static>(&self, f: F) -> (F, Stream<T>) {
        (f, next())
    }

    /// `map_values(f)`.
    #[allow(clippy::type_complexity)]
    pub fn map_values<K, V, U, F>(&self, f: F) -> (F, Stream<(K, U)>, Pair<T, K, V>)
    where
        T: MapValuesInput<Key = K, Value = V>,
        (K, U): Data,
        F: Fn(V) -> U + Send + Sync + 'static,
    {
        (f, next(), <T as MapValuesInput>::into_pair)
    }

    /// `flat_map_values(f)`.
    #[allow(clippy::type_complexity)]
    pub fn flat_map_values<K, V, I, F>(&self, f: F) -> (F, Stream<(K, I::Item)>, Pair<T, K, V>)
    where
        T: FlatMapValuesInput<Key = K, Value = V>,
        K: Clone,
        I: IntoIterator,
        (K, I::Item): Data,
        F: Fn(V) -> I + Send + Sync + 'static,
    {
        (f, next(), <T as FlatMapValuesInput>::into_pair)
    }

    /// `glom()`.
    pub fn glom(&self) -> Stream<Vec<T>> {
        next()
    }

    /// `map_partitions(f)`.
    pub fn map_partitions<I, F>(&self, f: F) -> (F, Stream<I::Item>)
    where
        I: IntoIterator,
        I::Item: Data,
        F: Fn(Vec<T>) -> I + Send + Sync + 'static,
    {
        (f, next())
    }

    /// `union(other)`.
    pub fn union<U>(&self, _other: &Stream<U>) -> Stream<T>
    where
        U: SameElement<T>,
    {
        next()
    }

    /// `transform(f)`.
    pub fn transform<U: Data, F>(&self, f: F) -> (F, Stream<U>)
    where
        F: Fn(Batch<T>) -> Batch<U> + Send + Sync + 'static,
    {
        (f, next())
    }

    /// `transform_with(other, f)`.
    pub fn transform_with<U: Data, W: Data, F>(&self, _other: &Stream<U>, f: F) -> (F, Stream<W>)
    where
        F: Fn(Batch<T>, Batch<U>) -> Batch<W> + Send + Sync + 'static,
    {
        (f, next())
    }

    /// `repartition(n)`.
    pub fn repartition(&self) -> Stream<T> {
        next()
    }

    /// `count()`.
    pub fn count(&self) -> Stream<u64> {
        next()
    }

    /// `reduce(f)`.
    pub fn reduce<F: Fn(T, T) -> T + Send + Sync + 'static>(&self, f: F) -> (F, Stream<T>) {
        (f, next())
    }

    /// `count_by_value()`.
    pub fn count_by_value(&self) -> Stream<(T, u64)>
    where
        T: Key,
    {
        next()
    }

    /// `distinct()`.
    pub fn distinct(&self) -> Stream<T>
    where
        T: Key,
    {
        next()
    }

    /// `reduce_by_key(f)`.
    #[allow(clippy::type_complexity)]
    pub fn reduce_by_key<K, V, F>(&self, f: F) -> (F, Stream<T>, Pair<T, K, V>)
    where
        T: ReduceByKeyInput<Key = K, Value = V>,
        K: Key,
        V: Data,
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        (f, next(), <T as ReduceByKeyInput>::into_pair)
    }

    /// `group_by_key()`.
    #[allow(clippy::type_complexity)]
    pub fn group_by_key<K, V>(&self) -> (Stream<(K, Vec<V>)>, Pair<T, K, V>)
    where
        T: GroupByKeyInput<Key = K, Value = V>,
        K: Key,
        V: Data,
    {
        (next(), <T as GroupByKeyInput>::into_pair)
    }

    /// `combine_by_key(create, merge_value, merge_combiners)`.
    #[allow(clippy::type_complexity)]
    pub fn combine_by_key<K, V, C, Cr, Mv, Mc>(
        &self,
        create: Cr,
        merge_value: Mv,
        merge_combiners: Mc,
    ) -> ((Cr, Mv, Mc), Stream<(K, C)>, Pair<T, K, V>)
    where
        T: CombineByKeyInput<Key = K, Value = V>,
        K: Key,
        V: Data,
        C: Data,
        Cr: Fn(V) -> C + Send + Sync + 'static,
        Mv: Fn(C, V) -> C + Send + Sync + 'static,
        Mc: Fn(C, C) -> C + Send + Sync + 'static,
    {
        (
            (create, merge_value, merge_combiners),
            next(),
            <T as CombineByKeyInput>::into_pair,
        )
    }

    /// `join(other)`.
    #[allow(clippy::type_complexity)]
    pub fn join<K, V, K2, W, U>(&self, _other: &Stream<U>) -> (Stream<(K, (V, W))>, Pair<T, K, V>, Pair<U, K, W>)
    where
        T: JoinInput<Key = K, Value = V>,
        U: JoinInput<Key = K2, Value = W>,
        K2: SameKey<K>,
        K: Key,
        V: Clone + Data,
        W: Clone + Data,
    {
        (next(), <T as JoinInput>::into_pair, right_pair::<U, K, K2, W>)
    }

    /// `left_outer_join(other)`.
    #[allow(clippy::type_complexity)]
    pub fn left_outer_join<K, V, K2, W, U>(
        &self,
        _other: &Stream<U>,
    ) -> (Stream<(K, (V, Option<W>))>, Pair<T, K, V>, Pair<U, K, W>)
    where
        T: JoinInput<Key = K, Value = V>,
        U: JoinInput<Key = K2, Value = W>,
        K2: SameKey<K>,
        K: Key,
        V: Clone + Data,
        W: Clone + Data,
    {
        (next(), <T as JoinInput>::into_pair, right_pair::<U, K, K2, W>)
    }

    /// `right_outer_join(other)`.
    #[allow(clippy::type_complexity)]
    pub fn right_outer_join<K, V, K2, W, U>(
        &self,
        _other: &Stream<U>,
    ) -> (Stream<(K, (Option<V>, W))>, Pair<T, K, V>, Pair<U, K, W>)
    where
        T: JoinInput<Key = K, Value = V>,
        U: JoinInput<Key = K2, Value = W>,
        K2: SameKey<K>,
        K: Key,
        V: Clone + Data,
        W: Clone + Data,
    {
        (next(), <T as JoinInput>::into_pair, right_pair::<U, K, K2, W>)
    }

    /// `full_outer_join(other)`.
    #[allow(clippy::type_complexity)]
    pub fn full_outer_join<K, V, K2, W, U>(
        &self,
        _other: &Stream<U>,
    ) -> (Stream<(K, (Option<V>, Option<W>))>, Pair<T, K, V>, Pair<U, K, W>)
    where
        T: JoinInput<Key = K, Value = V>,
        U: JoinInput<Key = K2, Value = W>,
        K2: SameKey<K>,
        K: Key,
        V: Clone + Data,
        W: Clone + Data,
    {
        (next(), <T as JoinInput>::into_pair, right_pair::<U, K, K2, W>)
    }

    /// `cogroup(other)`.
    #[allow(clippy::type_complexity)]
    pub fn cogroup<K, V, K2, W, U>(
        &self,
        _other: &Stream<U>,
    ) -> (Stream<(K, (Vec<V>, Vec<W>))>, Pair<T, K, V>, Pair<U, K, W>)
    where
        T: JoinInput<Key = K, Value = V>,
        U: JoinInput<Key = K2, Value = W>,
        K2: SameKey<K>,
        K: Key,
        V: Data,
        W: Data,
    {
        (next(), <T as JoinInput>::into_pair, right_pair::<U, K, K2, W>)
    }

    /// `window(W, s)`.
    pub fn window(&self) -> Stream<T>
    where
        T: WindowElement,
    {
        next()
    }

    /// `count_by_window(W, s)`.
    pub fn count_by_window(&self) -> Stream<u64> {
        next()
    }

    /// `reduce_by_window(f, W, s)`.
    pub fn reduce_by_window<F>(&self, f: F) -> (F, Stream<T>)
    where
        T: WindowElement,
        F: Fn(T, T) -> T + Send + Sync + 'static,
    {
        (f, next())
    }

    /// `reduce_by_window(f, f_inv, W, s)`.
    pub fn reduce_by_window_inv<F, I>(&self, f: F, inverse: I) -> ((F, I), Stream<T>)
    where
        T: WindowElement,
        F: Fn(T, T) -> T + Send + Sync + 'static,
        I: Fn(T, T) -> T + Send + Sync + 'static,
    {
        ((f, inverse), next())
    }

    /// `reduce_by_key_and_window(f, W, s)`.
    #[allow(clippy::type_complexity)]
    pub fn reduce_by_key_and_window<K, V, F>(&self, f: F) -> (F, Stream<T>, Pair<T, K, V>)
    where
        T: ReduceByKeyAndWindowInput<Key = K, Value = V>,
        K: Key,
        V: WindowElement,
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        (f, next(), <T as ReduceByKeyAndWindowInput>::into_pair)
    }

    /// `reduce_by_key_and_window(f, f_inv, W, s)`.
    #[allow(clippy::type_complexity)]
    pub fn reduce_by_key_and_window_inv<K, V, F, I>(&self, f: F, inverse: I) -> ((F, I), Stream<T>, Pair<T, K, V>)
    where
        T: ReduceByKeyAndWindowInput<Key = K, Value = V>,
        K: Key,
        V: WindowElement,
        F: Fn(V, V) -> V + Send + Sync + 'static,
        I: Fn(V, V) -> V + Send + Sync + 'static,
    {
        ((f, inverse), next(), <T as ReduceByKeyAndWindowInput>::into_pair)
    }

    /// `reduce_by_key_and_window(f, f_inv, W, s, filter)`.
    #[allow(clippy::type_complexity)]
    pub fn reduce_by_key_and_window_inv_keep<K, V, F, I, P>(
        &self,
        f: F,
        inverse: I,
        keep: P,
    ) -> ((F, I, P), Stream<T>, Pair<T, K, V>)
    where
        T: ReduceByKeyAndWindowInput<Key = K, Value = V>,
        K: Key,
        V: WindowElement,
        F: Fn(V, V) -> V + Send + Sync + 'static,
        I: Fn(V, V) -> V + Send + Sync + 'static,
        P: Fn(&(K, V)) -> bool + Send + Sync + 'static,
    {
        ((f, inverse, keep), next(), <T as ReduceByKeyAndWindowInput>::into_pair)
    }

    /// `count_by_value_and_window(W, s)`.
    pub fn count_by_value_and_window(&self) -> Stream<(T, u64)>
    where
        T: Key,
    {
        next()
    }

    /// `group_by_key_and_window(W, s)`.
    #[allow(clippy::type_complexity)]
    pub fn group_by_key_and_window<K, V>(&self) -> (Stream<(K, Vec<V>)>, Pair<T, K, V>)
    where
        T: GroupByKeyAndWindowInput<Key = K, Value = V>,
        K: Key,
        V: WindowElement,
    {
        (next(), <T as GroupByKeyAndWindowInput>::into_pair)
    }

    /// `update_state_by_key(f)`.
    #[allow(clippy::type_complexity)]
    pub fn update_state_by_key<K, V, S, F>(&self, f: F) -> (F, Stream<(K, S)>, Pair<T, K, V>)
    where
        T: StateInput<Key = K, Value = V>,
        K: Key,
        V: Data,
        S: StateValue,
        F: Fn(&[V], Option<S>) -> Option<S> + Send + Sync + 'static,
    {
        (f, next(), <T as StateInput>::into_pair)
    }

    /// `update_state_by_key(f, initial)`.
    #[allow(clippy::type_complexity)]
    pub fn update_state_by_key_initial<K, V, S, F, I>(
        &self,
        f: F,
        initial: I,
    ) -> ((F, I), Stream<(K, S)>, Pair<T, K, V>)
    where
        T: StateInput<Key = K, Value = V>,
        K: Key,
        V: Data,
        S: StateValue,
        F: Fn(&[V], Option<S>) -> Option<S> + Send + Sync + 'static,
        I: IntoIterator<Item = (K, S)>,
    {
        ((f, initial), next(), <T as StateInput>::into_pair)
    }

    /// `update_state_by_key_with_time(f)`.
    #[allow(clippy::type_complexity)]
    pub fn update_state_by_key_with_time<K, V, S, F>(&self, f: F) -> (F, Stream<(K, S)>, Pair<T, K, V>)
    where
        T: StateInput<Key = K, Value = V>,
        K: Key,
        V: Data,
        S: StateValue,
        F: Fn(Time, &K, &[V], Option<S>) -> Option<S> + Send + Sync + 'static,
    {
        (f, next(), <T as StateInput>::into_pair)
    }

    /// `update_state_by_key_with_time(f, initial)`.
    #[allow(clippy::type_complexity)]
    pub fn update_state_by_key_with_time_initial<K, V, S, F, I>(
        &self,
        f: F,
        initial: I,
    ) -> ((F, I), Stream<(K, S)>, Pair<T, K, V>)
    where
        T: StateInput<Key = K, Value = V>,
        K: Key,
        V: Data,
        S: StateValue,
        F: Fn(Time, &K, &[V], Option<S>) -> Option<S> + Send + Sync + 'static,
        I: IntoIterator<Item = (K, S)>,
    {
        ((f, initial), next(), <T as StateInput>::into_pair)
    }

    /// `map_with_state(f)`: the witnesses of its output and of its
    /// `state_snapshots()`.
    #[allow(clippy::type_complexity)]
    pub fn map_with_state<K, V, S, U, F>(&self, f: F) -> (F, Stream<U>, Stream<(K, S)>, Pair<T, K, V>)
    where
        T: StateInput<Key = K, Value = V>,
        K: Key,
        V: Data,
        S: StateValue,
        U: Data,
        F: Fn(&K, Option<V>, &mut State<S>) -> Option<U> + Send + Sync + 'static,
    {
        (f, next(), next(), <T as StateInput>::into_pair)
    }

    /// `map_with_state(f, initial)`.
    #[allow(clippy::type_complexity)]
    pub fn map_with_state_initial<K, V, S, U, F, I>(
        &self,
        f: F,
        initial: I,
    ) -> ((F, I), Stream<U>, Stream<(K, S)>, Pair<T, K, V>)
    where
        T: StateInput<Key = K, Value = V>,
        K: Key,
        V: Data,
        S: StateValue,
        U: Data,
        F: Fn(&K, Option<V>, &mut State<S>) -> Option<U> + Send + Sync + 'static,
        I: IntoIterator<Item = (K, S)>,
    {
        ((f, initial), next(), next(), <T as StateInput>::into_pair)
    }

    /// `print()` / `print(n)`: gives the per-batch code the way to show an
    /// element, so that only this call requires `Debug`.
    pub fn print(&self) -> crate::outputs::DebugFn<T>
    where
        T: Printable,
    {
        <T as Debug>::fmt
    }

    /// `save_as_text_files(prefix, [suffix])`: gives the per-batch code the
    /// way to write a batch, so that only this call requires a text form.
    pub fn save_as_text_files(&self) -> crate::outputs::WriteFn<crate::sinks::TextFilesSink, T>
    where
        T: TextOutput,
    {
        <crate::sinks::TextFilesSink as crate::sinks::Sink<T>>::write
    }

    /// `save_as_object_files(prefix, [suffix])`, likewise.
    pub fn save_as_object_files(&self) -> crate::outputs::WriteFn<crate::sinks::ObjectFilesSink, T>
    where
        T: ObjectOutput,
    {
        <crate::sinks::ObjectFilesSink as crate::sinks::Sink<T>>::write
    }

    /// `foreach_batch(f)`.
    pub fn foreach_batch<F: Fn(Batch<T>, Time) + Send + Sync + 'static>(&self, f: F) -> F {
        f
    }
}
