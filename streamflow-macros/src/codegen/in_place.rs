//! Whether a fused loop may read its input lines where they are, by
//! reference, instead of taking each one and freeing it in the loop: a
//! million `String` lines cost a million `free` calls on the workers, in the
//! middle of the word count. Read by reference, the batch is freed after the
//! stage, off the critical path (`streamflow_runtime::stage::free_later`).
//!
//! The macro does not know types, so the rule is syntactic and narrow: the
//! loop reads an input port declared `String`, and its first operator is a
//! `map`, `flat_map` or `filter_map` whose closure names its parameter only
//! as the receiver of `str` methods that take `&self` (`line.split_whitespace()`,
//! `line.trim().len()`). Bound to `&String` instead of `String`, such a body
//! means the same: `String` has no method of these names, so each call
//! reaches the same `str` method through the same auto-dereference. (A trait
//! of the user's with a by-value method of one of these names, implemented
//! for `String`, would be picked before `str`'s and fail to compile: the
//! rule does not try to see that far.)

use crate::graph::{Graph, NodeId, NodeKind};
use proc_macro2::TokenStream;

/// The `str` methods a line may be the receiver of: each takes `&self`.
const READS: &[&str] = &[
    "as_bytes",
    "as_str",
    "bytes",
    "char_indices",
    "chars",
    "contains",
    "ends_with",
    "eq_ignore_ascii_case",
    "find",
    "get",
    "is_ascii",
    "is_char_boundary",
    "is_empty",
    "len",
    "lines",
    "match_indices",
    "matches",
    "parse",
    "replace",
    "replacen",
    "rfind",
    "rmatch_indices",
    "rmatches",
    "rsplit",
    "rsplit_once",
    "rsplit_terminator",
    "rsplitn",
    "split",
    "split_ascii_whitespace",
    "split_at",
    "split_inclusive",
    "split_once",
    "split_terminator",
    "split_whitespace",
    "splitn",
    "starts_with",
    "strip_prefix",
    "strip_suffix",
    "to_ascii_lowercase",
    "to_ascii_uppercase",
    "to_lowercase",
    "to_uppercase",
    "trim",
    "trim_end",
    "trim_end_matches",
    "trim_matches",
    "trim_start",
    "trim_start_matches",
];

/// Whether the loop over `chain`, reading `source`, may read its elements by
/// reference (see the module's note).
pub fn reads_in_place(graph: &Graph, source: NodeId, chain: &[NodeId]) -> bool {
    let NodeKind::Input(port) = graph.nodes[source].kind else {
        return false;
    };
    let Some(&first) = chain.first() else { return false };
    let Some(call) = graph.nodes[first].call() else {
        return false;
    };
    if !matches!(call.desc.name, "map" | "flat_map" | "filter_map") || !is_string(&graph.inputs[port].ty) {
        return false;
    }
    let Some(syn::Expr::Closure(closure)) = call.only_function() else {
        return false;
    };
    let [syn::Pat::Ident(param)] = closure.inputs.iter().collect::<Vec<_>>().as_slice() else {
        return false;
    };
    if param.by_ref.is_some() || param.mutability.is_some() || param.subpat.is_some() {
        return false;
    }
    only_read(&closure.body, &param.ident)
}

/// `String`, `std::string::String` or `alloc::string::String`, as written.
fn is_string(ty: &syn::Type) -> bool {
    let syn::Type::Path(path) = ty else { return false };
    if path.qself.is_some() {
        return false;
    }
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| match s.arguments {
            syn::PathArguments::None => s.ident.to_string(),
            _ => String::new(),
        })
        .collect();
    matches!(
        segments.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
        ["String"] | ["std" | "alloc", "string", "String"]
    )
}

/// Whether `body` names `param` only as the receiver of a method of
/// [`READS`]. Any other mention (an argument, a field, a macro's tokens, a
/// shadowing binding) answers no.
fn only_read(body: &syn::Expr, param: &syn::Ident) -> bool {
    use syn::visit::Visit;
    struct Uses<'a> {
        param: &'a syn::Ident,
        other: bool,
    }
    impl<'ast> Visit<'ast> for Uses<'_> {
        fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
            let receiver_is_param = matches!(&*call.receiver, syn::Expr::Path(p) if p.path.is_ident(self.param));
            if receiver_is_param && READS.contains(&call.method.to_string().as_str()) {
                for arg in &call.args {
                    self.visit_expr(arg);
                }
                if let Some(turbofish) = &call.turbofish {
                    self.visit_angle_bracketed_generic_arguments(turbofish);
                }
            } else {
                syn::visit::visit_expr_method_call(self, call);
            }
        }
        fn visit_ident(&mut self, ident: &'ast syn::Ident) {
            self.other |= ident == self.param;
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            self.other |= mentions(mac.tokens.clone(), self.param);
        }
    }
    // A literal counts if it holds the name: `format!("{line}")` takes it.
    fn mentions(tokens: TokenStream, param: &syn::Ident) -> bool {
        tokens.into_iter().any(|tree| match tree {
            proc_macro2::TokenTree::Ident(i) => i == *param,
            proc_macro2::TokenTree::Group(g) => mentions(g.stream(), param),
            proc_macro2::TokenTree::Literal(l) => l.to_string().contains(&param.to_string()),
            proc_macro2::TokenTree::Punct(_) => false,
        })
    }
    let mut uses = Uses { param, other: false };
    uses.visit_expr(body);
    !uses.other
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(closure: &str) -> bool {
        let closure: syn::ExprClosure = syn::parse_str(closure).expect("a closure");
        let syn::Pat::Ident(param) = &closure.inputs[0] else {
            panic!("an ident")
        };
        only_read(&closure.body, &param.ident)
    }

    #[test]
    fn a_line_only_read_through_str_methods() {
        assert!(reads("|line| line.split_whitespace()"));
        assert!(reads(
            "|line| line.trim().split(',').map(|f| f.len()).collect::<Vec<_>>()"
        ));
        assert!(reads("|line| if line.is_empty() { None } else { Some(line.len()) }"));
        assert!(reads("|l| l.split_once(' ').map(|(a, _)| a)"));
    }

    #[test]
    fn a_line_moved_or_named_otherwise_is_taken() {
        assert!(!reads("|line| line"));
        assert!(!reads("|line| (line, 1)"));
        assert!(!reads("|line| line.into_bytes()"));
        assert!(!reads("|line| line.clone()"));
        assert!(!reads("|line| f(&line)"));
        assert!(!reads("|line| format!(\"{line}\")"));
        assert!(!reads("|line| line.len() + other(line)"));
        assert!(!reads("|line| { let line = line.len(); line }"));
    }

    #[test]
    fn only_a_string_port() {
        let ty = |s: &str| syn::parse_str::<syn::Type>(s).expect("a type");
        assert!(is_string(&ty("String")));
        assert!(is_string(&ty("std::string::String")));
        assert!(!is_string(&ty("&'static str")));
        assert!(!is_string(&ty("Vec<String>")));
        assert!(!is_string(&ty("my::String")));
    }
}
