//! Aggregations of a batch: whole-batch (`count`, `reduce`) and by key or value.

use super::{CREATE, F2_REDUCE, Kind, MERGE_COMBINERS, MERGE_VALUE, OpDesc, Param, REDUCED, Signature};

/// The aggregations.
pub const OPS: &[OpDesc] = &[
    OpDesc::new(
        "count",
        Kind::Boundary,
        &[Signature::new("count", &[])],
        "`count()`: one element per batch, the number of elements (`0` for an empty batch).",
    )
    .roles("map-side count", "sum counts")
    .shuffles(),
    OpDesc::new(
        "reduce",
        Kind::Boundary,
        &[Signature::new("reduce", &[F2_REDUCE]).rebind(&[REDUCED])],
        "`reduce(f)`: one element per batch combining all elements with `f`; nothing for an empty batch.",
    )
    .roles("map-side reduce", "merge")
    .shuffles(),
    OpDesc::new(
        "count_by_value",
        Kind::Boundary,
        or_with_partitions!("count_by_value", []),
        "`count_by_value()`: (value, count) pairs.",
    )
    .partitions()
    .roles("map-side count", "merge counts")
    .shuffles(),
    OpDesc::new(
        "distinct",
        Kind::Boundary,
        or_with_partitions!("distinct", []),
        "`distinct()`: every distinct element once.",
    )
    .partitions()
    .roles("map-side dedup", "merge")
    .shuffles(),
    OpDesc::new(
        "reduce_by_key",
        Kind::Boundary,
        or_with_partitions!("reduce_by_key", [F2_REDUCE], rebind &[REDUCED]),
        "`reduce_by_key(f)`: on pairs, one (key, value) per key combining its values with `f`; combines before the shuffle.",
    )
    .partitions()
    .pairs()
    .roles("map-side combine", "merge")
    .shuffles(),
    OpDesc::new(
        "group_by_key",
        Kind::Boundary,
        or_with_partitions!("group_by_key", []),
        "`group_by_key()`: on pairs, (key, all its values in arrival order).",
    )
    .partitions()
    .pairs()
    .roles("map-side group", "merge groups")
    .shuffles(),
    OpDesc::new(
        "combine_by_key",
        Kind::Boundary,
        or_with_partitions!("combine_by_key", [CREATE, MERGE_VALUE, MERGE_COMBINERS], rebind &["create(v)", "merge_value(c, v)", "merge_combiners(a, b)"]),
        "`combine_by_key(create, merge_value, merge_combiners)`: on pairs, one (key, combiner) per key.",
    )
    .partitions()
    .pairs()
    .roles("map-side combine", "merge combiners")
    .shuffles(),
];
