//! Spark's `print` format, written by the `print` operator of a job and by the
//! print sink bound to an output port.

use super::{Sink, SinkError};
use crate::{Batch, PrintTarget, Time};
use std::fmt::{Debug, Write as _};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// How `print` shows one element: `<T as Debug>::fmt`, handed over by the job's
/// typing witness so that the per-batch code itself needs no `Debug` bound.
pub type DebugFn<T> = fn(&T, &mut std::fmt::Formatter<'_>) -> std::fmt::Result;

/// An element shown through a [`DebugFn`].
pub(crate) struct Shown<'a, T>(pub(crate) &'a T, pub(crate) DebugFn<T>);

impl<T> std::fmt::Display for Shown<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (self.1)(self.0, f)
    }
}

/// The text `print(n)` writes for one batch, in Spark's layout (elements shown with `Debug`).
pub(crate) fn print_text<T: Debug>(time: Time, input: &Batch<T>, n: usize) -> String {
    print_text_with(time, input, n, <T as Debug>::fmt)
}

pub(crate) fn print_text_with<T>(time: Time, input: &Batch<T>, n: usize, show: DebugFn<T>) -> String {
    const RULE: &str = "-------------------------------------------\n";
    let mut text = String::with_capacity(2 * RULE.len() + 32 + 16 * n.min(input.len()));
    text.push_str(RULE);
    // Writing to a String cannot fail.
    let _ = writeln!(text, "Time: {time}");
    text.push_str(RULE);
    for x in input.iter().take(n) {
        let _ = writeln!(text, "{}", Shown(x, show));
    }
    if input.len() > n {
        text.push_str("...\n");
    }
    text.push('\n');
    text
}

/// Prints the first `n` elements of every batch in Spark's layout, elements shown with `Debug` (the
/// format of the `print` operator), to standard output.
pub fn print(n: usize) -> PrintSink {
    PrintSink {
        n,
        target: PrintTarget::Stdout,
    }
}

/// Like [`print`](fn@print), to a shared writer (for tests: see
/// [`PrintCapture`](crate::testing::PrintCapture)).
pub fn print_to(n: usize, writer: Arc<Mutex<dyn Write + Send>>) -> PrintSink {
    PrintSink {
        n,
        target: PrintTarget::Writer(writer),
    }
}

/// The sink made by [`print`](fn@print).
pub struct PrintSink {
    n: usize,
    target: PrintTarget,
}

impl<T: Debug + Send + Sync + 'static> Sink<T> for PrintSink {
    fn name(&self) -> String {
        format!("print({})", self.n)
    }

    fn write(&mut self, time: Time, batch: &Batch<T>) -> Result<(), SinkError> {
        let text = print_text(time, batch, self.n);
        self.target.write(&text).map_err(|source| SinkError::Io {
            path: "<stdout>".into(),
            source,
        })
    }
}
