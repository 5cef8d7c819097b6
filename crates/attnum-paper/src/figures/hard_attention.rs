//! Figure `hard_attention`: the error of multi-head hard attention against the stencil it
//! compiles, against the sharpness `βh²`, with keys at the stencil's nodes and on a wide grid;
//! dashed, the leading-order leak `e^{−βh²} Σ_j c_j Σ_{neighbours} (f_i − f_j)`.

use attnum_sweep::Cell;
use plotters::prelude::*;

use crate::error::{PaperError, Result};
use crate::plot;
use crate::results::Results;

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 440;
/// Panels: the key set and its title.
const PANELS: [(&str, &str); 2] = [
    ("stencil", "keys at the stencil's nodes"),
    ("wide", "keys on the grid −10..10"),
];

/// Draw the figure.
pub fn draw(results: &Results) -> Result<String> {
    crate::figure::register_fonts();
    let fail = |message: String| PaperError::Figure {
        name: "hard_attention".into(),
        message,
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| fail(e.to_string());
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let panels = root.split_evenly((1, PANELS.len()));
        for (j, (keys, title)) in PANELS.iter().enumerate() {
            let of_keys = |t: &attnum_sweep::Table, r: usize| matches!(t.cell(r, "keys"), Some(Cell::Text(k)) if k == keys);
            let key = "hard_attention/table";
            let measured = results.curves(
                "hard_attention",
                key,
                &["stencil"],
                ("beta_h2", "error"),
                of_keys,
            )?;
            let theory = results.curves(
                "hard_attention",
                key,
                &["stencil"],
                ("beta_h2", "leading_prediction"),
                |t, r| {
                    of_keys(t, r)
                        && t.cell(r, "leading_prediction")
                            .and_then(Cell::as_f64)
                            .is_some_and(|p| p > 1e-17)
                },
            )?;
            let mut chart =
                plot::semilog_chart(&panels[j], title, 0.0..40.0, (-17, 1)).map_err(|e| err(&e))?;
            let dashed: Vec<plot::TheoryCurve<'_>> = theory
                .iter()
                .enumerate()
                .map(|(k, (_, points))| ("", points.as_slice(), k))
                .collect();
            plot::draw_theory_curves(&mut chart, &dashed).map_err(|e| err(&e))?;
            let shown: Vec<(&str, &[(f64, f64)])> = measured
                .iter()
                .map(|(l, points)| (l.as_str(), points.as_slice()))
                .collect();
            plot::draw_measured_points(&mut chart, &shown, SeriesLabelPosition::UpperRight)
                .map_err(|e| err(&e))?;
            let ticks: Vec<f64> = (0..=4).map(|k| 10.0 * k as f64).collect();
            plot::draw_semilog_axes(&root, &chart, &ticks, 0, (-16, 0, 2)).map_err(|e| err(&e))?;
            plot::draw_axis_titles(
                &root,
                &chart,
                Some("βh²"),
                (j == 0).then_some("|attention − stencil|"),
            )
            .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
