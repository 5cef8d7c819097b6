//! Figure `rk_convergence`: global error after one period of the Kepler problem against the step,
//! for the named Runge–Kutta methods, in three panels by formal order.

use std::collections::BTreeMap;

use attnum_results::Cell;
use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot;

pub(super) const SIZE: (u32, u32) = (1000, 400);
/// Panels: title, formal orders shown, and where the legend does not hide a curve.
const PANELS: [(&str, &[i64], SeriesLabelPosition); 3] = [
    ("orders 1 and 2", &[1, 2], SeriesLabelPosition::LowerRight),
    ("order 3", &[3], SeriesLabelPosition::UpperLeft),
    ("orders 4 and 5", &[4, 5], SeriesLabelPosition::UpperLeft),
];

/// One method's curve: name, formal order, `(h, error)` points.
struct Curve {
    method: String,
    order: i64,
    points: Vec<(f64, f64)>,
}

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let table = sources.table("rk_convergence/table")?;
    let mut curves: Vec<Curve> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for r in 0..table.height() {
        let (Some(Cell::Text(method)), Some(order), Some(h), Some(e)) = (
            table.cell(r, "method"),
            table.cell(r, "formal_order").and_then(Cell::as_f64),
            table.cell(r, "h").and_then(Cell::as_f64),
            table.cell(r, "error").and_then(Cell::as_f64),
        ) else {
            return Err(sources
                .error(format!("row {r} lacks method, formal_order, h or error"))
                .into());
        };
        let i = *index.entry(method.clone()).or_insert_with(|| {
            curves.push(Curve {
                method: method.clone(),
                order: order as i64,
                points: Vec::new(),
            });
            curves.len() - 1
        });
        if e > 0.0 && e.is_finite() {
            curves[i].points.push((h, e));
        }
    }
    {
        let panels = root.split_evenly((1, PANELS.len()));
        for (j, (title, orders, legend)) in PANELS.iter().enumerate() {
            let mut chart =
                plot::log_log_chart(&panels[j], title, (-5, 0), (-14, 2))?;
            let shown: Vec<(&str, &[(f64, f64)])> = curves
                .iter()
                .filter(|c| orders.contains(&c.order))
                .map(|c| (c.method.as_str(), c.points.as_slice()))
                .collect();
            plot::draw_labelled_curves(&mut chart, &shown, legend.clone())?;
            plot::draw_decade_axes(root, &chart, (-5, 0, 1), (-14, -2, 4))?;
            plot::draw_axis_titles(
                root,
                &chart,
                Some("h"),
                (j == 0).then_some("error after one period"),
            )?;
        }
    }
    Ok(())
}
