//! Output operators written inside a job: `print` and `foreach_batch`.
//!
//! CONTRACT: `sink` is the index into `ctx.plan.sinks` of the output operator.

use crate::panic::catch;
use crate::{Batch, BatchContext, BatchError, PrintTarget, Time};
use std::fmt::{Debug, Write as _};
use std::io::Write;

/// The text `print(n)` writes for one batch, in Spark's format.
pub(crate) fn print_text<T: Debug>(time: Time, input: &Batch<T>, n: usize) -> String {
    const RULE: &str = "-------------------------------------------\n";
    let mut text = String::with_capacity(2 * RULE.len() + 32 + 16 * n.min(input.len()));
    text.push_str(RULE);
    // Writing to a String cannot fail.
    let _ = writeln!(text, "Time: {time}");
    text.push_str(RULE);
    for x in input.iter().take(n) {
        let _ = writeln!(text, "{x:?}");
    }
    if input.len() > n {
        text.push_str("...\n");
    }
    text.push('\n');
    text
}

/// `print(n)`: Spark's format (see SEMANTICS.md), to the configured target.
pub fn print<T: Debug + Sync>(
    ctx: &BatchContext<'_>,
    sink: usize,
    input: &Batch<T>,
    n: usize,
) -> Result<(), BatchError> {
    // A user's `Debug` may panic: format inside a task.
    let text = catch(|| print_text(ctx.time, input, n))
        .map_err(|caught| caught.into_sink_error(ctx.plan, ctx.time, sink))?;
    // One write per batch, so that concurrent jobs' blocks do not interleave.
    let written = match &ctx.config.print_target {
        PrintTarget::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        }
        PrintTarget::Writer(writer) => {
            // A writer poisoned by another thread's panic still holds valid bytes.
            let mut out = writer.lock().unwrap_or_else(|e| e.into_inner());
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        }
    };
    written.map_err(|source| {
        let (operator, line) = ctx
            .plan
            .sinks
            .get(sink)
            .map_or(("print", 0), |op| (op.name, op.span.line));
        BatchError::Output {
            time: ctx.time,
            operator,
            line,
            source,
        }
    })
}

/// `foreach_batch(f)`: `f` gets the batch and its time, on the calling thread.
pub fn foreach_batch<T, F: Fn(Batch<T>, Time)>(
    ctx: &BatchContext<'_>,
    sink: usize,
    input: Batch<T>,
    f: &F,
) -> Result<(), BatchError> {
    catch(|| f(input, ctx.time)).map_err(|caught| caught.into_sink_error(ctx.plan, ctx.time, sink))
}
