//! Figure `noisy_derivative`: the smallest RMS error over the step of each derivative method
//! against the standard deviation of the noise in the samples.

use std::collections::BTreeMap;

use attnum_sweep::Cell;
use plotters::prelude::*;

use crate::error::{PaperError, Result};
use crate::plot;
use crate::results::Results;

const WIDTH: u32 = 620;
const HEIGHT: u32 = 480;

/// Draw the figure.
pub fn draw(results: &Results) -> Result<String> {
    crate::figure::register_fonts();
    let fail = |message: String| PaperError::Figure {
        name: "noisy_derivative".into(),
        message,
    };
    let best = results.table_for_figure("noisy_derivative", "noisy_derivative/best")?;
    let mut order: Vec<String> = Vec::new();
    let mut curves: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for r in 0..best.height() {
        let (Some(Cell::Text(method)), Some(noise), Some(rms)) = (
            best.cell(r, "method"),
            best.cell(r, "noise").and_then(Cell::as_f64),
            best.cell(r, "best_rms_error").and_then(Cell::as_f64),
        ) else {
            return Err(fail(format!(
                "row {r} lacks method, noise or best_rms_error"
            )));
        };
        if !curves.contains_key(method) {
            order.push(method.clone());
        }
        curves.entry(method.clone()).or_default().push((noise, rms));
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| fail(e.to_string());
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = plot::log_log_chart(&root, "best RMS error over h", (-12, -2), (-12, 0))
            .map_err(|e| err(&e))?;
        let shown: Vec<(&str, &[(f64, f64)])> = order
            .iter()
            .map(|m| (m.as_str(), curves[m].as_slice()))
            .collect();
        plot::draw_labelled_curves(&mut chart, &shown, SeriesLabelPosition::UpperLeft)
            .map_err(|e| err(&e))?;
        plot::draw_decade_axes(&root, &chart, (-12, -2, 2), (-12, -2, 2)).map_err(|e| err(&e))?;
        plot::draw_axis_titles(
            &root,
            &chart,
            Some("noise standard deviation"),
            Some("RMS error of f'(1)"),
        )
        .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
