//! Figure `kernel_attention`: the derivative of kernel attention against its theory, in four
//! panels — smoothing bias against `σ`, aliasing against `σ/h`, the end of the grid against the
//! distance `z = (end − q)/σ`, and refinement at fixed `σ`; dashed, the predictions.

use plotters::prelude::*;

use crate::error::{PaperError, Result};
use crate::plot;
use crate::results::Results;

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 860;

/// The single curve of `column` against `x` in table `kernel_attention/STEM`.
fn curve(results: &Results, stem: &str, x: &str, column: &str) -> Result<Vec<(f64, f64)>> {
    let key = format!("kernel_attention/{stem}");
    let mut curves = results.curves("kernel_attention", &key, &[], (x, column), |_, _| true)?;
    Ok(curves.pop().map(|(_, points)| points).unwrap_or_default())
}

/// Draw the figure.
pub fn draw(results: &Results) -> Result<String> {
    crate::figure::register_fonts();
    let fail = |message: String| PaperError::Figure {
        name: "kernel_attention".into(),
        message,
    };
    let bias = curve(results, "bias", "sigma", "error")?;
    let bias_model = curve(results, "bias", "sigma", "bias_model")?;
    let aliasing = curve(results, "aliasing", "sigma_over_h", "deviation")?;
    let poisson = curve(results, "aliasing", "sigma_over_h", "poisson_prediction")?;
    let boundary = curve(results, "boundary", "z", "error")?;
    let truncated = curve(results, "boundary", "z", "continuum_prediction")?;
    let refinement = curve(results, "refinement", "h", "error")?;
    let refinement_bias = curve(results, "refinement", "h", "bias_model")?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| fail(e.to_string());
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let panels = root.split_evenly((2, 2));
        let legend = SeriesLabelPosition::LowerRight;

        let mut chart = plot::log_log_chart(&panels[0], "(a) bias, h = σ/8", (-3, 0), (-7, 0))
            .map_err(|e| err(&e))?;
        plot::draw_theory_curves(&mut chart, &[("(1 − exp(−σ²/2)) |cos q|", &bias_model, 1)])
            .map_err(|e| err(&e))?;
        plot::draw_measured_points(&mut chart, &[("|m'(q) − cos q|", &bias)], legend.clone())
            .map_err(|e| err(&e))?;
        plot::draw_decade_axes(&root, &chart, (-3, 0, 1), (-7, 0, 1)).map_err(|e| err(&e))?;
        plot::draw_axis_titles(&root, &chart, Some("σ"), Some("error")).map_err(|e| err(&e))?;

        let mut chart = plot::semilog_chart(&panels[1], "(b) aliasing, σ = 1", 0.3..2.0, (-17, 0))
            .map_err(|e| err(&e))?;
        plot::draw_theory_curves(&mut chart, &[("Poisson, |k| < 2", &poisson, 1)])
            .map_err(|e| err(&e))?;
        plot::draw_measured_points(
            &mut chart,
            &[("|m' − exp(−σ²/2) cos q|", &aliasing)],
            SeriesLabelPosition::UpperRight,
        )
        .map_err(|e| err(&e))?;
        let ticks = [0.5, 1.0, 1.5, 2.0];
        plot::draw_semilog_axes(&root, &chart, &ticks, 1, (-16, 0, 2)).map_err(|e| err(&e))?;
        plot::draw_axis_titles(&root, &chart, Some("σ/h"), None).map_err(|e| err(&e))?;

        let mut chart = plot::semilog_chart(
            &panels[2],
            "(c) end of the grid, f(x) = x",
            0.0..6.0,
            (-8, 0),
        )
        .map_err(|e| err(&e))?;
        plot::draw_theory_curves(&mut chart, &[("λ(z)(z + λ(z))", &truncated, 1)])
            .map_err(|e| err(&e))?;
        plot::draw_measured_points(
            &mut chart,
            &[("|m'(q) − 1|", &boundary)],
            SeriesLabelPosition::UpperRight,
        )
        .map_err(|e| err(&e))?;
        let ticks = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        plot::draw_semilog_axes(&root, &chart, &ticks, 0, (-8, 0, 1)).map_err(|e| err(&e))?;
        plot::draw_axis_titles(&root, &chart, Some("z"), Some("error")).map_err(|e| err(&e))?;

        let mut chart =
            plot::log_log_chart(&panels[3], "(d) refinement, σ = 0.5", (-3, 1), (-2, 0))
                .map_err(|e| err(&e))?;
        plot::draw_theory_curves(&mut chart, &[("bias at σ = 0.5", &refinement_bias, 1)])
            .map_err(|e| err(&e))?;
        plot::draw_measured_points(
            &mut chart,
            &[("|m'(q) − cos q|", &refinement)],
            SeriesLabelPosition::UpperLeft,
        )
        .map_err(|e| err(&e))?;
        plot::draw_decade_axes(&root, &chart, (-3, 1, 1), (-2, 0, 1)).map_err(|e| err(&e))?;
        plot::draw_axis_titles(&root, &chart, Some("h"), None).map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
