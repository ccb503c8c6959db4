//! Pass 4, plan: cutting the graph into stages.
//!
//! A *step* is one call into the runtime. A narrow step runs a chain of narrow
//! operators from a materialized batch to a materialized batch. A boundary step
//! runs, for each input of a boundary operator, the chain of narrow operators
//! that feeds it (its *map side*, fused with the operator's map-side work), then
//! the operator itself, then the chain of narrow operators that follows it (its
//! *reduce side*). Each map side and each reduce side is one stage of the plan.
//!
//! A stream is materialized (becomes a `Batch` variable) where fusion cannot go
//! on: at an input port, where it feeds several operators (a branch point,
//! computed once), where it reaches an output, between two boundaries, and after
//! every operator when fusion is off.

use crate::duration::format_ms;
use crate::graph::{Consumer, Graph, NodeId, NodeKind, OutputUse};
use crate::ops::{Kind, Op};

/// How a step or an output reads a materialized batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Takes the batch (its last reader).
    Move,
    /// Reads it by reference; the stage clones each element it keeps.
    Borrow,
    /// Takes a clone of the whole batch (an output that is not the last reader).
    Clone,
}

/// One input of a step: a materialized batch and the chain fused after it.
#[derive(Debug)]
pub struct Side {
    /// The materialized node read.
    pub source: NodeId,
    /// How it is read.
    pub access: Access,
    /// The narrow operators applied to each element before the boundary.
    pub chain: Vec<NodeId>,
}

/// One call into the runtime.
#[derive(Debug)]
pub enum Step {
    /// A chain of narrow operators between two materialized batches.
    Narrow {
        /// The input and the chain.
        side: Side,
    },
    /// A boundary operator with its map sides and reduce-side chain.
    Boundary {
        /// The operator.
        node: NodeId,
        /// One side per input, in slot order.
        sides: Vec<Side>,
        /// The narrow operators applied to the operator's output.
        reduce_chain: Vec<NodeId>,
    },
}

/// Why a stage's output is not fused further.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// A shuffle of the named operator.
    Shuffle(&'static str),
    /// Materialized for a whole-batch or boundary operator.
    Batch(&'static str),
    /// A branch point.
    Branch(String),
    /// An output.
    Output(String),
    /// Fusion is off.
    Unfused,
}

/// One stage of the plan, as `explain()` shows it.
#[derive(Debug)]
pub struct StageDesc {
    /// What it reads.
    pub reads: String,
    /// Its operators with their roles.
    pub ops: Vec<(NodeId, String)>,
    /// What ends it.
    pub end: End,
}

/// An output and how it reads its stream.
#[derive(Debug)]
pub struct OutputRead {
    /// Index into [`Graph::outputs`].
    pub output: usize,
    /// The materialized node it reads.
    pub source: NodeId,
    /// How.
    pub access: Access,
}

/// The plan of a job.
#[derive(Debug)]
pub struct Plan {
    /// The steps, in execution order.
    pub steps: Vec<Step>,
    /// For each step, the index of its first stage.
    pub first_stage: Vec<usize>,
    /// Every stage, in execution order.
    pub stages: Vec<StageDesc>,
    /// The outputs, in declaration order.
    pub outputs: Vec<OutputRead>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Head {
    Var(NodeId),
    Boundary(NodeId),
}

/// Plans `graph`; `fused` is false under `#[fusion(off)]`.
pub fn plan(graph: &Graph, fused: bool) -> Plan {
    let consumers = graph.consumers();
    let n = graph.nodes.len();
    let kind_of = |id: NodeId| graph.nodes[id].call().map(|c| c.desc.kind);
    let single_op_consumer = |id: NodeId| match consumers[id].as_slice() {
        [Consumer::Node { id: c, .. }] => Some(*c),
        _ => None,
    };

    let mut materialized = vec![false; n];
    let mut head = vec![Head::Var(0); n];
    let is_snapshots = |id: NodeId| graph.nodes[id].call().is_some_and(|c| c.desc.op == Op::StateSnapshots);
    for id in 0..n {
        match kind_of(id) {
            // Inputs, and the snapshots a `map_with_state` step produces beside
            // its output, are batches no step of their own computes.
            None => {
                materialized[id] = true;
                head[id] = Head::Var(id);
            }
            Some(_) if is_snapshots(id) => {
                materialized[id] = true;
                head[id] = Head::Var(id);
            }
            Some(Kind::Output) => {}
            Some(kind) => {
                head[id] = match kind {
                    Kind::Boundary => Head::Boundary(id),
                    _ => {
                        let p = graph.nodes[id].inputs[0];
                        if materialized[p] { Head::Var(p) } else { head[p] }
                    }
                };
                let consumer = single_op_consumer(id);
                let into_boundary = consumer.is_some_and(|c| kind_of(c) == Some(Kind::Boundary));
                let after_boundary = matches!(head[id], Head::Boundary(_));
                materialized[id] = !fused || consumer.is_none() || (into_boundary && after_boundary);
            }
        }
    }

    // The chain of non-materialized narrow nodes ending at `last`, and its source.
    let chain_back = |last: NodeId| -> (NodeId, Vec<NodeId>) {
        let mut chain = vec![last];
        let mut at = last;
        loop {
            let p = graph.nodes[at].inputs[0];
            if materialized[p] {
                chain.reverse();
                return (p, chain);
            }
            chain.push(p);
            at = p;
        }
    };

    let mut steps = Vec::new();
    let mut terminal = Vec::new();
    for id in 0..n {
        match kind_of(id) {
            Some(Kind::Boundary) if !is_snapshots(id) => {
                let sides = graph.nodes[id]
                    .inputs
                    .iter()
                    .map(|&q| {
                        if materialized[q] {
                            Side {
                                source: q,
                                access: Access::Move,
                                chain: Vec::new(),
                            }
                        } else {
                            let (source, chain) = chain_back(q);
                            Side {
                                source,
                                access: Access::Move,
                                chain,
                            }
                        }
                    })
                    .collect();
                let mut reduce_chain = Vec::new();
                let mut at = id;
                while !materialized[at] {
                    at = single_op_consumer(at).expect("a non-materialized node has one operator consumer");
                    reduce_chain.push(at);
                }
                steps.push(Step::Boundary {
                    node: id,
                    sides,
                    reduce_chain,
                });
                terminal.push(at);
            }
            Some(Kind::Narrow) if materialized[id] && matches!(head[id], Head::Var(_)) => {
                let (source, chain) = chain_back(id);
                steps.push(Step::Narrow {
                    side: Side {
                        source,
                        access: Access::Move,
                        chain,
                    },
                });
                terminal.push(id);
            }
            _ => {}
        }
    }
    let mut order: Vec<usize> = (0..steps.len()).collect();
    order.sort_by_key(|&i| terminal[i]);
    let mut sorted_steps: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
    let steps: Vec<Step> = order
        .iter()
        .map(|&i| sorted_steps[i].take().expect("each step once"))
        .collect();
    let terminal: Vec<NodeId> = order.iter().map(|&i| terminal[i]).collect();

    let mut plan = Plan {
        steps,
        first_stage: Vec::new(),
        stages: Vec::new(),
        outputs: Vec::new(),
    };
    plan.assign_access(graph);
    plan.describe_stages(graph, &consumers, &terminal, fused);
    plan
}

impl Plan {
    /// Decides, for every read of a materialized batch, whether it moves,
    /// borrows or clones it. Readers run in this order: steps, then output
    /// operators (in declaration order), then ports (returned last). The last
    /// reader moves the batch, earlier steps borrow it and earlier outputs clone
    /// it; `print` only ever borrows, so a batch printed last is not moved.
    fn assign_access(&mut self, graph: &Graph) {
        #[derive(Clone, Copy)]
        enum Reader {
            Side { step: usize, side: usize },
            Output { read: usize, print: bool },
        }
        let mut readers: Vec<(NodeId, Reader)> = Vec::new();
        for (step, s) in self.steps.iter().enumerate() {
            let sides: &[Side] = match s {
                Step::Narrow { side } => std::slice::from_ref(side),
                Step::Boundary { sides, .. } => sides,
            };
            readers.extend(
                sides
                    .iter()
                    .enumerate()
                    .map(|(side, sd)| (sd.source, Reader::Side { step, side })),
            );
        }
        let mut port_readers = Vec::new();
        for (index, output) in graph.outputs.iter().enumerate() {
            let read = self.outputs.len();
            let (source, print, is_port) = match output {
                OutputUse::Port { stream, .. } => (*stream, false, true),
                OutputUse::Sink(node) => {
                    let call = graph.nodes[*node].call().expect("a sink is an operator");
                    // `print` and the file outputs only read the batch.
                    let reads_only = call.desc.op == Op::Print || call.desc.writes_files();
                    (graph.nodes[*node].inputs[0], reads_only, false)
                }
            };
            self.outputs.push(OutputRead {
                output: index,
                source,
                access: Access::Move,
            });
            let reader = (source, Reader::Output { read, print });
            if is_port {
                port_readers.push(reader)
            } else {
                readers.push(reader)
            }
        }
        readers.extend(port_readers);

        for var in 0..graph.nodes.len() {
            let mine: Vec<Reader> = readers.iter().filter(|r| r.0 == var).map(|r| r.1).collect();
            let Some(&last) = mine.last() else { continue };
            let movable = match last {
                Reader::Output { print, .. } => !print,
                // A step that reads the same batch twice (`a.join(a)`) cannot move it.
                Reader::Side { step, .. } => {
                    mine.iter()
                        .filter(|r| matches!(r, Reader::Side { step: s, .. } if *s == step))
                        .count()
                        == 1
                }
            };
            for (i, reader) in mine.iter().enumerate() {
                let access = match *reader {
                    Reader::Output { print: true, .. } => Access::Borrow,
                    _ if i == mine.len() - 1 && movable => Access::Move,
                    Reader::Side { .. } => Access::Borrow,
                    Reader::Output { .. } => Access::Clone,
                };
                match *reader {
                    Reader::Side { step, side } => match &mut self.steps[step] {
                        Step::Narrow { side: only } => only.access = access,
                        Step::Boundary { sides, .. } => sides[side].access = access,
                    },
                    Reader::Output { read, .. } => self.outputs[read].access = access,
                }
            }
        }
    }

    fn describe_stages(&mut self, graph: &Graph, consumers: &[Vec<Consumer>], terminal: &[NodeId], fused: bool) {
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
                    let reads = match (desc.shuffles, numbers.len()) {
                        (true, 1) => format!("shuffle of stage {}", numbers[0]),
                        (true, _) => format!("shuffles of stages {}", numbers.join(" and ")),
                        (false, 1) => format!("stage {}", numbers[0]),
                        (false, _) => format!("stages {}", numbers.join(" and ")),
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
                        && graph.nodes[*id].call().is_some_and(|c| c.desc.op == Op::StateSnapshots)
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
        (NodeKind::Op(call), None, Some(stage)) if call.desc.op == Op::StateSnapshots => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;
    use crate::graph;
    use crate::parse::JobFile;

    fn plan_of(src: &str) -> (Graph, Plan) {
        let file: JobFile = syn::parse_str(src).unwrap();
        let mut diag = Diagnostics::default();
        let g = graph::build(&file.jobs[0], &mut diag);
        assert!(diag.is_empty(), "{:?}", diag.messages());
        let p = plan(&g, file.jobs[0].fusion);
        (g, p)
    }

    fn stage_ops(g: &Graph, p: &Plan) -> Vec<String> {
        p.stages
            .iter()
            .map(|s| {
                let ops: Vec<String> = s
                    .ops
                    .iter()
                    .map(|(id, role)| {
                        let name = g.nodes[*id].call().unwrap().desc.name;
                        if role.is_empty() {
                            name.to_owned()
                        } else {
                            format!("{name}[{role}]")
                        }
                    })
                    .collect();
                format!("{} | {} | {:?}", s.reads, ops.join(" > "), s.end)
            })
            .collect()
    }

    const WORD_COUNT: &str = "job W { batch_interval = 1s; input lines: String;
        let counts = lines.flat_map(|l| vec![l]).map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b).map(|p| p);
        output counts: (String, u64) = counts; }";

    #[test]
    fn fuses_narrow_chains_into_the_shuffle_around_them() {
        let (g, p) = plan_of(WORD_COUNT);
        assert_eq!(p.steps.len(), 1);
        assert_eq!(
            stage_ops(&g, &p),
            [
                "input `lines` | flat_map > map > reduce_by_key[map-side combine] | Shuffle(\"reduce_by_key\")",
                "shuffle of stage 1 | reduce_by_key[merge] > map | Output(\"port `counts`\")",
            ]
        );
    }

    #[test]
    fn without_fusion_every_operator_is_its_own_stage() {
        let (g, p) = plan_of(&WORD_COUNT.replace("job W", "#[fusion(off)] job W"));
        assert_eq!(
            stage_ops(&g, &p),
            [
                "input `lines` | flat_map | Unfused",
                "output of stage 1 | map | Unfused",
                "output of stage 2 | reduce_by_key[map-side combine] | Shuffle(\"reduce_by_key\")",
                "shuffle of stage 3 | reduce_by_key[merge] | Unfused",
                "output of stage 4 | map | Output(\"port `counts`\")",
            ]
        );
    }

    #[test]
    fn branches_are_materialized_once_and_moved_to_their_last_reader() {
        let (g, p) = plan_of(
            "job B { batch_interval = 1s; input a: u32;
               let doubled = a.map(|x| x * 2);
               output evens: u32 = doubled.filter(|x| x % 4 == 0);
               output all: u32 = doubled; }",
        );
        assert_eq!(
            stage_ops(&g, &p),
            [
                "input `a` | map | Branch(\"doubled\")",
                "`doubled` (output of stage 1) | filter | Output(\"port `evens`\")"
            ]
        );
        let Step::Narrow { side } = &p.steps[1] else {
            panic!("narrow step expected")
        };
        assert_eq!(
            side.access,
            Access::Borrow,
            "the filter stage reads the branch by reference"
        );
        assert_eq!(
            p.outputs[1].access,
            Access::Move,
            "the port, the last reader, takes the batch"
        );
    }

    #[test]
    fn joins_have_two_map_sides() {
        let (g, p) = plan_of(
            "job J { batch_interval = 1s; input a: (u8, u8); input b: (u8, u8);
               output j: (u8, (u8, u8)) = a.map_values(|v| v).join(b.filter(|p| p.0 > 0)).map(|x| x); }",
        );
        assert_eq!(
            stage_ops(&g, &p),
            [
                "input `a` | map_values > join[bucket by key] | Shuffle(\"join\")",
                "input `b` | filter > join[bucket by key] | Shuffle(\"join\")",
                "shuffles of stages 1 and 2 | join[join] > map | Output(\"port `j`\")",
            ]
        );
    }

    #[test]
    fn a_chain_between_two_shuffles_runs_on_the_first_ones_reduce_side() {
        let (g, p) = plan_of(
            "job S { batch_interval = 1s; input a: (u8, u8);
               output o: (u8, u8) = a.reduce_by_key(|x, y| x + y).map(|p| p).reduce_by_key(|x, y| x.max(y)); }",
        );
        assert_eq!(
            stage_ops(&g, &p),
            [
                "input `a` | reduce_by_key[map-side combine] | Shuffle(\"reduce_by_key\")",
                "shuffle of stage 1 | reduce_by_key[merge] > map | Batch(\"reduce_by_key\")",
                "output of stage 2 | reduce_by_key[map-side combine] | Shuffle(\"reduce_by_key\")",
                "shuffle of stage 3 | reduce_by_key[merge] | Output(\"port `o`\")",
            ]
        );
    }

    #[test]
    fn a_stream_joined_with_itself_is_borrowed_twice() {
        let (_, p) = plan_of("job J { batch_interval = 1s; input a: (u8, u8); output j: (u8, (u8, u8)) = a.join(a); }");
        let Step::Boundary { sides, .. } = &p.steps[0] else {
            panic!("boundary expected")
        };
        assert_eq!([sides[0].access, sides[1].access], [Access::Borrow, Access::Borrow]);
    }

    #[test]
    fn a_batch_printed_after_a_step_is_borrowed_by_the_step() {
        let (_, p) = plan_of("job P { batch_interval = 1s; input a: u8; output c: u64 = a.count(); a.print(); }");
        let Step::Boundary { sides, .. } = &p.steps[0] else {
            panic!("boundary expected")
        };
        assert_eq!(sides[0].access, Access::Borrow);
        assert_eq!(p.outputs[1].access, Access::Borrow);
    }
}
