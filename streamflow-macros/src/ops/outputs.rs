//! Output operators: they consume a stream at the end of a job, each calling
//! `op(ctx, sink_index, bound, batch)` with the value its witness returned.

use super::{Kind, OpDesc, Param, Signature, Sink};

const PREFIX: Param = Param::Value("the path prefix of the batch directories");
const SUFFIX: Param = Param::Value("the suffix of the batch directories");

const fn output(name: &'static str, signatures: &'static [Signature], sink: Sink, doc: &'static str) -> OpDesc {
    OpDesc {
        sink: Some(sink),
        ..OpDesc::new(name, Kind::Output, signatures, doc)
    }
}

/// A file output's witness builds its writer from the prefix and the suffix
/// (empty when omitted); each batch is written through it.
const WRITER: Sink = Sink { bound_mut: true };

/// The output operators.
pub const OPS: &[OpDesc] = &[
    output(
        "print",
        &[
            Signature::new("print", &[]).defaults(&["10"]),
            Signature::new("print", &[Param::Count("how many elements to print")]),
        ],
        Sink { bound_mut: false },
        "`print()` / `print(n)`: the first `n` (default 10) elements of every batch, in Spark's layout, each element shown with `Debug` (`(\"cloud\", 1)` where Spark shows `(cloud,1)`).",
    ),
    output(
        "save_as_text_files",
        &[
            Signature::new("save_as_text_files", &[PREFIX])
                .runtime("save_batch")
                .defaults(&["\"\""]),
            Signature::new("save_as_text_files", &[PREFIX, SUFFIX]).runtime("save_batch"),
        ],
        WRITER,
        "`save_as_text_files(prefix, [suffix])`: every batch as a directory `prefix-TIME_IN_MS[.suffix]` of text files, one line per element.",
    ),
    output(
        "save_as_object_files",
        &[
            Signature::new("save_as_object_files", &[PREFIX])
                .runtime("save_batch")
                .defaults(&["\"\""]),
            Signature::new("save_as_object_files", &[PREFIX, SUFFIX]).runtime("save_batch"),
        ],
        WRITER,
        "`save_as_object_files(prefix, [suffix])`: the same layout, elements serialized with serde (postcard).",
    ),
    output(
        "foreach_batch",
        &[Signature::new(
            "foreach_batch",
            &[Param::Function(2, "the batch and its time")],
        )],
        Sink { bound_mut: false },
        "`foreach_batch(f)`: `f(&batch, time)` for every batch, in batch order (Spark's `foreachRDD`).",
    ),
];
