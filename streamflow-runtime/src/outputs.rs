//! Output operators written inside a job: `print`, `foreach_batch`, and the
//! file outputs `save_as_text_files` / `save_as_object_files`.
//!
//! CONTRACT: `sink` is the index into `ctx.plan.sinks` of the output operator.

use crate::cluster::Wire;
use crate::panic::catch;
use crate::runner::Runner;
use crate::runner::driver::gather;
use crate::sinks::{DebugFn, Sink, SinkError, print_text_with};
use crate::{Batch, BatchContext, BatchError, Time};
use std::fmt::Debug;

/// What `print(n)` shows of every batch: how many elements, and how (`<T as
/// Debug>::fmt`, handed over by the job's typing witness so that the per-batch
/// code itself needs no `Debug` bound).
pub struct Printer<T> {
    n: usize,
    show: DebugFn<T>,
}

impl<T> Printer<T> {
    /// Shows the first `n` elements of every batch with `show`.
    pub fn new(n: usize, show: DebugFn<T>) -> Self {
        Printer { n, show }
    }
}

impl<T: Debug> Printer<T> {
    /// Shows the first `n` elements with their `Debug` form.
    pub fn debug(n: usize) -> Self {
        Printer::new(n, <T as Debug>::fmt)
    }
}

/// `print(n)`: the first `n` elements of the batch in Spark's layout (see
/// docs/semantics.md), to the configured target, in one write. On a
/// cluster, on process 0 only, showing the whole batch's first `n`.
pub fn print<T: Sync>(
    ctx: &BatchContext<'_>,
    sink: usize,
    printer: &Printer<T>,
    input: &Batch<T>,
) -> Result<(), BatchError> {
    // A user's `Debug` may panic: format inside a task.
    let text = if ctx.processes() > 1 {
        match print_on_first(ctx, sink, printer, input)? {
            Some(text) => text,
            None => return Ok(()),
        }
    } else {
        catch(|| print_text_with(ctx.time, input, printer.n, printer.show))
            .map_err(|caught| caught.into_sink_error(ctx.plan, ctx.time, sink))?
    };
    ctx.config.print_target.write(&text).map_err(|source| {
        let (operator, line) = sink_operator(ctx, sink, "print");
        BatchError::Output {
            time: ctx.time,
            operator,
            line,
            source,
        }
    })
}

/// `print` on a cluster: every process shows its first `n + 1` elements
/// (enough to tell whether there are more than `n`) and gathers them to
/// process 0, partition by partition, which lays out the text; the others
/// print nothing (`None`). A failed `Debug` still takes part in the gather
/// (with nothing), so that no process waits for another.
fn print_on_first<T: Sync>(
    ctx: &BatchContext<'_>,
    sink: usize,
    printer: &Printer<T>,
    input: &Batch<T>,
) -> Result<Option<String>, BatchError> {
    let shown = catch(|| {
        let mut left = printer.n.saturating_add(1);
        let parts = input.partitions().iter().map(|part| {
            let shown: Vec<String> = part
                .iter()
                .take(left)
                .map(|x| format!("{}", crate::sinks::Shown(x, printer.show)))
                .collect();
            left -= shown.len();
            shown
        });
        Batch::from_partitions(parts.collect())
    });
    let (mine, failed) = match shown {
        Ok(mine) => (mine, None),
        Err(caught) => (Batch::empty(), Some(caught.into_sink_error(ctx.plan, ctx.time, sink))),
    };
    let gathered = gather(ctx, ctx.plan.stages.len(), mine).map_err(|e| on_cluster(ctx, sink, "print", e))?;
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(gathered.map(|all| print_text_with(ctx.time, &all, printer.n, |s: &String, f| f.write_str(s))))
}

/// An exchange's failure in output operator `sink`: the cluster's error,
/// numbered after the last stage (outputs run after every stage), naming
/// the operator.
fn on_cluster(ctx: &BatchContext<'_>, sink: usize, unknown: &'static str, e: BatchError) -> BatchError {
    match e {
        BatchError::Cluster { time, stage, message } => {
            let (operator, line) = sink_operator(ctx, sink, unknown);
            BatchError::Cluster {
                time,
                stage,
                message: format!("output `{operator}` at line {line}: {message}"),
            }
        }
        other => other,
    }
}

/// The name and line of output operator `sink`, for its errors.
fn sink_operator(ctx: &BatchContext<'_>, sink: usize, unknown: &'static str) -> (&'static str, u32) {
    ctx.plan
        .sinks
        .get(sink)
        .map_or((unknown, 0), |op| (op.name, op.span.line))
}

/// `foreach_batch(f)`: `f` gets a reference to the batch (as a live sink
/// does, so that a stream read by several outputs is not copied for it) and
/// its time, on the calling thread. On a cluster, on process 0 only, with
/// the whole batch gathered there (a copy).
pub fn foreach_batch<T: Wire, F: Fn(&Batch<T>, Time)>(
    ctx: &BatchContext<'_>,
    sink: usize,
    f: &F,
    input: &Batch<T>,
) -> Result<(), BatchError> {
    if ctx.processes() > 1 {
        return foreach_on_first(ctx, sink, f, input);
    }
    catch(|| f(input, ctx.time)).map_err(|caught| caught.into_sink_error(ctx.plan, ctx.time, sink))
}

/// `foreach_batch` on a cluster: a copy of the batch is gathered to process
/// 0 in partition order (`runner::driver::gather_copy`), where `f` runs; the
/// others run nothing.
#[cfg(feature = "cluster")]
fn foreach_on_first<T: Wire, F: Fn(&Batch<T>, Time)>(
    ctx: &BatchContext<'_>,
    sink: usize,
    f: &F,
    input: &Batch<T>,
) -> Result<(), BatchError> {
    use crate::runner::driver::{CopyFailed, gather_copy};
    let batch = match gather_copy(ctx, ctx.plan.stages.len(), input) {
        Ok(Some(batch)) => batch,
        Ok(None) => return Ok(()),
        Err(CopyFailed::Exchange(e)) => return Err(on_cluster(ctx, sink, "foreach_batch", e)),
        Err(CopyFailed::Codec(message)) => {
            let (operator, line) = sink_operator(ctx, sink, "foreach_batch");
            return Err(BatchError::Cluster {
                time: ctx.time,
                stage: ctx.plan.stages.len() + 1,
                message: format!("output `{operator}` at line {line}: {message}"),
            });
        }
    };
    catch(|| f(&batch, ctx.time)).map_err(|caught| caught.into_sink_error(ctx.plan, ctx.time, sink))
}

/// Without the `cluster` feature there is one process.
#[cfg(not(feature = "cluster"))]
fn foreach_on_first<T: Wire, F: Fn(&Batch<T>, Time)>(
    ctx: &BatchContext<'_>,
    sink: usize,
    f: &F,
    input: &Batch<T>,
) -> Result<(), BatchError> {
    catch(|| f(input, ctx.time)).map_err(|caught| caught.into_sink_error(ctx.plan, ctx.time, sink))
}

/// How a file output writes one batch: `<S as Sink<T>>::write`.
pub type WriteFn<S, T> = fn(&mut S, Time, &Batch<T>) -> Result<(), SinkError>;

/// A file output written in the job (`save_as_text_files`,
/// `save_as_object_files`): its sink, built once with the job, and how it
/// writes a batch, handed over by the job's typing witness so that the
/// per-batch code itself needs no `TextRecord` or `Serialize` bound.
pub struct FileOutput<S, T> {
    sink: S,
    write: WriteFn<S, T>,
}

impl<S: Sink<T>, T> FileOutput<S, T> {
    /// Writes every batch to `sink`.
    pub fn new(sink: S) -> Self {
        FileOutput {
            sink,
            write: <S as Sink<T>>::write,
        }
    }
}

/// Writes the batch with a file output. A failure fails the batch, naming the
/// operator and its line.
pub fn save_batch<S, T>(
    ctx: &BatchContext<'_>,
    sink: usize,
    output: &mut FileOutput<S, T>,
    input: &Batch<T>,
) -> Result<(), BatchError> {
    // A user's `TextRecord` or `Serialize` may panic: write inside a catch.
    let written = catch(|| (output.write)(&mut output.sink, ctx.time, input))
        .map_err(|caught| caught.into_sink_error(ctx.plan, ctx.time, sink))?;
    written.map_err(|source| {
        let (operator, line) = sink_operator(ctx, sink, "file output");
        BatchError::Sink {
            time: ctx.time,
            operator,
            line,
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{config, ctx, op_lines, plan, plan_with_sinks};
    use crate::testing::PrintCapture;

    const RULE: &str = "-------------------------------------------\n";

    fn printed<T: Debug + Sync>(batch: &Batch<T>, n: usize) -> String {
        let capture = PrintCapture::new();
        let config = config(2).print_to(capture.writer());
        print(&ctx(plan(file!(), vec![]), &config), 0, &Printer::debug(n), batch).unwrap();
        capture.take_string()
    }

    #[test]
    fn print_shows_at_most_n_elements_like_spark() {
        let batch = Batch::from_partitions(vec![vec!["a"], vec!["b"]]);
        assert_eq!(
            printed(&batch, 10),
            format!("{RULE}Time: 1000 ms\n{RULE}\"a\"\n\"b\"\n\n")
        );
        assert_eq!(
            printed(&batch, 2),
            format!("{RULE}Time: 1000 ms\n{RULE}\"a\"\n\"b\"\n\n")
        );
        let batch = Batch::from_partitions(vec![vec![1, 2], vec![3]]);
        assert_eq!(printed(&batch, 2), format!("{RULE}Time: 1000 ms\n{RULE}1\n2\n...\n\n"));
        assert_eq!(
            printed(&Batch::<i32>::empty(), 10),
            format!("{RULE}Time: 1000 ms\n{RULE}\n")
        );
    }

    struct Failing;

    impl std::io::Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_writer_is_an_output_error() {
        let config = config(2).print_to(std::sync::Arc::new(std::sync::Mutex::new(Failing)));
        let plan = plan(file!(), vec![]);
        let err = print(&ctx(plan, &config), 0, &Printer::debug(10), &Batch::from_vec(vec![1])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "batch 1000 ms: output `print` at line 1 failed: disk full"
        );
    }

    struct BadDebug;

    impl Debug for BadDebug {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            panic!("cannot format")
        }
    }

    #[test]
    fn a_panicking_debug_fails_the_batch() {
        let capture = PrintCapture::new();
        let config = config(2).print_to(capture.writer());
        let err = print(
            &ctx(plan(file!(), vec![]), &config),
            0,
            &Printer::debug(10),
            &Batch::from_vec(vec![BadDebug]),
        )
        .unwrap_err();
        assert!(
            matches!(&err, BatchError::StagePanicked { stage: 0, operators, message, .. }
                if operators == "print (line 1)" && message == "cannot format"),
            "{err}"
        );
        assert_eq!(capture.take_string(), "");
    }

    #[test]
    fn foreach_batch_gets_the_batch_and_its_time() {
        let config = config(2);
        let seen = std::cell::RefCell::new(Vec::new());
        let f = |b: &Batch<i32>, t: Time| seen.borrow_mut().push((b.to_vec(), t));
        foreach_batch(
            &ctx(plan(file!(), vec![]), &config),
            1,
            &f,
            &Batch::from_vec(vec![4, 5]),
        )
        .unwrap();
        assert_eq!(*seen.borrow(), vec![(vec![4, 5], Time::from_millis(1000))]);

        let start = line!() + 1;
        let f = |_: &Batch<i32>, _: Time| panic!("sink failed");
        let plan = plan_with_sinks(file!(), vec![], vec![op_lines("foreach_batch", start, start)]);
        let err = foreach_batch(&ctx(plan, &config), 0, &f, &Batch::empty()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "batch 1000 ms failed: `foreach_batch` at {}:{start} panicked: sink failed",
                file!()
            )
        );
    }
}
