//! Figure `quadrature_attention`: the scale of the negative head that Newton–Cotes rules need
//! as attention (`Σ_{w_i<0} |w_i|`) against the number of nodes; Gauss–Legendre and
//! Clenshaw–Curtis need no negative head at any size and have no curve.

use attnum_results::Cell;
use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot;

pub(super) const SIZE: (u32, u32) = (620, 480);

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let curves = sources.curves("quadrature_attention/table",
        &["family"],
        ("n", "negative_scale"),
        |t, r| matches!(t.cell(r, "family"), Some(Cell::Text(f)) if f.starts_with("newton_cotes")),
    )?;
    let labels: Vec<String> = curves.iter().map(|(f, _)| f.replace('_', " ")).collect();
    {
        let mut chart = plot::semilog_chart(
            root,
            "the negative head of Newton–Cotes rules",
            1.0..31.0,
            (-2, 7),
        )?;
        let shown: Vec<(&str, &[(f64, f64)])> = labels
            .iter()
            .zip(&curves)
            .map(|(l, (_, points))| (l.as_str(), points.as_slice()))
            .collect();
        plot::draw_labelled_curves(&mut chart, &shown, SeriesLabelPosition::UpperLeft)?;
        let ticks: Vec<f64> = (1..=6).map(|k| 5.0 * k as f64).collect();
        plot::draw_semilog_axes(root, &chart, &ticks, 0, (-2, 7, 1))?;
        plot::draw_axis_titles(root, &chart, Some("n"), Some("scale of the negative head"))?;
    }
    Ok(())
}
