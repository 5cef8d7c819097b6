//! Figure `learned_noise`: the RMS error of `f'(x₀)` at `h = 0.1` against the noise on the five
//! samples after scale-aware training — token heads, a transformer (2 heads, 1 block), the
//! trained baselines and the least-squares stencil, each the geometric mean over the seeds on the
//! same noisy samples, and the central difference and the degree-2 Savitzky–Golay filter.

use plotters::prelude::*;

use super::learned_derivative::{geometric_mean_over_seeds, method_label, number, text};
use super::{Canvas, Drawn, Sources};
use crate::plot;

pub(super) const SIZE: (u32, u32) = (640, 480);

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let keep = |t: &attnum_results::Table, r: usize| {
        number(t, r, "evaluation_noise").is_some_and(|x| x > 0.0)
            && number(t, r, "derivative") == Some(1.0)
            && number(t, r, "training_steps.to") == Some(0.5)
    };
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let heads = sources.curves(
        "learned_derivative/noise",
        &["method"],
        ("evaluation_noise", "rms_error"),
        keep,
    )?;
    let transformer = sources.curves(
        "learned_architectures/noise",
        &[],
        ("evaluation_noise", "rms_error"),
        |t, r| {
            keep(t, r)
                && text(t, r, "method") == "model"
                && number(t, r, "model.transformer.heads") == Some(2.0)
                && number(t, r, "model.transformer.blocks") == Some(1.0)
        },
    )?;
    for method in [
        "model",
        "linear_attention",
        "mlp",
        "least_squares",
        "central",
        "savitzky_golay",
    ] {
        if let Some((_, p)) = heads.iter().find(|(m, _)| m == method) {
            series.push((method_label(method), geometric_mean_over_seeds(p)));
        }
        if method == "model" {
            for (_, p) in &transformer {
                series.push((
                    "transformer, 2 heads, 1 block".into(),
                    geometric_mean_over_seeds(p),
                ));
            }
        }
    }
    plot::draw_log_log_panel(
        root,
        root,
        "error against noise",
        &[],
        &series,
        SeriesLabelPosition::UpperLeft,
        &plot::LogLogAxes {
            x: (-4, -1, 1),
            y: (-4, 2, 1),
            x_title: "noise standard deviation",
            y_title: "RMS error of f'(x0)",
        },
    )?;
    Ok(())
}
