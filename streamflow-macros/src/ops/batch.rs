//! Operators that need whole partitions or whole batches, and `repartition`.

use super::{Kind, OpDesc, Param, Signature};

/// The other streams of a `union` or `transform_with`: one to seven, each
/// count its own signature (and runtime function), so that every later pass
/// reads a fixed argument list.
const S: Param = Param::Stream;
const BATCHES: &str = "every stream's batch (`Batch<T>`), the receiver's first";
const AT_TIME: &str = "every stream's batch (`Batch<T>`), the receiver's first, and their time";

/// A `union` of the receiver and `others`, run by `runtime` with `union_fn`.
const fn union(
    others: &'static [Param],
    witness: &'static str,
    runtime: &'static str,
    union_fn: &'static [&'static str],
) -> Signature {
    Signature::new(runtime, others).witness(witness).defaults(union_fn)
}

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
        )
        .rebind(&["f(part)"])],
        "`map_partitions(f)`: `f` gets each partition as a vector and returns its new elements.",
    )
    .roles("collect partition", "map partition"),
    OpDesc::new(
        "union",
        Kind::Boundary,
        // The batches' union laid side by side, partition-wise.
        &[
            union(&[S], "union", "union", &["::streamflow::__private::union_batches"]),
            union(&[S, S], "union3", "union3", &["::streamflow::__private::union_batches3"]),
            union(&[S, S, S], "union4", "union4", &["::streamflow::__private::union_batches4"]),
            union(&[S, S, S, S], "union5", "union5", &["::streamflow::__private::union_batches5"]),
            union(&[S, S, S, S, S], "union6", "union6", &["::streamflow::__private::union_batches6"]),
            union(&[S, S, S, S, S, S], "union7", "union7", &["::streamflow::__private::union_batches7"]),
            union(&[S, S, S, S, S, S, S], "union8", "union8", &["::streamflow::__private::union_batches8"]),
        ],
        "`union(other, ..)`: the elements of every stream, the receiver's first (same element type; up to 8 streams).",
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
        &[
            Signature::new("transform_with", &[S, Param::Function(2, BATCHES)]),
            Signature::new("transform_with", &[S, Param::Function(3, AT_TIME)]).witness("transform_with_at_time"),
            Signature::new("transform_with3", &[S, S, Param::Function(3, BATCHES)]),
            Signature::new("transform_with3", &[S, S, Param::Function(4, AT_TIME)]).witness("transform_with3_at_time"),
            Signature::new("transform_with4", &[S, S, S, Param::Function(4, BATCHES)]),
            Signature::new("transform_with4", &[S, S, S, Param::Function(5, AT_TIME)])
                .witness("transform_with4_at_time"),
            Signature::new("transform_with5", &[S, S, S, S, Param::Function(5, BATCHES)]),
            Signature::new("transform_with5", &[S, S, S, S, Param::Function(6, AT_TIME)])
                .witness("transform_with5_at_time"),
            Signature::new("transform_with6", &[S, S, S, S, S, Param::Function(6, BATCHES)]),
            Signature::new("transform_with6", &[S, S, S, S, S, Param::Function(7, AT_TIME)])
                .witness("transform_with6_at_time"),
            Signature::new("transform_with7", &[S, S, S, S, S, S, Param::Function(7, BATCHES)]),
            Signature::new("transform_with7", &[S, S, S, S, S, S, Param::Function(8, AT_TIME)])
                .witness("transform_with7_at_time"),
            Signature::new("transform_with8", &[S, S, S, S, S, S, S, Param::Function(8, BATCHES)]),
            Signature::new("transform_with8", &[S, S, S, S, S, S, S, Param::Function(9, AT_TIME)])
                .witness("transform_with8_at_time"),
        ],
        "`transform_with(other, .., f)`: `f` gets every stream's batch of the same time, the receiver's first (and the time, if `f` takes one more argument), and returns a new one (up to 8 streams).",
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
