//! Joins of two keyed streams, and `cogroup`.

use super::{Kind, OpDesc, Param, Signature};

/// A join of the stream with `other` by key, optionally over `partitions`.
const fn join(
    name: &'static str,
    signatures: &'static [Signature],
    reduce_role: &'static str,
    doc: &'static str,
) -> OpDesc {
    OpDesc::new(name, Kind::Boundary, signatures, doc)
        .pairs()
        .partitions()
        .roles("map-side group", reduce_role)
        .shuffles()
}

/// The joins.
pub const OPS: &[OpDesc] = &[
    join(
        "join",
        or_with_partitions!("join", [Param::Stream]),
        "join",
        "`join(other)`: pairs `(k, (v, w))` for every `v` and `w` of a key present on both sides.",
    ),
    join(
        "left_outer_join",
        or_with_partitions!("left_outer_join", [Param::Stream]),
        "left outer join",
        "`left_outer_join(other)`: `(k, (v, Some(w)))`, or `(k, (v, None))` when the right has no value.",
    ),
    join(
        "right_outer_join",
        or_with_partitions!("right_outer_join", [Param::Stream]),
        "right outer join",
        "`right_outer_join(other)`: `(k, (Some(v), w))`, or `(k, (None, w))` when the left has no value.",
    ),
    join(
        "full_outer_join",
        or_with_partitions!("full_outer_join", [Param::Stream]),
        "full outer join",
        "`full_outer_join(other)`: every value of either side, `None` where the other side has none.",
    ),
    join(
        "cogroup",
        or_with_partitions!("cogroup", [Param::Stream]),
        "cogroup",
        "`cogroup(other)`: `(k, (left values, right values))` for every key on either side.",
    ),
];
