//! Figure `learned_noise`: the RMS error of `f'(x₀)` against the noise on the five samples, for
//! the trained token head (seed 1), two trained transformers, and on the same samples the
//! five-point central difference, the degree-2 Savitzky–Golay filter and the derivative of kernel
//! attention with `σ = 2h`.

use plotters::prelude::*;

use super::{Canvas, Drawn, Sources};
use crate::plot;

pub(super) const SIZE: (u32, u32) = (640, 480);

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let number = |t: &attnum_results::Table, r: usize, c: &str| {
        t.cell(r, c).and_then(attnum_results::Cell::as_f64)
    };
    let method = |t: &attnum_results::Table, r: usize| {
        t.cell(r, "method")
            .map(ToString::to_string)
            .unwrap_or_default()
    };
    let noisy = |t: &attnum_results::Table, r: usize| {
        number(t, r, "evaluation_noise").is_some_and(|x| x > 0.0)
    };
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let head = sources.curves(
        "learned_derivative/noise",
        &["method"],
        ("evaluation_noise", "rms_error"),
        |t, r| noisy(t, r) && number(t, r, "seed") == Some(1.0),
    )?;
    for (label, points) in head {
        let text = if label == "learned" {
            "token head".to_owned()
        } else {
            label
        };
        series.push((text, points));
    }
    for (heads, blocks) in [(8.0, 1.0), (2.0, 4.0)] {
        let learned = sources.curves(
            "learned_architectures/noise",
            &[],
            ("evaluation_noise", "rms_error"),
            |t, r| {
                noisy(t, r)
                    && method(t, r) == "learned"
                    && number(t, r, "derivative") == Some(1.0)
                    && number(t, r, "model.transformer.heads") == Some(heads)
                    && number(t, r, "model.transformer.blocks") == Some(blocks)
                    && number(t, r, "model.transformer.dropout") == Some(0.0)
            },
        )?;
        for (_, points) in learned {
            series.push((
                format!("transformer {heads} heads × {blocks} blocks"),
                points,
            ));
        }
    }
    let rename = |s: &str| match s {
        "central" => "central difference".to_owned(),
        "savitzky_golay_2" => "Savitzky–Golay, degree 2".to_owned(),
        "kernel_sigma_2h" => "kernel attention, σ = 2h".to_owned(),
        other => other.to_owned(),
    };
    let series: Vec<(String, Vec<(f64, f64)>)> =
        series.into_iter().map(|(l, p)| (rename(&l), p)).collect();
    {
        let mut chart = plot::log_log_chart(root, "error against noise", (-4, -1), (-3, 2))?;
        let shown: Vec<(&str, &[(f64, f64)])> = series
            .iter()
            .map(|(l, p)| (l.as_str(), p.as_slice()))
            .collect();
        plot::draw_labelled_curves(&mut chart, &shown, SeriesLabelPosition::UpperLeft)?;
        plot::draw_decade_axes(root, &chart, (-4, -1, 1), (-3, 2, 1))?;
        plot::draw_axis_titles(
            root,
            &chart,
            Some("noise standard deviation"),
            Some("RMS error of f'(x0)"),
        )?;
    }
    Ok(())
}
