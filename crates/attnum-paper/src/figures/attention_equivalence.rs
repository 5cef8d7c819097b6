//! Figure `attention_equivalence`: the residual of the weights read back from attention against
//! Fornberg's weights, against the number of nodes of central stencils, for the two linear
//! constructions.

use attnum_results::Cell;
use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot;

pub(super) const SIZE: (u32, u32) = (620, 480);

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let curves = sources.curves("attention_equivalence/table",
        &["construction", "derivative"],
        ("nodes", "residual"),
        // The hard and softmax heads hold the weights themselves: their residuals are at
        // rounding level or exactly zero and are quoted in the text, not drawn.
        |t, r| {
            matches!(t.cell(r, "family"), Some(Cell::Text(f)) if f == "central")
                && matches!(t.cell(r, "construction"), Some(Cell::Text(c)) if c != "hard_heads" && c != "softmax_heads")
        },
    )?;
    let label = |key: &str| {
        let (construction, d) = key.split_once(", ").unwrap_or((key, "?"));
        format!("{}, d = {d}", construction.replace('_', " "))
    };
    let labels: Vec<String> = curves.iter().map(|(k, _)| label(k)).collect();
    {
        let mut chart =
            plot::semilog_chart(root, "central stencils in attention", 2.0..32.0, (-17, 1))?;
        let shown: Vec<(&str, &[(f64, f64)])> = labels
            .iter()
            .zip(&curves)
            .filter(|(_, (_, points))| !points.is_empty())
            .map(|(l, (_, points))| (l.as_str(), points.as_slice()))
            .collect();
        plot::draw_labelled_curves(&mut chart, &shown, SeriesLabelPosition::UpperLeft)?;
        let ticks: Vec<f64> = (1..=6).map(|k| 5.0 * k as f64).collect();
        plot::draw_semilog_axes(root, &chart, &ticks, 0, (-16, 0, 2))?;
        plot::draw_axis_titles(
            root,
            &chart,
            Some("nodes"),
            Some("relative weight residual"),
        )?;
    }
    Ok(())
}
