//! Plans and contexts for the unit tests.

use crate::{BatchContext, JobConfig, Operator, Plan, SourceSpan, Stage, StageEnd, Time};

/// An operator covering the whole of `line`.
pub(crate) fn op(name: &'static str, line: u32) -> Operator {
    Operator {
        name,
        role: "",
        span: SourceSpan {
            line,
            column: 0,
            end_line: line,
            end_column: 10_000,
        },
    }
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

/// A configuration with `n` shuffle partitions.
pub(crate) fn config(n: usize) -> JobConfig {
    JobConfig::new().partitions(n)
}
