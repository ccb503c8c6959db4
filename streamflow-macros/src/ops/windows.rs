//! Operators over sliding windows: each keeps the batches (or their partial
//! results) of its window in a state object built from its length and slide.

use super::{F2_REDUCE, INVERSE, INVERTED, KEEP, Keeps, Kind, OpDesc, Param, REDUCED, Signature};

const WINDOW: Param = Param::Duration("the window length");
const SLIDE: Param = Param::Duration("the slide");

/// A window operator, a shuffle unless said otherwise.
const fn window(name: &'static str, signatures: &'static [Signature], doc: &'static str) -> OpDesc {
    OpDesc::new(name, Kind::Boundary, signatures, doc)
        .keeps(Keeps::Window)
        .shuffles()
}

/// A call of `name` keeping a window of type `state`.
const fn keeping(name: &'static str, params: &'static [Param], state: &'static str) -> Signature {
    Signature::new(name, params).state(state)
}

/// A call of `name` with an inverse function: incremental, in an `InvertibleWindow`.
const fn inverse(name: &'static str, params: &'static [Param]) -> Signature {
    keeping(name, params, "InvertibleWindow")
}

/// A reduction of a window: its function rebound once, with the job.
const fn reducing(name: &'static str, params: &'static [Param], state: &'static str) -> Signature {
    keeping(name, params, state).rebind(&[REDUCED])
}

/// `reduce_by_key_and_window` with an inverse and a filter of the results.
const fn keyed_inverse(params: &'static [Param]) -> Signature {
    inverse("reduce_by_key_and_window_inv", params).rebind(&[REDUCED, INVERTED, "keep(pair: &_)"])
}

/// `reduce_by_key_and_window` with an inverse and no filter: its witness is
/// given the filter that keeps every key.
const fn keeping_all(params: &'static [Param]) -> Signature {
    keyed_inverse(params).defaults(&["::streamflow::__private::keep_all"])
}

/// The window operators.
pub const OPS: &[OpDesc] = &[
    OpDesc {
        shuffles: false,
        ..window(
            "window",
            &[
                keeping("window", &[WINDOW], "ElementWindow"),
                keeping("window", &[WINDOW, SLIDE], "ElementWindow"),
            ],
            "`window(w, [s])`: every `s` (default: the batch interval), the elements of the batches of the last `w`.",
        )
        .roles("buffer batch", "window")
    },
    window(
        "count_by_window",
        &[inverse("count_by_window", &[WINDOW, SLIDE])],
        "`count_by_window(w, s)`: every `s`, the number of elements in the last `w` (`0` once data has arrived).",
    )
    .roles("map-side count", "count window"),
    window(
        "reduce_by_window",
        &[
            reducing("reduce_by_window", &[F2_REDUCE, WINDOW, SLIDE], "ReducedWindow"),
            inverse("reduce_by_window_inv", &[F2_REDUCE, INVERSE, WINDOW, SLIDE]).rebind(&[REDUCED, INVERTED]),
        ],
        "`reduce_by_window(f, [f_inv], w, s)`: every `s`, the elements of the last `w` combined with `f`.",
    )
    .roles("map-side reduce", "reduce window"),
    window(
        "reduce_by_key_and_window",
        &[
            reducing("reduce_by_key_and_window", &[F2_REDUCE, WINDOW], "KeyedWindow"),
            reducing("reduce_by_key_and_window", &[F2_REDUCE, WINDOW, SLIDE], "KeyedWindow"),
            reducing(
                "reduce_by_key_and_window",
                &[F2_REDUCE, WINDOW, SLIDE, Param::Partitions],
                "KeyedWindow",
            ),
            keeping_all(&[F2_REDUCE, INVERSE, WINDOW, SLIDE]),
            keeping_all(&[F2_REDUCE, INVERSE, WINDOW, SLIDE, Param::Partitions]),
            keyed_inverse(&[F2_REDUCE, INVERSE, WINDOW, SLIDE, Param::Partitions, KEEP]),
        ],
        "`reduce_by_key_and_window(f, [f_inv], w, s, [partitions], [keep])`: every `s`, per key, the values of the last `w` combined with `f`; with `f_inv`, incrementally.",
    )
    .partitions()
    .pairs()
    .roles("map-side combine", "reduce window by key"),
    window(
        "count_by_value_and_window",
        &[
            inverse("count_by_value_and_window", &[WINDOW, SLIDE]),
            inverse("count_by_value_and_window", &[WINDOW, SLIDE, Param::Partitions]),
        ],
        "`count_by_value_and_window(w, s)`: every `s`, (value, count) over the last `w`.",
    )
    .partitions()
    .roles("map-side count", "count window by value"),
    window(
        "group_by_key_and_window",
        &[
            keeping("group_by_key_and_window", &[WINDOW], "GroupedWindow"),
            keeping("group_by_key_and_window", &[WINDOW, SLIDE], "GroupedWindow"),
            keeping(
                "group_by_key_and_window",
                &[WINDOW, SLIDE, Param::Partitions],
                "GroupedWindow",
            ),
        ],
        "`group_by_key_and_window(w, [s])`: every `s`, per key, its values of the last `w` in batch order.",
    )
    .partitions()
    .pairs()
    .roles("map-side group", "group window by key"),
];
