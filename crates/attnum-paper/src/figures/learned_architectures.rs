//! Figure `learned_architectures`: transformers meta-trained for the first derivative — (a) the
//! validation loss during training for each architecture, (b) the RMS error of `f'(x₀)` against
//! the step, with the central difference on the same nodes (dashed).

use plotters::prelude::*;

use crate::error::{PaperError, Result};
use crate::plot;
use crate::results::Results;

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 460;

/// Rows of the first derivative only.
fn first_derivative(t: &attnum_sweep::Table, r: usize) -> bool {
    t.cell(r, "derivative").and_then(attnum_sweep::Cell::as_f64) == Some(1.0)
}

/// Draw the figure.
pub fn draw(results: &Results) -> Result<String> {
    crate::figure::register_fonts();
    let name = "learned_architectures";
    let fail = |message: String| PaperError::Figure {
        name: name.into(),
        message,
    };
    let columns = [
        "model.transformer.heads",
        "model.transformer.blocks",
        "model.transformer.dropout",
    ];
    let curves = results.curves(
        name,
        "learned_architectures/curve",
        &columns,
        ("epoch", "validation_loss"),
        first_derivative,
    )?;
    let steps = results.curves(
        name,
        "learned_architectures/steps",
        &columns,
        ("h", "learned_rms_error"),
        first_derivative,
    )?;
    let first = |t: &attnum_sweep::Table, r: usize| {
        first_derivative(t, r)
            && t.cell(r, "model.transformer.heads")
                .and_then(attnum_sweep::Cell::as_f64)
                == Some(1.0)
    };
    let central = results.curves(
        name,
        "learned_architectures/steps",
        &[],
        ("h", "central_rms_error"),
        first,
    )?;
    // "heads, blocks, dropout" → "H heads, B blocks[, dropout p]".
    let label = |key: &str| {
        let parts: Vec<&str> = key.split(", ").collect();
        let plural = |n: &str, word: &str| {
            if n == "1" {
                format!("1 {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        let mut text = format!(
            "{}, {}",
            plural(parts[0], "head"),
            plural(parts[1], "block")
        );
        if parts
            .get(2)
            .is_some_and(|p| p.parse::<f64>().is_ok_and(|x| x > 0.0))
        {
            text.push_str(&format!(", dropout {}", parts[2]));
        }
        text
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| fail(e.to_string());
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let panels = root.split_evenly((1, 2));
        let labels: Vec<String> = curves.iter().map(|(k, _)| label(k)).collect();
        let shown = |set: &[(String, Vec<(f64, f64)>)]| -> Vec<(usize, Vec<(f64, f64)>)> {
            set.iter()
                .map(|(k, p)| {
                    let index = curves.iter().position(|(c, _)| c == k).unwrap_or(0);
                    (index, p.clone())
                })
                .collect()
        };

        let labelled: Vec<(String, Vec<(f64, f64)>)> = labels
            .iter()
            .zip(&curves)
            .map(|(l, (_, p))| (l.clone(), p.clone()))
            .collect();
        plot::draw_loss_panel(
            &root,
            &panels[0],
            "(a) validation loss",
            &labelled,
            (200.0, (-6, 0, 1), "MSE of h f'(x0)"),
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
        plot::draw_indexed_curves(&mut chart, &shown(&steps)).map_err(|e| err(&e))?;
        plot::draw_decade_axes(&root, &chart, (-2, 0, 1), (-8, 0, 2)).map_err(|e| err(&e))?;
        plot::draw_axis_titles(&root, &chart, Some("h"), Some("RMS error of f'(x0)"))
            .map_err(|e| err(&e))?;

        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
