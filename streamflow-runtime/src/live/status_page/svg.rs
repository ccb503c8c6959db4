//! The plots, drawn on the server as SVG (no JavaScript needed to see them):
//! a timeline of a metric per batch and a histogram of its values, each
//! with the batch interval drawn as a line where it applies.

use super::escape::html;
use std::fmt::Write;

const WIDTH: f64 = 560.0;
const HIST_WIDTH: f64 = 300.0;
const HEIGHT: f64 = 170.0;
const LEFT: f64 = 58.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;
/// Above this many points a timeline draws only its line.
const MAX_DOTS: usize = 300;
/// Bars of a histogram.
pub(super) const BINS: usize = 10;
/// Colors of the series, the first for the total.
const COLORS: [&str; 6] = ["#1f6feb", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285"];

/// One line of a timeline: `(batch time in seconds, value)` points.
pub(super) struct Series<'a> {
    pub(super) name: &'a str,
    pub(super) points: Vec<(f64, f64)>,
}

/// A line across a plot at a value (the batch interval).
#[derive(Clone, Copy)]
pub(super) struct Threshold<'a> {
    pub(super) value: f64,
    pub(super) label: &'a str,
}

/// A number for an axis label: no more digits than it needs.
pub(super) fn num(v: f64) -> String {
    if v >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else if v >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// A round upper bound for an axis showing values up to `max`.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * magnitude >= max {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

fn open(out: &mut String, kind: &str, metric: &str, width: f64, title: &str) {
    let _ = write!(
        out,
        r#"<svg class="{kind}" data-metric="{metric}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" viewBox="0 0 {width} {HEIGHT}" role="img"><title>{}</title>"#,
        html(title)
    );
}

fn empty(out: &mut String, width: f64) {
    let _ = write!(
        out,
        r##"<text class="empty" x="{}" y="{}" text-anchor="middle" fill="#888">no completed batch yet</text></svg>"##,
        width / 2.0,
        HEIGHT / 2.0
    );
}

/// Axes with the y range labelled.
fn axes(out: &mut String, width: f64, y_max: f64, unit: &str) {
    let bottom = HEIGHT - BOTTOM;
    let _ = write!(
        out,
        r##"<g class="axes" stroke="#999" stroke-width="1"><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/><line x1="{LEFT}" y1="{bottom}" x2="{}" y2="{bottom}"/></g>"##,
        width - RIGHT
    );
    let mid = (TOP + bottom) / 2.0;
    let _ = write!(
        out,
        r##"<g class="ylabels" font-size="10" fill="#555" text-anchor="end"><text x="{}" y="{}">{}</text><text x="{}" y="{}">{}</text><text x="{}" y="{}">0</text><text x="{}" y="{}">{}</text></g>"##,
        LEFT - 4.0,
        TOP + 8.0,
        num(y_max),
        LEFT - 4.0,
        mid + 3.0,
        num(y_max / 2.0),
        LEFT - 4.0,
        bottom,
        LEFT - 4.0,
        TOP + 20.0,
        html(unit),
    );
}

fn threshold_line(out: &mut String, width: f64, y: f64, label: &str) {
    let _ = write!(
        out,
        r##"<g class="interval"><line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#c92a2a" stroke-dasharray="5,3"/><text x="{}" y="{:.1}" font-size="10" fill="#c92a2a" text-anchor="end">{}</text></g>"##,
        width - RIGHT,
        width - RIGHT - 2.0,
        y - 3.0,
        html(label)
    );
}

/// A timeline of one metric: one polyline per series, a dot per batch.
pub(super) fn timeline(
    metric: &str,
    title: &str,
    unit: &str,
    series: &[Series],
    threshold: Option<Threshold>,
) -> String {
    let mut out = String::new();
    open(&mut out, "timeline", metric, WIDTH, title);
    let all = || series.iter().flat_map(|s| s.points.iter());
    if all().next().is_none() {
        empty(&mut out, WIDTH);
        return out;
    }
    let (x_min, x_max) = all().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    let y_top = all().map(|p| p.1).fold(threshold.map_or(0.0, |t| t.value), f64::max);
    let y_max = nice_max(y_top * 1.05);
    axes(&mut out, WIDTH, y_max, unit);
    let bottom = HEIGHT - BOTTOM;
    let span = (x_max - x_min).max(1e-9);
    let x = |t: f64| {
        if x_max > x_min {
            LEFT + (t - x_min) / span * (WIDTH - LEFT - RIGHT)
        } else {
            (LEFT + WIDTH - RIGHT) / 2.0
        }
    };
    let y = |v: f64| bottom - v / y_max * (bottom - TOP);
    let _ = write!(
        out,
        r##"<g class="xlabels" font-size="10" fill="#555"><text x="{LEFT}" y="{}">{} s</text><text x="{}" y="{}" text-anchor="end">{} s</text></g>"##,
        HEIGHT - 12.0,
        num(x_min),
        WIDTH - RIGHT,
        HEIGHT - 12.0,
        num(x_max)
    );
    if let Some(t) = threshold {
        threshold_line(&mut out, WIDTH, y(t.value), t.label);
    }
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let _ = write!(
            out,
            r#"<g class="series" data-series="{}" fill="{color}">"#,
            html(s.name)
        );
        let points: Vec<String> = s
            .points
            .iter()
            .map(|&(t, v)| format!("{:.1},{:.1}", x(t), y(v)))
            .collect();
        let _ = write!(
            out,
            r#"<polyline class="line" fill="none" stroke="{color}" stroke-width="1.5" points="{}"/>"#,
            points.join(" ")
        );
        if s.points.len() <= MAX_DOTS {
            for &(t, v) in &s.points {
                let _ = write!(
                    out,
                    r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="2.5"><title>{}: batch {} s, {} {}</title></circle>"#,
                    x(t),
                    y(v),
                    html(s.name),
                    num(t),
                    num(v),
                    html(unit)
                );
            }
        }
        out.push_str("</g>");
    }
    if series.len() > 1 {
        out.push_str(r##"<g class="legend" font-size="10">"##);
        for (i, s) in series.iter().enumerate() {
            let _ = write!(
                out,
                r#"<text x="{}" y="{}" fill="{}">{}</text>"#,
                LEFT + 8.0,
                TOP + 10.0 + 12.0 * i as f64,
                COLORS[i % COLORS.len()],
                html(s.name)
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

/// The counts of `values` in [`BINS`] equal bins from 0 to `top`.
pub(super) fn bins(values: &[f64], top: f64) -> [usize; BINS] {
    let mut counts = [0; BINS];
    for &v in values {
        let i = ((v / top) * BINS as f64).floor().max(0.0) as usize;
        counts[i.min(BINS - 1)] += 1;
    }
    counts
}

/// A histogram of one metric's values, with the threshold as a vertical line.
pub(super) fn histogram(metric: &str, title: &str, unit: &str, values: &[f64], threshold: Option<Threshold>) -> String {
    let mut out = String::new();
    open(&mut out, "histogram", metric, HIST_WIDTH, title);
    if values.is_empty() {
        empty(&mut out, HIST_WIDTH);
        return out;
    }
    let v_max = values
        .iter()
        .copied()
        .fold(threshold.map_or(0.0, |t| t.value), f64::max);
    let top = nice_max(v_max * 1.0001);
    let counts = bins(values, top);
    let most = counts.iter().copied().max().unwrap_or(1).max(1);
    axes(&mut out, HIST_WIDTH, most as f64, "batches");
    let bottom = HEIGHT - BOTTOM;
    let bar = (HIST_WIDTH - LEFT - RIGHT) / BINS as f64;
    out.push_str(r##"<g class="bars" fill="#1f6feb">"##);
    for (i, &n) in counts.iter().enumerate() {
        let h = n as f64 / most as f64 * (bottom - TOP);
        let lo = top / BINS as f64 * i as f64;
        let hi = lo + top / BINS as f64;
        let _ = write!(
            out,
            r#"<rect class="bar" data-count="{n}" x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}"><title>{} to {} {}: {n} batches</title></rect>"#,
            LEFT + bar * i as f64 + 1.0,
            bottom - h,
            bar - 2.0,
            num(lo),
            num(hi),
            html(unit)
        );
    }
    out.push_str("</g>");
    let _ = write!(
        out,
        r##"<g class="xlabels" font-size="10" fill="#555"><text x="{LEFT}" y="{}">0</text><text x="{}" y="{}" text-anchor="end">{} {}</text></g>"##,
        HEIGHT - 12.0,
        HIST_WIDTH - RIGHT,
        HEIGHT - 12.0,
        num(top),
        html(unit)
    );
    if let Some(t) = threshold {
        let x = LEFT + t.value / top * (HIST_WIDTH - LEFT - RIGHT);
        let _ = write!(
            out,
            r##"<g class="interval"><line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{bottom}" stroke="#c92a2a" stroke-dasharray="5,3"/><text x="{:.1}" y="{}" font-size="10" fill="#c92a2a" text-anchor="end">{}</text></g>"##,
            x - 3.0,
            TOP + 10.0,
            html(t.label)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    #[test]
    fn a_timeline_has_a_dot_per_batch_and_the_interval_line() {
        let series = [Series {
            name: "total",
            points: vec![(1.0, 10.0), (2.0, 30.0), (3.0, 20.0)],
        }];
        let svg = timeline(
            "processing-time",
            "Processing time",
            "ms",
            &series,
            Some(Threshold {
                value: 50.0,
                label: "batch interval",
            }),
        );
        assert!(svg.starts_with(r#"<svg class="timeline" data-metric="processing-time""#));
        assert_eq!(count(&svg, r#"class="point""#), 3);
        // The y axis goes to 100 (the interval, 50, is the highest value, with
        // headroom): the plot is 128 px high above y = 140.
        assert!(svg.contains(r#"points="58.0,127.2 303.0,101.6 548.0,114.4""#), "{svg}");
        assert!(
            svg.contains(r##"<line x1="58" y1="76.0" x2="548" y2="76.0" stroke="#c92a2a""##),
            "{svg}"
        );
        assert!(svg.contains(">batch interval</text>"));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn a_histogram_counts_values_per_bin() {
        assert_eq!(
            bins(&[0.0, 9.9, 10.0, 99.0, 100.0], 100.0),
            [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]
        );
        let svg = histogram("total-delay", "Total delay", "ms", &[5.0, 15.0, 16.0, 95.0], None);
        let bars: Vec<&str> = svg.split(r#"data-count=""#).skip(1).map(|s| &s[..1]).collect();
        assert_eq!(bars, ["1", "2", "0", "0", "0", "0", "0", "0", "0", "1"]);
    }

    #[test]
    fn names_in_plots_are_escaped() {
        let series = [
            Series {
                name: "total",
                points: vec![(1.0, 1.0)],
            },
            Series {
                name: "<script>x</script>",
                points: vec![(1.0, 1.0)],
            },
        ];
        let svg = timeline("input-rate", "Input rate", "records/s", &series, None);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;x&lt;/script&gt;"));
    }

    #[test]
    fn no_batch_draws_a_note() {
        let svg = timeline("input-rate", "Input rate", "records/s", &[], None);
        assert!(svg.contains("no completed batch yet"));
        assert!(histogram("input-rate", "t", "u", &[], None).contains("no completed batch yet"));
    }
}
