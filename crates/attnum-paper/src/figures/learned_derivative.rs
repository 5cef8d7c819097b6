//! Figure `learned_derivative`: a single token head meta-trained to differentiate — (a) its
//! validation loss during training for each seed, (b) the RMS error of `f'(x₀)` against the step
//! for each seed, with the central difference on the same nodes (dashed).

use plotters::prelude::*;

use crate::error::{PaperError, Result};
use crate::plot;
use crate::results::Results;

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 440;

/// Draw the figure.
pub fn draw(results: &Results) -> Result<String> {
    crate::figure::register_fonts();
    let fail = |message: String| PaperError::Figure {
        name: "learned_derivative".into(),
        message,
    };
    let name = "learned_derivative";
    let curves = results.curves(
        name,
        "learned_derivative/curve",
        &["seed"],
        ("epoch", "validation_loss"),
        |_, _| true,
    )?;
    let learned = results.curves(
        name,
        "learned_derivative/steps",
        &["seed"],
        ("h", "learned_rms_error"),
        |_, _| true,
    )?;
    let central = results.curves(
        name,
        "learned_derivative/steps",
        &[],
        ("h", "central_rms_error"),
        |t, r| t.cell(r, "seed").and_then(attnum_sweep::Cell::as_f64) == Some(1.0),
    )?;
    let label = |seed: &str| format!("seed {seed}");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| fail(e.to_string());
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let panels = root.split_evenly((1, 2));
        let labelled: Vec<(String, Vec<(f64, f64)>)> =
            curves.iter().map(|(s, p)| (label(s), p.clone())).collect();
        plot::draw_loss_panel(
            &root,
            &panels[0],
            "(a) validation loss",
            &labelled,
            (1000.0, (-6, 0, 1), "MSE of h f'(x0)"),
        )
        .map_err(|e| err(&e))?;

        let mut chart =
            plot::log_log_chart(&panels[1], "(b) error against the step", (-2, 0), (-8, 1))
                .map_err(|e| err(&e))?;
        let dashed: Vec<plot::TheoryCurve<'_>> = central
            .iter()
            .map(|(_, p)| ("central difference", p.as_slice(), 7))
            .collect();
        plot::draw_theory_curves(&mut chart, &dashed).map_err(|e| err(&e))?;
        let labels: Vec<String> = learned.iter().map(|(s, _)| label(s)).collect();
        let shown: Vec<(&str, &[(f64, f64)])> = labels
            .iter()
            .zip(&learned)
            .map(|(l, (_, p))| (l.as_str(), p.as_slice()))
            .collect();
        plot::draw_labelled_curves(&mut chart, &shown, SeriesLabelPosition::LowerRight)
            .map_err(|e| err(&e))?;
        plot::draw_decade_axes(&root, &chart, (-2, 0, 1), (-8, 0, 2)).map_err(|e| err(&e))?;
        plot::draw_axis_titles(&root, &chart, Some("h"), Some("RMS error of f'(x0)"))
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
