//! Figure `quadrature_attention`: the scale of the negative head that Newton–Cotes rules need
//! as attention (`Σ_{w_i<0} |w_i|`) against the number of nodes; Gauss–Legendre and
//! Clenshaw–Curtis need no negative head at any size and have no curve.

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
        name: "quadrature_attention".into(),
        message,
    };
    let curves = results.curves(
        "quadrature_attention",
        "quadrature_attention/table",
        &["family"],
        ("n", "negative_scale"),
        |t, r| matches!(t.cell(r, "family"), Some(Cell::Text(f)) if f.starts_with("newton_cotes")),
    )?;
    let labels: Vec<String> = curves.iter().map(|(f, _)| f.replace('_', " ")).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| fail(e.to_string());
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = plot::semilog_chart(
            &root,
            "the negative head of Newton–Cotes rules",
            1.0..31.0,
            (-2, 7),
        )
        .map_err(|e| err(&e))?;
        let shown: Vec<(&str, &[(f64, f64)])> = labels
            .iter()
            .zip(&curves)
            .map(|(l, (_, points))| (l.as_str(), points.as_slice()))
            .collect();
        plot::draw_labelled_curves(&mut chart, &shown, SeriesLabelPosition::UpperLeft)
            .map_err(|e| err(&e))?;
        let ticks: Vec<f64> = (1..=6).map(|k| 5.0 * k as f64).collect();
        plot::draw_semilog_axes(&root, &chart, &ticks, 0, (-2, 7, 1)).map_err(|e| err(&e))?;
        plot::draw_axis_titles(&root, &chart, Some("n"), Some("scale of the negative head"))
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
