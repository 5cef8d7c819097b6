//! Figure `learned_derivative`: the RMS error of `f'(x₀)` against the step `h` for the token
//! heads and the baselines trained on the same data (linear attention, the ReLU network), the
//! least-squares stencil and the degree-2 Savitzky–Golay filter, each the geometric mean over the
//! seeds on the shared test set, with the central difference (dashed) — (a) after scale-aware
//! training (`h` log-uniform per example), (b) after training at a fixed `h`.

use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot;
use crate::results::Curve;

pub(super) const SIZE: (u32, u32) = (1000, 460);

/// A number cell.
pub(super) fn number(t: &attnum_results::Table, r: usize, c: &str) -> Option<f64> {
    t.cell(r, c).and_then(attnum_results::Cell::as_f64)
}

/// A text cell.
pub(super) fn text(t: &attnum_results::Table, r: usize, c: &str) -> String {
    t.cell(r, c).map(ToString::to_string).unwrap_or_default()
}

/// The points of a curve that holds every seed's points, reduced to one point per `x`: the
/// geometric mean of the `y` (all positive), sorted by `x`.
pub(super) fn geometric_mean_over_seeds(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut by_x: Vec<(f64, Vec<f64>)> = Vec::new();
    for &(x, y) in points {
        match by_x.iter_mut().find(|(v, _)| *v == x) {
            Some((_, ys)) => ys.push(y.ln()),
            None => by_x.push((x, vec![y.ln()])),
        }
    }
    by_x.sort_by(|a, b| a.0.total_cmp(&b.0));
    by_x.into_iter()
        .map(|(x, ys)| (x, (ys.iter().sum::<f64>() / ys.len() as f64).exp()))
        .collect()
}

/// The arithmetic mean over the seeds of signed points, one per `x`, sorted by `x`.
pub(super) fn mean_over_seeds(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut by_x: Vec<(f64, Vec<f64>)> = Vec::new();
    for &(x, y) in points {
        match by_x.iter_mut().find(|(v, _)| *v == x) {
            Some((_, ys)) => ys.push(y),
            None => by_x.push((x, vec![y])),
        }
    }
    by_x.sort_by(|a, b| a.0.total_cmp(&b.0));
    by_x.into_iter()
        .map(|(x, ys)| (x, ys.iter().sum::<f64>() / ys.len() as f64))
        .collect()
}

/// The paper's name of a method of the tables.
pub(super) fn method_label(method: &str) -> String {
    match method {
        "model" => "token heads".into(),
        "linear_attention" => "linear attention".into(),
        "mlp" => "ReLU network".into(),
        "least_squares" => "least-squares stencil".into(),
        "central" => "central difference".into(),
        "savitzky_golay" => "Savitzky–Golay, degree 2".into(),
        other => other.into(),
    }
}

/// One log–log panel of error curves against `h` with the dashed central difference.
pub(super) fn error_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    curves: &[Curve],
    central: &[(f64, f64)],
    (y_low, y_high): (i32, i32),
    y_title: &str,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    plot::draw_log_log_panel(
        root,
        area,
        caption,
        &[("central difference", central, 7)],
        curves,
        SeriesLabelPosition::LowerRight,
        &plot::LogLogAxes {
            x: (-3, 0, 1),
            y: (y_low, y_high, 2),
            x_title: "h",
            y_title,
        },
    )
}

/// The curves of `SWEEP/steps` for `derivative` and training steps up to `to`, one per method
/// (classical methods excepted unless `classical`), reduced over the seeds.
pub(super) fn step_curves(
    sources: &Sources<'_>,
    table: &str,
    derivative: f64,
    to: f64,
    keep: &dyn Fn(&attnum_results::Table, usize) -> bool,
) -> crate::error::Result<Vec<Curve>> {
    let curves = sources.curves(table, &["method"], ("h", "rms_error"), |t, r| {
        number(t, r, "derivative") == Some(derivative)
            && number(t, r, "training_steps.to") == Some(to)
            && keep(t, r)
    })?;
    Ok(curves
        .into_iter()
        .map(|(method, points)| (method, geometric_mean_over_seeds(&points)))
        .collect())
}

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let order = [
        "model",
        "linear_attention",
        "mlp",
        "least_squares",
        "savitzky_golay",
    ];
    let mut panels = Vec::new();
    for to in [0.5, 0.1] {
        let curves = step_curves(sources, "learned_derivative/steps", 1.0, to, &|_, _| true)?;
        let central = curves
            .iter()
            .find(|(m, _)| m == "central")
            .map(|(_, p)| p.clone())
            .unwrap_or_default();
        let shown: Vec<Curve> = order
            .iter()
            .filter_map(|m| {
                curves
                    .iter()
                    .find(|(k, _)| k == m)
                    .map(|(_, p)| (method_label(m), p.clone()))
            })
            .collect();
        panels.push((shown, central));
    }
    {
        let areas = root.split_evenly((1, 2));
        let captions = [
            "(a) h log-uniform in [0.005, 0.5]",
            "(b) fixed h = 0.1",
        ];
        for ((area, caption), (curves, central)) in areas.iter().zip(captions).zip(&panels) {
            error_panel(
                root,
                area,
                caption,
                curves,
                central,
                (-12, 2),
                "RMS error of f'(x0)",
            )?;
        }
    }
    Ok(())
}
