//! Pass 1, parse: the job's syntax tree.
//!
//! ```text
//! stream_job! {
//!     /// docs
//!     #[fusion(off)]                      // optional
//!     pub job Name(min_count: u64) {      // optional parameters
//!         batch_interval = 1s;
//!         input lines: String;
//!         let words = lines.flat_map(|l| ...);
//!         output counts: (String, u64) = words.map(...).reduce_by_key(...);
//!         counts.print();                 // an output operator statement
//!     }
//! }
//! ```
//!
//! Stream expressions stay `syn::Expr`; the graph pass reads them. Every node
//! keeps its span.

use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Expr, Ident, Token, Type, Visibility, braced, parenthesized};

/// Everything inside one `stream_job!` invocation.
pub struct JobFile {
    /// The jobs, in order.
    pub jobs: Vec<JobDef>,
}

/// One `job Name { ... }`.
pub struct JobDef {
    /// Doc comments and other attributes kept for the generated struct.
    pub attrs: Vec<Attribute>,
    /// Whether `#[fusion(off)]` was given.
    pub fusion: bool,
    /// The job's visibility.
    pub vis: Visibility,
    /// The job's name.
    pub name: Ident,
    /// Its parameters, `job Name(path: PathBuf, min: u64)`, in order.
    pub params: Vec<Param>,
    /// The statements of the body, in order.
    pub items: Vec<Item>,
}

/// One parameter of a job: `min_count: u64`, given to `Name::new(..)` and
/// visible in every function of the job.
pub struct Param {
    /// Its name.
    pub name: Ident,
    /// Its type.
    pub ty: Type,
}

impl Parse for Param {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name: Ident = input.parse()?;
        input
            .parse::<Token![:]>()
            .map_err(|e| syn::Error::new(e.span(), "expected `name: Type` (a job parameter)"))?;
        let ty: Type = input.parse()?;
        Ok(Param { name, ty })
    }
}

/// One statement of a job body.
#[allow(clippy::large_enum_variant, reason = "a syntax tree node, built once per statement")]
pub enum Item {
    /// `batch_interval = 1s;`
    BatchInterval {
        /// The `batch_interval` keyword.
        keyword: Ident,
        /// The duration literal.
        value: Expr,
    },
    /// `input name: Type;`, or `input name: Type, partitions = ..;`
    Input {
        /// The port's name.
        name: Ident,
        /// The element type.
        ty: Type,
        /// How its batches are partitioned, when said.
        partitions: Option<InputSplit>,
    },
    /// `let name = expr;`
    Let {
        /// The stream's name.
        name: Ident,
        /// The stream expression.
        expr: Expr,
    },
    /// `output name: Type = expr;`
    Output {
        /// The port's name.
        name: Ident,
        /// The declared element type.
        ty: Type,
        /// The stream expression.
        expr: Expr,
    },
    /// `expr;`: a chain ending in an output operator such as `print()`.
    Statement {
        /// The expression.
        expr: Expr,
    },
}

impl Parse for JobFile {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut jobs = Vec::new();
        while !input.is_empty() {
            jobs.push(input.parse()?);
        }
        if jobs.is_empty() {
            return Err(input.error("expected a job: `job Name { ... }`"));
        }
        Ok(JobFile { jobs })
    }
}

impl Parse for JobDef {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let fusion = take_fusion_attr(&mut attrs)?;
        let vis: Visibility = input.parse()?;
        let keyword: Ident =
            Ident::parse_any(input).map_err(|e| syn::Error::new(e.span(), "expected `job Name { ... }`"))?;
        if keyword != "job" {
            return Err(syn::Error::new(
                keyword.span(),
                format!("expected `job`, found `{keyword}`"),
            ));
        }
        let name: Ident = input.parse()?;
        let params = if input.peek(syn::token::Paren) {
            let list;
            parenthesized!(list in input);
            list.parse_terminated(Param::parse, Token![,])?.into_iter().collect()
        } else {
            Vec::new()
        };
        let body;
        braced!(body in input);
        let mut items = Vec::new();
        while !body.is_empty() {
            items.push(body.parse()?);
        }
        Ok(JobDef {
            attrs,
            fusion,
            vis,
            name,
            params,
            items,
        })
    }
}

/// Removes `#[fusion(on|off)]` from the attributes and returns whether fusion is on.
fn take_fusion_attr(attrs: &mut Vec<Attribute>) -> syn::Result<bool> {
    let mut fusion = true;
    let mut result = Ok(());
    attrs.retain(|attr| {
        if !attr.path().is_ident("fusion") {
            return true;
        }
        let parsed = attr
            .parse_args::<Ident>()
            .and_then(|setting| match setting.to_string().as_str() {
                "on" => Ok(true),
                "off" => Ok(false),
                _ => Err(syn::Error::new(
                    setting.span(),
                    "expected `#[fusion(on)]` or `#[fusion(off)]`",
                )),
            });
        match parsed {
            Ok(on) => fusion = on,
            Err(e) => result = Err(e),
        }
        false
    });
    result.map(|()| fusion)
}

/// How an input port's batches are partitioned before its first stage.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant, reason = "one per input port, built once")]
pub enum InputSplit {
    /// `partitions = keep`: as they arrive.
    Kept,
    /// `partitions = n`: a one-partition batch split into `n` (a literal or
    /// a job parameter).
    Count(Expr),
}

/// The optional `, partitions = keep | n` of an input declaration.
fn input_partitions(input: ParseStream<'_>) -> syn::Result<Option<InputSplit>> {
    if !input.peek(Token![,]) {
        return Ok(None);
    }
    input.parse::<Token![,]>()?;
    let key: Ident = input.parse()?;
    if key != "partitions" {
        return Err(syn::Error::new(
            key.span(),
            "after an input's type: `, partitions = n;` (split a batch given in one partition into n) or \
             `, partitions = keep;` (keep each batch's partitions as they arrive)",
        ));
    }
    input.parse::<Token![=]>()?;
    if input.peek(Ident) && input.fork().parse::<Ident>().is_ok_and(|i| i == "keep") && input.peek2(Token![;]) {
        input.parse::<Ident>()?;
        return Ok(Some(InputSplit::Kept));
    }
    Ok(Some(InputSplit::Count(input.parse()?)))
}

impl Parse for Item {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(Token![let]) {
            input.parse::<Token![let]>()?;
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let expr: Expr = input.parse()?;
            input.parse::<Token![;]>()?;
            return Ok(Item::Let { name, expr });
        }
        let fork = input.fork();
        if let Ok(keyword) = fork.parse::<Ident>() {
            match keyword.to_string().as_str() {
                "batch_interval" if fork.peek(Token![=]) => {
                    input.parse::<Ident>()?;
                    input.parse::<Token![=]>()?;
                    let value: Expr = input.parse()?;
                    input.parse::<Token![;]>()?;
                    return Ok(Item::BatchInterval { keyword, value });
                }
                "input" if fork.peek(Ident) => {
                    input.parse::<Ident>()?;
                    let name: Ident = input.parse()?;
                    input.parse::<Token![:]>()?;
                    let ty: Type = input.parse()?;
                    let partitions = input_partitions(input)?;
                    input.parse::<Token![;]>()?;
                    return Ok(Item::Input { name, ty, partitions });
                }
                "output" if fork.peek(Ident) => {
                    input.parse::<Ident>()?;
                    let name: Ident = input.parse()?;
                    input.parse::<Token![:]>()?;
                    let ty: Type = input.parse()?;
                    input.parse::<Token![=]>()?;
                    let expr: Expr = input.parse()?;
                    input.parse::<Token![;]>()?;
                    return Ok(Item::Output { name, ty, expr });
                }
                _ => {}
            }
        }
        let expr: Expr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected `batch_interval = ...;`, `input name: Type;`, `let name = ...;`, \
                 `output name: Type = ...;` or a stream statement such as `counts.print();`",
            )
        })?;
        input.parse::<Token![;]>()?;
        Ok(Item::Statement { expr })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_item_kind() {
        let file: JobFile = syn::parse_str(
            "/// doc
             #[fusion(off)]
             pub job Count {
                 batch_interval = 1s;
                 input lines: String;
                 let words = lines.flat_map(|l| vec![l]);
                 output counts: u64 = words.count();
                 words.print();
             }",
        )
        .unwrap();
        let job = &file.jobs[0];
        assert_eq!(job.name, "Count");
        assert!(!job.fusion);
        assert_eq!(
            job.attrs.len(),
            1,
            "the doc comment is kept, the fusion attribute removed"
        );
        let kinds: Vec<&str> = job
            .items
            .iter()
            .map(|item| match item {
                Item::BatchInterval { .. } => "interval",
                Item::Input { .. } => "input",
                Item::Let { .. } => "let",
                Item::Output { .. } => "output",
                Item::Statement { .. } => "statement",
            })
            .collect();
        assert_eq!(kinds, ["interval", "input", "let", "output", "statement"]);
    }

    #[test]
    fn fusion_defaults_to_on_and_rejects_other_settings() {
        let file: JobFile = syn::parse_str("job A { }").unwrap();
        assert!(file.jobs[0].fusion);
        let err = syn::parse_str::<JobFile>("#[fusion(maybe)] job A { }").err().unwrap();
        assert_eq!(err.to_string(), "expected `#[fusion(on)]` or `#[fusion(off)]`");
    }

    #[test]
    fn requires_the_job_keyword() {
        let err = syn::parse_str::<JobFile>("pub struct A { }").err().unwrap();
        assert_eq!(err.to_string(), "expected `job`, found `struct`");
    }
}
