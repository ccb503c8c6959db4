//! The requirements of operators on the types of their streams, each a trait
//! with a blanket impl and a `#[diagnostic::on_unimplemented]` message, so
//! that a mistake reads as one sentence about the operator rather than a page
//! of trait bounds.

use std::fmt::Debug;
use std::hash::Hash;

/// Declares requirement traits: each a name for its bounds, with a blanket
/// impl and the message rustc shows when a type falls short.
macro_rules! requirements {
    ($($(#[$doc:meta])* $name:ident: [$($bound:tt)+] => $message:literal, $label:literal, $note:literal;)*) => {$(
        $(#[$doc])*
        #[diagnostic::on_unimplemented(message = $message, label = $label, note = $note)]
        pub trait $name: $($bound)+ {}
        impl<T: $($bound)+> $name for T {}
    )*};
}

/// What every stream element must be: movable between the worker threads.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a stream element: elements must be `Send + Sync + 'static`",
    label = "this operator produces `{Self}`",
    note = "stream elements move between worker threads; use owned, thread-safe types (`String`, `Arc<T>`, not `&str` or `Rc<T>`)"
)]
pub trait Data: Send + Sync + 'static {}
// Not recommended, so that rustc reports `Data` itself, once, rather than
// each bound a type misses (`Rc<T>` is neither `Send` nor `Sync`: one error).
#[diagnostic::do_not_recommend]
impl<T: Send + Sync + 'static> Data for T {}

/// What a job's generated `<Job>Inputs`/`<Job>Outputs` impls assume of every
/// port's element type, so that the structs are `Send`: the element's own
/// mistake (an `Rc`) is the witness's error, and this bound is not a second
/// one where the job is declared. A use of such a job (running it) still
/// checks it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the element of a port: elements must be `Send + Sync + 'static`",
    label = "the job's ports hold `{Self}`",
    note = "stream elements move between worker threads; use owned, thread-safe types (`String`, `Arc<T>`, not `&str` or `Rc<T>`)"
)]
pub trait PortElement: Send + Sync + 'static {}
#[diagnostic::do_not_recommend]
impl<T: Send + Sync + 'static> PortElement for T {}

requirements! {

    /// What a shuffle key must be: hashable and comparable.
    Key: [Hash + Eq + Clone + Data] =>
        "`{Self}` cannot be used as a key: keys must implement `Hash + Eq + Clone` and be `Send + Sync + 'static`",
        "this operator groups records by a key of type `{Self}`",
        "keys are hash-partitioned across the shuffle and move between worker threads; derive `Hash, PartialEq, Eq, Clone` on your key type, and use thread-safe types in it (`String`, `Arc<T>`, not `Rc<T>`)";

    /// What a stream read by several operators must be: clonable.
    Shared: [Clone + Data] =>
        "this stream feeds several operators, so its element type `{Self}` must implement `Clone`",
        "read by more than one operator",
        "a stream with several readers is materialized once and each reader gets its own copy of the elements";

    /// What `print` needs: a `Debug` representation.
    Printable: [Debug + Data] =>
        "`print` formats elements with `Debug`, which `{Self}` does not implement",
        "printed here",
        "derive or implement `Debug` for `{Self}`";

    /// What `save_as_text_files` needs: a text form of each element.
    TextOutput: [crate::sinks::TextRecord + Data] =>
        "`save_as_text_files` writes each element as a line of text, but `{Self}` has no text form",
        "written as text here",
        "implement `streamflow::sinks::TextRecord` for `{Self}`, or `map` the stream to `String` first";

    /// What `save_as_object_files` needs: serde serialization.
    ObjectOutput: [serde::Serialize + Data] =>
        "`save_as_object_files` serializes elements with serde, but `{Self}` does not implement `Serialize`",
        "serialized here",
        "derive `serde::Serialize` for `{Self}`";

    /// What a window keeps across batches must be clonable: a batch is shared by
    /// every window that covers it.
    WindowElement: [Clone + Data] =>
        "windows keep `{Self}` for later windows, so it must implement `Clone`",
        "kept across batches by this window",
        "derive or implement `Clone` for `{Self}`";

    /// Keyed state is output (or snapshot) every batch while it is kept, so it
    /// must be clonable.
    StateValue: [Clone + Data] =>
        "keyed state of type `{Self}` must implement `Clone`",
        "the state this function keeps per key",
        "the state is kept across batches and copied into every batch's output or snapshots; derive `Clone` (or keep an `Arc`)";
}

/// Declares requirements that two types be the same: implemented only for
/// a type and itself.
macro_rules! same_type_requirements {
    ($($(#[$doc:meta])* $name:ident<$other:ident> => $message:literal, $label:literal, $note:literal;)*) => {$(
        $(#[$doc])*
        #[diagnostic::on_unimplemented(message = $message, label = $label, note = $note)]
        pub trait $name<$other> {}
        impl<T> $name<T> for T {}
    )*};
}

same_type_requirements! {
    /// A declared port type must equal the stream's element type.
    PortType<Declared> =>
        "the output port is declared as `{Declared}` but its stream carries `{Self}`",
        "declared type differs from the stream's element type `{Self}`",
        "change the declared type to `{Self}`, or map the stream to `{Declared}` before the output";

    /// Two streams combined element-wise must carry the same type.
    SameElement<T> =>
        "cannot combine a stream of `{T}` with a stream of `{Self}`",
        "this stream carries `{Self}`, the other one `{T}`",
        "map one of the streams so that both carry the same element type";
}

/// Two streams joined by key must have the same key type.
#[diagnostic::on_unimplemented(
    message = "cannot join a stream keyed by `{K}` with a stream keyed by `{Self}`",
    label = "the right stream is keyed by `{Self}`, the left one by `{K}`",
    note = "both streams of a join or cogroup must have the same key type; map one of them first (a key borrowed from its element, a `&str` split from a line, cannot reach a join: make the words owned where they are split, `.flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())`)"
)]
pub trait SameKey<K> {
    /// The joined stream's key: the key type both streams share. For a
    /// borrowed key against its owned form (which fails `KeptPastJoin`),
    /// the owned one, so that what reads the join's output adds no second
    /// error.
    type Key;
    /// The key, as the other stream's key type (the same type).
    fn into_key(self) -> K;
}
impl<K> SameKey<K> for K {
    type Key = K;
    fn into_key(self) -> K {
        self
    }
}

// A left key borrowed from its element joined with its owned form (`&str`
// with `String`, `&T` with `T`) is the commonest key mismatch of a join
// (words split from lines): these impls name it as such. They hold only if
// the borrowed key is `KeptPastJoin`, which none is. Their `Self` is generic
// (`O: OwnedStr`), so that rustc does not list them ("`SameKey<&str>` is
// implemented for `String`") under every other key mismatch; for the same
// reason a borrowed right key has no such impl (`SameKey`'s note names it).
impl<'a, O: sealed::OwnedStr> SameKey<&'a str> for O
where
    &'a str: sealed::KeptPastJoin<O>,
{
    type Key = O;
    fn into_key(self) -> &'a str {
        <&'a str as sealed::KeptPastJoin<O>>::key(self)
    }
}
impl<'a, T> SameKey<&'a T> for T
where
    &'a T: sealed::KeptPastJoin<T>,
{
    type Key = T;
    fn into_key(self) -> &'a T {
        <&'a T as sealed::KeptPastJoin<T>>::key(self)
    }
}

mod sealed {
    /// `String`: the owned form of a `&str` key.
    pub trait OwnedStr {}
    impl OwnedStr for String {}

    /// A borrowed key that a join could keep: none is (the trait has no
    /// impls, and is out of reach), so a join of a borrowed key with its
    /// owned form is this error.
    #[diagnostic::on_unimplemented(
        message = "a key borrowed from its element (`{Self}`) cannot be kept past a join with a stream keyed by `{O}`",
        label = "this join needs keys of type `{O}` on both sides",
        note = "a join's sides are not fused loops: nothing borrowed from an element (a word split from a line) reaches them; make the words owned where they are split: `.flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())`"
    )]
    pub trait KeptPastJoin<O> {
        /// The borrowed key of an owned one.
        fn key(owned: O) -> Self;
    }
}

macro_rules! pair_requirements {
    ($($(#[$doc:meta])* $name:ident => $message:literal;)*) => {$(
        $(#[$doc])*
        #[diagnostic::on_unimplemented(
            message = $message,
            label = "this stream carries `{Self}`, not `(K, V)` pairs",
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
    MapValuesInput => "`map_values` needs a stream of `(K, V)` pairs (key, value); this stream carries `{Self}`";
    /// Input of `flat_map_values`.
    FlatMapValuesInput => "`flat_map_values` needs a stream of `(K, V)` pairs (key, value); this stream carries `{Self}`";
    /// Input of `reduce_by_key`.
    ReduceByKeyInput => "`reduce_by_key` needs a stream of `(K, V)` pairs (key, value); this stream carries `{Self}`";
    /// Input of `group_by_key`.
    GroupByKeyInput => "`group_by_key` needs a stream of `(K, V)` pairs (key, value); this stream carries `{Self}`";
    /// Input of `combine_by_key`.
    CombineByKeyInput => "`combine_by_key` needs a stream of `(K, V)` pairs (key, value); this stream carries `{Self}`";
    /// Inputs of the join family and `cogroup`.
    JoinInput => "joins and `cogroup` need streams of `(K, V)` pairs (key, value); this stream carries `{Self}`";
    /// Input of `reduce_by_key_and_window` (every form).
    ReduceByKeyAndWindowInput => "`reduce_by_key_and_window` needs a stream of `(K, V)` pairs (key, value); this stream carries `{Self}`";
    /// Input of `group_by_key_and_window`.
    GroupByKeyAndWindowInput => "`group_by_key_and_window` needs a stream of `(K, V)` pairs (key, value); this stream carries `{Self}`";
    /// Input of `update_state_by_key` and `map_with_state` (every form).
    StateInput => "`update_state_by_key` and `map_with_state` need a stream of `(K, V)` pairs (key, value); this stream carries `{Self}`";
}
