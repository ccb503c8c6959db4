//! The operator table: one descriptor per operator of the job language, one
//! file per family.
//!
//! Every pass reads it: the graph pass to sort an operator's arguments into
//! streams, functions and settings; the checker for arities and unknown names;
//! the planner for stage boundaries; the code generator for what to emit (the
//! runtime function, the typing witness and the state type of the matched
//! signature, a narrow operator's loop code). Each descriptor's `doc` is the
//! user's reference (README's operator table).

/// The two signatures of an operator whose calls may end with a partitions
/// count: `name(params..)` and `name(params.., partitions)`.
macro_rules! or_with_partitions {
    ($name:literal, [$($param:expr),*]) => {
        &[
            Signature::new($name, &[$($param),*]),
            Signature::new($name, &[$($param,)* Param::Partitions]),
        ]
    };
    ($name:literal, [$($param:expr),*], rebind $rebind:expr) => {
        &[
            Signature::new($name, &[$($param),*]).rebind($rebind),
            Signature::new($name, &[$($param,)* Param::Partitions]).rebind($rebind),
        ]
    };
}

mod aggregates;
mod batch;
mod joins;
pub mod narrow;
mod outputs;
mod state;
mod windows;

/// What an operator does to the stage structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Element by element: fuses with its neighbours.
    Narrow,
    /// Needs whole partitions or the whole batch, or moves data between
    /// partitions: ends the stages that feed it.
    Boundary,
    /// Consumes a stream and produces nothing (print, foreach_batch).
    Output,
}

/// One parameter of an operator call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// Another stream (a name or a chain).
    Stream,
    /// A function taking this many arguments; the text says what they are.
    Function(usize, &'static str),
    /// A duration literal (`10s`).
    Duration(&'static str),
    /// A count expression (`usize`) the typing witness takes (`print(n)`).
    Count(&'static str),
    /// The number of partitions of a shuffle (`usize`), passed to the runtime.
    Partitions,
    /// Any expression, evaluated once when the job is built (an initial state,
    /// a path prefix), passed to the typing witness.
    Value(&'static str),
    /// A duration literal that need not be a multiple of the batch interval.
    Timeout(&'static str),
}

/// One accepted parameter list of an operator, with what a call of it emits.
#[derive(Debug)]
pub struct Signature {
    /// The parameters, in order.
    pub params: &'static [Param],
    /// The `__private` runtime function the call runs (narrow operators: the
    /// `narrow` their fused chain runs in).
    pub runtime: &'static str,
    /// The method of the typing witness that binds the call's functions.
    pub witness: &'static str,
    /// The type of the state object the call keeps across batches, if any.
    pub state: Option<&'static str>,
    /// Arguments the witness takes in place of omitted optional parameters
    /// (`print()` prints 10 elements), as Rust expressions.
    pub defaults: &'static [&'static str],
    /// For a runtime function that takes the user's functions by their type
    /// (a reduction is part of the map-side combiner's type), the closures
    /// that replace the `Checked` functions the witness returns, one per
    /// function in order, each as the name it is bound to and its parameter
    /// list (`"f(a, b)"`, `"keep(pair: &_)"`); they are made once, with the
    /// job. Empty: the functions go to the runtime as the witness returns them.
    pub rebind: &'static [&'static str],
}

impl Signature {
    /// Parameters `params`, calling the runtime function and the witness
    /// method both named `name`.
    pub const fn new(name: &'static str, params: &'static [Param]) -> Signature {
        Signature {
            params,
            runtime: name,
            witness: name,
            state: None,
            defaults: &[],
            rebind: &[],
        }
    }

    /// The same with a witness method of another name.
    pub const fn witness(self, witness: &'static str) -> Signature {
        Signature { witness, ..self }
    }

    /// The same with a runtime function of another name.
    pub const fn runtime(self, runtime: &'static str) -> Signature {
        Signature { runtime, ..self }
    }

    /// The same keeping a state object of type `state`.
    pub const fn state(self, state: &'static str) -> Signature {
        Signature {
            state: Some(state),
            ..self
        }
    }

    /// The same with witness arguments for omitted optional parameters.
    pub const fn defaults(self, defaults: &'static [&'static str]) -> Signature {
        Signature { defaults, ..self }
    }

    /// The same with its checked functions rebound as closures with these
    /// parameter lists (see [`rebind`](Signature::rebind)).
    pub const fn rebind(self, rebind: &'static [&'static str]) -> Signature {
        Signature { rebind, ..self }
    }
}

/// What an operator keeps across batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keeps {
    /// Nothing.
    Nothing,
    /// A sliding window: built from its length and slide, and its step yields
    /// a batch only at multiples of the slide (an `Option`).
    Window,
    /// Per-key state, built from the initial state (and the idle timeout, for
    /// an operator that takes one).
    Keys,
}

/// How an operator relates to the snapshots of a per-key state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Snapshots {
    /// Not at all.
    None,
    /// Its step also yields the snapshots of its state (`map_with_state`).
    Yields,
    /// Its stream is the snapshots the step of its input yields: it has no
    /// step and no witness call of its own (`state_snapshots`).
    Reads,
}

/// How an output operator hands its bound value to the runtime (every output
/// operator borrows its batch, as a live sink does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sink {
    /// Whether the value its witness returned is passed `&mut` (a file writer).
    pub bound_mut: bool,
}

/// One operator of the job language.
#[derive(Debug)]
pub struct OpDesc {
    /// The name users write.
    pub name: &'static str,
    /// Its effect on stages.
    pub kind: Kind,
    /// The accepted parameter lists, like overloads (Spark has several for
    /// windows); a call takes the first whose length and kinds match its
    /// arguments.
    pub signatures: &'static [Signature],
    /// Whether it reads (key, value) pairs: its typing witness then hands over
    /// the conversion of an element into a pair (one per input).
    pub takes_pairs: bool,
    /// What it keeps across batches.
    pub keeps: Keeps,
    /// Whether its runtime function takes a partitions count (`None` unless
    /// the call names one; the stateful operators take one no call names).
    pub partitions: bool,
    /// Its part in the snapshots of per-key state.
    pub snapshots: Snapshots,
    /// For an output operator, how it is called.
    pub sink: Option<Sink>,
    /// For a narrow operator, its code in the fused loop.
    pub fused: Option<narrow::Template>,
    /// Its role in the stages that feed it (map side) and in the stage that
    /// reads its result, as `explain()` shows them.
    pub roles: (&'static str, &'static str),
    /// Whether its boundary moves data between partitions (a shuffle).
    pub shuffles: bool,
    /// One line for the user's reference.
    pub doc: &'static str,
}

impl OpDesc {
    /// An operator of `kind` with `signatures`, keeping nothing.
    pub const fn new(name: &'static str, kind: Kind, signatures: &'static [Signature], doc: &'static str) -> OpDesc {
        OpDesc {
            name,
            kind,
            signatures,
            takes_pairs: false,
            keeps: Keeps::Nothing,
            partitions: false,
            snapshots: Snapshots::None,
            sink: None,
            fused: None,
            roles: ("", ""),
            shuffles: false,
            doc,
        }
    }

    /// The same reading (key, value) pairs.
    pub const fn pairs(self) -> OpDesc {
        OpDesc {
            takes_pairs: true,
            ..self
        }
    }

    /// The same keeping `keeps` across batches.
    pub const fn keeps(self, keeps: Keeps) -> OpDesc {
        OpDesc { keeps, ..self }
    }

    /// The same passing a partitions count to its runtime function.
    pub const fn partitions(self) -> OpDesc {
        OpDesc {
            partitions: true,
            ..self
        }
    }

    /// The same with its roles in `explain()`: map side, reduce side.
    pub const fn roles(self, map_side: &'static str, reduce_side: &'static str) -> OpDesc {
        OpDesc {
            roles: (map_side, reduce_side),
            ..self
        }
    }

    /// The same moving data between partitions.
    pub const fn shuffles(self) -> OpDesc {
        OpDesc { shuffles: true, ..self }
    }

    /// Whether the operator works over a sliding window (and so sets its
    /// output's slide).
    pub fn is_window(&self) -> bool {
        self.keeps == Keeps::Window
    }

    /// Whether the operator keeps state across batches (a window or per-key
    /// state): its object is a field of the job's state.
    pub fn keeps_state(&self) -> bool {
        self.keeps != Keeps::Nothing
    }

    /// Whether its state constructor takes an idle timeout.
    pub fn takes_timeout(&self) -> bool {
        self.signatures
            .iter()
            .any(|s| s.params.iter().any(|p| matches!(p, Param::Timeout(_))))
    }
}

/// Every operator, family by family, in the order of the user's reference.
pub const OPS: &[&[OpDesc]] = &[
    narrow::OPS,
    batch::OPS,
    aggregates::OPS,
    joins::OPS,
    windows::OPS,
    state::OPS,
    outputs::OPS,
];

/// Every operator, in the order of the user's reference.
pub fn all() -> impl Iterator<Item = &'static OpDesc> {
    OPS.iter().flat_map(|family| family.iter())
}

// Parameters shared by several families.
pub(crate) const F1_ELEMENT: Param = Param::Function(1, "the element");
/// A rebound reduction and its inverse (see `Signature::rebind`).
pub(crate) const REDUCED: &str = "f(a, b)";
pub(crate) const INVERTED: &str = "inverse(a, b)";

pub(crate) const F2_REDUCE: Param = Param::Function(2, "two values to combine into one");
pub(crate) const CREATE: Param = Param::Function(1, "a key's first value, to create a combiner");
pub(crate) const MERGE_VALUE: Param = Param::Function(2, "a combiner and a value");
pub(crate) const MERGE_COMBINERS: Param = Param::Function(2, "two combiners");
pub(crate) const INVERSE: Param = Param::Function(2, "a value and the value leaving the window");
pub(crate) const KEEP: Param = Param::Function(1, "a reference to a (key, value) result");

/// The descriptor of the operator called `name`.
pub fn lookup(name: &str) -> Option<&'static OpDesc> {
    all().find(|desc| desc.name == name)
}

/// How a usage line names a function parameter.
fn function_name(what: &str) -> &'static str {
    const NAMED: &[(Param, &str)] = &[
        (INVERSE, "f_inv"),
        (KEEP, "keep"),
        (CREATE, "create"),
        (MERGE_VALUE, "merge_value"),
        (MERGE_COMBINERS, "merge_combiners"),
    ];
    NAMED
        .iter()
        .find(|(param, _)| matches!(param, Param::Function(_, w) if *w == what))
        .map_or("f", |(_, name)| name)
}

/// Spark's names that do not become ours by snake-casing.
const SPARK_ALIASES: &[(&str, &str)] = &[("foreach_rdd", "foreach_batch"), ("foreach", "foreach_batch")];

/// What streamflow does instead of Spark's operators that have no place in a
/// job (`cache`, `persist`, `checkpoint`), as the error's message.
pub fn not_needed(name: &str) -> Option<String> {
    match snake_case(name).as_str() {
        spark @ ("cache" | "persist" | "unpersist") => Some(format!(
            "`{spark}` is not needed in streamflow: a stream read by several operators is computed once per \
             batch and kept for all of them automatically; name it with `let` and use it twice"
        )),
        "checkpoint" => Some(
            "`checkpoint` is not a stream operator in streamflow: the state of every window and stateful \
             operator of a job is saved together, as one value (`job.state().snapshot()`), so nothing is \
             checkpointed per stream; remove this call"
                .to_owned(),
        ),
        _ => None,
    }
}

/// The operator name closest to `name`, for "did you mean". Spark's camelCase
/// names (`reduceByKey`) are snake-cased first, so they find ours.
pub fn nearest(name: &str) -> Option<&'static str> {
    let snake = snake_case(name);
    if let Some(&(_, ours)) = SPARK_ALIASES.iter().find(|(spark, _)| *spark == snake) {
        return Some(ours);
    }
    all()
        .map(|desc| (strsim::damerau_levenshtein(&snake, desc.name), desc.name))
        .filter(|&(distance, candidate)| distance <= (candidate.len() / 3).max(2))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// `reduceByKey` -> `reduce_by_key`, `foreachRDD` -> `foreach_rdd`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_uppercase() {
            if previous_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            previous_lower = false;
        } else {
            out.push(c);
            previous_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

impl OpDesc {
    /// The accepted calls as a user writes them, for error messages:
    /// `reduce_by_key(f)` or `reduce_by_key(f, partitions)`.
    pub fn usage(&self) -> String {
        // An operator reading any number of other streams (`union`) shows
        // them once, as `other, ..`.
        let streams = |signature: &Signature| signature.params.iter().filter(|p| **p == Param::Stream).count();
        let variadic = self
            .signatures
            .iter()
            .any(|signature| streams(signature) != streams(&self.signatures[0]));
        let mut calls: Vec<String> = self
            .signatures
            .iter()
            .map(|signature| {
                let mut args: Vec<&str> = signature
                    .params
                    .iter()
                    .map(|p| match p {
                        Param::Stream if variadic => "other, ..",
                        Param::Stream => "other",
                        Param::Function(_, what) => function_name(what),
                        Param::Duration("the window length") => "window",
                        Param::Duration(_) => "slide",
                        Param::Timeout(_) => "timeout",
                        Param::Partitions => "partitions",
                        Param::Count(_) => "n",
                        Param::Value(what) if what.contains("prefix") => "prefix",
                        Param::Value(what) if what.contains("suffix") => "suffix",
                        Param::Value(_) => "initial",
                    })
                    .collect();
                if variadic {
                    args.dedup();
                }
                format!("`{}({})`", self.name, args.join(", "))
            })
            .collect();
        // Overloads told apart by their closure's arity read alike.
        calls.dedup();
        match calls.as_slice() {
            [one] => one.clone(),
            [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
            [] => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_and_the_rustdoc_reference_document_every_operator() {
        let documents = [
            ("README.md", include_str!("../../../README.md")),
            (
                "streamflow/src/stream_job.md",
                include_str!("../../../streamflow/src/stream_job.md"),
            ),
        ];
        for (file, text) in documents {
            for desc in all() {
                assert!(
                    text.contains(desc.doc),
                    "{file} lacks the line of `{}`: {}",
                    desc.name,
                    desc.doc
                );
                // Every accepted call form is listed, as the errors spell it.
                if file.ends_with("stream_job.md") {
                    for call in desc.usage().split(" or ").flat_map(|c| c.split(", `")) {
                        let call = call.trim_matches('`');
                        assert!(text.contains(call), "{file} lacks the call form {call}");
                    }
                }
            }
        }
    }

    #[test]
    fn names_are_unique() {
        let ops: Vec<&OpDesc> = all().collect();
        for (i, a) in ops.iter().enumerate() {
            assert!(ops[i + 1..].iter().all(|b| b.name != a.name), "{} twice", a.name);
        }
    }

    #[test]
    fn operators_named_with_partitions_pass_them_on() {
        for desc in all() {
            let named = desc.signatures.iter().any(|s| s.params.contains(&Param::Partitions));
            assert!(!named || desc.partitions, "`{}` drops its partitions count", desc.name);
        }
    }

    #[test]
    fn operators_keeping_state_name_its_type() {
        for desc in all() {
            for signature in desc.signatures {
                assert_eq!(
                    signature.state.is_some(),
                    desc.keeps_state(),
                    "`{}` ({}): state type and `keeps` disagree",
                    desc.name,
                    signature.witness
                );
            }
        }
    }

    #[test]
    fn suggests_the_nearest_operator() {
        assert_eq!(nearest("reduceByKey"), Some("reduce_by_key"));
        assert_eq!(nearest("foreachRDD"), Some("foreach_batch"));
        assert_eq!(nearest("reduce_by_kye"), Some("reduce_by_key"));
        assert_eq!(nearest("flatmap"), Some("flat_map"));
        assert_eq!(nearest("fliter"), Some("filter"));
        assert_eq!(nearest("zzzzzzzz"), None);
    }

    #[test]
    fn usage_reads_like_calls() {
        assert_eq!(
            lookup("reduce_by_key").unwrap().usage(),
            "`reduce_by_key(f)` or `reduce_by_key(f, partitions)`"
        );
        assert_eq!(lookup("map").unwrap().usage(), "`map(f)`");
        assert_eq!(
            lookup("reduce_by_window").unwrap().usage(),
            "`reduce_by_window(f, window, slide)` or `reduce_by_window(f, f_inv, window, slide)`"
        );
        assert_eq!(lookup("print").unwrap().usage(), "`print()` or `print(n)`");
        assert_eq!(lookup("transform").unwrap().usage(), "`transform(f)`");
        assert_eq!(lookup("union").unwrap().usage(), "`union(other, ..)`");
        assert_eq!(
            lookup("transform_with").unwrap().usage(),
            "`transform_with(other, .., f)`"
        );
        assert_eq!(
            lookup("join").unwrap().usage(),
            "`join(other)` or `join(other, partitions)`"
        );
        assert_eq!(
            lookup("window").unwrap().usage(),
            "`window(window)` or `window(window, slide)`"
        );
    }
}
