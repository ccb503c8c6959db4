//! The explain() description: every stage, what it reads, its operators with
//! their roles, and what ends it.

use super::{End, Plan, Side, StageDesc, Step};
use crate::duration::format_ms;
use crate::graph::{Consumer, Graph, NodeId, NodeKind, OutputUse};
use crate::ops::Snapshots;

impl Plan {
    pub(super) fn describe_stages(
        &mut self,
        graph: &Graph,
        consumers: &[Vec<Consumer>],
        terminal: &[NodeId],
        fused: bool,
    ) {
        let mut produced_by: Vec<Option<usize>> = vec![None; graph.nodes.len()];
        for (s, step) in self.steps.iter().enumerate() {
            self.first_stage.push(self.stages.len());
            let source_label = |side: &Side, produced_by: &[Option<usize>]| var_label(graph, side.source, produced_by);
            match step {
                Step::Narrow { side } => {
                    self.stages.push(StageDesc {
                        reads: source_label(side, &produced_by),
                        ops: side.chain.iter().map(|&id| (id, String::new())).collect(),
                        end: end_of(graph, consumers, terminal[s], fused),
                    });
                }
                Step::Boundary {
                    node,
                    sides,
                    reduce_chain,
                } => {
                    let call = graph.nodes[*node].call().expect("boundary is an operator");
                    let desc = call.desc;
                    let first = self.stages.len();
                    for side in sides {
                        let mut ops: Vec<(NodeId, String)> = side.chain.iter().map(|&id| (id, String::new())).collect();
                        ops.push((*node, desc.roles.0.to_owned()));
                        let end = if desc.shuffles {
                            End::Shuffle(desc.name)
                        } else {
                            End::Batch(desc.name)
                        };
                        self.stages.push(StageDesc {
                            reads: source_label(side, &produced_by),
                            ops,
                            end,
                        });
                    }
                    let numbers: Vec<String> = (first..self.stages.len()).map(|i| (i + 1).to_string()).collect();
                    // `2 and 3`, `2, 3 and 4` (a `union` of several streams).
                    let listed = match numbers.split_last() {
                        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                        _ => numbers.concat(),
                    };
                    let reads = match (desc.shuffles, numbers.len()) {
                        (true, 1) => format!("shuffle of stage {listed}"),
                        (true, _) => format!("shuffles of stages {listed}"),
                        (false, 1) => format!("stage {listed}"),
                        (false, _) => format!("stages {listed}"),
                    };
                    let role = match call.durations.as_slice() {
                        [(window, _), (slide, _), ..] => {
                            format!("{}, {} every {}", desc.roles.1, format_ms(*window), format_ms(*slide))
                        }
                        [(window, _)] => format!("{}, {}", desc.roles.1, format_ms(*window)),
                        [] => desc.roles.1.to_owned(),
                    };
                    let mut ops = vec![(*node, role)];
                    ops.extend(reduce_chain.iter().map(|&id| (id, String::new())));
                    self.stages.push(StageDesc {
                        reads,
                        ops,
                        end: end_of(graph, consumers, terminal[s], fused),
                    });
                }
            }
            produced_by[terminal[s]] = Some(self.stages.len());
            if let Step::Boundary { node, .. } = step {
                for consumer in &consumers[*node] {
                    if let Consumer::Node { id, .. } = consumer
                        && graph.nodes[*id]
                            .call()
                            .is_some_and(|c| c.desc.snapshots == Snapshots::Reads)
                    {
                        produced_by[*id] = Some(self.stages.len());
                    }
                }
            }
        }
    }
}

/// How a stage names the batch it reads.
fn var_label(graph: &Graph, var: NodeId, produced_by: &[Option<usize>]) -> String {
    match (&graph.nodes[var].kind, &graph.nodes[var].name, produced_by[var]) {
        (NodeKind::Input(port), ..) => format!("input `{}`", graph.inputs[*port].name),
        (_, Some(name), Some(stage)) => format!("`{name}` (output of stage {stage})"),
        (NodeKind::Op(call), None, Some(stage)) if call.desc.snapshots == Snapshots::Reads => {
            format!("state snapshots of stage {stage}")
        }
        (_, None, Some(stage)) => format!("output of stage {stage}"),
        _ => "an earlier stage".to_owned(),
    }
}

/// Why `var`, a materialized node, is materialized.
fn end_of(graph: &Graph, consumers: &[Vec<Consumer>], var: NodeId, fused: bool) -> End {
    let name = || {
        graph.nodes[var]
            .name
            .as_ref()
            .map_or_else(|| "this stream".to_owned(), ToString::to_string)
    };
    match consumers[var].as_slice() {
        [] => End::Output("(none)".to_owned()),
        [_, _, ..] => End::Branch(name()),
        [Consumer::Output(index)] => End::Output(match &graph.outputs[*index] {
            OutputUse::Port { name, .. } => format!("port `{name}`"),
            OutputUse::Sink(node) => {
                let call = graph.nodes[*node].call().expect("a sink is an operator");
                format!("`{}` (line {})", call.desc.name, call.method.span().start().line)
            }
        }),
        [Consumer::Node { id, .. }] if fused => {
            End::Batch(graph.nodes[*id].call().map_or("an operator", |c| c.desc.name))
        }
        [Consumer::Node { .. }] => End::Unfused,
    }
}
