//! Figure `rk_attention`: global error after one period of the Kepler problem against the step,
//! for one method of each order executed as causal attention (solid) and classically (dashed).

use attnum_sweep::{Cell, Table};
use plotters::prelude::*;

use crate::error::{PaperError, Result};
use crate::plot;
use crate::results::Results;

const WIDTH: u32 = 620;
const HEIGHT: u32 = 480;
/// One method of each order.
const METHODS: [&str; 5] = ["euler", "midpoint", "kutta3", "rk4", "dormand-prince5"];

/// Draw the figure.
pub fn draw(results: &Results) -> Result<String> {
    crate::figure::register_fonts();
    let fail = |message: String| PaperError::Figure {
        name: "rk_attention".into(),
        message,
    };
    let shown_method = |t: &Table, r: usize| matches!(t.cell(r, "method"), Some(Cell::Text(m)) if METHODS.contains(&m.as_str()));
    let key = "rk_attention/table";
    let attention = results.curves(
        "rk_attention",
        key,
        &["method"],
        ("h", "error"),
        shown_method,
    )?;
    let classical = results.curves(
        "rk_attention",
        key,
        &["method"],
        ("h", "classical_error"),
        shown_method,
    )?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| fail(e.to_string());
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart =
            plot::log_log_chart(&root, "Runge–Kutta as causal attention", (-3, 0), (-14, 2))
                .map_err(|e| err(&e))?;
        let dashed: Vec<plot::TheoryCurve<'_>> = classical
            .iter()
            .enumerate()
            .map(|(k, (_, points))| ("", points.as_slice(), k))
            .collect();
        plot::draw_theory_curves(&mut chart, &dashed).map_err(|e| err(&e))?;
        let shown: Vec<(&str, &[(f64, f64)])> = attention
            .iter()
            .map(|(m, points)| (m.as_str(), points.as_slice()))
            .collect();
        plot::draw_measured_points(&mut chart, &shown, SeriesLabelPosition::LowerRight)
            .map_err(|e| err(&e))?;
        plot::draw_decade_axes(&root, &chart, (-3, 0, 1), (-14, 2, 2)).map_err(|e| err(&e))?;
        plot::draw_axis_titles(&root, &chart, Some("h"), Some("error after one period"))
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
