//! The stage plan: a constant the `stream_job!` macro emits for every job.
//!
//! The runtime reads it to name stages and operators in errors; people read it
//! through [`Plan`]'s `Display` (a job's `explain()`).

use std::fmt;

/// The stage plan of one job, produced at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The job's name, as written after `job`.
    pub job: &'static str,
    /// The batch interval in milliseconds.
    pub batch_interval_ms: u64,
    /// Whether narrow operators were fused (`false` under `#[fusion(off)]`).
    pub fused: bool,
    /// The source file that defines the job.
    pub file: &'static str,
    /// Typed input ports, in declaration order.
    pub inputs: &'static [Port],
    /// Typed output ports, in declaration order.
    pub outputs: &'static [Port],
    /// The stages, in the order they run each batch.
    pub stages: &'static [Stage],
    /// The output operators written in the job (`print`, `foreach_batch`), in
    /// declaration order: the order they run in each batch.
    pub sinks: &'static [Operator],
}

/// A typed input or output port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    /// The port's name.
    pub name: &'static str,
    /// The element type, as written.
    pub ty: &'static str,
}

/// One stage: a run of operators executed as one fused loop per partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    /// 1-based stage number, as shown by `explain()`.
    pub id: usize,
    /// What the stage reads (for example "input `lines`", "shuffle of stage 1").
    pub reads: &'static str,
    /// The operators fused into this stage, in order.
    pub operators: &'static [Operator],
    /// What ends the stage.
    pub ends: StageEnd,
}

/// One operator of the job, where the user wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    /// The operator's name (`map`, `reduce_by_key`, ...).
    pub name: &'static str,
    /// The role it plays in this stage, if it spans two (for example
    /// "map-side combine" and "merge" for `reduce_by_key`).
    pub role: &'static str,
    /// Where the operator call starts and ends in the source file.
    pub span: SourceSpan,
}

/// A region of the job's source file (lines 1-based, columns 0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceSpan {
    /// First line.
    pub line: u32,
    /// Column on the first line.
    pub column: u32,
    /// Last line.
    pub end_line: u32,
    /// Column just past the end on the last line.
    pub end_column: u32,
}

impl SourceSpan {
    /// Whether a position (line 1-based, column 1-based as `std::panic::Location`
    /// reports it) falls inside this span.
    pub fn contains(&self, line: u32, column: u32) -> bool {
        let col0 = column.saturating_sub(1);
        let after_start = line > self.line || (line == self.line && col0 >= self.column);
        let before_end = line < self.end_line || (line == self.end_line && col0 < self.end_column);
        after_start && before_end
    }
}

/// What ends a stage: the reason its output is not fused into the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageEnd {
    /// A shuffle: records are hash-partitioned by key and exchanged.
    Shuffle(&'static str),
    /// A whole-batch operator (`transform`, `union`, `glom`, ...) that needs the
    /// materialized batch.
    Batch(&'static str),
    /// A stream read by several operators: materialized once, shared.
    Branch(&'static str),
    /// The stream is delivered to an output (port or output operator).
    Output(&'static str),
    /// Fusion is off: every operator's output is materialized.
    Unfused,
}

impl fmt::Display for StageEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StageEnd::Shuffle(op) => write!(f, "shuffle ({op})"),
            StageEnd::Batch(op) => write!(f, "materialized for `{op}`"),
            StageEnd::Branch(stream) => write!(f, "branch: `{stream}` feeds several operators"),
            StageEnd::Output(what) => write!(f, "output {what}"),
            StageEnd::Unfused => f.write_str("materialized (fusion off)"),
        }
    }
}

impl Plan {
    /// Finds the operator whose source span contains a position of `file`.
    ///
    /// Used to name the operator whose closure panicked.
    pub fn operator_at(&self, file: &str, line: u32, column: u32) -> Option<&'static Operator> {
        if !same_file(self.file, file) {
            return None;
        }
        self.stages
            .iter()
            .flat_map(|stage| stage.operators.iter())
            .filter(|op| op.span.contains(line, column))
            // The innermost span wins when spans nest (a chain inside a join argument).
            .min_by_key(|op| (op.span.end_line - op.span.line, op.span.end_column))
    }
}

pub(crate) fn same_file(plan_file: &str, file: &str) -> bool {
    plan_file == file || plan_file.ends_with(file) || file.ends_with(plan_file)
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fusion = if self.fused { "fused" } else { "fusion off" };
        writeln!(
            f,
            "job {} (batch interval {} ms, {fusion})",
            self.job, self.batch_interval_ms
        )?;
        for port in self.inputs {
            writeln!(f, "input  {}: {}", port.name, port.ty)?;
        }
        for port in self.outputs {
            writeln!(f, "output {}: {}", port.name, port.ty)?;
        }
        for stage in self.stages {
            writeln!(f, "stage {} reads {}", stage.id, stage.reads)?;
            for op in stage.operators {
                let role = if op.role.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", op.role)
                };
                writeln!(f, "    line {:<4} {}{role}", op.span.line, op.name)?;
            }
            writeln!(f, "  ends: {}", stage.ends)?;
        }
        for sink in self.sinks {
            writeln!(f, "output operator: {} (line {})", sink.name, sink.span.line)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: SourceSpan = SourceSpan {
        line: 3,
        column: 8,
        end_line: 4,
        end_column: 10,
    };

    #[test]
    fn span_contains_positions_inside_only() {
        assert!(SPAN.contains(3, 9));
        assert!(!SPAN.contains(3, 8));
        assert!(SPAN.contains(4, 10));
        assert!(!SPAN.contains(4, 11));
        assert!(!SPAN.contains(5, 1));
    }
}
