//! Cutting the graph into steps: where batches are materialized, and which
//! narrow chains fuse into each step's map and reduce sides.

use super::{Access, Side, Step};
use crate::graph::{Consumer, Graph, NodeId};
use crate::ops::{Kind, Snapshots};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Head {
    Var(NodeId),
    Boundary(NodeId),
}

/// The steps of `graph`, in execution order, each with the node whose batch it
/// produces (its terminal).
pub(super) fn cut(graph: &Graph, consumers: &[Vec<Consumer>], fused: bool) -> (Vec<Step>, Vec<NodeId>) {
    let n = graph.nodes.len();
    let kind_of = |id: NodeId| graph.nodes[id].call().map(|c| c.desc.kind);
    let single_op_consumer = |id: NodeId| match consumers[id].as_slice() {
        [Consumer::Node { id: c, .. }] => Some(*c),
        _ => None,
    };

    let mut materialized = vec![false; n];
    let mut head = vec![Head::Var(0); n];
    let is_snapshots = |id: NodeId| {
        graph.nodes[id]
            .call()
            .is_some_and(|c| c.desc.snapshots == Snapshots::Reads)
    };
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
    (steps, terminal)
}
