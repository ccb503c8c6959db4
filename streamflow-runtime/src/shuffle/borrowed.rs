//! How a fused loop ends when its elements may borrow from the element being
//! read (the `&str` words of a `String` line): the borrow lives only as long
//! as that element, so whatever outlives it is made owned at the end of the
//! loop, and only when needed.
//!
//! - A key pushed into a map-side combiner (`reduce_by_key`,
//!   `combine_by_key`, `count_by_value`, and the windows that combine like
//!   them: `reduce_by_key_and_window` with or without an inverse,
//!   `count_by_value_and_window`) or into a
//!   [`Grouper`](super::grouper::Grouper) (`group_by_key`,
//!   `group_by_key_and_window`, `update_state_by_key`, `map_with_state`,
//!   which group the values per key on the map side) is looked up borrowed;
//!   its owned form (`ToOwned`) is made only for a key the task has not
//!   seen, and stored once: a grouper's exchange carries one `(K, Values<V>)`
//!   group per key and map task (a task whose keys are nearly all new lists
//!   its pairs after a grouped sample, each made owned).
//! - An element materialized into a `Vec` is made owned when it is a
//!   reference (`&str` becomes `String`), and moved otherwise.
//!
//! The generated code says `(&&&Ends::of(source, &key)).push_key(out, key,
//! value)`, and rustc picks the form from the types (see the impls below), so
//! the macro, which does not know types, writes one line for every case.
//! Lifetimes cannot choose an impl, so the rule is about types: a reference
//! made by a loop that reads owned elements (`String` lines) is stored owned;
//! one made by a loop that reads references (`&'static str` lines) is kept,
//! as is one that reaches an output port declared with a reference type
//! (the macro writes a plain push there).

use super::collectors::{KeyedCollector, ValueCounter};
use std::borrow::Borrow;
use std::hash::Hash;
use std::marker::PhantomData;

/// The type of the element a fused loop reads (only its type is used).
pub struct Source<S>(PhantomData<fn(S)>);

impl<S> Source<S> {
    /// The source of a loop reading `x`.
    #[inline(always)]
    pub fn of(_: &S) -> Self {
        Source(PhantomData)
    }
}

impl<S> Clone for Source<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Source<S> {}

/// The types of what a fused loop reads (`S`) and pushes at its end (`T`),
/// for rustc to choose how it is stored.
pub struct Ends<S, T>(PhantomData<fn(S, T)>);

impl<S, T> Ends<S, T> {
    /// The end of a loop reading `source`, pushing `x` (only types are used).
    #[inline(always)]
    pub fn of(_: Source<S>, _: &T) -> Self {
        Ends(PhantomData)
    }
}

/// How a fused loop pushes `(key, value)` into a keyed collector (a
/// `reduce_by_key` or `combine_by_key` combiner, a grouper).
pub trait PushKey {
    /// What the loop pushes: the key as it has it.
    type Pushed;
    /// What the collector stores.
    type Stored;
    /// Pushes `(key, value)` into `out`.
    fn push_key<V, C: KeyedCollector<Self::Stored, V>>(&self, out: &mut C, key: Self::Pushed, value: V);
}

/// How a fused loop counts a value in a `count_by_value` counter.
pub trait PushValue {
    /// What the loop pushes.
    type Pushed;
    /// What the counter stores.
    type Stored;
    /// Counts `value` in `out`.
    fn push_value(&self, out: &mut ValueCounter<Self::Stored>, value: Self::Pushed);
}

/// How a fused loop materializes an element.
pub trait PushElement {
    /// What the loop pushes.
    type Pushed;
    /// What the batch holds.
    type Stored;
    /// Pushes `x` into `out`.
    fn push_element(&self, out: &mut Vec<Self::Stored>, x: Self::Pushed);
}

// Each trait is implemented three times, most specific first: the generated
// code calls it on `&&&Ends`, and rustc takes the first impl whose receiver
// matches as it strips references.
// - `&&Ends<&S, T>`: the loop reads references (`&'static str` lines), so a
//   reference it makes borrows what they borrow: kept as it is.
// - `&Ends<S, &Q>`: a reference made from an owned element, which will be
//   gone: stored owned (`ToOwned`), for a key only when it is new.
// - `Ends<S, T>`: anything else, moved in.

impl<S: ?Sized, K: Hash + Eq> PushKey for &&Ends<&S, K> {
    type Pushed = K;
    type Stored = K;
    #[inline(always)]
    fn push_key<V, C: KeyedCollector<K, V>>(&self, out: &mut C, key: K, value: V) {
        out.push_pair(key, value);
    }
}

impl<'a, S, Q> PushKey for &Ends<S, &'a Q>
where
    Q: Hash + Eq + ToOwned + ?Sized,
    Q::Owned: Hash + Eq + Borrow<Q>,
{
    type Pushed = &'a Q;
    type Stored = Q::Owned;
    #[inline(always)]
    fn push_key<V, C: KeyedCollector<Q::Owned, V>>(&self, out: &mut C, key: &'a Q, value: V) {
        out.push_borrowed_pair(key, value);
    }
}

impl<S, K: Hash + Eq> PushKey for Ends<S, K> {
    type Pushed = K;
    type Stored = K;
    #[inline(always)]
    fn push_key<V, C: KeyedCollector<K, V>>(&self, out: &mut C, key: K, value: V) {
        out.push_pair(key, value);
    }
}

impl<S: ?Sized, T: Hash + Eq> PushValue for &&Ends<&S, T> {
    type Pushed = T;
    type Stored = T;
    #[inline(always)]
    fn push_value(&self, out: &mut ValueCounter<T>, value: T) {
        out.push(value);
    }
}

impl<'a, S, Q> PushValue for &Ends<S, &'a Q>
where
    Q: Hash + Eq + ToOwned + ?Sized,
    Q::Owned: Hash + Eq + Borrow<Q>,
{
    type Pushed = &'a Q;
    type Stored = Q::Owned;
    #[inline(always)]
    fn push_value(&self, out: &mut ValueCounter<Q::Owned>, value: &'a Q) {
        out.push_borrowed(value);
    }
}

impl<S, T: Hash + Eq> PushValue for Ends<S, T> {
    type Pushed = T;
    type Stored = T;
    #[inline(always)]
    fn push_value(&self, out: &mut ValueCounter<T>, value: T) {
        out.push(value);
    }
}

impl<S: ?Sized, T> PushElement for &&Ends<&S, T> {
    type Pushed = T;
    type Stored = T;
    #[inline(always)]
    fn push_element(&self, out: &mut Vec<T>, x: T) {
        out.push(x);
    }
}

impl<'a, S, Q: ToOwned + ?Sized> PushElement for &Ends<S, &'a Q> {
    type Pushed = &'a Q;
    type Stored = Q::Owned;
    #[inline(always)]
    fn push_element(&self, out: &mut Vec<Q::Owned>, x: &'a Q) {
        out.push(x.to_owned());
    }
}

impl<S, T> PushElement for Ends<S, T> {
    type Pushed = T;
    type Stored = T;
    #[inline(always)]
    fn push_element(&self, out: &mut Vec<T>, x: T) {
        out.push(x);
    }
}

#[cfg(test)]
// The references are the dispatch, written as the generated code writes them.
#[allow(clippy::needless_borrow)]
mod tests {
    use super::*;
    use crate::shuffle::collectors::{ByKeyCombiner, Collector, KeyCombiner};
    use crate::shuffle::grouper::{Grouper, Run};

    fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
        v.sort();
        v
    }

    #[test]
    fn borrowed_keys_are_stored_owned_and_owned_keys_moved() {
        let add = |a: u64, b: u64| a + b;
        let line = String::from("b a b");
        let source = Source::of(&line);
        let mut combiner = KeyCombiner::new(&add);
        for word in line.split(' ') {
            (&&&Ends::of(source, &word)).push_key(&mut combiner, word, 1);
        }
        let counts: Vec<(String, u64)> = sorted(combiner.into_buckets(1).concat());
        assert_eq!(counts, vec![("a".to_owned(), 1), ("b".to_owned(), 2)]);

        let mut owned = KeyCombiner::new(&add);
        for key in [3u32, 1, 3] {
            (&&&Ends::of(source, &key)).push_key(&mut owned, key, 10);
        }
        // Words of a `&'static str` line borrow what it borrows: kept.
        let line: &'static str = "b a b";
        let source = Source::of(&line);
        let mut kept = KeyCombiner::new(&add);
        for word in line.split(' ') {
            (&&&Ends::of(source, &word)).push_key(&mut kept, word, 1);
        }
        let counts: Vec<(&'static str, u64)> = sorted(kept.into_buckets(1).concat());
        assert_eq!(counts, vec![("a", 1), ("b", 2)]);
        assert_eq!(sorted(owned.into_buckets(2).concat()), vec![(1, 10), (3, 20)]);
    }

    #[test]
    fn combiners_and_groupers_take_borrowed_keys() {
        let line = String::from("b a b c b");
        let source = Source::of(&line);
        let (create, merge) = (
            |v: u32| vec![v],
            |mut c: Vec<u32>, v: u32| {
                c.push(v);
                c
            },
        );
        let mut combiner = ByKeyCombiner::new(&create, &merge);
        let mut grouper = Grouper::new(1, 0, 0);
        for (i, word) in line.split(' ').enumerate() {
            (&&&Ends::of(source, &word)).push_key(&mut combiner, word, i as u32);
            (&&&Ends::of(source, &word)).push_key(&mut grouper, word, i as u32);
        }
        // The combiner made one `String` per distinct word.
        assert_eq!(combiner.table.len(), 3);
        let combined: Vec<(String, Vec<u32>)> = sorted(combiner.into_buckets(2).concat());
        assert_eq!(
            combined,
            vec![
                ("a".to_owned(), vec![1]),
                ("b".to_owned(), vec![0, 2, 4]),
                ("c".to_owned(), vec![3])
            ]
        );
        // So did the grouper, which keeps every value, in arrival order.
        assert_eq!(grouper.keys(), 3);
        let grouped: Vec<(String, Vec<u32>)> = sorted(
            grouper
                .into_buckets(2)
                .concat()
                .into_iter()
                .flat_map(Run::into_groups)
                .map(|(k, vs)| (k, vs.into_vec()))
                .collect(),
        );
        assert_eq!(
            grouped,
            vec![
                ("a".to_owned(), vec![1]),
                ("b".to_owned(), vec![0, 2, 4]),
                ("c".to_owned(), vec![3])
            ]
        );
    }

    #[test]
    fn borrowed_values_and_elements() {
        let line = String::from("x y x");
        let source = Source::of(&line);
        let mut counter = ValueCounter::new();
        let mut words = Vec::new();
        for word in line.split(' ') {
            (&&&Ends::of(source, &word)).push_value(&mut counter, word);
            (&&&Ends::of(source, &word)).push_element(&mut words, word);
        }
        let counts: Vec<(String, u64)> = sorted(counter.into_buckets(3).concat());
        assert_eq!(counts, vec![("x".to_owned(), 2), ("y".to_owned(), 1)]);
        let words: Vec<String> = words;
        assert_eq!(words, ["x", "y", "x"]);
        let mut numbers = Vec::new();
        (&&&Ends::of(Source::of(&0u8), &7u8)).push_element(&mut numbers, 7u8);
        assert_eq!(numbers, [7u8]);
    }

    #[test]
    fn a_panicking_reduce_fails_without_a_double_drop() {
        let boom = |_: String, _: String| -> String { panic!("no") };
        let result = std::panic::catch_unwind(|| {
            let mut combiner = KeyCombiner::new(&boom);
            combiner.push(("k", "first".to_owned()));
            combiner.push(("k", "second".to_owned()));
        });
        assert!(result.is_err());
        // The combiner was dropped during the unwind without touching the
        // moved-out value (a double free would abort the test process).
        let concat = |a: String, b: String| a + &b;
        let mut combiner = KeyCombiner::new(&concat);
        combiner.push(("k", "a".to_owned()));
        combiner.push(("k", "b".to_owned()));
        assert_eq!(combiner.into_buckets(1).concat(), vec![("k", "ab".to_owned())]);
    }
}
