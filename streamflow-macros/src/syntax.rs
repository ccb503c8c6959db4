//! Helpers on the user's Rust syntax, shared by the passes that read it.

use syn::Expr;

/// Parentheses and invisible groups (a `macro_rules!` fragment such as
/// `$window` arrives in one) do not change an expression.
pub fn strip(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(inner) => strip(&inner.expr),
        Expr::Group(inner) => strip(&inner.expr),
        other => other,
    }
}
