//! Job parameters in the user's functions: every function (and value) that
//! names a parameter gets its own clone of it, moved into the closure, so the
//! bound functions own what they use and live as long as the job.

use crate::parse::Param;
use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::Expr;
use syn::spanned::Spanned;

/// `expr` as it is bound when the job is built: unchanged when it names no
/// parameter, else a block cloning each parameter it names, then `expr` (a
/// closure made `move`, so that it owns those clones).
pub fn capture(expr: &Expr, params: &[Param]) -> TokenStream {
    let tokens = expr.to_token_stream();
    let named: Vec<&Param> = params.iter().filter(|p| mentions(&tokens, &p.name)).collect();
    if named.is_empty() {
        return tokens;
    }
    let clones = clones(&named);
    let expr = with_move(expr.clone());
    quote!({ #clones #expr })
}

/// A loop written from the closures `functions` (`chain.rs`), bound as one
/// closure `|x, out| ..`: like [`capture`], it gets one clone of each
/// parameter any of them names, moved in, so that a closure reading a
/// parameter is written into the loop like any other.
pub fn capture_loop<'e>(
    functions: impl IntoIterator<Item = &'e Expr>,
    params: &[Param],
    closure: TokenStream,
) -> TokenStream {
    let tokens: TokenStream = functions.into_iter().map(ToTokens::to_token_stream).collect();
    let named: Vec<&Param> = params.iter().filter(|p| mentions(&tokens, &p.name)).collect();
    if named.is_empty() {
        return closure;
    }
    let clones = clones(&named);
    quote!({ #clones move #closure })
}

/// A clone of each of `named`, under its own name.
fn clones(named: &[&Param]) -> TokenStream {
    named
        .iter()
        .map(|Param { name, ty }| {
            // A parameter whose type is not `Clone` is reported at its declaration.
            quote_spanned!(ty.span()=> #[allow(unused_variables)] let #name = ::core::clone::Clone::clone(&#name);)
        })
        .collect()
}

/// Whether `tokens` contain the identifier `name` anywhere (a field or method
/// of that name too: the clone is then merely unused).
fn mentions(tokens: &TokenStream, name: &syn::Ident) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == *name,
        TokenTree::Group(group) => mentions(&group.stream(), name),
        _ => false,
    })
}

/// A closure made `move` (through parentheses), anything else unchanged.
fn with_move(expr: Expr) -> Expr {
    match expr {
        Expr::Closure(mut closure) => {
            closure.capture.get_or_insert_with(Default::default);
            Expr::Closure(closure)
        }
        Expr::Paren(mut paren) => {
            *paren.expr = with_move(*paren.expr);
            Expr::Paren(paren)
        }
        Expr::Group(mut group) => {
            *group.expr = with_move(*group.expr);
            Expr::Group(group)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(text: &str) -> Vec<Param> {
        text.split(',').map(|p| syn::parse_str::<Param>(p).unwrap()).collect()
    }

    #[test]
    fn a_function_naming_no_parameter_is_unchanged() {
        let expr: Expr = syn::parse_str("|x| x + 1").unwrap();
        assert_eq!(capture(&expr, &params("min: u64")).to_string(), "| x | x + 1");
    }

    #[test]
    fn a_closure_gets_a_clone_of_each_parameter_it_names_and_moves_it() {
        let expr: Expr = syn::parse_str("|x| x >= min && !spam.contains(&x)").unwrap();
        let out = capture(&expr, &params("min: u64, spam: Vec<u64>, unused: String")).to_string();
        let clone =
            |p: &str| format!("# [allow (unused_variables)] let {p} = :: core :: clone :: Clone :: clone (& {p}) ;");
        assert!(
            out.starts_with(&format!("{{ {} {}", clone("min"), clone("spam"))),
            "{out}"
        );
        assert!(!out.contains("let unused"), "{out}");
        assert!(
            out.ends_with("move | x | x >= min && ! spam . contains (& x) }"),
            "{out}"
        );
    }

    #[test]
    fn an_expression_naming_a_parameter_is_evaluated_with_its_clone() {
        let expr: Expr = syn::parse_str("make_filter(&path)").unwrap();
        let out = capture(&expr, &params("path: PathBuf")).to_string();
        assert!(out.ends_with("; make_filter (& path) }"), "{out}");
    }
}
