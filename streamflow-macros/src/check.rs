//! Pass 3, check: the structural rules of a job, each a spanned error that says
//! what is wrong and what to write instead. Type rules (pairs for keyed
//! operators, matching join keys, port types) are left to rustc, through the
//! typing witnesses the code generator emits.

use crate::captures::captured_locals;
use crate::diag::Diagnostics;
use crate::duration::format_ms;
use crate::graph::{Graph, NodeKind, OutputUse};
use crate::ops::{Param, Snapshots};
use crate::parse::JobDef;
use syn::Expr;
use syn::spanned::Spanned;

/// Checks `graph` (built from `job`), recording every problem in `diag`.
/// Returns the operators found broken, whose typing would only repeat the error.
pub fn check(job: &JobDef, graph: &Graph, diag: &mut Diagnostics) -> Vec<usize> {
    let mut broken = Vec::new();
    // After a broken expression or with no output at all, "never used" would
    // only guess at what the user meant: report the real problem alone.
    let trust_usage = diag.is_empty() && graph.declared_outputs > 0;
    let name = &job.name;
    if graph.interval_ms.is_none() && !has_interval_item(job) {
        diag.error(
            name.span(),
            format!("job `{name}` has no batch interval: add `batch_interval = 1s;` to its body"),
        );
    }
    if graph.declared_outputs == 0 {
        diag.error(
            name.span(),
            format!(
                "job `{name}` has no output, so it would compute nothing: add `output name: Type = stream;` \
                 or an output operator such as `stream.print();`"
            ),
        );
    }
    if trust_usage {
        unused_streams(graph, diag);
    }
    let interval = graph.interval_ms.unwrap_or(1);
    let slides = graph.slides();
    for (id, node) in graph.nodes.iter().enumerate() {
        let Some(call) = node.call() else { continue };
        let function_params = call.signature.params.iter().filter_map(|p| match p {
            Param::Function(arity, what) => Some((*arity, *what)),
            _ => None,
        });
        for (function, (arity, what)) in call.functions.iter().zip(function_params) {
            if !closure_arity(call.desc.name, function, arity, what, diag) {
                broken.push(id);
            }
        }
        for function in call.functions.iter().chain(&call.values).chain(&call.counts) {
            for local in captured_locals(function, &job.params) {
                diag.error(
                    local.span(),
                    format!(
                        "`{local}` is not visible in job `{name}`: a job's functions cannot capture local variables \
                         (the job is built by `{name}::new`, not where it is written); declare it as a parameter, \
                         `job {name}({local}: Type)`, and pass it to `{name}::new(..)` (a constant or static is \
                         reached by its path, `self::{local}`)"
                    ),
                );
                broken.push(id);
            }
        }
        let input_slide = node.inputs.first().map_or(interval, |&i| slides[i]);
        for &(ms, span) in &call.durations {
            if ms == 0 {
                diag.error(
                    span,
                    format!("the durations of `{}` must be longer than 0ms", call.desc.name),
                );
                broken.push(id);
            } else if ms % input_slide != 0 {
                broken.push(id);
                let of_what = if input_slide == interval {
                    format!("the batch interval ({})", format_ms(interval))
                } else {
                    format!("the slide of its input stream ({})", format_ms(input_slide))
                };
                let (below, above) = (ms / input_slide * input_slide, (ms / input_slide + 1) * input_slide);
                let instead = match below {
                    0 => format_ms(above),
                    _ => format!("{} or {}", format_ms(below), format_ms(above)),
                };
                diag.error(
                    span,
                    format!(
                        "`{}` needs a multiple of {of_what}, but {} is not one; use {instead}",
                        call.desc.name,
                        format_ms(ms),
                    ),
                );
            }
        }
        if let [first, rest @ ..] = node.inputs.as_slice()
            && let Some(&other) = rest.iter().find(|&&other| slides[other] != slides[*first])
        {
            diag.error(
                call.method.span(),
                format!(
                    "`{}` combines streams that have batches at different times (every {} and every {}): \
                     window both streams with the same slide first",
                    call.desc.name,
                    format_ms(slides[*first]),
                    format_ms(slides[other]),
                ),
            );
        }
        if call.desc.snapshots == Snapshots::Reads {
            let source = graph.nodes[node.inputs[0]].call();
            if !source.is_some_and(|c| c.desc.snapshots == Snapshots::Yields) {
                diag.error(
                    call.method.span(),
                    "`state_snapshots` reads the state kept by `map_with_state`: call it on the stream \
                     `map_with_state` returns",
                );
                broken.push(id);
            }
        }
    }
    broken
}

fn has_interval_item(job: &JobDef) -> bool {
    job.items
        .iter()
        .any(|item| matches!(item, crate::parse::Item::BatchInterval { .. }))
}

/// Inputs never read and `let` streams that reach no output.
fn unused_streams(graph: &Graph, diag: &mut Diagnostics) {
    let consumers = graph.consumers();
    for port in &graph.inputs {
        if consumers[port.node].is_empty() && !graph.mentioned_in_broken.contains(&port.node) {
            diag.error(
                port.name.span(),
                format!("input `{}` is never used: read it in the job or remove it", port.name),
            );
        }
    }
    let outputs_read: Vec<_> = graph
        .outputs
        .iter()
        .map(|o| match o {
            OutputUse::Port { stream, .. } => *stream,
            OutputUse::Sink(node) => *node,
        })
        .collect();
    for (name, node) in &graph.names {
        if matches!(graph.nodes[*node].kind, NodeKind::Input(_)) {
            continue;
        }
        if consumers[*node].is_empty() && !outputs_read.contains(node) && !graph.mentioned_in_broken.contains(node) {
            diag.error(
                name.span(),
                format!(
                    "stream `{name}` is defined but never used: send it to an output (`output {name}: Type = {name};` \
                     or `{name}.print();`) or remove it"
                ),
            );
        }
    }
}

/// Whether a closure literal takes the arguments the operator passes; other
/// function expressions are left to rustc.
fn closure_arity(op: &str, function: &Expr, arity: usize, what: &str, diag: &mut Diagnostics) -> bool {
    let Expr::Closure(closure) = function else {
        return true;
    };
    let given = closure.inputs.len();
    if given == arity {
        return true;
    }
    let expected = match arity {
        1 => "one argument".to_owned(),
        2 => "two arguments".to_owned(),
        3 => "three arguments".to_owned(),
        4 => "four arguments".to_owned(),
        n => format!("{n} arguments"),
    };
    let span = closure
        .or1_token
        .span()
        .join(closure.or2_token.span())
        .unwrap_or_else(|| closure.span());
    diag.error(
        span,
        format!("`{op}` calls this closure with {expected} ({what}), but it takes {given}"),
    );
    false
}

#[cfg(test)]
mod tests_support {
    use super::*;
    use crate::graph;
    use crate::parse::JobFile;

    /// The messages of every error the graph and check passes report for `src`.
    pub fn errors(src: &str) -> Vec<String> {
        let file: JobFile = syn::parse_str(src).unwrap();
        let mut diag = Diagnostics::default();
        let g = graph::build(&file.jobs[0], &mut diag);
        check(&file.jobs[0], &g, &mut diag);
        diag.messages()
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::errors;

    #[test]
    fn a_valid_job_has_no_errors() {
        assert!(errors("job J { batch_interval = 1s; input a: u8; output o: u8 = a.map(|x| x); }").is_empty());
    }

    #[test]
    fn reports_missing_interval_and_outputs() {
        assert_eq!(
            errors("job J { input a: u8; let b = a.map(|x| x); }"),
            [
                "job `J` has no batch interval: add `batch_interval = 1s;` to its body",
                "job `J` has no output, so it would compute nothing: add `output name: Type = stream;` or an \
                 output operator such as `stream.print();`",
            ]
        );
    }

    #[test]
    fn reports_unused_streams() {
        assert_eq!(
            errors("job J { batch_interval = 1s; input a: u8; let b = a.map(|x| x); output o: u8 = a; }"),
            [
                "stream `b` is defined but never used: send it to an output (`output b: Type = b;` or `b.print();`) \
              or remove it"
            ]
        );
    }

    #[test]
    fn reports_unused_inputs() {
        assert_eq!(
            errors("job J { batch_interval = 1s; input a: u8; input b: u8; output o: u8 = a; }"),
            ["input `b` is never used: read it in the job or remove it"]
        );
    }

    #[test]
    fn a_closure_of_an_arity_no_overload_takes_is_reported_against_the_first() {
        assert_eq!(
            errors("job J { batch_interval = 1s; input a: u8; output o: u8 = a.transform(|a, b, c| a); }"),
            ["`transform` calls this closure with one argument (the whole batch (`Batch<T>`)), but it takes 3"]
        );
        assert!(errors("job J { batch_interval = 1s; input a: u8; output o: u8 = a.transform(|a, t| a); }").is_empty());
    }

    #[test]
    fn reports_closure_arity() {
        assert_eq!(
            errors("job J { batch_interval = 1s; input a: (u8, u8); output o: (u8, u8) = a.reduce_by_key(|x| x); }"),
            ["`reduce_by_key` calls this closure with two arguments (two values to combine into one), but it takes 1"]
        );
    }
}

#[cfg(test)]
mod window_tests {
    use super::tests_support::errors;

    #[test]
    fn windows_must_be_multiples_of_the_interval_or_the_input_slide() {
        assert_eq!(
            errors("job J { batch_interval = 2s; input a: u8; output o: u8 = a.window(5s, 2s); }"),
            ["`window` needs a multiple of the batch interval (2s), but 5s is not one; use 4s or 6s"]
        );
        assert_eq!(
            errors("job J { batch_interval = 1s; input a: u8; output o: u8 = a.window(20s, 10s).window(30s, 15s); }"),
            ["`window` needs a multiple of the slide of its input stream (10s), but 15s is not one; use 10s or 20s"]
        );
        assert_eq!(
            errors("job J { batch_interval = 500ms; input a: u8; output o: u8 = a.window(100ms); }"),
            ["`window` needs a multiple of the batch interval (500ms), but 100ms is not one; use 500ms"]
        );
    }

    #[test]
    fn combined_streams_must_share_their_slide() {
        assert_eq!(
            errors("job J { batch_interval = 1s; input a: u8; output o: u8 = a.window(10s, 10s).union(a); }"),
            [
                "`union` combines streams that have batches at different times (every 10s and every 1s): window both \
              streams with the same slide first"
            ]
        );
    }

    #[test]
    fn state_snapshots_need_map_with_state() {
        assert_eq!(
            errors("job J { batch_interval = 1s; input a: (u8, u8); output o: (u8, u8) = a.state_snapshots(); }"),
            [
                "`state_snapshots` reads the state kept by `map_with_state`: call it on the stream `map_with_state` returns"
            ]
        );
    }
}
