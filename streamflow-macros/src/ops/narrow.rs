//! Element-by-element operators: each fuses into the loop of its stage, with
//! its code here, in one place.

use super::{F1_ELEMENT, Kind, OpDesc, Param, Signature};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote_spanned;

/// What a narrow operator's code in the fused loop is made of. Its function
/// is `Checked` by its witness and called as `f.call(x)` (see
/// `streamflow_runtime::typing::Checked`). The element is
/// `x`; `inner` is the rest of the chain, to run on each element it yields.
pub struct Loop<'a> {
    /// The operator's bound function.
    pub f: &'a Ident,
    /// The conversion of the element into a (key, value) pair, for operators
    /// on pairs.
    pub pairs: Option<&'a Ident>,
    /// The code for each element the operator yields.
    pub inner: TokenStream,
    /// The operator's span, so that type errors point at it.
    pub span: Span,
}

/// A narrow operator's code in the fused loop.
pub type Template = fn(Loop<'_>) -> TokenStream;

const F1_REF: Param = Param::Function(1, "a reference to the element");
const F1_VALUE: Param = Param::Function(1, "the value of a (key, value) pair");

const fn narrow(name: &'static str, signatures: &'static [Signature], template: Template, doc: &'static str) -> OpDesc {
    OpDesc {
        fused: Some(template),
        ..OpDesc::new(name, Kind::Narrow, signatures, doc)
    }
}

/// The narrow operators.
pub const OPS: &[OpDesc] = &[
    narrow(
        "map",
        &[Signature::new("map", &[F1_ELEMENT]).runtime("narrow")],
        |Loop { f, inner, span, .. }| quote_spanned!(span=> let x = #f.call(x); #inner),
        "`map(f)`: each element `x` becomes `f(x)`.",
    ),
    narrow(
        "flat_map",
        &[Signature::new("flat_map", &[F1_ELEMENT]).runtime("narrow")],
        |Loop { f, inner, span, .. }| quote_spanned!(span=> for x in #f.call(x) { #inner }),
        "`flat_map(f)`: each element becomes the elements of the iterable `f(x)`.",
    ),
    narrow(
        "filter",
        &[Signature::new("filter", &[F1_REF]).runtime("narrow")],
        |Loop { f, inner, span, .. }| quote_spanned!(span=> if #f.call(&x) { #inner }),
        "`filter(f)`: keeps the elements for which `f(&x)` is true.",
    ),
    narrow(
        "filter_map",
        &[Signature::new("filter_map", &[F1_ELEMENT]).runtime("narrow")],
        |Loop { f, inner, span, .. }| quote_spanned!(span=> if let ::core::option::Option::Some(x) = #f.call(x) { #inner }),
        "`filter_map(f)`: keeps `y` for every element whose `f(x)` is `Some(y)`.",
    ),
    narrow(
        "inspect",
        &[Signature::new("inspect", &[F1_REF]).runtime("narrow")],
        |Loop { f, inner, span, .. }| quote_spanned!(span=> #f.call(&x); #inner),
        "`inspect(f)`: calls `f(&x)` on each element and passes it on.",
    ),
    narrow(
        "map_values",
        &[Signature::new("map_values", &[F1_VALUE]).runtime("narrow")],
        |Loop { f, pairs, inner, span }| {
            quote_spanned!(span=> let (key, value) = #pairs(x); let x = (key, #f.call(value)); #inner)
        },
        "`map_values(f)`: on (key, value) pairs, `(k, v)` becomes `(k, f(v))`.",
    )
    .pairs(),
    narrow(
        "flat_map_values",
        &[Signature::new("flat_map_values", &[F1_VALUE]).runtime("narrow")],
        |Loop { f, pairs, inner, span }| {
            quote_spanned! {span=>
                let (key, value) = #pairs(x);
                for value in #f.call(value) {
                    let x = (::core::clone::Clone::clone(&key), value);
                    #inner
                }
            }
        },
        "`flat_map_values(f)`: on pairs, `(k, v)` becomes `(k, w)` for every `w` in `f(v)`.",
    )
    .pairs(),
];
