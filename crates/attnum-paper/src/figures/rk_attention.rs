//! Figure `rk_attention`: global error after one period of the Kepler problem against the step,
//! for one method of each order executed as causal attention (solid) and classically (dashed).

use attnum_results::{Cell, Table};
use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot;

pub(super) const SIZE: (u32, u32) = (620, 480);
/// One method of each order.
const METHODS: [&str; 5] = ["euler", "midpoint", "kutta3", "rk4", "dormand-prince5"];

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let shown_method = |t: &Table, r: usize| matches!(t.cell(r, "method"), Some(Cell::Text(m)) if METHODS.contains(&m.as_str()));
    let key = "rk_attention/table";
    let attention = sources.curves(key,
        &["method"],
        ("h", "error"),
        shown_method,
    )?;
    let classical = sources.curves(key,
        &["method"],
        ("h", "classical_error"),
        shown_method,
    )?;
    {
        let mut chart =
            plot::log_log_chart(root, "Runge–Kutta as causal attention", (-3, 0), (-14, 2))?;
        plot::draw_measured_over_predictions(
            &mut chart,
            &attention,
            &classical,
            SeriesLabelPosition::LowerRight,
        )?;
        plot::draw_decade_axes(root, &chart, (-3, 0, 1), (-14, 2, 2))?;
        plot::draw_axis_titles(root, &chart, Some("h"), Some("error after one period"))?;
    }
    Ok(())
}
