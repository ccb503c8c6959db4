//! Locals captured by a job's closures. A job is a type whose constructor
//! binds its functions, so a closure cannot capture a local variable of the
//! function the job is defined in; rustc would say E0434 and advise the
//! closure form, which the closure already has. This finds the likely cases
//! and says to make the value a job parameter instead.
//!
//! A name is reported only where a function or a constant would hardly stand
//! (an operand, a method's receiver, a field's or an index's base), when it is
//! lowercase, bound nowhere in the closure and not a parameter: a lowercase
//! `static` is still reachable through its path (`self::name`).

use crate::parse::Param;
use std::collections::HashSet;
use syn::visit::Visit;
use syn::{Expr, Ident};

/// The names `function` uses as values that are neither bound inside it nor
/// job parameters, with their spans, in order.
pub fn captured_locals<'a>(function: &'a Expr, params: &[Param]) -> Vec<&'a Ident> {
    let mut bound = Bindings(params.iter().map(|p| p.name.to_string()).collect());
    bound.visit_expr(function);
    let mut uses = Uses {
        bound: &bound.0,
        found: Vec::new(),
    };
    uses.visit_expr(function);
    uses.found
}

/// Every name bound by a pattern anywhere in the function (scopes ignored:
/// reporting too little is the safe side).
struct Bindings(HashSet<String>);

impl<'ast> Visit<'ast> for Bindings {
    fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
        self.0.insert(pat.ident.to_string());
        syn::visit::visit_pat_ident(self, pat);
    }
}

struct Uses<'b, 'a> {
    bound: &'b HashSet<String>,
    found: Vec<&'a Ident>,
}

impl<'a> Uses<'_, 'a> {
    fn value(&mut self, expr: &'a Expr) {
        let Expr::Path(path) = expr else { return };
        let Some(ident) = path.path.get_ident().filter(|_| path.qself.is_none()) else {
            return;
        };
        let name = ident.to_string();
        let lowercase = name.starts_with(|c: char| c.is_lowercase() || c == '_') && name != "self";
        if lowercase && !self.bound.contains(&name) && !self.found.contains(&ident) {
            self.found.push(ident);
        }
    }
}

impl<'a> Visit<'a> for Uses<'_, 'a> {
    fn visit_expr_binary(&mut self, e: &'a syn::ExprBinary) {
        self.value(&e.left);
        self.value(&e.right);
        syn::visit::visit_expr_binary(self, e);
    }

    fn visit_expr_method_call(&mut self, e: &'a syn::ExprMethodCall) {
        self.value(&e.receiver);
        syn::visit::visit_expr_method_call(self, e);
    }

    fn visit_expr_field(&mut self, e: &'a syn::ExprField) {
        self.value(&e.base);
        syn::visit::visit_expr_field(self, e);
    }

    fn visit_expr_index(&mut self, e: &'a syn::ExprIndex) {
        self.value(&e.expr);
        syn::visit::visit_expr_index(self, e);
    }

    fn visit_expr_unary(&mut self, e: &'a syn::ExprUnary) {
        self.value(&e.expr);
        syn::visit::visit_expr_unary(self, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(function: &str, params: &str) -> Vec<String> {
        let expr: Expr = syn::parse_str(function).unwrap();
        let params: Vec<Param> = params
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| syn::parse_str(p).unwrap())
            .collect();
        captured_locals(&expr, &params).iter().map(|i| i.to_string()).collect()
    }

    #[test]
    fn finds_unbound_names_used_as_values() {
        assert_eq!(captured("|x| *x > threshold", ""), ["threshold"]);
        assert_eq!(captured("|w| !spam.contains(w) && w.len() > min", ""), ["spam", "min"]);
        assert_eq!(captured("|(k, v)| limits[k] + v", ""), ["limits"]);
    }

    #[test]
    fn ignores_bound_names_parameters_functions_and_constants() {
        assert!(captured("|x| { let y = x + 1; y * y }", "").is_empty());
        assert!(captured("|x| *x > threshold", "threshold: u64").is_empty());
        assert!(captured("|x| parse(x) + LIMIT + self::limit", "").is_empty());
        assert!(captured("|xs: Vec<u8>| xs.iter().map(|b| b + 1).sum::<u8>()", "").is_empty());
        assert!(captured("|x| match x { Some(v) => v > 1, None => false }", "").is_empty());
        assert!(captured("normalize", "").is_empty());
    }
}
