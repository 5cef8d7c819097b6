//! Figure `kernel_attention`: the derivative of kernel attention against its theory, in four
//! panels — smoothing bias against `σ`, aliasing against `σ/h`, the end of the grid against the
//! distance `z = (end − q)/σ`, and refinement at fixed `σ`; dashed, the predictions.

use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot;

pub(super) const SIZE: (u32, u32) = (1000, 860);

/// The single curve of `column` against `x` in table `kernel_attention/STEM`.
fn curve(
    sources: &Sources<'_>,
    stem: &str,
    x: &str,
    column: &str,
) -> crate::error::Result<Vec<(f64, f64)>> {
    let key = format!("kernel_attention/{stem}");
    let mut curves = sources.curves(&key, &[], (x, column), |_, _| true)?;
    Ok(curves.pop().map(|(_, points)| points).unwrap_or_default())
}

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let bias = curve(sources, "bias", "sigma", "error")?;
    let bias_model = curve(sources, "bias", "sigma", "bias_model")?;
    let aliasing = curve(sources, "aliasing", "sigma_over_h", "deviation")?;
    let poisson = curve(sources, "aliasing", "sigma_over_h", "poisson_prediction")?;
    let boundary = curve(sources, "boundary", "z", "error")?;
    let truncated = curve(sources, "boundary", "z", "continuum_prediction")?;
    let refinement = curve(sources, "refinement", "h", "error")?;
    let refinement_bias = curve(sources, "refinement", "h", "bias_model")?;
    let config = |path: &str| {
        sources.config_f64("kernel_attention", &format!("experiment.kernel_attention.{path}"))
    };
    let nodes_per_sigma = config("bias.nodes_per_sigma")?;
    let (alias_sigma, alias_from, alias_to) = (
        config("aliasing.sigma")?,
        config("aliasing.sigma_over_h.from")?,
        config("aliasing.sigma_over_h.to")?,
    );
    let (distance_from, distance_to) = (
        config("boundary.distances.from")?,
        config("boundary.distances.to")?,
    );
    let refinement_sigma = config("refinement.sigma")?;
    {
        let panels = root.split_evenly((2, 2));
        let legend = SeriesLabelPosition::LowerRight;

        let mut chart = plot::log_log_chart(
            &panels[0],
            &format!("(a) bias, h = σ/{nodes_per_sigma}"),
            (-3, 0),
            (-7, 0),
        )?;
        plot::draw_theory_curves(&mut chart, &[("(1 − exp(−σ²/2)) |cos q|", &bias_model, 1)])?;
        plot::draw_measured_points(&mut chart, &[("|m'(q) − cos q|", &bias)], legend.clone())?;
        plot::draw_decade_axes(root, &chart, (-3, 0, 1), (-7, 0, 1))?;
        plot::draw_axis_titles(root, &chart, Some("σ"), Some("error"))?;

        let mut chart = plot::semilog_chart(
            &panels[1],
            &format!("(b) aliasing, σ = {alias_sigma}"),
            alias_from..alias_to,
            (-17, 0),
        )?;
        plot::draw_theory_curves(&mut chart, &[("Poisson, |k| < 2", &poisson, 1)])?;
        plot::draw_measured_points(
            &mut chart,
            &[("|m' − exp(−σ²/2) cos q|", &aliasing)],
            SeriesLabelPosition::UpperRight,
        )?;
        let ticks = [0.5, 1.0, 1.5, 2.0];
        plot::draw_semilog_axes(root, &chart, &ticks, 1, (-16, 0, 2))?;
        plot::draw_axis_titles(root, &chart, Some("σ/h"), None)?;

        let mut chart = plot::semilog_chart(
            &panels[2],
            "(c) end of the grid, f(x) = x",
            distance_from..distance_to,
            (-8, 0),
        )?;
        plot::draw_theory_curves(&mut chart, &[("λ(z)(z + λ(z))", &truncated, 1)])?;
        plot::draw_measured_points(
            &mut chart,
            &[("|m'(q) − 1|", &boundary)],
            SeriesLabelPosition::UpperRight,
        )?;
        let ticks: Vec<f64> = (0..)
            .map(f64::from)
            .skip_while(|&z| z < distance_from)
            .take_while(|&z| z <= distance_to)
            .collect();
        plot::draw_semilog_axes(root, &chart, &ticks, 0, (-8, 0, 1))?;
        plot::draw_axis_titles(root, &chart, Some("z"), Some("error"))?;

        let mut chart =
            plot::log_log_chart(
                &panels[3],
                &format!("(d) refinement, σ = {refinement_sigma}"),
                (-3, 1),
                (-2, 0),
            )?;
        let bias_label = format!("bias at σ = {refinement_sigma}");
        plot::draw_theory_curves(&mut chart, &[(&bias_label, &refinement_bias, 1)])?;
        plot::draw_measured_points(
            &mut chart,
            &[("|m'(q) − cos q|", &refinement)],
            SeriesLabelPosition::UpperLeft,
        )?;
        plot::draw_decade_axes(root, &chart, (-3, 1, 1), (-2, 0, 1))?;
        plot::draw_axis_titles(root, &chart, Some("h"), None)?;
    }
    Ok(())
}
