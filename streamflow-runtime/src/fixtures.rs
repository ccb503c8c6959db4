//! Plans and contexts for the unit tests.

use crate::{BatchContext, BatchError, JobConfig, Operator, Plan, SourceSpan, Stage, StageEnd, Time};

/// An operator covering the whole of `line`.
pub(crate) fn op(name: &'static str, line: u32) -> Operator {
    op_lines(name, line, line)
}

/// An operator covering lines `line..=end_line`.
pub(crate) fn op_lines(name: &'static str, line: u32, end_line: u32) -> Operator {
    Operator {
        name,
        role: "",
        span: SourceSpan {
            line,
            column: 0,
            end_line,
            end_column: 10_000,
        },
    }
}

/// A plan of `file` whose stage `i` holds `stages[i]`'s operators.
pub(crate) fn plan(file: &'static str, stages: Vec<Vec<Operator>>) -> &'static Plan {
    plan_with_sinks(file, stages, vec![op("print", 1), op("foreach_batch", 2)])
}

/// A plan of `file` whose stage `i` holds one operator, `stages[i]`'s (name,
/// line).
pub(crate) fn one_op_stages(file: &'static str, stages: &[(&'static str, u32)]) -> &'static Plan {
    plan(file, stages.iter().map(|&(name, line)| vec![op(name, line)]).collect())
}

/// A plan of `file` with the given stages and output operators.
pub(crate) fn plan_with_sinks(file: &'static str, stages: Vec<Vec<Operator>>, sinks: Vec<Operator>) -> &'static Plan {
    let stages: Vec<Stage> = stages
        .into_iter()
        .enumerate()
        .map(|(i, ops)| Stage {
            id: i + 1,
            reads: "test input",
            operators: Box::leak(ops.into_boxed_slice()),
            ends: StageEnd::Unfused,
        })
        .collect();
    Box::leak(Box::new(Plan {
        job: "Test",
        batch_interval_ms: 1000,
        fused: true,
        file,
        inputs: &[],
        outputs: &[],
        stages: Box::leak(stages.into_boxed_slice()),
        sinks: Box::leak(sinks.into_boxed_slice()),
    }))
}

/// A plan with no stages (for tests that do not look at errors).
pub(crate) fn empty_plan() -> &'static Plan {
    plan(file!(), vec![])
}

/// The context of batch 1 (time 1000 ms) of `plan`.
pub(crate) fn ctx<'a>(plan: &'static Plan, config: &'a JobConfig) -> BatchContext<'a> {
    BatchContext::untimed(Time::from_millis(1000), config, plan)
}

/// The context of batch 1 of `plan` with `n` shuffle partitions (its
/// configuration is leaked: it lives as long as the test process).
pub(crate) fn plan_ctx(plan: &'static Plan, n: usize) -> BatchContext<'static> {
    ctx(plan, Box::leak(Box::new(config(n))))
}

/// [`plan_ctx`] of [`empty_plan`].
pub(crate) fn test_ctx(n: usize) -> BatchContext<'static> {
    plan_ctx(empty_plan(), n)
}

/// A configuration with `n` shuffle partitions.
pub(crate) fn config(n: usize) -> JobConfig {
    JobConfig::new().partitions(n)
}

/// Asserts that `result` failed with a panic reported against stage `stage`
/// (1-based), whose message is `message`.
#[track_caller]
pub(crate) fn assert_stage_panicked<T>(result: Result<T, BatchError>, stage: usize, message: &str) {
    let err = result.err().expect("the batch fails");
    assert!(
        matches!(&err, BatchError::StagePanicked { stage: s, message: m, .. } if *s == stage && m == message),
        "{err}"
    );
}

/// A key with a hostile `Hash`: every value hashes alike, so every lookup in
/// a table of such keys probes every key and only `Eq` tells them apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Colliding<T>(pub T);

impl<T> std::hash::Hash for Colliding<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        7u8.hash(state);
    }
}
