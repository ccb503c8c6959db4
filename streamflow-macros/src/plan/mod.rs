//! Pass 4, plan: cutting the graph into stages (`cut`), deciding who moves,
//! borrows or clones each batch (`access`), and describing the stages for
//! `explain()` (`describe`).
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

mod access;
mod cut;
mod describe;

use crate::graph::{Graph, NodeId};

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
#[derive(Clone, Debug)]
pub struct Side {
    /// The materialized node read.
    pub source: NodeId,
    /// How it is read.
    pub access: Access,
    /// The narrow operators applied to each element before the boundary.
    pub chain: Vec<NodeId>,
}

/// One call into the runtime.
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug)]
pub struct StageDesc {
    /// What it reads.
    pub reads: String,
    /// Its operators with their roles.
    pub ops: Vec<(NodeId, String)>,
    /// What ends it.
    pub end: End,
}

/// An output and how it reads its stream.
#[derive(Clone, Debug)]
pub struct OutputRead {
    /// Index into [`Graph::outputs`].
    pub output: usize,
    /// The materialized node it reads.
    pub source: NodeId,
    /// How.
    pub access: Access,
}

/// The plan of a job.
#[derive(Clone, Debug)]
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

/// Plans `graph`; `fused` is false under `#[fusion(off)]`.
pub fn plan(graph: &Graph, fused: bool) -> Plan {
    let consumers = graph.consumers();
    let (steps, terminal) = cut::cut(graph, &consumers, fused);
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
                "input `a` | map_values > join[map-side group] | Shuffle(\"join\")",
                "input `b` | filter > join[map-side group] | Shuffle(\"join\")",
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
