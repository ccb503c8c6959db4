//! The stage plan as a constant: what `explain()` prints and what the runtime
//! reads to name the operator of a failed batch.

use crate::graph::{Graph, NodeId, OutputUse};
use crate::plan::{End, Plan};
use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

/// A `::streamflow::Plan { ... }` expression.
pub fn plan_expr(job: &str, interval_ms: u64, fused: bool, graph: &Graph, plan: &Plan) -> TokenStream {
    let ports = |ports: Vec<(String, String)>| {
        let ports = ports
            .into_iter()
            .map(|(name, ty)| quote!(::streamflow::Port { name: #name, ty: #ty }));
        quote!(&[#(#ports),*])
    };
    let inputs = ports(
        graph
            .inputs
            .iter()
            .map(|p| (p.name.to_string(), type_text(&p.ty)))
            .collect(),
    );
    let outputs = ports(
        graph
            .outputs
            .iter()
            .filter_map(|o| match o {
                OutputUse::Port { name, ty, .. } => Some((name.to_string(), type_text(ty))),
                OutputUse::Sink(_) => None,
            })
            .collect(),
    );
    let stages = plan.stages.iter().enumerate().map(|(index, stage)| {
        let id = index + 1;
        let reads = &stage.reads;
        let operators = stage.ops.iter().map(|(node, role)| operator(graph, *node, role));
        let ends = match &stage.end {
            End::Shuffle(op) => quote!(::streamflow::StageEnd::Shuffle(#op)),
            End::Batch(op) => quote!(::streamflow::StageEnd::Batch(#op)),
            End::Branch(stream) => quote!(::streamflow::StageEnd::Branch(#stream)),
            End::Output(what) => quote!(::streamflow::StageEnd::Output(#what)),
            End::Unfused => quote!(::streamflow::StageEnd::Unfused),
        };
        quote!(::streamflow::Stage { id: #id, reads: #reads, operators: &[#(#operators),*], ends: #ends })
    });
    let sinks = graph.outputs.iter().filter_map(|o| match o {
        OutputUse::Sink(node) => Some(operator(graph, *node, "")),
        OutputUse::Port { .. } => None,
    });
    quote! {
        ::streamflow::Plan {
            job: #job,
            batch_interval_ms: #interval_ms,
            fused: #fused,
            file: ::core::file!(),
            inputs: #inputs,
            outputs: #outputs,
            stages: &[#(#stages),*],
            sinks: &[#(#sinks),*],
        }
    }
}

fn operator(graph: &Graph, node: NodeId, role: &str) -> TokenStream {
    let call = graph.nodes[node].call().expect("plan operators are calls");
    let name = call.desc.name;
    let start = call.method.span().start();
    let end = call.close.end();
    let (line, column, end_line, end_column) = (
        start.line as u32,
        start.column as u32,
        end.line as u32,
        end.column as u32,
    );
    quote! {
        ::streamflow::Operator {
            name: #name,
            role: #role,
            span: ::streamflow::SourceSpan { line: #line, column: #column, end_line: #end_line, end_column: #end_column },
        }
    }
}

/// A type as a person writes it: `(String, u64)`, not `(String , u64)`.
pub fn type_text(ty: &impl ToTokens) -> String {
    let text = ty.to_token_stream().to_string();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            let previous = out.chars().last().unwrap_or(' ');
            let next = chars.peek().copied().unwrap_or(' ');
            let glued_before = matches!(previous, '(' | '<' | '&' | '[' | ':');
            let glued_after = matches!(next, ',' | ')' | '>' | ']' | '<' | ':' | ';');
            if glued_before || glued_after {
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::type_text;

    #[test]
    fn types_read_like_source() {
        let ty: syn::Type = syn::parse_str("(String, Vec<u64>, &'static str, [u8; 4], std::string::String)").unwrap();
        assert_eq!(
            type_text(&ty),
            "(String, Vec<u64>, &'static str, [u8; 4], std::string::String)"
        );
    }
}
