//! Operators that need whole partitions or whole batches, and `repartition`.

use super::{Kind, OpDesc, Param, Signature};

/// The batch-wide operators.
pub const OPS: &[OpDesc] = &[
    OpDesc::new(
        "glom",
        Kind::Boundary,
        &[Signature::new("glom", &[])],
        "`glom()`: each partition becomes one element, the vector of its elements.",
    )
    .roles("collect partition", "glom"),
    OpDesc::new(
        "map_partitions",
        Kind::Boundary,
        &[Signature::new(
            "map_partitions",
            &[Param::Function(1, "a whole partition (`Vec<T>`)")],
        )],
        "`map_partitions(f)`: `f` gets each partition as a vector and returns its new elements.",
    )
    .roles("collect partition", "map partition"),
    OpDesc::new(
        "union",
        Kind::Boundary,
        // `transform_with` of the two batches' union: one body for both.
        &[Signature::new("transform_with", &[Param::Stream])
            .witness("union")
            .defaults(&["::streamflow::__private::union_batches"])],
        "`union(other)`: the elements of both streams (same element type).",
    )
    .roles("union input", "union"),
    OpDesc::new(
        "transform",
        Kind::Boundary,
        &[
            Signature::new("transform", &[Param::Function(1, "the whole batch (`Batch<T>`)")]),
            Signature::new(
                "transform",
                &[Param::Function(2, "the whole batch (`Batch<T>`) and its time")],
            )
            .witness("transform_at_time"),
        ],
        "`transform(f)`: `f` gets each whole batch (and its time, if `f` takes two arguments) and returns a new one; join with a static dataset here.",
    )
    .roles("collect batch", "transform"),
    OpDesc::new(
        "transform_with",
        Kind::Boundary,
        &[Signature::new(
            "transform_with",
            &[Param::Stream, Param::Function(2, "both streams' batches")],
        )],
        "`transform_with(other, f)`: `f` gets both streams' batches of the same time and returns a new one.",
    )
    .roles("collect batch", "transform_with"),
    OpDesc::new(
        "repartition",
        Kind::Boundary,
        &[Signature::new("repartition", &[Param::Partitions])],
        "`repartition(n)`: the same elements over `n` partitions.",
    )
    .partitions()
    .roles("redistribute", "repartitioned")
    .shuffles(),
];
