//! Figure `expressivity_logits`: the difference between a stencil applied by unmasked softmax
//! heads (one per sign class, bounded value scales) with relative-position biases bounded by `B`
//! and the classical stencil, against `B`.
//! Left, every stencil of the sweep on the middle grid of its configuration; right, the last
//! stencil on every grid. Dashed, the proved bound `h^{−m} Σ_h |c_h| λ_h (max f − min f)`.

use attnum_results::{Cell, Table};
use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot;

pub(super) const SIZE: (u32, u32) = (1000, 440);

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let sweep = "expressivity_logits";
    let config = format!("experiment.{sweep}");
    let grids = sources
        .config(sweep, &format!("{config}.points"))?
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    if grids == 0 {
        return Err(sources
            .error("`expressivity_logits` lists no grids".into())
            .into());
    }
    let middle = sources.config_f64(sweep, &format!("{config}.points.{}", grids / 2))?;
    let largest = sources.config_f64(sweep, &format!("{config}.bounds.to"))?;
    let key = "expressivity_logits/table";
    let table = sources.table(key)?;
    let last = table
        .height()
        .checked_sub(1)
        .and_then(|r| match table.cell(r, "stencil") {
            Some(Cell::Text(s)) => Some(s.clone()),
            _ => None,
        })
        .ok_or_else(|| sources.error("`expressivity_logits/table` is empty".into()))?;
    let number = |t: &Table, r: usize, column: &str| t.cell(r, column).and_then(Cell::as_f64);
    let on_middle = |t: &Table, r: usize| number(t, r, "points") == Some(middle);
    let of_last = |t: &Table, r: usize| matches!(t.cell(r, "stencil"), Some(Cell::Text(s)) if *s == last);
    let above_rounding = |t: &Table, r: usize| number(t, r, "difference").is_some_and(|d| d > 1e-12);
    let panels = root.split_evenly((1, 2));
    let titles = [
        format!("every stencil, N = {middle}"),
        format!("{last}, every grid"),
    ];
    for (j, title) in titles.iter().enumerate() {
        let keep = |t: &Table, r: usize| {
            above_rounding(t, r) && if j == 0 { on_middle(t, r) } else { of_last(t, r) }
        };
        let label: &[&str] = if j == 0 { &["stencil"] } else { &["points"] };
        let measured = sources.curves(key, label, ("bound", "difference"), keep)?;
        let bounds = sources.curves(key, label, ("bound", "leak_bound"), keep)?;
        let mut chart = plot::semilog_chart(&panels[j], title, 0.0..largest, (-13, 3))?;
        let measured: Vec<_> = measured
            .into_iter()
            .map(|(l, points)| (if j == 0 { l } else { format!("N = {l}") }, points))
            .collect();
        plot::draw_measured_over_predictions(
            &mut chart,
            &measured,
            &bounds,
            SeriesLabelPosition::UpperRight,
        )?;
        let ticks: Vec<f64> = (0..=5).map(|k| largest * k as f64 / 5.0).collect();
        plot::draw_semilog_axes(root, &chart, &ticks, 0, (-12, 2, 2))?;
        plot::draw_axis_titles(
            root,
            &chart,
            Some("B"),
            (j == 0).then_some("|attention − stencil|"),
        )?;
    }
    Ok(())
}
