//! Figure `noisy_derivative`: the smallest RMS error over the step of each derivative method
//! against the standard deviation of the noise in the samples.

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
    let curves = results.curves(
        "noisy_derivative",
        "noisy_derivative/best",
        &["method"],
        ("noise", "best_rms_error"),
        |_, _| true,
    )?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| fail(e.to_string());
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = plot::log_log_chart(&root, "best RMS error over h", (-12, -2), (-12, 0))
            .map_err(|e| err(&e))?;
        let shown: Vec<(&str, &[(f64, f64)])> = curves
            .iter()
            .map(|(m, points)| (m.as_str(), points.as_slice()))
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
