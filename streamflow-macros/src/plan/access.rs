//! Who moves, borrows or clones each materialized batch.

use super::{Access, OutputRead, Plan, Side, Step};
use crate::graph::{Graph, NodeId, OutputUse};

impl Plan {
    /// Decides, for every read of a materialized batch, whether it moves,
    /// borrows or clones it. Readers run in this order: steps, then output
    /// operators (in declaration order), then ports (returned last). The last
    /// reader moves the batch, earlier steps borrow it and earlier outputs clone
    /// it; output operators only ever borrow, so a batch printed last is not moved.
    pub(super) fn assign_access(&mut self, graph: &Graph) {
        #[derive(Clone, Copy)]
        enum Reader {
            Side { step: usize, side: usize },
            Output { read: usize, borrows: bool },
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
            let (source, borrows, is_port) = match output {
                OutputUse::Port { stream, .. } => (*stream, false, true),
                // Output operators (`print`, the files, `foreach_batch`) only read the batch.
                OutputUse::Sink(node) => (graph.nodes[*node].inputs[0], true, false),
            };
            self.outputs.push(OutputRead {
                output: index,
                source,
                access: Access::Move,
            });
            let reader = (source, Reader::Output { read, borrows });
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
                Reader::Output { borrows, .. } => !borrows,
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
                    Reader::Output { borrows: true, .. } => Access::Borrow,
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
}
