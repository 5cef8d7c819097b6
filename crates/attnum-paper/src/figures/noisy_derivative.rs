//! Figure `noisy_derivative`: the smallest RMS error over the step of each derivative method
//! against the standard deviation of the noise in the samples.

use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot;

pub(super) const SIZE: (u32, u32) = (620, 480);

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let curves = sources.curves("noisy_derivative/best",
        &["method"],
        ("noise", "best_rms_error"),
        |_, _| true,
    )?;
    {
        let mut chart = plot::log_log_chart(root, "best RMS error over h", (-12, -2), (-12, 0))?;
        let shown: Vec<(&str, &[(f64, f64)])> = curves
            .iter()
            .map(|(m, points)| (m.as_str(), points.as_slice()))
            .collect();
        plot::draw_labelled_curves(&mut chart, &shown, SeriesLabelPosition::UpperLeft)?;
        plot::draw_decade_axes(root, &chart, (-12, -2, 2), (-12, -2, 2))?;
        plot::draw_axis_titles(
            root,
            &chart,
            Some("noise standard deviation"),
            Some("RMS error of f'(1)"),
        )?;
    }
    Ok(())
}
