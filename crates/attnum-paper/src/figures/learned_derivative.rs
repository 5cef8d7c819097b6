//! Figure `learned_derivative`: a single token head meta-trained to differentiate — (a) its
//! validation loss during training for each seed, (b) the RMS error of `f'(x₀)` against the step
//! for each seed, with the central difference on the same nodes (dashed).

use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot;
use crate::results::Curve;

pub(super) const SIZE: (u32, u32) = (1000, 440);

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let curves = sources.curves(
        "learned_derivative/curve",
        &["seed"],
        ("epoch", "validation_loss"),
        |_, _| true,
    )?;
    let learned = sources.curves(
        "learned_derivative/steps",
        &["seed"],
        ("h", "learned_rms_error"),
        |_, _| true,
    )?;
    let central = sources.curves(
        "learned_derivative/steps",
        &[],
        ("h", "central_rms_error"),
        |t, r| t.cell(r, "seed").and_then(attnum_results::Cell::as_f64) == Some(1.0),
    )?;
    let label = |seed: &str| format!("seed {seed}");
    let curves: Vec<Curve> = curves.iter().map(|(s, p)| (label(s), p.clone())).collect();
    let learned: Vec<Curve> = learned.iter().map(|(s, p)| (label(s), p.clone())).collect();
    let central = central
        .into_iter()
        .next()
        .map(|(_, p)| p)
        .unwrap_or_default();
    training_figure(root, &curves, &learned, &central, 1000.0)
}

/// The two-panel figure of a trained derivative: (a) the validation loss of each labelled run
/// (ticks every `tick_step` epochs), with the legend; (b) its RMS error of `f'(x₀)` against the
/// step in the same colours, with the central difference (dashed). `steps` has the labels of
/// `curves`.
pub(super) fn training_figure(
    root: &Canvas<'_>,
    curves: &[Curve],
    steps: &[Curve],
    central: &[(f64, f64)],
    tick_step: f64,
) -> Drawn {
    {
        let panels = root.split_evenly((1, 2));
        plot::draw_loss_panel(
            root,
            &panels[0],
            "(a) validation loss",
            curves,
            (tick_step, (-6, 0, 1), "MSE of h f'(x0)"),
        )?;
        let mut chart =
            plot::log_log_chart(&panels[1], "(b) error against the step", (-2, 0), (-8, 1))?;
        plot::draw_theory_curves(&mut chart, &[("central difference", central, 7)])?;
        let indexed: Vec<(usize, Vec<(f64, f64)>)> = steps
            .iter()
            .map(|(label, p)| {
                let index = curves.iter().position(|(c, _)| c == label).unwrap_or(0);
                (index, p.clone())
            })
            .collect();
        plot::draw_indexed_curves(&mut chart, &indexed)?;
        plot::draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        plot::draw_decade_axes(root, &chart, (-2, 0, 1), (-8, 0, 2))?;
        plot::draw_axis_titles(root, &chart, Some("h"), Some("RMS error of f'(x0)"))?;
    }
    Ok(())
}
