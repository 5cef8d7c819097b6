//! Figure `expressivity_looped`: Gauss–Legendre collocation as a looped transformer — (a) the
//! observed order of the global error against the number of blocks `K` for each number of
//! stages `s` (markers), with the proved order `min(K + 1, 2s)` (dashed); (b) the error after one
//! period of the Kepler problem against the step for the largest `s`, one curve per `K`, with the
//! converged collocation method dashed.

use attnum_results::{Cell, Table};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot;

pub(super) const SIZE: (u32, u32) = (1000, 460);

const ORDERS: &str = "expressivity_looped/orders";
const TABLE: &str = "expressivity_looped/table";

fn is_method(t: &Table, r: usize, method: &str) -> bool {
    matches!(t.cell(r, "method"), Some(Cell::Text(m)) if m == method)
}

fn number(t: &Table, r: usize, column: &str) -> Option<f64> {
    t.cell(r, column).and_then(Cell::as_f64)
}

/// Panel (a): observed order against `K`, linear axes.
fn orders_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    observed: &[(String, Vec<(f64, f64)>)],
    predicted: &[(String, Vec<(f64, f64)>)],
    largest_k: f64,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let top = predicted
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(_, y)| y))
        .fold(2.0f64, f64::max)
        + 1.0;
    let mut chart = ChartBuilder::on(area)
        .caption("(a) observed order", plot::font(plot::FONT_SIZE * 1.05))
        .margin(8)
        .margin_top(14)
        .margin_right(22)
        .x_label_area_size(66)
        .y_label_area_size(70)
        .build_cartesian_2d(0.5..largest_k + 0.5, 0.0..top)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(largest_k as usize)
        .y_labels(top as usize + 1)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(plot::font(plot::FONT_SIZE))
        .x_desc("blocks K")
        .y_desc("order")
        .axis_desc_style(plot::font(plot::FONT_SIZE))
        .draw()?;
    for (k, ((label, points), (_, line))) in observed.iter().zip(predicted).enumerate() {
        let colour = plot::PALETTE[k % plot::PALETTE.len()];
        let style = colour.stroke_width(2);
        chart.draw_series(DashedLineSeries::new(line.iter().copied(), 9, 6, style))?;
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 5, style)))?
            .label(format!("s = {label}"))
            .legend(move |(x, y)| Circle::new((x + 12, y), 5, style));
    }
    plot::draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
}

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let picard = |t: &Table, r: usize| is_method(t, r, "picard");
    let observed = sources.signed_curves(ORDERS, &["stages"], ("sweeps", "observed_order"), picard)?;
    let predicted =
        sources.signed_curves(ORDERS, &["stages"], ("sweeps", "predicted_order"), picard)?;
    let largest_k = predicted
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(k, _)| k))
        .fold(1.0f64, f64::max);
    let largest_s = sources
        .config(
            "expressivity_looped",
            "experiment.expressivity_looped.stages",
        )?
        .as_array()
        .and_then(|a| a.iter().filter_map(serde_json::Value::as_f64).reduce(f64::max))
        .ok_or_else(|| sources.error("`stages` is not a list of numbers".into()))?;
    let of_s = |t: &Table, r: usize| number(t, r, "stages") == Some(largest_s);
    let computed = |t: &Table, r: usize| number(t, r, "error").is_some();
    let errors = sources.curves(TABLE, &["sweeps"], ("h", "error"), |t, r| {
        of_s(t, r) && picard(t, r) && computed(t, r)
    })?;
    let collocation = sources.curves(TABLE, &[], ("h", "error"), |t, r| {
        of_s(t, r) && is_method(t, r, "collocation") && computed(t, r)
    })?;
    let areas = root.split_evenly((1, 2));
    orders_panel(&areas[0], &observed, &predicted, largest_k)?;
    {
        let caption = format!("(b) error, s = {largest_s}");
        let mut chart = plot::log_log_chart(&areas[1], &caption, (-5, 0), (-14, 2))?;
        let black = plot::PALETTE.len() - 1;
        let dashed: Vec<plot::TheoryCurve<'_>> = collocation
            .iter()
            .map(|(_, points)| ("converged", points.as_slice(), black))
            .collect();
        plot::draw_theory_curves(&mut chart, &dashed)?;
        let labels: Vec<String> = errors.iter().map(|(k, _)| format!("K = {k}")).collect();
        let shown: Vec<(&str, &[(f64, f64)])> = labels
            .iter()
            .zip(&errors)
            .map(|(label, (_, points))| (label.as_str(), points.as_slice()))
            .collect();
        plot::draw_labelled_curves(&mut chart, &shown, SeriesLabelPosition::UpperLeft)?;
        // Axes are drawn in the whole canvas's coordinates, which the chart's are.
        plot::draw_decade_axes(root, &chart, (-5, 0, 1), (-14, 2, 2))?;
        plot::draw_axis_titles(root, &chart, Some("h"), Some("error after one period"))?;
    }
    Ok(())
}
