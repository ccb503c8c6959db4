//! Compile-time typing of a job's streams.
//!
//! The `stream_job!` macro does not know the element types inside a job; rustc
//! infers them. The macro emits, once per job construction, a chain of calls on
//! [`Stream<T>`] witnesses (zero-sized, never stored): each call takes the
//! user's closure, gives it its expected signature (so `|w| (w, 1)` needs no
//! annotation), and returns the closure together with the witness of the
//! output stream, the conversions of its inputs into pairs (keyed operators)
//! and the codec of its state (window and stateful operators). The
//! requirements of each operator are traits with their own error messages, so a
//! mistake reads as one sentence about the operator.
//!
//! Nothing here runs at batch time.

mod checked;
mod many;
mod requirements;

pub use checked::*;
pub use many::*;
pub use requirements::*;

use crate::outputs::{FileOutput, Printer};
use crate::shuffle::collectors::{ByKeyCombiner, KeyCombiner, ValueCounter};
use crate::shuffle::grouper::Grouper;
use crate::sinks::{ObjectFilesSink, TextFilesSink};
use crate::state::{MappedState, StateStore};
use crate::windows::{ElementWindow, GroupedWindow, InvertibleWindow, KeyedWindow, ReducedWindow};
use crate::{Batch, CodecProbe, State, Time};
use std::marker::PhantomData;

/// The type of the elements of one stream, known to rustc only.
pub struct Stream<T>(PhantomData<fn() -> T>);

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

/// A function called once per batch (`transform`, `transform_with`,
/// `foreach_batch`), as the witness hands it to the per-batch code: boxed,
/// so that this code needs no bound on the user's closure. When the closure
/// does not fit, the witness's bound is the one error the user sees, not a
/// second one from the per-batch code; once per batch, the indirect call
/// costs nothing measurable.
pub type BatchFn<F> = Box<F>;

/// An element reaching `reduce_by_key` at the end of a loop the macro wrote,
/// as its (key, value) pair; a stream of something else is reported with
/// the operator's own message.
///
/// The pair's types are parameters bound by the requirement, not
/// projections (`T::Key`): for an element that is not a pair rustc would
/// report the projection in the return type a second time, with the same
/// message at the same span. These functions are written out rather than
/// generated, so that the error's note names one short function.
#[inline(always)]
pub fn key_value<T: ReduceByKeyInput<Key = K, Value = V>, K, V>(x: T) -> (K, V) {
    x.into_pair()
}

/// An element reaching `combine_by_key` at the end of a loop the macro
/// wrote (see [`key_value`]).
#[inline(always)]
pub fn key_value_combine<T: CombineByKeyInput<Key = K, Value = V>, K, V>(x: T) -> (K, V) {
    x.into_pair()
}

/// An element reaching `reduce_by_key_and_window`, every form (see
/// [`key_value`]).
#[inline(always)]
pub fn key_value_window<T: ReduceByKeyAndWindowInput<Key = K, Value = V>, K, V>(x: T) -> (K, V) {
    x.into_pair()
}

/// An element reaching `group_by_key` (see [`key_value`]).
#[inline(always)]
pub fn key_value_group<T: GroupByKeyInput<Key = K, Value = V>, K, V>(x: T) -> (K, V) {
    x.into_pair()
}

/// An element reaching `group_by_key_and_window` (see [`key_value`]).
#[inline(always)]
pub fn key_value_group_window<T: GroupByKeyAndWindowInput<Key = K, Value = V>, K, V>(x: T) -> (K, V) {
    x.into_pair()
}

/// An element reaching `update_state_by_key` or `map_with_state` (see
/// [`key_value`]).
#[inline(always)]
pub fn key_value_state<T: StateInput<Key = K, Value = V>, K, V>(x: T) -> (K, V) {
    x.into_pair()
}

/// Copies an element of a stream read by several operators.
pub fn share<T: Shared>(element: &T) -> T {
    element.clone()
}

/// Copies a whole batch of a stream read by several outputs.
pub fn share_batch<T: Shared>(batch: &Batch<T>) -> Batch<T> {
    batch.clone()
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
pub(crate) fn right_pair<U, K, K2, W>(element: U) -> (K, W)
where
    U: JoinInput<Key = K2, Value = W>,
    K2: SameKey<K>,
{
    let (key, value) = element.into_pair();
    (key.into_key(), value)
}

/// The element of a keyed operator keeping its input's pairs, `(K, V)`,
/// written as a projection of its key type `K` (a parameter of the
/// witness). For an input that is not pairs, `K` is never known: the
/// element stays unknown, and what reads the output (its port's declared
/// type, `print`) adds no second error. A projection of the input type
/// instead (`<T as ReduceByKeyInput>::Key`) would fail while rustc looks the
/// method up, which then reports "method not found" (E0599) rather than the
/// operator's message.
pub type Keyed<K, V> = <K as KeyedElement<V>>::Pair;

/// See [`Keyed`].
pub trait KeyedElement<V> {
    /// `(Self, V)`.
    type Pair;
}
impl<K, V> KeyedElement<V> for K {
    type Pair = (K, V);
}

fn next<U>() -> Stream<U> {
    Stream(PhantomData)
}

/// The probe of an operator's state type, asked for its codec once the
/// type is inferred (see [`CodecProbe`]).
fn codec<S>() -> CodecProbe<S> {
    CodecProbe::new()
}

/// Witnesses of the narrow operators, whose function the fused loop calls
/// once per element: the function comes back [`Checked`] against its shape,
/// so that a closure of the wrong type is reported once, here.
macro_rules! element_witnesses {
    ($($(#[$doc:meta])* $name:ident<$($g:ident),*>($shape:ty, [$($bound:tt)+]) -> $out:ty $(, where [$($w:tt)*])?;)*) => {$(
        $(#[$doc])*
        pub fn $name<$($g,)* F>(&self, f: F) -> (Checked<F, $shape>, Stream<$out>)
        where
            F: $($bound)+ + Send + Sync + 'static,
            $($($w)*)?
        {
            (Checked::new(f), next())
        }
    )*};
}

/// Witnesses of the fused loops the macro builds once (see
/// `Stream::map_side_vec`): one for a stage reading an owned batch, one for
/// a stage reading a shared one (elements by reference). The collector's
/// lifetime `'r` is the runtime's, hence the higher-ranked bound.
macro_rules! map_side_witnesses {
    ($($(#[$doc:meta])* $owned:ident / $shared:ident<$($g:ident),*>($collector:ty) -> $out:ty $(, where [$($w:tt)*])?;)*) => {$(
        $(#[$doc])*
        pub fn $owned<$($g,)* F>(&self, f: F) -> (F, Stream<$out>)
        where
            F: for<'r> Fn(T, &mut $collector) + Send + Sync + 'static,
            $($($w)*)?
        {
            (f, next())
        }

        $(#[$doc])*
        ///
        /// For a stage reading its batch by reference: a branch, or lines
        /// read in place (freed after the stage).
        pub fn $shared<$($g,)* F>(&self, f: F) -> (F, Stream<$out>)
        where
            F: for<'e, 'r> Fn(&'e T, &mut $collector) + Send + Sync + 'static,
            $($($w)*)?
        {
            (f, next())
        }
    )*};
}

/// Witnesses of operators that take no function: their output's witness,
/// and their requirements on the input.
macro_rules! plain_witnesses {
    ($($(#[$doc:meta])* $name:ident -> $out:ty $(, where [$($w:tt)*])?;)*) => {$(
        $(#[$doc])*
        pub fn $name(&self) -> Stream<$out>
        $(where $($w)*)?
        {
            next()
        }
    )*};
}

/// The join family: the same requirements, one output shape each.
macro_rules! join_witnesses {
    ($($(#[$doc:meta])* $name:ident -> $out:ty, [$($values:tt)+];)*) => {$(
        $(#[$doc])*
        #[allow(clippy::type_complexity)]
        pub fn $name<K, V, K2, W, U>(
            &self,
            _other: &Stream<U>,
        ) -> (
            // The key as a projection of `SameKey`: rustc's error type when
            // the keys differ, so that the output's readers (its port) add
            // no second error.
            Stream<(<K2 as SameKey<K>>::Key, $out)>,
            Pair<T, K, V>,
            Pair<U, K, W>,
        )
        where
            T: JoinInput<Key = K, Value = V>,
            U: JoinInput<Key = K2, Value = W>,
            K2: SameKey<K>,
            K: Key,
            V: $($values)+,
            W: $($values)+,
        {
            (next(), <T as JoinInput>::into_pair, right_pair::<U, K, K2, W>)
        }
    )*};
}

/// The keyed-state family: with or without an initial state, with or
/// without the batch time; each returns its function ([`Checked`], called
/// once per key; with the initial state, when given), its output's witness,
/// its input as pairs and its state's codec probe.
macro_rules! state_witnesses {
    ($($(#[$doc:meta])* $name:ident($($initial:ident: $init_ty:ident)?) -> $shape:ty, [$($f:tt)+];)*) => {$(
        $(#[$doc])*
        // The function alone is in parentheses when there is no initial state.
        #[allow(clippy::type_complexity, unused_parens)]
        pub fn $name<K, V, S, F $(, $init_ty)?>(
            &self,
            f: F,
            $($initial: $init_ty)?
        ) -> ((Checked<F, $shape> $(, $init_ty)?), Stream<(K, S)>, Pair<T, K, V>, CodecProbe<StateStore<K, S>>)
        where
            T: StateInput<Key = K, Value = V>,
            K: Key,
            V: Data,
            S: StateValue,
            F: $($f)+ + Send + Sync + 'static,
            $($init_ty: IntoIterator<Item = (K, S)>,)?
        {
            ((Checked::new(f) $(, $initial)?), next(), <T as StateInput>::into_pair, codec())
        }
    )*};
}

/// `map_with_state`, with or without an initial state: its function
/// ([`Checked`], called once per record; with the initial state, when given), the
/// witnesses of its output and of its state snapshots, its input as pairs and
/// its state's codec probe.
macro_rules! mapping_witnesses {
    ($($(#[$doc:meta])* $name:ident($($initial:ident: $init_ty:ident)?) -> $bound_fns:ty;)*) => {$(
        $(#[$doc])*
        #[allow(clippy::type_complexity)]
        pub fn $name<K, V, S, U, F $(, $init_ty)?>(
            &self,
            f: F,
            $($initial: $init_ty)?
        ) -> ($bound_fns, Stream<U>, Stream<(K, S)>, Pair<T, K, V>, CodecProbe<MappedState<K, S>>)
        where
            T: StateInput<Key = K, Value = V>,
            K: Key,
            V: Data,
            S: StateValue,
            U: Data,
            F: Fn(&K, Option<V>, &mut State<S>) -> Option<U> + Send + Sync + 'static,
            $($init_ty: IntoIterator<Item = (K, S)>,)?
        {
            ((Checked::new(f) $(, $initial)?), next(), next(), <T as StateInput>::into_pair, codec())
        }
    )*};
}

/// The file outputs: each builds its sink once, with the job, from the
/// prefix and suffix of its directories, and requires its element form.
macro_rules! file_output_witnesses {
    ($($(#[$doc:meta])* $name:ident -> $sink:ty, where [$($w:tt)*];)*) => {$(
        $(#[$doc])*
        pub fn $name(&self, prefix: impl Into<String>, suffix: impl Into<String>) -> FileOutput<$sink, T>
        where
            $($w)*
        {
            FileOutput::new(crate::sinks::$name(prefix, suffix))
        }
    )*};
}

// No `T: Data` on the block: every operator's own bound checks what it
// produces, so a stream of a type that is not an element (an `Rc`) is
// reported once, where it is produced, and its readers add nothing.
impl<T> Stream<T> {
    /// The witness of an input port carrying `T`.
    pub fn input() -> Self
    where
        T: Data,
    {
        next()
    }

    /// Checks an output port's declared type.
    pub fn port<Declared>(&self)
    where
        T: PortType<Declared>,
    {
    }

    element_witnesses! {
        /// `map(f)`.
        map<U>(ByValue<T, U>, [Fn(T) -> U]) -> U, where [U: Data];
        /// `flat_map(f)`.
        flat_map<I>(ByValue<T, I>, [Fn(T) -> I]) -> I::Item, where [I: IntoIterator, I::Item: Data];
        /// `filter(f)`.
        filter<>(ByRef<T, bool>, [Fn(&T) -> bool]) -> T;
        /// `filter_map(f)`.
        filter_map<U>(ByValue<T, Option<U>>, [Fn(T) -> Option<U>]) -> U, where [U: Data];
        /// `inspect(f)`.
        inspect<>(ByRef<T, ()>, [Fn(&T)]) -> T;
    }

    element_witnesses! {
        /// `reduce(f)` (called once per element).
        reduce<>(Reduces<T>, [Fn(T, T) -> T]) -> T;
    }

    element_witnesses! {
        /// `map_partitions(f)` (called once per partition).
        map_partitions<I>(ByValue<Vec<T>, I>, [Fn(Vec<T>) -> I]) -> I::Item, where [I: IntoIterator, I::Item: Data];
    }

    plain_witnesses! {
        /// `glom()`.
        glom -> Vec<T>;
        /// `repartition(n)`.
        repartition -> T;
        /// `count()`.
        count -> u64;
        /// `count_by_value()`.
        count_by_value -> (T, u64), where [T: Key];
        /// `distinct()`.
        distinct -> T, where [T: Key];
    }

    map_side_witnesses! {
        /// The fused map side of a stage whose closures the macro wrote into
        /// the loop (so that elements may borrow from the element being read),
        /// ending in a materialized batch: the loop, and the witness of what
        /// it keeps.
        map_side_vec / map_side_vec_shared<U>(Vec<U>) -> U, where [U: Data];
        /// Likewise, ending in a `reduce_by_key` combiner: the witness of the
        /// pairs it stores (their keys owned).
        map_side_by_key / map_side_by_key_shared<K, V, R>(KeyCombiner<'r, K, V, R>) -> (K, V);
        /// Likewise, ending in a `combine_by_key` combiner.
        map_side_combine / map_side_combine_shared<K, V, C, Cr, Mv>(ByKeyCombiner<'r, K, V, C, Cr, Mv>) -> (K, V);
        /// Likewise, ending in a grouper (`group_by_key`, `group_by_key_and_window`,
        /// `update_state_by_key`, `map_with_state`): values grouped per key,
        /// each key stored once (owned).
        map_side_group / map_side_group_shared<K, V>(Grouper<K, V>) -> (K, V);
        /// Likewise, ending in a `count_by_value` counter: the witness of the
        /// values it counts (owned).
        map_side_by_value / map_side_by_value_shared<U>(ValueCounter<U>) -> U;
    }

    /// `map_values(f)`.
    #[allow(clippy::type_complexity)]
    pub fn map_values<K, V, U, F>(&self, f: F) -> (Checked<F, ByValue<V, U>>, Stream<(K, U)>, Pair<T, K, V>)
    where
        T: MapValuesInput<Key = K, Value = V>,
        (K, U): Data,
        F: Fn(V) -> U + Send + Sync + 'static,
    {
        (Checked::new(f), next(), <T as MapValuesInput>::into_pair)
    }

    /// `flat_map_values(f)`.
    #[allow(clippy::type_complexity)]
    pub fn flat_map_values<K, V, I, F>(&self, f: F) -> (Checked<F, ByValue<V, I>>, Stream<(K, I::Item)>, Pair<T, K, V>)
    where
        T: FlatMapValuesInput<Key = K, Value = V>,
        K: Clone,
        I: IntoIterator,
        (K, I::Item): Data,
        F: Fn(V) -> I + Send + Sync + 'static,
    {
        (Checked::new(f), next(), <T as FlatMapValuesInput>::into_pair)
    }

    /// `reduce_by_key(f)`: its function [`Checked`] (called once per
    /// element, in the map-side combiner and the merge).
    #[allow(clippy::type_complexity)]
    pub fn reduce_by_key<K, V, F>(&self, f: F) -> (Checked<F, Reduces<V>>, Stream<Keyed<K, V>>, Pair<T, K, V>)
    where
        T: ReduceByKeyInput<Key = K, Value = V>,
        K: Key,
        V: Data,
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        (Checked::new(f), next(), <T as ReduceByKeyInput>::into_pair)
    }

    /// `group_by_key()`.
    #[allow(clippy::type_complexity)]
    pub fn group_by_key<K, V>(&self) -> (Stream<Keyed<K, Vec<V>>>, Pair<T, K, V>)
    where
        T: GroupByKeyInput<Key = K, Value = V>,
        K: Key,
        V: Data,
    {
        (next(), <T as GroupByKeyInput>::into_pair)
    }

    /// `combine_by_key(create, merge_value, merge_combiners)`: its functions
    /// [`Checked`] (called once per element or key).
    #[allow(clippy::type_complexity)]
    pub fn combine_by_key<K, V, C, Cr, Mv, Mc>(
        &self,
        create: Cr,
        merge_value: Mv,
        merge_combiners: Mc,
    ) -> (
        (
            Checked<Cr, ByValue<V, C>>,
            Checked<Mv, Folds<C, V>>,
            Checked<Mc, Reduces<C>>,
        ),
        Stream<(K, C)>,
        Pair<T, K, V>,
    )
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
            (
                Checked::new(create),
                Checked::new(merge_value),
                Checked::new(merge_combiners),
            ),
            next(),
            <T as CombineByKeyInput>::into_pair,
        )
    }

    join_witnesses! {
        /// `join(other)`.
        join -> (V, W), [Clone + Data];
        /// `left_outer_join(other)`.
        left_outer_join -> (V, Option<W>), [Clone + Data];
        /// `right_outer_join(other)`.
        right_outer_join -> (Option<V>, W), [Clone + Data];
        /// `full_outer_join(other)`.
        full_outer_join -> (Option<V>, Option<W>), [Clone + Data];
        /// `cogroup(other)`.
        cogroup -> (Vec<V>, Vec<W>), [Data];
    }

    /// `window(w, s)`.
    pub fn window(&self) -> (Stream<T>, CodecProbe<ElementWindow<T>>)
    where
        T: WindowElement,
    {
        (next(), codec())
    }

    /// `count_by_window(w, s)`.
    pub fn count_by_window(&self) -> (Stream<u64>, CodecProbe<InvertibleWindow<(), u64>>) {
        (next(), codec())
    }

    /// `reduce_by_window(f, w, s)`: its function [`Checked`], as every
    /// window's (called once per element or key).
    #[allow(clippy::type_complexity)]
    pub fn reduce_by_window<F>(&self, f: F) -> (Checked<F, Reduces<T>>, Stream<T>, CodecProbe<ReducedWindow<T>>)
    where
        T: WindowElement,
        F: Fn(T, T) -> T + Send + Sync + 'static,
    {
        (Checked::new(f), next(), codec())
    }

    /// `reduce_by_window(f, f_inv, w, s)`.
    #[allow(clippy::type_complexity)]
    pub fn reduce_by_window_inv<F, I>(
        &self,
        f: F,
        inverse: I,
    ) -> (
        (Checked<F, Reduces<T>>, Checked<I, Reduces<T>>),
        Stream<T>,
        CodecProbe<InvertibleWindow<(), T>>,
    )
    where
        T: WindowElement,
        F: Fn(T, T) -> T + Send + Sync + 'static,
        I: Fn(T, T) -> T + Send + Sync + 'static,
    {
        ((Checked::new(f), Checked::new(inverse)), next(), codec())
    }

    /// `reduce_by_key_and_window(f, w, [s], [partitions])`.
    #[allow(clippy::type_complexity)]
    pub fn reduce_by_key_and_window<K, V, F>(
        &self,
        f: F,
    ) -> (
        Checked<F, Reduces<V>>,
        Stream<Keyed<K, V>>,
        Pair<T, K, V>,
        CodecProbe<KeyedWindow<K, V>>,
    )
    where
        T: ReduceByKeyAndWindowInput<Key = K, Value = V>,
        K: Key,
        V: WindowElement,
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        (
            Checked::new(f),
            next(),
            <T as ReduceByKeyAndWindowInput>::into_pair,
            codec(),
        )
    }

    /// `reduce_by_key_and_window(f, f_inv, w, s, [partitions], [keep])`
    /// (the macro passes `keep_all` when no filter is given).
    #[allow(clippy::type_complexity)]
    pub fn reduce_by_key_and_window_inv<K, V, F, I, P>(
        &self,
        f: F,
        inverse: I,
        keep: P,
    ) -> (
        (
            Checked<F, Reduces<V>>,
            Checked<I, Reduces<V>>,
            Checked<P, ByRef<(K, V), bool>>,
        ),
        Stream<Keyed<K, V>>,
        Pair<T, K, V>,
        CodecProbe<InvertibleWindow<K, V>>,
    )
    where
        T: ReduceByKeyAndWindowInput<Key = K, Value = V>,
        K: Key,
        V: WindowElement,
        F: Fn(V, V) -> V + Send + Sync + 'static,
        I: Fn(V, V) -> V + Send + Sync + 'static,
        P: Fn(&(K, V)) -> bool + Send + Sync + 'static,
    {
        (
            (Checked::new(f), Checked::new(inverse), Checked::new(keep)),
            next(),
            <T as ReduceByKeyAndWindowInput>::into_pair,
            codec(),
        )
    }

    /// `count_by_value_and_window(w, s, [partitions])`.
    #[allow(clippy::type_complexity)]
    pub fn count_by_value_and_window(&self) -> (Stream<(T, u64)>, CodecProbe<InvertibleWindow<T, u64>>)
    where
        T: Key,
    {
        (next(), codec())
    }

    /// `group_by_key_and_window(w, [s], [partitions])`.
    #[allow(clippy::type_complexity)]
    pub fn group_by_key_and_window<K, V>(
        &self,
    ) -> (Stream<Keyed<K, Vec<V>>>, Pair<T, K, V>, CodecProbe<GroupedWindow<K, V>>)
    where
        T: GroupByKeyAndWindowInput<Key = K, Value = V>,
        K: Key,
        V: WindowElement,
    {
        (next(), <T as GroupByKeyAndWindowInput>::into_pair, codec())
    }

    state_witnesses! {
        /// `update_state_by_key(f)`.
        update_state_by_key() -> Updates<V, S>, [Fn(&[V], Option<S>) -> Option<S>];
        /// `update_state_by_key(f, initial, [partitions])`.
        update_state_by_key_initial(initial: Init) -> Updates<V, S>, [Fn(&[V], Option<S>) -> Option<S>];
        /// `update_state_by_key_with_time(f)`.
        update_state_by_key_with_time() -> UpdatesAtTime<K, V, S>, [Fn(Time, &K, &[V], Option<S>) -> Option<S>];
        /// `update_state_by_key_with_time(f, initial, [partitions])`.
        update_state_by_key_with_time_initial(initial: Init) -> UpdatesAtTime<K, V, S>, [Fn(Time, &K, &[V], Option<S>) -> Option<S>];
    }

    mapping_witnesses! {
        /// `map_with_state(f, [timeout])`: the witnesses of its output and of
        /// its `state_snapshots()`.
        map_with_state() -> Checked<F, MapsWithState<K, V, S, U>>;
        /// `map_with_state(f, [timeout], initial, [partitions])`.
        map_with_state_initial(initial: Init) -> (Checked<F, MapsWithState<K, V, S, U>>, Init);
    }

    /// `print(n)`: how the per-batch code shows the first `n` elements, so
    /// that only this call requires `Debug`.
    pub fn print(&self, n: usize) -> Printer<T>
    where
        T: Printable,
    {
        Printer::debug(n)
    }

    file_output_witnesses! {
        /// `save_as_text_files(prefix, suffix)`: the file output, built once
        /// with the job, so that only this call requires a text form.
        save_as_text_files -> TextFilesSink, where [T: TextOutput];
        /// `save_as_object_files(prefix, suffix)`, likewise with serde.
        save_as_object_files -> ObjectFilesSink, where [T: ObjectOutput];
    }

    /// `foreach_batch(f)`: `f(&batch, time)`, as the live `sinks::foreach`.
    /// Handed over boxed (see [`BatchFn`]).
    #[allow(clippy::type_complexity)]
    pub fn foreach_batch<F: Fn(&Batch<T>, Time) + Send + Sync + 'static>(
        &self,
        f: F,
    ) -> BatchFn<dyn Fn(&Batch<T>, Time) + Send + Sync> {
        Box::new(f)
    }

    /// `transform(f)`, handed over boxed (see [`BatchFn`]).
    #[allow(clippy::type_complexity)]
    pub fn transform<U: Data, F>(&self, f: F) -> (BatchFn<dyn Fn(Batch<T>) -> Batch<U> + Send + Sync>, Stream<U>)
    where
        F: Fn(Batch<T>) -> Batch<U> + Send + Sync + 'static,
    {
        (Box::new(f), next())
    }

    /// `transform(f)` with `f(batch, time)`, handed over boxed (see [`BatchFn`]).
    #[allow(clippy::type_complexity)]
    pub fn transform_at_time<U: Data, F>(
        &self,
        f: F,
    ) -> (BatchFn<dyn Fn(Batch<T>, Time) -> Batch<U> + Send + Sync>, Stream<U>)
    where
        F: Fn(Batch<T>, Time) -> Batch<U> + Send + Sync + 'static,
    {
        (Box::new(f), next())
    }
}
