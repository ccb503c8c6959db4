//! Duration literals: `500ms`, `1s`, `2min`, `1h`, `1.5s`.
//!
//! Rust's lexer accepts any suffix on a numeric literal, so `30s` arrives as one
//! literal token with the suffix `s`; we read the number and the unit from it.

use syn::{Expr, ExprLit, Lit};

/// The units a duration literal may use, with their length in milliseconds.
pub const UNITS: &[(&str, u64)] = &[("ms", 1), ("s", 1_000), ("min", 60_000), ("h", 3_600_000)];

/// Reads a duration literal as milliseconds, or says what is wrong with it.
pub fn parse_duration(expr: &Expr) -> syn::Result<u64> {
    let Expr::Lit(ExprLit { lit, .. }) = crate::syntax::strip(expr) else {
        return Err(syn::Error::new_spanned(
            expr,
            "expected a duration literal such as `500ms`, `10s`, `2min` or `1h`",
        ));
    };
    let (digits, suffix, fractional) = match lit {
        Lit::Int(int) => (int.base10_digits().to_owned(), int.suffix().to_owned(), false),
        Lit::Float(float) => (float.base10_digits().to_owned(), float.suffix().to_owned(), true),
        _ => {
            return Err(syn::Error::new_spanned(
                lit,
                "expected a duration literal such as `500ms`, `10s`, `2min` or `1h`",
            ));
        }
    };
    let units = UNITS
        .iter()
        .map(|(unit, _)| format!("`{unit}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if suffix.is_empty() {
        // `1500` is far likelier 1500 ms than 25 minutes.
        let likely = if digits.parse::<f64>().is_ok_and(|n| n >= 100.0) {
            "ms"
        } else {
            "s"
        };
        return Err(syn::Error::new_spanned(
            lit,
            format!("this duration has no unit: write it with one of {units}, for example `{digits}{likely}`"),
        ));
    }
    let Some(&(_, unit_ms)) = UNITS.iter().find(|(unit, _)| *unit == suffix) else {
        return Err(syn::Error::new_spanned(
            lit,
            format!("unknown duration unit `{suffix}`: use one of {units}"),
        ));
    };
    let millis = if fractional {
        let value: f64 = digits
            .parse()
            .map_err(|_| syn::Error::new_spanned(lit, "this duration is not a number"))?;
        let millis = value * unit_ms as f64;
        if millis.fract() != 0.0 {
            return Err(syn::Error::new_spanned(
                lit,
                "durations are counted in whole milliseconds; this one is not",
            ));
        }
        millis as u64
    } else {
        let value: u64 = digits
            .parse()
            .map_err(|_| syn::Error::new_spanned(lit, "this duration does not fit in 64 bits"))?;
        value
            .checked_mul(unit_ms)
            .ok_or_else(|| syn::Error::new_spanned(lit, "this duration does not fit in 64 bits of milliseconds"))?
    };
    Ok(millis)
}

/// A duration in milliseconds, written back the way a person would write it.
pub fn format_ms(ms: u64) -> String {
    match ms {
        0 => "0ms".to_owned(),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}min", ms / 60_000),
        ms if ms % 1_000 == 0 => format!("{}s", ms / 1_000),
        ms => format!("{ms}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> syn::Result<u64> {
        parse_duration(&syn::parse_str(text).unwrap())
    }

    #[test]
    fn reads_every_unit() {
        assert_eq!(ms("500ms").unwrap(), 500);
        assert_eq!(ms("1s").unwrap(), 1_000);
        assert_eq!(ms("2min").unwrap(), 120_000);
        assert_eq!(ms("1h").unwrap(), 3_600_000);
        assert_eq!(ms("1.5s").unwrap(), 1_500);
    }

    #[test]
    fn rejects_unknown_or_missing_units() {
        assert_eq!(
            ms("5sec").unwrap_err().to_string(),
            "unknown duration unit `sec`: use one of `ms`, `s`, `min`, `h`"
        );
        assert_eq!(
            ms("5").unwrap_err().to_string(),
            "this duration has no unit: write it with one of `ms`, `s`, `min`, `h`, for example `5s`"
        );
        assert_eq!(
            ms("1500").unwrap_err().to_string(),
            "this duration has no unit: write it with one of `ms`, `s`, `min`, `h`, for example `1500ms`"
        );
        assert!(ms("0.5ms").is_err());
        assert!(ms("x").is_err());
    }

    #[test]
    fn formats_back() {
        assert_eq!(format_ms(30_000), "30s");
        assert_eq!(format_ms(1_500), "1500ms");
        assert_eq!(format_ms(120_000), "2min");
    }
}
