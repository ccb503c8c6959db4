//! Turning panics in user code into [`BatchError`]s.
//!
//! Every task (a map or reduce side over one partition) and every driver-side
//! call of user code runs inside [`catch`]. While it runs, a process-wide panic
//! hook (installed once) records the panic's location in a thread-local
//! instead of printing it: the error returned to the caller says everything the
//! default message would, and a test that expects a failing batch stays quiet.
//! Panics anywhere else go to the hook that was installed before ours.

use crate::{BatchError, Plan, Time};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Whether this thread is running a streamflow task right now.
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
    /// The location of the last panic of a task on this thread.
    static LAST_LOCATION: RefCell<Option<Location>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Where a panic happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub(crate) file: String,
    pub(crate) line: u32,
    pub(crate) column: u32,
}

/// A panic caught in a task: where it happened (when the hook saw it) and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caught {
    pub(crate) location: Option<Location>,
    pub(crate) message: String,
}

impl Caught {
    fn from_payload(payload: Box<dyn Any + Send>) -> Caught {
        let location = LAST_LOCATION.with(|l| l.borrow_mut().take());
        // A panic of a nested task (a `Batch` operation inside `transform`)
        // was caught on its worker thread and re-raised with its details.
        let payload = match payload.downcast::<Caught>() {
            Ok(caught) => return *caught,
            Err(payload) => payload,
        };
        let message = payload_text(&*payload).unwrap_or_else(|| "Box<dyn Any>".to_owned());
        Caught { location, message }
    }

    /// `file:line:column`, or "unknown" when the hook did not see the panic.
    fn location_text(&self) -> String {
        match &self.location {
            Some(l) => format!("{}:{}:{}", l.file, l.line, l.column),
            None => "unknown".to_owned(),
        }
    }

    /// The operator of `plan` whose closure holds the panic's location, if any.
    fn operator(&self, plan: &Plan) -> Option<(&'static str, u32)> {
        let l = self.location.as_ref()?;
        if let Some(op) = plan.operator_at(&l.file, l.line, l.column) {
            return Some((op.name, op.span.line));
        }
        // Output operators (`print`, `foreach_batch`) are listed as sinks.
        if !crate::plan::same_file(plan.file, &l.file) {
            return None;
        }
        plan.sinks
            .iter()
            .find(|op| op.span.contains(l.line, l.column))
            .map(|op| (op.name, op.span.line))
    }

    /// The error for a panic in stage `stage` (0-based index into the plan).
    pub(crate) fn into_stage_error(self, plan: &'static Plan, time: Time, stage: usize) -> BatchError {
        if let Some((operator, line)) = self.operator(plan) {
            return self.operator_error(plan, time, operator, line);
        }
        let (id, operators) = match plan.stages.get(stage) {
            Some(s) => (s.id, describe(s.operators)),
            None => (stage + 1, "unknown".to_owned()),
        };
        BatchError::StagePanicked {
            time,
            stage: id,
            operators,
            location: self.location_text(),
            message: self.message,
        }
    }

    /// The error for a panic in output operator `sink` (index into `plan.sinks`).
    pub(crate) fn into_sink_error(self, plan: &'static Plan, time: Time, sink: usize) -> BatchError {
        if let Some((operator, line)) = self.operator(plan) {
            return self.operator_error(plan, time, operator, line);
        }
        let operators = match plan.sinks.get(sink) {
            Some(op) => describe(std::slice::from_ref(op)),
            None => "unknown".to_owned(),
        };
        BatchError::StagePanicked {
            time,
            stage: 0,
            operators,
            location: self.location_text(),
            message: self.message,
        }
    }

    /// The error for a panic outside every stage (in the job body itself).
    pub(crate) fn into_body_error(self, plan: &'static Plan, time: Time) -> BatchError {
        if let Some((operator, line)) = self.operator(plan) {
            return self.operator_error(plan, time, operator, line);
        }
        BatchError::StagePanicked {
            time,
            stage: 0,
            operators: "unknown".to_owned(),
            location: self.location_text(),
            message: self.message,
        }
    }

    fn operator_error(self, plan: &Plan, time: Time, operator: &'static str, line: u32) -> BatchError {
        BatchError::OperatorPanicked {
            time,
            operator,
            file: plan.file,
            line,
            message: self.message,
        }
    }
}

/// The text of a panic's payload: `panic!` gives a `&str` or a `String`;
/// `panic_any` may give anything else.
fn payload_text(payload: &(dyn Any + Send)) -> Option<String> {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        Some((*s).to_owned())
    } else {
        payload.downcast_ref::<String>().cloned()
    }
}

/// The message of a panic caught outside a task (a live receiver, sink or
/// the driver thread).
pub(crate) fn message(payload: &(dyn Any + Send)) -> String {
    payload_text(payload).unwrap_or_else(|| "(a panic without a message)".to_owned())
}

/// "map (line 12), filter (line 13)".
fn describe(operators: &[crate::Operator]) -> String {
    let parts: Vec<String> = operators
        .iter()
        .map(|op| format!("{} (line {})", op.name, op.span.line))
        .collect();
    parts.join(", ")
}

fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let in_task = IN_TASK.try_with(Cell::get).unwrap_or(false);
            if !in_task {
                previous(info);
                return;
            }
            let location = info.location().map(|l| Location {
                file: l.file().to_owned(),
                line: l.line(),
                column: l.column(),
            });
            let _ = LAST_LOCATION.try_with(|last| {
                if let Ok(mut last) = last.try_borrow_mut() {
                    *last = location;
                }
            });
        }));
    });
}

/// Whether the current thread is running a streamflow task.
pub(crate) fn in_task() -> bool {
    IN_TASK.with(Cell::get)
}

/// Runs `f` as a streamflow task: a panic in it is returned, not propagated,
/// and not printed.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Caught> {
    install_hook();
    let was_in_task = IN_TASK.with(|t| t.replace(true));
    LAST_LOCATION.with(|l| l.borrow_mut().take());
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    let result = result.map_err(Caught::from_payload);
    IN_TASK.with(|t| t.set(was_in_task));
    result
}

/// Runs `f` as a task of an enclosing task (a `Batch` operation called from a
/// `transform` closure, on another worker thread): a panic is re-raised with
/// its location attached, so that the enclosing task can report it.
pub(crate) fn nested<R>(f: impl FnOnce() -> R) -> R {
    match catch(f) {
        Ok(r) => r,
        Err(caught) => panic::resume_unwind(Box::new(caught)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_returns_the_message_and_location() {
        let line = line!() + 1;
        let caught = catch(|| panic!("boom {}", 7)).unwrap_err();
        assert_eq!(caught.message, "boom 7");
        let location = caught.location.expect("location recorded");
        assert!(location.file.ends_with("panic.rs"), "{}", location.file);
        assert_eq!(location.line, line);
        assert!(!in_task());
    }

    #[test]
    fn payloads_that_are_not_strings() {
        let caught = catch(|| std::panic::panic_any(42u8)).unwrap_err();
        assert_eq!(caught.message, "Box<dyn Any>");
        let caught = catch(|| std::panic::panic_any("static")).unwrap_err();
        assert_eq!(caught.message, "static");
    }

    #[test]
    fn nested_panics_keep_their_location() {
        let caught = catch(|| {
            let r: Vec<u32> = rayon::iter::ParallelIterator::collect(rayon::iter::ParallelIterator::map(
                rayon::iter::IntoParallelIterator::into_par_iter(vec![1u32, 2, 3]),
                |x| nested(|| if x == 2 { panic!("inner") } else { x }),
            ));
            r
        })
        .unwrap_err();
        assert_eq!(caught.message, "inner");
        assert!(caught.location.is_some());
    }

    #[test]
    fn ok_results_pass_through() {
        assert_eq!(catch(|| 5).unwrap(), 5);
    }
}
