//! Figure `learned_architectures`: transformers meta-trained for the first derivative — (a) the
//! validation loss during training for each architecture, (b) the RMS error of `f'(x₀)` against
//! the step, with the central difference on the same nodes (dashed).

use super::{Canvas, Drawn, Sources};
use crate::results::Curve;

/// The canvas of the shared two-panel training figure.
pub(super) const SIZE: (u32, u32) = super::learned_derivative::SIZE;

/// Rows of the first derivative only.
fn first_derivative(t: &attnum_results::Table, r: usize) -> bool {
    t.cell(r, "derivative").and_then(attnum_results::Cell::as_f64) == Some(1.0)
}

pub(super) fn draw(sources: &Sources<'_>, root: &Canvas<'_>) -> Drawn {
    let columns = [
        "model.transformer.heads",
        "model.transformer.blocks",
        "model.transformer.dropout",
    ];
    let curves = sources.curves(
        "learned_architectures/curve",
        &columns,
        ("epoch", "validation_loss"),
        first_derivative,
    )?;
    let steps = sources.curves(
        "learned_architectures/steps",
        &columns,
        ("h", "learned_rms_error"),
        first_derivative,
    )?;
    let first = |t: &attnum_results::Table, r: usize| {
        first_derivative(t, r)
            && t.cell(r, "model.transformer.heads")
                .and_then(attnum_results::Cell::as_f64)
                == Some(1.0)
    };
    let central = sources.curves(
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
    let relabel =
        |set: Vec<Curve>| -> Vec<Curve> { set.into_iter().map(|(k, p)| (label(&k), p)).collect() };
    let central = central
        .into_iter()
        .next()
        .map(|(_, p)| p)
        .unwrap_or_default();
    super::learned_derivative::training_figure(
        root,
        &relabel(curves),
        &relabel(steps),
        &central,
        200.0,
    )
}
