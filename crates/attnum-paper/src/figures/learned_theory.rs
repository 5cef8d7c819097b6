//! Figure `learned_theory`: the moment defects `|D_j|` of the kriging stencil (the population
//! minimiser over linear stencils on the training family) against `Kh`, noise-free — markers for
//! one step `h` and for `h` log-uniform over `[h/ratio, h]`, dashed the leading flat-limit terms
//! `c_j h^{q_j}` of the proposition; (a) `f'`, (b) `f''`. The ratio comes from the sweep's
//! configuration.

use plotters::prelude::*;

use super::learned_derivative::{number, text};
use super::{Canvas, Drawn, Sources};
use crate::plot;
use crate::results::Curve;

pub(super) const SIZE: (u32, u32) = (1000, 460);

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let ratio = sources.config_f64("learned_theory", "experiment.learned_theory.step_ratio")?;
    let key = "learned_theory/defects";
    let areas = root.split_evenly((1, 2));
    for (area, (m, caption)) in areas.iter().zip([(1.0, "(a) f'"), (2.0, "(b) f''")]) {
        let keep = |distribution: &'static str| {
            move |t: &attnum_results::Table, r: usize| {
                // The defects of the other parity vanish by symmetry (rounding only).
                number(t, r, "derivative") == Some(m)
                    && number(t, r, "defect").is_some_and(|j| (j - m).rem_euclid(2.0) == 0.0)
                    && number(t, r, "noise") == Some(0.0)
                    && text(t, r, "distribution") == distribution
            }
        };
        let label = |curves: Vec<Curve>, what: &str| -> Vec<Curve> {
            curves
                .into_iter()
                .map(|(j, p)| (format!("D{j}, {what}"), p))
                .collect()
        };
        let mut measured = label(
            sources.curves(key, &["defect"], ("kh", "value"), keep("fixed"))?,
            "one step h",
        );
        let predicted = sources.curves(key, &["defect"], ("kh", "prediction"), keep("fixed"))?;
        measured.extend(label(
            sources.curves(key, &["defect"], ("kh", "value"), keep("log_uniform"))?,
            &format!("h log-uniform in [h/{ratio}, h]"),
        ));
        let mut chart = plot::log_log_chart(area, caption, (-3, 1), (-28, 0))?;
        plot::draw_measured_over_predictions(
            &mut chart,
            &measured,
            &predicted,
            SeriesLabelPosition::LowerRight,
        )?;
        plot::draw_decade_axes(root, &chart, (-3, 1, 1), (-28, 0, 4))?;
        plot::draw_axis_titles(
            root,
            &chart,
            Some("Kh (h the largest step)"),
            (m == 1.0).then_some("|moment defect|"),
        )?;
    }
    Ok(())
}
