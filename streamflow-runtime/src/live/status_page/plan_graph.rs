//! The job's stage plan drawn as a graph: inputs, then the stages in
//! columns by depth, each box listing its fused operators with their source
//! lines, what ends the stage, and its mean time over recent batches. Edges
//! follow what each stage reads; a shuffle is drawn dashed.

use super::escape::html;
use super::svg::num;
use crate::{Plan, Stage, StageEnd};
use std::fmt::Write;

const BOX_WIDTH: f64 = 230.0;
const COLUMN: f64 = 280.0;
const LINE: f64 = 15.0;
const GAP: f64 = 18.0;
const MARGIN: f64 = 10.0;

/// Where a node is drawn.
#[derive(Clone, Copy)]
struct Place {
    x: f64,
    y: f64,
    h: f64,
}

/// The stages (ids) and inputs (names) a stage reads, from its `reads` text
/// ("input `lines`", "shuffle of stage 1", "shuffles of stages 1 and 2",
/// "`doubled` (output of stage 1)").
pub(super) fn reads(stage: &Stage) -> (Vec<usize>, Option<&'static str>) {
    let text = stage.reads;
    if let Some(rest) = text.strip_prefix("input `") {
        return (Vec::new(), rest.split('`').next());
    }
    let stages = match text.find("stage") {
        Some(at) => text[at..]
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .filter(|&n| n >= 1 && n < stage.id)
            .collect(),
        None => Vec::new(),
    };
    (stages, None)
}

fn box_height(stage: &Stage) -> f64 {
    LINE * (stage.operators.len() as f64 + 2.0) + 10.0
}

/// The SVG of the plan; `times[i]` is stage `i + 1`'s recent mean time in ms.
pub(super) fn plan_graph(plan: &Plan, times: &[Option<f64>]) -> String {
    // Column of each stage: one past the deepest thing it reads (inputs are column 0).
    let mut column = vec![1usize; plan.stages.len()];
    for (i, stage) in plan.stages.iter().enumerate() {
        let (from, _) = reads(stage);
        column[i] = from.iter().map(|&s| column[s - 1] + 1).max().unwrap_or(1);
    }
    let columns = column.iter().copied().max().unwrap_or(0) + 1;
    let mut next_y = vec![MARGIN; columns];
    let mut inputs: Vec<(&str, Place)> = Vec::new();
    for port in plan.inputs {
        let place = Place {
            x: MARGIN,
            y: next_y[0],
            h: 2.0 * LINE + 6.0,
        };
        next_y[0] += place.h + GAP;
        inputs.push((port.name, place));
    }
    let mut places = Vec::with_capacity(plan.stages.len());
    for (i, stage) in plan.stages.iter().enumerate() {
        let c = column[i];
        let place = Place {
            x: MARGIN + COLUMN * c as f64,
            y: next_y[c],
            h: box_height(stage),
        };
        next_y[c] += place.h + GAP;
        places.push(place);
    }
    let width = MARGIN * 2.0 + COLUMN * (columns - 1) as f64 + BOX_WIDTH;
    let height = next_y.iter().copied().fold(0.0, f64::max) + MARGIN;
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg class="plan" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img"><title>stage plan of {}</title><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>"##,
        html(plan.job)
    );
    // Edges first, under the boxes.
    out.push_str(r##"<g class="edges" fill="none" stroke="#555" stroke-width="1.3">"##);
    for (i, stage) in plan.stages.iter().enumerate() {
        let (from, input) = reads(stage);
        let to = places[i];
        let mut sources: Vec<(Place, bool)> = from
            .iter()
            .map(|&s| (places[s - 1], matches!(plan.stages[s - 1].ends, StageEnd::Shuffle(_))))
            .collect();
        if let Some(name) = input
            && let Some((_, place)) = inputs.iter().find(|(n, _)| *n == name)
        {
            sources.push((*place, false));
        }
        for (src, shuffle) in sources {
            let (x1, y1) = (src.x + BOX_WIDTH, src.y + src.h / 2.0);
            let (x2, y2) = (to.x, to.y + to.h / 2.0);
            let mid = (x1 + x2) / 2.0;
            let dash = if shuffle { r#" stroke-dasharray="6,3""# } else { "" };
            let _ = write!(
                out,
                r#"<path class="edge" data-to="{}" d="M{x1:.1},{y1:.1} C{mid:.1},{y1:.1} {mid:.1},{y2:.1} {x2:.1},{y2:.1}"{dash} marker-end="url(#arrow)"/>"#,
                stage.id
            );
        }
    }
    out.push_str("</g>");
    for (name, p) in &inputs {
        let _ = write!(
            out,
            r##"<g class="input" data-input="{0}"><rect x="{1}" y="{2}" width="{BOX_WIDTH}" height="{3}" rx="14" fill="#e7f5ff" stroke="#1c7ed6"/><text x="{4}" y="{5}" font-size="12">input <tspan font-weight="bold">{0}</tspan></text></g>"##,
            html(name),
            p.x,
            p.y,
            p.h,
            p.x + 10.0,
            p.y + LINE + 4.0
        );
    }
    for (i, stage) in plan.stages.iter().enumerate() {
        let p = places[i];
        let time = times.get(i).copied().flatten();
        let time_text = time.map_or_else(|| "no time yet".to_owned(), |t| format!("{} ms", num(t)));
        let _ = write!(
            out,
            r##"<g class="stage" data-stage="{}"><rect x="{}" y="{}" width="{BOX_WIDTH}" height="{}" rx="4" fill="#f8f9fa" stroke="#495057"/><text x="{}" y="{}" font-size="12" font-weight="bold">stage {}</text><text class="stage-time" x="{}" y="{}" font-size="11" text-anchor="end" fill="#1f6feb">{}</text>"##,
            stage.id,
            p.x,
            p.y,
            p.h,
            p.x + 8.0,
            p.y + LINE,
            stage.id,
            p.x + BOX_WIDTH - 8.0,
            p.y + LINE,
            time_text
        );
        for (k, op) in stage.operators.iter().enumerate() {
            let role = if op.role.is_empty() {
                String::new()
            } else {
                format!(" ({})", op.role)
            };
            let _ = write!(
                out,
                r#"<text class="operator" x="{}" y="{}" font-size="11" font-family="monospace">line {:<4} {}{}</text>"#,
                p.x + 8.0,
                p.y + LINE * (k as f64 + 2.0),
                op.span.line,
                html(op.name),
                html(&role)
            );
        }
        let _ = write!(
            out,
            r##"<text class="ends" x="{}" y="{}" font-size="10" fill="#666">ends: {}</text></g>"##,
            p.x + 8.0,
            p.y + LINE * (stage.operators.len() as f64 + 2.0),
            html(&stage.ends.to_string())
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::status_page::fixture::PLAN;

    #[test]
    fn reads_name_stages_and_inputs() {
        let stage = |id, reads| Stage {
            id,
            reads,
            operators: &[],
            ends: StageEnd::Unfused,
        };
        assert_eq!(reads(&stage(1, "input `lines`")), (vec![], Some("lines")));
        assert_eq!(reads(&stage(3, "shuffles of stages 1 and 2")), (vec![1, 2], None));
        assert_eq!(reads(&stage(4, "`doubled` (output of stage 1)")), (vec![1], None));
        assert_eq!(reads(&stage(6, "stage 5")), (vec![5], None));
    }

    #[test]
    fn the_graph_has_a_box_per_stage_and_an_edge_per_read() {
        let svg = plan_graph(&PLAN, &[Some(12.5), None]);
        assert_eq!(svg.matches(r#"<g class="stage""#).count(), 2);
        assert_eq!(svg.matches(r#"<g class="input""#).count(), 1);
        assert_eq!(svg.matches(r#"class="edge""#).count(), 2);
        // The edge out of a shuffle is dashed, the one from the input is not.
        assert_eq!(svg.matches("stroke-dasharray").count(), 1);
        assert!(svg.contains(">12.5 ms</text>"));
        assert!(svg.contains(">no time yet</text>"));
        assert!(svg.contains("line 7    reduce_by_key (map-side combine)"));
        assert!(svg.contains("ends: shuffle (reduce_by_key)"));
        assert!(svg.contains("stage plan of Count&lt;script&gt;"));
    }
}
