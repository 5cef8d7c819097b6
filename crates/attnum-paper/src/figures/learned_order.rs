//! Figure `learned_order`: attention with guaranteed order (sweep `learned_order`). (a) The RMS
//! error of `f'(x₀)` against `h` on the clean training family after clean training — the adaptive
//! module, its one-candidate control and the classical stencils of the same offsets — with a
//! dashed line of slope `p` through the adaptive module's smallest step; (b) the RMS error at the
//! evaluation step against the noise on the test samples, for the modules trained on the largest
//! training noise and the classical stencils. Trained curves are geometric means over the seeds on
//! the same test functions and noise draws.

use plotters::prelude::*;

use super::learned_derivative::{geometric_mean_over_seeds, number, text};
use super::{Canvas, Drawn, Sources};
use crate::plot;
use crate::results::Curve;

pub(super) const SIZE: (u32, u32) = (1000, 460);

/// The paper's name of a method of the tables.
fn label(method: &str) -> String {
    match method {
        "adaptive" => "adaptive (4 candidates)".into(),
        "fixed" => "fixed (1 candidate)".into(),
        "central_p" => "central, order 2".into(),
        "central_full" => "central, five points".into(),
        "savitzky_golay" => "Savitzky–Golay, degree 2".into(),
        other => other.into(),
    }
}

const METHODS: [&str; 5] = [
    "adaptive",
    "fixed",
    "central_p",
    "central_full",
    "savitzky_golay",
];

/// The curves of `curves` in the order of [`METHODS`], reduced over the seeds and labelled.
fn ordered(curves: &[Curve]) -> Vec<Curve> {
    METHODS
        .iter()
        .filter_map(|m| {
            curves
                .iter()
                .find(|(k, _)| k == m)
                .map(|(_, p)| (label(m), geometric_mean_over_seeds(p)))
        })
        .collect()
}

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let noise = sources.config("learned_order", "vary.grid.noise")?;
    let levels: Vec<f64> = noise
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
        .unwrap_or_default();
    let (Some(&clean), Some(&noisiest)) = (
        levels.iter().min_by(|a, b| a.total_cmp(b)),
        levels.iter().max_by(|a, b| a.total_cmp(b)),
    ) else {
        return Err(sources
            .error("`learned_order` varies no training noise (`vary.grid.noise`)".into())
            .into());
    };
    let order = sources.config_f64("learned_order", "experiment.learned_order.order")?;
    let along_h = ordered(&sources.curves(
        "learned_order/steps",
        &["method"],
        ("h", "rms_error"),
        |t, r| number(t, r, "noise") == Some(clean),
    )?);
    let against_noise = ordered(&sources.curves(
        "learned_order/errors",
        &["method"],
        ("evaluation_noise", "rms_error"),
        |t, r| {
            number(t, r, "noise") == Some(noisiest)
                && text(t, r, "family") == "trigonometric"
                && text(t, r, "steps") == "evaluation_step"
                && number(t, r, "evaluation_noise").is_some_and(|s| s > 0.0)
        },
    )?);
    // The slope-p line through the adaptive module's error at its smallest step.
    let slope: Vec<(f64, f64)> = along_h
        .first()
        .and_then(|(_, p)| p.first())
        .map(|&(h, e)| {
            [h, 1.0]
                .iter()
                .map(|&x| (x, e * (x / h).powf(order)))
                .collect()
        })
        .unwrap_or_default();
    let areas = root.split_evenly((1, 2));
    plot::draw_log_log_panel(
        root,
        &areas[0],
        "(a) clean training: error against h",
        &[("slope p", &slope, 0)],
        &along_h,
        SeriesLabelPosition::LowerRight,
        &plot::LogLogAxes {
            x: (-3, 0, 1),
            y: (-12, 0, 2),
            x_title: "h",
            y_title: "RMS error of f'(x0)",
        },
    )?;
    plot::draw_log_log_panel(
        root,
        &areas[1],
        "(b) trained on the largest noise: error against noise",
        &[],
        &against_noise,
        SeriesLabelPosition::UpperLeft,
        &plot::LogLogAxes {
            x: (-4, -2, 1),
            y: (-4, 0, 1),
            x_title: "noise standard deviation",
            y_title: "RMS error of f'(x0)",
        },
    )?;
    Ok(())
}
