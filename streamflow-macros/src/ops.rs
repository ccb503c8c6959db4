//! The operator table: one descriptor per operator of the job language.
//!
//! Every pass reads it: the graph pass to sort an operator's arguments into
//! streams, functions and settings; the checker for arities and unknown names;
//! the planner for stage boundaries; the code generator for what to emit. Each
//! descriptor's `doc` is the user's reference (README's operator table).

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
    /// A count expression (`usize`).
    Count(&'static str),
    /// Any expression, evaluated once when the job is built (an initial state).
    Value(&'static str),
    /// A duration literal that need not be a multiple of the batch interval.
    Timeout(&'static str),
}

/// Which operator a node is: the code generator matches on this.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Op {
    Map,
    FlatMap,
    Filter,
    FilterMap,
    Inspect,
    MapValues,
    FlatMapValues,
    Glom,
    MapPartitions,
    Union,
    Transform,
    TransformWith,
    Repartition,
    Count,
    Reduce,
    CountByValue,
    Distinct,
    ReduceByKey,
    GroupByKey,
    CombineByKey,
    Join,
    LeftOuterJoin,
    RightOuterJoin,
    FullOuterJoin,
    Cogroup,
    Window,
    CountByWindow,
    ReduceByWindow,
    ReduceByKeyAndWindow,
    CountByValueAndWindow,
    GroupByKeyAndWindow,
    UpdateStateByKey,
    UpdateStateByKeyWithTime,
    MapWithState,
    StateSnapshots,
    Print,
    SaveAsTextFiles,
    SaveAsObjectFiles,
    ForeachBatch,
}

impl Op {
    /// Whether the operator reads (key, value) pairs: its typing witness then
    /// hands over the conversion of an element into a pair (two for joins).
    pub fn takes_pairs(self) -> bool {
        matches!(
            self,
            Op::MapValues
                | Op::FlatMapValues
                | Op::ReduceByKey
                | Op::GroupByKey
                | Op::CombineByKey
                | Op::ReduceByKeyAndWindow
                | Op::GroupByKeyAndWindow
                | Op::UpdateStateByKey
                | Op::UpdateStateByKeyWithTime
                | Op::MapWithState
        ) || self.joins_by_key()
    }

    /// Whether the operator pairs two streams by key (the join family and `cogroup`).
    pub fn joins_by_key(self) -> bool {
        matches!(
            self,
            Op::Join | Op::LeftOuterJoin | Op::RightOuterJoin | Op::FullOuterJoin | Op::Cogroup
        )
    }
}

/// One operator of the job language.
#[derive(Debug)]
pub struct OpDesc {
    /// The name users write.
    pub name: &'static str,
    /// Which operator it is.
    pub op: Op,
    /// Its effect on stages.
    pub kind: Kind,
    /// The accepted parameter lists, like overloads (Spark has several for
    /// windows); a call takes the first whose length and kinds match its
    /// arguments.
    pub signatures: &'static [&'static [Param]],
    /// Its role in the stages that feed it (map side) and in the stage that
    /// reads its result, as `explain()` shows them.
    pub roles: (&'static str, &'static str),
    /// Whether its boundary moves data between partitions (a shuffle).
    pub shuffles: bool,
    /// One line for the user's reference.
    pub doc: &'static str,
}

const F1_ELEMENT: Param = Param::Function(1, "the element");
const F1_VALUE: Param = Param::Function(1, "the value of a (key, value) pair");
const F2_REDUCE: Param = Param::Function(2, "two values to combine into one");
const PARTITIONS: Param = Param::Count("the number of partitions");
const CREATE: Param = Param::Function(1, "a key's first value, to create a combiner");
const MERGE_VALUE: Param = Param::Function(2, "a combiner and a value");
const MERGE_COMBINERS: Param = Param::Function(2, "two combiners");
const WINDOW: Param = Param::Duration("the window length");
const SLIDE: Param = Param::Duration("the slide");
const INVERSE: Param = Param::Function(2, "a value and the value leaving the window");
const KEEP: Param = Param::Function(1, "a reference to a (key, value) result");
const UPDATE: Param = Param::Function(2, "the key's new values and its previous state");
const UPDATE_WITH_TIME: Param = Param::Function(4, "the batch time, the key, its new values and its previous state");
const MAPPING: Param = Param::Function(3, "the key, its value (`None` when timing out) and its state");
const INITIAL: Param = Param::Value("the initial state, (key, state) pairs");
const TIMEOUT: Param = Param::Timeout("the idle timeout");
const PREFIX: Param = Param::Value("the path prefix of the batch directories");
const SUFFIX: Param = Param::Value("the suffix of the batch directories");

macro_rules! ops {
    ($($name:literal => $op:ident, $kind:ident, [$([$($p:expr),*]),+], ($m:literal, $r:literal), $shuffles:literal, $doc:literal;)*) => {
        /// Every operator, in the order of the user's reference.
        pub const OPS: &[OpDesc] = &[$(OpDesc {
            name: $name,
            op: Op::$op,
            kind: Kind::$kind,
            signatures: &[$(&[$($p),*]),+],
            roles: ($m, $r),
            shuffles: $shuffles,
            doc: $doc,
        }),*];
    };
}

ops! {
    "map" => Map, Narrow, [[F1_ELEMENT]], ("", ""), false,
        "`map(f)`: each element `x` becomes `f(x)`.";
    "flat_map" => FlatMap, Narrow, [[F1_ELEMENT]], ("", ""), false,
        "`flat_map(f)`: each element becomes the elements of the iterable `f(x)`.";
    "filter" => Filter, Narrow, [[Param::Function(1, "a reference to the element")]], ("", ""), false,
        "`filter(f)`: keeps the elements for which `f(&x)` is true.";
    "filter_map" => FilterMap, Narrow, [[F1_ELEMENT]], ("", ""), false,
        "`filter_map(f)`: keeps `y` for every element whose `f(x)` is `Some(y)`.";
    "inspect" => Inspect, Narrow, [[Param::Function(1, "a reference to the element")]], ("", ""), false,
        "`inspect(f)`: calls `f(&x)` on each element and passes it on.";
    "map_values" => MapValues, Narrow, [[F1_VALUE]], ("", ""), false,
        "`map_values(f)`: on (key, value) pairs, `(k, v)` becomes `(k, f(v))`.";
    "flat_map_values" => FlatMapValues, Narrow, [[F1_VALUE]], ("", ""), false,
        "`flat_map_values(f)`: on pairs, `(k, v)` becomes `(k, w)` for every `w` in `f(v)`.";
    "glom" => Glom, Boundary, [[]], ("collect partition", "glom"), false,
        "`glom()`: each partition becomes one element, the vector of its elements.";
    "map_partitions" => MapPartitions, Boundary, [[Param::Function(1, "a whole partition (`Vec<T>`)")]], ("collect partition", "map partition"), false,
        "`map_partitions(f)`: `f` gets each partition as a vector and returns its new elements.";
    "union" => Union, Boundary, [[Param::Stream]], ("union input", "union"), false,
        "`union(other)`: the elements of both streams (same element type).";
    "transform" => Transform, Boundary, [[Param::Function(1, "the whole batch (`Batch<T>`)")]], ("collect batch", "transform"), false,
        "`transform(f)`: `f` gets each whole batch and returns a new one; join with a static dataset here.";
    "transform_with" => TransformWith, Boundary, [[Param::Stream, Param::Function(2, "both streams' batches")]], ("collect batch", "transform_with"), false,
        "`transform_with(other, f)`: `f` gets both streams' batches of the same time and returns a new one.";
    "repartition" => Repartition, Boundary, [[PARTITIONS]], ("redistribute", "repartitioned"), true,
        "`repartition(n)`: the same elements over `n` partitions.";
    "count" => Count, Boundary, [[]], ("map-side count", "sum counts"), true,
        "`count()`: one element per batch, the number of elements (`0` for an empty batch).";
    "reduce" => Reduce, Boundary, [[F2_REDUCE]], ("map-side reduce", "merge"), true,
        "`reduce(f)`: one element per batch combining all elements with `f`; nothing for an empty batch.";
    "count_by_value" => CountByValue, Boundary, [[], [PARTITIONS]], ("map-side count", "merge counts"), true,
        "`count_by_value()`: (value, count) pairs.";
    "distinct" => Distinct, Boundary, [[], [PARTITIONS]], ("map-side dedup", "merge"), true,
        "`distinct()`: every distinct element once.";
    "reduce_by_key" => ReduceByKey, Boundary, [[F2_REDUCE], [F2_REDUCE, PARTITIONS]], ("map-side combine", "merge"), true,
        "`reduce_by_key(f)`: on pairs, one (key, value) per key combining its values with `f`; combines before the shuffle.";
    "group_by_key" => GroupByKey, Boundary, [[], [PARTITIONS]], ("bucket by key", "group"), true,
        "`group_by_key()`: on pairs, (key, all its values in arrival order).";
    "combine_by_key" => CombineByKey, Boundary, [[CREATE, MERGE_VALUE, MERGE_COMBINERS], [CREATE, MERGE_VALUE, MERGE_COMBINERS, PARTITIONS]],
        ("map-side combine", "merge combiners"), true,
        "`combine_by_key(create, merge_value, merge_combiners)`: on pairs, one (key, combiner) per key.";
    "join" => Join, Boundary, [[Param::Stream], [Param::Stream, PARTITIONS]], ("bucket by key", "join"), true,
        "`join(other)`: pairs `(k, (v, w))` for every `v` and `w` of a key present on both sides.";
    "left_outer_join" => LeftOuterJoin, Boundary, [[Param::Stream], [Param::Stream, PARTITIONS]], ("bucket by key", "left outer join"), true,
        "`left_outer_join(other)`: `(k, (v, Some(w)))`, or `(k, (v, None))` when the right has no value.";
    "right_outer_join" => RightOuterJoin, Boundary, [[Param::Stream], [Param::Stream, PARTITIONS]], ("bucket by key", "right outer join"), true,
        "`right_outer_join(other)`: `(k, (Some(v), w))`, or `(k, (None, w))` when the left has no value.";
    "full_outer_join" => FullOuterJoin, Boundary, [[Param::Stream], [Param::Stream, PARTITIONS]], ("bucket by key", "full outer join"), true,
        "`full_outer_join(other)`: every value of either side, `None` where the other side has none.";
    "cogroup" => Cogroup, Boundary, [[Param::Stream], [Param::Stream, PARTITIONS]], ("bucket by key", "cogroup"), true,
        "`cogroup(other)`: `(k, (left values, right values))` for every key on either side.";
    "window" => Window, Boundary, [[WINDOW], [WINDOW, SLIDE]], ("buffer batch", "window"), false,
        "`window(w, [s])`: every `s` (default: the batch interval), the elements of the batches of the last `w`.";
    "count_by_window" => CountByWindow, Boundary, [[WINDOW, SLIDE]], ("map-side count", "count window"), true,
        "`count_by_window(w, s)`: every `s`, the number of elements in the last `w` (`0` once data has arrived).";
    "reduce_by_window" => ReduceByWindow, Boundary, [[F2_REDUCE, WINDOW, SLIDE], [F2_REDUCE, INVERSE, WINDOW, SLIDE]],
        ("map-side reduce", "reduce window"), true,
        "`reduce_by_window(f, [f_inv], w, s)`: every `s`, the elements of the last `w` combined with `f`.";
    "reduce_by_key_and_window" => ReduceByKeyAndWindow, Boundary, [
            [F2_REDUCE, WINDOW],
            [F2_REDUCE, WINDOW, SLIDE],
            [F2_REDUCE, WINDOW, SLIDE, PARTITIONS],
            [F2_REDUCE, INVERSE, WINDOW, SLIDE],
            [F2_REDUCE, INVERSE, WINDOW, SLIDE, PARTITIONS],
            [F2_REDUCE, INVERSE, WINDOW, SLIDE, PARTITIONS, KEEP]
        ], ("map-side combine", "reduce window by key"), true,
        "`reduce_by_key_and_window(f, [f_inv], w, s, [partitions], [keep])`: every `s`, per key, the values of the last `w` combined with `f`; with `f_inv`, incrementally.";
    "count_by_value_and_window" => CountByValueAndWindow, Boundary, [[WINDOW, SLIDE], [WINDOW, SLIDE, PARTITIONS]],
        ("map-side count", "count window by value"), true,
        "`count_by_value_and_window(w, s)`: every `s`, (value, count) over the last `w`.";
    "group_by_key_and_window" => GroupByKeyAndWindow, Boundary, [[WINDOW], [WINDOW, SLIDE], [WINDOW, SLIDE, PARTITIONS]],
        ("bucket by key", "group window by key"), true,
        "`group_by_key_and_window(w, [s])`: every `s`, per key, its values of the last `w` in batch order.";
    "update_state_by_key" => UpdateStateByKey, Boundary, [[UPDATE], [UPDATE, INITIAL]], ("bucket by key", "update state"), true,
        "`update_state_by_key(f, [initial])`: per key, `f(&new_values, state) -> Option<state>` every batch; outputs every live (key, state).";
    "update_state_by_key_with_time" => UpdateStateByKeyWithTime, Boundary, [[UPDATE_WITH_TIME], [UPDATE_WITH_TIME, INITIAL]],
        ("bucket by key", "update state"), true,
        "`update_state_by_key_with_time(f, [initial])`: like `update_state_by_key`, `f(time, &key, &new_values, state)`.";
    "map_with_state" => MapWithState, Boundary, [[MAPPING], [MAPPING, TIMEOUT], [MAPPING, INITIAL], [MAPPING, TIMEOUT, INITIAL]],
        ("bucket by key", "map with state"), true,
        "`map_with_state(f, [timeout], [initial])`: per record, `f(&key, Some(value), &mut state) -> Option<out>`; idle keys time out.";
    "state_snapshots" => StateSnapshots, Boundary, [[]], ("", "state snapshots"), false,
        "`state_snapshots()`: on the result of `map_with_state`, every (key, state) after each batch.";
    "print" => Print, Output, [[], [Param::Count("how many elements to print")]], ("", ""), false,
        "`print()` / `print(n)`: the first `n` (default 10) elements of every batch, in Spark's format.";
    "save_as_text_files" => SaveAsTextFiles, Output, [[PREFIX], [PREFIX, SUFFIX]], ("", ""), false,
        "`save_as_text_files(prefix, [suffix])`: every batch as a directory `prefix-TIME_IN_MS[.suffix]` of text files, one line per element.";
    "save_as_object_files" => SaveAsObjectFiles, Output, [[PREFIX], [PREFIX, SUFFIX]], ("", ""), false,
        "`save_as_object_files(prefix, [suffix])`: the same layout, elements serialized with serde (postcard).";
    "foreach_batch" => ForeachBatch, Output, [[Param::Function(2, "the batch and its time")]], ("", ""), false,
        "`foreach_batch(f)`: `f(batch, time)` for every batch, in batch order (Spark's `foreachRDD`).";
}

/// The descriptor of the operator called `name`.
pub fn lookup(name: &str) -> Option<&'static OpDesc> {
    OPS.iter().find(|desc| desc.name == name)
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

impl OpDesc {
    /// Whether the operator works over a sliding window (and so sets its
    /// output's slide).
    pub fn is_window(&self) -> bool {
        matches!(
            self.op,
            Op::Window
                | Op::CountByWindow
                | Op::ReduceByWindow
                | Op::ReduceByKeyAndWindow
                | Op::CountByValueAndWindow
                | Op::GroupByKeyAndWindow
        )
    }

    /// Whether the operator is an output that writes files through a sink
    /// object built with the job.
    pub fn writes_files(&self) -> bool {
        matches!(self.op, Op::SaveAsTextFiles | Op::SaveAsObjectFiles)
    }

    /// Whether the operator keeps per-key state across batches.
    pub fn is_stateful(&self) -> bool {
        matches!(
            self.op,
            Op::UpdateStateByKey | Op::UpdateStateByKeyWithTime | Op::MapWithState
        )
    }
}

/// The operator name closest to `name`, for "did you mean". Spark's camelCase
/// names (`reduceByKey`) are snake-cased first, so they find ours.
pub fn nearest(name: &str) -> Option<&'static str> {
    let snake = snake_case(name);
    if let Some(&(_, ours)) = SPARK_ALIASES.iter().find(|(spark, _)| *spark == snake) {
        return Some(ours);
    }
    OPS.iter()
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
        let calls: Vec<String> = self
            .signatures
            .iter()
            .map(|params| {
                let args: Vec<&str> = params
                    .iter()
                    .map(|p| match p {
                        Param::Stream => "other",
                        Param::Function(_, what) => function_name(what),
                        Param::Duration("the window length") => "window",
                        Param::Duration(_) => "slide",
                        Param::Timeout(_) => "timeout",
                        Param::Count("the number of partitions") => "partitions",
                        Param::Count(_) => "n",
                        Param::Value(what) if what.contains("prefix") => "prefix",
                        Param::Value(what) if what.contains("suffix") => "suffix",
                        Param::Value(_) => "initial",
                    })
                    .collect();
                format!("`{}({})`", self.name, args.join(", "))
            })
            .collect();
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
    fn the_readme_documents_every_operator() {
        let readme = include_str!("../../README.md");
        for desc in OPS {
            assert!(
                readme.contains(desc.doc),
                "README.md lacks the line of `{}`: {}",
                desc.name,
                desc.doc
            );
        }
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in OPS.iter().enumerate() {
            assert!(OPS[i + 1..].iter().all(|b| b.name != a.name), "{} twice", a.name);
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
        assert_eq!(
            lookup("window").unwrap().usage(),
            "`window(window)` or `window(window, slide)`"
        );
    }
}
