//! Figure `fd_convergence`: error against step for the central, forward and backward stencils of
//! the first and second derivative of sin at x0, one curve per accuracy order, with dashed
//! reference lines of slope p drawn through each curve's fitted range.

use std::collections::BTreeMap;

use attnum_results::{Cell, Table};
use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot::{self, FONT_SIZE, PALETTE};

const FUNCTION: &str = "sin";
const FAMILIES: [&str; 3] = ["central", "forward", "backward"];
const DERIVATIVES: [i64; 2] = [1, 2];
pub(super) const SIZE: (u32, u32) = (1000, 760);

fn text(cell: Option<&Cell>) -> &str {
    match cell {
        Some(Cell::Text(s)) => s,
        _ => "",
    }
}

fn number(cell: Option<&Cell>) -> Option<f64> {
    cell.and_then(Cell::as_f64)
}

/// One curve: accuracy order → (h, error) points.
type Curves = BTreeMap<i64, Vec<(f64, f64)>>;

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let points = sources.table("fd_convergence/table")?;
    let orders = sources.table("fd_convergence/orders")?;
    let mut curves: BTreeMap<(i64, String), Curves> = BTreeMap::new();
    for r in 0..points.height() {
        if text(points.cell(r, "function")) != FUNCTION {
            continue;
        }
        let (Some(d), Some(p), Some(h), Some(e)) = (
            number(points.cell(r, "derivative")),
            number(points.cell(r, "accuracy")),
            number(points.cell(r, "h")),
            number(points.cell(r, "abs_error")),
        ) else {
            continue;
        };
        curves
            .entry((d as i64, text(points.cell(r, "stencil")).to_owned()))
            .or_default()
            .entry(p as i64)
            .or_default()
            .push((h, e));
    }
    {
        let (body, legend_area) = root.split_vertically(SIZE.1 - 50);
        let panels = body.split_evenly((DERIVATIVES.len(), FAMILIES.len()));
        let all_orders: Vec<i64> = {
            let set: std::collections::BTreeSet<i64> =
                curves.values().flat_map(|c| c.keys().copied()).collect();
            set.into_iter().collect()
        };
        let colour_of =
            |p: i64| PALETTE[all_orders.iter().position(|&q| q == p).unwrap_or(0) % PALETTE.len()];
        for (i, &d) in DERIVATIVES.iter().enumerate() {
            for (j, family) in FAMILIES.iter().enumerate() {
                let area = &panels[i * FAMILIES.len() + j];
                let caption = format!("{family}, derivative {d}");
                let mut chart = plot::log_log_chart(area, &caption, (-10, 0), (-16, 4))?;
                let Some(by_order) = curves.get(&(d, (*family).to_owned())) else {
                    return Err(sources
                        .error(format!(
                            "no {family} curves for derivative {d} of {FUNCTION}"
                        ))
                        .into());
                };
                for (&p, pts) in by_order {
                    let colour = colour_of(p);
                    let visible: Vec<(f64, f64)> = pts
                        .iter()
                        .copied()
                        .filter(|&(_, e)| e > 0.0 && e.is_finite())
                        .collect();
                    chart
                        .draw_series(LineSeries::new(visible.clone(), colour.stroke_width(2)))?;
                    if let Some(line) = reference_line(orders, d, family, p, &visible) {
                        chart
                            .draw_series(DashedLineSeries::new(line, 6, 5, colour.stroke_width(1)))?;
                    }
                }
                plot::draw_decade_axes(root, &chart, (-10, 0, 5), (-16, 0, 4))?;
                let x_title = (i + 1 == DERIVATIVES.len()).then_some("h");
                let y_title = (j == 0).then_some("absolute error");
                plot::draw_axis_titles(root, &chart, x_title, y_title)?;
            }
        }
        draw_legend(&legend_area, &all_orders)?;
    }
    Ok(())
}

/// A line `C h^p` through the curve's point at the top of its fitted range, over that range
/// extended one decade each way, or `None` when the curve has no fitted order.
fn reference_line(
    orders: &Table,
    d: i64,
    family: &str,
    p: i64,
    curve: &[(f64, f64)],
) -> Option<Vec<(f64, f64)>> {
    let row = (0..orders.height()).find(|&r| {
        text(orders.cell(r, "function")) == FUNCTION
            && number(orders.cell(r, "derivative")) == Some(d as f64)
            && text(orders.cell(r, "stencil")) == family
            && number(orders.cell(r, "accuracy")) == Some(p as f64)
    })?;
    let h_max = number(orders.cell(row, "fit_h_max"))?;
    let h_min = number(orders.cell(row, "fit_h_min"))?;
    let &(_, e_top) = curve.iter().find(|&&(h, _)| h == h_max)?;
    let c = e_top / h_max.powi(p as i32);
    let (lo, hi) = (h_min / 10.0, (h_max * 10.0).min(1.0));
    Some(vec![
        (lo, c * lo.powi(p as i32)),
        (hi, c * hi.powi(p as i32)),
    ])
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    orders: &[i64],
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (width, height) = area.dim_in_pixel();
    let mid = height as i32 / 2;
    let entry = 122;
    let mut x = (width as i32 - entry * (orders.len() as i32 + 1)) / 2;
    for (k, p) in orders.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        area.draw(&PathElement::new(
            vec![(x, mid), (x + 36, mid)],
            colour.stroke_width(2),
        ))?;
        area.draw(&Text::new(
            format!("order {p}"),
            (x + 44, mid - FONT_SIZE as i32 / 2),
            plot::font(FONT_SIZE),
        ))?;
        x += entry;
    }
    for dash in (0..36).step_by(11) {
        area.draw(&PathElement::new(
            vec![(x + dash, mid), (x + dash + 6, mid)],
            BLACK.stroke_width(1),
        ))?;
    }
    area.draw(&Text::new(
        "slope p (dashed)".to_owned(),
        (x + 44, mid - FONT_SIZE as i32 / 2),
        plot::font(FONT_SIZE),
    ))?;
    Ok(())
}
